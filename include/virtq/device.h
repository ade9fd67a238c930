/* SPDX-License-Identifier: MIT */
/*
 * device.h - the device side of a split virtqueue: walk the chains a
 * (possibly hostile) driver made available in guest memory, and return them
 * used.
 *
 * The driver is not trusted.  Every index, length, address and flag read
 * from guest memory is checked; each descriptor is read from shared memory
 * exactly once (copied, then checked, then used).  A malformed chain is
 * consumed and reported with its head and a specific error, so the queue
 * never stalls on it; a driver that breaks the protocol beyond one chain
 * latches the queue broken (-EIO from then on, until init / restore /
 * reclaim).
 *
 * No allocation and no syscalls on pop / push / flush / need_interrupt.
 * One queue is used by one thread at a time.
 *
 * Typical use (one thread per queue, woken by the kick eventfd):
 *
 *	struct iovec iov[64];
 *	struct virtq_chain c = { .iov = iov, .iov_cap = 64 };
 *	int r;
 *	do {
 *		virtq_device_disable_notify(vq);
 *		while ((r = virtq_device_pop(vq, &c)) != 0) {
 *			if (r == -EIO)
 *				goto broken;
 *			if (r < 0) {			// malformed, consumed
 *				if (c.head < virtq_device_size(vq))
 *					virtq_device_push(vq, c.head, 0);
 *				continue;
 *			}
 *			virtq_device_push(vq, c.head, serve(&c));
 *		}
 *		virtq_device_flush(vq);
 *		if (virtq_device_need_interrupt(vq))
 *			eventfd_write(callfd, 1);
 *	} while (!virtq_device_enable_notify(vq));
 */
#ifndef VIRTQ_DEVICE_H
#define VIRTQ_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

struct virtq_device;

struct virtq_device_config {
	uint32_t num;		/* queue size: power of two, 1..32768 */
	uint64_t features;	/* negotiated: VIRTQ_F_EVENT_IDX, _INDIRECT_DESC */
	uint64_t desc_addr;	/* guest addresses of the three areas */
	uint64_t avail_addr;
	uint64_t used_addr;
	const struct virtq_gmem *gmem;	/* must outlive the queue */
};

/*
 * A popped chain.  The caller sets iov / iov_cap; pop fills the rest:
 * iov[0 .. n_out) are device-readable, iov[n_out .. n_out + n_in) are
 * device-writable.  A buffer that spans guest memory regions takes several
 * iovecs.  Zero-length descriptors take none.
 */
struct virtq_chain {
	struct iovec *iov;
	uint32_t iov_cap;

	uint16_t head;		/* head index, also set for a malformed chain */
	uint16_t ndesc;		/* descriptors walked: the table's, the one
				 * pointing at an indirect table, and the
				 * indirect ones (saturates at 65535) */
	uint32_t n_out, n_in;	/* iovec counts */
	uint32_t out_len, in_len; /* byte totals */
	bool indirect;		/* the chain used an indirect table */
};

/* Bytes of caller memory for one queue (independent of its size). */
size_t virtq_device_mem_size(void);

/*
 * Validate the queue configuration and start using it.  @vq points at
 * virtq_device_mem_size() bytes, suitably aligned for any type.  A fresh
 * queue starts at avail 0 / used 0 and does not touch the rings; use
 * virtq_device_reclaim() after init to take over a running ring.
 *
 * Returns 0, or
 *   -EINVAL  num not a power of two in 1..32768, an area misaligned
 *            (desc 16, avail 2, used 4; in guest address, and in host
 *            address once mapped), vq, cfg or gmem NULL, mem_len too small;
 *   -EFAULT  an area (its event field included: used_event ends the avail
 *            area, avail_event the used area) is not wholly inside one
 *            guest memory region, or its address + size overflows.
 * On error the queue is left broken and unconfigured: every call returns
 * -EIO (or false), and virtq_device_reclaim() refuses it (-EIO) rather
 * than run on the previous configuration.  (Except vq NULL or mem_len too
 * small: then the memory is not touched at all.)
 */
int virtq_device_init(struct virtq_device *vq, size_t mem_len,
		      const struct virtq_device_config *cfg);

