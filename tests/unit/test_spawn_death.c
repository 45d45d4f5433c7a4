// SPDX-License-Identifier: MIT
/*
 * rv_spawn() and the death of the supervisor (README "If the supervisor
 * dies"): every child gets PR_SET_PDEATHSIG(SIGKILL), set after the
 * identity steps (which would clear it), and a child whose supervisor died
 * before the prctl ends itself instead of running unsupervised.
 *
 * The "supervisor" here is a forked helper that calls rv_spawn() and is
 * then SIGKILLed; this program is the child subreaper, so the orphaned
 * service reparents to it and its end can be checked with waitpid().
 *
 * The race is made deterministic through the child's first resource step:
 * it writes "0" to cgroup.procs under iso->cgroup_fd, and here that is a
 * FIFO in a temporary directory, so the child blocks in open() until we
 * open the other end -- after killing the helper.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/spawn.h"

static char dir[] = "/tmp/rv-spawn-death-XXXXXX";
static char fifo[256], marker[256];

/* Waits (at most timeout_ms) for pid, a child of ours; its wait status,
 * or -1 when it is still running. */
static int wait_for(pid_t pid, int timeout_ms)
{
	int status;

	for (int i = 0; i < timeout_ms; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		assert_int_equal(r, 0);
		usleep(1000);
	}
	return -1;
}

/*
 * Forks the helper "supervisor": it spawns argv with iso (NULL: none),
 * writes the service's pid into a pipe, then waits to be killed.  Returns
 * the helper's pid; *pipe_rd is the pipe's read end (read_pid()).
 */
static pid_t helper_spawn(char *const argv[], const struct rv_spawn_iso *iso,
			  int *pipe_rd)
{
	int p[2];
	pid_t h;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	h = fork();
	assert_true(h >= 0);
	if (h == 0) {
		static char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
		struct rv_spawn_plan plan = {
			.argv = argv, .envp = envp, .new_session = true,
			.iso = iso,
		};
		struct rv_spawn_result res;
		struct rv_spawner *sp;

		close(p[0]);
		if (rv_spawner_new(&sp))
			_exit(70);
		rv_spawn(sp, &plan, &res);
		if (write(p[1], &res.pid, sizeof(res.pid)) < 0)
			_exit(71);
		pause();
		_exit(0);
	}
	close(p[1]);
	*pipe_rd = p[0];
	return h;
}

static pid_t read_pid(int fd)
{
	pid_t pid = 0;

	assert_int_equal(read(fd, &pid, sizeof(pid)), (ssize_t)sizeof(pid));
	close(fd);
	return pid;
}

/* Waits (at most 2 s) until pid has exec'd comm. */
static void wait_exec(pid_t pid, const char *comm)
{
	char path[64], buf[32] = "";

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
		}
		if (!strncmp(buf, comm, strlen(comm)))
			return;
		usleep(1000);
	}
	fail_msg("%d never exec'd %s", (int)pid, comm);
}

/* The ordinary case: the service runs, the supervisor is SIGKILLed, the
 * service gets SIGKILL right away. */
static void test_dies_with_supervisor(void **state)
{
	char *const argv[] = { "sleep", "100", NULL };
	int fd, status;
	pid_t h, svc;

	(void)state;
	h = helper_spawn(argv, NULL, &fd);
	svc = read_pid(fd);
	assert_true(svc > 0);
	assert_int_equal(kill(svc, 0), 0);
	kill(h, SIGKILL);
	assert_int_equal(waitpid(h, &status, 0), h);
	status = wait_for(svc, 2000);	/* reparented to us */
	assert_int_not_equal(status, -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* Also after a switch to another user, which clears PR_SET_PDEATHSIG:
 * it must be set after the identity steps. */
static void test_dies_after_user_switch(void **state)
{
	char *const argv[] = { "sleep", "100", NULL };
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	struct passwd *pw;
	int fd, status;
	pid_t h, svc;

	(void)state;
	if (geteuid() != 0) {
		print_message("not root: no user switch\n");
		skip();
	}
	pw = getpwnam("nobody");
	if (!pw) {
		print_message("no user nobody\n");
		skip();
	}
	iso.set_gid = iso.set_uid = iso.set_groups = true;
	iso.gid = pw->pw_gid;
	iso.uid = pw->pw_uid;
	iso.n_groups = 0;
	h = helper_spawn(argv, &iso, &fd);
	svc = read_pid(fd);
	assert_true(svc > 0);
	/* a child that switches uid is not waited for (spawn.c): the case
	 * here is the one after its exec (before the prctl, it ends itself:
	 * test_parent_died_before_prctl) */
	wait_exec(svc, "sleep");
	kill(h, SIGKILL);
	assert_int_equal(waitpid(h, &status, 0), h);
	status = wait_for(svc, 2000);
	assert_int_not_equal(status, -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* The race: the supervisor dies while the child is still setting up
 * (before the prctl).  The child must notice and end, never exec. */
static void test_parent_died_before_prctl(void **state)
{
	char cmd[300];
	char *const argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	int fd, rd, status;
	pid_t h, svc = 0;
	char buf[8];

	(void)state;
	snprintf(cmd, sizeof(cmd), "touch %s; sleep 100", marker);
	iso.cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(iso.cgroup_fd >= 0);
	h = helper_spawn(argv, &iso, &fd);
	close(iso.cgroup_fd);
	/* the child now blocks opening the FIFO; its parent is suspended in
	 * the vfork window.  Kill the parent there. */
	usleep(100 * 1000);
	kill(h, SIGKILL);
	assert_int_equal(waitpid(h, &status, 0), h);
	close(fd);		/* the helper never got to write a pid */
	/* let the child go on: it reads its parent and must give up */
	rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	for (int i = 0; i < 2000 && svc <= 0; i++) {
		svc = waitpid(-1, &status, WNOHANG);
		if (svc <= 0)
			usleep(1000);
	}
	assert_true(read(rd, buf, sizeof(buf)) >= 0);
	close(rd);
	assert_true(svc > 0);
	/* ended by itself, with the "cannot be executed" status, and never
	 * ran the command */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 126);
	assert_int_equal(access(marker, F_OK), -1);
}

static int setup(void **state)
{
	(void)state;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || !mkdtemp(dir))
		return -1;
	snprintf(fifo, sizeof(fifo), "%s/cgroup.procs", dir);
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	return mkfifo(fifo, 0600);
}

static int teardown(void **state)
{
	(void)state;
	unlink(fifo);
	unlink(marker);
	rmdir(dir);
	/* nothing of ours may be left */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dies_with_supervisor),
		cmocka_unit_test(test_dies_after_user_switch),
		cmocka_unit_test(test_parent_died_before_prctl),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
