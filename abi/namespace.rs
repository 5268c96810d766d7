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
//! itself (namespace_io, namespace_pmem), or the btt (later pfn/dax) device
//! that claims it. For a bttN.M, [`NamespaceInfo`] describes the claimed
//! namespace plus the btt's configuration ([`BttConfig`]); nd_btt reaches
//! the namespace's bytes through [`NamespaceIo`] (C's `nsio_rw_bytes`),
//! takes the region's lanes through [`Namespace::acquire_lane`], and
//! publishes the btt's capacity with [`Namespace::set_btt_size`]. The lane
//! mutexes are the region's, lent at probe (with a reference on the region
//! that keeps them): the driver locks them itself, without a call into
//! libnvdimm per lane.
//!
//! For a daxN.M (dax_pmem), [`NamespaceKind::Dax`] carries the pfn setup
//! (the `pgmap` range and altmap, `dataoff`) plus what C's
//! `__dax_pmem_probe` reads besides: the info block's `align` and the
//! claimed namespace's name; the region's id and target node and the
//! namespace's start are the common fields. dax_pmem keeps nothing of the
//! [`Namespace`] handle after its probe (its resources are devm on the
//! daxN.M).

use core::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::error::{code::*, to_result, Error, Result};
use kernel::prelude::*;
use kernel::ThisModule;

pub use super::FuaFlush;
use crate::glue::block::PendingBio;

use crate::glue::bindings;
use crate::glue::bus::BusType;
use crate::glue::device::Device;
use crate::glue::lock::{current_cpu, MutexArray, MutexArrayRef};
use crate::glue::nd_driver::NdDriver;
use crate::glue::pmem_map::ProviderMap;
use crate::formats::pfn::Altmap;

/// `DISK_NAME_LEN`: room for "pmem%d.%d" and a suffix.
pub const DISK_NAME_LEN: usize = bindings::DISK_NAME_LEN as usize;

/// What kind of device the driver was bound to.
mod kind {
    /// A namespace used raw (namespace_io or namespace_pmem): /dev/pmemN.
    pub const RAW: u32 = 0;
    /// A bttN.M claiming a namespace: /dev/pmemNs through nd_btt.
    pub const BTT: u32 = 1;
    /// A pfnN.M claiming a namespace: /dev/pmemN with struct pages (fsdax).
    pub const PFN: u32 = 2;
    /// A daxN.M claiming a namespace: a dax region and its dev_dax
    /// (dax_pmem), with the pfn setup in `pfn` and the rest in `dax`.
    pub const DAX: u32 = 3;
}

/// Room for a namespace's name ("namespace%d.%d" and its NUL).
pub const NS_NAME_LEN: usize = 32;

/// What dax_pmem reads of a bound daxN.M besides its pfn setup, for
/// [`kind::DAX`] (zero otherwise).
#[repr(C)]
struct RawDax {
    /// The info block's `align` (`le32_to_cpu(pfn_sb->align)`, 0 for
    /// blocks before v1.2, as C's `nd_pfn_validate` leaves it).
    align: u32,
    /// `dev_name()` of the claimed namespace, NUL-terminated.
    ns_name: [c_char; NS_NAME_LEN],
}

/// Where a pfn's struct pages live, for [`kind::PFN`].
mod pfn_mode {
    /// In RAM (`-M mem`).
    pub const RAM: u32 = 1;
    /// On the namespace, through an altmap (`-M dev`).
    pub const PMEM: u32 = 2;
}

/// The pfn's setup, for [`kind::PFN`] (zero otherwise): C's
/// `__nvdimm_setup_pfn` results from a valid info block.
#[repr(C)]
struct RawPfn {
    /// [`pfn_mode`].
    mode: u32,
    /// The mapped physical range, both ends inclusive (`pgmap->range`).
    range_start: u64,
    range_end: u64,
    /// Bytes from the start of the mapped range to the data (`dataoff`).
    data_offset: u64,
    /// Bytes of the namespace outside the mapped range.
    pfn_pad: u64,
    /// The altmap (mode pmem only): `base_pfn`, `reserve`, `free`, `end_pfn`.
    altmap_base_pfn: u64,
    altmap_reserve: u64,
    altmap_free: u64,
    altmap_end_pfn: u64,
}

