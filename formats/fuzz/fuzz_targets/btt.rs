//! The BTT: info block, layout, flog and map parsing, and the load-time
//! recovery decisions (`formats::btt`).
//!
//! Checks:
//! - an info block re-encodes to its bytes (fields) and decodes back to
//!   itself; an accepted one has a valid checksum, the signature and a
//!   matching or zero parent uuid; discovery agrees with validation;
//! - a geometry that passes `check_bounds` keeps every block, map entry and
//!   flog group inside its area;
//! - the layout of a new BTT (any raw size up to 4 TiB, any supported
//!   sector size): arenas contiguous, in bounds, their info blocks valid and
//!   read back to the same geometry;
//! - the flog: a detected layout reads every group without panicking;
//!   every lane's free entry has sub 0/1 and seq <= 3;
//! - an arena (small: up to 8 lanes, 64 sectors) that the ndctl-style check
//!   passes (with repair) is one where map and free blocks cover every block
//!   exactly once, by an independent count; loading it the kernel's way
//!   (recover_arena) gives the same map and free blocks used once; and a run
//!   of writes on it (C's write path) cut at any media write recovers to a
//!   consistent arena again, where every finished write is mapped.
//!
//! Input: 16 control bytes, then the flog (nfree groups), the map
//! (external_nlba entries), then the info block (4096 bytes); each
//! zero-padded if short.
//! Control: [0] bit 0 reseal the info block, bit 1 fold map entries into
//! the arena, bit 2 fold flog entries into the arena; [1] sector size
//! index; [2] nfree - 1 (mod 8); [3] external_nlba - 1 (mod 64); [4] cut
//! budget; [5..13] raw size for the layout check; [13..16] the writes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::btt::*;
use nd_formats::fletcher;
use nd_formats_fuzz::Ctl;
use nd_formats_fuzz::btt::{arena_of, check_once, MemArena, Writer};

fuzz_target!(|data: &[u8]| {
    let (mut ctl, rest) = Ctl::split(data, 16);
    let flags = ctl.u8();
    let lbasize = LBASIZE_SUPPORTED[ctl.below(LBASIZE_SUPPORTED.len())];
    let nfree = ctl.below(8) as u32 + 1;
    let external = ctl.below(64) as u32 + 1;
    let budget = ctl.u8() as u32;
    let rawsize = ctl.u64() % (4 << 40);
    let ops = [ctl.u8(), ctl.u8(), ctl.u8()];

    let arena_len = (nfree * 64 + external * 4) as usize;
    let mut m = arena_of(rest, nfree, external, flags & 2 != 0, flags & 4 != 0);
    flog(&m);
    arena(&mut m, budget, ops);

    let info = rest.get(arena_len..).unwrap_or(&[]);
    let mut block = [0u8; INFO_SIZE];
    let n = info.len().min(INFO_SIZE);
    block[..n].copy_from_slice(&info[..n]);
    if flags & 1 != 0 {
        fletcher::seal(&mut block, INFO_CHECKSUM_OFFSET);
    }
    info_block(&block);
    new_layout(rawsize, lbasize);
});

fn info_block(block: &[u8; INFO_SIZE]) {
    let info = InfoBlock::decode(block).expect("4096 bytes decode");
    let mut again = *block;
    info.encode_fields(&mut again);
    assert_eq!(again, *block, "info block fields do not re-encode to their bytes");
    let mut clean = [0xa5u8; INFO_SIZE];
    info.encode(&mut clean).unwrap();
    assert_eq!(InfoBlock::decode(&clean), Ok(info));
    assert_eq!(&clean[120..4088], &[0u8; 3968][..]);
    let ns = [0x11u8; 16];
    match InfoBlock::validate(block, &ns) {
        Ok(v) => {
            assert_eq!(v, info);
            assert!(fletcher::verify(block, INFO_CHECKSUM_OFFSET), "accepted info block with a bad checksum");
            assert_eq!(v.signature, BTT_SIG);
            assert!(v.parent_uuid == [0; 16] || v.parent_uuid == ns);
            let mut d = Discovery::new(u64::MAX);
            assert!(matches!(d.accept(block, &ns), Ok(DiscoveryStep::Arena(_))));
        }
        Err(_) => {
            let mut d = Discovery::new(u64::MAX);
            assert_eq!(d.accept(block, &ns), Ok(DiscoveryStep::NotFound));
        }
    }
    // Whatever the geometry says, if it passes the bounds check nothing
    // it addresses lies outside its part.
    let a = ArenaLayout::from_info(&info, 4096, 0);
    if a.check_bounds(1 << 50).is_ok() {
        assert!(a.internal_nlba > 0 && a.nfree > 0);
        assert!(a.data_offset(a.internal_nlba - 1) + u64::from(a.internal_lbasize) <= a.mapoff);
        if a.external_nlba > 0 {
            assert!(a.map_entry_offset(a.external_nlba - 1) + 4 <= a.logoff);
        }
        assert!(a.log_group_offset(a.nfree - 1) + 64 <= a.info2off);
        assert!(a.info2off + 4096 <= 1 << 50);
    }
}

