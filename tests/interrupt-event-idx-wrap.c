/* SPDX-License-Identifier: MIT */
/*
 * interrupt-event-idx-wrap: need_interrupt() across the u16 wrap of the
 * used index, for a driver that keeps up (used_event = everything it has
 * handled) and one that falls behind (used_event left in the past), then
 * NO_INTERRUPT without EVENT_IDX, and the "first call after init /
 * reclaim / restore says yes" rule.
 *
 * With EVENT_IDX the answer is virtq_need_event(used_event, new, old)
 * with old = the used index at the previous need_interrupt call.
 */
#include "hostile-ring.h"

#define NUM 256
#define KEEP (-1)	/* leave used_event as it is */

static void set_used_event(struct hring *h, uint16_t v)
{
	virtq_store_relaxed(virtq_used_event(h->avail, h->num),
			    virtq_cpu_to_le16(v));
}

static void set_avail_flags(struct hring *h, uint16_t v)
{
	virtq_store_relaxed(&h->avail->flags, virtq_cpu_to_le16(v));
}

/* The device serves @k one-descriptor chains, flushing per batch of at
 * most NUM, without asking need_interrupt in between. */
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

struct step {
	int used_event;		/* KEEP or the value the driver stores */
	uint32_t publish;	/* entries the device publishes first */
	uint16_t used_after;	/* used->idx afterwards (checked) */
	bool irq;		/* expected need_interrupt() */
};

static void run(const char *name, const struct step *s, size_t n)
{
	struct hring h;

	hr_init(&h, NUM, HR_FEAT_EVENT_IDX);
	for (size_t i = 0; i < n; i++) {
		if (s[i].used_event != KEEP)
			set_used_event(&h, (uint16_t)s[i].used_event);
		publish(&h, s[i].publish);
		CHECK_EQ(hr_used_idx(&h), s[i].used_after);
		bool irq = virtq_device_need_interrupt(h.vq);
		if (irq != s[i].irq) {
			fprintf(stderr, "%s: step %zu: need_interrupt %d, "
				"expected %d\n", name, i, irq, s[i].irq);
			exit(1);
		}
	}
	hr_fini(&h);
}

/* A driver that handles everything and asks for the next entry. */
static const struct step keeps_up[] = {
	{ 0,      0x100,  0x0100, true },	/* first call, and 0 in window */
	{ KEEP,   0,      0x0100, false },	/* nothing new */
	{ 0x100,  0xfeff, 0xffff, true },	/* 0x100 in [0x100, 0xffff) */
	{ 0xffff, 1,      0x0000, true },	/* 0xffff in [0xffff, 0) */
	{ 0x0000, 1,      0x0001, true },	/* 0 in [0, 1): across wrap */
	{ KEEP,   1,      0x0002, false },	/* not re-armed: 0 is behind */
	{ 0x0002, 0x10,   0x0012, true },
};

/* A driver that falls behind: used_event lags or lies ahead. */
static const struct step falls_behind[] = {
	{ 0,      0x100,  0x0100, true },
	{ 0x80,   0xfeff, 0xffff, false },	/* 0x80 already in the past */
	{ 0xfffe, 1,      0x0000, false },	/* 0xfffe before [0xffff, 0) */
	{ KEEP,   0xfffe, 0xfffe, false },	/* window [0, 0xfffe): no */
	{ 0xfffe, 1,      0xffff, true },	/* 0xfffe in [0xfffe, 0xffff) */
	{ 0x10,   2,      0x0001, false },	/* 0x10 ahead of [0xffff, 1) */
	{ KEEP,   0x10,   0x0011, true },	/* reached: 0x10 in [1, 0x11) */
	{ 0x8000, 0x7fee, 0x7fff, false },	/* half a lap ahead */
	{ KEEP,   0x8001, 0x0000, true },	/* passed in one big window */
};

/* Without EVENT_IDX: NO_INTERRUPT is honoured, including on the first call. */
static void no_interrupt_flag(void)
{
	struct hring h;

	hr_init(&h, NUM, 0);
	CHECK(!virtq_device_need_interrupt(h.vq));	/* nothing published */
	set_avail_flags(&h, VIRTQ_AVAIL_F_NO_INTERRUPT);
	publish(&h, 3);
	CHECK(!virtq_device_need_interrupt(h.vq));
	set_avail_flags(&h, 0);
	CHECK(!virtq_device_need_interrupt(h.vq));	/* nothing new since */
	publish(&h, 1);
	CHECK(virtq_device_need_interrupt(h.vq));
	CHECK(!virtq_device_need_interrupt(h.vq));
	publish(&h, 0x10000 - 4);			/* all the way round */
	CHECK_EQ(hr_used_idx(&h), 0);
	CHECK(virtq_device_need_interrupt(h.vq));
	set_avail_flags(&h, VIRTQ_AVAIL_F_NO_INTERRUPT);
	publish(&h, 1);
	CHECK(!virtq_device_need_interrupt(h.vq));
	/* used_event is ignored without EVENT_IDX */
	set_avail_flags(&h, 0);
	set_used_event(&h, 0x5555);
	publish(&h, 1);
	CHECK(virtq_device_need_interrupt(h.vq));
	hr_fini(&h);
}

/* After restore the first call with something new says yes, whatever
 * used_event says; after reclaim the first call says yes even with
 * nothing new; then the normal rule again. */
static void first_call_after_reset(void)
{
	struct virtq_device_state st;
	struct hring h;

	hr_init(&h, NUM, HR_FEAT_EVENT_IDX);
	set_used_event(&h, 0x9000);		/* far ahead: never due */
	publish(&h, 5);
	CHECK(virtq_device_need_interrupt(h.vq));	/* first after init */
	publish(&h, 5);
	CHECK(!virtq_device_need_interrupt(h.vq));

	CHECK_EQ(virtq_device_reclaim(h.vq, virtq_device_last_avail(h.vq)), 0);
	/* Yes once even with nothing new: the previous server may have
	 * published and died before interrupting (device-reclaim-signals). */
	CHECK(virtq_device_need_interrupt(h.vq));
	CHECK(!virtq_device_need_interrupt(h.vq));	/* nothing new since */
	publish(&h, 1);
	CHECK(!virtq_device_need_interrupt(h.vq));	/* normal rule again */

	CHECK_EQ(virtq_device_save(h.vq, &st), 0);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), 0);
	publish(&h, 1);
	CHECK(virtq_device_need_interrupt(h.vq));	/* first after restore */
	publish(&h, 1);
	CHECK(!virtq_device_need_interrupt(h.vq));

	/* A fresh init over the same (running) ring: reclaim, then yes. */
	struct virtq_device_config cfg = hr_config(&h);
	uint16_t la = virtq_device_last_avail(h.vq);
	CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), 0);
	CHECK_EQ(virtq_device_reclaim(h.vq, la), 0);
	CHECK_EQ(virtq_device_next_used(h.vq), hr_used_idx(&h));
	publish(&h, 1);
	CHECK(virtq_device_need_interrupt(h.vq));
	hr_fini(&h);
}

int main(void)
{
	run("keeps-up", keeps_up, sizeof(keeps_up) / sizeof(keeps_up[0]));
	run("falls-behind", falls_behind,
	    sizeof(falls_behind) / sizeof(falls_behind[0]));
	no_interrupt_flag();
	first_call_after_reset();
	printf("interrupt-event-idx-wrap: ok\n");
	return 0;
}
