/* SPDX-License-Identifier: MIT */
/* rt.c - output helpers and the libc-style functions compilers may emit. */
#include "rt.h"

void rt_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			rt_putc('\r');
		rt_putc(*s++);
	}
}

void rt_put_hex(uint64_t v)
{
	char b[19];
	int i = 18;

	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	b[--i] = 'x';
	b[--i] = '0';
	rt_puts(b + i);
}

/*
 * Decimal without division: 32-bit targets would need a 64-bit division
 * helper (libgcc's __udivdi3) for v % 10.
 */
size_t rt_fmt_dec(char *buf, uint64_t v)
{
	static const uint64_t p10[20] = {
		10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
		10000000000000000ull, 1000000000000000ull, 100000000000000ull,
		10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull,
		10000ull, 1000ull, 100ull, 10ull, 1ull,
	};
	size_t n = 0;
	unsigned int i;
	char d;

	for (i = 0; i < 20; i++) {
		for (d = '0'; v >= p10[i]; d++)
			v -= p10[i];
		if (d != '0' || n || i == 19)
			buf[n++] = d;
	}
	buf[n] = 0;
	return n;
}

void rt_put_dec(uint64_t v)
{
	char b[21];

	rt_fmt_dec(b, v);
	rt_puts(b);
}

void *memset(void *s, int c, size_t n)
{
	volatile unsigned char *p = s;	/* volatile: not turned back into memset */

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	volatile unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp < sp) {
		while (n--)
			*dp++ = *sp++;
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}
