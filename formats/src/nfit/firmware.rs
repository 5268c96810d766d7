//! Intel firmware update and activation payloads (`drivers/acpi/nfit/intel.h`,
//! `tools/testing/nvdimm/test/nfit_test.h`): the DIMM functions
//! ND_INTEL_FW_GET_INFO .. ND_INTEL_FW_FINISH_QUERY and
//! NVDIMM_INTEL_FW_ACTIVATE_{DIMMINFO,ARM}, and the root device's
//! NVDIMM_BUS_INTEL_FW_ACTIVATE_{BUSINFO,ACTIVATE}.
//!
//! Every layout is packed and little-endian. Readers take what a caller
//! hands them (a user's ioctl payload, a firmware reply) and refuse a
//! buffer too short for the fixed part; writers only write inside the
//! buffer they are given (a field that does not fit is dropped). What the values mean to libnvdimm (the
//! `super::super::fwa` enums) is decided here too, as nfit decides it.

use super::super::fwa::{FwaCapability, FwaResult, FwaState};
use super::super::le::{put_u32 as put32, put_u64 as put64, u16_at, u32_at, u64_at};

/// `struct nd_intel_fw_info`.
pub const FW_INFO_LEN: usize = 44;
/// `struct nd_intel_fw_start`: status, context.
pub const FW_START_LEN: usize = 8;
/// `struct nd_intel_fw_send_data` up to its data: context, offset, length.
/// The data follows, then the u32 status.
pub const FW_SEND_HDR_LEN: usize = 12;
/// `struct nd_intel_fw_finish_update`: ctrl_flags, 3 reserved, context, status.
pub const FW_FINISH_UPDATE_LEN: usize = 12;
/// `struct nd_intel_fw_finish_query`: context, status, updated_fw_rev.
pub const FW_FINISH_QUERY_LEN: usize = 16;
/// `struct nd_intel_fw_activate_dimminfo`: status, result, state, 7 reserved.
pub const FWA_DIMMINFO_LEN: usize = 14;
/// `struct nd_intel_fw_activate_arm`: activate_arm, then status.
pub const FWA_ARM_LEN: usize = 5;
/// `struct nd_intel_bus_fw_activate_businfo`.
pub const FWA_BUSINFO_LEN: usize = 40;
/// `struct nd_intel_bus_fw_activate`: iodev_state, then status.
pub const FWA_ACTIVATE_LEN: usize = 5;

/// ND_INTEL_FWA_*: activation state as the firmware reports it.
pub const FWA_IDLE: u8 = 0;
/// Armed.
pub const FWA_ARMED: u8 = 1;
/// Activation in progress.
pub const FWA_BUSY: u8 = 2;

/// ND_INTEL_DIMM_FWA_*: a DIMM's last activation result.
pub const DIMM_FWA_NONE: u16 = 0;
/// Armed without staged firmware.
pub const DIMM_FWA_NOTSTAGED: u16 = 1;
/// Activated.
pub const DIMM_FWA_SUCCESS: u16 = 2;
/// Needs a reset.
pub const DIMM_FWA_NEEDRESET: u16 = 3;
/// Media failure.
pub const DIMM_FWA_MEDIAFAILED: u16 = 4;
/// Aborted.
pub const DIMM_FWA_ABORT: u16 = 5;
/// Not supported.
pub const DIMM_FWA_NOTSUPP: u16 = 6;
/// Other error.
pub const DIMM_FWA_ERROR: u16 = 7;

/// ND_INTEL_DIMM_FWA_ARM / _DISARM: `activate_arm` of the arm function.
pub const DIMM_FWA_ARM: u8 = 1;
/// Disarm.
pub const DIMM_FWA_DISARM: u8 = 0;

