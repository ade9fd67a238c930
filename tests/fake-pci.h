/* SPDX-License-Identifier: MIT */
/*
 * fake-pci.h - one virtio-pci modern function in host memory: its
 * configuration space (type 0 header, BARs with real sizing semantics, a
 * vendor capability list that a test can break) and the BAR memory behind
 * it (common config, ISR, device config, notify), plugged into
 * src/transport/pci.c through its configuration and memory hooks.
 *
 * Layout by default: BAR0 I/O (unused), BAR1 32-bit memory 4 KiB (what
 * QEMU uses for MSI-X), BAR4 64-bit memory 16 KiB with common at 0,
 * ISR at 0x1000, device config at 0x2000 (0x100 bytes), notify at 0x3000
 * (0x1000 bytes, multiplier 4).  BARs start unassigned, as on a machine
 * without firmware.
 */
#ifndef VIRTQ_FAKE_PCI_H
#define VIRTQ_FAKE_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "virtq/transport/pci.h"

#define FP_BAR4_SIZE	0x4000u
#define FP_COMMON	0x0000u
#define FP_ISR		0x1000u
#define FP_DEVICE	0x2000u
#define FP_NOTIFY	0x3000u
#define FP_NQ		4

struct fake_pci_queue {
	uint16_t size, max, enable, notify_off, msix;
	uint64_t desc, avail, used;
};

struct fake_pci {
	uint8_t cfg[4096];
	uint64_t bar_size[6];
	bool bar_io[6], bar_64[6];

	/* Common configuration. */
	uint64_t dev_features, drv_features;
	uint32_t dfsel, gfsel;
	uint8_t status, generation;
	uint16_t qsel, msix_config, num_queues;
	struct fake_pci_queue q[FP_NQ];
	uint8_t isr;
	uint8_t devcfg[0x100];

	uint32_t notifies;
	uint64_t last_notify_addr;
	uint16_t last_notify_val;
	uint32_t mem_accesses_while_off;

	bool reset_never_settles;
	bool refuse_features_ok;
	bool enable_never_sticks;	/* queue_enable reads back 0 */
	uint32_t gen_bumps;
};

static inline void fp_put(struct fake_pci *f, unsigned int off, unsigned int w, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < w; i++)
		f->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t fp_get(const struct fake_pci *f, unsigned int off, unsigned int w)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < w; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

/* A virtio vendor capability at @pos, linked to @next. */
static inline void fp_cap(struct fake_pci *f, unsigned int pos, unsigned int next, uint8_t type,
			  uint8_t bar, uint32_t off, uint32_t len, uint8_t cap_len)
{
	fp_put(f, pos, 1, 0x09);
	fp_put(f, pos + 1, 1, next);
	fp_put(f, pos + 2, 1, cap_len);
	fp_put(f, pos + 3, 1, type);
	fp_put(f, pos + 4, 1, bar);
	fp_put(f, pos + 8, 4, off);
	fp_put(f, pos + 12, 4, len);
}

static inline void fake_pci_init(struct fake_pci *f, uint16_t virtio_id)
{
	unsigned int i;

	memset(f, 0, sizeof *f);
	fp_put(f, 0x00, 2, 0x1af4);
	fp_put(f, 0x02, 2, 0x1040 + virtio_id);
	fp_put(f, 0x06, 2, 0x10);		/* capability list */
	fp_put(f, 0x2c, 2, 0x1af4);
	fp_put(f, 0x2e, 2, virtio_id);
	fp_put(f, 0x34, 1, 0x40);
	fp_put(f, 0x3d, 1, 1);			/* INTA */
	f->bar_io[0] = true;
	f->bar_size[0] = 0x20;
	fp_put(f, 0x10, 4, 1);
	f->bar_size[1] = 0x1000;
	f->bar_64[4] = true;
	f->bar_size[4] = FP_BAR4_SIZE;
	fp_put(f, 0x20, 4, 0x4 | 0x8);		/* 64-bit, prefetchable */
	/* A non-virtio capability first (MSI-X, id 0x11), then the four. */
	fp_put(f, 0x40, 1, 0x11);
	fp_put(f, 0x41, 1, 0x50);
	fp_cap(f, 0x50, 0x60, VIRTQ_PCI_CAP_COMMON, 4, FP_COMMON, 0x38, 16);
	fp_cap(f, 0x60, 0x70, VIRTQ_PCI_CAP_ISR, 4, FP_ISR, 4, 16);
	fp_cap(f, 0x70, 0x80, VIRTQ_PCI_CAP_DEVICE, 4, FP_DEVICE, 0x100, 16);
	fp_cap(f, 0x80, 0x00, VIRTQ_PCI_CAP_NOTIFY, 4, FP_NOTIFY, 0x1000, 20);
	fp_put(f, 0x80 + 16, 4, 4);		/* notify_off_multiplier */

	f->dev_features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	f->num_queues = FP_NQ;
	for (i = 0; i < FP_NQ; i++) {
		f->q[i].max = 256;
		f->q[i].size = 256;
		f->q[i].notify_off = (uint16_t)i;
	}
	for (i = 0; i < sizeof f->devcfg; i++)
		f->devcfg[i] = (uint8_t)(0x80 + i);
}

