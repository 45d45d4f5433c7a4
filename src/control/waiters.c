/* SPDX-License-Identifier: MIT */
#include "control/waiters.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "control/commands.h"
#include "control/report.h"
#include "loop.h"
#include "tree/supervisor.h"

enum outcome { T_PENDING, T_REACHED, T_FAILED, T_TIMEOUT, T_REFUSED };

static const char *const outcome_names[] = {
	[T_PENDING] = "pending", [T_REACHED] = "reached",
	[T_FAILED] = "failed", [T_TIMEOUT] = "timeout",
	[T_REFUSED] = "refused",
};

struct target {
	const struct rv_service *s;	/* compared only (waiters.h) */
	char *name;
	enum rv_svc_state state;	/* last seen */
	enum outcome outcome;
	bool oneshot;
	bool readiness;			/* notify, ready_fd or ready_check */
	int pid;
	int64_t ready_ns;		/* exec to ready, when reached up */
	int64_t done_ns;		/* when it settled */
	const char *why;		/* static: failure or refusal reason */
	char exit[40];			/* how its process ended, if it did */
};

struct rv_waiter {
	struct rv_waiters *ws;
	struct rv_waiter *prev, *next;
	enum rv_wait_goal goal;
	int64_t t0;
	struct rv_timer timer;
	rv_waiter_done_fn *done;
	void *ctx;
	bool linked;			/* in ws's list */
	bool ended;			/* the supervisor ended */
	bool timed_out;
	int exit_code;
	size_t n, n_pending;
	struct target t[];
};

static void unlink_waiter(struct rv_waiter *w)
{
	if (!w->linked)
		return;
	w->linked = false;
	if (w->prev)
		w->prev->next = w->next;
	else
		w->ws->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

static void waiter_free(struct rv_waiter *w)
{
	unlink_waiter(w);
	rv_loop_timer_cancel(w->ws->loop, &w->timer);
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	free(w);
}

static json_t *target_json(const struct rv_waiter *w, const struct target *t)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "name", t->name,
			      "state", rv_svc_state_name(t->state),
			      "result", outcome_names[t->outcome],
			      "in_s", rv_json_secs((t->outcome == T_PENDING ||
					   t->outcome == T_TIMEOUT ?
					   rv_loop_now(w->ws->loop) :
					   t->done_ns) - w->t0));

	if (!j)
		return NULL;
	if (t->pid > 0)
		json_object_set_new(j, "pid", json_integer(t->pid));
	if (t->outcome == T_REACHED && t->readiness && t->ready_ns >= 0 &&
	    t->state == RV_SVC_RUNNING)
		json_object_set_new(j, "ready_in_s", rv_json_secs(t->ready_ns));
	if (t->why)
		json_object_set_new(j, "reason", json_string(t->why));
	if (t->exit[0])
		json_object_set_new(j, "exit", json_string(t->exit));
	return j;
}

/* {"ok":true,"results":[...],"all_reached":B[,"exit_code":N]}\n */
static char *reply_line(const struct rv_waiter *w)
{
	json_t *results = json_array(), *j;
	bool all = true;

	for (size_t i = 0; i < w->n; i++) {
		json_array_append_new(results, target_json(w, &w->t[i]));
		all = all && w->t[i].outcome == T_REACHED;
	}
	j = json_pack("{s:b, s:o, s:b}", "ok", 1, "results", results,
		      "all_reached", all && !w->timed_out && (w->goal != RV_WAIT_EXIT ||
					     w->ended));
	if (j && w->timed_out)
		json_object_set_new(j, "timed_out", json_true());
	if (j && w->goal == RV_WAIT_EXIT)
		json_object_set_new(j, "exit_code", json_integer(w->exit_code));
	return rv_commands_line(j);
}

/* Sends the reply if nothing is left to wait for. */
static void maybe_answer(struct rv_waiter *w)
{
	char *text;

	if (!w->done || w->n_pending || (w->goal == RV_WAIT_EXIT && !w->ended))
		return;
	text = reply_line(w);
	unlink_waiter(w);
	/* the callback may close the connection, which must not find us */
	w->done(w->ctx, text);
	w->done = NULL;
	waiter_free(w);
}

