// SPDX-License-Identifier: GPL-2.0
//! Drivers of the kernel's dax bus (drivers/dax/bus.c, built in) and what
//! device_dax serves: a dev_dax ([`DevDax`]), its page map, its character
//! device /dev/daxX.Y ([`DaxFileOps`]) and the VMAs that map it ([`Vma`],
//! [`VmaNew`], [`Fault`]).
//!
//! The dax bus, its devices and the dax inode's cdev are the kernel's; we
//! bind to them as C's device.c does. A driver's probe gets a
//! [`ProbingDevDax`]: its steps (`request_ranges`, `memremap_pages`,
//! `add_cdev`, `run`) are device-managed resources released in reverse
//! order after unbind, as C's `devm_*` calls are. The file and VM operations
//! hand the module typed views with the numbers formats::devdax decides on.
//!
//! The helpers this needs from C are in glue/dax_helpers.c, built into
//! device_dax: a driver of the dax bus does not depend on libnvdimm (daxctl
//! loads device_dax for dax devices of any origin), so nothing here calls
//! glue/helpers.c.
//!
//! # The page map and the ranges (dax_pmem's contract)
//!
//! A static dev_dax comes with the page map its region's driver built
//! (`dev_dax->pgmap`): where the struct pages really are. Its ranges
//! (`dev_dax->ranges`) are what user space sees. On real hardware both are
//! the same addresses; on nfit_test the page map is at the physical backing
//! of the emulated range. Both end at the same byte of the namespace (C's
//! dax_pmem moves only the start, by the info block's `dataoff`), so a
//! device physical address becomes a pfn by the distance
//! `pgmap.ranges[last].end - ranges[last].range.end`
//! ([`DevDax::backing_distance`]).

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_uint, c_ulong, CStr};
use core::marker::PhantomData;
use core::ptr::{addr_of_mut, NonNull};
use core::sync::atomic::{AtomicU8, Ordering};

use kernel::error::{from_err_ptr, to_result, Result};
use kernel::prelude::*;
use kernel::ThisModule;

use super::bindings;
use crate::formats::devdax::{DaxRange, Vma as VmaView};

/// `vm_fault_t`: what a fault handler tells the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct VmFault(bindings::vm_fault_t);

impl VmFault {
    /// VM_FAULT_SIGBUS.
    pub const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);
    /// VM_FAULT_FALLBACK: retry with a smaller order.
    pub const FALLBACK: Self = Self(bindings::vm_fault_reason_VM_FAULT_FALLBACK);

    /// The raw value.
    pub fn raw(self) -> u32 {
        self.0
    }
}

/// Whether this kernel maps PUD-sized entries in VMAs
/// (CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD).
pub const PUD_FAULTS: bool = bindings::RLN_DAX_PUD_SUPPORTED != 0;

/// `dax_read_lock()`: the SRCU read side that `kill_dax` waits for; while
/// it is held, a device seen alive stays usable.
pub struct DaxReadGuard(c_int);

impl DaxReadGuard {
    /// Enters the read side.
    pub fn lock() -> Self {
        // SAFETY: no precondition; the id is handed back on drop.
        Self(unsafe { bindings::dax_read_lock() })
    }
}

impl Drop for DaxReadGuard {
    fn drop(&mut self) {
        // SAFETY: the id `dax_read_lock` returned.
        unsafe { bindings::dax_read_unlock(self.0) }
    }
}

/// A device of the dax bus (`struct dev_dax`), borrowed.
///
/// # Invariants
///
/// Wraps a live, registered `struct dev_dax` (the dax bus made it, through
/// `devm_create_dev_dax`); its `dax_dev`, `ranges` and `nr_range` do not
/// change while a driver is bound or a file of its char device is open.
#[repr(transparent)]
pub struct DevDax(UnsafeCell<bindings::dev_dax>);

// SAFETY: the fields we read are fixed while bound (type invariant); the
// kernel serialises the rest.
unsafe impl Sync for DevDax {}
// SAFETY: see `Sync`.
unsafe impl Send for DevDax {}

impl DevDax {
    /// # Safety
    ///
    /// `ptr` is a live dev_dax, bound to a driver or held by an open file
    /// of its char device (whose cdev holds the device), for `'a`.
    #[inline]
    unsafe fn from_raw<'a>(ptr: *mut bindings::dev_dax) -> &'a DevDax {
        // SAFETY: transparent wrapper; validity is the caller's.
        unsafe { &*ptr.cast::<DevDax>() }
    }

    #[inline]
    fn raw(&self) -> *mut bindings::dev_dax {
        self.0.get()
    }

    /// The embedded `struct device` (daxX.Y), for passing to C.
    fn dev_raw(&self) -> *mut bindings::device {
        // SAFETY: the device is embedded in the live dev_dax; no reference
        // is made.
        unsafe { addr_of_mut!((*self.raw()).dev) }
    }

    /// `align`: the mapping and fault granularity (4 KiB, 2 MiB or 1 GiB).
    #[inline]
    pub fn align(&self) -> u64 {
        // SAFETY: a plain field of the live dev_dax; the dax bus changes it
        // only while no driver is bound (`align_store` checks).
        u64::from(unsafe { (*self.raw()).align })
    }

    /// `target_node`.
    pub fn target_node(&self) -> i32 {
        // SAFETY: as `align`.
        unsafe { (*self.raw()).target_node }
    }

