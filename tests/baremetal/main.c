/* SPDX-License-Identifier: MIT */
/*
 * main.c - the bare-metal test program: boots with no operating system on
 * a QEMU machine (platform.c), probes every virtio-mmio slot (and the PCIe
 * bus when the platform has one), and drives each device QEMU put there
 * with libvirtq's transports and driver side:
 *
 *   blk      read the host's pattern (several requests in flight), write
 *            the guest pattern (checked by the host in the image after
 *            QEMU exits), flush, read it back;
 *   rng      entropy bytes, twice;
 *   console  print a line the host sees, read the line the host sent;
 *   net      ARP request for 10.0.2.2 on -netdev user, QEMU's reply.
 *
 * The device drivers (virtq/drivers/) do the requests; this program only
 * brings the memory (a static arena), checks the answers and reports.
 * VQT_IRQ=1 builds wait for completions by interrupt (the line enabled at
 * the interrupt controller, the enable_cb recheck, wfi); VQT_IRQ=0 polls.
 * VQT_QS is the queue size asked for.
 * Output lines the host runner reads:
 *   VQT dev=<name> at=<where> features=0x... qs=N irqs=N ok [detail]
 *   VQT-FAIL dev=<name> at=<where>: reason
 *   VQT-DONE devices=N failures=N
 * Exit status 0 when every device passed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt.h"
#include "pattern.h"
#include "virtq/driver.h"
#include "virtq/transport.h"
#include "virtq/drivers/blk.h"
#include "virtq/drivers/rng.h"
#include "virtq/drivers/console.h"
#include "virtq/drivers/net.h"
#include "virtq/transport/mmio.h"
#include "virtq/transport/pci.h"
#include "virtq_errno.h"

#ifndef VQT_IRQ
#define VQT_IRQ 0
#endif
#define WAIT_US		5000000u	/* one completion: 5 s at most */
#ifndef VQT_QS
#define VQT_QS 1024	/* queue size asked for: the device's maximum caps it */
#endif

static unsigned int n_devices, n_failures;
static const char *cur_dev, *cur_at;

/* ---- memory: a bump allocator over a static arena ---------------------- */

static _Alignas(4096) unsigned char arena[6u << 20];
static size_t arena_used;

static void *alloc(size_t size, size_t align)
{
	size_t off = (arena_used + align - 1) & ~(align - 1);

	if (off + size > sizeof arena)
		return NULL;
	arena_used = off + size;
	memset(arena + off, 0, size);
	return arena + off;
}

/* ---- reporting --------------------------------------------------------- */

static int fail(const char *why, int64_t v)
{
	rt_puts("VQT-FAIL dev=");
	rt_puts(cur_dev);
	rt_puts(" at=");
	rt_puts(cur_at);
	rt_puts(": ");
	rt_puts(why);
	rt_puts(" (");
	if (v < 0) {
		rt_puts("-");
		rt_put_dec((uint64_t)-v);
	} else {
		rt_put_hex((uint64_t)v);
	}
	rt_puts(")\n");
	return -1;
}

static void ok(struct virtq_transport *t, uint32_t num, unsigned int irqs,
		  const char *detail)
{
	rt_puts("VQT dev=");
	rt_puts(cur_dev);
	rt_puts(" at=");
	rt_puts(cur_at);
	rt_puts(" features=");
	rt_put_hex(t->features);
	rt_puts(" qs=");
	rt_put_dec(num);
	rt_puts(" irqs=");
	rt_put_dec(irqs);
	rt_puts(" ok");
	if (detail) {
		rt_puts(" ");
		rt_puts(detail);
	}
	rt_puts("\n");
}

#define RING_FEATURES (VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC))

/* ---- the device drivers' memory and wait hook ---------------------------- */

static unsigned int hook_irqs;	/* interrupts that ended a driver's wait */

/* A driver's wait hook: sleep until an interrupt (or 100 ms), never harvest. */
static void irq_wait_hook(void *opaque)
{
	unsigned int irq = rt_irq_wait(100000);

	(void)opaque;
	if (irq) {
		hook_irqs++;
		rt_irq_done(irq);
	}
}

