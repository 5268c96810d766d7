// SPDX-License-Identifier: GPL-2.0
//! The panic-time flush (beyond C, off by default: `libnvdimm.panic_flush=1`
//! at load; Documentation/flush.md), as vendor NVDIMM drivers armed it.
//!
//! With the option, libnvdimm registers a panic notifier and a reboot
//! notifier. Each writes back CPU caches, writes one flush hint of every
//! DIMM of every enabled region (the memory controller drains its queues
//! to the media) and logs one line per region:
//! - in panic, only this CPU's caches (WBINVD): the other CPUs are stopped
//!   by then and cannot run anything; nothing sleeps, no lock is taken, and
//!   the time is bounded by the regions and DIMMs of the snapshot;
//! - at a clean restart, halt or power off, every online CPU's.
//!
//! What the notifiers walk is a snapshot of the enabled regions (name and
//! their DIMMs' flush hints), published with RCU by regions as they are
//! enabled and disabled (`Published`), so the panic path never touches the
//! device model's locks. A region leaves it before its DIMMs can go, and
//! the DIMMs' hint mappings outlive the grace period that frees it.

use core::sync::atomic::{fence, Ordering};

use kernel::prelude::*;

use crate::abi::provider::FlushHints;
use crate::glue::cpu_cache;
use crate::glue::params;
use crate::glue::shutdown::{Published, Shutdown, ShutdownHook, ShutdownNotifiers};

/// Room for "regionN".
const NAME_LEN: usize = 24;

/// One enabled region as the notifiers see it.
struct RegionFlush {
    id: u32,
    name: [u8; NAME_LEN],
    name_len: usize,
    /// One entry per DIMM with flush hints.
    hints: KVec<FlushHints>,
}

impl RegionFlush {
    fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("region?")
    }

    fn copy(&self) -> Result<Self> {
        let mut hints = KVec::with_capacity(self.hints.len(), GFP_KERNEL)?;
        for h in self.hints.iter() {
            hints.push(*h, GFP_KERNEL)?;
        }
        Ok(Self { id: self.id, name: self.name, name_len: self.name_len, hints })
    }

    /// Writes one hint of each DIMM, between write barriers
    /// (`generic_nvdimm_flush` without its per-CPU choice of hint).
    fn write_hints(&self) -> usize {
        fence(Ordering::SeqCst);
        for h in self.hints.iter() {
            h.write(0);
        }
        fence(Ordering::SeqCst);
        self.hints.len()
    }
}

/// The enabled regions, in the order they were enabled.
struct Snapshot {
    regions: KVec<RegionFlush>,
}

static SNAPSHOT: Published<Snapshot> = Published::new();

/// A copy of `old`'s regions less region `id`.
fn without(old: Option<&Snapshot>, id: u32) -> Result<KVec<RegionFlush>> {
    let mut regions = KVec::new();
    if let Some(s) = old {
        regions.reserve(s.regions.len() + 1, GFP_KERNEL)?;
        for r in s.regions.iter().filter(|r| r.id != id) {
            regions.push(r.copy()?, GFP_KERNEL)?;
        }
    }
    Ok(regions)
}

/// Region `id`, named `name`, was enabled with DIMMs whose hints are
/// `hints`: it joins the snapshot. Nothing without the option.
pub(crate) fn region_enabled(id: u32, name: &str, hints: impl Iterator<Item = FlushHints>) -> Result {
    if !params::panic_flush() {
        return Ok(());
    }
    let mut entry = RegionFlush { id, name: [0; NAME_LEN], name_len: name.len().min(NAME_LEN), hints: KVec::new() };
    entry.name[..entry.name_len].copy_from_slice(&name.as_bytes()[..entry.name_len]);
    for h in hints.filter(|h| !h.is_empty()) {
        entry.hints.push(h, GFP_KERNEL)?;
    }
    SNAPSHOT.update(|old| {
        let mut regions = without(old, id)?;
        regions.push(entry, GFP_KERNEL)?;
        Ok(Some(KBox::new(Snapshot { regions }, GFP_KERNEL)?))
    })
}

/// Region `id` is being disabled: it leaves the snapshot before its DIMMs
/// can go.
pub(crate) fn region_disabled(id: u32) {
    if !params::panic_flush() {
        return;
    }
    let dropped = SNAPSHOT.update(|old| {
        if !old.is_some_and(|s| s.regions.iter().any(|r| r.id == id)) {
            return Err(ENOENT);
        }
        Ok(Some(KBox::new(Snapshot { regions: without(old, id)? }, GFP_KERNEL)?))
    });
    if let Err(e) = dropped {
        if e != ENOENT {
            // Without memory for the new snapshot, stop flushing at all
            // rather than keep hints of DIMMs that may go.
            let _ = SNAPSHOT.update(|_| Ok(None));
            pr_err!("panic flush: out of memory, no region is flushed from now on\n");
        }
    }
}

/// The notifiers' work.
struct Flush;

impl ShutdownHook for Flush {
    fn panic(&self) {
        cpu_cache::wbinvd_local();
        SNAPSHOT.read(|s| {
            for r in s.map_or(&[][..], |s| &s.regions[..]) {
                let n = r.write_hints();
                pr_emerg!("{}: panic flush: this CPU's caches written back, flush hints of {} DIMMs written\n", r.name(), n);
            }
        });
    }

    fn reboot(&self, how: Shutdown) {
        let cpus = cpu_cache::wbinvd_each_cpu();
        SNAPSHOT.read(|s| {
            for r in s.map_or(&[][..], |s| &s.regions[..]) {
                let n = r.write_hints();
                pr_notice!(
                    "{}: {} flush: caches of {} CPUs written back, flush hints of {} DIMMs written\n",
                    r.name(),
                    how.name(),
                    cpus,
                    n
                );
            }
        });
    }
}

/// The notifiers, registered at load when the option is on.
pub(crate) struct PanicFlush {
    _notifiers: ShutdownNotifiers<Flush>,
}

impl PanicFlush {
    /// Registers the notifiers if `libnvdimm.panic_flush` is set.
    pub(crate) fn register() -> Result<Option<Self>> {
        if !params::panic_flush() {
            return Ok(None);
        }
        let notifiers = ShutdownNotifiers::register(Flush)?;
        pr_info!("panic flush: panic and reboot notifiers registered\n");
        Ok(Some(Self { _notifiers: notifiers }))
    }
}

impl Drop for PanicFlush {
    fn drop(&mut self) {
        // The notifiers are gone once `_notifiers` drops, after this; no
        // region is enabled any more at unload (providers go first).
        let _ = SNAPSHOT.update(|_| Ok(None));
    }
}
