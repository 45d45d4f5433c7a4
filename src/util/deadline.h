/* SPDX-License-Identifier: MIT */
/*
 * Deadlines computed from durations that come from outside: a custom
 * backoff (rv_backoff_fn may return INT64_MAX), a config value.  now +
 * delay in int64 ns overflows into the past for a large enough delay, and
 * a deadline in the past fires at once: "wait for ever" would become
 * "restart now".  These saturate instead: a deadline past INT64_MAX is
 * INT64_MAX, which the loop treats as no deadline at all (292 years of
 * CLOCK_MONOTONIC: never, in practice).
 */
#ifndef RV_UTIL_DEADLINE_H
#define RV_UTIL_DEADLINE_H

#include <stdint.h>

/* The farthest deadline: "never". */
#define RV_DEADLINE_NEVER INT64_MAX

/*
 * now + delay_ns, saturated to [now, RV_DEADLINE_NEVER]: a negative delay
 * counts as 0 (due now), an overflowing sum is RV_DEADLINE_NEVER.
 */
static inline int64_t rv_deadline_after(int64_t now, int64_t delay_ns)
{
	if (delay_ns <= 0)
		return now;
	if (now > 0 && delay_ns > RV_DEADLINE_NEVER - now)
		return RV_DEADLINE_NEVER;
	return now + delay_ns;
}

#endif
