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

/*
 * A vhost-user backend serves one frontend connection at a time on a unix
 * socket (QEMU reconnects after a close).  It negotiates features, maps
 * the frontend's memory table into a virtq_gmem, and turns each ring into
 * a struct virtq_device for the application's device model.
 *
 * Every message is validated (payload size for the request, fd count,
 * queue index, ring size, memory regions).  A request the backend refuses
 * (a well-formed message with a value out of range, a region it does not
 * have, an fd it cannot use, memory it cannot map) changes nothing and,
 * with REPLY_ACK negotiated and NEED_REPLY set, is answered with a
 * non-zero ack while the connection stays up; a GET_CONFIG past the config
 * space is answered with an empty payload (the spec's failure form).  A
 * broken stream (bad header or version flags, a payload of the wrong size,
 * the wrong number of fds, an unknown or unnegotiated request) or a
 * refusal nobody asked an ack for closes that connection with one logged
 * line naming the request and the fault; every fd and mapping the
 * connection held is released, and the backend is ready to accept the
 * next connection.  Nothing from the frontend can end the process.  With
 * VIRTQ_VU_TRACE set in the environment, every message received is logged
 * too (request, flags, size, fd count).
 *
 * Kick, call and err fds may be any pollable fd that is readable (kick)
 * or writable (call, err): eventfds, pipe ends, sockets (checked with
 * fstat / fcntl, /proc is not needed); the backend makes them
 * non-blocking.  SET_VRING_KICK with the no-fd flag asks for polling: the
 * runner then looks at the ring every millisecond, an own event loop sees
 * kick fd -1 and must poll it itself.  Each time a ring starts, its call
 * fd is signalled once (as soon as there is one): a completion the
 * previous backend published but died before signalling is announced.
 *
 * Two ways to drive it:
 *
 *  - Own event loop (the library owns no thread): watch
 *    virtq_vu_backend_listen_fd() and call virtq_vu_backend_accept(); watch
 *    virtq_vu_backend_conn_fd() and call virtq_vu_backend_dispatch().
 *    queue_start / queue_stop are called from inside dispatch; the
 *    application watches each queue's kick fd itself.
 *
 *  - The built-in runner, virtq_vu_backend_run(): the calling thread serves
 *    the socket; each started queue gets a thread that waits on its kick fd
 *    (and one optional application fd) and calls queue_kick / queue_event.
 *    queue_start and queue_stop are called on the calling thread while the
 *    queue's thread is not running.
 *
 * A ring runs when it has a size, addresses, a kick fd (or the no-fd
 * flag: polling), a memory table, and is enabled (with
 * VHOST_USER_F_PROTOCOL_FEATURES negotiated a ring starts disabled until
 * SET_VRING_ENABLE 1; without it, enabled).  Any message that changes
 * what a running ring uses (memory table, features, size / addresses /
 * base / kick fd, disable, GET_VRING_BASE, reset) stops the ring first
 * (queue_stop), then restarts it if it still qualifies.  Except, with the
 * runner, where stopping would make the frontend wait behind the I/O in
 * flight: ADD_MEM_REG / REM_MEM_REG of a region that holds none of the
 * ring's areas, SET_FEATURES that only toggles VHOST_F_LOG_ALL,
 * SET_VRING_ADDR that only changes the log flag or address, and
 * SET_LOG_BASE pause the queue threads (joined between two callbacks;
 * requests stay in flight), change what they use, and resume them.
 *
 * Live migration: VHOST_F_LOG_ALL is offered by every backend, with
 * LOG_SHMFD.  While it is acked and SET_LOG_BASE gave a bitmap, every
 * guest page the device side writes is marked (virtq_device_set_log():
 * the writable bytes up to each pushed length, the used ring), so a
 * device model needs nothing of its own as long as it reports at push
 * how many bytes it wrote.
 */

#define VIRTQ_VU_MAX_QUEUES	64	/* per backend */
#define VIRTQ_VU_MAX_MEM_SLOTS	509	/* regions in one memory table (as libvhost-user, rust-vmm) */
#define VIRTQ_VU_MAX_CONFIG	256	/* device config space bytes */

