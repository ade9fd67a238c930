/* SPDX-License-Identifier: MIT */
/*
 * driver.c - the driver side of a split virtqueue (see virtq/driver.h).
 *
 * Freestanding: only compiler headers and our own ring / atomic / driver
 * headers, no libc call, no allocation.  tests/freestanding.sh builds this
 * file with -ffreestanding -nostdlib and checks that the object needs no
 * outside symbol.  To keep the compiler from turning loops into memset /
 * memcpy calls, ring memory is cleared with relaxed atomic stores and
 * structs are never copied whole.
 *
 * Bookkeeping lives only in driver-private memory (struct virtq_driver and
 * its slot[] array): the free list, the per-chain records, the indices.
 * What the device writes (used ring, avail_event, used->flags) is read once
 * per field, then checked against the private records before anything is
 * done with it.
 *
 * Index arithmetic: avail and used indices are free-running uint16_t; only
 * differences (mod 2^16) are compared, and an index is masked with
 * num - 1 only when it addresses a ring slot.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/atomic.h"
#include "virtq/driver.h"
#include "virtq/ring.h"

/*
 * Error numbers.  A hosted build takes them from <errno.h>.  A freestanding
 * build has no libc headers, so it uses Linux's values: -errno then means
 * the same thing on bare metal as on Linux.  On hosted Linux builds the two
 * sets are checked to agree.
 */
#define VQ_LINUX_EIO	5
#define VQ_LINUX_EFAULT	14
#define VQ_LINUX_EINVAL	22
#define VQ_LINUX_ENOSPC	28

#if __STDC_HOSTED__
#include <errno.h>
#if defined(__linux__)
_Static_assert(EIO == VQ_LINUX_EIO, "EIO differs from Linux");
_Static_assert(EFAULT == VQ_LINUX_EFAULT, "EFAULT differs from Linux");
_Static_assert(EINVAL == VQ_LINUX_EINVAL, "EINVAL differs from Linux");
_Static_assert(ENOSPC == VQ_LINUX_ENOSPC, "ENOSPC differs from Linux");
#endif
#else
#define EIO	VQ_LINUX_EIO
#define EFAULT	VQ_LINUX_EFAULT
#define EINVAL	VQ_LINUX_EINVAL
#define ENOSPC	VQ_LINUX_ENOSPC
#endif

/*
 * One record per descriptor index, private to the driver.  For a free
 * descriptor only @next matters (free-list link).  For the head of an
 * outstanding chain every field is set; the other descriptors of a direct
 * chain use @next as the chain link (the same value written to desc.next).
 * @token is non-NULL exactly for heads of outstanding chains.  get_used
 * accepts a used id only for a head with a token that is not staged
 * (added, avail->idx not yet past it: the device cannot have seen it).
 *
 * Staged is not a flag that publish would have to clear entry by entry:
 * @pos is the avail position the head was placed at, and a head can be
 * staged only if the staged window [avail_pub, avail_idx) is non-empty
 * and holds @pos (vq_staged()).  @pos alone does not decide: a chain kept
 * out while 2^16 others went round has a stale @pos that the window can
 * cover again, so the window's private ring copies are what decide.
 *
 * @ring is unrelated to the slot's own descriptor: slot[i].ring is the
 * private copy of avail->ring[i], so the staged heads are found without
 * reading shared memory back.
 */
struct vq_slot {
	void *token;
	uint32_t in_len;	/* device-writable bytes of the chain */
	uint16_t next;		/* free-list link, or chain link while in use */
	uint16_t tail;		/* last ring descriptor of the chain */
	uint16_t ndesc;		/* ring descriptors held (1 if indirect) */
	uint16_t pos;		/* avail position of this head when added */
	uint16_t ring;		/* head we wrote to avail->ring[this index] */
};

/*
 * vq->flags: each bit names a reason to leave a fast path, so that each
 * fast path tests the few reasons that concern it with one instruction
 * (all clear: go).  VQ_F_HOOKS and VQ_F_IND1 are set at init; the others
 * move with the queue's state.
 */
#define VQ_F_BROKEN	0x01	/* the device broke the protocol */
#define VQ_F_HOOKS	0x02	/* translate or a cache hook is set */
#define VQ_F_IND1	0x04	/* one buffer goes indirect (indirect_min 1) */
#define VQ_F_NOEVENT	0x08	/* VIRTQ_F_EVENT_IDX not negotiated */
#define VQ_F_DISARMED	0x10	/* callbacks disabled */

/* One-buffer adds need none of these; takes need neither of the first. */
#define VQ_F_ADD_SLOW	(VQ_F_BROKEN | VQ_F_HOOKS | VQ_F_IND1)
#define VQ_F_TAKE_SLOW	(VQ_F_BROKEN | VQ_F_HOOKS)
/* used_event follows last_used: EVENT_IDX with callbacks enabled. */
#define VQ_F_NO_USED_EVENT	(VQ_F_NOEVENT | VQ_F_DISARMED)

/* Hot fields (add / publish / kick / get_used) fill the first two lines. */
#define VQ_HOT_BYTES	128

/*
 * The driver-private state.  Not shown to the device.  The caller's memory
 * is only required to be 16-byte aligned, so the struct does not claim a
 * larger alignment; with 64-byte aligned memory the hot part sits on its
 * own two cache lines, away from the rarely used configuration.
 */
struct virtq_driver {
	union {
		struct {
			struct virtq_desc *desc;
			struct virtq_avail *avail;
			struct virtq_used *used;
			uint16_t *used_event;	/* after avail->ring[num] */
			uint16_t *avail_event;	/* after used->ring[num] */
			char *ind_pool;		/* indirect tables, or NULL */
			uint64_t ind_dev;	/* device address of ind_pool */
			uint64_t (*translate)(void *, const void *, size_t,
					      size_t *);
			void (*cache_clean)(void *, const void *, size_t);
			void (*cache_invalidate)(void *, const void *, size_t);
			void *opaque;
			/* Published since the last kick_prepare.  64 bits:
			 * publish adds without a cap, and it cannot wrap. */
			uint64_t since_kick;
			/* Not side by side: compilers would pair their
			 * updates into vector instructions, longer than two
			 * scalar ones. */
			uint32_t num_free;	/* free descriptors */
			uint32_t ind_stride;	/* bytes per indirect table */
			uint32_t outstanding;	/* chains added, not yet back */
			uint16_t mask;		/* num - 1 */
			uint16_t free_head;	/* first free descriptor */
			uint16_t avail_idx;	/* next avail entry to fill (staged) */
			uint16_t avail_pub;	/* avail->idx as last published */
			uint16_t kick_old;	/* avail->idx at the last kick_prepare */
			uint16_t last_used;	/* next used entry to take */
			uint16_t used_seen;	/* used->idx as last loaded and checked */
			uint16_t ind_min;	/* chains of ind_min..ind_max segments */
			uint16_t ind_max;	/*   go indirect */
			uint8_t avail_flags;	/* what we last wrote to avail->flags
						 * (NO_INTERRUPT is its one bit) */
			uint8_t flags;		/* VQ_F_* */
		};
		char hot_lines[VQ_HOT_BYTES];
	};

