/* SPDX-License-Identifier: MIT */
/*
 * transport-mmio-reset-timeout: a device whose status never reads 0 after
 * the reset write gets -ETIMEDOUT from virtq_transport_negotiate after at
 * most VIRTQ_TRANSPORT_POLL_MAX status reads (a bounded poll, never a
 * hang), and nothing further is written (no ACKNOWLEDGE, no features).
 * A device that settles after a few reads is fine.
 */
#include "fake-mmio.h"

int main(void)
{
	struct fake_mmio f;
	struct virtq_mmio m;

	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.status = VIRTQ_STATUS_DRIVER_OK | VIRTQ_STATUS_ACKNOWLEDGE;
	f.reset_never_settles = true;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, NULL), -ETIMEDOUT);
	CHECK(f.status_reads >= 1);
	CHECK(f.status_reads <= VIRTQ_TRANSPORT_POLL_MAX);
	CHECK_EQ(f.drv_words_written, 0);
	CHECK_EQ(f.status, VIRTQ_STATUS_DRIVER_OK | VIRTQ_STATUS_ACKNOWLEDGE);

	/* Same on legacy. */
	fake_mmio_init(&f, 1, VIRTQ_ID_BLOCK);
	f.status = VIRTQ_STATUS_DRIVER;
	f.reset_never_settles = true;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, 0, NULL), -ETIMEDOUT);
	CHECK(f.status_reads <= VIRTQ_TRANSPORT_POLL_MAX);

	/* A well-behaved reset needs one read. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.status = VIRTQ_STATUS_DRIVER_OK;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(m.t.ops->reset(&m.t), 0);
	CHECK_EQ(f.status_reads, 1);
	return 0;
}