/*
 * Pop the next available chain into @c.
 *
 * Returns 1 (a valid chain is in @c), 0 (nothing available), or an error.
 * For every error below except -EIO the chain has been consumed (the avail
 * entry is used up) and c->head holds the head index the driver gave; if
 * that head is < num, the caller should push it back (len 0) so the driver
 * gets its descriptors back:
 *
 *   -ERANGE      the head or a next index is >= num (or >= the indirect
 *                table's length inside an indirect table);
 *   -ELOOP       the chain has more descriptors than the queue size (or the
 *                indirect table's length): a loop;
 *   -EOPNOTSUPP  an INDIRECT descriptor without VIRTQ_F_INDIRECT_DESC;
 *   -EBADMSG     an indirect table whose length is 0 or not a multiple of 16;
 *   -E2BIG       an indirect table with more than 32768 entries;
 *   -EMLINK      an INDIRECT descriptor inside an indirect table (nested);
 *   -EPROTO      a descriptor with both INDIRECT and NEXT;
 *   -EILSEQ      a device-readable descriptor after a device-writable one;
 *   -EOVERFLOW   the chain's total length is above 2^32 bytes (the spec's
 *                limit; exactly 2^32 is accepted), or its readable or its
 *                writable bytes alone total 2^32 (out_len / in_len are
 *                32-bit: that needs the other direction empty);
 *   -EFAULT      a buffer or indirect table is not wholly inside guest memory;
 *   -ENOBUFS     the chain needs more than c->iov_cap iovecs;
 *   -EIO         the queue is broken: avail->idx ran more than num entries
 *                ahead of the entries we have consumed, or a chain is
 *                available while num chains are already in flight (the
 *                driver re-offered heads it has not got back); latched,
 *                nothing is consumed and c->head is not set.  So the
 *                in-flight count never exceeds num.
 *
 * Zero-length descriptors are accepted and produce no iovec (the spec
 * does not forbid them); their address is not checked, but they still
 * count for -ELOOP and -EILSEQ.  An INDIRECT descriptor may end a chain
 * of direct ones (it cannot have NEXT); its WRITE flag is ignored.  When
 * a chain breaks several rules, the first one met walking it is reported.
 *
 * With EVENT_IDX and notifications enabled, pop stores avail_event = the
 * next index to consume whenever it finds its copy of the ring drained
 * (then fence F1 and re-read avail->idx), so a caller that sleeps after
 * pop returns 0 gets the next kick without calling enable_notify.
 */
int virtq_device_pop(struct virtq_device *vq, struct virtq_chain *c);

/*
 * Walk the chain at @head into @c as pop does, without consuming an avail
 * entry and without counting it in flight: for resubmitting a chain that
 * was popped before a restart (vhost-user inflight tracking) and is
 * already counted in flight by virtq_device_reclaim().
 *
 * Returns 1 (a valid chain is in @c), or the errors of virtq_device_pop
 * with the same meaning: -ERANGE (@head or a next index out of range),
 * -ELOOP, -EOPNOTSUPP, -EBADMSG, -E2BIG, -EMLINK, -EPROTO, -EILSEQ,
 * -EOVERFLOW, -EFAULT, -ENOBUFS, -EIO (the queue is broken; c->head not
 * set).  Except for -EIO, c->head is @head; push it back (len 0) on error.
 */
int virtq_device_walk(struct virtq_device *vq, uint16_t head,
		      struct virtq_chain *c);

/*
 * Write a used entry (head, len) into the next used slot.  Not visible to
 * the driver until virtq_device_flush().  Entries may be pushed in any order.
 *
 * Returns 0, or -EINVAL (head >= num), -EOVERFLOW (more entries pushed than
 * chains popped), -EIO (broken).
 */
int virtq_device_push(struct virtq_device *vq, uint16_t head, uint32_t len);

/*
 * Publish every pushed entry with one release store of used->idx.
 * Returns how many entries this published (0 if none), or -EIO.
 */
int virtq_device_flush(struct virtq_device *vq);

/*
 * After flush: must the driver be interrupted?  With EVENT_IDX: iff
 * used_event lies among the entries published since the previous call
 * (virtq_need_event(used_event, used_idx, used_idx at the previous call),
 * wrap-safe).  "Old" is the used index at the previous call, not at the
 * last interrupt actually sent, as Linux vhost and QEMU do: a driver
 * that re-arms used_event rechecks used->idx (fence F2), so a window that
 * did not contain its event needs no interrupt.  After init, restore or
 * reclaim the first call that finds anything published says yes; after
 * reclaim the first call says yes even with nothing new (the previous
 * server may have published entries and died before interrupting).
 * The window is counted, not taken as a u16 distance: after 2^16 or more
 * entries published since the previous call the answer is yes.
 * Without EVENT_IDX: iff something was published since the previous call
 * and VIRTQ_AVAIL_F_NO_INTERRUPT is clear (honoured on the first call
 * too).  A call that finds nothing new returns false and changes nothing.
 * Uses fence F2 (see atomic.h).  Returns false on a broken queue.
 */
