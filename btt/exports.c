// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of nd_btt's ABI (abi/btt.rs), for nd_pmem. The functions are
 * Rust; only C can export them. Declared here just to take their address.
 */
#include <linux/export.h>

extern char rln_btt_attach[], rln_btt_detach[], rln_btt_notify[];
EXPORT_SYMBOL_GPL(rln_btt_attach);
EXPORT_SYMBOL_GPL(rln_btt_detach);
EXPORT_SYMBOL_GPL(rln_btt_notify);
