/* SPDX-License-Identifier: MIT */
/*
 * A supervisor node: strategies, restart intensity and escalation, OTP
 * style.  Every restart a node performs counts against its intensity; a
 * node that exceeds it stops all its members and fails as a unit to its
 * parent, whose own strategy and intensity decide what happens next.  The
 * top node failing fails the whole supervisor.
 *
 * Group operations (one_for_all / rest_for_one restarts, stops, failures)
 * are asynchronous: node_advance() stops one member at a time, newest
 * start first, and runs again whenever a member goes down.  This path may
 * scan the node's own members; the one_for_one hot path never does.
 */
#include <stdio.h>

#include "config/parse.h"
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/deadline.h"
#include "util/log.h"

static const char *const node_state_names[] = {
	[RV_NODE_STOPPED] = "stopped", [RV_NODE_RUNNING] = "running",
	[RV_NODE_COMPLETED] = "completed", [RV_NODE_FAILED] = "failed",
};

static const char *const strategy_names[] = {
	[RV_ONE_FOR_ONE] = "one_for_one", [RV_ONE_FOR_ALL] = "one_for_all",
	[RV_REST_FOR_ONE] = "rest_for_one",
};

const char *rv_node_state_name(enum rv_node_state s)
{
	return node_state_names[s];
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
}

bool rv_node_in_op_set(const struct rv_node *n, const struct rv_member *m)
{
	return n->op != RV_OP_NONE && m->index >= n->op_from;
}

bool rv_node_is_down(const struct rv_node *n)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (!rv_member_is_down(n->members[i]))
			return false;
	return true;
}

static bool member_is_stopping(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->state ==
		       RV_SVC_STOPPING;
	const struct rv_node *n = (const struct rv_node *)m;

	return n->op == RV_OP_STOP || n->op == RV_OP_FAIL;
}

static bool member_stop(struct rv_member *m, int64_t now)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_stop((struct rv_service *)m, now);
	return rv_node_stop((struct rv_node *)m, now);
}

static void member_start(struct rv_member *m, int64_t now)
{
	if (m->kind == RV_MEMBER_SERVICE)
		rv_service_start((struct rv_service *)m, now);
	else
		rv_node_start((struct rv_node *)m, now);
}

static void node_child_failed(struct rv_node *p, struct rv_node *n,
			      int64_t now);

/* Starts members [from..] again once a RESTART's stop phase is over. */
static void restart_set(struct rv_node *n, int64_t now)
{
	uint32_t from = n->op_from;

	n->op = RV_OP_NONE;
	for (size_t i = from; i < n->n_members; i++) {
		struct rv_member *m = n->members[i];

		if (rv_member_is_terminal(m))
			continue;	/* completed/failed stay so */
		member_start(m, now);
		if (n->op != RV_OP_NONE)
			break;	/* a start failed into a new group op */
	}
}

static void node_advance(struct rv_node *n, int64_t now)
{
	struct rv_supervisor *sv = n->sv;

	if (n->advancing)
		return;
	n->advancing = true;
	while (n->op != RV_OP_NONE) {
		struct rv_member *best = NULL;
		bool busy = false;
		uint32_t from = n->op == RV_OP_RESTART ? n->op_from : 0;

		for (size_t i = from; i < n->n_members; i++) {
			struct rv_member *m = n->members[i];

			if (rv_member_is_down(m))
				continue;
			if (member_is_stopping(m)) {
				busy = true;
				break;
			}
			if (!best || m->start_seq > best->start_seq)
				best = m;
		}
		if (busy)
			break;
		if (best) {
			if (!member_stop(best, now))
				break;	/* wait for it to go down */
			continue;
		}
		/* everything in the set is down */
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

		n->op = RV_OP_NONE;
		if (!node_state_terminal(n->state))
			node_set_state(n, RV_NODE_STOPPED);
		n->advancing = false;
		if (!n->m.parent)
			rv_supervisor_top_down(sv, now);
		else if (op == RV_OP_FAIL)
			node_child_failed(n->m.parent, n, now);
		else
			rv_node_member_down(n->m.parent, &n->m, now);
		return;
	}
	n->advancing = false;
}

