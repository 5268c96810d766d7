// SPDX-License-Identifier: GPL-2.0
//! An NFIT turned into an nd bus: the provider object, its nfit/ attributes
//! on ndbusN, and how commands reach the platform.

use core::ffi::CStr;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::ars::{Notify, Req, Scrub};
use crate::dimm::{self, NfitDimm};
use crate::health::{DimmNotify, Health, Poll, NFIT_NOTIFY_DIMM_HEALTH};
use crate::glue::acpi::NotifyRegistration;
use crate::region::Backing;
use crate::formats::cmd;
use crate::formats::le::u64_at;
use crate::formats::nfit::dsm::{NVDIMM_BUS_FAMILY_INTEL, NVDIMM_BUS_FAMILY_NFIT, PKG_FAMILY};
use crate::formats::nfit::intel::NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK;
use crate::formats::nfit::Nfit;
use crate::glue::device::Device;
use crate::abi::nfit::{Events, NfitCore, PlatformHandle};
use crate::abi::provider::{Bus, BusDesc, BusProvider, Completion, FwaCapability, FwaResult, FwaState, FwaTrigger};
use crate::intel::BusFwa;
use crate::glue::sysfs::{self, Attribute, Page};
use crate::{attribute_group, bus_provider_attrs, dev_dbg, dev_err, group_list};

/// How commands reach the firmware.
pub(crate) enum Transport {
    /// An emulated platform (nfit_test) answers ND commands itself.
    Emulated(PlatformHandle),
    /// ACPI _DSM methods of the NFIT root device and its DIMM children.
    Acpi(crate::acpi::Dsm),
}

impl Transport {
    /// Runs ND command `cmd` on the bus or on `dimm`, in place on `buf`.
    /// For the scrub's own commands, which raise no notification.
    pub(crate) fn ctl(&self, dimm: Option<&NfitDimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion> {
        self.ctl_events(dimm, cmd, buf, &mut Events::default())
    }

    /// [`Transport::ctl`], adding the notifications the command raised to
    /// `events`. Firmware behind ACPI notifies through the ACPI device
    /// instead: the root device for bus events (which nfit does not
    /// listen to yet), each DIMM's device for its health events
    /// (`crate::health::DimmNotify`).
    pub(crate) fn ctl_events(
        &self,
        dimm: Option<&NfitDimm>,
        cmd: u32,
        buf: &mut [u8],
        events: &mut Events,
    ) -> Result<Completion> {
        match self {
            Transport::Emulated(p) => p.ctl(dimm.map(|d| d.handle()), cmd, buf, events),
            Transport::Acpi(dsm) => dsm.ctl(dimm, cmd, buf),
        }
    }
}

/// ndbusN's provider (`struct acpi_nfit_desc`).
pub(crate) struct NfitBus {
    transport: Arc<Transport>,
    /// ACPI header revision of the NFIT.
    revision: u8,
    /// Root DSM functions beyond the ND commands (nfit/dsm_mask).
    bus_dsm_mask: u64,
    /// ND commands on the bus.
    cmd_mask: u64,
    /// ND_CMD_CALL families on the bus.
    bus_family_mask: u64,
    /// Intel bus-family functions.
    bus_intel_mask: u64,
    /// Address range scrubs.
    scrub: Arc<Scrub>,
    /// UC memory error notifications, and nfit/hw_error_scrub.
    notify: Arc<Notify>,
    /// Where DIMM health events go.
    health: Arc<Health>,
    /// Firmware activation, when the bus offers the Intel family's
    /// activation functions (C installs `intel_bus_fw_ops` then).
    fwa: Option<Arc<BusFwa>>,
}

/// A registered NFIT bus. Scrubbing stops before the bus goes: the work
/// talks to the platform, which may go right after.
pub(crate) struct NfitBusReg {
    bus: Bus<NfitBus>,
    /// The DIMMs' ACPI notify handlers (ACPI only).
    dimm_notify: KVec<NotifyRegistration<DimmNotify>>,
    /// The opt-in SMART poll, when on.
    poll: Option<Arc<Poll>>,
}

impl Drop for NfitBusReg {
    fn drop(&mut self) {
        // Health events first: the handlers are removed (waiting for one
        // in progress) and the poll stops before the DIMMs go.
        drop(core::mem::replace(&mut self.dimm_notify, KVec::new()));
        if let Some(p) = &self.poll {
            p.cancel();
        }
        self.bus.provider().health.detach();
        // A notification schedules scrubs: it stops first.
        self.bus.provider().notify.cancel();
        self.bus.provider().scrub.cancel();
    }
}

impl BusProvider for NfitBus {
    type Dimm = NfitDimm;
    type Region = crate::region::NfitRegion;

