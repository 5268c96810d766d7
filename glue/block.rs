// SPDX-License-Identifier: GPL-2.0
//! Bio-based block devices: a gendisk whose bios a driver serves itself,
//! in the submitting thread (no request queue), as C's pmem and btt do.
//!
//! A driver implements [`DiskOps`] on its per-disk state and adds a
//! [`Disk`], which owns that state and tears everything down in an order
//! that keeps it valid while the block layer or DAX can still reach it.
//! [`Bio`] is one bio to serve: its segments, its flush flags, and its
//! completion, which happens exactly once; [`Integrity`], its integrity
//! payload. [`Badblocks`] is the disk's `badblocks` list.

use core::cell::Cell;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

use kernel::error::{from_err_ptr, to_result, Error, Result};
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::ThisModule;

use super::bindings;
use super::dax::{self, DaxDevice, DaxOps, DaxSettings};
use super::device::Device;

/// Bytes per sector, the unit of bio addresses.
pub const SECTOR_SIZE: u64 = 1 << bindings::SECTOR_SHIFT;

/// `page_address` of a lowmem page, inline: x86-64's `page_to_virt`, the
/// page's index in the vmemmap array (`page_to_pfn`) turned into its
/// address in the linear map (`__va(PFN_PHYS(pfn))`). The bases are the
/// variables KASLR sets once at boot (CONFIG_DYNAMIC_MEMORY_LAYOUT).
/// Saves the call into libnvdimm's `rln_page_address` per bio segment.
///
/// # Safety
///
/// `page` is a live `struct page` of lowmem.
#[cfg(all(CONFIG_X86_64, CONFIG_SPARSEMEM_VMEMMAP, CONFIG_DYNAMIC_MEMORY_LAYOUT))]
#[inline(always)]
unsafe fn page_address(page: *mut bindings::page) -> *mut u8 {
    const PAGE_SIZE: usize = kernel::page::PAGE_SIZE;
    const PAGE_STRUCT: usize = bindings::RLN_STRUCT_PAGE_SIZE as usize;
    // SAFETY: both are written once during early boot, before modules
    // load, and only read afterwards.
    let (vmemmap, linear) = unsafe { (bindings::vmemmap_base, bindings::page_offset_base) };
    let pfn = (page as usize).wrapping_sub(vmemmap as usize) / PAGE_STRUCT;
    (linear as usize).wrapping_add(pfn.wrapping_mul(PAGE_SIZE)) as *mut u8
}

/// `page_address` through libnvdimm's C helper, for the memory models the
/// inline version does not know.
///
/// # Safety
///
/// `page` is a live `struct page` of lowmem.
#[cfg(not(all(CONFIG_X86_64, CONFIG_SPARSEMEM_VMEMMAP, CONFIG_DYNAMIC_MEMORY_LAYOUT)))]
#[inline(always)]
unsafe fn page_address(page: *mut bindings::page) -> *mut u8 {
    // SAFETY: guaranteed by the caller.
    unsafe { bindings::rln_page_address(page) }.cast::<u8>()
}

// ---------------------------------------------------------------------------
// Bios.

/// A bio handed to the driver. It must be completed once, with
/// [`Bio::complete`]; dropping it uncompleted fails it with EIO.
pub struct Bio<'a> {
    raw: NonNull<bindings::bio>,
    /// The [`Integrity`] handle was handed out (there is at most one, so
    /// the payload's bytes are never lent twice).
    integrity_taken: Cell<bool>,
    _p: PhantomData<&'a mut bindings::bio>,
}

