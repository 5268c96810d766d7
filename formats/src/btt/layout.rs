//! Where an arena's parts lie: computed for a new BTT as C's
//! `create_arenas`/`alloc_arena` do, or read from an info block as
//! `parse_arena_meta` does, and the walk over an existing arena chain
//! (`discover_arenas`).

use super::flog::LOG_GRP_SIZE;
use super::info::{InfoBlock, INFO_SIZE};
use super::map::MAP_ENT_SIZE;
use super::{
    BttError, ARENA_MAX_SIZE, ARENA_MIN_SIZE, BTT_DEFAULT_NFREE, BTT_PG_SIZE,
    INT_LBASIZE_ALIGNMENT, LBASIZE_SUPPORTED,
};

/// One arena's geometry. Offsets (`infooff` .. `info2off`) are absolute:
/// bytes from the start of the BTT, which itself starts
/// [`super::BttVersion::initial_offset`] bytes into the namespace.
/// `nextoff` is as on the media: relative to this arena, 0 in the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaLayout {
    /// Bytes the arena occupies, metadata included.
    pub size: u64,
    /// The first external (user-visible) LBA this arena holds.
    pub external_lba_start: u64,
    /// Data block size: `external_lbasize` rounded up to 64.
    pub internal_lbasize: u32,
    /// Data blocks, spares included.
    pub internal_nlba: u32,
    /// Sector size as users see it (with integrity bytes).
    pub external_lbasize: u32,
    /// Sectors this arena exports: `internal_nlba - nfree` for a new one.
    pub external_nlba: u32,
    /// Spare blocks, one per flog lane.
    pub nfree: u32,
    /// Offset of the next arena, relative to this one; 0 in the last.
    pub nextoff: u64,
    /// The primary info block (the arena's start).
    pub infooff: u64,
    /// The data area.
    pub dataoff: u64,
    /// The map.
    pub mapoff: u64,
    /// The flog.
    pub logoff: u64,
    /// The backup info block.
    pub info2off: u64,
    /// The info block's flags (0 for a new arena).
    pub flags: u32,
}

