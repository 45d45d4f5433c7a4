/* SPDX-License-Identifier: MIT */
/* A hand-over's clock stamps (handover_phases.h). */
#include "daemon/handover_phases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rv_handover_stamps_env(const int64_t st[RV_ST_N], char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s=", RV_HANDOVER_STAMPS_ENV);

	for (int i = 0; i < RV_ST_CROSS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64,
				      i ? "," : "", st[i]);
}

void rv_handover_stamps_parse(const char *value, int64_t st[RV_ST_N])
{
	const char *p = value;
	char *end;

	for (int i = 0; p && i < RV_ST_CROSS; i++) {
		long long v = strtoll(p, &end, 10);

		if (end == p || (*end != ',' && *end != '\0')) {
			memset(st, 0, RV_ST_CROSS * sizeof(*st));
			return;
		}
		st[i] = v;
		p = *end ? end + 1 : NULL;
	}
}

static double ms(const int64_t st[RV_ST_N], int from, int to)
{
	return st[from] && st[to] ? (double)(st[to] - st[from]) / 1e6 : -1;
}

void rv_handover_phases_format(const int64_t st[RV_ST_N], char *buf,
			       size_t len)
{
	/* each phase: from the stamp before to its own */
	static const struct { const char *name; int from, to; } ph[] = {
		{ "quiesce_ms", RV_ST_BEGIN, RV_ST_QUIESCED },
		{ "flush_ms", RV_ST_QUIESCED, RV_ST_FLUSHED },
		{ "take_ms", RV_ST_FLUSHED, RV_ST_TAKEN },
		{ "write_ms", RV_ST_TAKEN, RV_ST_WRITTEN },
		{ "prepare_ms", RV_ST_WRITTEN, RV_ST_EXEC },
		{ "exec_ms", RV_ST_EXEC, RV_ST_MAIN },
		{ "read_ms", RV_ST_MAIN, RV_ST_READ },
		{ "load_ms", RV_ST_READ, RV_ST_LOADED },
		{ "apply_ms", RV_ST_LOADED, RV_ST_APPLIED },
		{ "arm_ms", RV_ST_APPLIED, RV_ST_ARMED },
		{ "check_ms", RV_ST_CHECK_BEGIN, RV_ST_CHECKED },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(ph) / sizeof(*ph) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " %s=%.1f",
				      ph[i].name, ms(st, ph[i].from, ph[i].to));
}
