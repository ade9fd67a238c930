/* SPDX-License-Identifier: MIT */
/*
 * driver-basic: add / publish / get_used round trips over a hand-rolled
 * device, for queue sizes 1..32768 with EVENT_IDX on and off: out-only,
 * in-only and mixed chains, staged adds invisible until publish, data and
 * tokens back exactly once, num_free accounting, -ENOSPC when full,
 * -EINVAL cases, init errors, the legacy layout, detach_unused and reset.
 */
#include "driver-test.h"

static const uint32_t sizes[] = { 1, 2, 4, 256, 32768 };

/* Check the chain the device sees against the buffers that were added. */
static void check_chain(const struct tchain *c, const struct virtq_sg *out,
			unsigned int n_out, const struct virtq_sg *in,
			unsigned int n_in)
{
	unsigned int i;

	CHECK_EQ(c->n, n_out + n_in);
	CHECK(!c->indirect);
	for (i = 0; i < n_out; i++) {
		CHECK_EQ(c->seg[i].addr, (uintptr_t)out[i].addr);
		CHECK_EQ(c->seg[i].len, out[i].len);
		CHECK(!c->seg[i].write);
	}
	for (i = 0; i < n_in; i++) {
		CHECK_EQ(c->seg[n_out + i].addr, (uintptr_t)in[i].addr);
		CHECK_EQ(c->seg[n_out + i].len, in[i].len);
		CHECK(c->seg[n_out + i].write);
	}
}

/* One chain through: stage, check invisible, publish, device, get back. */
static void round_trip(struct tq *q, unsigned int n_out, unsigned int n_in)
{
	static char bufs[8][64];
	struct virtq_sg out[4], in[4];
	struct tchain c;
	uint32_t free0 = virtq_driver_num_free(q->vq), len, i;
	void *tok;
	int token_obj;

	for (i = 0; i < n_out; i++) {
		memset(bufs[i], 'o' + i, sizeof(bufs[i]));
		out[i].addr = bufs[i];
		out[i].len = 10 + i;
	}
	for (i = 0; i < n_in; i++) {
		memset(bufs[4 + i], 0, sizeof(bufs[4 + i]));
		in[i].addr = bufs[4 + i];
		in[i].len = 20 + i;
	}
	CHECK_EQ(virtq_driver_add(q->vq, out, n_out, in, n_in, &token_obj), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), free0 - n_out - n_in);
	CHECK_EQ(tq_pop(q, &c), 0);		/* staged: not visible yet */
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK_EQ(tq_pop(q, &c), 0);
	check_chain(&c, out, n_out, in, n_in);
	for (i = 0; i < n_out; i++)		/* device reads what we wrote */
		CHECK(((char *)(uintptr_t)c.seg[i].addr)[0] == (char)('o' + i));
	CHECK_EQ(c.ndesc_ring, n_out + n_in);

	/* The device writes every writable byte but the last. */
	for (i = n_out; i < c.n; i++)
		memset((void *)(uintptr_t)c.seg[i].addr, 'w', c.seg[i].len);
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
	CHECK(!virtq_driver_has_used(q->vq));
	tq_push(q, c.head, c.in_len ? c.in_len - 1 : 0);
	tq_flush(q);
	CHECK(virtq_driver_has_used(q->vq));
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	CHECK(tok == &token_obj);
	CHECK_EQ(len, c.in_len ? c.in_len - 1 : 0);
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), free0);
	for (i = 0; i < n_in; i++)
		CHECK(bufs[4 + i][0] == 'w');
}

