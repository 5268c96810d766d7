// SPDX-License-Identifier: GPL-2.0
//! pfnN.M: a region's fsdax devices, which give a namespace struct pages
//! (C's `pfn_devs.c`). A daxN.M (dax_devs.rs) is the same object in
//! device-dax mode, with the same attributes.
//!
//! Each region offers one idle pfn seed. Writing its `mode`, `align`,
//! `uuid` and `namespace` configures it, with C's parsing, locks and
//! errno; nd_pmem then binds it (a pfn has its region's namespace type).
//! nd_pmem's pfn mode (the info block and `memremap_pages`) is not built
//! yet: its probe of a pfn runs C's checks up to the info block and then
//! fails with ENXIO (see [`driver_probe`]).

use core::fmt::Write;

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

use crate::claim::{self, enabled_only_show, Claim, NamespaceRequest, NsIo};
use crate::glue::device::{Device, DeviceRef, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::namespace::{self, HolderKind, Namespace};
use crate::nd::nd_type;
use crate::region::{NsNumber, Region};
use crate::{attribute_group, dev_dbg, dev_err, device_object, group_list};

/// Page, PMD and PUD sizes: the mapping alignments x86 supports with
/// transparent hugepages and 1 GiB pages (`nd_pfn_supported_alignments`).
const PFN_ALIGNMENTS: [u64; 3] = [4096, 2 << 20, 1 << 30];
/// The default alignment: a PMD, for huge-page mappings
/// (`nd_pfn_default_alignment`).
const PFN_DEFAULT_ALIGN: u64 = 2 << 20;

/// Where the struct pages of the namespace live (C: `enum nd_pfn_mode`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PfnMode {
    /// Not chosen yet.
    None,
    /// In RAM (`ndctl -M mem`).
    Ram,
    /// On the namespace itself, after the info block (`ndctl -M dev`).
    Pmem,
}

/// What the attributes configure, under the bus's reconfiguration lock.
struct PfnState {
    mode: PfnMode,
    /// The mapping alignment, one of [`PFN_ALIGNMENTS`].
    align: u64,
    /// The claimed namespace (C: `nd_pfn->ndns`).
    claim: Option<Claim>,
}

/// pfnN.M or daxN.M (`struct nd_pfn`, which C's `nd_dax` embeds).
#[pin_data]
pub(crate) struct NdPfn {
    dev: EmbeddedDevice,
    /// A daxN.M: the pfn device of device-dax mode.
    dax: bool,
    /// M of pfnN.M (daxN.M), given back to the region's pfn (dax) numbers
    /// when the device is released.
    id: NsNumber,
    #[pin]
    state: Mutex<PfnState>,
    /// The pfn's uuid. A lock of its own, taken with no other inside: the
    /// uuid checks of namespaces read it under their own locks.
    #[pin]
    uuid: Mutex<Option<[u8; 16]>>,
}

device_object!(NdPfn, dev);

impl NdPfn {
    /// The nd type: a dax device is its own type; a pfn device takes its
    /// region's namespace type, so namespace drivers see it.
    pub(crate) fn nd_type(&self) -> u32 {
        if self.dax {
            nd_type::DAX_PMEM
        } else {
            Region::of_child(&self.dev).map_or(0, |r| r.nstype())
        }
    }

    /// The pfn device behind `dev`, if it is a pfnN.M.
    pub(crate) fn of(dev: &Device) -> Option<&NdPfn> {
        PFN_TYPE.downcast(dev)
    }

    /// What its claims are (C: `is_nd_pfn` or `is_nd_dax` of the claimer).
    fn holder_kind(&self) -> HolderKind {
        if self.dax { HolderKind::Dax } else { HolderKind::Pfn }
    }

    fn region(&self) -> &Region {
        Region::of_child(&self.dev).expect("pfnN.M without its region")
    }

    /// The pfn's uuid, if set.
    pub(crate) fn uuid(&self) -> Option<[u8; 16]> {
        *self.uuid.lock()
    }

    /// A counted reference to the claimed namespace, if any.
    pub(crate) fn namespace(&self) -> Option<DeviceRef> {
        self.state.lock().claim.as_ref().map(|c| c.namespace_ref())
    }

    /// Runs a store of `attr` under the device lock and the bus lock, as C's
    /// do, and logs a refusal with its errno.
    fn store(&self, attr: &str, f: impl FnOnce(&mut PfnState) -> Result) -> Result {
        let _dev = self.dev.lock();
        let rc = self.region().bus().with_reconfig(|| f(&mut self.state.lock()));
        if let Err(e) = &rc {
            dev_dbg!(&self.dev, "{}: fail ({})\n", attr, e.to_errno());
        }
        rc
    }
}

fn modalias_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", pfn.nd_type());
    Ok(())
}
static MODALIAS: Attribute<NdPfn> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", if pfn.dax { "nd_dax" } else { "nd_pfn" });
    Ok(())
}
static DEVTYPE: Attribute<NdPfn> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: NdPfn, dir = None, [MODALIAS, DEVTYPE]);

