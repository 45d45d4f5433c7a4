/* SPDX-License-Identifier: MIT */
/*
 * The event loop against real kernel objects: timers, forked children,
 * orphans under PR_SET_CHILD_SUBREAPER, signals, wake-ups from threads and
 * signal handlers, pipes.
 *
 * RINGVISOR_BACKEND=io_uring|epoll|auto runs the cases on that backend
 * only.  Unset: once per available backend (io_uring with WAITID, io_uring
 * with pidfd polls, epoll); an unavailable io_uring is reported and only
 * its runs are skipped.  Exit 77 if nothing can run at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "loop_stats.h"

#define MS 1000000LL

struct run {
	const char *name;
	enum rv_backend backend;
	bool no_waitid;
};

static const struct run *g_run;

/* ---- helpers ---- */

struct rec {
	int timers;
	int children;
	int orphans;
	int signals;
	int sigchld_seen;	/* SIGCHLD must never reach signal_cb */
	int wakes;
	int fds;
	int orphans_this_turn, max_orphans_in_turn;
	uint64_t orphan_turn;
	siginfo_t child_si;
	siginfo_t orphan_si;
	struct signalfd_siginfo sig;
	uint32_t revents;
	bool stop_on_wake;
};

static void on_signal(struct rv_loop *loop, int signo,
		      const struct signalfd_siginfo *si, void *ctx)
{
	struct rec *r = ctx;

	if (signo == SIGCHLD)
		r->sigchld_seen++;
	r->signals++;
	r->sig = *si;
}

static void on_wake(struct rv_loop *loop, void *ctx)
{
	struct rec *r = ctx;

	r->wakes++;
	if (r->stop_on_wake)
		rv_loop_stop(loop);
}

static void on_orphan(struct rv_loop *loop, const siginfo_t *si, void *ctx)
{
	struct rec *r = ctx;
	struct rv_loop_stats st;

	r->orphans++;
	r->orphan_si = *si;
	rv_loop_get_stats(loop, &st);
	if (st.turns != r->orphan_turn) {
		r->orphan_turn = st.turns;
		r->orphans_this_turn = 0;
	}
	if (++r->orphans_this_turn > r->max_orphans_in_turn)
		r->max_orphans_in_turn = r->orphans_this_turn;
}

static struct rv_loop *new_loop(struct rec *r)
{
	static const int sigs[] = { SIGUSR1, 0 };
	struct rv_loop_config cfg = {
		.backend = g_run->backend,
		.no_waitid = g_run->no_waitid,
		/* the pidfd-poll run also takes the relative wait timeouts
		 * of kernels before 6.12 */
		.no_abs_timer = g_run->no_waitid,
		.signals = sigs,
		.signal_cb = on_signal,
		.wake_cb = on_wake,
		.orphan_cb = on_orphan,
		.ctx = r,
	};
	struct rv_loop *loop;
	char why[256];
	int ret;

	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (ret)
		print_message("rv_loop_new: %s\n", why);
	assert_int_equal(ret, 0);
	return loop;
}

/* Turns the loop until *counter >= target or timeout_ms passes. */
static void run_until(struct rv_loop *loop, const int *counter, int target,
		      int timeout_ms)
{
	int64_t end = rv_clock_now() + timeout_ms * MS;

	while (*counter < target) {
		int64_t left = end - rv_clock_now();

		if (left <= 0)
			break;
		assert_int_equal(rv_loop_run_once(loop, left), 0);
	}
	assert_int_equal(*counter, target);
}

/* A few more turns, to catch anything reported twice. */
static void settle(struct rv_loop *loop, int ms)
{
	int64_t end = rv_clock_now() + ms * MS;
	int64_t left;

	while ((left = end - rv_clock_now()) > 0)
		assert_int_equal(rv_loop_run_once(loop, left), 0);
}

static pid_t fork_exit(int code, int delay_ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (delay_ms)
			usleep((useconds_t)delay_ms * 1000);
		_exit(code);
	}
	return pid;
}

struct kid {
	struct rv_child c;
	int reports;
	int code;
	int status;
	pid_t got_pid;
};

static void on_child(struct rv_loop *loop, struct rv_child *c,
		     const siginfo_t *si, void *ctx)
{
	struct kid *k = (struct kid *)c;
	struct rec *r = ctx;

	k->reports++;
	k->code = si->si_code;
	k->status = si->si_status;
	k->got_pid = si->si_pid;
	r->children++;
	r->child_si = *si;
}

static void watch_kid(struct rv_loop *loop, struct kid *k, pid_t pid,
		      struct rec *r)
{
	memset(k, 0, sizeof(*k));
	k->c.pid = pid;
	k->c.pidfd = pidfd_open(pid, 0);
	assert_true(k->c.pidfd >= 0);
	k->c.cb = on_child;
	k->c.ctx = r;
	assert_int_equal(rv_loop_watch_child(loop, &k->c), 0);
	assert_true(k->c.watched);
}

/* ---- backend selection ---- */

static void test_backend_info(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	const char *name = rv_loop_backend_name(loop);
	const char *method = rv_loop_child_method(loop);

	assert_non_null(name);
	assert_non_null(method);
	print_message("backend %s, child exits: %s\n", name, method);
	if (g_run->backend == RV_BACKEND_EPOLL) {
		assert_int_equal(rv_loop_backend(loop), RV_BACKEND_EPOLL);
		assert_string_equal(name, "epoll");
		assert_non_null(strstr(method, "epoll"));
	} else if (g_run->backend == RV_BACKEND_IO_URING) {
		assert_int_equal(rv_loop_backend(loop), RV_BACKEND_IO_URING);
		assert_string_equal(name, "io_uring");
		if (g_run->no_waitid)
			assert_non_null(strstr(method, "POLL_ADD"));
	}
	assert_true(rv_loop_now(loop) <= rv_clock_now());
	rv_loop_free(loop);
}

