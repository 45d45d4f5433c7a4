/* SPDX-License-Identifier: MIT */
/*
 * A hand-over state reader's first error, with where it was (shared by
 * handover_json.c and handover_bin.c): each check is one line and the
 * message still names the member and the field
 * ("hand-over state: services[3] (web): \"pid\": not an integer").
 */
#ifndef RV_HANDOVER_ERR_H
#define RV_HANDOVER_ERR_H

#include <stdbool.h>
#include <stddef.h>

struct rv_ho_err {
	char *err;		/* the caller's buffer */
	size_t errlen;
	char where[96];		/* "services[3] (web)", or "" */
	int ret;		/* the first error; later ones are dropped */
};

/* Keeps the line (-EINVAL) unless an error came first; false always. */
__attribute__((format(printf, 2, 3)))
bool rv_ho_fail(struct rv_ho_err *e, const char *fmt, ...);
/* -ENOMEM, unless an error came first. */
void rv_ho_nomem(struct rv_ho_err *e);

#endif
