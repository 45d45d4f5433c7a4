/* SPDX-License-Identifier: MIT */
/*
 * Spawning a service process.  The parent describes the child's setup as
 * data (struct rv_spawn_plan); rv_spawn() applies it in one place between
 * clone and exec.  The pidfd comes atomically with the child
 * (CLONE_PIDFD), so no exit can be reaped by anyone before we hold it.
 *
 * We use clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on a stack allocated once:
 * the parent is suspended until the child has exec'd (or died), so spawn
 * cost does not grow with the supervisor's size (no page tables copied),
 * only one child ever runs on the stack at a time, and the child reports a
 * failed step by writing into the parent's memory (the "vfork window")
 * without a pipe.  Plain clone(2) rather than clone3(2): container seccomp
 * profiles that refuse clone3 with ENOSYS allow clone, so the same path
 * works everywhere.
 */
#ifndef RV_SPAWN_H
#define RV_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/* Child fd `to` becomes a copy of the supervisor's fd `from` (dup2 in
 * the child, after every other step that opens files). */
struct rv_spawn_fd {
	int from;
	int to;
};

struct rv_spawn_plan {
	char *const *argv;	/* argv[0] is searched in PATH if no '/' */
	char *const *envp;	/* full environment of the child */
	bool new_session;	/* setsid(); else setpgid(0, 0) */
	bool foreground;	/* give the new group the terminal (exec) */
	bool keep_fds;		/* pass on inherited fds (exec); else 0-2 only */
	const struct rv_spawn_fd *fds;	/* stdio redirections, ready_fd, ... */
	size_t n_fds;
};

struct rv_spawn_result {
	pid_t pid;		/* > 0 when a child was created */
	int pidfd;		/* -1 when none */
	int err;		/* 0, or the errno of the failed step */
	const char *step;	/* "clone", "setsid", "execve", ... */
};

struct rv_spawner;

/* 0 or -ENOMEM.  The caller frees with rv_spawner_free(). */
int rv_spawner_new(struct rv_spawner **out);
void rv_spawner_free(struct rv_spawner *sp);

/*
 * Starts a child.  Returns 0 when the child exec'd; otherwise -errno with
 * res->step naming what failed.  If the child was created but its setup or
 * exec failed, res->pid/pidfd are still valid: the child has already exited
 * with status 127 (ENOENT) or 126 (other), and the caller must watch and
 * reap it like any other child.  Never allocates.
 */
int rv_spawn(struct rv_spawner *sp, const struct rv_spawn_plan *plan,
	     struct rv_spawn_result *res);

/* The conventional exit status for a failed exec (tini/sh): 127 or 126. */
int rv_spawn_exec_status(int err);

#endif
