// SPDX-License-Identifier: GPL-2.0
//! The C ABI between libnvdimm and the drivers of namespaces (nd_pmem now;
//! nd_btt and dax_pmem later), declared once for both sides.
//!
//! Driver side: [`NdDriver::register_external`] registers a driver static
//! on libnvdimm's nd bus; [`Namespace::probe`] is
//! `nvdimm_namespace_common_probe` plus everything pmem needs to know about
//! the namespace and its region; the [`Namespace`] handle then flushes the
//! region, lists and clears poison. libnvdimm side: [`export_ns_core!`]
//! turns an [`NsCore`] implementation into the exported functions, checked
//! against the same signature types.
//!
//! `dev` in every call is the device the driver is bound to: the namespace
//! itself (namespace_io, namespace_pmem), or later the btt/pfn/dax device
//! that claims it.

use core::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr};
use core::fmt;
use core::ptr::NonNull;

use kernel::error::{code::*, to_result, Error, Result};
use kernel::ThisModule;

use crate::glue::bindings;
use crate::glue::bus::BusType;
use crate::glue::device::Device;
use crate::glue::nd_driver::NdDriver;
use crate::glue::pmem_map::ProviderMap;

/// `DISK_NAME_LEN`: room for "pmem%d.%d" and a suffix.
pub const DISK_NAME_LEN: usize = bindings::DISK_NAME_LEN as usize;

/// What kind of device the driver was bound to.
mod kind {
    /// A namespace used raw (namespace_io or namespace_pmem): /dev/pmemN.
    pub const RAW: u32 = 0;
}

/// A namespace as libnvdimm describes it to the driver bound to it.
#[repr(C)]
struct RawNamespaceInfo {
    /// [`kind`] of the bound device.
    kind: u32,
    /// Physical start of the namespace (`nsio->res.start`).
    start: u64,
    /// Its size in bytes.
    size: u64,
    /// The provider's kernel mapping of `[start, start + size)` (an emulated
    /// platform's memory); null: the range is real memory the driver
    /// reserves and maps itself.
    virt: *mut c_void,
    /// `dev_to_node()` of the bound device.
    numa_node: c_int,
    /// The region's target node.
    target_node: c_int,
    /// N of regionN.
    region_id: c_int,
    /// The region is read-only (`nd_region->ro`).
    read_only: c_int,
    /// The region's ND_REGION_* bits.
    region_flags: c_ulong,
    /// `nvdimm_has_flush()`: 1 flush needed, 0 not needed, -ENXIO unknown.
    has_flush: c_int,
    /// `nvdimm_has_cache()`: CPU caches are not persistent.
    has_cache: c_int,
    /// `is_nvdimm_sync()`: MAP_SYNC is safe.
    sync: c_int,
    /// `pmem_sector_size()`: 512 or 4096.
    sector_size: u32,
    /// `pmem_should_map_pages()`: the range gets struct pages (ZONE_DEVICE),
    /// which fsdax needs.
    map_pages: c_int,
    /// `nvdimm_namespace_disk_name()`, NUL-terminated.
    disk_name: [c_char; DISK_NAME_LEN],
}

/// Called back by `rln_namespace_badblocks` for each bad range:
/// `sector` is in 512-byte units from the start of the namespace.
type RawBadRange = unsafe extern "C" fn(ctx: *mut c_void, sector: u64, count: u64);

// The functions libnvdimm exports to namespace drivers. Signatures are
// stated once; `export_ns_core!` checks libnvdimm's definitions against these.
#[allow(improper_ctypes)]
extern "C" {
    fn rln_nd_driver_register(drv: *const NdDriver, owner: *mut bindings::module) -> c_int;
    fn rln_nd_driver_unregister(drv: *const NdDriver);
    fn rln_namespace_probe(dev: *mut bindings::device, out: *mut RawNamespaceInfo) -> c_int;
    fn rln_namespace_flush(dev: *mut bindings::device) -> c_int;
    fn rln_namespace_badblocks(dev: *mut bindings::device, cb: RawBadRange, ctx: *mut c_void) -> c_int;
    fn rln_namespace_clear_poison(dev: *mut bindings::device, phys: u64, len: u64) -> c_long;
    fn rln_namespace_read_only(dev: *mut bindings::device) -> c_int;
}

