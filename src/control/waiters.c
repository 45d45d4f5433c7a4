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
#include "tree/roll.h"
#include "tree/supervisor.h"

/* T_LEFT: its roll ended without it being replaced (RV_WAIT_ROLL) */
enum outcome { T_PENDING, T_REACHED, T_FAILED, T_TIMEOUT, T_REFUSED, T_LEFT };

static const char *const outcome_names[] = {
	[T_PENDING] = "pending", [T_REACHED] = "reached",
	[T_FAILED] = "failed", [T_TIMEOUT] = "timeout",
	[T_REFUSED] = "refused", [T_LEFT] = "left",
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
	/* RV_WAIT_ROLL: its roll (compared only), whether the roll asked
	 * for its restart yet, and its start_seq then (the old process's:
	 * only the replacement's states count) */
	const struct rv_roll *roll;
	bool asked;
	uint64_t seq;
};

/* RV_WAIT_ROLL: one roll waited for, as its events last told it (the
 * roll may be freed once it ended). */
struct roll_rec {
	const struct rv_roll *r;	/* compared only */
	char name[128];			/* the service section's */
	enum rv_roll_state state;
	uint32_t replaced, n;
	const char *reason;		/* static (roll.h) */
	char at[96];
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
	size_t n_rolls, rolls_pending;	/* RV_WAIT_ROLL */
	struct roll_rec *rolls;		/* n of them at most */
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
	if (w->ws->reexec == w)
		w->ws->reexec = NULL;
	unlink_waiter(w);
	rv_loop_timer_cancel(w->ws->loop, &w->timer);
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	free(w->rolls);
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

static json_t *roll_json(const struct roll_rec *rr)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:i}", "name", rr->name,
			      "state", rv_roll_state_name(rr->state),
			      "replaced", (int)rr->replaced,
			      "instances", (int)rr->n);

	if (j && rr->reason)
		json_object_set_new(j, "reason", json_string(rr->reason));
	if (j && rr->at[0])
		json_object_set_new(j, "at", json_string(rr->at));
	return j;
}

/* The rolls waited for, and whether every one of them is done. */
static json_t *rolls_json(const struct rv_waiter *w, bool *all)
{
	json_t *a = json_array();

	for (size_t i = 0; i < w->n_rolls; i++) {
		json_array_append_new(a, roll_json(&w->rolls[i]));
		*all = *all && w->rolls[i].state == RV_ROLL_DONE;
	}
	return a;
}

/* {"ok":true,"results":[...],"all_reached":B[,"exit_code":N]
 * [,"rolls":[...]]}\n */
static char *reply_line(const struct rv_waiter *w)
{
	json_t *results = json_array(), *rolls = NULL, *j;
	bool all = true;

	for (size_t i = 0; i < w->n; i++) {
		json_array_append_new(results, target_json(w, &w->t[i]));
		/* a roll's instances may be left as they were by design
		 * (a held one): the rolls say whether it went well */
		all = all && (w->goal == RV_WAIT_ROLL ||
			      w->t[i].outcome == T_REACHED);
	}
	if (w->goal == RV_WAIT_ROLL)
		rolls = rolls_json(w, &all);
	j = json_pack("{s:b, s:o, s:b}", "ok", 1, "results", results,
		      "all_reached", all && !w->timed_out && (w->goal != RV_WAIT_EXIT ||
					     w->ended));
	if (j && w->timed_out)
		json_object_set_new(j, "timed_out", json_true());
	if (j && w->goal == RV_WAIT_EXIT)
		json_object_set_new(j, "exit_code", json_integer(w->exit_code));
	if (j && rolls)
		json_object_set_new(j, "rolls", rolls);
	else
		json_decref(rolls);
	return rv_commands_line(j);
}

static bool complete(const struct rv_waiter *w)
{
	return w->goal != RV_WAIT_REEXEC && !w->n_pending &&
	       !w->rolls_pending &&
	       (w->goal != RV_WAIT_EXIT || w->ended);
}

