/* SPDX-License-Identifier: MIT */
/*
 * frontend.c - vhost-user frontend: share memory with a backend, negotiate,
 * and drive its rings with the driver side.
 *
 * The memory the backend sees is one memfd, mapped here once and passed
 * with SET_MEM_TABLE as a single region:
 *
 *	[ queue 0: desc | avail | used | indirect pool ] ... [ caller buffers ]
 *
 * Device ("guest physical") addresses are offsets from GPA_BASE; the ring
 * addresses in SET_VRING_ADDR are our own virtual addresses, as the
 * protocol wants (the backend translates them with userspace_addr).
 *
 * Every request that expects an answer waits at most fe->timeout_ms, and
 * with REPLY_ACK every other request does too, so a backend that dies or
 * stalls turns into -ETIMEDOUT / -ECONNRESET and a line in fe->err.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtq/vhost_user.h"
#include "vhost-user/msg.h"

/* Device addresses start here rather than at 0: a backend that confuses a
 * device address with an offset or a pointer fails loudly. */
#define GPA_BASE	0x40000000ull
#define PAGE		4096u

struct fe_queue {
	struct virtq_vu_frontend *fe;	/* back-pointer for the hooks */
	struct virtq_driver *vq;	/* driver-private memory (malloc) */
	int kick_fd;
	int call_fd;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t base_seen;		/* GET_VRING_BASE answer */
};

struct virtq_vu_frontend {
	int sock;
	int timeout_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	uint64_t dev_features;
	uint64_t proto_features;	/* negotiated */
	uint64_t features;		/* acked, after start */
	uint32_t max_queues;

	bool started;
	bool poll;
	int mem_fd;
	uint8_t *mem;
	size_t mem_len;
	uint8_t *buf;
	size_t buf_len;

	uint32_t nq;
	struct fe_queue *q;

	char err[256];
};

