/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-dirty-log: live migration's dirty-page log (VHOST_F_LOG_ALL,
 * LOG_SHMFD).  The backend offers both; SET_LOG_BASE maps the bitmap and
 * answers 0; SET_FEATURES with LOG_ALL and SET_VRING_ADDR with the log
 * flag switch logging on under running rings without stopping them or
 * dropping a request held in flight.  Then, bit by bit of the bitmap:
 * the pages the device wrote (the writable bytes up to the pushed length,
 * direct chains and an indirect one) and the used ring's page are marked,
 * and nothing else is (readable buffers, writable bytes past the length);
 * a ring stopped while logging marks its used area (avail_event, flags).
 * Without LOG_ALL nothing is marked.  A bad SET_LOG_BASE answers a
 * failure and the connection stays up.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define MEM	(2u << 20)
#define QSIZE	8
#define PAGE	4096u
#define LOG_LEN	(9 * PAGE)	/* covers guest pages up to 0x40200000 */

static atomic_int stops;

/* The held request: popped, kept, completed when an 'R' chain comes. */
static struct iovec held_iov[8];
static struct virtq_chain held = { .iov = held_iov, .iov_cap = 8 };
static bool holding;

static void kick(void *opaque, struct virtq_vu_queue *q)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	struct iovec iov[8];
	struct virtq_chain c = { .iov = iov, .iov_cap = 8 };
	int r;

	(void)opaque;
	while ((r = virtq_device_pop(vq, &c)) == 1) {
		char first = *(char *)iov[0].iov_base;

		if (first == 'H') {
			held.head = c.head;
			held.n_out = c.n_out;
			held.n_in = c.n_in;
			memcpy(held_iov, iov, sizeof(iov));
			__atomic_store_n(&holding, true, __ATOMIC_RELEASE);
			continue;
		}
		if (first == 'R' && __atomic_load_n(&holding, __ATOMIC_ACQUIRE)) {
			CHECK_EQ(virtq_device_push(vq, held.head,
						   (uint32_t)echo_copy(&held)), 0);
			__atomic_store_n(&holding, false, __ATOMIC_RELEASE);
		}
		CHECK_EQ(virtq_device_push(vq, c.head, (uint32_t)echo_copy(&c)), 0);
	}
	CHECK(r == 0);
	virtq_device_flush(vq);
	virtq_vu_queue_notify(q);
}

static void stop(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	(void)q;
	atomic_fetch_add(&stops, 1);
}

static const struct virtq_vu_backend_ops ops = {
	.queue_kick = kick,
	.queue_stop = stop,
};

struct range {
	uint64_t gpa, len;
};

static bool covers(const struct range *r, unsigned int n, uint64_t page)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i].len && page >= r[i].gpa / PAGE &&
		    page <= (r[i].gpa + r[i].len - 1) / PAGE)
			return true;
	return false;
}

/* Every page of @want marked; every page marked is in @want or @may. */
static void check_log(const char *what, const uint8_t *bm,
		      const struct range *want, unsigned int nwant,
		      const struct range *may, unsigned int nmay)
{
	unsigned int set = 0;

	for (uint64_t p = 0; p < (uint64_t)LOG_LEN * 8; p++) {
		bool bit = bm[p / 8] & (1u << (p % 8));
		bool w = covers(want, nwant, p);

		set += bit;
		if (w && !bit) {
			fprintf(stderr, "FAIL %s: guest page 0x%llx was written and is not marked\n",
				what, (unsigned long long)p * PAGE);
			exit(1);
		}
		if (bit && !w && !covers(may, nmay, p)) {
			fprintf(stderr, "FAIL %s: guest page 0x%llx is marked and was not written\n",
				what, (unsigned long long)p * PAGE);
			exit(1);
		}
	}
	fprintf(stderr, "%s: %u pages marked, as expected\n", what, set);
}

static void wait_used(struct tfe *fe, unsigned int i, unsigned int n)
{
	for (int ms = 0; ms < TFE_TIMEOUT_MS; ms++) {
		void *tok;
		uint32_t len;
		int r = virtq_driver_get_used(fe->q[i].drv, &tok, &len);

		CHECK(r >= 0);
		if (r == 1 && --n == 0)
			return;
		if (r == 0)
			usleep(1000);
	}
	CHECK(!"request completed");
}

