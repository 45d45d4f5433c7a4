// SPDX-License-Identifier: MIT
#include "config/http_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static int fail(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -EINVAL;
}

static int parse_unix(const char *path, struct rv_listen_addr *out,
		      char *why, size_t whylen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&out->sa;

	if (*path != '/')
		return fail(why, whylen, "a unix socket needs an absolute "
			    "path (unix:/run/ringvisor/http.sock)");
	if (strlen(path) >= sizeof(un->sun_path))
		return fail(why, whylen, "path is too long for a unix socket "
			    "(max 107 bytes)");
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	out->len = sizeof(*un);
	return 0;
}

/* "9100" -> 9100; 1..65535, digits only */
static int parse_port(const char *p, unsigned short *port)
{
	char *end;
	unsigned long n;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(p, &end, 10);
	if (errno || *end || n == 0 || n > 65535)
		return -EINVAL;
	*port = (unsigned short)n;
	return 0;
}

int rv_listen_parse(const char *v, struct rv_listen_addr *out, char *why,
		    size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned short port;
	bool v6 = *v == '[';
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (!strncmp(v, "unix:", 5))
		return parse_unix(v + 5, out, why, whylen);
	if (*v == '/')
		return parse_unix(v, out, why, whylen);
	if (v6) {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':')
			return fail(why, whylen, "an IPv6 address needs "
				    "brackets and a port ([::1]:9100)");
		colon = close + 1;
		v++;
		hlen = (size_t)(close - v);
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return fail(why, whylen, "expected ADDRESS:PORT "
				    "(127.0.0.1:9100, [::1]:9100) or "
				    "unix:/PATH");
		hlen = (size_t)(colon - v);
	}
	if (parse_port(colon + 1, &port))
		return fail(why, whylen, "the port must be a number from 1 "
			    "to 65535");
	if (hlen >= sizeof(host))
		return fail(why, whylen, "not an IP address (names are not "
			    "resolved: use 127.0.0.1, 0.0.0.0, [::1] or [::])");
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->sa;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return fail(why, whylen, "not an IPv6 address");
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->sa;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return fail(why, whylen, "not an IP address (names are "
				    "not resolved: use 127.0.0.1, 0.0.0.0, "
				    "[::1] or [::])");
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		out->len = sizeof(*in);
	}
	return 0;
}
