// SPDX-License-Identifier: GPL-2.0
//! Class devices that carry a Rust object, such as nfit_test's
//! /sys/class/nfit_test_dimm/test_dimmN: `device_create_with_groups` with
//! the object as drvdata, so that its attributes (`Attribute<T>`) reach it.

use core::ffi::{c_char, c_void};
use core::ptr::NonNull;

use kernel::error::{from_err_ptr, Result};
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings;
use super::bus::Class;
use super::device::Device;
use super::sysfs::GroupList;

/// An object class devices carry. Implement with [`class_device_data!`],
/// which also lets attributes of `Self` find it.
///
/// # Safety
///
/// Attribute groups of `Self` are only attached to devices created by
/// [`DataClassDevice::new`] for a `Self`.
pub unsafe trait ClassDeviceData: Send + Sync + 'static {}

/// The object `dev` carries, for attributes of `T`.
///
/// # Safety
///
/// `dev` was created by [`DataClassDevice::new`] for a `T` and is still
/// registered (sysfs callbacks only run while it is).
pub unsafe fn drvdata<T: ClassDeviceData>(dev: &Device) -> Option<&T> {
    // SAFETY: `DataClassDevice` sets drvdata to its `Arc<T>`'s object,
    // which it keeps alive until the device is unregistered.
    unsafe { dev.drvdata_raw().cast::<T>().as_ref() }
}

/// Declares that class devices carry `$ty` and that attributes of `$ty`
/// read it from their device's drvdata. Attribute groups of `$ty` must
/// then only be given to [`DataClassDevice::new`].
#[macro_export]
macro_rules! class_device_data {
    ($ty:ty) => {
        // SAFETY: the declaring module only gives groups of `$ty` to
        // `DataClassDevice::new`, as this macro requires.
        unsafe impl $crate::glue::class_device::ClassDeviceData for $ty {}

        // SAFETY: devices with attributes of `$ty` are `DataClassDevice`s
        // of `$ty` (see above), whose drvdata lives as long as their sysfs files.
        unsafe impl $crate::glue::sysfs::FromDevice for $ty {
            unsafe fn from_device(dev: &$crate::glue::device::Device) -> Option<&Self> {
                // SAFETY: see the impl.
                unsafe { $crate::glue::class_device::drvdata::<$ty>(dev) }
            }
        }
    };
}

/// A class device (no /dev node) carrying `T`, with attribute `groups`;
/// unregistered on drop, before its reference to `T` is released.
pub struct DataClassDevice<T: ClassDeviceData> {
    dev: NonNull<bindings::device>,
    // Dropped after `Drop::drop` has removed the attributes that read it.
    _data: Arc<T>,
}

// SAFETY: the device is only passed back to the driver core; `T` is `Send + Sync`.
unsafe impl<T: ClassDeviceData> Send for DataClassDevice<T> {}
// SAFETY: see `Send`.
unsafe impl<T: ClassDeviceData> Sync for DataClassDevice<T> {}

impl<T: ClassDeviceData> DataClassDevice<T> {
    /// Creates `name` in `class` under `parent`, carrying `data` and
    /// `groups` (attributes of `T`).
    pub fn new(
        class: &'static Class,
        parent: &Device,
        data: Arc<T>,
        groups: &'static GroupList,
        name: core::fmt::Arguments<'_>,
    ) -> Result<Self> {
        let obj = &*data as *const T as *mut c_void;
        // SAFETY: `class` is registered while devices exist in it (its
        // owner unregisters it after them); `parent` is live; `obj` stays
        // valid until `drop` unregisters the device; `%pA` reads `name`
        // during the call only.
        let dev = unsafe {
            bindings::device_create_with_groups(
                class.as_raw(),
                parent.as_raw(),
                0,
                obj,
                groups.as_raw(),
                c"%pA".as_ptr() as *const c_char,
                &name as *const _ as *const c_void,
            )
        };
        // `device_create_with_groups` returns a device or an error pointer.
        let dev = from_err_ptr(dev)?;
        Ok(Self { dev: NonNull::new(dev).ok_or(ENOMEM)?, _data: data })
    }
}

impl<T: ClassDeviceData> Drop for DataClassDevice<T> {
    fn drop(&mut self) {
        // SAFETY: we created the device and hold its registration; once
        // this returns its attributes no longer run.
        unsafe { bindings::device_unregister(self.dev.as_ptr()) };
    }
}