	/* Cold: set at init, read by setup and teardown calls only. */
	uint64_t features;
	uint64_t desc_dev, avail_dev, used_dev;
	int (*notify)(void *, uint16_t);
	void *notify_opaque;
	uint32_t num;
	uint16_t queue_index;
	uint32_t detach_pos;		/* where detach_unused resumes its scan */

	struct vq_slot slot[];
};

/*
 * VIRTQ_DRIVER_MEM_SIZE(num) in driver.h must bound virtq_driver_mem_size()
 * for every num.  Both are affine in num, so checking the constant part and
 * the per-entry part bounds them all.
 */
_Static_assert(sizeof(struct virtq_driver) <= VIRTQ_DRIVER_MEM_SIZE(0),
	       "VIRTQ_DRIVER_MEM_SIZE: fixed part too small");
_Static_assert(sizeof(struct vq_slot) <=
	       VIRTQ_DRIVER_MEM_SIZE(1) - VIRTQ_DRIVER_MEM_SIZE(0),
	       "VIRTQ_DRIVER_MEM_SIZE: per-entry part too small");
_Static_assert(offsetof(struct virtq_driver, features) == VQ_HOT_BYTES,
	       "hot fields overflow their cache lines");

/* A chain longer than this many bytes cannot be described (len is u32). */
#define VQ_MAX_CHAIN_BYTES	0xffffffffull

/* ---- small helpers --------------------------------------------------- */

static inline void vq_clean(const struct virtq_driver *vq, const void *p,
			    size_t len)
{
	if (vq->cache_clean)
		vq->cache_clean(vq->opaque, p, len);
}

static inline void vq_invalidate(const struct virtq_driver *vq, const void *p,
				 size_t len)
{
	if (vq->cache_invalidate)
		vq->cache_invalidate(vq->opaque, p, len);
}

/*
 * Device address of @len bytes at @addr; *mapped gets how many of them are
 * contiguous there (1..len).  VIRTQ_ADDR_INVALID if the hook cannot map
 * @addr, or answers nonsense (nothing mapped, or more than asked).
 */
static inline uint64_t vq_map(const struct virtq_driver *vq, const void *addr,
			      uint32_t len, uint32_t *mapped)
{
	uint64_t dev;
	size_t m = 0;

	if (!vq->translate) {
		*mapped = len;
		return (uint64_t)(uintptr_t)addr;
	}
	dev = vq->translate(vq->opaque, addr, len, &m);
	if (dev == VIRTQ_ADDR_INVALID || m == 0 || m > len)
		return VIRTQ_ADDR_INVALID;
	*mapped = (uint32_t)m;
	return dev;
}

/* Map a whole area, which must be contiguous in device space. */
static int vq_map_area(const struct virtq_driver *vq, const void *addr,
		       size_t len, uint64_t *dev)
{
	size_t m = 0;

	if (!vq->translate) {
		*dev = (uint64_t)(uintptr_t)addr;
		return 0;
	}
	*dev = vq->translate(vq->opaque, addr, len, &m);
	if (*dev == VIRTQ_ADDR_INVALID || m != len)
		return -EFAULT;
	return 0;
}

/*
 * Zero shared ring memory.  Relaxed atomic stores: the compiler may not
 * turn them into a memset call (none exists freestanding), and a device
 * still peeking at the ring sees whole old or new values.  Every area is
 * 2-byte aligned and an even number of bytes long.
 */
static void vq_zero16(const struct virtq_driver *vq, void *p, size_t len)
{
	uint16_t *w = p;
	size_t i;

	for (i = 0; i < len / 2; i++)
		virtq_store_relaxed(&w[i], (uint16_t)0);
	vq_clean(vq, p, len);
}

static inline uint16_t vq_load_used_idx(const struct virtq_driver *vq)
{
	vq_invalidate(vq, &vq->used->idx, sizeof(vq->used->idx));
	/* P2: pairs with the device's release store of used->idx; the used
	 * elements and the data it wrote are visible after this. */
	return virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx));
}

static int vq_set_broken(struct virtq_driver *vq)
{
	vq->flags |= VQ_F_BROKEN;
	return -EIO;
}

static inline bool vq_broken(const struct virtq_driver *vq)
{
	return vq->flags & VQ_F_BROKEN;
}

/*
 * Is the outstanding head @head (record @s) staged, i.e. added but not
 * yet published?  A head is staged exactly when it sits at a position of
 * the staged window [avail_pub, avail_idx).  That window is at most num
 * long (each staged chain holds a descriptor) and num divides 2^16, so
 * the one window position that can hold @head is s->pos, and
 * slot[pos & mask].ring tells whose head was placed there.  A stale pos
 * (the chain was published, then 2^16 entries went round while it stayed
 * out) that the window covers again finds another head there: a
 * published chain is never taken for a staged one, nor the reverse.
 * Empty window (the common case): one compare.
 */
static __attribute__((noinline, cold)) bool
vq_staged_window(const struct virtq_driver *vq, const struct vq_slot *s,
		 uint16_t head)
{
	uint16_t pub = vq->avail_pub;

	return (uint16_t)(s->pos - pub) < (uint16_t)(vq->avail_idx - pub) &&
	       vq->slot[s->pos & vq->mask].ring == head;
}

static inline bool vq_staged(const struct virtq_driver *vq,
			     const struct vq_slot *s, uint16_t head)
{
	if (__builtin_expect(vq->avail_idx == vq->avail_pub, 1))
		return false;
	return vq_staged_window(vq, s, head);
}

/*
 * The most entries used->idx may be ahead of last_used: the chains out
 * and published (staged ones are not the device's to return yet).
 */
static inline uint32_t vq_used_limit(const struct virtq_driver *vq)
{
	uint16_t staged = (uint16_t)(vq->avail_idx - vq->avail_pub);

	if (__builtin_expect(!staged, 1))
		return vq->outstanding;
	return vq->outstanding > staged ? vq->outstanding - staged : 0;
}

/* ---- setup ------------------------------------------------------------- */

size_t virtq_driver_mem_size(uint32_t num)
{
	if (!virtq_size_valid(num))
		return 0;
	return sizeof(struct virtq_driver) + (size_t)num * sizeof(struct vq_slot);
}

size_t virtq_driver_indirect_size(uint32_t num, uint32_t max)
{
	uint32_t entries;

	if (!virtq_size_valid(num) || max < 2 || max > VIRTQ_MAX_SIZE)
		return 0;
	/*
	 * Both are <= 2^15, so the entry count fits in 32 bits and only the
	 * byte count can overflow a 32-bit size_t.  No 64-bit multiply: on
	 * cores without one (Cortex-M0) it is a runtime-library call.
	 */
	entries = num * max;
#if SIZE_MAX <= 0xffffffffu
	if (entries > SIZE_MAX / sizeof(struct virtq_desc))
		return 0;
#endif
	return (size_t)entries * sizeof(struct virtq_desc);
}

