/* SPDX-License-Identifier: MIT */
/*
 * drivers-net: the virtio-net driver against our device side, modern
 * (12-byte header) and legacy (10), EVENT_IDX and INDIRECT on and off.
 *  - the MAC and the link status come from the config space (link up
 *    when STATUS is not offered; MAC -ENOENT when MAC is not);
 *  - sent frames reach the device whole, behind a zero header in a
 *    descriptor of its own; tokens come back once each;
 *  - the device answers each frame with a frame of its own ("ARP reply"):
 *    receive buffers were posted at init and are reposted after each
 *    frame, so many more frames than buffers arrive, by recv (copy), by
 *    rx_get / rx_put (in place) and by the interrupt harvest;
 *  - hostile: a buffer returned with less than a header is -EPROTO and
 *    reposted; a length above the buffer breaks the queue (-EIO); a
 *    device that never takes a frame is -ETIMEDOUT.
 */
#include "fake-transport.h"
#include "virtq/drivers/net.h"

struct fake_net {
	uint32_t hdr_len;
	unsigned int sent;
	uint8_t last[2048];
	uint32_t last_len;
	bool echo;		/* answer each frame with a reply */
	bool tx_hold;
};

/* The host sends a frame: into the next posted receive buffer. */
static bool host_frame(struct fake_dev *fd, const uint8_t *f, uint32_t len, int64_t len_override)
{
	struct fake_net *m = fd->model;
	uint8_t hdr[12] = { 0 };
	struct virtq_chain c;
	int r = fake_pop(fd, 0, &c);

	if (!r)
		return false;
	CHECK_EQ(r, 1);
	CHECK_EQ(c.n_out, 0);
	CHECK(c.in_len >= m->hdr_len + len);
	CHECK_EQ(c.iov[0].iov_len, m->hdr_len);		/* the header alone */
	hdr[0] = 0;					/* flags: none */
	if (m->hdr_len == 12)
		hdr[10] = 1;				/* num_buffers 1 */
	fake_iov_copy(&c, true, 0, hdr, m->hdr_len, true);
	fake_iov_copy(&c, true, m->hdr_len, (void *)f, len, true);
	fake_push(fd, 0, c.head, len_override >= 0 ? (uint32_t)len_override : m->hdr_len + len);
	return true;
}

static void reply_of(const uint8_t *f, uint32_t len, uint8_t *out)
{
	for (uint32_t i = 0; i < len; i++)
		out[i] = (uint8_t)(f[i] ^ 0xff);
}

static void net_serve(struct fake_dev *fd, uint16_t qi)
{
	struct fake_net *m = fd->model;
	struct virtq_chain c;
	uint8_t hdr[12], reply[2048];
	int r;

	if (qi == 0 || m->tx_hold)
		return;
	while ((r = fake_pop(fd, 1, &c)) != 0) {
		CHECK_EQ(r, 1);
		CHECK_EQ(c.n_in, 0);
		CHECK_EQ(c.iov[0].iov_len, m->hdr_len);
		fake_iov_copy(&c, false, 0, hdr, m->hdr_len, false);
		for (uint32_t i = 0; i < m->hdr_len; i++)
			CHECK_EQ(hdr[i], 0);		/* no offload asked */
		m->last_len = c.out_len - m->hdr_len;
		fake_iov_copy(&c, false, m->hdr_len, m->last, m->last_len, false);
		m->sent++;
		fake_push(fd, 1, c.head, 0);
		if (m->echo) {
			reply_of(m->last, m->last_len, reply);
			CHECK(host_frame(fd, reply, m->last_len, -1));
		}
	}
}

static const uint8_t mac0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static struct fake_dev *up(struct fake_net *m, struct virtq_net **net, uint32_t legacy,
			   uint64_t ring, uint64_t dev_features, uint32_t nbuf, int want)
{
	struct fake_dev *fd = fake_new(VIRTQ_ID_NET, dev_features |
		VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
		VIRTQ_FEATURE(VIRTQ_NET_F_MRG_RXBUF), legacy);
	struct virtq_net_config c = { 0 };

	memset(m, 0, sizeof(*m));
	m->hdr_len = legacy ? 10 : 12;
	fd->model = m;
	fd->serve = net_serve;
	memcpy(fd->config, mac0, 6);
	fake_cfg16(fd, 6, VIRTQ_NET_S_LINK_UP);
	*net = fake_alloc(fd, sizeof(**net), 64);
	c.rx = fake_queue_mem(fd, 16, 4);
	c.tx = fake_queue_mem(fd, 16, 4);
	c.ring_features = ring;
	c.dma = fake_dma(fd);
	c.wait.poll_max = 1000;
	c.rx_bufs = fake_alloc(fd, nbuf * VIRTQ_NET_RX_BUF_SIZE, 64);
	c.rx_buf_size = VIRTQ_NET_RX_BUF_SIZE;
	c.rx_count = nbuf;
	CHECK_EQ(virtq_net_init(*net, &fd->t, &c), want);
	return fd;
}

