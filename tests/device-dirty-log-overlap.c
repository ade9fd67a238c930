/* SPDX-License-Identifier: MIT */
/*
 * device-dirty-log-overlap: a hostile driver lays the used area over the
 * descriptor table.  While logging, push and push_batch walk each chain
 * again to mark its writable buffers; that walk must happen before the
 * used element is stored, or it reads our own used element as the
 * descriptor (here: a buffer address rewritten to 100) and marks the
 * wrong page, leaving the page the device wrote unmarked for migration.
 * Found by fuzz/device.c.
 */
#include "hostile-ring.h"

#define PAGES 4096		/* 16 MiB of guest pages: covers every region */
static uint8_t bitmap[PAGES / 8];

static bool marked(uint64_t gpa)
{
	uint64_t pg = gpa / VIRTQ_LOG_PAGE;

	return bitmap[pg / 8] & (1u << (pg % 8));
}

static void run(int how)
{
	struct hring h;
	uint16_t heads[2] = { 0, 1 };
	uint32_t lens[2] = { 16, 100 };

	hr_init(&h, 16, 0);
	/* used area = descriptor table: used element k is bytes
	 * 4 + 8k .. 12 + 8k, so element 1's len lands on desc[1].addr's
	 * low half. */
	h.used_gpa = h.desc_gpa;
	h.used = hr_ptr(&h, h.used_gpa);
	struct virtq_device_config cfg = hr_config(&h);
	CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), 0);
	CHECK_EQ(virtq_device_set_log(h.vq, bitmap, sizeof(bitmap), h.used_gpa), 0);

	hr_desc(&h, 0, hr_gpa(HR_A, 0), 16, VIRTQ_DESC_F_WRITE, 0);
	hr_desc(&h, 1, hr_gpa(HR_B, 4 * 4096), 4096, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(&h, 0);
	hr_offer(&h, 1);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(h.c.head, 0);
	CHECK_EQ(hr_pop(&h), 1);
	CHECK_EQ(h.c.head, 1);
	memset(bitmap, 0, sizeof(bitmap));
	switch (how) {
	case 0:	/* push, push, flush */
		CHECK_EQ(virtq_device_push(h.vq, 0, 16), 0);
		CHECK_EQ(virtq_device_push(h.vq, 1, 100), 0);
		CHECK_EQ(virtq_device_flush(h.vq), 2);
		break;
	case 1:	/* one push_batch of both */
		CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 2), 2);
		break;
	default:	/* push_batch one by one */
		CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 1), 1);
		CHECK_EQ(virtq_device_push_batch(h.vq, heads + 1, lens + 1, 1), 1);
		break;
	}
	/* The test is about what it claims: the used element did land on
	 * desc[1].addr. */
	CHECK_EQ(virtq_le64(h.desc[1].addr) & 0xffffffffu, 100);
	CHECK(marked(hr_gpa(HR_A, 0)));
	CHECK(marked(hr_gpa(HR_B, 4 * 4096)));
	CHECK(!marked(hr_gpa(HR_B, 5 * 4096)));
	hr_fini(&h);
}

int main(void)
{
	for (int how = 0; how < 3; how++)
		run(how);
	return 0;
}
