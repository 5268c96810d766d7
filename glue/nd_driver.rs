// SPDX-License-Identifier: GPL-2.0
//! Drivers of the nd bus (`struct nd_device_driver` in C): a device driver
//! plus the mask of nd device types it binds to.
//!
//! The layout is C ABI because drivers in other modules (nd_pmem, nd_btt,
//! dax_pmem) register with libnvdimm's bus.

use core::cell::UnsafeCell;
use core::ffi::{c_int, CStr};

use kernel::error::{to_result, Result};
use kernel::ThisModule;

use super::bindings;
use super::bus::{BusType, Driver};
use super::device::Device;

/// What a driver of the nd bus does.
pub trait NdDriverOps {
    /// Binds to `dev`.
    fn probe(dev: &Device) -> Result;
    /// Unbinds from `dev`.
    fn remove(dev: &Device);
}

/// A driver of the nd bus, defined as a static.
#[repr(C)]
pub struct NdDriver {
    drv: UnsafeCell<bindings::device_driver>,
    /// Bit N set: binds devices of nd type N (ND_DRIVER_* in C).
    pub type_mask: u64,
    probe: unsafe extern "C" fn(*mut bindings::device) -> c_int,
    remove: unsafe extern "C" fn(*mut bindings::device),
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

    const fn build<O: NdDriverOps>(name: &'static CStr, type_mask: u64, suppress_bind_attrs: bool) -> Self {
        Self {
            drv: UnsafeCell::new(bindings::device_driver {
                name: name.as_ptr(),
                suppress_bind_attrs,
                // SAFETY: every other field is optional or owned by the core.
                ..unsafe { core::mem::zeroed() }
            }),
            type_mask,
            probe: probe_raw::<O>,
            remove: remove_raw::<O>,
        }
    }

    /// Registers with `bus`; unregistered when the token drops.
    pub fn register(&'static self, bus: &'static BusType, module: &'static ThisModule) -> Result<NdDriverRegistration> {
        // SAFETY: not yet visible to the driver core, so we may write it.
        unsafe {
            let drv = &mut *self.drv.get();
            drv.bus = bus.as_raw();
            drv.owner = module.as_ptr().cast();
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
}

unsafe extern "C" fn probe_raw<O: NdDriverOps>(dev: *mut bindings::device) -> c_int {
    // SAFETY: called by the nd bus's probe with a live, locked device.
    match O::probe(unsafe { Device::from_raw(dev) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

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
