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
#include <sys/wait.h>
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
 * clone() returns, and a forked child runs on its own copy of it.
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
	uid_t uid;		/* ours (real): see child_switches_uid() */
	int spare_fd;		/* see pidfd_after_exec(); -1: to reopen */
	int pidfd_open_ok;	/* 0: not asked yet; 1 yes; -1 ENOSYS */
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
 * (YIELD_SLOW_NS).  A forked child (rv_spawn()) has not even started its
 * set-up: on our CPU the yield lets it run that and its exec before we go
 * on; sched_yield() never waits for it, stopped or not.
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

/* What the child reads and writes; lives on the parent's stack (the
 * forked child writes only to its own copy, and reports through
 * report_fd). */
struct child_ctx {
	const struct rv_spawn_plan *plan;
	const struct rv_spawner *sp;
	sigset_t parent_mask;
	pid_t parent;		/* the supervisor: getpid() before clone */
	int report_fd;		/* forked child: the pipe's write end, or -1 */
	int err;
	const char *step;
};

/*
 * What a forked child sends when a step fails: the errno and the step's
 * name as text.  Text and not the pointer, although the child's memory is
 * a copy of ours: after its uid switch the child belongs to the service's
 * user, who with fs.suid_dumpable set could ptrace it and write anything
 * into the pipe; the parent never dereferences what it reads (the name is
 * looked up, report_step()).  48 bytes, under PIPE_BUF: one atomic write.
 */
struct spawn_report {
	int32_t err;
	char step[44];
};

int rv_spawner_new(struct rv_spawner **out)
{
	struct rv_spawner *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return -ENOMEM;
	sp->stack_size = RV_CHILD_STACK;
	sp->uid = getuid();
	sp->spare_fd = -1;
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
	if (sp->spare_fd >= 0)
		close(sp->spare_fd);
	free(sp);
}

/*
 * The kernel's sigaction, for the signals glibc keeps for itself (32 and
 * 33, its thread cancellation and setxid): glibc's sigaction() says
 * EINVAL for them, yet a process can inherit them ignored (seen under
 * dpkg-buildpackage), and a child must not.  Only the handler is read,
 * at offset 0 on every architecture; SIG_DFL is an all-zero struct.
 */
struct k_sigaction {
	void *handler;
	unsigned long rest[7];		/* flags, restorer, mask: room */
};

static long raw_sigaction(int sig, const struct k_sigaction *act,
			  struct k_sigaction *old)
{
	return syscall(SYS_rt_sigaction, sig, act, old, _NSIG / 8);
}

/*
 * Fills sp->reset: every catchable signal that is not SIG_DFL now; a
 * glibc-internal one as -sig (reset with the raw system call).
 */
static void learn_dispositions(struct rv_spawner *sp)
{
	struct sigaction sa;

	sp->n_reset = 0;
	for (int sig = 1; sig < NSIG; sig++) {
		struct k_sigaction k = { 0 };

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) == 0) {
			if (!(sa.sa_flags & SA_SIGINFO) &&
			    sa.sa_handler == SIG_DFL)
				continue;
			sp->reset[sp->n_reset++] = sig;
			continue;
		}
		/* EINVAL: glibc's own; ask the kernel */
		if (raw_sigaction(sig, NULL, &k) == 0 && k.handler)
			sp->reset[sp->n_reset++] = -sig;
	}
	sp->sigs_known = true;
}

int rv_spawn_exec_status(int err)
{
	return err == ENOENT ? 127 : 126;
}

/* A forked child's failure report (best effort: nobody is left to tell
 * if the write fails; the exit is then read as the program's). */
