/* SPDX-License-Identifier: MIT */
#include "tree/links.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree/supervisor.h"
#include "tree/tree.h"

/* Lookup order: by key, then instance (a key's instances together). */
static int cmp_key(const void *a, const void *b)
{
	const struct rv_link_member *x = *(struct rv_link_member *const *)a;
	const struct rv_link_member *y = *(struct rv_link_member *const *)b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return (x->instance > y->instance) - (x->instance < y->instance);
}

/* Member order in a node: config line, then instance. */
static int cmp_line(const void *a, const void *b)
{
	const struct rv_link_member *x = *(struct rv_link_member *const *)a;
	const struct rv_link_member *y = *(struct rv_link_member *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->instance > y->instance) - (x->instance < y->instance);
}

/* [*first, *first + *count) of sorted: the members `name` stands for. */
static bool find_key(struct rv_link_member **sorted, size_t n,
		     const char *name, size_t *first, size_t *count)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(sorted[mid]->key, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < n && !strcmp(sorted[lo]->key, name))
		lo++;
	*count = lo - *first;
	return *count > 0;
}

static int plan_deps(struct rv_link_member **sorted, size_t n_sorted,
		     struct rv_link_member *lm)
{
	size_t n = 0, o = 0, first, count;

	if (lm->leaving)
		return 0;
	for (size_t i = 0; i < lm->n_after; i++)
		if (find_key(sorted, n_sorted, lm->after[i], &first, &count))
			n += count;
	if (!n)
		return 0;
	lm->deps = calloc(n, sizeof(*lm->deps));
	if (!lm->deps)
		return -ENOMEM;
	for (size_t i = 0; i < lm->n_after; i++) {
		if (!find_key(sorted, n_sorted, lm->after[i], &first, &count))
			continue;	/* validated: cannot happen */
		for (size_t k = 0; k < count; k++)
			lm->deps[o++] = sorted[first + k]->m;
	}
	lm->n_deps = (uint32_t)o;
	return 0;
}

static int plan_dependents(struct rv_links *l)
{
	/*
	 * Reverse edges: count, allocate, fill (the count is reused as the
	 * fill position).  A member's position in l->v is found through its
	 * index field, borrowed here and given back before returning: the
	 * live tree may go on unchanged if the plan fails.
	 */
	uint32_t *saved = calloc(l->n ? l->n : 1, sizeof(*saved));
	int ret = 0;

	if (!saved)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		saved[i] = l->v[i].m->index;
		l->v[i].m->index = (uint32_t)i;
	}
	for (size_t i = 0; i < l->n; i++)
		for (uint32_t k = 0; k < l->v[i].n_deps; k++)
			l->v[l->v[i].deps[k]->index].n_dependents++;
	for (size_t i = 0; i < l->n; i++) {
		struct rv_link_member *lm = &l->v[i];

		if (!lm->n_dependents)
			continue;
		lm->dependents = calloc(lm->n_dependents,
					sizeof(*lm->dependents));
		if (!lm->dependents) {
			ret = -ENOMEM;
			goto out;
		}
		lm->n_dependents = 0;
	}
	for (size_t i = 0; i < l->n; i++)
		for (uint32_t k = 0; k < l->v[i].n_deps; k++) {
			struct rv_link_member *d =
				&l->v[l->v[i].deps[k]->index];

			d->dependents[d->n_dependents++] = l->v[i].m;
		}
out:
	for (size_t i = 0; i < l->n; i++)
		l->v[i].m->index = saved[i];
	free(saved);
	return ret;
}

static int plan_members(struct rv_links *l, struct rv_link_member **scratch)
{
	l->members = calloc(l->n_nodes ? l->n_nodes : 1, sizeof(*l->members));
	l->n_members = calloc(l->n_nodes ? l->n_nodes : 1,
			      sizeof(*l->n_members));
	if (!l->members || !l->n_members)
		return -ENOMEM;
	for (size_t k = 0; k < l->n_nodes; k++) {
		size_t n = 0;

		for (size_t i = 0; i < l->n; i++)
			if (l->v[i].parent == l->nodes[k])
				scratch[n++] = &l->v[i];
		qsort(scratch, n, sizeof(*scratch), cmp_line);
		l->members[k] = calloc(n ? n : 1, sizeof(**l->members));
		if (!l->members[k])
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			l->members[k][i] = scratch[i]->m;
		l->n_members[k] = n;
	}
	return 0;
}

