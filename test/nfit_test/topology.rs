//! The two emulated platforms of Linux 6.12's nfit_test
//! (`tools/testing/nvdimm/test/nfit.c`) as pure data: the NFIT each one
//! publishes and the DIMM and bus metadata it gives libnvdimm.
//!
//! C takes its SPA base addresses from a gen_pool allocator; here they are
//! inputs ([`Bases`]) so the kernel module can hand in ranges it reserved.
//! The includer declares `mod formats` (the nd-formats crate) next to this
//! module.

use super::formats::cmd as nd;
use super::formats::nfit::{
    self, intel, DataRegionDesc, DcrBlock, DcrDesc, DeviceHandle, MemdevDesc, SpaDesc, SpaType,
    TableInfo, Writer,
};

/// Number of nfit_test platform devices (`NUM_NFITS`).
pub const NUM_BUSES: usize = 2;
/// PM ranges nfit_test.0 allocates (`NUM_PM`).
pub const NUM_PM: usize = 3;
/// DIMMs of nfit_test.0, hot-plugged one included (`NUM_DCR`).
pub const NUM_DCR: usize = 5;
/// Flush hint addresses per nfit_test.0 DIMM.
pub const NUM_HINTS: usize = 8;
/// Capacity of one nfit_test.0 DIMM.
pub const DIMM_SIZE: u64 = 32 << 20;
/// Label area size of every DIMM (`LABEL_SIZE`).
pub const LABEL_SIZE: usize = 128 << 10;
/// Largest label transfer nfit_test reports.
pub const MAX_XFER: u32 = 4 << 10;
/// The virtual CD range of nfit_test.1.
pub const SPA_VCD_SIZE: u64 = 4 << 20;
/// nfit_test.0 range 1: two DIMMs interleaved (and the hot-plug range).
pub const SPA0_SIZE: u64 = DIMM_SIZE;
/// nfit_test.0 range 2: four DIMMs interleaved.
pub const SPA1_SIZE: u64 = DIMM_SIZE * 2;
/// nfit_test.1's flat PM range.
pub const SPA2_SIZE: u64 = DIMM_SIZE;
/// Size of one block data window.
pub const BDW_SIZE: u64 = 64 << 8;
/// Length of each control-region SPA range.
pub const DCR_SIZE: u64 = 12;
/// Bytes C allocates behind each control-region range (it uses LABEL_SIZE).
pub const DCR_ALLOC_SIZE: u64 = LABEL_SIZE as u64;
/// Bytes behind each DIMM's flush hints: max(PAGE_SIZE, 8 * NUM_HINTS).
pub const FLUSH_ALLOC_SIZE: u64 = 4096;

/// Every nfit_test DIMM handle, indexed like C's `handle[]` (and `test_dimmN`).
pub const HANDLES: [DeviceHandle; 7] = [
    DeviceHandle::new(0, 0, 0, 0, 0),
    DeviceHandle::new(0, 0, 0, 0, 1),
    DeviceHandle::new(0, 0, 1, 0, 0),
    DeviceHandle::new(0, 0, 1, 0, 1),
    DeviceHandle::new(0, 1, 0, 0, 0),
    DeviceHandle::new(1, 0, 0, 0, 0),
    DeviceHandle::new(1, 0, 0, 0, 1),
];

/// Base addresses of the ranges a bus's table points at, named after C's
/// `*_dma` arrays. nfit_test.1 uses only `spa_set[0..2]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bases {
    /// PM (and for nfit_test.1, virtual CD) ranges; sizes in [`BusInfo::spa_set_sizes`].
    pub spa_set: [u64; NUM_PM],
    /// Control-region ranges, one per DIMM ([`DCR_ALLOC_SIZE`] each).
    pub dcr: [u64; NUM_DCR],
    /// Block data window apertures, one per DIMM ([`DIMM_SIZE`] each).
    pub dimm: [u64; NUM_DCR],
    /// Flush hint pages, one per DIMM ([`FLUSH_ALLOC_SIZE`] each).
    pub flush: [u64; NUM_DCR],
}

