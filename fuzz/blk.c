/* SPDX-License-Identifier: MIT */
/*
 * fuzz/blk.c - virtq-blk's virtio-blk request handling (tools/virtq-blk/
 * blk.c, the blk_ops of the tool) against input-made requests.
 *
 * A small image (64 sectors, a memfd, so the model does reads and writes
 * inline) is served read-write or read-only.  The harness brings a ring
 * up through the vhost-user backend (fuzz/vu.h: memory table, ring, kick,
 * call, enable), then writes the input's requests into guest memory: the
 * header (type, sector: near the end of the disk or anything, split over
 * up to three descriptors or of a wrong length), data segments (lengths in
 * sectors or not), discard / write-zeroes segments, the status byte
 * (alone, merged into the last data buffer, empty, missing), direct or
 * through an indirect table.  It kicks the model, then stops the ring
 * (queue_stop waits for every request).
 *
 * Oracle:
 *   - every chain comes back once; a chain with a status byte has it
 *     written with OK / IOERR / UNSUPP and its used length is all of the
 *     chain's writable bytes (data and status, whatever the status: the
 *     dirty log covers what the length covers); one without comes back
 *     with length 0;
 *   - the image changes only inside the sectors of OUT / DISCARD /
 *     WRITE_ZEROES requests that completed OK; a read-only disk never
 *     changes and never completes a write OK; the image keeps its size;
 *   - a read that completed OK returned the image's bytes (inputs without
 *     writes);
 *   - guest memory outside the chains' writable buffers and the used area
 *     is untouched.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "vu.h"
#include "virtq/atomic.h"
#include "virtq/device.h"
#include "virtq-blk/blk.h"

#define SECTORS		64u
#define IMG		(SECTORS * 512u)
#define MAXREQ		32
#define BUF_BASE	0x4000u

static struct vu V;
#define GM ((uint8_t *)V.mem)
static struct virtq_vu_backend *BE[2];	/* read-write, read-only */
static struct blk_disk DISK[2];
static struct virtq_vu_queue *running;
static int imgfd;
static uint8_t image0[IMG], shadow_mem[VU_MEM_SIZE];

struct req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	bool has_status;	/* last descriptor writable with >= 1 byte */
	bool hdr_ok;		/* the header the model parses is ours */
	bool ring_bad;		/* the ring-level walk will reject it */
	uint32_t in_len;	/* writable bytes */
	uint64_t status_off;	/* guest offset of the status byte */
	uint64_t data_off[4];	/* writable data buffers (IN) */
	uint32_t data_len[4];
	unsigned int ndata;
	uint32_t out_data;	/* OUT: bytes after the header */
	uint64_t wr_sector[8];	/* ranges it may change if OK */
	uint64_t wr_count[8];
	unsigned int nwr;
};

static struct req R[MAXREQ];
static unsigned int nreq;
/* Writable guest ranges (the device may write there). */
static struct { uint64_t off, len; } W[MAXREQ * 8];
static unsigned int nw;

static int q_start(void *opaque, struct virtq_vu_queue *q)
{
	int r = blk_ops.queue_start(opaque, q);

	if (!r)
		running = q;
	return r;
}

static void q_stop(void *opaque, struct virtq_vu_queue *q)
{
	blk_ops.queue_stop(opaque, q);
	running = NULL;
}

static void q_kick(void *opaque, struct virtq_vu_queue *q)
{
	blk_ops.queue_kick(opaque, q);
}

static void quiet(void *opaque, const char *line)
{
	(void)opaque;
	(void)line;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_start = q_start,
	.queue_stop = q_stop,
	.queue_kick = q_kick,
	.log = quiet,
};

