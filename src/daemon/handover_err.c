/* SPDX-License-Identifier: MIT */
/* A hand-over state reader's first error (handover_err.h). */
#include "daemon/handover_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

bool rv_ho_fail(struct rv_ho_err *e, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (e->ret)
		return false;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(e->err, e->errlen, "hand-over state: %s%s%s", e->where,
		 *e->where ? ": " : "", what);
	e->ret = -EINVAL;
	return false;
}

void rv_ho_nomem(struct rv_ho_err *e)
{
	if (e->ret)
		return;
	snprintf(e->err, e->errlen, "hand-over state: out of memory");
	e->ret = -ENOMEM;
}