/// Start of the address window C's `nfit_pool` hands out (gen_pool_add(SZ_4G, SZ_4G)).
pub const POOL_BASE: u64 = 4 << 30;
/// Its size.
pub const POOL_SIZE: u64 = 4 << 30;
/// Alignment of every pool allocation (test_alloc()'s `genpool_data_align`).
pub const POOL_ALIGN: u64 = 128 << 20;
/// C vmallocs buffers smaller than [`DIMM_SIZE`] (control regions, flush
/// hints, the virtual CD) and publishes their kernel virtual address,
/// which changes every boot. We place them instead at consecutive pages
/// from here, just above the pool.
pub const SMALL_BASE: u64 = POOL_BASE + POOL_SIZE;

/// test_alloc()'s address choice, for one module load: nothing is freed
/// while both buses are bound, so first fit is a bump allocator.
struct Pool {
    next: u64,
    next_small: u64,
}

impl Pool {
    fn take(&mut self, size: u64) -> u64 {
        if size >= DIMM_SIZE {
            let at = self.next;
            self.next += size.div_ceil(POOL_ALIGN) * POOL_ALIGN;
            at
        } else {
            let at = self.next_small;
            self.next_small += size.div_ceil(4096) * 4096;
            at
        }
    }
}

/// The bases C's probes end up with, nfit_test.0 probing first: its three
/// PM ranges, then one block-window aperture per DIMM, all from the pool;
/// then nfit_test.1's PM range. Flush pages, control regions and the
/// virtual CD come from [`SMALL_BASE`] in the same order.
pub fn c_bases() -> [Bases; NUM_BUSES] {
    let mut pool = Pool {
        next: POOL_BASE,
        next_small: SMALL_BASE,
    };
    let mut b0 = Bases::default();
    for (base, size) in b0.spa_set.iter_mut().zip(BUSES[0].spa_set_sizes) {
        *base = pool.take(*size);
    }
    for i in 0..NUM_DCR {
        b0.dimm[i] = pool.take(DIMM_SIZE);
        b0.flush[i] = pool.take(FLUSH_ALLOC_SIZE);
    }
    for i in 0..NUM_DCR {
        b0.dcr[i] = pool.take(DCR_ALLOC_SIZE);
    }
    let mut b1 = Bases::default();
    b1.spa_set[0] = pool.take(SPA2_SIZE);
    b1.spa_set[1] = pool.take(SPA_VCD_SIZE);
    [b0, b1]
}

/// Alignment of each range's backing inside a physical reservation
/// (`memmap=nn!ss`, Documentation/testing.md): `memremap_pages` maps whole
/// subsections (2 MiB on x86_64), and a PMD-sized DAX fault needs the
/// backing 2 MiB aligned as the range's emulated address is (C's pool hands
/// out 128 MiB-aligned PM ranges).
pub const BACKING_ALIGN: u64 = 2 << 20;

/// Where `BUSES[bus].spa_set_sizes[range]` lies in a physical reservation:
/// the buses' ranges one after the other in bus order, each at a
/// [`BACKING_ALIGN`] boundary. Fixed, so a bus probed again (unbind and
/// bind) takes the same memory.
pub fn backing_offset(bus: usize, range: usize) -> u64 {
    let mut at = 0;
    for (b, info) in BUSES.iter().enumerate() {
        for (r, size) in info.spa_set_sizes.iter().enumerate() {
            if (b, r) == (bus, range) {
                return at;
            }
            at += size.div_ceil(BACKING_ALIGN) * BACKING_ALIGN;
        }
    }
    at
}

/// How much of a reservation every bus's ranges need together
/// ([`backing_offset`] past the last range).
pub fn backing_size() -> u64 {
    backing_offset(NUM_BUSES, 0)
}

/// Which of [`Bases`] a SPA range points at.
#[derive(Clone, Copy, Debug)]
enum Base {
    SpaSet(usize),
    Dcr(usize),
    Dimm(usize),
}

