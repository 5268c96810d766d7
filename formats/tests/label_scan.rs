//! Namespace discovery from labels (`PmemRegion::scan`), one rule of C's
//! namespace_devs.c at a time, on label areas built with `LabelAreaMut`.

mod label_common;

use label_common::init_area;
use nd_formats::label::layout::label_field;
use nd_formats::label::{
    ClaimClass, DimmLabels, InterleaveSetId, LabelArea, LabelAreaMut, LabelError, LabelSize,
    Mapping, Namespace, NamespaceLabel, PmemRegion, ScanError, ScanNote, NSLABEL_FLAG_LOCAL,
    NSLABEL_FLAG_UPDATING, NVDIMM_BTT2_GUID, NVDIMM_BTT_GUID, NVDIMM_DAX_GUID, NVDIMM_PFN_GUID,
};

const M: u64 = 1 << 20;
/// Every test mapping covers DPA 16M..32M of its DIMM.
const MAP_START: u64 = 16 * M;
const MAP_SIZE: u64 = 16 * M;
/// The region's physical start.
const REGION: u64 = 0x1_0800_0000;

const SET: InterleaveSetId = InterleaveSetId {
    cookie1: 0x1111_0000_0000_1111,
    cookie2: 0x2222_0000_0000_2222,
    altcookie: 0x3333_0000_0000_3333,
    // The ACPI persistent-memory range GUID, as stored.
    type_guid: [
        0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40, 0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c,
        0xdb,
    ],
};

fn uuid(n: u8) -> [u8; 16] {
    let mut u = [0u8; 16];
    u[0] = 0x5c;
    u[15] = n;
    u
}

/// The label C writes on DIMM `pos` of a `ways`-way set for namespace `n`:
/// its extent starts `dpa_off` into the mapping and is `per_dimm` long.
fn label(
    size: LabelSize,
    n: u8,
    pos: u16,
    ways: u16,
    dpa_off: u64,
    per_dimm: u64,
) -> NamespaceLabel {
    let mut l = NamespaceLabel::new(size);
    l.uuid = uuid(n);
    l.set_name(format!("ns{n}").as_bytes());
    l.nlabel = ways;
    l.position = pos;
    l.isetcookie = if size == LabelSize::Bytes128 {
        SET.cookie1
    } else {
        SET.cookie2
    };
    l.dpa = MAP_START + dpa_off;
    l.rawsize = per_dimm;
    if size == LabelSize::Bytes256 {
        l.type_guid = SET.type_guid;
    }
    l
}

/// One namespace's labels across a `ways`-way set, one per DIMM.
fn set_labels(
    size: LabelSize,
    n: u8,
    ways: u16,
    dpa_off: u64,
    per_dimm: u64,
) -> Vec<NamespaceLabel> {
    (0..ways)
        .map(|pos| label(size, n, pos, ways, dpa_off, per_dimm))
        .collect()
}

/// A label area holding `labels`, in slots 0, 1, ... (one committed update).
fn area(size: LabelSize, labels: &[NamespaceLabel]) -> Vec<u8> {
    let mut data = init_area(size);
    let mut area = LabelAreaMut::open(&mut data).unwrap();
    for l in labels {
        let slot = area.alloc_slot().unwrap();
        area.write_label(slot, l).unwrap();
    }
    area.commit().unwrap();
    data
}

/// DIMMs of a region, each a label area or a disabled DIMM.
struct Fixture {
    dimms: Vec<Option<Vec<u8>>>,
    disabled: Vec<Option<(bool, bool)>>,
    set: InterleaveSetId,
    start: u64,
    maps: Vec<(u64, u64)>,
}

struct Outcome {
    result: Result<Vec<Namespace>, ScanError>,
    notes: Vec<ScanNote>,
}

impl Fixture {
    /// `ways` DIMMs, DIMM i holding `per_dimm[i]`.
    fn new(size: LabelSize, per_dimm: Vec<Vec<NamespaceLabel>>) -> Self {
        let n = per_dimm.len();
        Self {
            dimms: per_dimm.iter().map(|l| Some(area(size, l))).collect(),
            disabled: vec![None; n],
            set: SET,
            start: REGION,
            maps: vec![(MAP_START, MAP_SIZE); n],
        }
    }

