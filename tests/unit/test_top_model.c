/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top`'s model (src/cli/cli_top_model.c, compiled into this
 * test): the tree order of a status document, folds that survive a new
 * document, the filter, the sorts, the sparkline's slots, and events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_top_model.h"

static json_t *doc(int web_restarts, int db_restarts)
{
	json_t *j = json_pack(
		"{s:{s:s, s:i, s:f, s:s, s:s, s:i},"
		" s:[{s:s, s:s, s:s, s:i}],"
		" s:[{s:s, s:s, s:s, s:i, s:f, s:i, s:b, s:n, s:n},"
		"    {s:s, s:s, s:s, s:n, s:n, s:i, s:b, s:{s:i}, s:f},"
		"    {s:s, s:s, s:s, s:i, s:f, s:i, s:b, s:n, s:n}]}",
		"supervisor", "state", "alive", "pid", 10, "uptime_s", 5.0,
		"backend", "epoll", "strategy", "one_for_one",
		"restarts_in_window", 0,
		"supervisors", "name", "pool", "parent", "main", "state",
		"running", "restarts", 0,
		"services",
		"name", "web@0", "supervisor", "main", "state", "running",
		"pid", 11, "uptime_s", 4.0, "restarts", web_restarts, "ready", 1,
		"last_exit", "next_restart_in_s",
		"name", "db", "supervisor", "pool", "state", "backoff",
		"pid", "uptime_s", "restarts", db_restarts, "ready", 0,
		"last_exit", "code", 3, "next_restart_in_s", 1.5,
		"name", "cache", "supervisor", "pool", "state", "running",
		"pid", 12, "uptime_s", 4.0, "restarts", 0, "ready", 1,
		"last_exit", "next_restart_in_s");

	assert_non_null(j);
	return j;
}

static void load(struct top_model *m, int web, int db, int64_t now_ms)
{
	json_t *j = doc(web, db);

	assert_int_equal(top_model_load(m, j, now_ms), 0);
	json_decref(j);
}

/* "main pool cache db web@0" with depths "0 1 2 2 1" */
static void expect_view(const struct top_model *m, const char *names,
			const char *depths)
{
	char got[256] = "", dep[64] = "";

	for (size_t i = 0; i < m->n_view; i++) {
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 i ? " " : "", m->view[i]->name);
		snprintf(dep + strlen(dep), sizeof(dep) - strlen(dep), "%s%d",
			 i ? " " : "", m->view[i]->depth);
	}
	assert_string_equal(got, names);
	if (depths)
		assert_string_equal(dep, depths);
}

static const struct top_row *find(const struct top_model *m,
				  const char *name)
{
	for (size_t i = 0; i < m->n_rows; i++)
		if (!strcmp(m->rows[i].name, name))
			return &m->rows[i];
	fail_msg("no row %s", name);
	return NULL;
}

static void tree_order(void **state)
{
	struct top_model m = { 0 };

	load(&m, 0, 0, 0);
	/* supervisors before services, members under their supervisor */
	expect_view(&m, "main pool cache db web@0", "0 1 2 2 1");
	assert_string_equal(find(&m, "db")->last_exit, "exit 3");
	assert_true(find(&m, "db")->next_s > 1.4);
	assert_int_equal(find(&m, "pool")->ready, -1);
	top_model_free(&m);
}

static void fold_survives_a_new_document(void **state)
{
	struct top_model m = { 0 };

	load(&m, 0, 0, 0);
	top_model_fold(&m, "pool", true);
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool web@0", NULL);
	load(&m, 0, 0, 1000);
	expect_view(&m, "main pool web@0", NULL);
	assert_true(find(&m, "pool")->folded);
	assert_true(find(&m, "pool")->has_children);
	/* a filter shows what matches inside a folded subtree */
	snprintf(m.filter, sizeof(m.filter), "DB");
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool db", NULL);
	top_model_fold(&m, "pool", false);
	m.filter[0] = '\0';
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool cache db web@0", NULL);
	top_model_free(&m);
}

static void filter_keeps_the_path(void **state)
{
	struct top_model m = { 0 };

	load(&m, 0, 0, 0);
	snprintf(m.filter, sizeof(m.filter), "web");
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main web@0", NULL);
	snprintf(m.filter, sizeof(m.filter), "nothing");
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main", NULL);
	top_model_free(&m);
}

static void sorts(void **state)
{
	struct top_model m = { 0 };

	load(&m, 0, 5, 0);
	m.sort = TOP_SORT_STATE;	/* backoff before running */
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool db cache web@0", NULL);
	m.sort = TOP_SORT_RESTARTS;
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool db cache web@0", NULL);
	m.sort = TOP_SORT_NAME;
	assert_int_equal(top_model_view(&m), 0);
	expect_view(&m, "main pool cache db web@0", NULL);
	assert_string_equal(top_sort_name(TOP_SORT_RESTARTS), "restarts");
	top_model_free(&m);
}

static void sparkline_slots(void **state)
{
	struct top_model m = { 0 };
	const int64_t slot = TOP_SPARK_SLOT_S * 1000;
	const struct top_row *db;

	load(&m, 0, 7, 0);	/* the first count is the baseline */
	db = find(&m, "db");
	assert_int_equal(top_model_per_min(&m, db), 0);
	load(&m, 0, 10, slot / 2);
	db = find(&m, "db");
	assert_int_equal(top_model_spark(&m, db)[TOP_SPARK_SLOTS - 1], 3);
	assert_int_equal(top_model_per_min(&m, db), 3);
	assert_int_equal(top_model_per_min(&m, find(&m, "web@0")), 0);
	/* a minute on, out of the last minute, still on the line */
	top_model_tick(&m, slot / 2 + 60 * 1000);
	assert_int_equal(top_model_per_min(&m, db), 0);
	assert_int_equal(top_model_spark(&m, db)[TOP_SPARK_SLOTS - 7], 3);
	/* two minutes on, gone */
	top_model_tick(&m, slot / 2 + 120 * 1000);
	for (int i = 0; i < TOP_SPARK_SLOTS; i++)
		assert_int_equal(top_model_spark(&m, db)[i], 0);
	top_model_free(&m);
}

static void event_updates_its_row(void **state)
{
	struct top_model m = { 0 };
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:s, s:b},"
			       " s:i}", "event", "state", "service", "web@0",
			       "from", "running", "to", "backoff", "pid", 0,
			       "exit", "signal", "SIGKILL", "core_dumped", 0,
			       "restarts", 1);
	const struct top_row *web;

	load(&m, 0, 0, 0);
	assert_true(top_model_event(&m, ev, 100));
	web = find(&m, "web@0");
	assert_string_equal(web->state, "backoff");
	assert_string_equal(web->last_exit, "SIGKILL");
	assert_int_equal(web->restarts, 1);
	assert_int_equal(top_model_per_min(&m, web), 1);
	json_decref(ev);
	ev = json_pack("{s:s, s:s}", "event", "state", "service", "new");
	assert_false(top_model_event(&m, ev, 100));
	json_decref(ev);
	top_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tree_order),
		cmocka_unit_test(fold_survives_a_new_document),
		cmocka_unit_test(filter_keeps_the_path),
		cmocka_unit_test(sorts),
		cmocka_unit_test(sparkline_slots),
		cmocka_unit_test(event_updates_its_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