/* Fill the ring with 1-descriptor chains, return them in reverse order. */
static void fill_and_drain(struct tq *q)
{
	uint32_t num = q->num, i, len;
	static char seen[32768], buf[32768];
	struct virtq_sg sg;
	struct tchain c;
	void *tok;

	memset(seen, 0, num);
	for (i = 0; i < num; i++) {
		sg.addr = &buf[i];
		sg.len = 1;
		CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, &sg, 1, &buf[i]), 0);
	}
	CHECK_EQ(virtq_driver_num_free(q->vq), 0);
	sg.addr = buf;
	CHECK_EQ(virtq_driver_add(q->vq, &sg, 1, NULL, 0, buf), -ENOSPC);
	CHECK_EQ(virtq_driver_num_free(q->vq), 0);
	virtq_driver_publish(q->vq);

	/* Pop all, push them back last first. */
	{
		uint16_t *heads = malloc(num * sizeof(*heads));

		CHECK(heads != NULL);
		for (i = 0; i < num; i++) {
			CHECK_EQ(tq_pop(q, &c), 1);
			CHECK_EQ(c.n, 1);
			heads[i] = c.head;
		}
		CHECK_EQ(tq_pop(q, &c), 0);
		for (i = num; i-- > 0;)
			tq_push(q, heads[i], 1);
		free(heads);
	}
	tq_flush(q);
	for (i = 0; i < num; i++) {
		size_t k;

		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
		k = (size_t)((char *)tok - buf);
		CHECK(k < num);
		CHECK(!seen[k]);
		seen[k] = 1;
		CHECK_EQ(len, 1);
	}
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), num);
}

static void einval_cases(struct tq *q)
{
	char b[4];
	struct virtq_sg ok = { b, 4 }, zero = { b, 0 };
	struct virtq_sg huge[2] = { { b, 0x80000000u }, { b, 0x80000000u } };
	uint32_t free0 = virtq_driver_num_free(q->vq);

	CHECK_EQ(virtq_driver_add(q->vq, &ok, 1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, NULL, 0, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, &ok, 0, &ok, 0, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, &zero, 1, NULL, 0, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, &zero, 1, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, NULL, 1, NULL, 0, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, NULL, 0, NULL, 1, b), -EINVAL);
	CHECK_EQ(virtq_driver_add(q->vq, huge, 1, &huge[1], 1, b), -EINVAL);
	/* 4 GiB - 1 in total is still fine as far as validation goes. */
	huge[1].len = 0x7fffffffu;
	if (q->num >= 2) {
		void *tok;
		struct tchain c;
		uint32_t len;

		CHECK_EQ(virtq_driver_add(q->vq, huge, 1, &huge[1], 1, b), 0);
		virtq_driver_publish(q->vq);
		CHECK_EQ(tq_pop(q, &c), 1);
		CHECK_EQ(c.in_len, 0x7fffffffu);
		tq_push(q, c.head, 0x7fffffffu);
		tq_flush(q);
		CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
		CHECK(tok == b);
		CHECK_EQ(len, 0x7fffffffu);
	}
	CHECK_EQ(virtq_driver_num_free(q->vq), free0);
	CHECK(!virtq_driver_is_broken(q->vq));
}

/* Longer than the ring can ever hold (no indirect): -ENOSPC, nothing used. */
static void too_long(struct tq *q)
{
	static char b[32768 + 1];
	struct virtq_sg *sg;
	uint32_t i, n = q->num + 1;

	sg = malloc(n * sizeof(*sg));
	CHECK(sg != NULL);
	for (i = 0; i < n; i++) {
		sg[i].addr = &b[i];
		sg[i].len = 1;
	}
	CHECK_EQ(virtq_driver_add(q->vq, sg, n / 2, sg + n / 2, n - n / 2, b),
		 -ENOSPC);
	CHECK_EQ(virtq_driver_num_free(q->vq), q->num);
	free(sg);
}

