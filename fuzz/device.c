/* SPDX-License-Identifier: MIT */
/*
 * fuzz/device.c - the device side against an input-made driver.
 *
 * Guest memory is four regions, each mmap()ed between PROT_NONE guard
 * pages: R0 (64 KiB) holds the rings, R1 and R2 (4 KiB each) are adjacent
 * in guest addresses but not in host memory (a buffer across them takes
 * two iovecs), R3 has an odd size and a hole after it.  The input picks
 * the queue size (1..1024), the features (EVENT_IDX, INDIRECT_DESC), the
 * iovec capacity and where the rings sit, then is a stream of operations:
 * the driver's (write a descriptor, an indirect table, raw bytes, offer a
 * head, move avail->idx, flags, used_event) and the device's (pop, walk,
 * push, flush, need_interrupt, enable / disable notify, has_avail, save +
 * restore, reclaim, init again, pop_batch, push_batch, set_log with a
 * bitmap owned here, and the frontend's harvest of that log).
 *
 * Oracle, checked after every call against a model kept here:
 *   - only the documented return values;
 *   - pop: 0 only when avail->idx == the next entry; -EIO only when the
 *     queue was broken, avail->idx ran more than num ahead, or num chains
 *     are in flight, and then nothing is consumed and the latch holds;
 *     every other return consumes exactly one avail entry (no stall, no
 *     entry twice) and reports the head the driver wrote there; in-flight
 *     count moves by one for a head < num and never exceeds num;
 *   - a valid chain: head < num, at most iov_cap iovecs, each non-empty
 *     and wholly inside one region, out_len / in_len equal the iovec sums;
 *   - push / flush / need_interrupt / enable_notify / has_avail agree
 *     with the model (flush returns the pushes since the last flush;
 *     need_interrupt follows the EVENT_IDX rule, the 2^16 window, the
 *     first-call and after-reclaim rules, NO_INTERRUPT);
 *   - pop_batch (0..16 chains, each with its own iovecs and capacity):
 *     k in 1..n valid chains (checked as pop's) consuming exactly k avail
 *     entries in order, the heads the driver wrote, all k in flight and
 *     never above num; 0 only for n == 0 or nothing available; an error
 *     only for c[0], with pop's meaning (consumed + head set, -ERANGE for
 *     a head >= num, or -EIO justified, nothing consumed, latched); its
 *     walker (pop's too) agrees with walk's general one on every chain it
 *     returns (same iovecs, counts, totals) and on c[0]'s error (pop's
 *     result is held against walk the same way);
 *   - push_batch (0..32 entries, popped heads or any, heads >= num, more
 *     than in flight): -EIO, -EINVAL, -EOVERFLOW in that order with the
 *     used area, next_used and in-flight untouched; else the entries in
 *     order at next_used, used->idx published, and the count returned
 *     includes unflushed pushes (the model's flush and need_interrupt
 *     bookkeeping follows);
 *   - the dirty log (set_log: on / off / NULL bitmap, full or short
 *     bitmap_len, used_log_gpa the used ring's, shifted, or NO_USED_LOG):
 *     after flush / push_batch / save, the pages of used->idx and of every
 *     entry published are marked; each set_log while a log was set marks
 *     the whole used area in that log, so every byte the device changed
 *     since the log was set (guest memory against a snapshot the driver's
 *     writes keep current) is covered; after push / push_batch with a
 *     length, the pages of the chain's writable buffers up to that length
 *     (as walk finds them) are marked; bitmap bytes past bitmap_len stay
 *     0; no page is marked outside the used area (at used_log_gpa) and
 *     those buffers, unless a chain walk rejects was pushed with a length
 *     (then it is logged "as far as it still walks"); init and restore
 *     turn the log off, reclaim keeps it;
 *   - save of a queue restores (into a second queue) and saves back to
 *     the same record; a failed init leaves only -EIO and reclaim -EIO;
 *   - at the end, the device wrote nothing outside the used area.
 *
 * fuzz/mkseeds-device.py writes the seeds that reach the batches and the
 * log (op 7 with bit 7 set, then a byte: 0 pop_batch, 1 push_batch,
 * 2 set_log, 3 harvest); the other seeds come from a merged run.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtq/atomic.h"
#include "virtq/device.h"
#include "virtq/gmem.h"
#include "virtq/ring.h"

#define NREG 4
static const uint64_t reg_gpa[NREG] = { 0x10000, 0x100000, 0x101000, 0x200000 };
static const uint64_t reg_size[NREG] = { 0x10000, 0x1000, 0x1000, 0xf00 };
#define LOG_BYTES 128	/* 1024 pages: 4 MiB of guest addresses */
#define BATCH 16	/* most chains per pop_batch */

static struct {
	bool ready, trace;	/* FUZZ_TRACE=1: print each operation */
	struct virtq_gmem *gm;
	char *hva[NREG];
	char *shadow[NREG];	/* what the driver wrote */
	char *logsnap[NREG];	/* the same, plus the device's writes until
				 * the log was set (or harvested) */
	uint8_t bm[LOG_BYTES + 16];	/* the dirty log; bytes past its
					 * bitmap_len must stay 0 */
	uint8_t allowed[LOG_BYTES];	/* pushed buffers' pages since the
					 * log was set or harvested */
	uint8_t expect[LOG_BYTES];	/* the pages a push must mark */
	struct virtq_device *vq, *vq2;
	size_t vq_len;
} G;

