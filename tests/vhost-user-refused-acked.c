/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-refused-acked: with REPLY_ACK negotiated and NEED_REPLY set,
 * a well-formed request the backend refuses (a value out of range, a
 * region it does not have, an fd it cannot use, memory it cannot map) is
 * answered with a non-zero ack, and the connection stays up with nothing
 * changed: no fd or mapping kept, a running ring still serves requests,
 * and a ring set up afterwards works.  The backend runs its built-in
 * runner in a thread of this process with the echo device.
 */
#include <fcntl.h>
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define MEM_SIZE	(1u << 20)
#define QSIZE		8

static const struct virtq_vu_backend_ops echo_ops = {
	.queue_kick = echo_kick,
	.set_config = NULL,	/* no device write is ever accepted */
};

static void echo(struct tfe *fe)
{
	char *out = tfe_alloc(fe, 16, 1), *in = tfe_alloc(fe, 16, 1);
	struct virtq_sg o = { out, 6 }, i = { in, 16 };

	memcpy(out, "hello", 6);
	CHECK_EQ(tfe_request(fe, 0, &o, 1, &i, 1), 6);
	CHECK(!memcmp(in, "hello", 6));
}

static int64_t vring(struct tfe *fe, uint32_t req, uint32_t index, uint32_t num)
{
	struct vu_vring_state st = { .index = index, .num = num };

	return tfe_acked(fe, req, &st, sizeof(st), NULL, 0);
}

static int64_t r_features(struct tfe *fe)
{
	uint64_t v = 1ull << 63;

	return tfe_acked(fe, VU_SET_FEATURES, &v, 8, NULL, 0);
}

static int64_t r_proto(struct tfe *fe)
{
	uint64_t v = fe->proto | 1ull << 40;

	return tfe_acked(fe, VU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0);
}

static int64_t r_num_index(struct tfe *fe) { return vring(fe, VU_SET_VRING_NUM, 99, 8); }
static int64_t r_num_zero(struct tfe *fe) { return vring(fe, VU_SET_VRING_NUM, 1, 0); }
static int64_t r_num_npot(struct tfe *fe) { return vring(fe, VU_SET_VRING_NUM, 1, 100); }
static int64_t r_num_big(struct tfe *fe) { return vring(fe, VU_SET_VRING_NUM, 1, 65536); }
static int64_t r_base_big(struct tfe *fe) { return vring(fe, VU_SET_VRING_BASE, 1, 70000); }
static int64_t r_enable_two(struct tfe *fe) { return vring(fe, VU_SET_VRING_ENABLE, 1, 2); }

static int64_t mem_table(struct tfe *fe, struct vu_mem_region *r, unsigned int n)
{
	struct vu_mem_table mt = { .nregions = n };
	int fds[2] = { fe->memfd, fe->memfd };

	memcpy(mt.regions, r, sizeof(*r) * n);
	return tfe_acked(fe, VU_SET_MEM_TABLE, &mt, 8 + 32 * n, fds, n);
}

static int64_t r_mem_overlap(struct tfe *fe)
{
	struct vu_mem_region r[2] = { tfe_region(fe), tfe_region(fe) };

	r[1].guest_phys_addr += MEM_SIZE / 2;
	r[1].userspace_addr += 1ull << 40;
	return mem_table(fe, r, 2);
}

static int64_t r_mem_past_fd(struct tfe *fe)
{
	struct vu_mem_region r = tfe_region(fe);

	r.mmap_offset = 4096;
	return mem_table(fe, &r, 1);
}

static int64_t r_mem_size_zero(struct tfe *fe)
{
	struct vu_mem_region r = tfe_region(fe);

	r.memory_size = 0;
	return mem_table(fe, &r, 1);
}

static int64_t r_mem_overflow(struct tfe *fe)
{
	struct vu_mem_region r = tfe_region(fe);

	r.guest_phys_addr = ~0ull - 4095;
	return mem_table(fe, &r, 1);
}

