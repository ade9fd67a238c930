/* SPDX-License-Identifier: MIT */
/*
 * device-rule-head-range: an avail entry naming a head >= num is rejected
 * with -ERANGE and reported with that head, consumed, not counted in
 * flight (it cannot be pushed back), and the next good chain pops.
 */
#include "hostile-ring.h"

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		const uint16_t bad[] = { (uint16_t)num, (uint16_t)(num + 1),
					 (uint16_t)(num * 2 - 1), 0xffff };

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			struct hring h;

			if (bad[b] < num)
				continue;	/* num == 32768: 2*num-1 wraps */
			hr_init(&h, num, HR_FEAT_INDIRECT);
			hr_offer(&h, bad[b]);
			int r = hr_pop(&h);
			hr_expect_rejected(&h, r, -ERANGE, bad[b]);
			CHECK_EQ(virtq_device_push(h.vq, bad[b], 0), -EINVAL);
			hr_fini(&h);
		}
	}
	printf("device-rule-head-range: ok\n");
	return 0;
}
