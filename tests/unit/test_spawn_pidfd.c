/* SPDX-License-Identifier: MIT */
/*
 * The pidfd of a vfork'd child (issue 16, item 6): rv_spawn() opens it
 * after the exec (pidfd_open) instead of through CLONE_PIDFD, and keeps a
 * spare descriptor so that a full descriptor table still never yields a
 * child without a pidfd:
 *
 *  - the pidfd refers to the child rv_spawn() reports (its fdinfo names
 *    the pid, and a SIGKILL sent through it ends that child);
 *  - with every descriptor slot taken, a start still gets its pidfd (the
 *    spare makes room); the next one fails at the clone with EMFILE and
 *    no child, as a CLONE_PIDFD clone did; a freed slot lets starts go on.
 *    (On the old code the first start at the limit failed already.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/spawn.h"

extern char **environ;

static char *const sleep_argv[] = { "/bin/sleep", "60", NULL };

static int spawn_sleep(struct rv_spawner *sp, struct rv_spawn_result *res)
{
	struct rv_spawn_plan plan = {
		.argv = sleep_argv,
		.envp = environ,
		.new_session = true,
	};

	return rv_spawn(sp, &plan, res);
}

/* The pid that /proc/self/fdinfo/FD names for a pidfd, or -1. */
static pid_t pidfd_pid(int fd)
{
	char path[64], line[128];
	pid_t pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Pid:", 4))
			pid = (pid_t)atoi(line + 4);
	fclose(f);
	return pid;
}

/* Kills the child through its pidfd and reaps it; checks both agree. */
static void kill_and_reap(struct rv_spawn_result *res)
{
	siginfo_t si = { 0 };

	assert_int_equal(syscall(SYS_pidfd_send_signal, res->pidfd, SIGKILL,
				 NULL, 0), 0);
	assert_int_equal(waitid(P_PIDFD, (id_t)res->pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_pid, res->pid);
	assert_int_equal(si.si_code, CLD_KILLED);
	close(res->pidfd);
}

static void test_pidfd_is_the_child(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_result res;

	(void)state;
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(spawn_sleep(sp, &res), 0);
	assert_true(res.pid > 0);
	assert_true(res.pidfd >= 0);
	assert_int_equal(pidfd_pid(res.pidfd), res.pid);
	kill_and_reap(&res);
	rv_spawner_free(sp);
}

static void test_full_fd_table(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_result res;
	struct rlimit old, lim;
	int fill[64], n = 0, probe, ret;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rv_spawner_new(&sp), 0);
	/* a first start opens the spare */
	assert_int_equal(spawn_sleep(sp, &res), 0);
	kill_and_reap(&res);

	/* every slot taken: a limit just above what is open, then fill it */
	probe = open("/dev/null", O_RDONLY);	/* the lowest free slot */
	assert_true(probe >= 0);
	close(probe);
	lim = old;
	lim.rlim_cur = (rlim_t)probe + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while (n < 64 && (fill[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_true(n < 64);
	assert_int_equal(errno, EMFILE);

	/* the spare makes room for this start's pidfd */
	ret = spawn_sleep(sp, &res);
	assert_int_equal(ret, 0);
	assert_true(res.pid > 0);
	assert_true(res.pidfd >= 0);
	kill_and_reap(&res);	/* no slot to read fdinfo: waitid says */

	/* the pidfd was closed above; fill that slot again: now no spare */
	fill[n] = open("/dev/null", O_RDONLY);
	assert_true(fill[n] >= 0);
	n++;
	ret = spawn_sleep(sp, &res);
	assert_int_equal(ret, -EMFILE);
	assert_int_equal(res.pid, 0);
	assert_int_equal(res.pidfd, -1);
	assert_string_equal(res.step, "clone");
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* no child */
	assert_int_equal(errno, ECHILD);

	/* a slot freed: starts go on */
	close(fill[--n]);
	assert_int_equal(spawn_sleep(sp, &res), 0);
	assert_true(res.pidfd >= 0);
	kill_and_reap(&res);

	while (n > 0)
		close(fill[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	rv_spawner_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfd_is_the_child),
		cmocka_unit_test(test_full_fd_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
