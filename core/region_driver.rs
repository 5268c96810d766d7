// SPDX-License-Identifier: GPL-2.0
//! The nd_region driver (C's `region.c`): binding regionN registers the
//! namespaces its DIMMs' labels describe, a namespace seed, and the btt,
//! pfn and dax seeds; a bound seed makes way for a new one.
//!
//! It sits above the region, namespace and personality files because it
//! creates their devices; the region keeps the registrations.

use kernel::prelude::*;

use crate::btt_devs::{self, NdBtt};
use crate::dax_devs;
use crate::glue::device::{Device, DeviceRef};
use crate::glue::nd_driver::{NdDriver, NdDriverOps};
use crate::namespace::{self, NewNamespace};
use crate::nd::nd_type;
use crate::pfn_devs::{self, NdPfn};
use crate::region::{self, Region};
use crate::{dev_dbg, dev_err};

pub(crate) static ND_REGION_DRIVER: NdDriver = NdDriver::new::<NdRegionDriver>(c"nd_region", 1 << nd_type::REGION_PMEM);

/// The nd_region driver: claims the region's DIMMs and registers its
/// namespaces.
struct NdRegionDriver;

impl NdDriverOps for NdRegionDriver {
    fn probe(dev: &Device) -> Result {
        let region = region::of(dev).ok_or(ENODEV)?;
        region.enable()?;

        let found = namespace::scan(region);
        let news = match found {
            Ok(n) => n,
            Err(e) => {
                region.disable();
                return Err(e);
            }
        };
        // The btt, pfn and dax seeds first: C creates them after
        // registering the namespaces, but its namespaces probe later (from
        // an async domain), so a btt, pfn or dax device that autodetect
        // makes while a namespace here probes comes after the seed and is
        // numbered .1 (daxctl's region path names it). Seed creation
        // failures are not fatal: provisioning that personality is just
        // unavailable, as in C.
        match btt_devs::create_seed(region) {
            Ok(reg) => {
                let reg = reg.erase();
                region.with_bound(|b| b.btt_seed = Some(reg))?;
            }
            Err(e) => dev_err!(dev, "failed to create seed: {:?}\n", e.to_errno()),
        }
        match pfn_devs::create_seed(region) {
            Ok(reg) => {
                let reg = reg.erase();
                region.with_bound(|b| b.pfn_seed = Some(reg))?;
            }
            Err(e) => dev_err!(dev, "failed to create seed: {:?}\n", e.to_errno()),
        }
        match dax_devs::create_seed(region) {
            Ok(reg) => {
                let reg = reg.erase();
                region.with_bound(|b| b.dax_seed = Some(reg))?;
            }
            Err(e) => dev_err!(dev, "failed to create seed: {:?}\n", e.to_errno()),
        }
        // Registering may bind nd_pmem, which takes the region lock: do it
        // unlocked, one namespace at a time.
        let (mut active, total) = (0u32, news.len() as u32);
        let mut first = None;
        for new in news {
            match namespace::register(region, new) {
                Ok(reg) => {
                    active += 1;
                    if first.is_none() {
                        first = Some(DeviceRef::new(reg.get().device()));
                    }
                    let reg = reg.erase();
                    region.with_bound(|b| b.namespaces.push(reg, GFP_KERNEL))??;
                }
                Err(e) => dev_dbg!(dev, "namespace registration failed: {:?}\n", e.to_errno()),
            }
        }
        if total > 0 && active == 0 {
            region.disable();
            return Err(ENODEV);
        }
        let seed_bound = first.as_ref().is_some_and(|s| s.device().has_driver());
        region.with_bound(|b| {
            b.ns_active = active;
            b.ns_count = total;
            b.ns_seed = first;
        })?;
        // The seed may have bound while it registered, before it was the seed.
        if seed_bound && region.nstype() == nd_type::NAMESPACE_PMEM {
            create_namespace_seed(region)?;
        }
        if active < total {
            dev_err!(dev, "failed to register {} namespace{}, continuing...\n", total - active,
                if total - active == 1 { "" } else { "s" });
        }
        Ok(())
    }

