/* SPDX-License-Identifier: MIT */
/*
 * gmem.h - a guest memory map for the device side: guest-physical ranges
 * and where they are mapped in this process.
 *
 * Regions never overlap.  Lookups are binary searches over regions kept
 * sorted by guest address (O(log n)); every access is bounds-checked and
 * overflow-safe.  A map is read-only while queues use it: to change the
 * memory table, build a new map and re-point the queues (vhost-user does
 * this while its rings are stopped).  Lookups are safe from many threads.
 */
#ifndef VIRTQ_GMEM_H
#define VIRTQ_GMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtq_gmem;

struct virtq_gmem_region {
	uint64_t gpa;	/* guest-physical start */
	uint64_t size;	/* bytes, > 0 */
	void *hva;	/* where it is mapped here */
	uint64_t uaddr;	/* the frontend's virtual address (vhost-user), or 0 */
};

/* Returns 0 or -ENOMEM. */
int virtq_gmem_create(struct virtq_gmem **out);
void virtq_gmem_destroy(struct virtq_gmem *gm);

/*
 * Add a region.  Returns 0, or -EINVAL (size 0, hva NULL, gpa + size,
 * uaddr + size or hva + size beyond 2^64 - 1), -EEXIST (overlaps a
 * region in guest-physical space; merely adjacent is fine), -ENOMEM.
 */
int virtq_gmem_add(struct virtq_gmem *gm, const struct virtq_gmem_region *r);

/* Remove the region that starts at @gpa with @size.  0 or -ENOENT. */
int virtq_gmem_remove(struct virtq_gmem *gm, uint64_t gpa, uint64_t size);

unsigned int virtq_gmem_count(const struct virtq_gmem *gm);
/* The i-th region in guest-address order, or NULL. */
const struct virtq_gmem_region *virtq_gmem_region(const struct virtq_gmem *gm,
						  unsigned int i);

/*
 * Host pointer for [gpa, gpa+len) if the whole range lies in one region,
 * else NULL.  len 0 is allowed (checks gpa only).
 */
void *virtq_gmem_ptr(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len);

/*
 * Map [gpa, gpa+len) to host iovecs, one per region it crosses, appended at
 * @iov (capacity @cap).  Returns the number of iovecs written, or -EFAULT
 * (some byte is outside guest memory, or the range overflows) or -ENOBUFS
 * (more than @cap iovecs needed).  len 0 writes nothing and returns 0.
 */
int virtq_gmem_iov(const struct virtq_gmem *gm, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned int cap);

/* Copy out of / into guest memory across regions.  0 or -EFAULT. */
int virtq_gmem_read(const struct virtq_gmem *gm, uint64_t gpa, void *buf,
		    size_t len);
int virtq_gmem_write(const struct virtq_gmem *gm, uint64_t gpa,
		     const void *buf, size_t len);

/*
 * vhost-user ring addresses are the frontend's virtual addresses: turn
 * [uaddr, uaddr+len) into a guest address if it lies in one region.
 * Regions added with uaddr 0 are never matched.  A linear search: meant
 * for ring setup, not the data path.  Returns 0 or -EFAULT.
 */
int virtq_gmem_uaddr_to_gpa(const struct virtq_gmem *gm, uint64_t uaddr,
			    uint64_t len, uint64_t *gpa);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_GMEM_H */
