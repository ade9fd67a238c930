/* SPDX-License-Identifier: MIT */
/*
 * queue.c - queue setup on a transport and the bounded wait, shared by the
 * device drivers (see virtq/drivers/queue.h).  Freestanding.
 */
#include "drv_internal.h"

static size_t ring_align(const struct virtq_transport *t)
{
	return t->legacy_align ? t->legacy_align : VIRTQ_DESC_ALIGN;
}

size_t virtq_queue_ring_size(uint32_t num, const struct virtq_transport *t)
{
	if (!virtq_size_valid(num))
		return 0;
	return virtq_legacy_size(num, ring_align(t));
}

int virtq_queue_setup(struct virtq_transport *t, uint16_t index,
		      const struct virtq_queue_mem *m, const struct virtq_dma *dma,
		      uint32_t min_num, struct virtq_driver **vq)
{
	struct virtq_driver_config cfg;
	struct virtq_driver *q;
	uint32_t num;
	int r;

	drv_zero(&cfg, sizeof(cfg));	/* = { 0 } would be a memset call */
	if (!m->num || !m->ring || !m->state)
		return -EINVAL;
	r = virtq_transport_queue_size(t, index, m->num, &num);
	if (r)
		return r;
	if (num < min_num)
		return -ENOSPC;
	if (m->ring_len < virtq_queue_ring_size(num, t) ||
	    m->state_len < virtq_driver_mem_size(num))
		return -EINVAL;

	cfg.num = num;
	virtq_transport_queue_config(t, index, &cfg);
	r = virtq_driver_config_legacy(&cfg, m->ring, ring_align(t));
	if (r)
		return r;
	if (m->indirect && m->indirect_max >= 2 &&
	    (t->features & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC))) {
		if (m->indirect_len < virtq_driver_indirect_size(num, m->indirect_max))
			return -EINVAL;
		cfg.indirect = m->indirect;
		cfg.indirect_max = m->indirect_max;
	}
	if (dma) {
		cfg.translate = dma->translate;
		cfg.cache_clean = dma->cache_clean;
		cfg.cache_invalidate = dma->cache_invalidate;
		cfg.opaque = dma->opaque;
	}
	q = m->state;
	r = virtq_driver_init(q, m->state_len, &cfg);
	if (r)
		return r;
	r = virtq_transport_queue_enable(t, q);
	if (r)
		return r;
	*vq = q;
	return 0;
}

int virtq_queue_wait_used(struct virtq_transport *t, struct virtq_driver *vq,
			  const struct virtq_wait *w, void **token, uint32_t *len)
{
	uint32_t max = w && w->poll_max ? w->poll_max : VIRTQ_WAIT_POLL_DEFAULT;
	uint32_t n;
	int r;

	for (n = 0; n < max; n++) {
		r = virtq_driver_get_used(vq, token, len);
		if (r)
			return r < 0 ? -EIO : 1;
		if (w && w->wait) {
			/* Arm, recheck (F2 in enable_cb), then sleep. */
			if (virtq_driver_enable_cb(vq))
				w->wait(w->opaque);
			virtq_transport_interrupt_ack(t);
		}
		if ((n & 0xfff) == 0xfff && virtq_transport_needs_reset(t))
			return -EIO;
	}
	return -ETIMEDOUT;
}
