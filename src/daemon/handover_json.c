/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state <-> JSON (handover_json.h).  Writing is json_pack;
 * reading goes field by field through a reader that keeps the first
 * error with where it was, so each check is one line and the message
 * still names the field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "daemon/handover_bytes.h"
#include "daemon/handover_json.h"
#include "daemon/handover_err.h"
#include "daemon/handover_names.h"
#include "tree/supervisor.h"

/* ---- writing ---- */

static json_t *service_core_json(const struct rv_snap_service *s);
static json_t *supervisor_core_json(const struct rv_snap_supervisor *s);

/* NULL, or the new value: json_pack's "o" steals it and fails on NULL. */
static json_t *deadline(int64_t ns)
{
	return ns == RV_SNAP_NO_DEADLINE ? json_null() : json_integer(ns);
}

static json_t *window_json(const struct rv_snap_window *w)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a && i < w->n; i++)
		if (json_array_append_new(a, json_integer(w->stamps[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *u64_array(const uint64_t *v, size_t n)
{
	json_t *a = json_array();

	/* counters stay far below 2^63 */
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer((json_int_t)v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *member_json(const struct rv_snap_member *m)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:I}",
			 "name", m->name, "job", rv_ho_job_name(m->job),
			 "queued", m->queued, "in_op", m->in_op,
			 "held", m->held, "was_up", m->was_up,
			 "start_seq", (json_int_t)m->start_seq);
}

static json_t *exit_json(const struct rv_exit_info *e)
{
	return json_pack("{s:b, s:i, s:i, s:b, s:b, s:b, s:b, s:b, s:b}",
			 "valid", e->valid, "code", e->code,
			 "signal", e->signal, "core_dumped", e->core_dumped,
			 "failed_start", e->failed_start,
			 "no_child", e->no_child, "timeout", e->timeout,
			 "watchdog", e->watchdog, "health", e->health);
}

/* STATUS= is checked UTF-8 when it arrives, but a long one was cut at
 * a byte count: drop a split character at its end. */
static json_t *utf8_json(const char *text)
{
	size_t len = strlen(text);
	json_t *v = json_stringn(text, len);

	for (int cut = 1; !v && cut <= 3 && cut <= (int)len; cut++)
		v = json_stringn(text, len - (size_t)cut);
	return v;
}

static json_t *ready_json(const struct rv_snap_ready *r)
{
	if (!r)
		return json_null();
	return json_pack("{s:b, s:o, s:i, s:I, s:o, s:o, s:i}",
			 "ready", r->ready,
			 "status", r->status ? utf8_json(r->status) :
					       json_null(),
			 "mainpid", (int)r->mainpid,
			 "health_failures", (json_int_t)r->health_failures,
			 "timer_ns", deadline(r->timer_ns),
			 "check_ns", deadline(r->check_ns),
			 "ready_fd", r->ready_fd);
}

/* obj with key set to val (stolen); NULL, obj released, when either is
 * NULL (ENOMEM). */
static json_t *with(json_t *obj, const char *key, json_t *val)
{
	if (obj && val && !json_object_set_new(obj, key, val))
		return obj;
	json_decref(obj);
	json_decref(val);
	return NULL;
}

static json_t *stream_json(const struct rv_out_state *st)
{
	if (!st)
		return json_null();
	return json_pack("{s:i, s:i, s:o, s:I, s:b, s:o}",
			 "rfd", st->rfd, "wfd", st->wfd,
			 "line", rv_json_hex(st->line, st->line_len),
			 "exit_left", (json_int_t)st->exit_left,
			 "exit_pending", st->exit_pending,
			 "sink", rv_json_hex(st->sink, st->sink_len));
}

static json_t *logline_json(const void *item)
{
	const struct rv_snap_logline *l = item;

	return json_pack("[I, s, I]", (json_int_t)l->realtime_ns,
			 rv_ho_log_stream_name(l->stream), (json_int_t)l->len);
}

static bool append_all(json_t *arr, const void *items, size_t n, size_t size,
		       json_t *(*make)(const void *item));

static json_t *logs_json(const struct rv_snap_logs *l)
{
	json_t *lines;

	if (!l)
		return json_null();
	lines = json_array();
	if (!append_all(lines, l->lines, l->n, sizeof(*l->lines),
			logline_json)) {
		json_decref(lines);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:[o, o]}", "lines", lines,
			 "text", rv_json_base64(l->text, l->text_len),
			 "pieces",
			 rv_json_base64(l->piece[0], l->piece_len[0]),
			 rv_json_base64(l->piece[1], l->piece_len[1]));
}

static json_t *stored_json(const void *item)
{
	const struct rv_snap_stored *st = item;

	return json_pack("{s:i, s:s}", "fd", st->fd, "name", st->name);
}

static json_t *array_of(const void *items, size_t n, size_t size,
			json_t *(*make)(const void *item))
{
	json_t *a = json_array();

	if (append_all(a, items, n, size, make))
		return a;
	json_decref(a);
	return NULL;
}

static json_t *service_json(const void *item)
{
	const struct rv_snap_service *s = item;
	json_t *v = service_core_json(s);

	v = with(v, "stdout", stream_json(s->out));
	v = with(v, "stderr", stream_json(s->err));
	v = with(v, "logs", logs_json(s->logs));
	return with(v, "fd_store", array_of(s->stored, s->n_stored,
					    sizeof(*s->stored), stored_json));
}

static json_t *service_core_json(const struct rv_snap_service *s)
{
	return json_pack("{s:o, s:s, s:s, s:b, s:b, s:i, s:i, s:o, s:I, s:I,"
			 " s:I, s:I, s:I, s:s?, s:o, s:o, s:o, s:o}",
			 "member", member_json(&s->m),
			 "state", rv_ho_svc_state_name(s->state),
			 "abort", rv_ho_abort_name(s->abort),
			 "kill_sent", s->kill_sent,
			 "manual_start", s->manual_start,
			 "pid", (int)s->pid, "pidfd", s->pidfd,
			 "timer_ns", deadline(s->timer_ns),
			 "started_ns", (json_int_t)s->started_ns,
			 "next_start_ns", (json_int_t)s->next_start_ns,
			 "due_ns", (json_int_t)s->due_ns,
			 "backoff_n", (json_int_t)s->backoff_n,
			 "restarts", (json_int_t)s->restarts,
			 "fail_reason", s->fail_reason,
			 "last_exit", exit_json(&s->last_exit),
			 "window", window_json(&s->window),
			 "ends", u64_array(s->ends, RV_END_NREASONS),
			 "ready", ready_json(s->ready));
}

static json_t *node_json(const void *item)
{
	const struct rv_snap_node *n = item;

	return json_pack("{s:o, s:s, s:s, s:b, s:I, s:o, s:I, s:I, s:s?,"
			 " s:o}",
			 "member", member_json(&n->m),
			 "state", rv_ho_node_state_name(n->state),
			 "op", rv_ho_op_name(n->op),
			 "any_failed", n->any_failed,
			 "op_deadline_ns", (json_int_t)n->op_deadline_ns,
			 "timer_ns", deadline(n->timer_ns),
			 "restarts", (json_int_t)n->restarts,
			 "n_terminal", (json_int_t)n->n_terminal,
			 "fail_reason", n->fail_reason,
			 "window", window_json(&n->window));
}

static json_t *histogram_json(const struct rv_histogram *h)
{
	return json_pack("{s:o, s:I, s:f}",
			 "count", u64_array(h->count, RV_HIST_BUCKETS + 1),
			 "total", (json_int_t)h->total, "sum_s", h->sum_s);
}

static json_t *signals_json(const sigset_t *set)
{
	json_t *a = json_array();

	for (int sig = 1; a && sig < NSIG; sig++)
		if (sigismember(set, sig) == 1 &&
		    json_array_append_new(a, json_integer(sig))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *supervisor_json(const struct rv_snap_supervisor *s)
{
	json_t *v = supervisor_core_json(s);

	v = with(v, "reload_queued", json_boolean(s->reload_queued));
	v = with(v, "exec", json_pack("{s:b, s:b, s:i, s:o, s:o}",
				      "mode", s->exec_mode,
				      "escalate", s->exec_escalate,
				      "stop_signal", s->exec_stop_signal,
				      "child_mask",
				      signals_json(&s->exec_child_mask),
				      "child_ignored",
				      signals_json(&s->exec_child_ignored)));
	v = with(v, "stdout_pending", rv_json_hex(s->std_pending[1],
						  s->std_pending_len[1]));
	return with(v, "stderr_pending", rv_json_hex(s->std_pending[2],
						     s->std_pending_len[2]));
}

static json_t *supervisor_core_json(const struct rv_snap_supervisor *s)
{
	return json_pack("{s:s, s:b, s:b, s:i, s:I, s:I, s:I, s:o, s:s?,"
			 " s:o}",
			 "state", rv_ho_sup_state_name(s->state),
			 "failing", s->failing,
			 "initial_start_done", s->initial_start_done,
			 "exit_code", s->exit_code,
			 "seq", (json_int_t)s->seq,
			 /* all 64 bits, as the integer they are */
			 "rng", (json_int_t)s->rng,
			 "started_ns", (json_int_t)s->started_ns,
			 "shutdown_ns", deadline(s->shutdown_ns),
			 "fail_reason", s->fail_reason,
			 "restart_latency",
			 histogram_json(&s->restart_latency));
}

/* make(items[i]) appended for each of n items (size bytes apart);
 * false on ENOMEM. */
static bool append_all(json_t *arr, const void *items, size_t n, size_t size,
		       json_t *(*make)(const void *item))
{
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, make((const char *)items +
						    i * size)))
			return false;
	return arr != NULL;
}

static json_t *socket_json(const void *item)
{
	const struct rv_snap_socket *k = item;

	return json_pack("{s:s, s:s, s:i, s:I, s:I}", "name", k->name,
			 "listen", k->listen, "fd", k->fd,
			 "dev", (json_int_t)k->dev, "ino", (json_int_t)k->ino);
}

static json_t *config_json(const void *item)
{
	const struct rv_config_source *f = item;

	return json_pack("{s:s, s:o}", "path", f->path,
			 "bytes", rv_json_base64(f->bytes, f->len));
}

static json_t *daemon_json(const struct rv_snap_daemon *d)
{
	json_t *counters = json_object();

	for (int c = 0; counters && c < RV_SNAP_NCOUNTERS; c++)
		counters = with(counters,
				rv_snap_counter_name((enum rv_snap_counter)c),
				json_integer((json_int_t)d->counters[c]));
	return json_pack("{s:s?, s:I, s:o}", "notify_socket",
			 d->notify_socket,
			 "watchdog_usec", (json_int_t)d->watchdog_usec,
			 "counters", counters);
}

/* ---- format 2: zero values left out ---- */

/* The byte strings (hex or base64) whose "" is their zero: an empty text
 * ("status": "") is a value, not nothing. */
static bool is_bytes_key(const char *key)
{
	static const char *const keys[] = {
		"line", "sink", "text", "stdout_pending", "stderr_pending",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/* An array the reader takes as missing: empty, counters all 0, or the
 * log ring's two pieces both empty. */
static bool is_zero_array(const char *key, const json_t *a)
{
	bool pieces = !strcmp(key, "pieces");
	json_t *item;
	size_t i;

	json_array_foreach(a, i, item)
		if (pieces ? !json_is_string(item) ||
			     json_string_length(item) :
			     !json_is_integer(item) ||
			     json_integer_value(item))
			return false;
	return true;
}

static bool is_zero(const char *key, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return true;
	case JSON_INTEGER:
		return json_integer_value(v) == 0;
	case JSON_STRING:
		return !json_string_length(v) && is_bytes_key(key);
	case JSON_ARRAY:
		return is_zero_array(key, v);
	default:
		/* an object is kept even when empty: "ready": {} says there
		 * is readiness, a missing "ready" that there is none */
		return false;
	}
}

/* Format 2: obj's zero fields removed, in its objects too. */
static void sparse(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		if (json_is_object(v))
			sparse(v);
		else if (is_zero(key, v))
			json_object_del(obj, key);
	}
}

static json_t *sparse_all(json_t *arr)
{
	json_t *item;
	size_t i;

	json_array_foreach(arr, i, item)
		sparse(item);
	return arr;
}

json_t *rv_handover_to_json(const struct rv_snapshot *snap, int format)
{
	json_t *svcs = json_array(), *nodes = json_array(), *v;

	if (!append_all(svcs, snap->svcs, snap->n_svcs, sizeof(*snap->svcs),
			service_json) ||
	    !append_all(nodes, snap->nodes, snap->n_nodes,
			sizeof(*snap->nodes), node_json)) {
		json_decref(svcs);
		json_decref(nodes);
		return NULL;
	}
	v = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o}",
		      "magic", RV_HANDOVER_MAGIC,
		      "format", format,
		      "writer", RINGVISOR_VERSION,
		      "supervisor", supervisor_json(&snap->sup),
		      "nodes", nodes, "services", svcs);
	v = with(v, "sockets", array_of(snap->sockets, snap->n_sockets,
					sizeof(*snap->sockets), socket_json));
	v = with(v, "config", array_of(snap->config, snap->n_config,
				       sizeof(*snap->config), config_json));
	v = with(v, "daemon", daemon_json(&snap->daemon));
	if (v && format >= 2) {
		sparse_all(svcs);
		sparse_all(nodes);
		sparse(json_object_get(v, "supervisor"));
		sparse(json_object_get(v, "daemon"));
	}
	return v;
}

