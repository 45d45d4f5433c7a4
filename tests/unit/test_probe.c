/* SPDX-License-Identifier: MIT */
/*
 * Exec probes against real commands: success, failure codes, signals,
 * timeouts (the whole process group dies), commands that cannot be
 * exec'd, a clone that fails, cancellation, re-running from the callback,
 * and what the probe inherits (stdio on /dev/null, no stray fds, envp).
 *
 * RINGVISOR_BACKEND=io_uring|epoll runs on that backend only; unset, on
 * each available one.  Orphans are reaped by the loop: we are a
 * subreaper, so a probe's grandchildren come back to us when it dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/probe.h"
#include "child/spawn.h"
#include "loop.h"

#define MS 1000000LL

extern char **environ;

static enum rv_backend g_backend;

struct rec {
	int n;
	enum rv_probe_result res;
	int code;
	int64_t now;
	bool in_run;		/* set around rv_probe_run() */
	bool called_in_run;	/* the callback came from inside it */
	/* re-run from the callback this many more times */
	int again;
	struct rv_probe *p;
	char *const *argv;
};

struct fixture {
	struct rv_loop *loop;
	struct rv_spawner *sp;
	struct rv_probe p;
	struct rec r;
};

static int g_orphans;
static siginfo_t g_orphan_si;

static void on_orphan(struct rv_loop *loop, const siginfo_t *si, void *ctx)
{
	g_orphans++;
	g_orphan_si = *si;
}

static void on_probe(void *ctx, enum rv_probe_result res, int code,
		     int64_t now)
{
	struct rec *r = ctx;

	r->n++;
	r->res = res;
	r->code = code;
	r->now = now;
	if (r->in_run)
		r->called_in_run = true;
	assert_false(rv_probe_running(r->p));
	if (r->again > 0) {
		r->again--;
		assert_int_equal(rv_probe_run(r->p, r->argv, environ, 0, now),
				 0);
	}
}

