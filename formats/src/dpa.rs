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
    // C's ALIGN_DOWN(v, 0) is 0; a division by zero here would panic.
    match v.checked_div(a) {
        Some(q) => q * a,
        None => 0,
    }
}

/// C's `ALIGN()`, which wraps to 0 past the top of the address space.
const fn align_up_wrapping(v: u64, a: u64) -> u64 {
    if a == 0 {
        // C's ALIGN(v, 0).
        0
    } else if a.is_power_of_two() {
        v.wrapping_add(a - 1) & !(a - 1)
    } else {
        v.wrapping_add(a - 1) / a * a
    }
}

/// Free space in a mapping, rounded down to `align` (`nd_pmem_available_dpa`).
/// Every extent counts with its ends widened to `align`; an extent that
/// starts inside the mapping but runs past its end makes the mapping
/// unusable (0), as C treats it as misaligned to the interleave set.
pub fn available(map_start: u64, map_size: u64, extents: impl IntoIterator<Item = Extent>, align: u64) -> u64 {
    if map_size == 0 || align == 0 {
        return 0;
    }
    // C's unsigned arithmetic, wrapping where it wraps: label extents and
    // mappings near the top of the address space must not panic.
    let map_end = map_start.wrapping_add(map_size).wrapping_sub(1);
    let mut busy = 0u64;
    for e in extents {
        let start = align_down(e.start, align);
        let end = align_up_wrapping(e.start.wrapping_add(e.len), align).wrapping_sub(1);
        if start >= map_start && start < map_end {
            if end > map_end {
                return 0;
            }
            busy = busy.wrapping_add(end.wrapping_sub(start).wrapping_add(1));
        } else if end >= map_start && end <= map_end {
            busy = busy.wrapping_add(end.wrapping_sub(start).wrapping_add(1));
        } else if map_start > start && map_start < end {
            // The extent eclipses the whole mapping.
            busy = busy.wrapping_add(map_size);
        }
    }
    if busy < map_size {
        align_down(map_size - busy, align)
    } else {
        0
    }
}

/// The largest extent a new allocation could get in a mapping, trimmed to
/// `align` (`nd_pmem_max_contiguous_dpa`).
///
/// C answers by temporarily filling the mapping with "pmem-reserve"
/// allocations (`__reserve_free_pmem` → `scan_allocate`) of [`available`]
/// bytes in total, and measuring the largest. So this is 0 when the free
/// gaps, each trimmed to `align`, cannot hold all of [`available`] (as with a
/// mapping that does not start on an `align` boundary and has extents), and
/// a gap is only counted up to what is left of [`available`] when the scan
/// reaches it.
///
/// `extents` are all of the DIMM's allocations, sorted by start and not
/// overlapping, as a DIMM's label extents are once reserved.
pub fn max_contiguous<I>(map_start: u64, map_size: u64, extents: I, align: u64) -> u64
where
    I: IntoIterator<Item = Extent>,
    I::IntoIter: Clone,
{
    let extents = extents.into_iter();
    let n = available(map_start, map_size, extents.clone(), align);
    if n == 0 {
        return 0;
    }
    let win = Window { start: map_start, size: map_size };
    let mut left = n;
    let mut best = 0;
    for gap in Gaps::new(win, extents.clone()) {
        let Some((start, end)) = gap.trimmed(align) else { continue };
        let take = (end - start).min(left);
        best = best.max(take);
        left -= take;
        if left == 0 {
            return best;
        }
    }
    if left != n {
        // "pmem reserve underrun": C fails the reservation and reports 0.
        return 0;
    }
    // No gap qualified: init_dpa_allocation() tries `n` bytes at the
    // mapping's start, unaligned.
    let Some(end) = map_start.checked_add(n) else { return 0 };
    if extents.into_iter().any(|e| e.start < end && map_start < e.start.saturating_add(e.len)) {
        return 0;
    }
    match align_up_checked(map_start, align) {
        Some(s) if align_down(end, align) > s => align_down(end, align) - s,
        _ => 0,
    }
}

const fn align_up_checked(v: u64, a: u64) -> Option<u64> {
    match v.checked_rem(a) {
        // C's ALIGN(v, 0) is 0.
        None => Some(0),
        Some(0) => Some(v),
        Some(r) => v.checked_add(a - r),
    }
}

/// A region's mapping: the window `[start, start + size)` of one DIMM's DPA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First DPA byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
}

impl Window {
    const fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

/// Where a free gap lies relative to the allocation that `scan_allocate()`
/// found it from (C's `enum alloc_loc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    /// Between the window's start and its first allocation.
    Before,
    /// Between an allocation and the DIMM's next one (capped at the window end).
    Mid,
    /// After the DIMM's last allocation, up to the window end.
    After,
}

/// A free gap `[start, end)`, untrimmed, as `scan_allocate()` visits them.
#[derive(Clone, Copy, Debug)]
struct Gap {
    loc: Loc,
    /// Index of the allocation the gap was found from.
    res: usize,
    /// Index of the DIMM's next allocation, if any (may lie outside the window).
    next: Option<usize>,
    start: u64,
    end: u64,
}

