// SPDX-License-Identifier: GPL-2.0
//! nd_e820: legacy persistent memory as an nd bus (C's drivers/nvdimm/e820.c).
//!
//! The kernel turns e820 type-12 ranges (old BIOSes, or `memmap=nn!ss` on
//! any machine) into "Persistent Memory (legacy)" resources and, when there
//! is one, adds the platform device `e820_pmem` (arch/x86/kernel/pmem.c),
//! whose alias loads this module. Binding it registers ndbus "e820" with one
//! label-less pmem region per range: no DIMMs, no commands, namespaces of
//! type io whose struct pages may be mapped (ND_REGION_PAGEMAP), so fsdax
//! and devdax work on them as on C's.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

use abi::provider::{Bus, BusDesc, BusProvider, Completion, NewRegion};
use glue::device::Device;
use glue::e820;
use glue::numa;
use glue::platform::{PlatformDriver, PlatformDriverOps};
use glue::sysfs::GroupList;

module! {
    type: NdE820,
    name: "nd_e820",
    author: "rust-libnvdimm developers",
    description: "NVDIMM support for e820 type-12 memory, in Rust",
    license: "GPL v2",
    alias: ["platform:e820_pmem*"],
}

/// ND_REGION_PAGEMAP: namespaces may be mapped with struct pages.
const ND_REGION_PAGEMAP: u64 = 1 << 0;

/// ndbusN's provider: nothing to ask, the ranges are plain memory.
struct E820Bus;

/// Unused: the bus has no DIMMs.
struct NoDimm;

/// regionN's provider data: none, the region is the range.
struct E820Region;

bus_provider_attrs!(E820Bus);
dimm_provider_attrs!(NoDimm);
region_provider_attrs!(E820Region);

impl BusProvider for E820Bus {
    type Dimm = NoDimm;
    type Region = E820Region;

    // C's e820 bus descriptor has no `ndctl`.
    const COMMANDS: bool = false;

    fn ctl(&self, _dimm: Option<&NoDimm>, _cmd: u32, _buf: &mut [u8]) -> Result<Completion> {
        Err(ENOTTY)
    }
}

static NO_GROUPS_BUS: GroupList<E820Bus> = GroupList::EMPTY;
static NO_GROUPS_REGION: GroupList<E820Region> = GroupList::EMPTY;

/// The platform driver of `e820_pmem`.
struct E820Driver {
    module: &'static ThisModule,
}

impl E820Driver {
    /// `e820_pmem_probe` after the bus: one region per legacy range
    /// (`e820_register_one`).
    fn register_ranges(bus: &mut Bus<E820Bus>) -> Result {
        for range in e820::legacy_pmem_ranges()?.iter() {
            let nid = numa::phys_to_target_node(range.start);
            bus.add_region(NewRegion {
                data: Arc::new(E820Region, GFP_KERNEL)?,
                groups: &NO_GROUPS_REGION,
                start: range.start,
                size: range.len,
                mapping: None,
                mappings: &[],
                cookies: None,
                numa_node: numa::map_to_online_node(nid),
                target_node: nid,
                flags: ND_REGION_PAGEMAP,
                flush: false,
                volatile: false,
            })
            // C: a NULL nvdimm_pmem_region_create() is ENXIO.
            .map_err(|_| ENXIO)?;
        }
        Ok(())
    }
}

impl PlatformDriverOps for E820Driver {
    /// The bus, unregistered (regions and all) when the device is unbound.
    type Data = Bus<E820Bus>;

    fn probe(&self, dev: &Device, _id: i32) -> Result<Bus<E820Bus>> {
        let desc = BusDesc {
            provider_name: Some(c"e820"),
            cmd_mask: 0,
            dimm_family_mask: 0,
            bus_family_mask: 0,
            groups: &NO_GROUPS_BUS,
            owner: self.module,
            media_fault: false,
            fw_activation: false,
        };
        let registered = Bus::register(dev, desc, Arc::new(E820Bus, GFP_KERNEL)?).and_then(|mut bus| {
            Self::register_ranges(&mut bus)?;
            Ok(bus)
        });
        // A failed bus is unregistered by the drop of `bus` above.
        registered.inspect_err(|_| dev_err!(dev, "failed to register legacy persistent memory ranges\n"))
    }
}

struct NdE820 {
    _driver: PlatformDriver<E820Driver>,
}

impl kernel::Module for NdE820 {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _driver: PlatformDriver::register(c"e820_pmem", E820Driver { module }, module)? })
    }
}
