/* SPDX-License-Identifier: MIT */
/*
 * pci.c - the virtio-pci modern transport (see virtq/transport/pci.h).
 * Freestanding.
 *
 * Configuration space goes through p->cfg, BAR memory through p->mem or
 * the volatile accessors of transport/mmio.h.  Nothing waits without bound.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/transport/mmio.h"
#include "virtq/transport/pci.h"
#include "virtq_errno.h"
#include "transport/config_space.h"

/* PCI configuration header (type 0). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CAP_ID_VNDR		0x09

#define VIRTIO_PCI_VENDOR	0x1af4

/* struct virtio_pci_common_cfg (VIRTIO 1.x 4.1.4.3) */
#define CC_DFSELECT		0x00
#define CC_DF			0x04
#define CC_GFSELECT		0x08
#define CC_GF			0x0c
#define CC_MSIX			0x10
#define CC_NUMQ			0x12
#define CC_STATUS		0x14
#define CC_CFGGENERATION	0x15
#define CC_Q_SELECT		0x16
#define CC_Q_SIZE		0x18
#define CC_Q_MSIX		0x1a
#define CC_Q_ENABLE		0x1c
#define CC_Q_NOFF		0x1e
#define CC_Q_DESCLO		0x20
#define CC_Q_DESCHI		0x24
#define CC_Q_AVAILLO		0x28
#define CC_Q_AVAILHI		0x2c
#define CC_Q_USEDLO		0x30
#define CC_Q_USEDHI		0x34
#define CC_LEN			0x38	/* the VIRTIO 1.0 structure */

#define NO_VECTOR		0xffff

/* Capability walk: a list longer than this loops (256 bytes / 4). */
#define CAP_MAX			48

/* ---- configuration space ----------------------------------------------- */

static uint32_t cfg_rd(struct virtq_pci *p, uint16_t off, unsigned int w)
{
	return p->cfg.read(p->cfg.opaque, p->bus, p->dev, p->fn, off, w);
}

static void cfg_wr(struct virtq_pci *p, uint16_t off, unsigned int w, uint32_t v)
{
	p->cfg.write(p->cfg.opaque, p->bus, p->dev, p->fn, off, w, v);
}

static uintptr_t ecam_addr(const struct virtq_pci_ecam *e, uint8_t b, uint8_t d,
			   uint8_t f, uint16_t off)
{
	return e->base + ((uintptr_t)b << 20 | (uintptr_t)(d & 31) << 15 |
			  (uintptr_t)(f & 7) << 12 | (off & 0xfff));
}

static uint32_t ecam_read(void *opaque, uint8_t b, uint8_t d, uint8_t f,
			  uint16_t off, unsigned int w)
{
	struct virtq_pci_ecam *e = opaque;

	return virtq_mmio_read(ecam_addr(e, b, d, f, off), 0, w);
}

static void ecam_write(void *opaque, uint8_t b, uint8_t d, uint8_t f,
		       uint16_t off, unsigned int w, uint32_t v)
{
	struct virtq_pci_ecam *e = opaque;

	virtq_mmio_write(ecam_addr(e, b, d, f, off), 0, w, v);
}

void virtq_pci_ecam_init(struct virtq_pci_ecam *e, uintptr_t base)
{
	e->base = base;
	e->io.read = ecam_read;
	e->io.write = ecam_write;
	e->io.opaque = e;
}

const struct virtq_pci_cfg_io *virtq_pci_ecam_io(struct virtq_pci_ecam *e)
{
	return &e->io;
}

void virtq_pci_bar_window_init(struct virtq_pci_bar_window *w, uint64_t base, uint64_t size)
{
	w->next = base;
	w->end = base + size;
	w->next64 = w->end64 = 0;
}

void virtq_pci_bar_window_add64(struct virtq_pci_bar_window *w, uint64_t base, uint64_t size)
{
	w->next64 = base;
	w->end64 = base + size;
}

/* Take @size bytes, @size-aligned, from [*next, end): 0 or -ENOSPC. */
static int window_take(uint64_t *next, uint64_t end, uint64_t size, bool below4g,
		       uint64_t *addr)
{
	uint64_t a = (*next + size - 1) & ~(size - 1);

	if (a < *next || a + size < a || a + size > end ||
	    (below4g && a + size - 1 > 0xffffffffull))
		return -ENOSPC;
	*next = a + size;
	*addr = a;
	return 0;
}

/* ---- BAR memory -------------------------------------------------------- */

