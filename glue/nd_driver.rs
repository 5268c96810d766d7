// SPDX-License-Identifier: GPL-2.0
//! Drivers of the nd bus (`struct nd_device_driver` in C): a device driver
//! plus the mask of nd device types it binds to.
//!
//! The layout is C ABI because drivers in other modules (nd_pmem, nd_btt,
//! dax_pmem) register with libnvdimm's bus, through
//! [`NdDriver::register_external`] and abi/namespace.rs.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_uint, CStr};
use core::pin::Pin;

use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::ThisModule;

use super::bindings;
use super::bus::{BusType, Driver};
use super::device::Device;

/// The nd device types of C's ABI (`ND_DEVICE_*`), as bits of a driver's
/// type mask and in modaliases.
pub mod nd_device {
    use super::bindings;
    /// Label-less namespace.
    pub const NAMESPACE_IO: u32 = bindings::ND_DEVICE_NAMESPACE_IO;
    /// Labeled pmem namespace.
    pub const NAMESPACE_PMEM: u32 = bindings::ND_DEVICE_NAMESPACE_PMEM;
    /// Device-dax personality of a pmem namespace (daxN.M).
    pub const DAX_PMEM: u32 = bindings::ND_DEVICE_DAX_PMEM;
}

/// What a driver of the nd bus does.
pub trait NdDriverOps {
    /// Binds to `dev`.
    fn probe(dev: &Device) -> Result;
    /// Unbinds from `dev`.
    fn remove(dev: &Device);
}

/// Events libnvdimm sends to the driver bound to a namespace
/// (`enum nvdimm_event`, delivered by `nd_device_notify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NdEvent {
    /// The bus's list of bad ranges changed (after ARS or a clear).
    RevalidatePoison,
    /// The region's read-only state changed.
    RevalidateRegion,
}

impl NdEvent {
    fn from_raw(event: c_uint) -> Option<Self> {
        match event {
            bindings::nvdimm_event_NVDIMM_REVALIDATE_POISON => Some(Self::RevalidatePoison),
            bindings::nvdimm_event_NVDIMM_REVALIDATE_REGION => Some(Self::RevalidateRegion),
            _ => None,
        }
    }

    fn to_raw(self) -> c_uint {
        match self {
            Self::RevalidatePoison => bindings::nvdimm_event_NVDIMM_REVALIDATE_POISON,
            Self::RevalidateRegion => bindings::nvdimm_event_NVDIMM_REVALIDATE_REGION,
        }
    }
}

/// A driver of the nd bus that keeps state per bound device (C's drvdata):
/// probe returns it, and the glue hands it back to `notify`, `shutdown` and
/// `remove`, then drops it once `remove` returns.
pub trait NdBoundDriver {
    /// What a binding owns.
    type Data: Send + Sync + 'static;
    /// Binds to `dev`.
    fn probe(dev: &Device) -> Result<Pin<KBox<Self::Data>>>;
    /// Unbinds from `dev`; `data` is dropped afterwards.
    fn remove(_dev: &Device, _data: &Self::Data) {}
    /// An event from libnvdimm, under the device lock.
    fn notify(_dev: &Device, _data: &Self::Data, _event: NdEvent) {}
    /// The system is going down.
    fn shutdown(_dev: &Device, _data: &Self::Data) {}
}

/// A device its nd driver is probing, lent to [`NdDevmDriver::probe`]:
/// resources put on it with devm (glue/dax_region.rs) stay until the
/// driver unbinds, so at least as long as this borrow.
///
/// # Invariants
///
/// `dev` is being probed by a driver of the nd bus, under its device lock,
/// for the whole lifetime `'a`: nothing can unbind it (and release its devm
/// resources) before `'a` ends.
pub struct Probing<'a> {
    dev: &'a Device,
}

impl<'a> Probing<'a> {
    /// The device.
    pub fn device(&self) -> &'a Device {
        self.dev
    }
}

