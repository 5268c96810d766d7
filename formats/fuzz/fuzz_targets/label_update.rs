//! One DIMM's namespace update with a power cut: `replace_label` (with or
//! without a retired uuid) or `delete_labels` on a parsed area, run once to
//! the end and once with the power cut at a chosen write, which lands half.
//!
//! Checks: the area before the update passes `check_area`; a refusal (no
//! free slot) writes nothing; a finished update leaves exactly one label of
//! the uuid (none after a delete) with the fields written, and none of the
//! retired uuid; every other namespace's labels stay; after the cut the
//! media show the labels from before or from after, never a mix.
//!
//! Input: 16 control bytes, then the area.
//!   0: bit 0 reseal; 1: label to start from; 2: bit 0 flip the uuid,
//!   bit 1 set UPDATING, bits 2-3 == 0: retire a uuid, bits 4-5 == 0: delete;
//!   3: the uuid to retire; 4: rawsize in 4 KiB pages - 1 (mod 64);
//!   5: the write the power cut hits; 6-13: dpa (LE); 14: sizes the area
//!   (see `area_from`), which follows, or its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::label::{LabelArea, LabelAreaMut, NamespaceLabel, UpdateError, NSLABEL_FLAG_UPDATING};
use nd_formats_fuzz::{area_from, check_area, committed, reseal, Ctl};

type Committed = Vec<([u8; 16], u64, u64, u32, [u8; 64])>;

fuzz_target!(|data: &[u8]| {
    let (mut ctl, rest) = Ctl::split(data, 16);
    let flags = ctl.u8();
    let mut bytes = area_from(data.get(14).copied().unwrap_or(0), rest);
    if flags & 1 != 0 {
        reseal(&mut bytes);
    }
    let data = &bytes[..];
    let Ok(area) = LabelArea::parse(data) else { return };
    let n = area.active_count();
    let size = area.label_size();
    let pick = ctl.below(n.max(1));
    let how = ctl.u8();
    let mut label = area.active(pick).map(|(_, l)| l).unwrap_or(NamespaceLabel::new(size));
    if how & 1 != 0 {
        label.uuid[15] ^= 0xa5;
    }
    label.flags = if how & 2 != 0 { NSLABEL_FLAG_UPDATING } else { 0 };
    let retire_pick = ctl.below(n.max(1));
    let retire = area.active(retire_pick).map(|(_, l)| l.uuid).filter(|_| how & 0xc == 0);
    let delete = how & 0x30 == 0;
    label.rawsize = (ctl.below(64) as u64 + 1) << 12;
    let cut = ctl.below(4);
    label.dpa = ctl.u64();

    let op = |media: &mut Vec<u8>, cut: Option<usize>| -> Result<bool, String> {
        let mut work = data.to_vec();
        let mut m = LabelAreaMut::open(&mut work).map_err(|e| format!("open refuses what parse accepts: {e:?}"))?;
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
            Err(UpdateError::Persist(())) | Err(UpdateError::NoSlot) => Ok(false),
            Err(e) => Err(format!("update of a parsed area failed: {e:?}")),
        }
    };

    let before: Committed = committed(data);
    let mut media = data.to_vec();
    let done = op(&mut media, None).unwrap();
    if !done {
        // No free slot, the only refusal: nothing may have reached the media.
        assert!(media == data, "a refused update wrote");
        return;
    }
    // The media after a finished update parse, and pass every area check.
    check_area(&media, 0);
    let after: Committed = committed(&media);
    let mine: Vec<_> = after.iter().filter(|l| l.0 == label.uuid).collect();
    if delete {
        assert!(mine.is_empty(), "{} labels of a deleted uuid", mine.len());
    } else {
        assert_eq!(mine.len(), 1, "{} labels of the uuid after the update", mine.len());
        let l = mine[0];
        assert_eq!((l.1, l.2, l.3, l.4), (label.dpa, label.rawsize, label.flags, label.name), "the label written");
    }
    let gone = |u: &[u8; 16]| *u == label.uuid || (!delete && retire.as_ref() == Some(u));
    if let Some(old) = retire.filter(|u| *u != label.uuid && !delete) {
        assert!(after.iter().all(|l| l.0 != old), "a retired uuid survived");
    }
    let others = |v: &Committed| v.iter().filter(|l| !gone(&l.0)).cloned().collect::<Committed>();
    assert_eq!(others(&after), others(&before), "an update changed another namespace's labels");

    let mut media = data.to_vec();
    op(&mut media, Some(cut)).unwrap();
    let seen = committed(&media);
    assert!(seen == before || seen == after, "cut at write {cut}: neither the old nor the new labels");
    // Whatever the cut left must still parse as an area (the old or new index).
    assert!(LabelArea::parse(&media).is_ok(), "cut at write {cut}: the area no longer parses");
});
