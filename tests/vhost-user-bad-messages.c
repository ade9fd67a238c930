/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-bad-messages: every bad message (a broken stream: header,
 * size, fd count, unknown request; or a refused value when no ack was
 * asked for) closes that connection with
 * one logged line naming the request, releases every fd and mapping the
 * connection held (counted in /proc/self/fd and /proc/self/maps), and the
 * same backend then serves a new connection (negotiation, a ring, a
 * request).  The backend runs its built-in runner in a thread of this
 * process with an echo device (writable bytes = readable bytes).
 */
#include <pthread.h>
#include <sys/stat.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define MEM_SIZE	(1u << 20)
#define QSIZE		8

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];
static int nlogs;

static void capture_log(void *opaque, const char *line)
{
	(void)opaque;
	fprintf(stderr, "  backend: %s\n", line);
	pthread_mutex_lock(&log_lock);
	snprintf(last_log, sizeof(last_log), "%s", line);
	nlogs++;
	pthread_mutex_unlock(&log_lock);
}

/* Did the backend log a line containing both strings since the reset? */
static bool logged(const char *a, const char *b)
{
	bool r;

	pthread_mutex_lock(&log_lock);
	r = nlogs && strstr(last_log, a) && strstr(last_log, b);
	pthread_mutex_unlock(&log_lock);
	return r;
}

static void reset_log(void)
{
	pthread_mutex_lock(&log_lock);
	nlogs = 0;
	last_log[0] = 0;
	pthread_mutex_unlock(&log_lock);
}

static const struct virtq_vu_backend_ops echo_ops = {
	.queue_kick = echo_kick,
	.log = capture_log,
};

static const char *sock_path;

/* One echo round trip on queue 0. */
static void echo(struct tfe *fe)
{
	char *out = tfe_alloc(fe, 16, 1), *in = tfe_alloc(fe, 16, 1);

	tfe_echo(fe, 0, out, in, "hello");
}

/*
 * A full good connection: negotiate, inflight region, ring, a request.
 * Reports the fds and memfd mappings of the process right after the
 * backend answered its first message: the previous connection is torn down
 * by then (the runner serves one connection at a time) and this one holds
 * nothing yet, so whatever the previous one leaked shows.
 */
static void good_connection(int *fds, int *maps)
{
	struct tfe fe;
	struct vu_inflight inf = { .num_queues = 2, .queue_size = QSIZE };
	struct vu_msg m;

	tfe_init(&fe, sock_path, MEM_SIZE);
	(void)tfe_get_u64(&fe, VU_GET_FEATURES);
	*fds = tfe_count_fds();
	*maps = tfe_count_maps("vu-test-guest") + tfe_count_maps("virtq-inflight");
	tfe_negotiate(&fe, ~0ull);
	CHECK_EQ(tfe_send(&fe, VU_GET_INFLIGHT_FD, 0, &inf, sizeof(inf), NULL, 0), 0);
	CHECK_EQ(tfe_recv_fds(&fe, VU_GET_INFLIGHT_FD, &m), 0);
	CHECK_EQ(m.nfds, 1);
	CHECK(m.p.inflight.mmap_size >= 2 * (16 + 16 * QSIZE));
	TFE_OK(tfe_acked(&fe, VU_SET_INFLIGHT_FD, &m.p.inflight, sizeof(inf),
			 m.fds, 1));
	__virtq_vu_msg_close_fds(&m);
	tfe_queue(&fe, 0, QSIZE);
	echo(&fe);
	echo(&fe);
	/* While it runs: our mapping, the backend's, both inflight ones. */
	CHECK(tfe_count_maps("vu-test-guest") == 2);
	tfe_close(&fe);
}

enum prep { P_NONE, P_NEG, P_RUN };

struct bad_case {
	const char *name;
	enum prep prep;
	const char *expect;	/* in the log line, with "closing the connection" */
	void (*send)(struct tfe *fe);
};

/* Without NEED_REPLY: a refused value closes the connection (with an
 * ack asked for it is answered instead: vhost-user-refused-acked). */
static void send_vring(struct tfe *fe, uint32_t req, uint32_t index, uint32_t num)
{
	struct vu_vring_state st = { .index = index, .num = num };

	(void)tfe_send(fe, req, VU_VERSION, &st, sizeof(st), NULL, 0);
}

