// SPDX-License-Identifier: GPL-2.0
//! nd_pmem: /dev/pmemN, a block device (and DAX device) over each enabled
//! pmem namespace.
//!
//! Bios are served in the submitting thread with plain memory copies:
//! reads through a machine-check-safe copy, writes around the CPU cache.
//! REQ_PREFLUSH flushes the region before the data, REQ_FUA after it (a
//! region whose provider flushes asynchronously, virtio_pmem, ends such a
//! bio from its own flush work).
//! Known poison (the namespace's bad blocks) fails reads with EIO; writes
//! ask the platform to clear it first. Documentation/pmem.md says why the
//! driver is bio-based.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

use glue::block::{Badblocks, Bio, Disk, DiskConfig, DiskOps, DiskVtable, Segment, SECTOR_SIZE};
use glue::dax::{DaxAccess, DaxExtent, DaxOps, DaxSettings, RecoveryWrite, ehwpoison};
use glue::device::Device;
use abi::btt::BttAttachment;
use abi::namespace::{FuaFlush, Namespace, NamespaceInfo, NamespaceKind, PfnConfig};
use abi::namespace::ExternalRegistration;
use glue::nd_driver::{nd_device::{NAMESPACE_IO as ND_DEVICE_NAMESPACE_IO, NAMESPACE_PMEM as ND_DEVICE_NAMESPACE_PMEM}, NdBoundDriver, NdDriver, NdEvent};
use glue::pmem_map::{MemRegion, PmemMap};

module! {
    type: NdPmemModule,
    name: "nd_pmem",
    author: "rust-libnvdimm developers",
    description: "NVDIMM Persistent Memory Driver, in Rust",
    license: "GPL v2",
    alias: ["pmem", "nd:t4*", "nd:t5*"],
}

const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

static ND_PMEM_DRIVER: NdDriver = NdDriver::new_bound::<NdPmem>(
    c"nd_pmem",
    (1 << ND_DEVICE_NAMESPACE_IO) | (1 << ND_DEVICE_NAMESPACE_PMEM),
);
static PMEM_FOPS: DiskVtable<Pmem> = DiskVtable::new();

struct NdPmemModule {
    _driver: ExternalRegistration,
}

impl kernel::Module for NdPmemModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        PMEM_FOPS.set_owner(module)?;
        Ok(Self { _driver: ND_PMEM_DRIVER.register_external(module)? })
    }
}

/// What the I/O paths use: the disk's private data.
#[pin_data]
struct Pmem {
    /// The bound namespace: region flushes and poison clearing.
    ns: Arc<Namespace>,
    /// Physical start of the mapping: the namespace's, or the pfn's mapped
    /// range (namespace start + start_pad).
    phys: u64,
    /// Bytes of the namespace.
    size: u64,
    /// Where the data starts in the mapping (a pfn's `dataoff`: after its
    /// info block and, for `-M dev`, its memmap).
    data_offset: u64,
    /// Bytes of the namespace outside the pfn's mapped range.
    pfn_pad: u64,
    #[pin]
    bb: Badblocks,
    /// Dropped before the reservation it maps.
    map: PmemMap,
    _reservation: Option<MemRegion>,
}

impl Pmem {
    fn device(&self) -> &Device {
        self.ns.device()
    }

    /// `direct_access` on a disk with bad blocks: poisoned pages fail
    /// unless a recovery write is about to clear them, and the extent
    /// never reaches past what was asked for.
    #[cold]
    #[inline(never)]
    fn direct_access_badblocks(&self, offset: u64, nr_pages: i64, mode: DaxAccess) -> Result<DaxExtent> {
        let extent = self.map.dax_extent(offset)?;
        let sector = (offset - self.data_offset) / SECTOR_SIZE;
        let sectors = (nr_pages.max(0) as u64).saturating_mul(PAGE_SIZE) / SECTOR_SIZE;
        let Some((first_bad, _)) = self.bb.check(sector, sectors) else {
            // Bad blocks elsewhere: promise only what was asked for.
            return Ok(extent.with_pages(nr_pages));
        };
        if mode != DaxAccess::RecoveryWrite {
            return Err(ehwpoison());
        }
        // Recover a page at a time up to the poison: clearing large chunks
        // is not reliable on every platform.
        let good = ((first_bad - sector) * SECTOR_SIZE).div_ceil(PAGE_SIZE);
        dev_dbg!(
            self.device(),
            "start sector({sector}), nr_pages({nr_pages}), first_bad({first_bad}), actual_nr({good})\n"
        );
        Ok(extent.with_pages(good.max(1) as i64))
    }

