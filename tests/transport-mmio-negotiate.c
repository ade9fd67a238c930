/* SPDX-License-Identifier: MIT */
/*
 * transport-mmio-negotiate: feature negotiation over virtio-mmio.
 *  - a device offering every bit, a driver asking for every bit: what is
 *    written is the device bits 0..23 plus only VIRTQ_DRIVER_FEATURES of
 *    24..63 (never RING_PACKED, IN_ORDER, NOTIFICATION_DATA), VERSION_1
 *    always, and the status goes ACKNOWLEDGE | DRIVER | FEATURES_OK;
 *  - features the driver did not ask for are not accepted;
 *  - a modern device without VERSION_1: -ENODEV, FAILED set;
 *  - FEATURES_OK cleared by the device on the re-read: -ENOTSUP, FAILED
 *    set, t->features stays 0;
 *  - legacy: one 32-bit feature word each way, no VERSION_1, no
 *    FEATURES_OK.
 */
#include "fake-mmio.h"

#define NEVER (VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) | VIRTQ_FEATURE(VIRTQ_F_IN_ORDER) | \
	       VIRTQ_FEATURE(VIRTQ_F_NOTIFICATION_DATA))

int main(void)
{
	struct fake_mmio f;
	struct virtq_mmio m;
	uint64_t got;

	/* Everything offered, everything asked. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.dev_features = ~0ull;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, &got), 0);
	CHECK_EQ(got, VIRTQ_DEVICE_FEATURES_MASK | VIRTQ_DRIVER_FEATURES);
	CHECK_EQ(f.drv_features, got);
	CHECK_EQ(m.t.features, got);
	CHECK_EQ(got & NEVER, 0);
	CHECK(got & VIRTQ_FEATURE(VIRTQ_F_VERSION_1));
	CHECK_EQ(f.status, VIRTQ_STATUS_ACKNOWLEDGE | VIRTQ_STATUS_DRIVER |
			   VIRTQ_STATUS_FEATURES_OK);
	CHECK_EQ(f.drv_words_written, 2);

	/* Only what both sides want; VERSION_1 even if the driver forgot it. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.dev_features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			 VIRTQ_FEATURE(9) | VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
					   VIRTQ_FEATURE(9) | VIRTQ_FEATURE(1) | NEVER, &got), 0);
	CHECK_EQ(got, VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | VIRTQ_FEATURE(9));
	CHECK_EQ(f.drv_features, got);

	/* A "modern" device without VERSION_1. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.dev_features = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, &got), -ENODEV);
	CHECK(f.status & VIRTQ_STATUS_FAILED);
	CHECK_EQ(m.t.features, 0);

	/* FEATURES_OK refused: the re-read catches it. */
	fake_mmio_init(&f, 2, VIRTQ_ID_NET);
	f.dev_features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	f.refuse_features_ok = true;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	got = 0x1234;
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, &got), -ENOTSUP);
	CHECK_EQ(got, 0x1234);		/* untouched on failure */
	CHECK(f.status & VIRTQ_STATUS_FAILED);
	CHECK(!(f.status & VIRTQ_STATUS_FEATURES_OK));
	CHECK_EQ(m.t.features, 0);

	/* Legacy: 32 bits, no VERSION_1 accepted even if offered, no FEATURES_OK. */
	fake_mmio_init(&f, 1, VIRTQ_ID_BLOCK);
	f.dev_features = 0xffffffffull;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, &got), 0);
	CHECK_EQ(got, VIRTQ_DEVICE_FEATURES_MASK | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
		      VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
	CHECK_EQ(f.drv_features, got);
	CHECK_EQ(f.drv_words_written, 1);
	CHECK_EQ(f.status, VIRTQ_STATUS_ACKNOWLEDGE | VIRTQ_STATUS_DRIVER);

	/* The negotiated ring bits are what a queue config gets. */
	{
		struct virtq_driver_config cfg = { 0 };

		virtq_transport_queue_config(&m.t, 3, &cfg);
		CHECK_EQ(cfg.features, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
				       VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
		CHECK_EQ(cfg.queue_index, 3);
		CHECK(cfg.notify == virtq_transport_notify_hook);
		CHECK(cfg.notify_opaque == &m.t);
	}
	return 0;
}
