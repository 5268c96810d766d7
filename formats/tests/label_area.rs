//! Whole-area behaviour: initialisation, choosing the current index,
//! listing labels, and the kernel's two-phase update protocol.

mod label_common;

use label_common::{init_area, oracle_label, persist, reseal_index, AREA};
use nd_formats::fletcher;
use nd_formats::label::layout::index_field;
use nd_formats::label::{
    write_index, ClaimClass, Geometry, IndexCopy, IndexHeader, IndexWrite, LabelArea, LabelAreaMut,
    LabelError, LabelSize, LabelVersion, NamespaceLabel, NSLABEL_FLAG_UPDATING,
};

const V11: LabelSize = LabelSize::Bytes128;
const V12: LabelSize = LabelSize::Bytes256;

fn checksum_of(area: &[u8], g: &Geometry, copy: IndexCopy) -> u64 {
    fletcher::stored(&area[g.index_range(copy)], index_field::CHECKSUM).unwrap()
}

fn seqs(area: &[u8], g: &Geometry) -> [u32; 2] {
    IndexCopy::BOTH.map(|c| IndexHeader::parse(&area[g.index_range(c)]).unwrap().seq)
}

#[test]
fn init_matches_the_c_oracle() {
    // Checksums of the index blocks init_labels writes on a zeroed 128K
    // area, computed by the kernel's own functions compiled in userspace.
    for (size, nslot, sum0, sum1) in [
        (V11, 1020, 0xdb63_4621_e731_3e0a, 0xdb63_49e6_e731_3e09),
        (V12, 510, 0xe793_e3ed_1832_3c1c, 0xe793_e7b2_1832_3c1b),
    ] {
        let area = init_area(size);
        let g = Geometry::new(AREA as u32, size).unwrap();
        assert_eq!(g.nslot(), nslot);
        assert_eq!(checksum_of(&area, &g, IndexCopy::First), sum0, "{size:?}");
        assert_eq!(checksum_of(&area, &g, IndexCopy::Second), sum1, "{size:?}");
        assert!(area[512..].iter().all(|&b| b == 0), "init zeroes the slots");
    }
}

#[test]
fn parse_fresh_area() {
    for (size, version, nslot) in [
        (V11, LabelVersion::V1_1, 1020),
        (V12, LabelVersion::V1_2, 510),
    ] {
        let area = init_area(size);
        let parsed = LabelArea::parse(&area).unwrap();
        // seq 3 beats seq 2.
        assert_eq!(parsed.current(), IndexCopy::First);
        assert_eq!(parsed.next(), IndexCopy::Second);
        assert_eq!(parsed.label_size(), size);
        assert_eq!(parsed.version(), version);
        assert_eq!(parsed.nslot(), nslot);
        assert_eq!(parsed.index().free().count_free(), nslot);
        assert_eq!(parsed.labels().count(), 0);
        assert_eq!(parsed.slots().count(), 0);
        assert_eq!(parsed.active(0), None);
    }
}

#[test]
fn first_update_matches_the_c_oracle() {
    // The oracle takes slot 0 in index 1, writes its label there, and
    // writes index 1 with nd_inc_seq(2) = 3.
    for (size, label_sum, sum1) in [
        (V11, 0, 0xdb63_49f3_e731_3e09),
        (V12, 0x4bc3_66f8_4d4d_a4b1, 0xe793_e7bf_1832_3c1b),
    ] {
        let mut area = vec![0u8; AREA];
        let mut staged = LabelAreaMut::init(&mut area, size).unwrap();
        assert_eq!(staged.alloc_slot(), Some(0));
        let range = staged.write_label(0, &oracle_label(size)).unwrap();
        assert_eq!(range, 512..512 + size.bytes());
        assert_eq!(staged.commit().unwrap(), 256..512);
        let g = *staged.geometry();
        let label = NamespaceLabel::parse(&area[512..], size).unwrap();
        assert_eq!(label.checksum, label_sum);
        assert_eq!(checksum_of(&area, &g, IndexCopy::Second), sum1, "{size:?}");
        assert_eq!(seqs(&area, &g)[1], 3);
    }
}