static void on_node_timer(struct rv_loop *loop, struct rv_timer *t,
			  int64_t now, void *ctx)
{
	node_advance(ctx, now);
}

void rv_node_init_timer(struct rv_node *n);
void rv_node_init_timer(struct rv_node *n)
{
	rv_timer_init(&n->timer, on_node_timer, n);
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

void rv_node_start(struct rv_node *n, int64_t now)
{
	const struct rv_member *bad = NULL;
	int deps;

	if (n->sv->state == RV_SUP_SHUTTING_DOWN)
		return;
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
		n->waiting = true;	/* see rv_member_notify_dependents() */
		return;
	}
	n->waiting = false;
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_NONE;
	n->m.start_seq = ++n->sv->seq;
	reset_subtree(n);
	node_set_state(n, RV_NODE_RUNNING);
	for (size_t i = 0; i < n->n_members; i++) {
		member_start(n->members[i], now);
		if (n->state != RV_NODE_RUNNING || n->op != RV_OP_NONE ||
		    n->sv->state == RV_SUP_SHUTTING_DOWN)
			break;	/* a start failed all the way up */
	}
	if (n->n_members == 0 && n->state == RV_NODE_RUNNING) {
		node_set_state(n, RV_NODE_COMPLETED);
		if (n->m.parent)
			rv_node_member_terminal(n->m.parent, &n->m, false,
						now);
		else
			rv_supervisor_top_terminal(n->sv, false, now);
	}
}

bool rv_node_stop(struct rv_node *n, int64_t now)
{
	if (n->op == RV_OP_STOP || n->op == RV_OP_FAIL)
		return false;
	n->waiting = false;
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_STOP;
	n->op_from = 0;
	node_advance(n, now);
	return n->op == RV_OP_NONE;
}

void rv_node_member_down(struct rv_node *n, struct rv_member *m, int64_t now)
{
	node_advance(n, now);
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
	n->op_from = 0;
	node_advance(n, now);
}

/* A subtree failed as a unit and is down: its parent decides. */
static void node_child_failed(struct rv_node *p, struct rv_node *n,
			      int64_t now)
{
	rv_log_sup(RV_LOG_ERROR, n->m.name, "failed", " reason=%s parent=%s",
		   n->fail_reason ? n->fail_reason : "failed", p->m.name);
	if (n->m.critical) {
		node_set_state(n, RV_NODE_FAILED);
		rv_log_sup(RV_LOG_ERROR, n->m.name, "critical_failed", "%s",
			   "");
		rv_supervisor_fail(n->sv, now, "critical_failed");
		return;
	}
	rv_node_member_wants_restart(p, &n->m, 0, "subtree_failed", now);
}

static void group_restart(struct rv_node *n, struct rv_member *cause,
			  uint32_t from, int64_t deadline, int64_t now)
{
	if (n->op == RV_OP_RESTART) {
		if (from > n->op_from)
			from = n->op_from;
		if (deadline < n->op_deadline_ns)
			deadline = n->op_deadline_ns;
	}
	rv_log_sup(RV_LOG_WARN, n->m.name, "group_restart",
		   " strategy=%s cause=%s delay_ms=%.3f",
		   strategy_names[n->spec->strategy], cause->name,
		   (double)(deadline - now) / 1e6);
	rv_loop_timer_cancel(n->sv->loop, &n->timer);
	n->op = RV_OP_RESTART;
	n->op_from = from;
	n->op_deadline_ns = deadline;
	node_advance(n, now);
}

