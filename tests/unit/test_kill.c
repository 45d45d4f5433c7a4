/* SPDX-License-Identifier: MIT */
/*
 * child/kill.c against real processes: who each kill_mode reaches, and,
 * for kill_mode = cgroup, that a pid listed in cgroup.procs reaches only
 * a member (a target whose cgroup does not name the process's own is
 * what a recycled pid looks like: it is left alone).  Deliveries are seen
 * as pending signals: the children block SIGUSR1 and the test reads
 * SigPnd/ShdPnd from /proc.  The cgroup cases need root and a writable
 * cgroup v2; they skip (with the reason) otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/kill.h"

#define MAXKIDS 8

struct kids {
	pid_t pid[MAXKIDS];
	int pidfd[MAXKIDS];
	int n;
};

static struct kids g_kids;

/* A child that blocks SIGUSR1 (so it stays pending) and waits. */
static int spawn_kid(bool own_group, pid_t join_group)
{
	sigset_t set;
	pid_t pid;
	int i = g_kids.n;

	assert_true(i < MAXKIDS);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* inherited from the fork */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (own_group)
			setpgid(0, 0);
		else if (join_group > 0)
			setpgid(0, join_group);
		for (;;)
			pause();
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	/* the parent too, so no interleaving decides the group */
	if (own_group)
		setpgid(pid, pid);
	else if (join_group > 0)
		setpgid(pid, join_group);
	g_kids.pid[i] = pid;
	g_kids.pidfd[i] = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(g_kids.pidfd[i] >= 0);
	g_kids.n++;
	return i;
}

static void reap_kids(void)
{
	for (int i = 0; i < g_kids.n; i++) {
		kill(g_kids.pid[i], SIGKILL);
		waitpid(g_kids.pid[i], NULL, 0);
		close(g_kids.pidfd[i]);
	}
	g_kids.n = 0;
}

/* SIGUSR1 pending in pid (thread or process queue)? */
static bool usr1_pending(pid_t pid)
{
	char path[64], buf[4096], *p;
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "SigPnd:", 7) && strncmp(buf, "ShdPnd:", 7))
			continue;
		p = buf + 7;
		mask |= strtoull(p, NULL, 16);
	}
	fclose(f);
	return mask & (1ULL << (SIGUSR1 - 1));
}

/* Waits until pid is gone or a zombie. */
static bool dies(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		char path[64], buf[512], *p;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "re");
		if (!f)
			return true;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && (p[2] == 'Z' || p[2] == 'X'))
			return true;
		usleep(10000);
	}
	return false;
}

static int teardown_kids(void **state)
{
	(void)state;
	reap_kids();
	return 0;
}

/* ---- process and group ---- */

static void process_mode_reaches_the_main_process_only(void **state)
{
	int lead = spawn_kid(true, 0);
	int member = spawn_kid(false, g_kids.pid[lead]);
	struct rv_kill_target t = {
		.pid = g_kids.pid[lead], .pidfd = g_kids.pidfd[lead],
		.cgroup_fd = -1, .mode = RV_KILL_PROCESS,
	};

	(void)state;
	assert_int_equal(rv_kill(&t, SIGUSR1), 0);
	assert_true(usr1_pending(g_kids.pid[lead]));
	assert_false(usr1_pending(g_kids.pid[member]));
}

static void group_mode_reaches_the_group(void **state)
{
	int lead = spawn_kid(true, 0);
	int member = spawn_kid(false, g_kids.pid[lead]);
	int outsider = spawn_kid(true, 0);
	struct rv_kill_target t = {
		.pid = g_kids.pid[lead], .pidfd = g_kids.pidfd[lead],
		.cgroup_fd = -1, .mode = RV_KILL_GROUP,
	};

	(void)state;
	assert_int_equal(rv_kill(&t, SIGUSR1), 0);
	assert_true(usr1_pending(g_kids.pid[lead]));
	assert_true(usr1_pending(g_kids.pid[member]));
	assert_false(usr1_pending(g_kids.pid[outsider]));
}

