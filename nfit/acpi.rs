// SPDX-License-Identifier: GPL-2.0
//! The ACPI side of nfit: binding the NVDIMM root device (ACPI0012), reading
//! the NFIT (or _FIT), and carrying ND commands to the firmware's _DSM
//! methods, as `acpi_nfit_ctl` does.

use kernel::prelude::*;

use crate::bus::{self, BusMasks, Transport};
use crate::dimm::{DsmFacts, NfitDimm};
use crate::formats::cmd;
use crate::formats::le::{u32_at as le32, u64_at as le64};
use crate::formats::nfit::dsm::*;
use crate::formats::nfit::intel::{NVDIMM_INTEL_CMDMASK, NVDIMM_INTEL_FW_ACTIVATE_ARM, ND_INTEL_GET_MODES};
use crate::formats::nfit::{Guid, Nfit, TABLE_HEADER_LEN};
use crate::glue::acpi::{AcpiDevice, AcpiDriver, AcpiDriverOps, AcpiDriverRegistration, Handle, Table, Value};
use crate::abi::provider::Completion;
use crate::{dev_dbg, dev_err};

static NFIT_DRIVER: AcpiDriver = AcpiDriver::new::<NfitAcpi>("nfit", "ACPI0012");

/// The registration kept by the module.
pub(crate) type DriverRegistration = AcpiDriverRegistration;

pub(crate) fn register(module: &'static ThisModule) -> Result<DriverRegistration> {
    NFIT_DRIVER.register(module)
}

/// _DSM GUIDs of the DIMM families, indexed by family (`to_nfit_uuid`);
/// PAPR has none.
const DIMM_GUIDS: [Option<Guid>; 6] = [
    Some(Guid::from_fields(0x4309ac30, 0x0d11, 0x11e4, [0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66])),
    Some(Guid::from_fields(0x9002c334, 0xacf3, 0x4c0e, [0x96, 0x42, 0xa2, 0x35, 0xf0, 0xd5, 0x3b, 0xc6])),
    Some(Guid::from_fields(0x5008664b, 0xb758, 0x41a0, [0xa0, 0x3c, 0x27, 0xc2, 0xf2, 0xd0, 0x4f, 0x7e])),
    Some(Guid::from_fields(0x1ee68b36, 0xd4bd, 0x4a1a, [0x9a, 0x16, 0x4f, 0x8e, 0x53, 0xd4, 0x6e, 0x05])),
    Some(Guid::from_fields(0x5746c5f2, 0xa9a2, 0x4264, [0xad, 0x0e, 0xe4, 0xdd, 0xc9, 0xe0, 0x9e, 0x80])),
    None,
];
/// The root device's NFIT _DSM (`UUID_NFIT_BUS`).
const BUS_GUID: Guid = Guid::from_fields(0x2f10e7a4, 0x9e91, 0x11e4, [0x89, 0xd3, 0x12, 0x3b, 0x93, 0xf7, 0x5c, 0xba]);
/// The root device's Intel _DSM (`UUID_INTEL_BUS`).
const INTEL_BUS_GUID: Guid =
    Guid::from_fields(0xc7d8acd4, 0x2df8, 0x4b82, [0x9f, 0x65, 0xa3, 0x25, 0x33, 0x5a, 0xf1, 0x49]);

/// The _DSM revision of a family function (`nfit_dsm_revid`): Intel
/// functions from GET_MODES up to FW_ACTIVATE_ARM are revision 2.
fn dsm_revid(family: u32, func: u32) -> u64 {
    if family == NVDIMM_FAMILY_INTEL && (ND_INTEL_GET_MODES..=NVDIMM_INTEL_FW_ACTIVATE_ARM).contains(&func) {
        2
    } else {
        1
    }
}

struct NfitAcpi;

impl AcpiDriverOps for NfitAcpi {
    type Data = Option<bus::NfitBusReg>;

    fn add(adev: &AcpiDevice) -> Result<KBox<Option<bus::NfitBusReg>>> {
        let dev = adev.device();
        let Some(table) = Table::get(c"NFIT") else {
            // The root device may be populated later through _FIT.
            dev_dbg!(dev, "failed to find NFIT at startup\n");
            return Ok(KBox::new(None, GFP_KERNEL)?);
        };
        // _FIT, when present, supersedes the static table's subtables.
        let mut image = KVec::new();
        match adev.handle().evaluate(c"_FIT", &[]) {
            Some(Value::Buffer(fit)) if !fit.is_empty() => {
                image.extend_from_slice(&table.as_bytes()[..TABLE_HEADER_LEN], GFP_KERNEL)?;
                image.extend_from_slice(&fit, GFP_KERNEL)?;
                fix_table_header(&mut image);
            }
            _ => image.extend_from_slice(table.as_bytes(), GFP_KERNEL)?,
        }

        let dsm = Dsm::new(adev, &image)?;
        let masks = dsm.bus_masks();
        let bus = bus::register(dev, &image, Transport::Acpi(dsm), masks, Some(c"ACPI.NFIT"), &[])?;
        Ok(KBox::new(Some(bus), GFP_KERNEL)?)
    }