/// A driver of the nd bus that keeps its state in devm resources of the
/// device it binds, and nothing in drvdata (C's dax_pmem: the dax core
/// stores its region in the parent's drvdata, `alloc_dax_region`). Its
/// resources go, in reverse order, when the driver core unbinds it.
pub trait NdDevmDriver {
    /// Binds to `dev`.
    fn probe(dev: &Probing<'_>) -> Result;
}

/// A driver of the nd bus, defined as a static.
#[repr(C)]
pub struct NdDriver {
    drv: UnsafeCell<bindings::device_driver>,
    /// Bit N set: binds devices of nd type N (ND_DRIVER_* in C).
    pub type_mask: u64,
    probe: unsafe extern "C" fn(*mut bindings::device) -> c_int,
    remove: unsafe extern "C" fn(*mut bindings::device),
    notify: Option<unsafe extern "C" fn(*mut bindings::device, c_uint)>,
    shutdown: Option<unsafe extern "C" fn(*mut bindings::device)>,
}

// SAFETY: the driver core owns `drv` after registration and serialises its
// changes; the other fields are read-only.
unsafe impl Sync for NdDriver {}

impl NdDriver {
    /// A driver named `name` for nd device types in `type_mask`.
    pub const fn new<O: NdDriverOps>(name: &'static CStr, type_mask: u64) -> Self {
        Self::build::<O>(name, type_mask, false)
    }

    /// The same, without `bind`/`unbind` files in sysfs: for drivers that
    /// must stay bound while their device exists (nd_bus).
    pub const fn new_unbindable<O: NdDriverOps>(name: &'static CStr, type_mask: u64) -> Self {
        Self::build::<O>(name, type_mask, true)
    }

    /// A driver with per-device state, for nd device types in `type_mask`.
    pub const fn new_bound<O: NdBoundDriver>(name: &'static CStr, type_mask: u64) -> Self {
        Self {
            drv: UnsafeCell::new(Self::raw_driver(name, false)),
            type_mask,
            probe: bound_probe_raw::<O>,
            remove: bound_remove_raw::<O>,
            notify: Some(bound_notify_raw::<O>),
            shutdown: Some(bound_shutdown_raw::<O>),
        }
    }

    /// A driver whose bindings live in devm resources, for nd device types
    /// in `type_mask`.
    pub const fn new_devm<O: NdDevmDriver>(name: &'static CStr, type_mask: u64) -> Self {
        Self {
            drv: UnsafeCell::new(Self::raw_driver(name, false)),
            type_mask,
            probe: devm_probe_raw::<O>,
            remove: devm_remove_raw,
            notify: None,
            shutdown: None,
        }
    }

    const fn raw_driver(name: &'static CStr, suppress_bind_attrs: bool) -> bindings::device_driver {
        bindings::device_driver {
            name: name.as_ptr(),
            suppress_bind_attrs,
            // SAFETY: every other field is optional or owned by the core.
            ..unsafe { core::mem::zeroed() }
        }
    }

    const fn build<O: NdDriverOps>(name: &'static CStr, type_mask: u64, suppress_bind_attrs: bool) -> Self {
        Self {
            drv: UnsafeCell::new(Self::raw_driver(name, suppress_bind_attrs)),
            type_mask,
            probe: probe_raw::<O>,
            remove: remove_raw::<O>,
            notify: None,
            shutdown: None,
        }
    }

    /// Registers with `bus`; unregistered when the token drops.
    pub fn register(&'static self, bus: &'static BusType, module: &'static ThisModule) -> Result<NdDriverRegistration> {
        // SAFETY: `module` is a live module that outlives its drivers.
        unsafe { self.register_for(bus, module.as_ptr().cast()) }
    }

    /// [`NdDriver::register`] with the owner as C passes it.
    ///
    /// # Safety
    ///
    /// `owner` is the live module defining `self`, and stays loaded while
    /// the driver is registered.
    pub unsafe fn register_for(&'static self, bus: &'static BusType, owner: *mut bindings::module) -> Result<NdDriverRegistration> {
        // As `__nd_driver_register`: a driver must say what it binds.
        if self.type_mask == 0 {
            return Err(EINVAL);
        }
        // SAFETY: not yet visible to the driver core, so we may write it.
        unsafe {
            let drv = &mut *self.drv.get();
            drv.bus = bus.as_raw();
            drv.owner = owner;
            drv.mod_name = core::ptr::null();
        }
        // SAFETY: `drv` is a static with bus and name set.
        to_result(unsafe { bindings::driver_register(self.drv.get()) })?;
        Ok(NdDriverRegistration(self))
    }