/* Restores RINGVISOR_BACKEND after a case that plays with it. */
static char *save_env(void)
{
	const char *v = getenv("RINGVISOR_BACKEND");

	return v ? strdup(v) : NULL;
}

static void restore_env(char *v)
{
	if (v)
		setenv("RINGVISOR_BACKEND", v, 1);
	else
		unsetenv("RINGVISOR_BACKEND");
	free(v);
}

static void test_env_forces_epoll(void **state)
{
	struct rv_loop_config cfg = { .backend = RV_BACKEND_IO_URING };
	char *saved = save_env();
	struct rv_loop *loop;
	char why[256];
	int ret;

	setenv("RINGVISOR_BACKEND", "epoll", 1);
	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	assert_int_equal(ret, 0);
	assert_int_equal(rv_loop_backend(loop), RV_BACKEND_EPOLL);
	assert_string_equal(rv_loop_backend_name(loop), "epoll");
	assert_true(strlen(why) > 0);
	assert_non_null(strstr(why, "RINGVISOR_BACKEND"));
	rv_loop_free(loop);

	/* an explicit choice can opt out of the override */
	setenv("RINGVISOR_BACKEND", "io_uring", 1);
	cfg.backend = RV_BACKEND_EPOLL;
	cfg.ignore_backend_env = true;
	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	assert_int_equal(ret, 0);
	assert_int_equal(rv_loop_backend(loop), RV_BACKEND_EPOLL);
	assert_null(strstr(why, "RINGVISOR_BACKEND"));
	rv_loop_free(loop);
	cfg.backend = RV_BACKEND_IO_URING;
	cfg.ignore_backend_env = false;

	setenv("RINGVISOR_BACKEND", "bogus", 1);
	loop = (struct rv_loop *)&ret;
	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	assert_int_equal(ret, -EINVAL);
	assert_null(loop);
	assert_non_null(strstr(why, "bogus"));
	restore_env(saved);
}

/*
 * io_uring blocked the way Docker's seccomp profile does it (EPERM from
 * io_uring_setup), in a child so the filter does not stick to us:
 * explicit io_uring must fail with a why that says how to check, auto
 * must fall back to epoll and say why.
 */
struct seccomp_result {
	int explicit_ret;
	int auto_ret;
	int auto_backend;
	char explicit_why[256];
	char auto_why[256];
};

static int block_io_uring_setup(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static void test_io_uring_blocked(void **state)
{
	struct seccomp_result res;
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rv_loop_config cfg = { .backend = RV_BACKEND_IO_URING };
		struct rv_loop *loop;

		memset(&res, 0, sizeof(res));
		unsetenv("RINGVISOR_BACKEND");
		if (block_io_uring_setup())
			_exit(2);
		res.explicit_ret = rv_loop_new(&loop, &cfg, res.explicit_why,
					       sizeof(res.explicit_why));
		if (!res.explicit_ret)
			rv_loop_free(loop);
		cfg.backend = RV_BACKEND_AUTO;
		res.auto_ret = rv_loop_new(&loop, &cfg, res.auto_why,
					   sizeof(res.auto_why));
		if (!res.auto_ret) {
			res.auto_backend = rv_loop_backend(loop);
			rv_loop_free(loop);
		}
		_exit(write(p[1], &res, sizeof(res)) == sizeof(res) ? 0 : 3);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &res, sizeof(res)), sizeof(res));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	print_message("explicit: %s\n", res.explicit_why);
	print_message("auto: %s\n", res.auto_why);
	assert_int_equal(res.explicit_ret, -EPERM);
	assert_non_null(strstr(res.explicit_why,
			       "io_uring_queue_init: Operation not permitted"));
	assert_non_null(strstr(res.explicit_why, "io_uring_disabled"));
	assert_non_null(strstr(res.explicit_why, "seccomp"));
	assert_int_equal(res.auto_ret, 0);
	assert_int_equal(res.auto_backend, RV_BACKEND_EPOLL);
	assert_non_null(strstr(res.auto_why, "Operation not permitted"));
	assert_non_null(strstr(res.auto_why, "epoll"));
}

/* ---- timers ---- */

#define NORDER 40

struct order {
	struct rv_timer t[NORDER];
	int seq[NORDER];
	int n;
	bool early;
	bool stale_now;
	int64_t worst_late;
};

static void order_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct order *o = ctx;
	int64_t late = rv_clock_now() - t->deadline_ns;

	if (now < t->deadline_ns)
		o->early = true;
	if (now != rv_loop_now(loop))
		o->stale_now = true;
	if (late > o->worst_late)
		o->worst_late = late;
	o->seq[o->n++] = (int)(t - o->t);
}

static void test_timers_in_order(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct order o = { 0 };
	int64_t start = rv_clock_now();
	int i;

	assert_int_equal(rv_loop_timer_reserve(loop, NORDER), 0);
	for (i = 0; i < NORDER; i++) {
		rv_timer_init(&o.t[i], order_cb, &o);
		/* scrambled, with some equal deadlines */
		rv_loop_timer_arm(loop, &o.t[i],
				  start + MS + ((i * 7919) % 23) * 2 * MS);
	}
	run_until(loop, &o.n, NORDER, 2000);
	assert_false(o.early);
	assert_false(o.stale_now);
	assert_true(o.worst_late < 200 * MS);
	for (i = 1; i < NORDER; i++)
		assert_true(o.t[o.seq[i - 1]].deadline_ns <=
			    o.t[o.seq[i]].deadline_ns);
	for (i = 0; i < NORDER; i++)
		assert_false(rv_timer_is_armed(&o.t[i]));
	rv_loop_free(loop);
}

/*
 * A, B, C, D fall due in one turn.  A cancels C (due, not yet fired),
 * pushes B (due) 15 ms out and re-arms itself in the past; D arms E in the
 * past.  Re-armed-in-the-past timers fire next turn, not in this pass.
 */
enum { TA, TB, TC, TD, TE, NT };

struct rearm {
	struct rv_timer t[NT];
	int fired[NT];
	uint64_t turn[NT];
	int order[16];
	int n;
	int64_t base;
};