static uint32_t mem_rd(struct virtq_pci *p, uint64_t addr, unsigned int w)
{
	if (p->mem.read)
		return p->mem.read(p->mem.opaque, addr, w);
	return virtq_mmio_read((uintptr_t)addr, 0, w);
}

static void mem_wr(struct virtq_pci *p, uint64_t addr, unsigned int w, uint32_t v)
{
	if (p->mem.write)
		p->mem.write(p->mem.opaque, addr, w, v);
	else
		virtq_mmio_write((uintptr_t)addr, 0, w, v);
}

static struct virtq_pci *to_pci(struct virtq_transport *t)
{
	return (struct virtq_pci *)t;
}

static uint32_t cc_rd(struct virtq_pci *p, uint32_t off, unsigned int w)
{
	return mem_rd(p, p->common.addr + off, w);
}

static void cc_wr(struct virtq_pci *p, uint32_t off, unsigned int w, uint32_t v)
{
	mem_wr(p, p->common.addr + off, w, v);
}

/* ---- transport ops ------------------------------------------------------ */

static int pci_reset(struct virtq_transport *t)
{
	struct virtq_pci *p = to_pci(t);
	uint32_t i;

	cc_wr(p, CC_STATUS, 1, 0);
	/* Reset completes when the status reads back 0 (4.1.4.3.2): bounded. */
	for (i = 0; i < VIRTQ_TRANSPORT_POLL_MAX; i++)
		if (cc_rd(p, CC_STATUS, 1) == 0)
			return 0;
	return -ETIMEDOUT;
}

static uint8_t pci_get_status(struct virtq_transport *t)
{
	return (uint8_t)cc_rd(to_pci(t), CC_STATUS, 1);
}

static void pci_set_status(struct virtq_transport *t, uint8_t s)
{
	cc_wr(to_pci(t), CC_STATUS, 1, s);
}

static uint64_t pci_get_features(struct virtq_transport *t)
{
	struct virtq_pci *p = to_pci(t);
	uint64_t f;

	cc_wr(p, CC_DFSELECT, 4, 0);
	f = cc_rd(p, CC_DF, 4);
	cc_wr(p, CC_DFSELECT, 4, 1);
	return f | (uint64_t)cc_rd(p, CC_DF, 4) << 32;
}

static void pci_set_features(struct virtq_transport *t, uint64_t f)
{
	struct virtq_pci *p = to_pci(t);

	cc_wr(p, CC_GFSELECT, 4, 0);
	cc_wr(p, CC_GF, 4, (uint32_t)f);
	cc_wr(p, CC_GFSELECT, 4, 1);
	cc_wr(p, CC_GF, 4, (uint32_t)(f >> 32));
}

static int pci_queue_max(struct virtq_transport *t, uint16_t index, uint32_t *max)
{
	struct virtq_pci *p = to_pci(t);

	if (index >= cc_rd(p, CC_NUMQ, 2)) {
		*max = 0;
		return 0;
	}
	cc_wr(p, CC_Q_SELECT, 2, index);
	if (cc_rd(p, CC_Q_ENABLE, 2))
		return -EBUSY;
	*max = cc_rd(p, CC_Q_SIZE, 2);
	return 0;
}

static int pci_queue_enable(struct virtq_transport *t, uint16_t index, uint32_t num,
			    uint64_t desc, uint64_t avail, uint64_t used)
{
	struct virtq_pci *p = to_pci(t);
	uint32_t max, qoff, noff;

	if (index >= cc_rd(p, CC_NUMQ, 2) || index >= VIRTQ_PCI_MAX_QUEUES)
		return -ERANGE;
	cc_wr(p, CC_Q_SELECT, 2, index);
	if (cc_rd(p, CC_Q_ENABLE, 2))
		return -EBUSY;
	max = cc_rd(p, CC_Q_SIZE, 2);
	if (!num || num > max || !virtq_size_valid(num))
		return -EINVAL;
	/*
	 * The doorbell, queue_notify_off * notify_off_multiplier bytes into
	 * the notify structure, must lie inside it (4.1.4.4).  The
	 * multiplier is 0 or a power of two: a shift, overflow checked in
	 * 32 bits (no 64-bit multiply helper on small targets).
	 */
	qoff = cc_rd(p, CC_Q_NOFF, 2);
	if (!p->notify_mul) {
		noff = 0;
	} else {
		if (qoff > (0xffffffffu >> p->notify_shift))
			return -ERANGE;
		noff = qoff << p->notify_shift;
	}
	if (noff > p->notify.len || p->notify.len - noff < 2)
		return -ERANGE;
	p->notify_off[index] = noff;
	cc_wr(p, CC_Q_SIZE, 2, num);
	cc_wr(p, CC_Q_MSIX, 2, NO_VECTOR);
	cc_wr(p, CC_Q_DESCLO, 4, (uint32_t)desc);
	cc_wr(p, CC_Q_DESCHI, 4, (uint32_t)(desc >> 32));
	cc_wr(p, CC_Q_AVAILLO, 4, (uint32_t)avail);
	cc_wr(p, CC_Q_AVAILHI, 4, (uint32_t)(avail >> 32));
	cc_wr(p, CC_Q_USEDLO, 4, (uint32_t)used);
	cc_wr(p, CC_Q_USEDHI, 4, (uint32_t)(used >> 32));
	cc_wr(p, CC_Q_ENABLE, 2, 1);
	if (cc_rd(p, CC_Q_ENABLE, 2) != 1)
		return -EIO;
	return 0;
}

