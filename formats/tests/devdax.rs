//! formats::devdax: C's drivers/dax/device.c decisions (6.12), each worked
//! by hand from the C source, plus properties over random inputs checked
//! against a straight model of the C code (u64 wrapping as unsigned long).

use nd_formats::devdax::*;

const K4: u64 = 4096;
const M2: u64 = 2 << 20;
const G1: u64 = 1 << 30;

fn vma(start: u64, end: u64, pgoff: u64) -> Vma {
    Vma { start, end, pgoff, may_share: true, is_dax: true }
}

#[test]
fn check_vma_rules_in_c_order() {
    let v = vma(0x7f00_0020_0000, 0x7f00_0060_0000, 0);
    assert_eq!(check_vma(true, M2, &v), Ok(()));
    // Dead first, even for a private unaligned non-dax mapping.
    let bad = Vma { start: 0x1000, end: 0x3000, pgoff: 0, may_share: false, is_dax: false };
    assert_eq!(check_vma(false, M2, &bad), Err(VmaRefusal::Dead));
    assert_eq!(VmaRefusal::Dead.errno(), 6);
    assert_eq!(check_vma(true, M2, &bad), Err(VmaRefusal::Private));
    let shared = Vma { may_share: true, ..bad };
    assert_eq!(check_vma(true, M2, &shared), Err(VmaRefusal::Unaligned));
    assert_eq!(check_vma(true, K4, &shared), Err(VmaRefusal::NotDax));
    for r in [VmaRefusal::Private, VmaRefusal::Unaligned, VmaRefusal::NotDax] {
        assert_eq!(r.errno(), 22);
    }
    // The end is checked too.
    assert_eq!(check_vma(true, M2, &vma(0x20_0000, 0x30_0000, 0)), Err(VmaRefusal::Unaligned));
    assert_eq!(check_vma(true, G1, &vma(G1, 2 * G1, 0)), Ok(()));
    assert_eq!(check_vma(true, G1, &vma(G1, G1 + M2, 0)), Err(VmaRefusal::Unaligned));
}

#[test]
fn pgoff_to_phys_over_ranges() {
    // Two ranges, as a dynamic dev_dax may have: 4 MiB at 1 GiB, then
    // 2 MiB at 3 GiB.
    let rs = [
        DaxRange { pgoff: 0, start: G1, end: G1 + 2 * M2 - 1 },
        DaxRange { pgoff: 1024, start: 3 * G1, end: 3 * G1 + M2 - 1 },
    ];
    assert_eq!(pgoff_to_phys(rs, 0, K4), Some(G1));
    assert_eq!(pgoff_to_phys(rs, 1023, K4), Some(G1 + 1023 * K4));
    assert_eq!(pgoff_to_phys(rs, 512, M2), Some(G1 + M2));
    // A 2 MiB entry that would cross the end of the first range.
    assert_eq!(pgoff_to_phys(rs, 1023, M2), None);
    assert_eq!(pgoff_to_phys(rs, 1024, K4), Some(3 * G1));
    assert_eq!(pgoff_to_phys(rs, 1024, M2), Some(3 * G1));
    assert_eq!(pgoff_to_phys(rs, 1535, K4), Some(3 * G1 + 511 * K4));
    assert_eq!(pgoff_to_phys(rs, 1536, K4), None);
    assert_eq!(pgoff_to_phys([], 0, K4), None);
}

