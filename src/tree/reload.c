/* SPDX-License-Identifier: MIT */
/*
 * `reload` and SIGHUP: a diff applied to the live tree, in place.
 *
 * A config with errors is refused with all of them and nothing is
 * touched.  Otherwise each instance of the old tree is matched by name
 * against the new config:
 *   - unchanged (same section fingerprint, `instances` aside, same
 *     supervisor): nothing at all happens to it; its object, process,
 *     readiness in progress, timers, counters and backoff stay;
 *   - changed: a RESTART job carrying its new build (built now, swapped in
 *     when it is down, service.c);
 *   - removed (or an instance above the new count): a REMOVE job (stop,
 *     then forget);
 *   - moved to another supervisor: a REMOVE of the old member plus a new
 *     member that starts once the old one is gone (`replaces`);
 *   - new: a new member with a START job (honouring `after`).
 * Supervisor sections: unchanged or changed in place (strategy,
 * intensity, critical, after: state kept), removed (REMOVE once its
 * members are gone), moved (remove plus add, its members with it), new.
 *
 * Everything that needs memory (specs, builds, link arrays) is made
 * before anything changes, so running out of memory refuses the reload
 * and leaves the tree as it was.
 *
 * A reload requested while the jobs of another are pending is queued and
 * runs, re-reading the file, when they are done (several coalesce into
 * one); during shutdown it is refused.  backend, control_socket,
 * control_group, http_listen, timer_precision and realtime_priority need
 * a restart of ringvisor: a change to them is reported.
 */
#include "tree/reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tree/build.h"
#include "tree/links.h"
#include "tree/sockets.h"
#include "tree/roll.h"
#include "tree/specset.h"
#include "tree/supervisor.h"
#include "util/log.h"

enum fate { KEEP, CHANGE, REMOVE, MOVE };

struct svc_plan {
	struct rv_service *s;
	enum fate fate;
	const struct rv_service_spec *nspec;	/* KEEP, CHANGE, MOVE */
	struct rv_service *fresh;		/* CHANGE: the new build */
	struct rv_service *succ;		/* MOVE: the new member */
};

struct node_plan {
	struct rv_node *n;
	enum fate fate;				/* KEEP or REMOVE/MOVE */
	const struct rv_group_spec *ng;		/* KEEP */
	struct rv_window window;		/* KEEP, intensity changed */
	bool new_window;
	struct rv_node *succ;			/* MOVE */
	int depth;
};

struct plan {
	struct rv_specset *set;
	struct svc_plan *svcs;			/* one per old service */
	struct node_plan *nodes;		/* one per old node */
	struct rv_service **added;		/* new services */
	size_t n_added;
	struct rv_node **new_nodes;
	size_t n_new_nodes;
	struct rv_node **fnodes;		/* future nodes: old kept,
						 * new, leaving */
	size_t n_fnodes;
	struct rv_service **fsvcs;		/* future sv->svcs */
	size_t n_fsvcs;
	struct rv_links links;
	struct rv_socket_set sockets;		/* the new config's, bound */
};

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/*
 * Name lookups over thousands of services: sorted arrays and bsearch, so
 * a reload costs O(n log n), not a strcmp per pair.
 */
static int cmp_spec(const void *a, const void *b)
{
	return strcmp((*(const struct rv_service_spec *const *)a)->name,
		      (*(const struct rv_service_spec *const *)b)->name);
}

static int cmp_plan(const void *a, const void *b)
{
	return strcmp((*(const struct svc_plan *const *)a)->s->name,
		      (*(const struct svc_plan *const *)b)->s->name);
}

static const struct rv_service_spec *find_spec(
	const struct rv_service_spec *const *by_name, size_t n,
	const char *name)
{
	struct rv_service_spec key = { .name = (char *)name };
	const struct rv_service_spec *kp = &key;
	const struct rv_service_spec *const *hit;

	hit = bsearch(&kp, by_name, n, sizeof(*by_name), cmp_spec);
	return hit ? *hit : NULL;
}

