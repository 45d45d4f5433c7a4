/* SPDX-License-Identifier: MIT */
/*
 * A supervisor node: strategies, restart intensity and escalation, OTP
 * style, as a state x event table like a service's (service.c).  Every
 * restart a node performs counts against its intensity; a node that
 * exceeds it stops all its members and fails as a unit to its parent,
 * whose own strategy and intensity decide what happens next.  The top
 * node failing fails the whole supervisor.
 *
 * A node acts on its members only through their jobs (job.h): a group
 * operation (its strategy's restart, its own stop, its failure) gives
 * each member concerned a queued job, then advance() runs them one at a
 * time, newest start first, and runs again whenever a member goes down.
 * This path may scan the node's own members; the one_for_one hot path
 * never does.
 */
#include <assert.h>
#include <stdio.h>

#include "config/parse.h"
#include "tree/build.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/deadline.h"
#include "util/log.h"

static const char *const node_state_names[RV_NODE_NSTATES] = {
	[RV_NODE_STOPPED] = "stopped", [RV_NODE_WAITING] = "waiting",
	[RV_NODE_RUNNING] = "running", [RV_NODE_COMPLETED] = "completed",
	[RV_NODE_FAILED] = "failed",
};

static const char *const strategy_names[] = {
	[RV_ONE_FOR_ONE] = "one_for_one", [RV_ONE_FOR_ALL] = "one_for_all",
	[RV_REST_FOR_ONE] = "rest_for_one",
};

const char *rv_node_state_name(enum rv_node_state s)
{
	return s < RV_NODE_NSTATES ? node_state_names[s] : "unknown";
}

static bool node_state_terminal(enum rv_node_state s)
{
	return s == RV_NODE_COMPLETED || s == RV_NODE_FAILED;
}

static void node_set_state(struct rv_node *n, enum rv_node_state to)
{
	enum rv_node_state from = n->state;
	struct rv_node *p = n->m.parent;

	if (from == to)
		return;
	n->state = to;
	if (p && node_state_terminal(from) && !node_state_terminal(to))
		p->n_terminal--;
	if (p && !node_state_terminal(from) && node_state_terminal(to))
		p->n_terminal++;
	if (n->sv->observer.node_state)
		n->sv->observer.node_state(n->sv->observer.ctx, n, from, to);
}

bool rv_node_is_down(const struct rv_node *n)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (!rv_member_is_down(n->members[i]))
			return false;
	return true;
}

bool rv_node_is_up(const struct rv_node *n)
{
	if (n->state == RV_NODE_COMPLETED)
		return true;
	if (n->state != RV_NODE_RUNNING || n->op != RV_OP_NONE)
		return false;
	for (size_t i = 0; i < n->n_members; i++)
		if (!rv_member_is_up(n->members[i]))
			return false;
	return true;
}

/* ---- events ---- */

enum node_event {
	EV_JOB,			/* a job was requested or changed */
	EV_MEMBER_DOWN,		/* a member went down as it was asked */
	EV_WANTS_RESTART,	/* a member ended; its policy wants a restart */
	EV_MEMBER_TERMINAL,	/* a member completed or failed for good */
	EV_TIMER,		/* a group restart's delay is over */
	EV_DEPS,		/* a dependency came up or failed */
	EV_N
};

struct node_ev {
	enum node_event type;
	int64_t now;
	struct rv_member *m;	/* the member concerned, if any */
	int64_t delay;		/* EV_WANTS_RESTART */
	const char *why;	/* EV_WANTS_RESTART */
	bool failed;		/* EV_MEMBER_TERMINAL */
};

typedef void node_action(struct rv_node *n, const struct node_ev *ev);

static void dispatch(struct rv_node *n, const struct node_ev *ev);
static const char *const event_names[];
static void advance(struct rv_node *n, int64_t now);
static void start(struct rv_node *n, int64_t now);

/* The job a group stop of n gives each member. */
static enum rv_job_type member_job_for(enum rv_job_type node_job)
{
	if (node_job == RV_JOB_SHUTDOWN)
		return RV_JOB_SHUTDOWN;
	if (node_job == RV_JOB_REMOVE)
		return RV_JOB_REMOVE;
	return RV_JOB_STOP_GROUP;
}

