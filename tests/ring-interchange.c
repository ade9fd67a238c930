/* SPDX-License-Identifier: MIT */
/*
 * ring-interchange: rings written by one build are read by another, and
 * both match the spec's little-endian layout byte for byte.
 *
 * One small guest memory (descriptor table, avail ring, used ring, an
 * indirect pool, data buffers) at a guest address whose eight bytes all
 * differ, so a swapped or truncated address shows.  Two images of it:
 *
 *   driver image  our driver side added four chains (direct, direct
 *                 two-part, indirect three-part, device-writable only),
 *                 kicked, and asked for a delayed interrupt (used_event);
 *   device image  our device side then popped them, wrote its pattern into
 *                 the writable buffers, pushed them out of order, flushed,
 *                 and re-enabled kicks (avail_event);
 *   device state  the 64-byte record virtq_device_save() wrote then, which
 *                 device.h promises is little-endian and portable.
 *
 * All three are compared with golden images built here byte by byte from
 * the spec's layout (little-endian, fixed offsets), without the library.
 * Reading them back runs the other side over them: the device side
 * consumes the driver image and must produce the device image and state
 * exactly; the driver side, fed the device image, must get every token
 * back with the right length and data; the state restores over the device
 * image and saves again to the same bytes.
 *
 * Usage: ring-interchange                 write, read back and compare,
 *                                         in process (a unit test)
 *        ring-interchange write FILE      write both images to FILE
 *        ring-interchange read FILE       check and consume FILE
 * make check-cross writes on s390x / aarch64 and reads on the host, and
 * the other way round.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <virtq/device.h>
#include <virtq/driver.h>
#include <virtq/gmem.h>
#include <virtq/ring.h>

#include "test.h"

/* ---- the layout, shared by the golden builder and the library runs ----- */

#define NUM		8u
#define IND_MAX		4u
#define IND_MIN		3u
#define GPA_BASE	0x0102030405060000ull
#define MEM_SIZE	0x2000u

#define DESC_OFF	0x000u		/* 16 * NUM = 128 bytes */
#define AVAIL_OFF	0x100u		/* 6 + 2 * NUM = 22 bytes */
#define USED_OFF	0x200u		/* 6 + 8 * NUM = 70 bytes */
#define IND_OFF		0x400u		/* NUM tables of IND_MAX: 512 bytes */
#define DATA_OFF	0x800u

#define FEATURES	(VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |		\
			 VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |		\
			 VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC))

#define FILE_MAGIC	"virtq-xchg-v1\n\0\0"	/* 16 bytes */
#define STATE_SIZE	64
#define FILE_SIZE	(16 + 2 * MEM_SIZE + STATE_SIZE)
#define FILL		0xee	/* writable buffers before the device writes */

/* The buffers, by letter: offset from DATA_OFF, length, device-writable. */
struct buf {
	uint32_t off, len;
	bool writable;
};
enum { A, B, C, D, E, F, G, NBUF };
static const struct buf bufs[NBUF] = {
	[A] = { 0x000, 0x0103, false },
	[B] = { 0x200, 0x0021, false },
	[C] = { 0x300, 0x0142, true },
	[D] = { 0x500, 0x0010, false },
	[E] = { 0x600, 0x0104, true },
	[F] = { 0x800, 0x0001, true },
	[G] = { 0x900, 0x0205, true },
};

/*
 * The chains, in the order they are added.  The driver takes descriptors
 * from a fresh free list in index order, so the heads are 0, 1, 3, 4
 * (chain 1 takes 1 and 2; chain 2 goes indirect, IND_MIN segments, and
 * takes one).  The device writes @written bytes and pushes in @push_order.
 */
struct chain {
	int out[2], n_out;
	int in[2], n_in;
	uint16_t head;
	uint32_t written;
};
static const struct chain chains[] = {
	{ { A }, 1, { 0 }, 0, 0, 0 },
	{ { B }, 1, { C }, 1, 1, 0x0101 },
	{ { D }, 1, { E, F }, 2, 3, 0x0105 },
	{ { 0 }, 0, { G }, 1, 4, 0x0203 },
};
#define NCHAINS 4
static const int push_order[NCHAINS] = { 3, 0, 2, 1 };

/* used_event the driver asks for: enable_cb_delayed, 3/4 of 4 outstanding. */
#define USED_EVENT	3
/* avail_event the device asks for: the next avail index, after 4 chains. */
#define AVAIL_EVENT	4

