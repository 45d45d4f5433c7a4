/* SPDX-License-Identifier: MIT */
/*
 * `after` ordering.  "Up" means started for simple services (readiness
 * comes later when configured: `running`), completed for oneshot, and
 * every member up for a nested supervisor.  A member waits until its
 * dependencies are up; one whose dependency failed for good fails too,
 * rather than waiting forever.  A member that a reload moved between
 * supervisors also waits for the member it replaces to be gone.
 */
#include "tree/supervisor.h"
#include "tree/tree.h"

bool rv_member_is_up(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_is_up((const struct rv_service *)m);
	return rv_node_is_up((const struct rv_node *)m);
}

int rv_member_deps_state(const struct rv_member *m,
			 const struct rv_member **failed)
{
	int state = m->replaces ? 0 : 1;

	for (size_t i = 0; i < m->n_deps; i++) {
		const struct rv_member *d = m->deps[i];

		if (rv_member_is_up(d))
			continue;
		if (rv_member_is_failed(d)) {
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
	return ((const struct rv_node *)m)->state == RV_NODE_WAITING;
}

void rv_member_notify_dependents(struct rv_member *m, int64_t now)
{
	/* a member coming up may complete its ancestors too */
	for (struct rv_member *x = m; x; x = x->parent ? &x->parent->m : NULL) {
		for (size_t i = 0; i < x->n_dependents; i++) {
			struct rv_member *d = x->dependents[i];

			if (member_waiting(d))
				rv_member_deps_changed(d, now);
		}
	}
}
