// SPDX-License-Identifier: GPL-2.0
//! Regions: regionN, one per persistent (or volatile) memory range a
//! provider describes, and its attributes.
//!
//! A region spans one range of system physical addresses, backed by slices
//! ("mappings") of one or more DIMMs. The nd_region driver
//! (region_driver.rs) binds it and registers its namespaces and seeds; the
//! region keeps their registrations without naming their types.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

use crate::dimm::{Dimm, ndd};
use crate::formats::dpa;
use crate::formats::label::{InterleaveSetId, LabelArea, LabelVersion};
use crate::formats::badrange;
use crate::glue::block::Badblocks;
use crate::glue::device::{ARef, Device, EmbeddedDevice, DeviceGuard, DeviceRef, DeviceRegistration, DeviceType, Placement, Registration};
use crate::glue::ida::{Id, IdaKind};
use crate::glue::lock::MutexArray;
use crate::glue::numa;
use crate::glue::nd_driver::NdEvent;
use crate::abi::provider::{Cookies, FuaFlush, ProviderMemory, ProviderRegion, RegionFlush};
use crate::glue::block::PendingBio;
use crate::glue::sysfs::{self, Attribute, Page};
use crate::nd::{self, nd_type, NdBus};
use crate::shutdown;
use crate::glue::{cpu_cache, params};
use crate::{attribute_group, dev_dbg, dev_err, dev_info, dev_warn, device_object, group_list};

/// ND_REGION_* flag bits.
pub(crate) mod flag {
    /// Namespaces may be mapped with struct pages (e820, of_pmem).
    pub(crate) const PAGEMAP: u32 = 0;
    /// CPU caches are flushed on power loss.
    pub(crate) const PERSIST_CACHE: u32 = 1;
    /// The memory controller's queues are flushed on power loss.
    pub(crate) const PERSIST_MEMCTRL: u32 = 2;
    /// Writes are durable only after the provider's flush (virtio_pmem):
    /// the platform flushes nothing by itself, and MAP_SYNC cannot hold.
    pub(crate) const ASYNC: u32 = 3;
}

/// One DIMM's slice of the region (`struct nd_mapping`).
pub(crate) struct Mapping {
    pub(crate) dimm: ARef<Dimm>,
    /// DIMM physical address of the slice.
    pub(crate) start: u64,
    pub(crate) size: u64,
    pub(crate) position: u32,
}

/// What exists only while nd_region is bound, under the region lock. The
/// nd_region driver (region_driver.rs) fills it.
pub(crate) struct Bound {
    /// Namespaces registered by the last probe (`init_namespaces`).
    pub(crate) ns_active: u32,
    pub(crate) ns_count: u32,
    /// The namespaceN.M registrations.
    pub(crate) namespaces: KVec<DeviceRegistration>,
    /// The idle namespace offered for configuration, one of `namespaces`.
    pub(crate) ns_seed: Option<DeviceRef>,
    /// The idle btt, pfn and dax devices offered for configuration.
    pub(crate) btt_seed: Option<DeviceRegistration>,
    /// bttN.M devices that are no longer the seed (configured, or found
    /// on media by `nd_btt_probe`).
    pub(crate) btts: KVec<DeviceRegistration>,
    pub(crate) pfn_seed: Option<DeviceRegistration>,
    pub(crate) dax_seed: Option<DeviceRegistration>,
    /// pfnN.M and daxN.M devices that are no longer the seed.
    pub(crate) pfns: KVec<DeviceRegistration>,
}

/// regionN (`struct nd_region`).
#[pin_data]
pub(crate) struct Region {
    dev: EmbeddedDevice,
    id: Id,
    start: u64,
    size: u64,
    memory: Option<ProviderMemory>,
    mappings: KVec<Mapping>,
    cookies: Option<Cookies>,
    numa_node: i32,
    target_node: i32,
    flags: u64,
    volatile: bool,
    /// The provider's own flush (C: `nd_region->flush`), if it has one.
    provider_flush: Option<RegionFlush>,
    read_only: AtomicBool,
    align: AtomicU64,
    /// Pmem namespace numbers (namespaceN.M's M) in use, a bit each.
    ns_ids: Arc<Mutex<KVec<u64>>>,
    /// bttN.M numbers in use (C: `btt_ida`).
    btt_ids: Arc<Mutex<KVec<u64>>>,
    /// pfnN.M and daxN.M numbers in use (C: `pfn_ida`, `dax_ida`).
    pfn_ids: Arc<Mutex<KVec<u64>>>,
    dax_ids: Arc<Mutex<KVec<u64>>>,
    /// The BTT lanes: one mutex per lane, lane = CPU % lanes (C:
    /// `nd_region->lane`, `num_lanes`).
    lanes: MutexArray,
    /// Children and seeds; `None` while unbound.
    #[pin]
    state: Mutex<Option<Bound>>,
    /// Bad sectors of the range (`nd_region->bb`), filled from the bus's
    /// bad ranges while bound.
    #[pin]
    bb: Badblocks,
}

device_object!(Region, dev);

impl Region {
    pub(crate) fn id(&self) -> u32 {
        self.id.get()
    }

    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// System physical start and size.
    pub(crate) fn range(&self) -> (u64, u64) {
        (self.start, self.size)
    }

    pub(crate) fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The provider's memory behind the range, if it supplies one.
    pub(crate) fn memory(&self) -> Option<ProviderMemory> {
        self.memory
    }

    pub(crate) fn numa_node(&self) -> i32 {
        self.numa_node
    }

    pub(crate) fn target_node(&self) -> i32 {
        self.target_node
    }

    pub(crate) fn flags(&self) -> u64 {
        self.flags
    }