/* The driver fills readable buffers with this, the device writable ones. */
static uint8_t drv_pattern(int b, uint32_t k)
{
	return (uint8_t)(0x11 * (b + 1) + k * 7);
}

static uint8_t dev_pattern(int b, uint32_t k)
{
	return (uint8_t)(0xa5 ^ (b * 29 + k * 3));
}

/* ---- golden images, byte by byte ----------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One 16-byte descriptor: addr le64 @0, len le32 @8, flags le16 @12, next le16 @14. */
static void put_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	put64(p, addr);
	put32(p + 8, len);
	put16(p + 12, flags);
	put16(p + 14, next);
}

static uint64_t buf_gpa(int b)
{
	return GPA_BASE + DATA_OFF + bufs[b].off;
}

static void golden_driver(uint8_t *g)
{
	uint8_t *desc = g + DESC_OFF, *avail = g + AVAIL_OFF;
	uint8_t *table = g + IND_OFF + 3 * IND_MAX * 16;	/* head 3's table */

	memset(g, 0, MEM_SIZE);
	/* chain 0: head 0, A readable; the last descriptor's next is 0. */
	put_desc(desc + 0 * 16, buf_gpa(A), 0x0103, 0, 0);
	/* chain 1: head 1 -> 2, B readable then C writable. */
	put_desc(desc + 1 * 16, buf_gpa(B), 0x0021, VIRTQ_DESC_F_NEXT, 2);
	put_desc(desc + 2 * 16, buf_gpa(C), 0x0142, VIRTQ_DESC_F_WRITE, 0);
	/* chain 2: head 3 points at its indirect table of three entries. */
	put_desc(desc + 3 * 16, GPA_BASE + IND_OFF + 3 * IND_MAX * 16, 3 * 16,
		 VIRTQ_DESC_F_INDIRECT, 0);
	put_desc(table + 0 * 16, buf_gpa(D), 0x0010, VIRTQ_DESC_F_NEXT, 1);
	put_desc(table + 1 * 16, buf_gpa(E), 0x0104,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	put_desc(table + 2 * 16, buf_gpa(F), 0x0001, VIRTQ_DESC_F_WRITE, 0);
	/* chain 3: head 4, G writable. */
	put_desc(desc + 4 * 16, buf_gpa(G), 0x0205, VIRTQ_DESC_F_WRITE, 0);

	/* avail: flags 0, idx 4, ring[] heads, then used_event. */
	put16(avail + 0, 0);
	put16(avail + 2, NCHAINS);
	put16(avail + 4 + 0 * 2, 0);
	put16(avail + 4 + 1 * 2, 1);
	put16(avail + 4 + 2 * 2, 3);
	put16(avail + 4 + 3 * 2, 4);
	put16(avail + 4 + NUM * 2, USED_EVENT);

	/* used ring: all zero from the driver's init. */
	for (int b = 0; b < NBUF; b++)
		for (uint32_t k = 0; k < bufs[b].len; k++)
			g[DATA_OFF + bufs[b].off + k] =
				bufs[b].writable ? FILL : drv_pattern(b, k);
}

static void golden_device(uint8_t *g)
{
	uint8_t *used = g + USED_OFF;

	golden_driver(g);
	/* used: flags 0, idx 4, {id le32, len le32} in push order, avail_event. */
	put16(used + 0, 0);
	put16(used + 2, NCHAINS);
	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *c = &chains[push_order[i]];

		put32(used + 4 + i * 8, c->head);
		put32(used + 4 + i * 8 + 4, c->written);
	}
	put16(used + 4 + NUM * 8, AVAIL_EVENT);
	/* The device's pattern over the first @written writable bytes. */
	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *c = &chains[i];
		uint32_t left = c->written;

		for (int j = 0; j < c->n_in && left; j++) {
			int b = c->in[j];

			for (uint32_t k = 0; k < bufs[b].len && left; k++, left--)
				g[DATA_OFF + bufs[b].off + k] = dev_pattern(b, k);
		}
	}
}

/*
 * The device state record (device.h): magic "VRTQ", version 1, num, flags
 * (bit 1: interrupt state valid, after need_interrupt), features, the three
 * ring addresses, last_avail, next_used, signalled_used, pad, inflight, pad.
 */
