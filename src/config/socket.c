/* SPDX-License-Identifier: MIT */
/*
 * [socket:NAME] sections as data: the `listen` address parsed once, here,
 * so that the config check, the bind (child/listen.c) and a reload's
 * "same socket?" question (tree/sockets.c) all read the same struct.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config/config.h"
#include "config/parse.h"
#include "config/spec.h"

void rv_socket_spec_init(struct rv_socket_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->backlog = RV_SOCKET_BACKLOG_DEFAULT;
	s->socket_mode = -1;
}

void rv_socket_spec_free(struct rv_socket_spec *s)
{
	free(s->name);
	free(s->listen);
	rv_argv_free(s->services);
	free(s->socket_user);
	free(s->socket_group);
	memset(s, 0, sizeof(*s));
}

/* "PORT" after the colon: 1..65535, decimal. */
static int parse_port(const char *p, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	v = strtoul(p, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6), as family allows. */
static int parse_inet(struct rv_socket_spec *s, const char *v, bool v6,
		      char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = v;
	size_t len;
	uint16_t port;

	if (v6 || *v == '[') {
		const char *close = strchr(v, ']');

		if (*v != '[' || !close || close[1] != ':') {
			snprintf(why, whylen,
				 "an IPv6 address is written [ADDR]:PORT");
			return -EINVAL;
		}
		h = v + 1;
		len = (size_t)(close - h);
		colon = close + 1;
		v6 = true;
	} else {
		colon = strrchr(v, ':');
		if (!colon) {
			snprintf(why, whylen, "missing :PORT");
			return -EINVAL;
		}
		len = (size_t)(colon - v);
	}
	if (parse_port(colon + 1, &port)) {
		snprintf(why, whylen, "invalid port (1-65535)");
		return -EINVAL;
	}
	if (len >= sizeof(host)) {
		snprintf(why, whylen, "invalid address");
		return -EINVAL;
	}
	memcpy(host, h, len);
	host[len] = '\0';
	memset(&s->addr, 0, sizeof(s->addr));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			snprintf(why, whylen, "invalid IPv6 address");
			return -EINVAL;
		}
		s->family = AF_INET6;
		s->addrlen = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)&s->addr;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
		snprintf(why, whylen, "invalid IPv4 address");
		return -EINVAL;
	}
	s->family = AF_INET;
	s->addrlen = sizeof(*a);
	return 0;
}

/* "unix:/path" or "unix:@abstract" */
static int parse_unix(struct rv_socket_spec *s, const char *path, char *why,
		      size_t whylen)
{
	struct sockaddr_un *a = (struct sockaddr_un *)&s->addr;
	size_t n = strlen(path);

	if (n < 2 || (path[0] != '/' && path[0] != '@')) {
		snprintf(why, whylen,
			 "a unix socket is unix:/absolute/path or unix:@abstract");
		return -EINVAL;
	}
	if (n >= sizeof(a->sun_path)) {
		snprintf(why, whylen, "path too long (max %zu bytes)",
			 sizeof(a->sun_path) - 1);
		return -EINVAL;
	}
	memset(&s->addr, 0, sizeof(s->addr));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, n);
	if (path[0] == '@')	/* abstract: a leading NUL, no final one */
		a->sun_path[0] = '\0';
	s->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				 (path[0] == '/'));
	s->family = AF_UNIX;
	return 0;
}

int rv_socket_parse_listen(struct rv_socket_spec *s, const char *v,
			   char *why, size_t whylen)
{
	s->type = SOCK_STREAM;
	if (!strncmp(v, "tcp://", 6))
		return parse_inet(s, v + 6, false, why, whylen);
	if (!strncmp(v, "tcp6://", 7))
		return parse_inet(s, v + 7, true, why, whylen);
	if (!strncmp(v, "unix:", 5))
		return parse_unix(s, v + 5, why, whylen);
	if (!strncmp(v, "udp://", 6)) {
		s->type = SOCK_DGRAM;
		return parse_inet(s, v + 6, false, why, whylen);
	}
	snprintf(why, whylen,
		 "use tcp://ADDR:PORT, tcp6://[ADDR]:PORT, udp://ADDR:PORT or unix:PATH");
	return -EINVAL;
}

bool rv_socket_same_addr(const struct rv_socket_spec *a,
			 const struct rv_socket_spec *b)
{
	return a->family == b->family && a->type == b->type &&
	       a->addrlen == b->addrlen &&
	       !memcmp(&a->addr, &b->addr, a->addrlen);
}

/* ---- cross-checks (rv_specs_validate) ---- */

/* Per service: with stdio, ready_fd and the fd store, what spawn.c's
 * RV_SPAWN_FDS_MAX leaves room for. */
