/* SPDX-License-Identifier: MIT */
/*
 * rng.c - virtio-rng driver (see virtq/drivers/rng.h).  Freestanding.
 *
 * A request is one device-writable descriptor; the length is what the
 * DMA mapping has contiguous, so a request never needs more than one
 * descriptor.  The used length is checked by the ring (at most the
 * buffer) before anything here sees it.
 */
#include "virtq/drivers/rng.h"
#include "drv_internal.h"

/* Token of the synchronous request (never a caller's pointer). */
static char rng_sync_token;

int virtq_rng_init(struct virtq_rng *rng, struct virtq_transport *t,
		   const struct virtq_rng_config *cfg)
{
	int r;

	if (!rng || !t || !cfg)
		return -EINVAL;
	drv_zero(rng, sizeof(*rng));
	if (t->device_id != VIRTQ_ID_RNG)
		return -ENODEV;
	rng->t = t;
	drv_dma_copy(&rng->dma, &cfg->dma);
	drv_wait_copy(&rng->wait, &cfg->wait);
	r = virtq_transport_negotiate(t, cfg->ring_features & ~VIRTQ_DEVICE_FEATURES_MASK,
				      NULL);
	if (r)
		return r;
	r = virtq_queue_setup(t, 0, &cfg->queue, &rng->dma, 1, &rng->vq);
	if (!r)
		r = virtq_transport_driver_ok(t);
	if (r) {
		virtq_transport_fail(t);
		rng->vq = NULL;
	}
	return r;
}

/* How much of @buf is contiguous in device space (at most @len). */
static int rng_piece(struct virtq_rng *rng, void *buf, uint32_t len, uint32_t *piece)
{
	size_t m = 0;

	*piece = len;
	if (!rng->dma.translate)
		return 0;
	if (rng->dma.translate(rng->dma.opaque, buf, len, &m) == VIRTQ_ADDR_INVALID ||
	    m == 0 || m > len)
		return -EFAULT;
	*piece = (uint32_t)m;
	return 0;
}

static int rng_add(struct virtq_rng *rng, void *buf, uint32_t len, void *token)
{
	struct virtq_sg sg;
	uint32_t piece;
	int r;

	if (!rng->vq || rng->failed)
		return -EIO;
	if (!len || !token)
		return -EINVAL;
	r = rng_piece(rng, buf, len, &piece);
	if (r)
		return r;
	sg.addr = buf;
	sg.len = piece;
	r = virtq_driver_add(rng->vq, NULL, 0, &sg, 1, token);
	if (r)
		return r;
	(void)virtq_driver_kick(rng->vq);
	return 0;
}

int virtq_rng_read(struct virtq_rng *rng, void *buf, uint32_t len)
{
	void *tok = NULL;
	uint32_t got = 0;
	int r;

	if (rng->outstanding)
		return -EBUSY;
	r = rng_add(rng, buf, len, &rng_sync_token);
	if (r)
		return r;
	r = virtq_queue_wait_used(rng->t, rng->vq, &rng->wait, &tok, &got);
	if (r < 0 || tok != &rng_sync_token) {
		rng->failed = true;
		return r < 0 ? r : -EIO;
	}
	drv_invalidate(&rng->dma, buf, got);
	return (int)got;
}

int virtq_rng_fill(struct virtq_rng *rng, void *buf, size_t len)
{
	char *p = buf;
	uint32_t empty = 0;
	int r;

	while (len) {
		uint32_t n = len > 0x10000 ? 0x10000 : (uint32_t)len;

		r = virtq_rng_read(rng, p, n);
		if (r < 0)
			return r;
		if (!r) {
			if (++empty >= VIRTQ_RNG_EMPTY_MAX)
				return -ENODATA;
			continue;
		}
		empty = 0;
		p += r;
		len -= (uint32_t)r;
	}
	return 0;
}

int virtq_rng_submit(struct virtq_rng *rng, void *buf, uint32_t len, void *token)
{
	int r;

	if (token == &rng_sync_token)
		return -EINVAL;
	r = rng_add(rng, buf, len, token);
	if (!r)
		rng->outstanding++;
	return r;
}

int virtq_rng_poll(struct virtq_rng *rng, void **token, uint32_t *len)
{
	void *tok = NULL;
	uint32_t got = 0;
	int r;

	if (!rng->vq || rng->failed)
		return -EIO;
	r = virtq_driver_get_used(rng->vq, &tok, &got);
	if (r <= 0)
		return r < 0 ? -EIO : 0;
	if (tok == &rng_sync_token || !rng->outstanding) {
		rng->failed = true;
		return -EIO;
	}
	rng->outstanding--;
	*token = tok;
	*len = got;
	return 1;
}

int virtq_rng_interrupt(struct virtq_rng *rng,
			void (*done)(void *opaque, void *token, uint32_t len),
			void *opaque)
{
	void *tok;
	uint32_t len;
	int n = 0, r;

	if (!done)
		return -EINVAL;
	if (!rng->vq || rng->failed)
		return -EIO;
	virtq_transport_interrupt_ack(rng->t);
	do {
		virtq_driver_disable_cb(rng->vq);
		while ((r = virtq_rng_poll(rng, &tok, &len)) > 0) {
			done(opaque, tok, len);
			n++;
		}
		if (r < 0)
			return r;
	} while (!virtq_driver_enable_cb(rng->vq));
	return n;
}
