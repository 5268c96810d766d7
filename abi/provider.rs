// SPDX-License-Identifier: GPL-2.0
//! The C ABI between libnvdimm and the platform providers that feed it buses
//! and DIMMs (nfit, and nfit_test through nfit), declared once for both sides.
//!
//! Each object has one type per side, and its wire struct stays private:
//!
//! | Object | Provider side | Wire (private) | libnvdimm side |
//! |---|---|---|---|
//! | bus | [`BusDesc`], [`Bus`] | `RawBusDesc` | [`ProviderBus`] |
//! | DIMM | [`NewDimm`], [`DimmRef`] | `RawDimmDesc` | [`ProviderDimm`] |
//! | region | [`NewRegion`], [`NewMapping`] | `RawRegionDesc`, `RawMappingDesc` | [`ProviderRegion`], [`ProviderMapping`] |
//!
//! Provider side: [`Bus::register`], [`Bus::add_dimm`] and
//! [`Bus::add_region`] over a [`BusProvider`]. libnvdimm side: it implements
//! the safe [`NdCore`] and names it with [`export_nd_core!`]; the exported
//! `extern "C"` functions are defined here (module `exports`, compiled into
//! libnvdimm only, `--cfg rln_libnvdimm`) and checked against the same
//! signatures the provider side calls.
//!
//! A provider's attribute groups are typed: the groups of a bus, DIMM or
//! region travel with the provider data of that object, and sit on a
//! device whose `platform_data` is that data ([`ProviderAttrs`]).
//!
//! Firmware activation (C's `struct nvdimm_bus_fw_ops` and `struct
//! nvdimm_fw_ops`): a provider that offers it registers its bus with
//! [`BusDesc::fw_activation`] and its DIMMs with [`NewDimm::fw_activation`],
//! and answers [`BusProvider::fwa_state`] and the other `fwa_` methods in
//! the values of `formats::fwa`. libnvdimm reads them as the optional
//! [`BusFwOps`] of a [`ProviderBus`] and [`DimmFwOps`] of a [`ProviderDimm`].
//!
//! Test-only: a provider may ask to decide how much of each namespace byte
//! write lands ([`BusDesc::media_fault`], [`BusProvider::media_write`]; C
//! has no such hook). Only nfit_test's platforms, through nfit, do: it is
//! their power-cut emulation (`media_write_budget`, Documentation/testing.md).
//! libnvdimm reads it as an optional [`MediaFault`] of the bus.

use core::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::sync::Arc;

pub use super::FuaFlush;
use crate::glue::block::PendingBio;
use crate::glue::bindings;
use crate::glue::device::{ARef, Device, DeviceObject, Provided, ProviderAttrs};
use crate::glue::sysfs::{FromDevice, GroupList};
pub use crate::glue::pmem_map::ProviderMemory;
pub use crate::formats::fwa::{FwaCapability, FwaResult, FwaState, FwaTrigger};
pub use super::{Completion, Range};

/// `ctl`: runs ND_CMD `cmd` on the bus (`dimm` null) or on a DIMM, in place
/// on `buf`; the firmware status goes to `cmd_rc`.
type RawCtl = unsafe extern "C" fn(
    bus: *const c_void,
    dimm: *const c_void,
    cmd: c_uint,
    buf: *mut u8,
    len: c_uint,
    cmd_rc: *mut c_int,
) -> c_int;

/// `clear_to_send`: whether the provider lets ND command `func` (for
/// ND_CMD_CALL, the package's function, as C passes it) with payload `buf`
/// reach the bus (`dimm` null) or a DIMM from user space: 0 or a negative
/// errno.
type RawClearToSend =
    unsafe extern "C" fn(bus: *const c_void, dimm: *const c_void, func: c_uint, buf: *const u8, len: c_uint) -> c_int;

/// `media_write`: how many of the `len` bytes a namespace byte write at
/// system physical address `phys` lets land (0..=len); fewer than `len`
/// fails the write with EIO after that prefix landed.
type RawMediaWrite = unsafe extern "C" fn(bus: *const c_void, phys: u64, len: u64) -> u64;

/// `flush`: the provider's flush of a region (`nd_region_desc.flush`):
/// `bio` is null (REQ_PREFLUSH and the other flushes), or a REQ_FUA bio
/// whose data was written (`PendingBio::into_raw`). 0 or a negative errno,
/// the bio back with the caller, or NVDIMM_FLUSH_ASYNC: the provider took
/// the bio and ends it (`FuaFlush`).
type RawRegionFlush = unsafe extern "C" fn(region: *const c_void, bio: *mut bindings::bio) -> c_int;

/// `security_flags`: the NVDIMM_SECURITY_* bits of a DIMM for the user
/// (`master` = 0) or master passphrase.
type RawSecurityFlags = unsafe extern "C" fn(dimm: *const c_void, master: c_int) -> c_ulong;

/// `activate_state` or `capability` of a bus's firmware activation ops:
/// an `FwaState` or `FwaCapability` as C's number.
type RawBusFwaQuery = unsafe extern "C" fn(bus: *const c_void) -> c_uint;

/// `activate` of a bus's firmware activation ops: 0 or a negative errno.
type RawBusFwaActivate = unsafe extern "C" fn(bus: *const c_void) -> c_int;

/// `activate_state` or `activate_result` of a DIMM's firmware activation
/// ops: an `FwaState` or `FwaResult` as C's number.
type RawDimmFwaQuery = unsafe extern "C" fn(dimm: *const c_void) -> c_uint;

/// `arm` of a DIMM's firmware activation ops, with an `FwaTrigger` as C's
/// number: 0 or a negative errno.
type RawDimmFwaArm = unsafe extern "C" fn(dimm: *const c_void, trigger: c_uint) -> c_int;

/// A provider's bus, as it hands it to libnvdimm (`struct nvdimm_bus_descriptor`).
#[repr(C)]
struct RawBusDesc {
    /// ndbusN/provider; null means the parent device's name.
    provider_name: *const c_char,
    /// The ND_CMD_* bus commands the provider implements (ndbusN/commands).
    cmd_mask: c_ulong,
    /// ND_CMD_CALL families accepted on DIMMs (NVDIMM_FAMILY_*).
    dimm_family_mask: c_ulong,
    /// ND_CMD_CALL families accepted on the bus (NVDIMM_BUS_FAMILY_*).
    bus_family_mask: c_ulong,
    /// Provider attribute groups for ndbusN (nfit/), NULL-terminated, or null.
    attr_groups: *const *const bindings::attribute_group,
    /// Passed back to `ctl` as `bus`.
    provider_data: *const c_void,
    /// Command dispatch.
    ctl: Option<RawCtl>,
    /// The provider's veto of user commands, or none.
    clear_to_send: Option<RawClearToSend>,
    /// The provider's module, pinned while devices of the bus are bound.
    owner: *mut bindings::module,
    /// Test-only power-cut emulation of namespace byte writes, or none.
    media_write: Option<RawMediaWrite>,
    /// Firmware activation (`nd_desc->fw_ops`): all three, or none.
    fwa_state: Option<RawBusFwaQuery>,
    /// See `fwa_state`.
    fwa_capability: Option<RawBusFwaQuery>,
    /// See `fwa_state`.
    fwa_activate: Option<RawBusFwaActivate>,
}