int rv_links_plan(struct rv_links *l)
{
	struct rv_link_member **sorted = calloc(l->n ? l->n : 1,
						sizeof(*sorted));
	size_t n_sorted = 0;
	int ret = 0;

	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].leaving)
			sorted[n_sorted++] = &l->v[i];
	qsort(sorted, n_sorted, sizeof(*sorted), cmp_key);
	for (size_t i = 0; !ret && i < l->n; i++)
		ret = plan_deps(sorted, n_sorted, &l->v[i]);
	if (!ret)
		ret = plan_dependents(l);
	if (!ret)
		ret = plan_members(l, sorted);	/* sorted is scratch now */
	free(sorted);
	return ret;
}

void rv_links_apply(struct rv_links *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rv_link_member *lm = &l->v[i];
		struct rv_member *m = lm->m;

		free(m->deps);
		free(m->dependents);
		m->deps = lm->deps;
		m->n_deps = lm->n_deps;
		m->dependents = lm->dependents;
		m->n_dependents = lm->n_dependents;
		m->parent = lm->parent;
		lm->deps = lm->dependents = NULL;
	}
	for (size_t k = 0; k < l->n_nodes; k++) {
		struct rv_node *n = l->nodes[k];

		free(n->members);
		n->members = l->members[k];
		n->n_members = l->n_members[k];
		l->members[k] = NULL;
		n->n_terminal = 0;
		for (size_t i = 0; i < n->n_members; i++) {
			n->members[i]->index = (uint32_t)i;
			n->n_terminal += rv_member_is_terminal(n->members[i]);
		}
	}
}

void rv_links_free(struct rv_links *l)
{
	for (size_t i = 0; l->v && i < l->n; i++) {
		free(l->v[i].deps);
		free(l->v[i].dependents);
	}
	for (size_t k = 0; l->members && k < l->n_nodes; k++)
		free(l->members[k]);
	free(l->members);
	free(l->n_members);
	free(l->v);
	l->v = NULL;
	l->members = NULL;
	l->n_members = NULL;
}

void rv_links_fill_service(struct rv_link_member *lm, struct rv_service *s,
			   const struct rv_service_spec *sp,
			   struct rv_node *parent)
{
	lm->m = &s->m;
	lm->key = sp->name;
	lm->instance = s->instance;
	lm->after = sp->after;
	lm->n_after = sp->n_after;
	lm->parent = parent;
	lm->line = sp->line;
}

void rv_links_fill_node(struct rv_link_member *lm, struct rv_node *n,
			const struct rv_group_spec *g, struct rv_node *parent)
{
	lm->m = &n->m;
	lm->key = n->m.name;
	lm->instance = -1;
	lm->after = g->after;
	lm->n_after = g->n_after;
	lm->parent = parent;
	lm->line = g->line;
}

int rv_links_initial(struct rv_supervisor *sv)
{
	struct rv_links l = { .n = sv->n_nodes - 1 + sv->n_svcs,
			      .nodes = sv->nodes, .n_nodes = sv->n_nodes };
	size_t o = 0;
	int ret;

	l.v = calloc(l.n ? l.n : 1, sizeof(*l.v));
	if (!l.v)
		return -ENOMEM;
	for (size_t i = 1; i < sv->n_nodes; i++)
		rv_links_fill_node(&l.v[o++], sv->nodes[i],
				   sv->nodes[i]->spec,
				   sv->nodes[i]->m.parent);
	for (size_t i = 0; i < sv->n_svcs; i++)
		rv_links_fill_service(&l.v[o++], sv->svcs[i],
				      sv->svcs[i]->spec,
				      sv->svcs[i]->m.parent);
	ret = rv_links_plan(&l);
	if (!ret)
		rv_links_apply(&l);
	rv_links_free(&l);
	return ret;
}
