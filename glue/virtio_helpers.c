// SPDX-License-Identifier: GPL-2.0
/*
 * C for the virtio glue (glue/virtio.rs): the static inlines and config
 * operations of <linux/virtio_config.h>, scatterlists, and the lock and
 * completion initialisers (macros with a lockdep key per call site). Built
 * into virtio_pmem, the only module that drives a virtio device, so nothing
 * here is exported.
 */
#include <linux/device.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include "glue.h"

struct virtqueue *rln_virtio_find_single_vq(struct virtio_device *vdev,
					    vq_callback_t *cb, const char *name)
{
	return virtio_find_single_vq(vdev, cb, name);
}

void rln_virtio_del_vqs(struct virtio_device *vdev)
{
	vdev->config->del_vqs(vdev);
}

void rln_virtio_device_ready(struct virtio_device *vdev)
{
	virtio_device_ready(vdev);
}

bool rln_virtio_has_config_get(struct virtio_device *vdev)
{
	return vdev->config->get != NULL;
}

u8 rln_virtio_get_status(struct virtio_device *vdev)
{
	return vdev->config->get_status(vdev);
}

bool rln_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

void rln_virtio_clear_feature(struct virtio_device *vdev, unsigned int fbit)
{
	__virtio_clear_bit(vdev, fbit);
}

bool rln_virtio_get_shm_region(struct virtio_device *vdev, u8 id, u64 *addr, u64 *len)
{
	struct virtio_shm_region shm;

	if (!virtio_get_shm_region(vdev, &shm, id))
		return false;
	*addr = shm.addr;
	*len = shm.len;
	return true;
}

u64 rln_virtio_cread_le64(struct virtio_device *vdev, unsigned int offset)
{
	__le64 v;

	/* virtio_cread_le() of an 8-byte field: generation-checked. */
	might_sleep();
	__virtio_cread_many(vdev, offset, &v, 1, sizeof(v));
	return le64_to_cpu(v);
}

int rln_virtqueue_add_bufs(struct virtqueue *vq, void *const *bufs,
			   const unsigned int *lens, unsigned int out,
			   unsigned int in, void *data, gfp_t gfp)
{
	struct scatterlist sg[4], *sgs[4];
	unsigned int i;

	if (out + in > ARRAY_SIZE(sg))
		return -EINVAL;
	for (i = 0; i < out + in; i++) {
		sg_init_one(&sg[i], bufs[i], lens[i]);
		sgs[i] = &sg[i];
	}
	return virtqueue_add_sgs(vq, sgs, out, in, data, gfp);
}

void *rln_virtqueue_vdev_priv(struct virtqueue *vq)
{
	return vq->vdev->priv;
}

void rln_virtio_spin_lock_init(spinlock_t *lock)
{
	spin_lock_init(lock);
}

unsigned long rln_virtio_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rln_virtio_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

void rln_virtio_init_completion(struct completion *c)
{
	init_completion(c);
}

void rln_virtio_reinit_completion(struct completion *c)
{
	reinit_completion(c);
}

static struct ratelimit_state rln_virtio_rs[2] = {
	RATELIMIT_STATE_INIT(rln_virtio_rs[0], DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST),
	RATELIMIT_STATE_INIT(rln_virtio_rs[1], DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST),
};

void rln_virtio_info_ratelimited(unsigned int site, const struct device *dev,
				 const void *args)
{
	if (site < ARRAY_SIZE(rln_virtio_rs) && __ratelimit(&rln_virtio_rs[site]))
		dev_info(dev, "%pA", args);
}
