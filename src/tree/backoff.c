/* SPDX-License-Identifier: MIT */
#include "tree/backoff.h"

#include <math.h>	/* isnan(): a macro, so no libm */

uint64_t rv_rng_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

double rv_rng_unit(uint64_t *state)
{
	/* 53 random bits: every double in [0, 1) on the grid is reachable */
	return (double)(rv_rng_next(state) >> 11) * 0x1.0p-53;
}

static int64_t sat_mul(int64_t a, uint64_t b, int64_t cap)
{
	if (a == 0 || b == 0)
		return 0;
	if ((uint64_t)cap / b < (uint64_t)a)
		return cap;
	return a * (int64_t)b > cap ? cap : a * (int64_t)b;
}

/*
 * d * m^e, or at least cap once it gets there.  Square-and-multiply in
 * long double rather than powl(): libm would be the only reason to map
 * libm.so (~100+ KiB PSS in a process that is mostly mapped alone).  The
 * 64-bit mantissa keeps m^e exact, as powl() has it, for integer
 * multipliers and for the fractional ones people write (1.5^k while 3^k
 * fits in 64 bits); beyond that it differs from powl() by a few ulps,
 * far below a nanosecond while the delay is under the cap.  m >= 1
 * (config range 1..1000), so the product only grows: stop at the cap.
 */
static int64_t exp_delay(int64_t d, double m, uint32_t e, int64_t cap)
{
	long double p = 1, base = (long double)m;

	for (; e; e >>= 1) {
		if (e & 1) {
			p *= base;
			if ((long double)d * p >= (long double)cap ||
			    isnan(p))
				return cap;
		}
		base *= base;	/* inf once huge: the next multiply caps */
	}
	return (int64_t)((long double)d * p);
}

int64_t rv_backoff_base(const struct rv_backoff_spec *b, uint32_t n)
{
	int64_t d = b->delay_ns, max = b->delay_max_ns, v;

	if (n == 0)
		n = 1;
	if (d <= 0)
		return 0;	/* 0 * multiplier^(n-1) would be NaN once it is inf */
	if (max < d)
		max = d;
	switch (b->kind) {
	case RV_BACKOFF_LINEAR:
		v = sat_mul(d, n, max);
		break;
	case RV_BACKOFF_EXPONENTIAL:
		v = exp_delay(d, b->multiplier, n - 1, max);
		break;
	case RV_BACKOFF_FIBONACCI: {
		uint64_t f0 = 0, f1 = 1;	/* F(1) = 1 */

		for (uint32_t i = 1; i < n; i++) {
			uint64_t f2 = f0 + f1;

			f0 = f1;
			f1 = f2;
			if (sat_mul(d, f1, max) >= max)
				break;	/* capped: the rest is max too */
		}
		v = sat_mul(d, f1, max);
		break;
	}
	case RV_BACKOFF_FIXED:
	default:
		v = d;
		break;
	}
	return v > max ? max : v;
}

int64_t rv_backoff_delay(const struct rv_backoff_spec *b, uint32_t n,
			 uint64_t *rng)
{
	int64_t v = rv_backoff_base(b, n);
	double j = b->jitter, x;

	if (j <= 0 || v == 0)
		return v;
	x = (double)v * (1.0 + j * (2.0 * rv_rng_unit(rng) - 1.0));
	if (x < 0)
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	return (int64_t)x;
}