static uint64_t turn_of(struct rv_loop *loop)
{
	struct rv_loop_stats st;

	rv_loop_get_stats(loop, &st);
	return st.turns;
}

static void rearm_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct rearm *x = ctx;
	int id = (int)(t - x->t);

	x->fired[id]++;
	x->turn[id] = turn_of(loop);
	x->order[x->n++] = id;
	if (id == TA && x->fired[TA] == 1) {
		rv_loop_timer_cancel(loop, &x->t[TC]);
		rv_loop_timer_cancel(loop, &x->t[TC]);	/* twice: no-op */
		rv_loop_timer_arm(loop, &x->t[TB], now + 15 * MS);
		rv_loop_timer_arm(loop, t, x->base);
	}
	if (id == TD)
		rv_loop_timer_arm(loop, &x->t[TE], x->base + 1);
}

static void test_timers_rearm_cancel_in_callbacks(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct rearm x = { 0 };
	int i;

	assert_int_equal(rv_loop_timer_reserve(loop, NT), 0);
	x.base = rv_clock_now() + 5 * MS;
	for (i = 0; i < NT; i++)
		rv_timer_init(&x.t[i], rearm_cb, &x);
	for (i = TA; i <= TD; i++)
		rv_loop_timer_arm(loop, &x.t[i], x.base + i);
	/* re-arming an armed timer moves it (A first, then back) */
	rv_loop_timer_arm(loop, &x.t[TA], x.base + 100 * MS);
	rv_loop_timer_arm(loop, &x.t[TA], x.base);

	run_until(loop, &x.n, 5, 2000);
	/* first pass: A, D; next turn: A again, then E; later: B */
	assert_int_equal(x.order[0], TA);
	assert_int_equal(x.order[1], TD);
	assert_int_equal(x.order[2], TA);
	assert_int_equal(x.order[3], TE);
	assert_int_equal(x.order[4], TB);
	assert_true(x.turn[TD] < x.turn[TE]);
	assert_int_equal(x.fired[TA], 2);
	assert_int_equal(x.fired[TC], 0);
	assert_false(rv_timer_is_armed(&x.t[TC]));
	settle(loop, 30);
	assert_int_equal(x.n, 5);
	for (i = 0; i < NT; i++)
		assert_false(rv_timer_is_armed(&x.t[i]));
	rv_loop_free(loop);
}

#define NMANY 10000

struct many {
	struct rv_timer *t;
	int n;
	bool early;
	bool ordered;
	int64_t last;
};

static void many_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		    void *ctx)
{
	struct many *m = ctx;

	if (now < t->deadline_ns)
		m->early = true;
	if (t->deadline_ns < m->last)
		m->ordered = false;
	m->last = t->deadline_ns;
	m->n++;
}

/*
 * 10,000 armed timers are one kernel wait: wake-ups before the deadline
 * do not touch the timerfd (epoll) and the turn that fires the first
 * timer fires them all.
 */
static void test_timers_10k_one_wait(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct rv_loop_stats before, after;
	struct many m = { .ordered = true, .last = INT64_MIN };
	int64_t base;
	uint32_t seed = 1;
	int i;

	m.t = calloc(NMANY, sizeof(*m.t));
	assert_non_null(m.t);
	assert_int_equal(rv_loop_timer_reserve(loop, NMANY), 0);
	base = rv_clock_now() + 40 * MS;
	for (i = 0; i < NMANY; i++) {
		seed = seed * 1103515245 + 12345;
		rv_timer_init(&m.t[i], many_cb, &m);
		/* all within one microsecond, in random order */
		rv_loop_timer_arm(loop, &m.t[i], base + (seed >> 8) % 1000);
	}
	rv_loop_get_stats(loop, &before);
	/* three early wake-ups: turns, but the deadline did not move */
	for (i = 0; i < 3; i++) {
		assert_int_equal(rv_loop_wake(loop), 0);
		assert_int_equal(rv_loop_run_once(loop, -1), 0);
	}
	assert_true(r.wakes >= 1);
	assert_int_equal(m.n, 0);
	while (m.n == 0 && rv_clock_now() < base + 2000 * MS)
		assert_int_equal(rv_loop_run_once(loop, -1), 0);
	rv_loop_get_stats(loop, &after);
	assert_int_equal(m.n, NMANY);
	assert_false(m.early);
	assert_true(m.ordered);
	assert_int_equal(after.timers_fired - before.timers_fired, NMANY);
	if (rv_loop_backend(loop) == RV_BACKEND_EPOLL)
		assert_int_equal(after.timerfd_sets - before.timerfd_sets, 1);
	else
		assert_int_equal(after.timerfd_sets, 0);
	rv_loop_free(loop);
	free(m.t);
}

static int g_nested_ret;

static void stop_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		    void *ctx)
{
	(*(int *)ctx)++;
	g_nested_ret = rv_loop_run_once(loop, 0);
	rv_loop_stop(loop);
}

static void test_run_and_stop(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct rv_timer t;
	int64_t start = rv_clock_now();
	int n = 0;

	rv_timer_init(&t, stop_cb, &n);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_loop_timer_arm(loop, &t, start + 10 * MS);
	g_nested_ret = 0;
	assert_int_equal(rv_loop_run(loop), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g_nested_ret, -EDEADLK);
	assert_true(rv_clock_now() >= start + 10 * MS);
	assert_true(rv_clock_now() < start + 300 * MS);
	rv_loop_free(loop);
}

/* ---- children ---- */

