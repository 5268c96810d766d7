// SPDX-License-Identifier: GPL-2.0
//! The C ABIs between our modules, one file per module boundary.
//!
//! Each boundary is declared once and compiled into both modules: the
//! `#[repr(C)]` wire structs and the `extern "C"` declarations are private to
//! their file; each side gets its own safe Rust types (the provider builds a
//! `NewRegion`, libnvdimm receives a `ProviderRegion`). The exporting
//! module's functions are defined here too, behind the `cfg` its Kbuild
//! line sets, over a safe trait the module implements.
//!
//! | File | Boundary |
//! |---|---|
//! | `provider.rs` | libnvdimm and the bus providers (nfit) |
//! | `nfit.rs` | nfit and an emulated NFIT platform (nfit_test) |
//! | `namespace.rs` | libnvdimm and the namespace drivers (nd_pmem) |
//! | `btt.rs` | nd_pmem and nd_btt (attach and detach a BTT) |
//!
//! Like glue/, this directory may use `unsafe`; each block has a
//! `// SAFETY:` comment. It depends on glue/, never the reverse.

#![allow(dead_code, unreachable_pub)]

pub mod btt;
pub mod namespace;
pub mod nfit;
pub mod provider;

use core::ptr::NonNull;

/// How a command ran, on the provider ABI and the platform ABI alike. `rc`
/// is what C's `ndctl()` returns and the ioctl hands to user space: 0, or a
/// positive count (output bytes the firmware left unfilled). `cmd_rc` is
/// the firmware status as an errno (0 = success).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// Non-negative return value.
    pub rc: i32,
    /// Translated firmware status.
    pub cmd_rc: i32,
}

impl Completion {
    /// A fully completed command with firmware status `cmd_rc`.
    pub const fn status(cmd_rc: i32) -> Self {
        Self { rc: 0, cmd_rc }
    }
}

/// Memory an emulated platform backs one of its system physical ranges
/// with (C's nfit_test redirects memremap to such buffers).
///
/// # Invariants
///
/// `mem` points to `len` bytes that the platform keeps until after nfit
/// unregisters the bus built from it; `backing_phys`, when known, is the
/// physical address of byte 0 of that memory, contiguous over `len` bytes.
#[derive(Clone, Copy)]
pub struct Range {
    /// The range's system physical address, as the NFIT states it.
    pub start: u64,
    /// Its length.
    pub len: u64,
    mem: NonNull<u8>,
    backing_phys: Option<u64>,
}

impl Range {
    /// The physical address of the memory behind the range (not `start`,
    /// which the platform emulates): known when the platform backs it with
    /// physical memory rather than vmalloc.
    pub fn backing_phys(&self) -> Option<u64> {
        self.backing_phys
    }
}

/// How the wire structs carry an optional backing physical address
/// ([`Range::backing_phys`]): all ones means none (no range ends there).
const NO_BACKING_PHYS: u64 = u64::MAX;

/// [`NO_BACKING_PHYS`] for `None`.
fn backing_phys_to_raw(phys: Option<u64>) -> u64 {
    phys.unwrap_or(NO_BACKING_PHYS)
}

/// `None` for [`NO_BACKING_PHYS`].
fn backing_phys_from_raw(raw: u64) -> Option<u64> {
    (raw != NO_BACKING_PHYS).then_some(raw)
}

/// `NVDIMM_FLUSH_ASYNC`: a region flush took the bio and ends it itself.
const NVDIMM_FLUSH_ASYNC: core::ffi::c_int = 1;

/// How the flush after a REQ_FUA bio's data went (C's `nvdimm_flush(nd_region,
/// bio)`), on the namespace ABI and the provider ABI alike.
pub enum FuaFlush {
    /// The region's provider took the bio (C: NVDIMM_FLUSH_ASYNC): it
    /// flushes from a work item and ends the bio there.
    Queued,
    /// The flush ran (or failed to start, ENOMEM); the caller ends the bio
    /// with the status.
    Done(crate::glue::block::PendingBio, kernel::error::Result),
}

impl FuaFlush {
    /// The C return value of a flush that was handed `raw`: 0 or -errno,
    /// the bio back with the caller, or NVDIMM_FLUSH_ASYNC.
    fn into_raw(self, raw: *mut crate::glue::bindings::bio) -> core::ffi::c_int {
        match self {
            Self::Queued => NVDIMM_FLUSH_ASYNC,
            Self::Done(bio, status) if bio.as_ptr() == raw => {
                // The caller ends it (`from_raw`).
                let _ = bio.into_raw();
                match status {
                    Ok(()) => 0,
                    Err(e) => e.to_errno(),
                }
            }
            // Another bio than `raw` came back, one handed on earlier: the
            // flush kept `raw`, so this one is ours to end.
            Self::Done(bio, status) => {
                bio.complete(status);
                NVDIMM_FLUSH_ASYNC
            }
        }
    }

    /// What a flush handed `raw` returned (`rc`).
    ///
    /// # Safety
    ///
    /// `raw` came from `PendingBio::into_raw` and was handed to the flush,
    /// and `rc` follows [`FuaFlush::into_raw`]: unless it is
    /// NVDIMM_FLUSH_ASYNC, the flush gave the bio back.
    unsafe fn from_raw(rc: core::ffi::c_int, raw: *mut crate::glue::bindings::bio) -> Self {
        if rc == NVDIMM_FLUSH_ASYNC {
            return Self::Queued;
        }
        // SAFETY: guaranteed by the caller: the bio is ours again.
        let bio = unsafe { crate::glue::block::PendingBio::from_raw(raw) };
        Self::Done(bio, kernel::error::to_result(rc))
    }
}
