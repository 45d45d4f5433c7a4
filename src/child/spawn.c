/* SPDX-License-Identifier: MIT */
#include "child/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/config.h"
#include "loop.h"	/* rv_clock_now */

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

/*
 * Signals whose disposition the child must put back to SIG_DFL: those
 * that were not SIG_DFL in this process when the spawner first started a
 * child (SIG_IGN survives exec: SIGPIPE, or whatever `nohup` or a shell
 * left ignored; a handler must never run in the CLONE_VM child).  Asking
 * the kernel about all 64 signals in every child cost ~60 system calls in
 * the vfork window, with the supervisor suspended; the answer does not
 * change in a supervisor, so it is asked once.  ringvisor.h tells
 * programs that embed the library to set their dispositions before the
 * first start.
 */
struct rv_spawner {
	void *stack;
	size_t stack_size;
	int64_t no_yield_until;	/* CLOCK_MONOTONIC ns; see yield_to_child */
	bool sigs_known;
	int n_reset;
	int reset[NSIG];
};

/*
 * A yield that took this long was not waiting for our child's exec and
 * start-up (on an idle machine: p50 ~1 us when the child runs elsewhere,
 * p99 ~0.8 ms when it shares our CPU): other tasks had the CPU for whole
 * time slices.  On a busy CPU every yield costs that much, and EEVDF
 * pushes a task that keeps yielding further back each time.  Measured
 * with two services that exit at once and three busy loops on 2 cores:
 * 3,200-3,900 transitions in 11 s when yielding always, 6,000-6,500 with
 * this rule on io_uring (epoll: 3,300-3,600 against 4,100-4,400).  So a
 * slow yield turns yielding off for a while, at a cost of one slow yield
 * per pause.
 */
#define YIELD_SLOW_NS	(2LL * 1000 * 1000)
#define YIELD_PAUSE_NS	(250LL * 1000 * 1000)

/*
 * The child has called execve() and let us go; its exec is not done yet
 * (~50 us more: the new image is still being loaded).  If it shares our
 * CPU, our wake-up preempted it, and everything we do next (reap, log
 * lines, the next turn's set-up) would come before its first
 * instruction.  Yield: it finishes its exec first.  When it runs
 * elsewhere this returns at once.  (A SCHED_FIFO loop is not affected: it
 * is never behind a SCHED_OTHER child.)  Not while the CPU is contended
 * (YIELD_SLOW_NS).
 */
static void yield_to_child(struct rv_spawner *sp)
{
	int64_t t0 = rv_clock_now(), t1;

	if (t0 < sp->no_yield_until)
		return;
	sched_yield();
	t1 = rv_clock_now();
	if (t1 - t0 > YIELD_SLOW_NS)
		sp->no_yield_until = t1 + YIELD_PAUSE_NS;
}

/* What the child reads and writes; lives on the parent's stack. */
struct child_ctx {
	const struct rv_spawn_plan *plan;
	const struct rv_spawner *sp;
	sigset_t parent_mask;
	pid_t parent;		/* the supervisor: getpid() before clone */
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

/* Fills sp->reset: every catchable signal that is not SIG_DFL now. */
static void learn_dispositions(struct rv_spawner *sp)
{
	struct sigaction sa;

	sp->n_reset = 0;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* EINVAL for glibc-internal signals: not ours to reset */
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL)
			continue;
		sp->reset[sp->n_reset++] = sig;
	}
	sp->sigs_known = true;
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

/* Records a failed step (errno) and returns -1; child_exit() then ends. */
static int child_step(struct child_ctx *c, const char *step)
{
	c->err = errno;
	c->step = step;
	return -1;
}

