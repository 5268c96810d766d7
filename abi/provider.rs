// SPDX-License-Identifier: GPL-2.0
//! The C ABI between libnvdimm and the platform providers that feed it buses
//! and DIMMs (nfit, and nfit_test through nfit), declared once for both sides.
//!
//! Provider side: [`Bus::register`] and [`Bus::add_dimm`] over a
//! [`BusProvider`]. libnvdimm side: [`export_nd_core!`] turns an [`NdCore`]
//! implementation into the exported `extern "C"` functions. Both sides are
//! checked against the same `#[repr(C)]` descriptors and signatures here.

use core::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::glue::bindings;
use crate::glue::device::Device;
use crate::glue::sysfs::GroupList;
pub use crate::glue::pmem_map::ProviderMemory;

/// `ctl`: runs ND_CMD `cmd` on the bus (`dimm` null) or on a DIMM, in place
/// on `buf`; the firmware status goes to `cmd_rc`.
pub type RawCtl = unsafe extern "C" fn(
    bus: *const c_void,
    dimm: *const c_void,
    cmd: c_uint,
    buf: *mut u8,
    len: c_uint,
    cmd_rc: *mut c_int,
) -> c_int;

/// `security_flags`: the NVDIMM_SECURITY_* bits of a DIMM for the user
/// (`master` = 0) or master passphrase.
pub type RawSecurityFlags = unsafe extern "C" fn(dimm: *const c_void, master: c_int) -> c_ulong;

/// A provider's bus, as it hands it to libnvdimm (`struct nvdimm_bus_descriptor`).
#[repr(C)]
pub struct RawBusDesc {
    /// ndbusN/provider; null means the parent device's name.
    pub provider_name: *const c_char,
    /// The ND_CMD_* bus commands the provider implements (ndbusN/commands).
    pub cmd_mask: c_ulong,
    /// ND_CMD_CALL families accepted on DIMMs (NVDIMM_FAMILY_*).
    pub dimm_family_mask: c_ulong,
    /// ND_CMD_CALL families accepted on the bus (NVDIMM_BUS_FAMILY_*).
    pub bus_family_mask: c_ulong,
    /// Provider attribute groups for ndbusN (nfit/), NULL-terminated, or null.
    pub attr_groups: *const *const bindings::attribute_group,
    /// Passed back to `ctl` as `bus`.
    pub provider_data: *const c_void,
    /// Command dispatch.
    pub ctl: Option<RawCtl>,
    /// The provider's module, pinned while devices of the bus are bound.
    pub owner: *mut bindings::module,
}

/// A provider's DIMM (`nvdimm_create()`'s arguments).
#[repr(C)]
pub struct RawDimmDesc {
    /// Passed back to `ctl` as `dimm`; found from nmemN by `rln_dimm_provider_data`.
    pub provider_data: *const c_void,
    /// Provider attribute groups for nmemN (nfit/), NULL-terminated, or null.
    pub attr_groups: *const *const bindings::attribute_group,
    /// NDD_* flags (unarmed, labeling, ...).
    pub flags: c_ulong,
    /// ND_CMD_* DIMM commands the provider implements (nmemN/commands).
    pub cmd_mask: c_ulong,
    /// Security state, or none when the DIMM has no security commands.
    pub security_flags: Option<RawSecurityFlags>,
    /// Whether userspace may change the security state (security is writable).
    pub security_mutable: c_int,
    /// Whether the security state can be frozen (nmemN/frozen shown).
    pub security_freezable: c_int,
    /// Mapped flush hint addresses (`num_flush` of them), or null.
    pub flush_hints: *const *mut u64,
    /// How many.
    pub num_flush: c_uint,
}

/// Opaque handle of a registered bus.
#[repr(C)]
pub struct RawBus {
    _private: [u8; 0],
}

/// Opaque handle of a created DIMM.
#[repr(C)]
pub struct RawDimm {
    _private: [u8; 0],
}

/// One DIMM's part of a region (`struct nd_mapping_desc`).
#[repr(C)]
pub struct RawMappingDesc {
    /// The DIMM, as `rln_dimm_create` returned it.
    pub dimm: *mut RawDimm,
    /// DIMM physical address where the mapping starts.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// Position in the interleave set.
    pub position: c_int,
}

/// A region as a provider describes it (`struct nd_region_desc`).
#[repr(C)]
pub struct RawRegionDesc {
    /// System physical address range.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// The provider's kernel mapping of the range, or null: drivers then
    /// map it themselves. Emulated platforms back their ranges with memory.
    pub virt: *mut c_void,
    /// The mappings, `num_mappings` of them.
    pub mappings: *const RawMappingDesc,
    /// How many.
    pub num_mappings: c_uint,
    /// Whether the interleave-set cookies below are valid.
    pub has_iset: c_int,
    /// Cookie of v1.1 labels.
    pub cookie1: u64,
    /// Cookie of v1.2 labels.
    pub cookie2: u64,
    /// v1.1 cookie as old kernels computed it.
    pub altcookie: u64,
    /// Address range type GUID, which v1.2 labels repeat.
    pub type_guid: [u8; 16],
    /// NUMA node of the range's memory and its target node.
    pub numa_node: c_int,
    /// See `numa_node`.
    pub target_node: c_int,
    /// ND_REGION_* flags.
    pub flags: c_ulong,
    /// Volatile memory (`nd_volatile` region) rather than persistent.
    pub volatile: c_int,
    /// Provider attribute groups for regionN (nfit/), NULL-terminated, or null.
    pub attr_groups: *const *const bindings::attribute_group,
    /// Found from regionN by `rln_region_provider_data`.
    pub provider_data: *const c_void,
}

