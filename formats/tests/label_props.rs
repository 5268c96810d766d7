//! Property tests driven by a small deterministic PRNG: round trips,
//! single-bit corruption, a model of the update protocol with power
//! loss, and garbage input.

mod label_common;

use label_common::{init_area, persist, random_label, Rng, AREA};
use nd_formats::label::layout::index_field;
use nd_formats::label::{
    write_index, FreeMap, Geometry, IndexCopy, IndexWrite, LabelArea, LabelAreaMut, LabelError,
    LabelSize, NamespaceLabel,
};
use std::collections::BTreeMap;

const SIZES: [LabelSize; 2] = [LabelSize::Bytes128, LabelSize::Bytes256];

#[test]
fn label_round_trip() {
    let mut rng = Rng::new(10);
    for i in 0..20_000 {
        let size = SIZES[i % 2];
        let label = random_label(&mut rng, size);
        let mut raw = vec![0u8; size.bytes()];
        rng.fill(&mut raw); // write must not depend on what was there
        let sum = label.write(&mut raw).unwrap();
        let back = NamespaceLabel::validate(&raw, size, label.slot).unwrap();
        assert_eq!(
            back,
            NamespaceLabel {
                checksum: sum,
                ..label
            }
        );
        let mut again = vec![0u8; size.bytes()];
        back.write(&mut again).unwrap();
        assert_eq!(raw, again);
    }
}

#[test]
fn any_bit_flip_breaks_a_v1_2_label() {
    let mut rng = Rng::new(11);
    let size = LabelSize::Bytes256;
    for _ in 0..5_000 {
        let label = random_label(&mut rng, size);
        let mut raw = [0u8; 256];
        label.write(&mut raw).unwrap();
        let bit = rng.below(256 * 8) as usize;
        raw[bit / 8] ^= 1 << (bit % 8);
        let want = if (120..124).contains(&(bit / 8)) {
            LabelError::SlotMismatch
        } else {
            LabelError::BadChecksum
        };
        assert_eq!(
            NamespaceLabel::validate(&raw, size, label.slot),
            Err(want),
            "bit {bit}"
        );
    }
}

#[test]
fn any_bit_flip_breaks_an_index() {
    let mut rng = Rng::new(12);
    for i in 0..3_000 {
        let size = SIZES[i % 2];
        // Random but plausible areas: 1K .. 1M.
        let config = 1024 + rng.below(1 << 20) as u32;
        let g = Geometry::new(config, size).unwrap();
        let mut area = vec![0u8; config as usize];
        let copy = IndexCopy::BOTH[rng.below(2) as usize];
        let seq = 1 + rng.below(3) as u32;
        let block = &mut area[g.index_range(copy)];
        write_index(block, &g, copy, seq, IndexWrite::Init).unwrap();
        // Some slots in use, then restamped like an update.
        let nslot = g.nslot();
        let mut map = FreeMap::new(&mut block[index_field::FREE..], nslot).unwrap();
        for _ in 0..rng.below(8) {
            map.take(rng.below(u64::from(nslot)) as u32);
        }
        write_index(block, &g, copy, seq, IndexWrite::Update).unwrap();
        assert!(LabelArea::probe(&area, &g, copy).is_ok());
        let bit = rng.below(g.index_size() as u64 * 8) as usize;
        area[g.index_offset(copy) + bit / 8] ^= 1 << (bit % 8);
        assert!(
            LabelArea::probe(&area, &g, copy).is_err(),
            "config {config} bit {bit}"
        );
    }
}

#[test]
fn free_map_matches_a_model() {
    let mut rng = Rng::new(13);
    for _ in 0..500 {
        let nslot = rng.below(300) as u32;
        let mut bits = vec![0u8; (nslot as usize).div_ceil(8) + rng.below(4) as usize];
        let mut map = FreeMap::new(&mut bits[..], nslot).unwrap();
        map.fill();
        let mut model = vec![true; nslot as usize];
        for _ in 0..200 {
            let slot = rng.below(u64::from(nslot) + 4) as u32;
            let in_range = slot < nslot;
            match rng.below(3) {
                0 => assert_eq!(
                    map.take(slot),
                    in_range && std::mem::replace(&mut model[slot as usize], false)
                ),
                1 => assert_eq!(
                    map.release(slot),
                    in_range && !std::mem::replace(&mut model[slot as usize], true)
                ),
                _ => {
                    let want = model.iter().position(|&f| f);
                    assert_eq!(map.take_first(), want.map(|s| s as u32));
                    if let Some(s) = want {
                        model[s] = false;
                    }
                }
            }
            assert_eq!(
                map.count_free() as usize,
                model.iter().filter(|&&f| f).count()
            );
            assert_eq!(
                map.first_free(),
                model.iter().position(|&f| f).map(|s| s as u32)
            );
            let used: Vec<u32> = map.used().collect();
            let want: Vec<u32> = (0..nslot).filter(|&s| !model[s as usize]).collect();
            assert_eq!(used, want);
        }
    }
}

