/* SPDX-License-Identifier: MIT */
/*
 * From validated specs to the runtime tree: one rv_node per supervisor
 * section, one rv_service per service instance, members in config order,
 * `after` resolved to member pointers (with reverse edges), per-instance
 * argv/environment with %i expanded.  Everything the hot path needs is
 * allocated here, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child/env.h"
#include "child/envfile.h"
#include "child/isolation.h"
#include "tree/build.h"
#include "tree/readiness.h"
#include "tree/supervisor.h"

void rv_service_init_timer(struct rv_service *s);
void rv_node_init_timer(struct rv_node *n);

static char *expand_instance(const char *in, int instance)
{
	char *out = NULL;

	if (instance < 0)	/* no instances: %i means nothing */
		return strdup(in);
	if (rv_expand_instance(in, (unsigned int)instance, &out))
		return NULL;
	return out;
}

static bool needs_expansion(char *const *v)
{
	for (; v && *v; v++)
		if (strchr(*v, '%'))
			return true;
	return false;
}

static char **expand_vec(char *const *v, int instance)
{
	size_t n = 0;
	char **out;

	while (v[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = expand_instance(v[i], instance);
		if (!out[i]) {
			rv_argv_free(out);
			return NULL;
		}
	}
	return out;
}

/*
 * The service's own variables: the spec's `environment` itself, unless %i
 * expands differently per instance.
 */
static int own_env(struct rv_service *s, const struct rv_service_spec *sp)
{
	if (!sp->n_environment)
		return 0;
	if (s->instance < 0 || !needs_expansion(sp->environment)) {
		s->env_own = sp->environment;	/* borrowed */
		return 0;
	}
	s->env_own = expand_vec(sp->environment, s->instance);
	if (!s->env_own)
		return -ENOMEM;
	s->env_own_alloc = true;
	return 0;
}

/*
 * environ plus the service's `environment` (which wins): environ without
 * the replaced variables is a base shared with every service replacing
 * the same ones (env.h).  Services without `environment` use environ.
 */
static int build_env(struct rv_service *s, const struct rv_service_spec *sp,
		     struct rv_env_builder *envb)
{
	int ret = own_env(s, sp);

	if (!ret)
		ret = rv_env_base_get(envb, s->env_own, &s->env_base,
				      &s->env_base_shared);
	return ret;
}

static void rv_service_free_env(struct rv_service *s)
{
	if (s->env_base_shared)
		rv_env_base_put(s->env_base);
	if (s->env_own_alloc)
		rv_argv_free(s->env_own);
	s->env_base = NULL;
	s->env_own = NULL;
	s->env_base_shared = s->env_own_alloc = false;
}

char *const *rv_service_envp(const struct rv_service *s)
{
	return rv_env_join(s->env_base, s->env_own, s->sv->env_scratch);
}

/* NOTIFY_SOCKET (and WATCHDOG_USEC) on top of the service's environment:
 * the result owns every string and needs no base. */
static int add_ready_env(struct rv_service *s)
{
	char **extra = rv_ready_env(s, s->sv->notify_path);
	size_t n = rv_env_len(s->env_base) + rv_env_len(s->env_own) + 1;
	char **joined = calloc(n, sizeof(*joined));
	char *const *layers[2] = { NULL, extra };
	char **env = NULL;
	int ret = -ENOMEM;

	if (extra && joined) {
		layers[0] = rv_env_join(s->env_base, s->env_own, joined);
		ret = rv_env_compose(layers, 2, &env);
	}
	free(joined);
	rv_argv_free(extra);
	if (ret)
		return ret;
	rv_service_free_env(s);
	s->env_own = env;
	s->env_own_alloc = true;
	return 0;
}

void rv_service_free_strings(struct rv_service *s)
{
	if (s->argv && s->argv != s->spec->argv)
		rv_argv_free(s->argv);
	rv_service_free_env(s);
	if (s->name != s->spec->name)
		free(s->name);
}

static int build_service(struct rv_supervisor *sv, struct rv_service *s,
			 const struct rv_service_spec *sp, int instance,
			 struct rv_iso_builder *iso,
			 struct rv_env_builder *envb)
{
	int ret;

	s->m.kind = RV_MEMBER_SERVICE;
	s->sv = sv;
	s->spec = sp;
	s->instance = instance;
	s->state = RV_SVC_STOPPED;
	s->m.critical = sp->critical;
	rv_service_init_timer(s);
	if (instance >= 0) {
		if (asprintf(&s->name, "%s@%d", sp->name, instance) < 0) {
			s->name = NULL;
			return -ENOMEM;
		}
	} else {
		s->name = sp->name;
	}
	s->m.name = s->name;
	if (instance >= 0 && needs_expansion(sp->argv))
		s->argv = expand_vec(sp->argv, instance);
	else
		s->argv = sp->argv;
	if (!s->argv)
		return -ENOMEM;
	/* user, groups, caps, rlimits, cgroup, output, and maybe envp */
	ret = rv_iso_prepare(iso, s);
	if (!ret && !rv_iso_built_env(s))
		ret = build_env(s, sp, envb);
	if (!ret)
		ret = rv_ready_init(s);
	if (!ret && sp->type == RV_TYPE_NOTIFY)
		ret = add_ready_env(s);
	if (ret)
		return ret;
	return rv_window_init(&s->window, sp->intensity.max_restarts,
			      sp->intensity.window_ns);
}

/* Name lookup for `after` and `supervisor =`: sorted, then bsearch. */
struct name_ref {
	const char *name;
	struct rv_member *first;	/* a service's instances follow */
	size_t count;
	struct rv_node *node;
};

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct name_ref *)a)->name,
		      ((const struct name_ref *)b)->name);
}