static const struct rv_group_spec *find_group(const struct rv_specs *sp,
					      const char *name)
{
	for (size_t i = 0; i < sp->n_groups; i++)
		if (!strcmp(sp->groups[i].name, name))
			return &sp->groups[i];
	return NULL;
}

static int node_depth(const struct rv_node *n)
{
	int d = 0;

	for (; n->m.parent; n = n->m.parent)
		d++;
	return d;
}

static struct node_plan *node_plan_of(struct plan *p, size_t n_old,
				      struct rv_supervisor *sv,
				      const struct rv_node *n)
{
	for (size_t i = 0; i < n_old; i++)
		if (sv->nodes[i] == n)
			return &p->nodes[i];
	return NULL;
}

/* The node a section names in the future tree (kept or new), else top. */
static struct rv_node *future_parent(struct plan *p, struct rv_supervisor *sv,
				     size_t n_old, const char *name)
{
	if (!name)
		return sv->nodes[0];
	for (size_t i = 1; i < n_old; i++)
		if (p->nodes[i].fate == KEEP &&
		    !strcmp(sv->nodes[i]->m.name, name))
			return sv->nodes[i];
	for (size_t i = 0; i < p->n_new_nodes; i++)
		if (!strcmp(p->new_nodes[i]->m.name, name))
			return p->new_nodes[i];
	return sv->nodes[0];
}

/* Fates of the old nodes: parents first (a moved parent moves its
 * children too). */
static void plan_node_fates(struct plan *p, struct rv_supervisor *sv)
{
	const struct rv_specs *nsp = &p->set->specs;
	bool changed = true;

	p->nodes[0] = (struct node_plan){ .n = sv->nodes[0], .fate = KEEP,
					  .ng = &nsp->top };
	for (size_t i = 1; i < sv->n_nodes; i++) {
		struct rv_node *n = sv->nodes[i];
		const struct rv_group_spec *g = find_group(nsp, n->m.name);

		p->nodes[i] = (struct node_plan){ .n = n, .ng = g,
						  .depth = node_depth(n) };
		if (!g)
			p->nodes[i].fate = REMOVE;
		else if (!same_str(g->supervisor, n->spec->supervisor))
			p->nodes[i].fate = MOVE;
		else
			p->nodes[i].fate = KEEP;
	}
	/* a node under a node that leaves leaves too (moves along) */
	while (changed) {
		changed = false;
		for (size_t i = 1; i < sv->n_nodes; i++) {
			struct node_plan *np = &p->nodes[i];
			struct node_plan *pp = node_plan_of(p, sv->n_nodes, sv,
							    np->n->m.parent);

			if (np->fate == KEEP && pp && pp->fate != KEEP) {
				np->fate = MOVE;
				changed = true;
			}
		}
	}
}

static bool old_node_kept(struct plan *p, struct rv_supervisor *sv,
			  const char *name)
{
	for (size_t i = 1; i < sv->n_nodes; i++)
		if (p->nodes[i].fate == KEEP &&
		    !strcmp(sv->nodes[i]->m.name, name))
			return true;
	return false;
}

static int plan_nodes(struct plan *p, struct rv_supervisor *sv,
		      struct rv_build *b)
{
	const struct rv_specs *nsp = &p->set->specs;