bool virtq_device_need_interrupt(struct virtq_device *vq);

/*
 * Kick suppression.  disable asks the driver not to kick (NO_NOTIFY; with
 * EVENT_IDX avail_event is simply left behind).  enable asks for a kick on
 * the next available entry (avail_event = next index, or clear NO_NOTIFY),
 * then rechecks: returns true if nothing is available (safe to sleep until
 * the kick), false if entries arrived meanwhile (pop again).  Fence F1.
 */
void virtq_device_disable_notify(struct virtq_device *vq);
bool virtq_device_enable_notify(struct virtq_device *vq);

/* True if pop would return something (a chain or an error). */
bool virtq_device_has_avail(struct virtq_device *vq);

/*
 * Batches: the same work as pop and push + flush, many chains per call and
 * fewer instructions per chain (one broken check, one avail->idx read, one
 * used->idx store per batch).
 *
 * virtq_device_pop_batch pops up to @n chains into c[0..n), each with its
 * own iov / iov_cap set by the caller, with every check pop makes (each
 * descriptor read from shared memory once per call).  Like pop it reads
 * avail->idx only when the chains it saw last time are all taken (and
 * with EVENT_IDX then moves avail_event, fence F1), so it may return
 * fewer than are available.
 *
 * Returns k in 1..n (c[0..k) hold valid chains, consumed), 0 (nothing
 * available, or n == 0), or for c[0] one of pop's errors with pop's
 * meaning: -ERANGE, -ELOOP, -EOPNOTSUPP, -EBADMSG, -E2BIG, -EMLINK,
 * -EPROTO, -EILSEQ, -EOVERFLOW, -EFAULT, -ENOBUFS (the chain is consumed
 * and c[0].head set: push it back with len 0 if it is < num), or -EIO
 * (broken, nothing consumed).  A malformed chain that comes after valid
 * ones ends the batch unconsumed: the next call reports it in c[0].
 */
int virtq_device_pop_batch(struct virtq_device *vq, struct virtq_chain *c,
			   unsigned int n);

/*
 * Push @n used entries (heads[i], lens[i]) in that order, then publish
 * every pushed entry (these and any unflushed ones from push) with one
 * release store of used->idx, as flush does.  Nothing is written unless
 * all of them can be.
 *
 * Returns the number of entries published (0 when n == 0 and nothing
 * was pending), or -EINVAL (a head >= num), -EOVERFLOW (n above the
 * chains popped and not yet pushed), -EIO (broken); broken first, then
 * the heads, then the count, as push checks them.
 */
int virtq_device_push_batch(struct virtq_device *vq, const uint16_t *heads,
			    const uint32_t *lens, unsigned int n);

uint32_t virtq_device_size(const struct virtq_device *vq);
/* Next avail index to consume (vhost-user GET_VRING_BASE). */
uint16_t virtq_device_last_avail(const struct virtq_device *vq);
/* Next used index to fill (published or not). */
uint16_t virtq_device_next_used(const struct virtq_device *vq);
/* Chains popped and not yet pushed. */
uint32_t virtq_device_inflight(const struct virtq_device *vq);
bool virtq_device_is_broken(const struct virtq_device *vq);

/*
 * Take over a ring another process was serving (vhost-user SET_VRING_BASE
 * after a reconnect or a migration): the next avail index is @next_avail,
 * the next used index is read back from used->idx in guest memory, and the
 * interrupt bookkeeping is reset so the next need_interrupt() says yes,
 * whether or not anything was flushed since: no wakeup is lost.  The chains between used->idx and
 * @next_avail count as in flight (at most num), so they can be pushed.
 * Clears broken.  Returns 0, or -EIO (latched) if avail->idx is more than
 * num entries ahead of @next_avail, or used->idx more than num entries
 * behind it (no ring has more than num chains in flight: one of the two
 * indices is garbage; the in-flight count is then num), or the queue was never
 * initialised successfully (or the last init / restore failed: the
 * configuration is dropped then).
 */