/*
 * Give every member (or those in_op) a queued job that takes it down.
 * A member that is down already reaches its job's end at once, and a
 * REMOVE forgets it (leaves members[]): backwards, so that shifting the
 * array never skips one, and with advance() held off until all are
 * queued (it runs right after).
 */
static void queue_member_jobs(struct rv_node *n, enum rv_job_type job,
			      bool only_in_op, int64_t now)
{
	bool was = n->advancing;

	n->advancing = true;
	for (size_t i = n->n_members; i-- > 0;) {
		struct rv_member *m;

		if (i >= n->n_members)
			continue;	/* forgotten meanwhile */
		m = n->members[i];
		if (only_in_op && !m->in_op)
			continue;
		rv_member_request_queued(m, job, now);
	}
	n->advancing = was;
}

static void reset_subtree(struct rv_node *n)
{
	rv_window_reset(&n->window);
	n->any_failed = false;
	for (size_t i = 0; i < n->n_members; i++) {
		struct rv_member *m = n->members[i];

		if (m->kind == RV_MEMBER_SERVICE)
			rv_service_reset((struct rv_service *)m);
	}
}

/* Every member ended on its own, or the node has none. */
static void node_finished(struct rv_node *n, int64_t now)
{
	struct rv_supervisor *sv = n->sv;

	node_set_state(n, n->any_failed ? RV_NODE_FAILED : RV_NODE_COMPLETED);
	/* exec: its one child failing is its status, passed on, as tini */
	rv_log_sup(n->any_failed && !sv->exec_mode ? RV_LOG_WARN : RV_LOG_INFO,
		   n->m.name, n->any_failed ? "failed" : "completed", "%s",
		   n->any_failed ? " reason=services_failed" : "");
	if (!n->m.parent)
		rv_supervisor_top_terminal(sv, n->any_failed, now);
	else
		rv_node_member_terminal(n->m.parent, &n->m, n->any_failed,
					now);
}

static bool may_start(const struct rv_node *n)
{
	const struct rv_supervisor *sv = n->sv;
	const struct rv_node *p = n->m.parent;

	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished)
		return false;
	if (n->m.held || rv_job_goes_down(n->m.job))
		return false;
	return !p || (p->state == RV_NODE_RUNNING && p->op != RV_OP_STOP &&
		      p->op != RV_OP_FAIL && !rv_job_goes_down(p->m.job));
}

static void start(struct rv_node *n, int64_t now)
{
	const struct rv_member *bad = NULL;
	int deps;

	if (!may_start(n)) {
		if (n->state == RV_NODE_WAITING)
			node_set_state(n, RV_NODE_STOPPED);
		return;
	}
	deps = n->m.parent ? rv_member_deps_state(&n->m, &bad) : 1;
	if (deps < 0) {
		n->fail_reason = "dependency failed";
		rv_log_sup(RV_LOG_ERROR, n->m.name, "failed",
			   " reason=dependency_failed dependency=%s",
			   bad->name);
		node_set_state(n, RV_NODE_FAILED);
		rv_node_member_terminal(n->m.parent, &n->m, true, now);
		return;
	}
	if (deps == 0) {
		node_set_state(n, RV_NODE_WAITING);
		return;
	}
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_NONE;
	n->m.start_seq = ++n->sv->seq;
	reset_subtree(n);
	node_set_state(n, RV_NODE_RUNNING);
	for (size_t i = 0; i < n->n_members; i++) {
		struct rv_member *m = n->members[i];

		if (!m->held)
			rv_member_request(m, RV_JOB_START, now);
		if (n->state != RV_NODE_RUNNING || n->op != RV_OP_NONE ||
		    n->sv->state == RV_SUP_SHUTTING_DOWN)
			break;	/* a start failed all the way up */
	}
	if (n->n_members == 0 && n->state == RV_NODE_RUNNING)
		node_finished(n, now);
}

static void forget(struct rv_node *n, int64_t now);

