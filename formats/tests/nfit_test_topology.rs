//! nfit_test's topology and DIMM commands, included by path exactly as the
//! Rust nfit_test kernel module includes them. Expected values are read off
//! Linux 6.12 tools/testing/nvdimm/test/nfit.c; each test cites the function.

mod formats {
    pub use nd_formats::*;
}
#[path = "../../test/nfit_test/dsm.rs"]
mod dsm;
#[path = "../../test/nfit_test/firmware.rs"]
#[allow(dead_code)] // tested in nfit_test_firmware.rs, but for its dispatch
mod firmware;
#[path = "../../test/nfit_test/topology.rs"]
mod topology;

use dsm::{DimmState, Errno, FailCmd, LabelWrite, LabelWriteBudget, Outcome};
use formats::cmd as nd;
use formats::nfit::{self, intel, DeviceHandle, Nfit, SpaType, Subtable, TableInfo, Writer};
use topology::{Bases, BUSES, DIMMS, HANDLES, LABEL_SIZE};

const M: u64 = 1 << 20;

/// Distinct, recognisable bases: spa_set at 4G + 128M steps (C's gen_pool
/// hands out 128M-aligned ranges from 4G), the rest below.
fn bases() -> Bases {
    let mut b = Bases::default();
    for i in 0..3 {
        b.spa_set[i] = (4 << 30) + (i as u64) * (128 * M);
    }
    for i in 0..5 {
        b.dcr[i] = 0x1000_0000 + (i as u64) * 0x10_0000;
        b.dimm[i] = (8 << 30) + (i as u64) * (128 * M);
        b.flush[i] = 0x2000_0000 + (i as u64) * 0x1000;
    }
    b
}

fn write(bus: usize, hotplug: bool) -> Vec<u8> {
    let mut buf = vec![0u8; topology::MAX_TABLE_LEN];
    let len = BUSES[bus].write_nfit(&bases(), hotplug, &mut buf).unwrap();
    assert_eq!(len, BUSES[bus].table_len(hotplug));
    buf.truncate(len);
    buf
}

type SpaRow = (u16, SpaType, u64, u64);

fn spa_rows(t: &Nfit<'_>) -> Vec<SpaRow> {
    t.spas()
        .map(|s| {
            (
                s.range_index(),
                s.spa_type().unwrap(),
                s.address(),
                s.length(),
            )
        })
        .collect()
}

#[test]
fn handles_match_nfit_dimm_handle() {
    // static u32 handle[] in nfit.c.
    let expect = [0x0, 0x1, 0x100, 0x101, 0x1000, 0x1_0000, 0x1_0001];
    assert_eq!(HANDLES.map(|h| h.0), expect);
    assert_eq!(HANDLES[4].socket(), 1);
    assert_eq!(HANDLES[6].node(), 1);
    assert_eq!(HANDLES[6].dimm(), 1);
}

// nfit_test0_alloc() sizes the buffer for the hot-plug table; nfit_test0_setup()
// WARNs unless it is filled exactly. nfit_test1_alloc() likewise.
#[test]
fn table_sizes_match_c_alloc() {
    let spa = 56;
    let nfit0 = spa * 13 + 48 * 17 + 80 * 5 + 32 * 5 + 40 * 5 + (16 + 8 * 8) * 5 + 16;
    assert_eq!(nfit0, 2720);
    assert_eq!(BUSES[0].table_len(true), 40 + nfit0);
    assert_eq!(topology::MAX_TABLE_LEN, 40 + nfit0);
    assert_eq!(BUSES[0].table_len(false), 40 + 2176);
    assert_eq!(BUSES[1].table_len(false), 40 + spa * 2 + 48 * 2 + 32 * 2);
    assert_eq!(BUSES[1].table_len(true), BUSES[1].table_len(false));
    let mut small = vec![0u8; 100];
    assert_eq!(
        BUSES[0].write_nfit(&bases(), true, &mut small).unwrap_err(),
        nfit::Error::NoSpace
    );
}

// nfit_test0_setup(): spa0..spa9, then spa10..spa12 with setup_hotplug.
#[test]
fn nfit_test0_spas() {
    let b = bases();
    let table = write(0, true);
    let (hdr, t) = Nfit::parse_table(&table).unwrap();
    assert_eq!(hdr.length as usize, table.len());
    let expect: Vec<SpaRow> = vec![
        (1, SpaType::Pm, b.spa_set[0], 32 * M),
        (2, SpaType::Pm, b.spa_set[1], 64 * M),
        (3, SpaType::Dcr, b.dcr[0], 12),
        (4, SpaType::Dcr, b.dcr[1], 12),
        (5, SpaType::Dcr, b.dcr[2], 12),
        (6, SpaType::Dcr, b.dcr[3], 12),
        (7, SpaType::Bdw, b.dimm[0], 32 * M),
        (8, SpaType::Bdw, b.dimm[1], 32 * M),
        (9, SpaType::Bdw, b.dimm[2], 32 * M),
        (10, SpaType::Bdw, b.dimm[3], 32 * M),
        (11, SpaType::Dcr, b.dcr[4], 12),
        (12, SpaType::Pm, b.spa_set[2], 32 * M),
        (13, SpaType::Bdw, b.dimm[4], 32 * M),
    ];
    assert_eq!(spa_rows(&t), expect);
    assert!(t.spas().all(|s| s.as_bytes().len() == 56 && s.flags() == 0));

    // Interleave ways the driver counts.
    let ways: Vec<(u16, usize)> = t
        .spas()
        .map(|s| (s.range_index(), t.interleave_ways(&s)))
        .collect();
    assert_eq!(
        ways,
        [
            (1, 2),
            (2, 4),
            (3, 1),
            (4, 1),
            (5, 1),
            (6, 1),
            (7, 1),
            (8, 1),
            (9, 1),
            (10, 1),
            (11, 1),
            (12, 1),
            (13, 1)
        ]
    );
    assert_eq!(t.platform_capabilities(), Some(nfit::CAP_MEM_FLUSH));
    assert_eq!(t.zero_length_at(), None);

    // Without hot-plug, the first ten only.
    let table = write(0, false);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    assert_eq!(spa_rows(&t), expect[..10]);
}

// nfit_test0_setup(): mem-region0..13 (+14..16 with hot-plug).
#[test]
fn nfit_test0_memdevs() {
    let table = write(0, true);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    // (handle, phys, region_id, range, region, size, offset, dpa, ways, flags)
    type Row = (u32, u16, u16, u16, u16, u64, u64, u64, u16, u16);
    let h = nfit::MEM_HEALTH_ENABLED;
    let expect: Vec<Row> = vec![
        (0x0, 0, 0, 1, 5, 16 * M, 1, 0, 2, 0),
        (0x1, 1, 0, 1, 6, 16 * M, 1 << 8, 0, 2, h),
        (0x0, 0, 1, 2, 5, 16 * M, 1 << 16, 16 * M, 4, h),
        (0x1, 1, 1, 2, 6, 16 * M, 1 << 24, 16 * M, 4, 0),
        (0x100, 2, 0, 2, 7, 16 * M, 1 << 32, 16 * M, 4, h),
        (0x101, 3, 0, 2, 8, 16 * M, 1 << 40, 16 * M, 4, 0),
        (0x0, 0, 0, 3, 1, 0, 0, 0, 1, 0),
        (0x1, 1, 0, 4, 2, 0, 0, 0, 1, 0),
        (0x100, 2, 0, 5, 3, 0, 0, 0, 1, 0),
        (0x101, 3, 0, 6, 4, 0, 0, 0, 1, 0),
        (0x0, 0, 0, 7, 1, 0, 0, 0, 1, 0),
        (0x1, 1, 0, 8, 2, 0, 0, 0, 1, 0),
        (0x100, 2, 0, 9, 3, 0, 0, 0, 1, 0),
        (0x101, 3, 0, 10, 4, 0, 0, 0, 1, h),
        (0x1000, 4, 0, 11, 9, 0, 0, 0, 1, 0),
        (0x1000, 4, 0, 12, 10, 32 * M, 1 << 48, 0, 1, h),
        (0x1000, 4, 0, 13, 9, 0, 0, 0, 1, 0),
    ];
    let got: Vec<Row> = t
        .memdevs()
        .map(|m| {
            (
                m.device_handle().0,
                m.physical_id(),
                m.region_id(),
                m.range_index(),
                m.region_index(),
                m.region_size(),
                m.region_offset(),
                m.address(),
                m.interleave_ways(),
                m.flags(),
            )
        })
        .collect();
    assert_eq!(got, expect);
    assert!(t.memdevs().all(|m| m.interleave_index() == 0));
}