static const struct name_ref *find_ref(const struct name_ref *refs, size_t n,
				       const char *name)
{
	struct name_ref key = { .name = name };

	return bsearch(&key, refs, n, sizeof(*refs), cmp_ref);
}

static struct rv_node *parent_of(struct rv_supervisor *sv,
				 const struct name_ref *refs, size_t n_refs,
				 const char *name)
{
	const struct name_ref *r;

	if (!name)
		return &sv->nodes[0];
	r = find_ref(refs, n_refs, name);
	return r && r->node ? r->node : &sv->nodes[0];
}

/* A member's section line, to order members as the config lists them. */
static int member_line(const struct rv_member *m)
{
	if (m->kind == RV_MEMBER_SERVICE)
		return ((const struct rv_service *)m)->spec->line;
	return ((const struct rv_node *)m)->spec->line;
}

static int cmp_member_line(const void *a, const void *b)
{
	const struct rv_member *x = *(struct rv_member *const *)a;
	const struct rv_member *y = *(struct rv_member *const *)b;
	int lx = member_line(x), ly = member_line(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	/* instances of one section share its line: keep instance order */
	return x < y ? -1 : x > y;
}

static int add_deps(struct rv_member *m, char *const *after, size_t n_after,
		    const struct name_ref *refs, size_t n_refs)
{
	size_t n = 0, o = 0;

	for (size_t i = 0; i < n_after; i++) {
		const struct name_ref *r = find_ref(refs, n_refs, after[i]);

		if (r)
			n += r->node ? 1 : r->count;
	}
	if (!n)
		return 0;
	m->deps = calloc(n, sizeof(*m->deps));
	if (!m->deps)
		return -ENOMEM;
	for (size_t i = 0; i < n_after; i++) {
		const struct name_ref *r = find_ref(refs, n_refs, after[i]);

		if (!r)
			continue;	/* validated: cannot happen */
		if (r->node) {
			m->deps[o++] = &r->node->m;
			continue;
		}
		for (size_t k = 0; k < r->count; k++)
			m->deps[o++] = &((struct rv_service *)r->first)[k].m;
	}
	m->n_deps = (uint32_t)o;	/* bounded by the member count */
	return 0;
}

static int add_dependents(struct rv_supervisor *sv)
{
	size_t total = sv->n_nodes + sv->n_svcs;

	/* two passes over every member: count, then fill */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < total; i++) {
			struct rv_member *m = i < sv->n_nodes ?
				&sv->nodes[i].m : &sv->svcs[i - sv->n_nodes].m;

			for (size_t k = 0; k < m->n_deps; k++) {
				struct rv_member *d = m->deps[k];

				if (pass == 0)
					d->n_dependents++;
				else
					d->dependents[d->n_dependents++] = m;
			}
		}
		if (pass)
			break;
		for (size_t i = 0; i < total; i++) {
			struct rv_member *m = i < sv->n_nodes ?
				&sv->nodes[i].m : &sv->svcs[i - sv->n_nodes].m;

			if (!m->n_dependents)
				continue;
			m->dependents = calloc(m->n_dependents,
					       sizeof(*m->dependents));
			if (!m->dependents)
				return -ENOMEM;
			m->n_dependents = 0;
		}
	}
	return 0;
}

static int build_members(struct rv_supervisor *sv)
{
	size_t total = sv->n_nodes - 1 + sv->n_svcs;
	struct rv_member **all = calloc(total ? total : 1, sizeof(*all));
	size_t o = 0;

	if (!all)
		return -ENOMEM;
	for (size_t i = 1; i < sv->n_nodes; i++)
		all[o++] = &sv->nodes[i].m;
	for (size_t i = 0; i < sv->n_svcs; i++)
		all[o++] = &sv->svcs[i].m;
	qsort(all, total, sizeof(*all), cmp_member_line);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < total; i++) {
			struct rv_node *p = all[i]->parent;

			if (pass == 0) {
				p->n_members++;
				continue;
			}
			all[i]->index = (uint32_t)p->n_members;
			p->members[p->n_members++] = all[i];
		}
		if (pass)
			break;
		for (size_t i = 0; i < sv->n_nodes; i++) {
			struct rv_node *n = &sv->nodes[i];

			n->members = calloc(n->n_members ? n->n_members : 1,
					    sizeof(*n->members));
			if (!n->members) {
				free(all);
				return -ENOMEM;
			}
			n->n_members = 0;
		}
	}
	free(all);
	return 0;
}

