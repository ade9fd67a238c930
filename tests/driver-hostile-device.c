/* SPDX-License-Identifier: MIT */
/*
 * driver-hostile-device: a device that breaks the used-ring protocol
 * latches the driver queue broken.  For each violation, on a fresh queue:
 * a used id >= num, an id that is not an outstanding head (a middle
 * descriptor, a free one, a head returned twice), a len above the chain's
 * device-writable bytes, used->idx running ahead of the outstanding chains
 * (also counting one that is only staged, not published) or backwards.  Each gives -EIO from then on (get_used, add, kick), no
 * crash, and no token twice: the tokens from get_used before the break
 * plus those from detach_unused are exactly the tokens added.  reset()
 * clears the latch.  A well-behaved device completing out of order, with
 * any len up to the writable total, works.
 */
#include "driver-test.h"

#define NCHAINS 6

enum violation {
	V_ID_NUM,		/* id == num */
	V_ID_HUGE,		/* id == 0xffffffff */
	V_ID_MIDDLE,		/* a non-head descriptor of a live chain */
	V_ID_FREE,		/* a free descriptor */
	V_ID_TWICE,		/* a head already returned */
	V_LEN_OVER,		/* len = writable bytes + 1 */
	V_LEN_OUT_ONLY,		/* len 1 for a chain with nothing writable */
	V_IDX_AHEAD,		/* used->idx past the outstanding chains */
	V_IDX_BACK,		/* used->idx moved backwards */
	V_IDX_STAGED,		/* counts a chain that is staged, not published */
	V_COUNT
};

static const char *const vname[V_COUNT] = {
	"id == num", "id 0xffffffff", "middle descriptor", "free descriptor",
	"head twice", "len over", "len on out-only chain", "idx ahead",
	"idx backwards", "idx counts a staged chain",
};

static char bufs[NCHAINS][32];
static int tokens[NCHAINS + 1];	/* the last: a staged-only chain */

/*
 * NCHAINS chains: chain k has k % 3 + 1 out buffers and, for odd k, two
 * 8-byte in buffers.  Chain 0 is out-only (1 descriptor).
 */
static void add_chains(struct tq *q, struct tchain *c)
{
	unsigned int k;

	for (k = 0; k < NCHAINS; k++) {
		struct virtq_sg out[3], in[2];
		unsigned int n_out = k % 3 + 1, n_in = (k & 1) ? 2 : 0, i;

		for (i = 0; i < n_out; i++)
			out[i] = (struct virtq_sg){ bufs[k] + 4 * i, 4 };
		for (i = 0; i < n_in; i++)
			in[i] = (struct virtq_sg){ bufs[k] + 16 + 8 * i, 8 };
		CHECK_EQ(virtq_driver_add(q->vq, out, n_out, in, n_in,
					  &tokens[k]), 0);
	}
	virtq_driver_kick(q->vq);
	for (k = 0; k < NCHAINS; k++)
		CHECK_EQ(tq_pop(q, &c[k]), 1);
}

/* Mark a token as returned; fail if it was already. */
static void got(unsigned int *seen, void *tok)
{
	size_t k = (size_t)((int *)tok - tokens);

	CHECK(k <= NCHAINS);
	CHECK(!(*seen & (1u << k)));
	*seen |= 1u << k;
}

static void check_broken(struct tq *q, unsigned int *seen, unsigned int want)
{
	char b[4];
	struct virtq_sg sg = { b, 4 };
	void *tok = NULL;
	uint32_t len;
	int i;

	for (i = 0; i < 3; i++)
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), -EIO);
	CHECK(tok == NULL);
	CHECK(virtq_driver_is_broken(q->vq));
	CHECK(virtq_driver_has_used(q->vq));
	CHECK_EQ(virtq_driver_add(q->vq, &sg, 1, NULL, 0, b), -EIO);
	CHECK_EQ(virtq_driver_kick(q->vq), -EIO);
	CHECK(!virtq_driver_kick_prepare(q->vq));
	CHECK(!virtq_driver_enable_cb(q->vq));
	CHECK(!virtq_driver_enable_cb_delayed(q->vq));

	/* Teardown: the rest of the tokens come back, each once. */
	while (virtq_driver_detach_unused(q->vq, &tok) == 1)
		got(seen, tok);
	CHECK_EQ(*seen, want);
	CHECK_EQ(virtq_driver_num_free(q->vq), q->num);
}

