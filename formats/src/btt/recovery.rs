//! What an arena's flog and map mean when the arena is loaded (C's
//! `btt_freelist_init` and `btt_rtt_init`): each lane's free block, the
//! sub-slot and sequence number its next flog entry takes, and the repair
//! of a write the power cut between its flog entry and its map entry.

use super::flog::{inc_seq, LogGroup, LogIndexDetector, LogLayout, LOG_GRP_SIZE};
use super::layout::ArenaLayout;
use super::map::MapEntry;
use super::BttError;

/// A read tracking table slot holding `RTT_VALID | postmap` marks a block
/// being read; writers wait for it to clear before reusing the block.
pub const RTT_VALID: u32 = 1 << 31;
/// An idle read tracking table slot; at init every slot is idle.
pub const RTT_INVALID: u32 = 0;

/// One lane's free-list entry (C's `struct free_entry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreeEntry {
    /// The free data block the lane's next write goes to.
    pub block: u32,
    /// The flog sub-slot (0 or 1) the next write's entry overwrites.
    pub sub: u8,
    /// The sequence number the next entry carries.
    pub seq: u8,
    /// The block had a media error: clear it (write zeros over the
    /// sector) before use.
    pub has_err: bool,
}

impl FreeEntry {
    /// The flog entry of a write of `premap` through this lane (C's
    /// `btt_write_pg`): the block `premap` maps to now (`current`, from
    /// [`MapEntry::lookup`]; its error flag kept, the zero flag dropped),
    /// this lane's free block as the new one, and this lane's sequence
    /// number. Write it at sub-slot `self.sub`, in two 8-byte halves, then
    /// call [`Self::advance`] with its `old_map`.
    pub fn log_entry(&self, premap: u32, current: super::Mapping) -> super::LogEntry {
        let old_map = if current.error { current.postmap | super::MAP_ERR_MASK } else { current.postmap };
        super::LogEntry { lba: premap, old_map, new_map: self.block, seq: self.seq.into() }
    }

    /// The entry after a write on this lane logged `old_map` (C's
    /// `btt_flog_write`): the other sub-slot, the next sequence number,
    /// the old block (flags stripped) as the new free one, and its error
    /// flag carried over.
    pub fn advance(&mut self, old_map: u32) {
        self.sub = 1 - self.sub.min(1);
        // C counts up and wraps 4 to 1 (`if (++seq == 4) seq = 1`), which
        // is `inc_seq` except that 0 becomes 1.
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 4 {
            self.seq = 1;
        }
        let old = MapEntry(old_map);
        if old.e_bit() {
            self.has_err = true;
        }
        self.block = old.lba();
    }
}

/// A write whose flog entry is on the media: its map entry must show
/// either the old block (the power went before the map write; repair) or
/// the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRepair {
    /// The premap LBA written (unchecked: C reads its map entry even when
    /// it lies beyond `external_nlba`, logging "out of range").
    pub premap: u32,
    /// The block before the write, flags stripped.
    pub old_block: u32,
    /// The block written, flags stripped.
    pub new_block: u32,
}

impl MapRepair {
    /// Given the map entry of `premap` as read now, the entry to write, if
    /// any: a normal entry for the new block when the map still shows the
    /// old block (and not the new one). Flags do not take part in the
    /// comparison; the written entry has neither.
    pub fn decide(&self, current: MapEntry) -> Option<MapEntry> {
        let now = current.postmap(self.premap);
        (now != self.new_block && now == self.old_block).then(|| MapEntry::normal(self.new_block))
    }
}

/// What one lane's flog group says at init.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneRecovery {
    /// The lane's free-list entry.
    pub free: FreeEntry,
    /// The lane's last write, to be checked against the map, unless its
    /// entry records no change (a new or untouched lane).
    pub check_map: Option<MapRepair>,
}

/// C's `btt_freelist_init` for one lane: the newer entry of the group
/// (`LogCorruption` when its sequence numbers make no sense, C: `-EIO`)
/// gives the free block (its `old_map`), the other sub-slot for the next
/// entry, and the next sequence number. A block whose `old_map` has the
/// error flag alone (not both flags) is marked `has_err`; C then clears it
/// at once, and goes on even if clearing fails ("Unable to clear known
/// errors").
pub fn recover_lane(group: &LogGroup, layout: LogLayout) -> Result<LaneRecovery, BttError> {
    let (new_sub, ent) = group.read(layout, false)?;
    let old = MapEntry(ent.old_map);
    let new = MapEntry(ent.new_map);
    let free = FreeEntry {
        block: old.lba(),
        sub: (1 - new_sub) as u8,
        seq: inc_seq(ent.seq) as u8,
        has_err: old.e_bit() && !old.is_normal(),
    };
    let check_map = (old.lba() != new.lba()).then_some(MapRepair {
        premap: ent.lba,
        old_block: old.lba(),
        new_block: new.lba(),
    });
    Ok(LaneRecovery { free, check_map })
}

/// An arena's map and flog, as [`recover_arena`] and [`super::check_arena`]
/// reach them. The kernel implements it over namespace byte I/O (adding
/// the arena's offsets, see [`ArenaLayout`]); tests over a byte buffer.
pub trait ArenaMedia {
    /// The caller's error; BTT conditions convert into it.
    type Error: From<BttError>;
    /// Lane `lane`'s 64-byte flog group.
    fn read_log_group(&mut self, lane: u32) -> Result<[u8; LOG_GRP_SIZE], Self::Error>;
    /// The map entry of `premap`.
    fn read_map(&mut self, premap: u32) -> Result<MapEntry, Self::Error>;
    /// Writes the map entry of `premap`.
    fn write_map(&mut self, premap: u32, entry: MapEntry) -> Result<(), Self::Error>;
}

/// C's `log_set_indices` over an arena's `nfree` lanes.
pub fn detect_log_layout<M: ArenaMedia>(media: &mut M, nfree: u32) -> Result<LogLayout, M::Error> {
    let mut d = LogIndexDetector::new();
    for lane in 0..nfree {
        d.feed(&LogGroup::from_bytes(&media.read_log_group(lane)?))?;
    }
    Ok(d.finish()?)
}

/// C's `btt_freelist_init` over a whole arena: fills `free[lane]` for the
/// arena's `nfree` lanes (`free` must hold that many, else `TooShort`) and
/// writes the repaired map entries. Returns how many entries it repaired.
/// Stops at the first error, as C does. Clearing error-flagged free
/// blocks is the caller's (see [`FreeEntry::has_err`]).
pub fn recover_arena<M: ArenaMedia>(
    media: &mut M,
    arena: &ArenaLayout,
    layout: LogLayout,
    free: &mut [FreeEntry],
) -> Result<u32, M::Error> {
    let free = free.get_mut(..arena.nfree as usize).ok_or(BttError::TooShort)?;
    let mut repaired = 0;
    for (lane, slot) in (0u32..).zip(free.iter_mut()) {
        let group = LogGroup::from_bytes(&media.read_log_group(lane)?);
        let lane_state = recover_lane(&group, layout)?;
        *slot = lane_state.free;
        if let Some(pending) = lane_state.check_map {
            let current = media.read_map(pending.premap)?;
            if let Some(entry) = pending.decide(current) {
                media.write_map(pending.premap, entry)?;
                repaired += 1;
            }
        }
    }
    Ok(repaired)
}
