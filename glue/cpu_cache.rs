// SPDX-License-Identifier: GPL-2.0
//! Writing back CPU caches to memory: WBINVD on one CPU or on every online
//! CPU, and a CLWB sweep of a physical range (C's `wbinvd_on_all_cpus`,
//! `arch_wb_cache_pmem`). For libnvdimm's cache write-back knob and its
//! panic-time flush, both beyond C (Documentation/flush.md).

use core::ffi::c_void;

use kernel::prelude::*;

use super::bindings;

/// Whether the CPU has CLWB, which writes a line back from every cache of
/// the coherence domain without invalidating it.
pub fn has_clwb() -> bool {
    // SAFETY: reads the boot CPU's feature bits.
    unsafe { bindings::rln_cpu_has_clwb() }
}

/// WBINVD on this CPU only: writes back and invalidates its caches. Never
/// sleeps; what panic context can do (the other CPUs are stopped).
pub fn wbinvd_local() {
    // SAFETY: a privileged instruction with no memory-safety effect.
    unsafe { bindings::rln_wbinvd() }
}

/// WBINVD on every online CPU (`on_each_cpu`, waiting for all of them);
/// returns how many CPUs ran it. Sleeps: process context only.
pub fn wbinvd_each_cpu() -> u32 {
    // SAFETY: runs a callback that only executes WBINVD and counts.
    unsafe { bindings::rln_wbinvd_each_cpu() }
}

/// Bytes mapped and swept at a time by [`clwb_range`].
const SWEEP_CHUNK: u64 = 64 << 20;

/// Writes back every cache line of physical `[start, start + len)` with
/// CLWB (`arch_wb_cache_pmem`, which falls back to CLFLUSHOPT/CLFLUSH),
/// mapping the range write-back a chunk at a time. The lines are written
/// back from whichever CPU's cache holds them. Sleeps.
pub fn clwb_range(start: u64, len: u64) -> Result {
    let mut off = 0;
    while off < len {
        let n = (len - off).min(SWEEP_CHUNK);
        // SAFETY: a temporary write-back mapping of memory that is not
        // System RAM (a region's range), unmapped below.
        let virt = unsafe { bindings::memremap(start + off, n as usize, bindings::MEMREMAP_WB as _) };
        if virt.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `virt` maps `n` bytes; writing back lines changes no data.
        unsafe { bindings::arch_wb_cache_pmem(virt, n as usize) };
        // SAFETY: mapped just above.
        unsafe { bindings::memunmap(virt.cast::<c_void>()) };
        off += n;
        // SAFETY: may sleep; the caller is in process context.
        unsafe { bindings::rln_cond_resched() };
    }
    Ok(())
}

/// [`clwb_range`] over memory already mapped: an emulated platform's
/// backing of a region (nfit_test), whose physical address is not the
/// region's.
pub fn clwb_memory(mem: &super::pmem_map::ProviderMemory) {
    let mut off = 0;
    while off < mem.len() {
        let n = (mem.len() - off).min(SWEEP_CHUNK);
        // SAFETY: `mem` maps `len` bytes while its region exists (the
        // caller reaches it through the region); writing lines back
        // changes no data.
        unsafe { bindings::arch_wb_cache_pmem(mem.as_ptr().wrapping_add(off as usize).cast(), n as usize) };
        off += n;
        // SAFETY: may sleep; the caller is in process context.
        unsafe { bindings::rln_cond_resched() };
    }
}
