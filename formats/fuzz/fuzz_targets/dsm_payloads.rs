//! The DSM payload decoders and what acts on their values: Intel SMART
//! health and thresholds (`nfit::intel`), the ARS payloads and firmware
//! status translation (`badrange`, `nfit::dsm`), and the bad-range
//! arithmetic that ARS records feed (`badrange::forget`, `sectors_in`,
//! `cleared_sectors`, `clear_aligned`, `ars_covers`), the error-injection
//! and translate-SPA payloads (`nfit::inject`), and bad-range lists
//! (`badrange::list_add`, `list_forget`).
//!
//! Checks: SMART and threshold payloads re-encode to their bytes (status
//! and reserved bytes zero) and decode back; ARS status yields exactly the
//! whole records inside both `out_length` and the buffer, as stored; status
//! translation gives only the errnos C does; the bad-range results match a
//! 128-bit model of the same ranges; injection payloads decode to their
//! bytes and encode back, and answers are written only inside the payload
//! and read back as written; list operations keep every byte a clear does
//! not cover (C's one-byte quirk aside) and nothing else.
//!
//! Input: 1 selector byte, then the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::badrange::{self, ArsCap, ArsStatus, BadRange, Forget, SECTOR_SIZE};
use nd_formats::cmd;
use nd_formats::nfit::{dsm, inject, intel};
use nd_formats_fuzz::Ctl;

fn smart(b: &[u8]) {
    let Some(s) = intel::Smart::from_bytes(b) else {
        assert!(b.len() < intel::SMART_LEN);
        return;
    };
    let out = s.to_bytes();
    let mut want = b[..intel::SMART_LEN].to_vec();
    for r in [0..4, 8..12, 27..35] {
        want[r].fill(0);
    }
    assert_eq!(out[..], want[..], "SMART payload does not re-encode to its bytes");
    assert_eq!(intel::Smart::from_bytes(&out), Some(s));
}

fn threshold(b: &[u8]) {
    let Some(d) = b.get(..7) else { return };
    let d: [u8; 7] = d.try_into().unwrap();
    let t = intel::SmartThreshold::from_data(&d);
    assert_eq!(t.to_data(), d, "threshold round trip");
    let full = t.to_bytes();
    assert_eq!(full[4..11], d);
    assert!(full[..4].iter().chain(&full[11..]).all(|&x| x == 0));
}

fn ars(b: &[u8], ctl: &mut Ctl<'_>) {
    if let Some(cap) = b.get(..badrange::ARS_CAP_LEN) {
        let cap = ArsCap::parse(cap.try_into().unwrap());
        for ty in [badrange::ND_ARS_VOLATILE, badrange::ND_ARS_PERSISTENT] {
            assert_eq!(cap.supports(ty), (cap.status >> 16) & u32::from(ty) != 0);
        }
    }
    match ArsStatus::new(b) {
        None => assert!(b.len() < badrange::ARS_STATUS_HDR_LEN),
        Some(s) => {
            let out = u64::from(s.out_length());
            let recs: Vec<BadRange> = s.records().collect();
            let want = if out < 44 {
                0
            } else {
                let by_out = (out - 44) / 24;
                let by_buf = (b.len() as u64 - 48) / 24;
                u64::from(s.num_records()).min(by_out).min(by_buf)
            };
            assert_eq!(recs.len() as u64, want, "records of an ARS status");
            for (i, r) in recs.iter().enumerate() {
                let off = 48 + 24 * i;
                let le = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
                assert_eq!((r.start, r.len), (le(off + 8), le(off + 16)));
            }
            let _ = (s.address(), s.length(), s.restart_address(), s.restart_length(), s.ty());
        }
    }
    let c = ctl.u8() as u32 % 6;
    let status = u32::from_le_bytes([ctl.u8(), ctl.u8(), ctl.u8(), ctl.u8()]);
    let rc = dsm::xlat_bus_status(b, c, status);
    if c == cmd::CLEAR_ERROR {
        // C returns `cleared` as an int for a partial clear; it can read
        // negative, as in C.
        let le = |o: usize| b.get(o..o + 8).map_or(0, |x| u64::from_le_bytes(x.try_into().unwrap()));
        let (length, cleared) = (le(8), le(24));
        let want = if status & 0xffff != 0 || cleared == 0 {
            -5
        } else if length > cleared {
            cleared as i32
        } else {
            0
        };
        assert_eq!(rc, want, "clear error status");
    } else {
        assert!([0, -5, -11, -16, -25, -28].contains(&rc), "xlat_bus_status {rc}");
    }
    let rc = dsm::xlat_dimm_status(c, status, status & 1 << 8 != 0, status & 1 << 9 != 0);
    assert!([0, -5, -13].contains(&rc));
}

