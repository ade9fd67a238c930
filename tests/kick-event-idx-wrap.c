/* SPDX-License-Identifier: MIT */
/*
 * kick-event-idx-wrap: the kick decision across the u16 index wrap.
 *
 * With EVENT_IDX the driver publishes 0x100 entries, then on to 0xffff,
 * then wraps to 0 and 1 and beyond, while the (hand-rolled) device moves
 * avail_event to the point it has handled: all of it, only part (0x80,
 * 0xfffe...), or a stale value.  After each step the test asserts whether
 * kick_prepare says a kick is due; the expected answers are written out by
 * hand, not computed with the formula under test.  The queue is small (4,
 * and 256), so reaching the wrap takes many add / publish / get cycles.
 * Also: more than 2^16 entries between two kick_prepares forces a kick,
 * publish() alone does not move the "previous kick" point, kick() calls
 * the notify hook exactly when due, and without EVENT_IDX the
 * VIRTQ_USED_F_NO_NOTIFY flag decides (with EVENT_IDX it is ignored).
 */
#include "driver-test.h"

static int notified;

static int count_notify(void *opaque, uint16_t queue_index)
{
	(void)queue_index;
	(void)opaque;
	notified++;
	return 0;
}

static uint16_t published;	/* avail->idx the test expects */

/* Publish @n more entries through add / publish / device / get cycles. */
static void advance(struct tq *q, uint32_t n)
{
	static char buf[8];
	struct virtq_sg sg = { buf, 8 };

	while (n) {
		uint32_t batch = n < q->num ? n : q->num, i;
		struct tchain c;
		void *tok;
		uint32_t len;

		for (i = 0; i < batch; i++)
			CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, &sg, 1, buf), 0);
		virtq_driver_publish(q->vq);
		while (tq_pop(q, &c))
			tq_push(q, c.head, 8);
		tq_flush(q);
		for (i = 0; i < batch; i++)
			CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
		published += batch;
		n -= batch;
	}
	CHECK_EQ(virtq_le16(q->cfg.avail->idx), published);
}

/* The device has set avail_event = @event; is a kick due? */
static void expect(struct tq *q, uint16_t event, bool due, int line)
{
	bool got;

	tq_set_avail_event(q, event);
	got = virtq_driver_kick_prepare(q->vq);
	if (got != due) {
		fprintf(stderr, "line %d: avail idx %#x, avail_event %#x: "
			"kick_prepare says %d, want %d\n", line, published,
			event, got, due);
		exit(1);
	}
}
#define EXPECT(q, ev, due) expect(q, ev, due, __LINE__)

static struct tq *new_q(uint32_t num, uint64_t feat)
{
	struct tq *q = calloc(1, sizeof(*q));

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, num, feat);
	q->cfg.notify = count_notify;
	tq_alloc_rings(q, &q->cfg, 0, 0);
	tq_init(q);
	published = 0;
	return q;
}

