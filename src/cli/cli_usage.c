/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor --help` and the usage errors: shared by `ringvisor` and by
 * ringvisor-top (the `top` command's own executable, cli_top_main.c),
 * whose option parsing (cli_opts.c) prints them.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"
#include "ringvisor.h"

static const char usage_text[] =
	"usage: ringvisor COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  run [-c FILE] [--report FILE] [--backend=auto|io_uring|epoll]\n"
	"        supervise the services of FILE in the foreground\n"
	"  exec [OPTIONS] -- CMD [ARG...]\n"
	"        supervise one command (container init, tini-style); OPTIONS\n"
	"        are service keys as long options: --restart=always\n"
	"        --backoff=fibonacci --restart-delay=200ms --stop-timeout=5s\n"
	"        --max-restarts=5 ... and --backend=, --report=,\n"
	"        --control-socket=PATH\n"
	"  check [-c FILE | FILE] [--strict]\n"
	"        validate a config: every problem as FILE:LINE: error: ...;\n"
	"        what this machine lacks (users, programs, directories) as\n"
	"        FILE:LINE: warning: ... (--strict: warnings fail too)\n"
	"  status [NAME...] [--json] [--check]\n"
	"        state of the supervisor and its services; --check: exit 0\n"
	"        only if it is alive and every critical service is up\n"
	"  start|stop|restart NAME... [--wait [--timeout DURATION]]\n"
	"        act on services (NAME: an instance, a service, or a nested\n"
	"        supervisor's subtree); --wait: until each is running and\n"
	"        ready (stopped for stop), one line each, exit 1 if one failed\n"
	"        or timed out\n"
	"  restart --rolling NAME... [--wait [--timeout DURATION]]\n"
	"        replace instances a few at a time, each ready before the\n"
	"        next goes down (max_unavailable); --wait: until the roll\n"
	"        ended, exit 1 if it stopped\n"
	"  kill NAME SIGNAL              signal a service's process (group)\n"
	"  reload                        re-read the config, apply changes\n"
	"  reexec [--binary PATH] [--timeout DURATION]\n"
	"        hand the running tree to a new binary (default: the path\n"
	"        it was started from), every service kept running\n"
	"  shutdown [--wait [--timeout DURATION]]\n"
	"        stop everything, then exit; --wait: until the supervisor\n"
	"        has exited, with its exit status\n"
	"  metrics                       Prometheus text exposition\n"
	"  events [--json]               follow lifecycle events\n"
	"  logs NAME... [-n N] [-f] [--json]\n"
	"        recent output of services (NAME or NAME@N), -f: follow\n"
	"  top                           live view of the tree (keys: see\n"
	"        ringvisor(1)); a table when not on a terminal\n"
	"        client commands take -s PATH, --socket=PATH (control\n"
	"        socket) or -c FILE (the config naming it)\n"
	"\n"
	"  -c FILE   config (default $RINGVISOR_CONFIG, else "
	RV_CLI_DEFAULT_CONFIG ")\n"
	"  --help, --version\n"
	"\n"
	"exit status: 0 completed, 1 failed, 2 usage or config error;\n"
	"exec passes on the child's status (128+N for signal N).\n";

int rv_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ringvisor: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see ringvisor --help)\n");
	return RV_EXIT_USAGE;
}

void rv_cli_help(FILE *f)
{
	fputs(usage_text, f);
}
