/* SPDX-License-Identifier: MIT */
/*
 * drivers/net.h - a virtio-net driver on a transport (VIRTIO 1.x 5.1):
 * raw Ethernet frames out and in, one queue pair (receiveq 0,
 * transmitq 1), no offloads, no control queue, mergeable buffers off.
 * Every frame carries a struct virtio_net_hdr: 12 bytes with VERSION_1,
 * 10 on a legacy device; the driver fills and strips it.  Freestanding;
 * owns no memory (drivers/queue.h).
 *
 *	static struct virtq_net net;
 *	static VIRTQ_QUEUE_STORAGE(16) rxq, txq;
 *	static char rxbuf[16][VIRTQ_NET_RX_BUF_SIZE];		// device-reachable
 *	struct virtq_net_config c = {
 *		.rx = VIRTQ_QUEUE_MEM(rxq, 16), .tx = VIRTQ_QUEUE_MEM(txq, 16),
 *		.rx_bufs = rxbuf, .rx_buf_size = VIRTQ_NET_RX_BUF_SIZE, .rx_count = 16 };
 *	r = virtq_net_init(&net, transport, &c);	// posts the receive buffers
 *	virtq_net_mac(&net, mac);
 *	r = virtq_net_send_wait(&net, frame, len);	// frame: device-reachable
 *	r = virtq_net_recv(&net, buf, sizeof buf, &len);	// 1: a frame, 0: none
 *
 * Receive buffers are all posted at init, and each is reposted as soon as
 * the caller is done with its frame (virtq_net_recv copies and reposts;
 * virtq_net_rx_get / virtq_net_rx_put lend the frame in place).
 *
 * One struct virtq_net is used by one thread at a time.  Errors are -errno.
 */
#ifndef VIRTQ_DRIVERS_NET_H
#define VIRTQ_DRIVERS_NET_H

#include <virtq/drivers/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_NET_F_MAC		5
#define VIRTQ_NET_F_MRG_RXBUF	15	/* never negotiated */
#define VIRTQ_NET_F_STATUS	16

#define VIRTQ_NET_S_LINK_UP	1u

#define VIRTQ_NET_HDR_LEN	12u	/* with VERSION_1 (10 legacy) */
#define VIRTQ_NET_ETH_HLEN	14u
#define VIRTQ_NET_FRAME_MAX	1518u	/* 1500 payload + 14 header + a VLAN tag */
/* A receive buffer that holds any frame with its header (rounded up). */
#define VIRTQ_NET_RX_BUF_SIZE	1536u

struct virtq_net_config {
	struct virtq_queue_mem rx;	/* receiveq1 (queue 0) */
	struct virtq_queue_mem tx;	/* transmitq1 (queue 1): 2 descriptors per frame */
	uint64_t ring_features;		/* EVENT_IDX, INDIRECT_DESC... as allowed */
	uint64_t no_device_features;	/* VIRTQ_NET_F_MAC, _STATUS to refuse */
	struct virtq_dma dma;
	struct virtq_wait wait;		/* for send_wait */
	/*
	 * Receive buffers, device-writable: @rx_count of @rx_buf_size bytes
	 * (at least header + VIRTQ_NET_FRAME_MAX, e.g. VIRTQ_NET_RX_BUF_SIZE),
	 * one after the other.  At most the receive queue's size are used.
	 */
	void *rx_bufs;
	uint32_t rx_buf_size;
	uint32_t rx_count;
};

/* The driver's state (fields private).  tx_hdr is device-readable. */
struct virtq_net {
	struct virtq_transport *t;
	struct virtq_driver *rxq, *txq;
	struct virtq_dma dma;
	struct virtq_wait wait;
	char *rx_bufs;
	uint32_t rx_buf_size, rx_count;
	uint32_t hdr_len;
	uint32_t tx_outstanding;
	uint32_t rx_bad;	/* buffers returned with less than a frame */
	uint32_t lent;		/* buffer lent by rx_get, or rx_count: none */
	uint8_t mac[6];
	bool failed;
	uint8_t tx_hdr[VIRTQ_NET_HDR_LEN];	/* all zero: no offload asked */
};

