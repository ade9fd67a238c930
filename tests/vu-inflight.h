/* SPDX-License-Identifier: MIT */
/*
 * vu-inflight.h - frontend side of vhost-user inflight tracking for the
 * inflight tests: GET_INFLIGHT_FD / SET_INFLIGHT_FD as QEMU sends them,
 * and the split-queue region layout QEMU documents.
 */
#ifndef VU_INFLIGHT_H
#define VU_INFLIGHT_H

#include "vu-test-frontend.h"

struct tfi_desc {
	uint8_t inflight;
	uint8_t pad[5];
	uint16_t next;
	uint64_t counter;
};

struct tfi_queue {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct tfi_desc desc[];
};

/* GET_INFLIGHT_FD for one queue of @qsize: returns the fd, sets *size. */
static inline int tfi_get(struct tfe *fe, uint16_t qsize, uint64_t *size)
{
	struct vu_inflight in = { .num_queues = 1, .queue_size = qsize };
	struct vu_msg m;

	CHECK_EQ(tfe_send(fe, VU_GET_INFLIGHT_FD, 0, &in, sizeof(in), NULL, 0), 0);
	CHECK_EQ(tfe_recv_fds(fe, VU_GET_INFLIGHT_FD, &m), 0);
	CHECK_EQ(m.nfds, 1);
	CHECK_EQ(m.hdr.size, sizeof(in));
	CHECK_EQ(m.p.inflight.mmap_offset, 0);
	*size = m.p.inflight.mmap_size;
	return m.fds[0];
}

/* SET_INFLIGHT_FD of @fd (one queue of @qsize, @size bytes). */
static inline int64_t tfi_set(struct tfe *fe, int fd, uint16_t qsize,
			      uint64_t size)
{
	struct vu_inflight in = {
		.mmap_size = size, .num_queues = 1, .queue_size = qsize,
	};

	return tfe_acked(fe, VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
}

#endif /* VU_INFLIGHT_H */
