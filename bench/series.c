/* SPDX-License-Identifier: MIT */
/*
 * Samples and what is made of them: nearest-rank percentiles, the table on
 * stdout, JSON rows, the CSV histogram and the gnuplot CDF.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct series *series_new(const char *label)
{
	struct series *s = xcalloc(1, sizeof(*s));

	s->label = xstrdup(label);
	s->extra = json_object();
	s->spin_us = -1;
	return s;
}

void series_add(struct series *s, int64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = ns;
	s->sorted = false;
}

void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->label);
	free(s->v);
	free(s->note);
	free(s->untrusted);
	json_decref(s->extra);
	free(s);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void sort(struct series *s)
{
	if (!s->sorted)
		qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
	s->sorted = true;
}

int64_t series_pct(struct series *s, double p)
{
	size_t k;

	if (!s->n)
		return 0;
	sort(s);
	k = (size_t)ceil(p / 100.0 * (double)s->n);
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return s->v[k - 1];
}

double series_mean(const struct series *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	return s->n ? sum / (double)s->n : 0;
}

static double us(int64_t ns)
{
	return (double)ns / 1e3;
}

/* 3 significant-ish digits, as JSON numbers */
static json_t *jus(int64_t ns)
{
	return json_real(round(us(ns) * 1000) / 1000);
}

json_t *series_json(struct series *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "label", json_string(s->label));
	json_object_set_new(o, "n", json_integer((json_int_t)s->n));
	if (s->n) {
		sort(s);
		json_object_set_new(o, "min_us", jus(s->v[0]));
		json_object_set_new(o, "p50_us", jus(series_pct(s, 50)));
		json_object_set_new(o, "p90_us", jus(series_pct(s, 90)));
		json_object_set_new(o, "p99_us", jus(series_pct(s, 99)));
		json_object_set_new(o, "p999_us", jus(series_pct(s, 99.9)));
		if (s->n >= SERIES_P9999_MIN)
			json_object_set_new(o, "p9999_us",
					    jus(series_pct(s, 99.99)));
		json_object_set_new(o, "max_us", jus(s->v[s->n - 1]));
		json_object_set_new(o, "mean_us",
				    json_real(round(series_mean(s)) / 1e3));
	}
	if (s->spin_us >= 0)
		json_object_set_new(o, "spin_us_per_sample",
				    json_real(round(s->spin_us * 1000) / 1000));
	json_object_set_new(o, "trustworthy", json_boolean(!s->untrusted));
	if (s->untrusted)
		json_object_set_new(o, "untrusted", json_string(s->untrusted));
	json_object_update(o, s->extra);
	if (s->note)
		json_object_set_new(o, "note", json_string(s->note));
	return o;
}

static FILE *table_out(void)
{
	return g_opt.json ? stderr : stdout;
}

/* "%9.1f", with a "!" for a tail value of an untrusted series */
static void cell(FILE *f, const struct series *s, int64_t ns, bool tail)
{
	if (tail && s->untrusted)
		fprintf(f, " %8.1f!", us(ns));
	else
		fprintf(f, " %9.1f", us(ns));
}

