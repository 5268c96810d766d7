// SPDX-License-Identifier: GPL-2.0
//! bttN.M: a region's BTT (sector mode) devices (C's `btt_devs.c`).
//!
//! Each region offers one idle BTT seed. Writing its `namespace`, `uuid`
//! and `sector_size` configures it; nd_pmem then binds it (a btt has its
//! region's namespace type) and hands it to nd_btt, and the region offers
//! a new seed. A raw namespace whose media holds a valid BTT info block
//! gets a btt device claiming it when nd_pmem probes it (`nd_btt_probe`).

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::sync::Mutex;

use crate::abi::namespace::{BttConfig, NamespaceInfo, NamespaceKind};
use crate::claim::{self, Claim, NamespaceRequest, NsIo, MIN_CLAIM_SIZE};
use crate::formats::btt::{BttVersion, InfoBlock, INFO_SIZE};
use crate::formats::label::ClaimClass;
use crate::glue::device::{Device, DeviceGuard, EmbeddedDevice, DeviceRef, DeviceType, Placement, Registration};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::namespace::{self, HolderKind, Namespace};
use crate::region::{self, NsNumber, Region};
use crate::{attribute_group, dev_dbg, dev_info, device_object, group_list};

/// Sector sizes a BTT can present (`btt_lbasize_supported`).
const BTT_SECTOR_SIZES: [u64; 7] = [512, 520, 528, 4096, 4104, 4160, 4224];

/// What the attributes configure, under the bus's reconfiguration lock.
struct BttState {
    /// The external sector size; 0 until chosen.
    lbasize: u64,
    /// The claimed namespace (C: `nd_btt->ndns`).
    claim: Option<Claim>,
}

/// bttN.M (`struct nd_btt`).
#[pin_data]
pub(crate) struct NdBtt {
    dev: EmbeddedDevice,
    /// M of bttN.M, given back to the region when the device is released.
    id: NsNumber,
    #[pin]
    state: Mutex<BttState>,
    /// The BTT's uuid. A lock of its own, taken with no other inside: the
    /// uuid checks of namespaces read it under their own locks.
    #[pin]
    uuid: Mutex<Option<[u8; 16]>>,
    /// The BTT's capacity, which nd_btt publishes while bound.
    size: AtomicU64,
}

device_object!(NdBtt, dev);

impl NdBtt {
    /// The nd type: its region's namespace type, so namespace drivers
    /// see it.
    pub(crate) fn nd_type(&self) -> u32 {
        Region::of_child(&self.dev).map_or(0, |r| r.nstype())
    }

    /// The BTT device behind `dev`, if it is one.
    pub(crate) fn of(dev: &Device) -> Option<&NdBtt> {
        BTT_TYPE.downcast(dev)
    }

    fn region(&self) -> &Region {
        Region::of_child(&self.dev).expect("bttN.M without its region")
    }

    /// The BTT's uuid, if set.
    pub(crate) fn uuid(&self) -> Option<[u8; 16]> {
        *self.uuid.lock()
    }

    /// A counted reference to the claimed namespace, if any.
    pub(crate) fn namespace(&self) -> Option<DeviceRef> {
        self.state.lock().claim.as_ref().map(|c| c.namespace_ref())
    }

    /// Runs a store of `attr` under the device lock and the bus lock, as C's
    /// do, and logs a refusal with its errno.
    fn store(&self, attr: &str, f: impl FnOnce(&DeviceGuard<'_>, &mut BttState) -> Result) -> Result {
        let held = self.dev.lock();
        let rc = self.region().bus().with_reconfig(|| f(&held, &mut self.state.lock()));
        if let Err(e) = &rc {
            dev_dbg!(&self.dev, "{}: fail ({})\n", attr, e.to_errno());
        }
        rc
    }

    /// Records the BTT's capacity (nd_btt, while binding).
    pub(crate) fn set_size(&self, size: u64) {
        self.size.store(size, Ordering::Relaxed);
    }
}

fn modalias_show(btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", btt.nd_type());
    Ok(())
}
static MODALIAS: Attribute<NdBtt> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(_btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd_btt");
    Ok(())
}
static DEVTYPE: Attribute<NdBtt> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: NdBtt, dir = None, [MODALIAS, DEVTYPE]);

