/* SPDX-License-Identifier: MIT */
/*
 * virtq-ringbench - round trips through one split virtqueue, driver side
 * and device side of libvirtq each on its own thread.
 *
 * The workload is the one Linux's tools/virtio/ringtest measures: the driver
 * thread keeps offering one device-writable buffer per chain (with a token)
 * while the ring has room and takes used chains back as they come; the
 * device thread pops each chain (full validation against a guest memory
 * map: the library has no other mode), pushes it back used and publishes.
 * A round trip is one buffer offered, served and taken back.
 *
 * Modes: poll (both sides spin on the peer's index, nobody notifies) and
 * notify (eventfd kick and call, suppressed with EVENT_IDX or with the
 * NO_NOTIFY / NO_INTERRUPT flags).  --lockstep runs both sides on one
 * thread, alternating, so the instructions per round trip are exactly
 * repeatable (bench/ringbench-insns.sh runs it under callgrind).
 *
 * The per-side work lives in small noinline functions named rb_drv_* and
 * rb_dev_*: callgrind's --toggle-collect uses those names to split the
 * instruction count between the two sides.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <virtq/device.h>
#include <virtq/driver.h>
#include <virtq/gmem.h>

#define PROG "virtq-ringbench"
#define CACHELINE 64
/*
 * The per-side functions must stay whole, named functions: callgrind toggles
 * collection on their entry and exit (a clone or split part would nest).
 */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noipa))
#endif

enum rb_mode { MODE_POLL, MODE_NOTIFY };

/* --fast: chains per virtq_device_pop_batch / virtq_driver_get_used_batch */
#define RB_POP_BATCH 32

struct rb_opts {
	uint32_t num;
	uint64_t bufs;
	uint32_t len;
	uint32_t batch;
	uint32_t outstanding;
	int driver_cpu, device_cpu;
	enum rb_mode mode;
	bool event_idx;
	bool lockstep;
	bool relax;
	unsigned int poll_pause;	/* pause instructions after an empty poll */
	unsigned int pace;	/* device: TSC cycles to wait after a short find */
	bool delayed_cb;	/* driver: enable_cb_delayed before sleeping */
	unsigned int busy_poll;	/* notify mode: TSC cycles to poll before sleeping */
	bool fast;		/* the fast-path API (add_inbuf, batches) */
	bool pingpong_only;	/* measure the cross-core latency, nothing else */
	bool no_pingpong;	/* and not before the runs */
	bool share_cpu;		/* both threads pinned to one CPU: yield when idle */
	unsigned int vmexit_cycles;
	unsigned int runs;
	unsigned int timeout;
};

/* Driver-thread state, on its own cache lines. */
struct rb_drv {
	struct virtq_driver *vq;
	const struct rb_opts *o;
	uint8_t *bufs;		/* num buffers of len bytes */
	uint64_t started;
	uint64_t completed;	/* written by the owner, read by main on stall */
	uint64_t kicks;
	uint32_t tokick;
	bool staged;		/* adds not yet published */
	/* chains in flight, sampled every 64 turns of the driver loop, in
	 * log2 buckets: [0] = 0, [1] = 1, [2] = 2..3, [3] = 4..7, ... */
	uint64_t occ[17];
	/* the same samples split by where the chains are: at the device
	 * (offered, not yet pushed back: started - device's completed) */
	uint64_t occ_dev[17];
	const uint64_t *dev_completed;	/* the device's counter, read racily */
	/* and how many of them used->idx shows, pushed back, not yet taken */
	uint64_t occ_vis[17];
	const struct virtq_used *used;	/* read only for that sample */
	uint32_t turns;
	uint64_t empty_polls;	/* poll mode: used->idx read, nothing new */
	uint64_t idle_tsc;	/* TSC cycles polling an empty ring or asleep */
	uint64_t sleeps;	/* notify mode: waits on the eventfd */
	uint64_t tsc_start, tsc_end;
	int kickfd, callfd;
	double t_start, t_end;	/* this thread's own clock readings */
} __attribute__((aligned(CACHELINE)));

/* Device-thread state, on its own cache lines. */
struct rb_dev {
	struct virtq_device *vq;
	const struct rb_opts *o;
	uint64_t completed;
	uint64_t interrupts;
	uint32_t unflushed;
	unsigned int pace;	/* --pace: current wait, TSC cycles */
	bool paced;		/* the last pop_batch call followed a wait */
	/* --fast: chains per pop_batch call that found any (log2 buckets):
	 * about how many entries each read of avail->idx brought */
	uint64_t found[17];
	uint64_t empty_polls;	/* poll mode: avail->idx read, nothing new */
	uint64_t idle_tsc;	/* TSC cycles polling an empty ring or asleep */
	uint64_t sleeps;	/* notify mode: waits on the eventfd */
	uint64_t tsc_start, tsc_end;
	int kickfd, callfd;
	struct virtq_chain chain;
	struct iovec iov[8];
	/* --fast: chains popped per call, and used entries not yet pushed */
	struct virtq_chain chains[RB_POP_BATCH];
	struct iovec iovs[RB_POP_BATCH][2];
	uint16_t *heads;
	uint32_t *lens;
	double t_start;
} __attribute__((aligned(CACHELINE)));

struct rb_run {
	struct rb_drv drv;
	struct rb_dev dev;
	pthread_barrier_t start;
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static double now(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- progress counters: owner writes, main reads only to report a stall */

static inline void count_up(uint64_t *p)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

static inline uint64_t count_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* ---- notifications: eventfds, with an optional emulated VM exit -------- */

static inline void spin_cycles(unsigned int cycles)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t0 = __builtin_ia32_rdtsc();

	while (__builtin_ia32_rdtsc() - t0 < cycles)
		;
#else
	(void)cycles;	/* refused at option parsing */
#endif
}

/* A cycle count for the idle-time shares (0 where there is no TSC). */
static inline uint64_t tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return 0;
#endif
}

static inline void busy_wait(const struct rb_opts *o)
{
	if (o->share_cpu)	/* the peer needs this CPU to make progress */
		sched_yield();
#if defined(__x86_64__) || defined(__i386__)
	if (o->relax)
		__builtin_ia32_pause();
	for (unsigned int i = 0; i < o->poll_pause; i++)
		__builtin_ia32_pause();
#else
	(void)o;
#endif
}

