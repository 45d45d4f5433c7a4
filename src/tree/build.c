/* SPDX-License-Identifier: MIT */
/*
 * From validated specs to tree members: one rv_node per supervisor
 * section, one rv_service per service instance, with per-instance argv and
 * environment (%i expanded), isolation and readiness.  Everything the hot
 * path needs is allocated here, at load or when a reload is planned, never
 * while a service restarts.
 *
 * `after` is resolved to member pointers (with reverse edges) in two steps,
 * plan and apply, so that a reload can allocate every new array before it
 * changes anything (links.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child/env.h"
#include "child/envfile.h"
#include "tree/build.h"
#include "tree/fdpass.h"
#include "tree/isolation.h"
#include "tree/links.h"
#include "tree/readiness.h"
#include "tree/roll.h"
#include "tree/specset.h"
#include "tree/supervisor.h"

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

static void free_env(struct rv_service *s)
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

int rv_service_env_add(struct rv_service *s, char **extra)
{
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
	free_env(s);
	s->env_own = env;
	s->env_own_alloc = true;
	return 0;
}

/* NOTIFY_SOCKET (and WATCHDOG_USEC) on top of the service's environment. */
static int add_ready_env(struct rv_service *s)
{
	return rv_service_env_add(s, rv_ready_env(s, s->sv->notify_path));
}

/* Room in sv->env_scratch for the largest join of a build. */
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

void rv_build_begin(struct rv_build *b, struct rv_supervisor *sv)
{
	b->sv = sv;
	b->sockets = &sv->sockets;
	rv_iso_builder_init(&b->iso, sv->loop, !sv->exec_mode);
	rv_env_builder_init(&b->envb);
	b->rings.cur = NULL;
}

int rv_build_end(struct rv_build *b)
{
	int ret = reserve_env_scratch(b->sv, b->envb.max_join);

	rv_env_builder_fini(&b->envb);
	rv_iso_builder_fini(&b->iso);
	rv_ring_source_end(&b->rings);
	return ret;
}

int rv_service_build(struct rv_build *b, struct rv_service *s,
		     const struct rv_service_spec *sp, struct rv_specset *set,
		     int instance)
{
	int ret;

	rv_service_init(s);
	s->m.kind = RV_MEMBER_SERVICE;
	s->sv = b->sv;
	s->spec = sp;
	s->set = rv_specset_get(set);
	s->instance = instance;
	s->state = RV_SVC_STOPPED;
	s->m.critical = sp->critical;
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
	ret = rv_iso_prepare(&b->iso, s);
	if (!ret && !rv_iso_built_env(s))
		ret = build_env(s, sp, &b->envb);
	if (!ret)
		ret = rv_ready_init(s);
	if (!ret && sp->type == RV_TYPE_NOTIFY)
		ret = add_ready_env(s);
	if (!ret && rv_fdpass_wanted(s))
		ret = rv_fdpass_build(b, s);
	if (ret)
		return ret;
	return rv_window_init(&s->window, sp->intensity.max_restarts,
			      sp->intensity.window_ns, &b->rings);
}

struct rv_service *rv_service_new(struct rv_build *b,
				  const struct rv_service_spec *sp,
				  struct rv_specset *set, int instance)
{
	struct rv_service *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (rv_service_build(b, s, sp, set, instance)) {
		rv_service_destroy(s);
		return NULL;
	}
	return s;
}

/* What rv_service_build() made; the member itself stays. */
static void unbuild(struct rv_service *s)
{
	if (s->argv && (!s->spec || s->argv != s->spec->argv))
		rv_argv_free(s->argv);
	s->argv = NULL;
	free_env(s);
	if (s->name && (!s->spec || s->name != s->spec->name))
		free(s->name);
	s->name = NULL;
	rv_iso_free(s);
	rv_ready_free(s);
	rv_fdpass_free(s);
	rv_window_free(&s->window);
	rv_specset_put(s->set);
	s->set = NULL;
	s->spec = NULL;
}

void rv_service_destroy(struct rv_service *s)
{
	if (!s)
		return;
	rv_roll_detach(s);	/* a roll must not keep a freed instance */
	if (s->next_build)
		rv_service_destroy(s->next_build);
	s->next_build = NULL;
	unbuild(s);
	free(s->m.deps);
	free(s->m.dependents);
	s->m.deps = s->m.dependents = NULL;
	s->m.n_deps = s->m.n_dependents = 0;
	if (!s->in_block)
		free(s);
}

#define SWAP(a, b) do { __typeof__(a) t_ = (a); (a) = (b); (b) = t_; } while (0)

void rv_service_swap_build(struct rv_service *s, struct rv_service *fresh)
{
	/* the name is the same text; m.name follows the pointer */
	SWAP(s->spec, fresh->spec);
	SWAP(s->set, fresh->set);
	SWAP(s->name, fresh->name);
	SWAP(s->argv, fresh->argv);
	SWAP(s->env_base, fresh->env_base);
	SWAP(s->env_own, fresh->env_own);
	SWAP(s->env_base_shared, fresh->env_base_shared);
	SWAP(s->env_own_alloc, fresh->env_own_alloc);
	SWAP(s->iso, fresh->iso);
	SWAP(s->ready, fresh->ready);
	SWAP(s->window, fresh->window);
	SWAP(s->fdpass, fresh->fdpass);
	/* the fd store is the member's: it follows into the new build */
	rv_fdpass_move_store(s, fresh);
	s->m.name = s->name;
	fresh->m.name = fresh->name;
	s->m.critical = s->spec->critical;
	/* readiness's timers and probe call back with their service */
	rv_ready_rebind(s);
	rv_ready_rebind(fresh);
}

