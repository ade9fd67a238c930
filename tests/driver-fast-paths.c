/* SPDX-License-Identifier: MIT */
/*
 * driver-fast-paths: virtq_driver_add_inbuf / add_outbuf and
 * virtq_driver_get_used_batch do what virtq_driver_add with one buffer and
 * a loop of virtq_driver_get_used do.  Two queues get the same random
 * sequence of operations, one through the general API and one through the
 * fast paths; the hand-rolled device must see the same chains (heads,
 * segments, flags, indirect or not) on both, and the same tokens and
 * lengths must come back, across sizes 1..256, EVENT_IDX on and off,
 * indirect tables with indirect_min 2 and 1 (a single buffer then goes
 * indirect, through the general path), and a translate hook.  Then the
 * errors: -EINVAL, -ENOSPC, -EFAULT, -EIO, and a hostile device whose bad
 * used entry comes after good ones (the good tokens come back once, then
 * -EIO), one whose used->idx runs ahead, and used_event moved per batch.
 */
#include "driver-test.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(test_rand(&seed) % n) : 0;
}

static char bufs[4096];

/* Identity, except that addresses in the last 64 bytes of bufs fail. */
static uint64_t xlate(void *opaque, const void *addr, size_t len,
		      size_t *mapped)
{
	(void)opaque;
	if ((const char *)addr >= bufs + sizeof(bufs) - 64 &&
	    (const char *)addr < bufs + sizeof(bufs))
		return VIRTQ_ADDR_INVALID;
	*mapped = len;
	return (uint64_t)(uintptr_t)addr;
}

static struct tq *new_q(uint32_t num, uint64_t feat, uint16_t ind_max,
			uint16_t ind_min, bool translate)
{
	struct tq *q = calloc(1, sizeof(*q));

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, num, feat);
	tq_alloc_rings(q, &q->cfg, ind_max, ind_min);
	if (translate)
		q->cfg.translate = xlate;
	tq_init(q);
	return q;
}

static void same_chain(const struct tchain *a, const struct tchain *b)
{
	CHECK_EQ(a->head, b->head);
	CHECK_EQ(a->indirect, b->indirect);
	CHECK_EQ(a->n, b->n);
	CHECK_EQ(a->ndesc_ring, b->ndesc_ring);
	CHECK_EQ(a->in_len, b->in_len);
	for (uint32_t i = 0; i < a->n; i++) {
		CHECK_EQ(a->seg[i].addr, b->seg[i].addr);
		CHECK_EQ(a->seg[i].len, b->seg[i].len);
		CHECK_EQ(a->seg[i].write, b->seg[i].write);
	}
}

/* The same random life on a (general API) and b (fast paths). */
static void twin_run(uint32_t num, uint64_t feat, uint16_t ind_max,
		     uint16_t ind_min, bool translate)
{
	struct tq *a = new_q(num, feat, ind_max, ind_min, translate);
	struct tq *b = new_q(num, feat, ind_max, ind_min, translate);
	static struct tchain ca, cb;
	uint64_t next_token = 1, back = 0;
	uint16_t held[VIRTQ_MAX_SIZE];
	uint32_t nheld = 0;

	for (int step = 0; step < 4000; step++) {
		switch (rnd(6)) {
		case 0: case 1: {	/* add one buffer */
			uint32_t len = 1 + rnd(200);
			char *p = bufs + rnd(sizeof(bufs) - len);
			bool write = rnd(2);
			void *tok = (void *)(uintptr_t)next_token;
			struct virtq_sg sg = { p, len };
			int ra = write ? virtq_driver_add(a->vq, NULL, 0, &sg, 1, tok) :
					 virtq_driver_add(a->vq, &sg, 1, NULL, 0, tok);
			int rb = write ? virtq_driver_add_inbuf(b->vq, p, len, tok) :
					 virtq_driver_add_outbuf(b->vq, p, len, tok);

			CHECK_EQ(ra, rb);
			CHECK(ra == 0 || ra == -ENOSPC || (translate && ra == -EFAULT));
			if (ra == 0)
				next_token++;
			break;
		}
		case 2:			/* publish, the device takes chains */
			virtq_driver_publish(a->vq);
			virtq_driver_publish(b->vq);
			for (uint32_t k = rnd(num + 1); k; k--) {
				int pa = tq_pop(a, &ca), pb = tq_pop(b, &cb);

				CHECK_EQ(pa, pb);
				if (!pa)
					break;
				same_chain(&ca, &cb);
				held[nheld++] = ca.head;
			}
			break;
		case 3:			/* the device returns some, any order */
			for (uint32_t k = rnd(nheld + 1); k; k--) {
				uint32_t i = rnd(nheld);
				uint16_t h = held[i];

				held[i] = held[--nheld];
				tq_push(a, h, 0);
				tq_push(b, h, 0);
			}
			tq_flush(a);
			tq_flush(b);
			break;
		default: {		/* the driver takes them back */
			void *toks[64];
			uint32_t lens[64], max = rnd(65);
			int rb = virtq_driver_get_used_batch(b->vq, toks,
							     rnd(4) ? lens : NULL, max);

			CHECK(rb >= 0 && (uint32_t)rb <= max);
			for (int i = 0; i < rb; i++) {
				void *t;
				uint32_t l;

				CHECK_EQ(virtq_driver_get_used(a->vq, &t, &l), 1);
				CHECK(t == toks[i]);
				back++;
			}
			CHECK_EQ(virtq_driver_num_free(a->vq),
				 virtq_driver_num_free(b->vq));
			if (feat & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX))
				CHECK_EQ(tq_used_event(a), tq_used_event(b));
			break;
		}
		}
	}
	/* Drained, both have given back the same tokens. */
	for (;;) {
		void *t, *u;
		int r = virtq_driver_get_used_batch(b->vq, &u, NULL, 1);

		CHECK_EQ(virtq_driver_get_used(a->vq, &t, NULL), r);
		if (!r)
			break;
		CHECK(t == u);
		back++;
	}
	CHECK(back > 0);
	CHECK(!virtq_driver_is_broken(a->vq) && !virtq_driver_is_broken(b->vq));
	tq_free(a);
	tq_free(b);
}

