// SPDX-License-Identifier: GPL-2.0
//! virtio: a driver of the virtio bus, the device it binds, and one
//! virtqueue of requests completed by the device's interrupt.
//!
//! Shaped after rust/kernel's bus abstractions of later kernels (6.12 has
//! no virtio one):
//! - [`Driver`]: an id table, a feature table and `validate`/`probe`/
//!   `remove`; [`Registration`] registers it (`register_virtio_driver`).
//!   The data `probe` returns lives in the device's `driver_data` until
//!   `remove` takes it back.
//! - [`VirtioDevice`]: a bound device: its config space (`virtio_cread_le`),
//!   features, shared memory regions, status, `virtio_device_ready` and
//!   `virtio_reset_device`.
//! - [`Virtqueue`]: the device's single queue (`virtio_find_single_vq`).
//!   Requests are `Arc`s of a [`VqRequest`] whose device-visible buffers
//!   ([`DmaBuf`]) lie inside the request; the queue holds a reference on a
//!   request from `add` until `get_buf` hands it back. The queue's lock (a
//!   spinlock taken with interrupts off, since the interrupt takes it too)
//!   guards the ring and a driver-defined state ([`VqHandler::Locked`]);
//!   [`VqGuard`] is the held lock. The interrupt calls [`VqHandler::used`]
//!   under the lock.
//! - [`Completion`]: `struct completion`, what a request's submitter waits on.
//!
//! The C helpers are in `virtio_helpers.c`, linked into the one module that
//! uses this file (virtio_pmem), which alone compiles it (`--cfg
//! rln_virtio`).

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_uint, c_ulong, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::{addr_of_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::error::{to_result, Error, Result};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
use kernel::ThisModule;

use super::bindings;
use super::device::Device;

/// `VIRTIO_DEV_ANY_ID`: an id table entry's vendor that matches any vendor.
pub const DEV_ANY_ID: u32 = bindings::RLN_VIRTIO_DEV_ANY_ID as u32;

/// What a virtio driver does.
pub trait Driver: Send + Sync + Sized + 'static {
    /// What a bound device keeps; given back to [`Driver::remove`].
    type Data: Send + Sync;
    /// The devices it binds: (virtio device id, vendor or [`DEV_ANY_ID`]).
    const ID_TABLE: &'static [(u32, u32)];
    /// The device feature bits it understands (the rest are not negotiated).
    const FEATURES: &'static [c_uint];

    /// Before the features are final (`validate`): may drop offered ones.
    fn validate(_dev: &Validating<'_>) -> Result {
        Ok(())
    }

    /// Binds `dev`.
    fn probe(dev: &VirtioDevice) -> Result<Self::Data>;

    /// Unbinds `dev`: tears `data` down. The device must be reset and its
    /// queue deleted when this returns, which dropping a [`Virtqueue`] does.
    fn remove(_dev: &VirtioDevice, data: Self::Data) {
        drop(data);
    }
}

/// A registered driver's C structure and what it points to.
#[repr(C)]
struct DriverBox {
    /// First: the driver core's `driver` pointer leads back here.
    raw: Opaque<bindings::virtio_driver>,
    /// The id table, terminated by a zeroed entry.
    ids: KVec<bindings::virtio_device_id>,
}

/// A registered virtio driver of `T`; unregistered on drop, which unbinds
/// its devices.
pub struct Registration<T: Driver> {
    inner: Pin<KBox<DriverBox>>,
    _t: PhantomData<T>,
}