int virtq_driver_config_legacy(struct virtq_driver_config *cfg, void *base,
			       size_t align)
{
	char *p = base;

	if (!cfg || !base || !virtq_size_valid(cfg->num))
		return -EINVAL;
	if (align < 16 || (align & (align - 1)) ||
	    ((uintptr_t)base & (align - 1)))
		return -EINVAL;
	cfg->desc = base;
	cfg->avail = (struct virtq_avail *)(void *)(p + virtq_desc_size(cfg->num));
	cfg->used = (struct virtq_used *)(void *)
		    (p + virtq_legacy_used_offset(cfg->num, align));
	return 0;
}

/* Everything reset() restores; the configuration is left alone. */
static void vq_reset_state(struct virtq_driver *vq)
{
	uint32_t i, num = vq->num;

	vq_zero16(vq, vq->desc, virtq_desc_size(num));
	vq_zero16(vq, vq->avail, virtq_avail_size(num));
	vq_zero16(vq, vq->used, virtq_used_size(num));

	for (i = 0; i < num; i++) {
		struct vq_slot *s = &vq->slot[i];

		s->token = NULL;
		s->in_len = 0;
		s->next = (uint16_t)(i + 1);	/* last one is never followed */
		s->tail = 0;
		s->ndesc = 0;
		s->pos = 0;
		s->ring = 0;
	}
	vq->num_free = num;
	vq->outstanding = 0;
	vq->since_kick = 0;
	vq->free_head = 0;
	vq->avail_idx = 0;
	vq->avail_pub = 0;
	vq->kick_old = 0;
	vq->last_used = 0;
	vq->used_seen = 0;
	vq->avail_flags = 0;
	/* Not broken, callbacks armed: zeroed rings ask for every
	 * interrupt. */
	vq->flags &= (uint8_t)~(VQ_F_BROKEN | VQ_F_DISARMED);
	vq->detach_pos = 0;
}

static int vq_check_config(struct virtq_driver *vq, size_t mem_len,
			   const struct virtq_driver_config *cfg)
{
	if (!vq || !cfg || !virtq_size_valid(cfg->num))
		return -EINVAL;
	if ((uintptr_t)vq & 15 || mem_len < virtq_driver_mem_size(cfg->num))
		return -EINVAL;
	if (!cfg->desc || !cfg->avail || !cfg->used)
		return -EINVAL;
	/* Ring features we do not implement are refused, never ignored. */
	if (cfg->features & ~(VIRTQ_DRIVER_FEATURES | VIRTQ_DEVICE_FEATURES_MASK))
		return -EINVAL;
	if ((uintptr_t)cfg->desc & (VIRTQ_DESC_ALIGN - 1) ||
	    (uintptr_t)cfg->avail & (VIRTQ_AVAIL_ALIGN - 1) ||
	    (uintptr_t)cfg->used & (VIRTQ_USED_ALIGN - 1))
		return -EINVAL;
	return 0;
}

/* Indirect tables are used when negotiated and given a pool of >= 2. */
static int vq_setup_indirect(struct virtq_driver *vq,
			     const struct virtq_driver_config *cfg)
{
	size_t bytes;

	vq->ind_pool = NULL;
	vq->ind_dev = 0;
	vq->ind_stride = 0;
	vq->ind_min = 0;
	vq->ind_max = 0;
	if (!(cfg->features & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)) ||
	    !cfg->indirect || cfg->indirect_max < 2)
		return 0;
	if ((uintptr_t)cfg->indirect & (VIRTQ_DESC_ALIGN - 1) ||
	    cfg->indirect_max > VIRTQ_MAX_SIZE)
		return -EINVAL;
	bytes = virtq_driver_indirect_size(cfg->num, cfg->indirect_max);
	if (!bytes)
		return -EINVAL;
	if (vq_map_area(vq, cfg->indirect, bytes, &vq->ind_dev))
		return -EFAULT;
	vq->ind_pool = cfg->indirect;
	vq->ind_stride = (uint32_t)cfg->indirect_max * sizeof(struct virtq_desc);
	/* 2.7.5.3.1: no chain longer than the queue size, in a table too. */
	vq->ind_max = cfg->indirect_max < cfg->num ? cfg->indirect_max :
						     (uint16_t)cfg->num;
	vq->ind_min = cfg->indirect_min ? cfg->indirect_min : 2;
	return 0;
}

int virtq_driver_init(struct virtq_driver *vq, size_t mem_len,
		      const struct virtq_driver_config *cfg)
{
	uint32_t num;
	int r;

	r = vq_check_config(vq, mem_len, cfg);
	if (r)
		return r;
	num = cfg->num;

	/* Field by field: a struct copy could become a memcpy call. */
	vq->num = num;
	vq->mask = (uint16_t)(num - 1);
	vq->features = cfg->features;
	vq->desc = cfg->desc;
	vq->avail = cfg->avail;
	vq->used = cfg->used;
	vq->used_event = virtq_used_event(cfg->avail, num);
	vq->avail_event = virtq_avail_event(cfg->used, num);
	vq->notify = cfg->notify;
	vq->notify_opaque = cfg->notify_opaque ? cfg->notify_opaque : cfg->opaque;
	vq->queue_index = cfg->queue_index;
	vq->translate = cfg->translate;
	vq->cache_clean = cfg->cache_clean;
	vq->cache_invalidate = cfg->cache_invalidate;
	vq->opaque = cfg->opaque;
	vq->flags = 0;
	if (!(cfg->features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)))
		vq->flags |= VQ_F_NOEVENT;
	if (cfg->translate || cfg->cache_clean || cfg->cache_invalidate)
		vq->flags |= VQ_F_HOOKS;

	if (vq_map_area(vq, cfg->desc, virtq_desc_size(num), &vq->desc_dev) ||
	    vq_map_area(vq, cfg->avail, virtq_avail_size(num), &vq->avail_dev) ||
	    vq_map_area(vq, cfg->used, virtq_used_size(num), &vq->used_dev))
		return -EFAULT;
	r = vq_setup_indirect(vq, cfg);
	if (r)
		return r;
	if (vq->ind_min == 1)
		vq->flags |= VQ_F_IND1;

	vq_reset_state(vq);
	return 0;
}

void virtq_driver_reset(struct virtq_driver *vq)
{
	vq_reset_state(vq);
}

void virtq_driver_ring_addrs(const struct virtq_driver *vq, uint64_t *desc,
			     uint64_t *avail, uint64_t *used)
{
	if (desc)
		*desc = vq->desc_dev;
	if (avail)
		*avail = vq->avail_dev;
	if (used)
		*used = vq->used_dev;
}

/* ---- add ---------------------------------------------------------------- */

/*
 * Check the buffer lists; on success *in_len is the device-writable total.
 * One pass over the caller's lists (not over the ring).
 */
static int vq_check_sg(const struct virtq_sg *out, unsigned int n_out,
		       const struct virtq_sg *in, unsigned int n_in,
		       uint32_t *in_len)
{
	uint64_t total = 0, in_total = 0;
	unsigned int i;

	if ((n_out && !out) || (n_in && !in) || (!n_out && !n_in))
		return -EINVAL;
	for (i = 0; i < n_out; i++) {
		if (!out[i].len)
			return -EINVAL;
		total += out[i].len;
	}
	for (i = 0; i < n_in; i++) {
		if (!in[i].len)
			return -EINVAL;
		in_total += in[i].len;
	}
	total += in_total;
	if (total > VQ_MAX_CHAIN_BYTES)
		return -EINVAL;
	*in_len = (uint32_t)in_total;
	return 0;
}

