/* SPDX-License-Identifier: MIT */
/*
 * device-state: save / restore round trip (in-flight chains survive, the
 * record is little-endian with the documented layout), restore rejecting
 * a bad magic / version / flags / padding / configuration / in-flight
 * count and guest memory that disagrees (-EIO), and reclaim: the next
 * avail index taken from the caller, the next used index read back from
 * guest memory, chains in between pushable, broken cleared or latched.
 */
#include "hostile-ring.h"

static void serve(struct hring *h, uint32_t k)
{
	for (uint32_t i = 0; i < k; i++) {
		hr_desc(h, (uint16_t)i, hr_gpa(HR_A, 16 * i), 16,
			VIRTQ_DESC_F_WRITE, 0);
		hr_offer(h, (uint16_t)i);
	}
	for (uint32_t i = 0; i < k; i++) {
		CHECK_EQ(hr_pop(h), 1);
		CHECK_EQ(virtq_device_push(h->vq, h->c.head, 16), 0);
	}
	CHECK_EQ(virtq_device_flush(h->vq), (int)k);
}

static void round_trip(void)
{
	struct virtq_device_state st;
	struct hring h;
	uint16_t heads[3];
	uint64_t feat = HR_FEAT_EVENT_IDX | HR_FEAT_INDIRECT;

	hr_init(&h, 16, feat);
	serve(&h, 16);
	serve(&h, 7);			/* indices at 23 */
	for (int i = 0; i < 3; i++) {
		hr_desc(&h, (uint16_t)(10 + i), hr_gpa(HR_B, 64 * i), 64, 0, 0);
		hr_offer(&h, (uint16_t)(10 + i));
		CHECK_EQ(hr_pop(&h), 1);
		heads[i] = h.c.head;
	}
	CHECK_EQ(virtq_device_push(h.vq, heads[1], 5), 0);	/* unflushed */
	CHECK_EQ(hr_used_idx(&h), 23);
	CHECK_EQ(virtq_device_save(h.vq, &st), 0);
	CHECK_EQ(hr_used_idx(&h), 24);		/* save flushed it */

	/* The record, byte for byte little-endian. */
	const unsigned char *b = (const unsigned char *)&st;
	CHECK(memcmp(b, "VRTQ", 4) == 0);
	CHECK_EQ(b[4], 1);			/* version */
	CHECK_EQ(b[8], 16);			/* num */
	CHECK_EQ(virtq_le64(st.features), feat);
	CHECK_EQ(virtq_le64(st.desc_addr), h.desc_gpa);
	CHECK_EQ(virtq_le64(st.avail_addr), h.avail_gpa);
	CHECK_EQ(virtq_le64(st.used_addr), h.used_gpa);
	CHECK_EQ(b[48] | b[49] << 8, 26);	/* last_avail */
	CHECK_EQ(b[50] | b[51] << 8, 24);	/* next_used */
	CHECK_EQ(b[56], 2);			/* in flight */
	CHECK_EQ(virtq_le32(st.flags) & 1, 0);

	/* Restore into other memory, as another process would. */
	struct virtq_device *vq2 = malloc(h.vq_len);
	CHECK(vq2);
	CHECK_EQ(virtq_device_restore(vq2, h.vq_len, &st, h.gm), 0);
	CHECK_EQ(virtq_device_size(vq2), 16);
	CHECK_EQ(virtq_device_last_avail(vq2), 26);
	CHECK_EQ(virtq_device_next_used(vq2), 24);
	CHECK_EQ(virtq_device_inflight(vq2), 2);
	CHECK(!virtq_device_is_broken(vq2));
	CHECK_EQ(virtq_device_push(vq2, heads[0], 1), 0);
	CHECK_EQ(virtq_device_push(vq2, heads[2], 1), 0);
	CHECK_EQ(virtq_device_push(vq2, 0, 1), -EOVERFLOW);
	CHECK_EQ(virtq_device_flush(vq2), 2);
	CHECK_EQ(hr_used_idx(&h), 26);
	free(h.vq);
	h.vq = vq2;
	CHECK_EQ(hr_pop(&h), 0);
	hr_expect_good_chain(&h);	/* same features: indirect etc. */
	hr_fini(&h);
}

static void rejects(void)
{
	struct virtq_device_state st, bad;
	struct hring h;

	hr_init(&h, 8, HR_FEAT_EVENT_IDX);
	serve(&h, 5);
	CHECK_EQ(virtq_device_save(h.vq, &st), 0);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), 0);

