// SPDX-License-Identifier: GPL-2.0
//! Persistent memory as a driver reaches it: the reserved physical range
//! ([`MemRegion`]), its kernel mapping ([`PmemMap`]: `memremap`, or
//! `memremap_pages` when it needs struct pages for fsdax, or an emulated
//! platform's own mapping), and the copies the I/O paths make: reads that
//! survive machine checks (`copy_mc_to_kernel`), writes that bypass the CPU
//! cache (`memcpy_flushcache`).

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::error::{from_err_ptr, Result};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;
use super::block::Segment;
use super::dax::{device_pfn_t, DaxExtent, DaxRef};
use super::device::Device;
use crate::formats::pfn::Altmap;

/// `request_mem_region` of a physical range, named after a device;
/// released on drop.
pub struct MemRegion {
    start: u64,
    size: u64,
    /// The resource keeps the name pointer: hold its device.
    dev: NonNull<bindings::device>,
}

// SAFETY: the region is only released; the device reference is counted.
unsafe impl Send for MemRegion {}
// SAFETY: see `Send`.
unsafe impl Sync for MemRegion {}

impl MemRegion {
    /// Reserves `[start, start + size)` in iomem under `dev`'s name; EBUSY
    /// if any of it is taken.
    pub fn request(dev: &Device, start: u64, size: u64) -> Result<Self> {
        // SAFETY: `dev` is live; we keep a reference so its name outlives
        // the resource.
        let res = unsafe {
            bindings::get_device(dev.as_raw());
            bindings::rln_request_mem_region(start, size, bindings::rln_dev_name(dev.as_raw()))
        };
        let dev = NonNull::new(dev.as_raw()).ok_or(EINVAL)?;
        if res.is_null() {
            // SAFETY: the reference taken above.
            unsafe { bindings::put_device(dev.as_ptr()) };
            return Err(EBUSY);
        }
        Ok(Self { start, size, dev })
    }
}

impl Drop for MemRegion {
    fn drop(&mut self) {
        // SAFETY: requested in `request`; then the name's device is released.
        unsafe {
            bindings::rln_release_mem_region(self.start, self.size);
            bindings::put_device(self.dev.as_ptr());
        }
    }
}

/// An emulated platform's kernel mapping of a namespace, from
/// `abi::namespace::NamespaceInfo`; libnvdimm guarantees it covers
/// the namespace while the driver is bound.
///
/// # Invariants
///
/// `base` maps the namespace; `backing_phys`, when known, is the physical
/// address of the memory at `base` (byte 0), which is physically
/// contiguous over the whole namespace.
#[derive(Clone, Copy)]
pub struct ProviderMap {
    base: NonNull<u8>,
    backing_phys: Option<u64>,
}

impl ProviderMap {
    /// The part of a region's provider memory at `offset`, for a
    /// namespace that starts there.
    pub fn in_region(mem: &ProviderMemory, offset: u64) -> Result<Self> {
        if offset >= mem.len() {
            return Err(EINVAL);
        }
        // SAFETY: the provider memory maps `mem.len()` bytes (the whole
        // region), so `offset` lands inside it.
        let p = unsafe { mem.as_ptr().add(offset as usize) };
        // INVARIANT: `mem`'s backing is contiguous, so byte `offset` of it
        // is at `offset` from its physical start.
        Ok(Self { base: NonNull::new(p).ok_or(EINVAL)?, backing_phys: mem.backing_phys().map(|b| b + offset) })
    }

