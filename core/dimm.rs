// SPDX-License-Identifier: GPL-2.0
//! DIMMs: nmemN, /dev/nmemN and the nvdimm driver.
//!
//! A provider creates nmemN with its command mask and flags. The nvdimm
//! driver binds it, reads the label area through the provider and keeps
//! what regions and namespaces will need; available_slots reads from that.

use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::sync::Mutex;
use kernel::new_mutex;

use crate::formats::cmd;
use crate::formats::dpa::Extent;
use crate::formats::le::u32_at as le32;
use crate::formats::label::layout::NSLABEL_UUID_LEN;
use crate::formats::label::{
    self, init_area, LabelArea, LabelAreaMut, LabelSize, LabelVersion, NamespaceLabel, UpdateError,
};
use crate::glue::chrdev::Chrdev;
use crate::glue::device::{ARef, Device, EmbeddedDevice, DeviceType, Placement, Registration};
use crate::glue::ida::{Id, IdaKind};
use crate::glue::nd_driver::{NdDriver, NdDriverOps};
use crate::abi::provider::{FlushHints, FwaTrigger, ProviderDimm};
use crate::glue::sysfs::{self, Attribute, Page};
use crate::nd::{self, eopnotsupp, nd_type, NdBus};
use crate::{attribute_group, dev_dbg, device_object, group_list};

pub(crate) static NVDIMM_DRIVER: NdDriver = NdDriver::new::<NvdimmDriver>(c"nvdimm", 1 << nd_type::DIMM);

/// NDD_* flag bits a provider passes.
pub(crate) mod ndd {
    /// Not armed to save data on power loss: regions over it are read-only.
    pub(crate) const UNARMED: u32 = 1;
    /// Locked by security.
    pub(crate) const LOCKED: u32 = 2;
    /// The DIMM has a valid label index (set by the nvdimm driver).
    pub(crate) const LABELING: u32 = 6;
}

/// NVDIMM_SECURITY_* bits of the security state.
mod sec {
    pub(super) const DISABLED: u64 = 1 << 0;
    pub(super) const UNLOCKED: u64 = 1 << 1;
    pub(super) const LOCKED: u64 = 1 << 2;
    pub(super) const FROZEN: u64 = 1 << 3;
    pub(super) const OVERWRITE: u64 = 1 << 4;
}

/// The label area as the nvdimm driver read it (`nvdimm_drvdata` in C),
/// the working copy that namespace updates change and write back.
pub(crate) struct LabelData {
    /// ND_CMD_GET_CONFIG_SIZE: area size.
    pub(crate) config_size: u32,
    /// ND_CMD_GET_CONFIG_SIZE: largest transfer.
    pub(crate) max_xfer: u32,
    /// The whole area.
    pub(crate) data: KVec<u8>,
    /// Free label slots per the current index, or all slots without one.
    pub(crate) nfree: u32,
    /// Whether a valid index was found.
    pub(crate) has_index: bool,
}

/// nmemN.
#[pin_data]
pub(crate) struct Dimm {
    dev: EmbeddedDevice,
    id: Id,
    desc: ProviderDimm,
    /// NDD_* flags; the nvdimm driver adds LABELING and LOCKED.
    flags: AtomicU32,
    /// Regions using this DIMM (`state` is "active" while non-zero).
    busy: AtomicU32,
    /// Spreads flushes over the hints.
    flush_idx: AtomicU32,
    /// Set while the nvdimm driver is bound.
    #[pin]
    labels: Mutex<Option<LabelData>>,
}

device_object!(Dimm, dev);

impl Dimm {
    pub(crate) fn id(&self) -> u32 {
        self.id.get()
    }

