/* SPDX-License-Identifier: MIT */
/*
 * gmem-map: the guest memory map with 1000 regions added in random order
 * (some adjacent, some with holes, host addresses shuffled): random
 * lookups checked against a linear reference, ranges spanning regions
 * turned into several iovecs, -EFAULT at every region edge, overflow at
 * the top of the address space, -EEXIST for overlapping adds, removal,
 * cross-region read / write, and frontend-address translation.
 */
#include <stdbool.h>

#include "test.h"
#include "virtq/gmem.h"

#define NREG 1000

static struct virtq_gmem_region regs[NREG];	/* sorted by gpa */
static unsigned char *backing;

/* Reference: index of the region holding gpa, linear, or -1. */
static int ref_find(uint64_t gpa)
{
	for (int i = 0; i < NREG; i++)
		if (gpa >= regs[i].gpa && gpa - regs[i].gpa < regs[i].size)
			return i;
	return -1;
}

static void *ref_ptr(uint64_t gpa, uint64_t len)
{
	int i = ref_find(gpa);

	if (i < 0 || len > regs[i].size - (gpa - regs[i].gpa))
		return NULL;
	return (char *)regs[i].hva + (gpa - regs[i].gpa);
}

/* Reference iovec count for [gpa, gpa+len), or -EFAULT. */
static int ref_iov(uint64_t gpa, uint64_t len, struct iovec *iov, int cap)
{
	int n = 0;

	while (len) {
		int i = ref_find(gpa);
		uint64_t off, chunk;

		if (i < 0)
			return -EFAULT;
		off = gpa - regs[i].gpa;
		chunk = regs[i].size - off;
		if (chunk > len)
			chunk = len;
		if (n == cap)
			return -ENOBUFS;
		iov[n].iov_base = (char *)regs[i].hva + off;
		iov[n].iov_len = chunk;
		n++;
		len -= chunk;
		if (gpa + chunk < gpa)
			return -EFAULT;
		gpa += chunk;
	}
	return n;
}

static void build(struct virtq_gmem *gm, uint64_t *seed)
{
	uint64_t gpa = 0x1000, total = 0, off = 0;
	unsigned int perm[NREG];

	for (int i = 0; i < NREG; i++) {
		regs[i].gpa = gpa;
		regs[i].size = 1 + test_rand(seed) % 4096;
		regs[i].uaddr = 0x7f0000000000ull + gpa * 2;
		total += regs[i].size;
		/* a third of them start right where the previous one ends */
		gpa += regs[i].size + (test_rand(seed) % 3 ? test_rand(seed) % 8192 + 1 : 0);
	}
	backing = malloc(total);
	CHECK(backing);
	/* host addresses in a shuffled order */
	for (int i = 0; i < NREG; i++)
		perm[i] = (unsigned int)i;
	for (int i = NREG - 1; i > 0; i--) {
		unsigned int j = (unsigned int)(test_rand(seed) % (uint64_t)(i + 1));
		unsigned int t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int k = 0; k < NREG; k++) {
		regs[perm[k]].hva = backing + off;
		off += regs[perm[k]].size;
	}
	/* add in another shuffled order */
	for (int i = NREG - 1; i > 0; i--) {
		unsigned int j = (unsigned int)(test_rand(seed) % (uint64_t)(i + 1));
		unsigned int t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int k = 0; k < NREG; k++)
		CHECK_EQ(virtq_gmem_add(gm, &regs[perm[k]]), 0);
	CHECK_EQ(virtq_gmem_count(gm), NREG);
	for (unsigned int i = 0; i < NREG; i++) {
		const struct virtq_gmem_region *r = virtq_gmem_region(gm, i);
		CHECK(r);
		CHECK_EQ(r->gpa, regs[i].gpa);
		CHECK_EQ(r->size, regs[i].size);
		CHECK(r->hva == regs[i].hva);
	}
	CHECK(virtq_gmem_region(gm, NREG) == NULL);
}

