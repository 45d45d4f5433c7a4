/* SPDX-License-Identifier: MIT */
/*
 * The jobs' merge table and the state x event tables of services and
 * nodes: every cell defined, the rules the issue names, and the tables of
 * docs/state-machine.md equal to the code's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree/job.h"
#include "tree/tree.h"

#ifndef RV_SOURCE_DIR
#define RV_SOURCE_DIR "."
#endif

static enum rv_job_type merged(enum rv_job_type pending, enum rv_job_type req,
			       enum rv_job_verdict *v)
{
	*v = rv_job_merge(&pending, req);
	return pending;
}

static void test_every_pair_is_defined(void **state)
{
	for (int p = 0; p < RV_JOB_NTYPES; p++)
		for (int r = 1; r < RV_JOB_NTYPES; r++) {
			enum rv_job_verdict v;
			enum rv_job_type after = merged(p, r, &v);

			assert_true(after < RV_JOB_NTYPES);
			assert_true(v <= RV_JOB_REFUSED);
			/* nothing pending: the request is the job */
			if (p == RV_JOB_NONE) {
				assert_int_equal(after, r);
				assert_int_equal(v, RV_JOB_INSTALLED);
			}
			/* a refusal changes nothing; so does absorption */
			if (v == RV_JOB_REFUSED || v == RV_JOB_ABSORBED)
				assert_int_equal(after, p);
			/* never back to nothing */
			assert_int_not_equal(after, RV_JOB_NONE);
		}
}

static void test_systemd_rules(void **state)
{
	enum rv_job_verdict v;

	/* start after a pending stop is a restart */
	assert_int_equal(merged(RV_JOB_STOP, RV_JOB_START, &v),
			 RV_JOB_RESTART);
	assert_int_equal(v, RV_JOB_MERGED);
	/* stop supersedes start and restart */
	assert_int_equal(merged(RV_JOB_START, RV_JOB_STOP, &v), RV_JOB_STOP);
	assert_int_equal(v, RV_JOB_SUPERSEDED);
	assert_int_equal(merged(RV_JOB_RESTART, RV_JOB_STOP, &v),
			 RV_JOB_STOP);
	/* a reload's restart absorbs an admin start */
	assert_int_equal(merged(RV_JOB_RESTART, RV_JOB_START, &v),
			 RV_JOB_RESTART);
	assert_int_equal(v, RV_JOB_ABSORBED);
	/* a member being removed is not started again */
	assert_int_equal(merged(RV_JOB_REMOVE, RV_JOB_START, &v),
			 RV_JOB_REMOVE);
	assert_int_equal(v, RV_JOB_REFUSED);
	/* the group owns its members until its operation is over */
	assert_int_equal(merged(RV_JOB_STOP_GROUP, RV_JOB_START, &v),
			 RV_JOB_STOP_GROUP);
	assert_int_equal(v, RV_JOB_ABSORBED);
}

/* Whatever follows a shutdown, in any order, it stays (or the member is
 * being removed, which stops it too). */
static void test_shutdown_is_final(void **state)
{
	enum rv_job_type start[] = { RV_JOB_NONE, RV_JOB_START, RV_JOB_STOP,
				     RV_JOB_STOP_GROUP, RV_JOB_RESTART };
	int n = RV_JOB_NTYPES - 1;

	for (size_t s = 0; s < sizeof(start) / sizeof(*start); s++)
		for (int a = 1; a <= n; a++)
			for (int b = 1; b <= n; b++)
				for (int c = 1; c <= n; c++) {
					enum rv_job_type j = start[s];
					enum rv_job_verdict v;

					rv_job_merge(&j, RV_JOB_SHUTDOWN);
					assert_int_equal(j, RV_JOB_SHUTDOWN);
					j = merged(j, a, &v);
					j = merged(j, b, &v);
					j = merged(j, c, &v);
					assert_int_equal(j, RV_JOB_SHUTDOWN);
				}
}

