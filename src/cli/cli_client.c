/* SPDX-License-Identifier: MIT */
/*
 * Client commands of the `ringvisor` CLI: status, start, stop, restart,
 * kill, reload, shutdown, metrics, events (logs: cli_logs.c).  They speak the control
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
#include "cli/cli_opts.h"
#include "config/config.h"
#include "config/parse.h"
#include "config/runtime_dir.h"
#include "ringvisor.h"

#define TIMEOUT_MS 30000

struct client_args {
	const char *socket;
	const char *config;
	bool json, check;
	bool wait;		/* --wait [--timeout DURATION] (cli_wait.c) */
	const char *timeout;
	int reply_ms;		/* 0: TIMEOUT_MS; -1: no limit */
	bool rolling;		/* restart --rolling */
	const char *names[256];
	size_t n_names;
};

/* The options of every client command: which supervisor to talk to. */
#define CLIENT_OPTS(a) \
	RV_CLI_VALUE('s', "socket", &(a)->socket), \
	RV_CLI_VALUE('c', "config", &(a)->config)

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

/*
 * -s PATH, else the config's control_socket, else the default (by uid:
 * config/runtime_dir.h).  A config named by -c or $RINGVISOR_CONFIG that
 * cannot be read is an error naming it: NULL, and *ret the exit status.
 */
static char *socket_path(const struct client_args *a, int *ret)
{
	const char *config = a->config ? a->config : getenv("RINGVISOR_CONFIG");
	struct rv_specs specs;
	struct rv_diag d = { .out = NULL };
	char *path = NULL, *raw;

	*ret = 1;	/* out of memory */
	if (a->socket)
		return strdup(a->socket);
	if (!config || !*config)
		return rv_default_control_socket();
	if (access(config, R_OK) < 0) {
		fprintf(stderr, "ringvisor: %s: cannot read the config: %s\n",
			config, strerror(errno));
		*ret = RV_EXIT_USAGE;
		return NULL;
	}
	if (rv_config_load_file(config, &specs, &d) == 0) {
		path = strdup(specs.control_socket);
		rv_specs_free(&specs);
		return path;
	}
	/* a config with errors (the usual reason to `reload` and read them)
	 * still names the socket */
	raw = scan_control_socket(config);
	if (!raw)
		return rv_default_control_socket();
	path = rv_path_from_config(config, raw);
	free(raw);
	return path;
}

/*
 * Parses argv by opts (CLIENT_OPTS and the command's own); the operands
 * are service names, which the command may refuse (names_ok false).
 */
static int parse_args(int argc, char **argv, const struct rv_cli_opt *opts,
		      struct client_args *a, bool names_ok)
{
	int i, ret = rv_cli_parse(argc, argv, opts, &i);

	if (ret >= 0)
		return ret;
	for (; i < argc; i++) {
		if (!names_ok)
			return rv_cli_usage_error("%s: unexpected argument %s",
						  argv[0], argv[i]);
		if (a->n_names >= sizeof(a->names) / sizeof(*a->names))
			return rv_cli_usage_error("%s: too many names",
						  argv[0]);
		a->names[a->n_names++] = argv[i];
	}
	return -1;
}

/* A supervisor handing over to a new binary (`reexec`): how long a
 * client retries its request, reconnecting 10 ms, 20 ms, ... apart. */
#define RETRY_FOR_MS	5000
#define RETRY_FIRST_MS	10

/*
 * One connection, one request: 0 with *c and *reply, or -errno (-EPIPE:
 * the connection ended before any reply), with *c NULL.
 */
static int send_once(const char *path, const char *text, int reply_ms,
		     struct rv_client **c, char **reply)
{
	int ret = rv_client_open(c, path);

	if (ret) {
		*c = NULL;
		return ret;
	}
	ret = rv_client_request(*c, text, reply, reply_ms);
	if (ret) {
		rv_client_close(*c);
		*c = NULL;
	}
	return ret;
}

/* {"ok": false, "retry": true, ...}: a supervisor handing over */
static bool says_retry(const char *reply)
{
	json_t *doc = json_loads(reply, 0, NULL);
	bool retry = json_is_true(json_object_get(doc, "retry"));

	json_decref(doc);
	return retry;
}

/*
 * Sends text, once more if the supervisor was re-executing (docs/
 * reexec.md): an EOF before any reply, or {"retry": true}.  Every request
 * is safe to send twice: jobs merge, queries are idempotent.
 */