    /// Sector of the disk that byte `off` of the namespace holds.
    fn to_sector(&self, off: u64) -> u64 {
        (off - self.data_offset) / SECTOR_SIZE
    }

    /// Asks the platform to clear poison in `[off, off + len)` of the
    /// namespace; bytes cleared. Cleared lines are dropped from the cache
    /// so that reads see the media.
    fn clear_poison_raw(&self, off: u64, len: u64) -> Result<u64> {
        let cleared = self.ns.clear_poison(self.phys + off, len)?;
        if cleared > 0 {
            // With CONFIG_MEMORY_FAILURE the pages would also be made
            // present again here; this kernel has no HWPoison.
            self.map.invalidate(off, len)?;
        }
        Ok(cleared)
    }

    /// `pmem_clear_poison`: EIO unless all of it was cleared.
    fn clear_poison(&self, off: u64, len: u64) -> Result {
        let cleared = self.clear_poison_raw(off, len).map_err(|_| EIO)?;
        self.bb.clear(self.to_sector(off), cleared / SECTOR_SIZE);
        if cleared < len {
            return Err(EIO);
        }
        Ok(())
    }

    fn read(&self, seg: &mut Segment<'_>) -> Result {
        if self.bb.is_bad(seg.pos() / SECTOR_SIZE, seg.len() as u64) {
            return Err(EIO);
        }
        self.map.read_into(self.data_offset + seg.pos(), seg)
    }

    fn write(&self, seg: &Segment<'_>) -> Result {
        let off = self.data_offset + seg.pos();
        if self.bb.is_bad(seg.pos() / SECTOR_SIZE, seg.len() as u64) {
            self.clear_poison(off, seg.len() as u64)?;
        }
        self.map.write_from(off, seg)
    }

    /// Adds the namespace's known bad ranges to the list.
    fn populate_badblocks(&self) -> Result {
        let first = self.data_offset / SECTOR_SIZE;
        let end = first + (self.size - self.pfn_pad - self.data_offset) / SECTOR_SIZE;
        self.ns.for_each_bad_range(|sector, count| {
            // Only what lies in the data area, relative to its start.
            let (s, e) = (sector.max(first), sector.saturating_add(count).min(end));
            if s < e {
                self.bb.set(s - first, e - s);
            }
        })
    }
}

impl DiskOps for Pmem {
    fn submit_bio(&self, bio: Bio<'_>) {
        if bio.preflush() {
            if let Err(e) = self.ns.flush() {
                return bio.complete(Err(e));
            }
        }
        let accounting = bio.account();
        let write = bio.is_write();
        let mut status = Ok(());
        for mut seg in bio.segments() {
            status = if write { self.write(&seg) } else { self.read(&mut seg) };
            if status.is_err() {
                break;
            }
        }
        drop(accounting);
        if status.is_ok() && bio.fua() {
            // The region's provider may end the bio from its own flush
            // work (virtio_pmem); this thread is then done with it.
            return match self.ns.flush_fua(bio.into_pending()) {
                FuaFlush::Queued => (),
                FuaFlush::Done(bio, status) => bio.complete(status),
            };
        }
        bio.complete(status);
    }

    fn badblocks(&self) -> Option<&Badblocks> {
        Some(&self.bb)
    }
}

impl DaxOps for Pmem {
    // Called once per DAX read, write or fault: kept inline in the glue's
    // entry, with the bad-block path out of line.
    #[inline(always)]
    fn direct_access(&self, pgoff: u64, nr_pages: i64, mode: DaxAccess) -> Result<DaxExtent> {
        // Pages past the disk's end (or past the address space) are not
        // the disk's: EIO, as the mapping answers for bytes outside it.
        let pos = pgoff.checked_mul(PAGE_SIZE).ok_or(EIO)?;
        let offset = pos.checked_add(self.data_offset).ok_or(EIO)?;
        if !self.bb.is_empty() {
            return self.direct_access_badblocks(offset, nr_pages, mode);
        }
        let extent = self.map.dax_extent(offset)?;
        let avail = (self.size - self.pfn_pad).checked_sub(offset).ok_or(EIO)?;
        Ok(extent.with_pages((avail / PAGE_SIZE) as i64))
    }

