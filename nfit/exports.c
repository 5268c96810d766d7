// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of nfit's ABI for emulated platforms (abi/nfit.rs). The
 * functions are Rust; only C can export them. Also nfit's module
 * parameters, which only C can declare (read through abi/nfit.rs, params).
 */
#include <linux/export.h>
#include <linux/moduleparam.h>

extern char rln_nfit_register[], rln_nfit_unregister[];

EXPORT_SYMBOL_GPL(rln_nfit_register);
EXPORT_SYMBOL_GPL(rln_nfit_unregister);

/*
 * Beyond C: the opt-in SMART poll (Documentation/health.md). Read when a bus
 * registers; fixed after load.
 */
static unsigned int smart_poll_secs;
module_param(smart_poll_secs, uint, 0444);
MODULE_PARM_DESC(smart_poll_secs,
		 "Read each DIMM's SMART every N seconds and raise a health event when it changes (0: off, the default)");

unsigned int rln_nfit_smart_poll_secs(void);
unsigned int rln_nfit_smart_poll_secs(void)
{
	return smart_poll_secs;
}
