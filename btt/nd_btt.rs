// SPDX-License-Identifier: GPL-2.0
//! nd_btt: the Block Translation Table, /dev/pmemNs over a namespace in
//! sector mode (C's drivers/nvdimm/btt.c).
//!
//! nd_pmem binds to btt devices (bttN.M) and hands them here through
//! abi/btt.rs (C's `nvdimm_namespace_attach_btt`). Attaching finds the
//! arenas on the namespace (`discover_arenas`) or writes new ones
//! (`create_arenas`, `btt_arena_write_layout`), rebuilds each arena's free
//! list and read tracking table from its flog (repairing a write that a
//! power cut interrupted), and adds the disk. The I/O paths are in io.rs,
//! the arenas in arena.rs, the namespace byte I/O in media.rs; what the
//! metadata means is formats::btt's.
//!
//! Sector sizes with metadata bytes (520, 528, 4104, 4160, 4224) store
//! 512 or 4096 bytes of data per sector; with CONFIG_BLK_DEV_INTEGRITY the
//! disk has an integrity profile without checksums whose tuples are those
//! bytes, which the I/O paths move between a bio's integrity payload and
//! the media right after each sector's data (C's `btt_rw_integrity`), for
//! bios that come with a payload: as in C, not the one the block layer
//! attaches to user I/O, so user I/O leaves the metadata bytes alone.
//! Without CONFIG_BLK_DEV_INTEGRITY they are always left alone.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]
#![recursion_limit = "256"]

use kernel::prelude::*;

#[path = "../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

mod arena;
mod io;
mod media;

use abi::btt::BttDriver;
use abi::namespace::{Namespace, NamespaceKind};
use arena::Arena;
use formats::btt::{arenas, BttVersion, Discovery, DiscoveryStep, ARENA_MIN_SIZE};
use glue::block::{Disk, DiskConfig, DiskVtable, SECTOR_SIZE};
use glue::device::Device;
use glue::nd_driver::NdEvent;
use io::Btt;
use media::Media;

module! {
    type: NdBttModule,
    name: "nd_btt",
    author: "rust-libnvdimm developers",
    description: "NVDIMM Block Translation Table, in Rust",
    license: "GPL v2",
    // C's MODULE_ALIAS_ND_DEVICE(ND_DEVICE_BTT) names a constant that no
    // header defines any more, and so expands to this string.
    alias: ["nd:tND_DEVICE_BTT*"],
}

static BTT_FOPS: DiskVtable<Btt> = DiskVtable::new();

struct NdBttModule;

impl kernel::Module for NdBttModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        BTT_FOPS.set_owner(module)?;
        Ok(Self)
    }
}

/// A BTT attached to a btt device: the disk, which owns the arenas.
struct Attached {
    disk: Disk<Btt>,
    region_id: u32,
}

impl Attached {
    fn ns(&self) -> &Namespace {
        self.disk.data().media.ns()
    }

    /// `nvdimm_check_and_set_ro`: the disk follows the region.
    fn check_and_set_ro(&self) {
        let ro = self.ns().read_only();
        if self.disk.read_only() == ro {
            return;
        }
        let rw = if ro { "only" } else { "write" };
        dev_info!(
            self.ns().device(),
            "region{} read-{rw}, marking {} read-{rw}\n",
            self.region_id,
            self.disk.name().to_str().unwrap_or("?")
        );
        self.disk.set_read_only(ro);
    }
}

struct NdBtt;
export_nd_btt!(NdBtt);

impl BttDriver for NdBtt {
    type Btt = Attached;

    /// `nvdimm_namespace_attach_btt`.
    fn attach(dev: &Device) -> Result<Pin<KBox<Attached>>> {
        let (ns, info) = Namespace::probe(dev)?;
        let NamespaceKind::Btt(cfg) = info.kind else {
            return Err(ENXIO);
        };
        let (Some(uuid), lbasize) = (cfg.uuid, cfg.lbasize) else {
            dev_dbg!(dev, "incomplete btt configuration\n");
            return Err(ENODEV);
        };
        if lbasize == 0 {
            dev_dbg!(dev, "incomplete btt configuration\n");
            return Err(ENODEV);
        }
        // `devm_namespace_enable` of the whole namespace.
        let base = u64::from(cfg.initial_offset);
        let media = Media::new(ns, info.size, base)?;
        // C calls `nd_btt_version` here again for its side effects and
        // ignores the result: a valid info block with the error flag is
        // logged once more ("Found arena with an error flag").
        if let Ok(block) = arena::read_info(&media, 0) {
            if formats::btt::InfoBlock::validate(&block, &cfg.parent_uuid).is_ok_and(|i| i.has_error()) {
                dev_info!(dev, "Found arena with an error flag\n");
            }
        }
        let rawsize = info.size.saturating_sub(base);
        if rawsize < ARENA_MIN_SIZE {
            dev_dbg!(dev, "namespace must be at least {} bytes\n", ARENA_MIN_SIZE + base);
            return Err(ENXIO);
        }
        let geo = Config {
            uuid,
            parent_uuid: cfg.parent_uuid,
            lbasize,
            version: if (cfg.version_major, cfg.version_minor) == BttVersion::V2_0.number() {
                BttVersion::V2_0
            } else {
                BttVersion::V1_1
            },
            num_lanes: info.num_lanes,
        };
        // C's btt_init() reports every failure as -ENOMEM.
        let (arenas, nlba) = btt_init(&media, rawsize, &geo, info.read_only, info.region_id).map_err(|_| ENOMEM)?;
        let sector_size = formats::btt::sector_size(lbasize);
        let meta_size = formats::btt::meta_size(lbasize);
        let btt = Btt { media, arenas, nlba, sector_size, meta_size };
        let disk_cfg = DiskConfig {
            name: info.disk_name.as_cstr(),
            capacity_sectors: nlba * u64::from(sector_size) / SECTOR_SIZE,
            logical_block_size: sector_size,
            physical_block_size: 0,
            max_integrity_segments: 1,
            // At most 128 (4224-byte sectors).
            integrity_tuple_size: u8::try_from(meta_size).map_err(|_| EINVAL)?,
            numa_node: glue::bindings::NUMA_NO_NODE,
            write_cache: false,
            fua: false,
            synchronous: true,
            dax: false,
        };
        let disk = Disk::add(dev, &BTT_FOPS, disk_cfg, btt).map_err(|e| {
            dev_err!(dev, "init: error in blk_init: {}\n", e.to_errno());
            ENOMEM
        })?;
        let attached = KBox::pin(Attached { disk, region_id: info.region_id }, GFP_KERNEL)?;
        attached.ns().set_btt_size(nlba * u64::from(sector_size))?;
        attached.check_and_set_ro();
        Ok(attached)
    }