/// Signature types of the exported functions, for the checks in `exports`.
mod signatures {
    use super::*;
    /// `rln_nd_driver_register`
    pub type DriverRegister = unsafe extern "C" fn(*const NdDriver, *mut bindings::module) -> c_int;
    /// `rln_nd_driver_unregister`
    pub type DriverUnregister = unsafe extern "C" fn(*const NdDriver);
    /// `rln_namespace_probe`
    pub type Probe = unsafe extern "C" fn(*mut bindings::device, *mut RawNamespaceInfo) -> c_int;
    /// `rln_namespace_flush`
    pub type Flush = unsafe extern "C" fn(*mut bindings::device) -> c_int;
    /// `rln_namespace_badblocks`
    pub type Badblocks = unsafe extern "C" fn(*mut bindings::device, RawBadRange, *mut c_void) -> c_int;
    /// `rln_namespace_clear_poison`
    pub type ClearPoison = unsafe extern "C" fn(*mut bindings::device, u64, u64) -> c_long;
    /// `rln_namespace_read_only`
    pub type ReadOnly = unsafe extern "C" fn(*mut bindings::device) -> c_int;
}

/// A disk name ("pmem0", "pmem1.2", later "pmem0s"), NUL-terminated.
#[derive(Clone, Copy)]
pub struct DiskName([u8; DISK_NAME_LEN]);

impl DiskName {
    /// Formats a name; `EINVAL` if it does not fit with its NUL.
    pub fn new(args: fmt::Arguments<'_>) -> Result<Self> {
        struct Cursor<'a>(&'a mut [u8; DISK_NAME_LEN], usize);
        impl fmt::Write for Cursor<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.1 + s.len();
                // Keep one byte for the NUL.
                if end >= DISK_NAME_LEN || s.bytes().any(|b| b == 0) {
                    return Err(fmt::Error);
                }
                self.0[self.1..end].copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let mut buf = [0u8; DISK_NAME_LEN];
        fmt::write(&mut Cursor(&mut buf, 0), args).map_err(|_| EINVAL)?;
        Ok(Self(buf))
    }

    fn from_raw(raw: &[c_char; DISK_NAME_LEN]) -> Result<Self> {
        let mut buf = [0u8; DISK_NAME_LEN];
        for (b, c) in buf.iter_mut().zip(raw) {
            *b = *c as u8;
        }
        // The name must be terminated inside the array.
        if !buf.contains(&0) || buf[0] == 0 {
            return Err(EINVAL);
        }
        Ok(Self(buf))
    }

    fn to_raw(self) -> [c_char; DISK_NAME_LEN] {
        self.0.map(|b| b as c_char)
    }

    /// The name.
    pub fn as_cstr(&self) -> &CStr {
        // Construction keeps a NUL inside the array.
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }

    /// The bytes of the name, NUL included, as `gendisk.disk_name` wants them.
    pub fn as_bytes_with_nul(&self) -> &[u8; DISK_NAME_LEN] {
        &self.0
    }
}

impl fmt::Display for DiskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_cstr().to_str().unwrap_or("?"))
    }
}

/// What kind of device a namespace driver is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceKind {
    /// A namespace used raw: /dev/pmemN over all of it.
    Raw,
}

/// A namespace as the bound driver sees it ([`RawNamespaceInfo`] checked).
pub struct NamespaceInfo {
    /// What the driver is bound to.
    pub kind: NamespaceKind,
    /// Physical start.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// The provider's mapping of the range, if it has one.
    pub provider_map: Option<ProviderMap>,
    /// NUMA node of the bound device.
    pub numa_node: i32,
    /// The region's target node.
    pub target_node: i32,
    /// N of regionN.
    pub region_id: u32,
    /// The region is read-only.
    pub read_only: bool,
    /// The region's ND_REGION_* bits.
    pub region_flags: u64,
    /// `Ok(true)`: writes need a region flush to be durable (flush hints
    /// or an explicit flush); `Ok(false)`: the platform persists them (ADR);
    /// `Err(ENXIO)`: unknown.
    pub has_flush: Result<bool>,
    /// CPU caches are outside the persistence domain.
    pub has_cache: bool,
    /// Synchronous faults (MAP_SYNC) are safe.
    pub sync: bool,
    /// Logical block size, 512 or 4096.
    pub sector_size: u32,
    /// Give the range struct pages.
    pub map_pages: bool,
    /// The block device's name.
    pub disk_name: DiskName,
}

