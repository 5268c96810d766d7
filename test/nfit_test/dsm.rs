//! nfit_test's DIMM command emulation (the DIMM half of nfit_test_ctl() in
//! `tools/testing/nvdimm/test/nfit.c`, Linux 6.12) as pure functions over a
//! caller's label area and per-DIMM state.
//!
//! Payloads are the `include/uapi/linux/ndctl.h` and Intel layouts, read and
//! written at byte offsets. A handler returns what C's returns: the number of
//! output bytes left unfilled, or an errno. The includer declares
//! `mod formats`, `mod firmware` and `mod topology` next to this module.
//!
//! The bus half (address range scrub, error injection, SPA translation,
//! firmware activation) is at the end: [`bus_ctl`]. Firmware update and
//! activation keep their state per bus, in `firmware.rs`.

use super::formats::cmd as nd;
use super::formats::badrange::{self, BadRange, List};
use super::formats::nfit::inject::{self, ErrClr, ErrInj};
use super::formats::nfit::{self, intel};
use super::firmware::{self, BusFirmware};
use super::topology::{
    BusInfo, DimmInfo, LABEL_SIZE, MAX_XFER, NUM_DCR, SMART_DEFAULT, SMART_THRESHOLD_DEFAULT,
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
    /// A scrub is still running.
    pub const EBUSY: Errno = Errno(16);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(12);

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

fn get64(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
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
    set_config_data_cut(buf, label, &mut LabelWriteBudget::Off)
}

/// [`set_config_data`] under the power-cut model: a valid write spends
/// `budget`, which decides how much of it lands (see [`LabelWriteBudget`]).
/// A write C would refuse (EINVAL) changes nothing and spends nothing.
pub fn set_config_data_cut(buf: &mut [u8], label: &mut [u8], budget: &mut LabelWriteBudget) -> CmdResult {
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
    let len = in_length.min(label.len() - offset);
    let landed = match budget.spend() {
        LabelWrite::Full => len,
        LabelWrite::Torn => len / 2,
        LabelWrite::Lost => 0,
    };
    label[offset..offset + landed].copy_from_slice(&buf[hdr..hdr + landed]);
    if landed < len || budget.is_cut() {
        // The DIMM lost power: the command fails as an injected failure does.
        return Err(Errno::EIO);
    }
    put32(buf, hdr + in_length, 0);
    Ok((buf.len() - hdr - (len + 4)) as u32)
}

/// How much of one label write reaches the label area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelWrite {
    /// All of it.
    Full,
    /// The first half of its payload: the write the power cut interrupts.
    Torn,
    /// None: the DIMM has no power.
    Lost,
}

/// A power cut during label writes, for torture tests (not in C's
/// nfit_test): the `label_write_budget` attribute of a bus
/// (`/sys/class/nfit_test_bus/nfit_test.N/`). It counts the
/// ND_CMD_SET_CONFIG_DATA commands of all the bus's DIMMs, the kernel's
/// own and those sent by ioctl alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelWriteBudget {
    /// No fault (written and shown as -1).
    #[default]
    Off,
    /// This many writes land in full; the next one is torn.
    Left(u64),
    /// The torn write has happened: every later write fails, and none of it
    /// lands, until the budget is set again (shown as "cut").
    Cut,
}