    /// Wraps a provider's mapping.
    ///
    /// # Safety
    ///
    /// `base` maps the whole namespace it is reported for, and stays mapped
    /// while a driver is bound to that namespace; `backing_phys`, if given,
    /// is the physical address of byte 0 of that memory, contiguous over
    /// the namespace.
    pub unsafe fn new(base: NonNull<u8>, backing_phys: Option<u64>) -> Self {
        // INVARIANT: the caller guarantees the mapping and its address.
        Self { base, backing_phys }
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The physical address of byte 0 of the mapping, when the provider
    /// backs it with physical memory (nfit_test over a `memmap=nn!ss`
    /// reservation); `None` for vmalloc memory. It differs from the
    /// namespace's system physical address, which the platform emulates.
    pub fn backing_phys(&self) -> Option<u64> {
        self.backing_phys
    }
}

/// Memory a provider backs a whole region with (emulated platforms).
///
/// # Invariants
///
/// `ptr` maps `len` bytes, valid until the provider unregisters its bus;
/// `backing_phys`, when known, is the physical address of byte 0, and the
/// `len` bytes are physically contiguous from there.
#[derive(Clone, Copy)]
pub struct ProviderMemory {
    ptr: NonNull<u8>,
    len: u64,
    backing_phys: Option<u64>,
}

// SAFETY: plain memory, valid while the bus is registered; users
// synchronise access to its contents themselves (it is storage).
unsafe impl Send for ProviderMemory {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderMemory {}

impl ProviderMemory {
    /// Wraps a provider's mapping of a region.
    ///
    /// # Safety
    ///
    /// `ptr` maps `len` bytes that stay valid while the region exists;
    /// `backing_phys`, if given, is the physical address of byte 0 and the
    /// bytes are physically contiguous.
    pub unsafe fn new(ptr: NonNull<u8>, len: u64, backing_phys: Option<u64>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { ptr, len, backing_phys }
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The physical address of byte 0, if the memory is physical
    /// ([`ProviderMap::backing_phys`]).
    pub fn backing_phys(&self) -> Option<u64> {
        self.backing_phys
    }
}

/// Part of a physical range that the kernel left out of System RAM at boot
/// as legacy persistent memory (`memmap=nn!ss`: an e820 type-12 range,
/// "Persistent Memory (legacy)" in /proc/iomem), requested under a device's
/// name and mapped write-back. An emulated platform (nfit_test) backs its
/// ranges with it, so that they have real physical addresses that
/// `memremap_pages` can give struct pages.
///
/// # Invariants
///
/// `base` is `memremap(phys, len, MEMREMAP_WB)`, unmapped on drop; the
/// range is requested (`region`) for as long.
pub struct ReservedMemory {
    base: NonNull<u8>,
    phys: u64,
    len: u64,
    _region: MemRegion,
}

// SAFETY: plain memory; users synchronise access to its contents (storage).
unsafe impl Send for ReservedMemory {}
// SAFETY: see `Send`.
unsafe impl Sync for ReservedMemory {}

impl ReservedMemory {
    /// The first legacy persistent memory range (`memmap=nn!ss`) in iomem,
    /// as `(start, length)`; `None` without one.
    pub fn find_legacy() -> Option<(u64, u64)> {
        let ranges = super::e820::legacy_pmem_ranges().ok()?;
        ranges.first().map(|r| (r.start, r.len))
    }

    /// Requests `[phys, phys + len)` under `dev`'s name (EBUSY if any of it
    /// is taken), maps it write-back and zeroes it, as a fresh buffer.
    /// The caller names a range that [`ReservedMemory::find_legacy`] found.
    pub fn take(dev: &Device, phys: u64, len: u64) -> Result<Self> {
        let size = usize::try_from(len).map_err(|_| EINVAL)?;
        if size == 0 {
            return Err(EINVAL);
        }
        let region = MemRegion::request(dev, phys, len)?;
        // SAFETY: maps the range just requested, outside System RAM;
        // unmapped on drop.
        let base = unsafe { bindings::memremap(phys, size, bindings::MEMREMAP_WB as _) };
        let base = NonNull::new(base.cast::<u8>()).ok_or(ENOMEM)?;
        // SAFETY: `base` maps `size` writable bytes that nobody else uses
        // yet (the range is requested for us).
        unsafe { core::ptr::write_bytes(base.as_ptr(), 0, size) };
        // INVARIANT: mapped and requested above.
        Ok(Self { base, phys, len, _region: region })
    }

