//! Firmware activation as libnvdimm speaks it (`include/linux/libnvdimm.h`:
//! `enum nvdimm_fwa_state`, `nvdimm_fwa_capability`, `nvdimm_fwa_result`,
//! `nvdimm_fwa_trigger`), with the words ndbusN/firmware/* and
//! nmemN/firmware/* show for them (drivers/nvdimm/core.c, dimm_devs.c).
//!
//! A provider (nfit) answers in these values; libnvdimm turns them into
//! sysfs text. The numbers are C's, so they cross the module boundary as
//! they are.

/// Where activation stands, on the bus or on one DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaState {
    /// Unknown: the firmware did not answer, or answered nonsense.
    Invalid = 0,
    /// Nothing armed.
    Idle = 1,
    /// At least one DIMM armed (bus), or this DIMM armed.
    Armed = 2,
    /// An activation is in progress.
    Busy = 3,
    /// Armed, but activating would take longer than the platform allows
    /// devices to stay quiesced (bus only).
    ArmOverflow = 4,
}

impl FwaState {
    /// C's value; anything unknown is `Invalid`.
    pub const fn from_raw(v: u32) -> Self {
        match v {
            1 => FwaState::Idle,
            2 => FwaState::Armed,
            3 => FwaState::Busy,
            4 => FwaState::ArmOverflow,
            _ => FwaState::Invalid,
        }
    }

    /// C's value.
    pub const fn to_raw(self) -> u32 {
        self as u32
    }

    /// What ndbusN/firmware/activate shows; None is ENXIO.
    pub const fn bus_word(self) -> Option<&'static str> {
        match self {
            FwaState::Idle => Some("idle"),
            FwaState::Busy => Some("busy"),
            FwaState::Armed => Some("armed"),
            FwaState::ArmOverflow => Some("overflow"),
            FwaState::Invalid => None,
        }
    }

    /// What nmemN/firmware/activate shows (a DIMM never overflows); None
    /// is ENXIO.
    pub const fn dimm_word(self) -> Option<&'static str> {
        match self {
            FwaState::Idle => Some("idle"),
            FwaState::Busy => Some("busy"),
            FwaState::Armed => Some("armed"),
            FwaState::ArmOverflow | FwaState::Invalid => None,
        }
    }
}

/// How the platform activates firmware. Ordered as in C: anything below
/// `Quiesce` means activation is not offered, and the firmware groups
/// hide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaCapability {
    /// Not known yet, or the firmware did not answer.
    Invalid = 0,
    /// The platform cannot activate.
    None = 1,
    /// Activation needs devices quiesced (a hibernate-style freeze).
    Quiesce = 2,
    /// Activation may run live.
    Live = 3,
}

impl FwaCapability {
    /// C's value; anything unknown is `Invalid`.
    pub const fn from_raw(v: u32) -> Self {
        match v {
            1 => FwaCapability::None,
            2 => FwaCapability::Quiesce,
            3 => FwaCapability::Live,
            _ => FwaCapability::Invalid,
        }
    }

    /// C's value.
    pub const fn to_raw(self) -> u32 {
        self as u32
    }

    /// Whether the firmware groups show (C: `cap >= NVDIMM_FWA_CAP_QUIESCE`).
    pub const fn offered(self) -> bool {
        matches!(self, FwaCapability::Quiesce | FwaCapability::Live)
    }

    /// What ndbusN/firmware/capability shows; None is EOPNOTSUPP.
    pub const fn word(self) -> Option<&'static str> {
        match self {
            FwaCapability::Quiesce => Some("quiesce"),
            FwaCapability::Live => Some("live"),
            FwaCapability::Invalid | FwaCapability::None => None,
        }
    }
}

/// How the last activation went for one DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaResult {
    /// Unknown.
    Invalid = 0,
    /// No activation since the DIMM last reported.
    None = 1,
    /// The staged firmware runs now.
    Success = 2,
    /// Armed, but nothing was staged.
    NotStaged = 3,
    /// Only a reset activates it.
    NeedReset = 4,
    /// The activation failed.
    Fail = 5,
}

impl FwaResult {
    /// C's value; anything unknown is `Invalid`.
    pub const fn from_raw(v: u32) -> Self {
        match v {
            1 => FwaResult::None,
            2 => FwaResult::Success,
            3 => FwaResult::NotStaged,
            4 => FwaResult::NeedReset,
            5 => FwaResult::Fail,
            _ => FwaResult::Invalid,
        }
    }

    /// C's value.
    pub const fn to_raw(self) -> u32 {
        self as u32
    }

    /// What nmemN/firmware/result shows; None is ENXIO.
    pub const fn word(self) -> Option<&'static str> {
        match self {
            FwaResult::None => Some("none"),
            FwaResult::Success => Some("success"),
            FwaResult::Fail => Some("fail"),
            FwaResult::NotStaged => Some("not_staged"),
            FwaResult::NeedReset => Some("need_reset"),
            FwaResult::Invalid => None,
        }
    }
}

/// What a write to nmemN/firmware/activate asks of a DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FwaTrigger {
    /// Arm it for the next activation.
    Arm = 0,
    /// Disarm it.
    Disarm = 1,
}

impl FwaTrigger {
    /// C's value; None for anything else.
    pub const fn from_raw(v: u32) -> Option<Self> {
        match v {
            0 => Some(FwaTrigger::Arm),
            1 => Some(FwaTrigger::Disarm),
            _ => None,
        }
    }

    /// C's value.
    pub const fn to_raw(self) -> u32 {
        self as u32
    }
}