/* A main process that left its group (setpgid) is still reached. */
static void group_mode_reaches_a_main_process_outside_its_group(void **state)
{
	int lead = spawn_kid(true, 0);
	int member = spawn_kid(false, g_kids.pid[lead]);
	struct rv_kill_target t = {
		.pid = g_kids.pid[lead], .pidfd = g_kids.pidfd[lead],
		.cgroup_fd = -1, .mode = RV_KILL_GROUP,
	};

	(void)state;
	/* the leader joins the member's new group: its old one is empty */
	assert_int_equal(setpgid(g_kids.pid[member], g_kids.pid[member]), 0);
	assert_int_equal(setpgid(g_kids.pid[lead], g_kids.pid[member]), 0);
	assert_int_equal(rv_kill(&t, SIGUSR1), 0);
	assert_true(usr1_pending(g_kids.pid[lead]));
	assert_false(usr1_pending(g_kids.pid[member]));
}

static void gone_is_esrch(void **state)
{
	int k = spawn_kid(true, 0);
	struct rv_kill_target t = {
		.pid = g_kids.pid[k], .pidfd = g_kids.pidfd[k],
		.cgroup_fd = -1, .mode = RV_KILL_PROCESS,
	};

	(void)state;
	kill(g_kids.pid[k], SIGKILL);
	waitpid(g_kids.pid[k], NULL, 0);
	assert_int_equal(rv_kill(&t, SIGUSR1), -ESRCH);
	t.pid = 0;
	assert_int_equal(rv_kill(&t, SIGUSR1), -ESRCH);
}

/* ---- cgroup ---- */

static char g_cg_dir[2 * PATH_MAX + 64];	/* our test cgroup, or "" */
static char g_cg_view[PATH_MAX + 64];	/* as /proc/PID/cgroup names it */
static int g_cg_fd = -1;
static char g_cg_why[3 * PATH_MAX];

