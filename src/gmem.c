/* SPDX-License-Identifier: MIT */
/*
 * gmem.c - guest memory map: sorted regions, binary-search lookup, and
 * bounds- and overflow-checked translation to host memory.
 *
 * The map is built while no queue uses it (add / remove allocate and
 * shift), then only read.  Every range check compares lengths against
 * what is left of a region instead of computing gpa + len, so no input
 * can make an end address wrap.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gmem_internal.h"

int virtq_gmem_create(struct virtq_gmem **out)
{
	struct virtq_gmem *gm = calloc(1, sizeof(*gm));

	if (!gm)
		return -ENOMEM;
	*out = gm;
	return 0;
}

void virtq_gmem_destroy(struct virtq_gmem *gm)
{
	if (!gm)
		return;
	free(gm->r);
	free(gm);
}

static int grow(struct virtq_gmem *gm)
{
	struct virtq_gmem_region *r;
	unsigned int cap;

	if (gm->n < gm->cap)
		return 0;
	if (gm->cap > (unsigned int)(UINT32_MAX / 2 / sizeof(*r)))
		return -ENOMEM;
	cap = gm->cap ? gm->cap * 2 : 8;
	r = realloc(gm->r, (size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	gm->r = r;
	gm->cap = cap;
	return 0;
}

int virtq_gmem_add(struct virtq_gmem *gm, const struct virtq_gmem_region *nr)
{
	unsigned int pos;
	int ret;

	if (!gm || !nr || nr->size == 0 || !nr->hva)
		return -EINVAL;
	/* End addresses must be representable: gpa + size <= UINT64_MAX. */
	if (nr->size > UINT64_MAX - nr->gpa)
		return -EINVAL;
	if (nr->size > UINT64_MAX - nr->uaddr)
		return -EINVAL;
	if (nr->size > UINTPTR_MAX - (uintptr_t)nr->hva)
		return -EINVAL;

	pos = __virtq_gmem_upper_bound(gm, nr->gpa);
	/* The region before must end at or below our start... */
	if (pos > 0) {
		const struct virtq_gmem_region *p = &gm->r[pos - 1];

		if (nr->gpa - p->gpa < p->size)
			return -EEXIST;
	}
	/* ...and the one after must start at or above our end. */
	if (pos < gm->n && gm->r[pos].gpa - nr->gpa < nr->size)
		return -EEXIST;

	ret = grow(gm);
	if (ret)
		return ret;
	memmove(&gm->r[pos + 1], &gm->r[pos],
		(size_t)(gm->n - pos) * sizeof(gm->r[0]));
	gm->r[pos] = *nr;
	gm->n++;
	return 0;
}

int virtq_gmem_remove(struct virtq_gmem *gm, uint64_t gpa, uint64_t size)
{
	int i;

	if (!gm)
		return -ENOENT;
	i = __virtq_gmem_find(gm, gpa);
	if (i < 0 || gm->r[i].gpa != gpa || gm->r[i].size != size)
		return -ENOENT;
	memmove(&gm->r[i], &gm->r[i + 1],
		(size_t)(gm->n - (unsigned int)i - 1) * sizeof(gm->r[0]));
	gm->n--;
	return 0;
}

unsigned int virtq_gmem_count(const struct virtq_gmem *gm)
{
	return gm ? gm->n : 0;
}

const struct virtq_gmem_region *virtq_gmem_region(const struct virtq_gmem *gm,
						  unsigned int i)
{
	if (!gm || i >= gm->n)
		return NULL;
	return &gm->r[i];
}

void *virtq_gmem_ptr(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len)
{
	if (!gm)
		return NULL;
	return __virtq_gmem_ptr(gm, gpa, len);
}

/*
 * Walk [gpa, gpa + len) region by region.  Regions are sorted, so the
 * piece after region i can only continue in region i + 1, and only if
 * that region starts exactly where region i ends (otherwise a hole).
 */