int virtq_device_reclaim(struct virtq_device *vq, uint16_t next_avail);

/*
 * Dirty-page logging, for live migration (vhost-user VHOST_F_LOG_ALL):
 * while a log is set, every guest page the device side writes is marked
 * in @bitmap with an atomic OR, bit (n % 8) of byte n / 8 for guest page n
 * of VIRTQ_LOG_PAGE bytes:
 *   - push (and push_batch): the chain's device-writable buffers, up to the pushed length
 *     (the chain is walked again, as pop walked it; a chain the driver
 *     rewrote meanwhile is logged as far as it still walks; bytes written
 *     past the pushed length are not: a device that writes a status byte
 *     at the end of the chain pushes a length that reaches it);
 *   - flush (and push_batch): the used entries published and used->idx;
 *   - avail_event and used->flags are stored on the pop and notify path,
 *     which stays free of logging: instead, each call of this function
 *     while a log is set first marks the whole used area in that log, so
 *     a caller that turns logging off (or changes the log) when the queue
 *     stops, as the vhost-user backend does, has them covered;
 * the used-area writes at @used_log_gpa + their offset in the used area
 * (vhost's log_guest_addr; VIRTQ_DEVICE_NO_USED_LOG: not logged).  Pages
 * past @bitmap_len * 8 are not marked.  @bitmap NULL (or @bitmap_len 0)
 * turns logging off; so do init and restore (reclaim keeps the log).
 * Call it while the queue is not being served (from the thread that
 * serves it, or with that thread stopped).  Logging off costs one
 * predictable branch in push and one in flush.
 * Returns 0, or -EINVAL (vq NULL).
 */
#define VIRTQ_LOG_PAGE 4096u
#define VIRTQ_DEVICE_NO_USED_LOG UINT64_MAX
int virtq_device_set_log(struct virtq_device *vq, uint8_t *bitmap,
			 uint64_t bitmap_len, uint64_t used_log_gpa);

/*
 * Saved queue state: versioned, fixed little-endian layout, so it can be
 * written to a file and restored by another build or host.
 */
#define VIRTQ_DEVICE_STATE_MAGIC   0x51545256u	/* "VRTQ" as a le32 */
#define VIRTQ_DEVICE_STATE_VERSION 1u

struct virtq_device_state {
	uint32_t magic;		/* le: VIRTQ_DEVICE_STATE_MAGIC */
	uint32_t version;	/* le: VIRTQ_DEVICE_STATE_VERSION */
	uint32_t num;		/* le */
	uint32_t flags;		/* le: bit 0 broken, bit 1 signalled_used valid,
				 * bit 2 reclaimed and not signalled since */
	uint64_t features;	/* le */
	uint64_t desc_addr, avail_addr, used_addr; /* le */
	uint16_t last_avail;	/* le */
	uint16_t next_used;	/* le (== used->idx: the state is taken flushed) */
	uint16_t signalled_used; /* le */
	uint16_t pad;
	uint32_t inflight;	/* le */
	uint32_t pad2;
};
_Static_assert(sizeof(struct virtq_device_state) == 64, "device state is 64 bytes");

/*
 * Save the queue's state.  Unflushed pushes are flushed first.
 * Returns 0, or -EIO if broken (the broken flag is saved as well).
 */
int virtq_device_save(struct virtq_device *vq, struct virtq_device_state *st);

/*
 * Restore a saved state over @gmem: re-validates everything as init does
 * (and the magic, version, flags and indices) and checks used->idx in guest
 * memory against the saved next_used.  Returns 0, or -EINVAL (bad magic,
 * version, flags, non-zero padding, configuration, or an in-flight count
 * above num or above last_avail - next_used; vq, st or gmem NULL; mem_len
 * too small), -EFAULT (areas outside gmem), -EIO (guest memory disagrees
 * with the state).  On error the queue is left broken and unconfigured, as
 * after a failed init (the previous configuration is dropped; reclaim
 * refuses it; vq NULL or mem_len too small: not touched).  A state saved
 * broken restores broken.  The first need_interrupt() that finds
 * something published says yes, as after init (and one saved after a
 * reclaim, before need_interrupt was called, says yes at once, as the
 * reclaimed queue would have).
 */
int virtq_device_restore(struct virtq_device *vq, size_t mem_len,
			 const struct virtq_device_state *st,
			 const struct virtq_gmem *gmem);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DEVICE_H */
