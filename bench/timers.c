/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench timers: lateness of periodic absolute deadlines,
 * d_k = d_0 + k * period, lateness = the clock read right after the wake-up
 * (in the timer callback, for the loop) - d_k.  Every mechanism in one
 * process, interleaved in blocks of --block samples (round robin), so slow
 * drifts of a noisy machine hit all of them alike:
 *
 *   ringvisor loop        rv_loop_timer_arm() + rv_loop_run_once(), per
 *                         backend (io_uring: the io_uring_enter wait
 *                         timeout; epoll: one absolute timerfd)
 *   ringvisor precision   the same in precision mode (spin:--spin), and
 *                         with the learnt window (spin:auto)
 *   IORING_OP_TIMEOUT     a raw ring, one TIMEOUT|ABS SQE per deadline
 *   timerfd + epoll       TFD_TIMER_ABSTIME, epoll_wait(-1), read
 *   clock_nanosleep       TIMER_ABSTIME, with the inherited timer slack and
 *                         with PR_SET_TIMERSLACK = 1 ns
 *   cyclictest            (--cyclictest) rt-tests' own, in its blocks
 *
 * A wake-up later than a whole period does not drag the next deadlines
 * after it: the ones already past are skipped (counted), as a periodic
 * real-time task would, so one stall is one late sample, not thousands.
 * The run says when it was disturbed (load, steal, stalls): see machine.c.
 *
 * The loop is CLOCK_MONOTONIC only: with --clock boottime|realtime its rows
 * are left out (said so on stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "loop.h"

#ifndef IORING_TIMEOUT_BOOTTIME
#define IORING_TIMEOUT_BOOTTIME (1U << 2)
#endif
#ifndef IORING_TIMEOUT_REALTIME
#define IORING_TIMEOUT_REALTIME (1U << 3)
#endif

enum mech_kind { M_LOOP, M_URING, M_TIMERFD, M_NANOSLEEP, M_CYCLICTEST };

struct mech {
	char *label;
	enum mech_kind kind;
	enum rv_backend backend;	/* M_LOOP */
	int64_t spin_ns;		/* M_LOOP: precision mode */
	bool spin_auto;			/* M_LOOP: spin:auto, spin_ns = cap */
	int64_t skipped;		/* deadlines skipped after a stall */
	int64_t over_period;		/* samples later than a period */
	unsigned long slack;		/* M_NANOSLEEP: 0 = inherited */
	struct rv_loop *loop;
	struct rv_timer timer;
	bool fired;
	int64_t fired_at;
	struct series *s;
};

static clockid_t g_clock = CLOCK_MONOTONIC;
static struct io_uring g_ring;
static int g_tfd = -1, g_epfd = -1;
static unsigned long g_default_slack;

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct mech *m = ctx;

	m->fired_at = clock_ns(CLOCK_MONOTONIC);
	m->fired = true;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NS_PER_S,
			       .tv_nsec = ns % NS_PER_S };

	return ts;
}