    fn remove(_adev: &AcpiDevice, data: KBox<Option<bus::NfitBusReg>>) {
        drop(data);
    }
}

/// Rewrites the length and checksum of a table whose body was replaced.
fn fix_table_header(image: &mut [u8]) {
    let len = image.len() as u32;
    image[4..8].copy_from_slice(&len.to_le_bytes());
    image[9] = 0;
    let sum = image.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    image[9] = sum.wrapping_neg();
}

/// The _DSM transport: the root device and the DIMMs' ACPI companions.
pub(crate) struct Dsm {
    root: Handle,
    /// NFIT device handle to the DIMM's ACPI child.
    dimms: KVec<(u32, Handle)>,
    bus_cmd_mask: u64,
    bus_dsm_mask: u64,
    bus_intel_mask: u64,
}

impl Dsm {
    fn new(adev: &AcpiDevice, image: &[u8]) -> Result<Self> {
        let root = adev.handle();
        let (_, nfit) = Nfit::parse_table(image).map_err(|e| Error::from_errno(-e.to_errno()))?;
        let mut dimms = KVec::new();
        for d in nfit.dimms() {
            match adev.child_by_adr(d.handle.0 as u64) {
                Some(child) => dimms.push((d.handle.0, child.handle()), GFP_KERNEL)?,
                None => dev_err!(adev.device(), "no ACPI.NFIT device with _ADR {:#x}, disabling...\n", d.handle.0),
            }
        }

        // Which root functions the firmware implements (`acpi_nfit_init_dsms`).
        let bus_guid = &BUS_GUID.0;
        let mut bus_cmd_mask = 1 << cmd::CALL;
        for c in cmd::ARS_CAP..=cmd::CLEAR_ERROR {
            if root.check_dsm(bus_guid, 1, 1 << c) {
                bus_cmd_mask |= 1 << c;
            }
        }
        let aux = [NFIT_CMD_TRANSLATE_SPA, NFIT_CMD_ARS_INJECT_SET, NFIT_CMD_ARS_INJECT_CLEAR, NFIT_CMD_ARS_INJECT_GET];
        let mut bus_dsm_mask = 0;
        for f in Iterator::chain(cmd::ARS_CAP..=cmd::CLEAR_ERROR, aux) {
            if root.check_dsm(bus_guid, 1, 1 << f) {
                bus_dsm_mask |= 1 << f;
            }
        }
        let fwa = crate::formats::nfit::intel::NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK;
        let mut intel = 0;
        for f in (0..64).filter(|f| fwa & (1 << f) != 0) {
            if root.check_dsm(&INTEL_BUS_GUID.0, 1, 1 << f) {
                intel |= 1 << f;
            }
        }
        // The Intel bus family only counts when complete.
        let bus_intel_mask = if intel == fwa { intel } else { 0 };
        Ok(Self { root, dimms, bus_cmd_mask, bus_dsm_mask, bus_intel_mask })
    }

    /// Each DIMM's NFIT device handle and ACPI companion.
    pub(crate) fn dimm_handles(&self) -> &[(u32, Handle)] {
        &self.dimms
    }

    fn bus_masks(&self) -> BusMasks {
        BusMasks { cmd_mask: self.bus_cmd_mask, bus_dsm_mask: self.bus_dsm_mask, bus_intel_mask: self.bus_intel_mask }
    }