/// The btt's configuration, for [`kind::BTT`] (zero otherwise).
#[repr(C)]
struct RawBtt {
    /// 1 when `uuid` is set (`nd_btt->uuid != NULL`).
    has_uuid: u8,
    uuid: [u8; 16],
    /// `nd_dev_to_uuid(ndns)`: the namespace's uuid, all zero for io.
    parent_uuid: [u8; 16],
    /// `nd_btt->lbasize`, 0 when not chosen.
    lbasize: u32,
    /// `nd_btt_version()`'s choice from the claim class.
    initial_offset: u32,
    version_major: u16,
    version_minor: u16,
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
    /// The physical address of the memory at `virt` when the platform backs
    /// it with physical memory, else `NO_BACKING_PHYS` (see
    /// `ProviderMap::backing_phys`).
    backing_phys: u64,
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
    /// The region's `num_lanes`.
    num_lanes: u32,
    /// For [`kind::BTT`].
    btt: RawBtt,
    /// For [`kind::PFN`] and [`kind::DAX`].
    pfn: RawPfn,
    /// For [`kind::DAX`].
    dax: RawDax,
    /// The region's lane mutexes, `num_lanes` of them (filled by the
    /// exported probe, not by [`NamespaceInfo`]).
    lanes: *mut bindings::mutex,
    /// The device whose release frees `lanes` (the region).
    lanes_owner: *mut bindings::device,
}

/// The flags of a byte write (C: `NVDIMM_IO_ATOMIC`).
const IO_ATOMIC: c_ulong = 1;

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
    fn rln_namespace_flush_fua(dev: *mut bindings::device, bio: *mut bindings::bio) -> c_int;
    fn rln_namespace_badblocks(dev: *mut bindings::device, cb: RawBadRange, ctx: *mut c_void) -> c_int;
    fn rln_namespace_clear_poison(dev: *mut bindings::device, phys: u64, len: u64) -> c_long;
    fn rln_namespace_read_only(dev: *mut bindings::device) -> c_int;
    fn rln_namespace_io_enable(dev: *mut bindings::device, size: u64, out: *mut *mut c_void) -> c_int;
    fn rln_namespace_io_disable(io: *mut c_void);
    fn rln_namespace_rw_bytes(io: *mut c_void, offset: u64, buf: *mut u8, len: usize, write: c_int, flags: c_ulong) -> c_int;
    fn rln_btt_set_size(dev: *mut bindings::device, size: u64) -> c_int;
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
    /// `rln_namespace_flush_fua`
    pub type FlushFua = unsafe extern "C" fn(*mut bindings::device, *mut bindings::bio) -> c_int;
    /// `rln_namespace_badblocks`
    pub type Badblocks = unsafe extern "C" fn(*mut bindings::device, RawBadRange, *mut c_void) -> c_int;
    /// `rln_namespace_clear_poison`
    pub type ClearPoison = unsafe extern "C" fn(*mut bindings::device, u64, u64) -> c_long;
    /// `rln_namespace_read_only`
    pub type ReadOnly = unsafe extern "C" fn(*mut bindings::device) -> c_int;
    /// `rln_namespace_io_enable`
    pub type IoEnable = unsafe extern "C" fn(*mut bindings::device, u64, *mut *mut c_void) -> c_int;
    /// `rln_namespace_io_disable`
    pub type IoDisable = unsafe extern "C" fn(*mut c_void);
    /// `rln_namespace_rw_bytes`
    pub type RwBytes = unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize, c_int, c_ulong) -> c_int;
    /// `rln_btt_set_size`
    pub type BttSetSize = unsafe extern "C" fn(*mut bindings::device, u64) -> c_int;
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
    /// A bttN.M: the BTT over the namespace it claims, /dev/pmemNs.
    Btt(BttConfig),
    /// A pfnN.M: /dev/pmemN over the data area of the namespace it
    /// claims, with struct pages for fsdax.
    Pfn(PfnConfig),
    /// A daxN.M: the pfn setup of the namespace it claims (always with an
    /// altmap unless its mode is ram), for dax_pmem's dax region and
    /// dev_dax (C's `__dax_pmem_probe` reads the same from `nd_dax`).
    Dax(DaxConfig),
}

/// A namespace's name ("namespace0.0"), NUL-terminated inside the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsName([u8; NS_NAME_LEN]);