__attribute__((noreturn))
static void child_exit(struct child_ctx *c)
{
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
 * Raw system calls for the credential steps.  glibc's setresuid(),
 * setresgid() and setgroups() broadcast the change to every thread of the
 * process (the "setxid" signal dance over the thread list); in a CLONE_VM
 * child that list is the parent's, in shared memory, so the wrappers must
 * not run here.  The kernel calls change exactly this process, which is
 * what we want.  capset(2) has no glibc wrapper.  libcap is not used
 * here either: cap_set_proc() locks the cap_t (libcap 2.5x keeps a lock in
 * it, in memory we share with the parent) and its IAB/launch helpers
 * allocate.  The parent parses `capabilities` with libcap at load time and
 * hands us plain masks (identity.c); the child only makes the raw
 * capset/prctl calls below.
 */
#define RV_CAP_V3 0x20080522	/* _LINUX_CAPABILITY_VERSION_3 */

struct rv_cap_header {
	uint32_t version;
	int pid;
};

struct rv_cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

static int sys_capset_all(uint64_t caps)
{
	struct rv_cap_header h = { .version = RV_CAP_V3, .pid = 0 };
	struct rv_cap_data d[2];

	for (int i = 0; i < 2; i++) {
		uint32_t w = (uint32_t)(caps >> (32 * i));

		d[i].effective = d[i].permitted = d[i].inheritable = w;
	}
	return (int)syscall(SYS_capset, &h, d);
}

/* Writes all of s to a file opened relative to dirfd, then closes it. */
static int write_file_at(int dirfd, const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, len);
	if (n != (ssize_t)len) {
		int err = n < 0 ? errno : EIO;

		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/*
 * Identity and privileges, in the child.  The order is the subtle part:
 *
 *   a. bounding set: drop every capability not kept, while we still have
 *      CAP_SETPCAP (PR_CAPBSET_DROP needs it in the effective set; the
 *      drop does not touch the current permitted/effective sets, so the
 *      uid and gid switches below still work);
 *   b. PR_SET_KEEPCAPS before setuid, or the switch away from uid 0
 *      clears the permitted set and the kept capabilities are gone;
 *   c. setresgid, then setgroups (the user's supplementary groups), then
 *      setresuid: the group steps need CAP_SETGID, which the uid switch
 *      takes away (systemd's order: gid, groups, uid);
 *   d. capset after setuid: KEEPCAPS kept the permitted set but setuid
 *      cleared the effective one; set permitted = effective = inheritable
 *      = the kept capabilities (the inheritable set must hold them for
 *      the ambient raise);
 *   e. ambient raise after capset (a capability can only be ambient when
 *      it is both permitted and inheritable), after clearing whatever
 *      ambient set we inherited: ambient capabilities are what a non-root
 *      program keeps across execve() without file capabilities;
 *   f. umask and chdir as the new user, so a working directory the user
 *      cannot enter is a failed start, not a silent root privilege;
 *   g. PR_SET_NO_NEW_PRIVS last before exec (child_main, step 8): it
 *      blocks gaining privileges through exec (setuid files, file
 *      capabilities), never the steps above; ambient capabilities are
 *      already permitted, so they survive it.
 * For uid 0 without a user switch, b and c are skipped and the same masks
 * give root exactly the kept capabilities after exec (the kernel's root
 * rule fills permitted from bounding | inheritable).
 */
static int apply_identity(struct child_ctx *c, const struct rv_spawn_iso *is)
{
	if (is->set_caps) {
		for (int cap = 0; cap <= is->last_cap && cap < 64; cap++) {
			if (is->caps >> cap & 1)
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
			    errno != EINVAL)
				return child_step(c, "capbset_drop");
		}
		if (is->set_uid &&
		    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return child_step(c, "keepcaps");
	}
	if (is->set_gid &&
	    syscall(SYS_setresgid, is->gid, is->gid, is->gid) < 0)
		return child_step(c, "setgid");
	if (is->set_groups &&
	    syscall(SYS_setgroups, is->n_groups, is->groups) < 0)
		return child_step(c, "setgroups");
	if (is->set_uid &&
	    syscall(SYS_setresuid, is->uid, is->uid, is->uid) < 0)
		return child_step(c, "setuid");
	if (is->set_caps) {
		if (sys_capset_all(is->caps) < 0)
			return child_step(c, "capset");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0,
			  0) < 0)
			return child_step(c, "cap_ambient_clear");
		for (int cap = 0; cap <= is->last_cap && cap < 64; cap++)
			if (is->caps >> cap & 1 &&
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0,
				  0) < 0)
				return child_step(c, "cap_ambient_raise");
	}
	if (is->umask >= 0)
		umask((mode_t)is->umask);
	if (is->cwd && chdir(is->cwd) < 0)
		return child_step(c, "chdir");
	return 0;
}

/*
 * Resources, in the child, while it still has the supervisor's
 * privileges: the cgroup move first (nothing the service runs is ever
 * accounted outside its cgroup, and writing cgroup.procs is checked
 * against our credentials), then oom_score_adj (lowering it needs
 * CAP_SYS_RESOURCE).  rlimits, nice and affinity come after the
 * descriptor moves (apply_iso_resources), so that a tiny limit_nofile
 * cannot break our own dup2 calls, and before the uid switch (raising a
 * hard limit needs CAP_SYS_RESOURCE, a negative nice CAP_SYS_NICE).
 */
static int apply_iso_early(struct child_ctx *c, const struct rv_spawn_iso *is)
{
	if (is->cgroup_fd >= 0 &&
	    write_file_at(is->cgroup_fd, "cgroup.procs", "0") < 0)
		return child_step(c, "cgroup");
	if (is->oom_score_adj &&
	    write_file_at(AT_FDCWD, "/proc/self/oom_score_adj",
			  is->oom_score_adj) < 0)
		return child_step(c, "oom_score_adj");
	return 0;
}

