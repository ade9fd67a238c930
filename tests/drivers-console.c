/* SPDX-License-Identifier: MIT */
/*
 * drivers-console: the virtio-console driver (port 0) against our device
 * side, modern and legacy, EVENT_IDX on and off.
 *  - output: what the driver writes arrives in order, byte for byte, also
 *    from buffers the DMA mapping cuts at pages;
 *  - input: receive buffers are posted before any input and reposted once
 *    read, so input keeps arriving long after the first buffers are used
 *    (many times the posted capacity); a read with a small buffer takes a
 *    chunk in parts; empty chunks are reposted; the interrupt harvest hands
 *    chunks over and acknowledges the interrupt (and reports a config
 *    change);
 *  - hostile: a device that claims to have written into output, or more
 *    input than a buffer holds, breaks the queue (-EIO); one that never
 *    takes output is -ETIMEDOUT; SIZE is read from the config.
 */
#include "fake-transport.h"
#include "virtq/drivers/console.h"

struct fake_con {
	char out[1 << 16];
	size_t out_len;
	int64_t tx_len;		/* used length reported for output */
	bool tx_hold;
};

static void con_serve(struct fake_dev *fd, uint16_t qi)
{
	struct fake_con *m = fd->model;
	struct virtq_chain c;
	int r;

	if (qi == 0)
		return;		/* receive buffers wait for input */
	CHECK_EQ(qi, 1);
	if (m->tx_hold)
		return;
	while ((r = fake_pop(fd, 1, &c)) != 0) {
		CHECK_EQ(r, 1);
		CHECK_EQ(c.n_in, 0);
		CHECK(m->out_len + c.out_len <= sizeof(m->out));
		fake_iov_copy(&c, false, 0, m->out + m->out_len, c.out_len, false);
		m->out_len += c.out_len;
		fake_push(fd, 1, c.head, (uint32_t)m->tx_len);
	}
}

/* The host types @len bytes: one receive buffer per chunk of at most @chunk. */
static size_t host_send(struct fake_dev *fd, const char *data, size_t len, size_t chunk,
			int64_t len_override)
{
	struct virtq_chain c;
	size_t done = 0;

	while (done < len) {
		size_t k = len - done;
		int r = fake_pop(fd, 0, &c);

		if (r == 0)
			break;		/* no buffer posted: the host waits */
		CHECK_EQ(r, 1);
		CHECK_EQ(c.n_out, 0);
		if (k > chunk)
			k = chunk;
		if (k > c.in_len)
			k = c.in_len;
		fake_iov_copy(&c, true, 0, (void *)(data + done), k, true);
		fake_push(fd, 0, c.head, len_override >= 0 ? (uint32_t)len_override : (uint32_t)k);
		done += k;
	}
	return done;
}

static struct fake_dev *up(struct fake_con *m, struct virtq_console **con, uint32_t legacy,
			   bool ev, uint32_t nbuf, uint32_t bufsz)
{
	struct fake_dev *fd = fake_new(VIRTQ_ID_CONSOLE,
		VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_CONSOLE_F_SIZE), legacy);
	struct virtq_console_config c = { 0 };

	memset(m, 0, sizeof(*m));
	fd->model = m;
	fd->serve = con_serve;
	fake_cfg16(fd, 0, 80);
	fake_cfg16(fd, 2, 25);
	*con = fake_alloc(fd, sizeof(**con), 64);
	c.rx = fake_queue_mem(fd, 8, 0);
	c.tx = fake_queue_mem(fd, 8, 0);
	c.ring_features = ev ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0;
	c.dma = fake_dma(fd);
	c.wait.poll_max = 1000;
	c.rx_bufs = fake_alloc(fd, nbuf * bufsz, 64);
	c.rx_buf_size = bufsz;
	c.rx_count = nbuf;
	CHECK_EQ(virtq_console_init(*con, &fd->t, &c), 0);
	return fd;
}

static char got[1 << 16];
static size_t got_len;

static void on_rx(void *opaque, const char *data, uint32_t len)
{
	CHECK(opaque == got);
	CHECK(len > 0 && got_len + len <= sizeof(got));
	memcpy(got + got_len, data, len);
	got_len += len;
}

