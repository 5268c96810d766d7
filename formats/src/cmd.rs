//! The ND_CMD ioctl protocol: command numbers, names, and how long a
//! command's payload is.
//!
//! A payload is a sequence of fields, first the inputs then the outputs.
//! Most fields have fixed sizes; a few take their size from an earlier
//! field (a length in a header). The kernel must know the whole length
//! before it copies the payload in, so it walks the fields, peeking at the
//! user buffer for the ones it needs. [`payload_len`] is that walk.

/// ND_CMD_IMPLEMENTED: the command mask query, not a real command.
pub const IMPLEMENTED: u32 = 0;
/// Bus: address range scrub capabilities.
pub const ARS_CAP: u32 = 1;
/// Bus: start an address range scrub.
pub const ARS_START: u32 = 2;
/// Bus: scrub status and results.
pub const ARS_STATUS: u32 = 3;
/// Bus: clear a poisoned range.
pub const CLEAR_ERROR: u32 = 4;
/// DIMM: SMART health payload.
pub const SMART: u32 = 1;
/// DIMM: SMART thresholds.
pub const SMART_THRESHOLD: u32 = 2;
/// DIMM: DIMM flags.
pub const DIMM_FLAGS: u32 = 3;
/// DIMM: label area size and transfer limit.
pub const GET_CONFIG_SIZE: u32 = 4;
/// DIMM: read the label area.
pub const GET_CONFIG_DATA: u32 = 5;
/// DIMM: write the label area.
pub const SET_CONFIG_DATA: u32 = 6;
/// DIMM: vendor effect log size.
pub const VENDOR_EFFECT_LOG_SIZE: u32 = 7;
/// DIMM: vendor effect log.
pub const VENDOR_EFFECT_LOG: u32 = 8;
/// DIMM: vendor-specific passthrough.
pub const VENDOR: u32 = 9;
/// Bus or DIMM: family-specific passthrough (`struct nd_cmd_pkg`).
pub const CALL: u32 = 10;

/// Largest payload an ioctl may carry (ND_IOCTL_MAX_BUFLEN, 4 MiB).
pub const MAX_BUFLEN: u64 = 4 << 20;
/// How much of the head of a payload is examined for sizes (ND_CMD_MAX_ENVELOPE).
pub const MAX_ENVELOPE: usize = 256;
/// Size of `struct nd_cmd_pkg`, the ND_CMD_CALL header.
pub const PKG_HEADER: usize = 64;
/// Highest DIMM command family (NVDIMM_FAMILY_PAPR).
pub const DIMM_FAMILY_MAX: u64 = 5;
/// Highest bus command family (NVDIMM_BUS_FAMILY_INTEL).
pub const BUS_FAMILY_MAX: u64 = 1;

/// The name of a DIMM command, as the `commands` attribute lists it.
pub fn dimm_cmd_name(cmd: u32) -> &'static str {
    match cmd {
        SMART => "smart",
        SMART_THRESHOLD => "smart_thresh",
        DIMM_FLAGS => "flags",
        GET_CONFIG_SIZE => "get_size",
        GET_CONFIG_DATA => "get_data",
        SET_CONFIG_DATA => "set_data",
        VENDOR_EFFECT_LOG_SIZE => "effect_size",
        VENDOR_EFFECT_LOG => "effect_log",
        VENDOR => "vendor",
        CALL => "cmd_call",
        _ => "unknown",
    }
}

/// The name of a bus command, as the `commands` attribute lists it.
pub fn bus_cmd_name(cmd: u32) -> &'static str {
    match cmd {
        ARS_CAP => "ars_cap",
        ARS_START => "ars_start",
        ARS_STATUS => "ars_status",
        CLEAR_ERROR => "clear_error",
        CALL => "cmd_call",
        _ => "unknown",
    }
}

/// Commands refused on a file opened read-only. The numbers are checked
/// whatever the target, as C does: DIMM commands 2 and 4 share numbers with
/// the bus's ars_start and clear_error.
pub fn is_write_cmd(cmd: u32) -> bool {
    matches!(cmd, VENDOR | SET_CONFIG_DATA | ARS_START | CLEAR_ERROR | CALL)
}

