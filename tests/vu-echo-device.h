/* SPDX-License-Identifier: MIT */
/*
 * vu-echo-device.h - the device model of the backend tests: every chain's
 * device-readable bytes are copied into its device-writable bytes, and the
 * used length is the number of bytes copied.
 */
#ifndef VU_ECHO_DEVICE_H
#define VU_ECHO_DEVICE_H

#include <errno.h>
#include <stddef.h>

#include "virtq/device.h"
#include "virtq/vhost_user.h"

static inline size_t echo_copy(const struct virtq_chain *c)
{
	const struct iovec *iov = c->iov;
	size_t n = 0, oi = 0, oo = 0, ii = c->n_out, io = 0;

	while (oi < c->n_out && ii < c->n_out + c->n_in) {
		((char *)iov[ii].iov_base)[io] = ((char *)iov[oi].iov_base)[oo];
		n++;
		if (++oo == iov[oi].iov_len) {
			oi++;
			oo = 0;
		}
		if (++io == iov[ii].iov_len) {
			ii++;
			io = 0;
		}
	}
	return n;
}

/* Serve everything available on @q, then re-arm the kick. */
static inline void echo_serve(struct virtq_vu_queue *q)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	struct iovec iov[16];
	struct virtq_chain c = { .iov = iov, .iov_cap = 16 };
	int r;

	do {
		virtq_device_disable_notify(vq);
		while ((r = virtq_device_pop(vq, &c)) != 0) {
			if (r == -EIO)
				return;
			if (r < 0) {
				if (c.head < virtq_device_size(vq))
					virtq_device_push(vq, c.head, 0);
				continue;
			}
			virtq_device_push(vq, c.head, (uint32_t)echo_copy(&c));
		}
		virtq_device_flush(vq);
		virtq_vu_queue_notify(q);
	} while (!virtq_device_enable_notify(vq));
}

static inline void echo_kick(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	echo_serve(q);
}

#endif /* VU_ECHO_DEVICE_H */
