// SPDX-License-Identifier: GPL-2.0
//! DAX for block devices: the `dax_device` of a disk (`alloc_dax` with a
//! driver's [`DaxOps`]), its flags, and the disk's `dax/write_cache` file.
//!
//! The device is created and torn down by [`super::block::Disk`], which
//! orders it with the disk's own lifetime.

use core::ffi::{c_int, c_long, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::error::{from_err_ptr, to_result, Result};
use kernel::prelude::*;

use super::bindings;
use super::block::{DiskData, DiskOps};
use super::device::Device;
use super::sysfs::{Attribute, FromDevice, Lookup, Page};
use crate::{attribute_group, group_list};

/// How DAX reaches the memory (`enum dax_access_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaxAccess {
    /// Normal access: poisoned ranges fail.
    Access,
    /// A recovery write is about to overwrite poison.
    RecoveryWrite,
}

/// The pfn_t of device memory, as `phys_to_pfn_t(PFN_PHYS(pfn), PFN_DEV)`
/// makes it, with `PFN_MAP` when the range has struct pages. The flags are
/// bits above any pfn, so it is computed here rather than by a call into C
/// on every DAX access or fault.
#[inline(always)]
pub(crate) fn device_pfn_t(pfn: u64, has_pages: bool) -> bindings::pfn_t {
    let map = if has_pages { bindings::RLN_DAX_PFN_MAP as u64 } else { 0 };
    bindings::pfn_t { val: pfn | bindings::RLN_DAX_PFN_DEV as u64 | map }
}

/// What `direct_access` hands back: a kernel address and pfn for the
/// start, and how many pages are usable from there. Built by the mapping
/// that owns the memory (`PmemMap::dax_extent`).
pub struct DaxExtent {
    pub(super) kaddr: *mut c_void,
    pub(super) pfn: bindings::pfn_t,
    pub(super) pages: i64,
}

impl DaxExtent {
    /// Pages available at the address.
    pub fn pages(&self) -> i64 {
        self.pages
    }

    /// The same start with `pages` available (never more than the mapping
    /// allowed).
    pub fn with_pages(self, pages: i64) -> Self {
        Self { pages: pages.min(self.pages), ..self }
    }
}

/// The data of a recovery write (`recovery_write`): `bytes` from an
/// iov_iter to the kernel address a previous `direct_access` returned.
pub struct RecoveryWrite<'a> {
    addr: NonNull<c_void>,
    bytes: usize,
    iter: NonNull<bindings::iov_iter>,
    _p: core::marker::PhantomData<&'a mut bindings::iov_iter>,
}

impl RecoveryWrite<'_> {
    /// Offset of the destination within its page.
    pub fn page_offset(&self) -> usize {
        self.addr.as_ptr() as usize & (kernel::page::PAGE_SIZE - 1)
    }

    /// Bytes to write.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Copies the data around the CPU cache (`_copy_from_iter_flushcache`);
    /// returns the bytes copied.
    pub fn copy(self) -> usize {
        // SAFETY: the dax core passes an address it got from our
        // `direct_access` with room for `bytes`, and a live iterator.
        unsafe { bindings::_copy_from_iter_flushcache(self.addr.as_ptr(), self.bytes, self.iter.as_ptr()) }
    }
}

/// What a DAX-capable disk's driver does, on its per-disk state.
pub trait DaxOps: DiskOps {
    /// Translates page `pgoff` to a kernel address and pfn; how many of
    /// `nr_pages` pages are usable in `mode`.
    fn direct_access(&self, pgoff: u64, nr_pages: i64, mode: DaxAccess) -> Result<DaxExtent>;
    /// Zeroes `nr_pages` pages at `pgoff`, durably.
    fn zero_page_range(&self, pgoff: u64, nr_pages: u64) -> Result;
    /// Clears poison under page `pgoff` and writes `w`; bytes written.
    fn recovery_write(&self, pgoff: u64, w: RecoveryWrite<'_>) -> usize;
}

/// The DAX flags C's pmem sets.
pub struct DaxSettings {
    /// `set_dax_nocache`: writes go around the CPU cache.
    pub nocache: bool,
    /// `set_dax_nomc`: reads need no machine-check-safe copies.
    pub nomc: bool,
    /// `set_dax_synchronous`: MAP_SYNC is allowed.
    pub synchronous: bool,
    /// `dax_write_cache`: the CPU cache must be flushed for persistence.
    pub write_cache: bool,
}

/// A disk's `dax_device`, killed and put on drop.
pub(super) struct DaxDevice(NonNull<bindings::dax_device>);

pub(super) fn alloc<T: DaxOps>(private: *mut c_void) -> Result<DaxDevice> {
    // SAFETY: `private` is the disk's pinned `DiskData<T>`, which outlives
    // the device's use (`Disk` kills the device before dropping it); the
    // ops table is a promoted constant.
    let raw = unsafe { bindings::alloc_dax(private, &Vtable::<T>::OPS) };
    // `alloc_dax` returns a device or an error pointer.
    let raw = from_err_ptr(raw)?;
    Ok(DaxDevice(NonNull::new(raw).ok_or(ENOMEM)?))
}

impl DaxDevice {
    pub(super) fn apply(&self, s: &DaxSettings) {
        let d = self.0.as_ptr();
        // SAFETY: the device is live; these set flag bits.
        unsafe {
            if s.nocache {
                bindings::set_dax_nocache(d);
            }
            if s.nomc {
                bindings::set_dax_nomc(d);
            }
            if s.synchronous {
                bindings::set_dax_synchronous(d);
            }
            bindings::dax_write_cache(d, s.write_cache);
        }
    }