static int setup(void **state)
{
	struct rv_loop_config cfg = {
		.backend = g_backend,
		.orphan_cb = on_orphan,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	char why[256];

	if (!f)
		return -1;
	if (rv_loop_new(&f->loop, &cfg, why, sizeof(why))) {
		print_message("rv_loop_new: %s\n", why);
		return -1;
	}
	if (rv_spawner_new(&f->sp))
		return -1;
	/* what a service does at load: one timer and one child per probe */
	if (rv_loop_timer_reserve(f->loop, 1) ||
	    rv_loop_child_reserve(f->loop, 1))
		return -1;
	if (rv_probe_init(&f->p, f->loop, f->sp, on_probe, &f->r))
		return -1;
	f->r.p = &f->p;
	g_orphans = 0;
	*state = f;
	return 0;
}

static void settle(struct rv_loop *loop, int ms)
{
	int64_t end = rv_clock_now() + ms * MS;
	int64_t left;

	while ((left = end - rv_clock_now()) > 0)
		assert_int_equal(rv_loop_run_once(loop, left), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rv_probe_cancel(&f->p);
	settle(f->loop, 20);	/* reap what is left */
	rv_spawner_free(f->sp);
	rv_loop_free(f->loop);
	free(f);
	return 0;
}

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

static int start(struct fixture *f, char *const *argv, char *const *envp,
		 int64_t timeout_ns)
{
	int ret;

	f->r.in_run = true;
	ret = rv_probe_run(&f->p, argv, envp, timeout_ns,
			   rv_loop_now(f->loop));
	f->r.in_run = false;
	return ret;
}

/* Runs argv to its end; returns the number of callbacks (1). */
static void run_probe(struct fixture *f, char *const *argv,
		      int64_t timeout_ns)
{
	int before = f->r.n;

	assert_int_equal(start(f, argv, environ, timeout_ns), 0);
	assert_true(rv_probe_running(&f->p));
	run_until(f->loop, &f->r.n, before + 1, 5000);
	assert_false(rv_probe_running(&f->p));
	assert_false(f->r.called_in_run);
}

/* ---- cases ---- */

static void test_ok(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/bin/true", NULL };
	char *path_argv[] = { "true", NULL };	/* found in PATH */
	int64_t t0 = rv_clock_now();

	run_probe(f, argv, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_OK);
	assert_int_equal(f->r.code, 0);
	assert_true(f->r.now >= t0 && f->r.now <= rv_clock_now());
	run_probe(f, path_argv, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_OK);
}

static void test_failed_codes(void **state)
{
	struct fixture *f = *state;
	char *fals[] = { "/bin/false", NULL };
	char *exit42[] = { "/bin/sh", "-c", "exit 42", NULL };
	char *sig[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };

	run_probe(f, fals, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_FAILED);
	assert_int_equal(f->r.code, 1);
	run_probe(f, exit42, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_FAILED);
	assert_int_equal(f->r.code, 42);
	run_probe(f, sig, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_FAILED);
	assert_int_equal(f->r.code, 128 + SIGTERM);
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "sleep", "5", NULL };
	int64_t t0 = rv_loop_now(f->loop), took;	/* what start() passes */

	run_probe(f, argv, 100 * MS);
	took = rv_clock_now() - t0;
	print_message("timeout reported after %lld ms\n",
		      (long long)(took / MS));
	assert_int_equal(f->r.res, RV_PROBE_TIMEOUT);
	assert_int_equal(f->r.code, 0);
	assert_true(took >= 100 * MS);
	assert_true(took < 1000 * MS);
}

/* The probe's own children die with it: the whole group is killed. */
static void test_timeout_kills_group(void **state)
{
	struct fixture *f = *state;
	char pidfile[] = "/tmp/rv-test-probe-XXXXXX";
	char script[256];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	int64_t t0 = rv_clock_now(), end;
	int fd, bg = 0;
	FILE *fp;

	fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script),
		 "sleep 30 & echo $! > %s; sleep 30; exit 0", pidfile);
	run_probe(f, argv, 200 * MS);
	assert_int_equal(f->r.res, RV_PROBE_TIMEOUT);
	fp = fopen(pidfile, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%d", &bg), 1);
	fclose(fp);
	unlink(pidfile);
	/*
	 * The background sleep was killed with the group, and is gone:
	 * reaped by sh if sh outlived it by a moment, else by our loop (we
	 * are a subreaper: it came back to us as an orphan).  Had only sh
	 * been killed, it would sleep on for 30 s.
	 */
	end = rv_clock_now() + 2000 * MS;
	while (kill(bg, 0) == 0 && rv_clock_now() < end)
		assert_int_equal(rv_loop_run_once(f->loop, 50 * MS), 0);
	assert_int_equal(kill(bg, 0), -1);
	assert_int_equal(errno, ESRCH);
	if (g_orphans) {
		assert_int_equal(g_orphan_si.si_code, CLD_KILLED);
		assert_int_equal(g_orphan_si.si_status, SIGKILL);
	}
	assert_true(rv_clock_now() - t0 < 2000 * MS);
}

