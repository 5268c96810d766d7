//! Mutation fuzzer for nd-formats, runnable on the stable toolchain.
//!
//! `cargo run --release -- [TARGET|all] [--iters N] [--seed S]`
//!
//! Inputs start from the label areas in testdata/ (C's init images and the
//! labelled DIMMs under testdata/scan/), are mutated (bit flips, interesting
//! values in 8-byte fields, block copies, splices, length changes) and,
//! half of the time, have their index and label checksums resealed so that
//! the parsers get past the checksum. Each case runs under catch_unwind; a
//! panic or a broken invariant is saved to fuzz/crashes/ and ends the run.

use nd_formats::dpa::{DimmDpa, DpaError, RegionDpa, Resized, Window};
use nd_formats::fletcher;
use nd_formats::label::{
    DimmLabels, IndexCopy, IndexHeader, InterleaveSetId, LabelArea, LabelAreaMut, LabelSize, Mapping, Namespace,
    NamespaceIndex, NamespaceLabel, PmemRegion,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const INTERESTING: [u64; 12] = [0, 1, 2, 3, 0xff, 0x100, 0x1000, 0x7fff_ffff, 0xffff_ffff, 1 << 32, u64::MAX, u64::MAX - 1];

fn corpus(root: &Path) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "bin") && !p.ends_with("nfit.bin") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root.join("testdata"), &mut paths);
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Recompute the checksums the parsers check, for both label sizes' layouts.
fn reseal(data: &mut [u8]) {
    for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
        let Ok(geo) = nd_formats::label::Geometry::for_area(data, size) else { continue };
        for copy in [IndexCopy::First, IndexCopy::Second] {
            if let Some(block) = data.get_mut(geo.index_range(copy)) {
                fletcher::seal(block, 64);
            }
        }
        if size == LabelSize::Bytes256 {
            for slot in 0..geo.nslot() {
                if let Some(r) = geo.slot_range(slot) {
                    if let Some(label) = data.get_mut(r) {
                        fletcher::seal(label, 248);
                    }
                }
            }
        }
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        let len = data.len();
        match rng.below(9) {
            0 | 1 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            3 if len >= 8 => {
                // An interesting integer in an 8-byte aligned field (most
                // index and label fields are).
                let i = rng.below(len / 8) * 8;
                let v = INTERESTING[rng.below(INTERESTING.len())].wrapping_add(rng.below(3) as u64).wrapping_sub(1);
                let w = [1, 2, 4, 8][rng.below(4)];
                data[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
            4 if len > 0 => {
                // Copy a block within (e.g. one label slot over another).
                let n = 1 + rng.below(512.min(len));
                let (a, b) = (rng.below(len - n + 1), rng.below(len - n + 1));
                data.copy_within(a..a + n, b);
            }
            5 => {
                // Splice from another seed at the same offset.
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() && len > 0 {
                    let a = rng.below(len.min(other.len()));
                    let n = rng.below(4096).min(len - a).min(other.len() - a);
                    data[a..a + n].copy_from_slice(&other[a..a + n]);
                }
            }
            6 => {
                let new = match rng.below(4) {
                    0 => rng.below(len + 1),
                    1 => len.saturating_sub(1 + rng.below(300)),
                    2 => len + rng.below(300),
                    _ => [0, 1, 255, 256, 1023, 1024, 4096, 8192, 65536, 131072][rng.below(10)],
                };
                data.resize(new, 0);
            }
            _ => {}
        }
    }
    if rng.below(2) == 0 {
        reseal(data);
    }
}

type Check = Result<(), String>;

/// Cases that got past parsing (a valid area, index, found namespace or
/// successful resize): how deep the run went, reported with the counts.
static DEEP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn deep() {
    DEEP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Check {
    if ok { Ok(()) } else { Err(what()) }
}

/// LabelArea::parse and everything a parsed area offers, plus the
/// open → view round trip and one staged label update.
fn target_area(data: &[u8], rng: &mut Rng) -> Check {
    let Ok(area) = LabelArea::parse(data) else { return Ok(()) };
    deep();
    let n = area.active_count();
    ensure(area.labels().count() == n, || "labels() and active_count() disagree".into())?;
    ensure(area.slots().count() as u32 <= area.nslot(), || "more slots than nslot".into())?;
    for i in 0..n {
        let (slot, label) = area.active(i).ok_or("active(i) < active_count() is None")?;
        ensure(slot < area.nslot(), || format!("slot {slot} >= nslot"))?;
        ensure(area.labels_with_uuid(&label.uuid).count() >= 1, || "labels_with_uuid misses a label".into())?;
        label_round_trip(&label)?;
    }
    ensure(area.active(n).is_none(), || "active(active_count()) is Some".into())?;
    let mut copy = data.to_vec();
    let mut m = LabelAreaMut::open(&mut copy).map_err(|e| format!("open refuses what parse accepts: {e:?}"))?;
    let view = m.view().map_err(|e| format!("view of an opened area: {e:?}"))?;
    ensure(view.active_count() == n && view.current() == area.current(), || "view differs from parse".into())?;
    // Stage one update: a copy of a label (or none) into a fresh slot.
    let label = area.active(rng.below(n.max(1))).map(|(_, l)| l);
    if let (Some(mut label), Some(slot)) = (label, m.alloc_slot()) {
        label.uuid[0] ^= 0x5a;
        m.write_label(slot, &mut label).map_err(|e| format!("write_label: {e:?}"))?;
    }
    m.commit().map_err(|e| format!("commit: {e:?}"))?;
    let after = LabelArea::parse(m.as_bytes()).map_err(|e| format!("committed area does not parse: {e:?}"))?;
    ensure(after.current() != area.current(), || "commit did not switch the index".into())?;
    Ok(())
}

fn label_round_trip(label: &NamespaceLabel) -> Check {
    let mut raw = vec![0u8; label.size.bytes()];
    label.write(&mut raw).map_err(|e| format!("write: {e:?}"))?;
    let back = NamespaceLabel::parse(&raw, label.size).map_err(|e| format!("re-parse: {e:?}"))?;
    // The stored checksum covers reserved bytes the struct does not keep.
    let (mut a, mut b) = (*label, back);
    a.checksum = 0;
    b.checksum = 0;
    ensure(a == b, || format!("label round trip: {label:?} != {back:?}"))
}

/// Index blocks and labels on their own, at every offset the input offers.
fn target_index(data: &[u8], _rng: &mut Rng) -> Check {
    if let Ok(h) = IndexHeader::parse(data) {
        let mut block = data.to_vec();
        h.write(&mut block).map_err(|e| format!("header write: {e:?}"))?;
        let back = IndexHeader::parse(&block).map_err(|e| format!("header re-parse: {e:?}"))?;
        ensure(back == h, || "index header round trip".into())?;
    }
    for size in [LabelSize::Bytes128, LabelSize::Bytes256] {
        if let Ok(geo) = nd_formats::label::Geometry::for_area(data, size) {
            for copy in [IndexCopy::First, IndexCopy::Second] {
                if let Some(block) = data.get(geo.index_range(copy)) {
                    if let Ok(ix) = NamespaceIndex::validate(block, copy, &geo) {
                        deep();
                        let used = ix.used_slots().count() as u32;
                        ensure(used + ix.free().count_free() == ix.nslot(), || "used + free != nslot".into())?;
                    }
                }
            }
        }
        for start in (0..data.len()).step_by(size.bytes()).take(64) {
            let raw = &data[start..];
            if let Ok(label) = NamespaceLabel::parse(raw, size) {
                label_round_trip(&label)?;
            }
            let _ = NamespaceLabel::validate(raw, size, (start / size.bytes()) as u32);
        }
    }
    Ok(())
}

/// PmemRegion::scan over 1-4 DIMMs cut from the input, with the cookies of
/// the labels found so that scans get past the cookie check.
fn target_scan(data: &[u8], rng: &mut Rng) -> Check {
    // One way half of the time: cutting an area up rarely leaves valid ones.
    let ways = if rng.below(2) == 0 { 1 } else { 1 + rng.below(4) };
    let part = data.len() / ways;
    let areas: Vec<Option<LabelArea<'_>>> = (0..ways).map(|i| LabelArea::parse(&data[i * part..(i + 1) * part]).ok()).collect();
    let mut set = InterleaveSetId::default();
    if let Some(l) = areas.iter().flatten().flat_map(|a| a.labels()).map(|(_, l)| l).next() {
        set = InterleaveSetId { cookie1: l.isetcookie, cookie2: l.isetcookie, altcookie: l.isetcookie, type_guid: l.type_guid };
    }
    let mappings: Vec<Mapping<'_>> = areas
        .iter()
        .map(|a| {
            let dimm = match rng.below(16) {
                0 => DimmLabels::Disabled { locked: rng.below(2) == 0, labeling: rng.below(2) == 0 },
                _ => DimmLabels::Enabled(*a),
            };
            let (start, size) = match rng.below(4) {
                0 => (rng.next(), rng.next()),
                1 => (0, u64::MAX),
                _ => (0, 1u64 << (20 + rng.below(20))),
            };
            Mapping { dimm, start, size }
        })
        .collect();
    let region = PmemRegion { set, start: rng.next(), mappings: &mappings };
    let max = region.max_namespaces();
    let mut out = vec![Namespace::EMPTY; max];
    if let Ok(found) = region.scan(&mut out, |_| {}) {
        if !found.is_empty() {
            deep();
        }
        ensure(found.len() <= max, || "more namespaces than max_namespaces".into())?;
        for ns in found.iter() {
            ensure(ns.labels().len() == ways, || format!("{} labels for {ways} ways", ns.labels().len()))?;
        }
    }
    Ok(())
}

/// The DPA model driven by the input as a program of label reservations and
/// size writes with arbitrary numbers.
fn target_dpa(data: &[u8], rng: &mut Rng) -> Check {
    let mut words = data.chunks(8).map(|c| c.iter().rev().fold(0u64, |v, &b| v << 8 | b as u64));
    let mut word = || words.next().unwrap_or_else(|| rng.next());
    let ways = 1 + (word() % 4) as usize;
    let scale = |w: u64| if w & 1 == 0 { (w >> 1) % 64 << 20 } else { w };
    let windows: Vec<Window> = (0..ways).map(|_| Window { start: scale(word()), size: scale(word()) }).collect();
    let align = match word() % 4 { 0 => word(), 1 => 4096, 2 => 16 << 20, _ => (4 << 20) * ways as u64 };
    let r = RegionDpa { start: word(), align, windows: &windows };
    let mut dimms = vec![DimmDpa::<8>::new(); ways];
    let ids: [[u8; 16]; 3] = [[1; 16], [2; 16], [3; 16]];
    for _ in 0..16 {
        let op = word();
        let id = ids[(op >> 8) as usize % 3];
        match op % 4 {
            0 => {
                let d = (op >> 16) as usize % ways;
                let _ = dimms[d].reserve_label(&id, scale(word()), scale(word()));
            }
            1 | 2 => {
                let val = if op & 0x100 != 0 { word() } else { (word() % 16).wrapping_mul(align.max(1)) };
                let before = dimms.clone();
                match r.resize(&mut dimms[..], Some(&id), val) {
                    Err(e) => {
                        ensure(dimms == before, || format!("{e:?} changed the DIMMs"))?;
                        ensure(matches!(e, DpaError::NoSpace | DpaError::NoDevice | DpaError::Invalid), || format!("{e:?}"))?;
                    }
                    Ok(Resized::Unchanged) => ensure(dimms == before, || "Unchanged changed the DIMMs".into())?,
                    Ok(Resized::To(_)) => deep(),
                }
            }
            _ => {
                let _ = (r.available(&dimms[..]), r.allocatable(&dimms[..]), r.dpa_extents(&dimms[..], &id));
            }
        }
        for (d, w) in dimms.iter().zip(&windows) {
            let a = d.allocations();
            ensure(a.windows(2).all(|p| p[0].start.checked_add(p[0].len).is_some_and(|e| e <= p[1].start)), || format!("overlap {a:?}"))?;
            ensure(a.iter().all(|x| x.len > 0), || "empty allocation".into())?;
            let unit = align / ways as u64;
            if unit > 0 {
                ensure(d.max_contiguous(*w, unit) <= d.available(*w, unit), || "max_contiguous > available".into())?;
            }
        }
    }
    Ok(())
}

/// The labels the current index references, as a sorted list of raw
/// (uuid, dpa, rawsize, flags, name) tuples; empty when nothing parses.
fn committed(data: &[u8]) -> Vec<([u8; 16], u64, u64, u32, [u8; 64])> {
    let Ok(area) = LabelArea::parse(data) else { return Vec::new() };
    let mut v: Vec<_> = area.labels().map(|(_, l)| (l.uuid, l.dpa, l.rawsize, l.flags, l.name)).collect();
    v.sort();
    v
}

/// One DIMM's namespace update (replace_label or delete_labels) on a
/// parsed area, with a power cut at a random write (that write lands half):
/// the media must then show the labels from before or from after the
/// update, and an update that succeeds must show exactly its label.
fn target_update(data: &[u8], rng: &mut Rng) -> Check {
    let Ok(area) = LabelArea::parse(data) else { return Ok(()) };
    deep();
    let n = area.active_count();
    let size = area.geometry().label_size();
    // The namespace: an existing label's uuid half of the time.
    let mut label = area.active(rng.below(n.max(1))).map(|(_, l)| l).unwrap_or(NamespaceLabel::new(size));
    if rng.below(2) == 0 {
        label.uuid[15] ^= 0xa5;
    }
    label.rawsize = (rng.next() % 64 + 1) << 12;
    label.flags = if rng.below(2) == 0 { nd_formats::label::NSLABEL_FLAG_UPDATING } else { 0 };
    let retire = area.active(rng.below(n.max(1))).map(|(_, l)| l.uuid).filter(|_| rng.below(3) == 0);
    let delete = rng.below(3) == 0;
    let op = |work: &mut Vec<u8>, media: &mut Vec<u8>, cut: Option<usize>| -> Result<bool, String> {
        let mut m = LabelAreaMut::open(work).map_err(|e| format!("open refuses what parse accepts: {e:?}"))?;
        let mut writes = 0usize;
        let mut persist = |off: usize, bytes: &[u8]| -> Result<(), ()> {
            let k = writes;
            writes += 1;
            let len = match cut {
                Some(c) if k == c => bytes.len() / 2,
                Some(c) if k > c => return Err(()),
                _ => bytes.len(),
            };
            media[off..off + len].copy_from_slice(&bytes[..len]);
            if Some(k) == cut { Err(()) } else { Ok(()) }
        };
        let r = if delete {
            m.delete_labels(&label.uuid, &mut persist).map(|_| ())
        } else {
            m.replace_label(&label, retire.as_ref(), &mut persist).map(|_| ())
        };
        match r {
            Ok(()) => Ok(true),
            Err(nd_formats::label::UpdateError::Persist(())) | Err(nd_formats::label::UpdateError::NoSlot) => Ok(false),
            Err(e) => Err(format!("update of a parsed area failed: {e:?}")),
        }
    };
    let before = committed(data);
    let (mut work, mut media) = (data.to_vec(), data.to_vec());
    let done = op(&mut work, &mut media, None)?;
    if !done {
        // No free slot, the only refusal: nothing may have reached the media.
        return ensure(media == data, || "a refused update wrote".into());
    }
    let after = committed(&media);
    let mine = after.iter().filter(|l| l.0 == label.uuid).count();
    ensure(mine == usize::from(!delete), || format!("{mine} labels of the uuid after the update"))?;
    if let Some(old) = retire.filter(|u| *u != label.uuid && !delete) {
        ensure(after.iter().all(|l| l.0 != old), || "a retired uuid survived".into())?;
    }
    let cut = rng.below(4);
    let (mut work, mut media) = (data.to_vec(), data.to_vec());
    op(&mut work, &mut media, Some(cut))?;
    let seen = committed(&media);
    ensure(seen == before || seen == after, || format!("cut at write {cut}: neither the old nor the new labels"))
}

type Target = fn(&[u8], &mut Rng) -> Check;
const TARGETS: [(&str, Target); 5] =
    [("area", target_area), ("index", target_index), ("scan", target_scan), ("dpa", target_dpa), ("update", target_update)];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut which = "all".to_string();
    let (mut iters, mut seed) = (100_000u64, 1u64);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--iters" => { iters = args[i + 1].parse().expect("--iters N"); i += 1; }
            "--replay" => {
                // fuzz/crashes/TARGET-CASESEED.bin: rerun it with the panic shown.
                let path = Path::new(&args[i + 1]);
                let stem = path.file_stem().unwrap().to_str().unwrap();
                let (name, case) = stem.split_once('-').expect("TARGET-SEED.bin");
                let target = TARGETS.iter().find(|t| t.0 == name).expect("target").1;
                let data = std::fs::read(path).unwrap();
                let result = target(&data, &mut Rng(u64::from_str_radix(case, 16).unwrap()));
                println!("{name}: {result:?}");
                return;
            }
            "--seed" => { seed = args[i + 1].parse().expect("--seed S"); i += 1; }
            t => which = t.to_string(),
        }
        i += 1;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seeds = corpus(&root);
    assert!(!seeds.is_empty(), "no seed corpus under testdata/");
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for (name, target) in TARGETS {
        if which != "all" && which != name {
            continue;
        }
        let mut rng = Rng(seed ^ name.len() as u64 * 0x1234_5678);
        let t0 = std::time::Instant::now();
        DEEP.store(0, std::sync::atomic::Ordering::Relaxed);
        let mut ran = 0u64;
        for _ in 0..iters {
            let mut data = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &seeds, &mut data);
            let case_seed = rng.next();
            let outcome = catch_unwind(AssertUnwindSafe(|| target(&data, &mut Rng(case_seed))));
            ran += 1;
            let why = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(msg)) => format!("invariant: {msg}"),
                Err(p) => format!("panic: {}", p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()),
            };
            let dir = root.join("fuzz/crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{case_seed:016x}.bin"));
            std::fs::write(&file, &data).unwrap();
            println!("{name}: FAILED after {ran} executions: {why}\n  input: {} (case seed {case_seed:#x})", file.display());
            failed = true;
            break;
        }
        let deep = DEEP.load(std::sync::atomic::Ordering::Relaxed);
        println!("{name}: {ran} executions in {:.1}s, {deep} past parsing", t0.elapsed().as_secs_f64());
    }
    std::process::exit(failed as i32);
}
