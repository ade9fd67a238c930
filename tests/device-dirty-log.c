/* SPDX-License-Identifier: MIT */
/*
 * device-dirty-log: the device side's dirty log (virtq_device_set_log)
 * seen from the queue, for both ways of returning buffers:
 *  - push + flush and push_batch mark the pages of the writable bytes
 *    pushed (not the readable ones, not past the pushed length), the
 *    used entries and used->idx;
 *  - a logged flush or push_batch still counts for need_interrupt (the
 *    log must not cost the guest its interrupt);
 *  - logging off: nothing marked.
 */
#include "hostile-ring.h"

#define PAGES 4096		/* 16 MiB of guest pages: covers every region */
static uint8_t bitmap[PAGES / 8];

static bool marked(uint64_t gpa)
{
	uint64_t pg = gpa / VIRTQ_LOG_PAGE;

	return bitmap[pg / 8] & (1u << (pg % 8));
}

static unsigned int count_marked(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < sizeof(bitmap); i++)
		n += (unsigned int)__builtin_popcount(bitmap[i]);
	return n;
}

/* A chain: 4 KiB readable in HR_A page 2, 3 pages writable in HR_B pages 4..6. */
static void offer_chain(struct hring *h)
{
	hr_desc(h, 0, hr_gpa(HR_A, 2 * 4096), 4096, VIRTQ_DESC_F_NEXT, 1);
	hr_desc(h, 1, hr_gpa(HR_B, 4 * 4096), 3 * 4096, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(h, 0);
}

static void check_marks(struct hring *h, uint32_t written)
{
	CHECK(!marked(hr_gpa(HR_A, 2 * 4096)));		/* readable: never */
	CHECK(marked(hr_gpa(HR_B, 4 * 4096)));
	CHECK_EQ(marked(hr_gpa(HR_B, 5 * 4096)), written > 4096);
	CHECK(!marked(hr_gpa(HR_B, 6 * 4096)));		/* past the length */
	CHECK(marked(h->used_gpa));			/* used->idx, entries */
}

static void run(bool batch, bool event_idx)
{
	struct hring h;
	uint16_t head = 0;
	uint32_t len = 4097;

	memset(bitmap, 0, sizeof(bitmap));
	hr_init(&h, 16, event_idx ? HR_FEAT_EVENT_IDX : 0);
	CHECK_EQ(virtq_device_set_log(h.vq, bitmap, sizeof(bitmap), h.used_gpa), 0);
	/* set_log marked the used area (avail_event, used->flags): start clean. */
	memset(bitmap, 0, sizeof(bitmap));
	offer_chain(&h);
	CHECK_EQ(hr_pop(&h), 1);
	if (batch) {
		CHECK_EQ(virtq_device_push_batch(h.vq, &head, &len, 1), 1);
	} else {
		CHECK_EQ(virtq_device_push(h.vq, 0, len), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
	}
	check_marks(&h, len);
	if (!virtq_device_need_interrupt(h.vq)) {
		fprintf(stderr, "%s, event_idx %d: logged publish, no interrupt\n",
			batch ? "push_batch" : "push+flush", event_idx);
		exit(1);
	}
	/* A second round: the driver asks for it (used_event = 1). */
	virtq_store_relaxed(virtq_used_event(h.avail, h.num), virtq_cpu_to_le16(1));
	offer_chain(&h);
	CHECK_EQ(hr_pop(&h), 1);
	len = 10;
	if (batch) {
		CHECK_EQ(virtq_device_push_batch(h.vq, &head, &len, 1), 1);
	} else {
		CHECK_EQ(virtq_device_push(h.vq, 0, len), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
	}
	CHECK(virtq_device_need_interrupt(h.vq));

	/* Logging off: nothing marked any more. */
	CHECK_EQ(virtq_device_set_log(h.vq, NULL, 0, 0), 0);
	memset(bitmap, 0, sizeof(bitmap));
	offer_chain(&h);
	CHECK_EQ(hr_pop(&h), 1);
	len = 3 * 4096;
	if (batch) {
		CHECK_EQ(virtq_device_push_batch(h.vq, &head, &len, 1), 1);
	} else {
		CHECK_EQ(virtq_device_push(h.vq, 0, len), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 1);
	}
	CHECK_EQ(count_marked(), 0);
	hr_fini(&h);
}

int main(void)
{
	for (int b = 0; b < 2; b++)
		for (int e = 0; e < 2; e++)
			run(b, e);
	printf("device-dirty-log: ok\n");
	return 0;
}