static int queue_mem(struct virtq_transport *t, uint32_t num, struct virtq_queue_mem *m)
{
	m->num = num;
	m->ring_len = virtq_queue_ring_size(num, t);
	m->ring = alloc(m->ring_len, 4096);
	m->state_len = VIRTQ_DRIVER_MEM_SIZE(num);
	m->state = alloc(m->state_len, 64);
	m->indirect_max = 8;
	m->indirect_len = VIRTQ_INDIRECT_SIZE(num, 8);
	m->indirect = alloc(m->indirect_len, 16);
	if (!m->ring || !m->state || !m->indirect)
		return fail("out of memory for a queue", num);
	return 0;
}

static void set_wait(struct virtq_wait *w)
{
	w->wait = VQT_IRQ ? irq_wait_hook : NULL;
	w->opaque = NULL;
	w->poll_max = 0;
}

static void report(struct virtq_transport *t, struct virtq_driver *vq, unsigned int irqs,
		   const char *detail)
{
	ok(t, virtq_driver_size(vq), irqs, detail);
}

/* ---- virtio-blk (drivers/blk.h) ---------------------------------------- */

#define BLK_INFLIGHT	8

/* One completed asynchronous request, waited for by polling or by interrupt. */
static int blk_reap(struct virtq_blk *blk, unsigned int *irqs)
{
	uint64_t deadline = rt_now_us() + WAIT_US;
	struct virtq_blk_req *done;
	unsigned int irq;
	int r;

	for (;;) {
		r = virtq_blk_poll(blk, &done);
		if (r < 0)
			return fail("virtq_blk_poll", r);
		if (r) {
			if (done->result)
				return fail("blk request failed", done->result);
			return 0;
		}
		if (rt_now_us() >= deadline)
			return fail("blk request timed out", 0);
		if (!VQT_IRQ || !virtq_driver_enable_cb(virtq_blk_queue(blk)))
			continue;
		irq = rt_irq_wait(deadline - rt_now_us());
		if (!irq)
			continue;
		if (virtq_transport_interrupt_ack(blk->t) & VIRTQ_ISR_QUEUE)
			(*irqs)++;
		rt_irq_done(irq);
	}
}

