/* SPDX-License-Identifier: MIT */
/*
 * vu-test-backend.h - the backend under test in the vhost-user tests: a
 * virtq_vu_backend listening on a socket in a fresh /tmp directory, its
 * loop run on a thread of the test, and the teardown that checks the
 * socket went away with it (the directory must be empty again).
 */
#ifndef VU_TEST_BACKEND_H
#define VU_TEST_BACKEND_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "virtq/vhost_user.h"

struct tbe {
	char dir[48];
	char path[64];
	struct virtq_vu_backend *be;
	pthread_t th;
};

/* The backend thread: the loop must end with 0 (stopped, not failed). */
static inline void *tbe_run(void *be)
{
	CHECK_EQ(virtq_vu_backend_run(be), 0);
	return NULL;
}

/* A fresh /tmp/@prefix-XXXXXX directory and the socket path in it. */
static inline void tbe_mkdir(struct tbe *t, const char *prefix)
{
	CHECK(snprintf(t->dir, sizeof(t->dir), "/tmp/%s-XXXXXX", prefix) <
	      (int)sizeof(t->dir));
	CHECK(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/sock", t->dir);
}

/* Create the backend from @cfg, listen on t->path, run it on a thread. */
static inline void tbe_launch(struct tbe *t,
			      const struct virtq_vu_backend_config *cfg)
{
	CHECK_EQ(virtq_vu_backend_create(&t->be, cfg), 0);
	CHECK_EQ(virtq_vu_backend_listen(t->be, t->path), 0);
	CHECK_EQ(pthread_create(&t->th, NULL, tbe_run, t->be), 0);
}

static inline void tbe_start(struct tbe *t, const char *prefix,
			     const struct virtq_vu_backend_config *cfg)
{
	tbe_mkdir(t, prefix);
	tbe_launch(t, cfg);
}

/* The common case: one queue, VIRTIO 1.0 only, the callbacks @ops. */
static inline void tbe_start_one(struct tbe *t, const char *prefix,
				 const struct virtq_vu_backend_ops *ops)
{
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.ops = ops,
	};

	tbe_start(t, prefix, &cfg);
}

/* Stop the loop, join its thread, destroy the backend. */
static inline void tbe_halt(struct tbe *t)
{
	virtq_vu_backend_stop(t->be);
	CHECK_EQ(pthread_join(t->th, NULL), 0);
	virtq_vu_backend_destroy(t->be);
	t->be = NULL;
}

/* tbe_halt(), then the directory must be empty (the socket is gone). */
static inline void tbe_stop(struct tbe *t)
{
	tbe_halt(t);
	CHECK_EQ(rmdir(t->dir), 0);
}

#endif /* VU_TEST_BACKEND_H */