// SAFETY: the driver core reads the `virtio_driver` under its own locks.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: see `Send`.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers driver `name` of `module`; devices already present are
    /// probed before this returns.
    pub fn register(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        let mut ids = KVec::with_capacity(T::ID_TABLE.len() + 1, GFP_KERNEL)?;
        for &(device, vendor) in T::ID_TABLE {
            ids.push(bindings::virtio_device_id { device, vendor }, GFP_KERNEL)?;
        }
        ids.push(bindings::virtio_device_id { device: 0, vendor: 0 }, GFP_KERNEL)?;
        let raw = bindings::virtio_driver {
            driver: bindings::device_driver {
                name: name.as_ptr(),
                // SAFETY: the other fields are optional pointers and
                // callbacks, or filled in by the registration.
                ..unsafe { core::mem::zeroed() }
            },
            id_table: ids.as_ptr(),
            feature_table: T::FEATURES.as_ptr(),
            feature_table_size: T::FEATURES.len() as c_uint,
            validate: Some(validate_raw::<T>),
            probe: Some(probe_raw::<T>),
            remove: Some(remove_raw::<T>),
            // SAFETY: as above: no legacy features, scan, config change or PM.
            ..unsafe { core::mem::zeroed() }
        };
        let inner = KBox::pin(DriverBox { raw: Opaque::new(raw), ids }, GFP_KERNEL)?;
        // SAFETY: `raw` is initialised and pinned in its box with the id
        // table it points to, and both outlive the registration (`drop`
        // unregisters first); the feature table is static.
        to_result(unsafe { bindings::__register_virtio_driver(inner.raw.get(), module.as_ptr().cast()) })?;
        Ok(Self { inner, _t: PhantomData })
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; no callback runs after this.
        unsafe { bindings::unregister_virtio_driver(self.inner.raw.get()) };
    }
}

