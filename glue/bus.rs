// SPDX-License-Identifier: GPL-2.0
//! Bus types, drivers and classes.
//!
//! A bus is described by a [`BusOps`] implementation; the glue turns it into
//! the C callback table. Registration lasts as long as the returned token.

use core::ffi::{c_int, CStr};

use kernel::error::{to_result, Result};

use super::bindings;
use super::device::Device;
use super::sysfs::{GroupList, NoObject};

/// A uevent environment being filled (`struct kobj_uevent_env`).
pub struct UeventEnv(*mut bindings::kobj_uevent_env);

impl UeventEnv {
    /// Adds `KEY=value` (`add_uevent_var`).
    pub fn add(&mut self, args: core::fmt::Arguments<'_>) -> Result {
        // SAFETY: the env is live during the uevent callback we were created
        // in; %pA reads `args` during the call only.
        to_result(unsafe {
            bindings::add_uevent_var(self.0, c"%pA".as_ptr(), &args as *const _ as *const core::ffi::c_void)
        })
    }
}

/// A driver on a bus: borrowed `struct device_driver`.
#[repr(transparent)]
pub struct Driver(bindings::device_driver);

impl Driver {
    /// The raw pointer, for `container_of` by the bus that owns the driver.
    pub fn as_raw(&self) -> *const bindings::device_driver {
        &self.0
    }
}

/// The behaviour of a bus.
pub trait BusOps {
    /// Whether `drv` can drive `dev`.
    fn match_driver(dev: &Device, drv: &Driver) -> bool;
    /// Adds uevent variables (MODALIAS, ...).
    fn uevent(dev: &Device, env: &mut UeventEnv) -> Result;
    /// Binds the matched driver.
    fn probe(dev: &Device) -> Result;
    /// Unbinds it.
    fn remove(dev: &Device);
    /// The system is going down with `dev` bound.
    fn shutdown(_dev: &Device) {}
}

/// A bus type, defined as a static and registered by [`BusType::register`].
#[repr(transparent)]
pub struct BusType(bindings::bus_type);

// SAFETY: the driver core only reads a `bus_type`; it holds pointers to
// statics and functions only.
unsafe impl Sync for BusType {}

impl BusType {
    /// A bus named `name` behaving as `O`, whose devices all carry `dev_groups`.
    pub const fn new<O: BusOps>(name: &'static CStr, dev_groups: &'static GroupList<NoObject>) -> Self {
        Self(bindings::bus_type {
            name: name.as_ptr(),
            dev_groups: dev_groups.as_raw(),
            match_: Some(bus_match::<O>),
            uevent: Some(bus_uevent::<O>),
            probe: Some(bus_probe::<O>),
            remove: Some(bus_remove::<O>),
            shutdown: Some(bus_shutdown::<O>),
            // SAFETY: every other field is an optional pointer or callback.
            ..unsafe { core::mem::zeroed() }
        })
    }

    /// The raw pointer, for C.
    pub fn as_raw(&'static self) -> *const bindings::bus_type {
        &self.0
    }

    /// `bus_register`; unregistered when the token drops.
    pub fn register(&'static self) -> Result<BusRegistration> {
        // SAFETY: `self` is a static, valid for the registration's lifetime.
        to_result(unsafe { bindings::bus_register(self.as_raw()) })?;
        Ok(BusRegistration(self))
    }

    /// Finds the first device on the bus for which `pred` holds and runs
    /// `f` on it while a reference is held.
    pub fn find_device<R>(
        &'static self,
        mut pred: impl FnMut(&Device) -> bool,
        f: impl FnOnce(&Device) -> R,
    ) -> Option<R> {
        /// `bus_find_device` callback: runs the predicate.
        ///
        /// # Safety
        ///
        /// `data` is the `&mut dyn FnMut` of `find_device`, live for the search; `dev` is a live device of the bus.
        unsafe extern "C" fn matches(dev: *mut bindings::device, data: *const core::ffi::c_void) -> c_int {
            // SAFETY: `data` is the `&mut dyn FnMut` passed below, live for
            // the whole search.
            let pred = unsafe { &mut *(data as *mut &mut dyn FnMut(&Device) -> bool) };
            // SAFETY: the driver core holds a reference on `dev` while matching.
            pred(unsafe { Device::from_raw(dev) }) as c_int
        }
        let mut pred: &mut dyn FnMut(&Device) -> bool = &mut pred;
        // SAFETY: the bus is registered; the callback uses `data` only
        // during the call.
        let dev = unsafe {
            bindings::bus_find_device(
                self.as_raw(),
                core::ptr::null_mut(),
                (&mut pred as *mut &mut dyn FnMut(&Device) -> bool).cast(),
                Some(matches),
            )
        };
        if dev.is_null() {
            return None;
        }
        // SAFETY: `bus_find_device` returned a device with a reference we
        // now own; we drop it after `f`.
        let r = f(unsafe { Device::from_raw(dev) });
        // SAFETY: releases the reference `bus_find_device` took.
        unsafe { bindings::put_device(dev) };
        Some(r)
    }
}

