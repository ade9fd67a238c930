/* SPDX-License-Identifier: MIT */
/*
 * device-rule-indirect-without-feature: an INDIRECT descriptor when
 * VIRTQ_F_INDIRECT_DESC was not negotiated is -EOPNOTSUPP, as the head
 * or at the end of a chain, even if the table itself is well formed.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[2];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_EVENT_IDX);
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8, VIRTQ_DESC_F_WRITE, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);

		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		CHECK(!h.c.indirect);
		hr_expect_rejected(&h, r, -EOPNOTSUPP, 0);

		/* direct descriptor, then the indirect one */
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EOPNOTSUPP, 0);
		hr_fini(&h);

		/* The same chains pop with the feature. */
		hr_init(&h, num, HR_FEAT_INDIRECT);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK(h.c.indirect);
		CHECK_EQ(h.c.n_out, 2);
		CHECK_EQ(h.c.n_in, 1);
		CHECK_EQ(virtq_device_push(h.vq, 0, 8), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
		hr_fini(&h);
	}
	printf("device-rule-indirect-without-feature: ok\n");
	return 0;
}
