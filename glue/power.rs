// SPDX-License-Identifier: GPL-2.0
//! Running a function with the system quiesced: `hibernate_quiet_exec`
//! (kernel/power/hibernate.c), which freezes tasks and quiesces every
//! device around the call. libnvdimm's "quiesce" firmware activation runs
//! through it.
//!
//! Only a kernel with CONFIG_HIBERNATION has it. Without, the kernel's own
//! stub (include/linux/suspend.h) answers -ENOTSUPP without running the
//! function, and so does [`quiet_exec`].

use kernel::prelude::*;

/// Runs `f` with tasks frozen and devices quiesced, and returns what it
/// returned; ENOTSUPP (without running it) on a kernel without hibernation.
#[cfg(CONFIG_HIBERNATION)]
pub fn quiet_exec(f: &mut dyn FnMut() -> Result) -> Result {
    use core::ffi::{c_int, c_void};

    /// Calls the closure behind `data`.
    ///
    /// # Safety
    ///
    /// `data` points to the `&mut dyn FnMut() -> Result` that
    /// `quiet_exec` passed, alive for the call.
    unsafe extern "C" fn call(data: *mut c_void) -> c_int {
        // SAFETY: guaranteed by the caller.
        let f = unsafe { &mut *(data as *mut &mut dyn FnMut() -> Result) };
        match f() {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    let mut f = f;
    // SAFETY: `call` only uses `data` during this call, which borrows `f`
    // for its whole length; hibernate_quiet_exec runs it synchronously.
    kernel::error::to_result(unsafe {
        super::bindings::hibernate_quiet_exec(Some(call), &mut f as *mut &mut dyn FnMut() -> Result as *mut c_void)
    })
}

/// Runs `f` with tasks frozen and devices quiesced, and returns what it
/// returned; ENOTSUPP (without running it) on a kernel without hibernation.
#[cfg(not(CONFIG_HIBERNATION))]
pub fn quiet_exec(_f: &mut dyn FnMut() -> Result) -> Result {
    Err(ENOTSUPP)
}
