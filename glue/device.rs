// SPDX-License-Identifier: GPL-2.0
//! `struct device`: borrowing one, embedding one in a Rust object, registering it.
//!
//! Objects of the nd bus (ndbusN, nmemN, regionN, ...) embed their device, and
//! the driver core owns their lifetime as in C: the object is freed by the
//! device type's `release`, when the last reference is dropped.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::error::{from_err_ptr, to_result, Error, Result};
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;
use super::sysfs::{FromDevice, GroupList};

/// A kernel `struct device`, borrowed.
#[repr(transparent)]
pub struct Device(Opaque<bindings::device>);

// SAFETY: a `struct device` is reference counted and its mutable state is
// guarded by the driver core's own locks; sharing a reference across threads
// is what the driver core does all the time.
unsafe impl Send for Device {}
// SAFETY: see `Send`.
unsafe impl Sync for Device {}

impl Device {
    /// Borrows the device behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid device that stays alive for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::device) -> &'a Device {
        // SAFETY: `Device` is a transparent wrapper of `struct device`, and
        // the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<Device>() }
    }

    /// The raw pointer, for passing to C.
    pub fn as_raw(&self) -> *mut bindings::device {
        self.0.get()
    }

    /// `dev_name()`.
    pub fn name(&self) -> &CStr {
        // SAFETY: a registered device always has a NUL-terminated name that
        // lives as long as the device.
        unsafe { CStr::from_ptr(bindings::rln_dev_name(self.as_raw())) }
    }

    /// The parent device, if any.
    pub fn parent(&self) -> Option<&Device> {
        // SAFETY: a device holds a reference on its parent for its lifetime.
        let parent = unsafe { (*self.as_raw()).parent };
        // SAFETY: see above: the parent outlives `self`.
        NonNull::new(parent).map(|p| unsafe { Device::from_raw(p.as_ptr()) })
    }

    /// The major:minor number of the device's /dev node, 0 if it has none.
    pub fn devt(&self) -> u32 {
        // SAFETY: `devt` is written before registration and never after.
        unsafe { (*self.as_raw()).devt }
    }

    /// `dev_to_node()`: the device's NUMA node, or `NUMA_NO_NODE`.
    pub fn numa_node(&self) -> i32 {
        #[cfg(CONFIG_NUMA)]
        // SAFETY: the node is written before the device is added (ours,
        // `Placement::node`, or `device_add` from the parent) and only read
        // afterwards.
        let node = unsafe { (*self.as_raw()).numa_node };
        #[cfg(not(CONFIG_NUMA))]
        let node = super::numa::NO_NODE;
        node
    }

    /// Whether a driver is bound right now (a snapshot unless locked).
    pub fn has_driver(&self) -> bool {
        // SAFETY: reading the pointer is a plain load; the driver core
        // changes it under the device lock, which callers take if they need
        // a stable answer.
        !unsafe { (*self.as_raw()).driver }.is_null()
    }

    /// The driver bound (or being bound) to the device.
    pub fn driver(&self) -> Option<&super::bus::Driver> {
        // SAFETY: the driver core sets `driver` before probe and clears it
        // after remove; a registered driver outlives its bindings.
        let drv = unsafe { (*self.as_raw()).driver };
        // SAFETY: see above; `Driver` is a transparent `device_driver`.
        (!drv.is_null()).then(|| unsafe { &*(drv as *const super::bus::Driver) })
    }

    /// Whether the device's type is `ty`.
    pub fn is_type<T: DeviceObject>(&self, ty: &'static DeviceType<T>) -> bool {
        // SAFETY: `type` is written before registration and never after.
        core::ptr::eq(unsafe { (*self.as_raw()).type_ }, ty.as_raw())
    }

    /// Takes `device_lock()`, which serialises probe, remove and sysfs
    /// operations that must not race with them.
    pub fn lock(&self) -> DeviceGuard<'_> {
        // SAFETY: `self` is a live device.
        unsafe { bindings::rln_device_lock(self.as_raw()) };
        DeviceGuard(self)
    }

    /// The driver data set by the bound driver, as an untyped pointer.
    pub fn drvdata_raw(&self) -> *mut c_void {
        // SAFETY: plain load of a field the driver writes at bind time.
        unsafe { (*self.as_raw()).driver_data }
    }

    /// Calls `f` on every child device, until it returns an error.
    pub fn for_each_child(&self, mut f: impl FnMut(&Device) -> Result) -> Result {
        /// `device_for_each_child` callback: runs `f`.
        ///
        /// # Safety
        ///
        /// `data` is the `&mut dyn FnMut` of `for_each_child`, live for the iteration; `dev` is a live child.
        unsafe extern "C" fn visit(dev: *mut bindings::device, data: *mut c_void) -> c_int {
            // SAFETY: `data` is the `&mut dyn FnMut` passed below, live for
            // the whole iteration.
            let f = unsafe { &mut *data.cast::<&mut dyn FnMut(&Device) -> Result>() };
            // SAFETY: the driver core holds a reference on `dev` while visiting.
            match f(unsafe { Device::from_raw(dev) }) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }
        let mut f: &mut dyn FnMut(&Device) -> Result = &mut f;
        // SAFETY: `self` is live; the callback only uses `data` during the call.
        let rc = unsafe {
            bindings::device_for_each_child(
                self.as_raw(),
                (&mut f as *mut &mut dyn FnMut(&Device) -> Result).cast(),
                Some(visit),
            )
        };
        to_result(rc)
    }
}

