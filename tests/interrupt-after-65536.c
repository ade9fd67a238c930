/* SPDX-License-Identifier: MIT */
/*
 * interrupt-after-65536: need_interrupt() after exactly 2^16 entries
 * published since the previous call.  used->idx is then back where it
 * was, so a u16 distance says "nothing new"; but every used_event value
 * went by, so the answer must be yes (EVENT_IDX), and without EVENT_IDX
 * yes unless NO_INTERRUPT.  Also 2^16 - 1 and 2^16 + 1 (the plain rule),
 * and a second call right after (nothing new: no).
 */
#include "hostile-ring.h"

#define NUM 256

static void set_used_event(struct hring *h, uint16_t v)
{
	virtq_store_relaxed(virtq_used_event(h->avail, h->num),
			    virtq_cpu_to_le16(v));
}

/* Serve @k one-descriptor chains, flushing per batch of NUM, without
 * asking need_interrupt in between. */
static void publish(struct hring *h, uint32_t k)
{
	while (k) {
		uint32_t n = k < NUM ? k : NUM;

		for (uint32_t i = 0; i < n; i++) {
			hr_desc(h, (uint16_t)i, hr_gpa(HR_A, i), 1,
				VIRTQ_DESC_F_WRITE, 0);
			hr_offer(h, (uint16_t)i);
		}
		for (uint32_t i = 0; i < n; i++) {
			CHECK_EQ(hr_pop(h), 1);
			CHECK_EQ(virtq_device_push(h->vq, h->c.head, 1), 0);
		}
		CHECK_EQ(virtq_device_flush(h->vq), (int)n);
		k -= n;
	}
}

int main(void)
{
	static const uint32_t counts[] = { 65535, 65536, 65537, 131072 };

	for (int ev = 0; ev < 2; ev++) {
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			struct hring h;
			uint16_t start;

			hr_init(&h, NUM, ev ? HR_FEAT_EVENT_IDX : 0);
			publish(&h, 3);
			CHECK(virtq_device_need_interrupt(h.vq));	/* first */
			start = hr_used_idx(&h);
			/* The driver asks for the entry 10 after start. */
			set_used_event(&h, (uint16_t)(start + 10));
			publish(&h, counts[k]);
			CHECK_EQ(hr_used_idx(&h), (uint16_t)(start + counts[k]));
			if (!virtq_device_need_interrupt(h.vq)) {
				fprintf(stderr, "event_idx %d: %u entries published, "
					"used_event among them, no interrupt\n",
					ev, counts[k]);
				return 1;
			}
			CHECK(!virtq_device_need_interrupt(h.vq));
			hr_fini(&h);
		}
	}
	/* NO_INTERRUPT without EVENT_IDX is still honoured at 2^16. */
	{
		struct hring h;

		hr_init(&h, NUM, 0);
		publish(&h, 1);
		CHECK(virtq_device_need_interrupt(h.vq));
		virtq_store_relaxed(&h.avail->flags,
				    virtq_cpu_to_le16(VIRTQ_AVAIL_F_NO_INTERRUPT));
		publish(&h, 65536);
		CHECK(!virtq_device_need_interrupt(h.vq));
		hr_fini(&h);
	}
	printf("interrupt-after-65536: ok\n");
	return 0;
}
