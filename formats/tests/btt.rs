//! Host tests of formats::btt: codecs, layout arithmetic worked by hand
//! from C's `alloc_arena`, flog rules, and init recovery on an in-memory
//! arena driven by a model of C's write path with power cuts.

use nd_formats::btt::*;
use nd_formats::fletcher;

mod btt_common;
use btt_common::{fresh_arena, Writer};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

#[test]
fn layout_32mib_v1_1_4096_by_hand() {
    // A 32 MiB namespace, v1.1: 4 KiB of initial offset.
    let raw = 32 * MIB - 4096;
    let a: Vec<_> = arenas(raw, 4096).unwrap().collect();
    assert_eq!(a.len(), 1);
    let a = a[0];
    // available = raw - 2 pages - 16 KiB log = 33525760;
    // internal_nlba = (available - 4096) / 4100 = 8176.
    assert_eq!(a.internal_nlba, 8176);
    assert_eq!(a.external_nlba, 8176 - 256);
    assert_eq!(a.internal_lbasize, 4096);
    assert_eq!(a.nfree, 256);
    assert_eq!(a.dataoff, 4096);
    assert_eq!(a.mapoff, 4096 + 33525760 - 32768);
    assert_eq!(a.logoff, a.mapoff + 32768);
    assert_eq!(a.info2off, a.logoff + 16384);
    assert_eq!(a.info2off + 4096, raw);
    assert_eq!(a.nextoff, 0);
    assert_eq!(a.size, raw);
    a.check_bounds(raw).unwrap();
    assert_eq!(total_external_nlba(raw, 4096), Ok(7920));
}

#[test]
fn layout_odd_sizes_round_internal_lbasize() {
    for (lbasize, internal) in [(512, 512), (520, 576), (528, 576), (4096, 4096), (4104, 4160), (4160, 4160), (4224, 4224)] {
        let a = arenas(17 * MIB + 1234, lbasize).unwrap().next().unwrap();
        assert_eq!(a.internal_lbasize, internal);
        assert_eq!(a.external_lbasize, lbasize);
        // The unaligned tail is not used; the arena still reports it.
        assert_eq!(a.size, 17 * MIB + 1234);
        assert_eq!(a.info2off + 4096, 17 * MIB);
        a.check_bounds(17 * MIB + 1234).unwrap();
    }
    assert_eq!(arenas(32 * MIB, 1024).err(), Some(BttError::BadLbasize));
    assert_eq!(arenas(16 * MIB - 1, 512).err(), Some(BttError::TooSmall));
    assert_eq!(arenas(16 * MIB, 512).unwrap().count(), 1);
}

#[test]
fn arenas_chain_at_512_gib() {
    let raw = 2 * 512 * GIB + 20 * MIB;
    let v: Vec<_> = arenas(raw, 512).unwrap().collect();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].nextoff, 512 * GIB);
    assert_eq!(v[1].infooff, 512 * GIB);
    assert_eq!(v[1].nextoff, 512 * GIB);
    assert_eq!(v[2].infooff, 1024 * GIB);
    assert_eq!(v[2].size, 20 * MIB);
    assert_eq!(v[2].nextoff, 0);
    assert_eq!(v[1].external_lba_start, v[0].external_nlba as u64);
    assert_eq!(v[2].external_lba_start, 2 * v[0].external_nlba as u64);
    for a in &v {
        a.check_bounds(raw).unwrap();
    }
    // 512 GiB at 512 B: (2^39 - 8 KiB - 16 KiB - 4 KiB) / 516.
    assert_eq!(v[0].internal_nlba as u64, (512 * GIB - 28672) / 516);
    // A tail below 16 MiB is dropped, and the arena before it is the last.
    let v: Vec<_> = arenas(512 * GIB + 8 * MIB, 4096).unwrap().collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].nextoff, 0);
    assert_eq!(v[0].size, 512 * GIB);
    // Exactly 16 MiB left over makes an arena.
    assert_eq!(arenas(512 * GIB + 16 * MIB, 4096).unwrap().count(), 2);
}

