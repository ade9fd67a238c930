/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-split: virtio-blk transfers follow the device's limits.
 * With seg_max / size_max advertised, no request has more data segments
 * than seg_max or a segment above size_max (the fake device CHECKs each),
 * a large synchronous transfer becomes several requests that together
 * move every byte, and an asynchronous request too big for one chain is
 * -EMSGSIZE.  Buffers the DMA mapping cuts at page boundaries take a
 * segment per piece, and a transfer is then cut on blk_size boundaries;
 * when not even one block fits a request, the call is -EMSGSIZE.
 */
#include "fake-blk.h"

#define SECTORS	1024

static void pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 10));
}

static void run(uint32_t seg_max, uint32_t size_max, uint32_t blk_size, bool split,
		bool ind, uint32_t want_max_transfer)
{
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, SECTORS,
		VIRTQ_FEATURE(VIRTQ_BLK_F_SEG_MAX) | VIRTQ_FEATURE(VIRTQ_BLK_F_SIZE_MAX) |
		VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 0);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	struct virtq_blk_req *req;
	uint8_t *buf, *want = malloc(256 * 1024);
	uint32_t len = 256 * 1024, mt;

	CHECK(want != NULL);
	fake_blk_seg(fd, &b, seg_max, size_max);
	fake_cfg32(fd, 20, blk_size);
	CHECK_EQ(fake_blk_init(fd, blk, 64, ind ? 16 : 0,
			       ind ? VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0), 0);
	if (split)
		fake_split_from_here(fd);
	req = fake_alloc(fd, sizeof(*req), 64);
	buf = (uint8_t *)fake_alloc(fd, len + 4096, 4096) + 512;	/* starts mid-page */
	mt = virtq_blk_max_transfer(blk);
	CHECK_EQ(mt, want_max_transfer);
	CHECK_EQ(virtq_blk_block_size(blk), blk_size);

	pattern(want, len, seg_max);
	memcpy(buf, want, len);
	b.reqs = 0;
	if (split && seg_max == 1 && blk_size == 4096) {
		/* One segment, buffer mid-page: no whole block in a request. */
		CHECK_EQ(virtq_blk_write(blk, 0, buf, len), -EMSGSIZE);
		CHECK_EQ(b.reqs, 0);
		buf -= 512;			/* page-aligned now: one page per request */
		memcpy(buf, want, len);
	}
	CHECK_EQ(virtq_blk_write(blk, 0, buf, len), 0);
	CHECK(memcmp(b.disk, want, len) == 0);
	/* At least len / max_transfer requests; more when pages cut segments. */
	CHECK(b.reqs >= (len + mt - 1) / mt);
	if (!split)
		CHECK_EQ(b.reqs, (len + mt - 1) / mt);
	CHECK(b.max_segs <= seg_max);
	CHECK(b.max_seg_len <= size_max);
	if (split)
		CHECK(b.max_seg_len <= 4096);

	memset(buf, 0, len);
	CHECK_EQ(virtq_blk_read(blk, 0, buf, len), 0);
	CHECK(memcmp(buf, want, len) == 0);

	/* One request: at most what fits. */
	req->type = VIRTQ_BLK_T_IN;
	req->sector = 0;
	req->buf = buf;
	req->len = mt + blk_size;
	if (req->len <= len)
		CHECK_EQ(virtq_blk_submit(blk, req), -EMSGSIZE);
	else
		CHECK_EQ(virtq_blk_submit(blk, req), -ERANGE);	/* past the end first */
	CHECK_EQ(virtq_driver_num_free(virtq_blk_queue(blk)), 64);
	if (!split && mt <= len) {
		struct virtq_blk_req *done;

		req->len = mt;
		CHECK_EQ(virtq_blk_submit(blk, req), 0);
		CHECK_EQ(virtq_blk_poll(blk, &done), 1);
		CHECK_EQ(done->result, 0);
	}
	free(want);
	fake_free(fd);
}

int main(void)
{
	/* seg_max, size_max, blk_size, page split, indirect, expected max transfer */
	run(3, 1024, 512, false, false, 3072);
	run(3, 1024, 512, true, false, 3072);
	run(2, 1536, 1024, false, false, 3072);
	run(2, 1536, 1024, true, true, 3072);
	run(5, 700, 512, false, true, 3072);	/* 3500 rounded down to 512s */
	run(1, 4096, 4096, true, false, 4096);	/* mid-page: -EMSGSIZE; aligned: fine */
	run(200, 65536, 512, false, false, 62 * 65536);	/* ring of 64: 62 data segments */
	run(200, 65536, 512, false, true, 62 * 65536);	/* indirect 16 < ring 64 */
	run(64, 0xffffffffu, 4096, true, false, 0x80000000u);	/* capped at 2 GiB */
	printf("drivers-blk-split: ok\n");
	return 0;
}