/* vhost-user's own feature bit (30), added by the backend to its offer. */
#define VIRTQ_VU_F_PROTOCOL_FEATURES 30

struct virtq_vu_backend;
struct virtq_vu_queue;

struct virtq_vu_backend_ops {
	/*
	 * The ring is about to run: virtq_vu_queue_device() is ready (next
	 * avail / used indices already taken over from the ring).  Set up
	 * per-queue state here (virtq_vu_queue_set_data, and with the runner
	 * virtq_vu_queue_set_event_fd).  Return 0, or -errno: the connection
	 * is then closed.  May be NULL.
	 */
	int (*queue_start)(void *opaque, struct virtq_vu_queue *q);
	/*
	 * The ring must stop.  Return only when nothing is in flight: every
	 * chain popped has been pushed, flushed and signalled
	 * (virtq_vu_queue_notify).  After this the backend reads the next
	 * avail index (GET_VRING_BASE).  May be NULL.
	 */
	void (*queue_stop)(void *opaque, struct virtq_vu_queue *q);
	/*
	 * Runner: the kick fd fired (its counter already read), or the ring
	 * just started (chains may be waiting), or, for a polled ring, every
	 * millisecond.  Own event loop: called from inside dispatch right
	 * after queue_start when the ring's kick fd cannot be written to (a
	 * pipe's read end) or there is none; otherwise the backend counts
	 * one kick on the kick eventfd so that the application's loop looks
	 * at a (re)started ring at once.  May be NULL.
	 */
	void (*queue_kick)(void *opaque, struct virtq_vu_queue *q);
	/* Runner only: the fd given to virtq_vu_queue_set_event_fd fired. */
	void (*queue_event)(void *opaque, struct virtq_vu_queue *q);
	/*
	 * SET_CONFIG from the frontend (bytes already range-checked against
	 * the config space).  Return 0 to accept (the backend then updates
	 * its copy of the config space), or -errno to refuse (the frontend is
	 * told through REPLY_ACK; the connection stays up).  NULL refuses
	 * every write.
	 */
	int (*set_config)(void *opaque, uint32_t offset, const void *buf,
			  uint32_t len, uint32_t flags);
	/* One log line (no newline).  NULL prints it to stderr. */
	void (*log)(void *opaque, const char *line);
};

struct virtq_vu_backend_config {
	uint64_t features;	/* virtio features offered (VIRTQ_F_VERSION_1, ...) */
	uint32_t num_queues;	/* 1..VIRTQ_VU_MAX_QUEUES */
	uint32_t max_queue_size; /* power of two <= 32768; 0 means 32768 */
	const void *config;	/* device config space, copied; may be NULL */
	uint32_t config_len;	/* 0..VIRTQ_VU_MAX_CONFIG */
	const struct virtq_vu_backend_ops *ops;
	void *opaque;		/* passed to every op */
};

/*
 * Create a backend (not listening yet).  Of the ring and transport
 * feature bits (24..49) @cfg->features may hold only those the library
 * implements: INDIRECT_DESC, EVENT_IDX, VERSION_1, ORDER_PLATFORM (and
 * bits 26, VHOST_F_LOG_ALL, and 30, PROTOCOL_FEATURES: the library adds
 * both to every offer); RING_PACKED, ACCESS_PLATFORM, IN_ORDER,
 * NOTIFICATION_DATA and the rest are refused here rather than negotiated
 * and then ignored.  Returns 0, or -EINVAL (out, cfg or ops NULL,
 * num_queues or max_queue_size or config_len out of range, config NULL
 * with config_len not 0), -EOPNOTSUPP (a ring or transport feature the
 * library does not implement), -ENOMEM, or -errno from eventfd().
 */
int virtq_vu_backend_create(struct virtq_vu_backend **out,
			    const struct virtq_vu_backend_config *cfg);

/* Disconnect (stopping every ring), close the listening socket, free. */
void virtq_vu_backend_destroy(struct virtq_vu_backend *be);

/*
 * Listen on a unix socket at @path.  A stale socket file there (nobody
 * accepts on it) is replaced; a live one or any other kind of file is not.
 * Returns 0, or -EBUSY (already listening), -ENAMETOOLONG, -EEXIST (@path
 * exists and is not a socket), -EADDRINUSE (another process listens
 * there), or -errno from socket() / bind() / listen().
 */
