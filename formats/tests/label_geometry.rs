//! Label area geometry against the C functions themselves.

mod label_common;

use label_common::Rng;
use nd_formats::label::{num_label_slots, sizeof_namespace_index, Geometry, LabelSize};

/// `testdata/label-geometry-c.txt`: rows of (config size, label size,
/// sizeof_namespace_index, nvdimm_num_label_slots) printed by label.c's
/// functions compiled in userspace, for sizes spread over 0..1 MiB.
#[test]
fn matches_c_table() {
    let table = include_str!("../testdata/label-geometry-c.txt");
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let v: Vec<i64> = line
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        let (config, label, c_index, c_nslot) = (v[0] as u32, v[1] as usize, v[2], v[3]);
        let size = LabelSize::from_bytes(label).unwrap();
        let index = sizeof_namespace_index(config, size);
        if c_nslot < 0 {
            // C's slot count wrapped (area smaller than two index blocks);
            // its index size is then meaningless. We refuse the area.
            assert_eq!(index, None, "config {config}");
            assert_eq!(num_label_slots(config, size), 0);
            continue;
        }
        assert_eq!(
            i64::from(num_label_slots(config, size)),
            c_nslot,
            "config {config} label {label}"
        );
        assert_eq!(
            i64::from(index.unwrap_or(0)),
            c_index,
            "config {config} label {label}"
        );
        rows += 1;
    }
    assert!(rows > 800, "table present: {rows} rows");
}

/// C's arithmetic, transliterated with its integer widths, as an oracle
/// for sizes the table does not cover.
fn c_geometry(config: u32, label: u32) -> (i32, u32) {
    let align = |x: u64| x.div_ceil(256) * 256;
    // DIV_ROUND_UP on a u32 nslot wraps in C.
    let sizeof_index = |nslot: u32| align(72 + u64::from(nslot.wrapping_add(7) / 8));
    let tmp = config / label;
    let n = (sizeof_index(tmp) / 256) as u32;
    let nslot =
        ((u64::from(config).wrapping_sub(256 * u64::from(n) * 2)) / u64::from(label)) as i32;
    let unslot = nslot as u32;
    let space = config.wrapping_sub(unslot.wrapping_mul(label));
    let size = (sizeof_index(unslot) * 2) as u32;
    let index = if size <= space && unslot >= 2 {
        size / 2
    } else {
        0
    };
    (nslot, index)
}

#[test]
fn matches_c_arithmetic_on_random_sizes() {
    let mut rng = Rng::new(1);
    for i in 0..200_000u32 {
        // Mostly realistic sizes, some anywhere in u32.
        let config = match i % 4 {
            0 => rng.next_u64() as u32,
            1 => rng.below(1 << 12) as u32,
            _ => rng.below(1 << 24) as u32,
        };
        for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
            let (c_nslot, c_index) = c_geometry(config, size.bytes() as u32);
            if c_nslot < 0 {
                assert_eq!(sizeof_namespace_index(config, size), None);
                continue;
            }
            assert_eq!(
                num_label_slots(config, size),
                c_nslot as u32,
                "config {config}"
            );
            assert_eq!(
                sizeof_namespace_index(config, size).unwrap_or(0),
                c_index,
                "config {config}"
            );
        }
    }
}

#[test]
fn invariants_on_random_sizes() {
    let mut rng = Rng::new(2);
    for _ in 0..100_000 {
        let config = rng.next_u64() as u32 >> rng.below(32);
        for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
            let Ok(g) = Geometry::new(config, size) else {
                continue;
            };
            let (index, nslot, label) = (
                g.index_size() as u64,
                u64::from(g.nslot()),
                size.bytes() as u64,
            );
            assert_eq!(index % 256, 0);
            assert!(nslot >= 2);
            assert!(2 * index + nslot * label <= u64::from(config));
            assert!((index - 72) * 8 >= nslot, "bitmap holds nslot bits");
            let last = g.slot_range(g.nslot() - 1).unwrap();
            assert!(last.end <= config as usize);
            assert_eq!(g.slot_at(last.start), Some(g.nslot() - 1));
        }
    }
}