// The per-bio methods are `#[inline]`: they are a few loads each, and the
// driver's submit_bio is the I/O hot path.
impl Bio<'_> {
    #[inline]
    fn opf(&self) -> u32 {
        // SAFETY: the bio is live and ours until completed.
        unsafe { (*self.raw.as_ptr()).bi_opf }
    }

    /// A write of any kind (`op_is_write`); otherwise a read.
    #[inline]
    pub fn is_write(&self) -> bool {
        self.opf() & bindings::RLN_REQ_OP_MASK & 1 != 0
    }

    /// REQ_PREFLUSH: earlier completed writes must be durable before this
    /// bio's data is written.
    #[inline]
    pub fn preflush(&self) -> bool {
        self.opf() & bindings::RLN_REQ_PREFLUSH != 0
    }

    /// REQ_FUA: this bio's data must be durable when it completes.
    #[inline]
    pub fn fua(&self) -> bool {
        self.opf() & bindings::RLN_REQ_FUA != 0
    }

    /// The data's segments, each within one page (`bio_for_each_segment`):
    /// what a driver that serves a page at a time sees, as C's btt does.
    #[inline]
    pub fn page_segments(&self) -> PageSegments<'_> {
        PageSegments { inner: self.segments(), rest: None }
    }

    /// The data's segments, each contiguous in kernel memory.
    #[inline]
    pub fn segments(&self) -> Segments<'_> {
        // SAFETY: the bio is live and ours; its iterator describes the part
        // of `bi_io_vec` still to be done.
        let bio = unsafe { &*self.raw.as_ptr() };
        Segments {
            vecs: bio.bi_io_vec,
            iter: bio.bi_iter,
            pos: bio.bi_iter.bi_sector.wrapping_mul(SECTOR_SIZE),
            _p: PhantomData,
        }
    }

    /// C's `bio_integrity_prep`: gives the bio its disk's integrity payload
    /// (for a write, generated: zeros for a profile without checksums; for
    /// a read, to be filled). Disks without an integrity profile pass every
    /// bio. `None` when it failed, having ended the bio with an error.
    #[inline]
    pub fn prep_integrity(self) -> Option<Self> {
        // SAFETY: the bio is live and ours.
        if unsafe { bindings::rln_bio_integrity_prep(self.raw.as_ptr()) } {
            Some(self)
        } else {
            // The bio was ended: dropping it would end it again.
            core::mem::forget(self);
            None
        }
    }

    /// Whether the bio carries an integrity payload (`bio_integrity`).
    #[inline]
    pub fn has_integrity(&self) -> bool {
        // SAFETY: the bio is live.
        unsafe { bindings::rln_bio_has_integrity(self.raw.as_ptr()) }
    }

    /// The bio's integrity payload, if it has one; `None` on every call
    /// after the first.
    #[inline]
    pub fn integrity(&self) -> Option<Integrity<'_>> {
        if self.integrity_taken.get() || !self.has_integrity() {
            return None;
        }
        self.integrity_taken.set(true);
        // INVARIANT: the first and only handle of this bio.
        Some(Integrity { bio: self.raw, _p: PhantomData })
    }

    /// Starts I/O accounting if the queue has `iostats` on; it ends when
    /// the returned guard drops.
    #[inline]
    pub fn account(&self) -> IoAccounting<'_> {
        // SAFETY: the bio is live and was submitted to a disk, which with
        // its queue outlives the bio (`blk_queue_io_stat`).
        let features = unsafe { (*(*(*(*self.raw.as_ptr()).bi_bdev).bd_disk).queue).limits.features };
        let start = (features & bindings::RLN_BLK_FEAT_IO_STAT != 0)
            // SAFETY: as above.
            .then(|| unsafe { bindings::bio_start_io_acct(self.raw.as_ptr()) });
        IoAccounting { bio: self.raw, start, _p: PhantomData }
    }

    /// Completes the bio with `status`.
    pub fn complete(self, status: Result) {
        let raw = self.raw;
        core::mem::forget(self);
        // SAFETY: we own the bio until `bio_endio`, and forgot `self`.
        unsafe { end_bio(raw, status) }
    }

    /// Hands the bio's completion on: the data has been served, and the
    /// bio is ended later, from any thread, by the [`PendingBio`].
    pub fn into_pending(self) -> PendingBio {
        let raw = self.raw;
        core::mem::forget(self);
        // INVARIANT: the bio is ours until `bio_endio`, and `self`, which
        // would have ended it, is forgotten.
        PendingBio { raw }
    }
}

impl Drop for Bio<'_> {
    fn drop(&mut self) {
        // SAFETY: not completed yet (`complete` forgets `self`).
        unsafe { end_bio(self.raw, Err(EIO)) }
    }
}

/// Ends `bio` with `status` (`bio_endio`).
///
/// # Safety
///
/// The caller owns `bio`, which was submitted and is not ended yet, and
/// gives it up.
unsafe fn end_bio(bio: NonNull<bindings::bio>, status: Result) {
    let raw = bio.as_ptr();
    // SAFETY: guaranteed by the caller.
    unsafe {
        if let Err(e) = status {
            (*raw).bi_status = bindings::errno_to_blk_status(e.to_errno());
        }
        bindings::bio_endio(raw);
    }
}

/// A bio's integrity payload: its metadata bytes, a tuple per sector, and
/// the iterator over them that C's drivers advance as they serve sectors.
///
/// # Invariants
///
/// The bio is live while the handle is, and has an integrity payload; the
/// handle is the bio's only one, so the payload's bytes are lent to one
/// borrower at a time.
pub struct Integrity<'a> {
    bio: NonNull<bindings::bio>,
    _p: PhantomData<&'a ()>,
}

