/* SPDX-License-Identifier: MIT */
/*
 * What control requests do.  Each reply is one JSON object and a newline,
 * malloc'd, {"ok": true, ...} or {"ok": false, "error": "..."}.
 */
#ifndef RV_COMMANDS_H
#define RV_COMMANDS_H

#include <stdbool.h>

#include "control/request.h"

struct rv_supervisor;

struct rv_waiter;
/* A follower's first reply (`logs -f` history included) stays below this:
 * control.c gives a follower's buffer 256 KiB. */
#define RV_FOLLOW_REPLY_MAX (128 * 1024)

/* 0 with *reply set (the caller frees), or -ENOMEM.  *follow: the
 * connection now receives the event stream.  *wait (with *reply NULL):
 * the request waits (waiters.h); the caller binds where its reply goes. */
int rv_commands_handle(struct rv_supervisor *sv, const struct rv_request *req,
		       char **reply, bool *follow, struct rv_waiter **wait);
/* The reply line of a JSON document (consumed): compact JSON and a
 * newline, malloc'd; NULL on allocation failure. */
struct json_t;
char *rv_commands_line(struct json_t *j);
/* {"ok":false,"error":msg}\n, malloc'd; NULL on allocation failure. */
char *rv_commands_error(const char *msg);

/* Why `reexec` cannot start now ("reexec: a rolling restart is in
 * progress"), or NULL. */
const char *rv_commands_reexec_refusal(const struct rv_supervisor *sv);

/* metrics.c: the Prometheus text exposition; malloc'd or NULL. */
char *rv_metrics_text(struct rv_supervisor *sv);

#endif
