// SPDX-License-Identifier: GPL-2.0
//! The BTT's view of its namespace: byte I/O counted from the BTT's start
//! (C's `arena_read_bytes`/`arena_write_bytes`, which add
//! `nd_btt->initial_offset`), the namespace's known poison, and the
//! region's lanes.

use kernel::alloc::allocator::Vmalloc;
use kernel::prelude::*;

use crate::abi::namespace::{Lane, Namespace, NamespaceIo, WriteFlags};
use crate::glue::block::{Badblocks, SECTOR_SIZE};
use crate::glue::boxed::zeroed_vec;
use crate::glue::device::Device;

/// Zeros for metadata initialisation and error clearing, without an
/// allocation on the I/O path.
static ZEROS: [u8; 16384] = [0; 16384];

/// The namespace under a BTT, from the BTT's first byte on.
pub(crate) struct Media {
    /// Byte access to the namespace (C: `devm_namespace_enable`); dropped
    /// before the handle it came from.
    io: NamespaceIo,
    ns: Namespace,
    /// Where the BTT starts in the namespace (4 KiB for v1.1, 0 for v2.0).
    base: u64,
    /// The namespace's known bad sectors, from its start, as the write path
    /// consults them to pick a free block that needs clearing first (C's
    /// `nsio->bb` through `btt_is_badblock`). Filled from libnvdimm's bad
    /// ranges at attach and on each poison event; sectors our own plain
    /// writes cleared leave it, as they leave C's.
    bb: Pin<KBox<Badblocks>>,
}

impl Media {
    /// Byte access to `size` bytes of the namespace of `ns`, the BTT
    /// starting `base` bytes in.
    pub(crate) fn new(ns: Namespace, size: u64, base: u64) -> Result<Self> {
        let io = ns.enable_io(size)?;
        let bb = KBox::pin_init(Badblocks::new(), GFP_KERNEL)?;
        let media = Self { io, ns, base, bb };
        media.revalidate_poison()?;
        Ok(media)
    }

    /// Adds the namespace's bad ranges as libnvdimm knows them now (C's
    /// `nvdimm_badblocks_populate` on the namespace's list).
    pub(crate) fn revalidate_poison(&self) -> Result {
        self.ns.for_each_bad_range(|sector, count| Badblocks::set(&self.bb, sector, count))
    }

    /// The namespace handle.
    pub(crate) fn ns(&self) -> &Namespace {
        &self.ns
    }

    /// The btt device, for messages.
    pub(crate) fn device(&self) -> &Device {
        self.ns.device()
    }

    /// Reads `buf.len()` bytes at `off` (C: `nvdimm_read_bytes`); known
    /// poison in the range fails it with EIO.
    #[inline]
    pub(crate) fn read(&self, off: u64, buf: &mut [u8]) -> Result {
        self.io.read_bytes(self.base + off, buf)
    }

    /// Writes `buf` at `off`, durably (C: `nvdimm_write_bytes`). A plain
    /// (non-`atomic`) write of whole 512-byte sectors clears known poison
    /// under it; an atomic one (the I/O path, NVDIMM_IO_ATOMIC) over
    /// poison fails with EIO.
    #[inline]
    pub(crate) fn write(&self, off: u64, buf: &[u8], atomic: bool) -> Result {
        let pos = self.base + off;
        let flags = if atomic { WriteFlags::Atomic } else { WriteFlags::Normal };
        self.io.write_bytes(pos, buf, flags)?;
        let len = buf.len() as u64;
        if !atomic && pos % SECTOR_SIZE == 0 && len % SECTOR_SIZE == 0 && !self.bb.is_empty() {
            // libnvdimm cleared whatever poison lay under it.
            self.bb.clear(pos / SECTOR_SIZE, len / SECTOR_SIZE);
        }
        Ok(())
    }

    /// Writes `len` zero bytes at `off` in writes of at most `chunk`
    /// bytes, each not atomic (it clears poison) and followed by a region
    /// flush, as C's loops write them (`btt_map_init`: 2 MiB,
    /// `btt_log_init` and `arena_clear_freelist_error`: 4 KiB). A chunk
    /// larger than [`ZEROS`] is zeroed memory allocated for the call (C
    /// kzallocs its 2 MiB).
    pub(crate) fn write_zeroes(&self, off: u64, len: u64, chunk: usize) -> Result {
        let n = (chunk as u64).min(len) as usize;
        let big;
        let zeros: &[u8] = if n <= ZEROS.len() {
            &ZEROS[..n]
        } else {
            big = zeroed_vec::<u8, Vmalloc>(n, GFP_KERNEL)?;
            &big
        };
        let mut done = 0;
        while done < len {
            let n = (len - done).min(zeros.len() as u64);
            self.write(off + done, &zeros[..n as usize], false)?;
            done += n;
        }
        Ok(())
    }

    /// Whether `len` bytes at `off` hold known poison (C's `btt_is_badblock`:
    /// `is_bad_pmem` on the namespace's list).
    #[inline]
    pub(crate) fn is_bad(&self, off: u64, len: u64) -> bool {
        self.bb.is_bad((self.base + off) / SECTOR_SIZE, len)
    }

    /// This CPU's lane of the region, held until the guard drops.
    #[inline]
    pub(crate) fn lane(&self) -> Result<Lane<'_>> {
        self.ns.acquire_lane()
    }
}
