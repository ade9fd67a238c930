/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-bad-config: virtio-blk init against devices that are wrong.
 * Each gets its own -errno, FAILED in the status where the device was
 * already reset, and never a hang:
 *   not a block device, no VERSION_1 (modern) -> -ENODEV; FEATURES_OK
 *   refused -> -ENOTSUP; reset stuck -> -ETIMEDOUT; config values out of
 *   range (capacity, seg_max 0, size_max 0, blk_size not a power of two or
 *   out of 512..65536, no block fitting a request) -> -EPROTO; config space
 *   too short -> -ERANGE; generation never settling -> -EAGAIN; queue 0
 *   missing -> -ENOENT, too small -> -ENOSPC, already live -> -EBUSY;
 *   caller memory too small -> -EINVAL; NEEDS_RESET at DRIVER_OK -> -EIO.
 * And: features the caller masks out are not accepted, nor ones the
 * device does not offer, nor ring bits the library does not implement.
 */
#include "fake-blk.h"

#define ALL_BLK (VIRTQ_FEATURE(VIRTQ_BLK_F_SIZE_MAX) | VIRTQ_FEATURE(VIRTQ_BLK_F_SEG_MAX) | \
		 VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE) | VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH))

struct bad {
	const char *what;
	int want;
	bool failed;		/* FAILED must be set */
	void (*setup)(struct fake_dev *fd);
};

static void wrong_id(struct fake_dev *fd) { fd->t.device_id = VIRTQ_ID_NET; }
static void no_v1(struct fake_dev *fd) { fd->offered &= ~VIRTQ_FEATURE(VIRTQ_F_VERSION_1); }
static void refuse(struct fake_dev *fd) { fd->refuse_features = true; }
static void stuck(struct fake_dev *fd) { fd->reset_stuck = true; }
static void cap_big(struct fake_dev *fd) { fake_cfg64(fd, 0, (1ull << 55) + 1); }
static void cap_max(struct fake_dev *fd) { fake_cfg64(fd, 0, ~0ull); }
static void seg0(struct fake_dev *fd) { fake_cfg32(fd, 12, 0); }
static void size0(struct fake_dev *fd) { fake_cfg32(fd, 8, 0); }
static void bs_768(struct fake_dev *fd) { fake_cfg32(fd, 20, 768); }
static void bs_256(struct fake_dev *fd) { fake_cfg32(fd, 20, 256); }
static void bs_0(struct fake_dev *fd) { fake_cfg32(fd, 20, 0); }
static void bs_128k(struct fake_dev *fd) { fake_cfg32(fd, 20, 131072); }
static void no_block_fits(struct fake_dev *fd)
{
	fake_cfg32(fd, 20, 4096);	/* blk_size */
	fake_cfg32(fd, 12, 2);		/* seg_max */
	fake_cfg32(fd, 8, 1024);	/* size_max: 2 KiB per request */
}
static void short_cfg(struct fake_dev *fd) { fd->t.config_len = 16; }	/* no blk_size */
static void tiny_cfg(struct fake_dev *fd) { fd->t.config_len = 4; }	/* no capacity */
static void gen(struct fake_dev *fd) { fd->gen_unstable = true; }
static void noq(struct fake_dev *fd) { fd->q[0].max = 0; }
static void q2(struct fake_dev *fd) { fd->q[0].max = 3; }	/* rounds down to 2 */
static void live(struct fake_dev *fd) { fd->q[0].live = true; }
static void dok(struct fake_dev *fd) { fd->fail_at_driver_ok = true; }

