/* SPDX-License-Identifier: MIT */
/*
 * backend_internal.h - state shared by the vhost-user backend's message
 * handling (backend.c) and its built-in runner (backend_run.c).  Never
 * installed.
 *
 * Threads: everything here belongs to the control thread (the one calling
 * dispatch / run) except where a field says otherwise.  A queue's thread
 * (runner) only touches its struct virtq_device, data, the fds it polls,
 * and call_fd / err_fd under q->lock.
 */
#ifndef VIRTQ_VU_BACKEND_INTERNAL_H
#define VIRTQ_VU_BACKEND_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtq/vhost_user.h"
#include "vhost-user/msg.h"

#define VU_MAX_RETIRED 64

struct vu_map {
	void *base;		/* mmap() result */
	size_t len;		/* mapped bytes (delta + size) */
	uint64_t delta;		/* mmap_offset within its page: region start */
	uint64_t gpa, size, uaddr;
	int fault_slot;		/* fault.c registration */
};

struct virtq_vu_queue {
	struct virtq_vu_backend *be;
	unsigned int index;

	/* Ring configuration from the frontend. */
	uint32_t num;		/* 0 until SET_VRING_NUM */
	bool has_addr;
	uint64_t desc_ua, avail_ua, used_ua;
	bool log_used;		/* SET_VRING_ADDR log flag */
	uint64_t log_gpa;	/* its log_guest_addr */
	uint16_t base;		/* next avail index at (re)start */
	int kick_fd;
	bool kicked;		/* a kick fd arrived since the last stop */
	bool enabled;		/* SET_VRING_ENABLE */
	bool waiting;		/* rings outside the memory table (logged) */

	/* Running state. */
	bool running;
	bool paused;		/* runner thread joined for a map change */
	bool start_signal;	/* the start's interrupt is still owed (q->lock) */
	uint64_t features;
	struct virtq_device *dev;	/* virtq_device_mem_size() bytes */
	void *data;
	int event_fd;

	/* Shared with the queue's thread: swapped under lock. */
	pthread_mutex_t lock;
	int call_fd;
	int err_fd;

	/* Inflight tracking (inflight.c), set at start; NULL: none. */
	struct vu_inflight_split *infl;
	uint64_t infl_counter;		/* next counter to give a popped head */
	uint16_t *resub;		/* heads to resubmit, in counter order */
	uint32_t nresub, resub_pos;

	/* Runner. */
	bool has_thread;
	pthread_t thread;
	int stop_fd;		/* eventfd: the thread must return */
};

struct virtq_vu_backend {
	const struct virtq_vu_backend_ops *ops;
	void *opaque;
	uint32_t num_queues;
	uint32_t max_queue_size;

	pthread_mutex_t config_lock;	/* app may replace the config space */
	uint8_t config[VIRTQ_VU_MAX_CONFIG];
	uint32_t config_len;

	int listen_fd;
	char *listen_path;	/* unlinked at destroy if we made it */
	int conn_fd;
	int stop_efd;		/* virtq_vu_backend_stop() */
	bool runner;		/* inside virtq_vu_backend_run() */
	bool trace;		/* VIRTQ_VU_TRACE set: log every message */

	uint64_t features;	/* offered, PROTOCOL_FEATURES included */
	uint64_t acked;		/* SET_FEATURES */
	uint64_t proto;		/* offered protocol features */
	uint64_t proto_acked;	/* SET_PROTOCOL_FEATURES */
	uint8_t status;
	bool ack_wanted;	/* the message being handled asked for an ack */
	atomic_int faulted;	/* fault.c: shared memory shrank under us */

	struct virtq_gmem *gm;
	struct vu_map maps[VIRTQ_VU_MAX_MEM_SLOTS];
	unsigned int nmaps;
	/* Removed regions, scratch memory until the table goes (hotplug). */
	struct { void *base; size_t len; } retired[VU_MAX_RETIRED];
	unsigned int nretired;

	void *inflight;		/* GET/SET_INFLIGHT_FD region */
	size_t inflight_len;
	int inflight_slot;	/* fault.c registration */

	/* Backend channel (backend_req.c), under req_lock. */
	pthread_mutex_t req_lock;
	int req_fd;		/* SET_BACKEND_REQ_FD, or -1 */
	bool req_reply_ack;	/* REPLY_ACK agreed when it came */
	bool req_send_fd;	/* BACKEND_SEND_FD agreed when it came */

	/* Dirty log (SET_LOG_BASE): on while VU_F_LOG_ALL is acked. */
	uint8_t *log;
	size_t log_len;
	int log_slot;		/* fault.c registration */
	int log_fd;		/* SET_LOG_FD, kept and closed */
	uint32_t inflight_nq;	/* queues in it */
	uint32_t inflight_qsize; /* queue size it was laid out for */

	struct virtq_vu_queue q[];
};

__attribute__((format(printf, 2, 3)))
void __virtq_vu_log(struct virtq_vu_backend *be, const char *fmt, ...);

/*
 * Inflight tracking: at ring start, take over the ring (reclaim) with
 * the inflight region's content when there is one.  Returns 0 (queue
 * started; possibly broken by the guest), or -EPROTO (the region is
 * corrupt; logged).
 */
int __virtq_vu_inflight_start(struct virtq_vu_queue *q);
void __virtq_vu_inflight_stop(struct virtq_vu_queue *q);
size_t __virtq_vu_inflight_queue_size(uint32_t queue_size);

/*
 * fault.c: register a mapping of frontend memory, so that a SIGBUS in it
 * (the frontend shrank the file) replaces it with scratch memory, sets
 * *@flag and shuts @sock down instead of ending the process.  Returns the
 * slot (>= 0), or -ENOSPC (too many mappings in this process), or -errno
 * from sigaction.  Unregister before munmap.
 */
int __virtq_vu_fault_register(void *start, size_t len, int sock, atomic_int *flag);
void __virtq_vu_fault_unregister(int slot);

/* backend_req.c: take the backend channel's socket (-1 closes it). */
void __virtq_vu_backend_req_set(struct virtq_vu_backend *be, int fd);

/* Runner hooks used by backend.c when be->runner is set. */
int __virtq_vu_queue_thread_start(struct virtq_vu_queue *q);
void __virtq_vu_queue_thread_stop(struct virtq_vu_queue *q);

#endif /* VIRTQ_VU_BACKEND_INTERNAL_H */