void print_latency_table(const char *title, struct series **ss, size_t n,
			 int ratio_to)
{
	FILE *f = table_out();
	int64_t base = 0;
	bool p9999 = false, spin = false, untrusted = false;

	for (size_t i = 0; i < n; i++) {
		p9999 |= ss[i]->n >= SERIES_P9999_MIN;
		spin |= ss[i]->spin_us >= 0;
		untrusted |= ss[i]->untrusted != NULL;
	}
	if (ratio_to >= 0 && (size_t)ratio_to < n && ss[ratio_to]->n)
		base = series_pct(ss[ratio_to], 50);
	fprintf(f, "\n%s (us)\n", title);
	fprintf(f, "%-40s %6s %9s %9s %9s %9s %9s", "", "n", "min", "p50",
		"p90", "p99", "p99.9");
	if (p9999)
		fprintf(f, " %9s", "p99.99");
	fprintf(f, " %9s", "max");
	if (spin)
		fprintf(f, " %9s", "spin/dl");
	fprintf(f, "%s\n", base ? "  p50 ratio" : "");
	for (size_t i = 0; i < n; i++) {
		struct series *s = ss[i];

		if (!s->n) {
			fprintf(f, "%-40s %6d  %s\n", s->label, 0,
				s->note ? s->note : "no samples");
			continue;
		}
		sort(s);
		fprintf(f, "%-40s %6zu", s->label, s->n);
		cell(f, s, s->v[0], false);
		cell(f, s, series_pct(s, 50), false);
		cell(f, s, series_pct(s, 90), false);
		cell(f, s, series_pct(s, 99), true);
		cell(f, s, series_pct(s, 99.9), true);
		if (p9999 && s->n >= SERIES_P9999_MIN)
			cell(f, s, series_pct(s, 99.99), true);
		else if (p9999)
			fprintf(f, " %9s", "-");
		cell(f, s, s->v[s->n - 1], true);
		if (spin && s->spin_us >= 0)
			fprintf(f, " %9.2f", s->spin_us);
		else if (spin)
			fprintf(f, " %9s", "-");
		if (base)
			fprintf(f, "  %9.3gx",
				(double)series_pct(s, 50) / (double)base);
		fputc('\n', f);
	}
	if (spin)
		fprintf(f, "  spin/dl: CPU spent spinning per deadline (us), "
			"what precision mode costs\n");
	for (size_t i = 0; i < n; i++)
		if (ss[i]->n && ss[i]->note)
			fprintf(f, "  %s: %s\n", ss[i]->label, ss[i]->note);
	for (size_t i = 0; i < n; i++)
		if (ss[i]->untrusted)
			fprintf(f, "  ! %s: tail NOT TRUSTWORTHY: %s\n",
				ss[i]->label, ss[i]->untrusted);
	if (untrusted)
		fprintf(f, "  (values marked ! come from a disturbed run: "
			"rerun on a quiet machine before quoting them)\n");
}

/* Bin k >= 1 is [10^((k-1)/20 - 2), 10^(k/20 - 2)) us; bin 0 below 10 ns. */
#define HIST_PER_DECADE 20
#define HIST_BINS	(HIST_PER_DECADE * 9 + 1)	/* up to 10^7 us */

static double bin_lo(int k)
{
	return k ? pow(10, (double)(k - 1) / HIST_PER_DECADE - 2) : 0;
}

int write_histogram(const char *path, struct series **ss, size_t n)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "series,lower_us,upper_us,count\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t bins[HIST_BINS] = { 0 };

		for (size_t j = 0; j < ss[i]->n; j++) {
			double u = us(ss[i]->v[j]);
			int k = u < 0.01 ? 0 :
				(int)floor((log10(u) + 2) * HIST_PER_DECADE) + 1;

			bins[k < HIST_BINS ? k : HIST_BINS - 1]++;
		}
		for (int k = 0; k < HIST_BINS; k++)
			if (bins[k])
				fprintf(f, "\"%s\",%.4g,%.4g,%lu\n",
					ss[i]->label, bin_lo(k),
					k + 1 < HIST_BINS ? bin_lo(k + 1) :
							    INFINITY,
					(unsigned long)bins[k]);
	}
	return fclose(f) ? -errno : 0;
}

