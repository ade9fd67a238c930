/* SPDX-License-Identifier: MIT */
/*
 * driver.h - the driver side of a split virtqueue: offer buffer chains to a
 * device and take them back when it is done.
 *
 * Freestanding: no libc, no malloc, no syscalls.  All memory is the
 * caller's:
 *   - the three ring areas (device-visible, see ring.h for sizes and
 *     alignments), or one legacy contiguous area;
 *   - an optional pool of indirect tables (device-visible),
 *     virtq_driver_indirect_size() bytes, 16-byte aligned;
 *   - the driver-private state, virtq_driver_mem_size() bytes (or the
 *     compile-time bound VIRTQ_DRIVER_MEM_SIZE()), 16-byte aligned, never
 *     shown to the device.  The free list and every per-chain record live
 *     here, so nothing the device writes is ever trusted for bookkeeping.
 *
 * One queue is used by one thread at a time (callers serialise).
 *
 * Errors are -errno.  A hosted build uses <errno.h>; a freestanding build
 * (no libc headers) uses Linux's values: EIO 5, EFAULT 14, EINVAL 22,
 * ENOSPC 28.
 *
 * Memory ordering is SMP-strength (C11 atomics, atomic.h): enough for a
 * device on another CPU or a coherent DMA master.  VIRTQ_F_ORDER_PLATFORM
 * is accepted but gives no stronger barriers; a platform that needs DMA
 * barriers for a non-coherent device puts them in the cache hooks.
 *
 * Typical use:
 *
 *	struct virtq_sg out[] = { { &hdr, sizeof hdr } };
 *	struct virtq_sg in[]  = { { buf, 4096 }, { &status, 1 } };
 *	virtq_driver_add(vq, out, 1, in, 2, req);	// staged
 *	virtq_driver_kick(vq);				// publish + notify if wanted
 *	...
 *	void *tok; uint32_t len;
 *	while (virtq_driver_get_used(vq, &tok, &len) > 0)
 *		complete(tok, len);
 */
#ifndef VIRTQ_DRIVER_H
#define VIRTQ_DRIVER_H

#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

struct virtq_driver;

/* One buffer of a chain, in the driver's own address space. */
struct virtq_sg {
	void *addr;
	uint32_t len;
};

/*
 * The ring and transport features the driver side implements: a
 * virtq_driver_config may negotiate only these of bits 24..63 (device
 * specific bits 0..23 are the device driver's business).  VERSION_1 and
 * ACCESS_PLATFORM change nothing in the ring (ACCESS_PLATFORM means the
 * translate hook gives device addresses, which is how the ring always
 * works); ORDER_PLATFORM is accepted, see above.  RING_PACKED, IN_ORDER,
 * NOTIFICATION_DATA and the rest are not implemented.
 */
#define VIRTQ_DRIVER_FEATURES						\
	(VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |				\
	 VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |				\
	 VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |				\
	 VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM) |			\
	 VIRTQ_FEATURE(VIRTQ_F_ORDER_PLATFORM))
/* Bits 0..23: device specific; the ring ignores them. */
#define VIRTQ_DEVICE_FEATURES_MASK	((1ull << 24) - 1)

/* Returned by a translate hook that cannot map an address. */
#define VIRTQ_ADDR_INVALID (~(uint64_t)0)

struct virtq_driver_config {
	uint32_t num;		/* queue size: power of two, 1..32768 */
	/*
	 * Negotiated features.  Device-specific bits (0..23) are ignored;
	 * of the ring and transport bits (24..63) only those in
	 * VIRTQ_DRIVER_FEATURES may be set (init refuses the others).
	 */
	uint64_t features;
	uint16_t queue_index;	/* passed to notify: which queue to kick */

	/* Ring areas (zeroed by init).  Alignments 16 / 2 / 4 are checked. */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;