/*
 * Like ringtest's do_exit: each notification and each wait costs a VM exit
 * and entry on a real hypervisor; --vmexit-cycles spins that long before and
 * after the syscall so figures compare with ringtest's (which spins 500+500).
 */
static void fd_signal(const struct rb_opts *o, int fd)
{
	uint64_t v = 1;

	if (!o->lockstep) {
		spin_cycles(o->vmexit_cycles);
		if (write(fd, &v, sizeof v) != sizeof v)
			die("eventfd write: %s", strerror(errno));
		spin_cycles(o->vmexit_cycles);
	}
}

static void fd_wait(const struct rb_opts *o, int fd)
{
	uint64_t v;

	spin_cycles(o->vmexit_cycles);
	if (read(fd, &v, sizeof v) != sizeof v)
		die("eventfd read: %s", strerror(errno));
	spin_cycles(o->vmexit_cycles);
}

/* The driver's notify hook: a kick.  In lockstep mode only counted. */
static int rb_kick(void *opaque, uint16_t queue_index)
{
	struct rb_drv *d = opaque;

	(void)queue_index;
	d->kicks++;
	fd_signal(d->o, d->kickfd);
	return 0;
}

/* ---- driver side ------------------------------------------------------- */

static inline void drv_publish(struct rb_drv *d)
{
	int r;

	d->staged = false;
	if (d->o->mode == MODE_POLL) {
		virtq_driver_publish(d->vq);
		return;
	}
	r = virtq_driver_kick(d->vq);
	if (r < 0)
		die("virtq_driver_kick: %s", strerror(-r));
}

/* Offer one buffer if the workload and the ring allow.  1 added, 0 not. */
static NOINLINE int rb_drv_add(struct rb_drv *d)
{
	const struct rb_opts *o = d->o;
	struct virtq_sg sg;
	int r;

	if (d->started >= o->bufs || d->started - d->completed >= o->outstanding)
		return 0;
	sg.addr = d->bufs + (size_t)(d->started & (o->num - 1)) * o->len;
	sg.len = o->len;
	/* Tokens count from 1 so that the order they come back is checked. */
	if (o->fast)
		r = virtq_driver_add_inbuf(d->vq, sg.addr, sg.len,
					   (void *)(uintptr_t)(d->started + 1));
	else
		r = virtq_driver_add(d->vq, NULL, 0, &sg, 1,
				     (void *)(uintptr_t)(d->started + 1));
	if (r == -ENOSPC)
		return 0;
	if (r < 0)
		die("virtq_driver_add: %s", strerror(-r));
	d->started++;
	d->staged = true;
	if (--d->tokick == 0) {
		d->tokick = o->batch;
		drv_publish(d);
	}
	return 1;
}

/* Publish (and kick if wanted) what an unfinished batch left staged. */
static NOINLINE void rb_drv_flush(struct rb_drv *d)
{
	if (d->staged) {
		d->tokick = d->o->batch;
		drv_publish(d);
	}
}

static void drv_check(struct rb_drv *d, void *token, uint32_t len)
{
	if ((uintptr_t)token != d->completed + 1 || len != d->o->len)
		die("buffer %" PRIu64 " came back as token %" PRIuPTR
		    " with len %" PRIu32 " (expected len %" PRIu32 ")",
		    d->completed + 1, (uintptr_t)token, len, d->o->len);
	count_up(&d->completed);
}

/* --fast: take back up to RB_POP_BATCH used chains.  How many. */
static int drv_reap_batch(struct rb_drv *d)
{
	void *tokens[RB_POP_BATCH];
	uint32_t lens[RB_POP_BATCH];
	int i, r;

	r = virtq_driver_get_used_batch(d->vq, tokens, lens, RB_POP_BATCH);
	if (r < 0)
		die("virtq_driver_get_used_batch: %s", strerror(-r));
	for (i = 0; i < r; i++)
		drv_check(d, tokens[i], lens[i]);
	return r;
}

/* Take back used chains (one, or a batch with --fast).  0: none pending. */
static NOINLINE int rb_drv_reap(struct rb_drv *d)
{
	void *token;
	uint32_t len;
	int r;

	if (d->o->fast)
		return drv_reap_batch(d);
	r = virtq_driver_get_used(d->vq, &token, &len);
	if (r == 0)
		return 0;
	if (r < 0)
		die("virtq_driver_get_used: %s", strerror(-r));
	drv_check(d, token, len);
	return 1;
}

static NOINLINE void rb_drv_disable_cb(struct rb_drv *d)
{
	virtq_driver_disable_cb(d->vq);
}

/* Notify mode: true when nothing is pending and an interrupt is armed. */
static NOINLINE bool rb_drv_may_sleep(struct rb_drv *d)
{
	if (virtq_driver_has_used(d->vq))
		return false;
	return d->o->delayed_cb ? virtq_driver_enable_cb_delayed(d->vq) :
				 virtq_driver_enable_cb(d->vq);
}

static inline unsigned int log2_bucket(uint64_t v)
{
	return v ? 64 - (unsigned int)__builtin_clzll(v) : 0;
}

/*
 * Every 64th turn of the driver loop: how many chains are in flight, how
 * many of them the device still holds (offered, not yet pushed back: the
 * device's counter, read racily), and how many used->idx already shows
 * (pushed back, not yet taken).  The samples count turns, not time: a
 * driver waiting on an empty ring takes none (the idle shares say how long
 * each side waited).
 */
static void drv_sample(struct rb_drv *d)
{
	uint64_t at_dev = d->started - count_get(d->dev_completed);
	uint16_t used = virtq_le16_to_cpu(__atomic_load_n(&d->used->idx,
							  __ATOMIC_RELAXED));

	d->occ[log2_bucket(d->started - d->completed)]++;
	d->occ_dev[log2_bucket((int64_t)at_dev > 0 ? at_dev : 0)]++;
	d->occ_vis[log2_bucket((uint16_t)(used - (uint16_t)d->completed))]++;
}

