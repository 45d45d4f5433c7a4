/* SPDX-License-Identifier: MIT */
/*
 * The `ringvisor` command: argument parsing only; the work is done by
 * libringvisor (include/ringvisor.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "ringvisor.h"

#define DEFAULT_CONFIG "/etc/ringvisor/ringvisor.conf"

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
	"  -c FILE   config (default $RINGVISOR_CONFIG, else " DEFAULT_CONFIG
	")\n"
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

static bool is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static bool is_version(const char *a)
{
	return !strcmp(a, "--version") || !strcmp(a, "-V");
}

static const char *default_config(void)
{
	const char *env = getenv("RINGVISOR_CONFIG");

	return env && *env ? env : DEFAULT_CONFIG;
}

/* check: `--handover-check run ...`, a hand-over's dry run (handover.c) */
static int run_or_check(int argc, char **argv, bool check)
{
	struct rv_options opts = { 0 };
	const char *config = default_config();
	const struct rv_cli_opt table[] = {
		RV_CLI_VALUE('c', "config", &config),
		RV_CLI_VALUE(0, "report", &opts.report_path),
		RV_CLI_VALUE(0, "backend", &opts.backend),
		RV_CLI_END
	};
	struct rv_supervisor *sv;
	int i, ret = rv_cli_parse(argc, argv, table, &i);

	if (ret >= 0)
		return ret;
	if (i < argc)
		return rv_cli_usage_error("run: unexpected argument %s",
					  argv[i]);
	if (check)
		return rv_handover_check(config, &opts, stderr);
	ret = rv_supervisor_load(&sv, config, &opts, stderr);
	if (ret)
		return RV_EXIT_USAGE;
	ret = rv_supervisor_run(sv);
	rv_supervisor_free(sv);
	return ret;
}

static int cmd_run(int argc, char **argv)
{
	return run_or_check(argc, argv, false);
}

static int cmd_check(int argc, char **argv)
{
	const char *config = NULL;
	bool strict = false;
	const struct rv_cli_opt table[] = {
		RV_CLI_VALUE('c', "config", &config),
		RV_CLI_FLAG(0, "strict", &strict),
		RV_CLI_END
	};
	int i, warnings = 0, n = rv_cli_parse(argc, argv, table, &i);

	if (n >= 0)
		return n;
	if (i < argc && !config)
		config = argv[i++];
	if (i < argc)
		return rv_cli_usage_error("check: unexpected argument %s",
					  argv[i]);
	if (!config)
		config = default_config();
	n = rv_config_check_warnings(config, stderr, &warnings);
	if (n < 0)
		return 1;
	if (n > 0) {
		fprintf(stderr, "%s: %d error%s\n", config, n,
			n == 1 ? "" : "s");
		return 1;
	}
	if (strict && warnings) {
		fprintf(stderr, "%s: %d warning%s (--strict)\n", config,
			warnings, warnings == 1 ? "" : "s");
		return 1;
	}
	if (warnings)
		printf("%s: ok, %d warning%s\n", config, warnings,
		       warnings == 1 ? "" : "s");
	else
		printf("%s: ok\n", config);
	return 0;
}

/* --restart-delay=1s -> "restart_delay=1s" */
static char *key_from_option(const char *opt, const char *value)
{
	char *kv;

	if (asprintf(&kv, "%s=%s", opt, value) < 0)
		return NULL;
	for (char *p = kv; *p && *p != '='; p++)
		if (*p == '-')
			*p = '_';
	return kv;
}

static int cmd_exec(int argc, char **argv)
{
	struct rv_options opts = { 0 };
	struct rv_supervisor *sv;
	const char **keys = calloc((size_t)argc + 1, sizeof(*keys));
	size_t n_keys = 0;
	int i, ret;

	if (!keys)
		return RV_EXIT_USAGE;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		char name[64];
		size_t len;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		/* exec's options are service keys, not a getopt table;
		 * only these two are shared with every other command */
		if (is_help(a)) {
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		}
		if (is_version(a)) {
			ret = rv_cli_version();
			goto out;
		}
		if (strncmp(a, "--", 2) || !a[2])
			break;	/* the command starts here */
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len >= sizeof(name)) {
			ret = rv_cli_usage_error("exec: option too long: %s", a);
			goto out;
		}
		memcpy(name, a + 2, len);
		name[len] = '\0';
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc && strcmp(argv[i + 1], "--")) {
			val = argv[++i];
		} else {
			ret = rv_cli_usage_error("exec: option --%s needs a value",
					  name);
			goto out;
		}
		if (!strcmp(name, "backend")) {
			opts.backend = val;
		} else if (!strcmp(name, "report")) {
			opts.report_path = val;
		} else if (!strcmp(name, "control-socket") ||
			   !strcmp(name, "control_socket")) {
			opts.control_socket = val;
		} else {
			char *kv = key_from_option(name, val);

			if (!kv) {
				ret = RV_EXIT_USAGE;
				goto out;
			}
			keys[n_keys++] = kv;
		}
	}
	if (i >= argc) {
		ret = rv_cli_usage_error("exec: no command given%s",
				  " (ringvisor exec [OPTIONS] -- CMD [ARG...])");
		goto out;
	}
	ret = rv_supervisor_new_exec(&sv, argv + i, keys, &opts, stderr);
	if (ret) {
		ret = RV_EXIT_USAGE;
		goto out;
	}
	ret = rv_supervisor_run(sv);
	rv_supervisor_free(sv);
out:
	for (size_t k = 0; k < n_keys; k++)
		free((char *)keys[k]);
	free(keys);
	return ret;
}

void rv_cli_help(FILE *f)
{
	fputs(usage_text, f);
}

/* The commands; each parses its own options (cli_opts.h). */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "exec", cmd_exec },
	{ "check", cmd_check },
	{ "status", rv_cli_status },
	{ "start", rv_cli_act },
	{ "stop", rv_cli_act },
	{ "restart", rv_cli_act },
	{ "kill", rv_cli_kill },
	{ "reload", rv_cli_plain },
	{ "shutdown", rv_cli_plain },
	{ "metrics", rv_cli_plain },
	{ "events", rv_cli_events },
	{ "top", rv_cli_top },
	{ "logs", rv_cli_logs },
	{ "reexec", rv_cli_reexec },
};

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return rv_cli_usage_error("%s", "missing command");
	cmd = argv[1];
	if (is_help(cmd) || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (is_version(cmd) || !strcmp(cmd, "version"))
		return rv_cli_version();
	/* asked by a running supervisor of its successor (`reexec`) */
	if (!strcmp(cmd, "--handover-formats")) {
		rv_handover_print_formats(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--handover-check") && argc > 2 &&
	    !strcmp(argv[2], "run"))
		return run_or_check(argc - 2, argv + 2, true);
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return rv_cli_usage_error("unknown command \"%s\"", cmd);
}
