/* SPDX-License-Identifier: MIT */
/*
 * device-init-validation: virtq_device_init() checks the queue size (a
 * power of two in 1..32768), each area's alignment (desc 16, avail 2,
 * used 4), that each area, event field included, lies wholly inside ONE
 * guest memory region, and that no address + size overflows.  A failed
 * init leaves the queue answering -EIO, never touching memory.
 */
#include "hostile-ring.h"

static int try_init(struct hring *h, uint32_t num, uint64_t desc,
		    uint64_t avail, uint64_t used)
{
	struct virtq_device_config cfg = hr_config(h);
	int r;

	cfg.num = num;
	cfg.desc_addr = desc;
	cfg.avail_addr = avail;
	cfg.used_addr = used;
	r = virtq_device_init(h->vq, h->vq_len, &cfg);
	if (r) {
		CHECK(virtq_device_is_broken(h->vq));
		CHECK_EQ(hr_pop(h), -EIO);
		CHECK_EQ(virtq_device_push(h->vq, 0, 0), -EIO);
		CHECK_EQ(virtq_device_flush(h->vq), -EIO);
	}
	return r;
}

int main(void)
{
	struct hring h;
	const uint64_t D = hr_reg_gpa[HR_RING], A = D + 0x80000,
		       U = D + 0x100000;

	hr_init(&h, 8, 0);

	/* sizes */
	const uint32_t bad_num[] = { 0, 3, 6, 100, 32767, 65536, 0x80000000u };
	for (size_t i = 0; i < sizeof(bad_num) / sizeof(bad_num[0]); i++)
		CHECK_EQ(try_init(&h, bad_num[i], D, A, U), -EINVAL);
	for (uint32_t n = 1; n <= VIRTQ_MAX_SIZE; n <<= 1)
		CHECK_EQ(try_init(&h, n, D, A, U), 0);

	/* alignment */
	for (uint64_t o = 1; o < 16; o++)
		CHECK_EQ(try_init(&h, 8, D + o, A, U), -EINVAL);
	CHECK_EQ(try_init(&h, 8, D, A + 1, U), -EINVAL);
	CHECK_EQ(try_init(&h, 8, D, A + 2, U), 0);
	for (uint64_t o = 1; o < 4; o++)
		CHECK_EQ(try_init(&h, 8, D, A, U + o), -EINVAL);
	CHECK_EQ(try_init(&h, 8, D, A, U + 4), 0);

	/* wholly inside one region, event fields included */
	uint64_t rend = hr_reg_gpa[HR_RING] + hr_reg_size[HR_RING];
	CHECK_EQ(try_init(&h, 8, rend - 16 * 8, A, U), 0);
	CHECK_EQ(try_init(&h, 8, rend - 16 * 8 + 16, A, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, rend - virtq_avail_size(8), U), 0);
	CHECK_EQ(try_init(&h, 8, D, rend - virtq_avail_size(8) + 2, U),
		 -EFAULT);	/* only used_event sticks out */
	CHECK_EQ(try_init(&h, 8, D, A, rend - virtq_used_size(8) - 2), 0);
	CHECK_EQ(try_init(&h, 8, D, A, rend - virtq_used_size(8) + 2),
		 -EFAULT);	/* only avail_event sticks out */
	/* HR_A and HR_B are adjacent in guest memory but separate
	 * mappings: an area across the boundary is refused. */
	uint64_t ab = hr_reg_gpa[HR_B];
	CHECK_EQ(try_init(&h, 8, ab - 64, A, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, ab - 8, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, A, ab - 32), -EFAULT);
	CHECK_EQ(try_init(&h, 8, ab - 128, ab - 128 + 0x10000, ab + 0x1000), 0);
	/* in a hole, below everything */
	CHECK_EQ(try_init(&h, 8, 0, A, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, 0x600000, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, A, 0x10000000), -EFAULT);
	/* a big queue that does not fit where a small one does */
	CHECK_EQ(try_init(&h, 32768, rend - 0x1000, A, U), -EFAULT);

	/* address overflow */
	CHECK_EQ(try_init(&h, 8, ~0ull - 15, A, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, ~0ull - 1, U), -EFAULT);
	CHECK_EQ(try_init(&h, 8, D, A, ~0ull - 3), -EFAULT);
	CHECK_EQ(try_init(&h, 32768, ~0ull - 0xffff, A, U), -EFAULT);

	/* misalignment is reported before being outside memory */
	CHECK_EQ(try_init(&h, 8, 8, A, U), -EINVAL);

	/* bad arguments */
	struct virtq_device_config cfg = hr_config(&h);
	CHECK_EQ(virtq_device_init(h.vq, h.vq_len - 1, &cfg), -EINVAL);
	CHECK_EQ(virtq_device_init(h.vq, h.vq_len, NULL), -EINVAL);
	cfg.gmem = NULL;
	CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), -EINVAL);
	CHECK_EQ(virtq_device_init(NULL, h.vq_len, &cfg), -EINVAL);

	/* a failed init never touched guest memory */
	hr_check_canaries(&h);
	CHECK_EQ(try_init(&h, 8, h.desc_gpa, h.avail_gpa, h.used_gpa), 0);
	hr_expect_good_chain(&h);
	hr_fini(&h);
	printf("device-init-validation: ok\n");
	return 0;
}
