/* SPDX-License-Identifier: MIT */
/*
 * Building tree members from specs (build.c).  A build shares user and
 * cgroup lookups and environment bases between the members it makes:
 * rv_build_begin(), any number of rv_service_new()/rv_node_new(), then
 * rv_build_end() (which also sizes the spawn-time environment scratch).
 */
#ifndef RV_BUILD_H
#define RV_BUILD_H

#include "child/env.h"
#include "config/parse.h"
#include "tree/isolation.h"
#include "tree/window.h"

struct rv_supervisor;
struct rv_service;
struct rv_service_spec;
struct rv_group_spec;
struct rv_node;
struct rv_specset;

struct rv_socket_set;

struct rv_build {
	struct rv_supervisor *sv;
	/* where a service finds its sockets' fds: the supervisor's set, or
	 * the one a reload is planning (reload.c) */
	const struct rv_socket_set *sockets;
	struct rv_iso_builder iso;
	struct rv_env_builder envb;
	struct rv_ring_source rings;	/* the members' restart windows */
};

void rv_build_begin(struct rv_build *b, struct rv_supervisor *sv);
/* 0 or -ENOMEM (the environment scratch could not grow). */
int rv_build_end(struct rv_build *b);

/* Fills s (zeroed) from sp; 0 or -ENOMEM (partial state is released by
 * rv_service_destroy()). */
int rv_service_build(struct rv_build *b, struct rv_service *s,
		     const struct rv_service_spec *sp, struct rv_specset *set,
		     int instance);
/* extra's variables on top of s's environment, which becomes one array
 * of its own (no base); consumes extra (NULL: -ENOMEM).  0 or -ENOMEM. */
int rv_service_env_add(struct rv_service *s, char **extra);
/* A new, unlinked service; NULL on ENOMEM. */
struct rv_service *rv_service_new(struct rv_build *b,
				  const struct rv_service_spec *sp,
				  struct rv_specset *set, int instance);
/* Frees a service that has no process, no armed timer and no watch. */
void rv_service_destroy(struct rv_service *s);
/* s takes fresh's spec, argv, environment, isolation, readiness and
 * window; fresh gets s's (to be destroyed).  s must have no process. */
void rv_service_swap_build(struct rv_service *s, struct rv_service *fresh);

struct rv_node *rv_node_new(struct rv_build *b, const struct rv_group_spec *g,
			    struct rv_specset *set, const char *name);
void rv_node_destroy(struct rv_node *n);
/* nodes[i] named `name`, else the top level nodes[0]. */
struct rv_node *rv_build_find_node(struct rv_node *const *nodes, size_t n,
				   const char *name);

/* The load: every member of sv->specs, linked.  0 or -ENOMEM (partial
 * state is released by rv_free_tree()). */
int rv_build_tree(struct rv_supervisor *sv);
void rv_free_tree(struct rv_supervisor *sv);

#endif
