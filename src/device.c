/* SPDX-License-Identifier: MIT */
/*
 * device.c - the device side of a split virtqueue.
 *
 * The driver is hostile.  Everything read from guest memory is read once
 * into a local, checked, then used:
 *   - descriptors of the main table (16-aligned, inside one region, checked
 *     at init) and of indirect tables that are 16-aligned inside one region
 *     are read field by field with relaxed atomic loads, each field once;
 *   - other indirect descriptors are copied with virtq_gmem_read(), then
 *     virtq_compiler_barrier() keeps the compiler on the copy;
 *   - avail->idx is read (acquire, P1) only when our shadow copy says the
 *     ring is empty, so once per batch.
 *
 * Free-running u16 indices everywhere: "a - b" as uint16_t is the number of
 * entries from b to a, modulo 2^16, masked with (num - 1) only to index an
 * array.  With at most 32768 entries in flight this distance is exact.
 *
 * Memory layout: the caller's block is struct virtq_device (opaque); we
 * round its address up to a cache line and keep the configuration on one
 * line and the state pop/push/flush change on the next, so queues served
 * by different threads never share a line.
 */
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "virtq/atomic.h"
#include "virtq/device.h"
#include "gmem_internal.h"

#define CACHELINE 64

/* The longest chain the spec allows (2.7.5.2: "MUST NOT ... longer than
 * 2^32 bytes in total"). */
#define CHAIN_MAX_BYTES (1ull << 32)

struct vqd {
	/* Configuration: written by init / restore / reclaim only. */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event;		/* in the avail area (driver writes) */
	uint16_t *avail_event;		/* in the used area (we write) */
	const struct virtq_gmem *gmem;
	uint64_t features;
	uint64_t desc_addr, avail_addr, used_addr;
	uint32_t num;
	bool indirect_ok;
	/* Dirty log (virtq_device_set_log); d->logging says it is set. */
	uint8_t *log;
	uint64_t log_len;		/* bytes of bitmap */
	uint64_t log_used_gpa;		/* where used-area writes are logged */

	/* Hot state: only the thread serving the queue touches it. */
	alignas(CACHELINE) uint16_t last_avail;	/* next avail entry to pop */
	uint16_t shadow_avail;		/* avail->idx as last read */
	uint16_t next_used;		/* next used slot to fill */
	uint16_t published_used;	/* used->idx as last stored */
	uint16_t signalled_used;	/* published_used at the last need_interrupt */
	uint16_t used_flags;		/* what we last stored in used->flags */
	bool used_flags_known;		/* used_flags matches guest memory */
	bool signalled_valid;		/* signalled_used is meaningful */
	bool irq_rearm;			/* next need_interrupt with news: yes */
	bool irq_lost;			/* next need_interrupt: yes (reclaim) */
	/* Both set (KICK_EVENT): pop and pop_batch store avail_event on an
	 * empty ring; one test. */
	union {
		struct {
			bool notify_enabled;
			bool event_idx;	/* configuration: EVENT_IDX */
		};
		uint16_t kick;
	};
	/*
	 * broken and logging read together: push, push_batch and flush
	 * test d->slow once and leave the fast path for either (broken
	 * first, so -EIO keeps its rank).
	 */
	union {
		struct {
			bool broken;
			bool logging;	/* dirty log set: push/flush mark pages */
		};
		uint16_t slow;
	};
	uint32_t mask;			/* num - 1 (0 while unconfigured) */
	uint32_t avail_event_val;	/* what we last stored in avail_event,
					 * or AVAIL_EVENT_UNKNOWN */
	uint32_t inflight;		/* popped (head < num), not yet pushed */
	uint64_t unsignalled;		/* published since the last
					 * need_interrupt: 64 bits never wrap
					 * (2^64 entries), so no cap to test */

	/*
	 * The guest memory region the last buffer fell in, copied: the map
	 * is read-only while queues use it (gmem.h), and init / restore
	 * clear the copy.  Consecutive buffers nearly always share a region,
	 * so most lookups are a subtraction and two compares instead of a
	 * binary search.  rc_size == 0: nothing cached.
	 */
	uint64_t rc_gpa, rc_size;
	char *rc_hva;
};

_Static_assert(offsetof(struct vqd, last_avail) % CACHELINE == 0,
	       "hot state starts a cache line");
_Static_assert(sizeof(struct vqd) - offsetof(struct vqd, last_avail) <= CACHELINE,
	       "hot state fits one cache line");

/* d->kick: notify_enabled and event_idx both true (whatever the byte
 * order: two bytes of 1). */
#define KICK_EVENT		0x0101
/* d->avail_event_val: no u16 value; guest memory may hold anything. */
#define AVAIL_EVENT_UNKNOWN	0x10000u

static inline struct vqd *D(struct virtq_device *vq)
{
	uintptr_t p = (uintptr_t)vq;

	return (struct vqd *)((p + CACHELINE - 1) & ~(uintptr_t)(CACHELINE - 1));
}

static inline const struct vqd *CD(const struct virtq_device *vq)
{
	return D((struct virtq_device *)vq);
}

size_t virtq_device_mem_size(void)
{
	return sizeof(struct vqd) + CACHELINE - 1;
}

/* ---- setup ------------------------------------------------------------ */

/*
 * Host pointer to a whole ring area: aligned in guest and host address
 * (the host alignment is what our atomic accesses need), inside one region.
 */
static int map_area(const struct virtq_gmem *gm, uint64_t gpa, size_t size,
		    size_t align, void **out)
{
	void *p;

	if (gpa & (align - 1))
		return -EINVAL;
	if (size - 1 > UINT64_MAX - gpa)
		return -EFAULT;
	p = __virtq_gmem_ptr(gm, gpa, size);
	if (!p)
		return -EFAULT;
	if ((uintptr_t)p & (align - 1))
		return -EINVAL;
	*out = p;
	return 0;
}

/*
 * Drop the configuration: broken, and no ring pointer left for a later
 * reclaim (or anything else) to use.  Every failed init / restore ends
 * here, so the old configuration (possibly over guest memory that is gone)
 * never comes back.
 */
static void forget(struct vqd *d)
{
	memset(d, 0, sizeof(*d));
	d->broken = true;
}

/*
 * Check @cfg and fill d's configuration.  On error d is left broken and
 * unconfigured, so a caller that ignores the error gets -EIO rather than a
 * wild pointer.
 */
static int setup(struct vqd *d, const struct virtq_device_config *cfg)
{
	void *desc, *avail, *used;
	int ret;

	forget(d);
	if (!virtq_size_valid(cfg->num) || !cfg->gmem)
		return -EINVAL;
	/* Alignment first: -EINVAL outranks -EFAULT for a config both break. */
	if ((cfg->desc_addr & (VIRTQ_DESC_ALIGN - 1)) ||
	    (cfg->avail_addr & (VIRTQ_AVAIL_ALIGN - 1)) ||
	    (cfg->used_addr & (VIRTQ_USED_ALIGN - 1)))
		return -EINVAL;
	ret = map_area(cfg->gmem, cfg->desc_addr, virtq_desc_size(cfg->num),
		       VIRTQ_DESC_ALIGN, &desc);
	if (!ret)
		ret = map_area(cfg->gmem, cfg->avail_addr,
			       virtq_avail_size(cfg->num), VIRTQ_AVAIL_ALIGN,
			       &avail);
	if (!ret)
		ret = map_area(cfg->gmem, cfg->used_addr,
			       virtq_used_size(cfg->num), VIRTQ_USED_ALIGN,
			       &used);
	if (ret)
		return ret;

	d->desc = desc;
	d->avail = avail;
	d->used = used;
	d->used_event = virtq_used_event(d->avail, cfg->num);
	d->avail_event = virtq_avail_event(d->used, cfg->num);
	d->gmem = cfg->gmem;
	d->features = cfg->features;
	d->desc_addr = cfg->desc_addr;
	d->avail_addr = cfg->avail_addr;
	d->used_addr = cfg->used_addr;
	d->num = cfg->num;
	d->mask = cfg->num - 1;
	d->event_idx = cfg->features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	d->indirect_ok = cfg->features & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	d->notify_enabled = true;
	d->avail_event_val = AVAIL_EVENT_UNKNOWN;
	d->broken = false;
	return 0;
}

