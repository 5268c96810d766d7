// SPDX-License-Identifier: GPL-2.0
//! bttN.M: a region's BTT (sector mode) devices (C's `btt_devs.c`).
//!
//! Each region offers one idle BTT seed. Claiming a namespace and the
//! nd_btt driver behind it come with the issue that adds sector mode; until
//! then the seed shows C's idle state.

use core::fmt::Write;

use kernel::prelude::*;

use crate::claim::{enabled_only_show, unclaimed_show};
use crate::glue::device::{Device, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::glue::sysfs::{Attribute, Page};
use crate::region::Region;
use crate::{attribute_group, device_object, group_list};

/// Sector sizes a BTT can present (`btt_lbasize_supported`).
const BTT_SECTOR_SIZES: [u64; 7] = [512, 520, 528, 4096, 4104, 4160, 4224];

/// bttN.M (`struct nd_btt`).
#[pin_data]
pub(crate) struct NdBtt {
    dev: EmbeddedDevice,
}

device_object!(NdBtt, dev);

impl NdBtt {
    /// The nd type: its region's namespace type, so namespace drivers
    /// see it.
    pub(crate) fn nd_type(&self) -> u32 {
        Region::of_child(&self.dev).map_or(0, |r| r.nstype())
    }

    /// The BTT device behind `dev`, if it is one.
    pub(crate) fn of(dev: &Device) -> Option<&NdBtt> {
        BTT_TYPE.downcast(dev)
    }
}

fn modalias_show(btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", btt.nd_type());
    Ok(())
}
static MODALIAS: Attribute<NdBtt> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(_btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd_btt");
    Ok(())
}
static DEVTYPE: Attribute<NdBtt> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: NdBtt, dir = None, [MODALIAS, DEVTYPE]);

fn sector_size_show(_btt: &NdBtt, page: &mut Page) -> Result {
    page.write_size_select(0, &BTT_SECTOR_SIZES);
    Ok(())
}

fn log_zero_flags_show(_btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "Y");
    Ok(())
}

static SECTOR_SIZE: Attribute<NdBtt> = Attribute::ro(c"sector_size", sector_size_show);
static NAMESPACE: Attribute<NdBtt> = Attribute::ro(c"namespace", unclaimed_show);
static UUID: Attribute<NdBtt> = Attribute::ro(c"uuid", unclaimed_show);
static SIZE: Attribute<NdBtt> = Attribute::ro(c"size", enabled_only_show);
static LOG_ZERO_FLAGS: Attribute<NdBtt> = Attribute::ro(c"log_zero_flags", log_zero_flags_show);

attribute_group!(static BTT_GROUP: NdBtt, dir = None, [SECTOR_SIZE, NAMESPACE, UUID, SIZE, LOG_ZERO_FLAGS]);
group_list!(static BTT_GROUPS: NdBtt = [BTT_GROUP, ND_DEVICE_GROUP]);
static BTT_TYPE: DeviceType<NdBtt> = DeviceType::new(c"nd_btt", &BTT_GROUPS);

/// Registers the idle BTT seed bttR.`id` of `region`.
#[inline(never)]
pub(crate) fn create_seed(region: &Region, id: u32) -> Result<Registration<NdBtt>> {
    let init = try_pin_init!(NdBtt { dev: EmbeddedDevice::zeroed() }? Error);
    let place = Placement {
        parent: Some(region.device()),
        ty: &BTT_TYPE,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
    };
    Registration::new(init, place, format_args!("btt{}.{}", region.id(), id))
}
