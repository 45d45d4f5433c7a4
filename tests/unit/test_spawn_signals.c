/* SPDX-License-Identifier: MIT */
/*
 * The child's signals as rv_spawn() leaves them (issue 13): by default an
 * empty mask and every signal at SIG_DFL, whatever the parent ignores or
 * blocks; with the plan's child_mask and child_ignored (what `exec`
 * passes on from its caller, as tini does), exactly those, including
 * signals the parent itself does not ignore.  Read from the child's
 * /proc/PID/status after its exec.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/spawn.h"

#define BIT(sig) (1ULL << ((sig) - 1))

struct sigs {
	unsigned long long blk, ign, cgt;
};

/* Waits (5 s at most) until pid runs `sleep`, then reads its masks. */
static void child_sigs(pid_t pid, struct sigs *out)
{
	char path[64], line[256], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int i = 0; i < 2500 && strncmp(comm, "sleep", 5); i++) {
		f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		if (strncmp(comm, "sleep", 5))
			usleep(2000);
	}
	assert_int_equal(strncmp(comm, "sleep", 5), 0);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "SigBlk:", 7))
			out->blk = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigIgn:", 7))
			out->ign = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigCgt:", 7))
			out->cgt = strtoull(line + 7, NULL, 16);
	}
	fclose(f);
}

static void reap(struct rv_spawn_result *res)
{
	siginfo_t si;

	kill(res->pid, SIGKILL);
	waitid(P_PIDFD, (id_t)res->pidfd, &si, WEXITED);
	close(res->pidfd);
}

static void noop_handler(int sig)
{
	(void)sig;
}

/* The parent: USR1 ignored, WINCH caught, HUP and ALRM blocked. */
static void dirty_parent(sigset_t *old)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction catch = { .sa_handler = noop_handler };
	sigset_t block;

	assert_int_equal(sigaction(SIGUSR1, &ign, NULL), 0);
	assert_int_equal(sigaction(SIGWINCH, &catch, NULL), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, old), 0);
}

static void clean_parent(const sigset_t *old)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigaction(SIGUSR1, &dfl, NULL);
	sigaction(SIGWINCH, &dfl, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void spawn_sleep(const struct rv_spawn_plan *tmpl, struct sigs *out)
{
	char *argv[] = { "sleep", "30", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct rv_spawn_plan plan = *tmpl;
	struct rv_spawn_result res;
	struct rv_spawner *sp;

	plan.argv = argv;
	plan.envp = envp;
	plan.new_session = true;
	/* a new spawner: it learns the parent's dispositions on its first
	 * start */
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	child_sigs(res.pid, out);
	reap(&res);
	rv_spawner_free(sp);
}

static void default_child_is_clean(void **state)
{
	struct rv_spawn_plan plan = { 0 };
	struct sigs s;
	sigset_t old;

	(void)state;
	dirty_parent(&old);
	spawn_sleep(&plan, &s);
	clean_parent(&old);
	assert_int_equal(s.blk, 0);
	assert_int_equal(s.ign, 0);
	assert_int_equal(s.cgt, 0);
}

static void plan_mask_and_ignored_are_the_childs(void **state)
{
	struct rv_spawn_plan plan = { 0 };
	sigset_t mask, ignored, old;
	struct sigs s;

	(void)state;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGRTMIN + 3);
	sigemptyset(&ignored);
	sigaddset(&ignored, SIGHUP);	/* not ignored in the parent */
	sigaddset(&ignored, SIGUSR1);	/* ignored there too */
	sigaddset(&ignored, SIGTTOU);	/* touched by the tty step */
	plan.child_mask = &mask;
	plan.child_ignored = &ignored;
	dirty_parent(&old);
	spawn_sleep(&plan, &s);
	clean_parent(&old);
	assert_int_equal(s.blk, BIT(SIGTERM) | BIT(SIGUSR2) |
			 BIT(SIGRTMIN + 3));
	assert_int_equal(s.ign, BIT(SIGHUP) | BIT(SIGUSR1) | BIT(SIGTTOU));
	assert_int_equal(s.cgt, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_child_is_clean),
		cmocka_unit_test(plan_mask_and_ignored_are_the_childs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