impl Gap {
    /// The gap shrunk inward to `align` (`space_valid()`), or `None` when C
    /// finds it empty (`valid->start >= valid->end` on inclusive ends). A
    /// gap whose aligned-down end is 0 is refused too; C's inclusive end
    /// underflows there and would describe space outside the gap.
    fn trimmed(&self, align: u64) -> Option<(u64, u64)> {
        let s = align_up_checked(self.start, align)?;
        let e = align_down(self.end, align);
        if e == 0 || s >= e - 1 {
            return None;
        }
        Some((s, e))
    }
}

/// The free gaps of a window in the order `scan_allocate()` tries them:
/// for each allocation inside the window, the space before it if it is the
/// first, then the space up to the DIMM's next allocation or the window end.
struct Gaps<I: Iterator<Item = Extent>> {
    win: Window,
    iter: core::iter::Peekable<core::iter::Enumerate<I>>,
    first: bool,
    pending: Option<Gap>,
}

impl<I: Iterator<Item = Extent>> Gaps<I> {
    fn new(win: Window, extents: I) -> Self {
        Gaps { win, iter: extents.enumerate().peekable(), first: true, pending: None }
    }
}

impl<I: Iterator<Item = Extent>> Iterator for Gaps<I> {
    type Item = Gap;

    fn next(&mut self) -> Option<Gap> {
        if let Some(gap) = self.pending.take() {
            return Some(gap);
        }
        let win_end = self.win.end();
        loop {
            let (i, res) = self.iter.next()?;
            let res_end = res.start.saturating_add(res.len);
            if self.win.size == 0 || res.start >= win_end || res_end <= self.win.start {
                continue;
            }
            let next = self.iter.peek().map(|&(j, e)| (j, e.start));
            let tail = match next {
                Some((j, next_start)) => Gap { loc: Loc::Mid, res: i, next: Some(j), start: res_end, end: win_end.min(next_start) },
                None => Gap { loc: Loc::After, res: i, next: None, start: res_end, end: win_end },
            };
            if core::mem::take(&mut self.first) && res.start > self.win.start {
                self.pending = Some(tail);
                return Some(Gap { loc: Loc::Before, res: i, next: tail.next, start: self.win.start, end: res.start });
            }
            return Some(tail);
        }
    }
}

/// Why a DPA operation was refused; each is the errno C returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpaError {
    /// The size exceeds what the region can still allocate (ENOSPC).
    NoSpace,
    /// No uuid, no mappings, a disabled DIMM, or an allocation underrun
    /// (ENXIO).
    NoDevice,
    /// A size that is not a multiple of the region's alignment (EINVAL).
    Invalid,
    /// The range conflicts with an existing allocation (EBUSY).
    Busy,
    /// The DIMM's allocation table is full (ENOMEM, as C's failed kmemdup).
    NoMemory,
}

impl DpaError {
    /// The errno C returns (positive).
    pub const fn errno(self) -> i32 {
        match self {
            DpaError::NoSpace => 28,  // ENOSPC
            DpaError::NoDevice => 6,  // ENXIO
            DpaError::Invalid => 22,  // EINVAL
            DpaError::Busy => 16,     // EBUSY
            DpaError::NoMemory => 12, // ENOMEM
        }
    }
}

/// A namespace's claim on DPA: its uuid, which C renders as the resource
/// name "pmem-<uuid>" (`nd_label_gen_id`; every label id is "pmem-" in 6.12).
pub type NsId = [u8; 16];

/// One allocated extent of a DIMM and the namespace that owns it (a child of
/// C's `ndd->dpa` resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Owner.
    pub id: NsId,
    /// First byte.
    pub start: u64,
    /// Bytes, non-zero.
    pub len: u64,
}

impl Allocation {
    const EMPTY: Allocation = Allocation { id: [0; 16], start: 0, len: 0 };

    /// The extent.
    pub const fn extent(&self) -> Extent {
        Extent { start: self.start, len: self.len }
    }

    const fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// One DIMM's DPA allocations (C's `ndd->dpa` resource tree), at most `N`,
/// kept sorted by start and never overlapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimmDpa<const N: usize> {
    allocs: [Allocation; N],
    len: usize,
}

impl<const N: usize> Default for DimmDpa<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// One DIMM's part of a grow, decided before anything changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GrowPlan {
    Nothing,
    Insert { start: u64, len: u64 },
    Adjust { index: usize, start: u64, len: u64 },
}

impl<const N: usize> DimmDpa<N> {
    /// No allocations.
    pub const fn new() -> Self {
        DimmDpa { allocs: [Allocation::EMPTY; N], len: 0 }
    }

    /// The allocations, by start.
    pub fn allocations(&self) -> &[Allocation] {
        &self.allocs[..self.len]
    }

