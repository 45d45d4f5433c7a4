/* SPDX-License-Identifier: MIT */
/*
 * What `start|stop|restart NAME...` and `shutdown` print, and their
 * `--wait [--timeout DURATION]`.  The supervisor does the waiting (it
 * holds the reply until the jobs are done: src/control/waiters.c); the
 * client only asks, reads one reply and prints one line per service:
 *
 *   web@0: running (pid 812, ready in 0.21s)
 *   db: failed (ready_timeout, SIGKILL)
 *   stubborn: stopped (SIGKILL, in 2.00s)
 *
 * `restart --rolling NAME --wait` adds a line per roll, and an instance
 * the roll did not replace is shown as it is:
 *
 *   web@3: running (pid 907, not restarted)
 *   web: roll stopped at web@2 (ready_timeout)
 *
 * Exit status: 0 when every service reached the command's target state,
 * 1 when one failed, was refused or the timeout passed (its line says
 * `timeout`).  `shutdown --wait` exits with the supervisor's own status,
 * read from its last reply, once the control socket is closed (the last
 * act of the supervisor before it exits).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/parse.h"
#include "ringvisor.h"

/* How long a supervisor may take to close its socket after its final
 * reply (it flushes replies, writes the report, then closes). */
#define EOF_GRACE_MS 10000

int rv_cli_wait_options(struct json_t *req, const char *timeout,
			int *client_ms)
{
	int64_t ns;

	json_object_set_new(req, "wait", json_true());
	if (!timeout) {
		*client_ms = -1;	/* as long as it takes */
		return 0;
	}
	if (rv_parse_duration(timeout, &ns) || ns <= 0 ||
	    ns > 1000000000LL * 86400 * 365)
		return rv_cli_usage_error("--timeout: not a positive duration: "
					  "%s", timeout);
	json_object_set_new(req, "timeout_s", json_real((double)ns / 1e9));
	/* the supervisor answers at the deadline; the margin is its time
	 * to say so */
	*client_ms = (int)(ns / 1000000) + 5000;
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void print_result(json_t *r)
{
	const char *result = str(r, "result") ?: "?";
	const char *state = str(r, "state") ?: "?";
	const char *reason = str(r, "reason"), *ex = str(r, "exit");
	json_t *pid = json_object_get(r, "pid");
	json_t *ready = json_object_get(r, "ready_in_s");
	double in = json_number_value(json_object_get(r, "in_s"));

	printf("%s: ", str(r, "name"));
	if (!strcmp(result, "reached")) {
		printf("%s (", state);
		if (!strcmp(state, "running") && json_is_integer(pid))
			printf("pid %lld", (long long)json_integer_value(pid));
		else
			printf("%s%sin %.2fs", ex ? ex : "", ex ? ", " : "",
			       in);
		if (json_is_number(ready))
			printf(", ready in %.2fs", json_number_value(ready));
		puts(")");
	} else if (!strcmp(result, "left")) {
		/* its roll ended without replacing it: as it is */
		printf("%s (", state);
		if (json_is_integer(pid))
			printf("pid %lld, ", (long long)json_integer_value(pid));
		printf("%s)\n", reason && !strcmp(reason, "in_flight") ?
		       "restart in flight" : "not restarted");
	} else if (!strcmp(result, "timeout")) {
		printf("timeout (still %s after %.2fs)\n", state, in);
	} else {
		/* failed or refused: why, how it ended, where it is now */
		printf("%s (%s", result, reason ? reason : state);
		if (ex)
			printf(", %s", ex);
		if (strcmp(result, "refused") && strcmp(state, "failed"))
			printf(", now %s", state);
		puts(")");
	}
}

/* shutdown --wait: the final reply came; the socket's EOF follows. */
static int supervisor_exit(json_t *reply, struct rv_client *c)
{
	json_t *code = json_object_get(reply, "exit_code");
	char *line = NULL;
	int ret;

	if (json_is_true(json_object_get(reply, "timed_out"))) {
		puts("supervisor: timeout (still shutting down)");
		return 1;
	}
	/* nothing more is sent: only the close is awaited */
	while ((ret = rv_client_next_line(c, &line, EOF_GRACE_MS)) == 0)
		free(line);
	if (ret != -EPIPE && ret != -ECONNRESET)
		fprintf(stderr, "ringvisor: supervisor did not close its "
			"socket: %s\n", strerror(-ret));
	printf("supervisor: %s (exit %lld)\n",
	       json_integer_value(code) ? "failed" : "completed",
	       (long long)json_integer_value(code));
	return (int)json_integer_value(code);
}

/* restart --rolling --wait: one line per roll, after its instances'. */
static void print_roll(json_t *r)
{
	const char *state = str(r, "state") ?: "?", *at = str(r, "at");
	long long replaced = json_integer_value(json_object_get(r, "replaced"));
	long long n = json_integer_value(json_object_get(r, "instances"));

	printf("%s: ", str(r, "name"));
	if (!strcmp(state, "done"))
		printf("rolled (%lld of %lld replaced)\n", replaced, n);
	else if (!strcmp(state, "stopped"))
		printf("roll stopped%s%s (%s)\n", at ? " at " : "",
		       at ? at : "", str(r, "reason") ?: "?");
	else
		printf("timeout (rolling, %lld of %lld replaced)\n",
		       replaced, n);
}

int rv_cli_wait_report(const char *cmd, struct json_t *reply,
		       struct rv_client *c)
{
	json_t *r;
	size_t i;

	if (!strcmp(cmd, "shutdown"))
		return supervisor_exit(reply, c);
	json_array_foreach(json_object_get(reply, "results"), i, r)
		print_result(r);
	json_array_foreach(json_object_get(reply, "rolls"), i, r)
		print_roll(r);
	return json_is_true(json_object_get(reply, "all_reached")) ? 0 : 1;
}

void rv_cli_print_asked(const char *cmd, struct json_t *reply)
{
	const char *doing = !strcmp(cmd, "start") ? "starting" :
			    !strcmp(cmd, "stop") ? "stopping" :
			    !strcmp(cmd, "restart") ? "restarting" :
			    "shutting down";
	json_t *v;
	size_t i;

	if (!strcmp(cmd, "shutdown")) {
		puts("supervisor: shutting down");
		return;
	}
	json_array_foreach(json_object_get(reply, "services"), i, v)
		printf("%s: %s\n", json_string_value(v), doing);
	json_array_foreach(json_object_get(reply, "refused"), i, v)
		printf("%s: refused\n", json_string_value(v));
}