static void random_lookups(struct virtq_gmem *gm, uint64_t *seed)
{
	uint64_t top = regs[NREG - 1].gpa + regs[NREG - 1].size + 0x2000;
	struct iovec a[8], b[8];
	unsigned long n = test_scale(200000);

	for (unsigned long k = 0; k < n; k++) {
		uint64_t gpa = test_rand(seed) % top;
		uint64_t len = test_rand(seed) % 3 ? test_rand(seed) % 64 :
			       test_rand(seed) % 20000;

		CHECK(virtq_gmem_ptr(gm, gpa, len) == ref_ptr(gpa, len));
		int cap = (int)(test_rand(seed) % 9);
		int rr = ref_iov(gpa, len, b, cap);
		int got = virtq_gmem_iov(gm, gpa, len, a, (unsigned int)cap);
		if (rr == -ENOBUFS && got == -EFAULT)
			continue;	/* both wrong; the hole lies past cap */
		CHECK_EQ(got, rr);
		for (int i = 0; i < got; i++) {
			CHECK(a[i].iov_base == b[i].iov_base);
			CHECK_EQ(a[i].iov_len, b[i].iov_len);
		}
	}
}

/* Every region's edges, with its neighbours adjacent or not. */
static void edges(struct virtq_gmem *gm)
{
	struct iovec iov[4];

	for (int i = 0; i < NREG; i++) {
		uint64_t g = regs[i].gpa, s = regs[i].size, end = g + s;
		bool adj_before = i > 0 && regs[i - 1].gpa + regs[i - 1].size == g;
		bool adj_after = i + 1 < NREG && regs[i + 1].gpa == end;

		CHECK(virtq_gmem_ptr(gm, g, s) == regs[i].hva);
		CHECK(virtq_gmem_ptr(gm, g, s + 1) == NULL);
		CHECK(virtq_gmem_ptr(gm, end - 1, 1) ==
		      (char *)regs[i].hva + s - 1);
		CHECK(virtq_gmem_ptr(gm, end - 1, 2) == NULL);
		CHECK_EQ(virtq_gmem_iov(gm, g, s, iov, 4), 1);
		CHECK_EQ(virtq_gmem_iov(gm, end - 1, 2, iov, 4),
			 adj_after ? 2 : -EFAULT);
		CHECK_EQ(virtq_gmem_iov(gm, g - 1, 2, iov, 4),
			 adj_before ? 2 : -EFAULT);
		if (!adj_before)
			CHECK(virtq_gmem_ptr(gm, g - 1, 0) == NULL);
		if (!adj_after) {
			CHECK(virtq_gmem_ptr(gm, end, 0) == NULL);
			CHECK_EQ(virtq_gmem_iov(gm, end, 1, iov, 4), -EFAULT);
			char c;
			CHECK_EQ(virtq_gmem_read(gm, end, &c, 1), -EFAULT);
		}
		if (adj_after) {
			CHECK_EQ(virtq_gmem_iov(gm, end - 1, 2, iov, 4), 2);
			CHECK(iov[0].iov_base == (char *)regs[i].hva + s - 1);
			CHECK_EQ(iov[0].iov_len, 1);
			CHECK(iov[1].iov_base == regs[i + 1].hva);
			CHECK_EQ(iov[1].iov_len, 1);
			CHECK_EQ(virtq_gmem_iov(gm, end - 1, 2, iov, 1), -ENOBUFS);
		}
	}
	CHECK(virtq_gmem_ptr(gm, 0, 0) == NULL);	/* below the first */
	CHECK_EQ(virtq_gmem_iov(gm, 0x1000, 0, iov, 0), 0);
}

