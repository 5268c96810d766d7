//! formats::pfn: the pfn info block codec, C's nd_pfn_validate rules with
//! their errno values, and the layouts of nd_pfn_init / __nvdimm_setup_pfn
//! against results worked by hand from the C source (pfn_devs.c, 6.12).

use nd_formats::fletcher;
use nd_formats::pfn::*;

const X86: Platform = Platform::X86_64;
const G4: u64 = 1 << 32;
const M: u64 = 1 << 20;
const NS_UUID: [u8; 16] = [0x5c; 16];
const PFN_UUID: [u8; 16] = [0xa7; 16];

fn ns(start: u64, size: u64) -> Namespace {
    Namespace {
        start,
        size,
        uuid: NS_UUID,
    }
}

fn req(mode: PfnMode, align: u64) -> InitRequest {
    InitRequest {
        sig: Signature::Pfn,
        uuid: PFN_UUID,
        align,
        mode,
        read_only: false,
    }
}

fn live(sb: &PfnSb, align: u64) -> Settings {
    Settings {
        uuid: sb.uuid,
        align,
        mode: PfnMode::from_raw(sb.mode).unwrap(),
    }
}

fn errno_of(r: Result<Validated, PfnError>) -> i32 {
    r.map(|_| 0).unwrap_or_else(|e| e.errno())
}

// ---------------------------------------------------------------- codec

#[test]
fn field_offsets_match_struct_nd_pfn_sb() {
    let sb = PfnSb {
        signature: PFN_SIG,
        uuid: [1; 16],
        parent_uuid: [2; 16],
        flags: 0x0403_0201,
        version_major: 0x0605,
        version_minor: 0x0807,
        dataoff: 0x100f_0e0d_0c0b_0a09,
        npfns: 0x1817_1615_1413_1211,
        mode: 0x1c1b_1a19,
        start_pad: 0x201f_1e1d,
        end_trunc: 0x2423_2221,
        align: 0x2827_2625,
        page_size: 0x2c2b_2a29,
        page_struct_size: 0x2e2d,
        checksum: 0x3635_3433_3231_302f,
    };
    let b = sb.encode();
    assert_eq!(&b[0..16], b"NVDIMM_PFN_INFO\0");
    assert_eq!(&b[16..32], &[1; 16]);
    assert_eq!(&b[32..48], &[2; 16]);
    let tail: Vec<u8> = (1u8..=0x2e).collect();
    assert_eq!(&b[48..94], &tail[..]);
    assert!(b[94..4088].iter().all(|&x| x == 0));
    assert_eq!(
        &b[4088..],
        &[0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36]
    );
    assert_eq!(PfnSb::decode(&b), Some(sb));
}

#[test]
fn decode_needs_a_whole_block_and_ignores_what_follows() {
    assert_eq!(PfnSb::decode(&[0u8; 4095]), None);
    let mut b = vec![0u8; 8192];
    b[..16].copy_from_slice(&DAX_SIG);
    b[5000] = 0xff;
    let sb = PfnSb::decode(&b).unwrap();
    assert_eq!(sb.signature_kind(), Some(Signature::Dax));
    assert_eq!(sb.encode()[..], b[..4096]);
}

#[test]
fn seal_is_c_checksum_with_the_field_zeroed() {
    let mut sb = init_layout(&req(PfnMode::Pmem, 2 * M), &ns(G4, 32 * M), &X86).unwrap();
    sb.seal();
    let b = sb.encode();
    let mut z = b;
    z[4088..].fill(0);
    assert_eq!(sb.checksum, fletcher::fletcher64(&z));
    assert!(fletcher::verify(&b, PFN_SB_CHECKSUM_OFFSET));
}

#[test]
fn random_blocks_round_trip() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut b = [0u8; 4096];
        for chunk in b.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let sb = PfnSb::decode(&b).unwrap();
        let e = sb.encode();
        assert_eq!(e[..94], b[..94]);
        assert_eq!(e[4088..], b[4088..]);
        assert_eq!(PfnSb::decode(&e), Some(sb));
    }
}

