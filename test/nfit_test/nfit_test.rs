// SPDX-License-Identifier: GPL-2.0
//! nfit_test: the two emulated NFIT platforms of Linux's
//! tools/testing/nvdimm/test/nfit.c, so that the stack and ndctl's tests
//! run without NVDIMM hardware.
//!
//! Platform devices nfit_test.0 and nfit_test.1 probe into the NFIT that
//! topology.rs describes, which nfit registers as a bus. The bus's commands
//! come back here and are answered by the emulated firmware of dsm.rs.
//! Every DIMM also shows up as /sys/class/nfit_test_dimm/test_dimmN, where
//! tests inject command failures, and every bus as
//! /sys/class/nfit_test_bus/nfit_test.N, where tests cut the power during
//! label writes (`label_write_budget`) and during namespace byte writes
//! below the BTT (`media_write_budget`; Documentation/testing.md).

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]

use core::fmt::Write;

use kernel::{new_mutex, new_spinlock};
use kernel::alloc::VVec;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};
use kernel::time::Ktime;

#[path = "../../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

#[allow(dead_code, unreachable_pub)]
mod dsm;
#[allow(dead_code, unreachable_pub)]
mod topology;

use dsm::{Ars, DimmState, Errno, LabelWriteBudget, MediaWriteBudget, Outcome};
use formats::badrange::{BadRange, List};
use glue::bus::{Class, ClassRegistration};
use glue::class_device::DataClassDevice;
use glue::device::Device;
use abi::nfit::{Events, Nfit, Platform, PlatformMasks};
use abi::provider::Completion;
use glue::platform::{PlatformDevice, PlatformDriver, PlatformDriverOps};
use glue::sysfs::{self, Attribute, Page};
use topology::{BusInfo, DimmInfo, BUSES, DIMMS, LABEL_SIZE};

module! {
    type: NfitTest,
    name: "nfit_test",
    author: "rust-libnvdimm developers",
    description: "Emulated ACPI NFIT platforms for libnvdimm tests, in Rust",
    license: "GPL v2",
}

/// One DIMM of either platform: what its emulated firmware keeps, and the
/// object behind test_dimmN. Lives as long as the module, as C's statics
/// do; a probe of its bus resets what C allocates per probe.
#[pin_data]
struct TestDimm {
    info: &'static DimmInfo,
    /// Commands can run concurrently with each other and with sysfs.
    #[pin]
    state: Mutex<DimmData>,
}

struct DimmData {
    dsm: DimmState,
    /// The label area.
    label: VVec<u8>,
}

impl TestDimm {
    fn new(info: &'static DimmInfo) -> Result<Arc<Self>> {
        let label = VVec::from_elem(0u8, LABEL_SIZE, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(TestDimm { info, state <- new_mutex!(DimmData { dsm: DimmState::new(), label }) }),
            GFP_KERNEL,
        )
    }

    /// A fresh label area ("labelN") and health; failure injection and
    /// security state carry over.
    fn probe(&self) {
        let mut data = self.state.lock();
        topology::init_label(self.info, &mut data.label);
        data.dsm.probe(self.info);
    }
}

crate::class_device_data!(TestDimm);

/// /sys/class/nfit_test_dimm.
static NFIT_TEST_DIMM: Class = Class::new(c"nfit_test_dimm");

// test_dimmN/handle: the NFIT device handle.
fn handle_show(dimm: &TestDimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", dimm.info.handle.0);
    Ok(())
}
static HANDLE: Attribute<TestDimm> = Attribute::ro(c"handle", handle_show);

