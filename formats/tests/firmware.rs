//! Firmware update and activation: libnvdimm's values and words
//! (`nd_formats::fwa`, as drivers/nvdimm/core.c and dimm_devs.c print them)
//! and the Intel payloads (`nd_formats::nfit::firmware`, as
//! drivers/acpi/nfit/intel.h lays them out and intel.c reads them).

use nd_formats::fwa::{FwaCapability, FwaResult, FwaState, FwaTrigger};
use nd_formats::nfit::firmware::*;

#[test]
fn values_are_c_numbers() {
    for v in 0..8 {
        let s = FwaState::from_raw(v);
        assert_eq!(s.to_raw(), if v <= 4 { v } else { 0 });
        let c = FwaCapability::from_raw(v);
        assert_eq!(c.to_raw(), if v <= 3 { v } else { 0 });
        let r = FwaResult::from_raw(v);
        assert_eq!(r.to_raw(), if v <= 5 { v } else { 0 });
    }
    assert_eq!(FwaTrigger::from_raw(0), Some(FwaTrigger::Arm));
    assert_eq!(FwaTrigger::from_raw(1), Some(FwaTrigger::Disarm));
    assert_eq!(FwaTrigger::from_raw(2), None);
    // C compares capabilities by order.
    assert!(FwaCapability::Invalid < FwaCapability::None);
    assert!(FwaCapability::None < FwaCapability::Quiesce);
    assert!(FwaCapability::Quiesce < FwaCapability::Live);
}

// core.c activate_show/capability_show, dimm_devs.c activate_show/result_show.
#[test]
fn sysfs_words() {
    use FwaState::*;
    assert_eq!(
        [Invalid, Idle, Armed, Busy, ArmOverflow].map(FwaState::bus_word),
        [None, Some("idle"), Some("armed"), Some("busy"), Some("overflow")]
    );
    assert_eq!(
        [Invalid, Idle, Armed, Busy, ArmOverflow].map(FwaState::dimm_word),
        [None, Some("idle"), Some("armed"), Some("busy"), None]
    );
    assert_eq!(
        [FwaCapability::Invalid, FwaCapability::None, FwaCapability::Quiesce, FwaCapability::Live]
            .map(|c| (c.word(), c.offered())),
        [(None, false), (None, false), (Some("quiesce"), true), (Some("live"), true)]
    );
    assert_eq!(
        [
            FwaResult::Invalid,
            FwaResult::None,
            FwaResult::Success,
            FwaResult::NotStaged,
            FwaResult::NeedReset,
            FwaResult::Fail
        ]
        .map(FwaResult::word),
        [None, Some("none"), Some("success"), Some("not_staged"), Some("need_reset"), Some("fail")]
    );
}

// struct nd_intel_fw_info: field offsets of the packed struct.
#[test]
fn fw_info_layout() {
    let info = FwInfo {
        status: 0x1111_1111,
        storage_size: 0x2222_2222,
        max_send_len: 0x3333_3333,
        query_interval: 0x4444_4444,
        max_query_time: 0x5555_5555,
        update_cap: 0x66,
        fis_version: 0x7777_7777,
        run_version: 0x8888_8888_8888_8888,
        updated_version: 0x9999_9999_9999_9999,
    };
    let mut b = [0xeeu8; FW_INFO_LEN + 2];
    info.put(&mut b);
    assert_eq!(&b[..4], &[0x11; 4]);
    assert_eq!(&b[16..20], &[0x55; 4]);
    assert_eq!(b[20], 0x66);
    // Reserved bytes and what lies past the struct stay as they were.
    assert_eq!(&b[21..24], &[0xee; 3]);
    assert_eq!(&b[24..28], &[0x77; 4]);
    assert_eq!(&b[28..36], &[0x88; 8]);
    assert_eq!(&b[36..44], &[0x99; 8]);
    assert_eq!(&b[44..], &[0xee; 2]);
    assert_eq!(FwInfo::parse(&b), Some(info));
    assert_eq!(FwInfo::parse(&b[..FW_INFO_LEN - 1]), None);
    // A short buffer gets the fields that fit, and no panic.
    let mut short = [0u8; 10];
    info.put(&mut short);
    assert_eq!(&short[..8], &b[..8]);
}

#[test]
fn send_data_status_follows_the_data() {
    let mut b = vec![0u8; FW_SEND_HDR_LEN + 16 + 4];
    b[0..4].copy_from_slice(&7u32.to_le_bytes());
    b[4..8].copy_from_slice(&0x100u32.to_le_bytes());
    b[8..12].copy_from_slice(&16u32.to_le_bytes());
    let s = FwSendData::parse(&b).unwrap();
    assert_eq!(s, FwSendData { context: 7, offset: 0x100, length: 16 });
    assert_eq!(s.status_offset(), 28);
    assert!(s.put_status(&mut b, 0x1_0007));
    assert_eq!(&b[28..32], &0x1_0007u32.to_le_bytes());
    // A length running past the payload: nothing written.
    let lie = FwSendData { length: 17, ..s };
    let before = b.clone();
    assert!(!lie.put_status(&mut b, 5));
    assert_eq!(b, before);
    let huge = FwSendData { length: u32::MAX, ..s };
    assert!(!huge.put_status(&mut b, 5));
    assert_eq!(FwSendData::parse(&b[..11]), None);
}

