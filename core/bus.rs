// SPDX-License-Identifier: GPL-2.0
//! The nd bus: bus type "nd", class "nd", ndbusN and /dev/ndctlN.
//!
//! A provider registers ndbusN; the nd_bus driver binds it and creates the
//! class device ndctlN, which is how ndctl finds buses. Removing the bus
//! unbinds it, which unregisters its children first, as in C.

use core::fmt::Write;

use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::{new_mutex, ThisModule};

use crate::dimm::{self, Dimm};
use crate::formats::badrange::{self, BadRange};
use crate::formats::cmd;
use crate::glue::bus::{BusOps, BusRegistration, BusType, Class, ClassRegistration, Driver, UeventEnv};
use crate::glue::chrdev::{Chrdev, ChrdevRegistration};
use crate::glue::device::{ARef, ClassDevice, Device, DeviceType, Placement, Registration};
use crate::glue::ida::{Id, IdaKind};
use crate::glue::nd_driver::{NdDriver, NdDriverOps, NdDriverRegistration};
use crate::abi::provider::{Completion, ModuleRef, NdCore, ProviderBus, ProviderDimm, ProviderRegion};
use crate::namespace;
use crate::personality::Personality;
use crate::region::{self, Region};
use crate::glue::sysfs::{Attribute, GroupList, Page};
use crate::{attribute_group, dev_dbg, device_object, export_nd_core, group_list};

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

pub(crate) static ND_BUS: BusType = BusType::new::<NdBusOps>(c"nd", &GroupList::EMPTY);
pub(crate) static ND_CLASS: Class = Class::new(c"nd");
pub(crate) static NDCTL: Chrdev = Chrdev::new::<crate::ioctl::BusIoctl>(c"ndctl");
// Unbinding nd_bus would tear the bus down under its provider.
static ND_BUS_DRIVER: NdDriver = NdDriver::new_unbindable::<NdBusDriver>(c"nd_bus", 1 << nd_type::BUS);

/// Everything libnvdimm registers at load; dropped in reverse on unload.
pub(crate) struct Core {
    // Field order is drop order: drivers before the bus, the bus before the
    // class and the majors its devices use.
    _region_driver: NdDriverRegistration,
    _dimm_driver: NdDriverRegistration,
    _bus_driver: NdDriverRegistration,
    _bus: BusRegistration,
    _class: ClassRegistration,
    _dimmctl: ChrdevRegistration,
    _ndctl: ChrdevRegistration,
}

impl Core {
    pub(crate) fn register(module: &'static ThisModule) -> Result<Pin<KBox<Self>>> {
        let ndctl = NDCTL.register(module)?;
        let dimmctl = dimm::DIMMCTL.register(module)?;
        let class = ND_CLASS.register()?;
        let bus = ND_BUS.register()?;
        let bus_driver = ND_BUS_DRIVER.register(&ND_BUS, module)?;
        let dimm_driver = dimm::NVDIMM_DRIVER.register(&ND_BUS, module)?;
        let region_driver = region::ND_REGION_DRIVER.register(&ND_BUS, module)?;
        Ok(KBox::pin(
            Self {
                _region_driver: region_driver,
                _dimm_driver: dimm_driver,
                _bus_driver: bus_driver,
                _bus: bus,
                _class: class,
                _dimmctl: dimmctl,
                _ndctl: ndctl,
            },
            GFP_KERNEL,
        )?)
    }
}

/// The nd type of any device on the bus.
pub(crate) fn nd_device_type(dev: &Device) -> u32 {
    if dev.is_type(&NDBUS_TYPE) {
        nd_type::BUS
    } else if dev.is_type(&dimm::NVDIMM_TYPE) {
        nd_type::DIMM
    } else if region::is_region(dev) {
        nd_type::REGION_PMEM
    } else if let Some(t) = namespace::nd_type_of(dev) {
        t
    } else if let Some(p) = Personality::of(dev) {
        p.nd_type()
    } else {
        u32::MAX
    }
}

/// The provider module stays loaded while its regions are enabled
/// (`to_bus_provider`); other devices pin nothing.
fn provider_pin(dev: &Device) -> ModuleRef {
    if !region::is_region(dev) {
        return ModuleRef::NONE;
    }
    NdBus::of_device(dev).map_or(ModuleRef::NONE, |b| b.desc.module())
}

struct NdBusOps;

impl BusOps for NdBusOps {
    fn match_driver(dev: &Device, drv: &Driver) -> bool {
        let ty = nd_device_type(dev);
        ty < 64 && NdDriver::of(drv).type_mask & (1 << ty) != 0
    }

    fn uevent(dev: &Device, env: &mut UeventEnv) -> Result {
        env.add(format_args!("MODALIAS=nd:t{}", nd_device_type(dev)))
    }