impl NsName {
    /// The name `name`; EINVAL if it does not fit with its NUL, is empty
    /// or holds a NUL.
    pub fn new(name: &[u8]) -> Result<Self> {
        if name.is_empty() || name.len() >= NS_NAME_LEN || name.contains(&0) {
            return Err(EINVAL);
        }
        let mut buf = [0u8; NS_NAME_LEN];
        buf[..name.len()].copy_from_slice(name);
        Ok(Self(buf))
    }

    fn from_raw(raw: &[c_char; NS_NAME_LEN]) -> Result<Self> {
        let buf = raw.map(|c| c as u8);
        // Terminated inside the array, and not empty.
        if !buf.contains(&0) || buf[0] == 0 {
            return Err(EINVAL);
        }
        Ok(Self(buf))
    }

    fn to_raw(self) -> [c_char; NS_NAME_LEN] {
        self.0.map(|b| b as c_char)
    }

    /// The name.
    pub fn as_cstr(&self) -> &CStr {
        // Construction keeps a NUL inside the array.
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }

    /// The bytes of the name, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        self.as_cstr().to_bytes()
    }
}

/// A bound daxN.M as dax_pmem sees it: what C's `__dax_pmem_probe` reads
/// from `nd_dax`, its info block and the claimed namespace. The namespace's
/// start, the region's id and target node are in [`NamespaceInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaxConfig {
    /// `nvdimm_setup_pfn`'s results: the `pgmap` range (namespace start +
    /// `start_pad` .. end - `end_trunc`), `dataoff`, the altmap.
    pub pfn: PfnConfig,
    /// The info block's `align`, the dax region's alignment.
    pub align: u32,
    /// The claimed namespace's name ("namespace%d.%d", which C parses for
    /// the dev_dax's region and id, and names the metadata's iomem range).
    pub namespace: NsName,
}

/// A bound pfnN.M's mapping, from its validated info block (C's
/// `__nvdimm_setup_pfn` and what `pmem_attach_disk` derives from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PfnConfig {
    /// First physical byte `memremap_pages` maps (namespace start +
    /// `start_pad`).
    pub range_start: u64,
    /// Last physical byte it maps (namespace end - `end_trunc`).
    pub range_end: u64,
    /// Where the data starts, from the start of the mapped range
    /// (`dataoff`): the info block and, for `-M dev`, the memmap come first.
    pub data_offset: u64,
    /// Bytes of the namespace outside the mapped range (`pfn_pad`).
    pub pfn_pad: u64,
    /// `-M dev`: the struct pages are allocated from the namespace's own
    /// pages (`vmem_altmap`); None for `-M mem` (struct pages in RAM).
    pub altmap: Option<Altmap>,
}

impl PfnConfig {
    fn from_raw(raw: &RawPfn) -> Result<Self> {
        let altmap = match raw.mode {
            pfn_mode::RAM => None,
            pfn_mode::PMEM => Some(Altmap {
                base_pfn: raw.altmap_base_pfn,
                reserve: raw.altmap_reserve,
                free: raw.altmap_free,
                end_pfn: raw.altmap_end_pfn,
            }),
            _ => return Err(ENXIO),
        };
        if raw.range_end < raw.range_start {
            return Err(ENXIO);
        }
        Ok(Self {
            range_start: raw.range_start,
            range_end: raw.range_end,
            data_offset: raw.data_offset,
            pfn_pad: raw.pfn_pad,
            altmap,
        })
    }

    fn to_raw(self) -> RawPfn {
        let a = self.altmap.unwrap_or(Altmap { base_pfn: 0, reserve: 0, free: 0, end_pfn: 0 });
        RawPfn {
            mode: if self.altmap.is_some() { pfn_mode::PMEM } else { pfn_mode::RAM },
            range_start: self.range_start,
            range_end: self.range_end,
            data_offset: self.data_offset,
            pfn_pad: self.pfn_pad,
            altmap_base_pfn: a.base_pfn,
            altmap_reserve: a.reserve,
            altmap_free: a.free,
            altmap_end_pfn: a.end_pfn,
        }
    }

    /// Bytes the mapped range covers.
    pub fn range_len(&self) -> u64 {
        self.range_end - self.range_start + 1
    }

