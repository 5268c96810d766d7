//! Namespace labels on their own: layout, round trips and validation.

mod label_common;

use label_common::oracle_label;
use nd_formats::fletcher;
use nd_formats::label::layout::label_field;
use nd_formats::label::{
    label_id, ClaimClass, LabelError, LabelSize, NamespaceLabel, NVDIMM_PFN_GUID,
};

const V11: LabelSize = LabelSize::Bytes128;
const V12: LabelSize = LabelSize::Bytes256;

#[test]
fn v1_2_layout_on_media() {
    let mut raw = [0xccu8; 300];
    let mut l = oracle_label(V12);
    l.slot = 0x0102_0304;
    l.position = 0x0506;
    l.lbasize = 4096;
    l.align = 9;
    let sum = l.write(&mut raw).unwrap();
    assert_eq!(&raw[0..2], &[0x10, 0x11]);
    assert_eq!(&raw[16..28], b"namespace0.0");
    assert_eq!(&raw[80..84], &[8, 0, 0, 0]);
    assert_eq!(&raw[84..88], &[1, 0, 6, 5]);
    assert_eq!(&raw[88..96], &0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(&raw[96..104], &4096u64.to_le_bytes());
    assert_eq!(&raw[104..112], &0x100_0000u64.to_le_bytes());
    assert_eq!(&raw[112..120], &0x4000_0000u64.to_le_bytes());
    assert_eq!(&raw[120..124], &[4, 3, 2, 1]);
    assert_eq!(raw[124], 9);
    assert_eq!(&raw[125..128], &[0, 0, 0], "reserved bytes zeroed");
    assert_eq!(raw[128], 0x80);
    assert_eq!(raw[144..160], NVDIMM_PFN_GUID);
    assert!(raw[160..248].iter().all(|&b| b == 0));
    assert_eq!(&raw[248..256], &sum.to_le_bytes());
    assert!(
        raw[256..].iter().all(|&b| b == 0xcc),
        "nothing written past the label"
    );
    assert!(fletcher::verify(&raw[..256], label_field::CHECKSUM));
}

#[test]
fn v1_1_layout_stops_at_128_bytes() {
    let mut raw = [0xccu8; 256];
    let l = oracle_label(V12);
    let l = NamespaceLabel { size: V11, ..l };
    assert_eq!(l.write(&mut raw).unwrap(), 0);
    assert!(raw[128..].iter().all(|&b| b == 0xcc));
    let back = NamespaceLabel::parse(&raw, V11).unwrap();
    // GUIDs and checksum do not exist in a 128-byte label.
    assert_eq!(
        back,
        NamespaceLabel {
            type_guid: [0; 16],
            abstraction_guid: [0; 16],
            ..l
        }
    );
}

#[test]
fn round_trip_both_sizes() {
    for size in [V11, V12] {
        let mut l = oracle_label(size);
        l.slot = 42;
        let mut raw = vec![0u8; size.bytes()];
        let sum = l.write(&mut raw).unwrap();
        let back = NamespaceLabel::validate(&raw, size, 42).unwrap();
        assert_eq!(back, NamespaceLabel { checksum: sum, ..l });
    }
}

#[test]
fn validation_rules() {
    let mut raw = [0u8; 256];
    let mut l = oracle_label(V12);
    l.slot = 3;
    l.write(&mut raw).unwrap();
    assert!(NamespaceLabel::validate(&raw, V12, 3).is_ok());
    // Written where it does not belong.
    assert_eq!(
        NamespaceLabel::validate(&raw, V12, 4),
        Err(LabelError::SlotMismatch)
    );
    // The checksum covers reserved bytes too.
    let mut bad = raw;
    bad[200] = 1;
    assert_eq!(
        NamespaceLabel::validate(&bad, V12, 3),
        Err(LabelError::BadChecksum)
    );
    let mut bad = raw;
    bad[255] ^= 0x80;
    assert_eq!(
        NamespaceLabel::validate(&bad, V12, 3),
        Err(LabelError::BadChecksum)
    );
    // The slot is checked first, as in C.
    let mut bad = raw;
    bad[120] = 9;
    assert_eq!(
        NamespaceLabel::validate(&bad, V12, 3),
        Err(LabelError::SlotMismatch)
    );
    // Too short.
    assert_eq!(
        NamespaceLabel::validate(&raw[..255], V12, 3),
        Err(LabelError::TooShort)
    );
    assert_eq!(
        NamespaceLabel::parse(&raw[..127], V11),
        Err(LabelError::TooShort)
    );
    assert_eq!(l.write(&mut [0u8; 255]), Err(LabelError::TooShort));
}

#[test]
fn all_zero_slot() {
    // An erased slot is a valid label for slot 0 in both layouts, as in
    // C: v1.1 only checks the slot field, and the Fletcher sum of zeros
    // is zero, matching the zero checksum. Only the free bitmap keeps
    // such a slot out of the label list.
    let raw = [0u8; 256];
    assert!(NamespaceLabel::validate(&raw, V11, 0).is_ok());
    assert!(NamespaceLabel::validate(&raw, V12, 0).is_ok());
    assert_eq!(
        NamespaceLabel::validate(&raw, V12, 1),
        Err(LabelError::SlotMismatch)
    );
}

#[test]
fn claim_class_and_type_checks() {
    let l = oracle_label(V12);
    assert_eq!(l.claim_class(), ClaimClass::Pfn);
    assert!(l.type_guid_matches(&core::array::from_fn(|i| 0x80 + i as u8)));
    assert!(!l.type_guid_matches(&[0; 16]));
    assert!(l.within_mapping(0, 0x4100_0000));
    assert!(!l.within_mapping(0, 0x40ff_ffff));
}

#[test]
fn label_ids() {
    let l = oracle_label(V12);
    assert_eq!(
        label_id(&l.uuid).as_str(),
        "pmem-10111213-1415-1617-1819-1a1b1c1d1e1f"
    );
    assert_eq!(label_id(&l.uuid).as_bytes().len(), 41);
}