#[test]
fn fault_plans_as_c() {
    let v = vma(0x4000_0000, 0x4080_0000, 16); // 8 MiB at file page 16
    let a = 0x4020_1234;
    // PTE faults: only on 4 KiB devices.
    assert_eq!(plan_fault(0, K4, a, 999, &v, true), FaultPlan::Insert { address: a, pgoff: 999, size: K4 });
    assert_eq!(plan_fault(0, M2, a, 999, &v, true), FaultPlan::SigBus(SigBusReason::AlignTooLarge));
    assert_eq!(plan_fault(0, 512, a, 999, &v, true), FaultPlan::SigBus(SigBusReason::SizeMismatch));
    // PMD faults: fall back on 4 KiB devices, SIGBUS on 1 GiB ones.
    assert_eq!(plan_fault(PMD_ORDER, K4, a, 0, &v, true), FaultPlan::Fallback);
    assert_eq!(plan_fault(PMD_ORDER, G1, a, 0, &v, true), FaultPlan::SigBus(SigBusReason::AlignTooLarge));
    assert_eq!(
        plan_fault(PMD_ORDER, M2, a, 0, &v, true),
        FaultPlan::Insert { address: 0x4020_0000, pgoff: 16 + 512, size: M2 }
    );
    // A PMD past the VMA's end.
    let short = vma(0x4000_0000, 0x4010_0000, 0);
    assert_eq!(plan_fault(PMD_ORDER, M2, 0x4000_1000, 0, &short, true), FaultPlan::SigBus(SigBusReason::OutsideVma));
    // PUD faults.
    assert_eq!(plan_fault(PUD_ORDER, M2, a, 0, &v, true), FaultPlan::Fallback);
    assert_eq!(plan_fault(PUD_ORDER, G1, a, 0, &v, true), FaultPlan::SigBus(SigBusReason::OutsideVma));
    let big = vma(G1, 3 * G1, 2);
    assert_eq!(
        plan_fault(PUD_ORDER, G1, 2 * G1 + 5, 0, &big, true),
        FaultPlan::Insert { address: 2 * G1, pgoff: 2 + (G1 >> 12), size: G1 }
    );
    assert_eq!(plan_fault(PUD_ORDER, G1, 2 * G1 + 5, 0, &big, false), FaultPlan::Fallback);
    // Other orders.
    assert_eq!(plan_fault(3, K4, a, 0, &v, true), FaultPlan::SigBus(SigBusReason::Order));
}

#[test]
fn vmemmap_shift_and_order() {
    assert_eq!(vmemmap_shift(K4), 0);
    assert_eq!(vmemmap_shift(M2), 9);
    assert_eq!(vmemmap_shift(G1), 18);
    assert_eq!(order_base_2(0), 0);
    assert_eq!(order_base_2(1), 0);
    assert_eq!(order_base_2(3), 2);
    assert_eq!(order_base_2(4), 2);
    assert_eq!(order_base_2(5), 3);
}

#[test]
fn set_mapping_spans() {
    let v = vma(0x4000_0000, 0x4080_0000, 16);
    // Compound pages: the head only.
    assert_eq!(set_mapping_span(M2, 9, &v, 0x4020_1234), (1, 16 + 512));
    // Without: every page of the entry.
    assert_eq!(set_mapping_span(M2, 0, &v, 0x4020_1234), (512, 16 + 512));
    assert_eq!(set_mapping_span(K4, 0, &v, 0x4020_1234), (1, 16 + 513));
}

#[test]
fn may_split_on_align_boundaries_only() {
    assert_eq!(may_split(M2, 0x4020_0000), Ok(()));
    assert_eq!(may_split(M2, 0x4020_1000), Err(22));
    assert_eq!(may_split(K4, 0x4020_1000), Ok(()));
    assert_eq!(may_split(G1, 0x4020_0000), Err(22));
}

#[test]
fn unmapped_area_worked_examples() {
    // 4 MiB at offset 0 on a 2 MiB device: ask for 6 MiB, then place.
    assert_eq!(unmapped_area_len(M2, 0, 2 * M2, 0), Some(3 * M2));
    assert_eq!(unmapped_area_place(M2, 0, 0x7f12_3450_0000), 0x7f12_3460_0000);
    assert_eq!(unmapped_area_place(M2, 0, 0x7f12_3460_0000), 0x7f12_3460_0000);
    // At file offset 4 KiB, the address keeps the offset's congruence.
    assert_eq!(unmapped_area_place(M2, 1, 0x7f12_3460_0000), 0x7f12_3460_1000);
    // A hint: plain request.
    assert_eq!(unmapped_area_len(M2, 0x1000_0000, 2 * M2, 0), None);
    // Less than one aligned unit after rounding the offset up.
    assert_eq!(unmapped_area_len(M2, 0, M2, 1), None);
    assert_eq!(unmapped_area_len(M2, 0, M2 - K4, 0), None);
    // Overflow of off + len + align.
    assert_eq!(unmapped_area_len(M2, 0, 4 * M2, u64::MAX >> 12 & !511), None);
    assert!(is_err_value(-22i64 as u64));
    assert!(!is_err_value(0x7f00_0000_0000));
}

#[test]
fn probe_checks() {
    assert_eq!(check_probe(true, 1, true), Ok(()));
    assert_eq!(check_probe(true, 2, true), Err(ProbeRefusal::StaticMultiRange));
    assert_eq!(check_probe(false, 3, false), Ok(()));
    assert_eq!(check_probe(false, 1, true), Err(ProbeRefusal::DynamicWithPgmap));
}