    /// The mapping moved by `shift` bytes of physical address (a wrapped
    /// negative distance moves it down): a pfn or dax device on an
    /// emulated range whose bytes live `shift` bytes from its system
    /// physical address (`ProviderMap::backing_phys`). The mapped range and
    /// the altmap move together; the data offset and `pfn_pad` stay. None
    /// if the shift breaks the layout C chose (see
    /// [`crate::formats::pfn::relocate`]).
    pub fn relocated(&self, shift: u64) -> Option<PfnConfig> {
        let (range_start, range_end, altmap) =
            crate::formats::pfn::relocate(self.range_start, self.range_end, self.altmap, shift, &crate::formats::pfn::Platform::X86_64)?;
        Some(PfnConfig { range_start, range_end, altmap, ..*self })
    }

    const NONE: RawPfn = RawPfn {
        mode: 0,
        range_start: 0,
        range_end: 0,
        data_offset: 0,
        pfn_pad: 0,
        altmap_base_pfn: 0,
        altmap_reserve: 0,
        altmap_free: 0,
        altmap_end_pfn: 0,
    };
}

/// A bttN.M's configuration as libnvdimm holds it (C's `struct nd_btt`
/// fields nd_btt reads), with the version fields `nd_btt_version` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BttConfig {
    /// The btt's `uuid`; None until set (C's attach then fails ENODEV,
    /// "incomplete btt configuration").
    pub uuid: Option<[u8; 16]>,
    /// The namespace's uuid (`nd_dev_to_uuid`), all zero for a label-less
    /// namespace: an info block's non-zero `parent_uuid` must equal it.
    pub parent_uuid: [u8; 16],
    /// The btt's `sector_size` (external LBA size); 0 when not chosen.
    pub lbasize: u32,
    /// Where the first arena starts in the namespace: 0 for v2.0, 4096
    /// for v1.1 (`nd_btt->initial_offset`).
    pub initial_offset: u32,
    /// The info block version to look for and write: 2.0 when the
    /// namespace's claim class is BTT2 (v1.2 labels), 1.1 otherwise.
    pub version_major: u16,
    /// See `version_major`.
    pub version_minor: u16,
}

impl BttConfig {
    fn from_raw(raw: &RawBtt) -> Self {
        Self {
            uuid: (raw.has_uuid != 0).then_some(raw.uuid),
            parent_uuid: raw.parent_uuid,
            lbasize: raw.lbasize,
            initial_offset: raw.initial_offset,
            version_major: raw.version_major,
            version_minor: raw.version_minor,
        }
    }

    fn to_raw(self) -> RawBtt {
        RawBtt {
            has_uuid: self.uuid.is_some() as u8,
            uuid: self.uuid.unwrap_or([0; 16]),
            parent_uuid: self.parent_uuid,
            lbasize: self.lbasize,
            initial_offset: self.initial_offset,
            version_major: self.version_major,
            version_minor: self.version_minor,
        }
    }

    const NONE: RawBtt = RawBtt {
        has_uuid: 0,
        uuid: [0; 16],
        parent_uuid: [0; 16],
        lbasize: 0,
        initial_offset: 0,
        version_major: 0,
        version_minor: 0,
    };
}

/// A namespace as the bound driver sees it ([`RawNamespaceInfo`] checked).
pub struct NamespaceInfo {
    /// What the driver is bound to.
    pub kind: NamespaceKind,
    /// Physical start of the namespace.
    pub start: u64,
    /// Size of the namespace in bytes (`nvdimm_namespace_capacity`; for a
    /// btt, the raw size its arenas are laid out in).
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
    /// Logical block size of a raw namespace, 512 or 4096
    /// (`pmem_sector_size`); a btt's is [`BttConfig::lbasize`].
    pub sector_size: u32,
    /// Give the range struct pages.
    pub map_pages: bool,
    /// The block device's name: "pmemN[.M]", with an "s" suffix for a btt.
    pub disk_name: DiskName,
    /// The region's lanes (`nd_region->num_lanes`): [`Namespace::acquire_lane`]
    /// returns a lane below it. On the driver side, the number of lane
    /// mutexes the probe lent.
    pub num_lanes: u32,
}

