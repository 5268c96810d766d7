//! A full consistency check of one arena, as `ndctl check-namespace` makes
//! it (ndctl's `btt_check_arenas`): flog entries in bounds, map entries in
//! bounds, every flog entry's write complete in the map, and every data
//! block referenced exactly once by the map and the free blocks together.

use super::flog::{LogGroup, LogLayout};
use super::layout::ArenaLayout;
use super::map::MapEntry;
use super::recovery::{ArenaMedia, MapRepair};
use super::BttError;

/// What made an arena inconsistent; the order is the order of the checks,
/// and each names ndctl's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    /// "found a pair of log entries with the same sequence number"
    LogEqualSeq {
        /// The lane.
        lane: u32,
    },
    /// "found a log entry with an out of bounds sequence number" (above 3)
    LogSeqOutOfBounds {
        /// The lane.
        lane: u32,
    },
    /// "found a log entry with an out of bounds LBA" (the newer entry's
    /// premap LBA is not below `external_nlba`)
    LogLbaOutOfBounds {
        /// The lane.
        lane: u32,
    },
    /// "... out of bounds 'old' mapping" (raw, flags included)
    LogOldOutOfBounds {
        /// The lane.
        lane: u32,
    },
    /// "... out of bounds 'new' mapping" (raw, flags included)
    LogNewOutOfBounds {
        /// The lane.
        lane: u32,
    },
    /// "found a map entry that is out of bounds"
    MapOutOfBounds {
        /// The premap LBA.
        premap: u32,
    },
    /// "internal block %#x is referenced by two map entries", or by a map
    /// entry and a free block, or two free blocks
    BlockReferencedTwice {
        /// The data block.
        block: u32,
    },
    /// A data block neither mapped nor free ("bitmap error").
    BlockUnreferenced {
        /// The first such block.
        block: u32,
    },
}

/// Why [`check_arena`] did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFailure<E> {
    /// The arena is inconsistent.
    Inconsistent(CheckError),
    /// The media could not be read or written, or the geometry is unusable.
    Media(E),
}

impl<E> From<E> for CheckFailure<E> {
    fn from(e: E) -> Self {
        CheckFailure::Media(e)
    }
}

/// What a passing check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// Map entries that showed an interrupted write (ndctl: "log[%d].new_map
    /// doesn't match map"); written if `repair` was asked, else the
    /// reference count ran as if they had been.
    pub interrupted_writes: u32,
    /// Data blocks referenced (all of them, `internal_nlba`).
    pub blocks: u32,
}

/// Checks one arena. `bitmap` is scratch for one bit per data block
/// (`internal_nlba.div_ceil(64)` words at least, else `TooShort`);
/// `layout` is the flog's layout (from [`super::LogIndexDetector`]).
/// With `repair`, interrupted writes are completed in the map as ndctl's
/// `--repair` (and the kernel at load) does. Without it they are only
/// counted, and the block count then finds the old block referenced twice,
/// so the check fails as ndctl's does.
///
/// Differences from ndctl: nothing here compares the backup info block
/// (see [`super::InfoBlock`]), and ndctl's refusal of arenas whose
/// internal and external lbasize differ, or whose info block has the
/// error flag, is the caller's. A lane never written (first sequence
/// number 0) fails with `LogEqualSeq` when both are 0, as in ndctl.
///
/// Like ndctl, the flog bounds are checked on the raw entries, flags
/// included. C's write path logs the old block with the error flag when it
/// overwrites a sector whose map entry has it, so after such a write the
/// arena fails with `LogOldOutOfBounds` (ndctl: "found a log entry with an
/// out of bounds 'old' mapping") until that lane's next write, although
/// the kernel loads it fine.
pub fn check_arena<M: ArenaMedia>(
    media: &mut M,
    arena: &ArenaLayout,
    layout: LogLayout,
    bitmap: &mut [u64],
    repair: bool,
) -> Result<CheckReport, CheckFailure<M::Error>> {
    let inconsistent = |e| Err(CheckFailure::Inconsistent(e));
    let words = (arena.internal_nlba as usize).div_ceil(64);
    let bitmap = bitmap.get_mut(..words).ok_or(M::Error::from(BttError::TooShort))?;
    bitmap.fill(0);

    // The flog: sequence numbers of both entries, then the newer entry's
    // fields, lane by lane in two passes as ndctl does.
    for lane in 0..arena.nfree {
        let g = LogGroup::from_bytes(&media.read_log_group(lane)?);
        let (s0, s1) = (g.entry(layout, 0).seq, g.entry(layout, 1).seq);
        if s0 == s1 {
            return inconsistent(CheckError::LogEqualSeq { lane });
        }
        if s0 > 3 || s1 > 3 {
            return inconsistent(CheckError::LogSeqOutOfBounds { lane });
        }
    }
    for lane in 0..arena.nfree {
        let ent = newer(media, lane, layout)?;
        if ent.lba >= arena.external_nlba {
            return inconsistent(CheckError::LogLbaOutOfBounds { lane });
        }
        if ent.old_map >= arena.internal_nlba {
            return inconsistent(CheckError::LogOldOutOfBounds { lane });
        }
        if ent.new_map >= arena.internal_nlba {
            return inconsistent(CheckError::LogNewOutOfBounds { lane });
        }
    }
    for premap in 0..arena.external_nlba {
        if media.read_map(premap)?.postmap(premap) >= arena.internal_nlba {
            return inconsistent(CheckError::MapOutOfBounds { premap });
        }
    }

    // Interrupted writes, completed or counted.
    let mut interrupted = 0;
    for lane in 0..arena.nfree {
        let ent = newer(media, lane, layout)?;
        let pending = MapRepair { premap: ent.lba, old_block: ent.old_map, new_block: ent.new_map };
        if let Some(fixed) = pending.decide(media.read_map(ent.lba)?) {
            interrupted += 1;
            if repair {
                media.write_map(ent.lba, fixed)?;
            }
        }
    }

    // Every block exactly once: the map, then the free blocks.
    let mut mark = |block: u32| -> Result<(), CheckError> {
        let (w, bit) = ((block / 64) as usize, 1u64 << (block % 64));
        if bitmap[w] & bit != 0 {
            return Err(CheckError::BlockReferencedTwice { block });
        }
        bitmap[w] |= bit;
        Ok(())
    };
    for premap in 0..arena.external_nlba {
        let block = media.read_map(premap)?.postmap(premap);
        mark(block).map_err(CheckFailure::Inconsistent)?;
    }
    for lane in 0..arena.nfree {
        let ent = newer(media, lane, layout)?;
        mark(ent.old_map).map_err(CheckFailure::Inconsistent)?;
    }
    if let Some(block) = (0..arena.internal_nlba).find(|&b| bitmap[(b / 64) as usize] & (1 << (b % 64)) == 0) {
        return inconsistent(CheckError::BlockUnreferenced { block });
    }
    Ok(CheckReport { interrupted_writes: interrupted, blocks: arena.internal_nlba })
}

/// The newer entry of a lane, as ndctl reads it (no corruption check:
/// the sequence pass came first).
fn newer<M: ArenaMedia>(
    media: &mut M,
    lane: u32,
    layout: LogLayout,
) -> Result<super::LogEntry, M::Error> {
    let g = LogGroup::from_bytes(&media.read_log_group(lane)?);
    Ok(g.read(layout, false)?.1)
}

/// Whether a map entry's block lies in the arena (helper for callers
/// walking the map themselves).
pub fn map_in_bounds(entry: MapEntry, premap: u32, arena: &ArenaLayout) -> bool {
    entry.postmap(premap) < arena.internal_nlba
}