impl Integrity<'_> {
    /// Lends the payload's next `len` bytes to `f`, piece by piece (each
    /// within one page, with its offset from the first byte), and moves the
    /// iterator past them: the loop of C's `btt_rw_integrity`. EIO if
    /// fewer than `len` bytes are left.
    pub fn transfer(&mut self, len: usize, mut f: impl FnMut(usize, &mut [u8]) -> Result) -> Result {
        let mut done = 0;
        while done < len {
            let mut seg: u32 = 0;
            // SAFETY: the bio is live and has a payload (type invariant).
            let p = unsafe { bindings::rln_bip_segment(self.bio.as_ptr(), &mut seg) };
            if p.is_null() {
                return Err(EIO);
            }
            let n = core::cmp::min(len - done, seg as usize);
            // SAFETY: `p` addresses `seg` >= `n` bytes of a payload page,
            // which stays until the bio ends; this handle is the only one
            // (type invariant) and `&mut self` keeps the slice unique.
            let piece = unsafe { core::slice::from_raw_parts_mut(p.cast::<u8>(), n) };
            f(done, piece)?;
            done += n;
            // SAFETY: as above; `n` bytes of the current segment exist.
            if !unsafe { bindings::rln_bip_advance(self.bio.as_ptr(), n as u32) } {
                return Err(EIO);
            }
        }
        Ok(())
    }
}

/// A bio whose data was served and whose completion was handed on
/// ([`Bio::into_pending`]): it may move to another thread (a work item)
/// and is ended exactly once there, by [`PendingBio::complete`], or with
/// EIO if it is dropped.
///
/// # Invariants
///
/// `raw` is a submitted bio, not ended yet, which this value alone ends.
pub struct PendingBio {
    raw: NonNull<bindings::bio>,
}

// SAFETY: a bio may be ended from any thread (C's drivers end them from
// interrupts and workqueues); only this value touches it.
unsafe impl Send for PendingBio {}

impl PendingBio {
    /// Ends the bio with `status`.
    pub fn complete(self, status: Result) {
        let raw = self.raw;
        core::mem::forget(self);
        // SAFETY: ours until now (invariant), and `self` is forgotten.
        unsafe { end_bio(raw, status) }
    }

    /// The bio, for a comparison (it stays with `self`).
    pub fn as_ptr(&self) -> *mut bindings::bio {
        self.raw.as_ptr()
    }

    /// The bio, handed over a C ABI: the receiver must end it, or give it
    /// back with [`PendingBio::from_raw`].
    pub fn into_raw(self) -> *mut bindings::bio {
        let raw = self.raw.as_ptr();
        core::mem::forget(self);
        raw
    }

    /// Takes over a bio from [`PendingBio::into_raw`].
    ///
    /// # Safety
    ///
    /// `raw` came from `into_raw`, and whoever had it gives it up: nobody
    /// else ends it.
    pub unsafe fn from_raw(raw: *mut bindings::bio) -> Self {
        // INVARIANT: guaranteed by the caller; `into_raw` never returns null.
        // SAFETY: as above.
        Self { raw: unsafe { NonNull::new_unchecked(raw) } }
    }
}

impl Drop for PendingBio {
    fn drop(&mut self) {
        // SAFETY: not ended yet (invariant; the others forget `self`).
        unsafe { end_bio(self.raw, Err(EIO)) }
    }
}

/// I/O accounting of a bio in progress (`bio_start_io_acct`).
pub struct IoAccounting<'a> {
    bio: NonNull<bindings::bio>,
    start: Option<core::ffi::c_ulong>,
    _p: PhantomData<&'a Bio<'a>>,
}

impl Drop for IoAccounting<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(start) = self.start {
            let bio = self.bio.as_ptr();
            // SAFETY: the bio is live: it is borrowed from an uncompleted
            // `Bio` (`bio_end_io_acct`).
            unsafe { bindings::bio_end_io_acct_remapped(bio, start, (*bio).bi_bdev) };
        }
    }
}

/// One stretch of a bio's data, contiguous in kernel memory (a whole
/// multi-page bio_vec; pages of a bio_vec are physically contiguous and,
/// without highmem, so are their linear-map addresses).
pub struct Segment<'a> {
    pub(super) addr: NonNull<u8>,
    pub(super) len: usize,
    pos: u64,
    _p: PhantomData<&'a Bio<'a>>,
}

impl Segment<'_> {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset on the disk.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// The data, for a driver that copies it out (a write).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `addr` points to `len` bytes of the bio's pages, which the
        // submitter keeps until the bio completes, after the borrow of the
        // `Bio` this segment came from ends. The block layer gives the
        // driver the data of a bio in flight; what else writes the same
        // pages meanwhile (a user's O_DIRECT buffer) is its own race, as
        // with C's memcpy.
        unsafe { core::slice::from_raw_parts(self.addr.as_ptr(), self.len) }
    }

    /// The data, for a driver that fills it (a read).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`; a read's pages are the driver's to
        // write until the bio completes, and `&mut self` makes this the
        // only view of them through the segment.
        unsafe { core::slice::from_raw_parts_mut(self.addr.as_ptr(), self.len) }
    }
}