    pub(super) fn add_host(&self, disk: *mut bindings::gendisk) -> Result {
        // SAFETY: both are live; `remove_host` undoes it before either goes.
        to_result(unsafe { bindings::dax_add_host(self.0.as_ptr(), disk) })
    }

    pub(super) fn remove_host(&self, disk: *mut bindings::gendisk) {
        // SAFETY: `disk` was added by `add_host`.
        unsafe { bindings::dax_remove_host(disk) }
    }

    /// `kill_dax`: the holder is told (`MF_MEM_PRE_REMOVE`), DAX
    /// operations in flight finish and new ones fail. Drop kills again,
    /// which then only waits for an SRCU grace period.
    pub(super) fn kill(&self) {
        // SAFETY: the device is live (we hold the reference from
        // `alloc_dax`); killing it twice is allowed.
        unsafe { bindings::kill_dax(self.0.as_ptr()) }
    }
}

impl DaxDevice {
    /// A second, counted reference to the device, for a holder that may
    /// outlive the disk's own (the pagemap that reports memory failures).
    pub(super) fn counted(&self) -> Option<DaxRef> {
        // SAFETY: the device is live; `igrab` takes a reference on its
        // inode, which `put_dax` (an `iput`) gives back in `DaxRef::drop`.
        let inode = unsafe { bindings::igrab(bindings::dax_inode(self.0.as_ptr())) };
        if inode.is_null() {
            return None;
        }
        // INVARIANT: `DaxRef` holds the reference just taken.
        Some(DaxRef(self.0))
    }
}

/// A counted reference to a `dax_device` (its inode), put on drop. It
/// keeps the memory valid; whether the device is still alive is for
/// `dax_alive` under `dax_read_lock` (every kernel entry point checks).
///
/// # Invariants
///
/// The pointer is a `dax_device` on which this value holds one reference.
pub struct DaxRef(NonNull<bindings::dax_device>);

// SAFETY: a counted pointer; the kernel's dax calls synchronise themselves.
unsafe impl Send for DaxRef {}
// SAFETY: see `Send`.
unsafe impl Sync for DaxRef {}

impl DaxRef {
    pub(super) fn into_raw(self) -> *mut bindings::dax_device {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    /// # Safety
    ///
    /// `p` came from [`DaxRef::into_raw`] and is taken back once.
    pub(super) unsafe fn from_raw(p: NonNull<bindings::dax_device>) -> Self {
        // INVARIANT: the reference `into_raw` kept is handed back.
        Self(p)
    }
}

impl Drop for DaxRef {
    fn drop(&mut self) {
        // SAFETY: the type invariant: we hold one reference.
        unsafe { bindings::put_dax(self.0.as_ptr()) }
    }
}

impl Drop for DaxDevice {
    fn drop(&mut self) {
        // SAFETY: we own the reference from `alloc_dax`. `kill_dax` waits
        // for operations in flight and stops new ones.
        unsafe {
            bindings::kill_dax(self.0.as_ptr());
            bindings::put_dax(self.0.as_ptr());
        }
    }
}

/// The DAX device of a disk, at the start of every disk's private data,
/// for the `dax/write_cache` file.
#[repr(C)]
pub(super) struct DaxHeader {
    dax: AtomicPtr<bindings::dax_device>,
}

impl DaxHeader {
    pub(super) const fn new() -> Self {
        Self { dax: AtomicPtr::new(core::ptr::null_mut()) }
    }

    pub(super) fn set(&self, d: &DaxDevice) {
        self.dax.store(d.0.as_ptr(), Ordering::Release);
    }

