// SPDX-License-Identifier: GPL-2.0
//! Locks the kernel crate has no fitting wrapper for: a fixed array of
//! mutexes that are locked in one call and unlocked in another (a region's
//! BTT lanes, C's `nd_region_acquire_lane`/`nd_region_release_lane`), the
//! same array lent to another module ([`MutexArrayRef`]: nd_btt locks the
//! lanes of libnvdimm's regions itself, as C's btt.c does through two
//! calls that are not inlined), and the CPU a task runs on.

use core::ptr::NonNull;

use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;
use super::device::{Device, DeviceRef};

/// `mutex_lock`, called directly (the kernel's out-of-line function, not
/// a helper around it). Under lockdep `mutex_lock` is a macro for
/// `mutex_lock_nested(lock, 0)`, which is then the function to call.
///
/// # Safety
///
/// `m` is an initialised mutex; the caller may sleep.
#[inline(always)]
unsafe fn mutex_lock(m: *mut bindings::mutex) {
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    // SAFETY: guaranteed by the caller.
    unsafe {
        bindings::mutex_lock_nested(m, 0)
    };
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    // SAFETY: guaranteed by the caller.
    unsafe {
        bindings::mutex_lock(m)
    };
}

/// `mutex_unlock`.
///
/// # Safety
///
/// The current task holds `m`.
#[inline(always)]
unsafe fn mutex_unlock(m: *mut bindings::mutex) {
    // SAFETY: guaranteed by the caller.
    unsafe { bindings::mutex_unlock(m) };
}

/// A fixed number of `struct mutex`, all of one lock class.
///
/// # Invariants
///
/// Every element was initialised by `mutex_init` in [`MutexArray::new`] and
/// stays at its heap address until `Drop`: the vector is never grown.
pub struct MutexArray {
    locks: KVec<Opaque<bindings::mutex>>,
}

// SAFETY: kernel mutexes are made to be shared between threads.
unsafe impl Send for MutexArray {}
// SAFETY: see `Send`.
unsafe impl Sync for MutexArray {}

impl MutexArray {
    /// `n` unlocked mutexes.
    pub fn new(n: usize) -> Result<Self> {
        let mut locks = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            // Within the capacity: no reallocation moves earlier elements.
            locks.push(Opaque::uninit(), GFP_KERNEL)?;
        }
        for m in locks.iter() {
            // SAFETY: `m` is valid for writes and does not move from here on.
            unsafe { bindings::rln_lane_mutex_init(m.get()) };
        }
        // INVARIANT: all initialised above; `locks` is never pushed to again.
        Ok(Self { locks })
    }

    /// How many mutexes.
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// Locks mutex `i` (may sleep); EINVAL if there is no such mutex.
    /// The caller unlocks it with [`MutexArray::unlock`] from the same task.
    pub fn lock(&self, i: usize) -> Result {
        let m = self.locks.get(i).ok_or(EINVAL)?;
        // SAFETY: initialised (type invariant); `lock` may sleep, as its
        // documentation says.
        unsafe { mutex_lock(m.get()) };
        Ok(())
    }

    /// Unlocks mutex `i`.
    ///
    /// # Safety
    ///
    /// The current task locked mutex `i` with [`MutexArray::lock`] and has
    /// not unlocked it since.
    pub unsafe fn unlock(&self, i: usize) {
        if let Some(m) = self.locks.get(i) {
            // SAFETY: held by the current task (the caller's promise).
            unsafe { mutex_unlock(m.get()) };
        }
    }

    /// The first mutex, to lend the array to another module (see
    /// [`MutexArrayRef::from_raw`]); dangling when the array is empty.
    pub fn as_raw(&self) -> *mut bindings::mutex {
        self.locks.as_ptr().cast_mut().cast()
    }
}

impl Drop for MutexArray {
    fn drop(&mut self) {
        for m in self.locks.iter() {
            // SAFETY: initialised and, with `&mut self`, not held by anyone.
            unsafe { bindings::rln_mutex_destroy(m.get()) };
        }
    }
}

/// A [`MutexArray`] of another module, borrowed: locked and unlocked here
/// with direct calls to `mutex_lock`/`mutex_unlock`, not through the
/// owning module. A counted reference on the device whose release frees
/// the array keeps it in place.
///
/// # Invariants
///
/// `first` points to `len` initialised mutexes (a [`MutexArray`]'s, all
/// of its lock class) that stay at their addresses and are not destroyed
/// while the device of `_owner` lives, which the reference ensures.
pub struct MutexArrayRef {
    first: NonNull<Opaque<bindings::mutex>>,
    len: usize,
    _owner: DeviceRef,
}

// SAFETY: kernel mutexes are made to be shared between threads, and the
// device reference is `Send`.
unsafe impl Send for MutexArrayRef {}
// SAFETY: see `Send`.
unsafe impl Sync for MutexArrayRef {}

impl MutexArrayRef {
    /// Borrows the `len` mutexes at `first`, taking a reference on `owner`;
    /// EINVAL if `first` is null.
    ///
    /// # Safety
    ///
    /// Unless null, `first` is [`MutexArray::as_raw`] of an array of at
    /// least `len` mutexes that lives until `owner`'s device is released
    /// (the last `put_device`), and `owner` is live now.
    pub unsafe fn from_raw(first: *mut bindings::mutex, len: usize, owner: &Device) -> Result<Self> {
        let first = NonNull::new(first.cast::<Opaque<bindings::mutex>>()).ok_or(EINVAL)?;
        // INVARIANT: the caller's promise, for as long as the reference
        // taken here lives, which is as long as `Self`.
        Ok(Self { first, len, _owner: DeviceRef::new(owner) })
    }

    /// How many mutexes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mutex `i`, if there is one.
    #[inline(always)]
    fn get(&self, i: usize) -> Option<*mut bindings::mutex> {
        // SAFETY: `i < len`, inside the array (type invariant).
        (i < self.len).then(|| unsafe { (*self.first.as_ptr().add(i)).get() })
    }

    /// Locks mutex `i` (may sleep); EINVAL if there is no such mutex.
    /// The caller unlocks it with [`MutexArrayRef::unlock`] from the same
    /// task.
    #[inline]
    pub fn lock(&self, i: usize) -> Result {
        let m = self.get(i).ok_or(EINVAL)?;
        // SAFETY: initialised and live (type invariant); `lock` may sleep,
        // as its documentation says.
        unsafe { mutex_lock(m) };
        Ok(())
    }

    /// Unlocks mutex `i`.
    ///
    /// # Safety
    ///
    /// The current task locked mutex `i` with [`MutexArrayRef::lock`] (or
    /// the owner's [`MutexArray::lock`]) and has not unlocked it since.
    #[inline]
    pub unsafe fn unlock(&self, i: usize) {
        if let Some(m) = self.get(i) {
            // SAFETY: held by the current task (the caller's promise).
            unsafe { mutex_unlock(m) };
        }
    }
}

/// The CPU the caller runs on now (`raw_smp_processor_id`): a hint only,
/// the task may migrate right after.
pub fn current_cpu() -> u32 {
    // SAFETY: reads a per-CPU variable; no precondition.
    unsafe { bindings::rln_raw_smp_processor_id() }
}

/// `nr_cpu_ids`: one more than the highest CPU number the system can ever
/// have (fixed at boot; hot-plugged CPUs stay below it), so every
/// [`current_cpu`] is below it.
pub fn nr_cpu_ids() -> u32 {
    // SAFETY: reads a variable set once at boot; no precondition.
    unsafe { bindings::rln_nr_cpu_ids() }
}
