// SPDX-License-Identifier: GPL-2.0
//! Layer 2 for device_dax: the part of the glue a driver of the dax bus
//! uses, and nothing that calls libnvdimm's helpers.
//!
//! The other modules include the whole glue (glue/mod.rs), whose functions
//! are compiled into each of them and call the `rln_*` helpers libnvdimm
//! exports (glue/helpers.c). device_dax must not depend on libnvdimm (C's
//! does not: daxctl loads it for dax devices of any origin), so its crate
//! includes this root instead: the bindings and glue/dax_driver.rs, whose
//! C helpers (glue/dax_helpers.c) are linked into device_dax itself.
//! `modinfo -F depends device_dax` is empty.

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

#[path = "dax_driver.rs"]
pub mod dax_driver;
