/* SPDX-License-Identifier: MIT */
/*
 * The loop's precision mode ("spin:DURATION"), the timer-lateness
 * histogram and SCHED_FIFO for the loop thread.  No timing assertions:
 * every case is arranged so that its outcome does not depend on how late
 * the kernel wakes us (a spin window longer than the timer's distance
 * makes the first turn spin, whatever the VM does).
 *
 * RINGVISOR_BACKEND=io_uring|epoll|auto picks one backend; unset runs the
 * cases once per available backend.  Exit 77 if none can run.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "loop_stats.h"
#include "spin_auto.h"

#define MS 1000000LL

static enum rv_backend g_backend;

static struct rv_loop *new_loop(void)
{
	struct rv_loop_config cfg = { .backend = g_backend };
	struct rv_loop *loop;
	char why[256];
	int ret;

	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (ret)
		print_message("rv_loop_new: %s\n", why);
	assert_int_equal(ret, 0);
	return loop;
}

struct fired {
	struct rv_timer t[4];
	int n[4];
	int64_t now[4];
	int64_t clock[4];
	struct rv_timer *cancel;	/* cancelled by the first callback */
};

static void fired_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct fired *f = ctx;
	int i = (int)(t - f->t);

	f->n[i]++;
	f->now[i] = now;
	f->clock[i] = rv_clock_now();
	if (f->cancel) {
		rv_loop_timer_cancel(loop, f->cancel);
		f->cancel = NULL;
	}
}

static uint64_t lateness_total(const struct rv_timer_lateness *h)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < RV_LATENESS_BUCKETS; i++)
		sum += h->buckets[i];
	return sum;
}

static void test_spin_setting(void **state)
{
	struct rv_loop *loop = new_loop();

	assert_int_equal(rv_loop_timer_spin(loop), 0);
	assert_int_equal(rv_loop_set_timer_spin(loop, -1), -EINVAL);
	assert_int_equal(rv_loop_set_timer_spin(loop, RV_TIMER_SPIN_MAX + 1),
			 -EINVAL);
	assert_int_equal(rv_loop_timer_spin(loop), 0);
	assert_int_equal(rv_loop_set_timer_spin(loop, 50000), 0);
	assert_int_equal(rv_loop_timer_spin(loop), 50000);
	assert_int_equal(rv_loop_set_timer_spin(loop, 0), 0);
	assert_int_equal(rv_loop_timer_spin(loop), 0);
	rv_loop_free(loop);
}

/*
 * spin:auto starts at its cap, learns only from waits that really waited
 * (one asked to end in the past measures nothing), and its window never
 * leaves [margin, cap].  How much it learns depends on the machine: not
 * asserted here (tests/unit/test_loop_spin_auto.c drives the estimator).
 */
static void test_spin_auto(void **state)
{
	struct rv_loop *loop = new_loop();
	struct fired f = { 0 };
	struct rv_timer_lateness h;
	int64_t cap = MS;
	int i;

	assert_int_equal(rv_loop_set_timer_spin_auto(loop, -1), -EINVAL);
	assert_int_equal(rv_loop_set_timer_spin_auto(loop,
						     RV_TIMER_SPIN_MAX + 1),
			 -EINVAL);
	assert_int_equal(rv_loop_set_timer_spin_auto(loop, 0), 0);
	assert_int_equal(rv_loop_timer_spin(loop), RV_TIMER_SPIN_AUTO_MAX);
	assert_int_equal(rv_loop_set_timer_spin_auto(loop, cap), 0);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_timer_init(&f.t[0], fired_cb, &f);
	/* armed 0.5 ms out, inside the 1 ms window: every wait is asked to
	 * end in the past, so nothing is learnt and the window stays put
	 * (learning from it would see ~0.5 ms and shrink the window) */
	for (i = 0; i < 2 * RV_SPIN_WARMUP; i++) {
		rv_loop_timer_arm(loop, &f.t[0], rv_clock_now() + MS / 2);
		while (f.n[0] == i)
			assert_int_equal(rv_loop_run_once(loop, -1), 0);
	}
	assert_int_equal(rv_loop_timer_spin(loop), cap);
	/* armed 3 ms out: real waits, learnt; the window stays in bounds */
	for (; i < 4 * RV_SPIN_WARMUP; i++) {
		rv_loop_timer_arm(loop, &f.t[0], rv_clock_now() + 3 * MS);
		while (f.n[0] == i)
			assert_int_equal(rv_loop_run_once(loop, -1), 0);
		assert_true(f.clock[0] >= f.t[0].deadline_ns);
	}
	assert_true(rv_loop_timer_spin(loop) <= cap);
	assert_true(rv_loop_timer_spin(loop) >= RV_SPIN_MARGIN_NS);
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.count, 4 * RV_SPIN_WARMUP);
	assert_int_equal(h.spins + h.misses, h.count);
	assert_int_equal(h.spin_window_ns, rv_loop_timer_spin(loop));
	/* a fixed window turns learning off */
	assert_int_equal(rv_loop_set_timer_spin(loop, 50000), 0);
	assert_int_equal(rv_loop_timer_spin(loop), 50000);
	rv_loop_free(loop);
}

