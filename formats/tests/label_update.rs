//! One DIMM's namespace updates (create, resize, rename, delete): what
//! reaches the media, round trips through the parser, and what a power cut
//! at each write leaves behind.

mod label_common;

use label_common::{oracle_label, AREA};
use nd_formats::label::{
    init_area, LabelArea, LabelAreaMut, LabelSize, NamespaceLabel, UpdateError,
    NSLABEL_FLAG_UPDATING,
};

const SIZES: [LabelSize; 2] = [LabelSize::Bytes128, LabelSize::Bytes256];

/// Media that accept writes until a cut: write `cut` lands only halfway,
/// it and every later one fail.
struct Media {
    bytes: Vec<u8>,
    writes: usize,
    cut: Option<usize>,
}

impl Media {
    fn new(bytes: Vec<u8>, cut: Option<usize>) -> Self {
        Self { bytes, writes: 0, cut }
    }

    fn write(&mut self, off: usize, data: &[u8]) -> Result<(), ()> {
        let n = self.writes;
        self.writes += 1;
        match self.cut {
            Some(c) if n == c => {
                let half = data.len() / 2;
                self.bytes[off..off + half].copy_from_slice(&data[..half]);
                Err(())
            }
            Some(c) if n > c => Err(()),
            _ => {
                self.bytes[off..off + data.len()].copy_from_slice(data);
                Ok(())
            }
        }
    }
}

/// The labels the media's current index references, as (uuid, rawsize,
/// name) sorted.
fn labels_on(bytes: &[u8]) -> Vec<([u8; 16], u64, Vec<u8>)> {
    let Ok(area) = LabelArea::parse(bytes) else { return Vec::new() };
    let mut v: Vec<_> = area.labels().map(|(_, l)| (l.uuid, l.rawsize, l.name_bytes().to_vec())).collect();
    v.sort();
    v
}

fn label(size: LabelSize, uuid: u8, rawsize: u64, name: &[u8]) -> NamespaceLabel {
    let mut l = oracle_label(size);
    l.uuid = [uuid; 16];
    l.rawsize = rawsize;
    l.dpa = 0x100_0000 + uuid as u64 * 0x1000_0000;
    l.set_name(name);
    l.flags = 0;
    l
}

/// An area with the given labels committed, one update each.
fn area_with(size: LabelSize, labels: &[NamespaceLabel]) -> Vec<u8> {
    let mut bytes = vec![0u8; AREA];
    let mut media = Media::new(vec![0u8; AREA], None);
    let mut area = init_area(&mut bytes, size, |o, d| media.write(o, d)).unwrap();
    for l in labels {
        area.replace_label(l, None, |o, d| media.write(o, d)).unwrap();
    }
    media.bytes
}

#[test]
fn init_persists_both_index_blocks_and_nothing_else() {
    for size in SIZES {
        let mut work = vec![0xa5u8; AREA];
        let mut writes = Vec::new();
        let area = init_area(&mut work, size, |o, d: &[u8]| {
            writes.push((o, d.len()));
            Ok::<(), ()>(())
        })
        .unwrap();
        let g = *area.geometry();
        assert_eq!(writes, [(0, g.index_range(nd_formats::label::IndexCopy::First).len()),
            (g.index_range(nd_formats::label::IndexCopy::Second).start, g.index_range(nd_formats::label::IndexCopy::Second).len())]);
        assert_eq!(LabelArea::parse(area.as_bytes()).unwrap().labels().count(), 0);
    }
}

#[test]
fn create_resize_rename_delete_round_trip() {
    for size in SIZES {
        let mut media = Media::new(vec![0u8; AREA], None);
        let mut work = vec![0u8; AREA];
        let mut area = init_area(&mut work, size, |o, d| media.write(o, d)).unwrap();
        let a = label(size, 1, 1 << 20, b"a");
        area.replace_label(&a, None, |o, d| media.write(o, d)).unwrap();
        assert_eq!(labels_on(&media.bytes), [([1; 16], 1 << 20, b"a".to_vec())]);

        // Resize: the new label replaces the old one in one index write.
        let a2 = label(size, 1, 2 << 20, b"a");
        area.replace_label(&a2, None, |o, d| media.write(o, d)).unwrap();
        assert_eq!(labels_on(&media.bytes), [([1; 16], 2 << 20, b"a".to_vec())]);

        // A second namespace leaves the first alone.
        let b = label(size, 2, 1 << 20, b"b");
        area.replace_label(&b, None, |o, d| media.write(o, d)).unwrap();
        assert_eq!(labels_on(&media.bytes).len(), 2);

        // Rename 1 -> 3: the labels of the old uuid go.
        let c = label(size, 3, 2 << 20, b"c");
        area.replace_label(&c, Some(&[1; 16]), |o, d| media.write(o, d)).unwrap();
        let uuids: Vec<u8> = labels_on(&media.bytes).iter().map(|l| l.0[0]).collect();
        assert_eq!(uuids, [2, 3]);

        area.delete_labels(&[2; 16], |o, d| media.write(o, d)).unwrap();
        area.delete_labels(&[3; 16], |o, d| media.write(o, d)).unwrap();
        assert!(labels_on(&media.bytes).is_empty());

        // What the working copy says is what the media say.
        let parsed = LabelArea::parse(&media.bytes).unwrap();
        assert_eq!(parsed.current(), area.current());
        assert_eq!(parsed.nslot() - parsed.index().used_slots().count() as u32, area.nfree());
        // The slots are reused: nothing leaked.
        assert_eq!(area.nfree(), area.geometry().nslot());
    }
}

