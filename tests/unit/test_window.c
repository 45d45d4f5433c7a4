/* SPDX-License-Identifier: MIT */
/* Restart intensity: N restarts inside any window of length W. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tree/window.h"

#define S 1000000000LL

static void allows_exactly_n_in_window(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 3, 60 * S), 0);
	assert_true(rv_window_admit(&w, 1 * S));
	assert_true(rv_window_admit(&w, 2 * S));
	assert_true(rv_window_admit(&w, 3 * S));
	assert_false(rv_window_admit(&w, 4 * S));	/* would be the 4th */
	assert_int_equal(rv_window_count(&w, 4 * S), 3);
	rv_window_free(&w);
}

static void old_restarts_age_out(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 2, 10 * S), 0);
	assert_true(rv_window_admit(&w, 0));
	assert_true(rv_window_admit(&w, 5 * S));
	assert_false(rv_window_admit(&w, 9 * S));
	/* at exactly t=10s the first restart is out of (0, 10] */
	assert_true(rv_window_admit(&w, 10 * S));
	assert_int_equal(rv_window_count(&w, 10 * S), 2);
	assert_false(rv_window_admit(&w, 14 * S));
	assert_true(rv_window_admit(&w, 15 * S));
	rv_window_free(&w);
}

static void refused_restart_is_not_recorded(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 1, 10 * S), 0);
	assert_true(rv_window_admit(&w, 0));
	for (int i = 1; i < 10; i++)
		assert_false(rv_window_admit(&w, i * S));
	/* the refusals did not push the window forward */
	assert_true(rv_window_admit(&w, 10 * S));
	rv_window_free(&w);
}

static void sliding_any_window(void **state)
{
	struct rv_window w;
	int allowed = 0;

	/* one restart per second for 100 s against 5 per 10 s: after the
	 * first 5, exactly every other second fits (a sliding window) */
	assert_int_equal(rv_window_init(&w, 5, 10 * S), 0);
	for (int t = 0; t < 100; t++)
		allowed += rv_window_admit(&w, t * S);
	assert_int_equal(allowed, 50);
	rv_window_free(&w);
}

static void zero_allows_none_unlimited_all(void **state)
{
	struct rv_window none, all;

	assert_int_equal(rv_window_init(&none, 0, 60 * S), 0);
	assert_int_equal(rv_window_init(&all, UINT32_MAX, 60 * S), 0);
	assert_false(rv_window_admit(&none, 0));
	for (int i = 0; i < 100000; i++)
		assert_true(rv_window_admit(&all, i));
	rv_window_free(&none);
	rv_window_free(&all);
}

static void reset_forgets(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 2, 60 * S), 0);
	assert_true(rv_window_admit(&w, 1));
	assert_true(rv_window_admit(&w, 2));
	assert_false(rv_window_admit(&w, 3));
	rv_window_reset(&w);
	assert_int_equal(rv_window_count(&w, 3), 0);
	assert_true(rv_window_admit(&w, 4));
	rv_window_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allows_exactly_n_in_window),
		cmocka_unit_test(old_restarts_age_out),
		cmocka_unit_test(refused_restart_is_not_recorded),
		cmocka_unit_test(sliding_any_window),
		cmocka_unit_test(zero_allows_none_unlimited_all),
		cmocka_unit_test(reset_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
