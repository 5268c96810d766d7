// SPDX-License-Identifier: GPL-2.0
//! ACPI: a driver for ACPI devices by hardware id, firmware tables, and
//! evaluation of device methods (_DSM, _FIT, _LSI/_LSR/_LSW).

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::NonNull;

use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::ThisModule;

use super::bindings;
use super::device::Device;

/// A borrowed `struct acpi_device`.
#[repr(transparent)]
pub struct AcpiDevice(bindings::acpi_device);

impl AcpiDevice {
    /// # Safety
    ///
    /// `ptr` is a live ACPI device for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::acpi_device) -> &'a AcpiDevice {
        // SAFETY: transparent wrapper; validity from the caller.
        unsafe { &*(ptr as *const AcpiDevice) }
    }

    fn as_raw(&self) -> *mut bindings::acpi_device {
        &self.0 as *const _ as *mut _
    }

    /// Its `struct device`.
    pub fn device(&self) -> &Device {
        // SAFETY: `dev` is embedded in the live ACPI device.
        unsafe { Device::from_raw(&self.0.dev as *const _ as *mut _) }
    }

    /// Its namespace handle.
    pub fn handle(&self) -> Handle {
        Handle(self.0.handle)
    }

    /// The child whose _ADR is `adr` (`acpi_find_child_device`).
    pub fn child_by_adr(&self, adr: u64) -> Option<&AcpiDevice> {
        // SAFETY: `self` is live; children live as long as their parent.
        let child = unsafe { bindings::acpi_find_child_device(self.as_raw(), adr, false) };
        // SAFETY: see above.
        NonNull::new(child).map(|c| unsafe { AcpiDevice::from_raw(c.as_ptr()) })
    }
}

/// An ACPI namespace handle.
#[derive(Clone, Copy)]
pub struct Handle(bindings::acpi_handle);

// SAFETY: ACPI handles are opaque references to namespace nodes that stay
// valid while their device exists; ACPICA serialises evaluation itself.
unsafe impl Send for Handle {}
// SAFETY: see `Send`.
unsafe impl Sync for Handle {}

/// `ACPI_TYPE_BUFFER`, `ACPI_TYPE_PACKAGE`, `ACPI_TYPE_INTEGER`.
const TYPE_INTEGER: u32 = 1;
const TYPE_BUFFER: u32 = 3;
const TYPE_PACKAGE: u32 = 4;

/// What a method returned.
pub enum Value {
    /// A buffer, copied.
    Buffer(KVec<u8>),
    /// A package of integers (e.g. _LSI), copied.
    Integers(KVec<u64>),
    /// Anything else: its ACPI type.
    Other(u32),
}

impl Handle {
    /// Whether _DSM `guid`/`rev` implements every function in `funcs`.
    pub fn check_dsm(&self, guid: &[u8; 16], rev: u64, funcs: u64) -> bool {
        // SAFETY: `guid` is a 16-byte `guid_t` in memory order.
        unsafe { bindings::acpi_check_dsm(self.0, guid.as_ptr().cast(), rev, funcs) }
    }

    /// Whether the device has a method `name` (e.g. c"_LSW").
    pub fn has_method(&self, name: &CStr) -> bool {
        // SAFETY: `name` is NUL-terminated; ACPICA only reads it.
        unsafe { bindings::acpi_has_method(self.0, name.as_ptr() as *mut _) }
    }

    /// Evaluates _DSM `guid`/`rev` function `func` with one buffer argument.
    /// `None` when the evaluation failed.
    pub fn evaluate_dsm(&self, guid: &[u8; 16], rev: u64, func: u64, input: &[u8]) -> Option<Value> {
        let mut buf = bindings::acpi_object::default();
        let mut pkg = bindings::acpi_object::default();
        // SAFETY: we fill the union members we set the types of; the
        // package points at `buf` and `buf` at `input`, all outliving the call
        // (ACPICA only reads arguments).
        let out = unsafe {
            buf.buffer.type_ = TYPE_BUFFER;
            buf.buffer.length = input.len() as u32;
            buf.buffer.pointer = input.as_ptr() as *mut u8;
            pkg.package.type_ = TYPE_PACKAGE;
            pkg.package.count = 1;
            pkg.package.elements = &mut buf;
            bindings::rln_acpi_evaluate_dsm(self.0, guid.as_ptr().cast(), rev, func, &mut pkg)
        };
        // SAFETY: a non-null result is an object ACPICA allocated for us.
        unsafe { take_object(out) }
    }