static int test_blk(struct virtq_transport *t, unsigned int irq)
{
	static struct virtq_blk blk;
	static struct virtq_blk_req req[BLK_INFLIGHT];
	struct virtq_blk_config cfg = { 0 };
	unsigned int irqs = 0;
	uint8_t *buf;
	uint64_t cap;
	uint32_t s, i, idlen = 0;
	unsigned int n, inflight = 0;
	char id[VIRTQ_BLK_ID_BYTES + 1];
	static char detail[64];
	size_t k;
	int r;

	if (queue_mem(t, VQT_QS, &cfg.queue))
		return -1;
	cfg.ring_features = RING_FEATURES;
	set_wait(&cfg.wait);
	r = virtq_blk_init(&blk, t, &cfg);
	if (r)
		return fail("virtq_blk_init", r);
	if (VQT_IRQ)
		rt_irq_enable(irq);
	hook_irqs = 0;
	cap = virtq_blk_capacity(&blk);
	if (cap < VQT_IMAGE_SECTORS)
		return fail("blk: capacity below the image size", (int64_t)cap);
	buf = alloc(VQT_READ_N * VQT_SECTOR, 16);
	if (!buf)
		return fail("out of memory", 0);

	/*
	 * Interrupt-driven runs: one request with callbacks enabled must
	 * raise the device's line, seen at the interrupt controller, with
	 * the used-buffer bit in the interrupt status.  Deterministic: the
	 * line stays asserted until the status is read, so a completion
	 * that beats the wait still shows.
	 */
	if (VQT_IRQ) {
		unsigned int got;

		virtq_driver_enable_cb(virtq_blk_queue(&blk));
		req[0] = (struct virtq_blk_req){ .type = VIRTQ_BLK_T_IN, .sector = 0, .buf = buf,
						 .len = VQT_SECTOR, .token = &req[0] };
		r = virtq_blk_submit(&blk, &req[0]);
		if (r)
			return fail("virtq_blk_submit", r);
		got = rt_irq_wait(WAIT_US);
		if (got != irq)
			return fail("blk: no interrupt on the device's line; got line", got);
		if (!(virtq_transport_interrupt_ack(t) & VIRTQ_ISR_QUEUE))
			return fail("blk: interrupt without the used-buffer status bit", 0);
		rt_irq_done(got);
		irqs++;
		if (blk_reap(&blk, &irqs))
			return -1;
	}

	/* Read the host's pattern: 8 requests of 8 sectors, as many in flight as fit. */
	for (n = 0; n < BLK_INFLIGHT; ) {
		req[n] = (struct virtq_blk_req){
			.type = VIRTQ_BLK_T_IN, .sector = n * (VQT_READ_N / BLK_INFLIGHT),
			.buf = buf + n * (VQT_READ_N / BLK_INFLIGHT) * VQT_SECTOR,
			.len = VQT_READ_N / BLK_INFLIGHT * VQT_SECTOR, .token = &req[n],
		};
		r = virtq_blk_submit(&blk, &req[n]);
		if (r == -ENOSPC && inflight) {
			if (blk_reap(&blk, &irqs))
				return -1;
			inflight--;
			continue;
		}
		if (r)
			return fail("virtq_blk_submit", r);
		inflight++;
		n++;
	}
	while (inflight--)
		if (blk_reap(&blk, &irqs))
			return -1;
	for (s = 0; s < VQT_READ_N; s++)
		for (i = 0; i < VQT_SECTOR; i++)
			if (buf[s * VQT_SECTOR + i] != vqt_host_byte(s, i))
				return fail("blk: read data is not the host pattern at sector", s);

	/* Write the guest pattern (synchronous, split as seg_max / size_max say), flush, read back. */
	for (s = 0; s < VQT_WRITE_N; s++)
		for (i = 0; i < VQT_SECTOR; i++)
			buf[s * VQT_SECTOR + i] = vqt_guest_byte(VQT_WRITE_FIRST + s, i);
	r = virtq_blk_write(&blk, VQT_WRITE_FIRST, buf, VQT_WRITE_N * VQT_SECTOR);
	if (r)
		return fail("virtq_blk_write", r);
	r = virtq_blk_flush(&blk);
	if (r)
		return fail("virtq_blk_flush", r);
	memset(buf, 0, VQT_WRITE_N * VQT_SECTOR);
	r = virtq_blk_read(&blk, VQT_WRITE_FIRST, buf, VQT_WRITE_N * VQT_SECTOR);
	if (r)
		return fail("virtq_blk_read", r);
	for (s = 0; s < VQT_WRITE_N; s++)
		for (i = 0; i < VQT_SECTOR; i++)
			if (buf[s * VQT_SECTOR + i] != vqt_guest_byte(VQT_WRITE_FIRST + s, i))
				return fail("blk: read-back differs at sector", VQT_WRITE_FIRST + s);
	r = virtq_blk_get_id(&blk, id, &idlen);
	if (r)
		return fail("virtq_blk_get_id", r);
	id[idlen] = 0;

	/* "capacity=N serial=ID" */
	k = 0;
	{
		static const char c[] = "capacity=", sr[] = " serial=";

		for (i = 0; c[i]; i++)
			detail[k++] = c[i];
		k += rt_fmt_dec(detail + k, cap);
		for (i = 0; sr[i]; i++)
			detail[k++] = sr[i];
		for (i = 0; id[i] && k < sizeof detail - 1; i++)
			detail[k++] = id[i];
		detail[k] = 0;
	}
	report(t, virtq_blk_queue(&blk), irqs + hook_irqs, detail);
	return 0;
}

/* ---- virtio-rng (drivers/rng.h) ---------------------------------------- */

