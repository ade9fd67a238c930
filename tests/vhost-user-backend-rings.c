/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-backend-rings: the ring life cycle a real frontend drives,
 * against the built-in runner and an echo device.
 *
 *  - GET_VRING_BASE stops the ring and returns the next avail index; a
 *    chain offered while stopped waits, and is served once SET_VRING_BASE
 *    + a new kick fd restart the ring;
 *  - SET_VRING_ENABLE 0 pauses the ring (nothing served), 1 resumes it;
 *  - ADD_MEM_REG while the ring runs: buffers in the new region work;
 *    REM_MEM_REG: the old region keeps working; removing and re-adding
 *    the region that holds the rings pauses the ring, not the connection;
 *  - a new connection resumes the same rings at the index it is given
 *    (what QEMU does after a backend restart);
 *  - SET_CONFIG goes through the device's hook (accepted: GET_CONFIG shows
 *    it; refused: REPLY_ACK says so and the connection stays);
 *  - SET_STATUS / GET_STATUS, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS;
 *  - RESET_DEVICE stops everything and a fresh setup works again.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define MEM_SIZE	(1u << 20)
#define QSIZE		16
#define NOT_SERVED_MS	200	/* how long a paused ring is watched */

static int set_config(void *opaque, uint32_t offset, const void *buf,
		      uint32_t len, uint32_t flags)
{
	(void)opaque;
	(void)buf;
	(void)flags;
	/* Only bytes 4..7 are writable in this device. */
	return offset == 4 && len == 4 ? 0 : -EPERM;
}

static const struct virtq_vu_backend_ops ops = {
	.queue_kick = echo_kick,
	.set_config = set_config,
};

/* One echo round trip on queue 0 with buffers from @mem. */
static void echo_in(struct tfe *fe, char *mem, const char *word)
{
	struct virtq_sg o = { mem, (uint32_t)strlen(word) + 1 };
	struct virtq_sg i = { mem + 64, 64 };

	strcpy(mem, word);
	memset(mem + 64, 0, 64);
	CHECK_EQ(tfe_request(fe, 0, &o, 1, &i, 1), strlen(word) + 1);
	CHECK(!strcmp(mem + 64, word));
}

/* Buffers for the echo requests: the last page, never handed out by
 * tfe_alloc (the rings are far smaller). */
static char *scratch(struct tfe *fe)
{
	return fe->mem + MEM_SIZE - 4096;
}

static uint32_t get_vring_base(struct tfe *fe, uint32_t index)
{
	struct vu_vring_state st = { .index = index };
	struct vu_msg m;

	CHECK_EQ(tfe_send(fe, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0), 0);
	CHECK_EQ(tfe_recv(fe, VU_GET_VRING_BASE, &m), 0);
	CHECK_EQ(m.hdr.size, sizeof(st));
	CHECK_EQ(m.p.state.index, index);
	return m.p.state.num;
}

static void stop_restart(struct tfe *fe)
{
	char *s = scratch(fe);
	struct virtq_sg o = { s, 5 }, i = { s + 64, 64 };
	uint32_t base;

	echo_in(fe, s, "one");
	echo_in(fe, s, "two");
	echo_in(fe, s, "three");
	base = get_vring_base(fe, 0);
	CHECK_EQ(base, 3);
	/* Stopped: a chain offered now waits. */
	strcpy(s, "four");
	tfe_offer(fe, 0, &o, 1, &i, 1);
	CHECK_EQ(tfe_wait(fe, 0, NOT_SERVED_MS), -ETIMEDOUT);
	/* Restart at the index GET_VRING_BASE gave: the waiting chain runs. */
	tfe_queue_send(fe, 0, base);
	CHECK_EQ(tfe_wait(fe, 0, TFE_TIMEOUT_MS), 5);
	CHECK(!strcmp(s + 64, "four"));
	CHECK_EQ(get_vring_base(fe, 0), 4);
	tfe_queue_send(fe, 0, 4);
}

static void enable_disable(struct tfe *fe)
{
	char *s = scratch(fe);
	struct virtq_sg o = { s, 4 }, i = { s + 64, 64 };

	tfe_vring(fe, VU_SET_VRING_ENABLE, 0, 0);
	strcpy(s, "off");
	tfe_offer(fe, 0, &o, 1, &i, 1);
	CHECK_EQ(tfe_wait(fe, 0, NOT_SERVED_MS), -ETIMEDOUT);
	tfe_vring(fe, VU_SET_VRING_ENABLE, 0, 1);
	CHECK_EQ(tfe_wait(fe, 0, TFE_TIMEOUT_MS), 4);
	CHECK(!strcmp(s + 64, "off"));
}

