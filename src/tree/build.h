/* SPDX-License-Identifier: MIT */
#ifndef RV_BUILD_H
#define RV_BUILD_H

#include "config/parse.h"

struct rv_supervisor;
struct rv_service;

/* Builds sv->nodes/svcs from sv->specs.  0 or -ENOMEM (partial state is
 * released by rv_free_tree()). */
int rv_build_tree(struct rv_supervisor *sv);
void rv_free_tree(struct rv_supervisor *sv);
void rv_service_free_strings(struct rv_service *s);

#endif