    pub(crate) fn test_flag(&self, bit: u32) -> bool {
        self.flags & (1 << bit) != 0
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    /// The region a namespace (or other child) sits on.
    pub(crate) fn of_child(dev: &Device) -> Option<&Region> {
        dev.parent().and_then(of)
    }

    pub(crate) fn bus(&self) -> &NdBus {
        NdBus::of_child(&self.dev).expect("regionN without its ndbusN")
    }

    /// The namespace type this region hosts (`nd_region_to_nstype`): pmem
    /// when a DIMM has labels, otherwise label-less io.
    pub(crate) fn nstype(&self) -> u32 {
        if self.mappings.iter().any(|m| m.dimm.test_flag(ndd::LABELING)) {
            nd_type::NAMESPACE_PMEM
        } else {
            nd_type::NAMESPACE_IO
        }
    }

    /// `nvdimm_has_flush`: 1 when some DIMM has flush hints, 0 when none
    /// does (the platform persists writes by itself), None without DIMMs.
    pub(crate) fn has_flush(&self) -> Option<bool> {
        if self.mappings.is_empty() {
            return None;
        }
        if self.test_flag(flag::ASYNC) && self.provider_flush.is_some() {
            return Some(true);
        }
        Some(self.mappings.iter().any(|m| m.dimm.num_flush() > 0))
    }

    /// `nvdimm_has_cache`: whether writes pass through CPU caches that are
    /// not flushed on power loss.
    pub(crate) fn has_cache(&self) -> bool {
        !self.volatile && !self.test_flag(flag::PERSIST_CACHE)
    }

    /// `is_nvdimm_sync`: whether writes that left the CPU caches are
    /// durable without a flush request, so DAX may promise MAP_SYNC.
    pub(crate) fn is_sync(&self) -> bool {
        self.volatile || !self.test_flag(flag::ASYNC)
    }

    /// `nvdimm_flush`: the provider's flush if it has one (its failure is
    /// EIO, ENOMEM aside); otherwise orders prior writes to the media,
    /// then writes each DIMM's flush hint so the memory controller drains
    /// its queues.
    pub(crate) fn flush(&self) -> Result {
        if let Some(f) = &self.provider_flush {
            return f.call().map_err(flush_errno);
        }
        kernel_barrier::wmb();
        for m in self.mappings.iter() {
            m.dimm.write_flush_hint();
        }
        kernel_barrier::wmb();
        Ok(())
    }

    /// `nvdimm_flush(nd_region, bio)` after the data of REQ_FUA bio `bio`:
    /// the provider's flush may keep the bio (virtio_pmem queues it to
    /// its flush work); otherwise as [`Region::flush`].
    pub(crate) fn flush_fua(&self, bio: PendingBio) -> FuaFlush {
        match &self.provider_flush {
            Some(f) => match f.call_fua(bio) {
                FuaFlush::Done(bio, status) => FuaFlush::Done(bio, status.map_err(flush_errno)),
                queued => queued,
            },
            None => FuaFlush::Done(bio, self.flush()),
        }
    }

    /// The per-DIMM allocation unit (`dpa_align`), 0 when misconfigured.
    fn dpa_align(&self) -> u64 {
        let align = self.align.load(Ordering::Relaxed);
        match dpa::dpa_align(align, self.mappings.len() as u32) {
            Some(a) => a,
            None => {
                dev_dbg!(&self.dev, "align {:#x} is not a multiple of the {} mappings\n", align, self.mappings.len());
                0
            }
        }
    }

    /// `nd_region_available_dpa`: free DPA summed over the mappings; 0 when
    /// a DIMM is not enabled.
    fn available_dpa(&self) -> u64 {
        let align = self.dpa_align();
        let mut total = 0;
        for m in self.mappings.iter() {
            let Some(free) = m.dimm.with_extents(|ext| dpa::available(m.start, m.size, ext.iter().copied(), align))
            else {
                return 0;
            };
            total += free;
        }
        total
    }

    /// `nd_region_allocatable_dpa`: the smallest non-zero largest free
    /// extent over the mappings, times the ways.
    fn allocatable_dpa(&self) -> u64 {
        let align = self.dpa_align();
        let mut min = 0u64;
        for m in self.mappings.iter() {
            let max = m
                .dimm
                .with_extents(|ext| dpa::max_contiguous(m.start, m.size, ext.iter().copied(), align))
                .unwrap_or(0);
            if max != 0 && (min == 0 || max < min) {
                min = max;
            }
        }
        min * self.mappings.len() as u64
    }

    /// Runs `f` on the bound state; ENXIO while nd_region is not bound.
    pub(crate) fn with_bound<R>(&self, f: impl FnOnce(&mut Bound) -> R) -> Result<R> {
        let mut state = self.state.lock();
        Ok(f(state.as_mut().ok_or(ENXIO)?))
    }

    /// Allocates the lowest free pmem namespace number (C: `ns_ida`).
    pub(crate) fn alloc_ns_id(&self) -> Result<NsNumber> {
        NsNumber::alloc(&self.ns_ids)
    }

    /// Allocates the lowest free btt number (C: `btt_ida`).
    pub(crate) fn alloc_btt_id(&self) -> Result<NsNumber> {
        NsNumber::alloc(&self.btt_ids)
    }

    /// Allocates the lowest free pfn number (C: `pfn_ida`).
    pub(crate) fn alloc_pfn_id(&self) -> Result<NsNumber> {
        NsNumber::alloc(&self.pfn_ids)
    }

    /// Allocates the lowest free dax number (C: `dax_ida`).
    pub(crate) fn alloc_dax_id(&self) -> Result<NsNumber> {
        NsNumber::alloc(&self.dax_ids)
    }

    /// How many BTT lanes the region offers (C: `num_lanes`, ND_MAX_LANES
    /// for every pmem and volatile region).
    pub(crate) fn num_lanes(&self) -> u32 {
        self.lanes.len() as u32
    }

    /// The lane locks, for the namespace ABI's acquire and release.
    pub(crate) fn lanes(&self) -> &MutexArray {
        &self.lanes
    }

    /// What identifies the interleave set to its labels; None without one.
    pub(crate) fn interleave_set(&self) -> Option<InterleaveSetId> {
        let c = self.cookies.as_ref()?;
        Some(InterleaveSetId { cookie1: c.cookie1, cookie2: c.cookie2, altcookie: c.altcookie, type_guid: c.type_guid })
    }

    /// Whether `dev` is the region's idle seed namespace.
    pub(crate) fn is_seed(&self, dev: &Device) -> bool {
        self.with_bound(|b| b.ns_seed.as_ref().is_some_and(|s| core::ptr::eq(s.device(), dev))).unwrap_or(false)
    }

    /// Unregisters the namespace `held` locks, whose space was all freed,
    /// from a work item: it is deleted from its own `size` attribute.
    pub(crate) fn delete_namespace_later(&self, held: &DeviceGuard<'_>) {
        if let Ok(Ok(Some(reg))) = self.with_bound(|b| take_registration(&mut b.namespaces, held.device())) {
            reg.unregister_dead_later(held);
        }
    }

    /// Whether `dev` is the region's idle btt seed.
    pub(crate) fn is_btt_seed(&self, dev: &Device) -> bool {
        self.with_bound(|b| b.btt_seed.as_ref().is_some_and(|s| core::ptr::eq(s.device(), dev))).unwrap_or(false)
    }

    /// Keeps the registration of a btt that is not the seed; gives it back
    /// while the region is not bound.
    pub(crate) fn adopt_btt(&self, reg: DeviceRegistration) -> core::result::Result<(), DeviceRegistration> {
        let mut state = self.state.lock();
        let Some(b) = state.as_mut() else { return Err(reg) };
        // Room first: a failed push would drop the registration here.
        if b.btts.reserve(1, GFP_KERNEL).is_err() {
            return Err(reg);
        }
        let _ = b.btts.push(reg, GFP_KERNEL);
        Ok(())
    }

    /// Takes the registration of btt `dev`, which is not the seed, out of
    /// the region.
    pub(crate) fn take_btt(&self, dev: &Device) -> Option<DeviceRegistration> {
        self.with_bound(|b| take_registration(&mut b.btts, dev)).ok()?.ok()?
    }

    /// Whether `dev` is the region's idle pfn or dax seed.
    pub(crate) fn is_pfn_seed(&self, dev: &Device) -> bool {
        let is = |s: &Option<DeviceRegistration>| s.as_ref().is_some_and(|s| core::ptr::eq(s.device(), dev));
        self.with_bound(|b| is(&b.pfn_seed) || is(&b.dax_seed)).unwrap_or(false)
    }

    /// Keeps the registration of a pfn or dax device that is not a seed
    /// (one autodetect made); gives it back while the region is not bound.
    pub(crate) fn adopt_pfn(&self, reg: DeviceRegistration) -> core::result::Result<(), DeviceRegistration> {
        let mut state = self.state.lock();
        let Some(b) = state.as_mut() else { return Err(reg) };
        // Room first: a failed push would drop the registration here.
        if b.pfns.reserve(1, GFP_KERNEL).is_err() {
            return Err(reg);
        }
        let _ = b.pfns.push(reg, GFP_KERNEL);
        Ok(())
    }

    /// Takes the registration of pfn or dax `dev`, which is not a seed, out
    /// of the region.
    pub(crate) fn take_pfn(&self, dev: &Device) -> Option<DeviceRegistration> {
        self.with_bound(|b| take_registration(&mut b.pfns, dev)).ok()?.ok()?
    }

    /// The DPA view of the region for namespace sizing: its start, align
    /// and the mappings' DIMM windows, in position order.
    pub(crate) fn dpa_windows(&self) -> Result<(u64, u64, KVec<dpa::Window>)> {
        let mut windows = KVec::with_capacity(self.mappings.len(), GFP_KERNEL)?;
        for m in self.mappings.iter() {
            windows.push(dpa::Window { start: m.start, size: m.size }, GFP_KERNEL)?;
        }
        Ok((self.start, self.align.load(Ordering::Relaxed), windows))
    }
}

/// Takes the registration of `dev` out of `list`.
fn take_registration(list: &mut KVec<DeviceRegistration>, dev: &Device) -> Result<Option<DeviceRegistration>> {
    let mut kept = KVec::with_capacity(list.len(), GFP_KERNEL)?;
    let mut found = None;
    for r in core::mem::replace(list, KVec::new()) {
        if found.is_none() && core::ptr::eq(r.device(), dev) {
            found = Some(r);
        } else {
            // Within the capacity reserved above: cannot fail.
            kept.push(r, GFP_KERNEL)?;
        }
    }
    *list = kept;
    Ok(found)
}

/// A namespace's number M, given back to its region when the namespace is
/// released (not when it is deleted: its sysfs name stays taken until
/// then). Label-less namespaces have the fixed number 0.
pub(crate) struct NsNumber {
    n: u32,
    ids: Option<Arc<Mutex<KVec<u64>>>>,
}

impl NsNumber {
    /// The lowest number free in `ids`, taken until the result drops.
    fn alloc(ids_arc: &Arc<Mutex<KVec<u64>>>) -> Result<Self> {
        let mut ids = ids_arc.lock();
        let word = match ids.iter().position(|w| *w != u64::MAX) {
            Some(w) => w,
            None => {
                ids.push(0, GFP_KERNEL)?;
                ids.len() - 1
            }
        };
        let bit = (!ids[word]).trailing_zeros();
        ids[word] |= 1 << bit;
        Ok(NsNumber { n: word as u32 * 64 + bit, ids: Some(ids_arc.clone()) })
    }

