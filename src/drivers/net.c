/* SPDX-License-Identifier: MIT */
/*
 * net.c - virtio-net driver (see virtq/drivers/net.h).  Freestanding.
 *
 * Each frame is two descriptors, header then frame, on both queues: that
 * layout is right for legacy devices without ANY_LAYOUT as well as for
 * VERSION_1 ones.  All transmitted headers are the same zero header (no
 * offload was negotiated), so one copy in struct virtq_net serves every
 * frame in flight.  Receive buffers are known to the ring by token =
 * index + 1; the ring checks ids and lengths before they get here.
 */
#include "virtq/drivers/net.h"
#include "drv_internal.h"

#define NET_Q_RX	0
#define NET_Q_TX	1

#define NET_CFG_MAC	0
#define NET_CFG_STATUS	6

static bool net_has(const struct virtq_net *net, uint64_t bit)
{
	return net->t->features & bit;
}

static char *net_buf(const struct virtq_net *net, uint32_t id)
{
	return net->rx_bufs + (size_t)id * net->rx_buf_size;
}

static int net_post(struct virtq_net *net, uint32_t id)
{
	struct virtq_sg sg[2];

	sg[0].addr = net_buf(net, id);
	sg[0].len = net->hdr_len;
	sg[1].addr = net_buf(net, id) + net->hdr_len;
	sg[1].len = net->rx_buf_size - net->hdr_len;
	return virtq_driver_add(net->rxq, NULL, 0, sg, 2, (void *)(uintptr_t)(id + 1));
}

int virtq_net_init(struct virtq_net *net, struct virtq_transport *t,
		   const struct virtq_net_config *cfg)
{
	uint64_t want;
	uint32_t i;
	int r;

	if (!net || !t || !cfg)
		return -EINVAL;
	drv_zero(net, sizeof(*net));
	if (t->device_id != VIRTQ_ID_NET)
		return -ENODEV;
	net->hdr_len = t->legacy_align ? 10 : VIRTQ_NET_HDR_LEN;
	if (!cfg->rx_bufs || !cfg->rx_count ||
	    cfg->rx_buf_size < net->hdr_len + VIRTQ_NET_FRAME_MAX)
		return -EINVAL;
	net->t = t;
	drv_dma_copy(&net->dma, &cfg->dma);
	drv_wait_copy(&net->wait, &cfg->wait);
	net->rx_bufs = cfg->rx_bufs;
	net->rx_buf_size = cfg->rx_buf_size;
	net->rx_count = cfg->rx_count;
	net->lent = net->rx_count;

	want = ((VIRTQ_FEATURE(VIRTQ_NET_F_MAC) | VIRTQ_FEATURE(VIRTQ_NET_F_STATUS)) &
		~cfg->no_device_features) |
	       (cfg->ring_features & ~VIRTQ_DEVICE_FEATURES_MASK);
	r = virtq_transport_negotiate(t, want, NULL);
	if (r)
		return r;
	if (net_has(net, VIRTQ_FEATURE(VIRTQ_NET_F_MAC))) {
		r = virtq_transport_config_read(t, NET_CFG_MAC, net->mac, 6);
		if (r)
			goto fail;
	}
	r = virtq_queue_setup(t, NET_Q_RX, &cfg->rx, &net->dma, 2, &net->rxq);
	if (r)
		goto fail;
	r = virtq_queue_setup(t, NET_Q_TX, &cfg->tx, &net->dma, 2, &net->txq);
	if (r)
		goto fail;
	r = virtq_transport_driver_ok(t);
	if (r)
		goto fail;
	for (i = 0; i < net->rx_count; i++) {
		r = net_post(net, i);
		if (r == -ENOSPC)
			break;			/* the rest wait unused */
		if (r)
			goto fail;
	}
	(void)virtq_driver_kick(net->rxq);
	return 0;
fail:
	virtq_transport_fail(t);
	net->rxq = net->txq = NULL;
	return r;
}

int virtq_net_mac(const struct virtq_net *net, uint8_t mac[6])
{
	uint32_t i;

	if (!net->t || !net_has(net, VIRTQ_FEATURE(VIRTQ_NET_F_MAC)))
		return -ENOENT;
	for (i = 0; i < 6; i++)
		mac[i] = net->mac[i];
	return 0;
}

int virtq_net_link_up(struct virtq_net *net)
{
	uint16_t st;
	int r;

	if (!net_has(net, VIRTQ_FEATURE(VIRTQ_NET_F_STATUS)))
		return 1;
	r = drv_cfg16(net->t, NET_CFG_STATUS, &st);
	if (r)
		return r;
	return st & VIRTQ_NET_S_LINK_UP ? 1 : 0;	/* other bits: not ours */
}

uint32_t virtq_net_hdr_len(const struct virtq_net *net)
{
	return net->hdr_len;
}

int virtq_net_send(struct virtq_net *net, const void *frame, uint32_t len, void *token)
{
	struct virtq_sg sg[2];
	int r;

	if (!net->txq || net->failed)
		return -EIO;
	if (!token || len < VIRTQ_NET_ETH_HLEN || len > VIRTQ_NET_FRAME_MAX)
		return -EINVAL;
	sg[0].addr = net->tx_hdr;
	sg[0].len = net->hdr_len;
	sg[1].addr = (void *)(uintptr_t)frame;	/* the device only reads it */
	sg[1].len = len;
	r = virtq_driver_add(net->txq, sg, 2, NULL, 0, token);
	if (r)
		return r;
	(void)virtq_driver_kick(net->txq);
	net->tx_outstanding++;
	return 0;
}