/* Contiguous runs: write across all regions of a run, read back. */
static void read_write(struct virtq_gmem *gm, uint64_t *seed)
{
	static unsigned char in[1 << 16], out[1 << 16];

	for (int i = 0; i < NREG; i++) {
		int j = i;
		uint64_t len;

		while (j + 1 < NREG && regs[j + 1].gpa == regs[j].gpa + regs[j].size)
			j++;
		len = regs[j].gpa + regs[j].size - regs[i].gpa;
		if (len > sizeof(in))
			len = sizeof(in);
		for (uint64_t k = 0; k < len; k++)
			in[k] = (unsigned char)test_rand(seed);
		CHECK_EQ(virtq_gmem_write(gm, regs[i].gpa, in, len), 0);
		memset(out, 0, len);
		CHECK_EQ(virtq_gmem_read(gm, regs[i].gpa, out, len), 0);
		CHECK(memcmp(in, out, len) == 0);
		/* byte by byte through the reference mapping */
		for (uint64_t k = 0; k < len; k += 97)
			CHECK_EQ(*(unsigned char *)ref_ptr(regs[i].gpa + k, 1), in[k]);
		/* one byte further is a hole (or the end): nothing written */
		if (j + 1 == NREG || regs[j].gpa + regs[j].size - regs[i].gpa == len) {
			unsigned char last = *(unsigned char *)ref_ptr(regs[i].gpa, 1);
			memset(in, 0xee, len + 1);
			CHECK_EQ(virtq_gmem_write(gm, regs[i].gpa, in, len + 1), -EFAULT);
			CHECK_EQ(*(unsigned char *)ref_ptr(regs[i].gpa, 1), last);
			CHECK_EQ(virtq_gmem_read(gm, regs[i].gpa, out, len + 1), -EFAULT);
		}
		i = j;
	}
}

static void uaddr(struct virtq_gmem *gm)
{
	uint64_t gpa;

	for (int i = 0; i < NREG; i += 7) {
		CHECK_EQ(virtq_gmem_uaddr_to_gpa(gm, regs[i].uaddr + 1,
						 regs[i].size - 1, &gpa), 0);
		CHECK_EQ(gpa, regs[i].gpa + 1);
		CHECK_EQ(virtq_gmem_uaddr_to_gpa(gm, regs[i].uaddr,
						 regs[i].size + 1, &gpa), -EFAULT);
	}
	CHECK_EQ(virtq_gmem_uaddr_to_gpa(gm, 0x10, 1, &gpa), -EFAULT);
	CHECK_EQ(virtq_gmem_uaddr_to_gpa(gm, ~0ull, 1, &gpa), -EFAULT);
}