static void on_timeout(struct rv_loop *loop, struct rv_timer *tm, int64_t now,
		       void *ctx)
{
	struct rv_waiter *w = ctx;

	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].outcome == T_PENDING)
			w->t[i].outcome = T_TIMEOUT;
	w->n_pending = 0;
	w->timed_out = true;
	w->ended = true;	/* shutdown --wait gives up too */
	w->exit_code = -1;
	maybe_answer(w);
}

struct rv_waiter *rv_waiter_new(struct rv_waiters *ws, enum rv_wait_goal goal,
				struct rv_service *const *v, size_t n,
				int64_t timeout_ns, int64_t now)
{
	struct rv_waiter *w = calloc(1, sizeof(*w) + n * sizeof(w->t[0]));

	if (!w)
		return NULL;
	w->ws = ws;
	w->goal = goal;
	w->t0 = now;
	w->n = n;
	w->n_pending = n;
	rv_timer_init(&w->timer, on_timeout, w);
	for (size_t i = 0; i < n; i++) {
		const struct rv_service_spec *sp = v[i]->spec;
		struct target *t = &w->t[i];

		t->s = v[i];
		t->state = v[i]->state;
		t->pid = v[i]->child.pid;
		t->ready_ns = -1;
		t->oneshot = sp->type == RV_TYPE_ONESHOT;
		t->readiness = sp->type == RV_TYPE_NOTIFY ||
			       sp->ready->ready_fd >= 0 ||
			       sp->ready->ready_check;
		t->name = strdup(v[i]->name);
		if (!t->name) {
			w->n = i;
			waiter_free(w);
			return NULL;
		}
	}
	w->next = ws->head;
	if (w->next)
		w->next->prev = w;
	ws->head = w;
	w->linked = true;
	if (timeout_ns > 0)
		rv_loop_timer_arm(ws->loop, &w->timer, now + timeout_ns);
	return w;
}

static void settle(struct rv_waiter *w, struct target *t, enum outcome o,
		   const char *why, int64_t now)
{
	if (t->outcome != T_PENDING)
		return;
	t->outcome = o;
	t->why = why;
	t->done_ns = now;
	w->n_pending--;
}

static bool in_subtree(const struct rv_member *m, const struct rv_member *top)
{
	for (const struct rv_member *p = m; p; p = &p->parent->m) {
		if (p == top)
			return true;
		if (!p->parent)
			break;
	}
	return false;
}

void rv_waiter_refuse(struct rv_waiter *w, const struct rv_member *m,
		      const char *why)
{
	for (size_t i = 0; i < w->n; i++)
		if (in_subtree(&w->t[i].s->m, m))
			settle(w, &w->t[i], T_REFUSED, why, w->t0);
}

static bool is_down(enum rv_svc_state st)
{
	return st == RV_SVC_STOPPED || st == RV_SVC_COMPLETED ||
	       st == RV_SVC_FAILED;
}

/* Why an attempt to come up ended (from s's last exit). */
static const char *exit_reason(const struct rv_service *s)
{
	const struct rv_exit_info *e = &s->last_exit;

	if (s->state == RV_SVC_FAILED && s->fail_reason &&
	    strcmp(s->fail_reason, "exit") &&
	    strcmp(s->fail_reason, "failed_start"))
		return s->fail_reason;
	if (!e->valid)
		return NULL;
	if (e->timeout)
		return "ready_timeout";
	if (e->watchdog)
		return "watchdog";
	if (e->health)
		return "health_check";
	if (e->failed_start)
		return "failed_start";
	return "exit";
}

static void note_exit(struct target *t, const struct rv_service *s)
{
	const struct rv_exit_info *e = &s->last_exit;

	if (!e->valid)
		t->exit[0] = '\0';
	else if (e->signal)
		snprintf(t->exit, sizeof(t->exit), "%s",
			 rv_signal_name(e->signal));
	else
		snprintf(t->exit, sizeof(t->exit), "code %d", e->code);
}

