//! dax_pmem's arithmetic (C's drivers/dax/pmem.c, `__dax_pmem_probe`): the
//! dev_dax's region and id from the namespace's name, and the ranges of the
//! dax region, the dev_dax and its `dev_pagemap`.
//!
//! What user space sees (the dax region, the dev_dax's range, `daxctl
//! list`) is C's: from the namespace's start + `start_pad` + `dataoff` to
//! its end - `end_trunc`. Where the pages really are (`pgmap.range` and the
//! altmap) is the same range on real hardware, and moves by the backing
//! distance on an emulated platform that keeps its bytes elsewhere
//! (nfit_test: `super::pfn::relocate`). The two ranges end `shift` bytes
//! apart by construction, which is how device_dax turns a device offset
//! into a pfn (the issue 12 contract: `pgmap.range.end -
//! ranges[last].range.end`).

use super::pfn::{relocate, Altmap, Platform};

/// C's `sscanf(name, "namespace%d.%d", &region_id, &id) == 2`: the region
/// and namespace numbers of a namespace's name. As `%d`: leading white
/// space skipped, an optional sign, decimal digits (at least one), the
/// value wrapping as the kernel's `simple_strtol` does past `i32`;
/// anything after the second number is ignored.
pub fn namespace_ids(name: &[u8]) -> Option<(i32, i32)> {
    let rest = name.strip_prefix(b"namespace")?;
    let (region, rest) = scan_int(rest)?;
    let rest = rest.strip_prefix(b".")?;
    let (id, _) = scan_int(rest)?;
    Some((region, id))
}

/// One `%d`: white space, sign, digits; the value and what follows.
fn scan_int(s: &[u8]) -> Option<(i32, &[u8])> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = if neg { v.wrapping_neg() } else { v };
    Some((v as i32, &s[i..]))
}

/// The ranges dax_pmem hands the dax bus, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaxLayout {
    /// The dax region's and the dev_dax's range: the pfn range with its
    /// start moved to the data (`range.start += dataoff`).
    pub region_start: u64,
    /// See `region_start`: the pfn range's end.
    pub region_end: u64,
    /// The dev_dax's size (`range_len(&range)`).
    pub size: u64,
    /// The `dev_pagemap`'s range: where the pages are.
    pub pgmap_start: u64,
    /// See `pgmap_start`.
    pub pgmap_end: u64,
    /// The `dev_pagemap`'s altmap, moved with it (None: struct pages in
    /// RAM, a dax device in mode ram).
    pub altmap: Option<Altmap>,
}

impl DaxLayout {
    /// How far the pages are from the addresses user space sees:
    /// `pgmap_end - region_end` (wrapping), 0 on real hardware.
    pub fn shift(&self) -> u64 {
        self.pgmap_end.wrapping_sub(self.region_end)
    }
}

/// The layout for a pfn setup (`range_start..=range_end`, `dataoff`,
/// `altmap`) on a range whose bytes are `shift` bytes away (0 on real
/// hardware). Arithmetic wraps as C's does on `resource_size_t`; None only
/// when the shift breaks the subsection layout ([`relocate`]).
pub fn layout(
    range_start: u64,
    range_end: u64,
    dataoff: u64,
    altmap: Option<Altmap>,
    shift: u64,
    platform: &Platform,
) -> Option<DaxLayout> {
    let region_start = range_start.wrapping_add(dataoff);
    let (pgmap_start, pgmap_end, altmap) = relocate(range_start, range_end, altmap, shift, platform)?;
    Some(DaxLayout {
        region_start,
        region_end: range_end,
        size: range_end.wrapping_sub(region_start).wrapping_add(1),
        pgmap_start,
        pgmap_end,
        altmap,
    })
}
