/* SPDX-License-Identifier: MIT */
/*
 * demo-shm: a driver process and a device process share one memory mapping
 * and move verified chains through a split virtqueue.
 *
 * The parent is the driver: it offers chains of a request header (device-
 * readable) and a response buffer (device-writable), kicks through an
 * eventfd and sleeps on the call eventfd.  The child is the device: it maps
 * the same memory as "guest memory", pops each chain, checks the request's
 * checksum, writes a response that echoes the request's sequence number and
 * checksum, and interrupts only when the driver asked (EVENT_IDX).  The
 * driver checks every response.  Both print what moved and how fast.
 *
 * Usage: demo-shm [CHAINS] [QUEUE_SIZE]      (defaults 200000 and 256)
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <virtq/device.h>
#include <virtq/driver.h>
#include <virtq/gmem.h>

#define GPA_BASE	0x100000ull
#define PAYLOAD		200

struct request {
	uint64_t seq;
	uint32_t sum;
	uint8_t payload[PAYLOAD];
};

struct response {
	uint64_t seq;
	uint32_t sum;
	uint8_t status;
};

struct slot {
	struct request req;
	struct response resp;
};

struct shm {
	uint8_t *base;
	size_t len;
	uint32_t num;
	size_t off_avail, off_used, off_ind, off_slots;
	int kick, call;
};

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;

	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wait_event(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("read eventfd");
}

static void signal_event(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("write eventfd");
}

/* ---- the device process ------------------------------------------------ */

static int device(struct shm *m, uint64_t chains)
{
	struct virtq_gmem *gm;
	struct virtq_gmem_region r = { .gpa = GPA_BASE, .size = m->len, .hva = m->base };
	uint64_t features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	struct virtq_device_config cfg = {
		.num = m->num, .features = features,
		.desc_addr = GPA_BASE, .avail_addr = GPA_BASE + m->off_avail,
		.used_addr = GPA_BASE + m->off_used,
	};
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };
	uint64_t served = 0, bad = 0, interrupts = 0;
	struct virtq_device *vq;
	int ret;

	if (virtq_gmem_create(&gm) || virtq_gmem_add(gm, &r))
		return 1;
	cfg.gmem = gm;
	vq = malloc(virtq_device_mem_size());
	if (!vq || (ret = virtq_device_init(vq, virtq_device_mem_size(), &cfg))) {
		fprintf(stderr, "device: init failed\n");
		return 1;
	}
	virtq_device_disable_notify(vq);
	while (served < chains) {
		while ((ret = virtq_device_pop(vq, &c)) != 0) {
			struct request req;
			struct response resp = { 0 };

			if (ret == -EIO) {
				fprintf(stderr, "device: driver broke the ring\n");
				return 1;
			}
			/* A well-formed request: 1 readable, 1 writable iovec. */
			if (ret < 0 || c.out_len != sizeof(req) ||
			    c.in_len < sizeof(resp) || c.n_out != 1 || c.n_in != 1) {
				bad++;
				if (c.head < virtq_device_size(vq))
					virtq_device_push(vq, c.head, 0);
				continue;
			}
			memcpy(&req, iov[0].iov_base, sizeof(req));
			resp.seq = req.seq;
			resp.sum = checksum(req.payload, PAYLOAD);
			resp.status = resp.sum == req.sum ? 0 : 1;
			memcpy(iov[1].iov_base, &resp, sizeof(resp));
			virtq_device_push(vq, c.head, sizeof(resp));
			served++;
		}
		virtq_device_flush(vq);
		if (virtq_device_need_interrupt(vq)) {
			signal_event(m->call);
			interrupts++;
		}
		if (served < chains && virtq_device_enable_notify(vq))
			wait_event(m->kick);
		virtq_device_disable_notify(vq);
	}
	printf("device: served %" PRIu64 " chains, %" PRIu64 " malformed, "
	       "%" PRIu64 " interrupts\n", served, bad, interrupts);
	free(vq);
	virtq_gmem_destroy(gm);
	return bad ? 1 : 0;
}

/* ---- the driver process ------------------------------------------------ */

static uint64_t translate(void *opaque, const void *addr, size_t len,
			  size_t *mapped)
{
	struct shm *m = opaque;
	const uint8_t *p = addr;

	if (p < m->base || p + len > m->base + m->len)
		return VIRTQ_ADDR_INVALID;
	*mapped = len;
	return GPA_BASE + (uint64_t)(p - m->base);
}

static int kick_device(void *opaque, uint16_t queue_index)
{
	(void)queue_index;
	signal_event(((struct shm *)opaque)->kick);
	return 0;
}

