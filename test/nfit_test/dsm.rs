//! nfit_test's DIMM command emulation (the DIMM half of nfit_test_ctl() in
//! `tools/testing/nvdimm/test/nfit.c`, Linux 6.12) as pure functions over a
//! caller's label area and per-DIMM state.
//!
//! Payloads are the `include/uapi/linux/ndctl.h` and Intel layouts, read and
//! written at byte offsets. A handler returns what C's returns: the number of
//! output bytes left unfilled, or an errno. The includer declares
//! `mod formats` and `mod topology` next to this module.

use super::formats::cmd as nd;
use super::formats::nfit::{self, intel};
use super::topology::{
    DimmInfo, LABEL_SIZE, MAX_XFER, NUM_DCR, SMART_DEFAULT, SMART_THRESHOLD_DEFAULT,
};

/// A (positive) errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// I/O error: what an injected failure returns by default.
    pub const EIO: Errno = Errno(5);
    /// Invalid argument: a payload too short or out of range.
    pub const EINVAL: Errno = Errno(22);
    /// Command not supported.
    pub const ENOTTY: Errno = Errno(25);

    /// The negative value a C `int rc` carries.
    pub fn to_rc(self) -> i32 {
        -self.0
    }
}

/// A handler's result: output bytes left unfilled, or the errno.
pub type CmdResult = Result<u32, Errno>;

/// Folds a handler's result into C's `int rc`.
pub fn to_rc(r: CmdResult) -> i32 {
    match r {
        // C computes an unsigned difference and returns it as int.
        Ok(n) => n as i32,
        Err(e) => e.to_rc(),
    }
}

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// ND_CMD_GET_CONFIG_SIZE: status 0, a 128 KiB label area, 4 KiB transfers.
pub fn get_config_size(buf: &mut [u8]) -> CmdResult {
    if buf.len() < nfit::dsm::CONFIG_SIZE_LEN {
        return Err(Errno::EINVAL);
    }
    put32(buf, nfit::dsm::CONFIG_SIZE_STATUS, 0);
    put32(buf, nfit::dsm::CONFIG_SIZE_CONFIG_SIZE, LABEL_SIZE as u32);
    put32(buf, nfit::dsm::CONFIG_SIZE_MAX_XFER, MAX_XFER);
    Ok(0)
}

/// ND_CMD_GET_CONFIG_DATA from `label` (the DIMM's whole label area).
///
/// Like C: the offset must lie inside the area and `in_length` must fit the
/// buffer after the 12-byte header; a read running past the end of the area
/// is cut short rather than refused. Returns the unfilled output bytes.
pub fn get_config_data(buf: &mut [u8], label: &[u8]) -> CmdResult {
    let hdr = nfit::dsm::GET_DATA_OUT_BUF;
    if buf.len() < hdr {
        return Err(Errno::EINVAL);
    }
    let offset = get32(buf, nfit::dsm::GET_DATA_IN_OFFSET) as usize;
    let in_length = get32(buf, nfit::dsm::GET_DATA_IN_LENGTH) as usize;
    if offset >= label.len() {
        return Err(Errno::EINVAL);
    }
    if in_length as u64 + hdr as u64 > buf.len() as u64 {
        return Err(Errno::EINVAL);
    }
    put32(buf, nfit::dsm::GET_DATA_STATUS, 0);
    let len = in_length.min(label.len() - offset);
    buf[hdr..hdr + len].copy_from_slice(&label[offset..offset + len]);
    Ok((buf.len() - hdr - len) as u32)
}

/// ND_CMD_SET_CONFIG_DATA into `label` (the DIMM's whole label area).
///
/// Like C: the offset must lie inside the area and the data plus the
/// trailing u32 status must fit the buffer; a write running past the end of
/// the area is silently cut short. Returns the unfilled output bytes.
pub fn set_config_data(buf: &mut [u8], label: &mut [u8]) -> CmdResult {
    let hdr = nfit::dsm::SET_DATA_IN_BUF;
    if buf.len() < hdr {
        return Err(Errno::EINVAL);
    }
    let offset = get32(buf, nfit::dsm::SET_DATA_IN_OFFSET) as usize;
    let in_length = get32(buf, nfit::dsm::SET_DATA_IN_LENGTH) as usize;
    if offset >= label.len() {
        return Err(Errno::EINVAL);
    }
    if in_length as u64 + hdr as u64 + 4 > buf.len() as u64 {
        return Err(Errno::EINVAL);
    }
    put32(buf, hdr + in_length, 0);
    let len = in_length.min(label.len() - offset);
    label[offset..offset + len].copy_from_slice(&buf[hdr..hdr + len]);
    Ok((buf.len() - hdr - (len + 4)) as u32)
}

/// ND_INTEL_SMART: the DIMM's current health, 132 bytes.
pub fn smart(buf: &mut [u8], smart: &intel::Smart) -> CmdResult {
    let out = buf.get_mut(..intel::SMART_LEN).ok_or(Errno::EINVAL)?;
    out.copy_from_slice(&smart.to_bytes());
    Ok(0)
}