    /// The nd driver behind `drv`.
    ///
    /// Every driver on the nd bus is registered through [`NdDriver::register`],
    /// so this is only to be used by the nd bus on its own drivers.
    pub fn of(drv: &Driver) -> &NdDriver {
        // SAFETY: `drv` is the first field of a `#[repr(C)]` `NdDriver`
        // (see above); a `Driver` is a transparent `device_driver`, and the
        // `UnsafeCell` does not change the layout.
        unsafe { &*(drv.as_raw() as *const NdDriver) }
    }

    /// Runs the driver's probe on `dev`.
    pub fn probe(&self, dev: &Device) -> Result {
        // SAFETY: `probe` is `probe_raw::<O>`, which takes a live device.
        to_result(unsafe { (self.probe)(dev.as_raw()) })
    }

    /// Runs the driver's remove on `dev`.
    pub fn remove(&self, dev: &Device) {
        // SAFETY: `remove` is `remove_raw::<O>`, which takes a live device.
        unsafe { (self.remove)(dev.as_raw()) }
    }

    /// Delivers `event` to the driver bound to `dev` (`nd_device_notify`);
    /// the caller holds the device lock and `dev` is bound to `self`.
    pub fn notify(&self, dev: &Device, event: NdEvent) {
        if let Some(notify) = self.notify {
            // SAFETY: `notify` is `bound_notify_raw::<O>`; `dev` is bound to
            // this driver (the caller's contract), so its drvdata is ours.
            unsafe { notify(dev.as_raw(), event.to_raw()) }
        }
    }

    /// Runs the driver's shutdown on `dev`, which is bound to `self`.
    pub fn shutdown(&self, dev: &Device) {
        if let Some(shutdown) = self.shutdown {
            // SAFETY: as in `notify`.
            unsafe { shutdown(dev.as_raw()) }
        }
    }
}

impl NdDriverRegistration {
    /// Keeps the driver registered after the token is gone, for a driver
    /// registered on behalf of another module, which unregisters it with
    /// [`NdDriverRegistration::from_registered`].
    pub fn leak(self) {
        core::mem::forget(self);
    }

    /// The token of a driver that was registered and [`leak`]ed.
    ///
    /// # Safety
    ///
    /// `drv` was registered and its token leaked; nobody else recreates it.
    ///
    /// [`leak`]: NdDriverRegistration::leak
    pub unsafe fn from_registered(drv: &'static NdDriver) -> Self {
        Self(drv)
    }
}

/// The state `bound_probe_raw` stored in the device's drvdata.
///
/// # Safety
///
/// `dev` is bound to a driver built by `NdDriver::new_bound::<O>`, between
/// its probe and the end of its remove.
unsafe fn bound_data<'a, O: NdBoundDriver>(dev: &'a Device) -> Option<&'a O::Data> {
    // SAFETY: the caller guarantees the drvdata is the pointer our probe
    // stored, which stays valid until our remove frees it.
    unsafe { (dev.drvdata_raw() as *const O::Data).as_ref() }
}

