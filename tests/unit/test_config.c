// SPDX-License-Identifier: MIT
/*
 * Config loading: exact values in the specs for a file that uses every key,
 * the defaults, and the exact "FILE:LINE: error: ..." text of each error
 * (captured with open_memstream).  The last cases fail every allocation in
 * turn and check that each failure comes back as -ENOMEM, freed.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ini.h>

#include "config/config.h"
#include "config/parse.h"
#include "config/spec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SEC(n) ((int64_t)(n) * 1000000000)
#define MS(n) ((int64_t)(n) * 1000000)

struct result {
	struct rv_specs specs;
	int ret;
	int errors, warnings;
	char *out;		/* everything written to diag->out */
};

static void load(const char *text, struct result *r)
{
	size_t len = 0;
	FILE *f = open_memstream(&r->out, &len);
	struct rv_diag d = { .out = f };

	assert_non_null(f);
	r->ret = rv_config_load_string(text, "t.conf", &r->specs, &d);
	fclose(f);
	r->errors = d.errors;
	r->warnings = d.warnings;
}

static void result_free(struct result *r)
{
	rv_specs_free(&r->specs);
	free(r->out);
}

static void argv_equal(char **argv, const char *const *want)
{
	size_t i;

	assert_non_null(argv);
	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct rv_service_spec *find_service(const struct rv_specs *s,
						  const char *name)
{
	size_t i;

	for (i = 0; i < s->n_services; i++)
		if (!strcmp(s->services[i].name, name))
			return &s->services[i];
	fail_msg("no service %s", name);
	return NULL;
}

static const char full_config[] =
	"# every key, with values that differ from the defaults\n"
	"[supervisor]\n"
	"strategy = one_for_all\n"
	"max_restarts = 7\n"
	"restart_window = 2m\n"
	"shutdown_timeout = 45s\n"
	"control_socket = /tmp/rv.sock\n"
	"control_group = adm\n"
	"backend = epoll\n"
	"\n"
	"[supervisor:api]\n"				/* 11 */
	"strategy = rest_for_one\n"
	"max_restarts = 3\n"
	"restart_window = 30s\n"
	"critical = true\n"
	"after = db\n"					/* 16 */
	"\n"
	"[supervisor:edge]\n"				/* 18 */
	"supervisor = api\n"
	"max_restarts = infinity\n"
	"\n"
	"[service:db]\n"				/* 22 */
	"command = /usr/bin/db --data \"/var/lib/db\"\n"
	"type = notify\n"
	"watchdog = 30s\n"
	"\n"
	"[service:web]\n"				/* 27 */
	"supervisor = api\n"
	"command = /usr/bin/web --port 808%i \"arg with spaces\"   ; split\n"
	"type = simple\n"
	"instances = 4\n"
	"restart = always\n"
	"success_exit_status = 0 3 SIGUSR1 255 TERM\n"
	"backoff = fibonacci\n"
	"restart_delay = 250ms\n"			/* 35 */
	"restart_delay_max = 1m\n"
	"backoff_jitter = 0\n"
	"backoff_reset_after = 0\n"
	"max_restarts = unlimited\n"
	"restart_window = 1h\n"
	"critical = yes\n"
	"after = db cache\n"				/* 42 */
	"stop_signal = SIGINT\n"
	"stop_timeout = 1.5s\n"
	"kill_mode = process\n"
	"ready_fd = 3\n"
	"ready_timeout = 5s\n"
	"health_check = /usr/local/bin/web-health --quick\n"
	"health_interval = 500ms\n"
	"health_retries = 5\n"
	"user = www-data\n"
	"group = 33\n"
	"capabilities = cap_net_bind_service, CAP_CHOWN\n"
	"no_new_privileges = true\n"
	"working_directory = /srv/web\n"
	"environment = A=1 B=\"two words\" PORT=808%i\n"
	"environment_file = /etc/default/web\n"
	"umask = 0022\n"
	"limit_nofile = 65536\n"
	"limit_core = 0:infinity\n"
	"cpu_affinity = 0-3,5 7\n"
	"nice = -5\n"
	"memory_max = 512M\n"
	"pids_max = 256\n"
	"stdout = file:/var/log/web.log\n"
	"stderr = stdout\n"
	"\n"
	"[service:cache]\n"				/* 68 */
	"command = memcached -p 11211\n"
	"type = oneshot\n"
	"ready_timeout = 10s\n"
	"backoff = linear\n"
	"stdout = null\n"
	"stderr = prefix\n"
	"memory_max = max\n"
	"pids_max = max\n"
	"capabilities = none\n"
	"ready_check = /bin/true\n"
	"backoff_multiplier = 3.5\n"
	"type = notify\n";

/* the last three lines of full_config are wrong on purpose: cut them */
static char *full_config_ok(void)
{
	char *text = strdup(full_config);
	char *cut;

	assert_non_null(text);
	cut = strstr(text, "ready_check = /bin/true\n");
	assert_non_null(cut);
	*cut = '\0';
	return text;
}

static void test_full_config(void **state)
{
	const struct rv_service_spec *db, *web, *cache;
	const struct rv_group_spec *api, *edge;
	char *text = full_config_ok();
	struct result r = { 0 };

	(void)state;
	load(text, &r);
	free(text);
	assert_string_equal(r.out ? r.out : "", "");
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.warnings, 0);

	assert_int_equal(r.specs.top.strategy, RV_ONE_FOR_ALL);
	assert_int_equal(r.specs.top.intensity.max_restarts, 7);
	assert_int_equal(r.specs.top.intensity.window_ns, SEC(120));
	assert_int_equal(r.specs.top.line, 2);
	assert_string_equal(r.specs.top.file, "t.conf");
	assert_null(r.specs.top.name);
	assert_int_equal(r.specs.shutdown_timeout_ns, SEC(45));
	assert_string_equal(r.specs.control_socket, "/tmp/rv.sock");
	assert_string_equal(r.specs.control_group, "adm");
	assert_int_equal(r.specs.backend, RV_BACKEND_EPOLL);

	assert_int_equal(r.specs.n_groups, 2);
	api = &r.specs.groups[0];
	assert_string_equal(api->name, "api");
	assert_string_equal(api->file, "t.conf");
	assert_int_equal(api->line, 11);
	assert_null(api->supervisor);
	assert_int_equal(api->strategy, RV_REST_FOR_ONE);
	assert_int_equal(api->intensity.max_restarts, 3);
	assert_int_equal(api->intensity.window_ns, SEC(30));
	assert_true(api->critical);
	assert_int_equal(api->n_after, 1);
	argv_equal(api->after, ARGV("db"));
	assert_int_equal(api->lines.after, 16);
	edge = &r.specs.groups[1];
	assert_string_equal(edge->name, "edge");
	assert_string_equal(edge->supervisor, "api");
	assert_int_equal(edge->lines.supervisor, 19);
	assert_int_equal(edge->strategy, RV_ONE_FOR_ONE);
	assert_int_equal(edge->intensity.max_restarts, RV_RESTARTS_INFINITY);
	assert_int_equal(edge->intensity.window_ns, SEC(60));
	assert_false(edge->critical);
	assert_null(edge->after);
	assert_int_equal(edge->n_after, 0);

	assert_int_equal(r.specs.n_services, 3);
	db = find_service(&r.specs, "db");
	assert_int_equal(db->line, 22);
	argv_equal(db->argv, ARGV("/usr/bin/db", "--data", "/var/lib/db"));
	assert_int_equal(db->argc, 3);
	assert_int_equal(db->command_line, 23);
	assert_int_equal(db->type, RV_TYPE_NOTIFY);
	assert_int_equal(db->ready->watchdog_ns, SEC(30));

	web = find_service(&r.specs, "web");
	assert_ptr_equal(web, &r.specs.services[1]);
	assert_string_equal(web->file, "t.conf");
	assert_int_equal(web->line, 27);
	assert_string_equal(web->supervisor, "api");
	argv_equal(web->argv, ARGV("/usr/bin/web", "--port", "808%i",
				   "arg with spaces"));
	assert_int_equal(web->argc, 4);
	assert_int_equal(web->command_line, 29);
	assert_int_equal(web->type, RV_TYPE_SIMPLE);
	assert_int_equal(web->instances, 4);
	assert_int_equal(web->restart, RV_RESTART_ALWAYS);
	assert_true(web->success.codes[0] == ((1ULL << 0) | (1ULL << 3)));
	assert_true(web->success.codes[1] == 0 && web->success.codes[2] == 0);
	assert_true(web->success.codes[3] == 1ULL << 63);
	assert_true(web->success.signals ==
		    ((1ULL << SIGUSR1) | (1ULL << SIGTERM)));
	assert_true(rv_success_has_code(&web->success, 255));
	assert_false(rv_success_has_code(&web->success, 1));
	assert_false(rv_success_has_code(&web->success, 256));
	assert_true(rv_success_has_signal(&web->success, SIGTERM));
	assert_false(rv_success_has_signal(&web->success, SIGKILL));
	assert_int_equal(web->backoff.kind, RV_BACKOFF_FIBONACCI);
	assert_int_equal(web->backoff.delay_ns, MS(250));
	assert_int_equal(web->backoff.delay_max_ns, SEC(60));
	assert_true(web->backoff.multiplier == 2.0);
	assert_true(web->backoff.jitter == 0.0);
	assert_int_equal(web->backoff.reset_after_ns, 0);
	assert_int_equal(web->intensity.max_restarts, RV_RESTARTS_INFINITY);
	assert_int_equal(web->intensity.window_ns, SEC(3600));
	assert_true(web->critical);
	argv_equal(web->after, ARGV("db", "cache"));
	assert_int_equal(web->n_after, 2);
	assert_int_equal(web->stop_signal, SIGINT);
	assert_int_equal(web->stop_timeout_ns, MS(1500));
	assert_int_equal(web->kill_mode, RV_KILL_PROCESS);
	assert_int_equal(web->ready->ready_fd, 3);
	assert_null(web->ready->ready_check);
	assert_int_equal(web->ready->ready_timeout_ns, SEC(5));
	argv_equal(web->ready->health_check, ARGV("/usr/local/bin/web-health",
					   "--quick"));
	assert_int_equal(web->ready->health_interval_ns, MS(500));
	assert_int_equal(web->ready->health_retries, 5);
	assert_int_equal(web->ready->watchdog_ns, 0);
	assert_string_equal(web->iso->user, "www-data");
	assert_string_equal(web->iso->group, "33");
	assert_string_equal(web->iso->capabilities,
			    "cap_net_bind_service, CAP_CHOWN");
	assert_true(web->iso->cap_mask == ((1ULL << 10) | (1ULL << 0)));
	assert_true(web->iso->no_new_privileges);
	assert_string_equal(web->iso->working_directory, "/srv/web");
	argv_equal(web->environment, ARGV("A=1", "B=two words", "PORT=808%i"));
	assert_int_equal(web->n_environment, 3);
	assert_string_equal(web->iso->environment_file, "/etc/default/web");
	assert_int_equal(web->iso->umask, 022);
	argv_equal(web->iso->limits, ARGV("nofile=65536:65536",
				     "core=0:infinity"));
	assert_int_equal(web->iso->n_limits, 2);
	assert_string_equal(web->iso->cpu_affinity, "0-3,5 7");
	assert_int_equal(web->iso->nice, -5);
	assert_true(web->iso->nice_set);
	assert_string_equal(web->iso->memory_max, "536870912");
	assert_string_equal(web->iso->pids_max, "256");
	assert_string_equal(web->iso->stdout_mode, "file:/var/log/web.log");
	assert_int_equal(web->iso->stdout_kind, RV_OUTPUT_FILE);
	assert_string_equal(web->iso->stdout_path, "/var/log/web.log");
	assert_string_equal(web->iso->stderr_mode, "stdout");
	assert_int_equal(web->iso->stderr_kind, RV_OUTPUT_STDOUT);
	assert_null(web->iso->stderr_path);
	assert_int_equal(web->lines.supervisor, 28);
	assert_int_equal(web->lines.restart_delay, 35);
	assert_int_equal(web->lines.after, 42);

	cache = find_service(&r.specs, "cache");
	assert_int_equal(cache->line, 68);
	argv_equal(cache->argv, ARGV("memcached", "-p", "11211"));
	assert_int_equal(cache->type, RV_TYPE_ONESHOT);
	assert_int_equal(cache->ready->ready_timeout_ns, SEC(10));
	assert_int_equal(cache->backoff.kind, RV_BACKOFF_LINEAR);
	assert_int_equal(cache->iso->stdout_kind, RV_OUTPUT_NULL);
	assert_int_equal(cache->iso->stderr_kind, RV_OUTPUT_PREFIX);
	assert_string_equal(cache->iso->memory_max, "max");
	assert_string_equal(cache->iso->pids_max, "max");
	assert_string_equal(cache->iso->capabilities, "none");
	assert_true(cache->iso->cap_mask == 0);
	result_free(&r);
}

