//! nfit_test's firmware update and activation (`tools/testing/nvdimm/test/nfit.c`,
//! Linux 6.12: `nd_intel_test_get_fw_info` .. `nd_intel_test_finish_query`,
//! `nd_intel_test_cmd_fw_activate_dimminfo`, `_arm`, and the root device's
//! `nvdimm_bus_intel_fw_activate_businfo`, `nvdimm_bus_intel_fw_activate`)
//! as pure functions over a bus's firmware state.
//!
//! What C keeps per probe of a bus (`t->fw[]`, one slot per DIMM of
//! nfit_test.0) is a [`BusFirmware`]. It also holds `last_activate`, which
//! C keeps in a module static (the last activation of any bus): the module
//! loads it into the bus's state before a command and saves it after.
//!
//! Time: C counts jiffies. Here callers pass `now_ms`, monotonic
//! milliseconds: jiffies at HZ=1000 that never wrap, so C's comparisons
//! keep their sense at a finer grain. A finished update verifies for
//! [`VERIFY_MS`] and is still verifying while `now < end`
//! (`time_is_after_jiffies64(end)`); after an activation the bus is busy
//! until `now > last + ACTIVATE_BUSY_MS` (`time_after`). C's
//! `last_activate == 0` ("never") is `None`.
//!
//! Payloads are what follows `struct nd_cmd_pkg` (input and output sizes
//! added). Each function returns what C's does: 0, or an errno. Where C
//! reads or writes past a payload that is too short for its struct (it
//! checks the length of some functions only), these refuse it with EINVAL
//! and change nothing.
//!
//! The includer declares `mod formats`, `mod dsm` and `mod topology` next
//! to this module.

use super::dsm::{CmdResult, Errno};
use super::formats::nfit::firmware::{self as fw, FwFinishQuery, FwFinishUpdate, FwInfo, FwSendData};
use super::formats::nfit::firmware::{FwaBusInfo, FwaDimmInfo};
use super::topology::NUM_DCR;

/// INTEL_FW_STORAGE_SIZE: the largest image.
pub const STORAGE_SIZE: u32 = 0x10_0000;
/// INTEL_FW_MAX_SEND_LEN: the most one send may carry.
pub const MAX_SEND_LEN: u32 = 0xffec;
/// INTEL_FW_QUERY_INTERVAL, microseconds.
pub const QUERY_INTERVAL: u32 = 250_000;
/// INTEL_FW_QUERY_MAX_TIME, microseconds.
pub const QUERY_MAX_TIME: u32 = 3_000_000;
/// INTEL_FW_FIS_VERSION.
pub const FIS_VERSION: u32 = 0x0105;
/// INTEL_FW_FAKE_VERSION: the version every finished update reports.
pub const FAKE_VERSION: u64 = 0xffff_ffff_abcd;
/// How long a finished update verifies (C: `HZ`).
pub const VERIFY_MS: u64 = 1000;
/// How long the bus stays busy after an activation (C: `3 * HZ`).
pub const ACTIVATE_BUSY_MS: u64 = 3000;
/// The longest quiesce the emulated platform allows (3 s), and what each
/// armed DIMM adds to an activation (1 s), in microseconds.
pub const MAX_QUIESCE_US: u64 = 3_000_000;
const PER_DIMM_US: u64 = 1_000_000;

/// Extended statuses of the update functions.
const STATUS_SEQUENCE: u32 = 0x5;
const STATUS_BOUNDS: u32 = 0x3;
const STATUS_CONTEXT: u32 = 0x1_0007;
const STATUS_BUSY: u32 = 0x2_0007;
const STATUS_ABORTED: u32 = 0x4_0007;

/// Where one DIMM's update stands (C's `enum intel_fw_update_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdateState {
    /// No update started, or the last one was activated or aborted.
    #[default]
    New,
    /// Started; data arrives.
    InProgress,
    /// Finished; the firmware verifies the image until `end_ms`.
    Verify,
    /// Staged, waiting for an activation.
    Updated,
}