#[test]
fn finish_payloads() {
    let mut b = [0u8; FW_FINISH_UPDATE_LEN];
    b[0] = 1;
    b[4..8].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(FwFinishUpdate::parse(&b), Some(FwFinishUpdate { ctrl_flags: 1, context: 9 }));
    FwFinishUpdate::put_status(&mut b, 0x4_0007);
    assert_eq!(&b[8..12], &0x4_0007u32.to_le_bytes());
    assert_eq!(FwFinishUpdate::parse(&b[..11]), None);

    let mut q = [0u8; FW_FINISH_QUERY_LEN];
    q[0..4].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(FwFinishQuery::parse(&q), Some(FwFinishQuery { context: 3 }));
    FwFinishQuery::put_answer(&mut q, 0, Some(0xffff_ffff_abcd));
    assert_eq!(&q[4..8], &[0; 4]);
    assert_eq!(&q[8..16], &0xffff_ffff_abcdu64.to_le_bytes());
    // A context mismatch leaves the version as it was.
    FwFinishQuery::put_answer(&mut q, 0x1_0007, None);
    assert_eq!(&q[8..16], &0xffff_ffff_abcdu64.to_le_bytes());
}

// intel.c intel_fwa_state: DIMMINFO to libnvdimm's state and result.
#[test]
fn dimminfo_meaning() {
    let info = |state, result| FwaDimmInfo { status: 0, result, state };
    assert_eq!(info(FWA_IDLE, 0).fwa_state(), FwaState::Idle);
    assert_eq!(info(FWA_ARMED, 0).fwa_state(), FwaState::Armed);
    assert_eq!(info(FWA_BUSY, 0).fwa_state(), FwaState::Busy);
    assert_eq!(info(3, 0).fwa_state(), FwaState::Invalid);
    let results: Vec<_> = (0..10).map(|r| info(0, r).fwa_result()).collect();
    use FwaResult::*;
    assert_eq!(results, [None, NotStaged, Success, NeedReset, Fail, Fail, Fail, Fail, Fail, Fail]);
    let i = FwaDimmInfo { status: 0x0102_0304, result: 0x0506, state: 7 };
    let b = i.to_bytes();
    assert_eq!(b, [4, 3, 2, 1, 6, 5, 7, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(FwaDimmInfo::parse(&b), Some(i));
    assert_eq!(FwaDimmInfo::parse(&b[..13]), Option::None);
}

// intel.c intel_bus_fwa_state: BUSINFO to the bus state and capability.
#[test]
fn businfo_meaning() {
    let info = |state, cap, tmo| FwaBusInfo {
        status: 0,
        state,
        capability: cap,
        activate_tmo: tmo,
        cpu_quiesce_tmo: tmo,
        io_quiesce_tmo: tmo,
        max_quiesce_tmo: 3_000_000,
    };
    assert_eq!(info(FWA_IDLE, 0, 0).fwa_state(), Some(FwaState::Idle));
    assert_eq!(info(FWA_BUSY, 0, 0).fwa_state(), Some(FwaState::Busy));
    assert_eq!(info(FWA_ARMED, 0, 3_000_000).fwa_state(), Some(FwaState::Armed));
    assert_eq!(info(FWA_ARMED, 0, 3_000_001).fwa_state(), Some(FwaState::ArmOverflow));
    assert_eq!(info(3, 0, 0).fwa_state(), None);
    assert_eq!(info(0, 7, 0).fwa_capability(), FwaCapability::Quiesce);
    assert_eq!(info(0, BUS_FWA_CAP_OSQUIESCE | BUS_FWA_CAP_RESET, 0).fwa_capability(), FwaCapability::Live);
    assert_eq!(info(0, BUS_FWA_CAP_RESET, 0).fwa_capability(), FwaCapability::None);
    let i = FwaBusInfo { status: 1, state: 2, capability: 3, activate_tmo: 4, cpu_quiesce_tmo: 5, io_quiesce_tmo: 6, max_quiesce_tmo: 7 };
    let b = i.to_bytes();
    assert_eq!(&b[..8], &[1, 0, 0, 0, 0, 0, 2, 3]);
    assert_eq!(b[8], 4);
    assert_eq!(b[32], 7);
    assert_eq!(FwaBusInfo::parse(&b), Some(i));
    assert_eq!(FwaBusInfo::parse(&b[..39]), None);
}

#[test]
fn arm_and_activate_payloads() {
    assert_eq!(fwa_arm_request(&[]), None);
    assert_eq!(fwa_arm_request(&[1, 9]), Some(DIMM_FWA_ARM));
    let mut b = [1u8, 0xff, 0xff, 0xff, 0xff, 0xee];
    put_fwa_arm_status(&mut b, 0);
    assert_eq!(b, [1, 0, 0, 0, 0, 0xee]);
    let mut b = [0u8; 5];
    put_fwa_activate_status(&mut b, BUS_FWA_STATUS_NOARM);
    assert_eq!(&b[1..], &(6u32 | 1 << 16).to_le_bytes());
    assert_eq!(fwa_activate_request(&b), Some(BUS_FWA_IODEV_FORCE_IDLE));
    // Short buffers: nothing written, no panic.
    let mut s = [0u8; 3];
    put_fwa_arm_status(&mut s, 5);
    assert_eq!(s, [0; 3]);
}