static void b_get_features_size(struct tfe *fe)
{
	uint64_t v = 0;

	(void)tfe_send(fe, VU_GET_FEATURES, 0, &v, 8, NULL, 0);
}

static void b_set_features_size(struct tfe *fe)
{
	uint32_t v = 0;

	(void)tfe_send(fe, VU_SET_FEATURES, 0, &v, 4, NULL, 0);
}

static void b_set_features_unoffered(struct tfe *fe)
{
	uint64_t v = 1ull << 63;

	(void)tfe_send(fe, VU_SET_FEATURES, 0, &v, 8, NULL, 0);
}

static void b_set_proto_unoffered(struct tfe *fe)
{
	uint64_t v = 1ull << 40;

	(void)tfe_send(fe, VU_SET_PROTOCOL_FEATURES, 0, &v, 8, NULL, 0);
}

static void b_num_index(struct tfe *fe) { send_vring(fe, VU_SET_VRING_NUM, 99, 8); }
static void b_num_zero(struct tfe *fe) { send_vring(fe, VU_SET_VRING_NUM, 0, 0); }
static void b_num_npot(struct tfe *fe) { send_vring(fe, VU_SET_VRING_NUM, 0, 100); }
static void b_num_big(struct tfe *fe) { send_vring(fe, VU_SET_VRING_NUM, 0, 65536); }
static void b_base_big(struct tfe *fe) { send_vring(fe, VU_SET_VRING_BASE, 0, 70000); }
static void b_enable_two(struct tfe *fe) { send_vring(fe, VU_SET_VRING_ENABLE, 0, 2); }
static void b_get_base_index(struct tfe *fe) { send_vring(fe, VU_GET_VRING_BASE, 2, 0); }

static void b_mem_nine(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 9 };

	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 32 * 8, &fe->memfd, 1);
}

static void b_mem_fd_count(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 2 };

	mt.regions[0] = tfe_region(fe);
	mt.regions[1] = tfe_region(fe);
	mt.regions[1].guest_phys_addr += 1ull << 32;
	mt.regions[1].userspace_addr += 1ull << 40;
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 64, &fe->memfd, 1);
}

static void b_mem_size_mismatch(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 1 };

	mt.regions[0] = tfe_region(fe);
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 64, &fe->memfd, 1);
}

static void b_mem_overlap(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 2 };
	int fds[2] = { fe->memfd, fe->memfd };

	mt.regions[0] = tfe_region(fe);
	mt.regions[1] = tfe_region(fe);
	mt.regions[1].guest_phys_addr += MEM_SIZE / 2;	/* overlaps region 0 */
	mt.regions[1].userspace_addr += 1ull << 40;
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 64, fds, 2);
}

static void b_mem_uaddr_overlap(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 2 };
	int fds[2] = { fe->memfd, fe->memfd };

	mt.regions[0] = tfe_region(fe);
	mt.regions[1] = tfe_region(fe);
	mt.regions[1].guest_phys_addr += 1ull << 32;	/* user range overlaps */
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 64, fds, 2);
}

static void b_mem_past_fd(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 1 };

	mt.regions[0] = tfe_region(fe);
	mt.regions[0].mmap_offset = 4096;	/* offset + size > memfd size */
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 32, &fe->memfd, 1);
}

static void b_mem_size_zero(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 1 };

	mt.regions[0] = tfe_region(fe);
	mt.regions[0].memory_size = 0;
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 32, &fe->memfd, 1);
}

static void b_mem_overflow(struct tfe *fe)
{
	struct vu_mem_table mt = { .nregions = 1 };

	mt.regions[0] = tfe_region(fe);
	mt.regions[0].guest_phys_addr = ~0ull - 4095;
	(void)tfe_send(fe, VU_SET_MEM_TABLE, 0, &mt, 8 + 32, &fe->memfd, 1);
}

static void b_addr_outside(struct tfe *fe)
{
	struct vu_vring_addr a = {
		.index = 0,
		.desc_user_addr = 0x1000,
		.avail_user_addr = 0x2000,
		.used_user_addr = 0x3000,
	};

	tfe_vring(fe, VU_SET_VRING_NUM, 0, QSIZE);
	(void)tfe_send(fe, VU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0);
}

