/* SPDX-License-Identifier: MIT */
/*
 * virtq-blkio - block load generator and verifier for vhost-user-blk
 * backends (virtq-blk, qemu-storage-daemon), over libvirtq's frontend.
 *
 *   virtq-blkio --socket PATH [--rw MODE] [--bs SIZE] [--iodepth N]
 *               [--queues N] [--runtime SECONDS] [--size SIZE] [--verify]
 *               [--json] [--poll] [--timeout MS]
 *
 * The workers live in tools/blkio/; this file is options, setup, the
 * progress line and the report.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blkio/blkio.h"

static const char usage[] =
"usage: virtq-blkio --socket PATH [options]\n"
"  --rw MODE        read | write | randread | randwrite | randrw (default randread)\n"
"  --bs SIZE        I/O size, a multiple of 512 (default 4k)\n"
"  --iodepth N      requests in flight per queue, 1..4096 (default 1)\n"
"  --queues N       queues, one thread each (default 1)\n"
"  --runtime SEC    stop after SEC seconds\n"
"  --size SIZE      region of the disk used, and the I/O done (default: whole disk;\n"
"                   with --runtime alone the run is time-based); K/M/G suffixes\n"
"  --verify         stamp written blocks (LBA, generation, checksum) and check\n"
"                   every read; write modes read everything back at the end\n"
"  --json           one JSON object on stdout instead of text\n"
"  --poll           poll the used rings instead of sleeping on interrupts\n"
"  --timeout MS     longest wait for a backend reply or an I/O (default 5000)\n";

struct opts {
	const char *socket;
	enum rw rw;
	uint64_t bs, size;
	uint32_t iodepth, queues;
	double runtime;
	bool verify, json, poll;
	int timeout_ms;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("virtq-blkio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		die("--%s '%s': not a size (use e.g. 4096, 4k, 1M, 2G)", opt, s);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		die("--%s '%s': not a size (use e.g. 4096, 4k, 1M, 2G)", opt, s);
	return (uint64_t)v << shift;
}

static uint32_t parse_u32(const char *opt, const char *s, uint32_t lo,
			  uint32_t hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		die("--%s '%s': expected a whole number in %u..%u", opt, s, lo, hi);
	return (uint32_t)v;
}

static const char *const rw_names[] = {
	[RW_READ] = "read", [RW_WRITE] = "write", [RW_RANDREAD] = "randread",
	[RW_RANDWRITE] = "randwrite", [RW_RANDRW] = "randrw", [RW_VERIFY] = "verify",
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "rw", 1, 0, 'r' }, { "bs", 1, 0, 'b' },
		{ "iodepth", 1, 0, 'd' }, { "queues", 1, 0, 'q' },
		{ "runtime", 1, 0, 't' }, { "size", 1, 0, 'S' },
		{ "verify", 0, 0, 'v' }, { "json", 0, 0, 'j' }, { "poll", 0, 0, 'p' },
		{ "timeout", 1, 0, 'T' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	char *end;
	int c;

	*o = (struct opts){ .rw = RW_RANDREAD, .bs = 4096, .iodepth = 1,
			    .queues = 1, .timeout_ms = VIRTQ_VU_FRONTEND_TIMEOUT_MS };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'r':
			for (c = 0; c < RW_VERIFY; c++)
				if (!strcmp(optarg, rw_names[c]))
					break;
			if (c == RW_VERIFY)
				die("--rw '%s': expected read, write, randread, randwrite or randrw", optarg);
			o->rw = (enum rw)c;
			break;
		case 'b': o->bs = parse_size("bs", optarg); break;
		case 'd': o->iodepth = parse_u32("iodepth", optarg, 1, 4096); break;
		case 'q': o->queues = parse_u32("queues", optarg, 1, 256); break;
		case 't':
			o->runtime = strtod(optarg, &end);
			if (end == optarg || *end || !(o->runtime > 0) || o->runtime > 1e6)
				die("--runtime '%s': expected seconds, e.g. 10 or 0.5", optarg);
			break;
		case 'S': o->size = parse_size("size", optarg); break;
		case 'v': o->verify = true; break;
		case 'j': o->json = true; break;
		case 'p': o->poll = true; break;
		case 'T': o->timeout_ms = (int)parse_u32("timeout", optarg, 1, 3600000); break;
		case 'h': fputs(usage, stdout); exit(0);
		default:
			if (optopt)
				die("option '%s': missing or unexpected value; see --help",
				    argv[optind - 1]);
			die("unknown option '%s'; see --help", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'; see --help", argv[optind]);
	if (!o->socket)
		die("--socket PATH is required (the backend's vhost-user socket)");
	if (!o->bs || o->bs % SECTOR || o->bs > (256u << 20))
		die("--bs %" PRIu64 ": must be a multiple of 512 up to 256M", o->bs);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct device {
	uint64_t capacity;	/* bytes */
	uint32_t blk_size;
	uint32_t queues;
	bool ro;
};