int virtq_device_init(struct virtq_device *vq, size_t mem_len,
		      const struct virtq_device_config *cfg)
{
	if (!vq || mem_len < virtq_device_mem_size())
		return -EINVAL;
	if (!cfg) {
		forget(D(vq));
		return -EINVAL;
	}
	return setup(D(vq), cfg);
}

/* ---- reading the available ring ---------------------------------------- */

/*
 * Read avail->idx and check it.  Returns the number of entries available,
 * or -EIO (latched) if the driver claims more than num: it cannot have
 * more than num chains outstanding, so the index is garbage.
 */
static inline int read_avail_idx_at(struct vqd *d, uint16_t last)
{
	/* P1: pairs with the driver's release store of avail->idx; the ring
	 * entries and descriptors it covers are visible after this. */
	uint16_t idx = virtq_le16(virtq_load_acquire(&d->avail->idx));
	uint16_t n = (uint16_t)(idx - last);

	/* Every caller has shadow_avail == last: nothing new, nothing to
	 * store (the commonest answer of a poll). */
	if (!n)
		return 0;
	if (n > d->num) {
		d->broken = true;
		return -EIO;
	}
	d->shadow_avail = idx;
	return n;
}

static int read_avail_idx(struct vqd *d)
{
	return read_avail_idx_at(d, d->last_avail);
}

/*
 * Dirty logging, out of line and cold: push and flush test d->logging
 * once and tail-call these, so that with logging off the fast path keeps
 * its code and registers.
 */
#define LOG_COLD __attribute__((noinline, cold))
static LOG_COLD int log_push(struct vqd *d, uint16_t head, uint32_t len);
static LOG_COLD int log_flush(struct vqd *d, uint16_t n);
static LOG_COLD void log_push_batch(struct vqd *d, const uint16_t *heads,
				    const uint32_t *lens, unsigned int n);

/*
 * With EVENT_IDX and kicks wanted, ask for a kick at the next entry we
 * will consume.  F1: the store must be ordered before the following load
 * of avail->idx (the driver stores avail->idx, fences, then reads
 * avail_event), or both sides could miss each other.  Skipped when the
 * value is already there: the fence after the earlier store still orders
 * it before any later load.
 */
static void set_avail_event(struct vqd *d, uint16_t v)
{
	if (d->avail_event_val == v)
		return;
	virtq_store_relaxed(d->avail_event, virtq_cpu_to_le16(v));
	d->avail_event_val = v;
	virtq_mb();	/* F1: pairs with the driver's fence in kick_prepare */
}

/* ---- walking a chain ---------------------------------------------------- */