	plan_node_fates(p, sv);
	/* new node objects: sections not kept (new or moved) */
	p->new_nodes = calloc(nsp->n_groups + 1, sizeof(*p->new_nodes));
	if (!p->new_nodes)
		return -ENOMEM;
	for (size_t i = 0; i < nsp->n_groups; i++) {
		const struct rv_group_spec *g = &nsp->groups[i];
		struct rv_node *n;

		if (old_node_kept(p, sv, g->name))
			continue;
		n = rv_node_new(b, g, p->set, g->name);
		if (!n)
			return -ENOMEM;
		p->new_nodes[p->n_new_nodes++] = n;
	}
	/* intensity changed in place: a new window, swapped at apply */
	for (size_t i = 0; i < sv->n_nodes; i++) {
		struct node_plan *np = &p->nodes[i];

		if (np->fate != KEEP ||
		    (np->ng->intensity.max_restarts ==
		     np->n->spec->intensity.max_restarts &&
		     np->ng->intensity.window_ns ==
		     np->n->spec->intensity.window_ns))
			continue;
		np->new_window = true;
		if (rv_window_init(&np->window, np->ng->intensity.max_restarts,
				   np->ng->intensity.window_ns, &b->rings))
			return -ENOMEM;
	}
	/* parents of new nodes: in the future tree */
	for (size_t i = 0; i < p->n_new_nodes; i++) {
		/* the first n_new_nodes entries are set above, never NULL */
		struct rv_node *nn = p->new_nodes[i];

		const char *parent = nn->spec->supervisor; // NOLINT(clang-analyzer-core.NullDereference)

		nn->m.parent = future_parent(p, sv, sv->n_nodes, parent);
	}
	for (size_t i = 1; i < sv->n_nodes; i++) {
		struct node_plan *np = &p->nodes[i];

		if (np->fate != MOVE)
			continue;
		for (size_t k = 0; k < p->n_new_nodes; k++)
			if (!strcmp(p->new_nodes[k]->m.name, np->n->m.name))
				np->succ = p->new_nodes[k];
	}
	return 0;
}

/* Does instance `s` of the old tree exist in the new config? */
static bool instance_exists(const struct rv_service *s,
			    const struct rv_service_spec *n)
{
	return s->instance < 0 ? n->instances == 1 :
	       n->instances > 1 && (uint32_t)s->instance < n->instances;
}

/* The plan of the old instance called name, or NULL. */
static struct svc_plan *find_old(struct svc_plan *const *by_name, size_t n,
				 const char *name)
{
	struct rv_service s = { .name = (char *)name };
	struct svc_plan key = { .s = &s }, *kp = &key, *const *hit;

	hit = bsearch(&kp, by_name, n, sizeof(*by_name), cmp_plan);
	return hit ? *hit : NULL;
}

static int plan_services(struct plan *p, struct rv_supervisor *sv,
			 struct rv_build *b)
{
	const struct rv_specs *nsp = &p->set->specs;
	const struct rv_service_spec **specs;
	struct svc_plan **olds;
	size_t n_new = 0;
	int ret = 0;

	specs = calloc(nsp->n_services + 1, sizeof(*specs));
	olds = calloc(sv->n_svcs + 1, sizeof(*olds));
	if (!specs || !olds) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nsp->n_services; i++)
		specs[i] = &nsp->services[i];
	qsort(specs, nsp->n_services, sizeof(*specs), cmp_spec);
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *s = sv->svcs[i];
		const struct rv_service_spec *n =
			find_spec(specs, nsp->n_services, s->spec->name);
		struct svc_plan *sp = &p->svcs[i];
		struct node_plan *pp = node_plan_of(p, sv->n_nodes, sv,
						    s->m.parent);

		*sp = (struct svc_plan){ .s = s, .nspec = n };
		olds[i] = sp;
		if (!n || !instance_exists(s, n))
			sp->fate = REMOVE;
		else if (!same_str(n->supervisor, s->spec->supervisor) ||
			 (pp && pp->fate != KEEP))
			sp->fate = MOVE;
		else if (n->fingerprint != s->spec->fingerprint)
			sp->fate = CHANGE;
		else
			sp->fate = KEEP;
		if (sp->fate == CHANGE) {
			sp->fresh = rv_service_new(b, n, p->set, s->instance);
			if (!sp->fresh) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	qsort(olds, sv->n_svcs, sizeof(*olds), cmp_plan);
	for (size_t i = 0; i < nsp->n_services; i++)
		n_new += nsp->services[i].instances;
	p->added = calloc(n_new ? n_new : 1, sizeof(*p->added));
	if (!p->added) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nsp->n_services; i++) {
		const struct rv_service_spec *n = &nsp->services[i];
		bool multi = n->instances > 1;

		for (uint32_t k = 0; k < n->instances; k++) {
			char name[RV_NAME_MAX + 16];
			struct svc_plan *op;
			struct rv_service *s;

			if (multi)
				snprintf(name, sizeof(name), "%s@%u", n->name,
					 k);
			else
				snprintf(name, sizeof(name), "%s", n->name);
			op = find_old(olds, sv->n_svcs, name);
			if (op && (op->fate == KEEP || op->fate == CHANGE))
				continue;
			s = rv_service_new(b, n, p->set, multi ? (int)k : -1);
			if (!s) {
				ret = -ENOMEM;
				goto out;
			}
			s->m.parent = future_parent(p, sv, sv->n_nodes,
						    n->supervisor);
			p->added[p->n_added++] = s;
			if (op && op->fate == MOVE) {
				op->succ = s;
				/* the old one's back edge waits for apply */
				s->m.replaces = &op->s->m;
			}
		}
	}
