// SPDX-License-Identifier: GPL-2.0
//! daxN.M: a region's device-dax devices (C's `dax_devs.c`), pfn devices
//! (pfn_devs.rs) in device-dax mode: the same attributes, claims of the
//! dax class, numbers from the region's own dax ida.
//!
//! Each region offers one idle dax seed. The dax_pmem driver comes with the
//! issue that adds device-dax; until then a configured dax device does not
//! bind.

use kernel::prelude::*;

use crate::glue::device::{Device, DeviceType, Registration};
use crate::pfn_devs::{self, NdPfn};
use crate::region::Region;

static DAX_TYPE: DeviceType<NdPfn> = DeviceType::new(c"nd_dax", &pfn_devs::PFN_GROUPS);

/// The dax device behind `dev`, if it is a daxN.M.
pub(crate) fn of(dev: &Device) -> Option<&NdPfn> {
    DAX_TYPE.downcast(dev)
}

/// Registers an idle dax seed daxR.M of `region`, M its lowest free dax
/// number (`nd_dax_create`).
#[inline(never)]
pub(crate) fn create_seed(region: &Region) -> Result<Registration<NdPfn>> {
    pfn_devs::register(region, &DAX_TYPE, true, region.alloc_dax_id()?)
}
