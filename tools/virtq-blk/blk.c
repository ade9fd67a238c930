/* SPDX-License-Identifier: MIT */
/*
 * blk.c - virtio-blk device model over io_uring.
 *
 * Each running virtqueue has its own io_uring and a pool of request slots
 * (one per chain in flight).  The queue's thread pops chains, checks the
 * request, and either answers at once (GET_ID, malformed requests) or
 * submits the I/O and goes back to the ring: the disk never blocks the
 * queue.  Completions arrive through an eventfd registered with the ring
 * (queue_event).  When every slot is busy the queue stops popping and
 * leaves kicks disabled; completions restart it.
 *
 * Every request gets a status byte: the guest's chain is checked before
 * any byte of the image is touched (header length, status byte present,
 * data length a multiple of 512, range inside the disk, read-only, known
 * type and flags).  A chain that is malformed at the ring level (the device
 * side rejects it) is returned with length 0, since there is no status
 * byte we can trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtq/atomic.h"
#include "virtq/device.h"
#include "blk.h"

#define IOV_CAP		256	/* iovecs per chain: seg_max + header + status + region splits */
#define MAX_SLOTS	1024	/* requests in flight per queue */

struct blk_req;

/* One io_uring operation of a request (user_data points here). */
struct blk_op {
	struct blk_req *req;
	uint64_t off, len;	/* byte range (discard / write zeroes) */
};

struct blk_req {
	struct blk_req *next_free;
	uint16_t head;
	uint8_t type;
	uint8_t status;
	bool unmap;
	uint8_t *status_ptr;	/* the guest's status byte */
	uint32_t in_len;	/* device-writable bytes of the chain */
	uint32_t expect;	/* readv / writev result that means success */
	unsigned int pending;	/* operations not completed yet */
	struct iovec *iov;	/* IOV_CAP entries */
	struct blk_op ops[BLK_MAX_DWZ_SEG];
};

struct blk_queue {
	struct blk_disk *disk;
	struct virtq_vu_queue *q;
	struct virtq_device *vq;
	struct io_uring ring;
	int efd;
	/* The image's fds as the ring sees them: indices into its registered
	 * file table (sqe_flags IOSQE_FIXED_FILE: no fget / fput per I/O),
	 * or the plain fds if registering failed. */
	int rfd, rdfd;
	uint8_t sqe_flags;
	unsigned int nslots, busy;
	struct blk_req *slots, *free;
	struct iovec *iov_pool;
	unsigned int pushed;	/* since the last flush */
	bool broken;
	unsigned int logged;	/* per-request log lines so far */
};

/* ------------------------------------------------------------------ */

static void qlog(struct blk_queue *bq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void qlog(struct blk_queue *bq, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	/* A hostile guest must not flood the log. */
	if (bq->disk->quiet || bq->logged >= 100)
		return;
	if (++bq->logged == 100)
		fprintf(stderr, "virtq-blk: queue %u: further request errors not logged\n",
			virtq_vu_queue_index(bq->q));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "virtq-blk: queue %u: %s\n", virtq_vu_queue_index(bq->q), line);
}

/* Copy @len bytes at byte @off of an iovec list out into @buf. */
static bool iov_gather(const struct iovec *iov, unsigned int n, size_t off,
		       void *buf, size_t len)
{
	char *dst = buf;

	for (unsigned int i = 0; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - off;

		if (take > len)
			take = len;
		memcpy(dst, (char *)iov[i].iov_base + off, take);
		dst += take;
		len -= take;
		off = 0;
	}
	return len == 0;
}

/* Copy @buf into an iovec list; returns the bytes copied. */
static size_t iov_scatter(const struct iovec *iov, unsigned int n,
			  const void *buf, size_t len)
{
	const char *src = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len;

		if (take > len - done)
			take = len - done;
		memcpy(iov[i].iov_base, src + done, take);
		done += take;
	}
	return done;
}

/* Is [sector, sector + bytes/512) inside the disk? (overflow-safe) */
static bool in_range(const struct blk_disk *d, uint64_t sector, uint64_t bytes)
{
	uint64_t n = bytes / BLK_SECTOR, size = blk_disk_sectors(d);

	return sector <= size && n <= size - sector;
}

/* ------------------------------------------------------------------ */
/* Completion.                                                         */

