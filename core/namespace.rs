// SPDX-License-Identifier: GPL-2.0
//! Namespaces: namespaceN.M, the children of a region that block drivers
//! (nd_pmem) bind to.
//!
//! A region whose DIMMs have no labels gets one label-less io namespace over
//! its whole range. A labeled region gets one pmem namespace per label set
//! on its DIMMs, plus an idle seed namespace waiting to be configured.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;

use kernel::alloc::KVVec;

use crate::bus::{nd_type, ND_BUS};
use crate::dimm::ndd;
use crate::formats::label::{self as scan, DimmLabels, InterleaveSetId, PmemRegion};
use crate::formats::label::LabelArea;
use crate::formats::label::layout::NSLABEL_NAME_LEN;
use crate::formats::label::ClaimClass;
use crate::glue::device::{Device, DeviceType, Placement, Registration};
use crate::glue::bus::BusType;
use crate::glue::namespace_abi::{DiskName, NamespaceInfo, NamespaceKind, NsCore};
use crate::glue::nd_driver::{NdDriver, NdEvent};
use crate::glue::pmem_map::ProviderMap;
use crate::glue::sysfs::{self, Attribute, Page};
use crate::region::{self, Region};
use crate::{attribute_group, dev_dbg, dev_err, device_object, group_list};

/// Which flavour of namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Label-less: the region's whole range (`nd_namespace_io`).
    Io,
    /// Described by labels (`nd_namespace_pmem`).
    Pmem,
}

/// A namespace about to be registered.
pub(crate) struct NewNamespace {
    kind: Kind,
    id: u32,
    /// Offset of the namespace in the region's range, and its size (0 for
    /// an unconfigured seed).
    offset: u64,
    size: u64,
    uuid: Option<[u8; 16]>,
    name: [u8; NSLABEL_NAME_LEN],
    lbasize: u64,
    claim_class: ClaimClass,
    extents: u32,
}

impl NewNamespace {
    /// An idle pmem namespace with no configuration.
    pub(crate) fn seed(id: u32) -> Self {
        Self {
            kind: Kind::Pmem,
            id,
            offset: 0,
            size: 0,
            uuid: None,
            name: [0; NSLABEL_NAME_LEN],
            lbasize: 0,
            claim_class: ClaimClass::None,
            extents: 0,
        }
    }

    fn io(size: u64) -> Self {
        Self { kind: Kind::Io, size, ..Self::seed(0) }
    }

    fn from_labels(id: u32, found: &scan::Namespace) -> Self {
        Self {
            kind: Kind::Pmem,
            id,
            offset: found.offset,
            size: found.size,
            uuid: Some(found.uuid),
            name: found.name,
            lbasize: found.lbasize,
            claim_class: found.claim_class,
            extents: found.labels().len() as u32,
        }
    }
}

/// namespaceN.M.
#[pin_data]
pub(crate) struct Namespace {
    dev: Device,
    /// What the labels (or the region) said when it registered.
    cfg: NewNamespace,
    /// System physical start: the region's start plus `cfg.offset`.
    start: u64,
    force_raw: AtomicBool,
}

device_object!(Namespace, dev);

impl Namespace {
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    pub(crate) fn kind(&self) -> Kind {
        self.cfg.kind
    }

    /// The M of namespaceN.M for pmem namespaces (the block device name
    /// uses it), 0 for io.
    pub(crate) fn id(&self) -> u32 {
        self.cfg.id
    }

    /// System physical start and size.
    pub(crate) fn range(&self) -> (u64, u64) {
        (self.start, self.cfg.size)
    }

    pub(crate) fn region(&self) -> &Region {
        Region::of_child(&self.dev).expect("namespace without its region")
    }

    pub(crate) fn has_uuid(&self) -> bool {
        self.cfg.uuid.is_some()
    }

    /// Sector size of the block device: 4096 when the label asks for it,
    /// 512 otherwise (`pmem_sector_size`).
    pub(crate) fn sector_size(&self) -> u32 {
        if self.cfg.lbasize == 4096 { 4096 } else { 512 }
    }

    pub(crate) fn force_raw(&self) -> bool {
        self.force_raw.load(Ordering::Relaxed)
    }

    /// Whether pages would be mapped for it (`pmem_should_map_pages`):
    /// only on regions that ask for it, unless forced raw.
    pub(crate) fn maps_pages(&self) -> bool {
        self.region().test_flag(region::flag::PAGEMAP) && !self.force_raw()
    }

