/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-mem-slots: the backend offers 509 memory slots (as
 * libvhost-user and rust-vmm do).  A table of 509 regions is built with
 * ADD_MEM_REG (4 KiB slices of one memfd, adjacent in guest and user
 * space), a request whose buffer crosses the last few regions is served,
 * a 510th region is refused (failure ack, connection up), and after one
 * is removed another can be added.
 */
#include <pthread.h>

#include "vu-echo-device.h"
#include "vu-test-backend.h"
#include "vu-test-frontend.h"

#define SLICE	4096u

static const struct virtq_vu_backend_ops ops = { .queue_kick = echo_kick };

static struct vu_mem_single slice(struct tfe *fe, unsigned int n)
{
	struct vu_mem_single s = { 0 };

	s.region = (struct vu_mem_region){
		.guest_phys_addr = fe->gpa2 + (uint64_t)n * SLICE,
		.memory_size = SLICE,
		.userspace_addr = (uint64_t)(uintptr_t)(fe->mem2 + (size_t)n * SLICE),
		.mmap_offset = (uint64_t)n * SLICE,
	};
	return s;
}

int main(void)
{
	struct tbe tb;
	const unsigned int slots = VIRTQ_VU_MAX_MEM_SLOTS;
	struct vu_mem_single s;
	struct tfe fe;

	CHECK_EQ(slots, 509);
	tbe_start_one(&tb, "vu-slots", &ops);
	tfe_init(&fe, tb.path, 1 << 20);
	tfe_negotiate(&fe, ~0ull);	/* region 1: the rings */
	CHECK_EQ(tfe_get_u64(&fe, VU_GET_MAX_MEM_SLOTS), 509);
	tfe_queue(&fe, 0, 8);

	/* Slices 0..slots-1 exist; the table takes slots - 1 of them. */
	tfe_mem2(&fe, "vu-test-slices", (size_t)slots * SLICE);
	fe.gpa2 = 1ull << 36;
	for (unsigned int n = 0; n < slots - 1; n++) {
		s = slice(&fe, n);
		TFE_OK(tfe_acked(&fe, VU_ADD_MEM_REG, &s, sizeof(s), &fe.memfd2, 1));
	}
	/* 509 regions: a buffer across the last three slices works. */
	{
		char *b = fe.mem2 + (size_t)(slots - 5) * SLICE + SLICE - 100;
		struct virtq_sg o = { b, 2 * SLICE + 200 };
		char *in = tfe_alloc(&fe, 2 * SLICE + 200, 1);
		struct virtq_sg i = { in, 2 * SLICE + 200 };

		for (unsigned int k = 0; k < o.len; k++)
			b[k] = (char)(k * 7);
		CHECK_EQ(tfe_request(&fe, 0, &o, 1, &i, 1), 2 * SLICE + 200);
		CHECK(!memcmp(in, b, o.len));
	}
	/* The 510th is refused, and the connection stays. */
	s = slice(&fe, slots - 1);
	CHECK(tfe_acked(&fe, VU_ADD_MEM_REG, &s, sizeof(s), &fe.memfd2, 1) > 0);
	/* One out, the other in. */
	{
		struct vu_mem_single out = slice(&fe, 0);

		TFE_OK(tfe_acked(&fe, VU_REM_MEM_REG, &out, sizeof(out), NULL, 0));
	}
	TFE_OK(tfe_acked(&fe, VU_ADD_MEM_REG, &s, sizeof(s), &fe.memfd2, 1));
	{
		char *b = fe.mem2 + (size_t)(slots - 1) * SLICE;

		tfe_echo(&fe, 0, b, b + 64, "end");
	}
	tfe_close(&fe);
	tbe_stop(&tb);
	return 0;
}