#[test]
fn modes_and_signatures() {
    for (m, r) in [(PfnMode::None, 0), (PfnMode::Ram, 1), (PfnMode::Pmem, 2)] {
        assert_eq!(m.raw(), r);
        assert_eq!(PfnMode::from_raw(r), Some(m));
    }
    assert_eq!(PfnMode::from_raw(3), None);
    assert_eq!(Signature::of(&PFN_SIG), Some(Signature::Pfn));
    assert_eq!(Signature::of(b"BTT_ARENA_INFO\0\0"), None);
}

// ---------------------------------------------------------------- platform

#[test]
fn x86_64_platform() {
    assert_eq!(X86.supported_alignments(), [4096, 2 * M, 1 << 30]);
    assert_eq!(X86.default_alignment(), 2 * M);
    assert!(!X86.is_supported_alignment(0));
    assert!(!X86.is_supported_alignment(8192));
    let no_pud = Platform {
        pud_thp: false,
        ..X86
    };
    assert_eq!(no_pud.supported_alignments(), [4096, 2 * M, 0]);
    let no_thp = Platform { thp: false, ..X86 };
    assert_eq!(no_thp.supported_alignments(), [4096, 0, 0]);
    assert_eq!(no_thp.default_alignment(), 4096);
    assert!(!no_thp.is_supported_alignment(1 << 30));
}

// ---------------------------------------------------------------- init layout

/// (start, size, mode, align) -> (dataoff, npfns, end_trunc), by hand:
/// npfns0 = (size - 8K) / 4K; a = max(align, 2M);
/// end_trunc = (start + size) mod a;
/// dev: dataoff = ALIGN(start + 8K + 64 * npfns0, a) - start;
/// mem: dataoff = ALIGN(start + 8K, a) - start;
/// npfns = (size - dataoff - end_trunc) / 4K.
#[test]
fn init_layout_table() {
    let g = 1u64 << 30;
    let rows: &[(u64, u64, PfnMode, u64, u64, u64, u32)] = &[
        // 32 MiB: memmap 64 * 8190 = 524160 B -> 2 MiB.
        (G4, 32 * M, PfnMode::Pmem, 2 * M, 2 * M, 7680, 0),
        (G4, 32 * M, PfnMode::Pmem, 4096, 2 * M, 7680, 0),
        (G4, 32 * M, PfnMode::Ram, 4096, 2 * M, 7680, 0),
        (G4, 32 * M, PfnMode::Ram, 2 * M, 2 * M, 7680, 0),
        // 64 MiB: memmap 64 * 16382 = 1048448 B -> still 2 MiB.
        (G4, 64 * M, PfnMode::Pmem, 4096, 2 * M, 15872, 0),
        // 2560 MiB: memmap 64 * 655358 = 41942912 B; + 8K -> 21 * 2 MiB.
        (G4, 2560 * M, PfnMode::Pmem, 2 * M, 42 * M, 644608, 0),
        (G4, 2560 * M, PfnMode::Ram, 4096, 2 * M, 654848, 0),
        // 1 GiB alignment: data at 1 GiB, end cut to 6 GiB (512 MiB off).
        (G4, 2560 * M, PfnMode::Pmem, g, g, 262144, 512 * M as u32),
        (G4, 2560 * M, PfnMode::Ram, g, g, 262144, 512 * M as u32),
        // A start 2 MiB past a 1 GiB boundary: dataoff 1 GiB - 2 MiB,
        // end 4G+2M+2560M cut to 6 GiB.
        (
            G4 + 2 * M,
            2560 * M,
            PfnMode::Ram,
            g,
            g - 2 * M,
            262144,
            514 * M as u32,
        ),
        // A 16 GiB namespace, -M dev: memmap 64 * 4194302 = 268435328 B
        // (256 MiB - 128); + 8K -> 258 MiB; (16384 - 258) MiB / 4K.
        (G4, 16 * g, PfnMode::Pmem, 2 * M, 258 * M, 4128256, 0),
        // Smallest sensible: 4 MiB -> one 2 MiB of data.
        (G4, 4 * M, PfnMode::Pmem, 2 * M, 2 * M, 512, 0),
    ];
    for &(start, size, mode, align, dataoff, npfns, end_trunc) in rows {
        let what = format!("start {start:#x} size {size:#x} {mode:?} align {align:#x}");
        let sb = init_layout(&req(mode, align), &ns(start, size), &X86).expect(&what);
        assert_eq!(
            (sb.dataoff, sb.npfns, sb.end_trunc),
            (dataoff, npfns, end_trunc),
            "{what}"
        );
        assert_eq!(sb.signature, PFN_SIG);
        assert_eq!((sb.version_major, sb.version_minor), (1, 4));
        assert_eq!(
            sb.align as u64, align,
            "the attribute's align, not max(align, 2M)"
        );
        assert_eq!((sb.page_size, sb.page_struct_size), (4096, 64));
        assert_eq!((sb.start_pad, sb.flags), (0, 0));
        assert_eq!(sb.mode, mode.raw());
        assert_eq!((sb.uuid, sb.parent_uuid), (PFN_UUID, NS_UUID));
        let raw = sb.encode();
        assert!(fletcher::verify(&raw, PFN_SB_CHECKSUM_OFFSET));
        // What C writes, C accepts at the next probe (live or autodetect).
        let v = validate(
            &raw,
            Signature::Pfn,
            &ns(start, size),
            Some(&live(&sb, align)),
            &X86,
        );
        assert_eq!(v.map(|v| v.sb), Ok(sb), "{what}");
        let a = validate(&raw, Signature::Pfn, &ns(start, size), None, &X86).unwrap();
        assert_eq!(
            a.settings,
            Settings {
                uuid: PFN_UUID,
                align,
                mode
            }
        );
    }
}

