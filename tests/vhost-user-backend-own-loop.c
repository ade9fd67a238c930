/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-backend-own-loop: without the runner the library owns no
 * thread.  The application adopts a connected socket (one end of a
 * socketpair), polls it and the kick fds itself, calls dispatch, and gets
 * queue_start / queue_stop from inside dispatch.  The frontend's close
 * comes back from dispatch as -ECONNRESET with everything released.
 */
#include <pthread.h>
#include <time.h>

#include "vu-echo-device.h"
#include "vu-test-frontend.h"

#define NQ 2

struct app {
	struct virtq_vu_queue *running[NQ];
	int starts, stops;
	int dispatch_result;
	int threads_seen;
};

static int count_threads(void)
{
	return tfe_count_dir("/proc/self/task");
}

static int q_start(void *opaque, struct virtq_vu_queue *q)
{
	struct app *a = opaque;

	a->running[virtq_vu_queue_index(q)] = q;
	a->starts++;
	/* Compared with the count before the loop's thread: the loop's
	 * thread is new, nothing from the library. */
	a->threads_seen = count_threads();
	return 0;
}

static void q_stop(void *opaque, struct virtq_vu_queue *q)
{
	struct app *a = opaque;

	a->running[virtq_vu_queue_index(q)] = NULL;
	a->stops++;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_start = q_start,
	.queue_stop = q_stop,
};

static void *nothing(void *p)
{
	return p;
}

struct loop_arg {
	struct virtq_vu_backend *be;
	struct app *app;
};

/* The application's event loop: the socket and every running kick fd. */
static void *app_loop(void *p)
{
	struct loop_arg *la = p;

	for (;;) {
		struct pollfd pfd[1 + NQ];
		unsigned int n = 1;

		pfd[0] = (struct pollfd){ .fd = virtq_vu_backend_conn_fd(la->be),
					  .events = POLLIN };
		for (int i = 0; i < NQ; i++)
			if (la->app->running[i])
				pfd[n++] = (struct pollfd){
					.fd = virtq_vu_queue_kick_fd(la->app->running[i]),
					.events = POLLIN };
		CHECK(poll(pfd, n, -1) > 0);
		for (unsigned int k = 1; k < n; k++) {
			if (!(pfd[k].revents & POLLIN))
				continue;
			for (int i = 0; i < NQ; i++) {
				struct virtq_vu_queue *q = la->app->running[i];
				eventfd_t v;

				if (q && virtq_vu_queue_kick_fd(q) == pfd[k].fd) {
					(void)eventfd_read(pfd[k].fd, &v);
					echo_serve(q);
				}
			}
		}
		if (pfd[0].revents) {
			int r = virtq_vu_backend_dispatch(la->be);

			if (r < 0) {
				la->app->dispatch_result = r;
				return NULL;
			}
		}
	}
}

int main(void)
{
	struct app app = { 0 };
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = NQ,
		.ops = &ops,
		.opaque = &app,
	};
	struct virtq_vu_backend *be;
	struct loop_arg la = { .app = &app };
	struct tfe fe;
	pthread_t th;
	int sv[2], fds_before, threads_before;

	CHECK_EQ(virtq_vu_backend_create(&be, &cfg), 0);
	la.be = be;
	/* Without CONFIG space the CONFIG protocol feature is not offered. */
	tfe_init(&fe, NULL, 1 << 20);
	fds_before = tfe_count_fds();
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe.sock = sv[0];
	CHECK_EQ(virtq_vu_backend_set_conn_fd(be, sv[1]), 0);
	CHECK_EQ(virtq_vu_backend_set_conn_fd(be, sv[1]), -EBUSY);
	CHECK_EQ(virtq_vu_backend_accept(be), -EBUSY);
	/* TSan starts a helper thread at the first pthread_create: make it
	 * exist before counting. */
	CHECK_EQ(pthread_create(&th, NULL, nothing, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* The joined thread can stay listed in /proc/self/task a moment
	 * after the join (qemu-user ends its host thread later): the count
	 * only drops while it goes, so take the lowest of a few. */
	threads_before = count_threads();
	for (int i = 0; i < 20; i++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		int n;

		nanosleep(&ts, NULL);
		n = count_threads();
		if (n < threads_before)
			threads_before = n;
	}
	CHECK_EQ(pthread_create(&th, NULL, app_loop, &la), 0);

	tfe_negotiate(&fe, ~0ull);
	CHECK(!(fe.proto & (1ull << VU_PROTOCOL_F_CONFIG)));
	tfe_queue(&fe, 0, 8);
	tfe_queue(&fe, 1, 8);
	for (int i = 0; i < 20; i++) {
		char *b = tfe_alloc(&fe, 64, 8);
		struct virtq_sg o = { b, 8 }, in = { b + 32, 32 };

		snprintf(b, 8, "q%d-%03d", i & 1, i);
		CHECK_EQ(tfe_request(&fe, (unsigned int)i & 1, &o, 1, &in, 1), 8);
		CHECK(!strcmp(b + 32, b));
	}
	CHECK_EQ(app.starts, 2);
	CHECK_EQ(app.threads_seen, threads_before + 1);
	tfe_close(&fe);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(app.dispatch_result, -ECONNRESET);
	CHECK_EQ(app.stops, 2);
	CHECK_EQ(virtq_vu_backend_conn_fd(be), -1);
	CHECK_EQ(virtq_vu_backend_dispatch(be), -ENOTCONN);
	/* tfe_close closed our end and our memfd: back to the start minus
	 * those two, and the backend holds nothing of the connection. */
	CHECK_EQ(tfe_count_fds(), fds_before - 1);
	CHECK_EQ(tfe_count_maps("vu-test-guest"), 0);
	CHECK_EQ(virtq_vu_backend_run(be), -ENOTCONN);	/* nothing to serve */
	virtq_vu_backend_destroy(be);
	return 0;
}
