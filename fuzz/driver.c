/* SPDX-License-Identifier: MIT */
/*
 * fuzz/driver.c - the driver side against an input-made device.
 *
 * The input picks the queue size (1..256), EVENT_IDX / INDIRECT_DESC, the
 * indirect pool (indirect_max, indirect_min) and whether a translate hook
 * splits buffers at 4 KiB boundaries, then is a stream of operations:
 * the driver's (add chains of input-shaped buffer lists, publish,
 * kick_prepare, get_used, enable / disable callbacks, detach + reset) and
 * the device's (take the published chains, write used entries with real,
 * staged or made-up ids and lengths, publish any used->idx, write
 * avail_event and used->flags).
 *
 * The device here walks each published chain as a device would, and
 * checks it: every chain has at most num descriptors (an indirect table
 * too), its readable and writable byte totals are those of the add, the
 * heads come in the order of the adds.  The oracle for the driver:
 *   - add, get_used, kick_prepare, enable_cb return only documented values;
 *   - get_used hands back each token once, only for a chain that was
 *     published, only the one whose head the used entry names, with a
 *     length not above its writable bytes;
 *   - -EIO only after the device broke the protocol, and it stays latched;
 *     an honest device's entries all come back;
 *   - enable_cb says "nothing pending" only when used->idx == what was
 *     taken; kick_prepare follows avail_event / NO_NOTIFY;
 *   - detach_unused returns exactly the tokens still out, each once;
 *   - the driver never writes the used area.
 */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "virtq/atomic.h"
#include "virtq/driver.h"
#include "virtq/ring.h"

#define MAXQ	256
#define MAXTOK	2048
#define MAXSEG	24

struct tok {
	bool out;		/* added, not returned */
	bool published;
	bool dev_done;		/* the device returned it (honestly) */
	uint16_t head;
	uint32_t in_len;
	uint32_t out_len;
	uint32_t segs;		/* device-visible descriptors of the chain */
};

static struct {
	_Alignas(4096) struct virtq_desc desc[MAXQ];
	_Alignas(64) uint8_t avail[4096];
	_Alignas(4096) uint8_t used[8192];
	_Alignas(64) struct virtq_desc pool[MAXQ * 32];
	_Alignas(64) uint8_t drv[VIRTQ_DRIVER_MEM_SIZE(MAXQ)];
	uint8_t used_shadow[8192];
	struct tok tk[MAXTOK];
	unsigned int ntok;
	/* FIFO of staged tokens, in add order. */
	unsigned int staged[MAXTOK];
	unsigned int st_head, st_tail;
	/* The device's view. */
	int head_tok[MAXQ];	/* published head -> token, -1 */
	uint16_t dev_avail;	/* next avail entry the device takes */
	uint16_t dev_used;	/* next used entry it writes */
	bool honest;		/* the device never broke the protocol */
	bool scribbled;		/* the device wrote the driver's areas */
	uint32_t num;
	bool event_idx;
	unsigned int ind_max;
	uint16_t kick_old;	/* avail->idx at the previous kick_prepare */
	uint32_t since_kick;
	uint16_t last_used;	/* model of the driver's next used entry */
	uint16_t flushed;	/* used->idx the device last stored honestly */
} S;

static char bufs[1 << 16];

static uint64_t split_translate(void *opaque, const void *addr, size_t len,
				size_t *mapped)
{
	uintptr_t a = (uintptr_t)addr;
	size_t room = 4096 - (a & 4095);

	(void)opaque;
	/* Buffers split at 4 KiB; ring areas and the pool stay whole. */
	if ((const char *)addr < bufs || (const char *)addr >= bufs + sizeof(bufs))
		room = len;
	*mapped = len < room ? len : room;
	return a;
}

static struct virtq_driver *DQ(void)
{
	return (struct virtq_driver *)(void *)S.drv;
}

static struct virtq_avail *AV(void)
{
	return (struct virtq_avail *)(void *)S.avail;
}

static struct virtq_used *US(void)
{
	return (struct virtq_used *)(void *)S.used;
}

/* The device writes the used area: into memory and the shadow. */
static void dev_write(size_t off, const void *p, size_t len)
{
	if (off >= virtq_used_size(S.num) || len > virtq_used_size(S.num) - off)
		return;
	memcpy(S.used + off, p, len);
	memcpy(S.used_shadow + off, p, len);
}

static void dev_write16(size_t off, uint16_t v)
{
	uint16_t le = virtq_cpu_to_le16(v);

	dev_write(off, &le, 2);
}