    /// `static_dev_dax`: its region's driver owns the page map.
    pub fn is_static(&self) -> bool {
        // SAFETY: the dev_dax is live.
        unsafe { bindings::static_dev_dax(self.raw()) }
    }

    /// `nr_range`.
    #[inline]
    pub fn nr_range(&self) -> usize {
        self.raw_ranges().len()
    }

    /// `dev_dax->ranges` as a slice (empty without ranges).
    #[inline]
    fn raw_ranges(&self) -> &[bindings::dev_dax_dev_dax_range] {
        // SAFETY: plain fields of the live dev_dax, fixed while bound (type
        // invariant).
        let (ptr, n) = unsafe { ((*self.raw()).ranges, (*self.raw()).nr_range) };
        match usize::try_from(n) {
            // SAFETY: `ranges` holds `nr_range` entries (so it is not null
            // when there are any), which stay while the device is bound or
            // its file open (type invariant).
            Ok(n) if n > 0 => unsafe { core::slice::from_raw_parts(ptr, n) },
            _ => &[],
        }
    }

    /// Range `i` (`dev_dax->ranges[i]`), if there is one.
    pub fn range(&self, i: usize) -> Option<DaxRange> {
        self.raw_ranges().get(i).map(Self::dax_range)
    }

    #[inline]
    fn dax_range(r: &bindings::dev_dax_dev_dax_range) -> DaxRange {
        DaxRange { pgoff: r.pgoff, start: r.range.start, end: r.range.end }
    }

    /// The ranges, in order.
    #[inline]
    pub fn ranges(&self) -> impl Iterator<Item = DaxRange> + '_ {
        self.raw_ranges().iter().map(Self::dax_range)
    }

    /// Whether `dev_dax->pgmap` is set.
    pub fn has_pgmap(&self) -> bool {
        self.pgmap().is_some()
    }

    /// `vmemmap_shift` of the page map (0 without one).
    #[inline]
    pub fn vmemmap_shift(&self) -> u32 {
        // SAFETY: the pgmap, when set, lives as long as the binding that
        // mapped it (static: the dev_dax's copy; dynamic: devm memory).
        unsafe { self.pgmap().map_or(0, |p| (*p.as_ptr()).vmemmap_shift as u32) }
    }

    #[inline]
    fn pgmap(&self) -> Option<NonNull<bindings::dev_pagemap>> {
        // SAFETY: a plain pointer field of the live dev_dax.
        NonNull::new(unsafe { (*self.raw()).pgmap })
    }

    /// The ranges of the page map (`pgmap->ranges`, `nr_range` of them;
    /// empty without a page map).
    #[inline]
    fn pgmap_ranges(&self) -> &[bindings::range] {
        let Some(pgmap) = self.pgmap() else { return &[] };
        let p = pgmap.as_ptr();
        // SAFETY: the page map is live while bound (see `vmemmap_shift`)
        // and holds `nr_range` ranges, its flexible array starting at the
        // union; `nr_range` is fixed once it is mapped.
        unsafe {
            let n = usize::try_from((*p).nr_range).unwrap_or(0);
            core::slice::from_raw_parts(addr_of_mut!((*p).__bindgen_anon_1).cast::<bindings::range>(), n)
        }
    }

    /// The distance from the device's physical addresses to its struct
    /// pages' (see the module comment): the page map's last range's end
    /// minus the last range's end, wrapping; zero without a page map.
    #[inline]
    pub fn backing_distance(&self) -> u64 {
        let (pgmap, ranges) = (self.pgmap_ranges(), self.raw_ranges());
        let (Some(last_map), Some(last)) = (pgmap.len().checked_sub(1), ranges.len().checked_sub(1)) else {
            return 0;
        };
        // INVARIANT: dax_pmem's contract: the two ends are the same byte
        // of the namespace, so this is the backing distance (0 on hardware).
        crate::formats::devdax::backing_distance(pgmap[last_map].end, ranges[last].range.end)
    }

    /// The device, if `dax_alive(dev_dax->dax_dev)`: alive for as long as
    /// `guard` is held (`kill_dax` waits for the read side), so its page
    /// map stays mapped. The inserts and page updates of a fault need it.
    #[inline]
    pub fn live<'a>(&'a self, guard: &'a DaxReadGuard) -> Option<LiveDevDax<'a>> {
        // SAFETY: the dax_device lives as long as its dev_dax.
        let alive = unsafe { bindings::dax_alive((*self.raw()).dax_dev) };
        alive.then_some(LiveDevDax { dev: self, _guard: guard })
    }

    /// `dev_warn`.
    pub fn warn(&self, args: core::fmt::Arguments<'_>) {
        self.printk(bindings::LOGLEVEL_WARNING, args)
    }

    /// `dev_info`.
    pub fn info(&self, args: core::fmt::Arguments<'_>) {
        self.printk(bindings::LOGLEVEL_INFO, args)
    }

    fn printk(&self, level: u32, args: core::fmt::Arguments<'_>) {
        // SAFETY: the device is live; %pA reads `args` as a fmt::Arguments
        // during the call.
        unsafe {
            bindings::rln_dax_dev_printk(
                level as c_int,
                self.dev_raw(),
                (&args as *const core::fmt::Arguments<'_>).cast(),
            )
        }
    }

    /// `dev_info_ratelimited(dev, "%s: " ..., current->comm, ...)`, with
    /// the ratelimit state of `site` (0, 1 or 2: one per call site).
    pub fn info_ratelimited(&self, site: u32, args: core::fmt::Arguments<'_>) {
        // SAFETY: as `printk`.
        unsafe {
            bindings::rln_dax_info_ratelimited(
                site,
                self.dev_raw(),
                (&args as *const core::fmt::Arguments<'_>).cast(),
            )
        }
    }
}

/// A dev_dax found alive under a [`DaxReadGuard`] (see [`DevDax::live`]).
pub struct LiveDevDax<'a> {
    dev: &'a DevDax,
    _guard: &'a DaxReadGuard,
}

