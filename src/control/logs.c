/* SPDX-License-Identifier: MIT */
#include "control/logs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "child/logring.h"
#include "control/commands.h"
#include "control/control.h"
#include "tree/isolation.h"
#include "tree/supervisor.h"

/* One kept line, pointing into its ring (valid while the reply is built,
 * within one loop turn). */
struct item {
	struct rv_logline l;
	const char *service;
	size_t seq;		/* ties keep each ring's order */
};

struct gather {
	struct item *items;
	size_t n, cap;
	const char *service;
};

static bool gather_one(const struct rv_logline *l, void *ctx)
{
	struct gather *g = ctx;

	if (g->n == g->cap)
		return false;
	g->items[g->n] = (struct item){ *l, g->service, g->n };
	g->n++;
	return true;
}

static int by_time(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->l.realtime_ns != y->l.realtime_ns)
		return x->l.realtime_ns < y->l.realtime_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Not UTF-8: each offending byte becomes U+FFFD.  malloc'd or NULL. */
static json_t *text_json(const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);
	char *fix, *o;

	if (j)
		return j;
	fix = malloc(len * 3 + 1);
	if (!fix)
		return NULL;
	o = fix;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80 && c) {
			*o++ = (char)c;
		} else {
			/* U+FFFD, the replacement character */
			*o++ = (char)0xef;
			*o++ = (char)0xbf;
			*o++ = (char)0xbd;
		}
	}
	j = json_stringn(fix, (size_t)(o - fix));
	free(fix);
	return j;
}

static json_t *line_json(const char *service, const struct rv_logline *l)
{
	char ts[48];
	time_t sec = (time_t)(l->realtime_ns / 1000000000);
	struct tm tm;
	size_t o;

	gmtime_r(&sec, &tm);
	o = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + o, sizeof(ts) - o, ".%06ldZ",
		 (long)(l->realtime_ns % 1000000000 / 1000));
	return json_pack("{s:s, s:s, s:s, s:o*}", "time", ts,
			 "service", service, "stream",
			 l->stream == RV_LOG_STDERR ? "stderr" : "stdout",
			 "text", text_json(l->text, l->len));
}

char *rv_logs_reply(struct rv_service *const *v, size_t n, size_t lines,
		    bool follow, size_t max_bytes)
{
	struct gather g = { 0 };
	json_t *arr = json_array(), *missing = json_array();
	size_t first, bytes = 0;
	char *reply;

	for (size_t i = 0; i < n; i++) {
		const struct rv_logring *r = rv_iso_logring(v[i]);

		if (r)
			g.cap += rv_logring_count(r);
	}
	g.items = calloc(g.cap ? g.cap : 1, sizeof(*g.items));
	if (!g.items || !arr || !missing)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct rv_logring *r = rv_iso_logring(v[i]);

		if (!r) {
			if (json_array_append_new(missing,
						  json_string(v[i]->name)))
				goto nomem;
			continue;
		}
		g.service = v[i]->name;
		rv_logring_each(r, lines, gather_one, &g);
	}
	qsort(g.items, g.n, sizeof(*g.items), by_time);
	first = lines && lines < g.n ? g.n - lines : 0;
	if (follow) {
		/* newest first until the budget is spent (escapes: x2) */
		size_t k = g.n;

		while (k > first &&
		       bytes + 2 * g.items[k - 1].l.len + 128 <= max_bytes)
			bytes += 2 * g.items[--k].l.len + 128;
		first = k;
	}
	for (size_t i = first; i < g.n; i++)
		if (json_array_append_new(arr, line_json(g.items[i].service,
							 &g.items[i].l)))
			goto nomem;
	free(g.items);
	reply = rv_commands_line(json_pack("{s:b, s:o, s:o, s:b}", "ok", 1,
					   "lines", arr, "not_kept", missing,
					   "following", follow));
	return reply;
nomem:
	free(g.items);
	json_decref(arr);
	json_decref(missing);
	return NULL;
}

static void on_line(const struct rv_logring *r, const struct rv_logline *l,
		    void *ctx)
{
	struct rv_control *ctl = ctx;
	const char *name = rv_logring_name(r);
	char *line;

	if (!rv_control_follows_logs_of(ctl, name))
		return;
	line = rv_commands_line(line_json(name, l));
	if (line)
		rv_control_broadcast_logs(ctl, name, line, strlen(line));
	free(line);
}

void rv_logs_listen(struct rv_control *ctl, bool on)
{
	rv_logring_listen(on ? on_line : NULL, on ? ctl : NULL);
}
