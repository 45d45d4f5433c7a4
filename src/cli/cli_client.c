/* SPDX-License-Identifier: MIT */
/*
 * Client commands of the `ringvisor` CLI: status, start, stop, restart,
 * kill, reload, shutdown, metrics, events.  They speak the control
 * protocol through rv_client_* and only format what comes back.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "ringvisor.h"

#define TIMEOUT_MS 30000

struct client_args {
	const char *socket;
	const char *config;
	bool json, check;
	bool rolling;		/* restart --rolling */
	const char *names[256];
	size_t n_names;
};

/* control_socket of [supervisor], read line by line; NULL if absent. */
static char *scan_control_socket(const char *config)
{
	FILE *f = fopen(config, "re");
	char *line = NULL, *path = NULL;
	size_t cap = 0;
	bool top = false;

	if (!f)
		return NULL;
	while (!path && getline(&line, &cap, f) > 0) {
		char *p = line + strspn(line, " \t"), *v, *end;

		if (*p == '[') {
			top = !strncmp(p, "[supervisor]", 12);
			continue;
		}
		if (!top || strncmp(p, "control_socket", 14))
			continue;
		v = p + 14 + strspn(p + 14, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		end = v + strcspn(v, " \t\r\n;");
		if (end > v)
			path = strndup(v, (size_t)(end - v));
	}
	free(line);
	fclose(f);
	return path;
}

/* -s PATH, else the config's control_socket, else the default. */
static char *socket_path(const struct client_args *a)
{
	const char *config = a->config ? a->config : getenv("RINGVISOR_CONFIG");
	struct rv_specs specs;
	struct rv_diag d = { .out = NULL };
	char *path = NULL;

	if (a->socket)
		return strdup(a->socket);
	if (config && *config &&
	    rv_config_load_file(config, &specs, &d) == 0) {
		path = strdup(specs.control_socket);
		rv_specs_free(&specs);
		return path;
	}
	/* a config with errors (the usual reason to `reload` and read them)
	 * still names the socket */
	if (config && *config && (path = scan_control_socket(config)))
		return path;
	return strdup(RV_DEFAULT_CONTROL_SOCKET);
}

static int parse_args(int argc, char **argv, struct client_args *a,
		      bool names_ok)
{
	for (int i = 1; i < argc; i++) {
		const char *x = argv[i];

		if (!strcmp(x, "-s") || !strcmp(x, "--socket") ||
		    !strcmp(x, "-c") || !strcmp(x, "--config")) {
			if (i + 1 >= argc)
				return rv_cli_usage_error("%s needs a value",
							  x);
			if (x[1] == 's' || x[2] == 's')
				a->socket = argv[++i];
			else
				a->config = argv[++i];
		} else if (!strncmp(x, "--socket=", 9)) {
			a->socket = x + 9;
		} else if (!strncmp(x, "--config=", 9)) {
			a->config = x + 9;
		} else if (!strcmp(x, "--json")) {
			a->json = true;
		} else if (!strcmp(x, "--check")) {
			a->check = true;
		} else if (!strcmp(x, "--rolling") &&
			   !strcmp(argv[0], "restart")) {
			a->rolling = true;
		} else if (x[0] == '-' && x[1]) {
			return rv_cli_usage_error("%s: unknown option %s",
						  argv[0], x);
		} else if (!names_ok) {
			return rv_cli_usage_error("%s: unexpected argument %s",
						  argv[0], x);
		} else if (a->n_names < sizeof(a->names) / sizeof(*a->names)) {
			a->names[a->n_names++] = x;
		} else {
			return rv_cli_usage_error("%s: too many names",
						  argv[0]);
		}
	}
	return 0;
}

/* Sends req; on success *doc is the reply object with "ok": true. */
static int call(const struct client_args *a, json_t *req, json_t **doc,
		struct rv_client **keep)
{
	char *path = socket_path(a), *text = NULL, *reply = NULL;
	struct rv_client *c = NULL;
	json_error_t jerr;
	int ret;

	if (!path)
		return 1;
	ret = rv_client_open(&c, path);
	if (ret) {
		fprintf(stderr, "ringvisor: cannot connect to %s: %s%s\n",
			path, strerror(-ret),
			ret == -ENOENT || ret == -ECONNREFUSED ?
			" (is the supervisor running? -s PATH or -c FILE "
			"names its socket)" : "");
		free(path);
		json_decref(req);
		return 1;
	}
	free(path);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	ret = text ? rv_client_request(c, text, &reply, TIMEOUT_MS) : -ENOMEM;
	free(text);
	if (ret) {
		fprintf(stderr, "ringvisor: no reply from the supervisor: %s\n",
			strerror(-ret));
		rv_client_close(c);
		return 1;
	}
	*doc = json_loads(reply, 0, &jerr);
	free(reply);
	if (!*doc || !json_is_object(*doc)) {
		fprintf(stderr, "ringvisor: malformed reply: %s\n", jerr.text);
		json_decref(*doc);
		rv_client_close(c);
		return 1;
	}
	if (!json_is_true(json_object_get(*doc, "ok"))) {
		const char *e = json_string_value(json_object_get(*doc,
								  "error"));
		json_t *errs = json_object_get(*doc, "errors");
		size_t i;
		json_t *v;

		fprintf(stderr, "ringvisor: %s\n", e ? e : "request failed");
		json_array_foreach(errs, i, v)
			fprintf(stderr, "%s\n", json_string_value(v));
		json_decref(*doc);
		rv_client_close(c);
		return 1;
	}
	if (keep)
		*keep = c;
	else
		rv_client_close(c);
	return 0;
}

static json_t *request(const char *cmd, const struct client_args *a)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd), *names;

	if (a->n_names) {
		names = json_array();
		for (size_t i = 0; i < a->n_names; i++)
			json_array_append_new(names, json_string(a->names[i]));
		json_object_set_new(req, "services", names);
	}
	if (a->rolling)
		json_object_set_new(req, "rolling", json_true());
	return req;
}

