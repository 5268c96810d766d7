// SPDX-License-Identifier: GPL-2.0
//! Static dax regions on the kernel's dax bus (drivers/dax/bus.c, built in:
//! CONFIG_DAX=y), as C's dax_pmem makes them, and the devm reservation of
//! a namespace's metadata.
//!
//! Everything here is devm on the device a driver is probing
//! ([`Probing`]): `alloc_dax_region` puts the region in that device's
//! drvdata and its `dax_region/` attributes on it, `devm_create_dev_dax`
//! adds a dev_dax (daxX.Y, a child on the dax bus) and a devm action that
//! unregisters it. The driver core undoes them in reverse order when the
//! driver unbinds: the dev_dax, then the region, then the reservation, as
//! with C's dax_pmem (which has no remove either).
//!
//! The contract with device_dax (issue 12): the `dev_pagemap` handed to
//! `devm_create_dev_dax` ([`PageMap`]) says where the pages really are,
//! with the info block's altmap; the region and the dev_dax's one range are
//! what user space sees (C's numbers). On real hardware both are the same
//! addresses; on nfit_test, whose emulated ranges are backed by memory
//! elsewhere, the pagemap is moved by the backing distance. device_dax maps
//! `dev_dax->pgmap` as given and finds a device offset's pfn through the
//! distance `pgmap.range.end - ranges[last].range.end`, which this file
//! makes the backing distance: a static dev_dax fills its region, so its
//! last range ends where the region ends (see the `// INVARIANT:` in
//! [`DaxRegion::create_static_dev_dax`]).

use core::ffi::{c_ulong, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::error::{from_err_ptr, Result};
use kernel::prelude::*;

use super::bindings;
use super::nd_driver::Probing;
use crate::formats::pfn::Altmap;

/// `devm_request_mem_region(dev, start, size, name)`: reserves `[start,
/// start + size)` in iomem under `name` (copied, devm as well) until the
/// driver of `dev` unbinds. EBUSY if any of it is taken.
pub fn devm_request_mem_region(dev: &Probing<'_>, start: u64, size: u64, name: &CStr) -> Result {
    let raw = dev.device().as_raw();
    // SAFETY: `raw` is live while it is being probed (`Probing`); the name
    // is NUL-terminated and copied.
    let name = unsafe { bindings::devm_kstrdup(raw, name.as_ptr(), kernel::bindings::GFP_KERNEL) };
    if name.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: as above; `iomem_resource` is the kernel's root of physical
    // memory ranges; the name is released after the reservation (devm
    // resources go in reverse order).
    let res = unsafe {
        bindings::__devm_request_region(raw, core::ptr::addr_of_mut!(bindings::iomem_resource), start, size, name)
    };
    if res.is_null() {
        return Err(EBUSY);
    }
    Ok(())
}

/// Where a dev_dax's pages are: the `dev_pagemap` handed to the dax bus
/// (C: `struct dev_pagemap` with one range, and the altmap when the
/// struct pages live on the device). Its type is device_dax's to set
/// (MEMORY_DEVICE_GENERIC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageMap {
    /// First physical byte of the pages.
    pub start: u64,
    /// Last physical byte.
    pub end: u64,
    /// The altmap (`PGMAP_ALTMAP_VALID`), None for struct pages in RAM.
    pub altmap: Option<Altmap>,
}

impl PageMap {
    /// The C struct, all else zero, as C's dax_pmem builds it on its stack.
    fn to_raw(self) -> bindings::dev_pagemap {
        // SAFETY: all-zero is a valid `dev_pagemap` (integers, pointers,
        // an uninitialised percpu_ref and completion that only
        // `memremap_pages` initialises).
        let mut p: bindings::dev_pagemap = unsafe { core::mem::zeroed() };
        p.nr_range = 1;
        // SAFETY: `range` is the union's member for `nr_range == 1`; the
        // struct has room for it (it is the union's declared field).
        let r = unsafe { p.__bindgen_anon_1.range.as_mut() };
        r.start = self.start;
        r.end = self.end;
        if let Some(a) = self.altmap {
            // The rest (align, alloc) stays zero, as in C.
            p.altmap.base_pfn = a.base_pfn as _;
            p.altmap.end_pfn = a.end_pfn as _;
            p.altmap.reserve = a.reserve as _;
            p.altmap.free = a.free as _;
            p.flags |= bindings::RLN_PGMAP_ALTMAP_VALID as u32;
        }
        p
    }
}

