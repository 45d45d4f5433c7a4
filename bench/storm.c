/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench storm: N services (default 1,000) that have all run for
 * at least 1.5 s are SIGKILLed at once (a pidfd each, opened first, then
 * the signals in a tight loop).  Measured: the time until every one has
 * been restarted (last new stamp - t0, t0 = just before the first kill),
 * the per-service latency distribution, and whether every exit was counted
 * exactly once:
 *   ringvisor  its log has exactly one `event=exit` line per killed pid, and
 *              its exit report shows restarts = 1 for every service
 *   all        exactly N new instances started, one per service (by
 *              STAMP_ID where the supervisor passes it on), none extra in
 *              the second after
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TARGETS (BENCH_MAX_PEERS + 4)

struct storm_result {
	struct series *s;
	int64_t kill_spread;	/* first to last kill */
	int64_t all_back;	/* t0 -> last new stamp */
	long restarted;		/* new instances within the timeout */
	long extra;		/* more new instances than kills */
	long ids_ok;		/* services with exactly one new instance */
	bool ids_known;
	long exits_once;	/* ringvisor: killed pids logged exactly once */
	long exits_dup;
	long exits_missing;
	long report_ok;		/* ringvisor: services with restarts == 1 */
	bool checked_log;
	char *error;
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* ringvisor's log: `event=exit` lines of the killed pids. */
static void check_log(const struct target *t, const pid_t *killed, long n,
		      struct storm_result *r)
{
	int *seen = xcalloc((size_t)n, sizeof(*seen));
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(t->log, "re");

