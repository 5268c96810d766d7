// SPDX-License-Identifier: GPL-2.0
//! nfit: the ACPI NFIT provider of libnvdimm.
//!
//! Parses an NFIT into a bus and its DIMMs and answers libnvdimm's commands
//! through the platform: ACPI _DSM methods on real firmware (QEMU), or the
//! command handler of an emulated platform (nfit_test), which hands us its
//! synthetic table through the ABI in abi/nfit.rs.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]

use kernel::prelude::*;

#[path = "../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

mod acpi;
mod ars;
mod bus;
mod dimm;
mod health;
mod intel;
mod region;

module! {
    type: NfitModule,
    name: "nfit",
    author: "rust-libnvdimm developers",
    description: "ACPI NFIT provider for libnvdimm, in Rust",
    license: "GPL v2",
    alias: ["acpi*:ACPI0012:*"],
}

struct NfitModule {
    _acpi: acpi::DriverRegistration,
}

impl kernel::Module for NfitModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _acpi: acpi::register(module)? })
    }
}

crate::export_nfit!(bus::Emulated);