impl NamespaceInfo {
    fn from_raw(raw: &RawNamespaceInfo) -> Result<Self> {
        let kind = match raw.kind {
            kind::RAW => NamespaceKind::Raw,
            _ => return Err(ENXIO),
        };
        Ok(Self {
            kind,
            start: raw.start,
            size: raw.size,
            // SAFETY: libnvdimm reports the provider's mapping of the region at
            // the namespace's offset, which stays mapped while the bus (and so
            // the bound namespace) exists.
            provider_map: NonNull::new(raw.virt.cast()).map(|p| unsafe { ProviderMap::new(p) }),
            numa_node: raw.numa_node,
            target_node: raw.target_node,
            region_id: u32::try_from(raw.region_id).map_err(|_| EINVAL)?,
            read_only: raw.read_only != 0,
            region_flags: raw.region_flags as u64,
            has_flush: match raw.has_flush {
                0 => Ok(false),
                e if e < 0 => Err(Error::from_errno(e)),
                _ => Ok(true),
            },
            has_cache: raw.has_cache != 0,
            sync: raw.sync != 0,
            sector_size: raw.sector_size,
            map_pages: raw.map_pages != 0,
            disk_name: DiskName::from_raw(&raw.disk_name)?,
        })
    }

    fn to_raw(&self) -> RawNamespaceInfo {
        RawNamespaceInfo {
            kind: match self.kind {
                NamespaceKind::Raw => kind::RAW,
            },
            start: self.start,
            size: self.size,
            virt: self.provider_map.map_or(core::ptr::null_mut(), |p| p.as_ptr().cast()),
            numa_node: self.numa_node,
            target_node: self.target_node,
            region_id: self.region_id as c_int,
            read_only: self.read_only as c_int,
            region_flags: self.region_flags as c_ulong,
            has_flush: match &self.has_flush {
                Ok(f) => *f as c_int,
                Err(e) => e.to_errno(),
            },
            has_cache: self.has_cache as c_int,
            sync: self.sync as c_int,
            sector_size: self.sector_size,
            map_pages: self.map_pages as c_int,
            disk_name: self.disk_name.to_raw(),
        }
    }
}

// ---------------------------------------------------------------------------
// Driver side.

impl NdDriver {
    /// Registers a driver of another module with libnvdimm's nd bus
    /// (`__nd_driver_register`); unregistered when the token drops.
    pub fn register_external(&'static self, module: &'static ThisModule) -> Result<ExternalRegistration> {
        // SAFETY: `self` is a static driver; libnvdimm keeps it registered
        // until `rln_nd_driver_unregister`, which `ExternalRegistration`
        // calls once; `module` defines `self` and outlives the registration.
        to_result(unsafe { rln_nd_driver_register(self, module.as_ptr().cast()) })?;
        Ok(ExternalRegistration(self))
    }
}