/* Where a chain being written has got to. */
struct vq_cursor {
	uint32_t count;		/* descriptors written */
	uint16_t idx;		/* direct: next free descriptor to use */
	uint16_t last;		/* direct: last descriptor written */
	uint16_t last_flags;	/* flags of the last one, without F_NEXT */
};

/*
 * Write @sg into ring descriptors taken in free-list order, without
 * touching the free list itself: on failure the caller just does not
 * commit, and nothing has changed.  The chain links are the free-list
 * links, so desc.next is slot[].next.
 */
static int vq_put_direct(struct virtq_driver *vq, struct vq_cursor *c,
			 const struct virtq_sg *sg, unsigned int n,
			 uint16_t flags)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const char *p = sg[i].addr;
		uint32_t left = sg[i].len;

		while (left) {
			struct virtq_desc *d = &vq->desc[c->idx];
			uint32_t m;
			uint64_t dev;

			if (c->count == vq->num_free)
				return -ENOSPC;
			dev = vq_map(vq, p, left, &m);
			if (dev == VIRTQ_ADDR_INVALID)
				return -EFAULT;
			d->addr = virtq_cpu_to_le64(dev);
			d->len = virtq_cpu_to_le32(m);
			d->flags = virtq_cpu_to_le16(flags | VIRTQ_DESC_F_NEXT);
			d->next = virtq_cpu_to_le16(vq->slot[c->idx].next);
			c->last = c->idx;
			c->last_flags = flags;
			c->idx = vq->slot[c->idx].next;
			c->count++;
			p += m;
			left -= m;
		}
	}
	return 0;
}

/*
 * Same into the indirect table @t.  Returns 1 if the (translated) chain
 * does not fit in the table: the caller then falls back to a direct chain.
 */
static int vq_put_indirect(struct virtq_driver *vq, struct vq_cursor *c,
			   struct virtq_desc *t, const struct virtq_sg *sg,
			   unsigned int n, uint16_t flags)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const char *p = sg[i].addr;
		uint32_t left = sg[i].len;

		while (left) {
			struct virtq_desc *d = &t[c->count];
			uint32_t m;
			uint64_t dev;

			if (c->count == vq->ind_max)
				return 1;
			dev = vq_map(vq, p, left, &m);
			if (dev == VIRTQ_ADDR_INVALID)
				return -EFAULT;
			c->count++;
			d->addr = virtq_cpu_to_le64(dev);
			d->len = virtq_cpu_to_le32(m);
			d->flags = virtq_cpu_to_le16(flags | VIRTQ_DESC_F_NEXT);
			d->next = virtq_cpu_to_le16((uint16_t)c->count);
			c->last_flags = flags;
			p += m;
			left -= m;
		}
	}
	return 0;
}

/* Write back the caller's buffers before the device may look at them. */
static void vq_clean_sg(const struct virtq_driver *vq,
			const struct virtq_sg *sg, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		vq_clean(vq, sg[i].addr, sg[i].len);
}

/* Record the chain at @head and stage it in the avail ring. */
static inline __attribute__((always_inline)) void
vq_commit(struct virtq_driver *vq, uint16_t head, uint16_t tail,
	  uint16_t next_free, uint32_t ndesc, uint32_t in_len, void *token)
{
	struct vq_slot *s = &vq->slot[head];
	uint16_t *ent;

	s->token = token;
	s->in_len = in_len;
	s->tail = tail;
	s->ndesc = (uint16_t)ndesc;
	s->pos = vq->avail_idx;	/* staged until avail_pub passes it */
	vq->slot[vq->avail_idx & vq->mask].ring = head;
	vq->free_head = next_free;
	vq->num_free -= ndesc;
	vq->outstanding++;

	/* Plain store: the device reads it only after P1 (publish). */
	ent = &vq->avail->ring[vq->avail_idx & vq->mask];
	*ent = virtq_cpu_to_le16(head);
	vq_clean(vq, ent, sizeof(*ent));
	vq->avail_idx++;
}

static int vq_add_indirect(struct virtq_driver *vq,
			   const struct virtq_sg *out, unsigned int n_out,
			   const struct virtq_sg *in, unsigned int n_in,
			   uint32_t in_len, void *token)
{
	uint16_t head = vq->free_head;
	size_t off = (size_t)head * vq->ind_stride;
	struct virtq_desc *t = (struct virtq_desc *)(void *)(vq->ind_pool + off);
	struct virtq_desc *d = &vq->desc[head];
	struct vq_cursor c;
	int r;

	/* Field by field: clang -O0 zeroes an aggregate with memset. */
	c.count = 0;
	c.idx = 0;
	c.last = 0;
	c.last_flags = 0;
	r = vq_put_indirect(vq, &c, t, out, n_out, 0);
	if (!r)
		r = vq_put_indirect(vq, &c, t, in, n_in, VIRTQ_DESC_F_WRITE);
	if (r)
		return r;
	t[c.count - 1].flags = virtq_cpu_to_le16(c.last_flags);
	t[c.count - 1].next = 0;
	vq_clean(vq, t, (size_t)c.count * sizeof(*t));

	d->addr = virtq_cpu_to_le64(vq->ind_dev + off);
	d->len = virtq_cpu_to_le32(c.count * (uint32_t)sizeof(*t));
	d->flags = virtq_cpu_to_le16(VIRTQ_DESC_F_INDIRECT);
	d->next = 0;
	vq_clean(vq, d, sizeof(*d));

	vq_commit(vq, head, head, vq->slot[head].next, 1, in_len, token);
	return 0;
}

static int vq_add_direct(struct virtq_driver *vq,
			 const struct virtq_sg *out, unsigned int n_out,
			 const struct virtq_sg *in, unsigned int n_in,
			 uint32_t in_len, void *token)
{
	uint16_t head = vq->free_head;
	struct vq_cursor c;
	int r;

	c.count = 0;
	c.idx = head;
	c.last = head;
	c.last_flags = 0;
	r = vq_put_direct(vq, &c, out, n_out, 0);
	if (!r)
		r = vq_put_direct(vq, &c, in, n_in, VIRTQ_DESC_F_WRITE);
	if (r)
		return r;
	vq->desc[c.last].flags = virtq_cpu_to_le16(c.last_flags);
	vq->desc[c.last].next = 0;

	if (vq->cache_clean) {
		uint16_t i = head;
		uint32_t k;

		for (k = 0; k < c.count; k++) {
			vq_clean(vq, &vq->desc[i], sizeof(vq->desc[i]));
			i = vq->slot[i].next;
		}
	}
	vq_commit(vq, head, c.last, c.idx, c.count, in_len, token);
	return 0;
}

/*
 * The common case in one pass: a direct chain, no translate or cache hook,
 * enough free descriptors (so -ENOSPC cannot happen here and the errors
 * are those of the general path, in its order).  Descriptors are written
 * while the lists are checked; on -EINVAL nothing is committed, and what
 * was written sits in free descriptors the device cannot reach.
 */
