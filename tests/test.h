/* SPDX-License-Identifier: MIT */
/*
 * test.h - the few helpers every test program shares.
 *
 * A test is one program for one behaviour: exit 0 pass, 1 fail, 77 skip.
 * CHECK() reports the file, line, expression and the values involved, and
 * fails the test at once.
 */
#ifndef VIRTQ_TEST_H
#define VIRTQ_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_SKIP 77

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
			exit(1);					\
		}							\
	} while (0)

/* Compare two integers and print both on failure. */
#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);	\
			exit(1);					\
		}							\
	} while (0)

/* Deterministic PRNG (xorshift64*): tests are reproducible from a seed. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Scale a work count down under sanitizers (VIRTQ_SANITIZER / SAN env). */
static inline unsigned long test_scale(unsigned long n)
{
	const char *san = getenv("SAN");

	if (san && !strcmp(san, "tsan"))
		return n / 20 ? n / 20 : 1;
	if (san && !strcmp(san, "asan"))
		return n / 5 ? n / 5 : 1;
	return n;
}

/*
 * Replace this process with a program of the build ($B/bin/..., $B/examples/...),
 * run through $TEST_WRAPPER when that is set: make check-cross runs the
 * tests under an emulator ("qemu-s390x -L /usr/s390x-linux-gnu"), and a
 * program a test starts is built for the same target.  @argv[0] is
 * replaced by @bin.  Returns only if the exec failed.
 */
static inline void test_execv(const char *bin, char *const argv[])
{
	const char *w = getenv("TEST_WRAPPER");
	char *args[64], buf[512], *save = NULL;
	int n = 0;

	if (w && *w) {
		snprintf(buf, sizeof(buf), "%s", w);
		for (char *t = strtok_r(buf, " ", &save); t && n < 32;
		     t = strtok_r(NULL, " ", &save))
			args[n++] = t;
	}
	args[n++] = (char *)bin;
	for (int i = 1; argv[0] && argv[i] && n < 63; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execvp(args[0], args);
}

#endif /* VIRTQ_TEST_H */