static int test_rng(struct virtq_transport *t, unsigned int irq)
{
	static struct virtq_rng rng;
	static uint8_t bytes[2][64];
	struct virtq_rng_config cfg = { 0 };
	unsigned int i, same = 0;
	int r;

	if (queue_mem(t, VQT_QS, &cfg.queue))
		return -1;
	cfg.ring_features = RING_FEATURES;
	set_wait(&cfg.wait);
	r = virtq_rng_init(&rng, t, &cfg);
	if (r)
		return fail("virtq_rng_init", r);
	if (VQT_IRQ)
		rt_irq_enable(irq);
	hook_irqs = 0;
	for (i = 0; i < 2; i++) {
		r = virtq_rng_fill(&rng, bytes[i], sizeof bytes[i]);
		if (r)
			return fail("virtq_rng_fill", r);
	}
	for (i = 0; i < sizeof bytes[0]; i++)
		same += bytes[0][i] == bytes[1][i];
	if (same == sizeof bytes[0])
		return fail("rng: two fills gave the same bytes", same);
	report(t, rng.vq, hook_irqs, NULL);
	return 0;
}

/* ---- virtio-console port 0 (drivers/console.h) -------------------------- */

#define CONSOLE_LINE "VQT-CONSOLE hello from the bare-metal guest\n"

struct line {
	char buf[128];
	unsigned int n;
	bool done;
};

static void line_add(struct line *l, const char *data, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len && !l->done; i++) {
		if (data[i] == '\n' || data[i] == '\r') {
			l->done = l->n > 0;
			continue;
		}
		if (l->n < sizeof l->buf - 1)
			l->buf[l->n++] = data[i];
	}
}

static void con_rx(void *opaque, const char *data, uint32_t len)
{
	line_add(opaque, data, len);
}

static int test_console(struct virtq_transport *t, unsigned int irq)
{
	static struct virtq_console con;
	static const char msg[] = CONSOLE_LINE;
	static struct line l;
	struct virtq_console_config cfg = { 0 };
	uint64_t deadline;
	unsigned int irqs = 0, got;
	char chunk[32];
	int r;

	if (queue_mem(t, VQT_QS, &cfg.rx) || queue_mem(t, VQT_QS, &cfg.tx))
		return -1;
	cfg.ring_features = RING_FEATURES;
	set_wait(&cfg.wait);
	cfg.rx_count = 8;
	cfg.rx_buf_size = 64;
	cfg.rx_bufs = alloc(8 * 64, 16);
	if (!cfg.rx_bufs)
		return fail("out of memory", 0);
	r = virtq_console_init(&con, t, &cfg);
	if (r)
		return fail("virtq_console_init", r);
	if (VQT_IRQ)
		rt_irq_enable(irq);
	hook_irqs = 0;
	r = virtq_console_write(&con, msg, sizeof msg - 1);
	if (r)
		return fail("virtq_console_write", r);
	/* The host's line: polled with console_read, or harvested after each interrupt. */
	deadline = rt_now_us() + WAIT_US;
	l.n = 0;
	l.done = false;
	while (!l.done) {
		if (rt_now_us() >= deadline)
			return fail("console: no line from the host; bytes", l.n);
		if (!VQT_IRQ) {
			r = virtq_console_read(&con, chunk, sizeof chunk);
			if (r < 0)
				return fail("virtq_console_read", r);
			line_add(&l, chunk, (uint32_t)r);
			continue;
		}
		r = virtq_console_interrupt(&con, con_rx, &l, NULL);
		if (r < 0)
			return fail("virtq_console_interrupt", r);
		if (l.done)
			break;
		got = rt_irq_wait(deadline - rt_now_us());
		if (got) {
			irqs++;
			rt_irq_done(got);
		}
	}
	l.buf[l.n] = 0;
	rt_puts("VQT console-rx: ");
	rt_puts(l.buf);
	rt_puts("\n");
	report(t, con.rxq, irqs + hook_irqs, NULL);
	return 0;
}

/* ---- virtio-net (drivers/net.h) ---------------------------------------- */

#define NET_RX_BUFS	16

struct arp_wait {
	uint8_t mac[6];
	uint8_t gw_mac[6];
	unsigned int frames;
	bool done;
};

static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 };

/* Is @f QEMU's gateway answering our ARP request? */
static void arp_check(struct arp_wait *w, const uint8_t *f, uint32_t len)
{
	w->frames++;
	if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 &&
	    !memcmp(f + 28, gw_ip, 4) && !memcmp(f + 32, w->mac, 6) &&
	    !memcmp(f + 38, my_ip, 4)) {
		memcpy(w->gw_mac, f + 22, 6);
		w->done = true;
	}
}