    /// Namespaces given as whole sets: `per_set[k]` has one label per DIMM.
    fn from_sets(size: LabelSize, ways: usize, per_set: &[Vec<NamespaceLabel>]) -> Self {
        let mut per_dimm = vec![Vec::new(); ways];
        for set in per_set {
            for (d, l) in set.iter().enumerate() {
                per_dimm[d].push(*l);
            }
        }
        Self::new(size, per_dimm)
    }

    fn scan_into(&self, out: &mut [Namespace]) -> (Result<usize, ScanError>, Vec<ScanNote>) {
        let parsed: Vec<Option<LabelArea<'_>>> = self
            .dimms
            .iter()
            .map(|d| d.as_ref().map(|d| LabelArea::parse(d).unwrap()))
            .collect();
        let mappings: Vec<Mapping<'_>> = parsed
            .iter()
            .zip(&self.disabled)
            .zip(&self.maps)
            .map(|((area, disabled), &(start, size))| Mapping {
                dimm: match disabled {
                    Some((locked, labeling)) => DimmLabels::Disabled {
                        locked: *locked,
                        labeling: *labeling,
                    },
                    None => DimmLabels::Enabled(*area),
                },
                start,
                size,
            })
            .collect();
        let region = PmemRegion {
            set: self.set,
            start: self.start,
            mappings: &mappings,
        };
        let mut notes = Vec::new();
        let result = region.scan(out, |n| notes.push(n)).map(|found| found.len());
        (result, notes)
    }

    fn max_namespaces(&self) -> usize {
        let parsed: Vec<Option<LabelArea<'_>>> = self
            .dimms
            .iter()
            .map(|d| d.as_ref().map(|d| LabelArea::parse(d).unwrap()))
            .collect();
        let mappings: Vec<Mapping<'_>> = parsed
            .iter()
            .map(|a| Mapping {
                dimm: DimmLabels::Enabled(*a),
                start: MAP_START,
                size: MAP_SIZE,
            })
            .collect();
        PmemRegion {
            set: self.set,
            start: self.start,
            mappings: &mappings,
        }
        .max_namespaces()
    }

    fn scan(&self) -> Outcome {
        let mut out = vec![Namespace::EMPTY; 64];
        let (result, notes) = self.scan_into(&mut out);
        Outcome {
            result: result.map(|n| out[..n].to_vec()),
            notes,
        }
    }

    fn found(&self) -> Vec<Namespace> {
        let o = self.scan();
        o.result
            .unwrap_or_else(|e| panic!("scan failed: {e} ({e:?}); notes {:?}", o.notes))
    }

    fn error(&self) -> ScanError {
        match self.scan().result {
            Ok(found) => panic!("scan found {} namespaces, expected an error", found.len()),
            Err(e) => e,
        }
    }
}

#[test]
fn no_labels_no_namespaces() {
    for size in LabelSize::PROBE_ORDER {
        let f = Fixture::new(size, vec![vec![]; 4]);
        assert!(f.found().is_empty());
        assert_eq!(f.max_namespaces(), 0);
    }
}

#[test]
fn four_way_v1_1_namespace() {
    let f = Fixture::from_sets(
        LabelSize::Bytes128,
        4,
        &[set_labels(LabelSize::Bytes128, 1, 4, 2 * M, 4 * M)],
    );
    let found = f.found();
    assert_eq!(found.len(), 1);
    let ns = &found[0];
    assert_eq!(ns.uuid, uuid(1));
    assert_eq!(ns.name_bytes(), b"ns1");
    assert_eq!(ns.size, 16 * M, "the sum of the DIMMs' extents");
    assert_eq!(ns.offset, 8 * M, "(dpa - mapping start) * ways");
    assert_eq!(ns.resource(REGION), REGION + 8 * M);
    assert_eq!(ns.lbasize, 0);
    assert_eq!(ns.claim_class, ClaimClass::None);
    assert_eq!(ns.labels().len(), 4);
    for (i, l) in ns.labels().iter().enumerate() {
        assert_eq!(
            (l.slot, l.position, l.dpa, l.rawsize),
            (0, i as u16, MAP_START + 2 * M, 4 * M)
        );
    }
    assert_eq!(
        ns.label_id().as_str(),
        "pmem-5c000000-0000-0000-0000-000000000001"
    );
}