static void run(uint32_t legacy, bool ev)
{
	struct fake_con m;
	struct virtq_console *con;
	struct fake_dev *fd = up(&m, &con, legacy, ev, 4, 16);
	char *text, in[40000], buf[7];
	uint16_t cols = 0, rows = 0;
	size_t i, n, sent;
	bool cfg_changed = true;
	int r;

	CHECK_EQ(virtq_console_size(con, &cols, &rows), 0);
	CHECK_EQ(cols, 80);
	CHECK_EQ(rows, 25);
	/* The four receive buffers were posted at init, before any input. */
	CHECK_EQ(virtq_device_has_avail(fd->q[0].dq), true);

	fake_split_from_here(fd);
	text = (char *)fake_alloc(fd, 9000 + 4000, 4096) + 4000;
	for (i = 0; i < 9000; i++)
		text[i] = (char)('a' + i % 26);
	CHECK_EQ(virtq_console_write(con, "hello, host\n", 12), -EFAULT);	/* .rodata: not in the arena */
	CHECK_EQ(virtq_console_write(con, text, 12), 0);
	CHECK_EQ(virtq_console_write(con, text, 9000), 0);
	CHECK_EQ(m.out_len, 9012);
	CHECK(memcmp(m.out, text, 12) == 0 && memcmp(m.out + 12, text, 9000) == 0);
	CHECK_EQ(virtq_console_write(con, text, 0), 0);

	/* Input: 40000 bytes through 4 buffers of 16, read 7 at a time. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 + (i >> 8));
	sent = n = 0;
	CHECK_EQ(virtq_console_read(con, buf, sizeof(buf)), 0);	/* nothing yet */
	while (n < sizeof(in)) {
		sent += host_send(fd, in + sent, sizeof(in) - sent, 1 + sent % 16, -1);
		r = virtq_console_read(con, buf, sizeof(buf));
		CHECK(r >= 0);
		CHECK(n + (size_t)r <= sent);
		CHECK(memcmp(buf, in + n, (size_t)r) == 0);
		n += (size_t)r;
	}
	CHECK_EQ(sent, sizeof(in));

	/* Empty chunks are reposted, not mistaken for input. */
	CHECK_EQ(host_send(fd, "x", 1, 1, 0), 1);
	CHECK_EQ(virtq_console_read(con, buf, sizeof(buf)), 0);

	/* Interrupt-driven input. */
	got_len = 0;
	sent = host_send(fd, in, 50, 16, -1);
	CHECK_EQ(sent, 50);			/* 4 buffers of 16 posted */
	CHECK(fd->isr & VIRTQ_ISR_QUEUE);
	fd->isr |= VIRTQ_ISR_CONFIG;
	r = virtq_console_interrupt(con, on_rx, got, &cfg_changed);
	CHECK_EQ(r, 50);
	CHECK(cfg_changed);
	CHECK_EQ(fd->isr, 0);
	CHECK(memcmp(got, in, 50) == 0);
	CHECK_EQ(host_send(fd, in, 64, 16, -1), 64);	/* all four were reposted */
	CHECK_EQ(virtq_console_interrupt(con, on_rx, got, NULL), 64);

	/* A device that says it wrote 17 bytes into a 16-byte buffer. */
	CHECK_EQ(host_send(fd, in, 16, 16, 17), 16);
	CHECK_EQ(virtq_console_read(con, buf, sizeof(buf)), -EIO);
	CHECK_EQ(virtq_console_read(con, buf, sizeof(buf)), -EIO);
	fake_free(fd);

	/* Output the device claims to have written into. */
	fd = up(&m, &con, legacy, ev, 2, 8);
	text = fake_alloc(fd, 16, 1);
	m.tx_len = 1;
	CHECK_EQ(virtq_console_write(con, text, 16), -EIO);
	CHECK_EQ(virtq_console_write(con, text, 16), -EIO);
	fake_free(fd);

	/* Output never taken. */
	fd = up(&m, &con, legacy, ev, 2, 8);
	text = fake_alloc(fd, 16, 1);
	m.tx_hold = true;
	CHECK_EQ(virtq_console_write(con, text, 16), -ETIMEDOUT);
	CHECK_EQ(virtq_console_write(con, text, 16), -EIO);
	fake_free(fd);
}

int main(void)
{
	for (uint32_t legacy = 0; legacy <= 4096; legacy += 4096)
		for (int ev = 0; ev < 2; ev++)
			run(legacy, ev);
	printf("drivers-console: ok\n");
	return 0;
}
