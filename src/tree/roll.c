/* SPDX-License-Identifier: MIT */
/*
 * Rolling restarts (roll.h): a coordinator that asks one instance after
 * another for a RESTART job and watches their state changes.
 */
#include "tree/roll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/build.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "util/log.h"

const char *rv_roll_state_name(enum rv_roll_state st)
{
	static const char *const names[] = {
		[RV_ROLL_RUNNING] = "rolling", [RV_ROLL_DONE] = "done",
		[RV_ROLL_STOPPED] = "stopped",
	};

	return st <= RV_ROLL_STOPPED ? names[st] : "unknown";
}

bool rv_roll_is_running(const struct rv_service *s)
{
	return s->roll && s->roll->state == RV_ROLL_RUNNING;
}

/* The log line and the event stream, for one step of the roll. */
static void report(struct rv_roll *r, const char *event, const char *at)
{
	struct rv_observer *o = &r->sv->observer;

	if (!strcmp(event, "roll_step"))
		rv_log_svc(RV_LOG_INFO, r->name, event,
			   " at=%s replaced=%u instances=%u", at, r->replaced,
			   r->n);
	else if (r->state == RV_ROLL_STOPPED)
		rv_log_svc(RV_LOG_WARN, r->name, event,
			   " at=%s reason=%s replaced=%u instances=%u",
			   r->at[0] ? r->at : "none", r->reason, r->replaced,
			   r->n);
	else
		rv_log_svc(RV_LOG_INFO, r->name, event,
			   " instances=%u max_unavailable=%u%s", r->n,
			   r->max_unavailable, r->reload ? " reload=true" : "");
	if (o->roll)
		o->roll(o->ctx, r, event, at);
}

static void stop_at(struct rv_roll *r, const struct rv_service *s,
		    const char *reason)
{
	if (r->state != RV_ROLL_RUNNING)
		return;
	r->state = RV_ROLL_STOPPED;
	r->reason = reason;
	snprintf(r->at, sizeof(r->at), "%s", s ? s->name : "");
}

/* Why a replacement that just entered `to` failed, or NULL: it did not. */
static const char *failure(const struct rv_service *s, enum rv_svc_state to)
{
	static const char *const aborts[] = {
		[RV_ABORT_TIMEOUT] = "ready_timeout",
		[RV_ABORT_WATCHDOG] = "watchdog",
		[RV_ABORT_HEALTH] = "health_check",
	};

	switch (to) {
	case RV_SVC_STOPPING:
		return s->abort != RV_ABORT_NONE ? aborts[s->abort] : NULL;
	case RV_SVC_BACKOFF:
	case RV_SVC_COMPLETED:
		return s->last_exit.failed_start ? "failed_start" : "exited";
	case RV_SVC_FAILED:
		return "failed";
	default:
		return NULL;
	}
}

void rv_roll_service_state(struct rv_service *s, enum rv_svc_state from,
			   enum rv_svc_state to)
{
	struct rv_roll *r = s->roll;
	struct rv_roll_slot *slot = NULL;
	const char *why;

	(void)from;
	if (r->state != RV_ROLL_RUNNING)
		return;
	for (uint32_t i = 0; i < r->n; i++)
		if (r->slots[i].s == s)
			slot = &r->slots[i];
	if (!slot || slot->phase != RV_ROLL_ASKED)
		return;
	if (s->m.held) {
		/* an admin stop superseded its restart */
		slot->phase = RV_ROLL_FAILED;
		r->in_flight--;
		stop_at(r, s, "stop");
	} else if (s->m.start_seq == slot->seq) {
		/* still the old process (or none yet): only the
		 * replacement's own states count */
	} else if (to == RV_SVC_RUNNING) {
		slot->phase = RV_ROLL_REPLACED;
		r->in_flight--;
		r->replaced++;
	} else if ((why = failure(s, to))) {
		slot->phase = RV_ROLL_FAILED;
		r->in_flight--;
		stop_at(r, s, why);
	}
	/* look again on a fresh turn (a shutdown, say, shows there) */
	rv_loop_timer_arm(r->sv->loop, &r->timer, rv_loop_now(r->sv->loop));
}

