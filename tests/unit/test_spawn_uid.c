// SPDX-License-Identifier: MIT
/*
 * rv_spawn() for a child that switches to another uid (spawn.c, issue 13
 * item 1): it is forked, not vfork'd, so rv_spawn() returns while the
 * child is still setting up, and a step that fails is learned at the
 * child's exit through res.report_fd (rv_spawn_report_read()).  A child
 * that keeps our uid still takes the vfork path (report_fd -1).
 *
 * "rv_spawn() does not wait" is made deterministic with the child's first
 * resource step: it writes "0" to cgroup.procs under iso->cgroup_fd, here
 * a FIFO, so the child blocks in open() until we open the other end.  A
 * vfork parent would block with it: a watchdog thread then opens the FIFO
 * after 3 s, and the test fails.
 *
 * Root only (the uid switch): skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/spawn.h"

#define OTHER_UID 65534		/* nobody; needs no passwd entry here */

static char dir[] = "/tmp/rv-spawn-uid-XXXXXX";
static char fifo[256];

static char *envp[] = { "PATH=/usr/bin:/bin", NULL };

/* A plan for argv as OTHER_UID (iso filled in). */
static void plan_as_other(struct rv_spawn_plan *plan,
			  struct rv_spawn_iso *iso, char **argv)
{
	*iso = (struct rv_spawn_iso)RV_SPAWN_ISO_INIT;
	iso->set_uid = iso->set_gid = true;
	iso->uid = OTHER_UID;
	iso->gid = OTHER_UID;
	*plan = (struct rv_spawn_plan){ .argv = argv, .envp = envp,
					.new_session = true, .iso = iso };
}

/* Waits for the child's exit; its status (exit code, or 128 + signal). */
static int wait_exit(struct rv_spawn_result *res)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PIDFD, (id_t)res->pidfd, &si, WEXITED), 0);
	close(res->pidfd);
	res->pidfd = -1;
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static atomic_bool spawn_returned, watchdog_released;

/* Lets a child blocked on the FIFO go on if rv_spawn() has not returned
 * within 3 s (a vfork parent waits for it). */
static void *watchdog(void *arg)
{
	char buf[8];
	int rd;

	(void)arg;
	for (int i = 0; i < 300 && !atomic_load(&spawn_returned); i++)
		usleep(10 * 1000);
	if (atomic_load(&spawn_returned))
		return NULL;
	atomic_store(&watchdog_released, true);
	rd = open(fifo, O_RDONLY | O_CLOEXEC);
	if (rd >= 0) {
		if (read(rd, buf, sizeof(buf)) < 0)
			buf[0] = 0;
		close(rd);
	}
	return NULL;
}