/// One subtable of a bus's table, with addresses still symbolic.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Spa {
        range_index: u16,
        ty: SpaType,
        base: Base,
        length: u64,
    },
    Memdev(MemdevDesc),
    Dcr(DcrDesc),
    Bdw(DataRegionDesc),
    /// Flush hints of DIMM `handle[i]`, at `flush[i] + 8 * n`.
    Flush(usize),
    Caps,
}

impl Entry {
    fn len(&self) -> usize {
        match self {
            Entry::Spa { .. } => nfit::SPA_LEN,
            Entry::Memdev(_) => nfit::MEMDEV_LEN,
            Entry::Dcr(d) if d.block.is_some() => nfit::DCR_LEN,
            Entry::Dcr(_) => nfit::DCR_SHORT_LEN,
            Entry::Bdw(_) => nfit::BDW_LEN,
            Entry::Flush(_) => nfit::FLUSH_LEN + 8 * NUM_HINTS,
            Entry::Caps => nfit::CAPS_LEN,
        }
    }

    fn write(&self, w: &mut Writer<'_>, bases: &Bases) -> Result<(), nfit::Error> {
        match *self {
            Entry::Spa {
                range_index,
                ty,
                base,
                length,
            } => w.spa(&SpaDesc {
                range_index,
                range_guid: ty.guid(),
                address: match base {
                    Base::SpaSet(i) => bases.spa_set[i],
                    Base::Dcr(i) => bases.dcr[i],
                    Base::Dimm(i) => bases.dimm[i],
                },
                length,
                ..SpaDesc::default()
            }),
            Entry::Memdev(ref m) => w.memdev(m),
            Entry::Dcr(ref d) => w.control_region(d),
            Entry::Bdw(ref b) => w.data_region(b),
            Entry::Flush(i) => {
                let mut hints = [0u64; NUM_HINTS];
                for (n, h) in hints.iter_mut().enumerate() {
                    *h = bases.flush[i] + 8 * n as u64;
                }
                w.flush_hint(HANDLES[i], &hints)
            }
            Entry::Caps => w.capabilities(1, nfit::CAP_MEM_FLUSH),
        }
    }
}

const fn spa(range_index: u16, ty: SpaType, base: Base, length: u64) -> Entry {
    Entry::Spa {
        range_index,
        ty,
        base,
        length,
    }
}

/// A memdev as nfit_test writes them: interleave index 0 throughout.
#[allow(clippy::too_many_arguments)]
const fn memdev(
    dimm: usize,
    physical_id: u16,
    region_id: u16,
    range_index: u16,
    region_index: u16,
    region_size: u64,
    region_offset: u64,
    address: u64,
    interleave_ways: u16,
    flags: u16,
) -> Entry {
    Entry::Memdev(MemdevDesc {
        device_handle: HANDLES[dimm],
        physical_id,
        region_id,
        range_index,
        region_index,
        region_size,
        region_offset,
        address,
        interleave_index: 0,
        interleave_ways,
        flags,
    })
}

/// dcr_common_init() plus the per-region fields; `block` makes it a
/// full-length BLK control region with one window.
const fn dcr(region_index: u16, dimm: usize, code: u16, block: bool) -> Entry {
    Entry::Dcr(DcrDesc {
        region_index,
        vendor_id: 0xabcd,
        device_id: 0,
        revision_id: 1,
        subsystem_vendor_id: 0,
        subsystem_device_id: 0,
        subsystem_revision_id: 0,
        valid_fields: nfit::DCR_MFG_INFO_VALID,
        manufacturing_location: 0xa,
        // cpu_to_be16(2016): the table holds the bytes 07 e0.
        manufacturing_date: u16::from_le_bytes(2016u16.to_be_bytes()),
        serial_number: !HANDLES[dimm].0,
        code,
        windows: if block { 1 } else { 0 },
        block: if block {
            Some(DcrBlock {
                window_size: DCR_SIZE,
                command_offset: 0,
                command_size: 8,
                status_offset: 8,
                status_size: 4,
                flags: 0,
            })
        } else {
            None
        },
    })
}