static int build_node(struct rv_supervisor *sv, struct rv_node *n,
		      const struct rv_group_spec *g, const char *name)
{
	n->m.kind = RV_MEMBER_NODE;
	n->m.name = name;
	n->m.critical = g->critical;
	n->sv = sv;
	n->spec = g;
	n->state = RV_NODE_STOPPED;
	rv_node_init_timer(n);
	return rv_window_init(&n->window, g->intensity.max_restarts,
			      g->intensity.window_ns);
}

/* Room in sv->env_scratch for the largest join of this build. */
static int reserve_env_scratch(struct rv_supervisor *sv, size_t n)
{
	char **grown;

	if (n <= sv->env_scratch_cap)
		return 0;
	grown = realloc(sv->env_scratch, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	sv->env_scratch = grown;
	sv->env_scratch_cap = n;
	return 0;
}

int rv_build_tree(struct rv_supervisor *sv)
{
	struct rv_iso_builder iso;
	struct rv_env_builder envb;
	struct rv_specs *sp = &sv->specs;
	struct name_ref *refs;
	size_t n_refs = 0, k = 0;
	int ret;

	rv_iso_builder_init(&iso, sv->loop, !sv->exec_mode);
	rv_env_builder_init(&envb);
	sv->n_nodes = 1 + sp->n_groups;
	for (size_t i = 0; i < sp->n_services; i++)
		sv->n_svcs += sp->services[i].instances;
	sv->nodes = calloc(sv->n_nodes, sizeof(*sv->nodes));
	sv->svcs = calloc(sv->n_svcs ? sv->n_svcs : 1, sizeof(*sv->svcs));
	refs = calloc(sp->n_groups + sp->n_services + 1, sizeof(*refs));
	if (!sv->nodes || !sv->svcs || !refs) {
		ret = -ENOMEM;
		goto out;
	}
	ret = build_node(sv, &sv->nodes[0], &sp->top, "main");
	for (size_t i = 0; !ret && i < sp->n_groups; i++) {
		ret = build_node(sv, &sv->nodes[1 + i], &sp->groups[i],
				 sp->groups[i].name);
		refs[n_refs++] = (struct name_ref){ .name = sp->groups[i].name,
						    .node = &sv->nodes[1 + i] };
	}
	for (size_t i = 0; !ret && i < sp->n_services; i++) {
		const struct rv_service_spec *ss = &sp->services[i];
		bool multi = ss->instances > 1;

		refs[n_refs++] = (struct name_ref){ .name = ss->name,
						    .first = &sv->svcs[k].m,
						    .count = ss->instances };
		for (uint32_t in = 0; !ret && in < ss->instances; in++)
			ret = build_service(sv, &sv->svcs[k++], ss,
					    multi ? (int)in : -1, &iso, &envb);
	}
	if (!ret)
		ret = reserve_env_scratch(sv, envb.max_join);
	if (ret)
		goto out;
	qsort(refs, n_refs, sizeof(*refs), cmp_ref);
	for (size_t i = 1; i < sv->n_nodes; i++)
		sv->nodes[i].m.parent = parent_of(sv, refs, n_refs,
						  sp->groups[i - 1].supervisor);
	for (size_t i = 0; i < sv->n_svcs; i++)
		sv->svcs[i].m.parent = parent_of(sv, refs, n_refs,
						 sv->svcs[i].spec->supervisor);
	ret = build_members(sv);
	for (size_t i = 1; !ret && i < sv->n_nodes; i++)
		ret = add_deps(&sv->nodes[i].m, sp->groups[i - 1].after,
			       sp->groups[i - 1].n_after, refs, n_refs);
	for (size_t i = 0; !ret && i < sv->n_svcs; i++)
		ret = add_deps(&sv->svcs[i].m, sv->svcs[i].spec->after,
			       sv->svcs[i].spec->n_after, refs, n_refs);
	if (!ret)
		ret = add_dependents(sv);
out:
	rv_env_builder_fini(&envb);
	rv_iso_builder_fini(&iso);
	free(refs);
	return ret;
}

void rv_free_tree(struct rv_supervisor *sv)
{
	for (size_t i = 0; sv->svcs && i < sv->n_svcs; i++) {
		struct rv_service *s = &sv->svcs[i];

		if (!s->spec)
			continue;
		rv_service_free_strings(s);
		rv_iso_free(s);
		rv_ready_free(s);
		rv_window_free(&s->window);
		free(s->m.deps);
		free(s->m.dependents);
	}
	for (size_t i = 0; sv->nodes && i < sv->n_nodes; i++) {
		struct rv_node *n = &sv->nodes[i];

		rv_window_free(&n->window);
		free(n->members);
		free(n->m.deps);
		free(n->m.dependents);
	}
	free(sv->svcs);
	free(sv->nodes);
	sv->svcs = NULL;
	sv->nodes = NULL;
}