/// ND_INTEL_BUS_FWA_CAP_FWQUIESCE: the firmware quiesces by itself.
pub const BUS_FWA_CAP_FWQUIESCE: u8 = 1 << 0;
/// ND_INTEL_BUS_FWA_CAP_OSQUIESCE: the OS must quiesce devices.
pub const BUS_FWA_CAP_OSQUIESCE: u8 = 1 << 1;
/// ND_INTEL_BUS_FWA_CAP_RESET: a reset activates too.
pub const BUS_FWA_CAP_RESET: u8 = 1 << 2;

/// ND_INTEL_BUS_FWA_STATUS_*: extended statuses of the activate function.
pub const BUS_FWA_STATUS_NOARM: u32 = 6 | 1 << 16;
/// Busy.
pub const BUS_FWA_STATUS_BUSY: u32 = 6 | 2 << 16;
/// No firmware staged.
pub const BUS_FWA_STATUS_NOFW: u32 = 6 | 3 << 16;
/// Quiesce would take too long.
pub const BUS_FWA_STATUS_TMO: u32 = 6 | 4 << 16;
/// Devices would not idle.
pub const BUS_FWA_STATUS_NOIDLE: u32 = 6 | 5 << 16;
/// Aborted.
pub const BUS_FWA_STATUS_ABORT: u32 = 6 | 6 << 16;

/// ND_INTEL_BUS_FWA_IODEV_FORCE_IDLE: the platform forces devices idle.
pub const BUS_FWA_IODEV_FORCE_IDLE: u8 = 0;
/// ND_INTEL_BUS_FWA_IODEV_OS_IDLE: the OS has idled them.
pub const BUS_FWA_IODEV_OS_IDLE: u8 = 1;

/// `struct nd_intel_fw_info`: what a DIMM says about updating it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwInfo {
    /// Firmware status.
    pub status: u32,
    /// Bytes an image may have.
    pub storage_size: u32,
    /// Most bytes one send may carry.
    pub max_send_len: u32,
    /// How often to poll a finishing update, microseconds.
    pub query_interval: u32,
    /// How long to poll at most, microseconds.
    pub max_query_time: u32,
    /// Update capabilities.
    pub update_cap: u8,
    /// Firmware interface specification version.
    pub fis_version: u32,
    /// The running firmware's version.
    pub run_version: u64,
    /// The staged firmware's version, 0 when none.
    pub updated_version: u64,
}

impl FwInfo {
    /// Writes the fields into `b`, leaving its reserved bytes as they are
    /// (C assigns field by field).
    pub fn put(&self, b: &mut [u8]) {
        put32(b, 0, self.status);
        put32(b, 4, self.storage_size);
        put32(b, 8, self.max_send_len);
        put32(b, 12, self.query_interval);
        put32(b, 16, self.max_query_time);
        if let Some(cap) = b.get_mut(20) {
            *cap = self.update_cap;
        }
        put32(b, 24, self.fis_version);
        put64(b, 28, self.run_version);
        put64(b, 36, self.updated_version);
    }

    /// Reads a payload; None if shorter than [`FW_INFO_LEN`].
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FW_INFO_LEN)?;
        Some(FwInfo {
            status: u32_at(b, 0),
            storage_size: u32_at(b, 4),
            max_send_len: u32_at(b, 8),
            query_interval: u32_at(b, 12),
            max_query_time: u32_at(b, 16),
            update_cap: b[20],
            fis_version: u32_at(b, 24),
            run_version: u64_at(b, 28),
            updated_version: u64_at(b, 36),
        })
    }
}

/// Writes `struct nd_intel_fw_start`'s answer: status and context.
pub fn put_fw_start(b: &mut [u8], status: u32, context: Option<u32>) {
    put32(b, 0, status);
    if let Some(c) = context {
        put32(b, 4, c);
    }
}

/// The fixed part of `struct nd_intel_fw_send_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwSendData {
    /// The update's context, from the start function.
    pub context: u32,
    /// Where in the image the data goes.
    pub offset: u32,
    /// How many data bytes follow.
    pub length: u32,
}

