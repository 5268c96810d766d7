// SPDX-License-Identifier: GPL-2.0
//! libnvdimm: the nd bus core.
//!
//! Bus "nd" and class "nd"; ndbusN for each provider, with /dev/ndctlN;
//! nmemN for each DIMM, with /dev/nmemN; regionN and namespaceN.M; the
//! nd_bus, nvdimm and nd_region drivers.
//! Providers (nfit) reach it through the C ABI in abi/provider.rs.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]
#![recursion_limit = "256"]

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

// From the top down: a file imports only files below it
// (Documentation/layout.md).
mod bus;
mod region_driver;
mod btt_devs;
mod dax_devs;
mod pfn_devs;
mod claim;
mod namespace;
mod region;
mod ioctl;
mod dimm;
mod shutdown;
mod nd;

module! {
    type: LibNvdimm,
    name: "libnvdimm",
    author: "rust-libnvdimm developers",
    description: "NVDIMM (Non-Volatile Memory Device) core, in Rust",
    license: "GPL v2",
    alias: ["nd:t1*", "nd:t2*"],
}

/// The module's registrations, torn down in reverse order on unload.
struct LibNvdimm {
    _core: Pin<KBox<bus::Core>>,
}

impl Drop for LibNvdimm {
    fn drop(&mut self) {
        // Namespaces deleted through sysfs unregister from work items that
        // run this module's code.
        glue::device::wait_for_unregisters();
    }
}

impl kernel::Module for LibNvdimm {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _core: bus::Core::register(module)? })
    }
}
