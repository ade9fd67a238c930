/* SPDX-License-Identifier: MIT */
/*
 * transport-pci-queue: the virtio-pci transport after the probe.
 *  - negotiation: the written features never hold RING_PACKED, IN_ORDER,
 *    NOTIFICATION_DATA; FEATURES_OK refused: -ENOTSUP; reset that never
 *    settles: -ETIMEDOUT (bounded);
 *  - queues: a queue index at or above num_queues does not exist
 *    (-ENOENT), sizes rounded down to a power of two, a live queue -EBUSY;
 *    enable programs size, the three addresses, MSI-X vector "none",
 *    enable = 1;
 *    a size above the device's maximum -EINVAL, a device that does not
 *    take the queue (enable reads back 0) -EIO, a queue index beyond
 *    VIRTQ_PCI_MAX_QUEUES -ERANGE;
 *  - notify: at notify.addr + queue_notify_off * multiplier, the queue
 *    index written; with a multiplier of 0 every queue shares the first
 *    doorbell; a queue_notify_off beyond the notify structure: -ERANGE;
 *  - ISR: read-to-clear, both bits reported;
 *  - config: generation retries, -ERANGE past config_len.
 */
#include <stdlib.h>

#include "fake-pci.h"

static struct fake_pci f;
static struct virtq_pci p;

static int probe(void)
{
	struct virtq_pci_bar_window w;

	virtq_pci_bar_window_init(&w, 0x40000000, 0x40000000);
	return fake_pci_probe(&p, &f, 3, &w);
}

/* Every allocation, freed at the end (the sanitizer runs check leaks). */
static void *allocs[64];
static unsigned int n_allocs;

static void *zalloc(size_t align, size_t size)
{
	void *m = aligned_alloc(align, (size + align - 1) / align * align);

	CHECK(m != NULL);
	CHECK(n_allocs < sizeof allocs / sizeof allocs[0]);
	allocs[n_allocs++] = m;
	memset(m, 0, size);
	return m;
}

static struct virtq_driver *make_queue(uint16_t index, uint32_t num)
{
	struct virtq_driver_config cfg = { 0 };
	struct virtq_driver *vq;

	virtq_transport_queue_config(&p.t, index, &cfg);
	cfg.num = num;
	cfg.desc = zalloc(16, VIRTQ_DESC_SIZE(num));
	cfg.avail = zalloc(16, VIRTQ_AVAIL_SIZE(num));
	cfg.used = zalloc(16, VIRTQ_USED_SIZE(num));
	vq = zalloc(64, virtq_driver_mem_size(num));
	CHECK_EQ(virtq_driver_init(vq, virtq_driver_mem_size(num), &cfg), 0);
	return vq;
}