/// A static dax region (`IORESOURCE_DAX_STATIC`: its dev_dax devices are
/// made by the driver, not by user space) on a device being probed.
///
/// # Invariants
///
/// `raw` is a live dax region of the dax core, whose devm release on the
/// probed device cannot run while `'a` lasts (the probe's borrow); it
/// covers `[start, end]`.
pub struct DaxRegion<'a> {
    raw: NonNull<bindings::dax_region>,
    start: u64,
    end: u64,
    _probe: PhantomData<&'a ()>,
}

impl<'a> DaxRegion<'a> {
    /// `alloc_dax_region(dev, id, [start, end], target_node, align,
    /// IORESOURCE_DAX_STATIC)`: the region regionN of the dax bus
    /// (`dax_region/` under `dev`). ENOMEM when the dax core refuses, as
    /// C's dax_pmem answers: the range or its length not aligned to
    /// `align`, no memory, or `dev`'s drvdata taken.
    pub fn new_static(
        dev: &'a Probing<'_>,
        id: i32,
        start: u64,
        end: u64,
        target_node: i32,
        align: u32,
    ) -> Result<Self> {
        let mut range = bindings::range { start, end };
        // SAFETY: the device is live and being probed by a driver that
        // keeps nothing in its drvdata (`NdDevmDriver`), where the dax core
        // puts the region; the range is read during the call only.
        let raw = unsafe {
            bindings::alloc_dax_region(
                dev.device().as_raw(),
                id,
                &mut range,
                target_node,
                align,
                bindings::RLN_IORESOURCE_DAX_STATIC as c_ulong,
            )
        };
        // INVARIANT: the region is released by a devm action of the
        // device, which runs at unbind, after the probe (`'a`) ends.
        Ok(Self { raw: NonNull::new(raw).ok_or(ENOMEM)?, start, end, _probe: PhantomData })
    }

    /// `devm_create_dev_dax` of the region's one dev_dax, daxR.`id`
    /// (R the region's id), over the whole region, its pages at `pgmap`
    /// (copied by the dax core). The dev_dax is registered on the dax bus
    /// (which binds device_dax to it) until the driver unbinds. Errors as
    /// the dax core's (ENOMEM, a `device_add` failure, EINVAL with a
    /// warning for an `id` below 0).
    pub fn create_static_dev_dax(&self, id: i32, pgmap: &PageMap) -> Result {
        let mut pgmap = pgmap.to_raw();
        // INVARIANT: the dev_dax's one range is `[start, end]` of the
        // region (`alloc_dev_dax_range` from the region's start, for its
        // whole size), so `pgmap.range.end - ranges[last].range.end`, the
        // distance device_dax adds to a device address to find its page,
        // is `pgmap.end - self.end`: zero when the pages are where user
        // space sees them (real hardware), the backing distance on
        // nfit_test (the caller moved the pagemap by it).
        let mut data = bindings::dev_dax_data {
            dax_region: self.raw.as_ptr(),
            pgmap: &mut pgmap,
            size: self.end.wrapping_sub(self.start).wrapping_add(1),
            id,
            memmap_on_memory: false,
        };
        // SAFETY: the region is live (type invariant); `data` and the
        // pagemap it points to are valid during the call, and the dax
        // core copies the pagemap (`kmemdup`) before it returns.
        let dev_dax = unsafe { bindings::devm_create_dev_dax(&mut data) };
        from_err_ptr(dev_dax)?;
        Ok(())
    }
}