    /// The allocated extents, by start.
    pub fn extents(&self) -> impl Iterator<Item = Extent> + Clone + '_ {
        self.allocations().iter().map(Allocation::extent)
    }

    /// The extents `id` owns, by start.
    pub fn extents_of<'a>(&'a self, id: &'a NsId) -> impl Iterator<Item = Extent> + 'a {
        self.allocations().iter().filter(move |a| a.id == *id).map(Allocation::extent)
    }

    /// Bytes `id` owns (`nvdimm_allocated_dpa`).
    pub fn allocated(&self, id: &NsId) -> u64 {
        self.extents_of(id).map(|e| e.len).sum()
    }

    /// Claims `[start, start + len)` for `id` (`nvdimm_allocate_dpa`, i.e.
    /// `__request_region` on the DIMM's DPA): EBUSY if empty, past the end of
    /// the address space, or overlapping an allocation; ENOMEM when full.
    pub fn request(&mut self, id: &NsId, start: u64, len: u64) -> Result<(), DpaError> {
        let at = self.insertion_point(start, len)?;
        self.allocs.copy_within(at..self.len, at + 1);
        self.allocs[at] = Allocation { id: *id, start, len };
        self.len += 1;
        Ok(())
    }

    /// Where `[start, start + len)` would go, if it may.
    fn insertion_point(&self, start: u64, len: u64) -> Result<usize, DpaError> {
        let end = start.checked_add(len).ok_or(DpaError::Busy)?;
        if len == 0 {
            return Err(DpaError::Busy);
        }
        let at = self.allocations().partition_point(|a| a.start < start);
        let clear_before = at == 0 || self.allocs[at - 1].end() <= start;
        let clear_after = at == self.len || self.allocs[at].start >= end;
        if !(clear_before && clear_after) {
            return Err(DpaError::Busy);
        }
        if self.len == N {
            return Err(DpaError::NoMemory);
        }
        Ok(at)
    }

    /// Reserves a label's extent at probe (`nd_label_reserve_dpa`): any
    /// failure is EBUSY.
    pub fn reserve_label(&mut self, id: &NsId, dpa: u64, rawsize: u64) -> Result<(), DpaError> {
        self.request(id, dpa, rawsize).map_err(|_| DpaError::Busy)
    }

    /// Frees everything `id` owns.
    pub fn release(&mut self, id: &NsId) {
        let mut kept = 0;
        for i in 0..self.len {
            if self.allocs[i].id != *id {
                self.allocs[kept] = self.allocs[i];
                kept += 1;
            }
        }
        self.len = kept;
    }

    /// Gives `old`'s extents to `new` (the DPA part of
    /// `namespace_update_uuid`).
    pub fn rename(&mut self, old: &NsId, new: &NsId) {
        for a in &mut self.allocs[..self.len] {
            if a.id == *old {
                a.id = *new;
            }
        }
    }

    /// Free space of a window (`nd_pmem_available_dpa`), see [`available`].
    pub fn available(&self, win: Window, align: u64) -> u64 {
        available(win.start, win.size, self.extents(), align)
    }

    /// Largest allocatable extent of a window (`nd_pmem_max_contiguous_dpa`),
    /// see [`max_contiguous`].
    pub fn max_contiguous(&self, win: Window, align: u64) -> u64 {
        max_contiguous(win.start, win.size, self.extents(), align)
    }

    fn remove(&mut self, i: usize) {
        self.allocs.copy_within(i + 1..self.len, i);
        self.len -= 1;
    }

    /// `adjust_resource()`: moves allocation `i` to `[start, start + len)`,
    /// which must not run into its neighbours.
    fn adjust(&mut self, i: usize, start: u64, len: u64) -> Result<(), DpaError> {
        self.check_adjust(i, start, len)?;
        self.allocs[i].start = start;
        self.allocs[i].len = len;
        Ok(())
    }

    fn check_adjust(&self, i: usize, start: u64, len: u64) -> Result<(), DpaError> {
        let end = start.checked_add(len).ok_or(DpaError::Busy)?;
        let clear_before = i == 0 || self.allocs[i - 1].end() <= start;
        let clear_after = i + 1 == self.len || self.allocs[i + 1].start >= end;
        if len == 0 || !clear_before || !clear_after {
            return Err(DpaError::Busy);
        }
        Ok(())
    }

    /// How `id` grows by `n` bytes inside `win` (`scan_allocate` for a
    /// "pmem-" id, then `merge_dpa`, which leaves "pmem-" ids alone). A gap
    /// qualifies only if, trimmed to `align`, it holds all `n` bytes and,
    /// when `id` already owns space on the DIMM, touches the last extent of
    /// it (`space_valid`). The first qualifying gap in address order is
    /// used: extending the extent just above it down, the one just below it
    /// up, or starting a new extent at the gap's trimmed start. When none
    /// qualifies C falls back to `n` bytes at the window's start, unaligned
    /// and not necessarily adjacent (`init_dpa_allocation`). Any failure is
    /// the ENXIO of `grow_dpa_allocation`'s "allocation underrun".
    fn plan_grow(&self, win: Window, align: u64, id: &NsId, n: u64) -> Result<GrowPlan, DpaError> {
        if n == 0 {
            // C: nothing qualifies or a 0-byte request fails, and 0 bytes
            // are "left": success without a change.
            return Ok(GrowPlan::Nothing);
        }
        let exist = self.allocations().iter().rev().find(|a| a.id == *id).map(Allocation::extent);
        let chosen = Gaps::new(win, self.extents()).find_map(|gap| {
            let (s, e) = gap.trimmed(align)?;
            let adjacent = match exist {
                None => true,
                Some(x) => s == x.start + x.len || e == x.start,
            };
            (e - s >= n && adjacent).then_some((gap, s))
        });
        let owned = |i: usize| Some(i).filter(|&i| self.allocs[i].id == *id);
        let plan = match chosen {
            None => GrowPlan::Insert { start: win.start, len: n },
            Some((gap, s)) => match (gap.loc, gap.next.and_then(owned), owned(gap.res)) {
                // "cur grow up" / "next grow up": the extent above moves down.
                (Loc::Before, _, Some(i)) | (Loc::Mid, Some(i), _) => {
                    let a = self.allocs[i];
                    let start = a.start.checked_sub(n).ok_or(DpaError::NoDevice)?;
                    GrowPlan::Adjust { index: i, start, len: a.len + n }
                }
                // "grow down": the extent below extends from its end.
                (Loc::Mid | Loc::After, _, Some(i)) => GrowPlan::Adjust { index: i, start: self.allocs[i].start, len: self.allocs[i].len + n },
                _ => GrowPlan::Insert { start: s, len: n },
            },
        };
        // Check it as request_region()/adjust_resource() would.
        let fits = match plan {
            GrowPlan::Nothing => Ok(()),
            GrowPlan::Insert { start, len } => self.insertion_point(start, len).map(|_| ()),
            GrowPlan::Adjust { index, start, len } => self.check_adjust(index, start, len),
        };
        fits.map(|()| plan).map_err(|_| DpaError::NoDevice)
    }

    fn apply(&mut self, id: &NsId, plan: GrowPlan) -> Result<(), DpaError> {
        match plan {
            GrowPlan::Nothing => Ok(()),
            GrowPlan::Insert { start, len } => self.request(id, start, len),
            GrowPlan::Adjust { index, start, len } => self.adjust(index, start, len),
        }
    }

    /// Frees `n` bytes of `id` from its highest extent down (`scan_free`):
    /// whole extents go, the last one left is cut at its end.
    fn shrink(&mut self, id: &NsId, mut n: u64) {
        while n > 0 {
            let Some(i) = self.allocations().iter().rposition(|a| a.id == *id) else { return };
            if n >= self.allocs[i].len {
                n -= self.allocs[i].len;
                self.remove(i);
            } else {
                self.allocs[i].len -= n;
                return;
            }
        }
    }
}

