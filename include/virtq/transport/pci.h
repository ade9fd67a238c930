/* SPDX-License-Identifier: MIT */
/*
 * transport/pci.h - the virtio-pci modern transport (VIRTIO 1.x 4.1), for
 * the driver end inside a guest.
 *
 * Freestanding, under driver.h's rules.  Two kinds of access, each through
 * one place:
 *   - PCI configuration space through the caller's hook (struct
 *     virtq_pci_cfg_io): ECAM (virtq_pci_ecam_*, below), port I/O 0xcf8 /
 *     0xcfc, or a fake in a unit test;
 *   - the BAR regions the capabilities point at (common, notify, ISR,
 *     device config) through an optional memory hook, by default the
 *     volatile accessors of transport/mmio.h (virtq_mmio_read / _write).
 *
 * Probing a function: vendor 0x1af4, device 0x1040 + type (modern) or a
 * transitional 0x1000..0x103f (type from the subsystem ID); the vendor
 * capability walk finds the common, notify, ISR and device config
 * structures, each checked (BAR index, BAR kind, offset + length inside
 * the BAR, alignment, the structure's minimum length, notify_off_multiplier
 * 0 or a power of two).  A machine without firmware (riscv64 / aarch64
 * virt) leaves the BARs unassigned: give a window and probe assigns every
 * memory BAR of the function from it, then enables memory decoding and bus
 * mastering.  Interrupts are INTx (the ISR, read-to-clear); MSI-X vectors
 * are set to "none".
 *
 * Use:
 *	static struct virtq_pci_ecam ecam;
 *	static struct virtq_pci_bar_window win;
 *	static struct virtq_pci dev;
 *	virtq_pci_ecam_init(&ecam, 0x30000000);
 *	virtq_pci_bar_window_init(&win, 0x40000000, 0x40000000);
 *	r = virtq_pci_probe(&dev, virtq_pci_ecam_io(&ecam), NULL, 0, slot, 0, &win);
 *	struct virtq_transport *t = &dev.t;	// then transport.h
 */
#ifndef VIRTQ_TRANSPORT_PCI_H
#define VIRTQ_TRANSPORT_PCI_H

#include "../transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Configuration space access: @off < 4096, @width 1, 2 or 4, CPU order. */
struct virtq_pci_cfg_io {
	uint32_t (*read)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn,
			 uint16_t off, unsigned int width);
	void (*write)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn,
		      uint16_t off, unsigned int width, uint32_t val);
	void *opaque;
};

/* BAR memory access at bus address @addr, @width 1, 2 or 4, CPU order. */
struct virtq_pci_mem_io {
	uint32_t (*read)(void *opaque, uint64_t addr, unsigned int width);
	void (*write)(void *opaque, uint64_t addr, unsigned int width, uint32_t val);
	void *opaque;
};

/* ECAM: function (b, d, f) at base + (b << 20 | d << 15 | f << 12). */
struct virtq_pci_ecam {
	struct virtq_pci_cfg_io io;	/* opaque = this */
	uintptr_t base;
};
void virtq_pci_ecam_init(struct virtq_pci_ecam *e, uintptr_t base);
const struct virtq_pci_cfg_io *virtq_pci_ecam_io(struct virtq_pci_ecam *e);

/*
 * Where unassigned BARs go: [base, base + size), bus address == CPU
 * address.  Each BAR is aligned to its size; a 32-bit BAR must end below
 * 4 GiB.  A second window for 64-bit BARs (the high MMIO window of
 * aarch64 virt, say) can be added: then 64-bit BARs go there and 32-bit
 * ones to the first.
 */
struct virtq_pci_bar_window {
	uint64_t next, end;
	uint64_t next64, end64;		/* end64 0: no 64-bit window */
};
void virtq_pci_bar_window_init(struct virtq_pci_bar_window *w, uint64_t base, uint64_t size);
void virtq_pci_bar_window_add64(struct virtq_pci_bar_window *w, uint64_t base, uint64_t size);

/* Queues whose notify offset a device keeps (queue index below this). */
#define VIRTQ_PCI_MAX_QUEUES	16u

/* Vendor capability types (VIRTQ 1.x 4.1.4). */
#define VIRTQ_PCI_CAP_COMMON	1
#define VIRTQ_PCI_CAP_NOTIFY	2
#define VIRTQ_PCI_CAP_ISR	3
#define VIRTQ_PCI_CAP_DEVICE	4

/* One structure a capability points at: bus address and length. */
struct virtq_pci_region {
	uint64_t addr;
	uint32_t len;
};

struct virtq_pci {
	struct virtq_transport t;	/* first: (struct virtq_transport *)&p */
	struct virtq_pci_cfg_io cfg;
	struct virtq_pci_mem_io mem;	/* read == NULL: volatile accessors */
	uint8_t bus, dev, fn;
	uint8_t irq_pin;		/* 1..4 = INTA..INTD, 0: none */
	uint16_t num_queues;
	struct virtq_pci_region common, notify, isr, device;
	uint32_t notify_mul;		/* notify_off_multiplier (0 is legal) */
	uint8_t notify_shift;		/* log2(notify_mul) */
	uint64_t bar[6];		/* bus addresses (0: unused) */
	uint64_t bar_size[6];
	uint32_t notify_off[VIRTQ_PCI_MAX_QUEUES];	/* doorbell offsets in @notify */
};

/*
 * Probe function @bus:@dev.@fn through @cfg (copied) and set @p up as a
 * transport (ops, device_id, vendor_id = the PCI subsystem vendor,
 * config_len = the device config length).  @mem (copied) reaches the BAR
 * memory; NULL: the volatile accessors.  @win may be NULL: then every
 * BAR the capabilities use must already be assigned.
 *
 * Returns 0, or
 *   -ENOENT     no function there (vendor ID 0xffff or 0);
 *   -ENODEV     a function that is not a virtio device (vendor / device ID,
 *               or device type 0);
 *   -ENOTSUP    a virtio device without the modern capabilities (no
 *               capability list, or no common / notify / ISR structure),
 *               or a structure in an I/O-space BAR;
 *   -EINVAL     a capability that breaks the rules: outside its BAR,
 *               misaligned, too short, notify_off_multiplier neither 0 nor
 *               a power of two, a capability list that loops;
 *   -ENXIO      a BAR in use is unassigned and there is no @win;
 *   -ERANGE     a BAR in use lies beyond the CPU's pointers (a 64-bit BAR
 *               above 4 GiB on a 32-bit CPU) and @mem is NULL;
 *   -ENOSPC     @win is too small for the BARs.
 */
int virtq_pci_probe(struct virtq_pci *p, const struct virtq_pci_cfg_io *cfg,
		    const struct virtq_pci_mem_io *mem, uint8_t bus, uint8_t dev, uint8_t fn,
		    struct virtq_pci_bar_window *win);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_TRANSPORT_PCI_H */