/* One pass of the driver loop (ringtest's run_guest body).  true = done. */
static bool drv_pass(struct rb_drv *d)
{
	bool progress;

	if (d->o->mode == MODE_NOTIFY)
		rb_drv_disable_cb(d);
	if (d->o->fast) {
		/*
		 * The batched loop: take back what is there (up to
		 * RB_POP_BATCH a call), then refill the ring, until neither
		 * moves; no poll of an empty used ring per buffer.
		 */
		do {
			if (!d->o->lockstep && (++d->turns & 63) == 0)
				drv_sample(d);
			progress = false;
			if (rb_drv_reap(d) > 0) {
				if (d->completed == d->o->bufs)
					return true;
				progress = true;
			}
			while (rb_drv_add(d))
				progress = true;
		} while (progress);
		rb_drv_flush(d);
		return false;
	}
	do {
		if (!d->o->lockstep && (++d->turns & 63) == 0)
			drv_sample(d);
		progress = rb_drv_add(d);
		if (rb_drv_reap(d) > 0) {
			if (d->completed == d->o->bufs)
				return true;
			progress = true;
		}
	} while (progress);
	rb_drv_flush(d);
	return false;
}

/*
 * --busy-poll: before arming the interrupt and sleeping, poll the used
 * ring for up to that many TSC cycles (vhost's busyloop_timeout, NAPI's
 * busy polling).  true: something came, no sleep.
 */
static bool drv_busy_poll(struct rb_drv *d)
{
	uint64_t t0 = tsc();

	do {
		if (virtq_driver_has_used(d->vq))
			return true;
	} while (tsc() - t0 < d->o->busy_poll);
	d->idle_tsc += tsc() - t0;
	return false;
}

static void *driver_thread(void *arg)
{
	struct rb_run *run = arg;
	struct rb_drv *d = &run->drv;
	const struct rb_opts *o = d->o;

	pthread_barrier_wait(&run->start);
	d->t_start = now();
	d->tsc_start = tsc();
	while (!drv_pass(d)) {
		if (o->mode == MODE_NOTIFY) {
			if (o->busy_poll && drv_busy_poll(d))
				continue;
			if (rb_drv_may_sleep(d)) {
				uint64_t t0 = tsc();

				fd_wait(o, d->callfd);
				d->sleeps++;
				d->idle_tsc += tsc() - t0;
			}
		} else {
			uint64_t t0 = tsc();

			while (!virtq_driver_has_used(d->vq)) {
				d->empty_polls++;
				busy_wait(o);
			}
			d->idle_tsc += tsc() - t0;
		}
	}
	d->tsc_end = tsc();
	d->t_end = now();
	return NULL;
}

/* ---- device side ------------------------------------------------------- */

static inline void dev_flush(struct rb_dev *v)
{
	int r;

	if (v->o->fast) {
		r = virtq_device_push_batch(v->vq, v->heads, v->lens,
					    v->unflushed);
		if (r < 0)
			die("virtq_device_push_batch: %s", strerror(-r));
	} else {
		r = virtq_device_flush(v->vq);
		if (r < 0)
			die("virtq_device_flush: %s", strerror(-r));
	}
	v->unflushed = 0;
	if (v->o->mode == MODE_NOTIFY && virtq_device_need_interrupt(v->vq)) {
		v->interrupts++;
		fd_signal(v->o, v->callfd);
	}
}

static inline void dev_check(struct rb_dev *v, const struct virtq_chain *c)
{
	uint32_t len = v->o->len;

	if (c->n_out != 0 || c->n_in != 1 || c->in_len != len)
		die("chain %u: %" PRIu32 "+%" PRIu32 " iovecs, %" PRIu32
		    " bytes writable (expected 0+1, %" PRIu32 ")",
		    c->head, c->n_out, c->n_in, c->in_len, len);
}

/*
 * --pace: after a pop_batch call that found less than a full batch, wait
 * before the next read of avail->idx, so that the driver's next publishes
 * land in a cache line the device is not pulling away after every entry.
 * The wait adapts: it doubles (up to --pace cycles) while the read after a
 * wait still finds a short batch of two or more, halves after a full one,
 * and drops back to the minimum when the read after a wait finds one chain
 * or none: nothing is streaming (one buffer in flight), and a wait would
 * only delay the answer.
 */
#define RB_PACE_MIN 64

static void dev_pace_found(struct rb_dev *v, int r)
{
	unsigned int max = v->o->pace;

	if (!max)
		return;
	if (r <= 1 && v->paced)
		v->pace = RB_PACE_MIN;	/* nothing streams: don't delay it */
	else if (v->paced && r < RB_POP_BATCH)
		v->pace = v->pace * 2 < max ? v->pace * 2 : max;
	else if (r == RB_POP_BATCH && v->pace > RB_PACE_MIN)
		v->pace /= 2;
	v->paced = false;
}

/* --fast: pop in batches, push and publish batch by batch. */
static void dev_serve_batch(struct rb_dev *v)
{
	const struct rb_opts *o = v->o;
	int i, r = 0;

	while (v->completed < o->bufs &&
	       (r = virtq_device_pop_batch(v->vq, v->chains, RB_POP_BATCH)) != 0) {
		if (r < 0)
			die("virtq_device_pop_batch: chain %u: %s",
			    v->chains[0].head, strerror(-r));
		v->found[log2_bucket((uint64_t)r)]++;
		dev_pace_found(v, r);
		for (i = 0; i < r; i++) {
			const struct virtq_chain *c = &v->chains[i];

			dev_check(v, c);
			v->heads[v->unflushed] = c->head;
			v->lens[v->unflushed] = c->in_len;
			count_up(&v->completed);
			if (++v->unflushed == o->batch)
				dev_flush(v);
		}
		if (o->pace && r < RB_POP_BATCH) {
			if (v->unflushed)	/* answer first, then wait */
				dev_flush(v);
			spin_cycles(v->pace);
			v->paced = true;
		}
	}
	if (r == 0 && v->paced)
		dev_pace_found(v, 0);
	if (v->unflushed)
		dev_flush(v);
}

/* Pop every available chain, push each back used, publish per batch. */
static void dev_serve(struct rb_dev *v);

static NOINLINE void rb_dev_serve(struct rb_dev *v)
{
	dev_serve(v);
}