// nfit_test0_setup(): dcr-descriptor0..3 (blk), 0..3 (pmem), the hot-plug
// pair; dcr_common_init(); bdw0..4; flush0..4.
#[test]
fn nfit_test0_control_regions_windows_flush() {
    let b = bases();
    let table = write(0, true);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    let rows: Vec<(u16, u32, u16, u16, usize)> = t
        .control_regions()
        .map(|d| {
            (
                d.region_index(),
                d.serial_number(),
                d.code(),
                d.windows(),
                d.as_bytes().len(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, !0x0, 0x201, 1, 80),
            (2, !0x1, 0x201, 1, 80),
            (3, !0x100, 0x201, 1, 80),
            (4, !0x101, 0x201, 1, 80),
            (5, !0x0, 0x301, 0, 32),
            (6, !0x1, 0x301, 0, 32),
            (7, !0x100, 0x301, 0, 32),
            (8, !0x101, 0x301, 0, 32),
            (9, !0x1000, 0x201, 1, 80),
            (10, !0x1000, 0x301, 0, 32),
        ]
    );
    for d in t.control_regions() {
        assert_eq!(
            (d.vendor_id(), d.device_id(), d.revision_id()),
            (0xabcd, 0, 1)
        );
        assert_eq!(
            (
                d.subsystem_vendor_id(),
                d.subsystem_device_id(),
                d.subsystem_revision_id()
            ),
            (0, 0, 0)
        );
        assert_eq!((d.valid_fields(), d.manufacturing_location()), (1, 0xa));
        // cpu_to_be16(2016)
        assert_eq!(d.manufacturing_date_be(), 2016);
        assert_eq!(&d.as_bytes()[20..22], &[0x07, 0xe0]);
        if let Some(blk) = d.block() {
            assert_eq!(
                (
                    blk.window_size,
                    blk.command_offset,
                    blk.command_size,
                    blk.status_offset,
                    blk.status_size,
                    blk.flags
                ),
                (12, 0, 8, 8, 4, 0)
            );
        }
    }
    let bdws: Vec<_> = t.data_regions().map(|d| d.desc()).collect();
    assert_eq!(bdws.len(), 5);
    for (d, region) in bdws.iter().zip([1, 2, 3, 4, 9]) {
        assert_eq!(
            (
                d.region_index,
                d.windows,
                d.offset,
                d.size,
                d.capacity,
                d.start_address
            ),
            (region, 1, 0, 64 << 8, 32 * M, 0)
        );
    }
    let flushes: Vec<_> = t.flush_hints().collect();
    assert_eq!(flushes.len(), 5);
    for (i, f) in flushes.iter().enumerate() {
        assert_eq!(f.device_handle(), HANDLES[i]);
        let hints: Vec<u64> = f.hint_addresses().collect();
        assert_eq!(
            hints,
            (0..8).map(|n| b.flush[i] + 8 * n).collect::<Vec<_>>()
        );
    }
}

// nfit_test1_setup(): a flat PM range, a virtual CD, two BYTE DIMMs.
#[test]
fn nfit_test1_table() {
    let b = bases();
    let table = write(1, false);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    assert_eq!(
        spa_rows(&t),
        [
            (1, SpaType::Pm, b.spa_set[0], 32 * M),
            (0, SpaType::Vcd, b.spa_set[1], 4 * M)
        ]
    );
    let vcd = t.spa(0).unwrap();
    assert_eq!(t.interleave_ways(&vcd), 0, "range index 0 never maps");
    assert_eq!(t.interleave_ways(&t.spa(1).unwrap()), 1);
    let memdevs: Vec<_> = t
        .memdevs()
        .map(|m| {
            (
                m.device_handle().0,
                m.range_index(),
                m.region_index(),
                m.region_size(),
                m.flags(),
            )
        })
        .collect();
    assert_eq!(
        memdevs,
        [(0x10000, 1, 1, 32 * M, 0x1f), (0x10001, 0, 2, 32 * M, 0x40)]
    );
    let dcrs: Vec<_> = t
        .control_regions()
        .map(|d| {
            (
                d.region_index(),
                d.serial_number(),
                d.code(),
                d.as_bytes().len(),
            )
        })
        .collect();
    assert_eq!(dcrs, [(1, !0x10000, 0x101, 32), (2, !0x10001, 0x101, 32)]);
    assert_eq!(t.flush_hints().count(), 0);
    assert_eq!(t.platform_capabilities(), None);
}

// The DIMMs the driver builds from each table must be exactly topology::DIMMS.
#[test]
fn dimms_match_topology_table() {
    for (bus, hotplug) in [(0, false), (0, true), (1, false)] {
        let table = write(bus, hotplug);
        let (_, t) = Nfit::parse_table(&table).unwrap();
        let got: Vec<_> = t.dimms().collect();
        let want: Vec<_> = BUSES[bus]
            .dimms()
            .iter()
            .filter(|d| hotplug || !d.hotplug)
            .collect();
        assert_eq!(got.len(), want.len(), "bus {bus} hotplug {hotplug}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.handle, w.handle);
            assert_eq!(g.physical_id(), w.physical_id);
            assert_eq!(g.flags, w.flags);
            let dcr = g.dcr.unwrap();
            assert_eq!(dcr.serial_number(), w.serial);
            assert_eq!(dcr.code(), w.format);
            assert_eq!(g.id().unwrap(), w.id);
            assert_eq!(g.hint_count(), if bus == 0 { 8 } else { 0 });
        }
    }
}

// Hand-checked facts about the DIMMs (handle[], dcr_common_init(), the
// memdev flags of nfit_test1_setup()).
#[test]
fn dimm_facts() {
    let ids: Vec<&str> = DIMMS.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [
            "cdab-0a-07e0-ffffffff",
            "cdab-0a-07e0-feffffff",
            "cdab-0a-07e0-fffeffff",
            "cdab-0a-07e0-fefeffff",
            "cdab-0a-07e0-ffefffff",
            "cdab-0a-07e0-fffffeff",
            "cdab-0a-07e0-fefffeff",
        ]
    );
    assert_eq!(
        DIMMS.map(|d| d.serial),
        [0xffffffff, 0xfffffffe, 0xfffffeff, 0xfffffefe, 0xffffefff, 0xfffeffff, 0xfffefffe]
    );
    assert_eq!(
        DIMMS.map(|d| d.flags),
        [0x20, 0x20, 0x20, 0x20, 0x20, 0x1f, 0x40]
    );
    assert_eq!(DIMMS.map(|d| d.physical_id), [0, 1, 2, 3, 4, 0, 0]);
    assert_eq!(DIMMS.map(|d| d.label_index), [0, 1, 2, 3, 4, 0, 1]);
    assert_eq!(DIMMS.map(|d| d.bus), [0, 0, 0, 0, 0, 1, 1]);
    assert!(DIMMS
        .iter()
        .enumerate()
        .all(|(i, d)| d.index == i && d.family == 0));
    assert!(DIMMS[5].flags & nfit::MEM_NOT_ARMED != 0);
    assert_eq!(
        topology::dimm_by_handle(DeviceHandle(0x10001))
            .unwrap()
            .index,
        6
    );
    assert!(topology::dimm_by_handle(DeviceHandle(0x2)).is_none());
}

