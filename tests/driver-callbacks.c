/* SPDX-License-Identifier: MIT */
/*
 * driver-callbacks: interrupt suppression from the driver side.
 * Without EVENT_IDX, disable / enable set and clear
 * VIRTQ_AVAIL_F_NO_INTERRUPT; with EVENT_IDX they move used_event
 * (disable: far ahead; enable: the next used entry; enable_delayed: about
 * 3/4 of the outstanding chains ahead) and leave avail->flags at 0.
 * enable and enable_delayed return false when used entries are already
 * pending (the recheck), true otherwise.  With callbacks on, get_used keeps
 * used_event at the next entry; with them off it leaves it alone.  Also
 * across the u16 wrap of the used index, and checked against the device's
 * interrupt rule (virtq_need_event on used_event).
 */
#include "driver-test.h"

static char buf[16];

static void add(struct tq *q, unsigned int n)
{
	struct virtq_sg sg = { buf, 16 };
	unsigned int i;

	for (i = 0; i < n; i++)
		CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, &sg, 1, buf), 0);
	virtq_driver_publish(q->vq);
}

/* Device: complete one chain and publish it. */
static void complete_one(struct tq *q)
{
	struct tchain c;

	CHECK_EQ(tq_pop(q, &c), 1);
	tq_push(q, c.head, 1);
	tq_flush(q);
}

static void drain(struct tq *q, unsigned int n)
{
	void *tok;
	uint32_t len;

	while (n--)
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
}

/* Run @n chains through so the used index moves by @n. */
static void spin(struct tq *q, uint32_t n)
{
	while (n--) {
		add(q, 1);
		complete_one(q);
		drain(q, 1);
	}
}

static void flags_mode(uint32_t num)
{
	struct tq *q = tq_new(num, 0, 0, 0);

	CHECK_EQ(tq_avail_flags(q), 0);		/* interrupts wanted at init */
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(tq_avail_flags(q), VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(tq_used_event(q), 0);		/* untouched without EVENT_IDX */
	CHECK(virtq_driver_enable_cb(q->vq));	/* nothing pending */
	CHECK_EQ(tq_avail_flags(q), 0);

	/* An entry arrives while disabled: enable says poll again. */
	virtq_driver_disable_cb(q->vq);
	add(q, 2);
	complete_one(q);
	CHECK(virtq_driver_has_used(q->vq));
	CHECK(!virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_avail_flags(q), 0);		/* still enabled */
	drain(q, 1);
	CHECK(virtq_driver_enable_cb(q->vq));
	CHECK(!virtq_driver_has_used(q->vq));

	/* enable_delayed is enable without EVENT_IDX. */
	virtq_driver_disable_cb(q->vq);
	CHECK(virtq_driver_enable_cb_delayed(q->vq));
	CHECK_EQ(tq_avail_flags(q), 0);
	virtq_driver_disable_cb(q->vq);
	complete_one(q);
	CHECK(!virtq_driver_enable_cb_delayed(q->vq));
	CHECK_EQ(tq_avail_flags(q), 0);
	drain(q, 1);
	CHECK_EQ(tq_used_event(q), 0);

	/* Across the wrap. */
	spin(q, 0x10005);
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(tq_avail_flags(q), VIRTQ_AVAIL_F_NO_INTERRUPT);
	add(q, 1);
	complete_one(q);
	CHECK(!virtq_driver_enable_cb(q->vq));
	drain(q, 1);
	CHECK(virtq_driver_enable_cb(q->vq));
	tq_free(q);
}

/* Would the device interrupt for the entries it published since @old? */
static bool device_irq(struct tq *q, uint16_t old)
{
	return virtq_need_event(tq_used_event(q), q->dev_pub, old);
}

static void event_mode(uint32_t num)
{
	struct tq *q = tq_new(num, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0, 0);
	uint16_t base, old;
	unsigned int i;

	CHECK_EQ(tq_used_event(q), 0);
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(tq_used_event(q), 0x8000);
	CHECK_EQ(tq_avail_flags(q), 0);		/* flags stay 0 with EVENT_IDX */
	CHECK(virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_used_event(q), 0);
	CHECK_EQ(tq_avail_flags(q), 0);

	/* Callbacks on: get_used keeps used_event on the next entry. */
	add(q, 3);
	complete_one(q);
	complete_one(q);
	drain(q, 2);
	CHECK_EQ(tq_used_event(q), 2);
	/* Callbacks off: get_used leaves it where disable put it. */
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(tq_used_event(q), 0x8002);
	complete_one(q);
	/* The device does not interrupt for entry 2. */
	CHECK(!device_irq(q, 2));
	/* enable with an entry pending: false; used_event = next to take. */
	CHECK(!virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_used_event(q), 2);
	drain(q, 1);
	CHECK_EQ(tq_used_event(q), 3);
	CHECK(virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_used_event(q), 3);

	/* The device interrupts for the very next entry. */
	add(q, 1);
	old = q->dev_pub;
	complete_one(q);
	CHECK(device_irq(q, old));
	drain(q, 1);

	/* enable_delayed with 8 outstanding: after 6 (= 8 * 3 / 4). */
	if (num >= 8) {
		virtq_driver_disable_cb(q->vq);
		add(q, 8);
		base = 4;
		CHECK(virtq_driver_enable_cb_delayed(q->vq));
		CHECK_EQ(tq_used_event(q), (uint16_t)(base + 6));
		for (i = 0; i < 8; i++) {
			old = q->dev_pub;
			complete_one(q);
			/* Entry base + 6 is the 7th completion. */
			CHECK_EQ(device_irq(q, old), i == 6);
		}
		virtq_driver_disable_cb(q->vq);
		CHECK_EQ(tq_used_event(q), (uint16_t)(base + 0x8000));
		drain(q, 8);
		/* Off: get_used did not move it. */
		CHECK_EQ(tq_used_event(q), (uint16_t)(base + 0x8000));
		/* Pending entries: enable_delayed says poll again. */
		add(q, 4);
		complete_one(q);
		CHECK(!virtq_driver_enable_cb_delayed(q->vq));
		/* 4 outstanding, 3 of them still with the device: 3 * 3/4. */
		CHECK_EQ(tq_used_event(q), (uint16_t)(base + 8 + 3));
		drain(q, 1);
		complete_one(q);
		complete_one(q);
		complete_one(q);
		drain(q, 3);
	}

	/* Across the wrap of the used index. */
	spin(q, (uint16_t)(0xfffe - q->dev_pub));
	CHECK_EQ(q->dev_pub, 0xfffe);
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(tq_used_event(q), 0x7ffe);
	CHECK(virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_used_event(q), 0xfffe);
	add(q, num < 4 ? num : 4);
	for (i = 0; i < (num < 4 ? num : 4); i++) {
		old = q->dev_pub;
		complete_one(q);
		CHECK(device_irq(q, old));
		drain(q, 1);
		CHECK_EQ(tq_used_event(q), (uint16_t)(0xfffe + i + 1));
	}
	CHECK(virtq_driver_enable_cb(q->vq));
	tq_free(q);
}

int main(void)
{
	flags_mode(4);
	flags_mode(256);
	event_mode(4);
	event_mode(256);
	printf("driver-callbacks: ok\n");
	return 0;
}