	/*
	 * Indirect tables: one table of @indirect_max descriptors per queue
	 * slot, virtq_driver_indirect_size(num, indirect_max) bytes.  NULL or
	 * indirect_max < 2 disables indirect descriptors even when the
	 * feature is negotiated; more than 32768 is -EINVAL.  A chain of at
	 * least @indirect_min segments (0 means 2) and at most @indirect_max
	 * goes indirect (segments = n_out + n_in as passed to add; if
	 * translate splits them into more than @indirect_max pieces, the
	 * chain goes direct instead).  An indirect table never holds more
	 * than num descriptors (VIRTIO 1.x 2.7.5.3.1: no chain longer than
	 * the queue size): above num, @indirect_max counts as num, and only
	 * the pool's layout (table stride) uses the larger value.
	 */
	void *indirect;
	uint16_t indirect_max;
	uint16_t indirect_min;

	/*
	 * Called by virtq_driver_notify() with @notify_opaque (or @opaque when
	 * notify_opaque is NULL) and @queue_index; returns 0 or -errno.  May
	 * be NULL.  A transport's notify hook (transport.h) takes the
	 * transport as notify_opaque, so the platform's @opaque stays free
	 * for translate and the cache hooks.
	 */
	int (*notify)(void *opaque, uint16_t queue_index);
	void *notify_opaque;

	/*
	 * Address translation: driver virtual address -> device address.
	 * Sets *mapped to how many bytes from @addr are contiguous in device
	 * space (at most @len); a buffer that maps in pieces becomes several
	 * descriptors.  Returns VIRTQ_ADDR_INVALID if @addr cannot be mapped
	 * (so does a *mapped of 0 or above @len: add then fails with -EFAULT).
	 * NULL means identity (device address == (uintptr_t)addr).
	 */
	uint64_t (*translate)(void *opaque, const void *addr, size_t len,
			      size_t *mapped);

	/*
	 * Cache maintenance for non-coherent shared memory (may be NULL):
	 * clean (write back) before the device may read, invalidate before
	 * the driver reads what the device wrote.  The queue cleans the
	 * descriptors, indirect tables, avail entries, avail->idx,
	 * avail->flags and used_event it writes, and every buffer (out and
	 * in) at add; it invalidates used->idx, the used element, avail_event
	 * and used->flags before reading them.  The data the device wrote into
	 * in-buffers is not invalidated by the queue (it keeps no buffer
	 * list): the caller does that after get_used.
	 */
	void (*cache_clean)(void *opaque, const void *addr, size_t len);
	void (*cache_invalidate)(void *opaque, const void *addr, size_t len);

	void *opaque;		/* passed to every hook */
};

/*
 * Size of the driver-private memory for a queue of @num entries.  Returns 0
 * if @num is not a valid queue size.  VIRTQ_DRIVER_MEM_SIZE(num) is a
 * compile-time upper bound for static allocation on bare metal.
 */
size_t virtq_driver_mem_size(uint32_t num);
/* 64-byte aligned memory keeps the hot fields on cache lines of their own. */
#define VIRTQ_DRIVER_MEM_SIZE(num) (256u + 24u * (size_t)(num))

/*
 * Static storage for the driver-private state of a queue of up to @num
 * entries, suitably aligned:
 *
 *	static VIRTQ_DRIVER_STORAGE(256) rxq_mem;
 *	virtq_driver_init((struct virtq_driver *)&rxq_mem, sizeof rxq_mem, &cfg);
 */
#define VIRTQ_DRIVER_STORAGE(num)					\
	struct {							\
		_Alignas(64) unsigned char bytes[VIRTQ_DRIVER_MEM_SIZE(num)]; \
	}


/*
 * Bytes for the indirect pool: @num tables of @max descriptors
 * (VIRTQ_INDIRECT_SIZE(num, max) in ring.h at compile time).
 */
size_t virtq_driver_indirect_size(uint32_t num, uint32_t max);

