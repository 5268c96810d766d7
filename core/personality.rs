// SPDX-License-Identifier: GPL-2.0
//! Personality devices: bttN.M (sector mode), pfnN.M (fsdax) and daxN.M
//! (devdax), the children of a region that claim a namespace and give it
//! another format (`btt_devs.c`, `pfn_devs.c`, `dax_devs.c` in C).
//!
//! Each region offers one idle seed of each kind. Claiming a namespace
//! and the drivers behind them (nd_btt, fsdax, dax_pmem) come with the
//! issues that add those modes; until then the seeds show C's idle state.

use core::fmt::Write;

use kernel::prelude::*;

use crate::bus::{nd_type, ND_BUS};
use crate::glue::device::{Device, DeviceType, Placement, Registration};
use crate::glue::sysfs::{Attribute, Page};
use crate::region::Region;
use crate::{attribute_group, device_object, group_list};

/// Which personality.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// bttN.M.
    Btt,
    /// pfnN.M.
    Pfn,
    /// daxN.M.
    Dax,
}

/// Sector sizes a BTT can present (`btt_lbasize_supported`).
const BTT_SECTOR_SIZES: [u64; 7] = [512, 520, 528, 4096, 4104, 4160, 4224];
/// Page, PMD and PUD sizes: the mapping alignments x86 supports with
/// transparent hugepages and 1 GiB pages (`nd_pfn_supported_alignments`).
const PFN_ALIGNMENTS: [u64; 3] = [4096, 2 << 20, 1 << 30];
/// The default alignment: a PMD, for huge-page mappings.
const PFN_DEFAULT_ALIGN: u64 = 2 << 20;

/// A btt, pfn or dax device.
#[pin_data]
pub(crate) struct Personality {
    dev: Device,
    kind: Kind,
}

device_object!(Personality, dev);

impl Personality {
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// The nd type: a dax device is its own type; btt and pfn devices take
    /// their region's namespace type, so namespace drivers see them.
    pub(crate) fn nd_type(&self) -> u32 {
        match self.kind {
            Kind::Dax => nd_type::DAX_PMEM,
            _ => Region::of_child(&self.dev).map_or(0, |r| r.nstype()),
        }
    }

    /// The personality behind `dev`, if it is one.
    pub(crate) fn of(dev: &Device) -> Option<&Personality> {
        BTT_TYPE.downcast(dev).or_else(|| PFN_TYPE.downcast(dev)).or_else(|| DAX_TYPE.downcast(dev))
    }
}

fn modalias_show(p: &Personality, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", p.nd_type());
    Ok(())
}
static MODALIAS: Attribute<Personality> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(p: &Personality, page: &mut Page) -> Result {
    let name = match p.kind {
        Kind::Btt => "nd_btt",
        Kind::Pfn => "nd_pfn",
        Kind::Dax => "nd_dax",
    };
    let _ = writeln!(page, "{name}");
    Ok(())
}
static DEVTYPE: Attribute<Personality> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: Personality, dir = None, [MODALIAS, DEVTYPE]);

// An idle seed claims no namespace and has no uuid.
fn empty_show(_p: &Personality, page: &mut Page) -> Result {
    let _ = writeln!(page);
    Ok(())
}

// Size and placement exist only while a driver has the device enabled.
fn enabled_only_show(p: &Personality, _page: &mut Page) -> Result {
    let _guard = p.dev.lock();
    // No personality driver binds yet, so there is nothing to convey.
    Err(ENXIO)
}

fn btt_sector_size_show(_p: &Personality, page: &mut Page) -> Result {
    page.write_size_select(0, &BTT_SECTOR_SIZES);
    Ok(())
}

fn log_zero_flags_show(_p: &Personality, page: &mut Page) -> Result {
    let _ = writeln!(page, "Y");
    Ok(())
}

static BTT_SECTOR_SIZE: Attribute<Personality> = Attribute::ro(c"sector_size", btt_sector_size_show);
static BTT_NAMESPACE: Attribute<Personality> = Attribute::ro(c"namespace", empty_show);
static BTT_UUID: Attribute<Personality> = Attribute::ro(c"uuid", empty_show);
static BTT_SIZE: Attribute<Personality> = Attribute::ro(c"size", enabled_only_show);
static LOG_ZERO_FLAGS: Attribute<Personality> = Attribute::ro(c"log_zero_flags", log_zero_flags_show);

attribute_group!(static BTT_GROUP: Personality, dir = None, [
    BTT_SECTOR_SIZE, BTT_NAMESPACE, BTT_UUID, BTT_SIZE, LOG_ZERO_FLAGS
]);
group_list!(static BTT_GROUPS: Personality = [BTT_GROUP, ND_DEVICE_GROUP]);
static BTT_TYPE: DeviceType<Personality> = DeviceType::new(c"nd_btt", &BTT_GROUPS);

fn mode_show(_p: &Personality, page: &mut Page) -> Result {
    let _ = writeln!(page, "none");
    Ok(())
}

fn align_show(_p: &Personality, page: &mut Page) -> Result {
    let _ = writeln!(page, "{PFN_DEFAULT_ALIGN}");
    Ok(())
}

fn supported_alignments_show(_p: &Personality, page: &mut Page) -> Result {
    page.write_size_select(0, &PFN_ALIGNMENTS);
    Ok(())
}

static PFN_MODE: Attribute<Personality> = Attribute::ro(c"mode", mode_show);
static PFN_ALIGN: Attribute<Personality> = Attribute::ro(c"align", align_show);
static PFN_UUID: Attribute<Personality> = Attribute::ro(c"uuid", empty_show);
static PFN_NAMESPACE: Attribute<Personality> = Attribute::ro(c"namespace", empty_show);
static PFN_RESOURCE: Attribute<Personality> = Attribute::admin_ro(c"resource", enabled_only_show);
static PFN_SIZE: Attribute<Personality> = Attribute::ro(c"size", enabled_only_show);
static SUPPORTED_ALIGNMENTS: Attribute<Personality> = Attribute::ro(c"supported_alignments", supported_alignments_show);

attribute_group!(static PFN_GROUP: Personality, dir = None, [
    PFN_MODE, PFN_ALIGN, PFN_UUID, PFN_NAMESPACE, PFN_RESOURCE, PFN_SIZE, SUPPORTED_ALIGNMENTS
]);
group_list!(static PFN_GROUPS: Personality = [PFN_GROUP, ND_DEVICE_GROUP]);
static PFN_TYPE: DeviceType<Personality> = DeviceType::new(c"nd_pfn", &PFN_GROUPS);
static DAX_TYPE: DeviceType<Personality> = DeviceType::new(c"nd_dax", &PFN_GROUPS);

/// Registers the idle `kind` seed `id` of `region` (btt`R`.`id`, ...).
#[inline(never)]
pub(crate) fn create_seed(region: &Region, kind: Kind, id: u32) -> Result<Registration<Personality>> {
    let (ty, prefix) = match kind {
        Kind::Btt => (&BTT_TYPE, "btt"),
        Kind::Pfn => (&PFN_TYPE, "pfn"),
        Kind::Dax => (&DAX_TYPE, "dax"),
    };
    let init = try_pin_init!(Personality { dev: Device::zeroed(), kind }? Error);
    let place = Placement { parent: Some(region.device()), ty, bus: Some(&ND_BUS), provider: None, devt: 0 };
    Registration::new(init, place, format_args!("{}{}.{}", prefix, region.id(), id))
}
