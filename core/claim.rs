// SPDX-License-Identifier: GPL-2.0
//! What btt, pfn and dax devices share about claiming a namespace (C's
//! `claim.c`): the attributes that show the claim.
//!
//! A personality device claims a namespace when it is configured through
//! its `namespace` attribute, and its driver then shows where the claimed
//! capacity lies. Neither the claim nor the personality drivers exist yet
//! (nd_btt, fsdax and dax_pmem come with their issues), so every device is
//! an idle seed: it claims no namespace, and the attributes that need an
//! enabled device are ENXIO, as C's are on an idle seed.

use core::fmt::Write;

use kernel::prelude::*;

use crate::glue::device::DeviceObject;
use crate::glue::sysfs::Page;

/// `namespace` and `uuid` of a device that claims no namespace: an empty
/// line (C: `nd_namespace_show` without `ndns`).
pub(crate) fn unclaimed_show<T>(_dev: &T, page: &mut Page) -> Result {
    let _ = writeln!(page);
    Ok(())
}

/// `size` and `resource`: only while a personality driver has the device
/// enabled, which none can be yet; C answers ENXIO on an idle seed.
pub(crate) fn enabled_only_show<T: DeviceObject>(dev: &T, _page: &mut Page) -> Result {
    let _guard = dev.device().lock();
    Err(ENXIO)
}
