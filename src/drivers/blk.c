/* SPDX-License-Identifier: MIT */
/*
 * blk.c - virtio-blk driver (see virtq/drivers/blk.h).  Freestanding.
 *
 * Every value the device gives is checked before use: config fields at
 * init, the used length and the status byte of every request (each read
 * once).  A request is one chain: header (device-readable), data segments
 * (readable for OUT, writable for IN / GET_ID), status byte (writable).
 * Segments follow the device's size_max and the DMA mapping's contiguity,
 * at most seg_max of them.  No 64-bit division: sizes are powers of two.
 */
#include "virtq/drivers/blk.h"
#include "drv_internal.h"

#define BLK_KNOWN_FEATURES						\
	(VIRTQ_FEATURE(VIRTQ_BLK_F_SIZE_MAX) | VIRTQ_FEATURE(VIRTQ_BLK_F_SEG_MAX) | \
	 VIRTQ_FEATURE(VIRTQ_BLK_F_RO) | VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE) | \
	 VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH))

/* Config offsets (VIRTIO 1.x 5.2.4). */
#define BLK_CFG_CAPACITY	0
#define BLK_CFG_SIZE_MAX	8
#define BLK_CFG_SEG_MAX		12
#define BLK_CFG_BLK_SIZE	20

#define BLK_MAX_CAPACITY	(1ull << 55)	/* sectors: bytes fit in 64 bits */
#define BLK_MAX_TRANSFER	0x80000000u	/* one chain stays below 4 GiB */

static bool has(const struct virtq_blk *blk, uint64_t bit)
{
	return blk->features & bit;
}

static int blk_read_config(struct virtq_blk *blk)
{
	struct virtq_transport *t = blk->t;
	uint32_t v;
	int r;

	r = drv_cfg64(t, BLK_CFG_CAPACITY, &blk->capacity);
	if (r)
		return r;
	if (blk->capacity > BLK_MAX_CAPACITY)
		return -EPROTO;
	blk->size_max = 0xffffffffu;
	if (has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_SIZE_MAX))) {
		r = drv_cfg32(t, BLK_CFG_SIZE_MAX, &v);
		if (r)
			return r;
		if (!v)
			return -EPROTO;
		blk->size_max = v;
	}
	blk->seg_max = VIRTQ_BLK_SEGS;
	if (has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_SEG_MAX))) {
		r = drv_cfg32(t, BLK_CFG_SEG_MAX, &v);
		if (r)
			return r;
		if (!v)
			return -EPROTO;
		if (v < blk->seg_max)
			blk->seg_max = v;
	}
	blk->blk_size = VIRTQ_BLK_SECTOR_SIZE;
	if (has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE))) {
		r = drv_cfg32(t, BLK_CFG_BLK_SIZE, &v);
		if (r)
			return r;
		if (v < 512 || v > 65536 || (v & (v - 1)))
			return -EPROTO;
		blk->blk_size = v;
	}
	return 0;
}

/*
 * seg_max * size_max, capped at BLK_MAX_TRANSFER, rounded down to blk_size.
 * Added up (seg_max <= VIRTQ_BLK_SEGS) rather than multiplied: no 64-bit
 * multiply helper on 32-bit cores.
 */
static uint32_t blk_max_transfer(const struct virtq_blk *blk)
{
	uint32_t n = 0, i;

	for (i = 0; i < blk->seg_max; i++) {
		if (blk->size_max >= BLK_MAX_TRANSFER - n) {
			n = BLK_MAX_TRANSFER;
			break;
		}
		n += blk->size_max;
	}
	return n & ~(blk->blk_size - 1);
}

