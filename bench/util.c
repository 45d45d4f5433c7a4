/* SPDX-License-Identifier: MIT */
/*
 * Small things every subcommand needs: the clock, durations, messages,
 * files, /proc readers, and process hygiene.  The bench is a child
 * subreaper (main.c), so everything it starts stays its descendant, and
 * kill_our_descendants() never touches a process it did not start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / NS_PER_S, .tv_nsec = t % NS_PER_S };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

void sleep_ns(int64_t d)
{
	if (d > 0)
		sleep_until(now_ns() + d);
}

int64_t parse_duration(const char *s)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "", 1e9 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (!strcmp(end, units[i].suffix))
			return (int64_t)(v * units[i].mult + 0.5);
	return -1;
}

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ringvisor-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ringvisor-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	kill_our_descendants();
	exit(1);
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	return s;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	remove(path);
	return 0;
}

void rm_rf(const char *path)
{
	nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup(".");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(buf);
}

/*
 * --helpers first, then next to ringvisor-bench (build/bench/), one level
 * up (build/ringvisor beside build/bench/), and the install's libexec.
 */
char *find_helper(const char *name)
{
	char *dir = exe_dir(), *found = NULL;
	char *cands[4] = {
		g_opt.helpers ? xstrdup(g_opt.helpers) : NULL,
		xstrdup(dir),
		xasprintf("%s/..", dir),
		xasprintf("%s/../libexec/ringvisor", dir),
	};

	for (size_t i = 0; i < 4; i++) {
		char real[PATH_MAX], *p;

		if (!cands[i] || found)
			continue;
		p = xasprintf("%s/%s", cands[i], name);
		if (access(p, X_OK) == 0 && realpath(p, real))
			found = xstrdup(real);
		free(p);
	}
	for (size_t i = 0; i < 4; i++)
		free(cands[i]);
	free(dir);
	return found;
}

char *run_capture(char *const argv[])
{
	char buf[512];
	int p[2], status;
	ssize_t n, o = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && o < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(p[0], buf + o, sizeof(buf) - 1 - (size_t)o)) > 0)
		o += n;
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return NULL;
	buf[o] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

/* ---- /proc ---- */

int proc_mem(pid_t pid, struct proc_mem *m)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	m->rss_kib = m->pss_kib = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Rss:", 4))
			m->rss_kib = atol(line + 4);
		else if (!strncmp(line, "Pss:", 4))
			m->pss_kib = atol(line + 4);
	}
	fclose(f);
	return 0;
}

static uint64_t status_field(const char *path, const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl))
			v = strtoull(line + kl, NULL, 10);
	fclose(f);
	return v;
}

int proc_ctx(pid_t pid, uint64_t *switches, uint64_t *cpu_ticks)
{
	char path[64], buf[1024], *p;
	struct dirent *de;
	DIR *d;
	int fd;
	ssize_t n;
	unsigned long ut = 0, st = 0;

	*switches = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	/* io_uring io-wq workers are threads of the ring's owner */
	while ((de = readdir(d))) {
		char sp[320];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sp, sizeof(sp), "/proc/%d/task/%s/status", (int)pid,
			 de->d_name);
		*switches += status_field(sp, "voluntary_ctxt_switches:");
		*switches += status_field(sp, "nonvoluntary_ctxt_switches:");
	}
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after "(comm)": state ppid ... utime is field 14, stime 15 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu", &ut, &st) != 2)
		return -EIO;
	*cpu_ticks = ut + st;
	return 0;
}

struct pinfo {
	pid_t pid, ppid;
};

static size_t proc_table(struct pinfo **out)
{
	size_t n = 0, cap = 1024;
	struct pinfo *t = xcalloc(cap, sizeof(*t));
	struct dirent *de;
	DIR *d = opendir("/proc");

	while (d && (de = readdir(d))) {
		char path[300], buf[512], *p;
		ssize_t r;
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		p = strrchr(buf, ')');
		if (!p)
			continue;
		if (n == cap) {
			cap *= 2;
			t = realloc(t, cap * sizeof(*t));
			if (!t)
				die("out of memory");
		}
		t[n].pid = atoi(de->d_name);
		if (sscanf(p + 2, "%*c %d", &t[n].ppid) == 1)
			n++;
	}
	if (d)
		closedir(d);
	*out = t;
	return n;
}

static bool runs_exe(pid_t pid, const char *exe)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, exe);
}

static int by_ppid(const void *a, const void *b)
{
	const struct pinfo *x = a, *y = b;

	return (x->ppid > y->ppid) - (x->ppid < y->ppid);
}

size_t proc_descendants(pid_t root, const char *exclude, pid_t **out)
{
	struct pinfo *t;
	size_t n = proc_table(&t), nout = 0, head = 0;
	pid_t *q = xcalloc(n + 1, sizeof(*q));

	/* breadth first over the ppid links, the table sorted by ppid */
	qsort(t, n, sizeof(*t), by_ppid);
	q[nout++] = root;
	while (head < nout && nout <= n) {
		pid_t p = q[head++];
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (t[mid].ppid < p)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < n && t[lo].ppid == p && nout <= n; lo++)
			if (t[lo].pid != root)
				q[nout++] = t[lo].pid;
	}
	free(t);
	/* drop root and the excluded executable */
	head = 0;
	for (size_t i = 1; i < nout; i++)
		if (!exclude || !runs_exe(q[i], exclude))
			q[head++] = q[i];
	*out = q;
	return head;
}

void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void kill_our_descendants(void)
{
	for (int round = 0; round < 5; round++) {
		pid_t *d;
		size_t n = proc_descendants(getpid(), NULL, &d);

		reap_children();
		if (!n) {
			free(d);
			return;
		}
		for (size_t i = 0; i < n; i++)
			kill(d[i], SIGKILL);
		free(d);
		sleep_ns(50 * NS_PER_MS);
		reap_children();
	}
}

int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int pidfd_kill(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) ? -errno :
								     0;
}

void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
