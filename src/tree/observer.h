/* SPDX-License-Identifier: MIT */
/*
 * The one hook through which the tree reports what changed.  The tree
 * calls it and knows nothing of who listens; the control plane
 * (src/control/observe.c) subscribes to turn changes into the event
 * stream, the supervisor's own sd_notify messages and log lines.  Every
 * callback may be NULL.  Called on the hot path: a listener must not
 * block, and must not call back into the tree.
 */
#ifndef RV_OBSERVER_H
#define RV_OBSERVER_H

#include "tree/tree.h"

enum rv_sup_state;
struct rv_roll;

struct rv_observer {
	void *ctx;
	/* a service changed state (s->last_exit, s->next_start_ns are set) */
	void (*service_state)(void *ctx, const struct rv_service *s,
			      enum rv_svc_state from, enum rv_svc_state to);
	/* a nested supervisor changed state */
	void (*node_state)(void *ctx, const struct rv_node *n,
			   enum rv_node_state from, enum rv_node_state to);
	/* the supervisor changed state (alive, shutting_down, ...) */
	void (*supervisor_state)(void *ctx, struct rv_supervisor *sv,
				 int from, int to);
	/* a rolling restart (roll.h) started, restarted an instance (at),
	 * ended or stopped: event is roll_started, roll_step, roll_done or
	 * roll_failed */
	void (*roll)(void *ctx, const struct rv_roll *r, const char *event,
		     const char *at);
};

#endif
