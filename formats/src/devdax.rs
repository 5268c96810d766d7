//! Device-DAX policy (C's drivers/dax/device.c): which mappings a
//! /dev/daxX.Y accepts, where a page offset of the device lies, which fault
//! size serves a fault and when it falls back, where an aligned mapping is
//! placed, and where a mapping may be split.
//!
//! Every function here is a pure decision over plain numbers; the kernel
//! glue (glue/dax_driver.rs) reads them out of the `vm_area_struct`,
//! `vm_fault` and `struct dev_dax` and acts on the answer. Arithmetic is C's
//! `unsigned long` arithmetic: it wraps where C's does.

/// Log2 of the page size of the architecture we build for (x86-64).
pub const PAGE_SHIFT: u32 = 12;
/// Bytes in a page.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Bytes a PMD maps on x86-64.
pub const PMD_SIZE: u64 = 1 << 21;
/// Bytes a PUD maps on x86-64.
pub const PUD_SIZE: u64 = 1 << 30;
/// `PMD_ORDER`: pages in a PMD, as a power of two.
pub const PMD_ORDER: u32 = 21 - PAGE_SHIFT;
/// `PUD_ORDER`: pages in a PUD, as a power of two.
pub const PUD_ORDER: u32 = 30 - PAGE_SHIFT;
/// `MAX_ERRNO`: an address at or above `-MAX_ERRNO` is an error
/// (`IS_ERR_VALUE`).
pub const MAX_ERRNO: u64 = 4095;

/// The errno values these decisions return (x86-64 numbers).
pub mod errno {
    /// The dax device is dead (`dax_alive` is false).
    pub const ENXIO: i32 = 6;
    /// Refused mapping or split.
    pub const EINVAL: i32 = 22;
}

/// What `check_vma` looks at in a `vm_area_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    /// `vm_start`.
    pub start: u64,
    /// `vm_end` (exclusive).
    pub end: u64,
    /// `vm_pgoff`: the file offset of `start`, in pages.
    pub pgoff: u64,
    /// `VM_MAYSHARE` is set in `vm_flags` (a MAP_SHARED mapping).
    pub may_share: bool,
    /// `vma_is_dax`: the file's host inode has S_DAX.
    pub is_dax: bool,
}

/// Why `check_vma` refused a mapping or a fault, in C's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaRefusal {
    /// The dax device was killed: ENXIO, and nothing logged.
    Dead,
    /// A private mapping: "fail, attempted private mapping".
    Private,
    /// Start or end not a multiple of the device's `align`:
    /// "fail, unaligned vma (%#lx - %#lx, %#lx)".
    Unaligned,
    /// The file is not DAX: "fail, vma is not DAX capable".
    NotDax,
}

impl VmaRefusal {
    /// The errno C's `check_vma` returns.
    pub fn errno(self) -> i32 {
        match self {
            Self::Dead => errno::ENXIO,
            _ => errno::EINVAL,
        }
    }
}

/// C's `check_vma`: may the device (alive or not, with `align`) serve
/// `vma`? The first failing rule, in C's order.
#[inline]
pub fn check_vma(alive: bool, align: u64, vma: &Vma) -> Result<(), VmaRefusal> {
    if !alive {
        return Err(VmaRefusal::Dead);
    }
    if !vma.may_share {
        return Err(VmaRefusal::Private);
    }
    let mask = align.wrapping_sub(1);
    if vma.start & mask != 0 || vma.end & mask != 0 {
        return Err(VmaRefusal::Unaligned);
    }
    if !vma.is_dax {
        return Err(VmaRefusal::NotDax);
    }
    Ok(())
}

/// `linear_page_index`: the file page offset that `address` in `vma` maps.
#[inline]
pub fn linear_page_index(vma: &Vma, address: u64) -> u64 {
    (address.wrapping_sub(vma.start) >> PAGE_SHIFT).wrapping_add(vma.pgoff)
}

/// One range of a dev_dax (`struct dev_dax_range`): device pages from
/// `pgoff` on live at physical `start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaxRange {
    /// The device page offset of `start`.
    pub pgoff: u64,
    /// The first byte.
    pub start: u64,
    /// The last byte (inclusive, as `struct range`).
    pub end: u64,
}

impl DaxRange {
    /// `range_len`.
    #[inline]
    pub fn len(&self) -> u64 {
        self.end.wrapping_sub(self.start).wrapping_add(1)
    }

