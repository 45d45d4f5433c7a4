/* SPDX-License-Identifier: MIT */
/* The heap during a hand-over (handover_heap.h). */
#include "daemon/handover_heap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* above any hand-over's blocks (10,000 services: a few MB of JSON) */
#define HOLD_BYTES	(256 * 1024 * 1024)
/* glibc's defaults (mallopt(3)) */
#define TRIM_DEFAULT	(128 * 1024)
#define MMAP_DEFAULT	(128 * 1024)

void rv_handover_heap_hold(size_t prefault)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t a, b;
	char *p;

	(void)mallopt(M_TRIM_THRESHOLD, HOLD_BYTES);
	(void)mallopt(M_MMAP_THRESHOLD, HOLD_BYTES / 8);
	if (!prefault)
		return;
	if (prefault > HOLD_BYTES / 8 - page)
		prefault = HOLD_BYTES / 8 - page;	/* from the heap */
	/* the block at the heap's top; freed, it stays there, faulted in,
	 * for the allocations that follow */
	p = malloc(prefault);
	if (!p)
		return;
	a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
	b = ((uintptr_t)p + prefault) & ~(uintptr_t)(page - 1);
	/* Linux 5.14; older kernels fault the pages in one at a time */
	if (b > a && madvise((void *)a, b - a, MADV_POPULATE_WRITE))
		for (uintptr_t q = a; q < b; q += page)
			*(volatile char *)q = 0;
	free(p);
}

void rv_handover_heap_settle(void)
{
	/* a large request consolidates the fast bins first (malloc.c) */
	free(malloc(1024 * 1024));
}

void rv_handover_heap_release(void)
{
	(void)mallopt(M_TRIM_THRESHOLD, TRIM_DEFAULT);
	(void)mallopt(M_MMAP_THRESHOLD, MMAP_DEFAULT);
	(void)malloc_trim(0);
}