/* The tail of full_config: three problems at exact lines. */
static void test_full_config_tail(void **state)
{
	struct result r = { 0 };

	(void)state;
	load(full_config, &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.out,
		"t.conf:80: error: type: duplicate key (first set at line "
		"70)\n"
		"t.conf:78: error: ready_check: a oneshot service is ready "
		"when it exits\n"
		"t.conf:79: warning: backoff_multiplier: has no effect unless "
		"backoff = exponential\n");
	assert_int_equal(r.errors, 2);
	assert_int_equal(r.warnings, 1);
	/* freed and zeroed on error */
	assert_null(r.specs.services);
	assert_int_equal(r.specs.n_services, 0);
	assert_null(r.specs.control_socket);
	result_free(&r);
}

static void test_defaults(void **state)
{
	const struct rv_service_spec *s;
	struct result r = { 0 };

	(void)state;
	load("[service:x]\ncommand = x\n", &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.specs.top.strategy, RV_ONE_FOR_ONE);
	assert_int_equal(r.specs.top.intensity.max_restarts, 10);
	assert_int_equal(r.specs.top.intensity.window_ns, SEC(60));
	assert_int_equal(r.specs.top.line, 0);
	assert_int_equal(r.specs.shutdown_timeout_ns, SEC(30));
	assert_string_equal(r.specs.control_socket,
			    "/run/ringvisor/control.sock");
	assert_null(r.specs.control_group);
	assert_int_equal(r.specs.backend, RV_BACKEND_AUTO);
	assert_int_equal(r.specs.n_groups, 0);
	assert_int_equal(r.specs.n_services, 1);

	s = &r.specs.services[0];
	assert_string_equal(s->name, "x");
	assert_null(s->supervisor);
	argv_equal(s->argv, ARGV("x"));
	assert_int_equal(s->type, RV_TYPE_SIMPLE);
	assert_int_equal(s->instances, 1);
	assert_int_equal(s->restart, RV_RESTART_ON_FAILURE);
	assert_true(s->success.codes[0] == 0 && s->success.signals == 0);
	assert_int_equal(s->backoff.kind, RV_BACKOFF_EXPONENTIAL);
	assert_int_equal(s->backoff.delay_ns, MS(100));
	assert_int_equal(s->backoff.delay_max_ns, SEC(30));
	assert_true(s->backoff.multiplier == 2.0);
	assert_true(s->backoff.jitter == 0.1);
	assert_int_equal(s->backoff.reset_after_ns, SEC(10));
	assert_int_equal(s->intensity.max_restarts, 5);
	assert_int_equal(s->intensity.window_ns, SEC(60));
	assert_false(s->critical);
	assert_null(s->after);
	assert_int_equal(s->n_after, 0);
	assert_int_equal(s->stop_signal, SIGTERM);
	assert_int_equal(s->stop_timeout_ns, SEC(10));
	assert_int_equal(s->kill_mode, RV_KILL_GROUP);
	assert_int_equal(s->restart_mode, RV_RESTART_MODE_RESTART);
	assert_int_equal(s->max_unavailable, 1);
	assert_int_equal(s->ready->ready_fd, -1);
	assert_null(s->ready->ready_check);
	assert_int_equal(s->ready->ready_timeout_ns, 0);
	assert_null(s->ready->health_check);
	assert_int_equal(s->ready->health_interval_ns, SEC(10));
	assert_int_equal(s->ready->health_retries, 3);
	assert_int_equal(s->ready->watchdog_ns, 0);
	assert_null(s->iso->user);
	assert_null(s->iso->group);
	assert_null(s->iso->capabilities);
	assert_false(s->iso->no_new_privileges);
	assert_null(s->iso->working_directory);
	assert_null(s->environment);
	assert_int_equal(s->n_environment, 0);
	assert_null(s->iso->environment_file);
	assert_int_equal(s->iso->umask, -1);
	assert_null(s->iso->cpu_affinity);
	assert_false(s->iso->nice_set);
	assert_null(s->iso->memory_max);
	assert_null(s->iso->pids_max);
	assert_null(s->iso->stdout_mode);
	assert_null(s->iso->stderr_mode);
	assert_int_equal(s->iso->stdout_kind, RV_OUTPUT_INHERIT);
	assert_int_equal(s->iso->stderr_kind, RV_OUTPUT_INHERIT);
	assert_null(s->iso->limits);
	assert_int_equal(s->iso->n_limits, 0);
	result_free(&r);
}

