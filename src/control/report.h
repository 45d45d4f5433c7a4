/* SPDX-License-Identifier: MIT */
/*
 * The status document of the contract (`ringvisor status --json`) and the
 * exit report of `run --report FILE`: the same shape, read off the tree.
 */
#ifndef RV_REPORT_H
#define RV_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct rv_supervisor;
struct rv_service;
struct json_t;

/* json_t *, NULL on allocation failure; for all services or only some. */
struct json_t *rv_status_json(struct rv_supervisor *sv,
			      struct rv_service *const *only, size_t n_only);
/*
 * ns as seconds rounded to the millisecond, a JSON real (NULL when out of
 * memory).  Dumped with RV_JSON_REAL it prints as the plain number it is
 * (91.451, not 91.450999999999993): 15 significant digits hold every
 * millisecond count below 10^12 s exactly.
 */
struct json_t *rv_json_secs(int64_t ns);
#define RV_JSON_REAL JSON_REAL_PRECISION(15)

/* The exit report (the same document, final states).  0 or -errno. */
int rv_report_write(struct rv_supervisor *sv, const char *path);
/* Caller frees with free(); NULL on allocation failure. */
char *rv_report_dump(struct rv_supervisor *sv);

#endif