// test_dimmN/fail_cmd: bit N makes command (or Intel function) N fail.
// Written as a signed long, any base.
fn fail_cmd_show(dimm: &TestDimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{:#x}", dimm.state.lock().dsm.fail.flags);
    Ok(())
}
fn fail_cmd_store(dimm: &TestDimm, input: &[u8]) -> Result {
    let flags = sysfs::parse_i64(input, 0)? as u64;
    dimm.state.lock().dsm.fail.flags = flags;
    Ok(())
}
static FAIL_CMD: Attribute<TestDimm> = Attribute::rw(c"fail_cmd", fail_cmd_show, fail_cmd_store);

// test_dimmN/fail_cmd_code: what a failed command returns; 0 means -EIO.
// C parses a long and keeps an int.
fn fail_cmd_code_show(dimm: &TestDimm, page: &mut Page) -> Result {
    let _ = writeln!(page, "{}", dimm.state.lock().dsm.fail.code);
    Ok(())
}
fn fail_cmd_code_store(dimm: &TestDimm, input: &[u8]) -> Result {
    let code = sysfs::parse_i64(input, 0)? as i32;
    dimm.state.lock().dsm.fail.code = code;
    Ok(())
}
static FAIL_CMD_CODE: Attribute<TestDimm> = Attribute::rw(c"fail_cmd_code", fail_cmd_code_show, fail_cmd_code_store);

// test_dimmN/lock_dimm: any write locks the DIMM's security state.
fn lock_dimm_store(dimm: &TestDimm, _input: &[u8]) -> Result {
    dimm.state.lock().dsm.security.lock();
    Ok(())
}
static LOCK_DIMM: Attribute<TestDimm> = Attribute::wo(c"lock_dimm", lock_dimm_store);

attribute_group!(static TEST_DIMM_GROUP: TestDimm, dir = None, [FAIL_CMD, FAIL_CMD_CODE, HANDLE, LOCK_DIMM]);
group_list!(static TEST_DIMM_GROUPS: TestDimm = [TEST_DIMM_GROUP]);

/// A bus's label-write fault, behind /sys/class/nfit_test_bus/nfit_test.N.
/// Created at probe, off.
#[pin_data]
struct BusFault {
    /// Spent by the DIMMs' label writes, which run concurrently.
    #[pin]
    budget: Mutex<LabelWriteBudget>,
    /// Spent by namespace byte writes (nd_btt's), which may not sleep.
    #[pin]
    media: SpinLock<MediaWriteBudget>,
}

crate::class_device_data!(BusFault);

/// /sys/class/nfit_test_bus.
static NFIT_TEST_BUS: Class = Class::new(c"nfit_test_bus");

// The two power-cut knobs of a bus share their states and syntax: -1 = no
// fault; k >= 0 = k more writes land, the next is torn and the rest fail
// ("cut") until rewritten.
fn show_budget(budget: LabelWriteBudget, page: &mut Page) -> Result {
    let _ = match budget {
        LabelWriteBudget::Off => writeln!(page, "-1"),
        LabelWriteBudget::Left(n) => writeln!(page, "{n}"),
        LabelWriteBudget::Cut => writeln!(page, "cut"),
    };
    Ok(())
}
fn parse_budget(input: &[u8]) -> Result<LabelWriteBudget> {
    LabelWriteBudget::from_i64(sysfs::parse_i64(input, 0)?).map_err(|e| Error::from_errno(e.to_rc()))
}

// nfit_test.N/label_write_budget: the bus's DIMMs' label writes.
fn label_write_budget_show(fault: &BusFault, page: &mut Page) -> Result {
    let budget = *fault.budget.lock();
    show_budget(budget, page)
}
fn label_write_budget_store(fault: &BusFault, input: &[u8]) -> Result {
    *fault.budget.lock() = parse_budget(input)?;
    Ok(())
}
static LABEL_WRITE_BUDGET: Attribute<BusFault> =
    Attribute::rw(c"label_write_budget", label_write_budget_show, label_write_budget_store);

// nfit_test.N/media_write_budget: the namespace byte writes of the bus's
// regions (nd_btt's media writes), torn at an 8-byte boundary.
fn media_write_budget_show(fault: &BusFault, page: &mut Page) -> Result {
    let budget = *fault.media.lock();
    show_budget(budget, page)
}
fn media_write_budget_store(fault: &BusFault, input: &[u8]) -> Result {
    *fault.media.lock() = parse_budget(input)?;
    Ok(())
}
static MEDIA_WRITE_BUDGET: Attribute<BusFault> =
    Attribute::rw(c"media_write_budget", media_write_budget_show, media_write_budget_store);

attribute_group!(static BUS_FAULT_GROUP: BusFault, dir = None, [LABEL_WRITE_BUDGET, MEDIA_WRITE_BUDGET]);
group_list!(static BUS_FAULT_GROUPS: BusFault = [BUS_FAULT_GROUP]);

/// Monotonic milliseconds, the clock of a scrub's duration.
fn now_ms() -> u64 {
    Ktime::ktime_get().to_ms() as u64
}

/// Folds C's (return value, *cmd_rc) into the ABI: a non-negative return
/// (unfilled output bytes, or a positive fail_cmd_code) goes to user space.
fn ctl_result(rc: i32, cmd_rc: i32) -> Result<Completion> {
    match rc {
        0.. => Ok(Completion { rc, cmd_rc }),
        // fail_cmd_code may hold any int; only errnos cross the ABI.
        -4095..=-1 => Err(Error::from_errno(rc)),
        _ => Err(EINVAL),
    }
}

/// The platform's poisoned ranges (C's `t->badrange`): the first `len`
/// entries of a `KVec` that only grows (it has no `remove`).
struct Poison {
    v: KVec<BadRange>,
    len: usize,
}

impl List for Poison {
    fn entries(&self) -> &[BadRange] {
        &self.v[..self.len]
    }
    fn entry_mut(&mut self, i: usize) -> &mut BadRange {
        &mut self.v[..self.len][i]
    }
    fn append(&mut self, r: BadRange) -> bool {
        if self.len == self.v.len() && self.v.push(r, GFP_KERNEL).is_err() {
            return false;
        }
        self.v[self.len] = r;
        self.len += 1;
        true
    }
    fn remove(&mut self, i: usize) {
        self.v[i..self.len].rotate_left(1);
        self.len -= 1;
    }
}

/// What the bus's commands change: the last scrub (C's `t->ars_state`)
/// and the injected poison (`t->badrange`), under one lock as the
/// scrub's result is taken from the poison list.
struct BusState {
    ars: Ars,
    poison: Poison,
}

/// The emulated firmware of one platform, answering its bus's commands.
#[pin_data]
struct Firmware {
    bus: &'static BusInfo,
    /// The NFIT body the bus was registered with (translate SPA reads it).
    table: KVec<u8>,
    dimms: KVec<Arc<TestDimm>>,
    fault: Arc<BusFault>,
    #[pin]
    state: Mutex<BusState>,
}

impl Platform for Firmware {
    fn ctl(&self, handle: Option<u32>, cmd: u32, buf: &mut [u8], events: &mut Events) -> Result<Completion> {
        let Some(handle) = handle else {
            let table = formats::nfit::Nfit::parse_body(&self.table).map_err(|_| EINVAL)?;
            let mut st = self.state.lock();
            let BusState { ars, poison } = &mut *st;
            let o = dsm::bus_ctl(self.bus, ars, poison, &table, cmd, buf, now_ms());
            drop(st);
            // C queues uc_error_notify(); nfit does the same with the event.
            if o.uc_error_notify {
                events.uc_memory_error();
            }
            return ctl_result(o.rc, o.cmd_rc);
        };
        let dimm = self.dimms.iter().find(|d| d.info.handle.0 == handle).ok_or(ENXIO)?;
        let mut data = dimm.state.lock();
        let DimmData { dsm, label } = &mut *data;
        // Health events (smart_notify()) have no path to nfit yet.
        // Lock order: the DIMM, then its bus's fault.
        let rc = match dsm::dimm_ctl(dimm.info, dsm, label, &mut self.fault.budget.lock(), cmd, buf) {
            Outcome::Done { rc, .. } => rc,
            Outcome::NotEmulated { func } => dsm.fail.apply(func, Errno::ENOTTY.to_rc()),
        };
        ctl_result(rc, 0)
    }

    const MEDIA_FAULT: bool = true;

    fn media_write(&self, phys: u64, len: u64) -> u64 {
        dsm::media_write_landing(&mut self.fault.media.lock(), phys, len)
    }
}

/// What a bound nfit_test.N keeps. Fields drop in order: the bus goes
/// before the test_dimm devices, as C's devm actions unwind.
struct Bound {
    _nfit: Nfit<Firmware>,
    _test_dimms: KVec<DataClassDevice<TestDimm>>,
    _fault: DataClassDevice<BusFault>,
}

/// The nfit_test platform driver, holding every DIMM.
struct Driver {
    /// Indexed like `DIMMS`.
    dimms: KVec<Arc<TestDimm>>,
}

impl PlatformDriverOps for Driver {
    type Data = Bound;

    fn probe(&self, dev: &Device, id: i32) -> Result<Bound> {
        let bus = usize::try_from(id).ok().and_then(|i| BUSES.get(i)).ok_or(ENODEV)?;
        let bases = topology::c_bases()[bus.id];

        let mut dimms = KVec::new();
        let mut test_dimms = KVec::new();
        for info in bus.dimms() {
            let dimm = self.dimms[info.index].clone();
            dimm.probe();
            let name = format_args!("test_dimm{}", info.index);
            let test_dimm = DataClassDevice::new(&NFIT_TEST_DIMM, dev, dimm.clone(), &TEST_DIMM_GROUPS, name)?;
            test_dimms.push(test_dimm, GFP_KERNEL)?;
            dimms.push(dimm, GFP_KERNEL)?;
        }

        let fault = Arc::pin_init(pin_init!(BusFault {
                budget <- new_mutex!(LabelWriteBudget::Off),
                media <- new_spinlock!(MediaWriteBudget::Off),
            }), GFP_KERNEL)?;
        let fault_dev = DataClassDevice::new(&NFIT_TEST_BUS, dev, fault.clone(), &BUS_FAULT_GROUPS, format_args!("nfit_test.{}", bus.id))?;

        // nfit_test.0's hot-plugged DIMM never reaches nfit in 6.12 (its
        // _FIT re-read fails), so the table is the one before hot-plug.
        let mut table = KVec::from_elem(0u8, topology::MAX_TABLE_LEN, GFP_KERNEL)?;
        let len = bus.write_nfit(&bases, false, &mut table).map_err(|_| EINVAL)?;
        // Like C, hand nfit the subtables without the ACPI header.
        let mut body = KVec::new();
        body.extend_from_slice(&table[formats::nfit::TABLE_HEADER_LEN..len], GFP_KERNEL)?;
        drop(table);
        let firmware = KBox::pin_init(
            try_pin_init!(Firmware {
                bus,
                table: body,
                dimms,
                fault,
                // Probe starts a scrub of the first PM range
                // (post_ars_status()); the poison list starts empty.
                state <- new_mutex!(BusState {
                    ars: Ars::post(bases.spa_set[0], bus.ars_length, now_ms(), &[]),
                    poison: Poison { v: KVec::new(), len: 0 },
                }),
            }? Error),
            GFP_KERNEL,
        )?;
        let masks = PlatformMasks {
            dimm_dsm_mask: bus.dimm_cmd_force_en,
            bus_cmd_mask: bus.cmd_mask,
            bus_dsm_mask: bus.bus_dsm_mask,
            bus_intel_dsm_mask: bus.intel_bus_dsm_mask,
        };
        // The PM and virtual-CD ranges are backed by memory, as C backs
        // them with vmalloc() buffers; nfit's regions use it as their media.
        let mut backing = KVec::new();
        for (&base, &size) in bases.spa_set.iter().zip(bus.spa_set_sizes) {
            backing.push((base, VVec::from_elem(0u8, size as usize, GFP_KERNEL)?), GFP_KERNEL)?;
        }
        // So are the DIMMs' flush hints, which nfit writes to flush.
        for &base in bases.flush.iter().filter(|&&b| b != 0) {
            backing.push((base, VVec::from_elem(0u8, topology::FLUSH_ALLOC_SIZE as usize, GFP_KERNEL)?), GFP_KERNEL)?;
        }
        // nfit copies the table before the platform moves in.
        let mut body = KVec::new();
        body.extend_from_slice(&firmware.table, GFP_KERNEL)?;
        let nfit = Nfit::register(dev, &body, masks, backing, firmware)?;
        Ok(Bound { _nfit: nfit, _test_dimms: test_dimms, _fault: fault_dev })
    }
}

/// The module's registrations. Fields drop in order: the devices go first
/// (unbinding each bus), then the driver, then the class.
struct NfitTest {
    _devices: KVec<PlatformDevice>,
    _driver: PlatformDriver<Driver>,
    _class: ClassRegistration,
    _bus_class: ClassRegistration,
}

impl kernel::Module for NfitTest {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let class = NFIT_TEST_DIMM.register()?;
        let bus_class = NFIT_TEST_BUS.register()?;
        let mut dimms = KVec::new();
        for info in &DIMMS {
            dimms.push(TestDimm::new(info)?, GFP_KERNEL)?;
        }
        let driver = PlatformDriver::register(c"nfit_test", Driver { dimms }, module)?;
        let mut devices = KVec::new();
        for bus in &BUSES {
            devices.push(PlatformDevice::register(c"nfit_test", bus.id as i32)?, GFP_KERNEL)?;
        }
        Ok(Self { _devices: devices, _driver: driver, _class: class, _bus_class: bus_class })
    }
}
