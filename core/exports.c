// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of libnvdimm's provider ABI (glue/provider_abi.rs). The functions
 * are Rust; only C can export them. Declared here just to take their address.
 */
#include <linux/export.h>

extern char rln_bus_register[], rln_bus_unregister[], rln_dimm_create[];
extern char rln_bus_provider_data[], rln_dimm_provider_data[];
extern char rln_region_create[], rln_region_provider_data[];

EXPORT_SYMBOL_GPL(rln_bus_register);
EXPORT_SYMBOL_GPL(rln_bus_unregister);
EXPORT_SYMBOL_GPL(rln_dimm_create);
EXPORT_SYMBOL_GPL(rln_bus_provider_data);
EXPORT_SYMBOL_GPL(rln_dimm_provider_data);
EXPORT_SYMBOL_GPL(rln_region_create);
EXPORT_SYMBOL_GPL(rln_region_provider_data);
