/* SPDX-License-Identifier: MIT */
/*
 * vu.h - a vhost-user frontend for the backend fuzz targets, in the
 * fuzzer's own thread: one end of a socketpair goes to the backend
 * (virtq_vu_backend_set_conn_fd), each message is written whole and then
 * virtq_vu_backend_dispatch() handles it, replies are drained without
 * waiting.  Guest memory is one memfd (created once, its contents reset
 * per input), kick / call fds are fresh eventfds per input.  Leaks are
 * counted: open fds (/proc/self/fd) and mappings of our memfds
 * (/proc/self/maps) must be back to the baseline once a connection is gone.
 */
#ifndef VIRTQ_FUZZ_VU_H
#define VIRTQ_FUZZ_VU_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtq/vhost_user.h"
#include "vhost-user/msg.h"

#define VU_GPA		0x40000000ull
#define VU_MEM_SIZE	(256u << 10)
#define VU_MEMFD_NAME	"fuzz-vu-guest"

struct vu {
	int memfd, memfd2;	/* guest memory; a second one (inflight, ADD_MEM_REG) */
	char *mem;
	int sock;		/* our end, or -1 */
	int kick[2], call[2];	/* per queue, this input's */
	int base_fds, base_maps;
};

/*
 * Open fds of the kinds the backend is given or makes: sockets, eventfds
 * and other anonymous inodes, memfds, /dev/null.  (Not regular files:
 * libFuzzer's own thread opens /proc files now and then.)
 */
static inline int vu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FUZZ_CHECK(d);
	while ((e = readdir(d))) {
		char p[300], t[256];
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		k = readlink(p, t, sizeof(t) - 1);
		if (k <= 0)
			continue;
		t[k] = 0;
		if (!strncmp(t, "socket:", 7) || !strncmp(t, "anon_inode:", 11) ||
		    strstr(t, "memfd:") || !strcmp(t, "/dev/null"))
			n++;
	}
	closedir(d);
	return n;
}

static inline void vu_dump_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[300], t[256];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = 0;
		fprintf(stderr, "fd %s -> %s\n", e->d_name, t);
	}
	if (d)
		closedir(d);
}

static inline int vu_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	FUZZ_CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, VU_MEMFD_NAME))
			n++;
	fclose(f);
	return n;
}

static inline void vu_once(struct vu *v)
{
	v->memfd = memfd_create(VU_MEMFD_NAME, MFD_CLOEXEC);
	v->memfd2 = memfd_create(VU_MEMFD_NAME "-2", MFD_CLOEXEC);
	FUZZ_CHECK(v->memfd >= 0 && v->memfd2 >= 0);
	FUZZ_CHECK(ftruncate(v->memfd, VU_MEM_SIZE) == 0);
	FUZZ_CHECK(ftruncate(v->memfd2, VU_MEM_SIZE) == 0);
	v->mem = mmap(NULL, VU_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->memfd, 0);
	FUZZ_CHECK(v->mem != MAP_FAILED);
	v->sock = -1;
	for (int i = 0; i < 2; i++)
		v->kick[i] = v->call[i] = -1;
	v->base_fds = vu_count_fds();
	v->base_maps = vu_count_maps();
}

/* A new connection for @be, fresh eventfds, memory cleared. */
static inline void vu_connect(struct vu *v, struct virtq_vu_backend *be)
{
	int sv[2];

	memset(v->mem, 0, VU_MEM_SIZE);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_EQ(virtq_vu_backend_set_conn_fd(be, sv[0]), 0);
	v->sock = sv[1];
	for (int i = 0; i < 2; i++) {
		v->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		FUZZ_CHECK(v->kick[i] >= 0 && v->call[i] >= 0);
	}
}

/* Read whatever the backend sent, closing fds that came with it. */
static inline void vu_drain(struct vu *v)
{
	char buf[4096];
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];

	for (;;) {
		struct iovec io = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(v->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (r <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *fds = (int *)(void *)CMSG_DATA(c);

			for (int i = 0; i < n; i++)
				close(fds[i]);
		}
	}
}