    /// Evaluates method `name` with integer arguments (at most 4).
    pub fn evaluate(&self, name: &CStr, args: &[u64]) -> Option<Value> {
        let mut objs = [bindings::acpi_object::default(); 4];
        let n = args.len().min(4);
        for (o, &a) in objs.iter_mut().zip(args) {
            o.integer.type_ = TYPE_INTEGER;
            o.integer.value = a;
        }
        self.evaluate_objects(name, &mut objs[..n])
    }

    /// Evaluates `name` with two integers and a buffer (_LSW's arguments).
    pub fn evaluate_with_buffer(&self, name: &CStr, a: u64, b: u64, data: &[u8]) -> Option<Value> {
        let mut objs = [bindings::acpi_object::default(); 3];
        objs[0].integer.type_ = TYPE_INTEGER;
        objs[0].integer.value = a;
        objs[1].integer.type_ = TYPE_INTEGER;
        objs[1].integer.value = b;
        // `data` outlives the evaluation and ACPICA only reads it.
        objs[2].buffer.type_ = TYPE_BUFFER;
        objs[2].buffer.length = data.len() as u32;
        objs[2].buffer.pointer = data.as_ptr() as *mut u8;
        self.evaluate_objects(name, &mut objs)
    }

    fn evaluate_objects(&self, name: &CStr, objs: &mut [bindings::acpi_object]) -> Option<Value> {
        let mut list = bindings::acpi_object_list { count: objs.len() as u32, pointer: objs.as_mut_ptr() };
        // ACPI_ALLOCATE_BUFFER, a cast macro bindgen cannot evaluate.
        let mut out = bindings::acpi_buffer { length: u64::MAX as _, pointer: core::ptr::null_mut() };
        // SAFETY: arguments live across the call; ACPICA allocates `out`.
        let status = unsafe { bindings::acpi_evaluate_object(self.0, name.as_ptr() as *mut _, &mut list, &mut out) };
        if status != 0 {
            return None;
        }
        // SAFETY: on success `out.pointer` is an object ACPICA allocated.
        unsafe { take_object(out.pointer.cast()) }
    }
}

/// Copies an ACPI result object and frees it.
///
/// # Safety
///
/// `obj` is null or an object allocated by ACPICA that we own.
unsafe fn take_object(obj: *mut bindings::acpi_object) -> Option<Value> {
    if obj.is_null() {
        return None;
    }
    // SAFETY: per the contract `obj` is a valid object; its type tag says
    // which union member is live.
    let value = unsafe {
        match (*obj).type_ {
            TYPE_BUFFER => {
                let b = &(*obj).buffer;
                let data = core::slice::from_raw_parts(b.pointer, b.length as usize);
                let mut v = KVec::new();
                v.extend_from_slice(data, GFP_KERNEL).ok().map(|()| Value::Buffer(v))
            }
            TYPE_PACKAGE => {
                let p = &(*obj).package;
                let elems = core::slice::from_raw_parts(p.elements, p.count as usize);
                let mut v = KVec::new();
                let mut ok = true;
                for e in elems {
                    if e.type_ != TYPE_INTEGER || v.push(e.integer.value, GFP_KERNEL).is_err() {
                        ok = false;
                        break;
                    }
                }
                if ok { Some(Value::Integers(v)) } else { Some(Value::Other(TYPE_PACKAGE)) }
            }
            t => Some(Value::Other(t)),
        }
    };
    // SAFETY: we own `obj` and no longer use it (ACPI_FREE is kfree).
    unsafe { bindings::kfree(obj.cast()) };
    value
}