/// Iterator over a bio's segments (`bio_for_each_bvec`).
pub struct Segments<'a> {
    vecs: *mut bindings::bio_vec,
    iter: bindings::bvec_iter,
    pos: u64,
    _p: PhantomData<&'a Bio<'a>>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    #[inline]
    fn next(&mut self) -> Option<Segment<'a>> {
        let remaining = self.iter.bi_size;
        if remaining == 0 {
            return None;
        }
        // SAFETY: while `bi_size` is non-zero, `bi_idx` indexes a valid
        // bio_vec of the bio, which lives as long as the borrowed `Bio`.
        let bv = unsafe { &*self.vecs.add(self.iter.bi_idx as usize) };
        let done = self.iter.bi_bvec_done;
        let len = remaining.min(bv.bv_len.saturating_sub(done));
        if len == 0 {
            // A malformed bio; stop rather than loop.
            return None;
        }
        // SAFETY: `bv_page` is a page of the bio, a lowmem page (no
        // highmem, see block_helpers.c).
        let base = unsafe { page_address(bv.bv_page) };
        // SAFETY: `bv_offset + done + len` stays inside the bio_vec, whose
        // pages are contiguous in the linear map.
        let addr = unsafe { base.add(bv.bv_offset as usize + done as usize) };
        let seg = Segment { addr: NonNull::new(addr)?, len: len as usize, pos: self.pos, _p: PhantomData };
        self.pos += len as u64;
        self.iter.bi_size -= len;
        self.iter.bi_sector += (len >> bindings::SECTOR_SHIFT) as u64;
        if done + len == bv.bv_len {
            self.iter.bi_idx += 1;
            self.iter.bi_bvec_done = 0;
        } else {
            self.iter.bi_bvec_done = done + len;
        }
        Some(seg)
    }
}

/// Iterator over a bio's segments cut at page boundaries
/// (`bio_for_each_segment`; see [`Bio::page_segments`]).
pub struct PageSegments<'a> {
    inner: Segments<'a>,
    /// What is left of the current multi-page segment.
    rest: Option<Segment<'a>>,
}

impl<'a> Iterator for PageSegments<'a> {
    type Item = Segment<'a>;

    #[inline]
    fn next(&mut self) -> Option<Segment<'a>> {
        let seg = match self.rest.take() {
            Some(s) => s,
            None => self.inner.next()?,
        };
        let page = 1usize << bindings::PAGE_SHIFT;
        // Linear-map addresses of pages are page-aligned, so the address
        // says where the page ends.
        let in_page = page - (seg.addr.as_ptr() as usize & (page - 1));
        if seg.len <= in_page {
            return Some(seg);
        }
        // SAFETY: `in_page < seg.len`: the rest stays inside the segment.
        let rest_addr = unsafe { seg.addr.add(in_page) };
        self.rest = Some(Segment { addr: rest_addr, len: seg.len - in_page, pos: seg.pos + in_page as u64, _p: PhantomData });
        Some(Segment { addr: seg.addr, len: in_page, pos: seg.pos, _p: PhantomData })
    }
}

// ---------------------------------------------------------------------------
// Bad blocks.

/// A list of bad sectors (`struct badblocks`), shown as the disk's
/// `badblocks` file and consulted on every I/O.
#[pin_data(PinnedDrop)]
pub struct Badblocks {
    #[pin]
    raw: Opaque<bindings::badblocks>,
    /// The disk's sysfs `badblocks` node, poked when the list shrinks.
    notify: AtomicPtr<bindings::kernfs_node>,
}

// SAFETY: `struct badblocks` is guarded by its own seqlock.
unsafe impl Send for Badblocks {}
// SAFETY: see `Send`.
unsafe impl Sync for Badblocks {}

impl Badblocks {
    /// An empty, enabled list (`badblocks_init(bb, 1)`).
    pub fn new() -> impl PinInit<Self, Error> {
        let raw = {
            let init = |slot: *mut Opaque<bindings::badblocks>| {
                // SAFETY: `slot` is valid for writes; `Opaque` is a
                // transparent wrapper, and `badblocks_init` initialises
                // every field it uses after we zero the rest.
                unsafe {
                    let bb = Opaque::raw_get(slot);
                    bb.write(core::mem::zeroed());
                    to_result(bindings::badblocks_init(bb, 1))
                }
            };
            // SAFETY: on success the closure initialised the slot fully;
            // on failure `badblocks_init` freed what it allocated.
            unsafe { kernel::init::pin_init_from_closure(init) }
        };
        try_pin_init!(Self { raw <- raw, notify: AtomicPtr::new(core::ptr::null_mut()) }? Error)
    }

    fn as_raw(&self) -> *mut bindings::badblocks {
        self.raw.get()
    }