static void setup_once(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	if (G.ready)
		return;
	FUZZ_CHECK(virtq_gmem_create(&G.gm) == 0);
	for (int i = 0; i < NREG; i++) {
		size_t len = (reg_size[i] + pg - 1) / pg * pg;
		char *m = mmap(NULL, len + 2 * pg, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		FUZZ_CHECK(m != MAP_FAILED);
		FUZZ_CHECK(mprotect(m + pg, len, PROT_READ | PROT_WRITE) == 0);
		/* The region ends right at the guard page. */
		G.hva[i] = m + pg + len - reg_size[i];
		if (i == 0)
			G.hva[i] = m + pg;	/* ring region page aligned */
		G.shadow[i] = malloc(reg_size[i]);
		G.logsnap[i] = malloc(reg_size[i]);
		FUZZ_CHECK(G.shadow[i] && G.logsnap[i]);
		struct virtq_gmem_region r = {
			.gpa = reg_gpa[i], .size = reg_size[i], .hva = G.hva[i],
		};
		FUZZ_CHECK(virtq_gmem_add(G.gm, &r) == 0);
	}
	G.trace = getenv("FUZZ_TRACE") != NULL;
	G.vq_len = virtq_device_mem_size();
	G.vq = malloc(G.vq_len);
	G.vq2 = malloc(G.vq_len);
	FUZZ_CHECK(G.vq && G.vq2);
	G.ready = true;
}

/* Host pointer for guest range, or NULL (for the fuzzer's own writes). */
static char *gptr(uint64_t gpa, size_t len, int *reg)
{
	for (int i = 0; i < NREG; i++)
		if (gpa >= reg_gpa[i] && gpa - reg_gpa[i] < reg_size[i] &&
		    len <= reg_size[i] - (gpa - reg_gpa[i])) {
			if (reg)
				*reg = i;
			return G.hva[i] + (gpa - reg_gpa[i]);
		}
	return NULL;
}

/* The driver writes guest memory: into the mapping and the shadow. */
static void gwrite(uint64_t gpa, const void *buf, size_t len)
{
	int r;
	char *p = gptr(gpa, len, &r);

	if (!p)
		return;
	memcpy(p, buf, len);
	memcpy(G.shadow[r] + (p - G.hva[r]), buf, len);
	memcpy(G.logsnap[r] + (p - G.hva[r]), buf, len);
}

static void gwrite16(uint64_t gpa, uint16_t v)
{
	uint16_t le = virtq_cpu_to_le16(v);

	gwrite(gpa, &le, 2);
}

static uint16_t gread16(uint64_t gpa)
{
	uint16_t v;
	char *p = gptr(gpa, 2, NULL);

	if (!p)
		return 0;
	memcpy(&v, p, 2);
	return virtq_le16(v);
}

/* A guest address the input picks: mostly inside a data region. */
static uint64_t pick_addr(struct fin *f)
{
	uint8_t sel = fin_u8(f);
	uint16_t off = fin_u16(f);

	switch (sel % 6) {
	case 0: return reg_gpa[1] + off % 0x1000;
	case 1: return reg_gpa[2] + off % 0x1000;
	case 2: return reg_gpa[3] + off % 0x1000;	/* may run off R3 */
	case 3: return reg_gpa[1] + 0x1000 - (off % 64);	/* across R1|R2 */
	case 4: return reg_gpa[0] + off;		/* into the rings */
	default: return fin_u64(f);
	}
}

static uint32_t pick_len(struct fin *f)
{
	uint8_t sel = fin_u8(f);

	switch (sel % 4) {
	case 0: return 0;
	case 1: return fin_u8(f);
	case 2: return fin_u16(f) % 0x2100;
	default: return fin_u32(f);
	}
}

struct model {
	uint32_t num;
	uint64_t features;
	uint64_t desc, avail, used;
	bool configured;	/* init / restore succeeded (reclaim allowed) */
	bool broken;
	uint16_t avail_idx;	/* what the driver last stored */
	uint32_t pending;	/* pushed since the last flush */
	uint32_t published;	/* published since the last need_interrupt */
	bool first;		/* next need_interrupt with news: yes */
	bool lost;		/* next need_interrupt: yes (after reclaim) */
	uint16_t old;		/* used idx at the previous need_interrupt */
	uint16_t heads[64];	/* some heads popped and not pushed */
	unsigned int nheads;
	uint32_t iov_cap;
	bool log_on;		/* set_log with a bitmap and a length */
	uint64_t log_len;	/* its bitmap_len (<= LOG_BYTES) */
	uint64_t log_used;	/* its used_log_gpa */
	bool buf_marks;		/* a chain walk did not accept was pushed
				 * with len > 0 since the log was set or
				 * harvested: any page may be marked */
};

static struct iovec iov[40];

static void check_broken_latch(struct model *m)
{
	struct virtq_chain c = { .iov = iov, .iov_cap = m->iov_cap };

	FUZZ_CHECK(virtq_device_is_broken(G.vq));
	FUZZ_EQ(virtq_device_pop(G.vq, &c), -EIO);
	FUZZ_CHECK(!virtq_device_need_interrupt(G.vq));
}

static bool iov_inside(const struct iovec *v)
{
	for (int i = 0; i < NREG; i++) {
		const char *b = v->iov_base;

		if (b >= G.hva[i] && b < G.hva[i] + reg_size[i] &&
		    v->iov_len <= (size_t)(G.hva[i] + reg_size[i] - b))
			return true;
	}
	return false;
}

/* pop's (and pop_batch's) documented returns. */
static bool pop_ret_ok(int r)
{
	switch (r) {
	case 1: case 0: case -ERANGE: case -ELOOP: case -EOPNOTSUPP:
	case -EBADMSG: case -E2BIG: case -EMLINK: case -EPROTO: case -EILSEQ:
	case -EOVERFLOW: case -EFAULT: case -ENOBUFS: case -EIO:
		return true;
	default:
		fprintf(stderr, "pop returned %d\n", r);
		return false;
	}
}

/* A chain pop or pop_batch reported valid. */
static void check_chain(const struct model *m, const struct virtq_chain *c)
{
	uint64_t out = 0, in = 0;

	FUZZ_CHECK(c->head < m->num);
	FUZZ_CHECK(c->ndesc >= 1);
	FUZZ_CHECK(c->n_out + c->n_in <= c->iov_cap);
	for (uint32_t i = 0; i < c->n_out + c->n_in; i++) {
		FUZZ_CHECK(c->iov[i].iov_len > 0);
		FUZZ_CHECK(iov_inside(&c->iov[i]));
		if (i < c->n_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	FUZZ_EQ(out, c->out_len);
	FUZZ_EQ(in, c->in_len);
	FUZZ_CHECK(out + in <= (1ull << 32));
	if (!(m->features & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)))
		FUZZ_CHECK(!c->indirect);
}

/* pop or pop_batch returned -EIO: justified, nothing consumed, latched. */
static void check_pop_eio(struct model *m, uint16_t la, uint16_t idx,
			  uint32_t inf, const struct virtq_chain *c)
{
	FUZZ_EQ(virtq_device_last_avail(G.vq), la);
	FUZZ_EQ(c->head, 0xbeef);
	FUZZ_EQ(virtq_device_inflight(G.vq), inf);
	FUZZ_CHECK(m->broken || (uint16_t)(idx - la) > m->num || inf >= m->num);
	m->broken = true;
	check_broken_latch(m);
}

/* A malformed chain at c->head was consumed (pop, or pop_batch's c[0]). */
static void check_pop_consumed(struct model *m, uint16_t la, uint32_t inf,
			       uint16_t want, const struct virtq_chain *c)
{
	FUZZ_EQ(virtq_device_last_avail(G.vq), (uint16_t)(la + 1));
	FUZZ_EQ(c->head, want);
	FUZZ_EQ(virtq_device_inflight(G.vq), inf + (want < m->num));
	FUZZ_CHECK(!virtq_device_is_broken(G.vq));
	if (want < m->num && m->nheads < 64)
		m->heads[m->nheads++] = want;
}

static void same_as_walk(int r, const struct virtq_chain *c);

static void op_pop(struct model *m)
{
	struct virtq_chain c = { .iov = iov, .iov_cap = m->iov_cap };
	uint16_t la = virtq_device_last_avail(G.vq);
	uint32_t inf = virtq_device_inflight(G.vq);
	uint16_t idx = gread16(m->avail + 2);
	uint16_t want = gread16(m->avail + 4 + 2 * (la & (m->num - 1)));
	int r;

	c.head = 0xbeef;
	r = virtq_device_pop(G.vq, &c);
	FUZZ_CHECK(pop_ret_ok(r));
	FUZZ_CHECK(virtq_device_inflight(G.vq) <= m->num);
	if (m->broken)
		FUZZ_EQ(r, -EIO);
	if (r == 0) {
		FUZZ_EQ(virtq_device_last_avail(G.vq), la);
		FUZZ_EQ(idx, la);
		FUZZ_EQ(virtq_device_inflight(G.vq), inf);
		return;
	}
	if (r == -EIO) {
		check_pop_eio(m, la, idx, inf, &c);
		return;
	}
	/* Consumed exactly one entry, the one the driver wrote. */
	check_pop_consumed(m, la, inf, want, &c);
	if (want >= m->num)
		FUZZ_EQ(r, -ERANGE);
	if (r == 1)
		check_chain(m, &c);
	same_as_walk(r, &c);	/* pop walks with the lean walker */
}

/*
 * pop and pop_batch walk chains with the lean walker; walk keeps the
 * general one.  walk on the same head, memory unchanged, must give the
 * same answer, the same iovecs and the same counts (the first rule broken
 * is the one reported).
 */
static void same_as_walk(int r, const struct virtq_chain *c)
{
	static struct iovec wiov[32];
	struct virtq_chain w = { .iov = wiov, .iov_cap = c->iov_cap };
	uint32_t inf = virtq_device_inflight(G.vq);
	uint16_t la = virtq_device_last_avail(G.vq);

	FUZZ_EQ(virtq_device_walk(G.vq, c->head, &w), r);
	FUZZ_EQ(virtq_device_inflight(G.vq), inf);
	FUZZ_EQ(virtq_device_last_avail(G.vq), la);
	if (r != 1)
		return;
	FUZZ_EQ(w.ndesc, c->ndesc);
	FUZZ_EQ(w.n_out, c->n_out);
	FUZZ_EQ(w.n_in, c->n_in);
	FUZZ_EQ(w.out_len, c->out_len);
	FUZZ_EQ(w.in_len, c->in_len);
	FUZZ_EQ(w.indirect, c->indirect);
	for (uint32_t i = 0; i < c->n_out + c->n_in; i++) {
		FUZZ_CHECK(w.iov[i].iov_base == c->iov[i].iov_base);
		FUZZ_EQ(w.iov[i].iov_len, c->iov[i].iov_len);
	}
}

/*
 * pop_batch into n chains with their own iovec arrays and capacities:
 * k valid chains, each consuming one avail entry in order (the heads the
 * driver wrote), or pop's answer for c[0].
 */
static void op_pop_batch(struct model *m, struct fin *f)
{
	static struct iovec biov[BATCH][32];
	struct virtq_chain c[BATCH];
	uint16_t want[BATCH];
	unsigned int n = fin_u8(f) % (BATCH + 1);
	uint8_t caps = fin_u8(f);
	uint16_t la = virtq_device_last_avail(G.vq);
	uint32_t inf = virtq_device_inflight(G.vq);
	uint16_t idx = gread16(m->avail + 2);
	int r;

	for (unsigned int i = 0; i < BATCH; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].iov = biov[i];
		c[i].iov_cap = m->iov_cap;
		if (i < n && (caps & 0x80))
			c[i].iov_cap = fin_u8(f) % 33;
		c[i].head = 0xbeef;
		want[i] = gread16(m->avail + 4 +
				  2 * ((uint16_t)(la + i) & (m->num - 1)));
	}
	r = virtq_device_pop_batch(G.vq, c, n);
	FUZZ_CHECK(r <= (int)n);
	FUZZ_CHECK(pop_ret_ok(r > 1 ? 1 : r));
	FUZZ_CHECK(virtq_device_inflight(G.vq) <= m->num);
	if (m->broken)
		FUZZ_EQ(r, -EIO);
	else if (n == 0)
		FUZZ_EQ(r, 0);
	if (r == 0) {
		FUZZ_EQ(virtq_device_last_avail(G.vq), la);
		FUZZ_CHECK(n == 0 || idx == la);
		FUZZ_EQ(virtq_device_inflight(G.vq), inf);
		return;
	}
	if (r == -EIO) {
		check_pop_eio(m, la, idx, inf, &c[0]);
		return;
	}
	if (r < 0) {
		check_pop_consumed(m, la, inf, want[0], &c[0]);
		if (want[0] >= m->num)
			FUZZ_EQ(r, -ERANGE);
		same_as_walk(r, &c[0]);
		return;
	}
	/* k valid chains, k entries consumed, all k in flight. */
	FUZZ_EQ(virtq_device_last_avail(G.vq), (uint16_t)(la + r));
	FUZZ_EQ(virtq_device_inflight(G.vq), inf + (uint32_t)r);
	FUZZ_CHECK(!virtq_device_is_broken(G.vq));
	for (int i = 0; i < r; i++) {
		FUZZ_EQ(c[i].head, want[i]);
		check_chain(m, &c[i]);
		same_as_walk(1, &c[i]);
		if (m->nheads < 64)
			m->heads[m->nheads++] = want[i];
	}
}

static void op_walk(struct model *m, uint16_t head)
{
	struct virtq_chain c = { .iov = iov, .iov_cap = m->iov_cap };
	uint16_t la = virtq_device_last_avail(G.vq);
	uint32_t inf = virtq_device_inflight(G.vq);
	int r = virtq_device_walk(G.vq, head, &c);

	switch (r) {
	case 1: case -ERANGE: case -ELOOP: case -EOPNOTSUPP:
	case -EBADMSG: case -E2BIG: case -EMLINK: case -EPROTO: case -EILSEQ:
	case -EOVERFLOW: case -EFAULT: case -ENOBUFS: case -EIO:
		break;
	default:
		FUZZ_CHECK(!"undocumented walk return");
	}
	FUZZ_EQ(r == -EIO, m->broken);
	FUZZ_EQ(virtq_device_last_avail(G.vq), la);
	FUZZ_EQ(virtq_device_inflight(G.vq), inf);
	if (r == -EIO)
		return;
	FUZZ_EQ(c.head, head);
	if (head >= m->num)
		FUZZ_EQ(r, -ERANGE);
	if (r == 1)
		for (uint32_t i = 0; i < c.n_out + c.n_in; i++)
			FUZZ_CHECK(iov_inside(&c.iov[i]));
}

/* ---- the dirty log ---------------------------------------------------- */

static bool log_bit(uint64_t page)
{
	return G.bm[page / 8] >> (page % 8) & 1;
}

/*
 * The used area's bytes [off, off + len) were logged: their pages (at
 * used_log_gpa + off) are marked, those within bitmap_len * 8 pages.
 */
static void log_covers(const struct model *m, uint64_t off, uint64_t len)
{
	uint64_t pages = m->log_len * 8, gpa = m->log_used + off;

	if (!m->log_on || m->log_used == VIRTQ_DEVICE_NO_USED_LOG || !len)
		return;
	for (uint64_t p = gpa / VIRTQ_LOG_PAGE;
	     p <= (gpa + len - 1) / VIRTQ_LOG_PAGE && p < pages; p++)
		if (!log_bit(p)) {
			fprintf(stderr, "used area +%#llx: page %#llx not marked\n",
				(unsigned long long)off, (unsigned long long)p);
			FUZZ_CHECK(!"a logged write left unmarked");
		}
}

/* flush / push_batch / save published used entries [from, to). */
static void log_published(const struct model *m, uint16_t from, uint16_t to)
{
	log_covers(m, 2, 2);	/* used->idx */
	for (uint16_t s = from; s != to; s++)
		log_covers(m, 4 + 8ull * (s & (m->num - 1)), 8);
}

/*
 * Whatever the log holds: nothing past bitmap_len, and (unless a pushed
 * buffer may have been marked) nothing outside the used area's pages at
 * used_log_gpa.
 */
static void log_bits_ok(const struct model *m)
{
	uint64_t lo = 1, hi = 0;

	for (size_t b = m->log_len; b < sizeof(G.bm); b++)
		FUZZ_EQ(G.bm[b], 0);
	if (m->buf_marks)
		return;
	if (m->log_used != VIRTQ_DEVICE_NO_USED_LOG) {
		lo = m->log_used / VIRTQ_LOG_PAGE;
		hi = (m->log_used + virtq_used_size(m->num) - 1) / VIRTQ_LOG_PAGE;
	}
	for (uint64_t p = 0; p < m->log_len * 8; p++)
		if (log_bit(p) && (p < lo || p > hi) &&
		    !(G.allowed[p / 8] >> (p % 8) & 1)) {
			fprintf(stderr, "page %#llx marked\n",
				(unsigned long long)p);
			FUZZ_CHECK(!"a page marked that the device did not write");
		}
}

/*
 * set_log was just called while a log was set: it marked the whole used
 * area in that log, so every byte the device changed since the log was
 * set (or harvested), all inside the used area, is covered.
 */
static void log_all_covered(const struct model *m)
{
	log_covers(m, 0, virtq_used_size(m->num));
	for (int i = 0; i < NREG; i++) {
		if (!memcmp(G.hva[i], G.logsnap[i], reg_size[i]))
			continue;
		for (uint64_t o = 0; o < reg_size[i]; o++) {
			uint64_t gpa = reg_gpa[i] + o;

			if (G.hva[i][o] == G.logsnap[i][o])
				continue;
			FUZZ_CHECK(gpa >= m->used &&
				   gpa - m->used < virtq_used_size(m->num));
			log_covers(m, gpa - m->used, 1);
		}
	}
	log_bits_ok(m);
}

/* The frontend took the dirty pages: a clean log from here on. */
static void log_harvest(struct model *m)
{
	memset(G.bm, 0, sizeof(G.bm));
	memset(G.allowed, 0, sizeof(G.allowed));
	for (int i = 0; i < NREG; i++)
		memcpy(G.logsnap[i], G.hva[i], reg_size[i]);
	m->buf_marks = false;
}

static void op_set_log(struct model *m, struct fin *f)
{
	uint8_t sel = fin_u8(f);
	uint8_t *bm = G.bm;
	uint64_t len = LOG_BYTES, ug = m->used;

	if (sel % 8 == 7) {
		FUZZ_EQ(virtq_device_set_log(NULL, G.bm, LOG_BYTES, m->used),
			-EINVAL);
		return;
	}
	switch (sel >> 3 & 3) {
	case 1: len = 1 + fin_u8(f) % LOG_BYTES; break;	/* small */
	case 2: len = 0; break;				/* off */
	case 3: bm = NULL; len = fin_u8(f); break;	/* off */
	default: break;
	}
	switch (sel >> 5 & 3) {
	case 2: ug = VIRTQ_DEVICE_NO_USED_LOG; break;
	case 3: ug = m->used + ((uint64_t)fin_u16(f) << 4); break;
	default: break;
	}
	FUZZ_EQ(virtq_device_set_log(G.vq, bm, len, ug), 0);
	if (m->log_on)
		log_all_covered(m);
	log_harvest(m);
	m->log_on = bm && len;
	m->log_len = m->log_on ? len : 0;
	m->log_used = ug;
}

/*
 * Before a push of (@head, @len) while logging: the pages of the chain's
 * writable buffers, up to @len, go into G.expect (walk gives them, as
 * pop walked the chain).  False if walk does not accept the chain: the
 * push then logs "as far as it still walks", anything.
 */
static bool buf_expect(const struct model *m, uint16_t head, uint32_t len)
{
	static struct iovec wiov[32];
	struct virtq_chain w = { .iov = wiov, .iov_cap = 32 };

	if (!m->log_on || !len)
		return true;
	if (virtq_device_walk(G.vq, head, &w) != 1)
		return false;
	for (uint32_t i = w.n_out; i < w.n_out + w.n_in && len; i++) {
		uint64_t n = w.iov[i].iov_len < len ? w.iov[i].iov_len : len;
		uint64_t gpa = 0;

		for (int k = 0; k < NREG; k++)
			if ((char *)w.iov[i].iov_base >= G.hva[k] &&
			    (char *)w.iov[i].iov_base < G.hva[k] + reg_size[k])
				gpa = reg_gpa[k] + (uint64_t)((char *)w.iov[i].iov_base - G.hva[k]);
		for (uint64_t p = gpa / VIRTQ_LOG_PAGE;
		     p <= (gpa + n - 1) / VIRTQ_LOG_PAGE; p++)
			G.expect[p / 8] |= (uint8_t)(1u << (p % 8));
		len -= (uint32_t)n;
	}
	return true;
}

/* The push succeeded: the expected buffer pages are marked. */
static void buf_logged(struct model *m, bool predicted)
{
	if (!m->log_on)
		return;
	if (!predicted)
		m->buf_marks = true;
	for (uint64_t p = 0; p < LOG_BYTES * 8; p++) {
		if (!(G.expect[p / 8] >> (p % 8) & 1))
			continue;
		if (p < m->log_len * 8 && !log_bit(p)) {
			fprintf(stderr, "buffer page %#llx not marked\n",
				(unsigned long long)p);
			FUZZ_CHECK(!"a pushed buffer left unmarked");
		}
		G.allowed[p / 8] |= (uint8_t)(1u << (p % 8));
	}
}

/* ---- used side --------------------------------------------------------- */

static void op_push(struct model *m, uint16_t head, uint32_t len)
{
	uint32_t inf = virtq_device_inflight(G.vq);
	bool predicted;
	int r;

	memset(G.expect, 0, sizeof(G.expect));
	predicted = buf_expect(m, head, len);
	r = virtq_device_push(G.vq, head, len);
	if (m->broken) {
		FUZZ_EQ(r, -EIO);
		return;
	}
	if (head >= m->num) {
		FUZZ_EQ(r, -EINVAL);
	} else if (inf == 0) {
		FUZZ_EQ(r, -EOVERFLOW);
	} else {
		FUZZ_EQ(r, 0);
		FUZZ_EQ(virtq_device_inflight(G.vq), inf - 1);
		m->pending++;
		buf_logged(m, predicted);
	}
}

static void published(struct model *m, uint32_t n)
{
	m->published = m->published + n > 0x10000 ? 0x10000 : m->published + n;
}

static void op_flush(struct model *m)
{
	uint16_t from = (uint16_t)(virtq_device_next_used(G.vq) - m->pending);
	int r = virtq_device_flush(G.vq);

	if (m->broken) {
		FUZZ_EQ(r, -EIO);
		return;
	}
	FUZZ_EQ(r, (uint16_t)m->pending);
	if (m->pending) {
		FUZZ_EQ(gread16(m->used + 2), virtq_device_next_used(G.vq));
		log_published(m, from, virtq_device_next_used(G.vq));
	}
	published(m, (uint16_t)m->pending);
	m->pending = 0;
}

/*
 * push_batch: the pushes' checks in push's order (broken, each head,
 * the count), nothing written on error; else the entries in order at
 * next_used and everything pending published.
 */
static void op_push_batch(struct model *m, struct fin *f)
{
	static uint8_t used_before[4 + 8 * 32768 + 2];	/* num <= 32768 */
	uint16_t heads[2 * BATCH], saved[64];
	uint32_t lens[2 * BATCH];
	unsigned int n = fin_u8(f) % (2 * BATCH + 1), nsaved = m->nheads;
	bool bad_head = false, predicted = true;
	uint16_t nu = virtq_device_next_used(G.vq);
	uint16_t from = (uint16_t)(nu - m->pending);
	uint32_t inf = virtq_device_inflight(G.vq);
	size_t used_len = virtq_used_size(m->num);
	char *used = gptr(m->used, used_len, NULL);
	int r, want;

	FUZZ_CHECK(used && used_len <= sizeof(used_before));
	memcpy(saved, m->heads, sizeof(saved));
	for (unsigned int i = 0; i < n; i++) {
		uint8_t sel = fin_u8(f);

		if (m->nheads && !(sel & 0x80)) {
			unsigned int k = sel % m->nheads;

			heads[i] = m->heads[k];
			m->heads[k] = m->heads[--m->nheads];
		} else {
			heads[i] = sel & 0x40 ? fin_u16(f) :
				(uint16_t)((sel & 0x3f) % m->num);
		}
		lens[i] = sel & 0x20 ? fin_u32(f) : fin_u8(f);
		bad_head |= heads[i] >= m->num;
	}
	memset(G.expect, 0, sizeof(G.expect));
	for (unsigned int i = 0; i < n; i++)
		if (!buf_expect(m, heads[i], lens[i]))
			predicted = false;
	memcpy(used_before, used, used_len);
	r = virtq_device_push_batch(G.vq, heads, lens, n);
	if (m->broken)
		want = -EIO;
	else if (bad_head)
		want = -EINVAL;
	else if (n > inf)
		want = -EOVERFLOW;
	else
		want = (uint16_t)(m->pending + n);
	FUZZ_EQ(r, want);
	if (r < 0) {
		FUZZ_CHECK(!memcmp(used_before, used, used_len));
		FUZZ_EQ(virtq_device_next_used(G.vq), nu);
		FUZZ_EQ(virtq_device_inflight(G.vq), inf);
		memcpy(m->heads, saved, sizeof(saved));
		m->nheads = nsaved;
		return;
	}
	FUZZ_EQ(virtq_device_next_used(G.vq), (uint16_t)(nu + n));
	FUZZ_EQ(virtq_device_inflight(G.vq), inf - n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t e = m->used + 4 + 8ull * ((uint16_t)(nu + i) & (m->num - 1));
		uint32_t id, len;

		memcpy(&id, gptr(e, 4, NULL), 4);
		memcpy(&len, gptr(e + 4, 4, NULL), 4);
		FUZZ_EQ(virtq_le32(id), heads[i]);
		FUZZ_EQ(virtq_le32(len), lens[i]);
	}
	if (r) {
		FUZZ_EQ(gread16(m->used + 2), (uint16_t)(nu + n));
		log_published(m, from, (uint16_t)(nu + n));
	} else {
		FUZZ_CHECK(!memcmp(used_before, used, used_len));
	}
	buf_logged(m, predicted);
	published(m, (uint16_t)r);
	m->pending = 0;
}

static void op_need_interrupt(struct model *m)
{
	/* The device's idea of used->idx (the input may scribble on it). */
	uint16_t used_idx = (uint16_t)(virtq_device_next_used(G.vq) - m->pending);
	uint16_t ev = gread16(m->avail + 4 + 2 * m->num);
	uint16_t flags = gread16(m->avail);
	bool r = virtq_device_need_interrupt(G.vq), want;

	if (m->broken) {
		FUZZ_CHECK(!r);
		return;
	}
	if (!m->published && !m->lost) {
		FUZZ_CHECK(!r);
		return;
	}
	if (m->lost)
		want = true;
	else if (m->features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX))
		want = m->first || m->published > 0xffff ||
		       virtq_need_event(ev, used_idx, m->old);
	else
		want = !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	FUZZ_EQ(r, want);
	m->lost = m->first = false;
	m->published = 0;
	m->old = used_idx;
}

