// SPDX-License-Identifier: GPL-2.0
//! Delayed work (`struct delayed_work` on `system_long_wq`) owned by an
//! `Arc`: a queued item holds a reference on its owner, so the owner lives
//! until the work has run or been cancelled.
//!
//! The kernel crate of 6.12 has neither delays nor cancellation, which a
//! scrub needs: it polls firmware every few seconds and must stop before
//! the bus it reports to goes away.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;

use super::bindings;
use super::device::Device;

/// What a type embedding a [`DelayedWork`] does when it runs.
pub trait DelayedWorkItem: Send + Sync + Sized + 'static {
    /// Where the item is.
    fn delayed_work(&self) -> &DelayedWork<Self>;
    /// Runs in process context, with a reference of its own.
    fn run(this: Arc<Self>);
}

/// A delayed work item inside a `T`.
#[pin_data]
#[repr(C)]
pub struct DelayedWork<T: DelayedWorkItem> {
    // First, so that the `work_struct` the callback gets (the first member
    // of `delayed_work`) is also the address of this struct.
    #[pin]
    raw: Opaque<bindings::delayed_work>,
    /// The owning `T`, recorded on first queueing.
    owner: AtomicPtr<T>,
    _t: PhantomData<T>,
}

// SAFETY: the workqueue API is safe to call from any thread.
unsafe impl<T: DelayedWorkItem> Send for DelayedWork<T> {}
// SAFETY: see `Send`.
unsafe impl<T: DelayedWorkItem> Sync for DelayedWork<T> {}

impl<T: DelayedWorkItem> DelayedWork<T> {
    /// An idle item.
    pub fn new() -> impl PinInit<Self> {
        let raw = {
            let init = |slot: *mut Opaque<bindings::delayed_work>| {
                // SAFETY: `slot` is valid for writes; INIT_DELAYED_WORK
                // initialises the work and its timer in place.
                unsafe { bindings::rln_init_delayed_work(Opaque::raw_get(slot), Some(Self::run_raw)) };
                Ok(())
            };
            // SAFETY: the closure initialised the slot and cannot fail.
            unsafe { kernel::init::pin_init_from_closure::<_, core::convert::Infallible>(init) }
        };
        pin_init!(Self { raw <- raw, owner: AtomicPtr::new(core::ptr::null_mut()), _t: PhantomData })
    }

    /// The work function: hands the owner's reference to `T::run`.
    ///
    /// # Safety
    ///
    /// The workqueue passes the `work_struct` of a `DelayedWork<T>` that `queue` queued with `owner` set and a reference leaked for this run.
    unsafe extern "C" fn run_raw(work: *mut bindings::work_struct) {
        // SAFETY: `work` is the first member of `raw`, the first member of a
        // `#[repr(C)]` `DelayedWork<T>`, which queued it with `owner` set.
        let this = unsafe { &*(work as *const Self) };
        let owner = this.owner.load(Ordering::Acquire);
        // SAFETY: `queue` leaked a reference for this run.
        T::run(unsafe { Arc::from_raw(owner) });
    }

    /// Queues `this`'s item to run after `delay_ms`; false (nothing
    /// changes) if it is already queued.
    pub fn queue(this: &Arc<T>, delay_ms: u64) -> bool {
        let work = this.delayed_work();
        let leaked = Arc::into_raw(this.clone());
        // Always the same `T`: the item lives inside it.
        work.owner.store(leaked as *mut T, Ordering::Release);
        // SAFETY: `raw` was initialised in `new`; the reference leaked above
        // keeps `T` (and so the item) alive until the run or a cancel.
        let queued = unsafe { bindings::rln_queue_delayed_work(work.raw.get(), delay_ms as _) };
        if !queued {
            // SAFETY: not queued, so the reference is still ours.
            drop(unsafe { Arc::from_raw(leaked) });
        }
        queued
    }

    /// Cancels a pending run and waits for one in progress to finish.
    /// The owner must not queue it again meanwhile (or must check a flag
    /// in `run`).
    pub fn cancel_sync(&self) {
        // SAFETY: `raw` was initialised in `new`.
        let cancelled = unsafe { bindings::rln_cancel_delayed_work_sync(self.raw.get()) };
        if cancelled {
            let owner = self.owner.load(Ordering::Acquire);
            // SAFETY: a cancelled pending run never drops the reference
            // `queue` leaked for it; we do.
            drop(unsafe { Arc::from_raw(owner as *const T) });
        }
    }
}

/// Wakes pollers of attribute `attr` in group `dir` of `dev` (`sysfs_notify`).
pub fn sysfs_notify(dev: &Device, dir: Option<&CStr>, attr: &CStr) {
    // SAFETY: `dev` is live; the names are C strings.
    unsafe { bindings::rln_sysfs_notify(dev.as_raw(), dir.map_or(core::ptr::null(), |d| d.as_ptr()), attr.as_ptr()) };
}
