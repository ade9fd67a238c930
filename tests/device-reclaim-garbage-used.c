/* SPDX-License-Identifier: MIT */
/*
 * device-reclaim-garbage-used: reclaim where used->idx is more than num
 * entries behind next_avail.  No ring has more than num chains in flight,
 * so one index is garbage: reclaim latches the queue broken (-EIO) with
 * the in-flight count at num, and a record saved from there restores.
 * Found by fuzz/device: reclaim used to accept it, clamping the count to
 * num; after a few pops and pushes save wrote a record (in flight above
 * last_avail - next_used) that restore rejected.  Just num behind is fine.
 */
#include "hostile-ring.h"

int main(void)
{
	static const uint32_t sizes[] = { 1, 16, 512 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t num = sizes[s];
		struct virtq_device_state st;
		struct virtq_device *vq2 = malloc(virtq_device_mem_size());
		struct hring h;
		int r;

		CHECK(vq2);
		hr_init(&h, num, 0);
		hr_set_avail_idx(&h, 0xffff);
		/* used->idx 0, next_avail 0xffff: 65535 "in flight" */
		r = virtq_device_reclaim(h.vq, 0xffff);
		if (r != -EIO) {
			fprintf(stderr, "num %u: reclaim 65535 ahead of used->idx "
				"returned %d\n", num, r);
			return 1;
		}
		CHECK(virtq_device_is_broken(h.vq));
		CHECK_EQ(virtq_device_inflight(h.vq), num);
		CHECK_EQ(hr_pop(&h), -EIO);
		CHECK_EQ(virtq_device_save(h.vq, &st), -EIO);
		CHECK_EQ(virtq_device_restore(vq2, virtq_device_mem_size(), &st,
					      h.gm), 0);
		CHECK(virtq_device_is_broken(vq2));

		/* num + 1 behind: garbage too; exactly num: fine. */
		hr_set_avail_idx(&h, (uint16_t)(num + 1));
		CHECK_EQ(virtq_device_reclaim(h.vq, (uint16_t)(num + 1)), -EIO);
		CHECK_EQ(virtq_device_reclaim(h.vq, (uint16_t)num), 0);
		CHECK(!virtq_device_is_broken(h.vq));
		CHECK_EQ(virtq_device_inflight(h.vq), num);
		for (uint32_t i = 0; i < num; i++)
			CHECK_EQ(virtq_device_push(h.vq, (uint16_t)i, 0), 0);
		CHECK_EQ(virtq_device_flush(h.vq), (int)num);
		CHECK_EQ(virtq_device_save(h.vq, &st), 0);
		CHECK_EQ(virtq_device_restore(vq2, virtq_device_mem_size(), &st,
					      h.gm), 0);
		free(vq2);
		hr_fini(&h);
	}
	printf("device-reclaim-garbage-used: ok\n");
	return 0;
}