static void op_enable_notify(struct model *m)
{
	uint16_t la = virtq_device_last_avail(G.vq);
	uint16_t idx = gread16(m->avail + 2);
	bool r = virtq_device_enable_notify(G.vq);

	if (m->broken) {
		FUZZ_CHECK(!r);
		return;
	}
	if (r)
		FUZZ_EQ(idx, la);
	if (virtq_device_is_broken(G.vq)) {
		/* Only a runaway index may latch here. */
		FUZZ_CHECK((uint16_t)(idx - la) > m->num);
		m->broken = true;
		check_broken_latch(m);
	}
}

static void op_has_avail(struct model *m)
{
	uint16_t la = virtq_device_last_avail(G.vq);
	uint16_t idx = gread16(m->avail + 2);
	bool r = virtq_device_has_avail(G.vq);

	if (m->broken) {
		FUZZ_CHECK(r);
		return;
	}
	if (!r)
		FUZZ_EQ(idx, la);
	if (virtq_device_is_broken(G.vq)) {
		FUZZ_CHECK((uint16_t)(idx - la) > m->num);
		m->broken = true;
	}
}

static void op_save_restore(struct model *m, bool swap)
{
	struct virtq_device_state st, st2;
	uint16_t from = (uint16_t)(virtq_device_next_used(G.vq) - m->pending);
	int r = virtq_device_save(G.vq, &st);

	FUZZ_EQ(r, m->broken ? -EIO : 0);
	if (!m->configured)
		return;
	if (!m->broken) {
		if (m->pending)		/* save flushes (and logs as flush) */
			log_published(m, from, virtq_device_next_used(G.vq));
		published(m, (uint16_t)m->pending);
		m->pending = 0;
	}
	r = virtq_device_restore(G.vq2, G.vq_len, &st, G.gm);
	/* used->idx in guest memory must match the record (the input may
	 * have scribbled on it). */
	if (gread16(m->used + 2) != virtq_le16(st.next_used)) {
		FUZZ_EQ(r, -EIO);
		FUZZ_EQ(virtq_device_reclaim(G.vq2, 0), -EIO);
		return;
	}
	FUZZ_EQ(r, 0);
	FUZZ_EQ(virtq_device_is_broken(G.vq2), m->broken);
	FUZZ_EQ(virtq_device_save(G.vq2, &st2), m->broken ? -EIO : 0);
	FUZZ_CHECK(!memcmp(&st, &st2, sizeof(st)));
	if (swap) {
		struct virtq_device *t = G.vq;

		G.vq = G.vq2;
		G.vq2 = t;
		m->first = true;	/* lost (reclaim's signal) is kept */
		m->published = 0;
		m->log_on = false;	/* restore turns logging off */
	}
}