static void complete(struct blk_queue *bq, struct blk_req *req)
{
	/*
	 * The used length is every device-writable byte, data and status,
	 * whatever the status and however much data was written (QEMU's
	 * virtio-blk does the same): the status byte is the chain's last
	 * byte, and the dirty log marks what the used length covers, so a
	 * shorter length would leave the status byte of a failed read or a
	 * short GET_ID unlogged in a migration.  Drivers read the status.
	 */
	uint32_t len = req->in_len;

	/* The status byte is the last byte the device writes; push + flush
	 * publish it (release of used->idx, P2).  Relaxed atomic: the byte
	 * is guest memory the guest may touch at any time, and a guest may
	 * reuse one buffer on two queues (two of our threads) with only its
	 * own ordering in between, which no tool in this process can see. */
	virtq_store_relaxed(req->status_ptr, req->status);
	if (virtq_vu_queue_push(bq->q, req->head, len) == 0)
		bq->pushed++;
	req->next_free = bq->free;
	bq->free = req;
	bq->busy--;
}

static void finish_batch(struct blk_queue *bq)
{
	if (!bq->pushed)
		return;
	bq->pushed = 0;
	virtq_device_flush(bq->vq);
	virtq_vu_queue_notify(bq->q);
}

/* Synchronous zeroing when the filesystem cannot deallocate (rare). */
static int write_zeroes_sync(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static void op_done(struct blk_queue *bq, struct blk_op *op, int res)
{
	struct blk_req *req = op->req;
	bool ok;

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		ok = res >= 0 && (uint32_t)res == req->expect;
		break;
	case VIRTIO_BLK_T_DISCARD:
		/* A hint: a filesystem without hole punching ignores it. */
		ok = res >= 0 || res == -EOPNOTSUPP;
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (res == -EOPNOTSUPP || res == -EINVAL) {
			/* No ZERO_RANGE / PUNCH_HOLE here: remember, zero by hand. */
			__atomic_store_n(&bq->disk->no_zero_range, true, __ATOMIC_RELAXED);
			res = write_zeroes_sync(bq->disk->fd, op->off, op->len);
		}
		ok = res >= 0;
		break;
	default:
		ok = res >= 0;
		break;
	}
	if (!ok) {
		req->status = VIRTIO_BLK_S_IOERR;
		qlog(bq, "request %u (type %u): I/O error (%s)", req->head, req->type,
		     res < 0 ? strerror(-res) : "short transfer");
	}
	if (--req->pending == 0)
		complete(bq, req);
}

static void reap(struct blk_queue *bq, bool wait)
{
	struct io_uring_cqe *cqe;

	for (;;) {
		int r = wait && bq->busy ? io_uring_wait_cqe(&bq->ring, &cqe) :
					   io_uring_peek_cqe(&bq->ring, &cqe);

		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		struct blk_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&bq->ring, cqe);
		op_done(bq, op, res);
		if (wait && !bq->busy)
			break;
	}
}

/* ------------------------------------------------------------------ */
/* Submission.                                                         */

static struct io_uring_sqe *get_sqe(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);

	while (!sqe) {
		/* SQ full: hand what we have to the kernel and retry. */
		io_uring_submit(&bq->ring);
		sqe = io_uring_get_sqe(&bq->ring);
	}
	return sqe;
}

/* O_DIRECT needs the offset and every buffer aligned; others stay buffered
 * (Linux keeps the page cache coherent with direct I/O on the same file). */
static bool direct_ok(const struct blk_disk *d, const struct iovec *iov,
		      unsigned int n, uint64_t off)
{
	uintptr_t addr = 0, len = (uintptr_t)off;

	for (unsigned int i = 0; i < n; i++) {
		addr |= (uintptr_t)iov[i].iov_base;
		len |= iov[i].iov_len;
	}
	return !(addr & (d->dio_mem_align - 1)) &&
	       !(len & (d->dio_off_align - 1));
}

