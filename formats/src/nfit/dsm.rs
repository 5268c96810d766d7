//! What the nfit driver adds to the ND_CMD protocol (`super::super::cmd`):
//! DSM families, root-device DSM functions, the DIMM command mask built
//! from a DSM mask, and the label command payloads as byte offsets
//! (`include/uapi/linux/ndctl.h`). All fields are little-endian.

use super::super::cmd as nd;

/// The commands whose DSM payload equals the ioctl payload
/// (`NVDIMM_STANDARD_CMDMASK`): an Intel-family DIMM exposes these from its
/// dsm_mask as ND_CMD commands.
pub const NVDIMM_STANDARD_CMDMASK: u64 = 1 << nd::SMART
    | 1 << nd::SMART_THRESHOLD
    | 1 << nd::DIMM_FLAGS
    | 1 << nd::GET_CONFIG_SIZE
    | 1 << nd::GET_CONFIG_DATA
    | 1 << nd::SET_CONFIG_DATA
    | 1 << nd::VENDOR_EFFECT_LOG_SIZE
    | 1 << nd::VENDOR_EFFECT_LOG
    | 1 << nd::VENDOR;

/// DIMM DSM family: Intel (the one nfit_test emulates).
pub const NVDIMM_FAMILY_INTEL: u32 = 0;
/// DIMM DSM family: HPE1.
pub const NVDIMM_FAMILY_HPE1: u32 = 1;
/// DIMM DSM family: HPE2.
pub const NVDIMM_FAMILY_HPE2: u32 = 2;
/// DIMM DSM family: Microsoft.
pub const NVDIMM_FAMILY_MSFT: u32 = 3;
/// DIMM DSM family: Hyper-V.
pub const NVDIMM_FAMILY_HYPERV: u32 = 4;
/// DIMM DSM family: PAPR.
pub const NVDIMM_FAMILY_PAPR: u32 = 5;
/// Root-device DSM family: the ACPI NFIT root DSMs.
pub const NVDIMM_BUS_FAMILY_NFIT: u32 = 0;
/// Root-device DSM family: Intel firmware activation.
pub const NVDIMM_BUS_FAMILY_INTEL: u32 = 1;

/// Root NFIT DSM: translate SPA (reachable only through ND_CMD_CALL).
pub const NFIT_CMD_TRANSLATE_SPA: u32 = 5;
/// Root NFIT DSM: inject an ARS error.
pub const NFIT_CMD_ARS_INJECT_SET: u32 = 7;
/// Root NFIT DSM: clear an injected error.
pub const NFIT_CMD_ARS_INJECT_CLEAR: u32 = 8;
/// Root NFIT DSM: list injected errors.
pub const NFIT_CMD_ARS_INJECT_GET: u32 = 9;

/// A DIMM's libnvdimm command mask when it has no ACPI companion (nfit_test):
/// ND_CMD_CALL, plus for Intel-family DIMMs the standard commands of its
/// dsm_mask (acpi_nfit_register_dimms()).
pub const fn dimm_cmd_mask(family: u32, dsm_mask: u64) -> u64 {
    let call = 1 << nd::CALL;
    if family == NVDIMM_FAMILY_INTEL {
        call | (dsm_mask & NVDIMM_STANDARD_CMDMASK)
    } else {
        call
    }
}

/// `struct nd_cmd_pkg` (ND_CMD_CALL): family, u64.
pub const PKG_FAMILY: usize = 0;
/// `nd_cmd_pkg`: function number, u64.
pub const PKG_COMMAND: usize = 8;
/// `nd_cmd_pkg`: input payload size, u32.
pub const PKG_SIZE_IN: usize = 16;
/// `nd_cmd_pkg`: output payload size, u32.
pub const PKG_SIZE_OUT: usize = 20;
/// `nd_cmd_pkg`: nine reserved u32s, must be zero.
pub const PKG_RESERVED: usize = 24;
/// `nd_cmd_pkg`: size the firmware wanted to return, u32. The payload
/// (input then output) starts at `cmd::PKG_HEADER`.
pub const PKG_FW_SIZE: usize = 60;

