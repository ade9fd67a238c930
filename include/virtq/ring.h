/* SPDX-License-Identifier: MIT */
/*
 * ring.h - the VIRTIO 1.x split virtqueue layout, as it sits in shared memory.
 *
 * Freestanding: needs only <stdint.h>, <stddef.h> and <stdbool.h>.
 *
 * Every shared field is little-endian.  The structs keep the spec's field
 * names and plain fixed-width types; always go through virtq_le*() /
 * virtq_cpu_to_le*() (or the accessors in driver.c / device.c) so the code
 * stays right on big-endian hosts.  Who writes each field is noted beside it.
 */
#ifndef VIRTQ_RING_H
#define VIRTQ_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- little-endian helpers ------------------------------------------- */

/*
 * Written as shifts rather than __builtin_bswap*: on targets without a
 * byte-swap instruction (riscv64 without Zbb, Cortex-M0) gcc may turn the
 * builtin into a libgcc call, which a freestanding build cannot link.
 * Compilers recognise the pattern and emit rev/bswap where they exist.
 */
static inline uint16_t virtq_swap16(uint16_t v)
{
	return (uint16_t)((v >> 8) | (v << 8));
}

static inline uint32_t virtq_swap32(uint32_t v)
{
	return ((v & 0x000000ffu) << 24) | ((v & 0x0000ff00u) << 8) |
	       ((v & 0x00ff0000u) >> 8) | ((v & 0xff000000u) >> 24);
}

