/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API the Rust glue binds to (bindgen reads this file), plus the
 * rln_* helpers: C inlines and macros that Rust cannot call directly. The
 * helpers are defined once, in helpers.c, and exported by libnvdimm.
 */
#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sysfs.h>
#include <linux/uuid.h>
#include <uapi/linux/ndctl.h>

/* Device naming, locking and logging. */
const char *rln_dev_name(const struct device *dev);
void rln_device_lock(struct device *dev);
void rln_device_unlock(struct device *dev);
/* @args is a struct fmt::Arguments, printed through %pA. */
void rln_dev_printk(int level, const struct device *dev, const void *args);

/* Identifier spaces of the objects libnvdimm names (ndbusN, nmemN, ...). */
enum rln_ida {
	RLN_IDA_BUS,
	RLN_IDA_DIMM,
	RLN_IDA_REGION,
	RLN_IDA_COUNT,
};
int rln_ida_alloc(enum rln_ida which);
void rln_ida_free(enum rln_ida which, int id);

/* Error pointers. */
bool rln_is_err_or_null(const void *ptr);
long rln_ptr_err(const void *ptr);

/* ACPI: typed _DSM evaluation; the typed variant is an inline. */
union acpi_object *rln_acpi_evaluate_dsm(acpi_handle handle, const guid_t *guid,
					 u64 rev, u64 func, union acpi_object *argv4);
