/* SPDX-License-Identifier: MIT */
/*
 * device-pop-batch: virtq_device_pop_batch and virtq_device_push_batch
 * against pop and push.  Two device queues serve the same hostile ring (the
 * random, mostly almost-valid descriptors, indirect tables and avail
 * entries of device-random-hostile): one pops chain by chain, the other in
 * batches of random sizes with a random iovec capacity per chain.  Every
 * result must agree: the return value (1 per valid chain, or the same
 * error for the same head), every field of the chain and every iovec, the
 * avail index consumed, the in-flight count; nothing past a chain's iovec
 * capacity is written.  A malformed chain after valid ones ends a batch
 * and is reported first by the next call.  The pushes go back through
 * push (one queue) and push_batch (the other): the used ring and used->idx
 * must come out the same.  Then push_batch's errors, all or nothing.
 */
#include "hostile-ring.h"

static uint64_t seed = 0x452821e638d01377ull;

static uint64_t rnd(uint64_t n)
{
	return n ? test_rand(&seed) % n : 0;
}

static uint64_t rand_addr(void)
{
	switch (rnd(8)) {
	case 0:
		return test_rand(&seed);
	case 1:
		return hr_reg_gpa[rnd(HR_NREG)] - rnd(64);
	case 2: {
		int r = (int)rnd(HR_NREG);
		return hr_reg_gpa[r] + hr_reg_size[r] - rnd(64);
	}
	default: {
		int r = 1 + (int)rnd(HR_NREG - 1);
		return hr_reg_gpa[r] + rnd(hr_reg_size[r]);
	}
	}
}

static uint32_t rand_len(void)
{
	switch (rnd(8)) {
	case 0:
		return (uint32_t)test_rand(&seed);
	case 1:
		return 0;
	case 2:
		return 16 * (uint32_t)rnd(40);
	default:
		return (uint32_t)rnd(300);
	}
}

static uint16_t rand_flags(void)
{
	uint16_t f = (uint16_t)rnd(8);

	if (rnd(4) == 0)
		f |= (uint16_t)(test_rand(&seed) & 0xfff8);
	if (rnd(3) == 0)
		f &= (uint16_t)~VIRTQ_DESC_F_INDIRECT;
	return f;
}

static void rand_desc(struct virtq_desc *d, uint32_t tab_len)
{
	uint16_t next = rnd(10) ? (uint16_t)rnd(tab_len) :
				  (uint16_t)test_rand(&seed);

	hr_write_desc(d, rand_addr(), rand_len(), rand_flags(), next);
}

#define MAXB 8
#define IOVN (HR_IOV_CAP + HR_IOV_EXTRA)

static struct iovec biov[MAXB][IOVN];
static struct virtq_chain bc[MAXB];

static void same_chain(const struct virtq_chain *a, const struct virtq_chain *b)
{
	CHECK_EQ(a->head, b->head);
	CHECK_EQ(a->ndesc, b->ndesc);
	CHECK_EQ(a->n_out, b->n_out);
	CHECK_EQ(a->n_in, b->n_in);
	CHECK_EQ(a->out_len, b->out_len);
	CHECK_EQ(a->in_len, b->in_len);
	CHECK_EQ(a->indirect, b->indirect);
	for (uint32_t k = 0; k < a->n_out + a->n_in && k < a->iov_cap; k++) {
		CHECK(a->iov[k].iov_base == b->iov[k].iov_base);
		CHECK_EQ(a->iov[k].iov_len, b->iov[k].iov_len);
	}
}

static void untouched_past_cap(const struct virtq_chain *c)
{
	const unsigned char *p = (const unsigned char *)&c->iov[c->iov_cap];

	for (size_t k = 0; k < (IOVN - c->iov_cap) * sizeof(struct iovec); k++)
		CHECK(p[k] == 0x5a);
}

static unsigned long stat_ok, stat_bad, stat_split;

