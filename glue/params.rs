// SPDX-License-Identifier: GPL-2.0
//! libnvdimm's module parameters: declared in core/params.c (only C can),
//! read-only after load (mode 0444), read here. Compiled into libnvdimm
//! only (the functions are not exported).

use super::bindings;

/// `libnvdimm.panic_flush`: the panic and reboot notifiers' flush.
pub fn panic_flush() -> bool {
    // SAFETY: reads a module parameter of this module.
    unsafe { bindings::rln_param_panic_flush() }
}

/// `libnvdimm.cache_writeback`: regions get the `cache_writeback` knob.
pub fn cache_writeback() -> bool {
    // SAFETY: reads a module parameter of this module.
    unsafe { bindings::rln_param_cache_writeback() }
}