    /// The start of the mapping.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The physical address of byte 0.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for ReservedMemory {
    fn drop(&mut self) {
        // SAFETY: mapped by `memremap` in `take`; the request is released
        // after this, when `_region` drops.
        unsafe { bindings::memunmap(self.base.as_ptr().cast()) };
    }
}

// SAFETY: plain memory, see the type's invariant.
unsafe impl Send for ProviderMap {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderMap {}

/// A pagemap of [`PmemMap::with_pages`] and where its memory failures go.
#[repr(C)]
#[pin_data]
struct PageMap {
    /// First field: the ops find the `PageMap` from the pagemap.
    #[pin]
    pgmap: Opaque<bindings::dev_pagemap>,
    /// Physical address of the disk's byte 0.
    data_phys: u64,
    /// The DAX device failures go to, counted (`DaxRef::into_raw`); null
    /// until [`PmemMap::report_failures_to`].
    dax: AtomicPtr<bindings::dax_device>,
}

static FSDAX_PAGEMAP_OPS: bindings::dev_pagemap_ops = bindings::dev_pagemap_ops {
    page_free: None,
    migrate_to_ram: None,
    memory_failure: Some(fsdax_memory_failure),
};

/// `memory_failure` of a [`PageMap`] (C: `pmem_pagemap_memory_failure`):
/// `nr_pages` from `pfn` are poisoned; the DAX device's holder hears of it
/// at the disk offset. EOPNOTSUPP before a DAX device is named, which sends
/// the kernel to its generic handling, as a holder without
/// `notify_failure` does.
///
/// # Safety
///
/// The kernel passes a pagemap that [`PmemMap::with_pages`] mapped, inside
/// a live `PageMap` (it holds a pagemap reference while calling, so
/// `memunmap_pages`, and the drop, wait for it).
unsafe extern "C" fn fsdax_memory_failure(
    pgmap: *mut bindings::dev_pagemap,
    pfn: core::ffi::c_ulong,
    nr_pages: core::ffi::c_ulong,
    mf_flags: core::ffi::c_int,
) -> core::ffi::c_int {
    // SAFETY: by the function's safety contract, `pgmap` is the first field
    // of a live `repr(C)` `PageMap`.
    let pm = unsafe { &*pgmap.cast::<PageMap>() };
    let dax = pm.dax.load(Ordering::Acquire);
    if dax.is_null() {
        return -(bindings::EOPNOTSUPP as core::ffi::c_int);
    }
    let shift = kernel::page::PAGE_SHIFT as u32;
    // As C, a page before the data (the memmap) wraps to a huge offset,
    // which no holder maps.
    let off = ((pfn as u64) << shift).wrapping_sub(pm.data_phys);
    // SAFETY: `dax` holds a counted reference until the drop, after
    // `memunmap_pages`; the call checks `dax_alive` under its read lock.
    unsafe { bindings::dax_holder_notify_failure(dax, off, (nr_pages as u64) << shift, mf_flags) }
}

enum Backing {
    /// `memremap`.
    Remapped,
    /// `memremap_pages`: ZONE_DEVICE pages for fsdax.
    Pages(Pin<KBox<PageMap>>),
    /// The provider's mapping: vmalloc, or physical memory at
    /// `backing_phys` ([`ProviderMap::backing_phys`]).
    Provided { vmalloc: bool, backing_phys: Option<u64> },
}

/// A kernel mapping of `[phys, phys + size)`.
pub struct PmemMap {
    base: NonNull<u8>,
    size: u64,
    phys: u64,
    backing: Backing,
    /// What DAX hands out for byte 0, decided once from the backing (a DAX
    /// access, once per read, write or fault, then only adds).
    dax: DaxPfns,
}

/// How byte `off` of a map becomes a pfn for DAX: the page frame of
/// `phys + off` (device memory; with struct pages when `has_pages`), or,
/// for a vmalloc mapping, the frame of the page that backs it.
#[derive(Clone, Copy)]
struct DaxPfns {
    phys: u64,
    has_pages: bool,
    vmalloc: bool,
}

impl DaxPfns {
    fn of(phys: u64, backing: &Backing) -> Self {
        match *backing {
            Backing::Provided { vmalloc: true, .. } => Self { phys: 0, has_pages: false, vmalloc: true },
            Backing::Provided { backing_phys: Some(p), .. } => Self { phys: p, has_pages: false, vmalloc: false },
            Backing::Pages(_) => Self { phys, has_pages: true, vmalloc: false },
            _ => Self { phys, has_pages: false, vmalloc: false },
        }
    }
}

// SAFETY: the mapping is plain memory shared by design (the block layer
// orders conflicting I/O); the pagemap is only touched at setup/teardown.
unsafe impl Send for PmemMap {}
// SAFETY: see `Send`.
unsafe impl Sync for PmemMap {}

impl PmemMap {
    /// `memremap(phys, size, ARCH_MEMREMAP_PMEM)`; ENXIO if it fails, as
    /// `devm_memremap` answers.
    pub fn remap(phys: u64, size: u64) -> Result<Self> {
        let len = usize::try_from(size).map_err(|_| EINVAL)?;
        // SAFETY: maps a physical range the caller reserved; unmapped on drop.
        let base = unsafe { bindings::memremap(phys, len, bindings::RLN_ARCH_MEMREMAP_PMEM as _) };
        let base = NonNull::new(base.cast::<u8>()).ok_or(ENXIO)?;
        let backing = Backing::Remapped;
        Ok(Self { base, size, phys, dax: DaxPfns::of(phys, &backing), backing })
    }