/// What receives the notifications (`Notify()`) firmware sends to a device.
pub trait NotifyHandler: Send + Sync + 'static {
    /// One notification with value `event`. Runs on ACPI's notify
    /// workqueue (process context, may sleep).
    fn notify(&self, event: u32);
}

/// `ACPI_DEVICE_NOTIFY`: notification values 0x80 and up.
const DEVICE_NOTIFY: u32 = 0x2;

/// A [`NotifyHandler`] installed on a device (`acpi_install_notify_handler`);
/// removed on drop, which waits for a call in progress to finish.
///
/// # Invariants
///
/// Installed on `handle` with `notify_raw::<T>` and the address of
/// `*data` as its context, until `Drop`.
pub struct NotifyRegistration<T: NotifyHandler> {
    handle: Handle,
    data: Arc<T>,
}

impl Handle {
    /// Installs `data` to receive the device notifications of this handle's
    /// device. ENXIO when ACPICA refuses (one handler per device and type).
    pub fn install_notify<T: NotifyHandler>(&self, data: Arc<T>) -> Result<NotifyRegistration<T>> {
        // SAFETY: the context is the `T` the registration keeps alive until
        // after it removes the handler; the handler only reads it.
        let status = unsafe {
            bindings::acpi_install_notify_handler(
                self.0,
                DEVICE_NOTIFY,
                Some(notify_raw::<T>),
                &*data as *const T as *mut c_void,
            )
        };
        if status != 0 {
            return Err(ENXIO);
        }
        // INVARIANT: installed just above with `data`'s address.
        Ok(NotifyRegistration { handle: *self, data })
    }
}

impl<T: NotifyHandler> NotifyRegistration<T> {
    /// The handler's data.
    pub fn data(&self) -> &Arc<T> {
        &self.data
    }
}

impl<T: NotifyHandler> Drop for NotifyRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: installed by `install_notify` with this function (the
        // invariant). ACPICA waits for handlers in flight before it returns
        // (`acpi_os_wait_events_complete`), so `data` outlives every call.
        unsafe { bindings::acpi_remove_notify_handler(self.handle.0, DEVICE_NOTIFY, Some(notify_raw::<T>)) };
    }
}

/// The notify handler of a [`NotifyRegistration<T>`].
///
/// # Safety
///
/// ACPICA passes the context `install_notify` gave it: a `T` that the
/// registration keeps alive until the handler is removed.
unsafe extern "C" fn notify_raw<T: NotifyHandler>(_handle: bindings::acpi_handle, event: u32, ctx: *mut c_void) {
    // SAFETY: guaranteed by the caller.
    let data = unsafe { &*(ctx as *const T) };
    data.notify(event);
}

/// A firmware table, held until drop (`acpi_get_table`/`acpi_put_table`).
pub struct Table(NonNull<bindings::acpi_table_header>);

// SAFETY: a mapped table is read-only memory shared by all CPUs.
unsafe impl Send for Table {}
// SAFETY: see `Send`.
unsafe impl Sync for Table {}

impl Table {
    /// The first table with signature `sig` (4 characters), if any.
    pub fn get(sig: &CStr) -> Option<Table> {
        let mut t = core::ptr::null_mut();
        // SAFETY: `sig` is a NUL-terminated signature; `t` receives a mapping we own.
        let status = unsafe { bindings::acpi_get_table(sig.as_ptr() as *mut _, 0, &mut t) };
        (status == 0).then(|| NonNull::new(t).map(Table)).flatten()
    }

    /// The whole table, header included.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: a mapped table spans `length` bytes from its header.
        unsafe { core::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), (*self.0.as_ptr()).length as usize) }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: we hold the reference `acpi_get_table` gave us.
        unsafe { bindings::acpi_put_table(self.0.as_ptr()) };
    }
}