// sector_size: the supported sizes, the chosen one in brackets.
fn sector_size_show(btt: &NdBtt, page: &mut Page) -> Result {
    page.write_size_select(btt.state.lock().lbasize, &BTT_SECTOR_SIZES);
    Ok(())
}
fn sector_size_store(btt: &NdBtt, input: &[u8]) -> Result {
    btt.store("sector_size", |_, st| {
        if btt.dev.has_driver() {
            dev_dbg!(&btt.dev, "sector_size: the btt is enabled\n");
            return Err(EBUSY);
        }
        let size = sysfs::parse_u64(input, 0)?;
        if !BTT_SECTOR_SIZES.contains(&size) {
            dev_dbg!(&btt.dev, "sector_size: {} is not supported\n", size);
            return Err(EINVAL);
        }
        st.lbasize = size;
        Ok(())
    })
}
static SECTOR_SIZE: Attribute<NdBtt> = Attribute::rw(c"sector_size", sector_size_show, sector_size_store);

// uuid: the BTT's own uuid, recorded in its info blocks.
fn uuid_show(btt: &NdBtt, page: &mut Page) -> Result {
    crate::nd::write_uuid_line(page, btt.uuid().as_ref())
}
// C takes only the device lock here (nd_uuid_store), not the bus lock.
fn uuid_store(btt: &NdBtt, input: &[u8]) -> Result {
    let _dev = btt.dev.lock();
    let rc = (|| {
        if btt.dev.has_driver() {
            dev_dbg!(&btt.dev, "uuid: the btt is enabled\n");
            return Err(EBUSY);
        }
        let uuid = sysfs::parse_uuid(input)?;
        *btt.uuid.lock() = Some(uuid);
        Ok(())
    })();
    if let Err(e) = &rc {
        dev_dbg!(&btt.dev, "uuid: fail ({})\n", e.to_errno());
    }
    rc
}
static UUID: Attribute<NdBtt> = Attribute::rw(c"uuid", uuid_show, uuid_store);

// namespace: the claimed namespace; writing a namespace's name claims it,
// writing an empty line gives it up (C: nd_namespace_store).
fn namespace_show(btt: &NdBtt, page: &mut Page) -> Result {
    btt.region().bus().with_reconfig(|| claim::namespace_show(btt.state.lock().claim.as_ref(), page))
}
fn namespace_store(btt: &NdBtt, input: &[u8]) -> Result {
    btt.store("namespace", |held, st| {
        match claim::parse_namespace_store(&btt.dev, HolderKind::Btt, st.claim.as_ref(), input)? {
            NamespaceRequest::Attach(ns_dev) => {
                let ns = Namespace::of(ns_dev.device()).ok_or(ENODEV)?;
                st.claim = Some(Claim::attach(&btt.dev, HolderKind::Btt, ns)?);
            }
            NamespaceRequest::Detach => detach_and_reset(btt, held, st),
        }
        Ok(())
    })
}
static NAMESPACE: Attribute<NdBtt> = Attribute::rw(c"namespace", namespace_show, namespace_store);

/// `nd_detach_and_reset`: the btt gives its namespace up; a btt other than
/// the seed then goes away, the seed forgets its configuration.
fn detach_and_reset(btt: &NdBtt, held: &DeviceGuard<'_>, st: &mut BttState) {
    st.claim = None;
    let region = btt.region();
    if region.is_btt_seed(&btt.dev) {
        st.lbasize = 0;
        *btt.uuid.lock() = None;
    } else if let Some(reg) = region.take_btt(&btt.dev) {
        // From its own attribute: unregistered from a work item.
        reg.unregister_dead_later(held);
    }
}