/// Create one namespace label on one DIMM the way
/// nd_pmem_namespace_label_update does: write it with UPDATING, commit,
/// write it again without, reap the first copy, commit.
#[test]
fn two_phase_namespace_update() {
    let mut media = vec![0u8; AREA];
    let mut work = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut work, V12).unwrap();
    let g = *staged.geometry();
    for copy in IndexCopy::BOTH {
        persist(&mut media, staged.as_bytes(), g.index_range(copy));
    }

    let mut label = oracle_label(V12);
    let first = staged.alloc_slot().unwrap();
    let r = staged.write_label(first, &label).unwrap();
    persist(&mut media, staged.as_bytes(), r);
    let r = staged.commit().unwrap();
    persist(&mut media, staged.as_bytes(), r);
    assert_eq!(seqs(&media, &g), [3, 3]);
    let parsed = LabelArea::parse(&media).unwrap();
    assert_eq!(parsed.current(), IndexCopy::Second, "a tie goes to index 1");
    assert_eq!(parsed.active(0).unwrap().1.flags, NSLABEL_FLAG_UPDATING);

    label.flags = 0;
    let second = staged.alloc_slot().unwrap();
    assert_eq!((first, second), (0, 1));
    let r = staged.write_label(second, &label).unwrap();
    persist(&mut media, staged.as_bytes(), r);
    assert!(staged.free_slot(first));
    let r = staged.commit().unwrap();
    persist(&mut media, staged.as_bytes(), r);
    assert_eq!(seqs(&media, &g), [1, 3]);

    let parsed = LabelArea::parse(&media).unwrap();
    assert_eq!(parsed.current(), IndexCopy::First, "3 -> 1 wraps");
    let (slot, found) = parsed.active(0).unwrap();
    assert_eq!(slot, 1);
    assert_eq!(
        found,
        NamespaceLabel {
            slot: 1,
            checksum: found.checksum,
            ..label
        }
    );
    assert_eq!(found.claim_class(), ClaimClass::Pfn);
    assert_eq!(found.name_bytes(), b"namespace0.0");
    assert_eq!(parsed.active_count(), 1);
    // The old label is still on media, but no longer referenced.
    assert!(NamespaceLabel::validate(&media[512..768], V12, 0).is_ok());
}

#[test]
fn sequence_numbers_cycle_through_commits() {
    let mut area = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut area, V11).unwrap();
    let g = *staged.geometry();
    let mut media = staged.as_bytes().to_vec();
    // (index written, its new seq) for successive commits after init [3, 2].
    let expect = [
        (IndexCopy::Second, 3),
        (IndexCopy::First, 1),
        (IndexCopy::Second, 2),
        (IndexCopy::First, 3),
        (IndexCopy::Second, 1),
        (IndexCopy::First, 2),
    ];
    for (written, seq) in expect {
        let r = staged.commit().unwrap();
        assert_eq!(r, g.index_range(written));
        persist(&mut media, staged.as_bytes(), r);
        assert_eq!(seqs(&media, &g)[written.number()], seq);
        let parsed = LabelArea::parse(&media).unwrap();
        assert_eq!(parsed.current(), written);
        assert_eq!(staged.current(), written);
        // Reopening the media continues the same cycle.
        let mut copy = media.clone();
        assert_eq!(LabelAreaMut::open(&mut copy).unwrap().current(), written);
    }
}

/// Build an area whose two index blocks carry the given sequence numbers.
fn area_with_seqs(size: LabelSize, seq0: u32, seq1: u32) -> Vec<u8> {
    let mut area = vec![0u8; AREA];
    let g = Geometry::new(AREA as u32, size).unwrap();
    for (copy, seq) in [(IndexCopy::First, seq0), (IndexCopy::Second, seq1)] {
        write_index(
            &mut area[g.index_range(copy)],
            &g,
            copy,
            seq,
            IndexWrite::Init,
        )
        .unwrap();
    }
    area
}

#[test]
fn both_copies_selection() {
    use IndexCopy::{First, Second};
    let cases = [
        (1, 2, Ok(Second)),
        (2, 3, Ok(Second)),
        (3, 1, Ok(Second)),
        (2, 1, Ok(First)),
        (3, 2, Ok(First)),
        (1, 3, Ok(First)),
        (1, 1, Ok(Second)),
        (0x11, 0x12, Ok(Second)), // only the low bits count
        (0, 2, Ok(Second)),       // seq 0 is invalid, the other wins
        (3, 4, Ok(First)),
        (0, 0, Err(LabelError::NoValidIndex)),
    ];
    for (s0, s1, want) in cases {
        let area = area_with_seqs(V12, s0, s1);
        assert_eq!(
            LabelArea::parse(&area).map(|a| a.current()),
            want,
            "seqs {s0} {s1}"
        );
    }
}