static void op_reclaim(struct model *m, uint16_t next_avail)
{
	uint16_t idx = gread16(m->avail + 2);
	uint16_t used_idx = gread16(m->used + 2);
	int r = virtq_device_reclaim(G.vq, next_avail);

	if (!m->configured) {
		FUZZ_EQ(r, -EIO);
		check_broken_latch(m);
		return;
	}
	uint16_t pend = (uint16_t)(next_avail - used_idx);

	FUZZ_EQ(r, (uint16_t)(idx - next_avail) > m->num || pend > m->num ?
		-EIO : 0);
	FUZZ_EQ(virtq_device_last_avail(G.vq), next_avail);
	FUZZ_EQ(virtq_device_next_used(G.vq), used_idx);

	FUZZ_EQ(virtq_device_inflight(G.vq), pend > m->num ? m->num : pend);
	m->broken = r != 0;
	m->pending = m->published = 0;
	m->nheads = 0;
	m->lost = m->first = true;
	if (m->broken)
		check_broken_latch(m);
}

static int do_init(struct model *m)
{
	struct virtq_device_config cfg = {
		.num = m->num, .features = m->features, .desc_addr = m->desc,
		.avail_addr = m->avail, .used_addr = m->used, .gmem = G.gm,
	};
	int r = virtq_device_init(G.vq, G.vq_len, &cfg);

	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EFAULT);
	m->configured = r == 0;
	m->broken = r != 0;
	m->pending = m->published = 0;
	m->nheads = 0;
	m->first = true;
	m->lost = false;
	m->log_on = false;	/* init turns logging off */
	m->avail_idx = gread16(m->avail + 2);
	if (r) {
		check_broken_latch(m);
		FUZZ_EQ(virtq_device_reclaim(G.vq, 0), -EIO);
	}
	return r;
}