#[test]
fn delete_writes_the_index_even_when_nothing_goes() {
    for size in SIZES {
        let bytes = area_with(size, &[label(size, 1, 1 << 20, b"a")]);
        let mut work = bytes.clone();
        let mut area = LabelAreaMut::open(&mut work).unwrap();
        let mut n = 0;
        area.delete_labels(&[9; 16], |_, _| {
            n += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(labels_on(area.as_bytes()), labels_on(&bytes));
    }
}

#[test]
fn a_full_area_refuses_without_writing() {
    let size = LabelSize::Bytes256;
    let mut work = vec![0u8; AREA];
    let mut area = init_area(&mut work, size, |_, _| Ok::<(), ()>(())).unwrap();
    let nslot = area.geometry().nslot();
    for i in 0..nslot {
        let mut l = label(size, 1, 4096, b"x");
        l.uuid = [(i % 251) as u8, (i / 251) as u8, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];
        area.replace_label(&l, None, |_, _| Ok::<(), ()>(())).unwrap();
    }
    let before = area.as_bytes().to_vec();
    let mut n = 0;
    let e = area.replace_label(&label(size, 200, 4096, b"y"), None, |_, _| {
        n += 1;
        Ok::<(), ()>(())
    });
    assert_eq!(e, Err(UpdateError::NoSlot));
    assert_eq!(n, 0);
    assert_eq!(area.as_bytes(), &before[..]);
}

/// Runs `op` on an area holding `before`, cutting power at write `cut`;
/// the media must show `old` or `new`, and an uncut run must show `new`.
fn torture(
    size: LabelSize,
    before: &[NamespaceLabel],
    op: impl Fn(&mut LabelAreaMut<'_>, &mut Media) -> Result<(), UpdateError<()>>,
) -> usize {
    let start = area_with(size, before);
    let old = labels_on(&start);
    let new = {
        let mut media = Media::new(start.clone(), None);
        let mut work = start.clone();
        let mut area = LabelAreaMut::open(&mut work).unwrap();
        op(&mut area, &mut media).unwrap();
        labels_on(&media.bytes)
    };
    assert_ne!(old, new, "the operation changes something");
    let mut writes = 0;
    for cut in 0.. {
        let mut media = Media::new(start.clone(), Some(cut));
        let mut work = start.clone();
        let mut area = LabelAreaMut::open(&mut work).unwrap();
        let done = op(&mut area, &mut media).is_ok();
        let seen = labels_on(&media.bytes);
        assert!(seen == old || seen == new, "{size:?} cut at write {cut}: {seen:?}");
        if done {
            writes = cut;
            assert_eq!(seen, new);
            break;
        }
    }
    writes
}

#[test]
fn a_power_cut_at_any_write_leaves_old_or_new() {
    for size in SIZES {
        let a = label(size, 1, 1 << 20, b"a");
        let b = label(size, 2, 1 << 20, b"b");
        // Create, as the kernel does it: flagged first, then final.
        let n = torture(size, &[b], |area, m| {
            let mut flagged = a;
            flagged.flags = NSLABEL_FLAG_UPDATING;
            area.replace_label(&flagged, None, |o, d| m.write(o, d))?;
            area.replace_label(&a, None, |o, d| m.write(o, d))?;
            Ok(())
        });
        assert_eq!(n, 4, "label, index, label, index");
        // Resize and rename.
        let bigger = label(size, 1, 3 << 20, b"a");
        torture(size, &[a, b], |area, m| area.replace_label(&bigger, None, |o, d| m.write(o, d)).map(|_| ()));
        let renamed = label(size, 3, 1 << 20, b"a");
        torture(size, &[a, b], |area, m| area.replace_label(&renamed, Some(&[1; 16]), |o, d| m.write(o, d)).map(|_| ()));
        // Destroy.
        let n = torture(size, &[a, b], |area, m| area.delete_labels(&[1; 16], |o, d| m.write(o, d)));
        assert_eq!(n, 1);
    }
}