    pub(crate) fn desc(&self) -> &ProviderDimm {
        &self.desc
    }

    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed) != 0
    }

    pub(crate) fn test_flag(&self, bit: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & (1 << bit) != 0
    }

    fn set_flag(&self, bit: u32, on: bool) {
        if on {
            self.flags.fetch_or(1 << bit, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!(1 << bit), Ordering::Relaxed);
        }
    }

    /// A region starts using the DIMM.
    pub(crate) fn get_busy(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    /// A region stops using it.
    pub(crate) fn put_busy(&self) {
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether the nvdimm driver read the label area (`to_ndd()` non-null).
    pub(crate) fn has_label_data(&self) -> bool {
        self.labels.lock().is_some()
    }

    /// Runs `f` on the label area while the nvdimm driver holds it.
    pub(crate) fn with_labels<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.labels.lock().as_ref().map(|l| f(&l.data))
    }

    /// A copy of the label area; ENXIO while the nvdimm driver is unbound.
    pub(crate) fn label_snapshot(&self) -> Result<KVec<u8>> {
        let labels = self.labels.lock();
        let data = &labels.as_ref().ok_or(ENXIO)?.data;
        let mut copy = KVec::with_capacity(data.len(), GFP_KERNEL)?;
        copy.extend_from_slice(data, GFP_KERNEL)?;
        Ok(copy)
    }

    /// Calls `f` with each extent of the DIMM's label-derived DPA and the
    /// uuid of its namespace (see [`label_dpa`]); None while the nvdimm
    /// driver is unbound (the DIMM is disabled).
    pub(crate) fn for_each_label_dpa(
        &self,
        f: impl FnMut(&[u8; NSLABEL_UUID_LEN], Extent) -> Result,
    ) -> Option<Result> {
        let labels = self.labels.lock();
        Some(label_dpa(&labels.as_ref()?.data, f))
    }

    /// Runs `f` on the DIMM's label-derived DPA extents, sorted by start;
    /// None while the nvdimm driver is unbound or without memory.
    pub(crate) fn with_extents<R>(&self, f: impl FnOnce(&[Extent]) -> R) -> Option<R> {
        let mut extents = KVec::new();
        self.for_each_label_dpa(|_, e| Ok(extents.push(e, GFP_KERNEL)?))?.ok()?;
        extents.sort_unstable_by_key(|e| e.start);
        Some(f(&extents))
    }

    /// Runs one update of the label area: `edit` changes the working copy
    /// and persists what it changed through the `persist` it is given. If a
    /// write fails, the working copy is read back from the media. ENXIO
    /// while the nvdimm driver is unbound.
    fn update_labels(
        &self,
        edit: impl FnOnce(&mut KVec<u8>, &mut dyn FnMut(usize, &[u8]) -> Result) -> Result<(), UpdateError<Error>>,
    ) -> Result {
        let mut labels = self.labels.lock();
        let data = labels.as_mut().ok_or(ENXIO)?;
        let max_xfer = data.max_xfer;
        let mut persist = |offset: usize, bytes: &[u8]| self.set_config_data(max_xfer, offset, bytes);
        let rc = edit(&mut data.data, &mut persist);
        match rc {
            Ok(()) => {
                if let Ok(area) = LabelArea::parse(&data.data) {
                    data.nfree = area.nslot() - area.index().used_slots().count() as u32;
                    data.has_index = true;
                }
                Ok(())
            }
            Err(UpdateError::Persist(e)) => {
                // The media may hold part of the update: start again from
                // what they hold.
                dev_dbg!(&self.dev, "label write failed: {:?}\n", e.to_errno());
                if let Ok(fresh) = read_labels(self) {
                    *data = fresh;
                }
                Err(e)
            }
            // Refused before anything was written; the working copy holds
            // at most a staged, uncommitted index, as C's does.
            Err(UpdateError::NoSlot) => {
                dev_dbg!(&self.dev, "no free label slot\n");
                Err(ENXIO)
            }
            Err(UpdateError::Label(e)) => {
                dev_dbg!(&self.dev, "label area refused the update: {:?}\n", e);
                Err(ENXIO)
            }
        }
    }

    /// Writes `label` (built for the area's label size and version) into a
    /// free slot, then an index without the older labels of its uuid or of
    /// `retire` (C: `init_labels` then `__pmem_label_update`). A DIMM without
    /// an index gets one first, with 256-byte labels as in C.
    pub(crate) fn replace_label(
        &self,
        make: impl FnOnce(LabelSize, LabelVersion) -> NamespaceLabel,
        retire: Option<&[u8; NSLABEL_UUID_LEN]>,
    ) -> Result {
        self.update_labels(|data, persist| {
            let mut area = if LabelArea::parse(data).is_ok() {
                LabelAreaMut::open(data)?
            } else {
                init_area(data, LabelSize::Bytes256, &mut *persist)?
            };
            let version = area.view()?.version();
            let label = make(area.geometry().label_size(), version);
            area.replace_label(&label, retire, persist).map(|_| ())
        })
    }

    /// Writes an index without the labels of `uuid` (C: `del_labels`); a
    /// DIMM without an index is left alone.
    pub(crate) fn delete_labels(&self, uuid: &[u8; NSLABEL_UUID_LEN]) -> Result {
        self.update_labels(|data, persist| match LabelAreaMut::open(data) {
            Ok(mut area) => area.delete_labels(uuid, persist),
            Err(_) => Ok(()),
        })
    }

    /// ND_CMD_SET_CONFIG_DATA in `max_xfer` pieces (C:
    /// `nvdimm_set_config_data`).
    fn set_config_data(&self, max_xfer: u32, offset: usize, bytes: &[u8]) -> Result {
        let chunk = (max_xfer as usize).min(bytes.len()).max(1);
        let mut buf = zeroed_vec::<u8, Kmalloc>(SET_CONFIG_HDR + chunk + 4, GFP_KERNEL)?;
        for (i, piece) in bytes.chunks(chunk).enumerate() {
            let cmd = &mut buf[..SET_CONFIG_HDR + piece.len() + 4];
            cmd[0..4].copy_from_slice(&((offset + i * chunk) as u32).to_le_bytes());
            cmd[4..8].copy_from_slice(&(piece.len() as u32).to_le_bytes());
            cmd[SET_CONFIG_HDR..SET_CONFIG_HDR + piece.len()].copy_from_slice(piece);
            cmd[SET_CONFIG_HDR + piece.len()..].fill(0);
            self.ctl(cmd::SET_CONFIG_DATA, cmd)?;
        }
        Ok(())
    }

    /// How many flush hints the provider mapped for the DIMM.
    pub(crate) fn num_flush(&self) -> usize {
        self.desc.flush_hints().len()
    }

    /// The DIMM's flush hints, for the panic-time flush's snapshot.
    pub(crate) fn flush_hints(&self) -> FlushHints {
        self.desc.flush_hints()
    }

    /// Writes one of the DIMM's flush hints (`generic_nvdimm_flush`).
    pub(crate) fn write_flush_hint(&self) {
        let hints = self.desc.flush_hints();
        if !hints.is_empty() {
            let i = self.flush_idx.fetch_add(1, Ordering::Relaxed) as usize % hints.len();
            hints.write(i);
        }
    }

    fn bus(&self) -> &NdBus {
        // A DIMM is only ever created under an ndbusN, which outlives it.
        NdBus::of_child(&self.dev).expect("nmemN without its ndbusN")
    }

    /// The DIMM behind `dev`, if it is an nmemN.
    pub(crate) fn of(dev: &Device) -> Option<&Dimm> {
        NVDIMM_TYPE.downcast(dev)
    }

    /// Runs a command on this DIMM through the provider.
    /// Runs a command on this DIMM; a firmware failure is an error too.
    fn ctl(&self, cmd: u32, buf: &mut [u8]) -> Result {
        let c = self.bus().ctl(Some(&self.desc), cmd, buf)?;
        if c.cmd_rc < 0 {
            return Err(Error::from_errno(c.cmd_rc));
        }
        Ok(())
    }
}

