/* SPDX-License-Identifier: MIT */
/*
 * transport-pci-probe: virtq_pci_probe on a fake function.
 *  - no function: -ENOENT; not virtio (vendor or device ID, or device
 *    type 0): -ENODEV;
 *  - no capability list, or no common / notify / ISR structure: -ENOTSUP;
 *    a structure in an I/O BAR: -ENOTSUP;
 *  - a structure past its BAR's end, a misaligned common structure, a
 *    common structure too short, a notify multiplier that is not 0 or a
 *    power of two, a capability shorter than its type needs, a list that
 *    loops: -EINVAL; a reserved BAR index (6+) makes the capability be
 *    ignored;
 *  - unassigned BARs without a window: -ENXIO; a window too small, or a
 *    32-bit BAR that would end above 4 GiB: -ENOSPC; with a second window
 *    the 64-bit BAR goes there, the 32-bit one stays low;
 *  - success: every memory BAR assigned inside the window, aligned to its
 *    size, the 64-bit one in both halves; memory decoding and bus
 *    mastering on, and no BAR memory touched before; the four structures
 *    found at their BAR's address; device ID, config_len, INTx pin; a
 *    transitional device ID (0x1001) takes the type from the subsystem ID.
 */
#include "fake-pci.h"

static struct fake_pci f;
static struct virtq_pci p;

static int probe_win(uint64_t base, uint64_t size)
{
	struct virtq_pci_bar_window w;

	virtq_pci_bar_window_init(&w, base, size);
	return fake_pci_probe(&p, &f, 3, &w);
}

static int probe(void)
{
	return probe_win(0x40000000, 0x40000000);
}