static void dev_serve(struct rb_dev *v)
{
	const struct rb_opts *o = v->o;
	struct virtq_chain *c = &v->chain;
	int r;

	if (o->mode == MODE_NOTIFY)
		virtq_device_disable_notify(v->vq);
	if (o->fast) {
		dev_serve_batch(v);
		return;
	}
	while (v->completed < o->bufs && (r = virtq_device_pop(v->vq, c)) != 0) {
		if (r < 0)
			die("virtq_device_pop: chain %u: %s", c->head, strerror(-r));
		dev_check(v, c);
		r = virtq_device_push(v->vq, c->head, c->in_len);
		if (r < 0)
			die("virtq_device_push: %s", strerror(-r));
		count_up(&v->completed);
		if (++v->unflushed == o->batch)
			dev_flush(v);
	}
	if (v->unflushed)
		dev_flush(v);
}

/* Notify mode: true when nothing is available and a kick is armed. */
static NOINLINE bool rb_dev_may_sleep(struct rb_dev *v)
{
	return !virtq_device_has_avail(v->vq) && virtq_device_enable_notify(v->vq);
}

/* --busy-poll on the device side: the avail ring, before sleeping. */
static bool dev_busy_poll(struct rb_dev *v)
{
	uint64_t t0 = tsc();

	do {
		if (virtq_device_has_avail(v->vq))
			return true;
	} while (tsc() - t0 < v->o->busy_poll);
	v->idle_tsc += tsc() - t0;
	return false;
}

static void *device_thread(void *arg)
{
	struct rb_run *run = arg;
	struct rb_dev *v = &run->dev;
	const struct rb_opts *o = v->o;

	pthread_barrier_wait(&run->start);
	v->t_start = now();
	v->tsc_start = tsc();
	for (;;) {
		rb_dev_serve(v);
		if (v->completed == o->bufs)
			break;
		if (o->mode == MODE_NOTIFY) {
			if (o->busy_poll && dev_busy_poll(v))
				continue;
			if (rb_dev_may_sleep(v)) {
				uint64_t t0 = tsc();

				fd_wait(o, v->kickfd);
				v->sleeps++;
				v->idle_tsc += tsc() - t0;
			}
		} else {
			uint64_t t0 = tsc();

			while (!virtq_device_has_avail(v->vq)) {
				v->empty_polls++;
				busy_wait(o);
			}
			v->idle_tsc += tsc() - t0;
		}
	}
	v->tsc_end = tsc();
	return NULL;
}

/*
 * Both sides on this thread, taking turns in the order the threads go when
 * each waits for the other: the driver offers and arms its interrupt, the
 * device serves and arms its kick.  Deterministic instruction counts.
 */
static void run_lockstep(struct rb_run *run)
{
	struct rb_drv *d = &run->drv;
	struct rb_dev *v = &run->dev;
	bool notify = d->o->mode == MODE_NOTIFY;

	while (!drv_pass(d)) {
		if (notify)
			(void)rb_drv_may_sleep(d);
		rb_dev_serve(v);
		if (notify)
			(void)rb_dev_may_sleep(v);
	}
}

/* ---- setup ------------------------------------------------------------- */

struct rb_mem {
	uint8_t *base;
	size_t size;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint8_t *bufs;
	struct virtq_gmem *gmem;
	void *drv_mem;
	size_t drv_mem_size;
	void *dev_mem;
	uint16_t *heads;	/* --fast: used entries pending (ring size) */
	uint32_t *lens;
};

static void *xalloc(size_t align, size_t size)
{
	void *p;

	if (posix_memalign(&p, align, size))
		die("out of memory (%zu bytes)", size);
	memset(p, 0, size);
	return p;
}

/*
 * One guest memory region holds the three ring areas (each on its own
 * pages, as a modern transport places them) and the buffers.  Guest
 * addresses equal host addresses, so the driver needs no translate hook.
 */
static void mem_setup(struct rb_mem *m, const struct rb_opts *o)
{
	size_t off_avail, off_used, off_bufs;
	struct virtq_gmem_region reg;
	int r;

	off_avail = virtq_align_up(virtq_desc_size(o->num), 4096);
	off_used = off_avail + virtq_align_up(virtq_avail_size(o->num), 4096);
	off_bufs = off_used + virtq_align_up(virtq_used_size(o->num), 4096);
	m->size = off_bufs + virtq_align_up((size_t)o->num * o->len, 4096);
	m->base = xalloc(4096, m->size);
	m->desc = (struct virtq_desc *)(void *)m->base;
	m->avail = (struct virtq_avail *)(void *)(m->base + off_avail);
	m->used = (struct virtq_used *)(void *)(m->base + off_used);
	m->bufs = m->base + off_bufs;

	r = virtq_gmem_create(&m->gmem);
	if (r < 0)
		die("virtq_gmem_create: %s", strerror(-r));
	reg = (struct virtq_gmem_region){
		.gpa = (uintptr_t)m->base, .size = m->size, .hva = m->base,
	};
	r = virtq_gmem_add(m->gmem, &reg);
	if (r < 0)
		die("virtq_gmem_add: %s", strerror(-r));

	m->drv_mem_size = virtq_driver_mem_size(o->num);
	m->drv_mem = xalloc(CACHELINE, m->drv_mem_size);
	m->dev_mem = xalloc(CACHELINE, virtq_device_mem_size());
	m->heads = xalloc(CACHELINE, o->num * sizeof *m->heads);
	m->lens = xalloc(CACHELINE, o->num * sizeof *m->lens);
}

