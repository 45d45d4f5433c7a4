/* SPDX-License-Identifier: MIT */
/*
 * The status document of the contract (also the exit report of
 * `run --report FILE`), built with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/parse.h"
#include "control/report.h"
#include "tree/roll.h"
#include "tree/supervisor.h"

static const char *const strategy_names[] = {
	[RV_ONE_FOR_ONE] = "one_for_one", [RV_ONE_FOR_ALL] = "one_for_all",
	[RV_REST_FOR_ONE] = "rest_for_one",
};

json_t *rv_json_secs(int64_t ns)
{
	/* to the nearest millisecond, halves away from zero (no libm) */
	int64_t ms = ns >= 0 ? (ns + 500000) / 1000000 :
			       -((-ns + 500000) / 1000000);

	return json_real((double)ms / 1e3);
}

static json_t *exit_json(const struct rv_exit_info *e)
{
	if (!e->valid)
		return json_null();
	if (e->signal)
		return json_pack("{s:s, s:b}", "signal",
				 rv_signal_name(e->signal), "core_dumped",
				 e->core_dumped);
	if (e->failed_start)
		return json_pack("{s:i, s:b}", "code", e->code,
				 "failed_start", 1);
	return json_pack("{s:i}", "code", e->code);
}

/* What a waiting member waits for: its dependencies that are not up,
 * and the member it replaces (a reload moved it) while that one lives. */
static json_t *waiting_for(const struct rv_member *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->n_deps; i++)
		if (!rv_member_is_up(m->deps[i]))
			json_array_append_new(a, json_string(m->deps[i]->name));
	if (m->replaces)
		json_array_append_new(a, json_string(m->replaces->name));
	return a;
}

/*
 * The member whose `after` holds s back: s itself when it waits, or the
 * nearest supervisor above it that waits (its members are not started
 * yet, but they are not `stopped` either).
 */
static const struct rv_member *held_back_by(const struct rv_service *s)
{
	if (s->state == RV_SVC_WAITING)
		return &s->m;
	if (s->state != RV_SVC_STOPPED || s->m.held || s->m.job)
		return NULL;
	for (const struct rv_node *n = s->m.parent; n; n = n->m.parent)
		if (n->state == RV_NODE_WAITING)
			return &n->m;
	return NULL;
}

/* The last rolling restart over s's instances (tree/roll.h). */
static json_t *roll_json(const struct rv_roll *r)
{
	bool stopped = r->state == RV_ROLL_STOPPED;

	return json_pack("{s:s, s:s?, s:s?, s:i, s:i, s:i}",
			 "state", rv_roll_state_name(r->state),
			 "at", stopped && r->at[0] ? r->at : NULL,
			 "reason", stopped ? r->reason : NULL,
			 "replaced", (int)r->replaced,
			 "instances", (int)r->n,
			 "max_unavailable", (int)r->max_unavailable);
}

static json_t *service_json(const struct rv_service *s, int64_t now)
{
	const struct rv_member *waiter = held_back_by(s);
	bool alive = s->child.pid > 0;
	bool up = s->state == RV_SVC_RUNNING;
	json_t *next = s->state == RV_SVC_BACKOFF ?
		rv_json_secs(s->next_start_ns - now) :
		json_null();

	/* pairs: name supervisor type critical state pid restarts uptime_s
	 * ready last_exit next_restart_in_s reason */
	json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:i, s:o, s:b, s:o,"
			 " s:o, s:s?}",
			 "name", s->name,
			 "supervisor", s->m.parent->m.name,
			 "type", s->spec->type == RV_TYPE_ONESHOT ? "oneshot" :
				 s->spec->type == RV_TYPE_NOTIFY ? "notify" :
				 "simple",
			 "critical", s->m.critical,
			 "state", waiter ? "waiting" :
				  rv_svc_state_name(s->state),
			 "pid", alive ? json_integer(s->child.pid) : json_null(),
			 "restarts", (int)rv_service_restarts(s),
			 "uptime_s", up ? rv_json_secs(now - s->started_ns) :
					  json_null(),
			 "ready", up,
			 "last_exit", exit_json(&s->last_exit),
			 "next_restart_in_s", next,
			 "reason", s->state == RV_SVC_FAILED ?
					s->fail_reason : NULL);

	if (j && waiter)
		json_object_set_new(j, "waiting_for", waiting_for(waiter));
	if (j && s->roll)
		json_object_set_new(j, "roll", roll_json(s->roll));
	if (j && rv_ready_status_text(s))
		json_object_set_new(j, "status_text",
				    json_string(rv_ready_status_text(s)));
	return j;
}

json_t *rv_status_json(struct rv_supervisor *sv,
		       struct rv_service *const *only, size_t n_only)
{
	int64_t now = rv_clock_now();
	json_t *services = json_array(), *nodes = json_array(), *root;

	if (only) {
		for (size_t i = 0; i < n_only; i++)
			json_array_append_new(services,
					      service_json(only[i], now));
	} else {
		for (size_t i = 0; i < sv->n_svcs; i++)
			json_array_append_new(services,
					      service_json(sv->svcs[i], now));
	}
	for (size_t i = 1; i < sv->n_nodes; i++) {
		const struct rv_node *n = sv->nodes[i];

		json_t *j = json_pack(
			"{s:s, s:s, s:s, s:s, s:i, s:i}",
			"name", n->m.name,
			"parent", n->m.parent->m.name,
			"state", rv_node_state_name(n->state),
			"strategy", strategy_names[n->spec->strategy],
			"restarts", (int)n->restarts,
			"restarts_in_window",
			(int)rv_window_count(&n->window, now));

		if (j && n->state == RV_NODE_WAITING)
			json_object_set_new(j, "waiting_for",
					    waiting_for(&n->m));
		if (j && n->state == RV_NODE_FAILED && n->fail_reason)
			json_object_set_new(j, "reason",
					    json_string(n->fail_reason));
		json_array_append_new(nodes, j);
	}
	root = json_pack("{s:{s:s, s:i, s:s, s:o, s:s, s:s, s:i, s:i, s:s?}, "
			 "s:o, s:o}",
			 "supervisor",
			 "state", rv_sup_state_name(sv->state),
			 "pid", (int)getpid(),
			 /* the binary running now: it changes at `reexec` */
			 "version", RINGVISOR_VERSION,
			 "uptime_s", rv_json_secs(now - sv->started_ns),
			 "backend", rv_loop_backend_name(sv->loop),
			 "strategy",
			 strategy_names[sv->nodes[0]->spec->strategy],
			 "restarts_in_window",
			 (int)rv_window_count(&sv->nodes[0]->window, now),
			 "exit_code", (int)sv->exit_code,
			 "reason", sv->fail_reason,
			 "services", services, "supervisors", nodes);
	return root;
}

char *rv_report_dump(struct rv_supervisor *sv)
{
	json_t *j = rv_status_json(sv, NULL, 0);
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_INDENT(2) | RV_JSON_REAL);
	json_decref(j);
	return s;
}

int rv_report_write(struct rv_supervisor *sv, const char *path)
{
	char *text = rv_report_dump(sv), *tmp = NULL;
	size_t len;
	int fd, ret = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	/* write beside, then rename: a reader never sees half a report */
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		free(text);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t o = 0; o < len;) {
		ssize_t n = write(fd, text + o, len - o);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		o += (size_t)n;
	}
	if (!ret && write(fd, "\n", 1) != 1)
		ret = -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	free(tmp);
	free(text);
	return ret;
}
