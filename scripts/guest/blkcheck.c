// SPDX-License-Identifier: MIT
/*
 * blkcheck - both halves of the Linux-guest block test.
 *
 * Built twice by scripts/guest/build-initramfs: statically for the guest's
 * initramfs (busybox has no O_DIRECT vectored I/O with verification, no
 * BLKZEROOUT and no per-queue counters), and for the host, which prepares
 * the image before the boot and checks its bytes afterwards.
 *
 *   blkcheck guest DEV             the full test; parameters come from the
 *                                  kernel command line (vqt.*)
 *   blkcheck reload DEV            after "guest" and a driver reload: the
 *                                  disk reads as left, writes still work
 *   blkcheck ro DEV                read-only export: reads work, writes fail
 *   blkcheck demo DEV              make demo-vm: read the host's message,
 *                                  write one back
 *   blkcheck fill IMG HSEED        host: fill an image with the host pattern
 *   blkcheck verify IMG GSEED HSEED
 *                                  host: check the image after the guest ran
 *   blkcheck verify-host IMG HSEED host: after "ro", the image is unchanged
 *   blkcheck demo-prep IMG MSG     host: put MSG in sector 0
 *   blkcheck demo-show IMG         host: print what the guest left in sector 1
 *   blkcheck migrate DEV           live migration: rounds of write, flush,
 *                                  read back until the host says stop, then
 *                                  verify everything (see "live migration")
 *   blkcheck mig-stop IMG          host: tell the migrate workers to stop
 *   blkcheck resize DEV            live resize: wait for the disk to grow,
 *                                  then write and read the new part
 *   blkcheck verify-resize IMG GSEED HSEED SIZE
 *                                  host: check the image after "resize"
 *   blkcheck verify-mig IMG GSEED HSEED ROUNDS...
 *                                  host: check the image after "migrate"
 *
 * Disk layout (MiB), 64 MiB image:
 *   [ 0,40)  guest pattern, written with six methods (buffered 4k, O_DIRECT
 *            512 / 4k / 64k / 1m, O_DIRECT vectored with random sizes)
 *   [40,48)  host pattern: the guest only reads it
 *   [48,52)  guest pattern, then BLKDISCARD (reads back as pattern or zero)
 *   [52,56)  guest pattern, then BLKZEROOUT (reads back as zero)
 *   [56,64)  host pattern: the guest only reads it (catches stray writes)
 *
 * Every result is one line: "VQT-RESULT name PASS|FAIL|SKIP detail" in the
 * guest, "HOST-RESULT name PASS|FAIL detail" on the host.  Exit 0 when
 * nothing failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB		((uint64_t)1024 * 1024)
#define DISK_SIZE	(64 * MiB)
#define UNIT		MiB		/* work is handed to workers per MiB */
#define SECTOR		512u
#define BUF_SIZE	(4 * MiB)
#define MAX_IOV		64

enum method { M_BUFFERED, M_DIRECT, M_VECTOR };

struct segment {
	const char *name;
	uint64_t start, len;
	enum method method;
	uint32_t bs;		/* fixed block size; 0 = random sizes */
};

static const struct segment write_segs[] = {
	{ "buffered-4k",  0 * MiB, 8 * MiB, M_BUFFERED, 4096 },
	/* 512-byte requests are the slowest part under TCG: 2 MiB of them */
	{ "direct-512",   8 * MiB, 2 * MiB, M_DIRECT, 512 },
	{ "direct-4k",   10 * MiB, 6 * MiB, M_DIRECT, 4096 },
	{ "direct-64k",  16 * MiB, 8 * MiB, M_DIRECT, 65536 },
	{ "direct-1m",   24 * MiB, 8 * MiB, M_DIRECT, 1024 * 1024 },
	{ "direct-vec",  32 * MiB, 8 * MiB, M_VECTOR, 0 },
	{ "direct-128k", 48 * MiB, 8 * MiB, M_DIRECT, 131072 },
};
#define NSEGS (sizeof(write_segs) / sizeof(write_segs[0]))

#define HOST1_START	(40 * MiB)
#define HOST2_START	(56 * MiB)
#define HOST_LEN	(8 * MiB)
#define DISCARD_START	(48 * MiB)
#define ZERO_START	(52 * MiB)
#define HOLE_LEN	(4 * MiB)

static int nfail;

/* One write(2) per line so that lines from several workers never mix. */
static void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(1, line, n) < 0)
		return;
}

/* Seconds since the program started, appended to each result line so a
 * slow phase stands out in the console log. */
static double elapsed(void)
{
	static struct timespec t0;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = t;
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

#define result(tag, name, st, ...) do {					\
	char _d[400];							\
	snprintf(_d, sizeof(_d), __VA_ARGS__);				\
	out("%s %s %s %s [%.1fs]", tag, name, st, _d, elapsed());	\
	if (!strcmp(st, "FAIL"))					\
		nfail++;						\
} while (0)

/* ---------------------------------------------------------------- pattern */

/* The 8-byte word at byte offset off, a pure function of (seed, off), so
 * any range can be generated or checked on its own on either side. */
static uint64_t pat_word(uint64_t seed, uint64_t off)
{
	uint64_t z = seed + (off >> 3) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void pat_fill(unsigned char *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8)
		put_le64(buf + i, pat_word(seed, off + i));
}

/* Returns the index of the first bad byte-word, or -1 when all match.
 * seed 0 means "all zero". */
static long pat_check(const unsigned char *buf, uint64_t off, size_t len, uint64_t seed,
		      uint64_t *want, uint64_t *got)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = seed ? pat_word(seed, off + i) : 0;
		uint64_t g = get_le64(buf + i);

		if (w != g) {
			*want = w;
			*got = g;
			return (long)i;
		}
	}
	return -1;
}

/* xorshift64*, private to each worker */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Random multiple of 512 in [512, max]. */
static size_t rnd_sectors(uint64_t *s, size_t max)
{
	return (1 + rnd(s) % (max / SECTOR)) * SECTOR;
}

static uint64_t parse_u64(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* ------------------------------------------------------------ guest side */

struct params {
	uint64_t gseed, hseed, size;
	int queues, event_idx, indirect;
	char serial[32];	/* expected serial (GET_ID), "" = don't check */
};

static void parse_cmdline(struct params *p)
{
	char buf[4096], *tok, *save;
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	memset(p, 0, sizeof(*p));
	p->queues = p->event_idx = p->indirect = -1;
	if (n <= 0)
		return;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');

		if (strncmp(tok, "vqt.", 4) || !eq)
			continue;
		*eq++ = 0;
		if (!strcmp(tok, "vqt.seed"))
			p->gseed = parse_u64(eq);
		else if (!strcmp(tok, "vqt.hseed"))
			p->hseed = parse_u64(eq);
		else if (!strcmp(tok, "vqt.size"))
			p->size = parse_u64(eq);
		else if (!strcmp(tok, "vqt.queues"))
			p->queues = atoi(eq);
		else if (!strcmp(tok, "vqt.event_idx"))
			p->event_idx = atoi(eq);
		else if (!strcmp(tok, "vqt.indirect"))
			p->indirect = atoi(eq);
		else if (!strcmp(tok, "vqt.serial"))
			snprintf(p->serial, sizeof(p->serial), "%s", eq);
	}
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static long long sysfs_num(const char *path)
{
	char b[64];

	return read_sysfs(path, b, sizeof(b)) ? -1 : atoll(b);
}

static void *alloc_buf(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, BUF_SIZE + 4096))
		return NULL;
	return p;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Write [off, off+len) of one segment with its method from buf. */