impl FwSendData {
    /// Reads the header; None if shorter than [`FW_SEND_HDR_LEN`].
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FW_SEND_HDR_LEN)?;
        Some(FwSendData { context: u32_at(b, 0), offset: u32_at(b, 4), length: u32_at(b, 8) })
    }

    /// Where the status word goes: right after the data, as the payload's
    /// `length` says (C writes it there whatever the payload's size).
    pub fn status_offset(&self) -> u64 {
        FW_SEND_HDR_LEN as u64 + u64::from(self.length)
    }

    /// Writes the status after the data; false (nothing written) when the
    /// payload is too short to hold it there.
    pub fn put_status(&self, b: &mut [u8], status: u32) -> bool {
        let at = self.status_offset();
        if at.saturating_add(4) > b.len() as u64 {
            return false;
        }
        put32(b, at as usize, status);
        true
    }
}

/// `struct nd_intel_fw_finish_update`'s input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwFinishUpdate {
    /// 0 finishes the update, 1 aborts it.
    pub ctrl_flags: u8,
    /// The update's context.
    pub context: u32,
}

impl FwFinishUpdate {
    /// Reads the input; None if shorter than the whole struct.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FW_FINISH_UPDATE_LEN)?;
        Some(FwFinishUpdate { ctrl_flags: b[0], context: u32_at(b, 4) })
    }

    /// Writes the status (at 8).
    pub fn put_status(b: &mut [u8], status: u32) {
        put32(b, 8, status);
    }
}

/// `struct nd_intel_fw_finish_query`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwFinishQuery {
    /// The update's context.
    pub context: u32,
}

impl FwFinishQuery {
    /// Reads the input; None if shorter than the whole struct.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FW_FINISH_QUERY_LEN)?;
        Some(FwFinishQuery { context: u32_at(b, 0) })
    }

    /// Writes the status (at 4) and, when given, the updated version (at 8).
    pub fn put_answer(b: &mut [u8], status: u32, updated_fw_rev: Option<u64>) {
        put32(b, 4, status);
        if let Some(v) = updated_fw_rev {
            put64(b, 8, v);
        }
    }
}

/// `struct nd_intel_fw_activate_dimminfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwaDimmInfo {
    /// Firmware status.
    pub status: u32,
    /// ND_INTEL_DIMM_FWA_* result of the last activation.
    pub result: u16,
    /// ND_INTEL_FWA_* state.
    pub state: u8,
}

impl FwaDimmInfo {
    /// The payload, reserved bytes zero.
    pub fn to_bytes(&self) -> [u8; FWA_DIMMINFO_LEN] {
        let mut b = [0u8; FWA_DIMMINFO_LEN];
        put32(&mut b, 0, self.status);
        b[4..6].copy_from_slice(&self.result.to_le_bytes());
        b[6] = self.state;
        b
    }

    /// Reads a reply; None if shorter than [`FWA_DIMMINFO_LEN`].
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FWA_DIMMINFO_LEN)?;
        Some(FwaDimmInfo { status: u32_at(b, 0), result: u16_at(b, 4), state: b[6] })
    }

    /// The DIMM's state as libnvdimm knows it (`intel_fwa_state`): an
    /// unknown firmware state is `Invalid`.
    pub fn fwa_state(&self) -> FwaState {
        match self.state {
            FWA_IDLE => FwaState::Idle,
            FWA_BUSY => FwaState::Busy,
            FWA_ARMED => FwaState::Armed,
            _ => FwaState::Invalid,
        }
    }

    /// The last result as libnvdimm knows it: every failure, and anything
    /// unknown, is `Fail`.
    pub fn fwa_result(&self) -> FwaResult {
        match self.result {
            DIMM_FWA_NONE => FwaResult::None,
            DIMM_FWA_SUCCESS => FwaResult::Success,
            DIMM_FWA_NOTSTAGED => FwaResult::NotStaged,
            DIMM_FWA_NEEDRESET => FwaResult::NeedReset,
            _ => FwaResult::Fail,
        }
    }
}

