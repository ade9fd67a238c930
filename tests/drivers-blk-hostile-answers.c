/* SPDX-License-Identifier: MIT */
/*
 * drivers-blk-hostile-answers: a virtio-blk device that answers badly.
 * Each bad answer gets its own error and nothing crashes:
 *   status IOERR -> -EIO, UNSUPP -> -ENOTSUP, an unknown status byte or
 *   none written -> -EPROTO; a used length of 0 (no status byte) or short
 *   of the data asked for -> -EPROTO; a used length above what the chain
 *   can take -> the queue is broken: -EIO, now and for every later call.
 * The driver stays usable after the per-request errors.
 */
#include "fake-blk.h"

static struct fake_dev *up(struct fake_blk *b, struct virtq_blk **blk, uint8_t **buf)
{
	struct fake_dev *fd = fake_blk_new(b, 256, VIRTQ_FEATURE(VIRTQ_BLK_F_FLUSH), 0);

	*blk = fake_alloc(fd, sizeof(**blk), 64);
	*buf = fake_alloc(fd, 8192, 64);
	CHECK_EQ(fake_blk_init(fd, *blk, 16, 0, 0), 0);
	return fd;
}

int main(void)
{
	static const struct { int status; int want; } st[] = {
		{ VIRTQ_BLK_S_IOERR, -EIO }, { VIRTQ_BLK_S_UNSUPP, -ENOTSUP },
		{ 3, -EPROTO }, { 0x7f, -EPROTO }, { 0xff, -EPROTO },
	};
	struct fake_blk b;
	struct virtq_blk *blk;
	struct fake_dev *fd;
	uint8_t *buf;
	char *id;
	unsigned int i;

	fd = up(&b, &blk, &buf);
	id = fake_alloc(fd, 20, 1);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		b.status_override = st[i].status;
		CHECK_EQ(virtq_blk_read(blk, 0, buf, 4096), st[i].want);
		CHECK_EQ(virtq_blk_write(blk, 8, buf, 512), st[i].want);
		CHECK_EQ(virtq_blk_flush(blk), st[i].want);
		CHECK_EQ(virtq_blk_get_id(blk, id, NULL), st[i].want);
	}
	b.status_override = -1;

	/* The status byte never written: it keeps the driver's 0xff. */
	b.no_status = true;
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -EPROTO);
	CHECK_EQ(virtq_blk_flush(blk), -EPROTO);
	b.no_status = false;

	/* Used length 0: the device claims it wrote no status byte. */
	b.len_override = 0;
	CHECK_EQ(virtq_blk_flush(blk), -EPROTO);
	CHECK_EQ(virtq_blk_write(blk, 0, buf, 512), -EPROTO);
	/* A short read: fewer bytes than asked for. */
	b.len_override = -1;
	b.len_delta = -1;
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 4096), -EPROTO);
	b.len_delta = 0;

	/* Still fine after all that. */
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 8192), 0);
	CHECK_EQ(virtq_driver_num_free(virtq_blk_queue(blk)), 16);

	/* A used length beyond the chain: the queue is broken for good. */
	b.len_delta = 1;
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -EIO);
	b.len_delta = 0;
	CHECK_EQ(virtq_blk_read(blk, 0, buf, 512), -EIO);
	CHECK_EQ(virtq_blk_flush(blk), -EIO);
	fake_free(fd);

	/* The same through the asynchronous path. */
	fd = up(&b, &blk, &buf);
	{
		struct virtq_blk_req *req = fake_alloc(fd, sizeof(*req), 64), *done = NULL;

		req->type = VIRTQ_BLK_T_IN;
		req->sector = 4;
		req->buf = buf;
		req->len = 1024;
		b.status_override = VIRTQ_BLK_S_IOERR;
		CHECK_EQ(virtq_blk_submit(blk, req), 0);
		CHECK_EQ(virtq_blk_poll(blk, &done), 1);
		CHECK(done == req);
		CHECK_EQ(req->result, -EIO);
		b.status_override = -1;
		b.len_override = 5000;		/* above 1024 + 1 */
		CHECK_EQ(virtq_blk_submit(blk, req), 0);
		CHECK_EQ(virtq_blk_poll(blk, &done), -EIO);
		CHECK_EQ(virtq_blk_poll(blk, &done), -EIO);
		CHECK_EQ(virtq_blk_submit(blk, req), -EIO);
	}
	fake_free(fd);
	printf("drivers-blk-hostile-answers: ok\n");
	return 0;
}
