/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench scale: N services of rvb-stamp (a program that stamps and
 * sleeps) under one supervisor, for each N of --counts, each supervisor
 * alone:
 *   bring-up   last of the N start stamps - the instant before the bench
 *              forked the supervisor (and the first stamp, which shows
 *              the supervisor's own start-up: exec, config, setup)
 *   memory     Rss and Pss (smaps_rollup) summed over the supervisor's own
 *              processes (the root and every descendant that is not a
 *              service), 1 s after the last start
 *              --repeat K: K bring-ups (median) of ringvisor and the C
 *              loop where one takes under 2 s, in alternating order
 *   idle       context switches (voluntary + involuntary, every thread)
 *              and CPU ticks of those processes over --idle while nothing
 *              happens: wake-ups per second
 * ringvisor runs twice per backend: with the fastest-restart config of
 * every scenario, and with a realistic one (each service with its own
 * max_restarts, restart_window, stop_timeout and environment line).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TARGETS (BENCH_MAX_PEERS + 6)

struct scale_result {
	char *label;
	enum target_kind kind;
	bool realistic;		/* ringvisor with the realistic config */
	long n;
	double bringup_s;	/* the median of runs[] */
	double runs[8];		/* bring-up of each run */
	int nruns;
	double first_s;		/* the first start */
	double stop_s;		/* graceful stop of everything */
	size_t nprocs;
	long rss_kib, pss_kib;
	bool idle;
	double idle_s;
	uint64_t switches;
	uint64_t cpu_ticks;
	char *error;
};

static bool in_list(const char *list, long n)
{
	char *copy, *tok, *save = NULL;
	bool found = false;

	if (!list)
		return true;
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && !found;
	     tok = strtok_r(NULL, ",", &save))
		found = atol(tok) == n;
	free(copy);
	return found;
}

static void sup_sums(const pid_t *pids, size_t n, uint64_t *sw,
		     uint64_t *ticks)
{
	*sw = *ticks = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t s, t;

		if (!proc_ctx(pids[i], &s, &t)) {
			*sw += s;
			*ticks += t;
		}
	}
}

static void measure(struct target *t, int64_t idle, struct scale_result *r)
{
	struct stamp *st = NULL;
	size_t ns = 0, cap = 0;
	int64_t last = 0, first;
	pid_t *pids = NULL;
	int ret;

	r->label = xstrdup(t->label);
	r->kind = t->kind;
	r->realistic = t->realistic;
	r->n = t->n;
	if (target_start(t)) {
		r->error = xstrdup("did not start");
		return;
	}
	ret = target_wait_stamps(t, (size_t)t->n,
				 60 * NS_PER_S + t->n * 10 * NS_PER_MS, &st,
				 &ns, &cap);
	if (ret) {
		char *tail = target_log_tail(t, 3);

		r->error = xasprintf("%zu of %ld services up (%s): %s", ns,
				     t->n, strerror(-ret), tail);
		free(tail);
		goto out;
	}
	first = st[0].ns;
	for (size_t i = 0; i < (size_t)t->n; i++) {
		if (st[i].ns > last)
			last = st[i].ns;
		if (st[i].ns < first)
			first = st[i].ns;
	}
	r->bringup_s = (double)(last - t->started_ns) / 1e9;
	r->runs[r->nruns++] = r->bringup_s;
	r->first_s = (double)(first - t->started_ns) / 1e9;
	sleep_ns(NS_PER_S);
	if (t->pid <= 0 || kill(t->pid, 0)) {
		r->error = xstrdup("supervisor exited");
		goto out;
	}
	r->nprocs = target_sup_pids(t, &pids);
	if (idle > 0) {
		uint64_t sw0, sw1, c0, c1;
		int64_t t0, t1;

		sup_sums(pids, r->nprocs, &sw0, &c0);
		t0 = now_ns();
		sleep_ns(idle);
		t1 = now_ns();
		sup_sums(pids, r->nprocs, &sw1, &c1);
		r->idle = true;
		r->idle_s = (double)(t1 - t0) / 1e9;
		r->switches = sw1 - sw0;
		r->cpu_ticks = c1 - c0;
	}
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc_mem m;

		if (!proc_mem(pids[i], &m)) {
			r->rss_kib += m.rss_kib;
			r->pss_kib += m.pss_kib;
		}
	}