// The functions libnvdimm exports to providers. Signatures are stated once;
// `export_nd_core!` checks libnvdimm's definitions against these.
// `struct device` holds lock types bindgen makes opaque; only pointers pass.
#[allow(improper_ctypes)]
extern "C" {
    fn rln_bus_register(parent: *mut bindings::device, desc: *const RawBusDesc, out: *mut *mut RawBus) -> c_int;
    fn rln_bus_unregister(bus: *mut RawBus);
    fn rln_dimm_create(bus: *mut RawBus, desc: *const RawDimmDesc, out: *mut *mut RawDimm) -> c_int;
    fn rln_region_create(bus: *mut RawBus, desc: *const RawRegionDesc) -> c_int;
    fn rln_region_provider_data(dev: *const bindings::device) -> *const c_void;
    fn rln_bus_provider_data(dev: *const bindings::device) -> *const c_void;
    fn rln_dimm_provider_data(dev: *const bindings::device) -> *const c_void;
    fn rln_bus_add_badrange(bus: *mut RawBus, addr: u64, len: u64) -> c_int;
    fn rln_bus_revalidate_poison(bus: *mut RawBus, start: u64, len: u64);
    fn rln_bus_device(bus: *mut RawBus) -> *mut bindings::device;
}

/// Signature types of the exported functions, for `export_nd_core!`'s checks.
pub mod signatures {
    use super::*;
    /// `rln_bus_register`
    pub type BusRegister = unsafe extern "C" fn(*mut bindings::device, *const RawBusDesc, *mut *mut RawBus) -> c_int;
    /// `rln_bus_unregister`
    pub type BusUnregister = unsafe extern "C" fn(*mut RawBus);
    /// `rln_dimm_create`
    pub type DimmCreate = unsafe extern "C" fn(*mut RawBus, *const RawDimmDesc, *mut *mut RawDimm) -> c_int;
    /// `rln_region_create`
    pub type RegionCreate = unsafe extern "C" fn(*mut RawBus, *const RawRegionDesc) -> c_int;
    /// `rln_bus_provider_data`, `rln_dimm_provider_data`, `rln_region_provider_data`
    pub type ProviderData = unsafe extern "C" fn(*const bindings::device) -> *const c_void;
    /// `rln_bus_add_badrange`
    pub type AddBadrange = unsafe extern "C" fn(*mut RawBus, u64, u64) -> c_int;
    /// `rln_bus_revalidate_poison`
    pub type RevalidatePoison = unsafe extern "C" fn(*mut RawBus, u64, u64);
    /// `rln_bus_device`
    pub type BusDevice = unsafe extern "C" fn(*mut RawBus) -> *mut bindings::device;
}

/// How a command ran. `rc` is what C's `ndctl()` returns and the ioctl
/// hands to user space: 0, or a positive count (output bytes the firmware
/// left unfilled). `cmd_rc` is the firmware status as an errno (0 = success).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// Non-negative return value.
    pub rc: i32,
    /// Translated firmware status.
    pub cmd_rc: i32,
}

impl Completion {
    /// A fully completed command with firmware status `cmd_rc`.
    pub const fn status(cmd_rc: i32) -> Self {
        Self { rc: 0, cmd_rc }
    }
}

// ---------------------------------------------------------------------------
// Provider side.

/// What a provider implements for libnvdimm to call.
pub trait BusProvider: Send + Sync + 'static {
    /// The provider's per-DIMM data.
    type Dimm: Send + Sync + 'static;
    /// The provider's per-region data.
    type Region: Send + Sync + 'static;

    /// Runs `cmd` on the bus or on `dimm`, in place on `buf`; `Err` is a
    /// transport failure.
    fn ctl(&self, dimm: Option<&Self::Dimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion>;

    /// The NVDIMM_SECURITY_* flags of `dimm`, for DIMMs registered with
    /// security support.
    fn security_flags(_dimm: &Self::Dimm, _master: bool) -> u64 {
        0
    }
}

