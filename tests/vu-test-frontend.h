/* SPDX-License-Identifier: MIT */
/*
 * vu-test-frontend.h - a tiny vhost-user frontend for the backend tests:
 * memfd guest memory, negotiation, ring setup with the driver side, one
 * request at a time.  Every message that has no reply of its own is sent
 * with NEED_REPLY (REPLY_ACK is negotiated), so each step is synchronous
 * and a connection closed by the backend shows up at the step that caused
 * it.
 */
#ifndef VU_TEST_FRONTEND_H
#define VU_TEST_FRONTEND_H

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "virtq/driver.h"
#include "virtq/vhost_user.h"
#include "vhost-user/msg.h"

#define TFE_GPA_BASE	0x40000000ull	/* guest address of the memory */
#define TFE_MAX_Q	4
#define TFE_TIMEOUT_MS	10000

struct tfe_queue {
	struct virtq_driver *drv;
	uint32_t num;
	int kick, call;
	void *desc, *avail, *used;
};

struct tfe {
	int sock;
	int memfd;
	char *mem;
	size_t mem_size, bump;
	/* An optional second region (ADD_MEM_REG tests). */
	int memfd2;
	char *mem2;
	size_t mem2_size;
	uint64_t gpa2;
	uint64_t features, proto;
	struct tfe_queue q[TFE_MAX_Q];
};

/* Entries of a /proc directory: open fds, threads. */
static inline int tfe_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline int tfe_count_fds(void)
{
	return tfe_count_dir("/proc/self/fd");
}

/* Mappings of memfds whose name contains @name in this process. */
static inline int tfe_count_maps(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			n++;
	fclose(f);
	return n;
}

/*
 * Run @argv[0] (a program of the build) in a child that dies with this
 * process, so a failed CHECK leaves nothing running; test_execv() adds
 * $TEST_WRAPPER for cross runs.
 */
static inline pid_t tfe_spawn(char *const argv[])
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		test_execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static inline int tfe_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	for (int i = 0; i < 500; i++) {	/* the backend may still be starting */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(10000);
	}
	fprintf(stderr, "cannot connect to %s: %s\n", path, strerror(errno));
	exit(1);
}

/* Guest memory: a memfd of @size bytes at TFE_GPA_BASE. */
static inline void tfe_init(struct tfe *fe, const char *path, size_t size)
{
	memset(fe, 0, sizeof(*fe));
	fe->memfd2 = -1;
	for (int i = 0; i < TFE_MAX_Q; i++)
		fe->q[i].kick = fe->q[i].call = -1;
	fe->memfd = memfd_create("vu-test-guest", MFD_CLOEXEC);
	CHECK(fe->memfd >= 0);
	CHECK(ftruncate(fe->memfd, (off_t)size) == 0);
	fe->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
	CHECK(fe->mem != MAP_FAILED);
	fe->mem_size = size;
	fe->sock = path ? tfe_connect(path) : -1;
}

/*
 * The optional second region: a memfd named @name of @size bytes, mapped
 * (fe->mem2, fe->memfd2); the test sets fe->gpa2 and sends ADD_MEM_REG.
 * tfe_close() unmaps and closes it.
 */
static inline void tfe_mem2(struct tfe *fe, const char *name, size_t size)
{
	fe->mem2_size = size;
	fe->memfd2 = memfd_create(name, MFD_CLOEXEC);
	CHECK(fe->memfd2 >= 0);
	CHECK_EQ(ftruncate(fe->memfd2, (off_t)size), 0);
	fe->mem2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			fe->memfd2, 0);
	CHECK(fe->mem2 != MAP_FAILED);
}