/// Random namespace-label updates against a model, persisting only the
/// ranges the protocol reports, with power loss at random points (also
/// in the middle of an index write). Whatever happens, the media must
/// parse to exactly the last committed set of labels.
#[test]
fn update_protocol_survives_power_loss() {
    let mut rng = Rng::new(14);
    for round in 0..40 {
        let size = SIZES[round % 2];
        let mut media = vec![0u8; AREA];
        let mut work = vec![0u8; AREA];
        let mut staged = LabelAreaMut::init(&mut work, size).unwrap();
        let g = *staged.geometry();
        for copy in IndexCopy::BOTH {
            persist(&mut media, staged.as_bytes(), g.index_range(copy));
        }
        // slot -> uuid of the committed labels, and of the staged ones.
        let mut committed: BTreeMap<u32, [u8; 16]> = BTreeMap::new();
        let mut pending = committed.clone();

        for _ in 0..300 {
            match rng.below(10) {
                0..=3 => {
                    let Some(slot) = staged.alloc_slot() else {
                        continue;
                    };
                    assert!(!committed.contains_key(&slot), "live slot handed out");
                    let label = random_label(&mut rng, size);
                    let r = staged.write_label(slot, &label).unwrap();
                    persist(&mut media, staged.as_bytes(), r);
                    pending.insert(slot, label.uuid);
                }
                4..=5 => {
                    let Some(&slot) = pending
                        .keys()
                        .nth(rng.below(pending.len() as u64 + 1) as usize)
                    else {
                        continue;
                    };
                    assert!(staged.free_slot(slot));
                    pending.remove(&slot);
                }
                6..=7 => {
                    let r = staged.commit().unwrap();
                    persist(&mut media, staged.as_bytes(), r);
                    committed = pending.clone();
                }
                8 => {
                    // Torn index write: only a prefix of the block lands.
                    let r = staged.commit().unwrap();
                    let new_block = staged.as_bytes()[r.clone()].to_vec();
                    let old_block = media[r.clone()].to_vec();
                    let cut = r.start + 1 + rng.below(r.len() as u64 - 1) as usize;
                    persist(&mut media, staged.as_bytes(), r.start..cut);
                    if media[r.clone()] == new_block[..] {
                        committed = pending.clone(); // the prefix was all that changed
                    } else if media[r.clone()] != old_block[..] {
                        // A mixed block fails its checksum, so the
                        // previous index stays current.
                        let copy = IndexCopy::BOTH[r.start / g.index_size()];
                        assert!(LabelArea::probe(&media, &g, copy).is_err());
                    }
                    work.copy_from_slice(&media);
                    staged = LabelAreaMut::open(&mut work).unwrap();
                    pending = committed.clone();
                }
                _ => {
                    // Power loss between steps: staged changes vanish.
                    work.copy_from_slice(&media);
                    staged = LabelAreaMut::open(&mut work).unwrap();
                    pending = committed.clone();
                }
            }
            let parsed = LabelArea::parse(&media).unwrap();
            let found: BTreeMap<u32, [u8; 16]> =
                parsed.labels().map(|(s, l)| (s, l.uuid)).collect();
            assert_eq!(found, committed);
            assert_eq!(
                parsed.slots().count(),
                committed.len(),
                "every live slot valid"
            );
            assert_eq!(staged.nfree() as usize, g.nslot() as usize - pending.len());
        }
    }
}

/// Random damage to a populated area: parsing never panics, and whatever
/// it accepts is self-consistent.
#[test]
fn garbage_never_panics() {
    let mut rng = Rng::new(15);
    let mut populated = Vec::new();
    for size in SIZES {
        let mut area = init_area(size);
        let mut staged = LabelAreaMut::open(&mut area).unwrap();
        for _ in 0..20 {
            let slot = staged.alloc_slot().unwrap();
            staged
                .write_label(slot, &random_label(&mut rng, size))
                .unwrap();
        }
        staged.commit().unwrap();
        populated.push(area);
    }
    for i in 0..4_000 {
        let mut area = populated[i % 2].clone();
        match i % 4 {
            // Scribble on the index blocks, then maybe reseal one.
            0 | 1 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(1024) as usize;
                    area[at] = rng.next_u64() as u8;
                }
                if i % 4 == 1 {
                    let at = if rng.below(2) == 0 { 0 } else { 256 };
                    nd_formats::fletcher::seal(&mut area[at..at + 256], index_field::CHECKSUM)
                        .unwrap();
                }
            }
            // Entirely random bytes, random length.
            2 => {
                area.truncate(rng.below(AREA as u64) as usize);
                rng.fill(&mut area);
            }
            // Random header values with a good checksum.
            _ => {
                rng.fill(&mut area[16..72]);
                area[60..64].copy_from_slice(&[1, 0, 2, 0]);
                nd_formats::fletcher::seal(&mut area[..256], index_field::CHECKSUM).unwrap();
            }
        }
        if let Ok(parsed) = LabelArea::parse(&area) {
            let g = parsed.geometry();
            assert!(
                2 * g.index_size() + parsed.nslot() as usize * g.label_size().bytes() <= area.len()
            );
            for (slot, label) in parsed.slots() {
                assert!(slot < parsed.nslot());
                if let Ok(l) = label {
                    assert_eq!(l.slot, slot);
                }
            }
            if i % 25 != 0 {
                continue; // filling every slot is slow; sample it
            }
            let mut copy = area.clone();
            let mut staged = LabelAreaMut::open(&mut copy).unwrap();
            while let Some(slot) = staged.alloc_slot() {
                staged
                    .write_label(slot, &NamespaceLabel::new(g.label_size()))
                    .unwrap();
            }
            staged.commit().unwrap();
        }
    }
}
