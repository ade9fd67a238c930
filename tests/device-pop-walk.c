/* SPDX-License-Identifier: MIT */
/*
 * device-pop-walk: pop walks a chain with its own lean code (the walker
 * pop_batch uses); walk keeps the general walker.  On random hostile rings
 * (the almost-valid descriptors, chains of several descriptors, indirect
 * tables, buffers across two regions, off the end of guest memory, zero
 * lengths, loops, huge lengths, a random iovec capacity from 0 up), both
 * must give the same answer for every head: the same return value (1 or
 * the same error: the first rule broken), the same chain fields, and the
 * same bytes in the whole iovec array, valid or not, with nothing past
 * the capacity written.  pop consumes one avail entry per call and counts
 * the chain in flight exactly when its head is < num.  An extra 4 GiB
 * guest region, read-only zero pages reserved without backing (popping
 * never touches buffer memory; an indirect table there reads as zeros),
 * holds buffers big enough to break the 2^32-byte rule.
 */
#include "hostile-ring.h"

#define BIG_GPA  0x100000000ull
#define BIG_SIZE 0x100000000ull

static void *big;	/* the reservation, or NULL */

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	return n ? test_rand(&seed) % n : 0;
}

static uint64_t rand_addr(void)
{
	if (big && rnd(6) == 0)
		return BIG_GPA + rnd(BIG_SIZE);
	switch (rnd(8)) {
	case 0:
		return test_rand(&seed);
	case 1:
		return hr_reg_gpa[rnd(HR_NREG)] - rnd(64);
	case 2: {
		int r = (int)rnd(HR_NREG);
		return hr_reg_gpa[r] + hr_reg_size[r] - rnd(64);
	}
	default: {
		int r = 1 + (int)rnd(HR_NREG - 1);
		return hr_reg_gpa[r] + rnd(hr_reg_size[r]);
	}
	}
}

static uint32_t rand_len(void)
{
	switch (rnd(10)) {
	case 0:
		return (uint32_t)test_rand(&seed);
	case 1:
		return 0;
	case 2:
		return 16 * (uint32_t)rnd(40);
	case 3:
	case 4:
		return 0x80000000u + (uint32_t)rnd(0x80000000u);
	default:
		return 1 + (uint32_t)rnd(300);
	}
}

static uint16_t rand_flags(void)
{
	uint16_t f = (uint16_t)rnd(8);

	if (rnd(4) == 0)
		f |= (uint16_t)(test_rand(&seed) & 0xfff8);
	if (rnd(3) == 0)
		f &= (uint16_t)~VIRTQ_DESC_F_INDIRECT;
	return f;
}

static void rand_desc(struct virtq_desc *d, uint32_t tab_len)
{
	uint16_t next = rnd(10) ? (uint16_t)rnd(tab_len) :
				  (uint16_t)test_rand(&seed);

	hr_write_desc(d, rand_addr(), rand_len(), rand_flags(), next);
}

/* A mostly valid chain of 1..6 descriptors from @head: readable, then
 * writable, in region A (sometimes across into B, or broken). */
static void good_chain(struct hring *h, uint16_t head)
{
	uint32_t n = 1 + (uint32_t)rnd(6), i = head;
	bool write = rnd(3) == 0;

	for (uint32_t k = 0; k < n; k++) {
		uint16_t next = (uint16_t)((i + 1 + rnd(3)) & (h->num - 1));
		uint64_t addr = hr_gpa(HR_A, rnd(0x10000 - 512));
		uint32_t len = 1 + (uint32_t)rnd(512);
		uint16_t flags = 0;

		if (rnd(16) == 0)
			addr = hr_gpa(HR_A, 0x10000 - rnd(64)); /* into B */
		if (rnd(20) == 0)
			len = 0;
		if (!write && rnd(2))
			write = true;
		if (write)
			flags |= VIRTQ_DESC_F_WRITE;
		if (k + 1 < n)
			flags |= VIRTQ_DESC_F_NEXT;
		if (rnd(40) == 0)
			flags ^= VIRTQ_DESC_F_WRITE;	/* readable after? */
		hr_desc(h, (uint16_t)i, addr, len, flags, next);
		i = next;
	}
}

#define IOVN (HR_IOV_CAP + HR_IOV_EXTRA)

static struct iovec wiov[IOVN];
static unsigned long stat_ok, stat_err[256];