static void submit_rw(struct blk_queue *bq, struct blk_req *req,
		      struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	req->ops[0].req = req;
	req->pending = 1;
	/*
	 * A memory-backed image (tmpfs, ramfs, hugetlbfs) never waits for a
	 * device, but io_uring cannot tell: those files lack nowait reads,
	 * so every request would go to a kernel worker thread and back (two
	 * context switches per I/O).  Copy here instead; the result goes
	 * through op_done like a completion.
	 */
	if (bq->disk->mem_backed) {
		ssize_t r = write ? pwritev(bq->disk->fd, iov, (int)n, (off_t)off) :
				    preadv(bq->disk->fd, iov, (int)n, (off_t)off);

		op_done(bq, &req->ops[0], r < 0 ? -errno : (int)r);
		return;
	}

	struct io_uring_sqe *sqe = get_sqe(bq);
	int fd = bq->rfd;

	if (bq->disk->dfd >= 0 && direct_ok(bq->disk, iov, n, off))
		fd = bq->rdfd;
	/* One buffer (a 4k request in one guest page, the common case):
	 * READ / WRITE, which the kernel runs on a single-buffer iterator,
	 * not READV / WRITEV's iovec array it must copy in and walk. */
	if (n == 1 && write)
		io_uring_prep_write(sqe, fd, iov[0].iov_base, (unsigned int)iov[0].iov_len, off);
	else if (n == 1)
		io_uring_prep_read(sqe, fd, iov[0].iov_base, (unsigned int)iov[0].iov_len, off);
	else if (write)
		io_uring_prep_writev(sqe, fd, iov, n, off);
	else
		io_uring_prep_readv(sqe, fd, iov, n, off);
	io_uring_sqe_set_flags(sqe, bq->sqe_flags);
	io_uring_sqe_set_data(sqe, &req->ops[0]);
}