/* Every member is down and n's job takes it down: the job is done. */
static void job_reached_down(struct rv_node *n, int64_t now)
{
	enum rv_job_type job = n->m.job;
	struct rv_node *p = n->m.parent;

	if (job == RV_JOB_REMOVE) {
		forget(n, now);
		return;
	}
	rv_member_job_done(&n->m);
	if (!node_state_terminal(n->state))
		node_set_state(n, RV_NODE_STOPPED);
	if (job == RV_JOB_RESTART)
		rv_member_request(&n->m, RV_JOB_START, now);
	if (!p)
		rv_supervisor_top_down(n->sv, now);
	else
		rv_node_member_down(p, &n->m, now);
}

static void node_child_failed(struct rv_node *p, struct rv_node *n,
			      int64_t now);

/* Starts the members of a group restart once they are all down. */
static void restart_set(struct rv_node *n, int64_t now)
{
	n->op = RV_OP_NONE;
	for (size_t i = 0; i < n->n_members; i++) {
		struct rv_member *m = n->members[i];

		if (!m->in_op)
			continue;
		m->in_op = false;
		if (m->held || rv_member_is_terminal(m))
			continue;	/* held, completed, failed stay so */
		rv_member_request(m, RV_JOB_START, now);
		if (n->op != RV_OP_NONE)
			break;	/* a start failed into a new group op, which
				 * keeps the members not started yet */
	}
}

static bool considered(const struct rv_node *n, const struct rv_member *m)
{
	return n->op != RV_OP_RESTART || m->in_op;
}

/* Serial stops of a group operation, then what the operation is for. */
static void advance(struct rv_node *n, int64_t now)
{
	struct rv_supervisor *sv = n->sv;

	if (n->advancing)
		return;
	n->advancing = true;
	while (n->op != RV_OP_NONE) {
		struct rv_member *best = NULL;
		bool busy = false;

		for (size_t i = 0; i < n->n_members; i++) {
			struct rv_member *m = n->members[i];

			if (!considered(n, m) || rv_member_is_down(m))
				continue;
			if (rv_member_is_stopping(m)) {
				busy = true;
				break;
			}
			if (!best || m->start_seq > best->start_seq)
				best = m;
		}
		if (busy)
			break;
		/* a queued stop of n itself: its parent runs it, in its
		 * order; until then nothing of n is stopped (a node that is
		 * down already is done at once, like a service) */
		if (best && n->m.queued && n->op == RV_OP_STOP)
			break;
		if (best) {
			if (!rv_job_goes_down(best->job))
				rv_member_request_queued(best,
					member_job_for(n->m.job), now);
			if (!rv_member_run_queued(best, now))
				break;	/* wait for it to go down */
			continue;
		}
		/* everything concerned is down */
		if (n->op == RV_OP_RESTART) {
			if (n->op_deadline_ns > now) {
				rv_loop_timer_arm(sv->loop, &n->timer,
						  n->op_deadline_ns);
				break;
			}
			restart_set(n, now);
			continue;
		}
		enum rv_node_op op = n->op;

		if (op == RV_OP_STOP && n->m.job == RV_JOB_REMOVE &&
		    n->n_members)
			break;	/* its members are forgetting themselves */
		n->op = RV_OP_NONE;
		n->advancing = false;
		if (op == RV_OP_FAIL) {
			node_set_state(n, RV_NODE_FAILED);
			node_child_failed(n->m.parent, n, now);
		} else {
			job_reached_down(n, now);
		}
		return;
	}
	n->advancing = false;
}

/* ---- actions ---- */

/* EV_JOB: carry out the pending job as far as the state allows. */
static void run_job(struct rv_node *n, const struct node_ev *ev)
{
	enum rv_job_type job = n->m.job;

	if (job == RV_JOB_NONE)
		return;
	if (rv_job_goes_down(job)) {
		if (n->op != RV_OP_STOP) {
			/* a group restart or failure in progress becomes
			 * this stop: every member goes down */
			rv_loop_timer_cancel(n->sv->loop, &n->timer);
			for (size_t i = 0; i < n->n_members; i++)
				n->members[i]->in_op = false;
			n->op = RV_OP_STOP;
			if (n->state == RV_NODE_WAITING)
				node_set_state(n, RV_NODE_STOPPED);
		}
		queue_member_jobs(n, member_job_for(job), false, ev->now);
		advance(n, ev->now);
		return;
	}
	/* RV_JOB_START */
	rv_member_job_done(&n->m);
	switch (n->state) {
	case RV_NODE_COMPLETED:
	case RV_NODE_FAILED:
		node_set_state(n, RV_NODE_STOPPED);
		if (n->m.parent)
			rv_node_member_unterminal(n->m.parent, &n->m);
		start(n, ev->now);
		return;
	case RV_NODE_STOPPED:
		start(n, ev->now);
		return;
	case RV_NODE_WAITING:
	case RV_NODE_RUNNING:
	default:
		return;		/* on its way up already */
	}
}

