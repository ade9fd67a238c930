/* SPDX-License-Identifier: MIT */
/*
 * driver-translate: the address-translation and cache-maintenance hooks.
 *
 * A fake IOMMU maps a "ring" arena contiguously at RING_DEV and a "data"
 * arena at DATA_DEV in 64-byte pages that are not contiguous in device
 * space, so a buffer becomes one descriptor per page piece.  Checks the
 * pieces the device sees (addresses, lengths, WRITE flags), for direct and
 * indirect chains, the fall back to direct when the pieces overflow an
 * indirect table, ring addresses through the hook, -EFAULT at init for
 * rings that do not map contiguously, and that a failed add (-EFAULT from
 * an unmappable buffer or a hook answering nonsense, -ENOSPC when the
 * pieces outgrow the free descriptors) leaves num_free, the avail ring and
 * the free list as they were.  Then the cache hooks: which areas are
 * cleaned / invalidated, and that avail entries are cleaned before
 * avail->idx.
 */
#include "driver-test.h"

#define PAGE		64u
#define RING_DEV	0x100000000ull
#define DATA_DEV	0x200000000ull
#define RING_BYTES	(64u * 1024)
#define DATA_BYTES	(16u * 1024)

static _Alignas(4096) char ring_arena[RING_BYTES];
static _Alignas(4096) char data_arena[DATA_BYTES];
static char unmapped[256];
static int bad_mapped;		/* hook answers mapped = 0 */
static int split_rings;		/* hook splits ring memory too */

/*
 * Data page i lives at DATA_DEV + (i ^ 1) * 2 * PAGE: neighbours in the
 * driver are far apart (and swapped) on the device side.
 */
static uint64_t data_page_dev(size_t page)
{
	return DATA_DEV + (uint64_t)(page ^ 1) * 2 * PAGE;
}

static uint64_t fake_iommu(void *opaque, const void *addr, size_t len,
			   size_t *mapped)
{
	const char *p = addr;

	(void)opaque;
	if (p >= ring_arena && p < ring_arena + RING_BYTES) {
		size_t off = (size_t)(p - ring_arena);

		*mapped = len;
		if (split_rings && len > PAGE)
			*mapped = PAGE;
		if (off + *mapped > RING_BYTES)
			*mapped = RING_BYTES - off;
		return RING_DEV + off;
	}
	if (p >= data_arena && p < data_arena + DATA_BYTES) {
		size_t off = (size_t)(p - data_arena);
		size_t in_page = PAGE - off % PAGE;

		*mapped = bad_mapped ? 0 : (len < in_page ? len : in_page);
		return data_page_dev(off / PAGE) + off % PAGE;
	}
	return VIRTQ_ADDR_INVALID;
}

/* Device side: device address -> pointer. */
static void *d2p(uint64_t a)
{
	if (a >= RING_DEV && a < RING_DEV + RING_BYTES)
		return ring_arena + (a - RING_DEV);
	if (a >= DATA_DEV && a < DATA_DEV + 2 * DATA_BYTES + 2 * PAGE) {
		uint64_t off = a - DATA_DEV;
		size_t page = (size_t)(off / (2 * PAGE)) ^ 1;

		CHECK(off % (2 * PAGE) < PAGE);
		return data_arena + page * PAGE + off % (2 * PAGE);
	}
	fprintf(stderr, "device address %#llx not mapped\n",
		(unsigned long long)a);
	exit(1);
}

/* ---- cache hook log ----------------------------------------------------- */

struct cache_op {
	char op;		/* 'c' clean, 'i' invalidate */
	const void *addr;
	size_t len;
};

static struct cache_op cache_log[4096];
static unsigned int n_log;

static void log_op(char op, const void *addr, size_t len)
{
	CHECK(n_log < sizeof(cache_log) / sizeof(cache_log[0]));
	cache_log[n_log++] = (struct cache_op){ op, addr, len };
}

static void hook_clean(void *o, const void *a, size_t l)
{
	(void)o;
	log_op('c', a, l);
}

static void hook_inval(void *o, const void *a, size_t l)
{
	(void)o;
	log_op('i', a, l);
}

/* Index of the first logged @op covering [addr, addr + len), or -1. */
static int find_op(char op, const void *addr, size_t len)
{
	const char *p = addr;
	unsigned int i;

	for (i = 0; i < n_log; i++) {
		const char *s = cache_log[i].addr;

		if (cache_log[i].op == op && p >= s &&
		    p + len <= s + cache_log[i].len)
			return (int)i;
	}
	return -1;
}

