/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor logs`: the lines the services' logrings kept (child/logring.h)
 * as JSON, and the live lines for `logs -f` followers.  Each line is
 *   {"time": "2026-12-05T03:40:00.123456Z", "service": "web@0",
 *    "stream": "stdout", "text": "..."}
 * Bytes that are not UTF-8 are replaced by U+FFFD.
 */
#ifndef RV_LOGS_H
#define RV_LOGS_H

#include <stdbool.h>
#include <stddef.h>

struct rv_service;
struct rv_control;

/*
 * The reply to {"cmd":"logs"} for the instances v[0..n): the last `lines`
 * lines of all of them (0: every line kept), merged by time, oldest
 * first, as {"ok":true,"lines":[...],"not_kept":[names]} (not_kept: the
 * instances whose output is not kept).  follow: the reply stays below
 * max_bytes (oldest lines left out), as a follower's first reply must.
 * malloc'd; NULL when out of memory.
 */
char *rv_logs_reply(struct rv_service *const *v, size_t n, size_t lines,
		    bool follow, size_t max_bytes);

/*
 * Lines go to ctl's `logs -f` followers while on; off again when the last
 * one is gone, so nobody following costs nothing (control.c).
 */
void rv_logs_listen(struct rv_control *ctl, bool on);

#endif
