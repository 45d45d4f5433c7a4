/* SPDX-License-Identifier: MIT */
/* Backoff formulas: exact sequences, caps, saturation, jitter bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tree/backoff.h"

#define MS 1000000LL
#define S 1000000000LL

static struct rv_backoff_spec spec(enum rv_backoff_kind k, int64_t d,
				   int64_t max, double mult)
{
	return (struct rv_backoff_spec){ .kind = k, .delay_ns = d,
					 .delay_max_ns = max,
					 .multiplier = mult };
}

static void fixed_is_constant(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_FIXED, 250 * MS, 30 * S, 2);

	for (uint32_t n = 1; n < 100; n++)
		assert_int_equal(rv_backoff_base(&b, n), 250 * MS);
}

static void linear_grows_by_d(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_LINEAR, 100 * MS, 450 * MS,
					2);
	const int64_t want[] = { 100, 200, 300, 400, 450, 450 };

	for (uint32_t n = 1; n <= 6; n++)
		assert_int_equal(rv_backoff_base(&b, n), want[n - 1] * MS);
}

static void exponential_doubles_then_caps(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_EXPONENTIAL, 100 * MS,
					30 * S, 2.0);
	const int64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800,
				 25600, 30000, 30000 };

	for (uint32_t n = 1; n <= 11; n++)
		assert_int_equal(rv_backoff_base(&b, n), want[n - 1] * MS);
	/* far beyond any double's range: still the cap, no overflow */
	assert_int_equal(rv_backoff_base(&b, 100000), 30 * S);
}

static void exponential_fractional_multiplier(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_EXPONENTIAL, 1 * S,
					1000 * S, 1.5);

	assert_int_equal(rv_backoff_base(&b, 1), 1 * S);
	assert_int_equal(rv_backoff_base(&b, 2), 1500 * MS);
	assert_int_equal(rv_backoff_base(&b, 3), 2250 * MS);
	assert_int_equal(rv_backoff_base(&b, 4), 3375 * MS);
}

static void fibonacci_sequence(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_FIBONACCI, 10 * MS, 1 * S,
					2);
	const int64_t want[] = { 10, 10, 20, 30, 50, 80, 130, 210, 340, 550,
				 890, 1000, 1000 };

	for (uint32_t n = 1; n <= 13; n++)
		assert_int_equal(rv_backoff_base(&b, n), want[n - 1] * MS);
	assert_int_equal(rv_backoff_base(&b, UINT32_MAX), 1 * S);
}

static void zero_delay_stays_zero(void **state)
{
	uint64_t rng = 1;

	for (int k = RV_BACKOFF_FIXED; k <= RV_BACKOFF_FIBONACCI; k++) {
		struct rv_backoff_spec b = spec(k, 0, 0, 2);

		b.jitter = 0.5;
		assert_int_equal(rv_backoff_delay(&b, 7, &rng), 0);
	}
}

/* regression: d * m^(n-1) with d = 0 became 0 * inf = NaN after 16384
 * restarts, which the cap turned into restart_delay_max */
static void zero_delay_survives_huge_n(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_EXPONENTIAL, 0, 30 * S, 2);

	assert_int_equal(rv_backoff_base(&b, 16385), 0);
	assert_int_equal(rv_backoff_base(&b, UINT32_MAX), 0);
	b.kind = RV_BACKOFF_FIBONACCI;
	assert_int_equal(rv_backoff_base(&b, UINT32_MAX), 0);
}

static void n_zero_is_first(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_LINEAR, 5 * MS, 1 * S, 2);

	assert_int_equal(rv_backoff_base(&b, 0), rv_backoff_base(&b, 1));
}

static void jitter_within_bounds_and_spread(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_FIXED, 1 * S, 10 * S, 2);
	uint64_t rng = 42;
	int64_t lo = INT64_MAX, hi = 0;

	b.jitter = 0.1;
	for (int i = 0; i < 10000; i++) {
		int64_t d = rv_backoff_delay(&b, 1, &rng);

		assert_true(d >= 900 * MS && d <= 1100 * MS);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* uniform: both ends of the band are reached closely */
	assert_true(lo < 905 * MS);
	assert_true(hi > 1095 * MS);
}

static void jitter_applies_after_cap(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_EXPONENTIAL, 1 * S, 2 * S,
					10);
	uint64_t rng = 7;
	int above = 0;

	b.jitter = 0.5;
	for (int i = 0; i < 1000; i++) {
		int64_t d = rv_backoff_delay(&b, 5, &rng);

		assert_true(d >= 1 * S && d <= 3 * S);
		above += d > 2 * S;
	}
	assert_true(above > 300);	/* the contract: cap, then jitter */
}

static void jitter_is_reproducible_from_seed(void **state)
{
	struct rv_backoff_spec b = spec(RV_BACKOFF_FIBONACCI, 100 * MS, 60 * S,
					2);
	uint64_t r1 = 99, r2 = 99;

	b.jitter = 0.25;
	for (uint32_t n = 1; n <= 50; n++)
		assert_int_equal(rv_backoff_delay(&b, n, &r1),
				 rv_backoff_delay(&b, n, &r2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed_is_constant),
		cmocka_unit_test(linear_grows_by_d),
		cmocka_unit_test(exponential_doubles_then_caps),
		cmocka_unit_test(exponential_fractional_multiplier),
		cmocka_unit_test(fibonacci_sequence),
		cmocka_unit_test(zero_delay_stays_zero),
		cmocka_unit_test(n_zero_is_first),
		cmocka_unit_test(zero_delay_survives_huge_n),
		cmocka_unit_test(jitter_within_bounds_and_spread),
		cmocka_unit_test(jitter_applies_after_cap),
		cmocka_unit_test(jitter_is_reproducible_from_seed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