/* ---- queue over the ring arena ----------------------------------------- */

/* A queue whose rings start at @off in the ring arena. */
static struct tq *new_q_at(uint32_t num, uint64_t feat, uint16_t ind_max,
			   bool hooks, size_t off)
{
	struct tq *q = calloc(1, sizeof(*q));
	size_t start = off, msz;

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, num, feat);
	q->cfg.translate = fake_iommu;
	if (hooks) {
		q->cfg.cache_clean = hook_clean;
		q->cfg.cache_invalidate = hook_inval;
	}
	q->cfg.desc = (void *)(ring_arena + off);
	off = virtq_align_up(off + virtq_desc_size(num), 64);
	q->cfg.avail = (void *)(ring_arena + off);
	off = virtq_align_up(off + virtq_avail_size(num), 64);
	q->cfg.used = (void *)(ring_arena + off);
	off = virtq_align_up(off + virtq_used_size(num), 64);
	if (ind_max) {
		q->cfg.indirect = ring_arena + off;
		q->cfg.indirect_max = ind_max;
		off += virtq_driver_indirect_size(num, ind_max);
	}
	CHECK(off <= RING_BYTES);
	memset(ring_arena + start, 0x5a, off - start);
	q->d2p = d2p;
	msz = virtq_driver_mem_size(num);
	q->vq = tq_alloc(64, msz);
	CHECK_EQ(virtq_driver_init(q->vq, msz, &q->cfg), 0);
	q->num = num;
	return q;
}

static struct tq *new_q(uint32_t num, uint64_t feat, uint16_t ind_max,
			bool hooks)
{
	return new_q_at(num, feat, ind_max, hooks, 0);
}

static void free_q(struct tq *q)
{
	free(q->vq);
	free(q);
}

/* The device sees @c; check its pieces cover @sg in order, page-split. */
static void check_pieces(const struct tchain *c, unsigned int *k,
			 const struct virtq_sg *sg, unsigned int n, bool write)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const char *p = sg[i].addr;
		uint32_t left = sg[i].len;

		while (left) {
			size_t off = (size_t)(p - data_arena);
			uint32_t piece = PAGE - off % PAGE;

			if (piece > left)
				piece = left;
			CHECK(*k < c->n);
			CHECK_EQ(c->seg[*k].addr,
				 data_page_dev(off / PAGE) + off % PAGE);
			CHECK_EQ(c->seg[*k].len, piece);
			CHECK_EQ(c->seg[*k].write, write);
			CHECK(d2p(c->seg[*k].addr) == p);
			(*k)++;
			p += piece;
			left -= piece;
		}
	}
}

static void take_back(struct tq *q, const struct tchain *c, void *want)
{
	void *tok;
	uint32_t len;

	tq_push(q, c->head, c->in_len);
	tq_flush(q);
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	CHECK(tok == want);
	CHECK_EQ(len, c->in_len);
}