// nfit_test0_setup()/nfit_test1_setup() force masks, as acpi_nfit_init_dsms()
// and acpi_nfit_register_dimms() turn them into bus and DIMM masks.
#[test]
fn command_masks() {
    let (b0, b1) = (&BUSES[0], &BUSES[1]);
    assert_eq!((b0.cmd_mask, b1.cmd_mask), (0x41e, 0x1e));
    assert_eq!((b0.bus_family_mask, b1.bus_family_mask), (0x3, 0x1));
    assert_eq!((b0.bus_dsm_mask, b1.bus_dsm_mask), (0x3a0, 0));
    assert_eq!((b0.intel_bus_dsm_mask, b1.intel_bus_dsm_mask), (0x6, 0));
    assert_eq!(
        (b0.dimm_cmd_force_en, b1.dimm_cmd_force_en),
        (0x7fff_f476, 0x470)
    );
    for d in &DIMMS[..5] {
        assert_eq!((d.dsm_mask, d.cmd_mask), (0x7fff_f476, 0x476));
    }
    for d in &DIMMS[5..] {
        assert_eq!((d.dsm_mask, d.cmd_mask), (0x470, 0x470));
    }
    assert_eq!(intel::NVDIMM_INTEL_CMDMASK, 0x7fff_fffe);
    assert_eq!(b0.spa_set_sizes, [32 * M, 64 * M, 32 * M]);
    assert_eq!(b1.spa_set_sizes, [32 * M, 4 * M]);
    assert_eq!((b0.name, b1.name), ("nfit_test.0", "nfit_test.1"));
    assert_eq!((b0.id, b1.id), (0, 1));
    assert_eq!((b0.dimm_family_mask, b1.dimm_family_mask), (1, 1));
    assert_eq!((b0.hotplug, b1.hotplug), (true, false));
    // post_ars_status() in each setup covers spa_set[0].
    assert_eq!((b0.ars_length, b1.ars_length), (32 * M, 32 * M));
    // What test_alloc() reserves behind the control-region and flush ranges.
    assert_eq!(
        (topology::DCR_ALLOC_SIZE, topology::FLUSH_ALLOC_SIZE),
        (128 << 10, 4096)
    );
    assert_eq!((b0.dimms().len(), b1.dimms().len()), (5, 2));
}

// smart_def and smart_init()'s threshold, in the nd_intel_smart layout.
#[test]
fn smart_payload_layout() {
    let b = topology::SMART_DEFAULT.to_bytes();
    assert_eq!(b.len(), 132);
    assert_eq!(&b[0..4], &[0, 0, 0, 0]);
    assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 0x63f);
    assert_eq!(&b[12..16], &[1, 75, 5, 3]);
    assert_eq!(u16::from_le_bytes([b[16], b[17]]), 23 * 16);
    assert_eq!(u16::from_le_bytes([b[18], b[19]]), 25 * 16);
    assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 42);
    assert_eq!(b[24], 1);
    assert_eq!(u16::from_le_bytes([b[25], b[26]]), 40 * 16);
    assert_eq!(b[35], 0);
    assert_eq!(intel::Smart::from_bytes(&b), Some(topology::SMART_DEFAULT));
    assert_eq!(intel::Smart::from_bytes(&b[..131]), None);

    let t = topology::SMART_THRESHOLD_DEFAULT.to_bytes();
    assert_eq!(t, [0, 0, 0, 0, 3, 0, 5, 0x80, 0x02, 0xe0, 0x01, 0]);
}

#[test]
fn label_init() {
    let mut label = vec![0xffu8; LABEL_SIZE];
    topology::init_label(&DIMMS[6], &mut label);
    assert_eq!(&label[..7], b"label1\0");
    assert!(label[6..].iter().all(|b| *b == 0));
}

fn get_data(offset: u32, length: u32, buf_len: usize) -> Vec<u8> {
    let mut buf = vec![0xeeu8; buf_len];
    buf[0..4].copy_from_slice(&offset.to_le_bytes());
    buf[4..8].copy_from_slice(&length.to_le_bytes());
    buf
}

fn label_pattern() -> Vec<u8> {
    (0..LABEL_SIZE).map(|i| (i % 251) as u8).collect()
}

// nfit_test_cmd_get_config_size()
#[test]
fn get_config_size() {
    let mut buf = [0xffu8; 12];
    assert_eq!(dsm::get_config_size(&mut buf), Ok(0));
    assert_eq!(buf, [0, 0, 0, 0, 0, 0, 2, 0, 0, 0x10, 0, 0]);
    assert_eq!(dsm::get_config_size(&mut [0u8; 11]), Err(Errno::EINVAL));
    // A longer buffer still reports 0 bytes left.
    assert_eq!(dsm::get_config_size(&mut [0u8; 20]), Ok(0));
}

// nfit_test_cmd_get_config_data()
#[test]
fn get_config_data_bounds() {
    let label = label_pattern();
    let mut buf = get_data(100, 16, 12 + 16);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Ok(0));
    assert_eq!(&buf[8..12], &[0; 4]);
    assert_eq!(&buf[12..], &label[100..116]);

    // Room beyond in_length is reported back as unfilled.
    let mut buf = get_data(0, 16, 12 + 40);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Ok(24));

    // Too short for the header.
    assert_eq!(
        dsm::get_config_data(&mut [0u8; 11], &label),
        Err(Errno::EINVAL)
    );
    // Offset at or past the end of the label area.
    let mut buf = get_data(LABEL_SIZE as u32, 4, 16);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Err(Errno::EINVAL));
    // in_length larger than the buffer holds.
    let mut buf = get_data(0, 17, 12 + 16);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Err(Errno::EINVAL));
    // Huge in_length does not wrap.
    let mut buf = get_data(0, u32::MAX, 12 + 16);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Err(Errno::EINVAL));

    // Reading past the end of the area is cut short, not refused.
    let mut buf = get_data(LABEL_SIZE as u32 - 4, 16, 12 + 16);
    assert_eq!(dsm::get_config_data(&mut buf, &label), Ok(12));
    assert_eq!(&buf[12..16], &label[LABEL_SIZE - 4..]);
    assert_eq!(&buf[16..], &[0xee; 12]);
}

// nfit_test_cmd_set_config_data()
#[test]
fn set_config_data_bounds() {
    let mut label = vec![0u8; LABEL_SIZE];
    let mut buf = get_data(8, 4, 8 + 4 + 4);
    buf[8..12].copy_from_slice(b"abcd");
    assert_eq!(dsm::set_config_data(&mut buf, &mut label), Ok(0));
    assert_eq!(&label[8..12], b"abcd");
    assert_eq!(&buf[12..16], &[0; 4], "status follows the data");

    // Too short for the header.
    assert_eq!(
        dsm::set_config_data(&mut [0u8; 7], &mut label),
        Err(Errno::EINVAL)
    );
    // Offset past the end.
    let mut buf = get_data(LABEL_SIZE as u32, 0, 12);
    assert_eq!(
        dsm::set_config_data(&mut buf, &mut label),
        Err(Errno::EINVAL)
    );
    // Data plus status must fit.
    let mut buf = get_data(0, 5, 8 + 4 + 4);
    assert_eq!(
        dsm::set_config_data(&mut buf, &mut label),
        Err(Errno::EINVAL)
    );
    let mut buf = get_data(0, u32::MAX - 3, 16);
    assert_eq!(
        dsm::set_config_data(&mut buf, &mut label),
        Err(Errno::EINVAL)
    );

    // A write running off the end is silently truncated; the status still
    // lands after the full in_length.
    let mut buf = get_data(LABEL_SIZE as u32 - 2, 4, 8 + 4 + 4 + 6);
    buf[8..12].copy_from_slice(b"wxyz");
    assert_eq!(dsm::set_config_data(&mut buf, &mut label), Ok(8));
    assert_eq!(&label[LABEL_SIZE - 2..], b"wx");
    assert_eq!(&buf[12..16], &[0; 4]);
}

fn ctl(
    dimm: usize,
    state: &mut DimmState,
    label: &mut [u8],
    command: u32,
    buf: &mut [u8],
) -> Outcome {
    dsm::dimm_ctl(&DIMMS[dimm], state, label, &mut LabelWriteBudget::Off, command, buf)
}