    /// The namespace behind `dev`, if it is one.
    pub(crate) fn of(dev: &Device) -> Option<&Namespace> {
        IO_TYPE.downcast(dev).or_else(|| PMEM_TYPE.downcast(dev))
    }
}

/// The nd type of a namespace device, if `dev` is one.
pub(crate) fn nd_type_of(dev: &Device) -> Option<u32> {
    if dev.is_type(&IO_TYPE) {
        Some(nd_type::NAMESPACE_IO)
    } else if dev.is_type(&PMEM_TYPE) {
        Some(nd_type::NAMESPACE_PMEM)
    } else {
        None
    }
}

/// Tells the driver bound to a region's child that the region changed
/// (`nd_device_notify`): the block driver re-reads read-only or bad blocks.
pub(crate) fn notify(child: &Device, event: NdEvent) {
    let _guard = child.lock();
    if let Some(drv) = child.driver() {
        NdDriver::of(drv).notify(child, event);
    }
}

fn modalias_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", nd_type_of(&ns.dev).unwrap_or(0));
    Ok(())
}
static MODALIAS: Attribute<Namespace> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(ns: &Namespace, page: &mut Page) -> Result {
    let name = match ns.cfg.kind {
        Kind::Io => "nd_namespace_io",
        Kind::Pmem => "nd_namespace_pmem",
    };
    let _ = writeln!(page, "{name}");
    Ok(())
}
static DEVTYPE: Attribute<Namespace> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: Namespace, dir = None, [MODALIAS, DEVTYPE]);

fn nstype_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.region().nstype());
    Ok(())
}
static NSTYPE: Attribute<Namespace> = Attribute::ro(c"nstype", nstype_show);

fn size_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.cfg.size);
    Ok(())
}
static SIZE: Attribute<Namespace> = Attribute::ro(c"size", size_show);

// mode: the personality: "raw" until a btt/pfn/dax claims it, "memory" on
// regions that map pages.
fn mode_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let _ = writeln!(page, "{}", if ns.maps_pages() { "memory" } else { "raw" });
    Ok(())
}
static MODE: Attribute<Namespace> = Attribute::ro(c"mode", mode_show);

fn uuid_show(ns: &Namespace, page: &mut Page) -> Result {
    match &ns.cfg.uuid {
        Some(u) => {
            let _ = writeln!(
                page,
                "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]
            );
        }
        None => {
            let _ = writeln!(page);
        }
    }
    Ok(())
}
static UUID: Attribute<Namespace> = Attribute::ro(c"uuid", uuid_show).visible_if(pmem_only);

// holder: the btt/pfn/dax device claiming the namespace; none can yet.
fn holder_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let _ = writeln!(page);
    Ok(())
}
static HOLDER: Attribute<Namespace> = Attribute::ro(c"holder", holder_show);

// resource: where the namespace starts; ENXIO before it has any capacity.
fn resource_show(ns: &Namespace, page: &mut Page) -> Result {
    if ns.cfg.size == 0 {
        return Err(ENXIO);
    }
    let _ = writeln!(page, "{:#x}", ns.start);
    Ok(())
}
static RESOURCE: Attribute<Namespace> = Attribute::admin_ro(c"resource", resource_show);

fn alt_name_show(ns: &Namespace, page: &mut Page) -> Result {
    let len = ns.cfg.name.iter().position(|&b| b == 0).unwrap_or(ns.cfg.name.len());
    page.write_bytes(&ns.cfg.name[..len]);
    let _ = writeln!(page);
    Ok(())
}
static ALT_NAME: Attribute<Namespace> = Attribute::ro(c"alt_name", alt_name_show).visible_if(pmem_only);

fn force_raw_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.force_raw() as u32);
    Ok(())
}
fn force_raw_store(ns: &Namespace, input: &[u8]) -> Result {
    ns.force_raw.store(sysfs::parse_bool(input)?, Ordering::Relaxed);
    Ok(())
}
static FORCE_RAW: Attribute<Namespace> = Attribute::rw(c"force_raw", force_raw_show, force_raw_store);

// sector_size: the supported sizes with the current one in brackets.
fn sector_size_show(ns: &Namespace, page: &mut Page) -> Result {
    page.write_size_select(ns.cfg.lbasize, &[512, 4096]);
    Ok(())
}
static SECTOR_SIZE: Attribute<Namespace> = Attribute::ro(c"sector_size", sector_size_show).visible_if(pmem_only);

// dpa_extents: how many DIMM extents the namespace's labels describe.
fn dpa_extents_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.cfg.extents);
    Ok(())
}
static DPA_EXTENTS: Attribute<Namespace> = Attribute::ro(c"dpa_extents", dpa_extents_show).visible_if(pmem_only);