#[test]
fn init_layout_errors_in_c_order() {
    let n = ns(G4, 32 * M);
    let ro = InitRequest {
        read_only: true,
        mode: PfnMode::None,
        ..req(PfnMode::Pmem, 2 * M)
    };
    // read-only first, even before the mode
    assert_eq!(
        init_layout(&ro, &ns(G4 + 4096, 32 * M), &X86),
        Err(PfnError::ReadOnly)
    );
    assert_eq!(PfnError::ReadOnly.errno(), errno::ENXIO);
    // then a start off memremap_compat_align()
    let e = init_layout(&req(PfnMode::None, 2 * M), &ns(G4 + 4096, 32 * M), &X86);
    assert_eq!(e, Err(PfnError::NamespaceMisaligned));
    assert_eq!(PfnError::NamespaceMisaligned.errno(), errno::EINVAL);
    assert_eq!(
        init_layout(&req(PfnMode::None, 2 * M), &n, &X86),
        Err(PfnError::NoMode)
    );
    assert_eq!(PfnError::NoMode.errno(), errno::ENXIO);
    // no room for data: 2 MiB namespace, data would start at 2 MiB
    let e = init_layout(&req(PfnMode::Ram, 2 * M), &ns(G4, 2 * M), &X86);
    assert_eq!(e, Err(PfnError::Unsatisfiable));
    assert_eq!(PfnError::Unsatisfiable.errno(), errno::ENXIO);
    // 1 GiB alignment on a 32 MiB namespace at a 1 GiB boundary: the data
    // would start at 1 GiB, end_trunc is the whole namespace
    let e = init_layout(&req(PfnMode::Pmem, 1 << 30), &n, &X86);
    assert_eq!(e, Err(PfnError::Unsatisfiable));
}

#[test]
fn init_layout_big_struct_page() {
    let debug = Platform {
        struct_page_size: 80,
        ..X86
    };
    let n = ns(G4, 32 * M);
    let e = init_layout(&req(PfnMode::Pmem, 2 * M), &n, &debug);
    assert_eq!(e, Err(PfnError::StructPageTooBig));
    assert_eq!(PfnError::StructPageTooBig.errno(), errno::EINVAL);
    // -M mem does not care
    assert!(init_layout(&req(PfnMode::Ram, 2 * M), &n, &debug).is_ok());
    // CONFIG_NVDIMM_KMSAN: room for the bigger struct page, recorded.
    // 64 MiB at 2560 MiB... take 2560 MiB: 80 * 655358 = 52428640 + 8K
    // -> 26 * 2 MiB = 52 MiB.
    let kmsan = Platform {
        page_struct_override: true,
        ..debug
    };
    let sb = init_layout(&req(PfnMode::Pmem, 2 * M), &ns(G4, 2560 * M), &kmsan).unwrap();
    assert_eq!((sb.dataoff, sb.page_struct_size), (52 * M, 80));
    // and a 64-byte kernel refuses nothing about it...
    assert!(validate(&sb.encode(), Signature::Pfn, &ns(G4, 2560 * M), None, &X86).is_ok());
    // ...while a block with room for 64 bytes is refused by the 80-byte one.
    let small = init_layout(&req(PfnMode::Pmem, 2 * M), &ns(G4, 2560 * M), &X86).unwrap();
    let e = validate(
        &small.encode(),
        Signature::Pfn,
        &ns(G4, 2560 * M),
        None,
        &kmsan,
    );
    assert_eq!(e, Err(PfnError::PageStructSizeMismatch(64)));
}