/// `validate` of drivers of `T`.
///
/// # Safety
///
/// The virtio core passes a live device being probed by our driver.
unsafe extern "C" fn validate_raw<T: Driver>(vdev: *mut bindings::virtio_device) -> c_int {
    // SAFETY: guaranteed by the caller; features are not final yet.
    let dev = Validating(unsafe { VirtioDevice::from_raw(vdev) });
    match T::validate(&dev) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `probe` of drivers of `T`.
///
/// # Safety
///
/// The virtio core passes a live device it is binding to our driver.
unsafe extern "C" fn probe_raw<T: Driver>(vdev: *mut bindings::virtio_device) -> c_int {
    // SAFETY: guaranteed by the caller. `priv` belongs to the bound
    // driver, which is us from now on: a driver bound before may have left
    // its pointer there (C's virtio_pmem does).
    let dev = unsafe {
        (*vdev).priv_ = core::ptr::null_mut();
        VirtioDevice::from_raw(vdev)
    };
    let data = match T::probe(dev).and_then(|d| Ok(KBox::new(d, GFP_KERNEL)?)) {
        Ok(d) => d,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `driver_data` belongs to the bound driver, us; `remove_raw`
    // takes it back.
    unsafe { (*vdev).dev.driver_data = KBox::into_raw(data).cast() };
    0
}

/// `remove` of drivers of `T`.
///
/// # Safety
///
/// The virtio core passes a live device that `probe_raw` bound.
unsafe extern "C" fn remove_raw<T: Driver>(vdev: *mut bindings::virtio_device) {
    // SAFETY: guaranteed by the caller; we own `driver_data` while bound.
    let (dev, data) = unsafe {
        (VirtioDevice::from_raw(vdev), core::mem::replace(&mut (*vdev).dev.driver_data, core::ptr::null_mut()))
    };
    if !data.is_null() {
        // SAFETY: `probe_raw` stored a `KBox<T::Data>` here.
        let data = unsafe { KBox::from_raw(data.cast::<T::Data>()) };
        T::remove(dev, KBox::into_inner(data));
    }
    // SAFETY: as above; a `Virtqueue` clears `priv` when it is dropped.
    if !unsafe { (*vdev).priv_ }.is_null() {
        // The driver kept its queue past the binding: stop the device, as
        // the virtio core expects of a removed driver. The queue is left to
        // its `Virtqueue`, which finds the device no longer its own once
        // another driver binds it.
        crate::dev_warn!(dev.device(), "virtio: a virtqueue outlived its driver's binding\n");
        dev.reset();
    }
}

/// A virtio device, borrowed.
#[repr(transparent)]
pub struct VirtioDevice(Opaque<bindings::virtio_device>);

// SAFETY: the device's state changes under the virtio core's and the
// transport's own locks; sharing a reference is what the core does.
unsafe impl Send for VirtioDevice {}
// SAFETY: see `Send`.
unsafe impl Sync for VirtioDevice {}

impl VirtioDevice {
    /// Borrows the device behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live virtio device for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::virtio_device) -> &'a Self {
        // SAFETY: transparent wrapper; validity guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn raw(&self) -> *mut bindings::virtio_device {
        self.0.get()
    }

    /// Its `struct device` (virtioN).
    pub fn device(&self) -> &Device {
        // SAFETY: the embedded device lives as long as `self`.
        unsafe { Device::from_raw(addr_of_mut!((*self.raw()).dev)) }
    }

    /// Whether the transport can read the config space (`config->get`).
    pub fn has_config_get(&self) -> bool {
        // SAFETY: a live device has its transport's config operations.
        unsafe { bindings::rln_virtio_has_config_get(self.raw()) }
    }

    /// The device status byte (`config->get_status`).
    pub fn status(&self) -> u8 {
        // SAFETY: as above.
        unsafe { bindings::rln_virtio_get_status(self.raw()) }
    }

    /// Whether the device asks to be reset (VIRTIO_CONFIG_S_NEEDS_RESET).
    pub fn needs_reset(&self) -> bool {
        self.status() as u32 & bindings::RLN_VIRTIO_CONFIG_S_NEEDS_RESET as u32 != 0
    }

    /// Whether feature `bit` was negotiated (`virtio_has_feature`). A
    /// device-specific bit must be in the driver's [`Driver::FEATURES`]:
    /// the kernel stops with a BUG otherwise, as for a C driver.
    pub fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: a live device; the helper checks the bit against the
        // driver's table as C's inline does.
        unsafe { bindings::rln_virtio_has_feature(self.raw(), bit) }
    }

    /// Shared memory region `id` (`virtio_get_shm_region`): its guest
    /// physical address and length.
    pub fn shm_region(&self, id: u8) -> Option<(u64, u64)> {
        let (mut addr, mut len) = (0u64, 0u64);
        // SAFETY: a live device; the outputs are valid for writes.
        unsafe { bindings::rln_virtio_get_shm_region(self.raw(), id, &mut addr, &mut len) }.then_some((addr, len))
    }

    /// The little-endian 64-bit field at `offset` of the device's config
    /// space (`virtio_cread_le`); the transport checks the bounds.
    pub fn cread_le64(&self, offset: u32) -> u64 {
        // SAFETY: a live, bound device whose transport can read its config
        // (the caller checked `has_config_get`, or the helper's `get` call
        // is the transport's, which every virtio-pci device has).
        unsafe { bindings::rln_virtio_cread_le64(self.raw(), offset) }
    }

    /// `virtio_device_ready`: the driver is ready; the device may use its
    /// queues (probe calls it before publishing what uses them).
    pub fn ready(&self) {
        // SAFETY: a live device being probed or bound.
        unsafe { bindings::rln_virtio_device_ready(self.raw()) }
    }

    /// `virtio_reset_device`: the device stops and forgets its queues.
    pub fn reset(&self) {
        // SAFETY: a live device.
        unsafe { bindings::virtio_reset_device(self.raw()) }
    }

    /// `dev_info_ratelimited`, one rate limit per `site` (0 or 1).
    pub fn info_ratelimited(&self, site: u32, args: core::fmt::Arguments<'_>) {
        // SAFETY: the device is live; `args` outlives the call and %pA reads
        // it as the `fmt::Arguments` it is.
        unsafe {
            bindings::rln_virtio_info_ratelimited(
                site,
                self.device().as_raw(),
                (&args as *const core::fmt::Arguments<'_>).cast(),
            )
        }
    }

    /// The device's single virtqueue `name`, whose interrupt runs
    /// `handler` (`virtio_find_single_vq`). One per device: EBUSY if the
    /// device has one. `locked` is the state its lock guards.
    pub fn find_single_vq<H: VqHandler>(&self, name: &'static CStr, handler: H, locked: H::Locked) -> Result<Virtqueue<H>> {
        let shared = Arc::pin_init(
            pin_init!(VqShared {
                lock <- Opaque::ffi_init(|p: *mut bindings::spinlock_t| {
                    // SAFETY: `p` is the lock's pinned, uninitialised storage.
                    unsafe { bindings::rln_virtio_spin_lock_init(p) }
                }),
                vq: AtomicPtr::new(core::ptr::null_mut()),
                locked: UnsafeCell::new(locked),
                handler,
            }),
            GFP_KERNEL,
        )?;
        let own = Arc::into_raw(shared.clone());
        // SAFETY: `priv` belongs to the bound driver, whose only users are
        // this function and `Virtqueue` (`probe_raw` cleared it); the
        // device is live (bound: we are in its probe, or later while bound).
        unsafe {
            if !(*self.raw()).priv_.is_null() {
                drop(Arc::from_raw(own));
                return Err(EBUSY);
            }
            // The interrupt finds the queue's state here (`vq_callback`).
            (*self.raw()).priv_ = own.cast_mut().cast();
        }
        // SAFETY: a live device; `name` is static; the callback reads
        // `priv`, set above.
        let vq = unsafe { bindings::rln_virtio_find_single_vq(self.raw(), Some(vq_callback::<H>), name.as_ptr()) };
        let err = kernel::error::from_err_ptr(vq).err().or(if vq.is_null() { Some(ENOMEM) } else { None });
        if let Some(e) = err {
            // SAFETY: no queue exists, so no interrupt reads `priv`; take
            // back the reference stored above.
            unsafe {
                let p = core::mem::replace(&mut (*self.raw()).priv_, core::ptr::null_mut());
                drop(Arc::from_raw(p.cast::<VqShared<H>>()));
            }
            return Err(e);
        }
        // No buffer is queued yet: the interrupt cannot have run for it.
        shared.vq.store(vq, Ordering::Release);
        // SAFETY: the device is live; the reference is dropped in `drop`.
        unsafe { bindings::get_device(addr_of_mut!((*self.raw()).dev)) };
        // INVARIANT: `vq` is the device's queue, `priv` is `own`, a
        // reference to `shared`, and we hold the device.
        Ok(Virtqueue { shared, own, vdev: NonNull::new(self.raw()).ok_or(EINVAL)? })
    }
}

/// A device in its driver's `validate`.
pub struct Validating<'a>(&'a VirtioDevice);