static unsigned int rx_frames, tx_tokens;
static uint8_t expect[2048];
static uint32_t expect_len;

static void on_rx(void *opaque, const void *f, uint32_t len)
{
	CHECK(opaque == &rx_frames);
	CHECK_EQ(len, expect_len);
	CHECK(memcmp(f, expect, len) == 0);
	rx_frames++;
}

static void on_tx(void *opaque, void *token)
{
	CHECK(opaque == &rx_frames);
	CHECK(token == (void *)(uintptr_t)7);
	tx_tokens++;
}

static void run(uint32_t legacy, uint64_t ring)
{
	const uint64_t all = VIRTQ_FEATURE(VIRTQ_NET_F_MAC) | VIRTQ_FEATURE(VIRTQ_NET_F_STATUS);
	struct fake_net m;
	struct virtq_net *net;
	struct fake_dev *fd = up(&m, &net, legacy, ring, all, 4, 0);
	uint8_t mac[6], *frame, buf[2048], want[2048];
	void *tok, *fp;
	uint32_t i, len, id;

	CHECK(!(fd->accepted & VIRTQ_FEATURE(VIRTQ_NET_F_MRG_RXBUF)));
	CHECK_EQ(virtq_net_hdr_len(net), legacy ? 10 : 12);
	CHECK_EQ(virtq_net_mac(net, mac), 0);
	CHECK(memcmp(mac, mac0, 6) == 0);
	CHECK_EQ(virtq_net_link_up(net), 1);
	fake_cfg16(fd, 6, 0);
	CHECK_EQ(virtq_net_link_up(net), 0);
	fake_cfg16(fd, 6, VIRTQ_NET_S_LINK_UP | 2);
	CHECK_EQ(virtq_net_link_up(net), 1);

	frame = fake_alloc(fd, 2048, 64);
	m.echo = true;
	/* 40 frames through 4 receive buffers, each of its own size. */
	for (i = 0; i < 40; i++) {
		uint32_t flen = 14 + (i * 97) % (VIRTQ_NET_FRAME_MAX - 13);

		for (uint32_t k = 0; k < flen; k++)
			frame[k] = (uint8_t)(k + i);
		CHECK_EQ(virtq_net_send_wait(net, frame, flen), 0);
		CHECK_EQ(m.last_len, flen);
		CHECK(memcmp(m.last, frame, flen) == 0);
		reply_of(frame, flen, want);
		if (i % 2) {
			CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), 1);
			CHECK_EQ(len, flen);
			CHECK(memcmp(buf, want, flen) == 0);
		} else {
			CHECK_EQ(virtq_net_rx_get(net, &fp, &len, &id), 1);
			CHECK_EQ(len, flen);
			CHECK(memcmp(fp, want, flen) == 0);
			CHECK_EQ(virtq_net_rx_get(net, &fp, &len, &id), -EBUSY);
			CHECK_EQ(virtq_net_rx_put(net, id + 1), -EINVAL);
			CHECK_EQ(virtq_net_rx_put(net, id), 0);
			CHECK_EQ(virtq_net_rx_put(net, id), -EINVAL);
		}
		CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), 0);
	}
	CHECK_EQ(m.sent, 40);
	CHECK_EQ(virtq_net_send(net, frame, 13, frame), -EINVAL);
	CHECK_EQ(virtq_net_send(net, frame, VIRTQ_NET_FRAME_MAX + 1, frame), -EINVAL);
	CHECK_EQ(virtq_net_send(net, frame, 60, NULL), -EINVAL);

	/* Asynchronous send, interrupt-driven receive. */
	m.echo = true;
	for (uint32_t k = 0; k < 60; k++)
		frame[k] = (uint8_t)(3 * k);
	reply_of(frame, 60, expect);
	expect_len = 60;
	rx_frames = tx_tokens = 0;
	for (i = 0; i < 3; i++)
		CHECK_EQ(virtq_net_send(net, frame, 60, (void *)(uintptr_t)7), 0);
	CHECK_EQ(virtq_net_send_wait(net, frame, 60), -EBUSY);
	CHECK(fd->isr & VIRTQ_ISR_QUEUE);
	CHECK_EQ(virtq_net_interrupt(net, on_rx, on_tx, &rx_frames, NULL), 3);
	CHECK_EQ(rx_frames, 3);
	CHECK_EQ(tx_tokens, 3);
	CHECK_EQ(fd->isr, 0);
	m.echo = false;
	CHECK_EQ(virtq_net_send(net, frame, 60, (void *)(uintptr_t)7), 0);
	CHECK_EQ(virtq_net_tx_reclaim(net, &tok), 1);
	CHECK(tok == (void *)(uintptr_t)7);
	CHECK_EQ(virtq_net_tx_reclaim(net, &tok), 0);

	/* A frame bigger than the caller's buffer is dropped, its buffer reposted. */
	CHECK(host_frame(fd, frame, 100, -1));
	CHECK_EQ(virtq_net_recv(net, buf, 50, &len), -EMSGSIZE);
	/* Less than a header and an Ethernet header: -EPROTO, reposted. */
	CHECK(host_frame(fd, frame, 100, m.hdr_len + 13));
	CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), -EPROTO);
	CHECK(host_frame(fd, frame, 100, 0));
	CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), -EPROTO);
	CHECK_EQ(net->rx_bad, 2);
	/* All four buffers are posted again: four frames fit, a fifth does not. */
	for (i = 0; i < 4; i++)
		CHECK(host_frame(fd, frame, 100, -1));
	CHECK(!host_frame(fd, frame, 100, -1));
	for (i = 0; i < 4; i++)
		CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), 1);
	/* A length beyond the buffer breaks the receive queue. */
	CHECK(host_frame(fd, frame, 100, VIRTQ_NET_RX_BUF_SIZE + 1));
	CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), -EIO);
	CHECK_EQ(virtq_net_recv(net, buf, sizeof(buf), &len), -EIO);
	fake_free(fd);

	/* Never sent. */
	fd = up(&m, &net, legacy, ring, all, 4, 0);
	frame = fake_alloc(fd, 64, 64);
	m.tx_hold = true;
	CHECK_EQ(virtq_net_send_wait(net, frame, 60), -ETIMEDOUT);
	CHECK_EQ(virtq_net_send_wait(net, frame, 60), -EIO);
	fake_free(fd);

	/* Neither MAC nor STATUS offered. */
	fd = up(&m, &net, legacy, ring, 0, 4, 0);
	CHECK_EQ(virtq_net_mac(net, mac), -ENOENT);
	fake_cfg16(fd, 6, 0);
	CHECK_EQ(virtq_net_link_up(net), 1);
	fake_free(fd);
}