/// `device_lock()` held; unlocks on drop.
pub struct DeviceGuard<'a>(&'a Device);

impl DeviceGuard<'_> {
    /// The locked device.
    pub fn device(&self) -> &Device {
        self.0
    }
}

impl Drop for DeviceGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while the lock is held by us.
        unsafe { bindings::rln_device_unlock(self.0.as_raw()) };
    }
}

/// The `struct device` a Rust object embeds (see [`DeviceObject`]).
///
/// It starts all zeroes, the state C's `device_initialize()` expects, and
/// only [`Registration::new`] initializes and adds it. Until then it is not
/// a [`Device`]: none of `Device`'s methods may run on it (`name()` would
/// read a null name, `lock()` an uninitialized mutex). So the object's
/// device is reached only through `Deref`, which stops the kernel on the
/// device of an object that was built but never registered, a bug in the
/// module, instead of letting safe code touch it.
///
/// # Invariants
///
/// `type_` is null until [`Registration::new`] sets it, before it
/// initializes the device, and nothing else writes it; so a non-null
/// `type_` means the device is initialized (and, unless registration
/// failed and the object is already being freed, registered).
#[repr(transparent)]
pub struct EmbeddedDevice(Device);

impl EmbeddedDevice {
    /// An unregistered device, to be embedded in an object that
    /// [`Registration::new`] will register.
    pub fn zeroed() -> Self {
        // SAFETY: all-zeroes is the documented starting state of a `struct
        // device` before `device_initialize()`; `Device` wraps it in
        // `Opaque`, so no Rust invariant is broken by zeroes.
        // INVARIANT: `type_` is null.
        Self(Device(Opaque::new(unsafe { core::mem::zeroed() })))
    }

    fn as_raw(&self) -> *mut bindings::device {
        self.0.as_raw()
    }
}

impl core::ops::Deref for EmbeddedDevice {
    type Target = Device;

    fn deref(&self) -> &Device {
        // SAFETY: a plain load of a field that is written once, by
        // `Registration::new` before the object is shared (type invariant).
        let ty = unsafe { (*self.as_raw()).type_ };
        if ty.is_null() {
            panic!("the device of an object that was never registered");
        }
        &self.0
    }
}

