/* SPDX-License-Identifier: MIT */
/*
 * vu-echo-backend - the smallest vhost-user backend on libvirtq: every
 * chain's device-readable bytes are copied into its device-writable bytes.
 *
 *   vu-echo-backend /tmp/echo.sock
 *
 * The built-in runner serves the socket on this thread and runs one
 * thread per started queue, calling echo_kick() when the kick fd fires.
 * Ctrl-C stops it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "virtq/vhost_user.h"

static struct virtq_vu_backend *backend;

static void on_signal(int sig)
{
	(void)sig;
	virtq_vu_backend_stop(backend);	/* async-signal-safe */
}

/* Copy the readable iovecs into the writable ones; returns bytes copied. */
static uint32_t echo(const struct virtq_chain *c)
{
	const struct iovec *in = c->iov + c->n_out;
	uint32_t done = 0;
	size_t ii = 0, io = 0;

	for (uint32_t o = 0; o < c->n_out; o++) {
		const char *src = c->iov[o].iov_base;
		size_t left = c->iov[o].iov_len;

		while (left && ii < c->n_in) {
			size_t n = in[ii].iov_len - io;

			if (n > left)
				n = left;
			memcpy((char *)in[ii].iov_base + io, src, n);
			src += n;
			left -= n;
			done += (uint32_t)n;
			io += n;
			if (io == in[ii].iov_len) {
				ii++;
				io = 0;
			}
		}
	}
	return done;
}

static void echo_kick(void *opaque, struct virtq_vu_queue *q)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	struct iovec iov[64];
	struct virtq_chain c = { .iov = iov, .iov_cap = 64 };
	int r;

	(void)opaque;
	do {
		virtq_device_disable_notify(vq);
		while ((r = virtq_device_pop(vq, &c)) != 0) {
			if (r == -EIO) {	/* the driver broke the ring */
				virtq_vu_queue_error(q);
				return;
			}
			if (r < 0) {		/* malformed chain, consumed */
				if (c.head < virtq_device_size(vq))
					virtq_device_push(vq, c.head, 0);
				continue;
			}
			virtq_device_push(vq, c.head, echo(&c));
		}
		virtq_device_flush(vq);
		virtq_vu_queue_notify(q);	/* call fd, if the driver wants it */
	} while (!virtq_device_enable_notify(vq));
}

int main(int argc, char **argv)
{
	static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC),
		.num_queues = 1,
		.ops = &ops,
	};
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET-PATH\n", argv[0]);
		return 2;
	}
	r = virtq_vu_backend_create(&backend, &cfg);
	if (r == 0)
		r = virtq_vu_backend_listen(backend, argv[1]);
	if (r < 0) {
		fprintf(stderr, "vu-echo-backend: %s: %s\n", argv[1], strerror(-r));
		virtq_vu_backend_destroy(backend);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r = virtq_vu_backend_run(backend);
	virtq_vu_backend_destroy(backend);
	return r < 0 ? 1 : 0;
}
