// SPDX-License-Identifier: GPL-2.0
//! The Intel DSM family: security state, shutdown status and firmware
//! activation, through ND_CMD_CALL packages so that both ACPI and emulated
//! platforms serve them.

use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::new_mutex;

use crate::abi::provider::{Completion, FwaCapability, FwaResult, FwaState, FwaTrigger};
use crate::bus::Transport;
use crate::dimm::NfitDimm;
use crate::formats::cmd;
use crate::formats::nfit::dsm::{
    NVDIMM_BUS_FAMILY_INTEL, NVDIMM_FAMILY_INTEL, PKG_COMMAND, PKG_FAMILY, PKG_FW_SIZE, PKG_SIZE_IN, PKG_SIZE_OUT,
};
use crate::formats::nfit::firmware::{
    FwaBusInfo, FwaDimmInfo, BUS_FWA_IODEV_FORCE_IDLE, BUS_FWA_IODEV_OS_IDLE, DIMM_FWA_ARM, DIMM_FWA_DISARM,
    FWA_ACTIVATE_LEN, FWA_ARM_LEN, FWA_BUSINFO_LEN, FWA_DIMMINFO_LEN,
};
use crate::formats::nfit::intel::{
    NVDIMM_BUS_INTEL_FW_ACTIVATE, NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO, NVDIMM_INTEL_FW_ACTIVATE_ARM,
    NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO,
};
use crate::glue::device::{Device, DeviceRef};
use crate::{dev_dbg, dev_err};
use crate::formats::nfit::intel::{
    Smart, NVDIMM_INTEL_GET_SECURITY_STATE, ND_INTEL_SMART, SMART_LEN, SMART_SHUTDOWN_COUNT_VALID,
    SMART_SHUTDOWN_VALID,
};

/// `struct nd_intel_get_security_state`: status, extended_state, 3
/// reserved, state, 3 reserved.
const SECURITY_STATE_LEN: usize = 12;
const SEC_STATE_ENABLED: u8 = 0x02;
const SEC_STATE_LOCKED: u8 = 0x04;
const SEC_STATE_FROZEN: u8 = 0x08;
const SEC_STATE_PLIMIT: u8 = 0x10;
const SEC_STATE_UNSUPPORTED: u8 = 0x20;
const SEC_ESTATE_ENABLED: u8 = 0x01;
const SEC_ESTATE_PLIMIT: u8 = 0x02;

/// NVDIMM_SECURITY_* bits as libnvdimm reads them.
const SECURITY_DISABLED: u64 = 1 << 0;
const SECURITY_UNLOCKED: u64 = 1 << 1;
const SECURITY_LOCKED: u64 = 1 << 2;
const SECURITY_FROZEN: u64 = 1 << 3;

/// Runs Intel function `func` of `dimm` with `input`, its output into
/// `out`; the transport's answer.
fn dimm_call(dimm: &NfitDimm, func: u32, input: &[u8], out: &mut [u8]) -> Result<Completion> {
    let mut buf = [0u8; 256];
    let buf = buf.get_mut(..cmd::PKG_HEADER + input.len() + out.len()).ok_or(EINVAL)?;
    fill_pkg(buf, NVDIMM_FAMILY_INTEL, func, input, out.len());
    let done = dimm.transport().ctl(Some(dimm), cmd::CALL, buf)?;
    out.copy_from_slice(&buf[cmd::PKG_HEADER + input.len()..]);
    Ok(done)
}

/// Runs Intel function `func` with no input and `N` output bytes; None
/// unless the firmware status is a success.
fn call<const N: usize>(dimm: &NfitDimm, func: u32) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    match dimm_call(dimm, func, &[], &mut out) {
        Ok(c) if c.cmd_rc >= 0 => Some(out),
        _ => None,
    }
}

/// The DIMM's security state for the user or master passphrase
/// (`intel_security_flags`); 0 when the DIMM does not report one.
pub(crate) fn security_flags(dimm: &NfitDimm, master: bool) -> u64 {
    if dimm.dsm_mask & (1 << NVDIMM_INTEL_GET_SECURITY_STATE) == 0 {
        return 0;
    }
    let Some(st) = call::<SECURITY_STATE_LEN>(dimm, NVDIMM_INTEL_GET_SECURITY_STATE) else {
        return 0;
    };
    let status = u32::from_le_bytes([st[0], st[1], st[2], st[3]]);
    if status != 0 {
        return 0;
    }
    let (extended, state) = (st[4], st[8]);
    let mut flags = 0;
    if master {
        flags |= if extended & SEC_ESTATE_ENABLED != 0 { SECURITY_UNLOCKED } else { SECURITY_DISABLED };
        if extended & SEC_ESTATE_PLIMIT != 0 {
            flags |= SECURITY_FROZEN;
        }
        return flags;
    }
    if state & SEC_STATE_UNSUPPORTED != 0 {
        return 0;
    }
    if state & SEC_STATE_ENABLED == 0 {
        return SECURITY_DISABLED;
    }
    if state & (SEC_STATE_FROZEN | SEC_STATE_PLIMIT) != 0 {
        flags |= SECURITY_FROZEN;
    }
    flags | if state & SEC_STATE_LOCKED != 0 { SECURITY_LOCKED } else { SECURITY_UNLOCKED }
}

