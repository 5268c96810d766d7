//! Namespace discovery: `PmemRegion::scan` over 1-4 DIMMs' label areas.
//!
//! Input: a header, then the DIMMs' areas back to back.
//!   byte 0      ways - 1 (mod 4)
//!   byte 1      bit 0: reseal the areas' checksums; bit 1: zero cookies;
//!               bit 2: a scan buffer one entry short
//!   bytes 2-9   region start (LE)
//!   per DIMM i, 20 bytes from byte 10 + 20 i:
//!               prefix length (u16 LE), area size code (see `area_from`),
//!               mode (bits 0-3 zero: disabled, then bit 4 locked, bit 5
//!               labeling), window start and size (u64 LE each; both 0:
//!               the whole DPA space)
//! The set's cookies and type GUID are those of the first label found,
//! so that scans get past the cookie check.
//!
//! Checks: at most `max_namespaces`, one label per way, distinct uuids,
//! each namespace's labels are active labels of its uuid on the mapping's
//! DIMM, inside the mapping, and its size is their sum; sorted as C sorts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::label::{DimmLabels, InterleaveSetId, LabelArea, Mapping, Namespace, PmemRegion};
use nd_formats_fuzz::{area_from, reseal, Ctl};

const HEADER: usize = 10 + 4 * 20;

fuzz_target!(|data: &[u8]| {
    let (mut ctl, mut rest) = Ctl::split(data, HEADER);
    let ways = 1 + ctl.below(4);
    let flags = ctl.u8();
    let region_start = ctl.u64();
    let mut areas: Vec<Vec<u8>> = Vec::new();
    let mut modes = Vec::new();
    for _ in 0..ways {
        let len = ctl.u8() as usize | (ctl.u8() as usize) << 8;
        let (area, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        let mut area = area_from(ctl.u8(), area);
        if flags & 1 != 0 {
            reseal(&mut area);
        }
        areas.push(area);
        let mode = ctl.u8();
        let (start, size) = match (ctl.u64(), ctl.u64()) {
            (0, 0) => (0, u64::MAX),
            w => w,
        };
        modes.push((mode, start, size));
    }
    let parsed: Vec<Option<LabelArea<'_>>> = areas.iter().map(|a| LabelArea::parse(a).ok()).collect();
    let mut set = InterleaveSetId::default();
    if flags & 2 == 0 {
        if let Some(l) = parsed.iter().flatten().flat_map(|a| a.labels()).map(|(_, l)| l).next() {
            set = InterleaveSetId { cookie1: l.isetcookie, cookie2: l.isetcookie, altcookie: l.isetcookie, type_guid: l.type_guid };
        }
    }
    let mappings: Vec<Mapping<'_>> = parsed
        .iter()
        .zip(&modes)
        .map(|(a, &(mode, start, size))| {
            let dimm = if mode & 0xf == 0 {
                DimmLabels::Disabled { locked: mode & 0x10 != 0, labeling: mode & 0x20 != 0 }
            } else {
                DimmLabels::Enabled(*a)
            };
            Mapping { dimm, start, size }
        })
        .collect();
    let region = PmemRegion { set, start: region_start, mappings: &mappings };
    let max = region.max_namespaces();
    let short = flags & 4 != 0 && max > 0;
    let mut out = vec![Namespace::EMPTY; max - usize::from(short)];
    let mut notes = 0usize;
    let Ok(found) = region.scan(&mut out, |_| notes += 1) else { return };
    assert!(found.len() <= max, "more namespaces than max_namespaces");
    for (i, ns) in found.iter().enumerate() {
        assert_eq!(ns.labels().len(), ways, "{} labels for {ways} ways", ns.labels().len());
        assert!(found[..i].iter().all(|o| o.uuid != ns.uuid), "two namespaces of one uuid");
        let mut size = 0u64;
        for (m, ml) in ns.labels().iter().enumerate() {
            let area = mappings[m].dimm.area().expect("a namespace's label on a DIMM without labels");
            let (_, label) = area
                .labels()
                .find(|(s, _)| *s == ml.slot)
                .unwrap_or_else(|| panic!("mapping{m}: slot {} is no active label", ml.slot));
            assert_eq!(label.uuid, ns.uuid, "mapping{m}: a label of another uuid");
            let first = area.labels_with_uuid(&ns.uuid).next().map(|(s, _)| s);
            assert_eq!(first, Some(ml.slot), "mapping{m}: not the DIMM's first label of the uuid");
            assert_eq!((label.dpa, label.rawsize, label.position), (ml.dpa, ml.rawsize, ml.position));
            let map = &mappings[m];
            assert!(label.within_mapping(map.start, map.size), "mapping{m}: label outside the mapping");
            size = size.wrapping_add(ml.rawsize);
        }
        assert_eq!(ns.size, size, "size is not the sum of the extents");
        if i > 0 {
            let key = |n: &Namespace| n.resource(region_start).to_le_bytes();
            assert!(key(&found[i - 1]) <= key(ns), "namespaces out of C's order");
        }
    }
});