static void member_down(struct rv_node *n, const struct node_ev *ev)
{
	advance(n, ev->now);
}

static void on_node_timer(struct rv_loop *loop, struct rv_timer *t,
			  int64_t now, void *ctx)
{
	struct node_ev ev = { .type = EV_TIMER, .now = now };

	dispatch(ctx, &ev);
}

/* Intensity exceeded: stop everything, then fail to the parent. */
static void node_fail(struct rv_node *n, int64_t now)
{
	char w[32];

	rv_log_sup(RV_LOG_ERROR, n->m.name, "intensity_exceeded",
		   " max_restarts=%u restart_window=%s",
		   n->spec->intensity.max_restarts,
		   rv_format_duration(n->spec->intensity.window_ns, w,
				      sizeof(w)));
	if (!n->m.parent) {
		rv_supervisor_fail(n->sv, now, "intensity_exceeded");
		return;
	}
	n->fail_reason = "intensity_exceeded";
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_FAIL;
	for (size_t i = 0; i < n->n_members; i++)
		n->members[i]->in_op = false;
	queue_member_jobs(n, RV_JOB_STOP_GROUP, false, now);
	advance(n, now);
}

/* A subtree failed as a unit and is down: its parent decides. */
static void node_child_failed(struct rv_node *p, struct rv_node *n,
			      int64_t now)
{
	rv_log_sup(RV_LOG_ERROR, n->m.name, "failed", " reason=%s parent=%s",
		   n->fail_reason ? n->fail_reason : "failed", p->m.name);
	if (n->m.critical) {
		rv_log_sup(RV_LOG_ERROR, n->m.name, "critical_failed", "%s",
			   "");
		rv_supervisor_fail(n->sv, now, "critical_failed");
		return;
	}
	rv_node_member_wants_restart(p, &n->m, 0, "subtree_failed", now);
}

static void group_restart(struct rv_node *n, struct rv_member *cause,
			  int64_t deadline, int64_t now)
{
	bool rest = n->spec->strategy == RV_REST_FOR_ONE;

	if (n->op == RV_OP_RESTART && deadline < n->op_deadline_ns)
		deadline = n->op_deadline_ns;
	rv_log_sup(RV_LOG_WARN, n->m.name, "group_restart",
		   " strategy=%s cause=%s delay_ms=%.3f",
		   strategy_names[n->spec->strategy], cause->name,
		   (double)(deadline - now) / 1e6);
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_RESTART;
	n->op_deadline_ns = deadline;
	/* rest_for_one: the cause and the members after it (an op in
	 * progress keeps its members: sets only grow) */
	for (size_t i = rest ? cause->index : 0; i < n->n_members; i++)
		n->members[i]->in_op = true;
	queue_member_jobs(n, RV_JOB_STOP_GROUP, true, now);
	advance(n, now);
}

