/* SPDX-License-Identifier: MIT */
/*
 * The timer heap on its own (random operation sequences, checking the heap
 * property and back-pointers after every step) and the loop's timer API
 * under random arm/re-arm/cancel, on each available backend.
 *
 * RINGVISOR_BACKEND=io_uring|epoll|auto picks one backend; unset runs the
 * loop cases once per available backend.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loop.h"
#include "loop_stats.h"
#include "timer_heap.h"

#define MS 1000000LL

/* xorshift: deterministic across libcs, unlike rand() */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- heap ---- */

static int64_t min_armed(struct rv_timer *t, size_t n)
{
	int64_t m = INT64_MAX;
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].heap_index != RV_TIMER_UNARMED && t[i].deadline_ns < m)
			m = t[i].deadline_ns;
	return m;
}

static void heap_random_run(uint64_t seed, size_t n, int64_t range,
			    int steps)
{
	struct rv_heap h = { 0 };
	struct rv_timer *t = calloc(n, sizeof(*t));
	uint32_t armed = 0;
	int64_t last;
	size_t i;
	int s;

	assert_non_null(t);
	rng_state = seed;
	for (i = 0; i < n; i++)
		rv_timer_init(&t[i], NULL, NULL);
	assert_int_equal(rv_heap_grow(&h, n), 0);
	for (s = 0; s < steps; s++) {
		struct rv_timer *x = &t[rng() % n];

		switch (rng() % 4) {
		case 0:	/* push or update */
		case 1:
			x->deadline_ns = (int64_t)(rng() % (uint64_t)range);
			if (x->heap_index == RV_TIMER_UNARMED) {
				rv_heap_push(&h, x);
				armed++;
			} else {
				rv_heap_update(&h, x);
			}
			break;
		case 2:	/* remove an arbitrary one */
			if (x->heap_index != RV_TIMER_UNARMED) {
				rv_heap_remove(&h, x);
				armed--;
			}
			break;
		case 3:	/* pop the minimum */
			if (h.n) {
				x = rv_heap_top(&h);
				assert_int_equal(x->deadline_ns,
						 min_armed(t, n));
				rv_heap_remove(&h, x);
				armed--;
			}
			break;
		}
		assert_int_equal(h.n, armed);
		assert_true(rv_heap_check(&h));
		if (h.n)
			assert_int_equal(rv_heap_top(&h)->deadline_ns,
					 min_armed(t, n));
	}
	/* drain: strictly ordered, and every timer ends unarmed */
	last = INT64_MIN;
	while (h.n) {
		struct rv_timer *x = rv_heap_top(&h);

		assert_true(x->deadline_ns >= last);
		last = x->deadline_ns;
		rv_heap_remove(&h, x);
		assert_int_equal(x->heap_index, RV_TIMER_UNARMED);
		assert_true(rv_heap_check(&h));
	}
	for (i = 0; i < n; i++)
		assert_int_equal(t[i].heap_index, RV_TIMER_UNARMED);
	rv_heap_free(&h);
	free(t);
}

static void test_heap_random(void **state)
{
	heap_random_run(1, 1000, 1000000, 20000);
}

/* many equal keys: ties must not break the index bookkeeping */
static void test_heap_random_ties(void **state)
{
	heap_random_run(2, 300, 4, 10000);
}

static void test_heap_small(void **state)
{
	int s;

	for (s = 0; s < 200; s++)
		heap_random_run(100 + s, 1 + s % 9, 10, 200);
}

static void test_heap_grow_keeps_order(void **state)
{
	struct rv_heap h = { 0 };
	struct rv_timer t[100];
	int i;

	for (i = 0; i < 100; i++) {
		rv_timer_init(&t[i], NULL, NULL);
		t[i].deadline_ns = 100 - i;
		assert_int_equal(rv_heap_grow(&h, (size_t)i + 1), 0);
		rv_heap_push(&h, &t[i]);
		assert_true(rv_heap_check(&h));
	}
	assert_ptr_equal(rv_heap_top(&h), &t[99]);
	for (i = 99; i >= 0; i--) {
		assert_ptr_equal(rv_heap_top(&h), &t[i]);
		rv_heap_remove(&h, &t[i]);
	}
	assert_int_equal(h.n, 0);
	rv_heap_free(&h);
}

/* ---- through the loop ---- */

struct run {
	const char *name;
	enum rv_backend backend;
};

static const struct run *g_run;

static struct rv_loop *new_loop(void)
{
	struct rv_loop_config cfg = { .backend = g_run->backend };
	struct rv_loop *loop;
	char why[256];
	int ret;

	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (ret)
		print_message("rv_loop_new: %s\n", why);
	assert_int_equal(ret, 0);
	return loop;
}

#define NRAND 400

struct rand_ctx {
	struct rv_timer t[NRAND];
	int fired[NRAND];
	int64_t prev_deadline;
	int64_t prev_now;
	int nfired;
	bool order_ok;
	bool early;
	bool late;
};