static void golden_state(uint8_t *g)
{
	memset(g, 0, STATE_SIZE);
	memcpy(g, "VRTQ", 4);
	put32(g + 4, 1);
	put32(g + 8, NUM);
	put32(g + 12, 2);
	put64(g + 16, FEATURES);
	put64(g + 24, GPA_BASE + DESC_OFF);
	put64(g + 32, GPA_BASE + AVAIL_OFF);
	put64(g + 40, GPA_BASE + USED_OFF);
	put16(g + 48, NCHAINS);		/* last_avail */
	put16(g + 50, NCHAINS);		/* next_used */
	put16(g + 52, NCHAINS);		/* signalled_used */
	put32(g + 56, 0);		/* inflight */
}

/* Name the field at @off, for a readable report of a difference. */
static void describe(uint32_t off, char *s, size_t n)
{
	static const char *const dfield[] = { "addr", "addr", "addr", "addr",
		"addr", "addr", "addr", "addr", "len", "len", "len", "len",
		"flags", "flags", "next", "next" };

	if (off < DESC_OFF + 16 * NUM)
		snprintf(s, n, "desc[%u].%s byte %u", (off - DESC_OFF) / 16,
			 dfield[off % 16], off % 16);
	else if (off >= AVAIL_OFF && off < AVAIL_OFF + 4)
		snprintf(s, n, "avail.%s", off - AVAIL_OFF < 2 ? "flags" : "idx");
	else if (off >= AVAIL_OFF + 4 && off < AVAIL_OFF + 4 + 2 * NUM)
		snprintf(s, n, "avail.ring[%u]", (off - AVAIL_OFF - 4) / 2);
	else if (off >= AVAIL_OFF + 4 + 2 * NUM && off < AVAIL_OFF + 6 + 2 * NUM)
		snprintf(s, n, "used_event");
	else if (off >= USED_OFF && off < USED_OFF + 4)
		snprintf(s, n, "used.%s", off - USED_OFF < 2 ? "flags" : "idx");
	else if (off >= USED_OFF + 4 && off < USED_OFF + 4 + 8 * NUM)
		snprintf(s, n, "used.ring[%u].%s", (off - USED_OFF - 4) / 8,
			 (off - USED_OFF - 4) % 8 < 4 ? "id" : "len");
	else if (off >= USED_OFF + 4 + 8 * NUM && off < USED_OFF + 6 + 8 * NUM)
		snprintf(s, n, "avail_event");
	else if (off >= IND_OFF && off < IND_OFF + NUM * IND_MAX * 16)
		snprintf(s, n, "indirect table %u desc[%u].%s",
			 (off - IND_OFF) / (IND_MAX * 16),
			 (off - IND_OFF) / 16 % IND_MAX, dfield[off % 16]);
	else if (off >= DATA_OFF)
		snprintf(s, n, "data +0x%x", off - DATA_OFF);
	else
		snprintf(s, n, "padding");
}

/* Compare @len bytes with @want; print every differing field (up to 20). */
static bool same_n(const char *what, const uint8_t *got, const uint8_t *want,
		   uint32_t len)
{
	static const char *const sfield[] = { "magic", "version", "num",
		"flags", "features", "features", "desc_addr", "desc_addr",
		"avail_addr", "avail_addr", "used_addr", "used_addr",
		"last_avail/next_used", "signalled_used/pad", "inflight", "pad2" };
	unsigned int diffs = 0;

	for (uint32_t off = 0; off < len; off++) {
		char field[64];

		if (got[off] == want[off])
			continue;
		if (++diffs > 20)
			continue;
		if (len == STATE_SIZE)
			snprintf(field, sizeof(field), "state.%s", sfield[off / 4]);
		else
			describe(off, field, sizeof(field));
		fprintf(stderr, "%s: offset 0x%04x (%s): 0x%02x, want 0x%02x\n",
			what, off, field, got[off], want[off]);
	}
	if (diffs)
		fprintf(stderr, "%s: %u bytes differ from the spec layout\n",
			what, diffs);
	return diffs == 0;
}

static bool same(const char *what, const uint8_t *got, const uint8_t *want)
{
	return same_n(what, got, want, MEM_SIZE);
}

/* ---- the library's two sides over one memory ---------------------------- */

struct mem {
	uint8_t *base;	/* MEM_SIZE bytes, 4096-aligned */
};

static uint64_t translate(void *opaque, const void *addr, size_t len,
			  size_t *mapped)
{
	struct mem *m = opaque;
	const uint8_t *p = addr;

	if (p < m->base || p + len > m->base + MEM_SIZE)
		return VIRTQ_ADDR_INVALID;
	*mapped = len;
	return GPA_BASE + (uint64_t)(p - m->base);
}

