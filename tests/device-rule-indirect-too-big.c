/* SPDX-License-Identifier: MIT */
/*
 * device-rule-indirect-too-big: an indirect table with more than 32768
 * entries is -E2BIG; exactly 32768 entries is accepted.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		hr_desc(&h, 0, hr_gpa(HR_RING, 0x100000),
			(VIRTQ_MAX_SIZE + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -E2BIG, 0);

		hr_desc(&h, 0, hr_gpa(HR_RING, 0x100000), 0xfffffff0,
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -E2BIG, 0);

		/*
		 * 32768 entries (512 KiB of zeros in HR_RING): entry 0 is a
		 * zero-length readable descriptor without NEXT, so the chain
		 * is one empty buffer.  Then make it a 32768-long chain.
		 */
		hr_desc(&h, 0, hr_gpa(HR_RING, 0x100000), VIRTQ_MAX_SIZE * 16,
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK(h.c.indirect);
		CHECK_EQ(h.c.ndesc, 2);
		CHECK_EQ(h.c.n_out + h.c.n_in, 0);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);

		struct virtq_desc *t = hr_ptr(&h, hr_gpa(HR_RING, 0x100000));
		for (uint32_t i = 0; i + 1 < VIRTQ_MAX_SIZE; i++)
			hr_write_desc(&t[i], 0, 0, VIRTQ_DESC_F_NEXT,
				      (uint16_t)(i + 1));
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(h.c.ndesc, VIRTQ_MAX_SIZE + 1);	/* + the head */
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 2);
		memset(t, 0, VIRTQ_MAX_SIZE * 16);
		hr_fini(&h);
	}
	printf("device-rule-indirect-too-big: ok\n");
	return 0;
}