#[test]
fn one_damaged_copy_falls_back_to_the_other() {
    let g = Geometry::new(AREA as u32, V12).unwrap();
    for damaged in IndexCopy::BOTH {
        let mut area = init_area(V12);
        area[g.index_offset(damaged) + 100] ^= 0x80;
        let parsed = LabelArea::parse(&area).unwrap();
        assert_eq!(parsed.current(), damaged.other());
        let why = LabelArea::probe(&area, &g, damaged).err();
        assert_eq!(why, Some(LabelError::BadChecksum));
    }
    let mut area = init_area(V12);
    area[100] ^= 1;
    area[356] ^= 1;
    assert_eq!(
        LabelArea::parse(&area).err(),
        Some(LabelError::NoValidIndex)
    );
}

#[test]
fn blank_and_tiny_areas() {
    assert_eq!(
        LabelArea::parse(&vec![0u8; AREA]).err(),
        Some(LabelError::NoValidIndex)
    );
    assert_eq!(
        LabelArea::parse(&vec![0xffu8; AREA]).err(),
        Some(LabelError::NoValidIndex)
    );
    assert_eq!(LabelArea::parse(&[]).err(), Some(LabelError::AreaTooSmall));
    assert_eq!(
        LabelArea::parse(&[0u8; 767]).err(),
        Some(LabelError::AreaTooSmall)
    );
    let mut small = [0u8; 767];
    assert_eq!(
        LabelAreaMut::init(&mut small, V11).err(),
        Some(LabelError::AreaTooSmall)
    );
}

#[test]
fn smallest_areas_round_trip() {
    // 768 bytes hold two 128-byte labels; 256-byte labels need 1024.
    for (len, size) in [(768, V11), (1024, V12), (1024, V11)] {
        let mut area = vec![0u8; len];
        LabelAreaMut::init(&mut area, size).unwrap();
        let parsed = LabelArea::parse(&area).unwrap();
        assert_eq!(
            (parsed.label_size(), parsed.nslot()),
            (size, ((len - 512) / size.bytes()) as u32)
        );
    }
    // A 1000-byte area cannot host 256-byte labels, so the probe for them
    // is skipped and nothing validates as 128.
    let mut area = vec![0u8; 1000];
    assert_eq!(
        LabelAreaMut::init(&mut area, V12).err(),
        Some(LabelError::AreaTooSmall)
    );
}

#[test]
fn ndctl_style_area() {
    // ndctl init-labels fills the bitmap with 0xff up to a 64-slot
    // boundary without clearing bits past nslot, and leaves the rest of
    // the area as it was. The kernel does not look at those bits.
    for size in [V11, V12] {
        let g = Geometry::new(AREA as u32, size).unwrap();
        let mut area = vec![0u8; AREA];
        area[4096..].fill(0x5a); // stale label bytes
        for (copy, seq) in [(IndexCopy::First, 3), (IndexCopy::Second, 2)] {
            let block = &mut area[g.index_range(copy)];
            write_index(block, &g, copy, seq, IndexWrite::Init).unwrap();
            let bytes = (g.nslot() as usize).next_multiple_of(64) / 8;
            block[index_field::FREE..index_field::FREE + bytes].fill(0xff);
            reseal_index(block);
        }
        let parsed = LabelArea::parse(&area).unwrap();
        assert_eq!(parsed.current(), IndexCopy::First);
        assert_eq!(parsed.nslot(), g.nslot());
        assert_eq!(parsed.index().free().count_free(), g.nslot());
        assert_eq!(parsed.labels().count(), 0);
    }
}

#[test]
fn invalid_labels_are_skipped_but_reported() {
    let mut area = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut area, V12).unwrap();
    for i in 0..4u8 {
        let slot = staged.alloc_slot().unwrap();
        let mut l = oracle_label(V12);
        l.uuid[0] = i;
        staged.write_label(slot, &l).unwrap();
    }
    staged.commit().unwrap();
    // Slot 1: a reserved byte changed, so the checksum fails.
    area[512 + 256 + 200] ^= 1;
    // Slot 2: rewritten to claim slot 7 (with a good checksum).
    let mut l = NamespaceLabel::parse(&area[1024..1280], V12).unwrap();
    l.slot = 7;
    l.write(&mut area[1024..1280]).unwrap();

    let parsed = LabelArea::parse(&area).unwrap();
    let slots: Vec<_> = parsed
        .slots()
        .map(|(s, r)| (s, r.map(|l| l.uuid[0])))
        .collect();
    assert_eq!(
        slots,
        [
            (0, Ok(0)),
            (1, Err(LabelError::BadChecksum)),
            (2, Err(LabelError::SlotMismatch)),
            (3, Ok(3))
        ]
    );
    let good: Vec<_> = parsed.labels().map(|(s, l)| (s, l.uuid[0])).collect();
    assert_eq!(good, [(0, 0), (3, 3)]);
    assert_eq!(parsed.active_count(), 2);
    assert_eq!(parsed.active(1).map(|(s, _)| s), Some(3));
}