/* The inih build is part of the contract's comment rule: pin it. */
static int pin_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	char *out = user;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "[%s]%s=<%s>\n", section, name, value);
	return 1;
}

static void test_inih_behaviour(void **state)
{
	char out[256] = "";

	(void)state;
	assert_int_equal(ini_parse_string("[s]\n"
					  "a = nginx -g \"daemon off;\" ; c\n"
					  "b=x;y\n"
					  "c = v\t;tab\n"
					  "d = ; all comment\n",
					  pin_handler, out), 0);
	assert_string_equal(out, "[s]a=<nginx -g \"daemon off;\">\n"
				 "[s]b=<x;y>\n"
				 "[s]c=<v>\n"
				 "[s]d=<>\n");
}

static void test_comments(void **state)
{
	const struct rv_service_spec *s;
	struct result r = { 0 };

	(void)state;
	load("# comment\n"
	     "; comment\n"
	     "   # indented comment\n"
	     "[service:web]   ; a comment after a header\n"
	     "command = nginx -g \"daemon off;\" ; a comment\n"
	     "environment = A=x;y B=1\t;after a tab\n"
	     "[service:echo] # also a comment\n"
	     "command = echo a;b #not-a-comment \"x;y\"\n", &r);
	assert_string_equal(r.out ? r.out : "", "");
	assert_int_equal(r.ret, 0);
	s = find_service(&r.specs, "web");
	argv_equal(s->argv, ARGV("nginx", "-g", "daemon off;"));
	argv_equal(s->environment, ARGV("A=x;y", "B=1"));
	s = find_service(&r.specs, "echo");
	argv_equal(s->argv, ARGV("echo", "a;b", "#not-a-comment", "x;y"));
	result_free(&r);
}

