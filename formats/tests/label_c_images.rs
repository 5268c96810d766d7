//! Label areas written by Linux's C stack (`ndctl init-labels` on a QEMU
//! NVDIMM under the C modules; see test/tools/make-label-images.sh).

use nd_formats::label::{IndexCopy, LabelArea, LabelAreaMut, LabelSize, LabelVersion};

fn image(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(data.len(), 128 << 10, "{path}: a 128 KiB label area");
    data
}

#[test]
fn c_v1_1_area_parses() {
    let data = image("c-init-v1.1.bin");
    let area = LabelArea::parse(&data).expect("C's v1.1 area validates");
    assert_eq!(area.version(), LabelVersion::V1_1);
    assert_eq!(area.label_size(), LabelSize::Bytes128);
    // ndctl writes seq 3 into the first copy and 2 into the second.
    assert_eq!(area.current(), IndexCopy::First);
    assert_eq!(area.nslot(), 1020);
    assert_eq!(area.active_count(), 0);
}

#[test]
fn c_v1_2_area_parses() {
    let data = image("c-init-v1.2.bin");
    let area = LabelArea::parse(&data).expect("C's v1.2 area validates");
    assert_eq!(area.version(), LabelVersion::V1_2);
    assert_eq!(area.label_size(), LabelSize::Bytes256);
    assert_eq!(area.current(), IndexCopy::First);
    assert_eq!(area.nslot(), 510);
    assert_eq!(area.active_count(), 0);
}

/// Our init (the kernel's `nd_label_write_index` rules) writes what ndctl
/// writes, except that ndctl fills the free bitmap up to a 64-bit boundary
/// where the kernel sets exactly `nslot` bits; the checksums differ only
/// because of those padding bits.
#[test]
fn init_matches_c_except_bitmap_padding() {
    const FREE: usize = 0x48; // offset of the free bitmap in an index block
    const CHECKSUM: std::ops::Range<usize> = 0x40..0x48;
    for (name, size, nslot) in [("c-init-v1.1.bin", LabelSize::Bytes128, 1020usize), ("c-init-v1.2.bin", LabelSize::Bytes256, 510)] {
        let c = image(name);
        let mut ours = vec![0xa5u8; c.len()];
        LabelAreaMut::init(&mut ours, size).expect("init");
        let parsed = LabelArea::parse(&ours).expect("our init validates");
        assert_eq!(parsed.nslot() as usize, nslot);
        let index_size = LabelArea::parse(&c).unwrap().geometry().index_size() as usize;
        let padded = nslot.div_ceil(64) * 64;
        for block in [0, index_size] {
            let csum = block + CHECKSUM.start..block + CHECKSUM.end;
            let bits = |at: usize| (at >= block + FREE + nslot / 8) && (at < block + FREE + padded / 8);
            for at in block..block + index_size {
                if csum.contains(&at) {
                    continue;
                }
                if bits(at) {
                    // Padding byte: ndctl sets bits past nslot, the kernel does not.
                    let keep = if at == block + FREE + nslot / 8 { (1u8 << (nslot % 8)) - 1 } else { 0 };
                    assert_eq!(c[at] & keep, ours[at] & keep, "{name}: byte {at:#x}");
                    assert_eq!(ours[at] & !keep, 0, "{name}: byte {at:#x}: kernel sets no bit past nslot");
                    assert_eq!(c[at] | keep, 0xff, "{name}: byte {at:#x}: ndctl pads with ones");
                    continue;
                }
                assert_eq!(c[at], ours[at], "{name}: byte {at:#x}");
            }
        }
        assert!(c[2 * index_size..] == ours[2 * index_size..], "{name}: label slots differ");
    }
}

#[test]
fn a_flipped_bit_in_the_current_index_falls_back_to_the_other_copy() {
    let mut data = image("c-init-v1.1.bin");
    data[0x20] ^= 1;
    let area = LabelArea::parse(&data).expect("the second copy still validates");
    assert_eq!(area.current(), IndexCopy::Second);
}
