/* SPDX-License-Identifier: MIT */
/* x86 (q35 or pc), 32-bit protected mode, loaded by QEMU's multiboot -kernel. */
	.section .text.start, "ax"
	.balign	4
multiboot_header:
	.long	0x1badb002		/* magic */
	.long	0			/* flags: ELF, nothing asked */
	.long	-(0x1badb002 + 0)	/* checksum */

	.globl	_start
_start:
	cli
	mov	$__stack_top, %esp
	cld
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	call	main
	push	%eax
	call	rt_exit
1:	hlt
	jmp	1b
