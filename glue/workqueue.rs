// SPDX-License-Identifier: GPL-2.0
//! Work items.
//!
//! - [`DelayedWork`]: delayed work (`struct delayed_work` on
//!   `system_long_wq`) owned by an `Arc`: a queued item holds a reference on
//!   its owner, so the owner lives until the work has run or been
//!   cancelled. The kernel crate of 6.12 has neither delays nor
//!   cancellation, which a scrub needs: it polls firmware every few seconds
//!   and must stop before the bus it reports to goes away.
//! - [`OrderedQueue`]: a workqueue of its own that runs one item at a time,
//!   in queueing order (`alloc_ordered_workqueue`), and [`Job`]: a value
//!   that runs once on it and is consumed, its work item allocated with it
//!   for that one run (C's `kmalloc` + `INIT_WORK` + `queue_work`, freed by
//!   the work function). Shaped after rust/kernel's `Queue::enqueue` of
//!   later kernels, without the `Arc`: a job owns what it completes (a bio).

use core::ffi::CStr;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{addr_of_mut, NonNull};
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

/// A value that runs once on an [`OrderedQueue`], in process context.
pub trait Job: Send + Sized + 'static {
    /// Runs the job; it is consumed (and its work item freed) here.
    fn run(self);
}

/// A job and its work item, allocated together for one run.
#[repr(C)]
struct JobBox<J: Job> {
    // First: the `work_struct` the work function gets is the box's address.
    work: Opaque<bindings::work_struct>,
    job: J,
}

/// An ordered workqueue (`alloc_ordered_workqueue`): its jobs run one at a
/// time, in the order they were queued. Dropping it waits for the jobs
/// still queued and frees it (`destroy_workqueue`): a job must never drop
/// the last owner of its own queue (the kernel would wait on itself).
///
/// # Invariants
///
/// `raw` is a workqueue this value allocated and alone destroys.
pub struct OrderedQueue {
    raw: NonNull<bindings::workqueue_struct>,
}

// SAFETY: the workqueue API may be called from any thread.
unsafe impl Send for OrderedQueue {}
// SAFETY: see `Send`.
unsafe impl Sync for OrderedQueue {}

impl OrderedQueue {
    /// A new queue named `name` (as `ps` shows its worker); `mem_reclaim`
    /// gives it a rescuer thread (WQ_MEM_RECLAIM), as a queue that
    /// completes I/O under memory pressure needs.
    pub fn new(name: &CStr, mem_reclaim: bool) -> Result<Self> {
        // SAFETY: `name` is a C string; the kernel copies it.
        let raw = unsafe { bindings::rln_alloc_ordered_workqueue(name.as_ptr(), mem_reclaim) };
        // INVARIANT: allocated here, destroyed only in `drop`.
        Ok(Self { raw: NonNull::new(raw).ok_or(ENOMEM)? })
    }

    /// Queues `job`, whose work item is allocated as with GFP_NOIO (no
    /// I/O is started to reclaim memory: the caller may be serving a bio).
    /// ENOMEM hands the job back, not run.
    pub fn enqueue_noio<J: Job>(&self, job: J) -> core::result::Result<(), (Error, J)> {
        // SAFETY: paired with the restore below, in the same task.
        let noio = unsafe { bindings::rln_memalloc_noio_save() };
        let slot = KBox::<JobBox<J>>::new_uninit(GFP_KERNEL);
        // SAFETY: `noio` is what the save above returned.
        unsafe { bindings::rln_memalloc_noio_restore(noio) };
        let slot: KBox<MaybeUninit<JobBox<J>>> = match slot {
            Ok(s) => s,
            Err(_) => return Err((ENOMEM, job)),
        };
        let boxed = KBox::write(slot, JobBox { work: Opaque::uninit(), job });
        let raw = KBox::into_raw(boxed);
        // SAFETY: `raw` is the box leaked above, which `run_job` takes back:
        // the work item stays where it is until then. The item is new, so
        // `queue_work` cannot find it already queued; the queue is live
        // (invariant) and is not destroyed before the job has run.
        unsafe {
            let work = Opaque::raw_get(addr_of_mut!((*raw).work));
            bindings::rln_init_work(work, Some(run_job::<J>));
            bindings::rln_queue_work(self.raw.as_ptr(), work);
        }
        Ok(())
    }

    /// Waits until the queue is empty (`drain_workqueue`); jobs queued by
    /// its own jobs meanwhile run too. Nobody else may queue meanwhile.
    pub fn drain(&self) {
        // SAFETY: the queue is live (invariant).
        unsafe { bindings::drain_workqueue(self.raw.as_ptr()) }
    }
}

impl Drop for OrderedQueue {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` (invariant); this drains it first, and
        // nobody can queue on it any more (`&mut self`).
        unsafe { bindings::destroy_workqueue(self.raw.as_ptr()) }
    }
}

/// The work function of a [`Job`] `J`: takes its box back and runs it.
///
/// # Safety
///
/// `work` is the `work` member of a `JobBox<J>` that
/// [`OrderedQueue::enqueue_noio`] leaked and queued, run once.
unsafe extern "C" fn run_job<J: Job>(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the first member of a `#[repr(C)]` `JobBox<J>`
    // leaked by `enqueue_noio`; the workqueue no longer touches the item
    // once its function runs, so it may be freed here.
    let boxed = unsafe { KBox::from_raw(work.cast::<JobBox<J>>()) };
    KBox::into_inner(boxed).job.run();
}

/// Wakes pollers of attribute `attr` in group `dir` of `dev` (`sysfs_notify`).
pub fn sysfs_notify(dev: &Device, dir: Option<&CStr>, attr: &CStr) {
    // SAFETY: `dev` is live; the names are C strings.
    unsafe { bindings::rln_sysfs_notify(dev.as_raw(), dir.map_or(core::ptr::null(), |d| d.as_ptr()), attr.as_ptr()) };
}