/*
 * Bring up the network device behind @t: negotiate (MAC and STATUS if
 * offered and not refused; never offloads or MRG_RXBUF), read the MAC, set
 * up queues 0 and 1, DRIVER_OK, post the receive buffers.  Returns 0, or
 * -EINVAL (NULL argument, no receive buffers, buffers smaller than header
 * + VIRTQ_NET_FRAME_MAX), -ENODEV (not a network device, or modern
 * without VERSION_1), -ETIMEDOUT, -ENOTSUP (FEATURES_OK refused), -ERANGE
 * / -EAGAIN (config unreadable), the errors of virtq_queue_setup
 * (-ENOENT, -EBUSY, -ENOSPC: a transmit queue under 2 entries, -EINVAL,
 * -EFAULT, -ERANGE), -EFAULT (a receive buffer unreachable), -EIO
 * (NEEDS_RESET or FAILED at DRIVER_OK).  On failure after the reset,
 * FAILED is set.
 */
int virtq_net_init(struct virtq_net *net, struct virtq_transport *t,
		   const struct virtq_net_config *cfg);

/* The MAC from the config space: 0, or -ENOENT (VIRTQ_NET_F_MAC not negotiated). */
int virtq_net_mac(const struct virtq_net *net, uint8_t mac[6]);

/*
 * Link status, read now: 1 up, 0 down; without VIRTQ_NET_F_STATUS the
 * link is up (1).  Returns -ERANGE / -EAGAIN if the config is unreadable.
 */
int virtq_net_link_up(struct virtq_net *net);

/* Bytes of virtio_net_hdr on this device (12, or 10 legacy). */
uint32_t virtq_net_hdr_len(const struct virtq_net *net);

/*
 * Queue @frame (@len bytes: an Ethernet frame without FCS, device-reachable,
 * untouched until it comes back) for sending, with @token (not NULL).
 * Returns 0, or -EINVAL (token NULL, len below 14 or above
 * VIRTQ_NET_FRAME_MAX), -ENOSPC (transmit queue full: reclaim), -EFAULT,
 * -EIO (broken).
 */
int virtq_net_send(struct virtq_net *net, const void *frame, uint32_t len, void *token);

/* Take back one sent frame's token: 1, 0 (none), -EIO (broken). */
int virtq_net_tx_reclaim(struct virtq_net *net, void **token);

/*
 * Send and wait until the device has taken the frame (cfg->wait).
 * Returns 0, the errors of virtq_net_send (-EINVAL, -ENOSPC, -EFAULT,
 * -EIO), -EBUSY (frames sent with virtq_net_send still outstanding),
 * -ETIMEDOUT (not taken in time; later calls are -EIO).
 */
int virtq_net_send_wait(struct virtq_net *net, const void *frame, uint32_t len);

/*
 * Lend out the next received frame: 1 with *@frame (inside a receive
 * buffer, past the header), *@len and *@id, until virtq_net_rx_put(@id);
 * 0 if none; -EBUSY (a frame is lent already: one at a time); -EPROTO if
 * the device returned a buffer holding less than a header and an
 * Ethernet header (reposted; call again); -EIO (broken).
 */
int virtq_net_rx_get(struct virtq_net *net, void **frame, uint32_t *len, uint32_t *id);

/* Give receive buffer @id back to the device.  0, -EINVAL (not lent), -EIO. */
int virtq_net_rx_put(struct virtq_net *net, uint32_t id);

/*
 * Copy the next received frame into @buf (any memory) and repost its
 * buffer.  Returns 1 with *@len, 0 if none, -EMSGSIZE (the frame is
 * longer than @cap: dropped), -EBUSY, -EPROTO, -EIO as rx_get.
 */
int virtq_net_recv(struct virtq_net *net, void *buf, uint32_t cap, uint32_t *len);

/*
 * From the interrupt handler: acknowledge; hand each sent frame's token
 * to @tx_done (NULL: leave them for tx_reclaim) and each received frame
 * to @rx (valid during the call, reposted after it), with the disable /
 * harvest / enable-and-recheck loop on each queue.  *@config_changed (may
 * be NULL) reports a configuration change (e.g. link status).  Returns
 * the number of frames received, or -EINVAL (@rx NULL), -EBUSY (a frame
 * from rx_get is still lent: nothing received was harvested), -EIO.  Short
 * buffers (what rx_get reports as EPROTO) are reposted and counted in
 * net->rx_bad.
 */
int virtq_net_interrupt(struct virtq_net *net,
			void (*rx)(void *opaque, const void *frame, uint32_t len),
			void (*tx_done)(void *opaque, void *token),
			void *opaque, bool *config_changed);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVERS_NET_H */