/* Going down for a job that does not bring it up again. */
static bool down_for_good(const struct rv_service *s)
{
	return s->m.job == RV_JOB_STOP || s->m.job == RV_JOB_REMOVE ||
	       s->m.job == RV_JOB_SHUTDOWN;
}

/* One target sees s (its service) enter `to`; from: the state before. */
static void judge(struct rv_waiter *w, struct target *t,
		  const struct rv_service *s, enum rv_svc_state to,
		  bool initial, int64_t now)
{
	bool up_goal = w->goal == RV_WAIT_UP || w->goal == RV_WAIT_RESTART;

	t->state = to;
	if (s->child.pid > 0)
		t->pid = s->child.pid;
	if (t->outcome != T_PENDING)
		return;
	/* a restart counts only what happens after the request */
	if (initial && w->goal == RV_WAIT_RESTART)
		return;
	if (!up_goal) {
		if (w->goal == RV_WAIT_DOWN && is_down(to)) {
			note_exit(t, s);
			settle(w, t, T_REACHED, NULL, now);
		}
		return;
	}
	if (to == RV_SVC_RUNNING && !t->oneshot) {
		if (!initial)
			t->ready_ns = now - s->started_ns;
		settle(w, t, T_REACHED, NULL, now);
	} else if (to == RV_SVC_COMPLETED) {
		note_exit(t, s);
		settle(w, t, t->oneshot ? T_REACHED : T_FAILED,
		       t->oneshot ? NULL : "completed", now);
	} else if (to == RV_SVC_STOPPED && !initial && down_for_good(s)) {
		/* another request took it down: it will not come up */
		settle(w, t, T_FAILED, s->m.job == RV_JOB_STOP ? "stopped" :
		       s->m.job == RV_JOB_REMOVE ? "removed" : "shutting_down",
		       now);
	} else if (to == RV_SVC_FAILED || (to == RV_SVC_BACKOFF && !initial)) {
		/* an attempt failed (a retry may follow: it is still a
		 * failure to start) */
		note_exit(t, s);
		settle(w, t, T_FAILED, exit_reason(s), now);
	}
}

char *rv_waiter_settle(struct rv_waiter *w, bool *nomem)
{
	int64_t now = rv_loop_now(w->ws->loop);
	char *text;

	*nomem = false;
	for (size_t i = 0; i < w->n; i++) {
		const struct rv_service *s = w->t[i].s;

		/* already there, with nothing pending that moves it */
		if (!s->m.job)
			judge(w, &w->t[i], s, s->state, true, now);
	}
	if (w->n_pending || (w->goal == RV_WAIT_EXIT && !w->ended))
		return NULL;
	text = reply_line(w);
	*nomem = !text;
	waiter_free(w);
	return text;
}

void rv_waiter_bind(struct rv_waiter *w, rv_waiter_done_fn *done, void *ctx)
{
	w->done = done;
	w->ctx = ctx;
	maybe_answer(w);
}

void rv_waiter_drop(struct rv_waiter *w)
{
	if (w)
		waiter_free(w);
}

void rv_waiters_service(struct rv_waiters *ws, const struct rv_service *s,
			enum rv_svc_state to)
{
	struct rv_waiter *w, *next;
	int64_t now;

	if (!ws || !ws->head)
		return;		/* the hot path's usual answer */
	now = rv_loop_now(ws->loop);
	for (w = ws->head; w; w = next) {
		next = w->next;
		for (size_t i = 0; i < w->n; i++)
			if (w->t[i].s == s)
				judge(w, &w->t[i], s, to, false, now);
		maybe_answer(w);
	}
}

void rv_waiters_supervisor_end(struct rv_waiters *ws, int code)
{
	struct rv_waiter *w, *next;
	int64_t now;

	if (!ws || !ws->head)
		return;
	now = rv_loop_now(ws->loop);
	for (w = ws->head; w; w = next) {
		next = w->next;
		for (size_t i = 0; i < w->n; i++)
			settle(w, &w->t[i], T_FAILED, "supervisor_exited",
			       now);
		w->ended = true;
		w->exit_code = code;
		maybe_answer(w);
	}
}
