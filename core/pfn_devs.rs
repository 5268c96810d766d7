// SPDX-License-Identifier: GPL-2.0
//! pfnN.M: a region's fsdax devices, which give a namespace struct pages
//! (C's `pfn_devs.c`). A daxN.M (dax_devs.rs) is the same object in
//! device-dax mode, with the same attributes.
//!
//! Each region offers one idle pfn seed. Writing its `mode`, `align`,
//! `uuid` and `namespace` configures it, with C's parsing, locks and
//! errno; nd_pmem then binds it (a pfn has its region's namespace type).
//! Its probe ([`driver_probe`], C's `nvdimm_setup_pfn`) validates the info
//! block at 4 KiB of the namespace or writes a new one (`nd_pfn_init`),
//! and hands nd_pmem the mapping the block describes (`__nvdimm_setup_pfn`,
//! through `NamespaceKind::Pfn`). A raw namespace whose media holds a valid
//! pfn (or dax) info block gets a pfn (dax) device claiming it when
//! nd_pmem probes it ([`probe_raw`], C's `nd_pfn_probe`).

use core::fmt::Write;

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::{zero_page, zeroed_vec};
use kernel::sync::Mutex;

use crate::abi::namespace::{DaxConfig, NamespaceInfo, NamespaceKind, NsName, PfnConfig};
use crate::claim::{self, Claim, NamespaceRequest, NsIo};
use crate::formats::label::ClaimClass;
use crate::formats::pfn::{self as fmt, PfnError, PfnMode, PfnSb, Platform, Signature};
use crate::glue::device::{Device, DeviceGuard, DeviceRef, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::namespace::{self, HolderKind, Namespace};
use crate::nd::nd_type;
use crate::region::{self, NsNumber, Region};
use crate::{attribute_group, dev_dbg, dev_err, dev_info, device_object, group_list};

/// The platform the pfn policy runs for: x86-64, with this kernel's
/// `sizeof(struct page)`.
const PLATFORM: Platform = Platform {
    struct_page_size: crate::glue::bindings::RLN_STRUCT_PAGE_SIZE as u64,
    ..Platform::X86_64
};

/// Page, PMD and PUD sizes: the mapping alignments x86 supports with
/// transparent hugepages and 1 GiB pages (`nd_pfn_supported_alignments`).
const PFN_ALIGNMENTS: [u64; 3] = [4096, 2 << 20, 1 << 30];
/// The default alignment: a PMD, for huge-page mappings
/// (`nd_pfn_default_alignment`).
const PFN_DEFAULT_ALIGN: u64 = 2 << 20;

/// What the attributes configure, under the bus's reconfiguration lock.
struct PfnState {
    mode: PfnMode,
    /// The mapping alignment, one of [`PFN_ALIGNMENTS`].
    align: u64,
    /// The claimed namespace (C: `nd_pfn->ndns`).
    claim: Option<Claim>,
    /// The info block the last probe validated or wrote (C:
    /// `nd_pfn->pfn_sb`), which `resource` and `size` show while bound.
    sb: Option<PfnSb>,
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
    fn store(&self, attr: &str, f: impl FnOnce(&DeviceGuard<'_>, &mut PfnState) -> Result) -> Result {
        let held = self.dev.lock();
        let rc = self.region().bus().with_reconfig(|| f(&held, &mut self.state.lock()));
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
    pfn.store("mode", |_, st| {
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
    pfn.store("align", |_, st| {
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
    pfn.store("namespace", |held, st| {
        let kind = pfn.holder_kind();
        match claim::parse_namespace_store(&pfn.dev, kind, st.claim.as_ref(), input)? {
            NamespaceRequest::Attach(ns_dev) => {
                let ns = Namespace::of(ns_dev.device()).ok_or(ENODEV)?;
                st.claim = Some(Claim::attach(&pfn.dev, kind, ns)?);
            }
            NamespaceRequest::Detach => detach_and_reset(pfn, held, st),
        }
        Ok(())
    })
}
static NAMESPACE: Attribute<NdPfn> = Attribute::rw(c"namespace", namespace_show, namespace_store);

/// `nd_detach_and_reset`: the pfn gives its namespace up; a pfn (dax)
/// other than the seed then goes away, the seed forgets its uuid and mode
/// (not its align, as in C).
fn detach_and_reset(pfn: &NdPfn, held: &DeviceGuard<'_>, st: &mut PfnState) {
    st.claim = None;
    let region = pfn.region();
    if region.is_pfn_seed(&pfn.dev) {
        st.mode = PfnMode::None;
        *pfn.uuid.lock() = None;
    } else if let Some(reg) = region.take_pfn(&pfn.dev) {
        // From its own attribute: unregistered from a work item.
        reg.unregister_dead_later(held);
    }
}

// resource and size: where the data starts and how much there is, only
// while nd_pmem has the pfn enabled (C answers ENXIO otherwise).
fn bound_show(pfn: &NdPfn, page: &mut Page, f: impl FnOnce(&PfnSb, &fmt::Namespace, &mut Page)) -> Result {
    let _guard = pfn.dev.lock();
    if !pfn.dev.has_driver() {
        return Err(ENXIO);
    }
    let st = pfn.state.lock();
    let (Some(sb), Some(c)) = (st.sb.as_ref(), st.claim.as_ref()) else { return Err(ENXIO) };
    f(sb, &fmt_namespace(c.namespace()), page);
    Ok(())
}
fn resource_show(pfn: &NdPfn, page: &mut Page) -> Result {
    bound_show(pfn, page, |sb, ns, page| {
        let _ = writeln!(page, "{:#x}", fmt::Setup::resource(sb, ns));
    })
}
fn size_show(pfn: &NdPfn, page: &mut Page) -> Result {
    bound_show(pfn, page, |sb, ns, page| {
        let _ = writeln!(page, "{}", fmt::Setup::size_attr(sb, ns));
    })
}
static RESOURCE: Attribute<NdPfn> = Attribute::admin_ro(c"resource", resource_show);
static SIZE: Attribute<NdPfn> = Attribute::ro(c"size", size_show);

fn supported_alignments_show(_pfn: &NdPfn, page: &mut Page) -> Result {
    page.write_size_select(0, &PFN_ALIGNMENTS);
    Ok(())
}
static SUPPORTED_ALIGNMENTS: Attribute<NdPfn> = Attribute::ro(c"supported_alignments", supported_alignments_show);

attribute_group!(static PFN_GROUP: NdPfn, dir = None, [
    MODE, NAMESPACE, UUID, ALIGN, RESOURCE, SIZE, SUPPORTED_ALIGNMENTS
]);
// C's nd_numa_attribute_group (see `region::OnRegion`).
region::nd_numa_group!(NUMA_GROUP: NdPfn);
// The groups of pfn and dax devices.
group_list!(pub(crate) static PFN_GROUPS: NdPfn = [PFN_GROUP, ND_DEVICE_GROUP, NUMA_GROUP]);
static PFN_TYPE: DeviceType<NdPfn> = DeviceType::new(c"nd_pfn", &PFN_GROUPS);

/// A new pfn (dax) device numbered `id`, in `state`.
fn new_pfn(dax: bool, id: NsNumber, state: PfnState, uuid: Option<[u8; 16]>) -> impl PinInit<NdPfn, Error> {
    try_pin_init!(NdPfn {
        dev: EmbeddedDevice::zeroed(),
        dax,
        id,
        state <- new_mutex!(state),
        uuid <- new_mutex!(uuid),
    }? Error)
}

/// Where a pfn or dax device of `region` goes: under the region, on its bus.
fn placement<'a>(region: &'a Region, ty: &'static DeviceType<NdPfn>) -> Placement<'a, NdPfn> {
    Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
        node: None,
    }
}

fn prefix(dax: bool) -> &'static str {
    if dax { "dax" } else { "pfn" }
}

/// Registers an idle `ty` device (pfn or dax) of `region` numbered `id`
/// (`nd_pfn_alloc` and `nd_pfn_devinit`: mode none, the default align).
pub(crate) fn register(
    region: &Region,
    ty: &'static DeviceType<NdPfn>,
    dax: bool,
    id: NsNumber,
) -> Result<Registration<NdPfn>> {
    let n = id.get();
    let state = PfnState { mode: PfnMode::None, align: PFN_DEFAULT_ALIGN, claim: None, sb: None };
    Registration::new(new_pfn(dax, id, state, None), placement(region, ty), format_args!("{}{}.{}", prefix(dax), region.id(), n))
}

/// Registers an idle pfn seed pfnR.M of `region`, M its lowest free pfn
/// number (`nd_pfn_create`).
#[inline(never)]
pub(crate) fn create_seed(region: &Region) -> Result<Registration<NdPfn>> {
    register(region, &PFN_TYPE, false, region.alloc_pfn_id()?)
}

/// The namespace as the pfn policy sees it.
fn fmt_namespace(ns: &Namespace) -> fmt::Namespace {
    let (start, size) = ns.range();
    fmt::Namespace { start, size, uuid: ns.uuid_or_null() }
}

/// Reads the info block at [`fmt::PFN_SB_OFFSET`] (C's `nvdimm_read_bytes`
/// in `nd_pfn_validate`: ENXIO, the block read as too short, if it fails)
/// and validates it for `sig` with `live` settings (None: autodetect).
fn read_validate(ns: &Namespace, io: &NsIo, sig: Signature, live: Option<&fmt::Settings>) -> core::result::Result<fmt::Validated, PfnError> {
    let mut raw = zeroed_vec::<u8, Kmalloc>(fmt::PFN_SB_SIZE, GFP_KERNEL).map_err(|_| PfnError::TooShort)?;
    io.read(fmt::PFN_SB_OFFSET, &mut raw).map_err(|_| PfnError::TooShort)?;
    fmt::validate(&raw, sig, &fmt_namespace(ns), live, &PLATFORM)
}

/// The errno of a pfn policy error.
fn errno(e: PfnError) -> Error {
    Error::from_errno(-e.errno())
}

/// Logs a validation failure as C's `nd_pfn_validate` does: its
/// `dev_err`s for what it refuses loudly, `dev_dbg` for the rest.
fn log_invalid(dev: &Device, ns: &Namespace, e: PfnError) {
    use PfnError::*;
    let name = ns.device().name().to_str().unwrap_or("");
    match e {
        PageSizeMismatch(_) | PageStructSizeMismatch(_) | AlignmentMismatch(_) | SettingsMismatch
        | AlignExceedsCapacity(_) | OffsetExceedsCapacity | BadOffset | SmallNamespace => {
            dev_err!(dev, "{}\n", e)
        }
        StartMisaligned | EndMisaligned => dev_err!(dev, "{}: {}\n", name, e),
        _ => dev_dbg!(dev, "{}\n", e),
    }
}

/// `nd_pfn_clear_memmap_errors`: for `-M dev`, writes zeroes over the known
/// bad sectors of the memmap area (after the info block, up to `dataoff`),
/// which clears them, so that `memremap_pages` can write struct pages
/// there. C looks the sectors up in the region's list with namespace
/// offsets; here they are the namespace's own bad sectors (the same for a
/// namespace at the start of its region).
/// Returns the enabled range it ends with (C's `nsio`, re-enabled).
fn clear_memmap_errors(pfn: &NdPfn, ns: &Namespace, io: Pin<KBox<NsIo>>, sb: &PfnSb, mode: PfnMode) -> Result<Pin<KBox<NsIo>>> {
    if mode != PfnMode::Pmem {
        return Ok(io);
    }
    const SECTOR: u64 = 512;
    const PAGE: u64 = 4096;
    let meta_start = (fmt::PFN_SB_OFFSET + fmt::PFN_SB_SIZE as u64) / SECTOR;
    let meta_end = sb.dataoff / SECTOR;
    if meta_end <= meta_start {
        return Ok(io);
    }
    // Re-enabled with the memmap area in reach.
    drop(io);
    let io = NsIo::enable(ns, sb.dataoff)?;
    let (start, _) = ns.range();
    let mut bad: KVec<(u64, u64)> = KVec::new();
    let mut push_err = Ok(());
    ns.region().bus().for_each_bad_sectors(start, sb.dataoff, |sector, count| {
        let (s, e) = (sector.max(meta_start), sector.saturating_add(count).min(meta_end));
        if s < e && push_err.is_ok() {
            push_err = bad.push((s, e - s), GFP_KERNEL).map_err(Error::from);
        }
    });
    push_err?;
    let zero = zero_page();
    for &(first_bad, num_bad) in bad.iter() {
        dev_dbg!(&pfn.dev, "meta: {:x} badblocks at {:x}\n", num_bad, first_bad);
        let mut off = (first_bad * SECTOR) / PAGE * PAGE;
        let mut len = (num_bad * SECTOR).div_ceil(PAGE) * PAGE;
        while len > 0 {
            let chunk = len.min(PAGE).min(sb.dataoff.saturating_sub(off));
            if chunk == 0 {
                break;
            }
            if let Err(e) = io.write(off, &zero[..chunk as usize], false) {
                dev_err!(&pfn.dev, "error clearing {:x} badblocks at {:x}\n", num_bad, first_bad);
                return Err(e);
            }
            len -= chunk;
            off += chunk;
        }
    }
    Ok(io)
}

/// `nd_pfn_init`: the info block of a configured pfn (dax) device on `ns`:
/// validated against the device's settings, or, when there is none (a
/// validation error C takes as "no info block", ENODEV), a new one written
/// at 4 KiB. `io` is the namespace's first 8 KiB.
fn init(pfn: &NdPfn, ns: &Namespace, io: Pin<KBox<NsIo>>, st: &PfnState, uuid: [u8; 16]) -> Result<PfnSb> {
    let sig = if pfn.dax { Signature::Dax } else { Signature::Pfn };
    let live = fmt::Settings { uuid, align: st.align, mode: st.mode };
    match read_validate(ns, &io, sig, Some(&live)) {
        Ok(v) => {
            drop(clear_memmap_errors(pfn, ns, io, &v.sb, st.mode)?);
            return Ok(v.sb);
        }
        Err(e) if !e.means_no_info_block() => {
            log_invalid(&pfn.dev, ns, e);
            return Err(errno(e));
        }
        Err(_) => {}
    }
    // No info block: write one.
    let region = ns.region();
    let req = fmt::InitRequest { sig, uuid, align: st.align, mode: st.mode, read_only: region.is_read_only() };
    let sb = fmt::init_layout(&req, &fmt_namespace(ns), &PLATFORM).inspect_err(|e| {
        let ns_name = ns.device().name().to_str().unwrap_or("");
        match e {
            PfnError::ReadOnly => {
                dev_info!(&pfn.dev, "{} is read-only, unable to init metadata\n", region.device().name().to_str().unwrap_or(""))
            }
            PfnError::NamespaceMisaligned => {
                dev_err!(&pfn.dev, "{}: start {:#x} misaligned to {:#x}\n", ns_name, ns.range().0, PLATFORM.compat_align)
            }
            PfnError::Unsatisfiable => dev_err!(&pfn.dev, "{} unable to satisfy requested alignment\n", ns_name),
            PfnError::StructPageTooBig => dev_err!(&pfn.dev, "{}\n", e),
            _ => {}
        }
    }).map_err(errno)?;
    let io = clear_memmap_errors(pfn, ns, io, &sb, st.mode)?;
    let mut raw = zeroed_vec::<u8, Kmalloc>(fmt::PFN_SB_SIZE, GFP_KERNEL)?;
    sb.encode_into(&mut raw).ok_or(EINVAL)?;
    io.write(fmt::PFN_SB_OFFSET, &raw, false)?;
    Ok(sb)
}

/// nd_pmem's probe of pfn device `pfn`, or dax_pmem's of a dax device (C:
/// `nvdimm_namespace_common_probe`, then `pmem_attach_disk`'s or
/// `__dax_pmem_probe`'s `nvdimm_setup_pfn`): the claimed namespace
/// idle and claimed by this pfn, the common checks, the start of the
/// namespace enabled, a uuid; then the info block validated or written
/// (`nd_pfn_init`), and the mapping it describes (`__nvdimm_setup_pfn`),
/// which nd_pmem maps (`NamespaceKind::Pfn`), or dax_pmem hands the dax
/// bus with the block's align and the namespace's name
/// (`NamespaceKind::Dax`).
pub(crate) fn driver_probe(pfn: &NdPfn) -> Result<NamespaceInfo> {
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
    let Some(uuid) = pfn.uuid() else {
        dev_dbg!(&pfn.dev, "no uuid\n");
        return Err(ENODEV);
    };
    let mut st = pfn.state.lock();
    st.sb = None;
    let sb = init(pfn, ns, io, &st, uuid)?;
    let fns = fmt_namespace(ns);
    let setup = fmt::setup(&sb, &fns, st.mode, &PLATFORM).map_err(errno)?;
    if setup.npfns_truncated {
        dev_info!(&pfn.dev, "number of pfns truncated from {} to {}\n", sb.npfns, setup.npfns);
    }
    let align = sb.align;
    st.sb = Some(sb);
    drop(st);
    let cfg = PfnConfig {
        range_start: setup.range_start,
        range_end: setup.range_end,
        data_offset: setup.data_offset,
        pfn_pad: setup.pfn_pad,
        altmap: setup.altmap,
    };
    let kind = if pfn.dax {
        // What dax_pmem reads besides (C: `pfn_sb->align`, and the
        // namespace's name, which it parses and names the metadata with).
        NamespaceKind::Dax(DaxConfig { pfn: cfg, align, namespace: NsName::new(ns.device().name().to_bytes())? })
    } else {
        NamespaceKind::Pfn(cfg)
    };
    namespace::describe(ns, kind)
}

// ---------------------------------------------------------------------------
// Autodetect (C: `nd_pfn_probe` and `nd_dax_probe`, which nd_pmem's probe
// of a raw namespace calls with the first `nd_info_block_reserve()` bytes
// enabled, after `nd_btt_probe`).

/// `nd_pfn_probe` (`ty` the pfn type) or `nd_dax_probe` (the dax type): if
/// `ns` (a raw namespace being probed, `io` its enabled start) holds a
/// valid info block of the kind, a new device of `ty` claims it with the
/// block's uuid, mode and alignment and is registered (it then binds), and
/// the raw probe ends with ENXIO. Err: C's errno of the validation
/// (ENODEV when forced raw, reserved for another personality or there is
/// no info block; others, such as EOPNOTSUPP, end the raw probe too, as
/// nd_pmem's probe decides).
pub(crate) fn probe_raw(ns: &Namespace, io: &NsIo, ty: &'static DeviceType<NdPfn>, dax: bool) -> Result {
    if ns.force_raw() {
        return Err(ENODEV);
    }
    let wanted = if dax { ClaimClass::Dax } else { ClaimClass::Pfn };
    let class = ns.claim_class();
    if class != ClaimClass::None && class != wanted {
        return Err(ENODEV);
    }
    let sig = if dax { Signature::Dax } else { Signature::Pfn };
    let region = ns.region();
    let v = match read_validate(ns, io, sig, None) {
        Ok(v) => v,
        Err(e) => {
            dev_dbg!(ns.device(), "{}: <none>\n", prefix(dax));
            if !e.means_no_info_block() {
                log_invalid(ns.device(), ns, e);
            }
            return Err(errno(e));
        }
    };
    let state = PfnState { mode: v.settings.mode, align: v.settings.align, claim: None, sb: None };
    let id = if dax { region.alloc_dax_id()? } else { region.alloc_pfn_id()? };
    let n = id.get();
    let kind = if dax { HolderKind::Dax } else { HolderKind::Pfn };
    // Claimed before it is added, so its probe finds the claim; added from
    // a work item, because that probe waits for this one to end (C:
    // `nd_pfn_devinit` under the bus lock, then `nd_device_register`).
    let reg = region.bus().with_reconfig(|| {
        Registration::new_deferred(
            new_pfn(dax, id, state, Some(v.settings.uuid)),
            placement(region, ty),
            format_args!("{}{}.{}", prefix(dax), region.id(), n),
            |pfn| {
                let claim = Claim::attach(&pfn.dev, kind, ns).inspect_err(|_| {
                    dev_dbg!(ns.device(), "failed, already claimed\n");
                })?;
                pfn.state.lock().claim = Some(claim);
                Ok(())
            },
        )
    })?;
    dev_dbg!(ns.device(), "{}: {}\n", prefix(dax), reg.get().dev.name().to_str().unwrap_or(""));
    if let Err(reg) = region.adopt_pfn(reg.erase()) {
        // The region is going away: so does the device, once added.
        reg.unregister_later();
    }
    Ok(())
}

/// `nd_pfn_probe` for a raw namespace (see [`probe_raw`]).
pub(crate) fn probe_raw_pfn(ns: &Namespace, io: &NsIo) -> Result {
    probe_raw(ns, io, &PFN_TYPE, false)
}
