//! BTTs that Linux's C stack wrote (formats/testdata/btt/, made by
//! test/tools/make-btt-images.sh; see the README there): the info blocks,
//! the layout against ours and against C's own debugfs view, the flog
//! layout, load-time recovery and the full check, and every sector read
//! back through the map against the known writes and C's own read-back.

use nd_formats::btt::*;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/btt")
}

/// The raw namespace of a sparse image (bttimg.py's "RLNSPRS1" format).
fn expand(name: &str) -> Vec<u8> {
    let data = std::fs::read(dir().join(format!("{name}.img"))).unwrap();
    assert_eq!(&data[..8], b"RLNSPRS1", "{name}: not a sparse image");
    let size = u64::from_le_bytes(data[8..16].try_into().unwrap()) as usize;
    let mut raw = vec![0u8; size];
    let mut pos = 16;
    while pos < data.len() {
        let off = u64::from_le_bytes(data[pos..pos + 8].try_into().unwrap()) as usize;
        let n = u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
        pos += 12;
        raw[off..off + n].copy_from_slice(&data[pos..pos + n]);
        pos += n;
    }
    raw
}

struct Meta {
    kv: HashMap<String, String>,
    writes: Vec<(u32, u64, u64)>,
}

impl Meta {
    fn load(name: &str) -> Meta {
        let text = std::fs::read_to_string(dir().join(format!("{name}.txt"))).unwrap();
        let mut kv = HashMap::new();
        let mut writes = vec![];
        for line in text.lines() {
            let (k, v) = line.split_once('=').unwrap();
            if k == "write" {
                let f: Vec<u64> = v.split(' ').map(|x| x.parse().unwrap()).collect();
                writes.push((f[0] as u32, f[1], f[2]));
            } else {
                kv.insert(k.to_string(), v.to_string());
            }
        }
        Meta { kv, writes }
    }
    fn get(&self, k: &str) -> &str {
        self.kv.get(k).unwrap_or_else(|| panic!("no {k}"))
    }
    fn num(&self, k: &str) -> u64 {
        let v = self.get(k);
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => v.parse().unwrap(),
        }
    }
}

/// C's read-back: every non-zero sector's CRC-32, and the sector count.
fn sums(name: &str) -> (u64, BTreeMap<u64, u32>) {
    let text = std::fs::read_to_string(dir().join(format!("{name}.sums"))).unwrap();
    let mut lines = text.lines();
    let n = lines.next().unwrap().strip_prefix("sectors ").unwrap().parse().unwrap();
    let m = lines
        .map(|l| {
            let (lba, crc) = l.split_once(' ').unwrap();
            (lba.parse().unwrap(), u32::from_str_radix(crc, 16).unwrap())
        })
        .collect();
    (n, m)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// bttimg.py's pattern: a 64-byte tag at the start and at the end.
fn pattern(name: &str, lba: u64, ver: u32, sector: usize) -> Vec<u8> {
    let mut tag = format!("{name} lba={lba} v={ver}").into_bytes();
    tag.resize(64, b'.');
    let mut s = tag.clone();
    s.resize(sector - 64, 0);
    s.extend_from_slice(&tag);
    s
}

fn parse_uuid(s: &str) -> [u8; 16] {
    if s == "none" {
        return [0; 16];
    }
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    core::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
}

/// One arena of a raw namespace image as `ArenaMedia`.
struct ImageArena<'a> {
    raw: &'a mut [u8],
    base: usize,
    arena: ArenaLayout,
}

impl ArenaMedia for ImageArena<'_> {
    type Error = BttError;
    fn read_log_group(&mut self, lane: u32) -> Result<[u8; LOG_GRP_SIZE], BttError> {
        let off = self.base + self.arena.log_group_offset(lane) as usize;
        Ok(self.raw[off..off + LOG_GRP_SIZE].try_into().unwrap())
    }
    fn read_map(&mut self, premap: u32) -> Result<MapEntry, BttError> {
        let off = self.base + self.arena.map_entry_offset(premap) as usize;
        Ok(MapEntry::decode(&self.raw[off..]).unwrap())
    }
    fn write_map(&mut self, premap: u32, entry: MapEntry) -> Result<(), BttError> {
        let off = self.base + self.arena.map_entry_offset(premap) as usize;
        self.raw[off..off + 4].copy_from_slice(&entry.to_bytes());
        Ok(())
    }
}

