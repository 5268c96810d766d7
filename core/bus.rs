// SPDX-License-Identifier: GPL-2.0
//! The nd bus: bus type "nd", class "nd", the nd_bus driver (ndctlN), the
//! /dev/ndctlN and /dev/nmemN nodes, and what libnvdimm exports to bus
//! providers and namespace drivers.
//!
//! A provider registers ndbusN; the nd_bus driver binds it and creates the
//! class device ndctlN, which is how ndctl finds buses. Removing the bus
//! unbinds it, which unregisters its children first, as in C.
//!
//! This is the top of core/: the bus type's callbacks dispatch to every
//! kind of device, and the provider ABI creates DIMMs and regions, so this
//! file imports the others and none imports it.

use kernel::prelude::*;
use kernel::ThisModule;

use crate::btt_devs::{self, NdBtt};
use crate::claim::{self, NsIo};
use crate::glue::lock::MutexArray;
use crate::namespace::Namespace;
use crate::dax_devs;
use crate::dimm::{self, Dimm};
use crate::glue::bus::{BusOps, BusRegistration, BusType, Class, ClassRegistration, Driver, UeventEnv};
use crate::glue::chrdev::{Chrdev, ChrdevRegistration, IoctlHandler};
use crate::glue::device::{ARef, ClassDevice, Device, Placement, Registration};
use crate::glue::ida::{Id, IdaKind};
use crate::abi::namespace::{FuaFlush, NamespaceInfo, NsCore};
use crate::glue::block::PendingBio;
use crate::glue::nd_driver::{NdDriver, NdDriverOps, NdDriverRegistration};
use crate::abi::provider::{ModuleRef, NdCore, ProviderBus, ProviderDimm, ProviderRegion};
use crate::glue::sysfs::GroupList;
use crate::ioctl;
use crate::namespace;
use crate::nd::{nd_type, NdBus, NDBUS_TYPE};
use crate::pfn_devs::{self, NdPfn};
use crate::region::{self, Region};
use crate::region_driver::{self, ND_REGION_DRIVER};
use crate::shutdown::PanicFlush;
use crate::{dev_dbg, export_nd_core, export_ns_core};

pub(crate) static ND_BUS: BusType = BusType::new::<NdBusOps>(c"nd", &GroupList::EMPTY);
pub(crate) static ND_CLASS: Class = Class::new(c"nd");
static NDCTL: Chrdev = Chrdev::new::<BusIoctl>(c"ndctl");
static DIMMCTL: Chrdev = Chrdev::new::<DimmIoctl>(c"dimmctl");
// Unbinding nd_bus would tear the bus down under its provider.
static ND_BUS_DRIVER: NdDriver = NdDriver::new_unbindable::<NdBusDriver>(c"nd_bus", 1 << nd_type::BUS);

