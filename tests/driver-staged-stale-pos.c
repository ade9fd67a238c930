/* SPDX-License-Identifier: MIT */
/*
 * driver-staged-stale-pos: a chain that stays out while more than 2^16
 * others go round keeps the 16-bit avail position it was placed at; the
 * staged window can cover that position again.  The driver must still
 * take the chain back when the device returns it (it was published long
 * ago), and must still refuse the staged head that now sits at that
 * position.  Through get_used, get_used_batch of one entry, and a batch of
 * two (the batch loop with a staged window); chains added with add_inbuf
 * and with virtq_driver_add; EVENT_IDX on and off.
 */
#include "driver-test.h"

static char buf[8][64];
static struct tchain c;

enum { VIA_GET_USED, VIA_BATCH_ONE, VIA_BATCH_TWO, VIA_N };

static void add(struct tq *q, bool general, char *b, void *token)
{
	struct virtq_sg in = { b, 16 };

	if (general)
		CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, &in, 1, token), 0);
	else
		CHECK_EQ(virtq_driver_add_inbuf(q->vq, b, 16, token), 0);
}

/* Add, publish, let the device take it; its head. */
static uint16_t add_published(struct tq *q, bool general, char *b, void *token)
{
	add(q, general, b, token);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK(c.in_len == 16);
	return c.head;
}

static void run(uint64_t feat, bool general, int via)
{
	struct tq *q = tq_new(8, feat, 0, 0);
	void *tok[4] = { 0 };
	uint32_t len[4] = { 0 };
	uint16_t head_a, head_b = 0, head_s;
	uint32_t i;
	void *t;
	uint32_t l;

	/* Chain A at avail position 0, published, held by the device. */
	head_a = add_published(q, general, buf[0], buf[0]);

	/* 65534 other chains go round: avail_idx gets to 65535. */
	for (i = 0; i < 65534; i++) {
		uint16_t h = add_published(q, general, buf[1], buf[1]);

		tq_push(q, h, 1);
		tq_flush(q);
		t = NULL;
		CHECK_EQ(virtq_driver_get_used(q->vq, &t, &l), 1);
		CHECK(t == buf[1]);
		CHECK_EQ(l, 1);
	}
	CHECK_EQ(tq_avail_idx(q), 65535);

	if (via == VIA_BATCH_TWO)	/* B at 65535, published */
		head_b = add_published(q, general, buf[2], buf[2]);
	else
		add(q, general, buf[2], buf[2]);	/* staged at 65535 */
	/* Staged at position 0, A's old one; and one more. */
	add(q, general, buf[3], buf[3]);
	add(q, general, buf[4], buf[4]);
	head_s = virtq_le16(q->cfg.avail->ring[0]);
	CHECK(head_s != head_a);

	/* The device returns A (and B): both are published chains. */
	tq_push(q, head_a, 8);
	if (via == VIA_BATCH_TWO)
		tq_push(q, head_b, 4);
	tq_flush(q);
	switch (via) {
	case VIA_GET_USED:
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok[0], &len[0]), 1);
		break;
	case VIA_BATCH_ONE:
		CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len, 1), 1);
		break;
	default:
		CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len, 4), 2);
		CHECK(tok[1] == buf[2]);
		CHECK_EQ(len[1], 4);
		break;
	}
	CHECK(tok[0] == buf[0]);
	CHECK_EQ(len[0], 8);
	CHECK(!virtq_driver_is_broken(q->vq));

	/* The head staged at position 0 is still not the device's. */
	tq_push(q, head_s, 0);
	tq_flush(q);
	tok[0] = NULL;
	if (via == VIA_GET_USED)
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok[0], &len[0]), -EIO);
	else
		CHECK_EQ(virtq_driver_get_used_batch(q->vq, tok, len,
						     via == VIA_BATCH_ONE ? 1 : 4),
			 -EIO);
	CHECK(tok[0] == NULL);
	CHECK(virtq_driver_is_broken(q->vq));
	tq_free(q);
}

int main(void)
{
	for (int f = 0; f < 4; f++) {
		uint64_t feat = (f & 1) ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;

		for (int via = 0; via < VIA_N; via++)
			run(feat, f & 2, via);
	}
	printf("driver-staged-stale-pos: ok\n");
	return 0;
}