    /// Whether the list is empty: a racy snapshot, the I/O path's fast check
    /// before taking the seqlock, as in C.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `count` is an int the list updates under its seqlock;
        // a torn read is impossible for an aligned int, and staleness is
        // what C's unlocked check tolerates too.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.as_raw()).count)) == 0 }
    }

    /// The first bad stretch in `[sector, sector + sectors)`, as
    /// `(first_bad, bad_sectors)`.
    pub fn check(&self, sector: u64, sectors: u64) -> Option<(u64, u64)> {
        let mut first = 0;
        let mut num: c_int = 0;
        let sectors = sectors.min(c_int::MAX as u64) as c_int;
        // SAFETY: the list is initialised; the out pointers are locals.
        let rc = unsafe { bindings::badblocks_check(self.as_raw(), sector, sectors, &mut first, &mut num) };
        (rc != 0).then_some((first, num.max(0) as u64))
    }

    /// C's `is_bad_pmem`: whether any sector of `len` bytes at `sector`
    /// is bad (a partial trailing sector is not looked at).
    pub fn is_bad(&self, sector: u64, len: u64) -> bool {
        !self.is_empty() && self.check(sector, len / SECTOR_SIZE).is_some()
    }

    /// Marks `count` sectors at `sector` bad (acknowledged). A full list
    /// drops the range silently, as C's `set_badblock` does: the hardware
    /// still reports the poison.
    pub fn set(&self, sector: u64, count: u64) {
        let mut s = sector;
        let mut left = count;
        while left > 0 {
            let n = left.min(c_int::MAX as u64);
            // SAFETY: the list is initialised.
            unsafe { bindings::badblocks_set(self.as_raw(), s, n as c_int, 1) };
            s += n;
            left -= n;
        }
    }

    /// Forgets `count` sectors at `sector` and tells sysfs pollers.
    pub fn clear(&self, sector: u64, count: u64) {
        if count == 0 {
            return;
        }
        let mut s = sector;
        let mut left = count;
        while left > 0 {
            let n = left.min(c_int::MAX as u64);
            // SAFETY: the list is initialised.
            unsafe { bindings::badblocks_clear(self.as_raw(), s, n as c_int) };
            s += n;
            left -= n;
        }
        self.notify();
    }

    /// Wakes pollers of the disk's `badblocks` file.
    pub fn notify(&self) {
        let kn = self.notify.load(Ordering::Acquire);
        if !kn.is_null() {
            // SAFETY: we hold a reference on the node until `detach` (after
            // the disk is deleted and no I/O can reach us).
            unsafe { bindings::rln_sysfs_notify_dirent(kn) };
        }
    }

    /// Shows the list as its `badblocks` file does: "sector count" lines
    /// of the acknowledged ranges (`badblocks_show`).
    pub fn show(&self, page: &mut super::sysfs::Page) -> Result {
        let mut buf = super::boxed::zeroed_vec::<u8, kernel::alloc::allocator::Kmalloc>(4096, GFP_KERNEL)?;
        // SAFETY: the list is initialised; `buf` is the page-sized buffer
        // `badblocks_show` writes (it stops at PAGE_SIZE).
        let n = unsafe { bindings::badblocks_show(self.as_raw(), buf.as_mut_ptr().cast(), 0) };
        let n = usize::try_from(n).map_err(|_| EINVAL)?.min(buf.len());
        page.write_bytes(&buf[..n]);
        Ok(())
    }

    /// Pokes `dev`'s `badblocks` file on changes from now on (once).
    pub fn notify_file_of(&self, dev: &Device) {
        if self.notify.load(Ordering::Acquire).is_null() {
            self.attach(dev.as_raw());
        }
    }

    fn attach(&self, disk_dev: *mut bindings::device) {
        // SAFETY: the disk's device is registered; the name is a C string.
        let kn = unsafe { bindings::rln_sysfs_get_dirent(disk_dev, c"badblocks".as_ptr()) };
        self.notify.store(kn, Ordering::Release);
    }

    fn detach(&self) {
        let kn = self.notify.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !kn.is_null() {
            // SAFETY: the reference `attach` took.
            unsafe { bindings::rln_sysfs_put(kn) };
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Badblocks {
    fn drop(self: Pin<&mut Self>) {
        self.detach();
        // SAFETY: initialised in `new`; nothing else uses the list now.
        unsafe { bindings::badblocks_exit(self.as_raw()) };
    }
}

// ---------------------------------------------------------------------------
// Disks.

/// What a bio-based disk's driver does. Implemented on the per-disk state,
/// which the [`Disk`] owns.
pub trait DiskOps: Send + Sync + Sized + 'static {
    /// Serves `bio` and completes it, in the submitting thread.
    fn submit_bio(&self, bio: Bio<'_>);

    /// The disk's bad-block list, if it keeps one.
    fn badblocks(&self) -> Option<&Badblocks> {
        None
    }

    /// Whether the disk answers HDIO_GETGEO (`getgeo`) with
    /// [`DiskOps::geometry`]; without it the ioctl fails with ENOTTY.
    const HAS_GEOMETRY: bool = false;

    /// The legacy CHS geometry HDIO_GETGEO reports.
    fn geometry(&self) -> Geometry {
        Geometry { heads: 0, sectors: 0, cylinders: 0 }
    }
}

/// A disk's legacy geometry (`struct hd_geometry`; `start` is the
/// partition's, filled in by the block layer).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// Heads.
    pub heads: u8,
    /// Sectors per track.
    pub sectors: u8,
    /// Cylinders (truncated to 16 bits, as C's field is).
    pub cylinders: u16,
}

/// The block_device_operations of disks of `T`: a static per driver,
/// owned by the driver's module (which it pins while a disk is open).
pub struct DiskVtable<T: DiskOps> {
    ops: Opaque<bindings::block_device_operations>,
    /// 0: no owner yet; 1: being set; 2: ready.
    state: AtomicU8,
    _t: PhantomData<T>,
}

// SAFETY: `ops` is written once, before `state` says ready, and only read
// afterwards.
unsafe impl<T: DiskOps> Sync for DiskVtable<T> {}

impl<T: DiskOps> DiskVtable<T> {
    /// The table, not usable until [`DiskVtable::set_owner`].
    pub const fn new() -> Self {
        Self {
            ops: Opaque::new(bindings::block_device_operations {
                submit_bio: Some(submit_bio_raw::<T>),
                getgeo: if T::HAS_GEOMETRY { Some(getgeo_raw::<T>) } else { None },
                // SAFETY: every other operation is optional; the owner is
                // set by `set_owner`.
                ..unsafe { core::mem::zeroed() }
            }),
            state: AtomicU8::new(0),
            _t: PhantomData,
        }
    }

    /// Makes `module` the owner; call once from module init.
    pub fn set_owner(&'static self, module: &'static ThisModule) -> Result {
        self.state.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).map_err(|_| EBUSY)?;
        // SAFETY: state 1 excludes every other writer and every reader
        // (disks only use the table once the state is 2).
        unsafe { (*self.ops.get()).owner = module.as_ptr().cast() };
        self.state.store(2, Ordering::Release);
        Ok(())
    }

    fn get(&'static self) -> Result<*const bindings::block_device_operations> {
        if self.state.load(Ordering::Acquire) != 2 {
            return Err(EINVAL);
        }
        Ok(self.ops.get())
    }
}

