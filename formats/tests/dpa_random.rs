//! Randomised create/resize/delete sequences over the DPA model, checked
//! against invariants (deterministic seeds, no dependencies).

use nd_formats::dpa::{DimmDpa, DpaError, NsId, RegionDpa, Resized, Window};

const M: u64 = 1 << 20;

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Dimm = DimmDpa<64>;

fn check(r: &RegionDpa<'_>, dimms: &[Dimm], sizes: &[(NsId, u64)], ctx: &str) {
    let unit = r.align / r.windows.len() as u64;
    let mut region_avail = 0;
    for (i, (d, w)) in dimms.iter().zip(r.windows).enumerate() {
        let allocs = d.allocations();
        for pair in allocs.windows(2) {
            assert!(pair[0].start + pair[0].len <= pair[1].start, "{ctx}: dimm{i} overlap {allocs:?}");
        }
        let mut used = 0;
        for a in allocs {
            assert!(a.len > 0 && a.start >= w.start && a.start + a.len <= w.start + w.size, "{ctx}: dimm{i} outside {w:?}: {a:?}");
            assert_eq!((a.start % unit, a.len % unit), (0, 0), "{ctx}: unaligned {a:?}");
            used += a.len;
        }
        // Aligned windows and extents: nothing is lost to alignment.
        let avail = d.available(*w, unit);
        assert_eq!(avail + used, w.size, "{ctx}: dimm{i} available {avail} + used {used}");
        let max = d.max_contiguous(*w, unit);
        assert!(max <= avail, "{ctx}");
        // The largest free run, measured independently.
        let mut best = 0;
        let mut cursor = w.start;
        for a in allocs {
            best = best.max(a.start - cursor);
            cursor = a.start + a.len;
        }
        best = best.max(w.start + w.size - cursor);
        assert_eq!(max, best, "{ctx}: dimm{i} max_contiguous");
        region_avail += avail;
        // Every allocation belongs to a live namespace.
        for a in allocs {
            assert!(sizes.iter().any(|(id, s)| *id == a.id && *s > 0), "{ctx}: stray {a:?}");
        }
    }
    assert_eq!(r.available(dimms), region_avail, "{ctx}");
    assert!(r.allocatable(dimms) <= region_avail, "{ctx}");
    let ways = r.windows.len() as u64;
    for (id, size) in sizes {
        // Interleave: each DIMM holds an equal share.
        for (i, d) in dimms.iter().enumerate() {
            assert_eq!(d.allocated(id) * ways, *size, "{ctx}: dimm{i} share of {id:?}");
        }
        assert_eq!(r.allocated(dimms, id), Ok(*size), "{ctx}");
        if *size > 0 {
            let res = r.namespace_resource(dimms, id, *size);
            let first = dimms[0].extents_of(id).next().unwrap();
            assert_eq!(res.start, r.start + (first.start - r.windows[0].start) * ways, "{ctx}");
            assert_eq!(res.size, *size);
            assert!(r.dpa_extents(dimms, id) >= dimms.len());
        }
    }
}

fn run(seed: u64, steps: usize) -> [usize; 4] {
    let mut rng = Rng(seed);
    let ways = 1 + rng.below(4) as usize;
    let align = [4 * M, 16 * M][rng.below(2) as usize] * if (16 * M) % ways as u64 == 0 { 1 } else { ways as u64 };
    let unit = align / ways as u64;
    let units = 4 + rng.below(28);
    let windows: Vec<Window> = (0..ways).map(|i| Window { start: (i as u64 * rng.below(3)) * unit, size: units * unit }).collect();
    let r = RegionDpa { start: 1 << 40, align, windows: &windows };
    let mut dimms = vec![Dimm::new(); ways];
    let mut sizes: Vec<(NsId, u64)> = (0..6u8).map(|i| ([i + 1; 16], 0)).collect();
    let mut outcomes = [0usize; 4]; // ok, ENOSPC, ENXIO, EINVAL
    for step in 0..steps {
        let k = rng.below(sizes.len() as u64) as usize;
        let (id, old) = sizes[k];
        let new = match rng.below(4) {
            0 => 0,
            1 => old + align * (1 + rng.below(4)),
            2 => old.saturating_sub(align * (1 + rng.below(3))),
            _ => align * rng.below(units + 1) + if rng.below(16) == 0 { unit } else { 0 },
        };
        let before = dimms.clone();
        let allocatable = r.allocatable(&dimms[..]);
        let ctx = format!("seed {seed} step {step}: {id:?} {old} -> {new}");
        match r.resize(&mut dimms[..], Some(&id), new) {
            Ok(Resized::Unchanged) => {
                assert_eq!(new, old, "{ctx}");
                outcomes[0] += 1;
            }
            Ok(Resized::To(res)) => {
                assert_eq!(res.size, new, "{ctx}");
                sizes[k].1 = new;
                outcomes[0] += 1;
            }
            Err(e) => {
                assert_eq!(dimms, before, "{ctx}: {e:?} changed the DIMMs");
                match e {
                    DpaError::NoSpace => assert!(new > allocatable + old, "{ctx}"),
                    DpaError::Invalid => assert_ne!(new % align, 0, "{ctx}"),
                    DpaError::NoDevice => assert!(new > old, "{ctx}: only growth underruns"),
                    _ => panic!("{ctx}: {e:?}"),
                }
                outcomes[match e {
                    DpaError::NoSpace => 1,
                    DpaError::NoDevice => 2,
                    _ => 3,
                }] += 1;
            }
        }
        check(&r, &dimms, &sizes, &ctx);
    }
    outcomes
}

#[test]
fn random_resize_sequences_keep_the_invariants() {
    let mut total = [0usize; 4];
    for seed in 0..400 {
        let o = run(seed, 200);
        for i in 0..4 {
            total[i] += o[i];
        }
    }
    // Every outcome is exercised, so the checks above cannot pass vacuously.
    assert!(total.iter().all(|&n| n > 100), "outcomes ok/ENOSPC/ENXIO/EINVAL: {total:?}");
    eprintln!("outcomes ok/ENOSPC/ENXIO/EINVAL: {total:?}");
}
