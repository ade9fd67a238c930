/* SPDX-License-Identifier: MIT */
/*
 * cross-driver-device: our driver side and our device side, in two threads
 * over one shared mapping, move millions of randomly shaped chains.
 *
 * Every configuration of: queue size 1..32768 (all powers of two),
 * EVENT_IDX on/off, INDIRECT_DESC on/off, polling or eventfd notification.
 * Each chain has 1..16 segments, device-readable and device-writable mixed,
 * random lengths.  The driver fills readable bytes with a pattern keyed by
 * the chain's sequence number; the device checks every byte, writes a
 * second pattern into a random prefix of the writable bytes and reports
 * that length; the driver checks the length, every written byte, and that
 * the bytes past the length are untouched.  The device completes chains
 * out of order.  Every token must come back exactly once.
 *
 * The guest memory map splits the shared mapping into several regions at
 * odd offsets, so buffers cross regions and become several iovecs.
 *
 * A watchdog fails the test if no chain completes for 5 s (a lost wakeup).
 *
 * Usage: cross-driver-device [--chains N] [--seed S] [--size N] [-v]
 * The chain count defaults to 10 million (VIRTQ_CROSS_CHAINS overrides;
 * sanitizer builds run fewer), split evenly across the configurations.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <virtq/device.h>
#include <virtq/driver.h>
#include <virtq/gmem.h>

#include "test.h"

#define MAX_SEGS	16
#define MAX_SEG_LEN	64
#define REQ_BYTES	(MAX_SEGS * MAX_SEG_LEN)
#define GPA_BASE	0x40000000ull	/* guest addresses differ from host ones */
#define HOLD_MAX	8		/* device completes out of order */
#define SENTINEL	0xee

struct req {
	uint64_t seq;
	uint32_t out_len, in_len;
	unsigned int n_out, n_in;
	struct virtq_sg sg[MAX_SEGS];
	bool inflight;
	uint8_t *data;
};

struct cfg {
	uint32_t num;
	bool event_idx, indirect, notify;
};

struct shared {
	struct cfg cfg;
	uint64_t chains;
	uint8_t *base;
	size_t map_len;
	struct virtq_driver *drv;
	struct virtq_device *dev;
	struct virtq_gmem *gmem;
	int kickfd, callfd, stopfd, donefd;
	double t_end;		/* when the driver took back its last chain */

	/* progress, read by the watchdog */
	uint64_t completed;	/* driver: chains taken back */
	uint64_t popped;	/* device */
	int failed;
	char why[256];
};

static int verbose;

#define U(x) ((unsigned long long)(x))

__attribute__((format(printf, 2, 3)))
static void fail(struct shared *s, const char *fmt, ...)
{
	if (__atomic_exchange_n(&s->failed, 1, __ATOMIC_ACQ_REL) == 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
		uint64_t one = 1;
		if (write(s->stopfd, &one, sizeof(one)) < 0)
			perror("stopfd");
	}
}

static bool failed(struct shared *s)
{
	return __atomic_load_n(&s->failed, __ATOMIC_ACQUIRE);
}

/* Byte k of the pattern for chain @seq in direction @dir (0 out, 1 in). */
static inline uint8_t pattern(uint64_t seq, int dir, uint32_t k)
{
	uint64_t h = (seq + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)dir << 63;

	h ^= h >> 29;
	return (uint8_t)((h >> ((k & 7) * 8)) + k * 31);
}

static uint64_t gpa_of(struct shared *s, const void *p)
{
	return GPA_BASE + (uint64_t)((const uint8_t *)p - s->base);
}

static uint64_t translate(void *opaque, const void *addr, size_t len,
			  size_t *mapped)
{
	struct shared *s = opaque;
	const uint8_t *p = addr;

	if (p < s->base || p + len > s->base + s->map_len)
		return VIRTQ_ADDR_INVALID;
	*mapped = len;
	return gpa_of(s, p);
}

static int notify_device(void *opaque, uint16_t queue_index)
{
	struct shared *s = opaque;
	uint64_t one = 1;

	(void)queue_index;
	return write(s->kickfd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/* Block until @fd is readable (or the test is stopping). */
static void wait_fd(struct shared *s, int fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = s->stopfd, .events = POLLIN } };
	uint64_t v;

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[0].revents & POLLIN) {
		if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			perror("eventfd read");
	}
}