out:
	free(specs);
	free(olds);
	return ret;
}

/* Future member arrays and links (with the leaving members in them). */
static int plan_links(struct plan *p, struct rv_supervisor *sv)
{
	struct rv_links *l = &p->links;
	size_t cap_n = sv->n_nodes + p->n_new_nodes;
	size_t cap_s = sv->n_svcs + p->n_added;
	size_t o = 0;

	p->fnodes = calloc(cap_n ? cap_n : 1, sizeof(*p->fnodes));
	p->fsvcs = calloc(cap_s ? cap_s : 1, sizeof(*p->fsvcs));
	l->v = calloc(cap_n + cap_s + 1, sizeof(*l->v));
	if (!p->fnodes || !p->fsvcs || !l->v)
		return -ENOMEM;
	/* nodes: kept (top first), new, then leaving ones */
	for (size_t i = 0; i < sv->n_nodes; i++)
		if (p->nodes[i].fate == KEEP)
			p->fnodes[p->n_fnodes++] = sv->nodes[i];
	for (size_t i = 0; i < p->n_new_nodes; i++)
		p->fnodes[p->n_fnodes++] = p->new_nodes[i];
	for (size_t i = 1; i < sv->n_nodes; i++)
		if (p->nodes[i].fate != KEEP)
			p->fnodes[p->n_fnodes++] = sv->nodes[i];
	for (size_t i = 1; i < sv->n_nodes; i++) {
		struct node_plan *np = &p->nodes[i];
		struct rv_link_member *lm = &l->v[o++];

		if (np->fate == KEEP) {
			rv_links_fill_node(lm, np->n, np->ng,
					   future_parent(p, sv, sv->n_nodes,
							 np->ng->supervisor));
		} else {
			rv_links_fill_node(lm, np->n, np->n->spec,
					   np->n->m.parent);
			lm->leaving = true;
		}
	}
	for (size_t i = 0; i < p->n_new_nodes; i++)
		rv_links_fill_node(&l->v[o++], p->new_nodes[i],
				   p->new_nodes[i]->spec,
				   p->new_nodes[i]->m.parent);
	/* services: in the order of the new config, leaving ones last */
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct svc_plan *sp = &p->svcs[i];
		struct rv_link_member *lm = &l->v[o++];

		if (sp->fate == KEEP || sp->fate == CHANGE) {
			rv_links_fill_service(lm, sp->s, sp->nspec,
					      sp->s->m.parent);
			p->fsvcs[p->n_fsvcs++] = sp->s;
		} else {
			rv_links_fill_service(lm, sp->s, sp->s->spec,
					      sp->s->m.parent);
			lm->leaving = true;
		}
	}
	for (size_t i = 0; i < p->n_added; i++) {
		rv_links_fill_service(&l->v[o++], p->added[i],
				      p->added[i]->spec,
				      p->added[i]->m.parent);
		p->fsvcs[p->n_fsvcs++] = p->added[i];
	}
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (p->svcs[i].fate == REMOVE || p->svcs[i].fate == MOVE)
			p->fsvcs[p->n_fsvcs++] = p->svcs[i].s;
	l->n = o;
	l->nodes = p->fnodes;
	l->n_nodes = p->n_fnodes;
	return rv_links_plan(l);
}