// nmemN/modalias and devtype: as for every nd device.
fn modalias_show(_dimm: &Dimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "nd:t{}", nd_type::DIMM);
    Ok(())
}
static MODALIAS: Attribute<Dimm> = Attribute::ro(c"modalias", modalias_show);

fn devtype_show(_dimm: &Dimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "nvdimm");
    Ok(())
}
static DEVTYPE: Attribute<Dimm> = Attribute::ro(c"devtype", devtype_show);

attribute_group!(static ND_DEVICE_GROUP: Dimm, dir = None, [MODALIAS, DEVTYPE]);

// nmemN/state: "active" while a region uses the DIMM.
fn state_show(dimm: &Dimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", if dimm.is_busy() { "active" } else { "idle" });
    Ok(())
}
static STATE: Attribute<Dimm> = Attribute::ro(c"state", state_show);

// nmemN/flags: "label " with a valid index, "lock " when locked.
fn flags_show(dimm: &Dimm, page: &mut Page) -> Result {
    let label = if dimm.test_flag(ndd::LABELING) { "label " } else { "" };
    let lock = if dimm.test_flag(ndd::LOCKED) { "lock " } else { "" };
    let _ = writeln!(page, "{label}{lock}");
    Ok(())
}
static FLAGS: Attribute<Dimm> = Attribute::ro(c"flags", flags_show);