/* The instances not reached keep their old build: the reload is done
 * with them. */
static void drop_parked_builds(struct rv_roll *r, int64_t now)
{
	for (uint32_t i = r->next; i < r->n; i++) {
		struct rv_service *s = r->slots[i].s;

		if (!s || !s->next_build)
			continue;
		rv_service_destroy(s->next_build);
		s->next_build = NULL;
		rv_reload_job_done(r->sv, now);
	}
}

/* Something outside the roll ends it: shutdown, an admin stop, removal. */
static const char *interrupted(struct rv_roll *r, struct rv_service **at)
{
	const struct rv_supervisor *sv = r->sv;

	*at = NULL;
	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished)
		return "shutdown";
	for (uint32_t i = r->next; i < r->n; i++) {
		struct rv_service *s = r->slots[i].s;

		if (!s)
			continue;
		*at = s;
		if (s->m.held && !r->slots[i].held)
			return "stop";
		if (s->m.job == RV_JOB_REMOVE || s->m.job == RV_JOB_SHUTDOWN)
			return "removed";
	}
	*at = NULL;
	return NULL;
}

static void finish(struct rv_roll *r, int64_t now)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->state == RV_ROLL_STOPPED) {
		drop_parked_builds(r, now);
		r->next = r->n;
		report(r, "roll_failed", r->at);
		return;
	}
	r->state = RV_ROLL_DONE;
	report(r, "roll_done", NULL);
}

/* Ask for restarts while there is room; end the roll when all are up. */
static void advance(struct rv_roll *r, int64_t now)
{
	struct rv_service *at;
	const char *why;

	if (r->state == RV_ROLL_RUNNING && (why = interrupted(r, &at)))
		stop_at(r, at, why);
	while (r->state == RV_ROLL_RUNNING && r->next < r->n &&
	       r->in_flight < r->max_unavailable) {
		struct rv_roll_slot *slot = &r->slots[r->next++];
		struct rv_service *s = slot->s;

		if (!s)
			continue;	/* a reload took it away */
		if (slot->held) {
			/* down by an admin's wish, and staying down: it only
			 * takes its new build, if any */
			slot->phase = RV_ROLL_REPLACED;
			r->replaced++;
			rv_member_request(&s->m, RV_JOB_RESTART, now);
			continue;
		}
		slot->seq = s->m.start_seq;
		slot->phase = RV_ROLL_ASKED;
		r->in_flight++;
		/* an admin's restart: not counted in `restarts` */
		s->manual_start = true;
		report(r, "roll_step", s->name);
		/* may come back through rv_roll_service_state at once (a
		 * service that was down starts and runs right away) */
		if (rv_member_request(&s->m, RV_JOB_RESTART, now) ==
		    RV_JOB_REFUSED && slot->phase == RV_ROLL_ASKED) {
			slot->phase = RV_ROLL_FAILED;
			r->in_flight--;
			stop_at(r, s, "refused");
		}
	}
	if (r->state == RV_ROLL_STOPPED ||
	    (r->next == r->n && !r->in_flight))
		finish(r, now);
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	advance(ctx, now);
}

static void release(struct rv_roll *r)
{
	if (--r->refs)
		return;
	if (r->sv->loop)	/* NULL: the supervisor is being freed */
		rv_loop_timer_cancel(r->sv->loop, &r->timer);
	free(r->slots);
	free(r->name);
	free(r);
}