/// Access to the DIMM behind each of a region's mappings; `None` is a
/// disabled DIMM (C's `to_ndd()` returning NULL).
pub trait RegionDimms<const N: usize> {
    /// The DIMM of mapping `i`.
    fn dimm(&self, i: usize) -> Option<&DimmDpa<N>>;
    /// The DIMM of mapping `i`, to change.
    fn dimm_mut(&mut self, i: usize) -> Option<&mut DimmDpa<N>>;
}

impl<const N: usize> RegionDimms<N> for [DimmDpa<N>] {
    fn dimm(&self, i: usize) -> Option<&DimmDpa<N>> {
        self.get(i)
    }
    fn dimm_mut(&mut self, i: usize) -> Option<&mut DimmDpa<N>> {
        self.get_mut(i)
    }
}

impl<const N: usize> RegionDimms<N> for [Option<DimmDpa<N>>] {
    fn dimm(&self, i: usize) -> Option<&DimmDpa<N>> {
        self.get(i)?.as_ref()
    }
    fn dimm_mut(&mut self, i: usize) -> Option<&mut DimmDpa<N>> {
        self.get_mut(i)?.as_mut()
    }
}

impl<const N: usize> RegionDimms<N> for [&mut DimmDpa<N>] {
    fn dimm(&self, i: usize) -> Option<&DimmDpa<N>> {
        self.get(i).map(|d| &**d)
    }
    fn dimm_mut(&mut self, i: usize) -> Option<&mut DimmDpa<N>> {
        self.get_mut(i).map(|d| &mut **d)
    }
}

/// A pmem namespace's physical range in the region (`nsio.res`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsResource {
    /// First byte (system physical address).
    pub start: u64,
    /// Bytes; 0 for a namespace without space.
    pub size: u64,
}

/// The outcome of a successful size write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resized {
    /// The size already was the requested one; C changes nothing, not even
    /// the namespace's resource.
    Unchanged,
    /// The namespace now spans this range.
    To(NsResource),
}

/// The DPA view of an interleaved pmem region: where it starts in system
/// physical address space, its `align`, and its mappings (in position
/// order; mapping `i` is on DIMM `i` of a [`RegionDimms`]).
#[derive(Clone, Copy, Debug)]
pub struct RegionDpa<'a> {
    /// `ndr_start`.
    pub start: u64,
    /// The region's `align` attribute.
    pub align: u64,
    /// `nd_region->mapping[]`.
    pub windows: &'a [Window],
}

