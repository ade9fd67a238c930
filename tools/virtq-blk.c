/* SPDX-License-Identifier: MIT */
/*
 * virtq-blk - a vhost-user-blk backend serving a raw image.
 *
 *   virtq-blk --socket /tmp/vblk.sock --image disk.img [--read-only]
 *             [--queues N] [--serial STR]
 *
 * SIGHUP after the image changed size: the new capacity goes to the
 * frontend (CONFIG_CHANGE_MSG) and on to the guest.
 *
 * QEMU attaches with
 *   -chardev socket,id=vb,path=/tmp/vblk.sock
 *   -device vhost-user-blk-pci,chardev=vb,num-queues=N
 * (guest RAM must be shared: memory-backend-memfd,share=on).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtq/vhost_user.h"
#include "virtq-blk/blk.h"

static struct virtq_vu_backend *backend;
static int resize_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	(void)sig;
	if (backend)
		virtq_vu_backend_stop(backend);
}

/* SIGHUP: the image changed size; the resize thread handles it. */
static void on_hup(int sig)
{
	char c = 1;

	(void)sig;
	if (write(resize_pipe[1], &c, 1) < 0)
		return;	/* a resize is pending already (pipe full) */
}

struct resizer {
	struct virtq_vu_backend *be;
	struct blk_disk *disk;
	unsigned int queues;
};

/*
 * Live resize: read the image size again, put it in the config space and
 * tell the frontend (CONFIG_CHANGE_MSG); QEMU reads the config again and
 * the guest's driver sees the new capacity.  A thread of its own: the
 * frontend reads the config on the main socket (the runner's thread)
 * before it acks.  A 0 byte on the pipe ends it.
 */
static void *resize_thread(void *arg)
{
	struct resizer *rz = arg;
	uint8_t cfg[BLK_CONFIG_LEN];

	for (;;) {
		uint64_t old, now;
		ssize_t n;
		char c;
		int r;

		n = read(resize_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == 0)
			return NULL;
		r = blk_disk_resize(rz->disk, &old, &now);
		if (r < 0) {
			fprintf(stderr, "virtq-blk: SIGHUP: cannot read the image size (%s); still %llu sectors\n",
				strerror(-r), (unsigned long long)blk_disk_sectors(rz->disk));
			continue;
		}
		if (r == 0) {
			fprintf(stderr, "virtq-blk: SIGHUP: the image is still %llu sectors\n",
				(unsigned long long)now);
			continue;
		}
		blk_config(rz->disk, rz->queues, cfg);
		virtq_vu_backend_set_config_space(rz->be, cfg, sizeof(cfg));
		r = virtq_vu_backend_config_changed(rz->be);
		fprintf(stderr, "virtq-blk: image resized from %llu to %llu sectors; %s\n",
			(unsigned long long)old, (unsigned long long)now,
			r == 0 ? "the frontend was told" :
			r == -ENOTCONN ? "no frontend channel to tell (a frontend reads the size when it connects)" :
			strerror(-r));
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: virtq-blk --socket PATH --image FILE [options]\n"
		"Serve FILE (a raw image or block device) as a vhost-user-blk device.\n"
		"\n"
		"  -s, --socket PATH   unix socket to listen on (replaced if stale)\n"
		"  -i, --image FILE    raw disk image\n"
		"  -r, --read-only     open the image read-only, advertise VIRTIO_BLK_F_RO\n"
		"  -q, --queues N      virtqueues, 1..%d (default 1)\n"
		"  -S, --serial STR    GET_ID answer, at most 20 bytes (default: none)\n"
		"  -Q, --quiet         do not log rejected guest requests\n"
		"  -D, --direct        O_DIRECT, bypass the page cache (QEMU's cache.direct=on);\n"
		"                      requests not aligned as O_DIRECT needs stay buffered\n"
		"  -h, --help          this text\n"
		"\n"
		"Live resize: grow (or shrink) FILE, then send SIGHUP: virtq-blk reads its\n"
		"size again and tells the frontend, whose guest sees the new capacity.\n"
		"\n"
		"QEMU: -chardev socket,id=vb,path=PATH -device vhost-user-blk-pci,chardev=vb\n"
		"with guest RAM in a shared memfd (memory-backend-memfd,share=on).\n",
		VIRTQ_VU_MAX_QUEUES);
}

