/* SPDX-License-Identifier: MIT */
/*
 * The fds a service's process starts with beyond stdio, by the systemd
 * protocol (sd_listen_fds(3)): its [socket:NAME] sockets from fd 3 in
 * config order, then what it left in its fd store (FDSTORE=1), in the
 * order it stored them; LISTEN_FDS counts both, LISTEN_FDNAMES names
 * them (the socket section names, the stored fds' FDNAME=, "stored" by
 * default), LISTEN_PID is written by the child itself (spawn.c).
 *
 * Everything is allocated when the service is built: the socket fds
 * (copies of the numbers the tree's set holds, sockets.c), room for
 * fd_store_max stored fds and their names, and the three variables at
 * their largest size, inside the service's own environment.  Before a
 * spawn only digits and names are written into them.
 *
 * The store belongs to the service, not to a process: it survives every
 * restart (crash, `restart`, a strategy's group restart) and a reload
 * that changes the service (the fds move to the new build); it is
 * emptied when the service is stopped with `stop` or removed by a
 * reload, as systemd drops a unit's store when it is stopped.
 */
#ifndef RV_FDPASS_H
#define RV_FDPASS_H

#include <stdbool.h>
#include <stddef.h>

#include "child/spawn.h"

struct rv_service;
struct rv_build;

/* FDNAME=: systemd's limit */
#define RV_FDNAME_MAX 255

/* A name FDNAME= may give: printable ASCII but ':', 1..255 bytes. */
bool rv_fdname_valid(const char *name);
/* Whether s's processes get fds this way (sockets or fd_store_max). */
bool rv_fdpass_wanted(const struct rv_service *s);
/* At build, after s's environment is complete: 0 or -ENOMEM. */
int rv_fdpass_build(struct rv_build *b, struct rv_service *s);
/* Closes the store and frees (unbuild). */
void rv_fdpass_free(struct rv_service *s);
/* A reload's new build takes over old's stored fds (as many as its
 * fd_store_max allows; the rest are closed). */
void rv_fdpass_move_store(struct rv_service *to, struct rv_service *from);

/*
 * Before a spawn: the fds appended to fds[*n] (room for
 * RV_SPAWN_FDS_MAX), the variables filled, and *pid_slot where the child
 * writes its pid (NULL when s passes no fds).  Never allocates.
 */
void rv_fdpass_before_spawn(struct rv_service *s, struct rv_spawn_fd *fds,
			    size_t *n, char **pid_slot);

/*
 * FDSTORE=1 from s's process: keeps fds[0..n) (those kept become -1 in
 * fds; the caller closes the rest) under name (NULL: "stored"), up to
 * fd_store_max.  FDSTOREREMOVE=1 with a name: closes those stored under
 * it.
 */
void rv_fdstore_add(struct rv_service *s, int *fds, size_t n,
		    const char *name);
void rv_fdstore_remove(struct rv_service *s, const char *name);
/* Closes every stored fd (admin stop). */
void rv_fdstore_release(struct rv_service *s);
/* Fds stored now (status). */
size_t rv_fdstore_count(const struct rv_service *s);
/* The fds s may store (fd_store_max of its build). */
size_t rv_fdstore_max(const struct rv_service *s);
/* The hand-over (docs/reexec.md): stored fd i (< rv_fdstore_count()),
 * its name in *name. */
int rv_fdstore_at(const struct rv_service *s, size_t i, const char **name);
/* The new image's side: fd appended to the store under name, in store
 * order, without a log line.  0, or -ENOSPC (the store is full) or
 * -EINVAL (not a name FDNAME= may give). */
int rv_fdstore_restore(struct rv_service *s, int fd, const char *name);

#endif
