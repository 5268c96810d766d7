// SPDX-License-Identifier: GPL-2.0
//! daxN.M: a region's device-dax devices (C's `dax_devs.c`), pfn devices
//! (pfn_devs.rs) in device-dax mode.
//!
//! Each region offers one idle dax seed. Claiming a namespace and the
//! dax_pmem driver come with the issue that adds device-dax; until then the
//! seed shows C's idle state.

use kernel::prelude::*;

use crate::glue::device::{Device, DeviceType, Registration};
use crate::pfn_devs::{self, NdPfn};
use crate::region::Region;

static DAX_TYPE: DeviceType<NdPfn> = DeviceType::new(c"nd_dax", &pfn_devs::PFN_GROUPS);

/// The dax device behind `dev`, if it is a daxN.M.
pub(crate) fn of(dev: &Device) -> Option<&NdPfn> {
    DAX_TYPE.downcast(dev)
}

/// Registers the idle dax seed daxR.`id` of `region`.
#[inline(never)]
pub(crate) fn create_seed(region: &Region, id: u32) -> Result<Registration<NdPfn>> {
    pfn_devs::register(region, &DAX_TYPE, true, format_args!("dax{}.{}", region.id(), id))
}