/// C's `strncmp(buf, want, n)` over a sysfs write: bytes past the input
/// (and past `want`) read as the terminating NUL.
fn strncmp_eq(input: &[u8], want: &[u8], n: usize) -> bool {
    for i in 0..n {
        let a = input.get(i).copied().unwrap_or(0);
        let b = want.get(i).copied().unwrap_or(0);
        if a != b {
            return false;
        }
        if a == 0 {
            return true;
        }
    }
    true
}

/// `mode_store`'s parsing: the input without its last byte (C: `n = len -
/// 1`) is a prefix of "pmem\n"/"pmem", "ram\n"/"ram" or "none\n"/"none",
/// tried in that order. As in C, a one-byte write (n = 0) is "pmem".
fn parse_mode(input: &[u8]) -> Option<PfnMode> {
    let n = input.len().saturating_sub(1);
    let is = |word: &[u8], nl: &[u8]| strncmp_eq(input, nl, n) || strncmp_eq(input, word, n);
    if is(b"pmem", b"pmem\n") {
        Some(PfnMode::Pmem)
    } else if is(b"ram", b"ram\n") {
        Some(PfnMode::Ram)
    } else if is(b"none", b"none\n") {
        Some(PfnMode::None)
    } else {
        None
    }
}

// mode: where the struct pages go (none, ram or pmem).
fn mode_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let mode = match pfn.state.lock().mode {
        PfnMode::Ram => "ram",
        PfnMode::Pmem => "pmem",
        PfnMode::None => "none",
    };
    let _ = writeln!(page, "{mode}");
    Ok(())
}
fn mode_store(pfn: &NdPfn, input: &[u8]) -> Result {
    pfn.store("mode", |st| {
        if pfn.dev.has_driver() {
            dev_dbg!(&pfn.dev, "mode: the pfn is enabled\n");
            return Err(EBUSY);
        }
        st.mode = parse_mode(input).ok_or(EINVAL)?;
        Ok(())
    })
}
static MODE: Attribute<NdPfn> = Attribute::rw(c"mode", mode_show, mode_store);

// align: the mapping alignment, one of supported_alignments (C:
// nd_size_select_store).
fn align_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", pfn.state.lock().align);
    Ok(())
}
fn align_store(pfn: &NdPfn, input: &[u8]) -> Result {
    pfn.store("align", |st| {
        if pfn.dev.has_driver() {
            dev_dbg!(&pfn.dev, "align: the pfn is enabled\n");
            return Err(EBUSY);
        }
        let align = sysfs::parse_u64(input, 0)?;
        if !PFN_ALIGNMENTS.contains(&align) {
            dev_dbg!(&pfn.dev, "align: {} is not supported\n", align);
            return Err(EINVAL);
        }
        st.align = align;
        Ok(())
    })
}
static ALIGN: Attribute<NdPfn> = Attribute::rw(c"align", align_show, align_store);

// uuid: the pfn's own uuid, recorded in its info block.
fn uuid_show(pfn: &NdPfn, page: &mut Page) -> Result {
    crate::nd::write_uuid_line(page, pfn.uuid().as_ref())
}
// C takes only the device lock here (nd_uuid_store), not the bus lock.
fn uuid_store(pfn: &NdPfn, input: &[u8]) -> Result {
    let _dev = pfn.dev.lock();
    let rc = (|| {
        if pfn.dev.has_driver() {
            dev_dbg!(&pfn.dev, "uuid: the pfn is enabled\n");
            return Err(EBUSY);
        }
        let uuid = sysfs::parse_uuid(input)?;
        *pfn.uuid.lock() = Some(uuid);
        Ok(())
    })();
    if let Err(e) = &rc {
        dev_dbg!(&pfn.dev, "uuid: fail ({})\n", e.to_errno());
    }
    rc
}
static UUID: Attribute<NdPfn> = Attribute::rw(c"uuid", uuid_show, uuid_store);

// namespace: the claimed namespace; writing a namespace's name claims it,
// writing an empty line gives it up (C: nd_namespace_store).
fn namespace_show(pfn: &NdPfn, page: &mut Page) -> Result {
    pfn.region().bus().with_reconfig(|| claim::namespace_show(pfn.state.lock().claim.as_ref(), page))
}
fn namespace_store(pfn: &NdPfn, input: &[u8]) -> Result {
    pfn.store("namespace", |st| {
        let kind = pfn.holder_kind();
        match claim::parse_namespace_store(&pfn.dev, kind, st.claim.as_ref(), input)? {
            NamespaceRequest::Attach(ns_dev) => {
                let ns = Namespace::of(ns_dev.device()).ok_or(ENODEV)?;
                st.claim = Some(Claim::attach(&pfn.dev, kind, ns)?);
            }
            NamespaceRequest::Detach => detach_and_reset(pfn, st),
        }
        Ok(())
    })
}
static NAMESPACE: Attribute<NdPfn> = Attribute::rw(c"namespace", namespace_show, namespace_store);

