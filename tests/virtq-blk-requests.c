/* SPDX-License-Identifier: MIT */
/*
 * virtq-blk-requests: start the virtq-blk tool on a temporary image and
 * drive it as a vhost-user frontend.  Well-formed IN / OUT / FLUSH /
 * GET_ID / DISCARD / WRITE_ZEROES requests do what they say; every
 * malformed request gets IOERR or UNSUPP (or, without a status byte, its
 * chain back with length 0), and after each request the whole image is
 * compared with a shadow copy: nothing is ever corrupted.  Then a
 * read-only instance, a two-queue instance, a burst of requests in flight
 * at once, and a clean exit on SIGTERM.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "vu-test-frontend.h"

#define SECTORS		2048u
#define IMG_SIZE	(SECTORS * 512u)
#define QSIZE		128
#define SERIAL		"virtq-test-serial"

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WZ		13
#define S_OK		0
#define S_IOERR		1
#define S_UNSUPP	2
#define S_UNTOUCHED	0xee

static char img_path[64], sock_path[64];
static uint8_t shadow[IMG_SIZE];
static uint64_t seed = 42;

struct blk_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct dwz_seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};

static pid_t start_blk(const char *extra1, const char *extra2)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char bin[256];
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/bin/virtq-blk", b);
	if (access(bin, X_OK) < 0) {
		printf("%s not built (make tools)\n", bin);
		exit(TEST_SKIP);
	}
	unlink(sock_path);
	{
		const char *argv[] = { bin, "--socket", sock_path, "--image", img_path,
				       "--serial", SERIAL, extra1, extra2, NULL };

		pid = tfe_spawn((char **)argv);
	}
	return pid;
}

static void stop_blk(pid_t pid)
{
	int st;

	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	/* SIGTERM ends it cleanly: exit status 0, socket removed. */
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK(access(sock_path, F_OK) < 0);
}

static void check_image(const char *what)
{
	static uint8_t now[IMG_SIZE];
	int fd = open(img_path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, now, IMG_SIZE, 0), IMG_SIZE);
	close(fd);
	if (memcmp(now, shadow, IMG_SIZE)) {
		for (size_t i = 0; i < IMG_SIZE; i++)
			if (now[i] != shadow[i]) {
				fprintf(stderr, "%s: image differs at byte %zu\n", what, i);
				break;
			}
		exit(1);
	}
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)test_rand(&seed);
}

/*
 * One request: header (split in two descriptors if @split_hdr), @out_len
 * bytes of @out data, @in_len bytes of device-writable data (into *in),
 * then a status byte.  Returns the status; *used gets the used length.
 */
static int req(struct tfe *fe, unsigned int qi, uint32_t type, uint64_t sector,
	       const void *out, uint32_t out_len, uint8_t **in, uint32_t in_len,
	       bool split_hdr, int64_t *used)
{
	size_t mark = fe->bump;
	struct blk_hdr *h = tfe_alloc(fe, sizeof(*h), 8);
	uint8_t *o = out_len ? tfe_alloc(fe, out_len, 8) : NULL;
	uint8_t *i = in_len ? tfe_alloc(fe, in_len, 8) : NULL;
	uint8_t *st = tfe_alloc(fe, 1, 1);
	struct virtq_sg osg[3], isg[2];
	unsigned int no = 0, ni = 0;
	int64_t u;

	h->type = virtq_cpu_to_le32(type);
	h->sector = virtq_cpu_to_le64(sector);
	if (split_hdr) {
		osg[no++] = (struct virtq_sg){ h, 8 };
		osg[no++] = (struct virtq_sg){ (char *)h + 8, 8 };
	} else {
		osg[no++] = (struct virtq_sg){ h, 16 };
	}
	if (out_len) {
		memcpy(o, out, out_len);
		osg[no++] = (struct virtq_sg){ o, out_len };
	}
	if (in_len) {
		memset(i, 0x5a, in_len);
		isg[ni++] = (struct virtq_sg){ i, in_len };
	}
	*st = S_UNTOUCHED;
	isg[ni++] = (struct virtq_sg){ st, 1 };
	u = tfe_request(fe, qi, osg, no, isg, ni);
	CHECK(u >= 0);
	if (used)
		*used = u;
	if (in)
		*in = i;
	fe->bump = mark;	/* the buffers stay readable until the next request */
	return *st;
}

