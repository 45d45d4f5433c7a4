/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench flap: restarts per second of a service that exits at
 * once (rvb-flap: stamp, exit 1), with zero backoff, against the raw
 * spawn/reap ceiling of this machine: this process running vfork() +
 * execve(rvb-flap) + waitpid() in a loop, half of its time before the
 * supervisors and half after, so a drift of the machine shows in both.
 * Each supervisor runs alone: 1 s warm-up, then the starts stamped inside
 * --duration are counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TARGETS (BENCH_MAX_PEERS + 4)

extern char **environ;

struct flap_result {
	double starts;
	double secs;
	double cpu_s;		/* supervisor processes, utime + stime */
	struct series *gaps;	/* between consecutive starts */
	char *error;
};

/*
 * The ceiling: the least a supervisor can do per restart, serially for
 * d ns: vfork() + execve() (no signal resets, no fd work, nothing between
 * them) and waitpid().  Returns the starts.
 */
static long ceiling(const char *stamps, int64_t d, int64_t *elapsed)
{
	char *argv[] = { g_flap_bin, NULL };
	char *env = xasprintf("STAMP_FILE=%s", stamps);
	char *envp[] = { env, NULL };
	int64_t t0 = now_ns(), end = t0 + d;
	long n = 0;

	while (now_ns() < end) {
		pid_t pid = vfork();

		if (pid == 0) {
			execve(g_flap_bin, argv, envp);
			_exit(127);
		}
		if (pid < 0)
			die("vfork: %s", strerror(errno));
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		n++;
	}
	*elapsed = now_ns() - t0;
	free(env);
	return n;
}

static uint64_t sup_ticks(const struct target *t)
{
	uint64_t sum = 0, sw, ticks;
	pid_t *pids;
	size_t n = target_sup_pids(t, &pids);

	for (size_t i = 0; i < n; i++)
		if (!proc_ctx(pids[i], &sw, &ticks))
			sum += ticks;
	free(pids);
	return sum;
}

static void measure(struct target *t, int64_t d, struct flap_result *r)
{
	struct stamp *st = NULL;
	size_t n = 0, cap = 0, first;
	uint64_t c0, c1;
	int64_t ta, tb, last = -1;

	r->gaps = series_new(t->label);
	if (target_start(t)) {
		r->error = xstrdup("did not start");
		return;
	}
	if (target_wait_stamps(t, 1, 15 * NS_PER_S, &st, &n, &cap)) {
		char *tail = target_log_tail(t, 3);

		r->error = xasprintf("no start within 15 s: %s", tail);
		free(tail);
		target_stop(t, 10 * NS_PER_S);
		free(st);
		return;
	}
	sleep_ns(NS_PER_S);
	c0 = sup_ticks(t);
	ta = now_ns();
	sleep_ns(d);
	tb = now_ns();
	c1 = sup_ticks(t);
	target_stop(t, 30 * NS_PER_S);
	target_read_stamps(t, &st, &n, &cap);
	for (first = 0; first < n && st[first].ns < ta; first++)
		;
	for (size_t i = first; i < n && st[i].ns <= tb; i++) {
		r->starts++;
		if (last >= 0)
			series_add(r->gaps, st[i].ns - last);
		last = st[i].ns;
	}
	r->secs = (double)(tb - ta) / 1e9;
	r->cpu_s = (double)(c1 - c0) / (double)sysconf(_SC_CLK_TCK);
	free(st);
}