impl Validating<'_> {
    /// The device.
    pub fn device(&self) -> &VirtioDevice {
        self.0
    }

    /// Drops offered feature `bit` before negotiation (`__virtio_clear_bit`).
    pub fn clear_feature(&self, bit: u32) {
        // SAFETY: in `validate`, before the features are final, the driver
        // owns them (the virtio core calls `validate` under the device lock).
        unsafe { bindings::rln_virtio_clear_feature(self.0.raw(), bit) }
    }
}

/// A buffer the device reads or writes by DMA, inside a request.
#[repr(transparent)]
pub struct DmaBuf<const N: usize>(Opaque<[u8; N]>);

// SAFETY: the bytes are read with volatile copies; the device writes them
// only while the request is in the queue.
unsafe impl<const N: usize> Sync for DmaBuf<N> {}
// SAFETY: plain bytes.
unsafe impl<const N: usize> Send for DmaBuf<N> {}

impl<const N: usize> DmaBuf<N> {
    /// A buffer holding `init`.
    pub fn new(init: [u8; N]) -> Self {
        Self(Opaque::new(init))
    }

    /// A copy of its bytes (what the device wrote, once the request is
    /// back from the queue).
    pub fn read(&self) -> [u8; N] {
        // SAFETY: the storage is `N` initialised bytes; the volatile read
        // tolerates a device write in flight (the caller reads after it).
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }

