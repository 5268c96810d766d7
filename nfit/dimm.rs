// SPDX-License-Identifier: GPL-2.0
//! NFIT DIMMs (`struct nfit_mem`): what the table says about each one, the
//! command family it speaks, and its nfit/ attributes on nmemN.

use core::fmt::Write;

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::bus::Transport;
use crate::formats::nfit::dsm::{dimm_cmd_mask, NVDIMM_FAMILY_INTEL};
use crate::formats::nfit::intel::{
    NVDIMM_INTEL_FREEZE_LOCK, NVDIMM_INTEL_FW_ACTIVATE_CMDMASK, NVDIMM_INTEL_GET_SECURITY_STATE,
};
use crate::intel::{BusFwa, DimmFwa};
use crate::formats::nfit::{self, Dimm, DimmId};
use crate::glue::acpi::Handle;
use crate::abi::provider::{FlushHintMap, NewDimm, Security};
use crate::glue::sysfs::{Attribute, Page};
use crate::{attribute_group, dimm_provider_attrs, group_list};

/// NDD_UNARMED: libnvdimm treats the DIMM's labels as read-only.
const NDD_UNARMED: u64 = 1 << 1;

/// The identity fields of a DIMM's control region.
#[derive(Clone, Copy)]
pub(crate) struct DcrInfo {
    vendor: u16,
    device: u16,
    rev_id: u16,
    subsystem_vendor: u16,
    subsystem_device: u16,
    subsystem_rev_id: u16,
    serial: u32,
    format: u16,
}

/// A DIMM of an NFIT, as nfit hands it to libnvdimm.
pub(crate) struct NfitDimm {
    transport: Arc<Transport>,
    handle: u32,
    phys_id: u16,
    dcr: Option<DcrInfo>,
    /// Byte-addressable formats (1 when the DIMM maps persistent memory).
    formats: u32,
    /// MEM_* flags of all its memdevs.
    mem_flags: u16,
    id: DimmId,
    /// The DSM family (NVDIMM_FAMILY_*), None when unknown.
    family: Option<u32>,
    /// ND_CMD_CALL families the firmware implements.
    family_mask: u64,
    /// DSM functions implemented in `family`.
    pub(crate) dsm_mask: u64,
    /// The DIMM's ACPI companion (ACPI only).
    acpi: Option<Handle>,
    /// Label commands through _LSI/_LSR/_LSW (ACPI only).
    lsr: bool,
    lsw: bool,
    /// The last shutdown was dirty (NFIT_MEM_DIRTY).
    dirty: bool,
    /// Dirty shutdown count, when the firmware reports one.
    dirty_shutdown: Option<u32>,
    /// Physical addresses of its flush hints.
    hints: KVec<u64>,
    /// Its part in firmware activation, when it and its bus take part.
    fwa: Option<Pin<KBox<DimmFwa>>>,
}

impl NfitDimm {
    /// The NFIT device handle.
    pub(crate) fn handle(&self) -> u32 {
        self.handle
    }

    pub(crate) fn family(&self) -> Option<u32> {
        self.family
    }

