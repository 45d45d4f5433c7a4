/* SPDX-License-Identifier: MIT */
/*
 * A loaded config, shared by reference.  Members point into the specs of
 * the config they were built from; a reload leaves unchanged members on
 * the old specs, so each config lives until its last member is rebuilt or
 * removed.
 */
#ifndef RV_SPECSET_H
#define RV_SPECSET_H

#include <stdint.h>

#include "config/spec.h"

struct rv_specset {
	uint32_t refs;
	struct rv_specs specs;
};

/* refs = 1, specs initialised (rv_specs_init); NULL on ENOMEM. */
struct rv_specset *rv_specset_new(void);
struct rv_specset *rv_specset_get(struct rv_specset *set);
/* Frees the specs with the last reference; NULL is fine. */
void rv_specset_put(struct rv_specset *set);

#endif