fn roundup(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

impl ArenaLayout {
    /// C's `alloc_arena` for a new arena of `size` bytes at `arena_off`
    /// holding external LBAs from `start_lba`, with 256 free blocks;
    /// `nextoff` 0 (the caller chains, see [`arenas`]). `size` must lie in
    /// `ARENA_MIN_SIZE..=ARENA_MAX_SIZE` (`TooSmall`, `BadGeometry`) and
    /// `lbasize` be a supported one (`BadLbasize`). In that domain C's
    /// 32-bit arithmetic does not overflow, so the 64-bit sums here are
    /// C's results.
    pub fn new(size: u64, start_lba: u64, arena_off: u64, lbasize: u32) -> Result<Self, BttError> {
        if !LBASIZE_SUPPORTED.contains(&lbasize) {
            return Err(BttError::BadLbasize);
        }
        if size < ARENA_MIN_SIZE {
            return Err(BttError::TooSmall);
        }
        if size > ARENA_MAX_SIZE {
            return Err(BttError::BadGeometry);
        }
        let nfree = BTT_DEFAULT_NFREE;
        let internal_lbasize = roundup(lbasize.into(), INT_LBASIZE_ALIGNMENT.into()) as u32;
        // Whole pages only; two for the info blocks, the log's, then the
        // rest split between data blocks and their map entries (one page
        // kept back for the map's rounding).
        let logsize = roundup(u64::from(nfree) * LOG_GRP_SIZE as u64, BTT_PG_SIZE);
        let available = size - size % BTT_PG_SIZE - 2 * BTT_PG_SIZE - logsize;
        let internal_nlba =
            ((available - BTT_PG_SIZE) / (u64::from(internal_lbasize) + MAP_ENT_SIZE as u64)) as u32;
        let external_nlba = internal_nlba - nfree;
        let mapsize = roundup(u64::from(external_nlba) * MAP_ENT_SIZE as u64, BTT_PG_SIZE);
        let datasize = available - mapsize;
        let infooff = arena_off;
        let dataoff = infooff + BTT_PG_SIZE;
        let mapoff = dataoff + datasize;
        let logoff = mapoff + mapsize;
        let info2off = logoff + logsize;
        Ok(ArenaLayout {
            size,
            external_lba_start: start_lba,
            internal_lbasize,
            internal_nlba,
            external_lbasize: lbasize,
            external_nlba,
            nfree,
            nextoff: 0,
            infooff,
            dataoff,
            mapoff,
            logoff,
            info2off,
            flags: 0,
        })
    }

    /// C's `parse_arena_meta`: the geometry an info block found at
    /// `arena_off` describes, unchecked (C checks none of it; see
    /// [`Self::check_bounds`]). The size is `nextoff`, or for the last
    /// arena up to the end of its backup info block. Sums wrap as C's do.
    pub fn from_info(info: &InfoBlock, arena_off: u64, external_lba_start: u64) -> Self {
        let info2off = arena_off.wrapping_add(info.info2off);
        let size = if info.nextoff > 0 {
            info.nextoff
        } else {
            info2off.wrapping_sub(arena_off).wrapping_add(BTT_PG_SIZE)
        };
        ArenaLayout {
            size,
            external_lba_start,
            internal_lbasize: info.internal_lbasize,
            internal_nlba: info.internal_nlba,
            external_lbasize: info.external_lbasize,
            external_nlba: info.external_nlba,
            nfree: info.nfree,
            nextoff: info.nextoff,
            infooff: arena_off,
            dataoff: arena_off.wrapping_add(info.dataoff),
            mapoff: arena_off.wrapping_add(info.mapoff),
            logoff: arena_off.wrapping_add(info.logoff),
            info2off,
            flags: info.flags,
        }
    }

    /// A sanity check C does not make (it relies on out-of-range namespace
    /// I/O failing): the parts are in order, do not overlap, hold what the
    /// counts say, and end within `rawsize` bytes of BTT; `internal_nlba`
    /// covers `external_nlba + nfree` and block sizes are non-zero.
    /// `BadGeometry` otherwise. Every arena C creates passes.
    pub fn check_bounds(&self, rawsize: u64) -> Result<(), BttError> {
        let ok = (|| {
            let data_end = self
                .dataoff
                .checked_add(u64::from(self.internal_nlba).checked_mul(self.internal_lbasize.into())?)?;
            let map_end = self.mapoff.checked_add(u64::from(self.external_nlba) * MAP_ENT_SIZE as u64)?;
            let log_end = self.logoff.checked_add(u64::from(self.nfree) * LOG_GRP_SIZE as u64)?;
            let end = self.info2off.checked_add(INFO_SIZE as u64)?;
            Some(
                self.infooff.checked_add(INFO_SIZE as u64)? <= self.dataoff
                    && data_end <= self.mapoff
                    && map_end <= self.logoff
                    && log_end <= self.info2off
                    && end <= rawsize
                    && end - self.infooff <= self.size
                    && self.internal_lbasize >= self.external_lbasize
                    && self.external_lbasize > 0
                    && self.nfree > 0
                    && u64::from(self.external_nlba) + u64::from(self.nfree)
                        <= u64::from(self.internal_nlba),
            )
        })();
        if ok == Some(true) {
            Ok(())
        } else {
            Err(BttError::BadGeometry)
        }
    }

    /// Where the next arena starts (absolute), if there is one.
    pub fn next_arena_offset(&self) -> Option<u64> {
        (self.nextoff != 0).then(|| self.infooff.wrapping_add(self.nextoff))
    }

    /// Offset of the map entry of `premap` (C: `mapoff + lba * 4`).
    pub fn map_entry_offset(&self, premap: u32) -> u64 {
        self.mapoff + u64::from(premap) * MAP_ENT_SIZE as u64
    }

    /// Offset of lane `lane`'s 64-byte flog group.
    pub fn log_group_offset(&self, lane: u32) -> u64 {
        self.logoff + u64::from(lane) * LOG_GRP_SIZE as u64
    }

    /// Offset of data block `postmap` (C: `to_namespace_offset`); its
    /// integrity bytes follow the sector's data.
    pub fn data_offset(&self, postmap: u32) -> u64 {
        self.dataoff + u64::from(postmap) * u64::from(self.internal_lbasize)
    }

    /// The entry C's `btt_log_init` writes in sub-slot 0 of lane `lane`
    /// of a new arena (the rest of the flog and the whole map zeroed):
    /// spare block `external_nlba + lane` as both old and new block, seq 1.
    pub fn initial_log_entry(&self, lane: u32) -> super::LogEntry {
        let spare = self.external_nlba + lane;
        super::LogEntry { lba: lane, old_map: spare, new_map: spare, seq: super::LOG_SEQ_INIT }
    }

    /// Size of the map area as C zeroes it (`logoff - mapoff`).
    pub fn map_size(&self) -> u64 {
        self.logoff - self.mapoff
    }

    /// Size of the flog area as C zeroes it (`info2off - logoff`).
    pub fn log_size(&self) -> u64 {
        self.info2off - self.logoff
    }

    /// Whether this arena holds external LBA `lba` (0-based over the BTT),
    /// and if so its premap LBA in the arena (C: `lba_to_arena`).
    pub fn premap(&self, lba: u64) -> Option<u32> {
        let rel = lba.checked_sub(self.external_lba_start)?;
        (rel < u64::from(self.external_nlba)).then_some(rel as u32)
    }
}

/// The arenas C creates on `rawsize` bytes of BTT (the namespace's size
/// minus the initial offset) for sector size `lbasize` (C's
/// `create_arenas`): 512 GiB each while at least that much remains, then
/// the rest; a last piece below 16 MiB is left unused. `TooSmall` below
/// 16 MiB (C: `-ENXIO`), `BadLbasize` for an unsupported size.
pub fn arenas(rawsize: u64, lbasize: u32) -> Result<Arenas, BttError> {
    if !LBASIZE_SUPPORTED.contains(&lbasize) {
        return Err(BttError::BadLbasize);
    }
    if rawsize < ARENA_MIN_SIZE {
        return Err(BttError::TooSmall);
    }
    Ok(Arenas { remaining: rawsize, off: 0, nlba: 0, lbasize })
}

/// Sectors a new BTT on `rawsize` bytes exports (C's `btt->nlba`); the
/// disk's capacity is this times the sector size.
pub fn total_external_nlba(rawsize: u64, lbasize: u32) -> Result<u64, BttError> {
    Ok(arenas(rawsize, lbasize)?.map(|a| u64::from(a.external_nlba)).sum())
}

/// Iterator over the arenas of a new BTT; see [`arenas`].
#[derive(Clone, Debug)]
pub struct Arenas {
    remaining: u64,
    off: u64,
    nlba: u64,
    lbasize: u32,
}

impl Iterator for Arenas {
    type Item = ArenaLayout;

    fn next(&mut self) -> Option<ArenaLayout> {
        let size = self.remaining.min(ARENA_MAX_SIZE);
        self.remaining -= size;
        if size < ARENA_MIN_SIZE {
            self.remaining = 0;
            return None;
        }
        let mut arena = ArenaLayout::new(size, self.nlba, self.off, self.lbasize).ok()?;
        if self.remaining >= ARENA_MIN_SIZE {
            arena.nextoff = size;
        }
        self.nlba += u64::from(arena.external_nlba);
        self.off += size;
        Some(arena)
    }
}

/// What reading one info block during discovery found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryStep {
    /// The first info block is not valid: no BTT on this namespace yet
    /// (C: `INIT_NOTFOUND`, "No existing arenas"); create one.
    NotFound,
    /// A valid arena; load it (log indices, free list), then read the next
    /// info block if [`Discovery::next_info_offset`] says so.
    Arena(ArenaLayout),
}

