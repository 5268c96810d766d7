//! A whole label area: `LabelArea::parse` and what a parsed area offers,
//! `LabelAreaMut::open`, a commit without changes and one staged label
//! write (checks in `nd_formats_fuzz::check_area`).
//!
//! Input: 3 control bytes (bit 0 of the first: reseal the checksums; the
//! second picks the label to copy; the third sizes the area, see
//! `area_from`), then the area or its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats_fuzz::{area_from, check_area, reseal, Ctl};

fuzz_target!(|data: &[u8]| {
    let (mut ctl, prefix) = Ctl::split(data, 3);
    let (flags, pick, code) = (ctl.u8(), ctl.u8(), ctl.u8());
    let mut bytes = area_from(code, prefix);
    if flags & 1 != 0 {
        reseal(&mut bytes);
    }
    check_area(&bytes, pick);
});