static void test_child_exit_code(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid k;
	siginfo_t si;
	pid_t pid;

	assert_int_equal(rv_loop_child_reserve(loop, 1), 0);
	pid = fork_exit(7, 5);
	watch_kid(loop, &k, pid, &r);
	run_until(loop, &r.children, 1, 2000);
	settle(loop, 30);
	assert_int_equal(k.reports, 1);
	assert_int_equal(k.code, CLD_EXITED);
	assert_int_equal(k.status, 7);
	assert_int_equal(k.got_pid, pid);
	assert_false(k.c.watched);
	assert_int_equal(r.orphans, 0);
	assert_int_equal(r.sigchld_seen, 0);
	/* the loop reaped it: nothing left for anyone else */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PIDFD, (id_t)k.c.pidfd, &si,
				WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

static void test_child_killed(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid k;
	pid_t pid;

	assert_int_equal(rv_loop_child_reserve(loop, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	watch_kid(loop, &k, pid, &r);
	settle(loop, 10);
	assert_int_equal(k.reports, 0);
	assert_int_equal(pidfd_send_signal(k.c.pidfd, SIGKILL, NULL, 0), 0);
	run_until(loop, &r.children, 1, 2000);
	settle(loop, 20);
	assert_int_equal(k.reports, 1);
	assert_int_equal(k.code, CLD_KILLED);
	assert_int_equal(k.status, SIGKILL);
	assert_int_equal(k.got_pid, pid);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

/* Exited before anyone watched it: still reported, once. */
static void test_child_watched_after_exit(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid k;
	siginfo_t si;
	pid_t pid;

	assert_int_equal(rv_loop_child_reserve(loop, 1), 0);
	/* turn once with no children, so a WAITID reaper sees -ECHILD */
	settle(loop, 5);
	pid = fork_exit(42, 0);
	/* wait for the zombie without reaping it */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	watch_kid(loop, &k, pid, &r);
	run_until(loop, &r.children, 1, 2000);
	settle(loop, 20);
	assert_int_equal(k.reports, 1);
	assert_int_equal(k.status, 42);
	assert_int_equal(r.orphans, 0);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

#define NKIDS 1000

static void test_children_1000(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid *k = calloc(NKIDS, sizeof(*k));
	struct rv_loop_stats st;
	int i;

	assert_non_null(k);
	assert_int_equal(rv_loop_child_reserve(loop, NKIDS), 0);
	for (i = 0; i < NKIDS; i++) {
		/* half exit at once, half a little later, interleaved */
		pid_t pid = fork_exit(i & 0xff, (i & 1) ? i % 7 : 0);

		watch_kid(loop, &k[i], pid, &r);
		if (i % 100 == 99)
			assert_int_equal(rv_loop_run_once(loop, 0), 0);
	}
	run_until(loop, &r.children, NKIDS, 5000);
	settle(loop, 30);
	for (i = 0; i < NKIDS; i++) {
		assert_int_equal(k[i].reports, 1);
		assert_int_equal(k[i].code, CLD_EXITED);
		assert_int_equal(k[i].status, i & 0xff);
		assert_int_equal(k[i].got_pid, k[i].c.pid);
		close(k[i].c.pidfd);
	}
	assert_int_equal(r.children, NKIDS);
	assert_int_equal(r.orphans, 0);
	assert_int_equal(r.sigchld_seen, 0);
	rv_loop_get_stats(loop, &st);
	assert_int_equal(st.children_reaped, NKIDS);
	print_message("1000 children: %llu turns, %llu sweeps, %llu reaper "
		      "arms, %llu reaped by WAITID, %llu stale\n",
		      (unsigned long long)st.turns,
		      (unsigned long long)st.sweeps,
		      (unsigned long long)st.reaper_arms,
		      (unsigned long long)st.reaper_reaps,
		      (unsigned long long)st.stale);
	rv_loop_free(loop);
	free(k);
}

/*
 * A watched child double-forks: the grandchild is reparented to us (we are
 * a subreaper) and must be reported through orphan_cb, never through the
 * watched child's callback.
 */
static void test_orphan_to_subreaper(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	pid_t pid, grandchild = 0;
	struct kid k;
	int p[2];

	assert_int_equal(rv_loop_child_reserve(loop, 1), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t g = fork();

		if (g == 0) {
			usleep(40 * 1000);
			_exit(99);
		}
		_exit(write(p[1], &g, sizeof(g)) == sizeof(g) ? 3 : 4);
	}
	close(p[1]);
	watch_kid(loop, &k, pid, &r);
	assert_int_equal(read(p[0], &grandchild, sizeof(grandchild)),
			 sizeof(grandchild));
	close(p[0]);
	run_until(loop, &r.children, 1, 2000);
	run_until(loop, &r.orphans, 1, 2000);
	settle(loop, 20);
	assert_int_equal(k.reports, 1);
	assert_int_equal(k.status, 3);
	assert_int_equal(k.got_pid, pid);
	assert_int_equal(r.orphans, 1);
	assert_int_equal(r.orphan_si.si_pid, grandchild);
	assert_int_equal(r.orphan_si.si_code, CLD_EXITED);
	assert_int_equal(r.orphan_si.si_status, 99);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

/*
 * Services that exit at once, restarted from their exit callback: each
 * callback starts the replacement and returns only once that one has
 * exited too, so every waitid the loop makes finds a zombie.  Each
 * watched child must still be reported at most once per turn, and the
 * turns must end: a SIGCHLD sweep that went on reaping what the callbacks
 * started kept the loop in one turn for as long as they kept exiting.
 */
#define FLAPPERS	2
#define FLAPS		200

struct flapper {
	struct kid k;		/* first: the callback gets &k.c */
	struct flaps *all;
};

struct flaps {
	struct flapper f[FLAPPERS];
	struct rec *r;
	int reports;
	uint64_t turn;
	int in_turn, max_in_turn;
};

static void on_flap(struct rv_loop *loop, struct rv_child *c,
		    const siginfo_t *si, void *ctx)
{
	struct flapper *f = (struct flapper *)c;
	struct flaps *x = f->all;
	uint64_t turn = turn_of(loop);
	siginfo_t zombie;
	pid_t pid;

	assert_int_equal(si->si_pid, c->pid);
	close(c->pidfd);
	if (turn != x->turn) {
		x->turn = turn;
		x->in_turn = 0;
	}
	if (++x->in_turn > x->max_in_turn)
		x->max_in_turn = x->in_turn;
	if (++x->reports > FLAPS)
		return;
	pid = fork_exit(0, 0);
	watch_kid(loop, &f->k, pid, x->r);
	f->k.c.cb = on_flap;
	f->k.c.ctx = x;
	/* exited, not reaped: the loop's next waitid will see it */
	assert_int_equal(waitid(P_PID, (id_t)pid, &zombie,
				WEXITED | WNOWAIT), 0);
}

static void test_restarted_at_once_one_report_per_turn(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct flaps *x = calloc(1, sizeof(*x));
	struct rv_loop_stats st;
	int i;

	assert_non_null(x);
	x->r = &r;
	assert_int_equal(rv_loop_child_reserve(loop, FLAPPERS), 0);
	for (i = 0; i < FLAPPERS; i++) {
		x->f[i].all = x;
		watch_kid(loop, &x->f[i].k, fork_exit(0, 0), &r);
		x->f[i].k.c.cb = on_flap;
		x->f[i].k.c.ctx = x;
	}
	run_until(loop, &x->reports, FLAPS + FLAPPERS, 10000);
	settle(loop, 20);
	rv_loop_get_stats(loop, &st);
	print_message("%d reports in %llu turns, at most %d in one turn, "
		      "%llu sweeps\n", x->reports,
		      (unsigned long long)st.turns, x->max_in_turn,
		      (unsigned long long)st.sweeps);
	assert_int_equal(x->reports, FLAPS + FLAPPERS);
	assert_in_range(x->max_in_turn, 1, FLAPPERS);
	assert_int_equal(r.orphans, 0);
	assert_int_equal(r.sigchld_seen, 0);
	rv_loop_free(loop);
	free(x);
}

/*
 * A child leaves 200 exited children behind, reparented to us: all are
 * reported, but one sweep takes only a bounded share (the loop answers
 * everything else in between), and the rest come in the next turns.
 */
#define ORPHANS 200

static void test_orphan_flood_is_spread_over_turns(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	siginfo_t si;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < ORPHANS; i++)
			if (fork() == 0)
				_exit(0);
		usleep(200 * 1000);	/* they are all zombies by now */
		_exit(0);
	}
	/* it exited: its zombies are ours now */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT),
			 0);
	usleep(20 * 1000);
	run_until(loop, &r.orphans, ORPHANS + 1, 5000);
	settle(loop, 20);
	print_message("%d orphans, at most %d in one turn\n", r.orphans,
		      r.max_orphans_in_turn);
	assert_int_equal(r.orphans, ORPHANS + 1);
	/* RV_SWEEP_ORPHANS (64) beyond one per watched child (none) */
	assert_in_range(r.max_orphans_in_turn, 1, 64);
	rv_loop_free(loop);
}

/* After rv_loop_unwatch_child() the exit goes to orphan_cb. */
static void test_unwatch_child(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid k;
	pid_t pid;

	assert_int_equal(rv_loop_child_reserve(loop, 1), 0);
	pid = fork_exit(5, 30);
	watch_kid(loop, &k, pid, &r);
	settle(loop, 5);
	rv_loop_unwatch_child(loop, &k.c);
	assert_false(k.c.watched);
	rv_loop_unwatch_child(loop, &k.c);	/* no-op */
	run_until(loop, &r.orphans, 1, 2000);
	settle(loop, 20);
	assert_int_equal(k.reports, 0);
	assert_int_equal(r.orphan_si.si_pid, pid);
	assert_int_equal(r.orphan_si.si_status, 5);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

static void test_watch_child_errors(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct kid k, dup;
	pid_t pid;

	pid = fork_exit(0, 20);
	watch_kid(loop, &k, pid, &r);
	assert_int_equal(rv_loop_watch_child(loop, &k.c), -EALREADY);
	dup = k;
	dup.c.watched = false;
	assert_int_equal(rv_loop_watch_child(loop, &dup.c), -EEXIST);
	dup.c.pid = 0;
	assert_int_equal(rv_loop_watch_child(loop, &dup.c), -EINVAL);
	run_until(loop, &r.children, 1, 2000);
	assert_int_equal(k.reports, 1);
	close(k.c.pidfd);
	rv_loop_free(loop);
}

/* ---- signals and wake-ups ---- */

static void test_signal_delivery(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);

	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	run_until(loop, &r.signals, 1, 2000);
	settle(loop, 10);
	assert_int_equal(r.signals, 1);
	assert_int_equal(r.sig.ssi_signo, SIGUSR1);
	assert_int_equal(r.sig.ssi_pid, getpid());
	assert_int_equal(r.sig.ssi_code, SI_USER);
	rv_loop_free(loop);
}

struct waker {
	struct rv_loop *loop;
	int ret;
	bool errno_kept;
};

static void *waker_thread(void *arg)
{
	struct waker *w = arg;

	usleep(20 * 1000);
	errno = EDOM;
	w->ret = rv_loop_wake(w->loop);
	w->errno_kept = errno == EDOM;
	return NULL;
}

static void guard_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	*(bool *)ctx = true;
	rv_loop_stop(loop);
}

static void test_wake_from_thread(void **state)
{
	struct rec r = { .stop_on_wake = true };
	struct rv_loop *loop = new_loop(&r);
	struct waker w = { .loop = loop, .ret = -1 };
	struct rv_timer guard;
	bool timed_out = false;
	pthread_t th;

	rv_timer_init(&guard, guard_cb, &timed_out);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_loop_timer_arm(loop, &guard, rv_clock_now() + 2000 * MS);
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	assert_int_equal(rv_loop_run(loop), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(timed_out);
	assert_int_equal(r.wakes, 1);
	assert_int_equal(w.ret, 0);
	assert_true(w.errno_kept);
	/* several wakes before the loop looks: one wake_cb */
	r.stop_on_wake = false;
	assert_int_equal(rv_loop_wake(loop), 0);
	assert_int_equal(rv_loop_wake(loop), 0);
	settle(loop, 10);
	assert_int_equal(r.wakes, 2);
	rv_loop_free(loop);
}

static struct rv_loop *g_sig_loop;
static volatile sig_atomic_t g_handler_ok;
static volatile sig_atomic_t g_handler_ran;

static void alarm_handler(int sig)
{
	int saved = errno;

	errno = ERANGE;
	g_handler_ok = rv_loop_wake(g_sig_loop) == 0 && errno == ERANGE;
	g_handler_ran = 1;
	errno = saved;
}

static void test_wake_from_signal_handler(void **state)
{
	struct rec r = { .stop_on_wake = true };
	struct rv_loop *loop = new_loop(&r);
	struct sigaction sa = { .sa_handler = alarm_handler }, old;
	struct itimerval it = { .it_value = { .tv_usec = 20 * 1000 } };
	struct rv_timer guard;
	bool timed_out = false;

	g_sig_loop = loop;
	g_handler_ok = g_handler_ran = 0;
	/* no SA_RESTART: the handler interrupts the kernel wait (-EINTR) */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	rv_timer_init(&guard, guard_cb, &timed_out);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_loop_timer_arm(loop, &guard, rv_clock_now() + 2000 * MS);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(rv_loop_run(loop), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_false(timed_out);
	assert_true(g_handler_ran);
	assert_true(g_handler_ok);
	assert_int_equal(r.wakes, 1);
	rv_loop_free(loop);
}

/* ---- fd watches ---- */

struct pipe_ctx {
	struct rv_fdwatch w;
	int n;
	uint32_t revents;
	bool rewatch;
	int wfd;
};

static void pipe_cb(struct rv_loop *loop, struct rv_fdwatch *w,
		    uint32_t revents, void *ctx)
{
	struct pipe_ctx *pc = ctx;
	char buf[16];

	pc->n++;
	pc->revents = revents;
	if (w->armed)
		pc->revents |= 0x80000000u;	/* must be disarmed here */
	if (revents & POLLIN)
		(void)!read(w->fd, buf, sizeof(buf));
	if (pc->rewatch) {
		pc->rewatch = false;
		rv_loop_watch_fd(loop, w);
	}
}

/* pc watches the read end of a new pipe p (not armed yet) */
static void pipe_watch_init(struct rv_loop *loop, struct pipe_ctx *pc,
			    int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	pc->w.fd = p[0];
	pc->w.events = POLLIN;
	pc->w.cb = pipe_cb;
	pc->w.ctx = pc;
	assert_int_equal(rv_loop_fd_reserve(loop, 1), 0);
}

static void write_cb(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct pipe_ctx *pc = ctx;

	assert_int_equal(write(pc->wfd, "x", 1), 1);
}

static void test_fd_watch_pipe(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct pipe_ctx pc = { 0 };
	struct rv_timer t;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	pc.wfd = p[1];
	pc.w.fd = p[0];
	pc.w.events = POLLIN;
	pc.w.cb = pipe_cb;
	pc.w.ctx = &pc;
	assert_int_equal(rv_loop_fd_reserve(loop, 1), 0);
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);
	assert_true(pc.w.armed);
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), -EALREADY);
	settle(loop, 10);
	assert_int_equal(pc.n, 0);

	/* readiness from a timer callback 10 ms later */
	rv_timer_init(&t, write_cb, &pc);
	assert_int_equal(rv_loop_timer_reserve(loop, 1), 0);
	rv_loop_timer_arm(loop, &t, rv_clock_now() + 10 * MS);
	run_until(loop, &pc.n, 1, 2000);
	assert_true(pc.revents & POLLIN);
	assert_false(pc.revents & 0x80000000u);
	assert_false(pc.w.armed);

	/* one-shot: more data, no callback until watched again */
	assert_int_equal(write(p[1], "y", 1), 1);
	settle(loop, 10);
	assert_int_equal(pc.n, 1);
	pc.rewatch = true;	/* and re-watch from inside the callback */
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);
	run_until(loop, &pc.n, 2, 2000);
	assert_true(pc.w.armed);
	assert_int_equal(write(p[1], "z", 1), 1);
	run_until(loop, &pc.n, 3, 2000);
	assert_false(pc.w.armed);

	/* POLLOUT on the write end is ready at once */
	pc.w.fd = p[1];
	pc.w.events = POLLOUT;
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);
	run_until(loop, &pc.n, 4, 2000);
	assert_true(pc.revents & POLLOUT);
	close(p[0]);
	close(p[1]);
	rv_loop_free(loop);
}

