// SPDX-License-Identifier: GPL-2.0
//! Namespaces: namespaceN.M, the children of a region that block drivers
//! (nd_pmem) bind to.
//!
//! A region whose DIMMs have no labels gets one label-less io namespace over
//! its whole range. A labeled region gets one pmem namespace per label set
//! on its DIMMs, plus an idle seed namespace waiting to be configured.
//! Writing a pmem namespace's attributes configures it: its DPA is sized
//! and its labels rewritten (Documentation/namespaces.md).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;

use kernel::alloc::KVVec;
use kernel::new_mutex;
use kernel::sync::Mutex;

use crate::dimm::ndd;
use crate::formats::label::{self as scan, DimmLabels, PmemRegion};
use crate::formats::label::LabelArea;
use crate::formats::label::layout::NSLABEL_NAME_LEN;
use crate::formats::label::{ClaimClass, NamespaceLabel, NSLABEL_FLAG_UPDATING};
use crate::formats::dpa;
use crate::glue::boxed;
use crate::region::NsNumber;
use crate::glue::device::{Device, DeviceGuard, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::abi::namespace::{DiskName, FuaFlush, NamespaceInfo, NamespaceKind};
use crate::glue::block::PendingBio;
use crate::glue::pmem_map::ProviderMap;
use crate::glue::sysfs::{self, Attribute, Page};
use crate::nd::nd_type;
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

/// What a namespace is configured as: what its labels say, or what is
/// being written to them through sysfs.
#[derive(Clone, Copy)]
struct Config {
    /// Offset of the namespace in the region's range, and its size (0 for
    /// an unconfigured namespace).
    offset: u64,
    size: u64,
    uuid: Option<[u8; 16]>,
    /// The uuid the namespace's labels carry on the DIMMs; it differs from
    /// `uuid` after a rename until the labels are rewritten.
    label_uuid: Option<[u8; 16]>,
    name: [u8; NSLABEL_NAME_LEN],
    lbasize: u64,
    claim_class: ClaimClass,
}

impl Config {
    /// The configuration the labels of a namespace record.
    fn from_labels(found: &scan::Namespace) -> Self {
        Self {
            offset: found.offset,
            size: found.size,
            uuid: Some(found.uuid),
            label_uuid: Some(found.uuid),
            name: found.name,
            lbasize: found.lbasize,
            claim_class: found.claim_class,
        }
    }
}

/// A namespace about to be registered.
pub(crate) struct NewNamespace {
    kind: Kind,
    id: NsNumber,
    cfg: Config,
}

impl NewNamespace {
    /// An idle pmem namespace with no configuration.
    pub(crate) fn seed(id: NsNumber) -> Self {
        Self {
            kind: Kind::Pmem,
            id,
            cfg: Config {
                offset: 0,
                size: 0,
                uuid: None,
                label_uuid: None,
                name: [0; NSLABEL_NAME_LEN],
                lbasize: 0,
                claim_class: ClaimClass::None,
            },
        }
    }

    fn io(size: u64) -> Self {
        let mut ns = Self::seed(NsNumber::fixed(0));
        ns.kind = Kind::Io;
        ns.cfg.size = size;
        ns
    }

    fn from_labels(id: NsNumber, cfg: Config) -> Self {
        Self { kind: Kind::Pmem, id, cfg }
    }
}

/// Which kind of device claims a namespace (C: `ndns->claim`'s type).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HolderKind {
    /// A bttN.M: sector mode ("safe").
    Btt,
    /// A pfnN.M: fsdax mode ("memory").
    Pfn,
    /// A daxN.M: device-dax mode ("dax").
    Dax,
}

/// The device that claims a namespace. The claimer holds a reference on
/// the namespace, not the reverse (as in C, where `ndns->claim` is not
/// counted): the holder is known by address and name, and clears the
/// claim before it goes away.
#[derive(Clone, Copy)]
pub(crate) struct Holder {
    /// Address of the claiming `struct device`, which identifies it.
    addr: usize,
    kind: HolderKind,
    name: [u8; 32],
    len: u8,
}

impl Holder {
    /// The claim `dev` makes, as a `kind`.
    pub(crate) fn new(dev: &Device, kind: HolderKind) -> Self {
        let full = dev.name().to_bytes();
        let len = full.len().min(32);
        let mut name = [0u8; 32];
        name[..len].copy_from_slice(&full[..len]);
        Self { addr: dev as *const Device as usize, kind, name, len: len as u8 }
    }