static int pci_queue_notify(struct virtq_transport *t, uint16_t index)
{
	struct virtq_pci *p = to_pci(t);

	if (index >= VIRTQ_PCI_MAX_QUEUES)
		return -ERANGE;
	mem_wr(p, p->notify.addr + p->notify_off[index], 2, index);
	return 0;
}

static uint32_t pci_config_generation(struct virtq_transport *t)
{
	return cc_rd(to_pci(t), CC_CFGGENERATION, 1);
}

/* Device config (config_space.h): one access of @w bytes at config @off. */
static uint32_t pci_cfg_rd(struct virtq_transport *t, uint32_t off, unsigned int w)
{
	return mem_rd(to_pci(t), to_pci(t)->device.addr + off, w);
}

static void pci_cfg_wr(struct virtq_transport *t, uint32_t off, unsigned int w,
		       uint32_t v)
{
	mem_wr(to_pci(t), to_pci(t)->device.addr + off, w, v);
}

static int pci_config_read(struct virtq_transport *t, uint32_t off, void *buf, uint32_t len)
{
	return __virtq_cfg_read(t, off, buf, len, pci_cfg_rd);
}

static int pci_config_write(struct virtq_transport *t, uint32_t off, const void *buf,
			    uint32_t len)
{
	return __virtq_cfg_write(t, off, buf, len, pci_cfg_wr);
}

/* The ISR is read-to-clear: reading it is the acknowledgement. */
static uint32_t pci_interrupt_ack(struct virtq_transport *t)
{
	return mem_rd(to_pci(t), to_pci(t)->isr.addr, 1) & (VIRTQ_ISR_QUEUE | VIRTQ_ISR_CONFIG);
}

static const struct virtq_transport_ops pci_ops = {
	.reset = pci_reset,
	.get_status = pci_get_status,
	.set_status = pci_set_status,
	.get_features = pci_get_features,
	.set_features = pci_set_features,
	.queue_max = pci_queue_max,
	.queue_enable = pci_queue_enable,
	.queue_notify = pci_queue_notify,
	.config_generation = pci_config_generation,
	.config_read = pci_config_read,
	.config_write = pci_config_write,
	.interrupt_ack = pci_interrupt_ack,
};

/* ---- probe ------------------------------------------------------------- */

/*
 * Size BAR @i (decoding is off while we do), and assign it from @win if
 * it is unassigned.  Returns the index of the next BAR (a 64-bit BAR takes
 * two slots), or -errno.
 */