    /// A number not from the region's allocator.
    pub(crate) const fn fixed(n: u32) -> Self {
        Self { n, ids: None }
    }

    pub(crate) fn get(&self) -> u32 {
        self.n
    }
}

impl Drop for NsNumber {
    fn drop(&mut self) {
        if let Some(ids) = &self.ids {
            if let Some(w) = ids.lock().get_mut(self.n as usize / 64) {
                *w &= !(1u64 << (self.n % 64));
            }
        }
    }
}

/// Memory barriers around flush-hint writes.
mod kernel_barrier {
    /// Orders earlier stores before later ones (`wmb`, an sfence on x86,
    /// which also drains the non-temporal stores of pmem writes).
    pub(super) fn wmb() {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
}

fn modalias_show(_r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", nd_type::REGION_PMEM);
    Ok(())
}
static MODALIAS: Attribute<Region> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", if r.volatile { "nd_volatile" } else { "nd_pmem" });
    Ok(())
}
static DEVTYPE: Attribute<Region> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: Region, dir = None, [MODALIAS, DEVTYPE]);

fn size_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.size);
    Ok(())
}
static SIZE: Attribute<Region> = Attribute::ro(c"size", size_show);

// align: the unit namespaces are sized in; a power of two per DIMM, at
// least a page, dividing evenly across the ways.
fn align_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", r.align.load(Ordering::Relaxed));
    Ok(())
}
fn align_store(r: &Region, input: &[u8]) -> Result {
    let val = sysfs::parse_u64(input, 0).inspect_err(|_| dev_dbg!(&r.dev, "align: input is not a number\n"))?;
    let ways = (r.mappings.len() as u64).max(1);
    let per_dimm = val / ways;
    if !per_dimm.is_power_of_two() || per_dimm < dpa::PAGE_SIZE || val > r.size || val % ways != 0 {
        dev_dbg!(&r.dev, "align {:#x} rejected\n", val);
        return Err(EINVAL);
    }
    // Allocation reads it several times: change it under the bus lock.
    r.bus().with_reconfig(|| r.align.store(val, Ordering::Relaxed));
    Ok(())
}
static ALIGN: Attribute<Region> = Attribute::rw(c"align", align_show, align_store);

