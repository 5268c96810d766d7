//! Index blocks and labels on their own: `IndexHeader::parse`,
//! `NamespaceIndex::validate` for both label sizes and both copies,
//! `NamespaceLabel::parse`/`validate` at every slot offset.
//!
//! Checks: an accepted index has a valid checksum and consistent offsets,
//! its header re-encodes to its bytes, used + free slots = nslot and the
//! bitmap's iterators agree; a validated label has a valid checksum (v1.2)
//! and re-encodes to its bytes.
//!
//! Input: 2 control bytes (bit 0 of the first: reseal the checksums; the
//! second sizes the area, see `area_from`), then the area or its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::fletcher;
use nd_formats::label::{Geometry, IndexCopy, IndexHeader, LabelSize, NamespaceIndex, NamespaceLabel};
use nd_formats_fuzz::{area_from, label_round_trip, reseal, Ctl, INDEX_CHECKSUM, LABEL_CHECKSUM};

fuzz_target!(|data: &[u8]| {
    let (mut ctl, rest) = Ctl::split(data, 2);
    let flags = ctl.u8();
    let mut data = area_from(ctl.u8(), rest);
    if flags & 1 != 0 {
        reseal(&mut data);
    }
    let data = &data[..];
    if let Ok(h) = IndexHeader::parse(data) {
        let mut block = data.to_vec();
        h.write(&mut block).expect("header write");
        assert_eq!(block, data, "index header does not re-encode to its bytes");
        assert_eq!(IndexHeader::parse(&block), Ok(h));
    }
    for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
        if let Ok(geo) = Geometry::for_area(data, size) {
            assert!(geo.labels_offset() == 2 * geo.index_size());
            assert!(geo.labels_offset() + geo.nslot() as usize * size.bytes() <= data.len(), "slots beyond the area");
            for copy in IndexCopy::BOTH {
                let Some(block) = data.get(geo.index_range(copy)) else { continue };
                let Ok(ix) = NamespaceIndex::validate(block, copy, &geo) else { continue };
                assert!(fletcher::verify(block, INDEX_CHECKSUM), "accepted index with a bad checksum");
                let h = ix.header();
                assert!(h.seq & 3 != 0 && h.myoff == geo.index_offset(copy) as u64);
                assert!(ix.nslot() <= geo.nslot(), "nslot beyond the area");
                assert_eq!(ix.label_size(), size);
                let used: Vec<u32> = ix.used_slots().collect();
                assert!(used.windows(2).all(|p| p[0] < p[1]) && used.iter().all(|&s| s < ix.nslot()));
                assert_eq!(used.len() as u32 + ix.free().count_free(), ix.nslot(), "used + free != nslot");
                assert!(used.iter().all(|&s| !ix.free().is_free(s)));
                assert_eq!(ix.free().used().collect::<Vec<_>>(), used);
                if let Some(first) = ix.free().first_free() {
                    assert!(ix.free().is_free(first) && (0..first).all(|s| !ix.free().is_free(s)));
                } else {
                    assert_eq!(ix.free().count_free(), 0);
                }
            }
            for slot in 0..geo.nslot().min(64) {
                let raw = &data[geo.slot_range(slot).expect("slot range")];
                if let Ok(label) = NamespaceLabel::validate(raw, size, slot) {
                    assert_eq!(label.slot, slot);
                    if size == LabelSize::Bytes256 {
                        assert!(fletcher::verify(raw, LABEL_CHECKSUM), "validated label with a bad checksum");
                    }
                    label_round_trip(raw, &label);
                }
            }
        }
        // Labels at every label-sized offset, as raw decodes.
        for start in (0..data.len()).step_by(size.bytes()).take(64) {
            let raw = &data[start..];
            if let Ok(label) = NamespaceLabel::parse(raw, size) {
                label_round_trip(raw, &label);
            }
            let _ = NamespaceLabel::validate(raw, size, (start / size.bytes()) as u32);
        }
    }
});
