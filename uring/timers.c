/* SPDX-License-Identifier: MIT */
/*
 * Timers: a userspace 4-ary min-heap of absolute CLOCK_MONOTONIC deadlines
 * and one kernel wait for all of them (the io_uring_enter timeout, or one
 * timerfd in the epoll backend).  The kernel keeps io_uring timeouts on a
 * list it walks linearly, so per-timer kernel timeouts cost ~1 ms per
 * update at 50k armed (URING_NOTES.md §3); the heap costs O(log4 n).
 */
#include <errno.h>
#include <stdlib.h>

#include "loop_internal.h"

#define HEAP_ARITY 4

static inline uint32_t parent_of(uint32_t i)
{
	return (i - 1) / HEAP_ARITY;
}

static inline void place(struct rv_heap *h, uint32_t i, struct rv_timer *t)
{
	h->v[i] = t;
	t->heap_index = i;
}

static void sift_up(struct rv_heap *h, uint32_t i)
{
	struct rv_timer *t = h->v[i];

	while (i > 0) {
		uint32_t p = parent_of(i);

		if (h->v[p]->deadline_ns <= t->deadline_ns)
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, t);
}

static void sift_down(struct rv_heap *h, uint32_t i)
{
	struct rv_timer *t = h->v[i];

	for (;;) {
		uint32_t first = i * HEAP_ARITY + 1, best = i, c, end;
		int64_t best_dl = t->deadline_ns;

		if (first >= h->n)
			break;
		end = first + HEAP_ARITY;
		if (end > h->n)
			end = h->n;
		for (c = first; c < end; c++) {
			if (h->v[c]->deadline_ns < best_dl) {
				best = c;
				best_dl = h->v[c]->deadline_ns;
			}
		}
		if (best == i)
			break;
		place(h, i, h->v[best]);
		i = best;
	}
	place(h, i, t);
}