static void hotplug(struct tfe *fe)
{
	struct vu_mem_single reg = { 0 };

	/* The region starts 8 KiB + 100 bytes into its memfd. */
	const size_t off = 8192 + 100;
	char *base;

	fe->mem2_size = 64 * 1024;
	fe->gpa2 = 1ull << 36;
	fe->memfd2 = memfd_create("vu-test-guest2", MFD_CLOEXEC);
	CHECK(fe->memfd2 >= 0);
	CHECK_EQ(ftruncate(fe->memfd2, (off_t)(off + fe->mem2_size)), 0);
	base = mmap(NULL, off + fe->mem2_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fe->memfd2, 0);
	CHECK(base != MAP_FAILED);
	fe->mem2 = base + off;
	reg.region = (struct vu_mem_region){
		.guest_phys_addr = fe->gpa2,
		.memory_size = fe->mem2_size,
		.userspace_addr = (uint64_t)(uintptr_t)fe->mem2,
		.mmap_offset = off,
	};
	/* Added while the ring runs; buffers there work at once. */
	TFE_OK(tfe_acked(fe, VU_ADD_MEM_REG, &reg, sizeof(reg), &fe->memfd2, 1));
	CHECK_EQ(tfe_count_maps("vu-test-guest2"), 2);	/* ours + backend's */
	echo_in(fe, fe->mem2 + 1000, "hot");
	echo_in(fe, scratch(fe), "cold");
	/* Removed again (an fd with REM_MEM_REG is tolerated and closed). */
	TFE_OK(tfe_acked(fe, VU_REM_MEM_REG, &reg, sizeof(reg), &fe->memfd2, 1));
	CHECK_EQ(tfe_count_maps("vu-test-guest2"), 1);
	echo_in(fe, scratch(fe), "after");
	munmap(base, off + fe->mem2_size);
	close(fe->memfd2);
	fe->mem2 = NULL;
	fe->memfd2 = -1;

	/* The region holding the rings goes and comes back (QEMU replaces a
	 * region this way): the ring waits in between, then runs again. */
	reg.region = tfe_region(fe);
	TFE_OK(tfe_acked(fe, VU_REM_MEM_REG, &reg, sizeof(reg), NULL, 0));
	CHECK_EQ(tfe_count_maps("vu-test-guest"), 1);	/* only ours */
	TFE_OK(tfe_acked(fe, VU_ADD_MEM_REG, &reg, sizeof(reg), &fe->memfd, 1));
	echo_in(fe, scratch(fe), "back");
}

static void config_and_status(struct tfe *fe)
{
	struct vu_config c = { .offset = 0, .size = 16 };
	struct vu_msg m;

	CHECK_EQ(tfe_get_u64(fe, VU_GET_QUEUE_NUM), 2);
	CHECK_EQ(tfe_get_u64(fe, VU_GET_MAX_MEM_SLOTS), VIRTQ_VU_MAX_MEM_SLOTS);
	/* Accepted write. */
	c.offset = 4;
	c.size = 4;
	memcpy(c.region, "WXYZ", 4);
	CHECK_EQ(tfe_acked(fe, VU_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 4, NULL, 0), 0);
	/* Refused write: non-zero ack, connection stays. */
	c.offset = 0;
	memcpy(c.region, "nope", 4);
	CHECK(tfe_acked(fe, VU_SET_CONFIG, &c, VU_CONFIG_HDR_SIZE + 4, NULL, 0) > 0);
	c = (struct vu_config){ .offset = 0, .size = 24 };
	CHECK_EQ(tfe_send(fe, VU_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 24, NULL, 0), 0);
	CHECK_EQ(tfe_recv(fe, VU_GET_CONFIG, &m), 0);
	CHECK_EQ(m.hdr.size, VU_CONFIG_HDR_SIZE + 24);
	/* 16 bytes of config space, then zeroes up to the size asked. */
	CHECK(!memcmp(m.p.config.region, "cfg:WXYZ-space!", 16));
	for (int i = 16; i < 24; i++)
		CHECK_EQ(m.p.config.region[i], 0);

	tfe_set_u64(fe, VU_SET_STATUS, 0xf);
	CHECK_EQ(tfe_get_u64(fe, VU_GET_STATUS), 0xf);
}

int main(void)
{
	struct tbe tb;
	uint8_t config[16] = "cfg:abcd-space!";
	struct virtq_vu_backend_config cfg = {
		.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			    VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
		.num_queues = 2,
		.config = config,
		.config_len = sizeof(config),
		.ops = &ops,
	};
	struct tfe fe;

	tbe_start(&tb, "vu-rings", &cfg);

	for (int evt = 0; evt < 2; evt++) {
		fprintf(stderr, "EVENT_IDX %s\n", evt ? "on" : "off");
		tfe_init(&fe, tb.path, MEM_SIZE);
		tfe_negotiate(&fe, evt ? ~0ull : ~VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
		CHECK_EQ(!!(fe.features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)), evt);
		tfe_queue(&fe, 0, QSIZE);
		stop_restart(&fe);
		enable_disable(&fe);
		hotplug(&fe);
		config_and_status(&fe);

		/* A new connection resumes the rings at the index given. */
		uint32_t base = get_vring_base(&fe, 0);

		close(fe.sock);
		fe.sock = tfe_connect(tb.path);
		tfe_negotiate(&fe, evt ? ~0ull : ~VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
		tfe_queue_send(&fe, 0, base);
		/* Wrap the 16-bit index on a small ring a few times. */
		for (int i = 0; i < 3 * QSIZE; i++)
			echo_in(&fe, scratch(&fe), "again");
		CHECK_EQ(get_vring_base(&fe, 0), base + 3 * QSIZE);

		/* RESET_DEVICE: everything stops; a fresh setup works. */
		TFE_OK(tfe_acked(&fe, VU_RESET_DEVICE, NULL, 0, NULL, 0));
		CHECK_EQ(get_vring_base(&fe, 0), 0);
		tfe_set_u64(&fe, VU_SET_FEATURES, fe.features);
		tfe_queue_send(&fe, 0, base + 3 * QSIZE);
		echo_in(&fe, scratch(&fe), "reset");
		tfe_close(&fe);
	}

	tbe_stop(&tb);
	return 0;
}