    /// `memremap_pages` as MEMORY_DEVICE_FS_DAX on `node`: the range
    /// `[phys, phys + size)` gets struct pages, which fsdax needs. With an
    /// `altmap` (a pfn device's `-M dev`) they are allocated from the
    /// range's own pages `altmap.reserve` pages after `altmap.base_pfn`, at
    /// most `altmap.free` of them; without, from RAM. The disk's byte 0 is
    /// `data_offset` bytes into the range: memory failures in the pages are
    /// reported at their offset from there (C's `fsdax_pagemap_ops`), once
    /// [`PmemMap::report_failures_to`] names the DAX device. Dropping the
    /// map (`memunmap_pages`) waits until every page reference is gone.
    pub fn with_pages(phys: u64, size: u64, node: i32, altmap: Option<&Altmap>, data_offset: u64) -> Result<Self> {
        if size == 0 || data_offset >= size {
            return Err(EINVAL);
        }
        let pgmap = KBox::pin_init(
            pin_init!(PageMap {
                pgmap <- Opaque::ffi_init(|p: *mut bindings::dev_pagemap| {
                    // SAFETY: `p` is valid for writes; a zeroed pagemap with a
                    // type, one range, the failure ops and optionally an
                    // altmap is what `memremap_pages` expects.
                    unsafe {
                        p.write(core::mem::zeroed());
                        (*p).type_ = bindings::memory_type_MEMORY_DEVICE_FS_DAX;
                        (*p).ops = &FSDAX_PAGEMAP_OPS;
                        (*p).nr_range = 1;
                        let r = (*p).__bindgen_anon_1.range.as_mut();
                        r.start = phys;
                        r.end = phys + size - 1;
                        if let Some(a) = altmap {
                            // The rest (align, alloc, ...) stays zero.
                            let m = &mut (*p).altmap;
                            m.base_pfn = a.base_pfn as _;
                            m.end_pfn = a.end_pfn as _;
                            m.reserve = a.reserve as _;
                            m.free = a.free as _;
                            (*p).flags |= bindings::RLN_PGMAP_ALTMAP_VALID as u32;
                        }
                    }
                }),
                data_phys: phys + data_offset,
                dax: AtomicPtr::new(core::ptr::null_mut()),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the pagemap is pinned and lives until `memunmap_pages`
        // in drop; its ops find the `PageMap` around it (first field of a
        // `repr(C)` struct).
        let base = unsafe { bindings::memremap_pages(pgmap.pgmap.get(), node) };
        // `memremap_pages` returns an address or an error pointer.
        let base = from_err_ptr(base)?;
        let base = NonNull::new(base.cast::<u8>()).ok_or(ENXIO)?;
        let backing = Backing::Pages(pgmap);
        Ok(Self { base, size, phys, dax: DaxPfns::of(phys, &backing), backing })
    }

    /// From now on, memory failures in the map's pages go to `dax`'s holder
    /// (`dax_holder_notify_failure`: a file system mounted with `-o dax`
    /// kills the tasks that map the file). Until then, and on maps without
    /// struct pages, the kernel's generic handling applies. Only the first
    /// call counts.
    pub fn report_failures_to(&self, dax: DaxRef) {
        let Backing::Pages(pm) = &self.backing else {
            return;
        };
        let raw = dax.into_raw();
        if pm.dax.compare_exchange(core::ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire).is_err() {
            if let Some(p) = NonNull::new(raw) {
                // SAFETY: `raw` came from `into_raw` just above and was not
                // stored.
                drop(unsafe { DaxRef::from_raw(p) });
            }
        }
    }

    /// The provider's own mapping of the range.
    pub fn provided(map: ProviderMap, phys: u64, size: u64) -> Self {
        let backing_phys = map.backing_phys();
        // SAFETY: a pure address query.
        let vmalloc = backing_phys.is_none() && unsafe { bindings::rln_is_vmalloc_addr(map.as_ptr().cast()) };
        let backing = Backing::Provided { vmalloc, backing_phys };
        Self { base: map.base, size, phys, dax: DaxPfns::of(phys, &backing), backing }
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Physical start.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// The physical address of the memory behind byte 0: [`PmemMap::phys`],
    /// or for a provider's mapping its [`ProviderMap::backing_phys`].
    pub fn backing_phys(&self) -> Option<u64> {
        match self.backing {
            Backing::Provided { backing_phys, .. } => backing_phys,
            _ => Some(self.phys),
        }
    }

    /// Whether the range has struct pages.
    pub fn has_pages(&self) -> bool {
        matches!(self.backing, Backing::Pages(_))
    }

    /// The address of `[off, off + len)`, if it lies inside the mapping.
    #[inline]
    fn at(&self, off: u64, len: usize) -> Result<*mut u8> {
        match off.checked_add(len as u64) {
            Some(end) if end <= self.size => {
                // SAFETY: `off < size` (or `len == 0` at the end), inside the mapping.
                Ok(unsafe { self.base.as_ptr().add(off as usize) })
            }
            _ => Err(EIO),
        }
    }

    /// Copies `[off, off + seg.len())` into `seg` with a machine-check-safe
    /// copy; EIO if the media poisoned any of it.
    pub fn read_into(&self, off: u64, seg: &mut Segment<'_>) -> Result {
        let src = self.at(off, seg.len)?;
        let len = u32::try_from(seg.len).map_err(|_| EIO)?;
        // SAFETY: `src` has `len` mapped bytes (`at`); the segment's memory
        // is the bio's, writable by its driver until the bio completes.
        let left = unsafe { bindings::copy_mc_to_kernel(seg.addr.as_ptr().cast(), src.cast(), len) };
        if left != 0 {
            return Err(EIO);
        }
        Ok(())
    }

    /// Writes `seg` at `off`, bypassing the CPU cache (`memcpy_flushcache`).
    pub fn write_from(&self, off: u64, seg: &Segment<'_>) -> Result {
        let dst = self.at(off, seg.len)?;
        // SAFETY: `dst` has `seg.len` mapped bytes; the segment is readable.
        unsafe { bindings::__memcpy_flushcache(dst.cast(), seg.addr.as_ptr().cast(), seg.len) };
        Ok(())
    }

    /// Copies `[off, off + buf.len())` into `buf` with a machine-check-safe
    /// copy; EIO if the media poisoned any of it or the range is outside.
    pub fn read_bytes(&self, off: u64, buf: &mut [u8]) -> Result {
        let src = self.at(off, buf.len())?;
        let len = u32::try_from(buf.len()).map_err(|_| EIO)?;
        // SAFETY: `src` has `len` mapped bytes (`at`); `buf` is writable.
        let left = unsafe { bindings::copy_mc_to_kernel(buf.as_mut_ptr().cast(), src.cast(), len) };
        if left != 0 {
            return Err(EIO);
        }
        Ok(())
    }

    /// Writes `buf` at `off`, bypassing the CPU cache (`memcpy_flushcache`).
    pub fn write_bytes(&self, off: u64, buf: &[u8]) -> Result {
        let dst = self.at(off, buf.len())?;
        // SAFETY: `dst` has `buf.len()` mapped bytes; `buf` is readable.
        unsafe { bindings::__memcpy_flushcache(dst.cast(), buf.as_ptr().cast(), buf.len()) };
        Ok(())
    }

    /// Writes `len` zero bytes at `off`, bypassing the CPU cache.
    pub fn write_zeroes(&self, off: u64, len: u64) -> Result {
        let page = kernel::page::PAGE_SIZE as u64;
        self.at(off, usize::try_from(len).map_err(|_| EIO)?)?;
        // SAFETY: the zero page is a permanent, readable page.
        let zero = unsafe { bindings::rln_zero_page_address() };
        let mut done = 0;
        while done < len {
            let n = (len - done).min(page);
            let dst = self.at(off + done, n as usize)?;
            // SAFETY: `dst` has `n <= PAGE_SIZE` mapped bytes; the zero page
            // has PAGE_SIZE.
            unsafe { bindings::__memcpy_flushcache(dst.cast(), zero, n as usize) };
            done += n;
        }
        Ok(())
    }

    /// Drops cached lines of `[off, off + len)` (`arch_invalidate_pmem`),
    /// after the platform cleared poison under them.
    pub fn invalidate(&self, off: u64, len: u64) -> Result {
        let p = self.at(off, usize::try_from(len).map_err(|_| EIO)?)?;
        // SAFETY: `p` has `len` mapped bytes.
        unsafe { bindings::arch_invalidate_pmem(p.cast(), len as usize) };
        Ok(())
    }

    /// The DAX view of byte `off`: kernel address and pfn, and how many
    /// pages are contiguous from there (one for a vmalloc mapping, whose
    /// pages are scattered; unbounded otherwise, for the caller to limit
    /// with [`DaxExtent::with_pages`]).
    #[inline]
    pub fn dax_extent(&self, off: u64) -> Result<DaxExtent> {
        let kaddr = self.at(off, 0)?.cast::<c_void>();
        let d = self.dax;
        if d.vmalloc {
            // SAFETY: `kaddr` is inside the vmalloc mapping.
            return Ok(DaxExtent { kaddr, pfn: unsafe { bindings::rln_vmalloc_to_pfn_t(kaddr) }, pages: 1 });
        }
        // `off <= size` (`at`), and the range fits the physical space.
        let pfn = device_pfn_t(pfn_of(d.phys.wrapping_add(off)), d.has_pages);
        Ok(DaxExtent { kaddr, pfn, pages: i64::MAX })
    }
}

/// The page frame of a physical address (`PHYS_PFN`).
#[inline(always)]
fn pfn_of(phys: u64) -> u64 {
    phys >> kernel::page::PAGE_SHIFT
}

impl Drop for PmemMap {
    fn drop(&mut self) {
        match &self.backing {
            // SAFETY: mapped by `memremap` in `remap`.
            Backing::Remapped => unsafe { bindings::memunmap(self.base.as_ptr().cast()) },
            Backing::Pages(pm) => {
                // SAFETY: mapped by `memremap_pages`; this waits for every
                // page reference (DAX mappings) and pagemap reference (a
                // memory failure being reported) to go before tearing the
                // pages down.
                unsafe { bindings::memunmap_pages(pm.pgmap.get()) };
                if let Some(p) = NonNull::new(pm.dax.swap(core::ptr::null_mut(), Ordering::AcqRel)) {
                    // SAFETY: stored by `report_failures_to` from
                    // `DaxRef::into_raw`; no failure can read it any more.
                    drop(unsafe { DaxRef::from_raw(p) });
                }
            }
            Backing::Provided { .. } => {}
        }
    }
}