const fn bdw(region_index: u16) -> Entry {
    Entry::Bdw(DataRegionDesc {
        region_index,
        windows: 1,
        offset: 0,
        size: BDW_SIZE,
        capacity: DIMM_SIZE,
        start_address: 0,
    })
}

const HEALTH: u16 = nfit::MEM_HEALTH_ENABLED;

/// nfit_test0_setup(), before hot-plug: two PM interleave sets over four
/// DIMMs, each DIMM with a BLK and a PMEM control region, a block window and
/// flush hints, then the platform capabilities.
const BUS0: [Entry; 41] = [
    spa(1, SpaType::Pm, Base::SpaSet(0), SPA0_SIZE),
    spa(2, SpaType::Pm, Base::SpaSet(1), SPA1_SIZE),
    spa(3, SpaType::Dcr, Base::Dcr(0), DCR_SIZE),
    spa(4, SpaType::Dcr, Base::Dcr(1), DCR_SIZE),
    spa(5, SpaType::Dcr, Base::Dcr(2), DCR_SIZE),
    spa(6, SpaType::Dcr, Base::Dcr(3), DCR_SIZE),
    spa(7, SpaType::Bdw, Base::Dimm(0), DIMM_SIZE),
    spa(8, SpaType::Bdw, Base::Dimm(1), DIMM_SIZE),
    spa(9, SpaType::Bdw, Base::Dimm(2), DIMM_SIZE),
    spa(10, SpaType::Bdw, Base::Dimm(3), DIMM_SIZE),
    // Range 1 across dimm0/dimm1.
    memdev(0, 0, 0, 1, 5, SPA0_SIZE / 2, 1, 0, 2, 0),
    memdev(1, 1, 0, 1, 6, SPA0_SIZE / 2, 1 << 8, 0, 2, HEALTH),
    // Range 2 across all four, after range 1 on dimm0/dimm1.
    memdev(
        0,
        0,
        1,
        2,
        5,
        SPA1_SIZE / 4,
        1 << 16,
        SPA0_SIZE / 2,
        4,
        HEALTH,
    ),
    memdev(1, 1, 1, 2, 6, SPA1_SIZE / 4, 1 << 24, SPA0_SIZE / 2, 4, 0),
    memdev(
        2,
        2,
        0,
        2,
        7,
        SPA1_SIZE / 4,
        1 << 32,
        SPA0_SIZE / 2,
        4,
        HEALTH,
    ),
    memdev(3, 3, 0, 2, 8, SPA1_SIZE / 4, 1 << 40, SPA0_SIZE / 2, 4, 0),
    // Control-region ranges.
    memdev(0, 0, 0, 3, 1, 0, 0, 0, 1, 0),
    memdev(1, 1, 0, 4, 2, 0, 0, 0, 1, 0),
    memdev(2, 2, 0, 5, 3, 0, 0, 0, 1, 0),
    memdev(3, 3, 0, 6, 4, 0, 0, 0, 1, 0),
    // Block-window ranges.
    memdev(0, 0, 0, 7, 1, 0, 0, 0, 1, 0),
    memdev(1, 1, 0, 8, 2, 0, 0, 0, 1, 0),
    memdev(2, 2, 0, 9, 3, 0, 0, 0, 1, 0),
    memdev(3, 3, 0, 10, 4, 0, 0, 0, 1, HEALTH),
    dcr(1, 0, nfit::FIC_BLK, true),
    dcr(2, 1, nfit::FIC_BLK, true),
    dcr(3, 2, nfit::FIC_BLK, true),
    dcr(4, 3, nfit::FIC_BLK, true),
    dcr(5, 0, nfit::FIC_BYTEN, false),
    dcr(6, 1, nfit::FIC_BYTEN, false),
    dcr(7, 2, nfit::FIC_BYTEN, false),
    dcr(8, 3, nfit::FIC_BYTEN, false),
    bdw(1),
    bdw(2),
    bdw(3),
    bdw(4),
    Entry::Flush(0),
    Entry::Flush(1),
    Entry::Flush(2),
    Entry::Flush(3),
    Entry::Caps,
];