/// A provider's DIMM (`nvdimm_create()`'s arguments).
#[repr(C)]
struct RawDimmDesc {
    /// Passed back to `ctl` as `dimm`; what the attributes in `attr_groups` read.
    provider_data: *const c_void,
    /// Provider attribute groups for nmemN (nfit/), NULL-terminated, or null.
    attr_groups: *const *const bindings::attribute_group,
    /// NDD_* flags (unarmed, labeling, ...).
    flags: c_ulong,
    /// ND_CMD_* DIMM commands the provider implements (nmemN/commands).
    cmd_mask: c_ulong,
    /// Security state, or none when the DIMM has no security commands.
    security_flags: Option<RawSecurityFlags>,
    /// Whether userspace may change the security state (security is writable).
    security_mutable: c_int,
    /// Whether the security state can be frozen (nmemN/frozen shown).
    security_freezable: c_int,
    /// Mapped flush hint addresses (`num_flush` of them), or null.
    flush_hints: *const *mut u64,
    /// How many.
    num_flush: c_uint,
    /// Firmware activation (`nvdimm->fw_ops`): all three, or none.
    fwa_state: Option<RawDimmFwaQuery>,
    /// See `fwa_state`.
    fwa_result: Option<RawDimmFwaQuery>,
    /// See `fwa_state`.
    fwa_arm: Option<RawDimmFwaArm>,
}

/// Opaque handle of a registered bus.
#[repr(C)]
struct RawBus {
    _private: [u8; 0],
}

/// Opaque handle of a created DIMM.
#[repr(C)]
struct RawDimm {
    _private: [u8; 0],
}

/// One DIMM's part of a region (`struct nd_mapping_desc`).
#[repr(C)]
struct RawMappingDesc {
    /// The DIMM, as `rln_dimm_create` returned it.
    dimm: *mut RawDimm,
    /// DIMM physical address where the mapping starts.
    start: u64,
    /// Its length.
    size: u64,
    /// Position in the interleave set.
    position: c_int,
}

/// A region as a provider describes it (`struct nd_region_desc`).
#[repr(C)]
struct RawRegionDesc {
    /// System physical address range.
    start: u64,
    /// Its length.
    size: u64,
    /// The provider's kernel mapping of the range, or null: drivers then
    /// map it themselves. Emulated platforms back their ranges with memory.
    virt: *mut c_void,
    /// The physical address of the memory at `virt`, or `NO_BACKING_PHYS`
    /// (vmalloc memory, or no `virt`); see `Range::backing_phys`.
    backing_phys: u64,
    /// The mappings, `num_mappings` of them.
    mappings: *const RawMappingDesc,
    /// How many.
    num_mappings: c_uint,
    /// Whether the interleave-set cookies below are valid.
    has_iset: c_int,
    /// Cookie of v1.1 labels.
    cookie1: u64,
    /// Cookie of v1.2 labels.
    cookie2: u64,
    /// v1.1 cookie as old kernels computed it.
    altcookie: u64,
    /// Address range type GUID, which v1.2 labels repeat.
    type_guid: [u8; 16],
    /// NUMA node of the range's memory and its target node.
    numa_node: c_int,
    /// See `numa_node`.
    target_node: c_int,
    /// ND_REGION_* flags.
    flags: c_ulong,
    /// Volatile memory (`nd_volatile` region) rather than persistent.
    volatile: c_int,
    /// Provider attribute groups for regionN (nfit/), NULL-terminated, or null.
    attr_groups: *const *const bindings::attribute_group,
    /// Found from regionN by `rln_region_provider_data`.
    provider_data: *const c_void,
    /// The region's own flush, called with `provider_data`, or none: the
    /// DIMMs' flush hints then (`nd_region_desc.flush`).
    flush: Option<RawRegionFlush>,
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
    fn rln_bus_add_badrange(bus: *mut RawBus, addr: u64, len: u64) -> c_int;
    fn rln_bus_revalidate_poison(bus: *mut RawBus, start: u64, len: u64);
    fn rln_bus_device(bus: *mut RawBus) -> *mut bindings::device;
    fn rln_dimm_device(dimm: *mut RawDimm) -> *mut bindings::device;
}

/// Signature types of the exported functions, for the checks in `exports`.
mod signatures {
    use super::*;
    /// `rln_bus_register`
    pub type BusRegister = unsafe extern "C" fn(*mut bindings::device, *const RawBusDesc, *mut *mut RawBus) -> c_int;
    /// `rln_bus_unregister`
    pub type BusUnregister = unsafe extern "C" fn(*mut RawBus);
    /// `rln_dimm_create`
    pub type DimmCreate = unsafe extern "C" fn(*mut RawBus, *const RawDimmDesc, *mut *mut RawDimm) -> c_int;
    /// `rln_region_create`
    pub type RegionCreate = unsafe extern "C" fn(*mut RawBus, *const RawRegionDesc) -> c_int;
    /// `rln_bus_add_badrange`
    pub type AddBadrange = unsafe extern "C" fn(*mut RawBus, u64, u64) -> c_int;
    /// `rln_bus_revalidate_poison`
    pub type RevalidatePoison = unsafe extern "C" fn(*mut RawBus, u64, u64);
    /// `rln_bus_device`
    pub type BusDevice = unsafe extern "C" fn(*mut RawBus) -> *mut bindings::device;
    /// `rln_dimm_device`
    pub type DimmDevice = unsafe extern "C" fn(*mut RawDimm) -> *mut bindings::device;
}

// ---------------------------------------------------------------------------
// Provider side.

/// What a provider implements for libnvdimm to call. The provider's bus,
/// DIMM and region data are what its attributes on ndbusN, nmemN and
/// regionN read ([`bus_provider_attrs!`] and friends).
pub trait BusProvider: FromDevice<Lookup = Provided> + Send + Sync + 'static {
    /// The provider's per-DIMM data.
    type Dimm: FromDevice<Lookup = Provided> + Send + Sync + 'static;
    /// The provider's per-region data.
    type Region: FromDevice<Lookup = Provided> + Send + Sync + 'static;

    /// Whether the provider takes commands at all (`nd_desc->ndctl`). A
    /// provider without (nd_e820) gets ENOTTY for every command, and
    /// poison clears are taken as done, as C does for legacy pmem.
    const COMMANDS: bool = true;

    /// Runs `cmd` on the bus or on `dimm`, in place on `buf`; `Err` is a
    /// transport failure.
    fn ctl(&self, dimm: Option<&Self::Dimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion>;

    /// Whether a command from user space may go ahead
    /// (`nd_desc->clear_to_send`), under the bus lock before it runs.
    /// `func` is what C passes: the ND command, or for ND_CMD_CALL the
    /// package's function; `buf` the whole payload. All by default.
    fn clear_to_send(&self, _dimm: Option<&Self::Dimm>, _func: u32, _buf: &[u8]) -> Result {
        Ok(())
    }

    /// The NVDIMM_SECURITY_* flags of `dimm`, for DIMMs registered with
    /// security support.
    fn security_flags(_dimm: &Self::Dimm, _master: bool) -> u64 {
        0
    }

    /// The flush of a region registered with [`NewRegion::flush`]
    /// (`nd_region_desc.flush`, virtio_pmem's `async_pmem_flush`): makes
    /// the writes that reached the region durable. May sleep. Any error
    /// reaches the flush's caller as EIO, except ENOMEM.
    fn region_flush(_region: &Self::Region) -> Result {
        Ok(())
    }

    /// The flush after the data of REQ_FUA bio `bio` on a region registered
    /// with [`NewRegion::flush`] (C's `flush(nd_region, bio)`): the provider
    /// may keep the bio and end it when its flush is done, from another
    /// thread ([`FuaFlush::Queued`]), or give it back with the status of
    /// [`BusProvider::region_flush`], as by default.
    fn region_flush_fua(region: &Self::Region, bio: PendingBio) -> FuaFlush {
        FuaFlush::Done(bio, Self::region_flush(region))
    }

    /// Test-only, for buses registered with [`BusDesc::media_fault`]: how
    /// many of the `len` bytes of a namespace byte write at system physical
    /// address `phys` land (all of them: `len`). Fewer fails the write with
    /// EIO once that prefix landed. May be called in atomic context.
    fn media_write(&self, _phys: u64, len: u64) -> u64 {
        len
    }

    /// For buses registered with [`BusDesc::fw_activation`]: where firmware
    /// activation stands on the bus (`activate_state`). libnvdimm calls the
    /// bus's firmware activation methods without its bus lock, as C does.
    fn fwa_state(&self) -> FwaState {
        FwaState::Invalid
    }

    /// How the bus activates firmware (`capability`).
    fn fwa_capability(&self) -> FwaCapability {
        FwaCapability::Invalid
    }

    /// Activates the armed DIMMs' staged firmware (`activate`).
    fn fwa_activate(&self) -> Result {
        Err(ENOTTY)
    }

    /// For DIMMs registered with [`NewDimm::fw_activation`]: where
    /// activation stands on `dimm` (`activate_state`). libnvdimm calls the
    /// DIMM methods under its bus lock, as C does.
    fn dimm_fwa_state(_dimm: &Self::Dimm) -> FwaState {
        FwaState::Invalid
    }

    /// How the last activation went on `dimm` (`activate_result`).
    fn dimm_fwa_result(_dimm: &Self::Dimm) -> FwaResult {
        FwaResult::Invalid
    }

    /// Arms or disarms `dimm` for the next activation (`arm`).
    fn dimm_fwa_arm(_dimm: &Self::Dimm, _trigger: FwaTrigger) -> Result {
        Err(ENOTTY)
    }
}

