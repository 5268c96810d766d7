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
use super::sysfs::{FromDevice, GroupList, Lookup};

/// The lookup of objects that class devices carry: the device's drvdata,
/// which [`DataClassDevice::new`] sets to the object.
pub struct ClassData;

// SAFETY: groups of `T: FromDevice<Lookup = ClassData>` are only attached
// by `DataClassDevice::new`, which sets the drvdata to a `T` that it keeps
// alive until the device (and so its attributes) is unregistered.
unsafe impl<T: FromDevice<Lookup = ClassData>> Lookup<T> for ClassData {
    unsafe fn find(dev: &Device) -> Option<&T> {
        // SAFETY: see the impl.
        unsafe { dev.drvdata_raw().cast::<T>().as_ref() }
    }
}

/// Declares that class devices carry `$ty` and that attributes of `$ty`
/// read it from their device's drvdata ([`DataClassDevice::new`]).
/// Expands to a safe impl only.
#[macro_export]
macro_rules! class_device_data {
    ($ty:ty) => {
        impl $crate::glue::sysfs::FromDevice for $ty {
            type Lookup = $crate::glue::class_device::ClassData;
        }
    };
}

/// A class device (no /dev node) carrying `T`, with attribute `groups`;
/// unregistered on drop, before its reference to `T` is released.
pub struct DataClassDevice<T: FromDevice<Lookup = ClassData> + Send> {
    dev: NonNull<bindings::device>,
    // Dropped after `Drop::drop` has removed the attributes that read it.
    _data: Arc<T>,
}

// SAFETY: the device is only passed back to the driver core; `T` is `Send + Sync`.
unsafe impl<T: FromDevice<Lookup = ClassData> + Send> Send for DataClassDevice<T> {}
// SAFETY: see `Send`.
unsafe impl<T: FromDevice<Lookup = ClassData> + Send> Sync for DataClassDevice<T> {}

impl<T: FromDevice<Lookup = ClassData> + Send> DataClassDevice<T> {
    /// Creates `name` in `class` under `parent`, carrying `data` and
    /// `groups` (attributes of `T`).
    pub fn new(
        class: &'static Class,
        parent: &Device,
        data: Arc<T>,
        groups: &'static GroupList<T>,
        name: core::fmt::Arguments<'_>,
    ) -> Result<Self> {
        // INVARIANT: the drvdata `ClassData` finds is this `T`, kept in `_data`.
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

impl<T: FromDevice<Lookup = ClassData> + Send> Drop for DataClassDevice<T> {
    fn drop(&mut self) {
        // SAFETY: we created the device and hold its registration; once
        // this returns its attributes no longer run.
        unsafe { bindings::device_unregister(self.dev.as_ptr()) };
    }
}