#[test]
fn init_layout_dax_signature() {
    let r = InitRequest {
        sig: Signature::Dax,
        ..req(PfnMode::Pmem, 2 * M)
    };
    let sb = init_layout(&r, &ns(G4, 32 * M), &X86).unwrap();
    assert_eq!(sb.signature, DAX_SIG);
    let raw = sb.encode();
    // A pfn device does not see a dax block and vice versa.
    assert_eq!(
        validate(&raw, Signature::Pfn, &ns(G4, 32 * M), None, &X86),
        Err(PfnError::BadSignature)
    );
    assert!(validate(&raw, Signature::Dax, &ns(G4, 32 * M), None, &X86).is_ok());
}

// ---------------------------------------------------------------- validate

/// A valid -M dev block on a 32 MiB namespace at 4 GiB (dataoff 2 MiB).
fn good() -> (PfnSb, Namespace) {
    let n = ns(G4, 32 * M);
    (
        init_layout(&req(PfnMode::Pmem, 2 * M), &n, &X86).unwrap(),
        n,
    )
}

fn check(
    sb: &PfnSb,
    n: &Namespace,
    sig: Signature,
    live_align: Option<u64>,
) -> Result<Validated, PfnError> {
    let mut s = *sb;
    s.seal();
    let raw = s.encode();
    let l = live_align.map(|a| Settings {
        uuid: PFN_UUID,
        align: a,
        mode: PfnMode::from_raw(sb.mode).unwrap_or(PfnMode::None),
    });
    validate(&raw, sig, n, l.as_ref(), &X86)
}

#[test]
fn signature_checksum_parent_are_enodev() {
    let (sb, n) = good();
    let raw = sb.encode();
    assert_eq!(
        validate(&raw[..4095], Signature::Pfn, &n, None, &X86),
        Err(PfnError::TooShort)
    );
    assert_eq!(PfnError::TooShort.errno(), errno::ENXIO);
    assert_eq!(
        validate(&[0u8; 4096], Signature::Pfn, &n, None, &X86),
        Err(PfnError::BadSignature)
    );
    // Signature is checked before the checksum.
    let mut bad = raw;
    bad[0] ^= 1;
    assert_eq!(
        validate(&bad, Signature::Pfn, &n, None, &X86),
        Err(PfnError::BadSignature)
    );
    for at in [16, 48, 60, 93, 94, 2000, 4087, 4088, 4095] {
        let mut bad = raw;
        bad[at] ^= 0x10;
        assert_eq!(
            validate(&bad, Signature::Pfn, &n, None, &X86),
            Err(PfnError::BadChecksum),
            "byte {at}"
        );
    }
    // Nonzero padding under a good checksum is accepted (C never reads it).
    let mut padded = raw;
    padded[3000] = 1;
    fletcher::seal(&mut padded, PFN_SB_CHECKSUM_OFFSET);
    assert!(validate(&padded, Signature::Pfn, &n, None, &X86).is_ok());
    // Parent uuid: checked after the checksum; a label-less namespace has
    // the null uuid.
    let other = Namespace { uuid: [0; 16], ..n };
    assert_eq!(
        validate(&raw, Signature::Pfn, &other, None, &X86),
        Err(PfnError::ParentUuidMismatch)
    );
    for e in [
        PfnError::BadSignature,
        PfnError::BadChecksum,
        PfnError::ParentUuidMismatch,
        PfnError::UuidMismatch,
    ] {
        assert_eq!(e.errno(), errno::ENODEV);
        assert!(e.means_no_info_block());
    }
    assert!(!PfnError::BadMode(0).means_no_info_block());
}

