// SPDX-License-Identifier: GPL-2.0
//! device_dax: the dev_dax driver of the kernel's dax bus (C's
//! drivers/dax/device.c). It maps a dev_dax's memory with struct pages
//! (MEMORY_DEVICE_GENERIC, compound pages of the device's `align`) and
//! serves /dev/daxX.Y: shared mappings only, aligned to `align`, filled by
//! PTE, PMD or PUD faults of exactly that size.
//!
//! It is a driver of the dax bus only: it does not depend on libnvdimm
//! (daxctl loads it for dax devices of any origin). The decisions are
//! formats::devdax's; the kernel objects are glue/dax_driver.rs's. The
//! struct pages may lie at a distance from the device's physical addresses
//! (nfit_test's emulated ranges; see glue/dax_driver.rs): every pfn is the
//! device address moved by `DevDax::backing_distance`.

// Module code is safe Rust: `unsafe` lives only in glue/ (Documentation/layout.md).
#![deny(unsafe_code)]

use kernel::prelude::*;

// The dax bus part of the glue only: the rest calls libnvdimm's helpers.
#[path = "../glue/dax_glue.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

use formats::devdax::{self, FaultPlan, ProbeRefusal, VmaRefusal};
use glue::dax_driver::{
    AreaRequest, DaxDriver, DaxDriverOps, DaxDriverRegistration, DaxDriverType, DaxFile, DaxFileOps, DaxReadGuard,
    DevDax, Fault, ProbingDevDax, Vma, VmaNew, VmFault, PUD_FAULTS,
};

module! {
    type: DeviceDaxModule,
    name: "device_dax",
    author: "rust-libnvdimm developers",
    description: "Device DAX: direct access device driver, in Rust",
    license: "GPL v2",
    alias: ["dax:t0*"],
}

static DEVICE_DAX_DRIVER: DaxDriver = DaxDriver::new::<DeviceDax>(c"device_dax", DaxDriverType::Device);
static DAX_FOPS: DaxFileOps<DeviceDax> = DaxFileOps::new();

struct DeviceDaxModule {
    _driver: DaxDriverRegistration,
}

impl kernel::Module for DeviceDaxModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _driver: DEVICE_DAX_DRIVER.register(&DAX_FOPS, module)? })
    }
}

/// The driver and its files; a binding has no state of its own beyond the
/// dev_dax (everything it sets up is device-managed).
struct DeviceDax;

impl DaxDriverOps for DeviceDax {
    fn probe(dev: &ProbingDevDax<'_>) -> Result {
        match devdax::check_probe(dev.is_static(), dev.nr_range(), dev.has_pgmap()) {
            Ok(()) => {}
            Err(ProbeRefusal::StaticMultiRange) => {
                dev.warn(format_args!("static pgmap / multi-range device conflict\n"));
                return Err(EINVAL);
            }
            Err(ProbeRefusal::DynamicWithPgmap) => {
                dev.warn(format_args!("dynamic-dax with pre-populated page map\n"));
                return Err(EINVAL);
            }
        }
        if let Err((i, r)) = dev.request_ranges() {
            dev.warn(format_args!("mapping{}: {:#x}-{:#x} could not reserve range\n", i, r.start, r.end));
            return Err(EBUSY);
        }
        dev.memremap_pages(devdax::vmemmap_shift(dev.align()))?;
        dev.add_cdev(&DAX_FOPS)?;
        dev.run()
    }
}

/// C's `check_vma`, with its log lines; `func` is the C function whose
/// check it is (the log names it).
fn check_vma(dev: &DevDax, alive: bool, vma: &Vma, func: &str) -> Result<(), VmaRefusal> {
    let view = vma.view();
    devdax::check_vma(alive, dev.align(), &view).inspect_err(|&r| log_refusal(dev, r, view.start, view.end, func))
}

/// `check_vma`'s log line for `refusal` of the VMA `start..end` (none for
/// a dead device). Out of line: the fault path only branches to it.
#[cold]
#[inline(never)]
fn log_refusal(dev: &DevDax, refusal: VmaRefusal, start: u64, end: u64, func: &str) {
    match refusal {
        VmaRefusal::Dead => {}
        VmaRefusal::Private => {
            dev.info_ratelimited(0, format_args!("{}: fail, attempted private mapping\n", func))
        }
        VmaRefusal::Unaligned => dev.info_ratelimited(
            1,
            format_args!(
                "{}: fail, unaligned vma ({:#x} - {:#x}, {:#x})\n",
                func,
                start,
                end,
                dev.align().wrapping_sub(1)
            ),
        ),
        VmaRefusal::NotDax => dev.info_ratelimited(2, format_args!("{}: fail, vma is not DAX capable\n", func)),
    }
}