static struct virtq_driver *driver_new(struct mem *m)
{
	struct virtq_driver_config cfg = {
		.num = NUM,
		.features = FEATURES,
		.desc = (void *)(m->base + DESC_OFF),
		.avail = (void *)(m->base + AVAIL_OFF),
		.used = (void *)(m->base + USED_OFF),
		.indirect = m->base + IND_OFF,
		.indirect_max = IND_MAX,
		.indirect_min = IND_MIN,
		.translate = translate,
		.opaque = m,
	};
	size_t len = virtq_driver_mem_size(NUM);
	struct virtq_driver *vq = aligned_alloc(64, virtq_align_up(len, 64));
	uint64_t d, a, u;

	CHECK(vq);
	CHECK_EQ(virtq_driver_init(vq, len, &cfg), 0);
	virtq_driver_ring_addrs(vq, &d, &a, &u);
	CHECK_EQ(d, GPA_BASE + DESC_OFF);
	CHECK_EQ(a, GPA_BASE + AVAIL_OFF);
	CHECK_EQ(u, GPA_BASE + USED_OFF);
	return vq;
}

/* Tokens: the chain's number + 1 (a token is never NULL). */
static void *token(int i)
{
	return (void *)(uintptr_t)(i + 1);
}

/* Driver side: fresh memory, add the four chains, kick, delayed callback. */
static struct virtq_driver *driver_phase(struct mem *m)
{
	struct virtq_driver *vq;

	memset(m->base, 0, MEM_SIZE);
	for (int b = 0; b < NBUF; b++)
		for (uint32_t k = 0; k < bufs[b].len; k++)
			m->base[DATA_OFF + bufs[b].off + k] =
				bufs[b].writable ? FILL : drv_pattern(b, k);
	vq = driver_new(m);
	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *c = &chains[i];
		struct virtq_sg out[2], in[2];

		for (int j = 0; j < c->n_out; j++) {
			out[j].addr = m->base + DATA_OFF + bufs[c->out[j]].off;
			out[j].len = bufs[c->out[j]].len;
		}
		for (int j = 0; j < c->n_in; j++) {
			in[j].addr = m->base + DATA_OFF + bufs[c->in[j]].off;
			in[j].len = bufs[c->in[j]].len;
		}
		CHECK_EQ(virtq_driver_add(vq, out, c->n_out, in, c->n_in,
					  token(i)), 0);
	}
	/* avail_event is 0 and chain 0 is entry 0: the device wants a kick. */
	CHECK_EQ(virtq_driver_kick_prepare(vq), true);
	CHECK_EQ(virtq_driver_enable_cb_delayed(vq), true);
	CHECK_EQ(virtq_driver_num_free(vq), NUM - 5);
	return vq;
}

/*
 * Device side over the driver image in @m: pop, check, write, push; the
 * saved state goes to @state.
 */
static void device_phase(struct mem *m, uint8_t *state)
{
	struct virtq_device_state st;
	struct virtq_gmem *gm;
	struct virtq_gmem_region r = { .gpa = GPA_BASE, .size = MEM_SIZE,
				       .hva = m->base };
	struct virtq_device_config cfg = {
		.num = NUM,
		.features = FEATURES,
		.desc_addr = GPA_BASE + DESC_OFF,
		.avail_addr = GPA_BASE + AVAIL_OFF,
		.used_addr = GPA_BASE + USED_OFF,
	};
	struct virtq_device *dev = aligned_alloc(64,
		virtq_align_up(virtq_device_mem_size(), 64));
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };

	CHECK(dev);
	CHECK_EQ(virtq_gmem_create(&gm), 0);
	CHECK_EQ(virtq_gmem_add(gm, &r), 0);
	cfg.gmem = gm;
	CHECK_EQ(virtq_device_init(dev, virtq_device_mem_size(), &cfg), 0);

	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *ch = &chains[i];
		uint32_t out_len = 0, in_len = 0, left = ch->written;

		CHECK_EQ(virtq_device_pop(dev, &c), 1);
		CHECK_EQ(c.head, ch->head);
		CHECK_EQ(c.n_out, ch->n_out);
		CHECK_EQ(c.n_in, ch->n_in);
		CHECK_EQ(c.indirect, ch->n_out + ch->n_in >= (int)IND_MIN);
		for (int j = 0; j < ch->n_out; j++) {
			const struct buf *b = &bufs[ch->out[j]];
			const uint8_t *p = iov[j].iov_base;

			CHECK(p == m->base + DATA_OFF + b->off);
			CHECK_EQ(iov[j].iov_len, b->len);
			for (uint32_t k = 0; k < b->len; k++)
				CHECK_EQ(p[k], drv_pattern(ch->out[j], k));
			out_len += b->len;
		}
		for (int j = 0; j < ch->n_in; j++) {
			const struct buf *b = &bufs[ch->in[j]];
			uint8_t *p = iov[c.n_out + j].iov_base;

			CHECK(p == m->base + DATA_OFF + b->off);
			CHECK_EQ(iov[c.n_out + j].iov_len, b->len);
			for (uint32_t k = 0; k < b->len && left; k++, left--)
				p[k] = dev_pattern(ch->in[j], k);
			in_len += b->len;
		}
		CHECK_EQ(c.out_len, out_len);
		CHECK_EQ(c.in_len, in_len);
	}
	CHECK_EQ(virtq_device_pop(dev, &c), 0);
	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *ch = &chains[push_order[i]];

		CHECK_EQ(virtq_device_push(dev, ch->head, ch->written), 0);
	}
	CHECK_EQ(virtq_device_flush(dev), NCHAINS);
	/* used_event 3 is among the four entries 0..3 just published. */
	CHECK_EQ(virtq_device_need_interrupt(dev), true);
	CHECK_EQ(virtq_device_enable_notify(dev), true);
	CHECK_EQ(virtq_device_save(dev, &st), 0);
	memcpy(state, &st, STATE_SIZE);
	free(dev);
	virtq_gmem_destroy(gm);
}

