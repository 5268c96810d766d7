//! The flog: per lane, a 64-byte group of four 16-byte slots, two of which
//! hold log entries and two padding (all zeros). A write fills the entry
//! the sequence numbers call old with `(lba, old_map, new_map, next seq)`,
//! so the group always holds the last completed write of its lane and the
//! one before.
//!
//! Two layouts exist, told apart at load by which slots are non-zero (C's
//! `log_set_indices`): the padded one since Linux 4.15, entries in slots
//! 0 and 1 and 32 bytes of padding after them, and the old, unpadded one,
//! entries in slots 0 and 2 (each followed by a padding slot).
//!
//! Sequence numbers cycle 1 → 2 → 3 → 1; 0 means never written. Of the
//! two entries of a group, the newer is the one whose number follows the
//! other's.

use super::BttError;

/// Bytes per log entry (`struct log_entry`).
pub const LOG_ENT_SIZE: usize = 16;
/// Bytes per lane (`struct log_group`).
pub const LOG_GRP_SIZE: usize = 64;
/// The sequence number C gives the entries of a new flog.
pub const LOG_SEQ_INIT: u32 = 1;

/// The next sequence number (C's `nd_inc_seq`): 1 → 2 → 3 → 1, and 0
/// stays 0; only the low two bits count.
pub fn inc_seq(seq: u32) -> u32 {
    const NEXT: [u32; 4] = [0, 2, 3, 1];
    NEXT[(seq & 3) as usize]
}

/// One flog entry (`struct log_entry`); the maps are raw map entries,
/// flags included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogEntry {
    /// The premap LBA written.
    pub lba: u32,
    /// The map entry before the write; its block became the lane's free one.
    pub old_map: u32,
    /// The map entry after the write.
    pub new_map: u32,
    /// Sequence number, 1..=3.
    pub seq: u32,
}

impl LogEntry {
    /// From 16 stored bytes.
    pub fn from_bytes(b: &[u8; LOG_ENT_SIZE]) -> Self {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        LogEntry { lba: w(0), old_map: w(4), new_map: w(8), seq: w(12) }
    }

    /// From the first 16 bytes of `b`; `None` if shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self::from_bytes(b.get(..LOG_ENT_SIZE)?.try_into().ok()?))
    }

    /// The 16 bytes to store. C writes them as two 8-byte halves, first
    /// `lba, old_map`, then `new_map, seq`, so `seq` lands last.
    pub fn to_bytes(&self) -> [u8; LOG_ENT_SIZE] {
        let [first, second] = self.words();
        (u128::from(first) | u128::from(second) << 64).to_le_bytes()
    }

    /// The two 8-byte halves C writes, in that order: `lba, old_map`, then
    /// `new_map, seq`. Built from whole words, not slice copies (which the
    /// kernel build leaves as `memcpy` calls on the write path).
    pub fn halves(&self) -> [[u8; LOG_ENT_SIZE / 2]; 2] {
        let [first, second] = self.words();
        [first.to_le_bytes(), second.to_le_bytes()]
    }

    /// The halves as little-endian words.
    fn words(&self) -> [u64; 2] {
        [u64::from(self.lba) | u64::from(self.old_map) << 32, u64::from(self.new_map) | u64::from(self.seq) << 32]
    }

    /// All four fields zero: a padding slot (C's `ent_is_padding`).
    pub fn is_padding(&self) -> bool {
        *self == LogEntry::default()
    }
}

/// One lane's 64 bytes: four slots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogGroup {
    /// The slots, in media order.
    pub ent: [LogEntry; 4],
}

impl LogGroup {
    /// From 64 stored bytes.
    pub fn from_bytes(b: &[u8; LOG_GRP_SIZE]) -> Self {
        let mut ent = [LogEntry::default(); 4];
        for (i, e) in ent.iter_mut().enumerate() {
            let mut s = [0u8; LOG_ENT_SIZE];
            s.copy_from_slice(&b[i * LOG_ENT_SIZE..(i + 1) * LOG_ENT_SIZE]);
            *e = LogEntry::from_bytes(&s);
        }
        LogGroup { ent }
    }

    /// From the first 64 bytes of `b`; `None` if shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self::from_bytes(b.get(..LOG_GRP_SIZE)?.try_into().ok()?))
    }

    /// The 64 bytes to store.
    pub fn to_bytes(&self) -> [u8; LOG_GRP_SIZE] {
        let mut b = [0u8; LOG_GRP_SIZE];
        for (i, e) in self.ent.iter().enumerate() {
            b[i * LOG_ENT_SIZE..(i + 1) * LOG_ENT_SIZE].copy_from_slice(&e.to_bytes());
        }
        b
    }

    /// The entry in sub-slot `sub` (0 or 1) under `layout`.
    pub fn entry(&self, layout: LogLayout, sub: usize) -> LogEntry {
        self.ent[layout.slot(sub)]
    }

    /// Sets the entry in sub-slot `sub` (0 or 1) under `layout`.
    pub fn set_entry(&mut self, layout: LogLayout, sub: usize, ent: LogEntry) {
        self.ent[layout.slot(sub)] = ent;
    }

    /// C's `btt_log_read`: which sub-slot holds the old (`old`) or new
    /// entry, and that entry. As in C, a group whose first entry has
    /// sequence number 0 (never written) reads as old = sub 0, and that
    /// entry is returned with its sequence number as 1.
    pub fn read(&self, layout: LogLayout, old: bool) -> Result<(usize, LogEntry), BttError> {
        let old_sub = log_get_old(self, layout)?;
        let sub = if old { old_sub } else { 1 - old_sub };
        let mut ent = self.entry(layout, sub);
        if sub == 0 && ent.seq == 0 {
            ent.seq = 1;
        }
        Ok((sub, ent))
    }
}

