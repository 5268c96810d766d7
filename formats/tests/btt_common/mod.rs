//! An in-memory arena (map and flog only) and a model of C's write path
//! (`btt_write_pg`) whose media writes can be cut.
#![allow(dead_code)]

use nd_formats::btt::*;

/// An arena's map and flog in memory.
pub struct MemArena {
    pub arena: ArenaLayout,
    pub map: Vec<MapEntry>,
    pub log: Vec<[u8; LOG_GRP_SIZE]>,
    /// What each data block holds: (premap, version) of the write that
    /// filled it; a new arena's block b holds (b, 0), what an unwritten
    /// sector reads; `TORN` after a cut data write.
    pub data: Vec<(u32, u32)>,
}

/// A data block whose write the power cut.
pub const TORN: (u32, u32) = (u32::MAX, u32::MAX);

impl MemArena {
    /// What sector `premap` reads now.
    pub fn read(&self, premap: u32) -> (u32, u32) {
        self.data[self.map[premap as usize].postmap(premap) as usize]
    }
}

impl ArenaMedia for MemArena {
    type Error = BttError;
    fn read_log_group(&mut self, lane: u32) -> Result<[u8; LOG_GRP_SIZE], BttError> {
        self.log.get(lane as usize).copied().ok_or(BttError::OutOfRange)
    }
    fn read_map(&mut self, premap: u32) -> Result<MapEntry, BttError> {
        self.map.get(premap as usize).copied().ok_or(BttError::OutOfRange)
    }
    fn write_map(&mut self, premap: u32, entry: MapEntry) -> Result<(), BttError> {
        *self.map.get_mut(premap as usize).ok_or(BttError::OutOfRange)? = entry;
        Ok(())
    }
}

/// What C's `btt_map_init` and `btt_log_init` leave: a zero map, and each
/// lane's first entry naming spare block `external_nlba + lane`, seq 1.
pub fn fresh_arena(rawsize: u64, lbasize: u32) -> MemArena {
    let arena = arenas(rawsize, lbasize).unwrap().next().unwrap();
    let mut log = vec![[0u8; LOG_GRP_SIZE]; arena.nfree as usize];
    for (i, g) in log.iter_mut().enumerate() {
        let e = arena.initial_log_entry(i as u32);
        let b = arena.external_nlba + i as u32;
        assert_eq!(e, LogEntry { lba: i as u32, old_map: b, new_map: b, seq: LOG_SEQ_INIT });
        g[..16].copy_from_slice(&e.to_bytes());
    }
    let data = (0..arena.internal_nlba).map(|b| (b, 0)).collect();
    MemArena { arena, map: vec![MapEntry(0); arena.external_nlba as usize], log, data }
}

/// C's write path over a [`MemArena`]: the data write is not modelled
/// (it goes to a free block nobody reads), then the flog entry in two
/// 8-byte halves, then the map entry. Each of those three media writes
/// costs one unit of `budget`; at 0 the write stops (a power cut), with
/// the half-written state left on the media.
pub struct Writer {
    pub free: Vec<FreeEntry>,
    pub torn_lba: Option<u32>,
    /// The flog layout it writes.
    pub layout: LogLayout,
}

impl Writer {
    pub fn load(m: &mut MemArena) -> Result<Self, BttError> {
        let a = m.arena;
        let layout = detect_log_layout(m, a.nfree)?;
        Self::load_as(m, layout)
    }

    /// Loads with a given flog layout, as a kernel that knows only that
    /// one (before 4.15: unpadded) would.
    pub fn load_as(m: &mut MemArena, layout: LogLayout) -> Result<Self, BttError> {
        let a = m.arena;
        let mut free = vec![FreeEntry::default(); a.nfree as usize];
        recover_arena(m, &a, layout, &mut free)?;
        Ok(Writer { free, torn_lba: None, layout })
    }

    /// One sector write of `premap` on `lane`; the block it now maps to.
    pub fn write(&mut self, m: &mut MemArena, lane: u32, premap: u32, budget: &mut u32) -> Result<u32, ()> {
        self.write_data(m, lane, premap, None, budget)
    }

    /// [`Self::write`], with the data write of version `ver` modelled
    /// first (one more media write that the cut can tear).
    pub fn write_data(
        &mut self,
        m: &mut MemArena,
        lane: u32,
        premap: u32,
        ver: Option<u32>,
        budget: &mut u32,
    ) -> Result<u32, ()> {
        let f = self.free[lane as usize];
        let new_block = f.block;
        if let Some(ver) = ver {
            if *budget == 0 {
                self.torn_lba = Some(premap);
                m.data[new_block as usize] = TORN;
                return Err(());
            }
            *budget -= 1;
            m.data[new_block as usize] = (premap, ver);
        }
        let mut spend = |torn: &mut Option<u32>| {
            if *budget == 0 {
                *torn = Some(premap);
                return Err(());
            }
            *budget -= 1;
            Ok(())
        };
        let cur = m.map[premap as usize].lookup(premap);
        let mut old = cur.postmap;
        if cur.error {
            old |= MAP_ERR_MASK;
        }
        let ent = LogEntry { lba: premap, old_map: old, new_map: new_block, seq: f.seq.into() };
        assert_eq!(f.log_entry(premap, cur), ent);
        let off = self.layout.entry_offset(f.sub.into());
        let bytes = ent.to_bytes();
        spend(&mut self.torn_lba)?;
        m.log[lane as usize][off..off + 8].copy_from_slice(&bytes[..8]);
        spend(&mut self.torn_lba)?;
        m.log[lane as usize][off + 8..off + 16].copy_from_slice(&bytes[8..]);
        self.free[lane as usize].advance(old);
        spend(&mut self.torn_lba)?;
        m.map[premap as usize] = MapEntry::new(new_block, false, false).unwrap();
        Ok(new_block)
    }
}