static int vq_add_plain(struct virtq_driver *vq,
			const struct virtq_sg *out, unsigned int n_out,
			const struct virtq_sg *in, unsigned int n_in,
			void *token)
{
	struct virtq_desc *desc = vq->desc;
	const struct vq_slot *slot = vq->slot;
	uint16_t head = vq->free_head, idx = head, last = head;
	uint64_t out_total = 0, in_total = 0;
	unsigned int i;

	for (i = 0; i < n_out; i++) {
		uint32_t len = out[i].len;

		if (!len)
			return -EINVAL;
		out_total += len;
		desc[idx].addr = virtq_cpu_to_le64((uint64_t)(uintptr_t)out[i].addr);
		desc[idx].len = virtq_cpu_to_le32(len);
		desc[idx].flags = virtq_cpu_to_le16(VIRTQ_DESC_F_NEXT);
		desc[idx].next = virtq_cpu_to_le16(slot[idx].next);
		last = idx;
		idx = slot[idx].next;
	}
	for (i = 0; i < n_in; i++) {
		uint32_t len = in[i].len;

		if (!len)
			return -EINVAL;
		in_total += len;
		desc[idx].addr = virtq_cpu_to_le64((uint64_t)(uintptr_t)in[i].addr);
		desc[idx].len = virtq_cpu_to_le32(len);
		desc[idx].flags = virtq_cpu_to_le16(VIRTQ_DESC_F_NEXT |
						    VIRTQ_DESC_F_WRITE);
		desc[idx].next = virtq_cpu_to_le16(slot[idx].next);
		last = idx;
		idx = slot[idx].next;
	}
	/* Each total is below 2^32 * 2^32 segments: the sum cannot wrap. */
	if (out_total + in_total > VQ_MAX_CHAIN_BYTES)
		return -EINVAL;
	desc[last].flags = virtq_cpu_to_le16(n_in ? VIRTQ_DESC_F_WRITE : 0);
	desc[last].next = 0;
	vq_commit(vq, head, last, idx, n_out + n_in, (uint32_t)in_total,
		  token);
	return 0;
}

/*
 * virtq_driver_add() itself, for all but one buffer on a queue fit for
 * add_inbuf (that one goes through vq_add_one()).
 */
static __attribute__((noinline)) int
vq_add_general(struct virtq_driver *vq,
	       const struct virtq_sg *out, unsigned int n_out,
	       const struct virtq_sg *in, unsigned int n_in, void *token)
{
	uint64_t segs = (uint64_t)n_out + n_in;
	uint32_t in_len;
	int r;

	if (vq_broken(vq))
		return -EIO;
	if (!token)
		return -EINVAL;
	/* Not indirect: no pool (ind_max 0), or segs outside its range. */
	if (!(vq->flags & VQ_F_HOOKS) && segs && segs <= vq->num_free &&
	    (segs < vq->ind_min || segs > vq->ind_max) &&
	    (out || !n_out) && (in || !n_in))
		return vq_add_plain(vq, out, n_out, in, n_in, token);
	r = vq_check_sg(out, n_out, in, n_in, &in_len);
	if (r)
		return r;
	if (!vq->num_free)
		return -ENOSPC;

	if (vq->ind_pool && segs >= vq->ind_min && segs <= vq->ind_max) {
		r = vq_add_indirect(vq, out, n_out, in, n_in, in_len, token);
		if (r <= 0)
			goto done;
		/* Translated into more pieces than a table holds: go direct. */
	}
	if (segs > vq->num_free)
		return -ENOSPC;
	r = vq_add_direct(vq, out, n_out, in, n_in, in_len, token);
done:
	if (r)
		return r;
	vq_clean_sg(vq, out, n_out);
	vq_clean_sg(vq, in, n_in);
	return 0;
}

static inline __attribute__((always_inline)) int
vq_add_one(struct virtq_driver *vq, void *buf, uint32_t len, bool write,
	   void *token);

int virtq_driver_add(struct virtq_driver *vq,
		     const struct virtq_sg *out, unsigned int n_out,
		     const struct virtq_sg *in, unsigned int n_in,
		     void *token)
{
	/*
	 * One buffer, the queue fit for add_inbuf / add_outbuf: the same
	 * chain and errors (all -EINVAL ones are alike; -ENOSPC after
	 * them), in their few stores.
	 */
	if ((uint64_t)n_out + n_in == 1 && !(vq->flags & VQ_F_ADD_SLOW)) {
		const struct virtq_sg *sg = n_out ? out : in;

		if (!sg)
			return -EINVAL;
		if (n_in)
			return vq_add_one(vq, sg->addr, sg->len, true, token);
		return vq_add_one(vq, sg->addr, sg->len, false, token);
	}
	return vq_add_general(vq, out, n_out, in, n_in, token);
}

/* ---- publish and kick ---------------------------------------------------- */

/*
 * publish, with the cache hook if @hooks (VQ_F_HOOKS is set).  True if
 * avail->idx was stored.
 */
static inline __attribute__((always_inline)) bool
vq_publish(struct virtq_driver *vq, bool hooks)
{
	uint16_t idx = vq->avail_idx, n = (uint16_t)(idx - vq->avail_pub);

	if (!n || vq_broken(vq))
		return false;
	/* P1: pairs with the device's acquire load of avail->idx; the
	 * descriptors and avail->ring[] entries written by add are visible
	 * to it after it sees this index.  Moving avail_pub is all it takes
	 * to unstage the heads (vq_staged()); the device may return them
	 * only after this store, and we look at used->idx only after it. */
	virtq_store_release(&vq->avail->idx, virtq_cpu_to_le16(idx));
	vq->avail_pub = idx;
	/* More than 2^16 entries between two kick_prepare calls can't be
	 * told apart by u16 distance: kick_prepare then forces a kick. */
	vq->since_kick += n;
	if (hooks)
		vq_clean(vq, &vq->avail->idx, sizeof(vq->avail->idx));
	return true;
}

void virtq_driver_publish(struct virtq_driver *vq)
{
	/* The flags tested after the store: a tail call with the hook. */
	if (vq_publish(vq, false) &&
	    __builtin_expect(vq->flags & VQ_F_HOOKS, 0))
		vq_clean(vq, &vq->avail->idx, sizeof(vq->avail->idx));
}

/*
 * kick_prepare on a queue that is not broken, with or without hooks;
 * without, no registers to save for the hook calls.
 */
