//! The NFIT: `Nfit::parse_body` (a `_FIT` buffer or nfit_test's body) and
//! `Nfit::parse_table` (with the ACPI checksum resealed half of the time),
//! then DIMM assembly (`dimms`, `dimm`) and interleave-set cookies.
//!
//! Checks: an accepted table sums to zero, has the signature and its
//! length; every subtable re-encodes through `Writer` to a table that parses
//! to the same subtables and header; DIMMs come in handle order, each one's
//! memdevs carry its handle and its flags are theirs OR-ed, every unmapped
//! memdev's DIMM is listed; a range's interleave set has one position per
//! mapping, each below the ways, and fails only past 32 mappings or for a
//! DIMM without a control region.
//!
//! Input: 1 control byte (bit 0: reseal the ACPI checksum), then the table.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::nfit::{
    DataRegionDesc, DcrDesc, DeviceHandle, Error, MemdevDesc, Nfit, RawSubtables, SpaDesc, Subtable, Writer,
    TABLE_HEADER_LEN,
};
use nd_formats_fuzz::Ctl;

/// A subtable's meaning, for comparing a table with its re-encoding.
#[derive(Debug, PartialEq)]
enum Canon<'a> {
    Spa(SpaDesc),
    Memdev(MemdevDesc),
    Interleave(u16, u32, Vec<u32>),
    Smbios(&'a [u8]),
    Dcr(DcrDesc),
    Bdw(DataRegionDesc),
    Flush(DeviceHandle, Vec<u64>),
    Caps(u8, u32),
    Unknown(u16, &'a [u8]),
}

fn canon<'a>(s: &Subtable<'a>) -> Canon<'a> {
    match *s {
        Subtable::Spa(x) => Canon::Spa(x.desc()),
        Subtable::Memdev(x) => Canon::Memdev(x.desc()),
        Subtable::Interleave(x) => {
            let lines: Vec<u32> = x.line_offsets().collect();
            assert_eq!(lines.len() as u64, u64::from(x.line_count()), "interleave lines");
            Canon::Interleave(x.interleave_index(), x.line_size(), lines)
        }
        Subtable::Smbios(x) => Canon::Smbios(x.data()),
        Subtable::ControlRegion(x) => {
            let d = x.desc();
            assert_eq!(d.block.is_some(), d.windows != 0, "block fields iff windows");
            Canon::Dcr(d)
        }
        Subtable::DataRegion(x) => Canon::Bdw(x.desc()),
        Subtable::FlushHint(x) => {
            let hints: Vec<u64> = x.hint_addresses().collect();
            assert_eq!(hints.len(), usize::from(x.hint_count()), "flush hints");
            Canon::Flush(x.device_handle(), hints)
        }
        Subtable::Capabilities(x) => {
            assert_eq!(x.effective() & !x.capabilities(), 0);
            Canon::Caps(x.highest_capability(), x.capabilities())
        }
        Subtable::Unknown { ty, bytes } => Canon::Unknown(ty, bytes),
    }
}

fn encode(w: &mut Writer<'_>, c: &Canon<'_>) -> Result<(), Error> {
    match c {
        Canon::Spa(d) => w.spa(d),
        Canon::Memdev(d) => w.memdev(d),
        Canon::Interleave(i, size, lines) => w.interleave(*i, *size, lines),
        Canon::Smbios(data) => w.smbios(data),
        Canon::Dcr(d) => w.control_region(d),
        Canon::Bdw(d) => w.data_region(d),
        Canon::Flush(h, hints) => w.flush_hint(*h, hints),
        Canon::Caps(hi, caps) => w.capabilities(*hi, *caps),
        Canon::Unknown(_, bytes) => w.raw(bytes),
    }
}