static void same_as_walk(struct hring *h, uint32_t cap)
{
	struct virtq_chain w;
	uint16_t la = virtq_device_last_avail(h->vq);
	uint32_t inf = virtq_device_inflight(h->vq);
	uint16_t want = virtq_le16(h->avail->ring[la & (h->num - 1)]);
	int rp, rw;

	hr_reset_chain(h, cap);
	rp = virtq_device_pop(h->vq, &h->c);
	CHECK(rp != 0 && rp != -EIO);
	CHECK_EQ(virtq_device_last_avail(h->vq), (uint16_t)(la + 1));
	CHECK_EQ(virtq_device_inflight(h->vq), inf + (want < h->num));
	CHECK_EQ(h->c.head, want);

	memset(wiov, 0x5a, sizeof(wiov));
	memset(&w, 0, sizeof(w));
	w.iov = wiov;
	w.iov_cap = cap;
	rw = virtq_device_walk(h->vq, want, &w);
	CHECK_EQ(rp, rw);
	CHECK_EQ(h->c.head, w.head);
	CHECK_EQ(h->c.ndesc, w.ndesc);
	CHECK_EQ(h->c.n_out, w.n_out);
	CHECK_EQ(h->c.n_in, w.n_in);
	CHECK_EQ(h->c.out_len, w.out_len);
	CHECK_EQ(h->c.in_len, w.in_len);
	CHECK_EQ(h->c.indirect, w.indirect);
	CHECK(memcmp(h->iov, wiov, sizeof(wiov)) == 0);
	hr_check_iov_sentinels(h);
	for (uint32_t k = cap; k < HR_IOV_CAP; k++) {
		const unsigned char *p = (const unsigned char *)&h->iov[k];

		for (size_t b = 0; b < sizeof(struct iovec); b++)
			CHECK(p[b] == 0x5a);
	}
	if (rp == 1)
		stat_ok++;
	else
		stat_err[-rp & 255]++;
}

static void random_rounds(void)
{
	unsigned long rounds = test_scale(400);

	for (unsigned long round = 0; round < rounds; round++) {
		uint32_t num = 1u << rnd(10);
		uint64_t feat = (rnd(2) ? HR_FEAT_INDIRECT : 0) |
				(rnd(2) ? HR_FEAT_EVENT_IDX : 0);
		struct hring h;

		hr_init(&h, num, feat);
		if (big) {
			struct virtq_gmem_region br = {
				.gpa = BIG_GPA, .size = BIG_SIZE, .hva = big,
			};

			CHECK_EQ(virtq_gmem_add(h.gm, &br), 0);
			/* the config was checked at init: start again */
			struct virtq_device_config cfg = hr_config(&h);
			CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), 0);
		}
		for (int batch = 0; batch < 8; batch++) {
			uint32_t n = 1 + (uint32_t)rnd(num);
			uint16_t heads[VIRTQ_MAX_SIZE];
			uint32_t npush = 0;

			for (uint32_t i = 0; i < num; i++)
				rand_desc(&h.desc[i], num);
			for (uint32_t k = rnd(2) ? num / 2 + 1 : 0; k; k--)
				good_chain(&h, (uint16_t)rnd(num));
			for (int t = 0; t < 4; t++) {
				uint32_t tl = 1 + (uint32_t)rnd(8);
				uint64_t ta = hr_gpa(HR_C, 0x1000 * t + rnd(2) * 8);
				struct virtq_desc tab[8];

				for (uint32_t i = 0; i < tl; i++)
					rand_desc(&tab[i], tl);
				hr_put_table(&h, ta, tab, tl);
				hr_desc(&h, (uint16_t)rnd(num), ta, 16 * tl,
					VIRTQ_DESC_F_INDIRECT |
					(rnd(4) ? 0 : VIRTQ_DESC_F_NEXT),
					(uint16_t)rnd(num));
			}
			for (uint32_t i = 0; i < n; i++) {
				uint16_t head = rnd(20) ? (uint16_t)rnd(num) :
							  (uint16_t)test_rand(&seed);

				h.avail->ring[(h.avail_idx + i) & (num - 1)] =
					virtq_cpu_to_le16(head);
				if (head < num)
					heads[npush++] = head;
			}
			hr_set_avail_idx(&h, (uint16_t)(h.avail_idx + n));
			for (uint32_t i = 0; i < n; i++)
				same_as_walk(&h, (uint32_t)rnd(HR_IOV_CAP + 1));
			hr_reset_chain(&h, HR_IOV_CAP);
			CHECK_EQ(virtq_device_pop(h.vq, &h.c), 0);
			for (uint32_t i = 0; i < npush; i++)
				CHECK_EQ(virtq_device_push(h.vq, heads[i], 0), 0);
			CHECK_EQ(virtq_device_flush(h.vq), (int)npush);
			CHECK_EQ(virtq_device_inflight(h.vq), 0);
		}
		CHECK(!virtq_device_is_broken(h.vq));
		hr_check_canaries(&h);
		hr_fini(&h);
	}
}

int main(void)
{
	static const int errs[] = {
		ERANGE, ELOOP, EOPNOTSUPP, EBADMSG, EMLINK, EPROTO, EILSEQ,
		EOVERFLOW, EFAULT, ENOBUFS,
	};
	unsigned int kinds = 0, need = sizeof(errs) / sizeof(errs[0]);

	big = mmap(NULL, BIG_SIZE, PROT_READ,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED) {
		printf("device-pop-walk: cannot reserve 4 GiB of address"
		       " space: no -EOVERFLOW chains\n");
		big = NULL;
		need--;
	}
	random_rounds();
	printf("device-pop-walk: %lu chains valid, errors:", stat_ok);
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		printf(" %s %lu", strerror(errs[i]), stat_err[errs[i]]);
		kinds += stat_err[errs[i]] > 0;
	}
	printf("\n");
	/* Every rule was met, and many good chains. */
	CHECK(stat_ok > 1000);
	CHECK(kinds >= need);
	return 0;
}
