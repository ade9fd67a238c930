/* SPDX-License-Identifier: MIT */
/*
 * device-rule-next-range: a next index >= num in the descriptor table, or
 * >= the table's length inside an indirect table, is -ERANGE; the chain
 * is consumed, reported with its head, and the next good chain pops.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		const uint16_t bad[] = { (uint16_t)num, 0xffff };
		struct hring h;
		int r;

		for (size_t b = 0; b < 2; b++) {
			/* direct: head 0 -> bad, after a good first link */
			hr_init(&h, num, 0);
			if (num > 2) {
				hr_desc(&h, 0, hr_gpa(HR_A, 0), 8,
					VIRTQ_DESC_F_NEXT, 1);
				hr_desc(&h, 1, hr_gpa(HR_A, 8), 8,
					VIRTQ_DESC_F_NEXT, bad[b]);
			} else {
				hr_desc(&h, 0, hr_gpa(HR_A, 0), 8,
					VIRTQ_DESC_F_NEXT, bad[b]);
			}
			hr_offer(&h, 0);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -ERANGE, 0);
			hr_fini(&h);

			/* indirect: a 3-entry table whose entry 1 points at 3 */
			struct virtq_desc t[3];
			hr_init(&h, num, HR_FEAT_INDIRECT);
			hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8,
				      VIRTQ_DESC_F_NEXT, 1);
			hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8,
				      VIRTQ_DESC_F_NEXT, b ? 0xffff : 3);
			hr_write_desc(&t[2], hr_gpa(HR_C, 16), 8, 0, 0);
			hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 3);
			hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
				VIRTQ_DESC_F_INDIRECT, 0);
			hr_offer(&h, 0);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -ERANGE, 0);
			hr_fini(&h);
		}
	}
	printf("device-rule-next-range: ok\n");
	return 0;
}