/* Walk chain @head as a device would; returns descriptors seen. */
static uint32_t dev_walk(uint16_t head, uint64_t *out, uint64_t *in)
{
	const struct virtq_desc *t = S.desc;
	uint32_t size = S.num, i = head, n = 0, steps = 0;
	bool indirect = false;

	*out = *in = 0;
	for (;;) {
		FUZZ_CHECK(i < size);
		FUZZ_CHECK(++steps <= size);	/* never longer than the table */
		uint16_t fl = virtq_le16(t[i].flags);
		uint32_t len = virtq_le32(t[i].len);

		if (fl & VIRTQ_DESC_F_INDIRECT) {
			FUZZ_CHECK(!indirect);
			FUZZ_CHECK(!(fl & VIRTQ_DESC_F_NEXT));
			FUZZ_CHECK(len && len % 16 == 0);
			/* 2.7.5.3.1: no chain longer than the queue size. */
			FUZZ_CHECK(len / 16 <= S.num);
			FUZZ_CHECK(len / 16 <= S.ind_max);
			t = (const struct virtq_desc *)(uintptr_t)virtq_le64(t[i].addr);
			size = len / 16;
			i = 0;
			steps = 0;
			indirect = true;
			continue;
		}
		FUZZ_CHECK(len > 0);
		if (fl & VIRTQ_DESC_F_WRITE)
			*in += len;
		else
			FUZZ_CHECK(*in == 0);	/* no readable after writable */
		if (!(fl & VIRTQ_DESC_F_WRITE))
			*out += len;
		n++;
		FUZZ_CHECK(n <= S.num);
		if (!(fl & VIRTQ_DESC_F_NEXT))
			return n;
		i = virtq_le16(t[i].next);
	}
}

/* The device sees avail->idx and takes what was published. */
static void dev_take(void)
{
	uint16_t idx = virtq_le16(virtq_load_acquire(&AV()->idx));

	while (S.dev_avail != idx) {
		uint16_t head = virtq_le16(AV()->ring[S.dev_avail & (S.num - 1)]);
		uint64_t out, in;

		FUZZ_CHECK(S.st_head != S.st_tail);	/* published = added */
		unsigned int k = S.staged[S.st_head++ % MAXTOK];
		struct tok *t = &S.tk[k];

		FUZZ_CHECK(head < S.num);
		FUZZ_EQ(S.head_tok[head], -1);		/* not out twice */
		if (!S.scribbled) {
			dev_walk(head, &out, &in);
			FUZZ_EQ(out, t->out_len);
			FUZZ_EQ(in, t->in_len);
		}
		S.head_tok[head] = (int)k;
		t->head = head;
		t->published = true;
		S.dev_avail++;
	}
}

static void op_add(struct fin *f)
{
	struct virtq_sg out[MAXSEG], in[MAXSEG];
	uint8_t b = fin_u8(f);
	unsigned int n_out = b % 9, n_in = (b >> 4) % 9;
	uint64_t ol = 0, il = 0;
	bool bad = false;
	int r;

	if (fin_u8(f) & 1) {	/* longer lists sometimes */
		n_out += fin_u8(f) % 16;
	}
	for (unsigned int i = 0; i < n_out + n_in; i++) {
		uint8_t s = fin_u8(f);
		uint32_t len = s & 0x80 ? fin_u32(f) : (uint32_t)(s & 0x7f) * 37;
		struct virtq_sg *g = i < n_out ? &out[i] : &in[i - n_out];

		g->addr = bufs + fin_u16(f);
		g->len = len;
		if (!len)
			bad = true;
		if (i < n_out)
			ol += len;
		else
			il += len;
	}
	if (S.ntok == MAXTOK)
		return;
	struct tok *t = &S.tk[S.ntok];
	uint32_t free0 = virtq_driver_num_free(DQ());

	r = virtq_driver_add(DQ(), out, n_out, in, n_in, t);
	switch (r) {
	case 0: case -EINVAL: case -ENOSPC: case -EIO:
		break;	/* not -EFAULT: the translate hook never fails */
	default:
		FUZZ_CHECK(!"undocumented add return");
	}
	if (virtq_driver_is_broken(DQ()))
		FUZZ_EQ(r, -EIO);
	if (r == 0) {
		FUZZ_CHECK(!bad && n_out + n_in > 0);
		FUZZ_CHECK(ol + il <= 0xffffffffull);
		memset(t, 0, sizeof(*t));
		t->out = true;
		t->in_len = (uint32_t)il;
		t->out_len = (uint32_t)ol;
		t->segs = free0 - virtq_driver_num_free(DQ());
		FUZZ_CHECK(t->segs >= 1 && t->segs <= S.num);
		S.staged[S.st_tail++ % MAXTOK] = S.ntok;
		S.ntok++;
	} else {
		FUZZ_EQ(virtq_driver_num_free(DQ()), free0);
		if (r == -EINVAL && !virtq_driver_is_broken(DQ()))
			FUZZ_CHECK(bad || n_out + n_in == 0 ||
				   ol + il > 0xffffffffull);
	}
}

