/* SPDX-License-Identifier: MIT */
/*
 * `reload` and SIGHUP.  A config with errors is refused with all of them
 * and nothing running is touched.  Otherwise, by instance name:
 *   - unchanged services (same section fingerprint, same supervisor) keep
 *     running: the new tree adopts their processes, timers and history;
 *   - changed and removed services are stopped gracefully first;
 *   - once those are down, the new tree replaces the old one and starts
 *     the changed and new services (honouring `after`).
 * Supervisor sections take effect with the new tree (fresh intensity
 * windows).  backend, control_socket and control_group need a restart of
 * ringvisor; a change to them is reported as a warning.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "control/commands.h"
#include "tree/build.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "util/log.h"

struct rv_reload {
	struct rv_specs specs;		/* the new config */
	struct rv_service **stops;	/* old services being replaced */
	size_t n_stops;
};

static const struct rv_service_spec *find_spec(const struct rv_specs *sp,
					       const char *name)
{
	for (size_t i = 0; i < sp->n_services; i++)
		if (!strcmp(sp->services[i].name, name))
			return &sp->services[i];
	return NULL;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Does instance `s` of the old tree exist in the new config, unchanged? */
static int fate(const struct rv_service *s, const struct rv_specs *nsp)
{
	const struct rv_service_spec *n = find_spec(nsp, s->spec->name);
	bool exists;

	if (!n)
		return -1;	/* removed */
	exists = s->instance < 0 ? n->instances == 1 :
		 n->instances > 1 && (uint32_t)s->instance < n->instances;
	if (!exists)
		return -1;
	if (n->fingerprint != s->spec->fingerprint ||
	    !same_str(n->supervisor, s->spec->supervisor))
		return 1;	/* changed */
	return 0;
}

static bool old_has(const struct rv_supervisor *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (!strcmp(sv->svcs[i].name, name))
			return true;
	return false;
}

static void free_reload(struct rv_reload *r)
{
	if (!r)
		return;
	rv_specs_free(&r->specs);
	free(r->stops);
	free(r);
}

void rv_reload_free(struct rv_supervisor *sv)
{
	free_reload(sv->reload);
	sv->reload = NULL;
}

static int cmp_svc_name(const void *a, const void *b)
{
	return strcmp((*(struct rv_service *const *)a)->name,
		      (*(struct rv_service *const *)b)->name);
}

/* The replaced services are down: swap the trees. */
static void apply(struct rv_supervisor *sv, int64_t now)
{
	struct rv_reload *r = sv->reload;
	struct rv_specs old_specs = sv->specs;
	struct rv_node *old_nodes = sv->nodes;
	struct rv_service *old_svcs = sv->svcs;
	size_t old_n_nodes = sv->n_nodes, old_n_svcs = sv->n_svcs;
	struct rv_service **byname;
	int ret;

	sv->reload = NULL;
	sv->specs = r->specs;
	memset(&r->specs, 0, sizeof(r->specs));
	sv->nodes = NULL;
	sv->svcs = NULL;
	sv->n_nodes = sv->n_svcs = 0;
	byname = calloc(old_n_svcs ? old_n_svcs : 1, sizeof(*byname));
	ret = byname ? rv_build_tree(sv) : -ENOMEM;
	if (!ret && sv->n_svcs + sv->n_nodes > old_n_svcs + old_n_nodes)
		ret = rv_loop_timer_reserve(sv->loop, sv->n_svcs +
					    sv->n_nodes - old_n_svcs -
					    old_n_nodes);
	if (!ret && sv->n_svcs > old_n_svcs)
		ret = rv_loop_child_reserve(sv->loop,
					    sv->n_svcs - old_n_svcs);
	if (ret) {
		/* keep the old tree; bring back what we stopped */
		rv_free_tree(sv);
		rv_specs_free(&sv->specs);
		sv->specs = old_specs;
		sv->nodes = old_nodes;
		sv->svcs = old_svcs;
		sv->n_nodes = old_n_nodes;
		sv->n_svcs = old_n_svcs;
		rv_log_sup(RV_LOG_ERROR, "main", "reload_failed",
			   " error=\"%s\"", strerror(-ret));
		for (size_t i = 0; i < r->n_stops; i++) {
			/* stops[0..n_stops) are all set */
			// NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
			r->stops[i]->reload_stop = false;
			rv_service_admin_start(r->stops[i], now);
		}
		free(byname);
		free_reload(r);
		return;
	}
	for (size_t i = 0; i < old_n_svcs; i++)
		byname[i] = &old_svcs[i];
	qsort(byname, old_n_svcs, sizeof(*byname), cmp_svc_name);
	sv->n_waiting = 0;
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *ns = &sv->svcs[i], key = { .name = ns->name };
		struct rv_service *kp = &key, **hit;

		hit = bsearch(&kp, byname, old_n_svcs, sizeof(*byname),
			      cmp_svc_name);
		if (hit && !(*hit)->reload_stop)
			rv_service_adopt(ns, *hit);
		if (ns->state == RV_SVC_WAITING)
			sv->n_waiting++;
	}
	free(byname);
	/* the old tree holds nothing the loop still points at */
	for (size_t i = 0; i < old_n_nodes; i++)
		rv_loop_timer_cancel(sv->loop, &old_nodes[i].timer);
	for (size_t i = 0; i < old_n_svcs; i++)
		rv_loop_timer_cancel(sv->loop, &old_svcs[i].timer);
	{
		struct rv_specs tmp_specs = sv->specs;
		struct rv_node *tn = sv->nodes;
		struct rv_service *ts = sv->svcs;
		size_t tnn = sv->n_nodes, tns = sv->n_svcs;

		sv->nodes = old_nodes;
		sv->svcs = old_svcs;
		sv->n_nodes = old_n_nodes;
		sv->n_svcs = old_n_svcs;
		rv_free_tree(sv);
		sv->specs = tmp_specs;
		sv->nodes = tn;
		sv->svcs = ts;
		sv->n_nodes = tnn;
		sv->n_svcs = tns;
	}
	rv_specs_free(&old_specs);
	free_reload(r);
	rv_log_sup(RV_LOG_INFO, "main", "reload_applied", " services=%zu",
		   sv->n_svcs);
	rv_node_resume(&sv->nodes[0], now);
}

