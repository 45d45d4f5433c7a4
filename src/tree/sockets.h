/* SPDX-License-Identifier: MIT */
/*
 * The listening sockets the supervisor holds ([socket:NAME]), owned by
 * the tree: bound at load, kept across every restart of the services
 * that receive them, and diffed by address at a reload (sockets.c).
 * Services hold copies of the fd numbers (fdpass.c), never the sockets.
 */
#ifndef RV_SOCKETS_H
#define RV_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include "child/listen.h"
#include "config/config.h"

struct rv_socket {
	const struct rv_socket_spec *spec;	/* in the set's config */
	struct rv_listen_fd l;
	bool kept;		/* reload: the old set's fd, carried over */
	bool taken;		/* old set: carried over into a new one */
};

/* Parallel to rv_specs.sockets: v[i] is sockets[i]'s. */
struct rv_socket_set {
	struct rv_socket *v;
	size_t n;
};

/*
 * The sockets sp asks for, into *out: the fd of old's socket with the
 * same address where there is one (backlog, owner and mode updated), a
 * new bound socket otherwise.  A failure is a config error said at the
 * section's listen line through d, and nothing is left bound: -EINVAL
 * (or -ENOMEM).  old may be NULL (the load).
 */
int rv_sockets_open(const struct rv_specs *sp, struct rv_socket_set *old,
		    struct rv_socket_set *out, struct rv_diag *d);
/* A planned set is applied: old's sockets that were not carried over
 * are closed, and *old becomes *planned.  Before old's config is let
 * go (unix socket paths are read from it). */
void rv_sockets_commit(struct rv_socket_set *old,
		       struct rv_socket_set *planned);
/* A planned set is dropped (the reload failed): only what it bound is
 * closed; old is as it was. */
void rv_sockets_abort(struct rv_socket_set *old,
		      struct rv_socket_set *planned);
/* Every socket closed (the supervisor ends). */
void rv_sockets_close(struct rv_socket_set *set);

#endif
