/* SPDX-License-Identifier: MIT */
/* Restart intensity: N restarts inside any window of length W. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "tree/window.h"

#define S 1000000000LL

static void allows_exactly_n_in_window(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 3, 60 * S, NULL), 0);
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

	assert_int_equal(rv_window_init(&w, 2, 10 * S, NULL), 0);
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

	assert_int_equal(rv_window_init(&w, 1, 10 * S, NULL), 0);
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
	assert_int_equal(rv_window_init(&w, 5, 10 * S, NULL), 0);
	for (int t = 0; t < 100; t++)
		allowed += rv_window_admit(&w, t * S);
	assert_int_equal(allowed, 50);
	rv_window_free(&w);
}

static void zero_allows_none_unlimited_all(void **state)
{
	struct rv_window none, all;

	assert_int_equal(rv_window_init(&none, 0, 60 * S, NULL), 0);
	assert_int_equal(rv_window_init(&all, UINT32_MAX, 60 * S, NULL), 0);
	assert_false(rv_window_admit(&none, 0));
	for (int i = 0; i < 100000; i++)
		assert_true(rv_window_admit(&all, i));
	rv_window_free(&none);
	rv_window_free(&all);
}

static void reset_forgets(void **state)
{
	struct rv_window w;

	assert_int_equal(rv_window_init(&w, 2, 60 * S, NULL), 0);
	assert_true(rv_window_admit(&w, 1));
	assert_true(rv_window_admit(&w, 2));
	assert_false(rv_window_admit(&w, 3));
	rv_window_reset(&w);
	assert_int_equal(rv_window_count(&w, 3), 0);
	assert_true(rv_window_admit(&w, 4));
	rv_window_free(&w);
}

/* Pages of [p, p + len) in memory; -1 when some are not mapped at all. */
static int resident_pages(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	size_t n = ((uintptr_t)p + len - a + 4095) / 4096;
	unsigned char vec[64];
	int in = 0;

	assert_true(n <= sizeof(vec));
	if (mincore((void *)a, n * 4096, vec))
		return errno == ENOMEM ? -1 : -2;
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	return in;
}

/*
 * Rings of one build share a mapping whose pages cost nothing until a
 * restart writes them (a large max_restarts no longer costs its ring up
 * front), and the mapping goes with the last ring.
 */
static void rings_from_a_source_cost_nothing_until_used(void **state)
{
	struct rv_ring_source src = { 0 };
	struct rv_window a, b, none;
	const size_t ring = 1000 * sizeof(int64_t);

	assert_int_equal(rv_window_init(&a, 1000, 60 * S, &src), 0);
	assert_int_equal(rv_window_init(&none, UINT32_MAX, 60 * S, &src), 0);
	assert_int_equal(rv_window_init(&b, 1000, 60 * S, &src), 0);
	rv_ring_source_end(&src);
	assert_ptr_equal(a.chunk, b.chunk);
	assert_ptr_equal(b.stamps, a.stamps + 1000);
	assert_null(none.stamps);
	/* b's ring starts past the chunk's first page (its header) */
	assert_int_equal(resident_pages(b.stamps + 512, ring - 4096), 0);
	for (int64_t t = 1; t <= 1000; t++)
		assert_true(rv_window_admit(&b, t));
	assert_false(rv_window_admit(&b, 1001));
	assert_int_equal(rv_window_count(&b, 1001), 1000);
	assert_true(resident_pages(b.stamps + 512, ring - 4096) > 0);
	rv_window_free(&b);
	/* a still holds the chunk */
	assert_true(rv_window_admit(&a, 1));
	assert_true(resident_pages(a.stamps, sizeof(int64_t)) >= 0);
	int64_t *gone = a.stamps;

	rv_window_free(&a);
	rv_window_free(&none);
	assert_int_equal(resident_pages(gone, sizeof(int64_t)), -1);
	(void)state;
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
		cmocka_unit_test(rings_from_a_source_cost_nothing_until_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