static void cg_setup(void)
{
	char line[PATH_MAX + 64], mnt[PATH_MAX] = "", self[PATH_MAX] = "";
	FILE *f;

	if (geteuid() != 0) {
		snprintf(g_cg_why, sizeof(g_cg_why), "needs root");
		return;
	}
	f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], at[PATH_MAX];

		if (!strstr(line, " - cgroup2 ") ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, at) != 2 ||
		    strcmp(root, "/"))
			continue;
		snprintf(mnt, sizeof(mnt), "%s", at);
		break;
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			/* %.*s: a longer line is cut, as it would be */
			snprintf(self, sizeof(self), "%.*s",
				 (int)sizeof(self) - 1,
				 strcmp(line + 3, "/") ? line + 3 : "");
		}
	if (f)
		fclose(f);
	if (!*mnt) {
		snprintf(g_cg_why, sizeof(g_cg_why), "no cgroup2 mount");
		return;
	}
	snprintf(g_cg_view, sizeof(g_cg_view), "%s/rv-test-kill-%d", self,
		 (int)getpid());
	snprintf(g_cg_dir, sizeof(g_cg_dir), "%s%s", mnt, g_cg_view);
	if (mkdir(g_cg_dir, 0755) < 0 ||
	    (g_cg_fd = open(g_cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		snprintf(g_cg_why, sizeof(g_cg_why), "%s: %s", g_cg_dir,
			 strerror(errno));
		rmdir(g_cg_dir);
		g_cg_dir[0] = '\0';
	}
}

static void cg_enter(pid_t pid)
{
	char s[24];
	int fd = openat(g_cg_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(s, sizeof(s), "%d", (int)pid);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static bool cg_or_skip(void)
{
	if (!*g_cg_dir) {
		print_message("no test cgroup: %s\n", g_cg_why);
		return false;
	}
	return true;
}

static void cgroup_mode_reaches_members_only(void **state)
{
	int lead, member, escaped, outsider;
	struct rv_kill_target t;

	(void)state;
	if (!cg_or_skip()) {
		skip();
		return;
	}
	lead = spawn_kid(true, 0);
	member = spawn_kid(false, g_kids.pid[lead]);
	escaped = spawn_kid(true, 0);	/* another group, same cgroup */
	outsider = spawn_kid(false, g_kids.pid[lead]);	/* not in it */
	cg_enter(g_kids.pid[lead]);
	cg_enter(g_kids.pid[member]);
	cg_enter(g_kids.pid[escaped]);
	t = (struct rv_kill_target){
		.pid = g_kids.pid[lead], .pidfd = g_kids.pidfd[lead],
		.cgroup_fd = g_cg_fd, .cgroup = g_cg_view,
		.mode = RV_KILL_CGROUP,
	};
	assert_int_equal(rv_kill(&t, SIGUSR1), 0);
	assert_true(usr1_pending(g_kids.pid[lead]));
	assert_true(usr1_pending(g_kids.pid[member]));
	assert_true(usr1_pending(g_kids.pid[escaped]));
	/* in the group, not in the cgroup: kill_mode = cgroup is not group */
	assert_false(usr1_pending(g_kids.pid[outsider]));
}

/*
 * A pid listed in cgroup.procs that does not name a member by the time
 * its pidfd is open (recycled) is left alone.  Here the target's cgroup
 * names another directory, which is what every listed pid then looks
 * like; only the main process, known by its own pidfd, is reached.
 */
static void cgroup_mode_skips_a_listed_pid_that_is_no_member(void **state)
{
	int lead, member;
	struct rv_kill_target t;
	char other[PATH_MAX + 80];

	(void)state;
	if (!cg_or_skip()) {
		skip();
		return;
	}
	lead = spawn_kid(true, 0);
	member = spawn_kid(false, g_kids.pid[lead]);
	cg_enter(g_kids.pid[lead]);
	cg_enter(g_kids.pid[member]);
	snprintf(other, sizeof(other), "%s-other", g_cg_view);
	t = (struct rv_kill_target){
		.pid = g_kids.pid[lead], .pidfd = g_kids.pidfd[lead],
		.cgroup_fd = g_cg_fd, .cgroup = other,
		.mode = RV_KILL_CGROUP,
	};
	assert_int_equal(rv_kill(&t, SIGUSR1), 0);
	assert_true(usr1_pending(g_kids.pid[lead]));
	assert_false(usr1_pending(g_kids.pid[member]));
	/* without the main process: nobody was signalled */
	t.pid = 0;
	t.pidfd = -1;
	assert_int_equal(rv_kill(&t, SIGUSR1), -ESRCH);
}

static void cgroup_mode_sigkill_uses_cgroup_kill(void **state)
{
	int lead, escaped;
	struct rv_kill_target t;

	(void)state;
	if (!cg_or_skip()) {
		skip();
		return;
	}
	lead = spawn_kid(true, 0);
	escaped = spawn_kid(true, 0);
	cg_enter(g_kids.pid[lead]);
	cg_enter(g_kids.pid[escaped]);
	/* no main process (reaped already): the cgroup alone */
	t = (struct rv_kill_target){
		.pid = 0, .pidfd = -1, .cgroup_fd = g_cg_fd,
		.cgroup = g_cg_view, .mode = RV_KILL_CGROUP,
	};
	assert_int_equal(rv_kill(&t, SIGKILL), 0);
	assert_true(dies(g_kids.pid[lead]));
	assert_true(dies(g_kids.pid[escaped]));
}

static int group_setup(void **state)
{
	(void)state;
	cg_setup();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	reap_kids();
	if (g_cg_fd >= 0)
		close(g_cg_fd);
	if (*g_cg_dir)
		rmdir(g_cg_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			process_mode_reaches_the_main_process_only,
			teardown_kids),
		cmocka_unit_test_teardown(group_mode_reaches_the_group,
					  teardown_kids),
		cmocka_unit_test_teardown(
			group_mode_reaches_a_main_process_outside_its_group,
			teardown_kids),
		cmocka_unit_test_teardown(gone_is_esrch, teardown_kids),
		cmocka_unit_test_teardown(cgroup_mode_reaches_members_only,
					  teardown_kids),
		cmocka_unit_test_teardown(
			cgroup_mode_skips_a_listed_pid_that_is_no_member,
			teardown_kids),
		cmocka_unit_test_teardown(cgroup_mode_sigkill_uses_cgroup_kill,
					  teardown_kids),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
