// SPDX-License-Identifier: GPL-2.0
//! One arena of a BTT at run time (C's `struct arena_info`): its geometry,
//! the flog layout found on the media, the per-lane free blocks, the read
//! tracking table and the map locks, and the metadata I/O (map entries,
//! flog entries, info blocks) the read and write paths and init use.
//!
//! What the metadata means (codecs, layout, the recovery decisions) is in
//! formats::btt; this file only moves it between the media and memory.

use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::sync::Mutex;

use crate::formats::btt::{
    ArenaLayout, BttVersion, FreeEntry, InfoBlock, LogEntry, LogGroup, LogIndexDetector, LogLayout, MapEntry,
    Mapping, IB_FLAG_ERROR_MASK, INFO_SIZE, LOG_GRP_SIZE, LOG_SEQ_INIT, MAP_ENT_SIZE, RTT_INVALID,
    RTT_VALID,
};
use crate::media::Media;
use crate::{dev_dbg, dev_err, dev_info};

/// Map locks per arena. C has one per free block (`nfree`, 256 on every
/// arena it creates) and picks one by the map entry's cache line modulo
/// `nfree`; any fixed count gives the same exclusion, so ours is fixed.
const MAP_LOCKS: usize = 256;
/// Map entries sharing a cache line share a lock (C's `L1_CACHE_BYTES`).
const MAP_LOCK_SPAN: u32 = 64;
/// The writes that zero a new arena's map (C's `btt_map_init`: 2 MiB) and
/// flog (`btt_log_init`: 4 KiB), and an errored free block
/// (`arena_clear_freelist_error`: a page). Each write flushes the region,
/// so these are also C's number of flushes (on virtio-pmem, host fsyncs).
const MAP_INIT_CHUNK: usize = 2 << 20;
const LOG_INIT_CHUNK: usize = 4096;
const CLEAR_CHUNK: usize = 4096;

/// A lane's free-list entry, packed in one word so that the lane holder
/// updates it without a lock and error clearing can drop its flag.
struct FreeSlot(AtomicU64);

impl FreeSlot {
    const ERR: u64 = 1 << 48;

    fn new(e: FreeEntry) -> Self {
        Self(AtomicU64::new(Self::pack(e)))
    }

    fn pack(e: FreeEntry) -> u64 {
        u64::from(e.block) | u64::from(e.sub) << 32 | u64::from(e.seq) << 40 | if e.has_err { Self::ERR } else { 0 }
    }

    fn get(&self) -> FreeEntry {
        let v = self.0.load(Ordering::Acquire);
        FreeEntry { block: v as u32, sub: (v >> 32) as u8, seq: (v >> 40) as u8, has_err: v & Self::ERR != 0 }
    }

    fn set(&self, e: FreeEntry) {
        self.0.store(Self::pack(e), Ordering::Release);
    }

    fn mark_err(&self) {
        self.0.fetch_or(Self::ERR, Ordering::AcqRel);
    }

    fn clear_err(&self) {
        self.0.fetch_and(!Self::ERR, Ordering::AcqRel);
    }
}

/// One map lock on a cache line of its own, as C pads them. C's is a
/// spinlock, held while the flog entry and the map entry are written, and
/// each of those writes flushes the region: on virtio-pmem that flush
/// takes a mutex and waits for the host, which C therefore does in atomic
/// context (DEBUG_ATOMIC_SLEEP reports it; on SMP a task spinning for the
/// lock waits out the host's fsync). Every writer takes the lock in task
/// context under its lane's mutex, so ours is a mutex: the same exclusion,
/// and the flush may sleep.
#[pin_data]
#[repr(align(64))]
struct MapLock {
    #[pin]
    lock: Mutex<()>,
}

#[pin_data]
struct MapLocks {
    #[pin]
    locks: [MapLock; MAP_LOCKS],
}