/* Sleeps until d by m's mechanism; returns the lateness in ns. */
static int64_t wait_until(struct mech *m, int64_t d)
{
	struct timespec ts = ts_of(d);

	switch (m->kind) {
	case M_LOOP:
		m->fired = false;
		rv_loop_timer_arm(m->loop, &m->timer, d);
		while (!m->fired) {
			int ret = rv_loop_run_once(m->loop, -1);

			if (ret)
				die("%s: rv_loop_run_once: %s", m->label,
				    strerror(-ret));
		}
		return m->fired_at - d;
	case M_URING: {
		struct __kernel_timespec kts = { .tv_sec = ts.tv_sec,
						 .tv_nsec = ts.tv_nsec };
		struct io_uring_sqe *sqe = io_uring_get_sqe(&g_ring);
		struct io_uring_cqe *cqe;
		unsigned int flags = IORING_TIMEOUT_ABS;
		int ret;

		if (g_clock == CLOCK_BOOTTIME)
			flags |= IORING_TIMEOUT_BOOTTIME;
		else if (g_clock == CLOCK_REALTIME)
			flags |= IORING_TIMEOUT_REALTIME;
		io_uring_prep_timeout(sqe, &kts, 0, flags);
		ret = io_uring_submit_and_wait(&g_ring, 1);
		if (ret < 0)
			die("io_uring_submit_and_wait: %s", strerror(-ret));
		ret = io_uring_wait_cqe(&g_ring, &cqe);
		if (ret < 0)
			die("io_uring_wait_cqe: %s", strerror(-ret));
		if (cqe->res != -ETIME)
			die("IORING_OP_TIMEOUT: unexpected res %d", cqe->res);
		io_uring_cqe_seen(&g_ring, cqe);
		break;
	}
	case M_TIMERFD: {
		struct itimerspec its = { .it_value = ts };
		struct epoll_event ev;
		uint64_t exp;

		if (timerfd_settime(g_tfd, TFD_TIMER_ABSTIME, &its, NULL))
			die("timerfd_settime: %s", strerror(errno));
		while (epoll_wait(g_epfd, &ev, 1, -1) < 1)
			;
		if (read(g_tfd, &exp, sizeof(exp)) != sizeof(exp))
			die("read timerfd: %s", strerror(errno));
		break;
	}
	case M_CYCLICTEST:	/* its blocks run whole: run_block() */
		break;
	case M_NANOSLEEP:
		while (clock_nanosleep(g_clock, TIMER_ABSTIME, &ts, NULL) ==
		       EINTR)
			;
		break;
	}
	return clock_ns(g_clock) - d;
}

static bool wanted(const char *label)
{
	char *copy, *tok, *save = NULL;
	bool yes = false;

	if (!g_opt.only)
		return true;
	copy = xstrdup(g_opt.only);
	for (tok = strtok_r(copy, ",", &save); tok && !yes;
	     tok = strtok_r(NULL, ",", &save))
		yes = strcasestr(label, tok) != NULL;
	free(copy);
	return yes;
}

static void add_mech(struct mech *ms, size_t *n, struct mech m)
{
	if (!wanted(m.label)) {
		free(m.label);
		return;
	}
	m.s = series_new(m.label);
	ms[(*n)++] = m;
}

static char *dur_str(int64_t ns)
{
	if (ns % NS_PER_MS == 0)
		return xasprintf("%" PRId64 "ms", ns / NS_PER_MS);
	if (ns % NS_PER_US == 0)
		return xasprintf("%" PRId64 "us", ns / NS_PER_US);
	return xasprintf("%" PRId64 "ns", ns);
}

static void add_loop_rows(struct mech *ms, size_t *n, const char *what,
			  int64_t spin_ns, bool spin_auto)
{
	static const struct {
		const char *name;
		enum rv_backend b;
	} backends[] = {
		{ "io_uring", RV_BACKEND_IO_URING },
		{ "epoll", RV_BACKEND_EPOLL },
	};

	for (size_t b = 0; b < 2; b++)
		add_mech(ms, n, (struct mech){
			.label = xasprintf("ringvisor %s (%s)", what,
					   backends[b].name),
			.kind = M_LOOP,
			.backend = backends[b].b,
			.spin_ns = spin_ns,
			.spin_auto = spin_auto,
		});
}

