//! dax_pmem's arithmetic (`formats::dax_pmem`): the namespace name parser
//! and the layout handed to the dax bus.
//!
//! Checks:
//! - `namespace_ids` never panics on any name; what it accepts starts with
//!   "namespace", and a name it made from two numbers (`namespace%d.%d`,
//!   any i32s, with any tail) parses back to them;
//! - `layout` never panics for any range, data offset, altmap and shift;
//!   a layout it returns starts at the range start plus the data offset,
//!   ends where the range ends, is `size` bytes long, and its pages end
//!   `shift` bytes from its end (the issue 12 contract device_dax relies
//!   on); with shift 0 the pages are the range itself.
//!
//! Input: 41 control bytes ([0..8] range start, [8..16] range end,
//! [16..24] dataoff, [24..32] shift, [32] bit 0 an altmap from [33..41] as
//! its base pfn, bit 1 the shift rounded down to 2 MiB subsections), then
//! the name bytes for `namespace_ids`, also the round trip's tail (its two
//! numbers from [0..8]).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::dax_pmem::{layout, namespace_ids};
use nd_formats::pfn::{Altmap, Platform};
use nd_formats_fuzz::Ctl;

fuzz_target!(|data: &[u8]| {
    let (mut ctl, name) = Ctl::split(data, 41);
    let (start, end, dataoff, mut shift) = (ctl.u64(), ctl.u64(), ctl.u64(), ctl.u64());
    let flags = ctl.u8();
    let with_altmap = flags & 1 != 0;
    if flags & 2 != 0 {
        // Mostly whole subsections, as a real backing distance is.
        shift &= !((2u64 << 20) - 1);
    }
    let base = ctl.u64();

    if namespace_ids(name).is_some() {
        assert!(name.starts_with(b"namespace"));
    }
    // A name made by C's own format, with the input as its tail.
    let (r, i) = (start as i32, (start >> 32) as i32);
    let mut made = Vec::new();
    made.extend_from_slice(format!("namespace{}.{}", r, i).as_bytes());
    if !name.first().is_some_and(|b| b.is_ascii_digit()) {
        made.extend_from_slice(name);
    }
    assert_eq!(namespace_ids(&made), Some((r, i)), "{:?}", String::from_utf8_lossy(&made));

    let altmap = with_altmap.then(|| Altmap { base_pfn: base, reserve: base >> 7, free: base >> 3, end_pfn: base.wrapping_add(base >> 1) });
    if let Some(l) = layout(start, end, dataoff, altmap, shift, &Platform::X86_64) {
        assert_eq!(l.region_start, start.wrapping_add(dataoff));
        assert_eq!(l.region_end, end);
        assert_eq!(l.size, end.wrapping_sub(l.region_start).wrapping_add(1));
        assert_eq!(l.shift(), shift);
        assert_eq!(l.pgmap_end.wrapping_sub(l.pgmap_start), end.wrapping_sub(start));
        if shift == 0 {
            assert_eq!((l.pgmap_start, l.pgmap_end, l.altmap), (start, end, altmap));
        }
    }
});