    /// Whether `dev` is the holder.
    pub(crate) fn is(&self, dev: &Device) -> bool {
        self.addr == dev as *const Device as usize
    }

    pub(crate) fn kind(&self) -> HolderKind {
        self.kind
    }

    /// The holder's device name.
    pub(crate) fn name(&self) -> &[u8] {
        &self.name[..self.len as usize]
    }
}

/// namespaceN.M.
#[pin_data]
pub(crate) struct Namespace {
    dev: EmbeddedDevice,
    kind: Kind,
    id: NsNumber,
    /// Changed by the attribute writes below, under the device lock and
    /// the bus's reconfiguration lock.
    #[pin]
    cfg: Mutex<Config>,
    force_raw: AtomicBool,
    /// The btt (later pfn, dax) device that claims the namespace; set and
    /// cleared under the bus's reconfiguration lock (claim.rs).
    #[pin]
    claim: Mutex<Option<Holder>>,
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
        self.id.get()
    }

    fn config(&self) -> Config {
        *self.cfg.lock()
    }

    /// System physical start and size.
    pub(crate) fn range(&self) -> (u64, u64) {
        let cfg = self.config();
        (self.region().range().0.wrapping_add(cfg.offset), cfg.size)
    }

    pub(crate) fn region(&self) -> &Region {
        Region::of_child(&self.dev).expect("namespace without its region")
    }

    pub(crate) fn has_uuid(&self) -> bool {
        self.config().uuid.is_some()
    }

    /// The namespace's uuid, all zero for a label-less one (`nd_dev_to_uuid`).
    pub(crate) fn uuid_or_null(&self) -> [u8; 16] {
        self.config().uuid.unwrap_or([0; 16])
    }

    /// Which personality its labels (or `holder_class`) reserve it for.
    pub(crate) fn claim_class(&self) -> ClaimClass {
        self.config().claim_class
    }

    /// `nvdimm_namespace_capacity`: its size in bytes.
    pub(crate) fn capacity(&self) -> u64 {
        self.config().size
    }

    /// The device claiming the namespace, if any.
    pub(crate) fn holder(&self) -> Option<Holder> {
        *self.claim.lock()
    }

    /// `__nd_attach_ndns`: records `holder` as the claimer unless the
    /// namespace is claimed already (false then).
    pub(crate) fn set_holder(&self, holder: Holder) -> bool {
        let mut claim = self.claim.lock();
        if claim.is_some() {
            return false;
        }
        *claim = Some(holder);
        true
    }

    /// `__nd_detach_ndns`: forgets the claim `holder` made.
    pub(crate) fn clear_holder(&self, holder: &Holder) {
        let mut claim = self.claim.lock();
        if claim.is_some_and(|h| h.addr == holder.addr) {
            *claim = None;
        }
    }

    /// Sector size of the block device: 4096 when the label asks for it,
    /// 512 otherwise (`pmem_sector_size`).
    pub(crate) fn sector_size(&self) -> u32 {
        if self.config().lbasize == 4096 { 4096 } else { 512 }
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

    /// Runs a configuration change through attribute `attr` the way C's
    /// stores do: under the device lock, then the bus's reconfiguration
    /// lock; a refusal is logged with its errno, after the reason `f` gave.
    fn reconfigure(&self, attr: &str, f: impl FnOnce(&mut Config) -> Result) -> Result {
        self.reconfigure_after(attr, || Ok(()), |_, cfg, ()| f(cfg))
    }

    /// [`Self::reconfigure`] with `check` run first, under the same locks
    /// but before this namespace's configuration is locked: a check that
    /// reads other namespaces' configurations must not nest their `cfg`
    /// (one lock class for every namespace) inside this one's. The bus's
    /// reconfiguration lock, held across both, keeps what `check` saw true
    /// until `f` runs (C: `is_uuid_busy` runs under the bus lock alone).
    fn reconfigure_after<T>(
        &self,
        attr: &str,
        check: impl FnOnce() -> Result<T>,
        f: impl FnOnce(&DeviceGuard<'_>, &mut Config, T) -> Result,
    ) -> Result {
        let held = self.dev.lock();
        let rc = self.region().bus().with_reconfig(|| {
            let checked = check()?;
            let mut cfg = self.cfg.lock();
            f(&held, &mut cfg, checked)
        });
        refused(&self.dev, attr, rc)
    }

    /// Bound to a driver or claimed by a btt (pfn, dax) device: its
    /// configuration cannot change.
    fn busy(&self) -> Result {
        if self.dev.has_driver() {
            dev_dbg!(&self.dev, "bound to a driver: configuration is locked\n");
            return Err(EBUSY);
        }
        if let Some(h) = self.holder() {
            dev_dbg!(&self.dev, "claimed by {}: configuration is locked\n",
                core::str::from_utf8(h.name()).unwrap_or("?"));
            return Err(EBUSY);
        }
        Ok(())
    }
}

/// Logs a refused store of `attr` with its errno, as C's stores end
/// (`"%s(%d)"`), and passes the result on.
fn refused<T>(dev: &Device, attr: &str, rc: Result<T>) -> Result<T> {
    if let Err(e) = &rc {
        dev_dbg!(dev, "{}: fail ({})\n", attr, e.to_errno());
    }
    rc
}

/// `parse` of a store's input; junk is logged as the reason.
fn parsed<T>(dev: &Device, attr: &str, what: &str, parse: Result<T>) -> Result<T> {
    parse.map_err(|e| {
        dev_dbg!(dev, "{}: input is not {}\n", attr, what);
        e
    })
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
    let _ = writeln!(page, "{}", ns.config().size);
    Ok(())
}
// size: writing allocates DPA for the namespace and writes its labels; 0
// deletes it (C: size_store, __size_store).
fn size_store(ns: &Namespace, input: &[u8]) -> Result {
    let val = refused(&ns.dev, "size", parsed(&ns.dev, "size", "a number", sysfs::parse_u64(input, 0)))?;
    ns.reconfigure_after("size", || Ok(()), |held, cfg, ()| {
        let region = ns.region();
        let extents = resize(ns, cfg, val)?;
        // Freeing all of its space deletes the namespace, unless it is the
        // seed or namespaceN.0.
        if extents.is_some() && val == 0 && ns.id() != 0 && !region.is_seed(&ns.dev) {
            region.delete_namespace_later(held);
        }
        write_labels(ns, cfg, extents.as_deref())?;
        if val == 0 {
            cfg.uuid = None;
            cfg.label_uuid = None;
        }
        Ok(())
    })
}
// 0444 as declared in C; writable on pmem namespaces only (see `visible`).
static SIZE: Attribute<Namespace> = Attribute::rw(c"size", size_show, size_store).visible_if(size_visible);

fn size_visible(ns: &Namespace, _attr: &'static Attribute<Namespace>) -> Option<u16> {
    Some(if ns.kind == Kind::Pmem { 0o644 } else { 0o444 })
}

// mode: the personality: "safe" while a btt claims it, "memory" while a pfn
// does, "dax" while a dax device does; unclaimed, "memory" on regions that
// map pages, "raw" elsewhere.
fn mode_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let mode = match ns.holder().map(|h| h.kind()) {
        Some(HolderKind::Btt) => "safe",
        Some(HolderKind::Pfn) => "memory",
        Some(HolderKind::Dax) => "dax",
        None if ns.maps_pages() => "memory",
        None => "raw",
    };
    let _ = writeln!(page, "{mode}");
    Ok(())
}
static MODE: Attribute<Namespace> = Attribute::ro(c"mode", mode_show);