/// Everything libnvdimm registers at load; dropped in reverse on unload.
pub(crate) struct Core {
    // Field order is drop order: the panic flush's notifiers first, drivers
    // before the bus, the bus before the class and the majors its devices use.
    _panic_flush: Option<PanicFlush>,
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
        let dimmctl = DIMMCTL.register(module)?;
        let class = ND_CLASS.register()?;
        let bus = ND_BUS.register()?;
        let bus_driver = ND_BUS_DRIVER.register(&ND_BUS, module)?;
        let dimm_driver = dimm::NVDIMM_DRIVER.register(&ND_BUS, module)?;
        let region_driver = ND_REGION_DRIVER.register(&ND_BUS, module)?;
        let panic_flush = PanicFlush::register()?;
        Ok(KBox::pin(
            Self {
                _panic_flush: panic_flush,
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
fn nd_device_type(dev: &Device) -> u32 {
    if NdBus::of(dev).is_some() {
        nd_type::BUS
    } else if Dimm::of(dev).is_some() {
        nd_type::DIMM
    } else if region::is_region(dev) {
        nd_type::REGION_PMEM
    } else if let Some(t) = namespace::nd_type_of(dev) {
        t
    } else if let Some(btt) = NdBtt::of(dev) {
        btt.nd_type()
    } else if let Some(pfn) = NdPfn::of(dev).or_else(|| dax_devs::of(dev)) {
        pfn.nd_type()
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
    NdBus::of_device(dev).map_or(ModuleRef::NONE, |b| b.desc().module())
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
                region_driver::advance_seeds(region, dev);
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

/// Finds ndbusN by N and runs `f` on it with a reference held.
fn with_bus<R>(id: u32, f: impl FnOnce(&NdBus) -> R) -> Option<R> {
    ND_BUS.find_device(|d| NdBus::of(d).is_some_and(|b| b.id() == id), |d| NdBus::of(d).map(f))?
}

/// Finds nmemN by N and runs `f` on it with a reference held.
fn with_dimm<R>(id: u32, f: impl FnOnce(&Dimm) -> R) -> Option<R> {
    ND_BUS.find_device(|d| Dimm::of(d).is_some_and(|x| x.id() == id), |d| Dimm::of(d).map(f))?
}

/// What a CLEAR_ERROR ioctl asks of regions and namespaces.
static CLEAR_ERROR: ioctl::ClearError =
    ioctl::ClearError { clear_to_send: clear_to_send, account: region::account_cleared_poison };

/// `nd_cmd_clear_to_send` for a bus CLEAR_ERROR (`nd_pmem_forget_poison_check`
/// over every region's children): EBUSY when a namespace with a driver lies
/// entirely inside `[start, start + cleared - 1]` (C's arithmetic, wrapping
/// included). Devices that claim a namespace (btt, pfn) are not checked
/// yet: none binds in this tree.
fn clear_to_send(bus: &NdBus, start: u64, cleared: u64) -> Result {
    let end = start.wrapping_add(cleared).wrapping_sub(1);
    for dev in bus.region_devices()?.iter() {
        dev.device().for_each_child(|child| {
            let Some(ns) = namespace::Namespace::of(child) else { return Ok(()) };
            if !child.has_driver() {
                return Ok(());
            }
            let (pstart, size) = ns.range();
            let pend = pstart.wrapping_add(size).wrapping_sub(1);
            if pstart >= start && pend <= end {
                return Err(EBUSY);
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// /dev/ndctlN: bus commands (ARS, clear error, bus ND_CMD_CALL).
struct BusIoctl;

impl IoctlHandler for BusIoctl {
    fn ioctl(minor: u32, read_only: bool, ioctl_cmd: u32, arg: usize) -> Result<i64> {
        with_bus(minor, |bus| ioctl::nd_ioctl(bus, None, read_only, ioctl_cmd, arg, &CLEAR_ERROR)).unwrap_or(Err(ENXIO))
    }
}

/// /dev/nmemN: DIMM commands (label area, SMART, ND_CMD_CALL).
struct DimmIoctl;

impl IoctlHandler for DimmIoctl {
    fn ioctl(minor: u32, read_only: bool, ioctl_cmd: u32, arg: usize) -> Result<i64> {
        with_dimm(minor, |dimm| match NdBus::of_child(dimm.device()) {
            Some(bus) => ioctl::nd_ioctl(bus, Some(dimm), read_only, ioctl_cmd, arg, &CLEAR_ERROR),
            None => Err(ENXIO),
        })
        .unwrap_or(Err(ENXIO))
    }
}

/// The nd_bus driver: binds ndbusN and publishes it as ndctlN.
struct NdBusDriver;

impl NdDriverOps for NdBusDriver {
    fn probe(dev: &Device) -> Result {
        let bus = NdBus::of(dev).ok_or(ENODEV)?;
        let ndctl = ClassDevice::new(&ND_CLASS, dev, NDCTL.devt(bus.id()), format_args!("ndctl{}", bus.id()))?;
        bus.set_ndctl(ndctl);
        Ok(())
    }

    fn remove(dev: &Device) {
        if let Some(bus) = NdBus::of(dev) {
            // Children go first.
            bus.remove_children();
        }
    }
}

/// The uuid of a btt or pfn device, which namespaces' uuids must not take
/// (C: `is_uuid_busy`, which does not look at dax devices).
fn personality_uuid(dev: &Device) -> Option<[u8; 16]> {
    match NdBtt::of(dev) {
        Some(b) => b.uuid(),
        None => NdPfn::of(dev).and_then(|p| p.uuid()),
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
        let init = NdBus::new(id, desc, &ND_BUS, personality_uuid);
        let place = Placement { parent: Some(parent), ty: &NDBUS_TYPE, bus: Some(&ND_BUS), provider, devt: 0, node: None };
        let reg = Registration::new(init, place, format_args!("ndbus{n}"))?;
        Ok(KBox::new(BusHandle { reg }, GFP_KERNEL)?)
    }

    fn bus_unregister(handle: KBox<BusHandle>) {
        let bus = ARef::new(handle.reg.get());
        // Unregistering unbinds nd_bus, which removes the children and ndctlN.
        drop(handle);
        bus.mark_dead();
    }

    fn dimm_create(bus: &BusHandle, desc: ProviderDimm) -> Result<ARef<Dimm>> {
        dimm::create(bus.reg.get(), desc, &DIMMCTL)
    }

    fn region_create(bus: &BusHandle, desc: ProviderRegion<'_, Dimm>) -> Result {
        let bus = bus.reg.get();
        let reg = region::create(bus, desc)?;
        bus.adopt_region(reg.erase())
    }

    fn bus_add_badrange(bus: &BusHandle, addr: u64, len: u64) -> Result {
        bus.reg.get().add_badrange(addr, len)
    }

    fn bus_device(bus: &BusHandle) -> &Device {
        bus.reg.get().device()
    }

    fn bus_revalidate_poison(bus: &BusHandle, start: u64, len: u64) {
        region::revalidate_poison(bus.reg.get(), start, len)
    }
}

export_nd_core!(ProviderAbi);

/// The namespace a bound (or probing) driver reaches through `dev`: the
/// namespace itself, or the one a btt, pfn or dax device claims.
fn namespace_of_bound(dev: &Device) -> Option<crate::glue::device::DeviceRef> {
    btt_devs::namespace_of_bound(dev)
        .or_else(|| NdPfn::of(dev).or_else(|| dax_devs::of(dev)).and_then(|p| p.namespace()))
}

/// libnvdimm's side of the namespace-driver ABI (abi/namespace.rs),
/// over namespace.rs.
pub(crate) struct NamespaceDrivers;

impl NsCore for NamespaceDrivers {
    type Io = NsIo;

    fn bus() -> &'static BusType {
        &ND_BUS
    }

    fn probe(dev: &Device) -> Result<NamespaceInfo> {
        if let Some(btt) = NdBtt::of(dev) {
            return btt_devs::driver_probe(btt);
        }
        // A pfn for nd_pmem, a dax device for dax_pmem.
        if let Some(pfn) = NdPfn::of(dev).or_else(|| dax_devs::of(dev)) {
            return pfn_devs::driver_probe(pfn);
        }
        let (ns, info) = namespace::driver_probe(dev)?;
        // What C's nd_pmem_probe does before it attaches a raw disk: with
        // the start of the namespace enabled, look for a BTT, a pfn and a
        // dax info block (nd_btt_probe, nd_pfn_probe, nd_dax_probe); found,
        // a btt (pfn, dax) device now claims the namespace and this probe
        // fails with ENXIO, as C's does. A pfn or dax block that fails
        // validation with EOPNOTSUPP fails the probe with it.
        let io = NsIo::enable(ns, claim::INFO_BLOCK_RESERVE.min(ns.capacity()))?;
        if btt_devs::probe_raw(ns, &io).is_ok() {
            return Err(ENXIO);
        }
        let probes: [fn(&Namespace, &NsIo) -> Result; 2] = [pfn_devs::probe_raw_pfn, dax_devs::probe_raw];
        for probe in probes {
            match probe(ns, &io) {
                Ok(()) => return Err(ENXIO),
                Err(e) if e.to_errno() == -crate::formats::pfn::errno::EOPNOTSUPP => return Err(e),
                Err(_) => {}
            }
        }
        drop(io);
        Ok(info)
    }

    fn flush(dev: &Device) -> Result {
        namespace::driver_flush(dev)
    }

    fn flush_fua(dev: &Device, bio: PendingBio) -> FuaFlush {
        namespace::driver_flush_fua(dev, bio)
    }

    fn bad_ranges(dev: &Device, f: &mut dyn FnMut(u64, u64)) -> Result {
        let ns = namespace_of_bound(dev).ok_or(ENXIO)?;
        namespace::bad_ranges(Namespace::of(ns.device()).ok_or(ENXIO)?, f)
    }

    fn clear_poison(dev: &Device, phys: u64, len: u64) -> Result<u64> {
        let ns = namespace_of_bound(dev).ok_or(ENXIO)?;
        namespace::clear_poison(Namespace::of(ns.device()).ok_or(ENXIO)?, phys, len)
    }

    fn read_only(dev: &Device) -> bool {
        namespace::read_only(dev)
    }

    fn io_enable(dev: &Device, size: u64) -> Result<Pin<KBox<NsIo>>> {
        let ns = namespace_of_bound(dev).ok_or(ENXIO)?;
        NsIo::enable(Namespace::of(ns.device()).ok_or(ENXIO)?, size)
    }

    fn io_read(io: &NsIo, offset: u64, buf: &mut [u8]) -> Result {
        io.read(offset, buf)
    }

    fn io_write(io: &NsIo, offset: u64, buf: &[u8], atomic: bool) -> Result {
        io.write(offset, buf, atomic)
    }

    fn lanes(dev: &Device) -> Result<(&MutexArray, &Device)> {
        let region = Region::of_child(dev).ok_or(ENXIO)?;
        Ok((region.lanes(), region.device()))
    }

    fn set_btt_size(dev: &Device, size: u64) -> Result {
        NdBtt::of(dev).ok_or(ENXIO)?.set_size(size);
        Ok(())
    }
}

export_ns_core!(NamespaceDrivers);
