/* SPDX-License-Identifier: MIT */
/*
 * msg.h - vhost-user wire format (QEMU docs/interop/vhost-user.rst) and the
 * socket codec shared by the backend and the frontend.  Never installed.
 *
 * All wire fields are in the host's byte order (the protocol is between two
 * processes on one host).  Payload sizes are checked against the request
 * by the handlers; the codec checks only the header and the byte counts.
 */
#ifndef VIRTQ_VU_MSG_H
#define VIRTQ_VU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_REQUEST_MAX
};

/* Requests on the backend channel (backend to frontend). */
#define VU_BACKEND_IOTLB_MSG		1
#define VU_BACKEND_CONFIG_CHANGE_MSG	2
#define VU_BACKEND_VRING_HOST_NOTIFIER_MSG 3

/* Virtio feature bit that says protocol features exist. */
#define VU_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ		0
#define VU_PROTOCOL_F_LOG_SHMFD		1
#define VU_PROTOCOL_F_RARP		2
#define VU_PROTOCOL_F_REPLY_ACK		3
#define VU_PROTOCOL_F_NET_MTU		4
#define VU_PROTOCOL_F_BACKEND_REQ	5
#define VU_PROTOCOL_F_CROSS_ENDIAN	6
#define VU_PROTOCOL_F_CRYPTO_SESSION	7
#define VU_PROTOCOL_F_PAGEFAULT		8
#define VU_PROTOCOL_F_CONFIG		9
#define VU_PROTOCOL_F_BACKEND_SEND_FD	10
#define VU_PROTOCOL_F_HOST_NOTIFIER	11
#define VU_PROTOCOL_F_INFLIGHT_SHMFD	12
#define VU_PROTOCOL_F_RESET_DEVICE	13
#define VU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VU_PROTOCOL_F_STATUS		16

/* Header flags. */
#define VU_VERSION		0x1u
#define VU_VERSION_MASK		0x3u
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)

/* SET_VRING_KICK / CALL / ERR payload: index in bits 0-7, no fd in bit 8. */
#define VU_VRING_IDX_MASK	0xffu
#define VU_VRING_NOFD		(1u << 8)

#define VU_MAX_FDS		8	/* per message; also SET_MEM_TABLE's region limit */
#define VU_MAX_CONFIG		256	/* GET/SET_CONFIG payload bytes */

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* payload bytes that follow */
};

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;		/* bit 0: log */
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VU_MAX_FDS];
};

struct vu_mem_single {
	uint64_t padding;
	struct vu_mem_region region;
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_MAX_CONFIG];
};
#define VU_CONFIG_HDR_SIZE	12

/* SET_LOG_BASE (with LOG_SHMFD): the dirty bitmap's fd, size, offset. */
struct vu_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

/* Virtio feature bit: log every write to guest memory (migration). */
#define VU_F_LOG_ALL		26
/* SET_VRING_ADDR flag: log used-ring writes at log_guest_addr. */
#define VU_VRING_F_LOG		1u

struct vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_mem_table mem;
	struct vu_mem_single mem_single;
	struct vu_config config;
	struct vu_inflight inflight;
	struct vu_log log;
	uint8_t bytes[sizeof(struct vu_mem_table)];
};

_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr");
_Static_assert(sizeof(struct vu_mem_region) == 32, "mem region");
_Static_assert(sizeof(struct vu_mem_table) == 8 + 32 * VU_MAX_FDS, "mem table");
_Static_assert(sizeof(struct vu_inflight) == 24, "inflight (padded)");

/* A whole message: header, payload, and the fds that came with it. */
struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload p;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

/* Name of a request for log messages ("UNKNOWN" if out of range). */
const char *__virtq_vu_request_name(uint32_t request);

/*
 * Receive one message.  Waits at most @timeout_ms for its first byte (-1
 * waits forever); the rest must follow within the same time.  Received fds
 * are owned by @m (close them with __virtq_vu_msg_close_fds).
 *
 * Returns 0, or -ECONNRESET (peer closed), -ETIMEDOUT, -EPROTO (bad
 * version flags, payload larger than any message, truncated message, more
 * fds than VU_MAX_FDS, control data truncated), or another -errno from the
 * socket.  On error no fd is left open.
 */
int __virtq_vu_recv(int sock, struct vu_msg *m, int timeout_ms);

/*
 * Send @m (header + hdr.size payload bytes) with @nfds fds from @fds.
 * Returns 0 or -errno (-EPIPE if the peer went away; SIGPIPE is not raised).
 */
int __virtq_vu_send(int sock, const struct vu_msg *m, const int *fds,
		    unsigned int nfds);

void __virtq_vu_msg_close_fds(struct vu_msg *m);

#endif /* VIRTQ_VU_MSG_H */
