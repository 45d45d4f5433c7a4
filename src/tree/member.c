/* SPDX-License-Identifier: MIT */
/*
 * Requests on a member of either kind: the job is merged (job.h) and the
 * member's own state machine carries it out (service.c, node.c).  Also
 * the member-level bookkeeping shared by both kinds: `held`, and whether
 * it still keeps the supervisor `starting`.
 */
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/log.h"

static void run_job(struct rv_member *m, int64_t now)
{
	if (m->kind == RV_MEMBER_SERVICE)
		rv_service_run_job((struct rv_service *)m, now);
	else
		rv_node_run_job((struct rv_node *)m, now);
}

static struct rv_supervisor *sv_of(const struct rv_member *m)
{
	return m->kind == RV_MEMBER_SERVICE ?
	       ((const struct rv_service *)m)->sv :
	       ((const struct rv_node *)m)->sv;
}

static enum rv_job_verdict request(struct rv_member *m, enum rv_job_type req,
				   bool queued, int64_t now)
{
	enum rv_job_type before = m->job, job = m->job;
	enum rv_job_verdict v = rv_job_merge(&job, req);

	bool changed = v != RV_JOB_REFUSED && v != RV_JOB_ABSORBED;

	m->job = (uint8_t)job;
	/* a job run by the parent in its own order, or one to run now */
	if (changed)
		m->queued = queued && rv_job_goes_down(m->job);
	rv_log(RV_LOG_DEBUG, m->kind == RV_MEMBER_SERVICE ? "service" :
	       "supervisor", m->name, "job", " pending=%s request=%s"
	       " verdict=%s job=%s%s", rv_job_name(before), rv_job_name(req),
	       rv_job_verdict_name(v), rv_job_name(m->job),
	       m->queued ? " queued=true" : "");
	if (!changed)
		return v;
	rv_member_update_settled(m);
	run_job(m, now);
	return v;
}

enum rv_job_verdict rv_member_request(struct rv_member *m,
				      enum rv_job_type req, int64_t now)
{
	return request(m, req, false, now);
}

enum rv_job_verdict rv_member_request_queued(struct rv_member *m,
					     enum rv_job_type req, int64_t now)
{
	return request(m, req, true, now);
}

bool rv_member_run_queued(struct rv_member *m, int64_t now)
{
	m->queued = false;
	run_job(m, now);
	return rv_member_is_down(m);
}

void rv_member_job_done(struct rv_member *m)
{
	m->job = RV_JOB_NONE;
	m->queued = false;
	rv_member_update_settled(m);
}

void rv_member_set_held(struct rv_member *m, bool held)
{
	m->held = held;
	rv_member_update_settled(m);
}

struct rv_member *rv_member_successor(struct rv_supervisor *sv,
				      const struct rv_member *m)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (sv->svcs[i]->m.replaces == m)
			return &sv->svcs[i]->m;
	for (size_t i = 1; i < sv->n_nodes; i++)
		if (sv->nodes[i]->m.replaces == m)
			return &sv->nodes[i]->m;
	return NULL;
}

void rv_member_deps_changed(struct rv_member *m, int64_t now)
{
	if (m->kind == RV_MEMBER_SERVICE)
		rv_service_deps_changed((struct rv_service *)m, now);
	else
		rv_node_deps_changed((struct rv_node *)m, now);
}

bool rv_member_is_down(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_is_down((const struct rv_service *)m);
	return rv_node_is_down((const struct rv_node *)m);
}

bool rv_member_is_stopping(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->state ==
		       RV_SVC_STOPPING;
	const struct rv_node *n = (const struct rv_node *)m;

	/* a queued stop has not begun: its parent has yet to run it */
	return (n->op == RV_OP_STOP || n->op == RV_OP_FAIL) &&
	       !m->queued && !rv_node_is_down(n);
}

bool rv_member_is_terminal(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return rv_service_is_terminal((const struct rv_service *)m);
	const struct rv_node *n = (const struct rv_node *)m;

	return n->state == RV_NODE_COMPLETED || n->state == RV_NODE_FAILED;
}

bool rv_member_is_failed(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->state == RV_SVC_FAILED;
	return ((const struct rv_node *)m)->state == RV_NODE_FAILED;
}

/*
 * A service keeps the supervisor `starting` until it has been up once,
 * is held down by an admin, or ended for good (a non-critical failure
 * does not block `alive`; a critical one ends the run anyway).  Nodes
 * count through their services.
 */
static bool unsettled(const struct rv_member *m)
{
	if (m->kind != RV_MEMBER_SERVICE)
		return false;
	return !m->was_up && !m->held && m->job != RV_JOB_REMOVE &&
	       !rv_member_is_terminal(m);
}

void rv_member_update_settled(struct rv_member *m)
{
	struct rv_supervisor *sv = sv_of(m);
	bool u = unsettled(m);

	if (u == m->unsettled)
		return;
	m->unsettled = u;
	if (u) {
		sv->n_unsettled++;
		return;
	}
	sv->n_unsettled--;
	if (!sv->n_unsettled)
		rv_supervisor_maybe_alive(sv);
}
