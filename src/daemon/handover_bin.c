/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state in format 3 (handover_bin.h): why it is written by
 * hand, and its layout, are there.  The writer and the reader below list
 * the fields in the same order, part by part; a change to one is a
 * change to the other and to the format number.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child/logring.h"
#include "daemon/handover_bin.h"
#include "daemon/handover_err.h"
#include "daemon/handover_names.h"
#include "tree/supervisor.h"

static const char magic[] = "ringvisor-handover";	/* and its NUL */
#define NONE_LEN UINT32_MAX	/* a string's length: no string */

/* ---- writing ---- */

struct out {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const void *v, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		unsigned char *p;

		while (cap < o->len + n)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void put_u8(struct out *o, unsigned int v)
{
	unsigned char b = (unsigned char)v;

	put(o, &b, 1);
}

static void put_u32(struct out *o, uint32_t v)
{
	unsigned char b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, 4);
}

static void put_i64(struct out *o, int64_t v)
{
	uint64_t u = (uint64_t)v;
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (8 * i));
	put(o, b, 8);
}

static void put_blob(struct out *o, const void *p, size_t n)
{
	put_u32(o, (uint32_t)n);
	if (n)
		put(o, p, n);
}

static void put_str(struct out *o, const char *s)
{
	if (s)
		put_blob(o, s, strlen(s));
	else
		put_u32(o, NONE_LEN);
}

static void put_window(struct out *o, const struct rv_snap_window *w)
{
	put_u32(o, w->n);
	for (uint32_t i = 0; i < w->n; i++)
		put_i64(o, w->stamps[i]);
}