/// `struct nd_cmd_get_config_size`: status, u32.
pub const CONFIG_SIZE_STATUS: usize = 0;
/// `nd_cmd_get_config_size`: label area size, u32.
pub const CONFIG_SIZE_CONFIG_SIZE: usize = 4;
/// `nd_cmd_get_config_size`: largest transfer, u32.
pub const CONFIG_SIZE_MAX_XFER: usize = 8;
/// Size of `nd_cmd_get_config_size`.
pub const CONFIG_SIZE_LEN: usize = 12;

/// `struct nd_cmd_get_config_data_hdr`: label offset, u32.
pub const GET_DATA_IN_OFFSET: usize = 0;
/// `nd_cmd_get_config_data_hdr`: bytes to read, u32.
pub const GET_DATA_IN_LENGTH: usize = 4;
/// `nd_cmd_get_config_data_hdr`: status, u32.
pub const GET_DATA_STATUS: usize = 8;
/// `nd_cmd_get_config_data_hdr`: the data read follows the header.
pub const GET_DATA_OUT_BUF: usize = 12;

/// `struct nd_cmd_set_config_hdr`: label offset, u32.
pub const SET_DATA_IN_OFFSET: usize = 0;
/// `nd_cmd_set_config_hdr`: bytes to write, u32.
pub const SET_DATA_IN_LENGTH: usize = 4;
/// `nd_cmd_set_config_hdr`: the data follows the header, then a u32 status.
pub const SET_DATA_IN_BUF: usize = 8;

/// Errno values the status translation returns (negative, as C does).
mod errno {
    pub(super) const EIO: i32 = -5;
    pub(super) const EAGAIN: i32 = -11;
    pub(super) const EACCES: i32 = -13;
    pub(super) const EBUSY: i32 = -16;
    pub(super) const ENOTTY: i32 = -25;
    pub(super) const ENOSPC: i32 = -28;
}

/// ARS capabilities: no scrub supported.
const ARS_CAP_NONE: u32 = 1;
/// ARS start: a scrub is already running.
const ARS_START_BUSY: u32 = 6;
/// ARS status extended codes (upper half of the status word).
const ARS_STATUS_DONE: u32 = 0;
const ARS_STATUS_BUSY: u32 = 1 << 16;
const ARS_STATUS_NONE: u32 = 2 << 16;
const ARS_STATUS_INTR: u32 = 3 << 16;
/// ARS status flag: the record list overflowed.
const ARS_F_OVERFLOW: u16 = 1;
/// Label method status: labels locked.
const ACPI_LABELS_LOCKED: u32 = 3;

use super::super::le::{u32_at as le32_at, u64_at as le64_at};

/// The errno (or, for a partial clear, the bytes cleared) that a bus
/// command's firmware status means (`xlat_bus_status`). `payload` is the
/// whole ND payload, inputs then outputs, after the firmware filled it.
pub fn xlat_bus_status(payload: &[u8], cmd: u32, status: u32) -> i32 {
    let low = status & 0xffff;
    match cmd {
        nd::ARS_CAP => {
            if low == ARS_CAP_NONE {
                errno::ENOTTY
            } else if low != 0 {
                errno::EIO
            } else if (status >> 16) & 0x3 == 0 {
                // Neither persistent nor volatile scrubs are supported.
                errno::ENOTTY
            } else {
                0
            }
        }
        nd::ARS_START => match low {
            ARS_START_BUSY => errno::EBUSY,
            0 => 0,
            _ => errno::EIO,
        },
        nd::ARS_STATUS => {
            if low != 0 {
                return errno::EIO;
            }
            match status {
                ARS_STATUS_DONE => 0,
                ARS_STATUS_BUSY => errno::EBUSY,
                ARS_STATUS_NONE => errno::EAGAIN,
                ARS_STATUS_INTR => {
                    // nd_cmd_ars_status: out_length at 4, flags (u16) at 42.
                    let out_length = le32_at(payload, 4);
                    let flags = payload.get(42..44).map_or(0, |v| u16::from_le_bytes([v[0], v[1]]));
                    if out_length >= 40 && flags & ARS_F_OVERFLOW != 0 {
                        errno::ENOSPC
                    } else {
                        0
                    }
                }
                _ if status >> 16 != 0 => errno::EIO,
                _ => 0,
            }
        }
        nd::CLEAR_ERROR => {
            // nd_cmd_clear_error: address, length, status, reserved, cleared.
            let (length, cleared) = (le64_at(payload, 8), le64_at(payload, 24));
            if low != 0 || cleared == 0 {
                errno::EIO
            } else if length > cleared {
                cleared as i32
            } else {
                0
            }
        }
        _ if status != 0 => errno::EIO,
        _ => 0,
    }
}