int virtq_blk_init(struct virtq_blk *blk, struct virtq_transport *t,
		   const struct virtq_blk_config *cfg)
{
	const struct virtq_queue_mem *m;
	uint64_t want;
	uint32_t qsegs, num;
	int r;

	if (!blk || !t || !cfg)
		return -EINVAL;
	drv_zero(blk, sizeof(*blk));
	if (t->device_id != VIRTQ_ID_BLOCK)
		return -ENODEV;
	blk->t = t;
	drv_dma_copy(&blk->dma, &cfg->dma);
	drv_wait_copy(&blk->wait, &cfg->wait);
	m = &cfg->queue;

	want = (BLK_KNOWN_FEATURES & ~cfg->no_device_features) |
	       (cfg->ring_features & ~VIRTQ_DEVICE_FEATURES_MASK);
	r = virtq_transport_negotiate(t, want, &blk->features);
	if (r)
		return r;
	r = blk_read_config(blk);
	if (r)
		goto fail;
	r = virtq_queue_setup(t, 0, m, &blk->dma, 4, &blk->vq);
	if (r)
		goto fail;

	/*
	 * Descriptors one chain may take: at most the queue size, indirect
	 * or not (2.7.5.3.1: no chain longer than the queue size; the driver
	 * side caps its indirect tables there too).  A queue of 2 leaves no
	 * data segment: max_transfer below is then 0 (-EPROTO).
	 */
	num = virtq_driver_size(blk->vq);
	qsegs = num > 2 ? num - 2 : 0;		/* header and status */
	if (blk->seg_max > qsegs)
		blk->seg_max = qsegs;
	blk->max_transfer = blk_max_transfer(blk);
	if (!blk->max_transfer) {
		r = -EPROTO;		/* not even one block fits a request */
		goto fail;
	}
	blk->sync_free = (1u << VIRTQ_BLK_SYNC_REQS) - 1;

	r = virtq_transport_driver_ok(t);
	if (r)
		goto fail;
	return 0;
fail:
	virtq_transport_fail(t);
	blk->vq = NULL;
	return r;
}

int virtq_blk_config_changed(struct virtq_blk *blk)
{
	uint64_t cap;
	int r;

	if (!blk->vq || blk->failed)
		return -EIO;
	r = drv_cfg64(blk->t, BLK_CFG_CAPACITY, &cap);
	if (r)
		return r;
	if (cap > BLK_MAX_CAPACITY)
		return -EPROTO;
	blk->capacity = cap;
	return 0;
}

uint64_t virtq_blk_capacity(const struct virtq_blk *blk)
{
	return blk->capacity;
}

uint32_t virtq_blk_block_size(const struct virtq_blk *blk)
{
	return blk->blk_size;
}

bool virtq_blk_read_only(const struct virtq_blk *blk)
{
	return has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_RO));
}

uint64_t virtq_blk_features(const struct virtq_blk *blk)
{
	return blk->features;
}

uint32_t virtq_blk_max_transfer(const struct virtq_blk *blk)
{
	return blk->max_transfer;
}

struct virtq_driver *virtq_blk_queue(struct virtq_blk *blk)
{
	return blk->vq;
}

/* Is the request acceptable to this device?  (the errors of submit) */
static int blk_check(const struct virtq_blk *blk, uint32_t type,
		     uint64_t sector, uint32_t len)
{
	uint64_t nsec;

	/* if-chains, not switch: no case-table helper on Thumb-1 */
	if (type == VIRTQ_BLK_T_FLUSH)
		return has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH)) ? 0 : -ENOTSUP;
	if (type == VIRTQ_BLK_T_GET_ID)
		return len && len <= VIRTQ_BLK_ID_BYTES ? 0 : -EINVAL;
	if (type != VIRTQ_BLK_T_IN && type != VIRTQ_BLK_T_OUT)
		return -EINVAL;
	if (type == VIRTQ_BLK_T_OUT && has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_RO)))
		return -EROFS;
	if (!len || (len & (blk->blk_size - 1)) ||
	    (sector & ((blk->blk_size >> 9) - 1)))
		return -EINVAL;
	nsec = len >> 9;
	if (nsec > blk->capacity || sector > blk->capacity - nsec)
		return -ERANGE;
	return 0;
}

/*
 * Cut @len bytes at @buf into blk->sg[1..]: each segment at most size_max
 * and contiguous in device space, at most seg_max of them.  *@covered is
 * what they hold: @len, or (when the segments run out) a shorter multiple
 * of blk_size.  Returns the segment count, or -EFAULT, -EMSGSIZE (not even
 * one block fits).
 */
static int blk_segs(struct virtq_blk *blk, char *buf, uint32_t len,
		    uint32_t *covered)
{
	uint32_t done = 0, keep, n = 0;

	while (done < len && n < blk->seg_max) {
		uint32_t piece = len - done;

		if (piece > blk->size_max)
			piece = blk->size_max;
		if (blk->dma.translate) {
			size_t mapped = 0;

			if (blk->dma.translate(blk->dma.opaque, buf + done, piece,
					       &mapped) == VIRTQ_ADDR_INVALID ||
			    mapped == 0 || mapped > piece)
				return -EFAULT;
			piece = (uint32_t)mapped;
		}
		blk->sg[1 + n].addr = buf + done;
		blk->sg[1 + n].len = piece;
		n++;
		done += piece;
	}
	if (done < len) {
		keep = done & ~(blk->blk_size - 1);
		if (!keep)
			return -EMSGSIZE;
		while (done > keep) {
			struct virtq_sg *last = &blk->sg[n];

			if (last->len <= done - keep) {
				done -= last->len;
				n--;
			} else {
				last->len -= done - keep;
				done = keep;
			}
		}
	}
	*covered = done;
	return (int)n;
}