	if (!f) {
		free(seen);
		return;
	}
	while (getline(&line, &cap, f) >= 0) {
		const char *p;
		pid_t pid, *hit;

		if (!strstr(line, " event=exit ") ||
		    !(p = strstr(line, " pid=")))
			continue;
		pid = (pid_t)atol(p + 5);
		hit = bsearch(&pid, killed, (size_t)n, sizeof(*killed),
			      cmp_pid);
		if (hit)
			seen[hit - killed]++;
	}
	free(line);
	fclose(f);
	for (long i = 0; i < n; i++) {
		if (seen[i] == 1)
			r->exits_once++;
		else if (seen[i] > 1)
			r->exits_dup++;
		else
			r->exits_missing++;
	}
	r->checked_log = true;
	free(seen);
}

static void check_report(const struct target *t, struct storm_result *r)
{
	json_error_t err;
	json_t *rep = json_load_file(t->report, 0, &err), *svcs, *s;
	size_t i;

	if (!rep) {
		msg("%s: no exit report: %s", t->label, err.text);
		return;
	}
	svcs = json_object_get(rep, "services");
	json_array_foreach(svcs, i, s) {
		if (json_integer_value(json_object_get(s, "restarts")) == 1)
			r->report_ok++;
	}
	json_decref(rep);
}

static void measure(struct target *t, int64_t timeout, struct storm_result *r)
{
	long n = t->n;
	struct stamp *st = NULL;
	size_t ns = 0, cap = 0;
	int64_t last = 0, t0, t1;
	pid_t *killed = xcalloc((size_t)n, sizeof(*killed));
	int *fds = xcalloc((size_t)n, sizeof(*fds));
	int *per_id;
	int ret;

	r->s = series_new(t->label);
	if (target_start(t)) {
		r->error = xstrdup("did not start");
		goto out;
	}
	ret = target_wait_stamps(t, (size_t)n, 120 * NS_PER_S, &st, &ns, &cap);
	if (ret) {
		char *tail = target_log_tail(t, 3);

		r->error = xasprintf("%zu of %ld services up: %s", ns, n, tail);
		free(tail);
		goto out;
	}
	for (long i = 0; i < n; i++)
		if (st[i].ns > last)
			last = st[i].ns;
	/* every instance has run 1.5 s: no restart throttle applies */
	sleep_until(last + 1500 * NS_PER_MS);
	target_read_stamps(t, &st, &ns, &cap);
	if (ns != (size_t)n) {
		r->error = xasprintf("%zu starts before the storm, expected %ld",
				     ns, n);
		goto out;
	}
	for (long i = 0; i < n; i++) {
		fds[i] = pidfd_open_(st[i].pid);
		if (fds[i] < 0) {
			r->error = xasprintf("pidfd_open(%d): %s",
					     (int)st[i].pid, strerror(errno));
			for (long j = 0; j < i; j++)
				close(fds[j]);
			goto out;
		}
		killed[i] = st[i].pid;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		pidfd_kill(fds[i], SIGKILL);
	t1 = now_ns();
	for (long i = 0; i < n; i++)
		close(fds[i]);
	r->kill_spread = t1 - t0;
	ret = target_wait_stamps(t, 2 * (size_t)n, timeout, &st, &ns, &cap);
	if (ret)
		msg("%s: only %zu of %ld restarted within %.0f s", t->label,
		    ns - (size_t)n, n, (double)timeout / 1e9);
	sleep_ns(NS_PER_S);
	target_read_stamps(t, &st, &ns, &cap);
	for (size_t i = (size_t)n; i < ns && i < 2 * (size_t)n; i++) {
		series_add(r->s, st[i].ns - t0);
		if (st[i].ns - t0 > r->all_back)
			r->all_back = st[i].ns - t0;
	}
	r->restarted = (long)(ns - (size_t)n) > n ? n : (long)(ns - (size_t)n);
	r->extra = ns > 2 * (size_t)n ? (long)(ns - 2 * (size_t)n) : 0;
	per_id = xcalloc((size_t)n, sizeof(*per_id));
	r->ids_known = true;
	for (size_t i = (size_t)n; i < ns; i++) {
		if (st[i].id < 0 || st[i].id >= n)
			r->ids_known = false;
		else
			per_id[st[i].id]++;
	}
	for (long i = 0; i < n; i++)
		r->ids_ok += per_id[i] == 1;
	free(per_id);
	target_stop(t, 120 * NS_PER_S);
	if (t->kind == TARGET_RINGVISOR) {
		qsort(killed, (size_t)n, sizeof(*killed), cmp_pid);
		check_log(t, killed, n, r);
		check_report(t, r);
	}
out:
	target_stop(t, 120 * NS_PER_S);
	kill_our_descendants();
	free(st);
	free(fds);
	free(killed);
}

static const char *verdict(const struct target *t, const struct storm_result *r)
{
	long n = t->n;

	if (r->error)
		return "error";
	if (r->restarted != n || r->extra)
		return "FAIL";
	if (r->ids_known && r->ids_ok != n)
		return "FAIL";
	if (r->checked_log && (r->exits_once != n || r->report_ok != n))
		return "FAIL";
	return "ok";
}

int cmd_storm(void)
{
	struct target *tg[MAX_TARGETS];
	struct storm_result res[MAX_TARGETS];
	struct series *ss[MAX_TARGETS];
	long n = g_opt.n ? g_opt.n : 1000;
	int64_t timeout = g_opt.timeout_ns ? g_opt.timeout_ns : 60 * NS_PER_S;
	size_t nt, i;
	FILE *f;
	json_t *rep, *rows;
	int status = 0;

	if (!g_opt.backends)
		g_opt.backends = "io_uring";
	targets_init();
	nt = targets_make(tg, MAX_TARGETS, "storm", n, false, false);
	memset(res, 0, sizeof(res));
	for (i = 0; i < nt; i++) {
		msg("storm: %s, N=%ld", tg[i]->label, n);
		measure(tg[i], timeout, &res[i]);
		ss[i] = res[i].s;
		if (res[i].error)
			msg("  %s", res[i].error);
	}

	f = g_opt.json ? stderr : stdout;
	fprintf(f, "\nstorm: %ld services SIGKILLed at once\n%-40s %10s %11s "
		"%10s %10s %9s %s\n", n, "", "kills (ms)", "all back ms",
		"p50 ms", "p99 ms", "restarted", "exits counted once");
	for (i = 0; i < nt; i++) {
		struct storm_result *r = &res[i];

		if (r->error) {
			fprintf(f, "%-40s  %s\n", tg[i]->label, r->error);
			continue;
		}
		fprintf(f, "%-40s %10.2f %11.1f %10.1f %10.1f %9ld ",
			tg[i]->label, (double)r->kill_spread / 1e6,
			(double)r->all_back / 1e6,
			(double)series_pct(r->s, 50) / 1e6,
			(double)series_pct(r->s, 99) / 1e6, r->restarted);
		if (r->checked_log)
			fprintf(f, "%ld/%ld (dup %ld, missing %ld; report %ld) ",
				r->exits_once, n, r->exits_dup,
				r->exits_missing, r->report_ok);
		fprintf(f, "%s\n", verdict(tg[i], r));
		if (strcmp(verdict(tg[i], r), "ok"))
			status = 1;
	}
	emit_extras("storm: SIGKILL of all -> each service back", ss, nt);

	rep = report_new();
	json_object_set_new(rep, "params", json_pack("{s:I,s:f}", "n",
		(json_int_t)n, "timeout_s", (double)timeout / 1e9));
	rows = json_array();
	for (i = 0; i < nt; i++) {
		struct storm_result *r = &res[i];
		json_t *row = series_json(r->s);

		json_object_set_new(row, "kind", json_string(
			tg[i]->kind == TARGET_RINGVISOR ? "ringvisor" :
			tg[i]->kind == TARGET_CLOOP ? "baseline" : "peer"));
		json_object_set_new(row, "verdict",
				    json_string(verdict(tg[i], r)));
		if (r->error) {
			json_object_set_new(row, "error",
					    json_string(r->error));
		} else {
			json_object_set_new(row, "kill_spread_ms", json_real(
				(double)r->kill_spread / 1e6));
			json_object_set_new(row, "all_back_ms", json_real(
				(double)r->all_back / 1e6));
			json_object_set_new(row, "restarted",
					    json_integer(r->restarted));
			json_object_set_new(row, "extra_starts",
					    json_integer(r->extra));
			if (r->ids_known)
				json_object_set_new(row, "services_once",
						    json_integer(r->ids_ok));
		}
		if (r->checked_log) {
			json_object_set_new(row, "exits_once",
					    json_integer(r->exits_once));
			json_object_set_new(row, "exits_duplicate",
					    json_integer(r->exits_dup));
			json_object_set_new(row, "exits_missing",
					    json_integer(r->exits_missing));
			json_object_set_new(row, "report_restarts_1",
					    json_integer(r->report_ok));
		}
		json_array_append_new(rows, row);
	}
	json_object_set_new(rep, "results", rows);
	report_emit(rep);
	for (i = 0; i < nt; i++) {
		series_free(res[i].s);
		free(res[i].error);
		target_free(tg[i]);
	}
	return status;
}