static void op_get_used(void)
{
	void *tp = NULL;
	uint32_t len = 0xdeadbeef;
	bool was_broken = virtq_driver_is_broken(DQ());
	uint16_t slot = S.last_used;
	struct virtq_used_elem e = US()->ring[slot & (S.num - 1)];
	int r = virtq_driver_get_used(DQ(), &tp, &len);

	FUZZ_CHECK(r == 1 || r == 0 || r == -EIO);
	if (was_broken)
		FUZZ_EQ(r, -EIO);
	if (r == -EIO) {
		FUZZ_CHECK(!S.honest);	/* only a device that broke the rules */
		FUZZ_CHECK(virtq_driver_is_broken(DQ()));
		FUZZ_CHECK(tp == NULL);
		FUZZ_EQ(virtq_driver_get_used(DQ(), NULL, NULL), -EIO);
		return;
	}
	if (r == 0) {
		if (S.honest)
			FUZZ_EQ(S.flushed, S.last_used);
		return;
	}
	/* A token of ours, out, published, the one the entry names. */
	struct tok *t = tp;

	FUZZ_CHECK(t >= S.tk && t < S.tk + S.ntok);
	FUZZ_CHECK(t->out);
	FUZZ_CHECK(t->published);
	FUZZ_EQ(virtq_le32(e.id), t->head);
	FUZZ_EQ(len, virtq_le32(e.len));
	FUZZ_CHECK(len <= t->in_len);
	FUZZ_EQ(S.head_tok[t->head], (int)(t - S.tk));
	t->out = false;
	S.head_tok[t->head] = -1;
	S.last_used++;
}

/* The device writes used entries. */
static void op_complete(struct fin *f)
{
	uint8_t b = fin_u8(f);
	unsigned int n = 1 + (b & 7);

	dev_take();
	for (unsigned int i = 0; i < n; i++) {
		uint8_t how = fin_u8(f);
		uint32_t id = 0, len = 0;
		int k = -1;

		/* A published head the device still holds, mostly. */
		for (unsigned int j = 0; j < S.num; j++) {
			unsigned int h = (how + j) % S.num;

			if (S.head_tok[h] >= 0 && !S.tk[S.head_tok[h]].dev_done) {
				k = S.head_tok[h];
				break;
			}
		}
		switch ((how >> 5) & 7) {
		case 0: case 1: case 2: case 3: case 4:	/* honest */
			if (k < 0)
				return;
			id = S.tk[k].head;
			len = (uint32_t)(fin_u32(f) % ((uint64_t)S.tk[k].in_len + 1));
			break;
		case 5:		/* too long */
			if (k < 0)
				return;
			id = S.tk[k].head;
			len = S.tk[k].in_len + 1u + fin_u8(f);
			if (len <= S.tk[k].in_len)
				len = 0xffffffffu;	/* wrapped */
			S.honest = false;
			break;
		case 6:		/* a staged head, if any */
			if (S.st_head != S.st_tail) {
				/* The driver wrote its head in the avail ring
				 * already; the device peeks at it. */
				id = virtq_le16(AV()->ring[S.dev_avail & (S.num - 1)]);
			} else {
				id = fin_u16(f);
			}
			S.honest = false;
			break;
		default:	/* anything */
			id = fin_u32(f);
			len = fin_u32(f);
			S.honest = false;
			break;
		}
		struct virtq_used_elem e = { virtq_cpu_to_le32(id),
					     virtq_cpu_to_le32(len) };

		dev_write(4 + 8 * (S.dev_used & (S.num - 1)), &e, sizeof(e));
		S.dev_used++;
		if (k >= 0 && ((how >> 5) & 7) <= 4)
			S.tk[k].dev_done = true;
	}
	if (b & 0x80) {
		dev_write16(2, S.dev_used);
		virtq_mb();
		if (S.honest)
			S.flushed = S.dev_used;
	}
}

static void op_kick_prepare(void)
{
	struct virtq_driver *vq = DQ();
	bool broken = virtq_driver_is_broken(vq);
	uint16_t staged_before = virtq_le16(AV()->idx);
	bool r = virtq_driver_kick_prepare(vq);

	if (broken) {
		FUZZ_CHECK(!r);
		return;
	}
	uint16_t new_idx = virtq_le16(AV()->idx);
	uint32_t n = S.since_kick + (uint16_t)(new_idx - staged_before);
	bool want;

	if (n == 0) {
		want = false;
	} else if (S.event_idx) {
		uint16_t ev = virtq_le16(*virtq_avail_event(US(), S.num));

		want = n > 0xffff || virtq_need_event(ev, new_idx, S.kick_old);
	} else {
		want = !(virtq_le16(US()->flags) & VIRTQ_USED_F_NO_NOTIFY);
	}
	FUZZ_EQ(r, want);
	S.kick_old = new_idx;
	S.since_kick = 0;
	dev_take();
}