    pub(crate) fn family_mask(&self) -> u64 {
        self.family_mask
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Its part in firmware activation, if it takes part.
    pub(crate) fn fwa(&self) -> Option<&DimmFwa> {
        self.fwa.as_deref()
    }

    pub(crate) fn acpi(&self) -> Option<Handle> {
        self.acpi
    }

    pub(crate) fn lsr(&self) -> bool {
        self.lsr
    }

    pub(crate) fn lsw(&self) -> bool {
        self.lsw
    }

    /// The ND commands libnvdimm may send (`acpi_nfit_register_dimms`):
    /// ND_CMD_CALL, the standard commands of an Intel-family DSM, and the
    /// label commands when the label methods carry them.
    pub(crate) fn cmd_mask(&self) -> u64 {
        let mut cmd_mask = match self.family {
            Some(f) => dimm_cmd_mask(f, self.dsm_mask),
            None => 1 << crate::formats::cmd::CALL,
        };
        if self.lsr {
            cmd_mask |= 1 << crate::formats::cmd::GET_CONFIG_SIZE | 1 << crate::formats::cmd::GET_CONFIG_DATA;
        }
        if self.lsw {
            cmd_mask |= 1 << crate::formats::cmd::SET_CONFIG_DATA;
        }
        cmd_mask
    }

    /// The descriptor libnvdimm creates nmemN from.
    pub(crate) fn into_desc(self) -> Result<NewDimm<NfitDimm>> {
        // Mapped for the DIMM's lifetime (C maps them when a region
        // activates; the DIMM is what they belong to).
        let mut flush_hints = FlushHintMap::new();
        for &addr in self.hints.iter() {
            match &*self.transport {
                Transport::Acpi(_) => flush_hints.map_io(addr)?,
                Transport::Emulated(p) => flush_hints.map_platform(p.ranges(), addr)?,
            }
        }
        let cmd_mask = self.cmd_mask();
        let flags = if self.mem_flags & nfit::MEM_NOT_ARMED != 0 { NDD_UNARMED } else { 0 };
        let intel = self.family == Some(NVDIMM_FAMILY_INTEL);
        let security = Security {
            supported: intel && self.dsm_mask & (1 << NVDIMM_INTEL_GET_SECURITY_STATE) != 0,
            mutable: false,
            freezable: intel && self.dsm_mask & (1 << NVDIMM_INTEL_FREEZE_LOCK) != 0,
        };
        let fw_activation = self.fwa.is_some();
        Ok(NewDimm {
            data: Arc::new(self, GFP_KERNEL)?,
            groups: &NFIT_DIMM_GROUPS,
            flags,
            cmd_mask,
            security,
            flush_hints,
            fw_activation,
        })
    }
}

/// Builds a DIMM's description from the table, then asks the firmware
/// which commands it speaks (`acpi_nfit_add_dimm`). On a bus that
/// activates firmware (`bus_fwa`), an Intel-family DIMM with both
/// activation functions takes part (`acpi_nfit_get_fw_ops`).
pub(crate) fn assemble(d: &Dimm<'_>, transport: &Arc<Transport>, bus_fwa: Option<&Arc<BusFwa>>) -> Result<NfitDimm> {
    let dcr = d.dcr.map(|c| DcrInfo {
        vendor: c.vendor_id_be(),
        device: c.device_id_be(),
        rev_id: c.revision_id_be(),
        subsystem_vendor: c.subsystem_vendor_id_be(),
        subsystem_device: c.subsystem_device_id_be(),
        subsystem_rev_id: c.subsystem_revision_id_be(),
        serial: c.serial_number_be(),
        format: c.code(),
    });
    let mut dimm = NfitDimm {
        transport: transport.clone(),
        handle: d.handle.0,
        phys_id: d.physical_id(),
        dcr,
        formats: d.memdev_pmem.is_some() as u32,
        mem_flags: d.flags,
        id: d.id().ok_or(ENODEV)?,
        family: Some(NVDIMM_FAMILY_INTEL),
        family_mask: 1 << NVDIMM_FAMILY_INTEL,
        dsm_mask: 0,
        acpi: None,
        lsr: false,
        lsw: false,
        dirty: false,
        dirty_shutdown: None,
        hints: KVec::new(),
        fwa: None,
    };
    if let Some(f) = d.flush {
        for addr in f.hint_addresses() {
            dimm.hints.push(addr, GFP_KERNEL)?;
        }
    }
    match &**transport {
        Transport::Emulated(p) => dimm.dsm_mask = p.masks.dimm_dsm_mask,
        Transport::Acpi(dsm) => dsm.probe_dimm(&mut dimm)?,
    }
    if let Some(bus_fwa) = bus_fwa {
        let fwa_funcs = dimm.dsm_mask & NVDIMM_INTEL_FW_ACTIVATE_CMDMASK == NVDIMM_INTEL_FW_ACTIVATE_CMDMASK;
        if dimm.family == Some(NVDIMM_FAMILY_INTEL) && fwa_funcs {
            dimm.fwa = Some(DimmFwa::new(bus_fwa.clone())?);
        }
    }
    if dimm.family == Some(NVDIMM_FAMILY_INTEL) {
        if let Some(state) = crate::intel::shutdown_state(&dimm) {
            dimm.dirty = state.dirty;
            dimm.dirty_shutdown = state.count;
        }
    }
    Ok(dimm)
}

/// What the ACPI transport learns about a DIMM.
pub(crate) struct DsmFacts {
    pub(crate) family: Option<u32>,
    pub(crate) family_mask: u64,
    pub(crate) dsm_mask: u64,
    pub(crate) lsr: bool,
    pub(crate) lsw: bool,
    pub(crate) acpi: Option<Handle>,
}

impl NfitDimm {
    /// Records what the firmware's _DSM offers.
    pub(crate) fn set_dsm_facts(&mut self, f: DsmFacts) {
        self.family = f.family;
        self.family_mask = f.family_mask;
        self.dsm_mask = f.dsm_mask;
        self.lsr = f.lsr;
        self.lsw = f.lsw;
        self.acpi = f.acpi;
    }
}

dimm_provider_attrs!(NfitDimm);

// A helper for the many "0x%04x" control-region fields; ENXIO without one
// (such attributes are hidden then anyway).
fn dcr_field(dimm: &NfitDimm, page: &mut Page, f: fn(&DcrInfo) -> u16) -> Result {
    let dcr = dimm.dcr.as_ref().ok_or(ENXIO)?;
    let _ = writeln!(page, "0x{:04x}", f(dcr));
    Ok(())
}

// nfit/handle and nfit/phys_id: from the DIMM's memdev.
fn handle_show(dimm: &NfitDimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", dimm.handle);
    Ok(())
}
static HANDLE: Attribute<NfitDimm> = Attribute::ro(c"handle", handle_show);

fn phys_id_show(dimm: &NfitDimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", dimm.phys_id);
    Ok(())
}
static PHYS_ID: Attribute<NfitDimm> = Attribute::ro(c"phys_id", phys_id_show);

// nfit/{vendor,device,rev_id,subsystem_*,format}: control-region identity.
fn vendor_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.vendor)
}
static VENDOR: Attribute<NfitDimm> = Attribute::ro(c"vendor", vendor_show).visible_if(dcr_visible);