static int rw(struct tfe *fe, uint32_t type, uint64_t sector, void *buf,
	      uint32_t len)
{
	uint8_t *in;
	int st;

	if (type == T_OUT)
		return req(fe, 0, T_OUT, sector, buf, len, NULL, 0, false, NULL);
	st = req(fe, 0, T_IN, sector, NULL, 0, &in, len, false, NULL);
	memcpy(buf, in, len);
	return st;
}

static int dwz(struct tfe *fe, uint32_t type, const struct dwz_seg *segs,
	       unsigned int n)
{
	struct dwz_seg le[8];

	for (unsigned int i = 0; i < n; i++)
		le[i] = (struct dwz_seg){ virtq_cpu_to_le64(segs[i].sector),
					  virtq_cpu_to_le32(segs[i].num),
					  virtq_cpu_to_le32(segs[i].flags) };
	return req(fe, 0, type, 0, le, n * sizeof(le[0]), NULL, 0, false, NULL);
}

static struct tfe *connect_blk(unsigned int nq)
{
	static struct tfe fe;

	tfe_init(&fe, sock_path, 4u << 20);
	tfe_negotiate(&fe, ~0ull);
	for (unsigned int i = 0; i < nq; i++)
		tfe_queue(&fe, i, QSIZE);
	return &fe;
}

static uint32_t config32(struct tfe *fe, uint32_t off)
{
	struct vu_config c = { .offset = 0, .size = 60 };
	struct vu_msg m;
	uint32_t v;

	CHECK_EQ(tfe_send(fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 60, NULL, 0), 0);
	CHECK_EQ(tfe_recv(fe, VU_GET_CONFIG, &m), 0);
	CHECK_EQ(m.hdr.size, VU_CONFIG_HDR_SIZE + 60);
	memcpy(&v, m.p.config.region + off, 4);
	return virtq_le32_to_cpu(v);
}