static void test_fd_unwatch(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct pipe_ctx pc = { 0 };
	int p[2], i;

	pipe_watch_init(loop, &pc, p);
	/* watch/unwatch churn: late completions of old ones are dropped */
	for (i = 0; i < 50; i++) {
		assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);
		if (i % 2)
			assert_int_equal(rv_loop_run_once(loop, 0), 0);
		rv_loop_unwatch_fd(loop, &pc.w);
		assert_false(pc.w.armed);
	}
	rv_loop_unwatch_fd(loop, &pc.w);	/* no-op */
	assert_int_equal(write(p[1], "x", 1), 1);
	settle(loop, 20);
	assert_int_equal(pc.n, 0);
	/* the data is still there for a new watch, reported once */
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);
	run_until(loop, &pc.n, 1, 2000);
	settle(loop, 10);
	assert_int_equal(pc.n, 1);
	assert_true(pc.revents & POLLIN);
	close(p[0]);
	close(p[1]);
	rv_loop_free(loop);
}

/* ---- quiesce (a hand-over to a new image) ---- */

/* Blocks until pid is a zombie, without reaping it. */
static void wait_zombie(pid_t pid)
{
	siginfo_t si = { 0 };

	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_pid, pid);
}

/*
 * An exit just before quiesce is dispatched by quiesce itself (a CQE that
 * raced the cancel, or the zombie sweep), so a state written after it
 * contains it; an exit while quiesced waits and is dispatched after
 * unquiesce.  Each exactly once.  Registrations made before and during
 * quiesce (an fd watch, a socket-less timer) all work after unquiesce.
 */
