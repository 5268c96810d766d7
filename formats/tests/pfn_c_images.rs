//! pfn info blocks written by Linux's C stack (formats/testdata/pfn/, made
//! by test/tools/make-pfn-images.sh; its README says how): each decodes,
//! validates for its namespace (autodetect and configured), is bit for bit
//! the block our init_layout computes for the same request, and gives the
//! pfn device's resource and size and the pmem disk's size C showed.

use nd_formats::pfn::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const X86: Platform = Platform::X86_64;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pfn")
}

fn facts(path: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// The namespace an image was written on, from its facts file.
fn namespace_of(f: &BTreeMap<String, String>) -> Namespace {
    Namespace {
        start: num(&f["namespace_resource"]),
        size: num(&f["namespace_size"]),
        uuid: match f["namespace_uuid"].as_str() {
            "none" => [0; 16],
            u => uuid(u),
        },
    }
}

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn uuid(s: &str) -> [u8; 16] {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    assert_eq!(hex.len(), 32, "uuid {s}");
    let mut u = [0u8; 16];
    for (i, b) in u.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    u
}

/// The number after `"key":` in ndctl's JSON, or the string.
fn json_field(json: &str, key: &str) -> String {
    let pat = format!("\"{key}\":");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    json[at..]
        .split(|c| c == ',' || c == '\n' || c == '}')
        .next()
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_string()
}

fn images() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".txt").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_images_are_there() {
    let names = images();
    assert!(names.len() >= 5, "{names:?}");
    // both memmap placements, both 4K and 2M, on nfit_test
    for prefix in ["nt-io-dev-2M", "nt-io-mem-4K", "nt-l-mem-2M", "nt-l-dev-4K"] {
        assert!(
            names.iter().any(|n| n == prefix),
            "{prefix} missing: {names:?}"
        );
    }
}

#[test]
fn c_blocks_decode_validate_and_match_our_layout() {
    for name in images() {
        let f = facts(&dir().join(format!("{name}.txt")));
        let bin = fs::read(dir().join(format!("{name}.bin"))).unwrap();
        let json = fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
        assert_eq!(bin.len(), 8192, "{name}");
        let raw = &bin[4096..];
        let ns = namespace_of(&f);
        let mode = match f["pfn_mode"].as_str() {
            "pmem" => PfnMode::Pmem,
            "ram" => PfnMode::Ram,
            m => panic!("{name}: mode {m}"),
        };
        assert_eq!(
            f["map"],
            if mode == PfnMode::Pmem { "dev" } else { "mem" },
            "{name}"
        );
        let settings = Settings {
            uuid: uuid(&f["pfn_uuid"]),
            align: num(&f["pfn_align"]),
            mode,
        };

        let sb = PfnSb::decode(raw).unwrap();
        assert_eq!(sb.signature_kind(), Some(Signature::Pfn), "{name}");
        assert_eq!((sb.version_major, sb.version_minor), (1, 4), "{name}");
        assert_eq!(
            sb.encode()[..],
            raw[..],
            "{name}: C's padding is zero, our encoding is C's"
        );

        // autodetect (nd_pfn_probe) finds the device's settings
        let v = validate(raw, Signature::Pfn, &ns, None, &X86)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(v.settings, settings, "{name}");
        assert_eq!(v.sb, sb, "{name}: v1.4, no defaults apply");
        // the configured device accepts it too; another uuid or setting not
        assert_eq!(
            validate(raw, Signature::Pfn, &ns, Some(&settings), &X86).map(|v| v.settings),
            Ok(settings)
        );
        let other = Settings {
            uuid: [0xee; 16],
            ..settings
        };
        assert_eq!(
            validate(raw, Signature::Pfn, &ns, Some(&other), &X86),
            Err(PfnError::UuidMismatch)
        );
        let flipped = Settings {
            mode: if mode == PfnMode::Pmem {
                PfnMode::Ram
            } else {
                PfnMode::Pmem
            },
            ..settings
        };
        assert_eq!(
            validate(raw, Signature::Pfn, &ns, Some(&flipped), &X86),
            Err(PfnError::SettingsMismatch)
        );
        // not a dax block
        assert_eq!(
            validate(raw, Signature::Dax, &ns, None, &X86),
            Err(PfnError::BadSignature)
        );

        // our init_layout writes the same block, checksum included
        let req = InitRequest {
            sig: Signature::Pfn,
            uuid: settings.uuid,
            align: settings.align,
            mode,
            read_only: false,
        };
        let ours = init_layout(&req, &ns, &X86).unwrap();
        assert_eq!(ours, sb, "{name}");

        // and derives what C showed
        let s = setup(&sb, &ns, mode, &X86).unwrap();
        assert_eq!(Setup::resource(&sb, &ns), num(&f["pfn_resource"]), "{name}");
        assert_eq!(Setup::size_attr(&sb, &ns), num(&f["pfn_size"]), "{name}");
        assert_eq!(
            s.data_size(&ns),
            num(&f["pmem_size"]),
            "{name}: the disk's capacity"
        );
        assert!(!s.npfns_truncated, "{name}");
        assert_eq!(s.npfns * 4096, s.data_size(&ns), "{name}");

        // ndctl's view
        assert_eq!(json_field(&json, "mode"), "fsdax", "{name}");
        assert_eq!(json_field(&json, "map"), f["map"], "{name}");
        assert_eq!(num(&json_field(&json, "align")), settings.align, "{name}");
        assert_eq!(
            num(&json_field(&json, "size")),
            num(&f["pfn_size"]),
            "{name}"
        );
        assert_eq!(uuid(&json_field(&json, "uuid")), settings.uuid, "{name}");

        // the platform's alignments are the ones C offered
        let offered: Vec<u64> = f["pfn_supported_alignments"]
            .split_whitespace()
            .map(num)
            .collect();
        let ours: Vec<u64> = X86
            .supported_alignments()
            .into_iter()
            .filter(|&a| a != 0)
            .collect();
        assert_eq!(offered, ours, "{name}");
    }
}

