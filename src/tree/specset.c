/* SPDX-License-Identifier: MIT */
#include "tree/specset.h"

#include <stdlib.h>

#include "config/config.h"

struct rv_specset *rv_specset_new(void)
{
	struct rv_specset *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	set->refs = 1;
	rv_specs_init(&set->specs);
	return set;
}

struct rv_specset *rv_specset_get(struct rv_specset *set)
{
	set->refs++;
	return set;
}

void rv_specset_put(struct rv_specset *set)
{
	if (!set || --set->refs)
		return;
	rv_specs_free(&set->specs);
	free(set);
}
