/* SPDX-License-Identifier: MIT */
/*
 * device-rule-iov-capacity: a chain needing more iovecs than c->iov_cap
 * is -ENOBUFS, and nothing is written past the capacity: too many
 * descriptors, a buffer spanning two regions when one slot is left, a
 * cap of 0, and the same through an indirect table.
 */
#include "hostile-ring.h"

/* Pop with capacity @cap; iovecs from @cap on must stay untouched. */
static int pop_cap(struct hring *h, uint32_t cap)
{
	int r;

	hr_reset_chain(h, cap);
	r = virtq_device_pop(h->vq, &h->c);
	const unsigned char *p = (const unsigned char *)&h->iov[cap];
	for (size_t i = 0; i < (HR_IOV_CAP + HR_IOV_EXTRA - cap) *
	     sizeof(struct iovec); i++)
		CHECK(p[i] == 0x5a);
	return r;
}

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[4];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		/* 2 descriptors, cap 1 and cap 0 */
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 8), 8, VIRTQ_DESC_F_WRITE, 0);
		for (uint32_t cap = 0; cap < 2; cap++) {
			hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
			hr_desc(&h, 1, hr_gpa(HR_A, 8), 8,
				VIRTQ_DESC_F_WRITE, 0);
			hr_offer(&h, 0);
			r = pop_cap(&h, cap);
			hr_expect_rejected(&h, r, -ENOBUFS, 0);
		}
		/* exactly enough */
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 8), 8, VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		CHECK_EQ(pop_cap(&h, 2), 1);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);

		/* one buffer spanning HR_A -> HR_B needs 2 */
		hr_desc(&h, 0, hr_gpa(HR_A, 0x10000 - 4), 8, 0, 0);
		hr_offer(&h, 0);
		r = pop_cap(&h, 1);
		hr_expect_rejected(&h, r, -ENOBUFS, 0);
		hr_desc(&h, 0, hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 0x10000 - 4), 8,
			VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		r = pop_cap(&h, 2);
		hr_expect_rejected(&h, r, -ENOBUFS, 0);
		hr_desc(&h, 0, hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 0x10000 - 4), 8,
			VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		CHECK_EQ(pop_cap(&h, 3), 1);
		CHECK_EQ(h.c.n_in, 2);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);

		/* 4 buffers in an indirect table, cap 3 */
		for (int i = 0; i < 4; i++)
			hr_write_desc(&t[i], hr_gpa(HR_C, 16 * i), 8,
				      i < 3 ? VIRTQ_DESC_F_NEXT : 0,
				      (uint16_t)(i + 1));
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 4);
		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = pop_cap(&h, 3);
		hr_expect_rejected(&h, r, -ENOBUFS, 0);
		hr_fini(&h);
	}
	printf("device-rule-iov-capacity: ok\n");
	return 0;
}
