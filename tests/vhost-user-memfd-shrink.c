/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-memfd-shrink: a hostile frontend shares guest memory as a
 * memfd and then shrinks it (ftruncate), so that the backend's next
 * access through its mapping is past the end of the file (SIGBUS).  The
 * backend process must survive: the connection is closed, and the next
 * one is served.  Cases:
 *   - shrunk while a ring runs, under the buffers of a request;
 *   - shrunk under the rings after SET_MEM_TABLE, before the ring starts
 *     (the backend reads used->idx at start);
 *   - shrunk under the inflight region the frontend passed;
 *   - a memfd that allows sealing: the backend seals it against
 *     shrinking at map time, so the ftruncate itself fails.
 * The backend runs in a child process (the frontend's own accesses to
 * the shrunk memory would fault too); it must exit 0 when told to stop.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "vu-echo-device.h"
#include "vu-inflight.h"

#define MEM	(1u << 20)
#define QSIZE	8

static struct virtq_vu_backend *child_be;

static void on_term(int sig)
{
	(void)sig;
	virtq_vu_backend_stop(child_be);
}

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

static pid_t spawn_backend(const char *path)
{
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.ops = &ops,
	};
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, on_term);
	if (virtq_vu_backend_create(&child_be, &cfg) ||
	    virtq_vu_backend_listen(child_be, path))
		_exit(3);
	if (virtq_vu_backend_run(child_be))
		_exit(4);
	virtq_vu_backend_destroy(child_be);	/* removes the socket file */
	_exit(0);
}

static void alive(pid_t pid, const char *after)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) == pid) {
		fprintf(stderr, "FAIL after %s: the backend died (%s %d)\n", after,
			WIFSIGNALED(st) ? "signal" : "exit status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		exit(1);
	}
}

/* A good connection: one echo round trip. */
static void good(const char *path)
{
	struct tfe fe;
	char *out, *in;

	tfe_init(&fe, path, MEM);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, QSIZE);
	out = tfe_alloc(&fe, 16, 1);
	in = tfe_alloc(&fe, 16, 1);
	tfe_echo(&fe, 0, out, in, "alive");
	tfe_close(&fe);
}

/* Shrink under the buffers of a request while the ring runs. */
static void while_running(const char *path)
{
	struct tfe fe;
	struct virtq_sg o, i;
	char *far;

	tfe_init(&fe, path, MEM);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, QSIZE);	/* rings in the first pages */
	far = fe.mem + MEM / 2;		/* buffers in the upper half */
	o = (struct virtq_sg){ far, 64 };
	i = (struct virtq_sg){ far + 4096, 64 };
	CHECK_EQ(ftruncate(fe.memfd, MEM / 4), 0);
	tfe_offer(&fe, 0, &o, 1, &i, 1);	/* touches only the rings */
	CHECK(tfe_closed_by_peer(&fe));
	tfe_close(&fe);	/* unmaps without touching the memory */
}

/* Shrink under the rings before the ring starts. */
static void before_start(const char *path)
{
	struct tfe fe;
	struct vu_vring_addr a = { .index = 0 };
	struct vu_vring_state en = { .index = 0, .num = 1 };
	uint64_t v = 0;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);

	tfe_init(&fe, path, MEM);
	tfe_negotiate(&fe, ~0ull);
	a.desc_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_desc_size(QSIZE), 16);
	a.avail_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_avail_size(QSIZE), 2);
	a.used_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_used_size(QSIZE), 4);
	tfe_vring(&fe, VU_SET_VRING_NUM, 0, QSIZE);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &v, 8, &call, 1));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &kick, 1));
	CHECK_EQ(ftruncate(fe.memfd, 0), 0);
	/* The ring starts on this one: its rings are gone. */
	CHECK_EQ(tfe_send(&fe, VU_SET_VRING_ENABLE, VU_VERSION | VU_FLAG_NEED_REPLY,
			  &en, sizeof(en), NULL, 0), 0);
	CHECK(tfe_closed_by_peer(&fe));
	close(kick);
	close(call);
	tfe_close(&fe);
}

/* Shrink the inflight region the frontend passed, then start a ring. */
static void inflight_region(const char *path)
{
	struct tfe fe;
	uint64_t size = 4096;
	int fd = memfd_create("vu-test-inflight", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	tfe_init(&fe, path, MEM);
	tfe_negotiate(&fe, ~0ull);
	TFE_OK(tfi_set(&fe, fd, QSIZE, size));
	CHECK_EQ(ftruncate(fd, 0), 0);
	/* The ring's start reads the region (its version). */
	{
		struct tfe_queue *q = &fe.q[0];
		struct vu_vring_addr a = { .index = 0 };
		struct vu_vring_state en = { .index = 0, .num = 1 };
		uint64_t v = 0;

		q->kick = eventfd(0, EFD_CLOEXEC);
		q->call = eventfd(0, EFD_CLOEXEC);
		a.desc_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_desc_size(QSIZE), 16);
		a.avail_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_avail_size(QSIZE), 2);
		a.used_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_used_size(QSIZE), 4);
		tfe_vring(&fe, VU_SET_VRING_NUM, 0, QSIZE);
		TFE_OK(tfe_acked(&fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
		TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &v, 8, &q->call, 1));
		TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &q->kick, 1));
		CHECK_EQ(tfe_send(&fe, VU_SET_VRING_ENABLE, VU_VERSION | VU_FLAG_NEED_REPLY,
				  &en, sizeof(en), NULL, 0), 0);
	}
	CHECK(tfe_closed_by_peer(&fe));
	close(fd);
	tfe_close(&fe);
}

/* A sealable memfd: the backend seals it, the shrink is refused. */
static void sealable(const char *path)
{
	struct tfe fe;

	tfe_init(&fe, path, MEM);
	munmap(fe.mem, fe.mem_size);
	close(fe.memfd);
	fe.memfd = memfd_create("vu-test-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fe.memfd >= 0);
	CHECK_EQ(ftruncate(fe.memfd, MEM), 0);
	fe.mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, fe.memfd, 0);
	CHECK(fe.mem != MAP_FAILED);
	tfe_negotiate(&fe, ~0ull);
	CHECK(fcntl(fe.memfd, F_GET_SEALS) & F_SEAL_SHRINK);
	CHECK(ftruncate(fe.memfd, MEM / 2) < 0);
	CHECK_EQ(errno, EPERM);
	tfe_close(&fe);
}

int main(void)
{
	char dir[] = "/tmp/vu-shrink-XXXXXX", path[64];
	pid_t pid;
	int st;

	if (getenv("VIRTQ_EMULATED")) {
		/* qemu-user ends the program on a host SIGBUS in guest memory
		 * ("uncaught target signal 7") instead of delivering it. */
		printf("skip: %s does not deliver SIGBUS from a shrunk mapping to the program\n",
		       getenv("VIRTQ_EMULATED"));
		return TEST_SKIP;
	}
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	pid = spawn_backend(path);
	good(path);
	while_running(path);
	alive(pid, "a shrink while the ring ran");
	good(path);
	before_start(path);
	alive(pid, "a shrink before the ring started");
	good(path);
	inflight_region(path);
	alive(pid, "a shrink of the inflight region");
	good(path);
	sealable(path);
	good(path);
	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "FAIL: the backend ended with status 0x%x\n", st);
		return 1;
	}
	CHECK_EQ(rmdir(dir), 0);
	return 0;
}
