// SPDX-License-Identifier: GPL-2.0
//! Address range scrub (ARS): asking the platform which persistent-memory
//! addresses are poisoned, and telling libnvdimm (drivers/acpi/nfit/core.c:
//! ars_register, acpi_nfit_scrub, acpi_nfit_ars_rescan).
//!
//! At registration each range gets a short scrub (what the firmware already
//! knows) if the platform is idle; then a work item runs the short scrubs
//! still owed and a long scrub of every range, polling the status until the
//! firmware is done. Found ranges go to the bus's bad-range list; a
//! finished range revalidates its region's bad blocks.

use core::sync::atomic::{AtomicU32, Ordering};

use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

use crate::bus::Transport;
use crate::formats::badrange::{self, ArsCap, ArsStatus, ND_ARS_PERSISTENT, ND_ARS_VOLATILE};
use crate::formats::cmd;
use crate::formats::nfit::{Nfit, SpaType};
use crate::glue::device::Device;
use crate::abi::provider::BusLink;
use crate::glue::workqueue::{DelayedWork, DelayedWorkItem};
use crate::dev_dbg;

const EBUSY: i32 = -16;
const ENOSPC: i32 = -28;
const EAGAIN: i32 = -11;
const ENOTTY: i32 = -25;
const ENOMEM: i32 = -12;
/// The longest wait between polls of a busy firmware (C: 30 minutes).
const MAX_TMO_S: u32 = 30 * 60;

/// Which scrub a range is owed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Req {
    /// Report what the firmware knows (ND_ARS_RETURN_PREV_DATA).
    Short,
    /// Scrub the media.
    Long,
}

/// One scrubbable range (`struct nfit_spa`'s ARS state).
struct SpaArs {
    start: u64,
    len: u64,
    ty: u16,
    range_index: u16,
    failed: bool,
    short: bool,
    long: bool,
}

struct State {
    /// In scrub order: a range that starts a scrub moves to the end.
    spas: KVec<SpaArs>,
    /// Size of the ARS_STATUS buffer (largest max_ars_out).
    max_ars: u32,
    /// The range our last ARS_START covers (by start address).
    scrub_spa: Option<u64>,
    /// Records are fresh (a start happened since they were last taken).
    valid: bool,
    busy: bool,
    cancel: bool,
    count: u32,
    tmo: u32,
    link: Option<Arc<BusLink>>,
    /// The last status: address, length, restart address and length, type.
    last_status: Option<(u64, u64, u64, u64, u16)>,
}

/// A bus's scrubber.
#[pin_data]
pub(crate) struct Scrub {
    transport: Arc<Transport>,
    #[pin]
    state: Mutex<State>,
    #[pin]
    work: DelayedWork<Scrub>,
}

impl DelayedWorkItem for Scrub {
    fn delayed_work(&self) -> &DelayedWork<Self> {
        &self.work
    }

    // acpi_nfit_scrub()
    fn run(this: Arc<Self>) {
        let mut st = this.state.lock();
        let query_rc = this.query_poison(&mut st);
        let tmo = this.step(&mut st, query_rc);
        if tmo > 0 {
            Self::sched(&this, &mut st, tmo);
        } else {
            st.busy = false;
            st.count = st.count.wrapping_add(1);
            if let Some(link) = &st.link {
                link.notify_attr(Some(c"nfit"), c"scrub");
            }
        }
    }
}

fn owed(s: &mut SpaArs, req: Req) -> &mut bool {
    match req {
        Req::Short => &mut s.short,
        Req::Long => &mut s.long,
    }
}

