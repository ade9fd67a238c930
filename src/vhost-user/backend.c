/* SPDX-License-Identifier: MIT */
/*
 * backend.c - vhost-user backend: the connection, feature negotiation, the
 * memory table, ring setup and the per-request validation.
 *
 * One handler per request.  A handler returns 0 (done; a REPLY_ACK is sent
 * when asked), REPLIED (it sent its own reply), or -errno after logging
 * why the message is bad: the connection is then torn down.  Every fd that
 * came with a message is closed by dispatch unless a handler took it (set
 * its slot to -1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtq/atomic.h"
#include "virtq/gmem.h"
#include "vhost-user/backend_internal.h"

#define REPLIED 1
#define REFUSED 2	/* done, but the REPLY_ACK says it failed */
/* A message whose first byte arrived must be complete within this. */
#define MSG_TIMEOUT_MS 5000

static const uint64_t proto_offered =
	(1ull << VU_PROTOCOL_F_MQ) |
	(1ull << VU_PROTOCOL_F_LOG_SHMFD) |
	(1ull << VU_PROTOCOL_F_REPLY_ACK) |
	(1ull << VU_PROTOCOL_F_BACKEND_REQ) |
	(1ull << VU_PROTOCOL_F_BACKEND_SEND_FD) |
	(1ull << VU_PROTOCOL_F_CONFIG) |
	(1ull << VU_PROTOCOL_F_INFLIGHT_SHMFD) |
	(1ull << VU_PROTOCOL_F_RESET_DEVICE) |
	(1ull << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	(1ull << VU_PROTOCOL_F_STATUS);

/* Ring features the device side understands; the rest are the model's. */
static const uint64_t ring_features =
	VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);

/*
 * Bits 24..49 belong to the rings and the transport (VIRTIO 1.x, 6
 * "Reserved Feature Bits"): of those an application may offer only what
 * this library implements.  ORDER_PLATFORM asks for nothing more than the
 * ordering the device side always uses.
 */
#define TRANSPORT_FEATURES	(((1ull << 50) - 1) & ~((1ull << 24) - 1))
static const uint64_t transport_implemented =
	VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
	VIRTQ_FEATURE(VIRTQ_VU_F_PROTOCOL_FEATURES) |
	VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | VIRTQ_FEATURE(VIRTQ_F_ORDER_PLATFORM) |
	VIRTQ_FEATURE(VU_F_LOG_ALL);

void __virtq_vu_log(struct virtq_vu_backend *be, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (be->ops->log)
		be->ops->log(be->opaque, line);
	else
		fprintf(stderr, "virtq-vu: %s\n", line);
}

/* Log a bad message (one line: request, fault) and fail the connection. */
__attribute__((format(printf, 3, 4)))
static int bad(struct virtq_vu_backend *be, const struct vu_msg *m,
	       const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	__virtq_vu_log(be, "%s: %s; closing the connection",
		       __virtq_vu_request_name(m->hdr.request), why);
	return -EPROTO;
}

/*
 * A well-formed request the backend will not carry out (a value out of
 * range, a region it does not have, memory it cannot map).  With an ack
 * asked for (REPLY_ACK negotiated, NEED_REPLY set) the frontend learns it
 * from a non-zero ack and the connection stays up, with nothing changed.
 * Without one it would go on as if the request had worked, so the
 * connection is closed as for a broken stream.
 */