/// A loaded arena, ready for I/O.
pub(crate) struct Arena {
    /// Where everything lies, from the BTT's start.
    pub(crate) lay: ArenaLayout,
    /// Which flog slots hold entries.
    log: LogLayout,
    /// Bytes of data per block that the disk moves (512 or 4096).
    sector_size: u32,
    /// Each lane's free block; lane `i` owns `free[i]` while it holds the
    /// region's lane `i`.
    free: KVec<FreeSlot>,
    /// The read tracking table: `RTT_VALID | block` while lane `i` reads
    /// that block.
    rtt: KVec<AtomicU32>,
    /// How many slots of `rtt`, from the first, a lane may use: a writer
    /// waiting for readers looks at these only. Lanes are `cpu % num_lanes`
    /// (C's `nd_region_acquire_lane`), so below `nr_cpu_ids`; C scans all
    /// `nfree` slots (256), which on a machine of a few CPUs is most of the
    /// BTT's own instructions per write, over slots no lane ever uses. A
    /// lane at or above it (never seen) raises it before it announces.
    rtt_used: AtomicU32,
    map_locks: Pin<KBox<MapLocks>>,
    /// Serialises clearing of errored free blocks (C's `err_lock`).
    err_lock: Pin<KBox<Mutex<()>>>,
    /// Clearings in progress: writers back off meanwhile, as C's do on
    /// `mutex_is_locked(&arena->err_lock)`.
    clearing: AtomicU32,
}

/// How a read of one sector ended, before the data copy.
pub(crate) enum ReadPlan {
    /// The map says zeros.
    Zeros,
    /// Read this block; the read tracking slot of the lane holds it.
    Block(u32),
}