impl RegionDpa<'_> {
    fn ways(&self) -> u64 {
        self.windows.len() as u64
    }

    /// The per-DIMM unit (C's `dpa_align()`: 0 when the ways do not divide
    /// the region's alignment).
    fn unit(&self) -> u64 {
        if self.windows.is_empty() {
            return 0;
        }
        dpa_align(self.align, self.windows.len() as u32).unwrap_or(0)
    }

    /// `available_size` (`nd_region_available_dpa`): free space summed over
    /// the mappings, 0 if any DIMM is disabled.
    pub fn available<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &D) -> u64 {
        let unit = self.unit();
        let mut sum = 0u64;
        for (i, win) in self.windows.iter().enumerate() {
            let Some(d) = dimms.dimm(i) else { return 0 };
            sum = sum.saturating_add(d.available(*win, unit));
        }
        sum
    }

    /// `max_available_extent` (`nd_region_allocatable_dpa`): the smallest
    /// non-zero per-mapping [`max_contiguous`] times the ways. A mapping
    /// with nothing free (or a disabled DIMM) is skipped by C's
    /// `min_not_zero`, so this can promise space one DIMM does not have;
    /// growing then fails with ENXIO as in C.
    pub fn allocatable<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &D) -> u64 {
        let unit = self.unit();
        let mut min = 0u64;
        for (i, win) in self.windows.iter().enumerate() {
            let max = dimms.dimm(i).map_or(0, |d| d.max_contiguous(*win, unit));
            if max != 0 && (min == 0 || max < min) {
                min = max;
            }
        }
        min.saturating_mul(self.ways())
    }

    /// `dpa_extents`: how many extents `id` has over the region's DIMMs.
    pub fn dpa_extents<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &D, id: &NsId) -> usize {
        (0..self.windows.len()).filter_map(|i| dimms.dimm(i)).map(|d| d.extents_of(id).count()).sum()
    }

    /// Bytes `id` holds over the region's DIMMs; ENXIO if one is disabled.
    pub fn allocated<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &D, id: &NsId) -> Result<u64, DpaError> {
        let mut sum = 0u64;
        for i in 0..self.windows.len() {
            sum = sum.saturating_add(dimms.dimm(i).ok_or(DpaError::NoDevice)?.allocated(id));
        }
        Ok(sum)
    }

    /// Sets the size of the pmem namespace `id` to `val` bytes, the DPA part
    /// of `__size_store`. In C's order: no uuid or no mappings is ENXIO, a
    /// size off the region's `align` EINVAL, a disabled DIMM ENXIO, more
    /// than `allocatable + allocated` ENOSPC, the current size changes
    /// nothing. Otherwise each DIMM gets `val / ways`: shrinking frees from
    /// the top (`shrink_dpa_allocation`), growing allocates per
    /// [`DimmDpa::grow`] (`grow_dpa_allocation`). Size 0 frees everything.
    ///
    /// Unlike C, a grow that fails on one DIMM (ENXIO) changes no DIMM: C
    /// leaves the DIMMs before it grown, unequal and unlabelled.
    ///
    /// The caller checks first what only it knows: a bound driver or a
    /// claim is EBUSY.
    pub fn resize<const N: usize, D: RegionDimms<N> + ?Sized>(
        &self,
        dimms: &mut D,
        id: Option<&NsId>,
        val: u64,
    ) -> Result<Resized, DpaError> {
        let Some(id) = id else { return Err(DpaError::NoDevice) };
        if self.windows.is_empty() {
            return Err(DpaError::NoDevice);
        }
        if self.align == 0 || val % self.align != 0 {
            return Err(DpaError::Invalid);
        }
        // Labels read at probe may claim extents whose sum over the DIMMs
        // passes 2^64 (C's sum wraps). Each DIMM's share must stay exact, or
        // a resize to 0 leaves space allocated: it is summed share by share
        // (no u128, whose division the kernel does not link).
        let ways = self.ways();
        let (mut total, mut share, mut rest) = (Some(0u64), 0u64, 0u64);
        for i in 0..self.windows.len() {
            let a = dimms.dimm(i).ok_or(DpaError::NoDevice)?.allocated(id);
            total = total.and_then(|t| t.checked_add(a));
            share += a / ways;
            rest += a % ways;
        }
        let share = share + rest / ways;
        let available = self.allocatable(dimms);
        if let Some(allocated) = total {
            if val > available.saturating_add(allocated) {
                return Err(DpaError::NoSpace);
            }
            if val == allocated {
                return Ok(Resized::Unchanged);
            }
        }
        let (val, allocated) = (val / ways, share);
        let unit = self.unit();
        if val < allocated {
            for i in 0..self.windows.len() {
                dimms.dimm_mut(i).ok_or(DpaError::NoDevice)?.shrink(id, allocated - val);
            }
        } else {
            // Every DIMM's grow is decided before any is made, so a failure
            // changes nothing; C's loop would leave the DIMMs before the
            // failing one grown, unequal and unlabelled.
            let n = val - allocated;
            for (i, win) in self.windows.iter().enumerate() {
                dimms.dimm(i).ok_or(DpaError::NoDevice)?.plan_grow(*win, unit, id, n)?;
            }
            for (i, win) in self.windows.iter().enumerate() {
                let d = dimms.dimm_mut(i).ok_or(DpaError::NoDevice)?;
                let plan = d.plan_grow(*win, unit, id, n)?;
                d.apply(id, plan)?;
            }
        }
        Ok(Resized::To(self.namespace_resource(dimms, id, val * self.ways())))
    }

    /// Where namespace `id` of `size` bytes lies in the region
    /// (`nd_namespace_pmem_set_resource`): the offset of its first extent on
    /// the first mapping's DIMM, times the ways. Without that extent (or
    /// DIMM) C warns and reports size 0 at the region's start.
    pub fn namespace_resource<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &D, id: &NsId, size: u64) -> NsResource {
        let first = match (self.windows.first(), dimms.dimm(0)) {
            (Some(win), Some(d)) if size != 0 => d.extents_of(id).next().map(|e| (e.start, win.start)),
            _ => None,
        };
        match first {
            Some((dpa, win_start)) => NsResource {
                start: self.start.wrapping_add(dpa.wrapping_sub(win_start).wrapping_mul(self.ways())),
                size,
            },
            None => NsResource { start: self.start, size: 0 },
        }
    }

    /// Moves the extents of `old` to `new` on every mapping's DIMM (the DPA
    /// part of `namespace_update_uuid`).
    pub fn rename<const N: usize, D: RegionDimms<N> + ?Sized>(&self, dimms: &mut D, old: &NsId, new: &NsId) {
        for i in 0..self.windows.len() {
            if let Some(d) = dimms.dimm_mut(i) {
                d.rename(old, new);
            }
        }
    }
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
    fn an_alignment_the_ways_do_not_divide_does_not_trap() {
        // 3 ways and a 16 MiB region alignment: C's dpa_align() is 0, so
        // nothing is available (ENOSPC), and its ALIGN(x, 0) is 0. Here the
        // same must hold without a division by zero.
        let windows = [Window { start: 0, size: 64 * M }; 3];
        let region = RegionDpa { start: 1 << 32, align: 16 * M, windows: &windows };
        let mut dimms = [DimmDpa::<8>::new(); 3];
        assert_eq!(region.resize(&mut dimms[..], Some(&[1; 16]), 48 * M), Err(DpaError::NoSpace));
        assert_eq!(region.available(&dimms[..]), 0);
        assert_eq!(max_contiguous(0, 64 * M, [Extent { start: 0, len: M }], 0), 0);
        assert_eq!(align_down(5, 0), 0);
        assert_eq!(align_up_checked(5, 0), Some(0));
        assert_eq!(align_up_wrapping(5, 0), 0);
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

    // The model. Numbers follow namespace_devs.c: scan_allocate() visits
    // the gaps in address order and takes the first one space_valid()
    // accepts; __size_store() splits a size evenly over the ways.

    const A: NsId = [0xa; 16];
    const B: NsId = [0xb; 16];
    const X: NsId = [0xc; 16];
    type Dimm = DimmDpa<16>;

    fn one(win: &[Window]) -> RegionDpa<'_> {
        RegionDpa { start: 0x1_0000_0000, align: 16 * M, windows: win }
    }

    fn exts(d: &Dimm, id: &NsId) -> Vec<(u64, u64)> {
        d.extents_of(id).map(|e| (e.start / M, e.len / M)).collect()
    }

    extern crate std;
    use std::vec::Vec;

    #[test]
    fn first_allocation_starts_at_the_window() {
        // No allocation in the window: init_dpa_allocation() at its start.
        let win = [Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new()];
        let r = one(&win);
        assert_eq!(r.resize(&mut d[..], Some(&A), 16 * M), Ok(Resized::To(NsResource { start: r.start, size: 16 * M })));
        assert_eq!(exts(&d[0], &A), [(0, 16)]);
        assert_eq!(r.available(&d[..]), 48 * M);
        assert_eq!(r.allocatable(&d[..]), 48 * M);
        assert_eq!(r.dpa_extents(&d[..], &A), 1);
    }

    #[test]
    fn interleave_splits_the_size_over_the_ways() {
        // 2 ways, align 16M: 8M per DIMM per unit; 32M is 16M on each.
        let win = [Window { start: 0, size: 64 * M }, Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new(), Dimm::new()];
        let r = one(&win);
        r.resize(&mut d[..], Some(&A), 32 * M).unwrap();
        r.resize(&mut d[..], Some(&B), 32 * M).unwrap();
        // B's first extent is at DPA 16M: SPA offset 16M * 2 ways.
        assert_eq!(r.namespace_resource(&d[..], &B, 32 * M), NsResource { start: r.start + 32 * M, size: 32 * M });
        for dimm in &d {
            assert_eq!(exts(dimm, &A), [(0, 16)]);
            assert_eq!(exts(dimm, &B), [(16, 16)]);
        }
        assert_eq!(r.available(&d[..]), 64 * M);
        // 8M is not a multiple of the region's 16M align.
        assert_eq!(r.resize(&mut d[..], Some(&A), 8 * M), Err(DpaError::Invalid));
    }

    #[test]
    fn growth_extends_the_last_extent_down() {
        let win = [Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new()];
        let r = one(&win);
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        r.resize(&mut d[..], Some(&A), 48 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(0, 48)]);
    }

    #[test]
    fn growth_extends_an_extent_up_into_the_gap_below_it() {
        // "cur grow up": A sits above free space at the window start.
        let win = [Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new()];
        d[0].reserve_label(&A, 32 * M, 16 * M).unwrap();
        d[0].reserve_label(&X, 48 * M, 16 * M).unwrap();
        one(&win).resize(&mut d[..], Some(&A), 32 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(16, 32)]);
        // "next grow up": the gap between X' and A.
        let mut d = [Dimm::new()];
        d[0].reserve_label(&X, 0, 16 * M).unwrap();
        d[0].reserve_label(&A, 32 * M, 16 * M).unwrap();
        one(&win).resize(&mut d[..], Some(&A), 32 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(16, 32)]);
    }

    #[test]
    fn fragmented_growth_fails_with_enxio_and_changes_nothing() {
        // A [0,16M) B [16M,32M), free [32M,64M): the free gap is big enough
        // (max_available_extent 32M) but does not touch A, and A's window
        // start is taken, so C's grow underruns: ENXIO.
        let win = [Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new()];
        let r = one(&win);
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        r.resize(&mut d[..], Some(&B), 16 * M).unwrap();
        assert_eq!(r.allocatable(&d[..]), 32 * M);
        let before = d;
        assert_eq!(r.resize(&mut d[..], Some(&A), 32 * M), Err(DpaError::NoDevice));
        assert_eq!(d, before);
        // B, which the free space touches, can grow.
        r.resize(&mut d[..], Some(&B), 48 * M).unwrap();
        assert_eq!(exts(&d[0], &B), [(16, 48)]);
    }

    #[test]
    fn failed_grow_on_one_dimm_leaves_the_others_alone() {
        // DIMM 1's free space does not touch A; DIMM 0's does.
        let win = [Window { start: 0, size: 64 * M }, Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new(), Dimm::new()];
        d[0].reserve_label(&A, 0, 8 * M).unwrap();
        d[1].reserve_label(&A, 0, 8 * M).unwrap();
        d[1].reserve_label(&X, 8 * M, 8 * M).unwrap();
        let before = d;
        assert_eq!(one(&win).resize(&mut d[..], Some(&A), 32 * M), Err(DpaError::NoDevice));
        assert_eq!(d, before);
    }

    #[test]
    fn init_fallback_can_split_a_namespace() {
        // Free [0,16M), X [16M,32M), A [32M,48M), Y [48M,64M): no gap
        // touches A, but init_dpa_allocation() finds the window start free.
        let win = [Window { start: 0, size: 64 * M }];
        let mut d = [Dimm::new()];
        d[0].reserve_label(&X, 16 * M, 16 * M).unwrap();
        d[0].reserve_label(&A, 32 * M, 16 * M).unwrap();
        d[0].reserve_label(&B, 48 * M, 16 * M).unwrap();
        let r = one(&win);
        assert_eq!(r.resize(&mut d[..], Some(&A), 32 * M), Ok(Resized::To(NsResource { start: r.start, size: 32 * M })));
        assert_eq!(exts(&d[0], &A), [(0, 16), (32, 16)]);
        assert_eq!(r.dpa_extents(&d[..], &A), 2);
        // Shrinking frees from the top extent (scan_free).
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(0, 16)]);
    }

    #[test]
    fn shrink_cuts_the_highest_extent_then_removes_whole_ones() {
        let win = [Window { start: 0, size: 128 * M }];
        let mut d = [Dimm::new()];
        d[0].reserve_label(&A, 0, 32 * M).unwrap();
        d[0].reserve_label(&A, 64 * M, 32 * M).unwrap();
        let r = one(&win);
        r.resize(&mut d[..], Some(&A), 48 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(0, 32), (64, 16)]);
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(0, 16)]);
        assert_eq!(r.resize(&mut d[..], Some(&A), 0), Ok(Resized::To(NsResource { start: r.start, size: 0 })));
        assert!(d[0].allocations().is_empty());
    }

    #[test]
    fn first_qualifying_gap_wins_not_the_largest() {
        // Gaps [0,16M) and [32M,128M): a new 16M namespace takes the first.
        let win = [Window { start: 0, size: 128 * M }];
        let mut d = [Dimm::new()];
        d[0].reserve_label(&X, 16 * M, 16 * M).unwrap();
        let r = one(&win);
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(0, 16)]);
        // 32M does not fit [0,16M) (all or nothing), so [32M,64M).
        let mut d = [Dimm::new()];
        d[0].reserve_label(&X, 16 * M, 16 * M).unwrap();
        r.resize(&mut d[..], Some(&A), 32 * M).unwrap();
        assert_eq!(exts(&d[0], &A), [(32, 32)]);
    }

    #[test]
    fn size_store_errors_in_c_order() {
        let win = [Window { start: 0, size: 64 * M }];
        let r = one(&win);
        let mut d = [Dimm::new()];
        assert_eq!(r.resize(&mut d[..], None, 16 * M), Err(DpaError::NoDevice));
        assert_eq!(RegionDpa { windows: &[], ..r }.resize(&mut d[..], Some(&A), 16 * M), Err(DpaError::NoDevice));
        assert_eq!(r.resize(&mut d[..], Some(&A), 4 * M), Err(DpaError::Invalid));
        assert_eq!(r.resize(&mut d[..], Some(&A), 80 * M), Err(DpaError::NoSpace));
        assert_eq!(r.resize(&mut d[..], Some(&A), 0), Ok(Resized::Unchanged));
        let mut off: [Option<Dimm>; 1] = [None];
        assert_eq!(r.resize(&mut off[..], Some(&A), 16 * M), Err(DpaError::NoDevice));
        assert_eq!(r.available(&off[..]), 0);
        r.resize(&mut d[..], Some(&A), 16 * M).unwrap();
        assert_eq!(r.resize(&mut d[..], Some(&A), 16 * M), Ok(Resized::Unchanged));
        assert_eq!(DpaError::NoSpace.errno(), 28);
        assert_eq!(DpaError::NoDevice.errno(), 6);
    }

    #[test]
    fn allocatable_skips_full_dimms_as_min_not_zero_does() {
        // DIMM 1 is full: max_available_extent still reports DIMM 0's 32M
        // times 2, and growing underruns on DIMM 1.
        let win = [Window { start: 0, size: 32 * M }, Window { start: 0, size: 32 * M }];
        let mut d = [Dimm::new(), Dimm::new()];
        d[1].reserve_label(&X, 0, 32 * M).unwrap();
        let r = one(&win);
        assert_eq!(r.allocatable(&d[..]), 64 * M);
        assert_eq!(r.available(&d[..]), 32 * M);
        assert_eq!(r.resize(&mut d[..], Some(&A), 16 * M), Err(DpaError::NoDevice));
    }

    #[test]
    fn unaligned_window_with_extents_underruns_the_reserve() {
        // Window [1M,33M), unit 4M, X at [8M,12M): available 28M, but the
        // trimmed gaps [4M,8M) and [12M,32M) hold only 24M, so C's reserve
        // underruns and max_contiguous is 0.
        let e = [Extent { start: 8 * M, len: 4 * M }];
        assert_eq!(available(M, 32 * M, e, 4 * M), 28 * M);
        assert_eq!(max_contiguous(M, 32 * M, e, 4 * M), 0);
        // Without extents the init path reserves [1M,33M): 28M aligned.
        assert_eq!(max_contiguous(M, 32 * M, [], 4 * M), 28 * M);
    }

    #[test]
    fn reserve_counts_a_gap_only_up_to_what_is_left() {
        // Two extents in one 4M unit: available counts the unit twice (24M)
        // while the trimmed gap is 28M; the reserve stops at 24M.
        let e = [Extent { start: 0, len: M }, Extent { start: 2 * M, len: M }];
        assert_eq!(available(0, 32 * M, e, 4 * M), 24 * M);
        assert_eq!(max_contiguous(0, 32 * M, e, 4 * M), 24 * M);
    }

    #[test]
    fn extents_at_the_top_of_the_address_space_do_not_overflow() {
        // Found by the fuzzer (fuzz/, target dpa): `available` added and
        // aligned without wrapping. C wraps: ALIGN(res->end + 1) is 0 here,
        // so the extent's end is u64::MAX and it eclipses nothing below.
        let e = [Extent { start: u64::MAX - M + 1, len: M }];
        assert_eq!(available(0, 32 * M, e, 4 * M), 32 * M);
        assert_eq!(max_contiguous(0, 32 * M, e, 4 * M), 32 * M);
        let top = u64::MAX - 8 * M + 1;
        assert_eq!(available(top, 8 * M, [], 4 * M), 8 * M);
        // A mapping that wraps: C's map_end is below its start, nothing
        // counts as busy.
        assert_eq!(available(top, 16 * M, e, 4 * M), 16 * M);
        let _ = max_contiguous(top, 16 * M, e, 4 * M);
    }

    #[test]
    fn request_refuses_overlap_empty_and_overflow() {
        let mut d = DimmDpa::<2>::new();
        d.request(&A, 16 * M, 16 * M).unwrap();
        assert_eq!(d.request(&B, 31 * M, M), Err(DpaError::Busy));
        assert_eq!(d.request(&B, 0, 17 * M), Err(DpaError::Busy));
        assert_eq!(d.request(&B, 0, 0), Err(DpaError::Busy));
        assert_eq!(d.request(&B, u64::MAX, 2), Err(DpaError::Busy));
        d.request(&B, 0, 16 * M).unwrap();
        assert_eq!(d.request(&X, 64 * M, M), Err(DpaError::NoMemory));
        assert_eq!(d.allocations()[0].id, B);
        d.rename(&B, &X);
        assert_eq!(d.allocated(&X), 16 * M);
        d.release(&X);
        assert_eq!(d.allocations().len(), 1);
    }
}
