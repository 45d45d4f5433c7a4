/* SPDX-License-Identifier: MIT */
#include "control/observe.h"

#include "control/control.h"
#include "control/events.h"
#include "control/sd_notify_self.h"
#include "control/waiters.h"
#include "tree/supervisor.h"

static void on_service(void *ctx, const struct rv_service *s,
		       enum rv_svc_state from, enum rv_svc_state to)
{
	struct rv_supervisor *sv = ctx;

	rv_events_service(sv, s, from, to);
	rv_waiters_service(rv_control_waiters(sv->control), s, to);
}

static void on_roll(void *ctx, const struct rv_roll *r, const char *event,
		    const char *at)
{
	struct rv_supervisor *sv = ctx;

	rv_events_roll(sv, r, event, at);
	rv_waiters_roll(rv_control_waiters(sv->control), r, event, at);
}

static void on_supervisor(void *ctx, struct rv_supervisor *sv, int from,
			  int to)
{
	/* READY=1 exactly at the first `alive` (it is never left for
	 * `starting` again) */
	if (to == RV_SUP_ALIVE)
		rv_sd_notify_self("READY=1\nSTATUS=supervising");
	else if (to == RV_SUP_SHUTTING_DOWN)
		rv_sd_notify_self("STOPPING=1");
	/* exit_code is set before the final state (lifecycle.c) */
	if (to == RV_SUP_COMPLETED || to == RV_SUP_FAILED)
		rv_waiters_supervisor_end(rv_control_waiters(sv->control),
					  sv->exit_code);
}

void rv_control_observe(struct rv_supervisor *sv)
{
	sv->observer = (struct rv_observer){
		.ctx = sv,
		.service_state = on_service,
		.supervisor_state = on_supervisor,
		.roll = on_roll,
	};
}