fn nstype_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.nstype());
    Ok(())
}
static NSTYPE: Attribute<Region> = Attribute::ro(c"nstype", nstype_show);

fn mappings_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.mappings.len());
    Ok(())
}
static MAPPINGS: Attribute<Region> = Attribute::ro(c"mappings", mappings_show);

fn seed_show(page: &mut Page, seed: Option<&Device>) -> Result {
    match seed {
        Some(dev) => {
            let _ = writeln!(page, "{}", dev.name().to_str().unwrap_or(""));
        }
        None => {
            let _ = writeln!(page);
        }
    }
    Ok(())
}

fn namespace_seed_show(r: &Region, page: &mut Page) -> Result {
    let state = r.state.lock();
    seed_show(page, state.as_ref().and_then(|b| b.ns_seed.as_ref()).map(|s| s.device()))
}
static NAMESPACE_SEED: Attribute<Region> = Attribute::ro(c"namespace_seed", namespace_seed_show);

fn personality_seed_show(r: &Region, page: &mut Page, seed: fn(&Bound) -> Option<&DeviceRegistration>) -> Result {
    let state = r.state.lock();
    seed_show(page, state.as_ref().and_then(seed).map(|p| p.device()))
}
static BTT_SEED: Attribute<Region> =
    Attribute::ro(c"btt_seed", |r, page| personality_seed_show(r, page, |b| b.btt_seed.as_ref()));
static PFN_SEED: Attribute<Region> =
    Attribute::ro(c"pfn_seed", |r, page| personality_seed_show(r, page, |b| b.pfn_seed.as_ref())).visible_if(memory_visible);
static DAX_SEED: Attribute<Region> =
    Attribute::ro(c"dax_seed", |r, page| personality_seed_show(r, page, |b| b.dax_seed.as_ref())).visible_if(memory_visible);

// Every region here is a memory region (pmem or volatile); C hides these
// on the block-window regions it no longer creates.
fn memory_visible(_r: &Region, attr: &'static Attribute<Region>) -> Option<u16> {
    Some(attr.mode())
}

// deep_flush: 1 when writes need an explicit flush to reach the media
// (flush hints), 0 when the platform persists them; writing 1 flushes.
// Hidden when the region has no DIMMs to tell.
fn deep_flush_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.has_flush().ok_or(ENXIO)? as u32);
    Ok(())
}
fn deep_flush_store(r: &Region, input: &[u8]) -> Result {
    let flush = sysfs::parse_bool(input).inspect_err(|_| dev_dbg!(&r.dev, "deep_flush: input is not a boolean\n"))?;
    if !flush {
        dev_dbg!(&r.dev, "deep_flush: only a true value flushes\n");
        return Err(EINVAL);
    }
    r.flush()
}
static DEEP_FLUSH: Attribute<Region> =
    Attribute::rw(c"deep_flush", deep_flush_show, deep_flush_store).visible_if(deep_flush_visible);

fn deep_flush_visible(r: &Region, attr: &'static Attribute<Region>) -> Option<u16> {
    match r.has_flush()? {
        true => Some(attr.mode()),
        false => Some(0o444),
    }
}

