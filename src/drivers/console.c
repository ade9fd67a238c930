/* SPDX-License-Identifier: MIT */
/*
 * console.c - virtio-console driver, port 0 (see virtq/drivers/console.h).
 * Freestanding.
 *
 * Receive buffers are identified to the ring by token = index + 1, so a
 * used entry maps back to a buffer without trusting anything the device
 * wrote (the ring has already checked the id and the length).
 */
#include "virtq/drivers/console.h"
#include "drv_internal.h"

#define CON_Q_RX	0
#define CON_Q_TX	1

static char *con_buf(const struct virtq_console *con, uint32_t id)
{
	return con->rx_bufs + (size_t)id * con->rx_buf_size;
}

/* Stage receive buffer @id again (published by the caller's kick). */
static int con_post(struct virtq_console *con, uint32_t id)
{
	struct virtq_sg sg;

	sg.addr = con_buf(con, id);
	sg.len = con->rx_buf_size;
	return virtq_driver_add(con->rxq, NULL, 0, &sg, 1, (void *)(uintptr_t)(id + 1));
}

int virtq_console_init(struct virtq_console *con, struct virtq_transport *t,
		       const struct virtq_console_config *cfg)
{
	uint64_t feat;
	uint32_t i;
	int r;

	if (!con || !t || !cfg)
		return -EINVAL;
	drv_zero(con, sizeof(*con));
	if (!cfg->rx_bufs || !cfg->rx_buf_size || !cfg->rx_count)
		return -EINVAL;
	if (t->device_id != VIRTQ_ID_CONSOLE)
		return -ENODEV;
	con->t = t;
	drv_dma_copy(&con->dma, &cfg->dma);
	drv_wait_copy(&con->wait, &cfg->wait);
	con->rx_bufs = cfg->rx_bufs;
	con->rx_buf_size = cfg->rx_buf_size;
	con->rx_count = cfg->rx_count;
	con->cur = con->rx_count;

	r = virtq_transport_negotiate(t, VIRTQ_FEATURE(VIRTQ_CONSOLE_F_SIZE) |
				      (cfg->ring_features & ~VIRTQ_DEVICE_FEATURES_MASK), &feat);
	if (r)
		return r;
	if (feat & VIRTQ_FEATURE(VIRTQ_CONSOLE_F_SIZE)) {
		r = drv_cfg16(t, 0, &con->cols);
		if (!r)
			r = drv_cfg16(t, 2, &con->rows);
		if (r)
			goto fail;
	}
	r = virtq_queue_setup(t, CON_Q_RX, &cfg->rx, &con->dma, 1, &con->rxq);
	if (r)
		goto fail;
	r = virtq_queue_setup(t, CON_Q_TX, &cfg->tx, &con->dma, 1, &con->txq);
	if (r)
		goto fail;
	r = virtq_transport_driver_ok(t);
	if (r)
		goto fail;
	/* After DRIVER_OK: the device may be notified now. */
	for (i = 0; i < con->rx_count; i++) {
		r = con_post(con, i);
		if (r == -ENOSPC)
			break;			/* the rest wait unused */
		if (r)
			goto fail;
	}
	(void)virtq_driver_kick(con->rxq);
	return 0;
fail:
	virtq_transport_fail(t);
	con->rxq = con->txq = NULL;
	return r;
}

int virtq_console_size(const struct virtq_console *con, uint16_t *cols, uint16_t *rows)
{
	if (!(con->t->features & VIRTQ_FEATURE(VIRTQ_CONSOLE_F_SIZE)))
		return -ENOTSUP;
	*cols = con->cols;
	*rows = con->rows;
	return 0;
}

