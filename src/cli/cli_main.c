/* SPDX-License-Identifier: MIT */
/*
 * The `ringvisor` command: argument parsing only; the work is done by
 * libringvisor (include/ringvisor.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "ringvisor.h"

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

	return env && *env ? env : RV_CLI_DEFAULT_CONFIG;
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
			rv_cli_help(stdout);
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
	{ "top", rv_cli_top_exec },
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
		rv_cli_help(stdout);
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
