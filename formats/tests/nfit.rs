//! The NFIT parser and writer against the rules of Linux 6.12's
//! drivers/acpi/nfit/core.c (add_table() and friends, nfit_mem_init(),
//! acpi_nfit_add_dimm()).

use nd_formats::nfit::{
    self, DataRegionDesc, DcrBlock, DcrDesc, DeviceHandle, DimmId, Error, Guid, MemdevDesc, Nfit,
    SpaDesc, SpaType, Subtable, TableInfo, Writer,
};

fn pm_spa(range_index: u16) -> SpaDesc {
    SpaDesc {
        range_index,
        range_guid: nfit::GUID_PM,
        address: 0x1_0000_0000,
        length: 0x200_0000,
        ..SpaDesc::default()
    }
}

fn memdev(handle: u32, range_index: u16, region_index: u16) -> MemdevDesc {
    MemdevDesc {
        device_handle: DeviceHandle(handle),
        range_index,
        region_index,
        region_size: 0x100_0000,
        interleave_ways: 1,
        ..MemdevDesc::default()
    }
}

fn dcr(region_index: u16, windows: u16) -> DcrDesc {
    DcrDesc {
        region_index,
        vendor_id: 0x8089,
        device_id: 0x0979,
        revision_id: 0x0001,
        valid_fields: nfit::DCR_MFG_INFO_VALID,
        manufacturing_location: 0x42,
        manufacturing_date: 0x1811,
        serial_number: 0x1234_5678,
        code: nfit::FIC_BYTEN,
        windows,
        block: (windows != 0).then_some(DcrBlock {
            window_size: 8192,
            command_offset: 0,
            command_size: 8,
            status_offset: 8,
            status_size: 4,
            flags: nfit::DCR_BUFFERED,
        }),
        ..DcrDesc::default()
    }
}

/// A table body with one subtable appended after `prefix`.
fn body_with(prefix: impl Fn(&mut Writer<'_>), raw: &[u8]) -> ([u8; 1024], usize) {
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf).unwrap();
    prefix(&mut w);
    w.raw(raw).unwrap();
    let len = w.finish(&TableInfo::DEFAULT).unwrap();
    (buf, len)
}

fn parse_body(buf: &[u8], len: usize) -> Result<Nfit<'_>, Error> {
    Nfit::parse_body(&buf[nfit::TABLE_HEADER_LEN..len])
}

/// A subtable header plus zeroed content of `len` bytes.
fn raw_sub(ty: u16, len: u16) -> [u8; 96] {
    let mut b = [0u8; 96];
    b[0..2].copy_from_slice(&ty.to_le_bytes());
    b[2..4].copy_from_slice(&len.to_le_bytes());
    b
}

