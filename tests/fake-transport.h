/* SPDX-License-Identifier: MIT */
/*
 * fake-transport.h - a struct virtq_transport backed by a tiny fake device
 * in the same process, for the device-driver tests (tests/drivers-*.c).
 *
 * The fake device serves its queues with the project's own device side
 * (virtq_device_pop / push over a virtq_gmem map), so every driver is
 * tested against our device side.  All memory the driver shows the device
 * comes from one arena (fake_alloc); device addresses are arena offsets
 * plus FAKE_GPA, so the drivers' DMA translate hook (fake_dma) is always
 * in play, and with page_split it maps at most up to the next 4 KiB
 * boundary (buffers then take several segments) everything allocated
 * after split_from (set it past the rings and indirect pools, which must
 * stay contiguous).
 *
 * Knobs let a test make the device hostile: refuse features, report
 * config values out of range, answer with bad lengths or status bytes
 * (in the device models, fake-blk.h etc.).
 */
#ifndef VIRTQ_FAKE_TRANSPORT_H
#define VIRTQ_FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "test.h"
#include "virtq/device.h"
#include "virtq/drivers/queue.h"
#include "virtq/gmem.h"
#include "virtq/transport.h"

#define FAKE_ARENA	(16u << 20)
#define FAKE_GPA	0x40000000ull
#define FAKE_QUEUES	4
#define FAKE_IOV	1024

struct fake_dev;

struct fake_queue {
	uint32_t max;		/* QueueNumMax; 0: no such queue */
	bool live;		/* queue_max says -EBUSY */
	bool enabled;
	uint32_t num;
	uint64_t desc, avail, used;
	struct virtq_device *dq;
	unsigned int notifies;
};

struct fake_dev {
	struct virtq_transport t;	/* first: drivers see only this */
	uint64_t offered;
	uint64_t accepted;		/* what the driver wrote */
	uint8_t status;
	bool refuse_features;		/* clear FEATURES_OK */
	bool reset_stuck;		/* reset never completes */
	bool fail_at_driver_ok;		/* set NEEDS_RESET at DRIVER_OK */
	bool gen_unstable;		/* generation changes on every read */
	uint8_t config[256];
	uint32_t generation;
	uint32_t isr;
	unsigned int interrupts;	/* used-buffer interrupts raised */
	struct fake_queue q[FAKE_QUEUES];
	struct virtq_gmem *gm;
	unsigned char *arena;
	size_t arena_used;
	bool page_split;		/* translate stops at 4 KiB boundaries */
	size_t split_from;		/*   for arena offsets from here on */
	bool defer;			/* notify only counts; the test serves */
	void (*serve)(struct fake_dev *fd, uint16_t qi);
	void *model;
	struct iovec iov[FAKE_IOV];
	void *owned[16];		/* freed by fake_free */
	unsigned int nowned;
};

static inline struct fake_dev *fake_of(struct virtq_transport *t)
{
	return (struct fake_dev *)t;
}

static int fake_reset(struct virtq_transport *t)
{
	struct fake_dev *fd = fake_of(t);
	int i;

	if (fd->reset_stuck)
		return -ETIMEDOUT;
	fd->status = 0;
	fd->accepted = 0;
	fd->isr = 0;
	for (i = 0; i < FAKE_QUEUES; i++) {
		fd->q[i].enabled = false;
		free(fd->q[i].dq);
		fd->q[i].dq = NULL;
	}
	return 0;
}

static uint8_t fake_get_status(struct virtq_transport *t)
{
	return fake_of(t)->status;
}

static void fake_set_status(struct virtq_transport *t, uint8_t s)
{
	struct fake_dev *fd = fake_of(t);

	if ((s & VIRTQ_STATUS_FEATURES_OK) && !(fd->status & VIRTQ_STATUS_FEATURES_OK)) {
		if (fd->refuse_features || (fd->accepted & ~fd->offered))
			s &= (uint8_t)~VIRTQ_STATUS_FEATURES_OK;
	}
	if ((s & VIRTQ_STATUS_DRIVER_OK) && fd->fail_at_driver_ok)
		s |= VIRTQ_STATUS_DEVICE_NEEDS_RESET;
	fd->status = s;
}

static uint64_t fake_get_features(struct virtq_transport *t)
{
	struct fake_dev *fd = fake_of(t);

	return t->legacy_align ? fd->offered & 0xffffffffull : fd->offered;
}

static void fake_set_features(struct virtq_transport *t, uint64_t f)
{
	fake_of(t)->accepted = f;
}

static int fake_queue_max(struct virtq_transport *t, uint16_t index, uint32_t *max)
{
	struct fake_dev *fd = fake_of(t);

	if (index >= FAKE_QUEUES) {
		*max = 0;
		return 0;
	}
	if (fd->q[index].live)
		return -EBUSY;
	*max = fd->q[index].max;
	return 0;
}

