// SPDX-License-Identifier: GPL-2.0
//! Device-prefixed logging: `dev_dbg!`, `dev_info!`, `dev_warn!`, `dev_err!`.
//!
//! Debug output goes through a single dynamic-debug site in helpers.c, enabled
//! with `dyndbg="file helpers.c +p"`; rejections log their reason there.

use super::bindings;
use super::device::Device;

/// Log levels the helpers understand (LOGLEVEL_* in C).
#[derive(Clone, Copy)]
pub enum Level {
    /// An error the user should see.
    Err,
    /// Something unexpected that was tolerated.
    Warn,
    /// A normal but notable event.
    Info,
    /// Developer detail, off unless enabled through dynamic debug.
    Debug,
}

/// Prints `args` with the device's name as prefix.
pub fn dev_print(level: Level, dev: &Device, args: core::fmt::Arguments<'_>) {
    let level = match level {
        Level::Err => bindings::LOGLEVEL_ERR,
        Level::Warn => bindings::LOGLEVEL_WARNING,
        Level::Info => bindings::LOGLEVEL_INFO,
        Level::Debug => bindings::LOGLEVEL_DEBUG,
    };
    // SAFETY: `dev` is a live device; `args` outlives the call, and %pA in
    // helpers.c reads it as a `fmt::Arguments`, which is what we pass.
    unsafe {
        bindings::rln_dev_printk(
            level as core::ffi::c_int,
            dev.as_raw(),
            (&args as *const core::fmt::Arguments<'_>).cast(),
        )
    };
}

/// `dev_dbg!(dev, "fmt", args...)`: why something was rejected, for developers.
#[macro_export]
macro_rules! dev_dbg {
    ($dev:expr, $($arg:tt)*) => {
        $crate::glue::print::dev_print($crate::glue::print::Level::Debug, $dev, format_args!($($arg)*))
    };
}

/// `dev_info!(dev, "fmt", args...)`.
#[macro_export]
macro_rules! dev_info {
    ($dev:expr, $($arg:tt)*) => {
        $crate::glue::print::dev_print($crate::glue::print::Level::Info, $dev, format_args!($($arg)*))
    };
}

/// `dev_warn!(dev, "fmt", args...)`.
#[macro_export]
macro_rules! dev_warn {
    ($dev:expr, $($arg:tt)*) => {
        $crate::glue::print::dev_print($crate::glue::print::Level::Warn, $dev, format_args!($($arg)*))
    };
}

/// `dev_err!(dev, "fmt", args...)`.
#[macro_export]
macro_rules! dev_err {
    ($dev:expr, $($arg:tt)*) => {
        $crate::glue::print::dev_print($crate::glue::print::Level::Err, $dev, format_args!($($arg)*))
    };
}