void rv_reload_service_down(struct rv_supervisor *sv, int64_t now)
{
	struct rv_reload *r = sv->reload;

	if (!r)
		return;
	for (size_t i = 0; i < r->n_stops; i++)
		if (!rv_service_is_down(r->stops[i]))
			return;
	apply(sv, now);
}

static char *refuse(const char *text, int n_errors)
{
	json_t *errs = json_array();
	char msg[128];
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len)
			json_array_append_new(errs, json_stringn(p, len));
		p = nl ? nl + 1 : NULL;
	}
	snprintf(msg, sizeof(msg), "config has %d error%s; nothing was "
		 "changed", n_errors, n_errors == 1 ? "" : "s");
	return rv_commands_line(json_pack("{s:b, s:s, s:o}", "ok", 0, "error", msg,
				   "errors", errs));
}

char *rv_reload_request(struct rv_supervisor *sv, int64_t now)
{
	struct rv_diag d = { 0 };
	struct rv_reload *r;
	json_t *restarted, *started, *stopped, *warnings;
	char *text = NULL;
	size_t text_len = 0;
	int ret;

	if (!sv->config_path)
		return rv_commands_error("nothing to reload: no config file");
	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished)
		return rv_commands_error("shutting down");
	if (sv->reload)
		return rv_commands_error("a reload is in progress");
	r = calloc(1, sizeof(*r));
	d.out = open_memstream(&text, &text_len);
	if (!r || !d.out) {
		free(r);
		if (d.out)
			fclose(d.out);
		free(text);
		return NULL;
	}
	ret = rv_config_load_file(sv->config_path, &r->specs, &d);
	fclose(d.out);
	if (ret) {
		char *reply = refuse(text, d.errors ? d.errors : 1);

		rv_log_sup(RV_LOG_ERROR, "main", "reload_refused",
			   " errors=%d config=%s", d.errors, sv->config_path);
		free(text);
		free(r);
		return reply;
	}
	free(text);
	r->stops = calloc(sv->n_svcs ? sv->n_svcs : 1, sizeof(*r->stops));
	if (!r->stops) {
		free_reload(r);
		return NULL;
	}
	restarted = json_array();
	started = json_array();
	stopped = json_array();
	warnings = json_array();
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *s = &sv->svcs[i];
		int f = fate(s, &r->specs);

		if (f == 0)
			continue;
		json_array_append_new(f > 0 ? restarted : stopped,
				      json_string(s->name));
		r->stops[r->n_stops++] = s;
	}
	for (size_t i = 0; i < r->specs.n_services; i++) {
		const struct rv_service_spec *n = &r->specs.services[i];

		for (uint32_t k = 0; k < n->instances; k++) {
			char name[RV_NAME_MAX + 16];

			if (n->instances > 1)
				snprintf(name, sizeof(name), "%s@%u", n->name,
					 k);
			else
				snprintf(name, sizeof(name), "%s", n->name);
			if (!old_has(sv, name))
				json_array_append_new(started,
						      json_string(name));
		}
	}
	if (r->specs.backend != sv->specs.backend ||
	    !same_str(r->specs.control_socket, sv->specs.control_socket) ||
	    !same_str(r->specs.control_group, sv->specs.control_group) ||
	    r->specs.timer_spin_ns != sv->specs.timer_spin_ns ||
	    r->specs.realtime_priority != sv->specs.realtime_priority)
		json_array_append_new(warnings, json_string(
			"backend, control_socket, control_group, "
			"timer_precision and realtime_priority take effect "
			"when ringvisor restarts"));
	rv_log_sup(RV_LOG_INFO, "main", "reload",
		   " restarted=%zu started=%zu stopped=%zu",
		   json_array_size(restarted), json_array_size(started),
		   json_array_size(stopped));
	text = rv_commands_line(json_pack("{s:b, s:o, s:o, s:o, s:o}", "ok", 1,
				   "restarted", restarted, "started", started,
				   "stopped", stopped, "warnings", warnings));
	sv->reload = r;
	/* stop what is replaced; the swap happens once all of it is down */
	for (size_t i = 0; i < r->n_stops; i++) {
		/* stops[0..n_stops) are all set */
		// NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
		r->stops[i]->reload_stop = true;
		r->stops[i]->held = true;
		rv_service_stop(r->stops[i], now);
	}
	rv_reload_service_down(sv, now);
	return text;
}
