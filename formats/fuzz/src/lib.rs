//! What the fuzz targets share: control bytes, checksum resealing, and the
//! label-area checks that both `label_area` and `label_update` run.
//!
//! A broken invariant panics, like a crash: libFuzzer saves the input under
//! `fuzz/artifacts/TARGET/` and stops.

use nd_formats::fletcher;
use nd_formats::label::{
    inc_seq, Geometry, IndexCopy, IndexHeader, LabelArea, LabelAreaMut, LabelSize, NamespaceLabel,
};

/// Offset of the index checksum, and of a v1.2 label's.
pub const INDEX_CHECKSUM: usize = 64;
/// See [`INDEX_CHECKSUM`].
pub const LABEL_CHECKSUM: usize = 248;

/// Choices a target makes besides its main input: read from a fixed-size
/// prefix of the input, zero once it runs out, so every input is valid.
pub struct Ctl<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Ctl<'a> {
    /// Splits `data` into `n` control bytes and the rest.
    pub fn split(data: &'a [u8], n: usize) -> (Self, &'a [u8]) {
        let (ctl, rest) = data.split_at(n.min(data.len()));
        (Ctl { bytes: ctl, pos: 0 }, rest)
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The next 8 bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |v, i| v | (self.u8() as u64) << (8 * i))
    }

    /// The next byte modulo `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        let b = self.u8() as usize;
        if n == 0 { 0 } else { b % n }
    }

    /// The next byte's low bit.
    pub fn bit(&mut self) -> bool {
        self.u8() & 1 != 0
    }
}

/// A label area from a control byte and a prefix of it: code 0 takes the
/// prefix as the whole area; code k in 1..=8 makes a `512 << k`-byte area
/// (1 KiB to 128 KiB) of the prefix, cut or padded with zeros. Areas are
/// mostly zeros past their first labels, so the corpus keeps prefixes
/// (the C images as stored in testdata/) and stays small.
pub fn area_from(code: u8, prefix: &[u8]) -> Vec<u8> {
    let k = code % 9;
    if k == 0 {
        return prefix.to_vec();
    }
    let size = 512usize << k;
    let mut area = prefix[..prefix.len().min(size)].to_vec();
    area.resize(size, 0);
    area
}

/// Recomputes the checksums the parsers check: for each label size, the
/// index blocks of that layout whose header claims that size, and if one
/// claims 256-byte labels, every v1.2 label slot. Without this most
/// mutations die at the first checksum. (Sealing the other layout's blocks
/// too would write into labels: a v1.2 checksum lands on the `slot` field
/// of every odd v1.1 label.)
pub fn reseal(data: &mut [u8]) {
    for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
        let Ok(geo) = Geometry::for_area(data, size) else { continue };
        let mut claimed = false;
        for copy in IndexCopy::BOTH {
            if let Some(block) = data.get_mut(geo.index_range(copy)) {
                if IndexHeader::parse(block).and_then(|h| h.label_size()) == Ok(size) {
                    fletcher::seal(block, INDEX_CHECKSUM);
                    claimed = true;
                }
            }
        }
        if claimed && size == LabelSize::Bytes256 {
            for slot in 0..geo.nslot() {
                if let Some(label) = geo.slot_range(slot).and_then(|r| data.get_mut(r)) {
                    fletcher::seal(label, LABEL_CHECKSUM);
                }
            }
        }
    }
}

/// What a label's bytes encode to: reserved bytes zero, and for v1.2 the
/// checksum resealed over that.
pub fn canonical_label(raw: &[u8], size: LabelSize) -> Vec<u8> {
    let mut c = raw[..size.bytes()].to_vec();
    c[125..128].fill(0);
    if size == LabelSize::Bytes256 {
        c[160..248].fill(0);
        fletcher::seal(&mut c, LABEL_CHECKSUM);
    }
    c
}

/// A decoded label encodes to its bytes with the reserved ones zeroed,
/// and decodes back to itself (checksum aside when reserved bytes were set).
pub fn label_round_trip(raw: &[u8], label: &NamespaceLabel) {
    let size = label.size;
    let mut out = vec![0u8; size.bytes()];
    let sum = label.write(&mut out).expect("write into a label-sized buffer");
    assert_eq!(out, canonical_label(raw, size), "label does not re-encode to its bytes: {label:?}");
    if size == LabelSize::Bytes256 {
        assert!(fletcher::verify(&out, LABEL_CHECKSUM) && fletcher::stored(&out, LABEL_CHECKSUM) == Some(sum));
    } else {
        assert_eq!(sum, 0);
    }
    let back = NamespaceLabel::parse(&out, size).expect("re-parse");
    let (mut a, mut b) = (*label, back);
    a.checksum = 0;
    b.checksum = 0;
    assert_eq!(a, b, "label round trip");
}

/// The labels the current index references, sorted, as raw
/// (uuid, dpa, rawsize, flags, name) tuples; empty when nothing parses.
pub fn committed(data: &[u8]) -> Vec<([u8; 16], u64, u64, u32, [u8; 64])> {
    let Ok(area) = LabelArea::parse(data) else { return Vec::new() };
    let mut v: Vec<_> = area.labels().map(|(_, l)| (l.uuid, l.dpa, l.rawsize, l.flags, l.name)).collect();
    v.sort();
    v
}

