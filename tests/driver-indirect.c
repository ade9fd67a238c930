/* SPDX-License-Identifier: MIT */
/*
 * driver-indirect: chains go through a preallocated indirect table when
 * VIRTQ_F_INDIRECT_DESC is negotiated, a pool is given and the segment
 * count is within [indirect_min (0 -> 2), indirect_max]; otherwise direct.
 * Checks what the device sees: one ring descriptor with F_INDIRECT only,
 * addr = the head's own table, len = 16 * segments, and the table entries
 * (addr, len, WRITE, NEXT, next = i + 1); num_free drops by one per
 * indirect chain; no table holds more than the queue size.
 */
#include "driver-test.h"

static char data[64][64];

/* Add @n_out + @n_in one-byte-apart buffers from data[@k]. */
static int add_n(struct tq *q, unsigned int k, unsigned int n_out,
		 unsigned int n_in)
{
	struct virtq_sg out[16], in[16];
	unsigned int i;

	CHECK(n_out <= 16 && n_in <= 16);
	for (i = 0; i < n_out; i++)
		out[i] = (struct virtq_sg){ data[k] + i, 1 };
	for (i = 0; i < n_in; i++)
		in[i] = (struct virtq_sg){ data[k] + 32 + i, 1 + i };
	return virtq_driver_add(q->vq, out, n_out, in, n_in, data[k]);
}

/* Pop one chain and check it against add_n(k, n_out, n_in). */
static void pop_check(struct tq *q, unsigned int k, unsigned int n_out,
		      unsigned int n_in, bool want_indirect)
{
	struct tchain c;
	unsigned int i;

	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK_EQ(c.indirect, want_indirect);
	CHECK_EQ(c.n, n_out + n_in);
	CHECK_EQ(c.ndesc_ring, want_indirect ? 1 : n_out + n_in);
	for (i = 0; i < n_out; i++) {
		CHECK_EQ(c.seg[i].addr, (uintptr_t)(data[k] + i));
		CHECK_EQ(c.seg[i].len, 1);
		CHECK(!c.seg[i].write);
	}
	for (i = 0; i < n_in; i++) {
		CHECK_EQ(c.seg[n_out + i].addr, (uintptr_t)(data[k] + 32 + i));
		CHECK_EQ(c.seg[n_out + i].len, 1 + i);
		CHECK(c.seg[n_out + i].write);
	}
	if (want_indirect) {
		/* The raw table, entry by entry. */
		const struct virtq_desc *d = &q->cfg.desc[c.head];
		const struct virtq_desc *t;
		size_t stride = (size_t)q->cfg.indirect_max * 16;

		CHECK_EQ(virtq_le16(d->flags), VIRTQ_DESC_F_INDIRECT);
		CHECK_EQ(virtq_le32(d->len), 16 * (n_out + n_in));
		CHECK_EQ(virtq_le64(d->addr),
			 (uintptr_t)q->cfg.indirect + c.head * stride);
		t = (const struct virtq_desc *)(uintptr_t)virtq_le64(d->addr);
		for (i = 0; i < n_out + n_in; i++) {
			uint16_t fl = virtq_le16(t[i].flags);
			bool last = i == n_out + n_in - 1;

			CHECK_EQ(!!(fl & VIRTQ_DESC_F_WRITE), i >= n_out);
			CHECK_EQ(!!(fl & VIRTQ_DESC_F_NEXT), !last);
			CHECK(!(fl & VIRTQ_DESC_F_INDIRECT));
			if (!last)
				CHECK_EQ(virtq_le16(t[i].next), i + 1);
		}
	}
	tq_push(q, c.head, c.in_len);
}

static void get_back(struct tq *q, unsigned int k)
{
	void *tok;
	uint32_t len;

	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	CHECK(tok == data[k]);
}

/* One chain through, checking the path it took and num_free. */
static void through(struct tq *q, unsigned int n_out, unsigned int n_in,
		    bool want_indirect)
{
	uint32_t free0 = virtq_driver_num_free(q->vq);

	CHECK_EQ(add_n(q, 0, n_out, n_in), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq),
		 free0 - (want_indirect ? 1 : n_out + n_in));
	virtq_driver_publish(q->vq);
	pop_check(q, 0, n_out, n_in, want_indirect);
	tq_flush(q);
	get_back(q, 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), free0);
}

static const uint64_t IND = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);