static void rand_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		    void *ctx)
{
	struct rand_ctx *rc = ctx;
	int i = (int)(t - rc->t);

	if (now < t->deadline_ns)
		rc->early = true;
	if (rv_clock_now() - t->deadline_ns > 200 * MS)
		rc->late = true;
	/* within one turn deadlines are non-decreasing */
	if (now == rc->prev_now && t->deadline_ns < rc->prev_deadline)
		rc->order_ok = false;
	rc->prev_now = now;
	rc->prev_deadline = t->deadline_ns;
	rc->fired[i]++;
	rc->nfired++;
	/* a quarter of the callbacks cancel or re-arm someone else */
	switch (rng() % 8) {
	case 0:
		rv_loop_timer_cancel(loop, &rc->t[rng() % NRAND]);
		break;
	case 1:
		rv_loop_timer_arm(loop, &rc->t[rng() % NRAND],
				  now + (int64_t)(rng() % (5 * MS)));
		break;
	}
}

static void test_loop_random(void **state)
{
	struct rv_loop *loop = new_loop();
	struct rand_ctx *rc = calloc(1, sizeof(*rc));
	int64_t start = rv_clock_now(), limit = start + 3000 * MS;
	int i, armed;

	assert_non_null(rc);
	rc->order_ok = true;
	rng_state = 42;
	assert_int_equal(rv_loop_timer_reserve(loop, NRAND), 0);
	for (i = 0; i < NRAND; i++) {
		rv_timer_init(&rc->t[i], rand_cb, rc);
		rv_loop_timer_arm(loop, &rc->t[i],
				  start + (int64_t)(rng() % (30 * MS)));
	}
	/* shuffle before the loop runs: cancel and re-arm some */
	for (i = 0; i < NRAND / 4; i++) {
		rv_loop_timer_cancel(loop, &rc->t[rng() % NRAND]);
		rv_loop_timer_arm(loop, &rc->t[rng() % NRAND],
				  start + (int64_t)(rng() % (30 * MS)));
	}
	for (;;) {
		for (i = 0, armed = 0; i < NRAND; i++)
			armed += rv_timer_is_armed(&rc->t[i]);
		if (!armed || rv_clock_now() > limit)
			break;
		assert_int_equal(rv_loop_run_once(loop, -1), 0);
	}
	assert_int_equal(armed, 0);
	assert_false(rc->early);
	assert_true(rc->order_ok);
	assert_true(rc->nfired >= NRAND / 2);
	assert_false(rc->late);
	rv_loop_free(loop);
	free(rc);
}

static void count_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	(*(int *)ctx)++;
}

/* Arming past the reservation is a bug we survive (and warn about). */
static void test_loop_arm_unreserved(void **state)
{
	struct rv_loop *loop = new_loop();
	struct rv_timer t[64];
	int64_t now = rv_clock_now();
	int n = 0, i;

	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	for (i = 0; i < 64; i++) {
		rv_timer_init(&t[i], count_cb, &n);
		assert_false(rv_timer_is_armed(&t[i]));
		rv_loop_timer_arm(loop, &t[i], now - i);
		assert_true(rv_timer_is_armed(&t[i]));
	}
	assert_int_equal(rv_loop_run_once(loop, 0), 0);
	assert_int_equal(n, 64);
	for (i = 0; i < 64; i++)
		assert_false(rv_timer_is_armed(&t[i]));
	rv_loop_free(loop);
}

/* rv_loop_free() leaves armed timers saying "unarmed". */
static void test_loop_free_disarms(void **state)
{
	struct rv_loop *loop = new_loop();
	struct rv_timer t;
	int n = 0;

	rv_timer_init(&t, count_cb, &n);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_loop_timer_arm(loop, &t, rv_clock_now() + 1000 * MS);
	rv_loop_free(loop);
	assert_false(rv_timer_is_armed(&t));
	assert_int_equal(n, 0);
}

int main(void)
{
	static const struct CMUnitTest heap_tests[] = {
		cmocka_unit_test(test_heap_random),
		cmocka_unit_test(test_heap_random_ties),
		cmocka_unit_test(test_heap_small),
		cmocka_unit_test(test_heap_grow_keeps_order),
	};
	static const struct CMUnitTest loop_tests[] = {
		cmocka_unit_test(test_loop_random),
		cmocka_unit_test(test_loop_arm_unreserved),
		cmocka_unit_test(test_loop_free_disarms),
	};
	static const struct run all[] = {
		{ "timers/io_uring", RV_BACKEND_IO_URING },
		{ "timers/epoll", RV_BACKEND_EPOLL },
	};
	const char *env = getenv("RINGVISOR_BACKEND");
	struct run from_env = { "timers/env", RV_BACKEND_AUTO };
	int failed, ran = 0;
	size_t i;

	if (rv_loop_block_signals(NULL)) {
		printf("cannot block SIGCHLD\n");
		return 77;
	}
	failed = cmocka_run_group_tests_name("heap", heap_tests, NULL, NULL);
	for (i = 0; i < 2; i++) {
		const struct run *r = &all[i];
		struct rv_loop_config cfg = { .backend = r->backend };
		struct rv_loop *probe;
		char why[256];

		if (env && *env) {
			if (i)
				break;
			r = &from_env;
			cfg.backend = r->backend;
		}
		if (rv_loop_new(&probe, &cfg, why, sizeof(why))) {
			printf("skipping %s: %s\n", r->name, why);
			continue;
		}
		rv_loop_free(probe);
		printf("%s: %s\n", r->name, why);
		g_run = r;
		failed += cmocka_run_group_tests_name(r->name, loop_tests,
						      NULL, NULL);
		ran++;
	}
	if (!ran)
		printf("no loop backend could run the loop cases\n");
	return failed;
}
