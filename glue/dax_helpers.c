// SPDX-License-Identifier: GPL-2.0
/*
 * C for device_dax's glue (glue/dax_driver.rs): macros and static inlines
 * of the VMA, the task and devres that Rust cannot call. Built into
 * device_dax itself, which must not depend on libnvdimm (daxctl loads it for
 * dax devices of any origin), so nothing here is exported.
 */
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include "glue.h"

void rln_dax_vm_flags_set_hugepage(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_HUGEPAGE);
}

struct cdev *rln_dax_inode_cdev(struct inode *inode)
{
	return inode->i_cdev;
}

unsigned long rln_dax_get_unmapped_area(struct file *filp, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags)
{
	return mm_get_unmapped_area(current->mm, filp, addr, len, pgoff, flags);
}

void rln_dax_page_set_mapping(unsigned long pfn, struct address_space *mapping,
			      pgoff_t index)
{
	struct page *page = compound_head(pfn_to_page(pfn));

	if (page->mapping)
		return;
	page->mapping = mapping;
	page->index = index;
}

struct resource *rln_dax_devm_request_mem_region(struct device *dev,
						 resource_size_t start,
						 resource_size_t n)
{
	return devm_request_mem_region(dev, start, n, dev_name(dev));
}

struct dev_pagemap *rln_dax_devm_alloc_pgmap(struct device *dev, int nr_range)
{
	struct dev_pagemap *pgmap;

	return devm_kzalloc(dev, struct_size(pgmap, ranges, nr_range - 1),
			    GFP_KERNEL);
}

static void rln_dax_cdev_del(void *cdev)
{
	cdev_del(cdev);
}

int rln_dax_devm_cdev_del(struct device *dev, struct cdev *cdev)
{
	return devm_add_action_or_reset(dev, rln_dax_cdev_del, cdev);
}

static void rln_dax_kill(void *dev_dax)
{
	kill_dev_dax(dev_dax);
}

int rln_dax_devm_kill(struct device *dev, struct dev_dax *dev_dax)
{
	return devm_add_action_or_reset(dev, rln_dax_kill, dev_dax);
}

void rln_dax_dev_printk(int level, const struct device *dev, const void *args)
{
	switch (level) {
	case LOGLEVEL_WARNING:
		dev_warn(dev, "%pA", args);
		break;
	case LOGLEVEL_INFO:
		dev_info(dev, "%pA", args);
		break;
	default:
		dev_err(dev, "%pA", args);
		break;
	}
}

/* check_vma's three dev_info_ratelimited() sites, each with its state. */
static struct ratelimit_state rln_dax_rs[3] = {
	RATELIMIT_STATE_INIT(rln_dax_rs[0], DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST),
	RATELIMIT_STATE_INIT(rln_dax_rs[1], DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST),
	RATELIMIT_STATE_INIT(rln_dax_rs[2], DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST),
};

void rln_dax_info_ratelimited(unsigned int site, const struct device *dev,
			      const void *args)
{
	if (site < ARRAY_SIZE(rln_dax_rs) && __ratelimit(&rln_dax_rs[site]))
		dev_info(dev, "%s: %pA", current->comm, args);
}
