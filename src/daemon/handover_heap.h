/* SPDX-License-Identifier: MIT */
/*
 * The heap during a hand-over.  Most of a hand-over's time on a virtual
 * machine is page faults: the state, its JSON, the new image's tree are
 * all fresh memory (docs/reexec.md, "Hand-over time").  While a hand-over
 * is in progress, freed memory stays in the heap (no trim, no mmap for
 * large blocks), so the old image's dry-run state, taken before the
 * pause, has already faulted in the pages the final state reuses; and
 * the new image faults its heap in with one madvise() instead of one
 * fault per page.  Released (defaults again, trimmed) when it is over.
 */
#ifndef RV_HANDOVER_HEAP_H
#define RV_HANDOVER_HEAP_H

#include <stddef.h>

/* Keeps the heap from now on; with prefault > 0, that many bytes of heap
 * are faulted in at once. */
void rv_handover_heap_hold(size_t prefault);
/* Freed small blocks merged now (glibc does it at the next large
 * allocation: in the pause otherwise). */
void rv_handover_heap_settle(void);
/* Back to the allocator's defaults, the heap trimmed. */
void rv_handover_heap_release(void);

#endif
