/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's own life cycle: starting -> alive -> shutting_down ->
 * completed | failed.  Shutdown and failure of the whole tree, the
 * shutdown timeout, and the exit status they end with.
 */
#include <signal.h>
#include <stdio.h>

#include "config/parse.h"
#include "tree/supervisor.h"
#include "util/log.h"

static const char *const sup_state_names[] = {
	[RV_SUP_STARTING] = "starting", [RV_SUP_ALIVE] = "alive",
	[RV_SUP_SHUTTING_DOWN] = "shutting_down",
	[RV_SUP_COMPLETED] = "completed", [RV_SUP_FAILED] = "failed",
};

const char *rv_sup_state_name(enum rv_sup_state s)
{
	return sup_state_names[s];
}

static void sup_set_state(struct rv_supervisor *sv, enum rv_sup_state to,
			  const char *reason)
{
	enum rv_sup_state from = sv->state;
	/* exec ending as its child did (not by a failure of its own, which
	 * sets `failing`): its status says so, as tini's does */
	bool quiet = sv->exec_mode && !sv->failing;
	char q[128];

	if (from == to)
		return;
	rv_log_sup(to == RV_SUP_FAILED && !quiet ? RV_LOG_ERROR : RV_LOG_INFO,
		   "main", "supervisor_state", " from=%s to=%s%s%s",
		   rv_sup_state_name(from), rv_sup_state_name(to),
		   reason ? " reason=" : "",
		   reason ? rv_log_quote(reason, q, sizeof(q)) : "");
	sv->state = to;
	if (sv->observer.supervisor_state)
		sv->observer.supervisor_state(sv->observer.ctx, sv, (int)from,
					      (int)to);
}

/*
 * Alive once every member that must start is up: no service keeps it
 * `starting` any more (member.c counts them: not up yet, not held down,
 * not ended for good), and the initial start has run.  Only ever once.
 */
void rv_supervisor_maybe_alive(struct rv_supervisor *sv)
{
	if (sv->state == RV_SUP_STARTING && sv->initial_start_done &&
	    sv->n_unsettled == 0)
		sup_set_state(sv, RV_SUP_ALIVE, NULL);
}

void rv_supervisor_finish(struct rv_supervisor *sv, bool failed, int code)
{
	if (sv->finished)
		return;
	sv->finished = true;
	sv->exit_code = code;
	sup_set_state(sv, failed ? RV_SUP_FAILED : RV_SUP_COMPLETED,
		      failed ? sv->fail_reason : NULL);
	rv_loop_stop(sv->loop);
}

int rv_supervisor_exec_status(const struct rv_supervisor *sv)
{
	const struct rv_service *s = sv->svcs[0];
	const struct rv_exit_info *e = &s->last_exit;

	if (!e->valid)
		return sv->failing ? RV_EXIT_FAILED : 0;
	if (e->signal)
		return 128 + e->signal;
	return e->code;
}

void rv_supervisor_top_down(struct rv_supervisor *sv, int64_t now)
{
	rv_loop_timer_cancel(sv->loop, &sv->shutdown_timer);
	if (sv->exec_mode)
		rv_supervisor_finish(sv, sv->failing, rv_supervisor_exec_status(sv));
	else
		rv_supervisor_finish(sv, sv->failing,
		       sv->failing ? RV_EXIT_FAILED : RV_EXIT_COMPLETED);
}

void rv_supervisor_top_terminal(struct rv_supervisor *sv, bool failed,
				int64_t now)
{
	if (failed && !sv->fail_reason)
		sv->fail_reason = "services_failed";
	if (sv->exec_mode)
		rv_supervisor_finish(sv, failed, rv_supervisor_exec_status(sv));
	else
		rv_supervisor_finish(sv, failed, failed ? RV_EXIT_FAILED : RV_EXIT_COMPLETED);
}

void rv_supervisor_kill_all(struct rv_supervisor *sv, enum rv_kill_reason why)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		rv_service_kill_now(sv->svcs[i], why);
}

static void on_shutdown_timeout(struct rv_loop *loop, struct rv_timer *t,
				int64_t now, void *ctx)
{
	struct rv_supervisor *sv = ctx;
	char d[32];

	rv_log_sup(RV_LOG_WARN, "main", "shutdown_timeout",
		   " shutdown_timeout=%s",
		   rv_format_duration(sv->specs->shutdown_timeout_ns, d,
				      sizeof(d)));
	rv_supervisor_kill_all(sv, RV_KILL_SHUTDOWN_TIMEOUT);
}

void rv_supervisor_shutdown(struct rv_supervisor *sv, int64_t now,
			    const char *reason)
{
	if (sv->finished)
		return;
	if (sv->state == RV_SUP_SHUTTING_DOWN) {
		/* asked twice: stop waiting politely */
		rv_supervisor_kill_all(sv, RV_KILL_SECOND_SIGNAL);
		return;
	}
	sup_set_state(sv, RV_SUP_SHUTTING_DOWN, reason);
	if (sv->specs->shutdown_timeout_ns > 0 && !sv->exec_mode)
		rv_loop_timer_arm(sv->loop, &sv->shutdown_timer,
				  now + sv->specs->shutdown_timeout_ns);
	/* final: no later job brings anything back (job.c) */
	rv_member_request(&sv->nodes[0]->m, RV_JOB_SHUTDOWN, now);
}

void rv_supervisor_fail(struct rv_supervisor *sv, int64_t now,
			const char *reason)
{
	if (sv->failing)
		return;
	sv->failing = true;
	sv->fail_reason = reason;
	if (sv->state == RV_SUP_SHUTTING_DOWN) {
		/* already stopping: it will end failed */
		return;
	}
	rv_supervisor_shutdown(sv, now, reason);
}

void rv_supervisor_lifecycle_init(struct rv_supervisor *sv)
{
	rv_timer_init(&sv->shutdown_timer, on_shutdown_timeout, sv);
}