/*
 * Check, build and add @req's chain, then kick.  With @partial, a transfer
 * that needs more segments than allowed is shortened (req->len is cut to
 * what fits); without, it is -EMSGSIZE.
 */
static int blk_add(struct virtq_blk *blk, struct virtq_blk_req *req, bool partial)
{
	struct virtq_transport *t = blk->t;
	uint32_t type = req->type, covered = 0, nout, nin;
	uint64_t sector = 0;
	int n = 0, r;

	if (!blk->vq || blk->failed)
		return -EIO;
	r = blk_check(blk, type, req->sector, req->len);
	if (r)
		return r;
	if (type == VIRTQ_BLK_T_IN || type == VIRTQ_BLK_T_OUT)
		sector = req->sector;
	if (type != VIRTQ_BLK_T_FLUSH) {
		n = blk_segs(blk, req->buf, req->len, &covered);
		if (n < 0)
			return n;
		if (covered < req->len) {
			if (!partial || type == VIRTQ_BLK_T_GET_ID)
				return -EMSGSIZE;
			req->len = covered;
		}
	}
	req->hdr.type = drv_dev32(t, type);
	req->hdr.reserved = 0;
	req->hdr.sector = drv_dev64(t, sector);
	drv_write8(&req->status, 0xff);	/* not a valid status: the device must write it */
	req->result = 0;
	req->used_len = 0;
	blk->sg[0].addr = &req->hdr;
	blk->sg[0].len = sizeof(req->hdr);
	blk->sg[n + 1].addr = &req->status;
	blk->sg[n + 1].len = 1;
	if (type == VIRTQ_BLK_T_OUT) {
		nout = (uint32_t)n + 1;		/* header + data */
		nin = 1;
	} else {
		nout = 1;
		nin = (uint32_t)n + 1;		/* data + status */
	}
	r = virtq_driver_add(blk->vq, blk->sg, nout, blk->sg + nout, nin, req);
	if (r)
		return r;
	/*
	 * The chain is published whatever the notify hook says; a failed
	 * doorbell is the transport's (the next kick covers it).
	 */
	(void)virtq_driver_kick(blk->vq);
	return 0;
}

int virtq_blk_submit(struct virtq_blk *blk, struct virtq_blk_req *req)
{
	int r = blk_add(blk, req, false);

	if (!r)
		blk->outstanding++;
	return r;
}

/* The device says it is done with @req, having written @len bytes. */
static void blk_complete(struct virtq_blk *blk, struct virtq_blk_req *req,
			 uint32_t len)
{
	uint8_t status;

	drv_invalidate(&blk->dma, &req->status, 1);
	status = drv_read8(&req->status);
	req->used_len = len;
	if (len < 1) {
		req->result = -EPROTO;		/* it did not write the status */
		return;
	}
	if (status == VIRTQ_BLK_S_IOERR) {
		req->result = -EIO;
		return;
	}
	if (status == VIRTQ_BLK_S_UNSUPP) {
		req->result = -ENOTSUP;
		return;
	}
	if (status != VIRTQ_BLK_S_OK) {
		req->result = -EPROTO;		/* not a status the spec knows */
		return;
	}
	req->result = 0;
	if (req->type == VIRTQ_BLK_T_IN) {
		if (len - 1 < req->len)		/* a short read */
			req->result = -EPROTO;
		else
			drv_invalidate(&blk->dma, req->buf, req->len);
	} else if (req->type == VIRTQ_BLK_T_GET_ID) {
		drv_invalidate(&blk->dma, req->buf, req->len);
	}
}

static bool blk_is_sync(const struct virtq_blk *blk, const struct virtq_blk_req *req,
			uint32_t *i)
{
	for (*i = 0; *i < VIRTQ_BLK_SYNC_REQS; (*i)++)
		if (req == &blk->sync[*i])
			return true;
	return false;
}

