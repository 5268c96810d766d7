//! The root-device DSM functions that only reach the firmware through
//! ND_CMD_CALL (family `NVDIMM_BUS_FAMILY_NFIT`): error injection
//! (`NFIT_CMD_ARS_INJECT_SET`, `_CLEAR`, `_GET`) and SPA translation
//! (`NFIT_CMD_TRANSLATE_SPA`). Linux keeps these payloads private to
//! nfit_test (tools/testing/nvdimm/test/nfit_test.h) and ndctl
//! (libndctl-nfit.h); the ACPI specification defines them. All are packed
//! and little-endian; offsets are into the package payload (after
//! `struct nd_cmd_pkg`).

use super::super::le::{u32_at, u64_at};

/// `struct nd_cmd_ars_err_inj`: SPA base, u64.
pub const ERR_INJ_BASE: usize = 0;
/// `nd_cmd_ars_err_inj`: length in bytes, u64.
pub const ERR_INJ_LENGTH: usize = 8;
/// `nd_cmd_ars_err_inj`: options, u8 (bit [`ERR_INJ_OPT_NOTIFY`]).
pub const ERR_INJ_OPTIONS: usize = 16;
/// `nd_cmd_ars_err_inj`: status, u32 (the output).
pub const ERR_INJ_STATUS: usize = 17;
/// `sizeof(struct nd_cmd_ars_err_inj)`: what nfit_test insists the
/// payload (input plus output) measures.
pub const ERR_INJ_LEN: usize = 21;
/// Option bit: the firmware notifies the OS (a UC memory error event).
pub const ERR_INJ_OPT_NOTIFY: u8 = 0;

/// `struct nd_cmd_ars_err_inj_clr`: SPA base, u64.
pub const ERR_CLR_BASE: usize = 0;
/// `nd_cmd_ars_err_inj_clr`: length, u64.
pub const ERR_CLR_LENGTH: usize = 8;
/// `nd_cmd_ars_err_inj_clr`: status, u32.
pub const ERR_CLR_STATUS: usize = 16;
/// `sizeof(struct nd_cmd_ars_err_inj_clr)`.
pub const ERR_CLR_LEN: usize = 20;

/// `struct nd_cmd_ars_err_inj_stat`: status, u32.
pub const ERR_STAT_STATUS: usize = 0;
/// `nd_cmd_ars_err_inj_stat`: records that follow, u32.
pub const ERR_STAT_COUNT: usize = 4;
/// `nd_cmd_ars_err_inj_stat`: the records start here.
pub const ERR_STAT_RECORDS: usize = 8;
/// `struct nd_error_stat_query_record`: SPA base and length, u64 each.
pub const ERR_STAT_RECORD_LEN: usize = 16;

/// Injection status: invalid parameter (`NFIT_ARS_INJECT_INVALID`,
/// ndctl's `ND_ARS_ERR_INJ_STATUS_INVALID_PARAM`).
pub const INJECT_STATUS_INVALID: u32 = 2;
/// Injection status: not supported (`ND_ARS_ERR_INJ_STATUS_NOT_SUPP`).
pub const INJECT_STATUS_NOT_SUPP: u32 = 1;

/// `struct nd_cmd_translate_spa`: the address, u64.
pub const XLAT_SPA: usize = 0;
/// `nd_cmd_translate_spa`: status, u32.
pub const XLAT_STATUS: usize = 8;
/// `nd_cmd_translate_spa`: how many bytes the caller wants back, u64.
pub const XLAT_LENGTH: usize = 16;
/// `nd_cmd_translate_spa`: DIMMs that follow, u32.
pub const XLAT_NUM_NVDIMMS: usize = 24;
/// `nd_cmd_translate_spa`: the `struct nd_nvdimm_device` records start here.
pub const XLAT_DEVICES: usize = 28;
/// `struct nd_nvdimm_device`: NFIT device handle (u32), reserved (u32), DPA (u64).
pub const XLAT_DEVICE_LEN: usize = 16;
/// Translate status: the address is in no range (`ND_TRANSLATE_SPA_STATUS_INVALID_SPA`).
pub const XLAT_STATUS_INVALID_SPA: u32 = 2;

/// An injection request (`nd_cmd_ars_err_inj` input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrInj {
    /// First poisoned byte (system physical address).
    pub base: u64,
    /// Bytes to poison.
    pub length: u64,
    /// Option bits.
    pub options: u8,
}