impl NamespaceInfo {
    fn from_raw(raw: &RawNamespaceInfo) -> Result<Self> {
        let kind = match raw.kind {
            kind::RAW => NamespaceKind::Raw,
            kind::BTT => NamespaceKind::Btt(BttConfig::from_raw(&raw.btt)),
            kind::PFN => NamespaceKind::Pfn(PfnConfig::from_raw(&raw.pfn)?),
            kind::DAX => NamespaceKind::Dax(DaxConfig {
                pfn: PfnConfig::from_raw(&raw.pfn)?,
                align: raw.dax.align,
                namespace: NsName::from_raw(&raw.dax.ns_name)?,
            }),
            _ => return Err(ENXIO),
        };
        Ok(Self {
            kind,
            start: raw.start,
            size: raw.size,
            provider_map: NonNull::new(raw.virt.cast()).map(|p| {
                let backing = super::backing_phys_from_raw(raw.backing_phys);
                // SAFETY: libnvdimm reports the provider's mapping of the
                // region at the namespace's offset, which stays mapped while
                // the bus (and so the bound namespace) exists, with the
                // backing's physical address at that offset.
                unsafe { ProviderMap::new(p, backing) }
            }),
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
            num_lanes: raw.num_lanes,
        })
    }

    fn to_raw(&self) -> RawNamespaceInfo {
        RawNamespaceInfo {
            kind: match self.kind {
                NamespaceKind::Raw => kind::RAW,
                NamespaceKind::Btt(_) => kind::BTT,
                NamespaceKind::Pfn(_) => kind::PFN,
                NamespaceKind::Dax(_) => kind::DAX,
            },
            start: self.start,
            size: self.size,
            virt: self.provider_map.map_or(core::ptr::null_mut(), |p| p.as_ptr().cast()),
            backing_phys: super::backing_phys_to_raw(self.provider_map.and_then(|p| p.backing_phys())),
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
            num_lanes: self.num_lanes,
            btt: match self.kind {
                NamespaceKind::Btt(b) => b.to_raw(),
                _ => BttConfig::NONE,
            },
            pfn: match self.kind {
                NamespaceKind::Pfn(p) | NamespaceKind::Dax(DaxConfig { pfn: p, .. }) => p.to_raw(),
                _ => PfnConfig::NONE,
            },
            dax: match self.kind {
                NamespaceKind::Dax(d) => RawDax { align: d.align, ns_name: d.namespace.to_raw() },
                _ => RawDax { align: 0, ns_name: [0; NS_NAME_LEN] },
            },
            lanes: core::ptr::null_mut(),
            lanes_owner: core::ptr::null_mut(),
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
/// libnvdimm that I/O makes (flush, poison), and the region's lanes.
pub struct Namespace {
    dev: NonNull<bindings::device>,
    /// The region's lane mutexes, lent by libnvdimm at probe.
    lanes: MutexArrayRef,
}

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
        let mut info = NamespaceInfo::from_raw(&raw)?;
        if raw.lanes_owner.is_null() {
            return Err(ENXIO);
        }
        // SAFETY: libnvdimm's probe set `lanes_owner` to the live region of
        // `dev` (live while `dev`, its child, is being probed) and `lanes`
        // to its `MutexArray` of `num_lanes` mutexes, freed only when that
        // device is released.
        let lanes = unsafe {
            MutexArrayRef::from_raw(raw.lanes, raw.num_lanes as usize, Device::from_raw(raw.lanes_owner))
        }?;
        info.num_lanes = lanes.len() as u32;
        // SAFETY: `dev` is live; the reference is dropped in `Drop`.
        unsafe { bindings::get_device(dev.as_raw()) };
        // A `&Device` is never null.
        Ok((Self { dev: NonNull::new(dev.as_raw()).ok_or(EINVAL)?, lanes }, info))
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: we hold a reference.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// `nvdimm_flush` on the region: drains posted writes to media.
    pub fn flush(&self) -> Result {
        // SAFETY: our device is live.
        to_result(unsafe { rln_namespace_flush(self.dev.as_ptr()) })
    }

    /// `nvdimm_flush(nd_region, bio)` after the data of REQ_FUA bio `bio`:
    /// the region's provider may keep the bio and end it itself
    /// ([`FuaFlush::Queued`], virtio_pmem), or the flush ran and the caller
    /// ends the bio with its status.
    pub fn flush_fua(&self, bio: PendingBio) -> FuaFlush {
        let raw = bio.into_raw();
        // SAFETY: our device is live; `raw` is handed over and comes back
        // unless the region's provider kept it.
        let rc = unsafe { rln_namespace_flush_fua(self.dev.as_ptr(), raw) };
        // SAFETY: `raw` came from `into_raw`; the exported function
        // follows `FuaFlush::into_raw`.
        unsafe { FuaFlush::from_raw(rc, raw) }
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
            rln_namespace_badblocks(self.dev.as_ptr(), visit, (&mut f as *mut &mut dyn FnMut(u64, u64)).cast())
        })
    }