/// C's `discover_arenas` walk over an existing chain, without the I/O:
/// read 4 KiB at [`Self::next_info_offset`] (plus the initial offset),
/// hand it to [`Self::accept`], repeat while there is a next offset.
/// C's further per-arena checks are the caller's: `nfree` at least the
/// region's lane count ("nfree %u smaller than lane count %d",
/// `-ENODEV`), then [`super::LogIndexDetector`] and [`super::recover_arena`].
#[derive(Clone, Debug)]
pub struct Discovery {
    rawsize: u64,
    remaining: u64,
    off: u64,
    nlba: u64,
    arenas: u32,
    done: bool,
}

impl Discovery {
    /// A walk over `rawsize` bytes of BTT.
    pub fn new(rawsize: u64) -> Self {
        Discovery { rawsize, remaining: rawsize, off: 0, nlba: 0, arenas: 0, done: rawsize == 0 }
    }

    /// Where (from the BTT's start) the next info block is to be read;
    /// `None` once the chain ended.
    pub fn next_info_offset(&self) -> Option<u64> {
        (!self.done).then_some(self.off)
    }

    /// Takes the info block read at [`Self::next_info_offset`]. An invalid
    /// first block is `NotFound`; an invalid later one `CorruptChain`
    /// (C: "Found corrupted metadata!", `-ENODEV`). As in C, the remaining
    /// size is not checked against the arena's (it wraps); a chain running
    /// off the namespace ends in the caller's failed read.
    pub fn accept(&mut self, block: &[u8], ns_uuid: &[u8; 16]) -> Result<DiscoveryStep, BttError> {
        if self.done {
            return Err(BttError::BadGeometry);
        }
        let info = match InfoBlock::validate(block, ns_uuid) {
            Ok(info) => info,
            Err(BttError::TooShort) => return Err(BttError::TooShort),
            Err(_) if self.remaining == self.rawsize => {
                self.done = true;
                return Ok(DiscoveryStep::NotFound);
            }
            Err(_) => {
                self.done = true;
                return Err(BttError::CorruptChain);
            }
        };
        let arena = ArenaLayout::from_info(&info, self.off, self.nlba);
        self.remaining = self.remaining.wrapping_sub(arena.size);
        self.off = self.off.wrapping_add(arena.size);
        self.nlba = self.nlba.wrapping_add(arena.external_nlba.into());
        self.arenas += 1;
        if arena.nextoff == 0 || self.remaining == 0 {
            self.done = true;
        }
        Ok(DiscoveryStep::Arena(arena))
    }

    /// External sectors of the arenas accepted so far (C's `btt->nlba`).
    pub fn nlba(&self) -> u64 {
        self.nlba
    }

    /// Arenas accepted so far.
    pub fn num_arenas(&self) -> u32 {
        self.arenas
    }
}