impl ErrInj {
    /// Reads the request; `None` when the payload cannot hold its input.
    pub fn parse(p: &[u8]) -> Option<Self> {
        if p.len() < ERR_INJ_STATUS {
            return None;
        }
        Some(ErrInj { base: u64_at(p, ERR_INJ_BASE), length: u64_at(p, ERR_INJ_LENGTH), options: p[ERR_INJ_OPTIONS] })
    }

    /// Whether the firmware should raise a UC memory error notification.
    pub fn notify(&self) -> bool {
        self.options & (1 << ERR_INJ_OPT_NOTIFY) != 0
    }

    /// The whole payload, status zero, as ndctl sends it.
    pub fn encode(&self) -> [u8; ERR_INJ_LEN] {
        let mut b = [0u8; ERR_INJ_LEN];
        b[ERR_INJ_BASE..ERR_INJ_BASE + 8].copy_from_slice(&self.base.to_le_bytes());
        b[ERR_INJ_LENGTH..ERR_INJ_LENGTH + 8].copy_from_slice(&self.length.to_le_bytes());
        b[ERR_INJ_OPTIONS] = self.options;
        b
    }
}

/// A request to forget injected poison (`nd_cmd_ars_err_inj_clr` input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrClr {
    /// First byte.
    pub base: u64,
    /// Bytes.
    pub length: u64,
}

impl ErrClr {
    /// Reads the request; `None` when the payload cannot hold its input.
    pub fn parse(p: &[u8]) -> Option<Self> {
        if p.len() < ERR_CLR_STATUS {
            return None;
        }
        Some(ErrClr { base: u64_at(p, ERR_CLR_BASE), length: u64_at(p, ERR_CLR_LENGTH) })
    }

    /// The whole payload, status zero, as ndctl sends it.
    pub fn encode(&self) -> [u8; ERR_CLR_LEN] {
        let mut b = [0u8; ERR_CLR_LEN];
        b[ERR_CLR_BASE..ERR_CLR_BASE + 8].copy_from_slice(&self.base.to_le_bytes());
        b[ERR_CLR_LENGTH..ERR_CLR_LENGTH + 8].copy_from_slice(&self.length.to_le_bytes());
        b
    }
}

/// Writes `status` at `at` if the payload is long enough: a firmware
/// answer never writes past the buffer it was given.
pub fn put_status(p: &mut [u8], at: usize, status: u32) {
    if let Some(s) = p.get_mut(at..at + 4) {
        s.copy_from_slice(&status.to_le_bytes());
    }
}

/// The status word at `at`, or `None` past the end.
pub fn status_at(p: &[u8], at: usize) -> Option<u32> {
    (p.len() >= at + 4).then(|| u32_at(p, at))
}

/// Writes an injection-status answer: status 0, `count` records claimed,
/// and as many of `records` (base, length) as the payload holds. Returns
/// how many records were written.
pub fn put_err_stat(p: &mut [u8], count: u32, records: impl Iterator<Item = (u64, u64)>) -> usize {
    put_status(p, ERR_STAT_STATUS, 0);
    put_status(p, ERR_STAT_COUNT, count);
    let mut n = 0;
    for (i, (base, len)) in records.enumerate() {
        let at = ERR_STAT_RECORDS + i * ERR_STAT_RECORD_LEN;
        let Some(r) = p.get_mut(at..at + ERR_STAT_RECORD_LEN) else { break };
        r[..8].copy_from_slice(&base.to_le_bytes());
        r[8..].copy_from_slice(&len.to_le_bytes());
        n += 1;
    }
    n
}

/// Reads an injection-status answer: the status, the record count it
/// claims and the records the payload really holds.
pub fn err_stat_records(p: &[u8]) -> Option<(u32, u32, impl Iterator<Item = (u64, u64)> + '_)> {
    if p.len() < ERR_STAT_RECORDS {
        return None;
    }
    let count = u32_at(p, ERR_STAT_COUNT);
    let fit = (p.len() - ERR_STAT_RECORDS) / ERR_STAT_RECORD_LEN;
    let n = fit.min(count as usize);
    let recs = (0..n).map(move |i| {
        let at = ERR_STAT_RECORDS + i * ERR_STAT_RECORD_LEN;
        (u64_at(p, at), u64_at(p, at + 8))
    });
    Some((u32_at(p, ERR_STAT_STATUS), count, recs))
}

