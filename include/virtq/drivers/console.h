/* SPDX-License-Identifier: MIT */
/*
 * drivers/console.h - a virtio-console driver for port 0 on a transport
 * (VIRTIO 1.x 5.3; no MULTIPORT: receiveq0 is queue 0, transmitq0 queue 1).
 * Freestanding; owns no memory (drivers/queue.h).
 *
 *	static struct virtq_console con;
 *	static VIRTQ_QUEUE_STORAGE(8) rxq, txq;
 *	static char rxbuf[4][64];			// device-reachable
 *	struct virtq_console_config c = {
 *		.rx = VIRTQ_QUEUE_MEM(rxq, 8), .tx = VIRTQ_QUEUE_MEM(txq, 8),
 *		.rx_bufs = rxbuf, .rx_buf_size = 64, .rx_count = 4 };
 *	r = virtq_console_init(&con, transport, &c);	// posts the rx buffers
 *	r = virtq_console_write(&con, "hello\n", 6);
 *	n = virtq_console_read(&con, line, sizeof line);	// what has arrived, 0 if none
 *
 * Input: every receive buffer is posted at init and reposted as soon as
 * its bytes have been handed over.  Take input either with
 * virtq_console_read (polling) or with virtq_console_interrupt (from the
 * interrupt handler), not both.
 *
 * One struct virtq_console is used by one thread at a time.  Errors are
 * -errno.
 */
#ifndef VIRTQ_DRIVERS_CONSOLE_H
#define VIRTQ_DRIVERS_CONSOLE_H

#include <virtq/drivers/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_CONSOLE_F_SIZE	0

struct virtq_console_config {
	struct virtq_queue_mem rx;	/* receiveq0 (queue 0) */
	struct virtq_queue_mem tx;	/* transmitq0 (queue 1) */
	uint64_t ring_features;		/* EVENT_IDX, INDIRECT_DESC... as allowed */
	struct virtq_dma dma;
	struct virtq_wait wait;		/* for write */
	/*
	 * Receive buffers, device-writable: @rx_count buffers of
	 * @rx_buf_size bytes, one after the other.  At most the receive
	 * queue's size of them are used.
	 */
	void *rx_bufs;
	uint32_t rx_buf_size;
	uint32_t rx_count;
};

/* The driver's state (fields private). */
struct virtq_console {
	struct virtq_transport *t;
	struct virtq_driver *rxq, *txq;
	struct virtq_dma dma;
	struct virtq_wait wait;
	char *rx_bufs;
	uint32_t rx_buf_size, rx_count;
	uint32_t cur;		/* buffer being handed over, or rx_count: none */
	uint32_t cur_off, cur_len;
	uint16_t cols, rows;
	bool failed;
};

/*
 * Bring up the console behind @t: negotiate (SIZE if offered), set up
 * queues 0 and 1, DRIVER_OK, post the receive buffers.  Returns 0, or
 * -EINVAL (NULL argument, no receive buffers), -ENODEV (not a console, or
 * modern without VERSION_1), -ETIMEDOUT, -ENOTSUP (FEATURES_OK refused),
 * -ERANGE / -EAGAIN (config unreadable), the errors of virtq_queue_setup
 * (-ENOENT, -EBUSY, -EINVAL, -EFAULT, -ERANGE), -EFAULT (a receive buffer
 * unreachable), -EIO (NEEDS_RESET or FAILED at DRIVER_OK).  On failure
 * after the reset, FAILED is set.
 */
int virtq_console_init(struct virtq_console *con, struct virtq_transport *t,
		       const struct virtq_console_config *cfg);

/*
 * Write @len bytes of @buf (device-reachable) to port 0 and wait until the
 * device has taken them (as cfg->wait says).  Returns 0, or -EFAULT
 * (unreachable), -ETIMEDOUT (not taken in time; later calls are -EIO),
 * -EIO (queue broken: e.g. the device claims it wrote into the output).
 */
int virtq_console_write(struct virtq_console *con, const void *buf, uint32_t len);

/*
 * Copy up to @cap bytes of input that has arrived into @buf (any memory),
 * reposting each receive buffer once emptied.  Never waits.  Returns the
 * byte count (0: nothing yet), or -EIO (queue broken).
 */
int virtq_console_read(struct virtq_console *con, void *buf, uint32_t cap);

/*
 * From the interrupt handler: acknowledge, then hand every received chunk
 * to @rx (@data lies in a receive buffer, valid during the call; reposted
 * after it), with the disable / harvest / enable-and-recheck loop.  Also
 * reports a configuration change by *@config_changed (may be NULL).
 * Returns the number of bytes handed over, or -EINVAL (@rx NULL), -EIO.
 */
int virtq_console_interrupt(struct virtq_console *con,
			    void (*rx)(void *opaque, const char *data, uint32_t len),
			    void *opaque, bool *config_changed);

/* Columns and rows if the device offered SIZE (read at init): 0 or -ENOTSUP. */
int virtq_console_size(const struct virtq_console *con, uint16_t *cols, uint16_t *rows);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_DRIVERS_CONSOLE_H */
