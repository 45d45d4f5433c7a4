/* SPDX-License-Identifier: MIT */
/*
 * Spawning a service process.  The parent describes the child's setup as
 * data (struct rv_spawn_plan, with struct rv_spawn_iso for identity,
 * privileges and resources); rv_spawn() applies it in one place between
 * clone and exec.  No exit can be reaped by anyone before we hold the
 * child's pidfd: a forked child's comes with it (CLONE_PIDFD); a vfork'd
 * child's is opened right after its exec (pidfd_open(), off the failover
 * path), while the unreaped child still pins its pid.
 *
 * Two ways to create the child, chosen per start (rv_spawn() in spawn.c
 * says why in full):
 *
 *  - a child that keeps our uid (root services: no `user`, or `user =
 *    root`) uses clone(CLONE_VM|CLONE_VFORK) on a stack
 *    allocated once: the parent is suspended until the child has exec'd
 *    (or died), so spawn cost does not grow with the supervisor's size (no
 *    page tables copied), only one child ever runs on the stack at a time,
 *    and the child reports a failed step by writing into the parent's
 *    memory (the "vfork window") without a pipe;
 *  - a child that switches to another uid uses a plain clone(CLONE_PIDFD)
 *    (a fork): from its setresuid() on, every process of that uid may
 *    SIGSTOP it, and a parent suspended until its exec would stay frozen
 *    with it (issue 13).  The parent never waits for it: rv_spawn() returns
 *    as soon as it exists, and a step that fails in it is learned when it
 *    exits, through res->report_fd (rv_spawn_report_read()).
 *
 * Plain clone(2) rather than clone3(2): container seccomp profiles that
 * refuse clone3 with ENOSYS allow clone, so the same path works
 * everywhere.  The price is that CLONE_INTO_CGROUP (clone3 only) is not
 * available: the child moves itself into its cgroup by writing "0" to
 * cgroup.procs as its first resource step, before anything it runs can
 * allocate or fork (docs/isolation.md).
 *
 * Everything the child needs is computed by the parent beforehand (user
 * and group ids, the groups array, capability masks, rlimits, the CPU set,
 * the cgroup directory fd, opened output fds): the vfork child shares the
 * parent's memory, heap and malloc locks included, so it may only make
 * system calls (the same code runs in the forked child).
 */
#ifndef RV_SPAWN_H
#define RV_SPAWN_H

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Redirections a plan may carry: stdio, ready_fd, up to 64 sockets and
 * 128 stored fds (config/socket.c, config_keys.c), with room. */
#define RV_SPAWN_FDS_MAX 256

/* Child fd `to` becomes a copy of the supervisor's fd `from` (dup2 in
 * the child, after every other step that opens files). */
struct rv_spawn_fd {
	int from;
	int to;
};

/* One setrlimit(2) in the child; step names it in a failure report. */
struct rv_spawn_rlimit {
	int resource;
	struct rlimit limit;
	const char *step;	/* static, e.g. "setrlimit(nofile)" */
};

/*
 * Identity, privileges and resources of the child, applied in the order
 * documented at child_main() in spawn.c.  Start from RV_SPAWN_ISO_INIT
 * (nothing changed); every pointer must stay valid until rv_spawn()
 * returns (in practice: owned by the service, built at load).
 */
struct rv_spawn_iso {
	int cgroup_fd;		/* >= 0: cgroup v2 directory to move into */
	const char *oom_score_adj;	/* decimal text; NULL: unchanged */
	const struct rv_spawn_rlimit *rlimits;
	size_t n_rlimits;
	bool set_nice;
	int nice;
	const cpu_set_t *cpus;	/* NULL: affinity unchanged */
	size_t cpus_size;	/* bytes, for sched_setaffinity() */
	bool set_gid;		/* setresgid(gid) */
	gid_t gid;
	bool set_groups;	/* setgroups(n_groups, groups) */
	const gid_t *groups;
	size_t n_groups;
	bool set_uid;		/* setresuid(uid) */
	uid_t uid;
	/*
	 * set_caps: exactly the capabilities in `caps` (bit n = capability
	 * n) stay permitted, effective, inheritable and ambient across the
	 * uid switch and the exec; all others leave every set, including
	 * the bounding set (0..last_cap).  false: capabilities untouched
	 * (a non-root uid then simply loses them at setuid).
	 */
	bool set_caps;
	uint64_t caps;
	int last_cap;		/* /proc/sys/kernel/cap_last_cap */
	int umask;		/* -1: unchanged */
	const char *cwd;	/* NULL: unchanged */
	bool no_new_privs;	/* PR_SET_NO_NEW_PRIVS, last before exec */
};

