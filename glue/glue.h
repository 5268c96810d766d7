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

/* ACPI: typed _DSM evaluation; the typed variant is an inline. */
union acpi_object *rln_acpi_evaluate_dsm(acpi_handle handle, const guid_t *guid,
					 u64 rev, u64 func, union acpi_object *argv4);

/* ---- Block, DAX and pmem mapping glue (nd_pmem and later nd_btt/dax_pmem);
 * helpers in block_helpers.c. ---- */
#include <linux/badblocks.h>
#include <linux/bio.h>
#include <linux/bio-integrity.h>
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/hdreg.h>
#include <linux/kernfs.h>
#include <linux/libnvdimm.h>
#include <linux/memremap.h>
/* Exported by the dax core but declared in drivers/dax/dax-private.h, which
 * is not under include/: the inode that counts a dax_device's references
 * (pmem_map.rs holds one for the pagemap's memory failures). */
struct inode *dax_inode(struct dax_device *dax_dev);
#include <linux/nd.h>
#include <linux/pfn_t.h>
#include <linux/uio.h>

/* How pmem is mapped into the kernel on this architecture. */
enum { RLN_ARCH_MEMREMAP_PMEM = ARCH_MEMREMAP_PMEM };
/* dev_pagemap.flags: the altmap is set (struct pages on the device). */
enum { RLN_PGMAP_ALTMAP_VALID = PGMAP_ALTMAP_VALID };

/* Flags defined through casts, which bindgen cannot evaluate. */
enum {
	RLN_BLK_FEAT_WRITE_CACHE = BLK_FEAT_WRITE_CACHE,
	RLN_BLK_FEAT_FUA = BLK_FEAT_FUA,
	RLN_BLK_FEAT_SYNCHRONOUS = BLK_FEAT_SYNCHRONOUS,
	RLN_BLK_FEAT_DAX = BLK_FEAT_DAX,
	RLN_BLK_FEAT_IO_STAT = BLK_FEAT_IO_STAT,
	RLN_REQ_OP_MASK = REQ_OP_MASK,
	RLN_REQ_FUA = REQ_FUA,
	RLN_REQ_PREFLUSH = REQ_PREFLUSH,
};

/* Disks. blk_alloc_disk() is a macro with a lockdep key per call site. */
struct gendisk *rln_blk_alloc_disk(struct queue_limits *lim, int node);
struct device *rln_disk_to_dev(struct gendisk *disk);
struct gendisk *rln_dev_to_disk(struct device *dev);
bool rln_get_disk_ro(struct gendisk *disk);
/* Bio integrity payloads (CONFIG_BLK_DEV_INTEGRITY; without it a bio has
 * none and prep lets every bio through). */
bool rln_bio_integrity_prep(struct bio *bio);
bool rln_bio_has_integrity(struct bio *bio);
void *rln_bip_segment(struct bio *bio, unsigned int *len);
bool rln_bip_advance(struct bio *bio, unsigned int len);
/* Kernel address of a lowmem page (no highmem on the architectures we build
 * for). glue/block.rs computes it inline where the memory model allows
 * (x86-64's vmemmap and linear map, both at boot-chosen bases), the size of
 * a struct page being the one thing it needs from C besides the bases. */
void *rln_page_address(struct page *page);
enum { RLN_STRUCT_PAGE_SIZE = sizeof(struct page) };
const void *rln_zero_page_address(void);
struct kernfs_node *rln_sysfs_get_dirent(struct device *dev, const char *name);
void rln_sysfs_notify_dirent(struct kernfs_node *kn);
void rln_sysfs_put(struct kernfs_node *kn);

/* Physical memory. */
struct resource *rln_request_mem_region(resource_size_t start, resource_size_t n, const char *name);
void rln_release_mem_region(resource_size_t start, resource_size_t n);
bool rln_is_vmalloc_addr(const void *addr);
pfn_t rln_vmalloc_to_pfn_t(const void *addr);

/* NUMA nodes of physical ranges and ACPI proximity domains. */
int rln_pxm_to_node(int pxm);
int rln_pxm_to_online_node(int pxm);
int rln_map_to_online_node(int node);
int rln_memory_add_physaddr_to_nid(u64 start);
int rln_phys_to_target_node(u64 start);

