/* SPDX-License-Identifier: MIT */
/*
 * drivers/queue.h - what the device drivers (blk.h, rng.h, console.h,
 * net.h) share: the caller's memory for one queue, the platform's DMA
 * hooks, the bounded wait, and the queue setup on a transport.
 *
 * Freestanding, under driver.h's rules.  The drivers own no memory: every
 * byte is the caller's, so firmware can allocate it statically:
 *
 *	static VIRTQ_QUEUE_STORAGE(128) rq;		// ring + private state
 *	struct virtq_queue_mem m = VIRTQ_QUEUE_MEM(rq, 128);
 *
 * Errors are -errno (Linux values in a freestanding build).
 */
#ifndef VIRTQ_DRIVERS_QUEUE_H
#define VIRTQ_DRIVERS_QUEUE_H

#include <virtq/driver.h>
#include <virtq/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Memory for one queue.
 *   @num      the size wanted; the queue gets min(num, device maximum)
 *             rounded down to a power of two.
 *   @ring     device-visible: desc, avail and used in the contiguous
 *             (legacy) layout, virtq_queue_ring_size(num, t) bytes (at most
 *             VIRTQ_QUEUE_RING_SIZE(num) for a modern transport or a legacy
 *             one with 4096-byte alignment), aligned to 4096 (a modern
 *             transport needs only 16).
 *   @state    driver-private, never shown to the device:
 *             VIRTQ_DRIVER_MEM_SIZE(num) bytes, 16-aligned (64 is better).
 *   @indirect optional device-visible pool of indirect tables,
 *             VIRTQ_INDIRECT_SIZE(num, indirect_max) bytes, 16-aligned; used
 *             only when INDIRECT_DESC is negotiated.  NULL: none.
 */
struct virtq_queue_mem {
	uint32_t num;
	void *ring;
	size_t ring_len;
	void *state;
	size_t state_len;
	void *indirect;
	size_t indirect_len;
	uint16_t indirect_max;
};

#define VIRTQ_QUEUE_RING_SIZE(num)	VIRTQ_LEGACY_SIZE(num, VIRTQ_LEGACY_ALIGN)

/* Static storage for one queue of up to @num entries (ring, then state). */
#define VIRTQ_QUEUE_STORAGE(num)					\
	struct {							\
		_Alignas(4096) unsigned char ring[VIRTQ_QUEUE_RING_SIZE(num)]; \
		VIRTQ_DRIVER_STORAGE(num) state;			\
	}

/* A struct virtq_queue_mem for storage @st declared with VIRTQ_QUEUE_STORAGE(@n). */
#define VIRTQ_QUEUE_MEM(st, n)						\
	((struct virtq_queue_mem){ .num = (n), .ring = (st).ring,	\
		.ring_len = sizeof((st).ring), .state = &(st).state,	\
		.state_len = sizeof((st).state) })

/*
 * The platform's DMA hooks, as in struct virtq_driver_config (all may be
 * NULL: identity mapping, coherent memory).  A driver also calls
 * cache_invalidate on the bytes the device wrote (data, status, frames)
 * before reading them.
 */
struct virtq_dma {
	uint64_t (*translate)(void *opaque, const void *addr, size_t len,
			      size_t *mapped);
	void (*cache_clean)(void *opaque, const void *addr, size_t len);
	void (*cache_invalidate)(void *opaque, const void *addr, size_t len);
	void *opaque;
};

/*
 * How a synchronous call waits for the device.  Without @wait it polls
 * the used ring; with @wait it arms the queue's interrupt (enable_cb and
 * its recheck), calls @wait (e.g. a wfi), then acknowledges the
 * transport's interrupt status and looks again.  Either way it gives up
 * after @poll_max polls or waits (0: VIRTQ_WAIT_POLL_DEFAULT) with
 * -ETIMEDOUT.  @wait must return even without an interrupt now and then
 * (a timer); it must not harvest the queue itself.  The acknowledge also
 * clears a configuration-change bit: a driver that cares (blk's capacity)
 * offers a *_config_changed call to run afterwards.
 */
struct virtq_wait {
	void (*wait)(void *opaque);
	void *opaque;
	uint32_t poll_max;
};

#ifndef VIRTQ_WAIT_POLL_DEFAULT
#define VIRTQ_WAIT_POLL_DEFAULT	200000000u
#endif

/* Bytes of ring memory queue @num needs on transport @t (legacy layout). */
size_t virtq_queue_ring_size(uint32_t num, const struct virtq_transport *t);

/*
 * Set up queue @index of @t (after virtq_transport_negotiate) over @m:
 * choose the size, initialise the driver side in m->state with the
 * negotiated ring features and @dma's hooks, program and enable the
 * queue.  *@vq points into m->state.  The queue needs at least @min_num
 * entries.
 *
 * Returns 0, or
 *   -ENOENT  the device has no queue @index;
 *   -EBUSY   the queue is already live;
 *   -ENOSPC  the device's maximum (rounded down to a power of two) is
 *            below @min_num;
 *   -EINVAL  m->num 0, m->ring / m->state NULL, too small or misaligned,
 *            or the indirect pool too small for indirect_max;
 *   -EFAULT  translate cannot map the ring or the pool contiguously;
 *   -ERANGE  an address does not fit the transport's registers, or the
 *            queue's doorbell lies outside the notify structure;
 *   -EIO     the device did not take the queue (its enable / PFN
 *            register reads back wrong).
 */
int virtq_queue_setup(struct virtq_transport *t, uint16_t index,
		      const struct virtq_queue_mem *m, const struct virtq_dma *dma,
		      uint32_t min_num, struct virtq_driver **vq);

/*
 * Wait for one used entry of @vq as @w says.  Returns 1 with *@token and
 * *@len, or -EIO (the queue is broken: the device broke the protocol, or
 * it asks for a reset), -ETIMEDOUT (nothing came in time).
 */
int virtq_queue_wait_used(struct virtq_transport *t, struct virtq_driver *vq,
			  const struct virtq_wait *w, void **token, uint32_t *len);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVERS_QUEUE_H */
