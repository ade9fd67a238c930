/* SPDX-License-Identifier: MIT */
/*
 * device-rule-loop: a chain with more descriptors than the queue size (or
 * than an indirect table's length) is a loop: -ELOOP, consumed, reported
 * with its head.  A chain of exactly num descriptors is legal.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct hring h;
		int r;

		/* Self loop on descriptor 0 (first chain), then a cycle
		 * through every descriptor from head num-1. */
		hr_init(&h, num, 0);
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 0, VIRTQ_DESC_F_NEXT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -ELOOP, 0);
		for (uint32_t i = 0; i < num; i++)
			hr_desc(&h, (uint16_t)i, hr_gpa(HR_C, i % 1024), 0,
				VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % num));
		hr_offer(&h, (uint16_t)(num - 1));
		r = hr_pop(&h);
		CHECK_EQ(h.c.ndesc, num);	/* stopped after num */
		hr_expect_rejected(&h, r, -ELOOP, (uint16_t)(num - 1));

		/* Exactly num descriptors, the last without NEXT: fine. */
		for (uint32_t i = 0; i < num; i++)
			hr_desc(&h, (uint16_t)i, hr_gpa(HR_C, i % 1024), 1,
				i + 1 < num ? VIRTQ_DESC_F_NEXT : 0,
				(uint16_t)(i + 1));
		hr_offer(&h, 0);
		r = virtq_device_pop(h.vq, &(struct virtq_chain){
			.iov = NULL, .iov_cap = 0 });
		CHECK_EQ(r, -ENOBUFS);	/* needs num iovecs: probe only */
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		{
			static struct iovec big[VIRTQ_MAX_SIZE];
			struct virtq_chain c = { .iov = big,
						 .iov_cap = VIRTQ_MAX_SIZE };

			hr_offer(&h, 0);
			CHECK_EQ(virtq_device_pop(h.vq, &c), 1);
			CHECK_EQ(c.ndesc, num);
			CHECK_EQ(c.n_out, num);
			CHECK_EQ(c.out_len, num);
			CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
			CHECK_EQ(virtq_device_flush(h.vq), 2);
		}
		hr_fini(&h);

		/* Loop inside a 4-entry indirect table: 0 -> 1 -> 2 -> 1. */
		struct virtq_desc t[4];
		hr_init(&h, num, HR_FEAT_INDIRECT);
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8, VIRTQ_DESC_F_NEXT, 2);
		hr_write_desc(&t[2], hr_gpa(HR_C, 16), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[3], hr_gpa(HR_C, 24), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 4);
		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		CHECK(h.c.indirect);
		hr_expect_rejected(&h, r, -ELOOP, 0);
		hr_fini(&h);
	}
	printf("device-rule-loop: ok\n");
	return 0;
}