    fn probe(dev: &Device) -> Result {
        let drv = dev.driver().ok_or(ENODEV)?;
        let pin = provider_pin(dev);
        if !pin.get() {
            return Err(ENXIO);
        }
        let rc = NdDriver::of(drv).probe(dev);
        if rc.is_ok() || rc.err().map(|e| e.to_errno()) == Some(-95) {
            if let Some(region) = Region::of_child(dev) {
                region.advance_seeds(dev);
            }
        }
        dev_dbg!(dev, "probe: {:?}\n", rc.err().map(|e| e.to_errno()));
        if rc.is_err() {
            pin.put();
        }
        rc
    }

    fn shutdown(dev: &Device) {
        if let Some(drv) = dev.driver() {
            NdDriver::of(drv).shutdown(dev);
        }
    }

    fn remove(dev: &Device) {
        if let Some(drv) = dev.driver() {
            NdDriver::of(drv).remove(dev);
        }
        provider_pin(dev).put();
    }
}

/// Configuration state of a bus, under its lock.
pub(crate) struct BusState {
    /// /sys/class/nd/ndctlN while the nd_bus driver is bound.
    ndctl: Option<ClassDevice>,
    /// The DIMMs the provider created, unregistered with the bus.
    dimms: KVec<Registration<Dimm>>,
    /// Its regions, unregistered before the DIMMs they use.
    regions: KVec<Registration<Region>>,
    /// Set when the provider unregisters; no provider call happens after.
    dead: bool,
    /// Poisoned physical ranges scrubs reported (`nvdimm_bus->badrange`).
    badrange: KVec<BadRange>,
}

/// ndbusN.
#[pin_data]
pub(crate) struct NdBus {
    dev: Device,
    id: Id,
    desc: ProviderBus,
    /// The bus lock (`nvdimm_bus_lock` in C): provider calls and
    /// configuration changes of the bus and its children run under it.
    #[pin]
    state: Mutex<BusState>,
    /// Serialises namespace configuration (label writes, DPA allocation)
    /// with region scans. Separate from `state`: label writes call the
    /// provider, which takes `state`.
    #[pin]
    reconfig: Mutex<()>,
}

device_object!(NdBus, dev);

impl NdBus {
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

