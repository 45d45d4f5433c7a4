/* SPDX-License-Identifier: MIT */
/*
 * `after` ordering.  "Up" means started for simple services (readiness
 * comes later), completed for oneshot, and every member up for a nested
 * supervisor.  A member waits until its dependencies are up; one whose
 * dependency failed for good fails too, rather than waiting forever.
 */
#include "tree/supervisor.h"
#include "tree/tree.h"

bool rv_member_is_terminal(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_is_terminal((const struct rv_service *)m);
	const struct rv_node *n = (const struct rv_node *)m;

	return n->state == RV_NODE_COMPLETED || n->state == RV_NODE_FAILED;
}

bool rv_member_is_down(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_is_down((const struct rv_service *)m);
	const struct rv_node *n = (const struct rv_node *)m;

	return n->op != RV_OP_STOP && n->op != RV_OP_FAIL &&
	       rv_node_is_down(n);
}

static bool member_failed(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->state == RV_SVC_FAILED;
	return ((const struct rv_node *)m)->state == RV_NODE_FAILED;
}

bool rv_member_is_up(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE) {
		const struct rv_service *s = (const struct rv_service *)m;

		if (s->state == RV_SVC_COMPLETED)
			return true;
		return s->state == RV_SVC_RUNNING &&
		       s->spec->type != RV_TYPE_ONESHOT;
	}
	const struct rv_node *n = (const struct rv_node *)m;

	if (n->state == RV_NODE_COMPLETED)
		return true;
	if (n->state != RV_NODE_RUNNING || n->op != RV_OP_NONE)
		return false;
	for (size_t i = 0; i < n->n_members; i++)
		if (!rv_member_is_up(n->members[i]))
			return false;
	return true;
}

int rv_member_deps_state(const struct rv_member *m,
			 const struct rv_member **failed)
{
	int state = 1;

	for (size_t i = 0; i < m->n_deps; i++) {
		const struct rv_member *d = m->deps[i];

		if (rv_member_is_up(d))
			continue;
		if (member_failed(d)) {
			*failed = d;
			return -1;
		}
		state = 0;
	}
	return state;
}

static bool member_waiting(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->state ==
		       RV_SVC_WAITING;
	const struct rv_node *n = (const struct rv_node *)m;

	return n->waiting;
}

void rv_member_notify_dependents(struct rv_member *m, int64_t now)
{
	/* a member coming up may complete its ancestors too */
	for (struct rv_member *x = m; x; x = x->parent ? &x->parent->m : NULL) {
		for (size_t i = 0; i < x->n_dependents; i++) {
			struct rv_member *d = x->dependents[i];

			if (!member_waiting(d))
				continue;
			if (d->kind == RV_MEMBER_SERVICE)
				rv_service_start((struct rv_service *)d, now);
			else
				rv_node_start((struct rv_node *)d, now);
		}
	}
}