/* ---- reading ---- */

struct reader {
	struct rv_ho_err e;
	int format;		/* the state's, once its header was read */
	/* inside a member, the supervisor or the daemon of a format 2
	 * state: a missing field holds its zero value */
	bool sparse;
};

#define fail(r, ...) rv_ho_fail(&(r)->e, __VA_ARGS__)
#define nomem(r) rv_ho_nomem(&(r)->e)

static json_t *field(struct reader *r, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v && !r->sparse)
		fail(r, "\"%s\" is missing", key);
	return v;
}

static int64_t get_int(struct reader *r, const json_t *obj, const char *key,
		       int64_t min, int64_t max)
{
	json_t *v = field(r, obj, key);
	json_int_t i;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return fail(r, "\"%s\": not an integer", key), 0;
	i = json_integer_value(v);
	if (i < min || i > max)
		return fail(r, "\"%s\": %lld out of range [%" PRId64 ", %"
			    PRId64 "]", key, (long long)i, min, max), 0;
	return i;
}

static bool get_bool(struct reader *r, const json_t *obj, const char *key)
{
	json_t *v = field(r, obj, key);

	if (v && !json_is_boolean(v))
		return fail(r, "\"%s\": not true or false", key);
	return v && json_is_true(v);
}

/* A deadline: null (not armed) or an integer. */
static int64_t get_deadline(struct reader *r, const json_t *obj,
			    const char *key)
{
	json_t *v = field(r, obj, key);

	if (!v || json_is_null(v))
		return RV_SNAP_NO_DEADLINE;
	return get_int(r, obj, key, INT64_MIN + 1, INT64_MAX);
}