/// What nfit_test0_setup() appends with `setup_hotplug` (offered through
/// `_FIT` right after probe): dimm4 on socket 1 with its own PM range.
const BUS0_HOTPLUG: [Entry; 10] = [
    dcr(9, 4, nfit::FIC_BLK, true),
    dcr(10, 4, nfit::FIC_BYTEN, false),
    bdw(9),
    spa(11, SpaType::Dcr, Base::Dcr(4), DCR_SIZE),
    spa(12, SpaType::Pm, Base::SpaSet(2), SPA0_SIZE),
    spa(13, SpaType::Bdw, Base::Dimm(4), DIMM_SIZE),
    memdev(4, 4, 0, 11, 9, 0, 0, 0, 1, 0),
    memdev(4, 4, 0, 12, 10, SPA0_SIZE, 1 << 48, 0, 1, HEALTH),
    memdev(4, 4, 0, 13, 9, 0, 0, 0, 1, 0),
    Entry::Flush(4),
];

/// nfit_test1_setup(): one flat PM range on a DIMM whose last save failed,
/// a virtual CD, and a DIMM whose mapping failed (range index 0).
const BUS1: [Entry; 6] = [
    spa(1, SpaType::Pm, Base::SpaSet(0), SPA2_SIZE),
    spa(0, SpaType::Vcd, Base::SpaSet(1), SPA_VCD_SIZE),
    memdev(
        5,
        0,
        0,
        1,
        1,
        SPA2_SIZE,
        0,
        0,
        1,
        nfit::MEM_SAVE_FAILED
            | nfit::MEM_RESTORE_FAILED
            | nfit::MEM_FLUSH_FAILED
            | nfit::MEM_HEALTH_OBSERVED
            | nfit::MEM_NOT_ARMED,
    ),
    dcr(1, 5, nfit::FIC_BYTE, false),
    memdev(6, 0, 0, 0, 2, SPA2_SIZE, 0, 0, 1, nfit::MEM_MAP_FAILED),
    dcr(2, 6, nfit::FIC_BYTE, false),
];

const fn bits(list: &[u32]) -> u64 {
    let mut m = 0;
    let mut i = 0;
    while i < list.len() {
        m |= 1 << list[i];
        i += 1;
    }
    m
}

/// nfit_test0_setup()'s `dimm_cmd_force_en`: libnvdimm label commands, SMART,
/// firmware update, LSS, security and firmware activation.
const BUS0_DIMM_FORCE_EN: u64 = bits(&[
    nd::GET_CONFIG_SIZE,
    nd::GET_CONFIG_DATA,
    nd::SET_CONFIG_DATA,
    intel::ND_INTEL_SMART,
    intel::ND_INTEL_SMART_THRESHOLD,
    intel::ND_INTEL_SMART_SET_THRESHOLD,
    intel::ND_INTEL_SMART_INJECT,
    intel::ND_INTEL_FW_GET_INFO,
    intel::ND_INTEL_FW_START_UPDATE,
    intel::ND_INTEL_FW_SEND_DATA,
    intel::ND_INTEL_FW_FINISH_UPDATE,
    intel::ND_INTEL_FW_FINISH_QUERY,
    intel::ND_INTEL_ENABLE_LSS_STATUS,
]) | intel::NVDIMM_INTEL_SECURITY_CMDMASK
    | intel::NVDIMM_INTEL_FW_ACTIVATE_CMDMASK;

/// nfit_test1_setup()'s `dimm_cmd_force_en`.
const BUS1_DIMM_FORCE_EN: u64 = bits(&[
    intel::ND_INTEL_ENABLE_LSS_STATUS,
    nd::GET_CONFIG_SIZE,
    nd::GET_CONFIG_DATA,
    nd::SET_CONFIG_DATA,
]);