fn uuid_show(ns: &Namespace, page: &mut Page) -> Result {
    crate::nd::write_uuid_line(page, ns.config().uuid.as_ref())
}
// uuid: must be unique on the bus; renaming a namespace rewrites its
// labels (C: uuid_store, namespace_update_uuid).
fn uuid_store(ns: &Namespace, input: &[u8]) -> Result {
    let check = || {
        ns.busy()?;
        let uuid = parsed(&ns.dev, "uuid", "a uuid", sysfs::parse_uuid(input))?;
        if ns.config().uuid == Some(uuid) {
            dev_dbg!(&ns.dev, "uuid: unchanged\n");
            return Err(EINVAL);
        }
        // Reads the other namespaces' configurations: not under ours.
        if uuid_in_use(ns, &uuid)? {
            dev_dbg!(&ns.dev, "uuid: in use by another namespace of the bus\n");
            return Err(EINVAL);
        }
        Ok(uuid)
    };
    ns.reconfigure_after("uuid", check, |_, cfg, uuid| {
        let region = ns.region();
        if cfg.uuid.is_some() {
            // Once a DIMM of the set has no label at all, the old uuid
            // cannot be renamed reliably: delete the namespace instead.
            for m in region.mappings() {
                let labelled = m.dimm.with_labels(|d| LabelArea::parse(d).is_ok_and(|a| a.active_count() > 0));
                if labelled != Some(true) {
                    dev_dbg!(&ns.dev, "uuid: {} has no labels to rename; delete the namespace instead\n",
                        m.dimm.device().name().to_str().unwrap_or(""));
                    return Err(EBUSY);
                }
            }
            if cfg.label_uuid.is_none() {
                cfg.label_uuid = cfg.uuid;
            }
        }
        cfg.uuid = Some(uuid);
        write_labels(ns, cfg, None)
    })
}
static UUID: Attribute<Namespace> = Attribute::rw(c"uuid", uuid_show, uuid_store).visible_if(pmem_only);

