/* SPDX-License-Identifier: MIT */
/*
 * hostile-ring.h - a hand-written "driver" for device-side tests.
 *
 * Guest memory is several regions, each mmap()ed with a PROT_NONE guard
 * page on both sides and canary bytes between the region's edges and the
 * guards: a stray read past a region faults, a stray write shows up in
 * hr_check_canaries().  The test writes descriptors and the avail ring
 * itself (never through src/driver.c), so the device side is tested on
 * its own.
 *
 * Guest-physical layout (all regions 64-byte aligned in host memory):
 *   HR_RING  0x00100000  2 MiB        the three ring areas
 *   HR_A     0x00400000  64 KiB       data
 *   HR_B     0x00410000  64 KiB       data, starts where HR_A ends
 *   HR_C     0x00800000  64 KiB - 100 data, odd size, a hole after it
 */
#ifndef VIRTQ_HOSTILE_RING_H
#define VIRTQ_HOSTILE_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "virtq/atomic.h"
#include "virtq/device.h"
#include "virtq/gmem.h"
#include "virtq/ring.h"

#define HR_RING		0
#define HR_A		1
#define HR_B		2
#define HR_C		3
#define HR_NREG		4
#define HR_CANARY	64		/* canary bytes before each region */
#define HR_CANARY_BYTE	0xa5
#define HR_IOV_CAP	16		/* iovecs offered to pop by default */
#define HR_IOV_EXTRA	4		/* sentinel iovecs past the capacity */

static const uint64_t hr_reg_gpa[HR_NREG] = {
	0x00100000, 0x00400000, 0x00410000, 0x00800000,
};
static const uint64_t hr_reg_size[HR_NREG] = {
	0x200000, 0x10000, 0x10000, 0x10000 - 100,
};

struct hr_region {
	char *map;		/* whole mapping, guards included */
	size_t map_len;
	char *rw;		/* first read-write byte */
	size_t rw_len;
	char *hva;		/* region start = rw + HR_CANARY */
};

struct hring {
	struct virtq_gmem *gm;
	struct hr_region reg[HR_NREG];
	uint32_t num;
	uint64_t features;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct virtq_device *vq;
	size_t vq_len;
	uint16_t avail_idx;	/* the driver's next avail slot */
	struct iovec iov[HR_IOV_CAP + HR_IOV_EXTRA];
	struct virtq_chain c;
};

static inline void *hr_ptr(struct hring *h, uint64_t gpa)
{
	for (int i = 0; i < HR_NREG; i++)
		if (gpa >= hr_reg_gpa[i] && gpa - hr_reg_gpa[i] < hr_reg_size[i])
			return h->reg[i].hva + (gpa - hr_reg_gpa[i]);
	fprintf(stderr, "hr_ptr: gpa 0x%" PRIx64 " is not guest memory\n", gpa);
	exit(1);
}

static inline void hr_map(struct hr_region *r, uint64_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	r->rw_len = ((size_t)size + 2 * HR_CANARY + pg - 1) / pg * pg;
	r->map_len = r->rw_len + 2 * pg;
	r->map = mmap(NULL, r->map_len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r->map != MAP_FAILED);
	r->rw = r->map + pg;
	CHECK(mprotect(r->rw, r->rw_len, PROT_READ | PROT_WRITE) == 0);
	memset(r->rw, HR_CANARY_BYTE, r->rw_len);
	r->hva = r->rw + HR_CANARY;
	memset(r->hva, 0, (size_t)size);
}

/* Every byte between a region and its guard pages is still the canary. */
static inline void hr_check_canaries(struct hring *h)
{
	for (int i = 0; i < HR_NREG; i++) {
		struct hr_region *r = &h->reg[i];
		char *end = r->hva + hr_reg_size[i];

		for (char *p = r->rw; p < r->hva; p++)
			CHECK((unsigned char)*p == HR_CANARY_BYTE);
		for (char *p = end; p < r->rw + r->rw_len; p++)
			CHECK((unsigned char)*p == HR_CANARY_BYTE);
	}
}