// nmemN/commands: the DIMM commands the provider implements.
fn commands_show(dimm: &Dimm, page: &mut Page) -> Result {
    nd::write_cmd_names(page, dimm.desc.cmd_mask, cmd::dimm_cmd_name)
}
static COMMANDS: Attribute<Dimm> = Attribute::ro(c"commands", commands_show);

// nmemN/available_slots: free label slots, less the one an update needs.
// ENXIO while the nvdimm driver is not bound.
fn available_slots_show(dimm: &Dimm, page: &mut Page) -> Result {
    let _guard = dimm.dev.lock();
    let labels = dimm.labels.lock();
    let nfree = labels.as_ref().ok_or(ENXIO)?.nfree;
    if nfree == 0 {
        dev_dbg!(&dimm.dev, "no label slot left for updates\n");
    }
    let _ = writeln!(page, "{}", nfree.saturating_sub(1));
    Ok(())
}
static AVAILABLE_SLOTS: Attribute<Dimm> = Attribute::ro(c"available_slots", available_slots_show);

// nmemN/security: polled from the provider on every read, as C does in its
// test configuration (CONFIG_NVDIMM_SECURITY_TEST), so state changes show.
fn security_show(dimm: &Dimm, page: &mut Page) -> Result {
    let flags = dimm.desc.security_flags(false);
    let state = if flags & sec::OVERWRITE != 0 {
        "overwrite"
    } else if flags & sec::DISABLED != 0 {
        "disabled"
    } else if flags & sec::UNLOCKED != 0 {
        "unlocked"
    } else if flags & sec::LOCKED != 0 {
        "locked"
    } else {
        return Err(ENOTTY);
    };
    let _ = writeln!(page, "{state}");
    Ok(())
}
// Security management (freeze, disable, erase, ...) is not implemented yet:
// the attribute is read-only, as C makes it for providers without those ops.
static SECURITY: Attribute<Dimm> = Attribute::ro(c"security", security_show).visible_if(security_visible);

fn security_visible(dimm: &Dimm, attr: &'static Attribute<Dimm>) -> Option<u16> {
    if dimm.desc.security_flags(false) == 0 {
        return None;
    }
    Some(attr.mode())
}

// nmemN/frozen: whether the security state is frozen.
fn frozen_show(dimm: &Dimm, page: &mut Page) -> Result {
    let frozen = dimm.desc.security_flags(false) & sec::FROZEN != 0;
    let _ = writeln!(page, "{}", frozen as u32);
    Ok(())
}
static FROZEN: Attribute<Dimm> = Attribute::ro(c"frozen", frozen_show).visible_if(frozen_visible);

fn frozen_visible(dimm: &Dimm, attr: &'static Attribute<Dimm>) -> Option<u16> {
    (dimm.desc.security.freezable && dimm.desc.security_flags(false) != 0).then(|| attr.mode())
}

attribute_group!(static NVDIMM_GROUP: Dimm, dir = None, [STATE, FLAGS, COMMANDS, AVAILABLE_SLOTS, SECURITY, FROZEN]);

// nmemN/firmware/: the DIMM's part in firmware activation (C's
// dimm_devs.c). The provider's DIMM ops run under the bus lock, as in C.