#[test]
fn info_block_round_trip_and_validation() {
    let arena = arenas(64 * MIB, 512).unwrap().next().unwrap();
    let ns_uuid = [7u8; 16];
    let mut info = InfoBlock::for_arena(&arena, [1; 16], ns_uuid, BttVersion::V2_0);
    let mut block = [0u8; INFO_SIZE];
    info.write_sealed(&mut block).unwrap();
    assert!(fletcher::verify(&block, INFO_CHECKSUM_OFFSET));
    assert_eq!(&block[..16], b"BTT_ARENA_INFO\0\0");
    let back = InfoBlock::validate(&block, &ns_uuid).unwrap();
    assert_eq!(back, info);
    assert_eq!(back.infosize, 4096);
    back.check_version(BttVersion::V2_0).unwrap();
    assert_eq!(back.check_version(BttVersion::V1_1), Err(BttError::VersionMismatch));
    assert_eq!(ArenaLayout::from_info(&back, 0, 0), arena);
    let mut again = [0u8; INFO_SIZE];
    back.encode(&mut again).unwrap();
    assert_eq!(again, block);

    assert_eq!(InfoBlock::validate(&block, &[8; 16]), Err(BttError::ParentUuidMismatch));
    let mut bad = block;
    bad[200] ^= 1;
    assert_eq!(InfoBlock::validate(&bad, &ns_uuid), Err(BttError::BadChecksum));
    let mut bad = block;
    bad[0] = b'X';
    assert_eq!(InfoBlock::validate(&bad, &ns_uuid), Err(BttError::BadSignature));
    assert_eq!(InfoBlock::validate(&block[..4095], &ns_uuid), Err(BttError::TooShort));
    // A zero parent uuid (label-less namespace) matches any namespace.
    let mut anon = InfoBlock::for_arena(&arena, [1; 16], [0; 16], BttVersion::V1_1);
    anon.write_sealed(&mut block).unwrap();
    assert!(InfoBlock::validate(&block, &[9; 16]).is_ok());
    // The error flag does not make a block invalid.
    anon.flags = IB_FLAG_ERROR;
    anon.write_sealed(&mut block).unwrap();
    assert!(InfoBlock::validate(&block, &[9; 16]).unwrap().has_error());
}

#[test]
fn discovery_walks_a_chain() {
    let raw = 512 * GIB + 64 * MIB;
    let v: Vec<_> = arenas(raw, 4096).unwrap().collect();
    let ns = [3u8; 16];
    let blocks: Vec<[u8; INFO_SIZE]> = v
        .iter()
        .map(|a| {
            let mut b = [0u8; INFO_SIZE];
            InfoBlock::for_arena(a, [1; 16], ns, BttVersion::V1_1).write_sealed(&mut b).unwrap();
            b
        })
        .collect();
    let mut d = Discovery::new(raw);
    let mut found = vec![];
    while let Some(off) = d.next_info_offset() {
        let i = v.iter().position(|a| a.infooff == off).unwrap();
        match d.accept(&blocks[i], &ns).unwrap() {
            DiscoveryStep::Arena(a) => found.push(a),
            DiscoveryStep::NotFound => panic!(),
        }
    }
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].external_nlba, v[0].external_nlba);
    assert_eq!(found[1].infooff, v[1].infooff);
    assert_eq!(found[1].external_lba_start, v[0].external_nlba as u64);
    assert_eq!(d.nlba(), total_external_nlba(raw, 4096).unwrap());
    // The first block bad: no BTT; a later one bad: corrupt.
    let mut d = Discovery::new(raw);
    assert_eq!(d.accept(&[0u8; INFO_SIZE], &ns), Ok(DiscoveryStep::NotFound));
    assert_eq!(d.next_info_offset(), None);
    let mut d = Discovery::new(raw);
    d.accept(&blocks[0], &ns).unwrap();
    assert_eq!(d.accept(&[0u8; INFO_SIZE], &ns), Err(BttError::CorruptChain));
}

#[test]
fn map_entry_flags() {
    assert_eq!(MapEntry(0).lookup(42), Mapping { postmap: 42, zero: false, error: false });
    assert_eq!(MapEntry(0xC000_0007).lookup(42), Mapping { postmap: 7, zero: false, error: false });
    assert_eq!(MapEntry(0x4000_0007).lookup(42), Mapping { postmap: 7, zero: false, error: true });
    assert_eq!(MapEntry(0x8000_0007).lookup(42), Mapping { postmap: 7, zero: true, error: false });
    assert_eq!(MapEntry::new(0xffff_ffff, false, false), Ok(MapEntry(0xffff_ffff)));
    assert_eq!(MapEntry::new(5, true, false), Ok(MapEntry(0x8000_0005)));
    assert_eq!(MapEntry::new(5, false, true), Ok(MapEntry(0x4000_0005)));
    assert_eq!(MapEntry::new(5, true, true), Err(BttError::BothFlags));
    assert_eq!(MapEntry::from_bytes([1, 2, 3, 0xc4]).to_bytes(), [1, 2, 3, 0xc4]);
    assert_eq!(MapEntry::decode(&[5, 0, 0, 0xc0, 9]), Some(MapEntry::normal(5)));
    assert_eq!(MapEntry::decode(&[5, 0, 0]), None);
}