static int bar_setup(struct virtq_pci *p, unsigned int i, struct virtq_pci_bar_window *win)
{
	uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * i);
	uint32_t lo = cfg_rd(p, reg, 4), hi = 0, slo, shi = 0xffffffffu;
	bool is64 = (lo & 7) == 4;
	uint64_t addr, mask, size;

	if (lo & 1)		/* I/O space: not used by modern virtio */
		return (int)i + 1;
	if (is64 && i == 5)
		return -EINVAL;
	cfg_wr(p, reg, 4, 0xffffffffu);
	slo = cfg_rd(p, reg, 4);
	cfg_wr(p, reg, 4, lo);
	if (is64) {
		hi = cfg_rd(p, (uint16_t)(reg + 4), 4);
		cfg_wr(p, (uint16_t)(reg + 4), 4, 0xffffffffu);
		shi = cfg_rd(p, (uint16_t)(reg + 4), 4);
		cfg_wr(p, (uint16_t)(reg + 4), 4, hi);
	}
	mask = ((uint64_t)shi << 32 | (slo & ~0xfu));
	if (!is64)
		mask |= 0xffffffff00000000ull;
	size = ~mask + 1;
	addr = ((uint64_t)hi << 32 | (lo & ~0xfu));
	if (!(slo & ~0xfu) || !size)	/* not implemented */
		return (int)i + (is64 ? 2 : 1);
	if (size & (size - 1))
		return -EINVAL;
	if (!addr && win) {
		int r = is64 && win->end64 ?
			window_take(&win->next64, win->end64, size, false, &addr) :
			window_take(&win->next, win->end, size, !is64, &addr);

		if (r)
			return r;
		cfg_wr(p, reg, 4, (uint32_t)addr | (lo & 0xf));
		if (is64)
			cfg_wr(p, (uint16_t)(reg + 4), 4, (uint32_t)(addr >> 32));
	}
	p->bar[i] = addr;
	p->bar_size[i] = size;
	return (int)i + (is64 ? 2 : 1);
}

static bool pow2_or_zero(uint32_t v)
{
	return !(v & (v - 1));
}

/* Read one virtio vendor capability at @pos into @r; checks against the BARs later. */
static int read_cap(struct virtq_pci *p, uint8_t pos, uint8_t type, uint8_t cap_len,
		    struct virtq_pci_region *r, uint8_t *bar_out)
{
	uint8_t bar = (uint8_t)cfg_rd(p, (uint16_t)(pos + 4), 1);
	uint32_t off = cfg_rd(p, (uint16_t)(pos + 8), 4);
	uint32_t len = cfg_rd(p, (uint16_t)(pos + 12), 4);
	uint32_t min_len, align;

	if (cap_len < 16 || (type == VIRTQ_PCI_CAP_NOTIFY && cap_len < 20))
		return -EINVAL;
	switch (type) {
	case VIRTQ_PCI_CAP_COMMON: min_len = CC_LEN; align = 4; break;
	case VIRTQ_PCI_CAP_NOTIFY: min_len = 2; align = 2; break;
	case VIRTQ_PCI_CAP_ISR:    min_len = 1; align = 1; break;
	default:                   min_len = 0; align = 4; break;
	}
	if (len < min_len || (off & (align - 1)))
		return -EINVAL;
	*bar_out = bar;
	r->addr = off;		/* relative to the BAR until the BARs are known */
	r->len = len;
	return 0;
}

int virtq_pci_probe(struct virtq_pci *p, const struct virtq_pci_cfg_io *cfg,
		    const struct virtq_pci_mem_io *mem, uint8_t bus, uint8_t dev, uint8_t fn,
		    struct virtq_pci_bar_window *win)
{
	/*
	 * Filled element by element: an initialised local array or a struct
	 * copy may become a memset / memcpy call, which a freestanding
	 * build has no right to.
	 */
	struct virtq_pci_region *regs[5];
	uint8_t bars[5], pos, type, cap_len;
	bool found[5];
	uint16_t vendor, devid, cmd;
	unsigned int i, n;
	int r;

	regs[0] = NULL;
	regs[VIRTQ_PCI_CAP_COMMON] = &p->common;
	regs[VIRTQ_PCI_CAP_NOTIFY] = &p->notify;
	regs[VIRTQ_PCI_CAP_ISR] = &p->isr;
	regs[VIRTQ_PCI_CAP_DEVICE] = &p->device;
	for (i = 0; i < 5; i++) {
		bars[i] = 0;
		found[i] = false;
	}
	p->cfg.read = cfg->read;
	p->cfg.write = cfg->write;
	p->cfg.opaque = cfg->opaque;
	p->bus = bus;
	p->dev = dev;
	p->fn = fn;
	p->t.ops = &pci_ops;
	p->t.device_id = 0;
	p->t.vendor_id = 0;
	p->t.config_len = 0;
	p->t.legacy_align = 0;
	p->t.features = 0;
	p->notify_mul = 0;
	p->notify_shift = 0;
	p->num_queues = 0;
	for (i = 0; i < 6; i++)
		p->bar[i] = p->bar_size[i] = 0;
	for (i = 0; i < VIRTQ_PCI_MAX_QUEUES; i++)
		p->notify_off[i] = 0;
	for (i = 1; i < 5; i++)
		regs[i]->addr = regs[i]->len = 0;
	p->mem.read = mem ? mem->read : NULL;
	p->mem.write = mem ? mem->write : NULL;
	p->mem.opaque = mem ? mem->opaque : NULL;