static void put_u64s(struct out *o, const uint64_t *v, size_t n)
{
	put_u32(o, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_i64(o, (int64_t)v[i]);
}

static void put_member(struct out *o, const struct rv_snap_member *m)
{
	put_str(o, m->name);
	put_str(o, rv_ho_job_name(m->job));
	put_u8(o, m->queued);
	put_u8(o, m->in_op);
	put_u8(o, m->held);
	put_u8(o, m->was_up);
	put_i64(o, (int64_t)m->start_seq);
}

static void put_exit(struct out *o, const struct rv_exit_info *e)
{
	put_u8(o, e->valid);
	put_i64(o, e->code);
	put_i64(o, e->signal);
	put_u8(o, e->core_dumped);
	put_u8(o, e->failed_start);
	put_u8(o, e->no_child);
	put_u8(o, e->timeout);
	put_u8(o, e->watchdog);
	put_u8(o, e->health);
}

static void put_ready(struct out *o, const struct rv_snap_ready *r)
{
	put_u8(o, r != NULL);
	if (!r)
		return;
	put_u8(o, r->ready);
	put_str(o, r->status);
	put_i64(o, r->mainpid);
	put_i64(o, r->health_failures);
	put_i64(o, r->timer_ns);
	put_i64(o, r->check_ns);
	put_i64(o, r->ready_fd);
}

static void put_stream(struct out *o, const struct rv_out_state *st)
{
	put_u8(o, st != NULL);
	if (!st)
		return;
	put_i64(o, st->rfd);
	put_i64(o, st->wfd);
	put_blob(o, st->line, st->line_len);
	put_i64(o, (int64_t)st->exit_left);
	put_u8(o, st->exit_pending);
	put_blob(o, st->sink, st->sink_len);
}

static void put_logs(struct out *o, const struct rv_snap_logs *l)
{
	put_u8(o, l != NULL);
	if (!l)
		return;
	put_u32(o, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++) {
		put_i64(o, l->lines[i].realtime_ns);
		put_str(o, rv_ho_log_stream_name(l->lines[i].stream));
		put_u32(o, l->lines[i].len);
	}
	put_blob(o, l->text, l->text_len);
	put_blob(o, l->piece[0], l->piece_len[0]);
	put_blob(o, l->piece[1], l->piece_len[1]);
}

static void put_service(struct out *o, const struct rv_snap_service *s)
{
	put_member(o, &s->m);
	put_str(o, rv_ho_svc_state_name(s->state));
	put_str(o, rv_ho_abort_name(s->abort));
	put_u8(o, s->kill_sent);
	put_u8(o, s->manual_start);
	put_i64(o, s->pid);
	put_i64(o, s->pidfd);
	put_i64(o, s->timer_ns);
	put_i64(o, s->started_ns);
	put_i64(o, s->next_start_ns);
	put_i64(o, s->due_ns);
	put_i64(o, s->backoff_n);
	put_i64(o, s->restarts);
	put_str(o, s->fail_reason);
	put_exit(o, &s->last_exit);
	put_window(o, &s->window);
	put_u64s(o, s->ends, RV_END_NREASONS);
	put_ready(o, s->ready);
	put_stream(o, s->out);
	put_stream(o, s->err);
	put_logs(o, s->logs);
	put_u32(o, s->n_stored);
	for (uint32_t k = 0; k < s->n_stored; k++) {
		put_i64(o, s->stored[k].fd);
		put_str(o, s->stored[k].name);
	}
}

static void put_node(struct out *o, const struct rv_snap_node *n)
{
	put_member(o, &n->m);
	put_str(o, rv_ho_node_state_name(n->state));
	put_str(o, rv_ho_op_name(n->op));
	put_u8(o, n->any_failed);
	put_i64(o, n->op_deadline_ns);
	put_i64(o, n->timer_ns);
	put_i64(o, n->restarts);
	put_i64(o, n->n_terminal);
	put_str(o, n->fail_reason);
	put_window(o, &n->window);
}

static void put_signals(struct out *o, const sigset_t *set)
{
	uint32_t n = 0;

	for (int sig = 1; sig < NSIG; sig++)
		n += sigismember(set, sig) == 1;
	put_u32(o, n);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			put_u32(o, (uint32_t)sig);
}

static void put_supervisor(struct out *o, const struct rv_snap_supervisor *s)
{
	int64_t sum;

	put_str(o, rv_ho_sup_state_name(s->state));
	put_u8(o, s->failing);
	put_u8(o, s->initial_start_done);
	put_i64(o, s->exit_code);
	put_i64(o, (int64_t)s->seq);
	put_i64(o, (int64_t)s->rng);
	put_i64(o, s->started_ns);
	put_i64(o, s->shutdown_ns);
	put_str(o, s->fail_reason);
	put_u64s(o, s->restart_latency.count, RV_HIST_BUCKETS + 1);
	put_i64(o, (int64_t)s->restart_latency.total);
	/* the double's bits: exact, where the JSON spelt it in decimal */
	memcpy(&sum, &s->restart_latency.sum_s, sizeof(sum));
	put_i64(o, sum);
	put_u8(o, s->reload_queued);
	put_u8(o, s->exec_mode);
	put_u8(o, s->exec_escalate);
	put_i64(o, s->exec_stop_signal);
	put_signals(o, &s->exec_child_mask);
	put_signals(o, &s->exec_child_ignored);
	put_blob(o, s->std_pending[1], s->std_pending_len[1]);
	put_blob(o, s->std_pending[2], s->std_pending_len[2]);
}

static void put_ctl(struct out *o, const struct rv_handover_ctl *c)
{
	put_str(o, c ? c->binary : NULL);
	put_i64(o, c ? c->t0_ns : 0);
	put_u32(o, RV_HANDOVER_CTL_NFDS);
	for (int i = 0; i < RV_HANDOVER_CTL_NFDS; i++)
		put_i64(o, c ? c->fd[i] : -1);
}

int rv_handover_bin_encode(const struct rv_snapshot *snap,
			   const struct rv_handover_ctl *ctl, char **buf,
			   size_t *len)
{
	/* ~150 bytes a running service with output pipes: one realloc at
	 * most, not a dozen */
	struct out o = { .cap = 4096 + 256 * (snap->n_svcs + snap->n_nodes) };
	const struct rv_snap_daemon *d = &snap->daemon;

	o.p = malloc(o.cap);
	o.oom = !o.p;
	put(&o, magic, sizeof(magic));
	put_u32(&o, RV_HANDOVER_FORMAT_BIN);
	put_str(&o, RINGVISOR_VERSION);
	put_ctl(&o, ctl);
	put_supervisor(&o, &snap->sup);
	put_u32(&o, (uint32_t)snap->n_nodes);
	for (size_t i = 0; i < snap->n_nodes; i++)
		put_node(&o, &snap->nodes[i]);
	put_u32(&o, (uint32_t)snap->n_svcs);
	for (size_t i = 0; i < snap->n_svcs; i++)
		put_service(&o, &snap->svcs[i]);
	put_u32(&o, (uint32_t)snap->n_sockets);
	for (size_t i = 0; i < snap->n_sockets; i++) {
		const struct rv_snap_socket *k = &snap->sockets[i];

		put_str(&o, k->name);
		put_str(&o, k->listen);
		put_i64(&o, k->fd);
		put_i64(&o, (int64_t)k->dev);
		put_i64(&o, (int64_t)k->ino);
	}
	put_u32(&o, (uint32_t)snap->n_config);
	for (size_t i = 0; i < snap->n_config; i++) {
		put_str(&o, snap->config[i].path);
		put_blob(&o, snap->config[i].bytes, snap->config[i].len);
	}
	put_str(&o, d->notify_socket);
	put_i64(&o, (int64_t)d->watchdog_usec);
	put_u64s(&o, d->counters, RV_SNAP_NCOUNTERS);
	if (o.oom) {
		free(o.p);
		return -ENOMEM;
	}
	*buf = (char *)o.p;
	*len = o.len;
	return 0;
}

/* ---- reading ---- */

struct in {
	const unsigned char *p, *start, *end;
	struct rv_ho_err e;
};

#define fail(r, ...) rv_ho_fail(&(r)->e, __VA_ARGS__)
#define nomem(r) rv_ho_nomem(&(r)->e)

/* The next n bytes, or NULL (after an error, or past the end). */
static const unsigned char *take(struct in *r, const char *key, size_t n)
{
	const unsigned char *p = r->p;

	if (r->e.ret)
		return NULL;
	if ((size_t)(r->end - r->p) < n) {
		fail(r, "\"%s\": the state ends at byte %zu", key,
		     (size_t)(r->end - r->start));
		return NULL;
	}
	r->p += n;
	return p;
}

static uint32_t raw_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint32_t get_u32(struct in *r, const char *key)
{
	const unsigned char *b = take(r, key, 4);

	return b ? raw_u32(b) : 0;
}

static int64_t get_i64(struct in *r, const char *key, int64_t min,
		       int64_t max)
{
	const unsigned char *b = take(r, key, 8);
	uint64_t u = 0;
	int64_t v;

	if (!b)
		return 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | b[i];
	v = (int64_t)u;
	if (v < min || v > max)
		return fail(r, "\"%s\": %" PRId64 " out of range [%" PRId64
			    ", %" PRId64 "]", key, v, min, max), 0;
	return v;
}

static bool get_bool(struct in *r, const char *key)
{
	const unsigned char *b = take(r, key, 1);

	if (b && *b > 1)
		return fail(r, "\"%s\": not true or false", key);
	return b && *b;
}

/* A list's count: each item takes at least min bytes of what is left. */
static uint32_t get_count(struct in *r, const char *key, size_t min)
{
	uint32_t n = get_u32(r, key);

	if (!r->e.ret && (size_t)n * min > (size_t)(r->end - r->p))
		return fail(r, "\"%s\": %" PRIu32 " items, more than the "
			    "state holds", key, n), 0;
	return n;
}

/* A string's or blob's bytes: *p and *n; false when none (or error). */
static bool get_span(struct in *r, const char *key, const unsigned char **p,
		     uint32_t *n)
{
	*n = get_u32(r, key);
	*p = NULL;
	if (r->e.ret || *n == NONE_LEN)
		return false;
	*p = take(r, key, *n);
	return *p != NULL;
}

/* A string or none, copied (*out NULL for none); false on an error. */
static bool get_str(struct in *r, const char *key, char **out)
{
	const unsigned char *p;
	uint32_t n;

	/* out is always a field's address; the analyzer takes a path where
	 * take() returned NULL without an error, which rv_ho_fail() (in
	 * another file) rules out */
	*out = NULL;	// NOLINT(clang-analyzer-core.NullDereference)
	if (!get_span(r, key, &p, &n))
		return !r->e.ret;
	if (memchr(p, '\0', n))
		return fail(r, "\"%s\": holds a NUL byte", key);
	*out = strndup((const char *)p, n);
	if (!*out)
		nomem(r);
	return *out != NULL;
}

/* Bytes, NUL-terminated past *n (a config file's text wants it); NULL
 * when empty. */
static void get_blob(struct in *r, const char *key, char **out, size_t *n)
{
	const unsigned char *p;
	uint32_t len;

	*out = NULL;
	*n = 0;
	if (!get_span(r, key, &p, &len)) {
		if (!r->e.ret && len == NONE_LEN)
			fail(r, "\"%s\": no bytes", key);
		return;
	}
	if (!len)
		return;
	*out = malloc((size_t)len + 1);
	if (!*out) {
		nomem(r);
		return;
	}
	memcpy(*out, p, len);
	(*out)[len] = '\0';
	*n = len;
}

/* An enumeration by name: its value in [0, n), or 0 after an error. */
static uint8_t get_enum(struct in *r, const char *key, rv_ho_name_fn *name,
			int n)
{
	const unsigned char *p;
	uint32_t len;
	int v;

	if (!get_span(r, key, &p, &len)) {
		if (!r->e.ret)
			fail(r, "\"%s\": no name", key);
		return 0;
	}
	v = rv_ho_name_value(name, n, (const char *)p, len);
	if (v < 0)
		return fail(r, "\"%s\": \"%.*s\" unknown", key,
			    (int)(len < 40 ? len : 40), (const char *)p), 0;
	return (uint8_t)v;
}

/* Counters into v[0..n): extra ones are ignored (a newer binary's),
 * missing ones are 0. */
static void get_u64s(struct in *r, const char *key, uint64_t *v, size_t n)
{
	uint32_t count = get_count(r, key, 8);

	for (uint32_t i = 0; !r->e.ret && i < count; i++) {
		int64_t x = get_i64(r, key, 0, INT64_MAX);

		if (i < n)
			v[i] = (uint64_t)x;
	}
}

static void get_window(struct in *r, struct rv_snap_window *w)
{
	uint32_t n = get_count(r, "window", 8);

	if (!n)
		return;
	w->stamps = calloc(n, sizeof(*w->stamps));
	if (!w->stamps) {
		nomem(r);
		return;
	}
	for (uint32_t i = 0; !r->e.ret && i < n; i++) {
		w->stamps[i] = get_i64(r, "window", INT64_MIN, INT64_MAX);
		if (i && w->stamps[i] < w->stamps[i - 1])
			fail(r, "\"window\": not oldest first");
		w->n = i + 1;
	}
}

static void get_member(struct in *r, struct rv_snap_member *m)
{
	size_t at = strlen(r->e.where);

	if (!get_str(r, "name", &m->name))
		return;
	if (!m->name) {
		fail(r, "\"member\": no name");
		return;
	}
	/* from here on, errors name the member */
	snprintf(r->e.where + at, sizeof(r->e.where) - at, " (%s)", m->name);
	m->job = get_enum(r, "job", rv_ho_job_name, RV_JOB_NTYPES);
	m->queued = get_bool(r, "queued");
	m->in_op = get_bool(r, "in_op");
	m->held = get_bool(r, "held");
	m->was_up = get_bool(r, "was_up");
	m->start_seq = (uint64_t)get_i64(r, "start_seq", 0, INT64_MAX);
}

static void get_exit(struct in *r, struct rv_exit_info *e)
{
	e->valid = get_bool(r, "valid");
	e->code = (int)get_i64(r, "code", INT32_MIN, INT32_MAX);
	e->signal = (int)get_i64(r, "signal", 0, 64);
	e->core_dumped = get_bool(r, "core_dumped");
	e->failed_start = get_bool(r, "failed_start");
	e->no_child = get_bool(r, "no_child");
	e->timeout = get_bool(r, "timeout");
	e->watchdog = get_bool(r, "watchdog");
	e->health = get_bool(r, "health");
}

/* A deadline: any instant, or RV_SNAP_NO_DEADLINE (INT64_MIN). */
static int64_t get_deadline(struct in *r, const char *key)
{
	return get_i64(r, key, INT64_MIN, INT64_MAX);
}

static void get_ready(struct in *r, struct rv_snap_ready **out)
{
	struct rv_snap_ready *rd;

	*out = NULL;
	if (!get_bool(r, "ready"))
		return;
	rd = *out = calloc(1, sizeof(*rd));
	if (!rd) {
		nomem(r);
		return;
	}
	rd->ready = get_bool(r, "ready");
	get_str(r, "status", &rd->status);
	rd->mainpid = (pid_t)get_i64(r, "mainpid", 0, INT32_MAX);
	rd->health_failures = (uint32_t)get_i64(r, "health_failures", 0,
						UINT32_MAX);
	rd->timer_ns = get_deadline(r, "timer_ns");
	rd->check_ns = get_deadline(r, "check_ns");
	rd->ready_fd = (int)get_i64(r, "ready_fd", -1, INT32_MAX);
}

static void get_stream(struct in *r, const char *key,
		       struct rv_out_state **out)
{
	struct rv_out_state *st;

	*out = NULL;
	if (!get_bool(r, key))
		return;
	st = *out = calloc(1, sizeof(*st));
	if (!st) {
		nomem(r);
		return;
	}
	st->rfd = (int)get_i64(r, "rfd", 0, INT32_MAX);
	st->wfd = (int)get_i64(r, "wfd", 0, INT32_MAX);
	get_blob(r, "line", &st->line, &st->line_len);
	st->exit_left = (uint64_t)get_i64(r, "exit_left", 0, INT64_MAX);
	st->exit_pending = get_bool(r, "exit_pending");
	get_blob(r, "sink", &st->sink, &st->sink_len);
}

static void get_logs(struct in *r, struct rv_snap_logs **out)
{
	struct rv_snap_logs *l;
	uint32_t n;
	size_t sum = 0;

	*out = NULL;
	if (!get_bool(r, "logs"))
		return;
	/* time, a stream's name (4 + 6), a length */
	n = get_count(r, "lines", 8 + 4 + 6 + 4);
	l = *out = calloc(1, sizeof(*l));
	if (l)
		l->lines = calloc((size_t)n + 1, sizeof(*l->lines));
	if (!l || !l->lines) {
		nomem(r);
		return;
	}
	for (uint32_t i = 0; !r->e.ret && i < n; i++) {
		struct rv_snap_logline *ln = &l->lines[i];

		ln->realtime_ns = get_i64(r, "lines", INT64_MIN, INT64_MAX);
		ln->stream = get_enum(r, "lines", rv_ho_log_stream_name,
				      RV_HO_NLOG_STREAMS);
		ln->len = get_u32(r, "lines");
		sum += ln->len;
		l->n = i + 1;
	}
	get_blob(r, "text", &l->text, &l->text_len);
	get_blob(r, "pieces", &l->piece[0], &l->piece_len[0]);
	get_blob(r, "pieces", &l->piece[1], &l->piece_len[1]);
	if (!r->e.ret && sum != l->text_len)
		fail(r, "\"logs\": the lines are %zu bytes, the text %zu",
		     sum, l->text_len);
}

static void get_stored(struct in *r, struct rv_snap_service *s)
{
	uint32_t n = get_count(r, "fd_store", 8 + 4);

	if (!n)
		return;
	s->stored = calloc(n, sizeof(*s->stored));
	if (!s->stored) {
		nomem(r);
		return;
	}
	for (uint32_t i = 0; !r->e.ret && i < n; i++) {
		struct rv_snap_stored *st = &s->stored[i];

		s->n_stored = i + 1;
		st->fd = (int)get_i64(r, "fd", 0, INT32_MAX);
		get_str(r, "name", &st->name);
		if (!r->e.ret && !st->name)
			fail(r, "\"fd_store\"[%" PRIu32 "]: no name", i);
	}
}

static void get_service(struct in *r, struct rv_snap_service *s)
{
	get_member(r, &s->m);
	s->state = get_enum(r, "state", rv_ho_svc_state_name,
			    RV_SVC_NSTATES);
	s->abort = get_enum(r, "abort", rv_ho_abort_name, RV_HO_NABORTS);
	s->kill_sent = get_bool(r, "kill_sent");
	s->manual_start = get_bool(r, "manual_start");
	s->pid = (pid_t)get_i64(r, "pid", 0, INT32_MAX);
	s->pidfd = (int)get_i64(r, "pidfd", -1, INT32_MAX);
	s->timer_ns = get_deadline(r, "timer_ns");
	s->started_ns = get_i64(r, "started_ns", INT64_MIN, INT64_MAX);
	s->next_start_ns = get_i64(r, "next_start_ns", INT64_MIN, INT64_MAX);
	s->due_ns = get_i64(r, "due_ns", INT64_MIN, INT64_MAX);
	s->backoff_n = (uint32_t)get_i64(r, "backoff_n", 0, UINT32_MAX);
	s->restarts = (uint32_t)get_i64(r, "restarts", 0, UINT32_MAX);
	get_str(r, "fail_reason", &s->fail_reason);
	get_exit(r, &s->last_exit);
	get_window(r, &s->window);
	get_u64s(r, "ends", s->ends, RV_END_NREASONS);
	get_ready(r, &s->ready);
	get_stream(r, "stdout", &s->out);
	get_stream(r, "stderr", &s->err);
	get_logs(r, &s->logs);
	get_stored(r, s);
}

static void get_node(struct in *r, struct rv_snap_node *n)
{
	get_member(r, &n->m);
	n->state = get_enum(r, "state", rv_ho_node_state_name,
			    RV_NODE_NSTATES);
	n->op = get_enum(r, "op", rv_ho_op_name, RV_HO_NOPS);
	n->any_failed = get_bool(r, "any_failed");
	n->op_deadline_ns = get_i64(r, "op_deadline_ns", INT64_MIN,
				    INT64_MAX);
	n->timer_ns = get_deadline(r, "timer_ns");
	n->restarts = (uint32_t)get_i64(r, "restarts", 0, UINT32_MAX);
	n->n_terminal = (uint32_t)get_i64(r, "n_terminal", 0, UINT32_MAX);
	get_str(r, "fail_reason", &n->fail_reason);
	get_window(r, &n->window);
}

static void get_signals(struct in *r, const char *key, sigset_t *set)
{
	uint32_t n = get_count(r, key, 4);

	sigemptyset(set);
	for (uint32_t i = 0; !r->e.ret && i < n; i++) {
		uint32_t sig = get_u32(r, key);

		if (!r->e.ret && (sig < 1 || sig >= NSIG))
			fail(r, "\"%s\"[%" PRIu32 "]: not a signal number",
			     key, i);
		else
			sigaddset(set, (int)sig);
	}
}

static void get_supervisor(struct in *r, struct rv_snap_supervisor *s)
{
	int64_t sum;

	snprintf(r->e.where, sizeof(r->e.where), "supervisor");
	s->state = get_enum(r, "state", rv_ho_sup_state_name,
			    RV_SUP_FAILED + 1);
	s->failing = get_bool(r, "failing");
	s->initial_start_done = get_bool(r, "initial_start_done");
	s->exit_code = (int)get_i64(r, "exit_code", 0, 255);
	s->seq = (uint64_t)get_i64(r, "seq", 0, INT64_MAX);
	s->rng = (uint64_t)get_i64(r, "rng", INT64_MIN, INT64_MAX);
	s->started_ns = get_i64(r, "started_ns", INT64_MIN, INT64_MAX);
	s->shutdown_ns = get_deadline(r, "shutdown_ns");
	get_str(r, "fail_reason", &s->fail_reason);
	get_u64s(r, "count", s->restart_latency.count, RV_HIST_BUCKETS + 1);
	s->restart_latency.total = (uint64_t)get_i64(r, "total", 0,
						     INT64_MAX);
	sum = get_i64(r, "sum_s", INT64_MIN, INT64_MAX);
	memcpy(&s->restart_latency.sum_s, &sum, sizeof(sum));
	s->reload_queued = get_bool(r, "reload_queued");
	s->exec_mode = get_bool(r, "mode");
	s->exec_escalate = get_bool(r, "escalate");
	s->exec_stop_signal = (int)get_i64(r, "stop_signal", 0, NSIG - 1);
	get_signals(r, "child_mask", &s->exec_child_mask);
	get_signals(r, "child_ignored", &s->exec_child_ignored);
	get_blob(r, "stdout_pending", &s->std_pending[1],
		 &s->std_pending_len[1]);
	get_blob(r, "stderr_pending", &s->std_pending[2],
		 &s->std_pending_len[2]);
	r->e.where[0] = '\0';
}

static void get_ctl(struct in *r, struct rv_handover_ctl *c)
{
	uint32_t n;

	snprintf(r->e.where, sizeof(r->e.where), "control");
	get_str(r, "binary", &c->binary);
	c->t0_ns = get_i64(r, "t0_ns", 0, INT64_MAX);
	n = get_count(r, "fds", 8);
	for (uint32_t i = 0; !r->e.ret && i < n; i++) {
		int fd = (int)get_i64(r, "fds", -1, INT32_MAX);

		/* a newer binary's extra ones: not ours to know */
		if (i < RV_HANDOVER_CTL_NFDS)
			c->fd[i] = fd;
	}
	r->e.where[0] = '\0';
}

/* Before a list's item i: where names it ("services[3]"); false after
 * an error (the list ends there). */
static bool at(struct in *r, const char *what, size_t i)
{
	snprintf(r->e.where, sizeof(r->e.where), "%s[%zu]", what, i);
	return !r->e.ret;
}

static void get_sockets(struct in *r, struct rv_snapshot *out)
{
	uint32_t n = get_count(r, "sockets", 4 + 4 + 8 * 3);

	if (!n)
		return;
	out->sockets = calloc(n, sizeof(*out->sockets));
	if (!out->sockets) {
		nomem(r);
		return;
	}
	out->n_sockets = n;
	for (size_t i = 0; i < out->n_sockets && at(r, "sockets", i); i++) {
		struct rv_snap_socket *k = &out->sockets[i];

		get_str(r, "name", &k->name);
		get_str(r, "listen", &k->listen);
		if (!r->e.ret && (!k->name || !k->listen))
			fail(r, "no name or no listen address");
		k->fd = (int)get_i64(r, "fd", 0, INT32_MAX);
		k->dev = (uint64_t)get_i64(r, "dev", 0, INT64_MAX);
		k->ino = (uint64_t)get_i64(r, "ino", 0, INT64_MAX);
	}
	r->e.where[0] = '\0';
}

static void get_config(struct in *r, struct rv_snapshot *out)
{
	uint32_t n = get_count(r, "config", 4 + 4);

	if (!n)
		return;
	out->config = calloc(n, sizeof(*out->config));
	if (!out->config) {
		nomem(r);
		return;
	}
	out->n_config = n;
	for (size_t i = 0; i < out->n_config && at(r, "config", i); i++) {
		struct rv_config_source *f = &out->config[i];

		get_str(r, "path", &f->path);
		if (!r->e.ret && !f->path)
			fail(r, "no path");
		get_blob(r, "bytes", &f->bytes, &f->len);
		/* an empty file: the loader still wants its (empty) text */
		if (!r->e.ret && !f->bytes && !(f->bytes = calloc(1, 1)))
			nomem(r);
	}
	r->e.where[0] = '\0';
}

/* magic, format, writer: before anything else is looked at. */
static bool get_header(struct in *r, struct rv_handover_ctl *c)
{
	char *writer = NULL;
	uint32_t f;

	if (!rv_handover_bin_is((const char *)r->p,
				(size_t)(r->end - r->p))) {
		fail(r, "not a ringvisor hand-over state");
		return false;
	}
	r->p += sizeof(magic);
	f = get_u32(r, "format");
	get_str(r, "writer", &writer);
	if (c)
		snprintf(c->writer, sizeof(c->writer), "%s",
			 writer ? writer : "?");
	if (!r->e.ret && f != RV_HANDOVER_FORMAT_BIN)
		fail(r, "format %" PRIu32 " is %s than this binary reads "
		     "(%d..%d): written by ringvisor %s", f,
		     f > RV_HANDOVER_FORMAT_BIN ? "newer" : "older",
		     RV_HANDOVER_FORMAT_MIN, RV_HANDOVER_FORMAT,
		     writer ? writer : "an unknown version");
	free(writer);
	return !r->e.ret;
}

bool rv_handover_bin_is(const char *buf, size_t len)
{
	return len >= sizeof(magic) && !memcmp(buf, magic, sizeof(magic));
}

int rv_handover_bin_decode(const char *buf, size_t len,
			   struct rv_handover_ctl *ctl,
			   struct rv_snapshot *out, char *err, size_t errlen)
{
	struct in r = { .p = (const unsigned char *)buf,
			.start = (const unsigned char *)buf,
			.end = (const unsigned char *)buf + len,
			.e = { .err = err, .errlen = errlen } };
	struct rv_handover_ctl none;
	struct rv_snap_daemon *d = &out->daemon;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (!ctl)
		ctl = &none;
	memset(ctl, 0, sizeof(*ctl));
	memset(ctl->fd, -1, sizeof(ctl->fd));
	if (!get_header(&r, ctl))
		return r.e.ret;
	get_ctl(&r, ctl);
	if (ctl == &none) {
		free(none.binary);
		none.binary = NULL;
	}
	if (r.e.ret)
		return r.e.ret;
	get_supervisor(&r, &out->sup);
	/* the lists' sizes before their items: the snapshot's room */
	n = get_count(&r, "nodes", 4);
	if (!r.e.ret) {
		out->nodes = calloc(n ? n : 1, sizeof(*out->nodes));
		if (!out->nodes)
			nomem(&r);
		else
			out->n_nodes = n;
	}
	for (size_t i = 0; i < out->n_nodes && at(&r, "nodes", i); i++)
		get_node(&r, &out->nodes[i]);
	r.e.where[0] = '\0';
	n = get_count(&r, "services", 4);
	if (!r.e.ret) {
		out->svcs = calloc(n ? n : 1, sizeof(*out->svcs));
		if (!out->svcs)
			nomem(&r);
		else
			out->n_svcs = n;
	}
	for (size_t i = 0; i < out->n_svcs && at(&r, "services", i);
	     i++)
		get_service(&r, &out->svcs[i]);
	r.e.where[0] = '\0';
	get_sockets(&r, out);
	get_config(&r, out);
	snprintf(r.e.where, sizeof(r.e.where), "daemon");
	get_str(&r, "notify_socket", &d->notify_socket);
	d->watchdog_usec = (uint64_t)get_i64(&r, "watchdog_usec", 0,
					     INT64_MAX);
	get_u64s(&r, "counters", d->counters, RV_SNAP_NCOUNTERS);
	r.e.where[0] = '\0';
	if (!r.e.ret && r.p != r.end)
		fail(&r, "%zu bytes after its end", (size_t)(r.end - r.p));
	if (r.e.ret)
		rv_snapshot_free(out);
	return r.e.ret;
}
