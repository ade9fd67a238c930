/* SPDX-License-Identifier: MIT */
/*
 * driver-used-staged-head: a device returns the head of a chain that was
 * added but not yet published (staged).  It cannot have seen that chain:
 * get_used must latch the queue broken (-EIO) and not hand out the staged
 * chain's token; otherwise the head is freed, reused, and the same head
 * sits in the avail ring twice after the next publish.  Direct and
 * indirect chains, EVENT_IDX on and off; and after the publish the same
 * head is accepted.
 */
#include "driver-test.h"

static char buf[4][64];

static const uint64_t IND = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
static const uint64_t EVI = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);

int main(void)
{
	for (int f = 0; f < 4; f++) {
		uint64_t feat = ((f & 1) ? IND : 0) | ((f & 2) ? EVI : 0);
		struct virtq_sg out[2] = { { buf[0], 8 }, { buf[0] + 8, 8 } };
		struct virtq_sg in[1] = { { buf[1], 16 } };
		struct virtq_sg out2[2] = { { buf[2], 8 }, { buf[2] + 8, 8 } };
		struct virtq_sg in2[1] = { { buf[3], 16 } };
		uint16_t staged_head;
		struct tchain c;
		void *tok = NULL;
		uint32_t len;
		struct tq *q;
		int r;

		/* A published chain, and a staged one. */
		q = tq_new(8, feat, (f & 1) ? 4 : 0, 0);
		CHECK_EQ(virtq_driver_add(q->vq, out, 2, in, 1, buf[0]), 0);
		virtq_driver_publish(q->vq);
		staged_head = (uint16_t)((f & 1) ? 1 : 3);	/* next free */
		CHECK_EQ(virtq_driver_add(q->vq, out2, 2, in2, 1, buf[2]), 0);
		CHECK_EQ(virtq_le16(q->cfg.avail->ring[1]), staged_head);
		CHECK_EQ(tq_avail_idx(q), 1);

		/* The device returns the staged head. */
		tq_push(q, staged_head, 0);
		tq_flush(q);
		r = virtq_driver_get_used(q->vq, &tok, &len);
		if (r != -EIO) {
			fprintf(stderr, "features %d: get_used of a staged head "
				"returned %d (token %s)\n", f, r,
				tok == buf[2] ? "of the staged chain" : "other");
			return 1;
		}
		CHECK(virtq_driver_is_broken(q->vq));
		CHECK(tok == NULL);
		tq_free(q);

		/* Once published, the same head comes back fine. */
		q = tq_new(8, feat, (f & 1) ? 4 : 0, 0);
		CHECK_EQ(virtq_driver_add(q->vq, out, 2, in, 1, buf[0]), 0);
		virtq_driver_publish(q->vq);
		CHECK_EQ(virtq_driver_add(q->vq, out2, 2, in2, 1, buf[2]), 0);
		virtq_driver_publish(q->vq);
		CHECK_EQ(tq_pop(q, &c), 1);
		CHECK_EQ(tq_pop(q, &c), 1);
		CHECK_EQ(c.head, staged_head);
		tq_push(q, staged_head, 16);
		tq_flush(q);
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
		CHECK(tok == buf[2]);
		CHECK_EQ(len, 16);
		CHECK(!virtq_driver_is_broken(q->vq));
		tq_free(q);
	}
	printf("driver-used-staged-head: ok\n");
	return 0;
}
