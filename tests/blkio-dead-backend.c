/* SPDX-License-Identifier: MIT */
/*
 * blkio-dead-backend - the vhost-user frontend facing a backend that dies
 * or misbehaves: each case gives a specific -errno and a message within the
 * time-out, and nothing hangs.
 *
 * A tiny fake backend runs in a child process, one behaviour per case:
 *   silent      accepts, reads, never answers        -> -ETIMEDOUT at connect
 *   hangup      accepts and closes at once           -> -ECONNRESET at connect
 *   nonsense    answers GET_FEATURES with another request -> -EPROTO
 *   shortreply  answers GET_FEATURES with 4 bytes    -> -EPROTO
 *   nack        answers SET_MEM_TABLE's REPLY_ACK with failure -> -EIO
 *   closemid    completes setup, then closes         -> wait gives -ECONNRESET
 *   stall       completes setup, never uses a buffer -> wait times out,
 *                                                      stop -ETIMEDOUT
 *   garbage     completes setup, then writes junk    -> wait gives -EPROTO
 *   noconfig    no CONFIG protocol feature           -> get_config -ENOTSUP
 *
 * "blkio-dead-backend serve CASE PATH" runs only the fake backend, for
 * tests/integration/blkio-dead-backend (virtq-blkio against it).
 */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "virtq/vhost_user.h"
#include "vhost-user/msg.h"

#define TIMEOUT_MS 1000	/* generous: the fake backends must get scheduled on a busy machine */
/* Frontends that must get through setup wait this long for each reply. */
#define OK_TIMEOUT_MS 5000
/* Time bounds only catch hangs; they allow this much for a loaded machine. */
#define SLACK_S 10.0

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(s, 1) == 0);
	return s;
}

static void reply(int c, struct vu_msg *m, uint32_t size)
{
	m->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	m->hdr.size = size;
	__virtq_vu_send(c, m, NULL, 0);
}

/*
 * Answer like a minimal vhost-user-blk backend until the first
 * SET_VRING_ENABLE, then misbehave according to @mode.
 */
static void serve(const char *mode, int c)
{
	struct vu_msg m;

	if (!strcmp(mode, "hangup"))
		return;
	while (__virtq_vu_recv(c, &m, -1) == 0) {
		uint32_t req = m.hdr.request;
		bool need = m.hdr.flags & VU_FLAG_NEED_REPLY;
		bool enable = req == VU_SET_VRING_ENABLE && m.p.state.num == 1;

		__virtq_vu_msg_close_fds(&m);
		if (!strcmp(mode, "silent"))
			continue;
		if (!strcmp(mode, "nonsense") && req == VU_GET_FEATURES) {
			m.hdr.request = VU_GET_VRING_BASE;
			reply(c, &m, 8);
			continue;
		}
		if (!strcmp(mode, "shortreply") && req == VU_GET_FEATURES) {
			reply(c, &m, 4);
			continue;
		}
		switch (req) {
		case VU_GET_FEATURES:
			m.p.u64 = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
				  (1ull << VU_F_PROTOCOL_FEATURES) |
				  VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
			reply(c, &m, 8);
			continue;
		case VU_GET_PROTOCOL_FEATURES:
			m.p.u64 = (1ull << VU_PROTOCOL_F_REPLY_ACK) |
				  (1ull << VU_PROTOCOL_F_MQ);
			if (strcmp(mode, "noconfig"))
				m.p.u64 |= 1ull << VU_PROTOCOL_F_CONFIG;
			reply(c, &m, 8);
			continue;
		case VU_GET_QUEUE_NUM:
			m.p.u64 = 1;
			reply(c, &m, 8);
			continue;
		case VU_GET_CONFIG: {
			uint32_t len = m.p.config.size;
			uint64_t cap = virtq_cpu_to_le64(2048);	/* 1 MiB */

			memset(m.p.config.region, 0, sizeof(m.p.config.region));
			memcpy(m.p.config.region, &cap, 8);
			reply(c, &m, VU_CONFIG_HDR_SIZE + len);
			continue;
		}
		case VU_GET_VRING_BASE:
			if (!strcmp(mode, "stall"))
				continue;	/* never answers */
			m.p.state.num = 0;
			reply(c, &m, sizeof(m.p.state));
			continue;
		}
		if (need) {
			m.p.u64 = !strcmp(mode, "nack") && req == VU_SET_MEM_TABLE;
			reply(c, &m, 8);
		}
		if (enable) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			if (!strcmp(mode, "closemid"))
				return;
			if (!strcmp(mode, "garbage"))
				send(c, "junk", 4, MSG_NOSIGNAL);
		}
	}
}