#[test]
fn round_trip_every_subtable_type() {
    let spa = SpaDesc {
        flags: nfit::SPA_PROXIMITY_VALID,
        proximity_domain: 3,
        ..pm_spa(1)
    };
    let spa_cookie = SpaDesc {
        range_index: 2,
        flags: nfit::SPA_LOCATION_COOKIE_VALID,
        range_guid: nfit::GUID_VOLATILE,
        memory_mapping: 0x8,
        location_cookie: Some(0xdead_beef),
        ..pm_spa(2)
    };
    let md = MemdevDesc {
        physical_id: 7,
        region_id: 1,
        region_offset: 0x1000,
        address: 0x2000,
        interleave_index: 1,
        flags: nfit::MEM_HEALTH_ENABLED,
        ..memdev(0x101, 1, 1)
    };
    let full = dcr(1, 2);
    let short = dcr(2, 0);
    let bdw = DataRegionDesc {
        region_index: 1,
        windows: 2,
        offset: 0x100,
        size: 0x2000,
        capacity: 1 << 30,
        start_address: 0,
    };
    let hints = [0x1000u64, 0x1040, 0x1080];

    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&spa).unwrap();
    w.spa(&spa_cookie).unwrap();
    w.memdev(&md).unwrap();
    w.interleave(1, 256, &[0, 4, 8]).unwrap();
    w.smbios(&[1, 2, 3, 4, 5]).unwrap();
    w.control_region(&full).unwrap();
    w.control_region(&short).unwrap();
    w.data_region(&bdw).unwrap();
    w.flush_hint(DeviceHandle(0x101), &hints).unwrap();
    w.capabilities(2, nfit::CAP_CACHE_FLUSH | nfit::CAP_MEM_FLUSH | 1 << 5)
        .unwrap();
    let len = w.finish(&TableInfo::DEFAULT).unwrap();
    assert_eq!(len, 40 + 56 + 64 + 48 + 28 + 13 + 80 + 32 + 40 + 40 + 16);
    assert_eq!(buf[..len].iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0);

    let (hdr, t) = Nfit::parse_table(&buf[..len]).unwrap();
    assert_eq!(hdr.length as usize, len);
    assert_eq!(hdr.info, TableInfo::DEFAULT);
    let subs: Vec<Subtable<'_>> = t.subtables().collect();
    assert_eq!(subs.len(), 10);
    let spas: Vec<SpaDesc> = t.spas().map(|s| s.desc()).collect();
    assert_eq!(spas, [spa, spa_cookie]);
    assert_eq!(t.spas().nth(1).unwrap().spa_type(), Some(SpaType::Volatile));
    assert_eq!(t.memdevs().next().unwrap().desc(), md);
    let idt = t.interleaves().next().unwrap();
    assert_eq!(
        (idt.interleave_index(), idt.line_count(), idt.line_size()),
        (1, 3, 256)
    );
    assert_eq!(idt.line_offsets().collect::<Vec<_>>(), [0, 4, 8]);
    match subs[4] {
        Subtable::Smbios(s) => assert_eq!(s.data(), &[1, 2, 3, 4, 5]),
        other => panic!("{other:?}"),
    }
    let dcrs: Vec<DcrDesc> = t.control_regions().map(|d| d.desc()).collect();
    assert_eq!(dcrs, [full, short]);
    assert_eq!(
        t.control_regions().next().unwrap().as_bytes().len(),
        nfit::DCR_LEN
    );
    assert_eq!(
        t.control_regions().nth(1).unwrap().as_bytes().len(),
        nfit::DCR_SHORT_LEN
    );
    assert_eq!(t.data_regions().next().unwrap().desc(), bdw);
    let f = t.flush_hints().next().unwrap();
    assert_eq!(
        (f.device_handle(), f.hint_count()),
        (DeviceHandle(0x101), 3)
    );
    assert_eq!(f.hint_addresses().collect::<Vec<_>>(), hints);
    // Bits above highest_capability (2) are dropped.
    assert_eq!(
        t.platform_capabilities(),
        Some(nfit::CAP_CACHE_FLUSH | nfit::CAP_MEM_FLUSH)
    );

    // Re-writing the parsed views reproduces the table byte for byte.
    let mut again = [0u8; 1024];
    let mut w = Writer::new(&mut again).unwrap();
    for s in t.subtables() {
        match s {
            Subtable::Spa(x) => w.spa(&x.desc()),
            Subtable::Memdev(x) => w.memdev(&x.desc()),
            Subtable::Interleave(x) => w.interleave(
                x.interleave_index(),
                x.line_size(),
                &x.line_offsets().collect::<Vec<_>>(),
            ),
            Subtable::Smbios(x) => w.smbios(x.data()),
            Subtable::ControlRegion(x) => w.control_region(&x.desc()),
            Subtable::DataRegion(x) => w.data_region(&x.desc()),
            Subtable::FlushHint(x) => {
                w.flush_hint(x.device_handle(), &x.hint_addresses().collect::<Vec<_>>())
            }
            Subtable::Capabilities(x) => w.capabilities(x.highest_capability(), x.capabilities()),
            Subtable::Unknown { .. } => unreachable!(),
        }
        .unwrap();
    }
    assert_eq!(w.finish(&TableInfo::DEFAULT).unwrap(), len);
    assert_eq!(buf[..len], again[..len]);
}

