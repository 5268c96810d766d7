//! nfit_test's firmware update and activation (test/nfit_test/firmware.rs),
//! included by path as the Rust nfit_test module includes it, against
//! Linux 6.12 tools/testing/nvdimm/test/nfit.c (each test names the C
//! function). How dsm.rs's command dispatch reaches it is tested in
//! nfit_test_topology.rs, beside the other DIMM functions.

mod formats {
    pub use nd_formats::*;
}
#[path = "../../test/nfit_test/dsm.rs"]
#[allow(dead_code)]
mod dsm;
#[path = "../../test/nfit_test/firmware.rs"]
#[allow(dead_code)]
mod firmware;
#[path = "../../test/nfit_test/topology.rs"]
#[allow(dead_code)]
mod topology;

use dsm::Errno;
use firmware::*;
use formats::nfit::firmware as fw;

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Starts an update of slot `s`: the context it got.
fn start(s: &mut Slot) -> u32 {
    let mut b = [0u8; 8];
    assert_eq!(start_update(&mut b, s), Ok(0));
    assert_eq!(u32_at(&b, 0), 0);
    u32_at(&b, 4)
}

fn send(s: &mut Slot, context: u32, offset: u32, length: u32) -> u32 {
    let mut b = vec![0u8; 12 + length as usize + 4];
    b[0..4].copy_from_slice(&context.to_le_bytes());
    b[4..8].copy_from_slice(&offset.to_le_bytes());
    b[8..12].copy_from_slice(&length.to_le_bytes());
    assert_eq!(send_data(&mut b, s), Ok(0));
    u32_at(&b, 12 + length as usize)
}

fn finish(s: &mut Slot, flags: u8, context: u32, now: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 12];
    b[0] = flags;
    b[4..8].copy_from_slice(&context.to_le_bytes());
    finish_update(&mut b, s, now).map(|_| u32_at(&b, 8))
}

fn query(s: &mut Slot, context: u32, now: u64) -> (u32, u64) {
    let mut b = [0xaau8; 16];
    b[0..4].copy_from_slice(&context.to_le_bytes());
    assert_eq!(finish_query(&mut b, s, now), Ok(0));
    (u32_at(&b, 4), u64_at(&b, 8))
}

// nd_intel_test_get_fw_info, _start_update, _send_data, _finish_fw,
// _finish_query: the update ndctl runs, and its sequencing errors.
#[test]
fn update_sequence() {
    let mut s = Slot::default();
    let mut info = [0u8; fw::FW_INFO_LEN];
    assert_eq!(get_info(&mut info, &s), Ok(0));
    let i = fw::FwInfo::parse(&info).unwrap();
    assert_eq!(
        (i.storage_size, i.max_send_len, i.query_interval, i.max_query_time, i.fis_version, i.updated_version),
        (0x10_0000, 0xffec, 250_000, 3_000_000, 0x105, 0)
    );
    assert_eq!(get_info(&mut info[..43], &s), Err(Errno::EINVAL));

    // Data and finish before a start are sequencing errors.
    assert_eq!(send(&mut s, 0, 0, 4), 5);
    let ctx = start(&mut s);
    assert_eq!(ctx, 1);
    // A second start while one runs: busy status, context untouched.
    let mut b = [0u8, 0, 0, 0, 0xee, 0xee, 0xee, 0xee];
    assert_eq!(start_update(&mut b, &mut s), Ok(0));
    assert_eq!((u32_at(&b, 0), u32_at(&b, 4)), (0x1_0007, 0xeeee_eeee));

    assert_eq!(send(&mut s, ctx + 1, 0, 4), 0x1_0007);
    assert_eq!(send(&mut s, ctx, 0xffec * 16, 0xffec), 3);
    assert_eq!(send(&mut s, ctx, 0, 0xffed), 3);
    // C adds offset and length as u32s: a wrap passes.
    assert_eq!(send(&mut s, ctx, u32::MAX, 2), 0);
    s.size_received = 0;
    for off in (0..196608).step_by(0xffec) {
        assert_eq!(send(&mut s, ctx, off, 0xffec.min(196608 - off)), 0);
    }
    assert_eq!(s.size_received, 196608);
    // A query before the finish is a sequencing error.
    assert_eq!(query(&mut s, ctx, 0), (0x4_0007, 0));
    assert_eq!(finish(&mut s, 0, ctx + 1, 0), Ok(0x1_0007));
    assert_eq!(finish(&mut s, 2, ctx, 0), Err(Errno::EINVAL));
    assert_eq!(finish(&mut s, 0, ctx, 1000), Ok(0));
    assert_eq!(s.state, UpdateState::Verify);
    // Verifying until 1000 ms later; a wrong context says so.
    assert_eq!(query(&mut s, ctx + 1, 1500).0, 0x1_0007);
    assert_eq!(query(&mut s, ctx, 1999), (0x2_0007, 0));
    assert_eq!(query(&mut s, ctx, 2000), (0, FAKE_VERSION));
    assert_eq!(s.state, UpdateState::Updated);
    assert_eq!(query(&mut s, ctx, 9000), (0, FAKE_VERSION));
    // Staged: a finish says so, a start is refused.
    assert_eq!(finish(&mut s, 0, ctx, 3000), Ok(0x2_0007));
    assert_eq!(finish(&mut s, 1, ctx, 3000), Ok(0x2_0007));
    assert_eq!(get_info(&mut info, &s), Ok(0));
    assert_eq!(fw::FwInfo::parse(&info).unwrap().updated_version, FAKE_VERSION);
}