#[test]
fn backing_distance_moves_pfns() {
    // Real hardware: same memory.
    assert_eq!(backing_distance(G1 + M2 - 1, G1 + M2 - 1), 0);
    assert_eq!(phys_to_pfn(G1 + K4, 0), (G1 + K4) >> 12);
    // nfit_test: emulated range high, backing lower: a wrapping distance.
    let d = backing_distance(0x1_0000_0000 + M2 - 1, 0x40_0000_0000 + M2 - 1);
    assert_eq!(phys_to_pfn(0x40_0000_0000 + 3 * K4, d), (0x1_0000_0000 + 3 * K4) >> 12);
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick(&mut self, xs: &[u64]) -> u64 {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// C's dax_get_unmapped_area written out over a model mm that returns
/// `mm_base` (page aligned) for any length: the address it returns.
fn c_get_unmapped_area(align: u64, addr: u64, len: u64, pgoff: u64, mm_base: u64) -> u64 {
    let off = pgoff.wrapping_shl(12);
    let off_end = off.wrapping_add(len);
    let off_align = (off.wrapping_sub(1) | (align - 1)).wrapping_add(1);
    if addr != 0 || off_end <= off_align || off_end.wrapping_sub(off_align) < align {
        return mm_base;
    }
    let len_align = len.wrapping_add(align);
    if off.wrapping_add(len_align) < off {
        return mm_base;
    }
    mm_base.wrapping_add(off.wrapping_sub(mm_base) & (align - 1))
}

#[test]
fn unmapped_area_property() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..200_000 {
        let align = rng.pick(&[K4, M2, G1]);
        let (r1, r2, r3) = (rng.next(), rng.next(), rng.next());
        let len = rng.pick(&[K4, M2, 3 * M2, G1, 5 * G1 + M2, r1 & !0xfff, u64::MAX & !0xfff]);
        let pgoff = rng.pick(&[0, 1, 511, 512, r2 >> 12, r3 >> 30, u64::MAX >> 12]);
        let addr = rng.pick(&[0, 0, 0x7f00_0000_0000]);
        let mm_base = (rng.next() & 0x7fff_ffff_f000) | 0x1000;
        let ours = match unmapped_area_len(align, addr, len, pgoff) {
            None => mm_base,
            Some(l) => {
                assert!(l > len || len.wrapping_add(align) == l);
                unmapped_area_place(align, pgoff, mm_base)
            }
        };
        assert_eq!(ours, c_get_unmapped_area(align, addr, len, pgoff, mm_base));
        // Whenever the larger area was asked for, the placed address is
        // congruent to the file offset modulo align, and inside the area.
        if unmapped_area_len(align, addr, len, pgoff).is_some() {
            assert_eq!(ours.wrapping_sub(pgoff << 12) & (align - 1), 0);
            assert!(ours - mm_base < align);
        }
    }
}

#[test]
fn fault_property_pages_stay_in_device() {
    // For random single-range devices and in-VMA faults, every Insert maps
    // a page offset whose whole entry lies in the device, and its address
    // is aligned to its size; nothing bigger than align is ever inserted.
    let mut rng = Rng(0xfeed_beef_0bad_cafe);
    for _ in 0..100_000 {
        let align = rng.pick(&[K4, M2, G1]);
        let units = 1 + rng.next() % 8;
        let r = DaxRange { pgoff: 0, start: (1 + rng.next() % 64) * G1, end: 0 };
        let r = DaxRange { end: r.start + units * align - 1, ..r };
        let vunits = 1 + rng.next() % units;
        let vstart = (1 + rng.next() % 1024) * G1;
        let v = vma(vstart, vstart + vunits * align, (rng.next() % (units - vunits + 1)) * (align >> 12));
        assert_eq!(check_vma(true, align, &v), Ok(()));
        // The core hands faults page-aligned addresses (vmf->address).
        let address = (vstart + rng.next() % (vunits * align)) & !0xfff;
        let order = rng.pick(&[0, PMD_ORDER as u64, PUD_ORDER as u64]) as u32;
        let vmf_pgoff = linear_page_index(&v, address);
        match plan_fault(order, align, address, vmf_pgoff, &v, true) {
            FaultPlan::Insert { address: a, pgoff, size } => {
                assert_eq!(size, align);
                assert_eq!(a % size, 0);
                assert!(a >= v.start && a + size <= v.end);
                let phys = pgoff_to_phys([r], pgoff, size).expect("in the device");
                assert_eq!(phys % size, r.start % size);
                assert!(phys + size - 1 <= r.end);
            }
            FaultPlan::Fallback => assert!(fault_size(order).unwrap() > align),
            FaultPlan::SigBus(why) => {
                assert_eq!(why, SigBusReason::AlignTooLarge);
                assert!(fault_size(order).unwrap() < align);
            }
        }
    }
}