/// A Rust object whose lifetime the driver core owns through an embedded
/// `struct device`. Implement it with [`device_object!`], which also makes
/// the object's attributes find it ([`Embedded`]).
///
/// The trait is safe to implement: [`Registration::new`], the only way to
/// give a device a [`DeviceType`] of `Self`, checks that [`embedded`]
/// returns the field at `OFFSET` of the object it registers, and every
/// later use of the embedding in glue (`container_of`, the device of an
/// object) goes through `OFFSET`, never through the overridable
/// [`device`].
///
/// [`embedded`]: DeviceObject::embedded
/// [`device`]: DeviceObject::device
pub trait DeviceObject: Send + Sync + Sized + 'static {
    /// Offset of the [`EmbeddedDevice`] field.
    const OFFSET: usize;

    /// The embedded device: the field at `OFFSET`.
    fn embedded(&self) -> &EmbeddedDevice;

    /// The object's device, once registered (see [`EmbeddedDevice`]).
    fn device(&self) -> &Device {
        self.embedded()
    }
}

/// The device embedded in `obj`, by `OFFSET`.
///
/// # Safety
///
/// `obj` was allocated by [`Registration::new`], which checked `OFFSET`.
unsafe fn device_of<T: DeviceObject>(obj: &T) -> &Device {
    // SAFETY: `Registration::new` checked that the `EmbeddedDevice` of
    // `obj` lives at `OFFSET`, inside the object, and initialized it; it is
    // a transparent `Device`.
    unsafe { &*(obj as *const T).cast::<u8>().add(T::OFFSET).cast::<Device>() }
}

/// The object embedding `dev` (`container_of`).
///
/// # Safety
///
/// `dev` is the device of a `T` that [`Registration::new`] registered
/// (for instance, its type is a [`DeviceType<T>`]).
unsafe fn container_of<T: DeviceObject>(dev: &Device) -> &T {
    // SAFETY: the caller guarantees `dev` sits at `OFFSET` inside a `T`
    // (checked at registration), which lives at least as long as its device.
    unsafe { &*(dev as *const Device).cast::<u8>().sub(T::OFFSET).cast::<T>() }
}

/// The lookup of objects that embed their device: `container_of`.
pub struct Embedded;

// SAFETY: groups of `T: FromDevice<Lookup = Embedded>` are only attached
// through `DeviceType::<T>::new`, and only `Registration::new` gives a
// device that type, for a `T` whose embedding it checked.
unsafe impl<T: DeviceObject + FromDevice<Lookup = Embedded>> super::sysfs::Lookup<T> for Embedded {
    unsafe fn find(dev: &Device) -> Option<&T> {
        // SAFETY: see the impl: `dev` has a type of `T`.
        Some(unsafe { container_of::<T>(dev) })
    }
}

/// Declares that `$ty` embeds its `struct device` in field `$field` (an
/// [`EmbeddedDevice`]); attributes of `$ty` then sit on devices of its
/// types. Expands to safe impls only.
#[macro_export]
macro_rules! device_object {
    ($ty:ty, $field:ident) => {
        impl $crate::glue::device::DeviceObject for $ty {
            const OFFSET: usize = core::mem::offset_of!($ty, $field);
            fn embedded(&self) -> &$crate::glue::device::EmbeddedDevice {
                &self.$field
            }
        }
        impl $crate::glue::sysfs::FromDevice for $ty {
            type Lookup = $crate::glue::device::Embedded;
        }
    };
}

/// A device type: the name shown in uevents, the attribute groups every
/// device of the type carries, and the `release` that frees the Rust object.
#[repr(transparent)]
pub struct DeviceType<T>(bindings::device_type, PhantomData<T>);

// SAFETY: the kernel only reads a `device_type`, and it holds only pointers
// to other statics.
unsafe impl<T> Sync for DeviceType<T> {}