fn device_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.device)
}
static DEVICE: Attribute<NfitDimm> = Attribute::ro(c"device", device_show).visible_if(dcr_visible);

fn rev_id_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.rev_id)
}
static REV_ID: Attribute<NfitDimm> = Attribute::ro(c"rev_id", rev_id_show).visible_if(dcr_visible);

fn subsystem_vendor_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.subsystem_vendor)
}
static SUBSYSTEM_VENDOR: Attribute<NfitDimm> =
    Attribute::ro(c"subsystem_vendor", subsystem_vendor_show).visible_if(dcr_visible);

fn subsystem_device_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.subsystem_device)
}
static SUBSYSTEM_DEVICE: Attribute<NfitDimm> =
    Attribute::ro(c"subsystem_device", subsystem_device_show).visible_if(dcr_visible);

fn subsystem_rev_id_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.subsystem_rev_id)
}
static SUBSYSTEM_REV_ID: Attribute<NfitDimm> =
    Attribute::ro(c"subsystem_rev_id", subsystem_rev_id_show).visible_if(dcr_visible);

fn format_show(d: &NfitDimm, p: &mut Page) -> Result {
    dcr_field(d, p, |c| c.format)
}
static FORMAT: Attribute<NfitDimm> = Attribute::ro(c"format", format_show).visible_if(dcr_visible);

// nfit/formats: how many byte-addressable formats the DIMM publishes. C
// counts at most one, so its format1 attribute never shows and is left out.
fn formats_show(d: &NfitDimm, p: &mut Page) -> Result {
    let _ = writeln!(p, "{}", d.formats);
    Ok(())
}
static FORMATS: Attribute<NfitDimm> = Attribute::ro(c"formats", formats_show).visible_if(dcr_visible);

