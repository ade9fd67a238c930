/* SPDX-License-Identifier: MIT */
/*
 * blkio.h - the block client behind tools/virtq-blkio: virtio-blk requests
 * over the vhost-user frontend, one worker thread per queue, a latency
 * histogram and block verification.  Not part of the library.
 */
#ifndef VIRTQ_BLKIO_H
#define VIRTQ_BLKIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "virtq/vhost_user.h"

/* ---- virtio-blk (VIRTIO 1.x section 5.2) ------------------------------ */

#define BLK_F_SIZE_MAX	1
#define BLK_F_SEG_MAX	2
#define BLK_F_RO	5
#define BLK_F_BLK_SIZE	6
#define BLK_F_FLUSH	9
#define BLK_F_MQ	12

#define BLK_T_IN	0
#define BLK_T_OUT	1
#define BLK_T_FLUSH	4

#define BLK_S_OK	0

#define BLK_CFG_CAPACITY	0	/* u64, 512-byte sectors */
#define BLK_CFG_BLK_SIZE	20	/* u32 */
#define BLK_CFG_NUM_QUEUES	34	/* u16 */
#define BLK_CFG_LEN		36

struct blk_req_hdr {
	uint32_t type;		/* le */
	uint32_t reserved;
	uint64_t sector;	/* le, 512-byte units */
};

#define SECTOR 512u

/* ---- latency histogram: log buckets, 16 per power of two ------------- */

#define HIST_SUB_BITS	4
#define HIST_BUCKETS	(64 << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *to, const struct hist *from);
/* Latency at quantile @q (0..1), the upper edge of its bucket; 0 if empty. */
uint64_t hist_quantile(const struct hist *h, double q);

/* ---- verification ------------------------------------------------------ */

/*
 * Every written 512-byte sector starts with a stamp; the rest is a pattern
 * derived from (lba, gen), and the checksum covers the whole sector.
 * gen = epoch << 32 | per-block write count: the epoch differs per run, so
 * data left by an earlier run reads as stale.
 */
struct stamp {
	uint32_t magic;		/* STAMP_MAGIC */
	uint32_t csum;		/* over the sector with csum = 0 */
	uint64_t lba;		/* sector number this sector was written to */
	uint64_t gen;
	uint64_t block_lba;	/* first sector of the I/O that wrote it */
};
#define STAMP_MAGIC 0x4b425156u	/* "VQBK" */

enum verdict {
	V_OK,
	V_UNWRITTEN,	/* no stamp, and none expected */
	V_MISSING,	/* no stamp where one was written */
	V_TORN,		/* bad checksum, or sectors of different writes */
	V_MISPLACED,	/* stamp of another LBA */
	V_STALE,	/* an older generation (or an earlier run) */
	V_FUTURE,	/* a generation never written yet */
};

void verify_fill(void *buf, uint32_t len, uint64_t lba, uint64_t gen);
/*
 * Check @len bytes read from @lba.  @gen is what was last written there (0
 * = unknown: only self-consistency is checked).  Writes a one-line reason
 * into @why.
 */
enum verdict verify_check(const void *buf, uint32_t len, uint64_t lba,
			  uint64_t gen, char *why, size_t whylen);

/* ---- the run ---------------------------------------------------------- */

enum rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW, RW_VERIFY };

struct job {
	struct virtq_vu_frontend *fe;
	enum rw rw;
	uint32_t bs;
	uint32_t iodepth;
	uint32_t queues;
	uint64_t nblocks;	/* region = nblocks * bs bytes from sector 0 */
	uint64_t max_ios;	/* 0 = no limit (time-based) */
	bool verify;
	bool indirect;
	int timeout_ms;		/* an I/O not completed by then is an error */
	uint64_t epoch;

	/* shared state */
	uint32_t *gen;		/* per block: writes done (verify) */
	uint8_t *busy;		/* per block: an I/O in flight (verify) */
	uint64_t issued;	/* atomic: I/Os handed out (max_ios) */
	int stop;		/* atomic: stop issuing */
	uint64_t done_ios;	/* atomic: for the progress line */
	uint32_t finished;	/* atomic: workers that returned */
	uint64_t verify_errors;	/* atomic */
	uint64_t io_errors;	/* atomic */
	uint64_t reports;	/* atomic: lines printed (capped) */
};

struct worker {
	struct job *job;
	unsigned int qi;
	uint8_t *data;		/* iodepth * bs, in shared memory */
	uint8_t *meta;		/* iodepth * 64: header + status */
	struct hist hist;
	uint64_t ios, bytes, verified;
	uint64_t cursor;	/* sequential position in the stripe */
	uint64_t seed;
	int error;		/* -errno that stopped the worker */
};

/* Bytes of shared memory a worker needs. */
size_t worker_mem(const struct job *job);
void *worker_run(void *arg);

#endif
