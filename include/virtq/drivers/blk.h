/* SPDX-License-Identifier: MIT */
/*
 * drivers/blk.h - a virtio-blk driver on a transport (VIRTIO 1.x 5.2).
 *
 * Freestanding.  Owns no memory: the caller declares a struct virtq_blk
 * (it holds request headers and status bytes the device reads and writes,
 * so it must sit in memory the device can reach, under the DMA translate
 * hook) and the queue's memory (drivers/queue.h).
 *
 *	static struct virtq_blk blk;
 *	static VIRTQ_QUEUE_STORAGE(64) rq;
 *	struct virtq_blk_config c = { .queue = VIRTQ_QUEUE_MEM(rq, 64),
 *		.ring_features = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) };
 *	r = virtq_blk_init(&blk, transport, &c);	// after the transport's probe
 *	r = virtq_blk_read(&blk, 0, buf, 4096);		// synchronous, bounded wait
 *
 * Two ways to do I/O:
 *   - synchronous: virtq_blk_read / write / flush / get_id split a transfer
 *     by the device's seg_max / size_max into requests, keep up to
 *     VIRTQ_BLK_SYNC_REQS in flight and wait (polling, or the caller's
 *     wait hook, e.g. wfi) with a bound;
 *   - asynchronous: virtq_blk_submit a caller's struct virtq_blk_req (many
 *     in flight), then virtq_blk_poll or, from the interrupt handler,
 *     virtq_blk_interrupt, which hand each completed request back.
 * Do not mix them: a synchronous call returns -EBUSY while asynchronous
 * requests are outstanding.
 *
 * Sectors are 512 bytes.  With VIRTIO_BLK_F_BLK_SIZE, transfers must start
 * and end on blk_size boundaries.
 *
 * One struct virtq_blk is used by one thread at a time (or with its
 * interrupt masked).  Errors are -errno.
 */
#ifndef VIRTQ_DRIVERS_BLK_H
#define VIRTQ_DRIVERS_BLK_H

#include <virtq/drivers/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (VIRTIO 1.x 5.2.3). */
#define VIRTQ_BLK_F_SIZE_MAX	1
#define VIRTQ_BLK_F_SEG_MAX	2
#define VIRTQ_BLK_F_GEOMETRY	4
#define VIRTQ_BLK_F_RO		5
#define VIRTQ_BLK_F_BLK_SIZE	6
#define VIRTQ_BLK_F_FLUSH	9

/* Request types. */
#define VIRTQ_BLK_T_IN		0u
#define VIRTQ_BLK_T_OUT		1u
#define VIRTQ_BLK_T_FLUSH	4u
#define VIRTQ_BLK_T_GET_ID	8u

/* Status byte values. */
#define VIRTQ_BLK_S_OK		0u
#define VIRTQ_BLK_S_IOERR	1u
#define VIRTQ_BLK_S_UNSUPP	2u

#define VIRTQ_BLK_SECTOR_SIZE	512u
#define VIRTQ_BLK_ID_BYTES	20u
/* Data segments per request the driver builds at most (its sg scratch). */
#define VIRTQ_BLK_SEGS		64u
/* Requests a synchronous call keeps in flight. */
#define VIRTQ_BLK_SYNC_REQS	4u

/* The request header the device reads (device byte order). */
struct virtq_blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/*
 * One request.  The caller sets type, sector, buf, len and token before
 * virtq_blk_submit and does not touch the request until it comes back;
 * the driver sets result and used_len then.  hdr and status are the
 * device-visible part.
 */
struct virtq_blk_req {
	uint32_t type;		/* VIRTQ_BLK_T_* */
	uint32_t len;		/* data bytes (IN/OUT: blk_size multiple; GET_ID: 1..20) */
	uint64_t sector;	/* 512-byte units (IN/OUT) */
	void *buf;
	void *token;		/* the caller's, untouched */

	int result;		/* 0, or an -errno of virtq_blk_poll's list */
	uint32_t used_len;	/* bytes the device says it wrote, status included */

	struct virtq_blk_outhdr hdr;
	uint8_t status;
};

