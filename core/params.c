// SPDX-License-Identifier: GPL-2.0
/*
 * libnvdimm's module parameters (only C can declare them), read by
 * glue/params.rs. Both are beyond C's libnvdimm and off by default, so that
 * by default the stack behaves, and its sysfs reads, as C's
 * (Documentation/flush.md).
 */
#include <linux/moduleparam.h>
#include "../glue/glue.h"

static bool panic_flush;
module_param(panic_flush, bool, 0444);
MODULE_PARM_DESC(panic_flush,
	"On panic and reboot, write back the CPU caches and every DIMM's flush hint, one log line per enabled region (default: off)");

static bool cache_writeback;
module_param(cache_writeback, bool, 0444);
MODULE_PARM_DESC(cache_writeback,
	"Give each region a write-only, root-only attribute cache_writeback that writes back every CPU's caches (default: off)");

bool rln_param_panic_flush(void)
{
	return READ_ONCE(panic_flush);
}

bool rln_param_cache_writeback(void)
{
	return READ_ONCE(cache_writeback);
}