static void set_addr(struct tfe *fe, unsigned int i, const void *desc,
		     const void *avail, const void *used, bool log)
{
	struct vu_vring_addr a = {
		.index = i,
		.flags = log ? VU_VRING_F_LOG : 0,
		.desc_user_addr = (uint64_t)(uintptr_t)desc,
		.avail_user_addr = (uint64_t)(uintptr_t)avail,
		.used_user_addr = (uint64_t)(uintptr_t)used,
		.log_guest_addr = tfe_gpa(fe, used),
	};

	TFE_OK(tfe_acked(fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0));
}

static int64_t set_log_base(struct tfe *fe, int fd, uint64_t size, uint64_t off)
{
	struct vu_log lg = { .mmap_size = size, .mmap_offset = off };
	struct vu_msg m;

	CHECK_EQ(tfe_send(fe, VU_SET_LOG_BASE, 0, &lg, sizeof(lg), &fd, 1), 0);
	CHECK_EQ(tfe_recv(fe, VU_SET_LOG_BASE, &m), 0);
	CHECK_EQ(m.hdr.size, 8);
	return (int64_t)m.p.u64;
}

int main(void)
{
	struct tbe tb;
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC),
		.num_queues = 2,
		.ops = &ops,
	};
	const uint64_t log_all = 1ull << VU_F_LOG_ALL;
	struct tfe fe;
	struct tfe_queue *q0 = &fe.q[0];
	uint8_t *bm;
	int logfd;
	char *m;

	tbe_start(&tb, "vu-dirty", &cfg);
	tfe_init(&fe, tb.path, MEM);
	m = fe.mem;
	CHECK(tfe_get_u64(&fe, VU_GET_FEATURES) & log_all);
	tfe_negotiate(&fe, ~log_all);
	CHECK(fe.proto & (1ull << VU_PROTOCOL_F_LOG_SHMFD));
	tfe_queue(&fe, 0, QSIZE);

	/* Queue 1: rings laid out by hand, for an indirect chain. */
	char *d1 = m + 0x10000, *a1 = m + 0x11000, *u1 = m + 0x12000;
	int kick1 = eventfd(0, EFD_CLOEXEC), call1 = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;

	tfe_vring(&fe, VU_SET_VRING_NUM, 1, QSIZE);
	set_addr(&fe, 1, d1, a1, u1, false);
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_CALL, &one, 8, &call1, 1));
	TFE_OK(tfe_acked(&fe, VU_SET_VRING_KICK, &one, 8, &kick1, 1));
	tfe_vring(&fe, VU_SET_VRING_ENABLE, 1, 1);

	/* The held request, popped before logging starts. */
	struct virtq_sg ho = { m + 0x80000, 5000 }, hi = { m + 0x90000 + 100, 9000 };

	m[0x80000] = 'H';
	tfe_offer(&fe, 0, &ho, 1, &hi, 1);
	for (int n = 0; n < 1000 && !__atomic_load_n(&holding, __ATOMIC_ACQUIRE); n++)
		usleep(1000);

	/* Logging on, under running rings. */
	logfd = memfd_create("vu-test-log", MFD_CLOEXEC);
	CHECK(logfd >= 0);
	CHECK_EQ(ftruncate(logfd, LOG_LEN), 0);
	bm = mmap(NULL, LOG_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, logfd, 0);
	CHECK(bm != MAP_FAILED);
	CHECK_EQ(set_log_base(&fe, logfd, LOG_LEN, 0), 0);
	tfe_set_u64(&fe, VU_SET_FEATURES, fe.features | log_all);
	set_addr(&fe, 0, q0->desc, q0->avail, q0->used, true);
	set_addr(&fe, 1, d1, a1, u1, true);
	CHECK_EQ(atomic_load(&stops), 0);

	/* The release request: both complete; their written pages logged. */
	struct virtq_sg ro = { m + 0xa0000, 3000 };
	struct virtq_sg ri[2] = { { m + 0xb0000 + 4000, 200 }, { m + 0xc0000, 10000 } };

	memset(bm, 0, LOG_LEN);
	m[0xa0000] = 'R';
	tfe_offer(&fe, 0, &ro, 1, ri, 2);
	wait_used(&fe, 0, 2);
	{
		uint64_t used = tfe_gpa(&fe, q0->used);
		struct range want[] = {
			{ tfe_gpa(&fe, hi.addr), 5000 },	/* held: 5000 echoed */
			{ tfe_gpa(&fe, ri[0].addr), 200 },
			{ tfe_gpa(&fe, ri[1].addr), 2800 },	/* 3000 - 200 */
			{ used + 2, 2 },			/* used->idx */
		};
		struct range may[] = { { used, virtq_used_size(QSIZE) } };

		check_log("direct chains", bm, want, 4, may, 1);
	}

	/* Queue 1: an indirect chain, out 6000 bytes, in 1000 + 9000. */
	struct virtq_desc *ind = (struct virtq_desc *)(m + 0x13000);
	struct virtq_desc *desc1 = (struct virtq_desc *)d1;
	struct virtq_avail *avail1 = (struct virtq_avail *)a1;
	struct virtq_used *used1 = (struct virtq_used *)u1;

	memset(bm, 0, LOG_LEN);
	ind[0] = (struct virtq_desc){ virtq_cpu_to_le64(tfe_gpa(&fe, m + 0xd0000)),
				      virtq_cpu_to_le32(6000),
				      virtq_cpu_to_le16(VIRTQ_DESC_F_NEXT), virtq_cpu_to_le16(1) };
	ind[1] = (struct virtq_desc){ virtq_cpu_to_le64(tfe_gpa(&fe, m + 0xe0000 + 4000)),
				      virtq_cpu_to_le32(1000),
				      virtq_cpu_to_le16(VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT),
				      virtq_cpu_to_le16(2) };
	ind[2] = (struct virtq_desc){ virtq_cpu_to_le64(tfe_gpa(&fe, m + 0xf0000)),
				      virtq_cpu_to_le32(9000),
				      virtq_cpu_to_le16(VIRTQ_DESC_F_WRITE), 0 };
	desc1[0] = (struct virtq_desc){ virtq_cpu_to_le64(tfe_gpa(&fe, ind)),
					virtq_cpu_to_le32(3 * 16),
					virtq_cpu_to_le16(VIRTQ_DESC_F_INDIRECT), 0 };
	avail1->ring[0] = 0;
	__atomic_store_n(&avail1->idx, virtq_cpu_to_le16(1), __ATOMIC_RELEASE);
	CHECK_EQ(eventfd_write(kick1, 1), 0);
	for (int ms = 0; ms < TFE_TIMEOUT_MS &&
	     virtq_le16(__atomic_load_n(&used1->idx, __ATOMIC_ACQUIRE)) != 1; ms++)
		usleep(1000);
	CHECK_EQ(virtq_le16(used1->idx), 1);
	CHECK_EQ(virtq_le32(used1->ring[0].len), 6000);
	{
		uint64_t used = tfe_gpa(&fe, u1);
		struct range want[] = {
			{ tfe_gpa(&fe, m + 0xe0000 + 4000), 1000 },
			{ tfe_gpa(&fe, m + 0xf0000), 5000 },
			{ used + 2, 2 },
		};
		struct range may[] = { { used, virtq_used_size(QSIZE) } };

		check_log("indirect chain", bm, want, 3, may, 1);
	}

	/* A ring that stops while logging marks its whole used area
	 * (avail_event and used->flags are not logged as they are stored):
	 * QEMU reads the log after GET_VRING_BASE. */
	memset(bm, 0, LOG_LEN);
	{
		struct vu_vring_state st = { .index = 1 };
		struct vu_msg rep;
		struct range want[] = { { tfe_gpa(&fe, u1), virtq_used_size(QSIZE) } };

		CHECK_EQ(tfe_send(&fe, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0), 0);
		CHECK_EQ(tfe_recv(&fe, VU_GET_VRING_BASE, &rep), 0);
		CHECK_EQ(rep.p.state.num, 1);
		check_log("ring stopped", bm, want, 1, NULL, 0);
	}

	/* Logging off: nothing marked. */
	tfe_set_u64(&fe, VU_SET_FEATURES, fe.features);
	memset(bm, 0, LOG_LEN);
	{
		struct virtq_sg o = { m + 0xa0000, 100 }, i = { m + 0xc0000, 100 };

		m[0xa0000] = 'x';
		CHECK_EQ(tfe_request(&fe, 0, &o, 1, &i, 1), 100);
		check_log("logging off", bm, NULL, 0, NULL, 0);
	}
	/* Only queue 1's GET_VRING_BASE stopped a ring: logging on and
	 * off never did. */
	CHECK_EQ(atomic_load(&stops), 1);

	/* Bad logs: a failure answer, the connection stays up. */
	CHECK(set_log_base(&fe, logfd, 0, 0) != 0);
	CHECK(set_log_base(&fe, logfd, LOG_LEN, 123) != 0);
	CHECK(set_log_base(&fe, logfd, LOG_LEN, PAGE) != 0);	/* past the fd */
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_QUEUE_NUM), 2);

	munmap(bm, LOG_LEN);
	close(logfd);
	close(kick1);
	close(call1);
	tfe_close(&fe);
	tbe_stop(&tb);
	return 0;
}
