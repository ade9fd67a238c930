/* SPDX-License-Identifier: MIT */
/*
 * device-rule-indirect-len: an indirect table whose length is 0 or not a
 * multiple of 16 is -EBADMSG.
 */
#include "hostile-ring.h"

int main(void)
{
	const uint32_t bad[] = { 0, 1, 8, 15, 17, 24, 31, 0xffffffff };

	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT | HR_FEAT_EVENT_IDX);
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			uint16_t head = (uint16_t)(b % (num - 1));

			hr_desc(&h, head, hr_gpa(HR_C, 0x1000), bad[b],
				VIRTQ_DESC_F_INDIRECT, 0);
			hr_offer(&h, head);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -EBADMSG, head);
		}
		hr_fini(&h);
	}
	printf("device-rule-indirect-len: ok\n");
	return 0;
}