impl Scrub {
    pub(crate) fn new(transport: Arc<Transport>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Scrub {
                transport,
                state <- new_mutex!(State {
                    spas: KVec::new(),
                    max_ars: 0,
                    scrub_spa: None,
                    valid: false,
                    busy: false,
                    cancel: false,
                    count: 0,
                    tmo: 1,
                    link: None,
                    last_status: None,
                }),
                work <- DelayedWork::new(),
            }),
            GFP_KERNEL,
        )
    }

    fn ctl(&self, cmd: u32, buf: &mut [u8]) -> i32 {
        match self.transport.ctl(None, cmd, buf) {
            Ok(c) => c.cmd_rc,
            Err(e) => e.to_errno(),
        }
    }

    /// acpi_nfit_init_ars() for every persistent or volatile range, then
    /// ars_register()'s short scrub for each, before regions register.
    pub(crate) fn register(this: &Arc<Self>, dev: &Device, table: &Nfit<'_>, supported: bool) -> Result {
        let mut st = this.state.lock();
        st.valid = true;
        for spa in table.spas() {
            let ty = match spa.spa_type() {
                Some(SpaType::Pm) => ND_ARS_PERSISTENT,
                Some(SpaType::Volatile) => ND_ARS_VOLATILE,
                _ => continue,
            };
            let (start, len) = (spa.address(), spa.length());
            let mut failed = true;
            if supported {
                let mut cap = badrange::ars_cap_query(start, len);
                if this.transport.ctl(None, cmd::ARS_CAP, &mut cap).is_ok() {
                    let cap = ArsCap::parse(&cap);
                    if cap.supports(ty) {
                        st.max_ars = st.max_ars.max(cap.max_ars_out);
                        failed = false;
                    }
                }
            }
            let s = SpaArs { start, len, ty, range_index: spa.range_index(), failed, short: false, long: false };
            st.spas.push(s, GFP_KERNEL)?;
        }
        let mut any = false;
        for i in 0..st.spas.len() {
            if st.spas[i].failed {
                continue;
            }
            st.spas[i].short = true;
            st.spas[i].long = true;
            match this.query_poison(&mut st) {
                0 | ENOSPC | EAGAIN => {
                    let rc = this.start(&mut st, i, Req::Short);
                    if rc == EBUSY {
                        // Shouldn't happen; the work tries again.
                    } else if rc != 0 {
                        st.spas[i].failed = true;
                    } else {
                        st.spas[i].short = false;
                        if this.query_poison(&mut st) == 0 {
                            st.scrub_spa = Some(st.spas[i].start);
                            this.complete(&mut st, i);
                            st.scrub_spa = None;
                        }
                    }
                }
                // The firmware is busy (with its own scrub) or out of
                // memory: our scrubs wait for the work.
                EBUSY | ENOMEM => {}
                _ => st.spas[i].failed = true,
            }
            any |= !st.spas[i].failed;
            dev_dbg!(dev, "ARS: range {} registered{}\n", st.spas[i].range_index,
                if st.spas[i].failed { ", failed" } else { "" });
        }
        drop(st);
        if any {
            Self::sched_now(this);
        }
        Ok(())
    }

    /// Hands the scrub the bus to report to; nothing is reported before.
    pub(crate) fn attach(&self, link: Arc<BusLink>) {
        self.state.lock().link = Some(link);
    }

    fn sched_now(this: &Arc<Self>) {
        let mut st = this.state.lock();
        Self::sched(this, &mut st, 0);
    }

    /// __sched_ars(): marks the bus busy and runs the work after `tmo`
    /// seconds (which becomes the next backoff base).
    fn sched(this: &Arc<Self>, st: &mut State, tmo: u32) {
        st.busy = true;
        if tmo > 0 {
            st.tmo = tmo;
        }
        DelayedWork::queue(this, tmo as u64 * 1000);
    }

    /// Stops scrubbing for good (the bus is going): no new scrubs, and the
    /// work is neither pending nor running when this returns.
    pub(crate) fn cancel(&self) {
        self.state.lock().cancel = true;
        self.work.cancel_sync();
    }

    /// nfit/scrub: completed scrubs and whether one runs.
    pub(crate) fn progress(&self) -> (u32, bool) {
        let st = self.state.lock();
        (st.count, st.busy && !st.cancel)
    }

    /// acpi_nfit_ars_rescan(): owes every scrubbable range a scrub of
    /// `req`; EBUSY if all already owe one, ENOTTY if none can scrub.
    pub(crate) fn rescan(this: &Arc<Self>, req: Req) -> Result {
        let mut st = this.state.lock();
        if st.cancel {
            return Ok(());
        }
        let (mut scheduled, mut busy) = (0, 0);
        for s in st.spas.iter_mut().filter(|s| !s.failed) {
            let flag = owed(s, req);
            if *flag {
                busy += 1;
            } else {
                *flag = true;
                scheduled += 1;
            }
        }
        if scheduled > 0 {
            Self::sched(this, &mut st, 0);
            return Ok(());
        }
        if busy > 0 {
            return Err(kernel::error::code::EBUSY);
        }
        Err(kernel::error::code::ENOTTY)
    }

    /// ars_start(): ND_CMD_ARS_START over range `i`.
    fn start(&self, st: &mut State, i: usize, req: Req) -> i32 {
        let s = &st.spas[i];
        let flags = if req == Req::Short { badrange::ND_ARS_RETURN_PREV_DATA } else { 0 };
        let mut buf = badrange::ars_start(s.start, s.len, s.ty, flags);
        let rc = self.ctl(cmd::ARS_START, &mut buf);
        if rc == 0 {
            st.valid = true;
        }
        rc
    }

    /// ars_continue(): resumes an interrupted scrub where it stopped.
    fn resume(&self, st: &State) -> i32 {
        let Some((_, _, addr, len, ty)) = st.last_status else { return ENOTTY };
        let mut buf = badrange::ars_start(addr, len, ty, 0);
        self.ctl(cmd::ARS_START, &mut buf)
    }

    /// ars_complete(): if the last status finishes the range we started,
    /// its region re-reads the bad ranges.
    fn complete(&self, st: &mut State, i: usize) {
        let s = &st.spas[i];
        if st.scrub_spa != Some(s.start) {
            return;
        }
        let Some((addr, len, ..)) = st.last_status else { return };
        if !badrange::ars_covers(addr, len, s.start, s.len) {
            return;
        }
        st.scrub_spa = None;
        if let Some(link) = &st.link {
            link.revalidate_poison(s.start, s.len);
        }
        pr_debug!("nfit: ARS: range {} complete\n", s.range_index);
    }

    /// __acpi_nfit_scrub(): seconds until the next run, 0 when done.
    fn step(&self, st: &mut State, query_rc: i32) -> u32 {
        if st.cancel {
            return 0;
        }
        if query_rc == EBUSY {
            return MAX_TMO_S.min(st.tmo * 2);
        }
        if query_rc == ENOSPC {
            self.resume(st);
            return 1;
        }
        for i in 0..st.spas.len() {
            if !st.spas[i].failed {
                self.complete(st, i);
            }
        }
        let mut i = 0;
        while i < st.spas.len() {
            let s = &st.spas[i];
            let req = if s.failed {
                None
            } else if s.short {
                Some(Req::Short)
            } else if s.long {
                Some(Req::Long)
            } else {
                None
            };
            let Some(req) = req else {
                i += 1;
                continue;
            };
            let rc = self.start(st, i, req);
            if rc == EBUSY {
                return 1;
            }
            if rc == 0 {
                *owed(&mut st.spas[i], req) = false;
                st.scrub_spa = Some(st.spas[i].start);
                // Scrubbed last next time.
                st.spas[i..].rotate_left(1);
                return 1;
            }
            pr_err!("nfit: ARS: range {} ARS failed ({})\n", st.spas[i].range_index, rc);
            st.spas[i].failed = true;
            i += 1;
        }
        0
    }

    /// acpi_nfit_query_poison(): fetches ARS status and records what it
    /// reports; the status code decides what happens next.
    fn query_poison(&self, st: &mut State) -> i32 {
        let mut buf = match zeroed_vec::<u8, Kmalloc>((st.max_ars as usize).max(badrange::ARS_STATUS_HDR_LEN), GFP_KERNEL) {
            Ok(b) => b,
            Err(_) => return ENOMEM,
        };
        let rc = self.ctl(cmd::ARS_STATUS, &mut buf);
        if rc < 0 && rc != ENOSPC {
            return rc;
        }
        let Some(status) = ArsStatus::new(&buf) else { return rc };
        if status.out_length() >= badrange::ARS_RECORDS_OUT_OFFSET {
            // Stale results are only refreshed by a start.
            if !core::mem::replace(&mut st.valid, false) {
                return rc;
            }
            let mut n = 0u32;
            for r in status.records() {
                if let Some(link) = &st.link {
                    let _ = link.add_badrange(r.start, r.len);
                }
                n += 1;
            }
            if n < status.num_records() {
                pr_warn!("nfit: detected truncated ars results\n");
            }
        }
        st.last_status = Some((status.address(), status.length(), status.restart_address(), status.restart_length(), status.ty()));
        rc
    }
}