/// Turns a provider's `Result` into C's int.
fn rc_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `activate_state` of a provider `P`'s bus.
///
/// # Safety
///
/// `bus` is the provider data [`Bus::register`] handed to libnvdimm, and
/// the bus is still registered.
unsafe extern "C" fn bus_fwa_state_raw<P: BusProvider>(bus: *const c_void) -> c_uint {
    // SAFETY: as in `ctl_raw`, `bus` is the provider data of a live bus.
    unsafe { &*(bus as *const P) }.fwa_state().to_raw()
}

/// `capability` of a provider `P`'s bus.
///
/// # Safety
///
/// As [`bus_fwa_state_raw`].
unsafe extern "C" fn bus_fwa_capability_raw<P: BusProvider>(bus: *const c_void) -> c_uint {
    // SAFETY: as in `ctl_raw`, `bus` is the provider data of a live bus.
    unsafe { &*(bus as *const P) }.fwa_capability().to_raw()
}

/// `activate` of a provider `P`'s bus.
///
/// # Safety
///
/// As [`bus_fwa_state_raw`].
unsafe extern "C" fn bus_fwa_activate_raw<P: BusProvider>(bus: *const c_void) -> c_int {
    // SAFETY: as in `ctl_raw`, `bus` is the provider data of a live bus.
    rc_of(unsafe { &*(bus as *const P) }.fwa_activate())
}

/// `activate_state` of a provider `P`'s DIMM.
///
/// # Safety
///
/// `dimm` is the provider data of a DIMM of a registered bus of `P`.
unsafe extern "C" fn dimm_fwa_state_raw<P: BusProvider>(dimm: *const c_void) -> c_uint {
    // SAFETY: as in `ctl_raw`, `dimm` is the provider data of a live DIMM.
    P::dimm_fwa_state(unsafe { &*(dimm as *const P::Dimm) }).to_raw()
}

/// `activate_result` of a provider `P`'s DIMM.
///
/// # Safety
///
/// As [`dimm_fwa_state_raw`].
unsafe extern "C" fn dimm_fwa_result_raw<P: BusProvider>(dimm: *const c_void) -> c_uint {
    // SAFETY: as in `ctl_raw`, `dimm` is the provider data of a live DIMM.
    P::dimm_fwa_result(unsafe { &*(dimm as *const P::Dimm) }).to_raw()
}

/// `arm` of a provider `P`'s DIMM.
///
/// # Safety
///
/// As [`dimm_fwa_state_raw`].
unsafe extern "C" fn dimm_fwa_arm_raw<P: BusProvider>(dimm: *const c_void, trigger: c_uint) -> c_int {
    let Some(trigger) = FwaTrigger::from_raw(trigger) else {
        return EINVAL.to_errno();
    };
    // SAFETY: as in `ctl_raw`, `dimm` is the provider data of a live DIMM.
    rc_of(P::dimm_fwa_arm(unsafe { &*(dimm as *const P::Dimm) }, trigger))
}

/// `media_write` of a provider `P`.
///
/// # Safety
///
/// `bus` is the provider data [`Bus::register`] handed to libnvdimm, and
/// the bus is still registered.
unsafe extern "C" fn media_write_raw<P: BusProvider>(bus: *const c_void, phys: u64, len: u64) -> u64 {
    // SAFETY: as in `ctl_raw`, `bus` is the provider data of a live bus.
    unsafe { &*(bus as *const P) }.media_write(phys, len).min(len)
}

/// `flush` of a provider `P`'s regions.
///
/// # Safety
///
/// `region` is the provider data of a region of a registered bus of `P`.
/// `bio` is null, or a bio handed over with `PendingBio::into_raw`.
unsafe extern "C" fn region_flush_raw<P: BusProvider>(region: *const c_void, bio: *mut bindings::bio) -> c_int {
    // SAFETY: as in `ctl_raw`, the region data lives while its bus does.
    let region = unsafe { &*(region as *const P::Region) };
    if bio.is_null() {
        return match P::region_flush(region) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
    }
    // SAFETY: guaranteed by the caller; `into_raw` below gives it back
    // unless the provider kept it.
    let pending = unsafe { PendingBio::from_raw(bio) };
    P::region_flush_fua(region, pending).into_raw(bio)
}

/// `ctl` of a provider `P`, as libnvdimm calls it.
///
/// # Safety
///
/// `bus` and `dimm` (or null) are the provider data [`Bus::register`] and
/// [`Bus::add_dimm`] handed to libnvdimm, and the bus is still registered;
/// `buf` holds `len` bytes for this call only; `cmd_rc` is null or valid
/// for a write.
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

/// `clear_to_send` of a provider `P`.
///
/// # Safety
///
/// As for [`ctl_raw`]; `buf` holds `len` bytes for this call only.
unsafe extern "C" fn clear_to_send_raw<P: BusProvider>(
    bus: *const c_void,
    dimm: *const c_void,
    func: c_uint,
    buf: *const u8,
    len: c_uint,
) -> c_int {
    // SAFETY: as in `ctl_raw`; `buf` holds `len` bytes (guaranteed by the
    // caller).
    let (p, d, buf) = unsafe {
        (&*(bus as *const P), (dimm as *const P::Dimm).as_ref(), core::slice::from_raw_parts(buf, len as usize))
    };
    rc_of(p.clear_to_send(d, func, buf))
}

