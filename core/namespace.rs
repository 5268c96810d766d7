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

use crate::bus::{nd_type, ND_BUS};
use crate::formats::label::layout::NSLABEL_NAME_LEN;
use crate::formats::label::ClaimClass;
use crate::glue::device::{Device, DeviceType, Placement, Registration};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::region::{self, Region};
use crate::{attribute_group, dev_dbg, device_object, group_list};

/// A label set found on the region's DIMMs.
#[derive(Clone)]
pub(crate) struct FoundNamespace {
    offset: u64,
    size: u64,
    uuid: [u8; 16],
    name: [u8; NSLABEL_NAME_LEN],
    lbasize: u64,
    claim_class: ClaimClass,
    extents: u32,
}

/// The label sets of a labeled region.
fn labeled(_region: &Region) -> Result<KVec<FoundNamespace>> {
    Ok(KVec::new())
}

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

    fn from_labels(id: u32, found: &FoundNamespace) -> Self {
        Self {
            kind: Kind::Pmem,
            id,
            offset: found.offset,
            size: found.size,
            uuid: Some(found.uuid),
            name: found.name,
            lbasize: found.lbasize,
            claim_class: found.claim_class,
            extents: found.extents,
        }
    }
}

/// namespaceN.M.
#[pin_data]
pub(crate) struct Namespace {
    dev: Device,
    kind: Kind,
    id: u32,
    /// System physical start and size of the namespace.
    start: u64,
    size: u64,
    uuid: Option<[u8; 16]>,
    name: [u8; NSLABEL_NAME_LEN],
    lbasize: u64,
    claim_class: ClaimClass,
    extents: u32,
    force_raw: AtomicBool,
}

device_object!(Namespace, dev);

impl Namespace {
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The M of namespaceN.M for pmem namespaces (the block device name
    /// uses it), 0 for io.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// System physical start and size.
    pub(crate) fn range(&self) -> (u64, u64) {
        (self.start, self.size)
    }

    pub(crate) fn region(&self) -> &Region {
        Region::of_child(&self.dev).expect("namespace without its region")
    }

    pub(crate) fn has_uuid(&self) -> bool {
        self.uuid.is_some()
    }

    /// Sector size of the block device: 4096 when the label asks for it,
    /// 512 otherwise (`pmem_sector_size`).
    pub(crate) fn sector_size(&self) -> u32 {
        if self.lbasize == 4096 { 4096 } else { 512 }
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

/// Region read-only changes reach the bound block driver through a new
/// probe of its capacity; nothing to do while none is bound.
pub(crate) fn revalidate(child: &Device) {
    if let Some(ns) = Namespace::of(child) {
        dev_dbg!(&ns.dev, "region read-only: {}\n", ns.region().is_read_only());
    }
}

fn modalias_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", nd_type_of(&ns.dev).unwrap_or(0));
    Ok(())
}
static MODALIAS: Attribute<Namespace> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(ns: &Namespace, page: &mut Page) -> Result {
    let name = match ns.kind {
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
    let _ = writeln!(page, "{}", ns.size);
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
    match &ns.uuid {
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
    if ns.size == 0 {
        return Err(ENXIO);
    }
    let _ = writeln!(page, "{:#x}", ns.start);
    Ok(())
}
static RESOURCE: Attribute<Namespace> = Attribute::admin_ro(c"resource", resource_show);

fn alt_name_show(ns: &Namespace, page: &mut Page) -> Result {
    let len = ns.name.iter().position(|&b| b == 0).unwrap_or(ns.name.len());
    page.write_bytes(&ns.name[..len]);
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
    for size in [512u64, 4096] {
        if ns.lbasize == size {
            let _ = write!(page, "[{size}] ");
        } else {
            let _ = write!(page, "{size} ");
        }
    }
    let _ = writeln!(page);
    Ok(())
}
static SECTOR_SIZE: Attribute<Namespace> = Attribute::ro(c"sector_size", sector_size_show).visible_if(pmem_only);

// dpa_extents: how many DIMM extents the namespace's labels describe.
fn dpa_extents_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.extents);
    Ok(())
}
static DPA_EXTENTS: Attribute<Namespace> = Attribute::ro(c"dpa_extents", dpa_extents_show).visible_if(pmem_only);

fn holder_class_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let class = match ns.claim_class {
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
    (ns.kind == Kind::Pmem).then(|| attr.mode())
}


attribute_group!(static NAMESPACE_GROUP: Namespace, dir = None, [
    NSTYPE, SIZE, MODE, UUID, HOLDER, RESOURCE, ALT_NAME, FORCE_RAW, SECTOR_SIZE,
    DPA_EXTENTS, HOLDER_CLASS
]);
group_list!(static NAMESPACE_GROUPS = [ND_DEVICE_GROUP, NAMESPACE_GROUP]);
pub(crate) static IO_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_io", &NAMESPACE_GROUPS);
pub(crate) static PMEM_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_pmem", &NAMESPACE_GROUPS);

/// Registers namespace`region`.`id` on the nd bus.
pub(crate) fn register(region: &Region, new: NewNamespace) -> Result<Registration<Namespace>> {
    let (rstart, _) = region.range();
    let ty = match new.kind {
        Kind::Io => &IO_TYPE,
        Kind::Pmem => &PMEM_TYPE,
    };
    let init = try_pin_init!(Namespace {
        dev: Device::zeroed(),
        kind: new.kind,
        id: new.id,
        start: rstart + new.offset,
        size: new.size,
        uuid: new.uuid,
        name: new.name,
        lbasize: new.lbasize,
        claim_class: new.claim_class,
        extents: new.extents,
        force_raw: AtomicBool::new(false),
    }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(&ND_BUS),
        groups: core::ptr::null(),
        devt: 0,
    };
    Registration::new(init, place, format_args!("namespace{}.{}", region.id(), new.id))
}

/// The namespaces a region's DIMMs describe (`nd_region_register_namespaces`):
/// one io namespace without labels; with labels, one pmem namespace per
/// label set, sorted by address, or an idle seed when there is none.
pub(crate) fn scan(region: &Region) -> Result<KVec<NewNamespace>> {
    let mut out = KVec::new();
    let (_, size) = region.range();
    if region.nstype() == nd_type::NAMESPACE_IO {
        out.push(NewNamespace::io(size), GFP_KERNEL)?;
        return Ok(out);
    }

    let mut found = labeled(region)?;
    // Registered in address order, as C sorts them.
    found.sort_unstable_by_key(|f: &FoundNamespace| f.offset);
    for f in found.iter() {
        let id = region.alloc_ns_id()?;
        out.push(NewNamespace::from_labels(id, f), GFP_KERNEL)?;
    }
    if out.is_empty() {
        out.push(NewNamespace::seed(region.alloc_ns_id()?), GFP_KERNEL)?;
    }
    Ok(out)
}