impl core::ops::Deref for LiveDevDax<'_> {
    type Target = DevDax;
    fn deref(&self) -> &DevDax {
        self.dev
    }
}

impl<'a> LiveDevDax<'a> {
    /// The one check of a fault: the device pages of device physical
    /// address `phys` (moved by the backing distance, see
    /// [`DevDax::backing_distance`]) for an entry of `order` (0, PMD_ORDER
    /// or PUD_ORDER), `pfn .. pfn + 2^order`, have struct pages in one range
    /// of the device's page map, and `pfn` is aligned to the entry (a huge
    /// entry maps its aligned block). The token lets [`Fault::set_mapping`]
    /// and [`Fault::insert`] touch those pages and nothing else, whatever
    /// the module computed; `None` for any other run (the fault is a
    /// SIGBUS).
    #[inline(always)]
    pub fn pfns(&self, phys: u64, order: u32) -> Option<DevPfns<'_>> {
        use crate::formats::devdax::{phys_to_pfn, PAGE_SHIFT, PMD_ORDER, PUD_ORDER};
        if !(order == 0 || order == PMD_ORDER || order == PUD_ORDER) {
            return None;
        }
        // `backing_distance`, over the page map's ranges read once.
        let (pgmap, ranges) = (self.pgmap_ranges(), self.raw_ranges());
        let (last_map, last) = (pgmap.len().checked_sub(1)?, ranges.len().checked_sub(1)?);
        let distance = crate::formats::devdax::backing_distance(pgmap[last_map].end, ranges[last].range.end);
        let pfn = phys_to_pfn(phys, distance);
        let count = 1u64 << order;
        if pfn & (count - 1) != 0 {
            return None;
        }
        let end = pfn.checked_add(count)?;
        let covered =
            pgmap.iter().any(|r| pfn >= r.start >> PAGE_SHIFT && end <= (r.end >> PAGE_SHIFT).wrapping_add(1));
        // INVARIANT: checked just above, under the read lock `self` holds.
        covered.then_some(DevPfns { pfn, order, _live: PhantomData })
    }
}

/// Device pages of a live dev_dax, checked by [`LiveDevDax::pfns`].
///
/// # Invariants
///
/// `pfn .. pfn + 2^order` have struct pages in one range of the device's
/// page map, `pfn` is a multiple of `2^order`, and `order` is 0, PMD_ORDER
/// or PUD_ORDER; the page map stays mapped for `'a` (the device was alive
/// under the read lock that `kill_dev_dax` waits for).
pub struct DevPfns<'a> {
    pfn: u64,
    order: u32,
    _live: PhantomData<&'a LiveDevDax<'a>>,
}

impl DevPfns<'_> {
    /// The first page frame number.
    #[inline]
    pub fn pfn(&self) -> u64 {
        self.pfn
    }

    /// How many pages (2^order).
    #[inline]
    pub fn count(&self) -> u64 {
        1 << self.order
    }
}

/// The configuration whose struct page arithmetic the glue does inline
/// (x86-64, SPARSEMEM_VMEMMAP at a boot-time base, no fake compound heads);
/// any other goes through the C helper.
macro_rules! inline_pages {
    ($($item:item)*) => {
        $(
            #[cfg(all(
                CONFIG_X86_64,
                CONFIG_SPARSEMEM_VMEMMAP,
                CONFIG_DYNAMIC_MEMORY_LAYOUT,
                not(CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP)
            ))]
            $item
        )*
    };
}