/// `probe` of nd drivers of `O` that keep per-device data.
///
/// # Safety
///
/// The nd bus calls it with a live, locked device being bound to this driver.
unsafe extern "C" fn bound_probe_raw<O: NdBoundDriver>(dev: *mut bindings::device) -> c_int {
    // SAFETY: called by the nd bus's probe with a live, locked device.
    let dev_ref = unsafe { Device::from_raw(dev) };
    match O::probe(dev_ref) {
        Ok(data) => {
            // SAFETY: `remove` turns this back into the box; the data never
            // moves while it is pinned there.
            let ptr = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
            // SAFETY: `dev` is live and being bound to us; drvdata is the
            // driver's to set.
            unsafe { (*dev).driver_data = ptr.cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `remove` of nd drivers of `O`: drops the data `bound_probe_raw` stored.
///
/// # Safety
///
/// The nd bus calls it with a live, locked device this driver bound.
unsafe extern "C" fn bound_remove_raw<O: NdBoundDriver>(dev: *mut bindings::device) {
    // SAFETY: called by the nd bus's remove with a live, locked device that
    // our probe bound.
    let dev_ref = unsafe { Device::from_raw(dev) };
    // SAFETY: probe succeeded, so drvdata is our box.
    let data = unsafe { (*dev).driver_data as *mut O::Data };
    if data.is_null() {
        return;
    }
    // SAFETY: see above; the pointer is ours until freed here.
    O::remove(dev_ref, unsafe { &*data });
    // SAFETY: as above; cleared first so nothing finds it afterwards.
    unsafe {
        (*dev).driver_data = core::ptr::null_mut();
        drop(KBox::from_raw(data));
    }
}

/// `notify` of nd drivers of `O`.
///
/// # Safety
///
/// `dev` is live, locked and bound to this driver (`NdDriver::notify`'s contract).
unsafe extern "C" fn bound_notify_raw<O: NdBoundDriver>(dev: *mut bindings::device, event: c_uint) {
    // SAFETY: `NdDriver::notify`'s contract: `dev` is live, locked and bound
    // to this driver.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: see above.
    let (Some(data), Some(event)) = (unsafe { bound_data::<O>(dev) }, NdEvent::from_raw(event)) else {
        return;
    };
    O::notify(dev, data, event);
}

/// `shutdown` of nd drivers of `O`.
///
/// # Safety
///
/// `dev` is live and bound to this driver.
unsafe extern "C" fn bound_shutdown_raw<O: NdBoundDriver>(dev: *mut bindings::device) {
    // SAFETY: as in `bound_notify_raw`.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: see above.
    if let Some(data) = unsafe { bound_data::<O>(dev) } {
        O::shutdown(dev, data);
    }
}

/// `probe` of nd drivers of `O` that keep their state in devm resources.
///
/// # Safety
///
/// The nd bus calls it with a live, locked device being bound to this driver.
unsafe extern "C" fn devm_probe_raw<O: NdDevmDriver>(dev: *mut bindings::device) -> c_int {
    // SAFETY: called by the nd bus's probe with a live, locked device.
    let dev = unsafe { Device::from_raw(dev) };
    // INVARIANT: the driver core holds the device lock during the probe,
    // and the borrow ends with this call.
    match O::probe(&Probing { dev }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `remove` of nd drivers that keep their state in devm resources: nothing
/// to do; the driver core releases the resources after it (C's dax_pmem
/// has no remove).
///
/// # Safety
///
/// The nd bus calls it with a live, locked device this driver bound.
unsafe extern "C" fn devm_remove_raw(_dev: *mut bindings::device) {}

/// `probe` of nd drivers of `O`.
///
/// # Safety
///
/// The nd bus calls it with a live, locked device being bound to this driver.
unsafe extern "C" fn probe_raw<O: NdDriverOps>(dev: *mut bindings::device) -> c_int {
    // SAFETY: called by the nd bus's probe with a live, locked device.
    match O::probe(unsafe { Device::from_raw(dev) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `remove` of nd drivers of `O`.
///
/// # Safety
///
/// The nd bus calls it with a live, locked device this driver bound.
unsafe extern "C" fn remove_raw<O: NdDriverOps>(dev: *mut bindings::device) {
    // SAFETY: called by the nd bus's remove with a live, locked device.
    O::remove(unsafe { Device::from_raw(dev) })
}

/// A registered nd driver; unregistered on drop.
pub struct NdDriverRegistration(&'static NdDriver);

impl Drop for NdDriverRegistration {
    fn drop(&mut self) {
        // SAFETY: we registered it.
        unsafe { bindings::driver_unregister(self.0.drv.get()) };
    }
}