/// Every image with each checked field disturbed (and resealed) is refused
/// with the errno C gives, or accepted where C does not look.
#[test]
fn c_blocks_disturbed() {
    for name in images() {
        let f = facts(&dir().join(format!("{name}.txt")));
        let bin = fs::read(dir().join(format!("{name}.bin"))).unwrap();
        let ns = namespace_of(&f);
        let sb = PfnSb::decode(&bin[4096..]).unwrap();
        let errno = |mut s: PfnSb| {
            s.seal();
            let b = s.encode();
            validate(&b, Signature::Pfn, &ns, None, &X86)
                .map(|_| 0)
                .unwrap_or_else(|e| e.errno())
        };
        assert_eq!(errno(sb), 0, "{name}");
        assert_eq!(
            errno(PfnSb {
                parent_uuid: [1; 16],
                ..sb
            }),
            errno::ENODEV,
            "{name}"
        );
        assert_eq!(errno(PfnSb { mode: 0, ..sb }), errno::ENXIO, "{name}");
        assert_eq!(
            errno(PfnSb {
                dataoff: ns.size,
                ..sb
            }),
            errno::EOPNOTSUPP,
            "{name}"
        );
        assert_eq!(
            errno(PfnSb {
                dataoff: sb.dataoff + 4096,
                align: 2 << 20,
                ..sb
            }),
            errno::EOPNOTSUPP,
            "{name}"
        );
        assert_eq!(
            errno(PfnSb {
                end_trunc: 4096,
                ..sb
            }),
            errno::EOPNOTSUPP,
            "{name}"
        );
        assert_eq!(
            errno(PfnSb {
                align: 1 << 30,
                ..sb
            }),
            errno::EOPNOTSUPP,
            "{name}"
        );
        // the stale checksum
        let mut b = bin[4096..].to_vec();
        b[60] ^= 1;
        assert_eq!(
            validate(&b, Signature::Pfn, &ns, None, &X86),
            Err(PfnError::BadChecksum),
            "{name}"
        );
    }
}