static inline __attribute__((always_inline)) bool
vq_kick_prepare(struct virtq_driver *vq, bool hooks)
{
	uint16_t new_idx, old;
	bool need;

	vq_publish(vq, hooks);
	if (!vq->since_kick)
		return false;	/* nothing new for the device */
	new_idx = vq->avail_pub;
	old = vq->kick_old;

	/* F1: the avail->idx store (publish) above, this fence, then the
	 * load of avail_event / used->flags; pairs with the device's store
	 * of avail_event (or clearing NO_NOTIFY), fence, load of avail->idx.
	 * One of the two sides sees the other's store: no lost kick. */
	virtq_mb();
	if (!(vq->flags & VQ_F_NOEVENT)) {
		uint16_t event;

		if (hooks)
			vq_invalidate(vq, vq->avail_event,
				      sizeof(*vq->avail_event));
		event = virtq_le16_to_cpu(virtq_load_relaxed(vq->avail_event));
		need = vq->since_kick > 0xffff ||
		       virtq_need_event(event, new_idx, old);
	} else {
		uint16_t flags;

		if (hooks)
			vq_invalidate(vq, &vq->used->flags,
				      sizeof(vq->used->flags));
		flags = virtq_le16_to_cpu(virtq_load_relaxed(&vq->used->flags));
		need = !(flags & VIRTQ_USED_F_NO_NOTIFY);
	}
	vq->kick_old = new_idx;
	vq->since_kick = 0;
	return need;
}

static __attribute__((noinline)) bool
vq_kick_prepare_hooks(struct virtq_driver *vq)
{
	return vq_kick_prepare(vq, true);
}

bool virtq_driver_kick_prepare(struct virtq_driver *vq)
{
	if (vq_broken(vq))
		return false;
	if (__builtin_expect(vq->flags & VQ_F_HOOKS, 0))
		return vq_kick_prepare_hooks(vq);
	return vq_kick_prepare(vq, false);
}

int virtq_driver_notify(struct virtq_driver *vq)
{
	if (!vq->notify)
		return 0;
	return vq->notify(vq->notify_opaque, vq->queue_index);
}

int virtq_driver_kick(struct virtq_driver *vq)
{
	int r;

	if (vq_broken(vq))
		return -EIO;
	if (!virtq_driver_kick_prepare(vq))
		return 0;
	r = virtq_driver_notify(vq);
	return r < 0 ? r : 1;
}

/* ---- used ------------------------------------------------------------------ */

/* Tell the device which used entry should interrupt us next. */
static void vq_write_used_event(struct virtq_driver *vq, uint16_t idx)
{
	virtq_store_relaxed(vq->used_event, virtq_cpu_to_le16(idx));
	vq_clean(vq, vq->used_event, sizeof(*vq->used_event));
}

static void vq_write_avail_flags(struct virtq_driver *vq, uint16_t flags)
{
	vq->avail_flags = (uint8_t)flags;
	virtq_store_relaxed(&vq->avail->flags, virtq_cpu_to_le16(flags));
	vq_clean(vq, &vq->avail->flags, sizeof(vq->avail->flags));
}

/*
 * Load used->idx and check it: the device may not be further ahead than
 * the published chains it holds.  Returns 1 if entries are pending, 0 if
 * not, -EIO.
 */
static int vq_refresh_used(struct virtq_driver *vq)
{
	uint16_t idx = vq_load_used_idx(vq);

	if (idx == vq->last_used && !(vq->flags & VQ_F_NO_USED_EVENT)) {
		/* F2: get_used stored used_event = last_used; this fence,
		 * then the load of used->idx; pairs with the device's store
		 * of used->idx, fence, load of used_event.  Without it we
		 * could report "empty" while the device skips the interrupt
		 * for an entry it just added. */
		virtq_mb();
		idx = vq_load_used_idx(vq);
	}
	if ((uint16_t)(idx - vq->last_used) > vq_used_limit(vq))
		return vq_set_broken(vq);
	vq->used_seen = idx;
	return idx != vq->last_used;
}

/* Put a finished chain's descriptors back on the free list: O(1). */
static void *vq_detach(struct virtq_driver *vq, uint16_t head)
{
	struct vq_slot *s = &vq->slot[head];
	void *token = s->token;

	s->token = NULL;
	vq->slot[s->tail].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += s->ndesc;
	vq->outstanding--;
	return token;
}

/* get_used() on a queue with hooks, or broken (plain ones: at the end). */
static __attribute__((noinline)) int
vq_get_used_general(struct virtq_driver *vq, void **token, uint32_t *len)
{
	struct virtq_used_elem *e;
	uint32_t id, l;
	void *tok;
	struct vq_slot *s;

	if (vq_broken(vq))
		return -EIO;
	if (vq->last_used == vq->used_seen) {
		int r = vq_refresh_used(vq);

		if (r <= 0)
			return r;
	}

	/*
	 * Read each field once, then check the copies.  Plain loads: P2
	 * above ordered them after the device's writes; the compiler barrier
	 * keeps the compiler from loading the shared fields again in place
	 * of the copies.  (Not 32-bit atomics: on ARMv6-M clang would make
	 * those library calls.)
	 */
	e = &vq->used->ring[vq->last_used & vq->mask];
	vq_invalidate(vq, e, sizeof(*e));
	id = virtq_le32_to_cpu(e->id);
	l = virtq_le32_to_cpu(e->len);
	virtq_compiler_barrier();
	if (id > vq->mask)
		return vq_set_broken(vq);	/* not a descriptor index */
	s = &vq->slot[id];
	if (!s->token || vq_staged(vq, s, (uint16_t)id))
		return vq_set_broken(vq);	/* not a published outstanding head */
	if (l > s->in_len)
		return vq_set_broken(vq);	/* wrote more than it was given */

	tok = vq_detach(vq, (uint16_t)id);
	vq->last_used++;
	if (!(vq->flags & VQ_F_NO_USED_EVENT))
		vq_write_used_event(vq, vq->last_used);
	if (token)
		*token = tok;
	if (len)
		*len = l;
	return 1;
}

static __attribute__((noinline)) bool
vq_has_used_hooks(const struct virtq_driver *vq)
{
	return vq_load_used_idx(vq) != vq->last_used;
}

bool virtq_driver_has_used(const struct virtq_driver *vq)
{
	if (vq_broken(vq) || vq->last_used != vq->used_seen)
		return true;
	if (__builtin_expect(vq->flags & VQ_F_HOOKS, 0))
		return vq_has_used_hooks(vq);
	/* vq_load_used_idx() without the hook.  P2, as there. */
	return virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx)) !=
	       vq->last_used;
}

/* ---- callbacks ------------------------------------------------------------- */