static void errors(void)
{
	struct tq *q = new_q(2, 0, 0, 0, false);
	struct tq *t = new_q(4, 0, 0, 0, true);
	void *toks[4];
	uint32_t lens[4];

	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, NULL), -EINVAL);
	CHECK_EQ(virtq_driver_add_outbuf(q->vq, bufs, 0, bufs), -EINVAL);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)1), 0);
	CHECK_EQ(virtq_driver_add_outbuf(q->vq, bufs, 8, (void *)2), 0);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)3), -ENOSPC);
	CHECK_EQ(virtq_driver_num_free(q->vq), 0);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, lens, 0), 0);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, lens, 4), 0);

	/* translate fails: nothing added */
	CHECK_EQ(virtq_driver_add_inbuf(t->vq, bufs + sizeof(bufs) - 8, 8,
					(void *)1), -EFAULT);
	CHECK_EQ(virtq_driver_num_free(t->vq), 4);

	/* A bad used entry after two good ones: the two come back, once. */
	virtq_driver_publish(q->vq);
	tq_push(q, 1, 0);
	tq_push(q, 0, 8);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, lens, 4), 2);
	CHECK(toks[0] == (void *)2 && toks[1] == (void *)1);
	CHECK_EQ(lens[0], 0);
	CHECK_EQ(lens[1], 8);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)4), 0);
	virtq_driver_publish(q->vq);
	tq_push(q, 0, 9);		/* more than the 8 writable bytes */
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, lens, 4), -EIO);
	CHECK(virtq_driver_is_broken(q->vq));
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)5), -EIO);
	CHECK_EQ(virtq_driver_add_outbuf(q->vq, bufs, 8, (void *)5), -EIO);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, lens, 4), -EIO);

	/* good, then an id out of range: one token, then latched */
	virtq_driver_reset(q->vq);
	q->dev_avail = q->dev_used = q->dev_pub = 0;
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)6), 0);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)7), 0);
	virtq_driver_publish(q->vq);
	tq_push(q, 0, 1);
	tq_push(q, 7, 1);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 4), 1);
	CHECK(toks[0] == (void *)6);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 4), -EIO);

	/* the same head twice: the second is not outstanding */
	virtq_driver_reset(q->vq);
	q->dev_avail = q->dev_used = q->dev_pub = 0;
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)8), 0);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)9), 0);
	virtq_driver_publish(q->vq);
	tq_push(q, 1, 0);
	tq_push(q, 1, 0);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 4), 1);
	CHECK(toks[0] == (void *)9);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 4), -EIO);

	/* used->idx further ahead than the chains published: no token */
	virtq_driver_reset(q->vq);
	q->dev_avail = q->dev_used = q->dev_pub = 0;
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)10), 0);
	CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)11), 0);
	virtq_driver_publish(q->vq);
	tq_push(q, 0, 0);
	tq_push(q, 1, 0);
	tq_push(q, 0, 0);
	tq_flush(q);
	toks[0] = NULL;
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 4), -EIO);
	CHECK(toks[0] == NULL);
	tq_free(q);
	tq_free(t);

	/* EVENT_IDX: used_event follows the batch while callbacks are on */
	q = new_q(8, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0, 0, false);
	for (uintptr_t i = 1; i <= 5; i++)
		CHECK_EQ(virtq_driver_add_inbuf(q->vq, bufs, 8, (void *)i), 0);
	virtq_driver_publish(q->vq);
	for (int i = 0; i < 5; i++)
		tq_push(q, (uint32_t)i, 0);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 3), 3);
	CHECK_EQ(tq_used_event(q), 3);
	virtq_driver_disable_cb(q->vq);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 3), 2);
	CHECK(tq_used_event(q) != 5);	/* left far away while disabled */
	CHECK(virtq_driver_enable_cb(q->vq));
	CHECK_EQ(tq_used_event(q), 5);
	CHECK_EQ(virtq_driver_get_used_batch(q->vq, toks, NULL, 3), 0);
	tq_free(q);
}

int main(void)
{
	static const uint32_t sizes[] = { 1, 2, 16, 256 };
	const uint64_t ev = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	const uint64_t ind = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];

		twin_run(n, 0, 0, 0, false);
		twin_run(n, ev, 0, 0, false);
		twin_run(n, ind | ev, 8, 0, false);	/* one buffer: direct */
		twin_run(n, ind, 8, 1, false);		/* one buffer: indirect */
		twin_run(n, ev, 0, 0, true);		/* translate hook */
	}
	errors();
	printf("driver-fast-paths: ok\n");
	return 0;
}