impl Arena {
    fn alloc(lay: ArenaLayout, log: LogLayout, sector_size: u32) -> Result<Self> {
        let n = lay.nfree as usize;
        let mut free = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut rtt = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            free.push(FreeSlot::new(FreeEntry::default()), GFP_KERNEL)?;
            rtt.push(AtomicU32::new(RTT_INVALID), GFP_KERNEL)?;
        }
        let map_locks = KBox::pin_init(
            pin_init!(MapLocks {
                locks <- kernel::init::pin_init_array_from_fn(|_| pin_init!(MapLock { lock <- new_mutex!(()) })),
            }),
            GFP_KERNEL,
        )?;
        let err_lock = KBox::pin_init(new_mutex!(()), GFP_KERNEL)?;
        let rtt_used = AtomicU32::new(lay.nfree.min(crate::glue::lock::nr_cpu_ids()));
        Ok(Self { lay, log, sector_size, free, rtt, rtt_used, map_locks, err_lock, clearing: AtomicU32::new(0) })
    }

    /// C's discovery of one arena after its info block was accepted: the
    /// lane count check, the flog layout, then the free list (with C's
    /// repair of an interrupted write).
    pub(crate) fn load(media: &Media, lay: ArenaLayout, sector_size: u32, num_lanes: u32) -> Result<Self> {
        if lay.nfree < num_lanes {
            dev_err!(media.device(), "nfree {} smaller than lane count {}\n", lay.nfree, num_lanes);
            return Err(ENODEV);
        }
        let log = match detect_log_layout(media, &lay) {
            Ok(l) => l,
            Err(e) => {
                dev_err!(media.device(), "Unable to deduce log/padding indices\n");
                return Err(e);
            }
        };
        dev_dbg!(media.device(), "log_index_0 = {}\n", log.slots()[0]);
        dev_dbg!(media.device(), "log_index_1 = {}\n", log.slots()[1]);
        let arena = Self::alloc(lay, log, sector_size)?;
        arena.init_free_list(media)?;
        Ok(arena)
    }

    /// C's `btt_arena_write_layout` then the free list: a new arena's map
    /// (all zeros: identity), flog (each lane's first entry naming its
    /// spare block) and info blocks (backup first).
    pub(crate) fn create(
        media: &Media,
        lay: ArenaLayout,
        sector_size: u32,
        uuid: [u8; 16],
        parent_uuid: [u8; 16],
        version: BttVersion,
    ) -> Result<Self> {
        let arena = Self::alloc(lay, LogLayout::Padded, sector_size)?;
        media.write_zeroes(lay.mapoff, lay.map_size(), MAP_INIT_CHUNK)?;
        media.write_zeroes(lay.logoff, lay.log_size(), LOG_INIT_CHUNK)?;
        for lane in 0..lay.nfree {
            let spare = lay.external_nlba + lane;
            let ent = LogEntry { lba: lane, old_map: spare, new_map: spare, seq: LOG_SEQ_INIT };
            arena.write_log_entry(media, lane, 0, &ent, false)?;
        }
        let mut block = zeroed_vec::<u8, Kmalloc>(INFO_SIZE, GFP_KERNEL)?;
        let mut info = InfoBlock::for_arena(&lay, uuid, parent_uuid, version);
        info.write_sealed(&mut block).map_err(|_| EINVAL)?;
        media.write(lay.info2off, &block, false)?;
        media.write(lay.infooff, &block, false)?;
        arena.init_free_list(media)?;
        Ok(arena)
    }

    /// C's `btt_freelist_init`.
    fn init_free_list(&self, media: &Media) -> Result {
        for lane in 0..self.lay.nfree {
            let group = self.read_log_group(media, lane)?;
            let rec = match crate::formats::btt::recover_lane(&group, self.log) {
                Ok(r) => r,
                Err(crate::formats::btt::BttError::LogCorruption { seq }) => {
                    dev_err!(media.device(), "log corruption (-22): lane {} seq [{}, {}]\n", lane, seq[0], seq[1]);
                    return Err(EIO);
                }
                Err(_) => return Err(EIO),
            };
            self.free[lane as usize].set(rec.free);
            if rec.free.has_err && self.clear_free_error(media, lane as usize).is_err() {
                dev_err!(media.device(), "Unable to clear known errors\n");
            }
            if let Some(pending) = rec.check_map {
                let current = self.read_map_raw(media, pending.premap)?;
                if let Some(entry) = pending.decide(current) {
                    self.write_map_raw(media, pending.premap, entry, false)?;
                }
            }
        }
        Ok(())
    }

    /// Writes are refused on an arena whose info block carries the error
    /// flag (C: EIO).
    pub(crate) fn has_error(&self) -> bool {
        self.lay.flags & IB_FLAG_ERROR_MASK != 0
    }

    // ---- map

    #[inline]
    fn read_map_raw(&self, media: &Media, premap: u32) -> Result<MapEntry> {
        if premap >= self.lay.external_nlba {
            self.map_range_error(media, "btt_map_read", premap);
        }
        let mut b = [0u8; MAP_ENT_SIZE];
        media.read(self.lay.map_entry_offset(premap), &mut b)?;
        Ok(MapEntry::from_bytes(b))
    }

    #[inline]
    fn write_map_raw(&self, media: &Media, premap: u32, entry: MapEntry, atomic: bool) -> Result {
        if premap >= self.lay.external_nlba {
            self.map_range_error(media, "__btt_map_write", premap);
        }
        media.write(self.lay.map_entry_offset(premap), &entry.to_bytes(), atomic)
    }

    /// C's complaint about a map entry beyond the arena (the access still
    /// goes ahead, as in C).
    #[cold]
    fn map_range_error(&self, media: &Media, what: &str, premap: u32) {
        dev_err!(media.device(), "{}: lba {:#x} out of range (max: {:#x})\n", what, premap, self.lay.external_nlba);
    }

    /// C's `btt_map_read`.
    #[inline]
    pub(crate) fn map_lookup(&self, media: &Media, premap: u32) -> Result<Mapping> {
        Ok(self.read_map_raw(media, premap)?.lookup(premap))
    }

    /// C's `btt_map_write`: `block` with the zero or error flag, or normal.
    pub(crate) fn map_set(&self, media: &Media, premap: u32, block: u32, zero: bool, error: bool) -> Result {
        let entry = MapEntry::new(block, zero, error).map_err(|_| {
            dev_err!(media.device(), "Invalid use of Z and E flags\n");
            EIO
        })?;
        self.write_map_raw(media, premap, entry, true)
    }

    /// Locks the map entry of `premap` against other writers (may sleep).
    pub(crate) fn lock_map(&self, premap: u32) -> kernel::sync::lock::Guard<'_, (), kernel::sync::lock::mutex::MutexBackend> {
        let idx = (premap.wrapping_mul(MAP_ENT_SIZE as u32) / MAP_LOCK_SPAN) as usize % MAP_LOCKS;
        self.map_locks.locks[idx].lock.lock()
    }

    // ---- flog

    fn read_log_group(&self, media: &Media, lane: u32) -> Result<LogGroup> {
        read_log_group(media, &self.lay, lane)
    }

    /// C's `__btt_log_write`: the entry in two 8-byte halves, each a
    /// durable atomic write, so that `seq` lands last.
    fn write_log_entry(&self, media: &Media, lane: u32, sub: u8, ent: &LogEntry, atomic: bool) -> Result {
        let off = self.lay.log_group_offset(lane) + self.log.entry_offset(sub.into()) as u64;
        let [first, second] = ent.halves();
        media.write(off, &first, atomic)?;
        media.write(off + first.len() as u64, &second, atomic)
    }

    /// C's `btt_flog_write`: logs a write on `lane` and makes the block it
    /// replaced the lane's next free one.
    pub(crate) fn log_write(&self, media: &Media, lane: usize, ent: &LogEntry) -> Result {
        let mut f = self.free[lane].get();
        self.write_log_entry(media, lane as u32, f.sub, ent, true)?;
        f.advance(ent.old_map);
        self.free[lane].set(f);
        Ok(())
    }

    // ---- free blocks and read tracking

    /// Lane `lane`'s free entry.
    #[inline]
    pub(crate) fn free_entry(&self, lane: usize) -> FreeEntry {
        self.free[lane].get()
    }

    /// Marks lane `lane`'s free block as holding an error.
    pub(crate) fn mark_free_error(&self, lane: usize) {
        self.free[lane].mark_err();
    }

    /// Whether some lane is clearing an error now.
    pub(crate) fn clearing(&self) -> bool {
        self.clearing.load(Ordering::Acquire) != 0
    }

    /// C's `arena_clear_freelist_error`: zeros over the errored free block
    /// of `lane`, which clears the poison under it (a plain, non-atomic
    /// namespace write).
    pub(crate) fn clear_free_error(&self, media: &Media, lane: usize) -> Result {
        let f = self.free[lane].get();
        if !f.has_err {
            return Ok(());
        }
        let _guard = self.err_lock.lock();
        self.clearing.fetch_add(1, Ordering::AcqRel);
        let res = media.write_zeroes(self.lay.data_offset(f.block), self.sector_size.into(), CLEAR_CHUNK);
        if res.is_ok() {
            self.free[lane].clear_err();
        }
        self.clearing.fetch_sub(1, Ordering::AcqRel);
        res
    }

    /// Announces that `lane` reads `block`: writers will not reuse it until
    /// [`Arena::end_read`]. The store is ordered before the map is read
    /// again (a full fence: the writer's side is a store to the map, then
    /// loads of this table).
    pub(crate) fn track_read(&self, lane: usize, block: u32) {
        if lane as u32 >= self.rtt_used.load(Ordering::Relaxed) {
            // Ordered before the announcement: a writer that does not see
            // the raise reads the map before this reader reads it again.
            self.rtt_used.fetch_max(lane as u32 + 1, Ordering::SeqCst);
        }
        self.rtt[lane].store(RTT_VALID | block, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The read of `lane` is done.
    pub(crate) fn end_read(&self, lane: usize) {
        self.rtt[lane].store(RTT_INVALID, Ordering::Release);
    }

    /// Waits until no lane reads `block` (C's loop over the read tracking
    /// table, over the slots lanes use).
    pub(crate) fn wait_readers(&self, block: u32) {
        let busy = RTT_VALID | block;
        let used = self.rtt_used.load(Ordering::SeqCst) as usize;
        for slot in self.rtt.iter().take(used) {
            while slot.load(Ordering::Acquire) == busy {
                core::hint::spin_loop();
            }
        }
    }
}

fn read_log_group(media: &Media, lay: &ArenaLayout, lane: u32) -> Result<LogGroup> {
    let mut b = [0u8; LOG_GRP_SIZE];
    media.read(lay.log_group_offset(lane), &mut b)?;
    Ok(LogGroup::from_bytes(&b))
}

/// C's `log_set_indices` over the arena's lanes.
fn detect_log_layout(media: &Media, lay: &ArenaLayout) -> Result<LogLayout> {
    let mut d = LogIndexDetector::new();
    for lane in 0..lay.nfree {
        d.feed(&read_log_group(media, lay, lane)?).map_err(|_| ENXIO)?;
    }
    d.finish().map_err(|_| ENXIO)
}

/// Reads the info block at `off` (from the BTT's start).
pub(crate) fn read_info(media: &Media, off: u64) -> Result<KVec<u8>> {
    let mut block = zeroed_vec::<u8, Kmalloc>(INFO_SIZE, GFP_KERNEL)?;
    media.read(off, &mut block)?;
    Ok(block)
}

/// Logs the info block's error flag as C does when it validates one.
pub(crate) fn note_error_flag(media: &Media, lay: &ArenaLayout) {
    if lay.flags & IB_FLAG_ERROR_MASK != 0 {
        dev_info!(media.device(), "Found arena with an error flag\n");
    }
}