/// The shape of a new disk.
pub struct DiskConfig<'a> {
    /// The name in /dev and /sys/block.
    pub name: &'a CStr,
    /// Size in 512-byte sectors.
    pub capacity_sectors: u64,
    /// Logical block size.
    pub logical_block_size: u32,
    /// Physical block size (0: the logical block size).
    pub physical_block_size: u32,
    /// Integrity segments a request may carry (`max_integrity_segments`;
    /// C's btt says 1 whether or not the kernel has integrity support).
    pub max_integrity_segments: u16,
    /// Integrity metadata bytes per sector (0: none): an integrity profile
    /// without checksums, whose tuples are all tag, as C's btt registers
    /// for 520-byte and other sizes with metadata. Only with
    /// CONFIG_BLK_DEV_INTEGRITY; without it the disk has no profile.
    pub integrity_tuple_size: u8,
    /// NUMA node for the disk's allocations.
    pub numa_node: i32,
    /// BLK_FEAT_WRITE_CACHE: the disk takes REQ_PREFLUSH.
    pub write_cache: bool,
    /// BLK_FEAT_FUA: the disk takes REQ_FUA.
    pub fua: bool,
    /// BLK_FEAT_SYNCHRONOUS: bios complete in the submitting thread.
    pub synchronous: bool,
    /// BLK_FEAT_DAX: the disk supports DAX.
    pub dax: bool,
}

/// What `private_data` (and the DAX device's private pointer) point to.
/// `repr(C)` so the dax group finds `dax` without knowing `T`.
#[repr(C)]
#[pin_data]
pub(super) struct DiskData<T> {
    pub(super) header: dax::DaxHeader,
    #[pin]
    pub(super) data: T,
}

/// A gendisk that was allocated but not added; put on drop.
struct Allocated(NonNull<bindings::gendisk>);

impl Drop for Allocated {
    fn drop(&mut self) {
        // SAFETY: we hold the reference `blk_alloc_disk` returned.
        unsafe { bindings::put_disk(self.0.as_ptr()) };
    }
}

/// An added bio-based disk and the driver state behind it.
///
/// Dropping it unpublishes the DAX host, deletes the disk (which waits for
/// bios in flight and blocks new ones), kills the DAX device (which waits
/// for DAX operations in flight), and only then drops the state, which
/// may unmap the memory the I/O paths used.
pub struct Disk<T: DiskOps> {
    disk: Allocated,
    dax: Option<DaxDevice>,
    data: Pin<KBox<DiskData<T>>>,
}

// SAFETY: the gendisk and dax device are only handed back to the block
// layer, which locks internally; `T` is `Send + Sync`.
unsafe impl<T: DiskOps> Send for Disk<T> {}
// SAFETY: see `Send`.
unsafe impl<T: DiskOps> Sync for Disk<T> {}