fn read_only_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.is_read_only() as u32);
    Ok(())
}
fn read_only_store(r: &Region, input: &[u8]) -> Result {
    let ro = sysfs::parse_bool(input).inspect_err(|_| dev_dbg!(&r.dev, "read_only: input is not a boolean\n"))?;
    r.read_only.store(ro, Ordering::Relaxed);
    // Namespaces' block devices pick the change up (NVDIMM_REVALIDATE_REGION).
    r.dev.for_each_child(|child| {
        nd::notify(child, NdEvent::RevalidateRegion);
        Ok(())
    })
}
static READ_ONLY: Attribute<Region> = Attribute::rw(c"read_only", read_only_show, read_only_store);

// set_cookie: the interleave-set cookie of the label version in use: v1.1
// labels use cookie1, anything else (v1.2, or a DIMM without an index)
// cookie2; without label data, cookie1.
fn set_cookie_show(r: &Region, page: &mut Page) -> Result {
    let cookies = r.cookies.ok_or(ENXIO)?;
    let _guard = r.dev.lock();
    let version = r.mappings.first().and_then(|m| {
        m.dimm.with_labels(|data| match LabelArea::parse(data) {
            Ok(area) => Some(area.version()),
            Err(_) => None,
        })
    });
    let cookie = match version {
        Some(Some(v)) if v == LabelVersion::V1_1 => cookies.cookie1,
        Some(_) => cookies.cookie2,
        None => cookies.cookie1,
    };
    let _ = writeln!(page, "{:#x}", cookie);
    Ok(())
}
static SET_COOKIE: Attribute<Region> = Attribute::ro(c"set_cookie", set_cookie_show).visible_if(set_cookie_visible);

fn set_cookie_visible(r: &Region, attr: &'static Attribute<Region>) -> Option<u16> {
    r.cookies.is_some().then(|| attr.mode())
}

fn available_size_show(r: &Region, page: &mut Page) -> Result {
    let _guard = r.dev.lock();
    let avail = r.bus().with_reconfig(|| r.available_dpa());
    let _ = writeln!(page, "{}", avail);
    Ok(())
}
static AVAILABLE_SIZE: Attribute<Region> =
    Attribute::ro(c"available_size", available_size_show).visible_if(available_size_visible);

fn available_size_visible(r: &Region, attr: &'static Attribute<Region>) -> Option<u16> {
    (r.nstype() == nd_type::NAMESPACE_PMEM || r.cookies.is_some()).then(|| attr.mode())
}

fn max_available_extent_show(r: &Region, page: &mut Page) -> Result {
    let _guard = r.dev.lock();
    let avail = r.bus().with_reconfig(|| r.allocatable_dpa());
    let _ = writeln!(page, "{}", avail);
    Ok(())
}
static MAX_AVAILABLE_EXTENT: Attribute<Region> = Attribute::ro(c"max_available_extent", max_available_extent_show);

// init_namespaces: "active/total" namespaces the last probe registered.
fn init_namespaces_show(r: &Region, page: &mut Page) -> Result {
    let (active, count) = r.with_bound(|b| (b.ns_active, b.ns_count))?;
    let _ = writeln!(page, "{}/{}", active, count);
    Ok(())
}
static INIT_NAMESPACES: Attribute<Region> = Attribute::ro(c"init_namespaces", init_namespaces_show);

// badblocks: known-bad sectors of the range, from the bus's bad ranges
// ("sector count" lines); ENXIO while unbound.
fn badblocks_show(r: &Region, page: &mut Page) -> Result {
    let _guard = r.dev.lock();
    if !r.dev.has_driver() {
        return Err(ENXIO);
    }
    r.bb.show(page)
}
static BADBLOCKS: Attribute<Region> = Attribute::ro(c"badblocks", badblocks_show).visible_if(memory_visible);

fn resource_show(r: &Region, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", r.start);
    Ok(())
}
static RESOURCE: Attribute<Region> = Attribute::admin_ro(c"resource", resource_show).visible_if(memory_visible);

fn persistence_domain_show(r: &Region, page: &mut Page) -> Result {
    let domain = if r.test_flag(flag::PERSIST_CACHE) {
        "cpu_cache"
    } else if r.test_flag(flag::PERSIST_MEMCTRL) {
        "memory_controller"
    } else {
        ""
    };
    let _ = writeln!(page, "{domain}");
    Ok(())
}
static PERSISTENCE_DOMAIN: Attribute<Region> =
    Attribute::ro(c"persistence_domain", persistence_domain_show).visible_if(persistence_visible);

fn persistence_visible(r: &Region, attr: &'static Attribute<Region>) -> Option<u16> {
    (r.test_flag(flag::PERSIST_CACHE) || r.test_flag(flag::PERSIST_MEMCTRL)).then(|| attr.mode())
}

// cache_writeback (beyond C; only with libnvdimm.cache_writeback=1, so
// that C's sysfs is unchanged by default; Documentation/flush.md): writing
// a true value writes back every CPU's caches for the region: a CLWB sweep
// of its range where the CPU has CLWB (it reaches every CPU's cache), else
// WBINVD on each online CPU. Write-only, root only (0200).
fn cache_writeback_store(r: &Region, input: &[u8]) -> Result {
    let wb = sysfs::parse_bool(input).inspect_err(|_| dev_dbg!(&r.dev, "cache_writeback: input is not a boolean\n"))?;
    if !wb {
        dev_dbg!(&r.dev, "cache_writeback: only a true value writes back\n");
        return Err(EINVAL);
    }
    if cpu_cache::has_clwb() {
        match r.memory {
            Some(mem) => cpu_cache::clwb_memory(&mem),
            None => cpu_cache::clwb_range(r.start, r.size)?,
        }
        dev_info!(&r.dev, "cache_writeback: clwb over {:#x} bytes\n", r.size);
    } else {
        let cpus = cpu_cache::wbinvd_each_cpu();
        dev_info!(&r.dev, "cache_writeback: wbinvd on {} CPUs\n", cpus);
    }
    Ok(())
}
static CACHE_WRITEBACK: Attribute<Region> =
    Attribute::wo(c"cache_writeback", cache_writeback_store).visible_if(|_r, attr| params::cache_writeback().then(|| attr.mode()));