void virtq_driver_disable_cb(struct virtq_driver *vq)
{
	vq->flags |= VQ_F_DISARMED;
	if (!(vq->flags & VQ_F_NOEVENT)) {
		/*
		 * Half the index space ahead: the device is at most num <=
		 * 32768 entries past last_used, so it does not reach this
		 * before we move it again.  A hint; an odd interrupt is
		 * allowed by the spec.
		 */
		vq_write_used_event(vq, (uint16_t)(vq->last_used + 0x8000));
	} else if (!(vq->avail_flags & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
		vq_write_avail_flags(vq, vq->avail_flags |
					 VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
}

/* Arm the interrupt at used entry @event, then recheck (F2). */
static bool vq_arm(struct virtq_driver *vq, uint16_t event)
{
	vq->flags &= (uint8_t)~VQ_F_DISARMED;
	if (!(vq->flags & VQ_F_NOEVENT))
		vq_write_used_event(vq, event);
	else if (vq->avail_flags & VIRTQ_AVAIL_F_NO_INTERRUPT)
		vq_write_avail_flags(vq, vq->avail_flags &
					 (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (vq_broken(vq) || vq->last_used != vq->used_seen)
		return false;
	/* F2: the used_event / avail->flags store above, this fence, then
	 * the load of used->idx; pairs with the device's store of
	 * used->idx, fence, load of used_event / avail->flags.  Either the
	 * device sees our request and interrupts, or we see its entry. */
	virtq_mb();
	return vq_load_used_idx(vq) == vq->last_used;
}

bool virtq_driver_enable_cb(struct virtq_driver *vq)
{
	return vq_arm(vq, vq->last_used);
}

bool virtq_driver_enable_cb_delayed(struct virtq_driver *vq)
{
	/* About 3/4 of the outstanding chains, without a division. */
	uint16_t bufs = (uint16_t)((vq->outstanding * 3) >> 2);

	return vq_arm(vq, (uint16_t)(vq->last_used + bufs));
}

/* ---- teardown and queries ------------------------------------------------ */

int virtq_driver_detach_unused(struct virtq_driver *vq, void **token)
{
	uint32_t i = vq->detach_pos, n;

	/* Teardown only: a scan, resumed where the last call stopped. */
	for (n = 0; n < vq->num; n++, i = (i + 1) & vq->mask) {
		if (!vq->slot[i].token)
			continue;
		if (token)
			*token = vq->slot[i].token;
		vq_detach(vq, (uint16_t)i);
		vq->detach_pos = (i + 1) & vq->mask;
		return 1;
	}
	return 0;
}

uint16_t virtq_driver_queue_index(const struct virtq_driver *vq)
{
	return vq->queue_index;
}

uint64_t virtq_driver_features(const struct virtq_driver *vq)
{
	return vq->features;
}

uint32_t virtq_driver_size(const struct virtq_driver *vq)
{
	return vq->num;
}

uint32_t virtq_driver_num_free(const struct virtq_driver *vq)
{
	return vq->num_free;
}

bool virtq_driver_is_broken(const struct virtq_driver *vq)
{
	return vq_broken(vq);
}

/* ---- fast paths: one buffer in, many chains out ---------------------- */

/*
 * add_inbuf / add_outbuf through the general path (broken, hooks,
 * indirect_min 1): virtq_driver_add() gives the errors, in its order.
 */
static __attribute__((noinline)) int
vq_add_one_general(struct virtq_driver *vq, void *buf, uint32_t len,
		   bool write, void *token)
{
	struct virtq_sg sg;

	sg.addr = buf;
	sg.len = len;
	return write ? vq_add_general(vq, 0, 0, &sg, 1, token) :
		       vq_add_general(vq, &sg, 1, 0, 0, token);
}

/*
 * A chain of one buffer, as virtq_driver_add() would build it, in a few
 * stores.  Without translate or cache hooks, and when a single buffer does
 * not go indirect (indirect_min 1), it is one direct descriptor; anything
 * else (a broken queue too) goes through virtq_driver_add(), which gives
 * the same errors in the same order.
 */
static inline __attribute__((always_inline)) int
vq_add_one(struct virtq_driver *vq, void *buf, uint32_t len, bool write,
	   void *token)
{
	struct virtq_desc *d;
	struct vq_slot *s;
	uint32_t nfree, head, pos, at;	/* not uint16_t: no re-extending */

	if (__builtin_expect(vq->flags & VQ_F_ADD_SLOW, 0))
		return vq_add_one_general(vq, buf, len, write, token);
	if (!token || !len)
		return -EINVAL;
	nfree = vq->num_free;
	if (!nfree)
		return -ENOSPC;
	head = vq->free_head;
	pos = vq->avail_idx;
	at = pos & vq->mask;
	d = &vq->desc[head];
	d->addr = virtq_cpu_to_le64((uint64_t)(uintptr_t)buf);
	d->len = virtq_cpu_to_le32(len);
	d->flags = virtq_cpu_to_le16(write ? VIRTQ_DESC_F_WRITE : 0);
	d->next = 0;
	/* vq_commit() without its cache hook (plain: there is none). */
	s = &vq->slot[head];
	s->token = token;
	s->in_len = write ? len : 0;
	s->tail = (uint16_t)head;
	s->ndesc = 1;
	s->pos = (uint16_t)pos;	/* as vq_commit: staged until published */
	vq->slot[at].ring = (uint16_t)head;
	vq->free_head = s->next;
	vq->num_free = nfree - 1;
	vq->outstanding++;
	/* Plain store: the device reads it only after P1 (publish). */
	vq->avail->ring[at] = virtq_cpu_to_le16((uint16_t)head);
	vq->avail_idx = (uint16_t)(pos + 1);
	return 0;
}

int virtq_driver_add_inbuf(struct virtq_driver *vq, void *buf, uint32_t len,
			   void *token)
{
	return vq_add_one(vq, buf, len, true, token);
}

int virtq_driver_add_outbuf(struct virtq_driver *vq, const void *buf,
			    uint32_t len, void *token)
{
	return vq_add_one(vq, (void *)(uintptr_t)buf, len, false, token);
}

/*
 * Take up to @n (>= 1) of the entries up to used_seen (already loaded and
 * checked) on a plain queue (no cache hooks): the checks get_used makes on
 * every entry (keep the two in step), used_event moved once for the batch.
 * Instantiated with and without @lens, and with and without a staged
 * window to look in (@staged), so that neither is tested per entry.
 */
static inline __attribute__((always_inline)) int
vq_take_used_loop(struct virtq_driver *vq, void **tokens, uint32_t *lens,
		  unsigned int n, bool staged)
{
	const struct virtq_used_elem *ring = vq->used->ring;
	struct vq_slot *slot = vq->slot;
	/* uint32_t: no re-extending.  (last + k) & mask is the u16 index
	 * masked: num divides 2^16. */
	uint32_t mask = vq->mask, last = vq->last_used;
	uint32_t freed = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		const struct virtq_used_elem *e = &ring[(last + k) & mask];
		struct vq_slot *s;
		uint32_t id, l;
		void *tok;

		/* Each field read once, then the copies checked (as in
		 * get_used: ordered by P2 when used->idx was loaded). */
		id = virtq_le32_to_cpu(e->id);
		l = virtq_le32_to_cpu(e->len);
		virtq_compiler_barrier();
		if (id > mask)
			break;
		s = &slot[id];
		tok = s->token;
		if (!tok || l > s->in_len)
			break;
		if (staged && vq_staged_window(vq, s, (uint16_t)id))
			break;
		tokens[k] = tok;
		if (lens)
			lens[k] = l;
		s->token = 0;
		/* free_head through memory: fewer register copies. */
		slot[s->tail].next = vq->free_head;
		vq->free_head = (uint16_t)id;
		freed += s->ndesc;
	}
	last = (uint16_t)(last + k);
	vq->num_free += freed;
	vq->outstanding -= (uint32_t)k;
	vq->last_used = (uint16_t)last;
	if (k < n)		/* not a published outstanding head, or too long */
		vq_set_broken(vq);	/* latched; the tokens so far returned */
	if (k && !(vq->flags & VQ_F_NO_USED_EVENT))	/* plain: no cache hook */
		virtq_store_relaxed(vq->used_event,
				    virtq_cpu_to_le16((uint16_t)last));
	return k ? (int)k : -EIO;
}

static __attribute__((noinline)) int
vq_take_used_plain(struct virtq_driver *vq, void **tokens, uint32_t *lens,
		   unsigned int n)
{
	if (__builtin_expect(vq->avail_idx != vq->avail_pub, 0))
		return vq_take_used_loop(vq, tokens, lens, n, true);
	if (lens)
		return vq_take_used_loop(vq, tokens, lens, n, false);
	return vq_take_used_loop(vq, tokens, 0, n, false);
}

/* With cache hooks: get_used() entry by entry (its checks, its hooks). */
static __attribute__((noinline)) int
vq_get_used_hooks(struct virtq_driver *vq, void **tokens, uint32_t *lens,
		  unsigned int max)
{
	unsigned int k;
	int r = 0;

	for (k = 0; k < max; k++) {
		r = vq_get_used_general(vq, &tokens[k], lens ? &lens[k] : 0);
		if (r <= 0)
			break;
	}
	return k ? (int)k : r;
}

/*
 * vq_take_used_loop() of one entry, without the loop (plain queue); with
 * @staged, a non-empty staged window to look in.
 */
static inline __attribute__((always_inline)) int
vq_take_one(struct virtq_driver *vq, void **tokens, uint32_t *lens,
	    bool staged)
{
	/* uint32_t, not uint16_t: no re-extending after each operation. */
	uint32_t last = vq->last_used, mask = vq->mask;
	const struct virtq_used_elem *e = &vq->used->ring[last & mask];
	struct vq_slot *s;
	uint32_t id, l, tail, ndesc;
	void *tok;

	id = virtq_le32_to_cpu(e->id);
	l = virtq_le32_to_cpu(e->len);
	virtq_compiler_barrier();
	if (id > mask)
		return vq_set_broken(vq);
	s = &vq->slot[id];
	tok = s->token;
	if (!tok || l > s->in_len)
		return vq_set_broken(vq);
	if (staged && vq_staged_window(vq, s, (uint16_t)id))
		return vq_set_broken(vq);
	tokens[0] = tok;
	if (lens)
		lens[0] = l;
	tail = s->tail;
	ndesc = s->ndesc;
	s->token = 0;
	vq->slot[tail].next = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free += ndesc;
	vq->outstanding--;
	last = (uint16_t)(last + 1);
	vq->last_used = (uint16_t)last;
	if (!(vq->flags & VQ_F_NO_USED_EVENT))	/* plain: no cache hook */
		virtq_store_relaxed(vq->used_event,
				    virtq_cpu_to_le16((uint16_t)last));
	return 1;
}

static __attribute__((noinline, cold)) int
vq_take_one_window(struct virtq_driver *vq, void **tokens, uint32_t *lens)
{
	return vq_take_one(vq, tokens, lens, true);
}

/* The staged window is looked at before anything is read from the ring. */
static __attribute__((noinline)) int
vq_take_one_plain(struct virtq_driver *vq, void **tokens, uint32_t *lens)
{
	if (__builtin_expect(vq->avail_idx != vq->avail_pub, 0))
		return vq_take_one_window(vq, tokens, lens);
	return vq_take_one(vq, tokens, lens, false);
}

/* get_used_batch() on a broken queue or one with hooks. */
static __attribute__((noinline)) int
vq_get_used_batch_slow(struct virtq_driver *vq, void **tokens, uint32_t *lens,
		       unsigned int max)
{
	if (vq_broken(vq))
		return -EIO;
	if (!max)
		return 0;
	return vq_get_used_hooks(vq, tokens, lens, max);
}

/*
 * vq_refresh_used() without the hooks (keep in step), when last_used has
 * caught up with used_seen: 1 if entries are pending, 0 if not, -EIO.
 * (get_used_batch has the same inline: keep the two in step.)
 */
static inline __attribute__((always_inline)) int
vq_refresh_plain(struct virtq_driver *vq, uint32_t last)
{
	uint32_t idx;

	/* P2: pairs with the device's release store of used->idx. */
	idx = virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx));
	if (idx == last) {
		if (vq->flags & VQ_F_NO_USED_EVENT)
			return 0;
		/* F2, as in vq_refresh_used. */
		virtq_mb();
		idx = virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx));
		if (idx == last)
			return 0;
	}
	/* Only published chains can come back. */
	if ((uint16_t)(idx - last) > vq_used_limit(vq))
		return vq_set_broken(vq);
	vq->used_seen = (uint16_t)idx;
	return 1;
}