static void well_formed(struct tfe *fe)
{
	static uint8_t buf[8192], back[8192];
	uint8_t *in;
	int64_t used;

	/* Offered features and config space. */
	CHECK(fe->features & VIRTQ_FEATURE(VIRTQ_F_VERSION_1));
	CHECK(fe->features & (1ull << 9));	/* FLUSH */
	CHECK(fe->features & (1ull << 13));	/* DISCARD */
	CHECK(fe->features & (1ull << 14));	/* WRITE_ZEROES */
	CHECK(!(fe->features & (1ull << 5)));	/* not RO */
	CHECK_EQ(config32(fe, 0), SECTORS);	/* capacity, low half */
	CHECK_EQ(config32(fe, 4), 0);
	CHECK_EQ(config32(fe, 20), 512);	/* blk_size */
	CHECK_EQ(config32(fe, 12), 126);	/* seg_max */
	CHECK_EQ(config32(fe, 34) & 0xffff, 1);	/* num_queues */

	/* OUT then IN. */
	fill(buf, 4096);
	CHECK_EQ(rw(fe, T_OUT, 16, buf, 4096), S_OK);
	memcpy(shadow + 16 * 512, buf, 4096);
	check_image("OUT 16+8");
	CHECK_EQ(req(fe, 0, T_IN, 16, NULL, 0, &in, 4096, false, &used), S_OK);
	CHECK(!memcmp(in, buf, 4096));
	CHECK_EQ(used, 4097);
	/* Last sector of the disk. */
	fill(buf, 512);
	CHECK_EQ(rw(fe, T_OUT, SECTORS - 1, buf, 512), S_OK);
	memcpy(shadow + (SECTORS - 1) * 512, buf, 512);
	CHECK_EQ(rw(fe, T_IN, SECTORS - 1, back, 512), S_OK);
	CHECK(!memcmp(back, buf, 512));
	check_image("OUT last sector");
	/* Header split over two descriptors. */
	fill(buf, 1024);
	CHECK_EQ(req(fe, 0, T_OUT, 40, buf, 1024, NULL, 0, true, NULL), S_OK);
	memcpy(shadow + 40 * 512, buf, 1024);
	check_image("OUT split header");
	/* Data in several descriptors. */
	{
		uint8_t *a = tfe_alloc(fe, 512, 8), *b = tfe_alloc(fe, 1024, 8);
		uint8_t *c = tfe_alloc(fe, 512, 8), *st = tfe_alloc(fe, 1, 1);
		struct blk_hdr *h = tfe_alloc(fe, 16, 8);
		struct virtq_sg o = { h, 16 };
		struct virtq_sg i[4] = { { a, 512 }, { b, 1024 }, { c, 512 }, { st, 1 } };

		h->type = virtq_cpu_to_le32(T_IN);
		h->sector = virtq_cpu_to_le64(16);
		CHECK_EQ(tfe_request(fe, 0, &o, 1, i, 4), 2049);
		CHECK_EQ(*st, S_OK);
		CHECK(!memcmp(a, shadow + 16 * 512, 512));
		CHECK(!memcmp(b, shadow + 17 * 512, 1024));
		CHECK(!memcmp(c, shadow + 19 * 512, 512));
	}
	/* FLUSH, GET_ID. */
	CHECK_EQ(req(fe, 0, T_FLUSH, 0, NULL, 0, NULL, 0, false, NULL), S_OK);
	CHECK_EQ(req(fe, 0, T_GET_ID, 0, NULL, 0, &in, 20, false, &used), S_OK);
	CHECK(!memcmp(in, SERIAL, sizeof(SERIAL)));	/* zero padded */
	CHECK_EQ(in[19], 0);
	CHECK_EQ(used, 21);
	/* A longer GET_ID buffer: 20 bytes of id, yet the used length covers
	 * the status byte at the end (the dirty log marks what it covers). */
	CHECK_EQ(req(fe, 0, T_GET_ID, 0, NULL, 0, &in, 64, false, &used), S_OK);
	CHECK(!memcmp(in, SERIAL, sizeof(SERIAL)));
	CHECK_EQ(used, 65);

	/* WRITE_ZEROES, without and with UNMAP, two segments. */
	fill(buf, 8192);
	CHECK_EQ(rw(fe, T_OUT, 100, buf, 8192), S_OK);
	memcpy(shadow + 100 * 512, buf, 8192);
	{
		struct dwz_seg s[2] = { { 100, 4, 0 }, { 110, 2, 1 } };

		CHECK_EQ(dwz(fe, T_WZ, s, 2), S_OK);
		memset(shadow + 100 * 512, 0, 4 * 512);
		memset(shadow + 110 * 512, 0, 2 * 512);
		check_image("WRITE_ZEROES");
	}
	/* DISCARD: contents after it are unspecified; nothing else moves. */
	{
		struct dwz_seg s = { 104, 4, 0 };
		int fd = open(img_path, O_RDONLY);

		CHECK_EQ(dwz(fe, T_DISCARD, &s, 1), S_OK);
		CHECK_EQ(pread(fd, shadow + 104 * 512, 4 * 512, 104 * 512), 4 * 512);
		close(fd);
		check_image("DISCARD");
	}
}

