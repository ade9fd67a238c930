/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what every fuzz target shares: reading the input as a stream
 * of little fields, and the oracle's way of failing.
 *
 * A target is LLVMFuzzerTestOneInput() over one input.  Built with clang
 * -fsanitize=fuzzer it is a libFuzzer target (make fuzz); built with
 * fuzz/replay.c instead it replays files (tests/fuzz-replay.sh runs every
 * seed and every saved regression under make check / check-asan /
 * check-tsan).  An oracle violation prints what broke and aborts, so
 * libFuzzer saves the input as a crash.
 */
#ifndef VIRTQ_FUZZ_H
#define VIRTQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: oracle: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			abort();					\
		}							\
	} while (0)

/* Same, with the two values printed. */
#define FUZZ_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "%s:%d: oracle: %s == %s: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);	\
			abort();					\
		}							\
	} while (0)

/* The input, read front to back; reads past the end give zeroes. */
struct fin {
	const uint8_t *p;
	size_t n;
};

static inline int fin_left(const struct fin *f)
{
	return f->n > 0;
}

static inline uint8_t fin_u8(struct fin *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fin_u16(struct fin *f)
{
	uint16_t v = fin_u8(f);

	return (uint16_t)(v | fin_u8(f) << 8);
}

static inline uint32_t fin_u32(struct fin *f)
{
	uint32_t v = fin_u16(f);

	return v | (uint32_t)fin_u16(f) << 16;
}

static inline uint64_t fin_u64(struct fin *f)
{
	uint64_t v = fin_u32(f);

	return v | (uint64_t)fin_u32(f) << 32;
}

/* Up to @max bytes into @buf; returns how many. */
static inline size_t fin_bytes(struct fin *f, void *buf, size_t max)
{
	size_t n = max < f->n ? max : f->n;

	memcpy(buf, f->p, n);
	f->p += n;
	f->n -= n;
	return n;
}

#endif /* VIRTQ_FUZZ_H */
