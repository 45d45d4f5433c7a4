/* SPDX-License-Identifier: MIT */
/*
 * The commands of ringvisor-bench that are scripts:
 *   http    lost requests of gunicorn under wrk while its instances are
 *           killed, rolled and reloaded (bench/rvb_http.py -> rvb-http);
 *   reexec  the live hand-over to a new binary, timed and stressed
 *           (bench/rvb_reexec.py -> rvb-reexec).
 * Their work is driving other programs (gunicorn, wrk, runit's sv,
 * supervisorctl, the ringvisor CLI and its followers), so they are
 * scripts, installed in libexec/ringvisor; this entry point finds one and
 * the ringvisor binary the way the other commands find their helpers, and
 * hands over the arguments.
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

int cmd_script_exec(int argc, char **argv, const char *helper)
{
	char **args = xcalloc((size_t)argc + 4, sizeof(*args));
	char *script, *rv = NULL;
	int n = 0;

	g_opt.helpers = arg_value(argc, argv, "helpers");
	script = find_helper(helper);
	if (!script) {
		fprintf(stderr, "ringvisor-bench %s: %s not found next to "
			"ringvisor-bench nor in ../libexec/ringvisor (use "
			"--helpers DIR)\n", argv[1], helper);
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
	fprintf(stderr, "ringvisor-bench %s: exec %s: %s (it needs python3)\n",
		argv[1], script, strerror(errno));
	return 2;
}
