/* SPDX-License-Identifier: MIT */
/*
 * device-basic: pop / push / flush round trips on well-formed chains, for
 * every queue size: iovecs and byte totals, chains spanning regions,
 * indirect tables (aligned in one region, and unaligned across two),
 * batching with one used->idx store per flush, out-of-order pushes, the
 * push limits, has_avail, index wrap, and kick suppression (NO_NOTIFY or
 * avail_event, enable's recheck, avail_event kept current while enabled).
 */
#include "hostile-ring.h"

/* One chain: 2 readable (one spanning HR_A -> HR_B), 1 writable in HR_C. */
static void round_trip_spanning(struct hring *h)
{
	uint16_t n = (uint16_t)h->num;

	if (n < 4)
		return;
	hr_desc(h, 1, hr_gpa(HR_A, 0x10000 - 8), 24, VIRTQ_DESC_F_NEXT, 3);
	hr_desc(h, 3, hr_gpa(HR_B, 0x40), 100, VIRTQ_DESC_F_NEXT, 0);
	hr_desc(h, 0, hr_gpa(HR_C, 0), 4096, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(h, 1);
	CHECK_EQ(hr_pop(h), 1);
	CHECK_EQ(h->c.head, 1);
	CHECK_EQ(h->c.ndesc, 3);
	CHECK(!h->c.indirect);
	CHECK_EQ(h->c.n_out, 3);
	CHECK_EQ(h->c.n_in, 1);
	CHECK_EQ(h->c.out_len, 124);
	CHECK_EQ(h->c.in_len, 4096);
	CHECK(h->iov[0].iov_base == hr_ptr(h, hr_gpa(HR_A, 0x10000 - 8)));
	CHECK_EQ(h->iov[0].iov_len, 8);
	CHECK(h->iov[1].iov_base == hr_ptr(h, hr_gpa(HR_B, 0)));
	CHECK_EQ(h->iov[1].iov_len, 16);
	CHECK(h->iov[2].iov_base == hr_ptr(h, hr_gpa(HR_B, 0x40)));
	CHECK_EQ(h->iov[2].iov_len, 100);
	CHECK(h->iov[3].iov_base == hr_ptr(h, hr_gpa(HR_C, 0)));
	CHECK_EQ(h->iov[3].iov_len, 4096);
	CHECK_EQ(virtq_device_inflight(h->vq), 1);

	uint16_t before = hr_used_idx(h);
	CHECK_EQ(virtq_device_push(h->vq, 1, 77), 0);
	CHECK_EQ(hr_used_idx(h), before);	/* not visible before flush */
	CHECK_EQ(virtq_device_flush(h->vq), 1);
	CHECK_EQ(hr_used_idx(h), (uint16_t)(before + 1));
	CHECK_EQ(virtq_le32(h->used->ring[before & (n - 1)].id), 1);
	CHECK_EQ(virtq_le32(h->used->ring[before & (n - 1)].len), 77);
	CHECK_EQ(virtq_device_flush(h->vq), 0);
}

/* Indirect table of 3 entries, either 16-aligned in HR_C or straddling
 * HR_A/HR_B at an odd address (copied descriptor by descriptor). */
static void round_trip_indirect(struct hring *h, bool straddle)
{
	uint64_t tab = straddle ? hr_gpa(HR_A, 0x10000 - 20) : hr_gpa(HR_C, 0x800);
	struct virtq_desc t[3];

	hr_write_desc(&t[0], hr_gpa(HR_C, 0x10), 10, VIRTQ_DESC_F_NEXT, 2);
	hr_write_desc(&t[2], hr_gpa(HR_C, 0x20), 20, VIRTQ_DESC_F_NEXT |
		      VIRTQ_DESC_F_WRITE, 1);
	hr_write_desc(&t[1], hr_gpa(HR_C, 0x40), 30, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(virtq_gmem_write(h->gm, tab, t, sizeof(t)), 0);
	hr_desc(h, 0, tab, sizeof(t), VIRTQ_DESC_F_INDIRECT, 0);
	hr_offer(h, 0);
	CHECK_EQ(hr_pop(h), 1);
	CHECK_EQ(h->c.head, 0);
	CHECK(h->c.indirect);
	CHECK_EQ(h->c.ndesc, 4);
	CHECK_EQ(h->c.n_out, 1);
	CHECK_EQ(h->c.n_in, 2);
	CHECK_EQ(h->c.out_len, 10);
	CHECK_EQ(h->c.in_len, 50);
	CHECK(h->iov[0].iov_base == hr_ptr(h, hr_gpa(HR_C, 0x10)));
	CHECK(h->iov[1].iov_base == hr_ptr(h, hr_gpa(HR_C, 0x20)));
	CHECK(h->iov[2].iov_base == hr_ptr(h, hr_gpa(HR_C, 0x40)));
	CHECK_EQ(h->iov[2].iov_len, 30);
	CHECK_EQ(virtq_device_push(h->vq, 0, 50), 0);
	CHECK_EQ(virtq_device_flush(h->vq), 1);
}

/* @k chains of one descriptor each; pushed back in reverse order. */
static void batch_out_of_order(struct hring *h, uint32_t k)
{
	uint16_t before = hr_used_idx(h);
	uint16_t heads[64];

	CHECK(k <= h->num && k <= 64);
	for (uint32_t i = 0; i < k; i++) {
		uint16_t d = (uint16_t)((i * 5 + 3) & (h->num - 1));

		/* distinct heads: i*5+3 mod num is a bijection (5 is odd) */
		hr_desc(h, d, hr_gpa(HR_A, i * 8), 8, VIRTQ_DESC_F_WRITE, 0);
		hr_offer(h, d);
	}
	CHECK(virtq_device_has_avail(h->vq));
	for (uint32_t i = 0; i < k; i++) {
		CHECK_EQ(hr_pop(h), 1);
		heads[i] = h->c.head;
		CHECK_EQ(h->c.in_len, 8);
	}
	CHECK_EQ(hr_pop(h), 0);
	CHECK(!virtq_device_has_avail(h->vq));
	CHECK_EQ(virtq_device_inflight(h->vq), k);
	for (uint32_t i = 0; i < k; i++) {
		CHECK_EQ(virtq_device_push(h->vq, heads[k - 1 - i], i), 0);
		CHECK_EQ(hr_used_idx(h), before);	/* one store per flush */
	}
	CHECK_EQ(virtq_device_push(h->vq, 0, 0), -EOVERFLOW);
	CHECK_EQ(virtq_device_next_used(h->vq), (uint16_t)(before + k));
	CHECK_EQ(virtq_device_flush(h->vq), (int)k);
	CHECK_EQ(hr_used_idx(h), (uint16_t)(before + k));
	for (uint32_t i = 0; i < k; i++) {
		struct virtq_used_elem *e =
			&h->used->ring[(uint16_t)(before + i) & (h->num - 1)];
		CHECK_EQ(virtq_le32(e->id), heads[k - 1 - i]);
		CHECK_EQ(virtq_le32(e->len), i);
	}
	CHECK_EQ(virtq_device_inflight(h->vq), 0);
}

/* Run the indices through the u16 wrap with batches of up to num. */
static void wrap(struct hring *h, unsigned long rounds)
{
	uint32_t batch = h->num < 7 ? h->num : 7;

	for (unsigned long r = 0; r < rounds; r++) {
		uint16_t used0 = hr_used_idx(h);

		for (uint32_t i = 0; i < batch; i++) {
			uint16_t d = (uint16_t)((h->avail_idx) & (h->num - 1));

			hr_desc(h, d, hr_gpa(HR_C, d % 64), 1, 0, 0);
			hr_offer(h, d);
		}
		for (uint32_t i = 0; i < batch; i++) {
			CHECK_EQ(hr_pop(h), 1);
			CHECK_EQ(h->c.out_len, 1);
			CHECK_EQ(virtq_device_push(h->vq, h->c.head, 0), 0);
		}
		CHECK_EQ(hr_pop(h), 0);
		CHECK_EQ(virtq_device_flush(h->vq), (int)batch);
		CHECK_EQ(hr_used_idx(h), (uint16_t)(used0 + batch));
		CHECK_EQ(virtq_device_last_avail(h->vq), h->avail_idx);
	}
}

static uint16_t avail_event(struct hring *h)
{
	return virtq_le16(virtq_load_relaxed(virtq_avail_event(h->used, h->num)));
}

static uint16_t used_flags(struct hring *h)
{
	return virtq_le16(virtq_load_relaxed(&h->used->flags));
}

/* Would a driver that just moved avail->idx from @old kick? */
static bool driver_would_kick(struct hring *h, uint16_t old)
{
	if (h->features & HR_FEAT_EVENT_IDX)
		return virtq_need_event(avail_event(h), h->avail_idx, old);
	return !(used_flags(h) & VIRTQ_USED_F_NO_NOTIFY);
}

static void offer_one(struct hring *h, uint16_t d)
{
	hr_desc(h, d, hr_gpa(HR_A, d), 1, 0, 0);
	hr_offer(h, d);
}

/* disable / enable with the recheck; avail_event kept current. */
static void kick_suppression(uint32_t num, bool event_idx)
{
	struct hring h;
	uint16_t old;

	if (num < 4)
		return;
	hr_init(&h, num, event_idx ? HR_FEAT_EVENT_IDX : 0);
	/* A previous owner left NO_NOTIFY set: enable clears it anyway. */
	h.used->flags = virtq_cpu_to_le16(VIRTQ_USED_F_NO_NOTIFY);
	*virtq_avail_event(h.used, num) = virtq_cpu_to_le16(0x7777);
	CHECK(virtq_device_enable_notify(h.vq));	/* empty: may sleep */
	if (event_idx)		/* the driver ignores flags then */
		CHECK_EQ(avail_event(&h), 0);
	else
		CHECK_EQ(used_flags(&h) & VIRTQ_USED_F_NO_NOTIFY, 0);
	old = h.avail_idx;
	offer_one(&h, 0);
	CHECK(driver_would_kick(&h, old));
	CHECK(virtq_device_has_avail(h.vq));
	CHECK(!virtq_device_enable_notify(h.vq));	/* work pending */

	/* Disabled while serving: the driver's next publishes stay quiet. */
	virtq_device_disable_notify(h.vq);
	if (!event_idx)
		CHECK(used_flags(&h) & VIRTQ_USED_F_NO_NOTIFY);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(virtq_device_push(h.vq, 0, 0), 0);
	old = h.avail_idx;
	offer_one(&h, 1);
	CHECK(!driver_would_kick(&h, old));
	old = h.avail_idx;
	offer_one(&h, 2);
	CHECK(!driver_would_kick(&h, old));
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(hr_pop(&h), 0);
	if (event_idx)
		CHECK_EQ(avail_event(&h), 0);	/* left behind while disabled */
	CHECK_EQ(virtq_device_push(h.vq, 1, 0), 0);
	CHECK_EQ(virtq_device_push(h.vq, 2, 0), 0);
	CHECK_EQ(virtq_device_flush(h.vq), 3);

	/* The race: an entry arrives between the last pop and enable.  The
	 * driver saw kicks off; enable's recheck must report it. */
	old = h.avail_idx;
	offer_one(&h, 3);
	CHECK(!driver_would_kick(&h, old));
	CHECK(!virtq_device_enable_notify(h.vq));
	if (event_idx)
		CHECK_EQ(avail_event(&h), 3);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(virtq_device_push(h.vq, 3, 0), 0);
	CHECK_EQ(hr_pop(&h), 0);
	CHECK(virtq_device_enable_notify(h.vq));
	if (event_idx)
		CHECK_EQ(avail_event(&h), 4);	/* next entry we will take */
	old = h.avail_idx;
	offer_one(&h, 0);
	CHECK(driver_would_kick(&h, old));

	/* Enabled: pop keeps avail_event current each time it drains. */
	old = h.avail_idx;
	offer_one(&h, 1);
	offer_one(&h, 2);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(hr_pop(&h), 0);
	if (event_idx) {
		CHECK_EQ(avail_event(&h), h.avail_idx);
		old = h.avail_idx;
		offer_one(&h, 3);
		CHECK(driver_would_kick(&h, old));
		CHECK_EQ(hr_pop(&h), 1);
		CHECK_EQ(virtq_device_push(h.vq, 3, 0), 0);
	}
	for (uint16_t i = 0; i < 3; i++)
		CHECK_EQ(virtq_device_push(h.vq, i, 0), 0);
	CHECK(virtq_device_flush(h.vq) > 0);
	CHECK_EQ(virtq_device_inflight(h.vq), 0);
	hr_fini(&h);
}

int main(void)
{
	for (uint32_t num = 1; num <= VIRTQ_MAX_SIZE; num <<= 1) {
		for (int f = 0; f < 4; f++) {
			uint64_t feat = (f & 1 ? HR_FEAT_INDIRECT : 0) |
					(f & 2 ? HR_FEAT_EVENT_IDX : 0);
			struct hring h;

			hr_init(&h, num, feat);
			CHECK_EQ(virtq_device_size(h.vq), num);
			CHECK_EQ(hr_pop(&h), 0);
			CHECK(!virtq_device_has_avail(h.vq));
			CHECK_EQ(virtq_device_push(h.vq, 0, 0), -EOVERFLOW);
			CHECK_EQ(virtq_device_push(h.vq, (uint16_t)num, 0),
				 -EINVAL);
			CHECK_EQ(virtq_device_flush(h.vq), 0);
			hr_expect_good_chain(&h);
			round_trip_spanning(&h);
			if (feat & HR_FEAT_INDIRECT) {
				round_trip_indirect(&h, false);
				round_trip_indirect(&h, true);
			}
			batch_out_of_order(&h, num < 64 ? num : 64);
			/* 65536 / 7 rounds: every index value, through the wrap */
			wrap(&h, num <= 64 ? test_scale(9400) : 3);
			CHECK(!virtq_device_is_broken(h.vq));
			hr_fini(&h);
			kick_suppression(num, feat & HR_FEAT_EVENT_IDX);
		}
	}
	printf("device-basic: ok\n");
	return 0;
}
