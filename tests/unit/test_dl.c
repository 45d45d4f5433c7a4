// SPDX-License-Identifier: MIT
/*
 * Libraries loaded when a feature needs them (src/util/dl.c, used for
 * libmicrohttpd and libsystemd): the table is filled from the real
 * library, and a missing library or symbol is an error that names it,
 * with nothing left loaded.  The HTTP endpoint's and the journal's
 * tables load from the installed libraries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/http.h"
#include "control/mhd.h"
#include "util/dl.h"
#include "util/journal.h"

static const char *const libc_names[] = { "strlen", "getpid" };

static void test_resolves_every_symbol(void **state)
{
	struct rv_dl lib = { "libc.so.6", libc_names, 2, NULL };
	void *syms[2] = { 0 };
	char why[200] = "";
	size_t (*len)(const char *);

	(void)state;
	assert_int_equal(rv_dl_load(&lib, syms, why, sizeof(why)), 0);
	assert_non_null(lib.handle);
	len = (size_t (*)(const char *))syms[0];
	assert_int_equal(len("four"), 4);
	assert_non_null(syms[1]);
	/* once loaded, the next call does nothing */
	assert_int_equal(rv_dl_load(&lib, syms, why, sizeof(why)), 0);
}

static void test_missing_library_is_named(void **state)
{
	struct rv_dl lib = { "libringvisor-absent.so.9", libc_names, 2,
			     NULL };
	void *syms[2];
	char why[300] = "";

	(void)state;
	assert_int_equal(rv_dl_load(&lib, syms, why, sizeof(why)), -ENOENT);
	assert_null(lib.handle);
	assert_non_null(strstr(why, "cannot load libringvisor-absent.so.9"));
}

static void test_missing_symbol_is_named(void **state)
{
	static const char *const names[] = { "strlen", "rv_no_such_fn" };
	struct rv_dl lib = { "libc.so.6", names, 2, NULL };
	void *syms[2];
	char why[300] = "";

	(void)state;
	assert_int_equal(rv_dl_load(&lib, syms, why, sizeof(why)), -ENOENT);
	assert_null(lib.handle);
	assert_non_null(strstr(why, "libc.so.6 has no rv_no_such_fn"));
}

static void test_mhd_table_is_filled(void **state)
{
	char why[300] = "";

	(void)state;
	assert_int_equal(rv_http_load(why, sizeof(why)), 0);
	assert_non_null(rv_mhd.start_daemon);
	assert_non_null(rv_mhd.resume_connection);
}

static void test_journal_loads(void **state)
{
	char why[300] = "";

	(void)state;
	assert_int_equal(rv_journal_load(why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolves_every_symbol),
		cmocka_unit_test(test_missing_library_is_named),
		cmocka_unit_test(test_missing_symbol_is_named),
		cmocka_unit_test(test_mhd_table_is_filled),
		cmocka_unit_test(test_journal_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
