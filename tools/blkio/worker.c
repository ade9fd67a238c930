/* SPDX-License-Identifier: MIT */
/*
 * worker.c - one thread per queue: keep iodepth virtio-blk requests in
 * flight, reap completions, time them, check what was read.
 *
 * With verification each block is held by at most one I/O at a time (the
 * busy byte, taken with acquire, given back with release), so the
 * generation expected at a block is exactly the last one written there.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkio.h"

#define META_SIZE 64	/* request header (16) + status (1), padded */
#define MAX_REPORTS 20

struct slot {
	uint64_t block;
	uint64_t gen;		/* written (write) or expected (read), 0 = unknown */
	uint64_t t0;
	uint32_t idx;
	bool write;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static size_t data_stride(const struct job *job)
{
	return (job->bs + 4095u) & ~(size_t)4095u;
}

/* Rounded up to 4 KiB so that every worker's data buffers are page
 * aligned, as a backend using O_DIRECT wants them. */
size_t worker_mem(const struct job *job)
{
	return ((size_t)job->iodepth * (data_stride(job) + META_SIZE) + 4095u) &
	       ~(size_t)4095u;
}

static void report(struct job *job, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct job *job, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&job->reports, 1, __ATOMIC_RELAXED) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static bool claim(struct job *job, uint64_t b)
{
	uint8_t zero = 0;

	if (!job->verify)
		return true;
	/* Acquire pairs with the release in release_block(): the gen[]
	 * update of the previous owner is visible to us. */
	return __atomic_compare_exchange_n(&job->busy[b], &zero, 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void release_block(struct job *job, uint64_t b)
{
	if (job->verify)
		__atomic_store_n(&job->busy[b], 0, __ATOMIC_RELEASE);
}

/* The stripe of blocks a worker covers in sequential modes. */
static void stripe(const struct worker *w, uint64_t *lo, uint64_t *hi)
{
	const struct job *job = w->job;

	*lo = job->nblocks * w->qi / job->queues;
	*hi = job->nblocks * (w->qi + 1) / job->queues;
}

/*
 * Pick the next block and direction.  Returns 1, 0 when this worker is
 * done, or -EAGAIN when every candidate is held by an I/O in flight.
 */
static int pick(struct worker *w, uint64_t *blk, bool *write)
{
	struct job *job = w->job;
	uint64_t lo, hi, b;

	stripe(w, &lo, &hi);
	switch (job->rw) {
	case RW_VERIFY:
		/* Each written block of the stripe once. */
		while (w->cursor < hi - lo && !job->gen[lo + w->cursor])
			w->cursor++;
		if (w->cursor >= hi - lo)
			return 0;
		b = lo + w->cursor;
		if (!claim(job, b))
			return -EAGAIN;
		w->cursor++;
		*blk = b;
		*write = false;
		return 1;
	case RW_READ:
	case RW_WRITE:
		b = lo + w->cursor % (hi - lo);
		if (!claim(job, b))
			return -EAGAIN;
		w->cursor++;
		*blk = b;
		*write = job->rw == RW_WRITE;
		return 1;
	default:
		b = rnd(&w->seed) % job->nblocks;
		for (unsigned int probe = 0; !claim(job, b); probe++) {
			if (probe == 64)
				return -EAGAIN;
			b = b + 1 == job->nblocks ? 0 : b + 1;
		}
		*blk = b;
		*write = job->rw == RW_RANDWRITE ||
			 (job->rw == RW_RANDRW && (rnd(&w->seed) & 1));
		return 1;
	}
}

static int submit(struct worker *w, struct virtq_driver *vq, struct slot *s)
{
	struct job *job = w->job;
	uint8_t *data = w->data + (size_t)s->idx * data_stride(job);
	uint8_t *meta = w->meta + (size_t)s->idx * META_SIZE;
	struct blk_req_hdr *hdr = (void *)meta;
	uint64_t lba = s->block * (job->bs / SECTOR);
	uint32_t g;

	hdr->type = virtq_cpu_to_le32(s->write ? BLK_T_OUT : BLK_T_IN);
	hdr->reserved = 0;
	hdr->sector = virtq_cpu_to_le64(lba);
	meta[16] = 0xff;	/* a status the device must overwrite */
	s->gen = 0;
	if (job->verify) {
		g = job->gen[s->block];
		if (s->write) {
			job->gen[s->block] = ++g;
			s->gen = job->epoch << 32 | g;
			verify_fill(data, job->bs, lba, s->gen);
		} else if (g) {
			s->gen = job->epoch << 32 | g;
		}
	}

	struct virtq_sg out[2] = { { hdr, sizeof(*hdr) }, { data, job->bs } };
	struct virtq_sg in[2] = { { data, job->bs }, { meta + 16, 1 } };

	if (s->write)
		return virtq_driver_add(vq, out, 2, in + 1, 1, s);
	return virtq_driver_add(vq, out, 1, in, 2, s);
}

static void complete(struct worker *w, struct slot *s, uint64_t t)
{
	struct job *job = w->job;
	const uint8_t *data = w->data + (size_t)s->idx * data_stride(job);
	uint8_t status = w->meta[(size_t)s->idx * META_SIZE + 16];
	uint64_t lba = s->block * (job->bs / SECTOR);
	char why[160];

	hist_add(&w->hist, t > s->t0 ? t - s->t0 : 0);
	w->ios++;
	w->bytes += job->bs;
	if (status != BLK_S_OK) {
		__atomic_fetch_add(&job->io_errors, 1, __ATOMIC_RELAXED);
		report(job, "virtq-blkio: %s error at LBA %" PRIu64 ": status %u\n",
		       s->write ? "write" : "read", lba, status);
	} else if (!s->write && job->verify) {
		enum verdict v = verify_check(data, job->bs, lba, s->gen, why,
					      sizeof(why));

		if (v == V_OK) {
			w->verified++;
		} else if (v != V_UNWRITTEN) {
			__atomic_fetch_add(&job->verify_errors, 1, __ATOMIC_RELAXED);
			report(job, "virtq-blkio: verify: LBA %" PRIu64 " (%u bytes): %s\n",
			       lba, job->bs, why);
		}
	}
	release_block(job, s->block);
}

static int fill(struct worker *w, struct virtq_driver *vq, struct slot **pool,
		uint32_t *nfree, uint64_t *left, bool *done)
{
	int added = 0;
	uint64_t t = 0;

	while (*nfree && *left && !__atomic_load_n(&w->job->stop, __ATOMIC_RELAXED)) {
		struct slot *s = pool[*nfree - 1];
		int r = pick(w, &s->block, &s->write);

		if (r == 0)
			*done = true;
		if (r <= 0)
			break;
		r = submit(w, vq, s);
		if (r < 0) {
			release_block(w->job, s->block);
			return r;
		}
		if (!t)
			t = now_ns();
		s->t0 = t;
		(*nfree)--;
		(*left)--;
		added++;
	}
	if (added) {
		int r = virtq_driver_kick(vq);

		if (r < 0)
			return r;
	}
	return added;
}

static const char *wait_error(int r)
{
	switch (r) {
	case -ECONNRESET:
		return "the backend closed the connection";
	case -EPROTO:
		return "the backend sent an unexpected message";
	case -EIO:
		return "the device broke the ring protocol (queue broken)";
	default:
		return strerror(-r);
	}
}

static int loop(struct worker *w, struct virtq_driver *vq, struct slot **pool)
{
	struct job *job = w->job;
	uint32_t nfree = job->iodepth;
	uint64_t left = job->max_ios ? job->max_ios / job->queues +
			(w->qi < job->max_ios % job->queues) : UINT64_MAX;
	bool done = false;
	int r;

	if (job->rw == RW_VERIFY)
		left = UINT64_MAX;
	for (;;) {
		r = fill(w, vq, pool, &nfree, &left, &done);
		if (r < 0) {
			fprintf(stderr, "virtq-blkio: queue %u: cannot add a request: %s\n",
				w->qi, strerror(-r));
			return r;
		}
		if (nfree == job->iodepth) {
			if (done || !left || __atomic_load_n(&job->stop, __ATOMIC_RELAXED))
				return 0;
			sched_yield();	/* blocks held by other queues */
			continue;
		}
		void *tok;
		uint32_t len;
		uint64_t t = 0;
		unsigned int n = 0;

		while ((r = virtq_driver_get_used(vq, &tok, &len)) > 0) {
			if (!t)
				t = now_ns();
			complete(w, tok, t);
			pool[nfree++] = tok;
			n++;
		}
		if (r < 0) {
			fprintf(stderr, "virtq-blkio: queue %u: %s\n", w->qi, wait_error(r));
			return r;
		}
		if (n) {
			__atomic_fetch_add(&job->done_ios, n, __ATOMIC_RELAXED);
			continue;
		}
		r = virtq_vu_frontend_wait(job->fe, w->qi, job->timeout_ms);
		if (r == 0) {
			fprintf(stderr, "virtq-blkio: queue %u: %u requests not completed within %d ms\n",
				w->qi, job->iodepth - nfree, job->timeout_ms);
			return -ETIMEDOUT;
		}
		if (r < 0) {
			fprintf(stderr, "virtq-blkio: queue %u: %s\n", w->qi, wait_error(r));
			return r;
		}
	}
}

void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct job *job = w->job;
	struct virtq_driver *vq = virtq_vu_frontend_queue(job->fe, w->qi);
	struct slot *slots = calloc(job->iodepth, sizeof(*slots));
	struct slot **pool = calloc(job->iodepth, sizeof(*pool));

	if (!slots || !pool || !vq) {
		w->error = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < job->iodepth; i++) {
		slots[i].idx = i;
		pool[i] = &slots[job->iodepth - 1 - i];
	}
	w->error = loop(w, vq, pool);
out:
	if (w->error)
		__atomic_store_n(&job->stop, 1, __ATOMIC_RELAXED);
	free(slots);
	free(pool);
	/* Release: the worker's results are complete before the count. */
	__atomic_fetch_add(&job->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}
