// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the Rust glue: inlines and macros made callable. Built into
 * libnvdimm and exported, so every module of the stack shares one copy.
 */
#include <linux/async.h>
#include <linux/sched/mm.h>
#include <asm/cpufeature.h>
#include <asm/special_insns.h>
#include "glue.h"

const char *rln_dev_name(const struct device *dev)
{
	return dev_name(dev);
}
EXPORT_SYMBOL_GPL(rln_dev_name);

void rln_device_lock(struct device *dev)
{
	device_lock(dev);
}
EXPORT_SYMBOL_GPL(rln_device_lock);

void rln_device_unlock(struct device *dev)
{
	device_unlock(dev);
}
EXPORT_SYMBOL_GPL(rln_device_unlock);

void rln_dev_printk(int level, const struct device *dev, const void *args)
{
	switch (level) {
	case LOGLEVEL_ERR:
		dev_err(dev, "%pA", args);
		break;
	case LOGLEVEL_WARNING:
		dev_warn(dev, "%pA", args);
		break;
	case LOGLEVEL_INFO:
		dev_info(dev, "%pA", args);
		break;
	default:
		/* One dynamic-debug site for the whole stack: dyndbg="file helpers.c +p". */
		dev_dbg(dev, "%pA", args);
		break;
	}
}
EXPORT_SYMBOL_GPL(rln_dev_printk);

static struct ida rln_idas[RLN_IDA_COUNT] = {
	[RLN_IDA_BUS] = IDA_INIT(rln_idas[RLN_IDA_BUS]),
	[RLN_IDA_DIMM] = IDA_INIT(rln_idas[RLN_IDA_DIMM]),
	[RLN_IDA_REGION] = IDA_INIT(rln_idas[RLN_IDA_REGION]),
};

int rln_ida_alloc(enum rln_ida which)
{
	return ida_alloc(&rln_idas[which], GFP_KERNEL);
}
EXPORT_SYMBOL_GPL(rln_ida_alloc);

void rln_ida_free(enum rln_ida which, int id)
{
	ida_free(&rln_idas[which], id);
}
EXPORT_SYMBOL_GPL(rln_ida_free);

union acpi_object *rln_acpi_evaluate_dsm(acpi_handle handle, const guid_t *guid,
					 u64 rev, u64 func, union acpi_object *argv4)
{
	return acpi_evaluate_dsm(handle, guid, rev, func, argv4);
}
EXPORT_SYMBOL_GPL(rln_acpi_evaluate_dsm);

void rln_init_delayed_work(struct delayed_work *dwork, work_func_t fn)
{
	INIT_DELAYED_WORK(dwork, fn);
}
EXPORT_SYMBOL_GPL(rln_init_delayed_work);

/* Long-running work (a scrub waits on firmware) goes to system_long_wq. */
bool rln_queue_delayed_work(struct delayed_work *dwork, unsigned long delay_ms)
{
	return queue_delayed_work(system_long_wq, dwork, msecs_to_jiffies(delay_ms));
}
EXPORT_SYMBOL_GPL(rln_queue_delayed_work);

bool rln_cancel_delayed_work_sync(struct delayed_work *dwork)
{
	return cancel_delayed_work_sync(dwork);
}
EXPORT_SYMBOL_GPL(rln_cancel_delayed_work_sync);

struct workqueue_struct *rln_alloc_ordered_workqueue(const char *name, bool mem_reclaim)
{
	return alloc_ordered_workqueue("%s", mem_reclaim ? WQ_MEM_RECLAIM : 0, name);
}
EXPORT_SYMBOL_GPL(rln_alloc_ordered_workqueue);

void rln_init_work(struct work_struct *work, work_func_t fn)
{
	INIT_WORK(work, fn);
}
EXPORT_SYMBOL_GPL(rln_init_work);

bool rln_queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	return queue_work(wq, work);
}
EXPORT_SYMBOL_GPL(rln_queue_work);

unsigned int rln_memalloc_noio_save(void)
{
	return memalloc_noio_save();
}
EXPORT_SYMBOL_GPL(rln_memalloc_noio_save);

void rln_memalloc_noio_restore(unsigned int flags)
{
	memalloc_noio_restore(flags);
}
EXPORT_SYMBOL_GPL(rln_memalloc_noio_restore);

static ASYNC_DOMAIN_EXCLUSIVE(rln_unregister_domain);
static ASYNC_DOMAIN_EXCLUSIVE(rln_register_domain);

static void rln_unregister_fn(void *data, async_cookie_t cookie)
{
	struct device *dev = data;

	/*
	 * The device may have been added from a work item: let that run first.
	 * A deferred add (rln_device_add_async) that failed left it unadded.
	 */
	async_synchronize_full_domain(&rln_register_domain);
	if (device_is_registered(dev))
		device_unregister(dev);
	else
		put_device(dev);
}