static int write_unit(const struct segment *sg, int fd, unsigned char *buf, uint64_t off,
		      uint64_t len, uint64_t seed, uint64_t *rs, char *err, size_t errlen)
{
	uint64_t done = 0;

	while (done < len) {
		size_t n = sg->bs ? sg->bs : rnd_sectors(rs, 256 * 1024);
		ssize_t r;

		if (n > len - done)
			n = len - done;
		if (sg->method == M_VECTOR) {
			/* Scatter the chunk over up to MAX_IOV buffers placed
			 * apart in memory so the request gets many segments. */
			struct iovec iov[MAX_IOV];
			size_t left = n, pos = 0;
			int cnt = 0;

			while (left && cnt < MAX_IOV) {
				size_t l = cnt == MAX_IOV - 1 ? left : rnd_sectors(rs, 16 * 1024);

				if (l > left)
					l = left;
				iov[cnt].iov_base = buf + pos;
				iov[cnt].iov_len = l;
				pat_fill(buf + pos, off + done + (n - left), l, seed);
				pos += l + SECTOR * (1 + rnd(rs) % 8);
				left -= l;
				cnt++;
			}
			r = pwritev(fd, iov, cnt, off + done);
		} else {
			pat_fill(buf, off + done, n, seed);
			r = pwrite(fd, buf, n, off + done);
		}
		if (r != (ssize_t)n) {
			snprintf(err, errlen, "%s: pwrite at %" PRIu64 " len %zu: %s",
				 sg->name, off + done, n, r < 0 ? strerror(errno) : "short write");
			return -1;
		}
		done += n;
	}
	return 0;
}

/* Read [off, off+len) with random O_DIRECT sizes and buffer offsets, and
 * check it against seed (0 = zeroes). */
static int read_check(int fd, unsigned char *buf, uint64_t off, uint64_t len, uint64_t seed,
		      uint64_t *rs, bool vectored, char *err, size_t errlen)
{
	uint64_t done = 0;

	while (done < len) {
		size_t n = rnd_sectors(rs, 1024 * 1024);
		size_t boff = (rnd(rs) % 8) * SECTOR;
		uint64_t want, got;
		ssize_t r;
		long bad;

		if (n > len - done)
			n = len - done;
		if (vectored) {
			struct iovec iov[MAX_IOV];
			size_t left = n, pos = boff;
			int cnt = 0;

			/* Contiguous in memory so it can be checked at once,
			 * but split so the block layer sees many segments. */
			while (left && cnt < MAX_IOV) {
				size_t l = cnt == MAX_IOV - 1 ? left : rnd_sectors(rs, 32 * 1024);

				if (l > left)
					l = left;
				iov[cnt].iov_base = buf + pos;
				iov[cnt].iov_len = l;
				pos += l;
				left -= l;
				cnt++;
			}
			r = preadv(fd, iov, cnt, off + done);
		} else {
			r = pread(fd, buf + boff, n, off + done);
		}
		if (r != (ssize_t)n) {
			snprintf(err, errlen, "pread at %" PRIu64 " len %zu: %s", off + done, n,
				 r < 0 ? strerror(errno) : "short read");
			return -1;
		}
		bad = pat_check(buf + boff, off + done, n, seed, &want, &got);
		if (bad >= 0) {
			snprintf(err, errlen,
				 "data mismatch at byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64,
				 off + done + bad, want, got);
			return -1;
		}
		done += n;
	}
	return 0;
}

/* What each region of the disk should hold before discard/zeroout. */
static uint64_t expected_seed(uint64_t off, const struct params *p)
{
	if (off >= HOST1_START && off < HOST1_START + HOST_LEN)
		return p->hseed;
	if (off >= HOST2_START)
		return p->hseed;
	return p->gseed;
}

enum phase { PH_WRITE, PH_READ };

/* One forked worker: handles units u with u % nworkers == id. */
static int worker(const char *dev, enum phase ph, int id, int nworkers, int ncpu,
		  const struct params *p)
{
	unsigned char *buf = alloc_buf();
	uint64_t rs = p->gseed ^ (0x1234567ull * (id + 1)) ^ ph;
	int fd_direct, fd_buf, unit = 0;
	char err[300];

	pin_to(id % ncpu);
	fd_direct = open(dev, O_RDWR | O_DIRECT);
	fd_buf = open(dev, O_RDWR);
	if (!buf || fd_direct < 0 || fd_buf < 0) {
		result("VQT-RESULT", ph == PH_WRITE ? "write" : "read-direct", "FAIL",
		       "worker %d setup: %s", id, strerror(errno));
		return 1;
	}
	if (!rs)
		rs = 1;
	if (ph == PH_WRITE) {
		for (size_t s = 0; s < NSEGS; s++) {
			const struct segment *sg = &write_segs[s];

			for (uint64_t o = 0; o < sg->len; o += UNIT, unit++) {
				if (unit % nworkers != id)
					continue;
				if (write_unit(sg, sg->method == M_BUFFERED ? fd_buf : fd_direct, buf,
					       sg->start + o, UNIT, p->gseed, &rs, err, sizeof(err))) {
					result("VQT-RESULT", "write", "FAIL", "%s", err);
					return 1;
				}
			}
		}
		if (fsync(fd_buf)) {
			result("VQT-RESULT", "write", "FAIL", "fsync: %s", strerror(errno));
			return 1;
		}
	} else {
		for (uint64_t o = 0; o < DISK_SIZE; o += UNIT, unit++) {
			if (unit % nworkers != id)
				continue;
			if (read_check(fd_direct, buf, o, UNIT, expected_seed(o, p), &rs, unit & 1,
				       err, sizeof(err))) {
				result("VQT-RESULT", "read-direct", "FAIL", "%s", err);
				return 1;
			}
		}
	}
	close(fd_direct);
	close(fd_buf);
	return 0;
}