impl<T: DeviceObject + FromDevice<Lookup = Embedded>> DeviceType<T> {
    /// A device type named `name` whose devices carry `groups`.
    pub const fn new(name: &'static CStr, groups: &'static GroupList<T>) -> Self {
        Self(
            bindings::device_type {
                name: name.as_ptr(),
                groups: groups.as_raw(),
                release: Some(release::<T>),
                // SAFETY: the remaining fields are optional callbacks and
                // pointers, for which zero means "none".
                ..unsafe { core::mem::zeroed() }
            },
            PhantomData,
        )
    }

    /// The object behind `dev`, if `dev` is of this type.
    pub fn downcast<'a>(&'static self, dev: &'a Device) -> Option<&'a T> {
        // SAFETY: devices of this type are all embedded in a `T`
        // (`Registration::new` is the only way to give a device this type).
        dev.is_type(self).then(|| unsafe { container_of::<T>(dev) })
    }
}

impl<T> DeviceType<T> {
    fn as_raw(&'static self) -> *const bindings::device_type {
        &self.0
    }
}

/// `release` of devices of type `DeviceType<T>`: frees the `T`.
///
/// # Safety
///
/// The driver core calls it once, when the last reference to `dev` is gone.
unsafe extern "C" fn release<T: DeviceObject>(dev: *mut bindings::device) {
    // SAFETY: this is the release of devices of type `DeviceType<T>`, which
    // are all embedded in a `T` that `Registration::new` allocated with
    // `KBox`; the last reference is gone, so we own the allocation.
    unsafe {
        let obj = container_of::<T>(Device::from_raw(dev)) as *const T as *mut T;
        drop(KBox::from_raw(obj));
    }
}

/// A provider's attribute groups for one device and the data they read,
/// which become the device's `groups` and `platform_data`.
///
/// # Invariants
///
/// `groups` is null or a static [`GroupList<T>`] of some
/// `T: FromDevice<Lookup = Provided>`, and `data` points to a `T` that
/// lives as long as the device's attributes.
#[derive(Clone, Copy)]
pub struct ProviderAttrs {
    groups: *const *const bindings::attribute_group,
    data: *const c_void,
}

// SAFETY: pointers to statics and to provider data that is `Send + Sync`.
unsafe impl Send for ProviderAttrs {}
// SAFETY: see `Send`.
unsafe impl Sync for ProviderAttrs {}

impl ProviderAttrs {
    /// Pairs a provider's groups with their data.
    ///
    /// # Safety
    ///
    /// As the type's invariants.
    pub unsafe fn new(groups: *const *const bindings::attribute_group, data: *const c_void) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { groups, data }
    }
}

/// The lookup of a provider's objects: the device's `platform_data`, set
/// with the groups from one [`ProviderAttrs`] by [`Registration::new`].
pub struct Provided;

// SAFETY: groups of `T: FromDevice<Lookup = Provided>` reach a device only
// through `ProviderAttrs` (the provider descriptors of abi/provider.rs
// build their `GroupList<T>` from the same `T` as the data), and
// `Registration::new` sets `platform_data` from the same `ProviderAttrs`.
unsafe impl<T: FromDevice<Lookup = Provided>> super::sysfs::Lookup<T> for Provided {
    unsafe fn find(dev: &Device) -> Option<&T> {
        // SAFETY: see the impl; the data outlives the attributes.
        unsafe { ((*dev.as_raw()).platform_data as *const T).as_ref() }
    }
}

/// Where and how a new device is registered.
pub struct Placement<'a, T: 'static> {
    /// The parent device.
    pub parent: Option<&'a Device>,
    /// The device type, which also frees the object.
    pub ty: &'static DeviceType<T>,
    /// The bus, if the device is on one.
    pub bus: Option<&'static super::bus::BusType>,
    /// A provider's attribute groups and the data they read, for this
    /// instance (see [`ProviderAttrs`]).
    pub provider: Option<ProviderAttrs>,
    /// major:minor for a /dev node, or 0.
    pub devt: u32,
    /// The NUMA node (`set_dev_node` before the add); `None` inherits the
    /// parent's, as `device_add` does.
    pub node: Option<i32>,
}