static inline void tfe_close(struct tfe *fe)
{
	if (fe->mem2)
		munmap(fe->mem2, fe->mem2_size);
	if (fe->memfd2 >= 0)
		close(fe->memfd2);
	fe->mem2 = NULL;
	fe->memfd2 = -1;
	for (int i = 0; i < TFE_MAX_Q; i++) {
		if (fe->q[i].kick >= 0)
			close(fe->q[i].kick);
		if (fe->q[i].call >= 0)
			close(fe->q[i].call);
		fe->q[i].kick = fe->q[i].call = -1;
		free(fe->q[i].drv);
		fe->q[i].drv = NULL;
	}
	if (fe->sock >= 0)
		close(fe->sock);
	munmap(fe->mem, fe->mem_size);
	close(fe->memfd);
	fe->sock = -1;
}

static inline void *tfe_alloc(struct tfe *fe, size_t size, size_t align)
{
	size_t off = (fe->bump + align - 1) & ~(align - 1);

	CHECK(off + size <= fe->mem_size);
	fe->bump = off + size;
	memset(fe->mem + off, 0, size);
	return fe->mem + off;
}

static inline uint64_t tfe_gpa(struct tfe *fe, const void *p)
{
	return TFE_GPA_BASE + (uint64_t)((const char *)p - fe->mem);
}

static uint64_t tfe_translate(void *opaque, const void *addr, size_t len,
			      size_t *mapped)
{
	struct tfe *fe = opaque;
	const char *p = addr;

	*mapped = len;
	if (fe->mem2 && p >= fe->mem2 && p + len <= fe->mem2 + fe->mem2_size)
		return fe->gpa2 + (uint64_t)(p - fe->mem2);
	if (p < fe->mem || p + len > fe->mem + fe->mem_size)
		return VIRTQ_ADDR_INVALID;
	return tfe_gpa(fe, p);
}

/* Send a request; returns 0 or -errno. */
static inline int tfe_send(struct tfe *fe, uint32_t req, uint32_t flags,
			   const void *payload, uint32_t size, const int *fds,
			   unsigned int nfds)
{
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = flags ? flags : VU_VERSION;
	m.hdr.size = size;
	if (size)
		memcpy(&m.p, payload, size);
	return __virtq_vu_send(fe->sock, &m, fds, nfds);
}

/* Wait for a reply to @req; returns 0 or -errno (-ECONNRESET: closed). */
static inline int tfe_recv(struct tfe *fe, uint32_t req, struct vu_msg *m)
{
	int r = __virtq_vu_recv(fe->sock, m, TFE_TIMEOUT_MS);

	if (r < 0)
		return r;
	__virtq_vu_msg_close_fds(m);
	if (m->hdr.request != req || !(m->hdr.flags & VU_FLAG_REPLY))
		return -EBADMSG;
	return 0;
}

static inline int tfe_recv_fds(struct tfe *fe, uint32_t req, struct vu_msg *m)
{
	int r = __virtq_vu_recv(fe->sock, m, TFE_TIMEOUT_MS);

	if (r < 0)
		return r;
	if (m->hdr.request != req || !(m->hdr.flags & VU_FLAG_REPLY)) {
		__virtq_vu_msg_close_fds(m);
		return -EBADMSG;
	}
	return 0;
}

/* A GET_* with a u64 reply. */
static inline uint64_t tfe_get_u64(struct tfe *fe, uint32_t req)
{
	struct vu_msg m;

	CHECK_EQ(tfe_send(fe, req, 0, NULL, 0, NULL, 0), 0);
	CHECK_EQ(tfe_recv(fe, req, &m), 0);
	CHECK_EQ(m.hdr.size, 8);
	return m.p.u64;
}

/* A request acknowledged through REPLY_ACK; returns the ack value or -errno. */
static inline int64_t tfe_acked(struct tfe *fe, uint32_t req, const void *payload,
				uint32_t size, const int *fds, unsigned int nfds)
{
	struct vu_msg m;
	int r;

	r = tfe_send(fe, req, VU_VERSION | VU_FLAG_NEED_REPLY, payload, size, fds,
		     nfds);
	if (r < 0)
		return r;
	r = tfe_recv(fe, req, &m);
	if (r < 0)
		return r;
	CHECK_EQ(m.hdr.size, 8);
	return (int64_t)m.p.u64;
}

