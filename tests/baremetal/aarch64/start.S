/* SPDX-License-Identifier: MIT */
/* aarch64 virt, EL1, MMU and caches off, loaded at 0x40100000 by -kernel. */
	.section .text.start, "ax"
	.globl _start
_start:
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	cbnz	x0, 2f
	ldr	x0, =__stack_top
	mov	sp, x0
	ldr	x0, =vectors
	msr	vbar_el1, x0
	isb
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	3f
	str	xzr, [x0], #8
	b	1b
3:	bl	main
	bl	rt_exit
2:	wfe
	b	2b

	/* Any exception is a bug in the test program: report it and fail. */
	.macro	vec
	.balign	0x80
	b	trap
	.endm
	.balign	0x800
vectors:
	.rept	16
	vec
	.endr

trap:
	ldr	x0, =__stack_top
	mov	sp, x0
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	mrs	x2, far_el1
	bl	rt_trap
	b	2b