/// `security_flags` of a provider `P`.
///
/// # Safety
///
/// `dimm` is the provider data of a DIMM of a registered bus of `P`.
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
pub struct NewDimm<D: 'static> {
    /// The provider's data, kept alive by the bus for the DIMM's lifetime.
    pub data: Arc<D>,
    /// Provider attribute groups for nmemN, reading `data`.
    pub groups: &'static GroupList<D>,
    /// NDD_* flags.
    pub flags: u64,
    /// ND_CMD_* commands.
    pub cmd_mask: u64,
    /// Security support.
    pub security: Security,
    /// Flush hints, mapped by the provider; the bus keeps them.
    pub flush_hints: FlushHintMap,
    /// The DIMM takes part in firmware activation (C: `fw_ops` set): its
    /// bus answers the `dimm_fwa_` methods of [`BusProvider`] for it.
    pub fw_activation: bool,
}

/// A DIMM's flush hints (`flush_wpq`) as libnvdimm uses them: addresses
/// in the memory controller whose write drains its queues to the media.
///
/// # Invariants
///
/// `ptr` points to `len` addresses, each mapped for 8-byte writes, as long
/// as the DIMM is registered.
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
    pub fn map_platform(&mut self, ranges: impl Iterator<Item = Range>, phys: u64) -> Result {
        for r in ranges {
            if phys >= r.start && phys.checked_add(8).is_some_and(|end| end <= r.start + r.len) {
                // In bounds by the check above; the platform keeps the
                // memory until after the bus (and so this DIMM) is gone.
                let addr = r.mem.as_ptr().wrapping_add((phys - r.start) as usize);
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
            // INVARIANT: each address was mapped by `map_io` or lies in
            // platform memory; the `Bus` keeps this map until the DIMM is gone.
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

/// A bus as a provider `P` describes it.
pub struct BusDesc<P: 'static> {
    /// ndbusN/provider; `None` shows the parent device's name.
    pub provider_name: Option<&'static CStr>,
    /// ND_CMD_* bus commands.
    pub cmd_mask: u64,
    /// ND_CMD_CALL families for DIMMs.
    pub dimm_family_mask: u64,
    /// ND_CMD_CALL families for the bus.
    pub bus_family_mask: u64,
    /// Provider attribute groups for ndbusN, reading the provider.
    pub groups: &'static GroupList<P>,
    /// The provider's module.
    pub owner: &'static kernel::ThisModule,
    /// Test-only: namespace byte writes ask [`BusProvider::media_write`]
    /// how much of them lands. False for every real platform.
    pub media_fault: bool,
    /// The bus offers firmware activation (C: `nd_desc->fw_ops` set): the
    /// provider answers the bus `fwa_` methods of [`BusProvider`].
    pub fw_activation: bool,
}

/// A DIMM created on a [`Bus`], for naming it in region mappings.
///
/// # Invariants
///
/// The handle `rln_dimm_create` returned for the bus of the [`Bus`] that
/// made it; valid while that bus is registered.
#[derive(Clone, Copy)]
pub struct DimmRef(NonNull<RawDimm>);

// SAFETY: the handle is only passed back to libnvdimm, and only while its
// bus is registered (`BusLink` checks that under its lock).
unsafe impl Send for DimmRef {}
// SAFETY: see `Send`.
unsafe impl Sync for DimmRef {}

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
pub struct NewRegion<'a, R: 'static> {
    /// The provider's data, kept alive by the bus for the region's lifetime.
    pub data: Arc<R>,
    /// Provider attribute groups for regionN, reading `data`.
    pub groups: &'static GroupList<R>,
    /// System physical address range.
    pub start: u64,
    /// Its length.
    pub size: u64,
    /// The memory an emulated platform backs the range with, if it does:
    /// it must start at `start` and hold `size` bytes.
    pub mapping: Option<Range>,
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
    /// Flushes go to [`BusProvider::region_flush`] instead of the DIMMs'
    /// flush hints (`nd_region_desc.flush`); with ND_REGION_ASYNC in
    /// `flags`, the region's writes need it to be durable.
    pub flush: bool,
}

/// A bus registered with libnvdimm; unregistered (DIMMs and all) on drop.
///
/// # Invariants
///
/// `raw` is a registered bus whose provider data is `*provider`; every
/// DIMM and region registered on it has its data in `dimms` or `regions`.
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
    pub fn register(parent: &Device, desc: BusDesc<P>, provider: Arc<P>) -> Result<Self> {
        let groups = desc.groups;
        let desc = RawBusDesc {
            provider_name: desc.provider_name.map_or(core::ptr::null(), |n| n.as_ptr()),
            cmd_mask: desc.cmd_mask as c_ulong,
            dimm_family_mask: desc.dimm_family_mask as c_ulong,
            bus_family_mask: desc.bus_family_mask as c_ulong,
            attr_groups: groups.as_raw(),
            provider_data: &*provider as *const P as *const c_void,
            ctl: if P::COMMANDS { Some(ctl_raw::<P>) } else { None },
            clear_to_send: if P::COMMANDS { Some(clear_to_send_raw::<P>) } else { None },
            owner: desc.owner.as_ptr().cast(),
            media_write: if desc.media_fault { Some(media_write_raw::<P>) } else { None },
            fwa_state: desc.fw_activation.then_some(bus_fwa_state_raw::<P> as RawBusFwaQuery),
            fwa_capability: desc.fw_activation.then_some(bus_fwa_capability_raw::<P> as RawBusFwaQuery),
            fwa_activate: desc.fw_activation.then_some(bus_fwa_activate_raw::<P> as RawBusFwaActivate),
        };
        let mut raw = core::ptr::null_mut();
        // SAFETY: `desc` is valid for the call; libnvdimm copies it. The
        // provider data outlives the bus: `Self` holds the `Arc` and drops it
        // only after unregistering.
        to_result(unsafe { rln_bus_register(parent.as_raw(), &desc, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or(EINVAL)?;
        let link = Arc::pin_init(BusLink::new(raw), GFP_KERNEL);
        let link = match link {
            Ok(l) => l,
            Err(e) => {
                // SAFETY: registered just above; nothing else knows it yet.
                unsafe { rln_bus_unregister(raw.as_ptr()) };
                return Err(e);
            }
        };
        // INVARIANT: registered with `provider` as its data; no DIMMs or
        // regions yet.
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
            fwa_state: desc.fw_activation.then_some(dimm_fwa_state_raw::<P> as RawDimmFwaQuery),
            fwa_result: desc.fw_activation.then_some(dimm_fwa_result_raw::<P> as RawDimmFwaQuery),
            fwa_arm: desc.fw_activation.then_some(dimm_fwa_arm_raw::<P> as RawDimmFwaArm),
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
        // The mapping must cover the region: libnvdimm hands it to drivers as such.
        if let Some(m) = &desc.mapping {
            if m.start != desc.start || m.len < desc.size {
                return Err(EINVAL);
            }
        }
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
            virt: desc.mapping.map_or(core::ptr::null_mut(), |m| m.mem.as_ptr().cast()),
            backing_phys: super::backing_phys_to_raw(desc.mapping.and_then(|m| m.backing_phys)),
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
            flush: if desc.flush { Some(region_flush_raw::<P>) } else { None },
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
        // Waits for the link calls in flight; later ones find the bus gone.
        self.link.close();
        // SAFETY: registered in `register`; after this returns libnvdimm has
        // removed every device of the bus and makes no more calls into us.
        unsafe { rln_bus_unregister(self.raw.as_ptr()) };
    }
}

#[derive(Clone, Copy)]
struct LiveBus(NonNull<RawBus>);

// SAFETY: the handle is only passed back to libnvdimm, which locks internally.
unsafe impl Send for LiveBus {}

/// What a [`BusLink`]'s lock protects.
struct LinkState {
    /// The bus, until [`Bus`] is dropped.
    bus: Option<LiveBus>,
    /// Link calls in flight ([`LinkUse`]s).
    users: usize,
}

/// A provider's handle on its bus that outlives nothing: once the [`Bus`]
/// is dropped its calls do nothing. For work running apart from the bus's
/// owner, like a scrub reporting what it found.
///
/// A call holds the link's lock only to count itself in and out, never
/// while it is in libnvdimm: those calls take libnvdimm's locks (the bus
/// lock, device locks), and a provider may itself be called with them held
/// (`ctl` under the bus lock) and reach this link from there (nfit_test's
/// health events). [`Bus`]'s drop waits for the calls in flight instead.
#[pin_data]
pub struct BusLink {
    #[pin]
    state: kernel::sync::Mutex<LinkState>,
    /// Signalled when the last call in flight ends.
    #[pin]
    idle: kernel::sync::CondVar,
}

/// One call through a [`BusLink`]: while it lives, the bus stays registered.
///
/// # Invariants
///
/// `bus` was the link's live bus when `users` counted this value in; the
/// count keeps [`Bus`]'s drop from unregistering it until this is dropped.
struct LinkUse<'a> {
    link: &'a BusLink,
    bus: LiveBus,
}

impl Drop for LinkUse<'_> {
    fn drop(&mut self) {
        let mut st = self.link.state.lock();
        st.users -= 1;
        if st.users == 0 {
            self.link.idle.notify_all();
        }
    }
}

impl BusLink {
    fn new(raw: NonNull<RawBus>) -> impl PinInit<Self> {
        pin_init!(BusLink {
            state <- kernel::new_mutex!(LinkState { bus: Some(LiveBus(raw)), users: 0 }),
            idle <- kernel::new_condvar!(),
        })
    }

    /// Counts a call in, if the bus is still there.
    fn enter(&self) -> Option<LinkUse<'_>> {
        let mut st = self.state.lock();
        let bus = st.bus?;
        st.users += 1;
        // INVARIANT: counted in above, with the live bus.
        Some(LinkUse { link: self, bus })
    }

    /// Ends the link (from [`Bus`]'s drop): later calls find no bus, and
    /// this returns once the calls in flight have ended.
    fn close(&self) {
        let mut st = self.state.lock();
        st.bus = None;
        while st.users > 0 {
            self.idle.wait(&mut st);
        }
    }

    /// Adds a poisoned physical range to the bus's list
    /// (`nvdimm_bus_add_badrange`); ENXIO once the bus is gone.
    pub fn add_badrange(&self, addr: u64, len: u64) -> Result {
        let used = self.enter().ok_or(ENXIO)?;
        // SAFETY: `Bus::drop` does not unregister the bus while `used`
        // lives (`LinkUse`'s invariant).
        to_result(unsafe { rln_bus_add_badrange(used.bus.0.as_ptr(), addr, len) })
    }

    /// Tells every region overlapping `[start, +len)` and the drivers of
    /// its namespaces that the bad ranges changed (`nvdimm_region_notify`
    /// with NVDIMM_REVALIDATE_POISON).
    pub fn revalidate_poison(&self, start: u64, len: u64) {
        if let Some(used) = self.enter() {
            // SAFETY: as in `add_badrange`.
            unsafe { rln_bus_revalidate_poison(used.bus.0.as_ptr(), start, len) };
        }
    }

    /// Wakes pollers of ndbusN's attribute `dir/attr` (`sysfs_notify`).
    pub fn notify_attr(&self, dir: Option<&CStr>, attr: &CStr) {
        if let Some(used) = self.enter() {
            // SAFETY: as in `add_badrange`.
            let dev = unsafe { rln_bus_device(used.bus.0.as_ptr()) };
            if dev.is_null() {
                return;
            }
            // SAFETY: the device is ndbusN, live while the bus is registered.
            crate::glue::workqueue::sysfs_notify(unsafe { Device::from_raw(dev) }, dir, attr);
        }
    }

    /// Wakes pollers of attribute `dir/attr` of the DIMM `dimm` of this bus
    /// (nmemN; `sysfs_notify`). Nothing once the bus is gone.
    pub fn notify_dimm_attr(&self, dimm: DimmRef, dir: Option<&CStr>, attr: &CStr) {
        if let Some(_used) = self.enter() {
            // SAFETY: `dimm` came from this bus's `add_dimm` (`DimmRef`'s
            // invariant: a provider only holds refs of its own bus), and
            // the bus stays registered while `_used` lives (as in
            // `add_badrange`).
            let dev = unsafe { rln_dimm_device(dimm.0.as_ptr()) };
            if dev.is_null() {
                return;
            }
            // SAFETY: the device is nmemN, which libnvdimm holds a reference
            // on while the bus is registered.
            crate::glue::workqueue::sysfs_notify(unsafe { Device::from_raw(dev) }, dir, attr);
        }
    }
}

/// Lets attribute groups of a provider's bus type `$p` sit on ndbusN
/// ([`BusDesc::groups`]). Expands to a safe impl only.
#[macro_export]
macro_rules! bus_provider_attrs {
    ($p:ty) => {
        impl $crate::glue::sysfs::FromDevice for $p {
            type Lookup = $crate::glue::device::Provided;
        }
    };
}

/// Lets attribute groups of a provider's DIMM type `$d` sit on nmemN
/// ([`NewDimm::groups`]). Expands to a safe impl only.
#[macro_export]
macro_rules! dimm_provider_attrs {
    ($d:ty) => {
        impl $crate::glue::sysfs::FromDevice for $d {
            type Lookup = $crate::glue::device::Provided;
        }
    };
}

/// Lets attribute groups of a provider's region type `$r` sit on regionN
/// ([`NewRegion::groups`]). Expands to a safe impl only.
#[macro_export]
macro_rules! region_provider_attrs {
    ($r:ty) => {
        impl $crate::glue::sysfs::FromDevice for $r {
            type Lookup = $crate::glue::device::Provided;
        }
    };
}

// ---------------------------------------------------------------------------
// libnvdimm side.

/// A bus as libnvdimm receives it from a provider.
///
/// # Invariants
///
/// `provider_data`, `ctl` and `attrs` come from one `RawBusDesc` that a
/// [`Bus::register`] built, and stay valid while the bus is registered.
pub struct ProviderBus {
    /// ndbusN/provider, if the provider names itself.
    pub provider_name: Option<&'static CStr>,
    /// Bus commands.
    pub cmd_mask: u64,
    /// ND_CMD_CALL families for DIMMs.
    pub dimm_family_mask: u64,
    /// ND_CMD_CALL families for the bus.
    pub bus_family_mask: u64,
    attrs: ProviderAttrs,
    provider_data: *const c_void,
    ctl: Option<RawCtl>,
    clear_to_send: Option<RawClearToSend>,
    owner: ModuleRef,
    media_write: Option<RawMediaWrite>,
    fw_ops: Option<(RawBusFwaQuery, RawBusFwaQuery, RawBusFwaActivate)>,
}

/// A bus's firmware activation ops (C's `nd_desc->fw_ops`), from
/// [`ProviderBus::fw_ops`].
///
/// # Invariants
///
/// The callbacks and `provider_data` come from one `RawBusDesc` that a
/// [`Bus::register`] built; the user keeps the handle only while the bus
/// is registered (libnvdimm calls them from the bus's attributes).
#[derive(Clone, Copy)]
pub struct BusFwOps {
    provider_data: *const c_void,
    state: RawBusFwaQuery,
    capability: RawBusFwaQuery,
    activate: RawBusFwaActivate,
}

// SAFETY: as for `ProviderBus`.
unsafe impl Send for BusFwOps {}
// SAFETY: see `Send`.
unsafe impl Sync for BusFwOps {}

impl BusFwOps {
    /// Where activation stands on the bus.
    pub fn state(&self) -> FwaState {
        // SAFETY: the bus is registered (type invariant).
        FwaState::from_raw(unsafe { (self.state)(self.provider_data) })
    }

    /// How the bus activates firmware.
    pub fn capability(&self) -> FwaCapability {
        // SAFETY: the bus is registered (type invariant).
        FwaCapability::from_raw(unsafe { (self.capability)(self.provider_data) })
    }

    /// Activates the armed DIMMs' firmware.
    pub fn activate(&self) -> Result {
        // SAFETY: the bus is registered (type invariant).
        to_result(unsafe { (self.activate)(self.provider_data) })
    }
}

/// A bus's test-only power-cut emulation of namespace byte writes
/// ([`ProviderBus::media_fault`]).
///
/// # Invariants
///
/// `provider_data` and `media_write` come from one `RawBusDesc` that a
/// [`Bus::register`] built; the user keeps the handle only while devices of
/// that bus are bound (namespaces go before the bus).
#[derive(Clone, Copy)]
pub struct MediaFault {
    provider_data: *const c_void,
    media_write: RawMediaWrite,
}

// SAFETY: as for `ProviderBus`.
unsafe impl Send for MediaFault {}
// SAFETY: see `Send`.
unsafe impl Sync for MediaFault {}

impl MediaFault {
    /// How many of the `len` bytes of a write at `phys` land (at most `len`);
    /// fewer means the write fails once they did.
    pub fn landing(&self, phys: u64, len: u64) -> u64 {
        // SAFETY: the bus is registered while its namespaces' byte access
        // exists (type invariant).
        unsafe { (self.media_write)(self.provider_data, phys, len) }.min(len)
    }
}

/// A module that may be pinned (`try_module_get`/`module_put`); none for
/// built-in providers.
///
/// # Invariants
///
/// Null, or a module that outlives the bus it was registered with.
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
    /// The provider's firmware activation ops, if it offers activation.
    pub fn fw_ops(&self) -> Option<BusFwOps> {
        // INVARIANT: from this bus's descriptor; the bus's own attributes
        // use it, which go before the bus.
        self.fw_ops.map(|(state, capability, activate)| BusFwOps {
            provider_data: self.provider_data,
            state,
            capability,
            activate,
        })
    }

    /// The provider's test-only power cut of namespace byte writes, if it
    /// registered one (nfit_test only).
    pub fn media_fault(&self) -> Option<MediaFault> {
        // INVARIANT: from this bus's descriptor; the caller keeps it only
        // while the bus's devices are bound (NsIo, under a namespace).
        self.media_write.map(|media_write| MediaFault { provider_data: self.provider_data, media_write })
    }

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

    /// Asks the provider whether a user's command `func` (see
    /// [`BusProvider::clear_to_send`]) with payload `buf` may go ahead.
    pub fn clear_to_send(&self, dimm: Option<&ProviderDimm>, func: u32, buf: &[u8]) -> Result {
        let Some(f) = self.clear_to_send else { return Ok(()) };
        // SAFETY: as in `ctl`; `buf` is valid for the call.
        to_result(unsafe {
            f(
                self.provider_data,
                dimm.map_or(core::ptr::null(), |d| d.provider_data),
                func,
                buf.as_ptr(),
                buf.len() as c_uint,
            )
        })
    }

    /// Whether the provider takes commands at all.
    pub fn has_ctl(&self) -> bool {
        self.ctl.is_some()
    }

    /// The provider's module.
    pub fn module(&self) -> ModuleRef {
        self.owner
    }

    /// The provider's attributes of ndbusN, for its registration.
    pub fn attrs(&self) -> ProviderAttrs {
        self.attrs
    }
}

