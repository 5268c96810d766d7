// SPDX-License-Identifier: GPL-2.0
//! The BTT's read and write paths (C's `btt_read_pg`, `btt_write_pg`,
//! `btt_submit_bio`), a sector at a time.
//!
//! A write goes to the lane's free block, then the flog records
//! `(lba, old block, new block, seq)`, then the map entry flips under its
//! lock: a power cut leaves either the old or the new sector. The block the
//! map no longer points to becomes the lane's next free block. Readers
//! announce the block they copy from in the read tracking table, and a
//! writer waits for them before reusing it.

use kernel::prelude::*;

use crate::arena::{Arena, ReadPlan};
use crate::formats::btt::LogEntry;
use crate::glue::block::{Bio, DiskOps, Geometry, Integrity, SECTOR_SIZE};
use crate::media::Media;
use crate::{dev_err, dev_warn};

/// A BTT over a namespace: its arenas, and the disk's geometry.
pub(crate) struct Btt {
    pub(crate) media: Media,
    pub(crate) arenas: KVec<Arena>,
    /// Sectors the disk exports.
    pub(crate) nlba: u64,
    /// The disk's logical block size, 512 or 4096.
    pub(crate) sector_size: u32,
    /// Integrity metadata bytes after each sector's data in its block (0
    /// for 512 and 4096).
    pub(crate) meta_size: u32,
}

impl Btt {
    /// C's `lba_to_arena`: the arena holding the sector at 512-byte
    /// `sector`, and its premap LBA there.
    #[inline]
    fn arena_of(&self, sector: u64) -> Result<(&Arena, u32)> {
        // checked: no division-by-zero panic path (objtool 6.12 does not
        // know Rust's panic_const_div_by_zero is noreturn; building.md).
        let lba = (sector << 9).checked_div(u64::from(self.sector_size)).ok_or(EIO)?;
        self.arenas.iter().find_map(|a| a.lay.premap(lba).map(|p| (a, p))).ok_or(EIO)
    }

    /// Where the read of `premap` comes from, with the lane's read tracking
    /// slot holding the block once it returns `Block` (C's loop: the map is
    /// read again after the announcement, until it did not change).
    fn plan_read(&self, arena: &Arena, lane: usize, premap: u32) -> Result<ReadPlan> {
        let mut m = arena.map_lookup(&self.media, premap)?;
        loop {
            if m.zero || m.error {
                // Nothing to copy: no block stays announced.
                arena.end_read(lane);
                return if m.zero { Ok(ReadPlan::Zeros) } else { Err(EIO) };
            }
            arena.track_read(lane, m.postmap);
            let again = match arena.map_lookup(&self.media, premap) {
                Ok(a) => a,
                Err(e) => {
                    arena.end_read(lane);
                    return Err(e);
                }
            };
            if again == m {
                return Ok(ReadPlan::Block(m.postmap));
            }
            m = again;
        }
    }

    /// Reads one sector (`buf` is the sector's data) at 512-byte `sector`,
    /// and its metadata into the bio's integrity payload if it has one.
    fn read_sector(&self, sector: u64, buf: &mut [u8], meta: Option<&mut Integrity<'_>>) -> Result {
        let lane = self.media.lane()?;
        let (arena, premap) = self.arena_of(sector)?;
        let l = lane.index() as usize;
        let block = match self.plan_read(arena, l, premap)? {
            ReadPlan::Zeros => {
                buf.fill(0);
                // The sector's tuple reads as zeros, like its data, and the
                // payload moves on to the next sector's. (C skips the
                // payload here, so the next sector's tuple fills this
                // one's place.)
                if let Some(m) = meta {
                    m.transfer(self.meta_size as usize, |_, t| {
                        t.fill(0);
                        Ok(())
                    })?;
                }
                return Ok(());
            }
            ReadPlan::Block(b) => b,
        };
        let data = arena.lay.data_offset(block);
        let res = self.media.read(data, buf);
        if res.is_ok() {
            if let Some(m) = meta {
                // A media error here fails the read without flagging the
                // map entry, as in C: the data itself read fine.
                let at = data + u64::from(self.sector_size);
                let r = m.transfer(self.meta_size as usize, |off, t| self.media.read(at + off as u64, t));
                arena.end_read(l);
                return r;
            }
        }
        if res.is_err() {
            // A media error: remember it in the map, so that later reads
            // fail without touching the poison, until a write replaces it.
            if arena.map_set(&self.media, premap, block, false, true).is_err() {
                dev_warn!(self.media.device(), "Error persistently tracking bad blocks at {:#x}\n", premap);
            }
        }
        arena.end_read(l);
        res
    }