void rln_device_unregister_async(struct device *dev)
{
	async_schedule_domain(rln_unregister_fn, dev, &rln_unregister_domain);
}
EXPORT_SYMBOL_GPL(rln_device_unregister_async);

void rln_device_unregister_sync(void)
{
	async_synchronize_full_domain(&rln_unregister_domain);
}
EXPORT_SYMBOL_GPL(rln_device_unregister_sync);


static void rln_add_fn(void *data, async_cookie_t cookie)
{
	struct device *dev = data;

	if (device_add(dev) != 0) {
		dev_err(dev, "%s: failed\n", __func__);
		put_device(dev);
	}
	put_device(dev);
}

void rln_device_add_async(struct device *dev)
{
	get_device(dev);
	async_schedule_domain(rln_add_fn, dev, &rln_register_domain);
}
EXPORT_SYMBOL_GPL(rln_device_add_async);

void rln_device_add_sync(void)
{
	async_synchronize_full_domain(&rln_register_domain);
}
EXPORT_SYMBOL_GPL(rln_device_add_sync);

void rln_lane_mutex_init(struct mutex *lock)
{
	mutex_init(lock);
}
EXPORT_SYMBOL_GPL(rln_lane_mutex_init);

void rln_mutex_destroy(struct mutex *lock)
{
	mutex_destroy(lock);
}
EXPORT_SYMBOL_GPL(rln_mutex_destroy);

unsigned int rln_raw_smp_processor_id(void)
{
	return raw_smp_processor_id();
}
EXPORT_SYMBOL_GPL(rln_raw_smp_processor_id);

unsigned int rln_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}
EXPORT_SYMBOL_GPL(rln_nr_cpu_ids);

void rln_sysfs_notify(struct device *dev, const char *dir, const char *attr)
{
	sysfs_notify(&dev->kobj, dir, attr);
}
EXPORT_SYMBOL_GPL(rln_sysfs_notify);

/*
 * NUMA lookups as drivers/acpi/nfit and drivers/nvdimm make them; inlines
 * (or stubs without CONFIG_NUMA / CONFIG_ACPI_NUMA), so wrapped here.
 */
int rln_pxm_to_node(int pxm)
{
	return pxm_to_node(pxm);
}
EXPORT_SYMBOL_GPL(rln_pxm_to_node);

int rln_pxm_to_online_node(int pxm)
{
	return pxm_to_online_node(pxm);
}
EXPORT_SYMBOL_GPL(rln_pxm_to_online_node);

int rln_map_to_online_node(int node)
{
	return numa_map_to_online_node(node);
}
EXPORT_SYMBOL_GPL(rln_map_to_online_node);

int rln_memory_add_physaddr_to_nid(u64 start)
{
	return memory_add_physaddr_to_nid(start);
}
EXPORT_SYMBOL_GPL(rln_memory_add_physaddr_to_nid);

int rln_phys_to_target_node(u64 start)
{
	return phys_to_target_node(start);
}
EXPORT_SYMBOL_GPL(rln_phys_to_target_node);

void rln_wbinvd(void)
{
	wbinvd();
}
EXPORT_SYMBOL_GPL(rln_wbinvd);

bool rln_cpu_has_clwb(void)
{
	return static_cpu_has(X86_FEATURE_CLWB);
}
EXPORT_SYMBOL_GPL(rln_cpu_has_clwb);

static void rln_wbinvd_one(void *count)
{
	wbinvd();
	atomic_inc(count);
}

unsigned int rln_wbinvd_each_cpu(void)
{
	atomic_t count = ATOMIC_INIT(0);

	on_each_cpu(rln_wbinvd_one, &count, 1);
	return atomic_read(&count);
}
EXPORT_SYMBOL_GPL(rln_wbinvd_each_cpu);

void rln_cond_resched(void)
{
	cond_resched();
}
EXPORT_SYMBOL_GPL(rln_cond_resched);

void rln_rcu_read_lock(void)
{
	rcu_read_lock();
}
EXPORT_SYMBOL_GPL(rln_rcu_read_lock);

void rln_rcu_read_unlock(void)
{
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(rln_rcu_read_unlock);

static DEFINE_MUTEX(rln_publish_mutex);

void rln_publish_lock(void)
{
	mutex_lock(&rln_publish_mutex);
}
EXPORT_SYMBOL_GPL(rln_publish_lock);

void rln_publish_unlock(void)
{
	mutex_unlock(&rln_publish_mutex);
}
EXPORT_SYMBOL_GPL(rln_publish_unlock);