/// What a driver of ACPI devices does. `Data` lives while bound.
pub trait AcpiDriverOps {
    /// Per-device state.
    type Data: Send + Sync;
    /// Binds to `adev`.
    fn add(adev: &AcpiDevice) -> Result<KBox<Self::Data>>;
    /// Unbinds; `data` is what `add` returned.
    fn remove(adev: &AcpiDevice, data: KBox<Self::Data>);
}

/// An ACPI driver matching one hardware id, defined as a static.
pub struct AcpiDriver {
    raw: UnsafeCell<bindings::acpi_driver>,
    ids: [bindings::acpi_device_id; 2],
}

// SAFETY: `raw` is written in `register` before the driver core sees it and
// owned by it afterwards; `ids` is read-only.
unsafe impl Sync for AcpiDriver {}

/// A NUL-padded copy of `s` for a fixed-size C name field.
const fn copy_name<const N: usize>(s: &[u8]) -> [core::ffi::c_char; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < s.len() && i < N - 1 {
        out[i] = s[i] as core::ffi::c_char;
        i += 1;
    }
    out
}

/// The same for a byte array field.
const fn copy_id<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < s.len() && i < N - 1 {
        out[i] = s[i];
        i += 1;
    }
    out
}

impl AcpiDriver {
    /// A driver named `name` for devices with hardware id `hid`.
    pub const fn new<O: AcpiDriverOps>(name: &str, hid: &str) -> Self {
        // SAFETY: all-zero is a valid "no callbacks" driver and terminating id.
        let mut raw: bindings::acpi_driver = unsafe { core::mem::zeroed() };
        raw.name = copy_name(name.as_bytes());
        raw.ops.add = Some(add_raw::<O>);
        raw.ops.remove = Some(remove_raw::<O>);
        // SAFETY: see above.
        let mut ids: [bindings::acpi_device_id; 2] = unsafe { core::mem::zeroed() };
        ids[0].id = copy_id(hid.as_bytes());
        Self { raw: UnsafeCell::new(raw), ids }
    }

    /// Registers the driver; unregistered when the token drops.
    pub fn register(&'static self, module: &'static ThisModule) -> Result<AcpiDriverRegistration> {
        // SAFETY: not yet visible to the driver core (see `Sync`).
        unsafe { (*self.raw.get()).ids = self.ids.as_ptr() };
        // SAFETY: a static, fully initialised driver.
        to_result(unsafe { bindings::__acpi_bus_register_driver(self.raw.get(), module.as_ptr().cast()) })?;
        Ok(AcpiDriverRegistration(self))
    }
}

/// A registered ACPI driver.
pub struct AcpiDriverRegistration(&'static AcpiDriver);

impl Drop for AcpiDriverRegistration {
    fn drop(&mut self) {
        // SAFETY: we registered it.
        unsafe { bindings::acpi_bus_unregister_driver(self.0.raw.get()) };
    }
}

/// `add` of ACPI drivers of `O`.
///
/// # Safety
///
/// The ACPI bus passes a live device that is being bound to our driver.
unsafe extern "C" fn add_raw<O: AcpiDriverOps>(adev: *mut bindings::acpi_device) -> c_int {
    // SAFETY: the ACPI bus passes a live device.
    let dev = unsafe { AcpiDevice::from_raw(adev) };
    match O::add(dev) {
        Ok(data) => {
            // SAFETY: `driver_data` belongs to the bound driver (us).
            unsafe { (*adev).driver_data = KBox::into_raw(data).cast::<c_void>() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `remove` of ACPI drivers of `O`.
///
/// # Safety
///
/// The ACPI bus passes a live device that `add_raw` bound.
unsafe extern "C" fn remove_raw<O: AcpiDriverOps>(adev: *mut bindings::acpi_device) {
    // SAFETY: the ACPI bus passes the live device we bound; its
    // `driver_data` is the box `add_raw` stored, which we take back once.
    unsafe {
        let data = (*adev).driver_data.cast::<O::Data>();
        (*adev).driver_data = core::ptr::null_mut();
        if !data.is_null() {
            O::remove(AcpiDevice::from_raw(adev), KBox::from_raw(data));
        }
    }
}
