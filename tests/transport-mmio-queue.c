/* SPDX-License-Identifier: MIT */
/*
 * transport-mmio-queue: queue setup over virtio-mmio.
 *  - size: min(want, QueueNumMax) rounded down to a power of two
 *    (max 1000 -> 512, want 100 -> 64, max 1 -> 1, max 65535 -> 32768),
 *    a missing queue (max 0) -ENOENT, want 0 -EINVAL;
 *  - a queue still live after the reset (QueueReady / QueuePFN set): -EBUSY;
 *  - modern: the three ring addresses from the initialised virtq_driver
 *    programmed in full 64 bits, QueueNum, QueueReady; a device that does
 *    not take the queue (QueueReady reads back 0): -EIO;
 *  - legacy: GuestPageSize, QueueAlign, QueuePFN = device base / 4096; a layout
 *    that is not the legacy contiguous one -EINVAL; a PFN beyond 32 bits
 *    -ERANGE;
 *  - notify writes the queue index to QueueNotify; interrupt_ack reads
 *    InterruptStatus and acknowledges exactly those bits.
 */
#include <stdlib.h>

#include "fake-mmio.h"

static uint64_t xlate_high(void *opaque, const void *addr, size_t len, size_t *mapped)
{
	(void)opaque;
	*mapped = len;
	return (uint64_t)(uintptr_t)addr + 0x1234500000000ull;
}

/* Legacy: the guest-physical view of a host buffer, below 2^44 as QueuePFN needs. */
static const void *low_base;

static uint64_t xlate_low(void *opaque, const void *addr, size_t len, size_t *mapped)
{
	(void)opaque;
	*mapped = len;
	return 0x80000000ull + (uint64_t)((const char *)addr - (const char *)low_base);
}

static void *zalloc(size_t align, size_t size)
{
	void *p = aligned_alloc(align, (size + align - 1) / align * align);

	CHECK(p != NULL);
	memset(p, 0, size);
	return p;
}

static uint32_t size_for(uint32_t max, uint32_t want, int *r)
{
	struct fake_mmio f;
	struct virtq_mmio m;
	uint32_t num = 0;

	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.q[0].num_max = max;
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, 0, NULL), 0);
	*r = virtq_transport_queue_size(&m.t, 0, want, &num);
	return num;
}

