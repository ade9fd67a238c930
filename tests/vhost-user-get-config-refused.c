/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-get-config-refused: a GET_CONFIG for a range past the device's
 * config space is answered in GET_CONFIG's own failure form, a reply with
 * an empty payload (the spec), and the connection stays up; a range that
 * starts inside the space and runs past its end reads zeros there.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

/* GET_CONFIG @off+@size; returns the reply's payload size, copies it. */
static uint32_t get_config(struct tfe *fe, uint32_t off, uint32_t size,
			   struct vu_config *out)
{
	struct vu_config c = { .offset = off, .size = size };
	struct vu_msg m;

	CHECK_EQ(tfe_send(fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + size,
			  NULL, 0), 0);
	CHECK_EQ(tfe_recv(fe, VU_GET_CONFIG, &m), 0);
	memcpy(out, &m.p.config, sizeof(*out));
	return m.hdr.size;
}

int main(void)
{
	struct tbe tb;
	uint8_t config[16] = "config-space-16";
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.config = config,
		.config_len = sizeof(config),
		.ops = &ops,
	};
	struct vu_config c;
	struct tfe fe;

	tbe_start(&tb, "vu-getcfg", &cfg);
	tfe_init(&fe, tb.path, 1 << 16);
	tfe_negotiate(&fe, ~0ull);

	/* Inside: the bytes. */
	CHECK_EQ(get_config(&fe, 0, 16, &c), VU_CONFIG_HDR_SIZE + 16);
	CHECK(!memcmp(c.region, config, 16));
	/* Starting inside, running past the end: zeros past it. */
	CHECK_EQ(get_config(&fe, 8, 16, &c), VU_CONFIG_HDR_SIZE + 16);
	CHECK(!memcmp(c.region, config + 8, 8));
	for (int i = 8; i < 16; i++)
		CHECK_EQ(c.region[i], 0);
	/* Past the config space, past 256 bytes: empty replies. */
	CHECK_EQ(get_config(&fe, 16, 4, &c), 0);
	CHECK_EQ(get_config(&fe, 250, 16, &c), 0);
	CHECK_EQ(get_config(&fe, 0xffffff00u, 200, &c), 0);
	/* Still up. */
	CHECK_EQ(get_config(&fe, 4, 4, &c), VU_CONFIG_HDR_SIZE + 4);
	CHECK(!memcmp(c.region, config + 4, 4));
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_QUEUE_NUM), 1);
	tfe_close(&fe);

	tbe_stop(&tb);
	return 0;
}