/// A registered device and the reference its creator holds. Dropping it
/// unregisters the device; the object lives on while others hold references.
pub struct Registration<T: DeviceObject> {
    obj: NonNull<T>,
    /// Added from a work item ([`Registration::new_deferred`]), which may
    /// still be queued.
    deferred: bool,
}

// SAFETY: `T: Send + Sync` and the registration is just a counted reference.
unsafe impl<T: DeviceObject> Send for Registration<T> {}
// SAFETY: see `Send`.
unsafe impl<T: DeviceObject> Sync for Registration<T> {}

impl<T: DeviceObject> Registration<T> {
    /// Allocates `init`, names the device and adds it to the driver core,
    /// which may probe a driver for it before this returns.
    pub fn new(
        init: impl PinInit<T, Error>,
        place: Placement<'_, T>,
        name: core::fmt::Arguments<'_>,
    ) -> Result<Self> {
        Self::create(init, place, name, false, |_| Ok(()))
    }

    /// As [`Registration::new`], but the device is added from a work item
    /// (C's `nd_device_register`): a driver's probe registers a device
    /// this way when that device's own probe must wait for it to finish
    /// (an info block found on a namespace makes a btt device claiming
    /// it). `before_add` runs on the named object, not yet on its bus,
    /// before the add is queued (C: what `__nd_btt_create` does between
    /// `device_initialize` and `nd_device_register`); if it fails, the
    /// object is released.
    /// Dropping the registration first waits for the queued adds.
    pub fn new_deferred(
        init: impl PinInit<T, Error>,
        place: Placement<'_, T>,
        name: core::fmt::Arguments<'_>,
        before_add: impl FnOnce(&T) -> Result,
    ) -> Result<Self> {
        Self::create(init, place, name, true, before_add)
    }

    fn create(
        init: impl PinInit<T, Error>,
        place: Placement<'_, T>,
        name: core::fmt::Arguments<'_>,
        deferred: bool,
        before_add: impl FnOnce(&T) -> Result,
    ) -> Result<Self> {
        let obj = KBox::pin_init(init, GFP_KERNEL)?;
        // The embedding `container_of` relies on: the object's device is the
        // field at `OFFSET`, inside the object.
        let base = &*obj as *const T as usize;
        let embedded = obj.embedded() as *const EmbeddedDevice as usize == base + T::OFFSET
            && T::OFFSET + core::mem::size_of::<EmbeddedDevice>() <= core::mem::size_of::<T>();
        if !embedded {
            return Err(EINVAL);
        }
        // SAFETY: the object is never moved out of its box: from here on the
        // device's release owns it and frees it in place.
        let obj = NonNull::from(KBox::leak(unsafe { Pin::into_inner_unchecked(obj) }));
        // INVARIANT: `obj` is registered below with the embedding checked
        // above, which `device_of` and `container_of` rely on.
        // SAFETY: `obj` is live and exclusively ours until `device_add`.
        let dev = unsafe { device_of(obj.as_ref()) }.as_raw();
        // SAFETY: `dev` is the zeroed `struct device` of `obj`'s
        // `EmbeddedDevice`. After `device_initialize` the release (from
        // `place.ty`) frees `obj`, so every error path below ends in
        // `put_device` and nothing else.
        unsafe {
            // INVARIANT: the one write of `type_` (`EmbeddedDevice`), before
            // the device is initialized and before anyone else sees it.
            (*dev).type_ = place.ty.as_raw();
            bindings::device_initialize(dev);
            (*dev).parent = place.parent.map_or(core::ptr::null_mut(), |p| p.as_raw());
            if let Some(p) = place.provider {
                // `Provided` finds the provider's data here (see `ProviderAttrs`).
                (*dev).groups = p.groups as *mut _;
                (*dev).platform_data = p.data as *mut c_void;
            }
            (*dev).devt = place.devt;
            #[cfg(CONFIG_NUMA)]
            if let Some(node) = place.node {
                (*dev).numa_node = node;
            }
            let rc = bindings::dev_set_name(dev, c"%pA".as_ptr(), &name as *const _ as *const c_void);
            if rc != 0 {
                bindings::put_device(dev);
                return Err(Error::from_errno(rc));
            }
        }
        // SAFETY: `obj` is live: we hold the initial reference.
        if let Err(e) = before_add(unsafe { obj.as_ref() }) {
            // SAFETY: the initial reference; the release frees `obj`.
            unsafe { bindings::put_device(dev) };
            return Err(e);
        }
        // SAFETY: as above: every error path ends in `put_device`. The bus
        // is set only now, just before the add, as C's
        // `__nd_device_register` does: until then the device prints with
        // no bus name (`dev_info` from `before_add`: " btt1.0: ...").
        unsafe {
            (*dev).bus = place.bus.map_or(core::ptr::null(), |b| b.as_raw());
            if deferred {
                // The work item takes a reference of its own; if
                // `device_add` fails there, the device stays unadded and
                // dropping the registration only puts it.
                bindings::rln_device_add_async(dev);
            } else {
                let rc = bindings::device_add(dev);
                if rc != 0 {
                    bindings::put_device(dev);
                    return Err(Error::from_errno(rc));
                }
            }
        }
        Ok(Self { obj, deferred })
    }