static bool use_colour(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	/* a dumb terminal shows escape sequences as text */
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

static void fmt_exit(json_t *e, char *buf, size_t len)
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

static void fmt_secs(json_t *v, char *buf, size_t len)
{
	double s;

	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return;
	}
	s = json_number_value(v);
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%dh%02dm", (int)s / 3600,
			 (int)s % 3600 / 60);
}

static void print_table(json_t *st)
{
	json_t *sup = json_object_get(st, "supervisor");
	json_t *svcs = json_object_get(st, "services"), *s;
	const char *sstate = json_string_value(json_object_get(sup, "state"));
	bool colour = use_colour();
	int w = 4;
	size_t i;
	char up[32];

	fmt_secs(json_object_get(sup, "uptime_s"), up, sizeof(up));
	printf("supervisor %s%s%s  pid %lld  up %s  backend %s  strategy %s\n",
	       colour ? state_colour(sstate) : "", sstate,
	       colour ? "\033[0m" : "",
	       (long long)json_integer_value(json_object_get(sup, "pid")), up,
	       json_string_value(json_object_get(sup, "backend")),
	       json_string_value(json_object_get(sup, "strategy")));
	json_array_foreach(svcs, i, s) {
		int n = (int)strlen(json_string_value(json_object_get(s,
								      "name")));
		w = n > w ? n : w;
	}
	printf("%-*s  %-10s %-8s %8s  %-8s %-14s %s\n", w, "NAME", "STATE",
	       "PID", "RESTARTS", "UPTIME", "LAST EXIT", "NEXT");
	json_array_foreach(svcs, i, s) {
		const char *state = json_string_value(json_object_get(s,
								      "state"));
		json_t *pid = json_object_get(s, "pid");
		char pids[16] = "-", ex[48], next[32], upt[32];

		if (json_is_integer(pid))
			snprintf(pids, sizeof(pids), "%lld",
				 (long long)json_integer_value(pid));
		fmt_exit(json_object_get(s, "last_exit"), ex, sizeof(ex));
		fmt_secs(json_object_get(s, "uptime_s"), upt, sizeof(upt));
		fmt_secs(json_object_get(s, "next_restart_in_s"), next,
			 sizeof(next));
		if (json_is_array(json_object_get(s, "waiting_for"))) {
			/* NEXT of a waiting service: what it waits for */
			json_t *w8 = json_object_get(s, "waiting_for"), *d;
			size_t k, o = 0;

			o += (size_t)snprintf(next, sizeof(next), "after");
			json_array_foreach(w8, k, d)
				if (o < sizeof(next))
					o += (size_t)snprintf(next + o,
						sizeof(next) - o, " %s",
						json_string_value(d));
		}
		printf("%-*s  %s%-10s%s %-8s %8lld  %-8s %-14s %s\n", w,
		       json_string_value(json_object_get(s, "name")),
		       colour ? state_colour(state) : "", state,
		       colour ? "\033[0m" : "", pids,
		       (long long)json_integer_value(json_object_get(s,
							   "restarts")),
		       upt, ex, next);
	}
}

/* --check: alive, and every critical (or named) service up. */
static int check(json_t *st, const struct client_args *a)
{
	json_t *sup = json_object_get(st, "supervisor"), *s;
	const char *state = json_string_value(json_object_get(sup, "state"));
	size_t i;
	int bad = 0;

	if (!state || strcmp(state, "alive")) {
		fprintf(stderr, "ringvisor: supervisor is %s\n",
			state ? state : "unknown");
		return 1;
	}
	json_array_foreach(json_object_get(st, "services"), i, s) {
		const char *ss = json_string_value(json_object_get(s, "state"));

		if (!a->n_names && !json_is_true(json_object_get(s, "critical")))
			continue;
		if (ss && !strcmp(ss, "running"))
			continue;
		if (ss && !strcmp(ss, "completed") &&
		    !strcmp(json_string_value(json_object_get(s, "type")),
			    "oneshot"))
			continue;
		fprintf(stderr, "ringvisor: %s is %s\n",
			json_string_value(json_object_get(s, "name")), ss);
		bad = 1;
	}
	return bad;
}