static void b_addr_straddles(struct tfe *fe)
{
	/* Starts inside guest memory, ends past it. */
	uint64_t end = (uint64_t)(uintptr_t)fe->mem + MEM_SIZE;
	struct vu_vring_addr a = {
		.index = 0,
		.desc_user_addr = end - 64,
		.avail_user_addr = (uint64_t)(uintptr_t)fe->mem,
		.used_user_addr = (uint64_t)(uintptr_t)fe->mem + 4096,
	};

	tfe_vring(fe, VU_SET_VRING_NUM, 0, 256);
	(void)tfe_send(fe, VU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0);
}

static void b_addr_size(struct tfe *fe)
{
	struct vu_vring_addr a = { .index = 0 };

	(void)tfe_send(fe, VU_SET_VRING_ADDR, 0, &a, 32, NULL, 0);
}

static void b_unknown(struct tfe *fe)
{
	(void)tfe_send(fe, 200, 0, NULL, 0, NULL, 0);
}

static void b_unsupported(struct tfe *fe)
{
	uint64_t v = 0;

	(void)tfe_send(fe, VU_SET_VRING_ENDIAN, 0, &v, 8, NULL, 0);
}

static void b_stray_fd(struct tfe *fe)
{
	(void)tfe_send(fe, VU_GET_QUEUE_NUM, 0, NULL, 0, &fe->memfd, 1);
}

static void b_kick_not_eventfd(struct tfe *fe)
{
	uint64_t v = 0;

	(void)tfe_send(fe, VU_SET_VRING_KICK, 0, &v, 8, &fe->memfd, 1);
}

static void b_call_nofd_with_fd(struct tfe *fe)
{
	uint64_t v = VU_VRING_NOFD;
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)tfe_send(fe, VU_SET_VRING_CALL, 0, &v, 8, &efd, 1);
	close(efd);
}

static void b_call_no_fd(struct tfe *fe)
{
	uint64_t v = 0;

	(void)tfe_send(fe, VU_SET_VRING_CALL, 0, &v, 8, NULL, 0);
}

static void b_kick_high_bits(struct tfe *fe)
{
	uint64_t v = 1ull << 20;
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)tfe_send(fe, VU_SET_VRING_KICK, 0, &v, 8, &efd, 1);
	close(efd);
}

static void b_add_overlap(struct tfe *fe)
{
	struct vu_mem_single s = { .region = tfe_region(fe) };

	s.region.userspace_addr += 1ull << 40;
	(void)tfe_send(fe, VU_ADD_MEM_REG, 0, &s, sizeof(s), &fe->memfd, 1);
}

static void b_add_no_fd(struct tfe *fe)
{
	struct vu_mem_single s = { .region = tfe_region(fe) };

	s.region.guest_phys_addr += 1ull << 32;
	s.region.userspace_addr += 1ull << 40;
	(void)tfe_send(fe, VU_ADD_MEM_REG, 0, &s, sizeof(s), NULL, 0);
}

static void b_rem_missing(struct tfe *fe)
{
	struct vu_mem_single s = { .region = tfe_region(fe) };

	s.region.memory_size /= 2;
	(void)tfe_send(fe, VU_REM_MEM_REG, 0, &s, sizeof(s), NULL, 0);
}

static void b_config_size(struct tfe *fe)
{
	struct vu_config c = { .offset = 0, .size = 16 };

	(void)tfe_send(fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 8, NULL, 0);
}

static void b_inflight_small(struct tfe *fe)
{
	struct vu_inflight inf = { .mmap_size = 64, .num_queues = 2,
				   .queue_size = QSIZE };

	(void)tfe_send(fe, VU_SET_INFLIGHT_FD, 0, &inf, sizeof(inf), &fe->memfd, 1);
}

static void b_inflight_queues(struct tfe *fe)
{
	struct vu_inflight inf = { .num_queues = 9, .queue_size = QSIZE };

	(void)tfe_send(fe, VU_GET_INFLIGHT_FD, 0, &inf, sizeof(inf), NULL, 0);
}

