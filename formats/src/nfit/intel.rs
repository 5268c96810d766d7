//! The Intel DIMM DSM family as the nfit driver and nfit_test use it
//! (`drivers/acpi/nfit/{nfit.h,intel.h}`, `tools/testing/nvdimm/test/nfit_test.h`):
//! function numbers, command masks and payload layouts as byte offsets.

use super::dsm::NVDIMM_STANDARD_CMDMASK;

/// SMART health data (same number as ND_CMD_SMART).
pub const ND_INTEL_SMART: u32 = 1;
/// SMART thresholds.
pub const ND_INTEL_SMART_THRESHOLD: u32 = 2;
/// Enable latch of system shutdown status.
pub const ND_INTEL_ENABLE_LSS_STATUS: u32 = 10;
/// Get supported modes.
pub const ND_INTEL_GET_MODES: u32 = 11;
/// Firmware update: get info.
pub const ND_INTEL_FW_GET_INFO: u32 = 12;
/// Firmware update: start.
pub const ND_INTEL_FW_START_UPDATE: u32 = 13;
/// Firmware update: send data.
pub const ND_INTEL_FW_SEND_DATA: u32 = 14;
/// Firmware update: finish.
pub const ND_INTEL_FW_FINISH_UPDATE: u32 = 15;
/// Firmware update: query finish.
pub const ND_INTEL_FW_FINISH_QUERY: u32 = 16;
/// Set SMART thresholds.
pub const ND_INTEL_SMART_SET_THRESHOLD: u32 = 17;
/// Inject SMART events.
pub const ND_INTEL_SMART_INJECT: u32 = 18;
/// Security: get state.
pub const NVDIMM_INTEL_GET_SECURITY_STATE: u32 = 19;
/// Security: set passphrase.
pub const NVDIMM_INTEL_SET_PASSPHRASE: u32 = 20;
/// Security: disable passphrase.
pub const NVDIMM_INTEL_DISABLE_PASSPHRASE: u32 = 21;
/// Security: unlock.
pub const NVDIMM_INTEL_UNLOCK_UNIT: u32 = 22;
/// Security: freeze.
pub const NVDIMM_INTEL_FREEZE_LOCK: u32 = 23;
/// Security: secure erase.
pub const NVDIMM_INTEL_SECURE_ERASE: u32 = 24;
/// Security: overwrite.
pub const NVDIMM_INTEL_OVERWRITE: u32 = 25;
/// Security: query overwrite.
pub const NVDIMM_INTEL_QUERY_OVERWRITE: u32 = 26;
/// Security: set master passphrase.
pub const NVDIMM_INTEL_SET_MASTER_PASSPHRASE: u32 = 27;
/// Security: master secure erase.
pub const NVDIMM_INTEL_MASTER_SECURE_ERASE: u32 = 28;
/// Firmware activation: per-DIMM info.
pub const NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO: u32 = 29;
/// Firmware activation: arm.
pub const NVDIMM_INTEL_FW_ACTIVATE_ARM: u32 = 30;
/// Root Intel family: firmware activation bus info.
pub const NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO: u32 = 1;
/// Root Intel family: activate firmware.
pub const NVDIMM_BUS_INTEL_FW_ACTIVATE: u32 = 2;

/// The security functions (`NVDIMM_INTEL_SECURITY_CMDMASK`).
pub const NVDIMM_INTEL_SECURITY_CMDMASK: u64 = 0x3ff << NVDIMM_INTEL_GET_SECURITY_STATE;
/// The per-DIMM firmware activation functions.
pub const NVDIMM_INTEL_FW_ACTIVATE_CMDMASK: u64 =
    1 << NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO | 1 << NVDIMM_INTEL_FW_ACTIVATE_ARM;
/// The root Intel-family functions.
pub const NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK: u64 =
    1 << NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO | 1 << NVDIMM_BUS_INTEL_FW_ACTIVATE;
/// Everything the driver allows an Intel-family DIMM (`NVDIMM_INTEL_CMDMASK`).
pub const NVDIMM_INTEL_CMDMASK: u64 = NVDIMM_STANDARD_CMDMASK
    | 1 << ND_INTEL_GET_MODES
    | 0x1f << ND_INTEL_FW_GET_INFO
    | 1 << ND_INTEL_SMART_SET_THRESHOLD
    | 1 << ND_INTEL_SMART_INJECT
    | 1 << ND_INTEL_ENABLE_LSS_STATUS
    | NVDIMM_INTEL_SECURITY_CMDMASK
    | NVDIMM_INTEL_FW_ACTIVATE_CMDMASK;