static inline void hr_setup_gmem(struct hring *h)
{
	CHECK_EQ(virtq_gmem_create(&h->gm), 0);
	for (int i = 0; i < HR_NREG; i++) {
		struct virtq_gmem_region gr = {
			.gpa = hr_reg_gpa[i], .size = hr_reg_size[i],
		};

		hr_map(&h->reg[i], hr_reg_size[i]);
		gr.hva = h->reg[i].hva;
		CHECK_EQ(virtq_gmem_add(h->gm, &gr), 0);
	}
}

static inline struct virtq_device_config hr_config(struct hring *h)
{
	struct virtq_device_config cfg = {
		.num = h->num, .features = h->features,
		.desc_addr = h->desc_gpa, .avail_addr = h->avail_gpa,
		.used_addr = h->used_gpa, .gmem = h->gm,
	};
	return cfg;
}

static inline void hr_reset_chain(struct hring *h, uint32_t cap)
{
	memset(h->iov, 0x5a, sizeof(h->iov));
	memset(&h->c, 0, sizeof(h->c));
	h->c.iov = h->iov;
	h->c.iov_cap = cap;
}

/* Sentinel iovecs past the capacity were never written. */
static inline void hr_check_iov_sentinels(struct hring *h)
{
	const unsigned char *p = (const unsigned char *)&h->iov[HR_IOV_CAP];

	for (size_t i = 0; i < HR_IOV_EXTRA * sizeof(struct iovec); i++)
		CHECK(p[i] == 0x5a);
}

/* Lay out the rings at the start of HR_RING, and start the device. */
static inline void hr_init(struct hring *h, uint32_t num, uint64_t features)
{
	memset(h, 0, sizeof(*h));
	h->num = num;
	h->features = features;
	hr_setup_gmem(h);
	h->desc_gpa = hr_reg_gpa[HR_RING];
	h->avail_gpa = h->desc_gpa + virtq_desc_size(num);
	h->used_gpa = virtq_align_up(h->avail_gpa + virtq_avail_size(num), 4096);
	h->desc = hr_ptr(h, h->desc_gpa);
	h->avail = hr_ptr(h, h->avail_gpa);
	h->used = hr_ptr(h, h->used_gpa);
	h->vq_len = virtq_device_mem_size();
	h->vq = malloc(h->vq_len);
	CHECK(h->vq);
	struct virtq_device_config cfg = hr_config(h);
	CHECK_EQ(virtq_device_init(h->vq, h->vq_len, &cfg), 0);
	hr_reset_chain(h, HR_IOV_CAP);
}

static inline void hr_fini(struct hring *h)
{
	hr_check_canaries(h);
	free(h->vq);
	virtq_gmem_destroy(h->gm);
	for (int i = 0; i < HR_NREG; i++)
		munmap(h->reg[i].map, h->reg[i].map_len);
}

/* Guest address @off bytes into region @reg. */
static inline uint64_t hr_gpa(int reg, uint64_t off)
{
	return hr_reg_gpa[reg] + off;
}

static inline void hr_write_desc(struct virtq_desc *d, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = virtq_cpu_to_le64(addr);
	d->len = virtq_cpu_to_le32(len);
	d->flags = virtq_cpu_to_le16(flags);
	d->next = virtq_cpu_to_le16(next);
}

static inline void hr_desc(struct hring *h, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	CHECK(i < h->num);
	hr_write_desc(&h->desc[i], addr, len, flags, next);
}

/* Make @head available and publish it (release store, pair P1). */
static inline void hr_offer(struct hring *h, uint16_t head)
{
	h->avail->ring[h->avail_idx & (h->num - 1)] = virtq_cpu_to_le16(head);
	h->avail_idx++;
	virtq_store_release(&h->avail->idx, virtq_cpu_to_le16(h->avail_idx));
}

/* Publish an arbitrary avail->idx (for the runaway test). */
static inline void hr_set_avail_idx(struct hring *h, uint16_t idx)
{
	h->avail_idx = idx;
	virtq_store_release(&h->avail->idx, virtq_cpu_to_le16(idx));
}

static inline uint16_t hr_used_idx(struct hring *h)
{
	return virtq_le16(virtq_load_acquire(&h->used->idx));
}

static inline int hr_pop(struct hring *h)
{
	hr_reset_chain(h, HR_IOV_CAP);
	return virtq_device_pop(h->vq, &h->c);
}

