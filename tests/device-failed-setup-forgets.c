/* SPDX-License-Identifier: MIT */
/*
 * device-failed-setup-forgets: a failed virtq_device_init() or
 * virtq_device_restore() must drop the queue's previous configuration.
 * Otherwise a later virtq_device_reclaim() clears broken and serves the
 * old rings, which may be guest memory that is gone.  Here the old rings
 * are unmapped after the failed call: a reclaim that used them would
 * fault; it must return -EIO, and pop / push / flush / save stay -EIO.
 *
 * Failures covered: init with cfg NULL, init with a bad config (num 3,
 * areas outside guest memory), restore with a bad magic, a bad version,
 * unknown flags, a record whose in-flight count is above num (after the
 * configuration was validated) and guest memory that disagrees.
 */
#include "hostile-ring.h"

enum how {
	INIT_NULL, INIT_BAD_NUM, INIT_FAULT, RESTORE_MAGIC, RESTORE_VERSION,
	RESTORE_FLAGS, RESTORE_INFLIGHT, RESTORE_USED_IDX, HOW_N
};

static const char *names[HOW_N] = {
	"init NULL", "init num 3", "init areas outside", "restore magic",
	"restore version", "restore flags", "restore inflight",
	"restore used idx",
};

static void check_dead(struct hring *h, enum how how)
{
	struct virtq_device_state st;
	int r = virtq_device_reclaim(h->vq, 0);

	if (r != -EIO) {
		fprintf(stderr, "%s: reclaim after the failure returned %d\n",
			names[how], r);
		exit(1);
	}
	CHECK(virtq_device_is_broken(h->vq));
	CHECK_EQ(hr_pop(h), -EIO);
	CHECK_EQ(virtq_device_push(h->vq, 0, 0), -EIO);
	CHECK_EQ(virtq_device_flush(h->vq), -EIO);
	CHECK(!virtq_device_need_interrupt(h->vq));
	CHECK_EQ(virtq_device_save(h->vq, &st), -EIO);
}

int main(void)
{
	for (int how = 0; how < HOW_N; how++) {
		struct virtq_device_config cfg;
		struct virtq_device_state st;
		struct hring h;
		int r;

		hr_init(&h, 16, HR_FEAT_EVENT_IDX);
		hr_expect_good_chain(&h);
		CHECK_EQ(virtq_device_save(h.vq, &st), 0);
		cfg = hr_config(&h);
		switch (how) {
		case INIT_NULL:
			r = virtq_device_init(h.vq, h.vq_len, NULL);
			CHECK_EQ(r, -EINVAL);
			break;
		case INIT_BAD_NUM:
			cfg.num = 3;
			CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), -EINVAL);
			break;
		case INIT_FAULT:
			cfg.used_addr = 0x7000000;	/* not guest memory */
			CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), -EFAULT);
			break;
		case RESTORE_MAGIC:
			st.magic ^= virtq_cpu_to_le32(1);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), -EINVAL);
			break;
		case RESTORE_VERSION:
			st.version = virtq_cpu_to_le32(99);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), -EINVAL);
			break;
		case RESTORE_FLAGS:
			st.flags |= virtq_cpu_to_le32(0x100);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), -EINVAL);
			break;
		case RESTORE_INFLIGHT:
			st.inflight = virtq_cpu_to_le32(17);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), -EINVAL);
			break;
		case RESTORE_USED_IDX:
			st.next_used = virtq_cpu_to_le16(5);
			st.last_avail = virtq_cpu_to_le16(5);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), -EIO);
			break;
		}
		/* The old rings are gone: any use of them faults. */
		CHECK_EQ(mprotect(h.reg[HR_RING].rw, h.reg[HR_RING].rw_len,
				  PROT_NONE), 0);
		check_dead(&h, how);
		CHECK_EQ(mprotect(h.reg[HR_RING].rw, h.reg[HR_RING].rw_len,
				  PROT_READ | PROT_WRITE), 0);
		/* A good init brings the queue back. */
		cfg = hr_config(&h);
		CHECK_EQ(virtq_device_init(h.vq, h.vq_len, &cfg), 0);
		CHECK_EQ(virtq_device_reclaim(h.vq, h.avail_idx), 0);
		hr_expect_good_chain(&h);
		hr_fini(&h);
	}
	printf("device-failed-setup-forgets: ok\n");
	return 0;
}