/* ---- Delayed work (nfit's scrub); helpers in helpers.c. ---- */
#include <linux/workqueue.h>
void rln_init_delayed_work(struct delayed_work *dwork, work_func_t fn);
bool rln_queue_delayed_work(struct delayed_work *dwork, unsigned long delay_ms);
bool rln_cancel_delayed_work_sync(struct delayed_work *dwork);
/* Ordered workqueues and one-shot work items (virtio_pmem's FUA flushes). */
struct workqueue_struct *rln_alloc_ordered_workqueue(const char *name, bool mem_reclaim);
void rln_init_work(struct work_struct *work, work_func_t fn);
bool rln_queue_work(struct workqueue_struct *wq, struct work_struct *work);
/* memalloc_noio_save/restore: GFP_KERNEL allocations between them are GFP_NOIO. */
unsigned int rln_memalloc_noio_save(void);
void rln_memalloc_noio_restore(unsigned int flags);
/* sysfs_notify() of attribute @attr in group @dir of @dev. */
void rln_sysfs_notify(struct device *dev, const char *dir, const char *attr);

/* device_unregister() from a work item of one async domain (ND_ASYNC), for
 * a device that unregisters itself from one of its own attributes. */
void rln_device_unregister_async(struct device *dev);
/* Waits for every queued rln_device_unregister_async(). */
void rln_device_unregister_sync(void);
/* Adds an initialized device from a work item (C's nd_device_register),
 * taking its own reference; rln_device_add_sync() waits for the queued ones. */
void rln_device_add_async(struct device *dev);
void rln_device_add_sync(void);

/* Mutexes locked and unlocked in separate calls (region lanes), all of
 * one lock class (mutex_init's static key is this function's). glue/lock.rs
 * calls mutex_lock (mutex_lock_nested under lockdep) and mutex_unlock. */
void rln_lane_mutex_init(struct mutex *lock);
void rln_mutex_destroy(struct mutex *lock);
unsigned int rln_raw_smp_processor_id(void);
unsigned int rln_nr_cpu_ids(void);

/* ---- The kernel's dax bus, for dax_pmem's static dax regions
 * (glue/dax_region.rs). bus.h is not under include/: it comes from the
 * kernel tree (drivers/dax/), reached from its include/ directory. ---- */
#include <../drivers/dax/bus.h>
enum { RLN_IORESOURCE_DAX_STATIC = IORESOURCE_DAX_STATIC };
/* ---- device_dax: the kernel's dax bus (drivers/dax, not under include/),
 * the dev_dax's char device and its mappings: glue/dax_driver.rs. Helpers in
 * glue/dax_helpers.c, built into device_dax itself (it must not depend on
 * libnvdimm). ---- */
#include <linux/cdev.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <../drivers/dax/bus.h>
#include <../drivers/dax/dax-private.h>
/* Inlines of the VMA and the task; the char device in a dax inode. */
void rln_dax_vm_flags_set_hugepage(struct vm_area_struct *vma);
struct cdev *rln_dax_inode_cdev(struct inode *inode);
unsigned long rln_dax_get_unmapped_area(struct file *filp, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags);
/* dax_set_mapping's step for one pfn: the head page's mapping and index,
 * unless already set. The fault path does it inline where it knows the
 * memory model (x86-64 SPARSEMEM_VMEMMAP); this is for the others. */
void rln_dax_page_set_mapping(unsigned long pfn, struct address_space *mapping,
			      pgoff_t index);
/* devm resources of a dev_dax's probe, released in reverse order after
 * remove: its ranges in iomem, a dynamic dev_dax's page map, the cdev_del of
 * its char device and its kill_dev_dax. */
struct resource *rln_dax_devm_request_mem_region(struct device *dev,
						 resource_size_t start,
						 resource_size_t n);
struct dev_pagemap *rln_dax_devm_alloc_pgmap(struct device *dev, int nr_range);
int rln_dax_devm_cdev_del(struct device *dev, struct cdev *cdev);
int rln_dax_devm_kill(struct device *dev, struct dev_dax *dev_dax);
/* Logging: @args is a struct fmt::Arguments, printed through %pA. The
 * ratelimited one prefixes current->comm, each @site with its own state. */
void rln_dax_dev_printk(int level, const struct device *dev, const void *args);
void rln_dax_info_ratelimited(unsigned int site, const struct device *dev,
			      const void *args);