/// The bad-range arithmetic, against u128 ranges: inclusive [first, last].
fn ranges(ctl: &mut Ctl<'_>) {
    let entry = BadRange { start: ctl.u64(), len: ctl.u64() };
    let (a, b) = (ctl.u64(), ctl.u64());
    let e_first = u128::from(entry.start);
    // The last byte; with len 0 one below the first (so -1 for an entry at 0).
    let e_last = e_first as i128 + i128::from(entry.len) - 1;
    let wraps = |s: u64, l: u64| s.checked_add(l).is_none();

    if b != 0 && !wraps(a, b) && !wraps(entry.start, entry.len) && entry.len != 0 {
        let e_last = e_last as u128;
        let (c_first, c_last) = (u128::from(a), u128::from(a) + u128::from(b) - 1);
        let part_ok = |p: &BadRange| {
            p.len > 0
                && u128::from(p.start) >= e_first
                && u128::from(p.start) + u128::from(p.len) - 1 <= e_last
                && (u128::from(p.start) + u128::from(p.len) - 1 < c_first || u128::from(p.start) > c_last)
        };
        match badrange::forget(entry, a, b) {
            Forget::Keep => assert!(e_last < c_first || e_first > c_last || c_last == e_first, "kept an overlapped range"),
            Forget::Remove => assert!(e_first >= c_first && e_last <= c_last, "removed a range not covered"),
            Forget::Trim(p) => assert!(part_ok(&p), "trim {p:?}"),
            Forget::Split(l, r) => {
                assert!(part_ok(&l) && part_ok(&r) && l.start < r.start, "split {l:?} {r:?}");
                assert_eq!(u128::from(l.len) + u128::from(r.len) + (c_last - c_first + 1), u128::from(entry.len));
            }
        }
    }
    // A device at [a, a + b): the sectors an entry makes bad.
    if !wraps(a, b) {
        let got = badrange::sectors_in(entry, a, b);
        let (d_first, d_last) = (u128::from(a), (u128::from(a) + u128::from(b)).saturating_sub(1));
        let e_last = if entry.len == 0 { None } else { Some((e_last as u128).min(u128::from(u64::MAX))) };
        let want = match e_last {
            Some(el) if b != 0 && el >= d_first && e_first <= d_last => {
                let (lo, hi) = (e_first.max(d_first) - d_first, el.min(d_last) - d_first);
                let first = lo / SECTOR_SIZE as u128;
                let end = (hi + 1).div_ceil(SECTOR_SIZE as u128);
                Some((first as u64, (end - first) as u64))
            }
            _ => None,
        };
        assert_eq!(got, want, "sectors_in({entry:?}, {a:#x}, {b:#x})");
    }
    // A clear of `entry.len` bytes at `entry.start` in a region at [a, a + b).
    if !wraps(a, b) {
        let got = badrange::cleared_sectors(a, b, entry.start, entry.len);
        let count = entry.len / SECTOR_SIZE;
        let inside = b != 0 && entry.start >= a && e_last <= i128::from(a) + i128::from(b) - 1;
        let want = (count != 0 && inside).then(|| ((entry.start - a) / SECTOR_SIZE, count));
        assert_eq!(got, want, "cleared_sectors({a:#x}, {b:#x}, {entry:?})");
    }
    let unit = (a >> 32) as u32;
    let aligned = unit.is_power_of_two() && (entry.start | entry.len) % u64::from(unit) == 0;
    assert_eq!(badrange::clear_aligned(unit, entry.start, entry.len), aligned);
    let spa_end = u128::from(a) + u128::from(b);
    let covers = u128::from(entry.start) < spa_end.min(u128::from(u64::MAX))
        && (u128::from(entry.start) + u128::from(entry.len)).min(u128::from(u64::MAX)) >= spa_end.min(u128::from(u64::MAX));
    assert_eq!(badrange::ars_covers(entry.start, entry.len, a, b), covers);
    let list = [BadRange { start: a, len: b }];
    assert_eq!(badrange::add(&list, entry) == badrange::Add::Update(0), a == entry.start);
}

