/* SPDX-License-Identifier: MIT */
/*
 * fake-blk.h - a RAM disk behind the fake transport (fake-transport.h),
 * served with our device side: IN, OUT, FLUSH, GET_ID, a status byte per
 * request.  It CHECKs what the driver sent (header size, segment counts
 * and sizes against the seg_max / size_max it advertised) and records the
 * largest request shapes seen.  Knobs make it hostile.
 */
#ifndef VIRTQ_FAKE_BLK_H
#define VIRTQ_FAKE_BLK_H

#include "fake-transport.h"
#include "virtq/drivers/blk.h"

struct fake_blk {
	uint8_t *disk;
	uint64_t sectors;
	uint32_t seg_max, size_max;	/* 0: not advertised */
	char id[20];
	/* what it saw */
	unsigned int reqs, flushes, max_segs;
	uint32_t max_seg_len;
	/* hostile knobs */
	int status_override;		/* >= 0: answer this status byte */
	int64_t len_delta;		/* added to the used length */
	int64_t len_override;		/* >= 0: report this used length */
	bool no_status;			/* leave the status byte unwritten */
	bool hold;			/* keep chains until fake_blk_release */
	uint16_t held[256];
	unsigned int nheld;
	uint32_t held_len[256];
};

/* Serve one popped chain; returns the used length to report. */
static inline uint32_t fake_blk_do(struct fake_dev *fd, struct fake_blk *b,
				   struct virtq_chain *c)
{
	struct virtq_blk_outhdr h;
	uint32_t type, data_in, data_out, segs, i;
	uint64_t sector;
	uint8_t status = VIRTQ_BLK_S_OK;

	CHECK(c->n_out >= 1 && c->n_in >= 1);
	CHECK_EQ(c->iov[0].iov_len, 16);	/* the header is a segment of its own */
	CHECK_EQ(c->iov[c->n_out + c->n_in - 1].iov_len, 1);	/* and the status */
	memcpy(&h, c->iov[0].iov_base, 16);
	type = fd->t.legacy_align ? h.type : virtq_le32(h.type);
	sector = fd->t.legacy_align ? h.sector : virtq_le64(h.sector);
	data_out = c->out_len - 16;
	data_in = c->in_len - 1;
	segs = c->n_out + c->n_in - 2;
	if (segs > b->max_segs)
		b->max_segs = segs;
	for (i = 1; i + 1 < c->n_out + c->n_in; i++) {
		if (c->iov[i].iov_len > b->max_seg_len)
			b->max_seg_len = (uint32_t)c->iov[i].iov_len;
		if (b->size_max)
			CHECK(c->iov[i].iov_len <= b->size_max);
	}
	if (b->seg_max)
		CHECK(segs <= b->seg_max);
	b->reqs++;
	switch (type) {
	case VIRTQ_BLK_T_IN:
		CHECK_EQ(data_out, 0);
		if (data_in % 512 || sector > b->sectors || data_in / 512 > b->sectors - sector) {
			status = VIRTQ_BLK_S_IOERR;
			break;
		}
		fake_iov_copy(c, true, 0, b->disk + sector * 512, data_in, true);
		break;
	case VIRTQ_BLK_T_OUT:
		CHECK_EQ(data_in, 0);
		if (data_out % 512 || sector > b->sectors || data_out / 512 > b->sectors - sector) {
			status = VIRTQ_BLK_S_IOERR;
			break;
		}
		fake_iov_copy(c, false, 16, b->disk + sector * 512, data_out, false);
		break;
	case VIRTQ_BLK_T_FLUSH:
		b->flushes++;
		break;
	case VIRTQ_BLK_T_GET_ID:
		fake_iov_copy(c, true, 0, b->id, data_in < 20 ? data_in : 20, true);
		break;
	default:
		status = VIRTQ_BLK_S_UNSUPP;
	}
	if (b->status_override >= 0)
		status = (uint8_t)b->status_override;
	if (!b->no_status)
		fake_iov_copy(c, true, data_in, &status, 1, true);
	if (b->len_override >= 0)
		return (uint32_t)b->len_override;
	return (uint32_t)((int64_t)c->in_len + b->len_delta);
}

static void fake_blk_serve(struct fake_dev *fd, uint16_t qi)
{
	struct fake_blk *b = fd->model;
	struct virtq_chain c;
	int r;

	CHECK_EQ(qi, 0);
	while ((r = fake_pop(fd, 0, &c)) != 0) {
		uint32_t len;

		CHECK_EQ(r, 1);
		len = fake_blk_do(fd, b, &c);
		if (b->hold) {
			CHECK(b->nheld < 256);
			b->held[b->nheld] = c.head;
			b->held_len[b->nheld++] = len;
			continue;
		}
		fake_push(fd, 0, c.head, len);
	}
}

/* Complete the held chains, last first. */
static inline void fake_blk_release(struct fake_dev *fd, struct fake_blk *b)
{
	while (b->nheld) {
		b->nheld--;
		fake_push(fd, 0, b->held[b->nheld], b->held_len[b->nheld]);
	}
}

/* A block device of @sectors offering @features, its config filled in. */
static inline struct fake_dev *fake_blk_new(struct fake_blk *b, uint64_t sectors,
					    uint64_t features, uint32_t legacy_align)
{
	struct fake_dev *fd = fake_new(VIRTQ_ID_BLOCK, features, legacy_align);

	memset(b, 0, sizeof(*b));
	b->sectors = sectors;
	b->disk = calloc(sectors ? sectors : 1, 512);
	CHECK(b->disk != NULL);
	fd->owned[fd->nowned++] = b->disk;
	b->status_override = -1;
	b->len_override = -1;
	memcpy(b->id, "fake-blk-serial", 15);
	fd->model = b;
	fd->serve = fake_blk_serve;
	fake_cfg64(fd, 0, sectors);
	return fd;
}

static inline void fake_blk_seg(struct fake_dev *fd, struct fake_blk *b, uint32_t seg_max,
				uint32_t size_max)
{
	b->seg_max = seg_max;
	b->size_max = size_max;
	fake_cfg32(fd, 8, size_max);
	fake_cfg32(fd, 12, seg_max);
}


/* Bring up @blk on @fd with a queue of @num (indirect pool of @ind entries). */
static inline int fake_blk_init(struct fake_dev *fd, struct virtq_blk *blk, uint32_t num,
				uint16_t ind, uint64_t ring_features)
{
	struct virtq_blk_config c = { 0 };

	c.queue = fake_queue_mem(fd, num, ind);
	c.ring_features = ring_features;
	c.dma = fake_dma(fd);
	c.wait.poll_max = 100000;
	return virtq_blk_init(blk, &fd->t, &c);
}

#endif /* VIRTQ_FAKE_BLK_H */
