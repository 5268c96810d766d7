// SPDX-License-Identifier: GPL-2.0
//! What every file of the nd bus core shares (C's `nd-core.h` and `nd.h`):
//! the nd device type numbers, and ndbusN, the bus handle that DIMMs,
//! regions and namespaces reach their provider, lock and bad ranges through.
//!
//! This file is the bottom of core/: it imports no other file of core/.
//! The bus type "nd" itself lives at the top (bus.rs), because its
//! callbacks dispatch to every kind of device; files below it reach the bus
//! type through [`NdBus::bus_type`].

use core::fmt::Write;

use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::new_mutex;

use crate::formats::badrange::{self, BadRange};
use crate::formats::cmd;
use crate::glue::bus::BusType;
use crate::glue::device::{ClassDevice, Device, EmbeddedDevice, DeviceRef, DeviceRegistration, DeviceType};
use crate::glue::ida::Id;
use crate::glue::nd_driver::{NdDriver, NdEvent};
use crate::abi::provider::{Completion, FwaState, ProviderBus, ProviderDimm};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::{attribute_group, dev_dbg, device_object, group_list};

/// nd device types, as in uevents and modaliases (`nd:t%d`).
pub(crate) mod nd_type {
    /// ndbusN.
    pub(crate) const BUS: u32 = 0;
    /// nmemN (ND_DEVICE_DIMM).
    pub(crate) const DIMM: u32 = 1;
    /// regionN over persistent or volatile memory (ND_DEVICE_REGION_PMEM).
    pub(crate) const REGION_PMEM: u32 = 2;
    /// Label-less namespace (ND_DEVICE_NAMESPACE_IO).
    pub(crate) const NAMESPACE_IO: u32 = 4;
    /// Labeled namespace (ND_DEVICE_NAMESPACE_PMEM).
    pub(crate) const NAMESPACE_PMEM: u32 = 5;
    /// daxN.M (ND_DEVICE_DAX_PMEM).
    pub(crate) const DAX_PMEM: u32 = 7;
}

pub(crate) use crate::glue::eopnotsupp;

/// Configuration state of a bus, under its lock.
struct BusState {
    /// /sys/class/nd/ndctlN while the nd_bus driver is bound.
    ndctl: Option<ClassDevice>,
    /// The DIMMs the provider created, unregistered with the bus.
    dimms: KVec<DeviceRegistration>,
    /// Its regions, unregistered before the DIMMs they use.
    regions: KVec<DeviceRegistration>,
    /// Set when the provider unregisters; no provider call happens after.
    dead: bool,
    /// Poisoned physical ranges scrubs reported (`nvdimm_bus->badrange`).
    badrange: KVec<BadRange>,
}

/// ndbusN.
#[pin_data]
pub(crate) struct NdBus {
    dev: EmbeddedDevice,
    id: Id,
    desc: ProviderBus,
    /// The bus type "nd" (bus.rs), for the devices registered below.
    bus_type: &'static BusType,
    /// The bus lock (`nvdimm_bus_lock` in C): provider calls and
    /// configuration changes of the bus and its children run under it.
    #[pin]
    state: Mutex<BusState>,
    /// Serialises namespace configuration (label writes, DPA allocation)
    /// with region scans. Separate from `state`: label writes call the
    /// provider, which takes `state`.
    #[pin]
    reconfig: Mutex<()>,
    /// The uuid of a device of the bus that is not a namespace (a btt),
    /// for the uniqueness of namespace uuids (C: `is_uuid_busy`); bus.rs
    /// knows every kind of device and supplies it.
    child_uuid: fn(&Device) -> Option<[u8; 16]>,
}

device_object!(NdBus, dev);

impl NdBus {
    /// A bus numbered `id` for the provider `desc`, on `bus_type`.
    pub(crate) fn new(
        id: Id,
        desc: ProviderBus,
        bus_type: &'static BusType,
        child_uuid: fn(&Device) -> Option<[u8; 16]>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(NdBus {
            dev: EmbeddedDevice::zeroed(),
            id,
            desc,
            bus_type,
            state <- new_mutex!(BusState {
                ndctl: None,
                dimms: KVec::new(),
                regions: KVec::new(),
                dead: false,
                badrange: KVec::new(),
            }),
            reconfig <- new_mutex!(()),
            child_uuid,
        }? Error)
    }

    /// The uuid of `dev`, a btt (pfn) device of the bus, if it has one.
    pub(crate) fn child_uuid(&self, dev: &Device) -> Option<[u8; 16]> {
        (self.child_uuid)(dev)
    }

