/* SPDX-License-Identifier: MIT */
/*
 * Slot tables with generations (see slots.h).  Objects are named by index,
 * never by pointer, so growing the table (realloc) is always safe.
 */
#include <errno.h>
#include <stdlib.h>

#include "slots.h"

static int grow_array(void **p, size_t n, size_t size)
{
	void *q = realloc(*p, n * size);

	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

int rv_slots_grow(struct rv_slots *s, size_t cap)
{
	if (cap <= s->cap)
		return 0;
	if (cap > UINT32_MAX - 1)
		return -ENOMEM;
	/*
	 * Three separate reallocs: a failure half way leaves bigger arrays
	 * behind, which is harmless because s->cap only moves at the end.
	 * The new room is not initialised: rv_slots_take() does that for
	 * each slot when it is first used.
	 */
	if (grow_array((void **)&s->obj, cap, sizeof(*s->obj)) ||
	    grow_array((void **)&s->gen, cap, sizeof(*s->gen)) ||
	    grow_array((void **)&s->freelist, cap, sizeof(*s->freelist)))
		return -ENOMEM;
	s->cap = (uint32_t)cap;
	return 0;
}

int rv_slots_reserve(struct rv_slots *s, size_t n)
{
	int ret;

	if (n > UINT32_MAX - 1 - s->reserved)
		return -ENOMEM;
	ret = rv_slots_grow(s, s->reserved + n);
	if (ret)
		return ret;
	s->reserved += n;
	return 0;
}

void rv_slots_free_all(struct rv_slots *s)
{
	free(s->obj);
	free(s->gen);
	free(s->freelist);
	*s = (struct rv_slots){ 0 };
}

uint32_t rv_slots_take(struct rv_slots *s, void *obj)
{
	uint32_t slot;

	if (s->nfree) {
		slot = s->freelist[--s->nfree];
	} else {
		slot = s->used++;	/* first use: never written before */
		s->gen[slot] = 0;
	}
	s->obj[slot] = obj;
	return slot;
}

void rv_slots_release(struct rv_slots *s, uint32_t slot)
{
	s->obj[slot] = NULL;
	s->gen[slot] = (s->gen[slot] + 1) & RV_GEN_MASK;
	s->freelist[s->nfree++] = slot;
}
