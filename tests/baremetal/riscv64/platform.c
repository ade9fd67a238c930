/* SPDX-License-Identifier: MIT */
/*
 * platform.c - QEMU riscv64 virt in M-mode: NS16550 UART at 0x10000000,
 * sifive test device (poweroff) at 0x100000, CLINT timer (10 MHz), PLIC
 * at 0x0c000000 (context 0 = hart 0 M-mode), eight virtio-mmio slots at
 * 0x10001000 (IRQ 1..8), PCIe ECAM at 0x30000000 with BARs from the
 * 32-bit window at 0x40000000 (INTx on IRQ 32..35).
 */
#include "../rt.h"

#define UART		0x10000000ul
#define TEST_DEV	0x100000ul
#define CLINT_MTIME	0x0200bff8ul
#define CLINT_MTIMECMP	0x02004000ul
#define PLIC		0x0c000000ul
#define PLIC_ENABLE	(PLIC + 0x2000)
#define PLIC_THRESHOLD	(PLIC + 0x200000)
#define PLIC_CLAIM	(PLIC + 0x200004)

#define MIE_MTIE	(1ul << 7)
#define MIE_MEIE	(1ul << 11)

static const struct rt_mmio_slot slots[8] = {
	{ 0x10001000, 1 }, { 0x10002000, 2 }, { 0x10003000, 3 }, { 0x10004000, 4 },
	{ 0x10005000, 5 }, { 0x10006000, 6 }, { 0x10007000, 7 }, { 0x10008000, 8 },
};

const struct rt_platform rt_platform = {
	.name = "riscv64-virt",
	.mmio = slots,
	.n_mmio = 8,
	.ecam = 0x30000000,
	.ecam_buses = 1,
	.pci_mmio32 = 0x40000000,
	.pci_mmio32_size = 0x40000000,
	.pci_irq_base = 32,
};

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }

void rt_putc(char c)
{
	while (!(*(volatile uint8_t *)(UART + 5) & 0x20))
		;
	*(volatile uint8_t *)UART = (uint8_t)c;
}

void rt_exit(int code)
{
	/* 0x5555: pass; (code << 16) | 0x3333: QEMU exits with status code. */
	w32(TEST_DEV, code ? ((uint32_t)code << 16) | 0x3333 : 0x5555);
	for (;;)
		__asm__ __volatile__("wfi");
}

void rt_trap(uint64_t cause, uint64_t epc, uint64_t tval);
void rt_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
	rt_puts("\nTRAP mcause ");
	rt_put_hex(cause);
	rt_puts(" mepc ");
	rt_put_hex(epc);
	rt_puts(" mtval ");
	rt_put_hex(tval);
	rt_puts("\n");
	rt_exit(3);
}

uint64_t rt_now_us(void)
{
	return *(volatile uint64_t *)CLINT_MTIME / 10;
}

void rt_irq_init(void)
{
	unsigned int i;

	for (i = 1; i < 64; i++)
		w32(PLIC + 4 * i, 0);
	w32(PLIC_ENABLE, 0);
	w32(PLIC_ENABLE + 4, 0);
	w32(PLIC_THRESHOLD, 0);
	*(volatile uint64_t *)CLINT_MTIMECMP = ~0ull;
	/* Interrupts stay masked (mstatus.MIE = 0): they only end a wfi. */
	__asm__ __volatile__("csrc mstatus, %0" :: "r"(8ul));
	__asm__ __volatile__("csrs mie, %0" :: "r"(MIE_MEIE | MIE_MTIE));
}

void rt_irq_enable(unsigned int irq)
{
	w32(PLIC + 4 * irq, 1);
	w32(PLIC_ENABLE + 4 * (irq / 32), r32(PLIC_ENABLE + 4 * (irq / 32)) | (1u << (irq % 32)));
}

void rt_irq_disable(unsigned int irq)
{
	w32(PLIC_ENABLE + 4 * (irq / 32), r32(PLIC_ENABLE + 4 * (irq / 32)) & ~(1u << (irq % 32)));
}

unsigned int rt_irq_wait(uint64_t timeout_us)
{
	uint64_t deadline = *(volatile uint64_t *)CLINT_MTIME + timeout_us * 10;
	unsigned int irq;

	*(volatile uint64_t *)CLINT_MTIMECMP = deadline;
	for (;;) {
		irq = r32(PLIC_CLAIM);
		if (irq)
			break;
		if (*(volatile uint64_t *)CLINT_MTIME >= deadline)
			break;
		__asm__ __volatile__("wfi" ::: "memory");
	}
	*(volatile uint64_t *)CLINT_MTIMECMP = ~0ull;
	return irq;
}

void rt_irq_done(unsigned int irq)
{
	w32(PLIC_CLAIM, irq);
}
