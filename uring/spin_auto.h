/* SPDX-License-Identifier: MIT */
/*
 * The adaptive precision window ("spin:auto[:MAX]"): a running high
 * percentile (the P99.5) of how late the kernel wakes the loop, learnt
 * from the loop's own deadlines, plus a margin, capped at MAX.  Above the
 * P99 so that the timers' own p99 is a spun one, not a missed one.  Pure arithmetic on what
 * the caller feeds it (no clock, no allocation), so a unit test can drive
 * it with synthetic lateness sequences.
 *
 * The percentile comes from a decaying histogram: 4 buckets per octave
 * (bucket edges within 19% of each other) from 256 ns to ~1 s; every
 * sample adds RV_SPIN_W, and every RV_SPIN_DECAY_EVERY samples all counts
 * shrink by a quarter, so the histogram holds about the last 256 wake-ups
 * (half-life ~150) and the window follows the machine as it changes: up
 * after a few late wake-ups in a hundred, down ~1000 wake-ups after they
 * stop.  One outlier in 256 (a preemption) does not move the window.
 */
#ifndef RV_SPIN_AUTO_H
#define RV_SPIN_AUTO_H

#include <stdint.h>

#define RV_SPIN_BUCKETS		89	/* 1 below 256 ns + 22 octaves x 4 */
#define RV_SPIN_W		256u	/* weight of one sample (fixed point) */
#define RV_SPIN_DECAY_EVERY	64
#define RV_SPIN_WARMUP		32	/* samples before the window moves */
#define RV_SPIN_PCT_TAIL	200	/* 1/200: the P99.5 */
#define RV_SPIN_MARGIN_NS	2000	/* added to the P99.5's bucket end */

struct rv_spin_est {
	int64_t max_ns;		/* the cap: never spin longer per deadline */
	int64_t window_ns;	/* current window: min(max, tail + margin) */
	uint64_t samples;	/* fed so far */
	uint32_t total;		/* sum of counts (decayed) */
	uint32_t counts[RV_SPIN_BUCKETS];
};

/* Starts at the cap (until RV_SPIN_WARMUP samples): safe before learning. */
void rv_spin_est_init(struct rv_spin_est *e, int64_t max_ns);
/*
 * One wake-up: late_ns = when the loop woke - when it asked to be woken
 * (the deadline minus the window in force).  Updates window_ns.
 */
void rv_spin_est_add(struct rv_spin_est *e, int64_t late_ns);
/* The bucket of late_ns and the exclusive upper end of bucket i, ns. */
unsigned int rv_spin_est_bucket(int64_t late_ns);
int64_t rv_spin_est_bucket_end(unsigned int i);
/* The current P99.5 estimate (a bucket end), ns; 0 before any sample. */
int64_t rv_spin_est_tail(const struct rv_spin_est *e);

#endif