static void run_setup(struct rb_run *run, struct rb_mem *m,
		      const struct rb_opts *o)
{
	uint64_t features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	struct virtq_driver_config dc;
	struct virtq_device_config vc;
	struct rb_drv *d = &run->drv;
	struct rb_dev *v = &run->dev;
	int kickfd = -1, callfd = -1;
	int r;

	if (o->mode == MODE_NOTIFY && o->event_idx)
		features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	if (o->mode == MODE_NOTIFY && !o->lockstep) {
		kickfd = eventfd(0, EFD_CLOEXEC);
		callfd = eventfd(0, EFD_CLOEXEC);
		if (kickfd < 0 || callfd < 0)
			die("eventfd: %s", strerror(errno));
	}

	memset(run, 0, sizeof *run);
	d->vq = m->drv_mem;
	d->o = o;
	d->bufs = m->bufs;
	d->tokick = o->batch;
	d->kickfd = kickfd;
	d->callfd = callfd;
	d->dev_completed = &v->completed;
	d->used = m->used;
	dc = (struct virtq_driver_config){
		.num = o->num, .features = features,
		.desc = m->desc, .avail = m->avail, .used = m->used,
		.notify = rb_kick, .opaque = d,
	};
	r = virtq_driver_init(d->vq, m->drv_mem_size, &dc);
	if (r < 0)
		die("virtq_driver_init: %s", strerror(-r));

	v->vq = m->dev_mem;
	v->o = o;
	v->kickfd = kickfd;
	v->callfd = callfd;
	v->chain.iov = v->iov;
	v->chain.iov_cap = sizeof v->iov / sizeof v->iov[0];
	for (r = 0; r < RB_POP_BATCH; r++) {
		v->chains[r].iov = v->iovs[r];
		v->chains[r].iov_cap = sizeof v->iovs[r] / sizeof v->iovs[r][0];
	}
	v->heads = m->heads;
	v->pace = RB_PACE_MIN;
	v->lens = m->lens;
	vc = (struct virtq_device_config){
		.num = o->num, .features = features,
		.desc_addr = (uintptr_t)m->desc,
		.avail_addr = (uintptr_t)m->avail,
		.used_addr = (uintptr_t)m->used,
		.gmem = m->gmem,
	};
	r = virtq_device_init(v->vq, virtq_device_mem_size(), &vc);
	if (r < 0)
		die("virtq_device_init: %s", strerror(-r));
}

static void run_teardown(struct rb_run *run)
{
	if (run->drv.kickfd >= 0)
		close(run->drv.kickfd);
	if (run->drv.callfd >= 0)
		close(run->drv.callfd);
}

