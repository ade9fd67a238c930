/* SPDX-License-Identifier: MIT */
/*
 * fuzz/vhost-user-frontend.c - the vhost-user frontend against a fake
 * backend whose replies come from the input.
 *
 * The input is two scripts.  The fake backend (a thread, on a unix socket)
 * answers each message the frontend sends as its script says: a proper
 * reply with input values (features, protocol features, queue count,
 * config bytes, vring base, acks), a reply of the wrong request, flags or
 * size, an unsolicited message first, fds attached, silence, or a closed
 * socket.  It remembers the ring addresses the frontend gave.  The
 * harness's script drives the public API: connect, get_config, start
 * (queue size, features, indirect, polling from the input), then adds
 * chains and kicks, writes used entries as a hostile backend would (real
 * heads or anything, any length, any used->idx), waits, takes entries
 * back, stops, closes.
 *
 * Oracle: no crash; every call returns a documented value, and a failed
 * one leaves an error text; get_used hands back only tokens that were
 * added, each once, with a length not above the chain's writable bytes,
 * and -EIO stays; after close no fd or mapping of the frontend is left.
 */
#include <pthread.h>
#include <semaphore.h>
#include <sys/un.h>

#include "vu.h"
#include "virtq/atomic.h"
#include "virtq/driver.h"

#define FE_TIMEOUT_MS	20

static struct {
	bool ready;
	char path[108];
	int lsock;
	pthread_t th;
	sem_t go, done;
	struct fin script;	/* the fake backend's */
	/* What the fake learnt (read by the harness after each call). */
	pthread_mutex_t lock;
	uint64_t used_uaddr;
	uint32_t num;
	int base_fds, base_maps;
} F;

/* Mappings of the frontend's memfd. */
static int fe_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	FUZZ_CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "virtq-vu-frontend"))
			n++;
	fclose(f);
	return n;
}

static bool expects_reply(const struct vu_msg *m)
{
	switch (m->hdr.request) {
	case VU_GET_FEATURES: case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM: case VU_GET_CONFIG: case VU_GET_VRING_BASE:
	case VU_GET_INFLIGHT_FD: case VU_GET_MAX_MEM_SLOTS: case VU_GET_STATUS:
		return true;
	default:
		return m->hdr.flags & VU_FLAG_NEED_REPLY;
	}
}

/* Serve one connection as the script says; returns when it is over. */
static void fake_conn(int s)
{
	struct fin *f = &F.script;
	struct vu_msg m, r;
	void *map = NULL;
	size_t map_len = 0;

	for (;;) {
		if (__virtq_vu_recv(s, &m, 2000) < 0)
			break;
		if (m.hdr.request == VU_SET_MEM_TABLE && m.nfds >= 1 &&
		    m.hdr.size >= 8 + 32) {
			uint64_t len = m.p.mem.regions[0].memory_size;

			if (!map && len && len <= (1u << 26)) {
				map = mmap(NULL, len, PROT_READ | PROT_WRITE,
					   MAP_SHARED, m.fds[0], 0);
				if (map == MAP_FAILED)
					map = NULL;
				else
					map_len = len;
			}
		}
		if (m.hdr.request == VU_SET_VRING_ADDR && m.hdr.size == 40 &&
		    m.p.addr.index == 0) {
			pthread_mutex_lock(&F.lock);
			F.used_uaddr = m.p.addr.used_user_addr;
			pthread_mutex_unlock(&F.lock);
		}
		if (m.hdr.request == VU_SET_VRING_NUM && m.hdr.size == 8 &&
		    m.p.state.index == 0) {
			pthread_mutex_lock(&F.lock);
			F.num = m.p.state.num;
			pthread_mutex_unlock(&F.lock);
		}
		__virtq_vu_msg_close_fds(&m);
		if (!expects_reply(&m) && !(fin_u8(f) == 0xee))
			continue;
		uint8_t how = fin_u8(f);

		memset(&r, 0, sizeof(r));
		r.hdr.request = m.hdr.request;
		r.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
		r.hdr.size = 8;
		switch (m.hdr.request) {
		case VU_GET_FEATURES:
			r.p.u64 = how & 1 ? fin_u64(f) :
				  (1ull << 30) | VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
				  VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
				  VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | fin_u8(f);
			break;
		case VU_GET_PROTOCOL_FEATURES:
			r.p.u64 = how & 1 ? fin_u64(f) : fin_u32(f) | 0x209;
			break;
		case VU_GET_QUEUE_NUM:
			r.p.u64 = how & 1 ? fin_u64(f) : fin_u8(f) % 5;
			break;
		case VU_GET_VRING_BASE:
			r.p.state.index = 0;
			r.p.state.num = how & 1 ? fin_u32(f) : fin_u16(f);
			break;
		case VU_GET_CONFIG:
			r.hdr.size = m.hdr.size;
			r.p.config = m.p.config;
			if (how & 1)
				r.hdr.size = fin_u16(f) % (sizeof(r.p) + 1);
			fin_bytes(f, r.p.config.region, sizeof(r.p.config.region));
			break;
		default:
			r.p.u64 = how & 1 ? fin_u64(f) : 0;	/* ack */
			break;
		}
		switch ((how >> 1) & 15) {
		case 0:		/* close */
			goto out;
		case 1:		/* wrong request */
			r.hdr.request = fin_u8(f);
			break;
		case 2:		/* wrong flags */
			r.hdr.flags = fin_u32(f);
			break;
		case 3:		/* wrong size */
			r.hdr.size = fin_u8(f) % 48;
			break;
		case 4: {	/* an unsolicited message first */
			struct vu_msg u = r;

			u.hdr.request = fin_u8(f);
			u.hdr.flags = VU_VERSION;
			(void)__virtq_vu_send(s, &u, NULL, 0);
			break;
		}
		case 5:		/* an fd with it */
			(void)__virtq_vu_send(s, &r, &s, 1);
			continue;
		case 6:		/* silence */
			if (fin_u8(f) == 0x5a)
				continue;
			break;
		default:
			break;
		}
		(void)__virtq_vu_send(s, &r, NULL, 0);
	}
out:
	if (map)
		munmap(map, map_len);
	close(s);
}

