// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of nfit's ABI for emulated platforms (abi/nfit.rs). The
 * functions are Rust; only C can export them.
 */
#include <linux/export.h>

extern char rln_nfit_register[], rln_nfit_unregister[];

EXPORT_SYMBOL_GPL(rln_nfit_register);
EXPORT_SYMBOL_GPL(rln_nfit_unregister);