/* How to bring the device up. */
struct virtq_blk_config {
	struct virtq_queue_mem queue;	/* request queue 0: at least 4 entries */
	/*
	 * Ring features the caller allows: VIRTQ_F_EVENT_IDX,
	 * VIRTQ_F_INDIRECT_DESC (with queue.indirect), ACCESS_PLATFORM...
	 * Device bits are the driver's choice (all it knows: SIZE_MAX,
	 * SEG_MAX, BLK_SIZE, FLUSH, RO); @no_device_features masks some out.
	 */
	uint64_t ring_features;
	uint64_t no_device_features;
	struct virtq_dma dma;		/* optional hooks */
	struct virtq_wait wait;		/* synchronous calls */
};

/* The driver's state.  Fields are private; read them through the accessors. */
struct virtq_blk {
	struct virtq_transport *t;
	struct virtq_driver *vq;
	struct virtq_dma dma;
	struct virtq_wait wait;
	uint64_t capacity;	/* 512-byte sectors */
	uint64_t features;
	uint32_t blk_size;
	uint32_t seg_max;	/* data segments per request, as the driver uses it */
	uint32_t size_max;	/* bytes per segment (0xffffffff: no limit) */
	uint32_t max_transfer;	/* bytes one request carries (contiguous buffer) */
	uint32_t outstanding;	/* asynchronous requests in flight */
	uint32_t sync_free;	/* bit i: sync[i] is free */
	bool failed;		/* a synchronous call timed out: requests may still run */
	struct virtq_sg sg[VIRTQ_BLK_SEGS + 2];
	struct virtq_blk_req sync[VIRTQ_BLK_SYNC_REQS];
};

/*
 * Bring up the block device behind @t (probed, t->device_id
 * VIRTQ_ID_BLOCK): negotiate, read and check the config, set up queue 0,
 * DRIVER_OK.  On failure after the reset, FAILED is set in the status.
 *
 * Returns 0, or
 *   -EINVAL     @blk, @t or @cfg NULL (and see virtq_queue_setup below);
 *   -ENODEV     not a block device, or a modern device without VERSION_1;
 *   -ETIMEDOUT  the reset never completed;
 *   -ENOTSUP    the device refused the features (FEATURES_OK cleared);
 *   -EPROTO     a config value out of range: capacity above 2^55 sectors,
 *               blk_size not a power of two in 512..65536, seg_max or
 *               size_max 0, size_max below 512 or seg_max * size_max
 *               below blk_size (no transfer possible);
 *   -ERANGE     the config space too short for a negotiated field;
 *   -EAGAIN     the config generation never settled;
 *   -ENOENT, -EBUSY, -ENOSPC (fewer than 4 entries), -EINVAL, -EFAULT,
 *               -ERANGE: as virtq_queue_setup;
 *   -EIO        the device did not take the queue, or set NEEDS_RESET or
 *               FAILED at DRIVER_OK.
 */
int virtq_blk_init(struct virtq_blk *blk, struct virtq_transport *t,
		   const struct virtq_blk_config *cfg);

/*
 * Re-read the capacity (the device resized: a configuration-change
 * interrupt, VIRTQ_ISR_CONFIG; virtq_blk_interrupt calls this itself).
 * Returns 0, or -EPROTO (above 2^55 sectors: the old capacity stays),
 * -ERANGE, -EAGAIN (config unreadable), -EIO (not initialised / failed).
 */
int virtq_blk_config_changed(struct virtq_blk *blk);

/* Capacity in 512-byte sectors, and the block size (512 unless offered). */
uint64_t virtq_blk_capacity(const struct virtq_blk *blk);
uint32_t virtq_blk_block_size(const struct virtq_blk *blk);
bool virtq_blk_read_only(const struct virtq_blk *blk);
/* Negotiated feature bits (device and ring). */
uint64_t virtq_blk_features(const struct virtq_blk *blk);
/* The largest transfer one request carries for a contiguous buffer. */
uint32_t virtq_blk_max_transfer(const struct virtq_blk *blk);
struct virtq_driver *virtq_blk_queue(struct virtq_blk *blk);

