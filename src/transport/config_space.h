/* SPDX-License-Identifier: MIT */
/*
 * config_space.h - device config space access shared by the transports
 * (internal, freestanding): the widest aligned access that fits (the spec
 * wants 8-bit accesses for 8-bit fields, 16 for 16, 32 for 32 and 64),
 * bytes in little-endian order in the caller's buffer.  Each transport
 * gives one register accessor for "config offset, width".
 */
#ifndef VIRTQ_TRANSPORT_CONFIG_SPACE_H
#define VIRTQ_TRANSPORT_CONFIG_SPACE_H

#include <stdint.h>

#include "virtq/transport.h"
#include "virtq_errno.h"

typedef uint32_t (*__virtq_cfg_rd)(struct virtq_transport *t, uint32_t off,
				   unsigned int width);
typedef void (*__virtq_cfg_wr)(struct virtq_transport *t, uint32_t off,
			       unsigned int width, uint32_t v);

static inline unsigned int __virtq_cfg_width(uint32_t off, uint32_t left)
{
	if (!(off & 3) && left >= 4)
		return 4;
	if (!(off & 1) && left >= 2)
		return 2;
	return 1;
}

/* Returns 0, or -ERANGE (past t->config_len). */
static inline int __virtq_cfg_read(struct virtq_transport *t, uint32_t off,
				   void *buf, uint32_t len, __virtq_cfg_rd rd)
{
	uint8_t *p = buf;

	if (off > t->config_len || len > t->config_len - off)
		return -ERANGE;
	while (len) {
		unsigned int w = __virtq_cfg_width(off, len);
		uint32_t v = rd(t, off, w);

		for (unsigned int i = 0; i < w; i++)
			p[i] = (uint8_t)(v >> (8 * i));
		p += w;
		off += w;
		len -= w;
	}
	return 0;
}

static inline int __virtq_cfg_write(struct virtq_transport *t, uint32_t off,
				    const void *buf, uint32_t len,
				    __virtq_cfg_wr wr)
{
	const uint8_t *p = buf;

	if (off > t->config_len || len > t->config_len - off)
		return -ERANGE;
	while (len) {
		unsigned int w = __virtq_cfg_width(off, len);
		uint32_t v = 0;

		for (unsigned int i = 0; i < w; i++)
			v |= (uint32_t)p[i] << (8 * i);
		wr(t, off, w, v);
		p += w;
		off += w;
		len -= w;
	}
	return 0;
}

#endif