    fn get(&self) -> Result<*mut bindings::dax_device> {
        let d = self.dax.load(Ordering::Acquire);
        if d.is_null() {
            return Err(ENXIO);
        }
        Ok(d)
    }
}

/// `EHWPOISON`: the access would touch memory known to be poisoned.
pub fn ehwpoison() -> Error {
    Error::from_errno(-(bindings::EHWPOISON as i32))
}

impl FromDevice for DaxHeader {
    type Lookup = DiskDax;
}

/// The lookup of [`DaxHeader`]: the disk's private data.
pub(super) struct DiskDax;

// SAFETY: groups of `DaxHeader` (only `DAX_GROUPS`, private to the glue)
// are only attached to disks added by `Disk::add_with_dax`, whose private
// data is a `repr(C)` `DiskData` starting with a `DaxHeader`; it lives
// until after the disk's sysfs files are removed.
unsafe impl Lookup<DaxHeader> for DiskDax {
    unsafe fn find(dev: &Device) -> Option<&DaxHeader> {
        // SAFETY: see above; `dev` is the disk's device.
        unsafe {
            let disk = bindings::rln_dev_to_disk(dev.as_raw());
            ((*disk).private_data as *const DaxHeader).as_ref()
        }
    }
}

// dax/write_cache: whether the CPU cache must be flushed for writes to
// persist through DAX; writable so an admin can assert ADR covers it.
fn write_cache_show(h: &DaxHeader, page: &mut Page) -> Result {
    // SAFETY: the device lives while the disk's files exist (killed after
    // `del_gendisk`).
    let on = unsafe { bindings::dax_write_cache_enabled(h.get()?) };
    let _ = core::fmt::Write::write_fmt(page, format_args!("{}\n", on as u8));
    Ok(())
}

fn write_cache_store(h: &DaxHeader, input: &[u8]) -> Result {
    let on = super::sysfs::parse_bool(input)?;
    // SAFETY: as in `write_cache_show`.
    unsafe { bindings::dax_write_cache(h.get()?, on) };
    Ok(())
}

static WRITE_CACHE: Attribute<DaxHeader> = Attribute::rw(c"write_cache", write_cache_show, write_cache_store);
attribute_group!(static DAX_GROUP: DaxHeader, dir = Some(c"dax"), [WRITE_CACHE]);
group_list!(pub(super) static DAX_GROUPS: DaxHeader = [DAX_GROUP]);

/// C's ops table over `T`.
struct Vtable<T>(core::marker::PhantomData<T>);

impl<T: DaxOps> Vtable<T> {
    const OPS: bindings::dax_operations = bindings::dax_operations {
        direct_access: Some(direct_access_raw::<T>),
        dax_supported: None,
        zero_page_range: Some(zero_page_range_raw::<T>),
        recovery_write: Some(recovery_write_raw::<T>),
    };
}

/// The driver state behind a dax device.
///
/// # Safety
///
/// `dax` was allocated by `alloc::<T>`.
unsafe fn state<'a, T: DaxOps>(dax: *mut bindings::dax_device) -> Option<&'a T> {
    // SAFETY: the private pointer is the `DiskData<T>` given to `alloc`,
    // live while the device is alive; null once it is killed.
    unsafe { (bindings::dax_get_private(dax) as *const DiskData<T>).as_ref().map(|d| &d.data) }
}

/// `direct_access` of dax devices of `T`.
///
/// # Safety
///
/// The dax core passes a dax device allocated for a `T`; `kaddr` and `pfn` are null or valid for writes.
unsafe extern "C" fn direct_access_raw<T: DaxOps>(
    dax: *mut bindings::dax_device,
    pgoff: core::ffi::c_ulong,
    nr_pages: c_long,
    mode: bindings::dax_access_mode,
    kaddr: *mut *mut c_void,
    pfn: *mut bindings::pfn_t,
) -> c_long {
    // SAFETY: the dax core calls with our device.
    let Some(t) = (unsafe { state::<T>(dax) }) else {
        return ENXIO.to_errno() as c_long;
    };
    let mode = if mode == bindings::dax_access_mode_DAX_RECOVERY_WRITE {
        DaxAccess::RecoveryWrite
    } else {
        DaxAccess::Access
    };
    match t.direct_access(pgoff as u64, nr_pages as i64, mode) {
        Ok(ext) => {
            // SAFETY: non-null out pointers are the caller's, valid for writes.
            unsafe {
                if !kaddr.is_null() {
                    *kaddr = ext.kaddr;
                }
                if !pfn.is_null() {
                    *pfn = ext.pfn;
                }
            }
            ext.pages as c_long
        }
        Err(e) => e.to_errno() as c_long,
    }
}

/// `zero_page_range` of dax devices of `T`.
///
/// # Safety
///
/// The dax core passes a dax device allocated for a `T`.
unsafe extern "C" fn zero_page_range_raw<T: DaxOps>(
    dax: *mut bindings::dax_device,
    pgoff: core::ffi::c_ulong,
    nr_pages: usize,
) -> c_int {
    // SAFETY: the dax core calls with our device.
    let Some(t) = (unsafe { state::<T>(dax) }) else {
        return ENXIO.to_errno();
    };
    match t.zero_page_range(pgoff as u64, nr_pages as u64) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `recovery_write` of dax devices of `T`.
///
/// # Safety
///
/// The dax core passes a dax device allocated for a `T`, `bytes` at `addr` of its mapping, and a live `iter`.
unsafe extern "C" fn recovery_write_raw<T: DaxOps>(
    dax: *mut bindings::dax_device,
    pgoff: core::ffi::c_ulong,
    addr: *mut c_void,
    bytes: usize,
    iter: *mut bindings::iov_iter,
) -> usize {
    // SAFETY: the dax core calls with our device.
    let Some(t) = (unsafe { state::<T>(dax) }) else {
        return 0;
    };
    let (Some(addr), Some(iter)) = (NonNull::new(addr), NonNull::new(iter)) else {
        return 0;
    };
    t.recovery_write(pgoff as u64, RecoveryWrite { addr, bytes, iter, _p: core::marker::PhantomData })
}
