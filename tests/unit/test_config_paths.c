// SPDX-License-Identifier: MIT
/*
 * Paths the config resolves: a relative control_socket against the config
 * file's directory; the default control socket by effective uid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/runtime_dir.h"

static char *load_socket(const char *text, const char *name)
{
	struct rv_specs specs;
	struct rv_diag d = { .out = stderr };
	char *path;

	assert_int_equal(rv_config_load_string(text, name, &specs, &d), 0);
	path = strdup(specs.control_socket);
	rv_specs_free(&specs);
	return path;
}

static void test_relative_socket(void **state)
{
	char *p;

	(void)state;
	/* a directory that does not exist is taken as written */
	p = load_socket("[supervisor]\ncontrol_socket = run/x.sock\n",
			"/nonexistent-rv/etc/t.conf");
	assert_string_equal(p, "/nonexistent-rv/etc/run/x.sock");
	free(p);
	/* an existing one is resolved: /tmp/../tmp -> /tmp */
	p = load_socket("[supervisor]\ncontrol_socket = x.sock\n",
			"/tmp/../tmp/t.conf");
	assert_string_equal(p, "/tmp/x.sock");
	free(p);
	p = load_socket("[supervisor]\ncontrol_socket = /abs/x.sock\n",
			"/tmp/t.conf");
	assert_string_equal(p, "/abs/x.sock");
	free(p);
}

static void test_path_from_config(void **state)
{
	char *cwd = getcwd(NULL, 0), *want, *p;

	(void)state;
	assert_non_null(cwd);
	p = rv_path_from_config("t.conf", "s.sock");
	assert_int_not_equal(asprintf(&want, "%s/s.sock", cwd), -1);
	assert_string_equal(p, want);
	free(p);
	free(want);
	free(cwd);
	p = rv_path_from_config("/t.conf", "s.sock");
	assert_string_equal(p, "/s.sock");
	free(p);
}

static void test_default_socket(void **state)
{
	char *p, *want;

	(void)state;
	if (geteuid() == 0) {
		p = rv_default_control_socket();
		assert_string_equal(p, "/run/ringvisor/control.sock");
		free(p);
		return;
	}
	setenv("XDG_RUNTIME_DIR", "/run/user/42", 1);
	p = rv_default_control_socket();
	assert_string_equal(p, "/run/user/42/ringvisor/control.sock");
	free(p);
	unsetenv("XDG_RUNTIME_DIR");
	p = rv_default_control_socket();
	assert_int_not_equal(asprintf(&want, "/tmp/ringvisor-%u/control.sock",
				      (unsigned int)geteuid()), -1);
	assert_string_equal(p, want);
	free(p);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative_socket),
		cmocka_unit_test(test_path_from_config),
		cmocka_unit_test(test_default_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