#[test]
fn mode_must_be_ram_or_pmem() {
    let (sb, n) = good();
    for m in [0, 3, u32::MAX] {
        let e = check(&PfnSb { mode: m, ..sb }, &n, Signature::Pfn, None);
        assert_eq!(e, Err(PfnError::BadMode(m)));
        assert_eq!(errno_of(e), errno::ENXIO);
    }
}

#[test]
fn page_size_and_struct_page_size_only_for_dev() {
    let (sb, n) = good();
    let e = check(
        &PfnSb {
            page_size: 8192,
            ..sb
        },
        &n,
        Signature::Pfn,
        None,
    );
    assert_eq!(e, Err(PfnError::PageSizeMismatch(8192)));
    assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    // smaller pages are fine
    assert!(check(
        &PfnSb {
            page_size: 512,
            ..sb
        },
        &n,
        Signature::Pfn,
        None
    )
    .is_ok());
    let e = check(
        &PfnSb {
            page_struct_size: 63,
            ..sb
        },
        &n,
        Signature::Pfn,
        None,
    );
    assert_eq!(e, Err(PfnError::PageStructSizeMismatch(63)));
    assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    assert!(check(
        &PfnSb {
            page_struct_size: 128,
            ..sb
        },
        &n,
        Signature::Pfn,
        None
    )
    .is_ok());
    // -M mem: neither is looked at
    let mem = PfnSb {
        mode: 1,
        page_size: 65536,
        page_struct_size: 1,
        ..sb
    };
    assert!(check(&mem, &n, Signature::Pfn, None).is_ok());
    // before v1.4 both take their defaults (64, PAGE_SIZE)
    let v13 = PfnSb {
        version_minor: 3,
        page_size: 65536,
        page_struct_size: 1,
        ..sb
    };
    let v = check(&v13, &n, Signature::Pfn, None).unwrap();
    assert_eq!((v.sb.page_size, v.sb.page_struct_size), (4096, 64));
}

#[test]
fn version_defaults() {
    let (sb, n) = good();
    // v1.0: start_pad, end_trunc and align ignored; align from dataoff (2 MiB).
    let v10 = PfnSb {
        version_minor: 0,
        start_pad: 12345,
        end_trunc: 999,
        align: 3,
        ..sb
    };
    let v = check(&v10, &n, Signature::Pfn, Some(2 * M)).unwrap();
    assert_eq!((v.sb.start_pad, v.sb.end_trunc, v.sb.align), (0, 0, 0));
    assert_eq!(v.settings.align, 2 * M);
    // v1.1: start_pad/end_trunc count, align does not
    let v11 = PfnSb {
        version_minor: 1,
        align: 3,
        end_trunc: 4096,
        ..sb
    };
    assert_eq!(
        check(&v11, &n, Signature::Pfn, None),
        Err(PfnError::EndMisaligned)
    );
    let v11 = PfnSb {
        version_minor: 1,
        align: 3,
        ..sb
    };
    assert_eq!(
        check(&v11, &n, Signature::Pfn, None)
            .unwrap()
            .settings
            .align,
        2 * M
    );
    // v1.2: align counts
    let v12 = PfnSb {
        version_minor: 2,
        align: 4096,
        ..sb
    };
    assert_eq!(
        check(&v12, &n, Signature::Pfn, None)
            .unwrap()
            .settings
            .align,
        4096
    );
    // The major version is not checked.
    assert!(check(
        &PfnSb {
            version_major: 7,
            ..sb
        },
        &n,
        Signature::Pfn,
        None
    )
    .is_ok());
    // align 0 from dataoff: 1 << ilog2(dataoff)
    assert_eq!(
        PfnSb {
            align: 0,
            dataoff: 3 * M,
            ..sb
        }
        .effective_align(),
        2 * M
    );
    assert_eq!(
        PfnSb {
            align: 0,
            dataoff: 4096,
            ..sb
        }
        .effective_align(),
        4096
    );
    assert_eq!(
        PfnSb {
            align: 0,
            dataoff: 0,
            ..sb
        }
        .effective_align(),
        1 << 63
    );
    // a derived align that the data offset does not meet: 3 MiB -> 2 MiB
    let odd = PfnSb {
        version_minor: 1,
        dataoff: 3 * M,
        ..sb
    };
    assert_eq!(
        check(&odd, &n, Signature::Pfn, None),
        Err(PfnError::BadOffset)
    );
    // dataoff 0 and no align: C's 1 << -1 exceeds the capacity
    let zero = PfnSb {
        version_minor: 1,
        dataoff: 0,
        ..sb
    };
    assert_eq!(
        check(&zero, &n, Signature::Pfn, None),
        Err(PfnError::AlignExceedsCapacity(1 << 63))
    );
}