static void overlaps_and_limits(void)
{
	struct virtq_gmem *gm;
	static char mem[0x4000];
	struct virtq_gmem_region r = { .gpa = 0x10000, .size = 0x1000, .hva = mem };
	struct iovec iov[2];

	CHECK_EQ(virtq_gmem_create(&gm), 0);
	CHECK_EQ(virtq_gmem_add(gm, &r), 0);
	const uint64_t clash[][2] = {
		{ 0x10000, 0x1000 }, { 0x10000, 1 }, { 0xffff, 2 },
		{ 0x10fff, 1 }, { 0x10fff, 0x100 }, { 0xf000, 0x10000 },
		{ 0x10800, 0x10 }, { 0, 0x10001 },
	};
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		struct virtq_gmem_region c = { .gpa = clash[i][0],
					       .size = clash[i][1], .hva = mem };
		CHECK_EQ(virtq_gmem_add(gm, &c), -EEXIST);
	}
	/* exactly adjacent on both sides: fine */
	struct virtq_gmem_region lo = { .gpa = 0xf000, .size = 0x1000, .hva = mem + 0x1000 };
	struct virtq_gmem_region hi = { .gpa = 0x11000, .size = 0x1000, .hva = mem + 0x2000 };
	CHECK_EQ(virtq_gmem_add(gm, &hi), 0);
	CHECK_EQ(virtq_gmem_add(gm, &lo), 0);
	CHECK_EQ(virtq_gmem_iov(gm, 0xf000, 0x3000, iov, 2), -ENOBUFS);

	/* invalid regions */
	struct virtq_gmem_region bad = { .gpa = 0x100000, .size = 0, .hva = mem };
	CHECK_EQ(virtq_gmem_add(gm, &bad), -EINVAL);
	bad.size = 1;
	bad.hva = NULL;
	CHECK_EQ(virtq_gmem_add(gm, &bad), -EINVAL);
	bad.hva = mem;
	bad.gpa = ~0ull - 0xff;
	bad.size = 0x101;		/* ends past 2^64 - 1 */
	CHECK_EQ(virtq_gmem_add(gm, &bad), -EINVAL);
	bad.gpa = 0x100000;
	bad.uaddr = ~0ull - 10;
	bad.size = 0x100;
	CHECK_EQ(virtq_gmem_add(gm, &bad), -EINVAL);

	/* a region right at the top of the address space */
	struct virtq_gmem_region top = { .gpa = ~0ull - 0x1000, .size = 0x1000,
					 .hva = mem };
	CHECK_EQ(virtq_gmem_add(gm, &top), 0);
	CHECK(virtq_gmem_ptr(gm, ~0ull - 1, 1) == mem + 0xfff);
	CHECK(virtq_gmem_ptr(gm, ~0ull - 1, 2) == NULL);
	CHECK(virtq_gmem_ptr(gm, ~0ull, 0) == NULL);
	CHECK(virtq_gmem_ptr(gm, ~0ull - 0x1000, ~0ull) == NULL);
	CHECK_EQ(virtq_gmem_iov(gm, ~0ull - 0x10, 0x20, iov, 2), -EFAULT);
	CHECK_EQ(virtq_gmem_iov(gm, ~0ull - 0x10, ~0ull, iov, 2), -EFAULT);
	CHECK_EQ(virtq_gmem_iov(gm, 0x10000, ~0ull, iov, 2), -EFAULT);
	CHECK_EQ(virtq_gmem_read(gm, ~0ull - 0x10, mem + 0x3000, 0x20), -EFAULT);
	CHECK_EQ(virtq_gmem_iov(gm, ~0ull - 0x10, 0xf, iov, 2), 1);

	/* remove: exact match only */
	CHECK_EQ(virtq_gmem_remove(gm, 0x10000, 0x800), -ENOENT);
	CHECK_EQ(virtq_gmem_remove(gm, 0x10800, 0x800), -ENOENT);
	CHECK_EQ(virtq_gmem_remove(gm, 0x10000, 0x1000), 0);
	CHECK_EQ(virtq_gmem_remove(gm, 0x10000, 0x1000), -ENOENT);
	CHECK(virtq_gmem_ptr(gm, 0x10000, 1) == NULL);
	CHECK_EQ(virtq_gmem_iov(gm, 0xf000, 0x3000, iov, 2), -EFAULT);
	CHECK_EQ(virtq_gmem_count(gm), 3);
	CHECK_EQ(virtq_gmem_add(gm, &r), 0);	/* the hole can be refilled */
	CHECK_EQ(virtq_gmem_iov(gm, 0xf000, 0x3000, iov, 2), -ENOBUFS);
	virtq_gmem_destroy(gm);
	virtq_gmem_destroy(NULL);
}

int main(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct virtq_gmem *gm;

	CHECK_EQ(virtq_gmem_create(&gm), 0);
	build(gm, &seed);
	random_lookups(gm, &seed);
	edges(gm);
	read_write(gm, &seed);
	uaddr(gm);
	/* remove every other region; lookups still match the reference */
	for (unsigned int i = 0; i < NREG; i += 2)
		CHECK_EQ(virtq_gmem_remove(gm, regs[i].gpa, regs[i].size), 0);
	CHECK_EQ(virtq_gmem_count(gm), NREG / 2);
	for (unsigned int i = 0; i < NREG; i++)
		CHECK(virtq_gmem_ptr(gm, regs[i].gpa, 1) ==
		      (i % 2 ? regs[i].hva : NULL));
	virtq_gmem_destroy(gm);
	free(backing);
	overlaps_and_limits();
	printf("gmem-map: ok\n");
	return 0;
}
