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
	"  check [-c FILE | FILE]\n"
	"        validate a config: every problem as FILE:LINE: error: ...\n"
	"  status [NAME...] [--json] [--check]\n"
	"        state of the supervisor and its services; --check: exit 0\n"
	"        only if it is alive and every critical service is up\n"
	"  start|stop|restart NAME...    act on services\n"
	"  restart --rolling NAME...     replace instances a few at a time,\n"
	"        each ready before the next goes down (max_unavailable)\n"
	"  kill NAME SIGNAL              signal a service's process (group)\n"
	"  reload                        re-read the config, apply changes\n"
	"  shutdown                      stop everything, then exit\n"
	"  metrics                       Prometheus text exposition\n"
	"  events [--json]               follow lifecycle events\n"
	"  top                           live view of the tree (keys: see\n"
	"        ringvisor(1)); a table when not on a terminal\n"
	"        client commands take -s PATH (control socket) or -c FILE\n"
	"        (the config naming it)\n"
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

static const char *default_config(void)
{
	const char *env = getenv("RINGVISOR_CONFIG");

	return env && *env ? env : DEFAULT_CONFIG;
}

/*
 * "--name=value" or "--name value": returns the value and advances *i, or
 * NULL if argv[*i] is not option name.
 */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
			     const char *shortname, bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	*missing = false;
	/* argv[*i] with *i < argc is never NULL */
	// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
	if (!strncmp(a, name, n) && a[n] == '=')
		return a + n + 1;
	if (!strcmp(a, name) || (shortname && !strcmp(a, shortname))) {
		if (*i + 1 >= argc) {
			*missing = true;
			return NULL;
		}
		return argv[++*i];
	}
	return NULL;
}

static int cmd_run(int argc, char **argv)
{
	struct rv_options opts = { 0 };
	const char *config = default_config();
	struct rv_supervisor *sv;
	bool missing;
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (is_help(argv[i])) {
			fputs(usage_text, stdout);
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--config", "-c", &missing)))
			config = v;
		else if ((v = opt_value(argc, argv, &i, "--report", NULL,
					&missing)))
			opts.report_path = v;
		else if ((v = opt_value(argc, argv, &i, "--backend", NULL,
					&missing)))
			opts.backend = v;
		else if (missing)
			return rv_cli_usage_error("%s needs a value", argv[i]);
		else
			return rv_cli_usage_error("run: unknown option %s", argv[i]);
	}
	ret = rv_supervisor_load(&sv, config, &opts, stderr);
	if (ret)
		return RV_EXIT_USAGE;
	ret = rv_supervisor_run(sv);
	rv_supervisor_free(sv);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	const char *config = NULL;
	bool missing;
	int n;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (is_help(argv[i])) {
			fputs(usage_text, stdout);
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--config", "-c", &missing)))
			config = v;
		else if (missing)
			return rv_cli_usage_error("%s needs a value", argv[i]);
		/* argv[i] with i < argc is never NULL */
		// NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
		else if (argv[i][0] != '-' && !config)
			config = argv[i];
		else
			return rv_cli_usage_error("check: unexpected argument %s",
					   argv[i]);
	}
	if (!config)
		config = default_config();
	n = rv_config_check(config, stderr);
	if (n < 0)
		return 1;
	if (n > 0) {
		fprintf(stderr, "%s: %d error%s\n", config, n,
			n == 1 ? "" : "s");
		return 1;
	}
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
		if (is_help(a)) {
			fputs(usage_text, stdout);
			ret = 0;
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
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("ringvisor %s\n", RINGVISOR_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return rv_cli_top(argc - 1, argv + 1);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "start") ||
	    !strcmp(cmd, "stop") || !strcmp(cmd, "restart") ||
	    !strcmp(cmd, "kill") || !strcmp(cmd, "reload") ||
	    !strcmp(cmd, "shutdown") || !strcmp(cmd, "metrics") ||
	    !strcmp(cmd, "events"))
		return rv_cli_client(argc - 1, argv + 1);
	return rv_cli_usage_error("unknown command \"%s\"", cmd);
}