/* An enumeration by name: its index in [0, n), or 0 after an error. */
static uint8_t get_enum(struct reader *r, const json_t *obj, const char *key,
			rv_ho_name_fn *name, int n)
{
	json_t *v = field(r, obj, key);
	const char *s;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(r, "\"%s\": not a string", key), 0;
	s = json_string_value(v);
	for (int i = 0; i < n; i++)
		if (!strcmp(name(i), s))
			return (uint8_t)i;
	return fail(r, "\"%s\": \"%s\" unknown", key, s), 0;
}

/* A string or null, copied; false on an error. */
static bool get_text(struct reader *r, const json_t *obj, const char *key,
		     char **out)
{
	json_t *v = field(r, obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return v != NULL || r->sparse;
	if (!json_is_string(v))
		return fail(r, "\"%s\": not a string", key);
	*out = strdup(json_string_value(v));
	if (!*out)
		nomem(r);
	return *out != NULL;
}

static json_t *get_typed(struct reader *r, const json_t *obj,
			 const char *key, bool array)
{
	json_t *v = field(r, obj, key);

	if (v && (array ? !json_is_array(v) : !json_is_object(v)))
		return fail(r, "\"%s\": not an %s", key,
			    array ? "array" : "object"), NULL;
	return v;
}

/* An array of integers >= 0 into v[0..n); extra items are ignored (a
 * newer binary's counters), missing ones are 0. */
static void get_u64s(struct reader *r, const json_t *obj, const char *key,
		     uint64_t *v, size_t n)
{
	json_t *a = get_typed(r, obj, key, true), *item;
	size_t i;

	json_array_foreach(a, i, item) {
		if (!json_is_integer(item) || json_integer_value(item) < 0)
			return (void)fail(r, "\"%s\"[%zu]: not a count", key,
					  i);
		if (i < n)
			v[i] = (uint64_t)json_integer_value(item);
	}
}

static void get_window(struct reader *r, const json_t *obj,
		       struct rv_snap_window *w)
{
	json_t *a = get_typed(r, obj, "window", true), *item;
	size_t i;

	if (!a || !json_array_size(a))
		return;
	w->stamps = calloc(json_array_size(a), sizeof(*w->stamps));
	if (!w->stamps) {
		nomem(r);
		return;
	}
	json_array_foreach(a, i, item) {
		if (!json_is_integer(item))
			return (void)fail(r, "\"window\"[%zu]: not an integer",
					  i);
		if (i && json_integer_value(item) < w->stamps[i - 1])
			return (void)fail(r, "\"window\": not oldest first");
		w->stamps[w->n++] = json_integer_value(item);
	}
}

static void get_member(struct reader *r, const json_t *obj,
		       struct rv_snap_member *m)
{
	json_t *o = get_typed(r, obj, "member", false);

	if (!o) {
		fail(r, "\"member\" is missing");
		return;
	}
	if (!get_text(r, o, "name", &m->name))
		return;
	if (!m->name) {
		fail(r, "\"member\": no name");
		return;
	}
	/* from here on, errors name the member */
	snprintf(r->e.where + strlen(r->e.where),
		 sizeof(r->e.where) - strlen(r->e.where), " (%s)", m->name);
	m->job = get_enum(r, o, "job", rv_ho_job_name, RV_JOB_NTYPES);
	m->queued = get_bool(r, o, "queued");
	m->in_op = get_bool(r, o, "in_op");
	m->held = get_bool(r, o, "held");
	m->was_up = get_bool(r, o, "was_up");
	m->start_seq = (uint64_t)get_int(r, o, "start_seq", 0, INT64_MAX);
}

static void get_exit(struct reader *r, const json_t *obj,
		     struct rv_exit_info *e)
{
	json_t *o = get_typed(r, obj, "last_exit", false);

	if (!o)
		return;
	e->valid = get_bool(r, o, "valid");
	e->code = (int)get_int(r, o, "code", INT32_MIN, INT32_MAX);
	e->signal = (int)get_int(r, o, "signal", 0, 64);
	e->core_dumped = get_bool(r, o, "core_dumped");
	e->failed_start = get_bool(r, o, "failed_start");
	e->no_child = get_bool(r, o, "no_child");
	e->timeout = get_bool(r, o, "timeout");
	e->watchdog = get_bool(r, o, "watchdog");
	e->health = get_bool(r, o, "health");
}

/* "ready": null, or readiness in progress. */
static void get_ready(struct reader *r, const json_t *obj,
		      struct rv_snap_ready **out)
{
	json_t *o = field(r, obj, "ready");
	struct rv_snap_ready *rd;

	*out = NULL;
	if (!o || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		fail(r, "\"ready\": not an object or null");
		return;
	}
	rd = *out = calloc(1, sizeof(*rd));
	if (!rd) {
		nomem(r);
		return;
	}
	rd->ready = get_bool(r, o, "ready");
	get_text(r, o, "status", &rd->status);
	rd->mainpid = (pid_t)get_int(r, o, "mainpid", 0, INT32_MAX);
	rd->health_failures = (uint32_t)get_int(r, o, "health_failures", 0,
						UINT32_MAX);
	rd->timer_ns = get_deadline(r, o, "timer_ns");
	rd->check_ns = get_deadline(r, o, "check_ns");
	rd->ready_fd = (int)get_int(r, o, "ready_fd", -1, INT32_MAX);
}

/* v's bytes, spelt in hex or base64; NULL when empty.  key names v. */
static void bytes_of(struct reader *r, const json_t *v, const char *key,
		     bool hex, char **out, size_t *n)
{
	int ret;

	*out = NULL;
	*n = 0;
	if (!json_is_string(v)) {
		fail(r, "\"%s\": not a string", key);
		return;
	}
	ret = (hex ? rv_hex_decode : rv_base64_decode)(json_string_value(v),
						       json_string_length(v),
						       out, n);
	if (ret == -ENOMEM)
		nomem(r);
	else if (ret)
		fail(r, "\"%s\": not %s", key, hex ? "hex" : "base64");
	if (*out && !*n) {
		free(*out);
		*out = NULL;
	}
}

static void get_bytes(struct reader *r, const json_t *obj, const char *key,
		      bool hex, char **out, size_t *n)
{
	json_t *v = field(r, obj, key);

	*out = NULL;
	*n = 0;
	if (v)
		bytes_of(r, v, key, hex, out, n);
}

/* "stdout" / "stderr": null, or an output pipe's state. */
static void get_stream(struct reader *r, const json_t *obj, const char *key,
		       struct rv_out_state **out)
{
	json_t *o = field(r, obj, key);
	struct rv_out_state *st;

	*out = NULL;
	if (!o || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		fail(r, "\"%s\": not an object or null", key);
		return;
	}
	st = *out = calloc(1, sizeof(*st));
	if (!st) {
		nomem(r);
		return;
	}
	st->rfd = (int)get_int(r, o, "rfd", 0, INT32_MAX);
	st->wfd = (int)get_int(r, o, "wfd", 0, INT32_MAX);
	get_bytes(r, o, "line", true, &st->line, &st->line_len);
	st->exit_left = (uint64_t)get_int(r, o, "exit_left", 0, INT64_MAX);
	st->exit_pending = get_bool(r, o, "exit_pending");
	get_bytes(r, o, "sink", true, &st->sink, &st->sink_len);
}

/* One [realtime_ns, "stdout", len] of "logs"."lines". */
static void get_logline(struct reader *r, const json_t *item, size_t i,
			struct rv_snap_logline *l)
{
	json_t *ns = json_array_get(item, 0), *st = json_array_get(item, 1);
	json_t *len = json_array_get(item, 2);
	int v;

	if (!json_is_array(item) || json_array_size(item) != 3 ||
	    !json_is_integer(ns) || !json_is_string(st) ||
	    !json_is_integer(len) || json_integer_value(len) < 0 ||
	    json_integer_value(len) > UINT32_MAX) {
		fail(r, "\"logs\": line %zu: not [time, stream, length]", i);
		return;
	}
	l->realtime_ns = json_integer_value(ns);
	l->len = (uint32_t)json_integer_value(len);
	v = rv_ho_name_value(rv_ho_log_stream_name, RV_HO_NLOG_STREAMS,
			     json_string_value(st), json_string_length(st));
	if (v >= 0)
		l->stream = (uint8_t)v;
	else
		fail(r, "\"logs\": line %zu: stream \"%s\" unknown", i,
		     json_string_value(st));
}

/* "logs": null, or the log ring's lines and pieces. */
static void get_logs(struct reader *r, const json_t *obj,
		     struct rv_snap_logs **out)
{
	json_t *o = field(r, obj, "logs"), *lines, *pieces, *item;
	struct rv_snap_logs *l;
	size_t i, sum = 0;

	*out = NULL;
	if (!o || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		fail(r, "\"logs\": not an object or null");
		return;
	}
	l = *out = calloc(1, sizeof(*l));
	/* format 2: no "lines", no "pieces" when there are none */
	lines = get_typed(r, o, "lines", true);
	pieces = get_typed(r, o, "pieces", true);
	if (l)
		l->lines = calloc(json_array_size(lines) + 1,
				  sizeof(*l->lines));
	if (!l || !l->lines) {
		nomem(r);
		return;
	}
	if (r->e.ret)
		return;		/* said */
	json_array_foreach(lines, i, item) {
		get_logline(r, item, i, &l->lines[l->n++]);
		sum += l->lines[i].len;
	}
	get_bytes(r, o, "text", false, &l->text, &l->text_len);
	if (pieces && json_array_size(pieces) != 2)
		fail(r, "\"pieces\": not one for stdout and one for stderr");
	for (int k = 0; pieces && k < 2 && !r->e.ret; k++)
		bytes_of(r, json_array_get(pieces, (size_t)k), "pieces", false,
			 &l->piece[k], &l->piece_len[k]);
	if (!r->e.ret && sum != l->text_len)
		fail(r, "\"logs\": the lines are %zu bytes, the text %zu",
		     sum, l->text_len);
}

static void get_stored(struct reader *r, const json_t *obj,
		       struct rv_snap_service *s)
{
	json_t *a = get_typed(r, obj, "fd_store", true), *item;
	size_t i;

	if (!a || !json_array_size(a))
		return;
	s->stored = calloc(json_array_size(a), sizeof(*s->stored));
	if (!s->stored) {
		nomem(r);
		return;
	}
	json_array_foreach(a, i, item) {
		struct rv_snap_stored *st = &s->stored[s->n_stored++];

		if (!json_is_object(item)) {
			fail(r, "\"fd_store\"[%zu]: not an object", i);
			return;
		}
		st->fd = (int)get_int(r, item, "fd", 0, INT32_MAX);
		get_text(r, item, "name", &st->name);
		if (!r->e.ret && !st->name)
			fail(r, "\"fd_store\"[%zu]: no name", i);
	}
}

static void get_service(struct reader *r, const json_t *o, void *item)
{
	struct rv_snap_service *s = item;

	get_member(r, o, &s->m);
	s->state = get_enum(r, o, "state", rv_ho_svc_state_name,
			    RV_SVC_NSTATES);
	s->abort = get_enum(r, o, "abort", rv_ho_abort_name, RV_HO_NABORTS);
	s->kill_sent = get_bool(r, o, "kill_sent");
	s->manual_start = get_bool(r, o, "manual_start");
	s->pid = (pid_t)get_int(r, o, "pid", 0, INT32_MAX);
	s->pidfd = (int)get_int(r, o, "pidfd", -1, INT32_MAX);
	s->timer_ns = get_deadline(r, o, "timer_ns");
	s->started_ns = get_int(r, o, "started_ns", INT64_MIN, INT64_MAX);
	s->next_start_ns = get_int(r, o, "next_start_ns", INT64_MIN,
				   INT64_MAX);
	s->due_ns = get_int(r, o, "due_ns", INT64_MIN, INT64_MAX);
	s->backoff_n = (uint32_t)get_int(r, o, "backoff_n", 0, UINT32_MAX);
	s->restarts = (uint32_t)get_int(r, o, "restarts", 0, UINT32_MAX);
	get_text(r, o, "fail_reason", &s->fail_reason);
	get_exit(r, o, &s->last_exit);
	get_window(r, o, &s->window);
	get_u64s(r, o, "ends", s->ends, RV_END_NREASONS);
	get_ready(r, o, &s->ready);
	get_stream(r, o, "stdout", &s->out);
	get_stream(r, o, "stderr", &s->err);
	get_logs(r, o, &s->logs);
	get_stored(r, o, s);
}

static void get_node(struct reader *r, const json_t *o, void *item)
{
	struct rv_snap_node *n = item;

	get_member(r, o, &n->m);
	n->state = get_enum(r, o, "state", rv_ho_node_state_name,
			    RV_NODE_NSTATES);
	n->op = get_enum(r, o, "op", rv_ho_op_name, RV_HO_NOPS);
	n->any_failed = get_bool(r, o, "any_failed");
	n->op_deadline_ns = get_int(r, o, "op_deadline_ns", INT64_MIN,
				    INT64_MAX);
	n->timer_ns = get_deadline(r, o, "timer_ns");
	n->restarts = (uint32_t)get_int(r, o, "restarts", 0, UINT32_MAX);
	n->n_terminal = (uint32_t)get_int(r, o, "n_terminal", 0, UINT32_MAX);
	get_text(r, o, "fail_reason", &n->fail_reason);
	get_window(r, o, &n->window);
}

/* An array of signal numbers into *set. */
static void get_signals(struct reader *r, const json_t *obj, const char *key,
			sigset_t *set)
{
	json_t *a = get_typed(r, obj, key, true), *item;
	size_t i;

	sigemptyset(set);
	json_array_foreach(a, i, item) {
		if (!json_is_integer(item) || json_integer_value(item) < 1 ||
		    json_integer_value(item) >= NSIG) {
			fail(r, "\"%s\"[%zu]: not a signal number", key, i);
			return;
		}
		sigaddset(set, (int)json_integer_value(item));
	}
}

static void get_exec(struct reader *r, const json_t *obj,
		     struct rv_snap_supervisor *s)
{
	json_t *o = get_typed(r, obj, "exec", false);

	if (!o)
		return;
	s->exec_mode = get_bool(r, o, "mode");
	s->exec_escalate = get_bool(r, o, "escalate");
	s->exec_stop_signal = (int)get_int(r, o, "stop_signal", 0, NSIG - 1);
	get_signals(r, o, "child_mask", &s->exec_child_mask);
	get_signals(r, o, "child_ignored", &s->exec_child_ignored);
}

static void get_supervisor(struct reader *r, const json_t *doc,
			   struct rv_snap_supervisor *s)
{
	json_t *o = get_typed(r, doc, "supervisor", false), *h;

	if (!o)
		return;
	snprintf(r->e.where, sizeof(r->e.where), "supervisor");
	r->sparse = r->format >= 2;
	s->state = get_enum(r, o, "state", rv_ho_sup_state_name,
			    RV_SUP_FAILED + 1);
	s->failing = get_bool(r, o, "failing");
	s->initial_start_done = get_bool(r, o, "initial_start_done");
	s->exit_code = (int)get_int(r, o, "exit_code", 0, 255);
	s->seq = (uint64_t)get_int(r, o, "seq", 0, INT64_MAX);
	s->rng = (uint64_t)get_int(r, o, "rng", INT64_MIN, INT64_MAX);
	s->started_ns = get_int(r, o, "started_ns", INT64_MIN, INT64_MAX);
	s->shutdown_ns = get_deadline(r, o, "shutdown_ns");
	get_text(r, o, "fail_reason", &s->fail_reason);
	h = get_typed(r, o, "restart_latency", false);
	if (h) {
		json_t *sum = field(r, h, "sum_s");

		get_u64s(r, h, "count", s->restart_latency.count,
			 RV_HIST_BUCKETS + 1);
		s->restart_latency.total =
			(uint64_t)get_int(r, h, "total", 0, INT64_MAX);
		if (sum && !json_is_number(sum))
			fail(r, "\"sum_s\": not a number");
		s->restart_latency.sum_s = sum ? json_number_value(sum) : 0;
	}
	s->reload_queued = get_bool(r, o, "reload_queued");
	get_exec(r, o, s);
	get_bytes(r, o, "stdout_pending", true, &s->std_pending[1],
		  &s->std_pending_len[1]);
	get_bytes(r, o, "stderr_pending", true, &s->std_pending[2],
		  &s->std_pending_len[2]);
	r->e.where[0] = '\0';
	r->sparse = false;
}

/* magic, format, writer: before anything else is looked at. */
static bool check_header(struct reader *r, const json_t *doc)
{
	json_t *magic = json_object_get(doc, "magic");
	json_t *format = json_object_get(doc, "format");
	json_t *writer = json_object_get(doc, "writer");
	const char *who = json_is_string(writer) ?
			  json_string_value(writer) : "an unknown version";
	json_int_t f;

	if (!json_is_object(doc) || !json_is_string(magic) ||
	    strcmp(json_string_value(magic), RV_HANDOVER_MAGIC))
		return fail(r, "not a ringvisor hand-over state (no \"magic\": "
			    "\"%s\")", RV_HANDOVER_MAGIC);
	if (!json_is_integer(format))
		return fail(r, "no integer \"format\": written by ringvisor "
			    "%s", who);
	f = json_integer_value(format);
	if (f > RV_HANDOVER_FORMAT_JSON && f <= RV_HANDOVER_FORMAT)
		return fail(r, "format %lld is not JSON: written by ringvisor "
			    "%s", (long long)f, who);
	if (f > RV_HANDOVER_FORMAT)
		return fail(r, "format %lld is newer than this binary reads "
			    "(%d): written by ringvisor %s", (long long)f,
			    RV_HANDOVER_FORMAT, who);
	if (f < RV_HANDOVER_FORMAT_MIN)
		return fail(r, "format %lld is older than this binary reads "
			    "(%d..%d): written by ringvisor %s", (long long)f,
			    RV_HANDOVER_FORMAT_MIN, RV_HANDOVER_FORMAT, who);
	r->format = (int)f;
	return true;
}

/* Each object of arr into items[i] (size bytes apart) through get. */
static void get_all(struct reader *r, const json_t *arr, const char *what,
		    void *items, size_t size,
		    void (*get)(struct reader *, const json_t *, void *))
{
	json_t *item;
	size_t i;

	json_array_foreach(arr, i, item) {
		if (r->e.ret)
			return;
		snprintf(r->e.where, sizeof(r->e.where), "%s[%zu]", what, i);
		if (!json_is_object(item))
			fail(r, "not an object");
		r->sparse = r->format >= 2;
		if (!r->e.ret)
			get(r, item, (char *)items + i * size);
		r->sparse = false;
	}
}

static void get_socket(struct reader *r, const json_t *o, void *item)
{
	struct rv_snap_socket *k = item;

	get_text(r, o, "name", &k->name);
	get_text(r, o, "listen", &k->listen);
	if (!r->e.ret && (!k->name || !k->listen))
		fail(r, "no name or no listen address");
	k->fd = (int)get_int(r, o, "fd", 0, INT32_MAX);
	k->dev = (uint64_t)get_int(r, o, "dev", 0, INT64_MAX);
	k->ino = (uint64_t)get_int(r, o, "ino", 0, INT64_MAX);
}

static void get_config_file(struct reader *r, const json_t *o, void *item)
{
	struct rv_config_source *f = item;

	get_text(r, o, "path", &f->path);
	if (!r->e.ret && !f->path)
		fail(r, "no path");
	get_bytes(r, o, "bytes", false, &f->bytes, &f->len);
	/* an empty file: the loader still wants its (empty) text */
	if (!r->e.ret && !f->bytes && !(f->bytes = calloc(1, 1)))
		nomem(r);
}

static void get_daemon(struct reader *r, const json_t *doc,
		       struct rv_snap_daemon *d)
{
	json_t *o = get_typed(r, doc, "daemon", false), *c;

	if (!o)
		return;
	snprintf(r->e.where, sizeof(r->e.where), "daemon");
	r->sparse = r->format >= 2;
	get_text(r, o, "notify_socket", &d->notify_socket);
	d->watchdog_usec = (uint64_t)get_int(r, o, "watchdog_usec", 0,
					     INT64_MAX);
	c = get_typed(r, o, "counters", false);
	for (int k = 0; c && k < RV_SNAP_NCOUNTERS; k++)
		d->counters[k] = (uint64_t)get_int(r, c,
			rv_snap_counter_name((enum rv_snap_counter)k), 0,
			INT64_MAX);
	r->e.where[0] = '\0';
	r->sparse = false;
}

/* An array of objects of doc into a new array of n items. */
static void *get_list(struct reader *r, const json_t *doc, const char *key,
		      size_t size, size_t *n,
		      void (*get)(struct reader *, const json_t *, void *))
{
	json_t *a = get_typed(r, doc, key, true);
	void *items;

	*n = 0;
	if (!a || !json_array_size(a))
		return NULL;
	items = calloc(json_array_size(a), size);
	if (!items) {
		nomem(r);
		return NULL;
	}
	*n = json_array_size(a);
	get_all(r, a, key, items, size, get);
	return items;
}

int rv_handover_from_json(const json_t *doc, struct rv_snapshot *out,
			  char *err, size_t errlen)
{
	struct reader r = { .e = { .err = err, .errlen = errlen } };
	json_t *svcs, *nodes;

	memset(out, 0, sizeof(*out));
	if (!check_header(&r, doc))
		return r.e.ret;
	svcs = get_typed(&r, doc, "services", true);
	nodes = get_typed(&r, doc, "nodes", true);
	if (r.e.ret)
		return r.e.ret;
	if (rv_snapshot_alloc(out, json_array_size(svcs),
			      json_array_size(nodes))) {
		snprintf(err, errlen, "hand-over state: out of memory");
		return -ENOMEM;
	}
	get_supervisor(&r, doc, &out->sup);
	get_all(&r, svcs, "services", out->svcs, sizeof(*out->svcs),
		get_service);
	get_all(&r, nodes, "nodes", out->nodes, sizeof(*out->nodes),
		get_node);
	out->sockets = get_list(&r, doc, "sockets", sizeof(*out->sockets),
				&out->n_sockets, get_socket);
	out->config = get_list(&r, doc, "config", sizeof(*out->config),
			       &out->n_config, get_config_file);
	get_daemon(&r, doc, &out->daemon);
	if (r.e.ret)
		rv_snapshot_free(out);
	return r.e.ret;
}

int rv_handover_parse(const char *buf, size_t len, struct rv_snapshot *out,
		      char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!doc) {
		snprintf(err, errlen, "hand-over state: not JSON at line %d "
			 "column %d (%s)%s", je.line, je.column, je.text,
			 len ? "" : ": empty");
		return -EINVAL;
	}
	ret = rv_handover_from_json(doc, out, err, errlen);
	json_decref(doc);
	return ret;
}