    /// The bus number N.
    pub(crate) fn id(&self) -> u32 {
        self.id.get()
    }

    /// The provider's description.
    pub(crate) fn desc(&self) -> &ProviderBus {
        &self.desc
    }

    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// The bus type the bus and every device below it are on.
    pub(crate) fn bus_type(&self) -> &'static BusType {
        self.bus_type
    }

    /// Runs `cmd` through the provider under the bus lock; `ENXIO` once the
    /// provider has gone.
    pub(crate) fn ctl(&self, dimm: Option<&ProviderDimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion> {
        let state = self.state.lock();
        if state.dead {
            return Err(ENXIO);
        }
        let rc = self.desc.ctl(dimm, cmd, buf);
        drop(state);
        rc
    }

    /// Runs `f` under the bus lock (`nvdimm_bus_lock`), as C runs a DIMM's
    /// firmware activation ops. `f` must not call the provider through
    /// [`NdBus::ctl`], which takes the lock too.
    pub(crate) fn with_bus_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _state = self.state.lock();
        f()
    }

    /// Runs `f` with namespace configuration of the bus excluded.
    pub(crate) fn with_reconfig<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.reconfig.lock();
        f()
    }

    /// Records a poisoned range (`nvdimm_bus_add_badrange`): a range that
    /// starts where a listed one does replaces its length.
    pub(crate) fn add_badrange(&self, addr: u64, len: u64) -> Result {
        let new = BadRange { start: addr, len };
        let mut state = self.state.lock();
        match badrange::add(&state.badrange, new) {
            badrange::Add::Update(i) => state.badrange[i].len = len,
            badrange::Add::Append => state.badrange.push(new, GFP_KERNEL)?,
        }
        Ok(())
    }

    /// Forgets `[start, +len)` after the platform cleared it
    /// (`badrange_forget`, whose length is an `unsigned int`: callers pass
    /// a 64-bit count's low 32 bits, as C truncates it).
    pub(crate) fn forget_badrange(&self, start: u64, len: u32) {
        let len = u64::from(len);
        let mut state = self.state.lock();
        let mut kept = KVec::new();
        for &r in state.badrange.iter() {
            let (left, right) = match badrange::forget(r, start, len) {
                badrange::Forget::Keep => (Some(r), None),
                badrange::Forget::Remove => (None, None),
                badrange::Forget::Trim(t) => (Some(t), None),
                badrange::Forget::Split(l, rt) => (Some(l), Some(rt)),
            };
            for part in [left, right].into_iter().flatten() {
                if kept.push(part, GFP_KERNEL).is_err() {
                    // Without memory the list stays as it was: poison that
                    // is still listed only costs a failed read.
                    return;
                }
            }
        }
        state.badrange = kept;
    }

    /// Calls `f` with each bad sector run of the device covering physical
    /// `[start, +len)`, under the bus lock (`nvdimm_badblocks_populate`).
    pub(crate) fn for_each_bad_sectors(&self, start: u64, len: u64, mut f: impl FnMut(u64, u64)) {
        let state = self.state.lock();
        for r in state.badrange.iter() {
            if let Some((sector, count)) = badrange::sectors_in(*r, start, len) {
                f(sector, count);
            }
        }
    }

    /// The bus's region devices, referenced, for callers that visit them
    /// without the bus lock.
    pub(crate) fn region_devices(&self) -> Result<KVec<DeviceRef>> {
        let state = self.state.lock();
        let mut v = KVec::with_capacity(state.regions.len(), GFP_KERNEL)?;
        for reg in state.regions.iter() {
            v.push(DeviceRef::new(reg.device()), GFP_KERNEL)?;
        }
        Ok(v)
    }

    /// The bus part of `nvdimm_clear_poison`: asks the provider to clear
    /// `len` bytes of poison at `phys`, in its clear unit, then forgets
    /// what it cleared from the bus's list. Returns the bytes cleared, the
    /// regions' lists being the caller's (region.rs), or None when the
    /// provider has no command path: then there is nothing to ask or forget.
    pub(crate) fn clear_poison(&self, phys: u64, len: u64) -> Result<Option<u64>> {
        if !self.desc.has_ctl() {
            return Ok(None);
        }
        let mut cap = badrange::ars_cap_query(phys, len);
        let c = self.ctl(None, cmd::ARS_CAP, &mut cap)?;
        if c.cmd_rc < 0 {
            return Err(Error::from_errno(c.cmd_rc));
        }
        let unit = badrange::ArsCap::parse(&cap).clear_err_unit;
        if !badrange::clear_aligned(unit, phys, len) {
            dev_dbg!(&self.dev, "clear {:#x}+{:#x} not aligned to unit {}\n", phys, len, unit);
            return Err(ENXIO);
        }
        let mut clear = badrange::clear_error(phys, len);
        let c = self.ctl(None, cmd::CLEAR_ERROR, &mut clear)?;
        if c.cmd_rc < 0 {
            return Err(Error::from_errno(c.cmd_rc));
        }
        let cleared = badrange::clear_error_cleared(&clear);
        if cleared > 0 {
            self.forget_badrange(phys, cleared as u32);
        }
        Ok(Some(cleared))
    }

    /// The bus any device on it belongs to: itself, or its nearest ndbusN
    /// ancestor.
    pub(crate) fn of_device(dev: &Device) -> Option<&NdBus> {
        let mut cur = Some(dev);
        while let Some(d) = cur {
            if let Some(b) = NDBUS_TYPE.downcast(d) {
                return Some(b);
            }
            cur = d.parent();
        }
        None
    }

    /// The bus behind `dev`, if it is an ndbusN.
    pub(crate) fn of(dev: &Device) -> Option<&NdBus> {
        NDBUS_TYPE.downcast(dev)
    }

    /// The bus a child device (nmemN, regionN) sits on.
    pub(crate) fn of_child(dev: &Device) -> Option<&NdBus> {
        NDBUS_TYPE.downcast(dev.parent()?)
    }

    /// Keeps a new region's registration until the bus goes.
    pub(crate) fn adopt_region(&self, region: DeviceRegistration) -> Result {
        self.state.lock().regions.push(region, GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps a new DIMM's registration until the bus goes.
    pub(crate) fn adopt_dimm(&self, dimm: DeviceRegistration) -> Result {
        self.state.lock().dimms.push(dimm, GFP_KERNEL)?;
        Ok(())
    }

    /// Publishes ndctlN (the nd_bus driver bound).
    pub(crate) fn set_ndctl(&self, ndctl: ClassDevice) {
        self.state.lock().ndctl = Some(ndctl);
    }

    /// Unregisters the bus's children, regions before the DIMMs they use,
    /// then ndctlN (the nd_bus driver unbinds). They are dropped outside
    /// the bus lock: their sysfs readers may be waiting for it, and
    /// unregistering waits for them.
    pub(crate) fn remove_children(&self) {
        let (regions, dimms, ndctl) = {
            let mut state = self.state.lock();
            (
                core::mem::replace(&mut state.regions, KVec::new()),
                core::mem::replace(&mut state.dimms, KVec::new()),
                state.ndctl.take(),
            )
        };
        drop(regions);
        drop(dimms);
        drop(ndctl);
    }

    /// The provider has gone: no provider call happens after this returns.
    /// In-flight ioctls hold the bus lock; once we own it, none is left.
    pub(crate) fn mark_dead(&self) {
        self.state.lock().dead = true;
    }
}

// ndbusN/commands: the bus commands the provider implements. Every name,
// the last too, is followed by a space: libndctl only takes such tokens.
fn commands_show(bus: &NdBus, page: &mut Page) -> Result {
    write_cmd_names(page, bus.desc.cmd_mask, cmd::bus_cmd_name)
}
static COMMANDS: Attribute<NdBus> = Attribute::ro(c"commands", commands_show);

/// Writes `name ` for every set bit of `mask`, then a newline.
/// A uuid as sysfs shows it (`%pUb`), or an empty line when unset.
pub(crate) fn write_uuid_line(page: &mut Page, uuid: Option<&[u8; 16]>) -> Result {
    match uuid {
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

pub(crate) fn write_cmd_names(page: &mut Page, mask: u64, name: fn(u32) -> &'static str) -> Result {
    for bit in (0..64).filter(|b| mask & (1 << b) != 0) {
        let _ = write!(page, "{} ", name(bit));
    }
    let _ = writeln!(page);
    Ok(())
}

// ndbusN/provider: the provider's own name (ACPI.NFIT), else its device's
// (nfit_test.0).
fn provider_show(bus: &NdBus, page: &mut Page) -> Result {
    let name = match (bus.desc.provider_name, bus.dev.parent()) {
        (Some(name), _) => name,
        (None, Some(parent)) => parent.name(),
        (None, None) => c"unknown",
    };
    let _ = writeln!(page, "{}", name.to_str().unwrap_or("unknown"));
    Ok(())
}
static PROVIDER: Attribute<NdBus> = Attribute::ro(c"provider", provider_show);

// ndbusN/wait_probe: returns once probing below the bus has settled (C:
// wait_probe_show). libndctl reads it before every "is it enabled?" check,
// so it must cover what a probe sets off: the adds deferred to a work item
// (a btt that nd_pmem's probe found on the media is registered that way,
// as C's nd_device_register is), then each region's and DIMM's probe and
// the probes of their children (namespaces, btt, pfn, dax), each waited
// out by taking and dropping its device lock. Like C's nd_synchronize() it
// also waits for the unregisters queued from a device's own attribute (a
// btt, pfn or dax detached by writing "" to its `namespace`, a namespace
// whose `size` went to 0): libndctl rescans the region right after such a
// write, and must find the device either whole or gone, never half removed
// (`add_dev() failed`).
fn wait_probe_show(bus: &NdBus, page: &mut Page) -> Result {
    crate::glue::device::synchronize();
    bus.dev.for_each_child(|child| {
        drop(child.lock());
        child.for_each_child(|grandchild| {
            drop(grandchild.lock());
            Ok(())
        })
    })?;
    let _ = writeln!(page, "1");
    Ok(())
}
static WAIT_PROBE: Attribute<NdBus> = Attribute::ro(c"wait_probe", wait_probe_show);

attribute_group!(static NDBUS_GROUP: NdBus, dir = None, [COMMANDS, WAIT_PROBE, PROVIDER]);

// ndbusN/firmware/: firmware activation (C's core.c), shown when the
// provider offers it and can activate, quiesced or live. C runs the bus's
// ops here without the bus lock; so do we.

// ndbusN/firmware/activate: where activation stands. Writing "live" or
// "quiesce" activates what the DIMMs armed: EBUSY while an activation
// runs, ENXIO with nothing armed. A quiesced activation runs with the
// system frozen (hibernate_quiet_exec), which a kernel without hibernation
// refuses with ENOTSUPP, as C does.
fn fw_activate_show(bus: &NdBus, page: &mut Page) -> Result {
    let fw = bus.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let cap = fw.capability();
    let state = fw.state();
    if !cap.offered() {
        return Err(eopnotsupp());
    }
    let _ = writeln!(page, "{}", state.bus_word().ok_or(ENXIO)?);
    Ok(())
}
fn fw_activate_store(bus: &NdBus, input: &[u8]) -> Result {
    let fw = bus.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let quiesce = if sysfs::streq(input, c"live") {
        false
    } else if sysfs::streq(input, c"quiesce") {
        true
    } else {
        return Err(EINVAL);
    };
    match fw.state() {
        FwaState::Busy => Err(EBUSY),
        FwaState::Armed | FwaState::ArmOverflow if quiesce => {
            crate::glue::power::quiet_exec(&mut || fw.activate())
        }
        FwaState::Armed | FwaState::ArmOverflow => fw.activate(),
        FwaState::Idle | FwaState::Invalid => {
            dev_dbg!(&bus.dev, "firmware activate: nothing armed\n");
            Err(ENXIO)
        }
    }
}
static FW_ACTIVATE: Attribute<NdBus> =
    Attribute::admin_rw(c"activate", fw_activate_show, fw_activate_store).visible_if(fw_visible);

// ndbusN/firmware/capability: "quiesce" or "live".
fn fw_capability_show(bus: &NdBus, page: &mut Page) -> Result {
    let fw = bus.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let _ = writeln!(page, "{}", fw.capability().word().ok_or_else(eopnotsupp)?);
    Ok(())
}
static FW_CAPABILITY: Attribute<NdBus> = Attribute::ro(c"capability", fw_capability_show).visible_if(fw_visible);

/// Both go without ops, or when the provider cannot activate.
fn fw_visible(bus: &NdBus, attr: &'static Attribute<NdBus>) -> Option<u16> {
    bus.desc.fw_ops()?.capability().offered().then(|| attr.mode())
}

attribute_group!(static NDBUS_FIRMWARE_GROUP: NdBus, dir = Some(c"firmware"), [FW_ACTIVATE, FW_CAPABILITY]);
group_list!(static NDBUS_GROUPS: NdBus = [NDBUS_GROUP, NDBUS_FIRMWARE_GROUP]);
pub(crate) static NDBUS_TYPE: DeviceType<NdBus> = DeviceType::new(c"nvdimm_bus", &NDBUS_GROUPS);

/// Tells the driver bound to a device of the bus that something it
/// depends on changed (`nd_device_notify`): a block driver re-reads
/// read-only or bad blocks.
pub(crate) fn notify(child: &Device, event: NdEvent) {
    let _guard = child.lock();
    if let Some(drv) = child.driver() {
        NdDriver::of(drv).notify(child, event);
    }
}