#[test]
fn abort_and_restart() {
    let mut s = Slot::default();
    let ctx = start(&mut s);
    assert_eq!(send(&mut s, ctx, 0, 100), 0);
    assert_eq!(finish(&mut s, 1, 12345, 0), Ok(0x4_0007));
    assert_eq!((s.state, s.size_received), (UpdateState::New, 0));
    assert_eq!(query(&mut s, ctx, 0), (0, 0));
    assert_eq!(start(&mut s), ctx + 1);
    // Short payloads: EINVAL, nothing changes.
    let before = s;
    assert_eq!(send_data(&mut [0u8; 11], &mut s), Err(Errno::EINVAL));
    let mut lying = [0u8; 16];
    lying[8..12].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(send_data(&mut lying, &mut s), Err(Errno::EINVAL));
    assert_eq!(finish_update(&mut [0u8; 11], &mut s, 0), Err(Errno::EINVAL));
    assert_eq!(finish_query(&mut [0u8; 15], &mut s, 0), Err(Errno::EINVAL));
    assert_eq!(start_update(&mut [0u8; 7], &mut s), Err(Errno::EINVAL));
    assert_eq!(s, before);
}

fn dimm_info(f: &BusFirmware, i: usize, now: u64) -> (u8, u16) {
    let mut b = [0xffu8; fw::FWA_DIMMINFO_LEN];
    assert_eq!(dimminfo(&mut b, f, i, now), Ok(0));
    let d = fw::FwaDimmInfo::parse(&b).unwrap();
    assert_eq!(d.status, 0);
    assert_eq!(&b[7..], &[0; 7]);
    (d.state, d.result)
}