    /// Whether the range is empty (never, for a range of a dev_dax).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// C's `dax_pgoff_to_phys`: the physical address of device page `pgoff`,
/// when `size` bytes from there lie in the range holding it; `None` is C's
/// `-1`. Only the first range containing `pgoff` is considered.
#[inline(always)]
pub fn pgoff_to_phys(ranges: impl IntoIterator<Item = DaxRange>, pgoff: u64, size: u64) -> Option<u64> {
    for r in ranges {
        let pgoff_end = r.pgoff.wrapping_add(r.len() >> PAGE_SHIFT).wrapping_sub(1);
        if pgoff < r.pgoff || pgoff > pgoff_end {
            continue;
        }
        let phys = ((pgoff - r.pgoff) << PAGE_SHIFT).wrapping_add(r.start);
        if phys.wrapping_add(size).wrapping_sub(1) <= r.end {
            return Some(phys);
        }
        break;
    }
    None
}

/// The size a fault handler of order `order` serves, or `None` for an
/// order device-dax does not handle (SIGBUS).
#[inline]
pub fn fault_size(order: u32) -> Option<u64> {
    match order {
        0 => Some(PAGE_SIZE),
        PMD_ORDER => Some(PMD_SIZE),
        PUD_ORDER => Some(PUD_SIZE),
        _ => None,
    }
}

/// What the fault handler of one size does, after `check_vma` passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPlan {
    /// Insert `size` bytes at `address` (aligned down to `size`) from the
    /// device's page `pgoff` on.
    Insert {
        /// The first virtual address of the entry.
        address: u64,
        /// The device page offset it maps.
        pgoff: u64,
        /// PAGE_SIZE, PMD_SIZE or PUD_SIZE.
        size: u64,
    },
    /// VM_FAULT_FALLBACK: the device's pages are smaller; the core retries
    /// with a smaller order.
    Fallback,
    /// VM_FAULT_SIGBUS.
    SigBus(SigBusReason),
}

/// Why a fault gets SIGBUS before a page offset is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigBusReason {
    /// An order other than 0, PMD_ORDER and PUD_ORDER.
    Order,
    /// The device's alignment is larger than the fault size
    /// ("alignment (%#x) > fault size (%#x)", a debug message).
    AlignTooLarge,
    /// A PTE fault on a device whose alignment is not PAGE_SIZE.
    SizeMismatch,
    /// The huge page would reach outside the VMA.
    OutsideVma,
}

/// The fault handlers' decisions (`__dev_dax_pte_fault`,
/// `__dev_dax_pmd_fault`, `__dev_dax_pud_fault` after their `check_vma`):
/// a fault of `order` at `address` in `vma`, whose page offset the core
/// computed as `vmf_pgoff`, on a device with `align`. `pud_supported` is
/// CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD (without it PUD faults fall
/// back).
#[inline(always)]
pub fn plan_fault(order: u32, align: u64, address: u64, vmf_pgoff: u64, vma: &Vma, pud_supported: bool) -> FaultPlan {
    let Some(size) = fault_size(order) else {
        return FaultPlan::SigBus(SigBusReason::Order);
    };
    if size == PUD_SIZE && !pud_supported {
        return FaultPlan::Fallback;
    }
    if align > size {
        return FaultPlan::SigBus(SigBusReason::AlignTooLarge);
    }
    if size == PAGE_SIZE {
        // C: `fault_size != dev_dax->align` (an align below PAGE_SIZE).
        if size != align {
            return FaultPlan::SigBus(SigBusReason::SizeMismatch);
        }
        return FaultPlan::Insert { address, pgoff: vmf_pgoff, size };
    }
    if size > align {
        return FaultPlan::Fallback;
    }
    let base = address & !(size - 1);
    if base < vma.start || base.wrapping_add(size) > vma.end {
        return FaultPlan::SigBus(SigBusReason::OutsideVma);
    }
    FaultPlan::Insert { address: base, pgoff: linear_page_index(vma, base), size }
}

/// `dev_pagemap.vmemmap_shift` for a device with `align`: struct pages of
/// one `align` unit form one compound page.
pub fn vmemmap_shift(align: u64) -> u32 {
    if align > PAGE_SIZE {
        order_base_2(align >> PAGE_SHIFT)
    } else {
        0
    }
}