// holder: the btt (pfn, dax) device claiming the namespace.
fn holder_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    if let Some(h) = ns.holder() {
        page.write_bytes(h.name());
    }
    let _ = writeln!(page);
    Ok(())
}
static HOLDER: Attribute<Namespace> = Attribute::ro(c"holder", holder_show);

// resource: where the namespace starts; ENXIO before it has any capacity.
fn resource_show(ns: &Namespace, page: &mut Page) -> Result {
    let (start, size) = ns.range();
    if size == 0 {
        return Err(ENXIO);
    }
    let _ = writeln!(page, "{:#x}", start);
    Ok(())
}
static RESOURCE: Attribute<Namespace> = Attribute::admin_ro(c"resource", resource_show);

fn alt_name_show(ns: &Namespace, page: &mut Page) -> Result {
    let cfg = ns.config();
    let len = cfg.name.iter().position(|&b| b == 0).unwrap_or(cfg.name.len());
    page.write_bytes(&cfg.name[..len]);
    let _ = writeln!(page);
    Ok(())
}
// alt_name: up to 63 bytes, surrounding white space trimmed.
fn alt_name_store(ns: &Namespace, input: &[u8]) -> Result {
    ns.reconfigure("alt_name", |cfg| {
        ns.busy()?;
        let name = sysfs::strim(input);
        if name.len() + 1 > NSLABEL_NAME_LEN {
            dev_dbg!(&ns.dev, "alt_name: longer than {} bytes\n", NSLABEL_NAME_LEN - 1);
            return Err(EINVAL);
        }
        cfg.name = [0; NSLABEL_NAME_LEN];
        cfg.name[..name.len()].copy_from_slice(name);
        write_labels(ns, cfg, None)
    })
}
static ALT_NAME: Attribute<Namespace> = Attribute::rw(c"alt_name", alt_name_show, alt_name_store).visible_if(pmem_only);

fn force_raw_show(ns: &Namespace, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", ns.force_raw() as u32);
    Ok(())
}
fn force_raw_store(ns: &Namespace, input: &[u8]) -> Result {
    let raw = refused(&ns.dev, "force_raw", parsed(&ns.dev, "force_raw", "a boolean", sysfs::parse_bool(input)))?;
    ns.force_raw.store(raw, Ordering::Relaxed);
    Ok(())
}
static FORCE_RAW: Attribute<Namespace> = Attribute::rw(c"force_raw", force_raw_show, force_raw_store);

/// The sector sizes a pmem namespace supports.
const LBASIZES: [u64; 2] = [512, 4096];

// sector_size: the supported sizes with the current one in brackets.
fn sector_size_show(ns: &Namespace, page: &mut Page) -> Result {
    page.write_size_select(ns.config().lbasize, &LBASIZES);
    Ok(())
}
fn sector_size_store(ns: &Namespace, input: &[u8]) -> Result {
    ns.reconfigure("sector_size", |cfg| {
        ns.busy()?;
        let size = parsed(&ns.dev, "sector_size", "a number", sysfs::parse_u64(input, 0))?;
        if !LBASIZES.contains(&size) {
            dev_dbg!(&ns.dev, "sector_size: {} is not supported\n", size);
            return Err(EINVAL);
        }
        cfg.lbasize = size;
        write_labels(ns, cfg, None)
    })
}
static SECTOR_SIZE: Attribute<Namespace> =
    Attribute::rw(c"sector_size", sector_size_show, sector_size_store).visible_if(pmem_only);

// dpa_extents: how many DIMM extents hold the namespace's uuid.
fn dpa_extents_show(ns: &Namespace, page: &mut Page) -> Result {
    let region = ns.region();
    let count = region.bus().with_reconfig(|| {
        let Some(uuid) = ns.config().uuid else { return 0 };
        region
            .mappings()
            .iter()
            .filter_map(|m| m.dimm.with_labels(|d| LabelArea::parse(d).map_or(0, |a| a.labels_with_uuid(&uuid).count())))
            .sum::<usize>()
    });
    let _ = writeln!(page, "{count}");
    Ok(())
}
static DPA_EXTENTS: Attribute<Namespace> = Attribute::ro(c"dpa_extents", dpa_extents_show).visible_if(pmem_only);