int virtq_blk_poll(struct virtq_blk *blk, struct virtq_blk_req **done)
{
	struct virtq_blk_req *req;
	void *tok = NULL;
	uint32_t len = 0, i;
	int r;

	if (!blk->vq || blk->failed)
		return -EIO;
	r = virtq_driver_get_used(blk->vq, &tok, &len);
	if (r <= 0)
		return r < 0 ? -EIO : 0;
	req = tok;
	/* Only async requests can be outstanding here (sync calls wait for theirs). */
	if (blk_is_sync(blk, req, &i) || !blk->outstanding)
		return -EIO;
	blk->outstanding--;
	blk_complete(blk, req, len);
	*done = req;
	return 1;
}

int virtq_blk_interrupt(struct virtq_blk *blk,
			void (*complete)(void *opaque, struct virtq_blk_req *req),
			void *opaque)
{
	struct virtq_blk_req *req;
	int n = 0, r;

	if (!complete)
		return -EINVAL;
	if (!blk->vq || blk->failed)
		return -EIO;
	if (virtq_transport_interrupt_ack(blk->t) & VIRTQ_ISR_CONFIG)
		(void)virtq_blk_config_changed(blk);	/* a bad value keeps the old one */
	do {
		virtq_driver_disable_cb(blk->vq);
		while ((r = virtq_blk_poll(blk, &req)) > 0) {
			complete(opaque, req);
			n++;
		}
		if (r < 0)
			return r;
	} while (!virtq_driver_enable_cb(blk->vq));
	return n;
}

/*
 * A synchronous transfer: pieces of what one request can carry, up to
 * VIRTQ_BLK_SYNC_REQS in flight; the first error is returned once every
 * piece in flight is back.
 */
static int blk_sync(struct virtq_blk *blk, uint32_t type, uint64_t sector,
		    char *buf, uint32_t len)
{
	uint32_t off = 0, inflight = 0, i, ulen;
	struct virtq_blk_req *req;
	bool first = true;
	void *tok;
	int err, r;

	if (!blk->vq || blk->failed)
		return -EIO;
	if (blk->outstanding)
		return -EBUSY;
	err = blk_check(blk, type, sector, len);
	if (err)
		return err;
	do {
		while (!err && blk->sync_free && (first || off < len)) {
			for (i = 0; !(blk->sync_free & (1u << i)); i++)
				;
			req = &blk->sync[i];
			req->type = type;
			req->sector = sector + (off >> 9);
			req->buf = buf + off;
			req->len = len - off;
			r = blk_add(blk, req, true);
			if (r == -ENOSPC && inflight)
				break;		/* wait for one, then go on */
			if (r) {
				err = r;
				break;
			}
			blk->sync_free &= ~(1u << i);
			off += req->len;
			inflight++;
			first = false;
		}
		if (!inflight)
			break;
		r = virtq_queue_wait_used(blk->t, blk->vq, &blk->wait, &tok, &ulen);
		if (r < 0) {
			/* Requests may still be running: nothing is safe now. */
			blk->failed = true;
			return r;
		}
		req = tok;
		if (!blk_is_sync(blk, req, &i) || (blk->sync_free & (1u << i))) {
			blk->failed = true;
			return -EIO;
		}
		blk_complete(blk, req, ulen);
		blk->sync_free |= 1u << i;
		inflight--;
		if (req->result && !err)
			err = req->result;
	} while (inflight || (!err && off < len));
	return err;
}

int virtq_blk_read(struct virtq_blk *blk, uint64_t sector, void *buf, uint32_t len)
{
	return blk_sync(blk, VIRTQ_BLK_T_IN, sector, buf, len);
}

int virtq_blk_write(struct virtq_blk *blk, uint64_t sector, const void *buf,
		    uint32_t len)
{
	/* The device only reads it. */
	return blk_sync(blk, VIRTQ_BLK_T_OUT, sector, (char *)(uintptr_t)buf, len);
}

int virtq_blk_flush(struct virtq_blk *blk)
{
	if (blk->vq && !blk->failed && !has(blk, VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH)))
		return 0;
	return blk_sync(blk, VIRTQ_BLK_T_FLUSH, 0, NULL, 0);
}

int virtq_blk_get_id(struct virtq_blk *blk, char id[VIRTQ_BLK_ID_BYTES],
		     uint32_t *len)
{
	uint32_t n;
	int r;

	drv_zero(id, VIRTQ_BLK_ID_BYTES);
	r = blk_sync(blk, VIRTQ_BLK_T_GET_ID, 0, id, VIRTQ_BLK_ID_BYTES);
	if (r)
		return r;
	for (n = 0; n < VIRTQ_BLK_ID_BYTES && id[n]; n++)
		;
	if (len)
		*len = n;
	return 0;
}
