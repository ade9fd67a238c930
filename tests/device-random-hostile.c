/* SPDX-License-Identifier: MIT */
/*
 * device-random-hostile: a driver writing random (mostly almost-valid)
 * descriptors, indirect tables and avail entries.  Whatever it writes,
 * pop returns 1, 0 or one of the documented errors; every avail entry is
 * consumed exactly once (the queue never stalls); c->head is the entry
 * the driver wrote; every iovec lies inside one guest region and the
 * byte totals add up; nothing outside guest memory or past iov_cap is
 * written (guard pages, canaries, sentinels).
 */
#include "hostile-ring.h"

static uint64_t seed = 0x243f6a8885a308d3ull;

static uint64_t rnd(uint64_t n)
{
	return n ? test_rand(&seed) % n : 0;
}

static uint64_t rand_addr(void)
{
	switch (rnd(8)) {
	case 0:
		return test_rand(&seed);			/* anything */
	case 1:
		return hr_reg_gpa[rnd(HR_NREG)] - rnd(64);	/* before */
	case 2: {
		int r = (int)rnd(HR_NREG);
		return hr_reg_gpa[r] + hr_reg_size[r] - rnd(64); /* edge */
	}
	default: {
		int r = 1 + (int)rnd(HR_NREG - 1);		/* data */
		return hr_reg_gpa[r] + rnd(hr_reg_size[r]);
	}
	}
}

static uint32_t rand_len(void)
{
	switch (rnd(8)) {
	case 0:
		return (uint32_t)test_rand(&seed);
	case 1:
		return 0;
	case 2:
		return 16 * (uint32_t)rnd(40);		/* table-like */
	default:
		return (uint32_t)rnd(300);
	}
}

static uint16_t rand_flags(void)
{
	uint16_t f = (uint16_t)rnd(8);

	if (rnd(4) == 0)
		f |= (uint16_t)(test_rand(&seed) & 0xfff8);	/* junk bits */
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

static bool in_guest(struct hring *h, const struct iovec *v)
{
	for (int i = 0; i < HR_NREG; i++) {
		char *b = h->reg[i].hva, *e = b + hr_reg_size[i];
		char *p = v->iov_base;

		if (p >= b && p < e && v->iov_len <= (size_t)(e - p))
			return true;
	}
	return false;
}

static bool documented(int r)
{
	switch (r) {
	case -ERANGE: case -ELOOP: case -EOPNOTSUPP: case -EBADMSG:
	case -E2BIG: case -EMLINK: case -EPROTO: case -EILSEQ:
	case -EOVERFLOW: case -EFAULT: case -ENOBUFS:
		return true;
	}
	return false;
}

int main(void)
{
	unsigned long rounds = test_scale(1000), ok = 0, bad = 0;
	unsigned long per_err[200] = { 0 };

	for (unsigned long round = 0; round < rounds; round++) {
		uint32_t num = 1u << rnd(9);
		uint64_t feat = (rnd(2) ? HR_FEAT_INDIRECT : 0) |
				(rnd(2) ? HR_FEAT_EVENT_IDX : 0);
		struct hring h;

		hr_init(&h, num, feat);
		for (int batch = 0; batch < 12; batch++) {
			uint16_t heads[VIRTQ_MAX_SIZE];
			uint32_t n = 1 + (uint32_t)rnd(num);

			for (uint32_t i = 0; i < num; i++)
				rand_desc(&h.desc[i], num);
			/* a few indirect tables in HR_C, pointed at */
			for (int t = 0; t < 4; t++) {
				uint32_t tl = 1 + (uint32_t)rnd(8);
				uint64_t ta = hr_gpa(HR_C, 0x1000 * t + rnd(2) * 8);
				struct virtq_desc tab[8];

				for (uint32_t i = 0; i < tl; i++)
					rand_desc(&tab[i], tl);
				hr_put_table(&h, ta, tab, tl);
				uint16_t at = (uint16_t)rnd(num);
				hr_desc(&h, at, ta, 16 * tl, VIRTQ_DESC_F_INDIRECT |
					(rnd(4) ? 0 : VIRTQ_DESC_F_NEXT),
					(uint16_t)rnd(num));
			}
			for (uint32_t i = 0; i < n; i++) {
				heads[i] = rnd(20) ? (uint16_t)rnd(num) :
						     (uint16_t)test_rand(&seed);
				h.avail->ring[(h.avail_idx + i) & (num - 1)] =
					virtq_cpu_to_le16(heads[i]);
			}
			hr_set_avail_idx(&h, (uint16_t)(h.avail_idx + n));
			for (uint32_t i = 0; i < n; i++) {
				uint32_t cap = (uint32_t)rnd(HR_IOV_CAP + 1);
				uint16_t before = virtq_device_last_avail(h.vq);

				hr_reset_chain(&h, cap);
				int r = virtq_device_pop(h.vq, &h.c);
				hr_check_iov_sentinels(&h);
				const unsigned char *p =
					(const unsigned char *)&h.iov[cap];
				for (size_t k = 0; k < (HR_IOV_CAP - cap) *
				     sizeof(struct iovec); k++)
					CHECK(p[k] == 0x5a);	/* past cap */
				CHECK_EQ(virtq_device_last_avail(h.vq),
					 (uint16_t)(before + 1));
				CHECK_EQ(h.c.head, heads[i]);
				if (r == 1) {
					uint64_t out = 0, in = 0;

					CHECK(h.c.n_out + h.c.n_in <= cap);
					for (uint32_t k = 0; k < h.c.n_out + h.c.n_in; k++) {
						CHECK(in_guest(&h, &h.iov[k]));
						CHECK(h.iov[k].iov_len > 0);
						if (k < h.c.n_out)
							out += h.iov[k].iov_len;
						else
							in += h.iov[k].iov_len;
					}
					CHECK_EQ(out, h.c.out_len);
					CHECK_EQ(in, h.c.in_len);
					CHECK(out + in <= UINT32_MAX);
					ok++;
				} else {
					if (!documented(r)) {
						fprintf(stderr, "pop returned %d\n", r);
						return 1;
					}
					per_err[-r]++;
					bad++;
				}
				if (heads[i] < num)
					CHECK_EQ(virtq_device_push(h.vq, heads[i], 0), 0);
			}
			CHECK_EQ(virtq_device_pop(h.vq, &h.c), 0);
			CHECK(virtq_device_flush(h.vq) >= 0);
			CHECK_EQ(virtq_device_inflight(h.vq), 0);
		}
		CHECK(!virtq_device_is_broken(h.vq));
		hr_fini(&h);
	}
	printf("device-random-hostile: %lu chains popped, %lu rejected:", ok, bad);
	for (int e = 0; e < 200; e++)
		if (per_err[e])
			printf(" %s %lu;", strerror(e), per_err[e]);
	printf("\n");
	CHECK(ok > 0 && bad > 0);
	return 0;
}
