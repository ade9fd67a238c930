/* SPDX-License-Identifier: MIT */
/*
 * driver-indirect-max-queue-size: the driver never builds a chain longer
 * than the queue size, indirect ones included (VIRTIO 1.x 2.7.5.3.1: "The
 * driver MUST NOT create a descriptor chain longer than the Queue Size of
 * the device").  A pool of indirect_max = 64 over queues of size 1..32:
 * every chain the device sees, direct or through its table, has at most
 * num descriptors; chains of up to num segments still go indirect.
 */
#include "driver-test.h"

static char buf[64];

static const uint64_t IND = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);

int main(void)
{
	for (uint32_t num = 1; num <= 32; num *= 2) {
		for (unsigned int segs = 1; segs <= 64; segs++) {
			struct virtq_sg sg[64];
			struct tchain c;
			struct tq *q = tq_new(num, IND, 64, 0);
			int r;

			for (unsigned int i = 0; i < segs; i++)
				sg[i] = (struct virtq_sg){ buf + i, 1 };
			r = virtq_driver_add(q->vq, sg, segs, NULL, 0, buf);
			if (segs > num) {
				/* Too long for the queue, direct or not. */
				if (r != -ENOSPC) {
					fprintf(stderr, "num %u: a %u-segment chain "
						"was added (%d)\n", num, segs, r);
					return 1;
				}
				tq_free(q);
				continue;
			}
			CHECK_EQ(r, 0);
			virtq_driver_publish(q->vq);
			CHECK_EQ(tq_pop(q, &c), 1);
			CHECK(c.n <= num);
			CHECK_EQ(c.n, segs);
			/* Indirect whenever it may be: 2 .. num segments. */
			CHECK_EQ(c.indirect, segs >= 2);
			tq_free(q);
		}
	}
	printf("driver-indirect-max-queue-size: ok\n");
	return 0;
}
