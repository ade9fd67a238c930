/* SPDX-License-Identifier: MIT */
/*
 * device-notify-threads: no lost kick and no lost interrupt, with real
 * threads.  A hand-written driver thread (not src/driver.c) offers
 * two-descriptor chains, kicks only when the device asked for it
 * (avail_event or NO_NOTIFY, after fence F1), and sleeps for an
 * interrupt only after re-arming used_event / clearing NO_INTERRUPT and
 * rechecking used->idx (F2).  The device thread runs the loop from
 * device.h: disable, pop, push, flush, need_interrupt, enable's recheck,
 * sleep until kicked.  A lost wakeup shows up as a wait that times out
 * (20 s); every response is checked; TSan checks the shared accesses.
 */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "hostile-ring.h"

struct ctx {
	struct hring h;
	sem_t kick, irq;
	unsigned long total;
	bool event_idx;
	unsigned long kicks, irqs;
	int device_err;
};

static bool wait_sem(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	while (sem_timedwait(s, &ts) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void *device_thread(void *arg)
{
	struct ctx *x = arg;
	struct virtq_device *vq = x->h.vq;
	struct iovec iov[4];
	struct virtq_chain c = { .iov = iov, .iov_cap = 4 };
	unsigned long done = 0;
	int r;

	for (;;) {
		do {
			virtq_device_disable_notify(vq);
			while ((r = virtq_device_pop(vq, &c)) != 0) {
				uint32_t v;

				if (r < 0 || c.n_out != 1 || c.n_in != 1) {
					x->device_err = r < 0 ? r : -EPROTO;
					return NULL;
				}
				memcpy(&v, iov[0].iov_base, 4);
				v = ~v;
				memcpy(iov[1].iov_base, &v, 4);
				if (virtq_device_push(vq, c.head, 4)) {
					x->device_err = -EPROTO;
					return NULL;
				}
				done++;
			}
			virtq_device_flush(vq);
			if (virtq_device_need_interrupt(vq)) {
				x->irqs++;
				sem_post(&x->irq);
			}
		} while (!virtq_device_enable_notify(vq));
		if (done == x->total)
			return NULL;
		if (!wait_sem(&x->kick)) {
			x->device_err = -ETIMEDOUT;	/* lost kick */
			return NULL;
		}
	}
}

/* Slot k is the chain 2k (reads req[k]) -> 2k+1 (writes resp[k]). */
static int run_driver(struct ctx *x)
{
	struct hring *h = &x->h;
	uint32_t num = h->num, slots = num / 2;
	uint16_t free_k[VIRTQ_MAX_SIZE / 2], nfree = 0, last_used = 0;
	unsigned long sent = 0, got = 0;
	uint32_t *req = hr_ptr(h, hr_gpa(HR_A, 0));
	uint32_t *resp = hr_ptr(h, hr_gpa(HR_B, 0));
	uint16_t *used_event = virtq_used_event(h->avail, num);
	uint16_t *avail_event = virtq_avail_event(h->used, num);

	for (uint32_t k = 0; k < slots; k++) {
		free_k[nfree++] = (uint16_t)k;
		hr_desc(h, (uint16_t)(2 * k), hr_gpa(HR_A, 4 * k), 4,
			VIRTQ_DESC_F_NEXT, (uint16_t)(2 * k + 1));
		hr_desc(h, (uint16_t)(2 * k + 1), hr_gpa(HR_B, 4 * k), 4,
			VIRTQ_DESC_F_WRITE, 0);
	}
	if (!x->event_idx)
		virtq_store_relaxed(&h->avail->flags,
				    virtq_cpu_to_le16(VIRTQ_AVAIL_F_NO_INTERRUPT));
	while (got < x->total) {
		uint16_t old = h->avail_idx;
		bool progress = false;

		while (nfree && sent < x->total) {
			uint16_t k = free_k[--nfree];

			req[k] = (uint32_t)sent++;
			h->avail->ring[h->avail_idx++ & (num - 1)] =
				virtq_cpu_to_le16((uint16_t)(2 * k));
		}
		if (h->avail_idx != old) {
			bool kick;

			/* P1, then F1 before reading the device's wish */
			virtq_store_release(&h->avail->idx,
					    virtq_cpu_to_le16(h->avail_idx));
			virtq_mb();
			if (x->event_idx)
				kick = virtq_need_event(virtq_le16(
					virtq_load_relaxed(avail_event)),
					h->avail_idx, old);
			else
				kick = !(virtq_le16(virtq_load_relaxed(
					&h->used->flags)) & VIRTQ_USED_F_NO_NOTIFY);
			if (kick) {
				x->kicks++;
				sem_post(&x->kick);
			}
			progress = true;
		}
		/* P2: used entries and responses are visible after this */
		uint16_t uidx = virtq_le16(virtq_load_acquire(&h->used->idx));
		while (last_used != uidx) {
			struct virtq_used_elem *e =
				&h->used->ring[last_used & (num - 1)];
			uint32_t id = virtq_le32(e->id), k = id / 2;

			if (id % 2 || k >= slots || virtq_le32(e->len) != 4 ||
			    resp[k] != ~req[k]) {
				fprintf(stderr, "bad used entry id %u\n", id);
				return -EPROTO;
			}
			free_k[nfree++] = (uint16_t)k;
			last_used++;
			got++;
			progress = true;
		}
		if (progress)
			continue;
		/* Idle: ask for an interrupt, F2, recheck, then sleep. */
		if (x->event_idx)
			virtq_store_relaxed(used_event,
					    virtq_cpu_to_le16(last_used));
		else
			virtq_store_relaxed(&h->avail->flags, 0);
		virtq_mb();
		if (virtq_le16(virtq_load_acquire(&h->used->idx)) != last_used)
			continue;
		if (!wait_sem(&x->irq)) {
			fprintf(stderr, "lost interrupt: got %lu of %lu\n",
				got, x->total);
			return -ETIMEDOUT;
		}
		if (!x->event_idx)
			virtq_store_relaxed(&h->avail->flags, virtq_cpu_to_le16(
				VIRTQ_AVAIL_F_NO_INTERRUPT));
	}
	return 0;
}

int main(void)
{
	const uint32_t sizes[] = { 2, 8, 256 };

	for (size_t s = 0; s < 3; s++) {
		for (int ev = 0; ev < 2; ev++) {
			struct ctx *x = calloc(1, sizeof(*x));
			pthread_t t;

			CHECK(x);
			hr_init(&x->h, sizes[s], ev ? HR_FEAT_EVENT_IDX : 0);
			x->event_idx = ev;
			x->total = test_scale(200000);
			CHECK_EQ(sem_init(&x->kick, 0, 0), 0);
			CHECK_EQ(sem_init(&x->irq, 0, 0), 0);
			CHECK_EQ(pthread_create(&t, NULL, device_thread, x), 0);
			int r = run_driver(x);
			if (r)	/* unblock a device waiting for a kick */
				sem_post(&x->kick);
			CHECK_EQ(pthread_join(t, NULL), 0);
			CHECK_EQ(r, 0);
			CHECK_EQ(x->device_err, 0);
			CHECK_EQ(virtq_device_inflight(x->h.vq), 0);
			CHECK(!virtq_device_is_broken(x->h.vq));
			printf("num %u event_idx %d: %lu chains, %lu kicks, "
			       "%lu interrupts\n", sizes[s], ev, x->total,
			       x->kicks, x->irqs);
			hr_fini(&x->h);
			sem_destroy(&x->kick);
			sem_destroy(&x->irq);
			free(x);
		}
	}
	return 0;
}