int virtq_console_write(struct virtq_console *con, const void *buf, uint32_t len)
{
	const char *p = buf;
	struct virtq_sg sg;
	void *tok;
	uint32_t used;
	int r;

	if (!con->txq || con->failed)
		return -EIO;
	while (len) {
		uint32_t piece = len;

		if (con->dma.translate) {
			size_t m = 0;

			if (con->dma.translate(con->dma.opaque, p, len, &m) ==
			    VIRTQ_ADDR_INVALID || m == 0 || m > len)
				return -EFAULT;
			piece = (uint32_t)m;
		}
		sg.addr = (void *)(uintptr_t)p;		/* the device only reads it */
		sg.len = piece;
		r = virtq_driver_add(con->txq, &sg, 1, NULL, 0, (void *)(uintptr_t)p);
		if (r)
			return r == -ENOSPC ? -EIO : r;	/* nothing else is in flight */
		(void)virtq_driver_kick(con->txq);
		r = virtq_queue_wait_used(con->t, con->txq, &con->wait, &tok, &used);
		if (r < 0 || tok != (const void *)p) {
			con->failed = true;
			return r < 0 ? r : -EIO;
		}
		p += piece;
		len -= piece;
	}
	return 0;
}

/*
 * Make sure a receive buffer with bytes left is current: take the next
 * used one if needed (empty ones are reposted).  Returns 1 (con->cur has
 * bytes), 0 (nothing arrived), -EIO.  *@reposted counts reposts.
 */
static int con_next(struct virtq_console *con, bool *reposted)
{
	void *tok;
	uint32_t len, id;
	int r;

	while (con->cur == con->rx_count) {
		r = virtq_driver_get_used(con->rxq, &tok, &len);
		if (r <= 0) {
			if (r < 0)
				con->failed = true;
			return r < 0 ? -EIO : 0;
		}
		id = (uint32_t)((uintptr_t)tok - 1);
		if (id >= con->rx_count) {
			con->failed = true;
			return -EIO;
		}
		if (!len) {
			if (con_post(con, id))
				return -EIO;
			*reposted = true;
			continue;
		}
		drv_invalidate(&con->dma, con_buf(con, id), len);
		con->cur = id;
		con->cur_off = 0;
		con->cur_len = len;	/* <= rx_buf_size: checked by the ring */
	}
	return 1;
}

/* The current buffer is used up: repost it. */
static int con_done(struct virtq_console *con, bool *reposted)
{
	uint32_t id = con->cur;

	con->cur = con->rx_count;
	*reposted = true;
	return con_post(con, id) ? -EIO : 0;
}

int virtq_console_read(struct virtq_console *con, void *buf, uint32_t cap)
{
	char *out = buf;
	bool reposted = false;
	uint32_t n = 0;
	int r = 0;

	if (!con->rxq || con->failed)
		return -EIO;
	while (n < cap) {
		uint32_t k;

		r = con_next(con, &reposted);
		if (r <= 0)
			break;
		k = con->cur_len - con->cur_off;
		if (k > cap - n)
			k = cap - n;
		drv_copy(out + n, con_buf(con, con->cur) + con->cur_off, k);
		n += k;
		con->cur_off += k;
		if (con->cur_off == con->cur_len) {
			r = con_done(con, &reposted);
			if (r)
				break;
		}
	}
	if (reposted)
		(void)virtq_driver_kick(con->rxq);
	if (r < 0)
		return r;
	return (int)n;
}

int virtq_console_interrupt(struct virtq_console *con,
			    void (*rx)(void *opaque, const char *data, uint32_t len),
			    void *opaque, bool *config_changed)
{
	bool reposted = false;
	uint32_t isr, total = 0;
	int r;

	if (!rx)
		return -EINVAL;
	if (!con->rxq || con->failed)
		return -EIO;
	isr = virtq_transport_interrupt_ack(con->t);
	if (config_changed)
		*config_changed = isr & VIRTQ_ISR_CONFIG;
	do {
		virtq_driver_disable_cb(con->rxq);
		while ((r = con_next(con, &reposted)) > 0) {
			uint32_t k = con->cur_len - con->cur_off;

			rx(opaque, con_buf(con, con->cur) + con->cur_off, k);
			total += k;
			r = con_done(con, &reposted);
			if (r)
				break;
		}
		if (r < 0)
			return r;
	} while (!virtq_driver_enable_cb(con->rxq));
	if (reposted)
		(void)virtq_driver_kick(con->rxq);
	return (int)total;
}