static int run_workers(const char *dev, enum phase ph, int ncpu, const struct params *p)
{
	int nworkers = 2 * ncpu, bad = 0, st;
	pid_t pids[64];

	for (int i = 0; i < nworkers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(worker(dev, ph, i, nworkers, ncpu, p));
		if (pids[i] < 0)
			bad++;
	}
	for (int i = 0; i < nworkers; i++) {
		if (pids[i] <= 0)
			continue;
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	return bad;
}

static bool has_flush;

static void check_features(const struct params *p)
{
	char f[256];
	bool ind, evt;

	if (read_sysfs("/sys/block/vda/device/features", f, sizeof(f))) {
		result("VQT-RESULT", "features", "FAIL", "cannot read /sys/block/vda/device/features");
		return;
	}
	/* One character per feature bit, bit 0 first. */
	if (strlen(f) < 30) {
		result("VQT-RESULT", "features", "FAIL", "short feature string '%s'", f);
		return;
	}
	ind = f[28] == '1';
	evt = f[29] == '1';
	has_flush = f[9] == '1';
	if ((p->indirect >= 0 && ind != p->indirect) || (p->event_idx >= 0 && evt != p->event_idx))
		result("VQT-RESULT", "features", "FAIL",
		       "negotiated indirect_desc=%d event_idx=%d, configured %d %d (features %s)",
		       ind, evt, p->indirect, p->event_idx, f);
	else
		result("VQT-RESULT", "features", "PASS", "indirect_desc=%d event_idx=%d flush=%c discard=%c write_zeroes=%c",
		       ind, evt, f[9], f[13], f[14]);
}

static int count_queues(void)
{
	DIR *d = opendir("/sys/block/vda/mq");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Interrupts per request queue ("virtioN-req.Q" in /proc/interrupts):
 * each queue that completed requests raised at least one. */
static void check_queue_use(int nq)
{
	char line[1024], list[400] = "";
	long long cnt[64] = { 0 };
	int seen = 0, zero = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f) {
		result("VQT-RESULT", "queue-use", "SKIP", "/proc/interrupts: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *q = strstr(line, "-req."), *p = strchr(line, ':');
		long long sum = 0;
		int idx;

		if (!q || !p)
			continue;
		idx = atoi(q + 5);
		if (idx < 0 || idx >= 64)
			continue;
		/* Per-CPU counts follow the colon; stop at the chip name. */
		for (p++; *p; ) {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
		cnt[idx] += sum;
		seen++;
	}
	fclose(f);
	if (!seen) {
		result("VQT-RESULT", "queue-use", "SKIP", "no virtio request interrupts in /proc/interrupts");
		return;
	}
	for (int i = 0; i < nq && i < 64; i++) {
		if (!cnt[i])
			zero++;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), " req.%d=%lld", i, cnt[i]);
	}
	if (zero)
		result("VQT-RESULT", "queue-use", "FAIL", "a queue raised no interrupt:%s", list);
	else
		result("VQT-RESULT", "queue-use", "PASS", "interrupts per queue:%s", list);
}

static void read_buffered(int fd, const struct params *p)
{
	unsigned char *buf = alloc_buf();
	uint64_t want, got;

	if (!buf || ioctl(fd, BLKFLSBUF, 0)) {
		result("VQT-RESULT", "read-buffered", "FAIL", "BLKFLSBUF: %s", strerror(errno));
		return;
	}
	for (uint64_t o = 0; o < DISK_SIZE; o += BUF_SIZE) {
		ssize_t r = pread(fd, buf, BUF_SIZE, o);
		long bad;

		if (r != (ssize_t)BUF_SIZE) {
			result("VQT-RESULT", "read-buffered", "FAIL", "pread at %" PRIu64 ": %s", o,
			       r < 0 ? strerror(errno) : "short read");
			free(buf);
			return;
		}
		for (uint64_t u = 0; u < BUF_SIZE; u += UNIT) {
			bad = pat_check(buf + u, o + u, UNIT, expected_seed(o + u, p), &want, &got);
			if (bad >= 0) {
				result("VQT-RESULT", "read-buffered", "FAIL",
				       "mismatch at byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64,
				       o + u + bad, want, got);
				free(buf);
				return;
			}
		}
	}
	result("VQT-RESULT", "read-buffered", "PASS", "64 MiB after BLKFLSBUF");
	free(buf);
}

/* After a discard, each sector reads back as the old data or as zeroes
 * (the device may do either); anything else is corruption. */
static int check_discarded(const unsigned char *buf, uint64_t off, size_t len, uint64_t seed,
			   uint64_t *nzero, uint64_t *bad_at)
{
	for (size_t s = 0; s < len; s += SECTOR) {
		uint64_t w, g;

		if (pat_check(buf + s, off + s, SECTOR, 0, &w, &g) < 0) {
			(*nzero)++;
			continue;
		}
		if (pat_check(buf + s, off + s, SECTOR, seed, &w, &g) >= 0) {
			*bad_at = off + s;
			return -1;
		}
	}
	return 0;
}

static void do_discard(int fd, const struct params *p)
{
	long long max = sysfs_num("/sys/block/vda/queue/discard_max_bytes");
	uint64_t range[2] = { DISCARD_START, HOLE_LEN }, nzero = 0, bad_at = 0;
	unsigned char *buf;

	if (max <= 0) {
		result("VQT-RESULT", "discard", "SKIP", "device offers no discard (discard_max_bytes=%lld)", max);
		return;
	}
	if (ioctl(fd, BLKDISCARD, range)) {
		result("VQT-RESULT", "discard", "FAIL", "BLKDISCARD: %s", strerror(errno));
		return;
	}
	buf = alloc_buf();
	if (!buf || pread(fd, buf, HOLE_LEN, DISCARD_START) != (ssize_t)HOLE_LEN) {
		result("VQT-RESULT", "discard", "FAIL", "read back: %s", strerror(errno));
		free(buf);
		return;
	}
	if (check_discarded(buf, DISCARD_START, HOLE_LEN, p->gseed, &nzero, &bad_at))
		result("VQT-RESULT", "discard", "FAIL",
		       "sector at byte %" PRIu64 " is neither old data nor zero", bad_at);
	else
		result("VQT-RESULT", "discard", "PASS", "4 MiB, %" PRIu64 " of %" PRIu64 " sectors read back as zero",
		       nzero, HOLE_LEN / SECTOR);
	free(buf);
}

/* Two ways to zero: BLKZEROOUT (write zeroes, blocks stay allocated) over
 * the first half, fallocate(PUNCH_HOLE) on the block device over the
 * second (write zeroes with the UNMAP flag; needs native support). */
static void do_zeroout(int fd)
{
	long long max = sysfs_num("/sys/block/vda/queue/write_zeroes_max_bytes");
	uint64_t half = HOLE_LEN / 2, range[2] = { ZERO_START, half }, want, got;
	char punch[80] = "";
	unsigned char *buf;
	long bad;

	if (ioctl(fd, BLKZEROOUT, range)) {
		result("VQT-RESULT", "write-zeroes", "FAIL", "BLKZEROOUT: %s", strerror(errno));
		return;
	}
	if (max > 0) {
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ZERO_START + half, half)) {
			result("VQT-RESULT", "write-zeroes", "FAIL", "fallocate(PUNCH_HOLE): %s", strerror(errno));
			return;
		}
		snprintf(punch, sizeof(punch), "BLKZEROOUT 2 MiB + PUNCH_HOLE (unmap) 2 MiB");
	} else {
		range[0] = ZERO_START + half;
		if (ioctl(fd, BLKZEROOUT, range)) {
			result("VQT-RESULT", "write-zeroes", "FAIL", "BLKZEROOUT: %s", strerror(errno));
			return;
		}
		snprintf(punch, sizeof(punch), "BLKZEROOUT 4 MiB");
	}
	buf = alloc_buf();
	if (!buf || pread(fd, buf, HOLE_LEN, ZERO_START) != (ssize_t)HOLE_LEN) {
		result("VQT-RESULT", "write-zeroes", "FAIL", "read back: %s", strerror(errno));
		free(buf);
		return;
	}
	bad = pat_check(buf, ZERO_START, HOLE_LEN, 0, &want, &got);
	if (bad >= 0)
		result("VQT-RESULT", "write-zeroes", "FAIL", "byte %" PRIu64 " reads %016" PRIx64 ", not zero",
		       ZERO_START + bad, got);
	else
		result("VQT-RESULT", "write-zeroes", "PASS", "%s (%s, write_zeroes_max_bytes=%lld)", punch,
		       max > 0 ? "native" : "kernel fallback", max);
	free(buf);
}