static void test_state_tables_complete(void **state)
{
	assert_true(rv_service_table_complete());
	assert_true(rv_node_table_complete());
}

/* ---- the docs ---- */

static char *read_doc(void)
{
	FILE *f = fopen(RV_SOURCE_DIR "/docs/state-machine.md", "r");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* The markdown table between <!-- tag --> and <!-- /tag --> of doc. */
static char *section(const char *doc, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<!-- %s -->\n", tag);
	snprintf(close, sizeof(close), "<!-- /%s -->", tag);
	a = strstr(doc, open);
	assert_non_null(a);
	a += strlen(open);
	b = strstr(a, close);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

static void append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	assert_non_null(*buf);
	va_start(ap, fmt);
	vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
}

static void test_doc_job_table(void **state)
{
	char *doc = read_doc(), *want = section(doc, "job-table");
	char *got = NULL;
	size_t len = 0;

	append(&got, &len, "| pending \\ request |");
	for (int r = 1; r < RV_JOB_NTYPES; r++)
		append(&got, &len, " %s |", rv_job_name(r));
	append(&got, &len, "\n| --- |");
	for (int r = 1; r < RV_JOB_NTYPES; r++)
		append(&got, &len, " --- |");
	append(&got, &len, "\n");
	for (int p = 0; p < RV_JOB_NTYPES; p++) {
		append(&got, &len, "| %s |", rv_job_name(p));
		for (int r = 1; r < RV_JOB_NTYPES; r++) {
			enum rv_job_verdict v;
			enum rv_job_type j = merged(p, r, &v);

			append(&got, &len, " %s (%s) |", rv_job_name(j),
			       rv_job_verdict_name(v));
		}
		append(&got, &len, "\n");
	}
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(doc);
}

/* A state x event table of the code, rendered as the docs write it. */
struct table_view {
	const char *tag;
	int n_states;
	const char *(*state)(int s);
	int (*events)(void);
	const char *(*event)(int ev);
	const char *(*action)(int s, int ev);
};

static void doc_table_matches(const struct table_view *t)
{
	char *doc = read_doc(), *want = section(doc, t->tag);
	char *got = NULL;
	size_t len = 0;
	int n_ev = t->events();

	append(&got, &len, "| state \\ event |");
	for (int e = 0; e < n_ev; e++)
		append(&got, &len, " %s |", t->event(e));
	append(&got, &len, "\n| --- |");
	for (int e = 0; e < n_ev; e++)
		append(&got, &len, " --- |");
	append(&got, &len, "\n");
	for (int s = 0; s < t->n_states; s++) {
		append(&got, &len, "| %s |", t->state(s));
		for (int e = 0; e < n_ev; e++)
			append(&got, &len, " %s |", t->action(s, e));
		append(&got, &len, "\n");
	}
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(doc);
}

static const char *svc_state(int s)
{
	return rv_svc_state_name((enum rv_svc_state)s);
}

static const char *node_state(int s)
{
	return rv_node_state_name((enum rv_node_state)s);
}

static void test_doc_service_table(void **state)
{
	const struct table_view t = {
		"service-table", RV_SVC_NSTATES, svc_state,
		rv_service_table_events, rv_service_table_event,
		rv_service_table_action,
	};

	doc_table_matches(&t);
}

static void test_doc_node_table(void **state)
{
	const struct table_view t = {
		"node-table", RV_NODE_NSTATES, node_state,
		rv_node_table_events, rv_node_table_event,
		rv_node_table_action,
	};

	doc_table_matches(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair_is_defined),
		cmocka_unit_test(test_systemd_rules),
		cmocka_unit_test(test_shutdown_is_final),
		cmocka_unit_test(test_state_tables_complete),
		cmocka_unit_test(test_doc_job_table),
		cmocka_unit_test(test_doc_service_table),
		cmocka_unit_test(test_doc_node_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