fn rc(o: Outcome) -> i32 {
    match o {
        Outcome::Done { rc, .. } => rc,
        other => panic!("{other:?}"),
    }
}

// nfit_test_ctl() for DIMMs, and override_return_code() (the test_dimm
// fail_cmd / fail_cmd_code attributes).
#[test]
fn dimm_ctl_masks_and_fail_cmd() {
    let mut label = label_pattern();
    let mut st = DimmState::new();
    let mut buf = [0u8; 12];
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::GET_CONFIG_SIZE, &mut buf)),
        0
    );
    // SMART is in the command mask but nfit_test only answers it via ND_CMD_CALL.
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::SMART, &mut buf)), -25);
    // nfit_test.1 DIMMs do not have it at all.
    assert_eq!(rc(ctl(5, &mut st, &mut label, nd::SMART, &mut buf)), -25);
    assert_eq!(
        rc(ctl(5, &mut st, &mut label, nd::GET_CONFIG_SIZE, &mut buf)),
        0
    );
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::DIMM_FLAGS, &mut buf)),
        -25
    );
    assert_eq!(rc(ctl(0, &mut st, &mut label, 99, &mut buf)), -25);

    // fail_cmd bit 6: the write still happens, the caller sees -EIO.
    st.fail = FailCmd {
        flags: 1 << nd::SET_CONFIG_DATA,
        code: 0,
    };
    let mut w = get_data(0, 4, 16);
    w[8..12].copy_from_slice(b"LBL!");
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::SET_CONFIG_DATA, &mut w)),
        -5
    );
    assert_eq!(&label[..4], b"LBL!");
    // fail_cmd_code overrides the errno, whatever its sign.
    st.fail.code = -6;
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::SET_CONFIG_DATA, &mut w)),
        -6
    );
    st.fail.code = 7;
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::SET_CONFIG_DATA, &mut w)),
        7
    );
    // Other commands are unaffected; ENOTTY is never overridden.
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::GET_CONFIG_SIZE, &mut buf)),
        0
    );
    st.fail.flags = !0;
    assert_eq!(
        rc(ctl(0, &mut st, &mut label, nd::DIMM_FLAGS, &mut buf)),
        -25
    );
    assert_eq!(
        FailCmd {
            flags: 1 << 63,
            code: 0
        }
        .apply(63, 0),
        -5
    );
    assert_eq!(FailCmd { flags: !0, code: 0 }.apply(64, 3), 3);
}

// The label_write_budget knob (ours, not C's): budget k lets k writes land,
// tears the next one in half, and loses every later one until reset.
#[test]
fn label_write_budget_spend() {
    assert_eq!(LabelWriteBudget::from_i64(-1), Ok(LabelWriteBudget::Off));
    assert_eq!(LabelWriteBudget::from_i64(0), Ok(LabelWriteBudget::Left(0)));
    assert_eq!(LabelWriteBudget::from_i64(-2), Err(Errno::EINVAL));
    assert_eq!(LabelWriteBudget::from_i64(i64::MIN), Err(Errno::EINVAL));
    let mut off = LabelWriteBudget::Off;
    for _ in 0..100 {
        assert_eq!(off.spend(), LabelWrite::Full);
    }
    assert_eq!(off, LabelWriteBudget::Off);
    for k in 0..5u64 {
        let mut b = LabelWriteBudget::Left(k);
        let fates: Vec<_> = (0..k + 3).map(|_| b.spend()).collect();
        let mut want = vec![LabelWrite::Full; k as usize];
        want.extend([LabelWrite::Torn, LabelWrite::Lost, LabelWrite::Lost]);
        assert_eq!(fates, want, "budget {k}");
        assert!(b.is_cut());
    }
}

/// One SET_CONFIG_DATA of `data` at `offset` through dimm_ctl with `budget`.
fn budgeted_write(label: &mut [u8], budget: &mut LabelWriteBudget, offset: u32, data: &[u8]) -> i32 {
    let mut w = get_data(offset, data.len() as u32, 8 + data.len() + 4);
    w[8..8 + data.len()].copy_from_slice(data);
    let mut st = DimmState::new();
    rc(dsm::dimm_ctl(&DIMMS[0], &mut st, label, budget, nd::SET_CONFIG_DATA, &mut w))
}

#[test]
fn label_write_budget_tears_write_k_plus_1() {
    let chunk = 4096usize;
    for k in 0..6usize {
        let mut label = vec![0u8; LABEL_SIZE];
        let mut budget = LabelWriteBudget::Left(k as u64);
        let rcs: Vec<i32> = (0..8)
            .map(|i| budgeted_write(&mut label, &mut budget, (i * chunk) as u32, &vec![0xa0 + i as u8; chunk]))
            .collect();
        let mut want = vec![0; k];
        want.resize(8, -5);
        assert_eq!(rcs, want, "budget {k}: the writes after the cut fail with EIO");
        for i in 0..8 {
            let got = &label[i * chunk..(i + 1) * chunk];
            let landed = match i.cmp(&k) {
                core::cmp::Ordering::Less => chunk,
                core::cmp::Ordering::Equal => chunk / 2,
                core::cmp::Ordering::Greater => 0,
            };
            assert!(got[..landed].iter().all(|&b| b == 0xa0 + i as u8), "budget {k}, write {i}");
            assert!(got[landed..].iter().all(|&b| b == 0), "budget {k}, write {i}");
        }
        assert!(label[8 * chunk..].iter().all(|&b| b == 0));
    }
    // Refused writes change nothing and spend nothing.
    let mut label = vec![0u8; LABEL_SIZE];
    let mut budget = LabelWriteBudget::Left(0);
    let mut bad = get_data(LABEL_SIZE as u32, 4, 16);
    let mut st = DimmState::new();
    assert_eq!(rc(dsm::dimm_ctl(&DIMMS[0], &mut st, &mut label, &mut budget, nd::SET_CONFIG_DATA, &mut bad)), -22);
    assert_eq!(budget, LabelWriteBudget::Left(0));
    // Reads are not writes.
    let mut r = get_data(0, 16, 12 + 16);
    assert_eq!(rc(dsm::dimm_ctl(&DIMMS[0], &mut st, &mut label, &mut budget, nd::GET_CONFIG_DATA, &mut r)), 0);
    assert_eq!(budget, LabelWriteBudget::Left(0));
    // Back to -1: writes land again.
    budget = LabelWriteBudget::Off;
    assert_eq!(budgeted_write(&mut label, &mut budget, 0, b"back"), 0);
    assert_eq!(&label[..4], b"back");
}

fn pkg(family: u64, func: u64, size_in: u32, size_out: u32) -> Vec<u8> {
    let mut b = vec![0u8; nd::PKG_HEADER + (size_in + size_out) as usize];
    b[0..8].copy_from_slice(&family.to_le_bytes());
    b[8..16].copy_from_slice(&func.to_le_bytes());
    b[16..20].copy_from_slice(&size_in.to_le_bytes());
    b[20..24].copy_from_slice(&size_out.to_le_bytes());
    b
}