/// SMART flag: `health` is valid.
pub const SMART_HEALTH_VALID: u32 = 1 << 0;
/// SMART flag: `spares` is valid.
pub const SMART_SPARES_VALID: u32 = 1 << 1;
/// SMART flag: `life_used` is valid.
pub const SMART_USED_VALID: u32 = 1 << 2;
/// SMART flag: `media_temperature` is valid.
pub const SMART_MTEMP_VALID: u32 = 1 << 3;
/// SMART flag: `ctrl_temperature` is valid.
pub const SMART_CTEMP_VALID: u32 = 1 << 4;
/// SMART flag: `shutdown_count` is valid (the driver's dirty-shutdown count).
pub const SMART_SHUTDOWN_COUNT_VALID: u32 = 1 << 5;
/// SMART flag: `ait_status` is valid.
pub const SMART_AIT_STATUS_VALID: u32 = 1 << 6;
/// SMART flag: `pmic_temperature` is valid.
pub const SMART_PTEMP_VALID: u32 = 1 << 7;
/// SMART flag: `alarm_flags` is valid.
pub const SMART_ALARM_VALID: u32 = 1 << 9;
/// SMART flag: `shutdown_state` is valid (non-zero marks the DIMM dirty).
pub const SMART_SHUTDOWN_VALID: u32 = 1 << 10;
/// SMART flag: vendor data is valid.
pub const SMART_VENDOR_VALID: u32 = 1 << 11;
/// Alarm/threshold bit: spares.
pub const SMART_SPARE_TRIP: u16 = 1 << 0;
/// Alarm/threshold bit: media temperature.
pub const SMART_TEMP_TRIP: u16 = 1 << 1;
/// Alarm/threshold bit: controller temperature.
pub const SMART_CTEMP_TRIP: u16 = 1 << 2;
/// Health: non-critical.
pub const SMART_NON_CRITICAL_HEALTH: u8 = 1 << 0;
/// Health: critical.
pub const SMART_CRITICAL_HEALTH: u8 = 1 << 1;
/// Health: fatal.
pub const SMART_FATAL_HEALTH: u8 = 1 << 2;
/// Inject flag: media temperature.
pub const SMART_INJECT_MTEMP: u64 = 1 << 0;
/// Inject flag: spares.
pub const SMART_INJECT_SPARE: u64 = 1 << 1;
/// Inject flag: fatal health.
pub const SMART_INJECT_FATAL: u64 = 1 << 2;
/// Inject flag: unsafe shutdown.
pub const SMART_INJECT_SHUTDOWN: u64 = 1 << 3;

/// Size of `struct nd_intel_smart`: a u32 status and 128 bytes of data.
pub const SMART_LEN: usize = 132;
/// Size of `struct nd_intel_smart_threshold`.
pub const SMART_THRESHOLD_LEN: usize = 12;
/// Size of `struct nd_intel_smart_set_threshold` (7 bytes in, u32 status out).
pub const SMART_SET_THRESHOLD_LEN: usize = 11;
/// Size of `struct nd_intel_smart_inject`.
pub const SMART_INJECT_LEN: usize = 19;
/// Size of `struct nd_intel_lss` (u8 enable, u32 status).
pub const LSS_LEN: usize = 5;

/// `struct nd_intel_smart`, without its status word (which nfit_test keeps 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smart {
    /// `SMART_*_VALID` bits.
    pub flags: u32,
    /// `SMART_*_HEALTH`.
    pub health: u8,
    /// Remaining spares, percent.
    pub spares: u8,
    /// Life used, percent.
    pub life_used: u8,
    /// `SMART_*_TRIP` bits that have tripped.
    pub alarm_flags: u8,
    /// Media temperature, 1/16 degree C.
    pub media_temperature: u16,
    /// Controller temperature, 1/16 degree C.
    pub ctrl_temperature: u16,
    /// Dirty shutdown count.
    pub shutdown_count: u32,
    /// AIT DRAM status.
    pub ait_status: u8,
    /// PMIC temperature, 1/16 degree C.
    pub pmic_temperature: u16,
    /// Last shutdown was dirty.
    pub shutdown_state: u8,
    /// Bytes of vendor data.
    pub vendor_size: u32,
    /// Vendor data.
    pub vendor_data: [u8; 92],
}

impl Smart {
    /// Encodes the full 132-byte payload with a status of 0.
    pub fn to_bytes(&self) -> [u8; SMART_LEN] {
        let mut b = [0u8; SMART_LEN];
        b[4..8].copy_from_slice(&self.flags.to_le_bytes());
        b[12] = self.health;
        b[13] = self.spares;
        b[14] = self.life_used;
        b[15] = self.alarm_flags;
        b[16..18].copy_from_slice(&self.media_temperature.to_le_bytes());
        b[18..20].copy_from_slice(&self.ctrl_temperature.to_le_bytes());
        b[20..24].copy_from_slice(&self.shutdown_count.to_le_bytes());
        b[24] = self.ait_status;
        b[25..27].copy_from_slice(&self.pmic_temperature.to_le_bytes());
        b[35] = self.shutdown_state;
        b[36..40].copy_from_slice(&self.vendor_size.to_le_bytes());
        b[40..].copy_from_slice(&self.vendor_data);
        b
    }