inline_pages! {
    /// `pfn_to_page`: the struct pages are an array at `vmemmap_base`,
    /// which KASLR sets once at boot (CONFIG_DYNAMIC_MEMORY_LAYOUT).
    #[inline(always)]
    fn pfn_to_page(pfn: u64) -> *mut bindings::page {
        // SAFETY: written once during early boot, before modules load, and
        // only read afterwards.
        let vmemmap = unsafe { bindings::vmemmap_base } as *mut bindings::page;
        vmemmap.wrapping_add(pfn as usize)
    }

    /// `compound_head`: a tail page's `compound_head` word is its head's
    /// address plus one; without HUGETLB_PAGE_OPTIMIZE_VMEMMAP there are no
    /// fake heads, so any other page is its own head (C's `_compound_head`).
    ///
    /// # Safety
    ///
    /// `page` is a live struct page.
    #[inline(always)]
    unsafe fn compound_head(page: *mut bindings::page) -> *mut bindings::page {
        // SAFETY: the caller's page; `compound_head` is the word after
        // `flags` in every variant of the union; READ_ONCE is a volatile load.
        let head = unsafe { addr_of_mut!((*page).__bindgen_anon_1.__bindgen_anon_3.compound_head).read_volatile() };
        if head & 1 != 0 {
            (head - 1) as *mut bindings::page
        } else {
            page
        }
    }

    /// `dax_set_mapping`'s step for one page, inline: the head page of
    /// `pfn` gets `mapping` and `index` unless it has a mapping already.
    ///
    /// # Safety
    ///
    /// `pfn` has a live struct page; `mapping` is a live address space.
    #[inline(always)]
    unsafe fn page_set_mapping(pfn: u64, mapping: *mut bindings::address_space, index: u64) {
        // SAFETY: the caller's page, and its head (`compound_head`). The
        // fields are C's `page->mapping` and `page->index`, written as C's
        // `dax_set_mapping` writes them (plain stores, under the fault's
        // locks).
        unsafe {
            let page = compound_head(pfn_to_page(pfn));
            let fields = addr_of_mut!((*page).__bindgen_anon_1.__bindgen_anon_1);
            if (*fields).mapping.is_null() {
                (*fields).mapping = mapping;
                (*fields).__bindgen_anon_2.index = index as c_ulong;
            }
        }
    }
}

/// `dax_set_mapping`'s step for one page, through the C helper.
///
/// # Safety
///
/// `pfn` has a live struct page; `mapping` is a live address space.
#[cfg(not(all(
    CONFIG_X86_64,
    CONFIG_SPARSEMEM_VMEMMAP,
    CONFIG_DYNAMIC_MEMORY_LAYOUT,
    not(CONFIG_HUGETLB_PAGE_OPTIMIZE_VMEMMAP)
)))]
unsafe fn page_set_mapping(pfn: u64, mapping: *mut bindings::address_space, index: u64) {
    // SAFETY: the caller's contract.
    unsafe { bindings::rln_dax_page_set_mapping(pfn as c_ulong, mapping, index as c_ulong) }
}

/// A dev_dax during its driver's probe: the device-managed steps of a
/// binding. Each is undone after unbind (or a failed probe), in reverse
/// order, by the driver core's devres release.
pub struct ProbingDevDax<'a>(&'a DevDax);

impl core::ops::Deref for ProbingDevDax<'_> {
    type Target = DevDax;
    fn deref(&self) -> &DevDax {
        self.0
    }
}

impl ProbingDevDax<'_> {
    /// `devm_request_mem_region` of every range under the device's name;
    /// on failure, the index and range that could not be reserved (EBUSY).
    pub fn request_ranges(&self) -> core::result::Result<(), (usize, DaxRange)> {
        let dev = self.dev_raw();
        for (i, r) in self.ranges().enumerate() {
            // SAFETY: `dev` is the device being probed; devres releases
            // the region when the binding ends.
            let res = unsafe { bindings::rln_dax_devm_request_mem_region(dev, r.start, r.len()) };
            if res.is_null() {
                return Err((i, r));
            }
        }
        Ok(())
    }

    /// `devm_memremap_pages` of the device's page map as
    /// MEMORY_DEVICE_GENERIC with `vmemmap_shift` (not written when 0): the
    /// static page map as given, or, for a dynamic dev_dax, a new one over
    /// its ranges (device-managed; `kill_dev_dax` forgets it).
    pub fn memremap_pages(&self, vmemmap_shift: u32) -> Result {
        let dev = self.dev_raw();
        let pgmap = if self.is_static() {
            self.pgmap().ok_or(EINVAL)?
        } else {
            let n = self.nr_range();
            let nr = c_int::try_from(n).map_err(|_| EINVAL)?;
            // SAFETY: `dev` is being probed; the memory is device-managed.
            let p = NonNull::new(unsafe { bindings::rln_dax_devm_alloc_pgmap(dev, nr) }).ok_or(ENOMEM)?;
            // SAFETY: `p` holds `n` zeroed ranges (struct_size); the
            // dev_dax's ranges are fixed while it is being probed.
            unsafe {
                (*p.as_ptr()).nr_range = nr;
                let ranges = addr_of_mut!((*p.as_ptr()).__bindgen_anon_1).cast::<bindings::range>();
                for (i, r) in self.ranges().enumerate() {
                    *ranges.add(i) = bindings::range { start: r.start, end: r.end };
                }
                (*self.raw()).pgmap = p.as_ptr();
            }
            p
        };
        // SAFETY: the page map is live for the binding (see
        // `vmemmap_shift`) and not yet mapped: we set what C's probe sets.
        let addr = unsafe {
            let p = pgmap.as_ptr();
            (*p).type_ = bindings::memory_type_MEMORY_DEVICE_GENERIC;
            if vmemmap_shift != 0 {
                (*p).vmemmap_shift = c_ulong::from(vmemmap_shift);
            }
            bindings::devm_memremap_pages(dev, p)
        };
        from_err_ptr(addr).map(|_| ())
    }

    /// The char device /dev/daxX.Y on the dax inode's cdev, served by
    /// `fops` (its owner set by [`DaxDriver::register`]); `cdev_del`
    /// after unbind.
    pub fn add_cdev<F: DaxFile>(&self, fops: &'static DaxFileOps<F>) -> Result {
        let fops_ptr = fops.get()?;
        let raw = self.raw();
        // SAFETY: the dax inode of a live dev_dax has a cdev that no one
        // else initialises (the dax core leaves it to the driver, as C's
        // device.c); `fops` is a static whose owner is our module.
        unsafe {
            let dev = addr_of_mut!((*raw).dev);
            let inode = bindings::dax_inode((*raw).dax_dev);
            let cdev = bindings::rln_dax_inode_cdev(inode);
            bindings::cdev_init(cdev, fops_ptr);
            (*cdev).owner = (*fops_ptr).owner;
            bindings::cdev_set_parent(cdev, addr_of_mut!((*dev).kobj));
            to_result(bindings::cdev_add(cdev, (*dev).devt, 1))?;
            to_result(bindings::rln_dax_devm_cdev_del(dev, cdev))
        }
    }

    /// `run_dax`: the device goes live; `kill_dev_dax` after unbind (the
    /// dax device dies and every mapping of it is zapped).
    pub fn run(&self) -> Result {
        let raw = self.raw();
        // SAFETY: the dev_dax is being probed; the action runs once.
        unsafe {
            bindings::run_dax((*raw).dax_dev);
            to_result(bindings::rln_dax_devm_kill(addr_of_mut!((*raw).dev), raw))
        }
    }
}

