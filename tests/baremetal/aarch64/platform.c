/* SPDX-License-Identifier: MIT */
/*
 * platform.c - QEMU aarch64 virt at EL1 with the MMU off: PL011 UART at
 * 0x09000000, poweroff with the exit code through semihosting
 * (SYS_EXIT_EXTENDED; PSCI SYSTEM_OFF over hvc if semihosting is off),
 * the generic timer, GICv2 (distributor 0x08000000, CPU interface
 * 0x08010000), 32 virtio-mmio slots at 0x0a000000 (SPI 16 + n = INTID
 * 48 + n), and with highmem=off the PCIe ECAM at 0x3f000000 with BARs
 * from the window at 0x10000000 (INTx on SPI 3..6 = INTID 35..38); built
 * with VQT_PCI_HIGH=1, QEMU's default highmem layout instead (ECAM at
 * 0x4010000000, 64-bit BARs at 0x8000000000).
 */
#include "../rt.h"

#define UART		0x09000000ul
#define UART_FR		(UART + 0x18)
#define GICD		0x08000000ul
#define GICC		0x08010000ul
#define TIMER_INTID	30	/* EL1 physical timer PPI */

#define S(n) { 0x0a000000ul + 0x200ul * (n), 48 + (n) }
static const struct rt_mmio_slot slots[32] = {
	S(0), S(1), S(2), S(3), S(4), S(5), S(6), S(7), S(8), S(9), S(10),
	S(11), S(12), S(13), S(14), S(15), S(16), S(17), S(18), S(19), S(20),
	S(21), S(22), S(23), S(24), S(25), S(26), S(27), S(28), S(29), S(30), S(31),
};

#if VQT_PCI_HIGH
/*
 * highmem=on (QEMU's default): the ECAM above 256 GiB, and a 64-bit
 * window at 512 GiB where the 64-bit BARs go.
 */
const struct rt_platform rt_platform = {
	.name = "aarch64-virt-highmem",
	.mmio = slots,
	.n_mmio = 32,
	.ecam = 0x4010000000ul,
	.ecam_buses = 256,
	.pci_mmio32 = 0x10000000,
	.pci_mmio32_size = 0x2eff0000,
	.pci_mmio64 = 0x8000000000ul,
	.pci_mmio64_size = 0x8000000000ul,
	.pci_irq_base = 32 + 3,
};
#else
const struct rt_platform rt_platform = {
	.name = "aarch64-virt",
	.mmio = slots,
	.n_mmio = 32,
	.ecam = 0x3f000000,
	.ecam_buses = 16,
	.pci_mmio32 = 0x10000000,
	.pci_mmio32_size = 0x2eff0000,
	.pci_irq_base = 32 + 3,
};
#endif

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }

void rt_putc(char c)
{
	while (r32(UART_FR) & (1u << 5))	/* TX FIFO full */
		;
	w32(UART, (uint8_t)c);
}

static long semihost(long op, void *arg)
{
	register long x0 __asm__("x0") = op;
	register void *x1 __asm__("x1") = arg;

	__asm__ __volatile__("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
	return x0;
}

void rt_exit(int code)
{
	uint64_t block[2] = { 0x20026, (uint64_t)code };	/* ADP_Stopped_ApplicationExit */
	register uint64_t x0 __asm__("x0") = 0x84000008;	/* PSCI SYSTEM_OFF */

	semihost(0x20, block);					/* SYS_EXIT_EXTENDED */
	__asm__ __volatile__("hvc #0" : "+r"(x0) :: "memory");
	for (;;)
		__asm__ __volatile__("wfi");
}

void rt_trap(uint64_t esr, uint64_t elr, uint64_t far);
void rt_trap(uint64_t esr, uint64_t elr, uint64_t far)
{
	rt_puts("\nTRAP esr ");
	rt_put_hex(esr);
	rt_puts(" elr ");
	rt_put_hex(elr);
	rt_puts(" far ");
	rt_put_hex(far);
	rt_puts("\n");
	rt_exit(3);
}

static uint64_t cntfrq(void)
{
	uint64_t f;

	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	return f ? f : 62500000;
}

static uint64_t cntpct(void)
{
	uint64_t c;

	__asm__ __volatile__("isb; mrs %0, cntpct_el0" : "=r"(c) :: "memory");
	return c;
}

uint64_t rt_now_us(void)
{
	return cntpct() / (cntfrq() / 1000000);
}

static void gic_enable(unsigned int intid)
{
	w32(GICD + 0x100 + 4 * (intid / 32), 1u << (intid % 32));	/* ISENABLER */
	*(volatile uint8_t *)(GICD + 0x400 + intid) = 0x80;		/* priority */
	if (intid >= 32)
		*(volatile uint8_t *)(GICD + 0x800 + intid) = 1;	/* to CPU 0 */
}

void rt_irq_init(void)
{
	w32(GICD, 1);			/* distributor on */
	w32(GICC + 0x4, 0xff);		/* priority mask: everything */
	w32(GICC, 1);			/* CPU interface on */
	gic_enable(TIMER_INTID);
	/* PSTATE.I stays set: interrupts only end a wfi, no handler runs. */
	__asm__ __volatile__("msr daifset, #2");
}

void rt_irq_enable(unsigned int irq)
{
	gic_enable(irq);
}

void rt_irq_disable(unsigned int irq)
{
	w32(GICD + 0x180 + 4 * (irq / 32), 1u << (irq % 32));	/* ICENABLER */
	w32(GICD + 0x280 + 4 * (irq / 32), 1u << (irq % 32));	/* ICPENDR */
}

unsigned int rt_irq_wait(uint64_t timeout_us)
{
	uint64_t ticks = timeout_us * (cntfrq() / 1000000);
	unsigned int irq;

	if (ticks > 0x7fffffff)
		ticks = 0x7fffffff;
	__asm__ __volatile__("msr cntp_tval_el0, %0; msr cntp_ctl_el0, %1; isb"
			     :: "r"(ticks), "r"(1ul));
	for (;;) {
		irq = r32(GICC + 0xc) & 0x3ff;	/* IAR: claim */
		if (irq != 1023)
			break;
		__asm__ __volatile__("wfi" ::: "memory");
	}
	__asm__ __volatile__("msr cntp_ctl_el0, %0; isb" :: "r"(0ul));
	if (irq == TIMER_INTID) {
		w32(GICC + 0x10, irq);		/* EOI */
		return 0;
	}
	return irq;
}

void rt_irq_done(unsigned int irq)
{
	w32(GICC + 0x10, irq);
}