/// The ARS commands both buses force on.
const ARS_CMDS: u64 = bits(&[nd::ARS_CAP, nd::ARS_START, nd::ARS_STATUS, nd::CLEAR_ERROR]);

/// One nfit_test platform device and the bus it registers.
#[derive(Clone, Copy, Debug)]
pub struct BusInfo {
    /// Platform device id: the bus is `nfit_test.<id>`.
    pub id: usize,
    /// Platform device name.
    pub name: &'static str,
    /// Global index of its first DIMM (C's `dcr_idx`).
    pub dcr_idx: usize,
    /// Number of DIMMs (C's `num_dcr`).
    pub num_dcr: usize,
    /// Sizes of the ranges behind `Bases::spa_set`.
    pub spa_set_sizes: &'static [u64],
    /// Bus `cmd_mask`: acpi_nfit_init_dsms() replaces it with `bus_cmd_force_en`.
    pub cmd_mask: u64,
    /// `bus_family_mask`: NFIT, plus Intel when an Intel root mask is set.
    pub bus_family_mask: u64,
    /// Root NFIT DSMs allowed through ND_CMD_CALL (`bus_dsm_mask`).
    pub bus_dsm_mask: u64,
    /// Root Intel-family DSMs (`family_dsm_mask[NVDIMM_BUS_FAMILY_INTEL]`).
    pub intel_bus_dsm_mask: u64,
    /// `dimm_cmd_force_en`, which becomes every DIMM's dsm_mask.
    pub dimm_cmd_force_en: u64,
    /// `dimm_family_mask`: Intel only.
    pub dimm_family_mask: u64,
    /// Whether probe rebuilds the table with the hot-plug DIMM and notifies
    /// the driver (0x80) to re-read it through `_FIT`. In Linux 6.12 that
    /// re-read fails ("failed to evaluate _FIT": the handle C passes is not
    /// an nfit_test resource), so C's nfit_test.0 shows only dimm0..3.
    pub hotplug: bool,
    /// Initial ARS results cover `spa_set[0]` for this many bytes (post_ars_status()).
    pub ars_length: u64,
    entries: &'static [Entry],
    hotplug_entries: &'static [Entry],
}

/// nfit_test.0 and nfit_test.1.
pub const BUSES: [BusInfo; NUM_BUSES] = [
    BusInfo {
        id: 0,
        name: "nfit_test.0",
        dcr_idx: 0,
        num_dcr: NUM_DCR,
        spa_set_sizes: &[SPA0_SIZE, SPA1_SIZE, SPA0_SIZE],
        cmd_mask: ARS_CMDS | 1 << nd::CALL,
        bus_family_mask: 1 << nfit::dsm::NVDIMM_BUS_FAMILY_NFIT
            | 1 << nfit::dsm::NVDIMM_BUS_FAMILY_INTEL,
        bus_dsm_mask: bits(&[
            nfit::dsm::NFIT_CMD_TRANSLATE_SPA,
            nfit::dsm::NFIT_CMD_ARS_INJECT_SET,
            nfit::dsm::NFIT_CMD_ARS_INJECT_CLEAR,
            nfit::dsm::NFIT_CMD_ARS_INJECT_GET,
        ]),
        intel_bus_dsm_mask: intel::NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK,
        dimm_cmd_force_en: BUS0_DIMM_FORCE_EN,
        dimm_family_mask: 1 << nfit::dsm::NVDIMM_FAMILY_INTEL,
        hotplug: true,
        ars_length: SPA0_SIZE,
        entries: &BUS0,
        hotplug_entries: &BUS0_HOTPLUG,
    },
    BusInfo {
        id: 1,
        name: "nfit_test.1",
        dcr_idx: NUM_DCR,
        num_dcr: 2,
        spa_set_sizes: &[SPA2_SIZE, SPA_VCD_SIZE],
        // ND_CMD_CALL is set first and then overwritten by the force mask.
        cmd_mask: ARS_CMDS,
        bus_family_mask: 1 << nfit::dsm::NVDIMM_BUS_FAMILY_NFIT,
        bus_dsm_mask: 0,
        intel_bus_dsm_mask: 0,
        dimm_cmd_force_en: BUS1_DIMM_FORCE_EN,
        dimm_family_mask: 1 << nfit::dsm::NVDIMM_FAMILY_INTEL,
        hotplug: false,
        ars_length: SPA2_SIZE,
        entries: &BUS1,
        hotplug_entries: &[],
    },
];

