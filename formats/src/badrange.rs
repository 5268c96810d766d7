//! Bad ranges: poisoned physical address ranges a bus learns from address
//! range scrubs (drivers/nvdimm/badrange.c), and the arithmetic that turns
//! them into 512-byte bad sectors of a region or namespace, trims them when
//! poison is cleared, and decodes the ARS payloads that report them.

/// Bad blocks are counted in 512-byte sectors whatever the device's block size.
pub const SECTOR_SIZE: u64 = 512;

/// A poisoned physical range (`struct badrange_entry`). Lengths are never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadRange {
    /// System physical address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

impl BadRange {
    /// The last byte (inclusive), saturating at the top of the address space.
    pub fn last(&self) -> u64 {
        self.start.saturating_add(self.len.saturating_sub(1))
    }
}

/// What adding a range reported by a scrub does to a list (`add_badrange`):
/// a range already listed at the same start only has its length updated;
/// anything else is appended as is (overlaps resolve when sectors are set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Add {
    /// Entry `index` starts there already; its length becomes the new one.
    Update(usize),
    /// Append a new entry.
    Append,
}

/// Decides how `new` joins `list`.
pub fn add(list: &[BadRange], new: BadRange) -> Add {
    match list.iter().position(|r| r.start == new.start) {
        Some(i) => Add::Update(i),
        None => Add::Append,
    }
}

/// What clearing `[start, start + len)` leaves of one entry (`badrange_forget`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forget {
    /// No overlap: the entry stays as it is.
    Keep,
    /// Entirely cleared: drop the entry.
    Remove,
    /// Partly cleared: the entry becomes this.
    Trim(BadRange),
    /// Cleared in the middle: the entry becomes the first (left) range and
    /// the second (right) one is appended.
    Split(BadRange, BadRange),
}

/// How clearing `[start, start + len)` changes `entry`. A `len` of 0 (C's
/// truncated `unsigned int`) makes the clear end at `start - 1`, as in C.
pub fn forget(entry: BadRange, start: u64, len: u64) -> Forget {
    let clr_end = start.wrapping_add(len).wrapping_sub(1);
    let end = entry.last();
    if end < start || entry.start > clr_end {
        return Forget::Keep;
    }
    if entry.start >= start && end <= clr_end {
        return Forget::Remove;
    }
    if start <= entry.start && clr_end > entry.start {
        return Forget::Trim(BadRange { start: clr_end + 1, len: end - clr_end });
    }
    if entry.start < start && end <= clr_end {
        return Forget::Trim(BadRange { start: entry.start, len: start - entry.start });
    }
    if entry.start < start && end > clr_end {
        return Forget::Split(
            BadRange { start: entry.start, len: start - entry.start },
            BadRange { start: clr_end + 1, len: end - clr_end },
        );
    }
    // C leaves an entry alone when the clear ends exactly on its first byte
    // (start <= entry.start == clr_end): its conditions above all miss.
    Forget::Keep
}

/// Storage of a bad-range list (a bus's, or an emulated platform's):
/// the kernel's `KVec`, a test's `Vec`. Entries stay in C's order, new
/// ones at the end.
pub trait List {
    /// The entries.
    fn entries(&self) -> &[BadRange];
    /// Entry `i`, to change in place.
    fn entry_mut(&mut self, i: usize) -> &mut BadRange;
    /// Appends `r`; false when there is no memory for it.
    fn append(&mut self, r: BadRange) -> bool;
    /// Removes entry `i`, keeping the order of the others.
    fn remove(&mut self, i: usize);
}

/// Out of memory (C's `-ENOMEM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

/// `badrange_add()`: a range starting where a listed one does replaces its
/// length, any other is appended as is.
pub fn list_add(list: &mut impl List, start: u64, len: u64) -> Result<(), NoMemory> {
    let new = BadRange { start, len };
    match add(list.entries(), new) {
        Add::Update(i) => list.entry_mut(i).len = len,
        Add::Append => {
            if !list.append(new) {
                return Err(NoMemory);
            }
        }
    }
    Ok(())
}

