/* SPDX-License-Identifier: MIT */
/*
 * freestanding-use.c - a bare-metal style user of the driver side, built by
 * tests/cross/check-freestanding.sh for each bare-metal target together with
 * src/driver.c, to list the symbols the two need from the environment.
 *
 * Everything is static memory (VIRTQ_DRIVER_MEM_SIZE), no libc.  It calls
 * every inline helper of ring.h and every primitive of atomic.h on the
 * field widths the rings use, so a runtime call one of them needs on some
 * target (a byte swap, a 16-bit atomic) shows up in the symbol check even
 * if driver.c happens not to use it.  It is compiled, never run.
 */
#include <virtq/atomic.h>
#include <virtq/driver.h>
#include <virtq/ring.h>

#define NUM 64

static struct virtq_desc desc[NUM] __attribute__((aligned(16)));
static uint16_t avail_mem[(6 + 2 * NUM) / 2] __attribute__((aligned(2)));
static uint32_t used_mem[(6 + 8 * NUM + 3) / 4] __attribute__((aligned(4)));
static uint64_t drv_mem[VIRTQ_DRIVER_MEM_SIZE(NUM) / 8 + 1] __attribute__((aligned(16)));
static uint8_t legacy[16384] __attribute__((aligned(4096)));
static uint8_t buf[2][512];
static volatile uint32_t *doorbell;	/* an MMIO register, not shared memory */

int fs_main(void);
uint64_t fs_helpers(uint64_t v);
uint16_t fs_atomics(struct virtq_avail *a, struct virtq_used *u);

static int fs_notify(void *opaque, uint16_t queue_index)
{
	(void)queue_index;
	(void)opaque;
	if (doorbell)
		*doorbell = 0;
	return 0;
}

uint64_t fs_helpers(uint64_t v)
{
	uint64_t r = virtq_le64(v) ^ virtq_le32((uint32_t)v) ^ virtq_le16((uint16_t)v);

	r ^= virtq_swap64(v) ^ virtq_swap32((uint32_t)v) ^ virtq_swap16((uint16_t)v);
	r ^= virtq_cpu_to_le64(r) + virtq_le64_to_cpu(r);
	r += virtq_size_valid((uint32_t)v) + virtq_need_event((uint16_t)v, (uint16_t)(v >> 16),
							   (uint16_t)(v >> 32));
	r += virtq_desc_size((uint32_t)v) + virtq_avail_size((uint32_t)v) +
	     virtq_used_size((uint32_t)v) + virtq_align_up((size_t)v, 64) +
	     virtq_legacy_used_offset((uint32_t)v, 4096) +
	     virtq_legacy_size((uint32_t)v, VIRTQ_LEGACY_ALIGN);
	return r;
}

uint16_t fs_atomics(struct virtq_avail *a, struct virtq_used *u)
{
	uint16_t v = virtq_load_acquire(&u->idx);

	virtq_store_release(&a->idx, (uint16_t)(v + 1));
	virtq_store_relaxed(virtq_used_event(a, NUM), v);
	virtq_mb();
	v = (uint16_t)(v + virtq_load_relaxed(virtq_avail_event(u, NUM)));
	virtq_rmb();
	v = (uint16_t)(v + virtq_load_relaxed(&u->flags));
	virtq_wmb();
	virtq_store_relaxed(&a->flags, v);
	virtq_compiler_barrier();
	return (uint16_t)(v + virtq_le32(u->ring[0].len));
}

int fs_main(void)
{
	struct virtq_driver *vq = (struct virtq_driver *)(void *)drv_mem;
	struct virtq_driver_config cfg;
	struct virtq_sg out = { buf[0], sizeof(buf[0]) };
	struct virtq_sg in = { buf[1], sizeof(buf[1]) };
	uint64_t d, av, us;
	void *tok;
	uint32_t len;
	int r;

	/* Field by field: an initialised aggregate may become a memset call. */
	cfg.num = NUM;
	cfg.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
		       VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	cfg.desc = desc;
	cfg.avail = (struct virtq_avail *)(void *)avail_mem;
	cfg.used = (struct virtq_used *)(void *)used_mem;
	cfg.indirect = 0;
	cfg.indirect_max = 0;
	cfg.indirect_min = 0;
	cfg.notify = fs_notify;
	cfg.translate = 0;
	cfg.cache_clean = 0;
	cfg.cache_invalidate = 0;
	cfg.opaque = 0;
	if (virtq_driver_mem_size(NUM) > sizeof(drv_mem))
		return -1;
	r = virtq_driver_init(vq, sizeof(drv_mem), &cfg);
	if (r)
		return r;
	virtq_driver_ring_addrs(vq, &d, &av, &us);
	r = virtq_driver_add(vq, &out, 1, &in, 1, buf);
	if (r)
		return r;
	virtq_driver_publish(vq);
	if (virtq_driver_kick_prepare(vq))
		virtq_driver_notify(vq);
	r = virtq_driver_kick(vq);
	virtq_driver_disable_cb(vq);
	while (!virtq_driver_enable_cb(vq) || !virtq_driver_enable_cb_delayed(vq))
		while (virtq_driver_has_used(vq) &&
		       virtq_driver_get_used(vq, &tok, &len) > 0)
			r += (int)len;
	while (virtq_driver_detach_unused(vq, &tok) > 0)
		r++;
	virtq_driver_reset(vq);
	r += (int)virtq_driver_size(vq) + (int)virtq_driver_num_free(vq) +
	     virtq_driver_is_broken(vq) + (int)virtq_driver_indirect_size(NUM, 8);

	/* The legacy contiguous layout, in static memory too. */
	if (virtq_legacy_size(NUM, 4096) <= sizeof(legacy) &&
	    !virtq_driver_config_legacy(&cfg, legacy, 4096))
		r += virtq_driver_init(vq, sizeof(drv_mem), &cfg);
	return r + (int)(d + av + us);
}