/// `order_base_2`: log2 rounded up (0 for 0 and 1).
pub fn order_base_2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// `dax_set_mapping`'s walk over an inserted entry of `fault_size` at
/// `address`: how many of its pages get their `mapping` and `index` set,
/// from its first page on, and the first page's index. With compound pages
/// (`vmemmap_shift` non-zero) only the head is set.
#[inline(always)]
pub fn set_mapping_span(fault_size: u64, vmemmap_shift: u32, vma: &Vma, address: u64) -> (u64, u64) {
    let nr_pages = if vmemmap_shift != 0 { 1 } else { fault_size / PAGE_SIZE };
    let index = linear_page_index(vma, address & !(fault_size - 1));
    (nr_pages, index)
}

/// C's `dev_dax_may_split`: a VMA may be split at `addr` only on an
/// `align` boundary (EINVAL otherwise): munmap, mprotect and mremap of part
/// of a huge mapping are refused.
pub fn may_split(align: u64, addr: u64) -> Result<(), i32> {
    if addr & align.wrapping_sub(1) != 0 {
        Err(errno::EINVAL)
    } else {
        Ok(())
    }
}

/// `IS_ERR_VALUE` of an address returned by `get_unmapped_area`.
pub fn is_err_value(addr: u64) -> bool {
    addr >= MAX_ERRNO.wrapping_neg()
}

/// The first step of C's `dax_get_unmapped_area`: for a request without a
/// hint (`addr` 0) of `len` bytes at file page `pgoff`, the length to ask
/// the mm for so that an `align`ed spot fits (`len + align`), or `None`
/// when the plain request is made (a hint, a mapping holding no whole
/// aligned unit, or an overflow).
pub fn unmapped_area_len(align: u64, addr: u64, len: u64, pgoff: u64) -> Option<u64> {
    if addr != 0 {
        return None;
    }
    let off = pgoff.wrapping_shl(PAGE_SHIFT);
    let off_end = off.wrapping_add(len);
    let off_align = round_up(off, align);
    if off_end <= off_align || off_end.wrapping_sub(off_align) < align {
        return None;
    }
    let len_align = len.wrapping_add(align);
    if off.wrapping_add(len_align) < off {
        return None;
    }
    Some(len_align)
}

/// The second step: the address inside the larger area the mm gave
/// (`addr_align`, not an error) at which the file offset `pgoff` lands on
/// an `align` boundary's congruence.
pub fn unmapped_area_place(align: u64, pgoff: u64, addr_align: u64) -> u64 {
    let off = pgoff.wrapping_shl(PAGE_SHIFT);
    addr_align.wrapping_add(off.wrapping_sub(addr_align) & align.wrapping_sub(1))
}

/// C's `round_up` for a power-of-two `y`, wrapping as `unsigned long`.
pub fn round_up(x: u64, y: u64) -> u64 {
    (x.wrapping_sub(1) | y.wrapping_sub(1)).wrapping_add(1)
}

/// Why `dev_dax_probe` refuses a device before mapping it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeRefusal {
    /// A static dev_dax (its pgmap given by the region's driver) with more
    /// than one range: "static pgmap / multi-range device conflict".
    StaticMultiRange,
    /// A dynamic dev_dax that already has a pgmap: "dynamic-dax with
    /// pre-populated page map".
    DynamicWithPgmap,
}

/// `dev_dax_probe`'s first checks (both EINVAL).
pub fn check_probe(is_static: bool, nr_range: usize, has_pgmap: bool) -> Result<(), ProbeRefusal> {
    if is_static {
        if nr_range > 1 {
            return Err(ProbeRefusal::StaticMultiRange);
        }
    } else if has_pgmap {
        return Err(ProbeRefusal::DynamicWithPgmap);
    }
    Ok(())
}

/// Where the struct pages of a dev_dax are, relative to its ranges: the
/// distance from the device's last range to the end of its page map
/// (`pgmap.range.end - ranges[last].range.end`, wrapping). Zero when the
/// two are the same memory (real hardware, and every dynamic dev_dax); on
/// nfit_test the page map covers the physical backing of the emulated
/// range, and both end at the end of the namespace (dax_pmem only moves
/// the start by the info block's `dataoff`).
#[inline]
pub fn backing_distance(pgmap_end: u64, last_range_end: u64) -> u64 {
    pgmap_end.wrapping_sub(last_range_end)
}

/// The page frame number of device physical address `phys`, moved by the
/// backing distance.
#[inline]
pub fn phys_to_pfn(phys: u64, distance: u64) -> u64 {
    phys.wrapping_add(distance) >> PAGE_SHIFT
}
