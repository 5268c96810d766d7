// SPDX-License-Identifier: GPL-2.0
//! The ACPI side of nfit: binding ACPI0012 and the _DSM command transport.
//! (Filled in below; the emulated path does not use it.)

use kernel::prelude::*;

use crate::dimm::NfitDimm;

/// The ACPI driver registration (ACPI0012).
pub(crate) struct DriverRegistration;

pub(crate) fn register(_module: &'static ThisModule) -> Result<DriverRegistration> {
    Ok(DriverRegistration)
}

/// _DSM transport of an ACPI NFIT.
pub(crate) struct Dsm;

impl Dsm {
    pub(crate) fn ctl(&self, _dimm: Option<&NfitDimm>, _cmd: u32, _buf: &mut [u8]) -> Result<i32> {
        Err(ENOTTY)
    }

    pub(crate) fn probe_dimm(&self, _dimm: &mut NfitDimm) -> Result {
        Err(ENODEV)
    }
}
