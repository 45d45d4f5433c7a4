/* SPDX-License-Identifier: MIT */
/*
 * Slot tables with generations: the loop's way of naming a registered
 * object (child, fd watch) inside a 64-bit CQE user_data or epoll_data.
 * A completion carries {slot, gen}; it is honoured only while the slot
 * still holds the object it was issued for, so a late CQE of a removed or
 * re-used slot is dropped instead of touching freed memory.
 *
 * Private to uring/.
 */
#ifndef RV_URING_SLOTS_H
#define RV_URING_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_GEN_BITS	24
#define RV_GEN_MASK	((1u << RV_GEN_BITS) - 1)

/*
 * Slots [0, used) have been taken at least once; the ones above were never
 * written, not even initialised, so a generous reservation costs address
 * space but no memory until it is used.  Walk obj[] up to used, not cap.
 */
struct rv_slots {
	void **obj;		/* NULL = free */
	uint32_t *gen;		/* bumped on every release */
	uint32_t *freelist;	/* stack of released slot numbers */
	uint32_t nfree;
	uint32_t used;		/* high-water mark */
	uint32_t cap;
	size_t reserved;	/* sum of all reservations */
};

/*
 * Reservations are cumulative: reserve once per owner object that may have
 * one registration at a time.  Grows the table so that capacity covers the
 * sum.  0 or -ENOMEM (the table is unchanged on failure).
 */
int rv_slots_reserve(struct rv_slots *s, size_t n);
/* Grows to at least cap slots.  0 or -ENOMEM. */
int rv_slots_grow(struct rv_slots *s, size_t cap);
void rv_slots_free_all(struct rv_slots *s);

static inline bool rv_slots_full(const struct rv_slots *s)
{
	return s->nfree == 0 && s->used == s->cap;
}

/* Takes a free slot for obj (the caller checked !rv_slots_full()). */
uint32_t rv_slots_take(struct rv_slots *s, void *obj);
/* Releases slot; outstanding {slot, gen} tags become stale. */
void rv_slots_release(struct rv_slots *s, uint32_t slot);

/* The object a tag names, or NULL if the tag is stale. */
static inline void *rv_slots_get(const struct rv_slots *s, uint32_t slot,
				 uint32_t gen)
{
	if (slot >= s->used || s->gen[slot] != gen)
		return NULL;
	return s->obj[slot];
}

#endif