static void test_quiesce_child_exit_once(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct pipe_ctx pc = { 0 };
	struct kid before, during, idle;
	int p[2];

	assert_int_equal(rv_loop_child_reserve(loop, 3), 0);
	pipe_watch_init(loop, &pc, p);
	assert_int_equal(rv_loop_watch_fd(loop, &pc.w), 0);

	watch_kid(loop, &before, fork_exit(0, 60000), &r);
	watch_kid(loop, &idle, fork_exit(0, 60000), &r);
	/* in the kernel: WAITID armed or the pidfd polled */
	assert_int_equal(rv_loop_run_once(loop, 0), 0);
	kill(before.c.pid, SIGKILL);
	wait_zombie(before.c.pid);

	assert_int_equal(rv_loop_quiesce(loop, 2000 * MS), 0);
	assert_true(rv_loop_is_quiesced(loop));
	assert_int_equal(before.reports, 1);
	assert_int_equal(before.status, SIGKILL);
	assert_int_equal(idle.reports, 0);
	assert_int_equal(rv_loop_quiesce(loop, 2000 * MS), -EALREADY);
	assert_int_equal(rv_loop_run_once(loop, 0), -EBUSY);

	/* while quiesced: an exit, a new watch, readiness: nothing runs */
	watch_kid(loop, &during, fork_exit(4, 0), &r);
	wait_zombie(during.c.pid);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(during.reports, 0);
	assert_int_equal(pc.n, 0);

	rv_loop_unquiesce(loop);
	assert_false(rv_loop_is_quiesced(loop));
	run_until(loop, &during.reports, 1, 2000);
	run_until(loop, &pc.n, 1, 2000);
	assert_int_equal(during.status, 4);
	/* and a later exit of a child watched before quiesce still comes */
	kill(idle.c.pid, SIGKILL);
	run_until(loop, &idle.reports, 1, 2000);
	settle(loop, 20);
	assert_int_equal(before.reports, 1);
	assert_int_equal(during.reports, 1);
	assert_int_equal(idle.reports, 1);
	assert_int_equal(pc.n, 1);
	assert_int_equal(r.children, 3);
	close(before.c.pidfd);
	close(during.c.pidfd);
	close(idle.c.pidfd);
	close(p[0]);
	close(p[1]);
	rv_loop_free(loop);
}