	vendor = (uint16_t)cfg_rd(p, PCI_VENDOR_ID, 2);
	if (vendor == 0xffff || vendor == 0)
		return -ENOENT;
	devid = (uint16_t)cfg_rd(p, PCI_DEVICE_ID, 2);
	if (vendor != VIRTIO_PCI_VENDOR || devid < 0x1000 || devid > 0x107f)
		return -ENODEV;
	p->t.device_id = devid >= 0x1040 ? devid - 0x1040u : cfg_rd(p, PCI_SUBSYS_ID, 2);
	if (!p->t.device_id)		/* device type 0 is reserved */
		return -ENODEV;
	p->t.vendor_id = cfg_rd(p, PCI_SUBSYS_VENDOR, 2);
	p->irq_pin = (uint8_t)cfg_rd(p, PCI_INTERRUPT_PIN, 1);
	if (!(cfg_rd(p, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return -ENOTSUP;

	/* The vendor capabilities: the first of each type is the one to use. */
	pos = (uint8_t)(cfg_rd(p, PCI_CAP_PTR, 1) & ~3u);
	for (n = 0; pos; n++) {
		if (n >= CAP_MAX || pos < 0x40)
			return -EINVAL;
		if (cfg_rd(p, pos, 1) == PCI_CAP_ID_VNDR) {
			cap_len = (uint8_t)cfg_rd(p, (uint16_t)(pos + 2), 1);
			type = (uint8_t)cfg_rd(p, (uint16_t)(pos + 3), 1);
			if (type >= VIRTQ_PCI_CAP_COMMON && type <= VIRTQ_PCI_CAP_DEVICE &&
			    !found[type]) {
				r = read_cap(p, pos, type, cap_len, regs[type], &bars[type]);
				if (r)
					return r;
				/* BAR values 6+ are reserved: ignore the capability. */
				if (bars[type] < 6)
					found[type] = true;
				if (found[type] && type == VIRTQ_PCI_CAP_NOTIFY) {
					p->notify_mul = cfg_rd(p, (uint16_t)(pos + 16), 4);
					if (!pow2_or_zero(p->notify_mul))
						return -EINVAL;
					while (p->notify_mul >> p->notify_shift > 1)
						p->notify_shift++;
				}
			}
		}
		pos = (uint8_t)(cfg_rd(p, (uint16_t)(pos + 1), 1) & ~3u);
	}
	if (!found[VIRTQ_PCI_CAP_COMMON] || !found[VIRTQ_PCI_CAP_NOTIFY] ||
	    !found[VIRTQ_PCI_CAP_ISR])
		return -ENOTSUP;

	/* Decoding off while BARs are sized and assigned. */
	cmd = (uint16_t)cfg_rd(p, PCI_COMMAND, 2);
	cfg_wr(p, PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	for (i = 0; i < 6; ) {
		r = bar_setup(p, i, win);
		if (r < 0)
			return r;
		i = (unsigned int)r;
	}
	for (type = 1; type < 5; type++) {
		struct virtq_pci_region *reg = regs[type];
		uint8_t b = bars[type];

		if (!found[type])
			continue;
		if (!p->bar_size[b]) {
			/* An I/O BAR, or one the device does not implement. */
			return (cfg_rd(p, (uint16_t)(PCI_BAR0 + 4 * b), 4) & 1) ? -ENOTSUP : -EINVAL;
		}
		if (reg->addr > p->bar_size[b] || reg->len > p->bar_size[b] - reg->addr)
			return -EINVAL;
		if (!p->bar[b])
			return -ENXIO;
		/*
		 * The volatile accessors take a pointer: a BAR beyond what
		 * one can hold (a 64-bit BAR above 4 GiB on a 32-bit CPU)
		 * would be truncated into a wild address.
		 */
		if (!p->mem.read && p->bar[b] + p->bar_size[b] - 1 > (uintptr_t)-1)
			return -ERANGE;
		reg->addr += p->bar[b];
	}
	p->t.config_len = found[VIRTQ_PCI_CAP_DEVICE] ? p->device.len : 0;
	cfg_wr(p, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cc_wr(p, CC_MSIX, 2, NO_VECTOR);
	p->num_queues = (uint16_t)cc_rd(p, CC_NUMQ, 2);
	return 0;
}
