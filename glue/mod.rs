// SPDX-License-Identifier: GPL-2.0
//! Layer 2, the kernel glue: bindings to the C API plus small safe wrappers.
//!
//! Every `unsafe` of the stack lives under this directory, each block with a
//! `// SAFETY:` comment naming the invariant it relies on. The modules (layer 3)
//! include this directory by path as `crate::glue` and stay free of `unsafe`.
//! Nothing here holds state: statics that must exist once (the nd bus, the
//! class, the id allocators) belong to libnvdimm.

#![allow(dead_code, unreachable_pub)]

/// Raw bindings generated from glue.h by the Kbuild `BINDGEN` rule.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    missing_docs,
    clippy::all,
    unsafe_op_in_unsafe_fn,
    improper_ctypes
)]
pub mod bindings {
    include!("bindings_generated.rs");
}

pub mod acpi;
pub mod block;
pub mod boxed;
pub mod bus;
pub mod chrdev;
pub mod class_device;
pub mod cpu_cache;
pub mod dax;
pub mod dax_region;
pub mod device;
pub mod e820;
pub mod ida;
pub mod iomem;
pub mod lock;
pub mod nd_driver;
pub mod numa;
#[cfg(rln_libnvdimm)]
pub mod params;
pub mod platform;
pub mod pmem_map;
pub mod power;
pub mod print;
pub mod shutdown;
pub mod sysfs;
#[cfg(rln_virtio)]
pub mod virtio;
pub mod workqueue;

/// EOPNOTSUPP, which the 6.12 kernel crate does not name (it has only the
/// kernel-internal ENOTSUPP).
pub fn eopnotsupp() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(bindings::EOPNOTSUPP as i32))
}