/// A driver registered through [`NdDriver::register_external`].
pub struct ExternalRegistration(&'static NdDriver);

impl Drop for ExternalRegistration {
    // Inline: only modules that register external drivers link to the
    // unregister function (libnvdimm defines it).
    #[inline]
    fn drop(&mut self) {
        // SAFETY: registered by `register_external`, unregistered once.
        unsafe { rln_nd_driver_unregister(self.0) }
    }
}

/// The device a namespace driver is bound to, counted, for the calls into
/// libnvdimm that I/O makes (flush, poison).
pub struct Namespace(NonNull<bindings::device>);

// SAFETY: a counted `struct device` reference; libnvdimm's calls lock as
// they need.
unsafe impl Send for Namespace {}
// SAFETY: see `Send`.
unsafe impl Sync for Namespace {}

impl Namespace {
    /// `nvdimm_namespace_common_probe` and what pmem needs to know, for the
    /// device being probed. Fails with C's errno when the namespace is
    /// claimed (ENXIO), too small (ENODEV), locked (EACCES), ...
    pub fn probe(dev: &Device) -> Result<(Self, NamespaceInfo)> {
        // SAFETY: all-zero is a valid `RawNamespaceInfo` (null map, empty name).
        let mut raw: RawNamespaceInfo = unsafe { core::mem::zeroed() };
        // SAFETY: `dev` is live; `raw` is valid for writes during the call.
        to_result(unsafe { rln_namespace_probe(dev.as_raw(), &mut raw) })?;
        let info = NamespaceInfo::from_raw(&raw)?;
        // SAFETY: `dev` is live; the reference is dropped in `Drop`.
        unsafe { bindings::get_device(dev.as_raw()) };
        // A `&Device` is never null.
        Ok((Self(NonNull::new(dev.as_raw()).ok_or(EINVAL)?), info))
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: we hold a reference.
        unsafe { Device::from_raw(self.0.as_ptr()) }
    }

    /// `nvdimm_flush` on the region: drains posted writes to media.
    pub fn flush(&self) -> Result {
        // SAFETY: our device is live.
        to_result(unsafe { rln_namespace_flush(self.0.as_ptr()) })
    }

    /// Calls `f(sector, count)` for each known bad range, in 512-byte
    /// sectors from the start of the namespace.
    pub fn for_each_bad_range(&self, mut f: impl FnMut(u64, u64)) -> Result {
        /// Hands one bad range to `f`.
        ///
        /// # Safety
        ///
        /// `ctx` is the `&mut dyn FnMut` below, live for the call.
        unsafe extern "C" fn visit(ctx: *mut c_void, sector: u64, count: u64) {
            // SAFETY: `ctx` is the `&mut dyn FnMut` below, live for the call.
            let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut(u64, u64)>() };
            f(sector, count)
        }
        let mut f: &mut dyn FnMut(u64, u64) = &mut f;
        // SAFETY: our device is live; libnvdimm calls `visit` only during
        // the call, with our `ctx`.
        to_result(unsafe {
            rln_namespace_badblocks(self.0.as_ptr(), visit, (&mut f as *mut &mut dyn FnMut(u64, u64)).cast())
        })
    }

    /// `nvdimm_clear_poison`: asks the platform to clear `len` bytes of
    /// poison at physical `phys`; returns how many bytes it cleared.
    pub fn clear_poison(&self, phys: u64, len: u64) -> Result<u64> {
        // SAFETY: our device is live.
        let rc = unsafe { rln_namespace_clear_poison(self.0.as_ptr(), phys, len) };
        if rc < 0 {
            return Err(Error::from_errno(rc as i32));
        }
        Ok(rc as u64)
    }

    /// Whether the region is read-only now.
    pub fn read_only(&self) -> bool {
        // SAFETY: our device is live.
        unsafe { rln_namespace_read_only(self.0.as_ptr()) != 0 }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // SAFETY: releases the reference taken in `probe`.
        unsafe { bindings::put_device(self.0.as_ptr()) };
    }
}

// ---------------------------------------------------------------------------
// libnvdimm side.

/// libnvdimm's side of the ABI. `dev` is always the device the calling
/// driver is bound to (or being probed for).
pub trait NsCore {
    /// The nd bus, which namespace drivers register on.
    fn bus() -> &'static BusType;
    /// `nvdimm_namespace_common_probe` plus the description in
    /// [`NamespaceInfo`]. Errors as C's.
    fn probe(dev: &Device) -> Result<NamespaceInfo>;
    /// `nvdimm_flush` on the region of `dev`.
    fn flush(dev: &Device) -> Result;
    /// Reports each bad range of the namespace through `f(sector, count)`,
    /// as `nvdimm_badblocks_populate` would set them.
    fn bad_ranges(dev: &Device, f: &mut dyn FnMut(u64, u64)) -> Result;
    /// `nvdimm_clear_poison`: bytes cleared.
    fn clear_poison(dev: &Device, phys: u64, len: u64) -> Result<u64>;
    /// The region's `ro`.
    fn read_only(dev: &Device) -> bool;
}

/// Names the type that implements libnvdimm's side of the namespace ABI,
/// for the exported functions: `export_ns_core!(NamespaceDrivers)`.
/// Expands to a safe impl only.
#[macro_export]
macro_rules! export_ns_core {
    ($core:ty) => {
        impl $crate::abi::namespace::Exports for $crate::abi::namespace::Libnvdimm {
            type Core = $core;
        }
    };
}

