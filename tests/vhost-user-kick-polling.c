/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-kick-polling: SET_VRING_KICK with the no-fd flag (bit 8)
 * asks the backend to poll the ring instead of waiting for kicks.  The
 * ring starts without a kick fd and serves requests that are never
 * kicked; with a kick fd again it goes back to waiting for kicks.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

/* Offer a chain without kicking; wait for it. */
static void unkicked_echo(struct tfe *fe, unsigned int n)
{
	struct tfe_queue *q = &fe->q[0];
	char *out = tfe_alloc(fe, 16, 1), *in = tfe_alloc(fe, 16, 1);
	struct virtq_sg o = { out, 8 }, i = { in, 16 };

	snprintf(out, 8, "poll%03u", n % 1000);
	CHECK_EQ(virtq_driver_add(q->drv, &o, 1, &i, 1, &tfe_token), 0);
	(void)virtq_driver_kick_prepare(q->drv);	/* publishes; no kick */
	CHECK_EQ(tfe_wait(fe, 0, TFE_TIMEOUT_MS), 8);
	CHECK(!memcmp(in, out, 8));
}

int main(void)
{
	struct tbe tb;
	uint64_t v = VU_VRING_NOFD;	/* queue 0, no fd */
	struct tfe fe;

	tbe_start_one(&tb, "vu-poll", &ops);
	tfe_init(&fe, tb.path, 1 << 20);
	tfe_negotiate(&fe, ~0ull);
	tfe_queue(&fe, 0, 8);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, NULL, 0));
	/* The ring runs polled: never kicked, served all the same. */
	for (unsigned int n = 0; n < 20; n++)
		unkicked_echo(&fe, n);
	/* A kick fd again: kicks work. */
	v = 0;
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &fe.q[0].kick, 1));
	tfe_echo(&fe, 0, tfe_alloc(&fe, 16, 1), tfe_alloc(&fe, 16, 1), "kick!");
	tfe_close(&fe);
	tbe_stop(&tb);
	return 0;
}