fn holder_class_show(ns: &Namespace, page: &mut Page) -> Result {
    let _guard = ns.dev.lock();
    let class = match ns.config().claim_class {
        ClaimClass::None => "",
        ClaimClass::Btt | ClaimClass::Btt2 => "btt",
        ClaimClass::Pfn => "pfn",
        ClaimClass::Dax => "dax",
        ClaimClass::Unknown => "<unknown>",
    };
    let _ = writeln!(page, "{class}");
    Ok(())
}
// holder_class: which personality may claim the namespace, recorded in
// v1.2 labels. On io namespaces C keeps the class and then fails the label
// write with ENXIO; so does this.
fn holder_class_store(ns: &Namespace, input: &[u8]) -> Result {
    ns.reconfigure("holder_class", |cfg| {
        ns.busy()?;
        cfg.claim_class = if sysfs::streq(input, c"btt") {
            btt_claim_class(ns.region()).inspect_err(|_| {
                dev_dbg!(&ns.dev, "holder_class: the DIMMs' label versions disagree\n");
            })?
        } else if sysfs::streq(input, c"pfn") {
            ClaimClass::Pfn
        } else if sysfs::streq(input, c"dax") {
            ClaimClass::Dax
        } else if sysfs::streq(input, c"") {
            ClaimClass::None
        } else {
            dev_dbg!(&ns.dev, "holder_class: not btt, pfn, dax or empty\n");
            return Err(EINVAL);
        };
        write_labels(ns, cfg, None)
    })
}
static HOLDER_CLASS: Attribute<Namespace> = Attribute::rw(c"holder_class", holder_class_show, holder_class_store);

// Label-less namespaces have no uuid, name, sector size or extents.
fn pmem_only(ns: &Namespace, attr: &'static Attribute<Namespace>) -> Option<u16> {
    (ns.kind == Kind::Pmem).then(|| attr.mode())
}

attribute_group!(static NAMESPACE_GROUP: Namespace, dir = None, [
    NSTYPE, SIZE, MODE, UUID, HOLDER, RESOURCE, ALT_NAME, FORCE_RAW, SECTOR_SIZE,
    DPA_EXTENTS, HOLDER_CLASS
]);
// C's nd_numa_attribute_group (see `region::OnRegion`).
region::nd_numa_group!(NUMA_GROUP: Namespace);
group_list!(static NAMESPACE_GROUPS: Namespace = [ND_DEVICE_GROUP, NAMESPACE_GROUP, NUMA_GROUP]);
pub(crate) static IO_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_io", &NAMESPACE_GROUPS);
pub(crate) static PMEM_TYPE: DeviceType<Namespace> = DeviceType::new(c"nd_namespace_pmem", &NAMESPACE_GROUPS);

/// Whether a namespace of the bus other than `this` or a btt device already
/// has `uuid` (C: `nd_is_uuid_unique`). The caller holds the bus's
/// reconfiguration lock and no namespace's configuration: each one is
/// locked here in turn.
fn uuid_in_use(this: &Namespace, uuid: &[u8; 16]) -> Result<bool> {
    let mut used = false;
    let bus = this.region().bus();
    region::for_each_region(bus, |r| {
        let _ = r.device().for_each_child(|child| {
            let taken = match Namespace::of(child) {
                Some(ns) => !core::ptr::eq(ns, this) && ns.cfg.lock().uuid == Some(*uuid),
                None => bus.child_uuid(child) == Some(*uuid),
            };
            used |= taken;
            Ok(())
        });
    })?;
    Ok(used)
}

/// The BTT flavour labels can record (C: `btt_claim_class`): BTT for v1.1
/// labels, BTT2 for v1.2 or no index yet; DIMMs that disagree are ENXIO.
fn btt_claim_class(region: &Region) -> Result<ClaimClass> {
    let mut seen = 0u32;
    for m in region.mappings() {
        match m.dimm.with_labels(|d| LabelArea::parse(d).ok().map(|a| a.version())) {
            // A DIMM without labels only allows BTT v1.
            None => return Ok(ClaimClass::Btt),
            Some(None) => seen |= 1,
            Some(Some(v)) if v.is_v1_1() => seen |= 2,
            Some(Some(_)) => seen |= 4,
        }
    }
    match seen {
        0 | 2 => Ok(ClaimClass::Btt),
        1 | 4 => Ok(ClaimClass::Btt2),
        _ => Err(ENXIO),
    }
}