    fn ctl(&self, dimm: Option<&NfitDimm>, cmd: u32, buf: &mut [u8]) -> Result<Completion> {
        let mut events = Events::default();
        let done = self.transport.ctl_events(dimm, cmd, buf, &mut events);
        // An injection with the notify option (nfit_test's uc_error_notify()).
        if events.has_uc_memory_error() {
            Notify::uc_memory_error(&self.notify);
        }
        // A health event on the DIMM (nfit_test's smart_notify()).
        if events.has_dimm_health() {
            if let Some(d) = dimm {
                self.health.notify(d.handle(), NFIT_NOTIFY_DIMM_HEALTH);
            }
        }
        done
    }

    // acpi_nfit_clear_to_send(), meant to keep security and firmware
    // activation away from ioctls. C hands it the package's function where
    // it expects the command, so its checks only fire for a package whose
    // function is ND_CMD_CALL's number: on the bus, any family but NFIT's
    // is then refused; on a DIMM, function 10 is not among the Intel ones
    // it refuses, so nothing is. (C also refuses a bus ARS_START, or a
    // package of function 2, while its scrub work is queued: not here.)
    fn clear_to_send(&self, dimm: Option<&NfitDimm>, func: u32, buf: &[u8]) -> Result {
        if dimm.is_none() && func == cmd::CALL && u64_at(buf, PKG_FAMILY) != u64::from(NVDIMM_BUS_FAMILY_NFIT) {
            return Err(crate::glue::eopnotsupp());
        }
        Ok(())
    }

    fn security_flags(dimm: &NfitDimm, master: bool) -> u64 {
        crate::intel::security_flags(dimm, master)
    }

    fn fwa_state(&self) -> FwaState {
        self.fwa.as_ref().map_or(FwaState::Invalid, |f| f.state())
    }

    fn fwa_capability(&self) -> FwaCapability {
        self.fwa.as_ref().map_or(FwaCapability::Invalid, |f| f.capability())
    }

    fn fwa_activate(&self) -> Result {
        self.fwa.as_ref().ok_or(ENXIO)?.activate()
    }

    fn dimm_fwa_state(dimm: &NfitDimm) -> FwaState {
        dimm.fwa().map_or(FwaState::Invalid, |f| f.state(dimm))
    }

    fn dimm_fwa_result(dimm: &NfitDimm) -> FwaResult {
        dimm.fwa().map_or(FwaResult::Invalid, |f| f.result(dimm))
    }

    fn dimm_fwa_arm(dimm: &NfitDimm, trigger: FwaTrigger) -> Result {
        dimm.fwa().ok_or(ENXIO)?.arm(dimm, trigger)
    }

    // Test-only: registered only for a platform that emulates power cuts
    // (nfit_test's media_write_budget).
    fn media_write(&self, phys: u64, len: u64) -> u64 {
        match &*self.transport {
            Transport::Emulated(p) => p.media_write(phys, len),
            Transport::Acpi(_) => len,
        }
    }
}

bus_provider_attrs!(NfitBus);

impl NfitBus {
    fn ars_supported(&self) -> bool {
        let ars = 1 << cmd::ARS_CAP | 1 << cmd::ARS_START | 1 << cmd::ARS_STATUS;
        self.cmd_mask & ars == ars
    }