#[test]
fn alignment_checked_for_dax_only() {
    let (sb, n) = good();
    let odd = PfnSb { align: 8192, ..sb };
    assert!(check(&odd, &n, Signature::Pfn, None).is_ok());
    let dax = PfnSb {
        signature: DAX_SIG,
        ..odd
    };
    let e = check(&dax, &n, Signature::Dax, None);
    assert_eq!(e, Err(PfnError::AlignmentMismatch(8192)));
    assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    assert!(check(
        &PfnSb {
            signature: DAX_SIG,
            ..sb
        },
        &n,
        Signature::Dax,
        None
    )
    .is_ok());
}

#[test]
fn live_settings() {
    let (sb, n) = good();
    let raw = sb.encode();
    let ok = Settings {
        uuid: PFN_UUID,
        align: 2 * M,
        mode: PfnMode::Pmem,
    };
    assert_eq!(
        validate(&raw, Signature::Pfn, &n, Some(&ok), &X86)
            .unwrap()
            .settings,
        ok
    );
    let other = Settings {
        uuid: [9; 16],
        ..ok
    };
    let e = validate(&raw, Signature::Pfn, &n, Some(&other), &X86);
    assert_eq!(e, Err(PfnError::UuidMismatch));
    assert_eq!(errno_of(e), errno::ENODEV);
    for s in [
        Settings { align: 4096, ..ok },
        Settings {
            mode: PfnMode::Ram,
            ..ok
        },
    ] {
        let e = validate(&raw, Signature::Pfn, &n, Some(&s), &X86);
        assert_eq!(e, Err(PfnError::SettingsMismatch));
        assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    }
    // uuid before the mode/page checks? No: page checks come first.
    let bad_page = PfnSb {
        page_size: 8192,
        ..sb
    };
    assert_eq!(
        check(&bad_page, &n, Signature::Pfn, Some(4096)),
        Err(PfnError::PageSizeMismatch(8192))
    );
}

#[test]
fn geometry_checks_in_c_order() {
    let (sb, n) = good();
    // align above the capacity
    let e = check(
        &PfnSb {
            align: 1 << 30,
            ..sb
        },
        &n,
        Signature::Pfn,
        None,
    );
    assert_eq!(e, Err(PfnError::AlignExceedsCapacity(1 << 30)));
    assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    // the same block fits a namespace as big as the alignment... but then
    // 4G + 2M is not 1 GiB aligned
    let big = ns(G4, 1 << 30);
    assert_eq!(
        check(
            &PfnSb {
                align: 1 << 30,
                ..sb
            },
            &big,
            Signature::Pfn,
            None
        ),
        Err(PfnError::BadOffset)
    );
    // dataoff at or past the end
    for off in [32 * M, 64 * M] {
        let e = check(&PfnSb { dataoff: off, ..sb }, &n, Signature::Pfn, None);
        assert_eq!(e, Err(PfnError::OffsetExceedsCapacity));
    }
    // dataoff off the alignment, or off a page
    assert_eq!(
        check(
            &PfnSb {
                dataoff: 2 * M + 4096,
                ..sb
            },
            &n,
            Signature::Pfn,
            None
        ),
        Err(PfnError::BadOffset)
    );
    let small_align = PfnSb {
        align: 512,
        dataoff: 2 * M + 512,
        ..sb
    };
    assert_eq!(
        check(&small_align, &n, Signature::Pfn, None),
        Err(PfnError::BadOffset)
    );
    // the namespace start, padded, off memremap_compat_align()
    let a4k = PfnSb { align: 4096, ..sb };
    assert_eq!(
        check(&a4k, &ns(G4 + M, 32 * M), Signature::Pfn, None),
        Err(PfnError::StartMisaligned)
    );
    assert_eq!(
        check(
            &PfnSb {
                start_pad: 4096,
                ..a4k
            },
            &n,
            Signature::Pfn,
            None
        ),
        Err(PfnError::StartMisaligned)
    );
    // start_pad that restores the alignment of a misaligned namespace
    let padded = PfnSb {
        start_pad: M as u32,
        ..a4k
    };
    assert!(check(&padded, &ns(G4 + M, 33 * M), Signature::Pfn, None).is_ok());
    // the end, truncated, off it
    assert_eq!(
        check(
            &PfnSb {
                end_trunc: 4096,
                ..sb
            },
            &n,
            Signature::Pfn,
            None
        ),
        Err(PfnError::EndMisaligned)
    );
    assert_eq!(
        check(&sb, &ns(G4, 33 * M), Signature::Pfn, None),
        Err(PfnError::EndMisaligned)
    );
    // no data left: dataoff 2M >= 32M - 2M - 28M
    let squeezed = PfnSb {
        start_pad: 2 * M as u32,
        end_trunc: 28 * M as u32,
        ..a4k
    };
    let e = check(&squeezed, &n, Signature::Pfn, None);
    assert_eq!(e, Err(PfnError::SmallNamespace));
    assert_eq!(errno_of(e), errno::EOPNOTSUPP);
    // ...and one page more is fine
    assert!(check(
        &PfnSb {
            end_trunc: 26 * M as u32,
            ..squeezed
        },
        &n,
        Signature::Pfn,
        None
    )
    .is_ok());
    // C's unsigned arithmetic: start_pad + end_trunc beyond the size wraps
    // and passes that last check.
    let wraps = PfnSb {
        start_pad: 0,
        end_trunc: 64 * M as u32,
        ..a4k
    };
    assert!(check(&wraps, &n, Signature::Pfn, None).is_ok());
}

