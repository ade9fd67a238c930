/* SPDX-License-Identifier: MIT */
/*
 * rt.h - the tiny bare-metal runtime under tests/baremetal: what each
 * machine's platform.c provides to the test program (main.c), and the few
 * libc-style helpers (rt.c) the compiler may call.
 */
#ifndef VQT_RT_H
#define VQT_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct virtq_pci_cfg_io;

/* Where the platform's VIRTIO transports are. */
struct rt_mmio_slot {
	uintptr_t base;
	unsigned int irq;	/* interrupt controller line */
};

struct rt_platform {
	const char *name;
	const struct rt_mmio_slot *mmio;
	unsigned int n_mmio;
	/* PCIe ECAM (0: none), its bus range, and the windows for BARs. */
	uintptr_t ecam;
	unsigned int ecam_buses;
	uint64_t pci_mmio32, pci_mmio32_size;
	uint64_t pci_mmio64, pci_mmio64_size;
	unsigned int pci_irq_base;	/* INTA of slot 0; INTx swizzled per slot */
	/* PCI configuration access other than ECAM (x86 port I/O), or NULL. */
	const struct virtq_pci_cfg_io *pci_cfg;
};

extern const struct rt_platform rt_platform;

void rt_putc(char c);
void rt_puts(const char *s);
void rt_put_hex(uint64_t v);
void rt_put_dec(uint64_t v);
/* @v in decimal into @buf (21 bytes), NUL-terminated; returns the digits. */
size_t rt_fmt_dec(char *buf, uint64_t v);
/* Power the machine off; the host sees @code (0 pass). Does not return. */
__attribute__((noreturn)) void rt_exit(int code);
/* Microseconds since boot. */
uint64_t rt_now_us(void);

/*
 * Interrupts: enable line @irq at the controller (no handler runs: the CPU
 * keeps interrupts masked and only wakes from wfi).  rt_irq_wait sleeps
 * until some enabled line is pending or @timeout_us passes; returns the
 * pending line (claimed: call rt_irq_done with it), or 0 on timeout.
 */
void rt_irq_init(void);
void rt_irq_enable(unsigned int irq);
/* Disable @irq again: a stale pending state of it is never claimed. */
void rt_irq_disable(unsigned int irq);
unsigned int rt_irq_wait(uint64_t timeout_us);
void rt_irq_done(unsigned int irq);

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