static void malformed(struct tfe *fe)
{
	static uint8_t buf[8192];
	uint8_t *in;
	int64_t used;

	/* Past the end, straddling the end, sector overflow. */
	CHECK_EQ(req(fe, 0, T_IN, SECTORS - 1, NULL, 0, &in, 1024, false, &used), S_IOERR);
	CHECK_EQ(in[0], 0x5a);			/* nothing read into it */
	/* The used length still covers the status byte, the chain's last
	 * byte: with a length of 1 a migration's dirty log missed it. */
	CHECK_EQ(used, 1025);
	CHECK_EQ(req(fe, 0, T_IN, SECTORS, NULL, 0, &in, 512, false, NULL), S_IOERR);
	fill(buf, 8192);
	CHECK_EQ(rw(fe, T_OUT, SECTORS - 8, buf, 8192), S_IOERR);
	CHECK_EQ(rw(fe, T_OUT, ~0ull >> 1, buf, 512), S_IOERR);
	CHECK_EQ(rw(fe, T_OUT, ~0ull, buf, 512), S_IOERR);
	check_image("OUT past the end");
	/* Data length not a multiple of 512. */
	CHECK_EQ(rw(fe, T_OUT, 0, buf, 100), S_IOERR);
	CHECK_EQ(req(fe, 0, T_IN, 0, NULL, 0, &in, 700, false, NULL), S_IOERR);
	check_image("OUT of 100 bytes");
	/* IN with device-readable data after the header. */
	CHECK_EQ(req(fe, 0, T_IN, 0, buf, 512, &in, 512, false, NULL), S_IOERR);
	/* Unknown type. */
	CHECK_EQ(req(fe, 0, 99, 0, NULL, 0, NULL, 0, false, NULL), S_UNSUPP);
	CHECK_EQ(req(fe, 0, 0x10000, 0, buf, 512, NULL, 0, false, NULL), S_UNSUPP);
	check_image("unknown type");
	/* Header too short. */
	{
		uint8_t *h = tfe_alloc(fe, 8, 8), *st = tfe_alloc(fe, 1, 1);
		struct virtq_sg o = { h, 8 }, i = { st, 1 };

		memset(h, 0, 8);
		h[0] = T_OUT;
		*st = S_UNTOUCHED;
		CHECK_EQ(tfe_request(fe, 0, &o, 1, &i, 1), 1);
		CHECK_EQ(*st, S_IOERR);
	}
	/* No status byte: OUT header and data, nothing writable. */
	{
		struct blk_hdr *h = tfe_alloc(fe, 16, 8);
		uint8_t *d = tfe_alloc(fe, 512, 8);
		struct virtq_sg o[2] = { { h, 16 }, { d, 512 } };

		h->type = virtq_cpu_to_le32(T_OUT);
		h->sector = 0;
		memset(d, 0xab, 512);
		CHECK_EQ(tfe_request(fe, 0, o, 2, NULL, 0), 0);
		check_image("no status byte");
	}
	/* DISCARD / WRITE_ZEROES: bad flags, out of range, bad lengths; a
	 * valid segment next to a bad one is not applied either. */
	{
		struct dwz_seg unmap = { 0, 8, 1 }, flag2 = { 0, 8, 2 };
		struct dwz_seg far = { SECTORS - 4, 8, 0 };
		struct dwz_seg mixed[2] = { { 16, 8, 0 }, { SECTORS, 1, 0 } };
		struct dwz_seg huge = { 0, 1u << 23, 0 };
		struct dwz_seg nine[9];

		CHECK_EQ(dwz(fe, T_DISCARD, &unmap, 1), S_UNSUPP);
		CHECK_EQ(dwz(fe, T_DISCARD, &flag2, 1), S_UNSUPP);
		CHECK_EQ(dwz(fe, T_WZ, &flag2, 1), S_UNSUPP);
		CHECK_EQ(dwz(fe, T_DISCARD, &far, 1), S_IOERR);
		CHECK_EQ(dwz(fe, T_WZ, &far, 1), S_IOERR);
		CHECK_EQ(dwz(fe, T_WZ, mixed, 2), S_IOERR);
		CHECK_EQ(dwz(fe, T_WZ, &huge, 1), S_IOERR);
		CHECK_EQ(dwz(fe, T_WZ, NULL, 0), S_IOERR);	/* no segment */
		for (int i = 0; i < 9; i++)
			nine[i] = (struct dwz_seg){ (uint64_t)i * 8, 1, 0 };
		CHECK_EQ(req(fe, 0, T_WZ, 0, nine, 9 * 16, NULL, 0, false, NULL), S_IOERR);
		CHECK_EQ(req(fe, 0, T_WZ, 0, nine, 20, NULL, 0, false, NULL), S_IOERR);
		check_image("bad DISCARD / WRITE_ZEROES");
	}
	/* No header at all: only the status byte. */
	{
		struct blk_hdr *h = tfe_alloc(fe, 16, 8);
		uint8_t *st = tfe_alloc(fe, 1, 1);
		struct virtq_sg i = { st, 1 };

		h->type = virtq_cpu_to_le32(T_GET_ID);
		*st = S_UNTOUCHED;
		CHECK_EQ(tfe_request(fe, 0, NULL, 0, &i, 1), 1);
		CHECK_EQ(*st, S_IOERR);
	}
	/* Still serving. */
	CHECK_EQ(req(fe, 0, T_IN, 16, NULL, 0, &in, 512, false, &used), S_OK);
	CHECK(!memcmp(in, shadow + 16 * 512, 512));
	check_image("after malformed requests");
}

