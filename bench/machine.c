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
#include <sys/klog.h>
#include <sys/utsname.h>
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
		    "%.2f on %ld CPUs; --load adds %d): tails will show "
		    "others' work; prefer a quiet machine for results",
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

/* The word after key in text (up to a space, ')' or newline), or "". */
static void word_after(const char *text, const char *key, char *out,
		       size_t len)
{
	const char *p = strstr(text, key);
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(key);
	n = strcspn(p, " )\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * The kernel's preemption model (none, voluntary, full, lazy, rt) and
 * where it was read; "" when nothing says.  debugfs shows the current one
 * in parentheses; otherwise preempt= on the command line, or the boot
 * line "Dynamic Preempt: MODE" still in the kernel log.
 */
/* The word after key in the file at path, into mode; true if found. */
static bool file_word(const char *path, const char *key, char *text,
		      size_t size, char *mode, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	mode[0] = '\0';
	if (!f)
		return false;
	n = fread(text, 1, size - 1, f);
	fclose(f);
	text[n] = '\0';
	word_after(text, key, mode, len);
	return mode[0] != '\0';
}

static const char *preempt_mode(char *mode, size_t len)
{
	static char text[1 << 17];
	struct utsname u;
	int n;

	if (file_word("/sys/kernel/debug/sched/preempt", "(", text,
		      sizeof(text), mode, len))
		return "debugfs";
	if (!uname(&u) && strstr(u.version, "PREEMPT_RT")) {
		snprintf(mode, len, "rt");
		return "uname";
	}
	if (file_word("/proc/cmdline", "preempt=", text, sizeof(text), mode,
		      len))
		return "the kernel command line";
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	word_after(text, "Dynamic Preempt: ", mode, len);
	return mode[0] ? "the kernel log" : "";
}

/* The CPU says it runs under a hypervisor (the cpuinfo flag). */
static bool on_hypervisor(void)
{
	char line[4096];
	bool yes = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && !yes && fgets(line, sizeof(line), f))
		yes = !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
	if (f)
		fclose(f);
	return yes;
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
	char mode[32];
	const char *from = preempt_mode(mode, sizeof(mode));

	if (fifo && (!strcmp(mode, "none") || !strcmp(mode, "voluntary")))
		fprintf(out, "  note: kernel preemption is \"%s\" (from %s): a "
			"SCHED_FIFO task that wakes while another task is "
			"inside the kernel waits until that task reaches a "
			"preemption point, which can take milliseconds on a "
			"busy machine (builds, perf, page reclaim); that is "
			"the ms-scale tail of every row, cyclictest included. "
			"Boot with preempt=full (or a PREEMPT_RT kernel) for "
			"a real-time tail\n", mode, from);
	if (fifo && runtime >= 0 && period > 0)
		fprintf(out, "  note: RT throttling is on (sched_rt_runtime_us "
			"%ld of %ld): SCHED_FIFO tasks may run %.0f%% of "
			"each period, then wait up to %.0f ms; it bites only "
			"a task that spins, not one that sleeps between "
			"deadlines\n", runtime, period,
			100.0 * (double)runtime / (double)period,
			(double)(period - runtime) / 1000.0);
	if (fifo && !steal && on_hypervisor())
		fprintf(out, "  note: no VM steal time was reported; a "
			"hypervisor that does not report it (Firecracker, "
			"some clouds) can still stall a vCPU unseen\n");
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