    /// The object.
    pub fn get(&self) -> &T {
        // SAFETY: we hold a reference, so the object is alive.
        unsafe { self.obj.as_ref() }
    }
}

impl<T: DeviceObject> Registration<T> {
    /// Forgets the object's type: a parent keeps its children's
    /// registrations this way without naming their types.
    pub fn erase(self) -> DeviceRegistration {
        // SAFETY: registered by `Registration::new`.
        let dev = NonNull::from(unsafe { device_of(self.get()) });
        let deferred = self.deferred;
        core::mem::forget(self);
        // INVARIANT: `dev` is registered and the initial reference passes
        // from `self` (forgotten above) to the new owner.
        DeviceRegistration(dev, deferred)
    }
}

/// A registered device of any object type and its creator's reference
/// (a [`Registration`] after [`Registration::erase`]). Dropping it
/// unregisters the device.
///
/// # Invariants
///
/// The pointer is a device added to the driver core, and this value owns
/// the reference taken at its creation.
pub struct DeviceRegistration(NonNull<Device>, bool);

// SAFETY: a `Device` is `Send + Sync` and the registration is a counted
// reference, like `Registration<T>`.
unsafe impl Send for DeviceRegistration {}
// SAFETY: see `Send`.
unsafe impl Sync for DeviceRegistration {}