    fn zero_page_range(&self, pgoff: u64, nr_pages: u64) -> Result {
        let pos = pgoff * PAGE_SIZE;
        let len = nr_pages * PAGE_SIZE;
        let off = self.data_offset + pos;
        if self.bb.is_bad(pos / SECTOR_SIZE, len) {
            self.clear_poison(off, len)?;
        }
        self.map.write_zeroes(off, len)
    }

    fn recovery_write(&self, pgoff: u64, w: RecoveryWrite<'_>) -> usize {
        let page_off = w.page_offset() as u64;
        let len = (page_off + w.len() as u64).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        if !self.bb.is_bad(pgoff * PAGE_SIZE / SECTOR_SIZE, len) {
            return w.copy();
        }
        // Poison is cleared a page at a time; a partial page cannot be.
        if page_off != 0 || w.len() as u64 % PAGE_SIZE != 0 {
            dev_dbg!(self.device(), "Found poison, but offset({page_off:#x}) or bytes({:#x}) not page aligned\n", w.len());
            return 0;
        }
        let off = pgoff * PAGE_SIZE + self.data_offset;
        let cleared = match self.clear_poison_raw(off, len) {
            Ok(c) => c,
            Err(e) => {
                dev_dbg!(self.device(), "poison clear failed: {}\n", e.to_errno());
                return 0;
            }
        };
        if cleared > 0 && cleared < len {
            dev_dbg!(self.device(), "poison cleared only {cleared} out of {len} bytes\n");
            return 0;
        }
        let written = w.copy();
        // Readers keep failing until the data is in place.
        self.bb.clear(self.to_sector(off), cleared / SECTOR_SIZE);
        written
    }
}

/// A binding of nd_pmem to a namespace, or to a btt device (whose disk
/// is nd_btt's).
struct Binding {
    disk: Option<Disk<Pmem>>,
    btt: Option<BttAttachment>,
    ns: Arc<Namespace>,
    region_id: u32,
}

impl Binding {
    /// `nvdimm_check_and_set_ro`: the disk follows the region's read-only state.
    fn check_and_set_ro(&self) {
        let Some(disk) = &self.disk else { return };
        let ro = self.ns.read_only();
        if disk.read_only() == ro {
            return;
        }
        let rw = if ro { "only" } else { "write" };
        dev_info!(self.ns.device(), "region{} read-{rw}, marking {} read-{rw}\n", self.region_id, disk.name().to_str().unwrap_or("?"));
        disk.set_read_only(ro);
    }
}

impl Drop for Binding {
    fn drop(&mut self) {
        // The disk first: no bio is in flight after it is gone.
        drop(self.disk.take());
        // `nvdimm_namespace_detach_btt`.
        drop(self.btt.take());
        let _ = self.ns.flush();
    }
}

struct NdPmem;

impl NdBoundDriver for NdPmem {
    type Data = Binding;

    fn probe(dev: &Device) -> Result<Pin<KBox<Binding>>> {
        let (ns, info) = Namespace::probe(dev)?;
        let ns = Arc::new(ns, GFP_KERNEL)?;
        let region_id = info.region_id;
        if let NamespaceKind::Btt(_) = info.kind {
            // `nvdimm_namespace_attach_btt`: nd_btt builds the disk.
            let btt = BttAttachment::attach(dev)?;
            return Ok(KBox::pin(Binding { disk: None, btt: Some(btt), ns, region_id }, GFP_KERNEL)?);
        }
        let disk = attach_disk(dev, &ns, info)?;
        let binding = KBox::pin(Binding { disk: Some(disk), btt: None, ns, region_id }, GFP_KERNEL)?;
        binding.check_and_set_ro();
        Ok(binding)
    }

    fn notify(_dev: &Device, b: &Binding, event: NdEvent) {
        match event {
            _ if b.btt.is_some() => {
                if let Some(btt) = &b.btt {
                    btt.notify(event);
                }
            }
            NdEvent::RevalidatePoison => {
                if let Some(pmem) = b.disk.as_ref().map(|d| d.data()) {
                    let _ = pmem.populate_badblocks();
                    pmem.bb.notify();
                }
            }
            NdEvent::RevalidateRegion => b.check_and_set_ro(),
        }
    }

    fn shutdown(_dev: &Device, b: &Binding) {
        let _ = b.ns.flush();
    }
}