int main(void)
{
	struct virtq_driver *vq[FP_NQ];
	uint64_t got, d, a, u;
	uint32_t num;
	uint8_t buf[8];
	unsigned int i;

	/* Negotiation. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	f.dev_features = ~0ull;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, ~0ull, &got), 0);
	CHECK_EQ(f.drv_features, got);
	CHECK_EQ(got, VIRTQ_DEVICE_FEATURES_MASK | VIRTQ_DRIVER_FEATURES);
	CHECK_EQ(got & (VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) | VIRTQ_FEATURE(VIRTQ_F_IN_ORDER) |
			VIRTQ_FEATURE(VIRTQ_F_NOTIFICATION_DATA)), 0);
	CHECK(f.status & VIRTQ_STATUS_FEATURES_OK);

	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	f.refuse_features_ok = true;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, ~0ull, NULL), -ENOTSUP);
	CHECK(f.status & VIRTQ_STATUS_FAILED);

	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	f.status = VIRTQ_STATUS_DRIVER_OK;
	f.reset_never_settles = true;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), -ETIMEDOUT);

	/* Queues and doorbells. */
	fake_pci_init(&f, VIRTQ_ID_NET);
	f.q[1].max = f.q[1].size = 1000;
	f.q[2].notify_off = 7;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), 0);
	CHECK_EQ(virtq_transport_queue_size(&p.t, FP_NQ, 256, &num), -ENOENT);
	CHECK_EQ(virtq_transport_queue_size(&p.t, 1, 1024, &num), 0);
	CHECK_EQ(num, 512);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(virtq_transport_queue_size(&p.t, (uint16_t)i, 64, &num), 0);
		CHECK_EQ(num, 64);
		vq[i] = make_queue((uint16_t)i, num);
		CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[i]), 0);
		virtq_driver_ring_addrs(vq[i], &d, &a, &u);
		CHECK_EQ(f.q[i].size, 64);
		CHECK_EQ(f.q[i].desc, d);
		CHECK_EQ(f.q[i].avail, a);
		CHECK_EQ(f.q[i].used, u);
		CHECK_EQ(f.q[i].enable, 1);
		CHECK_EQ(f.q[i].msix, 0xffff);
	}
	CHECK_EQ(virtq_transport_queue_size(&p.t, 0, 64, &num), -EBUSY);
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[0]), -EBUSY);
	CHECK_EQ(virtq_transport_driver_ok(&p.t), 0);
	CHECK_EQ(virtq_driver_notify(vq[2]), 0);
	CHECK_EQ(f.last_notify_addr, p.notify.addr + 7 * 4);
	CHECK_EQ(f.last_notify_val, 2);
	CHECK_EQ(virtq_driver_notify(vq[1]), 0);
	CHECK_EQ(f.last_notify_addr, p.notify.addr + 1 * 4);
	CHECK_EQ(f.last_notify_val, 1);
	CHECK_EQ(f.notifies, 2);

	/* ISR: read to clear. */
	f.isr = VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG;
	CHECK_EQ(virtq_transport_interrupt_ack(&p.t), VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG);
	CHECK_EQ(f.isr, 0);
	CHECK_EQ(virtq_transport_interrupt_ack(&p.t), 0);

	/* Config: generation retries, bounds. */
	f.gen_bumps = 3;
	CHECK_EQ(virtq_transport_config_read(&p.t, 2, buf, 6), 0);
	CHECK_EQ(memcmp(buf, f.devcfg + 2, 6), 0);
	CHECK_EQ(f.gen_bumps, 0);
	CHECK_EQ(virtq_transport_config_read(&p.t, 0xfc, buf, 8), -ERANGE);

	/* Multiplier 0: one doorbell for all. */
	fake_pci_init(&f, VIRTQ_ID_NET);
	fp_put(&f, 0x90, 4, 0);
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), 0);
	for (i = 0; i < 3; i++) {
		vq[i] = make_queue((uint16_t)i, 16);
		CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[i]), 0);
	}
	CHECK_EQ(virtq_driver_notify(vq[2]), 0);
	CHECK_EQ(f.last_notify_addr, p.notify.addr);
	CHECK_EQ(f.last_notify_val, 2);

	/* queue_notify_off beyond the notify structure (0x1000 bytes / 4). */
	fake_pci_init(&f, VIRTQ_ID_NET);
	f.q[3].notify_off = 0x400;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), 0);
	vq[3] = make_queue(3, 16);
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[3]), -ERANGE);
	CHECK_EQ(f.q[3].enable, 0);
	f.q[3].notify_off = 0x3ff;	/* the last doorbell: fine */
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[3]), 0);
	/* A huge multiplier overflows 32 bits: -ERANGE, not a wrapped address. */
	fake_pci_init(&f, VIRTQ_ID_NET);
	fp_put(&f, 0x90, 4, 0x80000000u);
	f.q[0].notify_off = 2;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), 0);
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[3]), -ERANGE);
	/* (vq[3] is queue 3; queue 0 with offset 2 * 2^31 wraps 32 bits) */
	vq[0] = make_queue(0, 16);
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[0]), -ERANGE);
	/* Size above the maximum; enable that does not stick; index out of range. */
	fake_pci_init(&f, VIRTQ_ID_NET);
	f.q[0].max = f.q[0].size = 8;
	CHECK_EQ(probe(), 0);
	CHECK_EQ(virtq_transport_negotiate(&p.t, 0, NULL), 0);
	vq[0] = make_queue(0, 16);
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[0]), -EINVAL);
	CHECK_EQ(f.q[0].enable, 0);
	f.q[0].max = f.q[0].size = 16;
	f.enable_never_sticks = true;
	CHECK_EQ(virtq_transport_queue_enable(&p.t, vq[0]), -EIO);
	f.enable_never_sticks = false;
	f.num_queues = VIRTQ_PCI_MAX_QUEUES + 1;
	CHECK_EQ(p.t.ops->queue_enable(&p.t, VIRTQ_PCI_MAX_QUEUES, 16, 0x1000, 0x2000, 0x3000), -ERANGE);
	CHECK_EQ(p.t.ops->queue_notify(&p.t, VIRTQ_PCI_MAX_QUEUES), -ERANGE);

	while (n_allocs)
		free(allocs[--n_allocs]);
	return 0;
}