static void pin(pthread_attr_t *attr, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_attr_setaffinity_np(attr, sizeof set, &set))
		die("cannot pin a thread to CPU %d", cpu);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void join_or_stall(struct rb_run *run, pthread_t t, double deadline)
{
	struct timespec ts;
	double left = deadline - now();
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (left < 0)
		left = 0;
	ts.tv_sec += (time_t)left;
	ts.tv_nsec += (long)((left - (time_t)left) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = pthread_timedjoin_np(t, NULL, &ts);
	if (r == ETIMEDOUT)
		die("stalled: after %u s the driver has %" PRIu64 " of %" PRIu64
		    " buffers back and the device served %" PRIu64
		    " (%s)", run->drv.o->timeout,
		    count_get(&run->drv.completed), run->drv.o->bufs,
		    count_get(&run->dev.completed),
		    run->drv.o->mode == MODE_NOTIFY ? "a lost notification?" :
		    "a spinning thread starving its peer of the CPU?");
	if (r)
		die("pthread_join: %s", strerror(r));
}

/* One run: returns its duration in seconds. */
static double run_once(struct rb_run *run)
{
	const struct rb_opts *o = run->drv.o;
	pthread_attr_t da, va;
	pthread_t dt, vt;
	double t0;

	if (o->lockstep) {
		t0 = now();
		run_lockstep(run);
		return now() - t0;
	}
	pthread_barrier_init(&run->start, NULL, 3);
	pthread_attr_init(&da);
	pthread_attr_init(&va);
	pin(&da, o->driver_cpu);
	pin(&va, o->device_cpu);
	if (pthread_create(&vt, &va, device_thread, run) ||
	    pthread_create(&dt, &da, driver_thread, run))
		die("cannot start threads");
	pthread_barrier_wait(&run->start);
	t0 = now();
	join_or_stall(run, dt, t0 + o->timeout);
	join_or_stall(run, vt, t0 + o->timeout);
	pthread_attr_destroy(&da);
	pthread_attr_destroy(&va);
	pthread_barrier_destroy(&run->start);
	/*
	 * From the first worker's start to the driver's last buffer, on the
	 * workers' own clocks: this thread may not even run meanwhile (both
	 * CPUs busy, or real-time scheduling).
	 */
	t0 = run->drv.t_start < run->dev.t_start ? run->drv.t_start :
						     run->dev.t_start;
	return run->drv.t_end - t0;
}

/* ---- cross-core ping-pong: which mode is the machine in? ------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}


/*
 * Two threads on the driver's and the device's CPUs bounce one cache line:
 * each waits for the other's value and answers with its own.  Half a
 * round trip is the time one side's store takes to reach the other, the
 * floor under every figure a polling ring can reach; it changes with where
 * the host runs the two vCPUs.
 */
struct pp {
	uint64_t ping __attribute__((aligned(CACHELINE)));
	uint64_t pong __attribute__((aligned(CACHELINE)));
	uint64_t n;
	bool stop;		/* the measuring side gave up */
	pthread_barrier_t start;
};

/* A ping-pong burst that takes longer than this is given up: the two
 * threads share a CPU (or it is starved), and each round trip would wait
 * for a scheduler tick. */
#define PP_BURST_MAX_S 2.0

static void *pp_thread(void *arg)
{
	struct pp *p = arg;

	pthread_barrier_wait(&p->start);
	for (uint64_t i = 1; i <= p->n; i++) {
		while (__atomic_load_n(&p->ping, __ATOMIC_ACQUIRE) != i)
			if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
				return NULL;
		__atomic_store_n(&p->pong, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Nanoseconds per round trip between the two CPUs (median of 5 bursts). */
static double pingpong_ns(const struct rb_opts *o)
{
	bool gave_up = false;
	double best[5];
	unsigned int r;

	for (r = 0; r < 5; r++) {
		struct pp *p = xalloc(CACHELINE, sizeof *p);
		pthread_attr_t a;
		pthread_t t;
		cpu_set_t set;
		double t0;

		p->n = 20000;
		pthread_barrier_init(&p->start, NULL, 2);
		pthread_attr_init(&a);
		pin(&a, o->device_cpu);
		if (pthread_create(&t, &a, pp_thread, p))
			die("cannot start the ping-pong thread");
		if (o->driver_cpu >= 0) {
			CPU_ZERO(&set);
			CPU_SET(o->driver_cpu, &set);
			pthread_setaffinity_np(pthread_self(), sizeof set, &set);
		}
		pthread_barrier_wait(&p->start);
		t0 = now();
		for (uint64_t i = 1; i <= p->n && !p->stop; i++) {
			uint32_t spins = 0;

			__atomic_store_n(&p->ping, i, __ATOMIC_RELEASE);
			while (__atomic_load_n(&p->pong, __ATOMIC_ACQUIRE) != i)
				if ((++spins & 0xffff) == 0 &&
				    now() - t0 > PP_BURST_MAX_S) {
					__atomic_store_n(&p->stop, true,
							 __ATOMIC_RELAXED);
					break;
				}
		}
		best[r] = p->stop ? -1 : (now() - t0) * 1e9 / p->n;
		gave_up |= p->stop;
		pthread_join(t, NULL);
		pthread_attr_destroy(&a);
		pthread_barrier_destroy(&p->start);
		free(p);
		if (gave_up)
			break;
	}
	if (!gave_up)
		qsort(best, 5, sizeof best[0], cmp_double);
	if (o->driver_cpu >= 0) {	/* main thread back on every CPU */
		cpu_set_t all;

		CPU_ZERO(&all);
		for (int c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &all);
		sched_setaffinity(0, sizeof all, &all);
	}
	return gave_up ? -1 : best[2];
}

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [options]\n"
"Round trips through one libvirtq split ring: a driver thread offers one\n"
"device-writable buffer per chain, a device thread pops it (full validation\n"
"against a guest memory map, always), pushes it back used; the driver takes\n"
"it back.  Prints round trips per second (median of the runs) and the kicks\n"
"and interrupts sent per million buffers.\n"
"\n"
"  -n, --num N            ring size, a power of two in 1..32768 (256)\n"
"  -c, --bufs N           buffers per run (10000000)\n"
"  -l, --len N            bytes per buffer, >= 1 (1)\n"
"  -b, --batch N          chains per publish/kick and per used flush (1)\n"
"  -o, --outstanding N    at most N chains in flight (ring size)\n"
"  -m, --mode poll|notify spin on the rings, or eventfd kick and call (poll)\n"
"      --no-event-idx     notify mode: suppress with flags, not EVENT_IDX\n"
"      --vmexit-cycles N  notify mode: spin N TSC cycles before and after each\n"
"                         eventfd write and read, as ringtest does (0)\n"
"      --driver-cpu N     pin the driver thread to CPU N (unpinned)\n"
"      --device-cpu N     pin the device thread to CPU N (unpinned)\n"
"      --relax            pause instruction in busy-wait loops\n"
"      --poll-pause N     poll mode: N pause instructions after each empty\n"
"                         poll of the peer's index (back off its cache line)\n"
"      --pace N           poll mode, --fast: after a pop_batch call that found\n"
"                         a short batch, wait before reading avail->idx again,\n"
"                         adapting between 64 and N TSC cycles (0: never)\n"
"      --busy-poll N      notify mode: poll the peer's ring for up to N TSC\n"
"                         cycles before arming a notification and sleeping\n"
"      --delayed-cb       notify mode: the driver arms its interrupt with\n"
"                         virtq_driver_enable_cb_delayed (3/4 of those out)\n"
"  -r, --runs N           runs; the median is reported (5)\n"
"      --fast             the fast-path API: virtq_driver_add_inbuf and\n"
"                         virtq_driver_get_used_batch, virtq_device_pop_batch\n"
"                         and virtq_device_push_batch (%d chains a call)\n"
"      --lockstep         both sides on one thread, taking turns\n"
"                         (for exact instruction counts)\n"
"      --pingpong         only measure the cross-core ping-pong latency\n"
"                         between the two CPUs (also printed before the runs)\n"
"      --no-pingpong      skip that measurement before the runs\n"
"      --timeout S        give up a run after S seconds (120)\n"
"  -h, --help\n", RB_POP_BATCH);
}

static uint64_t parse_num(const char *opt, const char *arg, uint64_t min,
			  uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		die("%s '%s': expected a number in %" PRIu64 "..%" PRIu64,
		    opt, arg, min, max);
	return v;
}

static int parse_cpu(const char *opt, const char *arg)
{
	cpu_set_t set;
	int cpu = (int)parse_num(opt, arg, 0, CPU_SETSIZE - 1);

	if (sched_getaffinity(0, sizeof set, &set) == 0 && !CPU_ISSET(cpu, &set))
		die("%s %d: CPU %d is not available to this process (see nproc)",
		    opt, cpu, cpu);
	return cpu;
}

enum {
	OPT_NO_EVENT_IDX = 256, OPT_VMEXIT, OPT_DRIVER_CPU, OPT_DEVICE_CPU,
	OPT_RELAX, OPT_LOCKSTEP, OPT_TIMEOUT, OPT_FAST, OPT_PINGPONG, OPT_NO_PINGPONG,
	OPT_POLL_PAUSE,
	OPT_PACE,
	OPT_DELAYED_CB,
	OPT_BUSY_POLL,
};

static const struct option longopts[] = {
	{ "num", required_argument, NULL, 'n' },
	{ "bufs", required_argument, NULL, 'c' },
	{ "len", required_argument, NULL, 'l' },
	{ "batch", required_argument, NULL, 'b' },
	{ "outstanding", required_argument, NULL, 'o' },
	{ "mode", required_argument, NULL, 'm' },
	{ "no-event-idx", no_argument, NULL, OPT_NO_EVENT_IDX },
	{ "vmexit-cycles", required_argument, NULL, OPT_VMEXIT },
	{ "driver-cpu", required_argument, NULL, OPT_DRIVER_CPU },
	{ "device-cpu", required_argument, NULL, OPT_DEVICE_CPU },
	{ "relax", no_argument, NULL, OPT_RELAX },
	{ "poll-pause", required_argument, NULL, OPT_POLL_PAUSE },
	{ "pace", required_argument, NULL, OPT_PACE },
	{ "delayed-cb", no_argument, NULL, OPT_DELAYED_CB },
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "runs", required_argument, NULL, 'r' },
	{ "lockstep", no_argument, NULL, OPT_LOCKSTEP },
	{ "fast", no_argument, NULL, OPT_FAST },
	{ "pingpong", no_argument, NULL, OPT_PINGPONG },
	{ "no-pingpong", no_argument, NULL, OPT_NO_PINGPONG },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_opts(struct rb_opts *o, int argc, char **argv)
{
	bool outstanding_set = false;
	int c;

	*o = (struct rb_opts){
		.num = 256, .bufs = 10000000, .len = 1, .batch = 1,
		.driver_cpu = -1, .device_cpu = -1, .mode = MODE_POLL,
		.event_idx = true, .runs = 5, .timeout = 120,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:c:l:b:o:m:r:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			o->num = (uint32_t)parse_num("--num", optarg, 1, VIRTQ_MAX_SIZE);
			if (!virtq_size_valid(o->num))
				die("--num %s: the ring size must be a power of two in 1..32768",
				    optarg);
			break;
		case 'c':
			o->bufs = parse_num("--bufs", optarg, 1, UINT64_C(1) << 48);
			break;
		case 'l':
			if (strcmp(optarg, "0") == 0)
				die("--len 0: libvirtq refuses zero-length buffers (virtq_driver_add returns -EINVAL); use --len 1 or more");
			o->len = (uint32_t)parse_num("--len", optarg, 1, 1u << 20);
			break;
		case 'b':
			o->batch = (uint32_t)parse_num("--batch", optarg, 1, VIRTQ_MAX_SIZE);
			break;
		case 'o':
			o->outstanding = (uint32_t)parse_num("--outstanding", optarg, 1,
							     VIRTQ_MAX_SIZE);
			outstanding_set = true;
			break;
		case 'm':
			if (strcmp(optarg, "poll") == 0)
				o->mode = MODE_POLL;
			else if (strcmp(optarg, "notify") == 0)
				o->mode = MODE_NOTIFY;
			else
				die("--mode '%s': expected poll or notify", optarg);
			break;
		case OPT_NO_EVENT_IDX:
			o->event_idx = false;
			break;
		case OPT_VMEXIT:
			o->vmexit_cycles = (unsigned int)parse_num("--vmexit-cycles",
								   optarg, 0, 1000000);
#if !defined(__x86_64__) && !defined(__i386__)
			if (o->vmexit_cycles)
				die("--vmexit-cycles: needs the x86 TSC; use 0 on this machine");
#endif
			break;
		case OPT_DRIVER_CPU:
			o->driver_cpu = parse_cpu("--driver-cpu", optarg);
			break;
		case OPT_DEVICE_CPU:
			o->device_cpu = parse_cpu("--device-cpu", optarg);
			break;
		case OPT_RELAX:
			o->relax = true;
			break;
		case OPT_BUSY_POLL:
			o->busy_poll = (unsigned int)parse_num("--busy-poll", optarg, 0, 100000000);
			break;
		case OPT_DELAYED_CB:
			o->delayed_cb = true;
			break;
		case OPT_PACE:
			o->pace = (unsigned int)parse_num("--pace", optarg, 0, 100000000);
			break;
		case OPT_POLL_PAUSE:
			o->poll_pause = (unsigned int)parse_num("--poll-pause", optarg,
								0, 100000);
#if !defined(__x86_64__) && !defined(__i386__)
			if (o->poll_pause)
				die("--poll-pause: x86 only; use 0 on this machine");
#endif
			break;
		case 'r':
			o->runs = (unsigned int)parse_num("--runs", optarg, 1, 1000);
			break;
		case OPT_LOCKSTEP:
			o->lockstep = true;
			break;
		case OPT_FAST:
			o->fast = true;
			break;
		case OPT_NO_PINGPONG:
			o->no_pingpong = true;
			break;
		case OPT_PINGPONG:
			o->pingpong_only = true;
			break;
		case OPT_TIMEOUT:
			o->timeout = (unsigned int)parse_num("--timeout", optarg, 1,
							     86400);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			die("%s needs a value (see --help)", argv[optind - 1]);
		default:
			die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->pace && (o->mode != MODE_POLL || !o->fast || o->lockstep))
		die("--pace paces the --fast device loop in poll mode; add --fast, drop -m notify / --lockstep, or drop --pace");
#if !defined(__x86_64__) && !defined(__i386__)
	if (o->pace)
		die("--pace: x86 only (it waits on the TSC); use 0 on this machine");
#endif
	if (o->busy_poll && (o->mode != MODE_NOTIFY || o->lockstep))
		die("--busy-poll polls before sleeping, which only notify mode on two threads does; add -m notify, drop --lockstep, or drop --busy-poll");
#if !defined(__x86_64__) && !defined(__i386__)
	if (o->busy_poll)
		die("--busy-poll: x86 only (it times on the TSC); use 0 on this machine");
#endif
	if (o->delayed_cb && o->mode != MODE_NOTIFY)
		die("--delayed-cb arms interrupts, which only notify mode uses; add -m notify or drop --delayed-cb");
	o->share_cpu = o->driver_cpu >= 0 && o->driver_cpu == o->device_cpu;
	if (!outstanding_set || o->outstanding > o->num)
		o->outstanding = o->num;
	if (o->batch > o->outstanding)
		o->batch = o->outstanding;
	if ((uint64_t)o->num * o->len > (UINT64_C(1) << 30))
		die("--num %" PRIu32 " x --len %" PRIu32 ": more than 1 GiB of buffers; lower one of them",
		    o->num, o->len);
}

static void print_hist(const char *what, const uint64_t *h, uint64_t n)
{
	unsigned int i;

	printf("%s, %" PRIu64 " samples:", what, n);
	for (i = 0; i < 17; i++)
		if (h[i])
			printf(" %s%u: %.1f%%", i < 2 ? "" : "<=",
			       i < 2 ? i : (1u << i) - 1, h[i] * 100.0 / n);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct rb_opts o;
	struct rb_mem m;
	struct rb_run *run;
	double *rate, med, pp = 0;
	uint64_t occ[17] = { 0 }, occ_n = 0, found[17] = { 0 }, found_n = 0;
	uint64_t occ_dev[17] = { 0 }, occ_vis[17] = {0};
	uint64_t dpolls = 0, vpolls = 0;
	double didle = 0, vidle = 0;	/* idle shares, summed over runs */
	uint64_t dsleeps = 0, vsleeps = 0;
	uint64_t kicks = 0, irqs = 0;
	unsigned int i;

	parse_opts(&o, argc, argv);
	if (o.pingpong_only) {
		printf("result pingpong_ns=%.1f\n", pingpong_ns(&o));
		return 0;
	}
	mem_setup(&m, &o);
	run = xalloc(CACHELINE, sizeof *run);
	rate = calloc(o.runs, sizeof *rate);
	if (!rate)
		die("out of memory");

	printf("%s: %s%s%s%s, ring %" PRIu32 ", %" PRIu64 " buffers of %" PRIu32
	       " bytes, batch %" PRIu32 ", outstanding %" PRIu32
	       ", driver cpu %d, device cpu %d, validation full (always)\n",
	       PROG, o.mode == MODE_POLL ? "poll" :
	       o.event_idx ? "notify (event idx)" : "notify (flags)",
	       o.lockstep ? ", lockstep" : "",
	       o.fast ? ", fast-path API" : "",
	       o.vmexit_cycles ? ", emulated vm exits" : "",
	       o.num, o.bufs, o.len, o.batch, o.outstanding,
	       o.driver_cpu, o.device_cpu);
	if (!o.lockstep && !o.no_pingpong) {
		pp = pingpong_ns(&o);
		if (pp < 0)
			printf("cross-core ping-pong (driver cpu %d <-> device cpu %d): gave up after %.1f s (do the two threads share a CPU?)\n",
			       o.driver_cpu, o.device_cpu, PP_BURST_MAX_S);
		else
			printf("cross-core ping-pong (driver cpu %d <-> device cpu %d): %.1f ns a round trip\n",
			       o.driver_cpu, o.device_cpu, pp);
	}
	for (i = 0; i < o.runs; i++) {
		double secs;

		run_setup(run, &m, &o);
		secs = run_once(run);
		dpolls += run->drv.empty_polls;
		vpolls += run->dev.empty_polls;
		dsleeps += run->drv.sleeps;
		vsleeps += run->dev.sleeps;
		if (run->drv.tsc_end > run->drv.tsc_start)
			didle += (double)run->drv.idle_tsc /
				 (double)(run->drv.tsc_end - run->drv.tsc_start);
		if (run->dev.tsc_end > run->dev.tsc_start)
			vidle += (double)run->dev.idle_tsc /
				 (double)(run->dev.tsc_end - run->dev.tsc_start);
		for (unsigned int b = 0; b < 17; b++) {
			occ[b] += run->drv.occ[b];
			occ_dev[b] += run->drv.occ_dev[b];
			occ_vis[b] += run->drv.occ_vis[b];
			found[b] += run->dev.found[b];
		}
		rate[i] = o.bufs / secs;
		kicks += run->drv.kicks;
		irqs += run->dev.interrupts;
		printf("run %u: %.3f M round trips/s (%.3f s, %.1f ns each), %"
		       PRIu64 " kicks, %" PRIu64 " interrupts\n", i + 1,
		       rate[i] / 1e6, secs, secs * 1e9 / o.bufs,
		       run->drv.kicks, run->dev.interrupts);
		run_teardown(run);
	}
	qsort(rate, o.runs, sizeof *rate, cmp_double);
	med = o.runs % 2 ? rate[o.runs / 2] :
	      (rate[o.runs / 2 - 1] + rate[o.runs / 2]) / 2;
	printf("median: %.3f M round trips/s (min %.3f, max %.3f), %.1f kicks and %.1f interrupts per million buffers\n",
	       med / 1e6, rate[0] / 1e6, rate[o.runs - 1] / 1e6,
	       kicks * 1e6 / ((double)o.bufs * o.runs),
	       irqs * 1e6 / ((double)o.bufs * o.runs));
	for (i = 0; i < 17; i++) {
		occ_n += occ[i];
		found_n += found[i];
	}
	if (occ_n && !o.lockstep) {
		print_hist("chains in flight (driver, sampled)", occ, occ_n);
		print_hist("  of which at the device (offered, not yet pushed back)",
			   occ_dev, occ_n);
		print_hist("  visible in used->idx, not taken", occ_vis, occ_n);
		if (found_n)
			print_hist("chains per virtq_device_pop_batch call", found,
				   found_n);
		if (o.mode == MODE_POLL)
			printf("empty polls per buffer: driver (used->idx) %.2f, device (avail->idx) %.2f\n",
			       dpolls / ((double)o.bufs * o.runs),
			       vpolls / ((double)o.bufs * o.runs));
		if (o.mode == MODE_NOTIFY)
			printf("sleeps on the eventfd per million buffers: driver %.1f, device %.1f\n",
			       dsleeps * 1e6 / ((double)o.bufs * o.runs),
			       vsleeps * 1e6 / ((double)o.bufs * o.runs));
		if (tsc())
			printf("time spent %s: driver %.1f%%, device %.1f%%\n",
			       o.mode == MODE_POLL ? "polling an empty ring" :
			       "asleep on the eventfd",
			       didle * 100 / o.runs, vidle * 100 / o.runs);
	}
	printf("result mode=%s median_mrtps=%.3f min_mrtps=%.3f max_mrtps=%.3f kicks_per_m=%.1f interrupts_per_m=%.1f pingpong_ns=%.1f found_le3_pct=%.1f drv_idle_pct=%.1f dev_idle_pct=%.1f\n",
	       o.mode == MODE_POLL ? "poll" : "notify", med / 1e6,
	       rate[0] / 1e6, rate[o.runs - 1] / 1e6,
	       kicks * 1e6 / ((double)o.bufs * o.runs),
	       irqs * 1e6 / ((double)o.bufs * o.runs), pp,
	       found_n ? (found[0] + found[1] + found[2]) * 100.0 / found_n : 0.0,
	       didle * 100 / o.runs, vidle * 100 / o.runs);
	free(rate);
	free(run);
	free(m.drv_mem);
	free(m.dev_mem);
	free(m.heads);
	free(m.lens);
	virtq_gmem_destroy(m.gmem);
	free(m.base);
	return 0;
}