    fn remove(dev: &Device) {
        if let Some(region) = region::of(dev) {
            region.disable();
        }
    }
}

/// Registers a new idle pmem namespace and makes it the region's seed.
fn create_namespace_seed(region: &Region) -> Result {
    let id = region.alloc_ns_id()?;
    let reg = namespace::register(region, NewNamespace::seed(id))?;
    let seed = DeviceRef::new(reg.get().device());
    let reg = reg.erase();
    region.with_bound(move |b| {
        b.ns_seed = Some(seed);
        b.namespaces.push(reg, GFP_KERNEL)
    })??;
    Ok(())
}

/// Called after a driver bound `child` of `region`
/// (`nd_region_advance_seeds`): when it was the namespace seed, or a
/// personality device claiming the namespace seed, offer a new idle
/// namespace; when it was the btt (pfn, dax) seed, a new btt (pfn, dax)
/// seed.
///
/// Unlike C, not under the bus lock: our devices register synchronously,
/// and their probes may take it.
pub(crate) fn advance_seeds(region: &Region, child: &Device) {
    let mut ns_seed_used = region.is_seed(child);
    if let Some(btt) = NdBtt::of(child) {
        if region.is_btt_seed(child) {
            create_btt_seed(region);
        }
        ns_seed_used = btt.namespace().is_some_and(|ns| region.is_seed(ns.device()));
    } else if let Some(pfn) = NdPfn::of(child).or_else(|| dax_devs::of(child)) {
        if region.is_pfn_seed(child) {
            create_pfn_seed(region, child);
        }
        ns_seed_used = pfn.namespace().is_some_and(|ns| region.is_seed(ns.device()));
    }
    if ns_seed_used && region.nstype() == nd_type::NAMESPACE_PMEM {
        if let Err(e) = create_namespace_seed(region) {
            dev_err!(region.device(), "failed to create namespace: {:?}\n", e.to_errno());
        }
    }
}

/// Registers a new btt seed; the old one stays as a configured btt
/// (`nd_region_create_btt_seed`).
fn create_btt_seed(region: &Region) {
    match btt_devs::create_seed(region) {
        Ok(reg) => {
            let reg = reg.erase();
            // The old seed (being probed now) must not be dropped here:
            // room for it first, or the new seed goes instead.
            let _ = region.with_bound(|b| {
                if b.btts.reserve(1, GFP_KERNEL).is_err() {
                    return;
                }
                if let Some(old) = b.btt_seed.replace(reg) {
                    let _ = b.btts.push(old, GFP_KERNEL);
                }
            });
        }
        Err(e) => dev_err!(region.device(), "failed to create btt namespace: {:?}\n", e.to_errno()),
    }
}

/// Registers a new pfn (dax) seed in place of `old`, the seed being probed
/// now, which stays as a configured device (`nd_region_create_pfn_seed`,
/// `nd_region_create_dax_seed`).
fn create_pfn_seed(region: &Region, old: &Device) {
    let dax = dax_devs::of(old).is_some();
    let new = if dax { dax_devs::create_seed(region) } else { pfn_devs::create_seed(region) };
    match new {
        Ok(reg) => {
            let reg = reg.erase();
            let _ = region.with_bound(|b| {
                if b.pfns.reserve(1, GFP_KERNEL).is_err() {
                    return;
                }
                let seed = if dax { &mut b.dax_seed } else { &mut b.pfn_seed };
                if let Some(old) = seed.replace(reg) {
                    let _ = b.pfns.push(old, GFP_KERNEL);
                }
            });
        }
        Err(e) => dev_err!(region.device(), "failed to create {} namespace: {:?}\n",
            if dax { "dax" } else { "pfn" }, e.to_errno()),
    }
}