/// One DIMM's slot (C's `struct nfit_test_fw`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// The update's progress.
    pub state: UpdateState,
    /// The current update's context (the start function counts it up).
    pub context: u32,
    /// The staged version, 0 until an update is queried as done.
    pub version: u64,
    /// Bytes sent so far.
    pub size_received: u32,
    /// When verification ends.
    pub end_ms: u64,
    /// Armed for the next activation.
    pub armed: bool,
    /// The last activation found nothing staged.
    pub missed_activate: bool,
    /// The activation this DIMM took part in last.
    pub last_activate: Option<u64>,
}

/// What a probe of a bus allocates (C's `t->fw`, zeroed): one slot per
/// DIMM index of nfit_test.0; and C's static `last_activate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusFirmware {
    /// Indexed like `topology::DIMMS`.
    pub slots: [Slot; NUM_DCR],
    /// When firmware was last activated, on any bus (module-wide in C).
    pub last_activate: Option<u64>,
}

/// ND_INTEL_FW_GET_INFO: the update limits and the staged version.
pub fn get_info(p: &mut [u8], slot: &Slot) -> CmdResult {
    if p.len() < fw::FW_INFO_LEN {
        return Err(Errno::EINVAL);
    }
    FwInfo {
        status: 0,
        storage_size: STORAGE_SIZE,
        max_send_len: MAX_SEND_LEN,
        query_interval: QUERY_INTERVAL,
        max_query_time: QUERY_MAX_TIME,
        update_cap: 0,
        fis_version: FIS_VERSION,
        run_version: 0,
        updated_version: slot.version,
    }
    .put(p);
    Ok(0)
}

/// ND_INTEL_FW_START_UPDATE: a new context, unless an update is under way.
pub fn start_update(p: &mut [u8], slot: &mut Slot) -> CmdResult {
    if p.len() < fw::FW_START_LEN {
        return Err(Errno::EINVAL);
    }
    if slot.state != UpdateState::New {
        fw::put_fw_start(p, STATUS_CONTEXT, None);
        return Ok(0);
    }
    slot.state = UpdateState::InProgress;
    slot.context = slot.context.wrapping_add(1);
    slot.size_received = 0;
    fw::put_fw_start(p, 0, Some(slot.context));
    Ok(0)
}

/// ND_INTEL_FW_SEND_DATA: counts the bytes (the image itself is dropped,
/// as in C). The status goes after the data; C writes it there even past
/// the payload, which is refused here.
pub fn send_data(p: &mut [u8], slot: &mut Slot) -> CmdResult {
    let Some(req) = FwSendData::parse(p) else {
        return Err(Errno::EINVAL);
    };
    if req.status_offset() + 4 > p.len() as u64 {
        return Err(Errno::EINVAL);
    }
    let status = if slot.state != UpdateState::InProgress {
        STATUS_SEQUENCE
    } else if req.context != slot.context {
        STATUS_CONTEXT
    } else if req.offset.wrapping_add(req.length) > STORAGE_SIZE || req.length > MAX_SEND_LEN {
        // C adds the two as u32s.
        STATUS_BOUNDS
    } else {
        slot.size_received = slot.size_received.wrapping_add(req.length);
        0
    };
    req.put_status(p, status);
    Ok(0)
}

