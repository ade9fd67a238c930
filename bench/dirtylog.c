// SPDX-License-Identifier: MIT
/*
 * dirtylog - what dirty-page logging (live migration) costs the device
 * side: round trips through one split ring, driver and device taking
 * turns on one thread, with the log off and on, in alternating runs.
 *
 *   dirtylog [LEN] [ITERS] [PAIRS]
 *   dirtylog LEN ITERS 1 on|off    one run only (for instruction counts)
 *
 * Each round trip: the driver adds a chain (16 readable bytes, LEN
 * writable), the device pops it, pushes it with length LEN, flushes,
 * the driver takes it back.  With the log on, push walks the chain again
 * and marks LEN bytes' pages, flush marks the used entry and used->idx.
 * Prints ns per round trip for each run and the median of the on / off
 * ratios of the pairs.  Asserts nothing: a benchmark.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "virtq/device.h"
#include "virtq/driver.h"

#define MEM	(64u << 20)
#define QSIZE	256u

static char *mem;

static uint64_t translate(void *opaque, const void *addr, size_t len, size_t *mapped)
{
	(void)opaque;
	*mapped = len;
	return (uint64_t)((const char *)addr - mem);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double run(struct virtq_driver *drv, struct virtq_device *dev, uint8_t *log,
		  uint64_t loglen, uint32_t len, unsigned long iters, uint64_t used_gpa)
{
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };
	static int tok;
	double t0;

	virtq_device_set_log(dev, log, loglen, used_gpa);
	t0 = now();
	for (unsigned long i = 0; i < iters; i++) {
		/* Rotate the buffers over the memory: new pages each time. */
		char *out = mem + (1u << 20) + (i % 512) * 65536;
		struct virtq_sg o = { out, 16 }, in = { out + 4096, len };
		void *t;
		uint32_t l;

		if (virtq_driver_add(drv, &o, 1, &in, 1, &tok) ||
		    (virtq_driver_kick_prepare(drv), virtq_device_pop(dev, &c) != 1) ||
		    virtq_device_push(dev, c.head, len) ||
		    virtq_device_flush(dev) != 1 ||
		    virtq_driver_get_used(drv, &t, &l) != 1) {
			fprintf(stderr, "dirtylog: round trip %lu failed\n", i);
			exit(1);
		}
	}
	return (now() - t0) / iters * 1e9;
}

int main(int argc, char **argv)
{
	uint32_t len = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 4096;
	unsigned long iters = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000000;
	int pairs = argc > 3 ? atoi(argv[3]) : 7;
	uint64_t loglen = MEM / 4096 / 8;
	uint8_t *log = calloc(1, loglen);
	struct virtq_gmem *gm;
	struct virtq_driver *drv;
	struct virtq_device *dev;
	struct virtq_driver_config dc = { .num = QSIZE, .translate = translate };
	struct virtq_device_config vc = { .num = QSIZE };
	double ratio[64];

	if (len < 1 || len > 60000 || pairs < 1 || pairs > 64) {
		fprintf(stderr, "usage: dirtylog [LEN 1..60000] [ITERS] [PAIRS 1..64]\n");
		return 2;
	}
	mem = aligned_alloc(4096, MEM);
	drv = malloc(virtq_driver_mem_size(QSIZE));
	dev = aligned_alloc(64, (virtq_device_mem_size() + 63) & ~(size_t)63);
	if (!mem || !drv || !dev || !log || virtq_gmem_create(&gm))
		return 1;
	memset(mem, 0, MEM);
	{
		struct virtq_gmem_region r = { .gpa = 0, .size = MEM, .hva = mem };

		if (virtq_gmem_add(gm, &r))
			return 1;
	}
	dc.desc = (void *)mem;
	dc.avail = (void *)(mem + 65536);
	dc.used = (void *)(mem + 2 * 65536);
	if (virtq_driver_init(drv, virtq_driver_mem_size(QSIZE), &dc))
		return 1;
	vc.desc_addr = 0;
	vc.avail_addr = 65536;
	vc.used_addr = 2 * 65536;
	vc.gmem = gm;
	if (virtq_device_init(dev, virtq_device_mem_size(), &vc))
		return 1;
	if (argc > 4) {		/* one run, for callgrind */
		bool on = !strcmp(argv[4], "on");

		run(drv, dev, on ? log : NULL, loglen, len, iters, 2 * 65536);
		return 0;
	}
	run(drv, dev, NULL, 0, len, iters / 10, 0);	/* warm up */
	for (int p = 0; p < pairs; p++) {
		double off, on;

		if (p & 1) {
			on = run(drv, dev, log, loglen, len, iters, 2 * 65536);
			off = run(drv, dev, NULL, 0, len, iters, 0);
		} else {
			off = run(drv, dev, NULL, 0, len, iters, 0);
			on = run(drv, dev, log, loglen, len, iters, 2 * 65536);
		}
		ratio[p] = on / off;
		printf("pair %d: log off %.1f ns, on %.1f ns per round trip (x%.3f)\n",
		       p, off, on, ratio[p]);
	}
	qsort(ratio, (size_t)pairs, sizeof(ratio[0]), cmp);
	printf("dirty logging, %u writable bytes per chain: on / off = %.3f (median of %d pairs)\n",
	       len, ratio[pairs / 2], pairs);
	return 0;
}