#[test]
fn v1_1_labels_have_no_checksum() {
    let mut area = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut area, V11).unwrap();
    let slot = staged.alloc_slot().unwrap();
    staged.write_label(slot, &oracle_label(V11)).unwrap();
    staged.commit().unwrap();
    area[512 + 125] = 0xee; // a reserved byte
    area[512 + 16] = b'N'; // the name
    let parsed = LabelArea::parse(&area).unwrap();
    let (_, label) = parsed.active(0).unwrap();
    assert_eq!(label.name_bytes(), b"Namespace0.0");
    assert_eq!(label.claim_class(), ClaimClass::None);
    assert!(
        label.type_guid_matches(&[0x42; 16]),
        "v1.1 labels match any type"
    );
}

#[test]
fn staging_rules() {
    let mut area = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut area, V12).unwrap();
    let label = oracle_label(V12);
    assert_eq!(staged.nfree(), 510);
    // Not allocated in the next index.
    assert_eq!(staged.write_label(5, &label), Err(LabelError::SlotBusy));
    assert_eq!(
        staged.write_label(510, &label),
        Err(LabelError::SlotOutOfRange)
    );
    assert_eq!(
        staged.write_label(0, &oracle_label(V11)),
        Err(LabelError::LabelSizeMismatch)
    );
    let slot = staged.alloc_slot().unwrap();
    assert_eq!(staged.nfree(), 509);
    staged.write_label(slot, &label).unwrap();
    staged.commit().unwrap();
    assert_eq!(staged.nfree(), 509);
    // Freed in next but still live in current: never reused or overwritten
    // before the commit that drops it.
    assert!(staged.free_slot(slot));
    assert!(!staged.free_slot(slot));
    assert!(!staged.free_slot(9999));
    assert_eq!(staged.nfree(), 510);
    assert_eq!(staged.write_label(slot, &label), Err(LabelError::SlotBusy));
    assert_eq!(staged.alloc_slot(), Some(1));
    assert_eq!(
        staged.view().unwrap().active_count(),
        1,
        "current unchanged"
    );
    staged.commit().unwrap();
    assert_eq!(staged.view().unwrap().active_count(), 0);
    assert_eq!(staged.alloc_slot(), Some(0), "reusable once dropped");
}

#[test]
fn full_area() {
    let mut area = vec![0u8; AREA];
    let mut staged = LabelAreaMut::init(&mut area, V12).unwrap();
    let mut n = 0;
    while let Some(slot) = staged.alloc_slot() {
        let mut l = oracle_label(V12);
        l.position = slot as u16;
        staged.write_label(slot, &l).unwrap();
        n += 1;
    }
    assert_eq!((n, staged.nfree()), (510, 0));
    staged.commit().unwrap();
    let view = staged.view().unwrap();
    assert_eq!(view.active_count(), 510);
    assert!(view.labels().all(|(s, l)| u32::from(l.position) == s));
}

#[test]
fn reopen_stages_a_copy_of_current() {
    let mut area = init_area(V12);
    let mut staged = LabelAreaMut::open(&mut area).unwrap();
    let g = *staged.geometry();
    assert_eq!(
        (staged.current(), staged.next()),
        (IndexCopy::First, IndexCopy::Second)
    );
    // The working copy's next block mirrors current (C: nd_label_copy).
    let bytes = staged.as_bytes();
    assert_eq!(
        bytes[g.index_range(IndexCopy::First)],
        bytes[g.index_range(IndexCopy::Second)]
    );
    let r = staged.commit().unwrap();
    assert_eq!(r, g.index_range(IndexCopy::Second));
    assert_eq!(seqs(staged.as_bytes(), &g)[1], 1, "nd_inc_seq(3)");
    let mut garbage = vec![0u8; AREA];
    assert_eq!(
        LabelAreaMut::open(&mut garbage).err(),
        Some(LabelError::NoValidIndex)
    );
}
