/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-inflight-start-refused: a ring with requests to resubmit
 * from the inflight region whose start the application refuses
 * (queue_start returns an error: the connection closes) leaves nothing
 * allocated behind: the resubmission list is freed.  Measured as heap
 * bytes in use (mallinfo2) around a whole backend's life, after a first
 * life to warm up; under ASan the leak checker sees the same.
 */
#include <malloc.h>
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-inflight.h"

#define QSIZE	32768		/* the list holds 2 bytes per entry */
#define MEM	(4u << 20)

static int refuse_start(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	(void)q;
	return -EBUSY;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_start = refuse_start,
	.queue_kick = echo_kick,
	.log = NULL,
};

/* A connection whose ring has one request in flight; its start is refused. */
static void connection(const char *path)
{
	struct tfe fe;
	struct tfi_queue *r;
	uint64_t size, v = 0;
	struct vu_vring_addr a = { .index = 0 };
	struct vu_vring_state en = { .index = 0, .num = 1 };
	int fd, kick, call;
	char *desc, *avail, *used;

	tfe_init(&fe, path, MEM);
	tfe_negotiate(&fe, ~0ull);
	fd = tfi_get(&fe, QSIZE, &size);
	r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(r != MAP_FAILED);
	r->version = 1;
	r->desc_num = QSIZE;
	r->desc[0].inflight = 1;
	r->desc[0].counter = 1;
	TFE_OK(tfi_set(&fe, fd, QSIZE, size));
	desc = tfe_alloc(&fe, virtq_desc_size(QSIZE), 16);
	avail = tfe_alloc(&fe, virtq_avail_size(QSIZE), 2);
	used = tfe_alloc(&fe, virtq_used_size(QSIZE), 4);
	((struct virtq_avail *)avail)->idx = virtq_cpu_to_le16(1);
	tfe_vring(&fe, VU_SET_VRING_NUM, 0, QSIZE);
	tfe_vring(&fe, VU_SET_VRING_BASE, 0, 0);
	a.desc_user_addr = (uint64_t)(uintptr_t)desc;
	a.avail_user_addr = (uint64_t)(uintptr_t)avail;
	a.used_user_addr = (uint64_t)(uintptr_t)used;
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
	kick = eventfd(0, EFD_CLOEXEC);
	call = eventfd(0, EFD_CLOEXEC);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &v, 8, &call, 1));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &v, 8, &kick, 1));
	/* The ring starts here, the application refuses it, the backend
	 * closes the connection. */
	CHECK_EQ(tfe_send(&fe, VU_SET_VRING_ENABLE, VU_VERSION | VU_FLAG_NEED_REPLY,
			  &en, sizeof(en), NULL, 0), 0);
	CHECK(tfe_closed_by_peer(&fe));
	munmap(r, size);
	close(fd);
	close(kick);
	close(call);
	tfe_close(&fe);
}

static void life(struct tbe *tb)
{
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.ops = &ops,
	};

	tbe_launch(tb, &cfg);
	connection(tb->path);
	tbe_halt(tb);
}

int main(void)
{
	struct tbe tb;
	size_t before, after;

	tbe_mkdir(&tb, "vu-infl-ref");
	life(&tb);
	before = mallinfo2().uordblks;
	life(&tb);
	after = mallinfo2().uordblks;
	fprintf(stderr, "heap in use: %zu bytes before, %zu after\n", before, after);
	/* The list alone is 64 KiB; other noise is far below 16 KiB. */
	if (after > before + 16384) {
		fprintf(stderr, "FAIL: %zu bytes left allocated by a refused start\n",
			after - before);
		return 1;
	}
	CHECK_EQ(rmdir(tb.dir), 0);
	return 0;
}