static int fake_queue_enable(struct virtq_transport *t, uint16_t index, uint32_t num,
			     uint64_t desc, uint64_t avail, uint64_t used)
{
	struct fake_dev *fd = fake_of(t);
	struct fake_queue *q;
	struct virtq_device_config c = { 0 };

	CHECK(index < FAKE_QUEUES);
	q = &fd->q[index];
	CHECK(!q->enabled);
	CHECK(num >= 1 && num <= q->max && !(num & (num - 1)));
	if (t->legacy_align) {
		/* The contiguous layout the legacy registers can describe. */
		CHECK(desc % t->legacy_align == 0);
		CHECK_EQ(avail, desc + virtq_desc_size(num));
		CHECK_EQ(used, desc + virtq_legacy_used_offset(num, t->legacy_align));
	}
	q->num = num;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	c.num = num;
	c.features = fd->accepted;
	c.desc_addr = desc;
	c.avail_addr = avail;
	c.used_addr = used;
	c.gmem = fd->gm;
	q->dq = aligned_alloc(64, (virtq_device_mem_size() + 63) / 64 * 64);
	CHECK(q->dq != NULL);
	CHECK_EQ(virtq_device_init(q->dq, virtq_device_mem_size(), &c), 0);
	q->enabled = true;
	return 0;
}

static int fake_queue_notify(struct virtq_transport *t, uint16_t index)
{
	struct fake_dev *fd = fake_of(t);

	CHECK(index < FAKE_QUEUES && fd->q[index].enabled);
	CHECK(fd->status & VIRTQ_STATUS_DRIVER_OK);
	fd->q[index].notifies++;
	if (!fd->defer && fd->serve)
		fd->serve(fd, index);
	return 0;
}

static uint32_t fake_config_generation(struct virtq_transport *t)
{
	struct fake_dev *fd = fake_of(t);

	if (fd->gen_unstable)
		fd->generation++;
	return fd->generation;
}

static int fake_config_read(struct virtq_transport *t, uint32_t off, void *buf, uint32_t len)
{
	struct fake_dev *fd = fake_of(t);

	if (off > t->config_len || len > t->config_len - off)
		return -ERANGE;
	memcpy(buf, fd->config + off, len);
	return 0;
}

static int fake_config_write(struct virtq_transport *t, uint32_t off, const void *buf,
			     uint32_t len)
{
	struct fake_dev *fd = fake_of(t);

	if (off > t->config_len || len > t->config_len - off)
		return -ERANGE;
	memcpy(fd->config + off, buf, len);
	return 0;
}

static uint32_t fake_interrupt_ack(struct virtq_transport *t)
{
	struct fake_dev *fd = fake_of(t);
	uint32_t v = fd->isr;

	fd->isr = 0;
	return v;
}

static const struct virtq_transport_ops fake_ops = {
	.reset = fake_reset,
	.get_status = fake_get_status,
	.set_status = fake_set_status,
	.get_features = fake_get_features,
	.set_features = fake_set_features,
	.queue_max = fake_queue_max,
	.queue_enable = fake_queue_enable,
	.queue_notify = fake_queue_notify,
	.config_generation = fake_config_generation,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.interrupt_ack = fake_interrupt_ack,
};

/* A device of @device_id offering @features (VERSION_1 added unless legacy). */
static inline struct fake_dev *fake_new(uint32_t device_id, uint64_t features,
					uint32_t legacy_align)
{
	struct fake_dev *fd = calloc(1, sizeof(*fd));
	struct virtq_gmem_region r = { 0 };
	int i;

	CHECK(fd != NULL);
	fd->t.ops = &fake_ops;
	fd->t.device_id = device_id;
	fd->t.vendor_id = 0x554d4551;
	fd->t.config_len = sizeof(fd->config);
	fd->t.legacy_align = legacy_align;
	fd->offered = features | (legacy_align ? 0 : VIRTQ_FEATURE(VIRTQ_F_VERSION_1));
	for (i = 0; i < FAKE_QUEUES; i++)
		fd->q[i].max = 256;
	fd->arena = aligned_alloc(65536, FAKE_ARENA);
	CHECK(fd->arena != NULL);
	memset(fd->arena, 0x5a, FAKE_ARENA);
	CHECK_EQ(virtq_gmem_create(&fd->gm), 0);
	r.gpa = FAKE_GPA;
	r.size = FAKE_ARENA;
	r.hva = fd->arena;
	CHECK_EQ(virtq_gmem_add(fd->gm, &r), 0);
	return fd;
}

static inline void fake_free(struct fake_dev *fd)
{
	int i;

	for (i = 0; i < FAKE_QUEUES; i++)
		free(fd->q[i].dq);
	for (i = 0; i < (int)fd->nowned; i++)
		free(fd->owned[i]);
	virtq_gmem_destroy(fd->gm);
	free(fd->arena);
	free(fd);
}

