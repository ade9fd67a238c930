// SPDX-License-Identifier: MIT
/*
 * inflight.c - vhost-user inflight I/O tracking for split queues, in the
 * shared-memory layout QEMU defines (docs/interop/vhost-user.rst,
 * "Inflight I/O tracking"), so that a backend that crashes and is started
 * again resubmits exactly the requests that were in flight, oldest first.
 *
 * Per queue the region holds a 16-byte header and one 16-byte entry per
 * descriptor.  The backend marks desc[head] in flight with an increasing
 * counter when it pops a chain; completing one publishes it alone (push
 * then flush: a batch of one), with last_batch_head = head set before and
 * the in-flight mark cleared plus used_idx updated after.  A crash between
 * the flush and that update leaves used_idx behind used->idx: the restart
 * then knows last_batch_head was completed.
 *
 * The region is shared with the frontend: everything read from it at
 * start is checked (version, size, flags, heads, counters); anything
 * wrong closes the connection as a bad message does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq/atomic.h"
#include "virtq/device.h"
#include "vhost-user/backend_internal.h"

#define INFLIGHT_VERSION 1

struct vu_desc_state_split {
	uint8_t inflight;	/* 1: popped, not completed */
	uint8_t pad[5];
	uint16_t next;		/* unused for split queues */
	uint64_t counter;	/* pop order */
};

struct vu_inflight_split {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vu_desc_state_split desc[];
};

_Static_assert(sizeof(struct vu_desc_state_split) == 16, "QEMU's DescStateSplit");
_Static_assert(sizeof(struct vu_inflight_split) == 16, "QEMU's QueueRegionSplit header");

size_t __virtq_vu_inflight_queue_size(uint32_t queue_size)
{
	return virtq_align_up(sizeof(struct vu_inflight_split) +
			      sizeof(struct vu_desc_state_split) * (size_t)queue_size, 64);
}

struct pending {
	uint64_t counter;
	uint16_t head;
};

static int by_counter(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	return x->counter < y->counter ? -1 : x->counter > y->counter;
}

static int corrupt(struct virtq_vu_queue *q, const char *what, unsigned long long v)
{
	__virtq_vu_log(q->be, "queue %u: inflight region: %s (%llu); closing the connection",
		       q->index, what, v);
	return -EPROTO;
}

/*
 * Fresh region (version 0, as GET_INFLIGHT_FD made it): lay it out.  Its
 * desc_num is the queue size the region was made for (QEMU's configured
 * queue-size), which the ring in use may undercut: the guest can pick a
 * smaller ring.
 */
static void fresh(struct virtq_vu_queue *q, struct vu_inflight_split *r,
		  uint32_t qsize, uint16_t used)
{
	memset(r->desc, 0, sizeof(r->desc[0]) * qsize);
	r->features = 0;
	r->desc_num = (uint16_t)qsize;
	r->last_batch_head = 0;
	r->used_idx = used;
	r->version = INFLIGHT_VERSION;
	q->infl_counter = 1;
}

/*
 * Region written by a previous backend: fix up the last batch, then
 * collect the heads still in flight, oldest first.  Each shared field is
 * read once into a local.
 */
static int recover(struct virtq_vu_queue *q, struct vu_inflight_split *r,
		   uint32_t qsize, uint16_t used, struct pending *p,
		   uint32_t *np)
{
	uint16_t desc_num = r->desc_num, lbh = r->last_batch_head;
	uint32_t n = 0;

	if (desc_num != qsize)
		return corrupt(q, "desc_num differs from the region's queue size",
			       desc_num);
	if (r->used_idx != used) {
		/* Crashed after publishing the last batch, before marking
		 * it done: its head is completed. */
		if (lbh >= q->num)
			return corrupt(q, "last_batch_head out of range", lbh);
		r->desc[lbh].inflight = 0;
		r->used_idx = used;
	}
	for (uint32_t i = 0; i < qsize; i++) {
		uint8_t f = r->desc[i].inflight;

		if (f > 1)
			return corrupt(q, "inflight flag is not 0 or 1", f);
		if (!f)
			continue;
		if (i >= q->num)
			return corrupt(q, "head in flight beyond the ring's size", i);
		p[n].counter = r->desc[i].counter;
		p[n].head = (uint16_t)i;
		n++;
	}
	qsort(p, n, sizeof(*p), by_counter);
	for (uint32_t i = 1; i < n; i++)
		if (p[i].counter == p[i - 1].counter)
			return corrupt(q, "two heads share counter", p[i].counter);
	q->infl_counter = n ? p[n - 1].counter + 1 : 1;
	if (q->infl_counter == 0)
		return corrupt(q, "counter at its maximum", p[n - 1].counter);
	*np = n;
	return 0;
}