/// A translate-SPA request: the address and the length the caller wants
/// back (`translate_length`); `None` if the payload cannot hold them.
pub fn translate_request(p: &[u8]) -> Option<(u64, u64)> {
    if p.len() < XLAT_NUM_NVDIMMS {
        return None;
    }
    Some((u64_at(p, XLAT_SPA), u64_at(p, XLAT_LENGTH)))
}

/// Writes a translate-SPA answer of one DIMM: `num_nvdimms` 1 and the
/// first device record's handle and DPA, as far as the payload holds them.
/// The record's reserved word keeps what the caller passed, as in C.
pub fn put_translation(p: &mut [u8], handle: u32, dpa: u64) {
    put_status(p, XLAT_NUM_NVDIMMS, 1);
    if let Some(d) = p.get_mut(XLAT_DEVICES..XLAT_DEVICES + XLAT_DEVICE_LEN) {
        d[..4].copy_from_slice(&handle.to_le_bytes());
        d[8..].copy_from_slice(&dpa.to_le_bytes());
    }
}

/// A translate-SPA answer: status, and the first DIMM's handle and DPA
/// when it claims one and the payload holds it.
pub fn translation(p: &[u8]) -> Option<(u32, Option<(u32, u64)>)> {
    let status = status_at(p, XLAT_STATUS)?;
    let n = status_at(p, XLAT_NUM_NVDIMMS).unwrap_or(0);
    let dev = (n >= 1 && p.len() >= XLAT_DEVICES + XLAT_DEVICE_LEN)
        .then(|| (u32_at(p, XLAT_DEVICES), u64_at(p, XLAT_DEVICES + 8)));
    Some((status, dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_inj_round_trip_and_layout() {
        let r = ErrInj { base: 0x1_0000_1000, length: 256, options: 1 };
        let b = r.encode();
        // Packed: options right after the two u64s, status after that.
        assert_eq!(b[16], 1);
        assert_eq!(&b[17..21], &[0, 0, 0, 0]);
        assert_eq!(ErrInj::parse(&b), Some(r));
        assert!(r.notify());
        // ndctl's input is the first 17 bytes; shorter cannot parse.
        assert!(ErrInj::parse(&b[..17]).is_some());
        assert!(ErrInj::parse(&b[..16]).is_none());
    }

    #[test]
    fn err_clr_round_trip() {
        let r = ErrClr { base: 7, length: 512 };
        let b = r.encode();
        assert_eq!(b.len(), 20);
        assert_eq!(ErrClr::parse(&b), Some(r));
        assert!(ErrClr::parse(&b[..15]).is_none());
    }

    #[test]
    fn err_stat_writes_only_what_fits() {
        let mut p = [0xffu8; ERR_STAT_RECORDS + ERR_STAT_RECORD_LEN + 4];
        let recs = [(0x1000u64, 256u64), (0x2000, 512)];
        assert_eq!(put_err_stat(&mut p, 2, recs.iter().copied()), 1);
        let (status, count, got) = err_stat_records(&p).unwrap();
        assert_eq!((status, count), (0, 2));
        let mut got = got;
        assert_eq!(got.next(), Some((0x1000, 256)));
        assert_eq!(got.next(), None);
        // Too short for even the header: nothing is written.
        let mut tiny = [0xaau8; 6];
        assert_eq!(put_err_stat(&mut tiny, 2, recs.iter().copied()), 0);
        assert_eq!(&tiny[..4], &[0, 0, 0, 0]);
        assert_eq!(&tiny[4..], &[0xaa, 0xaa]);
    }

    #[test]
    fn translation_layout() {
        let mut p = [0u8; XLAT_DEVICES + XLAT_DEVICE_LEN];
        p[..8].copy_from_slice(&0x1234u64.to_le_bytes());
        p[16..24].copy_from_slice(&44u64.to_le_bytes());
        assert_eq!(translate_request(&p), Some((0x1234, 44)));
        p[XLAT_DEVICES + 4] = 0xa5;
        put_translation(&mut p, 0x101, 0x4000);
        assert_eq!(translation(&p), Some((0, Some((0x101, 0x4000)))));
        // The reserved word is the caller's.
        assert_eq!(p[XLAT_DEVICES + 4], 0xa5);
        put_status(&mut p, XLAT_STATUS, XLAT_STATUS_INVALID_SPA);
        assert_eq!(translation(&p).unwrap().0, 2);
        assert_eq!(translate_request(&p[..23]), None);
    }
}