    /// Writes one sector at 512-byte `sector` from `buf`, and its metadata
    /// from the bio's integrity payload if it has one.
    fn write_sector(&self, sector: u64, buf: &[u8], mut meta: Option<&mut Integrity<'_>>) -> Result {
        loop {
            let lane = self.media.lane()?;
            let (arena, premap) = self.arena_of(sector)?;
            let l = lane.index() as usize;
            if arena.has_error() {
                return Err(EIO);
            }
            let free = arena.free_entry(l);
            if self.media.is_bad(arena.lay.data_offset(free.block), arena.lay.internal_lbasize.into()) {
                arena.mark_free_error(l);
            }
            if arena.clearing() || arena.free_entry(l).has_err {
                // Clear outside the lane, then start over on whatever lane
                // this CPU gets.
                drop(lane);
                arena.clear_free_error(&self.media, l)?;
                continue;
            }
            let new_block = free.block;
            arena.wait_readers(new_block);
            if new_block >= arena.lay.internal_nlba {
                return Err(EIO);
            }
            let data = arena.lay.data_offset(new_block);
            self.media.write(data, buf, true)?;
            if let Some(m) = meta.as_deref_mut() {
                let at = data + u64::from(self.sector_size);
                m.transfer(self.meta_size as usize, |off, t| self.media.write(at + off as u64, t, true))?;
            }

            let old_had_err = {
                let _map = arena.lock_map(premap);
                let old = arena.map_lookup(&self.media, premap)?;
                if old.postmap >= arena.lay.internal_nlba {
                    return Err(EIO);
                }
                let old_map = if old.error { old.postmap | crate::formats::btt::MAP_ERR_MASK } else { old.postmap };
                let ent = LogEntry { lba: premap, old_map, new_map: new_block, seq: free.seq.into() };
                arena.log_write(&self.media, l, &ent)?;
                arena.map_set(&self.media, premap, new_block, false, false)?;
                old.error
            };
            drop(lane);
            if old_had_err {
                // The errored block just became this lane's free one.
                arena.clear_free_error(&self.media, l)?;
            }
            return Ok(());
        }
    }

    /// One page's worth of a bio (C's `btt_do_bvec`), a sector at a time.
    fn read_segment(&self, sector: u64, data: &mut [u8], mut meta: Option<&mut Integrity<'_>>) -> Result {
        let step = u64::from(self.sector_size) / SECTOR_SIZE;
        for (i, chunk) in data.chunks_mut(self.sector_size as usize).enumerate() {
            self.read_sector(sector + i as u64 * step, chunk, meta.as_deref_mut())?;
        }
        Ok(())
    }

    /// The same for a write.
    fn write_segment(&self, sector: u64, data: &[u8], mut meta: Option<&mut Integrity<'_>>) -> Result {
        let step = u64::from(self.sector_size) / SECTOR_SIZE;
        for (i, chunk) in data.chunks(self.sector_size as usize).enumerate() {
            self.write_sector(sector + i as u64 * step, chunk, meta.as_deref_mut())?;
        }
        Ok(())
    }
}

impl DiskOps for Btt {
    fn submit_bio(&self, bio: Bio<'_>) {
        // As C's btt_submit_bio: the metadata moved is that of a payload
        // the bio came with (an in-kernel integrity user's). C looks for
        // it before bio_integrity_prep, so the payload prep attaches to
        // user I/O (zeros for a write) is neither stored nor filled: the
        // media's metadata bytes stay as they were. Only a disk with
        // metadata bytes can have an integrity profile; the others skip
        // prep (C calls it for every bio).
        let arrived = self.meta_size > 0 && bio.has_integrity();
        let bio = if self.meta_size > 0 {
            match bio.prep_integrity() {
                Some(b) => b,
                None => return,
            }
        } else {
            bio
        };
        let mut meta = if arrived { bio.integrity() } else { None };
        let accounting = bio.account();
        let write = bio.is_write();
        let page = kernel::page::PAGE_SIZE;
        let ss = self.sector_size as usize;
        let mut status = Ok(());
        for mut seg in bio.page_segments() {
            let len = seg.len();
            if len > page || len < ss || len.checked_rem(ss) != Some(0) {
                dev_err!(self.media.device(), "unaligned bio segment (len: {})\n", len);
                status = Err(EIO);
                break;
            }
            let sector = seg.pos() / SECTOR_SIZE;
            let res = if write {
                self.write_segment(sector, seg.as_bytes(), meta.as_mut())
            } else {
                self.read_segment(sector, seg.as_bytes_mut(), meta.as_mut())
            };
            if let Err(e) = res {
                dev_err!(
                    self.media.device(),
                    "io error in {} sector {}, len {},\n",
                    if write { "WRITE" } else { "READ" },
                    sector,
                    len
                );
                status = Err(e);
                break;
            }
        }
        drop(accounting);
        bio.complete(status);
    }

    const HAS_GEOMETRY: bool = true;

    /// C's `btt_getgeo`: "some standard values".
    fn geometry(&self) -> Geometry {
        let capacity = self.nlba * u64::from(self.sector_size) / SECTOR_SIZE;
        Geometry { heads: 1 << 6, sectors: 1 << 5, cylinders: (capacity >> 11) as u16 }
    }
}