/// The errno a DIMM command's firmware status means (`xlat_nvdimm_status`).
/// `lsr`/`lsw`: labels go through _LSR/_LSW rather than _DSM.
pub fn xlat_dimm_status(cmd: u32, status: u32, lsr: bool, lsw: bool) -> i32 {
    match cmd {
        nd::GET_CONFIG_SIZE if !lsr && (status >> 16) & 1 != 0 => return errno::EACCES,
        nd::GET_CONFIG_DATA if lsr && status == ACPI_LABELS_LOCKED => return errno::EACCES,
        nd::SET_CONFIG_DATA if lsw && status == ACPI_LABELS_LOCKED => return errno::EACCES,
        _ => {}
    }
    if status != 0 {
        errno::EIO
    } else {
        0
    }
}

#[cfg(test)]
mod xlat_tests {
    use super::*;

    #[test]
    fn ars_cap_needs_a_scrub_type() {
        assert_eq!(xlat_bus_status(&[], nd::ARS_CAP, 1), errno::ENOTTY);
        assert_eq!(xlat_bus_status(&[], nd::ARS_CAP, 0), errno::ENOTTY);
        assert_eq!(xlat_bus_status(&[], nd::ARS_CAP, 2 << 16), 0);
        assert_eq!(xlat_bus_status(&[], nd::ARS_CAP, (2 << 16) | 4), errno::EIO);
    }

    #[test]
    fn ars_status_states() {
        assert_eq!(xlat_bus_status(&[0; 64], nd::ARS_STATUS, 1 << 16), errno::EBUSY);
        assert_eq!(xlat_bus_status(&[0; 64], nd::ARS_STATUS, 2 << 16), errno::EAGAIN);
        let mut p = [0u8; 64];
        p[4..8].copy_from_slice(&40u32.to_le_bytes());
        p[42] = 1;
        assert_eq!(xlat_bus_status(&p, nd::ARS_STATUS, 3 << 16), errno::ENOSPC);
        assert_eq!(xlat_bus_status(&p, nd::ARS_STATUS, 4 << 16), errno::EIO);
    }

    #[test]
    fn partial_clear_reports_bytes_cleared() {
        let mut p = [0u8; 32];
        p[8..16].copy_from_slice(&4096u64.to_le_bytes());
        p[24..32].copy_from_slice(&512u64.to_le_bytes());
        assert_eq!(xlat_bus_status(&p, nd::CLEAR_ERROR, 0), 512);
        p[24..32].copy_from_slice(&4096u64.to_le_bytes());
        assert_eq!(xlat_bus_status(&p, nd::CLEAR_ERROR, 0), 0);
    }

    #[test]
    fn locked_labels() {
        assert_eq!(xlat_dimm_status(nd::GET_CONFIG_SIZE, 1 << 16, false, false), errno::EACCES);
        assert_eq!(xlat_dimm_status(nd::GET_CONFIG_SIZE, 1 << 16, true, true), errno::EIO);
        assert_eq!(xlat_dimm_status(nd::GET_CONFIG_DATA, 3, true, true), errno::EACCES);
        assert_eq!(xlat_dimm_status(nd::SMART, 0, false, false), 0);
    }
}
