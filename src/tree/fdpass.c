/* SPDX-License-Identifier: MIT */
#include "tree/fdpass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/parse.h"
#include "tree/build.h"
#include "tree/sockets.h"
#include "tree/supervisor.h"
#include "util/log.h"

struct stored_fd {
	int fd;
	char name[RV_FDNAME_MAX + 1];
};

struct rv_fdpass {
	int *sock_fds;			/* n_sockets, the tree's numbers */
	uint32_t n_sockets;
	uint32_t store_max, n_stored;
	struct stored_fd *stored;	/* store_max */
	/* inside s->env_own (which owns them), sized for the largest */
	char *var_fds;			/* "LISTEN_FDS=" */
	char *var_pid;			/* "LISTEN_PID=" */
	char *var_names;		/* "LISTEN_FDNAMES=" */
	size_t names_fixed;		/* its length with the sockets only */
};

#define VAR_FDS "LISTEN_FDS="
#define VAR_PID "LISTEN_PID="
#define VAR_NAMES "LISTEN_FDNAMES="
#define PID_ROOM 12			/* digits of a pid_t, NUL */

bool rv_fdpass_wanted(const struct rv_service *s)
{
	return s->spec->n_sockets || s->spec->ready->fd_store_max;
}

/* The entry of env starting with var, grown to size bytes: s->env_own
 * owns it, we keep a pointer to write into. */
static char *own_var(char **env, const char *var, size_t size)
{
	for (; env && *env; env++) {
		char *grown;

		if (strncmp(*env, var, strlen(var)))
			continue;
		grown = realloc(*env, size);
		if (grown)
			*env = grown;
		return grown;
	}
	return NULL;
}

int rv_fdpass_build(struct rv_build *b, struct rv_service *s)
{
	const struct rv_service_spec *sp = s->spec;
	struct rv_fdpass *fp = calloc(1, sizeof(*fp));
	size_t names = strlen(VAR_NAMES) + 1;
	char **extra = calloc(4, sizeof(*extra));
	int ret;

	s->fdpass = fp;
	if (!fp || !extra)
		goto err_enomem;
	fp->n_sockets = sp->n_sockets;
	fp->store_max = sp->ready->fd_store_max;
	fp->sock_fds = calloc(sp->n_sockets + 1, sizeof(*fp->sock_fds));
	fp->stored = calloc(fp->store_max + 1, sizeof(*fp->stored));
	if (!fp->sock_fds || !fp->stored)
		goto err_enomem;
	for (uint32_t i = 0; i < sp->n_sockets; i++) {
		const struct rv_socket *k = &b->sockets->v[sp->sockets[i]];

		fp->sock_fds[i] = k->l.fd;
		names += strlen(k->spec->name) + 1;
	}
	names += (size_t)fp->store_max * (RV_FDNAME_MAX + 1);
	extra[0] = strdup(VAR_FDS "0");
	extra[1] = strdup(VAR_PID);
	extra[2] = strdup(VAR_NAMES);
	if (!extra[0] || !extra[1] || !extra[2]) {
		rv_argv_free(extra);
		goto err_enomem;
	}
	ret = rv_service_env_add(s, extra);
	if (ret)
		return ret;
	fp->var_fds = own_var(s->env_own, VAR_FDS, sizeof(VAR_FDS) + 12);
	fp->var_pid = own_var(s->env_own, VAR_PID, sizeof(VAR_PID) + PID_ROOM);
	fp->var_names = own_var(s->env_own, VAR_NAMES, names);
	if (!fp->var_fds || !fp->var_pid || !fp->var_names)
		return -ENOMEM;
	/* the socket names never change for this build */
	fp->names_fixed = strlen(VAR_NAMES);
	for (uint32_t i = 0; i < sp->n_sockets; i++) {
		const char *n = b->sockets->v[sp->sockets[i]].spec->name;

		fp->names_fixed += (size_t)sprintf(fp->var_names +
						   fp->names_fixed, "%s%s",
						   i ? ":" : "", n);
	}
	return 0;

err_enomem:
	free(extra);
	return -ENOMEM;
}

void rv_fdstore_release(struct rv_service *s)
{
	struct rv_fdpass *fp = s->fdpass;

	if (!fp || !fp->n_stored)
		return;
	rv_log_svc(RV_LOG_INFO, s->name, "fd_store_released", " fds=%u",
		   fp->n_stored);
	for (uint32_t i = 0; i < fp->n_stored; i++)
		close(fp->stored[i].fd);
	fp->n_stored = 0;
}

void rv_fdpass_free(struct rv_service *s)
{
	struct rv_fdpass *fp = s->fdpass;

	if (!fp)
		return;
	rv_fdstore_release(s);
	free(fp->sock_fds);
	free(fp->stored);
	free(fp);
	s->fdpass = NULL;
}