static void test_spawn_failed(void **state)
{
	struct fixture *f = *state;
	char *missing[] = { "/nonexistent/ringvisor-probe", NULL };
	char *missing_path[] = { "ringvisor-no-such-command", NULL };
	char *noexec[] = { "/etc/passwd", NULL };

	run_probe(f, missing, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_SPAWN_FAILED);
	assert_int_equal(f->r.code, ENOENT);
	assert_string_equal(f->p.spawn_step, "execve");
	run_probe(f, missing_path, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_SPAWN_FAILED);
	assert_int_equal(f->r.code, ENOENT);
	run_probe(f, noexec, 0);
	assert_int_equal(f->r.res, RV_PROBE_SPAWN_FAILED);
	assert_int_equal(f->r.code, EACCES);
	/* the exec'd-or-not child was reaped through the probe, not as an
	 * orphan */
	assert_int_equal(g_orphans, 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "sleep", "5", NULL };
	char *tru[] = { "/bin/true", NULL };
	int64_t t0;

	assert_int_equal(start(f, argv, environ, 5000 * MS), 0);
	settle(f->loop, 50);
	t0 = rv_clock_now();
	rv_probe_cancel(&f->p);
	assert_false(rv_probe_running(&f->p));
	/* reaped as an orphan, killed; the probe's callback never runs */
	run_until(f->loop, &g_orphans, 1, 2000);
	assert_int_equal(g_orphan_si.si_code, CLD_KILLED);
	assert_int_equal(g_orphan_si.si_status, SIGKILL);
	assert_true(rv_clock_now() - t0 < 1000 * MS);
	settle(f->loop, 150);	/* past any deadline it had */
	assert_int_equal(f->r.n, 0);
	rv_probe_cancel(&f->p);	/* idle: no-op */

	/* usable again at once, even before the old exit was seen */
	assert_int_equal(start(f, argv, environ, 5000 * MS), 0);
	rv_probe_cancel(&f->p);
	run_probe(f, tru, 5000 * MS);
	assert_int_equal(f->r.res, RV_PROBE_OK);
	assert_int_equal(f->r.n, 1);
}

static void test_busy_and_bad_args(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "sleep", "5", NULL };
	char *empty[] = { NULL };

	assert_int_equal(start(f, empty, environ, 0), -EINVAL);
	assert_int_equal(start(f, NULL, environ, 0), -EINVAL);
	assert_false(rv_probe_running(&f->p));
	assert_int_equal(start(f, argv, environ, 100 * MS), 0);
	assert_int_equal(start(f, argv, environ, 100 * MS), -EBUSY);
	run_until(f->loop, &f->r.n, 1, 2000);
	assert_int_equal(f->r.res, RV_PROBE_TIMEOUT);
}

/* A ready_check retried from its own callback. */
static void test_rerun_from_callback(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/bin/false", NULL };

	f->r.again = 4;
	f->r.argv = argv;
	assert_int_equal(start(f, argv, environ, 0), 0);
	run_until(f->loop, &f->r.n, 5, 5000);
	assert_int_equal(f->r.res, RV_PROBE_FAILED);
	assert_false(rv_probe_running(&f->p));
}

static void test_no_timeout(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "sleep", "0.2", NULL };
	int64_t t0 = rv_clock_now();

	run_probe(f, argv, 0);
	assert_int_equal(f->r.res, RV_PROBE_OK);
	assert_true(rv_clock_now() - t0 >= 200 * MS);
}

/* stdio is /dev/null, our fds stay ours, envp is the whole environment. */
static void test_child_setup(void **state)
{
	struct fixture *f = *state;
	char script[512];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	char *envp[] = { "PROBE_X=42", "PATH=/usr/bin:/bin", NULL };
	int p[2];

	assert_int_equal(pipe(p), 0);	/* deliberately not CLOEXEC */
	snprintf(script, sizeof(script),
		 "for fd in 0 1 2; do "
		 "[ \"$(readlink /proc/$$/fd/$fd)\" = /dev/null ] || exit 10; "
		 "done; "
		 "[ -e /proc/$$/fd/%d ] && exit 11; "
		 "[ -e /proc/$$/fd/%d ] && exit 12; "
		 "[ \"$PROBE_X\" = 42 ] || exit 13; "
		 "[ -z \"$HOME\" ] || exit 14; "
		 "set -- $(cat /proc/$$/stat); [ \"$6\" = $$ ] || exit 15; "
		 "exit 0", p[0], p[1]);
	assert_int_equal(start(f, argv, envp, 5000 * MS), 0);
	run_until(f->loop, &f->r.n, 1, 5000);
	close(p[0]);
	close(p[1]);
	if (f->r.res != RV_PROBE_OK)
		print_message("probe: result %d code %d\n", f->r.res,
			      f->r.code);
	assert_int_equal(f->r.res, RV_PROBE_OK);
}