    /// Sets its bytes, for a request being reused: call it only while
    /// the request is not on a queue (the device does not use it).
    pub fn write(&self, bytes: [u8; N]) {
        // SAFETY: the storage is `N` bytes; `Opaque` allows writes through
        // a shared reference, and the volatile write is what the device
        // reads once the request is queued again.
        unsafe { core::ptr::write_volatile(self.0.get(), bytes) }
    }

    /// The buffer for [`VqRequest::buffers`].
    pub fn buf(&self) -> BufRef<'_> {
        BufRef { ptr: self.0.get().cast(), len: N, _p: PhantomData }
    }
}

/// A [`DmaBuf`] handed to the queue.
pub struct BufRef<'a> {
    ptr: *mut u8,
    len: usize,
    _p: PhantomData<&'a ()>,
}

/// A request of a queue: its buffers, which must lie inside it.
pub trait VqRequest: Send + Sync + 'static {
    /// The buffer the device reads, then the one it writes.
    fn buffers(&self) -> (BufRef<'_>, BufRef<'_>);
}

/// What a queue's interrupt does.
pub trait VqHandler: Send + Sync + Sized + 'static {
    /// The requests it carries.
    type Request: VqRequest;
    /// State guarded by the queue's lock (waiters for a free slot, ...).
    type Locked: Send;

    /// The device returned used buffers: called from the interrupt with
    /// the lock held (interrupts off, no sleeping): drain them with
    /// [`VqGuard::get_buf`].
    fn used(&self, q: &mut VqGuard<'_, Self>);
}

/// What the queue, its interrupt and its users share.
///
/// # Invariants
///
/// `vq` is set once, before any buffer is queued, and is the device's
/// queue until `Virtqueue::drop` deletes it; `locked` is used only with
/// `lock` held. `vq` comes first, at the same offset for every `H`: the
/// interrupt reads it through the device's `priv` before it knows whose
/// state `priv` points to (`vq_callback`).
#[pin_data]
#[repr(C)]
struct VqShared<H: VqHandler> {
    vq: AtomicPtr<bindings::virtqueue>,
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    locked: UnsafeCell<H::Locked>,
    handler: H,
}

// SAFETY: `locked` is reached only under `lock` (invariant), `vq` is atomic;
// `handler` is `Sync`; the queue itself may be used from any CPU.
unsafe impl<H: VqHandler> Sync for VqShared<H> {}
// SAFETY: see `Sync`; `H::Locked` is `Send`.
unsafe impl<H: VqHandler> Send for VqShared<H> {}

impl<H: VqHandler> VqShared<H> {
    fn lock(&self) -> VqGuard<'_, H> {
        // SAFETY: the lock was initialised in `find_single_vq`.
        let flags = unsafe { bindings::rln_virtio_spin_lock_irqsave(self.lock.get()) };
        VqGuard { shared: self, flags }
    }
}

/// The device's virtqueue; on drop the device is reset, the requests
/// still queued are released, and the queue is deleted. A driver keeps it
/// no longer than its binding (dropped in `remove` at the latest); one kept
/// longer is left alone once another driver binds the device.
///
/// # Invariants
///
/// `vdev` is a device we hold a reference on, whose queue `shared.vq` was
/// made for this `Virtqueue`; `own` is a reference to `shared` leaked into
/// the device's `priv`, which holds it until `drop` or until another
/// binding clears `priv` (`probe_raw`).
pub struct Virtqueue<H: VqHandler> {
    shared: Arc<VqShared<H>>,
    own: *const VqShared<H>,
    vdev: NonNull<bindings::virtio_device>,
}

// SAFETY: the device pointer is only passed to the virtio core, and the
// queue is used under its lock.
unsafe impl<H: VqHandler> Send for Virtqueue<H> {}
// SAFETY: see `Send`.
unsafe impl<H: VqHandler> Sync for Virtqueue<H> {}

impl<H: VqHandler> Virtqueue<H> {
    /// Takes the queue's lock (interrupts off until the guard drops).
    pub fn lock(&self) -> VqGuard<'_, H> {
        self.shared.lock()
    }

    /// The interrupt's handler.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// The device the queue belongs to.
    pub fn device(&self) -> &VirtioDevice {
        // SAFETY: we hold the device (invariant).
        unsafe { VirtioDevice::from_raw(self.vdev.as_ptr()) }
    }
}