static inline uint64_t virtq_swap64(uint64_t v)
{
	return ((uint64_t)virtq_swap32((uint32_t)v) << 32) |
	       virtq_swap32((uint32_t)(v >> 32));
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VIRTQ_BIG_ENDIAN 1
static inline uint16_t virtq_le16(uint16_t v) { return virtq_swap16(v); }
static inline uint32_t virtq_le32(uint32_t v) { return virtq_swap32(v); }
static inline uint64_t virtq_le64(uint64_t v) { return virtq_swap64(v); }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define VIRTQ_BIG_ENDIAN 0
static inline uint16_t virtq_le16(uint16_t v) { return v; }
static inline uint32_t virtq_le32(uint32_t v) { return v; }
static inline uint64_t virtq_le64(uint64_t v) { return v; }
#else
#error "libvirtq: cannot tell the host byte order (__BYTE_ORDER__ undefined)"
#endif

/* Conversions are their own inverse; the two names say which way we go. */
#define virtq_cpu_to_le16(v) virtq_le16(v)
#define virtq_cpu_to_le32(v) virtq_le32(v)
#define virtq_cpu_to_le64(v) virtq_le64(v)
#define virtq_le16_to_cpu(v) virtq_le16(v)
#define virtq_le32_to_cpu(v) virtq_le32(v)
#define virtq_le64_to_cpu(v) virtq_le64(v)

/* ---- feature bits (bit numbers, VIRTIO 1.x section 6) ----------------- */

#define VIRTQ_F_INDIRECT_DESC	28
#define VIRTQ_F_EVENT_IDX	29
#define VIRTQ_F_VERSION_1	32
#define VIRTQ_F_ACCESS_PLATFORM	33
#define VIRTQ_F_RING_PACKED	34
#define VIRTQ_F_IN_ORDER	35
#define VIRTQ_F_ORDER_PLATFORM	36
#define VIRTQ_F_NOTIFICATION_DATA 38

#define VIRTQ_FEATURE(bit)	(1ull << (bit))

/* ---- descriptor table: written by the driver, read by the device ------- */

#define VIRTQ_DESC_F_NEXT	1	/* chain continues via next */
#define VIRTQ_DESC_F_WRITE	2	/* device writes (else reads) */
#define VIRTQ_DESC_F_INDIRECT	4	/* buffer is a table of descriptors */

struct virtq_desc {
	uint64_t addr;	/* le: device (guest-physical) address */
	uint32_t len;	/* le: bytes */
	uint16_t flags;	/* le: VIRTQ_DESC_F_* */
	uint16_t next;	/* le: index of the next descriptor, if F_NEXT */
};

/* ---- available ring: written by the driver, read by the device --------- */

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1	/* driver: don't interrupt me (no EVENT_IDX) */

struct virtq_avail {
	uint16_t flags;		/* le: VIRTQ_AVAIL_F_* */
	uint16_t idx;		/* le: free-running, next slot the driver fills */
	uint16_t ring[];	/* le: heads; then used_event (EVENT_IDX) */
};

/* ---- used ring: written by the device, read by the driver ------------- */

#define VIRTQ_USED_F_NO_NOTIFY	1	/* device: don't kick me (no EVENT_IDX) */

struct virtq_used_elem {
	uint32_t id;	/* le: head of the used chain (u32 for padding) */
	uint32_t len;	/* le: bytes the device wrote into the chain */
};

struct virtq_used {
	uint16_t flags;		/* le: VIRTQ_USED_F_* */
	uint16_t idx;		/* le: free-running, next slot the device fills */
	struct virtq_used_elem ring[];	/* then avail_event (EVENT_IDX) */
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(offsetof(struct virtq_desc, addr) == 0, "desc.addr");
_Static_assert(offsetof(struct virtq_desc, len) == 8, "desc.len");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "desc.flags");
_Static_assert(offsetof(struct virtq_desc, next) == 14, "desc.next");
_Static_assert(sizeof(struct virtq_avail) == 4, "avail header");
_Static_assert(offsetof(struct virtq_avail, idx) == 2, "avail.idx");
_Static_assert(offsetof(struct virtq_avail, ring) == 4, "avail.ring");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used elem");
_Static_assert(offsetof(struct virtq_used_elem, len) == 4, "used_elem.len");
_Static_assert(sizeof(struct virtq_used) == 4, "used header");
_Static_assert(offsetof(struct virtq_used, idx) == 2, "used.idx");
_Static_assert(offsetof(struct virtq_used, ring) == 4, "used.ring");

/* ---- sizes and alignments ---------------------------------------------- */

#define VIRTQ_MAX_SIZE		32768u	/* largest split queue size */
#define VIRTQ_DESC_ALIGN	16u
#define VIRTQ_AVAIL_ALIGN	2u
#define VIRTQ_USED_ALIGN	4u
#define VIRTQ_LEGACY_ALIGN	4096u	/* legacy PCI / MMIO v1 used-ring alignment */

/* A queue size is valid when it is a power of two in 1..32768. */
static inline bool virtq_size_valid(uint32_t num)
{
	return num >= 1 && num <= VIRTQ_MAX_SIZE && (num & (num - 1)) == 0;
}

static inline size_t virtq_desc_size(uint32_t num)
{
	return (size_t)16 * num;
}

/* flags + idx + ring[num] + used_event */
static inline size_t virtq_avail_size(uint32_t num)
{
	return 6 + (size_t)2 * num;
}

/* flags + idx + ring[num] + avail_event */
static inline size_t virtq_used_size(uint32_t num)
{
	return 6 + (size_t)8 * num;
}

/* used_event sits after the avail ring, avail_event after the used ring. */
static inline uint16_t *virtq_used_event(struct virtq_avail *avail, uint32_t num)
{
	return &avail->ring[num];
}

static inline uint16_t *virtq_avail_event(struct virtq_used *used, uint32_t num)
{
	return (uint16_t *)(void *)&used->ring[num];
}

static inline size_t virtq_align_up(size_t v, size_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * Legacy (pre-1.0) contiguous layout: descriptor table, then the avail
 * ring, then padding up to @align (a power of two, usually 4096), then the
 * used ring.  The area starts @align-aligned.
 */
static inline size_t virtq_legacy_used_offset(uint32_t num, size_t align)
{
	return virtq_align_up(virtq_desc_size(num) + virtq_avail_size(num), align);
}

static inline size_t virtq_legacy_size(uint32_t num, size_t align)
{
	return virtq_legacy_used_offset(num, align) +
	       virtq_align_up(virtq_used_size(num), align);
}

/*
 * Compile-time sizes of the device-visible areas, for static allocation
 * (each equals the function of the same name
 * above, in lower case):
 *   VIRTQ_DESC_SIZE(num)        descriptor table, align VIRTQ_DESC_ALIGN
 *   VIRTQ_AVAIL_SIZE(num)       avail ring with used_event, align 2
 *   VIRTQ_USED_SIZE(num)        used ring with avail_event, align 4
 *   VIRTQ_LEGACY_SIZE(num, al)  legacy contiguous area (al: 4096 for
 *                               virtio-mmio v1 / legacy PCI), align @al
 *   VIRTQ_INDIRECT_SIZE(num, max)  the indirect pool, align 16
 */
#define VIRTQ_DESC_SIZE(num)	(16u * (size_t)(num))
#define VIRTQ_AVAIL_SIZE(num)	(6u + 2u * (size_t)(num))
#define VIRTQ_USED_SIZE(num)	(6u + 8u * (size_t)(num))
#define VIRTQ_ALIGN_UP(v, al)	(((size_t)(v) + (size_t)(al) - 1) & ~((size_t)(al) - 1))
#define VIRTQ_LEGACY_USED_OFFSET(num, al)				\
	VIRTQ_ALIGN_UP(VIRTQ_DESC_SIZE(num) + VIRTQ_AVAIL_SIZE(num), al)
#define VIRTQ_LEGACY_SIZE(num, al)					\
	(VIRTQ_LEGACY_USED_OFFSET(num, al) + VIRTQ_ALIGN_UP(VIRTQ_USED_SIZE(num), al))
#define VIRTQ_INDIRECT_SIZE(num, max)	(16u * (size_t)(num) * (size_t)(max))

/*
 * virtq_need_event - should the peer be told about the entries it published?
 *
 * The peer has moved its free-running index from @old to @new_idx (the
 * entries old .. new_idx-1, modulo 2^16).  The other side asked, through
 * @event (used_event or avail_event), to hear about the moment entry
 * @event is published.  Notify iff @event is one of those entries, i.e.
 * (event - old) mod 2^16 < (new_idx - old) mod 2^16, written in the form
 * the spec uses.  All arithmetic is modulo 2^16; it stays right across the
 * index wrap because only distances are compared.
 */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx,
				    uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_RING_H */
