// SPDX-License-Identifier: GPL-2.0
//! Persistent memory as a driver reaches it: the reserved physical range
//! ([`MemRegion`]), its kernel mapping ([`PmemMap`]: `memremap`, or
//! `memremap_pages` when it needs struct pages for fsdax, or an emulated
//! platform's own mapping), and the copies the I/O paths make: reads that
//! survive machine checks (`copy_mc_to_kernel`), writes that bypass the CPU
//! cache (`memcpy_flushcache`).

use core::ffi::c_void;
use core::ptr::NonNull;

use kernel::error::{from_err_ptr, Result};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;
use super::block::Segment;
use super::dax::DaxExtent;
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
#[derive(Clone, Copy)]
pub struct ProviderMap(NonNull<u8>);

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
        Ok(Self(NonNull::new(p).ok_or(EINVAL)?))
    }

    /// Wraps a provider's mapping.
    ///
    /// # Safety
    ///
    /// `base` maps the whole namespace it is reported for, and stays mapped
    /// while a driver is bound to that namespace.
    pub unsafe fn new(base: NonNull<u8>) -> Self {
        // INVARIANT: the caller guarantees the mapping.
        Self(base)
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }
}

/// Memory a provider backs a whole region with (emulated platforms).
///
/// # Invariants
///
/// `self.0` maps `self.1` bytes, valid until the provider unregisters its bus.
#[derive(Clone, Copy)]
pub struct ProviderMemory(NonNull<u8>, u64);

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
    /// `ptr` maps `len` bytes that stay valid while the region exists.
    pub unsafe fn new(ptr: NonNull<u8>, len: u64) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(ptr, len)
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.1
    }
}

// SAFETY: plain memory, see the type's invariant.
unsafe impl Send for ProviderMap {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderMap {}

enum Backing {
    /// `memremap`.
    Remapped,
    /// `memremap_pages`: ZONE_DEVICE pages for fsdax.
    Pages(Pin<KBox<Opaque<bindings::dev_pagemap>>>),
    /// The provider's mapping (vmalloc for emulated platforms).
    Provided { vmalloc: bool },
}

/// A kernel mapping of `[phys, phys + size)`.
pub struct PmemMap {
    base: NonNull<u8>,
    size: u64,
    phys: u64,
    backing: Backing,
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
        Ok(Self { base, size, phys, backing: Backing::Remapped })
    }

    /// `memremap_pages` as MEMORY_DEVICE_FS_DAX on `node`: the range
    /// `[phys, phys + size)` gets struct pages, which fsdax needs. With an
    /// `altmap` (a pfn device's `-M dev`) they are allocated from the
    /// range's own pages `altmap.reserve` pages after `altmap.base_pfn`, at
    /// most `altmap.free` of them; without, from RAM. Dropping the map
    /// (`memunmap_pages`) waits until every page reference is gone.
    pub fn with_pages(phys: u64, size: u64, node: i32, altmap: Option<&Altmap>) -> Result<Self> {
        if size == 0 {
            return Err(EINVAL);
        }
        let pgmap = KBox::pin_init(
            Opaque::ffi_init(|p: *mut bindings::dev_pagemap| {
                // SAFETY: `p` is valid for writes; a zeroed pagemap with a
                // type, one range and optionally an altmap is what
                // `memremap_pages` expects.
                unsafe {
                    p.write(core::mem::zeroed());
                    (*p).type_ = bindings::memory_type_MEMORY_DEVICE_FS_DAX;
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
            GFP_KERNEL,
        )?;
        // SAFETY: the pagemap is pinned and lives until `memunmap_pages`
        // in drop.
        let base = unsafe { bindings::memremap_pages(pgmap.get(), node) };
        // `memremap_pages` returns an address or an error pointer.
        let base = from_err_ptr(base)?;
        let base = NonNull::new(base.cast::<u8>()).ok_or(ENXIO)?;
        Ok(Self { base, size, phys, backing: Backing::Pages(pgmap) })
    }

    /// The provider's own mapping of the range.
    pub fn provided(map: ProviderMap, phys: u64, size: u64) -> Self {
        // SAFETY: a pure address query.
        let vmalloc = unsafe { bindings::rln_is_vmalloc_addr(map.0.as_ptr().cast()) };
        Self { base: map.0, size, phys, backing: Backing::Provided { vmalloc } }
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Physical start.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Whether the range has struct pages.
    pub fn has_pages(&self) -> bool {
        matches!(self.backing, Backing::Pages(_))
    }

    /// The address of `[off, off + len)`, if it lies inside the mapping.
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
    pub fn dax_extent(&self, off: u64) -> Result<DaxExtent> {
        let kaddr = self.at(off, 0)?.cast::<c_void>();
        let (pfn, pages) = match self.backing {
            // SAFETY: `kaddr` is inside the vmalloc mapping.
            Backing::Provided { vmalloc: true } => (unsafe { bindings::rln_vmalloc_to_pfn_t(kaddr) }, 1),
            // SAFETY: pure arithmetic on the address.
            _ => (unsafe { bindings::rln_phys_to_pfn_t(self.phys + off, self.has_pages()) }, i64::MAX),
        };
        Ok(DaxExtent { kaddr, pfn, pages })
    }
}

impl Drop for PmemMap {
    fn drop(&mut self) {
        match &self.backing {
            // SAFETY: mapped by `memremap` in `remap`.
            Backing::Remapped => unsafe { bindings::memunmap(self.base.as_ptr().cast()) },
            // SAFETY: mapped by `memremap_pages`; this waits for every page
            // reference (DAX mappings) to go before tearing the pages down.
            Backing::Pages(pgmap) => unsafe { bindings::memunmap_pages(pgmap.get()) },
            Backing::Provided { .. } => {}
        }
    }
}
