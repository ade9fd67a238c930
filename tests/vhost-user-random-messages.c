/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-random-messages: a frontend sending random messages (random
 * requests, sizes, payloads with small indices and plausible addresses,
 * random fds) after a random amount of correct setup.  Whatever the
 * backend makes of each one (answers it or closes the connection), it must
 * not crash (the sanitizer runs catch memory errors), must keep answering
 * new connections, and must hold no fd or mapping once each connection is
 * gone.  Seeded: VU_RANDOM_SEED=n replays a run.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define MEM_SIZE	(1u << 20)

static void quiet_log(void *opaque, const char *line)
{
	(void)opaque;
	(void)line;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_kick = echo_kick,
	.log = quiet_log,
};

static uint64_t seed;
static unsigned long n_closed, n_answered;

static uint64_t rnd(uint64_t n)
{
	return n ? test_rand(&seed) % n : 0;
}

/* A value a handler will look at twice: small, an address in guest
 * memory, a size, or anything. */
static uint64_t plausible(struct tfe *fe)
{
	switch (rnd(6)) {
	case 0: return rnd(4);
	case 1: return 1ull << rnd(17);
	case 2: return (uint64_t)(uintptr_t)fe->mem + rnd(MEM_SIZE + 4096);
	case 3: return TFE_GPA_BASE + rnd(MEM_SIZE);
	case 4: return MEM_SIZE >> rnd(4);
	default: return test_rand(&seed);
	}
}

static void random_message(struct tfe *fe)
{
	static const uint32_t sizes[] = { 0, 8, 24, 40, 12 + 60, 8 + 32, 8 + 64 };
	union vu_payload p;
	uint32_t req = (uint32_t)rnd(VU_REQUEST_MAX + 3);
	uint32_t size = rnd(4) ? sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))] :
				 (uint32_t)rnd(sizeof(p) + 1);
	int fds[3];
	unsigned int nfds = (unsigned int)rnd(4) == 0 ? (unsigned int)rnd(4) :
			    (req == VU_SET_MEM_TABLE || req == VU_ADD_MEM_REG ||
			     req == VU_SET_INFLIGHT_FD || req == VU_SET_VRING_KICK ||
			     req == VU_SET_VRING_CALL || req == VU_SET_VRING_ERR);
	uint32_t flags = VU_VERSION | (rnd(2) ? VU_FLAG_NEED_REPLY : 0);

	if (nfds > 3)
		nfds = 3;
	for (size_t i = 0; i < sizeof(p) / 8; i++) {
		uint64_t v = plausible(fe);

		memcpy(p.bytes + i * 8, &v, 8);
	}
	/* Mostly the right size and small indices, so handlers get past the
	 * first checks and deeper ones are reached. */
	if (rnd(4)) {
		switch (req) {
		case VU_SET_FEATURES: case VU_SET_PROTOCOL_FEATURES:
		case VU_SET_STATUS: case VU_SET_VRING_KICK: case VU_SET_VRING_CALL:
		case VU_SET_VRING_ERR:
			size = 8;
			break;
		case VU_SET_VRING_NUM: case VU_SET_VRING_BASE: case VU_GET_VRING_BASE:
		case VU_SET_VRING_ENABLE:
			size = 8;
			p.state.index = (uint32_t)rnd(3);
			if (rnd(2))
				p.state.num = (uint32_t)rnd(3) << rnd(16);
			break;
		case VU_SET_VRING_ADDR:
			size = 40;
			p.addr.index = (uint32_t)rnd(3);
			p.addr.flags = (uint32_t)rnd(2);
			break;
		case VU_ADD_MEM_REG: case VU_REM_MEM_REG:
			size = 40;
			break;
		case VU_GET_INFLIGHT_FD: case VU_SET_INFLIGHT_FD:
			size = 24;
			break;
		default:
			break;
		}
	}
	if (req == VU_SET_VRING_KICK || req == VU_SET_VRING_CALL ||
	    req == VU_SET_VRING_ERR)
		p.u64 = rnd(3) | (rnd(4) ? 0 : VU_VRING_NOFD) |
			(rnd(8) ? 0 : test_rand(&seed));
	if (req == VU_SET_MEM_TABLE) {
		p.mem.nregions = (uint32_t)rnd(10);
		if (rnd(2))
			size = 8 + 32 * (p.mem.nregions <= 8 ? p.mem.nregions : 8);
	}
	if (req == VU_GET_CONFIG || req == VU_SET_CONFIG) {
		p.config.offset = (uint32_t)rnd(80);
		p.config.size = (uint32_t)rnd(80);
		if (rnd(2))
			size = VU_CONFIG_HDR_SIZE + p.config.size;
	}
	if (req == VU_GET_INFLIGHT_FD || req == VU_SET_INFLIGHT_FD) {
		p.inflight.num_queues = (uint16_t)rnd(4);
		p.inflight.queue_size = (uint16_t)(1u << rnd(16));
	}
	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = rnd(2) ? dup(fe->memfd) : eventfd(0, EFD_CLOEXEC);
	if (rnd(20) == 0)
		flags = (uint32_t)rnd(16);
	(void)tfe_send(fe, req, flags, &p, size, fds, nfds);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* After a random message: answer a GET_FEATURES, or be closed. */
