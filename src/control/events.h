/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle event stream of `ringvisor events`: one JSON object per
 * line for every service state change.  Formatted into a stack buffer and
 * handed to the control socket's followers only when there are any, so
 * the hot path pays one predictable branch when nobody follows.
 */
#ifndef RV_EVENTS_H
#define RV_EVENTS_H

#include "tree/tree.h"

struct rv_supervisor;
struct rv_roll;

void rv_events_service(struct rv_supervisor *sv, const struct rv_service *s,
		       enum rv_svc_state from, enum rv_svc_state to);
/* A rolling restart's step (tree/roll.h): roll_started, roll_step (at:
 * the instance restarted), roll_done, roll_failed. */
void rv_events_roll(struct rv_supervisor *sv, const struct rv_roll *r,
		    const char *event, const char *at);

#endif
