// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of libnvdimm's ABIs (abi/provider.rs, abi/namespace.rs). The functions
 * are Rust; only C can export them. Declared here just to take their address.
 */
#include <linux/export.h>

extern char rln_bus_register[], rln_bus_unregister[], rln_dimm_create[];
extern char rln_region_create[];
extern char rln_bus_add_badrange[], rln_bus_revalidate_poison[], rln_bus_device[];
extern char rln_dimm_device[];

EXPORT_SYMBOL_GPL(rln_bus_register);
EXPORT_SYMBOL_GPL(rln_bus_unregister);
EXPORT_SYMBOL_GPL(rln_dimm_create);
EXPORT_SYMBOL_GPL(rln_region_create);
EXPORT_SYMBOL_GPL(rln_bus_add_badrange);
EXPORT_SYMBOL_GPL(rln_bus_revalidate_poison);
EXPORT_SYMBOL_GPL(rln_bus_device);
EXPORT_SYMBOL_GPL(rln_dimm_device);

/* The namespace-driver ABI (abi/namespace.rs), for nd_pmem. */
extern char rln_nd_driver_register[], rln_nd_driver_unregister[], rln_namespace_probe[];
extern char rln_namespace_flush[], rln_namespace_flush_fua[], rln_namespace_badblocks[], rln_namespace_clear_poison[];
extern char rln_namespace_read_only[];
EXPORT_SYMBOL_GPL(rln_nd_driver_register);
EXPORT_SYMBOL_GPL(rln_nd_driver_unregister);
EXPORT_SYMBOL_GPL(rln_namespace_probe);
EXPORT_SYMBOL_GPL(rln_namespace_flush);
EXPORT_SYMBOL_GPL(rln_namespace_flush_fua);
EXPORT_SYMBOL_GPL(rln_namespace_badblocks);
EXPORT_SYMBOL_GPL(rln_namespace_clear_poison);
EXPORT_SYMBOL_GPL(rln_namespace_read_only);

/* nd_btt's part of the namespace-driver ABI: byte I/O, the btt's size (the
 * region's lanes come with rln_namespace_probe; nd_btt locks them itself). */
extern char rln_namespace_io_enable[], rln_namespace_io_disable[], rln_namespace_rw_bytes[];
extern char rln_btt_set_size[];
EXPORT_SYMBOL_GPL(rln_namespace_io_enable);
EXPORT_SYMBOL_GPL(rln_namespace_io_disable);
EXPORT_SYMBOL_GPL(rln_namespace_rw_bytes);
EXPORT_SYMBOL_GPL(rln_btt_set_size);
