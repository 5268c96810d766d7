// SPDX-License-Identifier: GPL-2.0
//! Instance numbers (the N of ndbusN, nmemN, regionN), from IDAs that
//! helpers.c defines once for the whole stack.

use kernel::error::{Error, Result};

use super::bindings;

/// Which number space.
#[derive(Clone, Copy)]
pub enum IdaKind {
    /// ndbusN, also the minor of /dev/ndctlN.
    Bus = bindings::rln_ida_RLN_IDA_BUS as isize,
    /// nmemN, also the minor of /dev/nmemN.
    Dimm = bindings::rln_ida_RLN_IDA_DIMM as isize,
    /// regionN.
    Region = bindings::rln_ida_RLN_IDA_REGION as isize,
}

/// An allocated number, given back on drop.
pub struct Id {
    kind: IdaKind,
    id: u32,
}

impl Id {
    /// The lowest free number of `kind`.
    pub fn alloc(kind: IdaKind) -> Result<Self> {
        // SAFETY: the IDAs are statics of helpers.c, valid while libnvdimm is loaded.
        let id = unsafe { bindings::rln_ida_alloc(kind as bindings::rln_ida) };
        if id < 0 {
            return Err(Error::from_errno(id));
        }
        Ok(Self { kind, id: id as u32 })
    }

    /// The number.
    pub fn get(&self) -> u32 {
        self.id
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        // SAFETY: we allocated this number and give it back once.
        unsafe { bindings::rln_ida_free(self.kind as bindings::rln_ida, self.id as core::ffi::c_int) };
    }
}