/// A DIMM as libnvdimm receives it from a provider.
///
/// # Invariants
///
/// As [`ProviderBus`], for one `RawDimmDesc` of [`Bus::add_dimm`].
pub struct ProviderDimm {
    provider_data: *const c_void,
    attrs: ProviderAttrs,
    /// NDD_* flags.
    pub flags: u64,
    /// DIMM commands.
    pub cmd_mask: u64,
    security_flags: Option<RawSecurityFlags>,
    /// Security capabilities.
    pub security: Security,
    flush_hints: FlushHints,
    fw_ops: Option<(RawDimmFwaQuery, RawDimmFwaQuery, RawDimmFwaArm)>,
}

/// A DIMM's firmware activation ops (C's `nvdimm->fw_ops`), from
/// [`ProviderDimm::fw_ops`].
///
/// # Invariants
///
/// As [`BusFwOps`], for one `RawDimmDesc` of [`Bus::add_dimm`].
#[derive(Clone, Copy)]
pub struct DimmFwOps {
    provider_data: *const c_void,
    state: RawDimmFwaQuery,
    result: RawDimmFwaQuery,
    arm: RawDimmFwaArm,
}

// SAFETY: as for `ProviderBus`.
unsafe impl Send for DimmFwOps {}
// SAFETY: see `Send`.
unsafe impl Sync for DimmFwOps {}