/*
 * Submit @req (type, sector, buf, len, token set) and notify the device if
 * it wants it.  Returns 0, or
 *   -EINVAL   unknown type, len 0 for IN / OUT / GET_ID (or above 20 for
 *             GET_ID), sector or len not a multiple of blk_size;
 *   -ERANGE   the transfer runs past the capacity;
 *   -EROFS    OUT on a read-only device;
 *   -ENOTSUP  FLUSH not negotiated (FLUSH then needs none: writes go
 *             straight to the medium) -- virtq_blk_flush returns 0 there;
 *   -EMSGSIZE the buffer needs more segments than seg_max allows (split it:
 *             virtq_blk_max_transfer);
 *   -EFAULT   translate cannot map the buffer;
 *   -ENOSPC   the queue is full (poll, then retry);
 *   -EIO      the queue is broken or the device failed.
 */
int virtq_blk_submit(struct virtq_blk *blk, struct virtq_blk_req *req);

/*
 * Take back one completed request.  Returns 1 with *@done set and
 * (*done)->result:
 *     0          done;
 *     -EIO       the device answered IOERR;
 *     -ENOTSUP   the device answered UNSUPP;
 *     -EPROTO    the device wrote an unknown status byte, or reported
 *                writing fewer bytes than the request needs (no status
 *                byte, or a short read);
 * or 0 (nothing completed), or -EIO: the queue is broken (a used length
 * above the request's writable bytes, an unknown used id...); the
 * requests still outstanding never come back: reset the device.
 */
int virtq_blk_poll(struct virtq_blk *blk, struct virtq_blk_req **done);

/*
 * From the interrupt handler (or after a wfi): acknowledge the transport's
 * interrupt (on a configuration change, re-read the capacity as
 * virtq_blk_config_changed does), then hand every completed request to @complete, with the
 * queue's callbacks disabled while harvesting and re-enabled with the
 * recheck (virtq_driver_enable_cb) until nothing is left.
 * Returns the number of requests completed, or -EINVAL (@complete NULL),
 * -EIO (queue broken; requests completed before it were handed over).
 */
int virtq_blk_interrupt(struct virtq_blk *blk,
			void (*complete)(void *opaque, struct virtq_blk_req *req),
			void *opaque);

/*
 * Synchronous I/O: read or write @len bytes at @sector (both blk_size
 * aligned), split into as many requests as seg_max / size_max need.
 * Returns 0, or -EINVAL, -ERANGE, -EROFS, -EFAULT as virtq_blk_submit,
 * -EMSGSIZE (the DMA mapping cuts the buffer so that not one block fits
 * in seg_max segments), -ENOSPC (the queue cannot take even one request),
 * -EBUSY (asynchronous requests outstanding), the first failed request's
 * result (-EIO, -ENOTSUP, -EPROTO), -ETIMEDOUT (the device did not answer
 * within the wait bound: requests may still be running, the device must
 * be reset; every later call returns -EIO), -EIO (queue broken).
 */
int virtq_blk_read(struct virtq_blk *blk, uint64_t sector, void *buf, uint32_t len);
int virtq_blk_write(struct virtq_blk *blk, uint64_t sector, const void *buf,
		    uint32_t len);

/*
 * Flush the device's write cache.  Returns 0 (also when FLUSH is not
 * offered: the device has no volatile cache), or the errors of
 * virtq_blk_read that a request without data can give: -EBUSY
 * (asynchronous requests outstanding), -EFAULT (translate cannot map the
 * header or the status byte), -ENOSPC (the queue cannot take the
 * request), the request's result (-EIO, -ENOTSUP, -EPROTO), -ETIMEDOUT
 * (later calls are -EIO), -EIO (queue broken, or after a timeout).
 */
int virtq_blk_flush(struct virtq_blk *blk);

/*
 * The device's ID string (serial): up to 20 bytes into @id, not
 * NUL-terminated when it is 20 long.  *@len (may be NULL) gets the bytes
 * up to the first NUL.  Returns 0, or the errors of virtq_blk_read for
 * a 20-byte request: -EBUSY, -EFAULT, -EMSGSIZE (the DMA mapping cuts
 * @id into more than seg_max segments), -ENOSPC, the request's result
 * (-EIO, -ENOTSUP: the device does not support GET_ID, -EPROTO),
 * -ETIMEDOUT, -EIO (queue broken).
 */
int virtq_blk_get_id(struct virtq_blk *blk, char id[VIRTQ_BLK_ID_BYTES],
		     uint32_t *len);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVERS_BLK_H */