    /// `nvdimm_clear_poison`: asks the platform to clear `len` bytes of
    /// poison at physical `phys`; returns how many bytes it cleared.
    pub fn clear_poison(&self, phys: u64, len: u64) -> Result<u64> {
        // SAFETY: our device is live.
        let rc = unsafe { rln_namespace_clear_poison(self.dev.as_ptr(), phys, len) };
        if rc < 0 {
            return Err(Error::from_errno(rc as i32));
        }
        Ok(rc as u64)
    }

    /// Whether the region is read-only now.
    pub fn read_only(&self) -> bool {
        // SAFETY: our device is live.
        unsafe { rln_namespace_read_only(self.dev.as_ptr()) != 0 }
    }

    /// `devm_namespace_enable(dev, ndns, size)`: reserves and maps the
    /// first `size` bytes of the namespace (the claimed one, for a btt) and
    /// reads its bad blocks, for byte I/O. Undone when the result drops
    /// (`devm_namespace_disable`). EBUSY if the range is reserved already,
    /// EINVAL if `size` exceeds the namespace.
    pub fn enable_io(&self, size: u64) -> Result<NamespaceIo> {
        let mut io = core::ptr::null_mut();
        // SAFETY: our device is live; `io` is valid for a write.
        to_result(unsafe { rln_namespace_io_enable(self.dev.as_ptr(), size, &mut io) })?;
        // INVARIANT: libnvdimm returned a live handle on success.
        Ok(NamespaceIo { raw: NonNull::new(io).ok_or(ENOMEM)?, size })
    }

    /// `nd_region_acquire_lane`: locks the lane of the current CPU
    /// (`cpu % num_lanes`, one mutex per lane; may sleep; EINVAL for a
    /// region without lanes). The lane is released when the guard drops,
    /// which must be in the same task: the guard is neither `Send` nor
    /// `Sync`.
    #[inline]
    pub fn acquire_lane(&self) -> Result<Lane<'_>> {
        let lane = current_cpu().checked_rem(self.lanes.len() as u32).ok_or(EINVAL)?;
        self.lanes.lock(lane as usize)?;
        // INVARIANT: lane `lane` is locked for this task.
        Ok(Lane { ns: self, lane, _not_send: PhantomData })
    }

    /// Publishes the btt's capacity in bytes (C: `nd_btt->size`, what the
    /// bttN.M `size` attribute shows while bound). ENXIO unless the device
    /// is a btt.
    pub fn set_btt_size(&self, size: u64) -> Result {
        // SAFETY: our device is live.
        to_result(unsafe { rln_btt_set_size(self.dev.as_ptr(), size) })
    }
}

/// A region lane held by the current task (see [`Namespace::acquire_lane`]).
///
/// # Invariants
///
/// Lane `lane` of `ns`'s lanes is locked by the task that created this
/// guard.
pub struct Lane<'a> {
    ns: &'a Namespace,
    lane: u32,
    _not_send: PhantomData<*mut ()>,
}

impl Lane<'_> {
    /// The lane number, below [`NamespaceInfo::num_lanes`].
    pub fn index(&self) -> u32 {
        self.lane
    }
}

impl Drop for Lane<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: by the type invariant this task holds the lane; the guard
        // is not `Send`, so this is the same task.
        unsafe { self.ns.lanes.unlock(self.lane as usize) };
    }
}

/// Flags of [`NamespaceIo::write_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFlags {
    /// May sleep: known poison under an aligned write is cleared first.
    Normal,
    /// `NVDIMM_IO_ATOMIC`: never sleeps to clear poison; a write over
    /// known poison lands but returns EIO.
    Atomic,
}

