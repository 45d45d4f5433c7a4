/* SPDX-License-Identifier: MIT */
/*
 * Restart delays.  Pure: time and randomness are passed in, so a unit test
 * can walk fifty jittered fibonacci restarts in microseconds.
 *
 * With d = delay_ns and n >= 1 the n-th restart since the last reset:
 *   fixed        d
 *   linear       n * d
 *   exponential  d * multiplier^(n-1)
 *   fibonacci    d * F(n), F = 1, 1, 2, 3, 5, ...
 * then capped at delay_max_ns, then jittered uniformly within
 * +-jitter * delay.  Arithmetic saturates instead of overflowing.
 */
#ifndef RV_BACKOFF_H
#define RV_BACKOFF_H

#include <stdint.h>

#include "config/spec.h"

/* The delay before the n-th restart (n >= 1; 0 is treated as 1). */
int64_t rv_backoff_delay(const struct rv_backoff_spec *b, uint32_t n,
			 uint64_t *rng);
/* The unjittered, capped delay (what the formula gives). */
int64_t rv_backoff_base(const struct rv_backoff_spec *b, uint32_t n);

/* xorshift64*: small, fast, good enough for jitter; state must be != 0. */
uint64_t rv_rng_next(uint64_t *state);
/* Uniform in [0, 1). */
double rv_rng_unit(uint64_t *state);

#endif