impl<H: VqHandler> Drop for Virtqueue<H> {
    fn drop(&mut self) {
        let vdev = self.vdev.as_ptr();
        // SAFETY: the device is held (invariant); `priv` is only written
        // by its driver's probe and by us.
        let ours = core::ptr::eq(unsafe { (*vdev).priv_ }.cast_const().cast(), self.own);
        if !ours {
            // Another binding owns the device and its queues now; ours
            // stays allocated (the transport forgot it), with any request
            // in it.
            // SAFETY: the device is held; `own` is our leaked reference.
            unsafe {
                drop(Arc::from_raw(self.own));
                bindings::put_device(addr_of_mut!((*vdev).dev));
            }
            return;
        }
        // SAFETY: the device is held (invariant). Reset first: the device
        // stops using the buffers, so they can be released.
        unsafe { bindings::virtio_reset_device(vdev) };
        {
            let q = self.shared.lock();
            loop {
                // SAFETY: the queue is live and we hold its lock; after a
                // reset every queued buffer is unused.
                let token = unsafe { bindings::virtqueue_detach_unused_buf(q.vq()) };
                if token.is_null() {
                    break;
                }
                // SAFETY: every token is a reference `VqGuard::add` leaked.
                drop(unsafe { Arc::from_raw(token.cast::<H::Request>()) });
            }
        }
        // SAFETY: the device is held; deleting the queue frees its
        // interrupt, waiting for a handler in flight, so none runs after.
        unsafe { bindings::rln_virtio_del_vqs(vdev) };
        // SAFETY: no interrupt reads `priv` any more: take back its
        // reference (`own`, which `priv` held).
        unsafe {
            (*vdev).priv_ = core::ptr::null_mut();
            drop(Arc::from_raw(self.own));
            bindings::put_device(addr_of_mut!((*vdev).dev));
        }
    }
}

/// The queue's lock, held: the ring and the handler's locked state.
pub struct VqGuard<'a, H: VqHandler> {
    shared: &'a VqShared<H>,
    flags: c_ulong,
}

impl<H: VqHandler> VqGuard<'_, H> {
    fn vq(&self) -> *mut bindings::virtqueue {
        // Set before any user can lock (invariant of `VqShared`).
        self.shared.vq.load(Ordering::Acquire)
    }

    /// The state the lock guards.
    pub fn locked(&mut self) -> &mut H::Locked {
        // SAFETY: we hold the lock, and `&mut self` makes this the only
        // borrow through this guard.
        unsafe { &mut *self.shared.locked.get() }
    }

    /// Queues `req` (`virtqueue_add_sgs`, one buffer out and one in);
    /// the queue keeps a reference until [`VqGuard::get_buf`] returns it.
    /// ENOSPC: the ring is full.
    pub fn add(&mut self, req: &Arc<H::Request>) -> Result {
        let (out, inb) = req.buffers();
        // The buffers must be in the request's own (kmalloc'ed, linearly
        // mapped) memory: that is what a scatterlist can describe.
        let base = &**req as *const H::Request as usize;
        let end = base + core::mem::size_of::<H::Request>();
        for b in [&out, &inb] {
            let p = b.ptr as usize;
            if p < base || p + b.len > end || b.len == 0 {
                return Err(EINVAL);
            }
        }
        let bufs = [out.ptr.cast::<c_void>(), inb.ptr.cast::<c_void>()];
        let lens = [out.len as c_uint, inb.len as c_uint];
        let token = Arc::into_raw(req.clone());
        // SAFETY: we hold the lock; the buffers are inside the request, which
        // the leaked reference keeps alive until the device is done with it.
        let rc = unsafe {
            bindings::rln_virtqueue_add_bufs(
                self.vq(),
                bufs.as_ptr(),
                lens.as_ptr(),
                1,
                1,
                token.cast_mut().cast(),
                bindings::RLN_GFP_ATOMIC as bindings::gfp_t,
            )
        };
        if rc != 0 {
            // SAFETY: not queued: the reference is ours again.
            drop(unsafe { Arc::from_raw(token) });
            return Err(Error::from_errno(rc));
        }
        Ok(())
    }

    /// Notifies the device (`virtqueue_kick`); false if it failed.
    pub fn kick(&mut self) -> bool {
        // SAFETY: we hold the lock.
        unsafe { bindings::virtqueue_kick(self.vq()) }
    }

    /// A request the device is done with and the bytes it wrote
    /// (`virtqueue_get_buf`), or `None`.
    pub fn get_buf(&mut self) -> Option<(Arc<H::Request>, u32)> {
        let mut len: c_uint = 0;
        // SAFETY: we hold the lock.
        let token = unsafe { bindings::virtqueue_get_buf(self.vq(), &mut len) };
        // SAFETY: every token is a reference `add` leaked; the device is done.
        NonNull::new(token).map(|t| (unsafe { Arc::from_raw(t.as_ptr().cast::<H::Request>()) }, len))
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }
}