/// ND_INTEL_SMART_THRESHOLD: the DIMM's current thresholds, 12 bytes.
pub fn smart_threshold(buf: &mut [u8], threshold: &intel::SmartThreshold) -> CmdResult {
    let out = buf
        .get_mut(..intel::SMART_THRESHOLD_LEN)
        .ok_or(Errno::EINVAL)?;
    out.copy_from_slice(&threshold.to_bytes());
    Ok(0)
}

/// smart_notify()'s test: would this health, against these thresholds,
/// raise a DIMM health event (ACPI notify 0x81)?
pub fn health_event_due(smart: &intel::Smart, t: &intel::SmartThreshold) -> bool {
    let armed = |bit: u16| t.alarm_control & bit != 0;
    (armed(intel::SMART_SPARE_TRIP) && smart.spares <= t.spares)
        || (armed(intel::SMART_TEMP_TRIP) && smart.media_temperature >= t.media_temperature)
        || (armed(intel::SMART_CTEMP_TRIP) && smart.ctrl_temperature >= t.ctrl_temperature)
        || smart.health != intel::SMART_NON_CRITICAL_HEALTH
        || smart.shutdown_state != 0
}

/// ND_INTEL_SMART_SET_THRESHOLD: takes the 7 threshold bytes, answers
/// status 0, and reports whether a health event is due.
pub fn smart_set_threshold(
    buf: &mut [u8],
    threshold: &mut intel::SmartThreshold,
    smart: &intel::Smart,
) -> Result<bool, Errno> {
    let mut data = [0u8; 7];
    data.copy_from_slice(buf.get(..7).ok_or(Errno::EINVAL)?);
    *threshold = intel::SmartThreshold::from_data(&data);
    // C writes the status even when buf_len only covered the input.
    if let Some(status) = buf.get_mut(7..11) {
        status.fill(0);
    }
    Ok(health_event_due(smart, threshold))
}

/// ND_INTEL_SMART_INJECT: the payload must be exactly 19 bytes. Each
/// flagged field is set, or restored to `smart_def` when its enable byte is
/// 0; an unsafe shutdown also bumps the shutdown count. Reports whether a
/// health event is due.
pub fn smart_inject(
    buf: &mut [u8],
    threshold: &intel::SmartThreshold,
    smart: &mut intel::Smart,
) -> Result<bool, Errno> {
    if buf.len() != intel::SMART_INJECT_LEN {
        return Err(Errno::EINVAL);
    }
    let mut f = [0u8; 8];
    f.copy_from_slice(&buf[0..8]);
    let flags = u64::from_le_bytes(f);
    if flags & intel::SMART_INJECT_MTEMP != 0 {
        smart.media_temperature = if buf[8] != 0 {
            u16::from_le_bytes([buf[9], buf[10]])
        } else {
            SMART_DEFAULT.media_temperature
        };
    }
    if flags & intel::SMART_INJECT_SPARE != 0 {
        smart.spares = if buf[11] != 0 {
            buf[12]
        } else {
            SMART_DEFAULT.spares
        };
    }
    if flags & intel::SMART_INJECT_FATAL != 0 {
        smart.health = if buf[13] != 0 {
            intel::SMART_FATAL_HEALTH
        } else {
            intel::SMART_NON_CRITICAL_HEALTH
        };
    }
    if flags & intel::SMART_INJECT_SHUTDOWN != 0 {
        if buf[14] != 0 {
            smart.shutdown_state = 1;
            smart.shutdown_count = smart.shutdown_count.wrapping_add(1);
        } else {
            smart.shutdown_state = 0;
        }
    }
    put32(buf, 15, 0);
    Ok(health_event_due(smart, threshold))
}

/// ND_INTEL_ENABLE_LSS_STATUS: enable 0 or 1 answers status 0, anything
/// else status 3 (both return 0).
pub fn enable_lss_status(buf: &mut [u8]) -> CmdResult {
    if buf.len() < intel::LSS_LEN {
        return Err(Errno::EINVAL);
    }
    let status = if buf[0] <= 1 { 0 } else { 3 };
    put32(buf, 1, status);
    Ok(0)
}

/// A `test_dimmN`'s failure injection: the `fail_cmd` and `fail_cmd_code`
/// sysfs attributes (stored with kstrtol(); shown as `%#lx` and `%d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailCmd {
    /// Bit `n` fails function `n`.
    pub flags: u64,
    /// What a failed function returns instead; 0 means -EIO.
    pub code: i32,
}

impl FailCmd {
    /// override_return_code(): a command whose bit is set still runs (its
    /// side effects stay), but returns `code`, or -EIO if `code` is 0.
    pub fn apply(&self, func: u32, rc: i32) -> i32 {
        if func < 64 && (self.flags >> func) & 1 != 0 {
            if self.code != 0 {
                self.code
            } else {
                Errno::EIO.to_rc()
            }
        } else {
            rc
        }
    }
}

/// What nfit_test keeps per DIMM for these commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimmState {
    /// Current health (smart_init() starts it at `smart_def`).
    pub smart: intel::Smart,
    /// Current thresholds.
    pub threshold: intel::SmartThreshold,
    /// Failure injection.
    pub fail: FailCmd,
}