static void b_status_big(struct tfe *fe)
{
	uint64_t v = 0x100;

	(void)tfe_send(fe, VU_SET_STATUS, 0, &v, 8, NULL, 0);
}

static void b_bad_version(struct tfe *fe)
{
	(void)tfe_send(fe, VU_GET_FEATURES, 0x2, NULL, 0, NULL, 0);
}

static void b_huge_payload(struct tfe *fe)
{
	struct vu_hdr h = { VU_SET_FEATURES, VU_VERSION, 100000 };

	CHECK_EQ(write(fe->sock, &h, sizeof(h)), (ssize_t)sizeof(h));
}

static void b_truncated(struct tfe *fe)
{
	struct vu_hdr h = { VU_SET_FEATURES, VU_VERSION, 8 };

	/* Header promises 8 bytes, 4 come, then the frontend goes quiet:
	 * the backend gives up after its message timeout. */
	CHECK_EQ(write(fe->sock, &h, sizeof(h)), (ssize_t)sizeof(h));
	CHECK_EQ(write(fe->sock, "abcd", 4), 4);
}

static void b_reply_flag(struct tfe *fe)
{
	(void)tfe_send(fe, VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, NULL, 0,
		       NULL, 0);
}

static void b_config_not_negotiated(struct tfe *fe)
{
	struct vu_config c = { .offset = 0, .size = 4 };

	(void)tfe_send(fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 4, NULL, 0);
}

static const struct bad_case cases[] = {
	{ "GET_FEATURES with a payload", P_NONE, "GET_FEATURES: payload", b_get_features_size },
	{ "SET_FEATURES of 4 bytes", P_NONE, "SET_FEATURES: payload", b_set_features_size },
	{ "SET_FEATURES not offered", P_NONE, "not offered", b_set_features_unoffered },
	{ "SET_PROTOCOL_FEATURES not offered", P_NONE, "SET_PROTOCOL_FEATURES", b_set_proto_unoffered },
	{ "GET_CONFIG before CONFIG negotiated", P_NONE, "not negotiated", b_config_not_negotiated },
	{ "SET_VRING_NUM queue 99", P_NEG, "out of range", b_num_index },
	{ "SET_VRING_NUM 0", P_NEG, "SET_VRING_NUM: queue 0: size 0", b_num_zero },
	{ "SET_VRING_NUM 100", P_NEG, "size 100", b_num_npot },
	{ "SET_VRING_NUM 65536", P_NEG, "size 65536", b_num_big },
	{ "SET_VRING_BASE 70000", P_NEG, "SET_VRING_BASE", b_base_big },
	{ "SET_VRING_ENABLE 2", P_NEG, "SET_VRING_ENABLE", b_enable_two },
	{ "GET_VRING_BASE queue 2", P_NEG, "GET_VRING_BASE: queue index 2", b_get_base_index },
	{ "SET_MEM_TABLE 9 regions", P_NONE, "9 regions", b_mem_nine },
	{ "SET_MEM_TABLE 2 regions 1 fd", P_NONE, "1 fds for 2 regions", b_mem_fd_count },
	{ "SET_MEM_TABLE size mismatch", P_NONE, "payload is 72 bytes", b_mem_size_mismatch },
	{ "SET_MEM_TABLE overlapping regions", P_NONE, "overlaps", b_mem_overlap },
	{ "SET_MEM_TABLE overlapping user ranges", P_NONE, "overlaps", b_mem_uaddr_overlap },
	{ "SET_MEM_TABLE region past its memfd", P_NONE, "past the end of its file", b_mem_past_fd },
	{ "SET_MEM_TABLE region of size 0", P_NONE, "size 0", b_mem_size_zero },
	{ "SET_MEM_TABLE region overflowing", P_NONE, "overflows", b_mem_overflow },
	{ "SET_MEM_TABLE bad while a ring runs", P_RUN, "overlaps", b_mem_overlap },
	{ "SET_VRING_ADDR outside memory", P_NEG, "outside the memory table", b_addr_outside },
	{ "SET_VRING_ADDR past the end of memory", P_NEG, "outside the memory table", b_addr_straddles },
	{ "SET_VRING_ADDR of 32 bytes", P_NEG, "SET_VRING_ADDR: payload", b_addr_size },
	{ "unknown request 200", P_NEG, "unknown request 200", b_unknown },
	{ "SET_VRING_ENDIAN (unsupported)", P_NEG, "SET_VRING_ENDIAN: not supported", b_unsupported },
	{ "GET_QUEUE_NUM with an fd", P_NEG, "GET_QUEUE_NUM: carries 1 fds", b_stray_fd },
	{ "SET_VRING_KICK with a memfd", P_NEG, "not an eventfd", b_kick_not_eventfd },
	{ "SET_VRING_CALL no-fd flag with an fd", P_NEG, "SET_VRING_CALL", b_call_nofd_with_fd },
	{ "SET_VRING_CALL without fd or flag", P_NEG, "SET_VRING_CALL", b_call_no_fd },
	{ "SET_VRING_KICK high bits", P_NEG, "SET_VRING_KICK", b_kick_high_bits },
	{ "ADD_MEM_REG overlapping, ring running", P_RUN, "ADD_MEM_REG", b_add_overlap },
	{ "ADD_MEM_REG without fd", P_NEG, "ADD_MEM_REG: carries 0 fds", b_add_no_fd },
	{ "REM_MEM_REG of no region", P_RUN, "REM_MEM_REG: no region", b_rem_missing },
	{ "GET_CONFIG size mismatch", P_NEG, "GET_CONFIG", b_config_size },
	{ "SET_INFLIGHT_FD too small", P_RUN, "SET_INFLIGHT_FD", b_inflight_small },
	{ "GET_INFLIGHT_FD 9 queues", P_NEG, "GET_INFLIGHT_FD", b_inflight_queues },
	{ "SET_STATUS 0x100", P_NEG, "SET_STATUS", b_status_big },
	{ "bad version flags", P_NEG, "GET_FEATURES: cannot receive", b_bad_version },
	{ "payload larger than any message", P_RUN, "SET_FEATURES: cannot receive", b_huge_payload },
	{ "truncated payload", P_NEG, "SET_FEATURES: cannot receive", b_truncated },
	{ "a reply sent as a request", P_NEG, "a reply where a request", b_reply_flag },
};