#define TRY(field, value, err)						\
	do {								\
		bad = st;						\
		bad.field = (value);					\
		CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &bad, h.gm), err); \
		CHECK(virtq_device_is_broken(h.vq));			\
		CHECK_EQ(hr_pop(&h), -EIO);				\
	} while (0)

	TRY(magic, virtq_cpu_to_le32(0x51545257), -EINVAL);
	/* The magic stored in the wrong byte order (a record from a build
	 * that forgot to convert): swapped, then stored little-endian. */
	TRY(magic, virtq_cpu_to_le32(virtq_swap32(VIRTQ_DEVICE_STATE_MAGIC)), -EINVAL);
	TRY(version, virtq_cpu_to_le32(2), -EINVAL);
	TRY(version, 0, -EINVAL);
	TRY(flags, virtq_cpu_to_le32(8), -EINVAL);	/* bits 0..2 are defined */
	TRY(flags, virtq_cpu_to_le32(0x80000000u), -EINVAL);
	TRY(pad, 1, -EINVAL);
	TRY(pad2, 1, -EINVAL);
	TRY(num, virtq_cpu_to_le32(0), -EINVAL);
	TRY(num, virtq_cpu_to_le32(12), -EINVAL);
	TRY(num, virtq_cpu_to_le32(65536), -EINVAL);
	TRY(desc_addr, virtq_cpu_to_le64(h.desc_gpa + 8), -EINVAL);
	TRY(avail_addr, virtq_cpu_to_le64(h.avail_gpa + 1), -EINVAL);
	TRY(used_addr, virtq_cpu_to_le64(h.used_gpa + 2), -EINVAL);
	TRY(used_addr, virtq_cpu_to_le64(0x200000000ull), -EFAULT);
	TRY(desc_addr, virtq_cpu_to_le64(~0ull - 15), -EFAULT);
	TRY(inflight, virtq_cpu_to_le32(9), -EINVAL);	/* > num */
	TRY(inflight, virtq_cpu_to_le32(1), -EINVAL);	/* > 5 - 5 */
	TRY(next_used, virtq_cpu_to_le16(4), -EIO);	/* guest says 5 */
	TRY(next_used, virtq_cpu_to_le16(6), -EIO);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len - 1, &st, h.gm), -EINVAL);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, NULL), -EINVAL);

	/* The good record still restores; a broken one restores broken. */
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), 0);
	CHECK(!virtq_device_is_broken(h.vq));
	bad = st;
	bad.flags = virtq_cpu_to_le32(virtq_le32(st.flags) | 1);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &bad, h.gm), 0);
	CHECK(virtq_device_is_broken(h.vq));
	CHECK_EQ(hr_pop(&h), -EIO);
	CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), 0);
	CHECK_EQ(hr_pop(&h), 0);
	hr_expect_good_chain(&h);
	hr_fini(&h);
}

static void reclaim(void)
{
	struct hring h;

	hr_init(&h, 16, HR_FEAT_EVENT_IDX);
	/* Another process took 40 chains, returned 37, then died. */
	for (int i = 0; i < 40; i++) {
		hr_desc(&h, (uint16_t)(i % 16), hr_gpa(HR_A, 0), 8, 0, 0);
		hr_offer(&h, (uint16_t)(i % 16));
	}
	h.used->idx = virtq_cpu_to_le16(37);
	CHECK_EQ(virtq_device_reclaim(h.vq, 40), 0);
	CHECK_EQ(virtq_device_last_avail(h.vq), 40);
	CHECK_EQ(virtq_device_next_used(h.vq), 37);
	CHECK_EQ(virtq_device_inflight(h.vq), 3);
	CHECK(!virtq_device_has_avail(h.vq));
	/* The three in flight are resubmitted and returned. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(virtq_device_push(h.vq, (uint16_t)(13 + i), 8), 0);
	CHECK_EQ(virtq_device_push(h.vq, 0, 0), -EOVERFLOW);
	CHECK_EQ(virtq_device_flush(h.vq), 3);
	CHECK_EQ(hr_used_idx(&h), 40);
	/* used_event far away: still the first call after reclaim says yes */
	*virtq_used_event(h.avail, h.num) = virtq_cpu_to_le16(0x1000);
	CHECK(virtq_device_need_interrupt(h.vq));
	CHECK_EQ(hr_pop(&h), 0);
	hr_expect_good_chain(&h);
	CHECK(!virtq_device_need_interrupt(h.vq));

	/* Reclaim in the wrap: next_avail 2, used->idx 0xfffe. */
	h.used->idx = virtq_cpu_to_le16(0xfffe);
	hr_set_avail_idx(&h, 2);
	CHECK_EQ(virtq_device_reclaim(h.vq, 2), 0);
	CHECK_EQ(virtq_device_inflight(h.vq), 4);
	CHECK_EQ(virtq_device_next_used(h.vq), 0xfffe);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(virtq_device_push(h.vq, (uint16_t)i, 0), 0);
	CHECK_EQ(virtq_device_flush(h.vq), 4);
	CHECK_EQ(hr_used_idx(&h), 2);
	hr_expect_good_chain(&h);

	/* avail->idx more than num ahead of next_avail: latched. */
	hr_set_avail_idx(&h, (uint16_t)(virtq_device_last_avail(h.vq) + 17));
	CHECK_EQ(virtq_device_reclaim(h.vq, virtq_device_last_avail(h.vq)), -EIO);
	CHECK(virtq_device_is_broken(h.vq));
	CHECK_EQ(hr_pop(&h), -EIO);
	/* Reclaiming from a point where it is exactly num ahead is fine. */
	CHECK_EQ(virtq_device_reclaim(h.vq, (uint16_t)(h.avail_idx - 16)), 0);
	CHECK(!virtq_device_is_broken(h.vq));
	CHECK(virtq_device_has_avail(h.vq));
	hr_fini(&h);
}

int main(void)
{
	round_trip();
	rejects();
	reclaim();
	printf("device-state: ok\n");
	return 0;
}