static int cmd_status(int argc, char **argv)
{
	struct client_args a = { 0 };
	json_t *doc, *st;
	int ret = parse_args(argc, argv, &a, true);

	if (ret)
		return ret;
	ret = call(&a, request("status", &a), &doc, NULL);
	if (ret)
		return ret;
	st = json_object_get(doc, "status");
	if (a.check)
		ret = check(st, &a);
	else if (a.json)
		json_dumpf(st, stdout, JSON_INDENT(2)), putchar('\n');
	else
		print_table(st);
	json_decref(doc);
	return ret;
}

static int cmd_simple(int argc, char **argv, const char *cmd, bool names)
{
	struct client_args a = { 0 };
	json_t *doc;
	int ret = parse_args(argc, argv, &a, names);

	if (ret)
		return ret;
	if (names && !a.n_names)
		return rv_cli_usage_error("%s: name at least one service", cmd);
	ret = call(&a, request(cmd, &a), &doc, NULL);
	if (ret)
		return ret;
	if (!strcmp(cmd, "metrics")) {
		fputs(json_string_value(json_object_get(doc, "metrics")),
		      stdout);
	} else if (!strcmp(cmd, "reload")) {
		static const char *const keys[] = { "restarted", "started",
						    "stopped" };

		for (size_t k = 0; k < 3; k++) {
			json_t *v;
			size_t i;

			json_array_foreach(json_object_get(doc, keys[k]), i, v)
				printf("%s %s\n", keys[k],
				       json_string_value(v));
		}
	}
	json_decref(doc);
	return 0;
}

static int cmd_kill(int argc, char **argv)
{
	struct client_args a = { 0 };
	json_t *doc, *req;
	const char *sig;
	int ret = parse_args(argc, argv, &a, true);

	if (ret)
		return ret;
	if (a.n_names != 2)
		return rv_cli_usage_error("%s", "kill: usage: ringvisor kill "
					  "NAME SIGNAL");
	sig = a.names[--a.n_names];
	req = request("kill", &a);
	json_object_set_new(req, "signal", json_string(sig));
	ret = call(&a, req, &doc, NULL);
	if (!ret)
		json_decref(doc);
	return ret;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = 1;
}

static void print_event(const char *line, bool json)
{
	json_t *e, *ex;
	char exs[48];

	if (json || !(e = json_loads(line, 0, NULL))) {
		puts(line);
		return;
	}
	if (!strcmp(json_string_value(json_object_get(e, "event")) ?: "",
		    "state")) {
		json_t *pid = json_object_get(e, "pid");
		char pids[16] = "-";

		if (json_is_integer(pid))
			snprintf(pids, sizeof(pids), "%lld",
				 (long long)json_integer_value(pid));
		ex = json_object_get(e, "exit");
		fmt_exit(ex, exs, sizeof(exs));
		printf("%s %-20s %-9s -> %-9s pid=%s exit=%s restarts=%lld\n",
		       json_string_value(json_object_get(e, "time")),
		       json_string_value(json_object_get(e, "service")),
		       json_string_value(json_object_get(e, "from")),
		       json_string_value(json_object_get(e, "to")),
		       pids, exs,
		       (long long)json_integer_value(json_object_get(e,
							   "restarts")));
	} else {
		puts(line);
	}
	json_decref(e);
	fflush(stdout);
}

static int cmd_events(int argc, char **argv)
{
	struct client_args a = { 0 };
	struct sigaction sa = { .sa_handler = on_interrupt };
	struct rv_client *c;
	json_t *doc;
	char *line;
	int ret = parse_args(argc, argv, &a, false);

	if (ret)
		return ret;
	ret = call(&a, request("events", &a), &doc, &c);
	if (ret)
		return ret;
	json_decref(doc);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!interrupted) {
		ret = rv_client_next_line(c, &line, 500);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret)
			break;
		print_event(line, a.json);
		free(line);
	}
	rv_client_close(c);
	if (interrupted || ret == -EPIPE)
		return 0;	/* Ctrl-C, or the supervisor ended */
	fprintf(stderr, "ringvisor: events: %s\n", strerror(-ret));
	return 1;
}

int rv_cli_client(int argc, char **argv)
{
	const char *cmd = argv[0];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rv_cli_help(stdout);
			return 0;
		}
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "kill"))
		return cmd_kill(argc, argv);
	if (!strcmp(cmd, "events"))
		return cmd_events(argc, argv);
	if (!strcmp(cmd, "start") || !strcmp(cmd, "stop") ||
	    !strcmp(cmd, "restart"))
		return cmd_simple(argc, argv, cmd, true);
	return cmd_simple(argc, argv, cmd, false);	/* reload shutdown ... */
}

/* For `top` (cli_top.c): the socket the other client commands use. */
char *rv_cli_socket_path(const char *socket, const char *config)
{
	struct client_args a = { .socket = socket, .config = config };

	return socket_path(&a);
}
