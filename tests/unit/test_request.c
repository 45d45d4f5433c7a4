/* SPDX-License-Identifier: MIT */
/* The control protocol's request parser: good and bad inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "control/request.h"

static int parse(const char *s, struct rv_request *r, char *err)
{
	return rv_request_parse(s, strlen(s), r, err, 256);
}

static void status_without_names(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"status\"}", &r, err), 0);
	assert_int_equal(r.cmd, RV_CMD_STATUS);
	assert_int_equal(r.n_names, 0);
	rv_request_free(&r);
}

static void names_in_order(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"restart\",\"services\":"
			       "[\"web\",\"db@1\"]}", &r, err), 0);
	assert_int_equal(r.cmd, RV_CMD_RESTART);
	assert_int_equal(r.n_names, 2);
	assert_string_equal(r.names[0], "web");
	assert_string_equal(r.names[1], "db@1");
	assert_false(r.rolling);
	rv_request_free(&r);
}

static void restart_rolling(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"restart\",\"services\":[\"web\"],"
			       "\"rolling\":true}", &r, err), 0);
	assert_true(r.rolling);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"restart\",\"services\":[\"web\"],"
			       "\"rolling\":false}", &r, err), 0);
	assert_false(r.rolling);
	rv_request_free(&r);
	/* a rolling restart waits for its rolls to end (waiters.c) */
	assert_int_equal(parse("{\"cmd\":\"restart\",\"services\":[\"web\"],"
			       "\"rolling\":true,\"wait\":true,"
			       "\"timeout_s\":2}", &r, err), 0);
	assert_true(r.rolling);
	assert_true(r.wait);
	rv_request_free(&r);
}

static void expect_error(const char *req, const char *needle)
{
	struct rv_request r;
	char err[256] = "";

	assert_int_equal(parse(req, &r, err), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("%s: error \"%s\" lacks \"%s\"", req, err, needle);
	/* a failed parse leaves nothing to free */
	assert_null(r.doc);
	assert_null(r.names);
}

static void logs_lines_and_follow(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"logs\",\"services\":[\"web\"],"
			       "\"lines\":20,\"follow\":true}", &r, err), 0);
	assert_int_equal(r.cmd, RV_CMD_LOGS);
	assert_int_equal(r.lines, 20);
	assert_true(r.follow);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"logs\",\"services\":[\"web\"]}",
			       &r, err), 0);
	assert_int_equal(r.lines, 0);	/* all */
	assert_false(r.follow);
	rv_request_free(&r);
	expect_error("{\"cmd\":\"logs\"}", "needs at least one service");
	expect_error("{\"cmd\":\"logs\",\"services\":[\"w\"],\"lines\":-1}",
		     "\"lines\" is a number");
	expect_error("{\"cmd\":\"logs\",\"services\":[\"w\"],\"lines\":\"9\"}",
		     "\"lines\" is a number");
}

static void kill_signal_by_name_and_number(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"kill\",\"services\":[\"w\"],"
			       "\"signal\":\"HUP\"}", &r, err), 0);
	assert_int_equal(r.signal, SIGHUP);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"kill\",\"services\":[\"w\"],"
			       "\"signal\":\"SIGUSR2\"}", &r, err), 0);
	assert_int_equal(r.signal, SIGUSR2);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"kill\",\"services\":[\"w\"],"
			       "\"signal\":9}", &r, err), 0);
	assert_int_equal(r.signal, 9);
	rv_request_free(&r);
}

static void not_nul_terminated(void **state)
{
	struct rv_request r;
	char err[256];
	const char buf[] = "{\"cmd\":\"metrics\"}GARBAGE";

	/* only the given length counts */
	assert_int_equal(rv_request_parse(buf, 17, &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, RV_CMD_METRICS);
	rv_request_free(&r);
}

static void bad_requests(void **state)
{
	expect_error("", "invalid JSON");
	expect_error("{\"cmd\":", "invalid JSON");
	expect_error("[\"status\"]", "JSON object");
	expect_error("{}", "missing \"cmd\"");
	expect_error("{\"cmd\":7}", "missing \"cmd\"");
	expect_error("{\"cmd\":\"frobnicate\"}", "unknown command");
	expect_error("{\"cmd\":\"stop\"}", "needs at least one service");
	expect_error("{\"cmd\":\"stop\",\"services\":[]}",
		     "needs at least one service");
	expect_error("{\"cmd\":\"stop\",\"services\":\"web\"}",
		     "must be an array");
	expect_error("{\"cmd\":\"stop\",\"services\":[1]}",
		     "services[0] must be a non-empty string");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"\"]}",
		     "non-empty string");
	/* jansson refuses embedded NULs itself */
	expect_error("{\"cmd\":\"stop\",\"services\":[\"a\\u0000b\"]}",
		     "invalid JSON");
	expect_error("{\"cmd\":\"reload\",\"services\":[\"x\"]}",
		     "takes no services");
	expect_error("{\"cmd\":\"kill\",\"services\":[\"w\"]}",
		     "valid \"signal\"");
	expect_error("{\"cmd\":\"kill\",\"services\":[\"w\"],"
		     "\"signal\":\"SIGNOPE\"}", "valid \"signal\"");
	expect_error("{\"cmd\":\"kill\",\"services\":[\"w\"],\"signal\":0}",
		     "valid \"signal\"");
	expect_error("{\"cmd\":\"status\",\"cmd\":\"stop\"}", "invalid JSON");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"w\"],\"rolling\":true}",
		     "\"rolling\" is a boolean of restart");
	expect_error("{\"cmd\":\"restart\",\"services\":[\"w\"],\"rolling\":1}",
		     "\"rolling\" is a boolean of restart");
}

/* "wait" and "timeout_s" (issue 15: commands that wait) */
static void wait_and_timeout(void **state)
{
	struct rv_request r;
	char err[256];

	assert_int_equal(parse("{\"cmd\":\"stop\",\"services\":[\"w\"],"
			       "\"wait\":true,\"timeout_s\":1.5}", &r, err), 0);
	assert_true(r.wait);
	assert_int_equal(r.timeout_ns, 1500000000LL);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"shutdown\",\"wait\":true}", &r,
			       err), 0);
	assert_true(r.wait);
	assert_int_equal(r.timeout_ns, 0);
	rv_request_free(&r);
	assert_int_equal(parse("{\"cmd\":\"start\",\"services\":[\"w\"],"
			       "\"wait\":false}", &r, err), 0);
	assert_false(r.wait);
	rv_request_free(&r);
	expect_error("{\"cmd\":\"status\",\"wait\":true}", "cannot wait");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"w\"],\"wait\":1}",
		     "true or false");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"w\"],"
		     "\"timeout_s\":2}", "with \"wait\"");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"w\"],\"wait\":true,"
		     "\"timeout_s\":0}", "positive");
	expect_error("{\"cmd\":\"stop\",\"services\":[\"w\"],\"wait\":true,"
		     "\"timeout_s\":\"5s\"}", "positive");
}

static void too_large(void **state)
{
	size_t n = RV_REQUEST_MAX + 1;
	char *big = malloc(n), err[256];
	struct rv_request r;

	assert_non_null(big);
	memset(big, ' ', n);
	assert_int_equal(rv_request_parse(big, n, &r, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "too large"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_without_names),
		cmocka_unit_test(names_in_order),
		cmocka_unit_test(restart_rolling),
		cmocka_unit_test(kill_signal_by_name_and_number),
		cmocka_unit_test(not_nul_terminated),
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(too_large),
		cmocka_unit_test(wait_and_timeout),
		cmocka_unit_test(logs_lines_and_follow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