static int fail(struct virtq_vu_frontend *fe, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record a one-line reason for failure @r and return @r. */
static int fail(struct virtq_vu_frontend *fe, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(fe->err, sizeof(fe->err), "vhost-user backend %s: ", fe->path);
	if (n < 0 || (size_t)n >= sizeof(fe->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(fe->err + n, sizeof(fe->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return r;
}

static bool has_proto(const struct virtq_vu_frontend *fe, unsigned int bit)
{
	return fe->proto_features & (1ull << bit);
}

static const char *recv_reason(int r)
{
	switch (r) {
	case -ETIMEDOUT:
		return "no reply in time";
	case -ECONNRESET:
		return "closed the connection";
	case -EPROTO:
		return "sent a malformed message";
	default:
		return strerror(-r);
	}
}

static int send_msg(struct virtq_vu_frontend *fe, struct vu_msg *m,
		    const int *fds, unsigned int nfds)
{
	int r;

	m->hdr.flags |= VU_VERSION;
	r = __virtq_vu_send(fe->sock, m, fds, nfds);
	if (r == -EPIPE || r == -ECONNRESET)
		return fail(fe, -ECONNRESET, "closed the connection (sending %s)",
			    __virtq_vu_request_name(m->hdr.request));
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return fail(fe, -ETIMEDOUT, "not reading its socket (sending %s)",
			    __virtq_vu_request_name(m->hdr.request));
	if (r < 0)
		return fail(fe, r, "sending %s: %s",
			    __virtq_vu_request_name(m->hdr.request), strerror(-r));
	return 0;
}

/* Wait for the reply to @request and check its header and size. */
static int recv_reply(struct virtq_vu_frontend *fe, uint32_t request,
		      struct vu_msg *m, uint32_t min_size, uint32_t max_size)
{
	const char *name = __virtq_vu_request_name(request);
	int r;

	r = __virtq_vu_recv(fe->sock, m, fe->timeout_ms);
	if (r == -ETIMEDOUT)
		return fail(fe, r, "no reply to %s within %d ms", name,
			    fe->timeout_ms);
	if (r < 0)
		return fail(fe, r, "%s (waiting for the reply to %s)",
			    recv_reason(r), name);
	if (m->nfds) {
		__virtq_vu_msg_close_fds(m);
		return fail(fe, -EPROTO, "reply to %s carries file descriptors",
			    name);
	}
	if (m->hdr.request != request)
		return fail(fe, -EPROTO, "answered %s with %s (%u)", name,
			    __virtq_vu_request_name(m->hdr.request),
			    m->hdr.request);
	if (!(m->hdr.flags & VU_FLAG_REPLY))
		return fail(fe, -EPROTO, "reply to %s lacks the reply flag", name);
	if (m->hdr.size < min_size || m->hdr.size > max_size)
		return fail(fe, -EPROTO, "reply to %s has %u bytes, expected %u",
			    name, m->hdr.size, min_size);
	return 0;
}

/* A request that returns a u64 (GET_FEATURES...). */
static int get_u64(struct virtq_vu_frontend *fe, uint32_t request,
		   uint64_t *val)
{
	struct vu_msg m = { .hdr = { .request = request } };
	int r;

	r = send_msg(fe, &m, NULL, 0);
	if (r < 0)
		return r;
	r = recv_reply(fe, request, &m, 8, 8);
	if (r < 0)
		return r;
	*val = m.p.u64;
	return 0;
}

/*
 * A request without a reply of its own.  With REPLY_ACK we ask for the
 * ack and wait for it, so a backend that rejects a request (or died) is
 * noticed at that request, not later in the data path.
 */
static int set_req(struct virtq_vu_frontend *fe, struct vu_msg *m,
		   const int *fds, unsigned int nfds)
{
	uint32_t request = m->hdr.request;
	bool ack = has_proto(fe, VU_PROTOCOL_F_REPLY_ACK);
	int r;

	if (ack)
		m->hdr.flags |= VU_FLAG_NEED_REPLY;
	r = send_msg(fe, m, fds, nfds);
	if (r < 0 || !ack)
		return r;
	r = recv_reply(fe, request, m, 8, 8);
	if (r < 0)
		return r;
	if (m->p.u64)
		return fail(fe, -EIO, "rejected %s (status %llu)",
			    __virtq_vu_request_name(request),
			    (unsigned long long)m->p.u64);
	return 0;
}

static int set_u64(struct virtq_vu_frontend *fe, uint32_t request,
		   uint64_t val)
{
	struct vu_msg m = { .hdr = { .request = request, .size = 8 } };

	m.p.u64 = val;
	return set_req(fe, &m, NULL, 0);
}

static int set_state(struct virtq_vu_frontend *fe, uint32_t request,
		     uint32_t index, uint32_t num)
{
	struct vu_msg m = { .hdr = { .request = request,
				     .size = sizeof(struct vu_vring_state) } };

	m.p.state.index = index;
	m.p.state.num = num;
	return set_req(fe, &m, NULL, 0);
}

static int open_socket(struct virtq_vu_frontend *fe, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = fe->timeout_ms / 1000,
		.tv_usec = (fe->timeout_ms % 1000) * 1000,
	};

	memcpy(sa.sun_path, path, strlen(path) + 1);
	fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->sock < 0)
		return fail(fe, -errno, "socket: %s", strerror(errno));
	/* A backend that stops reading must not block us forever either. */
	setsockopt(fe->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		return fail(fe, -e, "cannot connect: %s%s", strerror(e),
			    e == ENOENT || e == ECONNREFUSED ?
			    " (is the backend running?)" : "");
	}
	return 0;
}

/* The protocol features we can use. */
#define WANT_PROTO ((1ull << VU_PROTOCOL_F_MQ) | \
		    (1ull << VU_PROTOCOL_F_REPLY_ACK) | \
		    (1ull << VU_PROTOCOL_F_CONFIG))

static int negotiate(struct virtq_vu_frontend *fe)
{
	uint64_t v;
	int r;

	r = get_u64(fe, VU_GET_FEATURES, &fe->dev_features);
	if (r < 0)
		return r;
	fe->max_queues = 1;
	if (fe->dev_features & (1ull << VU_F_PROTOCOL_FEATURES)) {
		r = get_u64(fe, VU_GET_PROTOCOL_FEATURES, &v);
		if (r < 0)
			return r;
		v &= WANT_PROTO;
		/* Not yet in effect: SET_PROTOCOL_FEATURES gets no ack. */
		r = set_u64(fe, VU_SET_PROTOCOL_FEATURES, v);
		if (r < 0)
			return r;
		fe->proto_features = v;
	}
	if (has_proto(fe, VU_PROTOCOL_F_MQ)) {
		r = get_u64(fe, VU_GET_QUEUE_NUM, &v);
		if (r < 0)
			return r;
		if (v < 1 || v > 0x8000)
			return fail(fe, -EPROTO, "says it has %llu queues",
				    (unsigned long long)v);
		fe->max_queues = (uint32_t)v;
	}
	struct vu_msg m = { .hdr = { .request = VU_SET_OWNER } };

	return set_req(fe, &m, NULL, 0);
}

int virtq_vu_frontend_connect(struct virtq_vu_frontend **fep,
			      const char *path, int timeout_ms)
{
	struct virtq_vu_frontend *fe;

	*fep = NULL;
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	*fep = fe;
	fe->sock = -1;
	fe->mem_fd = -1;
	fe->timeout_ms = timeout_ms > 0 ? timeout_ms : VIRTQ_VU_FRONTEND_TIMEOUT_MS;
	if (!path || !*path)
		return fail(fe, -EINVAL, "no socket path given");
	if (strlen(path) >= sizeof(fe->path)) {
		snprintf(fe->path, sizeof(fe->path), "%.40s...", path);
		return fail(fe, -EINVAL, "socket path longer than %zu bytes",
			    sizeof(fe->path) - 1);
	}
	memcpy(fe->path, path, strlen(path) + 1);

	int r = open_socket(fe, path);

	if (r < 0)
		return r;
	/*
	 * SET_PROTOCOL_FEATURES is sent before REPLY_ACK is in force:
	 * has_proto() still reads 0 then, so it goes without NEED_REPLY.
	 */
	return negotiate(fe);
}

uint64_t virtq_vu_frontend_device_features(const struct virtq_vu_frontend *fe)
{
	return fe->dev_features;
}

uint64_t virtq_vu_frontend_protocol_features(const struct virtq_vu_frontend *fe)
{
	return fe->proto_features;
}

uint32_t virtq_vu_frontend_max_queues(const struct virtq_vu_frontend *fe)
{
	return fe->max_queues;
}

uint64_t virtq_vu_frontend_features(const struct virtq_vu_frontend *fe)
{
	return fe->features;
}

const char *virtq_vu_frontend_error(const struct virtq_vu_frontend *fe)
{
	return fe ? fe->err : "out of memory";
}

int virtq_vu_frontend_get_config(struct virtq_vu_frontend *fe,
				 uint32_t offset, void *buf, uint32_t len)
{
	struct vu_msg m = { .hdr = { .request = VU_GET_CONFIG } };
	int r;

	if (!has_proto(fe, VU_PROTOCOL_F_CONFIG))
		return fail(fe, -ENOTSUP, "does not offer GET_CONFIG");
	if (!len || len > VU_MAX_CONFIG)
		return fail(fe, -EINVAL, "config read of %u bytes", len);
	m.hdr.size = VU_CONFIG_HDR_SIZE + len;
	m.p.config.offset = offset;
	m.p.config.size = len;
	r = send_msg(fe, &m, NULL, 0);
	if (r < 0)
		return r;
	r = recv_reply(fe, VU_GET_CONFIG, &m, VU_CONFIG_HDR_SIZE,
		       VU_CONFIG_HDR_SIZE + VU_MAX_CONFIG);
	if (r < 0)
		return r;
	/* An empty config is how a backend says "failed". */
	if (m.p.config.size != len || m.hdr.size != VU_CONFIG_HDR_SIZE + len)
		return fail(fe, -EIO, "GET_CONFIG answered %u bytes of %u",
			    m.p.config.size, len);
	memcpy(buf, m.p.config.region, len);
	return 0;
}

/* ---- memory ----------------------------------------------------------- */

static uint64_t gpa_of(const struct virtq_vu_frontend *fe, const void *p)
{
	return GPA_BASE + (uint64_t)((const uint8_t *)p - fe->mem);
}

/* Driver translate hook: only the shared memfd is visible to the device. */
static uint64_t translate(void *opaque, const void *addr, size_t len,
			  size_t *mapped)
{
	const struct virtq_vu_frontend *fe = ((struct fe_queue *)opaque)->fe;
	uintptr_t a = (uintptr_t)addr, lo = (uintptr_t)fe->mem;

	if (a < lo || a - lo >= fe->mem_len)
		return VIRTQ_ADDR_INVALID;
	size_t left = fe->mem_len - (a - lo);

	*mapped = len < left ? len : left;
	return gpa_of(fe, addr);
}

struct q_layout {
	size_t desc, avail, used, indirect, end;
};

static size_t queue_layout(uint32_t num, uint16_t indirect_max,
			   struct q_layout *l, size_t off)
{
	l->desc = virtq_align_up(off, PAGE);
	l->avail = l->desc + virtq_desc_size(num);
	l->used = virtq_align_up(l->avail + virtq_avail_size(num), PAGE);
	l->indirect = virtq_align_up(l->used + virtq_used_size(num), 16);
	l->end = l->indirect + (indirect_max >= 2 ?
				virtq_driver_indirect_size(num, indirect_max) : 0);
	return l->end;
}

static int map_memory(struct virtq_vu_frontend *fe, size_t len)
{
	fe->mem_fd = memfd_create("virtq-vu-frontend", MFD_CLOEXEC);
	if (fe->mem_fd < 0)
		return fail(fe, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fe->mem_fd, (off_t)len) < 0)
		return fail(fe, -errno, "ftruncate of %zu bytes: %s", len,
			    strerror(errno));
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fe->mem_fd, 0);

	if (p == MAP_FAILED)
		return fail(fe, -ENOMEM, "mmap of %zu bytes: %s", len,
			    strerror(errno));
	fe->mem = p;
	fe->mem_len = len;
	return 0;
}

