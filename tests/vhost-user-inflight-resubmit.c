/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-inflight-resubmit: a backend dies while its completions are
 * out of order; a new backend given the same memory and the inflight
 * region (SET_INFLIGHT_FD, base = used->idx as QEMU sends after a crash)
 * completes exactly the requests that were missing, once each, oldest
 * first, and then serves new requests at the right avail index.
 *
 * Requests 0 and 1 are offered, 0 completes; then 2 (which reuses
 * request 0's descriptors, a lower head than request 1's) and 3 are
 * offered and 3 completes.  The backend then "crashes": it is destroyed
 * with 1 and 2 never pushed.  The second backend must serve 1 then 2
 * (counter order, not head order) and nothing else.
 */
#include <pthread.h>

#include "vu-test-backend.h"
#include "vu-inflight.h"

#define MEM_SIZE	(1u << 20)
#define QSIZE		8
#define QUIET_MS	300

struct dev {
	pthread_mutex_t lock;
	unsigned int complete;	/* bit i: complete request i when popped */
	uint8_t seen[32];
	unsigned int nseen;
};

static struct dev dev = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void kick(void *opaque, struct virtq_vu_queue *q)
{
	struct iovec iov[4];
	struct virtq_chain c = { .iov = iov, .iov_cap = 4 };
	int r;

	(void)opaque;
	while ((r = virtq_vu_queue_pop(q, &c)) != 0) {
		uint8_t id;
		bool done;

		CHECK_EQ(r, 1);
		CHECK(c.n_out == 1 && c.n_in == 1);
		id = *(uint8_t *)iov[0].iov_base;
		CHECK(id < 32);
		pthread_mutex_lock(&dev.lock);
		CHECK(dev.nseen < 32);
		dev.seen[dev.nseen++] = id;
		done = dev.complete & (1u << id);
		pthread_mutex_unlock(&dev.lock);
		if (!done)
			continue;	/* held: in flight at the crash */
		*(uint8_t *)iov[1].iov_base = id;
		CHECK_EQ(virtq_vu_queue_push(q, c.head, 1u + id), 0);
	}
	CHECK(virtq_device_flush(virtq_vu_queue_device(q)) >= 0);
	CHECK(virtq_vu_queue_notify(q) >= 0);
}

/* queue_stop: a crashed backend pushes nothing back. */
static void stop(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	(void)q;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_kick = kick,
	.queue_stop = stop,
};

static struct virtq_vu_backend *start_backend(const char *path, pthread_t *th)
{
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
		.num_queues = 1,
		.ops = &ops,
	};
	struct virtq_vu_backend *be;

	CHECK_EQ(virtq_vu_backend_create(&be, &cfg), 0);
	CHECK_EQ(virtq_vu_backend_listen(be, path), 0);
	CHECK_EQ(pthread_create(th, NULL, tbe_run, be), 0);
	return be;
}

static void offer(struct tfe *fe, uint8_t id)
{
	char *b = fe->mem + MEM_SIZE - 4096 + id * 64;
	struct virtq_sg o = { b, 1 }, i = { b + 32, 16 };

	b[0] = (char)id;
	b[32] = (char)0xff;
	tfe_offer(fe, 0, &o, 1, &i, 1);
}

/* Wait for one completion: it must be request @id, answered. */
static void expect(struct tfe *fe, uint8_t id)
{
	char *b = fe->mem + MEM_SIZE - 4096 + id * 64;

	CHECK_EQ(tfe_wait(fe, 0, TFE_TIMEOUT_MS), 1 + id);
	CHECK_EQ((uint8_t)b[32], id);
}

static unsigned int nseen(void)
{
	unsigned int n;

	pthread_mutex_lock(&dev.lock);
	n = dev.nseen;
	pthread_mutex_unlock(&dev.lock);
	return n;
}

static uint16_t used_idx(struct tfe *fe)
{
	return virtq_le16(((struct virtq_used *)fe->q[0].used)->idx);
}

int main(void)
{
	char dir[] = "/tmp/vu-inflight-XXXXXX", path[64], path2[64];
	struct virtq_vu_backend *be;
	struct tfe fe;
	pthread_t th;
	uint64_t size;
	int ifd;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a", dir);
	snprintf(path2, sizeof(path2), "%s/b", dir);

	/* First backend: QEMU's order, GET_INFLIGHT_FD then SET_INFLIGHT_FD. */
	be = start_backend(path, &th);
	tfe_init(&fe, path, MEM_SIZE);
	tfe_negotiate(&fe, ~0ull);
	CHECK(fe.proto & (1ull << VU_PROTOCOL_F_INFLIGHT_SHMFD));
	ifd = tfi_get(&fe, QSIZE, &size);
	TFE_OK(tfi_set(&fe, ifd, QSIZE, size));
	tfe_queue(&fe, 0, QSIZE);

	pthread_mutex_lock(&dev.lock);
	dev.complete = 1u << 0 | 1u << 3;
	pthread_mutex_unlock(&dev.lock);
	offer(&fe, 0);
	offer(&fe, 1);
	expect(&fe, 0);
	offer(&fe, 2);
	offer(&fe, 3);
	expect(&fe, 3);
	for (int i = 0; i < 1000 && nseen() < 4; i++)
		usleep(10000);
	CHECK_EQ(nseen(), 4);
	CHECK_EQ(used_idx(&fe), 2);

	/* Crash: 1 and 2 are never completed by this backend. */
	virtq_vu_backend_stop(be);
	pthread_join(th, NULL);
	virtq_vu_backend_destroy(be);
	close(fe.sock);

	/* A new backend, the same memory and region, base = used->idx. */
	pthread_mutex_lock(&dev.lock);
	dev.complete = ~0u;
	dev.nseen = 0;
	pthread_mutex_unlock(&dev.lock);
	be = start_backend(path2, &th);
	fe.sock = tfe_connect(path2);
	tfe_negotiate(&fe, ~0ull);
	TFE_OK(tfi_set(&fe, ifd, QSIZE, size));
	tfe_queue_send(&fe, 0, used_idx(&fe));

	expect(&fe, 1);
	expect(&fe, 2);
	CHECK_EQ(tfe_wait(&fe, 0, QUIET_MS), -ETIMEDOUT);
	CHECK_EQ(nseen(), 2);
	pthread_mutex_lock(&dev.lock);
	CHECK_EQ(dev.seen[0], 1);
	CHECK_EQ(dev.seen[1], 2);
	pthread_mutex_unlock(&dev.lock);

	/* New requests continue at avail index 4. */
	offer(&fe, 4);
	expect(&fe, 4);
	CHECK_EQ(nseen(), 3);
	pthread_mutex_lock(&dev.lock);
	CHECK_EQ(dev.seen[2], 4);
	pthread_mutex_unlock(&dev.lock);
	CHECK_EQ(used_idx(&fe), 5);

	virtq_vu_backend_stop(be);
	pthread_join(th, NULL);
	virtq_vu_backend_destroy(be);
	tfe_close(&fe);
	close(ifd);
	rmdir(dir);
	return 0;
}
