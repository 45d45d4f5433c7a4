/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench http: lost requests of gunicorn under wrk while its
 * instances are killed, rolled and reloaded (bench/rvb_http.py, installed
 * as libexec/ringvisor/rvb-http).  The measurement is wrk's and the work is
 * driving other programs (gunicorn, wrk, runit's sv, supervisorctl), so it
 * is a script; this entry point finds it and the ringvisor binary the way
 * the other commands find their helpers, and hands over the arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* The value of --NAME VALUE or --NAME=VALUE in argv, or NULL. */
static const char *arg_value(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) || strncmp(argv[i] + 2, name, n))
			continue;
		if (argv[i][n + 2] == '=')
			return argv[i] + n + 3;
		if (!argv[i][n + 2] && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

int cmd_http_exec(int argc, char **argv)
{
	char **args = xcalloc((size_t)argc + 4, sizeof(*args));
	char *script, *rv = NULL;
	int n = 0;

	g_opt.helpers = arg_value(argc, argv, "helpers");
	script = find_helper("rvb-http");
	if (!script) {
		fprintf(stderr, "ringvisor-bench http: rvb-http not found next "
			"to ringvisor-bench nor in ../libexec/ringvisor (use "
			"--helpers DIR)\n");
		return 2;
	}
	args[n++] = script;
	if (!arg_value(argc, argv, "ringvisor") && (rv = find_helper("ringvisor"))) {
		args[n++] = "--ringvisor";
		args[n++] = rv;
	}
	for (int i = 2; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(script, args);
	fprintf(stderr, "ringvisor-bench http: exec %s: %s (it needs python3)\n",
		script, strerror(errno));
	return 2;
}
