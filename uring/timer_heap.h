/* SPDX-License-Identifier: MIT */
/*
 * Intrusive 4-ary min-heap of struct rv_timer keyed on deadline_ns.  Each
 * timer remembers its position in heap_index, so cancel and re-arm are
 * O(log4 n) without a search.  4-ary rather than binary: half the depth and
 * the four children share a cache line of pointers.
 *
 * Private to uring/ (and its tests); the loop's timer API is in loop.h.
 */
#ifndef RV_URING_TIMER_HEAP_H
#define RV_URING_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/*
 * heap_index values with this bit set mean "expired, waiting in this turn's
 * due list at index & ~RV_TIMER_DUE_BIT" (see timers.c).  The heap itself
 * therefore holds fewer than 2^31 timers.
 */
#define RV_TIMER_DUE_BIT	0x80000000u
#define RV_HEAP_MAX		(RV_TIMER_DUE_BIT - 1)

struct rv_heap {
	struct rv_timer **v;
	uint32_t n;
	uint32_t cap;
};

/* Grows the array to hold at least cap timers.  0 or -ENOMEM. */
int rv_heap_grow(struct rv_heap *h, size_t cap);
void rv_heap_free(struct rv_heap *h);

/* The caller guarantees h->n < h->cap and t not in the heap. */
void rv_heap_push(struct rv_heap *h, struct rv_timer *t);
/* Removes t (which must be in h) and marks it RV_TIMER_UNARMED. */
void rv_heap_remove(struct rv_heap *h, struct rv_timer *t);
/* Restores the heap after t->deadline_ns changed in place. */
void rv_heap_update(struct rv_heap *h, struct rv_timer *t);

static inline struct rv_timer *rv_heap_top(const struct rv_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

/* For tests: heap order and heap_index back-pointers all hold. */
bool rv_heap_check(const struct rv_heap *h);

#endif