/*
 * A well-formed two-descriptor chain at descriptors num-2, num-1 (or one
 * descriptor when num == 1): 16 readable bytes in HR_A, 32 writable in
 * HR_B.  It must pop whole, push back and show up in the used ring.
 */
static inline void hr_expect_good_chain(struct hring *h)
{
	uint16_t head = (uint16_t)(h->num >= 2 ? h->num - 2 : 0);
	uint16_t used_before = hr_used_idx(h);

	if (h->num >= 2) {
		hr_desc(h, head, hr_gpa(HR_A, 0x100), 16, VIRTQ_DESC_F_NEXT,
			(uint16_t)(h->num - 1));
		hr_desc(h, (uint16_t)(h->num - 1), hr_gpa(HR_B, 0x200), 32,
			VIRTQ_DESC_F_WRITE, 0);
	} else {
		hr_desc(h, head, hr_gpa(HR_A, 0x100), 16, 0, 0);
	}
	hr_offer(h, head);
	CHECK_EQ(hr_pop(h), 1);
	CHECK_EQ(h->c.head, head);
	CHECK_EQ(h->c.n_out, 1);
	CHECK_EQ(h->c.out_len, 16);
	CHECK(h->c.iov[0].iov_base == hr_ptr(h, hr_gpa(HR_A, 0x100)));
	CHECK_EQ(h->c.iov[0].iov_len, 16);
	if (h->num >= 2) {
		CHECK_EQ(h->c.n_in, 1);
		CHECK_EQ(h->c.in_len, 32);
		CHECK(h->c.iov[1].iov_base == hr_ptr(h, hr_gpa(HR_B, 0x200)));
	}
	CHECK_EQ(virtq_device_push(h->vq, head, 32), 0);
	CHECK(virtq_device_flush(h->vq) >= 1);
	CHECK_EQ(hr_used_idx(h), (uint16_t)(virtq_device_next_used(h->vq)));
	CHECK(hr_used_idx(h) != used_before);
	struct virtq_used_elem *e =
		&h->used->ring[(uint16_t)(hr_used_idx(h) - 1) & (h->num - 1)];
	CHECK_EQ(virtq_le32(e->id), head);
	CHECK_EQ(virtq_le32(e->len), 32);
	hr_check_iov_sentinels(h);
}

/*
 * The common tail of a rule test: @ret from pop is @err, the chain was
 * consumed and reported with @head; push it back (if in range), nothing
 * outside guest memory changed, and the next good chain pops.
 */
static inline void hr_expect_rejected(struct hring *h, int ret, int err,
				      uint16_t head)
{
	CHECK_EQ(ret, err);
	CHECK_EQ(h->c.head, head);
	CHECK_EQ(virtq_device_last_avail(h->vq), h->avail_idx);
	CHECK(!virtq_device_is_broken(h->vq));
	hr_check_iov_sentinels(h);
	hr_check_canaries(h);
	if (head < h->num) {
		CHECK_EQ(virtq_device_push(h->vq, head, 0), 0);
		CHECK_EQ(virtq_device_flush(h->vq), 1);
	}
	CHECK_EQ(virtq_device_inflight(h->vq), 0);
	CHECK_EQ(virtq_device_pop(h->vq, &h->c), 0);	/* nothing more */
	hr_expect_good_chain(h);
	CHECK_EQ(virtq_device_inflight(h->vq), 0);
	hr_check_canaries(h);
}

/* Queue sizes the rule tests run with (chains need at least 2). */
static const uint32_t hr_sizes[] = { 2, 16, 256, 32768 };
#define HR_NSIZES (sizeof(hr_sizes) / sizeof(hr_sizes[0]))

/* Put an indirect table into guest memory at @gpa. */
static inline void hr_put_table(struct hring *h, uint64_t gpa,
				const struct virtq_desc *t, size_t n)
{
	CHECK_EQ(virtq_gmem_write(h->gm, gpa, t, n * sizeof(*t)), 0);
}

#define HR_FEAT_INDIRECT VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)
#define HR_FEAT_EVENT_IDX VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)

#endif /* VIRTQ_HOSTILE_RING_H */