// nmemN/firmware/result: how the last activation went for this DIMM.
fn fw_result_show(dimm: &Dimm, page: &mut Page) -> Result {
    let fw = dimm.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let result = dimm.bus().with_bus_lock(|| fw.result());
    let _ = writeln!(page, "{}", result.word().ok_or(ENXIO)?);
    Ok(())
}
static FW_RESULT: Attribute<Dimm> = Attribute::admin_ro(c"result", fw_result_show).visible_if(fw_visible);

// nmemN/firmware/activate: "idle", "busy" or "armed". Writing "arm" or
// "disarm" does that; the provider says whether it may (EBUSY while an
// activation runs, ENXIO when the firmware does not answer). Arming an
// armed DIMM, or disarming an idle one, changes nothing and succeeds.
fn fw_activate_show(dimm: &Dimm, page: &mut Page) -> Result {
    let fw = dimm.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let state = dimm.bus().with_bus_lock(|| fw.state());
    let _ = writeln!(page, "{}", state.dimm_word().ok_or(ENXIO)?);
    Ok(())
}
fn fw_activate_store(dimm: &Dimm, input: &[u8]) -> Result {
    let fw = dimm.desc.fw_ops().ok_or_else(eopnotsupp)?;
    let trigger = if sysfs::streq(input, c"arm") {
        FwaTrigger::Arm
    } else if sysfs::streq(input, c"disarm") {
        FwaTrigger::Disarm
    } else {
        return Err(EINVAL);
    };
    dimm.bus().with_bus_lock(|| fw.arm(trigger))
}
static FW_ACTIVATE: Attribute<Dimm> =
    Attribute::admin_rw(c"activate", fw_activate_show, fw_activate_store).visible_if(fw_visible);

/// Shown when both the bus and the DIMM have firmware activation ops and
/// the bus can activate.
fn fw_visible(dimm: &Dimm, attr: &'static Attribute<Dimm>) -> Option<u16> {
    let bus = dimm.bus();
    let bus_fw = bus.desc().fw_ops()?;
    dimm.desc.fw_ops()?;
    bus.with_bus_lock(|| bus_fw.capability()).offered().then(|| attr.mode())
}

attribute_group!(static NVDIMM_FIRMWARE_GROUP: Dimm, dir = Some(c"firmware"), [FW_ACTIVATE, FW_RESULT]);
group_list!(static NVDIMM_GROUPS: Dimm = [ND_DEVICE_GROUP, NVDIMM_GROUP, NVDIMM_FIRMWARE_GROUP]);
pub(crate) static NVDIMM_TYPE: DeviceType<Dimm> = DeviceType::new(c"nvdimm", &NVDIMM_GROUPS);

/// Creates nmemN on `bus` (`nvdimm_create` in C), with its /dev/nmemN on
/// `ctl`'s major. The nvdimm driver, if loaded, binds before this returns.
pub(crate) fn create(bus: &NdBus, desc: ProviderDimm, ctl: &Chrdev) -> Result<ARef<Dimm>> {
    let id = Id::alloc(IdaKind::Dimm)?;
    let n = id.get();
    let provider = Some(desc.attrs());
    let flags = desc.flags as u32;
    let init = try_pin_init!(Dimm {
        dev: EmbeddedDevice::zeroed(),
        id,
        desc,
        flags: AtomicU32::new(flags),
        busy: AtomicU32::new(0),
        flush_idx: AtomicU32::new(0),
        labels <- new_mutex!(None),
    }? Error);
    let place = Placement {
        parent: Some(bus.device()),
        ty: &NVDIMM_TYPE,
        bus: Some(bus.bus_type()),
        provider,
        devt: ctl.devt(n),
        node: None,
    };
    let reg = Registration::new(init, place, format_args!("nmem{n}"))?;
    let handle = ARef::new(reg.get());
    bus.adopt_dimm(reg.erase())?;
    Ok(handle)
}

/// The nvdimm driver: reads and validates the label area.
struct NvdimmDriver;

