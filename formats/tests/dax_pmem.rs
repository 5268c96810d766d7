//! formats::dax_pmem: C's `sscanf("namespace%d.%d")`, and the ranges of the
//! dax region, dev_dax and dev_pagemap (drivers/dax/pmem.c, 6.12) worked by
//! hand, plus the contract's invariant (the pgmap and the dev_dax end
//! `shift` apart) over random devdax namespaces; and formats::pfn::relocate.

use nd_formats::dax_pmem::*;
use nd_formats::pfn::*;

const X86: Platform = Platform::X86_64;
const G4: u64 = 1 << 32;
const M: u64 = 1 << 20;
const K: u64 = 1 << 10;

#[test]
fn namespace_ids_as_sscanf() {
    assert_eq!(namespace_ids(b"namespace0.0"), Some((0, 0)));
    assert_eq!(namespace_ids(b"namespace12.345"), Some((12, 345)));
    // %d skips white space, takes a sign, ignores what follows.
    assert_eq!(namespace_ids(b"namespace 1. 2"), Some((1, 2)));
    assert_eq!(namespace_ids(b"namespace-1.+2"), Some((-1, 2)));
    assert_eq!(namespace_ids(b"namespace3.4s"), Some((3, 4)));
    // Two conversions or nothing.
    assert_eq!(namespace_ids(b"namespace3"), None);
    assert_eq!(namespace_ids(b"namespace3."), None);
    assert_eq!(namespace_ids(b"namespace3:4"), None);
    assert_eq!(namespace_ids(b"namespace.4"), None);
    assert_eq!(namespace_ids(b"btt0.0"), None);
    assert_eq!(namespace_ids(b"Namespace0.0"), None);
    assert_eq!(namespace_ids(b""), None);
    // Wraps past i32 as the kernel's conversion does.
    assert_eq!(namespace_ids(b"namespace4294967297.0"), Some((1, 0)));
}

/// A 64 MiB devdax namespace at 4 GiB with -a 2M, -M dev (ndctl's default):
/// nd_pfn_init gives npfns (64M - 8K) / 4K = 16382, a memmap of 64 * 16382
/// bytes after the 8 KiB reserve, dataoff ALIGN(8K + 1048448, 2M) = 2M, no
/// start_pad, no end_trunc.
#[test]
fn devdax_2m_worked_by_hand() {
    let ns = Namespace { start: G4, size: 64 * M, uuid: [1; 16] };
    let req = InitRequest { sig: Signature::Dax, uuid: [2; 16], align: 2 * M, mode: PfnMode::Pmem, read_only: false };
    let sb = init_layout(&req, &ns, &X86).unwrap();
    assert_eq!(sb.dataoff, 2 * M);
    let s = setup(&sb, &ns, PfnMode::Pmem, &X86).unwrap();
    let l = layout(s.range_start, s.range_end, s.data_offset, s.altmap, 0, &X86).unwrap();
    assert_eq!(l.region_start, G4 + 2 * M);
    assert_eq!(l.region_end, G4 + 64 * M - 1);
    assert_eq!(l.size, 62 * M);
    assert_eq!((l.pgmap_start, l.pgmap_end), (G4, G4 + 64 * M - 1));
    let a = l.altmap.unwrap();
    assert_eq!(a, Altmap { base_pfn: G4 >> 12, reserve: 2, free: (2 * M - 8 * K) >> 12, end_pfn: (G4 + 64 * M - 1) >> 12 });
    assert_eq!(l.shift(), 0);
    // alloc_dax_region's checks: start and length aligned to the align.
    assert_eq!(l.region_start % u64::from(sb.align), 0);
    assert_eq!(l.size % u64::from(sb.align), 0);

    // nfit_test: the same namespace emulated at 4 GiB, its bytes at 1 GiB +
    // 32 MiB. The pages move; the region user space sees does not.
    let backing = (1 << 30) + 32 * M;
    let shift = backing.wrapping_sub(G4);
    let r = layout(s.range_start, s.range_end, s.data_offset, s.altmap, shift, &X86).unwrap();
    assert_eq!((r.region_start, r.region_end, r.size), (l.region_start, l.region_end, l.size));
    assert_eq!((r.pgmap_start, r.pgmap_end), (backing, backing + 64 * M - 1));
    let ra = r.altmap.unwrap();
    assert_eq!(ra, Altmap { base_pfn: backing >> 12, end_pfn: (backing + 64 * M - 1) >> 12, ..a });
    assert_eq!(r.shift(), shift);
    assert_eq!(r.region_end.wrapping_add(r.shift()), r.pgmap_end);
}

