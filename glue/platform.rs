// SPDX-License-Identifier: GPL-2.0
//! Platform devices and drivers, for software-defined devices such as
//! nfit_test's emulated NFIT platforms.
//!
//! A [`PlatformDevice`] is created by name and id and unregistered on drop.
//! A [`PlatformDriver`] matches devices by name; its probe returns the data
//! a bound device keeps, which is dropped when the device is unbound.

use core::ffi::{c_int, c_void, CStr};
use core::ptr::{addr_of_mut, NonNull};

use kernel::error::{to_result, Error, Result};
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::ThisModule;

use super::bindings;
use super::device::Device;

/// A platform device we created (`platform_device_alloc` +
/// `platform_device_add`), named `<name>.<id>`; unregistered on drop.
pub struct PlatformDevice(NonNull<bindings::platform_device>);

// SAFETY: the handle is only passed back to the driver core, which locks
// what it changes.
unsafe impl Send for PlatformDevice {}
// SAFETY: see `Send`.
unsafe impl Sync for PlatformDevice {}

impl PlatformDevice {
    /// Creates and adds device `<name>.<id>`; a matching driver, if
    /// registered, probes it before this returns.
    pub fn register(name: &CStr, id: i32) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; the core copies it.
        let pdev = NonNull::new(unsafe { bindings::platform_device_alloc(name.as_ptr(), id) }).ok_or(ENOMEM)?;
        // SAFETY: `pdev` was just allocated and is not yet added.
        let rc = unsafe { bindings::platform_device_add(pdev.as_ptr()) };
        if rc != 0 {
            // SAFETY: a failed add leaves us the allocation's only reference.
            unsafe { bindings::platform_device_put(pdev.as_ptr()) };
            return Err(Error::from_errno(rc));
        }
        Ok(Self(pdev))
    }

    /// Its `struct device`.
    pub fn device(&self) -> &Device {
        // SAFETY: we hold the device's registration, so it is alive.
        unsafe { Device::from_raw(addr_of_mut!((*self.0.as_ptr()).dev)) }
    }
}

impl Drop for PlatformDevice {
    fn drop(&mut self) {
        // SAFETY: we added the device and drop our reference exactly once;
        // unregistering unbinds its driver first.
        unsafe { bindings::platform_device_unregister(self.0.as_ptr()) };
    }
}

/// What a platform driver does.
pub trait PlatformDriverOps: Send + Sync + Sized + 'static {
    /// What a bound device keeps; dropped when it is unbound.
    type Data: Send + Sync;

    /// Binds `dev`, the platform device with id `id`.
    fn probe(&self, dev: &Device, id: i32) -> Result<Self::Data>;
}

/// A platform driver and its state; registered by
/// [`PlatformDriver::register`].
#[repr(C)]
struct DriverInner<O: PlatformDriverOps> {
    /// First, so that the driver core's pointer leads back to `ops`.
    raw: Opaque<bindings::platform_driver>,
    ops: O,
}

impl<O: PlatformDriverOps> DriverInner<O> {
    /// The driver behind a device's `driver` pointer.
    ///
    /// # Safety
    ///
    /// `drv` is the `driver` field of a `DriverInner<O>`'s `raw`.
    unsafe fn from_driver<'a>(drv: *const bindings::device_driver) -> &'a Self {
        let off = core::mem::offset_of!(bindings::platform_driver, driver);
        // SAFETY: by the caller's promise `drv` sits at `off` inside `raw`,
        // the first field of the `#[repr(C)]` `DriverInner`.
        unsafe { &*drv.cast::<u8>().sub(off).cast::<Self>() }
    }
}

/// A registered platform driver; unregistered on drop, which unbinds the
/// devices it drives.
pub struct PlatformDriver<O: PlatformDriverOps> {
    inner: Pin<KBox<DriverInner<O>>>,
}

// SAFETY: the driver core reads the `platform_driver` under its own locks;
// `O` is `Send + Sync`.
unsafe impl<O: PlatformDriverOps> Send for PlatformDriver<O> {}
// SAFETY: see `Send`.
unsafe impl<O: PlatformDriverOps> Sync for PlatformDriver<O> {}

impl<O: PlatformDriverOps> PlatformDriver<O> {
    /// Registers driver `name` (it binds platform devices of that name),
    /// behaving as `ops`. Devices already added are probed before this
    /// returns.
    pub fn register(name: &'static CStr, ops: O, module: &'static ThisModule) -> Result<Self> {
        let raw = bindings::platform_driver {
            probe: Some(probe_raw::<O>),
            __bindgen_anon_1: bindings::platform_driver__bindgen_ty_1 { remove: Some(remove_raw::<O>) },
            driver: bindings::device_driver {
                name: name.as_ptr(),
                // SAFETY: the remaining fields are optional pointers and
                // callbacks, or filled in by the registration.
                ..unsafe { core::mem::zeroed() }
            },
            // SAFETY: as above: no id table, no PM or shutdown callbacks.
            ..unsafe { core::mem::zeroed() }
        };
        let inner = KBox::pin(DriverInner { raw: Opaque::new(raw), ops }, GFP_KERNEL)?;
        // SAFETY: `raw` is fully initialised and pinned in its box, which
        // outlives the registration (we unregister before dropping it).
        to_result(unsafe { bindings::__platform_driver_register(inner.raw.get(), module.as_ptr().cast()) })?;
        Ok(Self { inner })
    }
}

impl<O: PlatformDriverOps> Drop for PlatformDriver<O> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; afterwards no probe or remove runs.
        unsafe { bindings::platform_driver_unregister(self.inner.raw.get()) };
    }
}

/// `probe` of platform drivers of `O`.
///
/// # Safety
///
/// The driver core passes a live platform device whose `driver` is the `DriverInner<O>` we registered.
unsafe extern "C" fn probe_raw<O: PlatformDriverOps>(pdev: *mut bindings::platform_device) -> c_int {
    // SAFETY: the driver core probes a live device, with its `driver`
    // pointing into our registered `DriverInner<O>`.
    let (dev, id, ops) = unsafe {
        let dev = addr_of_mut!((*pdev).dev);
        (Device::from_raw(dev), (*pdev).id, &DriverInner::<O>::from_driver((*dev).driver).ops)
    };
    let data = match ops.probe(dev, id).and_then(|d| Ok(KBox::new(d, GFP_KERNEL)?)) {
        Ok(data) => data,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `driver_data` belongs to the bound driver, us; `remove_raw`
    // takes it back.
    unsafe { (*pdev).dev.driver_data = KBox::into_raw(data).cast::<c_void>() };
    0
}

/// `remove` of platform drivers of `O`.
///
/// # Safety
///
/// The driver core passes a live platform device that `probe_raw` bound.
unsafe extern "C" fn remove_raw<O: PlatformDriverOps>(pdev: *mut bindings::platform_device) {
    // SAFETY: the driver core unbinds a live device that `probe_raw` bound.
    let data = unsafe { core::mem::replace(&mut (*pdev).dev.driver_data, core::ptr::null_mut()) };
    if !data.is_null() {
        // SAFETY: `probe_raw` stored a `KBox<O::Data>` here.
        drop(unsafe { KBox::from_raw(data.cast::<O::Data>()) });
    }
}