fn group(layout: LogLayout, e0: LogEntry, e1: LogEntry) -> LogGroup {
    let mut g = LogGroup::default();
    g.set_entry(layout, 0, e0);
    g.set_entry(layout, 1, e1);
    g
}

fn seq(s: u32) -> LogEntry {
    LogEntry { lba: 1, old_map: 2, new_map: 3, seq: s }
}

#[test]
fn sequence_numbers() {
    assert_eq!([0, 1, 2, 3, 4, 5, 7].map(inc_seq), [0, 2, 3, 1, 0, 2, 1]);
    let l = LogLayout::Padded;
    // (seq0, seq1) -> old sub-slot
    for (s0, s1, old) in [(1, 2, Ok(0)), (2, 1, Ok(1)), (2, 3, Ok(0)), (3, 2, Ok(1)), (3, 1, Ok(0)), (1, 3, Ok(1)), (0, 0, Ok(0)), (0, 7, Ok(0)), (1, 0, Ok(1))] {
        assert_eq!(log_get_old(&group(l, seq(s0), seq(s1)), l), old, "{s0} {s1}");
    }
    for (s0, s1) in [(1, 1), (3, 3), (3, 4), (2, 4), (4, 5)] {
        assert_eq!(log_get_old(&group(l, seq(s0), seq(s1)), l), Err(BttError::LogCorruption { seq: [s0, s1] }));
    }
    // C's 32-bit sum wraps: (0xffffffff, 2) sums to 1 and is taken, old = 0.
    assert_eq!(log_get_old(&group(l, seq(u32::MAX), seq(2)), l), Ok(0));
    // Never written: the new entry is the second slot, and the old one
    // reads with seq 1.
    let g = LogGroup::default();
    assert_eq!(g.read(l, true), Ok((0, LogEntry { seq: 1, ..LogEntry::default() })));
    assert_eq!(g.read(l, false), Ok((1, LogEntry::default())));
}

#[test]
fn log_entry_bytes() {
    let e = LogEntry { lba: 0x04030201, old_map: 0x08070605, new_map: 0x0c0b0a09, seq: 0x100f0e0d };
    let b = e.to_bytes();
    assert_eq!(b, core::array::from_fn(|i| i as u8 + 1));
    assert_eq!(LogEntry::from_bytes(&b), e);
    let [h0, h1] = e.halves();
    assert_eq!((&h0[..], &h1[..]), (&b[..8], &b[8..]));
    let g = group(LogLayout::Unpadded, e, seq(2));
    let bytes = g.to_bytes();
    assert_eq!(&bytes[0..16], &b);
    assert_eq!(&bytes[16..32], &[0; 16]);
    assert_eq!(LogGroup::from_bytes(&bytes), g);
    assert_eq!(LogLayout::Unpadded.entry_offset(1), 32);
    assert_eq!(LogLayout::Padded.entry_offset(1), 16);
}

fn detect(groups: &[LogGroup]) -> Result<LogLayout, BttError> {
    let mut d = LogIndexDetector::new();
    for g in groups {
        d.feed(g)?;
    }
    d.finish()
}

#[test]
fn log_layout_detection() {
    let init = |layout| group(layout, seq(1), LogEntry::default());
    let used = |layout| group(layout, seq(2), seq(1));
    use LogLayout::*;
    assert_eq!(detect(&[init(Padded); 4]), Ok(Padded));
    assert_eq!(detect(&[init(Padded), used(Padded), init(Padded)]), Ok(Padded));
    assert_eq!(detect(&[init(Unpadded), init(Unpadded), used(Unpadded)]), Ok(Unpadded));
    assert_eq!(detect(&[used(Unpadded), used(Padded)]), Err(BttError::UnknownLogLayout));
    // Slots 0 and 3: not a known scheme.
    let mut odd = LogGroup::default();
    odd.ent[0] = seq(1);
    odd.ent[3] = seq(2);
    assert_eq!(detect(&[odd]), Err(BttError::UnknownLogLayout));
    // An all-zero flog has no first entry.
    assert_eq!(detect(&[LogGroup::default(); 3]), Err(BttError::UnknownLogLayout));
    // A later group missing its first entry is corrupt.
    assert_eq!(detect(&[used(Padded), LogGroup::default()]), Err(BttError::UnknownLogLayout));
    // The second index may come from a later group than the first.
    let mut only1 = LogGroup::default();
    only1.ent[1] = seq(2);
    let mut d = LogIndexDetector::new();
    d.feed(&init(Padded)).unwrap();
    d.feed(&only1).unwrap();
    assert_eq!(d.finish(), Ok(Padded));
}