/// What a driver of the dax bus does. Its resources are device-managed
/// (see [`ProbingDevDax`]), so it has no remove of its own, as C's
/// device_dax.
pub trait DaxDriverOps {
    /// Binds to `dev`.
    fn probe(dev: &ProbingDevDax<'_>) -> Result;
}

/// `enum dax_driver_type`.
#[derive(Clone, Copy)]
pub enum DaxDriverType {
    /// DAXDRV_DEVICE_TYPE: device_dax.
    Device,
    /// DAXDRV_KMEM_TYPE: kmem.
    Kmem,
}

/// A driver of the dax bus (`struct dax_device_driver`), defined as a
/// static.
pub struct DaxDriver {
    drv: UnsafeCell<bindings::dax_device_driver>,
    name: &'static CStr,
}

// SAFETY: written only in `register`, before the driver core sees it, and
// then owned by the driver core.
unsafe impl Sync for DaxDriver {}

impl DaxDriver {
    /// A driver named `name` (C: KBUILD_MODNAME) of type `ty`.
    pub const fn new<D: DaxDriverOps>(name: &'static CStr, ty: DaxDriverType) -> Self {
        Self {
            drv: UnsafeCell::new(bindings::dax_device_driver {
                type_: match ty {
                    DaxDriverType::Device => bindings::dax_driver_type_DAXDRV_DEVICE_TYPE,
                    DaxDriverType::Kmem => bindings::dax_driver_type_DAXDRV_KMEM_TYPE,
                },
                probe: Some(probe_raw::<D>),
                remove: None,
                // SAFETY: the rest is the driver core's, zero until registered.
                ..unsafe { core::mem::zeroed() }
            }),
            name,
        }
    }

    /// Registers with the dax bus (`__dax_driver_register`), after making
    /// `module` the owner of `fops`; unregistered on drop.
    pub fn register<F: DaxFile>(
        &'static self,
        fops: &'static DaxFileOps<F>,
        module: &'static ThisModule,
    ) -> Result<DaxDriverRegistration> {
        fops.set_owner(module)?;
        // SAFETY: `drv` is a static the driver core has not seen; the dax
        // bus sets name, owner and bus, with `name` a static string.
        to_result(unsafe { bindings::__dax_driver_register(self.drv.get(), module.as_ptr().cast(), self.name.as_ptr()) })?;
        Ok(DaxDriverRegistration(self))
    }
}

/// A registered dax bus driver; `dax_driver_unregister` on drop.
pub struct DaxDriverRegistration(&'static DaxDriver);

impl Drop for DaxDriverRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `register`.
        unsafe { bindings::dax_driver_unregister(self.0.drv.get()) }
    }
}