int virtq_net_tx_reclaim(struct virtq_net *net, void **token)
{
	int r;

	if (!net->txq || net->failed)
		return -EIO;
	/* Used length: the ring allows none (nothing writable). */
	r = virtq_driver_get_used(net->txq, token, NULL);
	if (r < 0) {
		net->failed = true;
		return -EIO;
	}
	if (r)
		net->tx_outstanding--;
	return r;
}

int virtq_net_send_wait(struct virtq_net *net, const void *frame, uint32_t len)
{
	void *tok = NULL;
	int r;

	if (!net->txq || net->failed)
		return -EIO;
	if (net->tx_outstanding)
		return -EBUSY;
	r = virtq_net_send(net, frame, len, (void *)(uintptr_t)frame);
	if (r)
		return r;
	r = virtq_queue_wait_used(net->t, net->txq, &net->wait, &tok, NULL);
	if (r < 0 || tok != frame) {
		net->failed = true;
		return r < 0 ? r : -EIO;
	}
	net->tx_outstanding--;
	return 0;
}

/* The next used receive buffer: 1 (id, frame length), 0, -EPROTO, -EIO. */
static int net_take(struct virtq_net *net, uint32_t *id, uint32_t *flen)
{
	void *tok;
	uint32_t len, i;
	int r;

	r = virtq_driver_get_used(net->rxq, &tok, &len);
	if (r <= 0) {
		if (r < 0)
			net->failed = true;
		return r < 0 ? -EIO : 0;
	}
	i = (uint32_t)((uintptr_t)tok - 1);
	if (i >= net->rx_count) {
		net->failed = true;
		return -EIO;
	}
	/* len <= rx_buf_size: the ring checked it. */
	if (len < net->hdr_len + VIRTQ_NET_ETH_HLEN) {
		net->rx_bad++;
		if (net_post(net, i)) {
			net->failed = true;
			return -EIO;
		}
		(void)virtq_driver_kick(net->rxq);
		return -EPROTO;
	}
	drv_invalidate(&net->dma, net_buf(net, i), len);
	/* The header's flags / gso fields are not ours to act on: no offloads. */
	*id = i;
	*flen = len - net->hdr_len;
	return 1;
}

int virtq_net_rx_get(struct virtq_net *net, void **frame, uint32_t *len, uint32_t *id)
{
	int r;

	if (!net->rxq || net->failed)
		return -EIO;
	if (net->lent != net->rx_count)
		return -EBUSY;
	r = net_take(net, id, len);
	if (r <= 0)
		return r;
	net->lent = *id;
	*frame = net_buf(net, *id) + net->hdr_len;
	return 1;
}

int virtq_net_rx_put(struct virtq_net *net, uint32_t id)
{
	if (!net->rxq || net->failed)
		return -EIO;
	if (id >= net->rx_count || id != net->lent)
		return -EINVAL;
	net->lent = net->rx_count;
	if (net_post(net, id)) {
		net->failed = true;
		return -EIO;
	}
	(void)virtq_driver_kick(net->rxq);
	return 0;
}

int virtq_net_recv(struct virtq_net *net, void *buf, uint32_t cap, uint32_t *len)
{
	void *frame;
	uint32_t n, id;
	int r;

	r = virtq_net_rx_get(net, &frame, &n, &id);
	if (r <= 0)
		return r;
	if (n <= cap)
		drv_copy(buf, frame, n);
	r = virtq_net_rx_put(net, id);
	if (r)
		return r;
	if (n > cap)
		return -EMSGSIZE;
	*len = n;
	return 1;
}

int virtq_net_interrupt(struct virtq_net *net,
			void (*rx)(void *opaque, const void *frame, uint32_t len),
			void (*tx_done)(void *opaque, void *token),
			void *opaque, bool *config_changed)
{
	uint32_t isr, id, len;
	void *tok;
	int n = 0, r;

	if (!rx)
		return -EINVAL;
	if (!net->rxq || net->failed)
		return -EIO;
	isr = virtq_transport_interrupt_ack(net->t);
	if (config_changed)
		*config_changed = isr & VIRTQ_ISR_CONFIG;
	if (tx_done) {
		do {
			virtq_driver_disable_cb(net->txq);
			while ((r = virtq_net_tx_reclaim(net, &tok)) > 0)
				tx_done(opaque, tok);
			if (r < 0)
				return r;
		} while (!virtq_driver_enable_cb(net->txq));
	}
	if (net->lent != net->rx_count)
		return -EBUSY;		/* rx_get's frame must come back first */
	do {
		virtq_driver_disable_cb(net->rxq);
		while ((r = net_take(net, &id, &len)) != 0) {
			if (r == -EPROTO)
				continue;	/* reposted, counted */
			if (r < 0)
				return r;
			rx(opaque, net_buf(net, id) + net->hdr_len, len);
			n++;
			if (net_post(net, id)) {
				net->failed = true;
				return -EIO;
			}
		}
	} while (!virtq_driver_enable_cb(net->rxq));
	(void)virtq_driver_kick(net->rxq);
	return n;
}
