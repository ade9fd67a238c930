/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-inflight-hostile: an inflight region with bad content (an
 * unknown version, a desc_num that is not the queue size, a
 * last_batch_head out of range, an inflight flag that is not 0 or 1, two
 * heads with the same counter) makes the backend close the connection when
 * the ring starts, without crashing; the next connection, with a sound
 * region, works.
 */
#include <pthread.h>

#include "vu-test-backend.h"
#include "vu-inflight.h"

#define MEM_SIZE	(1u << 20)
#define QSIZE		8
#define REGION		4096

static const struct virtq_vu_backend_ops ops = { 0 };

/* Connect, hand over @region's fd, start queue 0: the enable's result. */
static int64_t start(const char *path, int rfd)
{
	struct tfe fe;
	struct vu_vring_addr a = { .index = 0 };
	uint64_t v = 0;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	struct vu_vring_state en = { .index = 0, .num = 1 };
	int64_t r;

	CHECK(kick >= 0 && call >= 0);
	tfe_init(&fe, path, MEM_SIZE);
	tfe_negotiate(&fe, ~0ull);
	TFE_OK(tfi_set(&fe, rfd, QSIZE, REGION));
	a.desc_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_desc_size(QSIZE), 16);
	a.avail_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_avail_size(QSIZE), 2);
	a.used_user_addr = (uint64_t)(uintptr_t)tfe_alloc(&fe, virtq_used_size(QSIZE), 4);
	tfe_vring(&fe, VU_SET_VRING_NUM, 0, QSIZE);
	tfe_vring(&fe, VU_SET_VRING_BASE, 0, 0);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &v, 8, &call, 1));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &kick, 1));
	r = tfe_acked(&fe, VU_SET_VRING_ENABLE, &en, sizeof(en), NULL, 0);
	if (r == 0)	/* still up: the backend answers a GET */
		CHECK_EQ(tfe_get_u64(&fe, VU_GET_QUEUE_NUM), 1);
	tfe_close(&fe);
	close(kick);
	close(call);
	return r;
}

int main(void)
{
	struct tbe tb;
	struct tfi_queue *r;
	int rfd;

	tbe_start_one(&tb, "vu-inflight-h", &ops);
	rfd = memfd_create("vu-inflight-hostile", MFD_CLOEXEC);
	CHECK(rfd >= 0);
	CHECK_EQ(ftruncate(rfd, REGION), 0);
	r = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	CHECK(r != MAP_FAILED);

	/* The five kinds of bad content, one at a time. */
	for (int k = 0; k < 5; k++) {
		memset(r, 0, REGION);
		r->version = 1;
		r->desc_num = QSIZE;
		r->desc[1] = (struct tfi_desc){ .inflight = 1, .counter = 5 };
		r->desc[3] = (struct tfi_desc){ .inflight = 1, .counter = 6 };
		switch (k) {
		case 0: r->version = 2; break;
		case 1: r->desc_num = QSIZE * 2; break;
		case 2: r->last_batch_head = QSIZE; r->used_idx = 1; break;
		case 3: r->desc[5].inflight = 2; break;
		case 4: r->desc[3].counter = 5; break;
		}
		fprintf(stderr, "bad region %d\n", k);
		CHECK(start(tb.path, rfd) != 0);
	}

	/* Sound content (no request: the guest's avail->idx is 0 here, so
	 * two in flight would run past it; none in flight is consistent). */
	memset(r, 0, REGION);
	r->version = 1;
	r->desc_num = QSIZE;
	r->desc[2].counter = 12345;	/* not in flight: ignored */
	CHECK_EQ(start(tb.path, rfd), 0);
	/* A fresh (all zero) region too. */
	memset(r, 0, REGION);
	CHECK_EQ(start(tb.path, rfd), 0);
	CHECK_EQ(r->version, 1);
	CHECK_EQ(r->desc_num, QSIZE);

	tbe_halt(&tb);
	munmap(r, REGION);
	close(rfd);
	rmdir(tb.dir);
	return 0;
}
