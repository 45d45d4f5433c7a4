/* SPDX-License-Identifier: MIT */
/* The enumerations' names in the hand-over state (handover_names.h). */
#include "daemon/handover_names.h"

#include <string.h>

#include "child/logring.h"
#include "tree/supervisor.h"

_Static_assert(RV_HO_NABORTS == RV_ABORT_HEALTH + 1, "enum rv_abort");
_Static_assert(RV_HO_NOPS == RV_OP_FAIL + 1, "enum rv_node_op");

const char *rv_ho_svc_state_name(int v)
{
	return rv_svc_state_name((enum rv_svc_state)v);
}

const char *rv_ho_node_state_name(int v)
{
	return rv_node_state_name((enum rv_node_state)v);
}

const char *rv_ho_job_name(int v)
{
	return rv_job_name((enum rv_job_type)v);
}

const char *rv_ho_sup_state_name(int v)
{
	return rv_sup_state_name((enum rv_sup_state)v);
}

const char *rv_ho_abort_name(int v)
{
	static const char *const names[] = {
		[RV_ABORT_NONE] = "none", [RV_ABORT_TIMEOUT] = "timeout",
		[RV_ABORT_WATCHDOG] = "watchdog", [RV_ABORT_HEALTH] = "health",
	};

	return names[v];
}

const char *rv_ho_op_name(int v)
{
	static const char *const names[] = {
		[RV_OP_NONE] = "none", [RV_OP_RESTART] = "restart",
		[RV_OP_STOP] = "stop", [RV_OP_FAIL] = "fail",
	};

	return names[v];
}

const char *rv_ho_log_stream_name(int v)
{
	return v == RV_LOG_STDERR ? "stderr" : "stdout";
}

int rv_ho_name_value(rv_ho_name_fn *name, int n, const char *s, size_t len)
{
	for (int i = 0; i < n; i++) {
		const char *v = name(i);

		if (strlen(v) == len && !memcmp(v, s, len))
			return i;
	}
	return -1;
}