static void plan_free(struct plan *p, struct rv_supervisor *sv, size_t n_svcs,
		      size_t n_nodes, bool applied)
{
	if (!applied) {
		for (size_t i = 0; p->svcs && i < n_svcs; i++)
			rv_service_destroy(p->svcs[i].fresh);
		for (size_t i = 0; p->added && i < p->n_added; i++)
			rv_service_destroy(p->added[i]);
		for (size_t i = 0; p->new_nodes && i < p->n_new_nodes; i++)
			rv_node_destroy(p->new_nodes[i]);
		for (size_t i = 0; p->nodes && i < n_nodes; i++)
			if (p->nodes[i].new_window)
				rv_window_free(&p->nodes[i].window);
		free(p->fnodes);
		free(p->fsvcs);
		rv_sockets_abort(&sv->sockets, &p->sockets);
		rv_specset_put(p->set);
	}
	rv_links_free(&p->links);
	free(p->svcs);
	free(p->nodes);
	free(p->added);
	free(p->new_nodes);
}

static int note(char ***v, size_t *n, const char *name)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return -ENOMEM;
	*v = grown;
	grown[*n] = strdup(name);
	if (!grown[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The reply's lists; made before anything changes. */
static int plan_report(struct plan *p, struct rv_supervisor *sv,
		       struct rv_reload_result *res)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < sv->n_svcs; i++) {
		struct svc_plan *sp = &p->svcs[i];

		if (sp->fate == CHANGE || (sp->fate == MOVE && sp->succ))
			ret = note(&res->restarted, &res->n_restarted,
				   sp->s->name);
		else if (sp->fate == REMOVE || sp->fate == MOVE)
			ret = note(&res->stopped, &res->n_stopped,
				   sp->s->name);
		else
			res->n_unchanged++;
	}
	for (size_t i = 0; !ret && i < p->n_added; i++)
		if (!p->added[i]->m.replaces)	/* moved: "restarted" */
			ret = note(&res->started, &res->n_started,
				   p->added[i]->name);
	return ret;
}

/* Deepest first: a removed node's removed children are gone before it. */
static void remove_nodes(struct plan *p, size_t n_old, int64_t now)
{
	int max_depth = 0;

	for (size_t i = 1; i < n_old; i++)
		if (p->nodes[i].fate != KEEP &&
		    p->nodes[i].depth > max_depth)
			max_depth = p->nodes[i].depth;
	for (int d = max_depth; d > 0; d--)
		for (size_t i = 1; i < n_old; i++)
			if (p->nodes[i].fate != KEEP &&
			    p->nodes[i].depth == d)
				rv_member_request(&p->nodes[i].n->m,
						  RV_JOB_REMOVE, now);
}

static void start_new_member(struct rv_member *m, int64_t now)
{
	/* a new member of a finished subtree makes it run again */
	if (m->parent && rv_member_is_terminal(&m->parent->m))
		rv_node_member_unterminal(m->parent, m);
	rv_member_request(m, RV_JOB_START, now);
}