static ZEROS: [u8; 4096] = [0; 4096];

struct Loaded {
    raw: Vec<u8>,
    base: usize,
    arenas: Vec<ArenaLayout>,
    layouts: Vec<LogLayout>,
    meta: Meta,
    ns_uuid: [u8; 16],
}

/// Loads an image as the kernel would: version by claim class, discovery,
/// then per arena the flog layout and the free list.
fn load(name: &str, meta_name: &str) -> Loaded {
    let raw = expand(name);
    let meta = Meta::load(meta_name);
    assert_eq!(raw.len() as u64, meta.num("namespace_size"), "{name}: image size");
    // The claim class decides (sysfs shows "btt" for both); C's debugfs
    // said which version it made.
    let version = BttVersion::for_claim_class(meta.num("c_arena0_version_major") == 2);
    let base = version.initial_offset() as usize;
    let ns_uuid = parse_uuid(meta.get("namespace_uuid"));
    let rawsize = raw.len() as u64 - base as u64;
    let mut d = Discovery::new(rawsize);
    let mut arenas = vec![];
    while let Some(off) = d.next_info_offset() {
        let at = base + off as usize;
        let block = &raw[at..at + INFO_SIZE];
        let info = InfoBlock::validate(block, &ns_uuid).unwrap_or_else(|e| panic!("{name}: info block at {at}: {e}"));
        info.check_version(version).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.uuid, parse_uuid(meta.get("btt_uuid")), "{name}: btt uuid");
        assert_eq!(info.parent_uuid, ns_uuid, "{name}: parent uuid");
        assert_eq!(info.infosize, 4096);
        assert!(!info.has_error());
        match d.accept(block, &ns_uuid).unwrap() {
            DiscoveryStep::Arena(a) => {
                // The backup is the same 4 KiB.
                let b2 = base + a.info2off as usize;
                assert_eq!(&raw[b2..b2 + INFO_SIZE], block, "{name}: backup info block differs");
                a.check_bounds(rawsize).unwrap();
                arenas.push(a);
            }
            DiscoveryStep::NotFound => panic!("{name}: no BTT found"),
        }
    }
    let mut l = Loaded { raw, base, arenas, layouts: vec![], meta, ns_uuid };
    for i in 0..l.arenas.len() {
        let a = l.arenas[i];
        let mut m = ImageArena { raw: &mut l.raw, base, arena: a };
        l.layouts.push(detect_log_layout(&mut m, a.nfree).unwrap());
    }
    l
}

impl Loaded {
    fn media(&mut self, i: usize) -> ImageArena<'_> {
        ImageArena { raw: &mut self.raw, base: self.base, arena: self.arenas[i] }
    }

    fn check(&mut self, repair: bool) -> Result<CheckReport, CheckFailure<BttError>> {
        let mut last = None;
        for i in 0..self.arenas.len() {
            let (a, l) = (self.arenas[i], self.layouts[i]);
            let mut bm = vec![0u64; (a.internal_nlba as usize).div_ceil(64)];
            last = Some(check_arena(&mut self.media(i), &a, l, &mut bm, repair)?);
        }
        Ok(last.unwrap())
    }

    /// Sector `lba` as nd_btt reads it.
    fn read(&self, lba: u64) -> &[u8] {
        let a = self.arenas.iter().find(|a| a.premap(lba).is_some()).unwrap();
        let premap = a.premap(lba).unwrap();
        let off = self.base + a.map_entry_offset(premap) as usize;
        let m = MapEntry::decode(&self.raw[off..]).unwrap().lookup(premap);
        let sector = sector_size(a.external_lbasize) as usize;
        assert!(!m.error, "lba {lba} has the error flag");
        if m.zero {
            return &ZEROS[..sector];
        }
        assert!(m.postmap < a.internal_nlba);
        let d = self.base + a.data_offset(m.postmap) as usize;
        &self.raw[d..d + sector]
    }
}

const IMAGES: [&str; 7] = ["ll-512", "ll-4096", "l11-4096", "l12-512", "l12-4096", "qemu-512", "qemu-4096"];