#[test]
fn header_checks() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&pm_spa(1)).unwrap();
    let len = w.finish(&TableInfo::DEFAULT).unwrap();
    assert!(Nfit::parse_table(&buf[..len]).is_ok());
    // Trailing bytes past `length` are not part of the table.
    assert!(Nfit::parse_table(&buf[..len + 10]).is_ok());

    assert_eq!(Nfit::parse_table(&buf[..39]).unwrap_err(), Error::Truncated);
    assert_eq!(
        Nfit::parse_table(&buf[..len - 1]).unwrap_err(),
        Error::Truncated
    );

    let mut bad = buf;
    bad[0] = b'X';
    assert_eq!(
        Nfit::parse_table(&bad[..len]).unwrap_err(),
        Error::BadSignature
    );

    let mut bad = buf;
    bad[50] ^= 1;
    assert_eq!(
        Nfit::parse_table(&bad[..len]).unwrap_err(),
        Error::BadChecksum
    );

    let mut bad = buf;
    bad[4..8].copy_from_slice(&36u32.to_le_bytes());
    assert_eq!(
        Nfit::parse_table(&bad[..len]).unwrap_err(),
        Error::BadTableLength
    );

    // A header-only table is an empty NFIT.
    let mut empty = [0u8; 40];
    let n = Writer::new(&mut empty)
        .unwrap()
        .finish(&TableInfo::DEFAULT)
        .unwrap();
    let (_, t) = Nfit::parse_table(&empty[..n]).unwrap();
    assert_eq!(t.subtables().count(), 0);
}

#[test]
fn writer_never_overflows() {
    let mut small = [0u8; 39];
    assert_eq!(Writer::new(&mut small).unwrap_err(), Error::NoSpace);
    let mut buf = [0u8; 100];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&pm_spa(1)).unwrap();
    assert_eq!(w.len(), 96);
    assert_eq!(w.memdev(&memdev(0, 1, 0)).unwrap_err(), Error::NoSpace);
    assert_eq!(w.len(), 96, "a failed append leaves the writer unchanged");
    let mut big = vec![0u8; 1 << 20];
    let mut w = Writer::new(&mut big).unwrap();
    assert_eq!(w.smbios(&vec![0u8; 70000]).unwrap_err(), Error::TooLong);
}

// Each length add_table() rejects with -ENOMEM.
#[test]
fn rejects_what_add_table_rejects() {
    let cases: &[(u16, u16, &str)] = &[
        (0, 48, "spa shorter than 56"),
        (0, 64, "spa of 64 without the cookie flag"),
        (1, 40, "memdev shorter than 48"),
        (1, 56, "memdev longer than 48"),
        (4, 28, "control region shorter than 32"),
        (5, 32, "bdw shorter than 40"),
        (5, 48, "bdw longer than 40"),
        (2, 12, "interleave shorter than 16"),
        (6, 8, "flush shorter than 16"),
    ];
    for &(ty, len, what) in cases {
        let (buf, n) = body_with(|_| {}, &raw_sub(ty, len)[..len as usize]);
        assert_eq!(
            parse_body(&buf, n).unwrap_err(),
            Error::BadLength { offset: 0, ty, len },
            "{what}"
        );
        assert_eq!(parse_body(&buf, n).unwrap_err().to_errno(), -12);
    }

    // A SPA claiming the cookie must be 64 bytes long.
    let mut s = raw_sub(0, 56);
    s[6] = nfit::SPA_LOCATION_COOKIE_VALID as u8;
    let (buf, n) = body_with(|_| {}, &s[..56]);
    assert!(matches!(
        parse_body(&buf, n),
        Err(Error::BadLength { ty: 0, len: 56, .. })
    ));

    // The offset points at the bad subtable.
    let (buf, n) = body_with(|w| w.spa(&pm_spa(1)).unwrap(), &raw_sub(1, 40)[..40]);
    assert_eq!(
        parse_body(&buf, n).unwrap_err(),
        Error::BadLength {
            offset: 56,
            ty: 1,
            len: 40
        }
    );
}