/*
 * ---- the control plane's section (daemon/handover.c) ----
 *
 * Kept apart from the tree's state above: "control" names the
 * descriptors of the supervisor itself that cross the exec, and who asked
 * for it.  -1: none.
 */
static const char *const ctl_fd_keys[RV_HANDOVER_CTL_NFDS] = {
	[RV_CTL_PREV_EXE] = "prev_exe",
	[RV_CTL_CONTROL_LISTEN] = "control_listen",
	[RV_CTL_NOTIFY] = "notify",
	[RV_CTL_HTTP_LISTEN] = "http_listen",
	[RV_CTL_REQUESTER] = "requester",
};

const char *rv_handover_ctl_role(enum rv_handover_ctl_fd which)
{
	return ctl_fd_keys[which];
}

int rv_handover_ctl_to_json(json_t *doc, const struct rv_handover_ctl *c)
{
	json_t *o = json_pack("{s:s, s:I}", "binary", c->binary, "t0_ns",
			      (json_int_t)c->t0_ns);

	for (int i = 0; o && i < RV_HANDOVER_CTL_NFDS; i++)
		if (json_object_set_new(o, ctl_fd_keys[i],
					json_integer(c->fd[i])))
			break;
	return o && !json_object_set_new(doc, "control", o) ? 0 : -ENOMEM;
}

int rv_handover_ctl_from_json(const json_t *doc, struct rv_handover_ctl *c,
			      char *err, size_t errlen)
{
	struct reader r = { .e = { .err = err, .errlen = errlen } };
	json_t *o, *writer = json_object_get(doc, "writer");

	memset(c, 0, sizeof(*c));
	snprintf(c->writer, sizeof(c->writer), "%s",
		 json_is_string(writer) ? json_string_value(writer) : "?");
	if (!check_header(&r, doc))
		return r.e.ret;
	o = get_typed(&r, doc, "control", false);
	if (r.e.ret)
		return r.e.ret;
	snprintf(r.e.where, sizeof(r.e.where), "control");
	for (int i = 0; i < RV_HANDOVER_CTL_NFDS; i++)
		c->fd[i] = (int)get_int(&r, o, ctl_fd_keys[i], -1, INT32_MAX);
	c->t0_ns = get_int(&r, o, "t0_ns", 0, INT64_MAX);
	if (!r.e.ret)
		get_text(&r, o, "binary", &c->binary);
	return r.e.ret;
}