/// Byte access to a namespace (C: `nvdimm_read_bytes`/`nvdimm_write_bytes`
/// over `nsio_rw_bytes`), from [`Namespace::enable_io`].
///
/// # Invariants
///
/// `raw` is a live handle of `rln_namespace_io_enable`, disabled once, on drop.
pub struct NamespaceIo {
    raw: NonNull<c_void>,
    size: u64,
}

// SAFETY: libnvdimm's handle is shared by design: concurrent byte I/O is
// what C allows too (callers order overlapping writes themselves).
unsafe impl Send for NamespaceIo {}
// SAFETY: see `Send`.
unsafe impl Sync for NamespaceIo {}

impl NamespaceIo {
    /// Bytes enabled.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads `buf.len()` bytes at `offset`: EFAULT beyond the enabled size,
    /// EIO when a known bad sector overlaps (a 512-byte aligned span) or
    /// the media poisons the copy. An empty read succeeds.
    #[inline]
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result {
        // SAFETY: the handle is live (type invariant); `buf` is writable
        // for its length during the call.
        io_result(unsafe { rln_namespace_rw_bytes(self.raw.as_ptr(), offset, buf.as_mut_ptr(), buf.len(), 0, 0) })
    }

    /// Writes `buf` at `offset` around the CPU cache, then flushes the
    /// region (`nvdimm_flush`). Over known bad sectors, a 512-byte aligned
    /// [`WriteFlags::Normal`] write first asks the platform to clear the
    /// poison (EIO if not all of it cleared); any other write gets EIO. In
    /// both cases the data is written anyway, as C does. EFAULT beyond the
    /// enabled size.
    #[inline]
    pub fn write_bytes(&self, offset: u64, buf: &[u8], flags: WriteFlags) -> Result {
        let flags = match flags {
            WriteFlags::Normal => 0,
            WriteFlags::Atomic => IO_ATOMIC,
        };
        // SAFETY: the handle is live (type invariant); libnvdimm only reads
        // `buf` for its length during the call.
        io_result(unsafe {
            rln_namespace_rw_bytes(self.raw.as_ptr(), offset, buf.as_ptr().cast_mut(), buf.len(), 1, flags)
        })
    }
}

/// `to_result` for the byte I/O, whose success is the path taken per
/// sector several times: tested inline, the errno built out of line
/// (`kernel::error::to_result` is a call on every I/O).
#[inline]
fn io_result(rc: c_int) -> Result {
    if rc == 0 {
        Ok(())
    } else {
        Err(io_error(rc))
    }
}

#[cold]
fn io_error(rc: c_int) -> Error {
    Error::from_errno(rc)
}