/// Longest table any bus writes: nfit_test.0 with hot-plug, header included.
pub const MAX_TABLE_LEN: usize = 2760;

impl BusInfo {
    fn entries(&self, hotplug: bool) -> impl Iterator<Item = &'static Entry> {
        let extra: &'static [Entry] = if hotplug { self.hotplug_entries } else { &[] };
        self.entries.iter().chain(extra.iter())
    }

    /// Length of the table [`BusInfo::write_nfit`] writes, header included.
    pub fn table_len(&self, hotplug: bool) -> usize {
        nfit::TABLE_HEADER_LEN + self.entries(hotplug).map(Entry::len).sum::<usize>()
    }

    /// Writes the bus's complete NFIT (header and checksum included) into
    /// `buf` and returns its length. With `hotplug`, nfit_test.0's table
    /// also describes dimm4 (what probe offers through `_FIT`); nfit_test.1
    /// has no hot-plug part. C hands the driver only the body,
    /// `buf[nfit::TABLE_HEADER_LEN..len]`, so its bus `revision` reads 0.
    pub fn write_nfit(
        &self,
        bases: &Bases,
        hotplug: bool,
        buf: &mut [u8],
    ) -> Result<usize, nfit::Error> {
        let mut w = Writer::new(buf)?;
        for e in self.entries(hotplug) {
            e.write(&mut w, bases)?;
        }
        w.finish(&TableInfo::DEFAULT)
    }

    /// The bus's DIMMs, hot-plugged one included.
    pub fn dimms(&self) -> &'static [DimmInfo] {
        &DIMMS[self.dcr_idx..self.dcr_idx + self.num_dcr]
    }
}

/// One nfit_test DIMM and what the bus reports about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimmInfo {
    /// Global index: C's `handle[]` index, `test_dimm<index>`, and the slot
    /// of its fail_cmd state.
    pub index: usize,
    /// Index of its bus in [`BUSES`].
    pub bus: usize,
    /// Index of its label area within the bus (`index - dcr_idx`).
    pub label_index: usize,
    /// NFIT device handle.
    pub handle: DeviceHandle,
    /// SMBIOS physical id (sysfs `nfit/phys_id`).
    pub physical_id: u16,
    /// Serial number field of its control regions (`~handle`).
    pub serial: u32,
    /// sysfs `nfit/id`.
    pub id: &'static str,
    /// All its memdev flags OR-ed (sysfs `nfit/flags`).
    pub flags: u16,
    /// Format interface code of the control region the driver picks
    /// (sysfs `nfit/format`).
    pub format: u16,
    /// Only in the hot-plug table, which C never manages to publish (see
    /// [`BusInfo::hotplug`]); its `test_dimm` device exists regardless.
    pub hotplug: bool,
    /// DSM family (`nfit/family`): always Intel.
    pub family: u32,
    /// DSM functions the DIMM accepts (`nfit/dsm_mask`): the bus's `dimm_cmd_force_en`.
    pub dsm_mask: u64,
    /// libnvdimm command mask (`commands`).
    pub cmd_mask: u64,
}