/// Most allocations one DIMM can hold while a namespace is sized: one per
/// label slot of a 128 KiB label area with 128-byte labels.
const MAX_DIMM_ALLOCATIONS: usize = 1024;

/// Sizes the namespace's DPA to `val` bytes over the region's DIMMs (C:
/// `__size_store`). Returns the namespace's extent on each mapping's DIMM
/// after the change, for its labels, or None when the size is unchanged.
fn resize(ns: &Namespace, cfg: &mut Config, val: u64) -> Result<Option<KVec<dpa::Extent>>> {
    ns.busy()?;
    let region = ns.region();
    let (start, align, windows) = region.dpa_windows()?;
    let Some(uuid) = cfg.uuid else {
        dev_dbg!(&ns.dev, "size: uuid not set\n");
        return Err(ENXIO);
    };
    if windows.is_empty() {
        dev_dbg!(&ns.dev, "not associated with dimm(s)\n");
        return Err(ENXIO);
    }
    if align == 0 || val % align != 0 {
        dev_dbg!(&ns.dev, "{} is not {}K aligned\n", val, align / 1024);
        return Err(EINVAL);
    }
    // The DIMMs' allocations are the extents their labels hold (C reserves
    // them at probe), the namespace's under the uuid its labels carry.
    let id = cfg.label_uuid.unwrap_or(uuid);
    let mut tables = KVec::with_capacity(windows.len(), GFP_KERNEL)?;
    for m in region.mappings() {
        let mut table = boxed::dimm_dpa::<MAX_DIMM_ALLOCATIONS>()?;
        let filled = m.dimm.for_each_label_dpa(|uuid, e| table.reserve_label(uuid, e.start, e.len).map_err(|_| ENOMEM));
        // All DIMMs of the set must be enabled to change the size.
        filled.ok_or_else(|| {
            dev_dbg!(&ns.dev, "{}: not enabled\n", m.dimm.device().name().to_str().unwrap_or(""));
            ENXIO
        })??;
        tables.push(table, GFP_KERNEL)?;
    }
    let mut dimms = KVec::with_capacity(tables.len(), GFP_KERNEL)?;
    for t in tables.iter_mut() {
        dimms.push(&mut **t, GFP_KERNEL)?;
    }
    let layout = dpa::RegionDpa { start, align, windows: &windows };
    match layout.resize(&mut dimms[..], Some(&id), val) {
        Err(e) => {
            dev_dbg!(&ns.dev, "no DPA for {:#x} bytes: {:?}\n", val, e);
            Err(Error::from_errno(-e.errno()))
        }
        Ok(dpa::Resized::Unchanged) => Ok(None),
        Ok(dpa::Resized::To(res)) => {
            cfg.offset = res.start.wrapping_sub(start);
            cfg.size = res.size;
            let mut extents = KVec::with_capacity(dimms.len(), GFP_KERNEL)?;
            for d in dimms.iter() {
                // C's label records the DIMM's first extent of the namespace.
                let e = d.extents_of(&id).next().unwrap_or(dpa::Extent { start: 0, len: 0 });
                extents.push(e, GFP_KERNEL)?;
            }
            Ok(Some(extents))
        }
    }
}