impl NdDriverOps for NvdimmDriver {
    fn probe(dev: &Device) -> Result {
        let dimm = NVDIMM_TYPE.downcast(dev).ok_or(ENODEV)?;
        if dimm.desc.cmd_mask & (1 << cmd::GET_CONFIG_DATA) == 0 {
            // DIMMs without a label area (NVDIMM-N) bind without labels,
            // unless the provider claims labels it cannot read.
            return if dimm.test_flag(ndd::LABELING) { Err(ENXIO) } else { Ok(()) };
        }
        dimm.set_flag(ndd::LOCKED, false);
        let labels = match read_labels(dimm) {
            Ok(l) => l,
            Err(e) if e == EACCES => {
                // The label area is locked by security: keep the DIMM
                // visible as locked, without labels.
                dimm.set_flag(ndd::LOCKED, true);
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        dev_dbg!(dev, "config data size: {}\n", labels.config_size);
        if labels.has_index {
            dimm.set_flag(ndd::LABELING, true);
        }
        *dimm.labels.lock() = Some(labels);
        Ok(())
    }

    fn remove(dev: &Device) {
        if let Some(dimm) = NVDIMM_TYPE.downcast(dev) {
            *dimm.labels.lock() = None;
        }
    }
}

/// ND_CMD_GET_CONFIG_SIZE payload: status, config_size, max_xfer.
const CONFIG_SIZE_LEN: usize = 12;
/// ND_CMD_GET_CONFIG_DATA header: in_offset, in_length, then status.
const CONFIG_DATA_HDR: usize = 12;
/// ND_CMD_SET_CONFIG_DATA header: in_offset, in_length; the data, then the
/// status, follow.
const SET_CONFIG_HDR: usize = 8;


/// Reads the whole label area in `max_xfer` chunks and parses its index.
fn read_labels(dimm: &Dimm) -> Result<LabelData> {
    let mut size = [0u8; CONFIG_SIZE_LEN];
    dimm.ctl(cmd::GET_CONFIG_SIZE, &mut size)?;
    let (status, config_size, max_xfer) = (le32(&size, 0), le32(&size, 4), le32(&size, 8));
    if status != 0 || max_xfer == 0 || config_size == 0 {
        dev_dbg!(&dimm.dev, "failed to init config data area: ({}:{})\n", max_xfer, config_size);
        return Err(ENXIO);
    }
    let mut data = zeroed_vec::<u8, Kmalloc>(config_size as usize, GFP_KERNEL)?;
    let chunk = max_xfer.min(config_size) as usize;
    let mut cmd_buf = zeroed_vec::<u8, Kmalloc>(CONFIG_DATA_HDR + chunk, GFP_KERNEL)?;
    let mut off = 0usize;
    while off < data.len() {
        let len = chunk.min(data.len() - off);
        let buf = &mut cmd_buf[..CONFIG_DATA_HDR + len];
        buf[0..4].copy_from_slice(&(off as u32).to_le_bytes());
        buf[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        dimm.ctl(cmd::GET_CONFIG_DATA, buf)?;
        data[off..off + len].copy_from_slice(&buf[CONFIG_DATA_HDR..]);
        off += len;
    }
    // Without a valid index C counts slots at the label size it tried
    // last, 256 bytes.
    let (has_index, nfree) = match LabelArea::parse(&data) {
        Ok(area) => (true, area.nslot() - area.index().used_slots().count() as u32),
        Err(_) => (false, label::num_label_slots(config_size, label::LabelSize::Bytes256)),
    };
    Ok(LabelData { config_size, max_xfer, data, nfree, has_index })
}

/// The label-derived DPA of a label area: the extent of every label with a
/// size, and the uuid of its namespace (what C reserves per DIMM at probe,
/// `nd_label_reserve_dpa`). Both the free-space attributes (`with_extents`)
/// and namespace sizing (namespace.rs) read DIMM allocations through it.
fn label_dpa(data: &[u8], mut f: impl FnMut(&[u8; NSLABEL_UUID_LEN], Extent) -> Result) -> Result {
    if let Ok(area) = LabelArea::parse(data) {
        for (_, l) in area.labels() {
            if l.rawsize != 0 {
                f(&l.uuid, Extent { start: l.dpa, len: l.rawsize })?;
            }
        }
    }
    Ok(())
}