/* The serial comes from a VIRTIO_BLK_T_GET_ID request. */
static void check_serial(const struct params *p)
{
	char ser[64];
	int r = read_sysfs("/sys/block/vda/serial", ser, sizeof(ser));

	if (!p->serial[0])
		result("VQT-RESULT", "serial", "SKIP", "not checked (%s)", r ? strerror(-r) : ser);
	else if (r)
		result("VQT-RESULT", "serial", "FAIL", "GET_ID failed: %s", strerror(-r));
	else if (strcmp(ser, p->serial))
		result("VQT-RESULT", "serial", "FAIL", "serial '%s', want '%s'", ser, p->serial);
	else
		result("VQT-RESULT", "serial", "PASS", "'%s'", ser);
}

/* Read-only export: the guest sees a read-only disk, reads the host's
 * data, and every way of writing fails. */
static int ro_main(const char *dev)
{
	unsigned char *buf = alloc_buf();
	uint64_t rs = 7, range[2] = { 0, MiB };
	struct params p;
	char ro[16] = "?", err[300];
	int fd;

	elapsed();
	parse_cmdline(&p);
	check_serial(&p);
	read_sysfs("/sys/block/vda/ro", ro, sizeof(ro));
	if (strcmp(ro, "1"))
		result("VQT-RESULT", "ro-flag", "FAIL", "/sys/block/vda/ro is '%s', want 1", ro);
	else
		result("VQT-RESULT", "ro-flag", "PASS", "the guest sees a read-only disk");
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (!buf || fd < 0) {
		result("VQT-RESULT", "open", "FAIL", "%s: %s", dev, strerror(errno));
		return 1;
	}
	if (read_check(fd, buf, 0, DISK_SIZE, p.hseed, &rs, true, err, sizeof(err)))
		result("VQT-RESULT", "ro-read", "FAIL", "%s", err);
	else
		result("VQT-RESULT", "ro-read", "PASS", "64 MiB of host data read back");
	close(fd);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd >= 0) {
		memset(buf, 0xa5, 4096);
		if (pwrite(fd, buf, 4096, 0) >= 0)
			result("VQT-RESULT", "ro-write", "FAIL", "a 4 KiB write to the read-only disk succeeded");
		else
			result("VQT-RESULT", "ro-write", "PASS", "write refused: %s", strerror(errno));
		if (!ioctl(fd, BLKZEROOUT, range))
			result("VQT-RESULT", "ro-zeroout", "FAIL", "BLKZEROOUT on the read-only disk succeeded");
		else
			result("VQT-RESULT", "ro-zeroout", "PASS", "BLKZEROOUT refused: %s", strerror(errno));
		close(fd);
	} else {
		result("VQT-RESULT", "ro-write", "PASS", "open for writing refused: %s", strerror(errno));
	}
	free(buf);
	return nfail ? 1 : 0;
}

static int guest_main(const char *dev)
{
	struct params p;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), nq, fd;
	uint64_t size = 0;
	char wc[64] = "?";

	elapsed();
	parse_cmdline(&p);
	if (!p.gseed || !p.hseed) {
		result("VQT-RESULT", "params", "FAIL", "vqt.seed/vqt.hseed missing from the kernel command line");
		return 1;
	}
	if (ncpu < 1)
		ncpu = 1;
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		result("VQT-RESULT", "open", "FAIL", "%s: %s", dev, strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKGETSIZE64, &size) || (p.size && size != p.size) || size < DISK_SIZE) {
		result("VQT-RESULT", "size", "FAIL", "%s is %" PRIu64 " bytes, want %" PRIu64 " (>= %" PRIu64 ")",
		       dev, size, p.size, DISK_SIZE);
		return 1;
	}
	result("VQT-RESULT", "size", "PASS", "%" PRIu64 " bytes", size);
	check_features(&p);
	nq = count_queues();
	if (p.queues > 0 && nq != p.queues)
		result("VQT-RESULT", "queues", "FAIL", "guest sees %d queues, configured %d", nq, p.queues);
	else
		result("VQT-RESULT", "queues", "PASS", "%d queues, %d cpus", nq, ncpu);
	/* A device that reports write-through gets no flush requests at all.
	 * With VIRTIO_BLK_F_CONFIG_WCE the guest may switch it to write-back
	 * (virtio-blk writes the config field, the backend sees SET_CONFIG);
	 * then every fsync below sends VIRTIO_BLK_T_FLUSH. */
	check_serial(&p);
	read_sysfs("/sys/block/vda/queue/write_cache", wc, sizeof(wc));
	if (has_flush && strcmp(wc, "write back")) {
		int wfd = open("/sys/block/vda/cache_type", O_WRONLY);
		char now[64] = "?";

		if (wfd < 0 || write(wfd, "write back", 10) != 10)
			result("VQT-RESULT", "write-cache", "SKIP", "device is write through, cannot set write back: %s",
			       strerror(errno));
		if (wfd >= 0)
			close(wfd);
		read_sysfs("/sys/block/vda/queue/write_cache", now, sizeof(now));
		if (!strcmp(now, "write back"))
			result("VQT-RESULT", "write-cache", "PASS", "switched from %s to write back", wc);
		snprintf(wc, sizeof(wc), "%s", now);
	}
	/* The host's pattern must be visible before the guest writes. */
	{
		unsigned char *buf = alloc_buf();
		uint64_t rs = p.hseed | 1;
		char err[300];

		if (!buf)
			return 1;
		if (read_check(fd, buf, HOST1_START, HOST_LEN, p.hseed, &rs, false, err, sizeof(err)) ||
		    read_check(fd, buf, HOST2_START, HOST_LEN, p.hseed, &rs, true, err, sizeof(err)))
			result("VQT-RESULT", "host-data", "FAIL", "%s", err);
		else
			result("VQT-RESULT", "host-data", "PASS", "16 MiB written by the host read back");
		free(buf);
	}

	if (run_workers(dev, PH_WRITE, ncpu, &p))
		nfail++;
	else
		result("VQT-RESULT", "write", "PASS", "48 MiB, %d workers: buffered 4k, direct 512/4k/64k/128k/1m, direct vectored",
		       2 * ncpu);
	if (fsync(fd))
		result("VQT-RESULT", "flush", "FAIL", "fsync: %s", strerror(errno));
	else
		result("VQT-RESULT", "flush", "PASS", "fsync (write_cache: %s%s)", wc,
		       strcmp(wc, "write back") ? ", so no FLUSH request was sent" : "");
	if (run_workers(dev, PH_READ, ncpu, &p))
		nfail++;
	else
		result("VQT-RESULT", "read-direct", "PASS", "64 MiB, %d workers, random sizes, vectored and plain",
		       2 * ncpu);
	{
		int bfd = open(dev, O_RDWR);

		read_buffered(bfd, &p);
		close(bfd);
	}
	do_discard(fd, &p);
	do_zeroout(fd);
	if (fsync(fd) || ioctl(fd, BLKFLSBUF, 0))
		result("VQT-RESULT", "final-flush", "FAIL", "%s", strerror(errno));
	else
		result("VQT-RESULT", "final-flush", "PASS", "fsync + BLKFLSBUF");
	check_queue_use(nq);
	close(fd);
	return nfail ? 1 : 0;
}

