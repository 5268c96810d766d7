// SPDX-License-Identifier: GPL-2.0
//! pfnN.M: a region's fsdax devices, which give a namespace struct pages
//! (C's `pfn_devs.c`). A daxN.M (dax_devs.rs) is the same object in
//! device-dax mode, with the same attributes.
//!
//! Each region offers one idle pfn seed. Claiming a namespace and the
//! fsdax driver come with the issue that adds the mode; until then the seed
//! shows C's idle state.

use core::fmt::Write;

use kernel::prelude::*;

use crate::claim::{enabled_only_show, unclaimed_show};
use crate::glue::device::{Device, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::glue::sysfs::{Attribute, Page};
use crate::nd::nd_type;
use crate::region::Region;
use crate::{attribute_group, device_object, group_list};

/// Page, PMD and PUD sizes: the mapping alignments x86 supports with
/// transparent hugepages and 1 GiB pages (`nd_pfn_supported_alignments`).
const PFN_ALIGNMENTS: [u64; 3] = [4096, 2 << 20, 1 << 30];
/// The default alignment: a PMD, for huge-page mappings.
const PFN_DEFAULT_ALIGN: u64 = 2 << 20;

/// pfnN.M or daxN.M (`struct nd_pfn`, which C's `nd_dax` embeds).
#[pin_data]
pub(crate) struct NdPfn {
    dev: EmbeddedDevice,
    /// A daxN.M: the pfn device of device-dax mode.
    dax: bool,
}

device_object!(NdPfn, dev);

impl NdPfn {
    /// The nd type: a dax device is its own type; a pfn device takes its
    /// region's namespace type, so namespace drivers see it.
    pub(crate) fn nd_type(&self) -> u32 {
        if self.dax {
            nd_type::DAX_PMEM
        } else {
            Region::of_child(&self.dev).map_or(0, |r| r.nstype())
        }
    }

    /// The pfn device behind `dev`, if it is a pfnN.M.
    pub(crate) fn of(dev: &Device) -> Option<&NdPfn> {
        PFN_TYPE.downcast(dev)
    }
}

fn modalias_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", pfn.nd_type());
    Ok(())
}
static MODALIAS: Attribute<NdPfn> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", if pfn.dax { "nd_dax" } else { "nd_pfn" });
    Ok(())
}
static DEVTYPE: Attribute<NdPfn> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: NdPfn, dir = None, [MODALIAS, DEVTYPE]);

fn mode_show(_pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "none");
    Ok(())
}

fn align_show(_pfn: &NdPfn, page: &mut Page) -> Result {
    let _ = writeln!(page, "{PFN_DEFAULT_ALIGN}");
    Ok(())
}

fn supported_alignments_show(_pfn: &NdPfn, page: &mut Page) -> Result {
    page.write_size_select(0, &PFN_ALIGNMENTS);
    Ok(())
}

static MODE: Attribute<NdPfn> = Attribute::ro(c"mode", mode_show);
static ALIGN: Attribute<NdPfn> = Attribute::ro(c"align", align_show);
static UUID: Attribute<NdPfn> = Attribute::ro(c"uuid", unclaimed_show);
static NAMESPACE: Attribute<NdPfn> = Attribute::ro(c"namespace", unclaimed_show);
static RESOURCE: Attribute<NdPfn> = Attribute::admin_ro(c"resource", enabled_only_show);
static SIZE: Attribute<NdPfn> = Attribute::ro(c"size", enabled_only_show);
static SUPPORTED_ALIGNMENTS: Attribute<NdPfn> = Attribute::ro(c"supported_alignments", supported_alignments_show);

attribute_group!(static PFN_GROUP: NdPfn, dir = None, [
    MODE, ALIGN, UUID, NAMESPACE, RESOURCE, SIZE, SUPPORTED_ALIGNMENTS
]);
// The groups of pfn and dax devices.
group_list!(pub(crate) static PFN_GROUPS: NdPfn = [PFN_GROUP, ND_DEVICE_GROUP]);
static PFN_TYPE: DeviceType<NdPfn> = DeviceType::new(c"nd_pfn", &PFN_GROUPS);

/// Registers `name` under `region`, of type `ty` (pfn or dax).
pub(crate) fn register(
    region: &Region,
    ty: &'static DeviceType<NdPfn>,
    dax: bool,
    name: core::fmt::Arguments<'_>,
) -> Result<Registration<NdPfn>> {
    let init = try_pin_init!(NdPfn { dev: EmbeddedDevice::zeroed(), dax }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
    };
    Registration::new(init, place, name)
}

/// Registers the idle pfn seed pfnR.`id` of `region`.
#[inline(never)]
pub(crate) fn create_seed(region: &Region, id: u32) -> Result<Registration<NdPfn>> {
    register(region, &PFN_TYPE, false, format_args!("pfn{}.{}", region.id(), id))
}
