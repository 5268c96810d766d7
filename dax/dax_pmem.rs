// SPDX-License-Identifier: GPL-2.0
//! dax_pmem: a bound daxN.M becomes a dax region and its one dev_dax on
//! the kernel's dax bus (C's drivers/dax/pmem.c), for device_dax (or the
//! kernel's kmem) to bind.
//!
//! Its probe is C's `__dax_pmem_probe`: libnvdimm validates or writes the
//! info block and describes the mapping (`Namespace::probe`,
//! `NamespaceKind::Dax`); the metadata in front of the data is reserved in
//! iomem under the namespace's name (the data is device-dax's to
//! reserve); the region, numbered after the namespace's region, covers the
//! data, and the dev_dax daxR.N (N the namespace's number) all of it.
//! Everything is devm on the daxN.M and goes when it unbinds.
//!
//! On nfit_test the namespace's bytes live in a physical reservation
//! elsewhere (`ProviderMap::backing_phys`): the region and the dev_dax
//! keep C's emulated addresses, and the pages (the pagemap and its
//! altmap) are moved by the backing distance (glue/dax_region.rs says what
//! device_dax makes of it).

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

use abi::namespace::{ExternalRegistration, Namespace, NamespaceKind};
use formats::dax_pmem::{layout, namespace_ids};
use formats::pfn::Platform;
use glue::dax_region::{devm_request_mem_region, DaxRegion, PageMap};
use glue::eopnotsupp;
use glue::nd_driver::{nd_device, NdDevmDriver, NdDriver, Probing};

module! {
    type: DaxPmemModule,
    name: "dax_pmem",
    author: "rust-libnvdimm developers",
    description: "PMEM DAX: direct access to persistent memory, in Rust",
    license: "GPL v2",
    alias: ["nd:t7*"],
}

static DAX_PMEM_DRIVER: NdDriver = NdDriver::new_devm::<DaxPmem>(c"dax_pmem", 1 << nd_device::DAX_PMEM);

struct DaxPmemModule {
    _driver: ExternalRegistration,
}

impl kernel::Module for DaxPmemModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _driver: DAX_PMEM_DRIVER.register_external(module)? })
    }
}

struct DaxPmem;

impl NdDevmDriver for DaxPmem {
    fn probe(probing: &Probing<'_>) -> Result {
        let dev = probing.device();
        // `nvdimm_namespace_common_probe` and `nvdimm_setup_pfn`, with the
        // namespace's start enabled for the info block meanwhile.
        let (ns, info) = Namespace::probe(dev)?;
        // Nothing of the namespace is needed after the probe.
        drop(ns);
        let NamespaceKind::Dax(cfg) = info.kind else {
            return Err(ENXIO);
        };
        let offset = cfg.pfn.data_offset;
        let shift = match info.provider_map {
            // Reserve the metadata area; device-dax will reserve the data.
            None => {
                devm_request_mem_region(probing, info.start, offset, cfg.namespace.as_cstr()).inspect_err(|_| {
                    dev_warn!(dev, "could not reserve metadata\n");
                })?;
                0
            }
            // An emulated range is not in iomem (the provider holds its
            // backing's range): nothing to reserve. The pages are at the
            // backing, which vmalloc memory has none of.
            Some(map) => {
                let Some(backing) = map.backing_phys() else {
                    dev_err!(dev, "devdax: the emulated range has no physical backing for struct pages\n");
                    return Err(eopnotsupp());
                };
                backing.wrapping_sub(info.start)
            }
        };
        let (region_id, id) = namespace_ids(cfg.namespace.as_bytes()).ok_or(EINVAL)?;
        let Some(l) = layout(cfg.pfn.range_start, cfg.pfn.range_end, offset, cfg.pfn.altmap, shift, &Platform::X86_64) else {
            dev_err!(dev, "devdax: the physical backing at {:#x} breaks the 2 MiB layout of {:#x}\n",
                info.start.wrapping_add(shift), info.start);
            return Err(eopnotsupp());
        };
        // The region starts at the data (C: `range.start += offset`).
        let region = DaxRegion::new_static(probing, region_id, l.region_start, l.region_end, info.target_node, cfg.align)?;
        region.create_static_dev_dax(id, &PageMap { start: l.pgmap_start, end: l.pgmap_end, altmap: l.altmap })
    }
}