/* EV_WANTS_RESTART while running: the strategy decides. */
static void strategy(struct rv_node *n, const struct node_ev *ev)
{
	struct rv_member *m = ev->m;
	int64_t now = ev->now;

	if (n->op == RV_OP_STOP || n->op == RV_OP_FAIL ||
	    rv_job_goes_down(n->m.job) ||
	    n->sv->state == RV_SUP_SHUTTING_DOWN) {
		advance(n, now);	/* going down anyway: no restart */
		return;
	}
	if (!rv_window_admit(&n->window, now)) {
		/* the member that broke its parent's intensity ends failed
		 * (with the node: no `completed`/`failed` of its own) */
		if (m->kind == RV_MEMBER_SERVICE) {
			((struct rv_service *)m)->fail_reason =
				"supervisor_intensity_exceeded";
			rv_service_set_state((struct rv_service *)m,
					     RV_SVC_FAILED);
		} else
			node_set_state((struct rv_node *)m, RV_NODE_FAILED);
		node_fail(n, now);
		return;
	}
	n->restarts++;
	if (n->spec->strategy == RV_ONE_FOR_ONE && n->op == RV_OP_NONE) {
		struct rv_service *s = rv_member_service(m);

		if (s) {
			/* after the respawn, in its place (log.h) */
			unsigned int nth = s->restarts + 1;
			struct rv_log_mark mark;
			char ms[32];

			rv_log_mark(&mark);
			rv_service_restart_after(s, ev->delay, now);
			rv_log_at(&mark, RV_LOG_INFO, "service", s->name,
				  "restart_scheduled",
				  " delay_ms=%s restarts=%u reason=%s",
				  rv_format_fixed3(ev->delay, 1000000, ms,
						   sizeof(ms)),
				  nth, ev->why);
		} else {
			rv_log_sup(RV_LOG_WARN, n->m.name, "group_restart",
				   " strategy=%s cause=%s subtree=%s"
				   " delay_ms=0 reason=%s",
				   strategy_names[n->spec->strategy], m->name,
				   m->name, ev->why);
			rv_member_request(m, RV_JOB_START, now);
		}
		return;
	}
	group_restart(n, m, rv_deadline_after(now, ev->delay), now);
}

/* EV_WANTS_RESTART while not running: nothing restarts it now. */
static void no_restart(struct rv_node *n, const struct node_ev *ev)
{
	advance(n, ev->now);
}

/* EV_MEMBER_TERMINAL. */
static void member_terminal(struct rv_node *n, const struct node_ev *ev)
{
	struct rv_supervisor *sv = n->sv;
	struct rv_member *m = ev->m;

	if (ev->failed)
		n->any_failed = true;
	if (ev->failed && m->critical) {
		rv_log(RV_LOG_ERROR, m->kind == RV_MEMBER_SERVICE ?
		       "service" : "supervisor", m->name, "critical_failed",
		       "%s", "");
		rv_supervisor_fail(sv, ev->now, "critical_failed");
		return;
	}
	rv_member_notify_dependents(m, ev->now);
	if (n->op != RV_OP_NONE) {
		advance(n, ev->now);
		return;
	}
	if (n->n_terminal < n->n_members || n->state != RV_NODE_RUNNING ||
	    rv_job_goes_down(n->m.job) || sv->state == RV_SUP_SHUTTING_DOWN)
		return;
	node_finished(n, ev->now);	/* every member ended on its own */
}

static void timer_due(struct rv_node *n, const struct node_ev *ev)
{
	advance(n, ev->now);
}

static void deps_changed(struct rv_node *n, const struct node_ev *ev)
{
	start(n, ev->now);
}

static void ignore(struct rv_node *n, const struct node_ev *ev)
{
}

static void impossible(struct rv_node *n, const struct node_ev *ev)
{
	rv_log_sup(RV_LOG_ERROR, n->m.name, "state_machine_bug",
		   " state=%s event=%s", rv_node_state_name(n->state),
		   event_names[ev->type]);
	assert(!"impossible node state x event");
}

/*
 * The table.  A member may report down or terminal in any state (a
 * reload's removal, a dependency failing while the node waits); only a
 * running node restarts anything.  docs/state-machine.md shows it.
 */
struct cell {
	node_action *fn;
	const char *name;
};

#define C(fn) { fn, #fn }
#define ROW(job, down, restart, term, timer, deps) \
	{ C(job), C(down), C(restart), C(term), C(timer), C(deps) }

static const struct cell table[RV_NODE_NSTATES][EV_N] = {
	[RV_NODE_STOPPED] = ROW(run_job, member_down, no_restart,
				member_terminal, timer_due, ignore),
	[RV_NODE_WAITING] = ROW(run_job, member_down, no_restart,
				member_terminal, impossible, deps_changed),
	[RV_NODE_RUNNING] = ROW(run_job, member_down, strategy,
				member_terminal, timer_due, ignore),
	[RV_NODE_COMPLETED] = ROW(run_job, member_down, no_restart,
				  member_terminal, timer_due, ignore),
	[RV_NODE_FAILED] = ROW(run_job, member_down, no_restart,
			       member_terminal, timer_due, ignore),
};