/* After the driver was unloaded and loaded again (device reset, rings set
 * up from index 0 again): the whole disk still reads back as the guest
 * test left it, and writes still work (the same pattern is written again
 * over the first 8 MiB, so the host's check is unchanged). */
static int reload_main(const char *dev)
{
	unsigned char *buf = alloc_buf();
	uint64_t rs = 99, nzero = 0, bad_at = 0, want, got;
	struct params p;
	char err[300];
	int fd;

	elapsed();
	parse_cmdline(&p);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (!buf || fd < 0 || !p.gseed) {
		result("VQT-RESULT", "reload-open", "FAIL", "%s: %s", dev, strerror(errno));
		return 1;
	}
	for (uint64_t o = 0; o < DISK_SIZE; o += UNIT) {
		int r = 0;

		if (o >= DISCARD_START && o < DISCARD_START + HOLE_LEN) {
			if (pread(fd, buf, UNIT, o) != (ssize_t)UNIT) {
				snprintf(err, sizeof(err), "pread at %" PRIu64 ": %s", o, strerror(errno));
				r = -1;
			} else if (check_discarded(buf, o, UNIT, p.gseed, &nzero, &bad_at)) {
				snprintf(err, sizeof(err), "discarded sector at %" PRIu64 " holds garbage", bad_at);
				r = -1;
			}
		} else {
			r = read_check(fd, buf, o, UNIT,
				       o >= ZERO_START && o < ZERO_START + HOLE_LEN ? 0 : expected_seed(o, &p),
				       &rs, o & UNIT, err, sizeof(err));
		}
		if (r) {
			result("VQT-RESULT", "reload-read", "FAIL", "%s", err);
			return 1;
		}
	}
	result("VQT-RESULT", "reload-read", "PASS", "64 MiB as the test left it, after driver reload");
	for (uint64_t o = 0; o < 8 * MiB; o += 65536) {
		pat_fill(buf, o, 65536, p.gseed);
		if (pwrite(fd, buf, 65536, o) != 65536) {
			result("VQT-RESULT", "reload-write", "FAIL", "pwrite at %" PRIu64 ": %s", o, strerror(errno));
			return 1;
		}
	}
	if (fsync(fd)) {
		result("VQT-RESULT", "reload-write", "FAIL", "fsync: %s", strerror(errno));
		return 1;
	}
	for (uint64_t o = 0; o < 8 * MiB; o += BUF_SIZE) {
		long bad;

		if (pread(fd, buf, BUF_SIZE, o) != (ssize_t)BUF_SIZE) {
			result("VQT-RESULT", "reload-write", "FAIL", "read back at %" PRIu64 ": %s", o, strerror(errno));
			return 1;
		}
		bad = pat_check(buf, o, BUF_SIZE, p.gseed, &want, &got);
		if (bad >= 0) {
			result("VQT-RESULT", "reload-write", "FAIL", "byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64,
			       o + bad, want, got);
			return 1;
		}
	}
	result("VQT-RESULT", "reload-write", "PASS", "8 MiB written, flushed, read back");
	close(fd);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ demo */

static void sanitize(char *s, size_t len)
{
	s[len - 1] = 0;
	for (size_t i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '.';
}

static int demo_main(const char *dev)
{
	unsigned char *buf = alloc_buf();
	uint64_t size = 0;
	char msg[SECTOR];
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (!buf || fd < 0 || ioctl(fd, BLKGETSIZE64, &size)) {
		out("DEMO guest: cannot open %s: %s", dev, strerror(errno));
		return 1;
	}
	out("DEMO guest: %s is %" PRIu64 " bytes (%" PRIu64 " MiB), %d queue(s)", dev, size, size / MiB,
	    count_queues());
	if (pread(fd, buf, SECTOR, 0) != SECTOR) {
		out("DEMO guest: read of sector 0 failed: %s", strerror(errno));
		return 1;
	}
	memcpy(msg, buf, SECTOR);
	sanitize(msg, sizeof(msg));
	out("DEMO guest: sector 0 says: \"%s\"", msg);
	memset(buf, 0, SECTOR);
	snprintf((char *)buf, SECTOR, "hello host, the guest read %zu bytes of your message", strlen(msg));
	if (pwrite(fd, buf, SECTOR, SECTOR) != SECTOR || fsync(fd)) {
		out("DEMO guest: write of sector 1 failed: %s", strerror(errno));
		return 1;
	}
	memset(buf, 0, SECTOR);
	if (pread(fd, buf, SECTOR, SECTOR) != SECTOR) {
		out("DEMO guest: read back of sector 1 failed: %s", strerror(errno));
		return 1;
	}
	memcpy(msg, buf, SECTOR);
	sanitize(msg, sizeof(msg));
	out("DEMO guest: wrote sector 1 and read it back: \"%s\"", msg);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------- host side */

static int host_fill(const char *img, uint64_t hseed)
{
	unsigned char *buf = alloc_buf();
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (!buf || fd < 0) {
		fprintf(stderr, "blkcheck: cannot create %s: %s\n", img, strerror(errno));
		return 1;
	}
	for (uint64_t o = 0; o < DISK_SIZE; o += BUF_SIZE) {
		pat_fill(buf, o, BUF_SIZE, hseed);
		if (pwrite(fd, buf, BUF_SIZE, o) != (ssize_t)BUF_SIZE) {
			fprintf(stderr, "blkcheck: write to %s failed: %s\n", img, strerror(errno));
			return 1;
		}
	}
	if (fsync(fd) || close(fd)) {
		fprintf(stderr, "blkcheck: %s: %s\n", img, strerror(errno));
		return 1;
	}
	return 0;
}

static int host_verify(const char *img, uint64_t gseed, uint64_t hseed)
{
	static const struct {
		const char *name;
		uint64_t start, len;
		int kind;	/* 0 guest, 1 host, 2 discarded, 3 zero */
	} regions[] = {
		{ "guest-data", 0, 40 * MiB, 0 },
		{ "host-data-1", HOST1_START, HOST_LEN, 1 },
		{ "discarded", DISCARD_START, HOLE_LEN, 2 },
		{ "write-zeroes", ZERO_START, HOLE_LEN, 3 },
		{ "host-data-2", HOST2_START, HOST_LEN, 1 },
	};
	unsigned char *buf = malloc(40 * MiB);
	int fd = open(img, O_RDONLY);
	struct stat st;

	if (!buf || fd < 0 || fstat(fd, &st)) {
		result("HOST-RESULT", "image", "FAIL", "%s: %s", img, strerror(errno));
		return 1;
	}
	if ((uint64_t)st.st_size != DISK_SIZE)
		result("HOST-RESULT", "image", "FAIL", "size %lld, want %" PRIu64, (long long)st.st_size, DISK_SIZE);
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		uint64_t s = regions[i].start, l = regions[i].len, want, got, nzero = 0, bad_at;
		long bad = -1;

		if (pread(fd, buf, l, s) != (ssize_t)l) {
			result("HOST-RESULT", regions[i].name, "FAIL", "cannot read %s", img);
			continue;
		}
		switch (regions[i].kind) {
		case 2:
			if (check_discarded(buf, s, l, gseed, &nzero, &bad_at))
				result("HOST-RESULT", regions[i].name, "FAIL",
				       "sector at byte %" PRIu64 " is neither the guest's data nor zero", bad_at);
			else
				result("HOST-RESULT", regions[i].name, "PASS",
				       "%" PRIu64 " of %" PRIu64 " sectors zero in the image", nzero, l / SECTOR);
			continue;
		default:
			bad = pat_check(buf, s, l, regions[i].kind == 0 ? gseed :
					regions[i].kind == 1 ? hseed : 0, &want, &got);
		}
		if (bad >= 0)
			result("HOST-RESULT", regions[i].name, "FAIL",
			       "image byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64, s + bad, want, got);
		else
			result("HOST-RESULT", regions[i].name, "PASS", "%" PRIu64 " MiB as expected", l / MiB);
	}
	close(fd);
	free(buf);
	return nfail ? 1 : 0;
}

/* After a read-only boot the image still holds the host pattern only. */
static int host_verify_all(const char *img, uint64_t hseed)
{
	unsigned char *buf = malloc(DISK_SIZE);
	uint64_t want, got;
	int fd = open(img, O_RDONLY);
	long bad;

	if (!buf || fd < 0 || pread(fd, buf, DISK_SIZE, 0) != (ssize_t)DISK_SIZE) {
		result("HOST-RESULT", "image", "FAIL", "cannot read %s: %s", img, strerror(errno));
		return 1;
	}
	close(fd);
	bad = pat_check(buf, 0, DISK_SIZE, hseed, &want, &got);
	if (bad >= 0)
		result("HOST-RESULT", "unchanged", "FAIL", "image byte %ld changed: want %016" PRIx64 " got %016" PRIx64,
		       bad, want, got);
	else
		result("HOST-RESULT", "unchanged", "PASS", "64 MiB of host data untouched");
	free(buf);
	return nfail ? 1 : 0;
}

static int demo_prep(const char *img, const char *msg)
{
	char sec[SECTOR] = { 0 };
	int fd = open(img, O_RDWR | O_CREAT, 0644);

	snprintf(sec, sizeof(sec), "%s", msg);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) || pwrite(fd, sec, SECTOR, 0) != SECTOR || close(fd)) {
		fprintf(stderr, "blkcheck: cannot prepare %s: %s\n", img, strerror(errno));
		return 1;
	}
	return 0;
}

static int demo_show(const char *img)
{
	char sec[SECTOR];
	int fd = open(img, O_RDONLY);

	if (fd < 0 || pread(fd, sec, SECTOR, SECTOR) != SECTOR) {
		fprintf(stderr, "blkcheck: cannot read %s: %s\n", img, strerror(errno));
		return 1;
	}
	close(fd);
	sanitize(sec, sizeof(sec));
	out("DEMO host: sector 1 of the image says: \"%s\"", sec);
	return sec[0] ? 0 : 1;
}

/* --------------------------------------------------------- live migration */

/*
 * blkcheck migrate DEV: the guest half of tests/integration/linux-migrate.
 * One worker per queue (vqt.queues), each pinned to a CPU, owns an equal
 * share of 1 MiB slots in [0, 32 MiB).  Round k of worker w writes slot
 * k % nslots with a pattern seeded by (gseed, w, k) in 64 KiB O_DIRECT
 * writes, flushes, reads the slot back and checks it, and checks the slot
 * it will overwrite next (written rounds ago: before a migration, maybe).
 * It also reads the slot into one of two buffers the CPU never writes
 * and checks that buffer only in the next round: the bytes the device put
 * there reach the migration's destination only through the dirty log
 * (the guest's CPU never touches those pages, so nothing else marks them
 * dirty), and a round later the check may well run on the destination.
 * After each round it reads the control sector (the disk's last); when the
 * host has written "VQT-STOP" there, the worker verifies every slot it
 * wrote and prints "VQT-MIG-FINAL w=W rounds=N" for the host's check.
 */
#define MIG_AREA	(32 * MiB)
#define MIG_SLOT	MiB
#define MIG_CHUNK	(64 * 1024)
#define MIG_CTL		(DISK_SIZE - SECTOR)
#define MIG_MAX_ROUNDS	1000000ull
#define MIG_MAX_WORKERS	8

static uint64_t mig_seed(uint64_t gseed, int w, uint64_t round)
{
	uint64_t s = pat_word(gseed ^ 0x6d69677261746521ull,
			      (((uint64_t)w << 40) | round) * 8);

	return s ? s : 1;
}

static int mig_check_slot(int fd, unsigned char *buf, uint64_t off, uint64_t seed,
			  char *err, size_t errlen)
{
	uint64_t want, got;
	long bad;

	if (pread(fd, buf, MIG_SLOT, off) != (ssize_t)MIG_SLOT) {
		snprintf(err, errlen, "pread at %" PRIu64 ": %s", off, strerror(errno));
		return -1;
	}
	bad = pat_check(buf, off, MIG_SLOT, seed, &want, &got);
	if (bad >= 0) {
		snprintf(err, errlen, "byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64,
			 off + bad, want, got);
		return -1;
	}
	return 0;
}

static int mig_worker(const char *dev, int w, int nw, int ncpu, uint64_t gseed)
{
	int nslots = (int)(MIG_AREA / MIG_SLOT) / nw, first = w * nslots;
	int64_t last[32];
	unsigned char *buf = alloc_buf(), *dma[2] = { alloc_buf(), alloc_buf() };
	uint64_t k, dma_off[2] = { 0, 0 }, dma_seed[2] = { 0, 0 };
	char err[300], name[32];
	int fd;

	snprintf(name, sizeof(name), "migrate-w%d", w);
	pin_to(w % ncpu);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (!buf || !dma[0] || !dma[1] || fd < 0) {
		result("VQT-RESULT", name, "FAIL", "setup: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < nslots; i++)
		last[i] = -1;
	for (k = 0; k < MIG_MAX_ROUNDS; k++) {
		int slot = (int)(k % (uint64_t)nslots), next = (slot + 1) % nslots;
		uint64_t off = (uint64_t)(first + slot) * MIG_SLOT;
		uint64_t seed = mig_seed(gseed, w, k);

		for (uint64_t o = 0; o < MIG_SLOT; o += MIG_CHUNK) {
			pat_fill(buf, off + o, MIG_CHUNK, seed);
			if (pwrite(fd, buf, MIG_CHUNK, off + o) != MIG_CHUNK) {
				result("VQT-RESULT", name, "FAIL", "round %" PRIu64 ": pwrite at %" PRIu64 ": %s",
				       k, off + o, strerror(errno));
				return 1;
			}
		}
		if (fdatasync(fd)) {
			result("VQT-RESULT", name, "FAIL", "round %" PRIu64 ": flush: %s", k, strerror(errno));
			return 1;
		}
		last[slot] = (int64_t)k;
		if (mig_check_slot(fd, buf, off, seed, err, sizeof(err)) ||
		    (last[next] >= 0 &&
		     mig_check_slot(fd, buf, (uint64_t)(first + next) * MIG_SLOT,
				    mig_seed(gseed, w, (uint64_t)last[next]), err, sizeof(err)))) {
			result("VQT-RESULT", name, "FAIL", "round %" PRIu64 ": read back: %s", k, err);
			return 1;
		}
		/* The device-only buffers: fill one now, check the other,
		 * which the device filled a round ago. */
		if (pread(fd, dma[k & 1], MIG_SLOT, off) != (ssize_t)MIG_SLOT) {
			result("VQT-RESULT", name, "FAIL", "round %" PRIu64 ": pread: %s", k, strerror(errno));
			return 1;
		}
		dma_off[k & 1] = off;
		dma_seed[k & 1] = seed;
		if (k > 0) {
			uint64_t want, got;
			long bad = pat_check(dma[(k - 1) & 1], dma_off[(k - 1) & 1], MIG_SLOT,
					     dma_seed[(k - 1) & 1], &want, &got);

			if (bad >= 0) {
				result("VQT-RESULT", name, "FAIL", "round %" PRIu64 ": what the device read a round ago is not in guest memory now (byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64 ")",
				       k, dma_off[(k - 1) & 1] + bad, want, got);
				return 1;
			}
		}
		if (k % 8 == 0)
			out("VQT-MIG w=%d round=%" PRIu64, w, k);
		if (pread(fd, buf, SECTOR, MIG_CTL) == SECTOR && !memcmp(buf, "VQT-STOP", 8))
			break;
	}
	if (k == MIG_MAX_ROUNDS) {
		result("VQT-RESULT", name, "FAIL", "the host never said stop");
		return 1;
	}
	for (int i = 0; i < nslots; i++) {
		if (last[i] < 0)
			continue;
		if (mig_check_slot(fd, buf, (uint64_t)(first + i) * MIG_SLOT,
				   mig_seed(gseed, w, (uint64_t)last[i]), err, sizeof(err))) {
			result("VQT-RESULT", name, "FAIL", "final check of slot %d: %s", first + i, err);
			return 1;
		}
	}
	out("VQT-MIG-FINAL w=%d rounds=%" PRIu64, w, k + 1);
	result("VQT-RESULT", name, "PASS", "%" PRIu64 " rounds, every slot read back", k + 1);
	close(fd);
	return 0;
}

static int migrate_main(const char *dev)
{
	struct params p;
	int nw, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), bad = 0, st;
	pid_t pids[MIG_MAX_WORKERS];

	parse_cmdline(&p);
	nw = p.queues > 0 ? p.queues : 1;
	if (nw > MIG_MAX_WORKERS)
		nw = MIG_MAX_WORKERS;
	if (ncpu < 1)
		ncpu = 1;
	out("VQT-MIG start workers=%d", nw);
	for (int i = 0; i < nw; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(mig_worker(dev, i, nw, ncpu, p.gseed));
		if (pids[i] < 0)
			bad++;
	}
	for (int i = 0; i < nw; i++)
		if (pids[i] > 0 && (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
				    WEXITSTATUS(st)))
			bad++;
	return bad ? 1 : 0;
}

static int mig_stop(const char *img)
{
	char sec[SECTOR] = "VQT-STOP";
	int fd = open(img, O_RDWR);

	if (fd < 0 || pwrite(fd, sec, SECTOR, MIG_CTL) != SECTOR || fsync(fd) || close(fd)) {
		fprintf(stderr, "blkcheck: cannot write the stop sector of %s: %s\n", img,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ROUNDS: one count per worker, as VQT-MIG-FINAL said. */
static int host_verify_mig(const char *img, uint64_t gseed, uint64_t hseed, int nw,
			   char **rounds)
{
	unsigned char *buf = malloc(DISK_SIZE);
	int fd = open(img, O_RDONLY), nslots;
	uint64_t want, got;
	long bad;

	if (!buf || fd < 0 || pread(fd, buf, DISK_SIZE, 0) != (ssize_t)DISK_SIZE ||
	    nw < 1 || nw > MIG_MAX_WORKERS) {
		result("HOST-RESULT", "image", "FAIL", "cannot read %s: %s", img, strerror(errno));
		return 1;
	}
	close(fd);
	nslots = (int)(MIG_AREA / MIG_SLOT) / nw;
	for (int w = 0; w < nw; w++) {
		uint64_t n = parse_u64(rounds[w]);
		char name[32];
		int ok = 1;

		snprintf(name, sizeof(name), "migrate-w%d", w);
		for (int s = 0; s < nslots && ok; s++) {
			uint64_t off = (uint64_t)(w * nslots + s) * MIG_SLOT, seed = hseed;

			/* The last round k < n with k % nslots == s. */
			if (n > (uint64_t)s)
				seed = mig_seed(gseed, w, (uint64_t)s +
						(n - 1 - (uint64_t)s) / (uint64_t)nslots * (uint64_t)nslots);
			bad = pat_check(buf + off, off, MIG_SLOT, seed, &want, &got);
			if (bad >= 0) {
				result("HOST-RESULT", name, "FAIL", "image byte %" PRIu64 ": want %016" PRIx64
				       " got %016" PRIx64, off + bad, want, got);
				ok = 0;
			}
		}
		if (ok)
			result("HOST-RESULT", name, "PASS", "%" PRIu64 " rounds, %d slots as written last",
			       n, nslots);
	}
	bad = pat_check(buf + MIG_AREA, MIG_AREA, MIG_CTL - MIG_AREA, hseed, &want, &got);
	if (bad >= 0)
		result("HOST-RESULT", "untouched", "FAIL", "image byte %" PRIu64 " changed",
		       MIG_AREA + bad);
	else
		result("HOST-RESULT", "untouched", "PASS", "the rest of the image is the host's");
	free(buf);
	return nfail ? 1 : 0;
}

/* ------------------------------------------------------------ live resize */

static uint64_t dev_bytes(const char *dev)
{
	uint64_t b = 0;
	int fd = open(dev, O_RDONLY);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &b) < 0)
		b = 0;
	if (fd >= 0)
		close(fd);
	return b;
}

/*
 * blkcheck resize DEV: the guest half of tests/integration/linux-resize.
 * Says "VQT-RESIZE ready", waits (60 s at most) for the capacity to change
 * (the host grows the image and signals virtq-blk, which sends
 * CONFIG_CHANGE_MSG; QEMU interrupts the guest with a config change),
 * then writes the guest pattern over the new part, reads it back, and
 * checks that the old part still holds the host's pattern.
 */
static int resize_main(const char *dev)
{
	struct params p;
	uint64_t before = dev_bytes(dev), now = before;
	unsigned char *buf = alloc_buf();
	char err[300];
	long bad;
	int fd;

	parse_cmdline(&p);
	out("VQT-RESIZE ready size=%" PRIu64, before);
	for (int i = 0; i < 600 && now == before; i++) {
		usleep(100000);
		now = dev_bytes(dev);
	}
	if (now == before || now < before + MiB || !buf) {
		result("VQT-RESULT", "resize", "FAIL", "the capacity stayed %" PRIu64 " bytes", now);
		return 1;
	}
	out("VQT-RESIZE grown size=%" PRIu64, now);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		result("VQT-RESULT", "resize", "FAIL", "open: %s", strerror(errno));
		return 1;
	}
	for (uint64_t o = before; o < now; o += MiB) {
		uint64_t n = now - o < MiB ? now - o : MiB;

		pat_fill(buf, o, n, p.gseed);
		if (pwrite(fd, buf, n, o) != (ssize_t)n) {
			result("VQT-RESULT", "resize", "FAIL", "pwrite at %" PRIu64 " (past the old end): %s",
			       o, strerror(errno));
			return 1;
		}
	}
	if (fsync(fd)) {
		result("VQT-RESULT", "resize", "FAIL", "flush: %s", strerror(errno));
		return 1;
	}
	for (uint64_t o = 0; o < now; o += MiB) {
		uint64_t n = now - o < MiB ? now - o : MiB, rs = o | 1;

		if (read_check(fd, buf, o, n, o < before ? p.hseed : p.gseed, &rs, false,
			       err, sizeof(err))) {
			result("VQT-RESULT", "resize", "FAIL", "read back: %s", err);
			return 1;
		}
	}
	/* Nothing past the new end. */
	bad = pread(fd, buf, SECTOR, now);
	close(fd);
	if (bad != 0) {
		result("VQT-RESULT", "resize", "FAIL", "a read past the new end returned %ld", bad);
		return 1;
	}
	result("VQT-RESULT", "resize", "PASS", "%" PRIu64 " -> %" PRIu64 " bytes; the new part written and read back",
	       before, now);
	return 0;
}

static int host_verify_resize(const char *img, uint64_t gseed, uint64_t hseed, uint64_t size)
{
	unsigned char *buf = malloc(size);
	int fd = open(img, O_RDONLY);
	uint64_t want, got;
	long bad;

	if (!buf || fd < 0 || pread(fd, buf, size, 0) != (ssize_t)size) {
		result("HOST-RESULT", "image", "FAIL", "cannot read %" PRIu64 " bytes of %s", size, img);
		return 1;
	}
	close(fd);
	bad = pat_check(buf, 0, DISK_SIZE, hseed, &want, &got);
	if (bad >= 0)
		result("HOST-RESULT", "old-part", "FAIL", "image byte %ld changed", bad);
	else
		result("HOST-RESULT", "old-part", "PASS", "64 MiB of host data untouched");
	bad = pat_check(buf + DISK_SIZE, DISK_SIZE, size - DISK_SIZE, gseed, &want, &got);
	if (bad >= 0)
		result("HOST-RESULT", "new-part", "FAIL", "image byte %" PRIu64 ": want %016" PRIx64 " got %016" PRIx64,
		       DISK_SIZE + bad, want, got);
	else
		result("HOST-RESULT", "new-part", "PASS", "%" PRIu64 " MiB the guest wrote past the old end",
		       (size - DISK_SIZE) / MiB);
	free(buf);
	return nfail ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: blkcheck guest|reload|ro|demo DEV | fill IMG HSEED | verify IMG GSEED HSEED |\n"
			"       verify-host IMG HSEED | demo-prep IMG MSG | demo-show IMG |\n"
			"       migrate DEV | mig-stop IMG | verify-mig IMG GSEED HSEED ROUNDS... |\n"
			"       resize DEV | verify-resize IMG GSEED HSEED SIZE\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "guest"))
		return guest_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "reload"))
		return reload_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ro"))
		return ro_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "demo"))
		return demo_main(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return host_fill(argv[2], parse_u64(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "verify"))
		return host_verify(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "verify-host"))
		return host_verify_all(argv[2], parse_u64(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "demo-prep"))
		return demo_prep(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "demo-show"))
		return demo_show(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "migrate"))
		return migrate_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mig-stop"))
		return mig_stop(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "resize"))
		return resize_main(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "verify-resize"))
		return host_verify_resize(argv[2], parse_u64(argv[3]), parse_u64(argv[4]),
					  parse_u64(argv[5]));
	if (argc >= 6 && !strcmp(argv[1], "verify-mig"))
		return host_verify_mig(argv[2], parse_u64(argv[3]), parse_u64(argv[4]),
				       argc - 5, argv + 5);
	return usage();
}