    /// Finds the DIMM's companion and the commands it speaks
    /// (`acpi_nfit_add_dimm`).
    pub(crate) fn probe_dimm(&self, dimm: &mut NfitDimm) -> Result {
        let handle = dimm.handle();
        let adev = self.dimms.iter().find(|(h, _)| *h == handle).map(|(_, a)| *a).ok_or(ENODEV)?;
        let mut family = None;
        let mut family_mask = 0;
        for (i, guid) in DIMM_GUIDS.iter().enumerate() {
            if let Some(g) = guid {
                if adev.check_dsm(&g.0, 1, 1) {
                    family_mask |= 1 << i;
                    family.get_or_insert(i as u32);
                }
            }
        }
        let candidates: u64 = match family {
            Some(NVDIMM_FAMILY_INTEL) => NVDIMM_INTEL_CMDMASK,
            Some(NVDIMM_FAMILY_HPE1) => 0x1c3c76,
            Some(NVDIMM_FAMILY_HPE2) => 0x1fe,
            Some(NVDIMM_FAMILY_MSFT) => 0xffff_ffff,
            Some(NVDIMM_FAMILY_HYPERV) => 0x1f,
            _ => {
                dev_dbg_dimm(handle);
                dimm.set_dsm_facts(DsmFacts { family: None, family_mask, dsm_mask: 0, lsr: false, lsw: false, acpi: Some(adev) });
                return Ok(());
            }
        };
        let f = family.unwrap_or(0);
        let guid = &DIMM_GUIDS[f as usize].ok_or(ENODEV)?.0;
        let mut dsm_mask = 0u64;
        for i in (1..64).filter(|i| candidates & (1 << i) != 0) {
            if adev.check_dsm(guid, dsm_revid(f, i), 1 << i) {
                dsm_mask |= 1 << i;
            }
        }
        // Without label _DSMs, the _LSI/_LSR/_LSW methods carry labels;
        // labels stay off unless they can also be written.
        let label_mask = 1 << cmd::GET_CONFIG_SIZE | 1 << cmd::GET_CONFIG_DATA | 1 << cmd::SET_CONFIG_DATA;
        let (mut lsr, mut lsw) = (false, false);
        if !(f == NVDIMM_FAMILY_INTEL && candidates & label_mask == label_mask) {
            lsr = adev.has_method(c"_LSI") && adev.has_method(c"_LSR");
            lsw = lsr && adev.has_method(c"_LSW");
            if !lsw {
                lsr = false;
            }
        }
        dimm.set_dsm_facts(DsmFacts { family, family_mask, dsm_mask, lsr, lsw, acpi: Some(adev) });
        Ok(())
    }

