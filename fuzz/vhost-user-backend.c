/* SPDX-License-Identifier: MIT */
/*
 * fuzz/vhost-user-backend.c - the vhost-user backend against an
 * input-made frontend, through the public API only (set_conn_fd +
 * dispatch, the application's own loop).
 *
 * Each input is a stream of steps: well-formed messages with input values
 * (features, memory tables over our memfd with input offsets and sizes,
 * ring size / addresses / base, kick / call / err eventfds, enable,
 * GET_VRING_BASE, config, inflight, ADD / REM_MEM_REG, status, reset), raw
 * messages (any request, flags, claimed size, payload, and fds: memfd,
 * eventfd, /dev/null), guest memory writes (descriptors, avail ring) and
 * "kicks" that serve the running rings like a device (echo: readable bytes
 * copied to writable ones).  Oracle: no crash or abort (the sanitizers
 * watch memory), dispatch returns only documented values and a failed
 * one leaves no connection, no fd or mapping is left once the connection
 * is gone, and a new connection is served afterwards.
 */
#include <fcntl.h>

#include "vu.h"
#include "virtq/device.h"

static struct vu V;
static struct virtq_vu_backend *BE;
static struct virtq_vu_queue *running[2];
static int devnull = -1;

static int q_start(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	FUZZ_CHECK(virtq_vu_queue_index(q) < 2);
	FUZZ_CHECK(virtq_vu_queue_device(q) != NULL);
	running[virtq_vu_queue_index(q)] = q;
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "queue %u started\n", virtq_vu_queue_index(q));
	return 0;
}

static void q_stop(void *opaque, struct virtq_vu_queue *q)
{
	(void)opaque;
	FUZZ_CHECK(running[virtq_vu_queue_index(q)] == q);
	running[virtq_vu_queue_index(q)] = NULL;
}

static void quiet(void *opaque, const char *line)
{
	(void)opaque;
	(void)line;
}

static int set_config(void *opaque, uint32_t offset, const void *buf,
		      uint32_t len, uint32_t flags)
{
	(void)opaque;
	(void)buf;
	(void)flags;
	FUZZ_CHECK(offset <= 64 && len <= 64 - offset);
	return offset & 1 ? -EINVAL : 0;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_start = q_start,
	.queue_stop = q_stop,
	.set_config = set_config,
	.log = quiet,
};

/* Serve a running ring as a device: echo readable into writable bytes. */
static void serve(struct virtq_vu_queue *q, unsigned int budget)
{
	struct virtq_device *vq = virtq_vu_queue_device(q);
	struct iovec iov[16];
	struct virtq_chain c = { .iov = iov, .iov_cap = 16 };
	int r;

	while (budget-- && (r = virtq_vu_queue_pop(q, &c)) != 0) {
		if (r == -EIO) {
			virtq_vu_queue_error(q);
			return;
		}
		if (r < 0) {
			if (c.head < virtq_device_size(vq))
				virtq_vu_queue_push(q, c.head, 0);
			continue;
		}
		size_t n = 0, oi = 0, oo = 0, ii = c.n_out, io = 0;

		while (oi < c.n_out && ii < c.n_out + c.n_in) {
			((char *)iov[ii].iov_base)[io] = ((char *)iov[oi].iov_base)[oo];
			n++;
			if (++oo == iov[oi].iov_len) {
				oi++;
				oo = 0;
			}
			if (++io == iov[ii].iov_len) {
				ii++;
				io = 0;
			}
		}
		virtq_vu_queue_push(q, c.head, (uint32_t)n);
	}
	r = virtq_device_flush(vq);
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "served: flush %d, next used %u\n", r,
			virtq_device_next_used(vq));
	virtq_vu_queue_notify(q);
	virtq_device_enable_notify(vq);
}

static void setup_once(void)
{
	static const uint8_t config[64] = { 1, 2, 3, 4 };
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			    VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | 0x7,
		.num_queues = 2,
		.max_queue_size = 256,
		.config = config,
		.config_len = sizeof(config),
		.ops = &ops,
	};

	if (BE)
		return;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	FUZZ_CHECK(devnull >= 0);
	vu_once(&V);
	FUZZ_EQ(virtq_vu_backend_create(&BE, &cfg), 0);
	V.base_fds = vu_count_fds();
}

