// SPDX-License-Identifier: GPL-2.0
//! What btt, pfn and dax devices share about claiming a namespace (C's
//! `claim.c`): the claim itself and its `namespace` attribute
//! (`nd_namespace_store`), the `size` and `resource` of a disabled one, and the
//! byte access to a namespace that the personality drivers and their
//! probes use (`devm_nsio_enable`, `nsio_rw_bytes`).
//!
//! A personality device claims a namespace when its `namespace` attribute
//! names one, or when `nd_pmem` finds the personality's info block on a raw
//! namespace. The claimer holds a reference on the namespace; the namespace
//! records who claims it (`holder`) without one.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;

use crate::abi::provider::MediaFault;
use crate::formats::label::ClaimClass;
use crate::glue::block::{Badblocks, SECTOR_SIZE};
use crate::glue::device::{Device, DeviceRef};
use crate::glue::pmem_map::{MemRegion, PmemMap};
use crate::glue::sysfs::{self, Page};
use crate::namespace::{Holder, HolderKind, Namespace};
use crate::region::{self, Region};
use crate::{dev_dbg, dev_err, dev_warn};

/// C's `nd_info_block_reserve()`: what nd_pmem enables of a raw namespace
/// (or a pfn's) while it looks for or checks info blocks (8 KiB: a BTT or
/// pfn info block at 4 KiB ends there).
pub(crate) const INFO_BLOCK_RESERVE: u64 = 8192;

/// The smallest namespace a personality can claim (C: SZ_16M in
/// `nd_namespace_store` and `__nd_btt_probe`).
pub(crate) const MIN_CLAIM_SIZE: u64 = 16 << 20;

/// A claim on a namespace (C: `ndns` of a btt/pfn/dax device and the
/// namespace's `claim`): holds a reference on the namespace, and clears the
/// namespace's holder when dropped (`__nd_detach_ndns`).
pub(crate) struct Claim {
    ns: DeviceRef,
    holder: Holder,
}

impl Claim {
    /// `__nd_attach_ndns`: `holder` claims `ns`; EBUSY if someone did already.
    pub(crate) fn attach(holder: &Device, kind: HolderKind, ns: &Namespace) -> Result<Self> {
        let h = Holder::new(holder, kind);
        if !ns.set_holder(h) {
            return Err(EBUSY);
        }
        Ok(Self { ns: DeviceRef::new(ns.device()), holder: h })
    }

    /// The claimed namespace.
    pub(crate) fn namespace(&self) -> &Namespace {
        Namespace::of(self.ns.device()).expect("a claim on something else than a namespace")
    }

    /// A counted reference to the claimed namespace's device.
    pub(crate) fn namespace_ref(&self) -> DeviceRef {
        DeviceRef::new(self.ns.device())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(ns) = Namespace::of(self.ns.device()) {
            ns.clear_holder(&self.holder);
        }
    }
}

/// Which personality `kind` is, for the claim-class checks.
fn class_allows(class: ClaimClass, kind: HolderKind) -> bool {
    match class {
        ClaimClass::None => true,
        ClaimClass::Btt | ClaimClass::Btt2 => kind == HolderKind::Btt,
        ClaimClass::Pfn => kind == HolderKind::Pfn,
        ClaimClass::Dax => kind == HolderKind::Dax,
        ClaimClass::Unknown => false,
    }
}

/// What a write of the `namespace` attribute asks for.
pub(crate) enum NamespaceRequest {
    /// "": give the namespace up and reset the device (C:
    /// `nd_detach_and_reset`).
    Detach,
    /// Claim the namespace of that name.
    Attach(DeviceRef),
}