static void settle(struct tfe *fe)
{
	struct vu_msg m;
	int r;

	if (tfe_send(fe, VU_GET_FEATURES, 0, NULL, 0, NULL, 0) < 0)
		return;
	/* Replies to the random message (if any) come first. */
	for (int i = 0; i < 4; i++) {
		r = __virtq_vu_recv(fe->sock, &m, TFE_TIMEOUT_MS);
		if (r < 0) {
			/* Closed (or, for a truncated message, timed out). */
			CHECK(r == -ECONNRESET || r == -ETIMEDOUT || r == -EPROTO);
			n_closed++;
			return;
		}
		__virtq_vu_msg_close_fds(&m);
		if (m.hdr.request == VU_GET_FEATURES && m.hdr.size == 8) {
			n_answered++;
			return;
		}
	}
}

int main(void)
{
	struct tbe tb;
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC),
		.num_queues = 2,
		.config = "0123456789abcdef",
		.config_len = 16,
		.ops = &ops,
	};
	unsigned long rounds = test_scale(600);
	int fds0 = -1, maps0 = -1;

	seed = getenv("VU_RANDOM_SEED") ? strtoull(getenv("VU_RANDOM_SEED"), NULL, 0) :
					  (uint64_t)time(NULL);
	if (!seed)
		seed = 1;
	printf("seed %llu (VU_RANDOM_SEED replays it)\n", (unsigned long long)seed);
	fflush(stdout);
	tbe_start(&tb, "vu-rand", &cfg);

	for (unsigned long round = 0; round <= rounds; round++) {
		struct tfe fe;
		int fds, maps;

		tfe_init(&fe, tb.path, MEM_SIZE);
		/* The previous connection is gone once this one is answered. */
		(void)tfe_get_u64(&fe, VU_GET_FEATURES);
		fds = tfe_count_fds();
		maps = tfe_count_maps("vu-test-guest") + tfe_count_maps("virtq-inflight");
		if (round == 0) {
			fds0 = fds;
			maps0 = maps;
		} else if (fds != fds0 || maps != maps0) {
			fprintf(stderr, "round %lu: %d fds / %d maps, at the start %d / %d\n",
				round, fds, maps, fds0, maps0);
			return 1;
		}
		if (round == rounds) {
			/* Still a working backend. */
			char *b = tfe_alloc(&fe, 64, 8);
			struct virtq_sg o = { b, 4 }, i = { b + 32, 32 };

			tfe_negotiate(&fe, ~0ull);
			tfe_queue(&fe, 1, 16);
			strcpy(b, "end");
			CHECK_EQ(tfe_request(&fe, 1, &o, 1, &i, 1), 4);
			CHECK(!strcmp(b + 32, "end"));
			tfe_close(&fe);
			break;
		}
		switch (rnd(3)) {
		case 2:
			tfe_negotiate(&fe, ~0ull);
			tfe_queue(&fe, (unsigned int)rnd(2), 1u << rnd(6));
			break;
		case 1:
			tfe_negotiate(&fe, ~0ull);
			break;
		default:
			break;
		}
		for (int n = (int)rnd(4) + 1; n > 0; n--) {
			random_message(&fe);
			settle(&fe);
		}
		tfe_close(&fe);
	}

	printf("%lu random messages closed their connection, %lu were answered\n",
	       n_closed, n_answered);
	/* Both outcomes must occur, or the messages are not exercising much. */
	CHECK(n_closed > 0 && n_answered > 0);
	tbe_stop(&tb);
	return 0;
}