static const char *const event_names[EV_N] = {
	[EV_JOB] = "job", [EV_MEMBER_DOWN] = "member_down",
	[EV_WANTS_RESTART] = "member_wants_restart",
	[EV_MEMBER_TERMINAL] = "member_ended", [EV_TIMER] = "timer",
	[EV_DEPS] = "deps",
};

static void dispatch(struct rv_node *n, const struct node_ev *ev)
{
	table[n->state][ev->type].fn(n, ev);
}

bool rv_node_table_complete(void)
{
	for (int st = 0; st < RV_NODE_NSTATES; st++)
		for (int ev = 0; ev < EV_N; ev++)
			if (!table[st][ev].fn || !table[st][ev].name)
				return false;
	return true;
}

int rv_node_table_events(void)
{
	return EV_N;
}

const char *rv_node_table_event(int ev)
{
	return ev >= 0 && ev < EV_N ? event_names[ev] : NULL;
}

const char *rv_node_table_action(int state, int ev)
{
	if (state < 0 || state >= RV_NODE_NSTATES || ev < 0 || ev >= EV_N)
		return NULL;
	return table[state][ev].name;
}

/* ---- entry points ---- */

void rv_node_init(struct rv_node *n)
{
	rv_timer_init(&n->timer, on_node_timer, n);
}

void rv_node_run_job(struct rv_node *n, int64_t now)
{
	struct node_ev ev = { .type = EV_JOB, .now = now };

	dispatch(n, &ev);
}

void rv_node_member_down(struct rv_node *n, struct rv_member *m, int64_t now)
{
	struct node_ev ev = { .type = EV_MEMBER_DOWN, .now = now, .m = m };

	dispatch(n, &ev);
}

void rv_node_member_wants_restart(struct rv_node *n, struct rv_member *m,
				  int64_t delay, const char *why, int64_t now)
{
	struct node_ev ev = { .type = EV_WANTS_RESTART, .now = now, .m = m,
			      .delay = delay, .why = why };

	dispatch(n, &ev);
}

void rv_node_member_terminal(struct rv_node *n, struct rv_member *m,
			     bool failed, int64_t now)
{
	struct node_ev ev = { .type = EV_MEMBER_TERMINAL, .now = now, .m = m,
			      .failed = failed };

	dispatch(n, &ev);
}

void rv_node_deps_changed(struct rv_node *n, int64_t now)
{
	struct node_ev ev = { .type = EV_DEPS, .now = now };

	dispatch(n, &ev);
}

void rv_node_member_unterminal(struct rv_node *n, struct rv_member *m)
{
	/* a member of a finished subtree runs again: so does the subtree */
	if (!node_state_terminal(n->state))
		return;
	node_set_state(n, RV_NODE_RUNNING);
	if (n->m.parent)
		rv_node_member_unterminal(n->m.parent, &n->m);
}

void rv_node_unlink(struct rv_node *n, struct rv_member *m)
{
	for (size_t i = 0; i < n->n_members; i++) {
		if (n->members[i] != m)
			continue;
		if (rv_member_is_terminal(m))
			n->n_terminal--;
		for (size_t k = i + 1; k < n->n_members; k++) {
			n->members[k - 1] = n->members[k];
			n->members[k - 1]->index = (uint32_t)(k - 1);
		}
		n->n_members--;
		return;
	}
}

/* Reload removed n and every member is gone: out of the tree. */
static void forget(struct rv_node *n, int64_t now)
{
	struct rv_supervisor *sv = n->sv;
	struct rv_node *p = n->m.parent;
	struct rv_member *succ = rv_member_successor(n->sv, &n->m);

	rv_log_sup(RV_LOG_INFO, n->m.name, "removed", "%s", "");
	rv_loop_timer_cancel(sv->loop, &n->timer);
	rv_node_unlink(p, &n->m);
	rv_tree_remove_node(sv, n);
	rv_reload_job_done(sv, now);
	if (succ)
		succ->replaces = NULL;
	rv_node_destroy(n);
	rv_node_member_down(p, NULL, now);
	if (succ)
		rv_member_deps_changed(succ, now);
}