static struct virtq_vu_frontend *open_device(const struct opts *o,
					     struct device *d)
{
	struct virtq_vu_frontend *fe;
	uint8_t cfg[BLK_CFG_LEN];
	uint64_t cap;
	int r;

	r = virtq_vu_frontend_connect(&fe, o->socket, o->timeout_ms);
	if (r < 0) {
		fprintf(stderr, "virtq-blkio: %s\n", virtq_vu_frontend_error(fe));
		exit(1);
	}
	uint64_t f = virtq_vu_frontend_device_features(fe);

	memset(cfg, 0, sizeof(cfg));
	r = virtq_vu_frontend_get_config(fe, 0, cfg, sizeof(cfg));
	if (r == -ENOTSUP && o->size) {
		/* No config space: trust --size, and use no config field. */
		f &= ~(VIRTQ_FEATURE(BLK_F_BLK_SIZE) | VIRTQ_FEATURE(BLK_F_MQ));
		cap = virtq_cpu_to_le64(o->size / SECTOR);
		memcpy(cfg + BLK_CFG_CAPACITY, &cap, 8);
	} else if (r < 0) {
		fprintf(stderr, "virtq-blkio: %s%s\n", virtq_vu_frontend_error(fe),
			r == -ENOTSUP ? " (give the disk size with --size)" : "");
		exit(1);
	}
	memcpy(&cap, cfg + BLK_CFG_CAPACITY, 8);
	d->capacity = virtq_le64(cap) * SECTOR;
	d->blk_size = SECTOR;
	if (f & VIRTQ_FEATURE(BLK_F_BLK_SIZE)) {
		uint32_t v;

		memcpy(&v, cfg + BLK_CFG_BLK_SIZE, 4);
		d->blk_size = virtq_le32(v);
	}
	d->queues = 1;
	if (f & VIRTQ_FEATURE(BLK_F_MQ)) {
		uint16_t v;

		memcpy(&v, cfg + BLK_CFG_NUM_QUEUES, 2);
		d->queues = virtq_le16(v);
	}
	if (virtq_vu_frontend_max_queues(fe) < d->queues)
		d->queues = virtq_vu_frontend_max_queues(fe);
	d->ro = f & VIRTQ_FEATURE(BLK_F_RO);
	return fe;
}

static uint32_t pow2_up(uint64_t v)
{
	uint32_t p = 1;

	while (p < v && p < VIRTQ_MAX_SIZE * 2u)
		p <<= 1;
	return p;
}

static void setup_job(const struct opts *o, const struct device *d,
		      struct job *job)
{
	uint64_t region = o->size ? o->size : d->capacity;

	if (d->blk_size < SECTOR || o->bs % d->blk_size)
		die("--bs %" PRIu64 " is not a multiple of the device's block size %u",
		    o->bs, d->blk_size);
	if (o->size > d->capacity)
		die("--size %" PRIu64 " is larger than the device (%" PRIu64 " bytes)",
		    o->size, d->capacity);
	if (o->queues > d->queues)
		die("--queues %u: the backend offers %u (start it with more queues)",
		    o->queues, d->queues);
	if (d->ro && o->rw != RW_READ && o->rw != RW_RANDREAD)
		die("--rw %s: the device is read-only", rw_names[o->rw]);
	job->nblocks = region / o->bs;
	if (job->nblocks < o->queues)
		die("--size %" PRIu64 " holds %" PRIu64 " blocks of %" PRIu64
		    " bytes: fewer than --queues %u", region, job->nblocks, o->bs, o->queues);
	job->rw = o->rw;
	job->bs = (uint32_t)o->bs;
	job->iodepth = o->iodepth;
	job->queues = o->queues;
	job->verify = o->verify;
	job->timeout_ms = o->timeout_ms;
	/* Size-limited unless only a runtime was given. */
	job->max_ios = (o->size || !o->runtime) ? job->nblocks : 0;
	job->epoch = ((uint64_t)time(NULL) ^ (uint64_t)getpid() << 16) & 0xffffffffu;
	if (o->verify) {
		job->gen = calloc(job->nblocks, sizeof(*job->gen));
		job->busy = calloc(job->nblocks, 1);
		if (!job->gen || !job->busy)
			die("out of memory for %" PRIu64 " blocks of verification state",
			    job->nblocks);
	}
}

