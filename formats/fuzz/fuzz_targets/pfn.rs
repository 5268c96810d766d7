//! The pfn info block (`formats::pfn`): decode, C's validation, C's init
//! layout and the setup ranges.
//!
//! Checks:
//! - decode/encode round trip: the encoded block decodes to the same fields
//!   and keeps the input's bytes outside the padding;
//! - validate never panics, for any namespace (start and size any u64);
//!   an accepted block has the signature asked for, a valid checksum, the
//!   namespace's uuid, mode ram or pmem, and C's geometry: data offset
//!   page-aligned and below the size, start and truncated end aligned to
//!   memremap_compat_align(); validating again with the settings it
//!   returned (a configured device) accepts it again with the same result;
//! - setup of an accepted block never panics; for a block whose start_pad
//!   and end_trunc fit in the namespace, the data size is the pfn `size`
//!   attribute and `-M dev` reports the block's pages or fewer;
//! - init_layout never panics; for a realistic namespace (start and size
//!   page multiples below 2^52) and a supported alignment, a block it makes is sealed, v1.4, and
//!   validates with the device's settings unless its alignment exceeds the
//!   namespace (C writes such blocks and then refuses them), and its setup
//!   maps the block's npfns pages after dataoff.
//!
//! Input: 32 control bytes, then the block (4096 bytes, zero-padded).
//! Control: [0] bit 0 reseal the block, bit 1 validate with live settings
//! from [20..], bit 2 look for the dax signature, bit 3 read-only region,
//! bit 4 the namespace has the block's parent uuid (else the null uuid);
//! [1..9] namespace start, [9..17] size; [17] align index; [18] mode;
//! [19] platform: bit 0 no THP, bit 1 no PUD THP, bit 2 an 80-byte struct
//! page, bit 3 page_struct_override; [20] live align index, [21] live mode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::fletcher;
use nd_formats::pfn::*;
use nd_formats_fuzz::Ctl;

const ALIGNS: [u64; 6] = [4096, 2 << 20, 1 << 30, 0, 8192, 1 << 21 | 4096];

fn mode_of(b: u8) -> PfnMode {
    match b % 3 {
        0 => PfnMode::None,
        1 => PfnMode::Ram,
        _ => PfnMode::Pmem,
    }
}

fuzz_target!(|data: &[u8]| {
    let (mut ctl, rest) = Ctl::split(data, 32);
    let flags = ctl.u8();
    let start = ctl.u64();
    let size = ctl.u64();
    let align = ALIGNS[ctl.below(ALIGNS.len())];
    let mode = mode_of(ctl.u8());
    let p = ctl.u8();
    let live_align = ALIGNS[ctl.below(ALIGNS.len())];
    let live_mode = mode_of(ctl.u8());
    let platform = Platform {
        thp: p & 1 == 0,
        pud_thp: p & 2 == 0,
        struct_page_size: if p & 4 != 0 { 80 } else { 64 },
        page_struct_override: p & 8 != 0,
        ..Platform::X86_64
    };
    let sig = if flags & 4 != 0 {
        Signature::Dax
    } else {
        Signature::Pfn
    };

    let mut raw = [0u8; PFN_SB_SIZE];
    let n = rest.len().min(PFN_SB_SIZE);
    raw[..n].copy_from_slice(&rest[..n]);
    if flags & 1 != 0 {
        fletcher::seal(&mut raw, PFN_SB_CHECKSUM_OFFSET);
    }

    // Codec.
    let sb = PfnSb::decode(&raw).unwrap();
    let enc = sb.encode();
    assert_eq!(enc[..PFN_SB_PADDING_OFFSET], raw[..PFN_SB_PADDING_OFFSET]);
    assert_eq!(enc[PFN_SB_CHECKSUM_OFFSET..], raw[PFN_SB_CHECKSUM_OFFSET..]);
    assert_eq!(PfnSb::decode(&enc), Some(sb));

    let ns = Namespace {
        start,
        size,
        uuid: if flags & 16 != 0 {
            sb.parent_uuid
        } else {
            [0; 16]
        },
    };
    let live = Settings {
        uuid: sb.uuid,
        align: live_align,
        mode: live_mode,
    };
    let r = validate(&raw, sig, &ns, (flags & 2 != 0).then_some(&live), &platform);
    if let Ok(v) = r {
        accepted(&raw, sig, &ns, &v, &platform);
    }

    // Init.
    let req = InitRequest {
        sig,
        uuid: sb.uuid,
        align,
        mode,
        read_only: flags & 8 != 0,
    };
    let made = init_layout(&req, &ns, &platform);
    // The align attribute only takes a supported alignment.
    let realistic = start < 1 << 52
        && size < 1 << 52
        && start % 4096 == 0
        && size % 4096 == 0
        && size >= 8192
        && platform.is_supported_alignment(align);
    if let (Ok(new), true) = (made, realistic) {
        let bytes = new.encode();
        assert!(fletcher::verify(&bytes, PFN_SB_CHECKSUM_OFFSET));
        assert_eq!((new.version_major, new.version_minor), (1, 4));
        assert_eq!(new.signature, sig.bytes());
        let l = Settings {
            uuid: sb.uuid,
            align,
            mode,
        };
        match validate(&bytes, sig, &ns, Some(&l), &platform) {
            Ok(v) => {
                assert_eq!(v.sb, new);
                accepted(&bytes, sig, &ns, &v, &platform);
                let s = setup(&new, &ns, mode, &platform).unwrap();
                assert_eq!(s.npfns, new.npfns);
                assert_eq!(s.data_size(&ns), new.npfns * 4096);
            }
            Err(PfnError::AlignExceedsCapacity(a)) => assert!(a > size),
            Err(e) => panic!("init made a block validate refuses: {e:?} {new:?}"),
        }
    }
});

fn accepted(raw: &[u8], sig: Signature, ns: &Namespace, v: &Validated, platform: &Platform) {
    let sb = &v.sb;
    assert_eq!(sb.signature, sig.bytes());
    assert!(fletcher::verify(raw, PFN_SB_CHECKSUM_OFFSET));
    assert_eq!(sb.parent_uuid, ns.uuid);
    assert!(matches!(v.settings.mode, PfnMode::Ram | PfnMode::Pmem));
    assert_eq!(v.settings.mode.raw(), sb.mode);
    assert!(sb.dataoff < ns.size && sb.dataoff % 4096 == 0);
    assert!(v.settings.align <= ns.size);
    let compat = platform.compat_align;
    assert_eq!(ns.start.wrapping_add(u64::from(sb.start_pad)) % compat, 0);
    assert_eq!(
        ns.start
            .wrapping_add(ns.size)
            .wrapping_sub(u64::from(sb.end_trunc))
            % compat,
        0
    );
    // Configured with what autodetect found, the device accepts it too.
    let again = validate(raw, sig, ns, Some(&v.settings), platform);
    assert_eq!(again, Ok(*v));
    for mode in [PfnMode::Ram, PfnMode::Pmem] {
        let Ok(s) = setup(sb, ns, mode, platform) else {
            continue;
        };
        let cut = u64::from(sb.start_pad) + u64::from(sb.end_trunc);
        if cut < ns.size {
            assert_eq!(s.data_size(ns), Setup::size_attr(sb, ns));
            assert!(s.data_size(ns) > 0);
            if mode == PfnMode::Pmem {
                assert!(s.npfns * 4096 <= s.data_size(ns));
                let a = s.altmap.unwrap();
                assert!(a.reserve >= 2);
            }
        }
    }
}