/// UC memory error notifications (`acpi_nfit_uc_error_notify()`): each
/// asks every range for a scrub, short unless nfit/hw_error_scrub is 1.
/// The rescan runs from a work item, as C's nfit_test notifies from one: a
/// notification raised by a command arrives while the command holds the
/// bus's locks, which the scrub takes too.
#[pin_data]
pub(crate) struct Notify {
    scrub: Arc<Scrub>,
    /// nfit/hw_error_scrub (`scrub_mode`): 1 scrubs the whole range on a
    /// memory error, 0 (the default) only asks the firmware what it knows.
    pub(crate) hw_error_scrub: AtomicU32,
    /// Set once the bus goes: nothing is queued after.
    #[pin]
    gone: Mutex<bool>,
    #[pin]
    work: DelayedWork<Notify>,
}

impl DelayedWorkItem for Notify {
    fn delayed_work(&self) -> &DelayedWork<Self> {
        &self.work
    }

    fn run(this: Arc<Self>) {
        let req = if this.hw_error_scrub.load(Ordering::Relaxed) == 1 { Req::Long } else { Req::Short };
        // EBUSY (every range already owes one) and ENOTTY (none can
        // scrub) leave nothing to do, as in C.
        let _ = Scrub::rescan(&this.scrub, req);
    }
}

impl Notify {
    pub(crate) fn new(scrub: Arc<Scrub>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Notify {
                scrub,
                hw_error_scrub: AtomicU32::new(0),
                gone <- new_mutex!(false),
                work <- DelayedWork::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// NFIT_NOTIFY_UC_MEMORY_ERROR: schedules the rescan.
    pub(crate) fn uc_memory_error(this: &Arc<Self>) {
        let gone = this.gone.lock();
        if !*gone {
            DelayedWork::queue(this, 0);
        }
    }

    /// Stops for good: when this returns, no rescan is pending or running.
    pub(crate) fn cancel(&self) {
        *self.gone.lock() = true;
        self.work.cancel_sync();
    }
}