int virtq_vu_backend_listen(struct virtq_vu_backend *be, const char *path);

/*
 * Take an inherited listening socket (e.g. from systemd or a test); the
 * backend owns it from now on.  Returns 0, or -EBUSY, -EBADF (@fd < 0).
 */
int virtq_vu_backend_set_listen_fd(struct virtq_vu_backend *be, int fd);

/* The listening socket, or -1. */
int virtq_vu_backend_listen_fd(const struct virtq_vu_backend *be);

/*
 * Accept one connection on the listening socket (waits for it).  Returns
 * 0, or -EBUSY (a connection is up), -ENOTCONN (not listening), or -errno
 * from accept().
 */
int virtq_vu_backend_accept(struct virtq_vu_backend *be);

/*
 * Serve an already connected socket (e.g. one end of a socketpair); the
 * backend owns it from now on.  Returns 0, or -EBUSY, -EBADF.
 */
int virtq_vu_backend_set_conn_fd(struct virtq_vu_backend *be, int fd);

/* The connection's socket, or -1 when none is up. */
int virtq_vu_backend_conn_fd(const struct virtq_vu_backend *be);

/*
 * Receive and handle one message (waits for it).  Returns 0 when the
 * connection is still up.  Otherwise the connection is gone, torn down
 * (rings stopped, memory unmapped, fds closed), and the return value says
 * why: -ECONNRESET (the frontend closed it), -EPROTO (a malformed or
 * unsupported message; the reason was logged), -ETIMEDOUT (a message
 * arrived incomplete), -EFAULT (the frontend shrank memory it shared and
 * an access faulted: see below), -ENOTCONN (no connection), or -errno
 * from the socket or from setting up a ring (also logged).
 *
 * Memory the frontend shares (memory table, inflight region) is sealed
 * against shrinking when it is a memfd that allows sealing (F_SEAL_SHRINK
 * is added at map time).  Memory that cannot be sealed is guarded by a
 * process-wide SIGBUS handler the backend installs (chained to the one
 * before it): an access past the end of a shrunk file, in any thread, gets
 * scratch memory in place of the whole mapping, and the connection is
 * shut down and torn down by the control thread.  An application that
 * installs its own SIGBUS handler after creating a backend must chain to
 * the previous one.
 */
int virtq_vu_backend_dispatch(struct virtq_vu_backend *be);

/* Tear the connection down as a bad message would (no-op without one). */
void virtq_vu_backend_disconnect(struct virtq_vu_backend *be);

/*
 * Built-in runner: accept, serve, and after each disconnect accept again,
 * until virtq_vu_backend_stop().  One thread per running queue (see the
 * top of this section).  Returns 0 after stop, or -ENOTCONN (not
 * listening), -EBUSY (already running), or -errno (poll, thread creation).
 */
int virtq_vu_backend_run(struct virtq_vu_backend *be);

/* Make run() disconnect and return.  Async-signal-safe. */
void virtq_vu_backend_stop(struct virtq_vu_backend *be);

/* Features the frontend acked (SET_FEATURES), protocol features agreed. */
uint64_t virtq_vu_backend_features(const struct virtq_vu_backend *be);
uint64_t virtq_vu_backend_protocol_features(const struct virtq_vu_backend *be);

/*
 * Replace the config space (length unchanged: at most the config_len given
 * at create).  Returns 0 or -EINVAL.  The frontend reads it on its next
 * GET_CONFIG; virtq_vu_backend_config_changed() tells it to.  Thread-safe.
 */
int virtq_vu_backend_set_config_space(struct virtq_vu_backend *be,
				      const void *config, uint32_t len);