/* Read / write: data iovecs start @skip bytes into iov[0..n). */
static uint8_t start_rw(struct blk_queue *bq, struct blk_req *req,
			struct iovec *iov, unsigned int n, size_t skip,
			uint64_t len, uint64_t sector, bool write)
{
	if (len % BLK_SECTOR) {
		qlog(bq, "request %u: %llu data bytes is not a multiple of 512",
		     req->head, (unsigned long long)len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!in_range(bq->disk, sector, len)) {
		qlog(bq, "request %u: sectors %llu+%llu are past the end of the disk (%llu)",
		     req->head, (unsigned long long)sector,
		     (unsigned long long)(len / BLK_SECTOR),
		     (unsigned long long)blk_disk_sectors(bq->disk));
		return VIRTIO_BLK_S_IOERR;
	}
	if (!len)
		return VIRTIO_BLK_S_OK;
	/* Drop the @skip header bytes from the front of the list. */
	while (n && skip >= iov->iov_len) {
		skip -= iov->iov_len;
		iov++;
		n--;
	}
	if (n && skip) {
		iov->iov_base = (char *)iov->iov_base + skip;
		iov->iov_len -= skip;
	}
	req->expect = (uint32_t)len;
	submit_rw(bq, req, iov, n, sector * BLK_SECTOR, write);
	return 0xff;	/* in flight */
}

struct dwz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

static uint8_t start_dwz(struct blk_queue *bq, struct blk_req *req,
			 const struct virtq_chain *c)
{
	uint32_t bytes = c->out_len - 16;
	struct dwz_seg seg[BLK_MAX_DWZ_SEG];
	unsigned int nseg = bytes / 16;
	bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;

	if (bq->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (bytes % 16 || nseg == 0 || nseg > BLK_MAX_DWZ_SEG) {
		qlog(bq, "request %u: %u bytes of segments (need 1..%u of 16 bytes)",
		     req->head, bytes, BLK_MAX_DWZ_SEG);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!iov_gather(c->iov, c->n_out, 16, seg, bytes))
		return VIRTIO_BLK_S_IOERR;
	/* Check every segment before touching the image. */
	for (unsigned int i = 0; i < nseg; i++) {
		uint64_t sector = virtq_le64_to_cpu(seg[i].sector);
		uint32_t num = virtq_le32_to_cpu(seg[i].num_sectors);
		uint32_t flags = virtq_le32_to_cpu(seg[i].flags);

		if (flags & ~VIRTIO_BLK_WZ_F_UNMAP || (!wz && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > BLK_MAX_DWZ_SECTORS ||
		    !in_range(bq->disk, sector, (uint64_t)num * BLK_SECTOR)) {
			qlog(bq, "request %u: segment %llu+%u outside the disk or too long",
			     req->head, (unsigned long long)sector, num);
			return VIRTIO_BLK_S_IOERR;
		}
		req->ops[i] = (struct blk_op){ .req = req,
					       .off = sector * BLK_SECTOR,
					       .len = (uint64_t)num * BLK_SECTOR };
		if (flags & VIRTIO_BLK_WZ_F_UNMAP)
			req->unmap = true;
	}
	req->pending = 0;
	for (unsigned int i = 0; i < nseg; i++) {
		struct blk_op *op = &req->ops[i];
		int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		struct io_uring_sqe *sqe;

		if (!op->len)
			continue;
		/* Write zeroes without UNMAP keeps the blocks allocated;
		 * with UNMAP (or discard) a hole reads back as zeroes. */
		if (wz && !(virtq_le32_to_cpu(seg[i].flags) & VIRTIO_BLK_WZ_F_UNMAP) &&
		    !__atomic_load_n(&bq->disk->no_zero_range, __ATOMIC_RELAXED))
			mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		sqe = get_sqe(bq);
		io_uring_prep_fallocate(sqe, bq->rfd, mode, op->off, op->len);
		io_uring_sqe_set_flags(sqe, bq->sqe_flags);
		io_uring_sqe_set_data(sqe, op);
		req->pending++;
	}
	return req->pending ? 0xff : VIRTIO_BLK_S_OK;
}

static uint8_t start_flush(struct blk_queue *bq, struct blk_req *req)
{
	struct io_uring_sqe *sqe = get_sqe(bq);

	io_uring_prep_fsync(sqe, bq->rfd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, bq->sqe_flags);
	req->ops[0].req = req;
	io_uring_sqe_set_data(sqe, &req->ops[0]);
	req->pending = 1;
	return 0xff;
}

/*
 * Check a popped chain and start it.  Returns a status to complete with
 * now, or 0xff if I/O was submitted.
 */
static uint8_t start(struct blk_queue *bq, struct blk_req *req,
		     const struct virtq_chain *c, unsigned int n_in_data,
		     uint64_t in_data)
{
	struct iovec *in = c->iov + c->n_out;
	struct {
		uint32_t type;
		uint32_t ioprio;
		uint64_t sector;
	} hdr;
	uint64_t sector;

	if (c->out_len < sizeof(hdr)) {
		qlog(bq, "request %u: header is %u bytes, needs 16", req->head,
		     c->out_len);
		return VIRTIO_BLK_S_IOERR;
	}
	iov_gather(c->iov, c->n_out, 0, &hdr, sizeof(hdr));
	req->type = (uint8_t)virtq_le32_to_cpu(hdr.type);
	sector = virtq_le64_to_cpu(hdr.sector);
	if (virtq_le32_to_cpu(hdr.type) > 0xff)
		req->type = 0xff;

	switch (virtq_le32_to_cpu(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		if (c->out_len != sizeof(hdr))
			return VIRTIO_BLK_S_IOERR;
		return start_rw(bq, req, in, n_in_data, 0, in_data, sector, false);
	case VIRTIO_BLK_T_OUT:
		if (bq->disk->read_only) {
			qlog(bq, "request %u: write to a read-only disk", req->head);
			return VIRTIO_BLK_S_IOERR;
		}
		return start_rw(bq, req, c->iov, c->n_out, sizeof(hdr),
				c->out_len - sizeof(hdr), sector, true);
	case VIRTIO_BLK_T_FLUSH:
		return start_flush(bq, req);
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES];

		memcpy(id, bq->disk->serial, sizeof(id));
		(void)iov_scatter(in, n_in_data, id,
			in_data < sizeof(id) ? (size_t)in_data : sizeof(id));
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return start_dwz(bq, req, c);
	default:
		qlog(bq, "request %u: unsupported type %u", req->head,
		     virtq_le32_to_cpu(hdr.type));
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Handle one valid chain in @req (its iovecs are in req->iov). */
static void serve(struct blk_queue *bq, struct blk_req *req,
		  const struct virtq_chain *c)
{
	struct iovec *last;
	unsigned int n_in = c->n_in;
	uint8_t st;

	req->head = c->head;
	req->status = VIRTIO_BLK_S_OK;
	req->unmap = false;
	req->pending = 0;
	bq->busy++;
	if (c->in_len < 1 || !n_in) {
		/* Nowhere to put a status: give the chain back empty. */
		qlog(bq, "request %u: no device-writable status byte", c->head);
		if (virtq_vu_queue_push(bq->q, c->head, 0) == 0)
			bq->pushed++;
		req->next_free = bq->free;
		bq->free = req;
		bq->busy--;
		return;
	}
	/* The status is the chain's last byte; the data ends before it. */
	req->in_len = c->in_len;
	last = &c->iov[c->n_out + n_in - 1];
	req->status_ptr = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (--last->iov_len == 0)
		n_in--;
	st = start(bq, req, c, n_in, c->in_len - 1);
	if (st != 0xff) {
		req->status = st;
		complete(bq, req);
	}
}

static void process(struct blk_queue *bq)
{
	if (bq->broken)
		return;
	for (;;) {
		virtq_device_disable_notify(bq->vq);
		while (bq->free) {
			struct blk_req *req = bq->free;
			struct virtq_chain c = { .iov = req->iov, .iov_cap = IOV_CAP };
			int r = virtq_vu_queue_pop(bq->q, &c);

			if (r == 0)
				break;
			if (r == -EIO) {
				bq->broken = true;
				fprintf(stderr, "virtq-blk: queue %u: the guest broke the ring; queue stopped\n",
					virtq_vu_queue_index(bq->q));
				virtq_vu_queue_error(bq->q);
				break;
			}
			if (r < 0) {
				qlog(bq, "chain %u rejected (%s)", c.head, strerror(-r));
				if (c.head < virtq_device_size(bq->vq) &&
				    virtq_vu_queue_push(bq->q, c.head, 0) == 0)
					bq->pushed++;
				continue;
			}
			bq->free = req->next_free;
			serve(bq, req, &c);
		}
		io_uring_submit(&bq->ring);
		finish_batch(bq);
		/* No free slot: completions will call us again (kicks stay
		 * off meanwhile). */
		if (!bq->free || bq->broken)
			return;
		if (virtq_device_enable_notify(bq->vq))
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Backend ops.                                                        */

static void bq_free(struct blk_queue *bq)
{
	free(bq->slots);
	free(bq->iov_pool);
	free(bq);
}

/*
 * The ring, with what this kernel takes of: COOP_TASKRUN (a completion
 * does not interrupt the queue's thread with an IPI; its task work runs
 * when the thread next enters the kernel: poll, or the io_uring_enter
 * of the next submit) and TASKRUN_FLAG (liburing sees pending task work
 * in the SQ flags and collects it when it peeks).  Linux 5.19+; older
 * kernels refuse unknown flags with EINVAL: plain setup then.
 *
 * Not SINGLE_ISSUER or DEFER_TASKRUN: they bind the ring to one thread,
 * and the library's runner replaces a queue's thread with requests in
 * flight (pause / resume around ADD_MEM_REG, REM_MEM_REG, SET_LOG_BASE),
 * and queue_stop runs on the control thread, which must reap.
 */
static int ring_init(struct blk_queue *bq, unsigned int entries,
		     unsigned int cq_entries)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN |
			 IORING_SETUP_TASKRUN_FLAG,
		.cq_entries = cq_entries,
	};
	int r = io_uring_queue_init_params(entries, &bq->ring, &p);

	if (r == -EINVAL) {
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE,
					      .cq_entries = cq_entries };
		r = io_uring_queue_init_params(entries, &bq->ring, &p);
	}
	if (r < 0)
		return r;
	/*
	 * Registered files: the image (and its O_DIRECT twin) at indices 0
	 * and 1.  Optional: without them (old kernel, RLIMIT_NOFILE) the
	 * plain fds serve.
	 */
	int fds[2] = { bq->disk->fd, bq->disk->dfd };

	bq->rfd = bq->disk->fd;
	bq->rdfd = bq->disk->dfd;
	bq->sqe_flags = 0;
	if (io_uring_register_files(&bq->ring, fds, bq->disk->dfd >= 0 ? 2 : 1) == 0) {
		bq->rfd = 0;
		bq->rdfd = bq->disk->dfd >= 0 ? 1 : -1;
		bq->sqe_flags = IOSQE_FIXED_FILE;
	}
	return 0;
}

static int blk_queue_start(void *opaque, struct virtq_vu_queue *q)
{
	struct blk_disk *disk = opaque;
	struct blk_queue *bq = calloc(1, sizeof(*bq));
	unsigned int n;
	int r;

	if (!bq)
		return -ENOMEM;
	bq->disk = disk;
	bq->q = q;
	bq->vq = virtq_vu_queue_device(q);
	n = virtq_device_size(bq->vq);
	n = n > MAX_SLOTS ? MAX_SLOTS : n < 8 ? 8 : n;
	bq->nslots = n;
	bq->slots = calloc(n, sizeof(*bq->slots));
	bq->iov_pool = calloc((size_t)n * IOV_CAP, sizeof(struct iovec));
	if (!bq->slots || !bq->iov_pool) {
		bq_free(bq);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		bq->slots[i].iov = bq->iov_pool + (size_t)i * IOV_CAP;
		bq->slots[i].next_free = i + 1 < n ? &bq->slots[i + 1] : NULL;
	}
	bq->free = &bq->slots[0];
	/* Every slot may have BLK_MAX_DWZ_SEG operations out at once. */
	r = ring_init(bq, n, n * BLK_MAX_DWZ_SEG);
	if (r < 0) {
		bq_free(bq);
		return r;
	}
	bq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bq->efd < 0 || (r = io_uring_register_eventfd(&bq->ring, bq->efd)) < 0) {
		r = bq->efd < 0 ? -errno : r;
		if (bq->efd >= 0)
			close(bq->efd);
		io_uring_queue_exit(&bq->ring);
		bq_free(bq);
		return r;
	}
	virtq_vu_queue_set_data(q, bq);
	virtq_vu_queue_set_event_fd(q, bq->efd);
	return 0;
}

static void blk_queue_stop(void *opaque, struct virtq_vu_queue *q)
{
	struct blk_queue *bq = virtq_vu_queue_data(q);

	(void)opaque;
	if (!bq)
		return;
	/* Nothing may stay in flight: wait for the disk, publish, signal. */
	io_uring_submit(&bq->ring);
	reap(bq, true);
	finish_batch(bq);
	io_uring_queue_exit(&bq->ring);
	close(bq->efd);
	bq_free(bq);
	virtq_vu_queue_set_data(q, NULL);
}

static void blk_queue_kick(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	process(virtq_vu_queue_data(q));
}

static void blk_queue_event(void *opaque, struct virtq_vu_queue *q)
{
	struct blk_queue *bq = virtq_vu_queue_data(q);
	eventfd_t v;

	(void)opaque;
	(void)eventfd_read(bq->efd, &v);
	reap(bq, false);
	finish_batch(bq);
	process(bq);
}

const struct virtq_vu_backend_ops blk_ops = {
	.queue_start = blk_queue_start,
	.queue_stop = blk_queue_stop,
	.queue_kick = blk_queue_kick,
	.queue_event = blk_queue_event,
	/* writeback is not offered (no CONFIG_WCE): every field is read-only */
	.set_config = NULL,
};

/* ------------------------------------------------------------------ */
/* Disk and config.                                                    */

/* Is @fd on a filesystem whose reads and writes never wait for a device? */
static bool is_mem_backed(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC ||
	       sf.f_type == HUGETLBFS_MAGIC;
}

int blk_disk_open(struct blk_disk *d, const char *path, bool ro,
		  const char *serial, char *err, size_t errlen)
{
	struct stat st;
	uint64_t bytes;
	int r;

	memset(d, 0, sizeof(*d));
	d->dfd = -1;
	d->read_only = ro;
	if (serial && strlen(serial) > VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "--serial '%s' is longer than %u bytes", serial,
			 VIRTIO_BLK_ID_BYTES);
		return -EINVAL;
	}
	if (serial)
		memcpy(d->serial, serial, strlen(serial));
	d->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open image '%s': %s%s", path,
			 strerror(errno), errno == EACCES || errno == EROFS ?
			 " (use --read-only?)" : "");
		return r;
	}
	if (fstat(d->fd, &st) < 0)
		goto errno_err;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &bytes) < 0)
			goto errno_err;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		snprintf(err, errlen, "image '%s' is not a regular file or block device",
			 path);
		close(d->fd);
		return -EINVAL;
	}
	d->sectors = bytes / BLK_SECTOR;
	d->mem_backed = is_mem_backed(d->fd);
	if (!d->sectors) {
		snprintf(err, errlen, "image '%s' is smaller than one 512-byte sector (create it with truncate -s 64M %s)",
			 path, path);
		close(d->fd);
		return -EINVAL;
	}
	return 0;
