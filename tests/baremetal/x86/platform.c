/* SPDX-License-Identifier: MIT */
/*
 * platform.c - QEMU x86 q35 in 32-bit protected mode (multiboot, paging
 * off): COM1 16550 at port 0x3f8, poweroff with a code through
 * isa-debug-exit at port 0xf4 (QEMU exits with code * 2 + 1), PCI
 * configuration space through ports 0xcf8 / 0xcfc (the BIOS has assigned
 * the BARs already), no virtio-mmio, completion polled only.  The clock is
 * the TSC, taken as 1 GHz: timeouts are rough, the host's timeout is the
 * real bound.
 */
#include "../rt.h"
#include "virtq/transport/pci.h"

static const struct virtq_pci_cfg_io portio;

const struct rt_platform rt_platform = {
	.name = "x86-q35",
	.n_mmio = 0,
	.ecam = 0,
	.pci_cfg = &portio,
};

static inline void outb(uint16_t port, uint8_t v) { __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ __volatile__("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ __volatile__("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

void rt_putc(char c)
{
	while (!(inb(0x3f8 + 5) & 0x20))
		;
	outb(0x3f8, (uint8_t)c);
}

void rt_exit(int code)
{
	outl(0xf4, (uint32_t)code);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

uint64_t rt_now_us(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32 | lo) >> 10;	/* ~1 GHz: about microseconds */
}

void rt_irq_init(void) {}
void rt_irq_enable(unsigned int irq) { (void)irq; }
void rt_irq_disable(unsigned int irq) { (void)irq; }
unsigned int rt_irq_wait(uint64_t timeout_us) { (void)timeout_us; return 0; }
void rt_irq_done(unsigned int irq) { (void)irq; }

/* PCI configuration mechanism #1: the caller hook of transport/pci.h. */
static uint32_t cf8(uint8_t b, uint8_t d, uint8_t f, uint16_t off)
{
	return 0x80000000u | (uint32_t)b << 16 | (uint32_t)(d & 31) << 11 |
	       (uint32_t)(f & 7) << 8 | (off & 0xfc);
}

static uint32_t portio_read(void *opaque, uint8_t b, uint8_t d, uint8_t f,
			    uint16_t off, unsigned int w)
{
	(void)opaque;
	if (off > 0xff)
		return 0xffffffffu;	/* no extended space through ports */
	outl(0xcf8, cf8(b, d, f, off));
	switch (w) {
	case 1: return inb((uint16_t)(0xcfc + (off & 3)));
	case 2: return inw((uint16_t)(0xcfc + (off & 2)));
	default: return inl(0xcfc);
	}
}

static void portio_write(void *opaque, uint8_t b, uint8_t d, uint8_t f,
			 uint16_t off, unsigned int w, uint32_t v)
{
	(void)opaque;
	if (off > 0xff)
		return;
	outl(0xcf8, cf8(b, d, f, off));
	switch (w) {
	case 1: outb((uint16_t)(0xcfc + (off & 3)), (uint8_t)v); break;
	case 2: outw((uint16_t)(0xcfc + (off & 2)), (uint16_t)v); break;
	default: outl(0xcfc, v); break;
	}
}

static const struct virtq_pci_cfg_io portio = { portio_read, portio_write, NULL };
