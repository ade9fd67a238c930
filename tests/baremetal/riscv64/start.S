/* SPDX-License-Identifier: MIT */
/* riscv64 virt, M-mode, loaded at 0x80000000 by -bios none -kernel. */
	.section .text.start, "ax"
	.globl _start
_start:
	csrr	t0, mhartid
	bnez	t0, 2f
	la	t0, trap
	csrw	mtvec, t0
	la	sp, __stack_top
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 3f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
3:	call	main
	call	rt_exit
2:	wfi
	j	2b

	/* Any trap is a bug in the test program: report it and fail. */
	.balign 4
trap:
	la	sp, __stack_top
	csrr	a0, mcause
	csrr	a1, mepc
	csrr	a2, mtval
	call	rt_trap
	j	2b