errno_err:
	r = -errno;
	snprintf(err, errlen, "image '%s': %s", path, strerror(errno));
	close(d->fd);
	return r;
}

int blk_disk_open_direct(struct blk_disk *d, const char *path, char *err,
			 size_t errlen)
{
	int r;

	d->dfd = open(path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		      O_DIRECT);
	if (d->dfd < 0) {
		r = -errno;
		snprintf(err, errlen, "--direct: cannot open image '%s' with O_DIRECT: %s%s",
			 path, strerror(errno), errno == EINVAL ?
			 " (its filesystem has no O_DIRECT)" : "");
		return r;
	}
	/* What O_DIRECT needs here; 4096 (enough everywhere) if the kernel
	 * does not say, or says nonsense. */
	struct statx sx;

	d->dio_mem_align = d->dio_off_align = 4096;
	if (statx(d->dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) &&
	    sx.stx_dio_mem_align && sx.stx_dio_offset_align &&
	    !(sx.stx_dio_mem_align & (sx.stx_dio_mem_align - 1)) &&
	    !(sx.stx_dio_offset_align & (sx.stx_dio_offset_align - 1)) &&
	    sx.stx_dio_mem_align <= 4096 && sx.stx_dio_offset_align <= 4096) {
		d->dio_mem_align = sx.stx_dio_mem_align;
		d->dio_off_align = sx.stx_dio_offset_align;
	}
	/* On tmpfs (which takes O_DIRECT since Linux 6.6) requests stay on
	 * the inline path: there is no page cache to bypass. */
	return 0;
}

