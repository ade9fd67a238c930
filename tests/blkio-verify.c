/* SPDX-License-Identifier: MIT */
/*
 * blkio-verify - virtq-blkio's block verifier tells good, unwritten,
 * missing, torn, misplaced, stale and future blocks apart, and its latency
 * histogram answers quantiles within one bucket (6.25 %).
 */
#include "test.h"
#include "../tools/blkio/hist.c"
#include "../tools/blkio/verify.c"

static uint8_t a[8192], b[8192];

static enum verdict check(const void *buf, uint64_t lba, uint64_t gen)
{
	char why[160];
	enum verdict v = verify_check(buf, 8192, lba, gen, why, sizeof(why));

	printf("lba %" PRIu64 " gen %" PRIx64 ": %d %s\n", lba, gen, v, why);
	CHECK((v == V_OK || v == V_UNWRITTEN) == (why[0] == 0));
	return v;
}

int main(void)
{
	const uint64_t e = 7ull << 32;	/* this run's epoch */

	/* Zeroes: unknown without expectation, missing with one. */
	CHECK_EQ(check(a, 16, 0), V_UNWRITTEN);
	CHECK_EQ(check(a, 16, e | 1), V_MISSING);

	verify_fill(a, sizeof(a), 16, e | 3);
	CHECK_EQ(check(a, 16, e | 3), V_OK);
	CHECK_EQ(check(a, 16, 0), V_OK);
	CHECK_EQ(check(a, 16, e | 4), V_STALE);
	CHECK_EQ(check(a, 16, e | 2), V_FUTURE);
	CHECK_EQ(check(a, 16, (8ull << 32) | 3), V_STALE);	/* earlier run */
	CHECK_EQ(check(a, 32, e | 3), V_MISPLACED);
	CHECK_EQ(check(a, 32, 0), V_MISPLACED);

	/* Half of the block from another write of the same place: torn. */
	verify_fill(b, sizeof(b), 16, e | 4);
	memcpy(b, a, 4096);
	CHECK_EQ(check(b, 16, e | 4), V_TORN);
	/* ...but sectors of different writes are fine when nothing is known
	 * (an earlier run with another block size). */
	CHECK_EQ(check(b, 16, 0), V_OK);

	/* One flipped bit anywhere in a sector: torn. */
	for (unsigned int off = 0; off < sizeof(a); off += 509) {
		verify_fill(b, sizeof(b), 16, e | 3);
		b[off] ^= 0x10;
		CHECK_EQ(check(b, 16, e | 3), V_TORN);
	}
	/* A stamped block with its tail never written. */
	verify_fill(b, sizeof(b), 16, e | 3);
	memset(b + 4096, 0, 4096);
	CHECK_EQ(check(b, 16, e | 3), V_TORN);

	/* Histogram: quantiles of 1..100000 ns within a bucket's width. */
	static struct hist h, h2;

	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(v & 1 ? &h : &h2, v);
	hist_merge(&h, &h2);
	CHECK_EQ(h.count, 100000);
	CHECK_EQ(h.max_ns, 100000);
	const double qs[] = { 0.5, 0.99, 0.999 };

	for (unsigned int i = 0; i < 3; i++) {
		double want = qs[i] * 100000, got = (double)hist_quantile(&h, qs[i]);

		printf("q %.3f: %.0f (exact %.0f)\n", qs[i], got, want);
		CHECK(got >= want && got <= want * 1.0625 + 1);
	}
	CHECK_EQ(hist_quantile(&h, 1.0), 100000);
	for (uint64_t v = 0; v < 16; v++)
		CHECK_EQ(bucket_top(bucket_of(v)), v);
	for (uint64_t v = 16; v < (1ull << 40); v = v * 3 + 1)
		CHECK(bucket_top(bucket_of(v)) >= v &&
		      bucket_top(bucket_of(v)) <= v + v / 16);
	return 0;
}