/// `badrange_forget()`: removes `[start, +len)` from every entry. C takes
/// the length as an `unsigned int`, so callers with a 64-bit length pass
/// its low 32 bits, as C truncates it. The right part of a split entry is
/// appended; without memory for it, it is lost, as in C.
pub fn list_forget(list: &mut impl List, start: u64, len: u32) {
    let mut i = 0;
    while i < list.entries().len() {
        match forget(list.entries()[i], start, u64::from(len)) {
            Forget::Keep => {}
            Forget::Remove => {
                list.remove(i);
                continue;
            }
            Forget::Trim(t) => *list.entry_mut(i) = t,
            Forget::Split(l, r) => {
                *list.entry_mut(i) = l;
                let _ = list.append(r);
            }
        }
        i += 1;
    }
}

/// The bad sectors `entry` puts in a device covering physical
/// `[dev_start, dev_start + dev_len)` (`badblocks_populate` with
/// `__add_badblock_range`), as `(first sector, count)` relative to the
/// device; partial sectors count as bad. `None` without overlap.
pub fn sectors_in(entry: BadRange, dev_start: u64, dev_len: u64) -> Option<(u64, u64)> {
    if dev_len == 0 || entry.len == 0 {
        return None;
    }
    let dev_end = dev_start + (dev_len - 1);
    let end = entry.last();
    if end < dev_start || entry.start > dev_end {
        return None;
    }
    let (offset, len) = if entry.start >= dev_start {
        let len = if end <= dev_end { entry.len } else { dev_start + dev_len - entry.start };
        (entry.start - dev_start, len)
    } else {
        let len = if end < dev_end { entry.start + entry.len - dev_start } else { dev_len };
        (0, len)
    };
    let first = offset / SECTOR_SIZE;
    let last = (offset + len).div_ceil(SECTOR_SIZE);
    Some((first, last - first))
}

/// The whole sectors of a region at physical `[region_start, +region_len)`
/// that clearing `cleared` bytes at `phys` removes from its list
/// (`nvdimm_clear_badblocks_region`): only a clear entirely inside the
/// region counts, and only whole sectors of it are forgotten. `cleared`
/// comes from the firmware: a clear that runs past the top of the address
/// space is outside every region (C's u64 sum wraps there and would forget
/// sectors past the region's end).
pub fn cleared_sectors(region_start: u64, region_len: u64, phys: u64, cleared: u64) -> Option<(u64, u64)> {
    let count = cleared / SECTOR_SIZE;
    if count == 0 || region_len == 0 {
        return None;
    }
    let region_end = region_start.checked_add(region_len - 1)?;
    let clear_end = phys.checked_add(cleared - 1)?;
    if phys < region_start || clear_end > region_end {
        return None;
    }
    Some(((phys - region_start) / SECTOR_SIZE, count))
}

/// Whether a clear of `len` bytes at `phys` fits a platform's clear unit
/// (`nvdimm_clear_poison`): the unit must be a power of two and both ends
/// aligned to it; C answers ENXIO otherwise.
pub fn clear_aligned(clear_err_unit: u32, phys: u64, len: u64) -> bool {
    clear_err_unit.is_power_of_two() && (phys | len) & (clear_err_unit as u64 - 1) == 0
}

// ---------------------------------------------------------------------------
// ARS payloads (`struct nd_cmd_ars_cap`, `nd_cmd_ars_start`,
// `nd_cmd_ars_status`, `nd_cmd_clear_error`).