impl DeviceRegistration {
    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: by the type invariant we hold a reference, so the device is alive.
        unsafe { self.0.as_ref() }
    }

    /// Unregisters the device from a work item (C's `ND_ASYNC`): a device
    /// cannot unregister itself from one of its own attributes, whose
    /// removal waits for the attribute's writers. Until the work item's
    /// `device_del` the device stays on the bus, and a driver may still
    /// bind to it: from under the device's lock, use
    /// [`Self::unregister_dead_later`].
    pub fn unregister_later(self) {
        let dev = self.device().as_raw();
        core::mem::forget(self);
        // SAFETY: the reference `self` held (type invariant) passes to the
        // work item, whose `device_unregister` drops it after `device_del`
        // (the work first waits for deferred adds).
        unsafe { bindings::rln_device_unregister_async(dev) };
    }

    /// [`Self::unregister_later`] from under the device's lock (`held`),
    /// e.g. from a store of one of its own attributes that took it: the
    /// device is marked dead first, as C's `nd_device_unregister(ND_ASYNC)`
    /// does with `kill_device()`, so no driver binds to it and no probe
    /// starts before the work item deletes it (a bind then fails with
    /// ENODEV).
    ///
    /// `held` must lock this device; another device's guard is a bug,
    /// reported, and the device is then only queued.
    pub fn unregister_dead_later(self, held: &DeviceGuard<'_>) {
        let dev = self.device().as_raw();
        if core::ptr::eq(held.device(), self.device()) {
            // SAFETY: `dev` is live (type invariant). `device_add` sets
            // `state_in_sysfs` after the driver core's private data, which
            // `kill_device` writes to; a deferred device whose add has not
            // run yet has neither, and is left to the work item.
            let added = unsafe { (*dev).kobj.state_in_sysfs() } != 0;
            if added {
                // SAFETY: `dev` is added (above) and locked (`held`). This
                // registration is the device's only one, so no other
                // unregister has claimed it; `device_del` sets the flag
                // again, harmlessly.
                unsafe { bindings::kill_device(dev) };
            }
        } else {
            crate::dev_warn!(self.device(), "unregister_dead_later: the guard locks another device\n");
        }
        self.unregister_later();
    }
}

impl Drop for DeviceRegistration {
    fn drop(&mut self) {
        if self.1 {
            wait_for_adds();
        }
        // SAFETY: by the type invariant the device is registered (or, when
        // deferred, its add has run) and we own the initial reference.
        unsafe { unregister(self.device().as_raw(), self.1) };
    }
}

/// Unregisters `dev` and drops the initial reference; a deferred device
/// whose add failed is only put.
///
/// # Safety
///
/// `dev` was initialised by `Registration::new` or `new_deferred` (then
/// its queued add has run), and the caller owns its initial reference.
unsafe fn unregister(dev: *mut bindings::device, deferred: bool) {
    // SAFETY: the caller's promise; a deferred device is either added
    // (in sysfs) or its add failed and left it unadded.
    unsafe {
        if deferred && (*dev).kobj.state_in_sysfs() == 0 {
            bindings::put_device(dev);
        } else {
            bindings::device_unregister(dev);
        }
    }
}

/// Waits for every device add queued by [`Registration::new_deferred`].
/// Never call it from a probe that such an add runs.
pub fn wait_for_adds() {
    // SAFETY: no precondition; it only waits.
    unsafe { bindings::rln_device_add_sync() };
}

/// A counted reference to a device of any object type
/// (`get_device`/`put_device`).
///
/// # Invariants
///
/// The pointer is a live device on which this value owns one reference.
pub struct DeviceRef(NonNull<Device>);

// SAFETY: as for `DeviceRegistration`.
unsafe impl Send for DeviceRef {}
// SAFETY: see `Send`.
unsafe impl Sync for DeviceRef {}

impl DeviceRef {
    /// Takes a new reference on `dev`.
    pub fn new(dev: &Device) -> Self {
        // SAFETY: `dev` is live.
        unsafe { bindings::get_device(dev.as_raw()) };
        // INVARIANT: the reference just taken.
        Self(NonNull::from(dev))
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: by the type invariant we hold a reference.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own one reference.
        unsafe { bindings::put_device(self.device().as_raw()) };
    }
}

/// Waits for every [`DeviceRegistration::unregister_later`] queued so far; the
/// module calls it before its code goes away.
pub fn wait_for_unregisters() {
    // SAFETY: no precondition; it only waits.
    unsafe { bindings::rln_device_unregister_sync() };
}

/// C's `nd_synchronize()`: waits for the deferred adds and the queued
/// unregisters alike. C queues both on one async domain (`nd_async_domain`);
/// ours are two, and an unregister's work first waits for the adds, so the
/// unregisters go first, then the adds (those queued since included).
/// Never call it from a probe that a deferred add runs, nor from a device's
/// own attribute while an unregister of that device may be queued.
pub fn synchronize() {
    wait_for_unregisters();
    wait_for_adds();
}