/* Many cycles with random chains: indices wrap past 0xffff. */
static void cycles(struct tq *q, unsigned long rounds, uint64_t seed)
{
	static char data[64][32];
	struct virtq_sg out[3], in[3];
	uint32_t inflight = 0;
	unsigned long r;

	for (r = 0; r <= rounds; r++) {
		unsigned int n_out = test_rand(&seed) % 3, n_in, i;
		unsigned int slot = r % 64;
		struct tchain c;
		void *tok;
		uint32_t len;
		int ret;

		n_in = (n_out ? 0 : 1) + test_rand(&seed) % 2;
		if (n_out + n_in > q->num)
			n_out = 0, n_in = 1;
		for (i = 0; i < n_out; i++)
			out[i] = (struct virtq_sg){ data[slot], 8 };
		for (i = 0; i < n_in; i++)
			in[i] = (struct virtq_sg){ data[slot] + 8 + 8 * i, 8 };
		ret = virtq_driver_add(q->vq, out, n_out, in, n_in,
				       (void *)(uintptr_t)(r + 1));
		if (ret == -ENOSPC) {
			CHECK(virtq_driver_num_free(q->vq) < n_out + n_in);
		} else {
			CHECK_EQ(ret, 0);
			inflight++;
		}
		if (test_rand(&seed) % 4 == 0 || ret == -ENOSPC ||
		    r == rounds) {
			virtq_driver_publish(q->vq);
			while (tq_pop(q, &c)) {
				CHECK_EQ(c.n, c.ndesc_ring);
				tq_push(q, c.head, c.in_len / 2);
			}
			tq_flush(q);
			while ((ret = virtq_driver_get_used(q->vq, &tok, &len)) == 1) {
				CHECK(tok != NULL);
				inflight--;
			}
			CHECK_EQ(ret, 0);
			CHECK_EQ(inflight, 0);
			CHECK_EQ(virtq_driver_num_free(q->vq), q->num);
		}
	}
}

static void detach_and_reset(struct tq *q)
{
	static char b[8];
	struct virtq_sg sg = { b, 8 };
	uint32_t n = q->num < 8 ? q->num : 8, i, got = 0;
	unsigned int mask = 0;
	void *tok;
	struct tchain c;

	for (i = 0; i < n; i++)
		CHECK_EQ(virtq_driver_add(q->vq, &sg, 1, NULL, 0, &b[i]), 0);
	virtq_driver_publish(q->vq);
	/* The device reset: it no longer touches the ring. */
	while (virtq_driver_detach_unused(q->vq, &tok) == 1) {
		size_t k = (size_t)((char *)tok - b);

		CHECK(k < n);
		CHECK(!(mask & (1u << k)));
		mask |= 1u << k;
		got++;
	}
	CHECK_EQ(got, n);
	CHECK_EQ(virtq_driver_num_free(q->vq), q->num);
	virtq_driver_reset(q->vq);
	CHECK_EQ(virtq_le16(q->cfg.avail->idx), 0);
	CHECK_EQ(virtq_le16(q->cfg.avail->ring[0]), 0);
	CHECK_EQ(virtq_le64(q->cfg.desc[0].addr), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), q->num);
	CHECK_EQ(virtq_driver_detach_unused(q->vq, &tok), 0);
	/* The device starts over too. */
	memset(q->cfg.used, 0, virtq_used_size(q->num));
	q->dev_avail = q->dev_used = q->dev_pub = 0;
	CHECK_EQ(tq_pop(q, &c), 0);
	round_trip(q, 1, 0);
}

static void init_errors(void)
{
	struct virtq_driver_config cfg;
	struct tq q = { 0 };
	size_t msz = virtq_driver_mem_size(8);
	void *mem = tq_alloc(64, msz + 64);

	CHECK_EQ(virtq_driver_mem_size(0), 0);
	CHECK_EQ(virtq_driver_mem_size(3), 0);
	CHECK_EQ(virtq_driver_mem_size(65536), 0);
	CHECK_EQ(virtq_driver_indirect_size(8, 1), 0);
	CHECK_EQ(virtq_driver_indirect_size(6, 4), 0);

	tq_cfg_default(&cfg, 8, 0);
	tq_alloc_rings(&q, &cfg, 0, 0);
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), 0);
	CHECK_EQ(virtq_driver_init(mem, msz - 1, &cfg), -EINVAL);
	CHECK_EQ(virtq_driver_init((void *)((char *)mem + 8), msz, &cfg), -EINVAL);
	CHECK_EQ(virtq_driver_init(mem, msz, NULL), -EINVAL);
	cfg.num = 6;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.num = 0;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.num = 65536;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.num = 16;		/* mem is sized for 8 */
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.num = 8;
	cfg.desc = (void *)((char *)q.rings[0] + 8);
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.desc = q.rings[0];
	cfg.avail = (void *)((char *)q.rings[1] + 1);
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.avail = q.rings[1];
	cfg.used = (void *)((char *)q.rings[2] + 2);
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.used = NULL;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	cfg.used = q.rings[2];
	/* Indirect pool misaligned, with the feature. */
	cfg.features = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	cfg.indirect = (char *)q.rings[2] + 8;
	cfg.indirect_max = 2;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EINVAL);
	/* ...but ignored without it. */
	cfg.features = 0;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), 0);
	free(mem);
	free(q.rings[0]);
	free(q.rings[1]);
	free(q.rings[2]);
}