// C reads past these subtables; a safe parser refuses them instead.
#[test]
fn rejects_what_c_would_overread() {
    // Control region with windows but truncated before window_size.
    let mut d = raw_sub(4, 32);
    d[30] = 1;
    let (buf, n) = body_with(|_| {}, &d[..32]);
    assert!(matches!(
        parse_body(&buf, n),
        Err(Error::BadLength { ty: 4, .. })
    ));

    // Interleave claiming more lines than it holds.
    let mut i = raw_sub(2, 24);
    i[8] = 3;
    let (buf, n) = body_with(|_| {}, &i[..24]);
    assert!(matches!(
        parse_body(&buf, n),
        Err(Error::BadLength { ty: 2, .. })
    ));

    // Flush hints claiming more addresses than it holds.
    let mut f = raw_sub(6, 24);
    f[8] = 2;
    let (buf, n) = body_with(|_| {}, &f[..24]);
    assert!(matches!(
        parse_body(&buf, n),
        Err(Error::BadLength { ty: 6, .. })
    ));

    // Capabilities shorter than its 16-byte layout.
    let (buf, n) = body_with(|_| {}, &raw_sub(7, 8)[..8]);
    assert!(matches!(
        parse_body(&buf, n),
        Err(Error::BadLength { ty: 7, .. })
    ));

    // A subtable longer than what is left of the table.
    let (buf, n) = body_with(|_| {}, &raw_sub(0, 56)[..40]);
    assert_eq!(
        parse_body(&buf, n).unwrap_err(),
        Error::Overrun { offset: 0 }
    );

    // Fewer than four bytes left for a header.
    let (buf, n) = body_with(|w| w.spa(&pm_spa(1)).unwrap(), &[0, 0]);
    assert_eq!(
        parse_body(&buf, n).unwrap_err(),
        Error::HeaderOverrun { offset: 56 }
    );
}

// What add_table() accepts or skips with a warning.
#[test]
fn accepts_what_add_table_accepts() {
    // A zero-length subtable ends the walk successfully; what follows is ignored.
    let mut tail = [0u8; 10];
    tail[0] = 1;
    tail[4] = 0xff;
    let (buf, n) = body_with(|w| w.spa(&pm_spa(1)).unwrap(), &tail);
    let t = parse_body(&buf, n).unwrap();
    assert_eq!(t.zero_length_at(), Some(56));
    assert_eq!(t.subtables().count(), 1);

    // Reserved types are skipped ("unknown table").
    let (buf, n) = body_with(|w| w.spa(&pm_spa(1)).unwrap(), &raw_sub(8, 12)[..12]);
    let t = parse_body(&buf, n).unwrap();
    assert!(
        matches!(t.subtables().nth(1), Some(Subtable::Unknown { ty: 8, bytes }) if bytes.len() == 12)
    );

    // SMBIOS content is never looked at, even a bare header.
    let (buf, n) = body_with(|_| {}, &raw_sub(3, 4)[..4]);
    assert!(
        matches!(parse_body(&buf, n).unwrap().subtables().next(), Some(Subtable::Smbios(s)) if s.data().is_empty())
    );

    // A control region with no windows may still be full length; only 32 bytes count.
    let (buf, n) = body_with(|_| {}, &raw_sub(4, 80)[..80]);
    let t = parse_body(&buf, n).unwrap();
    let d = t.control_regions().next().unwrap();
    assert_eq!((d.as_bytes().len(), d.block()), (32, None));

    // Control regions, interleaves and flush tables may be longer than needed.
    let mut f = raw_sub(6, 40);
    f[8] = 1;
    let (buf, n) = body_with(|_| {}, &f[..40]);
    let t = parse_body(&buf, n).unwrap();
    assert_eq!(t.flush_hints().next().unwrap().as_bytes().len(), 24);
}

