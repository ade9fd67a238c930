/* SPDX-License-Identifier: MIT */
/*
 * driver-test.h - a driver queue over heap memory, and a tiny hand-rolled
 * device for the driver tests.  The device reads desc / avail and writes
 * used directly (virtq_le*), deliberately not through src/device.c, so the
 * driver is tested on its own.  It CHECKs everything the driver wrote:
 * a malformed ring fails the test.
 */
#ifndef VIRTQ_DRIVER_TEST_H
#define VIRTQ_DRIVER_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "virtq/atomic.h"
#include "virtq/driver.h"
#include "virtq/ring.h"

struct tq {
	struct virtq_driver *vq;
	struct virtq_driver_config cfg;
	void *rings[4];		/* desc, avail, used, indirect (or legacy) */
	uint32_t num;
	uint16_t dev_avail;	/* device: next avail entry to read */
	uint16_t dev_used;	/* device: next used entry to fill */
	uint16_t dev_pub;	/* device: used->idx last published */
	/* device address -> pointer, for indirect tables (NULL: identity) */
	void *(*d2p)(uint64_t addr);
};

/* One segment of a chain as the device sees it. */
struct tseg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

#define TCHAIN_MAX 512

struct tchain {
	uint16_t head;
	bool indirect;		/* head descriptor had F_INDIRECT */
	uint32_t n;		/* segments */
	uint32_t ndesc_ring;	/* descriptors used in the ring table */
	uint32_t in_len;	/* device-writable bytes */
	struct tseg seg[TCHAIN_MAX];
};

static inline void *tq_alloc(size_t align, size_t size)
{
	void *p = aligned_alloc(align, (size + align - 1) / align * align);

	CHECK(p != NULL);
	memset(p, 0xa5, size);	/* init must zero what it needs */
	return p;
}

static inline void tq_cfg_default(struct virtq_driver_config *cfg,
				  uint32_t num, uint64_t features)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->num = num;
	cfg->features = features;
}

/* Allocate split rings (and an indirect pool if @ind_max) for @cfg->num. */
static inline void tq_alloc_rings(struct tq *q, struct virtq_driver_config *cfg,
				  uint16_t ind_max, uint16_t ind_min)
{
	uint32_t num = cfg->num;

	q->rings[0] = tq_alloc(4096, virtq_desc_size(num));
	q->rings[1] = tq_alloc(64, virtq_avail_size(num));
	q->rings[2] = tq_alloc(4096, virtq_used_size(num));
	cfg->desc = q->rings[0];
	cfg->avail = q->rings[1];
	cfg->used = q->rings[2];
	if (ind_max) {
		size_t sz = virtq_driver_indirect_size(num, ind_max);

		CHECK(sz == (size_t)num * ind_max * 16);
		q->rings[3] = tq_alloc(64, sz);
		cfg->indirect = q->rings[3];
		cfg->indirect_max = ind_max;
		cfg->indirect_min = ind_min;
	}
}

/* Initialise q->vq from q->cfg (already filled). */
static inline void tq_init(struct tq *q)
{
	size_t msz = virtq_driver_mem_size(q->cfg.num);

	CHECK(msz > 0);
	CHECK(msz <= VIRTQ_DRIVER_MEM_SIZE(q->cfg.num));
	q->vq = tq_alloc(64, msz);
	CHECK_EQ(virtq_driver_init(q->vq, msz, &q->cfg), 0);
	q->num = q->cfg.num;
	q->dev_avail = q->dev_used = q->dev_pub = 0;
}

static inline struct tq *tq_new(uint32_t num, uint64_t features,
				uint16_t ind_max, uint16_t ind_min)
{
	struct tq *q = calloc(1, sizeof(*q));

	CHECK(q != NULL);
	tq_cfg_default(&q->cfg, num, features);
	tq_alloc_rings(q, &q->cfg, ind_max, ind_min);
	tq_init(q);
	return q;
}

static inline void tq_free(struct tq *q)
{
	int i;

	for (i = 0; i < 4; i++)
		free(q->rings[i]);
	free(q->vq);
	free(q);
}

