/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-backend-req: the backend's own requests (BACKEND_REQ,
 * BACKEND_SEND_FD).  The backend offers both; SET_BACKEND_REQ_FD hands it
 * a socket (anything else is refused); virtq_vu_backend_config_changed()
 * sends CONFIG_CHANGE_MSG there with NEED_REPLY (REPLY_ACK agreed) while
 * the frontend, before acking, reads the new config space on the main
 * socket (as QEMU does); the ack's value is returned (0, or -EIO for a
 * failure), a reply that is not an ack gives -EPROTO, no channel
 * -ENOTCONN; an fd travels with a request only when BACKEND_SEND_FD is
 * agreed (-EOPNOTSUPP otherwise).
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

struct call {
	struct virtq_vu_backend *be;
	int fd;		/* -1: config_changed; else send it with request 3 */
	int result;
};

static void *app_thread(void *p)
{
	struct call *c = p;

	if (c->fd < 0)
		c->result = virtq_vu_backend_config_changed(c->be);
	else
		c->result = virtq_vu_backend_request(c->be, VU_BACKEND_VRING_HOST_NOTIFIER_MSG,
						     &(uint64_t[3]){ 0, 0, 0 }, 24, &c->fd, 1);
	return NULL;
}

/* Receive one backend request on @chan. */
static void recv_req(int chan, struct vu_msg *m, uint32_t req, uint32_t size)
{
	CHECK_EQ(__virtq_vu_recv(chan, m, TFE_TIMEOUT_MS), 0);
	CHECK_EQ(m->hdr.request, req);
	CHECK(m->hdr.flags & VU_FLAG_NEED_REPLY);
	CHECK(!(m->hdr.flags & VU_FLAG_REPLY));
	CHECK_EQ(m->hdr.size, size);
}

static void send_ack(int chan, uint32_t req, uint32_t flags, uint64_t v)
{
	struct vu_msg m = { .hdr = { req, flags, 8 } };

	m.p.u64 = v;
	CHECK_EQ(__virtq_vu_send(chan, &m, NULL, 0), 0);
}

static void session(const char *path, struct virtq_vu_backend *be, bool send_fd)
{
	uint8_t cfg[16] = "config-space-16", newcfg[16] = "resized-config!";
	uint64_t want = ~0ull;
	struct vu_config c = { .offset = 0, .size = 16 };
	struct call call = { .be = be, .fd = -1 };
	struct tfe fe;
	struct vu_msg m;
	pthread_t th;
	int sv[2];

	tfe_init(&fe, path, 1 << 16);
	(void)want;
	{
		uint64_t offered = tfe_get_u64(&fe, VU_GET_FEATURES), p;

		p = tfe_get_u64(&fe, VU_GET_PROTOCOL_FEATURES);
		CHECK(p & (1ull << VU_PROTOCOL_F_BACKEND_REQ));
		CHECK(p & (1ull << VU_PROTOCOL_F_BACKEND_SEND_FD));
		if (!send_fd)
			p &= ~(1ull << VU_PROTOCOL_F_BACKEND_SEND_FD);
		CHECK_EQ(tfe_send(&fe, VU_SET_PROTOCOL_FEATURES, 0, &p, 8, NULL, 0), 0);
		tfe_set_u64(&fe, VU_SET_FEATURES, offered);
	}
	/* No channel yet. */
	CHECK_EQ(virtq_vu_backend_config_changed(be), -ENOTCONN);
	/* Not a socket: refused. */
	CHECK(tfe_acked(&fe, VU_SET_BACKEND_REQ_FD, NULL, 0, &fe.memfd, 1) > 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	TFE_OK(tfe_acked(&fe, VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1));
	close(sv[1]);

	/* The config changes; the frontend reads it before it acks. */
	CHECK_EQ(virtq_vu_backend_set_config_space(be, newcfg, 16), 0);
	CHECK_EQ(pthread_create(&th, NULL, app_thread, &call), 0);
	recv_req(sv[0], &m, VU_BACKEND_CONFIG_CHANGE_MSG, 0);
	CHECK_EQ(tfe_send(&fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 16, NULL, 0), 0);
	CHECK_EQ(tfe_recv(&fe, VU_GET_CONFIG, &m), 0);
	CHECK(!memcmp(m.p.config.region, newcfg, 16));
	send_ack(sv[0], VU_BACKEND_CONFIG_CHANGE_MSG, VU_VERSION | VU_FLAG_REPLY, 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(call.result, 0);

	/* A failure ack. */
	CHECK_EQ(pthread_create(&th, NULL, app_thread, &call), 0);
	recv_req(sv[0], &m, VU_BACKEND_CONFIG_CHANGE_MSG, 0);
	send_ack(sv[0], VU_BACKEND_CONFIG_CHANGE_MSG, VU_VERSION | VU_FLAG_REPLY, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(call.result, -EIO);

	/* Not an ack of this request. */
	CHECK_EQ(pthread_create(&th, NULL, app_thread, &call), 0);
	recv_req(sv[0], &m, VU_BACKEND_CONFIG_CHANGE_MSG, 0);
	send_ack(sv[0], VU_BACKEND_IOTLB_MSG, VU_VERSION | VU_FLAG_REPLY, 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(call.result, -EPROTO);

	/* An fd with a request: only with BACKEND_SEND_FD. */
	call.fd = eventfd(0, EFD_CLOEXEC);
	CHECK(call.fd >= 0);
	if (!send_fd) {
		app_thread(&call);
		CHECK_EQ(call.result, -EOPNOTSUPP);
	} else {
		CHECK_EQ(pthread_create(&th, NULL, app_thread, &call), 0);
		recv_req(sv[0], &m, VU_BACKEND_VRING_HOST_NOTIFIER_MSG, 24);
		CHECK_EQ(m.nfds, 1);
		__virtq_vu_msg_close_fds(&m);
		send_ack(sv[0], VU_BACKEND_VRING_HOST_NOTIFIER_MSG, VU_VERSION | VU_FLAG_REPLY, 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK_EQ(call.result, 0);
	}
	close(call.fd);
	/* The connection is still up; the channel closes with it. */
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_QUEUE_NUM), 1);
	CHECK_EQ(virtq_vu_backend_set_config_space(be, cfg, 16), 0);
	tfe_close(&fe);
	{
		char b;

		CHECK_EQ(read(sv[0], &b, 1), 0);	/* EOF: the backend closed it */
	}
	close(sv[0]);
}

int main(void)
{
	struct tbe tb;
	uint8_t config[16] = "config-space-16";
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.config = config,
		.config_len = sizeof(config),
		.ops = &ops,
	};

	tbe_start(&tb, "vu-bereq", &cfg);
	session(tb.path, tb.be, true);
	session(tb.path, tb.be, false);
	tbe_stop(&tb);
	return 0;
}