const fn dimm(
    index: usize,
    physical_id: u16,
    id: &'static str,
    flags: u16,
    hotplug: bool,
) -> DimmInfo {
    let bus = if index < NUM_DCR { 0 } else { 1 };
    let dsm_mask = if bus == 0 {
        BUS0_DIMM_FORCE_EN
    } else {
        BUS1_DIMM_FORCE_EN
    };
    DimmInfo {
        index,
        bus,
        label_index: if bus == 0 { index } else { index - NUM_DCR },
        handle: HANDLES[index],
        physical_id,
        serial: !HANDLES[index].0,
        id,
        flags,
        // nfit_test.0 DIMMs end up with their BLK region (it has windows).
        format: if bus == 0 {
            nfit::FIC_BLK
        } else {
            nfit::FIC_BYTE
        },
        hotplug,
        family: nfit::dsm::NVDIMM_FAMILY_INTEL,
        dsm_mask,
        cmd_mask: nfit::dsm::dimm_cmd_mask(nfit::dsm::NVDIMM_FAMILY_INTEL, dsm_mask),
    }
}

/// Every nfit_test DIMM, indexed like [`HANDLES`]. The id is
/// `vendor-location-date-serial` with vendor, date and serial byte-swapped,
/// as acpi_nfit_add_dimm() prints them.
pub const DIMMS: [DimmInfo; 7] = [
    dimm(0, 0, "cdab-0a-07e0-ffffffff", HEALTH, false),
    dimm(1, 1, "cdab-0a-07e0-feffffff", HEALTH, false),
    dimm(2, 2, "cdab-0a-07e0-fffeffff", HEALTH, false),
    dimm(3, 3, "cdab-0a-07e0-fefeffff", HEALTH, false),
    dimm(4, 4, "cdab-0a-07e0-ffefffff", HEALTH, true),
    dimm(
        5,
        0,
        "cdab-0a-07e0-fffffeff",
        nfit::MEM_SAVE_FAILED
            | nfit::MEM_RESTORE_FAILED
            | nfit::MEM_FLUSH_FAILED
            | nfit::MEM_NOT_ARMED
            | nfit::MEM_HEALTH_OBSERVED,
        false,
    ),
    dimm(6, 0, "cdab-0a-07e0-fefffeff", nfit::MEM_MAP_FAILED, false),
];

/// The DIMM with this handle.
pub fn dimm_by_handle(handle: DeviceHandle) -> Option<&'static DimmInfo> {
    DIMMS.iter().find(|d| d.handle == handle)
}

/// Fills a fresh label area as nfit_test's alloc does: zeroes, then
/// `sprintf(label, "label%d", label_index)`.
pub fn init_label(dimm: &DimmInfo, label: &mut [u8]) {
    label.fill(0);
    let digit = [b'0' + (dimm.label_index % 10) as u8];
    for (dst, src) in label.iter_mut().zip(b"label".iter().chain(digit.iter())) {
        *dst = *src;
    }
}

/// The health every DIMM starts with (`smart_def`, copied by smart_init()).
pub const SMART_DEFAULT: intel::Smart = intel::Smart {
    flags: intel::SMART_HEALTH_VALID
        | intel::SMART_SPARES_VALID
        | intel::SMART_ALARM_VALID
        | intel::SMART_USED_VALID
        | intel::SMART_SHUTDOWN_VALID
        | intel::SMART_SHUTDOWN_COUNT_VALID
        | intel::SMART_MTEMP_VALID
        | intel::SMART_CTEMP_VALID,
    health: intel::SMART_NON_CRITICAL_HEALTH,
    spares: 75,
    life_used: 5,
    alarm_flags: (intel::SMART_SPARE_TRIP | intel::SMART_TEMP_TRIP) as u8,
    media_temperature: 23 * 16,
    ctrl_temperature: 25 * 16,
    shutdown_count: 42,
    ait_status: 1,
    pmic_temperature: 40 * 16,
    shutdown_state: 0,
    vendor_size: 0,
    vendor_data: [0; 92],
};

/// The thresholds every DIMM starts with (smart_init()'s `smart_t_data`).
pub const SMART_THRESHOLD_DEFAULT: intel::SmartThreshold = intel::SmartThreshold {
    alarm_control: intel::SMART_SPARE_TRIP | intel::SMART_TEMP_TRIP,
    spares: 5,
    media_temperature: 40 * 16,
    ctrl_temperature: 30 * 16,
};