/* No allocation from here on: the plan holds everything. */
static void apply(struct plan *p, struct rv_supervisor *sv, int64_t now)
{
	size_t n_old_svcs = sv->n_svcs, n_old_nodes = sv->n_nodes;
	struct rv_specset *old_set = sv->set;
	uint32_t jobs = 0;

	/* the old config's sockets that went are closed while it lives
	 * (their paths are in it); the kept ones keep their fds */
	rv_sockets_commit(&sv->sockets, &p->sockets);
	sv->set = p->set;
	sv->specs = &p->set->specs;
	p->set = NULL;
	rv_specset_put(old_set);	/* members keep their own refs */
	for (size_t i = 0; i < n_old_nodes; i++) {
		struct node_plan *np = &p->nodes[i];
		struct rv_node *n = np->n;

		if (np->fate != KEEP)
			continue;
		rv_specset_put(n->set);
		n->set = rv_specset_get(sv->set);
		n->spec = np->ng;
		if (i)
			n->m.name = np->ng->name;
		n->m.critical = np->ng->critical;
		if (np->new_window) {
			rv_window_free(&n->window);
			n->window = np->window;
			np->new_window = false;
		}
	}
	free(sv->svcs);
	free(sv->nodes);
	sv->svcs = p->fsvcs;
	sv->n_svcs = p->n_fsvcs;
	sv->nodes = p->fnodes;
	sv->n_nodes = p->n_fnodes;
	p->fsvcs = NULL;
	p->fnodes = NULL;
	rv_links_apply(&p->links);
	for (size_t i = 0; i < n_old_svcs; i++) {
		struct svc_plan *sp = &p->svcs[i];

		jobs += sp->fate != KEEP;
	}
	for (size_t i = 1; i < n_old_nodes; i++) {
		if (p->nodes[i].succ)
			p->nodes[i].succ->m.replaces = &p->nodes[i].n->m;
		jobs += p->nodes[i].fate != KEEP;
	}
	for (size_t i = 0; i < p->n_added; i++)
		rv_member_update_settled(&p->added[i]->m);
	sv->reload_jobs = jobs;
	rv_log_sup(RV_LOG_INFO, "main", "reload_applied",
		   " services=%zu jobs=%u", sv->n_svcs, jobs);
	/* the jobs: replaced and removed services, removed nodes, then
	 * what is new (which may wait for what it replaces) */
	for (size_t i = 0; i < n_old_svcs; i++) {
		struct svc_plan *sp = &p->svcs[i];

		/* a roll over what changes or goes stops here (roll.h) */
		if (sp->fate != KEEP && sp->s->roll)
			rv_roll_cancel(sp->s->roll, "reload", now);
		if (sp->fate == CHANGE) {
			sp->s->next_build = sp->fresh;
			sp->fresh = NULL;
			if (!rv_roll_wanted(sp->s))
				rv_member_request(&sp->s->m, RV_JOB_RESTART,
						  now);
		}
	}
	rv_roll_reload(sv, now);	/* restart_mode = rolling */
	for (size_t i = 0; i < n_old_svcs; i++) {
		struct svc_plan *sp = &p->svcs[i];

		if (sp->fate == REMOVE || sp->fate == MOVE)
			rv_member_request(&sp->s->m, RV_JOB_REMOVE, now);
	}
	remove_nodes(p, n_old_nodes, now);
	for (size_t i = 0; i < p->n_new_nodes; i++)
		start_new_member(&p->new_nodes[i]->m, now);
	for (size_t i = 0; i < p->n_added; i++)
		start_new_member(&p->added[i]->m, now);
	/* `after` may name other members now */
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (sv->svcs[i]->state == RV_SVC_WAITING)
			rv_member_deps_changed(&sv->svcs[i]->m, now);
	for (size_t i = 1; i < sv->n_nodes; i++)
		if (sv->nodes[i]->state == RV_NODE_WAITING)
			rv_member_deps_changed(&sv->nodes[i]->m, now);
	rv_supervisor_maybe_alive(sv);
	if (!sv->reload_jobs)
		rv_log_sup(RV_LOG_INFO, "main", "reload_done", "%s", "");
}