/// Which two slots of a group hold the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLayout {
    /// Slots 0 and 1, padding after (Linux 4.15 and later; what C writes).
    Padded,
    /// Slots 0 and 2 (before Linux 4.15).
    Unpadded,
}

impl LogLayout {
    /// C's `log_index[0..2]`.
    pub fn slots(self) -> [usize; 2] {
        match self {
            LogLayout::Padded => [0, 1],
            LogLayout::Unpadded => [0, 2],
        }
    }

    /// The slot of sub-slot `sub` (0 or 1; anything else reads as 1).
    pub fn slot(self, sub: usize) -> usize {
        self.slots()[sub.min(1)]
    }

    /// Byte offset in the group of sub-slot `sub`'s entry.
    pub fn entry_offset(self, sub: usize) -> usize {
        self.slot(sub) * LOG_ENT_SIZE
    }
}

/// C's `btt_log_get_old`: which sub-slot (0 or 1) holds the older entry.
/// A first entry with sequence number 0 is a lane never written: old is
/// 0. Equal numbers, or a sum above 5 (in C's wrapping 32-bit
/// arithmetic), are corruption (C: "log corruption", `-EIO`). Otherwise
/// the newer is the one exactly one above the other, or 1 below 3.
pub fn log_get_old(group: &LogGroup, layout: LogLayout) -> Result<usize, BttError> {
    let s0 = group.entry(layout, 0).seq;
    let s1 = group.entry(layout, 1).seq;
    if s0 == 0 {
        return Ok(0);
    }
    if s0 == s1 || s0.wrapping_add(s1) > 5 {
        return Err(BttError::LogCorruption { seq: [s0, s1] });
    }
    let old = if s0 < s1 {
        if s1 - s0 == 1 { 0 } else { 1 }
    } else if s0 - s1 == 1 {
        1
    } else {
        0
    };
    Ok(old)
}

/// C's `log_set_indices`: which [`LogLayout`] an arena's flog uses. Feed
/// it the groups of lanes `0..nfree` in order, then [`Self::finish`].
///
/// Groups with one entry (untouched since the BTT was made) say nothing;
/// the first non-padding slots seen, across groups, fix the layout, and
/// every later group must fit it. A flog of untouched groups only is
/// taken as padded. Quirks of C's scan are kept: the first entry's slot
/// is remembered even if not 0 and only rejected at the end, and the
/// "untouched" test only counts padding seen before the layout was fixed.
#[derive(Clone, Debug)]
pub struct LogIndexDetector {
    index: [Option<usize>; 2],
    set: bool,
    initial_state: bool,
    failed: bool,
}

impl Default for LogIndexDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl LogIndexDetector {
    /// Before the first group.
    pub fn new() -> Self {
        LogIndexDetector { index: [None, None], set: false, initial_state: true, failed: false }
    }

    /// Takes the next lane's group. `UnknownLogLayout` as soon as it
    /// contradicts what came before (and for every group after that).
    pub fn feed(&mut self, group: &LogGroup) -> Result<(), BttError> {
        if self.failed {
            return Err(BttError::UnknownLogLayout);
        }
        let mut pad_count = 0;
        for (j, ent) in group.ent.iter().enumerate() {
            if !self.set {
                if ent.is_padding() {
                    pad_count += 1;
                    continue;
                }
                match self.index {
                    [None, _] => self.index[0] = Some(j),
                    [Some(first), _] if first == j => continue,
                    [Some(_), _] => {
                        self.index[1] = Some(j);
                        self.set = true;
                    }
                }
            } else if Some(j) == self.index[0] {
                if ent.is_padding() {
                    self.failed = true;
                }
            } else if Some(j) != self.index[1] && !ent.is_padding() {
                // The second entry's slot may still be padding (a lane
                // untouched since creation); any other slot must be.
                self.failed = true;
            }
        }
        if pad_count < 3 {
            self.initial_state = false;
        }
        if self.failed {
            Err(BttError::UnknownLogLayout)
        } else {
            Ok(())
        }
    }

    /// The layout, once every group was fed; `UnknownLogLayout` (C:
    /// "Found an unknown padding scheme" / "Unable to deduce log/padding
    /// indices", `-ENXIO`) when groups disagreed, no second entry was ever
    /// seen in a flog that is not all untouched, or the slots found are
    /// neither (0, 1) nor (0, 2).
    pub fn finish(&self) -> Result<LogLayout, BttError> {
        if self.failed || (!self.initial_state && !self.set) {
            return Err(BttError::UnknownLogLayout);
        }
        let mut index = self.index;
        if self.initial_state {
            index[1] = Some(1);
        }
        match index {
            [Some(0), Some(1)] => Ok(LogLayout::Padded),
            [Some(0), Some(2)] => Ok(LogLayout::Unpadded),
            _ => Err(BttError::UnknownLogLayout),
        }
    }

    /// Feeds every 64-byte group of `log` (a whole flog area, lanes in
    /// order; a partial trailing group is ignored) and finishes.
    pub fn detect(log: &[u8], nfree: u32) -> Result<LogLayout, BttError> {
        let mut d = Self::new();
        for chunk in log.chunks_exact(LOG_GRP_SIZE).take(nfree as usize) {
            d.feed(&LogGroup::decode(chunk).ok_or(BttError::TooShort)?)?;
        }
        if log.len() / LOG_GRP_SIZE < nfree as usize {
            return Err(BttError::TooShort);
        }
        d.finish()
    }
}