/* Restore @state over the device image in @m: it resumes where it was. */
static bool device_restore(struct mem *m, const uint8_t *state)
{
	struct virtq_gmem *gm;
	struct virtq_gmem_region r = { .gpa = GPA_BASE, .size = MEM_SIZE,
				       .hva = m->base };
	struct virtq_device *dev = aligned_alloc(64,
		virtq_align_up(virtq_device_mem_size(), 64));
	struct virtq_device_state st;
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };
	uint8_t again[STATE_SIZE];
	bool ok;

	CHECK(dev);
	CHECK_EQ(virtq_gmem_create(&gm), 0);
	CHECK_EQ(virtq_gmem_add(gm, &r), 0);
	memcpy(&st, state, STATE_SIZE);
	CHECK_EQ(virtq_device_restore(dev, virtq_device_mem_size(), &st, gm), 0);
	CHECK_EQ(virtq_device_size(dev), NUM);
	CHECK_EQ(virtq_device_last_avail(dev), NCHAINS);
	CHECK_EQ(virtq_device_next_used(dev), NCHAINS);
	CHECK_EQ(virtq_device_inflight(dev), 0);
	CHECK_EQ(virtq_device_pop(dev, &c), 0);
	CHECK_EQ(virtq_device_need_interrupt(dev), false);
	CHECK_EQ(virtq_device_save(dev, &st), 0);
	memcpy(again, &st, STATE_SIZE);
	ok = same_n("state saved again after restore", again, state, STATE_SIZE);
	free(dev);
	virtq_gmem_destroy(gm);
	return ok;
}

/*
 * Driver side: writes the same driver image as @drv_image's build, then,
 * fed @dev_image, gets every token back with its length and data.
 */
static bool driver_takes_back(struct mem *m, const uint8_t *drv_image,
			      const uint8_t *dev_image)
{
	struct virtq_driver *vq = driver_phase(m);
	void *tok;
	uint32_t len;

	if (!same("driver side's own image", m->base, drv_image)) {
		free(vq);
		return false;
	}
	/* What the device wrote: the used ring and the writable buffers. */
	memcpy(m->base, dev_image, MEM_SIZE);
	for (int i = 0; i < NCHAINS; i++) {
		int want = push_order[i];

		CHECK_EQ(virtq_driver_get_used(vq, &tok, &len), 1);
		CHECK(tok == token(want));
		CHECK_EQ(len, chains[want].written);
	}
	CHECK_EQ(virtq_driver_get_used(vq, &tok, &len), 0);
	CHECK_EQ(virtq_driver_num_free(vq), NUM);
	CHECK(!virtq_driver_is_broken(vq));
	for (int i = 0; i < NCHAINS; i++) {
		const struct chain *ch = &chains[i];
		uint32_t left = ch->written;

		for (int j = 0; j < ch->n_in; j++) {
			int b = ch->in[j];
			const uint8_t *p = m->base + DATA_OFF + bufs[b].off;

			for (uint32_t k = 0; k < bufs[b].len; k++) {
				CHECK_EQ(p[k], left ? dev_pattern(b, k) : FILL);
				if (left)
					left--;
			}
		}
	}
	free(vq);
	return true;
}