static int driver(struct shm *m, uint64_t chains)
{
	struct slot *slots = (struct slot *)(m->base + m->off_slots);
	uint64_t features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	struct virtq_driver_config cfg = {
		.num = m->num, .features = features,
		.desc = (void *)m->base,
		.avail = (void *)(m->base + m->off_avail),
		.used = (void *)(m->base + m->off_used),
		.indirect = m->base + m->off_ind, .indirect_max = 2,
		.notify = kick_device, .translate = translate, .opaque = m,
	};
	size_t len = virtq_driver_mem_size(m->num);
	struct virtq_driver *vq = aligned_alloc(64, (len + 63) & ~(size_t)63);
	uint64_t sent = 0, done = 0, bad = 0, kicks = 0;
	uint32_t *free_slots = malloc(m->num * sizeof(*free_slots));
	uint32_t nfree = m->num;
	int ret;

	if (!vq || !free_slots || (ret = virtq_driver_init(vq, len, &cfg))) {
		fprintf(stderr, "driver: init failed\n");
		return 1;
	}
	for (uint32_t i = 0; i < m->num; i++)
		free_slots[i] = i;
	virtq_driver_disable_cb(vq);
	while (done < chains) {
		while (sent < chains && nfree) {
			uint32_t i = free_slots[--nfree];
			struct slot *s = &slots[i];
			struct virtq_sg out = { &s->req, sizeof(s->req) };
			struct virtq_sg in = { &s->resp, sizeof(s->resp) };

			s->req.seq = sent;
			for (int k = 0; k < PAYLOAD; k++)
				s->req.payload[k] = (uint8_t)(sent * 7 + k * 13);
			s->req.sum = checksum(s->req.payload, PAYLOAD);
			memset(&s->resp, 0xff, sizeof(s->resp));
			if ((ret = virtq_driver_add(vq, &out, 1, &in, 1, s))) {
				fprintf(stderr, "driver: add: %s\n", strerror(-ret));
				return 1;
			}
			sent++;
		}
		if (virtq_driver_kick(vq) > 0)
			kicks++;

		void *tok;
		uint32_t used_len;
		int got = 0;

		while ((ret = virtq_driver_get_used(vq, &tok, &used_len)) == 1) {
			struct slot *s = tok;

			if (used_len != sizeof(s->resp) || s->resp.seq != s->req.seq ||
			    s->resp.sum != s->req.sum || s->resp.status != 0)
				bad++;
			free_slots[nfree++] = (uint32_t)(s - slots);
			done++;
			got++;
		}
		if (ret < 0) {
			fprintf(stderr, "driver: device broke the ring\n");
			return 1;
		}
		if (!got && (sent == chains || !nfree)) {
			if (virtq_driver_enable_cb(vq))
				wait_event(m->call);
			virtq_driver_disable_cb(vq);
		}
	}
	printf("driver: %" PRIu64 " chains verified, %" PRIu64 " bad, "
	       "%" PRIu64 " kicks\n", done, bad, kicks);
	free(free_slots);
	free(vq);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t chains = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	uint32_t num = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 256;
	struct shm m = { .num = num };
	int status;

	if (argc > 3 || !chains || !virtq_size_valid(num)) {
		fprintf(stderr, "usage: %s [CHAINS > 0] [QUEUE_SIZE: power of two 1..32768]\n",
			argv[0]);
		return 2;
	}
	m.off_avail = virtq_desc_size(num);
	m.off_used = virtq_align_up(m.off_avail + virtq_avail_size(num), 4);
	m.off_ind = virtq_align_up(m.off_used + virtq_used_size(num), 16);
	m.off_slots = virtq_align_up(m.off_ind + virtq_driver_indirect_size(num, 2), 64);
	m.len = m.off_slots + (size_t)num * sizeof(struct slot);
	m.base = mmap(NULL, m.len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m.kick = eventfd(0, 0);
	m.call = eventfd(0, 0);
	if (m.base == MAP_FAILED || m.kick < 0 || m.call < 0) {
		perror("demo-shm: setup");
		return 1;
	}

	double t0 = now();
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		int dev_ret = device(&m, chains);

		fflush(NULL);	/* _exit does not flush stdio */
		_exit(dev_ret);
	}
	int ret = driver(&m, chains);

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ret = 1;
	double secs = now() - t0;

	printf("demo-shm: %" PRIu64 " chains over a queue of %u: %.1f MB to the "
	       "device, %.1f MB back, %.3f s, %.0f chains/s: %s\n", chains, num,
	       chains * (double)sizeof(struct request) / 1e6,
	       chains * (double)sizeof(struct response) / 1e6, secs,
	       chains / secs, ret ? "FAILED" : "all verified");
	return ret;
}
