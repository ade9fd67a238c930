/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-pipe-fds: kick and call fds need not be eventfds.  A ring
 * whose kick fd is a pipe's read end (or one end of a socketpair) and
 * whose call fd is a pipe's write end serves requests: the backend reads
 * the kick from the pipe and signals completions into the call pipe.
 * The fds are checked without /proc: when this process may make a mount
 * namespace, /proc is hidden under an empty tmpfs for the whole run.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

/* Hide /proc; true if it is hidden.  Not under ASan: its leak checker
 * reads /proc at exit. */
static bool hide_proc(void)
{
	const char *san = getenv("SAN");

	if (san && !strcmp(san, "asan"))
		return false;
	if (unshare(CLONE_NEWNS) < 0)
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("none", "/proc", "tmpfs", 0, "size=4k") < 0)
		return false;
	CHECK(access("/proc/self/fd", F_OK) < 0);
	return true;
}

/* One request: kick by writing @kick_w, wait for a byte on @call_r. */
static void request(struct tfe *fe, int kick_w, int call_r, unsigned int n)
{
	struct tfe_queue *q = &fe->q[0];
	char *out = tfe_alloc(fe, 16, 1), *in = tfe_alloc(fe, 16, 1);
	struct virtq_sg o = { out, 8 }, i = { in, 16 };
	struct pollfd p = { .fd = call_r, .events = POLLIN };
	char buf[64];
	void *tok;
	uint32_t len;

	snprintf(out, 8, "pipe%03u", n % 1000);
	CHECK_EQ(virtq_driver_add(q->drv, &o, 1, &i, 1, &tfe_token), 0);
	(void)virtq_driver_kick_prepare(q->drv);
	CHECK_EQ(write(kick_w, "k", 1), 1);
	/* Interrupts are enabled: the completion is signalled (a ring's
	 * start signals once too, so a signal may come with nothing). */
	for (;;) {
		CHECK_EQ(poll(&p, 1, TFE_TIMEOUT_MS), 1);
		CHECK(read(call_r, buf, sizeof(buf)) > 0);
		int r = virtq_driver_get_used(q->drv, &tok, &len);

		CHECK(r >= 0);
		if (r == 1)
			break;
	}
	CHECK(tok == &tfe_token);
	CHECK_EQ(len, 8);
	CHECK(!memcmp(in, out, 8));
}

int main(void)
{
	struct tbe tb;
	int kick[2], call[2], sv[2];
	uint64_t v = 0;
	struct tfe fe;
	bool hidden = hide_proc();

	fprintf(stderr, "/proc %s\n", hidden ? "hidden for this run" :
		"cannot be hidden here (no mount namespace); it stays");
	tbe_start_one(&tb, "vu-pipe", &ops);
	tfe_init(&fe, tb.path, 1 << 20);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, 8);

	CHECK_EQ(pipe2(kick, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(call, O_CLOEXEC), 0);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &v, 8, &call[1], 1));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &kick[0], 1));
	for (unsigned int n = 0; n < 10; n++)
		request(&fe, kick[1], call[0], n);

	/* A socketpair end as the kick fd. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &sv[0], 1));
	for (unsigned int n = 10; n < 20; n++)
		request(&fe, sv[1], call[0], n);

	tfe_close(&fe);
	tbe_stop(&tb);
	return 0;
}