static char *which(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	copy = xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", dir, prog);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

static int run_gnuplot(const char *gp, const char *script)
{
	char *argv[] = { (char *)gp, (char *)script, NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(gp, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

const char *run_caption(void)
{
	static char buf[512];
	char host[128] = "?", date[32], load[64] = "?";
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;
	FILE *f;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%63[0-9. ]", load) != 1)
			snprintf(load, sizeof(load), "?");
		fclose(f);
	}
	load[strcspn(load, "\n")] = '\0';
	if (strlen(load) > 15)
		load[14] = '\0';	/* the three averages only */
	snprintf(buf, sizeof(buf), "host %s, kernel %s, %ld CPUs, %s, "
		 "load average %s", host, uname(&u) ? "?" : u.release,
		 sysconf(_SC_NPROCESSORS_ONLN), date, load);
	return buf;
}

/* Colour-blind-safe (Okabe-Ito) first, then more; dashes after a cycle. */
static const char *const colours[] = {
	"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
	"#000000", "#882255", "#44AA99", "#999933", "#AA4499", "#C8B400",
};
#define NCOLOURS (sizeof(colours) / sizeof(*colours))

/* Sample counts for the caption: "n = 4000" or "n = 3990..4000". */
static char *count_range(struct series **ss, size_t n)
{
	size_t lo = SIZE_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		if (ss[i]->n < 2)
			continue;
		lo = ss[i]->n < lo ? ss[i]->n : lo;
		hi = ss[i]->n > hi ? ss[i]->n : hi;
	}
	if (lo == hi || !hi)
		return xasprintf("n = %zu per row", hi);
	return xasprintf("n = %zu..%zu per row", lo, hi);
}

static void plot_lines(FILE *f, const char *data, struct series **ss,
		       size_t n, const char *using)
{
	for (size_t i = 0, k = 0; i < n; i++) {
		if (ss[i]->n < 2)
			continue;
		fprintf(f, "%s'%s' index %zu using %s with lines ls %zu "
			"title \"%s%s\"", k ? ", " : "", data, k, using, k + 1,
			ss[i]->label, ss[i]->untrusted ? " (disturbed)" : "");
		k++;
	}
	fprintf(f, "\n");
}

/*
 * One data file per series: up to 2000 (value, cumulative fraction) points
 * taken at evenly spaced ranks, plus every one of the last 200 (the tail
 * view needs them), always with the max.  Left: the CDF, log x.  Right:
 * the CCDF (fraction of samples > x), log-log, where p99, p99.9 and p99.99
 * are the 1e-2, 1e-3 and 1e-4 lines.  The legend sits under both panels,
 * the caption under it.
 */
int plot_cdf(const char *path, const char *title, struct series **ss,
	     size_t n)
{
	static const char *const terms[] = {
		"pngcairo size 1400,760 font 'sans,10'",
		"png size 1400,760",
	};
	char *gp = which("gnuplot"), *script, *data, *counts;
	size_t drawn = 0, rows;
	FILE *f;
	int ret = -EIO;

	if (!gp) {
		msg("--plot %s skipped: gnuplot not found "
		    "(apt-get install gnuplot-nox)", path);
		return 0;
	}
	data = xasprintf("%s.data", path);
	script = xasprintf("%s.gp", path);
	counts = count_range(ss, n);
	f = fopen(data, "we");
	if (!f)
		die("%s: %s", data, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		size_t step = ss[i]->n > 2000 ? ss[i]->n / 2000 : 1;
		size_t tail = ss[i]->n > 200 ? ss[i]->n - 200 : 0;

		if (ss[i]->n < 2)
			continue;	/* nothing to draw */
		sort(ss[i]);
		drawn++;
		fprintf(f, "# %s\n", ss[i]->label);
		/* x, P(X <= x), P(X > x) (never 0: log scale) */
		for (size_t j = 0; j < ss[i]->n; j += j >= tail ? 1 : step)
			fprintf(f, "%.3f %.6f %.8g\n",
				fmax(us(ss[i]->v[j]), 0.01),
				(double)(j + 1) / (double)ss[i]->n,
				fmax(1.0 - (double)(j + 1) / (double)ss[i]->n,
				     0.5 / (double)ss[i]->n));
		fprintf(f, "\n\n");
	}
	fclose(f);
	/* the legend: two columns under both panels, above the caption */
	rows = drawn > 1 ? (drawn + 1) / 2 : 1;
	for (size_t t = 0; t < sizeof(terms) / sizeof(*terms) && ret; t++) {
		f = fopen(script, "we");
		if (!f)
			die("%s: %s", script, strerror(errno));
		fprintf(f, "set terminal %s\nset output '%s'\n", terms[t],
			path);
		for (size_t k = 0; k < drawn; k++)
			fprintf(f, "set style line %zu lc rgb '%s' lw 2 dt %zu\n",
				k + 1, colours[k % NCOLOURS],
				k / NCOLOURS + 1);
		fprintf(f, "set multiplot title \"%s\" noenhanced\n"
			"set label 1 \"%s; %s\" noenhanced at screen 0.5,0.025 "
			"center font ',9'\n"
			"set bmargin at screen %.2f\nset tmargin at screen 0.90\n"
			"set logscale x\nset grid xtics mxtics ytics\n"
			"set xlabel 'lateness (us), log scale'\n"
			"set key at screen 0.5,%.2f center top vertical maxrows %zu "
			"noenhanced box opaque\n",
			title, counts, run_caption(),
			0.17 + 0.022 * (double)rows, 0.09 + 0.022 * (double)rows,
			rows);
		fprintf(f, "set lmargin at screen 0.06\nset rmargin at screen 0.48\n"
			"set ylabel 'fraction of samples <= x'\nset yrange [0:1]\n"
			"set title 'CDF'\nplot ");
		plot_lines(f, data, ss, n, "1:2");
		fprintf(f, "unset key\nunset label 1\n"
			"set lmargin at screen 0.55\nset rmargin at screen 0.97\n"
			"set logscale y\nset format y '10^{%%L}'\n"
			"set yrange [*:1]\n"
			"set ylabel 'fraction of samples > x (log)'\n"
			"set title 'tail (CCDF): p99 at 1e-2, p99.9 at 1e-3'\n"
			"plot ");
		plot_lines(f, data, ss, n, "1:3");
		fprintf(f, "unset multiplot\n");
		fclose(f);
		ret = run_gnuplot(gp, script);
	}
	if (ret)
		msg("--plot %s: gnuplot failed (script %s)", path, script);
	else if (!g_opt.keep) {
		unlink(script);
		unlink(data);
	}
	free(gp);
	free(counts);
	free(data);
	free(script);
	return ret;
}

void emit_extras(const char *title, struct series **ss, size_t n)
{
	int ret;

	if (g_opt.histogram) {
		ret = write_histogram(g_opt.histogram, ss, n);
		if (ret)
			msg("--histogram %s: %s", g_opt.histogram,
			    strerror(-ret));
	}
	if (g_opt.plot)
		plot_cdf(g_opt.plot, title, ss, n);
}

static json_t *env_json(void)
{
	json_t *e = json_object();
	struct utsname u;
	char date[64], line[256], *rv;
	time_t t = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	json_object_set_new(e, "date", json_string(date));
	if (!uname(&u)) {
		json_object_set_new(e, "kernel", json_string(u.release));
		json_object_set_new(e, "kernel_version",
				    json_string(u.version));
		json_object_set_new(e, "machine", json_string(u.machine));
	}
	json_object_set_new(e, "ncpu",
			    json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			c[strcspn(c, "\n")] = '\0';
			json_object_set_new(e, "cpu", json_string(c + 2));
			break;
		}
	}
	if (f)
		fclose(f);
	/* how busy the machine was (others' load shows in every number) */
	f = fopen("/proc/loadavg", "re");
	if (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		json_object_set_new(e, "loadavg", json_string(line));
	}
	if (f)
		fclose(f);
	if (g_opt.ringvisor) {
		char *argv[] = { (char *)g_opt.ringvisor, "--version", NULL };

		rv = run_capture(argv);
		json_object_set_new(e, "ringvisor",
				    json_string(rv ? rv : "?"));
		json_object_set_new(e, "ringvisor_path",
				    json_string(g_opt.ringvisor));
		free(rv);
	}
	return e;
}

json_t *report_new(void)
{
	json_t *r = json_object(), *argv = json_array();

	for (int i = 0; i < g_opt.argc; i++)
		json_array_append_new(argv, json_string(g_opt.argv[i]));
	json_object_set_new(r, "bench", json_string(g_opt.cmd));
	json_object_set_new(r, "command", argv);
	json_object_set_new(r, "env", env_json());
	return r;
}

void report_emit(json_t *report)
{
	if (g_opt.json) {
		json_dumpf(report, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		fflush(stdout);
	}
	json_decref(report);
}