static void one_violation(uint32_t num, uint64_t feat, enum violation v)
{
	struct tq *q = tq_new(num, feat, 0, 0);
	static struct tchain c[NCHAINS];
	unsigned int seen = 0, want = (1u << NCHAINS) - 1;
	void *tok;
	uint32_t len;
	uint16_t free_desc;
	int r;

	fprintf(stderr, "num %u features %#llx: %s\n", num,
		(unsigned long long)feat, vname[v]);
	add_chains(q, c);
	/* A well-formed completion first: chain 1 (out 2, in 16 bytes). */
	tq_push(q, c[1].head, 16);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	got(&seen, tok);
	CHECK(tok == &tokens[1]);
	CHECK_EQ(len, 16);

	/* The descriptor chain 1 gave back is now free. */
	free_desc = c[1].head;
	switch (v) {
	case V_ID_NUM:
		tq_push(q, num, 0);
		break;
	case V_ID_HUGE:
		tq_push(q, 0xffffffffu, 0);
		break;
	case V_ID_MIDDLE:	/* chain 2 has 3 descriptors */
		CHECK_EQ(c[2].n, 3);
		tq_push(q, virtq_le16(q->cfg.desc[c[2].head].next), 0);
		break;
	case V_ID_FREE:
		tq_push(q, free_desc, 0);
		break;
	case V_ID_TWICE:
		tq_push(q, c[1].head, 0);
		break;
	case V_LEN_OVER:	/* chain 3: 16 writable bytes */
		CHECK_EQ(c[3].in_len, 16);
		tq_push(q, c[3].head, 17);
		break;
	case V_LEN_OUT_ONLY:
		CHECK_EQ(c[0].in_len, 0);
		tq_push(q, c[0].head, 1);
		break;
	case V_IDX_AHEAD:	/* 5 outstanding: claim 6 */
		q->dev_used += NCHAINS;
		break;
	case V_IDX_BACK:
		q->dev_used -= 2;
		break;
	case V_IDX_STAGED: {	/* 5 published + 1 staged: claim 6 */
		struct virtq_sg sg = { bufs[0], 4 };

		CHECK_EQ(virtq_driver_add(q->vq, &sg, 1, NULL, 0,
					  &tokens[NCHAINS]), 0);
		want |= 1u << NCHAINS;
		q->dev_used += NCHAINS;
		break;
	}
	default:
		CHECK(0);
	}
	tq_flush(q);
	r = virtq_driver_get_used(q->vq, &tok, &len);
	CHECK_EQ(r, -EIO);
	check_broken(q, &seen, want);

	/* reset() clears the latch and the queue works again. */
	virtq_driver_reset(q->vq);
	CHECK(!virtq_driver_is_broken(q->vq));
	memset(q->cfg.used, 0, virtq_used_size(num));
	q->dev_avail = q->dev_used = q->dev_pub = 0;
	seen = 0;
	add_chains(q, c);
	{
		unsigned int k;

		for (k = 0; k < NCHAINS; k++)
			tq_push(q, c[k].head, c[k].in_len);
		tq_flush(q);
		for (k = 0; k < NCHAINS; k++) {
			CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
			got(&seen, tok);
			CHECK_EQ(len, c[k].in_len);
		}
	}
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), num);
	tq_free(q);
}

/* A good device completing in random order with random valid lens. */
static void out_of_order(uint32_t num, uint64_t feat, uint64_t seed)
{
	struct tq *q = tq_new(num, feat, 0, 0);
	static struct tchain c[256];
	static char data[256][16];
	static uint32_t lens[256];
	uint32_t round, n, i;

	for (round = 0; round < 200; round++) {
		uint32_t seen[256 / 32] = { 0 };

		n = 1 + test_rand(&seed) % (num / 2);
		for (i = 0; i < n; i++) {
			struct virtq_sg out = { data[i], 4 };
			struct virtq_sg in = { data[i] + 4, 12 };

			CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1,
						  data[i]), 0);
		}
		virtq_driver_publish(q->vq);
		for (i = 0; i < n; i++)
			CHECK_EQ(tq_pop(q, &c[i]), 1);
		/* Fisher-Yates shuffle, then complete in that order. */
		for (i = n; i > 1; i--) {
			uint32_t j = test_rand(&seed) % i;
			struct tchain t = c[i - 1];

			c[i - 1] = c[j];
			c[j] = t;
		}
		for (i = 0; i < n; i++) {
			uint32_t l = test_rand(&seed) % 13;	/* 0..12 */
			size_t k = (size_t)((char *)(uintptr_t)c[i].seg[0].addr -
					    data[0]) / 16;

			lens[k] = l;
			tq_push(q, c[i].head, l);
			if (test_rand(&seed) % 3 == 0)
				tq_flush(q);	/* several partial batches */
		}
		tq_flush(q);
		for (i = 0; i < n; i++) {
			void *tok;
			uint32_t len;
			size_t k;

			CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
			k = (size_t)((char *)tok - data[0]) / 16;
			CHECK(k < n);
			CHECK(!(seen[k / 32] & (1u << (k % 32))));
			seen[k / 32] |= 1u << (k % 32);
			CHECK_EQ(len, lens[k]);
		}
		CHECK_EQ(virtq_driver_get_used(q->vq, NULL, NULL), 0);
		CHECK_EQ(virtq_driver_num_free(q->vq), num);
		CHECK(!virtq_driver_is_broken(q->vq));
	}
	tq_free(q);
}

int main(void)
{
	static const uint32_t sizes[] = { 32, 256 };
	unsigned int si, ev, v;

	for (ev = 0; ev < 2; ev++) {
		uint64_t feat = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;

		for (si = 0; si < 2; si++) {
			for (v = 0; v < V_COUNT; v++)
				one_violation(sizes[si], feat, v);
			out_of_order(sizes[si], feat, 1234 + si + ev);
		}
	}
	printf("driver-hostile-device: ok\n");
	return 0;
}