int main(void)
{
	static const struct bad bad[] = {
		{ "not a block device", -ENODEV, false, wrong_id },
		{ "modern without VERSION_1", -ENODEV, true, no_v1 },
		{ "FEATURES_OK refused", -ENOTSUP, true, refuse },
		{ "reset never completes", -ETIMEDOUT, false, stuck },
		{ "capacity above 2^55", -EPROTO, true, cap_big },
		{ "capacity 2^64-1", -EPROTO, true, cap_max },
		{ "seg_max 0", -EPROTO, true, seg0 },
		{ "size_max 0", -EPROTO, true, size0 },
		{ "blk_size 768", -EPROTO, true, bs_768 },
		{ "blk_size 256", -EPROTO, true, bs_256 },
		{ "blk_size 0", -EPROTO, true, bs_0 },
		{ "blk_size 128k", -EPROTO, true, bs_128k },
		{ "no block fits a request", -EPROTO, true, no_block_fits },
		{ "config too short for blk_size", -ERANGE, true, short_cfg },
		{ "config too short for capacity", -ERANGE, true, tiny_cfg },
		{ "generation never settles", -EAGAIN, true, gen },
		{ "no queue 0", -ENOENT, true, noq },
		{ "queue 0 too small", -ENOSPC, true, q2 },
		{ "queue 0 already live", -EBUSY, true, live },
		{ "NEEDS_RESET at DRIVER_OK", -EIO, true, dok },
	};
	struct fake_blk b;
	struct fake_dev *fd;
	struct virtq_blk *blk;
	struct virtq_blk_config c;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = fake_blk_new(&b, 1024, ALL_BLK, 0);
		fake_blk_seg(fd, &b, 8, 65536);
		fake_cfg32(fd, 20, 512);
		blk = fake_alloc(fd, sizeof(*blk), 64);
		bad[i].setup(fd);
		fprintf(stderr, "%s\n", bad[i].what);
		CHECK_EQ(fake_blk_init(fd, blk, 16, 0, 0), bad[i].want);
		CHECK_EQ(!!(fd->status & VIRTQ_STATUS_FAILED), bad[i].failed);
		CHECK(!(fd->status & VIRTQ_STATUS_DRIVER_OK) || bad[i].want == -EIO);
		/* A failed init leaves nothing usable. */
		CHECK_EQ(virtq_blk_read(blk, 0, b.disk, 512), -EIO);
		fake_free(fd);
	}

	/* Caller memory too small for the queue the device gives. */
	fd = fake_blk_new(&b, 1024, 0, 0);
	blk = fake_alloc(fd, sizeof(*blk), 64);
	memset(&c, 0, sizeof(c));
	c.queue = fake_queue_mem(fd, 16, 0);
	c.queue.num = 32;		/* sized for 16, asks for 32 */
	c.dma = fake_dma(fd);
	CHECK_EQ(virtq_blk_init(blk, &fd->t, &c), -EINVAL);
	CHECK(fd->status & VIRTQ_STATUS_FAILED);
	c.queue = fake_queue_mem(fd, 16, 0);
	c.queue.ring = (char *)c.queue.ring + 8;	/* misaligned */
	CHECK_EQ(virtq_blk_init(blk, &fd->t, &c), -EINVAL);
	CHECK_EQ(virtq_blk_init(blk, &fd->t, NULL), -EINVAL);
	fake_free(fd);

	/* What gets accepted: offered, allowed, implemented. */
	fd = fake_blk_new(&b, 1024, ALL_BLK | VIRTQ_FEATURE(VIRTQ_BLK_F_RO) |
			  VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) |
			  VIRTQ_FEATURE(VIRTQ_F_IN_ORDER) | VIRTQ_FEATURE(3) /* GEOMETRY-ish */, 0);
	fake_blk_seg(fd, &b, 8, 65536);
	fake_cfg32(fd, 20, 512);
	blk = fake_alloc(fd, sizeof(*blk), 64);
	memset(&c, 0, sizeof(c));
	c.queue = fake_queue_mem(fd, 16, 0);
	c.dma = fake_dma(fd);
	c.ring_features = VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) | VIRTQ_FEATURE(VIRTQ_F_IN_ORDER) |
			  VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);	/* none usable here */
	c.no_device_features = VIRTQ_FEATURE(VIRTQ_BLK_F_SEG_MAX);
	CHECK_EQ(virtq_blk_init(blk, &fd->t, &c), 0);
	CHECK_EQ(fd->accepted, VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
		 VIRTQ_FEATURE(VIRTQ_BLK_F_SIZE_MAX) | VIRTQ_FEATURE(VIRTQ_BLK_F_BLK_SIZE) |
		 VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH) | VIRTQ_FEATURE(VIRTQ_BLK_F_RO));
	CHECK(virtq_blk_read_only(blk));
	CHECK_EQ(virtq_blk_features(blk), fd->accepted);
	fake_free(fd);
	printf("drivers-blk-bad-config: ok\n");
	return 0;
}