/// A field whose size is known only from the payload.
const DYN: u32 = u32::MAX;

/// Field sizes of one command.
struct Desc {
    ins: &'static [u32],
    outs: &'static [u32],
}

const fn desc(ins: &'static [u32], outs: &'static [u32]) -> Option<Desc> {
    Some(Desc { ins, outs })
}

fn dimm_desc(cmd: u32) -> Option<Desc> {
    match cmd {
        SMART => desc(&[], &[4, 128]),
        SMART_THRESHOLD => desc(&[], &[4, 8]),
        DIMM_FLAGS => desc(&[], &[4, 4]),
        GET_CONFIG_SIZE => desc(&[], &[4, 4, 4]),
        GET_CONFIG_DATA => desc(&[4, 4], &[4, DYN]),
        SET_CONFIG_DATA => desc(&[4, 4, DYN], &[4]),
        VENDOR => desc(&[4, 4, DYN], &[4, 4, DYN]),
        CALL => desc(&[PKG_HEADER as u32, DYN], &[DYN]),
        // IMPLEMENTED and the effect log commands have no payload, which the
        // caller treats like an unknown command.
        _ => desc(&[], &[]),
    }
}

fn bus_desc(cmd: u32) -> Option<Desc> {
    match cmd {
        ARS_CAP => desc(&[8, 8], &[4, 4, 4, 4]),
        ARS_START => desc(&[8, 8, 2, 1, 5], &[4, 4]),
        ARS_STATUS => desc(&[], &[4, 4, DYN]),
        CLEAR_ERROR => desc(&[8, 8], &[4, 4, 8]),
        CALL => desc(&[PKG_HEADER as u32, DYN], &[DYN]),
        IMPLEMENTED => desc(&[], &[]),
        _ => None,
    }
}

/// Why a payload was refused; each maps to the errno C returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmdError {
    /// Unknown, empty or unsupported command (ENOTTY).
    NotSupported,
    /// ND_CMD_CALL family out of range or not enabled (EINVAL).
    BadFamily,
    /// Payload longer than [`MAX_BUFLEN`] (EINVAL).
    TooLong,
    /// A size could not be determined (ENXIO for inputs, EFAULT for outputs).
    UnknownInSize,
    /// See [`CmdError::UnknownInSize`].
    UnknownOutSize,
    /// Reading the user buffer failed (EFAULT).
    Fault,
    /// A writing command on a file opened read-only (EPERM).
    ReadOnly,
}

impl CmdError {
    /// The errno C returns for this refusal (positive).
    pub fn errno(self) -> i32 {
        match self {
            CmdError::NotSupported => 25, // ENOTTY
            CmdError::BadFamily | CmdError::TooLong => 22, // EINVAL
            CmdError::UnknownInSize => 6, // ENXIO
            CmdError::UnknownOutSize | CmdError::Fault => 14, // EFAULT
            CmdError::ReadOnly => 1, // EPERM
        }
    }
}

// A short buffer reads as zero-filled, as C's zeroed envelopes do.
use super::le::{u32_at as le32, u64_at as le64};

/// What the caller knows about the target of an ioctl.
pub struct Target {
    /// A DIMM (true) or the bus (false).
    pub dimm: bool,
    /// ND_CMD_* commands the provider implements for this target.
    pub cmd_mask: u64,
    /// Families accepted by ND_CMD_CALL on this kind of target.
    pub family_mask: u64,
    /// The file was opened O_RDONLY: commands that write are refused.
    pub read_only: bool,
}

/// A payload's layout, as found by [`payload_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// Bytes of input fields (they come first).
    pub in_len: u32,
    /// Bytes of output fields.
    pub out_len: u32,
    /// For ND_CMD_CALL, the family function (`nd_command`); else the command.
    pub func: u64,
}

impl Payload {
    /// Total length to copy in and back out.
    pub fn len(&self) -> u64 {
        self.in_len as u64 + self.out_len as u64
    }
}