impl Drop for NamespaceIo {
    fn drop(&mut self) {
        // SAFETY: live handle, disabled once (type invariant).
        unsafe { rln_namespace_io_disable(self.raw.as_ptr()) };
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // SAFETY: releases the reference taken in `probe`.
        unsafe { bindings::put_device(self.dev.as_ptr()) };
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
    /// `nvdimm_flush(nd_region, bio)` on the region of `dev` after the
    /// data of REQ_FUA bio `bio` (see [`Namespace::flush_fua`]).
    fn flush_fua(dev: &Device, bio: PendingBio) -> FuaFlush;
    /// Reports each bad range of the namespace through `f(sector, count)`,
    /// as `nvdimm_badblocks_populate` would set them.
    fn bad_ranges(dev: &Device, f: &mut dyn FnMut(u64, u64)) -> Result;
    /// `nvdimm_clear_poison`: bytes cleared.
    fn clear_poison(dev: &Device, phys: u64, len: u64) -> Result<u64>;
    /// The region's `ro`.
    fn read_only(dev: &Device) -> bool;
    /// libnvdimm's byte access to a namespace (C's enabled `nsio`).
    type Io: Send + Sync;
    /// `devm_namespace_enable(dev, ndns, size)` for the namespace `dev` is
    /// or claims.
    fn io_enable(dev: &Device, size: u64) -> Result<Pin<KBox<Self::Io>>>;
    /// `nsio_rw_bytes(READ)`.
    fn io_read(io: &Self::Io, offset: u64, buf: &mut [u8]) -> Result;
    /// `nsio_rw_bytes(WRITE)`; `atomic`: `NVDIMM_IO_ATOMIC`.
    fn io_write(io: &Self::Io, offset: u64, buf: &[u8], atomic: bool) -> Result;
    /// The lane locks of the region of `dev`, one per lane (`num_lanes`),
    /// and the device whose release frees them (they are lent to the
    /// driver with a reference on it).
    fn lanes(dev: &Device) -> Result<(&MutexArray, &Device)>;
    /// Records the btt's capacity (`nd_btt->size`); ENXIO unless `dev` is
    /// a btt.
    fn set_btt_size(dev: &Device, size: u64) -> Result;
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
        let dev = unsafe { Device::from_raw(dev) };
        let probed = Core::probe(dev).and_then(|info| Ok((info, Core::lanes(dev)?)));
        match probed {
            Ok((info, (locks, owner))) => {
                let mut raw = info.to_raw();
                raw.lanes = locks.as_raw();
                raw.lanes_owner = owner.as_raw();
                raw.num_lanes = locks.len() as u32;
                // SAFETY: guaranteed by the caller.
                unsafe { out.write(raw) };
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

    /// `rln_namespace_flush_fua`: `nvdimm_flush(nd_region, bio)` after the
    /// data of a REQ_FUA bio.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to; `bio` was handed over
    /// with `PendingBio::into_raw`, and comes back unless the return value
    /// is NVDIMM_FLUSH_ASYNC.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_flush_fua(dev: *mut bindings::device, bio: *mut bindings::bio) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (dev, pending) = unsafe { (Device::from_raw(dev), PendingBio::from_raw(bio)) };
        Core::flush_fua(dev, pending).into_raw(bio)
    }
    const _: signatures::FlushFua = rln_namespace_flush_fua;

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

    type Io = <Core as NsCore>::Io;

    /// `rln_namespace_io_enable`: a handle for `rln_namespace_rw_bytes`.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to (or probing); `out`
    /// is valid for a write.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_io_enable(dev: *mut bindings::device, size: u64, out: *mut *mut c_void) -> c_int {
        // SAFETY: guaranteed by the caller.
        match Core::io_enable(unsafe { Device::from_raw(dev) }, size) {
            Ok(io) => {
                // SAFETY: the box is only turned back into one (never moved
                // out of) by `rln_namespace_io_disable`.
                let io = KBox::into_raw(unsafe { Pin::into_inner_unchecked(io) });
                // SAFETY: guaranteed by the caller.
                unsafe { out.write(io.cast()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::IoEnable = rln_namespace_io_enable;

    /// `rln_namespace_io_disable`: drops the handle.
    ///
    /// # Safety
    ///
    /// `io` came from `rln_namespace_io_enable` and is used no more.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_io_disable(io: *mut c_void) {
        // SAFETY: the box leaked by `rln_namespace_io_enable`, given back once.
        drop(unsafe { KBox::from_raw(io.cast::<Io>()) });
    }
    const _: signatures::IoDisable = rln_namespace_io_disable;

    /// `rln_namespace_rw_bytes`: `nsio_rw_bytes`.
    ///
    /// # Safety
    ///
    /// `io` is a live handle of `rln_namespace_io_enable`; `buf` is valid
    /// for `len` bytes of reads, and of writes when `write` is 0.
    #[no_mangle]
    unsafe extern "C" fn rln_namespace_rw_bytes(
        io: *mut c_void,
        offset: u64,
        buf: *mut u8,
        len: usize,
        write: c_int,
        flags: c_ulong,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let io = unsafe { &*io.cast::<Io>() };
        let rc = if len == 0 {
            Ok(())
        } else if write != 0 {
            // SAFETY: guaranteed by the caller.
            let buf = unsafe { core::slice::from_raw_parts(buf, len) };
            Core::io_write(io, offset, buf, flags & IO_ATOMIC != 0)
        } else {
            // SAFETY: guaranteed by the caller.
            let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
            Core::io_read(io, offset, buf)
        };
        match rc {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::RwBytes = rln_namespace_rw_bytes;

    /// `rln_btt_set_size`: `nd_btt->size = size`.
    ///
    /// # Safety
    ///
    /// `dev` is the live device a driver is bound to.
    #[no_mangle]
    unsafe extern "C" fn rln_btt_set_size(dev: *mut bindings::device, size: u64) -> c_int {
        // SAFETY: guaranteed by the caller.
        match Core::set_btt_size(unsafe { Device::from_raw(dev) }, size) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::BttSetSize = rln_btt_set_size;
}
