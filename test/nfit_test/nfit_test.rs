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
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::{new_mutex, new_spinlock};
use kernel::alloc::VVec;
use kernel::prelude::*;
use kernel::alloc::allocator::{Kmalloc, Vmalloc};
use crate::glue::boxed::zeroed_vec;
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
mod firmware;
#[allow(dead_code, unreachable_pub)]
mod topology;

use dsm::{Ars, DimmState, Errno, LabelWriteBudget, MediaWriteBudget, Outcome};
use firmware::BusFirmware;
use formats::badrange::{BadRange, List};
use glue::bus::{Class, ClassRegistration};
use glue::class_device::DataClassDevice;
use glue::device::Device;
use abi::nfit::{Events, Nfit, Platform, PlatformMasks, RangeMemory, SharedWords};
use glue::pmem_map::{PmemMap, ReservedMemory};
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
        let label = zeroed_vec::<u8, Vmalloc>(LABEL_SIZE, GFP_KERNEL)?;
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

/// A bus's test knobs, behind /sys/class/nfit_test_bus/nfit_test.N: its
/// power cuts (created at probe, off) and where its ranges' memory is.
#[pin_data]
struct BusFault {
    /// The ranges backed by reserved physical memory (none without a
    /// reservation).
    backing: KVec<BackedRange>,
    /// What the last write of `backing_pages` read, in hex.
    #[pin]
    peek: Mutex<KVec<u8>>,
    /// Spent by the DIMMs' label writes, which run concurrently.
    #[pin]
    budget: Mutex<LabelWriteBudget>,
    /// Spent by namespace byte writes (nd_btt's), which may not sleep.
    #[pin]
    media: SpinLock<MediaWriteBudget>,
    /// Each DIMM's flush hint words, by NFIT device handle, which nfit
    /// hands libnvdimm to write (`flush_hint_writes`).
    hints: KVec<(u32, Arc<SharedWords>)>,
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

/// A range of the bus backed by physical memory.
#[derive(Clone, Copy)]
struct BackedRange {
    /// Its system physical address, as the NFIT states it.
    spa: u64,
    /// The physical address of its memory.
    phys: u64,
    /// Its length.
    len: u64,
}

// nfit_test.N/backing: one line per range backed by reserved physical
// memory: its NFIT address, the physical address of its memory and its
// length, in hex. Empty when the ranges are vmalloc memory.
fn backing_show(fault: &BusFault, page: &mut Page) -> Result {
    for r in fault.backing.iter() {
        let _ = writeln!(page, "{:#x} {:#x} {:#x}", r.spa, r.phys, r.len);
    }
    Ok(())
}
static BACKING: Attribute<BusFault> = Attribute::ro(c"backing", backing_show);

/// The most `backing_pages` reads at once (its hex fills half a page).
const PEEK_MAX: u64 = 1024;

// nfit_test.N/backing_pages: a look at a backed range's memory through
// struct pages, as fsdax maps it. Writing "ADDR LEN" (an NFIT address in
// one of `backing`'s ranges, and at most 1024 bytes that stay in it) gives
// the 2 MiB subsections around them struct pages (memremap_pages), copies
// the LEN bytes at ADDR out through that mapping, and tears the pages down
// again (memunmap_pages); reading shows the bytes in hex. ENXIO: no range
// has physical memory; EINVAL: not inside one. Test-only; not while a pfn
// or dax device maps the same memory.
fn backing_pages_show(fault: &BusFault, page: &mut Page) -> Result {
    let peek = fault.peek.lock();
    for b in peek.iter() {
        let _ = write!(page, "{b:02x}");
    }
    let _ = writeln!(page);
    Ok(())
}
fn backing_pages_store(fault: &BusFault, input: &[u8]) -> Result {
    let mut words = input.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let addr = sysfs::parse_u64(words.next().ok_or(EINVAL)?, 0)?;
    let len = sysfs::parse_u64(words.next().ok_or(EINVAL)?, 0)?;
    if words.next().is_some() || len == 0 || len > PEEK_MAX {
        return Err(EINVAL);
    }
    if fault.backing.is_empty() {
        return Err(ENXIO);
    }
    let r = fault
        .backing
        .iter()
        .find(|r| addr >= r.spa && addr.checked_add(len).is_some_and(|end| end <= r.spa + r.len))
        .ok_or(EINVAL)?;
    let off = addr - r.spa;
    // The subsections memremap_pages maps: whole ones, inside the range.
    let align = topology::BACKING_ALIGN;
    let first = off / align * align;
    let end = ((off + len).div_ceil(align) * align).min(r.len);
    // One look at a time: two mappings of one subsection conflict.
    let mut peek = fault.peek.lock();
    let map = PmemMap::with_pages(r.phys + first, end - first, NUMA_NO_NODE, None, 0)?;
    if !map.has_pages() {
        return Err(ENXIO);
    }
    let mut buf = zeroed_vec::<u8, Kmalloc>(len as usize, GFP_KERNEL)?;
    map.read_bytes(off - first, &mut buf)?;
    drop(map);
    *peek = buf;
    Ok(())
}
static BACKING_PAGES: Attribute<BusFault> =
    Attribute::rw(c"backing_pages", backing_pages_show, backing_pages_store);

// nfit_test.N/flush_hint_writes (test-only; C's nfit_test has no such
// file): what libnvdimm wrote to the bus's flush hints since the last reset.
// One line per DIMM with hints: its NFIT handle and how many of its
// NUM_HINTS hint words hold a write (libnvdimm writes 1 to a hint to flush;
// every word starts 0). Writing 0 resets them to 0; anything else is
// EINVAL. One flush writes one hint per DIMM of the region (C's
// generic_nvdimm_flush) and ours moves to the next hint each time, so up
// to NUM_HINTS flushes per reset are counted exactly.
fn flush_hint_writes_show(fault: &BusFault, page: &mut Page) -> Result {
    for (handle, words) in fault.hints.iter() {
        let written = (0..topology::NUM_HINTS).filter(|&i| words.get(i).is_some_and(|w| w != 0)).count();
        let _ = writeln!(page, "{handle:#x} {written}");
    }
    Ok(())
}
fn flush_hint_writes_store(fault: &BusFault, input: &[u8]) -> Result {
    if sysfs::parse_i64(input, 0)? != 0 {
        return Err(EINVAL);
    }
    for (_, words) in fault.hints.iter() {
        for i in 0..topology::NUM_HINTS {
            words.clear(i);
        }
    }
    Ok(())
}
static FLUSH_HINT_WRITES: Attribute<BusFault> =
    Attribute::rw(c"flush_hint_writes", flush_hint_writes_show, flush_hint_writes_store);

attribute_group!(static BUS_FAULT_GROUP: BusFault, dir = None, [BACKING, BACKING_PAGES, FLUSH_HINT_WRITES, LABEL_WRITE_BUDGET, MEDIA_WRITE_BUDGET]);
group_list!(static BUS_FAULT_GROUPS: BusFault = [BUS_FAULT_GROUP]);

/// Monotonic milliseconds, the clock of a scrub's duration and of firmware
/// updates and activations (C counts jiffies for both: firmware.rs says
/// how its windows map).
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
/// scrub's result is taken from the poison list; and the DIMMs' firmware
/// update and activation state (`t->fw`).
struct BusState {
    ars: Ars,
    poison: Poison,
    fw: BusFirmware,
}

/// When firmware was last activated, on any bus, in [`now_ms`]
/// milliseconds; 0 for never (C's static `last_activate`, in jiffies).
/// Each firmware command loads it into its bus's `BusFirmware` and saves
/// it back, under the bus's lock.
static LAST_ACTIVATE: AtomicU64 = AtomicU64::new(0);

impl BusState {
    /// Runs `f` on the bus's firmware state with the module-wide time of
    /// the last activation in it.
    fn with_firmware<R>(&mut self, f: impl FnOnce(&mut BusState) -> R) -> R {
        let last = LAST_ACTIVATE.load(Ordering::Relaxed);
        self.fw.last_activate = (last != 0).then_some(last);
        let r = f(self);
        LAST_ACTIVATE.store(self.fw.last_activate.unwrap_or(0), Ordering::Relaxed);
        r
    }
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
            let o = self.state.lock().with_firmware(|st| {
                let BusState { ars, poison, fw } = st;
                dsm::bus_ctl(self.bus, ars, poison, &table, fw, cmd, buf, now_ms())
            });
            // C queues uc_error_notify(); nfit does the same with the event.
            if o.uc_error_notify {
                events.uc_memory_error();
            }
            return ctl_result(o.rc, o.cmd_rc);
        };
        let dimm = self.dimms.iter().find(|d| d.info.handle.0 == handle).ok_or(ENXIO)?;
        let mut data = dimm.state.lock();
        let DimmData { dsm, label } = &mut *data;
        // Lock order: the DIMM, then its bus's fault.
        let rc = match dsm::dimm_ctl(dimm.info, dsm, label, &mut self.fault.budget.lock(), cmd, buf) {
            Outcome::Done { rc, health_event } => {
                // smart_notify(): a health event on the DIMM (0x81), which
                // nfit turns into a sysfs notification of its nfit/flags.
                if health_event {
                    events.dimm_health();
                }
                rc
            }
            Outcome::NotEmulated { func } => dsm.fail.apply(func, Errno::ENOTTY.to_rc()),
            // Lock order: the DIMM, then its bus's state.
            Outcome::Firmware { func, payload_end } => {
                let p = &mut buf[formats::cmd::PKG_HEADER..payload_end];
                let rc = self.state.lock().with_firmware(|st| {
                    firmware::dimm_call(func, p, &mut st.fw, dimm.info.index, now_ms())
                });
                dsm.fail.apply(func, dsm::to_rc(rc.unwrap_or(Err(Errno::ENOTTY))))
            }
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

        // The PM and virtual-CD ranges are backed by memory, as C backs
        // them with vmalloc() buffers; nfit's regions use it as their media.
        // With a legacy persistent memory range reserved at boot
        // (memmap=nn!ss) the memory comes from there instead, at fixed
        // offsets, so the ranges have real physical addresses (pfn and dax
        // modes need struct pages). Their NFIT addresses stay C's.
        let reserved = reservation(dev);
        let mut backing = KVec::new();
        let mut backed = KVec::new();
        for (i, (&base, &size)) in bases.spa_set.iter().zip(bus.spa_set_sizes).enumerate() {
            let mem = match reserved {
                Some(start) => {
                    let phys = start + topology::backing_offset(bus.id, i);
                    backed.push(BackedRange { spa: base, phys, len: size }, GFP_KERNEL)?;
                    RangeMemory::Reserved(ReservedMemory::take(dev, phys, size)?)
                }
                None => RangeMemory::zeroed(size)?,
            };
            backing.push((base, mem), GFP_KERNEL)?;
        }
        // So are the DIMMs' flush hints, which nfit writes to flush; the
        // bus keeps them too, to count the writes (flush_hint_writes).
        let mut hints = KVec::new();
        for (i, &base) in bases.flush.iter().enumerate().filter(|(_, &b)| b != 0) {
            let words = SharedWords::zeroed(topology::FLUSH_ALLOC_SIZE)?;
            hints.push((topology::HANDLES[i].0, words.clone()), GFP_KERNEL)?;
            backing.push((base, RangeMemory::Words(words)), GFP_KERNEL)?;
        }

        let fault = Arc::pin_init(pin_init!(BusFault {
                backing: backed,
                peek <- new_mutex!(KVec::new()),
                budget <- new_mutex!(LabelWriteBudget::Off),
                media <- new_spinlock!(MediaWriteBudget::Off),
                hints,
            }), GFP_KERNEL)?;
        let fault_dev = DataClassDevice::new(&NFIT_TEST_BUS, dev, fault.clone(), &BUS_FAULT_GROUPS, format_args!("nfit_test.{}", bus.id))?;

        // nfit_test.0's hot-plugged DIMM never reaches nfit in 6.12 (its
        // _FIT re-read fails), so the table is the one before hot-plug.
        let mut table = zeroed_vec::<u8, Kmalloc>(topology::MAX_TABLE_LEN, GFP_KERNEL)?;
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
                    // A probe starts with no update anywhere (C's zeroed t->fw).
                    fw: BusFirmware::default(),
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
        // nfit copies the table before the platform moves in.
        let mut body = KVec::new();
        body.extend_from_slice(&firmware.table, GFP_KERNEL)?;
        let nfit = Nfit::register(dev, &body, masks, backing, firmware)?;
        Ok(Bound { _nfit: nfit, _test_dimms: test_dimms, _fault: fault_dev })
    }
}

/// `memremap_pages` picks the node itself.
const NUMA_NO_NODE: i32 = -1;

/// Where the buses' ranges go in the first legacy persistent memory range
/// (`memmap=nn!ss`), if there is one large enough: its start rounded up to
/// [`topology::BACKING_ALIGN`]. Without one, the ranges are vmalloc memory
/// as in C.
fn reservation(dev: &Device) -> Option<u64> {
    let (start, len) = ReservedMemory::find_legacy()?;
    let base = start.div_ceil(topology::BACKING_ALIGN) * topology::BACKING_ALIGN;
    let need = topology::backing_size();
    if base + need > start + len {
        dev_info!(dev, "legacy pmem [mem {:#x}-{:#x}] holds less than {:#x} bytes: ranges in vmalloc memory\n",
            start, start + len - 1, need);
        return None;
    }
    Some(base)
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