/// `dax_device_driver.probe`.
///
/// # Safety
///
/// Called by `dax_bus_probe` with a live dev_dax being bound to us.
unsafe extern "C" fn probe_raw<D: DaxDriverOps>(dev: *mut bindings::dev_dax) -> c_int {
    // SAFETY: the dax bus passes a live device under its device lock.
    let dev = unsafe { DevDax::from_raw(dev) };
    match D::probe(&ProbingDevDax(dev)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// A VMA of a dev_dax's file, borrowed for a callback (mmap_lock held).
#[repr(transparent)]
pub struct Vma(UnsafeCell<bindings::vm_area_struct>);

impl Vma {
    /// # Safety
    ///
    /// `ptr` is a live VMA, stable for `'a` (mmap_lock or the VMA lock
    /// held by the caller).
    #[inline]
    unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Vma {
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Vma>() }
    }

    #[inline]
    fn raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// `vm_start`.
    #[inline]
    pub fn start(&self) -> u64 {
        // SAFETY: stable under the caller's lock (`from_raw`).
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// `vm_end`.
    #[inline]
    pub fn end(&self) -> u64 {
        // SAFETY: as `start`.
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// `vm_pgoff`.
    #[inline]
    pub fn pgoff(&self) -> u64 {
        // SAFETY: as `start`.
        unsafe { (*self.raw()).vm_pgoff }
    }

    /// `vm_flags`.
    #[inline]
    pub fn flags(&self) -> u64 {
        // SAFETY: as `start`.
        unsafe { (*self.raw()).__bindgen_anon_2.vm_flags }
    }

    /// `vma_is_dax`: the file's host inode is S_DAX.
    #[inline]
    pub fn is_dax(&self) -> bool {
        // SAFETY: a mapped file, its mapping and host live as long as the VMA.
        unsafe {
            let file = (*self.raw()).vm_file;
            !file.is_null() && (*(*(*file).f_mapping).host).i_flags & bindings::S_DAX != 0
        }
    }

    /// What formats::devdax decides on.
    #[inline]
    pub fn view(&self) -> VmaView {
        VmaView {
            start: self.start(),
            end: self.end(),
            pgoff: self.pgoff(),
            may_share: self.flags() & u64::from(bindings::VM_MAYSHARE) != 0,
            is_dax: self.is_dax(),
        }
    }

    /// The dev_dax whose file this VMA maps.
    ///
    /// # Safety
    ///
    /// The VMA maps a file opened by [`DaxFileOps`]'s open.
    #[inline]
    unsafe fn dev_dax<'a>(&self) -> &'a DevDax {
        // SAFETY: our open set private_data to the dev_dax, which the open
        // file (held by the VMA) keeps alive through its cdev.
        unsafe { DevDax::from_raw((*(*self.raw()).vm_file).private_data.cast()) }
    }
}

/// A VMA being set up by `mmap` (C's `vm_area_struct` before it is
/// inserted): what mmap may change.
pub struct VmaNew<'a>(&'a Vma);

impl core::ops::Deref for VmaNew<'_> {
    type Target = Vma;
    fn deref(&self) -> &Vma {
        self.0
    }
}

impl VmaNew<'_> {
    /// `vm_flags_set(vma, VM_HUGEPAGE)`.
    pub fn set_hugepage(&self) {
        // SAFETY: mmap holds the mmap_lock for writing over a new VMA.
        unsafe { bindings::rln_dax_vm_flags_set_hugepage(self.0.raw()) }
    }
}

/// A page fault in a dev_dax's VMA (`struct vm_fault`), for one call of a
/// fault handler.
pub struct Fault<'a> {
    vmf: *mut bindings::vm_fault,
    _p: PhantomData<&'a mut bindings::vm_fault>,
}

impl Fault<'_> {
    /// The faulting address, page aligned (`vmf->address`).
    #[inline]
    pub fn address(&self) -> u64 {
        // SAFETY: the vm_fault is live for the handler's call.
        unsafe { (*self.vmf).__bindgen_anon_1.address }
    }

    /// `vmf->pgoff`: the file page of `address`.
    #[inline]
    pub fn pgoff(&self) -> u64 {
        // SAFETY: as `address`.
        unsafe { (*self.vmf).__bindgen_anon_1.pgoff }
    }

    /// FAULT_FLAG_WRITE.
    #[inline]
    pub fn is_write(&self) -> bool {
        // SAFETY: as `address`.
        unsafe { (*self.vmf).flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0 }
    }

    /// The VMA.
    #[inline]
    pub fn vma(&self) -> &Vma {
        // SAFETY: the fault holds the VMA (its lock or mmap_lock).
        unsafe { Vma::from_raw((*self.vmf).__bindgen_anon_1.vma) }
    }

    #[inline]
    fn pfn_t(pfn: u64) -> bindings::pfn_t {
        // phys_to_pfn_t(phys, PFN_DEV|PFN_MAP): device memory with struct pages.
        bindings::pfn_t { val: pfn | bindings::RLN_DAX_PFN_DEV as u64 | bindings::RLN_DAX_PFN_MAP as u64 }
    }

    /// `dax_set_mapping`'s walk: pages `0 .. nr_pages` of `pages` (at most
    /// all of them) get, on their head page, the file's mapping and
    /// `index + i`, unless the head has a mapping already.
    #[inline(always)]
    pub fn set_mapping(&self, pages: &DevPfns<'_>, nr_pages: u64, index: u64) {
        let nr_pages = nr_pages.min(pages.count());
        // SAFETY: the fault holds the VMA, whose file (ours) is live with
        // its mapping.
        let mapping = unsafe { (*(*self.vma().raw()).vm_file).f_mapping };
        for i in 0..nr_pages {
            // SAFETY: page `i` of `pages` has a struct page that stays
            // mapped for the token's life (`DevPfns` invariant: checked
            // under the read lock `kill_dev_dax` waits for before the
            // unbind unmaps the pages).
            unsafe { page_set_mapping(pages.pfn + i, mapping, index.wrapping_add(i)) }
        }
    }

    /// Inserts `pages` as the fault's entry, by their size: a PTE at the
    /// fault address (`vmf_insert_mixed`), or a PMD or PUD entry over the
    /// fault's aligned block (`vmf_insert_pfn_pmd`, `vmf_insert_pfn_pud`;
    /// `write` makes it writable and dirty).
    #[inline(always)]
    pub fn insert(&self, pages: DevPfns<'_>, write: bool) -> VmFault {
        use crate::formats::devdax::{PMD_ORDER, PUD_ORDER};
        let pfn = Self::pfn_t(pages.pfn);
        // SAFETY: `pages` is device memory with struct pages, mapped while
        // the token lives and aligned to the entry (`DevPfns` invariant);
        // the VMA, address and vm_fault are the fault's.
        VmFault(unsafe {
            match pages.order {
                PMD_ORDER => bindings::vmf_insert_pfn_pmd(self.vmf, pfn, write),
                PUD_ORDER => bindings::vmf_insert_pfn_pud(self.vmf, pfn, write),
                _ => bindings::vmf_insert_mixed(self.vma().raw(), self.address(), pfn),
            }
        })
    }
}