#[test]
fn missing_control_region() {
    // A PM range's memdev names control region 3, which does not exist.
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&pm_spa(1)).unwrap();
    w.memdev(&memdev(0, 1, 3)).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    assert_eq!(
        parse_body(&buf, n).unwrap_err(),
        Error::MissingDcr {
            range_index: 1,
            region_index: 3
        }
    );
    assert_eq!(parse_body(&buf, n).unwrap_err().to_errno(), -19);

    // Fine when an earlier visit of the same DIMM already found one.
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&pm_spa(1)).unwrap();
    w.spa(&pm_spa(2)).unwrap();
    w.memdev(&memdev(0, 1, 1)).unwrap();
    w.memdev(&memdev(0, 2, 3)).unwrap();
    w.control_region(&dcr(1, 0)).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    assert!(parse_body(&buf, n).is_ok());

    // Memdevs of ranges that make no DIMMs (here a block window) are not checked.
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&SpaDesc {
        range_guid: nfit::GUID_BDW,
        ..pm_spa(1)
    })
    .unwrap();
    w.memdev(&memdev(0, 1, 3)).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    let t = parse_body(&buf, n).unwrap();
    assert_eq!(t.dimms().count(), 0);

    // An unmapped memdev (range 0) naming a missing region fails too.
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf).unwrap();
    w.memdev(&memdev(0, 0, 3)).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    assert_eq!(
        parse_body(&buf, n).unwrap_err(),
        Error::MissingDcr {
            range_index: 0,
            region_index: 3
        }
    );
}

#[test]
fn device_handle_fields() {
    let h = DeviceHandle::new(0x123, 0x4, 0x5, 0x6, 0x7);
    assert_eq!(h, DeviceHandle(0x0123_4567));
    assert_eq!(
        (h.node(), h.socket(), h.imc(), h.channel(), h.dimm()),
        (0x123, 4, 5, 6, 7)
    );
    // Out-of-range parts are masked, as NFIT_DIMM_HANDLE() does.
    assert_eq!(
        DeviceHandle::new(0x1fff, 0x1f, 0, 0, 0x1f),
        DeviceHandle(0x0fff_f00f)
    );
}

#[test]
fn spa_types_match_c() {
    // guid_parse() byte order.
    assert_eq!(
        nfit::GUID_PM.0,
        [
            0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40, 0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7,
            0x8c, 0xdb
        ]
    );
    let all = [
        (nfit::GUID_VOLATILE, SpaType::Volatile, 7, "volatile"),
        (nfit::GUID_PM, SpaType::Pm, 8, "pmem"),
        (nfit::GUID_DCR, SpaType::Dcr, 9, "dimm-control-region"),
        (nfit::GUID_BDW, SpaType::Bdw, 10, "block-data-window"),
        (nfit::GUID_VDISK, SpaType::VDisk, 11, "volatile-disk"),
        (nfit::GUID_VCD, SpaType::Vcd, 12, "volatile-cd"),
        (nfit::GUID_PDISK, SpaType::PDisk, 13, "persistent-disk"),
        (nfit::GUID_PCD, SpaType::Pcd, 14, "persistent-cd"),
    ];
    for (guid, ty, index, name) in all {
        assert_eq!(nfit::nfit_spa_type(&guid), index);
        assert_eq!(SpaType::from_guid(&guid), Some(ty));
        assert_eq!(ty as i32, index);
        assert_eq!(ty.guid(), guid);
        assert_eq!(ty.name(), name);
    }
    // Non-SPA GUIDs of the driver's table map to their own indices.
    assert_eq!(nfit::nfit_spa_type(&nfit::GUID_NFIT_DIMM), 0);
    assert_eq!(nfit::nfit_spa_type(&nfit::GUID_NFIT_BUS), 15);
    assert_eq!(nfit::nfit_spa_type(&Guid([0; 16])), 5);
    assert_eq!(nfit::nfit_spa_type(&Guid([1; 16])), -1);
    assert_eq!(SpaType::from_guid(&Guid([0; 16])), None);
    assert!(SpaType::Vcd.is_virtual() && SpaType::Vcd.is_volatile());
    assert!(!SpaType::Pm.is_virtual() && !SpaType::Pm.is_volatile());
}