/* Sends the reply if nothing is left to wait for. */
static void maybe_answer(struct rv_waiter *w)
{
	char *text;

	if (!w->done || !complete(w))
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
	w->rolls_pending = 0;	/* their records say `rolling` */
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
	if (goal == RV_WAIT_ROLL &&
	    !(w->rolls = calloc(n ? n : 1, sizeof(*w->rolls)))) {
		free(w);
		return NULL;
	}
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
	bool up_goal = w->goal == RV_WAIT_UP || w->goal == RV_WAIT_RESTART ||
		       w->goal == RV_WAIT_ROLL;

	t->state = to;
	if (s->child.pid > 0)
		t->pid = s->child.pid;
	if (t->outcome != T_PENDING)
		return;
	/* a roll's instance counts once its replacement is on its way */
	if (w->goal == RV_WAIT_ROLL && (!t->asked || s->m.start_seq == t->seq))
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

static struct roll_rec *roll_rec_of(struct rv_waiter *w,
				     const struct rv_roll *r)
{
	for (size_t i = 0; i < w->n_rolls; i++)
		if (w->rolls[i].r == r)
			return &w->rolls[i];
	return NULL;
}

/* The rolls just started over the targets (s->roll is still theirs). */
static void note_rolls(struct rv_waiter *w, int64_t now)
{
	for (size_t i = 0; i < w->n; i++) {
		struct target *t = &w->t[i];
		const struct rv_roll *r = t->s->roll;
		struct roll_rec *rr;

		t->roll = r;
		if (!r) {
			settle(w, t, T_LEFT, "not_restarted", now);
			continue;
		}
		if (roll_rec_of(w, r))
			continue;
		rr = &w->rolls[w->n_rolls++];
		rr->r = r;
		snprintf(rr->name, sizeof(rr->name), "%s", r->name);
		rr->state = r->state;
		rr->n = r->n;
		w->rolls_pending++;
	}
}

char *rv_waiter_settle(struct rv_waiter *w, bool *nomem)
{
	int64_t now = rv_loop_now(w->ws->loop);
	char *text;

	*nomem = false;
	if (w->goal == RV_WAIT_ROLL)
		note_rolls(w, now);
	for (size_t i = 0; i < w->n && w->goal != RV_WAIT_ROLL; i++) {
		const struct rv_service *s = w->t[i].s;

		/* already there, with nothing pending that moves it */
		if (!s->m.job)
			judge(w, &w->t[i], s, s->state, true, now);
	}
	if (!complete(w))
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

void rv_waiter_answer(struct rv_waiter *w, char *text)
{
	unlink_waiter(w);
	if (w->done)
		w->done(w->ctx, text);	/* the connection owns text now */
	else
		free(text);
	w->done = NULL;
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

/* The roll r ended: its instances not settled yet are as they are, but
 * the one it stopped at (if its restart was asked) failed. */
static void roll_ended(struct rv_waiter *w, struct roll_rec *rr,
		       const struct rv_roll *r, int64_t now)
{
	rr->state = r->state;
	rr->reason = r->reason;
	snprintf(rr->at, sizeof(rr->at), "%s", r->at);
	w->rolls_pending--;
	for (size_t i = 0; i < w->n; i++) {
		struct target *t = &w->t[i];

		if (t->roll != r)
			continue;
		t->roll = NULL;		/* r may be freed from now on */
		if (r->state == RV_ROLL_STOPPED && t->asked &&
		    !strcmp(t->name, r->at))
			settle(w, t, T_FAILED, r->reason, now);
		else
			settle(w, t, T_LEFT, t->asked ? "in_flight" :
			       "not_restarted", now);
	}
}

/* A roll_step: the roll asked for the restart of instance `at`. */
static void roll_asked(struct rv_waiter *w, const struct rv_roll *r,
		       const char *at)
{
	for (size_t i = 0; i < w->n; i++) {
		struct target *t = &w->t[i];

		if (t->roll != r || strcmp(t->name, at))
			continue;
		t->asked = true;
		for (uint32_t k = 0; k < r->n; k++)
			if (r->slots[k].s == t->s)
				t->seq = r->slots[k].seq;
	}
}

void rv_waiters_roll(struct rv_waiters *ws, const struct rv_roll *r,
		     const char *event, const char *at)
{
	struct rv_waiter *w, *next;
	struct roll_rec *rr;

	if (!ws || !ws->head)
		return;
	for (w = ws->head; w; w = next) {
		next = w->next;
		if (w->goal != RV_WAIT_ROLL || !(rr = roll_rec_of(w, r)) ||
		    rr->state != RV_ROLL_RUNNING)
			continue;
		rr->replaced = r->replaced;
		if (!strcmp(event, "roll_step") && at)
			roll_asked(w, r, at);
		else if (r->finished)
			roll_ended(w, rr, r, rv_loop_now(ws->loop));
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
		for (size_t i = 0; i < w->n_rolls; i++)
			if (w->rolls[i].state == RV_ROLL_RUNNING) {
				w->rolls[i].state = RV_ROLL_STOPPED;
				w->rolls[i].reason = "supervisor_exited";
			}
		w->rolls_pending = 0;
		w->ended = true;
		w->exit_code = code;
		maybe_answer(w);
	}
}
