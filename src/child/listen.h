/* SPDX-License-Identifier: MIT */
/*
 * Binding a [socket:NAME] (config/spec.h, struct rv_socket_spec): the
 * supervisor does it at load and when a reload adds an address, as the
 * user it runs as (root: before any service drops its privileges, so a
 * service of any user can be given port 80).  The fd is O_CLOEXEC in
 * the supervisor; a child gets it by dup2 (spawn.c).
 */
#ifndef RV_LISTEN_H
#define RV_LISTEN_H

#include <sys/types.h>

#include "config/spec.h"

/* A bound socket; dev/ino: its file, for a unix socket with a path. */
struct rv_listen_fd {
	int fd;
	dev_t dev;
	ino_t ino;
};

/*
 * A new socket bound to k's address, listening (streams) with k's
 * backlog capped by net.core.somaxconn; a unix socket gets its owner and
 * mode, after a stale socket file at its path is unlinked (only a socket,
 * and only one nobody listens on).  0 with *out set, or -errno with *step
 * naming what failed ("socket", "bind", "listen", "chown", ...).
 */
int rv_listen_open(const struct rv_socket_spec *k, struct rv_listen_fd *out,
		   const char **step);

/*
 * A kept socket whose section changed in a reload: backlog, owner and
 * mode as k says now (the address, and so the fd, stay).  0 or -errno
 * with *step.
 */
int rv_listen_update(const struct rv_socket_spec *k, int fd,
		     const char **step);

/* Closes fd; a unix socket's file goes too if it is still this socket's
 * (not replaced by someone else since). */
void rv_listen_close(const struct rv_socket_spec *k,
		     const struct rv_listen_fd *l);

#endif