/// The injection and translate-SPA payloads.
fn injection(b: &[u8], ctl: &mut Ctl<'_>) {
    match inject::ErrInj::parse(b) {
        None => assert!(b.len() < 17),
        Some(r) => {
            let e = r.encode();
            assert_eq!(e[..17], b[..17], "injection request re-encodes");
            assert_eq!(inject::ErrInj::parse(&e), Some(r));
            assert_eq!(r.notify(), b[16] & 1 != 0);
        }
    }
    match inject::ErrClr::parse(b) {
        None => assert!(b.len() < 16),
        Some(r) => {
            assert_eq!(r.encode()[..16], b[..16], "clear request re-encodes");
            assert_eq!(inject::ErrClr::parse(&r.encode()), Some(r));
        }
    }
    match inject::err_stat_records(b) {
        None => assert!(b.len() < 8),
        Some((_, count, recs)) => {
            let recs: Vec<(u64, u64)> = recs.collect();
            assert_eq!(recs.len(), (count as usize).min((b.len() - 8) / 16), "injection status records");
            for (i, r) in recs.iter().enumerate() {
                let le = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
                assert_eq!(*r, (le(8 + 16 * i), le(16 + 16 * i)));
            }
        }
    }
    assert_eq!(inject::translate_request(b).is_some(), b.len() >= 24);
    // Answers into a payload of a chosen length: written inside it only,
    // and read back as written.
    let len = ctl.u8() as usize;
    let nrec = ctl.u8() as usize % 8;
    let recs: Vec<(u64, u64)> = (0..nrec).map(|_| (ctl.u64(), ctl.u64())).collect();
    let mut p = vec![0xa5u8; len];
    let n = inject::put_err_stat(&mut p, nrec as u32, recs.iter().copied());
    assert_eq!(n, nrec.min(len.saturating_sub(8) / 16));
    if let Some((st, count, got)) = inject::err_stat_records(&p) {
        assert_eq!((st, count), (0, nrec as u32));
        assert_eq!(got.collect::<Vec<_>>(), recs[..n]);
    }
    let (h, dpa) = (ctl.u64() as u32, ctl.u64());
    let mut p = vec![0xa5u8; len];
    inject::put_translation(&mut p, h, dpa);
    assert_eq!(p.len(), len);
    if len >= 44 {
        assert_eq!(inject::translation(&p), Some((0xa5a5_a5a5, Some((h, dpa)))));
    } else if len >= 28 {
        assert_eq!(&p[24..28], &1u32.to_le_bytes());
        assert!(p[28..].iter().all(|&x| x == 0xa5));
    } else {
        assert!(p.iter().all(|&x| x == 0xa5), "translation written past a short payload");
    }
}

/// A list of bad ranges in a Vec.
#[derive(Default)]
struct VecList(Vec<BadRange>);

impl badrange::List for VecList {
    fn entries(&self) -> &[BadRange] {
        &self.0
    }
    fn entry_mut(&mut self, i: usize) -> &mut BadRange {
        &mut self.0[i]
    }
    fn append(&mut self, r: BadRange) -> bool {
        self.0.push(r);
        true
    }
    fn remove(&mut self, i: usize) {
        self.0.remove(i);
    }
}

/// Bytes of inclusive [first, last] ranges, u128.
fn span(r: &BadRange) -> (u128, u128) {
    (u128::from(r.start), u128::from(r.start) + u128::from(r.len) - 1)
}

/// Sequences of badrange_add / badrange_forget over small addresses (no
/// wrap): a forget keeps exactly the bytes of each entry outside the clear,
/// except C's entry whose first byte is the clear's last, kept whole.
fn lists(ctl: &mut Ctl<'_>) {
    let mut l = VecList::default();
    for _ in 0..16 {
        let op = ctl.u8();
        let start = u64::from(ctl.u8()) * 64;
        let len = u64::from(ctl.u8()) * 16;
        if op & 1 == 0 {
            if len == 0 {
                continue;
            }
            let n = l.0.len();
            let existed = l.0.iter().any(|r| r.start == start);
            badrange::list_add(&mut l, start, len).unwrap();
            // The first entry at that start takes the length; trims can
            // leave several there, as in C.
            assert_eq!(l.0.iter().find(|r| r.start == start), Some(&BadRange { start, len }));
            assert_eq!(l.0.len(), n + usize::from(!existed));
            continue;
        }
        let before = l.0.clone();
        badrange::list_forget(&mut l, start, len as u32);
        if len == 0 {
            continue;
        }
        let (c0, c1) = (u128::from(start), u128::from(start) + u128::from(len) - 1);
        let mut want = 0u128;
        for e in &before {
            let (e0, e1) = span(e);
            let quirk = c1 == e0 && c0 <= e0 && e1 > e0;
            let overlap = if e1 < c0 || e0 > c1 { 0 } else { e1.min(c1) - e0.max(c0) + 1 };
            want += if quirk { e1 - e0 + 1 } else { e1 - e0 + 1 - overlap };
        }
        let got: u128 = l.0.iter().map(|r| u128::from(r.len)).sum();
        assert_eq!(got, want, "bytes kept by a forget of {start:#x}+{len:#x} from {before:?}: {:?}", l.0);
        for r in &l.0 {
            assert!(r.len > 0);
            let (r0, r1) = span(r);
            assert!(before.iter().any(|e| span(e).0 <= r0 && r1 <= span(e).1), "{r:?} from nowhere");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (mut sel, rest) = Ctl::split(data, 1);
    match sel.u8() % 6 {
        0 => smart(rest),
        1 => threshold(rest),
        2 => {
            let (mut ctl, payload) = Ctl::split(rest, 5);
            ars(payload, &mut ctl)
        }
        3 => ranges(&mut Ctl::split(rest, 32).0),
        4 => {
            let (mut ctl, payload) = Ctl::split(rest, 64);
            injection(payload, &mut ctl)
        }
        _ => lists(&mut Ctl::split(rest, 48).0),
    }
});