attribute_group!(static REGION_GROUP: Region, dir = None, [
    SIZE, ALIGN, NSTYPE, MAPPINGS, BTT_SEED, PFN_SEED, DAX_SEED, DEEP_FLUSH, READ_ONLY,
    SET_COOKIE, AVAILABLE_SIZE, MAX_AVAILABLE_EXTENT, NAMESPACE_SEED, INIT_NAMESPACES,
    BADBLOCKS, RESOURCE, PERSISTENCE_DOMAIN, CACHE_WRITEBACK
]);

// mappingN: "nmemX,start,size,position" for each DIMM slice, N < mappings.
fn mapping_show(r: &Region, n: usize, page: &mut Page) -> Result {
    let m = r.mappings.get(n).ok_or(ENXIO)?;
    let _ = writeln!(page, "{},{},{},{}", m.dimm.device().name().to_str().unwrap_or(""), m.start, m.size, m.position);
    Ok(())
}

macro_rules! mapping_attrs {
    ($($n:literal => $attr:ident, $name:literal;)*) => {
        $(
            static $attr: Attribute<Region> = Attribute::ro($name, |r, page| mapping_show(r, $n, page))
                .visible_if(|r, attr| ($n < r.mappings.len()).then(|| attr.mode()));
        )*
        attribute_group!(static MAPPING_GROUP: Region, dir = None, [$($attr),*]);
    };
}

mapping_attrs! {
    0 => MAPPING0, c"mapping0"; 1 => MAPPING1, c"mapping1"; 2 => MAPPING2, c"mapping2";
    3 => MAPPING3, c"mapping3"; 4 => MAPPING4, c"mapping4"; 5 => MAPPING5, c"mapping5";
    6 => MAPPING6, c"mapping6"; 7 => MAPPING7, c"mapping7"; 8 => MAPPING8, c"mapping8";
    9 => MAPPING9, c"mapping9"; 10 => MAPPING10, c"mapping10"; 11 => MAPPING11, c"mapping11";
    12 => MAPPING12, c"mapping12"; 13 => MAPPING13, c"mapping13"; 14 => MAPPING14, c"mapping14";
    15 => MAPPING15, c"mapping15"; 16 => MAPPING16, c"mapping16"; 17 => MAPPING17, c"mapping17";
    18 => MAPPING18, c"mapping18"; 19 => MAPPING19, c"mapping19"; 20 => MAPPING20, c"mapping20";
    21 => MAPPING21, c"mapping21"; 22 => MAPPING22, c"mapping22"; 23 => MAPPING23, c"mapping23";
    24 => MAPPING24, c"mapping24"; 25 => MAPPING25, c"mapping25"; 26 => MAPPING26, c"mapping26";
    27 => MAPPING27, c"mapping27"; 28 => MAPPING28, c"mapping28"; 29 => MAPPING29, c"mapping29";
    30 => MAPPING30, c"mapping30"; 31 => MAPPING31, c"mapping31";
}

/// A region or a device below one: what C's `nd_numa_attribute_group`
/// describes (regions, namespaces, btt, pfn and dax devices).
pub(crate) trait OnRegion: sysfs::FromDevice {
    /// The device the attributes are on.
    fn on_device(&self) -> &Device;
    /// The region itself, or the one below it (`nvdimm_dev_to_target_node`).
    fn on_region(&self) -> &Region;
}

impl OnRegion for Region {
    fn on_device(&self) -> &Device {
        &self.dev
    }
    fn on_region(&self) -> &Region {
        self
    }
}

// numa_node: dev_to_node(), set on the region before its add and inherited
// by the devices below it.
pub(crate) fn numa_node_show<T: OnRegion>(t: &T, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", t.on_device().numa_node());
    Ok(())
}

// target_node: the region's (the memory's own node, before it is onlined).
pub(crate) fn target_node_show<T: OnRegion>(t: &T, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", t.on_region().target_node);
    Ok(())
}

/// Both appear only on a NUMA kernel.
pub(crate) fn numa_node_visible<T: OnRegion>(_t: &T, attr: &'static Attribute<T>) -> Option<u16> {
    numa::ENABLED.then(|| attr.mode())
}

/// `target_node` also hides when the region has none.
pub(crate) fn target_node_visible<T: OnRegion>(t: &T, attr: &'static Attribute<T>) -> Option<u16> {
    (numa::ENABLED && t.on_region().target_node != numa::NO_NODE).then(|| attr.mode())
}

/// C's `nd_numa_attribute_group` on `$ty`, a device below a region (a
/// field `dev` and a method `region()`): its [`OnRegion`] and the group
/// `$group` of the statics `NUMA_NODE` and `TARGET_NODE`. The caller has
/// `region` (this module) in scope.
macro_rules! nd_numa_group {
    ($group:ident: $ty:ty) => {
        impl region::OnRegion for $ty {
            fn on_device(&self) -> &$crate::glue::device::Device {
                &self.dev
            }
            fn on_region(&self) -> &region::Region {
                self.region()
            }
        }
        static NUMA_NODE: $crate::glue::sysfs::Attribute<$ty> =
            $crate::glue::sysfs::Attribute::ro(c"numa_node", region::numa_node_show)
                .visible_if(region::numa_node_visible);
        static TARGET_NODE: $crate::glue::sysfs::Attribute<$ty> =
            $crate::glue::sysfs::Attribute::ro(c"target_node", region::target_node_show)
                .visible_if(region::target_node_visible);
        $crate::attribute_group!(static $group: $ty, dir = None, [NUMA_NODE, TARGET_NODE]);
    };
}
pub(crate) use nd_numa_group;

