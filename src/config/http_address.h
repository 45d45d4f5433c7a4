/* SPDX-License-Identifier: MIT */
/*
 * `http_listen` addresses: 127.0.0.1:9100, [::1]:9100, unix:/run/x.sock or
 * /run/x.sock.  Literal addresses only: the config is validated without
 * asking a resolver, and a name that resolves differently tomorrow would
 * make the same config listen somewhere else.
 */
#ifndef RV_HTTP_ADDRESS_H
#define RV_HTTP_ADDRESS_H

#include <stddef.h>
#include <sys/socket.h>

struct rv_listen_addr {
	struct sockaddr_storage sa;	/* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t len;
};

/*
 * Parses v into *out.  0, or -EINVAL with a one-line reason (without the
 * value itself) in why.
 */
int rv_listen_parse(const char *v, struct rv_listen_addr *out, char *why,
		    size_t whylen);

#endif