/// Writes the namespace's configuration to its labels (C:
/// `nd_namespace_label_update`): nothing while a driver holds it or before
/// it has a uuid; its labels deleted while it has no size; otherwise one
/// label per DIMM, first flagged `UPDATING` on every DIMM, then final.
/// `extents` are the namespace's extents per mapping after a resize; None
/// takes them from its current labels.
///
/// Every DIMM's part is atomic (each ends with one index write). Across
/// DIMMs, a cut during the flagged phase of a create leaves a set the scan
/// skips. A delete is C's one index write per DIMM, in mapping order: the
/// scan looks for namespaces among the first DIMM's labels, which go
/// first, so a cut anywhere in it leaves the namespace or nothing of it
/// (and, as in C, labels of it on the later DIMMs that keep their DPA).
fn write_labels(ns: &Namespace, cfg: &mut Config, extents: Option<&[dpa::Extent]>) -> Result {
    if ns.kind != Kind::Pmem {
        dev_dbg!(&ns.dev, "a label-less namespace has no labels to write\n");
        return Err(ENXIO);
    }
    if ns.dev.has_driver() || ns.holder().is_some() {
        return Ok(());
    }
    let Some(uuid) = cfg.uuid else { return Ok(()) };
    let region = ns.region();
    let mappings = region.mappings();
    if cfg.size == 0 {
        for m in mappings.iter() {
            m.dimm.delete_labels(&uuid)?;
        }
        cfg.label_uuid = None;
        return Ok(());
    }
    let on_media = cfg.label_uuid.unwrap_or(uuid);
    let retire = (on_media != uuid).then_some(on_media);
    let mut found = KVec::with_capacity(mappings.len(), GFP_KERNEL)?;
    for (i, m) in mappings.iter().enumerate() {
        let e = match extents {
            Some(e) => e.get(i).copied(),
            None => m.dimm.with_labels(|d| {
                LabelArea::parse(d).ok().and_then(|a| {
                    a.labels_with_uuid(&on_media).map(|(_, l)| dpa::Extent { start: l.dpa, len: l.rawsize }).min_by_key(|e| e.start)
                })
            }).flatten(),
        };
        // C finds no DPA for the label and warns.
        let e = e.filter(|e| e.len != 0).ok_or_else(|| {
            dev_dbg!(&ns.dev, "{}: no DPA for the label\n", m.dimm.device().name().to_str().unwrap_or(""));
            ENXIO
        })?;
        found.push(e, GFP_KERNEL)?;
    }
    let set = region.interleave_set().ok_or_else(|| {
        dev_dbg!(&ns.dev, "the region has no interleave-set cookie for labels\n");
        ENXIO
    })?;
    let ways = mappings.len() as u16;
    for flags in [NSLABEL_FLAG_UPDATING, 0] {
        for (i, m) in mappings.iter().enumerate() {
            let e = found[i];
            let retire = if flags != 0 { retire.as_ref() } else { None };
            m.dimm.replace_label(
                |size, version| {
                    let mut l = NamespaceLabel::new(size);
                    l.uuid = uuid;
                    l.name = cfg.name;
                    l.flags = flags;
                    l.nlabel = ways;
                    l.position = i as u16;
                    l.isetcookie = set.cookie(version);
                    l.rawsize = e.len;
                    l.lbasize = cfg.lbasize;
                    l.dpa = e.start;
                    l.type_guid = set.type_guid;
                    l.set_claim_class(cfg.claim_class);
                    l
                },
                retire,
            )?;
        }
        cfg.label_uuid = Some(uuid);
    }
    Ok(())
}