/* ---- the hand-rolled device -------------------------------------------- */

static inline uint16_t tq_avail_idx(struct tq *q)
{
	/* P1 pair: acquire load of avail->idx. */
	return virtq_le16(virtq_load_acquire(&q->cfg.avail->idx));
}

/* Walk one descriptor table (ring or indirect) from @i into @c. */
static inline void tq_walk(struct tq *q, const struct virtq_desc *tab,
			   uint32_t size, uint16_t i, struct tchain *c,
			   bool in_indirect)
{
	uint32_t steps = 0;

	for (;;) {
		const struct virtq_desc *d;
		uint16_t fl;

		CHECK(i < size);
		CHECK(++steps <= size);
		d = &tab[i];
		fl = virtq_le16(d->flags);
		if (fl & VIRTQ_DESC_F_INDIRECT) {
			uint32_t len = virtq_le32(d->len);

			CHECK(!in_indirect);
			CHECK(!(fl & VIRTQ_DESC_F_NEXT));
			CHECK(len && len % 16 == 0);
			c->indirect = true;
			c->ndesc_ring++;
			tq_walk(q, q->d2p ? q->d2p(virtq_le64(d->addr)) :
				(void *)(uintptr_t)virtq_le64(d->addr),
				len / 16, 0, c, true);
			return;
		}
		CHECK(c->n < TCHAIN_MAX);
		CHECK(virtq_le32(d->len) > 0);
		if (c->n && c->seg[c->n - 1].write)	/* no read after write */
			CHECK(fl & VIRTQ_DESC_F_WRITE);
		c->seg[c->n].addr = virtq_le64(d->addr);
		c->seg[c->n].len = virtq_le32(d->len);
		c->seg[c->n].write = fl & VIRTQ_DESC_F_WRITE;
		if (fl & VIRTQ_DESC_F_WRITE)
			c->in_len += c->seg[c->n].len;
		c->n++;
		if (!in_indirect)
			c->ndesc_ring++;
		if (!(fl & VIRTQ_DESC_F_NEXT))
			return;
		i = virtq_le16(d->next);
	}
}

/* Take the next available chain; 0 if none. */
static inline int tq_pop(struct tq *q, struct tchain *c)
{
	uint16_t idx = tq_avail_idx(q);

	if (idx == q->dev_avail)
		return 0;
	CHECK((uint16_t)(idx - q->dev_avail) <= q->num);
	memset(c, 0, offsetof(struct tchain, seg));
	c->head = virtq_le16(q->cfg.avail->ring[q->dev_avail & (q->num - 1)]);
	q->dev_avail++;
	tq_walk(q, q->cfg.desc, q->num, c->head, c, false);
	return 1;
}

/* Fill a used entry (not yet published). */
static inline void tq_push(struct tq *q, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e = &q->cfg.used->ring[q->dev_used & (q->num - 1)];

	e->id = virtq_le32(id);
	e->len = virtq_le32(len);
	q->dev_used++;
}

/* Publish used->idx (P2 release). */
static inline void tq_flush(struct tq *q)
{
	virtq_store_release(&q->cfg.used->idx, virtq_le16(q->dev_used));
	q->dev_pub = q->dev_used;
}

/* Device-side suppression fields. */
static inline void tq_set_avail_event(struct tq *q, uint16_t v)
{
	virtq_store_relaxed(virtq_avail_event(q->cfg.used, q->num), virtq_le16(v));
}

static inline void tq_set_used_flags(struct tq *q, uint16_t v)
{
	virtq_store_relaxed(&q->cfg.used->flags, virtq_le16(v));
}

static inline uint16_t tq_used_event(struct tq *q)
{
	return virtq_le16(virtq_load_relaxed(virtq_used_event(q->cfg.avail, q->num)));
}

static inline uint16_t tq_avail_flags(struct tq *q)
{
	return virtq_le16(virtq_load_relaxed(&q->cfg.avail->flags));
}

#endif /* VIRTQ_DRIVER_TEST_H */