// ---------------------------------------------------------------- setup

#[test]
fn setup_dev() {
    let (sb, n) = good();
    let s = setup(&sb, &n, PfnMode::Pmem, &X86).unwrap();
    assert_eq!((s.range_start, s.range_end), (G4, G4 + 32 * M - 1));
    assert_eq!(
        (s.npfns, s.npfns_truncated, s.pfn_pad, s.data_offset),
        (7680, false, 0, 2 * M)
    );
    // base pfn 0x100000, 2 reserved (8 KiB), (2M - 8K) / 4K = 510 free
    assert_eq!(
        s.altmap,
        Some(Altmap {
            base_pfn: 0x10_0000,
            reserve: 2,
            free: 510,
            end_pfn: 0x10_1fff
        })
    );
    assert_eq!(s.data_size(&n), 30 * M);
    assert_eq!(s.badblocks_range(), (G4 + 2 * M, G4 + 32 * M - 1));
    assert_eq!(Setup::resource(&sb, &n), G4 + 2 * M);
    assert_eq!(Setup::size_attr(&sb, &n), 30 * M);
    // the block promises more pages than there are
    let s = setup(&PfnSb { npfns: 7681, ..sb }, &n, PfnMode::Pmem, &X86).unwrap();
    assert!(s.npfns_truncated);
    assert_eq!(s.npfns, 7680);
}

#[test]
fn setup_end_trunc_and_start_pad() {
    let n = ns(G4, 2560 * M);
    let sb = init_layout(&req(PfnMode::Pmem, 1 << 30), &n, &X86).unwrap();
    let s = setup(&sb, &n, PfnMode::Pmem, &X86).unwrap();
    assert_eq!(s.range_end, G4 + 2048 * M - 1);
    assert_eq!((s.pfn_pad, s.npfns), (512 * M, 262144));
    assert_eq!(s.data_size(&n), 1 << 30);
    assert_eq!(Setup::size_attr(&sb, &n), 1 << 30);
    let a = s.altmap.unwrap();
    assert_eq!((a.reserve, a.free), (2, ((1 << 30) - 8192) >> 12));
    // a legacy start_pad: the range (and the altmap base) move, the
    // subsection padding joins the reserve.
    let legacy = PfnSb {
        start_pad: M as u32,
        align: 4096,
        dataoff: 4 * M,
        ..sb
    };
    let n2 = ns(G4 + M, 2560 * M);
    let s = setup(&legacy, &n2, PfnMode::Pmem, &X86).unwrap();
    assert_eq!(s.range_start, G4 + 2 * M);
    assert_eq!(s.altmap.unwrap().base_pfn, (G4 + 2 * M) >> 12);
    assert_eq!(s.altmap.unwrap().reserve, 2);
    let odd = ns(G4 + M, 2560 * M);
    let s = setup(
        &PfnSb {
            start_pad: 0,
            ..legacy
        },
        &odd,
        PfnMode::Pmem,
        &X86,
    )
    .unwrap();
    assert_eq!(s.altmap.unwrap().base_pfn, G4 >> 12);
    assert_eq!(s.altmap.unwrap().reserve, 2 + 256);
}