static void event_idx_wrap(uint32_t num)
{
	struct tq *q = new_q(num, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));

	/* 0x100 published; the device handled all and waits for 0x100. */
	advance(q, 0x100);
	EXPECT(q, 0x100, false);
	EXPECT(q, 0x100, false);		/* nothing new: no kick */

	/* One more: the entry the device waits for. */
	advance(q, 1);				/* 0x101 */
	EXPECT(q, 0x100, true);

	/* Device handled only part of a batch: it stopped at 0x180. */
	advance(q, 0xff);			/* 0x200 */
	EXPECT(q, 0x180, true);

	/* Device stale (0x80, far behind): it is not waiting for these. */
	advance(q, 0x100);			/* 0x300 */
	EXPECT(q, 0x80, false);

	/* On to 0xfffe; the device handled everything. */
	advance(q, 0xfffe - 0x300);		/* 0xfffe */
	EXPECT(q, 0xfffe, false);

	/* 0xffff: the device waits for 0xfffe, which is this entry. */
	advance(q, 1);				/* 0xffff */
	EXPECT(q, 0xfffe, true);

	/* Wrap to 0: entry 0xffff is the one published. */
	advance(q, 1);				/* 0x0000 */
	EXPECT(q, 0xffff, true);

	/* 1: the device still at 0xffff (already told): no kick. */
	advance(q, 1);				/* 0x0001 */
	EXPECT(q, 0xffff, false);

	/* 2: the device asks for entry 1, which this batch holds. */
	advance(q, 1);				/* 0x0002 */
	EXPECT(q, 0x0001, true);

	/* A batch across the wrap: 0xff00 .. 0x00ff published at once. */
	advance(q, 0xff00 - 2);			/* 0xff00 */
	EXPECT(q, 0xff00, false);
	advance(q, 0x200);			/* 0x0100, from 0xff00 */
	tq_set_avail_event(q, 0xfffe);		/* inside, before the wrap */
	CHECK(virtq_driver_kick_prepare(q->vq));
	advance(q, 0x200);			/* 0x0300, from 0x0100 */
	EXPECT(q, 0x02ff, true);		/* the last entry published */
	advance(q, 0x200);			/* 0x0500, from 0x0300 */
	EXPECT(q, 0x0500, false);		/* one past the end */
	advance(q, 0x200);			/* 0x0700, from 0x0500 */
	EXPECT(q, 0x04ff, false);		/* just before the start */
	advance(q, 0xfe00);			/* 0x0500, from 0x0700 (wraps) */
	EXPECT(q, 0x0000, true);		/* crossed on the way round */

	/* publish() alone does not move the "previous kick" point. */
	advance(q, 0x10);			/* 0x0510 */
	virtq_driver_publish(q->vq);
	advance(q, 0x10);			/* 0x0520 */
	EXPECT(q, 0x0505, true);

	/* 2^16 entries between two kick_prepares: u16 distance is 0, so the
	 * driver must kick whatever avail_event says. */
	advance(q, 0x10000);			/* 0x0520 again */
	EXPECT(q, 0x0520, true);
	advance(q, 0x8000);
	EXPECT(q, 0x0510, false);		/* behind the previous kick */

	/* kick(): notify called exactly when due. */
	notified = 0;
	advance(q, 1);
	tq_set_avail_event(q, (uint16_t)(published - 1));
	CHECK_EQ(virtq_driver_kick(q->vq), 1);
	CHECK_EQ(notified, 1);
	advance(q, 1);
	tq_set_avail_event(q, published);
	CHECK_EQ(virtq_driver_kick(q->vq), 0);
	CHECK_EQ(notified, 1);

	/* With EVENT_IDX, used->flags is not what decides. */
	tq_set_used_flags(q, VIRTQ_USED_F_NO_NOTIFY);
	advance(q, 1);
	EXPECT(q, (uint16_t)(published - 1), true);
	tq_free(q);
}

static void no_notify_flag(uint32_t num)
{
	struct tq *q = new_q(num, 0);
	uint32_t i;

	advance(q, 0x100);
	CHECK(virtq_driver_kick_prepare(q->vq));	/* flag clear */
	CHECK(!virtq_driver_kick_prepare(q->vq));	/* nothing new */
	tq_set_used_flags(q, VIRTQ_USED_F_NO_NOTIFY);
	advance(q, 1);
	CHECK(!virtq_driver_kick_prepare(q->vq));
	/* avail_event means nothing without EVENT_IDX. */
	tq_set_avail_event(q, (uint16_t)(published - 1));
	advance(q, 1);
	CHECK(!virtq_driver_kick_prepare(q->vq));
	tq_set_used_flags(q, 0);
	advance(q, 1);
	CHECK(virtq_driver_kick_prepare(q->vq));

	/* Across the wrap, toggling the flag every step. */
	for (i = 0; i < 0x11000 / 0x1000; i++) {
		bool off = i & 1;

		tq_set_used_flags(q, off ? VIRTQ_USED_F_NO_NOTIFY : 0);
		advance(q, 0x1000 + i);
		CHECK_EQ(virtq_driver_kick_prepare(q->vq), !off);
	}
	notified = 0;
	advance(q, 1);
	CHECK_EQ(virtq_driver_kick(q->vq), 1);
	CHECK_EQ(notified, 1);
	tq_set_used_flags(q, VIRTQ_USED_F_NO_NOTIFY);
	advance(q, 1);
	CHECK_EQ(virtq_driver_kick(q->vq), 0);
	CHECK_EQ(virtq_driver_kick(q->vq), 0);
	CHECK_EQ(notified, 1);
	tq_free(q);
}

int main(void)
{
	event_idx_wrap(4);
	event_idx_wrap(256);
	no_notify_flag(4);
	no_notify_flag(256);
	printf("kick-event-idx-wrap: ok\n");
	return 0;
}
