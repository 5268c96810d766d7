// SPDX-License-Identifier: GPL-2.0
//! daxN.M: a region's device-dax devices (C's `dax_devs.c`), pfn devices
//! (pfn_devs.rs) in device-dax mode: the same attributes, claims of the
//! dax class, numbers from the region's own dax ida.
//!
//! Each region offers one idle dax seed. dax_pmem (dax/dax_pmem.rs) binds
//! a configured one: its probe is pfn_devs.rs's `driver_probe`, which hands
//! it the pfn setup, the info block's align and the namespace's name
//! (`NamespaceKind::Dax`). A raw namespace holding a valid dax info block
//! gets a dax device claiming it when nd_pmem probes it ([`probe_raw`],
//! C's `nd_dax_probe`), which dax_pmem then binds.

use kernel::prelude::*;

use crate::claim::NsIo;
use crate::glue::device::{Device, DeviceType, Registration};
use crate::namespace::Namespace;
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

/// `nd_dax_probe` for a raw namespace being probed (see
/// `pfn_devs::probe_raw`).
pub(crate) fn probe_raw(ns: &Namespace, io: &NsIo) -> Result {
    pfn_devs::probe_raw(ns, io, &DAX_TYPE, true)
}