#[test]
fn dimm_id_format() {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf).unwrap();
    w.control_region(&dcr(1, 0)).unwrap();
    w.control_region(&DcrDesc {
        valid_fields: 0,
        ..dcr(2, 0)
    })
    .unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    let t = parse_body(&buf, n).unwrap();
    let mut ids = t.control_regions().map(|d| DimmId::new(&d));
    // be16/be32 of the little-endian fields, as acpi_nfit_add_dimm() prints.
    assert_eq!(ids.next().unwrap(), "8980-42-1118-78563412");
    assert_eq!(ids.next().unwrap().as_str(), "8980-78563412");
    let d = t.control_regions().next().unwrap();
    assert_eq!(
        (d.vendor_id_be(), d.device_id_be(), d.revision_id_be()),
        (0x8980, 0x7909, 0x0100)
    );
    assert_eq!(d.serial_number_be(), 0x7856_3412);
    assert_eq!(format!("{}", DimmId::new(&d)), "8980-42-1118-78563412");
}

#[test]
fn dimm_assembly_follows_nfit_mem_init() {
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf).unwrap();
    w.spa(&pm_spa(1)).unwrap();
    w.spa(&SpaDesc {
        range_guid: nfit::GUID_DCR,
        ..pm_spa(2)
    })
    .unwrap();
    // DIMM 0x10 is in the PM range (pmem region 5) and the DCR range (blk region 1).
    w.memdev(&MemdevDesc {
        flags: nfit::MEM_HEALTH_ENABLED,
        ..memdev(0x10, 1, 5)
    })
    .unwrap();
    w.memdev(&MemdevDesc {
        physical_id: 9,
        flags: nfit::MEM_NOT_ARMED,
        ..memdev(0x10, 2, 1)
    })
    .unwrap();
    // DIMM 0x2 is in the PM range too.
    w.memdev(&memdev(0x2, 1, 5)).unwrap();
    // DIMM 0x1 is not mapped at all.
    w.memdev(&MemdevDesc {
        flags: nfit::MEM_MAP_FAILED,
        ..memdev(0x1, 0, 5)
    })
    .unwrap();
    w.control_region(&dcr(5, 0)).unwrap();
    w.control_region(&DcrDesc {
        code: nfit::FIC_BLK,
        ..dcr(1, 1)
    })
    .unwrap();
    w.flush_hint(DeviceHandle(0x10), &[0x5000]).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    let t = parse_body(&buf, n).unwrap();

    // Sorted by handle.
    let handles: Vec<u32> = t.dimms().map(|d| d.handle.0).collect();
    assert_eq!(handles, [0x1, 0x2, 0x10]);

    let d = t.dimm(DeviceHandle(0x10)).unwrap();
    // The DCR-range memdev is the DIMM's own; flags are collated.
    assert_eq!(d.memdev.range_index(), 2);
    assert_eq!(d.physical_id(), 9);
    assert_eq!(d.memdev_pmem.unwrap().range_index(), 1);
    assert_eq!(d.flags, nfit::MEM_HEALTH_ENABLED | nfit::MEM_NOT_ARMED);
    // The windowed control region replaces the first one found.
    assert_eq!(d.dcr.unwrap().code(), nfit::FIC_BLK);
    assert_eq!(d.spa_dcr.unwrap().range_index(), 2);
    assert_eq!(d.hint_count(), 1);

    let d = t.dimm(DeviceHandle(0x1)).unwrap();
    assert!(d.memdev_pmem.is_none());
    assert_eq!(d.memdev.range_index(), 0);
    assert_eq!(d.flags, nfit::MEM_MAP_FAILED);
    assert_eq!(d.hint_count(), 0);
    assert!(t.dimm(DeviceHandle(0x99)).is_none());

    let pm = t.spa(1).unwrap();
    assert_eq!(t.interleave_ways(&pm), 2);
    assert_eq!(
        t.mappings(&pm)
            .map(|m| m.device_handle().0)
            .collect::<Vec<_>>(),
        [0x10, 0x2]
    );
    assert_eq!(t.memdevs_of(DeviceHandle(0x10)).count(), 2);
}