void rv_node_member_wants_restart(struct rv_node *n, struct rv_member *m,
				  int64_t delay, const char *why, int64_t now)
{
	if (n->op == RV_OP_STOP || n->op == RV_OP_FAIL ||
	    n->sv->state == RV_SUP_SHUTTING_DOWN) {
		rv_node_member_down(n, m, now);
		return;
	}
	if (!rv_window_admit(&n->window, now)) {
		/* the member that broke its parent's intensity ends failed */
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
			rv_service_restart_after(s, delay, now);
			rv_log_at(&mark, RV_LOG_INFO, "service", s->name,
				  "restart_scheduled",
				  " delay_ms=%s restarts=%u reason=%s",
				  rv_format_fixed3(delay, 1000000, ms,
						   sizeof(ms)),
				  nth, why);
		} else {
			rv_log_sup(RV_LOG_WARN, n->m.name, "group_restart",
				   " strategy=%s cause=%s subtree=%s"
				   " delay_ms=0 reason=%s",
				   strategy_names[n->spec->strategy], m->name,
				   m->name, why);
			rv_node_start((struct rv_node *)m, now);
		}
		return;
	}
	group_restart(n, m,
		      n->spec->strategy == RV_ONE_FOR_ALL ? 0 : m->index,
		      rv_deadline_after(now, delay), now);
}

void rv_node_member_terminal(struct rv_node *n, struct rv_member *m,
			     bool failed, int64_t now)
{
	struct rv_supervisor *sv = n->sv;

	if (failed)
		n->any_failed = true;
	if (failed && m->critical) {
		rv_log(RV_LOG_ERROR, m->kind == RV_MEMBER_SERVICE ?
		       "service" : "supervisor", m->name, "critical_failed",
		       "%s", "");
		rv_supervisor_fail(sv, now, "critical_failed");
		return;
	}
	rv_member_notify_dependents(m, now);
	if (n->op != RV_OP_NONE) {
		node_advance(n, now);
		return;
	}
	if (n->n_terminal < n->n_members || n->state != RV_NODE_RUNNING ||
	    sv->state == RV_SUP_SHUTTING_DOWN)
		return;
	/* every member ended on its own: so does the node */
	node_set_state(n, n->any_failed ? RV_NODE_FAILED : RV_NODE_COMPLETED);
	rv_log_sup(n->any_failed ? RV_LOG_WARN : RV_LOG_INFO, n->m.name,
		   n->any_failed ? "failed" : "completed", "%s",
		   n->any_failed ? " reason=services_failed" : "");
	if (!n->m.parent)
		rv_supervisor_top_terminal(sv, n->any_failed, now);
	else
		rv_node_member_terminal(n->m.parent, &n->m, n->any_failed,
					now);
}

void rv_node_member_unterminal(struct rv_node *n, struct rv_member *m)
{
	/* a member of a finished subtree runs again: so does the subtree */
	if (n->state != RV_NODE_COMPLETED && n->state != RV_NODE_FAILED)
		return;
	node_set_state(n, RV_NODE_RUNNING);
	if (n->m.parent)
		rv_node_member_unterminal(n->m.parent, &n->m);
}

void rv_node_resume(struct rv_node *n, int64_t now)
{
	n->m.start_seq = ++n->sv->seq;
	node_set_state(n, RV_NODE_RUNNING);
	for (size_t i = 0; i < n->n_members; i++) {
		struct rv_member *m = n->members[i];
		struct rv_service *s = rv_member_service(m);

		if (!s) {
			rv_node_resume((struct rv_node *)m, now);
			continue;
		}
		if (s->held || rv_service_is_terminal(s))
			continue;
		if (s->state == RV_SVC_STOPPING)
			s->start_after_stop = true;	/* group op lost */
		else if (s->state == RV_SVC_STOPPED ||
			 s->state == RV_SVC_WAITING ||
			 (s->state == RV_SVC_BACKOFF &&
			  !rv_timer_is_armed(&s->timer)))
			rv_service_start(s, now);
	}
}