void rv_fdpass_move_store(struct rv_service *to, struct rv_service *from)
{
	struct rv_fdpass *t = to->fdpass, *f = from->fdpass;
	uint32_t i = 0;

	if (!f)
		return;
	for (; t && i < f->n_stored && t->n_stored < t->store_max; i++)
		t->stored[t->n_stored++] = f->stored[i];
	for (; i < f->n_stored; i++)
		close(f->stored[i].fd);
	f->n_stored = 0;
}

void rv_fdpass_before_spawn(struct rv_service *s, struct rv_spawn_fd *fds,
			    size_t *n, char **pid_slot)
{
	struct rv_fdpass *fp = s->fdpass;
	size_t len;
	int to = 3;

	*pid_slot = NULL;
	if (!fp)
		return;
	for (uint32_t i = 0; i < fp->n_sockets; i++)
		fds[(*n)++] = (struct rv_spawn_fd){ fp->sock_fds[i], to++ };
	len = fp->names_fixed;
	for (uint32_t i = 0; i < fp->n_stored; i++) {
		fds[(*n)++] = (struct rv_spawn_fd){ fp->stored[i].fd, to++ };
		len += (size_t)sprintf(fp->var_names + len, "%s%s",
				       len > strlen(VAR_NAMES) ? ":" : "",
				       fp->stored[i].name);
	}
	fp->var_names[len] = '\0';
	sprintf(fp->var_fds + strlen(VAR_FDS), "%d", to - 3);
	*pid_slot = fp->var_pid + strlen(VAR_PID);
}

/* systemd's fdname_is_valid(): printable ASCII but ':', at most 255. */
bool rv_fdname_valid(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++)
		if (name[n] < ' ' || name[n] > '~' || name[n] == ':')
			return false;
	return n > 0 && n <= RV_FDNAME_MAX;
}

void rv_fdstore_add(struct rv_service *s, int *fds, size_t n,
		    const char *name)
{
	struct rv_fdpass *fp = s->fdpass;
	uint32_t kept = 0;

	if (!name)
		name = "stored";
	if (!rv_fdname_valid(name)) {
		rv_log_svc(RV_LOG_WARN, s->name, "fd_store_refused",
			   " reason=invalid_fdname fds=%zu", n);
		return;
	}
	for (size_t i = 0; fp && i < n; i++) {
		struct stored_fd *st;

		if (fds[i] < 0 || fp->n_stored >= fp->store_max)
			continue;
		st = &fp->stored[fp->n_stored++];
		st->fd = fds[i];
		snprintf(st->name, sizeof(st->name), "%s", name);
		fds[i] = -1;
		kept++;
	}
	if (kept < n)
		rv_log_svc(RV_LOG_WARN, s->name, "fd_store_full",
			   " closed=%zu max=%u", n - kept,
			   fp ? fp->store_max : 0);
	if (kept)
		rv_log_svc(RV_LOG_INFO, s->name, "fd_stored",
			   " name=%s fds=%u stored=%u", name, kept,
			   fp->n_stored);
}

void rv_fdstore_remove(struct rv_service *s, const char *name)
{
	struct rv_fdpass *fp = s->fdpass;
	uint32_t w = 0, removed = 0;

	if (!fp || !name)
		return;
	for (uint32_t i = 0; i < fp->n_stored; i++) {
		if (!strcmp(fp->stored[i].name, name)) {
			close(fp->stored[i].fd);
			removed++;
			continue;
		}
		fp->stored[w++] = fp->stored[i];
	}
	fp->n_stored = w;
	rv_log_svc(RV_LOG_INFO, s->name, "fd_store_removed",
		   " name=%s fds=%u", name, removed);
}

size_t rv_fdstore_count(const struct rv_service *s)
{
	return s->fdpass ? s->fdpass->n_stored : 0;
}

size_t rv_fdstore_max(const struct rv_service *s)
{
	return s->fdpass ? s->fdpass->store_max : 0;
}

int rv_fdstore_at(const struct rv_service *s, size_t i, const char **name)
{
	*name = s->fdpass->stored[i].name;
	return s->fdpass->stored[i].fd;
}

int rv_fdstore_restore(struct rv_service *s, int fd, const char *name)
{
	struct rv_fdpass *fp = s->fdpass;
	struct stored_fd *st;

	if (!rv_fdname_valid(name))
		return -EINVAL;
	if (!fp || fp->n_stored >= fp->store_max)
		return -ENOSPC;
	st = &fp->stored[fp->n_stored++];
	st->fd = fd;
	snprintf(st->name, sizeof(st->name), "%s", name);
	return 0;
}
