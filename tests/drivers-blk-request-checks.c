/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-request-checks: what the virtio-blk driver refuses before
 * the device sees it (the device must not get a request it would have to
 * reject): sector or length not on blk_size boundaries -> -EINVAL,
 * beyond the capacity (also with sector + length overflowing) -> -ERANGE,
 * a write to a read-only device -> -EROFS, an unknown request type or a
 * bad GET_ID length -> -EINVAL, FLUSH without the feature -> -ENOTSUP
 * (virtq_blk_flush then does nothing and says 0).  None of them reaches
 * the device or takes a descriptor.
 */
#include "fake-blk.h"

int main(void)
{
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, 4096,
		VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE) | VIRTQ_FEATURE(VIRTQ_BLK_F_RO), 0);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	struct virtq_blk_req *req = fake_alloc(fd, sizeof(*req), 64);
	uint8_t *buf = fake_alloc(fd, 65536, 64);
	static const struct { uint64_t sector; uint32_t len; int want; } io[] = {
		{ 0, 4096, 0 }, { 8, 8192, 0 }, { 4088, 4096, 0 },
		{ 1, 4096, -EINVAL }, { 4, 4096, -EINVAL }, { 0, 512, -EINVAL },
		{ 0, 6144, -EINVAL }, { 8, 0, -EINVAL },
		{ 4096, 4096, -ERANGE }, { 4088, 8192, -ERANGE },
		{ ~7ull, 4096, -ERANGE }, { (1ull << 61), 4096, -ERANGE },
	};
	unsigned int i, reqs;

	fake_cfg32(fd, 20, 4096);
	CHECK_EQ(fake_blk_init(fd, blk, 16, 0, 0), 0);
	CHECK_EQ(virtq_blk_block_size(blk), 4096);
	CHECK(virtq_blk_read_only(blk));
	for (i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		reqs = b.reqs;
		CHECK_EQ(virtq_blk_read(blk, io[i].sector, buf, io[i].len), io[i].want);
		CHECK_EQ(b.reqs, reqs + (io[i].want == 0));
		/* Read-only comes first for writes, whatever else is wrong. */
		CHECK_EQ(virtq_blk_write(blk, io[i].sector, buf, io[i].len), -EROFS);
		CHECK_EQ(b.reqs, reqs + (io[i].want == 0));
	}

	/* No FLUSH feature: nothing to flush. */
	reqs = b.reqs;
	CHECK_EQ(virtq_blk_flush(blk), 0);
	CHECK_EQ(b.reqs, reqs);
	req->type = VIRTQ_BLK_T_FLUSH;
	CHECK_EQ(virtq_blk_submit(blk, req), -ENOTSUP);
	req->type = 2;			/* not a type the driver knows */
	req->len = 4096;
	req->buf = buf;
	CHECK_EQ(virtq_blk_submit(blk, req), -EINVAL);
	req->type = VIRTQ_BLK_T_GET_ID;
	req->len = 21;
	CHECK_EQ(virtq_blk_submit(blk, req), -EINVAL);
	req->len = 0;
	CHECK_EQ(virtq_blk_submit(blk, req), -EINVAL);
	req->type = VIRTQ_BLK_T_OUT;
	req->len = 4096;
	CHECK_EQ(virtq_blk_submit(blk, req), -EROFS);
	CHECK_EQ(b.reqs, reqs);
	CHECK_EQ(virtq_driver_num_free(virtq_blk_queue(blk)), 16);

	/* A buffer the DMA mapping cannot reach. */
	{
		uint8_t stack_buf[4096];

		CHECK_EQ(virtq_blk_read(blk, 0, stack_buf, 4096), -EFAULT);
		CHECK_EQ(b.reqs, reqs);
	}
	fake_free(fd);
	printf("drivers-blk-request-checks: ok\n");
	return 0;
}