impl<H: VqHandler> Drop for VqGuard<'_, H> {
    fn drop(&mut self) {
        // SAFETY: taken in `VqShared::lock` with these flags.
        unsafe { bindings::rln_virtio_spin_unlock_irqrestore(self.shared.lock.get(), self.flags) };
    }
}

/// The queue's interrupt (`vq_callback_t`).
///
/// # Safety
///
/// `vq` is a queue made by `find_single_vq::<H>`, whose device's `priv`
/// holds a `VqShared<H>` until the queue is deleted.
unsafe extern "C" fn vq_callback<H: VqHandler>(vq: *mut bindings::virtqueue) {
    // SAFETY: `vq` is live during its interrupt.
    let p = unsafe { bindings::rln_virtqueue_vdev_priv(vq) };
    if p.is_null() {
        return;
    }
    // SAFETY: a non-null `priv` is a `VqShared` of the bound driver's
    // queue, whatever its `H`, which begins with `vq` (`#[repr(C)]`).
    let owner = unsafe { &*p.cast::<AtomicPtr<bindings::virtqueue>>() }.load(Ordering::Acquire);
    if owner != vq {
        // A queue that outlived its binding; `priv` is another's now.
        return;
    }
    // SAFETY: `priv` is the state `find_single_vq::<H>` made for `vq`, the
    // queue whose callback this is (`Virtqueue`'s invariant); deleting the
    // queue waits for this handler before the state is released.
    let shared = unsafe { &*p.cast::<VqShared<H>>() };
    let mut q = shared.lock();
    shared.handler.used(&mut q);
}

/// `struct completion`: one side waits until the other says done.
#[pin_data]
pub struct Completion {
    #[pin]
    raw: Opaque<bindings::completion>,
}

// SAFETY: a completion is made to be completed and waited on from any CPU.
unsafe impl Send for Completion {}
// SAFETY: see `Send`.
unsafe impl Sync for Completion {}

impl Completion {
    /// Not done (`init_completion`).
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            raw <- Opaque::ffi_init(|p: *mut bindings::completion| {
                // SAFETY: `p` is the pinned, uninitialised storage.
                unsafe { bindings::rln_virtio_init_completion(p) }
            }),
        })
    }

    /// Done; wakes a waiter (`complete`). Callable with interrupts off.
    pub fn complete(&self) {
        // SAFETY: initialised in `new`.
        unsafe { bindings::complete(self.raw.get()) }
    }

    /// Sleeps, uninterruptibly, until done (`wait_for_completion`).
    pub fn wait(&self) {
        // SAFETY: initialised in `new`.
        unsafe { bindings::wait_for_completion(self.raw.get()) }
    }

    /// Not done again (`reinit_completion`).
    pub fn reinit(&self) {
        // SAFETY: initialised in `new`.
        unsafe { bindings::rln_virtio_reinit_completion(self.raw.get()) }
    }
}
