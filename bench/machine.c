/* SPDX-License-Identifier: MIT */
/*
 * The machine a benchmark runs on: the load it makes itself (--load N busy
 * loops, started and stopped by pid), what others did meanwhile (load
 * average, VM steal time, from /proc), and the kernel settings that bound
 * what a real-time task can get (RT throttling).  A run whose numbers were
 * disturbed says so, with the reason, instead of printing them as results.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

void machine_snap(struct machine_snap *m)
{
	unsigned long long v[8] = { 0 };
	FILE *f;

	*m = (struct machine_snap){ .at_ns = now_ns(), .load1 = -1 };
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &m->load1) != 1)
			m->load1 = -1;
		fclose(f);
	}
	/* cpu  user nice system idle iowait irq softirq steal ... */
	f = fopen("/proc/stat", "re");
	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) == 8) {
			for (int i = 0; i < 8; i++)
				m->jiffies += v[i];
			m->steal = v[7];
			m->idle = v[3] + v[4];
		}
		fclose(f);
	}
}

double machine_steal_pct(const struct machine_snap *a,
			 const struct machine_snap *b)
{
	unsigned long long d = b->jiffies - a->jiffies;

	return d ? 100.0 * (double)(b->steal - a->steal) / (double)d : 0;
}

static long read_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v = dflt;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

long machine_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

void machine_warn_busy(const struct machine_snap *m, int own_load)
{
	long ncpu = machine_ncpu();

	if (m->load1 > 0.5 * (double)ncpu)
		msg("WARNING: the machine is busy before the run (load average "
		    "%.2f on %ld CPUs, %d of it ours to come): tails will "
		    "show others' work; prefer a quiet machine for results",
		    m->load1, ncpu, own_load);
}

char *machine_disturbed(const struct machine_snap *a,
			const struct machine_snap *b, int own_load)
{
	long ncpu = machine_ncpu();
	double steal = machine_steal_pct(a, b);
	/* what this run itself adds: the benchmark thread and --load */
	double ours = 1.0 + own_load, limit = ours + 0.5 * (double)ncpu;
	char *why = NULL, *more;

	if (b->load1 > limit && b->load1 > a->load1 + 0.5)
		why = xasprintf("load average rose %.2f -> %.2f on %ld CPUs "
				"(this run accounts for ~%.0f)", a->load1,
				b->load1, ncpu, ours);
	else if (a->load1 > limit)
		why = xasprintf("machine busy: load average %.2f -> %.2f on "
				"%ld CPUs (this run accounts for ~%.0f)",
				a->load1, b->load1, ncpu, ours);
	if (steal >= 1.0) {
		more = xasprintf("%s%sVM steal time %.1f%% (the hypervisor ran "
				 "something else on our CPUs)", why ? why : "",
				 why ? "; " : "", steal);
		free(why);
		why = more;
	}
	return why;
}

/*
 * With SCHED_FIFO the kernel's own limits and the hypervisor decide the
 * tail, not the program: say which apply here.  Returned text is static.
 */
void machine_rt_notes(int fifo, const struct machine_snap *a,
		      const struct machine_snap *b, FILE *out)
{
	long runtime = read_long("/proc/sys/kernel/sched_rt_runtime_us", -2);
	long period = read_long("/proc/sys/kernel/sched_rt_period_us", -2);
	double steal = machine_steal_pct(a, b);

	if (fifo && runtime >= 0 && period > 0)
		fprintf(out, "  note: RT throttling is on (sched_rt_runtime_us "
			"%ld of %ld): SCHED_FIFO tasks may run %.0f%% of "
			"each period, then wait up to %.0f ms; it bites only "
			"a task that spins, not one that sleeps between "
			"deadlines\n", runtime, period,
			100.0 * (double)runtime / (double)period,
			(double)(period - runtime) / 1000.0);
	if (steal > 0.05)
		fprintf(out, "  note: VM steal time %.2f%% during the run: while "
			"the hypervisor runs another guest on this vCPU no "
			"priority inside the VM helps (SCHED_FIFO included); "
			"such stalls are the ms-scale tail of every mechanism "
			"and of cyclictest alike\n", steal);
}

/* ---- --load N: busy loops we start, and stop by pid ---- */

static pid_t *g_load_pids;
static int g_nload;

int load_start(int n)
{
	g_load_pids = xcalloc((size_t)n, sizeof(*g_load_pids));
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			int err = errno;

			load_stop();
			return -err;
		}
		if (pid == 0) {
			volatile unsigned long x = 0;

			for (;;)
				x++;
		}
		g_load_pids[g_nload++] = pid;
	}
	return 0;
}

void load_stop(void)
{
	for (int i = 0; i < g_nload; i++)
		kill(g_load_pids[i], SIGKILL);
	for (int i = 0; i < g_nload; i++)
		while (waitpid(g_load_pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	free(g_load_pids);
	g_load_pids = NULL;
	g_nload = 0;
}

/* ---- progress on a tty ---- */

void progress(const char *what, int64_t done, int64_t total, int64_t t0_ns)
{
	double el, left;

	if (!isatty(STDERR_FILENO) || total <= 0)
		return;
	el = (double)(now_ns() - t0_ns) / 1e9;
	left = done ? el * (double)(total - done) / (double)done : 0;
	fprintf(stderr, "\r%s: %3.0f%% (%lld/%lld), %.0f s, ~%.0f s left   ",
		what, 100.0 * (double)done / (double)total, (long long)done,
		(long long)total, el, left);
	if (done >= total)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}
