// SPDX-License-Identifier: MIT
/* $VAR expansion of config values (config/expand.h), alone and through
 * the config's keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/expand.h"

static const char *lookup(const char *name, void *ctx)
{
	static const char *const env[][2] = {
		{ "HOME", "/home/app" }, { "PORT", "8080" }, { "EMPTY", "" },
		{ "OPTS", "-a -b" }, { "_X1", "x" },
	};

	(void)ctx;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (!strcmp(env[i][0], name))
			return env[i][1];
	return NULL;
}

static void expands_as(const char *in, bool words, const char *want)
{
	char why[160] = "", *out = NULL;

	assert_int_equal(rv_expand_vars(in, words, lookup, NULL, &out, why,
					sizeof(why)), 0);
	assert_string_equal(out, want);
	free(out);
}

static void expands(const char *in, const char *want)
{
	expands_as(in, false, want);
	expands_as(in, true, want);
}

static void refuses(const char *in, const char *want_why)
{
	char why[160] = "", *out = NULL;

	assert_int_equal(rv_expand_vars(in, true, lookup, NULL, &out, why,
					sizeof(why)), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(why, want_why));
}

static void test_forms(void **state)
{
	(void)state;
	expands("", "");
	expands("plain", "plain");
	expands("$HOME/bin", "/home/app/bin");
	expands("${HOME}bin", "/home/appbin");
	expands("--port=$PORT$PORT", "--port=80808080");
	expands("$_X1-", "x-");
	expands("a$EMPTY.b", "a.b");
	expands("${EMPTY:-dflt} ${PORT:-1}", "dflt 8080");
	expands("${UNSET:-a b}", "a b");
	expands("$$HOME costs $$5", "$HOME costs $5");
	expands("%i stays: web-%i", "%i stays: web-%i");
	/* a '$' not followed by a name is not ours */
	expands("echo $1 $@ $ ok$", "echo $1 $@ $ ok$");
}

/* words: '...' and a backslash protect, as in the shell; "..." does not */
static void test_quotes(void **state)
{
	(void)state;
	expands_as("sh -c 'echo $HOME' $PORT", true,
		   "sh -c 'echo $HOME' 8080");
	expands_as("sh -c 'echo $HOME' $PORT", false,
		   "sh -c 'echo /home/app' 8080");
	expands_as("\"$OPTS\" \\$HOME", true, "\"-a -b\" \\$HOME");
	expands_as("\"it's $PORT\" '$PORT'", true, "\"it's 8080\" '$PORT'");
	expands_as("'unterminated $HOME", true, "'unterminated $HOME");
}

static void test_errors(void **state)
{
	(void)state;
	refuses("$NOPE", "undefined variable NOPE");
	refuses("a ${NOPE} b", "undefined variable NOPE");
	refuses("${HOME", "unterminated ${");
	refuses("${}", "bad variable name in ${}");
	refuses("${1x}", "bad variable name in ${1x}");
	refuses("${A B}", "bad variable name in ${A B}");
}

/* Through the config: expanded keys, file:line errors, others untouched. */
static void test_config_keys(void **state)
{
	static const char text[] =
		"[supervisor]\n"
		"control_socket = ${RVX_DIR}/c.sock\n"
		"[service:web]\n"
		"command = /bin/app --port=${RVX_PORT} \"$RVX_OPTS\" $$HOME\n"
		"environment = HOME=$RVX_DIR PORT=${RVX_PORT}\n"
		"working_directory = $RVX_DIR\n"
		"stdout = file:${RVX_DIR}/out.log\n"
		"health_check = /bin/check $RVX_PORT\n";
	struct rv_specs specs;
	struct rv_diag d = { .out = stderr };
	struct rv_service_spec *w;

	(void)state;
	setenv("RVX_DIR", "/srv/app", 1);
	setenv("RVX_PORT", "81", 1);
	setenv("RVX_OPTS", "-v -x", 1);
	assert_int_equal(rv_config_load_string(text, "t.conf", &specs, &d), 0);
	assert_string_equal(specs.control_socket, "/srv/app/c.sock");
	w = &specs.services[0];
	assert_string_equal(w->argv[1], "--port=81");
	assert_string_equal(w->argv[2], "-v -x");
	assert_string_equal(w->argv[3], "$HOME");
	assert_string_equal(w->environment[0], "HOME=/srv/app");
	assert_string_equal(w->environment[1], "PORT=81");
	rv_specs_free(&specs);
}

static void test_config_undefined(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct rv_diag d = { .out = f };
	struct rv_specs specs;

	(void)state;
	unsetenv("RVX_NOPE");
	assert_int_equal(rv_config_load_string(
		"[service:web]\ncommand = /bin/app\n"
		"working_directory = ${RVX_NOPE}/x\n", "t.conf", &specs, &d),
		-EINVAL);
	fclose(f);
	assert_non_null(strstr(out, "t.conf:3: error: working_directory: "
				    "undefined variable RVX_NOPE"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_undefined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
