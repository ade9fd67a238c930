/* SPDX-License-Identifier: MIT */
/*
 * example-vu-echo-backend: the example backend (examples/vu-echo-backend)
 * echoes chains whose readable and writable parts are split differently,
 * and exits 0 on SIGINT with its socket removed.
 */
#include <signal.h>
#include <sys/wait.h>

#include "vu-test-frontend.h"

int main(void)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char dir[] = "/tmp/vu-echo-ex-XXXXXX", path[64], bin[256];
	struct tfe fe;
	pid_t pid;
	int st;

	snprintf(bin, sizeof(bin), "%s/examples/vu-echo-backend", b);
	if (access(bin, X_OK) < 0) {
		printf("%s not built (make examples)\n", bin);
		return TEST_SKIP;
	}
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	{
		char *argv[] = { bin, path, NULL };

		pid = tfe_spawn(argv);
	}
	for (int i = 0; i < 500 && access(path, F_OK) < 0; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			/* e.g. a cross build without an emulator for it */
			printf("the example did not start (exit %d)\n",
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			rmdir(dir);
			return TEST_SKIP;
		}
		usleep(10000);
	}
	tfe_init(&fe, path, 1 << 20);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, 32);
	for (int round = 0; round < 100; round++) {
		char *src = tfe_alloc(&fe, 256, 8), *dst = tfe_alloc(&fe, 256, 8);
		uint32_t len = 1 + (uint32_t)(round * 37 % 200), cut = len / 3;
		struct virtq_sg o[2] = { { src, cut ? cut : len }, { src + cut, len - cut } };
		struct virtq_sg i[3] = { { dst, 7 }, { dst + 7, 50 }, { dst + 57, 199 } };

		for (uint32_t k = 0; k < len; k++)
			src[k] = (char)(k * 7 + round);
		CHECK_EQ(tfe_request(&fe, 0, o, cut ? 2 : 1, i, 3), len);
		CHECK(!memcmp(src, dst, len));
		fe.bump = 0x10000;	/* past the rings: reuse the buffers */
	}
	tfe_close(&fe);
	CHECK_EQ(kill(pid, SIGINT), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ(rmdir(dir), 0);
	return 0;
}