static void split_direct(void)
{
	struct tq *q = new_q(16, 0, 0, false);
	/* out: 200 bytes from offset 10 -> 54 + 64 + 64 + 18;
	 * in: 100 bytes from offset 1000 -> 24 + 64 + 12. */
	struct virtq_sg out = { data_arena + 10, 200 };
	struct virtq_sg in = { data_arena + 1000, 100 };
	struct virtq_sg bad = { unmapped, 16 };
	struct tchain c;
	uint64_t d, a, u;
	unsigned int k = 0;

	virtq_driver_ring_addrs(q->vq, &d, &a, &u);
	CHECK_EQ(d, RING_DEV + (uint64_t)((char *)q->cfg.desc - ring_arena));
	CHECK_EQ(a, RING_DEV + (uint64_t)((char *)q->cfg.avail - ring_arena));
	CHECK_EQ(u, RING_DEV + (uint64_t)((char *)q->cfg.used - ring_arena));

	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &out), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), 16 - 7);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK_EQ(c.n, 7);
	check_pieces(&c, &k, &out, 1, false);
	check_pieces(&c, &k, &in, 1, true);
	CHECK_EQ(c.in_len, 100);
	take_back(q, &c, &out);
	CHECK_EQ(virtq_driver_num_free(q->vq), 16);

	/* -EFAULT after some pieces were written: nothing was added. */
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &bad, 1, &out), -EFAULT);
	CHECK_EQ(virtq_driver_add(q->vq, &bad, 1, &in, 1, &out), -EFAULT);
	CHECK_EQ(virtq_driver_num_free(q->vq), 16);
	bad_mapped = 1;
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, NULL, 0, &out), -EFAULT);
	bad_mapped = 0;
	CHECK_EQ(virtq_driver_num_free(q->vq), 16);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 0);		/* avail ring untouched */

	/* -ENOSPC when the pieces outgrow the free descriptors: 17 pages. */
	{
		struct virtq_sg big = { data_arena + 1, 16 * PAGE };

		CHECK_EQ(virtq_driver_add(q->vq, &big, 1, NULL, 0, &big),
			 -ENOSPC);
		CHECK_EQ(virtq_driver_num_free(q->vq), 16);
		big.len = 16 * PAGE - 1;	/* 16 pieces: exactly fits */
		CHECK_EQ(virtq_driver_add(q->vq, &big, 1, NULL, 0, &big), 0);
		CHECK_EQ(virtq_driver_num_free(q->vq), 0);
		virtq_driver_publish(q->vq);
		CHECK_EQ(tq_pop(q, &c), 1);
		CHECK_EQ(c.n, 16);
		k = 0;
		check_pieces(&c, &k, &big, 1, false);
		take_back(q, &c, &big);
	}

	/* The free list survived all that: fill it with 1-piece chains. */
	for (k = 0; k < 16; k++) {
		struct virtq_sg one = { data_arena + PAGE * k, 8 };

		CHECK_EQ(virtq_driver_add(q->vq, &one, 1, NULL, 0,
					  data_arena + k), 0);
	}
	CHECK_EQ(virtq_driver_num_free(q->vq), 0);
	virtq_driver_publish(q->vq);
	for (k = 0; k < 16; k++) {
		CHECK_EQ(tq_pop(q, &c), 1);
		CHECK_EQ(c.n, 1);
		take_back(q, &c, data_arena + k);
	}
	CHECK_EQ(virtq_driver_num_free(q->vq), 16);
	free_q(q);
}

static void split_indirect(void)
{
	struct tq *q = new_q(8, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 8, false);
	/* 2 segments -> 2 + 3 = 5 pieces: fits a table of 8. */
	struct virtq_sg out = { data_arena + 60, 10 };
	struct virtq_sg in = { data_arena + 2 * PAGE + 32, 140 };
	struct virtq_sg bad = { unmapped, 16 };
	struct tchain c;
	unsigned int k = 0;

	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &out), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), 7);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK(c.indirect);
	CHECK_EQ(c.n, 5);
	CHECK_EQ(virtq_le64(q->cfg.desc[c.head].addr),
		 RING_DEV + (uint64_t)((char *)q->cfg.indirect - ring_arena) +
		 (uint64_t)c.head * 8 * 16);
	check_pieces(&c, &k, &out, 1, false);
	check_pieces(&c, &k, &in, 1, true);
	take_back(q, &c, &out);

	/* 2 segments, 10 pieces: too many for the table, so direct. */
	in.len = 9 * PAGE - 32;
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &in), -ENOSPC);
	in.len = 6 * PAGE;		/* 2 + 7 = 9 pieces > 8: direct, fits? no */
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &in), -ENOSPC);
	in.len = 5 * PAGE + 16;		/* 2 + 6 = 8 pieces: indirect */
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &in), 0);
	CHECK_EQ(virtq_driver_num_free(q->vq), 7);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 1);
	CHECK(c.indirect);
	CHECK_EQ(c.n, 8);
	take_back(q, &c, &in);

	/* Table overflow with room in the ring: 9 pieces go direct. */
	{
		struct tq *q2;
		struct virtq_sg o = { data_arena + 60, 10 };
		struct virtq_sg i2 = { data_arena + 2 * PAGE + 32, 6 * PAGE };

		q2 = new_q_at(16, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 8,
			      false, RING_BYTES / 2);
		CHECK_EQ(virtq_driver_add(q2->vq, &o, 1, &i2, 1, &o), 0);
		CHECK_EQ(virtq_driver_num_free(q2->vq), 16 - 9);
		virtq_driver_publish(q2->vq);
		CHECK_EQ(tq_pop(q2, &c), 1);
		CHECK(!c.indirect);
		CHECK_EQ(c.n, 9);
		k = 0;
		check_pieces(&c, &k, &o, 1, false);
		check_pieces(&c, &k, &i2, 1, true);
		take_back(q2, &c, &o);
		free_q(q2);
	}

	/* -EFAULT in the indirect path: nothing added. */
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &bad, 1, &out), -EFAULT);
	CHECK_EQ(virtq_driver_num_free(q->vq), 8);
	virtq_driver_publish(q->vq);
	CHECK_EQ(tq_pop(q, &c), 0);
	free_q(q);
}