#[test]
fn v1_2_uses_cookie2_and_the_position0_label_properties() {
    let mut labels = set_labels(LabelSize::Bytes256, 1, 2, 0, 8 * M);
    labels[0].lbasize = 4096;
    labels[0].abstraction_guid = NVDIMM_PFN_GUID;
    // Only position 0's label counts for name, sector size and claim.
    labels[1].set_name(b"other");
    labels[1].lbasize = 512;
    labels[1].abstraction_guid = NVDIMM_DAX_GUID;
    let ns = Fixture::from_sets(LabelSize::Bytes256, 2, &[labels]).found()[0];
    assert_eq!(ns.name_bytes(), b"ns1");
    assert_eq!(ns.lbasize, 4096);
    assert_eq!(ns.claim_class, ClaimClass::Pfn);

    // A v1.2 set under cookie1 (the v1.1 cookie) is someone else's.
    let mut labels = set_labels(LabelSize::Bytes256, 1, 2, 0, 8 * M);
    for l in &mut labels {
        l.isetcookie = SET.cookie1;
    }
    let o = Fixture::from_sets(LabelSize::Bytes256, 2, &[labels]).scan();
    assert_eq!(o.result.unwrap().len(), 0);
    assert!(
        matches!(o.notes[..], [ScanNote::BadCookie { slot: 0, cookie, .. }] if cookie == SET.cookie1)
    );
}

#[test]
fn claim_class_from_the_abstraction_guid() {
    for (guid, class) in [
        ([0u8; 16], ClaimClass::None),
        (NVDIMM_BTT_GUID, ClaimClass::Btt),
        (NVDIMM_BTT2_GUID, ClaimClass::Btt2),
        (NVDIMM_PFN_GUID, ClaimClass::Pfn),
        (NVDIMM_DAX_GUID, ClaimClass::Dax),
        ([9u8; 16], ClaimClass::Unknown),
    ] {
        let mut labels = set_labels(LabelSize::Bytes256, 1, 1, 0, M);
        labels[0].abstraction_guid = guid;
        let ns = Fixture::from_sets(LabelSize::Bytes256, 1, &[labels]).found()[0];
        assert_eq!(ns.claim_class, class);
    }
}

#[test]
fn wrong_cookie_on_the_first_dimm_skips_the_label() {
    for size in LabelSize::PROBE_ORDER {
        let mut labels = set_labels(size, 1, 4, 0, M);
        labels[0].isetcookie ^= 1;
        let o = Fixture::from_sets(size, 4, &[labels, set_labels(size, 2, 4, M, M)]).scan();
        let found = o.result.unwrap();
        assert_eq!(found.iter().map(|n| n.uuid).collect::<Vec<_>>(), [uuid(2)]);
        assert_eq!(
            o.notes,
            [ScanNote::BadCookie {
                slot: 0,
                uuid: uuid(1),
                cookie: SET.cookie(size.version()) ^ 1
            }]
        );
    }
}

#[test]
fn wrong_cookie_on_another_dimm_fails_the_region() {
    let mut labels = set_labels(LabelSize::Bytes128, 1, 4, 0, M);
    labels[2].isetcookie = SET.cookie2;
    let e = Fixture::from_sets(LabelSize::Bytes128, 4, &[labels]).error();
    assert_eq!(
        e,
        ScanError::MissingLabel {
            position: 2,
            uuid: uuid(1)
        }
    );
    assert_eq!(
        (e.errno(), e.probe_errno()),
        (22, 19),
        "EINVAL inside, ENODEV from probe"
    );
}

#[test]
fn altcookie_is_accepted_per_label() {
    for size in LabelSize::PROBE_ORDER {
        // Every label with the old v1.1 cookie.
        let mut labels = set_labels(size, 1, 2, 0, M);
        for l in &mut labels {
            l.isetcookie = SET.altcookie;
        }
        let o = Fixture::from_sets(size, 2, &[labels]).scan();
        assert_eq!(o.result.unwrap().len(), 1, "{size:?}");
        assert_eq!(
            o.notes,
            [ScanNote::AltCookie {
                slot: 0,
                uuid: uuid(1)
            }]
        );

        // Mixed: the set's cookie on the first DIMM, the old one on the second.
        let mut labels = set_labels(size, 1, 2, 0, M);
        labels[1].isetcookie = SET.altcookie;
        let o = Fixture::from_sets(size, 2, &[labels]).scan();
        assert_eq!(o.result.unwrap().len(), 1);
        assert!(o.notes.is_empty());
    }
}