unsafe extern "C" fn ctl_raw<P: BusProvider>(
    bus: *const c_void,
    dimm: *const c_void,
    cmd: c_uint,
    buf: *mut u8,
    len: c_uint,
    cmd_rc: *mut c_int,
) -> c_int {
    // SAFETY: libnvdimm passes back the pointers `Bus::register` and
    // `Bus::add_dimm` gave it, which stay valid until the bus is unregistered,
    // after which libnvdimm makes no calls; `buf` holds `len` bytes that only
    // this call uses.
    let (p, d, buf) = unsafe {
        (
            &*(bus as *const P),
            (dimm as *const P::Dimm).as_ref(),
            core::slice::from_raw_parts_mut(buf, len as usize),
        )
    };
    match p.ctl(d, cmd, buf) {
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

unsafe extern "C" fn security_raw<P: BusProvider>(dimm: *const c_void, master: c_int) -> c_ulong {
    // SAFETY: as in `ctl_raw`, `dimm` is the provider data of a live DIMM.
    P::security_flags(unsafe { &*(dimm as *const P::Dimm) }, master != 0) as c_ulong
}

/// Security capabilities of a DIMM, for the `security` and `frozen` attributes.
#[derive(Clone, Copy, Default)]
pub struct Security {
    /// The DIMM reports a security state.
    pub supported: bool,
    /// Userspace may change it (disable, erase, ...).
    pub mutable: bool,
    /// It can be frozen.
    pub freezable: bool,
}

/// A DIMM as a provider describes it.
pub struct NewDimm<D> {
    /// The provider's data, kept alive by the bus for the DIMM's lifetime.
    pub data: Arc<D>,
    /// Provider attribute groups for nmemN.
    pub groups: &'static GroupList,
    /// NDD_* flags.
    pub flags: u64,
    /// ND_CMD_* commands.
    pub cmd_mask: u64,
    /// Security support.
    pub security: Security,
    /// Flush hints, mapped by the provider; the bus keeps them.
    pub flush_hints: FlushHintMap,
}

/// A DIMM's flush hints (`flush_wpq`) as libnvdimm uses them: addresses
/// in the memory controller whose write drains its queues to the media.
#[derive(Clone, Copy)]
pub struct FlushHints {
    ptr: *const *mut u64,
    len: usize,
}

// SAFETY: the addresses are device registers or memory the provider keeps
// mapped; writing them from any CPU is what they are for.
unsafe impl Send for FlushHints {}
// SAFETY: see `Send`.
unsafe impl Sync for FlushHints {}

impl FlushHints {
    /// No hints: the platform drains writes by itself.
    pub const NONE: Self = Self { ptr: core::ptr::null(), len: 0 };

    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes hint `i` (modulo the count), which flushes the queues.
    pub fn write(&self, i: usize) {
        if self.len == 0 {
            return;
        }
        // SAFETY: the array and each address come from a `FlushHintMap`
        // that the provider's `Bus` keeps until the DIMM is gone, and
        // libnvdimm only flushes live DIMMs.
        unsafe { core::ptr::write_volatile(*self.ptr.add(i % self.len), 1) };
    }
}

/// A provider's mappings of one DIMM's flush hints.
pub struct FlushHintMap {
    addrs: KVec<*mut u64>,
    /// Pages this map ioremapped, unmapped on drop.
    io: KVec<*mut c_void>,
}

// SAFETY: see `FlushHints`.
unsafe impl Send for FlushHintMap {}
// SAFETY: see `FlushHints`.
unsafe impl Sync for FlushHintMap {}

impl FlushHintMap {
    /// No hints yet.
    pub fn new() -> Self {
        Self { addrs: KVec::new(), io: KVec::new() }
    }

    /// Maps a firmware flush hint at physical address `phys`
    /// (`devm_nvdimm_ioremap`).
    pub fn map_io(&mut self, phys: u64) -> Result {
        self.addrs.reserve(1, GFP_KERNEL)?;
        self.io.reserve(1, GFP_KERNEL)?;
        // SAFETY: mapping a hint's 8 bytes has no side effect; the mapping
        // is unmapped in `drop`.
        let virt = unsafe { bindings::ioremap(phys, 8) };
        if virt.is_null() {
            return Err(ENXIO);
        }
        self.io.push(virt, GFP_KERNEL)?;
        self.addrs.push(virt.cast(), GFP_KERNEL)?;
        Ok(())
    }

    /// A hint at `phys` inside memory an emulated platform backs its
    /// ranges with; EINVAL if no range holds it.
    pub fn map_platform(&mut self, ranges: impl Iterator<Item = super::nfit::Range>, phys: u64) -> Result {
        for r in ranges {
            if phys >= r.start && phys.checked_add(8).is_some_and(|end| end <= r.start + r.len) {
                // In bounds by the check above; the platform keeps the
                // memory until after the bus (and so this DIMM) is gone.
                let addr = r.ptr.as_ptr().wrapping_add((phys - r.start) as usize);
                self.addrs.push(addr.cast(), GFP_KERNEL)?;
                return Ok(());
            }
        }
        Err(EINVAL)
    }

    fn hints(&self) -> FlushHints {
        if self.addrs.is_empty() {
            FlushHints::NONE
        } else {
            FlushHints { ptr: self.addrs.as_ptr(), len: self.addrs.len() }
        }
    }
}

impl Default for FlushHintMap {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushHintMap {
    fn drop(&mut self) {
        for &virt in self.io.iter() {
            // SAFETY: mapped by `map_io`; the DIMM using it is gone.
            unsafe { bindings::iounmap(virt) };
        }
    }
}

/// A bus as a provider describes it.
pub struct BusDesc {
    /// ndbusN/provider; `None` shows the parent device's name.
    pub provider_name: Option<&'static CStr>,
    /// ND_CMD_* bus commands.
    pub cmd_mask: u64,
    /// ND_CMD_CALL families for DIMMs.
    pub dimm_family_mask: u64,
    /// ND_CMD_CALL families for the bus.
    pub bus_family_mask: u64,
    /// Provider attribute groups for ndbusN.
    pub groups: &'static GroupList,
    /// The provider's module.
    pub owner: &'static kernel::ThisModule,
}

/// A DIMM created on a [`Bus`], for naming it in region mappings.
#[derive(Clone, Copy)]
pub struct DimmRef(NonNull<RawDimm>);

/// One DIMM's part of a region.
pub struct NewMapping {
    /// The DIMM.
    pub dimm: DimmRef,
    /// DIMM physical address where the mapping starts.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// Position in the interleave set.
    pub position: u32,
}

/// Interleave-set cookies of a region (see `formats::nfit::InterleaveSet`).
#[derive(Clone, Copy)]
pub struct Cookies {
    /// v1.1 labels.
    pub cookie1: u64,
    /// v1.2 labels.
    pub cookie2: u64,
    /// v1.1, as old kernels computed it.
    pub altcookie: u64,
    /// The range's type GUID (v1.2 labels must carry it).
    pub type_guid: [u8; 16],
}

/// A region as a provider describes it.
pub struct NewRegion<'a, R> {
    /// The provider's data, kept alive by the bus for the region's lifetime.
    pub data: Arc<R>,
    /// Provider attribute groups for regionN.
    pub groups: &'static GroupList,
    /// System physical address range.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// The provider's own mapping of the range, if it backs it with memory.
    pub mapping: Option<NonNull<u8>>,
    /// The DIMMs behind it.
    pub mappings: &'a [NewMapping],
    /// The interleave set's cookies.
    pub cookies: Option<Cookies>,
    /// NUMA node and target node (-1: none).
    pub numa_node: i32,
    /// See `numa_node`.
    pub target_node: i32,
    /// ND_REGION_* flags.
    pub flags: u64,
    /// Volatile rather than persistent memory.
    pub volatile: bool,
}

/// A bus registered with libnvdimm; unregistered (DIMMs and all) on drop.
pub struct Bus<P: BusProvider> {
    raw: NonNull<RawBus>,
    link: Arc<BusLink>,
    provider: Arc<P>,
    dimms: KVec<Arc<P::Dimm>>,
    regions: KVec<Arc<P::Region>>,
    hints: KVec<KBox<FlushHintMap>>,
}

// SAFETY: the handle is only passed back to libnvdimm, which locks internally.
unsafe impl<P: BusProvider> Send for Bus<P> {}
// SAFETY: see `Send`.
unsafe impl<P: BusProvider> Sync for Bus<P> {}

impl<P: BusProvider> Bus<P> {
    /// Registers ndbusN under `parent`.
    pub fn register(parent: &Device, desc: BusDesc, provider: Arc<P>) -> Result<Self> {
        let groups = desc.groups;
        let desc = RawBusDesc {
            provider_name: desc.provider_name.map_or(core::ptr::null(), |n| n.as_ptr()),
            cmd_mask: desc.cmd_mask as c_ulong,
            dimm_family_mask: desc.dimm_family_mask as c_ulong,
            bus_family_mask: desc.bus_family_mask as c_ulong,
            attr_groups: groups.as_raw(),
            provider_data: &*provider as *const P as *const c_void,
            ctl: Some(ctl_raw::<P>),
            owner: desc.owner.as_ptr().cast(),
        };
        let mut raw = core::ptr::null_mut();
        // SAFETY: `desc` is valid for the call; libnvdimm copies it. The
        // provider data outlives the bus: `Self` holds the `Arc` and drops it
        // only after unregistering.
        to_result(unsafe { rln_bus_register(parent.as_raw(), &desc, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or(EINVAL)?;
        let link = Arc::pin_init(pin_init!(BusLink { raw <- kernel::new_mutex!(Some(LiveBus(raw))) }), GFP_KERNEL);
        let link = match link {
            Ok(l) => l,
            Err(e) => {
                // SAFETY: registered just above; nothing else knows it yet.
                unsafe { rln_bus_unregister(raw.as_ptr()) };
                return Err(e);
            }
        };
        Ok(Self { raw, link, provider, dimms: KVec::new(), regions: KVec::new(), hints: KVec::new() })
    }

    /// The provider behind this bus.
    pub fn provider(&self) -> &Arc<P> {
        &self.provider
    }

    /// A handle on the bus for work that runs on its own (scrubs).
    pub fn link(&self) -> Arc<BusLink> {
        self.link.clone()
    }

    /// Creates nmemN on this bus (`nvdimm_create`).
    pub fn add_dimm(&mut self, desc: NewDimm<P::Dimm>) -> Result<DimmRef> {
        self.dimms.push(desc.data.clone(), GFP_KERNEL)?;
        let hints = desc.flush_hints.hints();
        self.hints.push(KBox::new(desc.flush_hints, GFP_KERNEL)?, GFP_KERNEL)?;
        let raw = RawDimmDesc {
            provider_data: &*desc.data as *const P::Dimm as *const c_void,
            attr_groups: desc.groups.as_raw(),
            flags: desc.flags as c_ulong,
            cmd_mask: desc.cmd_mask as c_ulong,
            security_flags: if desc.security.supported { Some(security_raw::<P>) } else { None },
            security_mutable: desc.security.mutable as c_int,
            security_freezable: desc.security.freezable as c_int,
            flush_hints: hints.ptr,
            num_flush: hints.len as c_uint,
        };
        let mut out = core::ptr::null_mut();
        // SAFETY: the bus is registered; `raw` is valid for the call; the
        // DIMM data is kept alive by `self.dimms` until after unregistration.
        to_result(unsafe { rln_dimm_create(self.raw.as_ptr(), &raw, &mut out) })?;
        Ok(DimmRef(NonNull::new(out).ok_or(EINVAL)?))
    }

    /// Creates regionN on this bus (`nvdimm_pmem_region_create`,
    /// `nvdimm_volatile_region_create`).
    pub fn add_region(&mut self, desc: NewRegion<'_, P::Region>) -> Result {
        self.regions.push(desc.data.clone(), GFP_KERNEL)?;
        let mut mappings = KVec::with_capacity(desc.mappings.len(), GFP_KERNEL)?;
        for m in desc.mappings {
            mappings.push(
                RawMappingDesc { dimm: m.dimm.0.as_ptr(), start: m.start, size: m.size, position: m.position as c_int },
                GFP_KERNEL,
            )?;
        }
        let cookies = desc.cookies.unwrap_or(Cookies { cookie1: 0, cookie2: 0, altcookie: 0, type_guid: [0; 16] });
        let raw = RawRegionDesc {
            start: desc.start,
            size: desc.size,
            virt: desc.mapping.map_or(core::ptr::null_mut(), |p| p.as_ptr().cast()),
            mappings: mappings.as_ptr(),
            num_mappings: mappings.len() as c_uint,
            has_iset: desc.cookies.is_some() as c_int,
            cookie1: cookies.cookie1,
            cookie2: cookies.cookie2,
            altcookie: cookies.altcookie,
            type_guid: cookies.type_guid,
            numa_node: desc.numa_node,
            target_node: desc.target_node,
            flags: desc.flags as c_ulong,
            volatile: desc.volatile as c_int,
            attr_groups: desc.groups.as_raw(),
            provider_data: &*desc.data as *const P::Region as *const c_void,
        };
        // SAFETY: the bus is registered and every `DimmRef` came from its
        // `add_dimm`; `raw` and `mappings` are valid for the call (libnvdimm
        // copies them); the region data lives in `self.regions` until after
        // unregistration; the provider keeps `mapping` valid as long. Regions
        // go with their bus, so there is no handle to keep.
        to_result(unsafe { rln_region_create(self.raw.as_ptr(), &raw) })
    }
}

impl<P: BusProvider> Drop for Bus<P> {
    fn drop(&mut self) {
        // Waits for a link call in flight; later ones find the bus gone.
        *self.link.raw.lock() = None;
        // SAFETY: registered in `register`; after this returns libnvdimm has
        // removed every device of the bus and makes no more calls into us.
        unsafe { rln_bus_unregister(self.raw.as_ptr()) };
    }
}

struct LiveBus(NonNull<RawBus>);

// SAFETY: the handle is only passed back to libnvdimm, which locks internally.
unsafe impl Send for LiveBus {}

/// A provider's handle on its bus that outlives nothing: once the [`Bus`]
/// is dropped its calls do nothing. For work running apart from the bus's
/// owner, like a scrub reporting what it found.
#[pin_data]
pub struct BusLink {
    #[pin]
    raw: kernel::sync::Mutex<Option<LiveBus>>,
}

impl BusLink {
    /// Adds a poisoned physical range to the bus's list
    /// (`nvdimm_bus_add_badrange`); ENXIO once the bus is gone.
    pub fn add_badrange(&self, addr: u64, len: u64) -> Result {
        let raw = self.raw.lock();
        let bus = raw.as_ref().ok_or(ENXIO)?;
        // SAFETY: `Bus::drop` clears the handle under this lock before
        // unregistering, so the bus is registered while we hold it.
        to_result(unsafe { rln_bus_add_badrange(bus.0.as_ptr(), addr, len) })
    }

    /// Tells every region overlapping `[start, +len)` and the drivers of
    /// its namespaces that the bad ranges changed (`nvdimm_region_notify`
    /// with NVDIMM_REVALIDATE_POISON).
    pub fn revalidate_poison(&self, start: u64, len: u64) {
        let raw = self.raw.lock();
        if let Some(bus) = raw.as_ref() {
            // SAFETY: as in `add_badrange`.
            unsafe { rln_bus_revalidate_poison(bus.0.as_ptr(), start, len) };
        }
    }

    /// Wakes pollers of ndbusN's attribute `dir/attr` (`sysfs_notify`).
    pub fn notify_attr(&self, dir: Option<&CStr>, attr: &CStr) {
        let raw = self.raw.lock();
        if let Some(bus) = raw.as_ref() {
            // SAFETY: as in `add_badrange`; the device is ndbusN, live
            // while the bus is registered.
            let dev = unsafe { Device::from_raw(rln_bus_device(bus.0.as_ptr())) };
            crate::glue::workqueue::sysfs_notify(dev, dir, attr);
        }
    }
}

/// Implements `FromDevice` for a provider's bus type `P`, so that attribute
/// groups of `P` can sit on ndbusN.
#[macro_export]
macro_rules! bus_provider_attrs {
    ($p:ty) => {
        // SAFETY: groups of `$p` are only handed to libnvdimm in the
        // descriptor of a bus whose provider data is a `$p`.
        unsafe impl $crate::glue::sysfs::FromDevice for $p {
            unsafe fn from_device(dev: &$crate::glue::device::Device) -> Option<&Self> {
                // SAFETY: see above; the bus keeps the data alive while
                // its device has attributes.
                unsafe { $crate::abi::provider::bus_provider_data::<$p>(dev) }
            }
        }
    };
}

/// Implements `FromDevice` for a provider's DIMM type `D`, so that attribute
/// groups of `D` can sit on nmemN.
#[macro_export]
macro_rules! dimm_provider_attrs {
    ($d:ty) => {
        // SAFETY: groups of `$d` are only handed to libnvdimm in the
        // descriptor of a DIMM whose provider data is a `$d`.
        unsafe impl $crate::glue::sysfs::FromDevice for $d {
            unsafe fn from_device(dev: &$crate::glue::device::Device) -> Option<&Self> {
                // SAFETY: see above.
                unsafe { $crate::abi::provider::dimm_provider_data::<$d>(dev) }
            }
        }
    };
}

/// Implements `FromDevice` for a provider's region type `R`, so that
/// attribute groups of `R` can sit on regionN.
#[macro_export]
macro_rules! region_provider_attrs {
    ($r:ty) => {
        // SAFETY: groups of `$r` are only handed to libnvdimm in the
        // descriptor of a region whose provider data is a `$r`.
        unsafe impl $crate::glue::sysfs::FromDevice for $r {
            unsafe fn from_device(dev: &$crate::glue::device::Device) -> Option<&Self> {
                // SAFETY: see above.
                unsafe { $crate::abi::provider::region_provider_data::<$r>(dev) }
            }
        }
    };
}

/// The provider data of regionN.
///
/// # Safety
///
/// `dev` is a regionN whose provider data is an `R`.
pub unsafe fn region_provider_data<R>(dev: &Device) -> Option<&R> {
    // SAFETY: as in `bus_provider_data`.
    unsafe { (rln_region_provider_data(dev.as_raw()) as *const R).as_ref() }
}

/// The provider data of ndbusN.
///
/// # Safety
///
/// `dev` is an ndbusN whose provider data is a `P`.
pub unsafe fn bus_provider_data<P>(dev: &Device) -> Option<&P> {
    // SAFETY: the caller guarantees the type; the data outlives the device's
    // attributes.
    unsafe { (rln_bus_provider_data(dev.as_raw()) as *const P).as_ref() }
}

/// The provider data of nmemN.
///
/// # Safety
///
/// `dev` is an nmemN whose provider data is a `D`.
pub unsafe fn dimm_provider_data<D>(dev: &Device) -> Option<&D> {
    // SAFETY: as in `bus_provider_data`.
    unsafe { (rln_dimm_provider_data(dev.as_raw()) as *const D).as_ref() }
}

// ---------------------------------------------------------------------------
// libnvdimm side.

/// A bus as libnvdimm receives it from a provider.
pub struct ProviderBus {
    /// ndbusN/provider, if the provider names itself.
    pub provider_name: Option<&'static CStr>,
    /// Bus commands.
    pub cmd_mask: u64,
    /// ND_CMD_CALL families for DIMMs.
    pub dimm_family_mask: u64,
    /// ND_CMD_CALL families for the bus.
    pub bus_family_mask: u64,
    /// Provider groups, passed on to the driver core as they are.
    pub groups: *const *const bindings::attribute_group,
    provider_data: *const c_void,
    ctl: Option<RawCtl>,
    owner: ModuleRef,
}

/// A module that may be pinned (`try_module_get`/`module_put`); none for
/// built-in providers.
#[derive(Clone, Copy)]
pub struct ModuleRef(*mut bindings::module);

// SAFETY: module reference counts are atomic.
unsafe impl Send for ModuleRef {}
// SAFETY: see `Send`.
unsafe impl Sync for ModuleRef {}

impl ModuleRef {
    /// No module.
    pub const NONE: Self = Self(core::ptr::null_mut());

    /// Takes a reference; false when the module is going away.
    pub fn get(&self) -> bool {
        // SAFETY: a provider's module outlives its bus, and libnvdimm only
        // pins it while the bus exists; null is allowed (built-in).
        self.0.is_null() || unsafe { bindings::try_module_get(self.0) }
    }

    /// Drops a reference taken by [`ModuleRef::get`].
    pub fn put(&self) {
        if !self.0.is_null() {
            // SAFETY: paired with a successful `get`.
            unsafe { bindings::module_put(self.0) };
        }
    }
}

// SAFETY: the provider data is `Send + Sync` on the provider side
// (`BusProvider`), and the rest are pointers to statics.
unsafe impl Send for ProviderBus {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderBus {}

impl ProviderBus {
    /// Runs a command through the provider. `buf` is the whole in/out payload.
    pub fn ctl(&self, dimm: Option<&ProviderDimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion> {
        let ctl = self.ctl.ok_or(ENOTTY)?;
        let mut cmd_rc: c_int = 0;
        // SAFETY: the provider guaranteed its data valid until it unregisters
        // the bus, and libnvdimm only calls while the bus is registered (the
        // bus lock orders calls before unregistration).
        let rc = unsafe {
            ctl(
                self.provider_data,
                dimm.map_or(core::ptr::null(), |d| d.provider_data),
                cmd,
                buf.as_mut_ptr(),
                buf.len() as c_uint,
                &mut cmd_rc,
            )
        };
        if rc < 0 {
            return Err(kernel::error::Error::from_errno(rc));
        }
        Ok(Completion { rc, cmd_rc })
    }

    /// Whether the provider takes commands at all.
    pub fn has_ctl(&self) -> bool {
        self.ctl.is_some()
    }

    /// The provider's module.
    pub fn module(&self) -> ModuleRef {
        self.owner
    }

    /// The raw provider data, for `rln_bus_provider_data`.
    pub fn provider_data(&self) -> *const c_void {
        self.provider_data
    }
}

/// A DIMM as libnvdimm receives it from a provider.
pub struct ProviderDimm {
    provider_data: *const c_void,
    /// Provider groups, passed on as they are.
    pub groups: *const *const bindings::attribute_group,
    /// NDD_* flags.
    pub flags: u64,
    /// DIMM commands.
    pub cmd_mask: u64,
    security_flags: Option<RawSecurityFlags>,
    /// Security capabilities.
    pub security: Security,
    flush_hints: FlushHints,
}

// SAFETY: as for `ProviderBus`.
unsafe impl Send for ProviderDimm {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderDimm {}

impl ProviderDimm {
    /// The DIMM's NVDIMM_SECURITY_* flags, 0 without security support.
    pub fn security_flags(&self, master: bool) -> u64 {
        match self.security_flags {
            // SAFETY: as in `ProviderBus::ctl`.
            Some(f) => (unsafe { f(self.provider_data, master as c_int) }) as u64,
            None => 0,
        }
    }

    /// The DIMM's flush hints.
    pub fn flush_hints(&self) -> FlushHints {
        self.flush_hints
    }

    /// The raw provider data, for `rln_dimm_provider_data`.
    pub fn provider_data(&self) -> *const c_void {
        self.provider_data
    }
}

/// libnvdimm's side of the ABI.
pub trait NdCore {
    /// The object behind a bus handle.
    type Bus: Send + Sync;
    /// The object behind a DIMM handle.
    type Dimm: Send + Sync;
    /// Registers a bus; the returned box is the handle.
    fn bus_register(parent: &Device, desc: ProviderBus) -> Result<KBox<Self::Bus>>;
    /// Unregisters it.
    fn bus_unregister(bus: KBox<Self::Bus>);
    /// Creates a DIMM on `bus`.
    fn dimm_create(bus: &Self::Bus, desc: ProviderDimm) -> Result<*const Self::Dimm>;
    /// Provider data of ndbusN.
    fn bus_provider_data(dev: &Device) -> *const c_void;
    /// Provider data of nmemN.
    fn dimm_provider_data(dev: &Device) -> *const c_void;
    /// Creates a region on `bus`.
    fn region_create(bus: &Self::Bus, desc: ProviderRegion<'_, Self::Dimm>) -> Result;
    /// Provider data of regionN.
    fn region_provider_data(dev: &Device) -> *const c_void;
    /// Adds a bad range to `bus`'s list.
    fn bus_add_badrange(bus: &Self::Bus, addr: u64, len: u64) -> Result;
    /// Revalidates poison in the regions overlapping `[start, +len)`.
    fn bus_revalidate_poison(bus: &Self::Bus, start: u64, len: u64);
    /// ndbusN.
    fn bus_device(bus: &Self::Bus) -> &Device;
}

/// One mapping of a region as libnvdimm receives it.
pub struct ProviderMapping<'a, D> {
    /// The DIMM, as `dimm_create` returned it.
    pub dimm: &'a D,
    /// DIMM physical address where the mapping starts.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// Position in the interleave set.
    pub position: u32,
}

/// A region as libnvdimm receives it from a provider.
pub struct ProviderRegion<'a, D> {
    raw: &'a RawRegionDesc,
    mappings: &'a [RawMappingDesc],
    _dimm: PhantomData<D>,
}

impl<'a, D: 'a> ProviderRegion<'a, D> {
    /// System physical start.
    pub fn start(&self) -> u64 {
        self.raw.start
    }
    /// Length.
    pub fn size(&self) -> u64 {
        self.raw.size
    }
    /// The provider's mapping of the range, if any.
    pub fn mapping(&self) -> Option<ProviderMemory> {
        // SAFETY: the provider maps the whole region and keeps it until it
        // unregisters the bus, which removes the region first.
        NonNull::new(self.raw.virt.cast()).map(|p| unsafe { ProviderMemory::new(p, self.raw.size) })
    }
    /// The mappings in the provider's order.
    pub fn mappings(&self) -> impl Iterator<Item = ProviderMapping<'a, D>> + 'a {
        self.mappings.iter().map(|m| ProviderMapping {
            // SAFETY: the provider passes DIMM handles that `dimm_create`
            // returned for this bus, which outlive the bus's regions.
            dimm: unsafe { &*(m.dimm as *const D) },
            start: m.start,
            size: m.size,
            position: m.position.max(0) as u32,
        })
    }
    /// The interleave-set cookies, if the provider computed them.
    pub fn cookies(&self) -> Option<Cookies> {
        (self.raw.has_iset != 0).then(|| Cookies {
            cookie1: self.raw.cookie1,
            cookie2: self.raw.cookie2,
            altcookie: self.raw.altcookie,
            type_guid: self.raw.type_guid,
        })
    }
    /// NUMA node.
    pub fn numa_node(&self) -> i32 {
        self.raw.numa_node
    }
    /// Target node.
    pub fn target_node(&self) -> i32 {
        self.raw.target_node
    }
    /// ND_REGION_* flags.
    pub fn flags(&self) -> u64 {
        self.raw.flags as u64
    }
    /// Volatile region.
    pub fn is_volatile(&self) -> bool {
        self.raw.volatile != 0
    }
    /// Provider groups, passed on as they are.
    pub fn groups(&self) -> *const *const bindings::attribute_group {
        self.raw.attr_groups
    }
    /// Provider data, for `rln_region_provider_data`.
    pub fn provider_data(&self) -> ProviderData {
        ProviderData(self.raw.provider_data)
    }
}

/// A provider's opaque data pointer, kept to hand back.
#[derive(Clone, Copy)]
pub struct ProviderData(*const c_void);

// SAFETY: provider data is `Send + Sync` on the provider side.
unsafe impl Send for ProviderData {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderData {}

impl ProviderData {
    /// The raw pointer.
    pub fn as_ptr(&self) -> *const c_void {
        self.0
    }
}

/// Defines the exported ABI functions over an [`NdCore`] implementation.
/// Used by libnvdimm only.
#[macro_export]
macro_rules! export_nd_core {
    ($core:ty) => {
        const _: () = {
            use core::ffi::{c_int, c_void};
            use $crate::glue::bindings;
            use $crate::glue::device::Device;
            use $crate::abi::provider::{self as abi, NdCore};
            type CoreBus = <$core as NdCore>::Bus;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_register(
                parent: *mut bindings::device,
                desc: *const abi::RawBusDesc,
                out: *mut *mut abi::RawBus,
            ) -> c_int {
                // SAFETY: the provider passes its live parent device, a valid
                // descriptor and an out pointer (see `Bus::register`).
                let (parent, desc) = unsafe { (Device::from_raw(parent), abi::bus_desc_from_raw(&*desc)) };
                match <$core as NdCore>::bus_register(parent, desc) {
                    Ok(b) => {
                        // SAFETY: see above.
                        unsafe { *out = kernel::alloc::KBox::into_raw(b).cast() };
                        0
                    }
                    Err(e) => e.to_errno(),
                }
            }
            const _: abi::signatures::BusRegister = rln_bus_register;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_unregister(bus: *mut abi::RawBus) {
                // SAFETY: `bus` came from `rln_bus_register` and the provider
                // gives it back once.
                <$core as NdCore>::bus_unregister(unsafe { kernel::alloc::KBox::from_raw(bus.cast()) })
            }
            const _: abi::signatures::BusUnregister = rln_bus_unregister;

            #[no_mangle]
            unsafe extern "C" fn rln_dimm_create(
                bus: *mut abi::RawBus,
                desc: *const abi::RawDimmDesc,
                out: *mut *mut abi::RawDimm,
            ) -> c_int {
                // SAFETY: `bus` is a live handle from `rln_bus_register`;
                // `desc` and `out` are valid for the call.
                let (bus, desc) = unsafe {
                    (&*(bus as *const CoreBus), abi::dimm_desc_from_raw(&*desc))
                };
                match <$core as NdCore>::dimm_create(bus, desc) {
                    Ok(d) => {
                        // SAFETY: see above.
                        unsafe { *out = d as *mut abi::RawDimm };
                        0
                    }
                    Err(e) => e.to_errno(),
                }
            }
            const _: abi::signatures::DimmCreate = rln_dimm_create;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_provider_data(dev: *const bindings::device) -> *const c_void {
                // SAFETY: providers call this from attributes of a live device.
                <$core as NdCore>::bus_provider_data(unsafe { Device::from_raw(dev as *mut _) })
            }
            const _: abi::signatures::ProviderData = rln_bus_provider_data;

            #[no_mangle]
            unsafe extern "C" fn rln_dimm_provider_data(dev: *const bindings::device) -> *const c_void {
                // SAFETY: providers call this from attributes of a live device.
                <$core as NdCore>::dimm_provider_data(unsafe { Device::from_raw(dev as *mut _) })
            }
            const _: abi::signatures::ProviderData = rln_dimm_provider_data;

            #[no_mangle]
            unsafe extern "C" fn rln_region_create(bus: *mut abi::RawBus, desc: *const abi::RawRegionDesc) -> c_int {
                // SAFETY: `bus` is a live handle from `rln_bus_register`;
                // `desc` and its mappings are valid for the call.
                let (bus, desc) = unsafe { (&*(bus as *const CoreBus), abi::region_desc_from_raw(&*desc)) };
                match <$core as NdCore>::region_create(bus, desc) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }
            const _: abi::signatures::RegionCreate = rln_region_create;

            #[no_mangle]
            unsafe extern "C" fn rln_region_provider_data(dev: *const bindings::device) -> *const c_void {
                // SAFETY: providers call this from attributes of a live device.
                <$core as NdCore>::region_provider_data(unsafe { Device::from_raw(dev as *mut _) })
            }
            const _: abi::signatures::ProviderData = rln_region_provider_data;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_add_badrange(bus: *mut abi::RawBus, addr: u64, len: u64) -> c_int {
                // SAFETY: `bus` is a live handle from `rln_bus_register`.
                let bus = unsafe { &*(bus as *const CoreBus) };
                match <$core as NdCore>::bus_add_badrange(bus, addr, len) {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }
            const _: abi::signatures::AddBadrange = rln_bus_add_badrange;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_revalidate_poison(bus: *mut abi::RawBus, start: u64, len: u64) {
                // SAFETY: `bus` is a live handle from `rln_bus_register`.
                <$core as NdCore>::bus_revalidate_poison(unsafe { &*(bus as *const CoreBus) }, start, len)
            }
            const _: abi::signatures::RevalidatePoison = rln_bus_revalidate_poison;

            #[no_mangle]
            unsafe extern "C" fn rln_bus_device(bus: *mut abi::RawBus) -> *mut bindings::device {
                // SAFETY: `bus` is a live handle from `rln_bus_register`.
                <$core as NdCore>::bus_device(unsafe { &*(bus as *const CoreBus) }).as_raw()
            }
            const _: abi::signatures::BusDevice = rln_bus_device;
        };
    };
}

/// Copies a provider's bus descriptor.
///
/// # Safety
///
/// `raw.provider_name` is null or a static NUL-terminated string.
pub unsafe fn bus_desc_from_raw(raw: &RawBusDesc) -> ProviderBus {
    ProviderBus {
        // SAFETY: guaranteed by the caller.
        provider_name: (!raw.provider_name.is_null()).then(|| unsafe { CStr::from_ptr(raw.provider_name) }),
        cmd_mask: raw.cmd_mask as u64,
        dimm_family_mask: raw.dimm_family_mask as u64,
        bus_family_mask: raw.bus_family_mask as u64,
        groups: raw.attr_groups,
        provider_data: raw.provider_data,
        ctl: raw.ctl,
        owner: ModuleRef(raw.owner),
    }
}

/// Borrows a provider's region descriptor.
///
/// # Safety
///
/// `raw.mappings` points to `raw.num_mappings` descriptors (or is null with
/// none), valid for `'a`.
pub unsafe fn region_desc_from_raw<'a, D>(raw: &'a RawRegionDesc) -> ProviderRegion<'a, D> {
    let mappings = if raw.mappings.is_null() || raw.num_mappings == 0 {
        &[][..]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(raw.mappings, raw.num_mappings as usize) }
    };
    ProviderRegion { raw, mappings, _dimm: PhantomData }
}

/// Copies a provider's DIMM descriptor.
pub fn dimm_desc_from_raw(raw: &RawDimmDesc) -> ProviderDimm {
    ProviderDimm {
        provider_data: raw.provider_data,
        groups: raw.attr_groups,
        flags: raw.flags as u64,
        cmd_mask: raw.cmd_mask as u64,
        security_flags: raw.security_flags,
        security: Security {
            supported: raw.security_flags.is_some(),
            mutable: raw.security_mutable != 0,
            freezable: raw.security_freezable != 0,
        },
        flush_hints: if raw.flush_hints.is_null() {
            FlushHints::NONE
        } else {
            FlushHints { ptr: raw.flush_hints, len: raw.num_flush as usize }
        },
    }
}
