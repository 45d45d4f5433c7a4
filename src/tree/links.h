/* SPDX-License-Identifier: MIT */
/*
 * The tree's edges: each node's members (config order), each member's
 * parent, and `after` resolved to members with their reverse edges.
 * Computed in two steps so that a reload allocates everything before it
 * changes anything: rv_links_plan() fills new arrays (may fail with
 * -ENOMEM, nothing changed), rv_links_apply() installs them (cannot fail,
 * frees the old ones).
 */
#ifndef RV_LINKS_H
#define RV_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_member;
struct rv_node;
struct rv_supervisor;

/* One member as the tree will be once the plan is applied. */
struct rv_link_member {
	struct rv_member *m;
	const char *key;	/* what `after` names: a service's section
				 * name (every instance), a node's name */
	int instance;		/* order among the instances of a key */
	char *const *after;	/* of the spec it will have */
	size_t n_after;
	struct rv_node *parent;	/* the parent it will have */
	int line;		/* its section's line: member order */
	bool leaving;		/* being removed: no `after` in or out */
	/* planned */
	struct rv_member **deps;
	struct rv_member **dependents;
	uint32_t n_deps, n_dependents;
};

struct rv_links {
	struct rv_link_member *v;	/* every member but the top node */
	size_t n;
	struct rv_node **nodes;		/* every node, top first */
	size_t n_nodes;
	struct rv_member ***members;	/* planned members of nodes[i] */
	size_t *n_members;
};

/* Fills the planned arrays.  0 or -ENOMEM (call rv_links_free()). */
int rv_links_plan(struct rv_links *l);
/* Installs the planned arrays, frees the old ones. */
void rv_links_apply(struct rv_links *l);
/* Frees whatever the plan holds (after a failure, or after apply). */
void rv_links_free(struct rv_links *l);

/* One entry of l->v for a service (with the spec it will have) or a
 * node. */
struct rv_service;
struct rv_service_spec;
struct rv_group_spec;
void rv_links_fill_service(struct rv_link_member *lm, struct rv_service *s,
			   const struct rv_service_spec *sp,
			   struct rv_node *parent);
void rv_links_fill_node(struct rv_link_member *lm, struct rv_node *n,
			const struct rv_group_spec *g, struct rv_node *parent);

/* The load: links of a freshly built tree.  0 or -ENOMEM. */
int rv_links_initial(struct rv_supervisor *sv);

#endif
