//! The DPA model, structure-aware: a region (1-4 mappings, windows,
//! alignment) and a sequence of operations on it, decoded with `arbitrary`:
//! label reservations at probe, size writes (`RegionDpa::resize`), releases,
//! renames and the queries.
//!
//! Checks, after every operation: each DIMM's allocations are sorted,
//! disjoint and non-empty; max_contiguous <= available. A refused size
//! write changes no DIMM and is ENOSPC/ENXIO/EINVAL; `Unchanged` changes
//! nothing; a resize never touches another namespace's extents; a resize
//! from equal per-DIMM sizes leaves every DIMM with val / ways; the
//! resource reported has that size times the ways.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nd_formats::dpa::{DimmDpa, DpaError, NsId, RegionDpa, Resized, Window};

const M: u64 = 1 << 20;

/// A number that is often a small multiple of a MiB, sometimes anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Mib(u8),
    Raw(u64),
}

impl Num {
    fn get(self) -> u64 {
        match self {
            Num::Mib(n) => u64::from(n % 64) * M,
            Num::Raw(v) => v,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Align {
    Page,
    Sixteen,
    PerWay,
    Any(Num),
}

#[derive(Arbitrary, Debug)]
enum Size {
    /// A multiple of the alignment.
    Units(u8),
    Any(Num),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Reserve { dimm: u8, id: u8, dpa: Num, rawsize: Num },
    Resize { id: u8, size: Size },
    Release { id: u8 },
    Rename { old: u8, new: u8 },
    Query { id: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    windows: Vec<(Num, Num)>,
    align: Align,
    start: u64,
    ops: Vec<Op>,
}

type Dimm = DimmDpa<8>;

fn id(n: u8) -> NsId {
    [1 + n % 3; 16]
}

fn others(d: &[Dimm], id: &NsId) -> Vec<Vec<(NsId, u64, u64)>> {
    d.iter().map(|d| d.allocations().iter().filter(|a| a.id != *id).map(|a| (a.id, a.start, a.len)).collect()).collect()
}

fuzz_target!(|input: Input| {
    let ways = input.windows.len().clamp(1, 4);
    let mut windows: Vec<Window> =
        input.windows.iter().take(ways).map(|&(s, z)| Window { start: s.get(), size: z.get() }).collect();
    if windows.is_empty() {
        windows.push(Window { start: 0, size: 64 * M });
    }
    let align = match input.align {
        Align::Page => 4096,
        Align::Sixteen => 16 * M,
        Align::PerWay => 4 * M * ways as u64,
        Align::Any(n) => n.get(),
    };
    let r = RegionDpa { start: input.start, align, windows: &windows };
    let mut dimms = vec![Dimm::new(); ways];
    for op in input.ops.iter().take(32) {
        match *op {
            Op::Reserve { dimm, id: i, dpa, rawsize } => {
                let d = dimm as usize % ways;
                let before = dimms[d];
                match dimms[d].reserve_label(&id(i), dpa.get(), rawsize.get()) {
                    Ok(()) => assert_eq!(dimms[d].allocations().len(), before.allocations().len() + 1),
                    Err(e) => {
                        assert_eq!(e, DpaError::Busy);
                        assert_eq!(dimms[d], before, "a refused reservation changed the DIMM");
                    }
                }
            }
            Op::Resize { id: i, ref size } => {
                let id = id(i);
                let val = match *size {
                    Size::Units(n) => u64::from(n % 16).wrapping_mul(align),
                    Size::Any(n) => n.get(),
                };
                let before = dimms.clone();
                let equal = dimms.windows(2).all(|p| p[0].allocated(&id) == p[1].allocated(&id));
                match r.resize(&mut dimms[..], Some(&id), val) {
                    Err(e) => {
                        assert_eq!(dimms, before, "{e:?} changed the DIMMs");
                        assert!(matches!(e, DpaError::NoSpace | DpaError::NoDevice | DpaError::Invalid), "{e:?}");
                    }
                    Ok(Resized::Unchanged) => {
                        assert_eq!(dimms, before, "Unchanged changed the DIMMs");
                        assert_eq!(r.allocated(&dimms[..], &id), Ok(val));
                    }
                    Ok(Resized::To(res)) => {
                        assert_eq!(others(&dimms, &id), others(&before, &id), "a resize moved another namespace");
                        let per = val / ways as u64;
                        // Size 0 when the first DIMM holds none of it (C warns),
                        // which only unequal DIMMs allow.
                        assert!(res.size == per * ways as u64 || (!equal && res.size == 0), "resource size {res:?}");
                        if equal {
                            for (k, d) in dimms.iter().enumerate() {
                                assert_eq!(d.allocated(&id), per, "dimm{k}: {} bytes after a resize to {val}", d.allocated(&id));
                            }
                        }
                        if per == 0 && equal {
                            assert_eq!(r.dpa_extents(&dimms[..], &id), 0);
                        }
                    }
                }
            }
            Op::Release { id: i } => {
                let id = id(i);
                let before = dimms.clone();
                for d in &mut dimms {
                    d.release(&id);
                }
                assert_eq!(r.dpa_extents(&dimms[..], &id), 0);
                assert_eq!(others(&dimms, &id), others(&before, &id));
            }
            Op::Rename { old, new } => {
                let (old, new) = (id(old), id(new));
                let count = r.dpa_extents(&dimms[..], &old) + r.dpa_extents(&dimms[..], &new);
                r.rename(&mut dimms[..], &old, &new);
                if old != new {
                    assert_eq!(r.dpa_extents(&dimms[..], &old), 0);
                    assert_eq!(r.dpa_extents(&dimms[..], &new), count);
                }
            }
            Op::Query { id: i } => {
                let id = id(i);
                let (avail, alloc) = (r.available(&dimms[..]), r.allocatable(&dimms[..]));
                let _ = (avail, alloc, r.dpa_extents(&dimms[..], &id));
                let size = r.allocated(&dimms[..], &id).unwrap();
                let res = r.namespace_resource(&dimms[..], &id, size);
                assert!(res.size == size || res.size == 0);
            }
        }
        let unit = align / ways as u64;
        for (d, w) in dimms.iter().zip(&windows) {
            let a = d.allocations();
            assert!(a.windows(2).all(|p| p[0].start.checked_add(p[0].len).is_some_and(|e| e <= p[1].start)), "overlap {a:?}");
            assert!(a.iter().all(|x| x.len > 0 && x.start.checked_add(x.len).is_some()), "empty or wrapping allocation {a:?}");
            assert!(a.len() <= 8);
            if unit > 0 {
                assert!(d.max_contiguous(*w, unit) <= d.available(*w, unit), "max_contiguous > available");
            }
        }
    }
});
