/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-resize: the device changes its capacity and says so with a
 * configuration-change interrupt.  virtq_blk_interrupt re-reads it (and
 * acknowledges), so a read past the old end works and one past the new
 * end is -ERANGE; a capacity out of range is refused (-EPROTO from
 * virtq_blk_config_changed) and the old one stays.
 */
#include "fake-blk.h"

static void complete(void *opaque, struct virtq_blk_req *req)
{
	(void)opaque;
	(void)req;
	CHECK(0);		/* nothing is in flight */
}

int main(void)
{
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, 4096, 0, 0);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	uint8_t *buf = fake_alloc(fd, 4096, 64);

	b.sectors = 1024;		/* the medium stays 4096 sectors big */
	fake_cfg64(fd, 0, 1024);
	CHECK_EQ(fake_blk_init(fd, blk, 16, 0, 0), 0);
	CHECK_EQ(virtq_blk_capacity(blk), 1024);
	CHECK_EQ(virtq_blk_read(blk, 2000, buf, 512), -ERANGE);

	b.sectors = 4096;
	fake_cfg64(fd, 0, 4096);
	fd->generation++;
	fd->isr |= VIRTQ_ISR_CONFIG;
	CHECK_EQ(virtq_blk_interrupt(blk, complete, NULL), 0);
	CHECK_EQ(fd->isr, 0);
	CHECK_EQ(virtq_blk_capacity(blk), 4096);
	CHECK_EQ(virtq_blk_read(blk, 2000, buf, 512), 0);
	CHECK_EQ(virtq_blk_read(blk, 4096, buf, 512), -ERANGE);

	/* Out of range: refused, the old capacity stays. */
	fake_cfg64(fd, 0, ~0ull);
	CHECK_EQ(virtq_blk_config_changed(blk), -EPROTO);
	fd->isr |= VIRTQ_ISR_CONFIG;
	CHECK_EQ(virtq_blk_interrupt(blk, complete, NULL), 0);
	CHECK_EQ(virtq_blk_capacity(blk), 4096);
	/* Shrinks are taken too. */
	fake_cfg64(fd, 0, 8);
	CHECK_EQ(virtq_blk_config_changed(blk), 0);
	CHECK_EQ(virtq_blk_read(blk, 8, buf, 512), -ERANGE);
	CHECK_EQ(virtq_blk_read(blk, 7, buf, 512), 0);
	fake_free(fd);
	printf("drivers-blk-resize: ok\n");
	return 0;
}