/// Length of `struct nd_cmd_ars_cap`.
pub const ARS_CAP_LEN: usize = 32;
/// Length of `struct nd_cmd_ars_start`.
pub const ARS_START_LEN: usize = 32;
/// Length of `struct nd_cmd_ars_status` up to its records.
pub const ARS_STATUS_HDR_LEN: usize = 48;
/// Length of `struct nd_ars_record`.
pub const ARS_RECORD_LEN: usize = 24;
/// Length of `struct nd_cmd_clear_error`.
pub const CLEAR_ERROR_LEN: usize = 32;
/// Where the records begin relative to `address`, i.e. the smallest
/// `out_length` that can hold one (C: "first record starts at 44").
pub const ARS_RECORDS_OUT_OFFSET: u32 = 44;
/// `ND_ARS_VOLATILE`, `ND_ARS_PERSISTENT` (scrub types).
pub const ND_ARS_VOLATILE: u16 = 1;
/// See [`ND_ARS_VOLATILE`].
pub const ND_ARS_PERSISTENT: u16 = 2;
/// `ND_ARS_RETURN_PREV_DATA`: a short scrub, reporting what is known.
pub const ND_ARS_RETURN_PREV_DATA: u8 = 1 << 1;

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn get64(b: &[u8], off: usize) -> u64 {
    (get32(b, off) as u64) | (get32(b, off + 4) as u64) << 32
}

/// An ARS_CAP query of `[address, +length)`.
pub fn ars_cap_query(address: u64, length: u64) -> [u8; ARS_CAP_LEN] {
    let mut b = [0u8; ARS_CAP_LEN];
    b[0..8].copy_from_slice(&address.to_le_bytes());
    b[8..16].copy_from_slice(&length.to_le_bytes());
    b
}

/// What ARS_CAP reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArsCap {
    /// Firmware status: the low half is the error code, the high half the
    /// scrub types (ND_ARS_*) the range supports.
    pub status: u32,
    /// Largest ARS_STATUS output, header included.
    pub max_ars_out: u32,
    /// Granularity of CLEAR_ERROR.
    pub clear_err_unit: u32,
}

impl ArsCap {
    /// Decodes an ARS_CAP payload.
    pub fn parse(b: &[u8; ARS_CAP_LEN]) -> Self {
        Self { status: get32(b, 16), max_ars_out: get32(b, 20), clear_err_unit: get32(b, 24) }
    }

    /// Whether scrubs of `ty` (ND_ARS_*) are supported.
    pub fn supports(&self, ty: u16) -> bool {
        (self.status >> 16) & ty as u32 != 0
    }
}

/// An ARS_START request.
pub fn ars_start(address: u64, length: u64, ty: u16, flags: u8) -> [u8; ARS_START_LEN] {
    let mut b = [0u8; ARS_START_LEN];
    b[0..8].copy_from_slice(&address.to_le_bytes());
    b[8..16].copy_from_slice(&length.to_le_bytes());
    b[16..18].copy_from_slice(&ty.to_le_bytes());
    b[18] = flags;
    b
}

/// A CLEAR_ERROR request.
pub fn clear_error(address: u64, length: u64) -> [u8; CLEAR_ERROR_LEN] {
    let mut b = [0u8; CLEAR_ERROR_LEN];
    b[0..8].copy_from_slice(&address.to_le_bytes());
    b[8..16].copy_from_slice(&length.to_le_bytes());
    b
}

/// Bytes a CLEAR_ERROR reply says were cleared.
pub fn clear_error_cleared(b: &[u8; CLEAR_ERROR_LEN]) -> u64 {
    get64(b, 24)
}

/// An ARS_STATUS reply, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct ArsStatus<'a> {
    buf: &'a [u8],
}