static int send_mem_table(struct virtq_vu_frontend *fe)
{
	struct vu_msg m = { .hdr = { .request = VU_SET_MEM_TABLE,
				     .size = 8 + sizeof(struct vu_mem_region) } };

	m.p.mem.nregions = 1;
	m.p.mem.regions[0] = (struct vu_mem_region){
		.guest_phys_addr = GPA_BASE,
		.memory_size = fe->mem_len,
		.userspace_addr = (uintptr_t)fe->mem,
		.mmap_offset = 0,
	};
	return set_req(fe, &m, &fe->mem_fd, 1);
}

/* ---- queues ----------------------------------------------------------- */

static int notify_kick(void *opaque, uint16_t queue_index)
{
	struct fe_queue *q = opaque;
	uint64_t one = 1;

	(void)queue_index;
	/* EAGAIN means the counter is near overflow: a kick is pending anyway. */
	if (write(q->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int init_queue(struct virtq_vu_frontend *fe, unsigned int i,
		      const struct virtq_vu_frontend_setup *s,
		      const struct q_layout *l)
{
	struct fe_queue *q = &fe->q[i];
	size_t msz = virtq_driver_mem_size(s->queue_size);
	int r;

	q->fe = fe;
	q->desc = (void *)(fe->mem + l->desc);
	q->avail = (void *)(fe->mem + l->avail);
	q->used = (void *)(fe->mem + l->used);
	q->vq = aligned_alloc(64, virtq_align_up(msz, 64));
	if (!q->vq)
		return fail(fe, -ENOMEM, "out of memory for queue %u", i);
	q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick_fd < 0 || q->call_fd < 0)
		return fail(fe, -errno, "eventfd: %s", strerror(errno));

	struct virtq_driver_config cfg = {
		.num = s->queue_size,
		.features = fe->features,
		.desc = q->desc,
		.avail = q->avail,
		.used = q->used,
		.indirect = s->indirect_max >= 2 &&
			    (fe->features & VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC)) ?
			    fe->mem + l->indirect : NULL,
		.indirect_max = s->indirect_max,
		.notify = notify_kick,
		.translate = translate,
		.opaque = q,
	};

	r = virtq_driver_init(q->vq, virtq_align_up(msz, 64), &cfg);
	if (r < 0)
		return fail(fe, r, "driver init of queue %u: %s", i, strerror(-r));
	return 0;
}

static int setup_vring(struct virtq_vu_frontend *fe, unsigned int i)
{
	struct fe_queue *q = &fe->q[i];
	struct vu_msg m = { .hdr = { .request = VU_SET_VRING_ADDR,
				     .size = sizeof(struct vu_vring_addr) } };
	int r;

	r = set_state(fe, VU_SET_VRING_NUM, i, virtq_driver_size(q->vq));
	if (r < 0)
		return r;
	r = set_state(fe, VU_SET_VRING_BASE, i, 0);
	if (r < 0)
		return r;
	/* Ring addresses are in our address space (userspace_addr). */
	m.p.addr.index = i;
	m.p.addr.desc_user_addr = (uintptr_t)q->desc;
	m.p.addr.avail_user_addr = (uintptr_t)q->avail;
	m.p.addr.used_user_addr = (uintptr_t)q->used;
	r = set_req(fe, &m, NULL, 0);
	if (r < 0)
		return r;
	m = (struct vu_msg){ .hdr = { .request = VU_SET_VRING_KICK, .size = 8 } };
	m.p.u64 = i;
	r = set_req(fe, &m, &q->kick_fd, 1);
	if (r < 0)
		return r;
	m = (struct vu_msg){ .hdr = { .request = VU_SET_VRING_CALL, .size = 8 } };
	m.p.u64 = i;
	r = set_req(fe, &m, &q->call_fd, 1);
	if (r < 0)
		return r;
	/* With protocol features rings start disabled (vhost-user.rst). */
	if (fe->dev_features & (1ull << VU_F_PROTOCOL_FEATURES))
		return set_state(fe, VU_SET_VRING_ENABLE, i, 1);
	return 0;
}

static int check_setup(struct virtq_vu_frontend *fe,
		       const struct virtq_vu_frontend_setup *s)
{
	if (fe->started || fe->sock < 0)
		return fail(fe, -EINVAL, "start: already started or not connected");
	if (!virtq_size_valid(s->queue_size))
		return fail(fe, -EINVAL, "queue size %u is not a power of two in 1..32768",
			    s->queue_size);
	if (s->num_queues < 1 || s->num_queues > fe->max_queues)
		return fail(fe, s->num_queues ? -ERANGE : -EINVAL,
			    "%u queues asked, the backend has %u",
			    s->num_queues, fe->max_queues);
	if (!(fe->dev_features & VIRTQ_FEATURE(VIRTQ_F_VERSION_1)))
		return fail(fe, -ENOTSUP, "does not offer VIRTIO_F_VERSION_1");
	return 0;
}

int virtq_vu_frontend_start(struct virtq_vu_frontend *fe,
			    const struct virtq_vu_frontend_setup *s)
{
	struct q_layout *lay = NULL;
	size_t off = 0;
	int r;

	r = check_setup(fe, s);
	if (r < 0)
		return r;
	fe->features = (s->features | VIRTQ_FEATURE(VIRTQ_F_VERSION_1)) &
		       fe->dev_features & ~(1ull << VU_F_PROTOCOL_FEATURES);
	fe->poll = s->poll;
	lay = calloc(s->num_queues, sizeof(*lay));
	fe->q = calloc(s->num_queues, sizeof(*fe->q));
	if (!lay || !fe->q) {
		r = fail(fe, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < s->num_queues; i++) {
		fe->q[i].kick_fd = fe->q[i].call_fd = -1;
		off = queue_layout(s->queue_size, s->indirect_max, &lay[i], off);
	}
	fe->nq = s->num_queues;
	off = virtq_align_up(off, PAGE);
	r = map_memory(fe, virtq_align_up(off + s->buf_size, PAGE));
	if (r < 0)
		goto out;
	fe->buf = fe->mem + off;
	fe->buf_len = s->buf_size;
	for (unsigned int i = 0; i < fe->nq; i++) {
		r = init_queue(fe, i, s, &lay[i]);
		if (r < 0)
			goto out;
	}
	/* Protocol features stay on: the backend stops if the bit is missing. */
	r = set_u64(fe, VU_SET_FEATURES, fe->features |
		    (fe->dev_features & (1ull << VU_F_PROTOCOL_FEATURES)));
	if (r < 0)
		goto out;
	r = send_mem_table(fe);
	if (r < 0)
		goto out;
	for (unsigned int i = 0; i < fe->nq; i++) {
		if (fe->poll)
			virtq_driver_disable_cb(fe->q[i].vq);
		r = setup_vring(fe, i);
		if (r < 0)
			goto out;
	}
	fe->started = true;
out:
	free(lay);
	return r;
}

void *virtq_vu_frontend_buf(const struct virtq_vu_frontend *fe, size_t *len)
{
	if (len)
		*len = fe->buf_len;
	return fe->buf;
}

struct virtq_driver *virtq_vu_frontend_queue(struct virtq_vu_frontend *fe,
					     unsigned int index)
{
	if (!fe->started || index >= fe->nq)
		return NULL;
	return fe->q[index].vq;
}

int virtq_vu_frontend_call_fd(const struct virtq_vu_frontend *fe,
			      unsigned int index)
{
	if (!fe->started || index >= fe->nq)
		return -1;
	return fe->q[index].call_fd;
}

/*
 * Has the backend hung up or written something it should not have?  The
 * socket carries nothing from the backend while the queues run (we never
 * set up a backend channel), so any readable byte is a protocol error.
 */
static int socket_check(int sock, short revents)
{
	char c;
	ssize_t n;

	if (!(revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
		return 0;
	n = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -ECONNRESET;
	if (n > 0)
		return -EPROTO;
	return 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int wait_poll(struct virtq_vu_frontend *fe, struct fe_queue *q,
		     int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + timeout_ms * 1000000ll;
	int64_t next_check = now_ns() + 1000000;

	for (;;) {
		for (int spin = 0; spin < 256; spin++) {
			if (virtq_driver_has_used(q->vq))
				return virtq_driver_is_broken(q->vq) ? -EIO : 1;
			cpu_relax();
		}
		int64_t t = now_ns();
		bool last = deadline >= 0 && t >= deadline;

		if (!last && t < next_check)
			continue;
		next_check = t + 1000000;
		struct pollfd p = { .fd = fe->sock, .events = POLLIN | POLLRDHUP };

		if (poll(&p, 1, 0) > 0) {
			int r = socket_check(fe->sock, p.revents);

			if (r < 0)
				return r;
		}
		/* Time is up, but a closed socket seen at the end still
		 * counts: the caller hears why, not just "timed out". */
		if (last)
			return 0;
	}
}

static int wait_irq(struct virtq_vu_frontend *fe, struct fe_queue *q,
		    int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + timeout_ms * 1000000ll;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = q->call_fd, .events = POLLIN },
			{ .fd = fe->sock, .events = POLLIN | POLLRDHUP },
		};
		int left = -1, r;

		/* enable_cb rechecks after asking: false = already pending. */
		if (!virtq_driver_enable_cb(q->vq)) {
			virtq_driver_disable_cb(q->vq);
			return virtq_driver_is_broken(q->vq) ? -EIO : 1;
		}
		if (deadline >= 0) {
			int64_t ns = deadline - now_ns();

			if (ns <= 0)
				return 0;
			left = (int)((ns + 999999) / 1000000);
		}
		r = poll(p, 2, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = socket_check(fe->sock, p[1].revents);
		if (r < 0)
			return r;
		if (p[0].revents & POLLIN) {
			uint64_t cnt;

			if (read(q->call_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				return -errno;
		}
	}
}

int virtq_vu_frontend_wait(struct virtq_vu_frontend *fe, unsigned int index,
			   int timeout_ms)
{
	if (!fe->started || index >= fe->nq)
		return -EINVAL;
	struct fe_queue *q = &fe->q[index];

	if (virtq_driver_is_broken(q->vq))
		return -EIO;
	if (virtq_driver_has_used(q->vq))
		return 1;
	return fe->poll ? wait_poll(fe, q, timeout_ms) :
			  wait_irq(fe, q, timeout_ms);
}

int virtq_vu_frontend_stop(struct virtq_vu_frontend *fe)
{
	bool proto = fe->dev_features & (1ull << VU_F_PROTOCOL_FEATURES);
	int r;

	if (!fe->started)
		return 0;
	fe->started = false;
	for (unsigned int i = 0; i < fe->nq; i++) {
		struct fe_queue *q = &fe->q[i];
		struct vu_msg m = { .hdr = { .request = VU_GET_VRING_BASE,
					     .size = sizeof(struct vu_vring_state) } };

		if (proto) {
			r = set_state(fe, VU_SET_VRING_ENABLE, i, 0);
			if (r < 0)
				return r;
		}
		m.p.state.index = i;
		r = send_msg(fe, &m, NULL, 0);
		if (r < 0)
			return r;
		r = recv_reply(fe, VU_GET_VRING_BASE, &m,
			       sizeof(struct vu_vring_state),
			       sizeof(struct vu_vring_state));
		if (r < 0)
			return r;
		/* We wrote avail->idx; the backend cannot have consumed more. */
		uint16_t avail = virtq_le16(q->avail->idx);
		uint16_t ahead = (uint16_t)(avail - (uint16_t)m.p.state.num);

		if (m.p.state.index != i || m.p.state.num > 0xffff ||
		    ahead > virtq_driver_size(q->vq))
			return fail(fe, -EPROTO,
				    "GET_VRING_BASE of queue %u says index %u, base %u (avail idx %u)",
				    i, m.p.state.index, m.p.state.num, avail);
		q->base_seen = (uint16_t)m.p.state.num;
	}
	return 0;
}

void virtq_vu_frontend_close(struct virtq_vu_frontend *fe)
{
	if (!fe)
		return;
	if (fe->sock >= 0)
		close(fe->sock);
	for (unsigned int i = 0; fe->q && i < fe->nq; i++) {
		if (fe->q[i].kick_fd >= 0)
			close(fe->q[i].kick_fd);
		if (fe->q[i].call_fd >= 0)
			close(fe->q[i].call_fd);
		free(fe->q[i].vq);
	}
	free(fe->q);
	if (fe->mem)
		munmap(fe->mem, fe->mem_len);
	if (fe->mem_fd >= 0)
		close(fe->mem_fd);
	free(fe);
}