static void serve_forever(const char *mode, const char *path)
{
	int l = listen_on(path);

	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0)
			continue;
		serve(mode, c);
		close(c);
	}
}

static pid_t start_backend(const char *mode, const char *path)
{
	int l = listen_on(path);
	pid_t pid;

	fflush(stdout);		/* or the child's exit prints it again */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Never outlive a test that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int c = accept(l, NULL, NULL);

		if (c >= 0)
			serve(mode, c);
		/* Hold the socket of the silent / stall cases until killed. */
		if (!strcmp(mode, "silent") || !strcmp(mode, "stall"))
			pause();
		_exit(0);
	}
	close(l);
	return pid;
}

static void stop_backend(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Connecting to @mode fails with @want, in time, with a message. */
static void connect_case(const char *dir, const char *mode, int want,
			 const char *text)
{
	char path[256];
	struct virtq_vu_frontend *fe;
	double t0;
	int r;

	snprintf(path, sizeof(path), "%s/%s.sock", dir, mode);
	pid_t pid = start_backend(mode, path);

	t0 = now();
	r = virtq_vu_frontend_connect(&fe, path, TIMEOUT_MS);
	printf("%-10s connect: %d (%s) after %.2f s\n", mode, r,
	       virtq_vu_frontend_error(fe), now() - t0);
	CHECK_EQ(r, want);
	CHECK(strstr(virtq_vu_frontend_error(fe), text) != NULL);
	CHECK(now() - t0 < TIMEOUT_MS / 1000.0 + SLACK_S);
	virtq_vu_frontend_close(fe);
	stop_backend(pid);
}

static struct virtq_vu_frontend *started(const char *path, bool poll,
					 int *start_result)
{
	struct virtq_vu_frontend *fe;
	struct virtq_vu_frontend_setup s = {
		.features = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
		.num_queues = 1,
		.queue_size = 16,
		.buf_size = 4096,
		.poll = poll,
	};

	CHECK_EQ(virtq_vu_frontend_connect(&fe, path, OK_TIMEOUT_MS), 0);
	CHECK_EQ(virtq_vu_frontend_max_queues(fe), 1);

	uint8_t cfg[8];

	CHECK_EQ(virtq_vu_frontend_get_config(fe, 0, cfg, sizeof(cfg)), 0);
	CHECK_EQ(cfg[1], 8);	/* 2048 sectors, little-endian */
	*start_result = virtq_vu_frontend_start(fe, &s);
	return fe;
}

/* After a good start, the backend misbehaves while a request is out. */
static void run_case(const char *dir, const char *mode, bool poll,
		     int want_wait, int want_stop)
{
	char path[256];
	struct virtq_vu_frontend *fe;
	int r;

	snprintf(path, sizeof(path), "%s/%s.sock", dir, mode);
	pid_t pid = start_backend(mode, path);

	fe = started(path, poll, &r);
	CHECK_EQ(r, 0);

	size_t len;
	uint8_t *buf = virtq_vu_frontend_buf(fe, &len);
	struct virtq_driver *vq = virtq_vu_frontend_queue(fe, 0);
	struct virtq_sg out = { buf, 16 }, in = { buf + 16, 1 };
	uint8_t outside[16];
	struct virtq_sg bad = { outside, sizeof(outside) };

	CHECK(len >= 4096 && vq);
	/* Only the shared memory can be offered to the device. */
	CHECK_EQ(virtq_driver_add(vq, &bad, 1, &in, 1, buf), -EFAULT);
	CHECK_EQ(virtq_driver_add(vq, &out, 1, &in, 1, buf), 0);
	CHECK(virtq_driver_kick(vq) >= 0);

	double t0 = now();

	/*
	 * A backend that goes away must be noticed however long it takes
	 * to be scheduled on a busy machine: give those cases a long
	 * timeout, and only the stalling one the short one.
	 */
	int wait_ms = want_wait ? 20 * TIMEOUT_MS : TIMEOUT_MS;

	r = virtq_vu_frontend_wait(fe, 0, wait_ms);
	printf("%-10s wait (%s): %d after %.2f s\n", mode,
	       poll ? "polling" : "interrupts", r, now() - t0);
	CHECK_EQ(r, want_wait);
	CHECK(now() - t0 < wait_ms / 1000.0 + 2);

	t0 = now();
	r = virtq_vu_frontend_stop(fe);
	printf("%-10s stop: %d (%s) after %.2f s\n", mode, r,
	       virtq_vu_frontend_error(fe), now() - t0);
	CHECK_EQ(r, want_stop);
	CHECK(now() - t0 < 2 * OK_TIMEOUT_MS / 1000.0 + SLACK_S);
	virtq_vu_frontend_close(fe);
	stop_backend(pid);
}

static void nack_case(const char *dir)
{
	char path[256];
	struct virtq_vu_frontend *fe;
	int r;

	snprintf(path, sizeof(path), "%s/nack.sock", dir);
	pid_t pid = start_backend("nack", path);

	fe = started(path, false, &r);
	printf("nack       start: %d (%s)\n", r, virtq_vu_frontend_error(fe));
	CHECK_EQ(r, -EIO);
	CHECK(strstr(virtq_vu_frontend_error(fe), "rejected SET_MEM_TABLE"));
	virtq_vu_frontend_close(fe);
	stop_backend(pid);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/virtq-dead-backend.XXXXXX";
	struct virtq_vu_frontend *fe;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "serve")) {
		serve_forever(argv[2], argv[3]);
		return 0;
	}
	CHECK(mkdtemp(dir));

	/* Nobody listening: a plain -errno and a hint. */
	char path[300];

	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	CHECK_EQ(virtq_vu_frontend_connect(&fe, path, TIMEOUT_MS), -ENOENT);
	CHECK(strstr(virtq_vu_frontend_error(fe), "is the backend running"));
	virtq_vu_frontend_close(fe);

	connect_case(dir, "silent", -ETIMEDOUT, "no reply to GET_FEATURES");
	connect_case(dir, "hangup", -ECONNRESET, "closed the connection");
	connect_case(dir, "nonsense", -EPROTO, "answered GET_FEATURES with GET_VRING_BASE");
	connect_case(dir, "shortreply", -EPROTO, "has 4 bytes");

	snprintf(path, sizeof(path), "%s/noconfig.sock", dir);
	pid_t pid = start_backend("noconfig", path);
	uint8_t cfg[8];

	CHECK_EQ(virtq_vu_frontend_connect(&fe, path, OK_TIMEOUT_MS), 0);
	CHECK_EQ(virtq_vu_frontend_get_config(fe, 0, cfg, sizeof(cfg)), -ENOTSUP);
	virtq_vu_frontend_close(fe);
	stop_backend(pid);

	nack_case(dir);
	for (int poll = 0; poll < 2; poll++) {
		run_case(dir, "closemid", poll, -ECONNRESET, -ECONNRESET);
		run_case(dir, "stall", poll, 0, -ETIMEDOUT);
		run_case(dir, "garbage", poll, -EPROTO, -EPROTO);
	}

	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return 0;
}
