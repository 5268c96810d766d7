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