/*
 * Point @cfg's desc / avail / used at a legacy contiguous area starting at
 * @base (@align-aligned, virtq_legacy_size(num, align) bytes).
 * Returns 0, or -EINVAL (cfg->num not a valid size, @align not a power of
 * two >= 16, or @base not @align-aligned).
 */
int virtq_driver_config_legacy(struct virtq_driver_config *cfg, void *base,
			       size_t align);

/*
 * Initialise a queue over caller memory @vq (@mem_len bytes, at least
 * virtq_driver_mem_size(cfg->num)).  Zeroes the ring areas.
 *
 * Returns 0, or
 *   -EINVAL  num not a power of two in 1..32768, a ring area NULL or
 *            misaligned, mem too small or misaligned, indirect pool
 *            misaligned, or a feature of bits 24..63 outside
 *            VIRTQ_DRIVER_FEATURES (RING_PACKED, IN_ORDER,
 *            NOTIFICATION_DATA...: not implemented, so never ignored);
 *   -EFAULT  translate cannot map a ring area or the indirect pool
 *            contiguously.
 */
int virtq_driver_init(struct virtq_driver *vq, size_t mem_len,
		      const struct virtq_driver_config *cfg);

/*
 * Return the queue to its state right after init (after a device reset):
 * rings zeroed, every descriptor free, not broken.  Outstanding tokens are
 * dropped: call virtq_driver_detach_unused() first to get them back.
 */
void virtq_driver_reset(struct virtq_driver *vq);

/* Device addresses of the three areas, to program into the transport. */
void virtq_driver_ring_addrs(const struct virtq_driver *vq, uint64_t *desc,
			     uint64_t *avail, uint64_t *used);

/*
 * Add a chain: @n_out device-readable buffers then @n_in device-writable
 * buffers, identified by @token (not NULL), returned by get_used.  The chain
 * is staged: the device sees it after the next publish / kick_prepare /
 * kick.  O(1) in the number of free descriptors.
 *
 * Returns 0, or
 *   -EINVAL  token NULL, no buffers, a zero-length buffer, or the chain's
 *            total length above 4 GiB - 1 (one byte stricter than the
 *            spec's 2^32: the device side accepts 2^32 only when neither
 *            direction holds it all, and a driver need not go so far);
 *   -ENOSPC  not enough free descriptors (nothing was added);
 *   -EFAULT  translate failed for a buffer (nothing was added);
 *   -EIO     the queue is broken (see get_used).
 */
int virtq_driver_add(struct virtq_driver *vq,
		     const struct virtq_sg *out, unsigned int n_out,
		     const struct virtq_sg *in, unsigned int n_in,
		     void *token);

/*
 * Make every staged chain visible with one release store of avail->idx.
 * O(staged chains): each is marked published first (from a private copy of
 * the avail ring), so get_used can refuse a head the device cannot have
 * seen.
 */
void virtq_driver_publish(struct virtq_driver *vq);

/*
 * Publish, then decide whether the device wants a notification: with
 * EVENT_IDX, whether avail_event lies among the entries published since the
 * previous kick_prepare (wrap-safe); otherwise whether VIRTQ_USED_F_NO_NOTIFY
 * is clear.  Returns true if virtq_driver_notify() should be called; false
 * when nothing was published since the previous kick_prepare, and on a
 * broken queue.  After 2^16 or more entries since the previous
 * kick_prepare (u16 distances cannot tell), it returns true.
 */
bool virtq_driver_kick_prepare(struct virtq_driver *vq);

/* Call the notify hook with the queue index.  Returns its result, or 0 without a hook. */
int virtq_driver_notify(struct virtq_driver *vq);

/* kick_prepare + notify when needed.  Returns 1 notified, 0 not, -errno. */
int virtq_driver_kick(struct virtq_driver *vq);