static NUMA_NODE: Attribute<Region> = Attribute::ro(c"numa_node", numa_node_show).visible_if(numa_node_visible);
static TARGET_NODE: Attribute<Region> = Attribute::ro(c"target_node", target_node_show).visible_if(target_node_visible);
attribute_group!(static NUMA_GROUP: Region, dir = None, [NUMA_NODE, TARGET_NODE]);

group_list!(static REGION_GROUPS: Region = [ND_DEVICE_GROUP, REGION_GROUP, MAPPING_GROUP, NUMA_GROUP]);
static PMEM_TYPE: DeviceType<Region> = DeviceType::new(c"nd_pmem", &REGION_GROUPS);
static VOLATILE_TYPE: DeviceType<Region> = DeviceType::new(c"nd_volatile", &REGION_GROUPS);

impl Region {
    /// Adds the bus's bad ranges inside the region to its list.
    fn populate_badblocks(&self) {
        self.bus().for_each_bad_sectors(self.start, self.size, |sector, count| self.bb.set(sector, count));
    }

    /// `nd_region_notify(NVDIMM_REVALIDATE_POISON)`: while bound, re-reads
    /// the bad ranges and passes the event to the namespaces' drivers.
    pub(crate) fn revalidate_poison(&self) {
        let _guard = self.dev.lock();
        if !self.dev.has_driver() {
            return;
        }
        self.populate_badblocks();
        self.bb.notify();
        let _ = self.dev.for_each_child(|child| {
            nd::notify(child, NdEvent::RevalidatePoison);
            Ok(())
        });
    }

    /// Drops the whole sectors of a clear of `cleared` bytes at `phys`
    /// that lies inside the region (`nvdimm_clear_badblocks_region`).
    pub(crate) fn forget_bad_sectors(&self, phys: u64, cleared: u64) {
        if let Some((sector, count)) = badrange::cleared_sectors(self.start, self.size, phys, cleared) {
            self.bb.clear(sector, count);
            self.bb.notify();
        }
    }
}

/// The region behind `dev`, if it is one.
pub(crate) fn of(dev: &Device) -> Option<&Region> {
    PMEM_TYPE.downcast(dev).or_else(|| VOLATILE_TYPE.downcast(dev))
}

/// Lanes of every region (C: ND_MAX_LANES, which `nvdimm_pmem_region_create`
/// and `nvdimm_volatile_region_create` set): the BTT's free blocks per
/// arena, so at most that many writes are in flight.
const ND_MAX_LANES: usize = 256;

/// C allows at most 32 mappings per region (ND_MAX_MAPPINGS).
const MAX_MAPPINGS: usize = 32;

/// Creates regionN on `bus` (`nd_region_create`).
pub(crate) fn create(bus: &NdBus, desc: ProviderRegion<'_, Dimm>) -> Result<Registration<Region>> {
    let mut mappings = KVec::new();
    let mut ro = false;
    for (i, m) in desc.mappings().enumerate() {
        if i >= MAX_MAPPINGS {
            return Err(ENXIO);
        }
        if (m.start | m.size) % dpa::PAGE_SIZE != 0 {
            dev_err!(bus.device(), "{}: mapping{} is not {} aligned\n", m.dimm.device().name().to_str().unwrap_or(""), i, dpa::PAGE_SIZE);
            return Err(EINVAL);
        }
        ro |= m.dimm.test_flag(ndd::UNARMED);
        mappings.push(Mapping { dimm: ARef::new(m.dimm), start: m.start, size: m.size, position: m.position }, GFP_KERNEL)?;
    }
    let id = Id::alloc(IdaKind::Region)?;
    let n = id.get();
    let align = dpa::default_region_align(desc.size(), mappings.len() as u32);
    let (start, size, memory, cookies) = (desc.start(), desc.size(), desc.mapping(), desc.cookies());
    let (numa_node, target_node, flags) = (desc.numa_node(), desc.target_node(), desc.flags());
    let (volatile, provider, provider_flush) = (desc.is_volatile(), Some(desc.attrs()), desc.flush());
    let ns_ids = Arc::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?;
    let btt_ids = Arc::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?;
    let pfn_ids = Arc::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?;
    let dax_ids = Arc::pin_init(new_mutex!(KVec::new()), GFP_KERNEL)?;
    let lanes = MutexArray::new(ND_MAX_LANES)?;
    let init = try_pin_init!(Region {
        dev: EmbeddedDevice::zeroed(),
        id,
        start,
        size,
        memory,
        mappings,
        cookies,
        numa_node,
        target_node,
        flags,
        volatile,
        provider_flush,
        read_only: AtomicBool::new(ro),
        align: AtomicU64::new(align),
        ns_ids,
        btt_ids,
        pfn_ids,
        dax_ids,
        lanes,
        state <- new_mutex!(None),
        bb <- Badblocks::new(),
    }? Error);
    let place = Placement {
        parent: Some(bus.device()),
        ty: if volatile { &VOLATILE_TYPE } else { &PMEM_TYPE },
        bus: Some(bus.bus_type()),
        provider,
        devt: 0,
        // C's __nd_device_register: the region's node before the add,
        // which its children inherit.
        node: Some(numa_node),
    };
    Registration::new(init, place, format_args!("region{n}"))
}

