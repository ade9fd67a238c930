/* SPDX-License-Identifier: MIT */
/*
 * pattern.c - host side of the bare-metal blk check (see pattern.h).
 *   pattern write IMAGE    create IMAGE filled with the host pattern
 *   pattern check IMAGE    the guest's sectors hold the guest pattern, every
 *                          other sector the host pattern; prints the first
 *                          mismatch
 */
#include <stdio.h>
#include <string.h>

#include "pattern.h"

static int guest_sector(uint32_t s)
{
	return s >= VQT_WRITE_FIRST && s < VQT_WRITE_FIRST + VQT_WRITE_N;
}

int main(int argc, char **argv)
{
	unsigned char buf[VQT_SECTOR];
	uint32_t s, i;
	FILE *f;

	if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: pattern write|check IMAGE\n");
		return 2;
	}
	if (!strcmp(argv[1], "write")) {
		f = fopen(argv[2], "wb");
		if (!f)
			return perror(argv[2]), 1;
		for (s = 0; s < VQT_IMAGE_SECTORS; s++) {
			for (i = 0; i < VQT_SECTOR; i++)
				buf[i] = vqt_host_byte(s, i);
			if (fwrite(buf, 1, sizeof buf, f) != sizeof buf)
				return perror(argv[2]), 1;
		}
		return fclose(f) ? 1 : 0;
	}
	f = fopen(argv[2], "rb");
	if (!f)
		return perror(argv[2]), 1;
	for (s = 0; s < VQT_IMAGE_SECTORS; s++) {
		if (fread(buf, 1, sizeof buf, f) != sizeof buf) {
			printf("image short at sector %u\n", s);
			return 1;
		}
		for (i = 0; i < VQT_SECTOR; i++) {
			uint8_t want = guest_sector(s) ? vqt_guest_byte(s, i) : vqt_host_byte(s, i);

			if (buf[i] != want) {
				printf("sector %u byte %u: 0x%02x, want 0x%02x (%s pattern)\n",
				       s, i, buf[i], want, guest_sector(s) ? "guest" : "host");
				return 1;
			}
		}
	}
	fclose(f);
	printf("image ok: %u guest sectors, %u host sectors\n", VQT_WRITE_N,
	       VQT_IMAGE_SECTORS - VQT_WRITE_N);
	return 0;
}
