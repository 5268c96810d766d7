//! Every rule of C's `__nd_label_validate`, each shown rejecting a block
//! that breaks only that rule, plus the boundaries it must still accept.

mod label_common;

use label_common::{init_area, reseal_index, AREA};
use nd_formats::label::layout::{index_field, NSINDEX_HEADER_SIZE};
use nd_formats::label::{
    write_index, Geometry, IndexCopy, IndexHeader, IndexWrite, LabelArea, LabelError, LabelSize,
};

const V11: LabelSize = LabelSize::Bytes128;
const V12: LabelSize = LabelSize::Bytes256;

fn geo(size: LabelSize) -> Geometry {
    Geometry::new(AREA as u32, size).unwrap()
}

fn probe(area: &[u8], size: LabelSize, copy: IndexCopy) -> Result<(), LabelError> {
    LabelArea::probe(area, &geo(size), copy).map(|_| ())
}

/// Edit one index block's header of a fresh area and reseal its checksum,
/// so that only the edited rule is broken.
fn crafted(size: LabelSize, copy: IndexCopy, edit: impl FnOnce(&mut IndexHeader)) -> Vec<u8> {
    let mut area = init_area(size);
    let block = &mut area[geo(size).index_range(copy)];
    let mut h = IndexHeader::parse(block).unwrap();
    edit(&mut h);
    h.write(block).unwrap();
    reseal_index(block);
    area
}

#[test]
fn fresh_blocks_validate() {
    for size in [V11, V12] {
        let area = init_area(size);
        for copy in IndexCopy::BOTH {
            assert_eq!(probe(&area, size, copy), Ok(()), "{size:?} {copy:?}");
        }
    }
}

#[test]
fn signature() {
    let area = crafted(V12, IndexCopy::First, |h| h.sig[15] = b'X');
    assert_eq!(
        probe(&area, V12, IndexCopy::First),
        Err(LabelError::BadSignature)
    );
    let area = crafted(V12, IndexCopy::Second, |h| h.sig = *b"namespace_index\0");
    assert_eq!(
        probe(&area, V12, IndexCopy::Second),
        Err(LabelError::BadSignature)
    );
}

#[test]
fn labelsize_code_beyond_256_bytes() {
    // C rejects codes above 1 before shifting by them.
    for code in [2, 7, 25, 255] {
        let area = crafted(V12, IndexCopy::First, |h| h.labelsize = code);
        assert_eq!(
            probe(&area, V12, IndexCopy::First),
            Err(LabelError::BadLabelSize)
        );
    }
}

#[test]
fn labelsize_must_match_the_probe() {
    // A v1.2 area probed for 128-byte labels, and the reverse. The index
    // size is 256 for both here, so only the size rule trips.
    let area = init_area(V12);
    assert_eq!(
        probe(&area, V11, IndexCopy::First),
        Err(LabelError::LabelSizeMismatch)
    );
    let area = init_area(V11);
    assert_eq!(
        probe(&area, V12, IndexCopy::First),
        Err(LabelError::LabelSizeMismatch)
    );
    // v1.1 ignores the code entirely: labels are 128 bytes.
    let area = crafted(V11, IndexCopy::First, |h| h.labelsize = 1);
    assert_eq!(probe(&area, V11, IndexCopy::First), Ok(()));
    // A v1.2 index may describe 128-byte labels.
    let area = crafted(V11, IndexCopy::First, |h| h.minor = 2);
    assert_eq!(probe(&area, V11, IndexCopy::First), Ok(()));
}

#[test]
fn checksum_covers_the_whole_block() {
    let g = geo(V12);
    for offset in [0, 20, 64, 71, 72, 200, 255] {
        let mut area = init_area(V12);
        area[offset] ^= 0x10;
        let want = if offset < 16 {
            LabelError::BadSignature
        } else {
            LabelError::BadChecksum
        };
        assert_eq!(
            probe(&area, V12, IndexCopy::First),
            Err(want),
            "offset {offset}"
        );
    }
    // ...and nothing past it: bytes of the other block do not count.
    let mut area = init_area(V12);
    area[g.index_size()] ^= 1;
    assert_eq!(probe(&area, V12, IndexCopy::First), Ok(()));
}

#[test]
fn sequence_zero_is_invalid() {
    for seq in [0, 4, 0x100, 0xffff_fffc] {
        let area = crafted(V11, IndexCopy::First, |h| h.seq = seq);
        assert_eq!(
            probe(&area, V11, IndexCopy::First),
            Err(LabelError::BadSequence),
            "{seq:#x}"
        );
    }
    // High bits are ignored: 5 is sequence 1.
    let area = crafted(V11, IndexCopy::First, |h| h.seq = 5);
    assert_eq!(probe(&area, V11, IndexCopy::First), Ok(()));
}

#[test]
fn offsets_must_match_the_position() {
    let size = V12;
    type Edit = fn(&mut IndexHeader);
    let cases: [(Edit, LabelError); 6] = [
        (|h| h.myoff = 256, LabelError::BadMyoff),
        (|h| h.myoff += 1 << 32, LabelError::BadMyoff),
        (|h| h.otheroff = 0, LabelError::BadOtheroff),
        (|h| h.otheroff = 512, LabelError::BadOtheroff),
        (|h| h.labeloff = 256, LabelError::BadLabeloff),
        (|h| h.labeloff = 768, LabelError::BadLabeloff),
    ];
    for (edit, want) in cases {
        let area = crafted(size, IndexCopy::First, edit);
        assert_eq!(probe(&area, size, IndexCopy::First), Err(want));
    }
    // A valid first block copied into the second position is misplaced.
    let mut area = init_area(size);
    area.copy_within(0..256, 256);
    assert_eq!(
        probe(&area, size, IndexCopy::Second),
        Err(LabelError::BadMyoff)
    );
}

