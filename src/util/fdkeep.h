/* SPDX-License-Identifier: MIT */
/*
 * Descriptors that cross an execve (docs/reexec.md, "Descriptors across
 * exec").  Everything ringvisor opens is O_CLOEXEC; a hand-over keeps
 * exactly the descriptors on its list:
 *
 *   writer: rv_fdkeep_add() each, list them in the state, then
 *           rv_fdkeep_clear_cloexec() as the last step before execve;
 *           rv_fdkeep_set_cloexec() again if execve returned.
 *   reader: rv_fd_adopt() each listed descriptor (open, of the kind the
 *           state says, close-on-exec again at once), then
 *           rv_fd_close_unlisted() for whatever the old image leaked.
 *
 * Mechanism only: roles and owners are the caller's strings, kept as
 * pointers (they must outlive the list).
 */
#ifndef RV_FDKEEP_H
#define RV_FDKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rv_fdkeep_entry {
	int fd;
	const char *role;	/* "pidfd", "control_listen", ... */
	const char *owner;	/* a member's name, or NULL */
};

struct rv_fdkeep {
	struct rv_fdkeep_entry *v;
	size_t n;
	size_t cap;
	size_t cleared;		/* v[0..cleared) have CLOEXEC cleared */
	/* which numbers are listed, one bit each: the duplicate check of
	 * 10,000 pidfds must not be quadratic */
	uint64_t *listed;
	size_t listed_words;
};

/*
 * 0; -EBADF (fd < 0), -EEXIST (listed already), -ENOMEM.  Whether fd is
 * open is not asked: a hand-over lists 5,000 descriptors in its pause and
 * a syscall costs 1-2 us here.  The writer's rv_fdkeep_clear_cloexec()
 * fails on a closed one (and sets them all back), the reader adopts each
 * with its checks (rv_fd_adopt()).
 */
int rv_fdkeep_add(struct rv_fdkeep *k, int fd, const char *role,
		  const char *owner);
/*
 * Clears FD_CLOEXEC on every listed descriptor.  0, or -errno of the
 * first failure, with the ones already cleared set again (all or
 * nothing).
 */
int rv_fdkeep_clear_cloexec(struct rv_fdkeep *k);
/* execve returned: close-on-exec again on the ones cleared. */
void rv_fdkeep_set_cloexec(struct rv_fdkeep *k);
/* Forgets the list (closes nothing). */
void rv_fdkeep_free(struct rv_fdkeep *k);

/* What a kept descriptor must be on the other side. */
enum rv_fd_kind {
	RV_FD_SOCKET,
	RV_FD_FIFO,		/* a pipe end */
	RV_FD_PIDFD,		/* of pid (the `pid` argument) */
	RV_FD_MEMFD,		/* the state itself: a sealed memfd */
	RV_FD_EXE,		/* O_PATH of a regular file (an image) */
	RV_FD_ANY,		/* open, of any kind (a service's fd store) */
};

/*
 * Every descriptor from 3 up close-on-exec in one close_range(2), where the
 * kernel has CLOSE_RANGE_CLOEXEC (5.11): later rv_fd_adopt() calls then
 * skip their own fcntl.  Only when everything open is listed for a
 * rollback (which clears the flag again on what it lists) and nothing
 * open must reach a child without being named (a hand-over's new image,
 * after its leaks are closed).
 */
void rv_fd_cloexec_all(void);

/*
 * Takes over descriptor fd: checks it is open and of kind (a pidfd must
 * be pid's), and sets FD_CLOEXEC on it.  0, or -EBADF / -EINVAL with one
 * line in err ("fd 7 (pidfd of web): refers to pid 99, the state says
 * 4242"); what names the descriptor in that line.
 */
int rv_fd_adopt(int fd, enum rv_fd_kind kind, pid_t pid, const char *what,
		char *err, size_t errlen);

/*
 * Closes every descriptor >= from that is not in keep[0..n).  0 or
 * -errno (close_range refused).
 */
int rv_fd_close_unlisted(const int *keep, size_t n, int from);

#endif