/// `pmem_attach_disk` for a raw namespace or a pfn device.
fn attach_disk(dev: &Device, ns: &Arc<Namespace>, info: NamespaceInfo) -> Result<Disk<Pmem>> {
    let fua = match info.has_flush {
        Ok(needed) => needed,
        Err(_) => {
            dev_warn!(dev, "unable to guarantee persistence of writes\n");
            false
        }
    };
    let (start, size) = (info.start, info.size);
    let pfn = match info.kind {
        NamespaceKind::Pfn(cfg) => Some(cfg),
        _ => None,
    };
    let (reservation, map) = match (info.provider_map, &pfn) {
        // An emulated platform's range: struct pages go to the physical
        // memory behind it, if it has some (nfit_test over a `memmap=`
        // reservation); vmalloc memory has none to give them to.
        (Some(p), Some(cfg)) => {
            let eopnotsupp = Error::from_errno(-(glue::bindings::EOPNOTSUPP as i32));
            let Some(backing) = p.backing_phys() else {
                dev_err!(dev, "pfn mode: the emulated range has no physical backing for struct pages\n");
                return Err(eopnotsupp);
            };
            let Some(moved) = cfg.relocated(backing.wrapping_sub(start)) else {
                dev_err!(dev, "pfn mode: the physical backing at {:#x} breaks the 2 MiB layout of {:#x}\n", backing, start);
                return Err(eopnotsupp);
            };
            // The provider holds the backing's iomem range: nothing to request.
            (None, map_pfn(moved.range_start, &moved, info.numa_node)?)
        }
        // An emulated platform's memory: not in iomem, already mapped.
        (Some(p), None) => (None, PmemMap::provided(p, start, size)),
        (None, _) => {
            let reservation = MemRegion::request(dev, start, size).inspect_err(|_| {
                dev_warn!(dev, "could not reserve region [mem {:#x}-{:#x} flags 0x200]\n", start, start + size - 1);
            })?;
            let map = match &pfn {
                Some(cfg) => map_pfn(cfg.range_start, cfg, info.numa_node)?,
                None if info.map_pages => PmemMap::with_pages(start, size, info.numa_node, None, 0)?,
                None => PmemMap::remap(start, size)?,
            };
            (Some(reservation), map)
        }
    };
    let dax = pfn.is_some() || info.map_pages;
    let (phys, data_offset, pfn_pad) = match &pfn {
        Some(cfg) => (cfg.range_start, cfg.data_offset, cfg.pfn_pad),
        None => (start, 0, 0),
    };
    let pmem = try_pin_init!(Pmem {
        ns: ns.clone(),
        phys,
        size,
        data_offset,
        pfn_pad,
        bb <- Badblocks::new(),
        map,
        _reservation: reservation,
    }? Error)
    .pin_chain(|pmem| pmem.populate_badblocks());
    let cfg = DiskConfig {
        name: info.disk_name.as_cstr(),
        capacity_sectors: (size - pfn_pad - data_offset) / SECTOR_SIZE,
        logical_block_size: info.sector_size,
        physical_block_size: PAGE_SIZE as u32,
        max_integrity_segments: 0,
        integrity_tuple_size: 0,
        numa_node: info.numa_node,
        write_cache: true,
        fua,
        synchronous: true,
        dax,
    };
    let dax = DaxSettings { nocache: true, nomc: true, synchronous: info.sync, write_cache: info.has_cache };
    let disk = Disk::add_with_dax(dev, &PMEM_FOPS, cfg, dax, pmem)?;
    // Memory failures in the pages reach the file system mounted on the
    // disk (C's `fsdax_pagemap_ops`).
    if let Some(d) = disk.dax_ref() {
        disk.data().map.report_failures_to(d);
    }
    Ok(disk)
}

/// The pfn mode's mapping (C: `devm_memremap_pages` of the pfn's
/// `pgmap`): `[phys, phys + range_len)` with struct pages, allocated from
/// the namespace through the altmap for `-M dev`, in RAM for `-M mem`.
/// `phys` is where the mapped range is in physical memory: the range the
/// info block describes on real memory (an emulated platform would pass
/// its backing's address).
fn map_pfn(phys: u64, cfg: &PfnConfig, node: i32) -> Result<PmemMap> {
    PmemMap::with_pages(phys, cfg.range_len(), node, cfg.altmap.as_ref(), cfg.data_offset)
}