int main(void)
{
	unsigned int ev, k;

	for (ev = 0; ev < 2; ev++) {
		uint64_t evf = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;
		struct tq *q;

		/* On, default threshold 2, max 8. */
		q = tq_new(16, IND | evf, 8, 0);
		through(q, 1, 0, false);
		through(q, 0, 1, false);
		through(q, 1, 1, true);
		through(q, 2, 0, true);
		through(q, 0, 2, true);
		through(q, 3, 5, true);
		through(q, 4, 5, false);	/* 9 > indirect_max */
		through(q, 16, 0, false);	/* fills the ring exactly */
		tq_free(q);

		/* Threshold: indirect_min 4. */
		q = tq_new(16, IND | evf, 8, 4);
		through(q, 2, 1, false);
		through(q, 2, 2, true);
		through(q, 8, 0, true);
		through(q, 8, 1, false);
		tq_free(q);

		/* Pool without the feature, feature without a pool, max 1. */
		q = tq_new(16, evf, 8, 0);
		through(q, 2, 2, false);
		tq_free(q);
		q = tq_new(16, IND | evf, 0, 0);
		through(q, 2, 2, false);
		tq_free(q);
		q = calloc(1, sizeof(*q));
		CHECK(q != NULL);
		tq_cfg_default(&q->cfg, 16, IND | evf);
		tq_alloc_rings(q, &q->cfg, 0, 0);
		q->rings[3] = tq_alloc(64, 16 * 16);
		q->cfg.indirect = q->rings[3];
		q->cfg.indirect_max = 1;
		tq_init(q);
		through(q, 1, 1, false);
		tq_free(q);

		/* No chain longer than the queue, indirect or not (2.7.5.3.1;
		 * driver-indirect-max-queue-size has the regression test):
		 * size 1 never goes indirect (a table would hold at most 1),
		 * size 2 takes tables of at most 2. */
		q = tq_new(1, IND | evf, 16, 0);
		CHECK_EQ(add_n(q, 1, 1, 0), 0);		/* direct, 1 desc */
		CHECK_EQ(add_n(q, 2, 1, 1), -ENOSPC);	/* no descriptor left */
		virtq_driver_publish(q->vq);
		pop_check(q, 1, 1, 0, false);
		tq_flush(q);
		get_back(q, 1);
		CHECK_EQ(add_n(q, 2, 1, 1), -ENOSPC);	/* 2 > 1 desc, direct */
		tq_free(q);

		q = tq_new(2, IND | evf, 16, 0);
		CHECK_EQ(add_n(q, 0, 1, 1), 0);		/* indirect, 2 entries */
		CHECK_EQ(add_n(q, 1, 0, 2), 0);
		CHECK_EQ(virtq_driver_num_free(q->vq), 0);
		CHECK_EQ(add_n(q, 2, 1, 1), -ENOSPC);
		virtq_driver_publish(q->vq);
		pop_check(q, 0, 1, 1, true);
		pop_check(q, 1, 0, 2, true);
		tq_flush(q);
		get_back(q, 0);
		get_back(q, 1);
		CHECK_EQ(add_n(q, 2, 10, 6), -ENOSPC);	/* 16: direct, too long */
		tq_free(q);

		/* Every slot busy at once: each head has its own table. */
		q = tq_new(64, IND | evf, 4, 0);
		for (k = 0; k < 64; k++)
			CHECK_EQ(add_n(q, k, 2, 2), 0);
		CHECK_EQ(virtq_driver_num_free(q->vq), 0);
		virtq_driver_publish(q->vq);
		for (k = 0; k < 64; k++)
			pop_check(q, k, 2, 2, true);
		tq_flush(q);
		for (k = 0; k < 64; k++)
			get_back(q, k);
		CHECK_EQ(virtq_driver_num_free(q->vq), 64);
		tq_free(q);
	}

	/* Pool size helper, and init errors for the pool. */
	CHECK_EQ(virtq_driver_indirect_size(256, 8), 256 * 8 * 16);
	CHECK_EQ(virtq_driver_indirect_size(32768, 32768),
		 sizeof(size_t) >= 8 ? (size_t)32768 * 32768 * 16 : 0);
	CHECK_EQ(virtq_driver_indirect_size(256, 32769), 0);
	{
		struct tq q0 = { 0 };
		size_t msz = virtq_driver_mem_size(16);
		void *mem = tq_alloc(64, msz);

		tq_cfg_default(&q0.cfg, 16, IND);
		tq_alloc_rings(&q0, &q0.cfg, 8, 0);
		q0.cfg.indirect = (char *)q0.rings[3] + 8;
		CHECK_EQ(virtq_driver_init(mem, msz, &q0.cfg), -EINVAL);
		q0.cfg.indirect = q0.rings[3];
		q0.cfg.indirect_max = 40000;
		CHECK_EQ(virtq_driver_init(mem, msz, &q0.cfg), -EINVAL);
		q0.cfg.indirect_max = 8;
		CHECK_EQ(virtq_driver_init(mem, msz, &q0.cfg), 0);
		free(mem);
		for (k = 0; k < 4; k++)
			free(q0.rings[k]);
	}
	printf("driver-indirect: ok\n");
	return 0;
}
