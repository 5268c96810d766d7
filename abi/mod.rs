// SPDX-License-Identifier: GPL-2.0
//! The C ABIs between our modules, one file per module boundary.
//!
//! Each boundary is declared once and compiled into both modules: the
//! `#[repr(C)]` wire structs and the `extern "C"` declarations are private to
//! their file; each side gets its own safe Rust types (the provider builds a
//! `NewRegion`, libnvdimm receives a `ProviderRegion`). The exporting
//! module's functions are defined here too, behind the `cfg` its Kbuild
//! line sets, over a safe trait the module implements.
//!
//! | File | Boundary |
//! |---|---|
//! | `provider.rs` | libnvdimm and the bus providers (nfit) |
//! | `nfit.rs` | nfit and an emulated NFIT platform (nfit_test) |
//! | `namespace.rs` | libnvdimm and the namespace drivers (nd_pmem) |
//!
//! Like glue/, this directory may use `unsafe`; each block has a
//! `// SAFETY:` comment. It depends on glue/, never the reverse.

#![allow(dead_code, unreachable_pub)]

pub mod namespace;
pub mod nfit;
pub mod provider;