impl<T: DiskOps> Disk<T> {
    /// Allocates a bio-based disk as `cfg` says, with driver state `data`,
    /// and adds it under `parent`.
    pub fn add(
        parent: &Device,
        vtable: &'static DiskVtable<T>,
        cfg: DiskConfig<'_>,
        data: impl PinInit<T, Error>,
    ) -> Result<Self> {
        let (disk, data) = Self::alloc(vtable, &cfg, data)?;
        Self::finish(parent, disk, None, data, None)
    }

    /// [`Disk::add`] for a disk that also serves DAX (`alloc_dax`), with
    /// the `dax/write_cache` attribute. Architectures without DAX support
    /// (EOPNOTSUPP) get a plain disk.
    pub fn add_with_dax(
        parent: &Device,
        vtable: &'static DiskVtable<T>,
        cfg: DiskConfig<'_>,
        settings: DaxSettings,
        data: impl PinInit<T, Error>,
    ) -> Result<Self>
    where
        T: DaxOps,
    {
        let (disk, data) = Self::alloc(vtable, &cfg, data)?;
        let private = &*data as *const DiskData<T> as *mut core::ffi::c_void;
        let dax = match dax::alloc::<T>(private) {
            Ok(d) => Some(d),
            Err(e) if e.to_errno() == -(bindings::EOPNOTSUPP as i32) => None,
            Err(e) => return Err(e),
        };
        if let Some(d) = &dax {
            d.apply(&settings);
            data.header.set(d);
        }
        Self::finish(parent, disk, dax, data, Some(&dax::DAX_GROUPS))
    }

    fn alloc(
        vtable: &'static DiskVtable<T>,
        cfg: &DiskConfig<'_>,
        data: impl PinInit<T, Error>,
    ) -> Result<(Allocated, Pin<KBox<DiskData<T>>>)> {
        let fops = vtable.get()?;
        let name = cfg.name.to_bytes_with_nul();
        if name.len() > bindings::DISK_NAME_LEN as usize {
            return Err(EINVAL);
        }
        let data = KBox::pin_init(
            try_pin_init!(DiskData { header: dax::DaxHeader::new(), data <- data }? Error),
            GFP_KERNEL,
        )?;
        let mut features = 0;
        for (on, bit) in [
            (cfg.write_cache, bindings::RLN_BLK_FEAT_WRITE_CACHE),
            (cfg.fua, bindings::RLN_BLK_FEAT_FUA),
            (cfg.synchronous, bindings::RLN_BLK_FEAT_SYNCHRONOUS),
            (cfg.dax, bindings::RLN_BLK_FEAT_DAX),
        ] {
            if on {
                features |= bit;
            }
        }
        // SAFETY: all-zero limits are "use the defaults" for every field we
        // do not set.
        let mut lim: bindings::queue_limits = unsafe { core::mem::zeroed() };
        lim.logical_block_size = cfg.logical_block_size;
        lim.physical_block_size = cfg.physical_block_size;
        lim.max_integrity_segments = cfg.max_integrity_segments;
        if cfg!(CONFIG_BLK_DEV_INTEGRITY) && cfg.integrity_tuple_size > 0 {
            lim.integrity.tuple_size = cfg.integrity_tuple_size;
            lim.integrity.tag_size = cfg.integrity_tuple_size;
        }
        lim.max_hw_sectors = u32::MAX;
        lim.features = features;
        // SAFETY: `lim` is valid for the call, which copies it.
        let raw = unsafe { bindings::rln_blk_alloc_disk(&mut lim, cfg.numa_node) };
        // `blk_alloc_disk` returns a disk or an error pointer.
        let raw = from_err_ptr(raw)?;
        let disk = Allocated(NonNull::new(raw).ok_or(ENOMEM)?);
        // SAFETY: the disk is ours and not added yet; the name fits (checked
        // above); `data` is pinned and outlives the disk's use of it (see
        // `Disk`'s drop order).
        unsafe {
            (*raw).fops = fops;
            (*raw).private_data = &*data as *const DiskData<T> as *mut _;
            for (d, s) in (*raw).disk_name.iter_mut().zip(name) {
                *d = *s as _;
            }
            bindings::set_capacity(raw, cfg.capacity_sectors);
            if let Some(bb) = data.data.badblocks() {
                (*raw).bb = bb.as_raw();
            }
        }
        Ok((disk, data))
    }

    fn finish(
        parent: &Device,
        disk: Allocated,
        dax: Option<DaxDevice>,
        data: Pin<KBox<DiskData<T>>>,
        groups: Option<&'static super::sysfs::GroupList<super::dax::DaxHeader>>,
    ) -> Result<Self> {
        let raw = disk.0.as_ptr();
        if let Some(d) = &dax {
            if let Err(e) = d.add_host(raw) {
                drop(dax);
                drop(disk);
                drop(data);
                return Err(e);
            }
        }
        let groups = groups.map_or(core::ptr::null_mut(), |g| g.as_raw());
        // SAFETY: `parent` is live; the disk is allocated and configured.
        let rc = unsafe { bindings::device_add_disk(parent.as_raw(), raw, groups) };
        if rc != 0 {
            if let Some(d) = &dax {
                d.remove_host(raw);
            }
            // Nothing was published: kill the DAX device, put the disk, then
            // free the state they pointed to.
            drop(dax);
            drop(disk);
            drop(data);
            return Err(Error::from_errno(rc));
        }
        if let Some(bb) = data.data.badblocks() {
            // SAFETY: the disk is added, so its device is registered.
            bb.attach(unsafe { bindings::rln_disk_to_dev(raw) });
        }
        Ok(Self { disk, dax, data })
    }

