// SPDX-License-Identifier: MIT
#include "control/health.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tree/supervisor.h"

/* What `status --check` counts as up: running (and so ready), or a
 * oneshot that completed. */
static bool service_ok(const struct rv_service *s)
{
	return s->state == RV_SVC_RUNNING ||
	       (s->state == RV_SVC_COMPLETED &&
		s->spec->type == RV_TYPE_ONESHOT);
}

static bool named(const struct rv_service *s, const char *name)
{
	return !strcmp(s->name, name) || !strcmp(s->spec->name, name);
}

static int one_member(struct rv_supervisor *sv, const char *name, char *buf,
		      size_t len)
{
	bool found = false;

	for (size_t i = 1; i < sv->n_nodes; i++) {
		const struct rv_node *n = sv->nodes[i];

		if (strcmp(n->m.name, name))
			continue;
		if (!rv_member_is_up(&n->m)) {
			snprintf(buf, len, "%s is %s\n", name,
				 rv_node_state_name(n->state));
			return 503;
		}
		found = true;
	}
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_service *s = sv->svcs[i];

		if (!named(s, name))
			continue;
		if (!service_ok(s)) {
			snprintf(buf, len, "%s is %s\n", s->name,
				 rv_svc_state_name(s->state));
			return 503;
		}
		found = true;
	}
	if (!found) {
		snprintf(buf, len, "unknown service: %s\n", name);
		return 404;
	}
	snprintf(buf, len, "ok\n");
	return 200;
}

int rv_health_check(struct rv_supervisor *sv, const char *name, char *buf,
		    size_t len)
{
	if (name)
		return one_member(sv, name, buf, len);
	if (sv->state != RV_SUP_ALIVE) {
		snprintf(buf, len, "supervisor is %s\n",
			 rv_sup_state_name(sv->state));
		return 503;
	}
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_service *s = sv->svcs[i];

		if (s->m.critical && !service_ok(s)) {
			snprintf(buf, len, "%s is %s\n", s->name,
				 rv_svc_state_name(s->state));
			return 503;
		}
	}
	snprintf(buf, len, "ok\n");
	return 200;
}