struct dcopy {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/*
 * A descriptor table: either a host pointer (16-aligned, wholly inside one
 * region: fields are loaded atomically) or a guest address to copy from.
 */
struct table {
	const struct virtq_desc *host;
	uint64_t gpa;
	uint32_t len;	/* entries */
};

/* Running totals of one chain. */
struct acc {
	uint64_t total;
	bool seen_write;
};

static inline int read_desc(const struct vqd *d, const struct table *t,
			    uint32_t i, struct dcopy *dc)
{
	struct virtq_desc raw;

	if (t->host) {
		const struct virtq_desc *s = &t->host[i];

		/* Relaxed: each field read exactly once; ordering comes
		 * from the acquire of avail->idx (P1). */
		dc->addr = virtq_le64(virtq_load_relaxed(&s->addr));
		dc->len = virtq_le32(virtq_load_relaxed(&s->len));
		dc->flags = virtq_le16(virtq_load_relaxed(&s->flags));
		dc->next = virtq_le16(virtq_load_relaxed(&s->next));
		return 0;
	}
	/* The whole table was checked before the walk; this cannot fail
	 * unless the map changed under us, which the API forbids. */
	if (virtq_gmem_read(d->gmem, t->gpa + (uint64_t)i * 16, &raw,
			    sizeof(raw)))
		return -EFAULT;
	/* Use the copy only: no second fetch of shared memory. */
	virtq_compiler_barrier();
	dc->addr = virtq_le64(raw.addr);
	dc->len = virtq_le32(raw.len);
	dc->flags = virtq_le16(raw.flags);
	dc->next = virtq_le16(raw.next);
	return 0;
}

/* Host pointer for a buffer wholly inside one region, or NULL. */
static void *buf_ptr_slow(struct vqd *d, uint64_t gpa, uint32_t len)
{
	const struct virtq_gmem_region *r;
	int i = __virtq_gmem_find(d->gmem, gpa);
	uint64_t off;

	if (i < 0)
		return NULL;
	r = &d->gmem->r[i];
	off = gpa - r->gpa;	/* gpa >= r->gpa: no wrap */
	if (len > r->size - off)
		return NULL;
	d->rc_gpa = r->gpa;
	d->rc_size = r->size;
	d->rc_hva = r->hva;
	return (char *)r->hva + off;
}

static inline void *buf_ptr(struct vqd *d, uint64_t gpa, uint32_t len)
{
	/* A gpa below the cached region wraps off past rc_size: a miss. */
	uint64_t off = gpa - d->rc_gpa;

	if (off < d->rc_size && len <= d->rc_size - off)
		return d->rc_hva + off;
	return buf_ptr_slow(d, gpa, len);
}

/* Append one buffer descriptor to the chain's iovecs. */
static inline __attribute__((always_inline)) int
add_buf(struct vqd *d, struct virtq_chain *c,
			  const struct dcopy *dc, struct acc *a)
{
	bool write = dc->flags & VIRTQ_DESC_F_WRITE;
	uint32_t used = c->n_out + c->n_in;
	void *p;
	int n;

	if (write)
		a->seen_write = true;
	else if (a->seen_write)
		return -EILSEQ;
	if (dc->len == 0)
		return 0;	/* allowed; no iovec, address not looked at */
	a->total += dc->len;
	if (a->total > UINT32_MAX) {
		/* The spec allows up to 2^32 bytes in all; out_len and in_len
		 * are 32-bit, so one direction cannot hold all 2^32.  A
		 * readable buffer here has no writable one before it. */
		if (a->total > CHAIN_MAX_BYTES ||
		    !(write ? c->out_len : c->in_len))
			return -EOVERFLOW;
	}

	/* Common case: the buffer lies in one region. */
	p = buf_ptr(d, dc->addr, dc->len);
	if (p) {
		if (used >= c->iov_cap)
			return -ENOBUFS;
		c->iov[used].iov_base = p;
		c->iov[used].iov_len = dc->len;
		n = 1;
	} else {
		if (used > c->iov_cap)
			return -ENOBUFS;
		n = virtq_gmem_iov(d->gmem, dc->addr, dc->len, c->iov + used,
				   c->iov_cap - used);
		if (n < 0)
			return n;
	}
	if (write) {
		c->n_in += (uint32_t)n;
		c->in_len += dc->len;
	} else {
		c->n_out += (uint32_t)n;
		c->out_len += dc->len;
	}
	return 0;
}

static inline void count_desc(struct virtq_chain *c)
{
	if (c->ndesc != UINT16_MAX)
		c->ndesc++;
}

static int walk_table(struct vqd *d, struct virtq_chain *c,
		      const struct table *t, uint32_t first, uint32_t walked,
		      struct acc *a, bool in_indirect);

/* @id is the descriptor that points at an indirect table. */
static int walk_indirect(struct vqd *d, struct virtq_chain *c,
			 const struct dcopy *id, struct acc *a)
{
	struct table t;
	void *p;

	if (!d->indirect_ok)
		return -EOPNOTSUPP;
	if (id->flags & VIRTQ_DESC_F_NEXT)
		return -EPROTO;
	if (id->len == 0 || id->len % sizeof(struct virtq_desc))
		return -EBADMSG;
	if (id->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
		return -E2BIG;
	t.len = id->len / sizeof(struct virtq_desc);
	t.gpa = id->addr;
	p = __virtq_gmem_ptr(d->gmem, id->addr, id->len);
	if (p && !((uintptr_t)p & 15)) {
		t.host = p;
	} else {
		/* Spans regions or is unaligned: each descriptor is copied
		 * out; first check that the whole table is guest memory. */
		if (!p && __virtq_gmem_check(d->gmem, id->addr, id->len))
			return -EFAULT;
		t.host = NULL;
	}
	c->indirect = true;
	return walk_table(d, c, &t, 0, 0, a, true);
}

/*
 * Follow a chain from entry @first of table @t, @walked of its descriptors
 * in that table already walked.  A chain may hold at most t->len
 * descriptors: one more means it loops.
 */
static int walk_table(struct vqd *d, struct virtq_chain *c,
		      const struct table *t, uint32_t first, uint32_t walked,
		      struct acc *a, bool in_indirect)
{
	uint32_t i = first, count = walked;
	struct dcopy dc;
	int ret;

	for (;;) {
		if (++count > t->len)
			return -ELOOP;
		ret = read_desc(d, t, i, &dc);
		if (ret)
			return ret;
		count_desc(c);
		if (dc.flags & VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect)
				return -EMLINK;
			/* No NEXT allowed, so the table ends the chain. */
			return walk_indirect(d, c, &dc, a);
		}
		ret = add_buf(d, c, &dc, a);
		if (ret)
			return ret;
		if (!(dc.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (dc.next >= t->len)
			return -ERANGE;
		i = dc.next;
	}
}

/*
 * walk_table() for the main descriptor table, the common case, with the
 * table's pointer and length known (checked at init): the same checks in
 * the same order, and the loop and add_buf() inlined into pop.
 */
static inline __attribute__((always_inline)) int
walk_main(struct vqd *d, struct virtq_chain *c, uint32_t i)
{
	const struct virtq_desc *desc = d->desc;
	uint32_t num = d->num, count = 0;
	struct acc a = { 0, false };
	struct dcopy dc;
	int ret;

	for (;;) {
		const struct virtq_desc *s = &desc[i];

		if (++count > num)
			return -ELOOP;
		/* Relaxed: each field read exactly once; ordering comes
		 * from the acquire of avail->idx (P1). */
		dc.addr = virtq_le64(virtq_load_relaxed(&s->addr));
		dc.len = virtq_le32(virtq_load_relaxed(&s->len));
		dc.flags = virtq_le16(virtq_load_relaxed(&s->flags));
		dc.next = virtq_le16(virtq_load_relaxed(&s->next));
		c->ndesc = (uint16_t)count;	/* count <= num <= 32768 */
		if (dc.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(d, c, &dc, &a);
		ret = add_buf(d, c, &dc, &a);
		if (ret)
			return ret;
		if (!(dc.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (dc.next >= num)
			return -ERANGE;
		i = dc.next;
	}
}

/* Reset @c for @head and walk its chain: 1, or pop's errors. */
static inline int walk_head(struct vqd *d, struct virtq_chain *c,
			    uint16_t head)
{
	int ret;

	c->head = head;
	c->ndesc = 0;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->indirect = false;
	if (head >= d->num)
		return -ERANGE;
	ret = walk_main(d, c, head);
	return ret ? ret : 1;
}

int virtq_device_walk(struct virtq_device *vq, uint16_t head,
		      struct virtq_chain *c)
{
	struct vqd *d = D(vq);

	if (d->broken)
		return -EIO;
	/* No acquire needed: the chain was made available (and popped by
	 * the previous server of the ring) before the control messages
	 * that restarted it; every descriptor is still read once. */
	return walk_head(d, c, head);
}

/* ---- returning chains ------------------------------------------------- */

/* push, broken or logging: the same steps, the log last. */
static __attribute__((noinline, cold)) int push_slow(struct vqd *d,
						     uint16_t head,
						     uint32_t len)
{
	struct virtq_used_elem *e;

	if (d->broken)
		return -EIO;
	if (head >= d->num)
		return -EINVAL;
	if (d->inflight == 0)
		return -EOVERFLOW;
	/* The buffers first: a used area the driver laid over the
	 * descriptor table would have the walk read our used element. */
	if (d->logging)
		log_push(d, head, len);
	/* Plain stores: published by the release store in flush (P2). */
	e = &d->used->ring[d->next_used & (d->num - 1)];
	e->id = virtq_cpu_to_le32(head);
	e->len = virtq_cpu_to_le32(len);
	d->next_used++;
	d->inflight--;
	return 0;
}

int virtq_device_push(struct virtq_device *vq, uint16_t head, uint32_t len)
{
	struct vqd *d = D(vq);
	struct virtq_used_elem *e;
	uint32_t mask, inflight;
	uint16_t next;

	/* One test for broken and logging (d->slow). */
	if (__builtin_expect(d->slow, 0))
		return push_slow(d, head, len);
	/* The queue's fields are read before the used element is written
	 * (a u32 store the compiler must assume may alias them). */
	mask = d->mask;
	if (head > mask)
		return -EINVAL;	/* head >= num */
	inflight = d->inflight;
	if (inflight == 0)
		return -EOVERFLOW;
	next = d->next_used;
	/* Plain stores: published by the release store in flush (P2). */
	e = &d->used->ring[next & mask];
	e->id = virtq_cpu_to_le32(head);
	e->len = virtq_cpu_to_le32(len);
	d->next_used = (uint16_t)(next + 1);
	d->inflight = inflight - 1;
	return 0;
}

int virtq_device_flush(struct virtq_device *vq)
{
	struct vqd *d = D(vq);
	/* Read before the store of used->idx (a u16 store the compiler must
	 * assume may alias them). */
	uint16_t slow = d->slow, next = d->next_used, n;

	if (__builtin_expect(slow, 0) && d->broken)
		return -EIO;
	n = (uint16_t)(next - d->published_used);
	if (n == 0)
		return 0;
	/* P2: pairs with the driver's acquire load of used->idx; the used
	 * elements and the data we wrote into its buffers go with it. */
	virtq_store_release(&d->used->idx, virtq_cpu_to_le16(next));
	/* Counted past u16: after 2^16 entries used->idx is back where it
	 * was, yet every used_event has gone by.  Before the log's tail
	 * call: a logged flush must interrupt like any other. */
	d->unsignalled += n;
	if (__builtin_expect(slow, 0))
		return log_flush(d, n);	/* logging: not broken here */
	d->published_used = next;
	return n;
}

/*
 * old = the used index at the previous call (as Linux vhost and QEMU do),
 * not at the last interrupt actually sent: the driver's used_event is
 * compared against the window of entries published since we last looked,
 * and a window that did not contain it needs no interrupt.  The window's
 * size is d->unsignalled, not new - old: 2^16 entries make new == old.
 */
bool virtq_device_need_interrupt(struct virtq_device *vq)
{
	struct vqd *d = D(vq);
	uint16_t new_idx = d->published_used, old = d->signalled_used;
	bool first = !d->signalled_valid || d->irq_rearm;
	uint64_t n = d->unsignalled;

	if (d->broken || (n == 0 && !d->irq_lost))
		return false;	/* nothing published since the last call */
	d->signalled_used = new_idx;
	d->signalled_valid = true;
	d->irq_rearm = false;
	d->unsignalled = 0;
	if (d->irq_lost) {
		/* After reclaim: the previous server may have published an
		 * entry and died before its interrupt; the driver would wait
		 * for it forever.  One spurious interrupt is harmless. */
		d->irq_lost = false;
		return true;
	}
	/* F2: our store of used->idx (flush) before the load of used_event /
	 * avail->flags; pairs with the driver's store of used_event or clear
	 * of NO_INTERRUPT, fence, load of used->idx. */
	virtq_mb();
	if (d->event_idx) {
		uint16_t ev = virtq_le16(virtq_load_relaxed(d->used_event));

		if (first || n > 0xffff)
			return true;	/* first after init/restore/reclaim, or
					 * every index went by */
		return virtq_need_event(ev, new_idx, old);
	}
	return !(virtq_le16(virtq_load_relaxed(&d->avail->flags)) &
		 VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* ---- kick suppression --------------------------------------------------- */

static void set_used_flags(struct vqd *d, uint16_t flags)
{
	if (d->used_flags_known && d->used_flags == flags)
		return;
	virtq_store_relaxed(&d->used->flags, virtq_cpu_to_le16(flags));
	d->used_flags = flags;
	d->used_flags_known = true;
}

void virtq_device_disable_notify(struct virtq_device *vq)
{
	struct vqd *d = D(vq);

	if (d->broken)
		return;
	d->notify_enabled = false;
	/* With EVENT_IDX avail_event is left behind: the driver's window
	 * moves past it and it stops kicking. */
	if (!d->event_idx)
		set_used_flags(d, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_device_enable_notify(struct virtq_device *vq)
{
	struct vqd *d = D(vq);

	if (d->broken)
		return false;	/* pop will report -EIO */
	d->notify_enabled = true;
	if (d->event_idx) {
		set_avail_event(d, d->last_avail);
	} else {
		set_used_flags(d, 0);
		virtq_mb();	/* F1: the flag store before the recheck */
	}
	if (d->last_avail != d->shadow_avail)
		return false;
	return read_avail_idx(d) == 0;
}

bool virtq_device_has_avail(struct virtq_device *vq)
{
	struct vqd *d = D(vq);

	if (d->broken || d->last_avail != d->shadow_avail)
		return true;
	return read_avail_idx(d) != 0;
}

/* ---- accessors ---------------------------------------------------------- */

uint32_t virtq_device_size(const struct virtq_device *vq)
{
	return CD(vq)->num;
}

uint16_t virtq_device_last_avail(const struct virtq_device *vq)
{
	return CD(vq)->last_avail;
}

uint16_t virtq_device_next_used(const struct virtq_device *vq)
{
	return CD(vq)->next_used;
}

uint32_t virtq_device_inflight(const struct virtq_device *vq)
{
	return CD(vq)->inflight;
}

bool virtq_device_is_broken(const struct virtq_device *vq)
{
	return CD(vq)->broken;
}

/* ---- taking over, saving, restoring ---------------------------------- */

/* Forget what we believe about shared fields we write. */
static void reset_shadows(struct vqd *d)
{
	d->rc_size = 0;		/* the region cache too */
	d->used_flags_known = false;
	d->avail_event_val = AVAIL_EVENT_UNKNOWN;
	d->notify_enabled = true;
	d->signalled_valid = false;
	d->irq_rearm = true;
	d->irq_lost = false;
	d->unsignalled = 0;
}

int virtq_device_reclaim(struct virtq_device *vq, uint16_t next_avail)
{
	struct vqd *d = D(vq);
	uint16_t used_idx, pending;

	if (!d->used)
		return -EIO;	/* never initialised successfully */
	/* Our own field, last written by whoever served the ring before. */
	used_idx = virtq_le16(virtq_load_acquire(&d->used->idx));
	d->broken = false;
	d->last_avail = d->shadow_avail = next_avail;
	d->next_used = d->published_used = d->signalled_used = used_idx;
	/* Chains taken before and not yet returned: they may be pushed now
	 * (vhost-user inflight resubmission).  More than num means used->idx
	 * (or @next_avail) is garbage: latched, with the count clamped so a
	 * saved record still restores. */
	pending = (uint16_t)(next_avail - used_idx);
	d->inflight = pending > d->num ? d->num : pending;
	reset_shadows(d);
	d->irq_lost = true;	/* signal once: the last one may be lost */
	if (pending > d->num) {
		d->broken = true;
		return -EIO;
	}
	if (read_avail_idx(d) < 0)
		return -EIO;
	d->shadow_avail = next_avail;	/* pop re-reads; keeps one path */
	return 0;
}

#define STATE_BROKEN		1u
#define STATE_SIGNALLED_VALID	2u
#define STATE_SIGNAL_PENDING	4u	/* reclaimed, not signalled since */

int virtq_device_save(struct virtq_device *vq, struct virtq_device_state *st)
{
	struct vqd *d = D(vq);

	virtq_device_flush(vq);
	memset(st, 0, sizeof(*st));
	st->magic = virtq_cpu_to_le32(VIRTQ_DEVICE_STATE_MAGIC);
	st->version = virtq_cpu_to_le32(VIRTQ_DEVICE_STATE_VERSION);
	st->num = virtq_cpu_to_le32(d->num);
	st->flags = virtq_cpu_to_le32((d->broken ? STATE_BROKEN : 0) |
				      (d->irq_lost ? STATE_SIGNAL_PENDING : 0) |
				      (d->signalled_valid ?
				       STATE_SIGNALLED_VALID : 0));
	st->features = virtq_cpu_to_le64(d->features);
	st->desc_addr = virtq_cpu_to_le64(d->desc_addr);
	st->avail_addr = virtq_cpu_to_le64(d->avail_addr);
	st->used_addr = virtq_cpu_to_le64(d->used_addr);
	st->last_avail = virtq_cpu_to_le16(d->last_avail);
	st->next_used = virtq_cpu_to_le16(d->published_used);
	st->signalled_used = virtq_cpu_to_le16(d->signalled_used);
	st->inflight = virtq_cpu_to_le32(d->inflight);
	return d->broken ? -EIO : 0;
}

int virtq_device_restore(struct virtq_device *vq, size_t mem_len,
			 const struct virtq_device_state *st,
			 const struct virtq_gmem *gmem)
{
	struct virtq_device_config cfg;
	struct vqd *d;
	uint32_t flags, inflight;
	uint16_t next_used;
	int ret;

	if (!vq || mem_len < virtq_device_mem_size())
		return -EINVAL;
	d = D(vq);
	forget(d);
	if (!st || !gmem)
		return -EINVAL;
	flags = virtq_le32(st->flags);
	inflight = virtq_le32(st->inflight);
	if (virtq_le32(st->magic) != VIRTQ_DEVICE_STATE_MAGIC ||
	    virtq_le32(st->version) != VIRTQ_DEVICE_STATE_VERSION ||
	    (flags & ~(STATE_BROKEN | STATE_SIGNALLED_VALID |
		       STATE_SIGNAL_PENDING)) ||
	    st->pad || st->pad2)
		return -EINVAL;
	cfg.num = virtq_le32(st->num);
	cfg.features = virtq_le64(st->features);
	cfg.desc_addr = virtq_le64(st->desc_addr);
	cfg.avail_addr = virtq_le64(st->avail_addr);
	cfg.used_addr = virtq_le64(st->used_addr);
	cfg.gmem = gmem;
	ret = setup(d, &cfg);
	if (ret)
		return ret;
	next_used = virtq_le16(st->next_used);
	/* Every chain in flight was taken and not returned. */
	if (inflight > cfg.num ||
	    inflight > (uint16_t)(virtq_le16(st->last_avail) - next_used)) {
		forget(d);
		return -EINVAL;
	}
	if (virtq_le16(virtq_load_acquire(&d->used->idx)) != next_used) {
		forget(d);
		return -EIO;
	}
	d->last_avail = d->shadow_avail = virtq_le16(st->last_avail);
	d->next_used = d->published_used = next_used;
	d->signalled_used = virtq_le16(st->signalled_used);
	d->inflight = inflight;
	/* The interrupt bookkeeping is restored as saved (so saving again
	 * gives the same record), but irq_rearm (reset_shadows) makes the
	 * first need_interrupt with news say yes, as after init and
	 * reclaim: one spurious interrupt at most, no wakeup lost. */
	reset_shadows(d);
	d->signalled_valid = flags & STATE_SIGNALLED_VALID;
	d->irq_lost = flags & STATE_SIGNAL_PENDING;
	d->broken = flags & STATE_BROKEN;
	return 0;
}

/* ---- batches: many chains per call ------------------------------------- */

/*
 * The tail of add_buf() for a buffer the lean walk below does not take on
 * its fast path (outside the cached region, spanning regions, or past the
 * iovec capacity): the same steps, out of line.  @used iovecs are filled.
 * Returns the iovecs added (>= 1), or add_buf()'s error.
 */
static __attribute__((noinline, cold)) int lean_buf_slow(struct vqd *d,
						    struct virtq_chain *c,
						    uint64_t addr, uint32_t len,
						    uint32_t used)
{
	void *p = buf_ptr(d, addr, len);

	if (p) {
		if (used >= c->iov_cap)
			return -ENOBUFS;
		c->iov[used].iov_base = p;
		c->iov[used].iov_len = len;
		return 1;
	}
	if (used > c->iov_cap)
		return -ENOBUFS;
	return virtq_gmem_iov(d->gmem, addr, len, c->iov + used,
			      c->iov_cap - used);
}

/*
 * An INDIRECT descriptor met by walk_lean_chain(): the shared walk, out of
 * line.  The chain's running counts are in @c.
 */
static __attribute__((noinline, cold)) int
lean_indirect(struct vqd *d, struct virtq_chain *c, uint64_t addr,
	      uint32_t len, uint16_t flags, uint16_t next, uint64_t total,
	      bool seen_write)
{
	struct dcopy dc = { addr, len, flags, next };
	struct acc a = { total, seen_write };
	int ret = walk_indirect(d, c, &dc, &a);

	return ret ? ret : 1;
}

/* Where walk_lean_chain() left a chain for lean_finish(). */
struct lean_resume {
	uint64_t addr;
	uint64_t total;		/* the chain's bytes, this buffer's included */
	uint32_t len;
	uint32_t count;		/* descriptors walked, this one included */
	uint16_t flags, next;
	bool seen_write;
};

/*
 * A buffer walk_lean_chain() does not take on its fast path (outside the
 * cached region, spanning regions, past the iovec capacity), its rules
 * before the lookup checked: add_buf()'s remaining steps, then the rest
 * of the chain by walk_table() (the main table: walk_main()'s steps), out
 * of line.  The chain's running counts are in @c.
 */
static __attribute__((noinline, cold)) int
lean_finish(struct vqd *d, struct virtq_chain *c, const struct lean_resume *r)
{
	struct table t = { .host = d->desc, .gpa = d->desc_addr, .len = d->num };
	struct acc a = { r->total, r->seen_write };
	int n = lean_buf_slow(d, c, r->addr, r->len, c->n_out + c->n_in);

	if (n < 0)
		return n;
	if (r->flags & VIRTQ_DESC_F_WRITE) {
		c->n_in += (uint32_t)n;
		c->in_len += r->len;
	} else {
		c->n_out += (uint32_t)n;
		c->out_len += r->len;
	}
	if (!(r->flags & VIRTQ_DESC_F_NEXT))
		return 1;
	if (r->next >= t.len)
		return -ERANGE;
	n = walk_table(d, c, &t, r->next, r->count, &a, false);
	return n ? n : 1;
}

/* walk_head()'s answer for a head out of range. */
static inline void lean_bad_head(struct virtq_chain *c, uint16_t head)
{
	c->head = head;
	c->ndesc = 0;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	c->indirect = false;
}

/*
 * buf_ptr()'s test of the cached region for a buffer of @len > 0 bytes at
 * @off past its start: off + len without a carry and <= rc_size implies
 * off < rc_size (a gpa below the region wraps off far past it).
 */
static inline bool in_rc(const struct vqd *d, uint64_t off, uint32_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(off, (uint64_t)len, &end) &&
	       end <= d->rc_size;
}

/*
 * walk_head() written for the common chain (direct descriptors in the main
 * table, buffers in the guest memory region buf_ptr() has cached), for a
 * @head already checked < num: the checks of walk_head() / walk_main() /
 * add_buf(), in the same order, with the same results in @c (also on
 * error), and no descriptor copy in memory.  Each descriptor is read from
 * shared memory once; what was read is handed on, never re-read, to the
 * out-of-line lean_indirect() / lean_buf_slow() for an indirect table or a
 * buffer off the fast path.  tests/device-pop-walk.c (pop against walk)
 * and fuzz/device.c (pop_batch against walk) check it against walk_head()
 * on random hostile rings.
 *
 * walk_lean(), inlined into pop, takes only the commonest chain: one
 * direct descriptor (no NEXT, no INDIRECT) whose buffer, if any, is in
 * the cached region and fits the iovecs.  With nothing before it, it
 * cannot be readable after writable, exceed 2^32 bytes or loop.  Anything
 * else goes to walk_lean_chain() with the first descriptor as read; it
 * keeps the chain's counts in locals and stores them into @c once, at
 * whichever exit.  c->head, c->ndesc = 1 and c->indirect are stored
 * before either runs.
 */

/* The chain's counts into @c, at an exit of walk_lean_chain(). */
static inline __attribute__((always_inline)) void
lean_store(struct virtq_chain *c, uint32_t count, uint32_t n_out,
	   uint32_t n_in, uint32_t out_len, uint32_t in_len)
{
	c->ndesc = (uint16_t)count;	/* count <= num <= 32768 */
	c->n_out = n_out;
	c->n_in = n_in;
	c->out_len = out_len;
	c->in_len = in_len;
}

/*
 * The buffer of @len > 0 bytes at @addr lies in the cached region and
 * the iovecs have room at @used: one iovec for it, and true.  Otherwise
 * nothing is written: lean_finish() takes it.
 */
static inline __attribute__((always_inline)) bool
lean_fits(struct vqd *d, struct virtq_chain *c, uint64_t addr, uint32_t len,
	  uint32_t used)
{
	uint64_t off = addr - d->rc_gpa;

	if (!in_rc(d, off, len) || used >= c->iov_cap)
		return false;
	c->iov[used].iov_base = d->rc_hva + off;
	c->iov[used].iov_len = len;
	return true;
}

/*
 * walk_main()'s steps from a descriptor with NEXT to the next one: next in
 * range, then the loop bound (one more than the table holds), then the
 * descriptor read, each field once (relaxed: ordering comes from the
 * acquire of avail->idx, P1).
 */
static inline __attribute__((always_inline)) int
lean_step(const struct virtq_desc *desc, uint32_t num, uint32_t *count,
	  uint64_t *addr, uint32_t *len, uint16_t *flags, uint16_t *next)
{
	const struct virtq_desc *s;

	if (__builtin_expect(*next >= num, 0))
		return -ERANGE;
	if (__builtin_expect(*count == num, 0))
		return -ELOOP;
	++*count;
	s = &desc[*next];
	*addr = virtq_le64(virtq_load_relaxed(&s->addr));
	*len = virtq_le32(virtq_load_relaxed(&s->len));
	*flags = virtq_le16(virtq_load_relaxed(&s->flags));
	*next = virtq_le16(virtq_load_relaxed(&s->next));
	return 0;
}

/*
 * @fn: the first descriptor's next << 16 | flags (five arguments, all in
 * registers: pop tail-calls this).
 */
static __attribute__((noinline)) int
walk_lean_chain(struct vqd *d, struct virtq_chain *c, uint64_t addr,
		uint32_t len, uint32_t fn)
{
	const struct virtq_desc *desc = d->desc;
	uint32_t num = d->num, count = 1, used = 0, n_out, out_len = 0;
	uint64_t total;
	uint16_t flags = (uint16_t)fn, next = (uint16_t)(fn >> 16);
	int ret;

	/*
	 * Two loops, one per direction, so that few counts are live (and
	 * stay in registers): the readable descriptors (iovecs used ==
	 * n_out, bytes out_len, nothing writable seen), then the writable
	 * ones (n_out and out_len fixed, bytes in all total).  Each loop
	 * makes walk_main()'s and add_buf()'s checks in their order.
	 */
	for (;;) {
		if (__builtin_expect(flags & VIRTQ_DESC_F_INDIRECT, 0)) {
			lean_store(c, count, used, 0, out_len, 0);
			return lean_indirect(d, c, addr, len, flags, next,
					     out_len, false);
		}
		if (flags & VIRTQ_DESC_F_WRITE)
			break;
		if (len) {
			/* add_buf()'s rule: a readable buffer with no
			 * writable one before it cannot take the total
			 * past UINT32_MAX (out_len is 32-bit). */
			if (__builtin_expect((uint64_t)out_len + len >
					     UINT32_MAX, 0)) {
				ret = -EOVERFLOW;
				goto out_read;
			}
			if (__builtin_expect(!lean_fits(d, c, addr, len,
							used), 0)) {
				struct lean_resume r = {
					addr, (uint64_t)out_len + len, len,
					count, flags, next, false,
				};

				lean_store(c, count, used, 0, out_len, 0);
				return lean_finish(d, c, &r);
			}
			used++;
			out_len += len;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT)) {
			ret = 1;
			goto out_read;
		}
		ret = lean_step(desc, num, &count, &addr, &len, &flags, &next);
		if (ret)
			goto out_read;
	}
	n_out = used;
	total = out_len;
	goto writable;	/* its INDIRECT and EILSEQ checks are made */
	for (;;) {
		if (__builtin_expect(flags & VIRTQ_DESC_F_INDIRECT, 0)) {
			lean_store(c, count, n_out, used - n_out, out_len,
				   (uint32_t)(total - out_len));
			return lean_indirect(d, c, addr, len, flags, next,
					     total, true);
		}
		if (__builtin_expect(!(flags & VIRTQ_DESC_F_WRITE), 0)) {
			ret = -EILSEQ;	/* readable after writable */
			goto out_write;
		}
writable:
		if (len) {
			/* add_buf()'s rule: at most 2^32 bytes in all, and
			 * in_len (32-bit) not all of them. */
			total += len;
			if (__builtin_expect(total > UINT32_MAX, 0) &&
			    (total > CHAIN_MAX_BYTES || !out_len)) {
				total -= len;
				ret = -EOVERFLOW;
				goto out_write;
			}
			if (__builtin_expect(!lean_fits(d, c, addr, len,
							used), 0)) {
				struct lean_resume r = {
					addr, total, len, count, flags, next,
					true,
				};

				lean_store(c, count, n_out, used - n_out,
					   out_len,
					   (uint32_t)(total - len - out_len));
				return lean_finish(d, c, &r);
			}
			used++;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT)) {
			ret = 1;
			goto out_write;
		}
		ret = lean_step(desc, num, &count, &addr, &len, &flags, &next);
		if (ret)
			goto out_write;
	}
out_read:
	lean_store(c, count, used, 0, out_len, 0);
	return ret;
out_write:
	lean_store(c, count, n_out, used - n_out, out_len,
		   (uint32_t)(total - out_len));
	return ret;
}

/*
 * Two adjacent u32 fields of a chain (n_out, n_in or out_len, in_len) in
 * one store: @v's low half is the first field.
 */
_Static_assert(offsetof(struct virtq_chain, n_in) ==
	       offsetof(struct virtq_chain, n_out) + 4, "n_out, n_in");
_Static_assert(offsetof(struct virtq_chain, in_len) ==
	       offsetof(struct virtq_chain, out_len) + 4, "out_len, in_len");
_Static_assert(VIRTQ_DESC_F_WRITE == 2, "walk_lean's shift");

static inline void store_pair(struct virtq_chain *c, size_t off, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = v << 32 | v >> 32;
#endif
	memcpy((char *)c + off, &v, sizeof(v));
}

/* c->head = @head and c->ndesc = 1 in one store. */
_Static_assert(offsetof(struct virtq_chain, ndesc) ==
	       offsetof(struct virtq_chain, head) + 2, "head, ndesc");

static inline void store_head(struct virtq_chain *c, uint16_t head)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	uint32_t v = (uint32_t)head << 16 | 1;
#else
	uint32_t v = 1u << 16 | head;
#endif
	memcpy((char *)c + offsetof(struct virtq_chain, head), &v, sizeof(v));
}

static inline __attribute__((always_inline)) int
walk_lean(struct vqd *d, struct virtq_chain *c, uint16_t head)
{
	const struct virtq_desc *s = &d->desc[head];
	uint64_t addr, off;
	uint32_t len, iovs = 0;
	uint16_t flags, next;
	unsigned int sh;

	store_head(c, head);	/* and ndesc = 1 */
	c->indirect = false;
	/* Relaxed: each field read exactly once; ordering comes from the
	 * acquire of avail->idx (P1). */
	addr = virtq_le64(virtq_load_relaxed(&s->addr));
	len = virtq_le32(virtq_load_relaxed(&s->len));
	flags = virtq_le16(virtq_load_relaxed(&s->flags));
	next = virtq_le16(virtq_load_relaxed(&s->next));
	if (__builtin_expect(flags & (VIRTQ_DESC_F_INDIRECT |
				      VIRTQ_DESC_F_NEXT), 0))
		return walk_lean_chain(d, c, addr, len,
				       (uint32_t)next << 16 | flags);
	if (len) {
		off = addr - d->rc_gpa;
		if (__builtin_expect(!(in_rc(d, off, len) && c->iov_cap), 0))
			return walk_lean_chain(d, c, addr, len,
					       (uint32_t)next << 16 | flags);
		c->iov[0].iov_base = d->rc_hva + off;
		c->iov[0].iov_len = len;
		iovs = 1;
	}
	/* The counts, one store per pair: the first field of each for a
	 * readable buffer (shift 0), the second for a writable (32). */
	sh = (flags & VIRTQ_DESC_F_WRITE) * 16u;
	store_pair(c, offsetof(struct virtq_chain, n_out), (uint64_t)iovs << sh);
	store_pair(c, offsetof(struct virtq_chain, out_len), (uint64_t)len << sh);
	return 1;
}

/*
 * pop_batch() once chains are known to be there (last_avail != shadow).
 * pop's rule, a chain offered while num are in flight latches the queue,
 * is one bound on the loop: at most num - inflight chains (inflight never
 * exceeds num).  d->mask is num - 1: "x > mask" is "x >= num".
 */
static __attribute__((noinline)) int pop_n(struct vqd *d,
					   struct virtq_chain *c,
					   unsigned int n)
{
	const uint16_t *ring = d->avail->ring;
	uint32_t mask = d->mask, room = mask + 1 - d->inflight;
	/* u32, masked to index: mask < 2^15, so no u16 wrap is needed. */
	uint32_t last = d->last_avail;
	uint16_t avail = (uint16_t)(d->shadow_avail - last);
	unsigned int want = n < avail ? n : avail;
	struct virtq_chain *first = c, *end = c + (want < room ? want : room);
	int ret;

	for (; c != end; c++, last++) {
		/* Relaxed, read once: ordered by the acquire (P1). */
		uint16_t head = virtq_le16(virtq_load_relaxed(
			&ring[last & mask]));

		if (__builtin_expect(head > mask, 0)) {
			if (c != first)
				break;	/* left for the next call to report */
			lean_bad_head(c, head);
			d->last_avail = (uint16_t)(last + 1);
			return -ERANGE;	/* consumed, not in flight */
		}
		ret = walk_lean(d, c, head);
		if (__builtin_expect(ret < 0, 0)) {
			if (c != first)
				break;	/* left for the next call to report */
			/* Consumed, as pop does, and in flight: it can be
			 * pushed back. */
			d->last_avail = (uint16_t)(last + 1);
			d->inflight++;
			return ret;
		}
	}
	if (__builtin_expect(c == first, 0)) {
		/* room == 0 < want: every descriptor is in flight. */
		d->broken = true;
		return -EIO;
	}
	d->last_avail = (uint16_t)last;
	d->inflight += (uint32_t)(c - first);
	return (int)(c - first);
}

/* pop_n() for one chain: the same steps without the loop.  @last is
 * d->last_avail, as the caller read it. */
static __attribute__((noinline)) int pop_1(struct vqd *d,
					   struct virtq_chain *c,
					   uint32_t last)
{
	uint32_t mask = d->mask, inflight = d->inflight;
	uint16_t head;

	if (__builtin_expect(inflight > mask, 0)) {
		d->broken = true;	/* as pop: never more than num in flight */
		return -EIO;
	}
	/* Relaxed, read once: ordered by the acquire (P1). */
	head = virtq_le16(virtq_load_relaxed(&d->avail->ring[last & mask]));
	d->last_avail = (uint16_t)(last + 1);
	if (__builtin_expect(head > mask, 0)) {
		lean_bad_head(c, head);
		return -ERANGE;	/* consumed, not in flight: cannot be pushed */
	}
	d->inflight = inflight + 1;
	return walk_lean(d, c, head);
}

/*
 * pop: pop_1(), the lean walk of pop_batch(), after the same entry.
 * walk (walk_head()) keeps the general walker: tests/device-pop-walk.c
 * and fuzz/device.c hold each against the other.
 */
int virtq_device_pop(struct virtq_device *vq, struct virtq_chain *c)
{
	struct vqd *d = D(vq);
	uint16_t last;
	int ret;

	if (d->broken)
		return -EIO;
	last = d->last_avail;
	if (last == d->shadow_avail) {
		if (d->kick == KICK_EVENT)
			set_avail_event(d, last);
		ret = read_avail_idx_at(d, last);
		if (ret <= 0)
			return ret;
	}
	/* pop_1(): every descriptor in flight latches the queue before
	 * consuming, so the in-flight count never exceeds num (save /
	 * restore rely on it); a head out of range is consumed and not in
	 * flight (it cannot be pushed back). */
	return pop_1(d, c, last);
}

int virtq_device_pop_batch(struct virtq_device *vq, struct virtq_chain *c,
			   unsigned int n)
{
	struct vqd *d = D(vq);
	uint16_t last, avail;
	int ret;

	if (d->broken)
		return -EIO;
	if (!n)
		return 0;
	/* As pop: avail->idx is read only when our copy is used up. */
	last = d->last_avail;
	avail = (uint16_t)(d->shadow_avail - last);
	if (!avail) {
		if (d->kick == KICK_EVENT)
			set_avail_event(d, last);
		ret = read_avail_idx_at(d, last);
		if (ret <= 0)
			return ret;
		avail = (uint16_t)ret;
	}
	if (avail == 1 || n == 1)
		return pop_1(d, c, last);
	return pop_n(d, c, n);
}

/* push_batch()'s end: account for @n pushed entries and publish (P2). */
static inline __attribute__((always_inline)) int
push_publish(struct vqd *d, unsigned int n)
{
	uint16_t next = (uint16_t)(d->next_used + n);

	d->inflight -= n;
	d->next_used = next;
	n = (uint16_t)(next - d->published_used);
	if (!n)
		return 0;
	/* P2: pairs with the driver's acquire load of used->idx; the used
	 * elements and the data we wrote into its buffers go with it. */
	virtq_store_release(&d->used->idx, virtq_cpu_to_le16(next));
	/* As flush: need_interrupt's window, counted past u16. */
	d->unsignalled += n;
	if (__builtin_expect(d->logging, 0))
		return log_flush(d, (uint16_t)n);	/* sets published_used */
	d->published_used = next;
	return (int)n;
}

/* push_batch() for other than one entry, or with the queue broken or
 * logging: the general way. */
static __attribute__((noinline)) int push_n(struct vqd *d,
					    const uint16_t *heads,
					    const uint32_t *lens,
					    unsigned int n)
{
	struct virtq_used_elem *ring = d->used->ring;
	uint16_t mask = (uint16_t)(d->num - 1), next = d->next_used;
	unsigned int k;

	if (d->broken)
		return -EIO;
	for (k = 0; k < n; k++)
		if (heads[k] >= d->num)
			return -EINVAL;
	if (n > d->inflight)
		return -EOVERFLOW;
	/* The buffers first, as push: the walks must not read used
	 * elements a driver's overlapping rings put in the table. */
	if (__builtin_expect(d->logging, 0))
		log_push_batch(d, heads, lens, n);
	for (k = 0; k < n; k++) {
		struct virtq_used_elem *e = &ring[(uint16_t)(next + k) & mask];

		/* Plain stores: published by the release store (P2). */
		e->id = virtq_cpu_to_le32(heads[k]);
		e->len = virtq_cpu_to_le32(lens[k]);
	}
	return push_publish(d, n);
}

int virtq_device_push_batch(struct virtq_device *vq, const uint16_t *heads,
			    const uint32_t *lens, unsigned int n)
{
	struct vqd *d = D(vq);
	struct virtq_used_elem *e;
	uint32_t mask, inflight;
	uint16_t head, next, pub;

	if (__builtin_expect(d->slow, 0) || n != 1)
		return push_n(d, heads, lens, n);
	/* The commonest batch, without a loop or logging.  push's order of
	 * checks.  The queue's fields are read before the used element is
	 * written (a u32 store the compiler must assume may alias them). */
	head = heads[0];
	mask = d->mask;
	if (head > mask)
		return -EINVAL;	/* head >= num */
	inflight = d->inflight;
	if (!inflight)
		return -EOVERFLOW;
	next = d->next_used;
	e = &d->used->ring[next & mask];
	/* Plain stores: published by the release store (P2). */
	e->id = virtq_cpu_to_le32(head);
	e->len = virtq_cpu_to_le32(lens[0]);
	d->inflight = inflight - 1;
	next++;
	d->next_used = next;
	pub = (uint16_t)(next - d->published_used);
	if (!pub)
		return 0;	/* 2^16 pushes since the last flush */
	/* P2: pairs with the driver's acquire load of used->idx; the used
	 * elements and the data we wrote into its buffers go with it. */
	virtq_store_release(&d->used->idx, virtq_cpu_to_le16(next));
	/* As flush: need_interrupt's window, counted past u16. */
	d->unsignalled += pub;
	d->published_used = next;
	return pub;
}

/* ---- dirty logging (live migration) ----------------------------------- */

/*
 * Everything here runs only while a log is set (d->logging): push and
 * flush test that one flag and call in; virtq_device_set_log() covers
 * the avail_event and used->flags stores.
 */

/*
 * Mark the pages of [gpa, gpa + len); pages past the bitmap are skipped.
 * One atomic OR per bitmap byte (eight pages): the frontend clears bits
 * while we set them, other queues' threads set bits in the same bytes,
 * and the read-modify-write orders our writes to guest memory before the
 * mark.
 */
static void log_range(const struct vqd *d, uint64_t gpa, uint64_t len)
{
	uint64_t first, last, pages = d->log_len * 8;

	if (!len)
		return;
	first = gpa / VIRTQ_LOG_PAGE;
	last = (len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1) /
	       VIRTQ_LOG_PAGE;
	if (first >= pages)
		return;
	if (last >= pages)
		last = pages - 1;
	for (uint64_t b = first / 8; b <= last / 8; b++) {
		unsigned int lo = b == first / 8 ? first % 8 : 0;
		unsigned int hi = b == last / 8 ? last % 8 : 7;
		uint8_t bits = (uint8_t)((0xffu >> (7 - hi)) & (0xffu << lo));

		__atomic_fetch_or(&d->log[b], bits, __ATOMIC_SEQ_CST);
	}
}

static void log_used_area(const struct vqd *d, uint64_t off, uint64_t len)
{
	if (d->log_used_gpa != VIRTQ_DEVICE_NO_USED_LOG)
		log_range(d, d->log_used_gpa + off, len);
}

/*
 * The @n used entries just published (from published_used on) and
 * used->idx; finishes flush (published_used) and returns its result.
 */
static int log_flush(struct vqd *d, uint16_t n)
{
	uint64_t end = 4 + 8 * (uint64_t)((d->published_used & (d->num - 1)) + n);

	/* One range from used->idx to the last entry written; a batch that
	 * wraps the ring covers all of it.  Marking the entries before the
	 * batch too costs nothing: the same few pages. */
	if (end > 4 + 8 * (uint64_t)d->num)
		end = 4 + 8 * (uint64_t)d->num;
	log_used_area(d, 2, end - 2);
	d->published_used = d->next_used;
	return n;
}

/*
 * The device wrote @len bytes into the writable buffers of the chain at
 * @head: walk it again (as pop did, each descriptor read once) and mark
 * those bytes.  A chain the driver rewrote since pop is logged as far as
 * it still walks: its own memory, its own loss.  Returns 0 (push's result).
 */
static int log_push(struct vqd *d, uint16_t head, uint32_t len)
{
	struct table t = { .host = d->desc, .gpa = d->desc_addr, .len = d->num };
	uint32_t i = head, count = 0;
	bool in_indirect = false;
	struct dcopy dc;

	while (len) {
		if (i >= t.len || ++count > t.len || read_desc(d, &t, i, &dc))
			return 0;
		if (dc.flags & VIRTQ_DESC_F_INDIRECT) {
			void *p;

			if (in_indirect || !d->indirect_ok || !dc.len ||
			    dc.len % sizeof(struct virtq_desc) ||
			    dc.len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
				return 0;
			t.len = dc.len / sizeof(struct virtq_desc);
			t.gpa = dc.addr;
			p = __virtq_gmem_ptr(d->gmem, dc.addr, dc.len);
			if (p && !((uintptr_t)p & 15))
				t.host = p;
			else if (!p && __virtq_gmem_check(d->gmem, dc.addr, dc.len))
				return 0;
			else
				t.host = NULL;
			in_indirect = true;
			i = 0;
			count = 0;
			continue;
		}
		if (dc.flags & VIRTQ_DESC_F_WRITE) {
			uint32_t n = dc.len < len ? dc.len : len;

			log_range(d, dc.addr, n);
			len -= n;
		}
		if (!(dc.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = dc.next;
	}
	return 0;
}

/* push_batch's buffers: log_push() for each entry. */
static void log_push_batch(struct vqd *d, const uint16_t *heads,
			   const uint32_t *lens, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		log_push(d, heads[k], lens[k]);
}

int virtq_device_set_log(struct virtq_device *vq, uint8_t *bitmap,
			 uint64_t bitmap_len, uint64_t used_log_gpa)
{
	struct vqd *d;

	if (!vq)
		return -EINVAL;
	d = D(vq);
	/* avail_event and used->flags are stored on the pop / notify path,
	 * which stays free of logging: the whole used area is marked in the
	 * log being left instead (the ring stops, or the log changes). */
	if (d->logging && d->used)
		log_used_area(d, 0, virtq_used_size(d->num));
	d->log = bitmap;
	d->log_len = bitmap ? bitmap_len : 0;
	d->log_used_gpa = used_log_gpa;
	d->logging = bitmap && bitmap_len;
	return 0;
}
