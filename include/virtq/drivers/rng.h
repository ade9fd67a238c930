/* SPDX-License-Identifier: MIT */
/*
 * drivers/rng.h - a virtio-rng (entropy) driver on a transport
 * (VIRTIO 1.x 5.4).  Freestanding; owns no memory (drivers/queue.h).
 *
 *	static struct virtq_rng rng;
 *	static VIRTQ_QUEUE_STORAGE(8) rq;
 *	struct virtq_rng_config c = { .queue = VIRTQ_QUEUE_MEM(rq, 8) };
 *	r = virtq_rng_init(&rng, transport, &c);
 *	r = virtq_rng_fill(&rng, seed, sizeof(seed));	// seed: device-reachable
 *
 * The buffers are written by the device: they must be memory it can reach
 * (under the DMA translate hook).  One struct virtq_rng is used by one
 * thread at a time.  Errors are -errno.
 */
#ifndef VIRTQ_DRIVERS_RNG_H
#define VIRTQ_DRIVERS_RNG_H

#include <virtq/drivers/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Zero-byte answers virtq_rng_fill tolerates in a row before -ENODATA. */
#define VIRTQ_RNG_EMPTY_MAX	64u

struct virtq_rng_config {
	struct virtq_queue_mem queue;	/* requestq 0 */
	uint64_t ring_features;		/* EVENT_IDX, ... as the caller allows */
	struct virtq_dma dma;
	struct virtq_wait wait;
};

/* The driver's state (fields private). */
struct virtq_rng {
	struct virtq_transport *t;
	struct virtq_driver *vq;
	struct virtq_dma dma;
	struct virtq_wait wait;
	uint32_t outstanding;	/* asynchronous requests in flight */
	bool failed;
};

/*
 * Bring up the entropy device behind @t: negotiate, set up queue 0,
 * DRIVER_OK.  Returns 0, or -EINVAL (NULL argument), -ENODEV (not an rng
 * device, or modern without VERSION_1), -ETIMEDOUT (reset), -ENOTSUP
 * (FEATURES_OK refused), the errors of virtq_queue_setup (-ENOENT,
 * -EBUSY, -EINVAL, -EFAULT, -ERANGE), -EIO (NEEDS_RESET or FAILED at
 * DRIVER_OK).  On failure after the reset, FAILED is set.
 */
int virtq_rng_init(struct virtq_rng *rng, struct virtq_transport *t,
		   const struct virtq_rng_config *cfg);

/*
 * One request: the device writes up to @len bytes into @buf (only as
 * much as is contiguous for the DMA mapping is asked for).  Waits as
 * cfg->wait says.  Returns the byte count (0..len), or -EINVAL (len 0),
 * -EFAULT (buffer unreachable), -EBUSY (asynchronous requests
 * outstanding), -ETIMEDOUT (no answer in time: the request may still
 * run; later calls are -EIO), -EIO (queue broken: e.g. a used length
 * above @len).
 */
int virtq_rng_read(struct virtq_rng *rng, void *buf, uint32_t len);

/*
 * Fill all @len bytes of @buf, one request after another.  Returns 0, or
 * the errors of virtq_rng_read (-EFAULT, -EBUSY, -ETIMEDOUT, -EIO; never
 * EINVAL: no request is empty), or -ENODATA (VIRTQ_RNG_EMPTY_MAX
 * answers in a row gave nothing).
 */
int virtq_rng_fill(struct virtq_rng *rng, void *buf, size_t len);

/*
 * Asynchronous use: submit @buf for entropy with @token (not NULL), then
 * take completions with virtq_rng_poll or virtq_rng_interrupt.
 * submit returns 0, -EINVAL (len 0, token NULL), -EFAULT, -ENOSPC (queue
 * full), -EIO.
 */
int virtq_rng_submit(struct virtq_rng *rng, void *buf, uint32_t len, void *token);
/*
 * poll returns 1 with the token and the byte count (checked: at most what
 * was asked), 0 if none, -EIO if the queue is broken.
 */
int virtq_rng_poll(struct virtq_rng *rng, void **token, uint32_t *len);

/*
 * From the interrupt handler: acknowledge, then hand each completion to
 * @done with the disable / harvest / enable-and-recheck loop.  Returns the
 * number of completions, or -EINVAL (@done NULL), -EIO.
 */
int virtq_rng_interrupt(struct virtq_rng *rng,
			void (*done)(void *opaque, void *token, uint32_t len),
			void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVERS_RNG_H */