#[test]
fn setup_mem_and_errors() {
    let n = ns(G4, 32 * M);
    let sb = init_layout(&req(PfnMode::Ram, 4096), &n, &X86).unwrap();
    let s = setup(&sb, &n, PfnMode::Ram, &X86).unwrap();
    assert_eq!((s.npfns, s.altmap, s.data_offset), (7680, None, 2 * M));
    // -M mem takes the block's npfns as is
    let s = setup(&PfnSb { npfns: 3, ..sb }, &n, PfnMode::Ram, &X86).unwrap();
    assert_eq!((s.npfns, s.npfns_truncated), (3, false));
    // data inside the 8 KiB reserve
    let e = setup(
        &PfnSb {
            dataoff: 4096,
            ..sb
        },
        &n,
        PfnMode::Ram,
        &X86,
    );
    assert_eq!(e, Err(PfnError::DataInReserve));
    assert_eq!(PfnError::DataInReserve.errno(), errno::EINVAL);
    assert!(setup(
        &PfnSb {
            dataoff: 8192,
            ..sb
        },
        &n,
        PfnMode::Ram,
        &X86
    )
    .is_ok());
    assert_eq!(setup(&sb, &n, PfnMode::None, &X86), Err(PfnError::NoMode));
}

// ---------------------------------------------------------------- properties

/// Every layout init_layout makes for a 2 MiB-aligned namespace (any size
/// from 2 MiB to 1 TiB in 2 MiB steps, sampled, any supported align, both
/// modes; 6000 samples) either is refused as C refuses it or validates, and its setup
/// maps exactly npfns pages of data after the memmap.
#[test]
fn init_then_validate_then_setup() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut made, mut refused) = (0, 0);
    for _ in 0..6000 {
        let start = (next() % (1 << 19)) * 2 * M;
        let size = (next() % (1 << 19) + 1) * 2 * M;
        let align = X86.supported_alignments()[(next() % 3) as usize];
        let mode = if next() & 1 == 0 {
            PfnMode::Ram
        } else {
            PfnMode::Pmem
        };
        let n = ns(start, size);
        let sb = match init_layout(&req(mode, align), &n, &X86) {
            Ok(sb) => sb,
            Err(e) => {
                assert_eq!(e, PfnError::Unsatisfiable);
                refused += 1;
                continue;
            }
        };
        made += 1;
        let what = format!("start {start:#x} size {size:#x} {mode:?} align {align:#x}");
        let l = Settings {
            uuid: PFN_UUID,
            align,
            mode,
        };
        match validate(&sb.encode(), Signature::Pfn, &n, Some(&l), &X86) {
            Ok(_) => {}
            // C writes blocks it will not read back when the alignment
            // exceeds the namespace (pfn_devs.c checks it only at validate).
            Err(PfnError::AlignExceedsCapacity(a)) => {
                assert!(a > size, "{what}");
                continue;
            }
            Err(e) => panic!("{what}: {e:?}"),
        }
        let s = setup(&sb, &n, mode, &X86).unwrap();
        let a = align.max(2 * M);
        assert_eq!(s.npfns, sb.npfns, "{what}");
        assert_eq!(s.data_size(&n), sb.npfns * 4096, "{what}");
        assert_eq!((start + sb.dataoff) % a, 0, "{what}");
        assert_eq!((s.range_end + 1) % a, 0, "{what}");
        assert!(u64::from(sb.end_trunc) < a);
        if mode == PfnMode::Pmem {
            // the memmap for every page of the namespace fits before the data
            let free = s.altmap.unwrap().free * 4096;
            assert!(free >= 64 * ((size - 8192) / 4096), "{what}");
            assert!(free - 64 * ((size - 8192) / 4096) < a, "{what}");
        } else {
            assert!(sb.dataoff - 8192 < a, "{what}");
        }
    }
    assert!(made > 3000 && refused > 0, "made {made}, refused {refused}");
}
