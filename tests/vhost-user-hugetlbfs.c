/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-hugetlbfs: guest memory in a hugetlbfs file, as QEMU's
 * memory-backend-file,mem-path=<hugetlbfs>,share=on shares it, with a
 * region that starts at an offset that is page aligned but not huge page
 * aligned (QEMU splits RAM around the legacy hole at 0xc0000).  The
 * backend maps it from an offset aligned to the file's huge page size,
 * with MAP_NORESERVE, and marks it MADV_DONTDUMP (a core dump of the
 * backend holds no guest RAM: smaps VmFlags "nr" and "dd"); a ring in it
 * serves requests.  Needs root (mount hugetlbfs, reserve huge pages);
 * skips otherwise.  Huge pages it reserved are given back.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define HUGE	(2u << 20)
#define FILE_SZ	(4 * HUGE)
#define OFF	0xc0000u

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

/* Mappings of @file in this process with both VmFlags. */
static int dontdump_maps(const char *file)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	int n = 0;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2)	/* a mapping */
			in = strstr(line, file) != NULL;
		else if (in && !strncmp(line, "VmFlags:", 8) &&
			 strstr(line, " dd") && strstr(line, " nr"))
			n++;
	}
	fclose(f);
	return n;
}

static const char *nr_path = "/proc/sys/vm/nr_hugepages";
static char dir[] = "/tmp/vu-huge-XXXXXX", mnt[64], file[96], path[96];
static long nr0 = -1;
static bool mounted;

/* Whatever way the test ends: the mount and the huge pages go. */
static void cleanup(void)
{
	unlink(file);
	if (mounted && umount(mnt) < 0)
		(void)umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	unlink(path);
	rmdir(dir);
	if (nr0 >= 0 && read_long(nr_path) != nr0)
		write_long(nr_path, nr0);
}

int main(void)
{
	long free0;
	struct virtq_vu_backend *be;
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1),
		.num_queues = 1,
		.ops = &ops,
	};
	struct vu_mem_table mt = { .nregions = 1 };
	struct tfe fe;
	pthread_t th;
	char *base;
	int fd, rc = 0;

	nr0 = read_long(nr_path);
	CHECK(mkdtemp(dir));
	atexit(cleanup);
	snprintf(mnt, sizeof(mnt), "%s/huge", dir);
	snprintf(file, sizeof(file), "%s/guest-ram", mnt);
	snprintf(path, sizeof(path), "%s/sock", dir);
	CHECK_EQ(mkdir(mnt, 0700), 0);
	free0 = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
	if (nr0 < 0 || free0 < 0 ||
	    (free0 < 4 && !write_long(nr_path, nr0 + 4 - free0)) ||
	    mount("none", mnt, "hugetlbfs", 0, "pagesize=2M") < 0) {
		printf("skip: cannot reserve 2 MiB huge pages and mount hugetlbfs here (needs root)\n");
		return TEST_SKIP;
	}
	mounted = true;
	fd = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, FILE_SZ), 0);
	base = mmap(NULL, FILE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		printf("skip: no huge pages free for the guest memory\n");
		rc = TEST_SKIP;
		goto out;
	}

	CHECK_EQ(virtq_vu_backend_create(&be, &cfg), 0);
	CHECK_EQ(virtq_vu_backend_listen(be, path), 0);
	CHECK_EQ(pthread_create(&th, NULL, tbe_run, be), 0);
	/* The test frontend's memory: the file from OFF on. */
	tfe_init(&fe, path, 4096);
	munmap(fe.mem, fe.mem_size);
	close(fe.memfd);
	fe.memfd = fd;
	fe.mem = base + OFF;
	fe.mem_size = FILE_SZ - OFF;
	mt.regions[0] = tfe_region(&fe);
	mt.regions[0].mmap_offset = OFF;
	(void)tfe_get_u64(&fe, VU_GET_FEATURES);
	fe.proto = tfe_get_u64(&fe, VU_GET_PROTOCOL_FEATURES);
	CHECK_EQ(tfe_send(&fe, VU_SET_PROTOCOL_FEATURES, 0, &fe.proto, 8, NULL, 0), 0);
	fe.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | 1ull << VU_F_PROTOCOL_FEATURES;
	tfe_set_u64(&fe, VU_SET_FEATURES, fe.features);
	if (tfe_acked(&fe, VU_SET_MEM_TABLE, &mt, 8 + 32, &fd, 1) != 0) {
		fprintf(stderr, "FAIL: a hugetlbfs region at offset 0x%x was not mapped\n", OFF);
		return 1;
	}
	CHECK_EQ(dontdump_maps(file), 1);	/* the backend's; ours has neither */
	tfe_queue(&fe, 0, 64);
	for (int n = 0; n < 8; n++) {
		char *b = tfe_alloc(&fe, 64, 8);
		struct virtq_sg o = { b, 8 }, i = { b + 32, 16 };

		snprintf(b, 8, "huge%02d", n);
		CHECK_EQ(tfe_request(&fe, 0, &o, 1, &i, 1), 8);
		CHECK(!memcmp(b + 32, b, 8));
	}
	/* tfe_close would unmap fe.mem: give it the whole mapping back. */
	fe.mem = base;
	fe.mem_size = FILE_SZ;
	tfe_close(&fe);
	virtq_vu_backend_stop(be);
	CHECK_EQ(pthread_join(th, NULL), 0);
	virtq_vu_backend_destroy(be);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;	/* cleanup() at exit */
}