// nfit_test_ctl()'s ND_CMD_CALL branch: nfit_test_cmd_smart(),
// nfit_test_cmd_smart_threshold(), ..._set_threshold(), ..._inject().
#[test]
fn intel_smart_calls() {
    let mut label = label_pattern();
    let mut st = DimmState::new();
    let p = nd::PKG_HEADER;

    let mut b = pkg(0, 1, 0, 132);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), 0);
    assert_eq!(b[p..], topology::SMART_DEFAULT.to_bytes());
    let mut b = pkg(0, 1, 0, 131);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -22);
    // Wrong family, nfit_test.1 DIMM, unknown function.
    let mut b = pkg(1, 1, 0, 132);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -25);
    let mut b = pkg(0, 1, 0, 132);
    assert_eq!(rc(ctl(5, &mut st, &mut label, nd::CALL, &mut b)), -22);
    let mut b = pkg(0, 3, 0, 132);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -25);
    // Passphrase functions are the caller's.
    let mut b = pkg(0, 20, 0, 12);
    assert_eq!(
        ctl(0, &mut st, &mut label, nd::CALL, &mut b),
        Outcome::NotEmulated { func: 20 }
    );
    // A package claiming more payload than the buffer has.
    let mut b = pkg(0, 1, 0, 132);
    b.truncate(100);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -22);

    let mut b = pkg(0, 2, 0, 12);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), 0);
    assert_eq!(b[p..], topology::SMART_THRESHOLD_DEFAULT.to_bytes());

    // Raising the spares threshold to 80 trips the spare alarm (75 <= 80).
    let mut b = pkg(0, 17, 7, 4);
    b[p..p + 7].copy_from_slice(&[3, 0, 80, 0x80, 0x02, 0xe0, 0x01]);
    b[p + 7..p + 11].fill(0xff);
    let o = ctl(0, &mut st, &mut label, nd::CALL, &mut b);
    assert_eq!(
        o,
        Outcome::Done {
            rc: 0,
            health_event: true
        }
    );
    assert_eq!(&b[p + 7..p + 11], &[0; 4]);
    assert_eq!(st.threshold.spares, 80);
    st.threshold = topology::SMART_THRESHOLD_DEFAULT;

    // Inject an unsafe shutdown: state 1, count 43, event due.
    let mut b = pkg(0, 18, 19, 0);
    b[p..p + 8].copy_from_slice(&intel::SMART_INJECT_SHUTDOWN.to_le_bytes());
    b[p + 14] = 1;
    let o = ctl(0, &mut st, &mut label, nd::CALL, &mut b);
    assert_eq!(
        o,
        Outcome::Done {
            rc: 0,
            health_event: true
        }
    );
    assert_eq!((st.smart.shutdown_state, st.smart.shutdown_count), (1, 43));
    // Clearing it restores the state but not the count.
    b[p + 14] = 0;
    let o = ctl(0, &mut st, &mut label, nd::CALL, &mut b);
    assert_eq!(
        o,
        Outcome::Done {
            rc: 0,
            health_event: false
        }
    );
    assert_eq!((st.smart.shutdown_state, st.smart.shutdown_count), (0, 43));
    // Inject must be exactly 19 bytes.
    let mut b = pkg(0, 18, 19, 4);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -22);
    // Media temperature injection, then back to the default.
    let mut b = pkg(0, 18, 19, 0);
    b[p..p + 8].copy_from_slice(&intel::SMART_INJECT_MTEMP.to_le_bytes());
    b[p + 8] = 1;
    b[p + 9..p + 11].copy_from_slice(&(50u16 * 16).to_le_bytes());
    assert_eq!(
        ctl(0, &mut st, &mut label, nd::CALL, &mut b),
        Outcome::Done {
            rc: 0,
            health_event: true
        }
    );
    assert_eq!(st.smart.media_temperature, 800);
    b[p + 8] = 0;
    assert_eq!(
        ctl(0, &mut st, &mut label, nd::CALL, &mut b),
        Outcome::Done {
            rc: 0,
            health_event: false
        }
    );
    assert_eq!(st.smart.media_temperature, 23 * 16);

    // fail_cmd applies to family functions by function number.
    st.fail = FailCmd {
        flags: 1 << intel::ND_INTEL_SMART,
        code: 0,
    };
    let mut b = pkg(0, 1, 0, 132);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -5);

    // LSS: enable 0/1 succeed, anything else answers status 3.
    let mut b = pkg(0, 10, 1, 4);
    b[p] = 2;
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), 0);
    assert_eq!(&b[p + 1..p + 5], &[3, 0, 0, 0]);
}

// The tables must re-serialise byte for byte from their parsed form.
#[test]
fn nfit_test_tables_round_trip() {
    for (bus, hotplug) in [(0, false), (0, true), (1, false)] {
        let table = write(bus, hotplug);
        let (_, t) = Nfit::parse_table(&table).unwrap();
        let mut again = vec![0u8; table.len()];
        let mut w = Writer::new(&mut again).unwrap();
        for s in t.subtables() {
            match s {
                Subtable::Spa(x) => w.spa(&x.desc()),
                Subtable::Memdev(x) => w.memdev(&x.desc()),
                Subtable::ControlRegion(x) => w.control_region(&x.desc()),
                Subtable::DataRegion(x) => w.data_region(&x.desc()),
                Subtable::FlushHint(x) => {
                    w.flush_hint(x.device_handle(), &x.hint_addresses().collect::<Vec<_>>())
                }
                Subtable::Capabilities(x) => {
                    w.capabilities(x.highest_capability(), x.capabilities())
                }
                other => panic!("{other:?}"),
            }
            .unwrap();
        }
        assert_eq!(w.finish(&TableInfo::DEFAULT).unwrap(), table.len());
        assert_eq!(again, table);
    }
}

// No input may make the parser or the DIMM walk panic.
#[test]
fn mutated_tables_never_panic() {
    let base = write(0, true);
    let body = &base[nfit::TABLE_HEADER_LEN..];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut ok = 0;
    for _ in 0..3000 {
        let mut b = body.to_vec();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % b.len();
            b[i] = next() as u8;
        }
        let cut = b.len() - (next() as usize % 64);
        if let Ok(t) = Nfit::parse_body(&b[..cut]) {
            ok += 1;
            for d in t.dimms() {
                let _ = d.id();
                let _ = d.memdev;
            }
            for s in t.spas() {
                let _ = t.interleave_ways(&s);
                let _ = t.interleave_set(&s);
            }
        }
    }
    assert!(ok > 0);
}

// The region set_cookie values Linux 6.12's C nfit_test showed in a VM
// (test/vm-run --stack c): with the initial "labelN" label areas there is
// no index and sysfs shows cookie2; after `ndctl init-labels -V 1.1` it
// shows cookie1. Also the positions of `regionN/mappingM`.
#[test]
fn interleave_set_cookies_match_c() {
    let expect = [
        (0, 1, 0x40e6_2f0c_c00f_58ac_u64),
        (0, 2, 0xa76c_6907_811f_ae57),
        (1, 1, 0xe03b_0a7b_e006_abd6),
    ];
    for (bus, range, cookie) in expect {
        let table = write(bus, false);
        let (_, t) = Nfit::parse_table(&table).unwrap();
        let set = t.interleave_set(&t.spa(range).unwrap()).unwrap();
        assert_eq!(set.cookie2, cookie, "bus {bus} range {range}");
        assert!(set.cookie1 != set.cookie2);
        let positions: Vec<usize> = (0..set.mappings())
            .map(|i| set.position(i).unwrap())
            .collect();
        assert_eq!(
            positions,
            (0..t.interleave_ways(&t.spa(range).unwrap())).collect::<Vec<_>>()
        );
        assert_eq!(set.position(set.mappings()), None);
    }
    // With v1.1 label indexes (ndctl init-labels -V 1.1) sysfs shows cookie1.
    let table = write(0, false);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    let cookie1 = |range| t.interleave_set(&t.spa(range).unwrap()).unwrap().cookie1;
    assert_eq!(
        (cookie1(1), cookie1(2)),
        (0x3fe_0000_00fe, 0x0c0f_fadb_0100_fefb)
    );

    // The virtual CD has no mappings: every cookie is 0.
    let table = write(1, false);
    let (_, t) = Nfit::parse_table(&table).unwrap();
    let set = t.interleave_set(&t.spa(0).unwrap()).unwrap();
    assert_eq!(
        (set.cookie1, set.cookie2, set.altcookie, set.mappings()),
        (0, 0, 0, 0)
    );
}

