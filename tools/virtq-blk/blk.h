/* SPDX-License-Identifier: MIT */
/*
 * blk.h - the virtio-blk device model behind virtq-blk: a raw image file
 * (or block device) served through io_uring, one ring per virtqueue.
 */
#ifndef VIRTQ_BLK_MODEL_H
#define VIRTQ_BLK_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq/vhost_user.h"

/* virtio-blk (VIRTIO 1.2, 5.2) */
#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_MQ		12
#define VIRTIO_BLK_F_DISCARD	13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_WZ_F_UNMAP	1u	/* discard / write-zeroes segment flag */
#define VIRTIO_BLK_ID_BYTES	20

/* What this model advertises. */
#define BLK_SECTOR		512u
#define BLK_SEG_MAX		126u	/* data segments per request */
#define BLK_SIZE_MAX		(1u << 20)
#define BLK_MAX_DWZ_SEG		8u	/* discard / write-zeroes segments */
#define BLK_MAX_DWZ_SECTORS	(1u << 22)	/* 2 GiB per segment */
#define BLK_CONFIG_LEN		72u	/* through the secure-erase fields */

/* Config space offsets (struct virtio_blk_config). */
#define BLK_CFG_CAPACITY	0
#define BLK_CFG_SIZE_MAX	8
#define BLK_CFG_SEG_MAX		12
#define BLK_CFG_BLK_SIZE	20
#define BLK_CFG_NUM_QUEUES	34
#define BLK_CFG_MAX_DISCARD_SECTORS 36
#define BLK_CFG_MAX_DISCARD_SEG	40
#define BLK_CFG_DISCARD_ALIGN	44
#define BLK_CFG_MAX_WZ_SECTORS	48
#define BLK_CFG_MAX_WZ_SEG	52
#define BLK_CFG_WZ_MAY_UNMAP	56

struct blk_disk {
	int fd;
	uint64_t sectors;	/* capacity in 512-byte sectors */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];	/* zero padded, not terminated */
	bool no_zero_range;	/* fallocate ZERO_RANGE unsupported (atomic) */
	bool quiet;		/* no per-request log lines */
	bool mem_backed;	/* tmpfs & co: I/O done inline, not via io_uring */
	int dfd;		/* --direct: the image opened O_DIRECT, else -1 */
	/* --direct: what O_DIRECT needs (statx STATX_DIOALIGN, or 4096):
	 * requests with the offset and every buffer's length a multiple of
	 * dio_off_align and every address of dio_mem_align go through dfd,
	 * the others through the buffered fd. */
	uint32_t dio_mem_align, dio_off_align;
};

/*
 * Open @path (read-only if @ro).  Returns 0, or -errno with a one-line
 * reason in @err.
 */
int blk_disk_open(struct blk_disk *d, const char *path, bool ro,
		  const char *serial, char *err, size_t errlen);
/*
 * Also open the image with O_DIRECT (QEMU's cache.direct=on): reads and
 * writes aligned as O_DIRECT needs bypass the page cache.  Returns 0,
 * or -errno with a one-line reason in @err (e.g. tmpfs has no O_DIRECT).
 */
int blk_disk_open_direct(struct blk_disk *d, const char *path, char *err,
			 size_t errlen);
void blk_disk_close(struct blk_disk *d);

/* Capacity in sectors (safe from any thread). */
uint64_t blk_disk_sectors(const struct blk_disk *d);

/*
 * Read the image's size again (after it was grown or shrunk) and serve
 * that from now on.  Returns 1 (changed; *old and *now say how), 0 (same
 * size), or -EINVAL (the image is now smaller than a sector: the old size
 * stays) or -errno from fstat / BLKGETSIZE64.
 */
int blk_disk_resize(struct blk_disk *d, uint64_t *old, uint64_t *now);

/* Device features and config space for @num_queues queues. */
uint64_t blk_features(const struct blk_disk *d);
void blk_config(const struct blk_disk *d, unsigned int num_queues,
		uint8_t cfg[BLK_CONFIG_LEN]);

/* Backend ops; their opaque is the struct blk_disk. */
extern const struct virtq_vu_backend_ops blk_ops;

#endif /* VIRTQ_BLK_MODEL_H */
