// SPDX-License-Identifier: GPL-2.0
//! SPA ranges turned into regions (`acpi_nfit_register_region`), and the
//! nfit/ attributes of regionN.

use core::fmt::Write;

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::bus::NfitBus;
use crate::formats::nfit::{self, Nfit, Spa, SpaType};
use crate::glue::device::Device;
use crate::glue::iomem::IomemRange;
use crate::abi::provider::{Bus, Cookies, DimmRef, NewMapping, NewRegion};
use crate::glue::sysfs::{Attribute, Page};
use crate::glue::numa;
use crate::{attribute_group, dev_dbg, dev_err, dev_info, dev_warn, group_list, region_provider_attrs};

/// ND_REGION_PERSIST_CACHE and ND_REGION_PERSIST_MEMCTRL.
const ND_REGION_PERSIST_CACHE: u64 = 1 << 1;
const ND_REGION_PERSIST_MEMCTRL: u64 = 1 << 2;

/// regionN's provider data (`struct nfit_spa`).
pub(crate) struct NfitRegion {
    range_index: u16,
    /// The range in /proc/iomem, for persistent memory that firmware did
    /// not already publish; removed when the bus goes.
    _iomem: Option<IomemRange>,
}

region_provider_attrs!(NfitRegion);

// nfit/range_index: the SPA range the region comes from.
fn range_index_show(r: &NfitRegion, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", r.range_index);
    Ok(())
}
static RANGE_INDEX: Attribute<NfitRegion> = Attribute::ro(c"range_index", range_index_show);

attribute_group!(static NFIT_REGION_GROUP: NfitRegion, dir = Some(c"nfit"), [RANGE_INDEX]);
group_list!(static NFIT_REGION_GROUPS: NfitRegion = [NFIT_REGION_GROUP]);

/// Memory an emulated platform backs a range with.
pub(crate) use crate::abi::nfit::Range as Backing;

/// Registers a region for every SPA range that has one, in table order:
/// persistent memory, volatile memory and virtual disks.
pub(crate) fn register_all(
    parent: &Device,
    table: &Nfit<'_>,
    bus: &mut Bus<NfitBus>,
    dimms: &[(u32, DimmRef)],
    backing: &[Backing],
) -> Result {
    let mut flags = 0;
    if let Some(cap) = table.platform_capabilities() {
        // Hierarchical: a CPU-cache flush implies a memory-controller flush.
        if cap & nfit::CAP_CACHE_FLUSH != 0 {
            flags |= ND_REGION_PERSIST_CACHE;
        } else if cap & nfit::CAP_MEM_FLUSH != 0 {
            flags |= ND_REGION_PERSIST_MEMCTRL;
        }
    }
    for spa in table.spas() {
        let Some(ty) = spa.spa_type() else { continue };
        let registers = matches!(ty, SpaType::Pm | SpaType::Volatile) || ty.is_virtual();
        // C passes control regions through acpi_nfit_register_region too,
        // which only picks their nodes (and logs the fallback) before
        // finding no region type to create.
        if !registers && ty != SpaType::Dcr {
            continue;
        }
        if spa.range_index() == 0 && !ty.is_virtual() {
            dev_dbg!(parent, "detected invalid spa index\n");
            continue;
        }
        if !registers {
            nodes(parent, &spa);
            continue;
        }
        if let Err(e) = register(parent, table, &spa, ty, flags, bus, dimms, backing) {
            dev_err!(parent, "failed to register spa range {}\n", spa.range_index());
            return Err(e);
        }
    }
    Ok(())
}

/// The range's NUMA node and target node: its proximity domain's when
/// firmware gives one, otherwise what the address says, logged as C does.
fn nodes(parent: &Device, spa: &Spa<'_>) -> (i32, i32) {
    let (mut node, mut target) = if spa.flags() & nfit::SPA_PROXIMITY_VALID != 0 {
        (numa::pxm_to_online_node(spa.proximity_domain()), numa::pxm_to_node(spa.proximity_domain()))
    } else {
        (numa::NO_NODE, numa::NO_NODE)
    };
    let (start, end) = (spa.address(), spa.address().wrapping_add(spa.length()).wrapping_sub(1));
    if node == numa::NO_NODE {
        node = numa::memory_add_physaddr_to_nid(start);
        dev_info!(parent, "changing numa node from {} to {} for nfit region [{:#018x}-{:#018x}]\n",
            numa::NO_NODE, node, start, end);
    }
    if target == numa::NO_NODE {
        target = numa::phys_to_target_node(start);
        dev_info!(parent, "changing target node from {} to {} for nfit region [{:#018x}-{:#018x}]\n",
            numa::NO_NODE, target, start, end);
    }
    (node, target)
}

/// The range's interleave set, computed in a frame of its own: the cookie
/// records are kilobytes of stack, and region registration goes on to
/// probe drivers several calls deeper.
#[inline(never)]
fn interleave_set(table: &Nfit<'_>, spa: &Spa<'_>) -> Result<nfit::InterleaveSet> {
    table.interleave_set(spa).map_err(|e| Error::from_errno(-e.to_errno()))
}

fn register(
    parent: &Device,
    table: &Nfit<'_>,
    spa: &Spa<'_>,
    ty: SpaType,
    flags: u64,
    bus: &mut Bus<NfitBus>,
    dimms: &[(u32, DimmRef)],
    backing: &[Backing],
) -> Result {
    let iset = interleave_set(table, spa)?;
    let mut mappings = KVec::new();
    for (i, memdev) in table.mappings(spa).enumerate() {
        let handle = memdev.device_handle().0;
        let dimm = dimms.iter().find(|(h, _)| *h == handle).map(|(_, d)| *d).ok_or(ENODEV)?;
        let position = iset.position(i).ok_or(ENXIO)? as u32;
        mappings.push(
            NewMapping { dimm, start: memdev.address(), size: memdev.region_size(), position },
            GFP_KERNEL,
        )?;
    }
    let (start, size) = (spa.address(), spa.length());
    let (numa_node, target_node) = nodes(parent, spa);
    let mapping = backing.iter().find(|b| b.start == start && b.len >= size).copied();
    // Emulated ranges are platform memory, not physical address space.
    let iomem = if ty == SpaType::Pm && mapping.is_none() {
        match IomemRange::insert_persistent(c"Persistent Memory", start, size) {
            Ok(r) => r,
            Err(e) => {
                dev_warn!(parent, "failed to insert pmem resource to iomem: {:?}\n", e.to_errno());
                return Err(e);
            }
        }
    } else {
        None
    };
    bus.add_region(NewRegion {
        data: Arc::new(NfitRegion { range_index: spa.range_index(), _iomem: iomem }, GFP_KERNEL)?,
        groups: &NFIT_REGION_GROUPS,
        start,
        size,
        mapping,
        mappings: &mappings,
        cookies: Some(Cookies {
            cookie1: iset.cookie1,
            cookie2: iset.cookie2,
            altcookie: iset.altcookie,
            type_guid: spa.range_guid().0,
        }),
        numa_node,
        target_node,
        flags,
        volatile: ty.is_volatile(),
        flush: false,
    })
}