impl DimmFwOps {
    /// Where activation stands on the DIMM.
    pub fn state(&self) -> FwaState {
        // SAFETY: the DIMM is registered (type invariant).
        FwaState::from_raw(unsafe { (self.state)(self.provider_data) })
    }

    /// How the last activation went on the DIMM.
    pub fn result(&self) -> FwaResult {
        // SAFETY: the DIMM is registered (type invariant).
        FwaResult::from_raw(unsafe { (self.result)(self.provider_data) })
    }

    /// Arms or disarms the DIMM.
    pub fn arm(&self, trigger: FwaTrigger) -> Result {
        // SAFETY: the DIMM is registered (type invariant).
        to_result(unsafe { (self.arm)(self.provider_data, trigger.to_raw()) })
    }
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

    /// The provider's firmware activation ops of the DIMM, if it takes part.
    pub fn fw_ops(&self) -> Option<DimmFwOps> {
        // INVARIANT: from this DIMM's descriptor; the DIMM's own attributes
        // use it, which go before the DIMM.
        self.fw_ops.map(|(state, result, arm)| DimmFwOps { provider_data: self.provider_data, state, result, arm })
    }

    /// The DIMM's flush hints.
    pub fn flush_hints(&self) -> FlushHints {
        self.flush_hints
    }

    /// The provider's attributes of nmemN, for its registration.
    pub fn attrs(&self) -> ProviderAttrs {
        self.attrs
    }
}

