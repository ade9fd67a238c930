/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - the disk contents the host and the bare-metal guest agree on
 * (shared by main.c and the host's pattern.c).
 *
 * The host fills the whole image with host_byte(); the guest reads
 * sectors [0, VQT_READ_N), checks them, writes guest_byte() into
 * [VQT_WRITE_FIRST, VQT_WRITE_FIRST + VQT_WRITE_N), flushes and reads them
 * back; after QEMU exits the host checks every sector of the image.
 */
#ifndef VQT_PATTERN_H
#define VQT_PATTERN_H

#include <stdint.h>

#define VQT_SECTOR		512u
#define VQT_IMAGE_SECTORS	2048u	/* 1 MiB image */
#define VQT_READ_N		64u
#define VQT_WRITE_FIRST		256u
#define VQT_WRITE_N		64u

static inline uint8_t vqt_host_byte(uint32_t s, uint32_t i)
{
	return (uint8_t)(s * 131u + i * 7u + (i >> 8) + 0x5au);
}

static inline uint8_t vqt_guest_byte(uint32_t s, uint32_t i)
{
	return (uint8_t)((s * 29u) ^ (i * 3u) ^ 0xc3u);
}

#endif
