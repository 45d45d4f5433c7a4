/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top`'s rows: built from the status document, nudged by the
 * event stream between two documents, and put in the order the screen
 * shows (tree, folds, filter, sort).
 */
#include "cli/cli_top_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long num(json_t *o, const char *key, long none)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : none;
}

static double secs(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

/* last_exit as a short cell: "exit 1", "SIGKILL", "SIGSEGV core". */
static void exit_cell(json_t *e, char *buf, size_t len)
{
	json_t *sig = json_object_get(e, "signal");

	if (json_is_string(sig))
		snprintf(buf, len, "%s%s", json_string_value(sig),
			 json_is_true(json_object_get(e, "core_dumped")) ?
			 " core" : "");
	else if (json_is_integer(json_object_get(e, "code")))
		snprintf(buf, len, "%s %ld",
			 json_is_true(json_object_get(e, "failed_start")) ?
			 "start failed" : "exit", num(e, "code", 0));
	else
		copy(buf, len, "-");
}

/* "after db cache" from a waiting_for array; else the plain reason. */
static void reason_cell(json_t *o, char *buf, size_t len)
{
	json_t *w = json_object_get(o, "waiting_for"), *d;
	size_t i, off;

	buf[0] = '\0';
	if (json_is_array(w) && json_array_size(w)) {
		off = (size_t)snprintf(buf, len, "after");
		json_array_foreach(w, i, d)
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off,
							" %s",
							json_string_value(d));
		return;
	}
	if (*str(o, "reason"))
		copy(buf, len, str(o, "reason"));
	else if (*str(o, "status_text"))
		copy(buf, len, str(o, "status_text"));
}

static struct top_hist *hist_of(struct top_model *m, const char *name)
{
	struct top_hist *h;

	for (size_t i = 0; i < m->n_hist; i++)
		if (!strcmp(m->hist[i].name, name))
			return &m->hist[i];
	if (m->n_hist == m->cap_hist) {
		size_t cap = m->cap_hist ? m->cap_hist * 2 : 32;

		h = realloc(m->hist, cap * sizeof(*h));
		if (!h)
			return NULL;
		m->hist = h;
		m->cap_hist = cap;
	}
	h = &m->hist[m->n_hist];
	*h = (struct top_hist){ .name = strdup(name), .restarts = -1 };
	if (!h->name)
		return NULL;
	m->n_hist++;
	return h;
}

void top_model_tick(struct top_model *m, int64_t now_ms)
{
	int64_t epoch = now_ms / (TOP_SPARK_SLOT_S * 1000);
	int64_t k = epoch - m->slot_epoch;

	if (k <= 0)
		return;
	if (k > TOP_SPARK_SLOTS)
		k = TOP_SPARK_SLOTS;
	for (size_t i = 0; i < m->n_hist; i++) {
		unsigned *s = m->hist[i].slot;

		memmove(s, s + k, (TOP_SPARK_SLOTS - (size_t)k) * sizeof(*s));
		memset(s + TOP_SPARK_SLOTS - k, 0, (size_t)k * sizeof(*s));
	}
	m->slot_epoch = epoch;
}

/* A restart count seen for r: the increase goes into the newest slot
 * (the first count seen is the baseline, not a burst). */
static int note_restarts(struct top_model *m, struct top_row *r)
{
	struct top_hist *h = hist_of(m, r->name);

	if (!h)
		return -ENOMEM;
	if (h->restarts >= 0 && r->restarts > h->restarts)
		h->slot[TOP_SPARK_SLOTS - 1] +=
			(unsigned)(r->restarts - h->restarts);
	h->restarts = r->restarts;
	r->hist = (size_t)(h - m->hist);
	r->folded = h->folded;
	return 0;
}

static void rows_free(struct top_model *m)
{
	for (size_t i = 0; i < m->n_rows; i++) {
		free(m->rows[i].name);
		free(m->rows[i].parent);
	}
	free(m->rows);
	m->rows = NULL;
	m->n_rows = 0;
	free(m->view);
	m->view = NULL;
	m->n_view = 0;
}

static int row_init(struct top_row *r, const char *name, const char *parent)
{
	*r = (struct top_row){ .pid = -1, .uptime_s = -1, .ready = -1,
			       .next_s = -1 };
	r->name = strdup(name);
	r->parent = parent ? strdup(parent) : NULL;
	return r->name && (!parent || r->parent) ? 0 : -ENOMEM;
}

int top_model_load(struct top_model *m, json_t *st, int64_t now_ms)
{
	json_t *sup = json_object_get(st, "supervisor");
	json_t *svcs = json_object_get(st, "services");
	json_t *nodes = json_object_get(st, "supervisors"), *o;
	size_t n = 1 + json_array_size(svcs) + json_array_size(nodes), i;
	struct top_row *r;

	rows_free(m);
	top_model_tick(m, now_ms);
	m->rows = calloc(n, sizeof(*m->rows));
	if (!m->rows)
		return -ENOMEM;
	copy(m->sup_state, sizeof(m->sup_state), str(sup, "state"));
	copy(m->backend, sizeof(m->backend), str(sup, "backend"));
	copy(m->strategy, sizeof(m->strategy), str(sup, "strategy"));
	m->sup_pid = num(sup, "pid", -1);
	m->sup_uptime_s = secs(sup, "uptime_s");
	m->loaded_ms = now_ms;

	/* the top level: the root of the tree */
	r = &m->rows[m->n_rows++];
	if (row_init(r, TOP_ROOT_NAME, NULL))
		return -ENOMEM;
	r->is_sup = true;
	copy(r->state, sizeof(r->state), m->sup_state);
	r->pid = m->sup_pid;
	r->uptime_s = m->sup_uptime_s;
	r->restarts = num(sup, "restarts_in_window", 0);
	copy(r->last_exit, sizeof(r->last_exit), "-");
	reason_cell(sup, r->reason, sizeof(r->reason));
	json_array_foreach(nodes, i, o) {
		r = &m->rows[m->n_rows++];
		if (row_init(r, str(o, "name"), str(o, "parent")))
			return -ENOMEM;
		r->is_sup = true;
		copy(r->state, sizeof(r->state), str(o, "state"));
		r->restarts = num(o, "restarts", 0);
		copy(r->last_exit, sizeof(r->last_exit), "-");
		reason_cell(o, r->reason, sizeof(r->reason));
	}
	json_array_foreach(svcs, i, o) {
		r = &m->rows[m->n_rows++];
		if (row_init(r, str(o, "name"), str(o, "supervisor")))
			return -ENOMEM;
		copy(r->state, sizeof(r->state), str(o, "state"));
		r->pid = num(o, "pid", -1);
		r->uptime_s = secs(o, "uptime_s");
		r->restarts = num(o, "restarts", 0);
		r->ready = json_is_true(json_object_get(o, "ready"));
		exit_cell(json_object_get(o, "last_exit"), r->last_exit,
			  sizeof(r->last_exit));
		reason_cell(o, r->reason, sizeof(r->reason));
		r->next_s = secs(o, "next_restart_in_s");
	}
	for (i = 0; i < m->n_rows; i++)
		if (note_restarts(m, &m->rows[i]))
			return -ENOMEM;
	return top_model_view(m);
}

bool top_model_event(struct top_model *m, json_t *ev, int64_t now_ms)
{
	const char *name = str(ev, "service");
	struct top_row *r = NULL;

	if (strcmp(str(ev, "event"), "state"))
		return false;
	for (size_t i = 0; i < m->n_rows && !r; i++)
		if (!m->rows[i].is_sup && !strcmp(m->rows[i].name, name))
			r = &m->rows[i];
	if (!r)
		return false;	/* a new service: the next document has it */
	top_model_tick(m, now_ms);
	copy(r->state, sizeof(r->state), str(ev, "to"));
	r->pid = num(ev, "pid", -1);
	r->restarts = num(ev, "restarts", r->restarts);
	r->ready = !strcmp(r->state, "running");
	/* uptime and reason are the document's to say */
	r->uptime_s = -1;
	r->reason[0] = '\0';
	r->next_s = -1;
	exit_cell(json_object_get(ev, "exit"), r->last_exit,
		  sizeof(r->last_exit));
	note_restarts(m, r);
	return true;
}

void top_model_fold(struct top_model *m, const char *name, bool folded)
{
	struct top_hist *h = hist_of(m, name);

	if (h)
		h->folded = folded;
	for (size_t i = 0; i < m->n_rows; i++)
		if (!strcmp(m->rows[i].name, name))
			m->rows[i].folded = folded;
}

const unsigned *top_model_spark(const struct top_model *m,
				const struct top_row *r)
{
	return m->hist[r->hist].slot;
}

unsigned top_model_per_min(const struct top_model *m,
			   const struct top_row *r)
{
	const unsigned *s = top_model_spark(m, r);
	unsigned n = 0;

	for (int i = TOP_SPARK_SLOTS - 60 / TOP_SPARK_SLOT_S;
	     i < TOP_SPARK_SLOTS; i++)
		n += s[i];
	return n;
}

/* ---- the visible order --------------------------------------------- */

/* Problems first: the order of `o` (sort by state). */
static int state_rank(const char *s)
{
	static const char *const order[] = {
		"failed", "backoff", "starting", "stopping", "shutting_down",
		"waiting", "running", "alive", "stopped", "completed",
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++)
		if (!strcmp(s, order[i]))
			return (int)i;
	return (int)(sizeof(order) / sizeof(*order));
}

struct view_ctx {
	struct top_model *m;
	long *parent;		/* row index of each row's supervisor */
	size_t *order;		/* row indexes, grouped by parent, sorted */
	size_t *first;		/* where each row's members start in order */
};

static struct view_ctx *sort_ctx;	/* qsort has no context argument */

static int cmp_rows(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const struct top_row *ra = &sort_ctx->m->rows[a];
	const struct top_row *rb = &sort_ctx->m->rows[b];
	long d;

	if (sort_ctx->parent[a] != sort_ctx->parent[b])
		return sort_ctx->parent[a] < sort_ctx->parent[b] ? -1 : 1;
	if (ra->is_sup != rb->is_sup)
		return ra->is_sup ? -1 : 1;	/* subtrees first */
	switch (sort_ctx->m->sort) {
	case TOP_SORT_STATE:
		d = state_rank(ra->state) - state_rank(rb->state);
		break;
	case TOP_SORT_RESTARTS:
		d = rb->restarts - ra->restarts;	/* most first */
		break;
	default:
		d = 0;
	}
	if (d)
		return d < 0 ? -1 : 1;
	return strcmp(ra->name, rb->name);
}

static bool matches(const struct top_model *m, const struct top_row *r)
{
	return !m->filter[0] || strcasestr(r->name, m->filter);
}

/* Whether row i or something under it passes the filter. */
static bool shown(struct view_ctx *c, size_t i)
{
	if (matches(c->m, &c->m->rows[i]))
		return true;
	for (size_t p = c->first[i];
	     p < c->m->n_rows && c->parent[c->order[p]] == (long)i; p++)
		if (shown(c, c->order[p]))
			return true;
	return false;
}

static void emit(struct view_ctx *c, size_t i, int depth)
{
	struct top_model *m = c->m;
	struct top_row *r = &m->rows[i];

	r->depth = depth;
	r->has_children = false;
	m->view[m->n_view++] = r;
	for (size_t p = c->first[i];
	     p < m->n_rows && c->parent[c->order[p]] == (long)i; p++) {
		size_t j = c->order[p];

		r->has_children = true;
		/* a filter shows what matches even in a folded subtree */
		if ((r->folded && !m->filter[0]) || !shown(c, j))
			continue;
		emit(c, j, depth + 1);
	}
}

/* parent[] from the names; the supervisors are rows 1.. (load order). */
static void link_parents(struct view_ctx *c)
{
	struct top_model *m = c->m;
	size_t n_sup = 1;

	while (n_sup < m->n_rows && m->rows[n_sup].is_sup)
		n_sup++;
	for (size_t i = 0; i < m->n_rows; i++) {
		c->parent[i] = i ? 0 : -1;	/* unknown parent: the top */
		c->order[i] = i;
		c->first[i] = m->n_rows;
		for (size_t k = 1; i && m->rows[i].parent && k < n_sup; k++)
			if (k != i && !strcmp(m->rows[k].name,
					      m->rows[i].parent))
				c->parent[i] = (long)k;
	}
}

int top_model_view(struct top_model *m)
{
	struct view_ctx c = { .m = m };
	size_t n = m->n_rows + 1;
	int ret = -ENOMEM;

	free(m->view);
	m->n_view = 0;
	m->view = calloc(n, sizeof(*m->view));
	c.parent = calloc(n, sizeof(*c.parent));
	c.order = calloc(n, sizeof(*c.order));
	c.first = calloc(n, sizeof(*c.first));
	if (!m->view || !c.parent || !c.order || !c.first)
		goto out;
	link_parents(&c);
	sort_ctx = &c;
	qsort(c.order, m->n_rows, sizeof(*c.order), cmp_rows);
	sort_ctx = NULL;
	for (size_t p = m->n_rows; p-- > 0;)
		if (c.parent[c.order[p]] >= 0)
			c.first[c.parent[c.order[p]]] = p;
	if (m->n_rows)
		emit(&c, 0, 0);
	ret = 0;
out:
	free(c.parent);
	free(c.order);
	free(c.first);
	return ret;
}

void top_model_free(struct top_model *m)
{
	rows_free(m);
	for (size_t i = 0; i < m->n_hist; i++)
		free(m->hist[i].name);
	free(m->hist);
	m->hist = NULL;
	m->n_hist = m->cap_hist = 0;
}

const char *top_sort_name(enum top_sort s)
{
	static const char *const names[] = {
		[TOP_SORT_NAME] = "name", [TOP_SORT_STATE] = "state",
		[TOP_SORT_RESTARTS] = "restarts",
	};

	return s < TOP_SORT_COUNT ? names[s] : "name";
}