/// libnvdimm's side of the ABI: safe; the `extern "C"` functions in
/// `exports` call it (see [`export_nd_core!`]).
pub trait NdCore {
    /// The object behind a bus handle.
    type Bus: Send + Sync;
    /// A DIMM, which region mappings name.
    type Dimm: DeviceObject;
    /// Registers a bus; the returned box is the handle.
    fn bus_register(parent: &Device, desc: ProviderBus) -> Result<KBox<Self::Bus>>;
    /// Unregisters it.
    fn bus_unregister(bus: KBox<Self::Bus>);
    /// Creates a DIMM on `bus`; the ABI keeps the reference until the bus
    /// is unregistered.
    fn dimm_create(bus: &Self::Bus, desc: ProviderDimm) -> Result<ARef<Self::Dimm>>;
    /// Creates a region on `bus`.
    fn region_create(bus: &Self::Bus, desc: ProviderRegion<'_, Self::Dimm>) -> Result;
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
///
/// # Invariants
///
/// `raw` came from [`Bus::add_region`] of a registered bus, whose DIMM
/// handles in `mappings` are `D`s kept alive by the bus.
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
        NonNull::new(self.raw.virt.cast()).map(|p| {
            let backing = super::backing_phys_from_raw(self.raw.backing_phys);
            // SAFETY: `Bus::add_region` checked that the mapping covers the
            // region; the provider keeps it until it unregisters the bus,
            // which removes the region first. Its backing address came from
            // the same `Range` (`Range`'s invariant).
            unsafe { ProviderMemory::new(p, self.raw.size, backing) }
        })
    }
    /// The mappings in the provider's order.
    pub fn mappings(&self) -> impl Iterator<Item = ProviderMapping<'a, D>> + 'a {
        self.mappings.iter().map(|m| ProviderMapping {
            // SAFETY: the provider passes DIMM handles that `dimm_create`
            // returned for this bus (`DimmRef`'s invariant), which the
            // exports keep referenced while the bus is registered.
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
    /// The provider's own flush of the region, if it has one.
    pub fn flush(&self) -> Option<RegionFlush> {
        // INVARIANT: the callback and the data come from one descriptor
        // `Bus::add_region` built; the provider keeps the data until after
        // the bus (and so the region) is unregistered.
        self.raw.flush.map(|flush| RegionFlush { provider_data: self.raw.provider_data, flush })
    }
    /// The provider's attributes of regionN, for its registration.
    pub fn attrs(&self) -> ProviderAttrs {
        // SAFETY: `Bus::add_region` put the groups of `R` and an `R` side by
        // side in the descriptor, and keeps the `R` until after the bus
        // (and so the region) is unregistered.
        unsafe { ProviderAttrs::new(self.raw.attr_groups, self.raw.provider_data) }
    }
}

/// A region's flush by its provider ([`ProviderRegion::flush`]).
///
/// # Invariants
///
/// `flush` and `provider_data` come from one `RawRegionDesc` that
/// [`Bus::add_region`] built, valid while the region is registered (the
/// region keeps the handle no longer).
#[derive(Clone, Copy)]
pub struct RegionFlush {
    provider_data: *const c_void,
    flush: RawRegionFlush,
}

// SAFETY: the provider's region data is `Send + Sync` (`BusProvider`).
unsafe impl Send for RegionFlush {}
// SAFETY: see `Send`.
unsafe impl Sync for RegionFlush {}

impl RegionFlush {
    /// Runs the provider's flush; may sleep.
    pub fn call(&self) -> Result {
        // SAFETY: the region is registered (invariant); no bio.
        to_result(unsafe { (self.flush)(self.provider_data, core::ptr::null_mut()) })
    }

    /// Runs the provider's flush after the data of REQ_FUA bio `bio`,
    /// which the provider may keep ([`FuaFlush::Queued`]).
    pub fn call_fua(&self, bio: PendingBio) -> FuaFlush {
        let raw = bio.into_raw();
        // SAFETY: the region is registered (invariant); `raw` is handed
        // over and comes back unless the provider kept it.
        let rc = unsafe { (self.flush)(self.provider_data, raw) };
        // SAFETY: `raw` came from `into_raw`; `region_flush_raw` follows
        // `FuaFlush::into_raw`.
        unsafe { FuaFlush::from_raw(rc, raw) }
    }
}

/// Names the type that implements libnvdimm's side of the ABI, for the
/// exported functions: `export_nd_core!(ProviderAbi)`. Expands to a safe
/// impl only; the functions themselves are defined in this file.
#[macro_export]
macro_rules! export_nd_core {
    ($core:ty) => {
        impl $crate::abi::provider::Exports for $crate::abi::provider::Libnvdimm {
            type Core = $core;
        }
    };
}

/// The module that exports the provider ABI.
pub(crate) struct Libnvdimm;

/// Which [`NdCore`] the exported functions call (see [`export_nd_core!`]).
pub(crate) trait Exports {
    /// libnvdimm's implementation.
    type Core: NdCore;
}

/// Copies a provider's bus descriptor.
///
/// # Safety
///
/// `raw` was built by [`Bus::register`]: `provider_name` is null or a
/// static string, and the provider data, groups and callbacks stay valid
/// while the bus is registered.
unsafe fn bus_desc_from_raw(raw: &RawBusDesc) -> ProviderBus {
    // INVARIANT: guaranteed by the caller.
    ProviderBus {
        // SAFETY: guaranteed by the caller.
        provider_name: (!raw.provider_name.is_null()).then(|| unsafe { CStr::from_ptr(raw.provider_name) }),
        cmd_mask: raw.cmd_mask as u64,
        dimm_family_mask: raw.dimm_family_mask as u64,
        bus_family_mask: raw.bus_family_mask as u64,
        // SAFETY: `Bus::register` pairs the groups of `P` with its `P`,
        // which it keeps until after the bus is unregistered.
        attrs: unsafe { ProviderAttrs::new(raw.attr_groups, raw.provider_data) },
        provider_data: raw.provider_data,
        ctl: raw.ctl,
        clear_to_send: raw.clear_to_send,
        owner: ModuleRef(raw.owner),
        media_write: raw.media_write,
        fw_ops: match (raw.fwa_state, raw.fwa_capability, raw.fwa_activate) {
            (Some(s), Some(c), Some(a)) => Some((s, c, a)),
            _ => None,
        },
    }
}

/// Borrows a provider's region descriptor.
///
/// # Safety
///
/// `raw` was built by [`Bus::add_region`] for a registered bus: its
/// mappings (`num_mappings` of them, or null with none) are valid for `'a`.
unsafe fn region_desc_from_raw<'a, D>(raw: &'a RawRegionDesc) -> ProviderRegion<'a, D> {
    let mappings = if raw.mappings.is_null() || raw.num_mappings == 0 {
        &[][..]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(raw.mappings, raw.num_mappings as usize) }
    };
    // INVARIANT: guaranteed by the caller.
    ProviderRegion { raw, mappings, _dimm: PhantomData }
}

/// Copies a provider's DIMM descriptor.
///
/// # Safety
///
/// `raw` was built by [`Bus::add_dimm`] for a registered bus.
unsafe fn dimm_desc_from_raw(raw: &RawDimmDesc) -> ProviderDimm {
    // INVARIANT: guaranteed by the caller.
    ProviderDimm {
        provider_data: raw.provider_data,
        // SAFETY: `Bus::add_dimm` pairs the groups of `D` with its `D`,
        // which it keeps until after the bus is unregistered.
        attrs: unsafe { ProviderAttrs::new(raw.attr_groups, raw.provider_data) },
        flags: raw.flags as u64,
        cmd_mask: raw.cmd_mask as u64,
        security_flags: raw.security_flags,
        security: Security {
            supported: raw.security_flags.is_some(),
            mutable: raw.security_mutable != 0,
            freezable: raw.security_freezable != 0,
        },
        // INVARIANT: the hints of a `FlushHintMap` the `Bus` keeps.
        flush_hints: if raw.flush_hints.is_null() {
            FlushHints::NONE
        } else {
            FlushHints { ptr: raw.flush_hints, len: raw.num_flush as usize }
        },
        fw_ops: match (raw.fwa_state, raw.fwa_result, raw.fwa_arm) {
            (Some(s), Some(r), Some(a)) => Some((s, r, a)),
            _ => None,
        },
    }
}

