/* SPDX-License-Identifier: MIT */
/*
 * transport/mmio.h - the virtio-mmio transport (VIRTIO 1.x 4.2), version 2
 * (modern) and version 1 (legacy), for the driver end inside a guest.
 *
 * Freestanding, under driver.h's rules.  Every register access goes through
 * one place: the caller's io hook when one is given (a host unit test runs
 * the transport against a fake register file that way; a platform with
 * special bus accessors plugs them in), otherwise the documented volatile
 * accessors virtq_mmio_read / virtq_mmio_write below.
 *
 * Use:
 *
 *	static struct virtq_mmio dev;
 *	r = virtq_mmio_probe(&dev, 0x10001000, NULL);	// -ENOENT: empty slot
 *	struct virtq_transport *t = &dev.t;		// then transport.h
 *
 * Legacy (version 1) devices: probe writes GuestPageSize = 4096 and sets
 * t->legacy_align = VIRTQ_LEGACY_ALIGN; queues must use the legacy
 * contiguous layout (virtq_driver_config_legacy() with that alignment),
 * whose base is page aligned and below 2^44 (QueuePFN is 32 bits of
 * 4 KiB pages).  Legacy feature words are 32 bits, there is no
 * FEATURES_OK and no config generation (virtq_transport_config_read reads
 * once), and the device config is in the guest's native byte order, not
 * little-endian (the same thing on every little-endian machine).
 */
#ifndef VIRTQ_TRANSPORT_MMIO_H
#define VIRTQ_TRANSPORT_MMIO_H

#include "../transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register offsets (VIRTIO 1.x 4.2.2; legacy 4.2.4). */
#define VIRTQ_MMIO_MAGIC_VALUE		0x000	/* "virt" = 0x74726976 */
#define VIRTQ_MMIO_VERSION		0x004	/* 1 legacy, 2 modern */
#define VIRTQ_MMIO_DEVICE_ID		0x008	/* 0: no device in the slot */
#define VIRTQ_MMIO_VENDOR_ID		0x00c
#define VIRTQ_MMIO_DEVICE_FEATURES	0x010
#define VIRTQ_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTQ_MMIO_DRIVER_FEATURES	0x020
#define VIRTQ_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTQ_MMIO_GUEST_PAGE_SIZE	0x028	/* legacy */
#define VIRTQ_MMIO_QUEUE_SEL		0x030
#define VIRTQ_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTQ_MMIO_QUEUE_NUM		0x038
#define VIRTQ_MMIO_QUEUE_ALIGN		0x03c	/* legacy */
#define VIRTQ_MMIO_QUEUE_PFN		0x040	/* legacy */
#define VIRTQ_MMIO_QUEUE_READY		0x044
#define VIRTQ_MMIO_QUEUE_NOTIFY		0x050
#define VIRTQ_MMIO_INTERRUPT_STATUS	0x060
#define VIRTQ_MMIO_INTERRUPT_ACK	0x064
#define VIRTQ_MMIO_STATUS		0x070
#define VIRTQ_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTQ_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTQ_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTQ_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTQ_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTQ_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTQ_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTQ_MMIO_CONFIG		0x100

#define VIRTQ_MMIO_MAGIC		0x74726976u
/* Device config bytes reachable by default (QEMU's slots are 0x200 long). */
#define VIRTQ_MMIO_CONFIG_LEN		0x100u
/* The page size probe programs into a legacy device's GuestPageSize. */
#define VIRTQ_MMIO_LEGACY_PAGE		4096u

/*
 * Register access hook.  @off is the register offset from the device's
 * base, @width 1, 2 or 4 bytes (control registers are always 4; device
 * config uses the field's width).  Values are in CPU order: the hook does
 * whatever the bus needs (the default accessors convert from the
 * little-endian registers).
 */
struct virtq_mmio_io {
	uint32_t (*read)(void *opaque, uint32_t off, unsigned int width);
	void (*write)(void *opaque, uint32_t off, unsigned int width, uint32_t val);
	void *opaque;
};

struct virtq_mmio {
	struct virtq_transport t;	/* first: (struct virtq_transport *)&m */
	uintptr_t base;			/* the device's register window */
	uint32_t version;		/* 1 or 2 */
	struct virtq_mmio_io io;	/* read == NULL: volatile accessors */
};

/*
 * The default accessors: one volatile load or store of @width bytes at
 * @base + @off, with an I/O barrier on each side (riscv fence iorw,iorw;
 * arm dmb sy; x86 a compiler barrier, its uncached accesses stay in order;
 * elsewhere a sequentially consistent fence) so that ring stores made
 * before a notify write reach memory first and a status read is not
 * satisfied early.  Registers are little-endian: widths 2 and 4 are
 * converted to and from CPU order (so device config bytes come out in
 * the order the device stores them); width 1 is returned as read.
 */
uint32_t virtq_mmio_read(uintptr_t base, uint32_t off, unsigned int width);
void virtq_mmio_write(uintptr_t base, uint32_t off, unsigned int width, uint32_t val);

/*
 * Probe the virtio-mmio slot at @base and set @m up as a transport
 * (m->t.ops, device_id, vendor_id, config_len = VIRTQ_MMIO_CONFIG_LEN,
 * legacy_align).  @io may be NULL (volatile accessors); it is copied.
 * Touches nothing but the identification registers, and GuestPageSize on
 * a legacy device.  Then use transport.h (virtq_transport_negotiate resets
 * the device first).
 *
 * Returns 0, or
 *   -ENODEV   no virtio-mmio device here (wrong magic value);
 *   -ENOTSUP  a version other than 1 and 2;
 *   -ENOENT   an empty slot (device ID 0: QEMU's unused transports).
 */
int virtq_mmio_probe(struct virtq_mmio *m, uintptr_t base,
		     const struct virtq_mmio_io *io);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_TRANSPORT_MMIO_H */