static void spin_pause(unsigned int *idle)
{
	if (++*idle > 64) {
		sched_yield();
		*idle = 0;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- device thread ---------------------------------------------------- */

struct held {
	uint16_t head;
	uint32_t len;
};

static int serve_chain(struct shared *s, struct virtq_chain *c, uint64_t seq,
		       uint64_t *rng, uint32_t *len)
{
	uint32_t k = 0;

	if (c->out_len > REQ_BYTES || c->in_len > REQ_BYTES) {
		fail(s, "device: chain %llu too long (%u bytes)", U(seq),
		     c->out_len + c->in_len);
		return -1;
	}
	for (uint32_t i = 0; i < c->n_out; i++) {
		const uint8_t *p = c->iov[i].iov_base;

		for (size_t j = 0; j < c->iov[i].iov_len; j++, k++)
			if (p[j] != pattern(seq, 0, k)) {
				fail(s, "device: chain %llu readable byte %u wrong",
				     U(seq), k);
				return -1;
			}
	}
	if (k != c->out_len) {
		fail(s, "device: chain %llu out_len %u, bytes %u", U(seq),
		     c->out_len, k);
		return -1;
	}
	/* Write a random prefix of the writable bytes, report its length. */
	uint32_t want = c->in_len ? (uint32_t)(test_rand(rng) % (c->in_len + 1)) : 0;

	if (c->in_len && (test_rand(rng) & 1))
		want = c->in_len;
	k = 0;
	for (uint32_t i = c->n_out; i < c->n_out + c->n_in && k < want; i++) {
		uint8_t *p = c->iov[i].iov_base;

		for (size_t j = 0; j < c->iov[i].iov_len && k < want; j++, k++)
			p[j] = pattern(seq, 1, k);
	}
	*len = want;
	return 0;
}

static void *device_thread(void *arg)
{
	struct shared *s = arg;
	struct iovec iov[4 * MAX_SEGS];
	struct virtq_chain c = { .iov = iov, .iov_cap = 4 * MAX_SEGS };
	struct held held[HOLD_MAX];
	unsigned int nheld = 0, hold_target = 1, idle = 0;
	uint64_t seq = 0, rng = 0x1234 + s->cfg.num;

	while (!failed(s)) {
		int r = virtq_device_pop(s->dev, &c);

		if (r < 0) {
			fail(s, "device: pop failed: %s at chain %llu", strerror(-r),
			     U(seq));
			break;
		}
		if (r == 1) {
			uint32_t len;

			if (serve_chain(s, &c, seq, &rng, &len))
				break;
			seq++;
			__atomic_store_n(&s->popped, seq, __ATOMIC_RELAXED);
			held[nheld].head = c.head;
			held[nheld].len = len;
			nheld++;
			if (nheld < hold_target)
				continue;
		}
		/* Complete what we hold, in a shuffled order. */
		while (nheld) {
			unsigned int i = (unsigned int)(test_rand(&rng) % nheld);

			r = virtq_device_push(s->dev, held[i].head, held[i].len);
			if (r) {
				fail(s, "device: push failed: %s (head %u)",
				     strerror(-r), held[i].head);
				return NULL;
			}
			held[i] = held[--nheld];
		}
		hold_target = 1 + (unsigned int)(test_rand(&rng) % HOLD_MAX);
		if (virtq_device_flush(s->dev) < 0) {
			fail(s, "device: flush failed");
			break;
		}
		if (s->cfg.notify && virtq_device_need_interrupt(s->dev)) {
			uint64_t one = 1;

			if (write(s->callfd, &one, sizeof(one)) != sizeof(one))
				fail(s, "device: call write failed");
		}
		if (r == 1)
			continue;
		/* Ring empty: sleep until kicked, or poll. */
		if (s->cfg.notify) {
			if (virtq_device_enable_notify(s->dev))
				wait_fd(s, s->kickfd);
			virtq_device_disable_notify(s->dev);
		} else {
			spin_pause(&idle);
		}
		if (seq == s->chains && !nheld)
			break;
	}
	return NULL;
}

/* ---- driver thread ---------------------------------------------------- */

static void build_req(struct shared *s, struct req *q, uint64_t seq,
		      uint64_t *rng, unsigned int max_segs)
{
	unsigned int segs = 1 + (unsigned int)(test_rand(rng) % max_segs);
	unsigned int n_out = (unsigned int)(test_rand(rng) % (segs + 1));
	uint8_t *p = q->data;
	uint32_t ko = 0;

	(void)s;
	q->seq = seq;
	q->n_out = n_out;
	q->n_in = segs - n_out;
	q->out_len = q->in_len = 0;
	for (unsigned int i = 0; i < segs; i++) {
		uint32_t len = 1 + (uint32_t)(test_rand(rng) % MAX_SEG_LEN);

		q->sg[i].addr = p;
		q->sg[i].len = len;
		if (i < n_out) {
			for (uint32_t j = 0; j < len; j++)
				p[j] = pattern(seq, 0, ko++);
			q->out_len += len;
		} else {
			memset(p, SENTINEL, len);
			q->in_len += len;
		}
		p += len;
	}
}

static bool check_used(struct shared *s, struct req *q, uint32_t len)
{
	uint32_t k = 0;

	if (len > q->in_len) {
		fail(s, "driver: chain %llu used len %u above %u", U(q->seq),
		     len, q->in_len);
		return false;
	}
	for (unsigned int i = q->n_out; i < q->n_out + q->n_in; i++) {
		const uint8_t *p = q->sg[i].addr;

		for (uint32_t j = 0; j < q->sg[i].len; j++, k++) {
			uint8_t want = k < len ? pattern(q->seq, 1, k) : SENTINEL;

			if (p[j] != want) {
				fail(s, "driver: chain %llu writable byte %u wrong (len %u)",
				     U(q->seq), k, len);
				return false;
			}
		}
	}
	return true;
}

static void *driver_thread(void *arg)
{
	struct shared *s = arg;
	uint32_t num = s->cfg.num;
	struct req *reqs = calloc(num, sizeof(*reqs));
	struct req **free_reqs = calloc(num, sizeof(*free_reqs));
	uint8_t *data = s->base + s->map_len - (size_t)num * REQ_BYTES;
	uint64_t rng = 0xabcdef + num * 3 + s->cfg.event_idx * 7 +
		       s->cfg.indirect * 11 + s->cfg.notify * 13;
	uint64_t submitted = 0, done = 0;
	unsigned int nfree = num, idle = 0;
	/* No chain longer than the queue (2.7.5.3.1), indirect or not. */
	unsigned int max_segs = num < MAX_SEGS ? num : MAX_SEGS;

	CHECK(reqs && free_reqs);
	for (uint32_t i = 0; i < num; i++) {
		reqs[i].data = data + (size_t)i * REQ_BYTES;
		free_reqs[i] = &reqs[i];
	}
	while (done < s->chains && !failed(s)) {
		unsigned int batch = 1 + (unsigned int)(test_rand(&rng) % 32), added = 0;

		while (submitted < s->chains && nfree && added < batch) {
			struct req *q = free_reqs[nfree - 1];

			build_req(s, q, submitted, &rng, max_segs);
			int r = virtq_driver_add(s->drv, q->sg, q->n_out,
						 q->sg + q->n_out, q->n_in, q);
			if (r == -ENOSPC)
				break;	/* rebuilt with a new shape next time */
			if (r) {
				fail(s, "driver: add failed: %s at chain %llu",
				     strerror(-r), U(submitted));
				goto out;
			}
			q->inflight = true;
			nfree--;
			submitted++;
			added++;
		}
		if (added) {
			if (s->cfg.notify) {
				if (virtq_driver_kick(s->drv) < 0)
					fail(s, "driver: kick failed");
			} else {
				virtq_driver_publish(s->drv);
			}
		}

		unsigned int got = 0;
		void *tok;
		uint32_t len;
		int r;

		while ((r = virtq_driver_get_used(s->drv, &tok, &len)) == 1) {
			struct req *q = tok;

			if (q < reqs || q >= reqs + num || !q->inflight) {
				fail(s, "driver: token %p returned twice or bogus (after %llu chains)",
				     tok, U(done));
				goto out;
			}
			if (!check_used(s, q, len))
				goto out;
			q->inflight = false;
			free_reqs[nfree++] = q;
			got++;
			done++;
		}
		if (r < 0) {
			fail(s, "driver: get_used failed: %s after %llu chains",
			     strerror(-r), U(done));
			goto out;
		}
		__atomic_store_n(&s->completed, done, __ATOMIC_RELAXED);
		if (got || added)
			continue;
		if (s->cfg.notify) {
			if (virtq_driver_enable_cb(s->drv))
				wait_fd(s, s->callfd);
			virtq_driver_disable_cb(s->drv);
		} else {
			spin_pause(&idle);
		}
	}
	if (!failed(s)) {
		void *tok;

		if (virtq_driver_num_free(s->drv) != num)
			fail(s, "driver: %u of %u descriptors free at the end",
			     virtq_driver_num_free(s->drv), num);
		else if (virtq_driver_detach_unused(s->drv, &tok) != 0)
			fail(s, "driver: a chain left unused at the end");
	}
out:
	s->t_end = now_s();
	{
		uint64_t one = 1;

		if (write(s->donefd, &one, sizeof(one)) < 0)
			perror("donefd");
	}
	free(reqs);
	free(free_reqs);
	return NULL;
}

/* ---- one configuration ------------------------------------------------ */

static int run_config(const struct cfg *cfg, uint64_t chains, double *secs)
{
	struct shared s = { .cfg = *cfg, .chains = chains };
	uint32_t num = cfg->num;
	size_t off_desc = 0;
	size_t off_avail = virtq_align_up(off_desc + virtq_desc_size(num), 64);
	size_t off_used = virtq_align_up(off_avail + virtq_avail_size(num), 64);
	size_t off_ind = virtq_align_up(off_used + virtq_used_size(num), 64);
	size_t ind_len = virtq_driver_indirect_size(num, MAX_SEGS);
	size_t off_data = virtq_align_up(off_ind + ind_len, 4096);
	int ret = -1;

	s.map_len = off_data + (size_t)num * REQ_BYTES;
	s.base = mmap(NULL, s.map_len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s.base != MAP_FAILED);
	s.kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s.callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s.stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s.donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(s.kickfd >= 0 && s.callfd >= 0 && s.stopfd >= 0 && s.donefd >= 0);

	/*
	 * Guest memory: the mapping, cut into regions at odd offsets that
	 * are contiguous in guest-physical space, so a buffer may cross
	 * from one region into the next.
	 */
	CHECK_EQ(virtq_gmem_create(&s.gmem), 0);
	size_t cut = off_data, step = 4096 * 3 + 777;
	struct virtq_gmem_region rings = {
		.gpa = GPA_BASE, .size = off_data, .hva = s.base,
	};

	/* The rings stay in one region: the device requires it. */
	CHECK_EQ(virtq_gmem_add(s.gmem, &rings), 0);
	while (cut < s.map_len) {
		size_t len = s.map_len - cut < step ? s.map_len - cut : step;
		struct virtq_gmem_region r = {
			.gpa = GPA_BASE + cut, .size = len, .hva = s.base + cut,
		};

		CHECK_EQ(virtq_gmem_add(s.gmem, &r), 0);
		cut += len;
		step = step * 3 / 2 + 13;
	}

	uint64_t features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	if (cfg->event_idx)
		features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	if (cfg->indirect)
		features |= VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);

	struct virtq_driver_config dc = {
		.num = num,
		.features = features,
		.desc = (void *)(s.base + off_desc),
		.avail = (void *)(s.base + off_avail),
		.used = (void *)(s.base + off_used),
		.indirect = cfg->indirect ? s.base + off_ind : NULL,
		.indirect_max = cfg->indirect ? MAX_SEGS : 0,
		.indirect_min = (cfg->indirect && num >= 4) ? 3 : 2,
		.notify = notify_device,
		.translate = translate,
		.opaque = &s,
	};
	size_t dmem = virtq_driver_mem_size(num);
	CHECK(dmem > 0 && dmem <= VIRTQ_DRIVER_MEM_SIZE(num));
	s.drv = aligned_alloc(64, virtq_align_up(dmem, 64));
	CHECK(s.drv);
	CHECK_EQ(virtq_driver_init(s.drv, dmem, &dc), 0);

	struct virtq_device_config vc = {
		.num = num,
		.features = features,
		.desc_addr = gpa_of(&s, dc.desc),
		.avail_addr = gpa_of(&s, dc.avail),
		.used_addr = gpa_of(&s, dc.used),
		.gmem = s.gmem,
	};
	uint64_t a_desc, a_avail, a_used;
	virtq_driver_ring_addrs(s.drv, &a_desc, &a_avail, &a_used);
	CHECK_EQ(a_desc, vc.desc_addr);
	CHECK_EQ(a_avail, vc.avail_addr);
	CHECK_EQ(a_used, vc.used_addr);
	s.dev = aligned_alloc(64, virtq_align_up(virtq_device_mem_size(), 64));
	CHECK(s.dev);
	CHECK_EQ(virtq_device_init(s.dev, virtq_device_mem_size(), &vc), 0);
	if (cfg->notify)
		virtq_device_disable_notify(s.dev);

	pthread_t dt, vt;
	double t0 = now_s();

	CHECK_EQ(pthread_create(&vt, NULL, device_thread, &s), 0);
	CHECK_EQ(pthread_create(&dt, NULL, driver_thread, &s), 0);

	/* Watchdog: fail if neither side makes progress for 5 s. */
	uint64_t last_c = 0, last_p = 0;
	double last_t = now_s();
	for (;;) {
		struct pollfd done = { .fd = s.donefd, .events = POLLIN };

		poll(&done, 1, 20);
		uint64_t c = __atomic_load_n(&s.completed, __ATOMIC_RELAXED);
		uint64_t p = __atomic_load_n(&s.popped, __ATOMIC_RELAXED);

		if (c >= chains || failed(&s))
			break;
		if (c != last_c || p != last_p) {
			last_c = c;
			last_p = p;
			last_t = now_s();
		} else if (now_s() - last_t > 5.0) {
			fail(&s, "watchdog: no progress for 5 s (completed %llu, popped %llu): lost wakeup?",
			     U(c), U(p));
			break;
		}
	}
	pthread_join(dt, NULL);
	/* Let the device thread leave its sleep. */
	if (!failed(&s)) {
		uint64_t one = 1;
		__atomic_store_n(&s.failed, 2, __ATOMIC_RELEASE);
		if (write(s.stopfd, &one, sizeof(one)) < 0)
			perror("stopfd");
	}
	pthread_join(vt, NULL);
	*secs = s.t_end - t0;

	if (s.failed == 1) {
		fprintf(stderr, "FAIL num=%u event_idx=%d indirect=%d %s: %s\n",
			num, cfg->event_idx, cfg->indirect,
			cfg->notify ? "eventfd" : "poll", s.why);
	} else if (s.completed != chains || s.popped != chains) {
		fprintf(stderr, "FAIL num=%u: completed %llu popped %llu of %llu\n",
			num, (unsigned long long)s.completed,
			(unsigned long long)s.popped, (unsigned long long)chains);
	} else {
		ret = 0;
	}
	if (verbose || ret)
		printf("num=%-5u event_idx=%d indirect=%d %-7s %8llu chains %7.3f s %9.0f chains/s\n",
		       num, cfg->event_idx, cfg->indirect,
		       cfg->notify ? "eventfd" : "poll",
		       (unsigned long long)chains, *secs, chains / *secs);

	free(s.drv);
	free(s.dev);
	virtq_gmem_destroy(s.gmem);
	close(s.kickfd);
	close(s.callfd);
	close(s.stopfd);
	close(s.donefd);
	munmap(s.base, s.map_len);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t total = 10 * 1000 * 1000;
	uint32_t only_size = 0;
	const char *env = getenv("VIRTQ_CROSS_CHAINS");

	if (env)
		total = strtoull(env, NULL, 0);
	else
		total = test_scale(total);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--chains") && i + 1 < argc) {
			total = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			only_size = (uint32_t)strtoul(argv[++i], NULL, 0);
			if (!virtq_size_valid(only_size)) {
				fprintf(stderr, "--size %s: must be a power of two in 1..32768\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "-v")) {
			verbose = 1;
		} else {
			fprintf(stderr, "usage: %s [--chains N] [--size N] [-v]\n",
				argv[0]);
			return 2;
		}
	}

	unsigned int nconfigs = 0;
	for (uint32_t num = 1; num <= VIRTQ_MAX_SIZE; num <<= 1)
		if (!only_size || num == only_size)
			nconfigs += 8;
	uint64_t per = total / nconfigs ? total / nconfigs : 1;
	uint64_t moved = 0;
	double secs_total = 0;
	int failures = 0;

	for (uint32_t num = 1; num <= VIRTQ_MAX_SIZE; num <<= 1) {
		if (only_size && num != only_size)
			continue;
		for (int m = 0; m < 8; m++) {
			struct cfg c = { .num = num, .event_idx = m & 1,
					 .indirect = (m >> 1) & 1,
					 .notify = (m >> 2) & 1 };
			double secs;

			if (run_config(&c, per, &secs))
				failures++;
			moved += per;
			secs_total += secs;
		}
	}
	printf("%u configurations, %llu chains in %.2f s: %.0f chains/s, %d failed\n",
	       nconfigs, (unsigned long long)moved, secs_total,
	       moved / secs_total, failures);
	return failures ? 1 : 0;
}