impl<'a> ArsStatus<'a> {
    /// Views a reply; `None` if the buffer cannot hold the header.
    pub fn new(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= ARS_STATUS_HDR_LEN).then_some(Self { buf })
    }
    /// Bytes of the payload the firmware filled, from `address` on.
    pub fn out_length(&self) -> u32 {
        get32(self.buf, 4)
    }
    /// Range the scrub covered.
    pub fn address(&self) -> u64 {
        get64(self.buf, 8)
    }
    /// See [`ArsStatus::address`].
    pub fn length(&self) -> u64 {
        get64(self.buf, 16)
    }
    /// Where an interrupted scrub resumes (`ars_continue`).
    pub fn restart_address(&self) -> u64 {
        get64(self.buf, 24)
    }
    /// See [`ArsStatus::restart_address`].
    pub fn restart_length(&self) -> u64 {
        get64(self.buf, 32)
    }
    /// Scrub type (ND_ARS_*).
    pub fn ty(&self) -> u16 {
        u16::from_le_bytes([self.buf[40], self.buf[41]])
    }
    /// Records the firmware says it returned.
    pub fn num_records(&self) -> u32 {
        get32(self.buf, 44)
    }

    /// The records the reply really holds (`ars_status_process_records`):
    /// none when `out_length` is below the first record, and only whole
    /// records inside both `out_length` and the buffer. The caller warns
    /// when fewer than [`ArsStatus::num_records`] come out.
    pub fn records(&self) -> impl Iterator<Item = BadRange> + 'a {
        let buf = self.buf;
        let out = self.out_length() as u64;
        let n = if out < ARS_RECORDS_OUT_OFFSET as u64 { 0 } else { self.num_records() as u64 };
        (0..n)
            .take_while(move |&i| {
                let fits_out = out >= ARS_RECORDS_OUT_OFFSET as u64 + ARS_RECORD_LEN as u64 * (i + 1);
                let fits_buf = ARS_STATUS_HDR_LEN as u64 + ARS_RECORD_LEN as u64 * (i + 1) <= buf.len() as u64;
                fits_out && fits_buf
            })
            .map(move |i| {
                let off = ARS_STATUS_HDR_LEN + ARS_RECORD_LEN * i as usize;
                BadRange { start: get64(buf, off + 8), len: get64(buf, off + 16) }
            })
    }
}

/// Whether a finished scrub described by `status` covers the SPA range
/// `[spa_start, +spa_len)` to its end (`ars_complete`): a scrub that began
/// inside or before the range and reaches its end completes it.
pub fn ars_covers(status_address: u64, status_length: u64, spa_start: u64, spa_len: u64) -> bool {
    let begins = status_address < spa_start.saturating_add(spa_len);
    begins && status_address.saturating_add(status_length) >= spa_start.saturating_add(spa_len)
}

#[cfg(test)]
mod tests {
    /// A list of at most 4 entries, as a test's storage.
    struct Four {
        e: [BadRange; 4],
        n: usize,
    }

    impl List for Four {
        fn entries(&self) -> &[BadRange] {
            &self.e[..self.n]
        }
        fn entry_mut(&mut self, i: usize) -> &mut BadRange {
            &mut self.e[i]
        }
        fn append(&mut self, r: BadRange) -> bool {
            if self.n == 4 {
                return false;
            }
            self.e[self.n] = r;
            self.n += 1;
            true
        }
        fn remove(&mut self, i: usize) {
            self.e.copy_within(i + 1..self.n, i);
            self.n -= 1;
        }
    }

    fn br(start: u64, len: u64) -> BadRange {
        BadRange { start, len }
    }

    #[test]
    fn list_add_and_forget_as_badrange_c() {
        let mut l = Four { e: [br(0, 0); 4], n: 0 };
        list_add(&mut l, 0x1000, 0x100).unwrap();
        list_add(&mut l, 0x2000, 0x100).unwrap();
        // Same start: only the length changes.
        list_add(&mut l, 0x1000, 0x200).unwrap();
        assert_eq!(l.entries(), &[br(0x1000, 0x200), br(0x2000, 0x100)]);
        // A hole in the middle: the left part stays, the right is appended.
        list_forget(&mut l, 0x1080, 0x80);
        assert_eq!(l.entries(), &[br(0x1000, 0x80), br(0x2000, 0x100), br(0x1100, 0x100)]);
        // A whole entry goes; the others keep their order.
        list_forget(&mut l, 0x2000, 0x100);
        assert_eq!(l.entries(), &[br(0x1000, 0x80), br(0x1100, 0x100)]);
        list_add(&mut l, 0x3000, 1).unwrap();
        list_add(&mut l, 0x4000, 1).unwrap();
        assert_eq!(list_add(&mut l, 0x5000, 1), Err(NoMemory));
        // A 64-bit length of 2^32 truncates to 0: the clear ends at
        // start - 1, which touches nothing above start.
        list_forget(&mut l, 0x1000, (1u64 << 32) as u32);
        assert_eq!(l.n, 4);
        // At 0 the same clear wraps to the top: everything goes.
        list_forget(&mut l, 0, 0);
        assert_eq!(l.n, 0);
    }