static size_t make_mechs(struct mech *ms, int64_t spin)
{
	size_t n = 0;

	if (g_clock == CLOCK_MONOTONIC) {
		char *sp = dur_str(spin), *fixed, *aut;
		int64_t cap = g_opt.spin_auto_ns ? g_opt.spin_auto_ns :
						   RV_TIMER_SPIN_AUTO_MAX;
		char *cp = dur_str(cap);

		fixed = xasprintf("precision spin:%s", sp);
		aut = g_opt.spin_auto_ns ?
		      xasprintf("precision spin:auto:%s", cp) :
		      xstrdup("precision spin:auto");
		add_loop_rows(ms, &n, "loop", 0, false);
		if (!g_opt.spin_fixed_off)
			add_loop_rows(ms, &n, fixed, spin, false);
		add_loop_rows(ms, &n, aut, cap, true);
		free(sp);
		free(cp);
		free(fixed);
		free(aut);
	} else {
		msg("--clock %s: the ringvisor loop rows are left out (its "
		    "timers are CLOCK_MONOTONIC)", g_opt.clock);
	}
	add_mech(ms, &n, (struct mech){
		.label = xstrdup("IORING_OP_TIMEOUT ABS"), .kind = M_URING });
	add_mech(ms, &n, (struct mech){
		.label = xstrdup("timerfd + epoll"), .kind = M_TIMERFD });
	add_mech(ms, &n, (struct mech){
		.label = xasprintf("clock_nanosleep (slack %luus)",
				   g_default_slack / 1000),
		.kind = M_NANOSLEEP });
	add_mech(ms, &n, (struct mech){
		.label = xstrdup("clock_nanosleep (slack 1ns)"),
		.kind = M_NANOSLEEP, .slack = 1 });
	if (g_opt.cyclictest && g_clock != CLOCK_MONOTONIC)
		msg("--cyclictest: left out with --clock %s (it measures "
		    "CLOCK_MONOTONIC)", g_opt.clock);
	else if (g_opt.cyclictest && !cyclictest_available())
		die("--cyclictest: cyclictest not found (apt-get install "
		    "rt-tests)");
	else if (g_opt.cyclictest)
		add_mech(ms, &n, (struct mech){
			.label = xstrdup("cyclictest (rt-tests)"),
			.kind = M_CYCLICTEST });
	return n;
}

static void setup_mech(struct mech *m)
{
	struct rv_loop_config cfg = { .backend = m->backend,
				      .ignore_backend_env = true };
	char why[256];
	int ret;

	if (m->kind != M_LOOP)
		return;
	ret = rv_loop_new(&m->loop, &cfg, why, sizeof(why));
	if (ret)
		die("%s: %s", m->label, why);
	if (rv_loop_timer_reserve(m->loop, 1) ||
	    (m->spin_auto ? rv_loop_set_timer_spin_auto(m->loop, m->spin_ns) :
			    rv_loop_set_timer_spin(m->loop, m->spin_ns)))
		die("%s: loop setup failed", m->label);
	rv_timer_init(&m->timer, on_timer, m);
}

static void setup_raw(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = io_uring_queue_init(8, &g_ring, 0);

	if (ret)
		die("io_uring_queue_init: %s", strerror(-ret));
	g_tfd = timerfd_create(g_clock, TFD_CLOEXEC);
	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g_tfd < 0 || g_epfd < 0 ||
	    epoll_ctl(g_epfd, EPOLL_CTL_ADD, g_tfd, &ev))
		die("timerfd/epoll setup: %s", strerror(errno));
}

static void apply_sched(void)
{
	if (g_opt.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(g_opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("--cpu %d: %s", g_opt.cpu, strerror(errno));
	}
	if (g_opt.fifo) {
		struct sched_param sp = { .sched_priority = g_opt.fifo };

		if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp))
			die("--fifo %d: %s", g_opt.fifo, strerror(errno));
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			msg("mlockall: %s", strerror(errno));
	}
}

/*
 * todo samples of m, deadlines period apart from one period from now.  A
 * wake-up so late that the next deadlines are already past skips them.
 */
static void run_block(struct mech *m, int64_t todo, int64_t period)
{
	int64_t d, lat;

	if (m->kind == M_CYCLICTEST) {
		if (cyclictest_block(m->s, period, todo, g_opt.fifo,
				     g_opt.cpu))
			die("cyclictest failed: the run stops here");
		return;
	}
	if (m->kind == M_NANOSLEEP)
		prctl(PR_SET_TIMERSLACK, m->slack ? m->slack : g_default_slack,
		      0, 0, 0);
	d = (m->kind == M_LOOP ? clock_ns(CLOCK_MONOTONIC) :
				 clock_ns(g_clock)) + period;
	for (int64_t k = 0; k < todo; k++) {
		lat = wait_until(m, d);
		series_add(m->s, lat);
		d += period;
		if (lat >= period) {
			int64_t skip = lat / period;

			m->skipped += skip;
			d += skip * period;
		}
	}
	prctl(PR_SET_TIMERSLACK, g_default_slack, 0, 0, 0);
}