/* Serve @n available entries with pop (h.vq) and pop_batch (vq2). */
static void serve(struct hring *h, struct virtq_device *vq2, uint32_t n)
{
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE], npush = 0, done = 0;

	while (done < n) {
		unsigned int m = 1 + (unsigned int)rnd(MAXB);
		int r2;

		memset(biov, 0x5a, sizeof(biov));
		for (unsigned int i = 0; i < m; i++) {
			memset(&bc[i], 0, sizeof(bc[i]));
			bc[i].iov = biov[i];
			bc[i].iov_cap = (uint32_t)rnd(HR_IOV_CAP + 1);
		}
		r2 = virtq_device_pop_batch(vq2, bc, m);
		CHECK(r2 != 0);		/* entries are left */
		CHECK(r2 <= (int)m);
		for (unsigned int i = 0; i < m; i++)
			untouched_past_cap(&bc[i]);
		if (r2 > 0) {
			for (int i = 0; i < r2; i++) {
				hr_reset_chain(h, bc[i].iov_cap);
				CHECK_EQ(virtq_device_pop(h->vq, &h->c), 1);
				same_chain(&h->c, &bc[i]);
				heads[npush] = bc[i].head;
				lens[npush++] = (uint32_t)rnd(100);
				stat_ok++;
			}
			if (r2 < (int)m && done + (uint32_t)r2 < n)
				stat_split++;	/* stopped before a bad one? */
			done += (uint32_t)r2;
		} else {
			CHECK(r2 != -EIO);
			hr_reset_chain(h, bc[0].iov_cap);
			CHECK_EQ(virtq_device_pop(h->vq, &h->c), r2);
			same_chain(&h->c, &bc[0]);
			if (bc[0].head < h->num) {
				heads[npush] = bc[0].head;
				lens[npush++] = 0;
			}
			stat_bad++;
			done++;
		}
		CHECK_EQ(virtq_device_last_avail(h->vq), virtq_device_last_avail(vq2));
		CHECK_EQ(virtq_device_inflight(h->vq), virtq_device_inflight(vq2));
	}
	CHECK_EQ(virtq_device_pop(h->vq, &h->c), 0);
	CHECK_EQ(virtq_device_pop_batch(vq2, bc, MAXB), 0);

	/* Back: push one by one + flush on one, push_batch in random
	 * slices on the other: the same used ring. */
	for (uint32_t i = 0; i < npush; i++)
		CHECK_EQ(virtq_device_push(h->vq, heads[i], lens[i]), 0);
	int f = virtq_device_flush(h->vq);
	CHECK_EQ(f, (int)npush);
	uint32_t i = 0, published = 0;
	while (i < npush) {
		uint32_t k = 1 + (uint32_t)rnd(npush - i);
		int r = virtq_device_push_batch(vq2, heads + i, lens + i, k);

		CHECK_EQ(r, (int)k);
		published += (uint32_t)r;
		i += k;
	}
	CHECK_EQ(published, npush);
	CHECK_EQ(virtq_device_next_used(vq2), virtq_device_next_used(h->vq));
	CHECK_EQ(hr_used_idx(h), virtq_device_next_used(vq2));
	CHECK_EQ(virtq_device_inflight(vq2), 0);
	CHECK_EQ(virtq_device_inflight(h->vq), 0);
}

static void random_rounds(void)
{
	unsigned long rounds = test_scale(600);

	for (unsigned long round = 0; round < rounds; round++) {
		uint32_t num = 1u << rnd(9);
		uint64_t feat = (rnd(2) ? HR_FEAT_INDIRECT : 0) |
				(rnd(2) ? HR_FEAT_EVENT_IDX : 0);
		struct hring h;
		struct virtq_device *vq2;

		hr_init(&h, num, feat);
		vq2 = malloc(virtq_device_mem_size());
		CHECK(vq2);
		struct virtq_device_config cfg = hr_config(&h);
		CHECK_EQ(virtq_device_init(vq2, virtq_device_mem_size(), &cfg), 0);
		for (int batch = 0; batch < 8; batch++) {
			uint32_t n = 1 + (uint32_t)rnd(num);

			for (uint32_t i = 0; i < num; i++)
				rand_desc(&h.desc[i], num);
			/* sometimes many good one-buffer chains in a row */
			if (rnd(3) == 0)
				for (uint32_t i = 0; i < num; i++)
					hr_desc(&h, (uint16_t)i,
						hr_gpa(HR_A, 64 * (i % 512)), 64,
						rnd(2) ? VIRTQ_DESC_F_WRITE : 0, 0);
			for (int t = 0; t < 4; t++) {
				uint32_t tl = 1 + (uint32_t)rnd(8);
				uint64_t ta = hr_gpa(HR_C, 0x1000 * t + rnd(2) * 8);
				struct virtq_desc tab[8];

				for (uint32_t i = 0; i < tl; i++)
					rand_desc(&tab[i], tl);
				hr_put_table(&h, ta, tab, tl);
				hr_desc(&h, (uint16_t)rnd(num), ta, 16 * tl,
					VIRTQ_DESC_F_INDIRECT |
					(rnd(4) ? 0 : VIRTQ_DESC_F_NEXT),
					(uint16_t)rnd(num));
			}
			for (uint32_t i = 0; i < n; i++) {
				uint16_t head = rnd(20) ? (uint16_t)rnd(num) :
							  (uint16_t)test_rand(&seed);

				h.avail->ring[(h.avail_idx + i) & (num - 1)] =
					virtq_cpu_to_le16(head);
			}
			hr_set_avail_idx(&h, (uint16_t)(h.avail_idx + n));
			serve(&h, vq2, n);
		}
		CHECK(!virtq_device_is_broken(h.vq));
		CHECK(!virtq_device_is_broken(vq2));
		free(vq2);
		hr_fini(&h);
	}
}