/// The parsing and checks of `nd_namespace_store` up to the claim itself,
/// for device `dev` (of `kind`) whose current claim is `claimed`: EBUSY
/// while bound or when it claims a namespace already, EINVAL for a name
/// not starting with "namespace", ENODEV for one not under its region,
/// EBUSY for a namespace whose claim class is another personality's, ENXIO
/// for one under 16 MiB. Runs under the device lock and the bus lock.
pub(crate) fn parse_namespace_store(
    dev: &Device,
    kind: HolderKind,
    claimed: Option<&Claim>,
    input: &[u8],
) -> Result<NamespaceRequest> {
    if dev.has_driver() {
        dev_dbg!(dev, "namespace already active\n");
        return Err(EBUSY);
    }
    let name = sysfs::strim(input);
    if name.is_empty() {
        return Ok(NamespaceRequest::Detach);
    }
    if !name.starts_with(b"namespace") {
        dev_dbg!(dev, "namespace: not a namespace name\n");
        return Err(EINVAL);
    }
    if let Some(c) = claimed {
        dev_dbg!(dev, "namespace already set to: {}\n", c.namespace().device().name().to_str().unwrap_or(""));
        return Err(EBUSY);
    }
    let region = Region::of_child(dev).ok_or(ENXIO)?;
    let mut found = None;
    region.device().for_each_child(|child| {
        if found.is_none() && child.name().to_bytes() == name {
            found = Some(DeviceRef::new(child));
        }
        Ok(())
    })?;
    let Some(found) = found else {
        dev_dbg!(dev, "'{}' not found under {}\n", core::str::from_utf8(name).unwrap_or("?"),
            region.device().name().to_str().unwrap_or(""));
        return Err(ENODEV);
    };
    let ns = Namespace::of(found.device()).ok_or(ENODEV)?;
    if !class_allows(ns.claim_class(), kind) {
        dev_dbg!(dev, "{} is reserved for another personality\n", found.device().name().to_str().unwrap_or(""));
        return Err(EBUSY);
    }
    if ns.capacity() < MIN_CLAIM_SIZE {
        dev_dbg!(dev, "{} too small to host\n", found.device().name().to_str().unwrap_or(""));
        return Err(ENXIO);
    }
    if let Some(h) = ns.holder() {
        dev_dbg!(dev, "{} already claimed by {}\n", found.device().name().to_str().unwrap_or(""),
            core::str::from_utf8(h.name()).unwrap_or("?"));
        return Err(EBUSY);
    }
    Ok(NamespaceRequest::Attach(found))
}

/// The `namespace` attribute: the claimed namespace's name, or an empty line.
pub(crate) fn namespace_show(claimed: Option<&Claim>, page: &mut Page) -> Result {
    if let Some(c) = claimed {
        page.write_bytes(c.namespace().device().name().to_bytes());
    }
    let _ = writeln!(page);
    Ok(())
}

// ---------------------------------------------------------------------------
// Byte access to a namespace (C: `devm_nsio_enable`, `nsio_rw_bytes`).

/// An enabled namespace: its range reserved and mapped, and its known bad
/// sectors, for the byte I/O of info blocks and the BTT.
#[pin_data]
pub(crate) struct NsIo {
    /// The namespace; its region flushes and clears poison.
    ns: DeviceRef,
    /// Physical start and the bytes enabled.
    phys: u64,
    size: u64,
    /// Bad sectors from the start of the namespace, read when enabled and
    /// cleared by aligned writes (C: `nsio->bb`).
    #[pin]
    bb: Badblocks,
    /// Dropped before the reservation it maps.
    map: PmemMap,
    _reservation: Option<MemRegion>,
    /// The bus's test-only power cut of these writes (nfit_test's
    /// `media_write_budget`); none on every real platform, where it costs
    /// [`NsIo::write`] one predictable branch.
    fault: Option<MediaFault>,
}

/// C warns once about a request beyond the enabled range.
static WARNED_RANGE: AtomicBool = AtomicBool::new(false);

