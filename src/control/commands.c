/* SPDX-License-Identifier: MIT */
#include "control/commands.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "control/control.h"
#include "control/logs.h"
#include "control/report.h"
#include "control/waiters.h"
#include "tree/reload.h"
#include "tree/roll.h"
#include "tree/supervisor.h"
#include "util/log.h"

char *rv_commands_line(json_t *j)
{
	char *text, *line = NULL;

	if (!j)
		return NULL;
	text = json_dumps(j, JSON_COMPACT | RV_JSON_REAL);
	json_decref(j);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

char *rv_commands_error(const char *msg)
{
	return rv_commands_line(json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

/* Adds s to v unless it is there; the array has room for every one. */
static void add_once(void **v, size_t *n, void *x)
{
	for (size_t j = 0; j < *n; j++)
		if (v[j] == x)
			return;
	v[(*n)++] = x;
}

static bool in_subtree(const struct rv_member *m, const struct rv_node *n)
{
	for (const struct rv_node *p = m->parent; p; p = p->m.parent)
		if (p == n)
			return true;
	return false;
}

/*
 * Resolves names: "web@1" is one instance, "web" all of its instances,
 * "pool" a nested supervisor (contract: it is a member too).  *members
 * gets what the names name (for start/stop/restart: a supervisor acts on
 * its subtree through its own job), *svcs the services they cover (for
 * status and kill).  All or nothing: the first unknown name is the error.
 * Both arrays are malloc'd (the caller frees).
 */
static int resolve(struct rv_supervisor *sv, const struct rv_request *req,
		   struct rv_member ***members, size_t *n_members,
		   struct rv_service ***svcs, size_t *n_svcs, char **err)
{
	size_t cap = sv->n_svcs + sv->n_nodes + 1;
	void **m = calloc(cap, sizeof(*m)), **v = calloc(cap, sizeof(*v));
	size_t nm = 0, n = 0;

	if (!m || !v) {
		free(m);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < req->n_names; i++) {
		const char *name = req->names[i];
		bool found = false;

		for (size_t k = 1; k < sv->n_nodes; k++) {
			struct rv_node *nd = sv->nodes[k];

			if (strcmp(nd->m.name, name))
				continue;
			found = true;
			add_once(m, &nm, &nd->m);
			for (size_t j = 0; j < sv->n_svcs; j++)
				if (in_subtree(&sv->svcs[j]->m, nd))
					add_once(v, &n, sv->svcs[j]);
		}
		for (size_t k = 0; k < sv->n_svcs; k++) {
			struct rv_service *s = sv->svcs[k];

			if (strcmp(s->name, name) && strcmp(s->spec->name, name))
				continue;
			found = true;
			add_once(m, &nm, &s->m);
			add_once(v, &n, s);
		}
		if (!found) {
			free(m);
			free(v);
			if (asprintf(err, "unknown service: %s", name) < 0)
				*err = NULL;
			return -ENOENT;
		}
	}
	*members = (struct rv_member **)m;
	*n_members = nm;
	*svcs = (struct rv_service **)v;
	*n_svcs = n;
	return 0;
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
	return rv_commands_line(json_pack("{s:b, s:s, s:o}", "ok", 0,
					  "error", msg, "errors", errs));
}

static char *do_kill(struct rv_supervisor *sv, struct rv_service **v,
		     size_t n, int sig)
{
	json_t *sent = json_array();

	for (size_t i = 0; i < n; i++) {
		bool group = v[i]->spec->kill_mode != RV_KILL_PROCESS &&
			     !sv->exec_mode;

		if (rv_service_signal(v[i], sig, group) == 0) {
			json_array_append_new(sent, json_string(v[i]->name));
			rv_log_svc(RV_LOG_INFO, v[i]->name, "kill_requested",
				   " signal=%s pid=%d", rv_signal_name(sig),
				   (int)v[i]->child.pid);
		}
	}
	if (!json_array_size(sent)) {
		json_decref(sent);
		return rv_commands_error(n == 1 ? "service is not running" :
					 "no such service is running");
	}
	return rv_commands_line(json_pack("{s:b, s:o, s:s}", "ok", 1, "services",
				   sent, "signal", rv_signal_name(sig)));
}

/* An admin start is a fresh decision: not counted as a restart, and no
 * longer held down (unless the service is going away for good). */
static void unhold(struct rv_service *s)
{
	if (s->m.job == RV_JOB_REMOVE || s->m.job == RV_JOB_SHUTDOWN)
		return;
	rv_member_set_held(&s->m, false);
	s->manual_start = true;
}

/*
 * start, stop, restart: one job per member (tree/job.h); the reply says
 * which were refused (a service being removed, a supervisor shutting
 * down) instead of pretending.  A nested supervisor's name stands for
 * its subtree: `stop` and `start` hold or release each of its services
 * (so a service a reload adds to it later starts, and `start web` of one
 * of them works as for any service); `restart` is the supervisor's own
 * job, which stops its members one at a time and starts them again.
 */
static const char *refusal(const struct rv_supervisor *sv)
{
	return sv->state == RV_SUP_SHUTTING_DOWN ? "shutting down" :
						   "being removed by a reload";
}

/* w (may be NULL): the waiter of the request, told what was refused */
static void tally(struct rv_supervisor *sv, struct rv_member *m,
		  enum rv_job_verdict verdict, json_t *done, json_t *refused,
		  struct rv_waiter *w)
{
	if (verdict != RV_JOB_REFUSED) {
		json_array_append_new(done, json_string(m->name));
		return;
	}
	json_array_append_new(refused, json_string(m->name));
	if (w)
		rv_waiter_refuse(w, m, refusal(sv));
}

/* Newest first: the order a shutdown stops them in. */
static int newest_first(const void *a, const void *b)
{
	uint64_t x = (*(struct rv_service *const *)a)->m.start_seq;
	uint64_t y = (*(struct rv_service *const *)b)->m.start_seq;

	return x < y ? 1 : x > y ? -1 : 0;
}

static char *admin_jobs(struct rv_supervisor *sv, enum rv_cmd cmd,
			struct rv_member **mv, size_t nm,
			struct rv_service **v, size_t n, int64_t now,
			struct rv_waiter *w)
{
	json_t *done = json_array(), *refused = json_array();
	enum rv_job_verdict verdict;

	if (cmd == RV_CMD_RESTART) {
		for (size_t i = 0; i < n; i++)
			unhold(v[i]);
		for (size_t i = 0; i < nm; i++) {
			verdict = rv_member_request(mv[i], RV_JOB_RESTART, now);
			tally(sv, mv[i], verdict, done, refused, w);
		}
	} else {
		/* a subtree (or several services) stops newest first and
		 * starts in config order, each waiting for its `after` */
		if (cmd == RV_CMD_STOP && n > 1)
			qsort(v, n, sizeof(*v), newest_first);
		for (size_t i = 0; i < n; i++) {
			struct rv_member *m = &v[i]->m;

			if (cmd == RV_CMD_STOP)
				rv_member_set_held(m, true);
			else
				unhold(v[i]);
			verdict = rv_member_request(m, cmd == RV_CMD_STOP ?
						    RV_JOB_STOP : RV_JOB_START,
						    now);
			tally(sv, m, verdict, done, refused, w);
		}
	}
	if (json_array_size(refused) && !json_array_size(done)) {
		json_decref(done);
		json_decref(refused);
		return rv_commands_error(refusal(sv));
	}
	return rv_commands_line(json_pack("{s:b, s:o, s:o}", "ok", 1,
					  "services", done, "refused",
					  refused));
}

/* The instances in v[from..n) of v[from]'s section, moved to the front
 * of v[from..n) in their order; returns how many. */
static size_t gather_section(struct rv_service **v, size_t from, size_t n)
{
	const char *section = v[from]->spec->name;
	size_t k = from + 1;

	for (size_t i = from + 1; i < n; i++) {
		struct rv_service *s = v[i];

		if (strcmp(s->spec->name, section))
			continue;
		memmove(&v[k + 1], &v[k], (i - k) * sizeof(*v));
		v[k++] = s;
	}
	return k - from;
}

/*
 * restart --rolling: one roll per service section named (tree/roll.h),
 * over the instances named (all of them for "web").  All or nothing: a
 * supervisor's name, a roll already running on one of them or shutdown
 * refuse the whole request.
 */
static char *rolling_jobs(struct rv_supervisor *sv, struct rv_member **mv,
			  size_t nm, struct rv_service **v, size_t n,
			  int64_t now)
{
	json_t *rolls = json_array(), *names = json_array();
	char msg[256];

	for (size_t i = 0; i < nm; i++) {
		if (mv[i]->kind == RV_MEMBER_SERVICE)
			continue;
		snprintf(msg, sizeof(msg), "restart --rolling: %s is a "
			 "supervisor; name a service", mv[i]->name);
		goto refuse;
	}
	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished) {
		snprintf(msg, sizeof(msg), "shutting down");
		goto refuse;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rv_roll *r = v[i]->roll;

		if (!rv_roll_is_running(v[i]))
			continue;
		snprintf(msg, sizeof(msg), "a rolling restart of %s is in "
			 "progress (%u of %u replaced); it was left as it is",
			 r->name, r->replaced, r->n);
		goto refuse;
	}
	for (size_t i = 0; i < n; i++)
		unhold(v[i]);
	for (size_t i = 0, k; i < n; i += k) {
		k = gather_section(v, i, n);
		if (rv_roll_start(sv, &v[i], k, false, now)) {
			snprintf(msg, sizeof(msg), "out of memory");
			goto refuse;
		}
		json_array_append_new(rolls, json_string(v[i]->spec->name));
		for (size_t j = i; j < i + k; j++)
			json_array_append_new(names, json_string(v[j]->name));
	}
	return rv_commands_line(json_pack("{s:b, s:o, s:o, s:o}", "ok", 1,
					  "services", names, "rolling", rolls,
					  "refused", json_array()));
refuse:
	json_decref(rolls);
	json_decref(names);
	return rv_commands_error(msg);
}

static json_t *names_array(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The reply of `reload`: what it did, or why it did nothing. */
static char *reload_reply(struct rv_supervisor *sv, int64_t now)
{
	struct rv_reload_result res;
	char *reply = NULL;
	json_t *warnings;

	rv_reload_request(sv, now, &res);
	switch (res.outcome) {
	case RV_RELOAD_APPLIED:
		warnings = json_array();
		if (res.needs_restart)
			json_array_append_new(warnings, json_string(
				"backend, control_socket, control_group, "
				"http_listen, timer_precision and "
				"realtime_priority take effect when ringvisor "
				"restarts"));
		reply = rv_commands_line(json_pack(
			"{s:b, s:o, s:o, s:o, s:i, s:o}", "ok", 1,
			"restarted", names_array(res.restarted,
						 res.n_restarted),
			"started", names_array(res.started, res.n_started),
			"stopped", names_array(res.stopped, res.n_stopped),
			"unchanged", (int)res.n_unchanged,
			"warnings", warnings));
		break;
	case RV_RELOAD_QUEUED:
		reply = rv_commands_line(json_pack("{s:b, s:b}", "ok", 1,
						   "queued", 1));
		break;
	case RV_RELOAD_REFUSED:
		reply = refuse(res.errors, res.n_errors);
		break;
	case RV_RELOAD_NO_CONFIG:
		reply = rv_commands_error("nothing to reload: no config file");
		break;
	case RV_RELOAD_SHUTTING_DOWN:
		reply = rv_commands_error("shutting down: reload refused");
		break;
	case RV_RELOAD_NOMEM:
	default:
		reply = rv_commands_error("out of memory: nothing was changed");
		break;
	}
	rv_reload_result_free(&res);
	return reply;
}

/*
 * Why a hand-over to a new binary cannot start now, or NULL.  A roll's
 * position and a reload's jobs are not part of the state (docs/reexec.md):
 * the caller retries once they are over.
 */
const char *rv_commands_reexec_refusal(const struct rv_supervisor *sv)
{
	if (sv->exec_mode)
		return "reexec: not under exec (a container's init)";
	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished)
		return "reexec: shutting down";
	if (sv->reload_jobs || sv->reload_queued)
		return "reexec: a reload is being applied";
	if (sv->reexec.asked || (sv->control &&
				  rv_control_waiters(sv->control)->reexec))
		return "reexec: a hand-over is already in progress";
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (rv_roll_is_running(sv->svcs[i]))
			return "reexec: a rolling restart is in progress";
	return NULL;
}

/* The reply comes from the hand-over (daemon/handover.c), which runs
 * between two loop turns: here it is only asked for. */
static int reexec_request(struct rv_supervisor *sv,
			  const struct rv_request *req, int64_t now,
			  char **reply, struct rv_waiter **wait)
{
	struct rv_waiters *ws = rv_control_waiters(sv->control);
	const char *why = rv_commands_reexec_refusal(sv);
	char *binary = NULL;

	if (why) {
		*reply = rv_commands_error(why);
		return *reply ? 0 : -ENOMEM;
	}
	if (req->binary && !(binary = strdup(req->binary)))
		return -ENOMEM;
	*wait = rv_waiter_new(ws, RV_WAIT_REEXEC, NULL, 0, 0, now);
	if (!*wait) {
		free(binary);
		return -ENOMEM;
	}
	ws->reexec = *wait;
	sv->reexec.asked = true;
	sv->reexec.binary = binary;
	sv->reexec.timeout_ns = req->timeout_ns;
	rv_log_sup(RV_LOG_INFO, "main", "control_command", " cmd=reexec");
	return 0;
}

static const enum rv_wait_goal wait_goals[] = {
	[RV_CMD_START] = RV_WAIT_UP, [RV_CMD_RESTART] = RV_WAIT_RESTART,
	[RV_CMD_STOP] = RV_WAIT_DOWN, [RV_CMD_SHUTDOWN] = RV_WAIT_EXIT,
};

/*
 * A request with "wait": its waiter is registered before any job is
 * requested (waiters.h), so every transition the jobs cause reaches it.
 */
static int start_waiting(struct rv_supervisor *sv, const struct rv_request *req,
			 struct rv_service **v, size_t n, int64_t now,
			 struct rv_waiter **w)
{
	*w = NULL;
	if (!req->wait)
		return 0;
	*w = rv_waiter_new(rv_control_waiters(sv->control),
			   req->rolling ? RV_WAIT_ROLL : wait_goals[req->cmd],
			   v, n, req->timeout_ns, now);
	return *w ? 0 : -ENOMEM;
}

/*
 * The command is done with: *reply answers now (an error, or a waiter
 * already complete), else *wait holds the reply until it is.
 */
static int finish_waiting(struct rv_waiter *w, char **reply,
			  struct rv_waiter **wait)
{
	bool nomem;

	if (!w)
		return 0;
	if (!*reply || strncmp(*reply, "{\"ok\":true", 10)) {
		rv_waiter_drop(w);
		return 0;
	}
	free(*reply);
	*reply = rv_waiter_settle(w, &nomem);
	if (nomem)
		return -ENOMEM;
	if (!*reply)
		*wait = w;
	return 0;
}

int rv_commands_handle(struct rv_supervisor *sv, const struct rv_request *req,
		       char **reply, bool *follow, struct rv_waiter **wait)
{
	struct rv_waiter *w = NULL;
	int64_t now = rv_loop_now(sv->loop);
	struct rv_service **v = NULL;
	struct rv_member **mv = NULL;
	size_t n = 0, nm = 0;
	char *err = NULL;
	int ret;

	*follow = false;
	*reply = NULL;
	*wait = NULL;
	if (req->n_names) {
		ret = resolve(sv, req, &mv, &nm, &v, &n, &err);
		if (ret == -ENOENT) {
			*reply = rv_commands_error(err ? err : "unknown service");
			free(err);
			return *reply ? 0 : -ENOMEM;
		}
		if (ret)
			return ret;
	}
	ret = 0;
	switch (req->cmd) {
	case RV_CMD_STATUS:
		*reply = rv_commands_line(json_pack("{s:b, s:o}", "ok", 1, "status",
					     rv_status_json(sv, v, n)));
		break;
	case RV_CMD_START:
	case RV_CMD_STOP:
	case RV_CMD_RESTART:
		rv_log_sup(RV_LOG_INFO, "main", "control_command",
			   " cmd=%s members=%zu%s", rv_cmd_name(req->cmd), nm,
			   req->rolling ? " rolling=true" : "");
		ret = start_waiting(sv, req, v, n, now, &w);
		if (ret)
			break;
		*reply = req->rolling ?
			 rolling_jobs(sv, mv, nm, v, n, now) :
			 admin_jobs(sv, req->cmd, mv, nm, v, n, now, w);
		ret = finish_waiting(w, reply, wait);
		break;
	case RV_CMD_KILL:
		*reply = do_kill(sv, v, n, req->signal);
		break;
	case RV_CMD_RELOAD:
		*reply = reload_reply(sv, now);
		break;
	case RV_CMD_SHUTDOWN:
		ret = start_waiting(sv, req, NULL, 0, now, &w);
		if (ret)
			break;
		*reply = rv_commands_line(json_pack("{s:b}", "ok", 1));
		rv_supervisor_shutdown(sv, now, "control");
		ret = finish_waiting(w, reply, wait);
		break;
	case RV_CMD_METRICS: {
		char *text = rv_metrics_text(sv);

		if (text)
			*reply = rv_commands_line(json_pack("{s:b, s:s}", "ok", 1,
						     "metrics", text));
		free(text);
		break;
	}
	case RV_CMD_EVENTS:
		*reply = rv_commands_line(json_pack("{s:b, s:b}", "ok", 1,
					     "following", 1));
		*follow = true;
		break;
	case RV_CMD_LOGS:
		*reply = rv_logs_reply(v, n, req->lines, req->follow,
				       RV_FOLLOW_REPLY_MAX);
		*follow = req->follow;
		break;
	case RV_CMD_REEXEC:
		ret = reexec_request(sv, req, now, reply, wait);
		break;
	}
	free(v);
	free(mv);
	if (ret)
		return ret;
	return *reply || *wait ? 0 : -ENOMEM;
}