#define RV_SOCKETS_PER_SERVICE_MAX 64

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static ssize_t find_service(const struct rv_specs *s, const char *name)
{
	for (size_t i = 0; i < s->n_services; i++)
		if (!strcmp(s->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Gives the service socket k as its next fd; its fingerprint changes
 * with the socket's name, address and position, so a reload restarts a
 * service whose sockets changed. */
static int give(struct rv_service_spec *v, const struct rv_socket_spec *k,
		uint32_t k_idx)
{
	uint32_t *grown = realloc(v->sockets,
				  (v->n_sockets + 1) * sizeof(*grown));
	char pos[16];
	uint64_t h = 1469598103934665603ULL;

	if (!grown)
		return -ENOMEM;
	v->sockets = grown;
	snprintf(pos, sizeof(pos), "%u", v->n_sockets);
	h = fnv(fnv(fnv(h, k->name), k->listen), pos);
	v->sockets[v->n_sockets++] = k_idx;
	v->fingerprint += h;
	return 0;
}

static void check_one(const struct rv_specs *s, size_t i, struct rv_diag *d)
{
	const struct rv_socket_spec *k = &s->sockets[i];

	if (!rv_is_valid_name(k->name))
		rv_diag_error(d, k->file, k->line,
			      "invalid socket name \"%.60s\"", k->name);
	for (size_t j = 0; j < i; j++) {
		const struct rv_socket_spec *o = &s->sockets[j];

		if (!strcmp(o->name, k->name))
			rv_diag_error(d, k->file, k->line,
				      "duplicate section [socket:%s] (first at line %d)",
				      k->name, o->line);
		else if (k->listen && o->listen && rv_socket_same_addr(o, k))
			rv_diag_error(d, k->file, k->lines.listen,
				      "listen: %s is already [socket:%s]'s (line %d)",
				      k->listen, o->name, o->lines.listen);
	}
	if (!k->listen && !k->lines.listen)
		rv_diag_error(d, k->file, k->line,
			      "missing required key \"listen\" in [socket:%s]",
			      k->name);
	if (!k->n_services)
		rv_diag_error(d, k->file, k->line,
			      "missing required key \"service\" in [socket:%s]",
			      k->name);
	if (k->listen && (k->family != AF_UNIX ||
			  ((struct sockaddr_un *)&k->addr)->sun_path[0] == 0)) {
		int line = k->lines.socket_user ? k->lines.socket_user :
			   k->lines.socket_group ? k->lines.socket_group :
			   k->lines.socket_mode;

		if (line)
			rv_diag_error(d, k->file, line,
				      "socket_user, socket_group and socket_mode apply to a unix socket with a path only");
	}
}

int rv_sockets_validate(struct rv_specs *s, struct rv_diag *d)
{
	for (size_t i = 0; i < s->n_sockets; i++) {
		const struct rv_socket_spec *k = &s->sockets[i];

		check_one(s, i, d);
		/* without an address it has been reported: nothing to give */
		for (size_t j = 0; k->listen && j < k->n_services; j++) {
			ssize_t v = find_service(s, k->services[j]);
			bool twice = false;

			for (size_t l = 0; l < j; l++)
				twice |= !strcmp(k->services[l],
						 k->services[j]);
			if (v < 0 || twice) {
				rv_diag_error(d, k->file, k->lines.service,
					      twice ? "service: \"%s\" named twice" :
					      "service: no [service:%s] section",
					      k->services[j]);
				continue;
			}
			if (s->services[v].n_sockets >=
			    RV_SOCKETS_PER_SERVICE_MAX) {
				rv_diag_error(d, k->file, k->lines.service,
					      "service: [service:%s] receives more than %d sockets",
					      k->services[j],
					      RV_SOCKETS_PER_SERVICE_MAX);
				continue;
			}
			if (give(&s->services[v], k, (uint32_t)i))
				return -ENOMEM;
		}
	}
	for (size_t i = 0; i < s->n_services; i++) {
		const struct rv_service_spec *v = &s->services[i];
		const struct rv_ready_spec *r = v->ready;
		long top = 3L + v->n_sockets + r->fd_store_max;

		if (r->fd_store_max && v->type != RV_TYPE_NOTIFY)
			rv_diag_error(d, v->file, r->lines.fd_store_max,
				      "fd_store_max: needs type = notify (fds come with FDSTORE=1 on NOTIFY_SOCKET)");
		if (r->ready_fd >= 0 && r->ready_fd < top &&
		    (v->n_sockets || r->fd_store_max))
			rv_diag_error(d, v->file, r->lines.ready_fd,
				      "ready_fd: %d is among the passed fds 3..%ld (sockets, then the fd store): use %ld or more",
				      r->ready_fd, top - 1, top);
	}
	return 0;
}