static void start_device(struct job *job, const struct opts *o)
{
	uint64_t f = virtq_vu_frontend_device_features(job->fe);
	bool indirect = f & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	uint32_t qs = pow2_up((uint64_t)o->iodepth * (indirect ? 1 : 3));
	struct virtq_vu_frontend_setup s = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
			    VIRTQ_FEATURE(BLK_F_BLK_SIZE) | VIRTQ_FEATURE(BLK_F_SEG_MAX) |
			    VIRTQ_FEATURE(BLK_F_FLUSH) | VIRTQ_FEATURE(BLK_F_MQ) |
			    VIRTQ_FEATURE(BLK_F_RO) | VIRTQ_FEATURE(BLK_F_SIZE_MAX),
		.num_queues = o->queues,
		.queue_size = qs < 16 ? 16 : qs,
		.buf_size = worker_mem(job) * o->queues,
		.indirect_max = indirect ? 4 : 0,
		.poll = o->poll,
	};

	if (s.queue_size > VIRTQ_MAX_SIZE)
		die("--iodepth %u needs a queue of %u entries, above 32768", o->iodepth,
		    s.queue_size);
	if (virtq_vu_frontend_start(job->fe, &s) < 0) {
		fprintf(stderr, "virtq-blkio: %s\n", virtq_vu_frontend_error(job->fe));
		exit(1);
	}
	job->indirect = indirect;
}

struct result {
	struct hist hist;
	uint64_t ios, bytes, verified;
	double secs;
	int error;
};

/* Run one phase: a worker per queue, the progress line, the time limit. */
static void run_phase(struct job *job, const struct opts *o, struct result *res,
		      bool progress)
{
	struct worker *w = calloc(job->queues, sizeof(*w));
	pthread_t *th = calloc(job->queues, sizeof(*th));
	uint8_t *buf = virtq_vu_frontend_buf(job->fe, NULL);
	size_t per = worker_mem(job);
	double t0 = now_s(), last = t0;
	uint64_t last_ios = 0;

	if (!w || !th)
		die("out of memory");
	job->stop = 0;
	job->done_ios = 0;
	job->finished = 0;
	for (uint32_t i = 0; i < job->queues; i++) {
		w[i].job = job;
		w[i].qi = i;
		w[i].data = buf + per * i;
		w[i].meta = w[i].data + (size_t)job->iodepth * ((job->bs + 4095u) & ~4095u);
		w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ job->epoch;
		if (pthread_create(&th[i], NULL, worker_run, &w[i]))
			die("cannot start a worker thread");
	}
	/* The workers run; this thread keeps time and prints progress. */
	while (__atomic_load_n(&job->finished, __ATOMIC_ACQUIRE) < job->queues) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		double t;

		nanosleep(&ts, NULL);
		t = now_s();
		if (interrupted || (o->runtime && t - t0 >= o->runtime))
			__atomic_store_n(&job->stop, 1, __ATOMIC_RELAXED);
		if (progress && t - last >= 1.0 && (o->runtime > 4 || t - t0 > 4)) {
			uint64_t n = __atomic_load_n(&job->done_ios, __ATOMIC_RELAXED);

			fprintf(stderr, "  [%5.1f s] %.0f IOPS, %.1f MiB/s\n", t - t0,
				(n - last_ios) / (t - last),
				(n - last_ios) * (double)job->bs / (t - last) / 1048576.0);
			last = t;
			last_ios = n;
		}
	}
	for (uint32_t i = 0; i < job->queues; i++)
		pthread_join(th[i], NULL);
	res->secs = now_s() - t0;
	for (uint32_t i = 0; i < job->queues; i++) {
		hist_merge(&res->hist, &w[i].hist);
		res->ios += w[i].ios;
		res->bytes += w[i].bytes;
		res->verified += w[i].verified;
		if (w[i].error && !res->error)
			res->error = w[i].error;
	}
	free(w);
	free(th);
}

static double us(uint64_t ns)
{
	return ns / 1000.0;
}