fn check(nfit: &Nfit<'_>, info: &nd_formats::nfit::TableInfo) {
    let body = nfit.body();
    let raw: Vec<_> = RawSubtables::new(body).collect();
    assert!(raw.iter().all(Result::is_ok), "an accepted body with a bad subtable");
    let subs: Vec<Subtable<'_>> = nfit.subtables().collect();
    assert_eq!(subs.len(), raw.len());
    let canons: Vec<Canon<'_>> = subs.iter().map(canon).collect();

    // Re-encode and re-parse. A subtable shorter than its own header (C
    // steps that far and reads the next header over it) has no encoding of
    // its own.
    if canons.iter().any(|c| matches!(c, Canon::Unknown(_, b) if b.len() < 4)) {
        return;
    }
    // A short SMBIOS subtable grows to its 8-byte header; nothing else grows.
    let mut buf = vec![0u8; TABLE_HEADER_LEN + body.len() + 8 * canons.len()];
    let mut w = Writer::new(&mut buf).unwrap();
    for c in &canons {
        encode(&mut w, c).unwrap_or_else(|e| panic!("re-encoding {c:?}: {e:?}"));
    }
    let len = w.finish(info).unwrap();
    let (h, again) = Nfit::parse_table(&buf[..len]).unwrap_or_else(|e| panic!("re-encoded table refused: {e:?}"));
    assert_eq!(h.info, *info, "header info round trip");
    let back: Vec<Canon<'_>> = again.subtables().map(|s| canon(&s)).collect();
    assert_eq!(back, canons, "subtables do not survive a re-encoding");

    // DIMM assembly.
    let dimms: Vec<_> = nfit.dimms().collect();
    assert!(dimms.windows(2).all(|p| p[0].handle < p[1].handle), "DIMMs out of handle order");
    for d in &dimms {
        assert_eq!(d.memdev.device_handle(), d.handle);
        assert!([d.memdev_dcr, d.memdev_pmem].iter().flatten().all(|m| m.device_handle() == d.handle));
        assert_eq!(d.flags, nfit.memdevs_of(d.handle).fold(0, |f, m| f | m.flags()));
        assert_eq!(nfit.dimm(d.handle).map(|x| x.memdev), Some(d.memdev));
        if let Some(dcr) = d.dcr {
            assert!(nfit.memdevs_of(d.handle).any(|m| m.region_index() == dcr.region_index()));
            let id = d.id().unwrap();
            assert!(id.as_str().bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()), "{id:?}");
        } else {
            assert!(d.id().is_none());
        }
        assert_eq!(d.hint_count(), d.flush.map_or(0, |f| f.hint_count()));
    }
    for m in nfit.memdevs().filter(|m| m.range_index() == 0) {
        assert!(dimms.iter().any(|d| d.handle == m.device_handle()), "an unmapped memdev's DIMM is missing");
    }

    // Interleave sets.
    for spa in nfit.spas() {
        assert_eq!(nfit.spa(spa.range_index()).map(|s| s.range_index()), Some(spa.range_index()));
        let ways = nfit.interleave_ways(&spa);
        match nfit.interleave_set(&spa) {
            Ok(set) => {
                assert!(ways <= 32, "{ways} mappings accepted");
                assert_eq!(set.mappings(), ways);
                for i in 0..ways {
                    assert!(set.position(i).is_some_and(|p| p < ways), "position of mapping {i}");
                }
                assert!(set.position(ways).is_none());
                assert_eq!(nfit.interleave_set(&spa), Ok(set));
            }
            Err(Error::TooManyMappings { .. }) => assert!(ways > 32),
            Err(Error::MissingDcr { .. }) => {
                assert!(nfit.mappings(&spa).any(|m| nfit.dimm(m.device_handle()).and_then(|d| d.dcr).is_none()))
            }
            Err(e) => panic!("interleave_set: {e:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (mut ctl, rest) = Ctl::split(data, 1);
    let reseal = ctl.bit();
    if let Ok(nfit) = Nfit::parse_body(rest) {
        assert_eq!(nfit.body().len(), rest.len());
        check(&nfit, &nd_formats::nfit::TableInfo::DEFAULT);
    }
    let mut t = rest.to_vec();
    if reseal && t.len() >= TABLE_HEADER_LEN {
        let len = (u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize).min(t.len());
        if len > 9 {
            t[9] = 0;
            let sum = t[..len].iter().fold(0u8, |s, b| s.wrapping_add(*b));
            t[9] = sum.wrapping_neg();
        }
    }
    match Nfit::parse_table(&t) {
        Ok((h, nfit)) => {
            let len = h.length as usize;
            assert!(len >= TABLE_HEADER_LEN && len <= t.len() && t[..4] == *b"NFIT");
            assert_eq!(t[..len].iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0, "accepted table with a bad checksum");
            assert_eq!(nfit.body(), &t[TABLE_HEADER_LEN..len]);
            check(&nfit, &h.info);
        }
        Err(e) => assert!(e.to_errno() < 0),
    }
});