/// A registered bus; unregistered on drop.
pub struct BusRegistration(&'static BusType);

impl Drop for BusRegistration {
    fn drop(&mut self) {
        // SAFETY: we registered it.
        unsafe { bindings::bus_unregister(self.0.as_raw()) };
    }
}

/// `match` of the bus type: whether `drv` binds `dev`.
///
/// # Safety
///
/// The driver core passes a live device and a driver registered on this bus.
unsafe extern "C" fn bus_match<O: BusOps>(
    dev: *mut bindings::device,
    drv: *const bindings::device_driver,
) -> c_int {
    // SAFETY: the driver core passes a live device and a registered driver.
    let (dev, drv) = unsafe { (Device::from_raw(dev), &*(drv as *const Driver)) };
    O::match_driver(dev, drv) as c_int
}

/// `uevent` of the bus type: adds the bus's variables to `env`.
///
/// # Safety
///
/// The driver core passes a live device and the environment being built for it.
unsafe extern "C" fn bus_uevent<O: BusOps>(
    dev: *const bindings::device,
    env: *mut bindings::kobj_uevent_env,
) -> c_int {
    // SAFETY: the driver core passes a live device; we only read through it.
    let dev = unsafe { Device::from_raw(dev as *mut _) };
    match O::uevent(dev, &mut UeventEnv(env)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `probe` of the bus type.
///
/// # Safety
///
/// The driver core passes a live device, locked, with `driver` set.
unsafe extern "C" fn bus_probe<O: BusOps>(dev: *mut bindings::device) -> c_int {
    // SAFETY: called with the device locked and live.
    match O::probe(unsafe { Device::from_raw(dev) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `remove` of the bus type.
///
/// # Safety
///
/// The driver core passes a live, locked device that was probed.
unsafe extern "C" fn bus_remove<O: BusOps>(dev: *mut bindings::device) {
    // SAFETY: called with the device locked and live.
    O::remove(unsafe { Device::from_raw(dev) })
}

/// `shutdown` of the bus type.
///
/// # Safety
///
/// The driver core passes a live device during system shutdown.
unsafe extern "C" fn bus_shutdown<O: BusOps>(dev: *mut bindings::device) {
    // SAFETY: called on a live device during system shutdown.
    O::shutdown(unsafe { Device::from_raw(dev) })
}

/// A device class (`struct class`), such as "nd".
#[repr(transparent)]
pub struct Class(bindings::class);

// SAFETY: the driver core only reads a `class` after registration.
unsafe impl Sync for Class {}

impl Class {
    /// A class named `name`.
    pub const fn new(name: &'static CStr) -> Self {
        Self(bindings::class {
            name: name.as_ptr(),
            // SAFETY: every other field is an optional pointer or callback.
            ..unsafe { core::mem::zeroed() }
        })
    }

    /// The raw pointer, for C.
    pub fn as_raw(&'static self) -> *const bindings::class {
        &self.0
    }

    /// `class_register`; unregistered when the token drops.
    pub fn register(&'static self) -> Result<ClassRegistration> {
        // SAFETY: `self` is a static.
        to_result(unsafe { bindings::class_register(self.as_raw()) })?;
        Ok(ClassRegistration(self))
    }
}

/// A registered class; unregistered on drop.
pub struct ClassRegistration(&'static Class);

impl Drop for ClassRegistration {
    fn drop(&mut self) {
        // SAFETY: we registered it.
        unsafe { bindings::class_unregister(self.0.as_raw()) };
    }
}