impl LabelWriteBudget {
    /// The value written to the attribute: -1 or a count.
    pub fn from_i64(v: i64) -> Result<Self, Errno> {
        match v {
            -1 => Ok(LabelWriteBudget::Off),
            0.. => Ok(LabelWriteBudget::Left(v as u64)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Decides the fate of the next write and counts it.
    pub fn spend(&mut self) -> LabelWrite {
        match *self {
            LabelWriteBudget::Off => LabelWrite::Full,
            LabelWriteBudget::Left(0) => {
                *self = LabelWriteBudget::Cut;
                LabelWrite::Torn
            }
            LabelWriteBudget::Left(n) => {
                *self = LabelWriteBudget::Left(n - 1);
                LabelWrite::Full
            }
            LabelWriteBudget::Cut => LabelWrite::Lost,
        }
    }

    /// Whether the power is gone.
    pub fn is_cut(&self) -> bool {
        *self == LabelWriteBudget::Cut
    }
}

/// A power cut during namespace byte writes, for the BTT's torture test
/// (not in C's nfit_test): the `media_write_budget` attribute of a bus. It
/// counts the writes libnvdimm makes through a namespace's byte access
/// (`nsio_rw_bytes`: nd_btt's data, flog, map and info block writes), not
/// nd_pmem's block I/O nor label writes. Same states as the label budget.
pub type MediaWriteBudget = LabelWriteBudget;

/// The pmem write atomicity: an aligned 8-byte store lands whole or not at
/// all, so a torn write stops at an 8-byte boundary.
pub const MEDIA_ATOMIC: u64 = 8;

/// How many bytes of the torn write of `len` bytes at address `phys` land:
/// its first half, cut back to the 8-byte boundary at or before it. A write
/// of 8 bytes or less (a flog half, a map entry) lands nothing; a 4 KiB
/// data block lands 2 KiB.
pub fn torn_prefix(phys: u64, len: u64) -> u64 {
    let mid = phys.saturating_add(len / 2);
    (mid - mid % MEDIA_ATOMIC).saturating_sub(phys).min(len)
}

/// How many of the `len` bytes of a namespace write at `phys` land under
/// `budget`, which it spends.
pub fn media_write_landing(budget: &mut MediaWriteBudget, phys: u64, len: u64) -> u64 {
    match budget.spend() {
        LabelWrite::Full => len,
        LabelWrite::Torn => torn_prefix(phys, len),
        LabelWrite::Lost => 0,
    }
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

/// ND_INTEL_SEC_STATE_ENABLED: a user passphrase is set.
pub const SEC_STATE_ENABLED: u8 = 0x02;
/// ND_INTEL_SEC_STATE_LOCKED: the DIMM is locked.
pub const SEC_STATE_LOCKED: u8 = 0x04;
/// ND_INTEL_SEC_ESTATE_ENABLED: the master passphrase is enabled.
pub const SEC_ESTATE_ENABLED: u8 = 0x01;
/// `struct nd_intel_get_security_state`: status, extended_state at 4,
/// state at 8.
pub const SECURITY_STATE_LEN: usize = 12;

/// A DIMM's security state (C's `dimm_sec_info[]`, without passphrases:
/// the commands that set them are not emulated). All zero, "disabled",
/// until probe or `lock_dimm` change it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Security {
    /// ND_INTEL_SEC_STATE_* bits.
    pub state: u8,
    /// ND_INTEL_SEC_ESTATE_* bits.
    pub ext_state: u8,
}

impl Security {
    /// The `test_dimmN/lock_dimm` attribute: passphrase set and locked.
    pub fn lock(&mut self) {
        self.state = SEC_STATE_ENABLED | SEC_STATE_LOCKED;
    }
}

/// NVDIMM_INTEL_GET_SECURITY_STATE: status 0 and the two state bytes; the
/// reserved bytes are left as they were. C does not check the length
/// (libnvdimm always passes 12 bytes); a shorter payload is EINVAL here.
pub fn get_security_state(buf: &mut [u8], sec: &Security) -> CmdResult {
    let out = buf.get_mut(..SECURITY_STATE_LEN).ok_or(Errno::EINVAL)?;
    put32(out, 0, 0);
    out[4] = sec.ext_state;
    out[8] = sec.state;
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
    /// Security state.
    pub security: Security,
}

impl DimmState {
    /// The state after smart_init(), with no failure injected and
    /// security all zero (C's statics at module load).
    pub const fn new() -> Self {
        DimmState {
            smart: SMART_DEFAULT,
            threshold: SMART_THRESHOLD_DEFAULT,
            fail: FailCmd { flags: 0, code: 0 },
            security: Security {
                state: 0,
                ext_state: 0,
            },
        }
    }

    /// What a probe of the DIMM's bus resets: health and thresholds
    /// (smart_init()) and, on nfit_test.0, the master passphrase state
    /// (nfit_security_init()). Failure injection and the security state
    /// are C statics and survive re-probes.
    pub fn probe(&mut self, dimm: &DimmInfo) {
        self.smart = SMART_DEFAULT;
        self.threshold = SMART_THRESHOLD_DEFAULT;
        if dimm.index < NUM_DCR {
            self.security.ext_state = SEC_ESTATE_ENABLED;
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
    /// A security function that changes state (passphrases, erase,
    /// overwrite): not emulated. The caller answers it, and must also apply
    /// `FailCmd::apply(func, rc)` to its answer.
    NotEmulated {
        /// The Intel function number.
        func: u32,
    },
    /// A firmware update or activation function: the bus's firmware state
    /// answers it (`firmware::dimm_call` on the package's payload,
    /// `buf[PKG_HEADER..payload_end]`), then `FailCmd::apply(func, rc)`, as
    /// C's `override_return_code()` does.
    Firmware {
        /// The Intel function number.
        func: u32,
        /// Where the package's payload ends in the command buffer.
        payload_end: usize,
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
/// area, `budget` its bus's label-write fault (`LabelWriteBudget::Off` to
/// behave as C).
pub fn dimm_ctl(
    dimm: &DimmInfo,
    state: &mut DimmState,
    label: &mut [u8],
    budget: &mut LabelWriteBudget,
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
        nd::SET_CONFIG_DATA => set_config_data_cut(buf, label, budget),
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
        intel::NVDIMM_INTEL_GET_SECURITY_STATE => (get_security_state(p, &state.security), false),
        intel::ND_INTEL_FW_GET_INFO..=intel::ND_INTEL_FW_FINISH_QUERY
        | intel::NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO
        | intel::NVDIMM_INTEL_FW_ACTIVATE_ARM => {
            return Outcome::Firmware { func, payload_end: end as usize };
        }
        intel::NVDIMM_INTEL_SET_PASSPHRASE..=intel::NVDIMM_INTEL_MASTER_SECURE_ERASE => {
            return Outcome::NotEmulated { func };
        }
        _ => return done(Errno::ENOTTY.to_rc()),
    };
    Outcome::Done {
        rc: state.fail.apply(func, to_rc(r)),
        health_event,
    }
}

// ---------------------------------------------------------------------------
// The bus half of nfit_test_ctl(): address range scrub.

/// `struct nd_cmd_ars_cap`: address, length, then status at 16,
/// max_ars_out at 20, clear_err_unit at 24.
pub const ARS_CAP_LEN: usize = 32;
/// `struct nd_cmd_ars_start`: address, length, type, flags, then status at
/// 24 and scrub_time at 28.
pub const ARS_START_LEN: usize = 32;
/// `struct nd_cmd_ars_status` without its records.
pub const ARS_STATUS_LEN: usize = 48;
/// `struct nd_ars_record`.
pub const ARS_RECORD_LEN: usize = 24;
/// `struct nd_cmd_clear_error`: address, length, status at 16, cleared at 24.
pub const CLEAR_ERROR_LEN: usize = 32;
/// NFIT_TEST_CLEAR_ERR_UNIT: clear_error works in 256-byte units.
pub const CLEAR_ERR_UNIT: u64 = 256;
/// How long a scrub runs (C: one second of jiffies).
pub const ARS_DURATION_MS: u64 = 1000;
/// ND_ARS_VOLATILE and ND_ARS_PERSISTENT.
const ND_ARS_VOLATILE: u32 = 1;
const ND_ARS_PERSISTENT: u16 = 2;
/// NFIT_ARS_START_BUSY and NFIT_ARS_STATUS_BUSY.
const ARS_START_BUSY: u32 = 6;
const ARS_STATUS_BUSY: u32 = 1 << 16;

/// Most records a posted scrub result holds: C's buffer is
/// `sizeof(struct nd_cmd_ars_status) + SZ_4K` (C writes past it when more
/// injected ranges fall in the scrubbed range; we stop at what fits).
pub const ARS_MAX_RECORDS: usize = 4096 / ARS_RECORD_LEN;
/// Most records an injection status reports: C stops after the record
/// following the first 4096 / 16.
pub const INJECT_STAT_MAX_RECORDS: usize = 4096 / nfit::inject::ERR_STAT_RECORD_LEN + 1;

/// A bus's scrub (C's `struct ars_state`): the result the last scrub
/// posts, available once `deadline_ms` has passed. The result lists the
/// injected ranges (`t->badrange`) that overlapped the scrubbed range when
/// the scrub started, clipped to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ars {
    /// Range scrubbed.
    pub address: u64,
    /// Its length.
    pub length: u64,
    /// Until when (caller's monotonic milliseconds) the scrub runs.
    pub deadline_ms: u64,
    /// The poisoned ranges found, `num_records` of them.
    records: [BadRange; ARS_MAX_RECORDS],
    num_records: usize,
}

impl Ars {
    /// post_ars_status(): a scrub of `address..+length` starting at
    /// `now_ms`, which finds the parts of `bad` inside that range. Probe
    /// posts one over the bus's first PM range.
    pub fn post(address: u64, length: u64, now_ms: u64, bad: &[BadRange]) -> Self {
        let mut ars = Ars {
            address: 0,
            length: 0,
            deadline_ms: 0,
            records: [BadRange { start: 0, len: 0 }; ARS_MAX_RECORDS],
            num_records: 0,
        };
        ars.repost(address, length, now_ms, bad);
        ars
    }

    /// [`Ars::post`] over this one, in place: the records are kilobytes,
    /// too much to build on the stack of a command that can arrive deep
    /// in a probe (clearing poison from the pfn memmap at enable).
    pub fn repost(&mut self, address: u64, length: u64, now_ms: u64, bad: &[BadRange]) {
        let ars = self;
        ars.address = address;
        ars.length = length;
        ars.deadline_ms = now_ms.saturating_add(ARS_DURATION_MS);
        ars.num_records = 0;
        // C's u64 arithmetic, wrapping included.
        let end = address.wrapping_add(length).wrapping_sub(1);
        for be in bad {
            let be_end = be.start.wrapping_add(be.len).wrapping_sub(1);
            if be_end < address || be.start > end {
                continue;
            }
            if ars.num_records == ARS_MAX_RECORDS {
                break;
            }
            let rstart = be.start.max(address);
            let rend = be_end.min(end);
            ars.records[ars.num_records] = BadRange {
                start: rstart,
                len: rend.wrapping_sub(rstart).wrapping_add(1),
            };
            ars.num_records += 1;
        }
    }

    fn busy(&self, now_ms: u64) -> bool {
        now_ms < self.deadline_ms
    }

    /// The poisoned ranges of the posted result.
    pub fn records(&self) -> &[BadRange] {
        &self.records[..self.num_records]
    }

    /// `out_length` of the posted result.
    pub fn out_length(&self) -> u32 {
        (ARS_STATUS_LEN + self.num_records * ARS_RECORD_LEN) as u32
    }
}

/// What a command returns to libnvdimm: C's return value and `*cmd_rc`
/// (the firmware status, e.g. -EBUSY while a scrub runs), and whether it
/// raised a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusOutcome {
    /// Unfilled output bytes, or a negative errno.
    pub rc: i32,
    /// The command's own status.
    pub cmd_rc: i32,
    /// An injection asked for a UC memory error notification (C queues
    /// `uc_error_notify()`, which calls `__acpi_nfit_notify(0x81)`).
    pub uc_error_notify: bool,
}

fn bus_done(rc: i32) -> BusOutcome {
    BusOutcome { rc, cmd_rc: 0, uc_error_notify: false }
}

/// ND_CMD_ARS_CAP: persistent and volatile scrubs, results up to 4 KiB of
/// records, 256-byte clear unit.
pub fn ars_cap(buf: &mut [u8]) -> CmdResult {
    if buf.len() < ARS_CAP_LEN {
        return Err(Errno::EINVAL);
    }
    let records = 4096 / ARS_RECORD_LEN;
    put32(buf, 16, (ND_ARS_PERSISTENT as u32 | ND_ARS_VOLATILE) << 16);
    put32(buf, 20, (ARS_STATUS_LEN + records * ARS_RECORD_LEN) as u32);
    put32(buf, 24, CLEAR_ERR_UNIT as u32);
    Ok(0)
}

/// ND_CMD_ARS_START: busy (status 6, -EBUSY) while the last scrub runs,
/// otherwise starts a one-second scrub of the requested range, which will
/// report the injected ranges `bad` it covers.
pub fn ars_start(buf: &mut [u8], ars: &mut Ars, bad: &[BadRange], now_ms: u64) -> BusOutcome {
    if buf.len() < ARS_START_LEN {
        return bus_done(Errno::EINVAL.to_rc());
    }
    if ars.busy(now_ms) {
        put32(buf, 24, ARS_START_BUSY);
        return BusOutcome { rc: 0, cmd_rc: Errno::EBUSY.to_rc(), uc_error_notify: false };
    }
    put32(buf, 24, 0);
    put32(buf, 28, 1);
    ars.repost(get64(buf, 0), get64(buf, 8), now_ms, bad);
    bus_done(0)
}

/// ND_CMD_ARS_STATUS: while busy, a zeroed buffer with status busy and
/// -EBUSY; then the posted result (EINVAL if the buffer cannot hold it).
pub fn ars_status(buf: &mut [u8], ars: &Ars, now_ms: u64) -> BusOutcome {
    if buf.len() < ars.out_length() as usize {
        return bus_done(Errno::EINVAL.to_rc());
    }
    if ars.busy(now_ms) {
        buf.fill(0);
        put32(buf, 0, ARS_STATUS_BUSY);
        put32(buf, 4, ARS_STATUS_LEN as u32);
        return BusOutcome { rc: 0, cmd_rc: Errno::EBUSY.to_rc(), uc_error_notify: false };
    }
    let out = &mut buf[..ars.out_length() as usize];
    out.fill(0);
    put32(out, 4, ars.out_length());
    put64(out, 8, ars.address);
    put64(out, 16, ars.length);
    out[40..42].copy_from_slice(&ND_ARS_PERSISTENT.to_le_bytes());
    put32(out, 44, ars.num_records as u32);
    for (i, r) in ars.records().iter().enumerate() {
        // nd_ars_record: handle 0, reserved, address, length.
        let at = ARS_STATUS_LEN + i * ARS_RECORD_LEN;
        put64(out, at + 8, r.start);
        put64(out, at + 16, r.len);
    }
    bus_done(0)
}

/// ND_CMD_CLEAR_ERROR: address and length must be multiples of the clear
/// unit; everything asked for is cleared, injected poison included.
pub fn clear_error(buf: &mut [u8], bad: &mut impl List) -> BusOutcome {
    if buf.len() < CLEAR_ERROR_LEN {
        return bus_done(Errno::EINVAL.to_rc());
    }
    let (address, length) = (get64(buf, 0), get64(buf, 8));
    if (address | length) & (CLEAR_ERR_UNIT - 1) != 0 {
        return bus_done(Errno::EINVAL.to_rc());
    }
    // badrange_forget() takes an unsigned int length.
    badrange::list_forget(bad, address, length as u32);
    put32(buf, 16, 0);
    put64(buf, 24, length);
    bus_done(0)
}

/// NFIT_CMD_ARS_INJECT_SET (nfit_test_cmd_ars_error_inject()): the payload
/// must be exactly `struct nd_cmd_ars_err_inj` and the length non-zero;
/// the range joins the platform's poison list, and the option bit asks for
/// a UC memory error notification. Refusals set status 2 (invalid).
pub fn ars_inject_set(p: &mut [u8], bad: &mut impl List) -> BusOutcome {
    let req = match ErrInj::parse(p) {
        Some(r) if p.len() == inject::ERR_INJ_LEN && r.length != 0 => r,
        _ => {
            inject::put_status(p, inject::ERR_INJ_STATUS, inject::INJECT_STATUS_INVALID);
            return bus_done(Errno::EINVAL.to_rc());
        }
    };
    if badrange::list_add(bad, req.base, req.length).is_err() {
        inject::put_status(p, inject::ERR_INJ_STATUS, inject::INJECT_STATUS_INVALID);
        return bus_done(Errno::ENOMEM.to_rc());
    }
    inject::put_status(p, inject::ERR_INJ_STATUS, 0);
    BusOutcome { rc: 0, cmd_rc: 0, uc_error_notify: req.notify() }
}

/// NFIT_CMD_ARS_INJECT_CLEAR (nfit_test_cmd_ars_inject_clear()): the
/// payload must be exactly `struct nd_cmd_ars_err_inj_clr` and the length
/// non-zero; the range (its length cut to 32 bits, as C's
/// `badrange_forget()` takes it) leaves the poison list.
pub fn ars_inject_clear(p: &mut [u8], bad: &mut impl List) -> BusOutcome {
    let req = match ErrClr::parse(p) {
        Some(r) if p.len() == inject::ERR_CLR_LEN && r.length != 0 => r,
        _ => {
            inject::put_status(p, inject::ERR_CLR_STATUS, inject::INJECT_STATUS_INVALID);
            return bus_done(Errno::EINVAL.to_rc());
        }
    };
    badrange::list_forget(bad, req.base, req.length as u32);
    inject::put_status(p, inject::ERR_CLR_STATUS, 0);
    bus_done(0)
}

/// NFIT_CMD_ARS_INJECT_GET (nfit_test_cmd_ars_inject_status()): the poison
/// list, at most [`INJECT_STAT_MAX_RECORDS`] records. C does not check the
/// payload's size and writes past a short one; we write what fits, with
/// C's record count.
pub fn ars_inject_get(p: &mut [u8], bad: &impl List) -> BusOutcome {
    let list = bad.entries();
    let n = list.len().min(INJECT_STAT_MAX_RECORDS);
    inject::put_err_stat(p, n as u32, list[..n].iter().map(|r| (r.start, r.len)));
    bus_done(0)
}

/// NFIT_CMD_TRANSLATE_SPA (nfit_test_cmd_translate_spa()): the DIMM of the
/// region holding the address. nfit_test answers with the region's last
/// mapping and the offset into the region as its "DPA"; an address in no
/// region, or in one without mappings (where C would index mapping -1),
/// gets status 2. `table` is the bus's NFIT, whose PM ranges are its
/// regions, their mappings in table order.
pub fn translate_spa(p: &mut [u8], table: &nfit::Nfit<'_>) -> BusOutcome {
    // C reads translate_length even from a shorter payload; we refuse one.
    let Some((spa, want)) = inject::translate_request(p) else {
        return bus_done(Errno::EINVAL.to_rc());
    };
    if (p.len() as u64) < want {
        return bus_done(Errno::EINVAL.to_rc());
    }
    let found = table
        .spas()
        .filter(|r| match r.spa_type() {
            // The ranges nfit registers regions for (acpi_nfit_register_region()).
            Some(t @ (nfit::SpaType::Pm | nfit::SpaType::Volatile)) => r.range_index() != 0 || t.is_virtual(),
            Some(t) => t.is_virtual(),
            None => false,
        })
        .find(|r| spa >= r.address() && spa < r.address().wrapping_add(r.length()))
        .and_then(|r| Some((table.mappings(&r).last()?.device_handle().0, spa - r.address())));
    match found {
        Some((handle, dpa)) => inject::put_translation(p, handle, dpa),
        None => inject::put_status(p, inject::XLAT_STATUS, inject::XLAT_STATUS_INVALID_SPA),
    }
    bus_done(0)
}

/// The ND_CMD_CALL half of [`bus_ctl`]: functions of the NFIT bus family,
/// served without looking at the dsm_mask, as C does, and of the Intel
/// bus family (firmware activation). The payload is what follows
/// `struct nd_cmd_pkg`, input and output sizes added.
fn bus_call(
    buf: &mut [u8],
    bad: &mut impl List,
    table: &nfit::Nfit<'_>,
    fw: &mut BusFirmware,
    now_ms: u64,
) -> BusOutcome {
    if buf.len() < nd::PKG_HEADER {
        return bus_done(Errno::EINVAL.to_rc());
    }
    let family = get64(buf, nfit::dsm::PKG_FAMILY);
    let intel = family == u64::from(nfit::dsm::NVDIMM_BUS_FAMILY_INTEL);
    if family != u64::from(nfit::dsm::NVDIMM_BUS_FAMILY_NFIT) && !intel {
        return bus_done(Errno::ENOTTY.to_rc());
    }
    // C keeps the low 32 bits of nd_command in an unsigned int.
    let func = get32(buf, nfit::dsm::PKG_COMMAND);
    let len = u64::from(get32(buf, nfit::dsm::PKG_SIZE_IN)) + u64::from(get32(buf, nfit::dsm::PKG_SIZE_OUT));
    // libnvdimm sized the buffer to the package; refuse one that lies.
    let end = nd::PKG_HEADER as u64 + len;
    if end > buf.len() as u64 {
        return bus_done(Errno::EINVAL.to_rc());
    }
    let p = &mut buf[nd::PKG_HEADER..end as usize];
    if intel {
        return bus_done(to_rc(firmware::bus_call(func, p, fw, now_ms)));
    }
    match func {
        nfit::dsm::NFIT_CMD_TRANSLATE_SPA => translate_spa(p, table),
        nfit::dsm::NFIT_CMD_ARS_INJECT_SET => ars_inject_set(p, bad),
        nfit::dsm::NFIT_CMD_ARS_INJECT_CLEAR => ars_inject_clear(p, bad),
        nfit::dsm::NFIT_CMD_ARS_INJECT_GET => ars_inject_get(p, bad),
        _ => bus_done(Errno::ENOTTY.to_rc()),
    }
}

/// nfit_test_ctl() for the bus: ND_CMD_CALL functions of the NFIT family
/// (translate SPA, error injection) and of the Intel family (firmware
/// activation), then the ARS commands of the bus's mask. `bad` is the
/// platform's poison list (`t->badrange`), `table` its NFIT, `fw` its
/// firmware activation state.
#[allow(clippy::too_many_arguments)]
pub fn bus_ctl(
    bus: &BusInfo,
    ars: &mut Ars,
    bad: &mut impl List,
    table: &nfit::Nfit<'_>,
    fw: &mut BusFirmware,
    command: u32,
    buf: &mut [u8],
    now_ms: u64,
) -> BusOutcome {
    if command == nd::CALL {
        return bus_call(buf, bad, table, fw, now_ms);
    }
    if command >= 64 || (bus.cmd_mask >> command) & 1 == 0 {
        return bus_done(Errno::ENOTTY.to_rc());
    }
    match command {
        nd::ARS_CAP => bus_done(to_rc(ars_cap(buf))),
        nd::ARS_START => ars_start(buf, ars, bad.entries(), now_ms),
        nd::ARS_STATUS => ars_status(buf, ars, now_ms),
        nd::CLEAR_ERROR => clear_error(buf, bad),
        _ => bus_done(Errno::ENOTTY.to_rc()),
    }
}