/// The name of C's handler for a fault of `order`, as check_vma logs it.
fn handler_name(order: u32) -> &'static str {
    match order {
        devdax::PMD_ORDER => "__dev_dax_pmd_fault",
        devdax::PUD_ORDER => "__dev_dax_pud_fault",
        _ => "__dev_dax_pte_fault",
    }
}

/// C's `dev_dax_huge_fault` with the handler of `order` (`fault` is order
/// 0): under the dax read lock, `check_vma`, the plan of formats::devdax,
/// the device pages checked once (`LiveDevDax::pfns`), their mapping and
/// the insert. Inlined into each entry point, so that the PTE fault is one
/// function whose only calls are the kernel's (C's also calls its own
/// `check_vma`, `dax_pgoff_to_phys` and `dax_set_mapping`).
#[inline(always)]
fn serve_fault(dev: &DevDax, vmf: &Fault<'_>, order: u32) -> VmFault {
    let guard = DaxReadGuard::lock();
    // C's PUD handler without PUD support falls back before any check.
    if order == devdax::PUD_ORDER && !PUD_FAULTS {
        return VmFault::FALLBACK;
    }
    // Orders other than 0, PMD and PUD: SIGBUS without a check.
    if devdax::fault_size(order).is_none() {
        return VmFault::SIGBUS;
    }
    // check_vma: a dead device first, without a log line.
    let Some(dev) = dev.live(&guard) else {
        return VmFault::SIGBUS;
    };
    let vma = vmf.vma();
    let view = vma.view();
    let align = dev.align();
    if let Err(r) = devdax::check_vma(true, align, &view) {
        log_refusal(&dev, r, view.start, view.end, handler_name(order));
        return VmFault::SIGBUS;
    }
    let (address, pgoff, size) =
        match devdax::plan_fault(order, align, vmf.address(), vmf.pgoff(), &view, PUD_FAULTS) {
            FaultPlan::Insert { address, pgoff, size } => (address, pgoff, size),
            FaultPlan::Fallback => return VmFault::FALLBACK,
            FaultPlan::SigBus(_) => return VmFault::SIGBUS,
        };
    let Some(phys) = devdax::pgoff_to_phys(dev.ranges(), pgoff, size) else {
        return VmFault::SIGBUS;
    };
    let Some(pages) = dev.pfns(phys, order) else {
        return VmFault::SIGBUS;
    };
    // dax_set_mapping: the head page only when pages are compound.
    let (nr_pages, index) = devdax::set_mapping_span(size, dev.vmemmap_shift(), &view, address);
    vmf.set_mapping(&pages, nr_pages, index);
    vmf.insert(pages, vmf.is_write())
}

impl DaxFile for DeviceDax {
    fn mmap(dev: &DevDax, vma: &VmaNew<'_>) -> Result {
        // Liveness is checked under the lock here and again at fault time.
        {
            let guard = DaxReadGuard::lock();
            let alive = dev.live(&guard).is_some();
            check_vma(dev, alive, vma, "dax_mmap").map_err(|r| Error::from_errno(-r.errno()))?;
        }
        vma.set_hugepage();
        Ok(())
    }

    fn get_unmapped_area(dev: Option<&DevDax>, req: &AreaRequest) -> u64 {
        if let Some(dev) = dev {
            let align = dev.align();
            if let Some(len_align) = devdax::unmapped_area_len(align, req.addr, req.len, req.pgoff) {
                let addr = req.mm_get_unmapped_area(len_align);
                if !devdax::is_err_value(addr) {
                    return devdax::unmapped_area_place(align, req.pgoff, addr);
                }
            }
        }
        req.mm_get_unmapped_area(req.len)
    }

    #[inline]
    fn fault(dev: &DevDax, vmf: &Fault<'_>) -> VmFault {
        serve_fault(dev, vmf, 0)
    }

    #[inline]
    fn huge_fault(dev: &DevDax, vmf: &Fault<'_>, order: u32) -> VmFault {
        // One copy of the path per size, each with its order a constant.
        match order {
            devdax::PMD_ORDER => serve_fault(dev, vmf, devdax::PMD_ORDER),
            devdax::PUD_ORDER => serve_fault(dev, vmf, devdax::PUD_ORDER),
            _ => serve_fault(dev, vmf, order),
        }
    }

    fn may_split(dev: &DevDax, _vma: &Vma, addr: u64) -> Result {
        devdax::may_split(dev.align(), addr).map_err(|e| Error::from_errno(-e))
    }

    fn pagesize(dev: &DevDax, _vma: &Vma) -> u64 {
        dev.align()
    }
}