    use super::*;

    fn r(start: u64, len: u64) -> BadRange {
        BadRange { start, len }
    }

    #[test]
    fn add_updates_same_start_else_appends() {
        let list = [r(0x1000, 0x200), r(0x4000, 0x100)];
        assert_eq!(add(&list, r(0x4000, 0x800)), Add::Update(1));
        assert_eq!(add(&list, r(0x1100, 0x200)), Add::Append);
        assert_eq!(add(&[], r(0, 1)), Add::Append);
    }

    #[test]
    fn forget_cases() {
        let e = r(0x1000, 0x1000); // [0x1000, 0x1fff]
        assert_eq!(forget(e, 0x2000, 0x100), Forget::Keep);
        assert_eq!(forget(e, 0x0, 0x1000), Forget::Keep);
        assert_eq!(forget(e, 0x1000, 0x1000), Forget::Remove);
        assert_eq!(forget(e, 0x800, 0x2000), Forget::Remove);
        assert_eq!(forget(e, 0x1000, 0x200), Forget::Trim(r(0x1200, 0xe00)));
        assert_eq!(forget(e, 0x800, 0x1000), Forget::Trim(r(0x1800, 0x800)));
        assert_eq!(forget(e, 0x1800, 0x800), Forget::Trim(r(0x1000, 0x800)));
        assert_eq!(forget(e, 0x1800, 0x10000), Forget::Trim(r(0x1000, 0x800)));
        assert_eq!(forget(e, 0x1200, 0x200), Forget::Split(r(0x1000, 0x200), r(0x1400, 0xc00)));
        // C's gap: a clear ending on the entry's first byte changes nothing.
        assert_eq!(forget(e, 0xfff, 2), Forget::Keep);
    }

    #[test]
    fn sectors_relative_to_device() {
        // Inside, sector aligned.
        assert_eq!(sectors_in(r(0x10_0000 + 0x400, 0x200), 0x10_0000, 0x10_0000), Some((2, 1)));
        // Partial sectors round outwards.
        assert_eq!(sectors_in(r(0x10_0000 + 0x300, 0x100), 0x10_0000, 0x10_0000), Some((1, 1)));
        assert_eq!(sectors_in(r(0x10_0000 + 0x1ff, 2), 0x10_0000, 0x10_0000), Some((0, 2)));
        // Starts before the device: clipped to its start.
        assert_eq!(sectors_in(r(0xf_fe00, 0x400), 0x10_0000, 0x10_0000), Some((0, 1)));
        // Covers it all.
        assert_eq!(sectors_in(r(0, u64::MAX / 2), 0x10_0000, 0x1000), Some((0, 8)));
        // Runs past the end: clipped.
        assert_eq!(sectors_in(r(0x10_0e00, 0x400), 0x10_0000, 0x1000), Some((7, 1)));
        // Outside.
        assert_eq!(sectors_in(r(0x20_0000, 0x200), 0x10_0000, 0x10_0000), None);
        assert_eq!(sectors_in(r(0xf_0000, 0x200), 0x10_0000, 0x10_0000), None);
    }

    #[test]
    fn cleared_sectors_only_whole_and_inside() {
        assert_eq!(cleared_sectors(0x10_0000, 0x10_0000, 0x10_0400, 0x400), Some((2, 2)));
        assert_eq!(cleared_sectors(0x10_0000, 0x10_0000, 0x10_0400, 0x100), None);
        assert_eq!(cleared_sectors(0x10_0000, 0x10_0000, 0x1f_fe00, 0x400), None);
        assert_eq!(cleared_sectors(0x10_0000, 0x10_0000, 0xf_fe00, 0x400), None);
    }

