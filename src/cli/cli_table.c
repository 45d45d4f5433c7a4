/* SPDX-License-Identifier: MIT */
/*
 * The status table of `ringvisor status` on a terminal: the tree as rows
 * (each nested supervisor above its members, indented by depth), with why
 * a service is where it is (REASON: a failure's reason, the next restart,
 * what it waits for) and what it says about itself (STATUS: the notify
 * STATUS= text).  Durations are rounded for people (4.2s, 3m07s, 1h02m,
 * 2d03h); the JSON keeps the numbers.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define INDENT 2

struct table {
	json_t *svcs, *nodes;
	bool colour;
	int w_name, w_reason;
};

static bool use_colour(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && !(nc && *nc) &&
	       !(term && !strcmp(term, "dumb"));
}

static const char *state_colour(const char *st)
{
	if (!strcmp(st, "running") || !strcmp(st, "alive"))
		return "\033[32m";
	if (!strcmp(st, "failed"))
		return "\033[31m";
	if (!strcmp(st, "backoff") || !strcmp(st, "starting") ||
	    !strcmp(st, "waiting") ||
	    !strcmp(st, "stopping") || !strcmp(st, "shutting_down"))
		return "\033[33m";
	return "\033[2m";
}

void rv_cli_fmt_exit(json_t *e, char *buf, size_t len)
{
	json_t *sig = json_object_get(e, "signal");

	if (json_is_string(sig))
		snprintf(buf, len, "%s%s", json_string_value(sig),
			 json_is_true(json_object_get(e, "core_dumped")) ?
			 " (core)" : "");
	else if (json_is_integer(json_object_get(e, "code")))
		snprintf(buf, len, "code %lld",
			 (long long)json_integer_value(json_object_get(e,
								       "code")));
	else
		snprintf(buf, len, "-");
}

void rv_cli_fmt_secs(json_t *v, char *buf, size_t len)
{
	double s;
	long long t;

	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return;
	}
	s = json_number_value(v);
	t = (long long)s;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", t / 60, t % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

static json_t *find_node(const struct table *t, const char *name)
{
	json_t *n;
	size_t i;

	json_array_foreach(t->nodes, i, n)
		if (!strcmp(str(n, "name"), name))
			return n;
	return NULL;
}

/* The supervisor a row hangs under, or NULL at the top level. */
static json_t *parent_of(const struct table *t, json_t *row, bool is_node)
{
	return find_node(t, str(row, is_node ? "parent" : "supervisor"));
}

/* Does node (NULL: the top) hold one of the services listed? */
static bool holds_services(const struct table *t, json_t *node)
{
	json_t *x;
	size_t i;

	json_array_foreach(t->svcs, i, x)
		for (json_t *p = parent_of(t, x, false); p;
		     p = parent_of(t, p, true))
			if (p == node)
				return true;
	return !node && json_array_size(t->svcs);
}

/* REASON of a service: why it is failed, when it restarts, what it
 * waits for. */
static void reason_of(json_t *s, char *buf, size_t len)
{
	json_t *w8 = json_object_get(s, "waiting_for"), *d;
	size_t k, o;

	buf[0] = '\0';
	if (json_is_array(w8)) {
		o = (size_t)snprintf(buf, len, "after");
		json_array_foreach(w8, k, d)
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, " %s",
						      json_string_value(d));
	} else if (json_is_number(json_object_get(s, "next_restart_in_s"))) {
		char next[32];

		rv_cli_fmt_secs(json_object_get(s, "next_restart_in_s"), next,
				sizeof(next));
		snprintf(buf, len, "restart in %s", next);
	} else if (json_is_string(json_object_get(s, "reason"))) {
		snprintf(buf, len, "%s", str(s, "reason"));
	}
}

static void node_reason(json_t *n, char *buf, size_t len)
{
	json_t *w8 = json_object_get(n, "waiting_for");

	if (json_is_array(w8) || json_is_string(json_object_get(n, "reason")))
		reason_of(n, buf, len);
	else
		snprintf(buf, len, "supervisor, %s", str(n, "strategy"));
}

