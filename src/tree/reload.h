/* SPDX-License-Identifier: MIT */
/*
 * `reload` and SIGHUP: re-read the config and apply the difference.
 */
#ifndef RV_RELOAD_H
#define RV_RELOAD_H

#include <stdint.h>

struct rv_supervisor;

/* Starts a reload; returns the reply line for the requester (malloc'd,
 * NULL on allocation failure). */
char *rv_reload_request(struct rv_supervisor *sv, int64_t now);
/* A service went down: a pending reload may be able to proceed. */
void rv_reload_service_down(struct rv_supervisor *sv, int64_t now);
void rv_reload_free(struct rv_supervisor *sv);

#endif
