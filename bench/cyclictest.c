/* SPDX-License-Identifier: MIT */
/*
 * --cyclictest: Debian's rt-tests cyclictest, the tool real-time users
 * trust, as one more row of `ringvisor-bench timers`, in its own blocks of
 * the same interleaving.  One thread, the same interval, priority and CPU
 * as the rest, clock_nanosleep (its default), --laptop so that it does not
 * hold /dev/cpu_dma_latency at 0 (no other row gets that help).  The
 * samples come from its histogram file (1 us bins), not from its summary
 * line; the few beyond the histogram's range (overflows) are counted at
 * its reported max, which is exact when there is one per block.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define CT_HIST_US 20000	/* histogram range: 20 ms */

static int run(char *const argv[], const char *log)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		FILE *f = freopen(log, "we", stdout);

		if (f)
			dup2(STDOUT_FILENO, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Adds the histogram's samples to s; how many, or -errno. */
static int64_t parse_hist(const char *path, struct series *s)
{
	FILE *f = fopen(path, "re");
	char line[256];
	long long bin, cnt, over = 0, max_us = -1;
	int64_t added = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			sscanf(line, "# Histogram Overflows: %lld", &over);
			sscanf(line, "# Max Latencies: %lld", &max_us);
			continue;
		}
		if (sscanf(line, "%lld %lld", &bin, &cnt) != 2)
			continue;
		for (long long i = 0; i < cnt; i++, added++)
			series_add(s, bin * NS_PER_US);
	}
	fclose(f);
	for (long long i = 0; i < over && max_us >= 0; i++, added++)
		series_add(s, max_us * NS_PER_US);
	return added;
}

bool cyclictest_available(void)
{
	char *argv[] = { "cyclictest", "--help", NULL };

	return run(argv, "/dev/null") != -ENOENT;
}

int cyclictest_block(struct series *s, int64_t period_ns, int64_t loops,
		     int fifo, int cpu)
{
	char *hist = xasprintf("%s/cyclictest.hist", g_opt.workdir);
	char *log = xasprintf("%s/cyclictest.log", g_opt.workdir);
	char *iv = xasprintf("-i%" PRId64, period_ns / NS_PER_US);
	char *lp = xasprintf("-l%" PRId64, loops);
	char *hv = xasprintf("-h%d", CT_HIST_US);
	char *hf = xasprintf("--histfile=%s", hist);
	char *pr = xasprintf("-p%d", fifo);
	char *af = xasprintf("-a%d", cpu);
	char *argv[16];
	int n = 0, ret;
	int64_t got;

	argv[n++] = "cyclictest";
	argv[n++] = "-q";
	argv[n++] = "--laptop";
	argv[n++] = "-t1";
	argv[n++] = iv;
	argv[n++] = lp;
	argv[n++] = hv;
	argv[n++] = hf;
	if (fifo) {
		argv[n++] = pr;
		argv[n++] = "-m";
	}
	if (cpu >= 0)
		argv[n++] = af;
	argv[n] = NULL;
	unlink(hist);
	ret = run(argv, log);
	if (!ret) {
		got = parse_hist(hist, s);
		ret = got < 0 ? (int)got : 0;
	}
	if (ret)
		msg("cyclictest failed (%s); its output is in %s",
		    strerror(-ret), log);
	free(hist);
	free(log);
	free(iv);
	free(lp);
	free(hv);
	free(hf);
	free(pr);
	free(af);
	return ret;
}