static int send_retrying(const char *path, const char *text, int reply_ms,
			 struct rv_client **c, char **reply)
{
	int ret = send_once(path, text, reply_ms, c, reply);
	bool retry = ret == -EPIPE || ret == -ECONNRESET ||
		     (!ret && says_retry(*reply));

	for (int wait = RETRY_FIRST_MS, spent = 0;
	     retry && spent < RETRY_FOR_MS; spent += wait, wait *= 2) {
		if (!ret) {
			free(*reply);
			rv_client_close(*c);
		}
		usleep((useconds_t)wait * 1000);
		ret = send_once(path, text, reply_ms, c, reply);
		/* refused while the new image starts: again, a bit later */
		retry = ret == -ECONNREFUSED || ret == -ENOENT;
	}
	return ret;
}

/* Sends req; on success *doc is the reply object with "ok": true. */
static int call(const struct client_args *a, json_t *req, json_t **doc,
		struct rv_client **keep)
{
	struct rv_client *c = NULL;
	json_error_t jerr;
	int ret;
	char *path = socket_path(a, &ret), *text = NULL, *reply = NULL;

	if (!path) {
		json_decref(req);
		return ret;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	ret = text ? send_retrying(path, text, a->reply_ms ? a->reply_ms :
				   TIMEOUT_MS, &c, &reply) : -ENOMEM;
	free(text);
	if (ret && !c && ret != -EPIPE && ret != -ETIMEDOUT) {
		fprintf(stderr, "ringvisor: cannot connect to %s: %s%s\n",
			path, strerror(-ret),
			ret == -ENOENT || ret == -ECONNREFUSED ?
			" (is the supervisor running? -s PATH or -c FILE "
			"names its socket)" : "");
		free(path);
		return 1;
	}
	free(path);
	if (ret) {
		fprintf(stderr, "ringvisor: no reply from the supervisor: %s\n",
			strerror(-ret));
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

int rv_cli_request(const char *socket, const char *config, json_t *req,
		   json_t **doc, struct rv_client **keep)
{
	struct client_args a = { .socket = socket, .config = config };

	return call(&a, req, doc, keep);
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

int rv_cli_status(int argc, char **argv)
{
	struct client_args a = { 0 };
	const struct rv_cli_opt opts[] = {
		CLIENT_OPTS(&a),
		RV_CLI_FLAG(0, "json", &a.json),
		RV_CLI_FLAG(0, "check", &a.check),
		RV_CLI_END
	};
	json_t *doc, *st;
	int ret = parse_args(argc, argv, opts, &a, true);

	if (ret >= 0)
		return ret;
	ret = call(&a, request("status", &a), &doc, NULL);
	if (ret)
		return ret;
	st = json_object_get(doc, "status");
	if (a.check)
		ret = check(st, &a);
	else if (a.json)
		/* the numbers as the supervisor rounded them (91.451) */
		json_dumpf(st, stdout, JSON_INDENT(2) |
			   JSON_REAL_PRECISION(15)), putchar('\n');
	else
		rv_cli_print_table(st);
	json_decref(doc);
	return ret;
}

/* start stop restart shutdown: say what was asked, or --wait for it */
static int cmd_job(struct client_args *a, const char *cmd)
{
	json_t *req = request(cmd, a), *doc;
	struct rv_client *c = NULL;
	int ret;

	if (a->timeout && !a->wait) {
		json_decref(req);
		return rv_cli_usage_error("%s: --timeout goes with --wait",
					  cmd);
	}
	if (a->wait && (ret = rv_cli_wait_options(req, a->timeout,
						 &a->reply_ms))) {
		json_decref(req);
		return ret;
	}
	ret = call(a, req, &doc, a->wait ? &c : NULL);
	if (ret)
		return ret;
	if (a->wait)
		ret = rv_cli_wait_report(cmd, doc, c);
	else
		rv_cli_print_asked(cmd, doc);
	rv_client_close(c);
	json_decref(doc);
	return ret;
}

static int cmd_simple(int argc, char **argv, bool names)
{
	const char *cmd = argv[0];
	struct client_args a = { 0 };
	/* --wait and --timeout belong to start stop restart shutdown only */
	bool job = names || !strcmp(cmd, "shutdown");
	const struct rv_cli_opt opts[] = {
		CLIENT_OPTS(&a),
		RV_CLI_FLAG(0, "wait", &a.wait),
		RV_CLI_VALUE(0, "timeout", &a.timeout),
		RV_CLI_END
	}, restart_opts[] = {
		CLIENT_OPTS(&a),
		RV_CLI_FLAG(0, "wait", &a.wait),
		RV_CLI_VALUE(0, "timeout", &a.timeout),
		RV_CLI_FLAG(0, "rolling", &a.rolling),
		RV_CLI_END
	}, plain_opts[] = { CLIENT_OPTS(&a), RV_CLI_END };
	json_t *doc;
	int ret = parse_args(argc, argv,
			     !job ? plain_opts :
			     !strcmp(cmd, "restart") ? restart_opts : opts,
			     &a, names);

	if (ret >= 0)
		return ret;
	if (names && !a.n_names)
		return rv_cli_usage_error("%s: name at least one service", cmd);
	if (job)
		return cmd_job(&a, cmd);
	ret = call(&a, request(cmd, &a), &doc, NULL);
	if (ret)
		return ret;
	if (!strcmp(cmd, "metrics")) {
		fputs(json_string_value(json_object_get(doc, "metrics")),
		      stdout);
	} else if (!strcmp(cmd, "reload")) {
		rv_cli_print_reload(doc);
	}
	json_decref(doc);
	return 0;
}

int rv_cli_kill(int argc, char **argv)
{
	struct client_args a = { 0 };
	const struct rv_cli_opt opts[] = { CLIENT_OPTS(&a), RV_CLI_END };
	json_t *doc, *req;
	const char *sig;
	int ret = parse_args(argc, argv, opts, &a, true);

	if (ret >= 0)
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
		rv_cli_fmt_exit(ex, exs, sizeof(exs));
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

int rv_cli_events(int argc, char **argv)
{
	struct client_args a = { 0 };
	const struct rv_cli_opt opts[] = {
		CLIENT_OPTS(&a),
		RV_CLI_FLAG(0, "json", &a.json),
		RV_CLI_END
	};
	struct sigaction sa = { .sa_handler = on_interrupt };
	struct rv_client *c;
	json_t *doc;
	char *line;
	int ret = parse_args(argc, argv, opts, &a, false);

	if (ret >= 0)
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
		if (strstr(line, "\"event\":\"reexec\"")) {
			/* the supervisor hands over to a new binary: follow
			 * the new image (the socket never closed) */
			free(line);
			rv_client_close(c);
			ret = call(&a, request("events", &a), &doc, &c);
			if (ret)
				return ret;
			json_decref(doc);
			continue;
		}
		free(line);
	}
	rv_client_close(c);
	if (interrupted || ret == -EPIPE)
		return 0;	/* Ctrl-C, or the supervisor ended */
	fprintf(stderr, "ringvisor: events: %s\n", strerror(-ret));
	return 1;
}

/* start, stop, restart: one service name at least */
int rv_cli_act(int argc, char **argv)
{
	return cmd_simple(argc, argv, true);
}

/* reexec [--binary PATH] [--timeout DURATION] */
int rv_cli_reexec(int argc, char **argv)
{
	struct client_args a = { 0 };
	const char *binary = NULL;
	const struct rv_cli_opt opts[] = {
		CLIENT_OPTS(&a),
		RV_CLI_VALUE(0, "binary", &binary),
		RV_CLI_VALUE(0, "timeout", &a.timeout),
		RV_CLI_END
	};
	json_t *doc, *req;
	int64_t ns = 10000000000LL;
	int ret = parse_args(argc, argv, opts, &a, false);

	if (ret >= 0)
		return ret;
	if (a.timeout && (rv_parse_duration(a.timeout, &ns) || ns <= 0 ||
			  ns > 3600000000000LL))
		return rv_cli_usage_error("--timeout: not a positive duration "
					  "(at most 1h): %s", a.timeout);
	req = json_pack("{s:s, s:f}", "cmd", "reexec", "timeout_s",
			(double)ns / 1e9);
	if (binary)
		json_object_set_new(req, "binary", json_string(binary));
	/* the probe and the dry run may take the timeout each */
	a.reply_ms = (int)(2 * ns / 1000000) + 5000;
	ret = call(&a, req, &doc, NULL);
	if (ret)
		return ret;
	printf("reexec: %s -> %s in %.1f ms\n",
	       json_string_value(json_object_get(doc, "from")) ?: "?",
	       json_string_value(json_object_get(doc, "to")) ?: "?",
	       json_number_value(json_object_get(doc, "ms")));
	json_decref(doc);
	return 0;
}

/* reload, shutdown, metrics: no operands */
int rv_cli_plain(int argc, char **argv)
{
	return cmd_simple(argc, argv, false);
}

/* For `top` (cli_top.c): the socket the other client commands use. */
char *rv_cli_socket_path(const char *socket, const char *config, int *ret)
{
	struct client_args a = { .socket = socket, .config = config };

	return socket_path(&a, ret);
}