#[test]
fn zero_cookie_fails_only_when_there_are_labels() {
    let mut f = Fixture::from_sets(
        LabelSize::Bytes128,
        2,
        &[set_labels(LabelSize::Bytes128, 1, 2, 0, M)],
    );
    f.set = InterleaveSetId::default();
    let e = f.error();
    assert_eq!(e, ScanError::NoCookie);
    assert_eq!((e.errno(), e.probe_errno()), (6, 19));

    let mut f = Fixture::new(LabelSize::Bytes128, vec![vec![]; 2]);
    f.set = InterleaveSetId::default();
    assert!(f.found().is_empty());

    // v1.2 labels need cookie2: a set with only cookie1 fails them.
    let mut f = Fixture::from_sets(
        LabelSize::Bytes256,
        2,
        &[set_labels(LabelSize::Bytes256, 1, 2, 0, M)],
    );
    f.set.cookie2 = 0;
    assert_eq!(f.error(), ScanError::NoCookie);
}

#[test]
fn missing_position_fails_the_region() {
    // DIMM 3 has no label for the namespace.
    let labels = set_labels(LabelSize::Bytes128, 1, 4, 0, M);
    let mut per_dimm: Vec<Vec<_>> = labels.iter().map(|l| vec![*l]).collect();
    per_dimm[3].clear();
    let e = Fixture::new(LabelSize::Bytes128, per_dimm).error();
    assert_eq!(
        e,
        ScanError::MissingLabel {
            position: 3,
            uuid: uuid(1)
        }
    );

    // Two DIMMs claim position 1, none claims 2.
    let mut labels = set_labels(LabelSize::Bytes128, 1, 4, 0, M);
    labels[2].position = 1;
    let e = Fixture::from_sets(LabelSize::Bytes128, 4, &[labels]).error();
    assert_eq!(
        e,
        ScanError::MissingLabel {
            position: 2,
            uuid: uuid(1)
        }
    );

    // Positions need not be on their own mapping: C looks for each position
    // on every DIMM.
    let mut labels = set_labels(LabelSize::Bytes128, 1, 4, 0, M);
    labels.swap(1, 2);
    let ns = Fixture::from_sets(LabelSize::Bytes128, 4, &[labels]).found()[0];
    let positions: Vec<u16> = ns.labels().iter().map(|l| l.position).collect();
    assert_eq!(positions, [0, 2, 1, 3]);
}