/* With the service's identity (rv_probe_set_iso): here, uid nobody. */
static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	char *argv[] = { "/bin/sh", "-c",
			 "[ \"$(id -u):$(id -g)\" = 65534:65534 ]", NULL };

	if (geteuid() != 0) {
		print_message("needs root to switch uid\n");
		skip();
	}
	iso.set_gid = true;
	iso.gid = 65534;
	iso.set_groups = true;
	iso.n_groups = 0;
	iso.set_uid = true;
	iso.uid = 65534;
	rv_probe_set_iso(&f->p, &iso);
	run_probe(f, argv, 5000 * MS);
	if (f->r.res != RV_PROBE_OK)
		print_message("probe: result %d code %d step %s\n", f->r.res,
			      f->r.code, f->p.spawn_step ? f->p.spawn_step : "-");
	assert_int_equal(f->r.res, RV_PROBE_OK);
	rv_probe_set_iso(&f->p, NULL);
}

/* Many probes at once, each with its own child and timer. */
static void test_many_probes(void **state)
{
	struct fixture *f = *state;
	enum { N = 32 };
	struct rv_probe *p = calloc(N, sizeof(*p));
	struct rec *r = calloc(N, sizeof(*r));
	char *ok[] = { "/bin/true", NULL };
	char *slow[] = { "sleep", "5", NULL };
	int done = 0;

	assert_non_null(p);
	assert_non_null(r);
	assert_int_equal(rv_loop_timer_reserve(f->loop, N), 0);
	assert_int_equal(rv_loop_child_reserve(f->loop, N), 0);
	for (int i = 0; i < N; i++) {
		r[i].p = &p[i];
		assert_int_equal(rv_probe_init(&p[i], f->loop, f->sp,
					       on_probe, &r[i]), 0);
		/* the fast ones get room for a loaded machine (32 clones
		 * from one stale loop time, ASan, a parallel test); the slow
		 * ones must time out */
		assert_int_equal(rv_probe_run(&p[i], i % 2 ? slow : ok,
					      environ,
					      i % 2 ? 200 * MS : 3000 * MS,
					      rv_loop_now(f->loop)), 0);
	}
	int64_t end = rv_clock_now() + 8000 * MS;

	while (done < N) {
		assert_int_equal(rv_loop_run_once(f->loop, 100 * MS), 0);
		done = 0;
		for (int i = 0; i < N; i++)
			done += r[i].n;
		assert_true(rv_clock_now() < end);
	}
	for (int i = 0; i < N; i++) {
		if (r[i].res != (i % 2 ? RV_PROBE_TIMEOUT : RV_PROBE_OK))
			print_message("probe %d: result %d code %d\n", i,
				      r[i].res, r[i].code);
		assert_int_equal(r[i].n, 1);
		assert_int_equal(r[i].res,
				 i % 2 ? RV_PROBE_TIMEOUT : RV_PROBE_OK);
	}
	free(p);
	free(r);
}

/*
 * clone() itself fails (RLIMIT_NPROC 0 for an unprivileged uid): there is
 * no child, and SPAWN_FAILED still comes once, from the loop, not from
 * inside rv_probe_run().  In a forked child that drops to nobody.
 */
struct clone_result {
	const char *stage;	/* a static string: same address after fork */
	int ret;
	int n;
	int res;
	int code;
	bool called_in_run;
	bool running_after_run;
	char step[32];
};

