// SPDX-License-Identifier: GPL-2.0
//! The C ABI between nd_pmem and nd_btt, declared once for both sides: C's
//! `nvdimm_namespace_attach_btt` and `nvdimm_namespace_detach_btt`.
//!
//! nd_pmem binds to btt devices (bttN.M) as C's does, and hands them to
//! nd_btt, which builds /dev/pmemNs over the claimed namespace. Because
//! nd_pmem calls these functions, it depends on nd_btt (modules.dep), as
//! in C.
//!
//! Driver side (nd_pmem): [`BttAttachment::attach`] for the btt device
//! being probed; the attachment forwards events and detaches when it
//! drops. Exporter side (nd_btt): [`export_nd_btt!`] turns a [`BttDriver`]
//! implementation into the exported functions, checked against the same
//! signature types.
//!
//! nd_btt learns about the btt device and its namespace through
//! abi/namespace.rs, as every namespace driver does.

use core::ffi::{c_int, c_uint, c_void};
use core::ptr::NonNull;

use kernel::error::{to_result, Result};

use crate::glue::bindings;
use crate::glue::device::Device;
use crate::glue::nd_driver::NdEvent;

/// Events on the wire (`enum nvdimm_event` is not part of this ABI).
mod event {
    /// [`super::NdEvent::RevalidatePoison`].
    pub const POISON: u32 = 0;
    /// [`super::NdEvent::RevalidateRegion`].
    pub const REGION: u32 = 1;
}

// The functions nd_btt exports to nd_pmem. Signatures are stated once;
// `export_nd_btt!` checks nd_btt's definitions against these.
#[allow(improper_ctypes)]
extern "C" {
    fn rln_btt_attach(dev: *mut bindings::device, out: *mut *mut c_void) -> c_int;
    fn rln_btt_detach(btt: *mut c_void);
    fn rln_btt_notify(btt: *mut c_void, event: c_uint);
}

/// Signature types of the exported functions, for the checks in `exports`.
mod signatures {
    use super::*;
    /// `rln_btt_attach`
    pub type Attach = unsafe extern "C" fn(*mut bindings::device, *mut *mut c_void) -> c_int;
    /// `rln_btt_detach`
    pub type Detach = unsafe extern "C" fn(*mut c_void);
    /// `rln_btt_notify`
    pub type Notify = unsafe extern "C" fn(*mut c_void, c_uint);
}

// ---------------------------------------------------------------------------
// Driver side (nd_pmem).

/// A btt device with its BTT attached: /dev/pmemNs exists until it drops.
///
/// # Invariants
///
/// `0` is what `rln_btt_attach` returned, not detached yet.
pub struct BttAttachment(NonNull<c_void>);

// SAFETY: nd_btt's state behind the pointer is `Send + Sync` (`BttDriver`).
unsafe impl Send for BttAttachment {}
// SAFETY: see `Send`.
unsafe impl Sync for BttAttachment {}

impl BttAttachment {
    /// `nvdimm_namespace_attach_btt` for the btt device `dev` that nd_pmem
    /// is probing. Errors as C's.
    pub fn attach(dev: &Device) -> Result<Self> {
        let mut out = core::ptr::null_mut();
        // SAFETY: `dev` is live (being probed); `out` is valid for a write.
        to_result(unsafe { rln_btt_attach(dev.as_raw(), &mut out) })?;
        // INVARIANT: a successful attach returns its state.
        Ok(Self(NonNull::new(out).ok_or(kernel::error::code::EINVAL)?))
    }

    /// Passes an event for the btt device on (C's `nd_pmem_notify`).
    pub fn notify(&self, ev: NdEvent) {
        let raw = match ev {
            NdEvent::RevalidatePoison => event::POISON,
            NdEvent::RevalidateRegion => event::REGION,
        };
        // SAFETY: attached (type invariant).
        unsafe { rln_btt_notify(self.0.as_ptr(), raw) }
    }
}

impl Drop for BttAttachment {
    // Inline: only nd_pmem links to it.
    #[inline]
    fn drop(&mut self) {
        // SAFETY: attached (type invariant), detached once here.
        unsafe { rln_btt_detach(self.0.as_ptr()) }
    }
}

// ---------------------------------------------------------------------------
// nd_btt side.

/// What nd_btt does for nd_pmem.
pub trait BttDriver {
    /// A BTT attached to a btt device: its disk and arenas.
    type Btt: Send + Sync + 'static;
    /// Reads or creates the BTT of the btt device `dev` and adds its disk.
    fn attach(dev: &Device) -> Result<Pin<KBox<Self::Btt>>>;
    /// An event from libnvdimm for the btt device.
    fn notify(btt: &Self::Btt, event: NdEvent);
}

use core::pin::Pin;
use kernel::alloc::KBox;

/// Names nd_btt's [`BttDriver`] for the exported functions:
/// `export_nd_btt!(NdBtt)`. Expands to a safe impl only.
#[macro_export]
macro_rules! export_nd_btt {
    ($drv:ty) => {
        impl $crate::abi::btt::Exports for $crate::abi::btt::NdBttModule {
            type Driver = $drv;
        }
    };
}

/// The module that exports this ABI.
pub(crate) struct NdBttModule;

/// Which [`BttDriver`] the exported functions call (see [`export_nd_btt!`]).
pub(crate) trait Exports {
    /// nd_btt's implementation.
    type Driver: BttDriver;
}

/// The functions nd_btt exports. Only nd_btt defines them (`--cfg rln_nd_btt`);
/// btt/exports.c exports them.
#[cfg(rln_nd_btt)]
mod exports {
    use super::*;

    type Drv = <NdBttModule as Exports>::Driver;
    type State = <Drv as BttDriver>::Btt;

    /// `rln_btt_attach`: `nvdimm_namespace_attach_btt`.
    ///
    /// # Safety
    ///
    /// `dev` is the live btt device nd_pmem is probing; `out` is valid for
    /// a write.
    #[no_mangle]
    unsafe extern "C" fn rln_btt_attach(dev: *mut bindings::device, out: *mut *mut c_void) -> c_int {
        // SAFETY: guaranteed by the caller.
        match Drv::attach(unsafe { Device::from_raw(dev) }) {
            Ok(btt) => {
                // SAFETY: the state stays pinned: only `rln_btt_detach`
                // turns the pointer back into its box, to drop it.
                let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(btt) });
                // SAFETY: guaranteed by the caller.
                unsafe { out.write(raw.cast()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
    const _: signatures::Attach = rln_btt_attach;

    /// `rln_btt_detach`: `nvdimm_namespace_detach_btt`.
    ///
    /// # Safety
    ///
    /// `btt` came from `rln_btt_attach` and is detached once, with no
    /// other call on it in flight or to come.
    #[no_mangle]
    unsafe extern "C" fn rln_btt_detach(btt: *mut c_void) {
        // SAFETY: guaranteed by the caller: the box `rln_btt_attach` leaked.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(btt.cast::<State>())) });
    }
    const _: signatures::Detach = rln_btt_detach;

    /// `rln_btt_notify`: an event for the btt device.
    ///
    /// # Safety
    ///
    /// `btt` came from `rln_btt_attach` and is not detached.
    #[no_mangle]
    unsafe extern "C" fn rln_btt_notify(btt: *mut c_void, raw: c_uint) {
        let ev = match raw {
            event::POISON => NdEvent::RevalidatePoison,
            event::REGION => NdEvent::RevalidateRegion,
            _ => return,
        };
        // SAFETY: guaranteed by the caller.
        Drv::notify(unsafe { &*btt.cast::<State>() }, ev)
    }
    const _: signatures::Notify = rln_btt_notify;
}
