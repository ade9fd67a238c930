/* SPDX-License-Identifier: MIT */
/*
 * mmio.c - the virtio-mmio transport, version 2 and version 1 (see
 * virtq/transport/mmio.h).  Freestanding.
 *
 * Every register access goes through rd() / wr(): the caller's hook or the
 * volatile accessors.  Nothing here waits without bound.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/atomic.h"
#include "virtq/transport/mmio.h"
#include "virtq_errno.h"
#include "transport/config_space.h"

/*
 * An I/O barrier: orders this MMIO access against normal memory accesses
 * on both sides (ring stores before a QueueNotify write; a status read
 * before the loads that depend on it).  Not synchronisation between CPUs:
 * that is atomic.h's job.
 */
static inline void io_barrier(void)
{
#if defined(__riscv)
	__asm__ __volatile__("fence iorw, iorw" ::: "memory");
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
	__asm__ __volatile__("dmb sy" ::: "memory");
#elif defined(__x86_64__) || defined(__i386__)
	/* x86 keeps uncached MMIO in order with ordinary stores and loads. */
	__asm__ __volatile__("" ::: "memory");
#else
	virtq_mb();	/* atomic.h: also builds under GCC's ThreadSanitizer */
#endif
}

uint32_t virtq_mmio_read(uintptr_t base, uint32_t off, unsigned int width)
{
	uint32_t v;

	io_barrier();
	switch (width) {
	case 1:
		v = *(volatile uint8_t *)(base + off);
		break;
	case 2:
		v = virtq_le16_to_cpu(*(volatile uint16_t *)(base + off));
		break;
	default:
		v = virtq_le32_to_cpu(*(volatile uint32_t *)(base + off));
		break;
	}
	io_barrier();
	return v;
}

void virtq_mmio_write(uintptr_t base, uint32_t off, unsigned int width, uint32_t val)
{
	io_barrier();
	switch (width) {
	case 1:
		*(volatile uint8_t *)(base + off) = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)(base + off) = virtq_cpu_to_le16((uint16_t)val);
		break;
	default:
		*(volatile uint32_t *)(base + off) = virtq_cpu_to_le32(val);
		break;
	}
	io_barrier();
}

static struct virtq_mmio *to_mmio(struct virtq_transport *t)
{
	return (struct virtq_mmio *)t;
}

static uint32_t rdw(struct virtq_mmio *m, uint32_t off, unsigned int width)
{
	if (m->io.read)
		return m->io.read(m->io.opaque, off, width);
	return virtq_mmio_read(m->base, off, width);
}

static void wrw(struct virtq_mmio *m, uint32_t off, unsigned int width, uint32_t v)
{
	if (m->io.write)
		m->io.write(m->io.opaque, off, width, v);
	else
		virtq_mmio_write(m->base, off, width, v);
}

static uint32_t rd(struct virtq_mmio *m, uint32_t off)
{
	return rdw(m, off, 4);
}

static void wr(struct virtq_mmio *m, uint32_t off, uint32_t v)
{
	wrw(m, off, 4, v);
}

static bool legacy(const struct virtq_mmio *m)
{
	return m->version == 1;
}

static int mmio_reset(struct virtq_transport *t)
{
	struct virtq_mmio *m = to_mmio(t);
	uint32_t i;

	wr(m, VIRTQ_MMIO_STATUS, 0);
	/* The device may take a while to finish the reset: bounded wait. */
	for (i = 0; i < VIRTQ_TRANSPORT_POLL_MAX; i++)
		if ((rd(m, VIRTQ_MMIO_STATUS) & 0xff) == 0)
			return 0;
	return -ETIMEDOUT;
}

static uint8_t mmio_get_status(struct virtq_transport *t)
{
	return (uint8_t)rd(to_mmio(t), VIRTQ_MMIO_STATUS);
}

static void mmio_set_status(struct virtq_transport *t, uint8_t status)
{
	wr(to_mmio(t), VIRTQ_MMIO_STATUS, status);
}

