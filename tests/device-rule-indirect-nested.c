/* SPDX-License-Identifier: MIT */
/*
 * device-rule-indirect-nested: an INDIRECT descriptor inside an indirect
 * table is -EMLINK, wherever it sits in the table's chain.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc inner[1], t[3];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		hr_write_desc(&inner[0], hr_gpa(HR_C, 0), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x2000), inner, 1);
		for (int pos = 0; pos < 3; pos++) {
			for (int i = 0; i < 3; i++)
				hr_write_desc(&t[i], hr_gpa(HR_C, 16 * i), 8,
					      i < 2 ? VIRTQ_DESC_F_NEXT : 0,
					      (uint16_t)(i + 1));
			hr_write_desc(&t[pos], hr_gpa(HR_C, 0x2000), 16,
				      VIRTQ_DESC_F_INDIRECT, 0);
			hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 3);
			hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
				VIRTQ_DESC_F_INDIRECT, 0);
			hr_offer(&h, 0);
			r = hr_pop(&h);
			CHECK(h.c.indirect);
			hr_expect_rejected(&h, r, -EMLINK, 0);
		}
		hr_fini(&h);
	}
	printf("device-rule-indirect-nested: ok\n");
	return 0;
}