/* An address the input picks: mostly inside our memory. */
static uint64_t pick_uaddr(struct fin *f)
{
	uint8_t s = fin_u8(f);
	uint32_t off = fin_u16(f) * 4u;

	switch (s % 4) {
	case 0: case 1: return (uint64_t)(uintptr_t)V.mem + off % VU_MEM_SIZE;
	case 2: return (uint64_t)(uintptr_t)V.mem + (off & ~63u) % VU_MEM_SIZE;
	default: return fin_u64(f);
	}
}

static unsigned int pick_fds(struct fin *f, int *fds, uint8_t how)
{
	unsigned int n = 0;

	switch (how % 8) {
	case 0: break;
	case 1: fds[n++] = V.memfd; break;
	case 2: fds[n++] = V.kick[0]; break;
	case 3: fds[n++] = V.call[fin_u8(f) & 1]; break;
	case 4: fds[n++] = devnull; break;
	case 5: fds[n++] = V.memfd2; break;
	case 6: fds[n++] = V.memfd; fds[n++] = V.memfd2; break;
	default:
		n = fin_u8(f) % (VU_MAX_FDS + 1);
		for (unsigned int i = 0; i < n; i++)
			fds[i] = i & 1 ? V.memfd : V.kick[1];
		break;
	}
	return n;
}