/*
 * Take back one used chain: its token and the byte count the device says it
 * wrote.  Each token comes back exactly once (here or from detach_unused).
 * @token and @len may be NULL.  With EVENT_IDX and callbacks enabled, it
 * moves used_event along so the next entry interrupts again.
 *
 * Returns 1 (got one), 0 (none pending), or -EIO: the device broke the
 * protocol and the queue is latched broken until reset.  Broken means a
 * used id >= num, an id that is not the head of an outstanding chain
 * already published (a staged chain is not the device's to return), a len
 * above the chain's device-writable bytes, or used->idx more entries ahead
 * than there are chains outstanding.  No token is returned for the entry
 * that broke it, and none twice.
 */
int virtq_driver_get_used(struct virtq_driver *vq, void **token,
			  uint32_t *len);

/* True if get_used would return something (or an error). */
bool virtq_driver_has_used(const struct virtq_driver *vq);

/*
 * Fast paths, for the commonest chains (as Linux's virtqueue_add_inbuf /
 * add_outbuf): add a chain of one device-writable (inbuf) or one
 * device-readable (outbuf) buffer of @len bytes at @buf, identified by
 * @token.  The same chain, staging and errors as virtq_driver_add() with
 * that one buffer, in fewer instructions:
 *   -EINVAL  token NULL or len 0;
 *   -ENOSPC  no free descriptor;
 *   -EFAULT  translate failed;
 *   -EIO     the queue is broken.
 */
int virtq_driver_add_inbuf(struct virtq_driver *vq, void *buf, uint32_t len,
			   void *token);
int virtq_driver_add_outbuf(struct virtq_driver *vq, const void *buf,
			    uint32_t len, void *token);

/*
 * Take back up to @max used chains: tokens[i] and lens[i] (@lens may be
 * NULL) for i < the return value, oldest first, each checked as
 * get_used checks it (and used_event moved once for the batch).
 *
 * Returns how many (0: none pending, or max == 0), or -EIO: the queue is
 * broken (see get_used).  If the device breaks the protocol after some
 * good entries, those are returned and the queue is latched broken: the
 * next call returns -EIO.
 */
int virtq_driver_get_used_batch(struct virtq_driver *vq, void **tokens,
				uint32_t *lens, unsigned int max);

/*
 * Interrupt (callback) suppression.  disable asks the device not to
 * interrupt (NO_INTERRUPT, or with EVENT_IDX a used_event far away).
 * enable asks for an interrupt on the next used entry, then rechecks:
 * returns true if nothing is pending (safe to wait for the interrupt),
 * false if used entries arrived meanwhile (poll again; the race between
 * the device's check and ours is closed by fence F2).  enable_delayed
 * asks for the interrupt only after about 3/4 of the outstanding chains
 * (EVENT_IDX; otherwise as enable), with the same return value.  Disabling
 * with EVENT_IDX writes used_event = last used index + 0x8000, beyond where
 * a device can get (the spec allows the odd interrupt anyway).  On a broken
 * queue enable returns false (get_used then reports -EIO).
 */
void virtq_driver_disable_cb(struct virtq_driver *vq);
bool virtq_driver_enable_cb(struct virtq_driver *vq);
bool virtq_driver_enable_cb_delayed(struct virtq_driver *vq);

/*
 * After the device is reset (it no longer touches the ring): take back one
 * chain that was added but never used.  Returns 1 with its token, or 0
 * when none is left.  Works on a broken queue too.  Follow with
 * virtq_driver_reset() before using the queue again.
 */
int virtq_driver_detach_unused(struct virtq_driver *vq, void **token);

uint32_t virtq_driver_size(const struct virtq_driver *vq);
uint16_t virtq_driver_queue_index(const struct virtq_driver *vq);
uint64_t virtq_driver_features(const struct virtq_driver *vq);
uint32_t virtq_driver_num_free(const struct virtq_driver *vq);
bool virtq_driver_is_broken(const struct virtq_driver *vq);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVER_H */