static void setup_once(void)
{
	char path[64], err[256];
	uint8_t cfgspace[BLK_CONFIG_LEN];

	if (BE[0])
		return;
	vu_once(&V);
	imgfd = memfd_create("fuzz-blk-image", MFD_CLOEXEC);
	FUZZ_CHECK(imgfd >= 0);
	FUZZ_CHECK(ftruncate(imgfd, IMG) == 0);
	for (unsigned int i = 0; i < IMG; i++)
		image0[i] = (uint8_t)(i * 7 + i / 512);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", imgfd);
	for (int ro = 0; ro < 2; ro++) {
		FUZZ_EQ(blk_disk_open(&DISK[ro], path, ro, "fuzz-serial", err,
				      sizeof(err)), 0);
		DISK[ro].quiet = true;
		blk_config(&DISK[ro], 1, cfgspace);
		struct virtq_vu_backend_config cfg = {
			.features = blk_features(&DISK[ro]),
			.num_queues = 1,
			.max_queue_size = 256,
			.config = cfgspace,
			.config_len = sizeof(cfgspace),
			.ops = &ops,
			.opaque = &DISK[ro],
		};
		FUZZ_EQ(virtq_vu_backend_create(&BE[ro], &cfg), 0);
	}
	V.base_fds = vu_count_fds();
	V.base_maps = vu_count_maps();
}

static void ok_msg(struct virtq_vu_backend *be, uint32_t req, const void *p,
		   uint32_t size, const int *fds, unsigned int nfds)
{
	FUZZ_EQ(vu_msg(&V, be, req, VU_VERSION | VU_FLAG_NEED_REPLY, size, p,
		       size, fds, nfds), 0);
}

/* Bring queue 0 up with @num entries, rings at the start of memory. */
static void ring_up(struct virtq_vu_backend *be, struct blk_disk *d,
		    uint32_t num, bool event_idx, bool indirect)
{
	uint64_t feat = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | (1ull << 30);
	uint64_t proto = (1ull << VU_PROTOCOL_F_REPLY_ACK);
	struct vu_mem_table mt = { .nregions = 1 };
	struct vu_vring_state st = { 0, num };
	struct vu_vring_addr a = { 0 };
	uint64_t v = 0;

	if (event_idx)
		feat |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	if (indirect)
		feat |= VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	feat &= blk_features(d) | (1ull << 30);
	FUZZ_EQ(vu_msg(&V, be, VU_SET_PROTOCOL_FEATURES, VU_VERSION, 8, &proto,
		       8, NULL, 0), 0);
	ok_msg(be, VU_SET_FEATURES, &feat, 8, NULL, 0);
	ok_msg(be, VU_SET_OWNER, NULL, 0, NULL, 0);
	mt.regions[0] = (struct vu_mem_region){
		.guest_phys_addr = VU_GPA, .memory_size = VU_MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)V.mem,
	};
	ok_msg(be, VU_SET_MEM_TABLE, &mt, 8 + 32, &V.memfd, 1);
	ok_msg(be, VU_SET_VRING_NUM, &st, 8, NULL, 0);
	st.num = 0;
	ok_msg(be, VU_SET_VRING_BASE, &st, 8, NULL, 0);
	a.desc_user_addr = (uint64_t)(uintptr_t)V.mem;
	a.avail_user_addr = (uint64_t)(uintptr_t)V.mem + 0x1000;
	a.used_user_addr = (uint64_t)(uintptr_t)V.mem + 0x2000;
	ok_msg(be, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	ok_msg(be, VU_SET_VRING_CALL, &v, 8, &V.call[0], 1);
	ok_msg(be, VU_SET_VRING_KICK, &v, 8, &V.kick[0], 1);
	st.num = 1;
	ok_msg(be, VU_SET_VRING_ENABLE, &st, 8, NULL, 0);
	FUZZ_CHECK(running != NULL);
}

/* Guest memory bump allocator (offsets into V.mem). */
static uint64_t bump;

static uint64_t galloc(uint32_t len, uint32_t align)
{
	uint64_t off = (bump + align - 1) & ~(uint64_t)(align - 1);

	if (off + len > VU_MEM_SIZE)
		return 0;
	bump = off + len;
	return off;
}

struct seg {
	uint64_t off;
	uint32_t len;
	bool write;
};

static void writable(uint64_t off, uint32_t len)
{
	if (nw < sizeof(W) / sizeof(W[0])) {
		W[nw].off = off;
		W[nw].len = len;
		nw++;
	}
}

