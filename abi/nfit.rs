// SPDX-License-Identifier: GPL-2.0
//! The C ABI between nfit and an emulated NFIT platform (nfit_test).
//!
//! As in Linux, nfit_test hands nfit a synthetic NFIT plus a command handler
//! that stands in for the firmware's _DSM methods; nfit then parses the table
//! and drives libnvdimm exactly as it does for a real ACPI NFIT.

use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::ptr::NonNull;

use kernel::error::{to_result, Result};
use kernel::alloc::VVec;
use kernel::prelude::*;
use kernel::alloc::allocator::Vmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::sync::Arc;

use crate::glue::bindings;
use crate::glue::device::Device;
use crate::glue::pmem_map::ReservedMemory;
pub use super::{Completion, Range};

/// `ctl` of an emulated platform: runs ND command `cmd` on the bus
/// (`dimm` = 0) or on the DIMM with NFIT device handle `handle`. The
/// platform ORs into `*events` the notifications the command raises
/// ([`Events`]).
type RawPlatformCtl = unsafe extern "C" fn(
    ctx: *const c_void,
    dimm: c_int,
    handle: u32,
    cmd: c_uint,
    buf: *mut u8,
    len: c_uint,
    cmd_rc: *mut c_int,
    events: *mut u32,
) -> c_int;

/// `media_write` of an emulated platform: how many of the `len` bytes of a
/// namespace byte write at system physical address `phys` land (test-only
/// power cut; see `Platform::media_write`).
type RawPlatformMediaWrite = unsafe extern "C" fn(ctx: *const c_void, phys: u64, len: u64) -> u64;

/// An emulated platform (`struct acpi_nfit_desc` fields nfit_test sets).
#[repr(C)]
struct RawPlatform {
    /// The NFIT: a whole ACPI table, or only its subtables as C's nfit_test
    /// passes them (the NFIT revision then reads 0).
    table: *const u8,
    /// Its length.
    table_len: usize,
    /// Passed back to `ctl`.
    ctx: *const c_void,
    /// The command handler.
    ctl: Option<RawPlatformCtl>,
    /// DIMM DSM functions the platform implements (dimm_cmd_force_en).
    dimm_dsm_mask: c_ulong,
    /// Bus ND_CMD_* commands the platform implements (bus_cmd_force_en).
    bus_cmd_mask: c_ulong,
    /// Bus DSM functions, nfit/dsm_mask (bus_dsm_mask).
    bus_dsm_mask: c_ulong,
    /// Bus functions of the Intel bus family (family_dsm_mask[INTEL]).
    bus_intel_dsm_mask: c_ulong,
    /// Memory backing the platform's address ranges, `nranges` of them.
    ranges: *const RawRange,
    /// How many.
    nranges: c_uint,
    /// Test-only power cut of namespace byte writes, or none.
    media_write: Option<RawPlatformMediaWrite>,
}

/// Memory an emulated platform backs one of its SPA ranges with (C's
/// nfit_test redirects memremap to such buffers instead).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawRange {
    /// The range's system physical address, as the NFIT states it.
    start: u64,
    /// Its length.
    len: u64,
    /// The memory.
    ptr: *mut u8,
    /// Its physical address, or `NO_BACKING_PHYS` (see `Range::backing_phys`).
    backing_phys: u64,
}

/// The memory an emulated platform backs one of its ranges with.
pub enum RangeMemory {
    /// A vmalloc buffer, as C's nfit_test uses.
    Virtual(VVec<u8>),
    /// Physical memory set aside at boot (`ReservedMemory`): the range's
    /// namespaces then have real pfns, which struct-page modes need.
    Reserved(ReservedMemory),
    /// Words the platform shares with what writes them (flush hints), so
    /// that it can look at the writes (test-only: nfit_test's
    /// `flush_hint_writes`).
    Words(Arc<SharedWords>),
}

/// Zeroed 64-bit words that the stack writes through a range (a DIMM's
/// flush hints: libnvdimm writes one to flush) and the platform reads and
/// clears, both with volatile accesses. Shared by the `Nfit` that backs the
/// range with them and by the platform, so it lives as long as either.
///
/// # Invariants
///
/// `ptr` is `buf`'s first word, `buf.len()` words, never moved (`buf` is
/// not touched after construction except through `ptr`).
pub struct SharedWords {
    buf: VVec<u64>,
    ptr: NonNull<u64>,
}