enum {
	RLN_DAX_PFN_DEV = PFN_DEV,
	RLN_DAX_PFN_MAP = PFN_MAP,
	RLN_DAX_PUD_SUPPORTED = IS_ENABLED(CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD),
	RLN_DAX_FOP_MMAP_SYNC = (__force unsigned int)FOP_MMAP_SYNC,
	RLN_DAX_VM_HUGEPAGE = VM_HUGEPAGE,
};


/* ---- CPU caches, panic and reboot notifiers, RCU-published snapshots
 * (libnvdimm's cache write-back knob and panic-time flush):
 * glue/cpu_cache.rs, glue/shutdown.rs. ---- */
#include <linux/notifier.h>
#include <linux/panic_notifier.h>
#include <linux/reboot.h>
#include <linux/rcupdate.h>
#include <linux/smp.h>
/* WBINVD on this CPU; whether the CPU has CLWB. */
void rln_wbinvd(void);
bool rln_cpu_has_clwb(void);
/* WBINVD on every online CPU (on_each_cpu, waiting); how many ran it. */
unsigned int rln_wbinvd_each_cpu(void);
void rln_cond_resched(void);
void rln_rcu_read_lock(void);
void rln_rcu_read_unlock(void);
/* The one writer lock of RCU-published snapshots (a static mutex). */
void rln_publish_lock(void);
void rln_publish_unlock(void);
/* libnvdimm's module parameters (core/params.c; libnvdimm only). */
bool rln_param_panic_flush(void);
bool rln_param_cache_writeback(void);
/* ---- virtio: a driver, its device, one virtqueue (glue/virtio.rs, used by
 * virtio_pmem only). Helpers in glue/virtio_helpers.c, built into
 * virtio_pmem itself, nothing exported. ---- */
#include <linux/completion.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/memory_hotplug.h>
#include <linux/numa.h>
struct virtqueue *rln_virtio_find_single_vq(struct virtio_device *vdev,
					    vq_callback_t *cb, const char *name);
void rln_virtio_del_vqs(struct virtio_device *vdev);
void rln_virtio_device_ready(struct virtio_device *vdev);
bool rln_virtio_has_config_get(struct virtio_device *vdev);
u8 rln_virtio_get_status(struct virtio_device *vdev);
bool rln_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit);
void rln_virtio_clear_feature(struct virtio_device *vdev, unsigned int fbit);
bool rln_virtio_get_shm_region(struct virtio_device *vdev, u8 id, u64 *addr, u64 *len);
u64 rln_virtio_cread_le64(struct virtio_device *vdev, unsigned int offset);
/* virtqueue_add_sgs over @out + @in single-buffer scatterlists (sg_init_one
 * each): @bufs[i] holds @lens[i] bytes of linearly mapped memory. */
int rln_virtqueue_add_bufs(struct virtqueue *vq, void *const *bufs,
			   const unsigned int *lens, unsigned int out,
			   unsigned int in, void *data, gfp_t gfp);
void *rln_virtqueue_vdev_priv(struct virtqueue *vq);
/* A spinlock taken in the virtqueue's interrupt, so with interrupts off. */
void rln_virtio_spin_lock_init(spinlock_t *lock);
unsigned long rln_virtio_spin_lock_irqsave(spinlock_t *lock);
void rln_virtio_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
void rln_virtio_init_completion(struct completion *c);
void rln_virtio_reinit_completion(struct completion *c);
/* dev_info_ratelimited, one ratelimit state per @site (virtio.rs). */
void rln_virtio_info_ratelimited(unsigned int site, const struct device *dev,
				 const void *args);
enum {
	RLN_VIRTIO_DEV_ANY_ID = VIRTIO_DEV_ANY_ID,
	RLN_VIRTIO_CONFIG_S_NEEDS_RESET = VIRTIO_CONFIG_S_NEEDS_RESET,
	RLN_GFP_ATOMIC = (__force unsigned int)GFP_ATOMIC,
};

/* ---- Quiesced execution (libnvdimm's "quiesce" firmware activation):
 * glue/power.rs. hibernate_quiet_exec() is a function only with
 * CONFIG_HIBERNATION; without, suspend.h's inline stub is all there is,
 * and power.rs answers as it does. ---- */
#include <linux/suspend.h>
