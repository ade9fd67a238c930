/* SPDX-License-Identifier: MIT */
/* msg.c - vhost-user message codec: one message in, one message out. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vhost-user/msg.h"

static const char *const request_names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VU_IOTLB_MSG] = "IOTLB_MSG",
	[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VU_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VU_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VU_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VU_POSTCOPY_END] = "POSTCOPY_END",
	[VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VU_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_VRING_KICK] = "VRING_KICK",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VU_REM_MEM_REG] = "REM_MEM_REG",
	[VU_SET_STATUS] = "SET_STATUS",
	[VU_GET_STATUS] = "GET_STATUS",
};

const char *__virtq_vu_request_name(uint32_t request)
{
	if (request < VU_REQUEST_MAX && request_names[request])
		return request_names[request];
	return "UNKNOWN";
}

void __virtq_vu_msg_close_fds(struct vu_msg *m)
{
	for (unsigned int i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @sock is readable or @deadline (ms, -1 = never) passes. */
static int wait_readable(int sock, int64_t deadline)
{
	for (;;) {
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int r = poll(&pfd, 1, timeout);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read exactly @len bytes (no fds expected). */
static int read_full(int sock, void *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		int r = wait_readable(sock, deadline);

		if (r < 0)
			return r;
		ssize_t n = recv(sock, (char *)buf + got, len - got, MSG_DONTWAIT);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int __virtq_vu_recv(int sock, struct vu_msg *m, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	int r;

	m->nfds = 0;
	/* The header and the fds come in the first recvmsg. */
	for (;;) {
		r = wait_readable(sock, deadline);
		if (r < 0)
			return r;
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	if (n == 0)
		return -ECONNRESET;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *data = CMSG_DATA(c);

		for (size_t i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, data + i * sizeof(int), sizeof(int));
			if (m->nfds < VU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	r = -EPROTO;
	if (mh.msg_flags & MSG_CTRUNC)
		goto err;
	if ((size_t)n < sizeof(m->hdr)) {
		r = read_full(sock, (char *)&m->hdr + n, sizeof(m->hdr) - (size_t)n,
			      deadline);
		if (r < 0)
			goto err;
	}
	r = -EPROTO;
	if ((m->hdr.flags & VU_VERSION_MASK) != VU_VERSION)
		goto err;
	if (m->hdr.size > sizeof(m->p))
		goto err;
	memset(&m->p, 0, sizeof(m->p));
	if (m->hdr.size) {
		r = read_full(sock, &m->p, m->hdr.size, deadline);
		if (r < 0)
			goto err;
	}
	return 0;
err:
	__virtq_vu_msg_close_fds(m);
	return r;
}

int __virtq_vu_send(int sock, const struct vu_msg *m, const int *fds,
		    unsigned int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	} control;
	struct iovec iov[2] = {
		{ .iov_base = (void *)&m->hdr, .iov_len = sizeof(m->hdr) },
		{ .iov_base = (void *)&m->p, .iov_len = m->hdr.size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = m->hdr.size ? 2 : 1 };
	size_t total = sizeof(m->hdr) + m->hdr.size;

	if (nfds > VU_MAX_FDS || m->hdr.size > sizeof(m->p))
		return -EINVAL;
	if (nfds) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	size_t sent = 0;

	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)n;
		/* fds go with the first chunk only; advance the iovecs. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen) {
			size_t take = (size_t)n < mh.msg_iov->iov_len ?
				      (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + take;
			mh.msg_iov->iov_len -= take;
			n -= (ssize_t)take;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}