fn holder_class_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let class = match ns.cfg.claim_class {
        ClaimClass::None => "",
        ClaimClass::Btt | ClaimClass::Btt2 => "btt",
        ClaimClass::Pfn => "pfn",
        ClaimClass::Dax => "dax",
        ClaimClass::Unknown => "<unknown>",
    };
    let _ = writeln!(page, "{class}");
    Ok(())
}
static HOLDER_CLASS: Attribute<Namespace> = Attribute::ro(c"holder_class", holder_class_show);

// Label-less namespaces have no uuid, name, sector size or extents.
fn pmem_only(ns: &Namespace, attr: &'static Attribute<Namespace>) -> Option<u16> {
    (ns.cfg.kind == Kind::Pmem).then(|| attr.mode())
}


attribute_group!(static NAMESPACE_GROUP: Namespace, dir = None, [
    NSTYPE, SIZE, MODE, UUID, HOLDER, RESOURCE, ALT_NAME, FORCE_RAW, SECTOR_SIZE,
    DPA_EXTENTS, HOLDER_CLASS
]);
group_list!(static NAMESPACE_GROUPS = [ND_DEVICE_GROUP, NAMESPACE_GROUP]);
pub(crate) static IO_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_io", &NAMESPACE_GROUPS);
pub(crate) static PMEM_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_pmem", &NAMESPACE_GROUPS);

/// Registers namespace`region`.`id` on the nd bus.
#[inline(never)]
pub(crate) fn register(region: &Region, new: NewNamespace) -> Result<Registration<Namespace>> {
    let (rstart, _) = region.range();
    let id = new.id;
    let ty = match new.kind {
        Kind::Io => &IO_TYPE,
        Kind::Pmem => &PMEM_TYPE,
    };
    let init = try_pin_init!(Namespace {
        dev: Device::zeroed(),
        start: rstart + new.offset,
        cfg: new,
        force_raw: AtomicBool::new(false),
    }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(&ND_BUS),
        groups: core::ptr::null(),
        devt: 0,
    };
    Registration::new(init, place, format_args!("namespace{}.{}", region.id(), id))
}

/// The namespaces a region's DIMMs describe (`nd_region_register_namespaces`):
/// Not inlined: its temporaries would sit in the probe's frame while the
/// namespaces register and their drivers probe, deep in the stack.
/// one io namespace without labels; with labels, one pmem namespace per
/// label set, in C's order, or an idle seed when there is none.
#[inline(never)]
pub(crate) fn scan(region: &Region) -> Result<KVec<NewNamespace>> {
    let mut out = KVec::new();
    let (start, size) = region.range();
    if region.nstype() == nd_type::NAMESPACE_IO {
        out.push(NewNamespace::io(size), GFP_KERNEL)?;
        return Ok(out);
    }

    // A snapshot of every DIMM's label area (None: the DIMM is disabled),
    // scanned together under the bus lock like C's mapping locks.
    let found = region.bus().with_lock(|| -> Result<KVec<scan::Namespace>> {
        let mut areas: KVec<Option<KVec<u8>>> = KVec::new();
        for m in region.mappings() {
            areas.push(m.dimm.label_snapshot().ok(), GFP_KERNEL)?;
        }
        let mut mappings = KVec::new();
        for (m, data) in region.mappings().iter().zip(areas.iter()) {
            let dimm = match data {
                Some(d) => DimmLabels::Enabled(LabelArea::parse(d).ok()),
                None => DimmLabels::Disabled {
                    locked: m.dimm.test_flag(ndd::LOCKED),
                    labeling: m.dimm.test_flag(ndd::LABELING),
                },
            };
            mappings.push(scan::Mapping { dimm, start: m.start, size: m.size }, GFP_KERNEL)?;
        }
        let cookies = region.cookies().ok_or(ENXIO)?;
        let set = InterleaveSetId {
            cookie1: cookies.cookie1,
            cookie2: cookies.cookie2,
            altcookie: cookies.altcookie,
            type_guid: cookies.type_guid,
        };
        let pmem = PmemRegion { set, start, mappings: &mappings };
        let mut buf = KVVec::from_elem(scan::Namespace::EMPTY, pmem.max_namespaces(), GFP_KERNEL)?;
        let found = match pmem.scan(&mut buf, |note| dev_dbg!(region.device(), "{}\n", note)) {
            Ok(found) => found,
            Err(e) => {
                dev_err!(region.device(), "{}\n", e);
                return Err(Error::from_errno(-e.probe_errno()));
            }
        };
        let mut list = KVec::with_capacity(found.len(), GFP_KERNEL)?;
        for ns in found.iter() {
            list.push(*ns, GFP_KERNEL)?;
        }
        Ok(list)
    })?;
    for f in found.iter() {
        let id = region.alloc_ns_id()?;
        out.push(NewNamespace::from_labels(id, f), GFP_KERNEL)?;
    }
    if out.is_empty() {
        out.push(NewNamespace::seed(region.alloc_ns_id()?), GFP_KERNEL)?;
    }
    Ok(out)
}

