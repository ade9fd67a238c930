/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-protocol-features-acked: SET_PROTOCOL_FEATURES sent with
 * NEED_REPLY is acknowledged when the features it sets include REPLY_ACK
 * (rust-vmm's frontend waits for that ack), with a failure when it asks
 * for bits not offered (the connection stays up); without REPLY_ACK in
 * the set, no ack is sent (the next reply is the next request's).
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

static int64_t set_proto(struct tfe *fe, uint64_t v)
{
	return tfe_acked(fe, VU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0);
}

int main(void)
{
	struct tbe tb;
	uint64_t offered, reply_ack = 1ull << VU_PROTOCOL_F_REPLY_ACK;
	struct tfe fe;

	tbe_start_one(&tb, "vu-proto", &ops);

	/* REPLY_ACK in the set: acked with 0. */
	tfe_init(&fe, tb.path, 1 << 16);
	(void)tfe_get_u64(&fe, VU_GET_FEATURES);
	offered = tfe_get_u64(&fe, VU_GET_PROTOCOL_FEATURES);
	CHECK(offered & reply_ack);
	CHECK_EQ(set_proto(&fe, offered), 0);
	/* REPLY_ACK is agreed: SET_OWNER with NEED_REPLY is acked. */
	CHECK_EQ(tfe_acked(&fe, VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* Bits not offered: a failure ack, and the connection stays up
	 * with the features agreed before. */
	CHECK(set_proto(&fe, offered | 1ull << 40) > 0);
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_FEATURES) & 1ull << VU_F_PROTOCOL_FEATURES,
		 1ull << VU_F_PROTOCOL_FEATURES);
	CHECK_EQ(tfe_acked(&fe, VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	tfe_close(&fe);

	/* REPLY_ACK not in the set: NEED_REPLY alone asks for nothing. */
	tfe_init(&fe, tb.path, 1 << 16);
	(void)tfe_get_u64(&fe, VU_GET_FEATURES);
	offered = tfe_get_u64(&fe, VU_GET_PROTOCOL_FEATURES);
	{
		uint64_t v = offered & ~reply_ack;

		CHECK_EQ(tfe_send(&fe, VU_SET_PROTOCOL_FEATURES,
				  VU_VERSION | VU_FLAG_NEED_REPLY, &v, 8, NULL, 0), 0);
	}
	/* Nor is SET_OWNER's now: tfe_get_u64 fails if the next reply is
	 * not GET_QUEUE_NUM's. */
	CHECK_EQ(tfe_send(&fe, VU_SET_OWNER, VU_VERSION | VU_FLAG_NEED_REPLY,
			  NULL, 0, NULL, 0), 0);
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_QUEUE_NUM), 1);
	tfe_close(&fe);

	tbe_stop(&tb);
	return 0;
}
