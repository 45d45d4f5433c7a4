/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor logs NAME... [-n N] [-f] [--json]`: the lines the services
 * wrote, kept by the supervisor (log_buffer), merged by time; -f then
 * follows new lines until interrupted, as `events` does.
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
#include "ringvisor.h"

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = 1;
}

/* "TIME NAME STREAM TEXT", stderr in red on a colour terminal */
static void print_line(json_t *l, bool json, bool colour)
{
	const char *stream = json_string_value(json_object_get(l, "stream"));
	bool err = stream && !strcmp(stream, "stderr");

	if (json) {
		json_dumpf(l, stdout, JSON_COMPACT);
		putchar('\n');
		return;
	}
	printf("%s %s %s%s%s %s\n",
	       json_string_value(json_object_get(l, "time")),
	       json_string_value(json_object_get(l, "service")),
	       colour && err ? "\033[31m" : "", stream ? stream : "?",
	       colour && err ? "\033[0m" : "",
	       json_string_value(json_object_get(l, "text")));
}

static bool colour_wanted(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDOUT_FILENO) == 1 && !(nc && *nc) && term &&
	       strcmp(term, "dumb");
}

/* The rest of the stream: one line object per line, until interrupted
 * or the supervisor ends (0), or it drops us as too slow (1). */
static int follow(struct rv_client *c, bool json, bool colour)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	char *text;
	int ret;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!interrupted) {
		json_t *l;

		ret = rv_client_next_line(c, &text, 500);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret)
			break;
		l = json_loads(text, 0, NULL);
		free(text);
		if (l && json_object_get(l, "event")) {
			fprintf(stderr, "ringvisor: logs: %s\n",
				json_string_value(json_object_get(l,
								  "reason")));
			json_decref(l);
			return 1;
		}
		if (l)
			print_line(l, json, colour);
		json_decref(l);
		fflush(stdout);	/* live: each line as it comes */
	}
	if (interrupted || ret == -EPIPE)
		return 0;	/* Ctrl-C, or the supervisor ended */
	fprintf(stderr, "ringvisor: logs: %s\n", strerror(-ret));
	return 1;
}

int rv_cli_logs(int argc, char **argv)
{
	const char *socket = NULL, *config = NULL, *n = NULL;
	bool fol = false, json = false, colour = colour_wanted();
	const struct rv_cli_opt opts[] = {
		RV_CLI_VALUE('s', "socket", &socket),
		RV_CLI_VALUE('c', "config", &config),
		RV_CLI_VALUE('n', "lines", &n),
		RV_CLI_FLAG('f', "follow", &fol),
		RV_CLI_FLAG(0, "json", &json),
		RV_CLI_END
	};
	long long lines = 0;
	struct rv_client *c = NULL;
	json_t *req, *names, *doc, *v;
	size_t i, missing;
	int first, ret = rv_cli_parse(argc, argv, opts, &first);
	char *end;

	if (ret >= 0)
		return ret;
	if (n) {
		errno = 0;
		lines = strtoll(n, &end, 10);
		if (errno || *end || !*n || lines < 0)
			return rv_cli_usage_error("logs: -n takes a number of "
						  "lines, not \"%s\"", n);
	}
	if (first >= argc)
		return rv_cli_usage_error("%s", "logs: name a service (NAME or NAME@N)");
	names = json_array();
	for (int k = first; k < argc; k++)
		json_array_append_new(names, json_string(argv[k]));
	req = json_pack("{s:s, s:o, s:I, s:b}", "cmd", "logs", "services",
			names, "lines", lines, "follow", fol);
	ret = rv_cli_request(socket, config, req, &doc, fol ? &c : NULL);
	if (ret)
		return ret;
	/* a named instance whose output is not kept: said, and exit 1 */
	missing = json_array_size(json_object_get(doc, "not_kept"));
	json_array_foreach(json_object_get(doc, "not_kept"), i, v)
		fprintf(stderr, "ringvisor: logs: the output of %s is not kept "
			"(log_buffer = 0, null or journal output, or "
			"event=output_not_kept in the supervisor's log)\n",
			json_string_value(v));
	json_array_foreach(json_object_get(doc, "lines"), i, v)
		print_line(v, json, colour);
	fflush(stdout);
	json_decref(doc);
	if (!fol)
		return missing ? 1 : 0;
	ret = follow(c, json, colour);
	rv_client_close(c);
	return ret;
}
