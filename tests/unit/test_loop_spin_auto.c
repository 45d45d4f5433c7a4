/* SPDX-License-Identifier: MIT */
/*
 * spin:auto's estimator (uring/spin_auto.c) fed synthetic wake-up lateness
 * sequences: it learns the P99.5 plus a margin, goes up when the machine
 * gets worse, comes down when it gets better, ignores a lone outlier and
 * never exceeds its cap.  Pure arithmetic: no clock, no loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spin_auto.h"

#define US 1000LL
#define CAP (200 * US)

/* n wake-ups, every k-th of them (k > 0) late by hi instead of lo */
static void feed(struct rv_spin_est *e, int n, int64_t lo, int k, int64_t hi)
{
	for (int i = 1; i <= n; i++)
		rv_spin_est_add(e, k && i % k == 0 ? hi : lo);
}

static void test_buckets(void **state)
{
	(void)state;
	assert_int_equal(rv_spin_est_bucket(0), 0);
	assert_int_equal(rv_spin_est_bucket(255), 0);
	assert_int_equal(rv_spin_est_bucket(256), 1);
	assert_int_equal(rv_spin_est_bucket(319), 1);
	assert_int_equal(rv_spin_est_bucket(320), 2);
	/* every value lies below its bucket's end and at or above the
	 * previous one's, and ends are within 25% of each other */
	for (int64_t v = 1; v < (1LL << 30); v = v * 9 / 8 + 1) {
		unsigned int b = rv_spin_est_bucket(v);

		assert_true(v < rv_spin_est_bucket_end(b));
		if (b)
			assert_true(v >= rv_spin_est_bucket_end(b - 1));
	}
	for (unsigned int b = 2; b < RV_SPIN_BUCKETS; b++)
		assert_true(rv_spin_est_bucket_end(b) * 4 <=
			    rv_spin_est_bucket_end(b - 1) * 5);
}

static void test_starts_at_cap(void **state)
{
	struct rv_spin_est e;

	(void)state;
	rv_spin_est_init(&e, CAP);
	assert_int_equal(e.window_ns, CAP);
	feed(&e, RV_SPIN_WARMUP - 1, 10 * US, 0, 0);
	assert_int_equal(e.window_ns, CAP);	/* still learning */
	feed(&e, 1, 10 * US, 0, 0);
	assert_true(e.window_ns < CAP);
}

/* A steady 45 us (an idle VM): the window covers it, with little slack. */
static void test_learns_steady(void **state)
{
	struct rv_spin_est e;

	(void)state;
	rv_spin_est_init(&e, CAP);
	feed(&e, 1000, 45 * US, 0, 0);
	assert_true(e.window_ns >= 45 * US + RV_SPIN_MARGIN_NS);
	assert_true(e.window_ns <= 45 * US * 5 / 4 + RV_SPIN_MARGIN_NS);
}

/* A high percentile, not the mean or the max: 2% at 120 us sets it. */
static void test_covers_p99(void **state)
{
	struct rv_spin_est e;

	(void)state;
	rv_spin_est_init(&e, CAP);
	feed(&e, 2000, 10 * US, 50, 120 * US);
	assert_true(e.window_ns > 120 * US);
	assert_true(e.window_ns <= 150 * US + RV_SPIN_MARGIN_NS);
}

/* One preemption in 500 wake-ups is below the P99.5: no spin for it. */
static void test_ignores_outlier(void **state)
{
	struct rv_spin_est e;

	(void)state;
	rv_spin_est_init(&e, CAP);
	feed(&e, 3000, 10 * US, 500, 5000 * US);
	assert_true(e.window_ns < 20 * US);
}

static void test_adapts_up_then_down(void **state)
{
	struct rv_spin_est e;
	int n;

	(void)state;
	rv_spin_est_init(&e, CAP);
	feed(&e, 1000, 5 * US, 0, 0);
	assert_true(e.window_ns < 10 * US);
	/* the machine gets busy: 60 us wake-ups; within 50 the window
	 * covers them */
	for (n = 0; n < 1000 && e.window_ns < 60 * US; n++)
		rv_spin_est_add(&e, 60 * US);
	assert_true(n < 50);
	feed(&e, 1000, 60 * US, 0, 0);
	assert_true(e.window_ns >= 60 * US);
	/* idle again: back down within a few thousand wake-ups */
	for (n = 0; n < 10000 && e.window_ns >= 10 * US; n++)
		rv_spin_est_add(&e, 5 * US);
	assert_true(n < 3000);
	assert_true(n > 100);	/* but not on the first good wake-up */
}

static void test_respects_cap(void **state)
{
	struct rv_spin_est e;

	(void)state;
	rv_spin_est_init(&e, 50 * US);
	feed(&e, 1000, 3000 * US, 0, 0);	/* every wake-up 3 ms late */
	assert_int_equal(e.window_ns, 50 * US);
	feed(&e, 1000, 2000000000LL, 0, 0);	/* beyond the last bucket */
	assert_int_equal(e.window_ns, 50 * US);
	feed(&e, 2000, -5, 0, 0);		/* early: counts as 0 */
	assert_true(e.window_ns <= 256 + RV_SPIN_MARGIN_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_starts_at_cap),
		cmocka_unit_test(test_learns_steady),
		cmocka_unit_test(test_covers_p99),
		cmocka_unit_test(test_ignores_outlier),
		cmocka_unit_test(test_adapts_up_then_down),
		cmocka_unit_test(test_respects_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