#[test]
fn fresh_arena_recovers_to_the_spare_blocks_and_checks() {
    let mut m = fresh_arena(16 * MIB, 4096);
    let a = m.arena;
    assert_eq!(detect_log_layout(&mut m, a.nfree), Ok(LogLayout::Padded));
    let mut free = vec![FreeEntry::default(); a.nfree as usize];
    assert_eq!(recover_arena(&mut m, &a, LogLayout::Padded, &mut free), Ok(0));
    for (i, f) in free.iter().enumerate() {
        assert_eq!(*f, FreeEntry { block: a.external_nlba + i as u32, sub: 1, seq: 2, has_err: false });
    }
    let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
    let r = check_arena(&mut m, &a, LogLayout::Padded, &mut bm, false).unwrap();
    assert_eq!(r, CheckReport { interrupted_writes: 0, blocks: a.internal_nlba });
}

#[test]
fn interrupted_write_is_repaired_at_every_cut_point() {
    for layout in [LogLayout::Padded, LogLayout::Unpadded] {
        let mut rng = 0x1234_5678u64;
        for cut in 0..600 {
            let mut m = fresh_arena(16 * MIB, 4096);
            let mut w = Writer::load_as(&mut m, layout).unwrap();
            let mut done = 0;
            let mut budget = cut;
            let mut expect = std::collections::HashMap::new();
            'run: for _ in 0..200 {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let lba = ((rng >> 33) % 64) as u32;
                let lane = ((rng >> 20) % 3) as u32;
                match w.write(&mut m, lane, lba, &mut budget) {
                    Ok(block) => {
                        expect.insert(lba, block);
                        done += 1;
                    }
                    Err(()) => break 'run,
                }
            }
            // "Reboot": the layout is detected again, the free list and map
            // rebuilt, and the arena is consistent.
            let a = m.arena;
            // Until a flog write lands, every group is as created, which C
            // takes for the padded layout.
            let seen = if cut == 0 { LogLayout::Padded } else { layout };
            assert_eq!(detect_log_layout(&mut m, a.nfree), Ok(seen), "cut {cut}");
            let mut free = vec![FreeEntry::default(); a.nfree as usize];
            recover_arena(&mut m, &a, seen, &mut free).unwrap();
            let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
            check_arena(&mut m, &a, seen, &mut bm, false).unwrap_or_else(|e| panic!("cut {cut}: {e:?}"));
            // Every completed write reads its block; the cut one reads old
            // or new.
            for (lba, block) in &expect {
                let now = m.map[*lba as usize].postmap(*lba);
                if now != *block {
                    assert_eq!(Some(*lba), w.torn_lba, "cut {cut}: lba {lba} lost a completed write");
                }
            }
            assert!(done <= 200);
        }
    }
}

#[test]
fn check_without_repair_fails_on_an_interrupted_write_and_repair_fixes_it() {
    let mut m = fresh_arena(16 * MIB, 4096);
    let mut w = Writer::load(&mut m).unwrap();
    // Flog written (both halves), map not: budget of 2 writes.
    let mut budget = 2;
    assert!(w.write(&mut m, 0, 5, &mut budget).is_err());
    let a = m.arena;
    let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
    let e = check_arena(&mut m, &a, LogLayout::Padded, &mut bm, false).unwrap_err();
    assert!(matches!(e, CheckFailure::Inconsistent(CheckError::BlockReferencedTwice { .. })), "{e:?}");
    let r = check_arena(&mut m, &a, LogLayout::Padded, &mut bm, true).unwrap();
    assert_eq!(r.interrupted_writes, 1);
    assert_eq!(check_arena(&mut m, &a, LogLayout::Padded, &mut bm, false).unwrap().interrupted_writes, 0);
}

