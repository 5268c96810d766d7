//! Namespace discovery on label areas that Linux's C stack wrote, checked
//! against what C's own scan reported for them (test/tools/
//! make-label-images.sh): unmodified ndctl created namespaces on
//! nfit_test.0's 4-way and 2-way regions and on a QEMU NVDIMM, with v1.1 and
//! v1.2 labels; the regions were then disabled and enabled again, and the
//! sysfs attributes of the namespaces C rediscovered were recorded.

mod formats {
    pub use nd_formats::*;
}
#[path = "../../test/nfit_test/topology.rs"]
#[allow(dead_code)]
mod topology;

use formats::label::{
    label_id, ClaimClass, DimmLabels, InterleaveSetId, LabelArea, LabelVersion, Mapping, Namespace,
    PmemRegion,
};
use formats::nfit::{Nfit, SpaType};
use std::collections::BTreeMap;

fn dir(name: &str) -> String {
    format!("{}/testdata/scan/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

fn number(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

/// `key=value` fields of one line, split on `sep`.
fn fields(line: &str, sep: char) -> BTreeMap<&str, &str> {
    line.split(sep)
        .map(|f| {
            f.split_once('=')
                .unwrap_or_else(|| panic!("no '=' in {f:?}"))
        })
        .collect()
}

/// One region as C's sysfs showed it.
struct CRegion {
    name: String,
    start: u64,
    size: u64,
    set_cookie: u64,
    /// (dimm, dpa start, dpa size, position) per mapping, in mapping order.
    mappings: Vec<(String, u64, u64, u16)>,
}

/// One namespace as C's sysfs showed it.
struct CNamespace {
    dev: String,
    uuid: String,
    alt_name: String,
    size: u64,
    resource: u64,
    /// The bracketed entry of `sector_size`, 0 if none.
    lbasize: u64,
    holder_class: String,
    dpa_extents: usize,
}

struct Capture {
    regions: Vec<CRegion>,
    namespaces: Vec<CNamespace>,
    /// Each DIMM's label area, padded back to its config size.
    areas: BTreeMap<String, Vec<u8>>,
}

fn capture(name: &str) -> Capture {
    let d = dir(name);
    let mut regions: Vec<CRegion> = Vec::new();
    let mut areas = BTreeMap::new();
    for line in text(&format!("{d}/regions.txt")).lines() {
        let (key, value) = line.split_once('=').unwrap();
        match key {
            "region" => {
                let f = fields(line, ' ');
                regions.push(CRegion {
                    name: f["region"].to_string(),
                    start: number(f["start"]),
                    size: number(f["size"]),
                    set_cookie: number(f["set_cookie"]),
                    mappings: Vec::new(),
                });
            }
            "mapping" => {
                let v: Vec<&str> = value.split(',').collect();
                regions.last_mut().unwrap().mappings.push((
                    v[0].to_string(),
                    number(v[1]),
                    number(v[2]),
                    number(v[3]) as u16,
                ));
            }
            "config_size" => {
                let (dimm, size) = value.split_once(',').unwrap();
                let mut area = read(&format!("{d}/{dimm}.bin"));
                let size = number(size) as usize;
                assert!(
                    area.len() <= size && area.len() > 256,
                    "{dimm}: {} bytes",
                    area.len()
                );
                area.resize(size, 0);
                areas.insert(dimm.to_string(), area);
            }
            _ => panic!("{name}/regions.txt: unknown line {line:?}"),
        }
    }
    let namespaces = text(&format!("{d}/namespaces.txt"))
        .lines()
        .map(|line| {
            let f = fields(line, '\t');
            let sector = f["sector_size"];
            let lbasize = sector
                .split_whitespace()
                .find_map(|s| s.strip_prefix('[')?.strip_suffix(']'))
                .map_or(0, number);
            CNamespace {
                dev: f["namespace"].to_string(),
                uuid: f["uuid"].to_string(),
                alt_name: f["alt_name"].to_string(),
                size: number(f["size"]),
                resource: number(f["resource"]),
                lbasize,
                holder_class: f["holder_class"].to_string(),
                dpa_extents: number(f["dpa_extents"]) as usize,
            }
        })
        .collect();
    Capture {
        regions,
        namespaces,
        areas,
    }
}

/// nfit_test.0's interleave sets, from the NFIT our nfit_test publishes
/// (its cookies do not depend on the SPA addresses). Keyed by number of ways.
fn nfit_test_sets() -> BTreeMap<usize, InterleaveSetId> {
    let bus = &topology::BUSES[0];
    let mut buf = vec![0u8; topology::MAX_TABLE_LEN];
    let len = bus
        .write_nfit(&topology::Bases::default(), false, &mut buf)
        .unwrap();
    sets_of(&buf[..len])
}

/// The interleave sets of an NFIT's persistent-memory ranges, by ways.
fn sets_of(table: &[u8]) -> BTreeMap<usize, InterleaveSetId> {
    let (_, nfit) = Nfit::parse_table(table).unwrap();
    nfit.spas()
        .filter(|s| s.spa_type() == Some(SpaType::Pm))
        .filter_map(|spa| {
            let set = nfit.interleave_set(&spa).ok()?;
            (set.mappings() > 0).then(|| {
                (
                    set.mappings(),
                    InterleaveSetId {
                        cookie1: set.cookie1,
                        cookie2: set.cookie2,
                        altcookie: set.altcookie,
                        type_guid: spa.range_guid().0,
                    },
                )
            })
        })
        .collect()
}

fn holder_class(class: ClaimClass) -> &'static str {
    match class {
        ClaimClass::None => "",
        ClaimClass::Btt | ClaimClass::Btt2 => "btt",
        ClaimClass::Pfn => "pfn",
        ClaimClass::Dax => "dax",
        ClaimClass::Unknown => "<unknown>",
    }
}

/// Scan every region of a capture and compare with what C found.
fn check(name: &str, version: LabelVersion, sets: &BTreeMap<usize, InterleaveSetId>) {
    let cap = capture(name);
    let mut checked = 0;
    for region in &cap.regions {
        let set = sets[&region.mappings.len()];
        assert_eq!(
            set.cookie(version),
            region.set_cookie,
            "{name} {}: set_cookie",
            region.name
        );
        let parsed: Vec<LabelArea<'_>> = region
            .mappings
            .iter()
            .map(|(dimm, ..)| LabelArea::parse(&cap.areas[dimm]).unwrap())
            .collect();
        for area in &parsed {
            assert_eq!(area.version(), version);
        }
        let mappings: Vec<Mapping<'_>> = region
            .mappings
            .iter()
            .zip(&parsed)
            .map(|(&(_, start, size, _), area)| Mapping {
                dimm: DimmLabels::Enabled(Some(*area)),
                start,
                size,
            })
            .collect();
        let scan = PmemRegion {
            set,
            start: region.start,
            mappings: &mappings,
        };
        let mut out = vec![Namespace::EMPTY; scan.max_namespaces()];
        let mut notes = Vec::new();
        let found = scan
            .scan(&mut out, |n| notes.push(n))
            .unwrap_or_else(|e| panic!("{name} {}: {e}", region.name));

        // C's namespaces of this region, in registration order.
        let prefix = format!("namespace{}.", region.name.trim_start_matches("region"));
        let mut expect: Vec<&CNamespace> = cap
            .namespaces
            .iter()
            .filter(|n| n.dev.starts_with(&prefix))
            .collect();
        expect.sort_by_key(|n| number(&n.dev[prefix.len()..]));
        assert!(
            !expect.is_empty(),
            "{name} {}: C found no namespace",
            region.name
        );
        assert_eq!(
            found.len(),
            expect.len(),
            "{name} {}: {notes:?}",
            region.name
        );
        for (ns, c) in found.iter().zip(expect) {
            let what = format!("{name} {}", c.dev);
            assert_eq!(&label_id(&ns.uuid).as_str()[5..], c.uuid, "{what}: uuid");
            assert_eq!(ns.name_bytes(), c.alt_name.as_bytes(), "{what}: alt_name");
            assert_eq!(ns.size, c.size, "{what}: size");
            assert_eq!(ns.resource(region.start), c.resource, "{what}: resource");
            assert!(
                ns.offset + ns.size <= region.size,
                "{what}: inside the region"
            );
            assert_eq!(ns.offset, c.resource - region.start, "{what}: offset");
            assert_eq!(ns.lbasize, c.lbasize, "{what}: sector_size");
            assert_eq!(
                holder_class(ns.claim_class),
                c.holder_class,
                "{what}: holder_class"
            );
            assert_eq!(ns.labels().len(), c.dpa_extents, "{what}: dpa_extents");
            // C labels DIMM i with position i, each DIMM an equal share.
            for (i, (l, m)) in ns.labels().iter().zip(&region.mappings).enumerate() {
                assert_eq!(l.position, m.3, "{what}: mapping{i} position");
                assert_eq!(
                    l.rawsize * ns.labels().len() as u64,
                    ns.size,
                    "{what}: mapping{i}"
                );
                assert_eq!(
                    (l.dpa - m.1) * region.mappings.len() as u64,
                    ns.offset,
                    "{what}: mapping{i} dpa"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        cap.namespaces.len(),
        "{name}: every namespace C found is checked"
    );
}

#[test]
fn nfit_test_v1_1() {
    check("nfit-test-v1.1", LabelVersion::V1_1, &nfit_test_sets());
}

#[test]
fn nfit_test_v1_2() {
    check("nfit-test-v1.2", LabelVersion::V1_2, &nfit_test_sets());
}

#[test]
fn qemu_v1_1() {
    let sets = sets_of(&read(&format!("{}/nfit.bin", dir("qemu-v1.1"))));
    check("qemu-v1.1", LabelVersion::V1_1, &sets);
}

#[test]
fn qemu_v1_2() {
    let sets = sets_of(&read(&format!("{}/nfit.bin", dir("qemu-v1.2"))));
    check("qemu-v1.2", LabelVersion::V1_2, &sets);
}

/// The shared DIMMs of nfit_test.0 hold both regions' labels; each region's
/// scan passes over the other's, and over nothing else.
#[test]
fn nfit_test_regions_skip_each_others_labels() {
    for name in ["nfit-test-v1.1", "nfit-test-v1.2"] {
        let cap = capture(name);
        let sets = nfit_test_sets();
        for region in &cap.regions {
            let parsed: Vec<LabelArea<'_>> = region
                .mappings
                .iter()
                .map(|(dimm, ..)| LabelArea::parse(&cap.areas[dimm]).unwrap())
                .collect();
            let mappings: Vec<Mapping<'_>> = region
                .mappings
                .iter()
                .zip(&parsed)
                .map(|(&(_, start, size, _), area)| Mapping {
                    dimm: DimmLabels::Enabled(Some(*area)),
                    start,
                    size,
                })
                .collect();
            let scan = PmemRegion {
                set: sets[&region.mappings.len()],
                start: region.start,
                mappings: &mappings,
            };
            let mut out = vec![Namespace::EMPTY; scan.max_namespaces()];
            let mut notes = Vec::new();
            let n = scan.scan(&mut out, |n| notes.push(n)).unwrap().len();
            // nmem0 holds 2 labels for the 4-way region, 1 for the 2-way one.
            let (found, skipped) = if region.mappings.len() == 4 {
                (2, 1)
            } else {
                (1, 2)
            };
            assert_eq!(
                (n, notes.len()),
                (found, skipped),
                "{name} {}: {notes:?}",
                region.name
            );
            assert!(notes
                .iter()
                .all(|n| matches!(n, formats::label::ScanNote::OutsideRegion { .. })));
        }
    }
}