/*
 * Tell the frontend the config space changed (BACKEND_REQ's
 * CONFIG_CHANGE_MSG), after virtq_vu_backend_set_config_space(): QEMU
 * then reads it again (GET_CONFIG) and, for a virtio-blk capacity change,
 * interrupts the guest, whose driver picks the new size up.  With
 * REPLY_ACK agreed it waits (at most 5 s) for the frontend's ack.  Call it
 * from an application thread, never from a callback of the control thread
 * (the frontend asks GET_CONFIG on the main socket before it answers).
 * Returns 0, or -EINVAL (be NULL), -ENOTCONN (no backend channel: the
 * frontend did not send SET_BACKEND_REQ_FD, or no connection), -EIO (the
 * frontend answered failure), -EPROTO (its answer was not an ack of this
 * request, or was malformed), -ETIMEDOUT (no answer), -ECONNRESET /
 * -EPIPE (the channel closed), or another -errno from the socket.
 */
int virtq_vu_backend_config_changed(struct virtq_vu_backend *be);

/*
 * Any request on the backend channel (request numbers from the spec's
 * "Back-end message types"), @size payload bytes, with @nfds fds when
 * BACKEND_SEND_FD is agreed; waits for the ack when REPLY_ACK is.  Same
 * thread rule as above.  Returns 0, or -EINVAL (payload over 264 bytes,
 * more than 8 fds, NULL pointers), -EOPNOTSUPP (fds without
 * BACKEND_SEND_FD), and the errors of virtq_vu_backend_config_changed():
 * -ENOTCONN, -EIO, -EPROTO, -ETIMEDOUT, -ECONNRESET, -EPIPE, or another
 * -errno from the socket.
 */
int virtq_vu_backend_request(struct virtq_vu_backend *be, uint32_t request,
			     const void *payload, uint32_t size, const int *fds,
			     unsigned int nfds);

/* ---- per queue (valid between queue_start and the end of queue_stop) -- */

struct virtq_device *virtq_vu_queue_device(struct virtq_vu_queue *q);
struct virtq_vu_backend *virtq_vu_queue_backend(struct virtq_vu_queue *q);
unsigned int virtq_vu_queue_index(const struct virtq_vu_queue *q);
/* The device features the ring runs with (acked at its start). */
uint64_t virtq_vu_queue_features(const struct virtq_vu_queue *q);
int virtq_vu_queue_kick_fd(const struct virtq_vu_queue *q);

/* Application data for this queue (NULL until set). */
void virtq_vu_queue_set_data(struct virtq_vu_queue *q, void *data);
void *virtq_vu_queue_data(const struct virtq_vu_queue *q);

/*
 * Runner only: also wait on @fd (readable) in the queue's thread and call
 * queue_event.  Call from queue_start.  -1 clears.  Returns 0.
 */
int virtq_vu_queue_set_event_fd(struct virtq_vu_queue *q, int fd);

/*
 * After virtq_device_flush(): signal the call fd if
 * virtq_device_need_interrupt() says so (no call fd: nothing).  Safe
 * against the frontend replacing the call fd meanwhile.  Returns 1
 * signalled, 0 not needed, or -errno from the eventfd write.
 */
int virtq_vu_queue_notify(struct virtq_vu_queue *q);

/*
 * Pop / push through the backend so that inflight I/O tracking works
 * (INFLIGHT_SHMFD: QEMU's shared region, split queues): after a backend
 * restart, pop first returns the chains that were in flight when the
 * previous backend died, oldest first (walked again with
 * virtq_device_walk), then new avail entries.  Without a region they are
 * virtq_device_pop / virtq_device_push.  With one, push also publishes
 * the entry (virtq_device_flush), so a crash loses no completion;
 * flush + virtq_vu_queue_notify afterwards as usual.
 * Returns and errors: those of virtq_device_pop / virtq_device_walk, and
 * of virtq_device_push / virtq_device_flush.
 */
int virtq_vu_queue_pop(struct virtq_vu_queue *q, struct virtq_chain *c);
int virtq_vu_queue_push(struct virtq_vu_queue *q, uint16_t head, uint32_t len);

/* Signal the ring's error fd (SET_VRING_ERR), e.g. on a broken queue. */
void virtq_vu_queue_error(struct virtq_vu_queue *q);

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
 * of the wrong request, size or flags), -EIO (the backend refused a request:
 * a non-zero REPLY_ACK), or the -errno of socket / connect (-ENOENT,
 * -ECONNREFUSED...).
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