static void clone_fail_child(int wfd)
{
	struct rv_loop_config cfg = { .backend = g_backend };
	struct clone_result cr = { .ret = -1 };
	struct rlimit zero = { 0, 0 };
	struct rv_spawner *sp;
	struct rv_loop *loop;
	struct rv_probe p;
	struct rec r = { 0 };
	char *argv[] = { "/bin/true", NULL };
	char why[256];
	int64_t end;

	cr.stage = "drop privileges";
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534) ||
	    setrlimit(RLIMIT_NPROC, &zero))
		goto out;
	cr.stage = "loop";
	cr.ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (cr.ret)
		goto out;
	cr.stage = "probe";
	cr.ret = rv_loop_timer_reserve(loop, 1);
	if (!cr.ret)
		cr.ret = rv_loop_child_reserve(loop, 1);
	if (!cr.ret)
		cr.ret = rv_spawner_new(&sp);
	if (cr.ret)
		goto out;
	cr.ret = rv_probe_init(&p, loop, sp, on_probe, &r);
	if (cr.ret)
		goto out;
	r.p = &p;
	r.in_run = true;
	cr.ret = rv_probe_run(&p, argv, environ, 1000 * MS, rv_loop_now(loop));
	r.in_run = false;
	cr.running_after_run = rv_probe_running(&p);
	end = rv_clock_now() + 2000 * MS;
	while (!r.n && rv_clock_now() < end)
		rv_loop_run_once(loop, 100 * MS);
	cr.n = r.n;
	cr.res = r.res;
	cr.code = r.code;
	cr.called_in_run = r.called_in_run;
	snprintf(cr.step, sizeof(cr.step), "%s",
		 p.spawn_step ? p.spawn_step : "-");
out:
	_exit(write(wfd, &cr, sizeof(cr)) == sizeof(cr) ? 0 : 1);
}

static void test_clone_fails(void **state)
{
	struct fixture *f = *state;
	struct clone_result cr;
	int p[2];
	pid_t pid;

	if (geteuid() != 0) {
		print_message("needs root to switch to an unprivileged uid\n");
		skip();
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		clone_fail_child(p[1]);
	close(p[1]);
	assert_int_equal(read(p[0], &cr, sizeof(cr)), sizeof(cr));
	close(p[0]);
	/* our loop reaps it */
	run_until(f->loop, &g_orphans, 1, 2000);
	assert_int_equal(g_orphan_si.si_code, CLD_EXITED);
	assert_int_equal(g_orphan_si.si_status, 0);
	if (cr.ret && !strcmp(cr.stage, "loop")) {
		print_message("no loop for an unprivileged uid here: %d\n",
			      cr.ret);
		skip();
	}
	if (cr.ret)
		print_message("failed at %s: %d\n", cr.stage, cr.ret);
	assert_int_equal(cr.ret, 0);
	assert_true(cr.running_after_run);
	assert_false(cr.called_in_run);
	assert_int_equal(cr.n, 1);
	assert_int_equal(cr.res, RV_PROBE_SPAWN_FAILED);
	assert_int_equal(cr.code, EAGAIN);
	assert_string_equal(cr.step, "clone");
}

/* ---- main ---- */

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	cmocka_unit_test_setup_teardown(test_failed_codes, setup, teardown),
	cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_spawn_failed, setup, teardown),
	cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	cmocka_unit_test_setup_teardown(test_busy_and_bad_args, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_rerun_from_callback, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_no_timeout, setup, teardown),
	cmocka_unit_test_setup_teardown(test_child_setup, setup, teardown),
	cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	cmocka_unit_test_setup_teardown(test_many_probes, setup, teardown),
	cmocka_unit_test_setup_teardown(test_clone_fails, setup, teardown),
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
	static const int sigs[] = { 0 };
	static const struct {
		const char *name;
		enum rv_backend backend;
	} runs[] = {
		{ "probe/io_uring", RV_BACKEND_IO_URING },
		{ "probe/epoll", RV_BACKEND_EPOLL },
	};
	const char *env = getenv("RINGVISOR_BACKEND");
	int failed = 0, ran = 0;

	if (rv_loop_block_signals(sigs)) {
		printf("cannot block signals\n");
		return 77;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		printf("PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return 77;
	}
	if (env && *env) {
		g_backend = RV_BACKEND_AUTO;	/* the loop obeys the env */
		if (!available(g_backend, env))
			return 77;
		return cmocka_run_group_tests_name("probe/env", tests, NULL,
						   NULL);
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
		if (!available(runs[i].backend, runs[i].name))
			continue;
		g_backend = runs[i].backend;
		failed += cmocka_run_group_tests_name(runs[i].name, tests,
						      NULL, NULL);
		ran++;
	}
	if (!ran) {
		printf("no loop backend available\n");
		return 77;
	}
	return failed;
}