static bool needs_restart(const struct rv_specs *a, const struct rv_specs *b)
{
	return a->backend != b->backend ||
	       !same_str(a->control_socket, b->control_socket) ||
	       !same_str(a->control_group, b->control_group) ||
	       !same_str(a->http_listen, b->http_listen) ||
	       a->timer_spin_ns != b->timer_spin_ns ||
	       a->timer_spin_auto != b->timer_spin_auto ||
	       a->realtime_priority != b->realtime_priority;
}

static void refuse(struct rv_reload_result *res, enum rv_reload_outcome why,
		   const char *what)
{
	res->outcome = why;
	rv_log_sup(RV_LOG_WARN, "main", "reload_refused", " reason=%s", what);
}

/*
 * A refusal for the errors in res->errors (n of them, at least one): each
 * logged on its own line, so that a reload by SIGHUP can be diagnosed from
 * the log alone, then the summary (extra: more of its key=value pairs).
 */
static void refused_by_errors(struct rv_supervisor *sv,
			      struct rv_reload_result *res, int n,
			      const char *extra)
{
	char q[256];

	res->n_errors = n ? n : 1;
	res->outcome = RV_RELOAD_REFUSED;
	for (const char *l = res->errors; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		rv_log_sup(RV_LOG_ERROR, "main", "reload_error", " error=%s",
			   rv_log_quote(line, q, sizeof(q)));
		l = nl ? nl + 1 : NULL;
	}
	rv_log_sup(RV_LOG_ERROR, "main", "reload_refused",
		   " errors=%d config=%s%s", res->n_errors, sv->config_path,
		   extra);
}

/* The config as the file says now: 0, or a refusal in res. */
static int load(struct rv_supervisor *sv, struct rv_specset *set,
		struct rv_reload_result *res)
{
	struct rv_diag d = { 0 };
	size_t text_len = 0;
	int ret;

	d.out = open_memstream(&res->errors, &text_len);
	if (!d.out)
		return -ENOMEM;
	ret = rv_config_load_file(sv->config_path, &set->specs, &d);
	fclose(d.out);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		refused_by_errors(sv, res, d.errors, "");
		return 1;
	}
	free(res->errors);
	res->errors = NULL;
	return 0;
}

/* The new config's sockets (sockets.c): 0, -ENOMEM, or a refusal in res
 * with the bind error at its file:line. */
static int bind_sockets(struct rv_supervisor *sv, struct plan *p,
			struct rv_reload_result *res)
{
	struct rv_diag d = { 0 };
	size_t text_len = 0;
	int ret;

	d.out = open_memstream(&res->errors, &text_len);
	if (!d.out)
		return -ENOMEM;
	ret = rv_sockets_open(&p->set->specs, &sv->sockets, &p->sockets, &d);
	fclose(d.out);
	if (ret != -EINVAL) {
		free(res->errors);
		res->errors = NULL;
		return ret;
	}
	refused_by_errors(sv, res, d.errors, " reason=bind");
	return ret;
}

void rv_reload_request(struct rv_supervisor *sv, int64_t now,
		       struct rv_reload_result *res)
{
	size_t n_svcs = sv->n_svcs, n_nodes = sv->n_nodes;
	struct plan p = { 0 };
	struct rv_build b;
	int ret;