    fn fwa_supported(&self) -> bool {
        self.bus_family_mask & (1 << NVDIMM_BUS_FAMILY_INTEL) != 0 && self.bus_intel_mask == NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK
    }
}

// nfit/revision: the NFIT's ACPI revision.
fn revision_show(bus: &NfitBus, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", bus.revision);
    Ok(())
}
static REVISION: Attribute<NfitBus> = Attribute::ro(c"revision", revision_show);

// nfit/dsm_mask: root DSM functions.
fn dsm_mask_show(bus: &NfitBus, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", bus.bus_dsm_mask);
    Ok(())
}
static DSM_MASK: Attribute<NfitBus> = Attribute::ro(c"dsm_mask", dsm_mask_show);

// nfit/hw_error_scrub: 0 (default) only records a memory error's address;
// 1 scrubs the whole range. Other values are EINVAL.
fn hw_error_scrub_show(bus: &NfitBus, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", bus.notify.hw_error_scrub.load(Ordering::Relaxed));
    Ok(())
}
fn hw_error_scrub_store(bus: &NfitBus, input: &[u8]) -> Result {
    match sysfs::parse_i64(input, 0)? {
        v @ (0 | 1) => {
            bus.notify.hw_error_scrub.store(v as u32, Ordering::Relaxed);
            Ok(())
        }
        _ => Err(EINVAL),
    }
}
static HW_ERROR_SCRUB: Attribute<NfitBus> = Attribute::rw(c"hw_error_scrub", hw_error_scrub_show, hw_error_scrub_store);

// nfit/scrub: completed address range scrubs, "+" while one runs (ndctl
// polls it). Only visible when the platform implements ARS. Writing 1
// asks for a long scrub of every range: EBUSY if all are owed one
// already, ENOTTY if no range can be scrubbed.
fn scrub_show(bus: &NfitBus, page: &mut Page) -> Result {
    let (count, busy) = bus.scrub.progress();
    let _ = writeln!(page, "{}{}", count, if busy { "+" } else { "" });
    Ok(())
}
fn scrub_store(bus: &NfitBus, input: &[u8]) -> Result {
    if sysfs::parse_i64(input, 0)? != 1 {
        return Err(EINVAL);
    }
    Scrub::rescan(&bus.scrub, Req::Long)
}
static SCRUB: Attribute<NfitBus> = Attribute::rw(c"scrub", scrub_show, scrub_store).visible_if(scrub_visible);

fn scrub_visible(bus: &NfitBus, attr: &'static Attribute<NfitBus>) -> Option<u16> {
    bus.ars_supported().then(|| attr.mode())
}

// nfit/firmware_activate_noidle: "Y" when the OS idles devices itself
// before an activation, so firmware need not force them idle; "N" at
// first. Written with kstrtobool (its errno); a change makes the bus's
// capability be asked again.
fn fwa_noidle_show(bus: &NfitBus, page: &mut Page) -> Result {
    let noidle = bus.fwa.as_ref().is_some_and(|f| f.noidle());
    let _ = writeln!(page, "{}", if noidle { "Y" } else { "N" });
    Ok(())
}
fn fwa_noidle_store(bus: &NfitBus, input: &[u8]) -> Result {
    let noidle = sysfs::parse_bool(input)?;
    bus.fwa.as_ref().ok_or(ENXIO)?.set_noidle(noidle);
    Ok(())
}
static FWA_NOIDLE: Attribute<NfitBus> =
    Attribute::rw(c"firmware_activate_noidle", fwa_noidle_show, fwa_noidle_store).visible_if(fwa_visible);

fn fwa_visible(bus: &NfitBus, attr: &'static Attribute<NfitBus>) -> Option<u16> {
    bus.fwa_supported().then(|| attr.mode())
}

attribute_group!(static NFIT_BUS_GROUP: NfitBus, dir = Some(c"nfit"), [REVISION, SCRUB, HW_ERROR_SCRUB, DSM_MASK, FWA_NOIDLE]);
group_list!(static NFIT_BUS_GROUPS: NfitBus = [NFIT_BUS_GROUP]);

/// The masks that shape a bus: from the root device's _DSM on ACPI, from
/// the platform's declaration when emulated.
pub(crate) struct BusMasks {
    /// ND commands on the bus (ND_CMD_CALL included).
    pub(crate) cmd_mask: u64,
    /// nfit/dsm_mask.
    pub(crate) bus_dsm_mask: u64,
    /// Intel bus-family functions.
    pub(crate) bus_intel_mask: u64,
}

/// Parses `table` and registers its bus and DIMMs with libnvdimm.
pub(crate) fn register(
    parent: &Device,
    table: &[u8],
    transport: Transport,
    masks: BusMasks,
    provider_name: Option<&'static CStr>,
    backing: &[Backing],
) -> Result<NfitBusReg> {
    // Firmware hands over the whole table; emulated platforms, like C's
    // nfit_test, may pass just the subtables, which leaves the revision 0.
    let parsed = if table.starts_with(&crate::formats::nfit::SIGNATURE) {
        Nfit::parse_table(table).map(|(h, n)| (h.info.revision, n))
    } else {
        Nfit::parse_body(table).map(|n| (0, n))
    };
    let (revision, nfit) = parsed.map_err(|e| {
        dev_err!(parent, "NFIT rejected: {:?}\n", e);
        Error::from_errno(-e.to_errno())
    })?;
    let transport = Arc::new(transport, GFP_KERNEL)?;
    let scrub = Scrub::new(transport.clone())?;
    let notify = Notify::new(scrub.clone())?;
    let health = Health::new()?;

    // The Intel bus family is firmware activation: with it, the bus and
    // its DIMMs get their activation ops.
    let mut bus_family_mask = 1 << NVDIMM_BUS_FAMILY_NFIT;
    let mut fwa = None;
    if masks.bus_intel_mask != 0 {
        bus_family_mask |= 1 << NVDIMM_BUS_FAMILY_INTEL;
        fwa = Some(BusFwa::new(transport.clone(), parent)?);
    }
    let provider = NfitBus {
        transport: transport.clone(),
        revision,
        bus_dsm_mask: masks.bus_dsm_mask,
        cmd_mask: masks.cmd_mask,
        bus_family_mask,
        bus_intel_mask: masks.bus_intel_mask,
        scrub: scrub.clone(),
        notify,
        health: health.clone(),
        fwa: fwa.clone(),
    };
    let ars = provider.ars_supported();

    // DIMMs first, so that the bus learns the DIMM families before it registers.
    let mut dimms = KVec::new();
    let mut dimm_family_mask = 0u64;
    for d in nfit.dimms() {
        match dimm::assemble(&d, &transport, fwa.as_ref()) {
            Ok(new) => {
                if let Some(f) = new.family() {
                    dimm_family_mask |= 1 << f;
                }
                dimm_family_mask |= new.family_mask();
                dimms.push(new, GFP_KERNEL)?;
            }
            Err(e) => dev_dbg!(parent, "DIMM {:#x} skipped: {:?}\n", d.handle.0, e.to_errno()),
        }
    }

    let desc = BusDesc {
        provider_name,
        cmd_mask: masks.cmd_mask,
        dimm_family_mask,
        bus_family_mask,
        groups: &NFIT_BUS_GROUPS,
        owner: &crate::THIS_MODULE,
        media_fault: matches!(&*transport, Transport::Emulated(p) if p.has_media_fault()),
        fw_activation: fwa.is_some(),
    };
    let bus = Bus::register(parent, desc, Arc::new(provider, GFP_KERNEL)?)?;
    let mut reg = NfitBusReg { bus, dimm_notify: KVec::new(), poll: None };
    let mut refs = KVec::with_capacity(dimms.len(), GFP_KERNEL)?;
    let mut datas = KVec::with_capacity(dimms.len(), GFP_KERNEL)?;
    for d in dimms {
        let handle = d.handle();
        let desc = d.into_desc()?;
        datas.push(desc.data.clone(), GFP_KERNEL)?;
        refs.push((handle, reg.bus.add_dimm(desc)?), GFP_KERNEL)?;
    }
    // Health events reach the DIMMs from here on (C enables them once the
    // DIMMs are registered): from each DIMM's ACPI device on firmware, from
    // the platform's commands when emulated.
    health.attach(reg.bus.link(), &refs)?;
    if let Transport::Acpi(dsm) = &*transport {
        for &(handle, adev) in dsm.dimm_handles() {
            if !refs.iter().any(|(h, _)| *h == handle) {
                continue;
            }
            let reg_notify = adev.install_notify(DimmNotify::new(health.clone(), handle)?).inspect_err(|_| {
                dev_err!(parent, "DIMM {:#x}: notification registration failed\n", handle);
            })?;
            reg.dimm_notify.push(reg_notify, GFP_KERNEL)?;
        }
    }
    // Beyond C: the opt-in SMART poll (nfit.smart_poll_secs).
    let secs = crate::abi::nfit::params::smart_poll_secs();
    if secs != 0 {
        reg.poll = Poll::start(health.clone(), &datas, secs)?;
    }
    // Scrubs report to the bus; the short ones run before regions
    // register, so that regions start with what firmware knows.
    scrub.attach(reg.bus.link());
    Scrub::register(&scrub, parent, &nfit, ars)?;
    crate::region::register_all(parent, &nfit, &mut reg.bus, &refs, backing)?;
    Ok(reg)
}

/// The emulated-platform entry point (nfit_test).
pub(crate) struct Emulated;

impl NfitCore for Emulated {
    type Nfit = NfitBusReg;

    fn register(parent: &Device, table: &[u8], platform: PlatformHandle) -> Result<KBox<NfitBusReg>> {
        let m = &platform.masks;
        // The platform's bus commands replace what a root _DSM would offer.
        let masks = BusMasks {
            cmd_mask: if m.bus_cmd_mask != 0 { m.bus_cmd_mask } else { 1 << cmd::CALL },
            bus_dsm_mask: m.bus_dsm_mask,
            bus_intel_mask: m.bus_intel_dsm_mask,
        };
        let mut backing = KVec::new();
        for r in platform.ranges() {
            backing.push(r, GFP_KERNEL)?;
        }
        let bus = register(parent, table, Transport::Emulated(platform), masks, None, &backing)?;
        Ok(KBox::new(bus, GFP_KERNEL)?)
    }

    fn unregister(nfit: KBox<NfitBusReg>) {
        drop(nfit);
    }
}