static void test_lateness_buckets(void **state)
{
	unsigned int i;

	assert_int_equal(rv_timer_lateness_bucket(0), 0);
	assert_int_equal(rv_timer_lateness_bucket(-5), 0);
	assert_int_equal(rv_timer_lateness_bucket(1023), 0);
	assert_int_equal(rv_timer_lateness_bucket(1024), 1);
	assert_int_equal(rv_timer_lateness_bucket(2047), 1);
	assert_int_equal(rv_timer_lateness_bucket(2048), 2);
	assert_int_equal(rv_timer_lateness_bucket(INT64_MAX),
			 RV_LATENESS_BUCKETS - 1);
	assert_int_equal(rv_timer_lateness_bucket_end(0), 1024);
	assert_true(rv_timer_lateness_bucket_end(RV_LATENESS_BUCKETS - 1) ==
		    INT64_MAX);
	/* every bucket holds exactly [end(i-1), end(i)) */
	for (i = 1; i < RV_LATENESS_BUCKETS - 1; i++) {
		int64_t lo = rv_timer_lateness_bucket_end(i - 1);
		int64_t hi = rv_timer_lateness_bucket_end(i);

		assert_true(hi == 2 * lo);
		assert_int_equal(rv_timer_lateness_bucket(lo), i);
		assert_int_equal(rv_timer_lateness_bucket(hi - 1), i);
		assert_int_equal(rv_timer_lateness_bucket(hi), i + 1);
	}
}

/*
 * A 1 s spin window and a timer 50 ms out: the kernel wait ends at once
 * (its deadline is already past) and the first turn spins to the deadline
 * and fires the timer, never before it.
 */
static void test_spin_fires_in_first_turn(void **state)
{
	struct rv_loop *loop = new_loop();
	struct fired f = { 0 };
	struct rv_loop_stats before, after;
	struct rv_timer_lateness h;
	int64_t dl;

	assert_int_equal(rv_loop_set_timer_spin(loop, RV_TIMER_SPIN_MAX), 0);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_timer_init(&f.t[0], fired_cb, &f);
	dl = rv_clock_now() + 50 * MS;
	rv_loop_timer_arm(loop, &f.t[0], dl);
	rv_loop_get_stats(loop, &before);
	assert_int_equal(rv_loop_run_once(loop, -1), 0);
	rv_loop_get_stats(loop, &after);
	assert_int_equal(after.turns - before.turns, 1);
	assert_int_equal(f.n[0], 1);
	assert_true(f.now[0] >= dl);
	assert_true(f.clock[0] >= dl);
	assert_true(f.now[0] == rv_loop_now(loop));
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.spins, 1);
	assert_true(h.spin_ns > 0);
	assert_int_equal(lateness_total(&h), 1);
	rv_loop_free(loop);
}

/*
 * A fires after a spin and cancels B, which was also within the window:
 * nothing spins for B, B never fires.  C, armed normally, still fires.
 */
static void test_spin_respects_cancel(void **state)
{
	struct rv_loop *loop = new_loop();
	struct fired f = { 0 };
	struct rv_timer_lateness h;
	int64_t base = rv_clock_now();
	int i;

	assert_int_equal(rv_loop_set_timer_spin(loop, RV_TIMER_SPIN_MAX), 0);
	assert_int_equal(rv_loop_timer_reserve(loop, 3), 0);
	for (i = 0; i < 3; i++)
		rv_timer_init(&f.t[i], fired_cb, &f);
	f.cancel = &f.t[1];
	rv_loop_timer_arm(loop, &f.t[0], base + 20 * MS);
	rv_loop_timer_arm(loop, &f.t[1], base + 40 * MS);
	assert_int_equal(rv_loop_run_once(loop, 0), 0);
	assert_int_equal(f.n[0], 1);
	assert_false(rv_timer_is_armed(&f.t[1]));
	/* nothing armed: a zero wait must not spin or fire anything */
	assert_int_equal(rv_loop_run_once(loop, 0), 0);
	assert_int_equal(f.n[1], 0);
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.spins, 1);

	/* back to normal mode: C fires after a real kernel wait, no spin */
	assert_int_equal(rv_loop_set_timer_spin(loop, 0), 0);
	rv_loop_timer_arm(loop, &f.t[2], rv_clock_now() + 5 * MS);
	while (!f.n[2])
		assert_int_equal(rv_loop_run_once(loop, -1), 0);
	assert_true(f.now[2] >= f.t[2].deadline_ns);
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.spins, 1);
	assert_int_equal(h.count, 2);
	assert_int_equal(f.n[1], 0);
	rv_loop_free(loop);
}

/* Precision mode keeps the deadline order of many timers. */
enum { NORDER = 64 };

struct order {
	struct rv_timer t[NORDER];
	int n;
	bool early;
	bool ordered;
	int64_t last;
};

