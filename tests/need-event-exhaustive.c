/* SPDX-License-Identifier: MIT */
/*
 * need-event-exhaustive: virtq_need_event(event, new, old) against its
 * meaning, for every one of the 2^32 (new - old, event - old) distance
 * pairs, at several values of old (including both sides of the u16 wrap):
 * notify iff (event - old) mod 2^16 < (new - old) mod 2^16, i.e. iff the
 * requested entry is one of those published since the last notification.
 *
 * The event values come from an array the compiler cannot see through,
 * and the expected answer from the loop counters, so the optimiser cannot
 * fold the function under test into the reference.  An off-by-one mutant
 * run through the same sweep must fail: the harness can catch a bug.
 */
#include <stdbool.h>

#include "test.h"
#include "virtq/ring.h"

static uint16_t events[65536];
static volatile uint16_t opaque_old;

typedef bool (*need_fn)(uint16_t event, uint16_t new_idx, uint16_t old);

static bool real_need(uint16_t e, uint16_t n, uint16_t o)
{
	return virtq_need_event(e, n, o);
}

/* Off by one: notifies one entry late.  Must be caught. */
static bool mutant_need(uint16_t e, uint16_t n, uint16_t o)
{
	return (uint16_t)(n - e) < (uint16_t)(n - o);
}

static void fill_events(void)
{
	uint16_t old = opaque_old;

	for (uint32_t de = 0; de < 65536; de++)
		events[de] = (uint16_t)(old + de);
}

/* Mismatches over every event for one (old, new); inlined with a constant
 * function so the real one vectorises. */
static inline __attribute__((always_inline)) unsigned long
sweep(need_fn fn, uint16_t old, uint32_t dn)
{
	uint16_t new_idx = (uint16_t)(old + dn);
	unsigned long bad = 0;

	for (uint32_t de = 0; de < 65536; de++)
		bad += fn(events[de], new_idx, old) != (de < dn);
	return bad;
}

/* Pure arithmetic over a private array, no threads: the sanitizers have
 * nothing to find here and would only make 2^32 loads slow. */
__attribute__((no_sanitize("address", "thread", "undefined")))
static unsigned long all_pairs(uint16_t old)
{
	unsigned long bad = 0;

	opaque_old = old;
	fill_events();
	for (uint32_t dn = 0; dn < 65536; dn++) {
		unsigned long b = sweep(real_need, opaque_old, dn);

		if (b && !bad)
			fprintf(stderr, "old 0x%x new-old 0x%x: %lu events "
				"wrong\n", old, dn, b);
		bad += b;
	}
	return bad;
}

int main(void)
{
	const uint16_t bases[] = { 0, 0xffff, 0xfffe, 0x8000, 0x7fff, 0x1234 };
	size_t nbases = sizeof(bases) / sizeof(bases[0]);
	const char *san = getenv("SAN");
	unsigned long mutant_bad = 0;

	/* Under sanitizers every pair still runs, for fewer bases; under
	 * emulation (make check-cross sets VIRTQ_EMULATED) for one: a base
	 * takes minutes there. */
	if (san && *san)
		nbases = 2;
	if (getenv("VIRTQ_EMULATED"))
		nbases = 1;
	for (size_t b = 0; b < nbases; b++) {
		uint16_t old = bases[b];

		CHECK_EQ(all_pairs(old), 0);
		/* A few spot checks of the meaning, by hand. */
		CHECK(!virtq_need_event(old, old, old));	/* nothing new */
		CHECK(virtq_need_event(old, (uint16_t)(old + 1), old));
		CHECK(!virtq_need_event((uint16_t)(old + 1),
					(uint16_t)(old + 1), old));
		CHECK(virtq_need_event((uint16_t)(old + 0xfffe),
				       (uint16_t)(old + 0xffff), old));
		CHECK(!virtq_need_event((uint16_t)(old - 1),
					(uint16_t)(old + 0xffff), old));
	}
	opaque_old = 0xfff0;
	fill_events();
	for (uint32_t dn = 0; dn < 64; dn++)
		mutant_bad += sweep(mutant_need, opaque_old, dn);
	CHECK(mutant_bad > 0);
	printf("need-event-exhaustive: %zu bases x 2^32 pairs ok\n", nbases);
	return 0;
}
