/* SPDX-License-Identifier: MIT */
/*
 * device-rule-indirect-with-next: a descriptor with both INDIRECT and NEXT
 * is -EPROTO, whether it is the head or later in the chain, and whatever
 * its next index.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[1];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 1);

		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), 16,
			VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 0), 8, 0, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EPROTO, 0);

		hr_desc(&h, 1, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 0);
		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), 16,
			VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 0xffff);
		hr_offer(&h, 1);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EPROTO, 1);
		hr_fini(&h);
	}
	printf("device-rule-indirect-with-next: ok\n");
	return 0;
}