/// What the SMART payload says about the last shutdown.
pub(crate) struct ShutdownState {
    /// The last shutdown was dirty.
    pub(crate) dirty: bool,
    /// Dirty shutdowns so far, if reported.
    pub(crate) count: Option<u32>,
}

/// The DIMM's SMART payload (ND_INTEL_SMART), if it has the function and
/// the firmware answers with status 0.
pub(crate) fn smart(dimm: &NfitDimm) -> Option<Smart> {
    if dimm.family() != Some(NVDIMM_FAMILY_INTEL) || dimm.dsm_mask & (1 << ND_INTEL_SMART) == 0 {
        return None;
    }
    let raw = call::<SMART_LEN>(dimm, ND_INTEL_SMART)?;
    if raw[..4] != [0; 4] {
        return None;
    }
    Smart::from_bytes(&raw)
}

/// Reads the shutdown status from SMART (`nfit_intel_shutdown_status`).
pub(crate) fn shutdown_state(dimm: &NfitDimm) -> Option<ShutdownState> {
    if dimm.dsm_mask & (1 << ND_INTEL_SMART) == 0 {
        return None;
    }
    let raw = call::<SMART_LEN>(dimm, ND_INTEL_SMART)?;
    let smart = Smart::from_bytes(&raw)?;
    Some(ShutdownState {
        dirty: smart.flags & SMART_SHUTDOWN_VALID != 0 && smart.shutdown_state != 0,
        count: (smart.flags & SMART_SHUTDOWN_COUNT_VALID != 0).then_some(smart.shutdown_count),
    })
}

// ---------------------------------------------------------------------------
// Firmware activation (C's intel.c: intel_bus_fw_ops, intel_fw_ops).
//
// Firmware reports activation state through two functions: the root
// device's BUSINFO for the bus, and each DIMM's DIMMINFO. nfit caches both
// answers as C does, so that what sysfs shows between two events is what
// the firmware said last: the bus state until a DIMM is armed or disarmed
// or the bus activates; a DIMM's state until it is armed or disarmed, or
// until any activation (counted by `count`, which invalidates every DIMM's
// cache at once). A busy or invalid state is never cached.

/// The bus's cache (C: `acpi_desc->fwa_state`, `fwa_cap`, `fwa_count`,
/// `fwa_noidle`).
struct BusFwaCache {
    state: FwaState,
    cap: FwaCapability,
    /// Activations so far; a DIMM's cache is good while it matches.
    count: u32,
    /// nfit/firmware_activate_noidle: the OS idles devices itself, so
    /// firmware need not force them idle.
    noidle: bool,
    /// The firmware reported a state that does not exist (logged once).
    warned: bool,
}

/// A bus's firmware activation (installed when the bus offers the Intel
/// family's activation functions), shared with its DIMMs.
#[pin_data]
pub(crate) struct BusFwa {
    transport: Arc<Transport>,
    /// For the log.
    dev: DeviceRef,
    #[pin]
    cache: Mutex<BusFwaCache>,
}