// nfit/serial: big-endian in the table, shown as a number.
fn serial_show(d: &NfitDimm, p: &mut Page) -> Result {
    let dcr = d.dcr.as_ref().ok_or(ENXIO)?;
    let _ = writeln!(p, "0x{:08x}", dcr.serial);
    Ok(())
}
static SERIAL: Attribute<NfitDimm> = Attribute::ro(c"serial", serial_show).visible_if(dcr_visible);

// nfit/family and nfit/dsm_mask: ENXIO when the family is unknown.
fn family_show(d: &NfitDimm, p: &mut Page) -> Result {
    let f = d.family.ok_or(ENXIO)?;
    let _ = writeln!(p, "{f}");
    Ok(())
}
static FAMILY: Attribute<NfitDimm> = Attribute::ro(c"family", family_show);

fn dsm_mask_show(d: &NfitDimm, p: &mut Page) -> Result {
    d.family.ok_or(ENXIO)?;
    let _ = writeln!(p, "{:#x}", d.dsm_mask);
    Ok(())
}
static DSM_MASK: Attribute<NfitDimm> = Attribute::ro(c"dsm_mask", dsm_mask_show);

// nfit/flags: the memdev health flags, each followed by a space; a dirty
// shutdown reads as a failed flush.
fn flags_show(d: &NfitDimm, p: &mut Page) -> Result {
    let mut flags = d.mem_flags;
    if d.dirty {
        flags |= nfit::MEM_FLUSH_FAILED;
    }
    let names = [
        (nfit::MEM_SAVE_FAILED, "save_fail "),
        (nfit::MEM_RESTORE_FAILED, "restore_fail "),
        (nfit::MEM_FLUSH_FAILED, "flush_fail "),
        (nfit::MEM_NOT_ARMED, "not_armed "),
        (nfit::MEM_HEALTH_OBSERVED, "smart_event "),
        (nfit::MEM_MAP_FAILED, "map_fail "),
        (nfit::MEM_HEALTH_ENABLED, "smart_notify "),
    ];
    for (bit, name) in names {
        if flags & bit != 0 {
            let _ = p.write_str(name);
        }
    }
    let _ = writeln!(p);
    Ok(())
}
static FLAGS: Attribute<NfitDimm> = Attribute::ro(c"flags", flags_show);

// nfit/id: vendor-location-date-serial, the DIMM's unique id.
fn id_show(d: &NfitDimm, p: &mut Page) -> Result {
    let _ = writeln!(p, "{}", d.id.as_str());
    Ok(())
}
static ID: Attribute<NfitDimm> = Attribute::ro(c"id", id_show).visible_if(dcr_visible);

// nfit/dirty_shutdown: the firmware's dirty shutdown count, when it has one.
fn dirty_shutdown_show(d: &NfitDimm, p: &mut Page) -> Result {
    let _ = writeln!(p, "{}", d.dirty_shutdown.ok_or(ENXIO)?);
    Ok(())
}
static DIRTY_SHUTDOWN: Attribute<NfitDimm> =
    Attribute::ro(c"dirty_shutdown", dirty_shutdown_show).visible_if(dirty_shutdown_visible);

/// Without a control region only the memdev attributes can be shown.
fn dcr_visible(d: &NfitDimm, attr: &'static Attribute<NfitDimm>) -> Option<u16> {
    d.dcr.is_some().then(|| attr.mode())
}

fn dirty_shutdown_visible(d: &NfitDimm, attr: &'static Attribute<NfitDimm>) -> Option<u16> {
    (d.dcr.is_some() && d.dirty_shutdown.is_some()).then(|| attr.mode())
}

attribute_group!(static NFIT_DIMM_GROUP: NfitDimm, dir = Some(c"nfit"), [
    HANDLE, PHYS_ID, VENDOR, DEVICE, REV_ID, SUBSYSTEM_VENDOR, SUBSYSTEM_DEVICE,
    SUBSYSTEM_REV_ID, FORMAT, FORMATS, SERIAL, FLAGS, ID, FAMILY, DSM_MASK, DIRTY_SHUTDOWN,
]);
group_list!(static NFIT_DIMM_GROUPS: NfitDimm = [NFIT_DIMM_GROUP]);
