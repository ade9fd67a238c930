/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-own-loop-restart: with the application's own event loop
 * (no runner), a ring that restarts looks for work at once.  A chain the
 * driver made available while the ring was stopped (its kick went to the
 * old kick fd) is served after the restart without any further kick.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-frontend.h"

struct app {
	pthread_mutex_t lock;
	struct virtq_vu_queue *running;
	int dispatch_result;
};

static struct app app = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int q_start(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	app.running = q;
	return 0;
}

static void q_stop(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	(void)q;
	app.running = NULL;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_start = q_start,
	.queue_stop = q_stop,
};

/* The application's loop: the socket and the running ring's kick fd. */
static void *app_loop(void *p)
{
	struct virtq_vu_backend *be = p;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = virtq_vu_backend_conn_fd(be), .events = POLLIN },
			{ .fd = app.running ? virtq_vu_queue_kick_fd(app.running) : -1,
			  .events = POLLIN },
		};

		CHECK(poll(pfd, 2, -1) > 0);
		if (app.running && (pfd[1].revents & POLLIN)) {
			eventfd_t v;

			(void)eventfd_read(pfd[1].fd, &v);
			echo_serve(app.running);
		}
		if (pfd[0].revents) {
			int r = virtq_vu_backend_dispatch(be);

			if (r < 0) {
				app.dispatch_result = r;
				return NULL;
			}
		}
	}
}

int main(void)
{
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.ops = &ops,
	};
	struct virtq_vu_backend *be;
	struct vu_vring_state st = { .index = 0 };
	struct vu_msg m;
	struct tfe fe;
	pthread_t th;
	int sv[2];
	char *out, *in;
	struct virtq_sg o, i;

	CHECK_EQ(virtq_vu_backend_create(&be, &cfg), 0);
	tfe_init(&fe, NULL, 1 << 20);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe.sock = sv[0];
	CHECK_EQ(virtq_vu_backend_set_conn_fd(be, sv[1]), 0);
	CHECK_EQ(pthread_create(&th, NULL, app_loop, be), 0);

	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, 8);
	out = tfe_alloc(&fe, 16, 1);
	in = tfe_alloc(&fe, 16, 1);
	o = (struct virtq_sg){ out, 6 };
	i = (struct virtq_sg){ in, 16 };
	memcpy(out, "first", 6);
	CHECK_EQ(tfe_request(&fe, 0, &o, 1, &i, 1), 6);

	/* Stop the ring; offer a chain while it is stopped (the kick goes
	 * to the old kick fd, which the backend has closed). */
	CHECK_EQ(tfe_send(&fe, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0), 0);
	CHECK_EQ(tfe_recv(&fe, VU_GET_VRING_BASE, &m), 0);
	CHECK_EQ(m.p.state.num, 1);
	memcpy(out, "again", 6);
	memset(in, 0, 16);
	tfe_offer(&fe, 0, &o, 1, &i, 1);
	/* Restart it with fresh fds; nobody kicks the new kick fd. */
	tfe_queue_send(&fe, 0, 1);
	if (tfe_wait(&fe, 0, TFE_TIMEOUT_MS) != 6) {
		fprintf(stderr, "FAIL: the restarted ring never looked at the chain waiting in it\n");
		return 1;
	}
	CHECK(!memcmp(in, "again", 6));
	tfe_close(&fe);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(app.dispatch_result, -ECONNRESET);
	virtq_vu_backend_destroy(be);
	return 0;
}
