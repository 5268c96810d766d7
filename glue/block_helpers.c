// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for the block, DAX and pmem-mapping glue (glue/block.rs,
 * glue/dax.rs, glue/pmem_map.rs): macros and inlines made callable. Built
 * into libnvdimm and exported, like helpers.c.
 */
#include "glue.h"

/*
 * The glue addresses a whole multi-page bio_vec through the linear map; that
 * needs every page to have a permanent kernel address.
 */
#ifdef CONFIG_HIGHMEM
#error "rust-libnvdimm's block glue assumes no highmem"
#endif

struct gendisk *rln_blk_alloc_disk(struct queue_limits *lim, int node)
{
	return blk_alloc_disk(lim, node);
}
EXPORT_SYMBOL_GPL(rln_blk_alloc_disk);

struct device *rln_disk_to_dev(struct gendisk *disk)
{
	return disk_to_dev(disk);
}
EXPORT_SYMBOL_GPL(rln_disk_to_dev);

struct gendisk *rln_dev_to_disk(struct device *dev)
{
	return dev_to_disk(dev);
}
EXPORT_SYMBOL_GPL(rln_dev_to_disk);

bool rln_get_disk_ro(struct gendisk *disk)
{
	return get_disk_ro(disk);
}
EXPORT_SYMBOL_GPL(rln_get_disk_ro);

/*
 * bio_integrity_prep(): attaches the disk's integrity payload to a bio
 * (generated for a write, to be filled for a read). False when it failed
 * and ended the bio.
 */
bool rln_bio_integrity_prep(struct bio *bio)
{
	return bio_integrity_prep(bio);
}
EXPORT_SYMBOL_GPL(rln_bio_integrity_prep);

bool rln_bio_has_integrity(struct bio *bio)
{
	return bio_integrity(bio) != NULL;
}
EXPORT_SYMBOL_GPL(rln_bio_has_integrity);

/*
 * The integrity payload's current segment (within one page): its kernel
 * address, and its length in *len; NULL once the payload is used up.
 */
void *rln_bip_segment(struct bio *bio, unsigned int *len)
{
	struct bio_integrity_payload *bip = bio_integrity(bio);
	struct bio_vec bv;

	if (!bip || !bip->bip_iter.bi_size)
		return NULL;
	bv = bvec_iter_bvec(bip->bip_vec, bip->bip_iter);
	*len = bv.bv_len;
	return page_address(bv.bv_page) + bv.bv_offset;
}
EXPORT_SYMBOL_GPL(rln_bip_segment);

/* Moves the payload's iterator past len bytes; false if it had fewer. */
bool rln_bip_advance(struct bio *bio, unsigned int len)
{
	struct bio_integrity_payload *bip = bio_integrity(bio);

	return bip && bvec_iter_advance(bip->bip_vec, &bip->bip_iter, len);
}
EXPORT_SYMBOL_GPL(rln_bip_advance);

void *rln_page_address(struct page *page)
{
	return page_address(page);
}
EXPORT_SYMBOL_GPL(rln_page_address);

const void *rln_zero_page_address(void)
{
	return page_address(ZERO_PAGE(0));
}
EXPORT_SYMBOL_GPL(rln_zero_page_address);

struct kernfs_node *rln_sysfs_get_dirent(struct device *dev, const char *name)
{
	return sysfs_get_dirent(dev->kobj.sd, name);
}
EXPORT_SYMBOL_GPL(rln_sysfs_get_dirent);

void rln_sysfs_notify_dirent(struct kernfs_node *kn)
{
	sysfs_notify_dirent(kn);
}
EXPORT_SYMBOL_GPL(rln_sysfs_notify_dirent);

void rln_sysfs_put(struct kernfs_node *kn)
{
	sysfs_put(kn);
}
EXPORT_SYMBOL_GPL(rln_sysfs_put);

struct resource *rln_request_mem_region(resource_size_t start, resource_size_t n, const char *name)
{
	return request_mem_region(start, n, name);
}
EXPORT_SYMBOL_GPL(rln_request_mem_region);

void rln_release_mem_region(resource_size_t start, resource_size_t n)
{
	release_mem_region(start, n);
}
EXPORT_SYMBOL_GPL(rln_release_mem_region);

bool rln_is_vmalloc_addr(const void *addr)
{
	return is_vmalloc_addr(addr);
}
EXPORT_SYMBOL_GPL(rln_is_vmalloc_addr);

pfn_t rln_vmalloc_to_pfn_t(const void *addr)
{
	return page_to_pfn_t(vmalloc_to_page(addr));
}
EXPORT_SYMBOL_GPL(rln_vmalloc_to_pfn_t);
