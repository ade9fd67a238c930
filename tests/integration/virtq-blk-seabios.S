/* SPDX-License-Identifier: MIT */
/*
 * Boot sector for tests/integration/virtq-blk-seabios.  SeaBIOS loads it
 * from the vhost-user-blk disk through its own virtio-blk driver; it reads
 * LBA 1..8 (int 13h AH=42h), checks the host's pattern (byte i is
 * i * 7 + 3), writes LBA 1..2 back to LBA 100..101 (AH=43h), prints the
 * verdict on COM1 and leaves QEMU through isa-debug-exit (exit status 33
 * on success, 35 on failure).
 */
	.code16
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7c00, %sp
	sti
	mov %dl, drive
	mov $dap_read, %si
	mov $0x42, %ah
	mov drive, %dl
	int $0x13
	jc fail
	mov $0x8000, %si
	xor %cx, %cx
1:	mov %cl, %al
	mov $7, %bl
	mul %bl
	add $3, %al
	cmp (%si), %al
	jne fail
	inc %si
	inc %cx
	cmp $4096, %cx
	jne 1b
	mov $dap_write, %si
	mov $0x4300, %ax
	mov drive, %dl
	int $0x13
	jc fail
	mov $msg_ok, %si
	call puts
	mov $0x10, %al
	out %al, $0xf4
	jmp halt
fail:
	mov $msg_fail, %si
	call puts
	mov $0x11, %al
	out %al, $0xf4
halt:	hlt
	jmp halt
puts:	mov $0x3f8, %dx
2:	lodsb
	test %al, %al
	jz 3f
	out %al, %dx
	jmp 2b
3:	ret
drive:	.byte 0
	.balign 4
dap_read:
	.byte 16, 0
	.word 8			/* sectors */
	.word 0x8000, 0		/* offset, segment */
	.quad 1			/* LBA */
dap_write:
	.byte 16, 0
	.word 2
	.word 0x8000, 0
	.quad 100
msg_ok:	.asciz "VIRTQ-BLK-BOOT-OK\n"
msg_fail: .asciz "VIRTQ-BLK-BOOT-FAIL\n"
	.org 510
	.byte 0x55, 0xaa