/// The BTT version each image must have: v2.0 for BTT2 claims (v1.2
/// labels, and label-less namespaces on DIMMs that support labels), v1.1
/// for v1.1 labels and DIMMs without labels.
fn version_of(name: &str) -> (u16, u16) {
    match name {
        "l11-4096" | "qemu-512" | "qemu-4096" => (1, 1),
        _ => (2, 0),
    }
}

#[test]
fn layout_is_what_we_compute_and_what_c_reported() {
    for name in IMAGES {
        let l = load(name, name);
        let sector = l.meta.num("sector_size") as u32;
        let rawsize = l.raw.len() as u64 - l.base as u64;
        let ours: Vec<_> = arenas(rawsize, sector).unwrap().collect();
        assert_eq!(ours.len(), l.arenas.len(), "{name}: arena count");
        for (i, (o, c)) in ours.iter().zip(&l.arenas).enumerate() {
            let mut o = *o;
            if o.nextoff == 0 {
                o.size = c.size;
            }
            assert_eq!(o, *c, "{name}: arena {i} geometry");
            // C's debugfs view of the same arena.
            let k = |f: &str| l.meta.num(&format!("c_arena{i}_{f}"));
            assert_eq!(k("external_lba_start"), c.external_lba_start);
            assert_eq!(k("internal_nlba"), c.internal_nlba.into());
            assert_eq!(k("internal_lbasize"), c.internal_lbasize.into());
            assert_eq!(k("external_nlba"), c.external_nlba.into());
            assert_eq!(k("external_lbasize"), c.external_lbasize.into());
            assert_eq!(k("nfree"), c.nfree.into());
            assert_eq!(k("infooff"), c.infooff);
            assert_eq!(k("dataoff"), c.dataoff);
            assert_eq!(k("mapoff"), c.mapoff);
            assert_eq!(k("logoff"), c.logoff);
            assert_eq!(k("info2off"), c.info2off);
            assert_eq!(k("size"), c.size);
            assert_eq!(k("flags"), 0);
            assert_eq!([k("log_index_0"), k("log_index_1")], [0, 1]);
            assert_eq!(l.layouts[i], LogLayout::Padded);
            let (maj, min) = (k("version_major") as u16, k("version_minor") as u16);
            assert_eq!((maj, min), version_of(name), "{name}: version");
        }
        let total = total_external_nlba(rawsize, sector).unwrap();
        assert_eq!(total, l.meta.num("nlba"), "{name}: sectors");
        assert_eq!(total * u64::from(sector), l.meta.num("btt_size"), "{name}: btt size");
        assert_eq!(l.meta.num("c_check_namespace_rc"), 0);
    }
}

/// What every sector should read: the last write of it, else zeros.
fn expected(meta: &Meta, name: &str) -> HashMap<u64, Vec<u8>> {
    let sector = meta.num("sector_size") as usize;
    let mut want = HashMap::new();
    for &(ver, start, count) in &meta.writes {
        for lba in start..start + count {
            want.insert(lba, pattern(name, lba, ver, sector));
        }
    }
    want
}

fn check_data(l: &Loaded, tag: &str, meta_name: &str) {
    let (n, c_sums) = sums(meta_name);
    let want = expected(&l.meta, meta_name);
    assert_eq!(n, l.meta.num("nlba"));
    let sector = l.meta.num("sector_size") as usize;
    let mut nonzero = BTreeMap::new();
    for lba in 0..n {
        let got = l.read(lba);
        match want.get(&lba) {
            Some(w) => assert!(got == &w[..], "{tag}: lba {lba} does not hold its last write"),
            None => assert!(got == &ZEROS[..sector], "{tag}: unwritten lba {lba} is not zero"),
        }
        if got != &ZEROS[..sector] {
            nonzero.insert(lba, crc32(got));
        }
    }
    assert_eq!(nonzero, c_sums, "{tag}: our read view differs from C's");
}

#[test]
fn sectors_read_back_as_written_and_as_c_read_them() {
    for name in IMAGES {
        let l = load(name, name);
        check_data(&l, name, name);
    }
}