static int apply_iso_resources(struct child_ctx *c,
			       const struct rv_spawn_iso *is)
{
	for (size_t i = 0; i < is->n_rlimits; i++)
		if (setrlimit((__rlimit_resource_t)is->rlimits[i].resource,
			      &is->rlimits[i].limit) < 0)
			return child_step(c, is->rlimits[i].step);
	if (is->set_nice && setpriority(PRIO_PROCESS, 0, is->nice) < 0)
		return child_step(c, "setpriority");
	if (is->cpus && sched_setaffinity(0, is->cpus_size, is->cpus) < 0)
		return child_step(c, "sched_setaffinity");
	return 0;
}

/*
 * Runs in the child, sharing the parent's memory while the parent is
 * suspended.  Only async-signal-safe calls, no allocation, and nothing
 * written to shared memory but c->err/c->step (and errno, which the
 * parent does not read after a successful clone).  Order matters:
 *   1. dispositions back to SIG_DFL while every signal is still blocked
 *      (the parent blocked all of them around clone), so no supervisor
 *      handler can ever run here, and SIG_IGN (e.g. SIGPIPE) is not
 *      inherited across exec (only those not SIG_DFL: rv_spawner);
 *   2. own session or process group, so a group stop reaches exactly the
 *      service's processes;
 *   3. the terminal for `exec` (SIGTTOU is SIG_DFL now, so it must be
 *      ignored around tcsetpgrp from what is now a background group);
 *   4. cgroup and oom_score_adj (apply_iso_early);
 *   5. descriptors: everything above 2 close-on-exec, unless passed on,
 *      then the plan's redirections (which survive exec);
 *   6. rlimits, nice, CPU affinity (apply_iso_resources);
 *   7. identity and capabilities, umask, cwd (apply_identity: the order
 *      of the privilege steps is written down there);
 *   8. die with the supervisor (PR_SET_PDEATHSIG, below);
 *   9. no_new_privileges, the last privilege step;
 *  10. the plan's ignored signals (exec: its caller's, as tini passes
 *      them on; SIGTTOU among them is why this comes after step 3);
 *  11. the plan's signal mask (else an empty one), last, right before
 *      exec.
 */
static int child_main(void *arg)
{
	struct child_ctx *c = arg;
	const struct rv_spawn_plan *p = c->plan;
	const struct rv_spawn_iso *is = p->iso;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t empty;

	for (int i = 0; i < c->sp->n_reset; i++)
		sigaction(c->sp->reset[i], &dfl, NULL);
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
	if (is && apply_iso_early(c, is) < 0)
		child_exit(c);
	if (!p->keep_fds &&
	    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(c, "close_range");
	if (apply_fds(p) < 0)
		child_fail(c, "dup2");
	if (is && (apply_iso_resources(c, is) < 0 ||
		   apply_identity(c, is) < 0))
		child_exit(c);
	/*
	 * SIGKILL when the supervisor dies, so that no service outlives it
	 * unsupervised (README "If the supervisor dies").  After the
	 * identity steps, which clear the setting (a change of euid, egid,
	 * fsuid or fsgid does); exec keeps it, except for a setuid or
	 * file-capability program.  Then the race: a supervisor killed
	 * before the prctl has left us reparented and the signal would
	 * never come, so a parent other than the supervisor ends the start
	 * here (nobody is left to read the step).  The "parent" of
	 * PR_SET_PDEATHSIG is the thread that called clone: the loop
	 * thread, which outlives every child it starts.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(c, "pdeathsig");
	if (getppid() != c->parent) {
		errno = ESRCH;
		child_fail(c, "pdeathsig");
	}
	if (is && is->no_new_privs &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(c, "no_new_privileges");
	if (p->child_ignored) {
		struct sigaction ign = { .sa_handler = SIG_IGN };

		/* sigismember is arithmetic; only the ignored cost a call */
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(p->child_ignored, sig) == 1 &&
			    sigaction(sig, &ign, NULL) < 0)
				child_fail(c, "sigaction");
	}
	sigemptyset(&empty);
	if (sigprocmask(SIG_SETMASK, p->child_mask ? p->child_mask : &empty,
			NULL) < 0)
		child_fail(c, "sigprocmask");
	execvpe(p->argv[0], p->argv, p->envp);
	child_fail(c, "execve");
	return 127;
}

int rv_spawn(struct rv_spawner *sp, const struct rv_spawn_plan *plan,
	     struct rv_spawn_result *res)
{
	struct child_ctx c = { .plan = plan, .sp = sp, .parent = getpid() };
	sigset_t all;
	int pidfd = -1;
	pid_t pid;
	int err;

	if (!sp->sigs_known)
		learn_dispositions(sp);

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
	if (pid > 0)
		yield_to_child(sp);
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
