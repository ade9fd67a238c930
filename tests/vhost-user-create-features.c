/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-create-features: a backend may offer only the ring and
 * transport features (bits 24..49) the library implements; any other
 * one (RING_PACKED, ACCESS_PLATFORM, IN_ORDER, NOTIFICATION_DATA, ...)
 * is refused at create instead of being negotiated and then ignored.
 * Device-specific bits (0..23, 50..63) are the application's.
 */
#include "virtq/vhost_user.h"
#include "test.h"

static const struct virtq_vu_backend_ops ops = { 0 };

static int create(uint64_t features)
{
	struct virtq_vu_backend_config cfg = {
		.features = features, .num_queues = 1, .ops = &ops,
	};
	struct virtq_vu_backend *be = NULL;
	int r = virtq_vu_backend_create(&be, &cfg);

	if (r == 0)
		virtq_vu_backend_destroy(be);
	return r;
}

int main(void)
{
	const uint64_t v1 = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	const unsigned int refused[] = {
		24 /* NOTIFY_ON_EMPTY */, 25, 27 /* ANY_LAYOUT */, 31,
		VIRTQ_F_ACCESS_PLATFORM, VIRTQ_F_RING_PACKED, VIRTQ_F_IN_ORDER,
		37 /* SR_IOV */, VIRTQ_F_NOTIFICATION_DATA, 39, 40 /* RING_RESET */,
		41, 42, 49,
	};

	CHECK_EQ(create(v1 | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
			VIRTQ_FEATURE(VIRTQ_F_ORDER_PLATFORM) |
			VIRTQ_FEATURE(VIRTQ_VU_F_PROTOCOL_FEATURES) |
			0xffffffull | (0x3fffull << 50)), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int r = create(v1 | VIRTQ_FEATURE(refused[i]));

		if (r != -EOPNOTSUPP) {
			fprintf(stderr, "FAIL: feature bit %u: create returned %d, expected -EOPNOTSUPP\n",
				refused[i], r);
			return 1;
		}
	}
	return 0;
}