// nd_intel_test_cmd_security_status(), nfit_security_init() and
// lock_dimm_store().
#[test]
fn intel_security_state() {
    let mut label = label_pattern();
    let mut st = DimmState::new();
    let p = nd::PKG_HEADER;
    let get = |st: &mut DimmState, label: &mut Vec<u8>| {
        let mut b = pkg(0, 19, 0, 12);
        b[p..].fill(0xee);
        assert_eq!(rc(ctl(0, st, label, nd::CALL, &mut b)), 0);
        b[p..].to_vec()
    };
    // Module load: all zero.
    assert_eq!(
        get(&mut st, &mut label),
        [0, 0, 0, 0, 0, 0xee, 0xee, 0xee, 0, 0xee, 0xee, 0xee]
    );
    // Probe enables the master passphrase on nfit_test.0 DIMMs only.
    st.probe(&DIMMS[0]);
    assert_eq!(st.security.ext_state, dsm::SEC_ESTATE_ENABLED);
    let mut st5 = DimmState::new();
    st5.probe(&DIMMS[5]);
    assert_eq!(st5.security.ext_state, 0);
    let out = get(&mut st, &mut label);
    assert_eq!((out[4], out[8]), (1, 0));
    // lock_dimm: enabled and locked, and it survives a re-probe.
    st.security.lock();
    st.probe(&DIMMS[0]);
    let out = get(&mut st, &mut label);
    assert_eq!((out[4], out[8]), (1, 0x06));
    // Probe resets health but keeps failure injection.
    st.smart.spares = 1;
    st.fail.flags = 1;
    st.probe(&DIMMS[0]);
    assert_eq!((st.smart, st.fail.flags), (topology::SMART_DEFAULT, 1));
    // fail_cmd applies; a short payload is refused.
    st.fail.flags = 1 << 19;
    let mut b = pkg(0, 19, 0, 12);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -5);
    st.fail.flags = 0;
    let mut b = pkg(0, 19, 0, 8);
    assert_eq!(rc(ctl(0, &mut st, &mut label, nd::CALL, &mut b)), -22);
}

// gen_pool_add(nfit_pool, SZ_4G, SZ_4G) and test_alloc()'s 128M alignment,
// in nfit_test0_alloc() then nfit_test1_alloc() order.
#[test]
fn c_bases_follow_the_pool() {
    let [b0, b1] = topology::c_bases();
    assert_eq!(
        b0.spa_set,
        [4 << 30, (4 << 30) + 128 * M, (4 << 30) + 256 * M]
    );
    for i in 0..5 {
        assert_eq!(b0.dimm[i], (4 << 30) + (384 + 128 * i as u64) * M);
        assert!(b0.flush[i] >= 8 << 30 && b0.dcr[i] >= 8 << 30);
    }
    assert_eq!(b1.spa_set[0], 5 << 30);
    assert!(b1.spa_set[1] >= 8 << 30);
    // Small buffers never overlap.
    let mut small: Vec<(u64, u64)> = (0..5)
        .flat_map(|i| [(b0.flush[i], 4096), (b0.dcr[i], LABEL_SIZE as u64)])
        .chain([(b1.spa_set[1], topology::SPA_VCD_SIZE)])
        .collect();
    small.sort();
    for w in small.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0);
    }
}

// The backing of every range in a physical reservation (memmap=nn!ss):
// disjoint, in bus order, each on a 2 MiB boundary, as the emulated
// addresses of the PM ranges are modulo 2 MiB; 164 MiB in all.
#[test]
fn backing_layout() {
    use topology::{backing_offset, backing_size, BACKING_ALIGN};
    assert_eq!(BACKING_ALIGN, 2 * M);
    assert_eq!(
        [backing_offset(0, 0), backing_offset(0, 1), backing_offset(0, 2), backing_offset(1, 0), backing_offset(1, 1)],
        [0, 32 * M, 96 * M, 128 * M, 160 * M]
    );
    assert_eq!(backing_size(), 164 * M);
    let bases = topology::c_bases();
    let mut spans = Vec::new();
    for (b, bus) in BUSES.iter().enumerate() {
        for (r, &size) in bus.spa_set_sizes.iter().enumerate() {
            let off = backing_offset(b, r);
            assert_eq!(off % BACKING_ALIGN, 0);
            assert!(off + size <= backing_size());
            // The PM ranges (not the 4 MiB virtual CD) keep their address
            // modulo 2 MiB, so huge pages line up the same way.
            if size >= topology::DIMM_SIZE {
                assert_eq!(off % BACKING_ALIGN, bases[b].spa_set[r] % BACKING_ALIGN);
            }
            spans.push((off, size));
        }
    }
    for w in spans.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0);
    }
}

fn ars_buf(len: usize) -> Vec<u8> {
    vec![0xaa; len]
}

// nfit_test_cmd_ars_cap(), _ars_start(), _ars_status(), _clear_error() and
// the bus command mask check.
#[test]
fn bus_ars() {
    use dsm::{Ars, BusOutcome};
    let bus = &BUSES[0];
    let table = write(0, false);
    let table = Nfit::parse_body(&table[nfit::TABLE_HEADER_LEN..]).unwrap();
    let mut poison = Poison::default();
    let mut ars = Ars::post(4 << 30, topology::SPA0_SIZE, 1000, &[]);
    let ok = BusOutcome { rc: 0, cmd_rc: 0, uc_error_notify: false };
    let busy = BusOutcome { rc: 0, cmd_rc: -16, uc_error_notify: false };

    let mut b = ars_buf(32);
    assert_eq!(dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_CAP, &mut b, 1000), ok);
    assert_eq!(&b[16..28], &[0, 0, 3, 0, 0x20, 0x10, 0, 0, 0, 1, 0, 0]);
    assert_eq!(&b[0..16], &[0xaa; 16]);
    let mut b = ars_buf(31);
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_CAP, &mut b, 1000).rc,
        -22
    );

    // The scrub probe posted runs for a second.
    let mut b = ars_buf(48);
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_STATUS, &mut b, 1999),
        busy
    );
    let mut want = vec![0u8; 48];
    want[2] = 1;
    want[4] = 48;
    assert_eq!(b, want);
    let mut b = ars_buf(47);
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_STATUS, &mut b, 1999).rc,
        -22
    );
    let mut b = ars_buf(32);
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_START, &mut b, 1999),
        busy
    );
    assert_eq!(&b[24..28], &[6, 0, 0, 0]);

    let mut b = ars_buf(64);
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_STATUS, &mut b, 2000),
        ok
    );
    assert_eq!(&b[0..8], &[0, 0, 0, 0, 48, 0, 0, 0]);
    assert_eq!(b[8..16], (4u64 << 30).to_le_bytes());
    assert_eq!(b[16..24], topology::SPA0_SIZE.to_le_bytes());
    assert_eq!(&b[40..48], &[2, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&b[48..], &[0xaa; 16]);

    // A new scrub of another range.
    let mut b = ars_buf(32);
    b[0..8].copy_from_slice(&0x1000u64.to_le_bytes());
    b[8..16].copy_from_slice(&0x2000u64.to_le_bytes());
    assert_eq!(dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::ARS_START, &mut b, 5000), ok);
    assert_eq!(&b[24..32], &[0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(ars, Ars::post(0x1000, 0x2000, 5000, &[]));

    // Clear error: 256-byte units.
    let mut b = ars_buf(32);
    b[0..8].copy_from_slice(&0x100u64.to_le_bytes());
    b[8..16].copy_from_slice(&0x200u64.to_le_bytes());
    assert_eq!(dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::CLEAR_ERROR, &mut b, 0), ok);
    assert_eq!(&b[16..20], &[0; 4]);
    assert_eq!(b[24..32], 0x200u64.to_le_bytes());
    b[8] = 1;
    assert_eq!(
        dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), nd::CLEAR_ERROR, &mut b, 0).rc,
        -22
    );

    // Not in the bus mask: ENOTTY.
    let mut b = ars_buf(64);
    for cmd in [0, 5, 64] {
        assert_eq!(dsm::bus_ctl(bus, &mut ars, &mut poison, &table, &mut Default::default(), cmd, &mut b, 0).rc, -25);
    }
}

/// A test's poison list (nfit_test keeps C's `t->badrange` in a KVec).
#[derive(Default)]
struct Poison(Vec<formats::badrange::BadRange>);

