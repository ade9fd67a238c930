/* SPDX-License-Identifier: MIT */
/*
 * device-rule-out-of-guest-memory: a buffer or indirect table that is not
 * wholly inside guest memory is -EFAULT: before the first region, in a
 * hole, running off a region's end into a hole, past the last region,
 * and with an address + length that wraps 2^64.  Buffers that run from
 * one region into an adjacent one are fine (tested in device-basic).
 */
#include "hostile-ring.h"

struct bad { uint64_t addr; uint32_t len; };

int main(void)
{
	const struct bad bad[] = {
		{ 0, 1 },					/* below all */
		{ hr_reg_gpa[HR_RING] - 1, 2 },			/* into RING */
		{ hr_reg_gpa[HR_RING] + hr_reg_size[HR_RING] - 4, 5 },
		{ hr_reg_gpa[HR_B] + hr_reg_size[HR_B], 1 },	/* hole */
		{ hr_reg_gpa[HR_A], 0x20001 },			/* A+B+1 */
		{ hr_reg_gpa[HR_C] + hr_reg_size[HR_C] - 1, 2 },
		{ hr_reg_gpa[HR_C] + hr_reg_size[HR_C], 1 },	/* past end */
		{ 0xffffffffffffffffull, 1 },
		{ 0xfffffffffffffff0ull, 0x20 },		/* wraps */
		{ hr_reg_gpa[HR_C] + 16, 0xfffffff0u },
	};
	const size_t nbad = sizeof(bad) / sizeof(bad[0]);

	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[2];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		for (size_t b = 0; b < nbad; b++) {
			/* as the head, readable */
			hr_desc(&h, 0, bad[b].addr, bad[b].len, 0, 0);
			hr_offer(&h, 0);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -EFAULT, 0);

			/* second in the chain, writable */
			hr_desc(&h, 1, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 0);
			hr_desc(&h, 0, bad[b].addr, bad[b].len,
				VIRTQ_DESC_F_WRITE, 0);
			hr_offer(&h, 1);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -EFAULT, 1);

			/* inside an indirect table */
			hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8,
				      VIRTQ_DESC_F_NEXT, 1);
			hr_write_desc(&t[1], bad[b].addr, bad[b].len, 0, 0);
			hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
			hr_desc(&h, 0, hr_gpa(HR_C, 0x1000), sizeof(t),
				VIRTQ_DESC_F_INDIRECT, 0);
			hr_offer(&h, 0);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -EFAULT, 0);

			/* the indirect table itself out of guest memory
			 * (lengths rounded to whole entries) */
			uint32_t tl = bad[b].len < 16 ? 16 : bad[b].len & ~15u;
			uint64_t ta = bad[b].addr;
			if (bad[b].len == 0x20001)
				tl = 0x20010;
			if (bad[b].len == 0xfffffff0u)
				tl = 0x10000;	/* 4096 entries, past C */
			hr_desc(&h, 0, ta, tl, VIRTQ_DESC_F_INDIRECT, 0);
			hr_offer(&h, 0);
			r = hr_pop(&h);
			hr_expect_rejected(&h, r, -EFAULT, 0);
		}

		/* An indirect table that spans HR_A -> HR_B is fine, but one
		 * running from HR_C into the hole is not. */
		hr_write_desc(&t[0], hr_gpa(HR_C, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], hr_gpa(HR_C, 8), 8, 0, 0);
		hr_put_table(&h, hr_gpa(HR_A, 0x10000 - 16), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_A, 0x10000 - 16), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(h.c.n_out, 2);
		CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
		hr_put_table(&h, hr_gpa(HR_C, hr_reg_size[HR_C] - 16), t, 1);
		hr_desc(&h, 0, hr_gpa(HR_C, hr_reg_size[HR_C] - 16), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EFAULT, 0);
		hr_fini(&h);
	}
	printf("device-rule-out-of-guest-memory: ok\n");
	return 0;
}