/* ---- modes ---------------------------------------------------------------- */

static struct mem mem_new(void)
{
	struct mem m = { aligned_alloc(4096, MEM_SIZE) };

	CHECK(m.base);
	return m;
}

/* Produce the images with the library: @drv, @dev and @state. */
static void produce(uint8_t *drv, uint8_t *dev, uint8_t *state)
{
	struct mem m = mem_new();
	struct virtq_driver *vq = driver_phase(&m);

	memcpy(drv, m.base, MEM_SIZE);
	device_phase(&m, state);
	memcpy(dev, m.base, MEM_SIZE);
	free(vq);
	free(m.base);
}

/* Check images that may come from another build; returns 0 or 1. */
static int consume(const uint8_t *drv, const uint8_t *dev, const uint8_t *state)
{
	uint8_t *gold = malloc(MEM_SIZE), mine[STATE_SIZE];
	struct mem m = mem_new();
	int bad = 0;

	CHECK(gold);
	golden_driver(gold);
	bad |= !same("driver image", drv, gold);
	golden_device(gold);
	bad |= !same("device image", dev, gold);
	golden_state(gold);
	bad |= !same_n("device state", state, gold, STATE_SIZE);
	if (bad)
		goto out;

	/* Our device side over their driver image gives their device image. */
	memcpy(m.base, drv, MEM_SIZE);
	device_phase(&m, mine);
	bad |= !same("device side over the driver image", m.base, dev);
	bad |= !same_n("device state over the driver image", mine, state,
		       STATE_SIZE);
	/* Their state restores over their device image. */
	memcpy(m.base, dev, MEM_SIZE);
	if (!bad)
		bad |= !device_restore(&m, state);
	/* Our driver side writes their driver image, and takes theirs back. */
	if (!bad)
		bad |= !driver_takes_back(&m, drv, dev);
out:
	free(m.base);
	free(gold);
	return bad;
}

static int write_file(const char *path)
{
	uint8_t *drv = malloc(MEM_SIZE), *dev = malloc(MEM_SIZE), state[STATE_SIZE];
	FILE *f;
	int r;

	CHECK(drv && dev);
	produce(drv, dev, state);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "ring-interchange: cannot create %s: %s\n",
			path, strerror(errno));
		exit(2);
	}
	CHECK_EQ(fwrite(FILE_MAGIC, 1, 16, f), 16);
	CHECK_EQ(fwrite(drv, 1, MEM_SIZE, f), MEM_SIZE);
	CHECK_EQ(fwrite(dev, 1, MEM_SIZE, f), MEM_SIZE);
	CHECK_EQ(fwrite(state, 1, STATE_SIZE, f), STATE_SIZE);
	CHECK_EQ(fclose(f), 0);
	printf("wrote %s (%s-endian build)\n", path,
	       VIRTQ_BIG_ENDIAN ? "big" : "little");
	/* The writer checks its own images too. */
	r = consume(drv, dev, state);
	free(drv);
	free(dev);
	return r;
}

static int read_file(const char *path)
{
	static uint8_t buf[FILE_SIZE + 1];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "ring-interchange: cannot open %s: %s\n",
			path, strerror(errno));
		return 2;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != FILE_SIZE || memcmp(buf, FILE_MAGIC, 16)) {
		fprintf(stderr, "ring-interchange: %s is not a ring image from this test (%zu bytes)\n",
			path, n);
		return 1;
	}
	if (consume(buf + 16, buf + 16 + MEM_SIZE, buf + 16 + 2 * MEM_SIZE))
		return 1;
	printf("read %s on a %s-endian build: images match the spec layout and were consumed\n",
	       path, VIRTQ_BIG_ENDIAN ? "big" : "little");
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *drv, *dev, state[STATE_SIZE];

	if (argc == 3 && !strcmp(argv[1], "write"))
		return write_file(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return read_file(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [write FILE | read FILE]\n", argv[0]);
		return 2;
	}
	drv = malloc(MEM_SIZE);
	dev = malloc(MEM_SIZE);
	CHECK(drv && dev);
	produce(drv, dev, state);
	if (consume(drv, dev, state))
		return 1;
	printf("driver image, device image and device state match the spec layout (%s-endian host)\n",
	       VIRTQ_BIG_ENDIAN ? "big" : "little");
	free(drv);
	free(dev);
	return 0;
}