// size: the BTT's capacity, only while nd_btt has it enabled.
fn size_show(btt: &NdBtt, page: &mut Page) -> Result {
    let _guard = btt.dev.lock();
    if !btt.dev.has_driver() {
        return Err(ENXIO);
    }
    let _ = writeln!(page, "{}", btt.size.load(Ordering::Relaxed));
    Ok(())
}
static SIZE: Attribute<NdBtt> = Attribute::ro(c"size", size_show);

// log_zero_flags: the flog's padding entries are zeroed (always, in C).
fn log_zero_flags_show(_btt: &NdBtt, page: &mut Page) -> Result {
    let _ = writeln!(page, "Y");
    Ok(())
}
static LOG_ZERO_FLAGS: Attribute<NdBtt> = Attribute::ro(c"log_zero_flags", log_zero_flags_show);

attribute_group!(static BTT_GROUP: NdBtt, dir = None, [SECTOR_SIZE, NAMESPACE, UUID, SIZE, LOG_ZERO_FLAGS]);
// C's nd_numa_attribute_group (see `region::OnRegion`).
region::nd_numa_group!(NUMA_GROUP: NdBtt);
group_list!(static BTT_GROUPS: NdBtt = [BTT_GROUP, ND_DEVICE_GROUP, NUMA_GROUP]);
static BTT_TYPE: DeviceType<NdBtt> = DeviceType::new(c"nd_btt", &BTT_GROUPS);

/// Where a bttR.M of `region` goes: under the region, on its bus.
fn placement(region: &Region) -> Placement<'_, NdBtt> {
    Placement {
        parent: Some(region.device()),
        ty: &BTT_TYPE,
        bus: Some(region.bus().bus_type()),
        provider: None,
        devt: 0,
        node: None,
    }
}

fn new_btt(id: NsNumber, state: BttState, uuid: Option<[u8; 16]>) -> impl PinInit<NdBtt, Error> {
    try_pin_init!(NdBtt {
        dev: EmbeddedDevice::zeroed(),
        id,
        state <- new_mutex!(state),
        uuid <- new_mutex!(uuid),
        size: AtomicU64::new(0),
    }? Error)
}

/// Registers an idle BTT seed of `region` (`nd_btt_create`).
#[inline(never)]
pub(crate) fn create_seed(region: &Region) -> Result<Registration<NdBtt>> {
    let id = region.alloc_btt_id()?;
    let n = id.get();
    let state = BttState { lbasize: 0, claim: None };
    Registration::new(new_btt(id, state, None), placement(region), format_args!("btt{}.{}", region.id(), n))
}

// ---------------------------------------------------------------------------
// What nd_pmem (and through it nd_btt) learns about a bound btt.

/// `nd_btt_version`'s choice: v2.0 at the start of the namespace for the
/// BTT2 claim class (v1.2 labels), v1.1 after a 4 KiB reserve otherwise.
fn version_of(class: ClaimClass) -> BttVersion {
    BttVersion::for_claim_class(class == ClaimClass::Btt2)
}

// ---------------------------------------------------------------------------
// Autodetect (C: `nd_btt_probe`, which nd_pmem's probe of a raw namespace
// calls with the first `nd_info_block_reserve()` bytes enabled).

