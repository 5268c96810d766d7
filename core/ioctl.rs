// SPDX-License-Identifier: GPL-2.0
//! /dev/ndctlN and /dev/nmemN: the ND_CMD ioctls, passed to the provider.
//!
//! The payload's length comes from formats::cmd, which walks its fields the
//! way C does; this file copies it in, runs it under the bus lock and copies
//! it back. Refusals carry C's errno.

use kernel::prelude::*;
use kernel::alloc::allocator::Kmalloc;
use crate::glue::boxed::zeroed_vec;
use kernel::uaccess::UserSlice;

use crate::dimm::Dimm;
use crate::formats::cmd::{self, Target};
use crate::formats::le::{u32_at, u64_at};
use crate::formats::nfit::dsm::PKG_COMMAND;
use crate::nd::NdBus;
use crate::dev_dbg;

/// What a bus CLEAR_ERROR needs from the objects above this file, which
/// bus.rs provides: C's `nd_cmd_clear_to_send` (a clear may not cover an
/// enabled namespace: poison there is the pmem driver's to clear) and
/// `nvdimm_account_cleared_poison`. Both take the payload's address and
/// `cleared` count.
pub(crate) struct ClearError {
    /// EBUSY to refuse the clear before it reaches the provider.
    pub(crate) clear_to_send: fn(&NdBus, u64, u64) -> Result,
    /// Forgets the cleared poison from the bus's and the regions' lists.
    pub(crate) account: fn(&NdBus, u64, u64),
}

/// `struct nd_cmd_clear_error`: address, then `cleared` at 24.
const CLEAR_ADDRESS: usize = 0;
const CLEAR_CLEARED: usize = 24;

/// Runs ND_CMD ioctl `ioctl_cmd` with user argument `arg` on `bus`, or
/// on `dimm` of it, for /dev/ndctlN and /dev/nmemN (bus.rs).
pub(crate) fn nd_ioctl(
    bus: &NdBus,
    dimm: Option<&Dimm>,
    read_only: bool,
    ioctl_cmd: u32,
    arg: usize,
    clear: &ClearError,
) -> Result<i64> {
    // Only the command number counts (_IOC_NR): type, size and direction
    // of the ioctl number are not checked, as in C.
    let nr = ioctl_cmd & 0xff;
    let desc = bus.desc();
    let target = match dimm {
        Some(d) => Target { dimm: true, cmd_mask: d.desc().cmd_mask, family_mask: desc.dimm_family_mask, read_only },
        None => Target { dimm: false, cmd_mask: desc.cmd_mask, family_mask: desc.bus_family_mask, read_only },
    };
    let payload = cmd::payload_len(&target, nr, &mut |off, dst: &mut [u8]| {
        UserSlice::new(arg + off as usize, dst.len()).reader().read_slice(dst).map_err(|_| ())
    })
    .map_err(|e| {
        dev_dbg!(bus.device(), "cmd {} refused: {:?}\n", nr, e);
        Error::from_errno(-e.errno())
    })?;

    let len = payload.len() as usize;
    let mut buf = zeroed_vec::<u8, Kmalloc>(len, GFP_KERNEL)?;
    let (mut reader, mut writer) = UserSlice::new(arg, len).reader_writer();
    reader.read_slice(&mut buf)?;

    let _lock = bus.device().lock();
    // C's nd_cmd_clear_to_send. Its checks look at `func`: the command,
    // or for ND_CMD_CALL the package's function (its low 32 bits), so a
    // package whose function has a command's number is checked as that
    // command, as in C. The provider's veto first, under the bus lock.
    let func = if nr == cmd::CALL { u32_at(&buf, PKG_COMMAND) } else { nr };
    bus.with_bus_lock(|| desc.clear_to_send(dimm.map(|d| d.desc()), func, &buf))?;
    match dimm {
        // Poison is the pmem driver's to clear while it holds a namespace.
        None if func == cmd::CLEAR_ERROR => {
            (clear.clear_to_send)(bus, u64_at(&buf, CLEAR_ADDRESS), u64_at(&buf, CLEAR_CLEARED))?
        }
        // Labels belong to the kernel while a region uses the DIMM.
        Some(d) if func == cmd::SET_CONFIG_DATA && d.is_busy() => return Err(EBUSY),
        _ => {}
    }
    let clear_error = dimm.is_none() && nr == cmd::CLEAR_ERROR;
    // A positive return (output left unfilled) reaches user space, as in C.
    let done = bus.ctl(dimm.map(|d| d.desc()), nr, &mut buf)?;
    if clear_error && done.cmd_rc >= 0 {
        (clear.account)(bus, u64_at(&buf, CLEAR_ADDRESS), u64_at(&buf, CLEAR_CLEARED));
    }
    writer.write_slice(&buf)?;
    Ok(done.rc as i64)
}
