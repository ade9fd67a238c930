/* SPDX-License-Identifier: MIT */
/*
 * drivers-rng: the virtio-rng driver against our device side.
 *  - fill gets every byte from the device, over answers shorter than
 *    asked, buffers the DMA mapping cuts at pages, modern and legacy,
 *    EVENT_IDX on and off;
 *  - asynchronous requests in flight come back once each, by poll and by
 *    the interrupt harvest (which acknowledges the interrupt);
 *  - hostile: a used length above the buffer breaks the queue (-EIO, and
 *    -EIO after); a device that keeps answering nothing is -ENODATA; one
 *    that never answers is -ETIMEDOUT; a wrong device is -ENODEV.
 */
#include "fake-transport.h"
#include "virtq/drivers/rng.h"

struct fake_rng {
	uint32_t give_max;	/* bytes per answer at most (0: none) */
	int64_t len_override;	/* >= 0: report this used length */
	uint8_t next;		/* the "entropy": a counter */
	unsigned int answers;
};

static void rng_serve(struct fake_dev *fd, uint16_t qi)
{
	struct fake_rng *m = fd->model;
	struct virtq_chain c;
	int r;

	while ((r = fake_pop(fd, qi, &c)) != 0) {
		uint32_t n = c.in_len < m->give_max ? c.in_len : m->give_max, i;

		CHECK_EQ(r, 1);
		CHECK_EQ(c.n_out, 0);
		CHECK_EQ(c.ndesc, 1);		/* one descriptor per request */
		for (i = 0; i < n; i++) {
			uint8_t b = m->next++;

			fake_iov_copy(&c, true, i, &b, 1, true);
		}
		m->answers++;
		fake_push(fd, qi, c.head, m->len_override >= 0 ? (uint32_t)m->len_override : n);
	}
}

static struct fake_dev *up(struct fake_rng *m, struct virtq_rng **rng, uint32_t legacy,
			   bool ev, int want)
{
	struct fake_dev *fd = fake_new(VIRTQ_ID_RNG, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), legacy);
	struct virtq_rng_config c = { 0 };

	memset(m, 0, sizeof(*m));
	m->give_max = 100000;
	m->len_override = -1;
	fd->model = m;
	fd->serve = rng_serve;
	*rng = fake_alloc(fd, sizeof(**rng), 64);
	c.queue = fake_queue_mem(fd, 8, 0);
	c.ring_features = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;
	c.dma = fake_dma(fd);
	c.wait.poll_max = 1000;
	CHECK_EQ(virtq_rng_init(*rng, &fd->t, &c), want);
	return fd;
}

static unsigned int got_tokens[8];

static void done(void *opaque, void *token, uint32_t len)
{
	uintptr_t i = (uintptr_t)token - 1;

	CHECK(opaque == got_tokens);
	CHECK(i < 8);
	CHECK_EQ(len, 64);
	got_tokens[i]++;
}

static void run(uint32_t legacy, bool ev)
{
	struct fake_rng m;
	struct virtq_rng *rng;
	struct fake_dev *fd = up(&m, &rng, legacy, ev, 0);
	uint8_t *buf;
	uint32_t i, len;
	void *tok;

	fake_split_from_here(fd);
	buf = fake_alloc(fd, 20000 + 100, 4096) + 100;
	/* Every byte from the device, in order, 7 bytes per answer. */
	m.give_max = 7;
	memset(buf, 0, 20000);
	CHECK_EQ(virtq_rng_fill(rng, buf, 20000), 0);
	for (i = 0; i < 20000; i++)
		CHECK_EQ(buf[i], (uint8_t)i);
	CHECK(m.answers >= (20000 + 6) / 7);	/* more: page pieces end short */
	/* Whole answers, one per page piece. */
	m.give_max = 100000;
	m.answers = 0;
	m.next = 0;
	CHECK_EQ(virtq_rng_fill(rng, buf, 20000), 0);
	CHECK_EQ(m.answers, 5);			/* 100 bytes into a page, 20000 bytes */
	CHECK_EQ(buf[19999], (uint8_t)19999);
	CHECK_EQ(virtq_rng_read(rng, buf, 10), 10);
	CHECK_EQ(virtq_rng_read(rng, buf, 0), -EINVAL);

	/* Asynchronous: 8 in flight, harvested by poll and by interrupt. */
	fd->defer = true;
	for (i = 0; i < 8; i++)
		CHECK_EQ(virtq_rng_submit(rng, buf + 64 * i, 64, (void *)(uintptr_t)(i + 1)), 0);
	CHECK_EQ(virtq_rng_submit(rng, buf, 64, (void *)1), -ENOSPC);
	CHECK_EQ(virtq_rng_read(rng, buf, 10), -EBUSY);
	rng_serve(fd, 0);
	memset(got_tokens, 0, sizeof(got_tokens));
	CHECK_EQ(virtq_rng_poll(rng, &tok, &len), 1);
	CHECK(tok == (void *)1);
	CHECK_EQ(len, 64);
	got_tokens[0]++;
	CHECK_EQ(virtq_rng_interrupt(rng, done, got_tokens), 7);
	CHECK_EQ(fd->isr, 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(got_tokens[i], 1);
	CHECK_EQ(virtq_rng_poll(rng, &tok, &len), 0);
	fd->defer = false;

	/* A device that gives nothing, over and over. */
	m.give_max = 0;
	CHECK_EQ(virtq_rng_fill(rng, buf, 16), -ENODATA);
	/* One that says it wrote more than the buffer holds. */
	m.give_max = 100000;
	m.len_override = 65;
	CHECK_EQ(virtq_rng_read(rng, buf, 64), -EIO);
	m.len_override = -1;
	CHECK_EQ(virtq_rng_read(rng, buf, 64), -EIO);
	fake_free(fd);

	/* One that never answers. */
	fd = up(&m, &rng, legacy, ev, 0);
	fd->defer = true;
	buf = fake_alloc(fd, 64, 64);
	CHECK_EQ(virtq_rng_read(rng, buf, 64), -ETIMEDOUT);
	CHECK_EQ(virtq_rng_read(rng, buf, 64), -EIO);
	fake_free(fd);
}

int main(void)
{
	struct fake_rng m;
	struct virtq_rng *rng;
	struct fake_dev *fd;

	for (uint32_t legacy = 0; legacy <= 4096; legacy += 4096)
		for (int ev = 0; ev < 2; ev++)
			run(legacy, ev);
	fd = up(&m, &rng, 0, false, 0);
	fake_free(fd);
	/* Not an rng. */
	{
		struct fake_dev *bad = fake_new(VIRTQ_ID_BLOCK, 0, 0);
		struct virtq_rng_config c = { 0 };
		struct virtq_rng r;

		c.queue = fake_queue_mem(bad, 8, 0);
		CHECK_EQ(virtq_rng_init(&r, &bad->t, &c), -ENODEV);
		bad->t.device_id = VIRTQ_ID_RNG;
		bad->refuse_features = true;
		CHECK_EQ(virtq_rng_init(&r, &bad->t, &c), -ENOTSUP);
		CHECK(bad->status & VIRTQ_STATUS_FAILED);
		fake_free(bad);
	}
	printf("drivers-rng: ok\n");
	return 0;
}