#define RV_SPAWN_ISO_INIT { .cgroup_fd = -1, .umask = -1 }

struct rv_spawn_plan {
	char *const *argv;	/* argv[0] is searched in PATH if no '/' */
	char *const *envp;	/* full environment of the child */
	bool new_session;	/* setsid(); else setpgid(0, 0) */
	bool foreground;	/* give the new group the terminal (exec) */
	bool keep_fds;		/* pass on inherited fds (exec); else 0-2 only */
	/*
	 * The child's signals (exec passes its caller's on, as tini does):
	 * child_mask is its signal mask (NULL: empty), child_ignored the
	 * signals it starts with SIG_IGN (NULL: none); every other signal
	 * starts SIG_DFL.  Must stay valid until rv_spawn() returns.
	 */
	const sigset_t *child_mask;
	const sigset_t *child_ignored;
	const struct rv_spawn_fd *fds;	/* stdio redirections, ready_fd, ... */
	size_t n_fds;			/* at most RV_SPAWN_FDS_MAX */
	/*
	 * NULL, or where the child writes its own pid in decimal (NUL-
	 * terminated, room for 12 bytes) right before exec: the value of
	 * LISTEN_PID= inside envp (sd_listen_fds(3) checks it is its own;
	 * only the child knows it, and it may not allocate).  Under vfork
	 * the write lands in the parent's memory, which is harmless: the
	 * slot is rewritten by every spawn.
	 */
	char *listen_pid;
	const struct rv_spawn_iso *iso;	/* NULL: no isolation steps */
};

struct rv_spawn_result {
	pid_t pid;		/* > 0 when a child was created */
	int pidfd;		/* -1 when none */
	/*
	 * -1, or (a child that switches uid: rv_spawn() did not wait for
	 * its exec) the read end of its report pipe, O_CLOEXEC|O_NONBLOCK:
	 * the caller keeps it while the child lives, calls
	 * rv_spawn_report_read() once the child has exited, then closes it.
	 */
	int report_fd;
	int err;		/* 0, or the errno of the failed step */
	const char *step;	/* "clone", "setsid", "setgid", "execve", ... */
};

struct rv_spawner;

/* 0 or -ENOMEM.  The caller frees with rv_spawner_free(). */
int rv_spawner_new(struct rv_spawner **out);
void rv_spawner_free(struct rv_spawner *sp);

/*
 * Starts a child.  Returns 0 when the child exec'd, or when it switches
 * to another uid and was left to exec on its own (res->report_fd >= 0:
 * whether its set-up and exec worked is known only at its exit).
 * Otherwise -errno with res->step naming what failed.  If the child was
 * created but its setup or exec failed, res->pid/pidfd are still valid:
 * the child has already exited with status 127 (ENOENT) or 126 (other),
 * and the caller must watch and reap it like any other child.  Never
 * allocates.
 */
int rv_spawn(struct rv_spawner *sp, const struct rv_spawn_plan *plan,
	     struct rv_spawn_result *res);

/*
 * After the exit of a child whose res->report_fd was >= 0: true when it
 * never exec'd because a step failed (*err, *step as in a failed
 * rv_spawn(), and it exited 127 or 126); false for a child that exec'd
 * (its exit is the program's) or died otherwise (killed before its exec).
 * iso: the plan's, or one built the same way, to name a failed setrlimit
 * step.  One non-blocking read(2); does not close fd.
 */
bool rv_spawn_report_read(int fd, const struct rv_spawn_iso *iso, int *err,
			  const char **step);

/* The conventional exit status for a failed exec (tini/sh): 127 or 126. */
int rv_spawn_exec_status(int err);

#endif
