/* SPDX-License-Identifier: MIT */
/*
 * driver-fast-paths-staged-head: the fast paths (add_inbuf / add_outbuf,
 * get_used_batch) keep get_used's rule that a staged (added, not yet
 * published) head cannot come back: the device cannot have seen it.  A
 * device that returns one latches the queue broken; the staged chain's
 * token is never handed out, the tokens before it are.  Both batch paths:
 * one entry (max 1) and several.
 */
#include "driver-test.h"

static char buf[4][64];

static void one_entry(uint64_t feat)
{
	struct tq *q = tq_new(8, feat, 0, 0);
	void *tok[4] = { 0 };
	uint32_t len[4];

	CHECK_EQ(virtq_driver_add_outbuf(q->vq, buf[0], 8, buf[0]), 0);
	virtq_driver_publish(q->vq);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, buf[1], 8, buf[1]), 0);	/* staged: head 1 */
	tq_push(q, 1, 0);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len, 1), -EIO);
	CHECK(tok[0] == NULL);
	CHECK(virtq_driver_is_broken(q->vq));
	tq_free(q);
}

static void several(uint64_t feat)
{
	struct tq *q = tq_new(8, feat, 0, 0);
	void *tok[4] = { 0 };
	uint32_t len[4];

	CHECK_EQ(virtq_driver_add_outbuf(q->vq, buf[0], 8, buf[0]), 0);	/* head 0 */
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, buf[1], 8, buf[1]), 0);	/* head 1 */
	virtq_driver_publish(q->vq);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, buf[2], 8, buf[2]), 0);	/* head 2, staged */
	tq_push(q, 0, 0);
	tq_push(q, 2, 0);	/* the staged head */
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len, 4), 1);
	CHECK(tok[0] == buf[0]);
	CHECK(tok[1] == NULL);
	CHECK(virtq_driver_is_broken(q->vq));
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len, 4), -EIO);
	tq_free(q);
}

int main(void)
{
	for (int f = 0; f < 2; f++) {
		uint64_t feat = f ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;

		one_entry(feat);
		several(feat);
	}
	printf("driver-fast-paths-staged-head: ok\n");
	return 0;
}