/* rv_spawn() returns while the child is still in its root steps. */
static void test_not_waited_for(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_iso iso;
	struct rv_spawn_plan plan;
	struct rv_spawn_result res;
	char *argv[] = { "true", NULL };
	int rd, ret, err = 0;
	const char *step = NULL;
	pthread_t wd;
	char buf[8];

	(void)state;
	plan_as_other(&plan, &iso, argv);
	iso.cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(iso.cgroup_fd >= 0);
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(pthread_create(&wd, NULL, watchdog, NULL), 0);
	ret = rv_spawn(sp, &plan, &res);
	atomic_store(&spawn_returned, true);
	pthread_join(wd, NULL);
	assert_false(atomic_load(&watchdog_released));
	assert_int_equal(ret, 0);
	assert_true(res.pid > 0);
	assert_true(res.report_fd >= 0);
	/* still before its exec: nothing to read yet, no EOF either */
	assert_false(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	rd = open(fifo, O_RDONLY | O_CLOEXEC);	/* lets it go on */
	assert_true(rd >= 0);
	assert_int_equal(read(rd, buf, sizeof(buf)), 1);
	close(rd);
	assert_int_equal(wait_exit(&res), 0);
	assert_false(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	close(res.report_fd);
	close(iso.cgroup_fd);
	rv_spawner_free(sp);
}

/* Failed steps come back at the exit, with their names and errnos;
 * an exec'd program's own 127 is not one. */
static void test_failures_reported_at_exit(void **state)
{
	struct rv_spawn_rlimit rl = {
		/* above fs.nr_open: EPERM, before the uid switch */
		.resource = RLIMIT_NOFILE, .limit = { 1U << 30, 1U << 30 },
		.step = "setrlimit(nofile)",
	};
	struct rv_spawner *sp;
	struct rv_spawn_iso iso;
	struct rv_spawn_plan plan;
	struct rv_spawn_result res;
	char *argv[] = { "true", NULL };
	char *missing[] = { "/nonexistent/rv-no-such-program", NULL };
	char *exits127[] = { "sh", "-c", "exit 127", NULL };
	const char *step = NULL;
	int err = 0;

	(void)state;
	assert_int_equal(rv_spawner_new(&sp), 0);

	/* chdir, after the uid switch */
	plan_as_other(&plan, &iso, argv);
	iso.cwd = "/nonexistent/rv-dir";
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_int_equal(wait_exit(&res), 127);
	assert_true(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	assert_int_equal(err, ENOENT);
	assert_string_equal(step, "chdir");
	close(res.report_fd);

	/* a setrlimit step: the plan's own static name comes back */
	plan_as_other(&plan, &iso, argv);
	iso.rlimits = &rl;
	iso.n_rlimits = 1;
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_int_equal(wait_exit(&res), 126);
	assert_true(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	assert_int_equal(err, EPERM);
	assert_ptr_equal(step, rl.step);
	close(res.report_fd);

	/* execve */
	plan_as_other(&plan, &iso, missing);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_int_equal(wait_exit(&res), 127);
	assert_true(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	assert_int_equal(err, ENOENT);
	assert_string_equal(step, "execve");
	close(res.report_fd);

	/* a program that exits 127 by itself is not a failed start */
	plan_as_other(&plan, &iso, exits127);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_int_equal(wait_exit(&res), 127);
	assert_false(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	close(res.report_fd);
	rv_spawner_free(sp);
}

/* The report pipe survives redirections onto its own number. */
static void test_report_fd_survives_redirections(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_iso iso;
	struct rv_spawn_plan plan;
	struct rv_spawn_result res;
	struct rv_spawn_fd fds[12];
	char *argv[] = { "true", NULL };
	const char *step = NULL;
	int null, err = 0;

	(void)state;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null >= 0);
	/* targets 0..11 cover the fds the pipe gets next (lowest free) */
	for (int i = 0; i < 12; i++)
		fds[i] = (struct rv_spawn_fd){ .from = null, .to = i };
	plan_as_other(&plan, &iso, argv);
	plan.fds = fds;
	plan.n_fds = 12;
	iso.cwd = "/nonexistent/rv-dir";
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_true(res.report_fd < 12);
	assert_int_equal(wait_exit(&res), 127);
	assert_true(rv_spawn_report_read(res.report_fd, &iso, &err, &step));
	assert_string_equal(step, "chdir");
	close(res.report_fd);
	close(null);
	rv_spawner_free(sp);
}

/* A child that keeps our uid (root, or `user = root`) is vfork'd as
 * before: its failure is known when rv_spawn() returns. */
static void test_same_uid_keeps_vfork(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_iso iso;
	struct rv_spawn_plan plan;
	struct rv_spawn_result res;
	char *argv[] = { "true", NULL };

	(void)state;
	plan_as_other(&plan, &iso, argv);
	iso.uid = getuid();
	iso.cwd = "/nonexistent/rv-dir";
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(rv_spawn(sp, &plan, &res), -ENOENT);
	assert_string_equal(res.step, "chdir");
	assert_int_equal(res.report_fd, -1);
	assert_int_equal(wait_exit(&res), 127);

	plan.iso = NULL;
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	assert_int_equal(res.report_fd, -1);
	assert_int_equal(wait_exit(&res), 0);
	rv_spawner_free(sp);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(fifo, sizeof(fifo), "%s/cgroup.procs", dir);
	return mkfifo(fifo, 0600);
}

static int teardown(void **state)
{
	(void)state;
	unlink(fifo);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_waited_for),
		cmocka_unit_test(test_failures_reported_at_exit),
		cmocka_unit_test(test_report_fd_survives_redirections),
		cmocka_unit_test(test_same_uid_keeps_vfork),
	};

	if (geteuid() != 0) {
		printf("not root: no uid switch, skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