uint64_t blk_disk_sectors(const struct blk_disk *d)
{
	/* Queue threads read it while blk_disk_resize() may store it. */
	return __atomic_load_n(&d->sectors, __ATOMIC_RELAXED);
}

int blk_disk_resize(struct blk_disk *d, uint64_t *old, uint64_t *now)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(d->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
	} else {
		bytes = (uint64_t)st.st_size;
	}
	*old = blk_disk_sectors(d);
	*now = bytes / BLK_SECTOR;
	if (!*now)
		return -EINVAL;	/* keep serving the old size */
	__atomic_store_n(&d->sectors, *now, __ATOMIC_RELAXED);
	return *now != *old;
}

void blk_disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->dfd >= 0)
		close(d->dfd);
	d->dfd = -1;
}

uint64_t blk_features(const struct blk_disk *d)
{
	uint64_t f = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
		     VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
		     VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_SIZE_MAX) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_SEG_MAX) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_FLUSH) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_MQ) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_DISCARD) |
		     VIRTQ_FEATURE(VIRTIO_BLK_F_WRITE_ZEROES);

	if (d->read_only)
		f |= VIRTQ_FEATURE(VIRTIO_BLK_F_RO);
	return f;
}

static void put16(uint8_t *p, uint16_t v)
{
	v = virtq_cpu_to_le16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = virtq_cpu_to_le32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = virtq_cpu_to_le64(v);
	memcpy(p, &v, 8);
}

void blk_config(const struct blk_disk *d, unsigned int num_queues,
		uint8_t cfg[BLK_CONFIG_LEN])
{
	memset(cfg, 0, BLK_CONFIG_LEN);
	put64(cfg + BLK_CFG_CAPACITY, blk_disk_sectors(d));
	put32(cfg + BLK_CFG_SIZE_MAX, BLK_SIZE_MAX);
	put32(cfg + BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	put32(cfg + BLK_CFG_BLK_SIZE, BLK_SECTOR);
	put16(cfg + BLK_CFG_NUM_QUEUES, (uint16_t)num_queues);
	put32(cfg + BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DWZ_SECTORS);
	put32(cfg + BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_DWZ_SEG);
	put32(cfg + BLK_CFG_DISCARD_ALIGN, 8);	/* 4 KiB granularity */
	put32(cfg + BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_DWZ_SECTORS);
	put32(cfg + BLK_CFG_MAX_WZ_SEG, BLK_MAX_DWZ_SEG);
	cfg[BLK_CFG_WZ_MAY_UNMAP] = 1;
}