static void op_publish(void)
{
	uint16_t before = virtq_le16(AV()->idx);

	virtq_driver_publish(DQ());
	if (!virtq_driver_is_broken(DQ()))
		S.since_kick += (uint16_t)(virtq_le16(AV()->idx) - before);
	dev_take();
}

static void op_enable(uint8_t how)
{
	struct virtq_driver *vq = DQ();
	bool broken = virtq_driver_is_broken(vq);
	bool r;

	if (how & 1) {
		virtq_driver_disable_cb(vq);
		return;
	}
	r = how & 2 ? virtq_driver_enable_cb_delayed(vq) :
		      virtq_driver_enable_cb(vq);
	if (broken)
		FUZZ_CHECK(!r);
	if (r)	/* nothing pending */
		FUZZ_EQ(virtq_le16(US()->idx), S.last_used);
}

/* Teardown: every token still out comes back once, then reset. */
static void op_detach_all(void)
{
	struct virtq_driver *vq = DQ();
	void *tp;
	unsigned int outs = 0, got = 0;

	for (unsigned int i = 0; i < S.ntok; i++)
		outs += S.tk[i].out;
	while (virtq_driver_detach_unused(vq, &tp) == 1) {
		struct tok *t = tp;

		FUZZ_CHECK(t >= S.tk && t < S.tk + S.ntok);
		FUZZ_CHECK(t->out);
		t->out = false;
		got++;
		FUZZ_CHECK(got <= outs);
	}
	FUZZ_EQ(got, outs);
	FUZZ_EQ(virtq_driver_num_free(vq), S.num);
	virtq_driver_reset(vq);
	FUZZ_CHECK(!virtq_driver_is_broken(vq));
	memset(S.used_shadow, 0, sizeof(S.used_shadow));
	for (unsigned int h = 0; h < MAXQ; h++)
		S.head_tok[h] = -1;
	S.st_head = S.st_tail = 0;
	S.dev_avail = S.dev_used = 0;
	S.honest = true;
	S.scribbled = false;
	S.kick_old = 0;
	S.since_kick = 0;
	S.last_used = 0;
	S.flushed = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	struct virtq_driver_config cfg;
	uint8_t b;

	memset(&cfg, 0, sizeof(cfg));
	S.num = 1u << (fin_u8(&f) % 9);
	b = fin_u8(&f);
	S.event_idx = b & 1;
	cfg.num = S.num;
	cfg.features = (b & 1 ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0) |
		       (b & 2 ? VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0);
	cfg.desc = S.desc;
	cfg.avail = (struct virtq_avail *)(void *)S.avail;
	cfg.used = (struct virtq_used *)(void *)S.used;
	S.ind_max = 0;
	if (b & 4) {
		cfg.indirect = S.pool;
		cfg.indirect_max = (uint16_t)(fin_u8(&f) % 33);
		cfg.indirect_min = (uint16_t)(fin_u8(&f) % 8);
		if (b & 2 && cfg.indirect_max >= 2)
			S.ind_max = cfg.indirect_max;
	}
	if (b & 8)
		cfg.translate = split_translate;
	memset(S.used, 0x5a, sizeof(S.used));	/* init must zero it */
	FUZZ_EQ(virtq_driver_init(DQ(), virtq_driver_mem_size(S.num), &cfg), 0);
	S.ntok = 0;
	op_detach_all();	/* the model's reset */

	while (fin_left(&f)) {
		uint8_t op = fin_u8(&f);

		switch (op % 12) {
		case 0: case 1: case 2:
			op_add(&f);
			break;
		case 3:
			op_publish();
			break;
		case 4:
			op_kick_prepare();
			break;
		case 5: case 6:
			op_complete(&f);
			break;
		case 7: case 8:
			op_get_used();
			break;
		case 9:
			op_enable(op >> 4);
			break;
		case 10:	/* the device's other fields, or garbage */
			switch ((op >> 4) & 3) {
			case 0:
				dev_write16(4 + 8 * S.num, fin_u16(&f));	/* avail_event */
				break;
			case 1:
				dev_write16(0, fin_u16(&f));		/* used->flags */
				break;
			case 2:
				dev_write16(2, fin_u16(&f));		/* used->idx */
				S.honest = false;
				break;
			default: {
				uint8_t raw[16];
				size_t off = fin_u16(&f) % virtq_used_size(S.num);
				size_t n = fin_bytes(&f, raw, fin_u8(&f) % 17);

				dev_write(off, raw, n);
				S.honest = false;
				break;
			}
			}
			break;
		case 11:
			op_detach_all();
			break;
		}
		/* The driver never writes the used area. */
		FUZZ_CHECK(!memcmp(S.used, S.used_shadow, virtq_used_size(S.num)));
	}
	op_detach_all();
	return 0;
}
