/* SPDX-License-Identifier: MIT */
/*
 * device-rule-avail-idx-runaway: avail->idx more than num entries ahead
 * of what we consumed latches the queue broken: pop returns -EIO without
 * consuming or setting c->head, and keeps returning it (push, flush,
 * save too; need_interrupt says no) until reclaim or a new init.  Exactly
 * num ahead is legal.  Reclaim refuses (-EIO, still latched) while the
 * index is still too far ahead.
 */
#include "hostile-ring.h"

static void check_broken(struct hring *h)
{
	struct virtq_device_state st;

	for (int i = 0; i < 3; i++) {
		hr_reset_chain(h, HR_IOV_CAP);
		h->c.head = 0xbeef;
		CHECK_EQ(virtq_device_pop(h->vq, &h->c), -EIO);
		CHECK_EQ(h->c.head, 0xbeef);
	}
	CHECK(virtq_device_is_broken(h->vq));
	CHECK(virtq_device_has_avail(h->vq));
	CHECK_EQ(virtq_device_push(h->vq, 0, 0), -EIO);
	CHECK_EQ(virtq_device_flush(h->vq), -EIO);
	CHECK(!virtq_device_need_interrupt(h->vq));
	CHECK(!virtq_device_enable_notify(h->vq));
	CHECK_EQ(virtq_device_save(h->vq, &st), -EIO);
	CHECK_EQ(virtq_le32(st.flags) & 1, 1);
}

int main(void)
{
	for (size_t s = 0; s < HR_NSIZES; s++) {
		uint32_t num = hr_sizes[s];
		struct hring h;

		for (int feat = 0; feat < 2; feat++) {
			hr_init(&h, num, feat ? HR_FEAT_EVENT_IDX : 0);

			/* Exactly num ahead: legal; all pop. */
			for (uint32_t i = 0; i < num; i++) {
				hr_desc(&h, (uint16_t)i, hr_gpa(HR_A, i % 512),
					1, 0, 0);
				hr_offer(&h, (uint16_t)i);
			}
			for (uint32_t i = 0; i < num; i++) {
				CHECK_EQ(hr_pop(&h), 1);
				CHECK_EQ(virtq_device_push(h.vq, h.c.head, 0), 0);
			}
			CHECK_EQ(hr_pop(&h), 0);
			CHECK_EQ(virtq_device_flush(h.vq), (int)num);
			uint16_t la = virtq_device_last_avail(h.vq);
			CHECK_EQ(la, (uint16_t)num);

			/* num + 1 ahead, and the far side of the u16 range */
			for (int b = 0; b < 3; b++) {
				const uint16_t bad[] = {
					(uint16_t)(la + num + 1),
					(uint16_t)(la - 1),
					(uint16_t)(la + 0x8000 + 1) };

				hr_set_avail_idx(&h, bad[b]);
				check_broken(&h);
				CHECK_EQ(virtq_device_reclaim(h.vq, la), -EIO);
				check_broken(&h);
				/* The driver fixes its index: reclaim clears. */
				hr_set_avail_idx(&h, la);
				CHECK_EQ(virtq_device_reclaim(h.vq, la), 0);
				CHECK(!virtq_device_is_broken(h.vq));
				CHECK_EQ(virtq_device_pop(h.vq, &h.c), 0);
				hr_expect_good_chain(&h);
				la = virtq_device_last_avail(h.vq);
			}

			/* A fresh init clears the latch as well. */
			hr_set_avail_idx(&h, (uint16_t)(la + num + 5));
			check_broken(&h);
			struct virtq_device_config cfg = hr_config(&h);
			CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), 0);
			CHECK(!virtq_device_is_broken(h.vq));
			hr_set_avail_idx(&h, 0);
			CHECK_EQ(hr_pop(&h), 0);
			h.used->idx = 0;
			hr_expect_good_chain(&h);
			hr_fini(&h);
		}
	}
	printf("device-rule-avail-idx-runaway: ok\n");
	return 0;
}