__attribute__((format(printf, 3, 4)))
static int refuse(struct virtq_vu_backend *be, const struct vu_msg *m,
		  const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (be->ack_wanted) {
		__virtq_vu_log(be, "%s: %s; refused (failure acknowledged)",
			       __virtq_vu_request_name(m->hdr.request), why);
		return REFUSED;
	}
	__virtq_vu_log(be, "%s: %s; no reply asked for, closing the connection",
		       __virtq_vu_request_name(m->hdr.request), why);
	return -EPROTO;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Take fd slot @i of @m (the message no longer closes it). */
static int take_fd(struct vu_msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

/* ------------------------------------------------------------------ */
/* Rings: start, stop, and the rule that says when a ring runs.        */

static bool should_run(const struct virtq_vu_backend *be,
		       const struct virtq_vu_queue *q)
{
	bool enabled = q->enabled ||
		       !(be->acked & VIRTQ_FEATURE(VIRTQ_VU_F_PROTOCOL_FEATURES));

	/* kicked: SET_VRING_KICK came, with an fd or asking for polling. */
	return q->kicked && q->num && q->has_addr && be->gm && enabled;
}

/*
 * Trace (VIRTQ_VU_TRACE): where a ring stands when it starts or stops,
 * as the guest memory says and as the device side counts, with a hash of
 * each ring area: a ring handed over (migration, reconnect) must look the
 * same to the next backend as it did to the last one.
 */
static uint32_t area_hash(const struct virtq_vu_backend *be, uint64_t ua,
			  size_t len)
{
	uint64_t gpa;
	const uint8_t *p;
	uint32_t h = 2166136261u;

	if (virtq_gmem_uaddr_to_gpa(be->gm, ua, len, &gpa) ||
	    !(p = virtq_gmem_ptr(be->gm, gpa, len)))
		return 0;
	for (size_t i = 0; i < len; i++)
		h = (h ^ virtq_load_relaxed(&p[i])) * 16777619u;
	return h;
}

static void ring_trace(struct virtq_vu_backend *be, struct virtq_vu_queue *q,
		       const char *what)
{
	uint64_t gpa;
	const uint16_t *avail = NULL, *used = NULL;

	if (!be->trace || !be->gm || !q->num)
		return;
	if (!virtq_gmem_uaddr_to_gpa(be->gm, q->avail_ua, 4, &gpa))
		avail = virtq_gmem_ptr(be->gm, gpa, 4);
	if (!virtq_gmem_uaddr_to_gpa(be->gm, q->used_ua, 4, &gpa))
		used = virtq_gmem_ptr(be->gm, gpa, 4);
	__virtq_vu_log(be, "trace: queue %u %s: avail->idx %u used->idx %u, next avail %u next used %u in flight %u; hash desc %08x avail %08x used %08x",
		       q->index, what,
		       avail ? virtq_le16_to_cpu(virtq_load_relaxed(&avail[1])) : 0,
		       used ? virtq_le16_to_cpu(virtq_load_relaxed(&used[1])) : 0,
		       virtq_device_last_avail(q->dev), virtq_device_next_used(q->dev),
		       virtq_device_inflight(q->dev),
		       area_hash(be, q->desc_ua, virtq_desc_size(q->num)),
		       area_hash(be, q->avail_ua, virtq_avail_size(q->num)),
		       area_hash(be, q->used_ua, virtq_used_size(q->num)));
}

static void queue_stop(struct virtq_vu_backend *be, struct virtq_vu_queue *q)
{
	if (!q->running)
		return;
	if (q->has_thread)
		__virtq_vu_queue_thread_stop(q);
	if (be->ops->queue_stop)
		be->ops->queue_stop(be->opaque, q);
	ring_trace(be, q, "stopped");
	/* Logging off marks the whole used area (avail_event, flags):
	 * QEMU syncs the log after GET_VRING_BASE. */
	(void)virtq_device_set_log(q->dev, NULL, 0, VIRTQ_DEVICE_NO_USED_LOG);
	__virtq_vu_inflight_stop(q);
	q->base = virtq_device_last_avail(q->dev);
	q->running = false;
	q->paused = false;
	q->start_signal = false;
	q->data = NULL;
	q->event_fd = -1;
}

static void stop_all(struct virtq_vu_backend *be)
{
	for (uint32_t i = 0; i < be->num_queues; i++)
		queue_stop(be, &be->q[i]);
}

/*
 * Dirty logging for a ring: on while LOG_ALL is acked and a log is
 * mapped; used-ring writes logged where SET_VRING_ADDR's log flag said.
 * Only on a ring nobody serves right now (starting, or its thread paused).
 */
static void apply_log(struct virtq_vu_backend *be, struct virtq_vu_queue *q)
{
	bool on = be->log && (be->acked & VIRTQ_FEATURE(VU_F_LOG_ALL));

	(void)virtq_device_set_log(q->dev, on ? be->log : NULL, be->log_len,
				   q->log_used ? q->log_gpa : VIRTQ_DEVICE_NO_USED_LOG);
}

/* The once-per-start interrupt (queue_start), when there is a call fd. */
static void start_signal(struct virtq_vu_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->start_signal && q->call_fd >= 0) {
		(void)eventfd_write(q->call_fd, 1);
		q->start_signal = false;
	}
	pthread_mutex_unlock(&q->lock);
}

/*
 * Own event loop: chains made available while the ring was stopped had
 * their kick go to the old kick fd (or none).  Make the ring look at
 * once: count one kick on its kick eventfd, which the application's loop
 * watches; a kick fd that cannot be written (a pipe's read end) or none
 * (polling) gets queue_kick called here instead, when set.
 */
static void own_loop_look(struct virtq_vu_backend *be, struct virtq_vu_queue *q)
{
	if (q->kick_fd >= 0 && eventfd_write(q->kick_fd, 1) == 0)
		return;
	if (be->ops->queue_kick)
		be->ops->queue_kick(be->opaque, q);
}

static int queue_start(struct virtq_vu_backend *be, struct virtq_vu_queue *q)
{
	struct virtq_device_config cfg = {
		.num = q->num,
		.features = be->acked & ring_features,
		.gmem = be->gm,
	};
	int r;

	if (virtq_gmem_uaddr_to_gpa(be->gm, q->desc_ua, virtq_desc_size(q->num),
				    &cfg.desc_addr) ||
	    virtq_gmem_uaddr_to_gpa(be->gm, q->avail_ua, virtq_avail_size(q->num),
				    &cfg.avail_addr) ||
	    virtq_gmem_uaddr_to_gpa(be->gm, q->used_ua, virtq_used_size(q->num),
				    &cfg.used_addr)) {
		/*
		 * Not fatal: a frontend replacing the region that holds the
		 * rings sends REM_MEM_REG before the ADD_MEM_REG.  The ring
		 * starts once a memory table holds it.
		 */
		if (!q->waiting)
			__virtq_vu_log(be, "queue %u: ring areas (size %u) are not inside the memory table; the ring waits for one that holds them",
				       q->index, q->num);
		q->waiting = true;
		return 0;
	}
	r = virtq_device_init(q->dev, virtq_device_mem_size(), &cfg);
	if (r < 0) {
		__virtq_vu_log(be, "queue %u: ring rejected (%s); closing the connection",
			       q->index, strerror(-r));
		return r;
	}
	/* A guest that ran the avail index far ahead only breaks its queue. */
	r = __virtq_vu_inflight_start(q);
	if (r < 0)
		return r;
	apply_log(be, q);
	if (virtq_device_is_broken(q->dev))
		__virtq_vu_log(be, "queue %u: guest says avail->idx is more than %u entries past %u; queue broken",
			       q->index, q->num, q->base);
	q->waiting = false;
	q->features = be->acked;
	q->event_fd = -1;
	q->data = NULL;
	q->running = true;
	if (be->ops->queue_start) {
		r = be->ops->queue_start(be->opaque, q);
		if (r < 0) {
			q->running = false;
			__virtq_vu_inflight_stop(q);	/* the resubmission list */
			__virtq_vu_log(be, "queue %u: the device could not start it (%s); closing the connection",
				       q->index, strerror(-r));
			return r;
		}
	}
	if (be->runner) {
		r = __virtq_vu_queue_thread_start(q);
		if (r < 0) {
			if (be->ops->queue_stop)
				be->ops->queue_stop(be->opaque, q);
			q->running = false;
			__virtq_vu_inflight_stop(q);
			__virtq_vu_log(be, "queue %u: no thread (%s); closing the connection",
				       q->index, strerror(-r));
			return r;
		}
	} else {
		own_loop_look(be, q);
	}
	/*
	 * The ring was taken over (used->idx read back): the previous
	 * server may have published completions and died before signalling
	 * them.  One interrupt, spurious at worst, announces them (as
	 * crosvm's vhost_user_reclaim reasons); sent when a call fd is there.
	 */
	q->start_signal = true;
	start_signal(q);
	ring_trace(be, q, "started");
	return 0;
}

/* Start every ring that now qualifies. */
static int reconcile(struct virtq_vu_backend *be)
{
	for (uint32_t i = 0; i < be->num_queues; i++) {
		struct virtq_vu_queue *q = &be->q[i];

		if (!q->running && should_run(be, q)) {
			int r = queue_start(be, q);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void queue_reset(struct virtq_vu_queue *q)
{
	q->num = 0;
	q->has_addr = false;
	q->log_used = false;
	q->base = 0;
	q->kicked = false;
	q->enabled = false;
	q->waiting = false;
	close_fd(&q->kick_fd);
	pthread_mutex_lock(&q->lock);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	pthread_mutex_unlock(&q->lock);
}

/* ------------------------------------------------------------------ */
/* Memory table.                                                       */

static void unmap_one(struct vu_map *mp)
{
	__virtq_vu_fault_unregister(mp->fault_slot);
	munmap(mp->base, mp->len);
}

static void unmap_all(struct virtq_vu_backend *be)
{
	for (unsigned int i = 0; i < be->nretired; i++)
		munmap(be->retired[i].base, be->retired[i].len);
	be->nretired = 0;
	for (unsigned int i = 0; i < be->nmaps; i++)
		unmap_one(&be->maps[i]);
	be->nmaps = 0;
	if (be->gm)
		virtq_gmem_destroy(be->gm);
	be->gm = NULL;
}

/*
 * Seal a memfd against shrinking if it allows sealing and is not sealed
 * yet (QEMU's memory-backend-memfd seals by default; seal=off and other
 * frontends may not).  Other fds (hugetlbfs or tmpfs files) cannot be
 * sealed: a shrink there is survived (fault.c).
 */
static void seal_shrink(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals >= 0 && !(seals & (F_SEAL_SHRINK | F_SEAL_SEAL)))
		(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
}

/* The fd's mapping granule: the huge page size on hugetlbfs. */
static uint64_t fd_page_size(const struct stat *st)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t b = (uint64_t)st->st_blksize;

	if (b > page && b <= (1ull << 30) && !(b & (b - 1)))
		return b;
	return page;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Check one region against itself and @others (which must not overlap it
 * in guest or user addresses), and map it.  Returns 0, or what refuse()
 * returns.
 */
static int map_region(struct virtq_vu_backend *be, const struct vu_msg *m,
		      const struct vu_mem_region *reg, int fd,
		      const struct vu_map *others, unsigned int n_others,
		      struct vu_map *out)
{
	uint64_t gpa = reg->guest_phys_addr, size = reg->memory_size;
	uint64_t ua = reg->userspace_addr, off = reg->mmap_offset;
	struct stat st;
	void *p;
	int slot;

	if (!size)
		return refuse(be, m, "region at guest 0x%llx has size 0",
			   (unsigned long long)gpa);
	if (gpa + size < gpa || ua + size < ua || off + size < off ||
	    off + size > (uint64_t)SIZE_MAX)
		return refuse(be, m, "region at guest 0x%llx size 0x%llx overflows",
			   (unsigned long long)gpa, (unsigned long long)size);
	for (unsigned int i = 0; i < n_others; i++) {
		if (ranges_overlap(gpa, size, others[i].gpa, others[i].size))
			return refuse(be, m, "region at guest 0x%llx overlaps the one at 0x%llx",
				   (unsigned long long)gpa,
				   (unsigned long long)others[i].gpa);
		if (ranges_overlap(ua, size, others[i].uaddr, others[i].size))
			return refuse(be, m, "region at user 0x%llx overlaps the one at user 0x%llx",
				   (unsigned long long)ua,
				   (unsigned long long)others[i].uaddr);
	}
	/* A memfd that allows it is sealed against shrinking before its
	 * size is checked: the frontend cannot pull the pages away later. */
	seal_shrink(fd);
	if (fstat(fd, &st) < 0)
		return refuse(be, m, "fstat on the region's fd: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < off + size)
		return refuse(be, m, "region at guest 0x%llx: offset 0x%llx + size 0x%llx is past the end of its file (0x%llx bytes)",
			   (unsigned long long)gpa, (unsigned long long)off,
			   (unsigned long long)size, (unsigned long long)st.st_size);
	/*
	 * Map from the page holding @off, not from 0: only what is used.
	 * "Page" is the fd's: a hugetlbfs file maps only at offsets (and in
	 * lengths) of its huge page size, which fstat gives as st_blksize.
	 * MAP_NORESERVE: guest RAM is the frontend's to account for; and
	 * MADV_DONTDUMP keeps it out of a core dump of this process.
	 */
	uint64_t align = fd_page_size(&st);
	uint64_t delta = off & (align - 1);
	size_t len = (size_t)virtq_align_up(delta + size, align);

	if (len < delta + size)
		return refuse(be, m, "region at guest 0x%llx size 0x%llx overflows",
			      (unsigned long long)gpa, (unsigned long long)size);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, (off_t)(off - delta));
	if (p == MAP_FAILED)
		return refuse(be, m, "cannot map region at guest 0x%llx: %s",
			   (unsigned long long)gpa, strerror(errno));
	(void)madvise(p, len, MADV_DONTDUMP);
	slot = __virtq_vu_fault_register(p, len, be->conn_fd, &be->faulted);
	if (slot < 0) {
		munmap(p, len);
		return refuse(be, m, "region at guest 0x%llx: cannot guard the mapping (%s)",
			      (unsigned long long)gpa, strerror(-slot));
	}
	*out = (struct vu_map){ .base = p, .len = len, .delta = delta,
				.gpa = gpa, .size = size, .uaddr = ua,
				.fault_slot = slot };
	return 0;
}

static int gmem_add_map(struct virtq_gmem *gm, const struct vu_map *mp)
{
	struct virtq_gmem_region r = {
		.gpa = mp->gpa, .size = mp->size,
		.hva = (char *)mp->base + mp->delta, .uaddr = mp->uaddr,
	};

	return virtq_gmem_add(gm, &r);
}

static int h_set_mem_table(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct vu_map maps[VU_MAX_FDS];
	struct virtq_gmem *gm = NULL;
	uint32_t n = m->p.mem.nregions;
	unsigned int done = 0;
	int r;

	if (n == 0 || n > VU_MAX_FDS)
		return bad(be, m, "%u regions (must be 1..%u)", n, VU_MAX_FDS);
	if (m->hdr.size != 8 + 32 * n)
		return bad(be, m, "payload is %u bytes, %u regions need %u",
			   m->hdr.size, n, 8 + 32 * n);
	if (m->nfds != n)
		return bad(be, m, "%u fds for %u regions", m->nfds, n);
	r = virtq_gmem_create(&gm);
	if (r < 0)
		return refuse(be, m, "no memory for the map");
	for (; done < n; done++) {
		const struct vu_mem_region *reg = &m->p.mem.regions[done];

		r = map_region(be, m, reg, m->fds[done], maps, done, &maps[done]);
		if (r)
			goto err;
		r = gmem_add_map(gm, &maps[done]);
		if (r < 0) {
			done++;
			r = refuse(be, m, "region %u rejected by the map (%s)", done - 1,
				   strerror(-r));
			goto err;
		}
	}
	/* The new map is complete: rings stop before the old one goes. */
	stop_all(be);
	unmap_all(be);
	be->gm = gm;
	memcpy(be->maps, maps, sizeof(maps[0]) * n);
	be->nmaps = n;
	return 0;
err:
	while (done--)
		unmap_one(&maps[done]);
	virtq_gmem_destroy(gm);
	return r;
}

/*
 * Memory hotplug (ADD_MEM_REG / REM_MEM_REG) must not wait for slow I/O:
 * QEMU waits for the ack.  With the runner, rings keep their requests in
 * flight: each running ring's thread is paused (joined between two
 * callbacks), the map changes, the ring is re-pointed at it (save +
 * restore: the device side's cached region goes) and its thread resumes.
 * Without the runner the library cannot pause the application's threads:
 * rings stop (queue_stop) and restart.
 */
static void pause_rings(struct virtq_vu_backend *be)
{
	if (!be->runner) {
		stop_all(be);
		return;
	}
	for (uint32_t i = 0; i < be->num_queues; i++) {
		struct virtq_vu_queue *q = &be->q[i];

		if (q->running && q->has_thread) {
			__virtq_vu_queue_thread_stop(q);
			q->paused = true;
		}
	}
}

static int resume_rings(struct virtq_vu_backend *be, bool repoint)
{
	for (uint32_t i = 0; i < be->num_queues; i++) {
		struct virtq_vu_queue *q = &be->q[i];
		struct virtq_device_state st;
		int r;

		if (!q->paused)
			continue;
		q->paused = false;
		if (!q->running)
			continue;	/* stopped meanwhile (retire_map) */
		if (repoint) {
			(void)virtq_device_save(q->dev, &st);
			if (virtq_device_restore(q->dev, virtq_device_mem_size(),
						 &st, be->gm) < 0)
				__virtq_vu_log(be, "queue %u: the ring no longer fits the memory table; queue broken",
					       q->index);
		}
		apply_log(be, q);
		r = __virtq_vu_queue_thread_start(q);
		if (r < 0) {
			__virtq_vu_log(be, "queue %u: no thread (%s); closing the connection",
				       q->index, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Does a ring area of @q lie in [ua, ua + len) (user addresses)? */
static bool ring_in(const struct virtq_vu_queue *q, uint64_t ua, uint64_t len)
{
	return q->has_addr && q->num &&
	       (ranges_overlap(q->desc_ua, virtq_desc_size(q->num), ua, len) ||
		ranges_overlap(q->avail_ua, virtq_avail_size(q->num), ua, len) ||
		ranges_overlap(q->used_ua, virtq_used_size(q->num), ua, len));
}

static int h_add_mem_reg(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_mem_region *reg = &m->p.mem_single.region;
	struct vu_map mp;
	int r;

	if (be->nmaps >= VIRTQ_VU_MAX_MEM_SLOTS)
		return refuse(be, m, "all %u memory slots are in use",
			   VIRTQ_VU_MAX_MEM_SLOTS);
	if (!be->gm && virtq_gmem_create(&be->gm) < 0)
		return refuse(be, m, "no memory for the map");
	r = map_region(be, m, reg, m->fds[0], be->maps, be->nmaps, &mp);
	if (r)
		return r;
	pause_rings(be);
	r = gmem_add_map(be->gm, &mp);
	if (r < 0) {
		unmap_one(&mp);
		r = refuse(be, m, "region rejected by the map (%s)", strerror(-r));
	} else {
		be->maps[be->nmaps++] = mp;
	}
	return resume_rings(be, true) < 0 ? -EAGAIN : r;
}

/*
 * A removed region may still hold buffers of requests in flight on rings
 * that keep running: its mapping is replaced by scratch anonymous memory
 * (the guest's pages are let go at once, late writes land nowhere) and
 * unmapped for good when the memory table goes.
 */
static void retire_map(struct virtq_vu_backend *be, struct vu_map *mp)
{
	__virtq_vu_fault_unregister(mp->fault_slot);
	if (be->nretired == VU_MAX_RETIRED ||
	    mmap(mp->base, mp->len, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED) {
		/* No room to keep it: drain everything, then unmap. */
		stop_all(be);
		munmap(mp->base, mp->len);
		return;
	}
	be->retired[be->nretired].base = mp->base;
	be->retired[be->nretired].len = mp->len;
	be->nretired++;
}

static int h_rem_mem_reg(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_mem_region *reg = &m->p.mem_single.region;

	for (unsigned int i = 0; i < be->nmaps; i++) {
		struct vu_map *mp = &be->maps[i];

		if (mp->gpa != reg->guest_phys_addr ||
		    mp->size != reg->memory_size ||
		    mp->uaddr != reg->userspace_addr)
			continue;
		/* Rings in the region stop for good (until a table holds
		 * them again); the others only pause. */
		for (uint32_t k = 0; k < be->num_queues; k++)
			if (ring_in(&be->q[k], mp->uaddr, mp->size))
				queue_stop(be, &be->q[k]);
		pause_rings(be);
		virtq_gmem_remove(be->gm, mp->gpa, mp->size);
		retire_map(be, mp);
		*mp = be->maps[--be->nmaps];
		return resume_rings(be, true) < 0 ? -EAGAIN : 0;
	}
	return refuse(be, m, "no region at guest 0x%llx size 0x%llx user 0x%llx",
		   (unsigned long long)reg->guest_phys_addr,
		      (unsigned long long)reg->memory_size,
		      (unsigned long long)reg->userspace_addr);
}

/* ------------------------------------------------------------------ */
/* Replies.                                                            */

static int reply(struct virtq_vu_backend *be, const struct vu_msg *req,
		 const void *payload, uint32_t size, const int *fds,
		 unsigned int nfds)
{
	struct vu_msg out;
	int r;

	out.hdr.request = req->hdr.request;
	out.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	out.hdr.size = size;
	if (size)
		memcpy(&out.p, payload, size);
	r = __virtq_vu_send(be->conn_fd, &out, fds, nfds);
	if (r < 0) {
		__virtq_vu_log(be, "%s: cannot send the reply (%s); closing the connection",
			       __virtq_vu_request_name(req->hdr.request),
			       strerror(-r));
		return r;
	}
	return REPLIED;
}

static int reply_u64(struct virtq_vu_backend *be, const struct vu_msg *req,
		     uint64_t v)
{
	return reply(be, req, &v, sizeof(v), NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Handlers.                                                           */

static int h_get_features(struct virtq_vu_backend *be, struct vu_msg *m)
{
	return reply_u64(be, m, be->features);
}

static int h_set_features(struct virtq_vu_backend *be, struct vu_msg *m)
{
	uint64_t v = m->p.u64;

	if (v & ~be->features)
		return refuse(be, m, "features 0x%llx include bits not offered (offered 0x%llx)",
			   (unsigned long long)v, (unsigned long long)be->features);
	if ((v ^ be->acked) == VIRTQ_FEATURE(VU_F_LOG_ALL)) {
		/* Migration starts or ends: logging toggles under running
		 * rings, with their requests left in flight. */
		pause_rings(be);
		be->acked = v;
		for (uint32_t i = 0; i < be->num_queues; i++)
			if (be->q[i].running)
				be->q[i].features = v;
		return resume_rings(be, false) < 0 ? -EAGAIN : 0;
	}
	if (v != be->acked)
		stop_all(be);
	be->acked = v;
	return 0;
}

static int h_get_protocol_features(struct virtq_vu_backend *be, struct vu_msg *m)
{
	return reply_u64(be, m, be->proto);
}

static int h_set_protocol_features(struct virtq_vu_backend *be, struct vu_msg *m)
{
	uint64_t v = m->p.u64;

	if (v & ~be->proto)
		return refuse(be, m, "protocol features 0x%llx include bits not offered (offered 0x%llx)",
			   (unsigned long long)v, (unsigned long long)be->proto);
	be->proto_acked = v;
	return 0;
}

static int h_set_owner(struct virtq_vu_backend *be, struct vu_msg *m)
{
	(void)be;
	(void)m;
	return 0;
}

/* RESET_DEVICE (and the deprecated RESET_OWNER): rings back to scratch. */
static int h_reset(struct virtq_vu_backend *be, struct vu_msg *m)
{
	(void)m;
	stop_all(be);
	for (uint32_t i = 0; i < be->num_queues; i++)
		queue_reset(&be->q[i]);
	be->acked = 0;
	be->status = 0;
	return 0;
}

static int h_get_queue_num(struct virtq_vu_backend *be, struct vu_msg *m)
{
	return reply_u64(be, m, be->num_queues);
}

static int h_get_max_mem_slots(struct virtq_vu_backend *be, struct vu_msg *m)
{
	return reply_u64(be, m, VIRTQ_VU_MAX_MEM_SLOTS);
}

/*
 * The queue a vring message names, or NULL with *@r set to what refuse()
 * returned.
 */
static struct virtq_vu_queue *msg_queue(struct virtq_vu_backend *be,
					struct vu_msg *m, uint32_t index, int *r)
{
	if (index >= be->num_queues) {
		*r = refuse(be, m, "queue index %u out of range (%u queues)", index,
			    be->num_queues);
		return NULL;
	}
	return &be->q[index];
}

static int h_set_vring_num(struct virtq_vu_backend *be, struct vu_msg *m)
{
	int r = 0;
	struct virtq_vu_queue *q = msg_queue(be, m, m->p.state.index, &r);
	uint32_t num = m->p.state.num;

	if (!q)
		return r;
	if (!virtq_size_valid(num) || num > be->max_queue_size)
		return refuse(be, m, "queue %u: size %u is not a power of two in 1..%u",
			   q->index, num, be->max_queue_size);
	queue_stop(be, q);
	q->num = num;
	return 0;
}

static int h_set_vring_addr(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_vring_addr *a = &m->p.addr;
	int r = 0;
	struct virtq_vu_queue *q = msg_queue(be, m, a->index, &r);
	uint64_t gpa;
	uint32_t num;

	if (!q)
		return r;
	if (a->flags & ~1u)
		return refuse(be, m, "queue %u: unknown flags 0x%x", q->index, a->flags);
	if (!be->gm)
		return refuse(be, m, "queue %u: no memory table yet", q->index);
	/* Before SET_VRING_NUM only the first byte of each area is checked. */
	num = q->num;
	if (virtq_gmem_uaddr_to_gpa(be->gm, a->desc_user_addr,
				    num ? virtq_desc_size(num) : 1, &gpa))
		return refuse(be, m, "queue %u: descriptor table at user 0x%llx is outside the memory table",
			   q->index, (unsigned long long)a->desc_user_addr);
	if (virtq_gmem_uaddr_to_gpa(be->gm, a->avail_user_addr,
				    num ? virtq_avail_size(num) : 1, &gpa))
		return refuse(be, m, "queue %u: avail ring at user 0x%llx is outside the memory table",
			   q->index, (unsigned long long)a->avail_user_addr);
	if (virtq_gmem_uaddr_to_gpa(be->gm, a->used_user_addr,
				    num ? virtq_used_size(num) : 1, &gpa))
		return refuse(be, m, "queue %u: used ring at user 0x%llx is outside the memory table",
			   q->index, (unsigned long long)a->used_user_addr);
	if (q->running && q->desc_ua == a->desc_user_addr &&
	    q->avail_ua == a->avail_user_addr && q->used_ua == a->used_user_addr) {
		/* Only the log flag or address changes (QEMU at migration
		 * start and end): the ring keeps its requests in flight. */
		pause_rings(be);
		q->log_used = a->flags & VU_VRING_F_LOG;
		q->log_gpa = a->log_guest_addr;
		return resume_rings(be, false) < 0 ? -EAGAIN : 0;
	}
	queue_stop(be, q);
	q->desc_ua = a->desc_user_addr;
	q->avail_ua = a->avail_user_addr;
	q->used_ua = a->used_user_addr;
	q->log_used = a->flags & VU_VRING_F_LOG;
	q->log_gpa = a->log_guest_addr;
	q->has_addr = true;
	return 0;
}

static int h_set_vring_base(struct virtq_vu_backend *be, struct vu_msg *m)
{
	int r = 0;
	struct virtq_vu_queue *q = msg_queue(be, m, m->p.state.index, &r);

	if (!q)
		return r;
	if (m->p.state.num > 0xffff)
		return refuse(be, m, "queue %u: base %u does not fit a split ring's 16-bit index",
			   q->index, m->p.state.num);
	queue_stop(be, q);
	q->base = (uint16_t)m->p.state.num;
	return 0;
}

static int h_get_vring_base(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct virtq_vu_queue *q;
	struct vu_vring_state st;

	/* The answer has no failure form: a bad index breaks the stream. */
	if (m->p.state.index >= be->num_queues)
		return bad(be, m, "queue index %u out of range (%u queues)",
			   m->p.state.index, be->num_queues);
	q = &be->q[m->p.state.index];
	/* The ring stops here and stays stopped until a new kick fd. */
	queue_stop(be, q);
	q->kicked = false;
	close_fd(&q->kick_fd);
	st.index = q->index;
	st.num = q->base;
	return reply(be, m, &st, sizeof(st), NULL, 0);
}

/*
 * Kick, call and err fds.  The spec names eventfds; any fd that behaves
 * like one for us is taken: pollable, readable (kick) or writable (call,
 * err): an eventfd, a pipe or FIFO end, a socket, a character device.
 * Files, directories and block devices are not (poll always says ready).
 * Checked with fstat and F_GETFL, so /proc need not be mounted.  The fd is
 * made non-blocking: a full pipe or a drained counter never blocks a queue
 * thread.  Returns NULL, or why the fd does not fit.
 */
static const char *vring_fd_unfit(int fd, bool kick)
{
	struct stat st;
	int fl, acc;

	if (fstat(fd, &st) < 0)
		return "cannot be examined (fstat)";
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
		return "is a file, not an eventfd, pipe or socket";
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return "cannot be examined (F_GETFL)";
	acc = fl & O_ACCMODE;
	if (kick && acc == O_WRONLY)
		return "is not readable";
	if (!kick && acc == O_RDONLY)
		return "is not writable";
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return "cannot be made non-blocking";
	return NULL;
}

/*
 * SET_VRING_KICK / CALL / ERR payload: queue index in bits 0-7, bit 8 "no
 * fd", nothing else.  Returns the queue and the fd (taken from @m, or -1),
 * or NULL with *@r set (after logging).
 */
static struct virtq_vu_queue *vring_fd_msg(struct virtq_vu_backend *be,
					   struct vu_msg *m, int *fd, int *r)
{
	uint64_t v = m->p.u64;
	struct virtq_vu_queue *q;
	bool nofd = v & VU_VRING_NOFD;
	const char *why;

	/* The fd count is the stream's: checked before any value. */
	if (m->nfds != (nofd ? 0u : 1u)) {
		*r = bad(be, m, "queue %u: %u fds with the no-fd flag %s",
			 (unsigned int)(v & VU_VRING_IDX_MASK), m->nfds,
			 nofd ? "set" : "clear");
		return NULL;
	}
	if (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD)) {
		*r = refuse(be, m, "payload 0x%llx has bits beyond the index and the no-fd flag",
			    (unsigned long long)v);
		return NULL;
	}
	q = msg_queue(be, m, v & VU_VRING_IDX_MASK, r);
	if (!q)
		return NULL;
	*fd = -1;
	if (!nofd) {
		why = vring_fd_unfit(m->fds[0], m->hdr.request == VU_SET_VRING_KICK);
		if (why) {
			*r = refuse(be, m, "queue %u: the fd %s", q->index, why);
			return NULL;
		}
		*fd = take_fd(m, 0);
	}
	return q;
}

/* No fd (bit 8): the ring is polled (the runner looks at it often;
 * an own event loop sees kick fd -1). */
static int h_set_vring_kick(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct virtq_vu_queue *q;
	int fd, r = 0;

	q = vring_fd_msg(be, m, &fd, &r);
	if (!q)
		return r;
	queue_stop(be, q);
	close_fd(&q->kick_fd);
	q->kick_fd = fd;
	q->kicked = true;
	ring_trace(be, q, "kick fd set");
	return 0;
}

static int h_set_vring_call_err(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct virtq_vu_queue *q;
	int fd, *slot, r = 0;

	q = vring_fd_msg(be, m, &fd, &r);
	if (!q)
		return r;
	/* The queue's thread may be signalling the old fd right now. */
	slot = m->hdr.request == VU_SET_VRING_CALL ? &q->call_fd : &q->err_fd;
	pthread_mutex_lock(&q->lock);
	close_fd(slot);
	*slot = fd;
	pthread_mutex_unlock(&q->lock);
	if (q->running)
		start_signal(q);	/* the start's interrupt, if still owed */
	return 0;
}

static int h_set_vring_enable(struct virtq_vu_backend *be, struct vu_msg *m)
{
	int r = 0;
	struct virtq_vu_queue *q = msg_queue(be, m, m->p.state.index, &r);

	if (!q)
		return r;
	if (m->p.state.num > 1)
		return refuse(be, m, "queue %u: enable value %u is not 0 or 1",
			   q->index, m->p.state.num);
	q->enabled = m->p.state.num;
	if (!q->enabled)
		queue_stop(be, q);
	return 0;
}

/* GET_CONFIG / SET_CONFIG: the size field must match the payload. */
static int config_msg_check(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_config *c = &m->p.config;

	if (m->hdr.size < VU_CONFIG_HDR_SIZE)
		return bad(be, m, "payload %u bytes is shorter than the config header",
			   m->hdr.size);
	if (c->size > VU_MAX_CONFIG || m->hdr.size != VU_CONFIG_HDR_SIZE + c->size)
		return bad(be, m, "config size %u does not match the payload (%u bytes)",
			   c->size, m->hdr.size);
	return 0;
}

/*
 * A range that starts past the config space (or runs past the 256 bytes
 * any config space can have) is refused.  The spec's failure answer is a
 * reply with an empty payload; the connection stays up.  A range that
 * starts inside and runs past the end reads zeros there: frontends ask
 * for their own struct size, which may be larger.
 */
static int h_get_config(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct vu_config *c = &m->p.config;
	int r = config_msg_check(be, m);

	if (r < 0)
		return r;
	pthread_mutex_lock(&be->config_lock);
	if ((c->size && c->offset >= be->config_len) || c->offset > VU_MAX_CONFIG ||
	    c->size > VU_MAX_CONFIG - c->offset) {
		pthread_mutex_unlock(&be->config_lock);
		__virtq_vu_log(be, "GET_CONFIG: range %u+%u is past the config space (%u bytes); refused (empty reply)",
			       c->offset, c->size, be->config_len);
		return reply(be, m, NULL, 0, NULL, 0);
	}
	memset(c->region, 0, c->size);
	if (c->offset < be->config_len) {
		uint32_t n = be->config_len - c->offset;

		memcpy(c->region, be->config + c->offset, n < c->size ? n : c->size);
	}
	pthread_mutex_unlock(&be->config_lock);
	return reply(be, m, c, VU_CONFIG_HDR_SIZE + c->size, NULL, 0);
}

static int h_set_config(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_config *c = &m->p.config;
	int r = config_msg_check(be, m);

	if (r < 0)
		return r;
	if (c->offset > be->config_len || c->size > be->config_len - c->offset)
		return refuse(be, m, "config range %u+%u is past the config space (%u bytes)",
			      c->offset, c->size, be->config_len);
	r = be->ops->set_config ?
	    be->ops->set_config(be->opaque, c->offset, c->region, c->size, c->flags) :
	    -EPERM;
	if (r < 0) {
		/* The device's choice, not a protocol fault: the connection
		 * stays even when no ack was asked for. */
		__virtq_vu_log(be, "SET_CONFIG: the device refused %u bytes at %u (%s)",
			       c->size, c->offset, strerror(-r));
		return REFUSED;
	}
	pthread_mutex_lock(&be->config_lock);
	memcpy(be->config + c->offset, c->region, c->size);
	pthread_mutex_unlock(&be->config_lock);
	return 0;
}

/*
 * GET_INFLIGHT_FD has no failure form of its answer: a bad value there
 * breaks the stream (@get).  SET_INFLIGHT_FD is refused.
 */
static int inflight_check(struct virtq_vu_backend *be, struct vu_msg *m, bool get)
{
	const struct vu_inflight *in = &m->p.inflight;

	if (in->num_queues == 0 || in->num_queues > be->num_queues)
		return get ? bad(be, m, "%u queues (must be 1..%u)", in->num_queues,
				 be->num_queues) :
			     refuse(be, m, "%u queues (must be 1..%u)", in->num_queues,
				    be->num_queues);
	if (!virtq_size_valid(in->queue_size) || in->queue_size > be->max_queue_size)
		return get ? bad(be, m, "queue size %u is not a power of two in 1..%u",
				 in->queue_size, be->max_queue_size) :
			     refuse(be, m, "queue size %u is not a power of two in 1..%u",
				    in->queue_size, be->max_queue_size);
	return 0;
}

static void inflight_unmap(struct virtq_vu_backend *be)
{
	/* Running rings write into the region. */
	stop_all(be);
	if (be->inflight) {
		__virtq_vu_fault_unregister(be->inflight_slot);
		munmap(be->inflight, be->inflight_len);
	}
	be->inflight = NULL;
	be->inflight_len = 0;
	be->inflight_slot = -1;
}

/* Take a mapped inflight region (guarded against a shrinking fd). */
static int inflight_adopt(struct virtq_vu_backend *be, struct vu_msg *m,
			  void *p, size_t len)
{
	const struct vu_inflight *in = &m->p.inflight;
	int slot = __virtq_vu_fault_register(p, len, be->conn_fd, &be->faulted);

	if (slot < 0) {
		munmap(p, len);
		return slot;
	}
	inflight_unmap(be);
	be->inflight = p;
	be->inflight_len = len;
	be->inflight_slot = slot;
	be->inflight_nq = in->num_queues;
	be->inflight_qsize = in->queue_size;
	return 0;
}

static int h_get_inflight_fd(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct vu_inflight *in = &m->p.inflight;
	size_t len;
	void *p;
	int fd, r;

	r = inflight_check(be, m, true);
	if (r < 0)
		return r;
	len = __virtq_vu_inflight_queue_size(in->queue_size) * in->num_queues;
	fd = memfd_create("virtq-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return bad(be, m, "memfd_create: %s", strerror(errno));
	/* The frontend gets the fd: it may neither shrink nor grow it. */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = bad(be, m, "ftruncate / seal: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = bad(be, m, "mmap: %s", strerror(errno));
		goto out;
	}
	r = inflight_adopt(be, m, p, len);
	if (r < 0) {
		r = bad(be, m, "cannot guard the mapping: %s", strerror(-r));
		goto out;
	}
	in->mmap_size = len;
	in->mmap_offset = 0;
	r = reply(be, m, in, sizeof(*in), &fd, 1);
out:
	close(fd);
	return r;
}

static int h_set_inflight_fd(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_inflight *in = &m->p.inflight;
	uint64_t need;
	struct stat st;
	void *p;
	int r;

	r = inflight_check(be, m, false);
	if (r)
		return r;
	need = (uint64_t)__virtq_vu_inflight_queue_size(in->queue_size) * in->num_queues;
	if (in->mmap_size < need || in->mmap_size > (uint64_t)SIZE_MAX / 2)
		return refuse(be, m, "size %llu, %u queues of %u need %llu",
			   (unsigned long long)in->mmap_size, in->num_queues,
			   in->queue_size, (unsigned long long)need);
	if (in->mmap_offset & 4095 || in->mmap_offset > (uint64_t)SIZE_MAX / 2)
		return refuse(be, m, "offset 0x%llx is not page aligned",
			   (unsigned long long)in->mmap_offset);
	seal_shrink(m->fds[0]);
	if (fstat(m->fds[0], &st) < 0)
		return refuse(be, m, "fstat: %s", strerror(errno));
	if (S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < in->mmap_offset + in->mmap_size)
		return refuse(be, m, "offset 0x%llx + size 0x%llx is past the end of the fd (0x%llx bytes)",
			   (unsigned long long)in->mmap_offset,
			   (unsigned long long)in->mmap_size,
			   (unsigned long long)st.st_size);
	p = mmap(NULL, in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 m->fds[0], (off_t)in->mmap_offset);
	if (p == MAP_FAILED)
		return refuse(be, m, "mmap: %s", strerror(errno));
	r = inflight_adopt(be, m, p, in->mmap_size);
	if (r < 0)
		return refuse(be, m, "cannot guard the mapping: %s", strerror(-r));
	return 0;
}

static void log_unmap(struct virtq_vu_backend *be)
{
	if (be->log) {
		__virtq_vu_fault_unregister(be->log_slot);
		munmap(be->log, be->log_len);
	}
	be->log = NULL;
	be->log_len = 0;
	be->log_slot = -1;
}

/*
 * SET_LOG_BASE (LOG_SHMFD): the dirty bitmap, one bit per 4 KiB guest
 * page, in the fd at mmap_offset.  The answer is a u64, 0 or a failure
 * (QEMU waits for it whatever the flags).  Running rings switch to the
 * new bitmap with their requests in flight; the old one is unmapped.
 */
static int h_set_log_base(struct virtq_vu_backend *be, struct vu_msg *m)
{
	const struct vu_log *lg = &m->p.log;
	uint64_t size = lg->mmap_size, off = lg->mmap_offset;
	struct stat st;
	void *p;
	int slot, r;

	if (!size || size > (uint64_t)SIZE_MAX / 2 || off > (uint64_t)SIZE_MAX / 2 ||
	    off & (uint64_t)(sysconf(_SC_PAGESIZE) - 1)) {
		__virtq_vu_log(be, "SET_LOG_BASE: size 0x%llx at offset 0x%llx: empty, too large or unaligned; refused",
			       (unsigned long long)size, (unsigned long long)off);
		return reply_u64(be, m, 1);
	}
	seal_shrink(m->fds[0]);
	if (fstat(m->fds[0], &st) < 0 ||
	    (S_ISREG(st.st_mode) && (uint64_t)st.st_size < off + size)) {
		__virtq_vu_log(be, "SET_LOG_BASE: offset 0x%llx + size 0x%llx is past the end of the fd; refused",
			       (unsigned long long)off, (unsigned long long)size);
		return reply_u64(be, m, 1);
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 m->fds[0], (off_t)off);
	if (p == MAP_FAILED) {
		__virtq_vu_log(be, "SET_LOG_BASE: mmap: %s; refused", strerror(errno));
		return reply_u64(be, m, 1);
	}
	slot = __virtq_vu_fault_register(p, size, be->conn_fd, &be->faulted);
	if (slot < 0) {
		munmap(p, size);
		__virtq_vu_log(be, "SET_LOG_BASE: cannot guard the mapping (%s); refused",
			       strerror(-slot));
		return reply_u64(be, m, 1);
	}
	pause_rings(be);
	{
		uint8_t *old = be->log;
		size_t old_len = be->log_len;
		int old_slot = be->log_slot;

		/* The rings move to the new log (marking their used areas in
		 * the old one) before the old one goes. */
		be->log = p;
		be->log_len = size;
		be->log_slot = slot;
		for (uint32_t i = 0; i < be->num_queues; i++)
			if (be->q[i].running)
				apply_log(be, &be->q[i]);
		if (old) {
			__virtq_vu_fault_unregister(old_slot);
			munmap(old, old_len);
		}
	}
	r = resume_rings(be, false);
	if (r < 0)
		return r;
	return reply_u64(be, m, 0);
}

/* SET_BACKEND_REQ_FD: the socket for the backend's own requests. */
static int h_set_backend_req_fd(struct virtq_vu_backend *be, struct vu_msg *m)
{
	struct stat st;

	if (fstat(m->fds[0], &st) < 0 || !S_ISSOCK(st.st_mode))
		return refuse(be, m, "the fd is not a socket");
	__virtq_vu_backend_req_set(be, take_fd(m, 0));
	return 0;
}

/* SET_LOG_FD: kept (and closed with the connection); nothing signals it. */
static int h_set_log_fd(struct virtq_vu_backend *be, struct vu_msg *m)
{
	close_fd(&be->log_fd);
	be->log_fd = take_fd(m, 0);
	return 0;
}

static int h_set_status(struct virtq_vu_backend *be, struct vu_msg *m)
{
	if (m->p.u64 > 0xff)
		return refuse(be, m, "status 0x%llx does not fit the 8-bit device status",
			   (unsigned long long)m->p.u64);
	/* Only recorded: QEMU sets 0 before GET_VRING_BASE on stop, so a
	 * reset here would lose the ring indices it is about to ask for. */
	be->status = (uint8_t)m->p.u64;
	return 0;
}

static int h_get_status(struct virtq_vu_backend *be, struct vu_msg *m)
{
	return reply_u64(be, m, be->status);
}

/* ------------------------------------------------------------------ */
/* The request table and dispatch.                                     */

enum fd_rule { FDS_NONE, FDS_ONE, FDS_ANY /* handler checks */ };

struct handler {
	int (*fn)(struct virtq_vu_backend *be, struct vu_msg *m);
	int size;		/* exact payload bytes, or -1: handler checks */
	enum fd_rule fds;
	int proto_bit;		/* protocol feature it needs, or -1 */
};

static const struct handler handlers[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = { h_get_features, 0, FDS_NONE, -1 },
	[VU_SET_FEATURES] = { h_set_features, 8, FDS_NONE, -1 },
	[VU_SET_OWNER] = { h_set_owner, 0, FDS_NONE, -1 },
	[VU_RESET_OWNER] = { h_reset, 0, FDS_NONE, -1 },
	[VU_SET_MEM_TABLE] = { h_set_mem_table, -1, FDS_ANY, -1 },
	[VU_SET_LOG_BASE] = { h_set_log_base, 16, FDS_ONE, VU_PROTOCOL_F_LOG_SHMFD },
	[VU_SET_LOG_FD] = { h_set_log_fd, 0, FDS_ONE, -1 },
	[VU_SET_VRING_NUM] = { h_set_vring_num, 8, FDS_NONE, -1 },
	[VU_SET_VRING_ADDR] = { h_set_vring_addr, 40, FDS_NONE, -1 },
	[VU_SET_VRING_BASE] = { h_set_vring_base, 8, FDS_NONE, -1 },
	[VU_GET_VRING_BASE] = { h_get_vring_base, 8, FDS_NONE, -1 },
	[VU_SET_VRING_KICK] = { h_set_vring_kick, 8, FDS_ANY, -1 },
	[VU_SET_VRING_CALL] = { h_set_vring_call_err, 8, FDS_ANY, -1 },
	[VU_SET_VRING_ERR] = { h_set_vring_call_err, 8, FDS_ANY, -1 },
	[VU_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, 0, FDS_NONE, -1 },
	[VU_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, 8, FDS_NONE, -1 },
	[VU_GET_QUEUE_NUM] = { h_get_queue_num, 0, FDS_NONE, -1 },
	[VU_SET_VRING_ENABLE] = { h_set_vring_enable, 8, FDS_NONE, -1 },
	[VU_SET_BACKEND_REQ_FD] = { h_set_backend_req_fd, 0, FDS_ONE,
				    VU_PROTOCOL_F_BACKEND_REQ },
	[VU_GET_CONFIG] = { h_get_config, -1, FDS_NONE, VU_PROTOCOL_F_CONFIG },
	[VU_SET_CONFIG] = { h_set_config, -1, FDS_NONE, VU_PROTOCOL_F_CONFIG },
	[VU_GET_INFLIGHT_FD] = { h_get_inflight_fd, 24, FDS_NONE,
				 VU_PROTOCOL_F_INFLIGHT_SHMFD },
	[VU_SET_INFLIGHT_FD] = { h_set_inflight_fd, 24, FDS_ONE,
				 VU_PROTOCOL_F_INFLIGHT_SHMFD },
	[VU_RESET_DEVICE] = { h_reset, 0, FDS_NONE, VU_PROTOCOL_F_RESET_DEVICE },
	[VU_GET_MAX_MEM_SLOTS] = { h_get_max_mem_slots, 0, FDS_NONE,
				   VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS },
	[VU_ADD_MEM_REG] = { h_add_mem_reg, 40, FDS_ONE,
			     VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS },
	/* The spec lets a frontend send an fd here; it is only closed. */
	[VU_REM_MEM_REG] = { h_rem_mem_reg, 40, FDS_ANY,
			     VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS },
	[VU_SET_STATUS] = { h_set_status, 8, FDS_NONE, VU_PROTOCOL_F_STATUS },
	[VU_GET_STATUS] = { h_get_status, 0, FDS_NONE, VU_PROTOCOL_F_STATUS },
};

static int handle(struct virtq_vu_backend *be, struct vu_msg *m)
{
	uint32_t req = m->hdr.request;
	const struct handler *h;
	uint64_t reply_ack;
	bool ack, need;
	int r;

	if (be->trace)
		__virtq_vu_log(be, "trace: %s (%u) flags 0x%x size %u fds %u",
			       __virtq_vu_request_name(req), req, m->hdr.flags,
			       m->hdr.size, m->nfds);
	if (m->hdr.flags & VU_FLAG_REPLY)
		return bad(be, m, "a reply where a request was expected");
	if (req >= VU_REQUEST_MAX || !handlers[req].fn) {
		if (strcmp(__virtq_vu_request_name(req), "UNKNOWN"))
			return bad(be, m, "not supported by this backend");
		return bad(be, m, "unknown request %u", req);
	}
	h = &handlers[req];
	if (h->size >= 0 && m->hdr.size != (uint32_t)h->size)
		return bad(be, m, "payload is %u bytes, expected %d", m->hdr.size,
			   h->size);
	if (h->fds == FDS_NONE && m->nfds)
		return bad(be, m, "carries %u fds, expected none", m->nfds);
	if (h->fds == FDS_ONE && m->nfds != 1)
		return bad(be, m, "carries %u fds, expected one", m->nfds);
	if (req == VU_REM_MEM_REG && m->nfds > 1)
		return bad(be, m, "carries %u fds, expected at most one", m->nfds);
	if (h->proto_bit >= 0 && !(be->proto_acked & (1ull << h->proto_bit)))
		return bad(be, m, "protocol feature %d was not negotiated",
			   h->proto_bit);

	/*
	 * A refusal is acknowledged when the frontend asked for an ack and
	 * REPLY_ACK is agreed, or, for SET_PROTOCOL_FEATURES, is being
	 * agreed by this very message (rust-vmm's frontend waits for it).
	 */
	need = m->hdr.flags & VU_FLAG_NEED_REPLY;
	reply_ack = 1ull << VU_PROTOCOL_F_REPLY_ACK;
	be->ack_wanted = need &&
			 ((be->proto_acked & reply_ack) ||
			  (req == VU_SET_PROTOCOL_FEATURES && (m->p.u64 & reply_ack)));
	r = h->fn(be, m);
	if (r < 0)
		return r;
	/* Success is acknowledged under the protocol features now agreed. */
	ack = r == REFUSED ? be->ack_wanted :
	      need && (be->proto_acked & reply_ack);
	if (r != REPLIED) {
		int rr = reconcile(be);

		if (rr < 0)
			return rr;
		if (ack && reply_u64(be, m, r == REFUSED ? 1 : 0) < 0)
			return -EPIPE;
		return 0;
	}
	return reconcile(be);
}

/* ------------------------------------------------------------------ */
/* Connection.                                                         */

void virtq_vu_backend_disconnect(struct virtq_vu_backend *be)
{
	if (be->conn_fd < 0)
		return;
	for (uint32_t i = 0; i < be->num_queues; i++)
		if (be->q[i].has_addr)
			ring_trace(be, &be->q[i], "disconnected");
	stop_all(be);
	for (uint32_t i = 0; i < be->num_queues; i++)
		queue_reset(&be->q[i]);
	unmap_all(be);
	inflight_unmap(be);
	log_unmap(be);
	close_fd(&be->log_fd);
	__virtq_vu_backend_req_set(be, -1);
	close_fd(&be->conn_fd);
	atomic_store_explicit(&be->faulted, 0, memory_order_relaxed);
	be->acked = 0;
	be->proto_acked = 0;
	be->status = 0;
}

int virtq_vu_backend_dispatch(struct virtq_vu_backend *be)
{
	struct pollfd pfd = { .fd = be->conn_fd, .events = POLLIN };
	struct vu_msg m;
	int r;

	if (be->conn_fd < 0)
		return -ENOTCONN;
	if (atomic_load_explicit(&be->faulted, memory_order_acquire)) {
		r = -EFAULT;
		goto faulted;
	}
	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR) {
			r = -errno;
			goto gone;
		}
	memset(&m.hdr, 0, sizeof(m.hdr));
	r = __virtq_vu_recv(be->conn_fd, &m, MSG_TIMEOUT_MS);
	if (r < 0 && atomic_load_explicit(&be->faulted, memory_order_acquire)) {
		r = -EFAULT;
		goto faulted;
	}
	if (r == -ECONNRESET && !m.hdr.request) {
		__virtq_vu_log(be, "the frontend closed the connection");
		goto gone;
	}
	if (r < 0) {
		/* The header names the request if it arrived. */
		__virtq_vu_log(be, "%s: cannot receive the message (%s); closing the connection",
			       m.hdr.request ? __virtq_vu_request_name(m.hdr.request) :
			       "(no header)",
			       r == -EPROTO ? "bad version flags, payload too large or too many fds" :
			       strerror(-r));
		goto gone;
	}
	r = handle(be, &m);
	__virtq_vu_msg_close_fds(&m);
	if (atomic_load_explicit(&be->faulted, memory_order_acquire)) {
		r = -EFAULT;
		goto faulted;
	}
	if (r < 0)
		goto gone;
	return 0;
faulted:
	__virtq_vu_log(be, "the frontend shrank memory it shared (an access faulted; scratch memory took its place); closing the connection");
gone:
	virtq_vu_backend_disconnect(be);
	return r;
}

int virtq_vu_backend_set_conn_fd(struct virtq_vu_backend *be, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (be->conn_fd >= 0)
		return -EBUSY;
	be->conn_fd = fd;
	return 0;
}

int virtq_vu_backend_conn_fd(const struct virtq_vu_backend *be)
{
	return be->conn_fd;
}

int virtq_vu_backend_accept(struct virtq_vu_backend *be)
{
	int fd;

	if (be->conn_fd >= 0)
		return -EBUSY;
	if (be->listen_fd < 0)
		return -ENOTCONN;
	do
		fd = accept4(be->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	be->conn_fd = fd;
	return 0;
}

int virtq_vu_backend_listen(struct virtq_vu_backend *be, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (be->listen_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -EEXIST;
		}
		/* Someone still answers there: not ours to take over. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	be->listen_path = strdup(path);
	be->listen_fd = fd;
	return 0;
}

int virtq_vu_backend_set_listen_fd(struct virtq_vu_backend *be, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (be->listen_fd >= 0)
		return -EBUSY;
	be->listen_fd = fd;
	return 0;
}

int virtq_vu_backend_listen_fd(const struct virtq_vu_backend *be)
{
	return be->listen_fd;
}

/* ------------------------------------------------------------------ */
/* Create / destroy, accessors.                                        */

int virtq_vu_backend_create(struct virtq_vu_backend **out,
			    const struct virtq_vu_backend_config *cfg)
{
	struct virtq_vu_backend *be;
	size_t devsz = virtq_align_up(virtq_device_mem_size(), 64);
	uint32_t maxq;

	if (!out || !cfg || !cfg->ops)
		return -EINVAL;
	maxq = cfg->max_queue_size ? cfg->max_queue_size : VIRTQ_MAX_SIZE;
	if (cfg->num_queues == 0 || cfg->num_queues > VIRTQ_VU_MAX_QUEUES ||
	    !virtq_size_valid(maxq) || cfg->config_len > VIRTQ_VU_MAX_CONFIG ||
	    (cfg->config_len && !cfg->config))
		return -EINVAL;
	if (cfg->features & TRANSPORT_FEATURES & ~transport_implemented)
		return -EOPNOTSUPP;
	be = calloc(1, sizeof(*be) + sizeof(be->q[0]) * cfg->num_queues);
	if (!be)
		return -ENOMEM;
	be->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (be->stop_efd < 0) {
		int r = -errno;

		free(be);
		return r;
	}
	/* Debugging against a real frontend: one log line per message. */
	be->trace = getenv("VIRTQ_VU_TRACE") != NULL;
	be->ops = cfg->ops;
	be->opaque = cfg->opaque;
	be->num_queues = cfg->num_queues;
	be->max_queue_size = maxq;
	be->config_len = cfg->config_len;
	if (cfg->config_len)
		memcpy(be->config, cfg->config, cfg->config_len);
	pthread_mutex_init(&be->config_lock, NULL);
	pthread_mutex_init(&be->req_lock, NULL);
	be->req_fd = -1;
	be->listen_fd = -1;
	be->conn_fd = -1;
	be->inflight_slot = -1;
	be->log_slot = -1;
	be->log_fd = -1;
	/* Dirty logging is the library's: every backend can migrate. */
	be->features = cfg->features | VIRTQ_FEATURE(VIRTQ_VU_F_PROTOCOL_FEATURES) |
		       VIRTQ_FEATURE(VU_F_LOG_ALL);
	be->proto = proto_offered;
	if (!cfg->config_len)
		be->proto &= ~(1ull << VU_PROTOCOL_F_CONFIG);
	for (uint32_t i = 0; i < cfg->num_queues; i++) {
		struct virtq_vu_queue *q = &be->q[i];

		q->be = be;
		q->index = i;
		q->kick_fd = q->call_fd = q->err_fd = q->event_fd = -1;
		pthread_mutex_init(&q->lock, NULL);
		q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->dev = aligned_alloc(64, devsz);
		if (!q->dev || q->stop_fd < 0) {
			virtq_vu_backend_destroy(be);
			return -ENOMEM;
		}
	}
	*out = be;
	return 0;
}

void virtq_vu_backend_destroy(struct virtq_vu_backend *be)
{
	if (!be)
		return;
	virtq_vu_backend_disconnect(be);
	if (be->listen_fd >= 0) {
		close(be->listen_fd);
		if (be->listen_path)
			unlink(be->listen_path);
	}
	free(be->listen_path);
	for (uint32_t i = 0; i < be->num_queues; i++) {
		pthread_mutex_destroy(&be->q[i].lock);
		close_fd(&be->q[i].stop_fd);
		free(be->q[i].dev);
	}
	pthread_mutex_destroy(&be->config_lock);
	pthread_mutex_destroy(&be->req_lock);
	close(be->stop_efd);
	free(be);
}

uint64_t virtq_vu_backend_features(const struct virtq_vu_backend *be)
{
	return be->acked;
}

uint64_t virtq_vu_backend_protocol_features(const struct virtq_vu_backend *be)
{
	return be->proto_acked;
}

int virtq_vu_backend_set_config_space(struct virtq_vu_backend *be,
				      const void *config, uint32_t len)
{
	if (!config || len > be->config_len)
		return -EINVAL;
	pthread_mutex_lock(&be->config_lock);
	memcpy(be->config, config, len);
	pthread_mutex_unlock(&be->config_lock);
	return 0;
}

struct virtq_device *virtq_vu_queue_device(struct virtq_vu_queue *q)
{
	return q->dev;
}

struct virtq_vu_backend *virtq_vu_queue_backend(struct virtq_vu_queue *q)
{
	return q->be;
}

unsigned int virtq_vu_queue_index(const struct virtq_vu_queue *q)
{
	return q->index;
}

uint64_t virtq_vu_queue_features(const struct virtq_vu_queue *q)
{
	return q->features;
}

int virtq_vu_queue_kick_fd(const struct virtq_vu_queue *q)
{
	return q->kick_fd;
}

void virtq_vu_queue_set_data(struct virtq_vu_queue *q, void *data)
{
	q->data = data;
}

void *virtq_vu_queue_data(const struct virtq_vu_queue *q)
{
	return q->data;
}

int virtq_vu_queue_set_event_fd(struct virtq_vu_queue *q, int fd)
{
	q->event_fd = fd;
	return 0;
}

int virtq_vu_queue_notify(struct virtq_vu_queue *q)
{
	int r = 0;

	if (!virtq_device_need_interrupt(q->dev))
		return 0;
	pthread_mutex_lock(&q->lock);
	if (q->call_fd >= 0)
		r = eventfd_write(q->call_fd, 1) < 0 ? -errno : 1;
	pthread_mutex_unlock(&q->lock);
	return r;
}

void virtq_vu_queue_error(struct virtq_vu_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->err_fd >= 0)
		(void)eventfd_write(q->err_fd, 1);
	pthread_mutex_unlock(&q->lock);
}