/// The geometry of a `get_unmapped_area` request.
pub struct AreaRequest {
    file: *mut bindings::file,
    /// The hint (`addr`).
    pub addr: u64,
    /// The length.
    pub len: u64,
    /// The file page offset.
    pub pgoff: u64,
    flags: c_ulong,
}

impl AreaRequest {
    /// `mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags)`
    /// with this request's hint, offset and flags and length `len`.
    pub fn mm_get_unmapped_area(&self, len: u64) -> u64 {
        // SAFETY: the file is the one being mapped, live for the call.
        unsafe { bindings::rln_dax_get_unmapped_area(self.file, self.addr, len, self.pgoff, self.flags) }
    }
}

/// What /dev/daxX.Y does beyond opening and closing (which the glue does
/// as C's `dax_open`/`dax_release`: the file shares the dax inode's
/// mapping, whose host is S_DAX).
pub trait DaxFile: 'static {
    /// `mmap`: accept `vma` or say why not; on success the glue installs
    /// the VM operations below.
    fn mmap(dev: &DevDax, vma: &VmaNew<'_>) -> Result;
    /// `get_unmapped_area`; `dev` is `None` for a file without a dev_dax.
    fn get_unmapped_area(dev: Option<&DevDax>, req: &AreaRequest) -> u64;
    /// `fault`: a PTE-sized fault (order 0).
    fn fault(dev: &DevDax, vmf: &Fault<'_>) -> VmFault;
    /// `huge_fault` of `order` (PMD_ORDER or PUD_ORDER from the core).
    fn huge_fault(dev: &DevDax, vmf: &Fault<'_>, order: u32) -> VmFault;
    /// `may_split`: may `vma` be split at `addr`?
    fn may_split(dev: &DevDax, vma: &Vma, addr: u64) -> Result;
    /// `pagesize`: the page size smaps reports for `vma`.
    fn pagesize(dev: &DevDax, vma: &Vma) -> u64;
}

/// The file, VM and address-space operations of a dev_dax's char device,
/// defined as a static and handed to [`DaxDriver::register`] (which sets
/// its owner) and [`ProbingDevDax::add_cdev`].
#[repr(C)]
pub struct DaxFileOps<F: DaxFile> {
    /// First field: a file's `f_op` points here, and finds the rest.
    fops: UnsafeCell<bindings::file_operations>,
    vm_ops: bindings::vm_operations_struct,
    aops: bindings::address_space_operations,
    /// 0: no owner yet; 1: being set; 2: ready.
    state: AtomicU8,
    _f: PhantomData<F>,
}

// SAFETY: `fops` is written once in `set_owner` (state 1, exclusive)
// before any cdev uses it (state 2 checked by `get`); the rest is constant.
unsafe impl<F: DaxFile> Sync for DaxFileOps<F> {}

impl<F: DaxFile> DaxFileOps<F> {
    /// The tables of `F`, not usable before `set_owner`.
    pub const fn new() -> Self {
        Self {
            fops: UnsafeCell::new(bindings::file_operations {
                llseek: Some(bindings::noop_llseek),
                open: Some(open_raw::<F>),
                release: Some(release_raw),
                get_unmapped_area: Some(get_unmapped_area_raw::<F>),
                mmap: Some(mmap_raw::<F>),
                fop_flags: bindings::RLN_DAX_FOP_MMAP_SYNC as _,
                // SAFETY: every other operation is optional; the owner is
                // set by `set_owner`.
                ..unsafe { core::mem::zeroed() }
            }),
            vm_ops: bindings::vm_operations_struct {
                fault: Some(fault_raw::<F>),
                huge_fault: Some(huge_fault_raw::<F>),
                may_split: Some(may_split_raw::<F>),
                pagesize: Some(pagesize_raw::<F>),
                // SAFETY: the others are optional.
                ..unsafe { core::mem::zeroed() }
            },
            aops: bindings::address_space_operations {
                dirty_folio: Some(bindings::noop_dirty_folio),
                // SAFETY: the others are optional.
                ..unsafe { core::mem::zeroed() }
            },
            state: AtomicU8::new(0),
            _f: PhantomData,
        }
    }

    fn set_owner(&'static self, module: &'static ThisModule) -> Result {
        self.state.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).map_err(|_| EBUSY)?;
        // SAFETY: state 1 excludes every other writer and reader.
        unsafe { (*self.fops.get()).owner = module.as_ptr().cast() };
        self.state.store(2, Ordering::Release);
        Ok(())
    }

    fn get(&'static self) -> Result<*const bindings::file_operations> {
        if self.state.load(Ordering::Acquire) != 2 {
            return Err(EINVAL);
        }
        Ok(self.fops.get())
    }

    /// The tables of the file `file`.
    ///
    /// # Safety
    ///
    /// `file` was opened through `self.fops` (its `f_op`).
    unsafe fn of_file<'a>(file: *mut bindings::file) -> &'a Self {
        // SAFETY: `fops` is the first field of this `#[repr(C)]` static
        // (the caller's contract), and `UnsafeCell` keeps its layout.
        unsafe { &*(*file).f_op.cast::<Self>() }
    }
}

/// `open`: C's `dax_open`.
///
/// # Safety
///
/// The VFS opens a live inode of a dax char device (its cdev ours) as `file`.
unsafe extern "C" fn open_raw<F: DaxFile>(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: the inode is a dax char device's: `inode_dax` finds its dax
    // device, whose inode and private dev_dax are live while the cdev is
    // (the open holds it). `of_file`: this file was opened through our fops.
    unsafe {
        let dax_dev = bindings::inode_dax(inode);
        let dax_inode = bindings::dax_inode(dax_dev);
        let dev_dax = bindings::dax_get_private(dax_dev);
        let aops: *const bindings::address_space_operations = &DaxFileOps::<F>::of_file(file).aops;
        let mapping = (*dax_inode).i_mapping;
        (*inode).i_mapping = mapping;
        (*mapping).host = dax_inode;
        (*mapping).a_ops = aops;
        (*file).f_mapping = mapping;
        (*file).f_wb_err = bindings::errseq_sample(addr_of_mut!((*mapping).wb_err));
        (*file).f_sb_err = bindings::errseq_sample(addr_of_mut!((*(*(*file).f_path.dentry).d_sb).s_wb_err));
        (*file).private_data = dev_dax;
        (*inode).i_flags = bindings::S_DAX;
    }
    0
}

/// `release`: nothing to undo (C's `dax_release`).
///
/// # Safety
///
/// Called by the VFS on the last close of one of our files.
unsafe extern "C" fn release_raw(_inode: *mut bindings::inode, _file: *mut bindings::file) -> c_int {
    0
}

/// `get_unmapped_area`.
///
/// # Safety
///
/// `file`, when not null, was opened by our `open`.
unsafe extern "C" fn get_unmapped_area_raw<F: DaxFile>(
    file: *mut bindings::file,
    addr: c_ulong,
    len: c_ulong,
    pgoff: c_ulong,
    flags: c_ulong,
) -> c_ulong {
    // SAFETY: our open set private_data to a dev_dax the open file keeps.
    let dev = unsafe { file.as_ref().and_then(|f| f.private_data.cast::<bindings::dev_dax>().as_mut()) };
    // SAFETY: as above.
    let dev = dev.map(|d| unsafe { DevDax::from_raw(d) });
    F::get_unmapped_area(dev, &AreaRequest { file, addr, len, pgoff, flags })
}

/// `mmap`.
///
/// # Safety
///
/// `file` was opened by our `open`; `vma` is the new VMA (mmap_lock held
/// for writing).
unsafe extern "C" fn mmap_raw<F: DaxFile>(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    // SAFETY: the caller's contract; private_data is our dev_dax.
    let (dev, v) = unsafe { (DevDax::from_raw((*file).private_data.cast()), Vma::from_raw(vma)) };
    match F::mmap(dev, &VmaNew(v)) {
        Ok(()) => {
            // SAFETY: `file` was opened through `DaxFileOps<F>`; its vm
            // operations are a static.
            unsafe { (*vma).vm_ops = &DaxFileOps::<F>::of_file(file).vm_ops };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `vm_operations_struct.fault`: a PTE-sized fault.
///
/// # Safety
///
/// The core calls it for a fault in a VMA our mmap set up.
unsafe extern "C" fn fault_raw<F: DaxFile>(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    let fault = Fault { vmf, _p: PhantomData };
    // SAFETY: the VMA maps one of our files.
    let dev = unsafe { fault.vma().dev_dax() };
    F::fault(dev, &fault).0
}

/// `vm_operations_struct.huge_fault`.
///
/// # Safety
///
/// The core calls it for a fault in a VMA our mmap set up.
unsafe extern "C" fn huge_fault_raw<F: DaxFile>(vmf: *mut bindings::vm_fault, order: c_uint) -> bindings::vm_fault_t {
    let fault = Fault { vmf, _p: PhantomData };
    // SAFETY: the VMA maps one of our files.
    let dev = unsafe { fault.vma().dev_dax() };
    F::huge_fault(dev, &fault, order).0
}

/// `vm_operations_struct.may_split`.
///
/// # Safety
///
/// The core calls it with mmap_lock held on a VMA our mmap set up.
unsafe extern "C" fn may_split_raw<F: DaxFile>(vma: *mut bindings::vm_area_struct, addr: c_ulong) -> c_int {
    // SAFETY: the caller's contract.
    let v = unsafe { Vma::from_raw(vma) };
    // SAFETY: the VMA maps one of our files.
    let dev = unsafe { v.dev_dax() };
    match F::may_split(dev, v, addr) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `vm_operations_struct.pagesize`.
///
/// # Safety
///
/// The core calls it on a VMA our mmap set up.
unsafe extern "C" fn pagesize_raw<F: DaxFile>(vma: *mut bindings::vm_area_struct) -> c_ulong {
    // SAFETY: the caller's contract.
    let v = unsafe { Vma::from_raw(vma) };
    // SAFETY: the VMA maps one of our files.
    let dev = unsafe { v.dev_dax() };
    F::pagesize(dev, v)
}