fn new_layout(rawsize: u64, lbasize: u32) {
    let Ok(it) = arenas(rawsize, lbasize) else {
        assert!(rawsize < ARENA_MIN_SIZE);
        return;
    };
    let (mut off, mut lba) = (0u64, 0u64);
    for a in it {
        assert_eq!(a.infooff, off);
        assert_eq!(a.external_lba_start, lba);
        a.check_bounds(rawsize).expect("a new arena is in bounds");
        assert!(a.size >= ARENA_MIN_SIZE && a.size <= ARENA_MAX_SIZE);
        assert_eq!(a.internal_nlba, a.external_nlba + a.nfree);
        let mut b = [0u8; INFO_SIZE];
        let mut info = InfoBlock::for_arena(&a, [1; 16], [2; 16], BttVersion::V1_1);
        info.write_sealed(&mut b).unwrap();
        let back = InfoBlock::validate(&b, &[2; 16]).expect("a sealed info block validates");
        let mut read = ArenaLayout::from_info(&back, off, lba);
        if a.nextoff == 0 {
            // The last arena reads as ending at its backup info block.
            assert!(read.size <= a.size);
            read.size = a.size;
        }
        assert_eq!(read, a);
        off += a.size;
        lba += u64::from(a.external_nlba);
        if a.nextoff == 0 {
            assert!(rawsize - off < ARENA_MIN_SIZE);
        }
    }
    assert_eq!(total_external_nlba(rawsize, lbasize), Ok(lba));
}

fn flog(m: &MemArena) {
    let mut d = LogIndexDetector::new();
    let mut ok = true;
    for g in &m.log {
        ok &= d.feed(&LogGroup::from_bytes(g)).is_ok();
    }
    let Ok(layout) = d.finish() else { return };
    assert!(ok);
    for g in &m.log {
        let g = LogGroup::from_bytes(g);
        assert_eq!(LogGroup::from_bytes(&g.to_bytes()), g);
        if let Ok(r) = recover_lane(&g, layout) {
            assert!(r.free.sub <= 1 && r.free.seq <= 3);
            let (_, newer) = g.read(layout, false).unwrap();
            assert_eq!(r.free.block, newer.old_map & MAP_LBA_MASK);
        }
    }
}

fn arena(m: &mut MemArena, budget: u32, ops: [u8; 3]) {
    let a = m.arena;
    let Ok(layout) = detect_log_layout(m, a.nfree) else { return };
    let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
    let mut checked = m.clone();
    if check_arena(&mut checked, &a, layout, &mut bm, true).is_err() {
        return;
    }
    check_once(&checked, layout);
    // Loading it the kernel's way gives the same map, and free blocks that
    // nothing maps.
    let mut w = match Writer::load(m) {
        Ok(w) => w,
        Err(e) => panic!("a checked arena does not load: {e:?}"),
    };
    assert_eq!(m.map, checked.map, "load and check repaired differently");
    let mut used = vec![false; a.internal_nlba as usize];
    for (premap, e) in m.map.iter().enumerate() {
        used[e.postmap(premap as u32) as usize] = true;
    }
    for f in &w.free {
        assert!(!used[f.block as usize], "free block {} is in use", f.block);
        used[f.block as usize] = true;
    }
    // Writes, cut after `budget` media writes; then load again.
    let mut budget = budget;
    let mut rng = u32::from_le_bytes([ops[0], ops[1], ops[2], 0x5a]);
    let mut done = vec![];
    for _ in 0..24 {
        rng = rng.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let lane = (rng >> 8) % a.nfree;
        let premap = (rng >> 16) % a.external_nlba;
        match w.write(m, lane, premap, &mut budget) {
            Ok(block) => done.push((premap, block)),
            Err(()) => break,
        }
    }
    let layout = detect_log_layout(m, a.nfree).expect("the flog layout survives writes");
    let mut after = m.clone();
    Writer::load(&mut after).expect("recovery after a cut");
    let mut bm2 = vec![0u64; bm.len()];
    match check_arena(&mut after, &a, layout, &mut bm2, false) {
        Ok(_) => {}
        // ndctl's check compares the raw old_map, so a write over a sector
        // whose map entry has the error flag (C logs it with the flag)
        // reads as out of bounds until that lane writes again; so does ours.
        Err(CheckFailure::Inconsistent(CheckError::LogOldOutOfBounds { lane })) => {
            let g = LogGroup::from_bytes(&after.log[lane as usize]);
            let (_, newer) = g.read(layout, false).unwrap();
            assert!(newer.old_map & MAP_ERR_MASK != 0 && newer.old_map & MAP_LBA_MASK < a.internal_nlba,
                "inconsistent after a cut: old_map {:#x} of lane {lane}", newer.old_map);
        }
        Err(e) => panic!("inconsistent after a cut: {e:?}"),
    }
    check_once(&after, layout);
    // Every finished write is mapped, unless the torn one or a later
    // finished one overwrote the same sector.
    let mut last = std::collections::HashMap::new();
    for (p, b) in done {
        last.insert(p, b);
    }
    for (p, b) in last {
        if w.torn_lba != Some(p) {
            assert_eq!(after.map[p as usize].postmap(p), b, "finished write of {p} lost");
        }
    }
}