/// Everything a parsed area promises: counts agree, the current index and
/// every active label carry valid checksums and re-encode to their bytes,
/// `open` accepts it, a commit without changes touches only the next
/// index block and keeps the labels, and a staged label write commits.
pub fn check_area(data: &[u8], pick: u8) {
    let Ok(area) = LabelArea::parse(data) else { return };
    let geo = *area.geometry();
    let size = geo.label_size();
    assert_eq!(area.label_size(), size);
    assert_eq!(area.as_bytes().len(), data.len());

    // The current index: valid checksum, header re-encodes verbatim.
    let cur = geo.index_range(area.current());
    let block = &data[cur.clone()];
    assert!(fletcher::verify(block, INDEX_CHECKSUM), "accepted index with a bad checksum");
    let h = IndexHeader::parse(block).expect("header of an accepted index");
    assert_eq!(h, *area.index().header());
    let mut copy = block.to_vec();
    h.write(&mut copy).expect("header write");
    assert_eq!(copy, block, "index header does not re-encode to its bytes");
    assert_eq!(h.seq & 3 != 0, true);

    let n = area.active_count();
    assert_eq!(area.labels().count(), n, "labels() and active_count() disagree");
    assert!(area.slots().count() as u32 <= area.nslot(), "more slots than nslot");
    assert!(area.nslot() <= geo.nslot(), "nslot beyond the geometry");
    for i in 0..n {
        let (slot, label) = area.active(i).expect("active(i) < active_count() is None");
        assert!(slot < area.nslot(), "slot {slot} >= nslot");
        assert_eq!(label.slot, slot, "a label accepted from another slot");
        let raw = &data[geo.slot_range(slot).expect("slot in range")];
        if size == LabelSize::Bytes256 {
            assert!(fletcher::verify(raw, LABEL_CHECKSUM), "accepted v1.2 label with a bad checksum");
        }
        assert!(area.labels_with_uuid(&label.uuid).any(|(s, _)| s == slot), "labels_with_uuid misses a label");
        label_round_trip(raw, &label);
    }
    assert!(area.active(n).is_none(), "active(active_count()) is Some");

    // open → view agrees with parse; a commit with no change writes the
    // next index block only, with the next sequence number, and the media
    // that receive it show the same labels. (The working copy's other
    // index block is scratch, as in C.)
    let mut work = data.to_vec();
    let mut m = LabelAreaMut::open(&mut work).unwrap_or_else(|e| panic!("open refuses what parse accepts: {e:?}"));
    {
        let view = m.view().expect("view of an opened area");
        assert!(view.active_count() == n && view.current() == area.current(), "view differs from parse");
    }
    let next = geo.index_range(area.next());
    let written = m.commit().expect("commit without changes");
    assert_eq!(written, next);
    let slots = geo.labels_offset();
    assert_eq!(m.as_bytes()[slots..], data[slots..], "commit changed label slots");
    let mut media = data.to_vec();
    media[next.clone()].copy_from_slice(&m.as_bytes()[next]);
    let reparsed = LabelArea::parse(&media).expect("a committed area parses");
    assert_eq!(reparsed.current(), area.next(), "commit did not switch the index");
    assert_eq!(reparsed.index().seq(), inc_seq(h.seq), "commit's sequence number");
    assert_eq!(committed(&media), committed(data), "a commit without changes changed the labels");

    // Stage one update: a copy of a label (or none) into a fresh slot.
    let mut work = data.to_vec();
    let mut m = LabelAreaMut::open(&mut work).expect("open");
    let nfree = m.nfree();
    let label = area.active(pick as usize % n.max(1)).map(|(_, l)| l);
    let mut wrote = None;
    if let Some((mut label, slot)) = label.and_then(|l| Some((l, m.alloc_slot()?))) {
        assert!(area.index().free().is_free(slot), "alloc_slot gave a slot the current index uses");
        assert_eq!(m.nfree() + 1, nfree);
        label.uuid[0] ^= 0x5a;
        let range = m.write_label(slot, &label).unwrap_or_else(|e| panic!("write_label: {e:?}"));
        assert_eq!(Some(range), geo.slot_range(slot));
        wrote = Some((slot, label));
    }
    m.commit().unwrap_or_else(|e| panic!("commit: {e:?}"));
    let after = LabelArea::parse(m.as_bytes()).unwrap_or_else(|e| panic!("committed area does not parse: {e:?}"));
    assert!(after.current() != area.current(), "commit did not switch the index");
    let want = n + usize::from(wrote.is_some());
    assert_eq!(after.active_count(), want, "labels after a staged write");
    if let Some((slot, label)) = wrote {
        let found = after.labels().find(|(s, _)| *s == slot).map(|(_, l)| l);
        assert_eq!(found, Some(NamespaceLabel { slot, checksum: found.map_or(0, |l| l.checksum), ..label }));
    }
}

/// An in-memory BTT arena and C's write path for the `btt` target.
pub mod btt {
    use nd_formats::btt::*;

