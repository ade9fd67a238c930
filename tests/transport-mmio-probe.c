/* SPDX-License-Identifier: MIT */
/*
 * transport-mmio-probe: virtq_mmio_probe tells a missing device (-ENODEV,
 * wrong magic), an unknown version (-ENOTSUP: 0, 3, 0xffffffff), an empty
 * slot (-ENOENT, device ID 0) apart, and sets a modern / legacy device up
 * (IDs, config_len, legacy_align, GuestPageSize written on legacy only).
 */
#include "fake-mmio.h"

int main(void)
{
	static const uint32_t bad_versions[] = { 0, 3, 0xffffffffu };
	struct fake_mmio f;
	struct virtq_mmio m;
	unsigned int i;

	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.magic = 0x12345678;
	CHECK_EQ(fake_mmio_probe(&m, &f), -ENODEV);
	f.magic = 0;			/* nothing mapped there */
	CHECK_EQ(fake_mmio_probe(&m, &f), -ENODEV);

	for (i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
		fake_mmio_init(&f, bad_versions[i], VIRTQ_ID_BLOCK);
		CHECK_EQ(fake_mmio_probe(&m, &f), -ENOTSUP);
	}

	fake_mmio_init(&f, 2, 0);
	CHECK_EQ(fake_mmio_probe(&m, &f), -ENOENT);
	fake_mmio_init(&f, 1, 0);
	CHECK_EQ(fake_mmio_probe(&m, &f), -ENOENT);

	fake_mmio_init(&f, 2, VIRTQ_ID_RNG);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(m.version, 2);
	CHECK_EQ(m.t.device_id, VIRTQ_ID_RNG);
	CHECK_EQ(m.t.vendor_id, 0x554d4551);
	CHECK_EQ(m.t.legacy_align, 0);
	CHECK_EQ(m.t.config_len, VIRTQ_MMIO_CONFIG_LEN);
	CHECK(m.t.ops != NULL);
	CHECK_EQ(f.page_size, 0);	/* modern: GuestPageSize untouched */
	CHECK_EQ(f.status, 0);		/* probe does not touch the status */

	fake_mmio_init(&f, 1, VIRTQ_ID_NET);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(m.version, 1);
	CHECK_EQ(m.t.device_id, VIRTQ_ID_NET);
	CHECK_EQ(m.t.legacy_align, VIRTQ_LEGACY_ALIGN);
	CHECK_EQ(f.page_size, VIRTQ_MMIO_LEGACY_PAGE);
	return 0;
}