impl DimmState {
    /// The state after smart_init(), with no failure injected.
    pub const fn new() -> Self {
        DimmState {
            smart: SMART_DEFAULT,
            threshold: SMART_THRESHOLD_DEFAULT,
            fail: FailCmd { flags: 0, code: 0 },
        }
    }
}

impl Default for DimmState {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of [`dimm_ctl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handled: C's return code (after failure injection), and whether
    /// smart_notify() would send the DIMM a health event (0x81).
    Done {
        /// Unfilled output bytes, or a negative errno.
        rc: i32,
        /// A health notification is due.
        health_event: bool,
    },
    /// A family function nfit_test emulates with timers and security state
    /// (firmware update and activation, security): left to the caller, who
    /// must also apply `FailCmd::apply(func, rc)` to its result.
    NotEmulated {
        /// The Intel function number.
        func: u32,
    },
}

fn done(rc: i32) -> Outcome {
    Outcome::Done {
        rc,
        health_event: false,
    }
}

/// nfit_test_ctl() for a DIMM. `buf` is the whole command buffer (for
/// ND_CMD_CALL, the `nd_cmd_pkg` with its payload), `label` the DIMM's label
/// area.
pub fn dimm_ctl(
    dimm: &DimmInfo,
    state: &mut DimmState,
    label: &mut [u8],
    command: u32,
    buf: &mut [u8],
) -> Outcome {
    if command == nd::CALL {
        return call(dimm, state, buf);
    }
    // Everything but ND_CMD_CALL must be in both the command and DSM masks.
    let has = |mask: u64| command < 64 && (mask >> command) & 1 != 0;
    if !has(dimm.cmd_mask) || !has(dimm.dsm_mask) {
        return done(Errno::ENOTTY.to_rc());
    }
    let r = match command {
        nd::GET_CONFIG_SIZE => get_config_size(buf),
        nd::GET_CONFIG_DATA => get_config_data(buf, label),
        nd::SET_CONFIG_DATA => set_config_data(buf, label),
        _ => return done(Errno::ENOTTY.to_rc()),
    };
    done(state.fail.apply(command, to_rc(r)))
}

/// The ND_CMD_CALL half of [`dimm_ctl`]: Intel-family functions, which C
/// serves for nfit_test.0's DIMMs only and without checking the dsm_mask.
fn call(dimm: &DimmInfo, state: &mut DimmState, buf: &mut [u8]) -> Outcome {
    if buf.len() < nd::PKG_HEADER {
        return done(Errno::EINVAL.to_rc());
    }
    let mut fam = [0u8; 8];
    fam.copy_from_slice(&buf[nfit::dsm::PKG_FAMILY..nfit::dsm::PKG_FAMILY + 8]);
    // C keeps the low 32 bits of nd_command in an unsigned int.
    let func = get32(buf, nfit::dsm::PKG_COMMAND);
    let payload_len = u64::from(get32(buf, nfit::dsm::PKG_SIZE_IN))
        + u64::from(get32(buf, nfit::dsm::PKG_SIZE_OUT));
    if u64::from_le_bytes(fam) != u64::from(dimm.family) {
        return done(Errno::ENOTTY.to_rc());
    }
    if dimm.index >= NUM_DCR {
        // dev_WARN_ONCE("ND_CMD_CALL only valid for nfit_test0")
        return done(Errno::EINVAL.to_rc());
    }
    // libnvdimm sized the buffer to the package; refuse one that lies.
    let end = nd::PKG_HEADER as u64 + payload_len;
    if end > buf.len() as u64 {
        return done(Errno::EINVAL.to_rc());
    }
    let p = &mut buf[nd::PKG_HEADER..end as usize];
    let (r, health_event) = match func {
        intel::ND_INTEL_SMART => (smart(p, &state.smart), false),
        intel::ND_INTEL_SMART_THRESHOLD => (smart_threshold(p, &state.threshold), false),
        intel::ND_INTEL_SMART_SET_THRESHOLD => {
            match smart_set_threshold(p, &mut state.threshold, &state.smart) {
                Ok(ev) => (Ok(0), ev),
                Err(e) => (Err(e), false),
            }
        }
        intel::ND_INTEL_SMART_INJECT => match smart_inject(p, &state.threshold, &mut state.smart) {
            Ok(ev) => (Ok(0), ev),
            Err(e) => (Err(e), false),
        },
        intel::ND_INTEL_ENABLE_LSS_STATUS => (enable_lss_status(p), false),
        intel::ND_INTEL_FW_GET_INFO..=intel::ND_INTEL_FW_FINISH_QUERY
        | intel::NVDIMM_INTEL_GET_SECURITY_STATE..=intel::NVDIMM_INTEL_FW_ACTIVATE_ARM => {
            return Outcome::NotEmulated { func };
        }
        _ => return done(Errno::ENOTTY.to_rc()),
    };
    Outcome::Done {
        rc: state.fail.apply(func, to_rc(r)),
        health_event,
    }
}