/// `nd_btt_probe`: if `ns` (a raw namespace being probed, `io` its enabled
/// start) holds a valid BTT info block of the version its claim class asks
/// for, a new bttN.M claims it with the info block's sector size and uuid,
/// and nd_pmem's probe of the namespace fails with ENXIO so that the btt
/// binds instead. Err: no BTT here (C's errno: ENODEV when forced raw,
/// reserved for another personality, or no valid info block; ENXIO when too
/// small or unreadable); the raw probe goes on.
pub(crate) fn probe_raw(ns: &Namespace, io: &NsIo) -> Result {
    if ns.force_raw() {
        return Err(ENODEV);
    }
    let class = ns.claim_class();
    if !matches!(class, ClaimClass::None | ClaimClass::Btt | ClaimClass::Btt2) {
        return Err(ENODEV);
    }
    if ns.capacity() < MIN_CLAIM_SIZE {
        return Err(ENXIO);
    }
    let version = version_of(class);
    let mut block = zeroed_vec::<u8, Kmalloc>(INFO_SIZE, GFP_KERNEL)?;
    io.read(version.initial_offset(), &mut block).map_err(|_| ENXIO)?;
    let info = InfoBlock::validate(&block, &ns.uuid_or_null()).map_err(|_| ENODEV)?;
    let error_flag = info.has_error();
    info.check_version(version).map_err(|_| ENODEV)?;

    let region = ns.region();
    let state = BttState { lbasize: u64::from(info.external_lbasize), claim: None };
    let id = region.alloc_btt_id()?;
    let n = id.get();
    // Claimed before it is added, so its probe finds the claim; added from
    // a work item, because that probe waits for this one to end (C:
    // `__nd_btt_create` under the bus lock, then `nd_device_register`).
    let reg = region.bus().with_reconfig(|| {
        Registration::new_deferred(new_btt(id, state, Some(info.uuid)), placement(region), format_args!("btt{}.{}", region.id(), n), |btt| {
            let claim = Claim::attach(&btt.dev, HolderKind::Btt, ns).inspect_err(|_| {
                dev_dbg!(ns.device(), "failed, already claimed\n");
            })?;
            btt.state.lock().claim = Some(claim);
            // C validates the info block (`nd_btt_arena_is_valid`, which
            // logs the flag) once the new btt holds its claim and before
            // `nd_device_register` puts it on the bus: no bus name yet.
            if error_flag {
                dev_info!(&btt.dev, "Found arena with an error flag\n");
            }
            Ok(())
        })
    })?;
    dev_dbg!(ns.device(), "btt: {}\n", reg.get().dev.name().to_str().unwrap_or(""));
    let reg = reg.erase();
    if let Err(reg) = region.adopt_btt(reg) {
        // The region is going away: so does the btt, once added.
        reg.unregister_later();
    }
    Ok(())
}

/// `nvdimm_namespace_common_probe()` for a btt, and the description of the
/// claimed namespace with the btt's configuration.
pub(crate) fn driver_probe(btt: &NdBtt) -> Result<NamespaceInfo> {
    let (ns_dev, lbasize) = {
        let st = btt.state.lock();
        let ns = st.claim.as_ref().map(|c| c.namespace_ref()).ok_or(ENODEV)?;
        (ns, st.lbasize)
    };
    let uuid = btt.uuid();
    let ns = Namespace::of(ns_dev.device()).ok_or(ENODEV)?;
    // Flush any probe or removal of the namespace's raw personality.
    drop(ns.device().lock());
    if ns.device().has_driver() {
        dev_dbg!(ns.device(), "is active, can't bind {}\n", btt.dev.name().to_str().unwrap_or(""));
        return Err(EBUSY);
    }
    if !ns.holder().is_some_and(|h| h.is(&btt.dev)) {
        dev_dbg!(ns.device(), "host ({}) vs claim mismatch\n", btt.dev.name().to_str().unwrap_or(""));
        return Err(ENXIO);
    }
    namespace::common_probe(ns)?;
    let version = version_of(ns.claim_class());
    let (version_major, version_minor) = version.number();
    let cfg = BttConfig {
        uuid,
        parent_uuid: ns.uuid_or_null(),
        lbasize: u32::try_from(lbasize).map_err(|_| EINVAL)?,
        initial_offset: version.initial_offset() as u32,
        version_major,
        version_minor,
    };
    namespace::describe(ns, NamespaceKind::Btt(cfg))
}

/// The namespace a bound (or probing) driver reaches through `dev`: the
/// namespace itself, or the one a btt claims.
pub(crate) fn namespace_of_bound(dev: &Device) -> Option<DeviceRef> {
    if Namespace::of(dev).is_some() {
        return Some(DeviceRef::new(dev));
    }
    NdBtt::of(dev).and_then(|b| b.namespace())
}