    /// Decodes a payload; None if shorter than 132 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b = b.get(..SMART_LEN)?;
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut vendor_data = [0; 92];
        vendor_data.copy_from_slice(&b[40..]);
        Some(Smart {
            flags: u32_at(4),
            health: b[12],
            spares: b[13],
            life_used: b[14],
            alarm_flags: b[15],
            media_temperature: u16_at(16),
            ctrl_temperature: u16_at(18),
            shutdown_count: u32_at(20),
            ait_status: b[24],
            pmic_temperature: u16_at(25),
            shutdown_state: b[35],
            vendor_size: u32_at(36),
            vendor_data,
        })
    }
}

/// What nfit's opt-in SMART poll compares between two reads of a DIMM's
/// SMART payload: the fields whose change a platform would announce with a
/// DIMM health event (0x81). Fields the payload does not mark valid are
/// left out (`None`), so that they never count as a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// `SMART_*_HEALTH`, if `SMART_HEALTH_VALID`.
    pub health: Option<u8>,
    /// Remaining spares, if `SMART_SPARES_VALID`.
    pub spares: Option<u8>,
    /// The tripped temperature alarms (`SMART_TEMP_TRIP`,
    /// `SMART_CTEMP_TRIP`), if `SMART_ALARM_VALID`.
    pub temperature_alarms: Option<u8>,
    /// Dirty shutdown count, if `SMART_SHUTDOWN_COUNT_VALID`.
    pub shutdown_count: Option<u32>,
}

impl HealthSnapshot {
    /// The fields of `smart` the poll watches.
    pub fn of(smart: &Smart) -> Self {
        let valid = |bit: u32| smart.flags & bit != 0;
        let temp = (SMART_TEMP_TRIP | SMART_CTEMP_TRIP) as u8;
        HealthSnapshot {
            health: valid(SMART_HEALTH_VALID).then_some(smart.health),
            spares: valid(SMART_SPARES_VALID).then_some(smart.spares),
            temperature_alarms: valid(SMART_ALARM_VALID).then_some(smart.alarm_flags & temp),
            shutdown_count: valid(SMART_SHUTDOWN_COUNT_VALID).then_some(smart.shutdown_count),
        }
    }

    /// Whether going from `self` to `now` is a health event: a watched
    /// field that is valid in both reads differs.
    pub fn changed(&self, now: &HealthSnapshot) -> bool {
        fn differs<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        differs(self.health, now.health)
            || differs(self.spares, now.spares)
            || differs(self.temperature_alarms, now.temperature_alarms)
            || differs(self.shutdown_count, now.shutdown_count)
    }
}

/// `struct nd_intel_smart_threshold`, without its status word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SmartThreshold {
    /// `SMART_*_TRIP` bits that are armed.
    pub alarm_control: u16,
    /// Spares threshold, percent.
    pub spares: u8,
    /// Media temperature threshold, 1/16 degree C.
    pub media_temperature: u16,
    /// Controller temperature threshold, 1/16 degree C.
    pub ctrl_temperature: u16,
}

impl SmartThreshold {
    /// Encodes the 7 threshold bytes as they appear after the status word
    /// (and as ND_INTEL_SMART_SET_THRESHOLD takes them).
    pub fn to_data(&self) -> [u8; 7] {
        let a = self.alarm_control.to_le_bytes();
        let m = self.media_temperature.to_le_bytes();
        let c = self.ctrl_temperature.to_le_bytes();
        [a[0], a[1], self.spares, m[0], m[1], c[0], c[1]]
    }

    /// Decodes the 7 threshold bytes.
    pub fn from_data(d: &[u8; 7]) -> Self {
        SmartThreshold {
            alarm_control: u16::from_le_bytes([d[0], d[1]]),
            spares: d[2],
            media_temperature: u16::from_le_bytes([d[3], d[4]]),
            ctrl_temperature: u16::from_le_bytes([d[5], d[6]]),
        }
    }

    /// Encodes the full 12-byte payload with a status of 0.
    pub fn to_bytes(&self) -> [u8; SMART_THRESHOLD_LEN] {
        let mut b = [0u8; SMART_THRESHOLD_LEN];
        b[4..11].copy_from_slice(&self.to_data());
        b
    }
}