#define TFE_OK(expr) CHECK_EQ((expr), 0)

static inline void tfe_set_u64(struct tfe *fe, uint32_t req, uint64_t v)
{
	TFE_OK(tfe_acked(fe, req, &v, sizeof(v), NULL, 0));
}

static inline void tfe_vring(struct tfe *fe, uint32_t req, uint32_t index,
			     uint32_t num)
{
	struct vu_vring_state st = { .index = index, .num = num };

	TFE_OK(tfe_acked(fe, req, &st, sizeof(st), NULL, 0));
}

/* The region describing our guest memory. */
static inline struct vu_mem_region tfe_region(struct tfe *fe)
{
	return (struct vu_mem_region){
		.guest_phys_addr = TFE_GPA_BASE,
		.memory_size = fe->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)fe->mem,
		.mmap_offset = 0,
	};
}

/*
 * Features, protocol features (REPLY_ACK first so the rest is acked),
 * owner, memory table.  @want: device features to accept if offered.
 */
static inline void tfe_negotiate(struct tfe *fe, uint64_t want)
{
	uint64_t offered, poffered;
	struct vu_mem_table mt = { .nregions = 1 };

	offered = tfe_get_u64(fe, VU_GET_FEATURES);
	CHECK(offered & (1ull << VU_F_PROTOCOL_FEATURES));
	poffered = tfe_get_u64(fe, VU_GET_PROTOCOL_FEATURES);
	CHECK(poffered & (1ull << VU_PROTOCOL_F_REPLY_ACK));
	fe->proto = poffered;
	CHECK_EQ(tfe_send(fe, VU_SET_PROTOCOL_FEATURES, 0, &fe->proto, 8, NULL, 0), 0);
	fe->features = offered & (want | (1ull << VU_F_PROTOCOL_FEATURES));
	tfe_set_u64(fe, VU_SET_FEATURES, fe->features);
	TFE_OK(tfe_acked(fe, VU_SET_OWNER, NULL, 0, NULL, 0));
	mt.regions[0] = tfe_region(fe);
	TFE_OK(tfe_acked(fe, VU_SET_MEM_TABLE, &mt, 8 + 32, &fe->memfd, 1));
}

/*
 * Give queue @i's rings to the backend (fresh kick / call eventfds), the
 * next avail index being @base, and enable it.
 */