struct acc {
	struct rv_io io;
	int n;
	int res;
};

static void on_accepted(struct rv_loop *loop, struct rv_io *io, int res,
			void *ctx)
{
	struct acc *a = ctx;

	a->n++;
	a->res = res;
	if (res >= 0)
		close(res);
}

/*
 * A socket op in flight (an accept, as the control socket's) is taken out
 * of the kernel by quiesce and stays registered: a peer that connects
 * while quiesced waits in the backlog and is accepted once after
 * unquiesce, with no -ECANCELED reported in between.  One cancelled
 * while quiesced is idle at once.
 */
static void test_quiesce_keeps_socket_ops(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct acc a = { 0 }, b = { 0 };
	int sv[2], lfd, peer;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(listen(lfd, 8), 0);	/* an ephemeral port */
	assert_int_equal(rv_loop_io_reserve(loop, 2), 0);
	a.io.fd = lfd;
	a.io.cb = on_accepted;
	a.io.ctx = &a;
	assert_int_equal(rv_loop_accept(loop, &a.io), 0);
	assert_int_equal(rv_loop_run_once(loop, 0), 0);	/* submitted */

	assert_int_equal(rv_loop_quiesce(loop, 2000 * MS), 0);
	assert_int_equal(a.n, 0);
	assert_true(rv_io_is_armed(&a.io));
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss,
					     &len), 0);
		peer = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(peer, (struct sockaddr *)&ss, len),
				 0);
	}
	/* a recv registered and cancelled while quiesced: idle at once */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	b.io.fd = sv[0];
	b.io.buf = &b.res;
	b.io.len = sizeof(b.res);
	b.io.cb = on_accepted;
	b.io.ctx = &b;
	assert_int_equal(rv_loop_recv(loop, &b.io), 0);
	assert_true(rv_loop_io_cancel(loop, &b.io));
	assert_false(rv_io_is_armed(&b.io));

	rv_loop_unquiesce(loop);
	run_until(loop, &a.n, 1, 2000);
	assert_true(a.res >= 0);
	settle(loop, 20);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 0);
	close(peer);
	close(sv[0]);
	close(sv[1]);
	close(lfd);
	rv_loop_free(loop);
}

static void on_io_done(struct rv_loop *loop, struct rv_io *io, int res,
		       void *ctx)
{
	struct acc *a = ctx;

	a->n++;
	a->res = res;
}

/*
 * A send queued and cancelled in one turn, its descriptor closed right
 * after (a control connection going away): the send must not reach the
 * kernel under the number's next owner.  The socket pair made after the
 * close takes the lowest free number, the closed one; a send still in
 * the SQ then would land in it (a follower's events sent to the next
 * client, seen in the reexec stress run).
 */