int main(void)
{
	uint64_t bar4;

	/* Nothing there, something else there. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_pci_probe(&p, &f, 4, NULL), -ENOENT);
	fp_put(&f, 0x00, 2, 0x8086);
	CHECK_EQ(probe(), -ENODEV);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x02, 2, 0x1100);
	CHECK_EQ(probe(), -ENODEV);
	fp_put(&f, 0x02, 2, 0x1040);			/* type 0: reserved */
	CHECK_EQ(probe(), -ENODEV);
	fp_put(&f, 0x02, 2, 0x1000);			/* transitional, subsystem 0 */
	fp_put(&f, 0x2e, 2, 0);
	CHECK_EQ(probe(), -ENODEV);

	/* The good case. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	CHECK_EQ(probe(), 0);
	CHECK_EQ(p.t.device_id, VIRTQ_ID_BLOCK);
	CHECK_EQ(p.t.vendor_id, 0x1af4);
	CHECK_EQ(p.t.config_len, 0x100);
	CHECK_EQ(p.t.legacy_align, 0);
	CHECK_EQ(p.irq_pin, 1);
	CHECK_EQ(p.num_queues, FP_NQ);
	CHECK_EQ(p.notify_mul, 4);
	bar4 = fp_bar4(&f);
	CHECK(bar4 >= 0x40000000 && bar4 + FP_BAR4_SIZE <= 0x80000000);
	CHECK_EQ(bar4 % FP_BAR4_SIZE, 0);
	CHECK_EQ(p.bar[4], bar4);
	CHECK_EQ(p.bar_size[4], FP_BAR4_SIZE);
	CHECK_EQ(p.bar_size[1], 0x1000);
	CHECK(p.bar[1] >= 0x40000000 && p.bar[1] % 0x1000 == 0);
	CHECK(p.bar[1] + 0x1000 <= bar4 || bar4 + FP_BAR4_SIZE <= p.bar[1]);	/* no overlap */
	CHECK_EQ(p.bar[0], 0);		/* the I/O BAR is left alone */
	CHECK_EQ(fp_get(&f, 0x04, 2) & 6, 6);
	CHECK_EQ(f.mem_accesses_while_off, 0);
	CHECK_EQ(p.common.addr, bar4 + FP_COMMON);
	CHECK_EQ(p.isr.addr, bar4 + FP_ISR);
	CHECK_EQ(p.device.addr, bar4 + FP_DEVICE);
	CHECK_EQ(p.notify.addr, bar4 + FP_NOTIFY);
	CHECK_EQ(f.msix_config, 0xffff);	/* no MSI-X vector: INTx */

	/* A 64-bit BAR above 4 GiB. */
	fake_pci_init(&f, VIRTQ_ID_NET);
	f.bar_size[1] = 0;
	CHECK_EQ(probe_win(0x400000000ull, 0x100000), 0);
	CHECK_EQ(fp_bar4(&f), 0x400000000ull);
	CHECK_EQ(p.notify.addr, 0x400000000ull + FP_NOTIFY);

	/* Two windows: the 64-bit BAR high, the 32-bit one low. */
	{
		struct virtq_pci_bar_window w;

		fake_pci_init(&f, VIRTQ_ID_NET);
		virtq_pci_bar_window_init(&w, 0x10000000, 0x10000);
		virtq_pci_bar_window_add64(&w, 0x8000000000ull, 0x8000000000ull);
		CHECK_EQ(fake_pci_probe(&p, &f, 3, &w), 0);
		CHECK_EQ(fp_bar4(&f), 0x8000000000ull);
		CHECK_EQ(p.bar[1], 0x10000000);
		CHECK_EQ(p.common.addr, 0x8000000000ull + FP_COMMON);
		/* The low window too small for the 32-bit BAR. */
		fake_pci_init(&f, VIRTQ_ID_NET);
		virtq_pci_bar_window_init(&w, 0x10000000, 0x800);
		virtq_pci_bar_window_add64(&w, 0x8000000000ull, 0x8000000000ull);
		CHECK_EQ(fake_pci_probe(&p, &f, 3, &w), -ENOSPC);
		/* A 32-bit BAR never lands above 4 GiB. */
		fake_pci_init(&f, VIRTQ_ID_NET);
		virtq_pci_bar_window_init(&w, 0xfffff800ull, 0x100000);
		CHECK_EQ(fake_pci_probe(&p, &f, 3, &w), -ENOSPC);
	}

	/* Window too small; no window with unassigned BARs. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	CHECK_EQ(probe_win(0x40000000, 0x2000), -ENOSPC);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	CHECK_EQ(fake_pci_probe(&p, &f, 3, NULL), -ENXIO);
	/* Already assigned (by firmware): no window needed, the address kept. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x20, 4, 0x10000000u | 0xc);
	fp_put(&f, 0x24, 4, 0);
	CHECK_EQ(fake_pci_probe(&p, &f, 3, NULL), 0);
	CHECK_EQ(p.common.addr, 0x10000000u);

	/* Transitional device ID: the type is the subsystem ID. */
	fake_pci_init(&f, VIRTQ_ID_RNG);
	fp_put(&f, 0x02, 2, 0x1005);
	CHECK_EQ(probe(), 0);
	CHECK_EQ(p.t.device_id, VIRTQ_ID_RNG);

	/* No capability list. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x06, 2, 0);
	CHECK_EQ(probe(), -ENOTSUP);
	/* No notify structure (list ends after the device one). */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x71, 1, 0);
	CHECK_EQ(probe(), -ENOTSUP);
	/* The common structure in the I/O BAR. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x54, 1, 0);
	CHECK_EQ(probe(), -ENOTSUP);
	/* A reserved BAR index: that capability is ignored, so no ISR. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x64, 1, 7);
	CHECK_EQ(probe(), -ENOTSUP);

	/* Rule breakers. */
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x88, 4, FP_BAR4_SIZE - 0x800);	/* notify runs past BAR4 */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x8c, 4, 0xffffffffu);		/* length wraps */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x58, 4, 2);				/* common misaligned */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x5c, 4, 0x20);			/* common too short */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x90, 4, 3);				/* multiplier 3 */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x82, 1, 16);			/* notify cap without the multiplier */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x81, 1, 0x50);			/* loop back to common */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	fp_put(&f, 0x34, 1, 0x10);			/* pointer into the header */
	CHECK_EQ(probe(), -EINVAL);
	fake_pci_init(&f, VIRTQ_ID_BLOCK);
	f.bar_size[4] = 0x1000;				/* smaller than the structures */
	CHECK_EQ(probe(), -EINVAL);
	return 0;
}