/* Many requests in flight at once: one batch, one kick. */
static void burst(struct tfe *fe)
{
	enum { N = 42 };	/* 3 descriptors each, queue of 128 */
	struct tfe_queue *q = &fe->q[0];
	struct blk_hdr *h = tfe_alloc(fe, N * sizeof(*h), 8);
	uint8_t *data = tfe_alloc(fe, N * 512, 8), *st = tfe_alloc(fe, N, 1);
	int done = 0, polls = 0;

	fill(data, N * 512);
	for (int i = 0; i < N; i++) {
		struct virtq_sg o[2] = { { &h[i], 16 }, { data + i * 512, 512 } };
		struct virtq_sg in = { &st[i], 1 };

		h[i].type = virtq_cpu_to_le32(T_OUT);
		h[i].sector = virtq_cpu_to_le64(500 + (uint64_t)i * 3);
		st[i] = S_UNTOUCHED;
		CHECK_EQ(virtq_driver_add(q->drv, o, 2, &in, 1, &st[i]), 0);
		memcpy(shadow + (500 + i * 3) * 512, data + i * 512, 512);
	}
	if (virtq_driver_kick_prepare(q->drv))
		CHECK_EQ(eventfd_write(q->kick, 1), 0);
	while (done < N) {
		void *tok;
		uint32_t len;
		int r = virtq_driver_get_used(q->drv, &tok, &len);

		CHECK(r >= 0);
		if (r) {
			CHECK_EQ(*(uint8_t *)tok, S_OK);
			done++;
			continue;
		}
		CHECK(++polls < 1000);
		struct pollfd p = { .fd = q->call, .events = POLLIN };

		if (poll(&p, 1, 10) > 0) {
			eventfd_t v;

			(void)eventfd_read(q->call, &v);
		}
	}
	check_image("burst of writes");
}

static void read_only(void)
{
	static uint8_t buf[512];
	pid_t pid = start_blk("--read-only", NULL);
	struct tfe *fe = connect_blk(1);
	struct dwz_seg s = { 0, 8, 0 };

	CHECK(fe->features & (1ull << 5));	/* VIRTIO_BLK_F_RO */
	fill(buf, 512);
	CHECK_EQ(rw(fe, T_OUT, 0, buf, 512), S_IOERR);
	CHECK_EQ(dwz(fe, T_WZ, &s, 1), S_IOERR);
	CHECK_EQ(dwz(fe, T_DISCARD, &s, 1), S_IOERR);
	CHECK_EQ(rw(fe, T_IN, 16, buf, 512), S_OK);
	CHECK(!memcmp(buf, shadow + 16 * 512, 512));
	CHECK_EQ(req(fe, 0, T_FLUSH, 0, NULL, 0, NULL, 0, false, NULL), S_OK);
	check_image("read-only");
	tfe_close(fe);
	stop_blk(pid);
}

static void two_queues(void)
{
	static uint8_t buf[1024];
	pid_t pid = start_blk("--queues", "2");
	struct tfe *fe = connect_blk(2);
	uint8_t *in;

	CHECK_EQ(tfe_get_u64(fe, VU_GET_QUEUE_NUM), 2);
	CHECK_EQ(config32(fe, 34) & 0xffff, 2);
	fill(buf, 1024);
	CHECK_EQ(req(fe, 1, T_OUT, 64, buf, 1024, NULL, 0, false, NULL), S_OK);
	memcpy(shadow + 64 * 512, buf, 1024);
	CHECK_EQ(req(fe, 0, T_IN, 64, NULL, 0, &in, 1024, false, NULL), S_OK);
	CHECK(!memcmp(in, buf, 1024));
	check_image("two queues");
	tfe_close(fe);
	stop_blk(pid);
}

static char tmp_dir[] = "/tmp/vblk-req-XXXXXX";

/* Also after a failed CHECK (exit(1)): no files left behind. */
static void cleanup(void)
{
	unlink(img_path);
	unlink(sock_path);
	rmdir(tmp_dir);
}

int main(void)
{
	char *dir = tmp_dir;
	struct tfe *fe;
	pid_t pid;
	int fd;

	CHECK(mkdtemp(dir));
	snprintf(img_path, sizeof(img_path), "%s/disk.img", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	atexit(cleanup);
	fill(shadow, IMG_SIZE);
	fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, shadow, IMG_SIZE, 0), IMG_SIZE);
	close(fd);

	pid = start_blk(NULL, NULL);
	fe = connect_blk(1);
	well_formed(fe);
	malformed(fe);
	burst(fe);
	tfe_close(fe);
	/* A new connection to the same process works. */
	fe = connect_blk(1);
	CHECK_EQ(req(fe, 0, T_FLUSH, 0, NULL, 0, NULL, 0, false, NULL), S_OK);
	tfe_close(fe);
	stop_blk(pid);

	read_only();
	two_queues();

	unlink(img_path);
	CHECK_EQ(rmdir(dir), 0);
	return 0;
}
