/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-hotplug-no-drain: ADD_MEM_REG / REM_MEM_REG of a region that
 * holds no ring do not stop and drain the rings (QEMU waits for the ack
 * while slow I/O would complete).  A request is held in flight by the
 * device model; the region is added and removed, each acked at once,
 * queue_stop is never called, the held request is still in flight, and
 * a request with its buffers in the added region is served meanwhile.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define QSIZE 8

static atomic_int stops;
static atomic_int held = -1;	/* head held in flight, or -1 */

/* Echo, except a chain whose first byte is 'H': held until queue_stop. */
static void kick(void *opaque, struct virtq_vu_queue *q)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };
	int r;

	(void)opaque;
	while ((r = virtq_device_pop(vq, &c)) == 1) {
		if (*(char *)iov[0].iov_base == 'H') {
			atomic_store(&held, c.head);
			continue;
		}
		CHECK_EQ(virtq_device_push(vq, c.head, (uint32_t)echo_copy(&c)), 0);
	}
	CHECK(r == 0);
	virtq_device_flush(vq);
	virtq_vu_queue_notify(q);
}

static void stop(void *opaque, struct virtq_vu_queue *q)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	int h = atomic_exchange(&held, -1);

	(void)opaque;
	atomic_fetch_add(&stops, 1);
	if (h >= 0) {	/* the drain: the slow request completes */
		CHECK_EQ(virtq_device_push(vq, (uint16_t)h, 0), 0);
		virtq_device_flush(vq);
		virtq_vu_queue_notify(q);
	}
}

static const struct virtq_vu_backend_ops ops = {
	.queue_kick = kick,
	.queue_stop = stop,
};

int main(void)
{
	struct tbe tb;
	struct vu_mem_single reg = { 0 };
	struct tfe fe;
	char *h, *b;
	struct virtq_sg o, i;
	void *tok;
	uint32_t len;

	tbe_start_one(&tb, "vu-hotplug", &ops);
	tfe_init(&fe, tb.path, 1 << 20);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, QSIZE);

	/* The slow request: held in flight. */
	h = tfe_alloc(&fe, 64, 8);
	memcpy(h, "H", 2);
	o = (struct virtq_sg){ h, 2 };
	i = (struct virtq_sg){ h + 32, 16 };
	CHECK_EQ(virtq_driver_add(fe.q[0].drv, &o, 1, &i, 1, &held), 0);
	if (virtq_driver_kick_prepare(fe.q[0].drv))
		CHECK_EQ(eventfd_write(fe.q[0].kick, 1), 0);
	for (int n = 0; n < 1000 && atomic_load(&held) < 0; n++)
		usleep(10000);
	CHECK(atomic_load(&held) >= 0);

	/* A region with no ring in it comes... */
	tfe_mem2(&fe, "vu-test-guest2", 1 << 16);
	fe.gpa2 = 1ull << 36;
	reg.region = (struct vu_mem_region){
		.guest_phys_addr = fe.gpa2,
		.memory_size = fe.mem2_size,
		.userspace_addr = (uint64_t)(uintptr_t)fe.mem2,
	};
	TFE_OK(tfe_acked(&fe, VU_ADD_MEM_REG, &reg, sizeof(reg), &fe.memfd2, 1));
	CHECK_EQ(atomic_load(&stops), 0);
	/* ...and is used at once, while the slow request stays in flight. */
	b = fe.mem2 + 100;
	memcpy(b, "hot", 4);
	o = (struct virtq_sg){ b, 4 };
	i = (struct virtq_sg){ b + 100, 16 };
	tfe_offer(&fe, 0, &o, 1, &i, 1);
	{
		int r = 0;

		for (int n = 0; n < 1000 && r == 0; n++) {
			r = virtq_driver_get_used(fe.q[0].drv, &tok, &len);
			if (!r)
				usleep(10000);
		}
		CHECK_EQ(r, 1);
		CHECK(tok == &tfe_token);	/* not the held one */
		CHECK(!memcmp(b + 100, "hot", 4));
	}
	/* ...and goes, acked without a drain. */
	TFE_OK(tfe_acked(&fe, VU_REM_MEM_REG, &reg, sizeof(reg), NULL, 0));
	CHECK_EQ(atomic_load(&stops), 0);
	CHECK(atomic_load(&held) >= 0);
	CHECK_EQ(virtq_driver_get_used(fe.q[0].drv, &tok, &len), 0);
	/* The ring still serves. */
	{
		char *s = tfe_alloc(&fe, 64, 8);

		tfe_echo(&fe, 0, s, s + 32, "cold");
	}
	tfe_close(&fe);
	virtq_vu_backend_stop(tb.be);
	CHECK_EQ(pthread_join(tb.th, NULL), 0);
	CHECK_EQ(atomic_load(&stops), 1);	/* at the disconnect */
	virtq_vu_backend_destroy(tb.be);
	CHECK_EQ(rmdir(tb.dir), 0);
	return 0;
}