static void test_cancel_then_close_spares_the_number(void **state)
{
	struct rec r = { 0 };
	struct rv_loop *loop = new_loop(&r);
	struct acc a = { 0 };
	static char secret[] = "secret";
	int old[2], now[2], number;
	char buf[16];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    old), 0);
	assert_int_equal(rv_loop_io_reserve(loop, 1), 0);
	a.io.fd = number = old[0];
	a.io.buf = secret;
	a.io.len = sizeof(secret);
	a.io.cb = on_io_done;
	a.io.ctx = &a;
	assert_int_equal(rv_loop_send(loop, &a.io), 0);
	(void)rv_loop_io_cancel(loop, &a.io);
	close(old[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    now), 0);
	assert_int_equal(now[0], number);	/* the number, reused */
	settle(loop, 50);
	assert_int_equal(recv(now[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(now[0]);
	close(now[1]);
	close(old[1]);
	rv_loop_free(loop);
}

/*
 * More ready completions at once than the CQ has entries (8192): the ring
 * overflows into the kernel's list (NODROP) and every watch still fires
 * exactly once.  epoll gets them in batches.
 */
#define NREADY 10000

struct ready {
	struct rv_fdwatch *w;
	int *hits;
	int fired;
};

static void ready_cb(struct rv_loop *loop, struct rv_fdwatch *w,
		     uint32_t revents, void *ctx)
{
	struct ready *rd = ctx;

	if (revents & POLLIN)
		rd->hits[w - rd->w]++;
	rd->fired++;
}

static void test_fd_watch_cq_overflow(void **state)
{
	struct rec r = { 0 };
	struct ready rd = { 0 };
	struct rv_loop *loop;
	struct rlimit rl;
	int i;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max < NREADY + 2000) {
		print_message("RLIMIT_NOFILE hard limit too low for %d fds\n",
			      NREADY);
		skip();
	}
	if (rl.rlim_cur < NREADY + 2000) {
		rl.rlim_cur = NREADY + 2000;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	loop = new_loop(&r);
	rd.w = calloc(NREADY, sizeof(*rd.w));
	rd.hits = calloc(NREADY, sizeof(*rd.hits));
	assert_non_null(rd.w);
	assert_non_null(rd.hits);
	assert_int_equal(rv_loop_fd_reserve(loop, NREADY), 0);
	for (i = 0; i < NREADY; i++) {
		rd.w[i].fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(rd.w[i].fd >= 0);
		rd.w[i].events = POLLIN;
		rd.w[i].cb = ready_cb;
		rd.w[i].ctx = &rd;
		assert_int_equal(rv_loop_watch_fd(loop, &rd.w[i]), 0);
	}
	run_until(loop, &rd.fired, NREADY, 5000);
	settle(loop, 10);
	assert_int_equal(rd.fired, NREADY);
	for (i = 0; i < NREADY; i++) {
		assert_int_equal(rd.hits[i], 1);
		assert_false(rd.w[i].armed);
		close(rd.w[i].fd);
	}
	rv_loop_free(loop);
	free(rd.w);
	free(rd.hits);
}

/* ---- main ---- */

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_backend_info),
	cmocka_unit_test(test_env_forces_epoll),
	cmocka_unit_test(test_io_uring_blocked),
	cmocka_unit_test(test_timers_in_order),
	cmocka_unit_test(test_timers_rearm_cancel_in_callbacks),
	cmocka_unit_test(test_timers_10k_one_wait),
	cmocka_unit_test(test_run_and_stop),
	cmocka_unit_test(test_child_exit_code),
	cmocka_unit_test(test_child_killed),
	cmocka_unit_test(test_child_watched_after_exit),
	cmocka_unit_test(test_children_1000),
	cmocka_unit_test(test_restarted_at_once_one_report_per_turn),
	cmocka_unit_test(test_orphan_to_subreaper),
	cmocka_unit_test(test_orphan_flood_is_spread_over_turns),
	cmocka_unit_test(test_unwatch_child),
	cmocka_unit_test(test_watch_child_errors),
	cmocka_unit_test(test_signal_delivery),
	cmocka_unit_test(test_wake_from_thread),
	cmocka_unit_test(test_wake_from_signal_handler),
	cmocka_unit_test(test_fd_watch_pipe),
	cmocka_unit_test(test_fd_unwatch),
	cmocka_unit_test(test_quiesce_child_exit_once),
	cmocka_unit_test(test_quiesce_keeps_socket_ops),
	cmocka_unit_test(test_cancel_then_close_spares_the_number),
	cmocka_unit_test(test_fd_watch_cq_overflow),
};

/* Can this run's backend be set up?  Also: does the kernel have WAITID? */
static bool available(const struct run *r, bool *waitid)
{
	struct rv_loop_config cfg = { .backend = r->backend };
	struct rv_loop *loop;
	char why[256];

	if (rv_loop_new(&loop, &cfg, why, sizeof(why))) {
		printf("skipping %s: %s\n", r->name, why);
		return false;
	}
	printf("%s: %s\n", r->name, why);
	*waitid = strstr(rv_loop_child_method(loop), "WAITID") != NULL;
	rv_loop_free(loop);
	return true;
}

int main(void)
{
	static const int sigs[] = { SIGUSR1, 0 };
	static const struct run all[] = {
		{ "loop/io_uring", RV_BACKEND_IO_URING, false },
		{ "loop/io_uring+pidfd_poll", RV_BACKEND_IO_URING, true },
		{ "loop/epoll", RV_BACKEND_EPOLL, false },
	};
	static const struct run from_env = {
		"loop/env", RV_BACKEND_AUTO, false
	};
	const char *env = getenv("RINGVISOR_BACKEND");
	struct rlimit rl;
	bool waitid = false;
	int failed = 0, ran = 0;
	size_t i;

	/* before any thread exists (the wake test starts one) */
	if (rv_loop_block_signals(sigs)) {
		printf("cannot block signals\n");
		return 77;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		printf("PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return 77;
	}
	/* 1,000 pidfds at once */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (env && *env) {
		if (!available(&from_env, &waitid))
			return 77;
		g_run = &from_env;
		return cmocka_run_group_tests_name(from_env.name, tests, NULL,
						   NULL);
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!available(&all[i], &waitid))
			continue;
		/* without WAITID the first io_uring run already polls */
		if (all[i].no_waitid && !waitid) {
			printf("skipping %s: same as loop/io_uring here\n",
			       all[i].name);
			continue;
		}
		g_run = &all[i];
		failed += cmocka_run_group_tests_name(all[i].name, tests, NULL,
						      NULL);
		ran++;
	}
	if (!ran) {
		printf("no loop backend available\n");
		return 77;
	}
	return failed;
}
