// SPDX-License-Identifier: MIT
/*
 * [include] files = PATTERN...: globs relative to the including file,
 * read in sorted order after it, errors naming the included file and its
 * line, loops refused, [supervisor] only in the main file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

static char dir[] = "/tmp/rv-test-include-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void drop(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

struct loaded {
	int ret;
	struct rv_specs specs;
	char *out;
};

static void load(const char *name, struct loaded *l)
{
	char path[256];
	size_t len = 0;
	FILE *f = open_memstream(&l->out, &len);
	struct rv_diag d = { .out = f };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	l->ret = rv_config_load_file(path, &l->specs, &d);
	fclose(f);
}

static void loaded_free(struct loaded *l)
{
	if (!l->ret)
		rv_specs_free(&l->specs);
	free(l->out);
}

/* out has the line "DIR/name:line: error: msg..." */
static void said(const struct loaded *l, const char *name, int line,
		 const char *msg)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/%s:%d: error: %s", dir, name, line,
		 msg);
	if (!strstr(l->out, want))
		fail_msg("want \"%s\" in:\n%s", want, l->out);
}

static int setup(void **state)
{
	char path[256];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	return mkdir(path, 0755);
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_sorted_and_named(void **state)
{
	struct loaded l = { 0 };
	char want[256];

	(void)state;
	put("main.conf", "[include]\nfiles = conf.d/*.conf extra.conf\n"
		"[service:first]\ncommand = /bin/true\n");
	put("extra.conf", "[service:extra]\ncommand = /bin/true\n");
	/* created out of order; b_10 < b_9 bytewise */
	put("conf.d/b_9.conf", "[service:b9]\ncommand = /bin/true\n");
	put("conf.d/a.conf", "\n[supervisor:pool]\n[service:a]\n"
		"supervisor = pool\ncommand = /bin/true\n");
	put("conf.d/b_10.conf", "[service:b10]\ncommand = /bin/true\n");
	put("conf.d/README", "not a config\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, 0);
	assert_int_equal(l.specs.n_services, 5);
	assert_string_equal(l.specs.services[0].name, "first");
	assert_string_equal(l.specs.services[1].name, "a");
	assert_string_equal(l.specs.services[2].name, "b10");
	assert_string_equal(l.specs.services[3].name, "b9");
	assert_string_equal(l.specs.services[4].name, "extra");
	snprintf(want, sizeof(want), "%s/conf.d/a.conf", dir);
	assert_string_equal(l.specs.services[1].file, want);
	assert_int_equal(l.specs.services[1].line, 3);
	assert_string_equal(l.specs.groups[0].file, want);
	assert_int_equal(l.specs.n_included, 4);
	loaded_free(&l);
}

static void test_errors_name_the_included_file(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	put("main.conf", "[supervisor]\n[include]\nfiles = conf.d/*.conf\n");
	put("conf.d/a.conf", "[service:a]\ncommand = /bin/true\n"
		"restart = sometimes\n");
	put("conf.d/b.conf", "[supervisor]\nstrategy = one_for_all\n"
		"[service:a]\ncommand = /bin/true\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, -EINVAL);
	said(&l, "conf.d/a.conf", 3, "restart: invalid value");
	said(&l, "conf.d/b.conf", 1,
	     "[supervisor] belongs in the main config file");
	/* the second [service:a], in the file that has it */
	said(&l, "conf.d/b.conf", 3, "");
	loaded_free(&l);
}

static void test_loops_and_missing(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	put("conf.d/a.conf", "[include]\nfiles = ../main.conf\n");
	put("conf.d/b.conf", "[include]\nfiles = b.conf\n");
	put("main.conf", "[include]\nfiles = conf.d/*.conf nope.conf "
		"empty.d/*.conf\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, -EINVAL);
	said(&l, "conf.d/a.conf", 2, "include: ");
	assert_non_null(strstr(l.out, "main.conf is read already"));
	said(&l, "conf.d/b.conf", 2, "include: ");
	said(&l, "main.conf", 2, "include: ");
	assert_non_null(strstr(l.out, "nope.conf: no such file"));
	/* a pattern matching nothing is no error */
	assert_null(strstr(l.out, "empty.d"));
	loaded_free(&l);
}

static void test_keys_of_include(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	setenv("RV_TEST_CONF_D", "conf.d", 1);
	put("conf.d/a.conf", "[service:a]\ncommand = /bin/true\n");
	drop("conf.d/b.conf");
	put("main.conf", "[include]\nfiles = ${RV_TEST_CONF_D}/a.conf\n"
		"[include]\nfile = x\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, -EINVAL);
	said(&l, "main.conf", 4, "unknown key \"file\" in [include]");
	loaded_free(&l);

	put("main.conf", "[include]\nfiles = ${RV_TEST_CONF_D}/a.conf\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, 0);
	assert_int_equal(l.specs.n_services, 1);
	loaded_free(&l);
}

/* The same services, in the same order, with the same fingerprints. */
static void same_specs(const struct rv_specs *a, const struct rv_specs *b)
{
	assert_int_equal(a->n_services, b->n_services);
	assert_int_equal(a->n_groups, b->n_groups);
	for (size_t i = 0; i < a->n_services; i++) {
		assert_string_equal(a->services[i].name, b->services[i].name);
		assert_string_equal(a->services[i].file, b->services[i].file);
		assert_int_equal(a->services[i].line, b->services[i].line);
		assert_true(a->services[i].fingerprint ==
			    b->services[i].fingerprint);
	}
}

/*
 * The hand-over's copy of a config (docs/reexec.md): every file read is
 * kept byte for byte; loading from that copy builds the very same specs
 * after the files on disk changed, and says that they did.
 */
static void test_sources_rebuild_the_config(void **state)
{
	struct loaded l = { 0 };
	struct rv_specs again;
	char what[512], path[256];

	(void)state;
	drop("conf.d/a.conf");
	drop("conf.d/b.conf");
	put("main.conf", "[include]\nfiles = conf.d/*.conf extra.conf\n"
		"[service:first]\ncommand = /bin/true\n");
	put("extra.conf", "[service:extra]\ncommand = /bin/true\n");
	put("conf.d/b_9.conf", "[service:b9]\ncommand = /bin/true\n");
	put("conf.d/a.conf", "[service:a]\ncommand = /bin/sleep 1\n");
	load("main.conf", &l);
	assert_int_equal(l.ret, 0);
	assert_int_equal(l.specs.n_sources, 1 + l.specs.n_included);
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	assert_string_equal(l.specs.sources[0].path, path);
	assert_string_equal(l.specs.sources[0].bytes,
			    "[include]\nfiles = conf.d/*.conf extra.conf\n"
			    "[service:first]\ncommand = /bin/true\n");
	snprintf(path, sizeof(path), "%s/conf.d/a.conf", dir);
	assert_string_equal(l.specs.sources[1].path, path);
	assert_int_equal(l.specs.sources[1].len,
			 strlen("[service:a]\ncommand = /bin/sleep 1\n"));
	assert_int_equal(rv_config_sources_changed(&l.specs, what,
						   sizeof(what)), 0);

	/* edited, added, removed on disk: the copy still builds the old */
	put("conf.d/a.conf", "[service:a]\ncommand = /bin/sleep 2\n");
	put("conf.d/c.conf", "[service:c]\ncommand = /bin/true\n");
	drop("extra.conf");
	assert_int_equal(rv_config_sources_changed(&l.specs, what,
						   sizeof(what)), 1);
	if (!strstr(what, "main.conf does not load now"))
		fail_msg("%s", what);
	put("extra.conf", "[service:extra]\ncommand = /bin/true\n");
	assert_int_equal(rv_config_sources_changed(&l.specs, what,
						   sizeof(what)), 1);
	assert_non_null(strstr(what, "conf.d/a.conf changed"));
	assert_int_equal(rv_config_load_sources(l.specs.sources,
						l.specs.n_sources, &again,
						NULL), 0);
	same_specs(&l.specs, &again);
	assert_int_equal(again.n_sources, l.specs.n_sources);
	for (size_t i = 0; i < again.n_sources; i++) {
		assert_string_equal(again.sources[i].path,
				    l.specs.sources[i].path);
		assert_memory_equal(again.sources[i].bytes,
				    l.specs.sources[i].bytes,
				    again.sources[i].len + 1);
	}
	rv_specs_free(&again);

	/* only a file more */
	put("conf.d/a.conf", "[service:a]\ncommand = /bin/sleep 1\n");
	assert_int_equal(rv_config_sources_changed(&l.specs, what,
						   sizeof(what)), 1);
	assert_non_null(strstr(what, "conf.d/c.conf added"));
	drop("conf.d/c.conf");

	/* a copy that lacks an included file: as if it were not there */
	{
		FILE *f;
		char *out = NULL;
		size_t len = 0;
		struct rv_diag d;

		f = open_memstream(&out, &len);
		d = (struct rv_diag){ .out = f };
		assert_int_equal(rv_config_load_sources(l.specs.sources, 2,
							&again, &d), -EINVAL);
		fclose(f);
		assert_non_null(strstr(out, "main.conf:2: error: include: "));
		assert_non_null(strstr(out, "extra.conf: no such file"));
		free(out);
	}
	loaded_free(&l);
	drop("extra.conf");
	drop("conf.d/a.conf");
	drop("conf.d/b_9.conf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_and_named),
		cmocka_unit_test(test_errors_name_the_included_file),
		cmocka_unit_test(test_loops_and_missing),
		cmocka_unit_test(test_keys_of_include),
		cmocka_unit_test(test_sources_rebuild_the_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