#[test]
fn capability_mask() {
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf).unwrap();
    w.capabilities(0, nfit::CAP_CACHE_FLUSH | nfit::CAP_MEM_FLUSH)
        .unwrap();
    w.capabilities(40, u32::MAX).unwrap();
    let n = w.finish(&TableInfo::DEFAULT).unwrap();
    let t = parse_body(&buf, n).unwrap();
    let caps: Vec<u32> = t
        .subtables()
        .filter_map(|s| match s {
            Subtable::Capabilities(c) => Some(c.effective()),
            _ => None,
        })
        .collect();
    assert_eq!(caps, [nfit::CAP_CACHE_FLUSH, u32::MAX]);
    // The last one wins.
    assert_eq!(t.platform_capabilities(), Some(u32::MAX));
}

#[test]
fn smart_poll_health_snapshot() {
    use nd_formats::nfit::intel::{self, HealthSnapshot, Smart};
    // nfit_test's smart_def: every field valid, spare and temperature trips.
    let base = Smart {
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
    let snap = HealthSnapshot::of(&base);
    assert_eq!(snap.health, Some(intel::SMART_NON_CRITICAL_HEALTH));
    assert_eq!(snap.spares, Some(75));
    // Only the temperature alarms: the spare trip is its own field.
    assert_eq!(snap.temperature_alarms, Some(intel::SMART_TEMP_TRIP as u8));
    assert_eq!(snap.shutdown_count, Some(42));
    assert!(!snap.changed(&snap));
    // Round trip through the wire format changes nothing.
    assert_eq!(HealthSnapshot::of(&Smart::from_bytes(&base.to_bytes()).unwrap()), snap);

    // Each watched field, alone, is a change.
    let watched: [fn(&mut Smart); 5] = [
        |s| s.health = intel::SMART_FATAL_HEALTH,
        |s| s.spares = 50,
        |s| s.alarm_flags |= intel::SMART_CTEMP_TRIP as u8,
        |s| s.alarm_flags &= !(intel::SMART_TEMP_TRIP as u8),
        |s| s.shutdown_count += 1,
    ];
    for f in watched {
        let mut s = base;
        f(&mut s);
        assert!(snap.changed(&HealthSnapshot::of(&s)), "{s:?}");
    }
    // What the poll ignores: temperatures themselves, life used, the spare
    // trip bit, the dirty flag without a count change.
    let ignored: [fn(&mut Smart); 5] = [
        |s| s.media_temperature = 30 * 16,
        |s| s.ctrl_temperature = 80 * 16,
        |s| s.life_used = 90,
        |s| s.alarm_flags &= !(intel::SMART_SPARE_TRIP as u8),
        |s| s.shutdown_state = 1,
    ];
    for f in ignored {
        let mut s = base;
        f(&mut s);
        assert!(!snap.changed(&HealthSnapshot::of(&s)), "{s:?}");
    }
    // A field that turns invalid (or valid) is not a change of its value.
    let mut s = base;
    s.flags &= !intel::SMART_SPARES_VALID;
    s.spares = 0;
    assert!(!snap.changed(&HealthSnapshot::of(&s)));
    assert!(!HealthSnapshot::of(&s).changed(&snap));
}
