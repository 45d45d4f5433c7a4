/* SPDX-License-Identifier: MIT */
/*
 * A socket's identity is its address: a reload that keeps an address
 * keeps the socket itself (same fd, same inode, its backlog of pending
 * connections intact), whatever else changed in its section or its name.
 * Only the sockets a reload adds are bound, in the plan, so a bind error
 * refuses the reload before anything changes; the ones it drops are
 * closed when it is applied.  The services that receive a changed list
 * restart through their jobs (their fingerprint includes their sockets,
 * config/socket.c), and until then keep the fds they were started with
 * (closing ours does not close their copies).
 */
#include "tree/sockets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static struct rv_socket *find_kept(struct rv_socket_set *old,
				   const struct rv_socket_spec *k)
{
	for (size_t i = 0; old && i < old->n; i++)
		if (!old->v[i].taken && rv_socket_same_addr(old->v[i].spec, k))
			return &old->v[i];
	return NULL;
}

static void close_one(struct rv_socket *s)
{
	if (s->l.fd < 0)
		return;
	rv_log_sup(RV_LOG_INFO, "main", "socket_closed", " socket=%s fd=%d",
		   s->spec->name, s->l.fd);
	rv_listen_close(s->spec, &s->l);
	s->l.fd = -1;
}

int rv_sockets_open(const struct rv_specs *sp, struct rv_socket_set *old,
		    struct rv_socket_set *out, struct rv_diag *d)
{
	struct rv_socket_set set = { 0 };
	const char *step = NULL;
	int ret = 0;

	out->v = NULL;
	out->n = 0;
	if (!sp->n_sockets)
		return 0;
	set.v = calloc(sp->n_sockets, sizeof(*set.v));
	if (!set.v)
		return -ENOMEM;
	for (size_t i = 0; i < sp->n_sockets; i++) {
		const struct rv_socket_spec *k = &sp->sockets[i];
		struct rv_socket *s = &set.v[set.n++], *o = find_kept(old, k);

		s->spec = k;
		s->l.fd = -1;
		if (o) {
			ret = rv_listen_update(k, o->l.fd, &step);
			if (!ret) {
				s->l = o->l;
				s->kept = true;
				o->taken = true;
			}
		} else {
			ret = rv_listen_open(k, &s->l, &step);
		}
		if (ret) {
			rv_diag_error(d, k->file, k->lines.listen,
				      "listen: cannot bind %s for [socket:%s] (%s): %s",
				      k->listen, k->name, step, strerror(-ret));
			ret = -EINVAL;
			break;
		}
	}
	if (ret) {
		rv_sockets_abort(old, &set);
		return ret;
	}
	*out = set;
	return 0;
}

void rv_sockets_commit(struct rv_socket_set *old,
		       struct rv_socket_set *planned)
{
	for (size_t i = 0; i < old->n; i++)
		if (!old->v[i].taken)
			close_one(&old->v[i]);
	for (size_t i = 0; i < planned->n; i++) {
		struct rv_socket *s = &planned->v[i];

		s->kept = false;
		rv_log_sup(RV_LOG_INFO, "main", "socket", " socket=%s fd=%d"
			   " listen=%s", s->spec->name, s->l.fd,
			   s->spec->listen);
	}
	free(old->v);
	*old = *planned;
	planned->v = NULL;
	planned->n = 0;
}

void rv_sockets_abort(struct rv_socket_set *old,
		      struct rv_socket_set *planned)
{
	for (size_t i = 0; old && i < old->n; i++)
		old->v[i].taken = false;
	for (size_t i = 0; i < planned->n; i++)
		if (!planned->v[i].kept && planned->v[i].l.fd >= 0)
			rv_listen_close(planned->v[i].spec, &planned->v[i].l);
	free(planned->v);
	planned->v = NULL;
	planned->n = 0;
}

void rv_sockets_close(struct rv_socket_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		close_one(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