/// `nd_detach_and_reset`: the pfn gives its namespace up; a pfn (dax)
/// other than the seed then goes away, the seed forgets its uuid and mode
/// (not its align, as in C).
fn detach_and_reset(pfn: &NdPfn, st: &mut PfnState) {
    st.claim = None;
    let region = pfn.region();
    if region.is_pfn_seed(&pfn.dev) {
        st.mode = PfnMode::None;
        *pfn.uuid.lock() = None;
    } else if let Some(reg) = region.take_pfn(&pfn.dev) {
        // From its own attribute: unregistered from a work item.
        reg.unregister_later();
    }
}

// resource and size: where the data starts and how much there is, only
// while nd_pmem has the pfn enabled (C answers ENXIO otherwise); nd_pmem's
// pfn mode is not built, so a pfn is never enabled.
static RESOURCE: Attribute<NdPfn> = Attribute::admin_ro(c"resource", enabled_only_show);
static SIZE: Attribute<NdPfn> = Attribute::ro(c"size", enabled_only_show);

fn supported_alignments_show(_pfn: &NdPfn, page: &mut Page) -> Result {
    page.write_size_select(0, &PFN_ALIGNMENTS);
    Ok(())
}
static SUPPORTED_ALIGNMENTS: Attribute<NdPfn> = Attribute::ro(c"supported_alignments", supported_alignments_show);

attribute_group!(static PFN_GROUP: NdPfn, dir = None, [
    MODE, NAMESPACE, UUID, ALIGN, RESOURCE, SIZE, SUPPORTED_ALIGNMENTS
]);
// The groups of pfn and dax devices.
group_list!(pub(crate) static PFN_GROUPS: NdPfn = [PFN_GROUP, ND_DEVICE_GROUP]);
static PFN_TYPE: DeviceType<NdPfn> = DeviceType::new(c"nd_pfn", &PFN_GROUPS);

/// Registers an idle `ty` device (pfn or dax) of `region` numbered `id`
/// (`nd_pfn_alloc` and `nd_pfn_devinit`: mode none, the default align).
pub(crate) fn register(
    region: &Region,
    ty: &'static DeviceType<NdPfn>,
    dax: bool,
    id: NsNumber,
) -> Result<Registration<NdPfn>> {
    let n = id.get();
    let init = try_pin_init!(NdPfn {
        dev: EmbeddedDevice::zeroed(),
        dax,
        id,
        state <- new_mutex!(PfnState { mode: PfnMode::None, align: PFN_DEFAULT_ALIGN, claim: None }),
        uuid <- new_mutex!(None),
    }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
    };
    let prefix = if dax { "dax" } else { "pfn" };
    Registration::new(init, place, format_args!("{}{}.{}", prefix, region.id(), n))
}

/// Registers an idle pfn seed pfnR.M of `region`, M its lowest free pfn
/// number (`nd_pfn_create`).
#[inline(never)]
pub(crate) fn create_seed(region: &Region) -> Result<Registration<NdPfn>> {
    register(region, &PFN_TYPE, false, region.alloc_pfn_id()?)
}

/// nd_pmem's probe of pfn device `pfn` (C: `nvdimm_namespace_common_probe`,
/// then `pmem_attach_disk` up to `nvdimm_setup_pfn`): the claimed namespace
/// idle and claimed by this pfn, the common checks, the start of the
/// namespace enabled, a uuid. What comes next, the info block and
/// `memremap_pages`, is nd_pmem's pfn mode, which is not built: the probe
/// then fails with ENXIO and says so.
pub(crate) fn driver_probe(pfn: &NdPfn) -> Result<crate::abi::namespace::NamespaceInfo> {
    let ns_dev = pfn.namespace().ok_or(ENODEV)?;
    let ns = Namespace::of(ns_dev.device()).ok_or(ENODEV)?;
    // Flush any probe or removal of the namespace's raw personality.
    drop(ns.device().lock());
    if ns.device().has_driver() {
        dev_dbg!(ns.device(), "is active, can't bind {}\n", pfn.dev.name().to_str().unwrap_or(""));
        return Err(EBUSY);
    }
    if !ns.holder().is_some_and(|h| h.is(&pfn.dev)) {
        dev_dbg!(ns.device(), "host ({}) vs claim mismatch\n", pfn.dev.name().to_str().unwrap_or(""));
        return Err(ENXIO);
    }
    namespace::common_probe(ns)?;
    let io = NsIo::enable(ns, claim::INFO_BLOCK_RESERVE.min(ns.capacity()))?;
    if pfn.uuid().is_none() {
        dev_dbg!(&pfn.dev, "no uuid\n");
        return Err(ENODEV);
    }
    drop(io);
    dev_err!(&pfn.dev, "nd_pmem's pfn mode is not built yet\n");
    Err(ENXIO)
}