fn arm_dimm(f: &mut BusFirmware, i: usize, on: bool) {
    let mut b = [on as u8, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(arm(&mut b, f, i), Ok(0));
    assert_eq!(&b[1..5], &[0; 4]);
}

fn activate_status(f: &mut BusFirmware, now: u64) -> u32 {
    let mut b = [0u8; 6];
    assert_eq!(activate(&mut b, f, now), Ok(0));
    u32_at(&b, 1)
}

// nvdimm_bus_intel_fw_activate_businfo, _activate,
// nd_intel_test_cmd_fw_activate_dimminfo, _arm.
#[test]
fn activation() {
    let mut f = BusFirmware::default();
    let info = bus_info(&f, 0);
    assert_eq!((info.state, info.capability, info.activate_tmo, info.max_quiesce_tmo), (fw::FWA_IDLE, 7, 0, 3_000_000));
    assert_eq!(activate_status(&mut f, 100), fw::BUS_FWA_STATUS_NOARM);
    assert_eq!(f.last_activate, None);

    // DIMMs 0 and 1 staged, 2 not; all three armed.
    for i in 0..2 {
        f.slots[i].state = UpdateState::Updated;
    }
    for i in 0..3 {
        arm_dimm(&mut f, i, true);
    }
    assert_eq!(dimm_info(&f, 0, 100), (fw::FWA_ARMED, 0));
    assert_eq!(dimm_info(&f, 3, 100), (fw::FWA_IDLE, 0));
    let info = bus_info(&f, 100);
    assert_eq!((info.state, info.activate_tmo), (fw::FWA_ARMED, 3_000_000));
    assert_eq!(info.fwa_state(), Some(formats::fwa::FwaState::Armed));
    // A fourth overflows the 3 s quiesce.
    arm_dimm(&mut f, 3, true);
    assert_eq!(bus_info(&f, 100).fwa_state(), Some(formats::fwa::FwaState::ArmOverflow));
    arm_dimm(&mut f, 3, false);

    assert_eq!(activate_status(&mut f, 1000), 0);
    assert_eq!(f.last_activate, Some(1000));
    assert_eq!(f.slots[0].state, UpdateState::New);
    assert!(f.slots[2].missed_activate);
    assert!(f.slots.iter().all(|s| !s.armed));
    // Busy for three seconds: every DIMM says so, results wait.
    assert_eq!(bus_info(&f, 4000).state, fw::FWA_BUSY);
    assert_eq!(dimm_info(&f, 0, 4000), (fw::FWA_BUSY, fw::DIMM_FWA_NONE));
    assert_eq!(activate_status(&mut f, 4000), fw::BUS_FWA_STATUS_BUSY);
    assert_eq!(f.last_activate, Some(1000));
    // Then idle, with each DIMM's result.
    assert_eq!(bus_info(&f, 4001).state, fw::FWA_IDLE);
    assert_eq!(dimm_info(&f, 0, 4001), (fw::FWA_IDLE, fw::DIMM_FWA_SUCCESS));
    assert_eq!(dimm_info(&f, 1, 4001), (fw::FWA_IDLE, fw::DIMM_FWA_SUCCESS));
    assert_eq!(dimm_info(&f, 2, 4001), (fw::FWA_IDLE, fw::DIMM_FWA_NOTSTAGED));
    assert_eq!(dimm_info(&f, 3, 4001), (fw::FWA_IDLE, fw::DIMM_FWA_NONE));
    // Arming during the busy window makes the bus armed at once; a DIMM
    // that is not armed then reads idle, with its last result.
    arm_dimm(&mut f, 3, true);
    assert_eq!(dimm_info(&f, 3, 4000), (fw::FWA_ARMED, 0));
    assert_eq!(dimm_info(&f, 0, 4000), (fw::FWA_IDLE, fw::DIMM_FWA_SUCCESS));
}

// The activation over the quiesce limit reports the timeout and activates
// anyway.
#[test]
fn activation_over_the_limit() {
    let mut f = BusFirmware::default();
    for i in 0..4 {
        f.slots[i].state = UpdateState::Updated;
        arm_dimm(&mut f, i, true);
    }
    assert_eq!(activate_status(&mut f, 50), fw::BUS_FWA_STATUS_TMO);
    assert!(f.slots[..4].iter().all(|s| s.state == UpdateState::New && !s.armed));
    assert_eq!(f.last_activate, Some(50));
}

#[test]
fn short_activation_payloads() {
    let mut f = BusFirmware::default();
    arm_dimm(&mut f, 0, true);
    let before = f;
    assert_eq!(businfo(&mut [0u8; 39], &f, 0), Err(Errno::EINVAL));
    assert_eq!(dimminfo(&mut [0u8; 13], &f, 0, 0), Err(Errno::EINVAL));
    assert_eq!(arm(&mut [0u8; 4], &mut f, 0), Err(Errno::EINVAL));
    assert_eq!(activate(&mut [0u8; 4], &mut f, 0), Err(Errno::EINVAL));
    assert_eq!(f, before);
    assert_eq!(bus_call(3, &mut [0u8; 64], &mut f, 0), Err(Errno::ENOTTY));
}
