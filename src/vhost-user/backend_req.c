// SPDX-License-Identifier: MIT
/*
 * backend_req.c - the backend's own requests to the frontend (BACKEND_REQ):
 * the socket the frontend hands over with SET_BACKEND_REQ_FD, requests on
 * it (CONFIG_CHANGE_MSG, or any the application builds), fds with them
 * when BACKEND_SEND_FD is agreed, and the frontend's replies (REPLY_ACK).
 *
 * Requests come from application threads, never the control thread: the
 * frontend may have to ask the backend something on the main socket
 * before it answers (QEMU reads the config space with GET_CONFIG before it
 * acks a CONFIG_CHANGE_MSG).  be->req_lock orders the requests and guards
 * the socket against the control thread replacing or closing it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vhost-user/backend_internal.h"

#define REQ_TIMEOUT_MS 5000	/* for the frontend's reply */

void __virtq_vu_backend_req_set(struct virtq_vu_backend *be, int fd)
{
	pthread_mutex_lock(&be->req_lock);
	if (be->req_fd >= 0)
		close(be->req_fd);
	be->req_fd = fd;
	/* Snapshots for the requesting threads (the control thread owns
	 * proto_acked). */
	be->req_reply_ack = be->proto_acked & (1ull << VU_PROTOCOL_F_REPLY_ACK);
	be->req_send_fd = be->proto_acked & (1ull << VU_PROTOCOL_F_BACKEND_SEND_FD);
	pthread_mutex_unlock(&be->req_lock);
}

int virtq_vu_backend_request(struct virtq_vu_backend *be, uint32_t request,
			     const void *payload, uint32_t size, const int *fds,
			     unsigned int nfds)
{
	struct vu_msg m, rep;
	int r;

	if (!be || size > sizeof(m.p) || (size && !payload) || nfds > VU_MAX_FDS ||
	    (nfds && !fds))
		return -EINVAL;
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.request = request;
	m.hdr.size = size;
	if (size)
		memcpy(&m.p, payload, size);
	pthread_mutex_lock(&be->req_lock);
	if (be->req_fd < 0) {
		r = -ENOTCONN;
		goto out;
	}
	if (nfds && !be->req_send_fd) {
		r = -EOPNOTSUPP;
		goto out;
	}
	m.hdr.flags = VU_VERSION | (be->req_reply_ack ? VU_FLAG_NEED_REPLY : 0);
	r = __virtq_vu_send(be->req_fd, &m, fds, nfds);
	if (r < 0 || !be->req_reply_ack)
		goto out;
	r = __virtq_vu_recv(be->req_fd, &rep, REQ_TIMEOUT_MS);
	if (r < 0)
		goto out;
	__virtq_vu_msg_close_fds(&rep);
	if (rep.hdr.request != request || !(rep.hdr.flags & VU_FLAG_REPLY) ||
	    rep.hdr.size != sizeof(uint64_t)) {
		__virtq_vu_log(be, "backend request %u: the frontend's reply is request %u, flags 0x%x, %u bytes",
			       request, rep.hdr.request, rep.hdr.flags, rep.hdr.size);
		r = -EPROTO;
		goto out;
	}
	r = rep.p.u64 ? -EIO : 0;
out:
	pthread_mutex_unlock(&be->req_lock);
	return r;
}

int virtq_vu_backend_config_changed(struct virtq_vu_backend *be)
{
	return virtq_vu_backend_request(be, VU_BACKEND_CONFIG_CHANGE_MSG, NULL, 0,
					NULL, 0);
}