/* get_used() on a plain queue with a non-empty staged window. */
static __attribute__((noinline, cold)) int
vq_get_used_window(struct virtq_driver *vq, void **token, uint32_t *len)
{
	void *tok;
	int r = vq_take_one(vq, &tok, len, true);

	if (r > 0 && token)
		*token = tok;
	return r;
}

/*
 * On a plain queue (not broken, no hooks), get_used is get_used_batch of
 * one entry: the same checks (vq_take_one() makes get_used's), without
 * the hooks' tests.
 */
int virtq_driver_get_used(struct virtq_driver *vq, void **token,
			  uint32_t *len)
{
	uint32_t last = vq->last_used;
	void *tok;
	int r;

	if (__builtin_expect(vq->flags & VQ_F_TAKE_SLOW, 0))
		return vq_get_used_general(vq, token, len);
	if (last == vq->used_seen) {
		r = vq_refresh_plain(vq, last);
		if (r <= 0)
			return r;
	}
	if (__builtin_expect(vq->avail_idx != vq->avail_pub, 0))
		return vq_get_used_window(vq, token, len);
	r = vq_take_one(vq, &tok, len, false);
	if (r > 0 && token)
		*token = tok;
	return r;
}

int virtq_driver_get_used_batch(struct virtq_driver *vq, void **tokens,
				uint32_t *lens, unsigned int max)
{
	uint16_t last = vq->last_used, seen = vq->used_seen, idx;
	unsigned int n;

	if (__builtin_expect(vq->flags & VQ_F_TAKE_SLOW, 0))
		return vq_get_used_batch_slow(vq, tokens, lens, max);
	if (!max)
		return 0;
	if (last == seen) {
		/* vq_refresh_used() without the hooks (keep in step). */
		/* P2: pairs with the device's release store of used->idx. */
		idx = virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx));
		if (idx == last) {
			if (vq->flags & VQ_F_NO_USED_EVENT)
				return 0;
			/* F2, as in vq_refresh_used. */
			virtq_mb();
			idx = virtq_le16_to_cpu(virtq_load_acquire(&vq->used->idx));
			if (idx == last)
				return 0;
		}
		/* Only published chains can come back. */
		if ((uint16_t)(idx - last) > vq_used_limit(vq))
			return vq_set_broken(vq);
		vq->used_seen = seen = idx;
	}
	n = (uint16_t)(seen - last);
	if (max == 1 || n == 1)
		return vq_take_one_plain(vq, tokens, lens);
	return vq_take_used_plain(vq, tokens, lens, n < max ? n : max);
}