#[test]
fn relocate_keeps_the_subsection_layout_or_refuses() {
    let a = Altmap { base_pfn: 0x100000, reserve: 2, free: 510, end_pfn: 0x103fff };
    let (s, e, m) = relocate(G4, G4 + 64 * M - 1, Some(a), 0, &X86).unwrap();
    assert_eq!((s, e, m), (G4, G4 + 64 * M - 1, Some(a)));
    // Up and down by whole subsections.
    let (s, _, m) = relocate(G4, G4 + 64 * M - 1, Some(a), 4 * M, &X86).unwrap();
    assert_eq!((s, m.unwrap().base_pfn), (G4 + 4 * M, 0x100400));
    let (s, _, m) = relocate(G4, G4 + 64 * M - 1, Some(a), (2 * M).wrapping_neg(), &X86).unwrap();
    assert_eq!((s, m.unwrap().base_pfn, m.unwrap().end_pfn), (G4 - 2 * M, 0xffe00, 0x103dff));
    // Mode ram: no altmap to move.
    assert_eq!(relocate(G4, G4 + M - 1, None, 2 * M, &X86), Some((G4 + 2 * M, G4 + 3 * M - 1, None)));
    // Not a whole subsection: C's layout would break.
    assert_eq!(relocate(G4, G4 + 64 * M - 1, Some(a), 4 * K, &X86), None);
    assert_eq!(relocate(G4, G4 + 64 * M - 1, Some(a), M.wrapping_neg(), &X86), None);
}

/// Over random devdax namespaces (2 MiB aligned starts, sizes, aligns 4K and
/// 2M, both modes, shifts in subsections either way): what nd_pfn_init
/// writes, validates and sets up gives a region inside the namespace,
/// aligned as alloc_dax_region wants, of the size the nd_dax's `size`
/// attribute shows, starting at its `resource`; and the pgmap ends `shift`
/// past it.
#[test]
fn layout_over_random_devdax_namespaces() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut checked = 0;
    for _ in 0..2000 {
        let start = G4 + (next() % 512) * 2 * M;
        let size = 16 * M + (next() % 1024) * 4 * K;
        let align = if next() % 2 == 0 { 4 * K } else { 2 * M };
        let mode = if next() % 4 == 0 { PfnMode::Ram } else { PfnMode::Pmem };
        let ns = Namespace { start, size, uuid: [3; 16] };
        let req = InitRequest { sig: Signature::Dax, uuid: [4; 16], align, mode, read_only: false };
        let Ok(sb) = init_layout(&req, &ns, &X86) else { continue };
        let v = validate(&sb.encode(), Signature::Dax, &ns, None, &X86).unwrap();
        let s = setup(&v.sb, &ns, mode, &X86).unwrap();
        let shift = ((next() % 64) as i64 - 32).wrapping_mul(2 * M as i64) as u64;
        let l = layout(s.range_start, s.range_end, s.data_offset, s.altmap, shift, &X86).unwrap();
        assert_eq!(l.region_start, Setup::resource(&v.sb, &ns));
        assert_eq!(l.size, Setup::size_attr(&v.sb, &ns));
        assert!(l.region_start >= start && l.region_end < start + size);
        assert_eq!(l.region_start % u64::from(v.sb.align), 0, "{ns:?} {align}");
        assert_eq!(l.size % u64::from(v.sb.align), 0, "{ns:?} {align}");
        assert_eq!(l.pgmap_end.wrapping_sub(l.region_end), shift);
        assert_eq!(l.pgmap_end.wrapping_sub(l.pgmap_start), s.range_end - s.range_start);
        assert_eq!(l.altmap.is_some(), mode == PfnMode::Pmem);
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
}