/// ND_INTEL_FW_FINISH_UPDATE: control flag 0 finishes (a second of
/// verification starts), 1 aborts, anything else is EINVAL.
pub fn finish_update(p: &mut [u8], slot: &mut Slot, now_ms: u64) -> CmdResult {
    // C does not check the length; it reads and writes the whole struct.
    let Some(req) = FwFinishUpdate::parse(p) else {
        return Err(Errno::EINVAL);
    };
    if slot.state == UpdateState::Updated {
        // Done already: it needs an activation.
        FwFinishUpdate::put_status(p, STATUS_BUSY);
        return Ok(0);
    }
    match req.ctrl_flags {
        0 if req.context != slot.context => FwFinishUpdate::put_status(p, STATUS_CONTEXT),
        0 => {
            FwFinishUpdate::put_status(p, 0);
            slot.state = UpdateState::Verify;
            slot.end_ms = now_ms.saturating_add(VERIFY_MS);
        }
        1 => {
            slot.size_received = 0;
            FwFinishUpdate::put_status(p, STATUS_ABORTED);
            slot.state = UpdateState::New;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// ND_INTEL_FW_FINISH_QUERY: whether a finished update is staged; once
/// verification is over it is, with the fake version.
pub fn finish_query(p: &mut [u8], slot: &mut Slot, now_ms: u64) -> CmdResult {
    let Some(req) = FwFinishQuery::parse(p) else {
        return Err(Errno::EINVAL);
    };
    if req.context != slot.context {
        FwFinishQuery::put_answer(p, STATUS_CONTEXT, None);
        return Ok(0);
    }
    let (status, rev) = match slot.state {
        UpdateState::New => (0, 0),
        // A query before the update was finished.
        UpdateState::InProgress => (STATUS_ABORTED, 0),
        UpdateState::Verify if now_ms < slot.end_ms => (STATUS_BUSY, 0),
        UpdateState::Verify | UpdateState::Updated => {
            if slot.state == UpdateState::Verify {
                slot.state = UpdateState::Updated;
                slot.missed_activate = false;
            }
            slot.version = FAKE_VERSION;
            (0, FAKE_VERSION)
        }
    };
    FwFinishQuery::put_answer(p, status, Some(rev));
    Ok(0)
}

/// The bus's activation info: armed while any DIMM is, else busy for
/// [`ACTIVATE_BUSY_MS`] after the last activation, else idle. Each armed
/// DIMM adds a second to the activation, against a 3 s quiesce limit.
pub fn bus_info(fw: &BusFirmware, now_ms: u64) -> FwaBusInfo {
    let last = fw.last_activate;
    let armed = fw.slots.iter().filter(|s| s.armed).count() as u64;
    let state = if armed != 0 {
        fw::FWA_ARMED
    } else if last.map_or(true, |l| now_ms > l.saturating_add(ACTIVATE_BUSY_MS)) {
        fw::FWA_IDLE
    } else {
        fw::FWA_BUSY
    };
    let tmo = armed * PER_DIMM_US;
    FwaBusInfo {
        status: 0,
        state,
        capability: fw::BUS_FWA_CAP_FWQUIESCE | fw::BUS_FWA_CAP_OSQUIESCE | fw::BUS_FWA_CAP_RESET,
        activate_tmo: tmo,
        cpu_quiesce_tmo: tmo,
        io_quiesce_tmo: tmo,
        max_quiesce_tmo: MAX_QUIESCE_US,
    }
}

/// NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO.
pub fn businfo(p: &mut [u8], fw: &BusFirmware, now_ms: u64) -> CmdResult {
    // C assigns the whole struct whatever the payload's size.
    let out = p.get_mut(..fw::FWA_BUSINFO_LEN).ok_or(Errno::EINVAL)?;
    out.copy_from_slice(&bus_info(fw, now_ms).to_bytes());
    Ok(0)
}

/// NVDIMM_BUS_INTEL_FW_ACTIVATE: refused (status only) while busy or with
/// nothing armed; otherwise every armed DIMM activates what it staged, or
/// notes it had nothing, and is disarmed. An activation over the quiesce
/// limit reports the timeout but activates all the same, as C does.
pub fn activate(p: &mut [u8], fw: &mut BusFirmware, now_ms: u64) -> CmdResult {
    if p.len() < fw::FWA_ACTIVATE_LEN {
        return Err(Errno::EINVAL);
    }
    let info = bus_info(fw, now_ms);
    let status = if info.state == fw::FWA_BUSY {
        fw::BUS_FWA_STATUS_BUSY
    } else if info.activate_tmo > info.max_quiesce_tmo {
        fw::BUS_FWA_STATUS_TMO
    } else if info.state == fw::FWA_IDLE {
        fw::BUS_FWA_STATUS_NOARM
    } else {
        0
    };
    fw::put_fwa_activate_status(p, status);
    if status != 0 && status != fw::BUS_FWA_STATUS_TMO {
        return Ok(0);
    }
    fw.last_activate = Some(now_ms);
    for slot in fw.slots.iter_mut().filter(|s| s.armed) {
        if slot.state == UpdateState::Updated {
            slot.state = UpdateState::New;
        } else {
            slot.missed_activate = true;
        }
        slot.armed = false;
        slot.last_activate = Some(now_ms);
    }
    Ok(0)
}

/// NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO for DIMM `index`: the bus's state
/// (armed reads as this DIMM's own), and once the bus is idle again after
/// an activation this DIMM took part in, how it went.
pub fn dimminfo(p: &mut [u8], fw: &BusFirmware, index: usize, now_ms: u64) -> CmdResult {
    let slot = fw.slots.get(index).ok_or(Errno::EINVAL)?;
    // C assigns the whole struct whatever the payload's size.
    let out = p.get_mut(..fw::FWA_DIMMINFO_LEN).ok_or(Errno::EINVAL)?;
    let state = match bus_info(fw, now_ms).state {
        fw::FWA_BUSY => fw::FWA_BUSY,
        fw::FWA_IDLE => fw::FWA_IDLE,
        _ if slot.armed => fw::FWA_ARMED,
        _ => fw::FWA_IDLE,
    };
    let result = match fw.last_activate {
        Some(l) if slot.last_activate == Some(l) && state == fw::FWA_IDLE => {
            if slot.missed_activate {
                fw::DIMM_FWA_NOTSTAGED
            } else {
                fw::DIMM_FWA_SUCCESS
            }
        }
        _ => fw::DIMM_FWA_NONE,
    };
    out.copy_from_slice(&FwaDimmInfo { status: 0, result, state }.to_bytes());
    Ok(0)
}

/// NVDIMM_INTEL_FW_ACTIVATE_ARM for DIMM `index`: 1 arms, anything else
/// disarms.
pub fn arm(p: &mut [u8], fw: &mut BusFirmware, index: usize) -> CmdResult {
    let slot = fw.slots.get_mut(index).ok_or(Errno::EINVAL)?;
    // C reads the byte and writes the status whatever the payload's size.
    if p.len() < fw::FWA_ARM_LEN {
        return Err(Errno::EINVAL);
    }
    slot.armed = fw::fwa_arm_request(p) == Some(fw::DIMM_FWA_ARM);
    fw::put_fwa_arm_status(p, 0);
    Ok(0)
}

/// The DIMM functions above, by Intel function number, for DIMM `index`
/// of the bus; None for a function that is not one of them.
pub fn dimm_call(
    func: u32,
    p: &mut [u8],
    fw: &mut BusFirmware,
    index: usize,
    now_ms: u64,
) -> Option<CmdResult> {
    use super::formats::nfit::intel;
    if func == intel::NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO {
        return Some(dimminfo(p, fw, index, now_ms));
    }
    if func == intel::NVDIMM_INTEL_FW_ACTIVATE_ARM {
        return Some(arm(p, fw, index));
    }
    let Some(slot) = fw.slots.get_mut(index) else {
        return Some(Err(Errno::EINVAL));
    };
    Some(match func {
        intel::ND_INTEL_FW_GET_INFO => get_info(p, slot),
        intel::ND_INTEL_FW_START_UPDATE => start_update(p, slot),
        intel::ND_INTEL_FW_SEND_DATA => send_data(p, slot),
        intel::ND_INTEL_FW_FINISH_UPDATE => finish_update(p, slot, now_ms),
        intel::ND_INTEL_FW_FINISH_QUERY => finish_query(p, slot, now_ms),
        _ => return None,
    })
}

/// The root Intel-family functions; ENOTTY for any other.
pub fn bus_call(func: u32, p: &mut [u8], fw: &mut BusFirmware, now_ms: u64) -> CmdResult {
    use super::formats::nfit::intel;
    match func {
        intel::NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO => businfo(p, fw, now_ms),
        intel::NVDIMM_BUS_INTEL_FW_ACTIVATE => activate(p, fw, now_ms),
        _ => Err(Errno::ENOTTY),
    }
}