impl formats::badrange::List for Poison {
    fn entries(&self) -> &[formats::badrange::BadRange] {
        &self.0
    }
    fn entry_mut(&mut self, i: usize) -> &mut formats::badrange::BadRange {
        &mut self.0[i]
    }
    fn append(&mut self, r: formats::badrange::BadRange) -> bool {
        self.0.push(r);
        true
    }
    fn remove(&mut self, i: usize) {
        self.0.remove(i);
    }
}

/// An ND_CMD_CALL package of the NFIT bus family: header, then `payload`
/// of which the first `size_in` bytes are input.
fn bus_pkg(func: u64, size_in: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; nd::PKG_HEADER];
    b[8..16].copy_from_slice(&func.to_le_bytes());
    b[16..20].copy_from_slice(&size_in.to_le_bytes());
    b[20..24].copy_from_slice(&(payload.len() as u32 - size_in).to_le_bytes());
    b.extend_from_slice(payload);
    b
}

// nfit_test_cmd_ars_error_inject(), _inject_clear(), _inject_status(),
// post_ars_status() with the injected ranges, clear_error's forget, and
// nfit_test_cmd_translate_spa().
#[test]
fn bus_error_injection() {
    use formats::badrange::BadRange;
    use formats::nfit::inject::{ErrClr, ErrInj};
    use nfit::dsm::{NFIT_CMD_ARS_INJECT_CLEAR as CLR, NFIT_CMD_ARS_INJECT_GET as GET, NFIT_CMD_ARS_INJECT_SET as SET};
    let bus = &BUSES[0];
    let raw = write(0, false);
    let table = Nfit::parse_body(&raw[nfit::TABLE_HEADER_LEN..]).unwrap();
    let mut poison = Poison::default();
    let mut ars = Ars::post(0, 0, 0, &[]);
    let base = bases().spa_set[1];
    let run = |poison: &mut Poison, ars: &mut dsm::Ars, cmd: u32, b: &mut Vec<u8>, now: u64| {
        dsm::bus_ctl(bus, ars, poison, &table, &mut Default::default(), cmd, b, now)
    };
    use dsm::Ars;

    // ndctl's injection: 17 bytes in, 4 out; with notify.
    let req = ErrInj { base: base + 0x1000, length: 256, options: 1 };
    let mut b = bus_pkg(SET as u64, 17, &req.encode());
    let o = run(&mut poison, &mut ars, nd::CALL, &mut b, 10);
    assert_eq!((o.rc, o.uc_error_notify), (0, true));
    assert_eq!(&b[64 + 17..], &[0, 0, 0, 0]);
    // The low 32 bits of nd_command count; no notify this time.
    let req2 = ErrInj { base: base + 0x2000, length: 512, options: 0 };
    let mut b = bus_pkg((1 << 32) | SET as u64, 17, &req2.encode());
    let o = run(&mut poison, &mut ars, nd::CALL, &mut b, 10);
    assert_eq!((o.rc, o.uc_error_notify), (0, false));
    assert_eq!(poison.0, [BadRange { start: base + 0x1000, len: 256 }, BadRange { start: base + 0x2000, len: 512 }]);

    // Refusals: a payload not exactly 21 bytes, a zero length. Status 2,
    // EINVAL, nothing injected.
    let mut b = bus_pkg(SET as u64, 17, &[req.encode().as_slice(), &[0]].concat());
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, -22);
    assert_eq!(&b[64 + 17..64 + 21], &[2, 0, 0, 0]);
    let mut b = bus_pkg(SET as u64, 17, &ErrInj { length: 0, ..req }.encode());
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, -22);
    assert_eq!(poison.0.len(), 2);
    // Unknown functions, and the Intel bus family: ENOTTY.
    for f in [0u64, 6, 10] {
        let mut b = bus_pkg(f, 17, &req.encode());
        assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, -25);
    }
    let mut b = bus_pkg(SET as u64, 17, &req.encode());
    b[0] = 1;
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, -25);
    // A package that claims more payload than the buffer holds.
    let mut b = bus_pkg(SET as u64, 17, &req.encode());
    b[20] = 200;
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, -22);

    // Status: both, with ndctl's 4136-byte output.
    let mut b = bus_pkg(GET as u64, 0, &vec![0xaa; 8 + 4128]);
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, 0);
    let (st, n, recs) = formats::nfit::inject::err_stat_records(&b[64..]).unwrap();
    assert_eq!((st, n), (0, 2));
    assert_eq!(recs.collect::<Vec<_>>(), [(base + 0x1000, 256), (base + 0x2000, 512)]);
    // A payload too short for the records: C writes past it; we write what fits.
    let mut b = bus_pkg(GET as u64, 0, &[0xaa; 8 + 16 + 3]);
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 10).rc, 0);
    assert_eq!(&b[64 + 4..64 + 8], &[2, 0, 0, 0]);
    assert_eq!(&b[64 + 24..], &[0xaa; 3]);

    // A scrub of the range reports them, clipped to what it scrubs.
    let mut b = ars_buf(32);
    b[0..8].copy_from_slice(&(base + 0x1080).to_le_bytes());
    b[8..16].copy_from_slice(&0x10000u64.to_le_bytes());
    assert_eq!(run(&mut poison, &mut ars, nd::ARS_START, &mut b, 1500).cmd_rc, 0);
    assert_eq!(ars.records(), [BadRange { start: base + 0x1080, len: 128 }, BadRange { start: base + 0x2000, len: 512 }]);
    // Too small for the result: EINVAL; then the records.
    let mut b = ars_buf(48 + 24);
    assert_eq!(run(&mut poison, &mut ars, nd::ARS_STATUS, &mut b, 2600).rc, -22);
    let mut b = ars_buf(48 + 2 * 24);
    assert_eq!(run(&mut poison, &mut ars, nd::ARS_STATUS, &mut b, 2600).rc, 0);
    let st = formats::badrange::ArsStatus::new(&b).unwrap();
    assert_eq!(st.out_length(), 96);
    assert_eq!(st.num_records(), 2);
    assert_eq!(st.records().collect::<Vec<_>>(), ars.records());
    // Records are taken when the scrub starts: a later injection waits
    // for the next scrub.
    let mut b = bus_pkg(SET as u64, 17, &ErrInj { base: base + 0x8000, length: 256, options: 0 }.encode());
    run(&mut poison, &mut ars, nd::CALL, &mut b, 2600);
    assert_eq!(ars.records().len(), 2);

    // Un-injection: exactly 20 bytes, non-zero length; the 64-bit length
    // is cut to 32 bits (2^32 + 256 forgets 256 bytes).
    let mut b = bus_pkg(CLR as u64, 16, &ErrClr { base: base + 0x2000, length: (1 << 32) + 256 }.encode());
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 2600).rc, 0);
    assert_eq!(&b[64 + 16..], &[0, 0, 0, 0]);
    assert_eq!(poison.0[1], BadRange { start: base + 0x2100, len: 256 });
    let mut b = bus_pkg(CLR as u64, 16, &ErrClr { base: base + 0x2000, length: 0 }.encode());
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 2600).rc, -22);
    assert_eq!(&b[64 + 16..], &[2, 0, 0, 0]);
    let mut b = bus_pkg(CLR as u64, 16, &ErrClr { base: base + 0x2000, length: 256 }.encode()[..19]);
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 2600).rc, -22);

    // ND_CMD_CLEAR_ERROR forgets injected poison too.
    let mut b = ars_buf(32);
    b[0..8].copy_from_slice(&(base + 0x1000).to_le_bytes());
    b[8..16].copy_from_slice(&256u64.to_le_bytes());
    assert_eq!(run(&mut poison, &mut ars, nd::CLEAR_ERROR, &mut b, 2600).rc, 0);
    assert_eq!(poison.0, [BadRange { start: base + 0x2100, len: 256 }, BadRange { start: base + 0x8000, len: 256 }]);

    // Translate SPA: the region's last mapping (nfit_test.0's 4-way range
    // ends with handle 0x101) and the offset into the region.
    let mut xl = vec![0u8; 44];
    xl[0..8].copy_from_slice(&(base + 0x1234).to_le_bytes());
    xl[16..24].copy_from_slice(&44u64.to_le_bytes());
    let mut b = bus_pkg(nfit::dsm::NFIT_CMD_TRANSLATE_SPA as u64, 8, &xl);
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 2600).rc, 0);
    assert_eq!(formats::nfit::inject::translation(&b[64..]), Some((0, Some((0x101, 0x1234)))));
    // The 2-way range ends with handle 0x1.
    xl[0..8].copy_from_slice(&bases().spa_set[0].to_le_bytes());
    let mut b = bus_pkg(nfit::dsm::NFIT_CMD_TRANSLATE_SPA as u64, 8, &xl);
    run(&mut poison, &mut ars, nd::CALL, &mut b, 2600);
    assert_eq!(formats::nfit::inject::translation(&b[64..]), Some((0, Some((0x1, 0)))));
    // Outside every region: status 2; asking for more than the payload: EINVAL.
    xl[0..8].copy_from_slice(&0x10u64.to_le_bytes());
    let mut b = bus_pkg(nfit::dsm::NFIT_CMD_TRANSLATE_SPA as u64, 8, &xl);
    run(&mut poison, &mut ars, nd::CALL, &mut b, 2600);
    assert_eq!(formats::nfit::inject::translation(&b[64..]).unwrap().0, 2);
    xl[16..24].copy_from_slice(&45u64.to_le_bytes());
    let mut b = bus_pkg(nfit::dsm::NFIT_CMD_TRANSLATE_SPA as u64, 8, &xl);
    assert_eq!(run(&mut poison, &mut ars, nd::CALL, &mut b, 2600).rc, -22);
}

