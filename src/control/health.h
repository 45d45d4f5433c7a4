/* SPDX-License-Identifier: MIT */
/*
 * The health verdict of GET /healthz, read off the tree: the same rule as
 * `ringvisor status --check` (the supervisor is alive and every critical
 * service is up; a oneshot is up once completed), or, for one name, that
 * member alone.
 */
#ifndef RV_HEALTH_H
#define RV_HEALTH_H

#include <stddef.h>

struct rv_supervisor;

/*
 * name NULL: the whole tree; else a service ("web" stands for all its
 * instances, "web@1" for one) or a [supervisor:NAME].  Returns the HTTP
 * status (200 healthy, 503 not, 404 no such name) and writes a short
 * line of text saying why into buf.
 */
int rv_health_check(struct rv_supervisor *sv, const char *name, char *buf,
		    size_t len);

#endif
