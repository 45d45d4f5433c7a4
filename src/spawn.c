/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * execvpe() needs room for a PATH candidate and, for scripts without a
 * shebang, a copy of argv on the stack; 256 KiB is plenty.  The stack is
 * mapped once and reused: CLONE_VFORK guarantees it is free again when
 * clone() returns.
 */
#define RV_CHILD_STACK (256 * 1024)

struct rv_spawner {
	void *stack;
	size_t stack_size;
};

/* What the child reads and writes; lives on the parent's stack. */
struct child_ctx {
	const struct rv_spawn_plan *plan;
	sigset_t parent_mask;
	int err;
	const char *step;
};

int rv_spawner_new(struct rv_spawner **out)
{
	struct rv_spawner *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return -ENOMEM;
	sp->stack_size = RV_CHILD_STACK;
	sp->stack = mmap(NULL, sp->stack_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (sp->stack == MAP_FAILED) {
		int err = errno;

		free(sp);
		return -err;
	}
	*out = sp;
	return 0;
}

void rv_spawner_free(struct rv_spawner *sp)
{
	if (!sp)
		return;
	munmap(sp->stack, sp->stack_size);
	free(sp);
}

int rv_spawn_exec_status(int err)
{
	return err == ENOENT ? 127 : 126;
}

__attribute__((noreturn))
static void child_fail(struct child_ctx *c, const char *step)
{
	c->err = errno;
	c->step = step;
	_exit(rv_spawn_exec_status(c->err));
}

/*
 * Redirections, in the child.  Sources are first copied above every
 * target, so a source that is also another mapping's target is not
 * clobbered; dup2() then leaves each target without FD_CLOEXEC.
 */
static int apply_fds(const struct rv_spawn_plan *p)
{
	int moved[16], top = 2;

	if (p->n_fds > sizeof(moved) / sizeof(*moved))
		return errno = E2BIG, -1;
	for (size_t i = 0; i < p->n_fds; i++)
		if (p->fds[i].to > top)
			top = p->fds[i].to;
	for (size_t i = 0; i < p->n_fds; i++) {
		moved[i] = fcntl(p->fds[i].from, F_DUPFD_CLOEXEC, top + 1);
		if (moved[i] < 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_fds; i++)
		if (dup2(moved[i], p->fds[i].to) < 0)
			return -1;
	return 0;
}

/*
 * Runs in the child, sharing the parent's memory while the parent is
 * suspended.  Only async-signal-safe calls, no allocation, and nothing
 * written to shared memory but c->err/c->step.  Order matters:
 *   1. dispositions back to SIG_DFL while every signal is still blocked
 *      (the parent blocked all of them around clone), so no supervisor
 *      handler can ever run here, and SIG_IGN (e.g. SIGPIPE) is not
 *      inherited across exec;
 *   2. own session or process group, so a group stop reaches exactly the
 *      service's processes;
 *   3. the terminal for `exec` (SIGTTOU is SIG_DFL now, so it must be
 *      ignored around tcsetpgrp from what is now a background group);
 *   4. descriptors: everything above 2 close-on-exec, unless passed on,
 *      then the plan's redirections (which survive exec);
 *   5. an empty signal mask, last, right before exec.
 */
static int child_main(void *arg)
{
	struct child_ctx *c = arg;
	const struct rv_spawn_plan *p = c->plan;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t empty;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* EINVAL for glibc-internal signals is expected */
		sigaction(sig, &dfl, NULL);
	}
	if (p->new_session) {
		if (setsid() < 0)
			child_fail(c, "setsid");
	} else if (setpgid(0, 0) < 0) {
		child_fail(c, "setpgid");
	}
	if (p->foreground && isatty(STDIN_FILENO)) {
		struct sigaction ign = { .sa_handler = SIG_IGN };

		sigaction(SIGTTOU, &ign, NULL);
		/* best effort: no terminal for us is not a failure */
		(void)tcsetpgrp(STDIN_FILENO, getpid());
		sigaction(SIGTTOU, &dfl, NULL);
	}
	if (!p->keep_fds &&
	    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(c, "close_range");
	if (apply_fds(p) < 0)
		child_fail(c, "dup2");
	sigemptyset(&empty);
	if (sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
		child_fail(c, "sigprocmask");
	execvpe(p->argv[0], p->argv, p->envp);
	child_fail(c, "execve");
	return 127;
}

int rv_spawn(struct rv_spawner *sp, const struct rv_spawn_plan *plan,
	     struct rv_spawn_result *res)
{
	struct child_ctx c = { .plan = plan };
	sigset_t all;
	int pidfd = -1;
	pid_t pid;
	int err;

	res->pid = 0;
	res->pidfd = -1;
	res->err = 0;
	res->step = NULL;
	sigfillset(&all);
	/* Block everything across clone: see child_main() step 1. */
	err = pthread_sigmask(SIG_SETMASK, &all, &c.parent_mask);
	if (err) {
		res->err = err;
		res->step = "sigprocmask";
		return -err;
	}
	pid = clone(child_main, (char *)sp->stack + sp->stack_size,
		    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &c, &pidfd);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &c.parent_mask, NULL);
	if (pid < 0) {
		res->err = err;
		res->step = "clone";
		return -err;
	}
	res->pid = pid;
	res->pidfd = pidfd;
	if (c.err) {
		res->err = c.err;
		res->step = c.step;
		return -c.err;
	}
	return 0;
}