void rv_roll_detach(struct rv_service *s)
{
	struct rv_roll *r = s->roll;

	if (!r)
		return;
	s->roll = NULL;
	for (uint32_t i = 0; i < r->n; i++) {
		struct rv_roll_slot *slot = &r->slots[i];

		if (slot->s != s)
			continue;
		slot->s = NULL;
		if (slot->phase == RV_ROLL_ASKED) {
			slot->phase = RV_ROLL_FAILED;
			r->in_flight--;
			stop_at(r, s, "removed");
		}
	}
	/* its last instance: the roll ends now (it is freed below) */
	if (r->refs == 1 && r->sv->loop) {
		stop_at(r, s, "removed");
		finish(r, rv_loop_now(r->sv->loop));
	}
	/* the rest of the roll, on a fresh turn */
	if (!r->finished && r->sv->loop)
		rv_loop_timer_arm(r->sv->loop, &r->timer,
				  rv_loop_now(r->sv->loop));
	release(r);
}

void rv_roll_cancel(struct rv_roll *r, const char *reason, int64_t now)
{
	if (!r || r->state != RV_ROLL_RUNNING)
		return;
	stop_at(r, NULL, reason);
	finish(r, now);
}

int rv_roll_start(struct rv_supervisor *sv, struct rv_service **v, size_t n,
		  bool reload, int64_t now)
{
	struct rv_roll *r;

	for (size_t i = 0; i < n; i++)
		if (rv_roll_is_running(v[i]))
			return -EBUSY;
	if (rv_loop_timer_reserve(sv->loop, 1))
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->slots = calloc(n, sizeof(*r->slots));
	r->name = strdup(v[0]->spec->name);
	if (!r->slots || !r->name) {
		free(r->slots);
		free(r->name);
		free(r);
		return -ENOMEM;
	}
	r->sv = sv;
	r->n = (uint32_t)n;
	r->reload = reload;
	/* the new spec's, for a reload (its builds carry it) */
	r->max_unavailable = reload && v[0]->next_build ?
			     v[0]->next_build->spec->max_unavailable :
			     v[0]->spec->max_unavailable;
	if (!r->max_unavailable)
		r->max_unavailable = 1;
	rv_timer_init(&r->timer, on_timer, r);
	for (size_t i = 0; i < n; i++) {
		rv_roll_detach(v[i]);	/* the outcome of an earlier roll */
		v[i]->roll = r;
		r->slots[i].s = v[i];
		r->slots[i].held = v[i]->m.held;
		r->refs++;
	}
	report(r, "roll_started", NULL);
	rv_loop_timer_arm(sv->loop, &r->timer, now);
	return 0;
}

bool rv_roll_wanted(const struct rv_service *s)
{
	return s->next_build && s->m.job == RV_JOB_NONE &&
	       s->next_build->spec->restart_mode == RV_RESTART_MODE_ROLLING;
}

static bool same_section(const struct rv_service *a,
			 const struct rv_service *b)
{
	return !strcmp(a->spec->name, b->spec->name);
}

void rv_roll_reload(struct rv_supervisor *sv, int64_t now)
{
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *s = sv->svcs[i], **v;
		size_t k = 0;

		if (!rv_roll_wanted(s) || rv_roll_is_running(s))
			continue;
		for (size_t j = i; j < sv->n_svcs; j++)
			k += rv_roll_wanted(sv->svcs[j]) &&
			     same_section(s, sv->svcs[j]);
		v = calloc(k, sizeof(*v));
		k = 0;
		for (size_t j = i; v && j < sv->n_svcs; j++)
			if (rv_roll_wanted(sv->svcs[j]) &&
			    same_section(s, sv->svcs[j]))
				v[k++] = sv->svcs[j];
		if (v && !rv_roll_start(sv, v, k, true, now)) {
			free(v);
			continue;
		}
		free(v);
		/* no memory for the roll: restart them all as without it */
		rv_log_svc(RV_LOG_WARN, s->spec->name, "roll_failed",
			   " reason=out_of_memory restart_mode=restart");
		for (size_t j = i; j < sv->n_svcs; j++)
			if (rv_roll_wanted(sv->svcs[j]) &&
			    same_section(s, sv->svcs[j]))
				rv_member_request(&sv->svcs[j]->m,
						  RV_JOB_RESTART, now);
	}
}
