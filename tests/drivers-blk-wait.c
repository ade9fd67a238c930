/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-wait: how synchronous virtio-blk calls wait.
 *  - with a wait hook (a wfi): the driver arms the queue's interrupt
 *    before each wait, the device answers "later" (from inside the hook,
 *    as an interrupt would), and the driver acknowledges the transport's
 *    interrupt status after waking; with EVENT_IDX on and off;
 *  - a device that never answers: -ETIMEDOUT after poll_max polls (and
 *    after poll_max waits with a hook), never a hang; the requests may
 *    still run, so every later call is -EIO.
 */
#include "fake-blk.h"

static unsigned int waits;
static struct fake_dev *dev;
static bool answer;

static void wfi(void *opaque)
{
	CHECK(opaque == &waits);
	waits++;
	if (answer) {
		/* The "interrupt": the device finishes what it was given. */
		fake_blk_serve(dev, 0);
		CHECK(dev->isr & VIRTQ_ISR_QUEUE);
	}
}

static void run(bool ev)
{
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, 1024, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	struct virtq_blk_config c = { 0 };
	uint8_t *buf = fake_alloc(fd, 65536, 64);

	dev = fd;
	fd->defer = true;		/* notify does not serve */
	c.queue = fake_queue_mem(fd, 16, 0);
	c.ring_features = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;
	c.dma = fake_dma(fd);
	c.wait.wait = wfi;
	c.wait.opaque = &waits;
	c.wait.poll_max = 50;
	CHECK_EQ(virtq_blk_init(blk, &fd->t, &c), 0);

	answer = true;
	waits = 0;
	memset(b.disk, 0x3c, 65536);
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 65536), 0);
	CHECK(memcmp(buf, b.disk, 65536) == 0);
	CHECK(waits >= 1);
	CHECK(fd->interrupts >= 1);	/* the driver had asked for it */
	CHECK_EQ(fd->isr, 0);		/* and acknowledged it */
	CHECK_EQ(virtq_blk_flush(blk), 0);

	/* The device goes silent: bounded. */
	answer = false;
	waits = 0;
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -ETIMEDOUT);
	CHECK_EQ(waits, 50);
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -EIO);
	fake_free(fd);

	/* Polling without a hook, silent device. */
	fd = fake_blk_new(&b, 1024, 0, 0);
	fd->defer = true;
	blk = fake_alloc(fd, sizeof(*blk), 64);
	buf = fake_alloc(fd, 512, 64);
	CHECK_EQ(fake_blk_init(fd, blk, 8, 0, 0), 0);	/* poll_max 100000 */
	CHECK_EQ(virtq_blk_write(blk, 0, buf, 512), -ETIMEDOUT);
	CHECK_EQ(virtq_blk_flush(blk), -EIO);		/* even with nothing to send */
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -EIO);
	fake_free(fd);
}

int main(void)
{
	run(false);
	run(true);
	printf("drivers-blk-wait: ok\n");
	return 0;
}