#[test]
fn mysize_bounds() {
    for (mysize, want) in [
        (0, Err(LabelError::BadMysize)),
        (NSINDEX_HEADER_SIZE as u64 - 1, Err(LabelError::BadMysize)),
        (NSINDEX_HEADER_SIZE as u64, Ok(())),
        (255, Ok(())),
        (256, Ok(())),
        (257, Err(LabelError::BadMysize)),
        (u64::MAX, Err(LabelError::BadMysize)),
    ] {
        let area = crafted(V11, IndexCopy::Second, |h| h.mysize = mysize);
        assert_eq!(
            probe(&area, V11, IndexCopy::Second),
            want,
            "mysize {mysize}"
        );
    }
}

#[test]
fn nslot_must_fit_the_area() {
    // 128K v1.2: (131072 - 512) / 256 = 510 slots fit exactly.
    for (nslot, want) in [
        (0, Ok(())),
        (510, Ok(())),
        (511, Err(LabelError::BadNslot)),
        (u32::MAX, Err(LabelError::BadNslot)),
    ] {
        let area = crafted(V12, IndexCopy::First, |h| h.nslot = nslot);
        assert_eq!(probe(&area, V12, IndexCopy::First), want, "nslot {nslot}");
    }
    // 128K v1.1: 1020.
    let area = crafted(V11, IndexCopy::First, |h| h.nslot = 1021);
    assert_eq!(
        probe(&area, V11, IndexCopy::First),
        Err(LabelError::BadNslot)
    );
}

#[test]
fn nslot_must_fit_the_bitmap() {
    // 189056 bytes of 128-byte labels: the index is 256 bytes, whose bitmap
    // holds (256 - 72) * 8 = 1472 bits, but the area would admit 1473
    // slots. C accepts 1473 and reads a bit past the block; we refuse.
    let config = 189_056;
    let g = Geometry::new(config, V11).unwrap();
    assert_eq!((g.index_size(), g.nslot()), (256, 1469));
    let mut area = vec![0u8; config as usize];
    for (copy, nslot) in [(IndexCopy::First, 1472), (IndexCopy::Second, 1473)] {
        let block = &mut area[g.index_range(copy)];
        write_index(block, &g, copy, 1, IndexWrite::Init).unwrap();
        let mut h = IndexHeader::parse(block).unwrap();
        h.nslot = nslot;
        h.write(block).unwrap();
        reseal_index(block);
    }
    assert!(LabelArea::probe(&area, &g, IndexCopy::First).is_ok());
    assert_eq!(
        LabelArea::probe(&area, &g, IndexCopy::Second).err(),
        Some(LabelError::BadNslot)
    );
}

#[test]
fn checks_run_in_c_order() {
    // Bad signature and bad checksum: the signature is reported.
    let mut area = init_area(V12);
    area[0] = 0;
    area[100] ^= 1;
    assert_eq!(
        probe(&area, V12, IndexCopy::First),
        Err(LabelError::BadSignature)
    );
    // Bad sequence and bad myoff: the sequence is reported.
    let area = crafted(V12, IndexCopy::First, |h| {
        h.seq = 0;
        h.myoff = 1;
    });
    assert_eq!(
        probe(&area, V12, IndexCopy::First),
        Err(LabelError::BadSequence)
    );
    // Bad mysize and bad nslot: mysize is reported.
    let area = crafted(V12, IndexCopy::First, |h| {
        h.mysize = 0;
        h.nslot = u32::MAX;
    });
    assert_eq!(
        probe(&area, V12, IndexCopy::First),
        Err(LabelError::BadMysize)
    );
}

#[test]
fn short_buffers() {
    let area = init_area(V12);
    let g = geo(V12);
    assert_eq!(
        LabelArea::probe(&area[..300], &g, IndexCopy::Second).err(),
        Some(LabelError::TooShort)
    );
    let mut block = [0u8; 255];
    assert_eq!(
        write_index(&mut block, &g, IndexCopy::First, 3, IndexWrite::Init),
        Err(LabelError::TooShort)
    );
}

#[test]
fn written_header_fields() {
    for (size, minor, code) in [(V11, 1, 0), (V12, 2, 1)] {
        let area = init_area(size);
        let g = geo(size);
        for (copy, seq, myoff, otheroff) in [
            (IndexCopy::First, 3, 0, 256),
            (IndexCopy::Second, 2, 256, 0),
        ] {
            let block = &area[g.index_range(copy)];
            let h = IndexHeader::parse(block).unwrap();
            assert_eq!(&h.sig, b"NAMESPACE_INDEX\0");
            assert_eq!((h.flags, h.labelsize, h.seq), ([0; 3], code, seq));
            assert_eq!(
                (h.myoff, h.mysize, h.otheroff, h.labeloff),
                (myoff, 256, otheroff, 512)
            );
            assert_eq!((h.nslot, h.major, h.minor), (g.nslot(), 1, minor));
            // Exactly nslot free bits, nothing after them.
            let free = &block[index_field::FREE..];
            let ones: u32 = free.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones, g.nslot());
            assert_eq!(free[(g.nslot() / 8) as usize - 1], 0xff);
        }
    }
}
