/* SPDX-License-Identifier: MIT */
/*
 * gmem_internal.h - the guest memory map's layout and its lookup, inlined
 * into the device side's hot path.  Never installed.
 */
#ifndef VIRTQ_GMEM_INTERNAL_H
#define VIRTQ_GMEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/gmem.h"

/*
 * Regions sorted by gpa, never overlapping; each satisfies
 * size > 0 and gpa + size <= UINT64_MAX (no region ends at 2^64, so
 * "end = gpa + size" never wraps anywhere in this code).
 */
struct virtq_gmem {
	struct virtq_gmem_region *r;
	unsigned int n;
	unsigned int cap;
};

/* First region index whose gpa is > @gpa (binary search; insertion point). */
static inline unsigned int __virtq_gmem_upper_bound(const struct virtq_gmem *gm,
						    uint64_t gpa)
{
	unsigned int lo = 0, hi = gm->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (gm->r[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Index of the region holding @gpa, or -1: the last region starting at or
 * below gpa, then one bounds check.
 */
static inline int __virtq_gmem_find(const struct virtq_gmem *gm, uint64_t gpa)
{
	unsigned int lo = __virtq_gmem_upper_bound(gm, gpa);

	if (lo == 0)
		return -1;
	lo--;
	/* gpa >= r.gpa here, so the subtraction cannot wrap. */
	if (gpa - gm->r[lo].gpa >= gm->r[lo].size)
		return -1;
	return (int)lo;
}

/*
 * Host pointer for [gpa, gpa + len) inside one region, else NULL.
 * Overflow-safe: compares lengths, never computes gpa + len.
 */
static inline void *__virtq_gmem_ptr(const struct virtq_gmem *gm, uint64_t gpa,
				     uint64_t len)
{
	int i = __virtq_gmem_find(gm, gpa);
	const struct virtq_gmem_region *r;
	uint64_t off;

	if (i < 0)
		return NULL;
	r = &gm->r[i];
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return (char *)r->hva + off;
}

/* 0 if every byte of [gpa, gpa + len) is guest memory, else -EFAULT. */
int __virtq_gmem_check(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len);

#endif /* VIRTQ_GMEM_INTERNAL_H */