/* What precision mode cost, the loop's own view, into the row. */
static void loop_extras(struct mech *m)
{
	struct rv_timer_lateness h;

	rv_loop_get_timer_lateness(m->loop, &h);
	json_object_set_new(m->s->extra, "loop_histogram",
		json_pack("{s:I,s:f,s:f,s:I,s:I,s:f}", "count",
			  (json_int_t)h.count, "mean_us",
			  h.count ? (double)h.sum_ns / h.count / 1e3 : 0.0,
			  "max_us", (double)h.max_ns / 1e3, "spins",
			  (json_int_t)h.spins, "misses", (json_int_t)h.misses,
			  "spin_window_us", (double)h.spin_window_ns / 1e3));
	if (m->spin_ns && h.count)
		m->s->spin_us = (double)h.spin_ns / (double)h.count / 1e3;
	if (m->spin_auto)
		m->s->note = xasprintf("learnt window at the end: %.1f us "
				       "(cap %.0f us); %llu of %llu wake-ups "
				       "after the deadline",
				       (double)h.spin_window_ns / 1e3,
				       (double)m->spin_ns / 1e3,
				       (unsigned long long)h.misses,
				       (unsigned long long)h.count);
}

/*
 * Why each row's tail cannot be trusted: the whole run's disturbance
 * (run_why), and the row's own stalls when they reach into its p99.9.
 */
static void mark_untrusted(struct mech *m, const char *run_why,
			   int64_t period)
{
	char *own = NULL;

	for (size_t i = 0; i < m->s->n; i++)
		m->over_period += m->s->v[i] >= period;
	/* cyclictest skips the periods it missed itself, uncounted here */
	if (m->over_period * 1000 > (int64_t)m->s->n)
		own = xasprintf("%" PRId64 " wake-ups later than a whole "
				"period (%.3f ms)", m->over_period,
				(double)period / 1e6);
	if (own && m->kind != M_CYCLICTEST) {
		char *more = xasprintf("%s, %" PRId64 " deadlines skipped",
				       own, m->skipped);

		free(own);
		own = more;
	}
	if (run_why && own)
		m->s->untrusted = xasprintf("%s; %s", run_why, own);
	else if (run_why || own)
		m->s->untrusted = xstrdup(run_why ? run_why : own);
	free(own);
	json_object_set_new(m->s->extra, "over_period",
			    json_integer(m->over_period));
	if (m->kind != M_CYCLICTEST)
		json_object_set_new(m->s->extra, "skipped_deadlines",
				    json_integer(m->skipped));
}