static void legacy(uint32_t num, uint64_t features)
{
	struct tq *q = calloc(1, sizeof(*q));
	size_t sz = virtq_legacy_size(num, 4096);
	char *base = tq_alloc(4096, sz);
	uint64_t d, a, u;

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, num, features);
	CHECK_EQ(virtq_driver_config_legacy(&q->cfg, base + 16, 4096), -EINVAL);
	CHECK_EQ(virtq_driver_config_legacy(&q->cfg, base, 3000), -EINVAL);
	CHECK_EQ(virtq_driver_config_legacy(&q->cfg, base, 8), -EINVAL);
	q->cfg.num = 5;
	CHECK_EQ(virtq_driver_config_legacy(&q->cfg, base, 4096), -EINVAL);
	q->cfg.num = num;
	CHECK_EQ(virtq_driver_config_legacy(&q->cfg, base, 4096), 0);
	CHECK((char *)q->cfg.desc == base);
	CHECK((char *)q->cfg.avail == base + 16 * num);
	CHECK((char *)q->cfg.used == base + virtq_legacy_used_offset(num, 4096));
	CHECK_EQ(((uintptr_t)q->cfg.used) % 4096, 0);
	q->rings[0] = base;
	tq_init(q);
	virtq_driver_ring_addrs(q->vq, &d, &a, &u);
	CHECK_EQ(d, (uintptr_t)base);
	CHECK_EQ(a, (uintptr_t)base + 16 * num);
	CHECK_EQ(u, (uintptr_t)base + virtq_legacy_used_offset(num, 4096));
	round_trip(q, 1, 0);
	if (num >= 2)
		round_trip(q, 1, 1);
	cycles(q, test_scale(3000), num);
	tq_free(q);
}

int main(void)
{
	unsigned int si, ev;

	init_errors();
	for (ev = 0; ev < 2; ev++) {
		uint64_t feat = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;

		for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			uint32_t num = sizes[si];
			struct tq *q = tq_new(num, feat, 0, 0);
			uint64_t d, a, u;

			CHECK_EQ(virtq_driver_size(q->vq), num);
			CHECK_EQ(virtq_driver_num_free(q->vq), num);
			CHECK(!virtq_driver_is_broken(q->vq));
			virtq_driver_ring_addrs(q->vq, &d, &a, &u);
			CHECK_EQ(d, (uintptr_t)q->cfg.desc);
			CHECK_EQ(a, (uintptr_t)q->cfg.avail);
			CHECK_EQ(u, (uintptr_t)q->cfg.used);
			/* init zeroed the rings. */
			CHECK_EQ(virtq_le16(q->cfg.avail->idx), 0);
			CHECK_EQ(virtq_le16(q->cfg.used->idx), 0);
			CHECK_EQ(tq_used_event(q), 0);

			round_trip(q, 1, 0);
			round_trip(q, 0, 1);
			if (num >= 2) {
				round_trip(q, 1, 1);
				round_trip(q, 0, 2);
				round_trip(q, 2, 0);
			}
			if (num >= 8) {
				round_trip(q, 3, 4);
				round_trip(q, 4, 4);
			}
			einval_cases(q);
			too_long(q);
			fill_and_drain(q);
			cycles(q, num <= 4 ? 140000 : test_scale(20000),
			       num * 7 + ev);
			detach_and_reset(q);
			tq_free(q);
		}
		legacy(1, feat);
		legacy(256, feat);
	}
	printf("driver-basic: ok\n");
	return 0;
}