impl NsIo {
    /// `devm_nsio_enable(dev, nsio, size)`: `size` bytes from the start of
    /// namespace `ns`, reserved in iomem under the namespace's name unless
    /// an emulated platform backs it.
    pub(crate) fn enable(ns: &Namespace, size: u64) -> Result<Pin<KBox<Self>>> {
        let (start, ns_size) = ns.range();
        if size > ns_size {
            return Err(EINVAL);
        }
        let region = ns.region();
        let (rstart, _) = region.range();
        let (reservation, map) = match region.memory() {
            Some(m) => {
                let p = crate::glue::pmem_map::ProviderMap::in_region(&m, start - rstart)?;
                (None, PmemMap::provided(p, start, size))
            }
            None => {
                let reservation = MemRegion::request(ns.device(), start, size).inspect_err(|_| {
                    dev_warn!(ns.device(), "could not reserve region [mem {:#x}-{:#x}]\n", start, start + size - 1);
                })?;
                (Some(reservation), PmemMap::remap(start, size)?)
            }
        };
        let io = KBox::pin_init(
            try_pin_init!(NsIo {
                ns: DeviceRef::new(ns.device()),
                phys: start,
                size,
                bb <- Badblocks::new(),
                map,
                _reservation: reservation,
                fault: region.bus().desc().media_fault(),
            }? Error),
            GFP_KERNEL,
        )?;
        let end = size / SECTOR_SIZE;
        ns.region().bus().for_each_bad_sectors(start, size, |sector, count| {
            let e = sector.saturating_add(count).min(end);
            if sector < e {
                io.bb.set(sector, e - sector);
            }
        });
        Ok(io)
    }

    fn namespace(&self) -> &Namespace {
        Namespace::of(self.ns.device()).expect("NsIo of something else than a namespace")
    }

    /// Checks `[offset, offset + len)` against the enabled range (EFAULT,
    /// with C's one warning).
    #[inline]
    fn check_range(&self, offset: u64, len: usize) -> Result {
        if offset.checked_add(len as u64).map_or(true, |e| e > self.size) {
            return Err(self.out_of_range());
        }
        Ok(())
    }

    #[cold]
    fn out_of_range(&self) -> Error {
        if !WARNED_RANGE.swap(true, Ordering::Relaxed) {
            dev_err!(self.ns.device(), "request out of range\n");
        }
        EFAULT
    }

    /// Whether known poison lies in the 512-byte aligned span C looks up
    /// for `[offset, offset + len)` (`is_bad_pmem`: nothing to look up in
    /// an empty list, the usual case, which costs one load).
    #[inline]
    fn has_poison(&self, offset: u64, len: usize) -> bool {
        !self.bb.is_empty() && self.bb_check(offset, len)
    }

    #[cold]
    fn bb_check(&self, offset: u64, len: usize) -> bool {
        let span = (len as u64 + (offset & (SECTOR_SIZE - 1))).next_multiple_of(SECTOR_SIZE);
        self.bb.is_bad(offset / SECTOR_SIZE, span)
    }

    /// `nsio_rw_bytes(READ)`.
    pub(crate) fn read(&self, offset: u64, buf: &mut [u8]) -> Result {
        if buf.is_empty() {
            return Ok(());
        }
        self.check_range(offset, buf.len())?;
        if self.has_poison(offset, buf.len()) {
            return Err(EIO);
        }
        self.map.read_bytes(offset, buf)
    }

    /// `nsio_rw_bytes(WRITE)`: the data always lands; EIO when it covered
    /// known poison that could not be cleared first.
    pub(crate) fn write(&self, offset: u64, buf: &[u8], atomic: bool) -> Result {
        if buf.is_empty() {
            return Ok(());
        }
        let len = buf.len() as u64;
        self.check_range(offset, buf.len())?;
        if let Some(fault) = &self.fault {
            // The emulated power cut: a prefix of the write lands (nothing
            // once the power is gone), and the write fails.
            let landing = fault.landing(self.phys + offset, len);
            if landing < len {
                if landing > 0 {
                    self.map.write_bytes(offset, &buf[..landing as usize])?;
                }
                return Err(EIO);
            }
        }
        let mut rc = Ok(());
        if self.has_poison(offset, buf.len()) {
            let sector = offset / SECTOR_SIZE;
            if offset % SECTOR_SIZE == 0 && len % SECTOR_SIZE == 0 && !atomic {
                let ns = self.namespace();
                let cleared = region::clear_poison(ns.region().bus(), self.phys + offset, len).unwrap_or(0);
                if cleared < len {
                    rc = Err(EIO);
                }
                if cleared / SECTOR_SIZE > 0 {
                    self.bb.clear(sector, cleared / SECTOR_SIZE);
                }
                self.map.invalidate(offset, len)?;
            } else {
                rc = Err(EIO);
            }
        }
        self.map.write_bytes(offset, buf)?;
        if let Err(e) = self.namespace().region().flush() {
            rc = Err(e);
        }
        rc
    }
}
