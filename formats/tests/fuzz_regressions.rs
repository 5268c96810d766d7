//! Inputs the coverage-guided fuzzers (formats/fuzz, Documentation/testing.md)
//! found to crash or break an invariant, one test each, with the fix.

use nd_formats::badrange::cleared_sectors;

/// dsm_payloads: a clear whose firmware-reported `cleared` runs past the top
/// of the address space overflowed `phys + (cleared - 1)` (a panic under
/// CONFIG_RUST_OVERFLOW_CHECKS). It is now outside every region, as is a
/// region that would end past the top.
#[test]
fn cleared_sectors_past_the_top_of_the_address_space() {
    assert_eq!(cleared_sectors(0x1000, 0x1000, u64::MAX - 0x1ff, 0x400), None);
    assert_eq!(cleared_sectors(0x1000, 0x1000, 0x1000, u64::MAX), None);
    assert_eq!(cleared_sectors(u64::MAX - 0xfff, 0x2000, u64::MAX - 0xfff, 0x200), None);
    // Up to the last byte of the address space still counts.
    assert_eq!(cleared_sectors(u64::MAX - 0xfff, 0x1000, u64::MAX - 0x1ff, 0x200), Some((7, 1)));
}

/// dpa_resize: two DIMMs each holding a label extent of 17e18 bytes (labels
/// are read from the media, and C's DPA space is all of u64): the region's
/// total saturated at 2^64 - 1, so each DIMM's share came out too small and a
/// resize to 0 left 7.8e18 bytes allocated on each. Totals are now exact.
#[test]
fn resize_to_zero_frees_extents_whose_sum_passes_u64() {
    use nd_formats::dpa::{DimmDpa, RegionDpa, Resized, Window};
    const M: u64 = 1 << 20;
    let windows = [Window { start: 0, size: 52 * M }, Window { start: 51 * M, size: 0 }];
    let r = RegionDpa { start: 0, align: 16 * M, windows: &windows };
    let id = [1u8; 16];
    let mut dimms = [DimmDpa::<8>::new(), DimmDpa::<8>::new()];
    dimms[1].reserve_label(&id, 58 * M, 16_999_940_616_948_018_155).unwrap();
    dimms[0].reserve_label(&id, 51 * M, 16_999_940_616_948_018_155).unwrap();
    assert!(matches!(r.resize(&mut dimms[..], Some(&id), 0), Ok(Resized::To(_))));
    assert_eq!((dimms[0].allocated(&id), dimms[1].allocated(&id)), (0, 0));
}
