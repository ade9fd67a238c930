/* SPDX-License-Identifier: MIT */
/*
 * device-rule-len-overflow: the spec (2.7.5.2) forbids chains longer than
 * 2^32 bytes in total, so up to exactly 2^32 is accepted and 2^32 + 1 is
 * -EOVERFLOW (direct, and summed across an indirect table).  out_len and
 * in_len are 32-bit: a chain whose 2^32 bytes are all readable or all
 * writable is -EOVERFLOW too (documented in device.h).  The big buffers
 * live in an extra 4 GiB guest region that is only reserved (PROT_NONE):
 * the device never touches buffer memory while popping.
 */
#include "hostile-ring.h"

#define BIG_GPA  0x100000000ull
#define BIG_SIZE 0x100000000ull

static void expect_ok(struct hring *h, uint32_t out_len, uint32_t in_len)
{
	int r = hr_pop(h);

	if (r != 1) {
		fprintf(stderr, "chain of %#x + %#x bytes: pop returned %d\n",
			out_len, in_len, r);
		exit(1);
	}
	CHECK_EQ(h->c.out_len, out_len);
	CHECK_EQ(h->c.in_len, in_len);
	CHECK_EQ(virtq_device_push(h->vq, h->c.head, 0), 0);
	CHECK_EQ(virtq_device_flush(h->vq), 1);
}

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct virtq_desc t[2];
		struct hring h;
		int r;

		hr_init(&h, num, HR_FEAT_INDIRECT);
		void *big = mmap(NULL, BIG_SIZE, PROT_NONE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (big == MAP_FAILED) {
			printf("cannot reserve 4 GiB of address space\n");
			return TEST_SKIP;
		}
		struct virtq_gmem_region br = { .gpa = BIG_GPA,
						.size = BIG_SIZE, .hva = big };
		CHECK_EQ(virtq_gmem_add(h.gm, &br), 0);

		/* 0x80000000 + 0x80000000 = 2^32, split: accepted */
		hr_desc(&h, 0, BIG_GPA, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, BIG_GPA + 0x80000000u, 0x80000000u,
			VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		expect_ok(&h, 0x80000000u, 0x80000000u);
		CHECK(h.iov[0].iov_base == big);

		/* 0xffffffff + 1 = 2^32, split: accepted */
		hr_desc(&h, 0, BIG_GPA, 0xffffffffu, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 0), 1, VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		expect_ok(&h, 0xffffffffu, 1);

		/* 0x80000000 + 0x80000001 = 2^32 + 1 */
		hr_desc(&h, 0, BIG_GPA, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, BIG_GPA, 0x80000001u, VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EOVERFLOW, 0);

		/* 2^32 all readable: out_len cannot hold it */
		hr_desc(&h, 0, BIG_GPA, 0xffffffffu, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_A, 0), 1, 0, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EOVERFLOW, 0);

		/* 2^32 all writable: in_len cannot hold it */
		hr_desc(&h, 0, BIG_GPA, 0x80000000u,
			VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, BIG_GPA, 0x80000000u, VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EOVERFLOW, 0);

		/* across an indirect table: 8 + 0xfffffff0 + 0x20 > 2^32 */
		hr_write_desc(&t[0], BIG_GPA, 0xfffffff0u, VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], BIG_GPA, 0x20, 0, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		r = hr_pop(&h);
		hr_expect_rejected(&h, r, -EOVERFLOW, 0);

		/* across an indirect table: 8 + 0xfffffff0 + 8 = 2^32, fine */
		hr_write_desc(&t[0], BIG_GPA, 0xfffffff0u,
			      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		hr_write_desc(&t[1], BIG_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
		hr_put_table(&h, hr_gpa(HR_C, 0x1000), t, 2);
		hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, hr_gpa(HR_C, 0x1000), sizeof(t),
			VIRTQ_DESC_F_INDIRECT, 0);
		hr_offer(&h, 0);
		expect_ok(&h, 8, 0xfffffff8u);
		CHECK(h.c.indirect);

		/* exactly 0xffffffff: fine */
		hr_desc(&h, 0, BIG_GPA, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
		hr_desc(&h, 1, BIG_GPA + 0x80000000u, 0x7fffffffu,
			VIRTQ_DESC_F_WRITE, 0);
		hr_offer(&h, 0);
		expect_ok(&h, 0x80000000u, 0x7fffffffu);
		CHECK(h.iov[0].iov_base == big);

		hr_fini(&h);
		munmap(big, BIG_SIZE);
	}
	printf("device-rule-len-overflow: ok\n");
	return 0;
}
