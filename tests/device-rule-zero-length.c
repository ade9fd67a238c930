/* SPDX-License-Identifier: MIT */
/*
 * device-rule-zero-length: zero-length descriptors are accepted and take
 * no iovec, and their address is not checked (even garbage); they still
 * count as descriptors (ndesc, loops) and keep the readable-then-writable
 * order.  A chain of nothing but empty descriptors pops with no iovecs.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[3];
		struct hring h;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		/* a single empty descriptor with a garbage address */
		hr_desc(&h, 0, 0xfffffffffffffff8ull, 0, 0, 0);
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(h.c.ndesc, 1);
		CHECK_EQ(h.c.n_out + h.c.n_in, 0);
		CHECK_EQ(h.c.out_len + h.c.in_len, 0);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);

		/* empty R, real W, empty W (address outside memory) */
		if (num >= 4) {
			hr_desc(&h, 2, 0, 0, VIRTQ_DESC_F_NEXT, 0);
			hr_desc(&h, 0, hr_gpa(HR_B, 4), 12,
				VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
			hr_desc(&h, 3, 0x12345, 0, VIRTQ_DESC_F_WRITE, 0);
			hr_offer(&h, 2);
			hr_reset_chain(&h, 1);	/* one iovec is enough */
			CHECK_EQ(virtq_device_pop(h.vq, &h.c), 1);
			CHECK_EQ(h.c.ndesc, 3);
			CHECK_EQ(h.c.n_out, 0);
			CHECK_EQ(h.c.n_in, 1);
			CHECK_EQ(h.c.in_len, 12);
			CHECK(h.iov[0].iov_base == hr_ptr(&h, hr_gpa(HR_B, 4)));
			CHECK_EQ(virtq_device_push(h.vq, 2, 12), 0);
		}

		/* in an indirect table */
		hr_write_desc(&t[0], 0, 0, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 0), 5, VIRTQ_DESC_F_NEXT, 2);
		hr_write_desc(&t[2], ~0ull, 0, VIRTQ_DESC_F_WRITE, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 3);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 1);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(h.c.ndesc, 4);
		CHECK_EQ(h.c.n_out, 1);
		CHECK_EQ(h.c.n_in, 0);
		CHECK_EQ(h.c.out_len, 5);
		CHECK_EQ(virtq_device_push(h.vq, 1, 0), 0);
		CHECK(virtq_device_flush(h.vq) >= 2);
		hr_check_canaries(&h);
		hr_expect_good_chain(&h);
		hr_fini(&h);
	}
	printf("device-rule-zero-length: ok\n");
	return 0;
}