/// libnvdimm's side of the namespace-driver ABI (glue/namespace_abi.rs):
/// what nd_pmem learns about the namespace it binds, and the region
/// services its I/O uses.
pub(crate) struct NamespaceDrivers;

/// A namespace needs at least a page (`ND_MIN_NAMESPACE_SIZE`).
const MIN_NAMESPACE_SIZE: u64 = 4096;

impl NsCore for NamespaceDrivers {
    fn bus() -> &'static BusType {
        &ND_BUS
    }

    // nvdimm_namespace_common_probe(), then the description pmem needs.
    fn probe(dev: &Device) -> Result<NamespaceInfo> {
        // btt/pfn/dax seeds claim no namespace yet.
        let ns = Namespace::of(dev).ok_or(ENODEV)?;
        let region = ns.region();
        if region.mappings().iter().any(|m| m.dimm.test_flag(ndd::LOCKED)) {
            dev_dbg!(dev, "a DIMM of the region is locked\n");
            return Err(EACCES);
        }
        let (start, size) = ns.range();
        if size < MIN_NAMESPACE_SIZE {
            dev_dbg!(dev, "{:#x}, too small must be at least {:#x}\n", size, MIN_NAMESPACE_SIZE);
            return Err(ENODEV);
        }
        if ns.maps_pages() && (start | (start + size)) % MEMREMAP_COMPAT_ALIGN != 0 {
            dev_err!(dev, "[{:#x}-{:#x}] misaligned, unable to map\n", start, start + size - 1);
            return Err(Error::from_errno(-95)); // EOPNOTSUPP
        }
        if ns.kind() == Kind::Pmem && !ns.has_uuid() {
            dev_dbg!(dev, "uuid not set\n");
            return Err(ENODEV);
        }
        let (rstart, _) = region.range();
        let provider_map = match region.memory() {
            Some(m) => Some(ProviderMap::in_region(&m, start - rstart)?),
            None => None,
        };
        // nvdimm_namespace_disk_name(): pmemR, or pmemR.M for M > 0.
        let disk_name = match (ns.kind(), ns.id()) {
            (Kind::Pmem, m) if m != 0 => DiskName::new(format_args!("pmem{}.{}", region.id(), m))?,
            _ => DiskName::new(format_args!("pmem{}", region.id()))?,
        };
        Ok(NamespaceInfo {
            kind: NamespaceKind::Raw,
            start,
            size,
            provider_map,
            numa_node: region.numa_node(),
            target_node: region.target_node(),
            region_id: region.id(),
            read_only: region.is_read_only(),
            region_flags: region.flags(),
            has_flush: region.has_flush().ok_or(ENXIO),
            has_cache: region.has_cache(),
            // Only asynchronous (virtio) regions cannot promise MAP_SYNC.
            sync: true,
            sector_size: ns.sector_size(),
            map_pages: ns.maps_pages(),
            disk_name,
        })
    }

    fn flush(dev: &Device) -> Result {
        Region::of_child(dev).ok_or(ENXIO)?.flush()
    }

    // The bus's bad ranges inside the namespace, in its sectors.
    fn bad_ranges(dev: &Device, f: &mut dyn FnMut(u64, u64)) -> Result {
        let ns = Namespace::of(dev).ok_or(ENXIO)?;
        let (start, size) = ns.range();
        ns.region().bus().for_each_bad_sectors(start, size, |sector, count| f(sector, count));
        Ok(())
    }

    fn clear_poison(dev: &Device, phys: u64, len: u64) -> Result<u64> {
        let ns = Namespace::of(dev).ok_or(ENXIO)?;
        ns.region().bus().clear_poison(phys, len)
    }

    fn read_only(dev: &Device) -> bool {
        Region::of_child(dev).is_some_and(|r| r.is_read_only())
    }
}

/// The alignment memremap_pages() needs on x86 (`memremap_compat_align()`,
/// a memory subsection).
const MEMREMAP_COMPAT_ALIGN: u64 = 2 << 20;

crate::export_ns_core!(NamespaceDrivers);