static void *fake(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&F.go);
		int s = accept4(F.lsock, NULL, NULL, SOCK_CLOEXEC);

		if (s >= 0)
			fake_conn(s);
		sem_post(&F.done);
	}
	return NULL;
}

static void remove_socket(void)
{
	unlink(F.path);
}

static void setup_once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (F.ready)
		return;
	snprintf(F.path, sizeof(F.path), "/tmp/fuzz-vu-frontend-%d.sock", (int)getpid());
	unlink(F.path);
	F.lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(F.lsock >= 0);
	strcpy(sa.sun_path, F.path);
	FUZZ_CHECK(bind(F.lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FUZZ_CHECK(listen(F.lsock, 4) == 0);
	atexit(remove_socket);
	sem_init(&F.go, 0, 0);
	sem_init(&F.done, 0, 0);
	pthread_mutex_init(&F.lock, NULL);
	FUZZ_CHECK(pthread_create(&F.th, NULL, fake, NULL) == 0);
	F.base_fds = vu_count_fds();
	F.base_maps = fe_maps();
	F.ready = true;
}

static void check_err(struct virtq_vu_frontend *fe, int r)
{
	if (r < 0)
		FUZZ_CHECK(virtq_vu_frontend_error(fe)[0] != 0);
}

struct ftok {
	bool out;
	uint32_t in_len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq_vu_frontend *fe = NULL;
	struct ftok tk[64];
	unsigned int ntok = 0;
	size_t split;
	int r;

	setup_once();
	if (size < 2)
		return 0;
	split = (data[0] | (size_t)data[1] << 8) % (size - 1);
	F.script = (struct fin){ data + 2, split };
	struct fin h = { data + 2 + split, size - 2 - split };

	F.used_uaddr = 0;
	F.num = 0;
	sem_post(&F.go);
	r = virtq_vu_frontend_connect(&fe, F.path, FE_TIMEOUT_MS);
	switch (r) {
	case 0: case -ETIMEDOUT: case -ECONNRESET: case -EPROTO: case -ENOMEM:
	case -EIO:
		break;
	default:
		fprintf(stderr, "connect returned %d\n", r);
		FUZZ_CHECK(!"undocumented connect result");
	}
	check_err(fe, r);
	if (r == 0 && fin_u8(&h) & 1) {
		uint8_t buf[256];
		uint32_t off = fin_u8(&h), len = fin_u8(&h);

		r = virtq_vu_frontend_get_config(fe, off, buf, len);
		FUZZ_CHECK(r == 0 || r == -ENOTSUP || r == -EINVAL || r == -EIO ||
			   r == -ETIMEDOUT || r == -ECONNRESET || r == -EPROTO);
		check_err(fe, r);
		if (r == -ENOTSUP || r == -EINVAL)
			r = 0;
	}
	if (r == 0) {
		uint8_t b = fin_u8(&h);
		struct virtq_vu_frontend_setup s = {
			.features = b & 1 ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0,
			.num_queues = 1 + (b >> 1 & 1),
			.queue_size = 1u << (fin_u8(&h) % 9),
			.buf_size = 64 << 10,
			.indirect_max = b & 4 ? 8 : 0,
			.poll = b & 8,
		};

		if (b & 4)
			s.features |= VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
		r = virtq_vu_frontend_start(fe, &s);
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENOMEM ||
			   r == -ENOTSUP || r == -ETIMEDOUT || r == -ECONNRESET ||
			   r == -EPROTO || r == -EIO);
		check_err(fe, r);
	}
	struct virtq_driver *q = r == 0 ? virtq_vu_frontend_queue(fe, 0) : NULL;
	size_t blen = 0;
	char *buf = q ? virtq_vu_frontend_buf(fe, &blen) : NULL;
	bool broken = false;

	while (q && fin_left(&h)) {
		uint8_t op = fin_u8(&h);

		switch (op % 5) {
		case 0: {	/* add + kick */
			struct virtq_sg out = { buf + (fin_u8(&h) << 4), 1 + fin_u8(&h) };
			struct virtq_sg in = { buf + 8192 + (fin_u8(&h) << 4), fin_u8(&h) };

			if (ntok == 64)
				break;
			r = virtq_driver_add(q, &out, 1, &in, in.len ? 1 : 0, &tk[ntok]);
			FUZZ_CHECK(r == 0 || r == -ENOSPC || r == -EIO);
			if (r == 0) {
				tk[ntok].out = true;
				tk[ntok].in_len = in.len;
				ntok++;
			}
			r = virtq_driver_kick(q);
			FUZZ_CHECK(r == 0 || r == 1 || r == -EIO || r < 0);
			break;
		}
		case 1: {	/* the hostile backend writes the used ring */
			pthread_mutex_lock(&F.lock);
			uint64_t ua = F.used_uaddr;
			uint32_t num = F.num;

			pthread_mutex_unlock(&F.lock);
			if (!ua || !num || (num & (num - 1)) || num > 32768 ||
			    ua < (uintptr_t)buf - (1u << 20) || ua >= (uintptr_t)buf)
				break;	/* only where the rings really are */
			struct virtq_used *u = (struct virtq_used *)(uintptr_t)ua;
			uint16_t i = fin_u16(&h);

			u->ring[i & (num - 1)].id = virtq_cpu_to_le32(op & 0x80 ? fin_u32(&h) :
								     fin_u8(&h) % num);
			u->ring[i & (num - 1)].len = virtq_cpu_to_le32(fin_u8(&h));
			if (op & 0x40)
				virtq_store_release(&u->idx, virtq_cpu_to_le16(fin_u16(&h)));
			break;
		}
		case 2:
			r = virtq_vu_frontend_wait(fe, 0, 0);
			FUZZ_CHECK(r == 1 || r == 0 || r == -ECONNRESET || r == -EPROTO ||
				   r == -EIO || r == -EINVAL);
			break;
		case 3: {	/* take entries back */
			void *t;
			uint32_t len;

			r = virtq_driver_get_used(q, &t, &len);
			FUZZ_CHECK(r == 1 || r == 0 || r == -EIO);
			if (broken)
				FUZZ_EQ(r, -EIO);
			if (r == -EIO)
				broken = true;
			if (r == 1) {
				struct ftok *k = t;

				FUZZ_CHECK(k >= tk && k < tk + ntok);
				FUZZ_CHECK(k->out);
				FUZZ_CHECK(len <= k->in_len);
				k->out = false;
			}
			break;
		}
		default:
			r = virtq_vu_frontend_stop(fe);
			FUZZ_CHECK(r == 0 || r == -ETIMEDOUT || r == -ECONNRESET ||
				   r == -EPROTO || r == -EINVAL || r == -EIO);
			check_err(fe, r);
			q = NULL;
			break;
		}
	}
	virtq_vu_frontend_close(fe);
	sem_wait(&F.done);
	FUZZ_EQ(vu_count_fds(), F.base_fds);
	FUZZ_EQ(fe_maps(), F.base_maps);
	return 0;
}