static void test_indent_crlf_bom(void **state)
{
	const struct rv_service_spec *s;
	struct result r = { 0 };

	(void)state;
	/* inih's multi-line continuation must not glue these together */
	load("\xEF\xBB\xBF[service:web]\r\n"
	     "    command = /bin/web\r\n"
	     "    restart = always\r\n"
	     "\tstop_signal = SIGINT\r\n", &r);
	assert_string_equal(r.out ? r.out : "", "");
	assert_int_equal(r.ret, 0);
	s = &r.specs.services[0];
	argv_equal(s->argv, ARGV("/bin/web"));
	assert_int_equal(s->restart, RV_RESTART_ALWAYS);
	assert_int_equal(s->stop_signal, SIGINT);
	result_free(&r);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_long_lines(void **state)
{
	char *x4k = repeat('x', 4096), *big = repeat('y', 100000);
	char *name = repeat('n', 100), *longkey = repeat('k', 300), *text;
	const struct rv_service_spec *s;
	struct result r = { 0 };

	(void)state;
	assert_true(asprintf(&text,
			     "[service:%s]\n"
			     "command = /bin/echo %s \"a;b\" ; comment\n"
			     "environment = BIG=%s\n"
			     "restart = always\n"
			     "stop_signal = SIGBOGUS\n",
			     name, x4k, big) > 0);
	load(text, &r);
	free(text);
	/* the lines after the long ones keep their numbers */
	assert_string_equal(r.out, "t.conf:5: error: stop_signal: invalid "
			    "signal \"SIGBOGUS\" (use a name such as "
			    "SIGTERM)\n");
	result_free(&r);

	memset(&r, 0, sizeof(r));
	assert_true(asprintf(&text,
			     "[service:%s]\n"
			     "command = /bin/echo %s \"a;b\" ; comment\n"
			     "environment = BIG=%s\n"
			     "restart = always\n",
			     name, x4k, big) > 0);
	load(text, &r);
	free(text);
	assert_string_equal(r.out ? r.out : "", "");
	assert_int_equal(r.ret, 0);
	s = &r.specs.services[0];
	assert_string_equal(s->name, name);
	assert_int_equal(s->argc, 3);
	assert_string_equal(s->argv[0], "/bin/echo");
	assert_string_equal(s->argv[1], x4k);
	assert_string_equal(s->argv[2], "a;b");
	assert_int_equal(strlen(s->environment[0]), 4 + 100000);
	assert_int_equal(s->restart, RV_RESTART_ALWAYS);
	result_free(&r);

	/* a long line with an error: the value in the message is cut */
	memset(&r, 0, sizeof(r));
	assert_true(asprintf(&text, "[service:w]\ncommand = x\n"
			     "user = %s!\n%s = 1\n%s\n", x4k, longkey,
			     longkey) > 0);
	load(text, &r);
	free(text);
	free(name);
	name = repeat('x', 57);
	assert_true(asprintf(&text,
		"t.conf:3: error: user: invalid user name \"%s...\"\n"
		"t.conf:4: error: key name too long\n"
		"t.conf:5: error: syntax error: expected \"key = value\", "
		"\"[section]\" or a comment\n", name) > 0);
	assert_string_equal(r.out, text);
	free(text);
	result_free(&r);
	free(x4k);
	free(big);
	free(name);
	free(longkey);
}

/* Each snippet and the exact output it gives. */
static const struct {
	const char *text;
	const char *out;
} error_cases[] = {
#define S "[service:w]\ncommand = x\n"	/* the key under test is line 3 */
	{ S "restart_delay = 10x\n",
	  "t.conf:3: error: restart_delay: invalid duration \"10x\" (use a "
	  "number with ns, us, ms, s, m or h)\n" },
	{ S "restart_delay = -1s\n",
	  "t.conf:3: error: restart_delay: invalid duration \"-1s\" (must not "
	  "be negative)\n" },
	{ S "restart_delay = 1 s\n",
	  "t.conf:3: error: restart_delay: invalid duration \"1 s\" (use a "
	  "number with ns, us, ms, s, m or h)\n" },
	{ S "stop_timeout = 0\n",
	  "t.conf:3: error: stop_timeout: must be greater than 0\n" },
	{ S "restart_window = 1000000h\n",
	  "t.conf:3: error: restart_window: duration \"1000000h\" is too long "
	  "(max 876600h)\n" },
	{ S "watchdog = 9223372037s\n",
	  "t.conf:3: error: watchdog: duration \"9223372037s\" is too long "
	  "(max 876600h)\n" },
	{ S "type = forking\n",
	  "t.conf:3: error: type: invalid value \"forking\" (use simple, "
	  "notify or oneshot)\n" },
	{ S "instances = 0\n",
	  "t.conf:3: error: instances: 0 is out of range (1..10000)\n" },
	{ S "instances = 10001\n",
	  "t.conf:3: error: instances: 10001 is out of range (1..10000)\n" },
	{ S "instances = many\n",
	  "t.conf:3: error: instances: invalid number \"many\"\n" },
	{ S "restart = sometimes\n",
	  "t.conf:3: error: restart: invalid value \"sometimes\" (use always, "
	  "on-failure, on-abnormal or never)\n" },
	{ S "success_exit_status = 0 256 SIGFOO SIGRTMAX -1 HUP\n",
	  "t.conf:3: error: success_exit_status: 256 is out of range (exit "
	  "codes are 0..255)\n"
	  "t.conf:3: error: success_exit_status: \"SIGFOO\" is neither an exit "
	  "code (0..255) nor a signal name\n"
	  "t.conf:3: error: success_exit_status: SIGRTMAX cannot be listed "
	  "(signals up to 63 only)\n"
	  "t.conf:3: error: success_exit_status: -1 is out of range (exit "
	  "codes are 0..255)\n" },
	{ S "backoff = random\n",
	  "t.conf:3: error: backoff: invalid value \"random\" (use fixed, "
	  "linear, exponential or fibonacci)\n" },
	{ S "backoff_multiplier = 0.5\n",
	  "t.conf:3: error: backoff_multiplier: 0.5 is out of range "
	  "(1..1000)\n" },
	{ S "backoff_multiplier = nan\n",
	  "t.conf:3: error: backoff_multiplier: invalid number \"nan\"\n" },
	{ S "backoff_jitter = 1.5\n",
	  "t.conf:3: error: backoff_jitter: 1.5 is out of range (0..1)\n" },
	{ S "max_restarts = 100001\n",
	  "t.conf:3: error: max_restarts: 100001 is too large (max 100000; "
	  "use infinity for no limit)\n" },
	{ S "max_restarts = -1\n",
	  "t.conf:3: error: max_restarts: -1 is out of range (0..100000, or "
	  "infinity)\n" },
	{ S "max_restarts = many\n",
	  "t.conf:3: error: max_restarts: invalid number \"many\" (use a "
	  "count or infinity)\n" },
	{ S "critical = maybe\n",
	  "t.conf:3: error: critical: invalid boolean \"maybe\" (use true or "
	  "false)\n" },
	{ S "after = db,cache\n",
	  "t.conf:3: error: after: invalid name \"db,cache\" (names are "
	  "separated by spaces)\n" },
	{ S "stop_signal = SIGFOO\n",
	  "t.conf:3: error: stop_signal: invalid signal \"SIGFOO\" (use a name "
	  "such as SIGTERM)\n" },
	{ S "stop_signal = 99\n",
	  "t.conf:3: error: stop_signal: signal 99 is out of range (1..64)\n" },
	{ S "kill_mode = all\n",
	  "t.conf:3: error: kill_mode: invalid value \"all\" (use group, "
	  "process or cgroup)\n" },
	{ S "ready_fd = 2\n",
	  "t.conf:3: error: ready_fd: 2 is out of range (3..1048575)\n" },
	{ S "ready_check = \"unterminated\n",
	  "t.conf:3: error: ready_check: unterminated double quote in "
	  "\"\"unterminated\"\n" },
	{ S "health_interval = 0\n",
	  "t.conf:3: error: health_interval: must be greater than 0\n" },
	{ S "health_retries = 0\n",
	  "t.conf:3: error: health_retries: 0 is out of range (1..100000)\n" },
	{ S "user = bad user\n",
	  "t.conf:3: error: user: invalid user name \"bad user\"\n" },
	{ S "user = 4294967295\n",
	  "t.conf:3: error: user: invalid user id \"4294967295\"\n" },
	{ S "user =\n",
	  "t.conf:3: error: user: empty value\n" },
	{ S "user = www;data\n",
	  "t.conf:3: error: user: invalid user name \"www;data\"\n" },
	{ S "group = -x\n",
	  "t.conf:3: error: group: invalid group name \"-x\"\n" },
	{ S "capabilities = cap_bogus 7\n",
	  "t.conf:3: error: capabilities: unknown capability \"cap_bogus\" "
	  "(e.g. cap_net_bind_service)\n"
	  "t.conf:3: error: capabilities: unknown capability \"7\" (e.g. "
	  "cap_net_bind_service)\n" },
	{ S "capabilities = none cap_chown\n",
	  "t.conf:3: error: capabilities: none cannot be combined with "
	  "capabilities\n" },
	{ S "working_directory = srv\n",
	  "t.conf:3: error: working_directory: \"srv\" is not an absolute "
	  "path\n" },
	{ S "environment = A=1 B 1X=2 A=3\n",
	  "t.conf:3: error: environment: \"B\" is not KEY=VALUE\n"
	  "t.conf:3: error: environment: invalid variable name \"1X\"\n"
	  "t.conf:3: error: environment: A is set twice\n" },
	{ S "environment = A=\"open\n",
	  "t.conf:3: error: environment: unterminated double quote in "
	  "\"A=\"open\"\n" },
	{ S "environment_file = rel\n",
	  "t.conf:3: error: environment_file: \"rel\" is not an absolute "
	  "path\n" },
	{ S "umask = 0999\n",
	  "t.conf:3: error: umask: invalid umask \"0999\" (use octal digits, "
	  "e.g. 0022)\n" },
	{ S "umask = 01000\n",
	  "t.conf:3: error: umask: 01000 is out of range (0..0777)\n" },
	{ S "cpu_affinity = 0-3,x\n",
	  "t.conf:3: error: cpu_affinity: invalid CPU list \"0-3,x\" (use e.g. "
	  "0-3,5 7)\n" },
	{ S "cpu_affinity = 4096\n",
	  "t.conf:3: error: cpu_affinity: CPU list \"4096\" names a CPU above "
	  "1023\n" },
	{ S "nice = 20\n",
	  "t.conf:3: error: nice: 20 is out of range (-20..19)\n" },
	{ S "memory_max = 512X\n",
	  "t.conf:3: error: memory_max: invalid size \"512X\" (use bytes with "
	  "K, M, G or T, or max)\n" },
	{ S "memory_max = 0\n",
	  "t.conf:3: error: memory_max: must be greater than 0 (use max for "
	  "no limit)\n" },
	{ S "memory_max = 99999999999T\n",
	  "t.conf:3: error: memory_max: size \"99999999999T\" is too large\n" },
	{ S "pids_max = 0\n",
	  "t.conf:3: error: pids_max: 0 is out of range (1..4194304, or "
	  "max)\n" },
	{ S "pids_max = lots\n",
	  "t.conf:3: error: pids_max: invalid number \"lots\" (use a number or "
	  "max)\n" },
	{ S "stdout = tty\n",
	  "t.conf:3: error: stdout: invalid value \"tty\" (use inherit, null, "
	  "prefix, journal or file:PATH)\n" },
	{ S "stdout = stdout\n",
	  "t.conf:3: error: stdout: invalid value \"stdout\" (use inherit, "
	  "null, prefix, journal or file:PATH)\n" },
	{ S "stderr = tty\n",
	  "t.conf:3: error: stderr: invalid value \"tty\" (use inherit, null, "
	  "prefix, journal, stdout or file:PATH)\n" },
	{ S "stdout = file:log\n",
	  "t.conf:3: error: stdout: file: needs an absolute path, not "
	  "\"log\"\n" },
	{ S "limit_nofile = 10:5\n",
	  "t.conf:3: error: limit_nofile: soft limit exceeds hard limit in "
	  "\"10:5\"\n" },
	{ S "limit_nofile = lots\n",
	  "t.conf:3: error: limit_nofile: invalid limit \"lots\" (use "
	  "soft[:hard], each a number or infinity)\n" },
	{ S "limit_core = 99999999999999999999\n",
	  "t.conf:3: error: limit_core: number too large in "
	  "\"99999999999999999999\" (use infinity for no limit)\n" },
	{ S "limit_files = 1\n",
	  "t.conf:3: error: unknown key \"limit_files\" in [service:w] "
	  "(limits: as, core, cpu, data, fsize, locks, memlock, msgqueue, "
	  "nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)\n" },
	{ S "supervisor = a@b\n",
	  "t.conf:3: error: supervisor: invalid name \"a@b\" (use letters, "
	  "digits, '_', '.' and '-')\n" },
	{ "[service:w]\ncommand =\n",
	  "t.conf:2: error: command: empty command\n" },
	{ "[service:w]\ncommand = echo \"a ; b\"\n",
	  "t.conf:2: error: command: unterminated double quote in \"echo "
	  "\"a\"\n" },
#undef S
	/* [supervisor] keys */
	{ "[supervisor]\nstrategy = best\n",
	  "t.conf:2: error: strategy: invalid value \"best\" (use one_for_one, "
	  "one_for_all or rest_for_one)\n" },
	{ "[supervisor]\nbackend = uring\n",
	  "t.conf:2: error: backend: invalid value \"uring\" (use auto, "
	  "io_uring or epoll)\n" },
	{ "[supervisor]\ncontrol_socket =\n",
	  "t.conf:2: error: control_socket: empty value\n" },
	{ "[supervisor]\ncontrol_socket = /run/ringvisor/aaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaa.sock\n",
	  "t.conf:2: error: control_socket: path is too long for a unix "
	  "socket (max 107 bytes)\n" },
	{ "[supervisor]\ncontrol_group = a b\n",
	  "t.conf:2: error: control_group: invalid group name \"a b\"\n" },
	{ "[supervisor]\nshutdown_timeout = 0\n",
	  "t.conf:2: error: shutdown_timeout: must be greater than 0\n" },
	{ "[supervisor:g]\nrestart_window = 0\n",
	  "t.conf:2: error: restart_window: must be greater than 0\n" },
	/* structure */
	{ "command = x\n",
	  "t.conf:1: error: key \"command\" outside of any section (start with "
	  "[supervisor] or [service:NAME])\n" },
	{ "[services:web]\ncommand = x\n",
	  "t.conf:1: error: unknown section [services:web] (use [supervisor], "
	  "[supervisor:NAME], [service:NAME], [socket:NAME] or "
	  "[include])\n" },
	{ "[service:web]\ncommand = x\n[socket:s]\nlisten = tcp://1.2.3.4\n"
	  "service = web\n",
	  "t.conf:4: error: listen: invalid address \"tcp://1.2.3.4\": "
	  "missing :PORT\n" },
	{ "[service:web]\ncommand = x\n[socket:s]\nlisten = tcp6://::1:80\n"
	  "service = web\n",
	  "t.conf:4: error: listen: invalid address \"tcp6://::1:80\": "
	  "an IPv6 address is written [ADDR]:PORT\n" },
	{ "[service:web]\ncommand = x\n[socket:s]\nlisten = unix:rel\n"
	  "service = web\n",
	  "t.conf:4: error: listen: invalid address \"unix:rel\": a unix "
	  "socket is unix:/absolute/path or unix:@abstract\n" },
	{ "[service:web]\ncommand = x\n[socket:s]\nlisten = unix:/a\n"
	  "service = web\n[socket:t]\nlisten = unix:/a\nservice = web\n",
	  "t.conf:7: error: listen: unix:/a is already [socket:s]'s (line 4)\n" },
	{ "[service:web]\ncommand = x\nready_fd = 3\n[socket:s]\n"
	  "listen = tcp://127.0.0.1:80\nservice = web\n",
	  "t.conf:3: error: ready_fd: 3 is among the passed fds 3..3 (sockets, "
	  "then the fd store): use 4 or more\n" },
	{ "[service:web]\ncommand = x\nfd_store_max = 2\n",
	  "t.conf:3: error: fd_store_max: needs type = notify (fds come with "
	  "FDSTORE=1 on NOTIFY_SOCKET)\n" },
	{ "[global]\n",
	  "t.conf:1: error: unknown section [global] (use [supervisor], "
	  "[supervisor:NAME], [service:NAME], [socket:NAME] or "
	  "[include])\n" },
	{ "[service]\ncommand = x\n",
	  "t.conf:1: error: section [service] needs a name: [service:NAME]\n" },
	{ "[service: ]\n",
	  "t.conf:1: error: section [service:] needs a name\n" },
	{ "[service:web\ncommand = x\n",
	  "t.conf:1: error: unterminated section header (missing ']')\n" },
	{ "[service:web] x\ncommand = x\n",
	  "t.conf:1: error: unexpected text after section header\n" },
	{ "[supervisor]\n[supervisor]\nstrategy = one_for_all\n",
	  "t.conf:2: error: duplicate section [supervisor] (first at line "
	  "1)\n" },
	{ "[service:w]\ncommand = x\nrestart = always\nrestart = never\n",
	  "t.conf:4: error: restart: duplicate key (first set at line 3)\n" },
	{ "[service:w]\ncommand = x\n= x\n",
	  "t.conf:3: error: missing key name before '='\n" },
	{ "[service:w]\ncommand = x\njunk\nstop ; = x\n",
	  "t.conf:3: error: syntax error: expected \"key = value\", "
	  "\"[section]\" or a comment\n"
	  "t.conf:4: error: syntax error: expected \"key = value\", "
	  "\"[section]\" or a comment\n" },
	{ "[service:w]\ncommand = x\nrestrat = always\n",
	  "t.conf:3: error: unknown key \"restrat\" in [service:w] (did you "
	  "mean restart?)\n" },
	{ "[service:w]\ncommand = x\nfrobnicate = 1\n",
	  "t.conf:3: error: unknown key \"frobnicate\" in [service:w]\n" },
	{ "[service:w]\ncommand = x\nshutdown_timeout = 1s\n",
	  "t.conf:3: error: unknown key \"shutdown_timeout\" in [service:w] "
	  "(it belongs in [supervisor])\n" },
	{ "[supervisor:g]\ncommand = x\n",
	  "t.conf:2: error: unknown key \"command\" in [supervisor:g] (it "
	  "belongs in [service:NAME])\n" },
	{ "[supervisor]\nafter = x\n",
	  "t.conf:2: error: unknown key \"after\" in [supervisor] (it belongs "
	  "in [supervisor:NAME])\n" },
	/* names */
	{ "[supervisor:main]\n",
	  "t.conf:1: error: the name \"main\" is reserved for the top-level "
	  "supervisor\n" },
	{ "[service:a b]\ncommand = x\n",
	  "t.conf:1: error: invalid name \"a b\" in [service:a b] (use "
	  "letters, digits, '_', '.' and '-')\n" },
	{ "[service:web@1]\ncommand = x\n",
	  "t.conf:1: error: invalid name \"web@1\" in [service:web@1] ('@' is "
	  "reserved for instances, as in web@0)\n" },
	{ "[service:..]\ncommand = x\n",
	  "t.conf:1: error: invalid name \"..\" in [service:..] (use letters, "
	  "digits, '_', '.' and '-')\n" },
	{ "[service:w]\n",
	  "t.conf:1: error: missing required key \"command\" in "
	  "[service:w]\n" },
	{ "[service:web]\ncommand = a\n[service:web]\ncommand = b\n"
	  "[supervisor:web]\n",
	  "t.conf:3: error: duplicate name \"web\" (already used by "
	  "[service:web] at line 1)\n"
	  "t.conf:5: error: duplicate name \"web\" (already used by "
	  "[service:web] at line 1)\n" },
	{ "[supervisor:web]\n[service:web]\ncommand = b\n",
	  "t.conf:2: error: duplicate name \"web\" (already used by "
	  "[supervisor:web] at line 1)\n" },
	/* references */
	{ "[service:w]\ncommand = x\nsupervisor = api\n",
	  "t.conf:3: error: supervisor: no [supervisor:api] section\n" },
	{ "[service:db]\ncommand = x\n[service:w]\ncommand = x\n"
	  "supervisor = db\n",
	  "t.conf:5: error: supervisor: \"db\" is a service, not a "
	  "[supervisor:NAME]\n" },
	{ "[service:w]\ncommand = x\nafter = db w\n[supervisor:g]\n"
	  "after = nope\n",
	  "t.conf:3: error: after: unknown service or supervisor \"db\"\n"
	  "t.conf:5: error: after: unknown service or supervisor \"nope\"\n"
	  "t.conf:3: error: after: dependency cycle: w -> w\n" },
	/* cycles */
	{ "[service:a]\ncommand = x\nafter = b\n"
	  "[service:b]\ncommand = x\nafter = c\n"
	  "[service:c]\ncommand = x\nafter = a\n",
	  "t.conf:3: error: after: dependency cycle: a -> b -> c -> a\n" },
	{ "[supervisor:g]\nafter = g\n",
	  "t.conf:2: error: after: dependency cycle: g -> g\n" },
	{ "[supervisor:api]\nafter = web\n"
	  "[service:web]\nsupervisor = api\ncommand = x\n",
	  "t.conf:2: error: after: dependency cycle: api -> web -> api (web "
	  "runs under supervisor api)\n" },
	{ "[supervisor:api]\n"
	  "[service:web]\nsupervisor = api\ncommand = x\nafter = api\n",
	  "t.conf:5: error: after: dependency cycle: web -> api -> web (web "
	  "runs under supervisor api)\n" },
	{ "[supervisor:a]\nsupervisor = b\n[supervisor:b]\nsupervisor = c\n"
	  "[supervisor:c]\nsupervisor = a\n[supervisor:d]\nsupervisor = d\n",
	  "t.conf:2: error: supervisor: cycle in the supervisor tree: a -> b "
	  "-> c -> a\n"
	  "t.conf:8: error: supervisor: cycle in the supervisor tree: d -> "
	  "d\n" },
	/* keys against each other */
	{ "[service:w]\ncommand = x\nrestart_delay_max = 1s\n"
	  "restart_delay = 2s\n",
	  "t.conf:3: error: restart_delay_max (1s) is less than restart_delay "
	  "(2s)\n" },
	{ "[service:w]\ncommand = x\nrestart_delay = 1m\n",
	  "t.conf:3: error: restart_delay_max (30s) is less than "
	  "restart_delay (1m)\n" },
	{ "[service:w]\ncommand = x\nwatchdog = 5s\n",
	  "t.conf:3: error: watchdog: needs type = notify (the service must "
	  "send WATCHDOG=1)\n" },
	{ "[service:w]\ncommand = x\ntype = notify\nready_fd = 3\n"
	  "ready_check = /bin/true\n",
	  "t.conf:4: error: ready_fd: conflicts with type = notify (readiness "
	  "comes from READY=1)\n"
	  "t.conf:5: error: ready_check: conflicts with type = notify "
	  "(readiness comes from READY=1)\n" },
	{ "[service:w]\ncommand = x\ntype = oneshot\nready_fd = 4\n",
	  "t.conf:4: error: ready_fd: a oneshot service is ready when it "
	  "exits\n" },
	{ "[service:w]\ncommand = x\nready_check = /bin/true\nready_fd = 3\n",
	  "t.conf:4: error: ready_fd and ready_check conflict (use one "
	  "readiness method)\n" },
	{ "[service:w]\ncommand = x\ninstances = 2\nmax_unavailable = 3\n",
	  "t.conf:4: error: max_unavailable (3) is more than instances (2)\n" },
	{ "[service:w]\ncommand = x\nmax_unavailable = 2\n",
	  "t.conf:3: error: max_unavailable (2) is more than instances (1)\n" },
	{ "[service:w]\ncommand = x\nrestart_mode = fast\n",
	  "t.conf:3: error: restart_mode: invalid value \"fast\" (use restart "
	  "or rolling)\n" },
};

/* log_buffer: the [supervisor] default, a service's own, 0, and limits;
 * log_target and stdout = journal parsed */
static void test_log_keys(void **state)
{
	struct result r = { 0 };

	(void)state;
	load("[service:a]\ncommand = x\n", &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.specs.log_buffer, 64 * 1024);
	assert_int_equal(r.specs.services[0].log_buffer, 64 * 1024);
	assert_int_equal(r.specs.log_target, 0);	/* auto */
	result_free(&r);
	memset(&r, 0, sizeof(r));
	load("[supervisor]\nlog_buffer = 1M\nlog_target = journal\n"
	     "[service:a]\ncommand = x\n"
	     "[service:b]\ncommand = x\nlog_buffer = 0\nstdout = journal\n"
	     "stderr = journal\n", &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.specs.log_target, 2);	/* journal */
	assert_int_equal(r.specs.services[0].log_buffer, 1024 * 1024);
	assert_int_equal(r.specs.services[1].log_buffer, 0);
	assert_int_equal(r.specs.services[1].iso->stdout_kind,
			 RV_OUTPUT_JOURNAL);
	assert_int_equal(r.specs.services[1].iso->stderr_kind,
			 RV_OUTPUT_JOURNAL);
	result_free(&r);
	memset(&r, 0, sizeof(r));
	load("[supervisor]\nlog_buffer = 65M\nlog_target = syslog\n"
	     "[service:a]\ncommand = x\nlog_buffer = lots\n", &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.out,
		"t.conf:2: error: log_buffer: size \"65M\" is too large (at most 64M)\n"
		"t.conf:3: error: log_target: invalid value \"syslog\" (use auto, stderr or journal)\n"
		"t.conf:6: error: log_buffer: invalid size \"lots\" (use bytes with K or M, or 0 for none)\n");
	result_free(&r);
}

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(error_cases); i++) {
		struct result r = { 0 };

		load(error_cases[i].text, &r);
		if (r.ret != -EINVAL || !r.out ||
		    strcmp(r.out, error_cases[i].out))
			print_message("case %zu:\n%s--- got:\n%s--- want:\n%s",
				      i, error_cases[i].text,
				      r.out ? r.out : "(null)\n",
				      error_cases[i].out);
		assert_int_equal(r.ret, -EINVAL);
		assert_string_equal(r.out, error_cases[i].out);
		assert_int_equal(r.warnings, 0);
		assert_null(r.specs.services);
		assert_null(r.specs.groups);
		result_free(&r);
	}
}