int main(void)
{
	struct tbe tb;
	uint8_t config[16] = "config-space-16";
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC),
		.num_queues = 2,
		.config = config,
		.config_len = sizeof(config),
		.ops = &echo_ops,
	};
	int fds0, maps0, fds, maps;

	tbe_mkdir(&tb, "vu-bad");
	sock_path = tb.path;
	tbe_launch(&tb, &cfg);

	good_connection(&fds0, &maps0);
	CHECK_EQ(maps0, 1);	/* only our own guest memory */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *bc = &cases[i];
		struct tfe fe;

		fprintf(stderr, "case: %s\n", bc->name);
		tfe_init(&fe, tb.path, MEM_SIZE);
		if (bc->prep >= P_NEG)
			tfe_negotiate(&fe, ~0ull);
		if (bc->prep >= P_RUN) {
			tfe_queue(&fe, 0, QSIZE);
			echo(&fe);
		}
		reset_log();
		bc->send(&fe);
		if (!tfe_closed_by_peer(&fe)) {
			fprintf(stderr, "FAIL %s: connection not closed\n", bc->name);
			return 1;
		}
		if (!logged(bc->expect, "closing the connection")) {
			fprintf(stderr, "FAIL %s: log line '%s' lacks '%s'\n", bc->name,
				last_log, bc->expect);
			return 1;
		}
		tfe_close(&fe);

		/* The same backend serves the next frontend, and holds
		 * exactly what it held for the first good connection. */
		good_connection(&fds, &maps);
		if (fds != fds0 || maps != maps0) {
			fprintf(stderr, "FAIL %s: leak: %d fds / %d maps, first connection had %d / %d\n",
				bc->name, fds, maps, fds0, maps0);
			return 1;
		}
	}

	tbe_halt(&tb);
	CHECK(access(tb.path, F_OK) < 0);	/* the socket file is removed */
	CHECK_EQ(rmdir(tb.dir), 0);
	fprintf(stderr, "%zu bad messages, each closed its connection without a leak\n",
		sizeof(cases) / sizeof(cases[0]));
	return 0;
}
