/* SPDX-License-Identifier: MIT */
/*
 * drivers-queue-setup: virtq_queue_setup, the queue bring-up every device
 * driver uses, on its own.
 *  - the compile-time VIRTQ_QUEUE_RING_SIZE(num) bounds
 *    virtq_queue_ring_size() for every queue size, modern and legacy;
 *  - the size is min(asked, device maximum) rounded down to a power of
 *    two, and the queue is programmed at the ring's device addresses in
 *    the layout the transport needs (the fake CHECKs it);
 *  - each wrong input has its error: no queue (-ENOENT), live (-EBUSY),
 *    too small for the driver (-ENOSPC), ring / state / indirect pool too
 *    small or the ring misaligned (-EINVAL), memory the DMA mapping cannot
 *    reach (-EFAULT); the indirect pool is used only when negotiated.
 */
#include "fake-transport.h"

static int setup(struct fake_dev *fd, uint16_t qi, struct virtq_queue_mem *m,
		 uint32_t min, struct virtq_driver **vq)
{
	struct virtq_dma d = fake_dma(fd);

	return virtq_queue_setup(&fd->t, qi, m, &d, min, vq);
}

static struct fake_dev *negotiated(uint32_t legacy, uint64_t ring)
{
	struct fake_dev *fd = fake_new(VIRTQ_ID_RNG, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), legacy);

	CHECK_EQ(virtq_transport_negotiate(&fd->t, ring, NULL), 0);
	return fd;
}

int main(void)
{
	struct virtq_transport modern = { 0 }, legacy = { 0 };
	struct virtq_driver *vq;
	struct virtq_queue_mem m;
	struct fake_dev *fd;
	uint32_t num;

	legacy.legacy_align = 4096;
	for (num = 1; num <= VIRTQ_MAX_SIZE; num *= 2) {
		CHECK(virtq_queue_ring_size(num, &modern) <= VIRTQ_QUEUE_RING_SIZE(num));
		CHECK_EQ(virtq_queue_ring_size(num, &legacy), VIRTQ_QUEUE_RING_SIZE(num));
		CHECK(virtq_queue_ring_size(num, &modern) >= virtq_desc_size(num) +
		      virtq_avail_size(num) + virtq_used_size(num));
	}
	CHECK_EQ(virtq_queue_ring_size(3, &modern), 0);
	CHECK_EQ(virtq_queue_ring_size(0, &legacy), 0);

	for (uint32_t lg = 0; lg <= 4096; lg += 4096) {
		/* Sizes: asked 100 of a device offering 256 -> 64; 256 of 48 -> 32. */
		fd = negotiated(lg, 0);
		m = fake_queue_mem(fd, 100, 0);
		CHECK_EQ(setup(fd, 0, &m, 1, &vq), 0);
		CHECK_EQ(virtq_driver_size(vq), 64);
		CHECK_EQ(fd->q[0].num, 64);
		CHECK(fd->q[0].enabled);
		CHECK_EQ(fd->q[0].desc, FAKE_GPA + (uint64_t)((unsigned char *)m.ring - fd->arena));
		fd->q[1].max = 48;
		m = fake_queue_mem(fd, 256, 0);
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), 0);
		CHECK_EQ(virtq_driver_size(vq), 32);
		CHECK_EQ(virtq_driver_queue_index(vq), 1);
		/* Not negotiated: the pool stays unused. */
		fd->q[2].max = 8;
		m = fake_queue_mem(fd, 8, 4);
		CHECK_EQ(setup(fd, 2, &m, 1, &vq), 0);
		CHECK_EQ(virtq_driver_features(vq) & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 0);
		fake_free(fd);

		fd = negotiated(lg, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC));
		m = fake_queue_mem(fd, 8, 4);
		m.indirect_len--;
		CHECK_EQ(setup(fd, 0, &m, 1, &vq), -EINVAL);
		m.indirect_len++;
		CHECK_EQ(setup(fd, 0, &m, 1, &vq), 0);
		CHECK(virtq_driver_features(vq) & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC));

		/* The errors. */
		fd->q[1].max = 0;
		m = fake_queue_mem(fd, 8, 0);
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -ENOENT);
		fd->q[1].max = 8;
		fd->q[1].live = true;
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EBUSY);
		fd->q[1].live = false;
		fd->q[1].max = 3;			/* -> 2 */
		CHECK_EQ(setup(fd, 1, &m, 4, &vq), -ENOSPC);
		fd->q[1].max = 8;
		m.ring_len = virtq_queue_ring_size(8, &fd->t) - 1;
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EINVAL);
		m = fake_queue_mem(fd, 8, 0);
		m.state_len = virtq_driver_mem_size(8) - 1;
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EINVAL);
		m = fake_queue_mem(fd, 8, 0);
		m.ring = (char *)m.ring + (lg ? 2048 : 8);	/* 16 / 4096 alignment */
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EINVAL);
		m = fake_queue_mem(fd, 8, 0);
		m.num = 0;
		CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EINVAL);
		m = fake_queue_mem(fd, 8, 0);
		{
			static _Alignas(4096) unsigned char outside[VIRTQ_QUEUE_RING_SIZE(8)];

			m.ring = outside;		/* not in the device's reach */
			CHECK_EQ(setup(fd, 1, &m, 1, &vq), -EFAULT);
		}
		CHECK(!fd->q[1].enabled);
		fake_free(fd);
	}
	printf("drivers-queue-setup: ok\n");
	return 0;
}