/// Whether `dev` is a region.
pub(crate) fn is_region(dev: &Device) -> bool {
    of(dev).is_some()
}

impl Region {
    /// The region's part of binding nd_region (`nd_region_probe` before
    /// the namespaces): every DIMM must be enabled, unless it neither has
    /// labels nor is locked, for then its label-less DPA is unambiguous;
    /// the DIMMs become busy and the bad sectors are read afresh.
    pub(crate) fn enable(&self) -> Result {
        for m in self.mappings.iter() {
            if m.dimm.has_label_data() {
                continue;
            }
            let locked = m.dimm.test_flag(ndd::LOCKED);
            if locked || m.dimm.test_flag(ndd::LABELING) {
                dev_err!(&self.dev, "{}: is {}, failing probe\n", m.dimm.device().name().to_str().unwrap_or(""),
                    if locked { "locked" } else { "disabled" });
                return Err(ENXIO);
            }
        }
        for m in self.mappings.iter() {
            m.dimm.get_busy();
        }
        // A fresh list per binding, as C's devm_init_badblocks().
        self.bb.clear(0, self.size / badrange::SECTOR_SIZE + 1);
        self.bb.notify_file_of(&self.dev);
        self.populate_badblocks();
        let hints = self.mappings.iter().map(|m| m.dimm.flush_hints());
        if shutdown::region_enabled(self.id(), self.dev.name().to_str().unwrap_or("region?"), hints).is_err() {
            dev_warn!(&self.dev, "panic flush: no memory, the region is not flushed at panic\n");
        }
        *self.state.lock() = Some(Bound {
            ns_active: 0,
            ns_count: 0,
            namespaces: KVec::new(),
            ns_seed: None,
            btt_seed: None,
            btts: KVec::new(),
            pfn_seed: None,
            dax_seed: None,
            pfns: KVec::new(),
        });
        Ok(())
    }

    /// Unregisters the namespaces and seeds and lets the DIMMs go.
    pub(crate) fn disable(&self) {
        shutdown::region_disabled(self.id());
        // Taken out of the lock first: unregistering waits for namespace
        // attribute readers, which may take it.
        let bound = self.state.lock().take();
        if let Some(b) = bound {
            drop(b.ns_seed);
            drop(b.btt_seed);
            drop(b.btts);
            drop(b.pfn_seed);
            drop(b.dax_seed);
            drop(b.pfns);
            drop(b.namespaces);
            for m in self.mappings.iter() {
                m.dimm.put_busy();
            }
        }
    }
}

/// Runs `f` on each region of `bus`, with a reference held but no lock.
pub(crate) fn for_each_region(bus: &NdBus, mut f: impl FnMut(&Region)) -> Result {
    for dev in bus.region_devices()?.iter() {
        if let Some(r) = of(dev.device()) {
            f(r);
        }
    }
    Ok(())
}

/// The regions of `bus` overlapping physical `[start, +len)`, referenced.
fn regions_in(bus: &NdBus, start: u64, len: u64) -> Result<KVec<DeviceRef>> {
    let mut out = KVec::new();
    for dev in bus.region_devices()? {
        let Some((rs, rl)) = of(dev.device()).map(|r| r.range()) else { continue };
        if rl > 0 && len > 0 && rs <= start.saturating_add(len - 1) && start <= rs + (rl - 1) {
            out.push(dev, GFP_KERNEL)?;
        }
    }
    Ok(out)
}

/// `nvdimm_clear_poison`: asks the provider to clear `len` bytes of poison
/// at `phys`, then forgets what it cleared from the bus's and the regions'
/// lists. Returns the bytes cleared.
pub(crate) fn clear_poison(bus: &NdBus, phys: u64, len: u64) -> Result<u64> {
    // Without a command path there is nothing to ask: all is handled.
    let Some(cleared) = bus.clear_poison(phys, len)? else { return Ok(len) };
    forget_cleared_sectors(bus, phys, cleared);
    Ok(cleared)
}

/// The regions' part of `nvdimm_account_cleared_poison`: each region that
/// holds the whole clear forgets its whole sectors.
fn forget_cleared_sectors(bus: &NdBus, phys: u64, cleared: u64) {
    if cleared < badrange::SECTOR_SIZE {
        return;
    }
    // Without memory for the list, the sectors stay listed: a read of them
    // fails until written, which is what a listed bad block costs.
    let Ok(regions) = regions_in(bus, phys, cleared) else { return };
    for dev in regions.iter() {
        if let Some(region) = of(dev.device()) {
            region.forget_bad_sectors(phys, cleared);
        }
    }
}

/// `nvdimm_account_cleared_poison`, after a CLEAR_ERROR ioctl: the bus's
/// list forgets `cleared` bytes at `phys`, and the regions their whole
/// sectors.
pub(crate) fn account_cleared_poison(bus: &NdBus, phys: u64, cleared: u64) {
    if cleared > 0 {
        bus.forget_badrange(phys, cleared as u32);
    }
    forget_cleared_sectors(bus, phys, cleared);
}

/// Tells the regions of `bus` overlapping `[start, +len)` and their
/// namespaces' drivers that the bad ranges changed (NVDIMM_REVALIDATE_POISON).
pub(crate) fn revalidate_poison(bus: &NdBus, start: u64, len: u64) {
    // Outside the bus lock: drivers re-read the list under it.
    let Ok(regions) = regions_in(bus, start, len) else { return };
    for dev in regions.iter() {
        if let Some(region) = of(dev.device()) {
            region.revalidate_poison();
        }
    }
}

/// A provider's flush error as `nvdimm_flush` returns it: EIO, ENOMEM aside.
fn flush_errno(e: Error) -> Error {
    if e == ENOMEM {
        e
    } else {
        EIO
    }
}