int cmd_timers(void)
{
	struct mech ms[16];
	struct series *ss[16];
	struct machine_snap before, after;
	int64_t period, spin, block, count, t0, total, taken = 0;
	size_t n, done = 0;
	int base = -1;
	char *run_why;
	json_t *rep, *rows;

	if (g_opt.clock && !strcmp(g_opt.clock, "boottime"))
		g_clock = CLOCK_BOOTTIME;
	else if (g_opt.clock && !strcmp(g_opt.clock, "realtime"))
		g_clock = CLOCK_REALTIME;
	else if (g_opt.clock && strcmp(g_opt.clock, "monotonic"))
		die("--clock: expected monotonic, boottime or realtime");
	period = g_opt.period_ns ? g_opt.period_ns : NS_PER_MS;
	spin = g_opt.spin_ns ? g_opt.spin_ns : 50 * NS_PER_US;
	count = g_opt.samples ? g_opt.samples : 20000;
	if (g_opt.duration_ns)
		count = g_opt.duration_ns / period > 0 ?
			g_opt.duration_ns / period : 1;
	block = g_opt.block ? g_opt.block : 1000;
	if (block > count)
		block = count;
	g_default_slack = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	n = make_mechs(ms, spin);
	if (!n)
		die("--only %s matches no mechanism", g_opt.only);
	machine_snap(&before);
	machine_warn_busy(&before, g_opt.load);
	/* before --cpu and --fifo: the loops spread over every CPU and stay
	 * SCHED_OTHER, as the other programs of a busy machine would */
	if (g_opt.load && load_start(g_opt.load))
		die("--load %d: fork: %s", g_opt.load, strerror(errno));
	apply_sched();
	setup_raw();
	for (size_t i = 0; i < n; i++) {
		setup_mech(&ms[i]);
		ss[i] = ms[i].s;
		/* room for every sample, touched now, not while measuring */
		ss[i]->cap = (size_t)count;
		ss[i]->v = xcalloc((size_t)count, sizeof(*ss[i]->v));
		for (int64_t k = 0; k < count; k++)
			ss[i]->v[k] = -1;
		if (ms[i].kind == M_TIMERFD)
			base = (int)i;
	}
	total = (int64_t)n * count;
	msg("timers: %zu mechanisms x %" PRId64 " samples, period %.3f ms, "
	    "interleaved in blocks of %" PRId64 ", %d busy loops: at least "
	    "%.0f s, more on a busy machine%s", n, count, (double)period / 1e6,
	    block, g_opt.load, (double)total * (double)period / 1e9,
	    isatty(STDERR_FILENO) ? "" : " (progress on a tty only)");

	t0 = now_ns();
	while (done < n) {
		done = 0;
		for (size_t i = 0; i < n; i++) {
			struct mech *m = &ms[i];
			int64_t todo = count - (int64_t)m->s->n;

			if (todo <= 0) {
				done++;
				continue;
			}
			if (todo > block)
				todo = block;
			run_block(m, todo, period);
			taken += todo;
			progress("timers", taken, total, t0);
		}
	}
	if (g_opt.load)
		load_stop();
	machine_snap(&after);
	run_why = machine_disturbed(&before, &after, g_opt.load);
	for (size_t i = 0; i < n; i++) {
		if (ms[i].loop)
			loop_extras(&ms[i]);
		mark_untrusted(&ms[i], run_why, period);
	}

	{
		FILE *out = g_opt.json ? stderr : stdout;
		char *title = xasprintf("timer lateness, period %.3f ms, %s%s%s",
					(double)period / 1e6,
					g_opt.clock ? g_opt.clock : "monotonic",
					g_opt.fifo ? ", SCHED_FIFO" : "",
					g_opt.load ? ", busy loops" : "");

		print_latency_table(title, ss, n, base);
		if (base >= 0)
			fprintf(out, "  (p50 ratio: relative to timerfd + epoll)\n");
		fprintf(out, "  run: %.0f s, load average %.2f -> %.2f on %ld "
			"CPUs, VM steal %.2f%%, --load %d\n",
			(double)(after.at_ns - before.at_ns) / 1e9,
			before.load1, after.load1, machine_ncpu(),
			machine_steal_pct(&before, &after), g_opt.load);
		machine_rt_notes(g_opt.fifo, &before, &after, out);
		emit_extras(title, ss, n);
		free(title);
	}
	rep = report_new();
	json_object_set_new(rep, "params", json_pack(
		"{s:f,s:I,s:I,s:s,s:f,s:i,s:i,s:I,s:i,s:b}", "period_us",
		(double)period / 1e3, "count", (json_int_t)count, "block",
		(json_int_t)block, "clock", g_opt.clock ? g_opt.clock :
		"monotonic", "spin_us", (double)spin / 1e3, "fifo", g_opt.fifo,
		"cpu", g_opt.cpu, "default_slack_ns",
		(json_int_t)g_default_slack, "load", g_opt.load, "cyclictest",
		g_opt.cyclictest));
	json_object_set_new(rep, "machine", json_pack(
		"{s:f,s:f,s:f,s:f,s:o}", "loadavg_before", before.load1,
		"loadavg_after", after.load1, "steal_pct",
		machine_steal_pct(&before, &after), "seconds",
		(double)(after.at_ns - before.at_ns) / 1e9, "disturbed",
		run_why ? json_string(run_why) : json_null()));
	rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *row = series_json(ss[i]);

		if (base >= 0 && ss[base]->n)
			json_object_set_new(row, "p50_vs_timerfd", json_real(
				(double)series_pct(ss[i], 50) /
				(double)series_pct(ss[base], 50)));
		json_array_append_new(rows, row);
	}
	json_object_set_new(rep, "results", rows);
	report_emit(rep);
	free(run_why);
	for (size_t i = 0; i < n; i++) {
		if (ms[i].loop)
			rv_loop_free(ms[i].loop);
		free(ms[i].label);
		series_free(ss[i]);
	}
	io_uring_queue_exit(&g_ring);
	close(g_tfd);
	close(g_epfd);
	return 0;
}
