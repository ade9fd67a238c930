/* SPDX-License-Identifier: MIT */
/*
 * backend_run.c - the built-in runner: the calling thread serves the
 * socket, one thread per running queue waits on its kick fd.
 *
 * A queue's thread is created after queue_start and joined before
 * queue_stop, both on the control thread, so the application's per-queue
 * state is only ever touched by one thread at a time (thread creation and
 * join order the accesses).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhost-user/backend_internal.h"

#define VU_POLL_MS 1	/* a polled ring (no kick fd) is looked at this often */

static void *queue_thread(void *arg)
{
	struct virtq_vu_queue *q = arg;
	struct virtq_vu_backend *be = q->be;
	struct pollfd p[3];
	unsigned int n;
	int timeout;

	/* Chains may have been made available before the ring (re)started. */
	if (be->ops->queue_kick)
		be->ops->queue_kick(be->opaque, q);
	p[0] = (struct pollfd){ .fd = q->stop_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = q->kick_fd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = q->event_fd, .events = POLLIN };
	n = q->event_fd >= 0 ? 3 : 2;
	/* No kick fd (SET_VRING_KICK asked for polling): look every ms. */
	timeout = q->kick_fd < 0 ? VU_POLL_MS : -1;
	for (;;) {
		uint64_t v;
		int r = poll(p, n, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			__virtq_vu_log(be, "queue %u: poll: %s; queue thread stops",
				       q->index, strerror(errno));
			break;
		}
		if (r == 0) {
			if (be->ops->queue_kick)
				be->ops->queue_kick(be->opaque, q);
			continue;
		}
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			/* An eventfd, pipe or socket, made non-blocking when
			 * it was accepted: drain what one read gives. */
			ssize_t k = read(q->kick_fd, &v, sizeof(v));

			if (k == 0 || (k < 0 && errno != EAGAIN))
				p[1].fd = -1;	/* closed (a socket's EOF) */
			if (be->ops->queue_kick)
				be->ops->queue_kick(be->opaque, q);
		} else if (p[1].revents) {
			p[1].fd = -1;	/* error on the kick fd: ignore it */
		}
		if (n > 2 && p[2].revents) {
			if (be->ops->queue_event)
				be->ops->queue_event(be->opaque, q);
			if (p[2].revents & (POLLERR | POLLHUP | POLLNVAL))
				p[2].fd = -1;
		}
	}
	return NULL;
}

int __virtq_vu_queue_thread_start(struct virtq_vu_queue *q)
{
	int r;

	r = pthread_create(&q->thread, NULL, queue_thread, q);
	if (r)
		return -r;
	q->has_thread = true;
	return 0;
}

void __virtq_vu_queue_thread_stop(struct virtq_vu_queue *q)
{
	eventfd_t v;

	(void)eventfd_write(q->stop_fd, 1);
	pthread_join(q->thread, NULL);
	(void)eventfd_read(q->stop_fd, &v);	/* non-blocking: reset */
	q->has_thread = false;
}

void virtq_vu_backend_stop(struct virtq_vu_backend *be)
{
	(void)eventfd_write(be->stop_efd, 1);
}

int virtq_vu_backend_run(struct virtq_vu_backend *be)
{
	int r = 0;

	if (be->listen_fd < 0 && be->conn_fd < 0)
		return -ENOTCONN;
	if (be->runner)
		return -EBUSY;
	be->runner = true;
	for (;;) {
		bool conn = be->conn_fd >= 0;
		struct pollfd p[2] = {
			{ .fd = be->stop_efd, .events = POLLIN },
			{ .fd = conn ? be->conn_fd : be->listen_fd, .events = POLLIN },
		};

		if (!conn && be->listen_fd < 0)
			break;	/* a single adopted connection ended */
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		if (conn) {
			(void)virtq_vu_backend_dispatch(be);
		} else {
			r = virtq_vu_backend_accept(be);
			if (r < 0 && r != -ECONNABORTED && r != -EAGAIN) {
				__virtq_vu_log(be, "accept: %s", strerror(-r));
				break;
			}
			r = 0;
		}
	}
	virtq_vu_backend_disconnect(be);
	{
		eventfd_t v;

		(void)eventfd_read(be->stop_efd, &v);
	}
	be->runner = false;
	return r;
}
