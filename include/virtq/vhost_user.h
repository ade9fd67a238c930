/* SPDX-License-Identifier: MIT */
/*
 * vhost_user.h - vhost-user (QEMU docs/interop/vhost-user.rst) on top of the
 * device side (backend) and the driver side (frontend).
 *
 * The library owns no thread unless asked: both ends expose fds and
 * callbacks; a small built-in epoll runner serves the tools.
 */
#ifndef VIRTQ_VHOST_USER_H
#define VIRTQ_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= backend (device side) ======================== */

/* (defined by the backend work: struct virtq_vu_backend and friends) */

/* ====================== frontend (driver side) ======================== */

/*
 * A vhost-user frontend: the process that owns the memory and drives the
 * rings with the driver side, like QEMU in front of a vhost-user-blk
 * backend (qemu-storage-daemon, virtq-blk).
 *
 *	virtq_vu_frontend_connect()	socket, features, protocol features,
 *					queue count, SET_OWNER
 *	virtq_vu_frontend_get_config()	device config space (optional)
 *	virtq_vu_frontend_start()	one memfd for rings and the caller's
 *					buffers (SET_MEM_TABLE), SET_FEATURES,
 *					per queue NUM/BASE/ADDR/KICK/CALL/ENABLE
 *	virtq_vu_frontend_queue()	the struct virtq_driver of a queue: add,
 *					kick (writes the kick eventfd), get_used
 *	virtq_vu_frontend_wait()	sleep on the call eventfd (interrupt
 *					mode) or spin (polling mode), watching
 *					the socket so a dead backend is noticed
 *	virtq_vu_frontend_stop()	SET_VRING_ENABLE 0 + GET_VRING_BASE
 *	virtq_vu_frontend_close()	everything freed, fds closed
 *
 * Every reply is awaited at most timeout_ms; a backend that closes the
 * socket, sends nothing or sends nonsense makes the call fail with -errno
 * and virtq_vu_frontend_error() says what happened in one line.  Control
 * calls (connect, get_config, start, stop, close) come from one thread;
 * after start, each queue may be driven by its own thread.
 */
struct virtq_vu_frontend;

/* Default time a reply may take (ms). */
#define VIRTQ_VU_FRONTEND_TIMEOUT_MS 5000

/*
 * Connect to the backend listening on @path and negotiate: GET_FEATURES,
 * GET/SET_PROTOCOL_FEATURES (REPLY_ACK, MQ, CONFIG when offered),
 * GET_QUEUE_NUM (with MQ), SET_OWNER.  @timeout_ms bounds each reply
 * (0 = VIRTQ_VU_FRONTEND_TIMEOUT_MS).  On failure *fep is still set (so the
 * error text can be read) unless the result is -ENOMEM; close it.
 *
 * Returns 0, or -EINVAL (path too long or NULL), -ENOMEM, -ETIMEDOUT (no
 * reply in time), -ECONNRESET (backend closed the socket), -EPROTO (a reply
 * of the wrong request, size or flags), or the -errno of socket / connect
 * (-ENOENT, -ECONNREFUSED...).
 */
int virtq_vu_frontend_connect(struct virtq_vu_frontend **fep,
			      const char *path, int timeout_ms);

/* Features the backend offered (GET_FEATURES), protocol features
 * negotiated, and queues it supports (1 without MQ). */
uint64_t virtq_vu_frontend_device_features(const struct virtq_vu_frontend *fe);
uint64_t virtq_vu_frontend_protocol_features(const struct virtq_vu_frontend *fe);
uint32_t virtq_vu_frontend_max_queues(const struct virtq_vu_frontend *fe);

/*
 * Read @len bytes of the device's config space at @offset (GET_CONFIG).
 * Returns 0, or -ENOTSUP (CONFIG not negotiated), -EINVAL (@len 0 or above
 * 256), -EIO (the backend answered with an empty or short config), or the
 * errors of connect.
 */
int virtq_vu_frontend_get_config(struct virtq_vu_frontend *fe,
				 uint32_t offset, void *buf, uint32_t len);

struct virtq_vu_frontend_setup {
	uint64_t features;	/* device features wanted; acked = wanted & offered.
				 * VERSION_1 is always asked for, and
				 * EVENT_IDX / INDIRECT_DESC are used when acked */
	uint32_t num_queues;	/* 1..max_queues */
	uint32_t queue_size;	/* power of two, 1..32768 */
	size_t buf_size;	/* bytes of shared memory for the caller's buffers */
	uint16_t indirect_max;	/* descriptors per indirect table, 0 = none */
	bool poll;		/* polling mode: no interrupts asked for */
};

/*
 * Allocate one memfd holding every ring, the indirect pools and
 * @s->buf_size bytes for the caller, share it with SET_MEM_TABLE, ack the
 * features and bring up @s->num_queues queues (all enabled, base 0).
 * Buffers passed to the queues must lie in virtq_vu_frontend_buf();
 * anything else fails to translate (-EFAULT from virtq_driver_add).
 *
 * Returns 0, or -EINVAL (bad setup, or already started), -ERANGE (more
 * queues than the backend supports), -ENOMEM, -ENOTSUP (the backend does
 * not offer VERSION_1), or the errors of connect.
 */
int virtq_vu_frontend_start(struct virtq_vu_frontend *fe,
			    const struct virtq_vu_frontend_setup *s);

/* Acked features (valid after start). */
uint64_t virtq_vu_frontend_features(const struct virtq_vu_frontend *fe);

/* The caller's part of the shared memory (page aligned), and its size. */
void *virtq_vu_frontend_buf(const struct virtq_vu_frontend *fe, size_t *len);

/* Queue @index after start (NULL if out of range or not started). */
struct virtq_driver *virtq_vu_frontend_queue(struct virtq_vu_frontend *fe,
					     unsigned int index);

/* The call (interrupt) eventfd of queue @index, for the caller's own
 * event loop, or -1. */
int virtq_vu_frontend_call_fd(const struct virtq_vu_frontend *fe,
			      unsigned int index);

/*
 * Wait until queue @index has used entries, at most @timeout_ms (-1 =
 * forever).  Interrupt mode: enables callbacks, sleeps on the call eventfd
 * and the socket together, disables callbacks again.  Polling mode: spins
 * on the used ring, looking at the socket about every millisecond.
 * Thread-safe between different queues.
 *
 * Returns 1 (entries pending), 0 (timed out), -ECONNRESET (the backend
 * closed the socket), -EPROTO (the backend sent an unexpected message),
 * -EIO (the queue is broken: the device broke the ring protocol), or
 * -EINVAL (no such queue, or not started).  The error text is left alone
 * (several queue threads may fail at once).
 */
int virtq_vu_frontend_wait(struct virtq_vu_frontend *fe, unsigned int index,
			   int timeout_ms);

/*
 * Stop every queue: SET_VRING_ENABLE 0 (with protocol features) then
 * GET_VRING_BASE, whose answer is checked against what the driver
 * published.  Callers must have stopped using the queues.  Returns 0 or
 * the errors of connect.
 */
int virtq_vu_frontend_stop(struct virtq_vu_frontend *fe);

/* Close the socket, unmap and free everything.  NULL is ignored. */
void virtq_vu_frontend_close(struct virtq_vu_frontend *fe);

/* One line saying what the last failure was ("" if none). */
const char *virtq_vu_frontend_error(const struct virtq_vu_frontend *fe);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_VHOST_USER_H */