#[test]
fn nlabel_must_be_the_number_of_mappings() {
    let mut labels = set_labels(LabelSize::Bytes128, 1, 4, 0, M);
    labels[1].nlabel = 3;
    let e = Fixture::from_sets(LabelSize::Bytes128, 4, &[labels]).error();
    assert_eq!(
        e,
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
}

#[test]
fn type_guid_mismatch_does_not_count() {
    let mut labels = set_labels(LabelSize::Bytes256, 1, 2, 0, M);
    labels[1].type_guid[0] ^= 1;
    let o = Fixture::from_sets(LabelSize::Bytes256, 2, &[labels]).scan();
    assert_eq!(
        o.result.unwrap_err(),
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
    assert!(o.notes.contains(&ScanNote::TypeGuidMismatch {
        mapping: 1,
        slot: 0,
        uuid: uuid(1)
    }));

    // v1.1 labels have no type GUID and always match.
    let mut f = Fixture::from_sets(
        LabelSize::Bytes128,
        2,
        &[set_labels(LabelSize::Bytes128, 1, 2, 0, M)],
    );
    f.set.type_guid = [0xee; 16];
    assert_eq!(f.found().len(), 1);
}

#[test]
fn duplicate_uuid_on_one_dimm() {
    // DIMM 1 has a second label of the namespace: position 1 is still
    // found (its first label comes first), but the search for any later
    // position stops at DIMM 1's duplicate.
    let labels = set_labels(LabelSize::Bytes128, 1, 3, 0, M);
    let mut extra = labels[1];
    extra.position = 2;
    extra.dpa += 4 * M;
    let per_dimm = vec![vec![labels[0]], vec![labels[1], extra], vec![labels[2]]];
    let o = Fixture::new(LabelSize::Bytes128, per_dimm).scan();
    assert_eq!(
        o.result.unwrap_err(),
        ScanError::MissingLabel {
            position: 2,
            uuid: uuid(1)
        }
    );
    assert_eq!(
        o.notes,
        [ScanNote::DuplicateUuid {
            mapping: 1,
            uuid: uuid(1)
        }]
    );

    // On the first DIMM of a 2-way set, the duplicate hides position 1.
    let labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    let mut extra = labels[0];
    extra.dpa += 4 * M;
    let per_dimm = vec![vec![labels[0], extra], vec![labels[1]]];
    let e = Fixture::new(LabelSize::Bytes128, per_dimm).error();
    assert_eq!(
        e,
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );

    // With one DIMM, position 0 is found first; the second label then
    // conflicts with the namespace the first one made.
    let labels = set_labels(LabelSize::Bytes128, 1, 1, 0, M);
    let mut extra = labels[0];
    extra.dpa += 4 * M;
    let e = Fixture::new(LabelSize::Bytes128, vec![vec![labels[0], extra]]).error();
    assert_eq!(e, ScanError::ConflictingExtents { uuid: uuid(1) });
    assert_eq!((e.errno(), e.probe_errno()), (6, 19));
}

#[test]
fn duplicate_uuid_with_a_foreign_cookie_is_ignored_by_the_position_check() {
    // DIMM 1's first label of the uuid has a foreign cookie: the position
    // check skips it, but C's select_pmem_id takes the first label of the
    // uuid whatever its cookie, so the namespace uses that one's extent.
    let labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    let mut stale = labels[1];
    stale.isetcookie = 0xdead;
    stale.dpa = MAP_START + 8 * M;
    stale.rawsize = 2 * M;
    let per_dimm = vec![vec![labels[0]], vec![stale, labels[1]]];
    let ns = Fixture::new(LabelSize::Bytes128, per_dimm).found()[0];
    assert_eq!(ns.labels()[1].slot, 0);
    assert_eq!(ns.labels()[1].dpa, MAP_START + 8 * M);
    assert_eq!(ns.size, 3 * M);

    // When that label says position 0 as well, C takes name, sector size
    // and claim from the last DIMM's position-0 label.
    let labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    let mut stale = labels[0];
    stale.isetcookie = 0xdead;
    stale.set_name(b"stale");
    stale.lbasize = 4096;
    let per_dimm = vec![vec![labels[0]], vec![stale, labels[1]]];
    let ns = Fixture::new(LabelSize::Bytes128, per_dimm).found()[0];
    assert_eq!((ns.name_bytes(), ns.lbasize), (&b"stale"[..], 4096));
    assert_eq!(
        ns.labels().iter().map(|l| l.position).collect::<Vec<_>>(),
        [0, 0]
    );

    // ... and when that label has no position 0, the namespace has no
    // position-0 label at all: C fails with -ENOMEM.
    let labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    let mut stale = labels[1];
    stale.isetcookie = 0xdead;
    let per_dimm = vec![vec![stale, labels[0]], vec![labels[1]]];
    let o = Fixture::new(LabelSize::Bytes128, per_dimm).scan();
    let e = o.result.unwrap_err();
    assert_eq!(e, ScanError::NoPositionZero { uuid: uuid(1) });
    assert_eq!((e.errno(), e.probe_errno()), (12, 19));
    assert!(matches!(o.notes[..], [ScanNote::BadCookie { slot: 0, .. }]));
}

#[test]
fn labels_of_other_regions_are_skipped() {
    // A label of the DIMM's other region (DPA below this mapping) and one
    // past its end are not this region's namespaces.
    let ours = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    let mut below = set_labels(LabelSize::Bytes128, 2, 2, 0, M);
    let mut past = set_labels(LabelSize::Bytes128, 3, 2, 0, M);
    for l in &mut below {
        l.dpa = 0;
    }
    for l in &mut past {
        l.dpa = MAP_START + MAP_SIZE;
    }
    let o = Fixture::from_sets(LabelSize::Bytes128, 2, &[below, ours, past]).scan();
    let found = o.result.unwrap();
    assert_eq!(found.iter().map(|n| n.uuid).collect::<Vec<_>>(), [uuid(1)]);
    assert_eq!(
        o.notes,
        [
            ScanNote::OutsideRegion {
                slot: 0,
                uuid: uuid(2),
                dpa: 0
            },
            ScanNote::OutsideRegion {
                slot: 2,
                uuid: uuid(3),
                dpa: MAP_START + MAP_SIZE
            },
        ]
    );
}

#[test]
fn extent_outside_a_mapping_fails_the_region() {
    // Starts inside, runs past the end of DIMM 1's mapping.
    let mut labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    labels[1].rawsize = MAP_SIZE + 1;
    let e = Fixture::from_sets(LabelSize::Bytes128, 2, &[labels]).error();
    assert_eq!(
        e,
        ScanError::LabelOutsideMapping {
            mapping: 1,
            slot: 0,
            uuid: uuid(1)
        }
    );
    assert_eq!((e.errno(), e.probe_errno()), (22, 19));

    // The first DIMM's label: its start is in range, its end is not.
    let mut labels = set_labels(LabelSize::Bytes128, 1, 2, 0, M);
    labels[0].dpa = MAP_START + MAP_SIZE - M;
    labels[0].rawsize = 2 * M;
    let e = Fixture::from_sets(LabelSize::Bytes128, 2, &[labels]).error();
    assert_eq!(
        e,
        ScanError::LabelOutsideMapping {
            mapping: 0,
            slot: 0,
            uuid: uuid(1)
        }
    );
}

#[test]
fn corrupt_labels_are_not_labels() {
    // A flipped byte in a v1.2 label breaks its checksum: on the first
    // DIMM the namespace is simply not there; on another, its position is
    // missing.
    let sets = [set_labels(LabelSize::Bytes256, 1, 2, 0, M)];
    let mut f = Fixture::from_sets(LabelSize::Bytes256, 2, &sets);
    let slot0 = LabelArea::parse(f.dimms[0].as_ref().unwrap())
        .unwrap()
        .geometry()
        .slot_range(0)
        .unwrap();
    f.dimms[0].as_mut().unwrap()[slot0.start + label_field::NAME] ^= 0x20;
    let o = f.scan();
    assert_eq!(o.result.unwrap().len(), 0);
    assert_eq!(
        o.notes,
        [ScanNote::InvalidSlot {
            mapping: 0,
            slot: 0,
            error: LabelError::BadChecksum
        }]
    );

    let mut f = Fixture::from_sets(LabelSize::Bytes256, 2, &sets);
    f.dimms[1].as_mut().unwrap()[slot0.start + label_field::NAME] ^= 0x20;
    let o = f.scan();
    assert_eq!(
        o.result.unwrap_err(),
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
    assert_eq!(
        o.notes,
        [ScanNote::InvalidSlot {
            mapping: 1,
            slot: 0,
            error: LabelError::BadChecksum
        }]
    );

    // A v1.1 label that names another slot than its own.
    let mut f = Fixture::from_sets(
        LabelSize::Bytes128,
        2,
        &[set_labels(LabelSize::Bytes128, 1, 2, 0, M)],
    );
    let slot0 = LabelArea::parse(f.dimms[1].as_ref().unwrap())
        .unwrap()
        .geometry()
        .slot_range(0)
        .unwrap();
    f.dimms[1].as_mut().unwrap()[slot0.start + label_field::SLOT] = 7;
    let o = f.scan();
    assert_eq!(
        o.result.unwrap_err(),
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
    assert_eq!(
        o.notes,
        [ScanNote::InvalidSlot {
            mapping: 1,
            slot: 0,
            error: LabelError::SlotMismatch
        }]
    );
}

#[test]
fn updating_and_local_flags_are_ignored() {
    for size in LabelSize::PROBE_ORDER {
        let mut labels = set_labels(size, 1, 2, 0, M);
        labels[0].flags = NSLABEL_FLAG_UPDATING;
        labels[1].flags = NSLABEL_FLAG_LOCAL | NSLABEL_FLAG_UPDATING;
        assert_eq!(Fixture::from_sets(size, 2, &[labels]).found().len(), 1);
    }
}

#[test]
fn an_interrupted_update_is_skipped_not_fatal() {
    for size in LabelSize::PROBE_ORDER {
        // A create cut in its first phase: DIMMs 0 and 1 hold the new set's
        // labels flagged UPDATING, DIMMs 2 and 3 nothing yet. The region
        // keeps its other namespace.
        let mut new = set_labels(size, 1, 4, 0, M);
        for l in new.iter_mut() {
            l.flags = NSLABEL_FLAG_UPDATING;
        }
        let old = set_labels(size, 2, 4, M, M);
        let mut per_dimm: Vec<Vec<_>> = (0..4).map(|i| vec![old[i]]).collect();
        per_dimm[0].push(new[0]);
        per_dimm[1].push(new[1]);
        let (result, notes) = Fixture::new(size, per_dimm.clone()).scan_into(&mut [Namespace::EMPTY; 4]);
        assert_eq!(result, Ok(1));
        assert!(notes.contains(&ScanNote::InterruptedUpdate { position: 2, uuid: uuid(1) }));

        // A destroy cut in its second phase: the first DIMM's label is gone,
        // the rest are flagged. Either DIMM order skips the set.
        let mut gone = per_dimm.clone();
        gone[0].retain(|l| l.uuid != uuid(1));
        gone[2].push(new[2]);
        assert_eq!(Fixture::new(size, gone).found().len(), 1);

        // One unflagged label means it is not an interrupted update: the
        // region fails as in C.
        let mut mixed = per_dimm;
        mixed[1].last_mut().unwrap().flags = 0;
        assert_eq!(
            Fixture::new(size, mixed).error(),
            ScanError::MissingLabel { position: 2, uuid: uuid(1) }
        );
    }
}

#[test]
fn namespaces_come_out_in_c_order() {
    // C sorts by memcmp() of the start addresses: low byte first on x86.
    // 0x0100_0000 sorts before 0x00ff_0000 there.
    let a = set_labels(LabelSize::Bytes128, 1, 1, 0x00ff_0000, 0x1_0000);
    let b = set_labels(LabelSize::Bytes128, 2, 1, 0x0100_0000, 0x1_0000);
    let mut f = Fixture::from_sets(LabelSize::Bytes128, 1, &[a, b]);
    f.start = 0;
    f.maps = vec![(MAP_START, 64 * M)];
    let found = f.found();
    let order: Vec<(u8, u64)> = found.iter().map(|n| (n.uuid[15], n.offset)).collect();
    assert_eq!(order, [(2, 0x0100_0000), (1, 0x00ff_0000)]);

    // Ordinary addresses come out ascending whatever the label order.
    let f = Fixture::from_sets(
        LabelSize::Bytes128,
        2,
        &[
            set_labels(LabelSize::Bytes128, 1, 2, 4 * M, M),
            set_labels(LabelSize::Bytes128, 2, 2, 0, M),
            set_labels(LabelSize::Bytes128, 3, 2, 2 * M, M),
        ],
    );
    let order: Vec<(u8, u64)> = f.found().iter().map(|n| (n.uuid[15], n.offset)).collect();
    assert_eq!(order, [(2, 0), (3, 4 * M), (1, 8 * M)]);
}

#[test]
fn offset_is_the_first_dpa_reservation_of_the_uuid() {
    // The first DIMM also holds a foreign-cookie label of the uuid at a
    // lower DPA (outside the region): the DIMM reserved DPA for it, and C
    // takes the lowest reservation of the name.
    let labels = set_labels(LabelSize::Bytes128, 1, 2, 4 * M, M);
    let mut stale = labels[0];
    stale.isetcookie = 0xdead;
    stale.dpa = 0;
    let per_dimm = vec![vec![labels[0], stale], vec![labels[1]]];
    let ns = Fixture::new(LabelSize::Bytes128, per_dimm).found()[0];
    assert_eq!(ns.labels()[0].dpa, MAP_START + 4 * M);
    assert_eq!(ns.offset, 0u64.wrapping_sub(MAP_START).wrapping_mul(2));
}

#[test]
fn disabled_dimms() {
    let sets = [set_labels(LabelSize::Bytes128, 1, 2, 0, M)];
    // Locked, or labelled but disabled: the region fails with ENXIO.
    for (mapping, locked, labeling) in [(0, true, false), (1, false, true), (1, true, true)] {
        let mut f = Fixture::from_sets(LabelSize::Bytes128, 2, &sets);
        f.disabled[mapping] = Some((locked, labeling));
        let e = f.error();
        assert_eq!(e, ScanError::DimmUnavailable { mapping, locked });
        assert_eq!((e.errno(), e.probe_errno()), (6, 6));
    }
    // Disabled without labels: it has none to offer.
    let mut f = Fixture::from_sets(LabelSize::Bytes128, 2, &sets);
    f.disabled[1] = Some((false, false));
    assert_eq!(
        f.error(),
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
    let mut f = Fixture::from_sets(LabelSize::Bytes128, 2, &sets);
    f.disabled[0] = Some((false, false));
    assert!(f.found().is_empty());
    // An enabled DIMM without a label index, likewise.
    let mut f = Fixture::from_sets(LabelSize::Bytes128, 2, &sets);
    f.dimms[1] = None;
    assert_eq!(
        f.error(),
        ScanError::MissingLabel {
            position: 1,
            uuid: uuid(1)
        }
    );
}

#[test]
fn mapping_count_limits() {
    let f = Fixture::new(LabelSize::Bytes128, vec![]);
    assert_eq!(f.error(), ScanError::NoMappings);
    assert_eq!(ScanError::NoMappings.probe_errno(), 19);

    let mut f = Fixture::new(LabelSize::Bytes128, vec![vec![]]);
    f.dimms = vec![None; 33];
    f.disabled = vec![None; 33];
    f.maps = vec![(MAP_START, MAP_SIZE); 33];
    assert_eq!(f.error(), ScanError::TooManyMappings);

    // 32 ways is fine.
    let f = Fixture::from_sets(
        LabelSize::Bytes128,
        32,
        &[set_labels(LabelSize::Bytes128, 1, 32, 0, M)],
    );
    let ns = f.found()[0];
    assert_eq!(ns.labels().len(), 32);
    assert_eq!(ns.size, 32 * M);
}

#[test]
fn output_buffer_sizing() {
    let f = Fixture::from_sets(
        LabelSize::Bytes128,
        2,
        &[
            set_labels(LabelSize::Bytes128, 1, 2, 0, M),
            set_labels(LabelSize::Bytes128, 2, 2, M, M),
        ],
    );
    assert_eq!(f.max_namespaces(), 2);
    let mut out = vec![Namespace::EMPTY; 1];
    assert_eq!(f.scan_into(&mut out).0, Err(ScanError::OutOfSpace));
    let mut out = vec![Namespace::EMPTY; 2];
    assert_eq!(f.scan_into(&mut out).0, Ok(2));
}

#[test]
fn messages_name_the_uuid() {
    let note = ScanNote::DuplicateUuid {
        mapping: 1,
        uuid: uuid(0xab),
    };
    assert_eq!(
        note.to_string(),
        "mapping1: duplicate entry for uuid 5c000000-0000-0000-0000-0000000000ab"
    );
    let e = ScanError::MissingLabel {
        position: 3,
        uuid: uuid(1),
    };
    assert_eq!(
        e.to_string(),
        "position 3: missing label for 5c000000-0000-0000-0000-000000000001"
    );
}

#[test]
fn labels_with_uuid_is_labels_filtered_by_uuid() {
    use label_common::{random_label, Rng};
    let mut rng = Rng::new(7);
    for round in 0..40 {
        let size = LabelSize::PROBE_ORDER[round % 2];
        // Labels of three uuids, some of them then damaged.
        let labels: Vec<NamespaceLabel> = (0..12)
            .map(|_| {
                let mut l = random_label(&mut rng, size);
                l.uuid = uuid(rng.below(3) as u8);
                l
            })
            .collect();
        let mut data = area(size, &labels);
        let geo = *LabelArea::parse(&data).unwrap().geometry();
        for _ in 0..4 {
            let slot = geo.slot_range(rng.below(12) as u32).unwrap();
            let at = slot.start + rng.below(size.bytes() as u64) as usize;
            data[at] ^= 1 << rng.below(8);
        }
        let area = LabelArea::parse(&data).unwrap();
        for n in 0..4 {
            let want: Vec<(u32, NamespaceLabel)> =
                area.labels().filter(|(_, l)| l.uuid == uuid(n)).collect();
            assert_eq!(area.labels_with_uuid(&uuid(n)).collect::<Vec<_>>(), want);
        }
    }
}
