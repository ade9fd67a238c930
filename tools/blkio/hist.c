/* SPDX-License-Identifier: MIT */
/*
 * hist.c - latency histogram with log buckets: the power of two of a value
 * picks a group, its next HIST_SUB_BITS bits pick one of 16 buckets in the
 * group, so each bucket is at most 1/16 (6.25 %) wide.  Adding is a few
 * instructions and never allocates.
 */
#include "blkio.h"

static unsigned int bucket_of(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned int)v;
	unsigned int msb = 63u - (unsigned int)__builtin_clzll(v);
	unsigned int shift = msb - HIST_SUB_BITS;
	unsigned int sub = (unsigned int)(v >> shift) & ((1u << HIST_SUB_BITS) - 1);

	return ((shift + 1) << HIST_SUB_BITS) | sub;
}

/* Largest value that falls in bucket @b. */
static uint64_t bucket_top(unsigned int b)
{
	unsigned int group = b >> HIST_SUB_BITS;
	uint64_t sub = b & ((1u << HIST_SUB_BITS) - 1);

	if (group == 0)
		return sub;
	unsigned int shift = group - 1;

	return (((1ull << HIST_SUB_BITS) | sub) << shift) + ((1ull << shift) - 1);
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void hist_merge(struct hist *to, const struct hist *from)
{
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		to->b[i] += from->b[i];
	to->count += from->count;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->count)
		return 0;
	/* The rank of the quantile, 1-based, rounded up. */
	uint64_t rank = (uint64_t)(q * (double)h->count);

	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;

	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);

			return top < h->max_ns ? top : h->max_ns;
		}
	}
	return h->max_ns;
}
