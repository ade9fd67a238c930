/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-inflight: many virtio-blk requests in flight at once.
 * Requests submitted asynchronously are held by the device and completed
 * in reverse order; each comes back exactly once with its own token and
 * data, from virtq_blk_poll or from virtq_blk_interrupt (which acknowledges
 * the transport's interrupt).  A full queue says -ENOSPC and takes nothing;
 * a synchronous call while requests are outstanding says -EBUSY.  With
 * EVENT_IDX on and off.
 */
#include "fake-blk.h"

#define NREQ 12

static unsigned int seen[NREQ];

static void complete(void *opaque, struct virtq_blk_req *req)
{
	uintptr_t i = (uintptr_t)req->token;

	CHECK(opaque == (void *)seen);
	CHECK_EQ(req->result, 0);
	if (i == 99)
		return;		/* a filler */
	CHECK(i < NREQ);
	seen[i]++;
}

static void run(bool ev, bool irq)
{
	struct fake_blk b;
	struct fake_dev *fd = fake_blk_new(&b, 4096, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0);
	struct virtq_blk *blk = fake_alloc(fd, sizeof(*blk), 64);
	struct virtq_blk_req *req = fake_alloc(fd, sizeof(*req) * 64, 64);
	uint8_t *data = fake_alloc(fd, NREQ * 1024, 64);
	struct virtq_blk_req *done;
	unsigned int i, n;
	int r;

	/* 64 entries: 12 requests of 3 descriptors fit, a 22nd does not. */
	CHECK_EQ(fake_blk_init(fd, blk, 64, 0, ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0), 0);
	for (i = 0; i < 4096 * 512; i++)
		b.disk[i] = (uint8_t)(i * 13 + (i >> 12));
	b.hold = true;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NREQ; i++) {
		req[i].type = i % 2 ? VIRTQ_BLK_T_OUT : VIRTQ_BLK_T_IN;
		req[i].sector = 100 + 2 * i;
		req[i].buf = data + i * 1024;
		req[i].len = 1024;
		req[i].token = (void *)(uintptr_t)i;
		if (req[i].type == VIRTQ_BLK_T_OUT)
			memset(req[i].buf, 0xc0 + i, 1024);
		CHECK_EQ(virtq_blk_submit(blk, &req[i]), 0);
	}
	CHECK_EQ(b.nheld, NREQ);
	CHECK_EQ(virtq_blk_poll(blk, &done), 0);
	CHECK_EQ(virtq_blk_read(blk, 0, data, 512), -EBUSY);
	CHECK_EQ(virtq_blk_flush(blk), 0);	/* no FLUSH: nothing to do */

	/* Fill the ring: 64 / 3 = 21 chains fit. */
	for (n = NREQ; ; n++) {
		req[n] = req[0];		/* a request of its own: reads sector 100 */
		req[n].token = (void *)(uintptr_t)99;
		r = virtq_blk_submit(blk, &req[n]);
		if (r)
			break;
		CHECK(n < 64);
	}
	CHECK_EQ(r, -ENOSPC);
	CHECK_EQ(n, 21);
	/* The extra ones (token 99) are answered by the device below too. */

	fake_blk_release(fd, &b);
	n = 0;
	if (irq) {
		CHECK(fd->isr & VIRTQ_ISR_QUEUE);
		r = virtq_blk_interrupt(blk, complete, seen);
		CHECK(r > 0);
		CHECK_EQ(fd->isr, 0);		/* acknowledged */
		/* Requests with token 99 went to complete() too: count them there. */
		CHECK_EQ(r, 21);
	} else {
		while ((r = virtq_blk_poll(blk, &done)) > 0) {
			uintptr_t t = (uintptr_t)done->token;

			CHECK_EQ(done->result, 0);
			if (t == 99)
				continue;
			CHECK(t < NREQ && done == &req[t]);
			seen[t]++;
			n++;
		}
		CHECK_EQ(r, 0);
		CHECK_EQ(n, NREQ);
	}
	for (i = 0; i < NREQ; i++) {
		CHECK_EQ(seen[i], 1);
		CHECK_EQ(req[i].result, 0);
		if (req[i].type == VIRTQ_BLK_T_IN) {
			CHECK(memcmp(req[i].buf, b.disk + req[i].sector * 512, 1024) == 0);
			CHECK_EQ(req[i].used_len, 1025);
		} else {
			for (unsigned int k = 0; k < 1024; k++)
				CHECK_EQ(b.disk[req[i].sector * 512 + k], 0xc0 + i);
			CHECK_EQ(req[i].used_len, 1);
		}
	}
	/* Nothing outstanding: synchronous calls work again. */
	b.hold = false;
	CHECK_EQ(virtq_blk_read(blk, 0, data, 512), 0);
	CHECK_EQ(virtq_driver_num_free(virtq_blk_queue(blk)), 64);
	fake_free(fd);
}

int main(void)
{
	for (int ev = 0; ev < 2; ev++)
		for (int irq = 0; irq < 2; irq++)
			run(ev, irq);
	printf("drivers-blk-inflight: ok\n");
	return 0;
}
