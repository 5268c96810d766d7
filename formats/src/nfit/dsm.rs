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
