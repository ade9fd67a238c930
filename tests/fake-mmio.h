/* SPDX-License-Identifier: MIT */
/*
 * fake-mmio.h - a virtio-mmio register file in host memory, plugged into
 * the transport through its io hook, so tests/transport-mmio-*.c run the
 * real src/transport/mmio.c against a device that can be told to
 * misbehave (reset that never settles, FEATURES_OK refused, a queue live
 * after reset, QueueReady that never reads back, a generation that keeps
 * changing).  Every access is checked: control registers only with 4-byte
 * accesses, device config with the width the spec asks for.
 */
#ifndef VIRTQ_FAKE_MMIO_H
#define VIRTQ_FAKE_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "virtq/transport/mmio.h"

struct fake_queue {
	uint32_t num_max, num, ready, align, pfn;
	uint64_t desc, avail, used;
};

struct fake_mmio {
	uint32_t magic, version, device_id, vendor_id;
	uint64_t dev_features, drv_features;
	uint32_t dev_sel, drv_sel, drv_words_written;
	uint32_t status, page_size, queue_sel;
	struct fake_queue q[4];
	uint32_t isr, acked;
	uint32_t generation;
	uint8_t config[256];
	uint32_t notifies, last_notify;
	uint32_t status_reads, gen_reads;

	/* Misbehaviour switches. */
	bool reset_never_settles;	/* STATUS never reads 0 after a 0 write */
	bool refuse_features_ok;	/* FEATURES_OK never sticks */
	bool ready_never_sticks;	/* QueueReady reads 0 after writing 1 */
	uint32_t gen_bumps;		/* bump the generation on this many config reads */
	bool gen_always_bumps;
};

static inline void fake_mmio_init(struct fake_mmio *f, uint32_t version, uint32_t device_id)
{
	unsigned int i;

	memset(f, 0, sizeof *f);
	f->magic = VIRTQ_MMIO_MAGIC;
	f->version = version;
	f->device_id = device_id;
	f->vendor_id = 0x554d4551;
	f->dev_features = version == 2 ? VIRTQ_FEATURE(VIRTQ_F_VERSION_1) : 0;
	for (i = 0; i < 4; i++)
		f->q[i].num_max = 256;
	for (i = 0; i < sizeof f->config; i++)
		f->config[i] = (uint8_t)(i * 3 + 1);
}

static inline uint32_t fake_mmio_read(void *opaque, uint32_t off, unsigned int width)
{
	struct fake_mmio *f = opaque;
	struct fake_queue *q = &f->q[f->queue_sel < 4 ? f->queue_sel : 0];
	uint32_t v = 0;
	unsigned int i;

	if (off >= VIRTQ_MMIO_CONFIG) {
		off -= VIRTQ_MMIO_CONFIG;
		CHECK(width == 1 || width == 2 || width == 4);
		CHECK(off % width == 0);	/* aligned, as the spec asks */
		CHECK(off + width <= sizeof f->config);
		for (i = 0; i < width; i++)
			v |= (uint32_t)f->config[off + i] << (8 * i);
		if (f->gen_always_bumps || f->gen_bumps) {
			f->generation++;
			if (f->gen_bumps)
				f->gen_bumps--;
		}
		return v;
	}
	CHECK(width == 4);
	CHECK(off % 4 == 0);
	switch (off) {
	case VIRTQ_MMIO_MAGIC_VALUE: return f->magic;
	case VIRTQ_MMIO_VERSION: return f->version;
	case VIRTQ_MMIO_DEVICE_ID: return f->device_id;
	case VIRTQ_MMIO_VENDOR_ID: return f->vendor_id;
	case VIRTQ_MMIO_DEVICE_FEATURES:
		CHECK(f->dev_sel < 2);
		return (uint32_t)(f->dev_features >> (32 * f->dev_sel));
	case VIRTQ_MMIO_QUEUE_NUM_MAX: return f->queue_sel < 4 ? q->num_max : 0;
	case VIRTQ_MMIO_QUEUE_READY:
		CHECK(f->version == 2);
		return q->ready;
	case VIRTQ_MMIO_QUEUE_PFN:
		CHECK(f->version == 1);
		return q->pfn;
	case VIRTQ_MMIO_INTERRUPT_STATUS: return f->isr;
	case VIRTQ_MMIO_STATUS:
		f->status_reads++;
		return f->status;
	case VIRTQ_MMIO_CONFIG_GENERATION:
		CHECK(f->version == 2);
		f->gen_reads++;
		return f->generation;
	}
	fprintf(stderr, "fake-mmio: read of write-only or unknown register 0x%x\n", off);
	exit(1);
}