static int rv_node_build(struct rv_build *b, struct rv_node *n,
			 const struct rv_group_spec *g,
			 struct rv_specset *set, const char *name)
{
	rv_node_init(n);
	n->m.kind = RV_MEMBER_NODE;
	n->m.name = name;
	n->m.critical = g->critical;
	n->sv = b->sv;
	n->spec = g;
	n->set = rv_specset_get(set);
	n->state = RV_NODE_STOPPED;
	return rv_window_init(&n->window, g->intensity.max_restarts,
			      g->intensity.window_ns, &b->rings);
}

struct rv_node *rv_node_new(struct rv_build *b, const struct rv_group_spec *g,
			    struct rv_specset *set, const char *name)
{
	struct rv_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (rv_node_build(b, n, g, set, name)) {
		rv_node_destroy(n);
		return NULL;
	}
	return n;
}

void rv_node_destroy(struct rv_node *n)
{
	if (!n)
		return;
	rv_window_free(&n->window);
	free(n->members);
	free(n->m.deps);
	free(n->m.dependents);
	rv_specset_put(n->set);
	free(n);
}

/* Parent of a section: its `supervisor =`, else the top level. */
struct rv_node *rv_build_find_node(struct rv_node *const *nodes, size_t n,
				   const char *name)
{
	if (!name)
		return nodes[0];
	for (size_t i = 1; i < n; i++)
		if (!strcmp(nodes[i]->m.name, name))
			return nodes[i];
	return nodes[0];
}

int rv_build_tree(struct rv_supervisor *sv)
{
	struct rv_specs *sp = sv->specs;
	struct rv_build b;
	size_t n_svcs = 0, k = 0;
	int ret = 0;

	rv_build_begin(&b, sv);
	b.iso.pipes_later = sv->pipes_later;
	for (size_t i = 0; i < sp->n_services; i++)
		n_svcs += sp->services[i].instances;
	sv->nodes = calloc(1 + sp->n_groups, sizeof(*sv->nodes));
	sv->svcs = calloc(n_svcs ? n_svcs : 1, sizeof(*sv->svcs));
	/* the load's services in one block, as many as there may be: no
	 * allocator overhead per service (a reload's are allocated one by
	 * one, and a removed one's slot stays until the end) */
	sv->svc_block = calloc(n_svcs ? n_svcs : 1, sizeof(*sv->svc_block));
	if (!sv->nodes || !sv->svcs || !sv->svc_block) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !ret && i <= sp->n_groups; i++) {
		const struct rv_group_spec *g = i ? &sp->groups[i - 1] : &sp->top;
		struct rv_node *n = rv_node_new(&b, g, sv->set,
						i ? g->name : "main");

		if (!n) {
			ret = -ENOMEM;
			break;
		}
		sv->nodes[sv->n_nodes++] = n;
	}
	/* parents: every node exists now */
	for (size_t i = 1; !ret && i < sv->n_nodes; i++)
		sv->nodes[i]->m.parent = rv_build_find_node(
			sv->nodes, sv->n_nodes, sp->groups[i - 1].supervisor);
	for (size_t i = 0; !ret && i < sp->n_services; i++) {
		const struct rv_service_spec *ss = &sp->services[i];
		bool multi = ss->instances > 1;

		for (uint32_t in = 0; !ret && in < ss->instances; in++) {
			struct rv_service *s = &sv->svc_block[k];

			s->in_block = true;
			ret = rv_service_build(&b, s, ss, sv->set,
					       multi ? (int)in : -1);
			if (ret) {
				rv_service_destroy(s);
				break;
			}
			s->m.parent = rv_build_find_node(sv->nodes,
							 sv->n_nodes,
							 ss->supervisor);
			sv->svcs[k++] = s;
			sv->n_svcs = k;
		}
	}
out:
	if (rv_build_end(&b) && !ret)
		ret = -ENOMEM;
	if (ret)
		return ret;
	/* config order, `after` */
	return rv_links_initial(sv);
}

void rv_free_tree(struct rv_supervisor *sv)
{
	for (size_t i = 0; sv->svcs && i < sv->n_svcs; i++)
		rv_service_destroy(sv->svcs[i]);
	for (size_t i = 0; sv->nodes && i < sv->n_nodes; i++)
		rv_node_destroy(sv->nodes[i]);
	free(sv->svcs);
	free(sv->nodes);
	free(sv->svc_block);
	sv->svcs = NULL;
	sv->nodes = NULL;
	sv->svc_block = NULL;
	sv->n_svcs = sv->n_nodes = 0;
}

void rv_tree_remove_service(struct rv_supervisor *sv, struct rv_service *s)
{
	for (size_t i = 0; i < sv->n_svcs; i++) {
		if (sv->svcs[i] != s)
			continue;
		memmove(&sv->svcs[i], &sv->svcs[i + 1],
			(sv->n_svcs - i - 1) * sizeof(*sv->svcs));
		sv->n_svcs--;
		return;
	}
}

void rv_tree_remove_node(struct rv_supervisor *sv, struct rv_node *n)
{
	for (size_t i = 1; i < sv->n_nodes; i++) {
		if (sv->nodes[i] != n)
			continue;
		memmove(&sv->nodes[i], &sv->nodes[i + 1],
			(sv->n_nodes - i - 1) * sizeof(*sv->nodes));
		sv->n_nodes--;
		return;
	}
}
