/* SPDX-License-Identifier: MIT */
/*
 * device-reclaim-signals: a server popped, pushed and flushed a chain,
 * then died before it signalled the driver.  The next server takes the
 * ring over with virtq_device_reclaim(): its first need_interrupt() must
 * say yes although nothing new was published since (the driver is waiting
 * for that lost interrupt; with nothing else to complete it would wait
 * forever), and only once; a state saved right after the reclaim keeps
 * that owed interrupt through restore.  EVENT_IDX on and off, used_event
 * anywhere.
 */
#include "hostile-ring.h"

int main(void)
{
	for (int ev = 0; ev < 2; ev++) {
		for (uint32_t used_event = 0; used_event < 3; used_event++) {
			struct virtq_device_config cfg;
			struct virtq_device *next;
			struct hring h;

			hr_init(&h, 16, ev ? HR_FEAT_EVENT_IDX : 0);
			virtq_store_relaxed(virtq_used_event(h.avail, h.num),
					    virtq_cpu_to_le16((uint16_t)used_event));
			/* The first server: one chain, flushed, no signal. */
			hr_desc(&h, 0, hr_gpa(HR_A, 0), 8, VIRTQ_DESC_F_WRITE, 0);
			hr_offer(&h, 0);
			CHECK_EQ(hr_pop(&h), 1);
			CHECK_EQ(virtq_device_push(h.vq, 0, 8), 0);
			CHECK_EQ(virtq_device_flush(h.vq), 1);
			CHECK_EQ(hr_used_idx(&h), 1);

			/* The next server over the same ring. */
			next = malloc(virtq_device_mem_size());
			CHECK(next);
			cfg = hr_config(&h);
			CHECK_EQ(virtq_device_init(next, virtq_device_mem_size(), &cfg), 0);
			CHECK_EQ(virtq_device_reclaim(next, 1), 0);
			CHECK_EQ(virtq_device_next_used(next), 1);
			CHECK_EQ(virtq_device_flush(next), 0);
			if (!virtq_device_need_interrupt(next)) {
				fprintf(stderr, "event_idx %d used_event %u: no "
					"interrupt after reclaim\n", ev, used_event);
				return 1;
			}
			CHECK(!virtq_device_need_interrupt(next));	/* once */
			/* Reclaiming again (another restart) signals again. */
			CHECK_EQ(virtq_device_reclaim(next, 1), 0);
			CHECK(virtq_device_need_interrupt(next));
			CHECK(!virtq_device_need_interrupt(next));
			/* Saved right after a reclaim: the signal is still
			 * owed after restore. */
			struct virtq_device_state st;

			CHECK_EQ(virtq_device_reclaim(next, 1), 0);
			CHECK_EQ(virtq_device_save(next, &st), 0);
			CHECK_EQ(virtq_device_restore(h.vq, h.vq_len, &st, h.gm), 0);
			CHECK(virtq_device_need_interrupt(h.vq));
			CHECK(!virtq_device_need_interrupt(h.vq));
			free(next);
			hr_fini(&h);
		}
	}
	printf("device-reclaim-signals: ok\n");
	return 0;
}