static void test_warnings(void **state)
{
	struct result r = { 0 };

	(void)state;
	load("[service:w]\ncommand = x\nrestart = always\ntype = oneshot\n",
	     &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.warnings, 1);
	assert_string_equal(r.out, "t.conf:3: warning: restart = always acts "
			    "as on-failure for type = oneshot (a success ends "
			    "it completed)\n");
	result_free(&r);
	memset(&r, 0, sizeof(r));
	load("[service:w]\ncommand = x\nbackoff = fixed\n"
	     "backoff_multiplier = 1.5\nready_timeout = 5s\n", &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.warnings, 2);
	assert_string_equal(r.out,
		"t.conf:4: warning: backoff_multiplier: has no effect unless "
		"backoff = exponential\n"
		"t.conf:5: warning: ready_timeout: has no effect: a simple "
		"service without ready_fd or ready_check is ready once "
		"started\n");
	assert_true(r.specs.services[0].backoff.multiplier == 1.5);
	result_free(&r);
}

/* All errors of a file, not just the first, in order. */
static void test_many_errors(void **state)
{
	struct result r = { 0 };

	(void)state;
	load("junk before any section\n"			/* 1 */
	     "[supervisor]\n"
	     "strategy = bogus\n"				/* 3 */
	     "max_restarts = 200000\n"				/* 4 */
	     "[servce:x]\n"					/* 5 */
	     "ignored = because the section is unknown\n"
	     "[service:web]\n"					/* 7 */
	     "restrat = always\n"				/* 8 */
	     "restart_delay = 10x\n"				/* 9 */
	     "restart_delay = 2s\n"				/* 10 */
	     "command = echo \"open\n"				/* 11 */
	     "after = nope\n"					/* 12 */
	     "watchdog = 5s\n"					/* 13 */
	     "bad line\n"					/* 14 */
	     "[service:a]\ncommand = a\nafter = b\n"		/* 15-17 */
	     "[service:b]\ncommand = b\nafter = a\n",		/* 18-20 */
	     &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.out,
		"t.conf:1: error: syntax error: expected \"key = value\", "
		"\"[section]\" or a comment\n"
		"t.conf:3: error: strategy: invalid value \"bogus\" (use "
		"one_for_one, one_for_all or rest_for_one)\n"
		"t.conf:4: error: max_restarts: 200000 is too large (max "
		"100000; use infinity for no limit)\n"
		"t.conf:5: error: unknown section [servce:x] (use [supervisor], "
		"[supervisor:NAME], [service:NAME], [socket:NAME] or "
	  "[include])\n"
		"t.conf:8: error: unknown key \"restrat\" in [service:web] (did "
		"you mean restart?)\n"
		"t.conf:9: error: restart_delay: invalid duration \"10x\" (use a "
		"number with ns, us, ms, s, m or h)\n"
		"t.conf:10: error: restart_delay: duplicate key (first set at "
		"line 9)\n"
		"t.conf:11: error: command: unterminated double quote in \"echo "
		"\"open\"\n"
		"t.conf:14: error: syntax error: expected \"key = value\", "
		"\"[section]\" or a comment\n"
		"t.conf:13: error: watchdog: needs type = notify (the service "
		"must send WATCHDOG=1)\n"
		"t.conf:12: error: after: unknown service or supervisor "
		"\"nope\"\n"
		"t.conf:17: error: after: dependency cycle: a -> b -> a\n");
	assert_int_equal(r.errors, 12);
	result_free(&r);
}

