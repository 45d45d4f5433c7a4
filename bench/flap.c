/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench flap: restarts per second of a service that exits at
 * once (rvb-flap: stamp, exit 1), with zero backoff, against the raw
 * spawn/reap ceiling of this machine: this process running vfork() +
 * execve(rvb-flap) + waitpid() in a loop.
 *
 * A shared VM drifts by tens of percent within a minute, so the ceiling,
 * ringvisor and the C loop are interleaved in slices of --slice (250 ms)
 * until each has had --duration: every supervisor is SIGSTOPped except
 * during its own slices, and only the starts stamped inside a slice (from
 * 1 ms after its SIGCONT) count.  Peers (--peer) are throttled to about one
 * start per second, which a stop/continue schedule would distort (their
 * 1 s deadline passes while they are stopped), so they run throughout and
 * are counted over the whole phase.  Supervisor CPU is utime + stime of
 * the supervisor's own processes within its slices.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TARGETS (BENCH_MAX_PEERS + 4)

struct flap_result {
	double starts;
	double secs;
	uint64_t ticks;		/* supervisor processes, utime + stime */
	struct series *gaps;	/* between consecutive starts */
	struct stamp *st;	/* stamps read so far */
	size_t n, cap, used;	/* used: stamps already looked at */
	bool sliced;
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

/* Counts the stamps in [ta, tb] read since the last call. */
static void count(struct target *t, struct flap_result *r, int64_t ta,
		  int64_t tb)
{
	int64_t last = -1;

	target_read_stamps(t, &r->st, &r->n, &r->cap);
	for (; r->used < r->n; r->used++) {
		int64_t ns = r->st[r->used].ns;

		if (ns < ta || ns > tb)
			continue;
		r->starts++;
		if (last >= 0)
			series_add(r->gaps, ns - last);
		last = ns;
	}
}

static bool start_one(struct target *t, struct flap_result *r)
{
	r->gaps = series_new(t->label);
	if (target_start(t)) {
		r->error = xstrdup("did not start");
		return false;
	}
	if (target_wait_stamps(t, 1, 15 * NS_PER_S, &r->st, &r->n, &r->cap)) {
		char *tail = target_log_tail(t, 3);

		r->error = xasprintf("no start within 15 s: %s", tail);
		free(tail);
		target_stop(t, 10 * NS_PER_S);
		return false;
	}
	return true;
}

/* One slice of a stopped supervisor: continue, count, stop again. */
static void slice_of(struct target *t, struct flap_result *r, int64_t len)
{
	uint64_t c0, c1;
	int64_t ta, tb;

	c0 = sup_ticks(t);
	kill(t->pid, SIGCONT);
	ta = now_ns() + NS_PER_MS;
	sleep_ns(len);
	tb = now_ns();
	kill(t->pid, SIGSTOP);
	c1 = sup_ticks(t);
	/* starts stamped by a child it spawned just before the stop */
	sleep_ns(2 * NS_PER_MS);
	count(t, r, ta, tb);
	r->secs += (double)(tb - ta) / 1e9;
	r->ticks += c1 - c0;
}

int cmd_flap(void)
{
	struct target *tg[MAX_TARGETS];
	struct flap_result res[MAX_TARGETS];
	struct series *ss[MAX_TARGETS];
	int64_t d, slice, ceil_ns = 0, t_all0, t_all1;
	uint64_t p0[MAX_TARGETS] = { 0 };
	long ceil_starts = 0;
	double ceil_rate;
	size_t nt, i;
	int rounds;
	char *cdir, *cstamps;
	FILE *f;
	json_t *rep, *rows;

	if (!g_opt.backends)
		g_opt.backends = "io_uring";
	d = g_opt.duration_ns ? g_opt.duration_ns : 10 * NS_PER_S;
	slice = 250 * NS_PER_MS;
	rounds = (int)((d + slice - 1) / slice);
	targets_init();
	nt = targets_make(tg, MAX_TARGETS, "flap", 1, true, false);
	cdir = xasprintf("%s/flap-ceiling", g_opt.workdir);
	mkdir_p(cdir);
	cstamps = xasprintf("%s/stamps", cdir);
	memset(res, 0, sizeof(res));

	for (i = 0; i < nt; i++) {
		res[i].sliced = tg[i]->kind != TARGET_PEER;
		if (!start_one(tg[i], &res[i]))
			continue;
		if (res[i].sliced)
			kill(tg[i]->pid, SIGSTOP);
	}
	msg("flap: ceiling and %zu supervisors interleaved in %.0f ms slices, "
	    "%.1f s each (expect ~%.0f s)", nt, (double)slice / 1e6,
	    (double)d / 1e9, (double)rounds * (double)slice / 1e9 *
	    (double)(1 + nt) + 2);
	sleep_ns(NS_PER_S);	/* peers: past their first start */
	t_all0 = now_ns();
	for (i = 0; i < nt; i++) {
		if (res[i].error || res[i].sliced)
			continue;
		p0[i] = sup_ticks(tg[i]);
		count(tg[i], &res[i], INT64_MAX, INT64_MAX);	/* skip */
	}
	for (int r = 0; r < rounds; r++) {
		int64_t e;

		ceil_starts += ceiling(cstamps, slice, &e);
		ceil_ns += e;
		for (i = 0; i < nt; i++)
			if (res[i].sliced && !res[i].error)
				slice_of(tg[i], &res[i], slice);
	}
	t_all1 = now_ns();
	for (i = 0; i < nt; i++) {
		if (res[i].error || res[i].sliced)
			continue;
		count(tg[i], &res[i], t_all0, t_all1);
		res[i].secs = (double)(t_all1 - t_all0) / 1e9;
		res[i].ticks = sup_ticks(tg[i]) - p0[i];
	}
	for (i = 0; i < nt; i++) {
		if (tg[i]->pid > 0)
			kill(tg[i]->pid, SIGCONT);
		target_stop(tg[i], 30 * NS_PER_S);
	}
	kill_our_descendants();
	ceil_rate = (double)ceil_starts / ((double)ceil_ns / 1e9);

	f = g_opt.json ? stderr : stdout;
	fprintf(f, "\nflap: starts/s of a service that exits at once, "
		"zero backoff\n");
	fprintf(f, "%-40s %9s %10s %9s %12s %10s\n", "", "starts", "starts/s",
		"ceiling", "median gap", "sup. CPU");
	fprintf(f, "%-40s %9ld %10.1f %8.0f%%\n", "raw spawn/reap ceiling",
		ceil_starts, ceil_rate, 100.0);
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
			100.0 * (double)r->ticks /
				(double)sysconf(_SC_CLK_TCK) / r->secs);
	}
	for (i = 0; i < nt; i++)
		ss[i] = res[i].gaps;
	emit_extras("flap: gap between consecutive starts", ss, nt);

	rep = report_new();
	json_object_set_new(rep, "params", json_pack("{s:f,s:f,s:i}",
		"duration_s", (double)d / 1e9, "slice_s", (double)slice / 1e9,
		"rounds", rounds));
	json_object_set_new(rep, "ceiling", json_pack("{s:I,s:f,s:f}",
		"starts", (json_int_t)ceil_starts, "secs",
		(double)ceil_ns / 1e9, "per_s", ceil_rate));
	rows = json_array();
	for (i = 0; i < nt; i++) {
		struct flap_result *r = &res[i];
		json_t *row = json_pack("{s:s,s:s,s:b}", "label", tg[i]->label,
			"kind", tg[i]->kind == TARGET_RINGVISOR ? "ringvisor" :
			tg[i]->kind == TARGET_CLOOP ? "baseline" : "peer",
			"interleaved", r->sliced);

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
			json_object_set_new(row, "sup_cpu_s", json_real(
				(double)r->ticks /
				(double)sysconf(_SC_CLK_TCK)));
		}
		json_array_append_new(rows, row);
	}
	json_object_set_new(rep, "results", rows);
	report_emit(rep);
	for (i = 0; i < nt; i++) {
		series_free(res[i].gaps);
		free(res[i].st);
		free(res[i].error);
		target_free(tg[i]);
	}
	free(cdir);
	free(cstamps);
	return 0;
}