/// The module that exports the namespace ABI.
pub(crate) struct Libnvdimm;

/// Which [`NsCore`] the exported functions call (see [`export_ns_core!`]).
pub(crate) trait Exports {
    /// libnvdimm's implementation.
    type Core: NsCore;
}

/// The functions libnvdimm exports to namespace drivers. Only libnvdimm
/// defines them (`--cfg rln_libnvdimm`).
#[cfg(rln_libnvdimm)]
mod exports {
    use super::*;
    use crate::glue::nd_driver::NdDriverRegistration;

    type Core = <Libnvdimm as Exports>::Core;

    /// `rln_nd_driver_register`: registers a driver of another module.
    ///
    /// # Safety
    ///
    /// `drv` is null or a static `NdDriver` of the module `owner` (or
    /// null), which stays loaded while the driver is registered (see
    /// `NdDriver::register_external`).
    #[no_mangle]
    unsafe extern "C" fn rln_nd_driver_register(drv: *const NdDriver, owner: *mut bindings::module) -> c_int {
        if drv.is_null() || owner.is_null() {
            return EINVAL.to_errno();
        }
        // SAFETY: guaranteed by the caller.
        match unsafe { (&*drv).register_for(Core::bus(), owner) } {
            // Ended by `rln_nd_driver_unregister`.
            Ok(reg) => {
                reg.leak();
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::DriverRegister = rln_nd_driver_register;

    /// `rln_nd_driver_unregister`.
    ///
    /// # Safety
    ///
    /// `drv` was registered by `rln_nd_driver_register`, and its module
    /// unregisters it once.
    #[no_mangle]
    unsafe extern "C" fn rln_nd_driver_unregister(drv: *const NdDriver) {
        // SAFETY: guaranteed by the caller.
        drop(unsafe { NdDriverRegistration::from_registered(&*drv) })
    }
    const _: signatures::DriverUnregister = rln_nd_driver_unregister;

    /// `rln_namespace_probe`: `nvdimm_namespace_common_probe` and the
    /// description of the namespace.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is probing; `out` is valid for a
    /// write.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_probe(dev: *mut bindings::device, out: *mut RawNamespaceInfo) -> c_int {
        // SAFETY: guaranteed by the caller.
        match Core::probe(unsafe { Device::from_raw(dev) }) {
            Ok(info) => {
                // SAFETY: guaranteed by the caller.
                unsafe { out.write(info.to_raw()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::Probe = rln_namespace_probe;

    /// `rln_namespace_flush`: `nvdimm_flush` on the region.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_flush(dev: *mut bindings::device) -> c_int {
        // SAFETY: guaranteed by the caller.
        match Core::flush(unsafe { Device::from_raw(dev) }) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::Flush = rln_namespace_flush;

    /// `rln_namespace_badblocks`: each bad range, through `cb`.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to; `cb` may be called
    /// with `ctx` during the call.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_badblocks(dev: *mut bindings::device, cb: RawBadRange, ctx: *mut c_void) -> c_int {
        // SAFETY: guaranteed by the caller.
        let mut f = |sector: u64, count: u64| unsafe { cb(ctx, sector, count) };
        // SAFETY: guaranteed by the caller.
        let dev = unsafe { Device::from_raw(dev) };
        match Core::bad_ranges(dev, &mut f) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::Badblocks = rln_namespace_badblocks;

    /// `rln_namespace_clear_poison`: bytes cleared, or an errno.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_clear_poison(dev: *mut bindings::device, phys: u64, len: u64) -> c_long {
        // SAFETY: guaranteed by the caller.
        match Core::clear_poison(unsafe { Device::from_raw(dev) }, phys, len) {
            Ok(n) => n.min(c_long::MAX as u64) as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }
    const _: signatures::ClearPoison = rln_namespace_clear_poison;

    /// `rln_namespace_read_only`: the region's `ro`.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_read_only(dev: *mut bindings::device) -> c_int {
        // SAFETY: guaranteed by the caller.
        Core::read_only(unsafe { Device::from_raw(dev) }) as c_int
    }
    const _: signatures::ReadOnly = rln_namespace_read_only;
}
