/* SPDX-License-Identifier: MIT */
#include "tree/service_exit.h"

#include <signal.h>

#include "config/parse.h"

bool rv_exit_is_success(const struct rv_service_spec *sp,
			const struct rv_exit_info *e)
{
	if (e->failed_start || e->timeout || e->watchdog || e->health)
		return false;
	if (e->signal) {
		if (e->signal < 64 && (sp->success.signals >> e->signal) & 1)
			return true;
		return e->signal == SIGTERM || e->signal == SIGINT ||
		       e->signal == SIGHUP || e->signal == SIGPIPE;
	}
	if (e->code == 0)
		return true;
	return (sp->success.codes[e->code / 64] >> (e->code % 64)) & 1;
}

/* on-abnormal: signals that are not clean stops (timeouts and watchdog
 * lapses come with readiness). */
static bool exit_is_abnormal(const struct rv_service_spec *sp,
			     const struct rv_exit_info *e)
{
	if (e->timeout || e->watchdog || e->health)
		return true;
	return e->signal && !rv_exit_is_success(sp, e);
}

bool rv_exit_wants_restart(const struct rv_service_spec *sp,
			   const struct rv_exit_info *e, bool success)
{
	if (sp->type == RV_TYPE_ONESHOT && success)
		return false;	/* done: `completed` */
	switch (sp->restart) {
	case RV_RESTART_ALWAYS:
		return true;
	case RV_RESTART_ON_FAILURE:
		return !success;
	case RV_RESTART_ON_ABNORMAL:
		return exit_is_abnormal(sp, e);
	case RV_RESTART_NEVER:
	default:
		return false;
	}
}

enum rv_exit_reason rv_exit_reason_of(const struct rv_exit_info *e,
				      bool success)
{
	if (e->watchdog)
		return RV_END_WATCHDOG;
	if (e->health)
		return RV_END_HEALTH;
	if (e->timeout)
		return RV_END_TIMEOUT;
	if (e->failed_start)
		return RV_END_FAILED_START;
	if (success)
		return RV_END_SUCCESS;
	return e->signal ? RV_END_SIGNAL : RV_END_EXIT_CODE;
}

void rv_service_log_exit(const struct rv_log_mark *mark, const char *name,
			 pid_t pid, const struct rv_exit_info *e, bool success,
			 bool quiet, int64_t runtime_ns)
{
	enum rv_log_level lvl = success || quiet ? RV_LOG_INFO : RV_LOG_WARN;
	char run[32];

	rv_format_fixed3(runtime_ns, 1000000000, run, sizeof(run));
	if (e->signal)
		rv_log_at(mark, lvl, "service", name, "exit",
			  " pid=%d signal=%s core_dumped=%s runtime_s=%s",
			  (int)pid, rv_signal_name(e->signal),
			  e->core_dumped ? "true" : "false", run);
	else
		rv_log_at(mark, lvl, "service", name, "exit",
			  " pid=%d code=%d runtime_s=%s%s", (int)pid,
			  e->code, run,
			  e->failed_start ? " failed_start=true" : "");
}