static inline uint32_t fp_cfg_read(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn,
				   uint16_t off, unsigned int w)
{
	struct fake_pci *f = opaque;

	CHECK(w == 1 || w == 2 || w == 4);
	CHECK(off % w == 0 && off + w <= sizeof f->cfg);
	if (bus || dev != 3 || fn)
		return w == 4 ? 0xffffffffu : (w == 2 ? 0xffffu : 0xffu);
	return fp_get(f, off, w);
}

static inline void fp_cfg_write(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn,
				uint16_t off, unsigned int w, uint32_t v)
{
	struct fake_pci *f = opaque;
	unsigned int b;

	CHECK(w == 1 || w == 2 || w == 4);
	CHECK(off % w == 0 && off + w <= sizeof f->cfg);
	CHECK(!bus && dev == 3 && !fn);
	if (off >= 0x10 && off < 0x28) {
		uint64_t mask;

		CHECK(w == 4);
		b = (off - 0x10) / 4;
		/* The upper half of a 64-bit BAR. */
		if (b > 0 && f->bar_64[b - 1] && !f->bar_size[b]) {
			mask = ~(f->bar_size[b - 1] - 1) >> 32;
			fp_put(f, off, 4, v & (uint32_t)mask);
			return;
		}
		if (!f->bar_size[b]) {
			fp_put(f, off, 4, 0);
			return;
		}
		mask = ~(f->bar_size[b] - 1) & (f->bar_io[b] ? ~3u : ~0xfu);
		fp_put(f, off, 4, ((uint32_t)mask & v) | (fp_get(f, off, 4) & (f->bar_io[b] ? 3u : 0xfu)));
		return;
	}
	if (off == 0x04 || off == 0x06) {	/* command; status is read-only here */
		if (off == 0x04)
			fp_put(f, off, w, v);
		return;
	}
	fprintf(stderr, "fake-pci: config write at 0x%x\n", off);
	exit(1);
}

static inline uint64_t fp_bar4(const struct fake_pci *f)
{
	return ((uint64_t)fp_get(f, 0x24, 4) << 32) | (fp_get(f, 0x20, 4) & ~0xfu);
}

static inline struct fake_pci_queue *fp_q(struct fake_pci *f)
{
	static struct fake_pci_queue none;

	if (f->qsel < FP_NQ)
		return &f->q[f->qsel];
	memset(&none, 0, sizeof none);
	return &none;
}

static inline uint32_t fp_mem_read(void *opaque, uint64_t addr, unsigned int w)
{
	struct fake_pci *f = opaque;
	uint64_t off = addr - fp_bar4(f);
	struct fake_pci_queue *q = fp_q(f);
	uint32_t v = 0;
	unsigned int i;

	CHECK(fp_bar4(f) != 0 && addr >= fp_bar4(f) && off < FP_BAR4_SIZE);
	if (!(fp_get(f, 0x04, 2) & 2))
		f->mem_accesses_while_off++;
	CHECK(off % w == 0);
	if (off >= FP_DEVICE && off < FP_DEVICE + sizeof f->devcfg) {
		for (i = 0; i < w; i++)
			v |= (uint32_t)f->devcfg[off - FP_DEVICE + i] << (8 * i);
		if (f->gen_bumps) {
			f->gen_bumps--;
			f->generation++;
		}
		return v;
	}
	if (off == FP_ISR) {
		CHECK(w == 1);
		v = f->isr;
		f->isr = 0;		/* read to clear */
		return v;
	}
	switch (off) {
	case 0x04: CHECK(w == 4); CHECK(f->dfsel < 2); return (uint32_t)(f->dev_features >> (32 * f->dfsel));
	case 0x12: CHECK(w == 2); return f->num_queues;
	case 0x14: CHECK(w == 1); return f->status;
	case 0x15: CHECK(w == 1); return f->generation;
	case 0x16: CHECK(w == 2); return f->qsel;
	case 0x18: CHECK(w == 2); return q->size;
	case 0x1a: CHECK(w == 2); return q->msix;
	case 0x1c: CHECK(w == 2); return q->enable;
	case 0x1e: CHECK(w == 2); return q->notify_off;
	}
	fprintf(stderr, "fake-pci: BAR read at 0x%llx width %u\n", (unsigned long long)off, w);
	exit(1);
}