out:
	free(pids);
	free(st);
	if (t->pid > 0) {
		int64_t t0 = now_ns();

		target_stop(t, 120 * NS_PER_S);
		r->stop_s = (double)(now_ns() - t0) / 1e9;
	}
	kill_our_descendants();
}

/* One more bring-up only (no memory, no idle): seconds, or -1. */
static double bringup_again(struct target *t)
{
	struct stamp *st = NULL;
	size_t ns = 0, cap = 0;
	int64_t last = 0;
	double v = -1;

	if (!target_start(t) &&
	    !target_wait_stamps(t, (size_t)t->n,
				60 * NS_PER_S + t->n * 10 * NS_PER_MS, &st, &ns,
				&cap)) {
		for (size_t i = 0; i < (size_t)t->n; i++)
			if (st[i].ns > last)
				last = st[i].ns;
		v = (double)(last - t->started_ns) / 1e9;
	}
	free(st);
	target_stop(t, 120 * NS_PER_S);
	kill_our_descendants();
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * --repeat K: K bring-ups of ringvisor and the C loop where one takes under
 * 2 s, in alternating order (the machine drifts); the median counts.
 */
static void repeat_bringups(struct target **tg, size_t nt,
			    struct scale_result *r)
{
	int k = g_opt.repeat > 8 ? 8 : g_opt.repeat;

	for (int rep = 1; rep < k; rep++) {
		for (size_t j = 0; j < nt; j++) {
			size_t i = rep % 2 ? nt - 1 - j : j;
			double v;

			if (tg[i]->kind == TARGET_PEER || r[i].error ||
			    r[i].runs[0] >= 2.0)
				continue;
			v = bringup_again(tg[i]);
			if (v >= 0)
				r[i].runs[r[i].nruns++] = v;
		}
	}
	for (size_t i = 0; i < nt; i++) {
		double sorted[8];

		if (r[i].nruns < 2)
			continue;
		memcpy(sorted, r[i].runs, sizeof(sorted));
		qsort(sorted, (size_t)r[i].nruns, sizeof(*sorted), cmp_double);
		r[i].bringup_s = sorted[(r[i].nruns - 1) / 2];
		msg("  %s, N=%ld: bring-ups %d, median %.3f s", r[i].label,
		    r[i].n, r[i].nruns, r[i].bringup_s);
	}
}

int cmd_scale(void)
{
	const char *counts = g_opt.counts ? g_opt.counts : "100,1000,10000";
	int64_t idle = g_opt.idle_ns ? g_opt.idle_ns : 10 * NS_PER_S;
	struct scale_result *res = NULL;
	size_t nres = 0;
	char *copy, *tok, *save = NULL;
	FILE *f;
	json_t *rep, *rows;

	if (idle < 0)
		idle = 0;
	if (!g_opt.backends)
		g_opt.backends = "io_uring";
	targets_init();
	copy = xstrdup(counts);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		long n = atol(tok);
		struct target *tg[MAX_TARGETS];
		char *tag = xasprintf("scale-%ld", n);
		size_t nt;
		int64_t this_idle = in_list(g_opt.idle_counts, n) ? idle : 0;

		if (n < 1)
			die("--counts: bad count \"%s\"", tok);
		nt = targets_make(tg, MAX_TARGETS, tag, n, false, true);
		res = realloc(res, (nres + nt) * sizeof(*res));
		if (!res)
			die("out of memory");
		memset(res + nres, 0, nt * sizeof(*res));
		for (size_t i = 0; i < nt; i++) {
			struct scale_result *r = &res[nres + i];

			msg("scale: %s, N=%ld%s", tg[i]->label, n,
			    this_idle ? " (with idle window)" : "");
			measure(tg[i], this_idle, r);
			if (r->error)
				msg("  %s", r->error);
			else
				msg("  bring-up %.3f s, %zu procs, RSS %ld KiB, "
				    "PSS %ld KiB, stopped in %.2f s",
				    r->bringup_s, r->nprocs, r->rss_kib,
				    r->pss_kib, r->stop_s);
		}
		repeat_bringups(tg, nt, res + nres);
		for (size_t i = 0; i < nt; i++)
			target_free(tg[i]);
		nres += nt;
		free(tag);
	}
	free(copy);

	f = g_opt.json ? stderr : stdout;
	fprintf(f, "\nscale: N sleeping services\n%-40s %6s %6s %11s %9s "
		"%10s %10s %10s\n", "", "N", "procs", "bring-up ms", "vs C loop",
		"RSS MiB", "PSS MiB", "wakeups/s");
	for (size_t i = 0; i < nres; i++) {
		struct scale_result *r = &res[i];
		double base = 0;

		for (size_t j = 0; j < nres; j++)
			if (res[j].kind == TARGET_CLOOP && res[j].n == r->n &&
			    !res[j].error)
				base = res[j].bringup_s;
		if (r->error) {
			fprintf(f, "%-40s %6ld  %s\n", r->label, r->n,
				r->error);
			continue;
		}
		fprintf(f, "%-40s %6ld %6zu %11.1f %8.2fx %10.2f %10.2f ",
			r->label, r->n, r->nprocs, r->bringup_s * 1e3,
			base > 0 ? r->bringup_s / base : 0,
			(double)r->rss_kib / 1024, (double)r->pss_kib / 1024);
		if (r->idle)
			fprintf(f, "%10.2f\n", (double)r->switches / r->idle_s);
		else
			fprintf(f, "%10s\n", "-");
	}

	rep = report_new();
	json_object_set_new(rep, "params", json_pack("{s:s,s:f}", "counts",
		counts, "idle_s", (double)idle / 1e9));
	rows = json_array();
	for (size_t i = 0; i < nres; i++) {
		struct scale_result *r = &res[i];
		json_t *row = json_pack("{s:s,s:s,s:I}", "label", r->label,
			"kind", r->kind == TARGET_RINGVISOR ? "ringvisor" :
			r->kind == TARGET_CLOOP ? "baseline" : "peer",
			"n", (json_int_t)r->n);

		if (r->kind == TARGET_RINGVISOR)
			json_object_set_new(row, "config", json_string(
				r->realistic ? "realistic" : "fastest"));

		if (r->error) {
			json_object_set_new(row, "error",
					    json_string(r->error));
		} else {
			json_t *runs = json_array();

			for (int k = 0; k < r->nruns; k++)
				json_array_append_new(runs,
						      json_real(r->runs[k]));
			json_object_set_new(row, "bringup_s",
					    json_real(r->bringup_s));
			json_object_set_new(row, "bringup_runs_s", runs);
			json_object_set_new(row, "first_start_s",
					    json_real(r->first_s));
			json_object_set_new(row, "stop_s",
					    json_real(r->stop_s));
			json_object_set_new(row, "procs",
					    json_integer((json_int_t)r->nprocs));
			json_object_set_new(row, "rss_kib",
					    json_integer(r->rss_kib));
			json_object_set_new(row, "pss_kib",
					    json_integer(r->pss_kib));
		}
		if (r->idle) {
			json_object_set_new(row, "idle_s",
					    json_real(r->idle_s));
			json_object_set_new(row, "idle_switches",
				json_integer((json_int_t)r->switches));
			json_object_set_new(row, "idle_cpu_ticks",
				json_integer((json_int_t)r->cpu_ticks));
			json_object_set_new(row, "wakeups_per_s", json_real(
				(double)r->switches / r->idle_s));
		}
		json_array_append_new(rows, row);
		free(r->label);
		free(r->error);
	}
	json_object_set_new(rep, "results", rows);
	report_emit(rep);
	free(res);
	return 0;
}