/* A bad chain after two good ones; push_batch's errors. */
static void targeted(void)
{
	struct hring h;
	struct virtq_chain c[4];
	struct iovec iov[4][4];
	uint16_t heads[3] = { 0, 1, 2 };
	uint32_t lens[3] = { 5, 6, 7 };

	hr_init(&h, 16, 0);
	for (int i = 0; i < 4; i++) {
		c[i].iov = iov[i];
		c[i].iov_cap = 4;
	}
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), 0);
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 0), 0);
	hr_desc(&h, 0, hr_gpa(HR_A, 0), 16, VIRTQ_DESC_F_WRITE, 0);
	hr_desc(&h, 1, hr_gpa(HR_A, 16), 16, 0, 0);
	hr_desc(&h, 2, hr_gpa(HR_A, 32), 16, VIRTQ_DESC_F_NEXT, 99); /* next out of range */
	hr_desc(&h, 3, hr_gpa(HR_B, 0), 8, VIRTQ_DESC_F_WRITE, 0);
	hr_offer(&h, 0);
	hr_offer(&h, 1);
	hr_offer(&h, 2);
	hr_offer(&h, 3);
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), 2);
	CHECK_EQ(c[0].head, 0);
	CHECK_EQ(c[0].n_in, 1);
	CHECK_EQ(c[0].in_len, 16);
	CHECK(c[0].iov[0].iov_base == hr_ptr(&h, hr_gpa(HR_A, 0)));
	CHECK_EQ(c[1].head, 1);
	CHECK_EQ(c[1].n_out, 1);
	CHECK_EQ(virtq_device_last_avail(h.vq), 2);	/* 2 left unconsumed */
	CHECK_EQ(virtq_device_inflight(h.vq), 2);
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), -ERANGE);
	CHECK_EQ(c[0].head, 2);
	CHECK_EQ(virtq_device_last_avail(h.vq), 3);
	CHECK_EQ(virtq_device_inflight(h.vq), 3);
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), 1);
	CHECK_EQ(c[0].head, 3);

	/* push_batch: all or nothing */
	uint16_t used0 = hr_used_idx(&h);
	uint16_t bad[3] = { 0, 16, 1 };
	h.used->ring[0].id = virtq_cpu_to_le32(0xdead);
	CHECK_EQ(virtq_device_push_batch(h.vq, bad, lens, 3), -EINVAL);
	CHECK_EQ(virtq_le32(h.used->ring[0].id), 0xdead);
	CHECK_EQ(virtq_device_inflight(h.vq), 4);
	uint16_t many[5] = { 0, 1, 2, 3, 0 };
	uint32_t mlens[5] = { 0 };
	CHECK_EQ(virtq_device_push_batch(h.vq, many, mlens, 5), -EOVERFLOW);
	CHECK_EQ(virtq_le32(h.used->ring[0].id), 0xdead);
	CHECK_EQ(hr_used_idx(&h), used0);
	/* an unflushed push goes out with the batch */
	CHECK_EQ(virtq_device_push(h.vq, 3, 1), 0);
	CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 3), 4);
	CHECK_EQ(hr_used_idx(&h), (uint16_t)(used0 + 4));
	CHECK_EQ(virtq_le32(h.used->ring[0].id), 3);
	CHECK_EQ(virtq_le32(h.used->ring[1].id), 0);
	CHECK_EQ(virtq_le32(h.used->ring[1].len), 5);
	CHECK_EQ(virtq_le32(h.used->ring[3].id), 2);
	CHECK_EQ(virtq_le32(h.used->ring[3].len), 7);
	CHECK_EQ(virtq_device_inflight(h.vq), 0);
	CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 0), 0);
	CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 1), -EOVERFLOW);
	/* both wrong: push's order, the head first */
	uint16_t far[2] = { 99, 99 };
	CHECK_EQ(virtq_device_push(h.vq, 99, 0), -EINVAL);
	CHECK_EQ(virtq_device_push_batch(h.vq, far, lens, 1), -EINVAL);
	CHECK_EQ(virtq_device_push_batch(h.vq, far, lens, 2), -EINVAL);

	/* broken: avail->idx runs away */
	hr_set_avail_idx(&h, (uint16_t)(h.avail_idx + 17));
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), -EIO);
	CHECK(virtq_device_is_broken(h.vq));
	CHECK_EQ(virtq_device_pop_batch(h.vq, c, 4), -EIO);
	CHECK_EQ(virtq_device_push_batch(h.vq, heads, lens, 1), -EIO);
	hr_fini(&h);
}

int main(void)
{
	random_rounds();
	targeted();
	printf("device-pop-batch: %lu chains popped, %lu rejected, %lu batches"
	       " cut short\n", stat_ok, stat_bad, stat_split);
	CHECK(stat_ok > 0 && stat_bad > 0 && stat_split > 0);
	return 0;
}