/// Registers namespace`region`.`id` on the nd bus.
#[inline(never)]
pub(crate) fn register(region: &Region, new: NewNamespace) -> Result<Registration<Namespace>> {
    let id = new.id.get();
    let ty = match new.kind {
        Kind::Io => &IO_TYPE,
        Kind::Pmem => &PMEM_TYPE,
    };
    let init = try_pin_init!(Namespace {
        dev: EmbeddedDevice::zeroed(),
        kind: new.kind,
        id: new.id,
        cfg <- new_mutex!(new.cfg),
        force_raw: AtomicBool::new(false),
        claim <- new_mutex!(None),
    }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
        node: None,
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
    let found = region.bus().with_reconfig(|| -> Result<KVec<Config>> {
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
        let set = region.interleave_set().ok_or(ENXIO)?;
        let pmem = PmemRegion { set, start, mappings: &mappings };
        let mut buf = KVVec::from_elem(scan::Namespace::EMPTY, pmem.max_namespaces(), GFP_KERNEL)?;
        let found = match pmem.scan(&mut buf, |note| dev_dbg!(region.device(), "{}\n", note)) {
            Ok(found) => found,
            Err(e) => {
                dev_err!(region.device(), "{}\n", e);
                return Err(Error::from_errno(-e.probe_errno()));
            }
        };
        // What a namespace keeps of its labels: the scan's entries are 880
        // bytes, which copies on the stack would pay for.
        let mut list = KVec::with_capacity(found.len(), GFP_KERNEL)?;
        for ns in found.iter() {
            list.push(Config::from_labels(ns), GFP_KERNEL)?;
        }
        Ok(list)
    })?;
    for f in found.iter() {
        let id = region.alloc_ns_id()?;
        out.push(NewNamespace::from_labels(id, *f), GFP_KERNEL)?;
    }
    if out.is_empty() {
        out.push(NewNamespace::seed(region.alloc_ns_id()?), GFP_KERNEL)?;
    }
    Ok(out)
}

// What nd_pmem learns about the namespace it binds, and the region
// services its I/O uses: libnvdimm's side of the namespace-driver ABI
// (abi/namespace.rs), which bus.rs exports over these functions.

/// A namespace needs at least a page (`ND_MIN_NAMESPACE_SIZE`).
const MIN_NAMESPACE_SIZE: u64 = 4096;

/// `nvdimm_namespace_common_probe()` for a namespace a driver binds
/// directly: refused while a btt (pfn, dax) device claims it.
pub(crate) fn driver_probe(dev: &Device) -> Result<(&Namespace, NamespaceInfo)> {
    let ns = Namespace::of(dev).ok_or(ENODEV)?;
    if let Some(h) = ns.holder() {
        dev_dbg!(dev, "claimed by {}, failing probe\n", core::str::from_utf8(h.name()).unwrap_or("?"));
        return Err(ENXIO);
    }
    common_probe(ns)?;
    Ok((ns, describe(ns, NamespaceKind::Raw)?))
}

/// The checks of `nvdimm_namespace_common_probe()` that do not depend on
/// who binds: DIMMs unlocked, at least a page, mappable, a uuid.
pub(crate) fn common_probe(ns: &Namespace) -> Result {
    let dev = &ns.dev;
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
    if ns.holder().is_none() && ns.maps_pages() && (start | (start + size)) % MEMREMAP_COMPAT_ALIGN != 0 {
        dev_err!(dev, "[{:#x}-{:#x}] misaligned, unable to map\n", start, start + size - 1);
        return Err(crate::glue::eopnotsupp());
    }
    if ns.kind() == Kind::Pmem && !ns.has_uuid() {
        dev_dbg!(dev, "uuid not set\n");
        return Err(ENODEV);
    }
    Ok(())
}

/// What the driver bound to namespace `ns` (or to the device claiming it,
/// as `kind` says) learns about it.
pub(crate) fn describe(ns: &Namespace, kind: NamespaceKind) -> Result<NamespaceInfo> {
    let region = ns.region();
    let (start, size) = ns.range();
    let (rstart, _) = region.range();
    let provider_map = match region.memory() {
        Some(m) => Some(ProviderMap::in_region(&m, start - rstart)?),
        None => None,
    };
    // nvdimm_namespace_disk_name(): pmemR, or pmemR.M for M > 0, and an
    // "s" for sector mode.
    let suffix = if matches!(kind, NamespaceKind::Btt(_)) { "s" } else { "" };
    let disk_name = match (ns.kind(), ns.id()) {
        (Kind::Pmem, m) if m != 0 => DiskName::new(format_args!("pmem{}.{}{}", region.id(), m, suffix))?,
        _ => DiskName::new(format_args!("pmem{}{}", region.id(), suffix))?,
    };
    let raw = matches!(kind, NamespaceKind::Raw);
    Ok(NamespaceInfo {
        kind,
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
        sync: region.is_sync(),
        sector_size: ns.sector_size(),
        // `pmem_should_map_pages` is false for btt and pfn devices.
        map_pages: raw && ns.maps_pages(),
        disk_name,
        num_lanes: region.num_lanes(),
    })
}

/// `nvdimm_flush` on the region of namespace `dev`.
pub(crate) fn driver_flush(dev: &Device) -> Result {
    Region::of_child(dev).ok_or(ENXIO)?.flush()
}

/// `nvdimm_flush(nd_region, bio)` on the region of namespace `dev`, after
/// the data of REQ_FUA bio `bio`.
pub(crate) fn driver_flush_fua(dev: &Device, bio: PendingBio) -> FuaFlush {
    match Region::of_child(dev) {
        Some(region) => region.flush_fua(bio),
        None => FuaFlush::Done(bio, Err(ENXIO)),
    }
}

/// The bus's bad ranges inside namespace `ns`, in its sectors.
pub(crate) fn bad_ranges(ns: &Namespace, f: &mut dyn FnMut(u64, u64)) -> Result {
    let (start, size) = ns.range();
    ns.region().bus().for_each_bad_sectors(start, size, |sector, count| f(sector, count));
    Ok(())
}

/// `nvdimm_clear_poison` for namespace `ns`: bytes cleared.
pub(crate) fn clear_poison(ns: &Namespace, phys: u64, len: u64) -> Result<u64> {
    region::clear_poison(ns.region().bus(), phys, len)
}

/// The `ro` of namespace `dev`'s region.
pub(crate) fn read_only(dev: &Device) -> bool {
    Region::of_child(dev).is_some_and(|r| r.is_read_only())
}

/// The alignment memremap_pages() needs on x86 (`memremap_compat_align()`,
/// a memory subsection).
const MEMREMAP_COMPAT_ALIGN: u64 = 2 << 20;