static void net_rx(void *opaque, const void *frame, uint32_t len)
{
	arp_check(opaque, frame, len);
}

static int test_net(struct virtq_transport *t, unsigned int irq)
{
	static struct virtq_net net;
	static uint8_t arp[60], frame[VIRTQ_NET_FRAME_MAX];
	static struct arp_wait w;
	static char d[40] = "gw-mac=";
	struct virtq_net_config cfg = { 0 };
	uint64_t deadline;
	unsigned int i, k, irqs = 0, got;
	uint32_t len;
	int r;

	if (queue_mem(t, VQT_QS, &cfg.rx) || queue_mem(t, VQT_QS, &cfg.tx))
		return -1;
	cfg.ring_features = RING_FEATURES;
	set_wait(&cfg.wait);
	cfg.rx_count = NET_RX_BUFS;
	cfg.rx_buf_size = VIRTQ_NET_RX_BUF_SIZE;
	cfg.rx_bufs = alloc(NET_RX_BUFS * VIRTQ_NET_RX_BUF_SIZE, 16);
	if (!cfg.rx_bufs)
		return fail("out of memory", 0);
	r = virtq_net_init(&net, t, &cfg);
	if (r)
		return fail("virtq_net_init", r);
	if (VQT_IRQ)
		rt_irq_enable(irq);
	hook_irqs = 0;
	r = virtq_net_mac(&net, w.mac);
	if (r)
		return fail("virtq_net_mac", r);
	r = virtq_net_link_up(&net);
	if (r != 1)
		return fail("net: link not up", r);
	/* ARP who-has 10.0.2.2 tell 10.0.2.15, broadcast. */
	memset(arp, 0, sizeof arp);
	memset(arp, 0xff, 6);
	memcpy(arp + 6, w.mac, 6);
	arp[12] = 0x08; arp[13] = 0x06;
	arp[15] = 1; arp[16] = 0x08; arp[18] = 6; arp[19] = 4;
	arp[21] = 1;
	memcpy(arp + 22, w.mac, 6);
	memcpy(arp + 28, my_ip, 4);
	memcpy(arp + 38, gw_ip, 4);
	r = virtq_net_send_wait(&net, arp, sizeof arp);
	if (r)
		return fail("virtq_net_send_wait", r);
	deadline = rt_now_us() + WAIT_US;
	w.frames = 0;
	w.done = false;
	while (!w.done) {
		if (rt_now_us() >= deadline)
			return fail("net: no ARP reply from 10.0.2.2; frames seen", w.frames);
		if (!VQT_IRQ) {
			r = virtq_net_recv(&net, frame, sizeof frame, &len);
			if (r < 0)
				return fail("virtq_net_recv", r);
			if (r)
				arp_check(&w, frame, len);
			continue;
		}
		r = virtq_net_interrupt(&net, net_rx, NULL, &w, NULL);
		if (r < 0)
			return fail("virtq_net_interrupt", r);
		if (w.done)
			break;
		got = rt_irq_wait(deadline - rt_now_us());
		if (got) {
			irqs++;
			rt_irq_done(got);
		}
	}
	for (i = 0, k = 7; i < 6; i++) {
		d[k++] = "0123456789abcdef"[w.gw_mac[i] >> 4];
		d[k++] = "0123456789abcdef"[w.gw_mac[i] & 15];
		if (i < 5)
			d[k++] = ':';
	}
	d[k] = 0;
	report(t, net.rxq, irqs + hook_irqs, d);
	return 0;
}

/* ---- probe ------------------------------------------------------------- */

static void run_device(struct virtq_transport *t, unsigned int irq)
{
	int r;

	n_devices++;
	switch (t->device_id) {
	case VIRTQ_ID_BLOCK:   cur_dev = "blk";     r = test_blk(t, irq); break;
	case VIRTQ_ID_RNG:     cur_dev = "rng";     r = test_rng(t, irq); break;
	case VIRTQ_ID_CONSOLE: cur_dev = "console"; r = test_console(t, irq); break;
	case VIRTQ_ID_NET:     cur_dev = "net";     r = test_net(t, irq); break;
	default:
		n_devices--;
		return;
	}
	if (r)
		n_failures++;
	/* Leave the device quiet: reset it (polls bounded), mask its line. */
	t->ops->reset(t);
	if (VQT_IRQ)
		rt_irq_disable(irq);
}

