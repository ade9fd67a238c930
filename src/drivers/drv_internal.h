/* SPDX-License-Identifier: MIT */
/*
 * drv_internal.h - helpers the device drivers share (never installed).
 * Freestanding.
 *
 * Config space and request headers: a modern (VERSION_1) device uses
 * little-endian, a legacy one the guest's own byte order.
 */
#ifndef VIRTQ_DRV_INTERNAL_H
#define VIRTQ_DRV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/drivers/queue.h"
#include "virtq_errno.h"

static inline bool drv_legacy(const struct virtq_transport *t)
{
	return t->legacy_align != 0;
}

static inline uint16_t drv_dev16(const struct virtq_transport *t, uint16_t v)
{
	return drv_legacy(t) ? v : virtq_le16(v);
}

static inline uint32_t drv_dev32(const struct virtq_transport *t, uint32_t v)
{
	return drv_legacy(t) ? v : virtq_le32(v);
}

static inline uint64_t drv_dev64(const struct virtq_transport *t, uint64_t v)
{
	return drv_legacy(t) ? v : virtq_le64(v);
}

/* One config field, read with its own width inside the generation loop. */
static inline int drv_cfg16(struct virtq_transport *t, uint32_t off, uint16_t *v)
{
	uint16_t x = 0;
	int r = virtq_transport_config_read(t, off, &x, 2);

	*v = drv_dev16(t, x);
	return r;
}

static inline int drv_cfg32(struct virtq_transport *t, uint32_t off, uint32_t *v)
{
	uint32_t x = 0;
	int r = virtq_transport_config_read(t, off, &x, 4);

	*v = drv_dev32(t, x);
	return r;
}

static inline int drv_cfg64(struct virtq_transport *t, uint32_t off, uint64_t *v)
{
	uint64_t x = 0;
	int r = virtq_transport_config_read(t, off, &x, 8);

	*v = drv_dev64(t, x);
	return r;
}

static inline void drv_invalidate(const struct virtq_dma *d, const void *p, size_t len)
{
	if (d->cache_invalidate)
		d->cache_invalidate(d->opaque, p, len);
}

static inline void drv_clean(const struct virtq_dma *d, const void *p, size_t len)
{
	if (d->cache_clean)
		d->cache_clean(d->opaque, p, len);
}

/*
 * Bytes the device writes are read through a volatile access, once: the
 * compiler must not assume it knows them from our own earlier store.
 */
static inline uint8_t drv_read8(const void *p)
{
	return *(const volatile uint8_t *)p;
}

static inline void drv_write8(void *p, uint8_t v)
{
	*(volatile uint8_t *)p = v;
}

/* Byte copy; volatile so the compiler does not turn it into memcpy. */
static inline void drv_copy(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
}

static inline void drv_zero(void *dst, size_t n)
{
	volatile unsigned char *d = dst;

	while (n--)
		*d++ = 0;
}

/* Struct copies field by field (a struct assignment may call memcpy). */
static inline void drv_dma_copy(struct virtq_dma *d, const struct virtq_dma *s)
{
	d->translate = s->translate;
	d->cache_clean = s->cache_clean;
	d->cache_invalidate = s->cache_invalidate;
	d->opaque = s->opaque;
}

static inline void drv_wait_copy(struct virtq_wait *d, const struct virtq_wait *s)
{
	d->wait = s->wait;
	d->opaque = s->opaque;
	d->poll_max = s->poll_max;
}

#endif /* VIRTQ_DRV_INTERNAL_H */
