// SPDX-License-Identifier: GPL-2.0
//! Legacy persistent memory: the e820 type-12 ranges (old BIOSes, or
//! `memmap=nn!ss`) the kernel published in iomem as "Persistent Memory
//! (legacy)" (`IORES_DESC_PERSISTENT_MEMORY_LEGACY`), for nd_e820 (C's
//! drivers/nvdimm/e820.c). Their NUMA nodes are glue/numa.rs's.

use core::ffi::{c_int, c_void};

use kernel::prelude::*;

use super::bindings;

/// One legacy persistent memory range, `[start, start + len)`.
#[derive(Clone, Copy)]
pub struct LegacyRange {
    /// Its first byte.
    pub start: u64,
    /// Its length.
    pub len: u64,
}

/// What the walk collects: the ranges, or the first allocation failure.
struct Collect {
    ranges: KVec<LegacyRange>,
    failed: bool,
}

/// `walk_iomem_res_desc` callback: records a range and goes on.
///
/// # Safety
///
/// `res` is a resource the walk copied for this call, and `arg` points to
/// the caller's `Collect`, which nothing else uses during the walk.
unsafe extern "C" fn collect_range(res: *mut bindings::resource, arg: *mut c_void) -> c_int {
    // SAFETY: guaranteed by the caller.
    let (res, out) = unsafe { (&*res, &mut *arg.cast::<Collect>()) };
    let range = LegacyRange { start: res.start, len: res.end - res.start + 1 };
    if out.ranges.push(range, GFP_KERNEL).is_err() {
        out.failed = true;
        // Non-zero stops the walk.
        return 1;
    }
    0
}

/// Every legacy persistent memory range in iomem, in address order
/// (`walk_iomem_res_desc(IORES_DESC_PERSISTENT_MEMORY_LEGACY, IORESOURCE_MEM,
/// 0, -1, ...)`, which C's e820 driver registers a region for each of).
pub fn legacy_pmem_ranges() -> Result<KVec<LegacyRange>> {
    let mut out = Collect { ranges: KVec::new(), failed: false };
    // SAFETY: the walk copies each matching resource under the resource
    // lock and calls us outside it (so we may allocate); `out` outlives it.
    unsafe {
        bindings::walk_iomem_res_desc(
            bindings::IORES_DESC_PERSISTENT_MEMORY_LEGACY as _,
            bindings::IORESOURCE_MEM as _,
            0,
            u64::MAX,
            core::ptr::addr_of_mut!(out).cast(),
            Some(collect_range),
        )
    };
    if out.failed {
        return Err(ENOMEM);
    }
    Ok(out.ranges)
}