static int64_t r_addr_outside(struct tfe *fe)
{
	struct vu_vring_addr a = {
		.index = 1,
		.desc_user_addr = 0x1000,
		.avail_user_addr = 0x2000,
		.used_user_addr = 0x3000,
	};

	return tfe_acked(fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static int64_t r_addr_flags(struct tfe *fe)
{
	struct vu_vring_addr a = {
		.index = 1,
		.flags = 0x80,
		.desc_user_addr = (uint64_t)(uintptr_t)fe->mem,
		.avail_user_addr = (uint64_t)(uintptr_t)fe->mem,
		.used_user_addr = (uint64_t)(uintptr_t)fe->mem,
	};

	return tfe_acked(fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static int64_t r_kick_memfd(struct tfe *fe)
{
	uint64_t v = 1;

	return tfe_acked(fe, VU_SET_VRING_KICK, &v, 8, &fe->memfd, 1);
}

static int64_t r_call_high_bits(struct tfe *fe)
{
	uint64_t v = 1ull << 20;
	int efd = eventfd(0, EFD_CLOEXEC);
	int64_t r = tfe_acked(fe, VU_SET_VRING_CALL, &v, 8, &efd, 1);

	close(efd);
	return r;
}

static int64_t r_call_read_end(struct tfe *fe)
{
	uint64_t v = 1;
	int p[2];
	int64_t r;

	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	r = tfe_acked(fe, VU_SET_VRING_CALL, &v, 8, &p[0], 1);
	close(p[0]);
	close(p[1]);
	return r;
}

static int64_t r_add_overlap(struct tfe *fe)
{
	struct vu_mem_single s = { .region = tfe_region(fe) };

	s.region.userspace_addr += 1ull << 40;
	return tfe_acked(fe, VU_ADD_MEM_REG, &s, sizeof(s), &fe->memfd, 1);
}

static int64_t r_rem_missing(struct tfe *fe)
{
	struct vu_mem_single s = { .region = tfe_region(fe) };

	s.region.memory_size /= 2;
	return tfe_acked(fe, VU_REM_MEM_REG, &s, sizeof(s), NULL, 0);
}

static int64_t r_set_config_range(struct tfe *fe)
{
	struct vu_config c = { .offset = 12, .size = 8 };	/* space is 16 */

	return tfe_acked(fe, VU_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 8, NULL, 0);
}

static int64_t r_set_config_device(struct tfe *fe)
{
	struct vu_config c = { .offset = 0, .size = 4 };

	return tfe_acked(fe, VU_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 4, NULL, 0);
}

static int64_t r_inflight_small(struct tfe *fe)
{
	struct vu_inflight inf = { .mmap_size = 64, .num_queues = 2,
				   .queue_size = QSIZE };

	return tfe_acked(fe, VU_SET_INFLIGHT_FD, &inf, sizeof(inf), &fe->memfd, 1);
}

static int64_t r_inflight_queues(struct tfe *fe)
{
	struct vu_inflight inf = { .mmap_size = 1 << 16, .num_queues = 9,
				   .queue_size = QSIZE };

	return tfe_acked(fe, VU_SET_INFLIGHT_FD, &inf, sizeof(inf), &fe->memfd, 1);
}

static int64_t r_status_big(struct tfe *fe)
{
	uint64_t v = 0x100;

	return tfe_acked(fe, VU_SET_STATUS, &v, 8, NULL, 0);
}

struct refused_case {
	const char *name;
	bool running;	/* queue 0 runs while the request is refused */
	int64_t (*send)(struct tfe *fe);
};

static const struct refused_case cases[] = {
	{ "SET_FEATURES not offered", false, r_features },
	{ "SET_PROTOCOL_FEATURES not offered", false, r_proto },
	{ "SET_VRING_NUM queue 99", true, r_num_index },
	{ "SET_VRING_NUM 0", true, r_num_zero },
	{ "SET_VRING_NUM 100", false, r_num_npot },
	{ "SET_VRING_NUM 65536", true, r_num_big },
	{ "SET_VRING_BASE 70000", true, r_base_big },
	{ "SET_VRING_ENABLE 2", true, r_enable_two },
	{ "SET_MEM_TABLE overlapping regions", true, r_mem_overlap },
	{ "SET_MEM_TABLE region past its memfd", true, r_mem_past_fd },
	{ "SET_MEM_TABLE region of size 0", false, r_mem_size_zero },
	{ "SET_MEM_TABLE region overflowing", true, r_mem_overflow },
	{ "SET_VRING_ADDR outside memory", true, r_addr_outside },
	{ "SET_VRING_ADDR unknown flags", false, r_addr_flags },
	{ "SET_VRING_KICK with a memfd", true, r_kick_memfd },
	{ "SET_VRING_CALL high bits", true, r_call_high_bits },
	{ "SET_VRING_CALL a pipe's read end", true, r_call_read_end },
	{ "ADD_MEM_REG overlapping", true, r_add_overlap },
	{ "REM_MEM_REG of no region", true, r_rem_missing },
	{ "SET_CONFIG past the config space", true, r_set_config_range },
	{ "SET_CONFIG the device refuses", true, r_set_config_device },
	{ "SET_INFLIGHT_FD too small", true, r_inflight_small },
	{ "SET_INFLIGHT_FD 9 queues", false, r_inflight_queues },
	{ "SET_STATUS 0x100", true, r_status_big },
};

int main(void)
{
	struct tbe tb;
	uint8_t config[16] = "config-space-16";
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
		.num_queues = 2,
		.config = config,
		.config_len = sizeof(config),
		.ops = &echo_ops,
	};

	tbe_start(&tb, "vu-refused", &cfg);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refused_case *rc = &cases[i];
		struct tfe fe;
		int fds, maps;
		int64_t ack;

		fprintf(stderr, "case: %s\n", rc->name);
		tfe_init(&fe, tb.path, MEM_SIZE);
		tfe_negotiate(&fe, ~0ull);
		if (rc->running) {
			tfe_queue(&fe, 0, QSIZE);
			echo(&fe);
		}
		(void)tfe_get_u64(&fe, VU_GET_FEATURES);	/* fds settled */
		fds = tfe_count_fds();
		maps = tfe_count_maps("vu-test-guest");
		ack = rc->send(&fe);
		if (ack <= 0) {
			fprintf(stderr, "FAIL %s: ack %lld, expected a failure (non-zero)\n",
				rc->name, (long long)ack);
			return 1;
		}
		/* Still up, and the message's fds are closed by now. */
		(void)tfe_get_u64(&fe, VU_GET_FEATURES);
		CHECK_EQ(tfe_count_fds(), fds);
		CHECK_EQ(tfe_count_maps("vu-test-guest"), maps);
		if (rc->running) {
			echo(&fe);	/* the ring never stopped serving */
		} else {
			tfe_queue(&fe, 0, QSIZE);
			echo(&fe);
		}
		tfe_close(&fe);
	}

	tbe_stop(&tb);
	fprintf(stderr, "%zu refused requests, each acknowledged as failed, connection kept\n",
		sizeof(cases) / sizeof(cases[0]));
	return 0;
}