    /// The driver state.
    pub fn data(&self) -> &T {
        &self.data.data
    }

    /// The disk's device (`disk_to_dev`).
    pub fn device(&self) -> &Device {
        // SAFETY: the disk, and so its device, lives as long as `self`.
        unsafe { Device::from_raw(bindings::rln_disk_to_dev(self.disk.0.as_ptr())) }
    }

    /// The disk's name.
    pub fn name(&self) -> &CStr {
        // SAFETY: `disk_name` is NUL-terminated (set in `alloc`, within
        // DISK_NAME_LEN) and lives with the disk.
        unsafe { CStr::from_ptr((*self.disk.0.as_ptr()).disk_name.as_ptr()) }
    }

    /// Whether the disk is read-only (`get_disk_ro`).
    pub fn read_only(&self) -> bool {
        // SAFETY: the disk is live.
        unsafe { bindings::rln_get_disk_ro(self.disk.0.as_ptr()) }
    }

    /// A counted reference to the disk's DAX device, if it has one.
    pub fn dax_ref(&self) -> Option<super::dax::DaxRef> {
        self.dax.as_ref().and_then(|d| d.counted())
    }

    /// `set_disk_ro`.
    pub fn set_read_only(&self, ro: bool) {
        // SAFETY: the disk is live and added.
        unsafe { bindings::set_disk_ro(self.disk.0.as_ptr(), ro) }
    }
}

impl<T: DiskOps> Drop for Disk<T> {
    fn drop(&mut self) {
        let raw = self.disk.0.as_ptr();
        if let Some(d) = &self.dax {
            // No new DAX users can find the disk.
            d.remove_host(raw);
            // C's order (pmem_release_disk): the DAX device dies while the
            // disk still works, so that its holder, a file system mounted
            // -o dax, hears of the removal first (MF_MEM_PRE_REMOVE: xfs
            // drops the DAX entries and mappings of its files, which point
            // at struct pages about to go). Removing the disk first shuts
            // the file system down and it no longer listens.
            d.kill();
        }
        // SAFETY: the disk was added in `finish`. This removes its sysfs
        // files (waiting for readers) and waits for bios in flight; none
        // reach the driver afterwards.
        unsafe { bindings::del_gendisk(raw) };
        // The device's last reference, now that the dax/write_cache file
        // that reads it is gone too.
        drop(self.dax.take());
        if let Some(bb) = self.data.data.badblocks() {
            bb.detach();
        }
        // `self.disk` puts the disk, then `self.data` drops.
    }
}

/// `submit_bio` of disks of `T`.
///
/// # Safety
///
/// The block layer passes a live bio of a disk allocated by `Disk::<T>::alloc`, whose private data is a `DiskData<T>`.
unsafe extern "C" fn submit_bio_raw<T: DiskOps>(bio: *mut bindings::bio) {
    // SAFETY: the block layer calls us with a live bio of one of our disks,
    // whose private data is a `DiskData<T>` (set in `Disk::alloc`) that
    // lives until after `del_gendisk`, which waits for us.
    let data = unsafe { &*((*(*(*bio).bi_bdev).bd_disk).private_data as *const DiskData<T>) };
    // SAFETY: `bio` is non-null and ours until we complete it.
    let bio = Bio { raw: unsafe { NonNull::new_unchecked(bio) }, integrity_taken: Cell::new(false), _p: PhantomData };
    data.data.submit_bio(bio);
}

/// `getgeo` of disks of `T` that have a geometry.
///
/// # Safety
///
/// The block layer passes a live block device of a disk allocated by
/// `Disk::<T>::alloc` and a `hd_geometry` to fill.
unsafe extern "C" fn getgeo_raw<T: DiskOps>(bdev: *mut bindings::block_device, geo: *mut bindings::hd_geometry) -> c_int {
    // SAFETY: the device's disk is one of ours (see `submit_bio_raw`); its
    // private data lives until after `del_gendisk`, which ends the ioctls.
    let data = unsafe { &*((*(*bdev).bd_disk).private_data as *const DiskData<T>) };
    let g = data.data.geometry();
    // SAFETY: `geo` is valid for writes during the call.
    unsafe {
        (*geo).heads = g.heads;
        (*geo).sectors = g.sectors;
        (*geo).cylinders = g.cylinders;
    }
    0
}