    #[test]
    fn clear_alignment() {
        assert!(clear_aligned(256, 0x1000, 0x100));
        assert!(!clear_aligned(256, 0x1080, 0x100));
        assert!(!clear_aligned(256, 0x1000, 0x80));
        assert!(!clear_aligned(0, 0x1000, 0x100));
        assert!(!clear_aligned(384, 0, 0));
    }

    fn status(out_length: u32, num: u32, recs: &[(u64, u64)], buf: &mut [u8]) {
        buf.fill(0);
        buf[4..8].copy_from_slice(&out_length.to_le_bytes());
        buf[8..16].copy_from_slice(&0x1000u64.to_le_bytes());
        buf[16..24].copy_from_slice(&0x8000u64.to_le_bytes());
        buf[40..42].copy_from_slice(&ND_ARS_PERSISTENT.to_le_bytes());
        buf[44..48].copy_from_slice(&num.to_le_bytes());
        for (i, &(a, l)) in recs.iter().enumerate() {
            let off = 48 + 24 * i;
            buf[off + 8..off + 16].copy_from_slice(&a.to_le_bytes());
            buf[off + 16..off + 24].copy_from_slice(&l.to_le_bytes());
        }
    }

    #[test]
    fn status_records_whole_only() {
        let mut buf = [0u8; 48 + 24 * 3];
        status(44 + 48, 2, &[(0x2000, 0x200), (0x3000, 0x100)], &mut buf);
        let s = ArsStatus::new(&buf).unwrap();
        assert_eq!((s.address(), s.length(), s.ty()), (0x1000, 0x8000, ND_ARS_PERSISTENT));
        {
            let mut it = s.records();
            assert_eq!(it.next(), Some(r(0x2000, 0x200)));
            assert_eq!(it.next(), Some(r(0x3000, 0x100)));
            assert_eq!(it.next(), None);
        }
        // Truncated by out_length: only the first.
        status(44 + 47, 2, &[(0x2000, 0x200), (0x3000, 0x100)], &mut buf);
        assert_eq!(ArsStatus::new(&buf).unwrap().records().count(), 1);
        // Below the first record: none, whatever num_records says.
        status(40, 5, &[], &mut buf);
        assert_eq!(ArsStatus::new(&buf).unwrap().records().count(), 0);
        // More claimed than the buffer holds.
        status(44 + 24 * 10, 10, &[(1, 1), (2, 1), (3, 1)], &mut buf);
        assert_eq!(ArsStatus::new(&buf).unwrap().records().count(), 3);
        assert!(ArsStatus::new(&buf[..40]).is_none());
    }

    #[test]
    fn cap_and_requests() {
        let mut b = ars_cap_query(0x1000, 0x2000);
        assert_eq!(&b[0..8], &0x1000u64.to_le_bytes());
        b[16..20].copy_from_slice(&((3u32) << 16).to_le_bytes());
        b[20..24].copy_from_slice(&4144u32.to_le_bytes());
        b[24..28].copy_from_slice(&256u32.to_le_bytes());
        let cap = ArsCap::parse(&b);
        assert!(cap.supports(ND_ARS_PERSISTENT) && cap.supports(ND_ARS_VOLATILE));
        assert_eq!((cap.max_ars_out, cap.clear_err_unit), (4144, 256));
        let s = ars_start(1, 2, ND_ARS_PERSISTENT, ND_ARS_RETURN_PREV_DATA);
        assert_eq!((s[16], s[18]), (2, 2));
        let mut c = clear_error(0x100, 0x200);
        c[24..32].copy_from_slice(&0x200u64.to_le_bytes());
        assert_eq!(clear_error_cleared(&c), 0x200);
    }

    #[test]
    fn covers() {
        assert!(ars_covers(0x1000, 0x1000, 0x1000, 0x1000));
        assert!(ars_covers(0x0, 0x3000, 0x1000, 0x1000));
        assert!(!ars_covers(0x1000, 0x800, 0x1000, 0x1000));
        assert!(ars_covers(0x1800, 0x800, 0x1000, 0x1000)); // continuation
        assert!(!ars_covers(0x2000, 0x1000, 0x1000, 0x1000));
    }
}