static void init_efault(void)
{
	struct virtq_driver_config cfg;
	size_t msz = virtq_driver_mem_size(64);
	void *mem = tq_alloc(64, msz);

	tq_cfg_default(&cfg, 64, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC));
	cfg.translate = fake_iommu;
	cfg.desc = (void *)ring_arena;
	cfg.avail = (void *)(ring_arena + 2048);
	cfg.used = (void *)(ring_arena + 4096);
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), 0);
	/* A ring area the hook cannot map. */
	cfg.used = (void *)unmapped;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EFAULT);
	cfg.used = (void *)(ring_arena + 4096);
	/* Ring areas that map only in pieces. */
	split_rings = 1;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EFAULT);
	split_rings = 0;
	/* An indirect pool in data pages (not contiguous on the device). */
	cfg.indirect = data_arena;
	cfg.indirect_max = 4;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), -EFAULT);
	cfg.indirect = ring_arena + 8192;
	CHECK_EQ(virtq_driver_init(mem, msz, &cfg), 0);
	free(mem);
}

static void cache_hooks(void)
{
	struct tq *q = new_q(8, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0, true);
	struct virtq_sg out = { data_arena + 10, 100 };	/* 2 pieces */
	struct virtq_sg in = { data_arena + 512, 8 };
	struct tchain c;
	void *tok;
	uint32_t len, i;
	int ent, idx;

	/* init zeroed the rings and cleaned them. */
	CHECK(find_op('c', q->cfg.desc, virtq_desc_size(8)) >= 0);
	CHECK(find_op('c', q->cfg.avail, virtq_avail_size(8)) >= 0);
	CHECK(find_op('c', q->cfg.used, virtq_used_size(8)) >= 0);

	n_log = 0;
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, &in, 1, &out), 0);
	/* The three descriptors, the avail entry, both buffers. */
	for (i = 0; i < 3; i++)
		CHECK(find_op('c', &q->cfg.desc[i], 16) >= 0);
	CHECK(find_op('c', out.addr, out.len) >= 0);
	CHECK(find_op('c', in.addr, in.len) >= 0);
	ent = find_op('c', &q->cfg.avail->ring[0], 2);
	CHECK(ent >= 0);
	CHECK(find_op('c', &q->cfg.avail->idx, 2) < 0);	/* not yet */
	CHECK(find_op('i', q->cfg.used, virtq_used_size(8)) < 0);

	CHECK(virtq_driver_kick_prepare(q->vq));
	idx = find_op('c', &q->cfg.avail->idx, 2);
	CHECK(idx > ent);			/* entry before index */
	CHECK(find_op('i', virtq_avail_event(q->cfg.used, 8), 2) > idx);

	CHECK_EQ(tq_pop(q, &c), 1);
	tq_push(q, c.head, 8);
	tq_flush(q);
	n_log = 0;
	CHECK_EQ(virtq_driver_get_used(q->vq, &tok, &len), 1);
	idx = find_op('i', &q->cfg.used->idx, 2);
	CHECK(idx >= 0);
	CHECK(find_op('i', &q->cfg.used->ring[0], 8) > idx);
	/* Callbacks are on: used_event moved and was cleaned. */
	CHECK(find_op('c', virtq_used_event(q->cfg.avail, 8), 2) >= 0);
	CHECK_EQ(virtq_le16(*virtq_used_event(q->cfg.avail, 8)), 1);

	/* Without EVENT_IDX: used->flags read, avail->flags written. */
	free_q(q);
	q = new_q(8, 0, 0, true);
	n_log = 0;
	virtq_driver_disable_cb(q->vq);
	CHECK(find_op('c', &q->cfg.avail->flags, 2) >= 0);
	CHECK_EQ(virtq_driver_add(q->vq, &out, 1, NULL, 0, &out), 0);
	n_log = 0;
	CHECK(virtq_driver_kick_prepare(q->vq));
	CHECK(find_op('i', &q->cfg.used->flags, 2) >= 0);
	free_q(q);
}

int main(void)
{
	split_direct();
	split_indirect();
	init_efault();
	cache_hooks();
	printf("driver-translate: ok\n");
	return 0;
}
