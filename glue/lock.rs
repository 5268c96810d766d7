// SPDX-License-Identifier: GPL-2.0
//! Locks the kernel crate has no fitting wrapper for: a fixed array of
//! mutexes that are locked in one call and unlocked in another (a region's
//! BTT lanes, C's `nd_region_acquire_lane`/`nd_region_release_lane`), and
//! the CPU a task runs on.

use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;

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
        // SAFETY: initialised (type invariant).
        unsafe { bindings::rln_mutex_lock(m.get()) };
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
            unsafe { bindings::rln_mutex_unlock(m.get()) };
        }
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