/* Send raw bytes (a header and @len payload bytes) with @nfds fds. */
static inline int vu_send_raw(struct vu *v, const void *p, size_t len,
			      const int *fds, unsigned int nfds)
{
	struct iovec io = { (void *)p, len };
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1 };

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(v->sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* dispatch's documented results. */
static inline void vu_check_dispatch(int r)
{
	switch (r) {
	case 0: case -ECONNRESET: case -EPROTO: case -ETIMEDOUT:
	case -ENOTCONN: case -ENOMEM: case -EINVAL: case -EBADF:
	case -EFAULT: case -ENOSPC: case -EMFILE: case -ENFILE:
	case -EACCES: case -ENODEV: case -EPERM: case -EOVERFLOW:
	case -ENXIO: case -E2BIG: case -EBUSY: case -ERANGE:
	case -EIO: case -EAGAIN: case -EPIPE: case -ENOTSUP:
		break;
	default:
		fprintf(stderr, "dispatch returned %d\n", r);
		FUZZ_CHECK(!"undocumented dispatch result");
	}
}

/*
 * One message: header @req / @flags, @size claimed, @plen payload bytes
 * actually sent.  Then dispatch.  Returns dispatch's result (0: still up).
 */
static inline int vu_msg(struct vu *v, struct virtq_vu_backend *be,
			 uint32_t req, uint32_t flags, uint32_t size,
			 const void *payload, size_t plen, const int *fds,
			 unsigned int nfds)
{
	uint8_t buf[12 + sizeof(union vu_payload) + 64];
	struct vu_hdr h = { req, flags, size };
	int r;

	if (plen > sizeof(buf) - 12)
		plen = sizeof(buf) - 12;
	memcpy(buf, &h, 12);
	if (plen)
		memcpy(buf + 12, payload, plen);
	if (vu_send_raw(v, buf, 12 + plen, fds, nfds) < 0)
		return -ECONNRESET;
	/* A message shorter than it claims: end our side so the backend
	 * sees the truncation now rather than after its timeout. */
	if (size > plen)
		shutdown(v->sock, SHUT_WR);
	r = virtq_vu_backend_dispatch(be);
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "message %u flags %#x size %u (%zu sent, %u fds): %d\n",
			req, flags, size, plen, nfds, r);
	vu_check_dispatch(r);
	if (r)
		FUZZ_EQ(virtq_vu_backend_conn_fd(be), -1);
	vu_drain(v);
	return r;
}

/* Close our side and let the backend see it; then count leaks. */
static inline void vu_finish(struct vu *v, struct virtq_vu_backend *be)
{
	if (virtq_vu_backend_conn_fd(be) >= 0) {
		close(v->sock);
		v->sock = -1;
		FUZZ_EQ(virtq_vu_backend_dispatch(be), -ECONNRESET);
	}
	if (v->sock >= 0)
		close(v->sock);
	v->sock = -1;
	for (int i = 0; i < 2; i++) {
		close(v->kick[i]);
		close(v->call[i]);
		v->kick[i] = v->call[i] = -1;
	}
	FUZZ_EQ(virtq_vu_backend_conn_fd(be), -1);
	if (vu_count_fds() != v->base_fds)
		vu_dump_fds();
	FUZZ_EQ(vu_count_fds(), v->base_fds);
	FUZZ_EQ(vu_count_maps(), v->base_maps);
}

/* Still serving: a new connection answers GET_FEATURES. */
static inline void vu_still_serves(struct vu *v, struct virtq_vu_backend *be)
{
	struct vu_hdr h = { VU_GET_FEATURES, VU_VERSION, 0 };
	struct vu_msg m;

	vu_connect(v, be);
	FUZZ_EQ(vu_send_raw(v, &h, sizeof(h), NULL, 0), 0);
	FUZZ_EQ(virtq_vu_backend_dispatch(be), 0);
	FUZZ_EQ(__virtq_vu_recv(v->sock, &m, 1000), 0);
	FUZZ_EQ(m.nfds, 0);
	FUZZ_EQ(m.hdr.request, VU_GET_FEATURES);
	FUZZ_CHECK(m.hdr.flags & VU_FLAG_REPLY);
	FUZZ_EQ(m.hdr.size, 8);
	vu_finish(v, be);
}

#endif /* VIRTQ_FUZZ_VU_H */