static void order_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct order *o = ctx;

	if (now < t->deadline_ns)
		o->early = true;
	if (t->deadline_ns < o->last)
		o->ordered = false;
	o->last = t->deadline_ns;
	o->n++;
}

static void test_spin_order(void **state)
{
	struct rv_loop *loop = new_loop();
	struct order o = { .ordered = true, .last = INT64_MIN };
	struct rv_timer_lateness h;
	int64_t base = rv_clock_now() + 2 * MS;
	int i;

	assert_int_equal(rv_loop_set_timer_spin(loop, 200000), 0);
	assert_int_equal(rv_loop_timer_reserve(loop, NORDER), 0);
	for (i = 0; i < NORDER; i++) {
		rv_timer_init(&o.t[i], order_cb, &o);
		/* scrambled, 100 us apart, some inside one spin window */
		rv_loop_timer_arm(loop, &o.t[i],
				  base + ((i * 37) % NORDER) * 100000);
	}
	while (o.n < NORDER)
		assert_int_equal(rv_loop_run_once(loop, -1), 0);
	assert_false(o.early);
	assert_true(o.ordered);
	for (i = 0; i < NORDER; i++)
		assert_false(rv_timer_is_armed(&o.t[i]));
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.count, NORDER);
	assert_int_equal(lateness_total(&h), NORDER);
	rv_loop_free(loop);
}

/* Lateness of a timer armed 5 ms in the past is at least 5 ms. */
static void test_lateness_past_deadline(void **state)
{
	struct rv_loop *loop = new_loop();
	struct fired f = { 0 };
	struct rv_timer_lateness h;

	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_timer_init(&f.t[0], fired_cb, &f);
	rv_loop_timer_arm(loop, &f.t[0], rv_clock_now() - 5 * MS);
	assert_int_equal(rv_loop_run_once(loop, -1), 0);
	assert_int_equal(f.n[0], 1);
	rv_loop_get_timer_lateness(loop, &h);
	assert_int_equal(h.count, 1);
	assert_true(h.max_ns >= 5 * MS);
	assert_true(h.sum_ns >= (uint64_t)(5 * MS));
	assert_int_equal(h.spins, 0);
	assert_int_equal(h.buckets[rv_timer_lateness_bucket(h.max_ns)], 1);
	assert_true(rv_timer_lateness_bucket(h.max_ns) >=
		    rv_timer_lateness_bucket(5 * MS));
	rv_loop_free(loop);
}

/* SCHED_FIFO for the loop thread; a child starts SCHED_OTHER. */
static void test_realtime_not_inherited(void **state)
{
	int policy, status;
	pid_t pid;
	int ret;

	assert_int_equal(rv_loop_set_realtime(-1), -EINVAL);
	assert_int_equal(rv_loop_set_realtime(100), -EINVAL);
	ret = rv_loop_set_realtime(1);
	if (ret == -EPERM) {
		print_message("SCHED_FIFO not permitted here\n");
		skip();
	}
	assert_int_equal(ret, 0);
	policy = sched_getscheduler(0);
	assert_int_equal(policy, SCHED_FIFO | SCHED_RESET_ON_FORK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(rv_loop_set_realtime(0), 0);
	assert_int_equal(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK,
			 SCHED_OTHER);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_spin_setting),
	cmocka_unit_test(test_spin_auto),
	cmocka_unit_test(test_lateness_buckets),
	cmocka_unit_test(test_spin_fires_in_first_turn),
	cmocka_unit_test(test_spin_respects_cancel),
	cmocka_unit_test(test_spin_order),
	cmocka_unit_test(test_lateness_past_deadline),
	cmocka_unit_test(test_realtime_not_inherited),
};

static bool available(enum rv_backend b, const char *name)
{
	struct rv_loop_config cfg = { .backend = b };
	struct rv_loop *loop;
	char why[256];

	if (rv_loop_new(&loop, &cfg, why, sizeof(why))) {
		printf("skipping %s: %s\n", name, why);
		return false;
	}
	rv_loop_free(loop);
	return true;
}

int main(void)
{
	static const struct {
		const char *name;
		enum rv_backend backend;
	} all[] = {
		{ "precision/io_uring", RV_BACKEND_IO_URING },
		{ "precision/epoll", RV_BACKEND_EPOLL },
	};
	const char *env = getenv("RINGVISOR_BACKEND");
	int failed = 0, ran = 0;
	size_t i;

	if (rv_loop_block_signals((const int[]){ 0 })) {
		printf("cannot block signals\n");
		return 77;
	}
	if (env && *env) {
		g_backend = RV_BACKEND_AUTO;
		if (!available(g_backend, "precision/env"))
			return 77;
		return cmocka_run_group_tests_name("precision/env", tests,
						   NULL, NULL);
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!available(all[i].backend, all[i].name))
			continue;
		g_backend = all[i].backend;
		failed += cmocka_run_group_tests_name(all[i].name, tests, NULL,
						      NULL);
		ran++;
	}
	return ran ? failed : 77;
}