impl BusFwa {
    /// The activation of the bus `transport` reaches, under `dev` (the
    /// NFIT's device, for the log).
    pub(crate) fn new(transport: Arc<Transport>, dev: &Device) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(BusFwa {
                transport,
                dev: DeviceRef::new(dev),
                cache <- new_mutex!(BusFwaCache {
                    state: FwaState::Invalid,
                    cap: FwaCapability::Invalid,
                    count: 0,
                    noidle: false,
                    warned: false,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// Runs bus Intel function `func` with `input`, into `out`; false if
    /// the transport failed or left output unfilled (C then trusts nothing
    /// of it). The firmware status is not looked at, as in C.
    fn call(&self, func: u32, input: &[u8], out: &mut [u8]) -> bool {
        let mut buf = [0u8; cmd::PKG_HEADER + 64];
        let len = cmd::PKG_HEADER + input.len() + out.len();
        let Some(buf) = buf.get_mut(..len) else { return false };
        fill_pkg(buf, NVDIMM_BUS_FAMILY_INTEL, func, input, out.len());
        match self.transport.ctl(None, cmd::CALL, buf) {
            Ok(c) if c.rc == 0 => {
                out.copy_from_slice(&buf[cmd::PKG_HEADER + input.len()..]);
                true
            }
            _ => false,
        }
    }

    /// Refreshes the cached bus state from BUSINFO when it is stale
    /// (`intel_bus_fwa_state`), learning the capability on the way.
    fn refresh(&self, c: &mut BusFwaCache) -> FwaState {
        match c.state {
            // Activation is synchronous: busy should never last, so it is
            // asked again each time, like invalid.
            FwaState::Invalid | FwaState::Busy => {}
            _ if c.cap == FwaCapability::Invalid => {}
            cached => return cached,
        }
        let mut raw = [0u8; FWA_BUSINFO_LEN];
        if !self.call(NVDIMM_BUS_INTEL_FW_ACTIVATE_BUSINFO, &[], &mut raw) {
            return FwaState::Invalid;
        }
        let Some(info) = FwaBusInfo::parse(&raw) else { return FwaState::Invalid };
        let Some(state) = info.fwa_state() else {
            if !c.warned {
                c.warned = true;
                dev_err!(self.dev.device(), "invalid firmware activate state {}\n", info.state);
            }
            return FwaState::Invalid;
        };
        // The capability comes in the same answer and does not change.
        if c.cap == FwaCapability::Invalid {
            c.cap = info.fwa_capability();
        }
        c.state = state;
        state
    }

    /// Where activation stands on the bus.
    pub(crate) fn state(&self) -> FwaState {
        let mut c = self.cache.lock();
        self.refresh(&mut c)
    }

    /// How the bus activates firmware (`intel_bus_fwa_capability`).
    pub(crate) fn capability(&self) -> FwaCapability {
        let mut c = self.cache.lock();
        if c.cap != FwaCapability::Invalid {
            return c.cap;
        }
        if self.refresh(&mut c) != FwaState::Invalid {
            return c.cap;
        }
        FwaCapability::Invalid
    }

    /// Activates the armed DIMMs (`intel_bus_fwa_activate`): ENXIO unless
    /// something is armed. Whatever the firmware answers, every cached
    /// state is stale afterwards.
    pub(crate) fn activate(&self) -> Result {
        let mut c = self.cache.lock();
        if !matches!(self.refresh(&mut c), FwaState::Armed | FwaState::ArmOverflow) {
            return Err(ENXIO);
        }
        // Even though activation runs with the system quiesced, firmware
        // is asked to force devices idle too, unless the user said the OS
        // has done it (nfit/firmware_activate_noidle).
        let iodev = [if c.noidle { BUS_FWA_IODEV_OS_IDLE } else { BUS_FWA_IODEV_FORCE_IDLE }];
        // C asks for the whole struct as output after the one input byte.
        let mut buf = [0u8; cmd::PKG_HEADER + 1 + FWA_ACTIVATE_LEN];
        fill_pkg(&mut buf, NVDIMM_BUS_FAMILY_INTEL, NVDIMM_BUS_INTEL_FW_ACTIVATE, &iodev, FWA_ACTIVATE_LEN);
        let rc = self.transport.ctl(None, cmd::CALL, &mut buf);
        c.state = FwaState::Invalid;
        c.count = c.count.wrapping_add(1);
        dev_dbg!(self.dev.device(), "result: {:?}\n", rc.as_ref().map(|c| c.rc).map_err(|e| e.to_errno()));
        rc.map(|_| ())
    }

    /// nfit/firmware_activate_noidle.
    pub(crate) fn noidle(&self) -> bool {
        self.cache.lock().noidle
    }

    /// Sets it; a change makes the capability be asked again.
    pub(crate) fn set_noidle(&self, noidle: bool) {
        let mut c = self.cache.lock();
        if c.noidle != noidle {
            c.cap = FwaCapability::Invalid;
        }
        c.noidle = noidle;
    }
}

/// Fills an `nd_cmd_pkg` header and input for Intel-family function `func`
/// of `family`, with `out_len` output bytes (the firmware may fill all).
fn fill_pkg(buf: &mut [u8], family: u32, func: u32, input: &[u8], out_len: usize) {
    buf[..cmd::PKG_HEADER].fill(0);
    buf[PKG_FAMILY..PKG_FAMILY + 8].copy_from_slice(&u64::from(family).to_le_bytes());
    buf[PKG_COMMAND..PKG_COMMAND + 8].copy_from_slice(&u64::from(func).to_le_bytes());
    buf[PKG_SIZE_IN..PKG_SIZE_IN + 4].copy_from_slice(&(input.len() as u32).to_le_bytes());
    buf[PKG_SIZE_OUT..PKG_SIZE_OUT + 4].copy_from_slice(&(out_len as u32).to_le_bytes());
    buf[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&(out_len as u32).to_le_bytes());
    buf[cmd::PKG_HEADER..cmd::PKG_HEADER + input.len()].copy_from_slice(input);
    buf[cmd::PKG_HEADER + input.len()..].fill(0);
}

/// A DIMM's cache (C: `nfit_mem->fwa_state`, `fwa_result`, `fwa_count`).
struct DimmFwaCache {
    state: FwaState,
    result: FwaResult,
    /// The bus's activation count when this was read.
    count: u32,
}

/// A DIMM's part in firmware activation (installed for Intel-family DIMMs
/// with both activation functions on a bus that activates).
#[pin_data]
pub(crate) struct DimmFwa {
    bus: Arc<BusFwa>,
    #[pin]
    cache: Mutex<DimmFwaCache>,
}

impl DimmFwa {
    /// The DIMM's part in `bus`'s activation.
    pub(crate) fn new(bus: Arc<BusFwa>) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(DimmFwa {
                bus,
                cache <- new_mutex!(DimmFwaCache { state: FwaState::Invalid, result: FwaResult::Invalid, count: 0 }),
            }),
            GFP_KERNEL,
        )
    }

    /// Refreshes the DIMM's cache from DIMMINFO unless it is still good
    /// (`intel_fwa_state`).
    fn refresh(&self, dimm: &NfitDimm, c: &mut DimmFwaCache) -> FwaState {
        let count = self.bus.cache.lock().count;
        match c.state {
            // As for the bus, busy resolves within an activation.
            FwaState::Invalid | FwaState::Busy => {}
            // No activation since: still what the DIMM said.
            cached if c.count == count => return cached,
            _ => {}
        }
        // Only the transport's answer counts, not the firmware status, as
        // in C.
        let mut raw = [0u8; FWA_DIMMINFO_LEN];
        if !matches!(dimm_call(dimm, NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO, &[], &mut raw), Ok(c) if c.rc == 0) {
            return FwaState::Invalid;
        }
        let Some(info) = FwaDimmInfo::parse(&raw) else { return FwaState::Invalid };
        c.state = info.fwa_state();
        c.result = info.fwa_result();
        c.count = count;
        c.state
    }

    /// Where activation stands on `dimm`.
    pub(crate) fn state(&self, dimm: &NfitDimm) -> FwaState {
        let mut c = self.cache.lock();
        self.refresh(dimm, &mut c)
    }

    /// How the last activation went on `dimm` (`intel_fwa_result`).
    pub(crate) fn result(&self, dimm: &NfitDimm) -> FwaResult {
        let mut c = self.cache.lock();
        if c.count == self.bus.cache.lock().count && c.result != FwaResult::Invalid {
            return c.result;
        }
        if self.refresh(dimm, &mut c) != FwaState::Invalid {
            return c.result;
        }
        FwaResult::Invalid
    }

    /// Arms or disarms `dimm` (`intel_fwa_arm`): nothing to do when it is
    /// already so; EBUSY during an activation, ENXIO when its state is
    /// unknown. The bus's state and the DIMM's are stale afterwards.
    pub(crate) fn arm(&self, dimm: &NfitDimm, trigger: FwaTrigger) -> Result {
        let mut c = self.cache.lock();
        match (self.refresh(dimm, &mut c), trigger) {
            (FwaState::Busy, _) => return Err(EBUSY),
            (FwaState::Idle, FwaTrigger::Disarm) | (FwaState::Armed, FwaTrigger::Arm) => return Ok(()),
            (FwaState::Idle, FwaTrigger::Arm) | (FwaState::Armed, FwaTrigger::Disarm) => {}
            (FwaState::Invalid | FwaState::ArmOverflow, _) => return Err(ENXIO),
        }
        // Committed to changing the arm state.
        self.bus.cache.lock().state = FwaState::Invalid;
        c.state = FwaState::Invalid;
        let arm = [if trigger == FwaTrigger::Arm { DIMM_FWA_ARM } else { DIMM_FWA_DISARM }];
        // C asks for the whole struct as output after the one input byte.
        let rc = dimm_call(dimm, NVDIMM_INTEL_FW_ACTIVATE_ARM, &arm, &mut [0u8; FWA_ARM_LEN]).map(|_| ());
        dev_dbg!(
            self.bus.dev.device(),
            "{} result: {:?}\n",
            if trigger == FwaTrigger::Arm { "arm" } else { "disarm" },
            rc.as_ref().map(|_| 0).map_err(|e| e.to_errno())
        );
        rc
    }
}