/* Arena memory (device-reachable), @align-aligned, filled with 0x5a. */
/* Split pages of what is allocated from now on (fake_translate). */
static inline void fake_split_from_here(struct fake_dev *fd)
{
	fd->page_split = true;
	fd->split_from = fd->arena_used;
}

static inline void *fake_alloc(struct fake_dev *fd, size_t size, size_t align)
{
	size_t off = (fd->arena_used + align - 1) & ~(align - 1);

	CHECK(off + size <= FAKE_ARENA);
	fd->arena_used = off + size;
	return fd->arena + off;
}

static uint64_t fake_translate(void *opaque, const void *addr, size_t len, size_t *mapped)
{
	struct fake_dev *fd = opaque;
	const unsigned char *p = addr;
	size_t off, m = len;

	if (p < fd->arena || p >= fd->arena + FAKE_ARENA ||
	    len > (size_t)(fd->arena + FAKE_ARENA - p))
		return VIRTQ_ADDR_INVALID;
	off = (size_t)(p - fd->arena);
	if (fd->page_split && off >= fd->split_from && m > 4096 - (off & 4095))
		m = 4096 - (off & 4095);
	*mapped = m;
	return FAKE_GPA + off;
}

static inline struct virtq_dma fake_dma(struct fake_dev *fd)
{
	struct virtq_dma d = { .translate = fake_translate, .opaque = fd };

	return d;
}

/* Memory for one queue of @num entries in the arena. */
static inline struct virtq_queue_mem fake_queue_mem(struct fake_dev *fd, uint32_t num,
						    uint16_t indirect_max)
{
	struct virtq_queue_mem m = { 0 };

	m.num = num;
	m.ring_len = VIRTQ_QUEUE_RING_SIZE(num);
	m.ring = fake_alloc(fd, m.ring_len, 4096);
	m.state_len = VIRTQ_DRIVER_MEM_SIZE(num);	/* num need not be a power of two */
	m.state = aligned_alloc(64, (m.state_len + 63) / 64 * 64);	/* private: not in the arena */
	CHECK(m.state != NULL && fd->nowned < 16);
	fd->owned[fd->nowned++] = m.state;
	if (indirect_max) {
		m.indirect_max = indirect_max;
		m.indirect_len = VIRTQ_INDIRECT_SIZE(num, indirect_max);
		m.indirect = fake_alloc(fd, m.indirect_len, 16);
	}
	return m;
}

/* Config fields in the device's byte order. */
static inline void fake_cfg16(struct fake_dev *fd, uint32_t off, uint16_t v)
{
	v = fd->t.legacy_align ? v : virtq_le16(v);
	memcpy(fd->config + off, &v, 2);
}

static inline void fake_cfg32(struct fake_dev *fd, uint32_t off, uint32_t v)
{
	v = fd->t.legacy_align ? v : virtq_le32(v);
	memcpy(fd->config + off, &v, 4);
}

static inline void fake_cfg64(struct fake_dev *fd, uint32_t off, uint64_t v)
{
	v = fd->t.legacy_align ? v : virtq_le64(v);
	memcpy(fd->config + off, &v, 8);
}

/* ---- the device side of the queues ----------------------------------- */

/* Pop the next chain of queue @qi into @c (iov: fd->iov).  1, 0, or -errno. */
static inline int fake_pop(struct fake_dev *fd, uint16_t qi, struct virtq_chain *c)
{
	CHECK(fd->q[qi].enabled);
	memset(c, 0, sizeof(*c));
	c->iov = fd->iov;
	c->iov_cap = FAKE_IOV;
	return virtq_device_pop(fd->q[qi].dq, c);
}

/* Return @head with @len, publish, raise the interrupt if the driver wants it. */
static inline void fake_push(struct fake_dev *fd, uint16_t qi, uint16_t head, uint32_t len)
{
	struct virtq_device *dq = fd->q[qi].dq;

	CHECK_EQ(virtq_device_push(dq, head, len), 0);
	CHECK(virtq_device_flush(dq) > 0);
	if (virtq_device_need_interrupt(dq)) {
		fd->isr |= VIRTQ_ISR_QUEUE;
		fd->interrupts++;
	}
}

/* Copy between a chain's buffers and flat memory (readable part / writable part). */
static inline size_t fake_iov_copy(const struct virtq_chain *c, bool writable, size_t off,
				   void *buf, size_t len, bool to_chain)
{
	uint32_t first = writable ? c->n_out : 0, n = writable ? c->n_in : c->n_out, i;
	size_t done = 0;

	for (i = first; i < first + n && done < len; i++) {
		struct iovec *v = &c->iov[i];
		size_t k;

		if (off >= v->iov_len) {
			off -= v->iov_len;
			continue;
		}
		k = v->iov_len - off;
		if (k > len - done)
			k = len - done;
		if (to_chain)
			memcpy((char *)v->iov_base + off, (char *)buf + done, k);
		else
			memcpy((char *)buf + done, (char *)v->iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

#endif /* VIRTQ_FAKE_TRANSPORT_H */