impl<T: DeviceObject> Drop for Registration<T> {
    fn drop(&mut self) {
        if self.deferred {
            wait_for_adds();
        }
        // SAFETY: we registered the device (a deferred add has run, waited
        // for above) and still hold the initial reference.
        unsafe { unregister(device_of(self.get()).as_raw(), self.deferred) };
    }
}

/// A counted reference to a device object (`get_device`/`put_device`).
///
/// # Invariants
///
/// The object was registered by [`Registration::new`] and we hold one
/// reference on its device.
pub struct ARef<T: DeviceObject>(NonNull<T>);

// SAFETY: the object is `Send + Sync` and the count is atomic.
unsafe impl<T: DeviceObject> Send for ARef<T> {}
// SAFETY: see `Send`.
unsafe impl<T: DeviceObject> Sync for ARef<T> {}

impl<T: DeviceObject> ARef<T> {
    /// Takes a new reference on `obj`, which must be registered: a device
    /// object outside a [`Registration`] has no reference count, and taking
    /// one is a bug (the kernel stops here rather than use the object).
    pub fn new(obj: &T) -> Self {
        // `Registration::new` checked the embedding (`OFFSET`) of the object
        // it registered; `obj` must be such an object, whose field at
        // `OFFSET` is its `EmbeddedDevice`, and registered.
        let at_offset = (obj as *const T).cast::<u8>().wrapping_add(T::OFFSET);
        if !core::ptr::eq(obj.embedded(), at_offset.cast()) {
            panic!("ARef::new on a device object whose OFFSET is not its device");
        }
        // Stops the kernel if the device was never registered (see
        // `EmbeddedDevice`).
        let _registered: &Device = obj.embedded();
        // SAFETY: registered (checked above), so `device_of` applies and
        // the device is live while `obj` is.
        unsafe { bindings::get_device(device_of(obj).as_raw()) };
        // INVARIANT: we hold a reference on a registered object.
        Self(NonNull::from(obj))
    }
}

impl<T: DeviceObject> Clone for ARef<T> {
    fn clone(&self) -> Self {
        Self::new(self)
    }
}

impl<T: DeviceObject> core::ops::Deref for ARef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold a reference, so the object is alive.
        unsafe { self.0.as_ref() }
    }
}

impl<T: DeviceObject> Drop for ARef<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference on a registered object, taken in `new`.
        unsafe { bindings::put_device(device_of(&**self).as_raw()) };
    }
}

/// A class device such as /sys/class/nd/ndctlN (`device_create`), destroyed on drop.
pub struct ClassDevice(NonNull<bindings::device>);

// SAFETY: a class device is only passed back to the driver core.
unsafe impl Send for ClassDevice {}
// SAFETY: see `Send`.
unsafe impl Sync for ClassDevice {}

impl ClassDevice {
    /// Creates `name` in `class` under `parent` with /dev node `devt`.
    pub fn new(
        class: &'static super::bus::Class,
        parent: &Device,
        devt: u32,
        name: core::fmt::Arguments<'_>,
    ) -> Result<Self> {
        // SAFETY: `class` is registered for as long as devices exist in it
        // (libnvdimm unregisters it last); `parent` is live; `%pA` reads
        // `name` during the call only.
        let dev = unsafe {
            bindings::device_create(
                class.as_raw(),
                parent.as_raw(),
                devt,
                core::ptr::null_mut(),
                c"%pA".as_ptr() as *const c_char,
                &name as *const _ as *const c_void,
            )
        };
        // `device_create` returns a device or an error pointer, never null.
        let dev = from_err_ptr(dev)?;
        Ok(Self(NonNull::new(dev).ok_or(ENOMEM)?))
    }
}

impl Drop for ClassDevice {
    fn drop(&mut self) {
        // SAFETY: we created the device and hold its only registration.
        unsafe { bindings::device_unregister(self.0.as_ptr()) };
    }
}
