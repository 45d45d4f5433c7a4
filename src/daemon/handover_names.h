/* SPDX-License-Identifier: MIT */
/*
 * The names the hand-over state gives the tree's enumerations, shared by
 * its two encodings (handover_json.c, handover_bin.c): a state says
 * "backoff", never 3, so a binary may reorder its enums without a format
 * change.
 */
#ifndef RV_HANDOVER_NAMES_H
#define RV_HANDOVER_NAMES_H

#include <stddef.h>

/* The name of value v of one enumeration (v within its range). */
typedef const char *rv_ho_name_fn(int v);

rv_ho_name_fn rv_ho_svc_state_name, rv_ho_node_state_name, rv_ho_job_name,
	rv_ho_sup_state_name, rv_ho_abort_name, rv_ho_op_name,
	rv_ho_log_stream_name;

/* How many values each has. */
enum {
	RV_HO_NABORTS = 4,
	RV_HO_NOPS = 4,
	RV_HO_NLOG_STREAMS = 2,
};

/* The value named s (len bytes) among the n of name, or -1. */
int rv_ho_name_value(rv_ho_name_fn *name, int n, const char *s, size_t len);

#endif