static void test_instances(void **state)
{
	char *name = repeat('n', 123), *text;
	struct result r = { 0 };

	(void)state;
	/* n x 123 + "@999" is 127 characters: fits */
	assert_true(asprintf(&text, "[service:%s]\ncommand = x\n"
			     "instances = 1000\n", name) > 0);
	load(text, &r);
	free(text);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.specs.services[0].instances, 1000);
	result_free(&r);

	memset(&r, 0, sizeof(r));
	assert_true(asprintf(&text, "[service:%s]\ncommand = x\n"
			     "instances = 1001\n", name) > 0);
	load(text, &r);
	free(text);
	assert_int_equal(r.ret, -EINVAL);
	assert_non_null(strstr(r.out, "t.conf:3: error: instances: name too "
			       "long for nnnn"));
	assert_non_null(strstr(r.out, "n@1000 (max 127 characters)\n"));
	result_free(&r);
	free(name);

	memset(&r, 0, sizeof(r));
	name = repeat('n', 128);
	assert_true(asprintf(&text, "[service:%s]\ncommand = x\n", name) > 0);
	load(text, &r);
	free(text);
	free(name);
	assert_int_equal(r.ret, -EINVAL);
	name = repeat('n', 60);
	assert_true(asprintf(&text, "t.conf:1: error: name too long in "
			     "[service:%s...] (max 127 characters)\n",
			     name) > 0);
	assert_string_equal(r.out, text);
	free(text);
	free(name);
	result_free(&r);
}

