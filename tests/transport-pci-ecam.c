/* SPDX-License-Identifier: MIT */
/*
 * transport-pci-ecam: the ECAM configuration-space hook and the volatile
 * accessors under it, on host memory standing in for the ECAM window:
 * function (b, d, f) register @off lives at base + (b << 20 | d << 15 |
 * f << 12 | off), 1-, 2- and 4-byte accesses read and write exactly those
 * bytes, little-endian, and nothing around them.
 */
#include <stdlib.h>

#include "test.h"
#include "virtq/transport/mmio.h"
#include "virtq/transport/pci.h"

#define WINDOW (2u << 20)	/* buses 0 and 1 */

int main(void)
{
	struct virtq_pci_ecam e;
	const struct virtq_pci_cfg_io *io;
	uint8_t *win = aligned_alloc(4096, WINDOW), *shadow = malloc(WINDOW);
	size_t at;
	unsigned int i;

	CHECK(win != NULL && shadow != NULL);
	for (i = 0; i < WINDOW; i++)
		win[i] = (uint8_t)(i * 13 + 7);
	memcpy(shadow, win, WINDOW);
	virtq_pci_ecam_init(&e, (uintptr_t)win);
	io = virtq_pci_ecam_io(&e);
	CHECK(io->read != NULL && io->write != NULL);

	/* Reads: bus 1, device 5, function 2, register 0x104. */
	at = (1u << 20) | (5u << 15) | (2u << 12) | 0x104;
	CHECK_EQ(io->read(io->opaque, 1, 5, 2, 0x104, 1), win[at]);
	CHECK_EQ(io->read(io->opaque, 1, 5, 2, 0x104, 2), win[at] | win[at + 1] << 8);
	CHECK_EQ(io->read(io->opaque, 1, 5, 2, 0x104, 4),
		 (uint32_t)win[at] | (uint32_t)win[at + 1] << 8 |
		 (uint32_t)win[at + 2] << 16 | (uint32_t)win[at + 3] << 24);

	/* Writes land little-endian at the same place, and only there. */
	at = (0u << 20) | (31u << 15) | (7u << 12) | 0xffc;
	io->write(io->opaque, 0, 31, 7, 0xffc, 4, 0x11223344u);
	shadow[at] = 0x44; shadow[at + 1] = 0x33; shadow[at + 2] = 0x22; shadow[at + 3] = 0x11;
	at = (1u << 20) | (0u << 15) | (0u << 12) | 0x06;
	io->write(io->opaque, 1, 0, 0, 0x06, 2, 0xbeef);
	shadow[at] = 0xef; shadow[at + 1] = 0xbe;
	at = (0u << 20) | (3u << 15) | (1u << 12) | 0x3d;
	io->write(io->opaque, 0, 3, 1, 0x3d, 1, 0x5a);
	shadow[at] = 0x5a;
	CHECK_EQ(memcmp(win, shadow, WINDOW), 0);

	/* The MMIO accessors themselves: base + offset, little-endian. */
	virtq_mmio_write((uintptr_t)win, 0x40, 4, 0xa1b2c3d4u);
	CHECK_EQ(win[0x40], 0xd4);
	CHECK_EQ(win[0x43], 0xa1);
	CHECK_EQ(virtq_mmio_read((uintptr_t)win, 0x40, 4), 0xa1b2c3d4u);
	CHECK_EQ(virtq_mmio_read((uintptr_t)win, 0x42, 2), 0xa1b2);
	CHECK_EQ(virtq_mmio_read((uintptr_t)win, 0x41, 1), 0xc3);
	free(win);
	free(shadow);
	return 0;
}