static uint64_t mmio_get_features(struct virtq_transport *t)
{
	struct virtq_mmio *m = to_mmio(t);
	uint64_t f;

	wr(m, VIRTQ_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(m, VIRTQ_MMIO_DEVICE_FEATURES);
	if (legacy(m))
		return f;	/* legacy feature words are 32 bits */
	wr(m, VIRTQ_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(m, VIRTQ_MMIO_DEVICE_FEATURES) << 32;
	return f;
}

static void mmio_set_features(struct virtq_transport *t, uint64_t features)
{
	struct virtq_mmio *m = to_mmio(t);

	wr(m, VIRTQ_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(m, VIRTQ_MMIO_DRIVER_FEATURES, (uint32_t)features);
	if (legacy(m))
		return;
	wr(m, VIRTQ_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTQ_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

static int mmio_queue_max(struct virtq_transport *t, uint16_t index, uint32_t *max)
{
	struct virtq_mmio *m = to_mmio(t);
	uint32_t live;

	wr(m, VIRTQ_MMIO_QUEUE_SEL, index);
	/* After a reset no queue may be live: a device that says so is broken. */
	live = rd(m, legacy(m) ? VIRTQ_MMIO_QUEUE_PFN : VIRTQ_MMIO_QUEUE_READY);
	if (live)
		return -EBUSY;
	*max = rd(m, VIRTQ_MMIO_QUEUE_NUM_MAX);
	return 0;
}

static int legacy_enable(struct virtq_mmio *m, uint32_t num, uint64_t desc,
			 uint64_t avail, uint64_t used)
{
	uint32_t align = m->t.legacy_align;
	uint64_t pfn;

	/*
	 * The device computes avail and used from desc: they must agree.
	 * Masks and shifts, not % and /: no 64-bit division helper on
	 * 32-bit targets.
	 */
	if (align < 16 || (align & (align - 1)) ||
	    (desc & (VIRTQ_MMIO_LEGACY_PAGE - 1)) || (desc & (align - 1)) ||
	    avail != desc + virtq_desc_size(num) ||
	    used != desc + virtq_legacy_used_offset(num, align))
		return -EINVAL;
	pfn = desc >> 12;	/* VIRTQ_MMIO_LEGACY_PAGE */
	if (!pfn || pfn > 0xffffffffu)
		return -ERANGE;
	/* Again here: a device reset may have forgotten it. */
	wr(m, VIRTQ_MMIO_GUEST_PAGE_SIZE, VIRTQ_MMIO_LEGACY_PAGE);
	wr(m, VIRTQ_MMIO_QUEUE_ALIGN, align);
	wr(m, VIRTQ_MMIO_QUEUE_PFN, (uint32_t)pfn);
	if (rd(m, VIRTQ_MMIO_QUEUE_PFN) != (uint32_t)pfn)
		return -EIO;
	return 0;
}

static int mmio_queue_enable(struct virtq_transport *t, uint16_t index, uint32_t num,
			     uint64_t desc, uint64_t avail, uint64_t used)
{
	struct virtq_mmio *m = to_mmio(t);
	uint32_t max;

	wr(m, VIRTQ_MMIO_QUEUE_SEL, index);
	if (rd(m, legacy(m) ? VIRTQ_MMIO_QUEUE_PFN : VIRTQ_MMIO_QUEUE_READY))
		return -EBUSY;
	max = rd(m, VIRTQ_MMIO_QUEUE_NUM_MAX);
	if (!num || num > max || !virtq_size_valid(num))
		return -EINVAL;
	wr(m, VIRTQ_MMIO_QUEUE_NUM, num);
	if (legacy(m))
		return legacy_enable(m, num, desc, avail, used);
	wr(m, VIRTQ_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(m, VIRTQ_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(m, VIRTQ_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(m, VIRTQ_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(m, VIRTQ_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(m, VIRTQ_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	wr(m, VIRTQ_MMIO_QUEUE_READY, 1);
	/* A device that will not take the queue says so here. */
	if (rd(m, VIRTQ_MMIO_QUEUE_READY) != 1)
		return -EIO;
	return 0;
}

static int mmio_queue_notify(struct virtq_transport *t, uint16_t index)
{
	wr(to_mmio(t), VIRTQ_MMIO_QUEUE_NOTIFY, index);
	return 0;
}

static uint32_t mmio_config_generation(struct virtq_transport *t)
{
	struct virtq_mmio *m = to_mmio(t);

	return legacy(m) ? 0 : rd(m, VIRTQ_MMIO_CONFIG_GENERATION);
}

/* Device config (config_space.h): one access of @w bytes at config @off. */
static uint32_t mmio_cfg_rd(struct virtq_transport *t, uint32_t off, unsigned int w)
{
	return rdw(to_mmio(t), VIRTQ_MMIO_CONFIG + off, w);
}

static void mmio_cfg_wr(struct virtq_transport *t, uint32_t off, unsigned int w,
			uint32_t v)
{
	wrw(to_mmio(t), VIRTQ_MMIO_CONFIG + off, w, v);
}

static int mmio_config_read(struct virtq_transport *t, uint32_t off, void *buf,
			    uint32_t len)
{
	return __virtq_cfg_read(t, off, buf, len, mmio_cfg_rd);
}

static int mmio_config_write(struct virtq_transport *t, uint32_t off, const void *buf,
			     uint32_t len)
{
	return __virtq_cfg_write(t, off, buf, len, mmio_cfg_wr);
}

static uint32_t mmio_interrupt_ack(struct virtq_transport *t)
{
	struct virtq_mmio *m = to_mmio(t);
	uint32_t s = rd(m, VIRTQ_MMIO_INTERRUPT_STATUS) &
		     (VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG);

	if (s)
		wr(m, VIRTQ_MMIO_INTERRUPT_ACK, s);
	return s;
}

static const struct virtq_transport_ops mmio_ops = {
	.reset = mmio_reset,
	.get_status = mmio_get_status,
	.set_status = mmio_set_status,
	.get_features = mmio_get_features,
	.set_features = mmio_set_features,
	.queue_max = mmio_queue_max,
	.queue_enable = mmio_queue_enable,
	.queue_notify = mmio_queue_notify,
	.config_generation = mmio_config_generation,
	.config_read = mmio_config_read,
	.config_write = mmio_config_write,
	.interrupt_ack = mmio_interrupt_ack,
};

int virtq_mmio_probe(struct virtq_mmio *m, uintptr_t base,
		     const struct virtq_mmio_io *io)
{
	uint32_t v;

	m->base = base;
	m->version = 0;
	m->io.read = io ? io->read : NULL;
	m->io.write = io ? io->write : NULL;
	m->io.opaque = io ? io->opaque : NULL;
	m->t.ops = &mmio_ops;
	m->t.device_id = 0;
	m->t.vendor_id = 0;
	m->t.config_len = VIRTQ_MMIO_CONFIG_LEN;
	m->t.legacy_align = 0;
	m->t.features = 0;

	if (rd(m, VIRTQ_MMIO_MAGIC_VALUE) != VIRTQ_MMIO_MAGIC)
		return -ENODEV;
	v = rd(m, VIRTQ_MMIO_VERSION);
	if (v != 1 && v != 2)
		return -ENOTSUP;
	m->version = v;
	m->t.device_id = rd(m, VIRTQ_MMIO_DEVICE_ID);
	if (!m->t.device_id)
		return -ENOENT;
	m->t.vendor_id = rd(m, VIRTQ_MMIO_VENDOR_ID);
	if (legacy(m)) {
		m->t.legacy_align = VIRTQ_LEGACY_ALIGN;
		wr(m, VIRTQ_MMIO_GUEST_PAGE_SIZE, VIRTQ_MMIO_LEGACY_PAGE);
	}
	return 0;
}
