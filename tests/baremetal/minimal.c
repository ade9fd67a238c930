/* SPDX-License-Identifier: MIT */
/*
 * minimal.c - the smallest complete bare-metal program (README): find the
 * block device on riscv64 virt's virtio-mmio slots, bring it up (reset,
 * feature negotiation, queue 0, DRIVER_OK) and read sector 0.  All memory
 * is static.  tests/integration/baremetal boots it and checks the bytes.
 */
#include <virtq/drivers/blk.h>
#include <virtq/transport/mmio.h>

#include "rt.h"		/* rt_puts, rt_put_hex: the UART */

static VIRTQ_QUEUE_STORAGE(64) rq;	/* ring + driver state */
static struct virtq_mmio dev;
static struct virtq_blk blk;
static uint8_t sector[512];

int main(void);
int main(void)
{
	struct virtq_blk_config cfg = { .queue = VIRTQ_QUEUE_MEM(rq, 64) };
	uintptr_t slot;
	int i;

	for (slot = 0x10001000; slot <= 0x10008000; slot += 0x1000)
		if (virtq_mmio_probe(&dev, slot, NULL) == 0 &&
		    dev.t.device_id == VIRTQ_ID_BLOCK)
			break;
	if (slot > 0x10008000 || virtq_blk_init(&blk, &dev.t, &cfg) ||
	    virtq_blk_read(&blk, 0, sector, sizeof sector))
		return 1;
	rt_puts("sector 0:");
	for (i = 0; i < 8; i++) {
		rt_puts(" ");
		rt_put_hex(sector[i]);
	}
	rt_puts("\n");
	return 0;
}
