/* SPDX-License-Identifier: MIT */
/*
 * device-batch-rules: pop_batch / push_batch keep the rules pop / push /
 * flush were given by the outside review (issue 11), on their own code:
 *  - in flight never above num: with num chains out, a re-offered head
 *    latches the queue (-EIO, nothing consumed), through the one-chain
 *    and the many-chain path; a batch that reaches num stops there and
 *    the next call latches;
 *  - a chain of exactly 2^32 bytes split both ways pops; 2^32 + 1 is
 *    -EOVERFLOW;
 *  - need_interrupt after exactly 2^16 entries published by push_batch
 *    says yes (used->idx is back where it was).
 */
#include "hostile-ring.h"

#define BIG_GPA  0x100000000ull
#define BIG_SIZE 0x100000000ull

static struct iovec iovs[8][HR_IOV_CAP];
static struct virtq_chain cs[8];

static int pop_batch(struct hring *h, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].iov = iovs[i];
		cs[i].iov_cap = HR_IOV_CAP;
	}
	return virtq_device_pop_batch(h->vq, cs, n);
}

static void inflight_bound(uint32_t num, unsigned int batch)
{
	struct hring h;
	uint32_t got = 0;
	int r;

	hr_init(&h, num, 0);
	/* num - 1 distinct chains out. */
	for (uint32_t i = 0; i < num; i++)
		hr_desc(&h, (uint16_t)i, hr_gpa(HR_A, 16 * i), 16, VIRTQ_DESC_F_WRITE, 0);
	for (uint32_t i = 0; i + 1 < num; i++)
		hr_offer(&h, (uint16_t)i);
	while (got + 1 < num) {
		r = pop_batch(&h, batch);
		CHECK(r >= 1);
		got += (uint32_t)r;
	}
	CHECK_EQ(virtq_device_inflight(h.vq), num - 1);
	/* Then the last free head and a re-offered one: the batch takes
	 * the first and stops at num (the many-chain path when batch > 1). */
	hr_offer(&h, (uint16_t)(num - 1));
	if (num > 1)	/* num 1: avail may run only one ahead */
		hr_offer(&h, 0);
	CHECK_EQ(pop_batch(&h, batch), 1);
	CHECK_EQ(virtq_device_inflight(h.vq), num);
	CHECK(!virtq_device_is_broken(h.vq));
	if (num == 1)
		hr_offer(&h, 0);
	r = pop_batch(&h, batch);
	if (r != -EIO) {
		fprintf(stderr, "num %u batch %u: pop_batch with num in flight "
			"returned %d, in flight %u\n", num, batch, r,
			virtq_device_inflight(h.vq));
		exit(1);
	}
	CHECK(virtq_device_is_broken(h.vq));
	CHECK_EQ(virtq_device_inflight(h.vq), num);
	CHECK_EQ(virtq_device_last_avail(h.vq), (uint16_t)num);
	hr_fini(&h);
}

static void exact_2_32(void)
{
	struct hring h;
	uint16_t head = 0;
	uint32_t len = 0;
	int r;

	hr_init(&h, 16, 0);
	void *big = mmap(NULL, BIG_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);
	CHECK(big != MAP_FAILED);
	struct virtq_gmem_region br = { .gpa = BIG_GPA, .size = BIG_SIZE, .hva = big };
	CHECK_EQ(virtq_gmem_add(h.gm, &br), 0);

	hr_desc(&h, 0, BIG_GPA, 0xffffffffu, VIRTQ_DESC_F_NEXT, 1);
	hr_desc(&h, 1, hr_gpa(HR_A, 0), 1, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(&h, 0);
	r = pop_batch(&h, 1);
	if (r != 1) {
		fprintf(stderr, "pop_batch of a 2^32-byte chain returned %d\n", r);
		exit(1);
	}
	CHECK_EQ(cs[0].out_len, 0xffffffffu);
	CHECK_EQ(cs[0].in_len, 1);
	CHECK_EQ(virtq_device_push_batch(h.vq, &head, &len, 1), 1);

	hr_desc(&h, 0, BIG_GPA, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
	hr_desc(&h, 1, BIG_GPA, 0x80000001u, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(&h, 0);
	CHECK_EQ(pop_batch(&h, 1), -EOVERFLOW);
	hr_fini(&h);
	munmap(big, BIG_SIZE);
}

static void interrupt_after_65536(bool event_idx)
{
	uint16_t heads[8];
	uint32_t lens[8] = { 0 };
	struct hring h;
	uint16_t start;
	int r;

	hr_init(&h, 8, event_idx ? HR_FEAT_EVENT_IDX : 0);
	for (uint32_t i = 0; i < 8; i++)
		hr_desc(&h, (uint16_t)i, hr_gpa(HR_A, i), 1, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(&h, 0);
	CHECK_EQ(pop_batch(&h, 1), 1);
	heads[0] = 0;
	CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 1), 1);
	CHECK(virtq_device_need_interrupt(h.vq));	/* the first */
	start = hr_used_idx(&h);
	virtq_store_relaxed(virtq_used_event(h.avail, h.num),
			    virtq_cpu_to_le16((uint16_t)(start + 10)));
	for (uint32_t done = 0; done < 65536; done += 8) {
		for (uint16_t i = 0; i < 8; i++)
			hr_offer(&h, i);
		for (int got = 0; got < 8; got += r) {
			r = pop_batch(&h, 8);
			CHECK(r >= 1);
			for (int i = 0; i < r; i++)
				heads[got + i] = cs[i].head;
		}
		CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 8), 8);
	}
	CHECK_EQ(hr_used_idx(&h), start);
	if (!virtq_device_need_interrupt(h.vq)) {
		fprintf(stderr, "event_idx %d: 2^16 entries by push_batch, "
			"no interrupt\n", event_idx);
		exit(1);
	}
	CHECK(!virtq_device_need_interrupt(h.vq));
	hr_fini(&h);
}

int main(void)
{
	static const uint32_t sizes[] = { 1, 2, 16, 256 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		inflight_bound(sizes[s], 1);
		inflight_bound(sizes[s], 3);
		inflight_bound(sizes[s], 8);
	}
	exact_2_32();
	interrupt_after_65536(false);
	interrupt_after_65536(true);
	printf("device-batch-rules: ok\n");
	return 0;
}
