// SPDX-License-Identifier: MIT
/*
 * fault.c - surviving a frontend that shrinks the file behind memory it
 * shared (guest memory, the inflight region).  An access to a page past
 * the file's new end raises SIGBUS in whichever thread touched it: the
 * device model's, a queue thread, the control thread.  Nothing from the
 * frontend may end the process, so:
 *
 *  - memfds that allow it are sealed against shrinking when they are
 *    mapped (map time), so a well-behaved kernel refuses the ftruncate;
 *  - every mapping of frontend memory is registered here; a process-wide
 *    SIGBUS handler that finds the faulting address in one of them puts
 *    anonymous memory over the whole mapping (MAP_FIXED: the addresses
 *    stay valid, what the faulting access reads or writes is scratch),
 *    marks the backend faulted and shuts its connection's socket down,
 *    then returns: the access is retried and completes on the scratch
 *    page, and the control thread sees the socket end and tears the
 *    connection down (virtq_vu_backend_dispatch logs why).
 *
 * No sigsetjmp: the faulting code (the application's device model
 * included) finishes its access normally, so no lock or request is left
 * half done.  A SIGBUS at any other address goes to the handler that was
 * there before (or the default action, which ends the process as it would
 * have without us).
 *
 * The handler only reads the registry (lock-free atomics, calls mmap,
 * shutdown: system calls).  Mappings are registered before use and
 * unregistered before munmap, while nothing accesses them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "vhost-user/backend_internal.h"

#define FAULT_SLOTS 4096	/* mappings of frontend memory, process-wide */

struct fault_slot {
	atomic_int taken;		/* claimed by a registration */
	_Atomic uintptr_t start;	/* 0 until published */
	_Atomic size_t len;
	atomic_int sock;		/* the connection to shut down */
	_Atomic(atomic_int *) flag;	/* set to 1 on a fault */
};

static struct fault_slot slots[FAULT_SLOTS];
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_error;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	for (unsigned int i = 0; i < FAULT_SLOTS; i++) {
		uintptr_t s = atomic_load_explicit(&slots[i].start, memory_order_acquire);
		size_t len;
		atomic_int *flag;

		if (!s || a < s)
			continue;
		len = atomic_load_explicit(&slots[i].len, memory_order_relaxed);
		if (a - s >= len)
			continue;
		(void)mmap((void *)s, len, PROT_READ | PROT_WRITE,
			   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			   -1, 0);
		flag = atomic_load_explicit(&slots[i].flag, memory_order_relaxed);
		if (flag)
			atomic_store_explicit(flag, 1, memory_order_release);
		(void)shutdown(atomic_load_explicit(&slots[i].sock, memory_order_relaxed),
			       SHUT_RDWR);
		errno = saved;
		return;
	}
	/* Not frontend memory: whoever handled SIGBUS before us. */
	if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uc);
	} else if (!(previous.sa_flags & SA_SIGINFO) &&
		   previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	} else {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		/* The access faults again and the default action ends the
		 * process, as it would have without this handler. */
		sigemptyset(&dfl.sa_mask);
		(void)sigaction(SIGBUS, &dfl, NULL);
	}
	errno = saved;
}

static void install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) < 0)
		install_error = -errno;
}

int __virtq_vu_fault_register(void *start, size_t len, int sock, atomic_int *flag)
{
	pthread_once(&once, install);
	if (install_error)
		return install_error;
	for (int i = 0; i < FAULT_SLOTS; i++) {
		int free_slot = 0;

		if (!atomic_compare_exchange_strong(&slots[i].taken, &free_slot, 1))
			continue;
		atomic_store_explicit(&slots[i].len, len, memory_order_relaxed);
		atomic_store_explicit(&slots[i].sock, sock, memory_order_relaxed);
		atomic_store_explicit(&slots[i].flag, flag, memory_order_relaxed);
		/* Pairs with the handler's acquire load of start. */
		atomic_store_explicit(&slots[i].start, (uintptr_t)start,
				      memory_order_release);
		return i;
	}
	return -ENOSPC;
}

void __virtq_vu_fault_unregister(int slot)
{
	if (slot < 0 || slot >= FAULT_SLOTS)
		return;
	atomic_store_explicit(&slots[slot].start, 0, memory_order_release);
	atomic_store_explicit(&slots[slot].taken, 0, memory_order_release);
}