int main(void)
{
	const uint64_t ev = VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), ind = VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	struct fake_net m;
	struct virtq_net *net;
	struct fake_dev *fd;

	for (uint32_t legacy = 0; legacy <= 4096; legacy += 4096) {
		run(legacy, 0);
		run(legacy, ev);
		run(legacy, ind);
		run(legacy, ev | ind);
	}
	/* Receive buffers too small for a frame. */
	fd = fake_new(VIRTQ_ID_NET, 0, 0);
	{
		struct virtq_net_config c = { 0 };
		struct virtq_net n;

		c.rx = fake_queue_mem(fd, 8, 0);
		c.tx = fake_queue_mem(fd, 8, 0);
		c.rx_bufs = fake_alloc(fd, 4 * 1024, 64);
		c.rx_buf_size = 12 + VIRTQ_NET_FRAME_MAX - 1;
		c.rx_count = 4;
		CHECK_EQ(virtq_net_init(&n, &fd->t, &c), -EINVAL);
		c.rx_buf_size = 12 + VIRTQ_NET_FRAME_MAX;
		fd->t.device_id = VIRTQ_ID_BLOCK;
		CHECK_EQ(virtq_net_init(&n, &fd->t, &c), -ENODEV);
	}
	fake_free(fd);
	fd = up(&m, &net, 0, 0, 0, 4, 0);
	fake_free(fd);
	printf("drivers-net: ok\n");
	return 0;
}