static void print_text(const struct opts *o, const struct job *job,
		       const struct result *r, const char *label)
{
	double secs = r->secs > 0 ? r->secs : 1e-9;

	printf("%s: %" PRIu64 " I/Os in %.2f s: %.0f IOPS, %.1f MiB/s, latency us "
	       "p50 %.1f  p99 %.1f  p99.9 %.1f  (mean %.1f, max %.1f)\n",
	       label, r->ios, r->secs, r->ios / secs, r->bytes / secs / 1048576.0,
	       us(hist_quantile(&r->hist, 0.5)), us(hist_quantile(&r->hist, 0.99)),
	       us(hist_quantile(&r->hist, 0.999)),
	       r->hist.count ? us(r->hist.sum_ns / r->hist.count) : 0.0,
	       us(r->hist.max_ns));
	(void)o;
	(void)job;
}

static void print_json_result(const char *name, const struct result *r)
{
	double secs = r->secs > 0 ? r->secs : 1e-9;

	printf("\"%s\":{\"ios\":%" PRIu64 ",\"seconds\":%.3f,\"iops\":%.0f,"
	       "\"mib_s\":%.2f,\"lat_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"p99_9\":%" PRIu64 ",\"mean\":%" PRIu64 ",\"max\":%" PRIu64 "}}",
	       name, r->ios, r->secs, r->ios / secs, r->bytes / secs / 1048576.0,
	       hist_quantile(&r->hist, 0.5), hist_quantile(&r->hist, 0.99),
	       hist_quantile(&r->hist, 0.999),
	       r->hist.count ? r->hist.sum_ns / r->hist.count : 0, r->hist.max_ns);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct device d;
	struct job job = { 0 };
	struct result run = { 0 }, ver = { 0 };
	bool verify_pass;
	int r;

	parse(argc, argv, &o);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	job.fe = open_device(&o, &d);
	setup_job(&o, &d, &job);
	start_device(&job, &o);
	verify_pass = o.verify && o.rw != RW_READ && o.rw != RW_RANDREAD;

	if (!o.json)
		printf("virtq-blkio: %s bs=%" PRIu64 " iodepth=%u queues=%u on %s "
		       "(%.1f MiB used of %.1f MiB, %s%s)\n",
		       rw_names[o.rw], o.bs, o.iodepth, o.queues, o.socket,
		       job.nblocks * (double)o.bs / 1048576.0, d.capacity / 1048576.0,
		       job.max_ios ? "size-limited" : "time-based",
		       o.verify ? ", verifying" : "");
	fflush(stdout);
	run_phase(&job, &o, &run, true);
	if (verify_pass && !run.error && !interrupted) {
		job.rw = RW_VERIFY;
		run_phase(&job, &o, &ver, false);
	}
	if (!run.error && !ver.error) {
		r = virtq_vu_frontend_stop(job.fe);
		if (r < 0) {
			fprintf(stderr, "virtq-blkio: %s\n", virtq_vu_frontend_error(job.fe));
			run.error = r;
		}
	}
	if (o.json) {
		printf("{\"rw\":\"%s\",\"bs\":%" PRIu64 ",\"iodepth\":%u,\"queues\":%u,",
		       rw_names[o.rw], o.bs, o.iodepth, o.queues);
		print_json_result("run", &run);
		if (verify_pass) {
			putchar(',');
			print_json_result("verify_pass", &ver);
		}
		printf(",\"verified_blocks\":%" PRIu64 ",\"verify_errors\":%" PRIu64
		       ",\"io_errors\":%" PRIu64 ",\"error\":%d}\n",
		       run.verified + ver.verified, job.verify_errors, job.io_errors,
		       run.error ? run.error : ver.error);
	} else {
		print_text(&o, &job, &run, "  run");
		if (verify_pass)
			print_text(&o, &job, &ver, "  read-back");
		if (o.verify)
			printf("  verify: %" PRIu64 " blocks checked, %" PRIu64
			       " verification errors, %" PRIu64 " I/O errors\n",
			       run.verified + ver.verified, job.verify_errors,
			       job.io_errors);
		else if (job.io_errors)
			printf("  %" PRIu64 " I/O errors\n", job.io_errors);
	}
	virtq_vu_frontend_close(job.fe);
	free(job.gen);
	free(job.busy);
	if (run.error || ver.error || job.verify_errors || job.io_errors)
		return 1;
	return interrupted ? 130 : 0;
}