static void probe_mmio(void)
{
	static struct virtq_mmio m[32];
	static char at[32][24];
	unsigned int i;
	int r;

	for (i = 0; i < rt_platform.n_mmio && i < 32; i++) {
		r = virtq_mmio_probe(&m[i], rt_platform.mmio[i].base, NULL);
		if (r == -ENOENT)
			continue;
		cur_dev = "?";
		cur_at = "mmio";
		if (r) {
			fail("virtio-mmio probe", r);
			n_failures++;
			continue;
		}
		/* at=mmio-vN@base */
		{
			char *p = at[i];
			uintptr_t b = rt_platform.mmio[i].base;
			int sh;

			memcpy(p, "mmio-v", 6);
			p += 6;
			*p++ = (char)('0' + m[i].version);
			*p++ = '@';
			for (sh = 28; sh >= 0; sh -= 4)
				*p++ = "0123456789abcdef"[(b >> sh) & 15];
			*p = 0;
		}
		cur_at = at[i];
		run_device(&m[i].t, rt_platform.mmio[i].irq);
	}
}

static void probe_pci(void)
{
	static struct virtq_pci p[8];
	static char at[8][40];
	static struct virtq_pci_ecam ecam;
	const struct virtq_pci_cfg_io *cfg;
	struct virtq_pci_bar_window win;
	unsigned int dev, n = 0;
	int r;

	if (rt_platform.pci_cfg) {
		cfg = rt_platform.pci_cfg;
	} else if (rt_platform.ecam) {
		virtq_pci_ecam_init(&ecam, rt_platform.ecam);
		cfg = virtq_pci_ecam_io(&ecam);
	} else {
		return;
	}
	virtq_pci_bar_window_init(&win, rt_platform.pci_mmio32, rt_platform.pci_mmio32_size);
	if (rt_platform.pci_mmio64_size)
		virtq_pci_bar_window_add64(&win, rt_platform.pci_mmio64, rt_platform.pci_mmio64_size);
	for (dev = 0; dev < 32 && n < 8; dev++) {
		r = virtq_pci_probe(&p[n], cfg, NULL, 0, (uint8_t)dev, 0, &win);
		if (r == -ENOENT || r == -ENODEV)	/* empty slot, or the host bridge */
			continue;
		cur_dev = "?";
		cur_at = "pci";
		if (r) {
			fail("virtio-pci probe", r);
			n_failures++;
			continue;
		}
		/* at=pci@00:DD.0/<common config address>: where probe put the BAR */
		{
			char *c = at[n] + 11;
			int sh;

			memcpy(at[n], "pci@00:00.0", 11);
			at[n][7] = "0123456789abcdef"[dev >> 4];
			at[n][8] = "0123456789abcdef"[dev & 15];
			*c++ = '/';
			*c++ = '0';
			*c++ = 'x';
			for (sh = 60; sh > 0 && !(p[n].common.addr >> sh); sh -= 4)
				;
			for (; sh >= 0; sh -= 4)
				*c++ = "0123456789abcdef"[(p[n].common.addr >> sh) & 15];
			*c = 0;
		}
		cur_at = at[n];
		/* INTx: the virt machines swizzle INTA of slot d to line base + d % 4. */
		run_device(&p[n].t, rt_platform.pci_irq_base + (dev + p[n].irq_pin - 1) % 4);
		n++;
	}
}

int main(void);
int main(void)
{
	uint64_t t0 = rt_now_us();

	rt_puts("VQT-BOOT ");
	rt_puts(rt_platform.name);
	rt_puts(VQT_IRQ ? " irq\n" : " polled\n");
	if (VQT_IRQ)
		rt_irq_init();
	probe_mmio();
	probe_pci();
	rt_puts("VQT-DONE devices=");
	rt_put_dec(n_devices);
	rt_puts(" failures=");
	rt_put_dec(n_failures);
	rt_puts(" us=");
	rt_put_dec(rt_now_us() - t0);
	rt_puts("\n");
	rt_exit(n_failures || !n_devices ? 1 : 0);
}