    fn notify(btt: &Attached, event: NdEvent) {
        match event {
            // C repopulates the namespace's list (`nsio->bb`) that the
            // write path consults; libnvdimm's byte I/O keeps its own.
            NdEvent::RevalidatePoison => {
                let _ = btt.disk.data().media.revalidate_poison();
            }
            NdEvent::RevalidateRegion => btt.check_and_set_ro(),
        }
    }
}

/// What the btt device says about the BTT to find or make.
struct Config {
    uuid: [u8; 16],
    /// The namespace's uuid (zero for a label-less one).
    parent_uuid: [u8; 16],
    lbasize: u32,
    version: BttVersion,
    /// The region's lanes: every arena needs a free block per lane.
    num_lanes: u32,
}

/// C's `btt_init` up to the disk: the arenas on the media, or new ones.
fn btt_init(
    media: &Media,
    rawsize: u64,
    b: &Config,
    read_only: bool,
    region_id: u32,
) -> Result<(KVec<Arena>, u64)> {
    let dev = media.device();
    let sector_size = formats::btt::sector_size(b.lbasize);
    match discover_arenas(media, rawsize, b, sector_size) {
        Ok(Some(found)) => return Ok(found),
        Ok(None) => {}
        Err(e) => {
            dev_err!(dev, "init: error in arena_discover: {}\n", e.to_errno());
            return Err(e);
        }
    }
    if read_only {
        dev_warn!(dev, "region{} is read-only, unable to init btt metadata\n", region_id);
        return Err(EROFS);
    }
    let layouts = arenas(rawsize, b.lbasize).map_err(|e| Error::from_errno(-e.errno()))?;
    dev_dbg!(dev, "init: {} arenas for {} rawsize\n", rawsize.div_ceil(formats::btt::ARENA_MAX_SIZE), rawsize);
    let mut list = KVec::new();
    let mut nlba = 0;
    for lay in layouts {
        let arena = Arena::create(media, lay, sector_size, b.uuid, b.parent_uuid, b.version).inspect_err(|e| {
            dev_err!(dev, "init: error in meta_init: {}\n", e.to_errno());
        })?;
        nlba += u64::from(lay.external_nlba);
        list.push(arena, GFP_KERNEL)?;
    }
    Ok((list, nlba))
}

/// C's `discover_arenas`: `None` when the namespace holds no BTT yet.
fn discover_arenas(
    media: &Media,
    rawsize: u64,
    b: &Config,
    sector_size: u32,
) -> Result<Option<(KVec<Arena>, u64)>> {
    let dev = media.device();
    let mut walk = Discovery::new(rawsize);
    let mut list = KVec::new();
    while let Some(off) = walk.next_info_offset() {
        let block = arena::read_info(media, off)?;
        let lay = match walk.accept(&block, &b.parent_uuid) {
            Ok(DiscoveryStep::NotFound) => {
                dev_info!(dev, "No existing arenas\n");
                return Ok(None);
            }
            Ok(DiscoveryStep::Arena(lay)) => lay,
            Err(e) => {
                dev_err!(dev, "Found corrupted metadata!\n");
                return Err(Error::from_errno(-e.errno()));
            }
        };
        arena::note_error_flag(media, &lay);
        // Beyond C, which trusts the offsets until an I/O runs off the
        // namespace: an arena that does not fit is corrupt.
        if lay.check_bounds(rawsize).is_err() {
            dev_err!(dev, "Found corrupted metadata!\n");
            return Err(ENODEV);
        }
        list.push(Arena::load(media, lay, sector_size, b.num_lanes)?, GFP_KERNEL)?;
    }
    Ok(Some((list, walk.nlba())))
}