/// The functions libnvdimm exports to providers, over the [`NdCore`] it
/// names with [`export_nd_core!`]. Only libnvdimm defines them.
#[cfg(rln_libnvdimm)]
mod exports {
    use super::*;
    use kernel::sync::Mutex;

    type Core = <Libnvdimm as Exports>::Core;
    type CoreDimm = <Core as NdCore>::Dimm;

    /// What a bus handle points to: libnvdimm's bus, and a reference to
    /// each DIMM handed out as a handle, so that the handles the provider
    /// names in region mappings stay valid while the bus is registered.
    #[pin_data]
    struct BusBox {
        bus: Option<KBox<<Core as NdCore>::Bus>>,
        #[pin]
        dimms: Mutex<KVec<ARef<CoreDimm>>>,
    }

    /// The bus behind a handle.
    ///
    /// # Safety
    ///
    /// `bus` came from `rln_bus_register` and was not yet unregistered.
    unsafe fn bus_box<'a>(bus: *mut RawBus) -> &'a BusBox {
        // SAFETY: guaranteed by the caller: a live `Pin<KBox<BusBox>>`.
        unsafe { &*(bus as *const BusBox) }
    }

    /// libnvdimm's bus behind a handle.
    ///
    /// # Safety
    ///
    /// As [`bus_box`].
    unsafe fn core_bus<'a>(bus: *mut RawBus) -> Option<&'a <Core as NdCore>::Bus> {
        // SAFETY: guaranteed by the caller.
        unsafe { bus_box(bus) }.bus.as_deref()
    }

    /// `rln_bus_register`: registers ndbusN under `parent`.
    ///
    /// # Safety
    ///
    /// `parent` is a live device, `desc` a descriptor built by
    /// [`Bus::register`], `out` valid for a write.
    #[no_mangle]
    unsafe extern "C" fn rln_bus_register(
        parent: *mut bindings::device,
        desc: *const RawBusDesc,
        out: *mut *mut RawBus,
    ) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (parent, desc) = unsafe { (Device::from_raw(parent), bus_desc_from_raw(&*desc)) };
        let bus = match Core::bus_register(parent, desc) {
            Ok(b) => b,
            Err(e) => return e.to_errno(),
        };
        let boxed = KBox::pin_init(
            pin_init!(BusBox { bus: Some(bus), dimms <- kernel::new_mutex!(KVec::new()) }),
            GFP_KERNEL,
        );
        match boxed {
            Ok(b) => {
                // SAFETY: the box is only ever used pinned, through
                // `bus_box`, and freed in `rln_bus_unregister`. `out` is
                // valid (see above).
                unsafe { *out = KBox::into_raw(Pin::into_inner_unchecked(b)).cast() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::BusRegister = rln_bus_register;

    /// `rln_bus_unregister`: removes the bus and everything on it.
    ///
    /// # Safety
    ///
    /// `bus` came from `rln_bus_register`; the provider gives it back once
    /// and makes no more calls with it.
    #[no_mangle]
    unsafe extern "C" fn rln_bus_unregister(bus: *mut RawBus) {
        // SAFETY: guaranteed by the caller: we own the box again.
        let mut b = unsafe { KBox::from_raw(bus as *mut BusBox) };
        if let Some(core_bus) = b.bus.take() {
            Core::bus_unregister(core_bus);
        }
        // The DIMM references go after the bus.
        drop(b);
    }
    const _: signatures::BusUnregister = rln_bus_unregister;

    /// `rln_dimm_create`: creates nmemN on `bus`.
    ///
    /// # Safety
    ///
    /// `bus` is a live handle, `desc` a descriptor built by
    /// [`Bus::add_dimm`], `out` valid for a write.
    #[no_mangle]
    unsafe extern "C" fn rln_dimm_create(bus: *mut RawBus, desc: *const RawDimmDesc, out: *mut *mut RawDimm) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (b, desc) = unsafe { (bus_box(bus), dimm_desc_from_raw(&*desc)) };
        let Some(core_bus) = b.bus.as_deref() else { return ENXIO.to_errno() };
        let mut dimms = b.dimms.lock();
        if dimms.reserve(1, GFP_KERNEL).is_err() {
            return ENOMEM.to_errno();
        }
        match Core::dimm_create(core_bus, desc) {
            Ok(d) => {
                let handle = &*d as *const CoreDimm as *mut RawDimm;
                // Reserved above: cannot fail.
                let _ = dimms.push(d, GFP_KERNEL);
                // SAFETY: see above.
                unsafe { *out = handle };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::DimmCreate = rln_dimm_create;

    /// `rln_region_create`: creates regionN on `bus`.
    ///
    /// # Safety
    ///
    /// `bus` is a live handle, `desc` a descriptor built by
    /// [`Bus::add_region`] whose DIMM handles came from this bus.
    #[no_mangle]
    unsafe extern "C" fn rln_region_create(bus: *mut RawBus, desc: *const RawRegionDesc) -> c_int {
        // SAFETY: guaranteed by the caller.
        let (core_bus, desc) = unsafe { (core_bus(bus), region_desc_from_raw::<CoreDimm>(&*desc)) };
        let Some(core_bus) = core_bus else { return ENXIO.to_errno() };
        match Core::region_create(core_bus, desc) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::RegionCreate = rln_region_create;

    /// `rln_bus_add_badrange`.
    ///
    /// # Safety
    ///
    /// `bus` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn rln_bus_add_badrange(bus: *mut RawBus, addr: u64, len: u64) -> c_int {
        // SAFETY: guaranteed by the caller.
        let Some(core_bus) = (unsafe { core_bus(bus) }) else { return ENXIO.to_errno() };
        match Core::bus_add_badrange(core_bus, addr, len) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::AddBadrange = rln_bus_add_badrange;

    /// `rln_bus_revalidate_poison`.
    ///
    /// # Safety
    ///
    /// `bus` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn rln_bus_revalidate_poison(bus: *mut RawBus, start: u64, len: u64) {
        // SAFETY: guaranteed by the caller.
        if let Some(core_bus) = unsafe { core_bus(bus) } {
            Core::bus_revalidate_poison(core_bus, start, len)
        }
    }
    const _: signatures::RevalidatePoison = rln_bus_revalidate_poison;

    /// `rln_bus_device`: ndbusN.
    ///
    /// # Safety
    ///
    /// `bus` is a live handle.
    #[no_mangle]
    unsafe extern "C" fn rln_bus_device(bus: *mut RawBus) -> *mut bindings::device {
        // SAFETY: guaranteed by the caller.
        unsafe { core_bus(bus) }.map_or(core::ptr::null_mut(), |b| Core::bus_device(b).as_raw())
    }
    const _: signatures::BusDevice = rln_bus_device;

    /// `rln_dimm_device`: nmemN.
    ///
    /// # Safety
    ///
    /// `dimm` came from `rln_dimm_create` on a bus not yet unregistered.
    #[no_mangle]
    unsafe extern "C" fn rln_dimm_device(dimm: *mut RawDimm) -> *mut bindings::device {
        // SAFETY: guaranteed by the caller: the handle is a `CoreDimm` the
        // bus's `BusBox` holds a reference on.
        let dimm = unsafe { &*(dimm as *const CoreDimm) };
        dimm.device().as_raw()
    }
    const _: signatures::DimmDevice = rln_dimm_device;
}