/// `media_write_budget` (not in C): k namespace writes land whole, write
/// k+1 lands its first half cut back to an 8-byte boundary (nothing of an
/// 8-byte flog half or a 4-byte map entry), every later write nothing.
#[test]
fn media_write_budget_tears_at_8_bytes() {
    use dsm::{media_write_landing, torn_prefix, MediaWriteBudget};
    assert_eq!(torn_prefix(0x1000, 4096), 2048);
    assert_eq!(torn_prefix(0x1000, 512), 256);
    assert_eq!(torn_prefix(0x1000, 8), 0);
    assert_eq!(torn_prefix(0x1008, 8), 0);
    assert_eq!(torn_prefix(0x1000, 4), 0);
    assert_eq!(torn_prefix(0x1000, 16), 8);
    assert_eq!(torn_prefix(0x1000, 24), 8);
    // Unaligned starts: the cut is at an absolute 8-byte boundary.
    assert_eq!(torn_prefix(0x1004, 16), 4);
    assert_eq!(torn_prefix(0x1003, 6), 0);
    assert_eq!(torn_prefix(u64::MAX - 16, 16), 1);
    for phys in 0..64u64 {
        for len in 0..200u64 {
            let n = torn_prefix(phys, len);
            assert!(n <= len / 2 + 7 && n <= len, "{phys} {len} {n}");
            assert!(n == 0 || (phys + n) % 8 == 0, "{phys} {len} {n}");
            // The last 8-byte boundary at or before the middle.
            let mid = phys + len / 2;
            if n > 0 {
                assert!(phys + n <= mid && mid < phys + n + 8, "{phys} {len} {n}");
            } else {
                assert!(mid - mid % 8 <= phys, "{phys} {len} {n}");
            }
        }
    }
    for k in 0..5u64 {
        let mut b = MediaWriteBudget::from_i64(k as i64).unwrap();
        let got: Vec<u64> = (0..k + 3).map(|_| media_write_landing(&mut b, 0x2000, 4096)).collect();
        let mut want = vec![4096; k as usize];
        want.extend([2048, 0, 0]);
        assert_eq!(got, want, "budget {k}");
        assert!(b.is_cut());
    }
    let mut off = MediaWriteBudget::Off;
    assert_eq!(media_write_landing(&mut off, 0x2000, 4096), 4096);
    assert_eq!(off, MediaWriteBudget::Off);
}

// nfit_test_ctl: the firmware functions of an nfit_test.0 DIMM go to the
// bus's firmware state, through override_return_code(); nfit_test.1's
// DIMMs refuse ND_CMD_CALL; the bus's Intel family reaches activation.
#[test]
fn firmware_dispatch() {
    let mut label = label_pattern();
    let mut st = DimmState::new();
    let mut b = pkg(0, u64::from(intel::ND_INTEL_FW_GET_INFO), 0, 44);
    let o = dsm::dimm_ctl(&DIMMS[0], &mut st, &mut label, &mut LabelWriteBudget::Off, nd::CALL, &mut b);
    assert_eq!(o, Outcome::Firmware { func: 12, payload_end: nd::PKG_HEADER + 44 });
    let mut b = pkg(0, u64::from(intel::NVDIMM_INTEL_FW_ACTIVATE_ARM), 1, 5);
    let o = dsm::dimm_ctl(&DIMMS[0], &mut st, &mut label, &mut LabelWriteBudget::Off, nd::CALL, &mut b);
    assert_eq!(o, Outcome::Firmware { func: 30, payload_end: nd::PKG_HEADER + 6 });
    // Security changes stay out.
    let mut b = pkg(0, u64::from(intel::NVDIMM_INTEL_SET_PASSPHRASE), 64, 4);
    let o = dsm::dimm_ctl(&DIMMS[0], &mut st, &mut label, &mut LabelWriteBudget::Off, nd::CALL, &mut b);
    assert_eq!(o, Outcome::NotEmulated { func: 20 });
    // nfit_test.1's DIMM: EINVAL before any function.
    let mut b = pkg(0, u64::from(intel::ND_INTEL_FW_GET_INFO), 0, 44);
    let o = dsm::dimm_ctl(&DIMMS[5], &mut st, &mut label, &mut LabelWriteBudget::Off, nd::CALL, &mut b);
    assert_eq!(o, Outcome::Done { rc: -22, health_event: false });

    let mut f = firmware::BusFirmware::default();
    assert_eq!(firmware::dimm_call(intel::ND_INTEL_FW_START_UPDATE, &mut [0u8; 8], &mut f, 1, 0), Some(Ok(0)));
    assert_eq!(f.slots[1].state, firmware::UpdateState::InProgress);
    assert_eq!(firmware::dimm_call(intel::ND_INTEL_SMART, &mut [0u8; 8], &mut f, 1, 0), None);
    // A failure injected on the arm function replaces its answer, after it ran.
    let mut p = [1u8, 0, 0, 0, 0, 0];
    let rc = firmware::dimm_call(intel::NVDIMM_INTEL_FW_ACTIVATE_ARM, &mut p, &mut f, 0, 0).unwrap();
    let fail = dsm::FailCmd { flags: 1 << 30, code: 0 };
    assert_eq!(fail.apply(30, dsm::to_rc(rc)), -5);
    assert!(f.slots[0].armed);

    // The bus: the Intel family is activation, any other family ENOTTY.
    let raw = write(0, false);
    let table = Nfit::parse_body(&raw[nfit::TABLE_HEADER_LEN..]).unwrap();
    let mut poison = Poison::default();
    let mut ars = dsm::Ars::post(0, 0, 0, &[]);
    let mut b = pkg(1, 1, 0, 40);
    let o = dsm::bus_ctl(&BUSES[0], &mut ars, &mut poison, &table, &mut f, nd::CALL, &mut b, 0);
    assert_eq!(o.rc, 0);
    assert_eq!(b[nd::PKG_HEADER + 6], formats::nfit::firmware::FWA_ARMED);
    let mut b = pkg(1, 3, 0, 40);
    assert_eq!(dsm::bus_ctl(&BUSES[0], &mut ars, &mut poison, &table, &mut f, nd::CALL, &mut b, 0).rc, -25);
    let mut b = pkg(2, 1, 0, 40);
    assert_eq!(dsm::bus_ctl(&BUSES[0], &mut ars, &mut poison, &table, &mut f, nd::CALL, &mut b, 0).rc, -25);
}
