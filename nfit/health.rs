// SPDX-License-Identifier: GPL-2.0
//! DIMM health events (drivers/acpi/nfit/core.c: `__acpi_nvdimm_notify`,
//! `acpi_nvdimm_notify`): a health event (notification 0x81) on a DIMM
//! wakes the pollers of its nfit/flags attribute, which is what `ndctl
//! monitor` waits on before it reads the DIMM's SMART.
//!
//! Events come from the firmware's `Notify()` on the DIMM's ACPI device
//! ([`DimmNotify`]), from an emulated platform's command (nfit_test's
//! smart_notify(), through `Events` of abi/nfit.rs), and, beyond C, from
//! the opt-in SMART poll ([`Poll`], module parameter `smart_poll_secs`,
//! off by default), for platforms that never send 0x81.

use core::sync::atomic::{AtomicBool, Ordering};

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

use crate::abi::provider::{BusLink, DimmRef};
use crate::dimm::NfitDimm;
use crate::formats::nfit::intel::HealthSnapshot;
use crate::glue::acpi::NotifyHandler;
use crate::glue::workqueue::{DelayedWork, DelayedWorkItem};

/// `NFIT_NOTIFY_DIMM_HEALTH`.
pub(crate) const NFIT_NOTIFY_DIMM_HEALTH: u32 = 0x81;

/// The bus's DIMMs once registered.
struct Attached {
    link: Arc<BusLink>,
    /// NFIT device handle to nmemN.
    dimms: KVec<(u32, DimmRef)>,
}

/// Where a bus's DIMM health events go. Events before the DIMMs are
/// registered, or after the bus started to go, are dropped (C's
/// `nfit_mem->flags_attr` is set after registration and cleared at
/// shutdown).
#[pin_data]
pub(crate) struct Health {
    #[pin]
    state: Mutex<Option<Attached>>,
}

impl Health {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(pin_init!(Health { state <- new_mutex!(None) }), GFP_KERNEL)
    }

    /// Starts delivering events to the registered DIMMs `dimms`.
    pub(crate) fn attach(&self, link: Arc<BusLink>, dimms: &[(u32, DimmRef)]) -> Result {
        let mut v = KVec::with_capacity(dimms.len(), GFP_KERNEL)?;
        for &d in dimms {
            v.push(d, GFP_KERNEL)?;
        }
        *self.state.lock() = Some(Attached { link, dimms: v });
        Ok(())
    }

    /// Stops delivering events (`shutdown_dimm_notify`).
    pub(crate) fn detach(&self) {
        *self.state.lock() = None;
    }

    /// Notification `event` on the DIMM with NFIT handle `handle`
    /// (`__acpi_nvdimm_notify`): a health event wakes pollers of its
    /// nfit/flags; other values are only logged.
    pub(crate) fn notify(&self, handle: u32, event: u32) {
        if event != NFIT_NOTIFY_DIMM_HEALTH {
            kernel::pr_debug!("nfit: DIMM {:#x}: unknown event: {}\n", handle, event);
            return;
        }
        let st = self.state.lock();
        let Some(a) = &*st else { return };
        if let Some(&(_, dimm)) = a.dimms.iter().find(|(h, _)| *h == handle) {
            a.link.notify_dimm_attr(dimm, Some(c"nfit"), c"flags");
        }
    }
}

/// The ACPI notify handler of one DIMM's device (`acpi_nvdimm_notify`).
pub(crate) struct DimmNotify {
    health: Arc<Health>,
    handle: u32,
}

impl DimmNotify {
    pub(crate) fn new(health: Arc<Health>, handle: u32) -> Result<Arc<Self>> {
        Ok(Arc::new(DimmNotify { health, handle }, GFP_KERNEL)?)
    }
}

impl NotifyHandler for DimmNotify {
    fn notify(&self, event: u32) {
        self.health.notify(self.handle, event);
    }
}

/// Beyond C, off by default: reads each DIMM's SMART every `period_ms`
/// and raises a health event on a DIMM whose health status, spares,
/// temperature alarms or dirty shutdown count changed since the last
/// read (`HealthSnapshot`).
#[pin_data]
pub(crate) struct Poll {
    health: Arc<Health>,
    period_ms: u64,
    /// The DIMMs that answer ND_INTEL_SMART.
    dimms: KVec<Arc<NfitDimm>>,
    /// Each one's last read, like `dimms`.
    #[pin]
    last: Mutex<KVec<Option<HealthSnapshot>>>,
    stopped: AtomicBool,
    #[pin]
    work: DelayedWork<Poll>,
}

impl DelayedWorkItem for Poll {
    fn delayed_work(&self) -> &DelayedWork<Self> {
        &self.work
    }

    fn run(this: Arc<Self>) {
        if this.stopped.load(Ordering::Acquire) {
            return;
        }
        let mut last = this.last.lock();
        for (dimm, seen) in this.dimms.iter().zip(last.iter_mut()) {
            let now = crate::intel::smart(dimm).map(|s| HealthSnapshot::of(&s));
            if let (Some(before), Some(now)) = (seen.as_ref(), now.as_ref()) {
                if before.changed(now) {
                    this.health.notify(dimm.handle(), NFIT_NOTIFY_DIMM_HEALTH);
                }
            }
            if now.is_some() {
                *seen = now;
            }
        }
        drop(last);
        if !this.stopped.load(Ordering::Acquire) {
            DelayedWork::queue(&this, this.period_ms);
        }
    }
}

impl Poll {
    /// Takes each DIMM's first reading and starts polling every `secs`
    /// seconds; `None` when no DIMM answers SMART.
    pub(crate) fn start(health: Arc<Health>, dimms: &[Arc<NfitDimm>], secs: u32) -> Result<Option<Arc<Self>>> {
        let mut polled = KVec::new();
        let mut last = KVec::new();
        for d in dimms {
            if let Some(s) = crate::intel::smart(d) {
                polled.push(d.clone(), GFP_KERNEL)?;
                last.push(Some(HealthSnapshot::of(&s)), GFP_KERNEL)?;
            }
        }
        if polled.is_empty() {
            return Ok(None);
        }
        let poll = Arc::pin_init(
            pin_init!(Poll {
                health,
                period_ms: u64::from(secs) * 1000,
                dimms: polled,
                last <- new_mutex!(last),
                stopped: AtomicBool::new(false),
                work <- DelayedWork::new(),
            }),
            GFP_KERNEL,
        )?;
        DelayedWork::queue(&poll, poll.period_ms);
        Ok(Some(poll))
    }

    /// Stops the poll and waits for a read in progress.
    pub(crate) fn cancel(&self) {
        self.stopped.store(true, Ordering::Release);
        self.work.cancel_sync();
    }
}