    /// An arena's map and flog in memory (no data area: data blocks are
    /// only ever counted, never read).
    #[derive(Clone, Debug)]
    pub struct MemArena {
        pub arena: ArenaLayout,
        pub map: Vec<MapEntry>,
        pub log: Vec<[u8; LOG_GRP_SIZE]>,
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

    /// A small arena from fuzz bytes: `nfree` flog groups then `external`
    /// map entries (zeros past the input). `fold_map`/`fold_log` bring
    /// block numbers (and the flog's premap LBAs) into the arena, keeping
    /// the flags, so that more inputs get past the bounds checks.
    pub fn arena_of(bytes: &[u8], nfree: u32, external: u32, fold_map: bool, fold_log: bool) -> MemArena {
        let internal = external + nfree;
        let len = (nfree * 64 + external * 4) as usize;
        let mut b = bytes[..bytes.len().min(len)].to_vec();
        b.resize(len, 0);
        let fold = |v: u32, n: u32| (v & !MAP_LBA_MASK) | ((v & MAP_LBA_MASK) % n);
        let mut log = vec![[0u8; LOG_GRP_SIZE]; nfree as usize];
        for (i, g) in log.iter_mut().enumerate() {
            g.copy_from_slice(&b[i * 64..i * 64 + 64]);
            if fold_log {
                let mut grp = LogGroup::from_bytes(g);
                for e in grp.ent.iter_mut().filter(|e| !e.is_padding()) {
                    e.lba %= external;
                    e.old_map = fold(e.old_map, internal);
                    e.new_map = fold(e.new_map, internal);
                }
                *g = grp.to_bytes();
            }
        }
        let map = b[(nfree * 64) as usize..]
            .chunks_exact(4)
            .map(|c| {
                let e = MapEntry::decode(c).unwrap();
                if fold_map { MapEntry(fold(e.0, internal)) } else { e }
            })
            .collect();
        let arena = ArenaLayout {
            size: 0,
            external_lba_start: 0,
            internal_lbasize: 4096,
            internal_nlba: internal,
            external_lbasize: 4096,
            external_nlba: external,
            nfree,
            nextoff: 0,
            infooff: 0,
            dataoff: 4096,
            mapoff: 0,
            logoff: 0,
            info2off: 0,
            flags: 0,
        };
        MemArena { arena, map, log }
    }

    /// Independent recount: map blocks and free blocks (the newer flog
    /// entry's old block per lane, flags stripped) cover every data block
    /// exactly once.
    pub fn check_once(m: &MemArena, layout: LogLayout) {
        let mut count = vec![0u32; m.arena.internal_nlba as usize];
        for (premap, e) in m.map.iter().enumerate() {
            count[e.postmap(premap as u32) as usize] += 1;
        }
        for g in &m.log {
            let (_, newer) = LogGroup::from_bytes(g).read(layout, false).unwrap();
            count[(newer.old_map & MAP_LBA_MASK) as usize] += 1;
        }
        assert!(count.iter().all(|&c| c == 1), "blocks not referenced exactly once: {count:?}");
    }

    /// C's write path (`btt_write_pg`) over a [`MemArena`], with the data
    /// write left out: flog entry in two 8-byte halves, then the map entry.
    /// Each costs one unit of budget; at 0 the power goes.
    pub struct Writer {
        pub free: Vec<FreeEntry>,
        pub layout: LogLayout,
        pub torn_lba: Option<u32>,
    }

    impl Writer {
        /// Loads an arena as the kernel does (layout, free list, repairs).
        pub fn load(m: &mut MemArena) -> Result<Self, BttError> {
            let a = m.arena;
            let layout = detect_log_layout(m, a.nfree)?;
            let mut free = vec![FreeEntry::default(); a.nfree as usize];
            recover_arena(m, &a, layout, &mut free)?;
            Ok(Writer { free, layout, torn_lba: None })
        }

        /// Writes sector `premap` through `lane`; the block it maps to.
        pub fn write(&mut self, m: &mut MemArena, lane: u32, premap: u32, budget: &mut u32) -> Result<u32, ()> {
            let torn = &mut self.torn_lba;
            let mut spend = || {
                if *budget == 0 {
                    *torn = Some(premap);
                    return Err(());
                }
                *budget -= 1;
                Ok(())
            };
            let f = self.free[lane as usize];
            let cur = m.map[premap as usize].lookup(premap);
            let old = if cur.error { cur.postmap | MAP_ERR_MASK } else { cur.postmap };
            let ent = LogEntry { lba: premap, old_map: old, new_map: f.block, seq: f.seq.into() };
            let off = self.layout.entry_offset(f.sub.into());
            let bytes = ent.to_bytes();
            let g = &mut m.log[lane as usize];
            spend()?;
            g[off..off + 8].copy_from_slice(&bytes[..8]);
            spend()?;
            g[off + 8..off + 16].copy_from_slice(&bytes[8..]);
            self.free[lane as usize].advance(old);
            spend()?;
            m.map[premap as usize] = MapEntry::normal(f.block);
            Ok(f.block)
        }
    }
}