/// `struct nd_intel_fw_activate_arm`'s input: arm (1) or anything else,
/// which disarms. None if the payload is empty.
pub fn fwa_arm_request(b: &[u8]) -> Option<u8> {
    b.first().copied()
}

/// Writes the arm function's status (at 1).
pub fn put_fwa_arm_status(b: &mut [u8], status: u32) {
    put32(b, 1, status);
}

/// `struct nd_intel_bus_fw_activate_businfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwaBusInfo {
    /// Firmware status.
    pub status: u32,
    /// ND_INTEL_FWA_* state.
    pub state: u8,
    /// ND_INTEL_BUS_FWA_CAP_* bits.
    pub capability: u8,
    /// How long activation takes, microseconds.
    pub activate_tmo: u64,
    /// How long CPUs stay quiesced, microseconds.
    pub cpu_quiesce_tmo: u64,
    /// How long I/O stays quiesced, microseconds.
    pub io_quiesce_tmo: u64,
    /// The longest quiesce the platform allows, microseconds.
    pub max_quiesce_tmo: u64,
}

impl FwaBusInfo {
    /// The payload, reserved bytes zero.
    pub fn to_bytes(&self) -> [u8; FWA_BUSINFO_LEN] {
        let mut b = [0u8; FWA_BUSINFO_LEN];
        put32(&mut b, 0, self.status);
        b[6] = self.state;
        b[7] = self.capability;
        put64(&mut b, 8, self.activate_tmo);
        put64(&mut b, 16, self.cpu_quiesce_tmo);
        put64(&mut b, 24, self.io_quiesce_tmo);
        put64(&mut b, 32, self.max_quiesce_tmo);
        b
    }

    /// Reads a reply; None if shorter than [`FWA_BUSINFO_LEN`].
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..FWA_BUSINFO_LEN)?;
        Some(FwaBusInfo {
            status: u32_at(b, 0),
            state: b[6],
            capability: b[7],
            activate_tmo: u64_at(b, 8),
            cpu_quiesce_tmo: u64_at(b, 16),
            io_quiesce_tmo: u64_at(b, 24),
            max_quiesce_tmo: u64_at(b, 32),
        })
    }

    /// The bus state as libnvdimm knows it (`intel_bus_fwa_state`): armed
    /// with an activation longer than the longest quiesce overflows. None
    /// for a state the firmware should never report (C logs it once and
    /// answers `Invalid`).
    pub fn fwa_state(&self) -> Option<FwaState> {
        match self.state {
            FWA_IDLE => Some(FwaState::Idle),
            FWA_BUSY => Some(FwaState::Busy),
            FWA_ARMED if self.activate_tmo > self.max_quiesce_tmo => Some(FwaState::ArmOverflow),
            FWA_ARMED => Some(FwaState::Armed),
            _ => None,
        }
    }

    /// The capability it implies: firmware that quiesces by itself still
    /// means a quiesced activation to the OS; one that needs the OS to
    /// quiesce devices means nfit activates live by default.
    pub fn fwa_capability(&self) -> FwaCapability {
        if self.capability & BUS_FWA_CAP_FWQUIESCE != 0 {
            FwaCapability::Quiesce
        } else if self.capability & BUS_FWA_CAP_OSQUIESCE != 0 {
            FwaCapability::Live
        } else {
            FwaCapability::None
        }
    }
}

/// `struct nd_intel_bus_fw_activate`'s input: how devices get idle. None
/// if the payload is empty.
pub fn fwa_activate_request(b: &[u8]) -> Option<u8> {
    b.first().copied()
}

/// Writes the activate function's status (at 1).
pub fn put_fwa_activate_status(b: &mut [u8], status: u32) {
    put32(b, 1, status);
}