// SAFETY: the words are only accessed through volatile reads and writes,
// the kernel's model of memory another CPU or device writes.
unsafe impl Send for SharedWords {}
// SAFETY: see `Send`.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// `bytes` bytes (a multiple of 8) of zeroed words.
    pub fn zeroed(bytes: u64) -> Result<Arc<Self>> {
        if bytes == 0 || bytes % 8 != 0 {
            return Err(EINVAL);
        }
        let mut buf = zeroed_vec::<u64, Vmalloc>(usize::try_from(bytes / 8).map_err(|_| EINVAL)?, GFP_KERNEL)?;
        let ptr = NonNull::new(buf.as_mut_ptr()).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` is the first of `buf`'s words.
        Ok(Arc::new(SharedWords { buf, ptr }, GFP_KERNEL)?)
    }

    /// How many words.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Word `i` as the last write left it (None past the end).
    pub fn get(&self, i: usize) -> Option<u64> {
        // SAFETY: in bounds (checked); the words live as long as `self`.
        (i < self.len()).then(|| unsafe { core::ptr::read_volatile(self.ptr.as_ptr().add(i)) })
    }

    /// Sets word `i` to 0 (nothing past the end).
    pub fn clear(&self, i: usize) {
        if i < self.len() {
            // SAFETY: as in `get`.
            unsafe { core::ptr::write_volatile(self.ptr.as_ptr().add(i), 0) };
        }
    }
}

impl RangeMemory {
    /// A zeroed vmalloc buffer of `len` bytes.
    pub fn zeroed(len: u64) -> Result<Self> {
        Ok(Self::Virtual(zeroed_vec::<u8, Vmalloc>(usize::try_from(len).map_err(|_| EINVAL)?, GFP_KERNEL)?))
    }

    fn raw(&mut self, start: u64) -> RawRange {
        match self {
            Self::Virtual(v) => RawRange {
                start,
                len: v.len() as u64,
                ptr: v.as_mut_ptr(),
                backing_phys: super::backing_phys_to_raw(None),
            },
            Self::Reserved(r) => RawRange {
                start,
                len: r.len(),
                ptr: r.as_mut_ptr(),
                backing_phys: super::backing_phys_to_raw(Some(r.phys())),
            },
            Self::Words(w) => RawRange {
                start,
                len: w.len() as u64 * 8,
                ptr: w.ptr.as_ptr().cast(),
                backing_phys: super::backing_phys_to_raw(None),
            },
        }
    }
}

/// Opaque handle of an NFIT instance.
#[repr(C)]
struct RawNfit {
    _private: [u8; 0],
}

// Exported by nfit; `export_nfit!` checks its definitions against these.
#[allow(improper_ctypes)]
extern "C" {
    fn rln_nfit_register(parent: *mut bindings::device, platform: *const RawPlatform, out: *mut *mut RawNfit) -> c_int;
    fn rln_nfit_unregister(nfit: *mut RawNfit);
}

/// Signature types, for the checks in `exports`.
mod signatures {
    use super::*;
    /// `rln_nfit_register`
    pub type Register = unsafe extern "C" fn(*mut bindings::device, *const RawPlatform, *mut *mut RawNfit) -> c_int;
    /// `rln_nfit_unregister`
    pub type Unregister = unsafe extern "C" fn(*mut RawNfit);
}

// ---------------------------------------------------------------------------
// Platform side (nfit_test).

/// What an emulated platform implements.
pub trait Platform: Send + Sync + 'static {
    /// Runs ND command `cmd` on the bus (`handle` = None) or a DIMM, in place
    /// on `buf`; `Err` is what C's handler returns as a negative errno.
    /// Notifications the command raises go into `events`.
    fn ctl(&self, handle: Option<u32>, cmd: u32, buf: &mut [u8], events: &mut Events) -> Result<Completion>;

    /// Whether the platform emulates power cuts of namespace byte writes
    /// ([`Platform::media_write`]); nfit then registers its bus with
    /// libnvdimm's test-only hook (`BusDesc::media_fault`).
    const MEDIA_FAULT: bool = false;

    /// How many of the `len` bytes of a namespace byte write at system
    /// physical address `phys` land; fewer than `len` fails the write.
    /// May be called in atomic context.
    fn media_write(&self, _phys: u64, len: u64) -> u64 {
        len
    }
}

/// `media_write` of a platform `P`.
///
/// # Safety
///
/// `ctx` is the platform [`Nfit::register`] handed to nfit, still registered.
unsafe extern "C" fn platform_media_write_raw<P: Platform>(ctx: *const c_void, phys: u64, len: u64) -> u64 {
    // SAFETY: as in `platform_ctl_raw`.
    unsafe { &*(ctx as *const P) }.media_write(phys, len)
}

/// Notifications an emulated platform raises while it answers a command,
/// as firmware raises ACPI `Notify()` on the NFIT root device (C's
/// nfit_test calls `__acpi_nfit_notify()` from a work item) or on a DIMM's
/// device. nfit acts on them after the command: a UC memory error from a
/// work item of its own, a DIMM health event at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events(u32);

impl Events {
    /// `NFIT_NOTIFY_UC_MEMORY_ERROR` (0x81): new poison; scrub for it.
    const UC_MEMORY_ERROR: u32 = 1 << 0;

    /// Raises a UC memory error notification.
    pub fn uc_memory_error(&mut self) {
        self.0 |= Self::UC_MEMORY_ERROR;
    }

    /// Whether a UC memory error notification was raised.
    pub fn has_uc_memory_error(&self) -> bool {
        self.0 & Self::UC_MEMORY_ERROR != 0
    }

    /// `NFIT_NOTIFY_DIMM_HEALTH` (0x81) on the DIMM the command ran on, as
    /// firmware raises it on the DIMM's ACPI device (C's nfit_test calls
    /// `__acpi_nvdimm_notify()` from smart_notify()).
    const DIMM_HEALTH: u32 = 1 << 1;

    /// Raises a DIMM health event on the command's DIMM.
    pub fn dimm_health(&mut self) {
        self.0 |= Self::DIMM_HEALTH;
    }

    /// Whether a DIMM health event was raised.
    pub fn has_dimm_health(&self) -> bool {
        self.0 & Self::DIMM_HEALTH != 0
    }
}

/// Masks an emulated platform declares (see [`RawPlatform`]).
pub struct PlatformMasks {
    /// dimm_cmd_force_en.
    pub dimm_dsm_mask: u64,
    /// bus_cmd_force_en.
    pub bus_cmd_mask: u64,
    /// bus_dsm_mask.
    pub bus_dsm_mask: u64,
    /// family_dsm_mask[NVDIMM_BUS_FAMILY_INTEL].
    pub bus_intel_dsm_mask: u64,
}

/// `ctl` of a platform `P`, as nfit calls it.
///
/// # Safety
///
/// `ctx` is the platform [`Nfit::register`] handed to nfit, still
/// registered; `buf` holds `len` bytes for this call only; `cmd_rc` and
/// `events` are null or valid for a write.
unsafe extern "C" fn platform_ctl_raw<P: Platform>(
    ctx: *const c_void,
    dimm: c_int,
    handle: u32,
    cmd: c_uint,
    buf: *mut u8,
    len: c_uint,
    cmd_rc: *mut c_int,
    events: *mut u32,
) -> c_int {
    // SAFETY: nfit passes back the `ctx` that `Nfit::register` gave it, which
    // the `Nfit` keeps alive until after unregistration, and a buffer of
    // `len` bytes for this call only.
    let (p, buf) = unsafe { (&*(ctx as *const P), core::slice::from_raw_parts_mut(buf, len as usize)) };
    let mut raised = Events::default();
    let r = p.ctl((dimm != 0).then_some(handle), cmd, buf, &mut raised);
    if !events.is_null() {
        // SAFETY: a non-null `events` points to a u32 of the caller.
        unsafe { *events |= raised.0 };
    }
    match r {
        Ok(c) => {
            if !cmd_rc.is_null() {
                // SAFETY: a non-null `cmd_rc` points to an int of the caller.
                unsafe { *cmd_rc = c.cmd_rc };
            }
            c.rc.max(0)
        }
        Err(e) => e.to_errno(),
    }
}

/// An NFIT instance created from an emulated platform; torn down on drop.
pub struct Nfit<P: Platform> {
    raw: NonNull<RawNfit>,
    platform: Pin<KBox<P>>,
    // Dropped after `raw` is unregistered (see `Drop`), in this order.
    _ranges: KVec<RawRange>,
    _backing: KVec<(u64, RangeMemory)>,
}

// SAFETY: the handle is only passed back to nfit.
unsafe impl<P: Platform> Send for Nfit<P> {}
// SAFETY: see `Send`.
unsafe impl<P: Platform> Sync for Nfit<P> {}

impl<P: Platform> Nfit<P> {
    /// Parses `table` and registers its bus under `parent`. nfit copies the
    /// table; `platform` answers commands until the `Nfit` drops.
    ///
    /// `backing` is the memory behind the platform's ranges, by system
    /// physical address: it becomes the storage of their namespaces, so the
    /// `Nfit` owns it until it drops.
    pub fn register(
        parent: &Device,
        table: &[u8],
        masks: PlatformMasks,
        mut backing: KVec<(u64, RangeMemory)>,
        platform: Pin<KBox<P>>,
    ) -> Result<Self> {
        let mut ranges = KVec::with_capacity(backing.len(), GFP_KERNEL)?;
        for (start, mem) in backing.iter_mut() {
            ranges.push(mem.raw(*start), GFP_KERNEL)?;
        }
        let raw = RawPlatform {
            table: table.as_ptr(),
            table_len: table.len(),
            ctx: &*platform as *const P as *const c_void,
            ctl: Some(platform_ctl_raw::<P>),
            dimm_dsm_mask: masks.dimm_dsm_mask as c_ulong,
            bus_cmd_mask: masks.bus_cmd_mask as c_ulong,
            bus_dsm_mask: masks.bus_dsm_mask as c_ulong,
            bus_intel_dsm_mask: masks.bus_intel_dsm_mask as c_ulong,
            ranges: ranges.as_ptr(),
            nranges: ranges.len() as c_uint,
            media_write: if P::MEDIA_FAULT { Some(platform_media_write_raw::<P>) } else { None },
        };
        let mut out = core::ptr::null_mut();
        // SAFETY: `parent` is live; `raw` and the table are valid for the
        // call (nfit copies them); the platform outlives the registration.
        to_result(unsafe { rln_nfit_register(parent.as_raw(), &raw, &mut out) })?;
        Ok(Self { raw: NonNull::new(out).ok_or(EINVAL)?, platform, _ranges: ranges, _backing: backing })
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }
}

impl<P: Platform> Drop for Nfit<P> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; after this returns nfit makes no
        // more calls into the platform.
        unsafe { rln_nfit_unregister(self.raw.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------
// nfit side.

/// An emulated platform as nfit receives it.
///
/// # Invariants
///
/// `ctx`, `ctl` and `ranges` come from a `RawPlatform` that
/// [`Nfit::register`] built, valid until nfit unregisters.
pub struct PlatformHandle {
    ctx: *const c_void,
    ctl: RawPlatformCtl,
    /// The masks it declared.
    pub masks: PlatformMasks,
    ranges: *const RawRange,
    nranges: usize,
    media_write: Option<RawPlatformMediaWrite>,
}

// SAFETY: the platform is `Send + Sync` on its side (`Platform`).
unsafe impl Send for PlatformHandle {}
// SAFETY: see `Send`.
unsafe impl Sync for PlatformHandle {}

impl PlatformHandle {
    /// The memory behind the platform's ranges.
    pub fn ranges(&self) -> impl Iterator<Item = Range> + '_ {
        let raw = if self.ranges.is_null() || self.nranges == 0 {
            &[][..]
        } else {
            // SAFETY: the platform's `Nfit` owns the array (and the memory
            // it points to) until after nfit unregisters the bus.
            unsafe { core::slice::from_raw_parts(self.ranges, self.nranges) }
        };
        // INVARIANT: the platform's `Nfit` owns the memory until after nfit
        // unregisters the bus (see `Nfit`'s field order); `RangeMemory::raw`
        // gave the physical address of reserved memory, contiguous over it.
        raw.iter().filter_map(|r| {
            Some(Range {
                start: r.start,
                len: r.len,
                mem: NonNull::new(r.ptr)?,
                backing_phys: super::backing_phys_from_raw(r.backing_phys),
            })
        })
    }

    /// Whether the platform emulates power cuts of namespace byte writes.
    pub fn has_media_fault(&self) -> bool {
        self.media_write.is_some()
    }

    /// How many of the `len` bytes of a namespace byte write at `phys`
    /// land (all without the platform's power-cut emulation).
    pub fn media_write(&self, phys: u64, len: u64) -> u64 {
        match self.media_write {
            // SAFETY: as in `ctl`.
            Some(f) => unsafe { f(self.ctx, phys, len) }.min(len),
            None => len,
        }
    }

    /// Runs a command on the emulated platform; the notifications it
    /// raises are added to `events`.
    pub fn ctl(&self, handle: Option<u32>, cmd: u32, buf: &mut [u8], events: &mut Events) -> Result<Completion> {
        let mut cmd_rc: c_int = 0;
        // SAFETY: the platform keeps `ctx` valid until it unregisters, and
        // nfit stops calling before `rln_nfit_unregister` returns.
        let rc = unsafe {
            (self.ctl)(
                self.ctx,
                handle.is_some() as c_int,
                handle.unwrap_or(0),
                cmd,
                buf.as_mut_ptr(),
                buf.len() as c_uint,
                &mut cmd_rc,
                &mut events.0,
            )
        };
        to_result(rc.min(0))?;
        Ok(Completion { rc, cmd_rc })
    }
}

/// nfit's side of the ABI.
pub trait NfitCore {
    /// The object behind a handle.
    type Nfit: Send + Sync;
    /// Parses `table` and registers its bus, driven by `platform`.
    fn register(parent: &Device, table: &[u8], platform: PlatformHandle) -> Result<KBox<Self::Nfit>>;
    /// Tears it down.
    fn unregister(nfit: KBox<Self::Nfit>);
}

/// Names the type that implements nfit's side of the ABI, for the exported
/// functions: `export_nfit!(bus::Emulated)`. Expands to a safe impl only.
#[macro_export]
macro_rules! export_nfit {
    ($core:ty) => {
        impl $crate::abi::nfit::Exports for $crate::abi::nfit::NfitModule {
            type Core = $core;
        }
    };
}

/// The module that exports the platform ABI.
pub(crate) struct NfitModule;

/// Which [`NfitCore`] the exported functions call (see [`export_nfit!`]).
pub(crate) trait Exports {
    /// nfit's implementation.
    type Core: NfitCore;
}

/// Wraps a platform descriptor for nfit.
///
/// # Safety
///
/// `raw` was built by [`Nfit::register`].
unsafe fn platform_handle(raw: &RawPlatform, ctl: RawPlatformCtl) -> PlatformHandle {
    // INVARIANT: guaranteed by the caller.
    PlatformHandle {
        ctx: raw.ctx,
        ctl,
        masks: PlatformMasks {
            dimm_dsm_mask: raw.dimm_dsm_mask as u64,
            bus_cmd_mask: raw.bus_cmd_mask as u64,
            bus_dsm_mask: raw.bus_dsm_mask as u64,
            bus_intel_dsm_mask: raw.bus_intel_dsm_mask as u64,
        },
        ranges: raw.ranges,
        nranges: raw.nranges as usize,
        media_write: raw.media_write,
    }
}

/// The functions nfit exports to emulated platforms. Only nfit defines them
/// (`--cfg rln_nfit`).
#[cfg(rln_nfit)]
mod exports {
    use super::*;

    type Core = <NfitModule as Exports>::Core;

    /// `rln_nfit_register`: parses the platform's NFIT and registers its bus.
    ///
    /// # Safety
    ///
    /// `parent` is a live device; `platform` was built by
    /// [`Nfit::register`] (its table spans `table_len` bytes); `out` is
    /// valid for a write.
    #[no_mangle]
    unsafe extern "C" fn rln_nfit_register(
        parent: *mut bindings::device,
        platform: *const RawPlatform,
        out: *mut *mut RawNfit,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (parent, raw) = unsafe { (Device::from_raw(parent), &*platform) };
        let Some(ctl) = raw.ctl else { return EINVAL.to_errno() };
        // SAFETY: guaranteed by the caller.
        let table = unsafe { core::slice::from_raw_parts(raw.table, raw.table_len) };
        // SAFETY: guaranteed by the caller.
        let handle = unsafe { platform_handle(raw, ctl) };
        match Core::register(parent, table, handle) {
            Ok(n) => {
                // SAFETY: `out` is valid (see above).
                unsafe { *out = KBox::into_raw(n).cast() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::Register = rln_nfit_register;

    /// `rln_nfit_unregister`: tears the bus down.
    ///
    /// # Safety
    ///
    /// `nfit` came from `rln_nfit_register` and is given back once.
    #[no_mangle]
    unsafe extern "C" fn rln_nfit_unregister(nfit: *mut RawNfit) {
        // SAFETY: guaranteed by the caller.
        Core::unregister(unsafe { KBox::from_raw(nfit.cast()) })
    }
    const _: signatures::Unregister = rln_nfit_unregister;
}

/// nfit's module parameters. Only C can declare one (`module_param`), so
/// nfit's C file (nfit/exports.c) holds them and hands their values over
/// through these functions; compiled into nfit only (`--cfg rln_nfit`).
#[cfg(rln_nfit)]
pub(crate) mod params {
    extern "C" {
        fn rln_nfit_smart_poll_secs() -> core::ffi::c_uint;
    }

    /// `nfit.smart_poll_secs`: seconds between two reads of each DIMM's
    /// SMART by the opt-in health poll; 0 (the default) is off.
    pub(crate) fn smart_poll_secs() -> u32 {
        // SAFETY: a C function without arguments that reads a module
        // parameter (an `unsigned int`, fixed after load: mode 0444).
        unsafe { rln_nfit_smart_poll_secs() }
    }
}
