//! Firmware update and activation payloads (`nfit::firmware`), and
//! nfit_test's emulation that parses them from a user's ioctl
//! (test/nfit_test/firmware.rs, included by path as the module includes it).
//!
//! Checks: each reply decodes to its bytes and encodes back (reserved bytes
//! zero, or left as they were for the update info); libnvdimm's reading of
//! a reply (state, capability, result) follows C's rules; the send-data
//! status lands where the payload's length says, or nowhere when it does
//! not fit. Then a run of random commands with random payloads on a bus's
//! emulated firmware: no panic; every answer is written inside its payload;
//! a refused command (EINVAL) changes nothing; armed DIMMs make the bus
//! armed, and an activation disarms every DIMM and stamps the ones it took.
//!
//! Input: 1 selector byte, then control bytes and payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::fwa::{FwaCapability, FwaResult, FwaState};
use nd_formats::nfit::firmware::*;
use nd_formats_fuzz::Ctl;

mod formats {
    pub use nd_formats::*;
}
#[path = "../../../test/nfit_test/dsm.rs"]
#[allow(dead_code)]
mod dsm;
#[path = "../../../test/nfit_test/firmware.rs"]
#[allow(dead_code)]
mod firmware;
#[path = "../../../test/nfit_test/topology.rs"]
#[allow(dead_code)]
mod topology;

fn replies(b: &[u8]) {
    if let Some(i) = FwInfo::parse(b) {
        let mut out = b[..FW_INFO_LEN].to_vec();
        i.put(&mut out);
        assert_eq!(out, b[..FW_INFO_LEN], "update info does not re-encode to its bytes");
    } else {
        assert!(b.len() < FW_INFO_LEN);
    }
    match FwaDimmInfo::parse(b) {
        None => assert!(b.len() < FWA_DIMMINFO_LEN),
        Some(d) => {
            let out = d.to_bytes();
            assert_eq!(out[..7], b[..7]);
            assert!(out[7..].iter().all(|&x| x == 0));
            assert_eq!(FwaDimmInfo::parse(&out), Some(d));
            let want = match d.state {
                FWA_IDLE => FwaState::Idle,
                FWA_ARMED => FwaState::Armed,
                FWA_BUSY => FwaState::Busy,
                _ => FwaState::Invalid,
            };
            assert_eq!(d.fwa_state(), want);
            let r = d.fwa_result();
            assert!(r != FwaResult::Invalid);
            assert_eq!(r == FwaResult::Fail, d.result > DIMM_FWA_NEEDRESET);
        }
    }
    match FwaBusInfo::parse(b) {
        None => assert!(b.len() < FWA_BUSINFO_LEN),
        Some(i) => {
            let out = i.to_bytes();
            assert_eq!(out[..4], b[..4]);
            assert_eq!(out[6..], b[6..FWA_BUSINFO_LEN]);
            assert_eq!(out[4..6], [0, 0]);
            assert_eq!(FwaBusInfo::parse(&out), Some(i));
            match i.fwa_state() {
                Some(FwaState::ArmOverflow) => assert!(i.state == FWA_ARMED && i.activate_tmo > i.max_quiesce_tmo),
                Some(FwaState::Armed) => assert!(i.state == FWA_ARMED && i.activate_tmo <= i.max_quiesce_tmo),
                Some(FwaState::Idle) => assert_eq!(i.state, FWA_IDLE),
                Some(FwaState::Busy) => assert_eq!(i.state, FWA_BUSY),
                Some(FwaState::Invalid) => unreachable!("the bus state is never invalid when known"),
                None => assert!(i.state > FWA_BUSY),
            }
            let c = i.fwa_capability();
            assert!(c != FwaCapability::Invalid);
            assert_eq!(c == FwaCapability::Quiesce, i.capability & BUS_FWA_CAP_FWQUIESCE != 0);
        }
    }
    if let Some(s) = FwSendData::parse(b) {
        let mut out = b.to_vec();
        let fits = s.put_status(&mut out, 0xa5a5_a5a5);
        assert_eq!(fits, s.status_offset() + 4 <= b.len() as u64);
        let at = s.status_offset() as usize;
        for (i, (&x, &y)) in b.iter().zip(&out).enumerate() {
            if !(fits && (at..at + 4).contains(&i)) {
                assert_eq!(x, y, "send-data status written at {i}, not {at}");
            }
        }
    }
}

/// Runs random firmware commands on one bus's emulated firmware.
fn emulation(ctl: &mut Ctl<'_>, data: &[u8]) {
    use formats::nfit::intel;
    let funcs = [
        intel::ND_INTEL_FW_GET_INFO,
        intel::ND_INTEL_FW_START_UPDATE,
        intel::ND_INTEL_FW_SEND_DATA,
        intel::ND_INTEL_FW_FINISH_UPDATE,
        intel::ND_INTEL_FW_FINISH_QUERY,
        intel::NVDIMM_INTEL_FW_ACTIVATE_DIMMINFO,
        intel::NVDIMM_INTEL_FW_ACTIVATE_ARM,
    ];
    let mut fw = firmware::BusFirmware::default();
    let mut now = 0u64;
    let mut rest = data;
    for _ in 0..32 {
        now += u64::from(ctl.u8()) * 50;
        let len = ctl.below(80);
        let take = len.min(rest.len());
        let mut p = rest[..take].to_vec();
        p.resize(len, 0);
        rest = &rest[take..];
        let before_p = p.clone();
        let before = fw;
        let pick = ctl.u8();
        let index = ctl.below(topology::NUM_DCR + 1);
        let rc = if pick & 0x80 != 0 {
            // The root device's functions, an unknown one among them.
            let func = u32::from(pick & 3);
            firmware::bus_call(func, &mut p, &mut fw, now)
        } else {
            let func = funcs[usize::from(pick) % funcs.len()];
            firmware::dimm_call(func, &mut p, &mut fw, index, now).expect("a firmware function")
        };
        assert_eq!(p.len(), len, "payload resized");
        if rc.is_err() {
            assert_eq!(fw, before, "a refused command changed the firmware");
            assert_eq!(p, before_p, "a refused command wrote its payload");
        }
        let armed = fw.slots.iter().filter(|s| s.armed).count();
        let info = firmware::bus_info(&fw, now);
        assert_eq!(info.state == FWA_ARMED, armed != 0);
        assert_eq!(info.activate_tmo, armed as u64 * 1_000_000);
        if fw.last_activate != before.last_activate {
            assert_eq!(fw.last_activate, Some(now));
            assert_eq!(armed, 0, "an activation left a DIMM armed");
            for (s, b) in fw.slots.iter().zip(&before.slots) {
                assert_eq!(s.last_activate == Some(now), b.armed);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (mut sel, rest) = Ctl::split(data, 1);
    match sel.u8() % 2 {
        0 => replies(rest),
        _ => {
            let (mut ctl, payloads) = Ctl::split(rest, 160);
            emulation(&mut ctl, payloads)
        }
    }
});
