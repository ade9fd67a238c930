/* SPDX-License-Identifier: MIT */
/*
 * device-inflight-bound: a driver that re-offers heads still in flight
 * (never got back) cannot push the in-flight count past the queue size.
 * With num chains in flight, the next available entry latches the queue
 * broken (-EIO, nothing consumed), the count stays num, and save writes a
 * record that restore accepts (it restores broken).  Sizes 1, 2, 16, 256;
 * the re-offered head is the same one every time or each in turn.
 */
#include "hostile-ring.h"

int main(void)
{
	static const uint32_t sizes[] = { 1, 2, 16, 256 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int same = 0; same < 2; same++) {
			uint32_t num = sizes[s];
			struct virtq_device_state st;
			struct virtq_device *vq2;
			struct hring h;
			int r;

			hr_init(&h, num, 0);
			for (uint32_t i = 0; i < num; i++)
				hr_desc(&h, (uint16_t)i, hr_gpa(HR_A, 16 * i), 16,
					VIRTQ_DESC_F_WRITE, 0);
			/* num chains: fine. */
			for (uint32_t i = 0; i < num; i++) {
				hr_offer(&h, (uint16_t)(same ? 0 : i));
				CHECK_EQ(hr_pop(&h), 1);
			}
			CHECK_EQ(virtq_device_inflight(h.vq), num);
			/* One more while all num are out. */
			hr_offer(&h, 0);
			r = hr_pop(&h);
			if (r != -EIO) {
				fprintf(stderr, "num %u: pop with %u in flight "
					"returned %d, in flight now %u\n", num,
					num, r, virtq_device_inflight(h.vq));
				return 1;
			}
			CHECK(virtq_device_is_broken(h.vq));
			CHECK_EQ(virtq_device_inflight(h.vq), num);
			CHECK_EQ(virtq_device_last_avail(h.vq), (uint16_t)num);
			CHECK_EQ(hr_pop(&h), -EIO);	/* latched */
			/* The record is one restore takes. */
			CHECK_EQ(virtq_device_save(h.vq, &st), -EIO);
			vq2 = malloc(virtq_device_mem_size());
			CHECK(vq2);
			CHECK_EQ(virtq_device_restore(vq2, virtq_device_mem_size(),
						      &st, h.gm), 0);
			CHECK(virtq_device_is_broken(vq2));
			CHECK_EQ(virtq_device_inflight(vq2), num);
			free(vq2);
			hr_fini(&h);
		}
	}
	printf("device-inflight-bound: ok\n");
	return 0;
}