static void test_max_restarts(void **state)
{
	struct result r = { 0 };

	(void)state;
	load("[supervisor]\nmax_restarts = 100000\n"
	     "[supervisor:g]\nmax_restarts = 0\n"
	     "[service:w]\ncommand = x\nmax_restarts = infinity\n", &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.specs.top.intensity.max_restarts, 100000);
	assert_int_equal(r.specs.groups[0].intensity.max_restarts, 0);
	assert_int_equal(r.specs.services[0].intensity.max_restarts,
			 UINT32_MAX);
	result_free(&r);
}

static void test_timer_precision(void **state)
{
	static const struct {
		const char *v;
		int ret;
		int64_t ns;
		bool adaptive;
	} cases[] = {
		{ "normal", 0, 0, false },
		{ "spin:50us", 0, 50000, false },
		{ "spin:auto", 0, RV_TIMER_SPIN_AUTO_MAX, true },
		{ "spin:auto:80us", 0, 80000, true },
		{ "spin:auto:", -EINVAL, 0, false },
		{ "spin:auto:2s", -EINVAL, 0, false },
		{ "spin:autox", -EINVAL, 0, false },
		{ "spin:0", -EINVAL, 0, false },
		{ "auto", -EINVAL, 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct result r = { 0 };
		char *text = NULL;

		assert_true(asprintf(&text, "[supervisor]\ntimer_precision = "
				     "%s\n[service:w]\ncommand = x\n",
				     cases[i].v) > 0);
		load(text, &r);
		if (cases[i].ret) {
			assert_int_not_equal(r.ret, 0);
			assert_non_null(strstr(r.out, "spin:auto[:MAX]"));
		} else {
			assert_int_equal(r.ret, 0);
			assert_int_equal(r.specs.timer_spin_ns, cases[i].ns);
			assert_int_equal(r.specs.timer_spin_auto,
					 cases[i].adaptive);
		}
		free(text);
		result_free(&r);
	}
}

static void test_null_diag(void **state)
{
	struct rv_specs specs;

	(void)state;
	assert_int_equal(rv_config_load_string("[service:w]\n", "x", &specs,
					       NULL), -EINVAL);
	assert_int_equal(rv_config_load_string("[service:w]\ncommand = x\n",
					       "x", &specs, NULL), 0);
	rv_specs_free(&specs);
	rv_specs_free(&specs);	/* twice is fine */
}

static void test_spec_set(void **state)
{
	struct rv_service_spec s;
	struct rv_diag d = { 0 };
	char *out = NULL;
	size_t len = 0;

	(void)state;
	d.out = open_memstream(&out, &len);
	assert_non_null(d.out);
	rv_service_spec_init(&s);
	assert_int_equal(rv_service_spec_set(&s, "restart_delay", "200ms",
					     "exec", 0, &d), 0);
	assert_int_equal(s.backoff.delay_ns, MS(200));
	assert_int_equal(rv_service_spec_set(&s, "restart", "always", "exec",
					     0, &d), 0);
	/* exec options are getopt-like: the last one wins */
	assert_int_equal(rv_service_spec_set(&s, "restart", "never", "exec",
					     0, &d), 0);
	assert_int_equal(s.restart, RV_RESTART_NEVER);
	assert_int_equal(rv_service_spec_set(&s, "limit_nofile", "10", "exec",
					     0, &d), 0);
	assert_int_equal(rv_service_spec_set(&s, "limit_nofile", "20:30",
					     "exec", 0, &d), 0);
	assert_int_equal(rv_service_spec_set(&s, "limit_core", "infinity",
					     "exec", 0, &d), 0);
	argv_equal(s.iso->limits,
		   ARGV("nofile=20:30", "core=infinity:infinity"));
	assert_int_equal(s.iso->n_limits, 2);
	assert_int_equal(rv_service_spec_set(&s, "environment", "A=1",
					     "exec", 0, &d), 0);
	assert_int_equal(rv_service_spec_set(&s, "environment", "B=2 C=3",
					     "exec", 0, &d), 0);
	argv_equal(s.environment, ARGV("B=2", "C=3"));
	assert_int_equal(rv_service_spec_set(&s, "stdout", "file:/a", "exec",
					     0, &d), 0);
	assert_int_equal(rv_service_spec_set(&s, "stdout", "file:/b", "exec",
					     0, &d), 0);
	assert_string_equal(s.iso->stdout_path, "/b");
	assert_int_equal(rv_service_spec_set(&s, "command", "sleep 1", "exec",
					     0, &d), 0);
	argv_equal(s.argv, ARGV("sleep", "1"));
	assert_int_equal(rv_service_spec_check(&s, &d), 0);
	assert_int_equal(d.errors, 0);

	assert_int_equal(rv_service_spec_set(&s, "restart_delay", "fast",
					     "exec", 0, &d), -EINVAL);
	assert_int_equal(s.backoff.delay_ns, MS(200));
	assert_int_equal(rv_service_spec_set(&s, "restart-delay", "1s",
					     "exec", 0, &d), -EINVAL);
	assert_int_equal(rv_service_spec_set(&s, "restart_delay_max", "50ms",
					     "ringvisor.conf", 7, &d), 0);
	assert_int_equal(rv_service_spec_check(&s, &d), -EINVAL);
	assert_int_equal(rv_service_spec_set(&s, "wat", "1", NULL, 0, &d),
			 -EINVAL);
	fclose(d.out);
	assert_string_equal(out,
		"exec: error: restart_delay: invalid duration \"fast\" (use a "
		"number with ns, us, ms, s, m or h)\n"
		"exec: error: unknown key \"restart-delay\" (did you mean "
		"restart_delay?)\n"
		"error: restart_delay_max (50ms) is less than restart_delay "
		"(200ms)\n"
		"error: unknown key \"wat\"\n");
	assert_int_equal(d.errors, 4);
	/* the check reports at the spec's file and the key's line */
	s.file = "ringvisor.conf";	/* borrowed, as from rv_specs.file */
	free(out);
	out = NULL;
	d.out = open_memstream(&out, &len);
	assert_int_equal(rv_service_spec_check(&s, &d), -EINVAL);
	assert_int_equal(rv_service_spec_check(&s, NULL), -EINVAL);
	fclose(d.out);
	assert_string_equal(out, "ringvisor.conf:7: error: restart_delay_max "
			    "(50ms) is less than restart_delay (200ms)\n");
	free(out);
	rv_service_spec_free(&s);
	assert_null(s.argv);
	rv_service_spec_free(&s);
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(rv_strategy_name(RV_REST_FOR_ONE), "rest_for_one");
	assert_string_equal(rv_restart_name(RV_RESTART_ON_ABNORMAL),
			    "on-abnormal");
	assert_string_equal(rv_backoff_name(RV_BACKOFF_FIBONACCI),
			    "fibonacci");
	assert_string_equal(rv_service_type_name(RV_TYPE_ONESHOT), "oneshot");
	assert_string_equal(rv_kill_mode_name(RV_KILL_CGROUP), "cgroup");
	assert_string_equal(rv_kill_mode_name((enum rv_kill_mode)7), "?");
}

static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/rv-test-config-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void load_file(const char *path, struct result *r)
{
	size_t len = 0;
	FILE *f = open_memstream(&r->out, &len);
	struct rv_diag d = { .out = f };

	r->ret = rv_config_load_file(path, &r->specs, &d);
	fclose(f);
	r->errors = d.errors;
}

static void test_load_file(void **state)
{
	static const char good[] = "[service:w]\ncommand = x\n";
	static const char nul[] = "[service:w]\ncommand = x\0y\nnice = 99\n";
	struct result r = { 0 };
	char *path, *want;

	(void)state;
	path = write_temp(good, sizeof(good) - 1);
	load_file(path, &r);
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.specs.services[0].file, path);
	result_free(&r);
	unlink(path);
	free(path);

	memset(&r, 0, sizeof(r));
	path = write_temp(nul, sizeof(nul) - 1);
	load_file(path, &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_true(asprintf(&want, "%s:2: error: line contains a NUL byte\n"
			     "%s:3: error: nice: 99 is out of range "
			     "(-20..19)\n"
			     "%s:1: error: missing required key \"command\" "
			     "in [service:w]\n", path, path, path) > 0);
	assert_string_equal(r.out, want);
	free(want);
	result_free(&r);
	unlink(path);
	free(path);

	memset(&r, 0, sizeof(r));
	load_file("/nonexistent/ringvisor.conf", &r);
	assert_int_equal(r.ret, -ENOENT);
	assert_string_equal(r.out, "/nonexistent/ringvisor.conf: error: "
			    "cannot open: No such file or directory\n");
	assert_null(r.specs.services);
	result_free(&r);

	memset(&r, 0, sizeof(r));
	load_file("/tmp", &r);
	assert_int_equal(r.ret, -EISDIR);
	assert_string_equal(r.out, "/tmp: error: read error: Is a "
			    "directory\n");
	result_free(&r);
}

/*
 * Allocation failure injection: malloc and friends fail once, at the n-th
 * call, for every n until a load needs no more.  The executable's malloc
 * wins over libc's, for libc's own calls (strdup, getline) too.  Under
 * AddressSanitizer that would bypass its allocator, so skip there.
 */
static long fail_countdown = -1;	/* -1: never; 0: fail the next */
static long failed;

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_INJECTION 0
#else
#define HAVE_INJECTION 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

static bool inject(void)
{
	if (fail_countdown < 0)
		return false;
	if (fail_countdown-- > 0)
		return false;
	failed++;
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	return inject() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	return inject() ? NULL : __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	return inject() ? NULL : __libc_realloc(p, n);
}
#endif

static void enomem_loop(const char *text, const char *path)
{
	long n;

	for (n = 0; n < 100000; n++) {
		struct rv_diag d = { 0 };
		struct rv_specs specs;
		int ret;

		failed = 0;
		fail_countdown = n;
		ret = text ? rv_config_load_string(text, "t.conf", &specs, &d) :
			     rv_config_load_file(path, &specs, &d);
		fail_countdown = -1;
		if (!failed) {
			assert_int_equal(ret, 0);
			rv_specs_free(&specs);
			print_message("%ld allocations, each failed once\n",
				      n);
			return;
		}
		if (!ret && !text) {
			/* stdio absorbs a failed buffer allocation (it goes
			 * unbuffered): fine if nothing was lost.  From a
			 * string, every failure must come back. */
			assert_int_equal(d.errors, 0);
			assert_int_equal(specs.n_groups, 2);
			assert_int_equal(specs.n_services, 3);
			assert_int_equal(specs.services[1].iso->n_limits, 2);
			assert_int_equal(specs.services[1].n_environment, 3);
			assert_int_equal(specs.services[2].argc, 3);
			rv_specs_free(&specs);
			continue;
		}
		if (ret != -ENOMEM)
			fail_msg("allocation %ld failed: got %d", n, ret);
		assert_true(d.errors > 0);
		assert_null(specs.services);
	}
	fail_msg("never finished");
}

static void test_enomem(void **state)
{
	char *text, *path;

	(void)state;
	if (!HAVE_INJECTION) {
		print_message("no malloc injection under AddressSanitizer\n");
		skip();
		return;
	}
	/* a probe: does our malloc really see libc's own calls? */
	fail_countdown = 0;
	failed = 0;
	if (asprintf(&path, "%d", 42) < 0)
		path = NULL;
	fail_countdown = -1;
	if (path) {
		free(path);
		print_message("malloc not interposed here (valgrind without "
			      "--soname-synonyms=somalloc=nouserintercepts?)\n");
		skip();
		return;
	}
	text = full_config_ok();
	enomem_loop(text, NULL);
	path = write_temp(text, strlen(text));
	enomem_loop(NULL, path);
	unlink(path);
	free(path);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_full_config_tail),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_inih_behaviour),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_indent_crlf_bom),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_log_keys),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_max_restarts),
		cmocka_unit_test(test_timer_precision),
		cmocka_unit_test(test_null_diag),
		cmocka_unit_test(test_spec_set),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