#[test]
fn error_flagged_old_block_is_marked() {
    let l = LogLayout::Padded;
    let g = group(l, LogEntry { lba: 3, old_map: 0x4000_0009, new_map: 11, seq: 2 }, seq(1));
    let r = recover_lane(&g, l).unwrap();
    assert_eq!(r.free, FreeEntry { block: 9, sub: 1, seq: 3, has_err: true });
    assert_eq!(r.check_map, Some(MapRepair { premap: 3, old_block: 9, new_block: 11 }));
    // Both flags: a normal entry, not an error.
    let g = group(l, LogEntry { lba: 3, old_map: 0xC000_0009, new_map: 11, seq: 2 }, seq(1));
    assert!(!recover_lane(&g, l).unwrap().free.has_err);
    // The repair compares blocks, flags aside; only old -> new is fixed.
    let p = MapRepair { premap: 3, old_block: 9, new_block: 11 };
    assert_eq!(p.decide(MapEntry::normal(9)), Some(MapEntry::normal(11)));
    assert_eq!(p.decide(MapEntry(0x4000_0009)), Some(MapEntry::normal(11)));
    assert_eq!(p.decide(MapEntry::normal(11)), None);
    assert_eq!(p.decide(MapEntry::normal(12)), None);
    // Never-written entry of premap 9 reads as block 9.
    let p = MapRepair { premap: 9, old_block: 9, new_block: 11 };
    assert_eq!(p.decide(MapEntry(0)), Some(MapEntry::normal(11)));
}

#[test]
fn free_entry_advance_counts_like_c() {
    let mut f = FreeEntry { block: 1, sub: 0, seq: 0, has_err: false };
    let mut seen = vec![];
    for i in 0..5 {
        f.advance(100 + i);
        seen.push((f.sub, f.seq, f.block));
    }
    assert_eq!(seen, [(1, 1, 100), (0, 2, 101), (1, 3, 102), (0, 1, 103), (1, 2, 104)]);
    f.advance(0x4000_0007);
    assert!(f.has_err);
    assert_eq!(f.block, 7);
}

#[test]
fn overwriting_an_error_sector_logs_the_flag_and_ndctls_check_objects() {
    // Found by the btt fuzz target: C's write path keeps the error flag of
    // the old map entry in the flog (`set_e_flag(old_postmap)`), and
    // ndctl's check compares the raw old_map with internal_nlba.
    let mut m = fresh_arena(16 * MIB, 4096);
    let a = m.arena;
    m.map[3] = MapEntry::new(3, false, true).unwrap();
    let mut w = Writer::load(&mut m).unwrap();
    let mut budget = 3;
    let block = w.write(&mut m, 0, 3, &mut budget).unwrap();
    assert_eq!(w.free[0], FreeEntry { block: 3, sub: 0, seq: 3, has_err: true });
    let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
    assert_eq!(
        check_arena(&mut m, &a, LogLayout::Padded, &mut bm, false),
        Err(CheckFailure::Inconsistent(CheckError::LogOldOutOfBounds { lane: 0 }))
    );
    // The kernel loads it: the free block is 3, with its error to clear.
    let mut free = vec![FreeEntry::default(); a.nfree as usize];
    assert_eq!(recover_arena(&mut m, &a, LogLayout::Padded, &mut free), Ok(0));
    assert_eq!(free[0], FreeEntry { block: 3, sub: 0, seq: 3, has_err: true });
    assert_eq!(m.map[3], MapEntry::normal(block));
    // The lane's next write logs a clean old block and the check passes.
    let mut w = Writer::load(&mut m).unwrap();
    let mut budget = 3;
    w.write(&mut m, 0, 7, &mut budget).unwrap();
    check_arena(&mut m, &a, LogLayout::Padded, &mut bm, false).unwrap();
}