static int parse_queues(const char *s, unsigned int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > VIRTQ_VU_MAX_QUEUES)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "queues", required_argument, NULL, 'q' },
		{ "serial", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "direct", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sock = NULL, *image = NULL, *serial = NULL;
	unsigned int queues = 1;
	bool ro = false, quiet = false, direct = false;
	struct virtq_vu_backend *be;
	struct blk_disk disk;
	uint8_t cfg[BLK_CONFIG_LEN];
	char err[512];
	struct sigaction sa = { .sa_handler = on_signal };
	int c, r;

	opterr = 0;	/* our own one-line messages */
	while ((c = getopt_long(argc, argv, "s:i:rq:S:QDh", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'i': image = optarg; break;
		case 'r': ro = true; break;
		case 'q':
			if (parse_queues(optarg, &queues) < 0) {
				fprintf(stderr, "virtq-blk: --queues '%s' is not a number in 1..%d\n",
					optarg, VIRTQ_VU_MAX_QUEUES);
				return 2;
			}
			break;
		case 'S': serial = optarg; break;
		case 'Q': quiet = true; break;
		case 'D': direct = true; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "virtq-blk: unknown option or missing value in '%s'; see virtq-blk --help\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "virtq-blk: unexpected argument '%s'; see virtq-blk --help\n",
			argv[optind]);
		return 2;
	}
	if (!sock || !image) {
		fprintf(stderr, "virtq-blk: missing %s (e.g. virtq-blk --socket /tmp/vblk.sock --image disk.img)\n",
			!sock ? "--socket PATH" : "--image FILE");
		return 2;
	}
	r = blk_disk_open(&disk, image, ro, serial, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "virtq-blk: %s\n", err);
		return 1;
	}
	if (direct && blk_disk_open_direct(&disk, image, err, sizeof(err)) < 0) {
		fprintf(stderr, "virtq-blk: %s\n", err);
		blk_disk_close(&disk);
		return 1;
	}
	disk.quiet = quiet;
	blk_config(&disk, queues, cfg);

	struct virtq_vu_backend_config bc = {
		.features = blk_features(&disk),
		.num_queues = queues,
		.config = cfg,
		.config_len = sizeof(cfg),
		.ops = &blk_ops,
		.opaque = &disk,
	};
	r = virtq_vu_backend_create(&be, &bc);
	if (r < 0) {
		fprintf(stderr, "virtq-blk: cannot create the backend: %s\n", strerror(-r));
		goto out_disk;
	}
	r = virtq_vu_backend_listen(be, sock);
	if (r < 0) {
		if (r == -EADDRINUSE)
			fprintf(stderr, "virtq-blk: cannot listen on '%s': another process is serving it\n",
				sock);
		else if (r == -EEXIST)
			fprintf(stderr, "virtq-blk: cannot listen on '%s': it exists and is not a socket (remove it or pick another path)\n",
				sock);
		else
			fprintf(stderr, "virtq-blk: cannot listen on '%s': %s\n", sock,
				strerror(-r));
		goto out_be;
	}
	backend = be;
	struct resizer rz = { .be = be, .disk = &disk, .queues = queues };
	struct sigaction hup = { .sa_handler = on_hup, .sa_flags = SA_RESTART };
	pthread_t rth;
	bool have_rth = false;

	if (pipe2(resize_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		/* The thread's end blocks; the signal handler's does not. */
		fcntl(resize_pipe[0], F_SETFL, 0);
		have_rth = pthread_create(&rth, NULL, resize_thread, &rz) == 0;
		if (have_rth)
			sigaction(SIGHUP, &hup, NULL);
	}
	if (!have_rth)
		fprintf(stderr, "virtq-blk: no resize thread: SIGHUP will not resize\n");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "virtq-blk: serving %s (%llu sectors%s, %u queue%s) on %s\n",
		image, (unsigned long long)disk.sectors, ro ? ", read-only" : "",
		queues, queues > 1 ? "s" : "", sock);
	r = virtq_vu_backend_run(be);
	if (r < 0)
		fprintf(stderr, "virtq-blk: %s\n", strerror(-r));
	else
		fprintf(stderr, "virtq-blk: stopped\n");
	backend = NULL;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (have_rth) {
		char zero = 0;

		signal(SIGHUP, SIG_IGN);
		fcntl(resize_pipe[1], F_SETFL, 0);	/* the 0 must get through */
		if (write(resize_pipe[1], &zero, 1) == 1)
			pthread_join(rth, NULL);
	}
out_be:
	virtq_vu_backend_destroy(be);
out_disk:
	blk_disk_close(&disk);
	return r < 0 ? 1 : 0;
}