static void row(const struct table *t, int depth, const char *name,
		const char *state, const char *pid, const char *restarts,
		const char *up, const char *ex, const char *reason,
		const char *status)
{
	char line[1024];
	int n = snprintf(line, sizeof(line),
			 "%*s%-*s  %s%-10s%s %-8s %8s  %-8s %-14s %-*s  %s",
			 depth * INDENT, "", t->w_name - depth * INDENT, name,
			 t->colour ? state_colour(state) : "", state,
			 t->colour ? "\033[0m" : "", pid, restarts, up, ex,
			 t->w_reason, reason, status);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	while (n > 0 && line[n - 1] == ' ')	/* no STATUS, no REASON */
		line[--n] = '\0';
	puts(line);
}

static void count(json_t *o, char *buf, size_t len)
{
	snprintf(buf, len, "%lld",
		 (long long)json_integer_value(json_object_get(o, "restarts")));
}

static void service_row(const struct table *t, json_t *s, int depth)
{
	json_t *pid = json_object_get(s, "pid");
	char pids[16] = "-", ex[48], upt[32], reason[160], n[24];

	if (json_is_integer(pid))
		snprintf(pids, sizeof(pids), "%lld",
			 (long long)json_integer_value(pid));
	rv_cli_fmt_exit(json_object_get(s, "last_exit"), ex, sizeof(ex));
	rv_cli_fmt_secs(json_object_get(s, "uptime_s"), upt, sizeof(upt));
	reason_of(s, reason, sizeof(reason));
	count(s, n, sizeof(n));
	row(t, depth, str(s, "name"), str(s, "state"), pids, n, upt, ex,
	    reason, str(s, "status_text"));
}

/* The members of node (NULL: the top): its services, then its nested
 * supervisors, each followed by its own. */
static void members(const struct table *t, json_t *node, int depth)
{
	json_t *x;
	size_t i;

	json_array_foreach(t->svcs, i, x)
		if (parent_of(t, x, false) == node)
			service_row(t, x, depth);
	json_array_foreach(t->nodes, i, x) {
		char reason[160], n[24];

		if (parent_of(t, x, true) != node || !holds_services(t, x))
			continue;
		node_reason(x, reason, sizeof(reason));
		count(x, n, sizeof(n));
		row(t, depth, str(x, "name"), str(x, "state"), "-", n, "-", "-",
		    reason, "");
		members(t, x, depth + 1);
	}
}

static int depth_of(const struct table *t, json_t *row, bool is_node)
{
	int d = 0;

	for (json_t *p = parent_of(t, row, is_node); p;
	     p = parent_of(t, p, true))
		d++;
	return d;
}

/* Column widths: names with their indentation, reasons. */
static void measure(struct table *t)
{
	json_t *x;
	size_t i;
	char reason[160];

	t->w_name = 4;		/* NAME */
	t->w_reason = 6;	/* REASON */
	for (int pass = 0; pass < 2; pass++) {
		json_t *a = pass ? t->nodes : t->svcs;

		json_array_foreach(a, i, x) {
			int w = depth_of(t, x, pass) * INDENT +
				(int)strlen(str(x, "name"));

			if (pass && !holds_services(t, x))
				continue;
			if (pass)
				node_reason(x, reason, sizeof(reason));
			else
				reason_of(x, reason, sizeof(reason));
			t->w_name = w > t->w_name ? w : t->w_name;
			if ((int)strlen(reason) > t->w_reason)
				t->w_reason = (int)strlen(reason);
		}
	}
}

void rv_cli_print_table(json_t *st)
{
	json_t *sup = json_object_get(st, "supervisor");
	struct table t = {
		.svcs = json_object_get(st, "services"),
		.nodes = json_object_get(st, "supervisors"),
		.colour = use_colour(),
	};
	const char *sstate = str(sup, "state");
	char up[32];

	rv_cli_fmt_secs(json_object_get(sup, "uptime_s"), up, sizeof(up));
	printf("supervisor %s%s%s  pid %lld  up %s  backend %s  strategy %s\n",
	       t.colour ? state_colour(sstate) : "", sstate,
	       t.colour ? "\033[0m" : "",
	       (long long)json_integer_value(json_object_get(sup, "pid")), up,
	       str(sup, "backend"), str(sup, "strategy"));
	measure(&t);
	t.colour = false;	/* the header is not a state */
	row(&t, 0, "NAME", "STATE", "PID", "RESTARTS", "UPTIME", "LAST EXIT",
	    "REASON", "STATUS");
	t.colour = use_colour();
	members(&t, NULL, 0);
}
