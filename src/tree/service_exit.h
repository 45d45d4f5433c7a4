/* SPDX-License-Identifier: MIT */
/*
 * What a service's exit means, by the contract: success, whether the
 * restart policy wants another run, the metrics' reason, and the `exit`
 * log line.  Pure but for the line.
 */
#ifndef RV_SERVICE_EXIT_H
#define RV_SERVICE_EXIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tree/tree.h"
#include "util/log.h"

/* Success: exit 0, a clean stop signal, or listed in success_exit_status. */
bool rv_exit_is_success(const struct rv_service_spec *sp,
			const struct rv_exit_info *e);
/* The restart policy (and oneshot's `completed`). */
bool rv_exit_wants_restart(const struct rv_service_spec *sp,
			   const struct rv_exit_info *e, bool success);
enum rv_exit_reason rv_exit_reason_of(const struct rv_exit_info *e,
				      bool success);
/* The `exit` line, in the place and with the time of mark (log.h);
 * quiet: INFO even for a failure (exec passes the status on instead). */
void rv_service_log_exit(const struct rv_log_mark *mark, const char *name,
			 pid_t pid, const struct rv_exit_info *e, bool success,
			 bool quiet, int64_t runtime_ns);

#endif
