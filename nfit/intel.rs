// SPDX-License-Identifier: GPL-2.0
//! The Intel DSM family: security state and shutdown status, read through
//! ND_CMD_CALL packages so that both ACPI and emulated platforms serve them.

use crate::dimm::NfitDimm;
use crate::formats::cmd;
use crate::formats::nfit::dsm::{NVDIMM_FAMILY_INTEL, PKG_COMMAND, PKG_FAMILY, PKG_FW_SIZE, PKG_SIZE_OUT};
use crate::formats::nfit::intel::{
    Smart, NVDIMM_INTEL_GET_SECURITY_STATE, ND_INTEL_SMART, SMART_LEN, SMART_SHUTDOWN_COUNT_VALID,
    SMART_SHUTDOWN_VALID,
};

/// `struct nd_intel_get_security_state`: status, extended_state, 3
/// reserved, state, 3 reserved.
const SECURITY_STATE_LEN: usize = 12;
const SEC_STATE_ENABLED: u8 = 0x02;
const SEC_STATE_LOCKED: u8 = 0x04;
const SEC_STATE_FROZEN: u8 = 0x08;
const SEC_STATE_PLIMIT: u8 = 0x10;
const SEC_STATE_UNSUPPORTED: u8 = 0x20;
const SEC_ESTATE_ENABLED: u8 = 0x01;
const SEC_ESTATE_PLIMIT: u8 = 0x02;

/// NVDIMM_SECURITY_* bits as libnvdimm reads them.
const SECURITY_DISABLED: u64 = 1 << 0;
const SECURITY_UNLOCKED: u64 = 1 << 1;
const SECURITY_LOCKED: u64 = 1 << 2;
const SECURITY_FROZEN: u64 = 1 << 3;

/// Runs Intel function `func` with no input and `N` output bytes.
fn call<const N: usize>(dimm: &NfitDimm, func: u32) -> Option<[u8; N]> {
    let mut buf = [0u8; 256];
    let buf = buf.get_mut(..cmd::PKG_HEADER + N)?;
    buf[PKG_FAMILY..PKG_FAMILY + 8].copy_from_slice(&(NVDIMM_FAMILY_INTEL as u64).to_le_bytes());
    buf[PKG_COMMAND..PKG_COMMAND + 8].copy_from_slice(&(func as u64).to_le_bytes());
    buf[PKG_SIZE_OUT..PKG_SIZE_OUT + 4].copy_from_slice(&(N as u32).to_le_bytes());
    buf[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&(N as u32).to_le_bytes());
    match dimm.transport().ctl(Some(dimm), cmd::CALL, buf) {
        Ok(c) if c.cmd_rc >= 0 => {
            let mut out = [0u8; N];
            out.copy_from_slice(&buf[cmd::PKG_HEADER..]);
            Some(out)
        }
        _ => None,
    }
}

/// The DIMM's security state for the user or master passphrase
/// (`intel_security_flags`); 0 when the DIMM does not report one.
pub(crate) fn security_flags(dimm: &NfitDimm, master: bool) -> u64 {
    if dimm.dsm_mask & (1 << NVDIMM_INTEL_GET_SECURITY_STATE) == 0 {
        return 0;
    }
    let Some(st) = call::<SECURITY_STATE_LEN>(dimm, NVDIMM_INTEL_GET_SECURITY_STATE) else {
        return 0;
    };
    let status = u32::from_le_bytes([st[0], st[1], st[2], st[3]]);
    if status != 0 {
        return 0;
    }
    let (extended, state) = (st[4], st[8]);
    let mut flags = 0;
    if master {
        flags |= if extended & SEC_ESTATE_ENABLED != 0 { SECURITY_UNLOCKED } else { SECURITY_DISABLED };
        if extended & SEC_ESTATE_PLIMIT != 0 {
            flags |= SECURITY_FROZEN;
        }
        return flags;
    }
    if state & SEC_STATE_UNSUPPORTED != 0 {
        return 0;
    }
    if state & SEC_STATE_ENABLED == 0 {
        return SECURITY_DISABLED;
    }
    if state & (SEC_STATE_FROZEN | SEC_STATE_PLIMIT) != 0 {
        flags |= SECURITY_FROZEN;
    }
    flags | if state & SEC_STATE_LOCKED != 0 { SECURITY_LOCKED } else { SECURITY_UNLOCKED }
}

/// What the SMART payload says about the last shutdown.
pub(crate) struct ShutdownState {
    /// The last shutdown was dirty.
    pub(crate) dirty: bool,
    /// Dirty shutdowns so far, if reported.
    pub(crate) count: Option<u32>,
}

/// The DIMM's SMART payload (ND_INTEL_SMART), if it has the function and
/// the firmware answers with status 0.
pub(crate) fn smart(dimm: &NfitDimm) -> Option<Smart> {
    if dimm.family() != Some(NVDIMM_FAMILY_INTEL) || dimm.dsm_mask & (1 << ND_INTEL_SMART) == 0 {
        return None;
    }
    let raw = call::<SMART_LEN>(dimm, ND_INTEL_SMART)?;
    if raw[..4] != [0; 4] {
        return None;
    }
    Smart::from_bytes(&raw)
}

/// Reads the shutdown status from SMART (`nfit_intel_shutdown_status`).
pub(crate) fn shutdown_state(dimm: &NfitDimm) -> Option<ShutdownState> {
    if dimm.dsm_mask & (1 << ND_INTEL_SMART) == 0 {
        return None;
    }
    let raw = call::<SMART_LEN>(dimm, ND_INTEL_SMART)?;
    let smart = Smart::from_bytes(&raw)?;
    Some(ShutdownState {
        dirty: smart.flags & SMART_SHUTDOWN_VALID != 0 && smart.shutdown_state != 0,
        count: (smart.flags & SMART_SHUTDOWN_COUNT_VALID != 0).then_some(smart.shutdown_count),
    })
}
