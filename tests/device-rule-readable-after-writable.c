/* SPDX-License-Identifier: MIT */
/*
 * device-rule-readable-after-writable: a device-readable descriptor after
 * a device-writable one is -EILSEQ: in the descriptor table, inside an
 * indirect table, and across the step from the table into an indirect
 * table.  Zero-length descriptors count too (the order is the rule).
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[2];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		/* direct: W -> R */
		hr_desc(&h, 1, hr_gpa(HR_A, 0), 8,
			VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
		hr_desc(&h, 0, hr_gpa(HR_A, 8), 8, 0, 0);
		hr_offer(&h, 1);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EILSEQ, 1);

		/* direct: W -> R of length 0 */
		hr_desc(&h, 1, hr_gpa(HR_A, 0), 8,
			VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
		hr_desc(&h, 0, 0, 0, 0, 0);
		hr_offer(&h, 1);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EILSEQ, 1);

		/* inside an indirect table: W -> R */
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8,
			      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EILSEQ, 0);

		/* W in the table, then an indirect table starting with R */
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 1);
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8,
			VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), 16,
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EILSEQ, 0);

		/* R, R, W, W is fine; WRITE on the indirect descriptor itself
		 * is ignored (spec), so R after it is fine too. */
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8, VIRTQ_DESC_F_WRITE, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(h.c.n_out, 1);
		CHECK_EQ(h.c.n_in, 1);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
		hr_fini(&h);
	}
	printf("device-rule-readable-after-writable: ok\n");
	return 0;
}