int virtq_gmem_iov(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned int cap)
{
	unsigned int n = 0;
	int i;

	if (len == 0)
		return 0;
	if (!gm)
		return -EFAULT;
	if (len - 1 > UINT64_MAX - gpa)
		return -EFAULT;
	i = __virtq_gmem_find(gm, gpa);
	if (i < 0)
		return -EFAULT;
	for (;;) {
		const struct virtq_gmem_region *r = &gm->r[i];
		uint64_t off = gpa - r->gpa;
		uint64_t chunk = r->size - off;

		if (chunk > len)
			chunk = len;
		if (n == cap)
			return -ENOBUFS;
		if (chunk > SIZE_MAX)
			return -EFAULT;
		iov[n].iov_base = (char *)r->hva + off;
		iov[n].iov_len = (size_t)chunk;
		n++;
		len -= chunk;
		if (len == 0)
			break;
		gpa += chunk;	/* == r->gpa + r->size, no wrap (see add) */
		i++;
		if ((unsigned int)i >= gm->n || gm->r[i].gpa != gpa)
			return -EFAULT;
	}
	/* n <= cap; a cap above INT_MAX could not be reported as a count. */
	return n > (unsigned int)INT_MAX ? -ENOBUFS : (int)n;
}

int __virtq_gmem_check(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len)
{
	int i;

	if (len == 0)
		return 0;
	if (!gm || len - 1 > UINT64_MAX - gpa)
		return -EFAULT;
	i = __virtq_gmem_find(gm, gpa);
	if (i < 0)
		return -EFAULT;
	for (;;) {
		const struct virtq_gmem_region *r = &gm->r[i];
		uint64_t chunk = r->size - (gpa - r->gpa);

		if (chunk >= len)
			return 0;
		len -= chunk;
		gpa += chunk;	/* == region end, no wrap (see add) */
		i++;
		if ((unsigned int)i >= gm->n || gm->r[i].gpa != gpa)
			return -EFAULT;
	}
}

/* Same walk as virtq_gmem_iov, copying instead of collecting. */
static int copy(const struct virtq_gmem *gm, uint64_t gpa, void *buf,
		size_t len, bool to_guest)
{
	char *p = buf;
	int i;

	if (len == 0)
		return 0;
	if (!gm)
		return -EFAULT;
	if ((uint64_t)len - 1 > UINT64_MAX - gpa)
		return -EFAULT;
	i = __virtq_gmem_find(gm, gpa);
	if (i < 0)
		return -EFAULT;
	/* Check the whole range first so a failed copy changes nothing. */
	if (__virtq_gmem_check(gm, gpa, len))
		return -EFAULT;
	while (len) {
		const struct virtq_gmem_region *r = &gm->r[i];
		uint64_t off = gpa - r->gpa;
		uint64_t chunk = r->size - off;

		if (chunk > len)
			chunk = len;
		if (to_guest)
			memcpy((char *)r->hva + off, p, (size_t)chunk);
		else
			memcpy(p, (char *)r->hva + off, (size_t)chunk);
		p += chunk;
		len -= (size_t)chunk;
		gpa += chunk;
		i++;
	}
	return 0;
}

int virtq_gmem_read(const struct virtq_gmem *gm, uint64_t gpa, void *buf,
		    size_t len)
{
	return copy(gm, gpa, buf, len, false);
}

int virtq_gmem_write(const struct virtq_gmem *gm, uint64_t gpa,
		     const void *buf, size_t len)
{
	return copy(gm, gpa, (void *)buf, len, true);
}

/*
 * Frontend virtual addresses are looked up linearly: this runs when a ring
 * is configured (a handful of times per connection), never per request.
 */
int virtq_gmem_uaddr_to_gpa(const struct virtq_gmem *gm, uint64_t uaddr,
			    uint64_t len, uint64_t *gpa)
{
	unsigned int i;

	if (!gm)
		return -EFAULT;
	for (i = 0; i < gm->n; i++) {
		const struct virtq_gmem_region *r = &gm->r[i];
		uint64_t off;

		if (!r->uaddr)	/* 0: the region has no frontend address */
			continue;
		if (uaddr < r->uaddr || uaddr - r->uaddr >= r->size)
			continue;
		off = uaddr - r->uaddr;
		if (len > r->size - off)
			return -EFAULT;
		*gpa = r->gpa + off;
		return 0;
	}
	return -EFAULT;
}