void __virtq_vu_inflight_stop(struct virtq_vu_queue *q)
{
	free(q->resub);
	q->resub = NULL;
	q->nresub = q->resub_pos = 0;
	q->infl = NULL;
}

int __virtq_vu_inflight_start(struct virtq_vu_queue *q)
{
	struct virtq_vu_backend *be = q->be;
	struct vu_inflight_split *r;
	struct pending *p = NULL;
	uint32_t n = 0;
	uint16_t used, version;
	int ret = 0;

	__virtq_vu_inflight_stop(q);
	/* Read used->idx back from guest memory. */
	if (virtq_device_reclaim(q->dev, q->base) < 0 || !be->inflight ||
	    q->index >= be->inflight_nq)
		return 0;
	if (q->num > be->inflight_qsize)
		return corrupt(q, "laid out for a smaller queue size", be->inflight_qsize);
	r = (void *)((char *)be->inflight +
		     __virtq_vu_inflight_queue_size(be->inflight_qsize) * q->index);
	used = virtq_device_next_used(q->dev);
	version = r->version;
	if (version == 0) {
		fresh(q, r, be->inflight_qsize, used);
		q->infl = r;
		return 0;
	}
	if (version != INFLIGHT_VERSION)
		return corrupt(q, "unknown version", version);
	p = malloc(sizeof(*p) * q->num);
	q->resub = malloc(sizeof(*q->resub) * q->num);
	if (!p || !q->resub) {
		ret = -ENOMEM;
		__virtq_vu_log(be, "queue %u: out of memory for the inflight heads", q->index);
		goto out;
	}
	ret = recover(q, r, be->inflight_qsize, used, p, &n);
	if (ret < 0)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		q->resub[i] = p[i].head;
	q->nresub = n;
	/* Every chain popped is either used or in flight: the next avail
	 * entry follows them all, whatever base the frontend sent. */
	if (virtq_device_reclaim(q->dev, (uint16_t)(used + n)) < 0)
		__virtq_vu_log(be, "queue %u: guest says avail->idx is more than %u entries past %u; queue broken",
			       q->index, q->num, (uint16_t)(used + n));
	if (n)
		__virtq_vu_log(be, "queue %u: resubmitting %u requests in flight before the restart",
			       q->index, n);
	q->infl = r;
out:
	free(p);
	if (ret < 0)
		__virtq_vu_inflight_stop(q);
	return ret;
}

static void mark(struct virtq_vu_queue *q, uint16_t head)
{
	struct vu_desc_state_split *s = &q->infl->desc[head];

	/* Relaxed stores, in program order: the region is read only by a
	 * later backend, after this process is gone or the ring stopped. */
	virtq_store_relaxed(&s->counter, q->infl_counter++);
	virtq_store_relaxed(&s->inflight, 1);
}

int virtq_vu_queue_pop(struct virtq_vu_queue *q, struct virtq_chain *c)
{
	int r;

	if (q->resub_pos < q->nresub)
		return virtq_device_walk(q->dev, q->resub[q->resub_pos++], c);
	r = virtq_device_pop(q->dev, c);
	if (q->infl && r != 0 && r != -EIO && c->head < q->num)
		mark(q, c->head);
	return r;
}

int virtq_vu_queue_push(struct virtq_vu_queue *q, uint16_t head, uint32_t len)
{
	struct vu_inflight_split *r = q->infl;
	int ret;

	if (!r)
		return virtq_device_push(q->dev, head, len);
	if (head >= q->num)
		return -EINVAL;
	virtq_store_relaxed(&r->last_batch_head, head);
	ret = virtq_device_push(q->dev, head, len);
	if (ret < 0)
		return ret;
	ret = virtq_device_flush(q->dev);
	if (ret < 0)
		return ret;
	virtq_store_relaxed(&r->desc[head].inflight, 0);
	virtq_store_relaxed(&r->used_idx, virtq_device_next_used(q->dev));
	return 0;
}