static inline void fp_mem_write(void *opaque, uint64_t addr, unsigned int w, uint32_t v)
{
	struct fake_pci *f = opaque;
	uint64_t off = addr - fp_bar4(f);
	struct fake_pci_queue *q = fp_q(f);
	unsigned int i;

	CHECK(fp_bar4(f) != 0 && addr >= fp_bar4(f) && off < FP_BAR4_SIZE);
	if (!(fp_get(f, 0x04, 2) & 2))
		f->mem_accesses_while_off++;
	CHECK(off % w == 0);
	if (off >= FP_NOTIFY && off < FP_NOTIFY + 0x1000) {
		CHECK(w == 2);
		f->notifies++;
		f->last_notify_addr = addr;
		f->last_notify_val = (uint16_t)v;
		return;
	}
	if (off >= FP_DEVICE && off < FP_DEVICE + sizeof f->devcfg) {
		for (i = 0; i < w; i++)
			f->devcfg[off - FP_DEVICE + i] = (uint8_t)(v >> (8 * i));
		return;
	}
	switch (off) {
	case 0x00: CHECK(w == 4); f->dfsel = v; return;
	case 0x08: CHECK(w == 4); f->gfsel = v; return;
	case 0x0c:
		CHECK(w == 4);
		CHECK(f->gfsel < 2);
		f->drv_features &= ~(0xffffffffull << (32 * f->gfsel));
		f->drv_features |= (uint64_t)v << (32 * f->gfsel);
		return;
	case 0x10: CHECK(w == 2); f->msix_config = (uint16_t)v; return;
	case 0x14:
		CHECK(w == 1);
		if (v == 0) {
			if (f->reset_never_settles)
				return;
			f->status = 0;
			for (i = 0; i < FP_NQ; i++)
				f->q[i].enable = 0;
			return;
		}
		if ((v & VIRTQ_STATUS_FEATURES_OK) && f->refuse_features_ok)
			v &= ~VIRTQ_STATUS_FEATURES_OK;
		f->status = (uint8_t)v;
		return;
	case 0x16: CHECK(w == 2); f->qsel = (uint16_t)v; return;
	case 0x18: CHECK(w == 2); q->size = (uint16_t)v; return;
	case 0x1a: CHECK(w == 2); q->msix = (uint16_t)v; return;
	case 0x1c: CHECK(w == 2); q->enable = f->enable_never_sticks ? 0 : (uint16_t)v; return;
	case 0x20: CHECK(w == 4); q->desc = (q->desc & ~0xffffffffull) | v; return;
	case 0x24: CHECK(w == 4); q->desc = (q->desc & 0xffffffffull) | (uint64_t)v << 32; return;
	case 0x28: CHECK(w == 4); q->avail = (q->avail & ~0xffffffffull) | v; return;
	case 0x2c: CHECK(w == 4); q->avail = (q->avail & 0xffffffffull) | (uint64_t)v << 32; return;
	case 0x30: CHECK(w == 4); q->used = (q->used & ~0xffffffffull) | v; return;
	case 0x34: CHECK(w == 4); q->used = (q->used & 0xffffffffull) | (uint64_t)v << 32; return;
	}
	fprintf(stderr, "fake-pci: BAR write at 0x%llx width %u\n", (unsigned long long)off, w);
	exit(1);
}

/* Probe slot 3 of the fake through its hooks, BARs from @win (may be NULL). */
static inline int fake_pci_probe(struct virtq_pci *p, struct fake_pci *f, uint8_t dev,
				 struct virtq_pci_bar_window *win)
{
	struct virtq_pci_cfg_io io = { fp_cfg_read, fp_cfg_write, f };
	struct virtq_pci_mem_io mem = { fp_mem_read, fp_mem_write, f };

	memset(p, 0xa5, sizeof *p);	/* probe must set up everything it uses */
	return virtq_pci_probe(p, &io, &mem, 0, dev, 0, win);
}

#endif
