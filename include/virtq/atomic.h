/* SPDX-License-Identifier: MIT */
/*
 * atomic.h - the few memory-ordering operations the rings use.
 *
 * Freestanding.  The shared structs in ring.h keep the spec's plain
 * fixed-width fields, so these wrap the compiler's __atomic builtins (what
 * <stdatomic.h> is built on in gcc and clang) on plain objects instead of
 * _Atomic types.  ThreadSanitizer understands them.
 *
 * The pairings used by both sides (each use site names its pair):
 *
 *   P1  driver: release store avail->idx      pairs with  device: acquire load avail->idx
 *       (descriptors and avail->ring[] written before are visible after)
 *   P2  device: release store used->idx       pairs with  driver: acquire load used->idx
 *       (used->ring[] and the data written into buffers are visible after)
 *   F1  driver: store avail->idx; full fence; load avail_event / used->flags
 *       pairs with
 *       device: store avail_event / clear NO_NOTIFY; full fence; load avail->idx
 *       (neither side can miss the other: no lost kick)
 *   F2  device: store used->idx; full fence; load used_event / avail->flags
 *       pairs with
 *       driver: store used_event / clear NO_INTERRUPT; full fence; load used->idx
 *       (no lost interrupt)
 *
 * Event and flag fields are written and read at any time by the other side,
 * so they are accessed with relaxed atomics (READ_ONCE / WRITE_ONCE).
 */
#ifndef VIRTQ_ATOMIC_H
#define VIRTQ_ATOMIC_H

#include <stdint.h>

#define virtq_load_acquire(p)	 __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define virtq_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define virtq_load_relaxed(p)	 __atomic_load_n((p), __ATOMIC_RELAXED)
#define virtq_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/*
 * Full fence: only for the publish-then-recheck patterns F1 and F2.
 *
 * GCC 12+ refuses (-Wtsan, an error under -Werror) to build
 * __atomic_thread_fence with -fsanitize=thread, because ThreadSanitizer
 * does not model fences.  The fence is still needed for the real ordering,
 * and F1/F2 only order relaxed atomics (nothing TSan would call a race), so
 * under GCC's TSan the same fence sits in a helper with that warning off.
 */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
static inline void __virtq_mb_tsan(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#pragma GCC diagnostic pop
#define virtq_mb()		__virtq_mb_tsan()
#else
#define virtq_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* Acquire / release fences, for the few places that batch plain accesses. */
#define virtq_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virtq_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)

/*
 * Compiler-only barrier.  After copying a descriptor out of shared memory,
 * this forces later code to use the copy: the compiler may not re-read the
 * shared bytes in place of the local copy (no double fetch).
 */
#define virtq_compiler_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif /* VIRTQ_ATOMIC_H */