static inline void fake_mmio_write(void *opaque, uint32_t off, unsigned int width, uint32_t v)
{
	struct fake_mmio *f = opaque;
	struct fake_queue *q = &f->q[f->queue_sel < 4 ? f->queue_sel : 0];
	unsigned int i;

	if (off >= VIRTQ_MMIO_CONFIG) {
		off -= VIRTQ_MMIO_CONFIG;
		CHECK(off % width == 0 && off + width <= sizeof f->config);
		for (i = 0; i < width; i++)
			f->config[off + i] = (uint8_t)(v >> (8 * i));
		return;
	}
	CHECK(width == 4);
	switch (off) {
	case VIRTQ_MMIO_DEVICE_FEATURES_SEL: f->dev_sel = v; return;
	case VIRTQ_MMIO_DRIVER_FEATURES_SEL: f->drv_sel = v; return;
	case VIRTQ_MMIO_DRIVER_FEATURES:
		CHECK(f->drv_sel < 2);
		CHECK(f->version == 2 || f->drv_sel == 0);	/* legacy: one word */
		f->drv_features &= ~(0xffffffffull << (32 * f->drv_sel));
		f->drv_features |= (uint64_t)v << (32 * f->drv_sel);
		f->drv_words_written++;
		return;
	case VIRTQ_MMIO_GUEST_PAGE_SIZE: CHECK(f->version == 1); f->page_size = v; return;
	case VIRTQ_MMIO_QUEUE_SEL: f->queue_sel = v; return;
	case VIRTQ_MMIO_QUEUE_NUM: q->num = v; return;
	case VIRTQ_MMIO_QUEUE_ALIGN: CHECK(f->version == 1); q->align = v; return;
	case VIRTQ_MMIO_QUEUE_PFN: CHECK(f->version == 1); q->pfn = v; return;
	case VIRTQ_MMIO_QUEUE_READY:
		CHECK(f->version == 2);
		q->ready = f->ready_never_sticks ? 0 : v;
		return;
	case VIRTQ_MMIO_QUEUE_NOTIFY: f->notifies++; f->last_notify = v; return;
	case VIRTQ_MMIO_INTERRUPT_ACK: f->acked |= v; f->isr &= ~v; return;
	case VIRTQ_MMIO_STATUS:
		if (v == 0) {
			if (f->reset_never_settles)
				return;
			f->status = 0;
			f->drv_features = 0;
			for (i = 0; i < 4; i++) {
				f->q[i].ready = 0;
				f->q[i].pfn = 0;
			}
			return;
		}
		if ((v & VIRTQ_STATUS_FEATURES_OK) && f->refuse_features_ok)
			v &= ~VIRTQ_STATUS_FEATURES_OK;
		f->status = v;
		return;
	case VIRTQ_MMIO_QUEUE_DESC_LOW: q->desc = (q->desc & ~0xffffffffull) | v; return;
	case VIRTQ_MMIO_QUEUE_DESC_HIGH: q->desc = (q->desc & 0xffffffffull) | (uint64_t)v << 32; return;
	case VIRTQ_MMIO_QUEUE_AVAIL_LOW: q->avail = (q->avail & ~0xffffffffull) | v; return;
	case VIRTQ_MMIO_QUEUE_AVAIL_HIGH: q->avail = (q->avail & 0xffffffffull) | (uint64_t)v << 32; return;
	case VIRTQ_MMIO_QUEUE_USED_LOW: q->used = (q->used & ~0xffffffffull) | v; return;
	case VIRTQ_MMIO_QUEUE_USED_HIGH: q->used = (q->used & 0xffffffffull) | (uint64_t)v << 32; return;
	}
	fprintf(stderr, "fake-mmio: write of read-only or unknown register 0x%x\n", off);
	exit(1);
}

/* Probe @m over the fake @f. */
static inline int fake_mmio_probe(struct virtq_mmio *m, struct fake_mmio *f)
{
	struct virtq_mmio_io io = { fake_mmio_read, fake_mmio_write, f };

	return virtq_mmio_probe(m, 0, &io);
}

#endif