/* One step; returns false once the connection is gone. */
static bool step(struct fin *f)
{
	union vu_payload p;
	uint8_t op = fin_u8(f);
	uint32_t flags = VU_VERSION | (op & 0x80 ? VU_FLAG_NEED_REPLY : 0);
	int fds[VU_MAX_FDS];
	unsigned int nfds = 0;
	uint32_t req = 0, size = 0;

	memset(&p, 0, sizeof(p));
	switch (op % 16) {
	case 0:	/* raw message */
		req = fin_u8(f) % (VU_REQUEST_MAX + 2);
		flags = fin_u8(f) & 1 ? fin_u32(f) : flags;
		size = fin_u8(f);
		if (size & 0x80)
			size = fin_u16(f) % (sizeof(p) + 16);
		else
			size %= 48;
		nfds = pick_fds(f, fds, fin_u8(f));
		fin_bytes(f, &p, size < sizeof(p) ? size : sizeof(p));
		if (fin_u8(f) == 0xff)	/* a short one now and then */
			return vu_msg(&V, BE, req, flags, size, &p,
				      size ? (size - 1 < sizeof(p) ? size - 1 : sizeof(p)) : 0,
				      fds, nfds) == 0;
		break;
	case 1:
		req = op & 0x40 ? VU_GET_FEATURES : VU_GET_PROTOCOL_FEATURES;
		break;
	case 2:
		req = op & 0x40 ? VU_SET_FEATURES : VU_SET_PROTOCOL_FEATURES;
		size = 8;
		p.u64 = fin_u8(f) & 1 ? fin_u64(f) :
			(op & 0x40 ? (1ull << 30) | VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			 VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			 VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0x1b209);
		break;
	case 3:
		req = op & 0x40 ? VU_SET_OWNER : VU_GET_QUEUE_NUM;
		break;
	case 4: {	/* memory table over our memfd(s) */
		uint8_t b = fin_u8(f);

		req = VU_SET_MEM_TABLE;
		p.mem.nregions = b % 4;
		if (b & 0x80)
			p.mem.nregions = fin_u8(f);
		for (unsigned int i = 0; i < p.mem.nregions && i < VU_MAX_FDS; i++) {
			struct vu_mem_region *r = &p.mem.regions[i];
			uint8_t s = fin_u8(f);

			r->guest_phys_addr = s & 1 ? fin_u64(f) : VU_GPA + i * VU_MEM_SIZE;
			r->memory_size = s & 2 ? fin_u64(f) : VU_MEM_SIZE >> (s >> 6);
			r->userspace_addr = s & 4 ? fin_u64(f) :
				(uint64_t)(uintptr_t)V.mem + i * VU_MEM_SIZE;
			r->mmap_offset = s & 8 ? fin_u64(f) : 0;
			fds[nfds++] = i ? V.memfd2 : V.memfd;
		}
		size = 8 + 32 * (p.mem.nregions < VU_MAX_FDS ? p.mem.nregions : VU_MAX_FDS);
		break;
	}
	case 5:	/* ring size, base, enable, GET_VRING_BASE */
		req = (uint32_t[]){ VU_SET_VRING_NUM, VU_SET_VRING_BASE,
				    VU_SET_VRING_ENABLE, VU_GET_VRING_BASE }[(op >> 4) & 3];
		size = 8;
		p.state.index = fin_u8(f) % 3;
		p.state.num = fin_u8(f) & 1 ? fin_u32(f) :
			      (req == VU_SET_VRING_NUM ? 1u << (fin_u8(f) % 10) :
			       req == VU_SET_VRING_ENABLE ? 1 : fin_u8(f));
		break;
	case 6:	/* ring addresses */
		req = VU_SET_VRING_ADDR;
		size = 40;
		p.addr.index = fin_u8(f) % 3;
		p.addr.flags = fin_u8(f) % 3 == 0;
		p.addr.desc_user_addr = pick_uaddr(f);
		p.addr.avail_user_addr = pick_uaddr(f);
		p.addr.used_user_addr = pick_uaddr(f);
		p.addr.log_guest_addr = fin_u8(f) & 1 ? fin_u64(f) : 0;
		break;
	case 7:	/* kick / call / err fds */
		req = (uint32_t[]){ VU_SET_VRING_KICK, VU_SET_VRING_CALL,
				    VU_SET_VRING_ERR, VU_SET_VRING_KICK }[(op >> 4) & 3];
		size = 8;
		p.u64 = fin_u8(f) % 3;
		if (fin_u8(f) % 5 == 0)
			p.u64 |= VU_VRING_NOFD;
		else
			fds[nfds++] = req == VU_SET_VRING_KICK ? V.kick[p.u64 & 1] :
							       V.call[p.u64 & 1];
		break;
	case 8:	/* config */
		req = op & 0x40 ? VU_SET_CONFIG : VU_GET_CONFIG;
		p.config.offset = fin_u8(f) % 80;
		p.config.size = fin_u8(f) % 80;
		p.config.flags = fin_u8(f) & 1;
		size = VU_CONFIG_HDR_SIZE + (fin_u8(f) & 1 ? fin_u8(f) % 80 :
					     p.config.size);
		break;
	case 9:	/* inflight */
		req = op & 0x40 ? VU_SET_INFLIGHT_FD : VU_GET_INFLIGHT_FD;
		size = 24;
		p.inflight.mmap_size = fin_u8(f) & 1 ? fin_u64(f) : VU_MEM_SIZE >> (fin_u8(f) % 8);
		p.inflight.mmap_offset = fin_u8(f) & 1 ? fin_u64(f) : 0;
		p.inflight.num_queues = fin_u8(f) % 4;
		p.inflight.queue_size = (uint16_t)(1u << (fin_u8(f) % 10));
		if (req == VU_SET_INFLIGHT_FD)
			fds[nfds++] = V.memfd2;
		break;
	case 10: {	/* ADD / REM_MEM_REG */
		uint8_t s = fin_u8(f);

		req = op & 0x40 ? VU_REM_MEM_REG : VU_ADD_MEM_REG;
		size = 40;
		p.mem_single.region.guest_phys_addr = s & 1 ? fin_u64(f) :
			VU_GPA + (s >> 4) * VU_MEM_SIZE;
		p.mem_single.region.memory_size = s & 2 ? fin_u64(f) : VU_MEM_SIZE >> (s >> 6);
		p.mem_single.region.userspace_addr = s & 4 ? fin_u64(f) :
			(uint64_t)(uintptr_t)V.mem;
		p.mem_single.region.mmap_offset = s & 8 ? fin_u64(f) : 0;
		fds[nfds++] = s & 0x10 ? V.memfd2 : V.memfd;
		break;
	}
	case 11:
		req = (uint32_t[]){ VU_SET_STATUS, VU_GET_STATUS, VU_RESET_DEVICE,
				    VU_RESET_OWNER }[(op >> 4) & 3];
		size = req == VU_SET_STATUS ? 8 : 0;
		p.u64 = fin_u8(f);
		break;
	case 12: case 13: {	/* the guest writes its memory */
		uint32_t off = fin_u16(f) * 4u % VU_MEM_SIZE;
		uint8_t n = fin_u8(f) % 64;

		fin_bytes(f, V.mem + off, n < VU_MEM_SIZE - off ? n : VU_MEM_SIZE - off);
		return true;
	}
	case 14: case 15:	/* a kick: serve the running rings */
		for (int i = 0; i < 2; i++)
			if (running[i])
				serve(running[i], 1 + fin_u8(f) % 32);
		return true;
	}
	return vu_msg(&V, BE, req, flags, size, &p,
		      size < sizeof(p) ? size : sizeof(p), fds, nfds) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };

	setup_once();
	vu_connect(&V, BE);
	while (fin_left(&f) && step(&f))
		;
	vu_finish(&V, BE);
	FUZZ_CHECK(!running[0] && !running[1]);
	vu_still_serves(&V, BE);
	return 0;
}