/// Walks the fields of command `cmd` to find the payload's length, reading
/// the head of the user buffer through `peek(offset, dst)` as C does: at most
/// [`MAX_ENVELOPE`] bytes of inputs, then of outputs.
pub fn payload_len(
    target: &Target,
    cmd: u32,
    peek: &mut dyn FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Result<Payload, CmdError> {
    let mut func = cmd as u64;
    if cmd == CALL {
        let mut pkg = [0u8; PKG_HEADER];
        peek(0, &mut pkg).map_err(|()| CmdError::Fault)?;
        let family = le64(&pkg, 0);
        let max = if target.dimm { DIMM_FAMILY_MAX } else { BUS_FAMILY_MAX };
        if family > max || target.family_mask & (1 << family) == 0 {
            return Err(CmdError::BadFamily);
        }
        func = le64(&pkg, 8);
    }
    let desc = if target.dimm { dimm_desc(cmd) } else { bus_desc(cmd) };
    let desc = match desc {
        Some(d) if !(d.ins.is_empty() && d.outs.is_empty()) => d,
        _ => return Err(CmdError::NotSupported),
    };
    if cmd > CALL || target.cmd_mask & (1 << cmd) == 0 {
        return Err(CmdError::NotSupported);
    }
    if target.read_only && is_write_cmd(cmd) {
        return Err(CmdError::ReadOnly);
    }

    let mut in_env = [0u8; MAX_ENVELOPE];
    let mut in_len: u32 = 0;
    // A size of u32::MAX, even one read from the payload, means "unknown"
    // to C, which refuses it.
    for i in 0..desc.ins.len() {
        let size = in_size(target.dimm, cmd, i, &in_env)
            .filter(|&s| s != DYN)
            .ok_or(CmdError::UnknownInSize)?;
        copy_envelope(&mut in_env, in_len, size, 0, peek)?;
        in_len = in_len.wrapping_add(size);
    }

    let mut out_env = [0u8; MAX_ENVELOPE];
    let mut out_len: u32 = 0;
    for i in 0..desc.outs.len() {
        let size = out_size(target.dimm, cmd, i, &in_env, &out_env, 0)
            .filter(|&s| s != DYN)
            .ok_or(CmdError::UnknownOutSize)?;
        copy_envelope(&mut out_env, out_len, size, in_len as u64, peek)?;
        out_len = out_len.wrapping_add(size);
    }

    let payload = Payload { in_len, out_len, func };
    if payload.len() > MAX_BUFLEN {
        return Err(CmdError::TooLong);
    }
    Ok(payload)
}

/// Number of input and output fields of a command, None if unknown.
pub fn field_counts(dimm: bool, cmd: u32) -> Option<(usize, usize)> {
    let d = if dimm { dimm_desc(cmd) } else { bus_desc(cmd) }?;
    Some((d.ins.len(), d.outs.len()))
}

/// Size of input field `idx` (`nd_cmd_in_size`); `inputs` is the payload
/// so far, from which variable sizes are read.
pub fn in_size(dimm: bool, cmd: u32, idx: usize, inputs: &[u8]) -> Option<u32> {
    let d = if dimm { dimm_desc(cmd) } else { bus_desc(cmd) }?;
    let fixed = *d.ins.get(idx)?;
    if fixed != DYN {
        return Some(fixed);
    }
    match (cmd, idx) {
        // set_config / vendor headers: in_length at byte 4.
        (SET_CONFIG_DATA, 2) | (VENDOR, 2) if dimm => Some(le32(inputs, 4)),
        (CALL, _) => Some(le32(inputs, 16)), // nd_size_in
        _ => None,
    }
}

/// Size of output field `idx` (`nd_cmd_out_size`): `inputs` is the input
/// part of the payload, `outputs` the output fields so far, `remainder` what
/// the firmware returned past them (used only by ARS status).
pub fn out_size(dimm: bool, cmd: u32, idx: usize, inputs: &[u8], outputs: &[u8], remainder: u32) -> Option<u32> {
    let d = if dimm { dimm_desc(cmd) } else { bus_desc(cmd) }?;
    let fixed = *d.outs.get(idx)?;
    if fixed != DYN {
        return Some(fixed);
    }
    match (cmd, idx) {
        (GET_CONFIG_DATA, 1) if dimm => Some(le32(inputs, 4)), // in_length
        (VENDOR, 2) if dimm => Some(le32(outputs, 4)),         // out_length
        (ARS_STATUS, 2) if !dimm => {
            // The output length counts itself and the status: what follows
            // is 8 bytes shorter, unless it overshoots the remainder by
            // exactly the status. C's u32 arithmetic wraps.
            let size = le32(outputs, 4);
            Some(if size < 4 {
                0
            } else if size - 4 == remainder {
                remainder
            } else {
                size.wrapping_sub(8)
            })
        }
        (CALL, _) => Some(le32(inputs, 20)), // nd_size_out
        _ => None,
    }
}

/// Copies the part of field `[at, at + size)` that falls inside the envelope.
fn copy_envelope(
    env: &mut [u8; MAX_ENVELOPE],
    at: u32,
    size: u32,
    base: u64,
    peek: &mut dyn FnMut(u64, &mut [u8]) -> Result<(), ()>,
) -> Result<(), CmdError> {
    let at = at as usize;
    if at >= MAX_ENVELOPE {
        return Ok(());
    }
    let n = (MAX_ENVELOPE - at).min(size as usize);
    if n == 0 {
        return Ok(());
    }
    peek(base + at as u64, &mut env[at..at + n]).map_err(|()| CmdError::Fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: &Target, cmd: u32, user: &[u8]) -> Result<Payload, CmdError> {
        payload_len(target, cmd, &mut |off, dst: &mut [u8]| {
            let off = off as usize;
            let src = user.get(off..off + dst.len()).ok_or(())?;
            dst.copy_from_slice(src);
            Ok(())
        })
    }

    const DIMM: Target = Target { dimm: true, cmd_mask: 0x7fe, family_mask: 1, read_only: false };
    const BUS: Target = Target { dimm: false, cmd_mask: 0x1e, family_mask: 0, read_only: false };

    #[test]
    fn config_size_is_fixed() {
        assert_eq!(run(&DIMM, GET_CONFIG_SIZE, &[0; 12]).unwrap().len(), 12);
    }

    #[test]
    fn get_config_data_out_length_follows_in_length() {
        let mut u = [0u8; 8 + 4 + 100];
        u[4..8].copy_from_slice(&100u32.to_le_bytes());
        let p = run(&DIMM, GET_CONFIG_DATA, &u).unwrap();
        assert_eq!((p.in_len, p.out_len), (8, 104));
    }

    #[test]
    fn set_config_data_in_length_and_status() {
        let mut u = [0u8; 8 + 16 + 4];
        u[4..8].copy_from_slice(&16u32.to_le_bytes());
        let p = run(&DIMM, SET_CONFIG_DATA, &u).unwrap();
        assert_eq!((p.in_len, p.out_len), (24, 4));
    }

    #[test]
    fn oversized_transfer_is_einval() {
        // C still peeks at the head of the oversized field before refusing.
        let mut u = [0u8; 512];
        u[4..8].copy_from_slice(&(5u32 << 20).to_le_bytes());
        assert_eq!(run(&DIMM, GET_CONFIG_DATA, &u), Err(CmdError::TooLong));
        assert_eq!(CmdError::TooLong.errno(), 22);
    }

    #[test]
    fn unknown_or_masked_commands_are_enotty() {
        assert_eq!(run(&DIMM, 11, &[0; 64]), Err(CmdError::NotSupported));
        assert_eq!(run(&DIMM, IMPLEMENTED, &[0; 64]), Err(CmdError::NotSupported));
        let masked = Target { cmd_mask: 1 << GET_CONFIG_SIZE, ..DIMM };
        assert_eq!(run(&masked, SMART, &[0; 200]), Err(CmdError::NotSupported));
        assert_eq!(run(&BUS, SMART + 40, &[0; 64]), Err(CmdError::NotSupported));
    }

    #[test]
    fn call_checks_family_and_sizes() {
        let mut u = [0u8; 64 + 10 + 20];
        u[8..16].copy_from_slice(&7u64.to_le_bytes());
        u[16..20].copy_from_slice(&10u32.to_le_bytes());
        u[20..24].copy_from_slice(&20u32.to_le_bytes());
        let p = run(&DIMM, CALL, &u).unwrap();
        assert_eq!((p.in_len, p.out_len, p.func), (74, 20, 7));
        u[0..8].copy_from_slice(&1u64.to_le_bytes()); // HPE1 not enabled
        assert_eq!(run(&DIMM, CALL, &u), Err(CmdError::BadFamily));
        u[0..8].copy_from_slice(&6u64.to_le_bytes()); // beyond PAPR
        assert_eq!(run(&DIMM, CALL, &u), Err(CmdError::BadFamily));
    }

    #[test]
    fn ars_status_length_quirks() {
        let bus = Target { cmd_mask: 1 << ARS_STATUS, ..BUS };
        let mut u = [0u8; 512];
        u[4..8].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(run(&bus, ARS_STATUS, &u).unwrap().len(), 8);
        u[4..8].copy_from_slice(&40u32.to_le_bytes());
        assert_eq!(run(&bus, ARS_STATUS, &u).unwrap().len(), 8 + 32);
        // 5 - 8 wraps, and so does the u32 total in C: 8 + (5 - 8) = 5.
        u[4..8].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(run(&bus, ARS_STATUS, &u).unwrap().len(), 5);
    }

    #[test]
    fn a_length_of_u32_max_is_an_unknown_size() {
        let mut u = [0u8; 512];
        u[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        // get_config_data: the output size is unknown, EFAULT.
        assert_eq!(run(&DIMM, GET_CONFIG_DATA, &u), Err(CmdError::UnknownOutSize));
        assert_eq!(CmdError::UnknownOutSize.errno(), 14);
        // set_config_data: the input size is unknown, ENXIO.
        assert_eq!(run(&DIMM, SET_CONFIG_DATA, &u), Err(CmdError::UnknownInSize));
        assert_eq!(CmdError::UnknownInSize.errno(), 6);
        // One less is a size like any other: it wraps and is passed on.
        u[4..8].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
        assert!(run(&DIMM, GET_CONFIG_DATA, &u).is_ok());
    }

    #[test]
    fn short_user_buffer_faults() {
        assert_eq!(run(&DIMM, GET_CONFIG_DATA, &[0; 4]), Err(CmdError::Fault));
    }

    #[test]
    fn read_only_refuses_writes_after_the_support_check() {
        let ro = Target { read_only: true, ..DIMM };
        assert_eq!(run(&ro, SET_CONFIG_DATA, &[0; 64]), Err(CmdError::ReadOnly));
        assert_eq!(run(&ro, GET_CONFIG_DATA, &[0; 12]).map(|p| p.len()), Ok(12));
        // C's list of writing commands mixes bus and DIMM numbers, so a
        // read-only DIMM also refuses get_size (= clear_error, 4) and
        // smart_thresh (= ars_start, 2).
        assert_eq!(run(&ro, GET_CONFIG_SIZE, &[0; 12]), Err(CmdError::ReadOnly));
        assert_eq!(run(&ro, SMART_THRESHOLD, &[0; 12]), Err(CmdError::ReadOnly));
        // Unsupported beats read-only, as in C.
        let ro_masked = Target { cmd_mask: 0, ..ro };
        assert_eq!(run(&ro_masked, SET_CONFIG_DATA, &[0; 64]), Err(CmdError::NotSupported));
    }

    #[test]
    fn write_commands() {
        for c in [VENDOR, SET_CONFIG_DATA, CALL] {
            assert!(is_write_cmd(c));
        }
        assert!(!is_write_cmd(GET_CONFIG_DATA));
    }
}
