/* SPDX-License-Identifier: MIT */
/*
 * Timer precision: the spin hybrid of precision mode (a fixed window, or
 * spin:auto's learnt one), SCHED_FIFO for the loop thread, and the
 * lateness histogram of fired timers.
 *
 * A kernel wake-up costs ~10 us at p50 on a VM whatever the mechanism
 * (io_uring wait timeout, timerfd); sleeping until DURATION before the
 * deadline and spinning on the vDSO clock for the rest is the only way to
 * sub-microsecond medians (URING_NOTES.md §3).  The kernel wait itself ends
 * early because rv_timers_next() subtracts spin_ns; the spin happens here,
 * at the start of rv_timers_run(), after the turn's completions have been
 * dispatched (they may have cancelled or moved the earliest timer).
 */
#include <errno.h>
#include <sched.h>

#include "loop_internal.h"

int rv_loop_set_timer_spin(struct rv_loop *loop, int64_t spin_ns)
{
	if (spin_ns < 0 || spin_ns > RV_TIMER_SPIN_MAX)
		return -EINVAL;
	loop->timers.spin_ns = spin_ns;
	loop->timers.spin_auto = false;
	return 0;
}

int rv_loop_set_timer_spin_auto(struct rv_loop *loop, int64_t max_ns)
{
	if (max_ns < 0 || max_ns > RV_TIMER_SPIN_MAX)
		return -EINVAL;
	if (!max_ns)
		max_ns = RV_TIMER_SPIN_AUTO_MAX;
	rv_spin_est_init(&loop->timers.est, max_ns);
	loop->timers.spin_ns = max_ns;
	loop->timers.spin_auto = true;
	return 0;
}

int64_t rv_loop_timer_spin(const struct rv_loop *loop)
{
	return loop->timers.spin_ns;
}

int rv_loop_set_realtime(int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	int policy = prio ? SCHED_FIFO : SCHED_OTHER;

	if (prio < 0 || prio > 99)
		return -EINVAL;
	if (sched_setscheduler(0, policy | SCHED_RESET_ON_FORK, &sp))
		return -errno;
	return 0;
}

/*
 * A wait that starts before the instant it was asked to end measures the
 * kernel's wake-up lateness; one asked to end in the past (a timer armed
 * closer than the window) measures nothing and must not teach spin:auto.
 */
void rv_precision_wait_begins(struct rv_loop *loop, int64_t next)
{
	struct rv_timers *tm = &loop->timers;

	tm->wait_asked = next;
	tm->wait_learns = next != RV_NO_DEADLINE && rv_clock_now() < next;
}

/*
 * The kernel was asked to wake the loop at deadline - spin_ns.  A wake-up
 * at or after that instant is the timer's (an earlier one came from some
 * other event and says nothing of the kernel's lateness): spin:auto learns
 * from it, and the window of the next wait is the new estimate.
 */
void rv_precision_spin(struct rv_loop *loop)
{
	const struct rv_timer *t = rv_heap_top(&loop->timers.heap);
	struct rv_timers *tm = &loop->timers;
	int64_t now = loop->now, start;

	if (!t || now < t->deadline_ns - tm->spin_ns)
		return;
	if (tm->spin_auto && tm->wait_learns && now >= tm->wait_asked) {
		rv_spin_est_add(&tm->est, now - tm->wait_asked);
		tm->spin_ns = tm->est.window_ns;
		tm->wait_learns = false;
	}
	if (t->deadline_ns <= now) {
		tm->lateness.misses++;
		return;
	}
	/* loop->now may be stale by the dispatch that ran since the wait */
	start = now = rv_clock_now();
	while (now < t->deadline_ns) {
		rv_cpu_relax();
		now = rv_clock_now();
	}
	tm->lateness.spins++;
	tm->lateness.spin_ns += (uint64_t)(now - start);
	loop->now = now;
}

unsigned int rv_timer_lateness_bucket(int64_t ns)
{
	unsigned int b;

	if (ns < 1024)
		return 0;
	b = (unsigned int)(63 - __builtin_clzll((unsigned long long)ns)) - 9;
	return b < RV_LATENESS_BUCKETS ? b : RV_LATENESS_BUCKETS - 1;
}

int64_t rv_timer_lateness_bucket_end(unsigned int i)
{
	if (i >= RV_LATENESS_BUCKETS - 1)
		return INT64_MAX;
	return (int64_t)1 << (10 + i);
}

void rv_lateness_add(struct rv_timer_lateness *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->count++;
	h->sum_ns += (uint64_t)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->buckets[rv_timer_lateness_bucket(ns)]++;
}

void rv_loop_get_timer_lateness(const struct rv_loop *loop,
				struct rv_timer_lateness *out)
{
	*out = loop->timers.lateness;
	out->spin_window_ns = loop->timers.spin_ns;
}