static inline void tfe_queue_send(struct tfe *fe, unsigned int i, uint32_t base)
{
	struct tfe_queue *q = &fe->q[i];
	struct vu_vring_addr a = { .index = i };
	uint64_t v = i;

	if (q->kick >= 0)
		close(q->kick);
	if (q->call >= 0)
		close(q->call);
	q->kick = eventfd(0, EFD_CLOEXEC);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(q->kick >= 0 && q->call >= 0);
	tfe_vring(fe, VU_SET_VRING_NUM, i, q->num);
	tfe_vring(fe, VU_SET_VRING_BASE, i, base);
	a.desc_user_addr = (uint64_t)(uintptr_t)q->desc;
	a.avail_user_addr = (uint64_t)(uintptr_t)q->avail;
	a.used_user_addr = (uint64_t)(uintptr_t)q->used;
	TFE_OK(tfe_acked(fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
	TFE_OK(tfe_acked(fe, VU_SET_VRING_CALL, &v, 8, &q->call, 1));
	TFE_OK(tfe_acked(fe, VU_SET_VRING_KICK, &v, 8, &q->kick, 1));
	tfe_vring(fe, VU_SET_VRING_ENABLE, i, 1);
}

/* Rings for queue @i of @num entries, driven by the driver side. */
static inline void tfe_queue(struct tfe *fe, unsigned int i, uint32_t num)
{
	struct tfe_queue *q = &fe->q[i];
	struct virtq_driver_config cfg = {
		.num = num,
		.features = fe->features & (VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
					    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)),
		.translate = tfe_translate,
		.opaque = fe,
	};

	CHECK(i < TFE_MAX_Q);
	cfg.desc = tfe_alloc(fe, virtq_desc_size(num), 16);
	cfg.avail = tfe_alloc(fe, virtq_avail_size(num), 2);
	cfg.used = tfe_alloc(fe, virtq_used_size(num), 4);
	q->drv = malloc(virtq_driver_mem_size(num));
	CHECK(q->drv);
	/* No notify hook: tfe_request() kicks the eventfd itself. */
	CHECK_EQ(virtq_driver_init(q->drv, virtq_driver_mem_size(num), &cfg), 0);
	q->num = num;
	q->desc = cfg.desc;
	q->avail = cfg.avail;
	q->used = cfg.used;
	tfe_queue_send(fe, i, 0);
}

static int tfe_token;

/* Offer one chain on queue @i (token &tfe_token) and kick if wanted. */
static inline void tfe_offer(struct tfe *fe, unsigned int i,
			     const struct virtq_sg *out, unsigned int n_out,
			     const struct virtq_sg *in, unsigned int n_in)
{
	struct tfe_queue *q = &fe->q[i];

	CHECK_EQ(virtq_driver_add(q->drv, out, n_out, in, n_in, &tfe_token), 0);
	if (virtq_driver_kick_prepare(q->drv))
		CHECK_EQ(eventfd_write(q->kick, 1), 0);
}

/*
 * Wait up to @ms for the chain offered on queue @i to come back.  Returns
 * the used length, or -ETIMEDOUT.
 */
static inline int64_t tfe_wait(struct tfe *fe, unsigned int i, int ms)
{
	struct tfe_queue *q = &fe->q[i];
	void *tok;
	uint32_t len;

	for (int waited = 0; waited < ms; waited += 10) {
		int r = virtq_driver_get_used(q->drv, &tok, &len);

		CHECK(r >= 0);
		if (r == 1) {
			CHECK(tok == &tfe_token);
			return len;
		}
		struct pollfd p = { .fd = q->call, .events = POLLIN };

		if (poll(&p, 1, 10) > 0) {
			eventfd_t v;

			(void)eventfd_read(q->call, &v);
		}
	}
	return -ETIMEDOUT;
}

/*
 * Offer one chain on queue @i and wait until it comes back.  Returns the
 * used length, or -ETIMEDOUT.
 */
static inline int64_t tfe_request(struct tfe *fe, unsigned int i,
				  const struct virtq_sg *out, unsigned int n_out,
				  const struct virtq_sg *in, unsigned int n_in)
{
	tfe_offer(fe, i, out, n_out, in, n_in);
	return tfe_wait(fe, i, TFE_TIMEOUT_MS);
}

/*
 * One echo round trip on queue @i: @text with its NUL from @out (guest
 * memory) into @in (16 bytes of guest memory); the used length must be
 * the text's and the text must come back.
 */
static inline void tfe_echo(struct tfe *fe, unsigned int i, char *out,
			    char *in, const char *text)
{
	size_t n = strlen(text) + 1;
	struct virtq_sg o = { out, (uint32_t)n }, w = { in, 16 };

	CHECK(n <= 16);
	memcpy(out, text, n);
	CHECK_EQ(tfe_request(fe, i, &o, 1, &w, 1), n);
	CHECK(!memcmp(in, text, n));
}

/* True once the backend has closed the connection (within the timeout). */
static inline bool tfe_closed_by_peer(struct tfe *fe)
{
	struct vu_msg m;
	int r = __virtq_vu_recv(fe->sock, &m, TFE_TIMEOUT_MS);

	if (r == 0)
		__virtq_vu_msg_close_fds(&m);
	return r == -ECONNRESET;
}

#endif /* VU_TEST_FRONTEND_H */
