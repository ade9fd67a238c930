/* SPDX-License-Identifier: MIT */
/*
 * transport-config-generation: device config reads over virtio-mmio.
 *  - a generation that changes during the first reads is retried until two
 *    reads of it agree, and the bytes returned are the device's;
 *  - a generation that never settles gives -EAGAIN after a bounded number
 *    of tries (VIRTQ_TRANSPORT_POLL_MAX), not a hang;
 *  - reads past config_len: -ERANGE (including an offset + length that
 *    wraps);
 *  - each access has the width the spec asks for (checked by the fake:
 *    aligned 4 / 2 / 1), bytes land little-endian in the buffer;
 *  - legacy devices have no generation register and read once;
 *  - config_write round-trips.
 */
#include "fake-mmio.h"

int main(void)
{
	struct fake_mmio f;
	struct virtq_mmio m;
	uint8_t buf[16], w[3] = { 0xaa, 0xbb, 0xcc };
	uint64_t cap;
	unsigned int i;

	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	f.gen_bumps = 5;
	CHECK_EQ(virtq_transport_config_read(&m.t, 0, &cap, 8), 0);
	for (i = 0; i < 8; i++)
		CHECK_EQ(((uint8_t *)&cap)[i], f.config[i]);
	CHECK_EQ(f.gen_bumps, 0);
	CHECK(f.gen_reads >= 4);	/* retried at least once */

	/* Odd offset and length: byte, halfword, word accesses as aligned. */
	CHECK_EQ(virtq_transport_config_read(&m.t, 1, buf, 9), 0);
	CHECK_EQ(memcmp(buf, f.config + 1, 9), 0);

	f.gen_always_bumps = true;
	f.gen_reads = 0;
	CHECK_EQ(virtq_transport_config_read(&m.t, 0, buf, 4), -EAGAIN);
	CHECK(f.gen_reads <= 2 * VIRTQ_TRANSPORT_POLL_MAX);
	f.gen_always_bumps = false;

	CHECK_EQ(virtq_transport_config_read(&m.t, VIRTQ_MMIO_CONFIG_LEN - 4, buf, 4), 0);
	CHECK_EQ(virtq_transport_config_read(&m.t, VIRTQ_MMIO_CONFIG_LEN - 4, buf, 5), -ERANGE);
	CHECK_EQ(virtq_transport_config_read(&m.t, VIRTQ_MMIO_CONFIG_LEN + 1, buf, 0), -ERANGE);
	CHECK_EQ(virtq_transport_config_read(&m.t, 8, buf, 0xfffffffcu), -ERANGE);
	CHECK_EQ(m.t.ops->config_write(&m.t, 0xff, w, 2), -ERANGE);

	CHECK_EQ(m.t.ops->config_write(&m.t, 5, w, 3), 0);
	CHECK_EQ(f.config[5], 0xaa);
	CHECK_EQ(f.config[6], 0xbb);
	CHECK_EQ(f.config[7], 0xcc);

	/* Legacy: no generation register (the fake fails the test if it is read). */
	fake_mmio_init(&f, 1, VIRTQ_ID_NET);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_config_read(&m.t, 0, buf, 6), 0);
	CHECK_EQ(memcmp(buf, f.config, 6), 0);
	return 0;
}
