/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-reclaim-signal: a backend that published a completion and
 * died before signalling it leaves the guest waiting for an interrupt
 * that never comes.  A ring taken over by the next backend (reconnect,
 * SET_VRING_BASE) therefore signals its call fd once when it starts, even
 * with nothing new to complete (a spurious interrupt is the safe choice,
 * as crosvm's vhost_user_reclaim explains).  For EVENT_IDX off and on.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define QSIZE 8

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

static void drain(int fd)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);	/* non-blocking */
}

static void run(const char *path, bool event_idx)
{
	uint64_t want = event_idx ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;
	struct tfe fe;
	struct tfe_queue *q = &fe.q[0];
	char *out, *in;
	struct virtq_sg o, i;
	struct virtq_used *used;
	struct vu_vring_state st = { .index = 0 };
	struct vu_msg m;
	struct pollfd p;
	void *tok;
	uint32_t len;
	uint16_t head;

	tfe_init(&fe, path, 1 << 20);
	tfe_negotiate(&fe, want);
	tfe_queue(&fe, 0, QSIZE);
	/* Stop the ring as QEMU does before the backend goes away. */
	CHECK_EQ(tfe_send(&fe, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0), 0);
	CHECK_EQ(tfe_recv(&fe, VU_GET_VRING_BASE, &m), 0);
	CHECK_EQ(m.p.state.num, 0);

	/* A request the dying backend completed (used entry + used->idx
	 * published) without signalling it. */
	out = tfe_alloc(&fe, 16, 1);
	in = tfe_alloc(&fe, 16, 1);
	o = (struct virtq_sg){ out, 4 };
	i = (struct virtq_sg){ in, 16 };
	memcpy(out, "abc", 4);
	CHECK_EQ(virtq_driver_add(q->drv, &o, 1, &i, 1, &tfe_token), 0);
	(void)virtq_driver_kick_prepare(q->drv);
	/* The driver waits for the interrupt: nothing used yet. */
	CHECK(virtq_driver_enable_cb(q->drv));
	used = q->used;
	head = virtq_le16(((struct virtq_avail *)q->avail)->ring[0]);
	memcpy(in, "abc", 4);
	used->ring[0].id = virtq_cpu_to_le32(head);
	used->ring[0].len = virtq_cpu_to_le32(4);
	__atomic_store_n(&used->idx, virtq_cpu_to_le16(1), __ATOMIC_RELEASE);

	/* Reconnect: the next backend takes the ring over at avail 1. */
	close(fe.sock);
	fe.sock = tfe_connect(path);
	tfe_negotiate(&fe, want);
	tfe_queue_send(&fe, 0, 1);
	p = (struct pollfd){ .fd = q->call, .events = POLLIN };
	if (poll(&p, 1, TFE_TIMEOUT_MS) != 1) {
		fprintf(stderr, "FAIL event_idx=%d: the taken-over ring never signalled its call fd\n",
			event_idx);
		exit(1);
	}
	drain(q->call);
	CHECK_EQ(virtq_driver_get_used(q->drv, &tok, &len), 1);
	CHECK(tok == &tfe_token);
	CHECK_EQ(len, 4);
	/* And the ring goes on serving. */
	tfe_echo(&fe, 0, out, in, "xyz");
	tfe_close(&fe);
}

int main(void)
{
	struct tbe tb;
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
		.num_queues = 1,
		.ops = &ops,
	};

	tbe_start(&tb, "vu-reclaim", &cfg);
	run(tb.path, false);
	run(tb.path, true);
	tbe_stop(&tb);
	return 0;
}
