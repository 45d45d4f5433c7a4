/* SPDX-License-Identifier: MIT */
/*
 * Samples and what is made of them: nearest-rank percentiles, the table on
 * stdout, JSON rows, the CSV histogram and the gnuplot CDF.
 */
#include <errno.h>
#include <math.h>
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
		json_object_set_new(o, "max_us", jus(s->v[s->n - 1]));
		json_object_set_new(o, "mean_us",
				    json_real(round(series_mean(s)) / 1e3));
	}
	json_object_update(o, s->extra);
	if (s->note)
		json_object_set_new(o, "note", json_string(s->note));
	return o;
}

static FILE *table_out(void)
{
	return g_opt.json ? stderr : stdout;
}

void print_latency_table(const char *title, struct series **ss, size_t n,
			 int ratio_to)
{
	FILE *f = table_out();
	int64_t base = 0;

	if (ratio_to >= 0 && (size_t)ratio_to < n && ss[ratio_to]->n)
		base = series_pct(ss[ratio_to], 50);
	fprintf(f, "\n%s (us)\n", title);
	fprintf(f, "%-40s %6s %9s %9s %9s %9s %9s %9s%s\n", "", "n", "min",
		"p50", "p90", "p99", "p99.9", "max",
		base ? "  p50 ratio" : "");
	for (size_t i = 0; i < n; i++) {
		struct series *s = ss[i];

		if (!s->n) {
			fprintf(f, "%-40s %6d  %s\n", s->label, 0,
				s->note ? s->note : "no samples");
			continue;
		}
		sort(s);
		fprintf(f, "%-40s %6zu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f",
			s->label, s->n, us(s->v[0]), us(series_pct(s, 50)),
			us(series_pct(s, 90)), us(series_pct(s, 99)),
			us(series_pct(s, 99.9)), us(s->v[s->n - 1]));
		if (base)
			fprintf(f, "  %9.3gx",
				(double)series_pct(s, 50) / (double)base);
		fputc('\n', f);
	}
	for (size_t i = 0; i < n; i++)
		if (ss[i]->n && ss[i]->note)
			fprintf(f, "  %s: %s\n", ss[i]->label, ss[i]->note);
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

/*
 * One data file per series: up to 2000 (value, cumulative fraction) points
 * taken at evenly spaced ranks, always with the max.
 */
int plot_cdf(const char *path, const char *title, struct series **ss,
	     size_t n)
{
	static const char *const terms[] = {
		"pngcairo size 1000,620 font 'sans,10'",
		"png size 1000,620",
	};
	char *gp = which("gnuplot"), *script, *data;
	FILE *f;
	int ret = -EIO;

	if (!gp) {
		msg("--plot %s skipped: gnuplot not found "
		    "(apt-get install gnuplot-nox)", path);
		return 0;
	}
	data = xasprintf("%s.data", path);
	script = xasprintf("%s.gp", path);
	f = fopen(data, "we");
	if (!f)
		die("%s: %s", data, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		size_t step = ss[i]->n > 2000 ? ss[i]->n / 2000 : 1;

		if (ss[i]->n < 2)
			continue;	/* nothing to draw */
		sort(ss[i]);
		fprintf(f, "# %s\n", ss[i]->label);
		for (size_t j = 0; j < ss[i]->n; j += step)
			fprintf(f, "%.3f %.6f\n", fmax(us(ss[i]->v[j]), 0.01),
				(double)(j + 1) / (double)ss[i]->n);
		if (ss[i]->n)
			fprintf(f, "%.3f 1\n",
				fmax(us(ss[i]->v[ss[i]->n - 1]), 0.01));
		fprintf(f, "\n\n");
	}
	fclose(f);
	for (size_t t = 0; t < sizeof(terms) / sizeof(*terms) && ret; t++) {
		f = fopen(script, "we");
		if (!f)
			die("%s: %s", script, strerror(errno));
		fprintf(f, "set terminal %s\nset output '%s'\n"
			"set title \"%s\" noenhanced\n"
			"set logscale x\nset xlabel 'latency (us), log scale'\n"
			"set ylabel 'fraction of samples <= x'\n"
			"set yrange [0:1]\nset grid xtics mxtics ytics\n"
			"set key bottom right noenhanced\n"
			"plot ", terms[t], path, title);
		for (size_t i = 0, k = 0; i < n; i++) {
			if (ss[i]->n < 2)
				continue;
			fprintf(f, "%s'%s' index %zu using 1:2 with lines "
				"lw 2 title \"%s\"", k ? ", " : "", data, k,
				ss[i]->label);
			k++;
		}
		fprintf(f, "\n");
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
