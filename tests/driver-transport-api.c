/* SPDX-License-Identifier: MIT */
/*
 * driver-transport-api: what a transport needs from the driver side.
 *  - the notify hook gets the queue index and notify_opaque (falling back
 *    to opaque), so one hook can serve every queue of a device;
 *  - init refuses ring / transport features it does not implement
 *    (RING_PACKED, IN_ORDER, NOTIFICATION_DATA, any unknown bit of 24..63)
 *    with -EINVAL, and accepts VIRTQ_DRIVER_FEATURES plus device bits;
 *  - the compile-time area sizes equal the run-time ones for every queue
 *    size, and VIRTQ_DRIVER_STORAGE is big and aligned enough.
 */
#include <stdalign.h>

#include "driver-test.h"

static void *seen_opaque;
static int seen_index = -1;

static int note_notify(void *opaque, uint16_t queue_index)
{
	seen_opaque = opaque;
	seen_index = queue_index;
	return 0;
}

static int platform, transport;

static void notify_gets_index(void)
{
	struct tq *q = calloc(1, sizeof(*q));
	char b[8];

	/* notify_opaque given: the hook gets it, not opaque. */
	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, 8, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
	tq_alloc_rings(q, &q->cfg, 0, 0);
	q->cfg.notify = note_notify;
	q->cfg.opaque = &platform;
	q->cfg.notify_opaque = &transport;
	q->cfg.queue_index = 5;
	tq_init(q);
	CHECK_EQ(virtq_driver_queue_index(q->vq), 5);
	CHECK(virtq_driver_features(q->vq) == VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
	CHECK_EQ(virtq_driver_notify(q->vq), 0);
	CHECK(seen_opaque == &transport);
	CHECK_EQ(seen_index, 5);

	/* Through kick too. */
	struct virtq_sg sg = { b, sizeof b };
	seen_index = -1;
	CHECK_EQ(virtq_driver_add(q->vq, &sg, 1, NULL, 0, b), 0);
	CHECK_EQ(virtq_driver_kick(q->vq), 1);
	CHECK_EQ(seen_index, 5);
	tq_free(q);

	/* No notify_opaque: opaque. */
	q = calloc(1, sizeof(*q));
	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, 8, 0);
	tq_alloc_rings(q, &q->cfg, 0, 0);
	q->cfg.notify = note_notify;
	q->cfg.opaque = &platform;
	q->cfg.queue_index = 65535;
	tq_init(q);
	CHECK_EQ(virtq_driver_notify(q->vq), 0);
	CHECK(seen_opaque == &platform);
	CHECK_EQ(seen_index, 65535);
	tq_free(q);
}

static int init_with(uint64_t features)
{
	struct tq *q = calloc(1, sizeof(*q));
	int r;

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, 16, features);
	tq_alloc_rings(q, &q->cfg, 0, 0);
	q->vq = tq_alloc(64, virtq_driver_mem_size(16));
	r = virtq_driver_init(q->vq, virtq_driver_mem_size(16), &q->cfg);
	tq_free(q);
	return r;
}

static void features_checked(void)
{
	/* Implemented ring bits, and every device-specific bit: accepted. */
	CHECK_EQ(init_with(VIRTQ_DRIVER_FEATURES), 0);
	CHECK_EQ(init_with(VIRTQ_DEVICE_FEATURES_MASK), 0);
	CHECK_EQ(init_with(VIRTQ_DRIVER_FEATURES | VIRTQ_DEVICE_FEATURES_MASK), 0);
	/* What the ring does not implement: refused, not ignored. */
	CHECK_EQ(init_with(VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)), -EINVAL);
	CHECK_EQ(init_with(VIRTQ_FEATURE(VIRTQ_F_IN_ORDER)), -EINVAL);
	CHECK_EQ(init_with(VIRTQ_FEATURE(VIRTQ_F_NOTIFICATION_DATA)), -EINVAL);
	for (int bit = 24; bit < 64; bit++) {
		uint64_t f = 1ull << bit;
		int want = (f & VIRTQ_DRIVER_FEATURES) ? 0 : -EINVAL;

		if (init_with(f) != want) {
			fprintf(stderr, "feature bit %d: init returned %d, want %d\n",
				bit, init_with(f), want);
			exit(1);
		}
	}
}

/* Static storage as firmware would declare it. */
static VIRTQ_DRIVER_STORAGE(256) drv_mem;
static struct virtq_desc desc_mem[VIRTQ_DESC_SIZE(256) / 16] __attribute__((aligned(16)));
static unsigned char avail_mem[VIRTQ_AVAIL_SIZE(256)] __attribute__((aligned(2)));
static unsigned char used_mem[VIRTQ_USED_SIZE(256)] __attribute__((aligned(4)));
static unsigned char legacy_mem[VIRTQ_LEGACY_SIZE(256, 4096)] __attribute__((aligned(4096)));
static unsigned char ind_mem[VIRTQ_INDIRECT_SIZE(256, 8)] __attribute__((aligned(16)));

static void static_sizes(void)
{
	struct virtq_driver_config cfg;

	for (uint32_t num = 1; num <= VIRTQ_MAX_SIZE; num *= 2) {
		CHECK_EQ(VIRTQ_DESC_SIZE(num), virtq_desc_size(num));
		CHECK_EQ(VIRTQ_AVAIL_SIZE(num), virtq_avail_size(num));
		CHECK_EQ(VIRTQ_USED_SIZE(num), virtq_used_size(num));
		for (size_t al = 16; al <= 65536; al *= 2) {
			CHECK_EQ(VIRTQ_LEGACY_SIZE(num, al), virtq_legacy_size(num, al));
			CHECK_EQ(VIRTQ_LEGACY_USED_OFFSET(num, al),
				 virtq_legacy_used_offset(num, al));
		}
		for (uint32_t max = 2; max <= VIRTQ_MAX_SIZE; max *= 4)
			CHECK_EQ(VIRTQ_INDIRECT_SIZE(num, max),
				 virtq_driver_indirect_size(num, max));
		CHECK(VIRTQ_DRIVER_MEM_SIZE(num) >= virtq_driver_mem_size(num));
	}
	CHECK(sizeof(drv_mem) >= virtq_driver_mem_size(256));
	CHECK(alignof(VIRTQ_DRIVER_STORAGE(1)) >= 16);

	/* Split layout from the static areas. */
	tq_cfg_default(&cfg, 256, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC));
	cfg.desc = desc_mem;
	cfg.avail = (struct virtq_avail *)(void *)avail_mem;
	cfg.used = (struct virtq_used *)(void *)used_mem;
	cfg.indirect = ind_mem;
	cfg.indirect_max = 8;
	CHECK_EQ(virtq_driver_init((struct virtq_driver *)(void *)&drv_mem,
				   sizeof drv_mem, &cfg), 0);
	CHECK_EQ(virtq_driver_num_free((struct virtq_driver *)(void *)&drv_mem), 256);

	/* Legacy layout from the static area. */
	tq_cfg_default(&cfg, 256, 0);
	CHECK_EQ(virtq_driver_config_legacy(&cfg, legacy_mem, 4096), 0);
	CHECK((unsigned char *)cfg.used + virtq_used_size(256) <=
	      legacy_mem + sizeof legacy_mem);
	CHECK_EQ(virtq_driver_init((struct virtq_driver *)(void *)&drv_mem,
				   sizeof drv_mem, &cfg), 0);
}

int main(void)
{
	notify_gets_index();
	features_checked();
	static_sizes();
	printf("driver-transport-api: ok\n");
	return 0;
}
