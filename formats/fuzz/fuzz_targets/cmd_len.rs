//! The ND_CMD length walk: `cmd::payload_len` for any target, command and
//! user buffer, peeking at the buffer as the ioctl does.
//!
//! Checks: a refusal's errno is one C returns; an accepted payload is at
//! most MAX_BUFLEN, its command supported by the mask, known and not a write
//! on a read-only file, its `func` the command (or for ND_CMD_CALL the
//! package's function); the walk's lengths equal the sum of `in_size` and
//! `out_size` over the fields, recomputed from the user buffer; it peeks
//! in increasing order, inputs within the first MAX_ENVELOPE bytes and
//! outputs within MAX_ENVELOPE bytes after the inputs, and a failed peek
//! is EFAULT; the walk is deterministic.
//!
//! Input: 1 byte (bit 0 DIMM, bit 1 read-only, bit 2: the user buffer
//! faults past its end rather than reading as zeros), 1 byte command
//! (mod 16), 2 bytes command mask, 1 byte family mask, then the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nd_formats::cmd::{self, CmdError, Payload, Target, MAX_BUFLEN, MAX_ENVELOPE};
use nd_formats_fuzz::Ctl;

fn walk(t: &Target, c: u32, user: &[u8], fault: bool, peeks: &mut Vec<(u64, usize)>) -> Result<Payload, CmdError> {
    cmd::payload_len(t, c, &mut |off, dst: &mut [u8]| {
        peeks.push((off, dst.len()));
        for (i, b) in dst.iter_mut().enumerate() {
            match usize::try_from(off).ok().and_then(|o| user.get(o.checked_add(i)?)) {
                Some(v) => *b = *v,
                None if fault => return Err(()),
                None => *b = 0,
            }
        }
        Ok(())
    })
}

fn prefix(user: &[u8], from: usize) -> [u8; MAX_ENVELOPE] {
    let mut env = [0u8; MAX_ENVELOPE];
    for (i, b) in env.iter_mut().enumerate() {
        *b = user.get(from + i).copied().unwrap_or(0);
    }
    env
}

fuzz_target!(|data: &[u8]| {
    let (mut ctl, user) = Ctl::split(data, 5);
    let flags = ctl.u8();
    let c = u32::from(ctl.u8() % 16);
    let cmd_mask = u64::from(ctl.u8()) | u64::from(ctl.u8()) << 8;
    let family_mask = u64::from(ctl.u8());
    let t = Target { dimm: flags & 1 != 0, cmd_mask, family_mask, read_only: flags & 2 != 0 };
    let fault = flags & 4 != 0;
    let mut peeks = Vec::new();
    let r = walk(&t, c, user, fault, &mut peeks);
    let mut again = Vec::new();
    assert_eq!(walk(&t, c, user, fault, &mut again), r, "not deterministic");
    assert_eq!(again, peeks);
    let p = match r {
        Err(e) => {
            assert!([25, 22, 6, 14, 1].contains(&e.errno()));
            if e == CmdError::Fault {
                assert!(fault, "EFAULT without a fault");
            }
            return;
        }
        Ok(p) => p,
    };
    assert!(p.len() <= MAX_BUFLEN, "{p:?} longer than MAX_BUFLEN");
    assert!(c <= cmd::CALL && cmd_mask & (1 << c) != 0, "an unsupported command passed");
    assert!(!(t.read_only && cmd::is_write_cmd(c)), "a write on a read-only file passed");
    let (nin, nout) = cmd::field_counts(t.dimm, c).expect("an accepted command has fields");
    assert!(nin + nout > 0);
    if c == cmd::CALL {
        let family = u64::from_le_bytes(prefix(user, 0)[..8].try_into().unwrap());
        let max = if t.dimm { cmd::DIMM_FAMILY_MAX } else { cmd::BUS_FAMILY_MAX };
        assert!(family <= max && family_mask & (1 << family) != 0, "family {family} passed");
        assert_eq!(p.func, u64::from_le_bytes(prefix(user, 8)[..8].try_into().unwrap()));
    } else {
        assert_eq!(p.func, u64::from(c));
    }
    // The lengths, recomputed field by field from the user's buffer.
    let ins = prefix(user, 0);
    let in_len = (0..nin).fold(0u32, |n, i| n.wrapping_add(cmd::in_size(t.dimm, c, i, &ins).unwrap()));
    assert_eq!(p.in_len, in_len, "input length");
    let outs = prefix(user, p.in_len as usize);
    let out_len = (0..nout).fold(0u32, |n, i| n.wrapping_add(cmd::out_size(t.dimm, c, i, &ins, &outs, 0).unwrap()));
    assert_eq!(p.out_len, out_len, "output length");
    // Peeks: inside the input envelope or the output one, in increasing
    // order within each (one step back where the outputs begin, and one for
    // ND_CMD_CALL, whose package header is read first on its own).
    let base = u64::from(p.in_len);
    let env = MAX_ENVELOPE as u64;
    for &(off, n) in &peeks {
        let end = off + n as u64;
        assert!(n > 0 && (end <= env || (off >= base && end <= base + env)), "peek ({off}, {n}) outside the envelopes: {peeks:?}");
    }
    let descents = peeks.windows(2).filter(|w| w[0].0 + w[0].1 as u64 > w[1].0).count();
    assert!(descents <= 1 + usize::from(c == cmd::CALL), "peeks out of order: {peeks:?}");
});
