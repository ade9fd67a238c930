/* SPDX-License-Identifier: MIT */
/*
 * verify.c - stamp written sectors and tell misplaced, stale and torn data
 * apart when reading them back.
 *
 * Sector layout (all little-endian, so an image written on one host checks
 * on another): struct stamp (32 bytes), then 60 pattern words that depend
 * on (lba, gen, word index).  The checksum covers all 512 bytes with the
 * csum field taken as 0, so any bytes from another write inside a sector
 * show up as a bad checksum.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "blkio.h"
#include "virtq/ring.h"

#define WORDS (SECTOR / 8)

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return virtq_le64(v);
}

static void st64(uint8_t *p, uint64_t v)
{
	v = virtq_cpu_to_le64(v);
	memcpy(p, &v, 8);
}

/* Word 0 holds magic (low half) and csum (high half): csum counts as 0. */
static uint32_t sector_csum(const uint8_t *s)
{
	uint64_t h = 0x243f6a8885a308d3ull;

	h = (h ^ (ld64(s) & 0xffffffffull)) * 0x9e3779b97f4a7c15ull;
	for (unsigned int i = 1; i < WORDS; i++) {
		h = (h ^ ld64(s + 8 * i)) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

void verify_fill(void *buf, uint32_t len, uint64_t lba, uint64_t gen)
{
	uint8_t *s = buf;

	for (uint32_t off = 0; off < len; off += SECTOR, s += SECTOR) {
		uint64_t sl = lba + off / SECTOR;
		uint64_t seed = mix64(sl ^ mix64(gen));

		st64(s, STAMP_MAGIC);
		st64(s + 8, sl);
		st64(s + 16, gen);
		st64(s + 24, lba);
		for (unsigned int i = 4; i < WORDS; i++)
			st64(s + 8 * i, mix64(seed + i));
		st64(s, (uint64_t)STAMP_MAGIC | (uint64_t)sector_csum(s) << 32);
	}
}

static const char *const verdict_names[] = {
	[V_OK] = "ok", [V_UNWRITTEN] = "unwritten", [V_MISSING] = "missing",
	[V_TORN] = "torn", [V_MISPLACED] = "misplaced", [V_STALE] = "stale",
	[V_FUTURE] = "unexpected",
};

static enum verdict say(enum verdict v, char *why, size_t whylen,
			const char *fmt, uint64_t a, uint64_t b)
{
	int n = snprintf(why, whylen, "%s: ", verdict_names[v]);

	if (n > 0 && (size_t)n < whylen)
		snprintf(why + n, whylen - (size_t)n, fmt, a, b);
	return v;
}

static const char *gen_str(uint64_t g, char *b, size_t n)
{
	snprintf(b, n, "%" PRIu64 ".%" PRIu64, g >> 32, g & 0xffffffffu);
	return b;
}

static bool any_stamp(const uint8_t *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, s += SECTOR)
		if ((uint32_t)ld64(s) == STAMP_MAGIC)
			return true;
	return false;
}

/*
 * Without an expected generation (@gen 0: not written in this run) each
 * sector only has to be self-consistent: earlier runs with other block
 * sizes leave blocks whose sectors come from different writes.  With one,
 * every sector must carry exactly it.
 */
enum verdict verify_check(const void *buf, uint32_t len, uint64_t lba,
			  uint64_t gen, char *why, size_t whylen)
{
	const uint8_t *s = buf;
	uint64_t gen0 = 0;
	unsigned int stamped = 0, n = len / SECTOR;
	char a[48], b[48];

	why[0] = 0;
	for (unsigned int i = 0; i < n; i++, s += SECTOR) {
		uint64_t w0 = ld64(s), slba = ld64(s + 8), sgen = ld64(s + 16);

		if ((uint32_t)w0 != STAMP_MAGIC) {
			if (!gen)
				continue;
			if (stamped || any_stamp(s, n - i))
				return say(V_TORN, why, whylen,
					   "sector +%" PRIu64 " has no stamp, others have (%" PRIu64 " sectors)",
					   i, n);
			return say(V_MISSING, why, whylen,
				   "no stamp in sector +%" PRIu64 ", written with generation %" PRIx64,
				   i, gen);
		}
		if ((uint32_t)(w0 >> 32) != sector_csum(s))
			return say(V_TORN, why, whylen,
				   "sector +%" PRIu64 " fails its checksum (%" PRIu64 " sectors)",
				   i, n);
		if (slba != lba + i)
			return say(V_MISPLACED, why, whylen,
				   "holds the data of LBA %" PRIu64 " (sector +%" PRIu64 ")",
				   slba - i, i);
		if (!stamped++)
			gen0 = sgen;
		else if (gen && sgen != gen0) {
			snprintf(why, whylen,
				 "torn: sector +%u has generation %s, sector +0 %s",
				 i, gen_str(sgen, a, sizeof(a)),
				 gen_str(gen0, b, sizeof(b)));
			return V_TORN;
		}
	}
	if (!stamped)
		return V_UNWRITTEN;
	if (!gen || gen0 == gen)
		return V_OK;

	enum verdict v = (gen0 >> 32) != (gen >> 32) ||
			 (uint32_t)gen0 < (uint32_t)gen ? V_STALE : V_FUTURE;

	snprintf(why, whylen, "%s: generation %s found, %s expected%s",
		 verdict_names[v], gen_str(gen0, a, sizeof(a)),
		 gen_str(gen, b, sizeof(b)),
		 (gen0 >> 32) != (gen >> 32) ? " (data of an earlier run)" : "");
	return v;
}