static void child_report(const struct child_ctx *c)
{
	struct spawn_report r = { .err = c->err };
	size_t n = strlen(c->step);

	if (n >= sizeof(r.step))
		n = sizeof(r.step) - 1;
	memcpy(r.step, c->step, n);
	if (write(c->report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		return;
}

__attribute__((noreturn))
static void child_exit(struct child_ctx *c)
{
	if (c->report_fd >= 0)
		child_report(c);
	_exit(rv_spawn_exec_status(c->err));
}

__attribute__((noreturn))
static void child_fail(struct child_ctx *c, const char *step)
{
	c->err = errno;
	c->step = step;
	child_exit(c);
}

/* Records a failed step (errno) and returns -1; child_exit() then ends. */
static int child_step(struct child_ctx *c, const char *step)
{
	c->err = errno;
	c->step = step;
	return -1;
}

/* The highest fd the child's redirections write (at least 2). */
static int fds_top(const struct rv_spawn_plan *p)
{
	int top = 2;

	for (size_t i = 0; i < p->n_fds; i++)
		if (p->fds[i].to > top)
			top = p->fds[i].to;
	return top;
}

/*
 * Redirections, in the child.  Sources are first copied above every
 * target, so a source that is also another mapping's target is not
 * clobbered; dup2() then leaves each target without FD_CLOEXEC.
 */
static int apply_fds(const struct rv_spawn_plan *p)
{
	int moved[RV_SPAWN_FDS_MAX], top = fds_top(p);

	if (p->n_fds > sizeof(moved) / sizeof(*moved))
		return errno = E2BIG, -1;
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
 * A forked child's report pipe must outlive the redirections: a target
 * that took its number would close it in dup2(), and a later failure
 * would go unreported (its exit read as the program's).  It moves above
 * every target first (the old number, if a target, is simply replaced).
 */
static void report_fd_above_targets(struct child_ctx *c,
				    const struct rv_spawn_plan *p)
{
	int top = fds_top(p), fd;

	if (c->report_fd > top)
		return;
	fd = fcntl(c->report_fd, F_DUPFD_CLOEXEC, top + 1);
	if (fd < 0)
		child_fail(c, "dup2");
	c->report_fd = fd;
}

/*
 * A forked child can be kept stopped before its exec for as long as the
 * service's user likes (which is why it is forked): meanwhile it holds
 * nothing of the supervisor's, close-on-exec or not (listening sockets,
 * other services' pipes and pidfds, the ring).  Everything above the
 * redirections is closed now, but the report pipe, put at top + 1.  Not
 * with keep_fds (`exec`): the fds it inherited must reach the program.
 */
static void close_all_but_report(struct child_ctx *c,
				 const struct rv_spawn_plan *p)
{
	int top = fds_top(p);

	if (c->report_fd != top + 1) {
		if (dup3(c->report_fd, top + 1, O_CLOEXEC) < 0)
			child_fail(c, "dup2");
		c->report_fd = top + 1;
	}
	if (syscall(SYS_close_range, (unsigned int)top + 2, ~0U, 0) < 0)
		child_fail(c, "close_range");
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

/* pid in decimal into out (12 bytes of room), without libc's printf:
 * the vfork child may not take its locks. */
static void write_pid(char *out, pid_t pid)
{
	char tmp[12];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < 11);
	while (n > 0)
		*out++ = tmp[--n];
	*out = '\0';
}

/*
 * Runs in the child, sharing the parent's memory while the parent is
 * suspended (vfork), or in a copy of it (forked: rv_spawn()).  Only
 * async-signal-safe calls, no allocation, and nothing written to shared
 * memory but c->err/c->step (and errno, which the parent does not read
 * after a successful clone); a forked child sends c->err/c->step through
 * c->report_fd instead (child_exit()).  Order matters:
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
 *      then the plan's redirections (which survive exec); a forked child
 *      keeps its report pipe clear of them, and then closes the rest;
 *   6. rlimits, nice, CPU affinity (apply_iso_resources);
 *   7. identity and capabilities, umask, cwd (apply_identity: the order
 *      of the privilege steps is written down there);
 *   8. die with the supervisor (PR_SET_PDEATHSIG, below);
 *   9. no_new_privileges, the last privilege step;
 *  10. the plan's ignored signals (exec: its caller's, as tini passes
 *      them on; SIGTTOU among them is why this comes after step 3);
 *  11. LISTEN_PID's value (plan->listen_pid), then the plan's signal
 *      mask (else an empty one), last, right before exec.
 */
static int child_main(void *arg)
{
	struct child_ctx *c = arg;
	const struct rv_spawn_plan *p = c->plan;
	const struct rv_spawn_iso *is = p->iso;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t empty;

	for (int i = 0; i < c->sp->n_reset; i++) {
		static const struct k_sigaction kdfl;	/* SIG_DFL */
		int sig = c->sp->reset[i];

		if (sig > 0)
			sigaction(sig, &dfl, NULL);
		else
			raw_sigaction(-sig, &kdfl, NULL);
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
	if (is && apply_iso_early(c, is) < 0)
		child_exit(c);
	if (!p->keep_fds &&
	    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(c, "close_range");
	if (c->report_fd >= 0)
		report_fd_above_targets(c, p);
	if (apply_fds(p) < 0)
		child_fail(c, "dup2");
	if (c->report_fd >= 0 && !p->keep_fds)
		close_all_but_report(c, p);
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
	if (p->listen_pid)
		write_pid(p->listen_pid, getpid());
	sigemptyset(&empty);
	if (sigprocmask(SIG_SETMASK, p->child_mask ? p->child_mask : &empty,
			NULL) < 0)
		child_fail(c, "sigprocmask");
	execvpe(p->argv[0], p->argv, p->envp);
	child_fail(c, "execve");
	return 127;
}

/*
 * Whether the child takes another uid before its exec.  kill(2) lets a
 * process signal another whose real or saved uid is its own real or
 * effective uid, so from the child's setresuid() on every process of the
 * service's user can SIGSTOP it (which cannot be blocked or ignored).  A
 * child that keeps our uid is as safe as we are: whoever can stop it can
 * stop us.  (Groups do not matter: kill(2) checks uids only.)
 */
static bool child_switches_uid(const struct rv_spawner *sp,
			       const struct rv_spawn_plan *p)
{
	return p->iso && p->iso->set_uid && p->iso->uid != sp->uid;
}

/*
 * The pidfd of a vfork'd child is opened after its exec, not by the clone
 * (CLONE_PIDFD): creating the pidfd file inside copy_process() is on the
 * failover path, while the service waits for its exec; pidfd_open() after
 * the yield is not (the service already runs).  Measured with ftrace,
 * clone() entry -> the child exists, p50: 52 -> 35 us (io_uring loop),
 * 51 -> 43 us (epoll); pidfd_open() afterwards 10 us (bench/analysis.md,
 * "Failover at the floor").  Safe without the atomic form: the child is
 * ours and nobody reaps it before we watch it (the loop's reapers all
 * look with WNOWAIT first, and the loop is the only thread), so its pid
 * cannot be reused meanwhile, zombie or not.
 *
 * What CLONE_PIDFD also gave: an fd shortage (EMFILE) failed the clone,
 * before any child existed.  A spare descriptor keeps that: it is opened
 * before the clone (spare_ready(); failing there is the failed clone of
 * old) and closed to make room when pidfd_open() says EMFILE, so a
 * per-process fd shortage can no longer start a service that we cannot
 * watch.  What is left (ENOMEM, ENFILE: the whole system is out) kills
 * the child we could not watch and reports the start as a failed clone.
 */
static int spare_ready(struct rv_spawner *sp)
{
	if (sp->spare_fd < 0)
		sp->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return sp->spare_fd < 0 ? -errno : 0;
}

/*
 * Whether pidfd_open() exists here, asked once with our own pid.  Every
 * kernel with CLONE_PIDFD (5.2) has it from 5.3, but valgrind 3.19 (the
 * memcheck scenario of tests/run.sh) does not emulate it: ENOSYS.  Then
 * the vfork path asks the clone for the pidfd, as before the change.
 */
static bool pidfd_open_works(struct rv_spawner *sp)
{
	if (!sp->pidfd_open_ok) {
		int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

		sp->pidfd_open_ok = fd < 0 && errno == ENOSYS ? -1 : 1;
		if (fd >= 0)
			close(fd);
	}
	return sp->pidfd_open_ok > 0;
}

static int pidfd_after_exec(struct rv_spawner *sp, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), err;

	if (pidfd < 0 && errno == EMFILE && sp->spare_fd >= 0) {
		close(sp->spare_fd);
		sp->spare_fd = -1;
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	if (pidfd >= 0)
		return pidfd;
	err = errno;
	/* our unreaped child: its pid is still its own */
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -err;
}

/*
 * vfork or fork (issue 13, item 1).  clone(CLONE_VM|CLONE_VFORK) suspends
 * us in the kernel until the child execs or dies, and only a fatal signal
 * ends that wait.  A child that has switched to the service's uid can be
 * stopped by any process of that uid (child_switches_uid()), and its vfork
 * parent then sits in kernel_clone with it, for as long as the attacker
 * likes: no reaping, no signals, no control socket, no shutdown.  So:
 *
 *  - a child that keeps our uid takes the vfork path: nobody but root can
 *    stop it.  That is every root service, and the failover path measured
 *    in bench/ (where services run as root): unchanged, no page tables
 *    copied, a failed step known when clone returns;
 *  - a child that switches uid is forked: clone(CLONE_PIDFD|SIGCHLD),
 *    without CLONE_VM or CLONE_VFORK.  We go on at once (sched_yield()
 *    aside, which never blocks); the child runs the same child_main() on
 *    a private copy of our memory, stack region included, and a failed
 *    step reaches us through a pipe that its exec or death closes, read
 *    once it has exited (rv_spawn_report_read()).  Nothing it does can
 *    hold us: a stopped child only keeps its service from starting.  The
 *    price: the kernel copies our page tables (copy-on-write) and we take
 *    a write fault on each page we touch next, so this path costs more
 *    the bigger the supervisor (bench/analysis.md has the numbers), plus
 *    a pipe per start; and a failed start is known at the child's exit
 *    (after its `start` line), not at the clone.
 *
 * Rejected: an exec helper (vfork, exec a small root program that switches
 * identity and execs the service: a second exec on every start, and a
 * binary to install and find, also for programs that embed the library);
 * CLONE_VM without CLONE_VFORK (the child would share our memory while we
 * run: errno, the stack and the plan could not be touched again until its
 * exec, which a stopped child postpones for ever); keeping the saved uid
 * 0 until exec (exec makes the saved uid the effective one, and a real uid
 * 0 would be a service that can become root again).
 */
int rv_spawn(struct rv_spawner *sp, const struct rv_spawn_plan *plan,
	     struct rv_spawn_result *res)
{
	struct child_ctx c = { .plan = plan, .sp = sp, .parent = getpid(),
			       .report_fd = -1 };
	bool forked = child_switches_uid(sp, plan);
	int flags = CLONE_PIDFD | SIGCHLD;
	int report[2] = { -1, -1 };
	sigset_t all;
	int pidfd = -1;
	pid_t pid;
	int err;

	if (!sp->sigs_known)
		learn_dispositions(sp);

	res->pid = 0;
	res->pidfd = -1;
	res->report_fd = -1;
	res->err = 0;
	res->step = NULL;
	if (!forked && !pidfd_open_works(sp)) {
		flags |= CLONE_VM | CLONE_VFORK;
	} else if (!forked) {
		flags |= CLONE_VM | CLONE_VFORK;
		flags &= ~CLONE_PIDFD;	/* pidfd_after_exec() */
		err = spare_ready(sp);
		if (err) {
			res->err = -err;
			res->step = "clone";
			return err;
		}
	} else if (pipe2(report, O_CLOEXEC | O_NONBLOCK) < 0) {
		/* no child: the same shortage as a pidfd clone cannot make */
		res->err = errno;
		res->step = "clone";
		return -res->err;
	}
	c.report_fd = report[1];
	sigfillset(&all);
	/* Block everything across clone: see child_main() step 1. */
	err = pthread_sigmask(SIG_SETMASK, &all, &c.parent_mask);
	if (err) {
		if (forked) {
			close(report[0]);
			close(report[1]);
		}
		res->err = err;
		res->step = "sigprocmask";
		return -err;
	}
	pid = clone(child_main, (char *)sp->stack + sp->stack_size, flags, &c,
		    &pidfd);
	err = errno;
	if (pid > 0)
		yield_to_child(sp);
	pthread_sigmask(SIG_SETMASK, &c.parent_mask, NULL);
	if (forked) {
		close(report[1]);	/* the child's now: EOF at exec */
		if (pid < 0)
			close(report[0]);
	}
	if (pid < 0) {
		res->err = err;
		res->step = "clone";
		return -err;
	}
	if (!(flags & CLONE_PIDFD)) {
		pidfd = pidfd_after_exec(sp, pid);
		if (pidfd < 0) {
			res->err = -pidfd;
			res->step = "clone";
			return pidfd;
		}
	}
	res->pid = pid;
	res->pidfd = pidfd;
	res->report_fd = forked ? report[0] : -1;
	if (c.err) {
		res->err = c.err;
		res->step = c.step;
		return -c.err;
	}
	return 0;
}

/*
 * The names a forked child can report, so that a report yields one of our
 * static strings, never a pointer read from the pipe: every step passed
 * to child_step() or child_fail() above (a missing one reads "unknown"),
 * and the plan's setrlimit steps (report_step()).
 */
static const char *const child_steps[] = {
	"setsid", "setpgid", "cgroup", "oom_score_adj", "close_range", "dup2",
	"setpriority", "sched_setaffinity", "capbset_drop", "keepcaps",
	"setgid", "setgroups", "setuid", "capset", "cap_ambient_clear",
	"cap_ambient_raise", "chdir", "pdeathsig", "no_new_privileges",
	"sigprocmask", "execve",
};

static const char *report_step(const char *name,
			       const struct rv_spawn_iso *iso)
{
	for (size_t i = 0; i < sizeof(child_steps) / sizeof(*child_steps); i++)
		if (!strcmp(name, child_steps[i]))
			return child_steps[i];
	for (size_t i = 0; iso && i < iso->n_rlimits; i++)
		if (!strcmp(name, iso->rlimits[i].step))
			return iso->rlimits[i].step;
	return "unknown";
}

bool rv_spawn_report_read(int fd, const struct rv_spawn_iso *iso, int *err,
			  const char **step)
{
	struct spawn_report r;
	ssize_t n;

	do {
		n = read(fd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	/* 0: EOF, it exec'd or was killed first; < 0 (EAGAIN): nothing;
	 * a short record cannot come from child_report() */
	if (n != (ssize_t)sizeof(r))
		return false;
	r.step[sizeof(r.step) - 1] = '\0';
	*err = r.err > 0 ? r.err : EIO;
	*step = report_step(r.step, iso);
	return true;
}
