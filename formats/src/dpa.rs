//! DIMM physical address (DPA) space of a region's mappings: how much is
//! free, and the largest free extent, given the extents labels already hold.
//!
//! Each DIMM's allocations are the `[dpa, dpa + rawsize)` extents of its
//! active labels, whatever region they belong to. A region's mapping is a
//! window `[start, start + size)` of one DIMM. Space is handed out in units
//! of the region's alignment divided by its interleave ways, as in C's
//! `nd_pmem_available_dpa()` and `nd_pmem_max_contiguous_dpa()`.

/// A 4 KiB page: the smallest region alignment.
pub const PAGE_SIZE: u64 = 4096;
/// The alignment memremap_pages() may need on any architecture (C's
/// MEMREMAP_COMPAT_ALIGN_MAX), the default for regions at least this big.
pub const COMPAT_ALIGN_MAX: u64 = 16 << 20;

/// An allocated DPA extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// First byte.
    pub start: u64,
    /// Length in bytes (non-zero).
    pub len: u64,
}

impl Extent {
    /// Last byte, inclusive.
    pub const fn last(&self) -> u64 {
        self.start + self.len - 1
    }
}

/// The default `align` of a region of `size` bytes over `mappings` DIMMs
/// (`default_align()`): 16 MiB, or a page for small regions, scaled up by
/// the ways when they do not divide it.
pub const fn default_region_align(size: u64, mappings: u32) -> u64 {
    let mut align = if size < COMPAT_ALIGN_MAX { PAGE_SIZE } else { COMPAT_ALIGN_MAX };
    let ways = if mappings == 0 { 1 } else { mappings as u64 };
    if align % ways != 0 {
        align *= ways;
    }
    align
}

/// The per-DIMM allocation unit of a region (`dpa_align()`): its alignment
/// split across the ways, or `None` when the ways do not divide it.
pub const fn dpa_align(region_align: u64, mappings: u32) -> Option<u64> {
    if mappings == 0 {
        return Some(region_align);
    }
    let ways = mappings as u64;
    if region_align % ways != 0 || region_align / ways == 0 {
        return None;
    }
    Some(region_align / ways)
}

const fn align_down(v: u64, a: u64) -> u64 {
    v / a * a
}

const fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Free space in a mapping, rounded down to `align` (`nd_pmem_available_dpa`).
/// Every extent counts with its ends widened to `align`; an extent that
/// starts inside the mapping but runs past its end makes the mapping
/// unusable (0), as C treats it as misaligned to the interleave set.
pub fn available(map_start: u64, map_size: u64, extents: impl IntoIterator<Item = Extent>, align: u64) -> u64 {
    if map_size == 0 || align == 0 {
        return 0;
    }
    let map_end = map_start + map_size - 1;
    let mut busy = 0u64;
    for e in extents {
        let start = align_down(e.start, align);
        let end = align_up(e.start + e.len, align) - 1;
        if start >= map_start && start < map_end {
            if end > map_end {
                return 0;
            }
            busy += end - start + 1;
        } else if end >= map_start && end <= map_end {
            busy += end - start + 1;
        } else if map_start > start && map_start < end {
            // The extent eclipses the whole mapping.
            busy += map_size;
        }
    }
    if busy < map_size {
        align_down(map_size - busy, align)
    } else {
        0
    }
}

/// The largest free extent of a mapping once trimmed to `align`
/// (`nd_pmem_max_contiguous_dpa`): the gaps that `extents` leave inside the
/// mapping, each shrunk to `align` boundaries.
///
/// `extents` must be sorted by start and not overlap, as a DIMM's label
/// extents are once validated.
pub fn max_contiguous(map_start: u64, map_size: u64, extents: impl IntoIterator<Item = Extent>, align: u64) -> u64 {
    if map_size == 0 || align == 0 || available(map_start, map_size, core::iter::empty(), align) == 0 {
        return 0;
    }
    let map_end = map_start + map_size; // exclusive
    let mut best = 0u64;
    let mut consider = |gap_start: u64, gap_end: u64| {
        // [gap_start, gap_end), trimmed inward to `align`.
        let s = align_up(gap_start, align);
        let e = align_down(gap_end, align);
        if e > s {
            best = best.max(e - s);
        }
    };
    let mut cursor = map_start;
    for e in extents {
        let (s, end) = (e.start, e.start + e.len);
        if end <= cursor || s >= map_end {
            continue;
        }
        if s > cursor {
            consider(cursor, s.min(map_end));
        }
        cursor = cursor.max(end);
        if cursor >= map_end {
            break;
        }
    }
    if cursor < map_end {
        consider(cursor, map_end);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 1 << 20;

    #[test]
    fn default_align_follows_c() {
        assert_eq!(default_region_align(32 * M, 4), 16 * M);
        assert_eq!(default_region_align(4 * M, 0), PAGE_SIZE);
        assert_eq!(default_region_align(64 * M, 3), 48 * M);
        assert_eq!(default_region_align(1 << 30, 1), 16 * M);
    }

    #[test]
    fn dpa_align_splits_across_ways() {
        assert_eq!(dpa_align(16 * M, 4), Some(4 * M));
        assert_eq!(dpa_align(16 * M, 3), None);
        assert_eq!(dpa_align(PAGE_SIZE, 0), Some(PAGE_SIZE));
    }

    #[test]
    fn empty_mapping_is_all_free() {
        assert_eq!(available(0, 32 * M, [], 4 * M), 32 * M);
        assert_eq!(max_contiguous(0, 32 * M, [], 4 * M), 32 * M);
        // A size that is not a multiple of the unit rounds down.
        assert_eq!(available(0, 33 * M, [], 4 * M), 32 * M);
    }

    #[test]
    fn extents_inside_count_widened_to_align() {
        let e = [Extent { start: 8 * M, len: 1 }];
        assert_eq!(available(0, 32 * M, e, 4 * M), 28 * M);
        assert_eq!(max_contiguous(0, 32 * M, e, 4 * M), 20 * M);
    }

    #[test]
    fn extents_of_other_mappings_do_not_count() {
        let e = [Extent { start: 64 * M, len: 8 * M }];
        assert_eq!(available(0, 32 * M, e, 4 * M), 32 * M);
        assert_eq!(max_contiguous(0, 32 * M, e, 4 * M), 32 * M);
    }

    #[test]
    fn extent_running_past_the_mapping_makes_it_unusable() {
        let e = [Extent { start: 28 * M, len: 8 * M }];
        assert_eq!(available(0, 32 * M, e, 4 * M), 0);
    }

    #[test]
    fn eclipse_takes_everything() {
        let e = [Extent { start: 0, len: 64 * M }];
        assert_eq!(available(4 * M, 16 * M, e, 4 * M), 0);
        assert_eq!(max_contiguous(4 * M, 16 * M, e, 4 * M), 0);
    }

    #[test]
    fn largest_gap_wins() {
        let e = [Extent { start: 4 * M, len: 4 * M }, Extent { start: 12 * M, len: 4 * M }];
        // Gaps: [0,4M), [8M,12M), [16M,32M).
        assert_eq!(max_contiguous(0, 32 * M, e, 4 * M), 16 * M);
        assert_eq!(available(0, 32 * M, e, 4 * M), 24 * M);
    }
}