int rv_heap_grow(struct rv_heap *h, size_t cap)
{
	struct rv_timer **v;

	if (cap <= h->cap)
		return 0;
	if (cap > RV_HEAP_MAX)
		return -ENOMEM;
	v = realloc(h->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = (uint32_t)cap;
	return 0;
}

void rv_heap_free(struct rv_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

void rv_heap_push(struct rv_heap *h, struct rv_timer *t)
{
	place(h, h->n++, t);
	sift_up(h, t->heap_index);
}

void rv_heap_remove(struct rv_heap *h, struct rv_timer *t)
{
	uint32_t i = t->heap_index;
	struct rv_timer *last = h->v[--h->n];

	t->heap_index = RV_TIMER_UNARMED;
	if (last == t)
		return;
	place(h, i, last);
	rv_heap_update(h, last);
}

void rv_heap_update(struct rv_heap *h, struct rv_timer *t)
{
	uint32_t i = t->heap_index;

	if (i > 0 && h->v[parent_of(i)]->deadline_ns > t->deadline_ns)
		sift_up(h, i);
	else
		sift_down(h, i);
}

bool rv_heap_check(const struct rv_heap *h)
{
	uint32_t i;

	if (h->n > h->cap)
		return false;
	for (i = 0; i < h->n; i++) {
		if (h->v[i]->heap_index != i)
			return false;
		if (i > 0 &&
		    h->v[parent_of(i)]->deadline_ns > h->v[i]->deadline_ns)
			return false;
	}
	return true;
}

/* ---- the loop's timer API ---- */

void rv_timer_init(struct rv_timer *t, rv_timer_cb *cb, void *ctx)
{
	t->deadline_ns = 0;
	t->heap_index = RV_TIMER_UNARMED;
	t->cb = cb;
	t->ctx = ctx;
}

/* The due list always has room for everything the heap can hold. */
static int timers_grow(struct rv_timers *tm, size_t cap)
{
	struct rv_timer **due;
	int ret;

	ret = rv_heap_grow(&tm->heap, cap);
	if (ret)
		return ret;
	if (tm->due_cap >= tm->heap.cap)
		return 0;
	due = realloc(tm->due, tm->heap.cap * sizeof(*due));
	if (!due)
		return -ENOMEM;
	tm->due = due;
	tm->due_cap = tm->heap.cap;
	return 0;
}

int rv_loop_timer_reserve(struct rv_loop *loop, size_t n)
{
	struct rv_timers *tm = &loop->timers;
	int ret;

	if (n > RV_HEAP_MAX - tm->reserved)
		return -ENOMEM;
	ret = timers_grow(tm, tm->reserved + n);
	if (ret)
		return ret;
	tm->reserved += n;
	return 0;
}

static void unlink_due(struct rv_timers *tm, struct rv_timer *t)
{
	tm->due[t->heap_index & ~RV_TIMER_DUE_BIT] = NULL;
	t->heap_index = RV_TIMER_UNARMED;
}

void rv_loop_timer_arm(struct rv_loop *loop, struct rv_timer *t,
		       int64_t deadline_ns)
{
	struct rv_timers *tm = &loop->timers;

	if (t->heap_index != RV_TIMER_UNARMED &&
	    !(t->heap_index & RV_TIMER_DUE_BIT)) {
		t->deadline_ns = deadline_ns;
		rv_heap_update(&tm->heap, t);
		return;
	}
	if (t->heap_index != RV_TIMER_UNARMED)
		unlink_due(tm, t);
	t->deadline_ns = deadline_ns;
	if (tm->heap.n == tm->heap.cap) {
		/*
		 * Someone armed more timers than they reserved.  Growing here
		 * allocates on the hot path, which the API promises not to
		 * do, but losing the timer would be worse.  Double, so a
		 * forgotten reservation costs O(log n) reallocs, not O(n).
		 */
		size_t want = tm->heap.cap ? (size_t)tm->heap.cap * 2 : 16;

		rv_loop_warn_once(loop, RV_WARNED_TIMERS,
				  "timer armed beyond rv_loop_timer_reserve() "
				  "(%u armed); growing the heap", tm->heap.n);
		if (timers_grow(tm, want) && timers_grow(tm, tm->heap.n + 1)) {
			rv_loop_warn("timer heap growth failed: timer dropped");
			return;
		}
	}
	rv_heap_push(&tm->heap, t);
}

void rv_loop_timer_cancel(struct rv_loop *loop, struct rv_timer *t)
{
	if (t->heap_index == RV_TIMER_UNARMED)
		return;
	if (t->heap_index & RV_TIMER_DUE_BIT)
		unlink_due(&loop->timers, t);
	else
		rv_heap_remove(&loop->timers.heap, t);
}

/*
 * When the kernel wait must end, or RV_NO_DEADLINE: the earliest deadline,
 * or in precision mode spin_ns before it (rv_timers_run() spins the rest).
 */
int64_t rv_timers_next(const struct rv_loop *loop)
{
	const struct rv_timer *t = rv_heap_top(&loop->timers.heap);

	if (!t)
		return RV_NO_DEADLINE;
	return t->deadline_ns - loop->timers.spin_ns;
}

/*
 * Fires every timer whose deadline is <= loop->now, in deadline order.
 * The expired ones are moved to the due list first, so the set that fires
 * in this pass is fixed when it starts (see struct rv_timers).  In
 * precision mode it first spins to a deadline that is less than spin_ns
 * away.
 */
void rv_timers_run(struct rv_loop *loop)
{
	struct rv_timers *tm = &loop->timers;
	struct rv_timer *t;
	uint32_t i, n = 0;

	if (tm->spin_ns)
		rv_precision_spin(loop);
	while ((t = rv_heap_top(&tm->heap)) && t->deadline_ns <= loop->now) {
		rv_heap_remove(&tm->heap, t);
		tm->due[n] = t;
		t->heap_index = RV_TIMER_DUE_BIT | n;
		n++;
	}
	tm->ndue = n;
	for (i = 0; i < tm->ndue; i++) {
		/* re-read: a callback may grow (move) the due array */
		t = tm->due[i];
		if (!t)
			continue;
		tm->due[i] = NULL;
		t->heap_index = RV_TIMER_UNARMED;
		loop->stats.timers_fired++;
		rv_lateness_add(&tm->lateness, loop->now - t->deadline_ns);
		t->cb(loop, t, loop->now, t->ctx);
	}
	tm->ndue = 0;
}

void rv_timers_free(struct rv_loop *loop)
{
	struct rv_timers *tm = &loop->timers;

	rv_heap_free(&tm->heap);
	free(tm->due);
	tm->due = NULL;
	tm->due_cap = 0;
	tm->ndue = 0;
}
