/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-rw: the virtio-blk driver reads, writes, flushes and gets
 * the ID of a RAM disk served by our device side, over the fake
 * transport, in every configuration: modern and legacy layout, EVENT_IDX
 * on / off, INDIRECT on / off, queue sizes 4..256, buffers mapped whole or
 * page by page.  What the driver writes lands in the disk byte for byte;
 * what it reads is the disk's.
 */
#include "fake-blk.h"

#define SECTORS	2048

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 31 + seed * 7) ^ (i >> 9));
}

static void run(uint32_t legacy, bool ev, bool ind, uint32_t num, bool split)
{
	static const struct { uint64_t sector; uint32_t len; } io[] = {
		{ 0, 512 }, { 1, 4096 }, { 9, 512 * 17 }, { 100, 65536 },
		{ SECTORS - 8, 4096 }, { 700, 512 * 200 },
	};
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, SECTORS,
		VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
		VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), legacy);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	struct virtq_blk_config c = { 0 };
	uint8_t *buf, *want = malloc(512 * 200);
	char *id, stack_id[20];
	uint32_t idlen = 0;
	unsigned int i;

	CHECK(want != NULL);
	c.queue = fake_queue_mem(fd, num, ind ? 8 : 0);
	if (split)
		fake_split_from_here(fd);
	buf = (uint8_t *)fake_alloc(fd, 512 * 200 + 7, 4096) + 7;	/* odd offset */
	id = fake_alloc(fd, 20, 1);
	c.ring_features = (ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0) |
			  (ind ? VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0);
	c.dma = fake_dma(fd);
	CHECK_EQ(virtq_blk_init(blk, &fd->t, &c), 0);
	CHECK(fd->status & VIRTQ_STATUS_DRIVER_OK);
	CHECK_EQ(virtq_blk_capacity(blk), SECTORS);
	CHECK_EQ(virtq_blk_block_size(blk), 512);
	CHECK(!virtq_blk_read_only(blk));
	CHECK_EQ(!!(virtq_blk_features(blk) & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)), ev);
	CHECK_EQ(!!(fd->accepted & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)), ind);
	CHECK_EQ(!!(fd->accepted & VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), !legacy);
	CHECK_EQ(virtq_driver_size(virtq_blk_queue(blk)), num);

	for (i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		fill(want, io[i].len, i + 1);
		memcpy(buf, want, io[i].len);
		CHECK_EQ(virtq_blk_write(blk, io[i].sector, buf, io[i].len), 0);
		CHECK(memcmp(b.disk + io[i].sector * 512, want, io[i].len) == 0);
	}
	for (i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		memset(buf, 0, io[i].len);
		CHECK_EQ(virtq_blk_read(blk, io[i].sector, buf, io[i].len), 0);
		CHECK(memcmp(buf, b.disk + io[i].sector * 512, io[i].len) == 0);
	}
	/* Overlapping writes: the later one wins, sector 9 is io[2]'s. */
	fill(want, 512 * 17, 3);
	CHECK(memcmp(b.disk + 9 * 512, want, 512 * 17) == 0);

	CHECK_EQ(virtq_blk_flush(blk), 0);
	CHECK_EQ(b.flushes, 1);
	/* The ID lands in caller memory: memory the device cannot reach is refused. */
	CHECK_EQ(virtq_blk_get_id(blk, stack_id, &idlen), -EFAULT);
	CHECK_EQ(virtq_blk_get_id(blk, id, &idlen), 0);
	CHECK_EQ(idlen, 15);
	CHECK(memcmp(id, "fake-blk-serial", 15) == 0);
	/* Every request went through the ring: nothing left outstanding. */
	CHECK_EQ(virtq_driver_num_free(virtq_blk_queue(blk)), num);

	free(want);
	fake_free(fd);
}

int main(void)
{
	static const uint32_t nums[] = { 4, 16, 256 };
	unsigned int n = 0;

	for (uint32_t legacy = 0; legacy <= 4096; legacy += 4096)
		for (int ev = 0; ev < 2; ev++)
			for (int ind = 0; ind < 2; ind++)
				for (unsigned int k = 0; k < 3; k++)
					for (int split = 0; split < 2; split++) {
						run(legacy, ev, ind, nums[k], split);
						n++;
					}
	printf("drivers-blk-rw: %u configurations ok\n", n);
	return 0;
}