int main(void)
{
	struct virtq_driver_config cfg;
	struct fake_mmio f;
	struct virtq_mmio m;
	struct virtq_driver *vq;
	uint64_t d, a, u;
	uint32_t num;
	void *legacy;
	int r;

	CHECK_EQ(size_for(1000, 1024, &r), 512); CHECK_EQ(r, 0);
	CHECK_EQ(size_for(1024, 100, &r), 64); CHECK_EQ(r, 0);
	CHECK_EQ(size_for(1, 1024, &r), 1); CHECK_EQ(r, 0);
	CHECK_EQ(size_for(65535, 65535, &r), 32768); CHECK_EQ(r, 0);
	CHECK_EQ(size_for(256, 256, &r), 256); CHECK_EQ(r, 0);
	size_for(0, 256, &r); CHECK_EQ(r, -ENOENT);
	size_for(256, 0, &r); CHECK_EQ(r, -EINVAL);

	/* Live after reset. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, 0, NULL), 0);
	f.q[1].ready = 1;
	CHECK_EQ(virtq_transport_queue_size(&m.t, 1, 256, &num), -EBUSY);
	CHECK_EQ(virtq_transport_queue_size(&m.t, 0, 256, &num), 0);
	fake_mmio_init(&f, 1, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, 0, NULL), 0);
	f.q[0].pfn = 0x80000;
	CHECK_EQ(virtq_transport_queue_size(&m.t, 0, 256, &num), -EBUSY);

	/* Modern: addresses through translate, in full. */
	fake_mmio_init(&f, 2, VIRTQ_ID_BLOCK);
	f.dev_features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, ~0ull, NULL), 0);
	CHECK_EQ(virtq_transport_queue_size(&m.t, 2, 128, &num), 0);
	CHECK_EQ(num, 128);
	memset(&cfg, 0, sizeof cfg);
	virtq_transport_queue_config(&m.t, 2, &cfg);
	cfg.num = num;
	cfg.desc = zalloc(16, VIRTQ_DESC_SIZE(num));
	cfg.avail = zalloc(16, VIRTQ_AVAIL_SIZE(num));
	cfg.used = zalloc(16, VIRTQ_USED_SIZE(num));
	cfg.translate = xlate_high;
	vq = zalloc(64, virtq_driver_mem_size(num));
	CHECK_EQ(virtq_driver_init(vq, virtq_driver_mem_size(num), &cfg), 0);
	CHECK_EQ(virtq_transport_queue_enable(&m.t, vq), 0);
	virtq_driver_ring_addrs(vq, &d, &a, &u);
	CHECK(d == (uint64_t)(uintptr_t)cfg.desc + 0x1234500000000ull);
	CHECK(d >> 32 != 0);
	CHECK_EQ(f.q[2].desc, d);
	CHECK_EQ(f.q[2].avail, a);
	CHECK_EQ(f.q[2].used, u);
	CHECK_EQ(f.q[2].num, 128);
	CHECK_EQ(f.q[2].ready, 1);
	CHECK_EQ(virtq_transport_driver_ok(&m.t), 0);
	CHECK(f.status & VIRTQ_STATUS_DRIVER_OK);
	/* Notify through the driver's hook: QueueNotify gets the index. */
	CHECK_EQ(virtq_driver_notify(vq), 0);
	CHECK_EQ(f.notifies, 1);
	CHECK_EQ(f.last_notify, 2);
	/* Interrupt status: read, acknowledge those bits only. */
	f.isr = VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG;
	CHECK_EQ(virtq_transport_interrupt_ack(&m.t), VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG);
	CHECK_EQ(f.acked, VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG);
	CHECK_EQ(f.isr, 0);
	CHECK_EQ(virtq_transport_interrupt_ack(&m.t), 0);
	/* Enabling it again: it is live now. */
	CHECK_EQ(virtq_transport_queue_enable(&m.t, vq), -EBUSY);
	/* DEVICE_NEEDS_RESET seen by driver_ok and needs_reset. */
	f.status |= VIRTQ_STATUS_DEVICE_NEEDS_RESET;
	CHECK(virtq_transport_needs_reset(&m.t));
	CHECK_EQ(virtq_transport_driver_ok(&m.t), -EIO);
	/* A device that does not take the queue. */
	CHECK_EQ(m.t.ops->reset(&m.t), 0);
	f.ready_never_sticks = true;
	CHECK_EQ(virtq_transport_queue_enable(&m.t, vq), -EIO);
	/* A queue size above QueueNumMax is refused before anything is written. */
	f.ready_never_sticks = false;
	f.q[2].num_max = 64;
	f.q[2].num = 0;
	CHECK_EQ(virtq_transport_queue_enable(&m.t, vq), -EINVAL);
	CHECK_EQ(f.q[2].num, 0);
	free(cfg.desc); free(cfg.avail); free(cfg.used); free(vq);

	/* Legacy. */
	fake_mmio_init(&f, 1, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_mmio_probe(&m, &f), 0);
	CHECK_EQ(virtq_transport_negotiate(&m.t, 0, NULL), 0);
	CHECK_EQ(virtq_transport_queue_size(&m.t, 0, 256, &num), 0);
	memset(&cfg, 0, sizeof cfg);
	virtq_transport_queue_config(&m.t, 0, &cfg);
	cfg.num = num;
	legacy = zalloc(4096, virtq_legacy_size(num, m.t.legacy_align));
	CHECK_EQ(virtq_driver_config_legacy(&cfg, legacy, m.t.legacy_align), 0);
	low_base = legacy;
	cfg.translate = xlate_low;
	vq = zalloc(64, virtq_driver_mem_size(num));
	CHECK_EQ(virtq_driver_init(vq, virtq_driver_mem_size(num), &cfg), 0);
	f.page_size = 0;	/* forgotten by a reset: written again */
	CHECK_EQ(virtq_transport_queue_enable(&m.t, vq), 0);
	CHECK_EQ(f.page_size, 4096);
	CHECK_EQ(f.q[0].align, 4096);
	CHECK_EQ(f.q[0].num, num);
	CHECK_EQ(f.q[0].pfn, 0x80000000u / 4096);
	/* PFN beyond 32 bits. */
	CHECK_EQ(m.t.ops->reset(&m.t), 0);
	CHECK_EQ(m.t.ops->queue_enable(&m.t, 0, num, 1ull << 44,
				       (1ull << 44) + VIRTQ_DESC_SIZE(num),
				       (1ull << 44) + virtq_legacy_used_offset(num, 4096)), -ERANGE);
	/* Not the contiguous layout: avail elsewhere, used misplaced, desc unaligned. */
	CHECK_EQ(m.t.ops->queue_enable(&m.t, 0, num, 0x100000, 0x200000,
				       0x100000 + virtq_legacy_used_offset(num, 4096)), -EINVAL);
	CHECK_EQ(m.t.ops->queue_enable(&m.t, 0, num, 0x100000, 0x100000 + VIRTQ_DESC_SIZE(num),
				       0x100000 + VIRTQ_DESC_SIZE(num) + VIRTQ_AVAIL_SIZE(num)), -EINVAL);
	CHECK_EQ(m.t.ops->queue_enable(&m.t, 0, num, 0x100010, 0x100010 + VIRTQ_DESC_SIZE(num),
				       0x100010 + virtq_legacy_used_offset(num, 4096)), -EINVAL);
	CHECK_EQ(f.q[0].pfn, 0);
	free(legacy); free(vq);
	return 0;
}