int cmd_flap(void)
{
	struct target *tg[MAX_TARGETS];
	struct flap_result res[MAX_TARGETS];
	struct series *ss[MAX_TARGETS + 1];
	int64_t d, e1, e2;
	long c1, c2;
	double ceil_rate;
	size_t nt, i;
	char *cdir, *cstamps;
	FILE *f;
	json_t *rep, *rows;

	if (!g_opt.backends)
		g_opt.backends = "io_uring";
	d = g_opt.duration_ns ? g_opt.duration_ns : 10 * NS_PER_S;
	targets_init();
	nt = targets_make(tg, MAX_TARGETS, "flap", 1, true);
	cdir = xasprintf("%s/flap-ceiling", g_opt.workdir);
	mkdir_p(cdir);
	cstamps = xasprintf("%s/stamps", cdir);

	msg("flap: ceiling %.1f s, %zu supervisors x (1 + %.1f) s, "
	    "ceiling %.1f s", (double)d / 2e9, nt, (double)d / 1e9,
	    (double)d / 2e9);
	c1 = ceiling(cstamps, d / 2, &e1);
	memset(res, 0, sizeof(res));
	for (i = 0; i < nt; i++) {
		msg("flap: %s", tg[i]->label);
		measure(tg[i], d, &res[i]);
		kill_our_descendants();
	}
	c2 = ceiling(cstamps, d / 2, &e2);
	ceil_rate = (double)(c1 + c2) / ((double)(e1 + e2) / 1e9);

	f = g_opt.json ? stderr : stdout;
	fprintf(f, "\nflap: starts/s of a service that exits at once, "
		"zero backoff\n");
	fprintf(f, "%-40s %9s %10s %9s %12s %10s\n", "", "starts", "starts/s",
		"ceiling", "median gap", "sup. CPU");
	fprintf(f, "%-40s %9ld %10.1f %8.0f%% %12s %10s   (%ld + %ld)\n",
		"raw spawn/reap ceiling", c1 + c2, ceil_rate, 100.0, "", "",
		c1, c2);
	for (i = 0; i < nt; i++) {
		struct flap_result *r = &res[i];

		if (r->error) {
			fprintf(f, "%-40s  %s\n", tg[i]->label, r->error);
			continue;
		}
		fprintf(f, "%-40s %9.0f %10.1f %8.1f%% %9.3f ms %9.0f%%\n",
			tg[i]->label, r->starts, r->starts / r->secs,
			100 * r->starts / r->secs / ceil_rate,
			(double)series_pct(r->gaps, 50) / 1e6,
			100 * r->cpu_s / r->secs);
	}
	for (i = 0; i < nt; i++)
		ss[i] = res[i].gaps;
	emit_extras("flap: gap between consecutive starts", ss, nt);

	rep = report_new();
	json_object_set_new(rep, "params", json_pack("{s:f}", "duration_s",
						     (double)d / 1e9));
	json_object_set_new(rep, "ceiling", json_pack("{s:I,s:f,s:f}",
		"starts", (json_int_t)(c1 + c2), "secs",
		(double)(e1 + e2) / 1e9, "per_s", ceil_rate));
	rows = json_array();
	for (i = 0; i < nt; i++) {
		struct flap_result *r = &res[i];
		json_t *row = json_pack("{s:s,s:s}", "label", tg[i]->label,
			"kind", tg[i]->kind == TARGET_RINGVISOR ? "ringvisor" :
			tg[i]->kind == TARGET_CLOOP ? "baseline" : "peer");

		if (r->error) {
			json_object_set_new(row, "error",
					    json_string(r->error));
		} else {
			json_object_set_new(row, "starts",
					    json_integer((json_int_t)r->starts));
			json_object_set_new(row, "secs", json_real(r->secs));
			json_object_set_new(row, "per_s",
					    json_real(r->starts / r->secs));
			json_object_set_new(row, "vs_ceiling", json_real(
				r->starts / r->secs / ceil_rate));
			json_object_set_new(row, "gap_p50_ms", json_real(
				(double)series_pct(r->gaps, 50) / 1e6));
			json_object_set_new(row, "sup_cpu_s",
					    json_real(r->cpu_s));
		}
		json_array_append_new(rows, row);
	}
	json_object_set_new(rep, "results", rows);
	report_emit(rep);
	for (i = 0; i < nt; i++) {
		series_free(res[i].gaps);
		free(res[i].error);
		target_free(tg[i]);
	}
	free(cdir);
	free(cstamps);
	return 0;
}