    /// Runs ND command `cmd` through the firmware (`acpi_nfit_ctl`).
    pub(crate) fn ctl(&self, dimm: Option<&NfitDimm>, cmd_nr: u32, buf: &mut [u8]) -> Result<Completion> {
        let call = cmd_nr == cmd::CALL;
        if call && buf.len() < cmd::PKG_HEADER {
            return Err(EINVAL);
        }

        // Which function (`cmd_to_func`): a package names its own, after
        // its family matches the DIMM's and its reserved words are zero;
        // otherwise bus commands are bus functions, and Intel-family DIMMs
        // number functions as ND commands.
        let func: i32 = if call {
            if let Some(d) = dimm {
                if d.family().map(u64::from) != Some(le64(buf, PKG_FAMILY)) {
                    return Err(ENOTTY);
                }
            }
            if buf[PKG_RESERVED..PKG_FW_SIZE].iter().any(|&b| b != 0) {
                return Err(EINVAL);
            }
            // C returns the u64 nd_command as an int: the low 32 bits, and
            // a negative one is returned as the error.
            let f = le64(buf, PKG_COMMAND) as u32 as i32;
            if f < 0 {
                return Err(if f >= -4095 { Error::from_errno(f) } else { EINVAL });
            }
            f
        } else if dimm.is_none() || dimm.is_some_and(|d| d.family() == Some(NVDIMM_FAMILY_INTEL)) {
            cmd_nr as i32
        } else {
            // 0 is never in a dsm_mask: validation fails.
            0
        };
        let func = func as u64;

        // Which _DSM.
        let (handle, guid, dsm_mask, revid) = match dimm {
            Some(d) => {
                let adev = d.acpi().ok_or(ENOTTY)?;
                let f = d.family().unwrap_or(0);
                let guid = DIMM_GUIDS.get(f as usize).copied().flatten().ok_or(ENOTTY)?;
                (adev, guid, d.dsm_mask, dsm_revid(f, func as u32))
            }
            None => {
                let family = if call { le64(buf, PKG_FAMILY) } else { 0 };
                let (guid, mask) = match family {
                    0 => (BUS_GUID, self.bus_dsm_mask),
                    1 if self.bus_intel_mask != 0 => (INTEL_BUS_GUID, self.bus_intel_mask),
                    _ => return Err(EINVAL),
                };
                (self.root, guid, mask, 1)
            }
        };
        let is_dimm = dimm.is_some();
        let (n_in, n_out) =
            cmd::field_counts(is_dimm, cmd_nr).filter(|(i, o)| cmd_nr == 0 || i + o > 0).ok_or(ENOTTY)?;
        // The function must be in the _DSM's mask, and the command in the
        // target's command mask (ND_CMD_CALL included).
        if call && (func > 31 || dsm_mask & (1 << func) == 0) {
            return Err(ENOTTY);
        }
        let cmd_mask = match dimm {
            Some(d) => d.cmd_mask(),
            None => self.bus_cmd_mask,
        };
        if cmd_nr >= 64 || cmd_mask & (1 << cmd_nr) == 0 {
            return Err(ENOTTY);
        }

        // The input: the ND payload's input fields, or the package's payload.
        let (in_start, in_len) = if call {
            (cmd::PKG_HEADER, le32(buf, PKG_SIZE_IN) as usize)
        } else {
            let mut len = 0usize;
            for i in 0..n_in {
                len += cmd::in_size(is_dimm, cmd_nr, i, buf).ok_or(ENXIO)? as usize;
            }
            (0, len)
        };
        let input = buf.get(in_start..in_start + in_len).ok_or(EINVAL)?;

        let lsr = dimm.is_some_and(|d| d.lsr());
        let lsw = dimm.is_some_and(|d| d.lsw());
        let out = match cmd_nr {
            cmd::GET_CONFIG_SIZE if lsr => label_info(handle),
            cmd::GET_CONFIG_DATA if lsr => handle.evaluate(c"_LSR", &[le32(buf, 0) as u64, le32(buf, 4) as u64]),
            cmd::SET_CONFIG_DATA if lsw => {
                let len = le32(buf, 4) as usize;
                let data = buf.get(8..8 + len).ok_or(EINVAL)?;
                handle.evaluate_with_buffer(c"_LSW", le32(buf, 0) as u64, len as u64, data)
            }
            _ => handle.evaluate_dsm(&guid.0, revid, func, input),
        };
        let out = match out {
            Some(Value::Buffer(b)) => b,
            Some(Value::Integers(_)) | Some(Value::Other(_)) => return Err(EINVAL),
            None => return Err(EINVAL),
        };

        if call {
            // Firmware functions of unknown size: report what came back.
            let size_out = le32(buf, PKG_SIZE_OUT) as usize;
            buf[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&(out.len() as u32).to_le_bytes());
            let n = out.len().min(size_out);
            let at = cmd::PKG_HEADER + in_len;
            buf.get_mut(at..at + n).ok_or(EINVAL)?.copy_from_slice(&out[..n]);
            return Ok(Completion::status(0));
        }

        // Copy the output fields the firmware filled.
        let mut offset = 0usize;
        let mut filled = 0;
        for i in 0..n_out {
            let remainder = (out.len() - offset) as u32;
            let size = cmd::out_size(is_dimm, cmd_nr, i, buf, &out, remainder).ok_or(ENXIO)? as usize;
            if offset + size > out.len() {
                break;
            }
            let at = in_len + offset;
            buf.get_mut(at..at + size).ok_or(ENXIO)?.copy_from_slice(&out[offset..offset + size]);
            offset += size;
            filled = i + 1;
        }
        // The status word of commands with a known format.
        let known = match dimm {
            Some(_) => (cmd::SMART..=cmd::VENDOR).contains(&cmd_nr),
            None => (cmd::ARS_CAP..=cmd::CLEAR_ERROR).contains(&cmd_nr),
        };
        let status = if filled >= 1 && known { le32(&out, 0) } else { 0 };
        let cmd_rc = match dimm {
            Some(d) => xlat_dimm_status(cmd_nr, status, d.lsr(), d.lsw()),
            None => xlat_bus_status(buf, cmd_nr, status),
        };
        let used = offset + in_len;
        if used < buf.len() {
            if filled == 0 {
                dev_err_underrun(cmd_nr);
                return Err(ENXIO);
            }
            // Output left unfilled: C returns its size.
            return Ok(Completion { rc: (buf.len() - used) as i32, cmd_rc });
        }
        Ok(Completion::status(cmd_rc))
    }
}

/// `_LSI` as a get_config_size payload: status, size, max transfer.
fn label_info(handle: Handle) -> Option<Value> {
    match handle.evaluate(c"_LSI", &[])? {
        Value::Integers(v) if v.len() == 3 => {
            let mut b = KVec::new();
            for x in v.iter() {
                b.extend_from_slice(&(*x as u32).to_le_bytes(), GFP_KERNEL).ok()?;
            }
            Some(Value::Buffer(b))
        }
        _ => None,
    }
}

fn dev_dbg_dimm(handle: u32) {
    kernel::pr_debug!("nfit: DIMM {:#x}: unknown dimm command family\n", handle);
}

fn dev_err_underrun(cmd_nr: u32) {
    kernel::pr_err!("nfit: underrun on command {}\n", cmd_nr);
}