static void write_desc(struct fin *f, uint64_t at)
{
	struct virtq_desc d;
	uint8_t fl = fin_u8(f);
	uint16_t flags = 0;

	d.addr = virtq_cpu_to_le64(pick_addr(f));
	d.len = virtq_cpu_to_le32(pick_len(f));
	if (fl & 1)
		flags |= VIRTQ_DESC_F_NEXT;
	if (fl & 2)
		flags |= VIRTQ_DESC_F_WRITE;
	if ((fl & 0x1c) == 0x1c)
		flags |= VIRTQ_DESC_F_INDIRECT;
	if (fl & 0x20)
		flags = (uint16_t)(flags | fin_u16(f));	/* odd bits too */
	d.flags = virtq_cpu_to_le16(flags);
	d.next = virtq_cpu_to_le16(fl & 0x40 ? fin_u16(f) : fin_u8(f));
	gwrite(at, &d, sizeof(d));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	struct model m;
	uint8_t layout;

	setup_once();
	for (int i = 0; i < NREG; i++) {
		memset(G.hva[i], 0, reg_size[i]);
		memset(G.shadow[i], 0, reg_size[i]);
	}
	memset(G.bm, 0, sizeof(G.bm));
	memset(&m, 0, sizeof(m));
	m.num = 1u << (fin_u8(&f) % 11);
	m.features = 0;
	{
		uint8_t b = fin_u8(&f);

		if (b & 1)
			m.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
		if (b & 2)
			m.features |= VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	}
	m.iov_cap = fin_u8(&f) % 33;
	layout = fin_u8(&f);
	m.desc = reg_gpa[0];
	m.avail = m.desc + virtq_desc_size(m.num);
	m.used = virtq_align_up(m.avail + virtq_avail_size(m.num), 4);
	switch (layout % 8) {
	case 5:	/* used last in the region */
		m.used = reg_gpa[0] + reg_size[0] - virtq_used_size(m.num);
		m.used &= ~3ull;
		break;
	case 6:	/* anything */
		m.desc = fin_u64(&f);
		m.avail = fin_u64(&f);
		m.used = fin_u64(&f);
		break;
	case 7:	/* near misses */
		m.desc += fin_u8(&f) % 32;
		m.avail += fin_u8(&f) % 4;
		m.used = m.used + fin_u8(&f) % 8;
		break;
	default:
		break;
	}
	if (layout & 0x80) {
		/* Any queue size up to 32768 (a bad one: only -EIO). */
		m.num = fin_u16(&f);
		if (!m.num || (m.num & (m.num - 1)) || m.num > 32768)
			m.num = m.num ? m.num : 3;
	}
	if (do_init(&m))
		return 0;

	while (fin_left(&f)) {
		uint8_t op = fin_u8(&f);
		if (G.trace)
			fprintf(stderr, "op %u: last_avail %u next_used %u inflight %u broken %d\n",
				op % 18, virtq_device_last_avail(G.vq),
				virtq_device_next_used(G.vq),
				virtq_device_inflight(G.vq), m.broken);

		switch (op % 18) {
		case 0: case 1:
			op_pop(&m);
			break;
		case 2:
			op_walk(&m, op & 0x80 ? fin_u16(&f) :
				(uint16_t)(fin_u8(&f) % m.num));
			break;
		case 3: {
			uint8_t sel = fin_u8(&f);
			uint16_t head;

			if (m.nheads && !(sel & 0x80)) {
				unsigned int k = sel % m.nheads;

				head = m.heads[k];
				m.heads[k] = m.heads[--m.nheads];
			} else {
				head = fin_u16(&f);
			}
			op_push(&m, head, fin_u8(&f));
			break;
		}
		case 4:
			op_flush(&m);
			break;
		case 5:
			op_need_interrupt(&m);
			break;
		case 6:
			op_enable_notify(&m);
			break;
		case 7:
			if (!(op & 0x80)) {
				virtq_device_disable_notify(G.vq);
				break;
			}
			switch (fin_u8(&f) % 4) {	/* batches, the log */
			case 0: op_pop_batch(&m, &f); break;
			case 1: op_push_batch(&m, &f); break;
			case 2: op_set_log(&m, &f); break;
			default:
				if (m.log_on) {
					log_bits_ok(&m);
					log_harvest(&m);
				}
				break;
			}
			break;
		case 8:
			op_has_avail(&m);
			break;
		case 9:
			op_save_restore(&m, op & 0x80);
			break;
		case 10:
			op_reclaim(&m, op & 0x80 ? fin_u16(&f) :
				   (uint16_t)(virtq_device_last_avail(G.vq) +
					      (int8_t)fin_u8(&f)));
			break;
		case 11: case 12:	/* a descriptor of the main table */
			write_desc(&f, m.desc + 16ull * (fin_u16(&f) % m.num));
			break;
		case 13: {		/* a short indirect table */
			uint64_t at = pick_addr(&f) & ~15ull;
			unsigned int n = 1 + fin_u8(&f) % 8;

			for (unsigned int i = 0; i < n; i++)
				write_desc(&f, at + 16ull * i);
			break;
		}
		case 14: {		/* offer heads */
			unsigned int n = 1 + (op >> 5);

			for (unsigned int i = 0; i < n; i++) {
				uint8_t b = fin_u8(&f);
				uint16_t head = b & 0x80 ? fin_u16(&f) :
					(uint16_t)(b % m.num);

				gwrite16(m.avail + 4 + 2 * (m.avail_idx & (m.num - 1)),
					 head);
				m.avail_idx++;
			}
			gwrite16(m.avail + 2, m.avail_idx);
			break;
		}
		case 15:		/* avail->idx anywhere near */
			m.avail_idx = (uint16_t)(m.avail_idx +
				(op & 0x80 ? fin_u16(&f) : (int8_t)fin_u8(&f)));
			gwrite16(m.avail + 2, m.avail_idx);
			break;
		case 16: {		/* raw bytes */
			uint8_t buf[32];
			uint64_t at = pick_addr(&f);
			size_t n = fin_bytes(&f, buf, fin_u8(&f) % 33);

			gwrite(at, buf, n);
			break;
		}
		case 17:
			if (op & 0x80) {
				gwrite16(m.avail, fin_u16(&f));	/* avail->flags */
			} else if (op & 0x40) {
				gwrite16(m.avail + 4 + 2 * m.num, fin_u16(&f));
			} else if (op & 0x20) {
				if (do_init(&m))
					return 0;
			} else {
				gwrite16(m.avail + 4 + 2 * m.num,
					 (uint16_t)(virtq_device_next_used(G.vq) +
						    (int8_t)fin_u8(&f)));
			}
			break;
		}
		/* Our own writes to the avail area keep m.avail_idx honest. */
		m.avail_idx = gread16(m.avail + 2);
		FUZZ_CHECK(virtq_device_inflight(G.vq) <= m.num);
		FUZZ_EQ(virtq_device_is_broken(G.vq), m.broken);
		if (m.log_on)
			log_bits_ok(&m);
	}

	/* The device wrote nothing outside the used area. */
	for (int i = 0; i < NREG; i++) {
		if (!memcmp(G.hva[i], G.shadow[i], reg_size[i]))
			continue;
		for (uint64_t o = 0; o < reg_size[i]; o++) {
			uint64_t gpa = reg_gpa[i] + o;

			if (gpa >= m.used && gpa - m.used < virtq_used_size(m.num))
				continue;
			if (G.hva[i][o] != G.shadow[i][o]) {
				fprintf(stderr, "device wrote guest byte %#llx\n",
					(unsigned long long)gpa);
				FUZZ_CHECK(!"device wrote outside the used area");
			}
		}
	}
	return 0;
}
