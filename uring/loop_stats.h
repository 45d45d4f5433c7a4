/* SPDX-License-Identifier: MIT */
/*
 * Counters the loop keeps about itself: cheap enough to always maintain,
 * meant for tests ("10,000 timers cost one wait") and for a status dump.
 * Not part of loop.h because nothing needs them to drive the loop.
 */
#ifndef RV_URING_LOOP_STATS_H
#define RV_URING_LOOP_STATS_H

#include <stdint.h>

struct rv_loop;

struct rv_loop_stats {
	uint64_t turns;		/* rv_loop_run_once() calls */
	uint64_t waits;		/* io_uring_enter or epoll_wait calls */
	uint64_t completions;	/* CQEs or epoll events dispatched */
	uint64_t timerfd_sets;	/* epoll: timerfd_settime() calls */
	uint64_t timers_fired;
	uint64_t children_reaped;	/* watched children reported */
	uint64_t orphans_reaped;
	uint64_t sweeps;	/* waitid(P_ALL) sweeps after SIGCHLD */
	uint64_t reaper_arms;	/* IORING_OP_WAITID submissions */
	uint64_t reaper_reaps;	/* exits reaped on a WAITID completion */
	uint64_t stale;		/* completions dropped by generation */
	uint64_t resyncs;	/* -EBADR recoveries (CQEs dropped) */
};

/* Copies the counters; never fails. */
void rv_loop_get_stats(const struct rv_loop *loop, struct rv_loop_stats *st);
/* A hand-over's new image goes on counting from the previous image's
 * counters: st's turns, completions and children and orphans reaped are
 * added to ours (the others describe one ring, and start again). */
void rv_loop_carry_stats(struct rv_loop *loop, const struct rv_loop_stats *st);

#endif