	memset(res, 0, sizeof(*res));
	if (!sv->config_path) {
		refuse(res, RV_RELOAD_NO_CONFIG, "no_config_file");
		return;
	}
	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished) {
		refuse(res, RV_RELOAD_SHUTTING_DOWN, "shutting_down");
		return;
	}
	if (sv->reload_jobs) {
		/* after the one in progress, from the file as it is then */
		res->outcome = RV_RELOAD_QUEUED;
		sv->reload_queued = true;
		rv_log_sup(RV_LOG_INFO, "main", "reload_queued",
			   " pending_jobs=%u", sv->reload_jobs);
		return;
	}
	p.set = rv_specset_new();
	if (!p.set) {
		res->outcome = RV_RELOAD_NOMEM;
		return;
	}
	ret = load(sv, p.set, res);
	if (ret) {
		rv_specset_put(p.set);
		if (ret < 0) {
			res->outcome = RV_RELOAD_NOMEM;
			rv_log_sup(RV_LOG_ERROR, "main", "reload_failed",
				   " error=\"%s\"", strerror(-ret));
		}
		return;
	}
	/* new addresses bound now: a bind error refuses the reload */
	ret = bind_sockets(sv, &p, res);
	if (ret) {
		rv_specset_put(p.set);
		if (ret == -ENOMEM)
			res->outcome = RV_RELOAD_NOMEM;
		return;
	}
	p.svcs = calloc(n_svcs ? n_svcs : 1, sizeof(*p.svcs));
	p.nodes = calloc(n_nodes, sizeof(*p.nodes));
	rv_build_begin(&b, sv);
	b.sockets = &p.sockets;
	ret = p.svcs && p.nodes ? 0 : -ENOMEM;
	if (!ret)
		ret = plan_nodes(&p, sv, &b);
	if (!ret)
		ret = plan_services(&p, sv, &b);
	if (rv_build_end(&b) && !ret)
		ret = -ENOMEM;
	if (!ret)
		ret = plan_links(&p, sv);
	if (!ret && p.n_added + p.n_new_nodes)
		ret = rv_loop_timer_reserve(sv->loop,
					    p.n_added + p.n_new_nodes);
	if (!ret && p.n_added)
		ret = rv_loop_child_reserve(sv->loop, p.n_added);
	if (!ret)
		ret = plan_report(&p, sv, res);
	if (ret) {
		plan_free(&p, sv, n_svcs, n_nodes, false);
		rv_reload_result_free(res);
		memset(res, 0, sizeof(*res));
		res->outcome = RV_RELOAD_NOMEM;
		rv_log_sup(RV_LOG_ERROR, "main", "reload_failed",
			   " error=\"%s\"", strerror(-ret));
		return;
	}
	res->outcome = RV_RELOAD_APPLIED;
	res->needs_restart = needs_restart(&p.set->specs, sv->specs);
	rv_log_sup(RV_LOG_INFO, "main", "reload",
		   " restarted=%zu started=%zu stopped=%zu unchanged=%zu%s",
		   res->n_restarted, res->n_started, res->n_stopped,
		   res->n_unchanged,
		   res->needs_restart ? " needs_restart=true" : "");
	apply(&p, sv, now);
	plan_free(&p, sv, n_svcs, n_nodes, true);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void rv_reload_result_free(struct rv_reload_result *res)
{
	free(res->errors);
	free_names(res->restarted, res->n_restarted);
	free_names(res->started, res->n_started);
	free_names(res->stopped, res->n_stopped);
	res->errors = NULL;
	res->restarted = res->started = res->stopped = NULL;
	res->n_restarted = res->n_started = res->n_stopped = 0;
	res->n_unchanged = 0;
}

static void on_queued_reload(struct rv_loop *loop, struct rv_timer *t,
			     int64_t now, void *ctx)
{
	struct rv_supervisor *sv = ctx;
	struct rv_reload_result res;

	sv->reload_queued = false;
	rv_reload_request(sv, now, &res);
	rv_reload_result_free(&res);
}

void rv_reload_job_done(struct rv_supervisor *sv, int64_t now)
{
	if (!sv->reload_jobs)
		return;		/* not a reload's job (shutdown, startup) */
	if (--sv->reload_jobs)
		return;
	rv_log_sup(RV_LOG_INFO, "main", "reload_done", "%s", "");
	/* on a fresh loop turn: this runs deep inside an exit */
	if (sv->reload_queued && sv->state != RV_SUP_SHUTTING_DOWN &&
	    !sv->finished)
		rv_loop_timer_arm(sv->loop, &sv->reload_timer, now);
}

void rv_reload_init(struct rv_supervisor *sv)
{
	rv_timer_init(&sv->reload_timer, on_queued_reload, sv);
}