/// Power cuts at random media writes (data, flog halves, map) of a random
/// workload, each followed by a "reboot" (load: flog layout, free list,
/// repair) and more writes on the same media: every sector reads its last
/// finished write, the torn one its old or its new contents, and the arena
/// stays consistent. 1,000 cuts; the seed is printed (BTT_CUT_SEED to
/// repeat one).
#[test]
fn random_power_cuts_over_a_long_workload() {
    let seed: u64 = std::env::var("BTT_CUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_b77);
    println!("BTT_CUT_SEED={seed}");
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for layout in [LogLayout::Padded, LogLayout::Unpadded] {
        let mut m = fresh_arena(16 * MIB, 4096);
        let a = m.arena;
        // What each sector must read: its last finished write.
        let mut want: Vec<(u32, u32)> = (0..a.external_nlba).map(|p| (p, 0)).collect();
        // One finished write fixes the flog layout for good (an arena whose
        // lanes are all untouched reads as padded, whatever wrote it).
        let mut w = Writer::load_as(&mut m, layout).unwrap();
        w.write_data(&mut m, 0, 0, Some(1), &mut u32::MAX.clone()).unwrap();
        want[0] = (0, 1);
        let mut ver = 1;
        let (mut cuts, mut writes, mut read_old, mut read_new) = (0, 0, 0, 0);
        while cuts < 500 {
            let mut w = Writer::load(&mut m).unwrap();
            assert_eq!(w.layout, layout);
            let mut budget = next(40) as u32;
            loop {
                // Sectors in a small range, so that writes meet.
                let premap = next(48) as u32;
                let lane = next(4) as u32;
                ver += 1;
                match w.write_data(&mut m, lane, premap, Some(ver), &mut budget) {
                    Ok(_) => {
                        want[premap as usize] = (premap, ver);
                        writes += 1;
                    }
                    Err(()) => break,
                }
            }
            cuts += 1;
            let torn = w.torn_lba.unwrap();
            // Reboot: load (repairs), check, and read every sector.
            Writer::load(&mut m).unwrap();
            assert_eq!(detect_log_layout(&mut m, a.nfree), Ok(layout));
            let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
            check_arena(&mut m, &a, layout, &mut bm, false).unwrap_or_else(|e| panic!("seed {seed} cut {cuts}: {e:?}"));
            for p in 0..a.external_nlba {
                let got = m.read(p);
                if p == torn && got != want[p as usize] {
                    assert_eq!(got, (p, ver), "seed {seed} cut {cuts}: torn sector {p} is neither old nor new");
                    want[p as usize] = got;
                    read_new += 1;
                } else {
                    assert_eq!(got, want[p as usize], "seed {seed} cut {cuts}: sector {p}");
                    read_old += usize::from(p == torn);
                }
            }
        }
        // Both outcomes of a cut happened (old: cut before the flog entry's
        // second half; new: after it).
        println!("{layout:?}: {cuts} cuts, {writes} finished writes; the cut sector read old {read_old}, new {read_new}, torn 0");
        assert!(read_old > 0 && read_new > 0);
    }
}

#[test]
fn layout_detection_depends_on_lane_order_as_in_c() {
    // Found by the btt fuzz target: a lane whose first slot is padding (C
    // never leaves one so: its log init writes every lane's first entry)
    // is accepted while the layout is still open, and refused once an
    // earlier lane fixed it. A write elsewhere can thus make an arena that
    // loaded refuse to load, in C as here.
    let initial = group(LogLayout::Padded, seq(1), LogEntry::default());
    let mut odd = LogGroup::default();
    odd.ent[1] = seq(1);
    assert_eq!(detect(&[initial, odd]), Ok(LogLayout::Padded));
    let written = group(LogLayout::Padded, seq(1), seq(2));
    assert_eq!(detect(&[written, odd]), Err(BttError::UnknownLogLayout));
}

#[test]
fn a_newer_entry_with_seq_0_gives_the_lane_seq_0_as_in_c() {
    // Found by the btt fuzz target, in a state C's writes never leave
    // (first entry seq 3, second 0): btt_log_get_old takes the 0 as newer
    // (3 - 0 != 1), the free entry gets nd_inc_seq(0) = 0, and the lane's
    // next entry carries seq 0 too. Ours does exactly what C does.
    let l = LogLayout::Padded;
    let g = group(l, LogEntry { lba: 0, old_map: 5, new_map: 6, seq: 3 }, LogEntry { lba: 0, old_map: 1, new_map: 0, seq: 0 });
    let r = recover_lane(&g, l).unwrap();
    assert_eq!(r.free, FreeEntry { block: 1, sub: 0, seq: 0, has_err: false });
    // The reachable untouched lane, (1, 0), reads the 1 as newer.
    let g = group(l, LogEntry { lba: 0, old_map: 5, new_map: 5, seq: 1 }, LogEntry::default());
    assert_eq!(recover_lane(&g, l).unwrap().free, FreeEntry { block: 5, sub: 1, seq: 2, has_err: false });
}