    /// Forgets `[start, +len)` after the platform cleared it (`badrange_forget`).
    pub(crate) fn forget_badrange(&self, start: u64, len: u64) {
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

    /// The bus's regions overlapping `[start, +len)`, referenced.
    /// Runs `f` on each region of the bus, with a reference held but no
    /// lock.
    pub(crate) fn for_each_region(&self, mut f: impl FnMut(&Region)) -> Result {
        let regions = {
            let state = self.state.lock();
            let mut v = KVec::with_capacity(state.regions.len(), GFP_KERNEL)?;
            for reg in state.regions.iter() {
                v.push(ARef::new(reg.get()), GFP_KERNEL)?;
            }
            v
        };
        for r in regions.iter() {
            f(r);
        }
        Ok(())
    }

    fn regions_in(&self, start: u64, len: u64) -> Result<KVec<ARef<Region>>> {
        let state = self.state.lock();
        let mut out = KVec::new();
        for reg in state.regions.iter() {
            let (rs, rl) = reg.get().range();
            if rl > 0 && len > 0 && rs <= start.saturating_add(len - 1) && start <= rs + (rl - 1) {
                out.push(ARef::new(reg.get()), GFP_KERNEL)?;
            }
        }
        Ok(out)
    }

    /// `nvdimm_clear_poison`: asks the provider to clear `len` bytes of
    /// poison at `phys`, in its clear unit, then forgets what it cleared.
    /// Returns the bytes cleared.
    pub(crate) fn clear_poison(&self, phys: u64, len: u64) -> Result<u64> {
        // Without a command path there is nothing to ask: all is handled.
        if !self.desc.has_ctl() {
            return Ok(len);
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
            self.forget_badrange(phys, cleared);
            for region in self.regions_in(phys, cleared)?.iter() {
                region.forget_bad_sectors(phys, cleared);
            }
        }
        Ok(cleared)
    }

    /// Tells the regions overlapping `[start, +len)` and their namespaces'
    /// drivers that the bad ranges changed (NVDIMM_REVALIDATE_POISON).
    pub(crate) fn revalidate_poison(&self, start: u64, len: u64) {
        // Outside the bus lock: drivers re-read the list under it.
        let Ok(regions) = self.regions_in(start, len) else { return };
        for region in regions.iter() {
            region.revalidate_poison();
        }
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

    /// Keeps a new region's registration until the bus goes.
    pub(crate) fn adopt_region(&self, region: Registration<Region>) -> Result {
        self.state.lock().regions.push(region, GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps a new DIMM's registration until the bus goes.
    pub(crate) fn adopt_dimm(&self, dimm: Registration<Dimm>) -> Result {
        self.state.lock().dimms.push(dimm, GFP_KERNEL)?;
        Ok(())
    }

    /// The bus a child device (nmemN, regionN) sits on.
    pub(crate) fn of_child(dev: &Device) -> Option<&NdBus> {
        NDBUS_TYPE.downcast(dev.parent()?)
    }

    /// Finds ndbusN by N and runs `f` on it with a reference held.
    pub(crate) fn with_id<R>(id: u32, f: impl FnOnce(&NdBus) -> R) -> Option<R> {
        ND_BUS.find_device(
            |d| NDBUS_TYPE.downcast(d).is_some_and(|b| b.id() == id),
            |d| NDBUS_TYPE.downcast(d).map(f),
        )?
    }
}

// ndbusN/commands: the bus commands the provider implements. Every name,
// the last too, is followed by a space: libndctl only takes such tokens.
fn commands_show(bus: &NdBus, page: &mut Page) -> Result {
    write_cmd_names(page, bus.desc.cmd_mask, cmd::bus_cmd_name)
}
static COMMANDS: Attribute<NdBus> = Attribute::ro(c"commands", commands_show);

/// Writes `name ` for every set bit of `mask`, then a newline.
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

// ndbusN/wait_probe: returns once probing below the bus has settled. Devices
// register synchronously here, so it is enough to wait out every child's
// in-flight probe by taking and dropping its device lock.
fn wait_probe_show(bus: &NdBus, page: &mut Page) -> Result {
    bus.dev.for_each_child(|child| {
        drop(child.lock());
        Ok(())
    })?;
    let _ = writeln!(page, "1");
    Ok(())
}
static WAIT_PROBE: Attribute<NdBus> = Attribute::ro(c"wait_probe", wait_probe_show);

attribute_group!(static NDBUS_GROUP: NdBus, dir = None, [COMMANDS, WAIT_PROBE, PROVIDER]);
group_list!(static NDBUS_GROUPS: NdBus = [NDBUS_GROUP]);
pub(crate) static NDBUS_TYPE: DeviceType<NdBus> = DeviceType::new(c"nvdimm_bus", &NDBUS_GROUPS);

/// The nd_bus driver: binds ndbusN and publishes it as ndctlN.
struct NdBusDriver;

impl NdDriverOps for NdBusDriver {
    fn probe(dev: &Device) -> Result {
        let bus = NDBUS_TYPE.downcast(dev).ok_or(ENODEV)?;
        let ndctl = ClassDevice::new(&ND_CLASS, dev, NDCTL.devt(bus.id()), format_args!("ndctl{}", bus.id()))?;
        bus.state.lock().ndctl = Some(ndctl);
        Ok(())
    }

    fn remove(dev: &Device) {
        let Some(bus) = NDBUS_TYPE.downcast(dev) else { return };
        // Children go first. They are dropped outside the bus lock: their
        // sysfs readers may be waiting for it, and unregistering waits for them.
        let (regions, dimms, ndctl) = {
            let mut state = bus.state.lock();
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
}

/// A provider's handle on its bus.
pub(crate) struct BusHandle {
    reg: Registration<NdBus>,
}

/// libnvdimm's side of the provider ABI.
pub(crate) struct ProviderAbi;

impl NdCore for ProviderAbi {
    type Bus = BusHandle;
    type Dimm = Dimm;

    fn bus_register(parent: &Device, desc: ProviderBus) -> Result<KBox<BusHandle>> {
        let id = Id::alloc(IdaKind::Bus)?;
        let n = id.get();
        let provider = Some(desc.attrs());
        let init = try_pin_init!(NdBus {
            dev: Device::zeroed(),
            id,
            desc,
            state <- new_mutex!(BusState {
                ndctl: None,
                dimms: KVec::new(),
                regions: KVec::new(),
                dead: false,
                badrange: KVec::new(),
            }),
            reconfig <- new_mutex!(()),
        }? Error);
        let place = Placement { parent: Some(parent), ty: &NDBUS_TYPE, bus: Some(&ND_BUS), provider, devt: 0 };
        let reg = Registration::new(init, place, format_args!("ndbus{n}"))?;
        Ok(KBox::new(BusHandle { reg }, GFP_KERNEL)?)
    }

    fn bus_unregister(handle: KBox<BusHandle>) {
        let bus = ARef::new(handle.reg.get());
        // Unregistering unbinds nd_bus, which removes the children and ndctlN.
        drop(handle);
        // In-flight ioctls hold the bus lock; once we own it, none is left,
        // and none will call the provider again.
        bus.state.lock().dead = true;
    }

    fn dimm_create(bus: &BusHandle, desc: ProviderDimm) -> Result<ARef<Dimm>> {
        dimm::create(bus.reg.get(), desc)
    }

    fn region_create(bus: &BusHandle, desc: ProviderRegion<'_, Dimm>) -> Result {
        let bus = bus.reg.get();
        let reg = region::create(bus, desc)?;
        bus.adopt_region(reg)
    }

    fn bus_add_badrange(bus: &BusHandle, addr: u64, len: u64) -> Result {
        bus.reg.get().add_badrange(addr, len)
    }

    fn bus_device(bus: &BusHandle) -> &Device {
        bus.reg.get().device()
    }

    fn bus_revalidate_poison(bus: &BusHandle, start: u64, len: u64) {
        bus.reg.get().revalidate_poison(start, len)
    }
}

export_nd_core!(ProviderAbi);