/* Build one request from the input; false when out of room. */
static bool build(struct fin *f, uint32_t num, uint16_t *next_desc,
		  bool indirect_ok, uint16_t avail_pos)
{
	struct seg s[16];
	unsigned int n = 0;
	struct req *q = &R[nreq];
	uint8_t t = fin_u8(f), lay = fin_u8(f);
	static const uint32_t types[] = { 0, 1, 4, 8, 11, 13, 0, 1 };
	struct { uint32_t type, ioprio; uint64_t sector; } hdr;
	bool any_sector = false;
	uint64_t ho;

	memset(q, 0, sizeof(*q));
	q->type = t & 0x80 ? fin_u32(f) : types[t & 7];
	q->sector = t & 0x40 ? fin_u64(f) : fin_u8(f) % (SECTORS + 8);
	hdr.type = virtq_cpu_to_le32(q->type);
	hdr.ioprio = 0;
	hdr.sector = virtq_cpu_to_le64(q->sector);
	/* Header: 16 bytes in 1..3 pieces, or a wrong length. */
	ho = galloc(32, 8);
	if (!ho)
		return false;
	memcpy(V.mem + ho, &hdr, sizeof(hdr));
	switch (lay & 3) {
	case 0: case 1:
		s[n++] = (struct seg){ ho, 16, false };
		q->hdr_ok = true;
		break;
	case 2:
		s[n++] = (struct seg){ ho, 5, false };
		s[n++] = (struct seg){ ho + 5, 11, false };
		q->hdr_ok = true;
		break;
	default:
		/* Not 16 bytes: the model takes its header (type too) from
		 * whatever readable bytes come first. */
		s[n++] = (struct seg){ ho, (uint32_t)(fin_u8(f) % 24), false };
		q->hdr_ok = s[n - 1].len == 16;
		any_sector = !q->hdr_ok;
		break;
	}
	/* Data. */
	unsigned int nd = (lay >> 2) & 3;
	bool is_out = q->type == 1 || q->type == 11 || q->type == 13;

	for (unsigned int i = 0; i < nd; i++) {
		uint8_t l = fin_u8(f);
		uint32_t len = l & 0x80 ? fin_u16(f) % 4096 : (l % 9) * 256u;
		uint64_t off = galloc(len ? len : 1, 8);

		if (!off)
			return false;
		if ((q->type == 11 || q->type == 13) && len % 16)
			any_sector = true;
		if (q->type == 11 || q->type == 13) {	/* discard / wz segments */
			for (uint32_t k = 0; k + 16 <= len; k += 16) {
				uint64_t sec = fin_u8(f) & 1 ? fin_u64(f) : fin_u8(f) % (SECTORS + 4);
				uint32_t cnt = fin_u8(f) & 1 ? fin_u32(f) : fin_u8(f) % 16;
				uint32_t fl = fin_u8(f) % 3;
				uint64_t le_sec = virtq_cpu_to_le64(sec);
				uint32_t le_cnt = virtq_cpu_to_le32(cnt), le_fl = virtq_cpu_to_le32(fl);

				memcpy(V.mem + off + k, &le_sec, 8);
				memcpy(V.mem + off + k + 8, &le_cnt, 4);
				memcpy(V.mem + off + k + 12, &le_fl, 4);
				if (q->nwr < 8) {
					q->wr_sector[q->nwr] = sec;
					q->wr_count[q->nwr++] = cnt;
				}
			}
		} else if (is_out) {
			fin_bytes(f, V.mem + off, len);
		}
		if (!len && !(lay & 0x80))
			continue;	/* skip empty ones mostly */
		s[n++] = (struct seg){ off, len, !is_out };
		if (!is_out) {
			writable(off, len);
			if (q->ndata < 4) {
				q->data_off[q->ndata] = off;
				q->data_len[q->ndata++] = len;
			}
		} else {
			q->out_data += len;
		}
	}
	if (q->type == 1 && q->nwr < 8) {
		q->wr_sector[q->nwr] = q->sector;
		q->wr_count[q->nwr++] = (q->out_data + 511) / 512;
	}
	/* Status byte. */
	switch ((lay >> 4) & 3) {
	case 0: case 1: {
		uint64_t so = galloc(1, 1);

		if (!so)
			return false;
		GM[so] = 0xee;
		s[n++] = (struct seg){ so, 1, true };
		writable(so, 1);
		break;
	}
	case 2:		/* no status byte */
		break;
	default:	/* a zero-length writable descriptor */
		s[n++] = (struct seg){ galloc(1, 1), 0, true };
		break;
	}
	/* The device walks in order: a readable after a writable fails. */
	bool seen_w = false;

	for (unsigned int i = 0; i < n; i++) {
		if (s[i].write)
			seen_w = true;
		else if (seen_w)
			q->ring_bad = true;
		if (s[i].write)
			q->in_len += s[i].len;
	}
	/* The status is the last byte of the last iovec, if writable
	 * (zero-length descriptors make no iovec). */
	for (unsigned int i = n; i-- > 0;) {
		if (!s[i].len)
			continue;
		if (s[i].write) {
			q->has_status = true;
			q->status_off = s[i].off + s[i].len - 1;
			GM[q->status_off] = 0xee;
		}
		break;
	}
	/* A header not of 16 bytes, or segments not of 16, shift what the
	 * model parses: then any sector may be written. */
	if (any_sector && q->nwr < 8) {
		q->wr_sector[q->nwr] = 0;
		q->wr_count[q->nwr++] = UINT64_MAX;
	}
	/* Descriptors: direct, or one indirect table. */
	bool ind = indirect_ok && (lay & 0x40) && n > 1;
	struct virtq_desc *ring = (struct virtq_desc *)(void *)V.mem;

	if (!ind && *next_desc + n > num)
		return false;
	if (ind && *next_desc + 1u > num)
		return false;
	q->head = *next_desc;
	if (ind) {
		uint64_t to = galloc(16 * n, 16);

		if (!to)
			return false;
		struct virtq_desc *tab = (struct virtq_desc *)(void *)(V.mem + to);

		for (unsigned int i = 0; i < n; i++) {
			tab[i].addr = virtq_cpu_to_le64(VU_GPA + s[i].off);
			tab[i].len = virtq_cpu_to_le32(s[i].len);
			tab[i].flags = virtq_cpu_to_le16((s[i].write ? VIRTQ_DESC_F_WRITE : 0) |
						       (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
			tab[i].next = virtq_cpu_to_le16((uint16_t)(i + 1));
		}
		ring[*next_desc].addr = virtq_cpu_to_le64(VU_GPA + to);
		ring[*next_desc].len = virtq_cpu_to_le32(16 * n);
		ring[*next_desc].flags = virtq_cpu_to_le16(VIRTQ_DESC_F_INDIRECT);
		(*next_desc)++;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			uint16_t d = (uint16_t)(*next_desc + i);

			ring[d].addr = virtq_cpu_to_le64(VU_GPA + s[i].off);
			ring[d].len = virtq_cpu_to_le32(s[i].len);
			ring[d].flags = virtq_cpu_to_le16((s[i].write ? VIRTQ_DESC_F_WRITE : 0) |
							  (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
			ring[d].next = virtq_cpu_to_le16((uint16_t)(d + 1));
		}
		*next_desc = (uint16_t)(*next_desc + n);
	}
	if (n == 0)
		return false;
	struct virtq_avail *av = (struct virtq_avail *)(void *)(V.mem + 0x1000);

	av->ring[avail_pos & (num - 1)] = virtq_cpu_to_le16(q->head);
	nreq++;
	return true;
}

static bool sector_written_ok(uint64_t sec, int ro)
{
	for (unsigned int i = 0; i < nreq; i++) {
		struct req *q = &R[i];

		if (!q->has_status || q->ring_bad || GM[q->status_off] != 0)
			continue;
		for (unsigned int k = 0; k < q->nwr; k++)
			if (sec >= q->wr_sector[k] && sec - q->wr_sector[k] < q->wr_count[k]) {
				FUZZ_CHECK(!ro);	/* read-only honoured */
				return true;
			}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	uint8_t b0 = fin_u8(&f);
	int ro = b0 & 1;
	uint32_t num = 8u << (b0 >> 1 & 3);
	uint16_t next_desc = 0;
	bool any_write = false;

	setup_once();
	FUZZ_EQ(pwrite(imgfd, image0, IMG, 0), IMG);
	vu_connect(&V, BE[ro]);
	ring_up(BE[ro], &DISK[ro], num, b0 & 8, b0 & 16);
	nreq = nw = 0;
	bump = BUF_BASE;
	while (fin_left(&f) && nreq < MAXREQ && nreq < num &&
	       build(&f, num, &next_desc, b0 & 16, (uint16_t)nreq))
		;
	for (unsigned int i = 0; i < nreq; i++)
		if (R[i].type == 1 || R[i].type == 11 || R[i].type == 13 ||
		    !R[i].hdr_ok)
			any_write = true;
	/* Publish and kick. */
	struct virtq_avail *av = (struct virtq_avail *)(void *)(V.mem + 0x1000);
	struct virtq_used *used = (struct virtq_used *)(void *)(V.mem + 0x2000);

	virtq_store_release(&av->idx, virtq_cpu_to_le16((uint16_t)nreq));
	memcpy(shadow_mem, V.mem, VU_MEM_SIZE);
	if (running)
		q_kick(&DISK[ro], running);
	/* Stop the ring: queue_stop waits for every request. */
	vu_finish(&V, BE[ro]);
	FUZZ_CHECK(running == NULL);

	/* Every chain back once. */
	uint16_t uidx = virtq_le16(used->idx);

	FUZZ_EQ(uidx, nreq);
	for (unsigned int i = 0; i < nreq; i++) {
		struct virtq_used_elem *e = &used->ring[i & (num - 1)];
		uint32_t id = virtq_le32(e->id), len = virtq_le32(e->len);
		struct req *q = NULL;

		for (unsigned int k = 0; k < nreq; k++)
			if (R[k].head == id)
				q = &R[k];
		FUZZ_CHECK(q != NULL);
		for (unsigned int k = 0; k < i; k++)
			FUZZ_CHECK(virtq_le32(used->ring[k & (num - 1)].id) != id);
		FUZZ_CHECK(len <= q->in_len);
		if (q->ring_bad || !q->has_status) {
			FUZZ_EQ(len, 0);
			if (q->has_status)
				FUZZ_EQ(GM[q->status_off], 0xee);
			continue;
		}
		uint8_t st = GM[q->status_off];

		FUZZ_CHECK(st == 0 || st == 1 || st == 2);
		FUZZ_EQ(len, q->in_len);
		if (st == 0 && q->hdr_ok &&
		    (q->type == 1 || q->type == 11 || q->type == 13))
			FUZZ_CHECK(!ro);
		/* A read that worked returned the image's bytes. */
		if (st == 0 && q->hdr_ok && q->type == 0 && !any_write) {
			uint64_t pos = q->sector * 512;

			for (unsigned int k = 0; k < q->ndata; k++) {
				uint64_t l = q->data_len[k];

				if (!l)
					continue;	/* no iovec */
				if (q->data_off[k] + l - 1 == q->status_off)
					l--;	/* the status shares the buffer */
				FUZZ_CHECK(pos + l <= IMG);
				FUZZ_CHECK(!memcmp(V.mem + q->data_off[k], image0 + pos, l));
				pos += l;
			}
			FUZZ_EQ(len, 1 + (pos - q->sector * 512));
		}
	}
	/* The image changed only where a write said OK. */
	struct stat sb;
	static uint8_t now[IMG];

	FUZZ_CHECK(fstat(imgfd, &sb) == 0);
	FUZZ_EQ(sb.st_size, IMG);
	FUZZ_EQ(pread(imgfd, now, IMG, 0), IMG);
	for (uint64_t sec = 0; sec < SECTORS; sec++)
		if (memcmp(now + sec * 512, image0 + sec * 512, 512))
			FUZZ_CHECK(sector_written_ok(sec, ro));
	/* Guest memory: only writable buffers and the used area changed. */
	for (uint64_t o = 0; o < VU_MEM_SIZE; o++) {
		if (GM[o] == shadow_mem[o])
			continue;
		if (o >= 0x2000 && o < 0x2000 + virtq_used_size(num))
			continue;
		bool ok = false;

		for (unsigned int k = 0; k < nw && !ok; k++)
			ok = o >= W[k].off && o - W[k].off < W[k].len;
		if (!ok)
			fprintf(stderr, "guest byte %#llx changed: %#x -> %#x\n",
				(unsigned long long)o, shadow_mem[o], (uint8_t)GM[o]);
		FUZZ_CHECK(ok);
	}
	vu_still_serves(&V, BE[ro]);
	return 0;
}