#[test]
fn load_repairs_nothing_and_the_check_passes() {
    for name in IMAGES {
        let mut l = load(name, name);
        let before = l.raw.clone();
        let r = l.check(false).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(r.interrupted_writes, 0);
        for i in 0..l.arenas.len() {
            let (a, layout) = (l.arenas[i], l.layouts[i]);
            let mut free = vec![FreeEntry::default(); a.nfree as usize];
            assert_eq!(recover_arena(&mut l.media(i), &a, layout, &mut free), Ok(0), "{name}");
            // Lanes 0 and 1 were written (two CPUs); the rest still have the
            // entry C's log init wrote: spare block external_nlba + lane,
            // next sub 1, seq 2.
            for (lane, f) in free.iter().enumerate().skip(2) {
                assert_eq!(*f, FreeEntry { block: a.external_nlba + lane as u32, sub: 1, seq: 2, has_err: false }, "{name} lane {lane}");
            }
            for f in &free[..2] {
                assert!(f.block < a.internal_nlba && f.seq >= 1 && f.seq <= 3);
            }
            assert_ne!(free[0], FreeEntry { block: a.external_nlba, sub: 1, seq: 2, has_err: false }, "{name}: lane 0 unused?");
        }
        assert!(l.raw == before, "{name}: loading changed the media");
    }
}

#[test]
fn an_interrupted_write_is_repaired_as_c_would() {
    for name in IMAGES {
        let mut l = load(name, name);
        let (a, layout) = (l.arenas[0], l.layouts[0]);
        // Lane 0's last write: put its map entry back to the old block, as
        // if the power went between the flog write and the map write.
        let g = LogGroup::from_bytes(&l.media(0).read_log_group(0).unwrap());
        let (_, newer) = g.read(layout, false).unwrap();
        assert_ne!(newer.old_map, newer.new_map, "{name}: lane 0 has no write");
        let good = l.media(0).read_map(newer.lba).unwrap();
        l.media(0).write_map(newer.lba, MapEntry::normal(newer.old_map)).unwrap();
        let e = l.check(false).unwrap_err();
        assert!(matches!(e, CheckFailure::Inconsistent(CheckError::BlockReferencedTwice { .. })), "{name}: {e:?}");
        let mut free = vec![FreeEntry::default(); a.nfree as usize];
        assert_eq!(recover_arena(&mut l.media(0), &a, layout, &mut free), Ok(1));
        assert_eq!(l.media(0).read_map(newer.lba).unwrap(), good);
        assert_eq!(l.check(false).unwrap().interrupted_writes, 0);
        check_data(&l, name, name);
    }
}

#[test]
fn the_unpadded_flog_is_detected_and_reads_the_same() {
    let mut old = load("qemu-4096-unpadded", "qemu-4096");
    let mut new = load("qemu-4096", "qemu-4096");
    assert_eq!(old.layouts, [LogLayout::Unpadded]);
    check_data(&old, "qemu-4096-unpadded", "qemu-4096");
    old.check(false).unwrap();
    let a = old.arenas[0];
    let mut f_old = vec![FreeEntry::default(); a.nfree as usize];
    let mut f_new = f_old.clone();
    recover_arena(&mut old.media(0), &a, LogLayout::Unpadded, &mut f_old).unwrap();
    recover_arena(&mut new.media(0), &a, LogLayout::Padded, &mut f_new).unwrap();
    assert_eq!(f_old, f_new);
    assert_eq!(LogIndexDetector::detect(&new.raw[new.base + a.logoff as usize..], a.nfree), Ok(LogLayout::Padded));
    assert_eq!(LogIndexDetector::detect(&old.raw[old.base + a.logoff as usize..], a.nfree), Ok(LogLayout::Unpadded));
}

#[test]
fn a_damaged_primary_info_block_is_not_accepted() {
    let l = load("l12-4096", "l12-4096");
    let mut raw = l.raw.clone();
    raw[l.base + 100] ^= 0x40;
    let mut d = Discovery::new(raw.len() as u64 - l.base as u64);
    assert_eq!(d.accept(&raw[l.base..l.base + INFO_SIZE], &l.ns_uuid), Ok(DiscoveryStep::NotFound));
    // The backup still validates (ndctl check-namespace --repair restores
    // the primary from it).
    let b2 = l.base + l.arenas[0].info2off as usize;
    assert!(InfoBlock::validate(&raw[b2..b2 + INFO_SIZE], &l.ns_uuid).is_ok());
    // A v2.0 BTT is not a v1.1 one.
    let info = InfoBlock::validate(&l.raw[l.base..l.base + INFO_SIZE], &l.ns_uuid).unwrap();
    assert_eq!(info.check_version(BttVersion::V1_1), Err(BttError::VersionMismatch));
}
