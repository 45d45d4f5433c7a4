/* SPDX-License-Identifier: MIT */
/*
 * Supervisors under test.  Each target gets a directory with the stamp
 * file its services append to, its log and (ringvisor) its config and
 * exit report:
 *
 *   ringvisor  `ringvisor run -c DIR/ringvisor.conf --backend=B --report`,
 *              one [service:sNNNNN] section per service, configured for the
 *              fastest restart (restart_delay = 0, backoff_jitter = 0,
 *              max_restarts = infinity, also for the supervisor)
 *   C loop     `rvb-cloop N rvb-stamp`
 *   floor      `rvb-cloop --floor N rvb-stamp` (restart only)
 *   peer       a directory prepared by someone else (compare.sh):
 *                DIR/argv   the supervisor's command, one argument a line
 *                DIR/env    optional KEY=VALUE lines added to its environment
 *                DIR/stop   optional: "signal:NAME", or a command to run
 *                           (one argument a line); default signal:TERM
 *              its services must be rvb-stamp (or rvb-flap) and write to
 *              $STAMP_FILE, which is set to DIR/stamps.
 * The supervisor runs with cwd DIR, stdin /dev/null, stdout+stderr to
 * DIR/out.log, in its own session.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

char *g_stamp_bin, *g_flap_bin, *g_cloop_bin;

void targets_init(void)
{
	bool bare = g_opt.service && !strcmp(g_opt.service, "bare");

	if (g_opt.service && !bare && strcmp(g_opt.service, "libc"))
		die("--service: expected libc or bare");
	g_stamp_bin = find_helper(bare ? "rvb-stamp-bare" : "rvb-stamp");
	g_flap_bin = find_helper(bare ? "rvb-flap-bare" : "rvb-flap");
	g_cloop_bin = find_helper("rvb-cloop");
	if (!g_stamp_bin || !g_flap_bin || !g_cloop_bin)
		die("helpers rvb-stamp%s, rvb-flap%s, rvb-cloop not found next "
		    "to ringvisor-bench (use --helpers DIR)", bare ? "-bare" : "",
		    bare ? "-bare" : "");
	if (!g_opt.no_ringvisor) {
		char *rv = g_opt.ringvisor ? NULL : find_helper("ringvisor");

		if (rv)
			g_opt.ringvisor = rv;
		if (!g_opt.ringvisor || access(g_opt.ringvisor, X_OK))
			die("ringvisor binary not found next to ringvisor-bench "
			    "or one directory up; use --ringvisor PATH "
			    "(or --no-ringvisor)");
	}
}

static char *subst_n(const char *tmpl, long n)
{
	const char *p = strstr(tmpl, "%n");

	if (!p)
		return xstrdup(tmpl);
	return xasprintf("%.*s%ld%s", (int)(p - tmpl), tmpl, n, p + 2);
}

struct target *target_new(enum target_kind kind, const char *label,
			  const char *tag, const char *backend,
			  const char *dir_template, long n, bool flap)
{
	struct target *t = xcalloc(1, sizeof(*t));
	struct stat st;

	t->label = xstrdup(label);
	t->kind = kind;
	t->backend = backend ? xstrdup(backend) : NULL;
	t->n = n;
	t->flap = flap;
	t->stamp_fd = -1;
	if (kind == TARGET_PEER) {
		t->dir = subst_n(dir_template, n);
		if (stat(t->dir, &st) || !S_ISDIR(st.st_mode)) {
			msg("%s: no directory %s: skipped for N=%ld", label,
			    t->dir, n);
			target_free(t);
			return NULL;
		}
	} else {
		t->dir = xasprintf("%s/%s", g_opt.workdir, tag);
		rm_rf(t->dir);
		if (mkdir_p(t->dir))
			die("mkdir %s: %s", t->dir, strerror(errno));
	}
	t->stamps = xasprintf("%s/stamps", t->dir);
	t->log = xasprintf("%s/out.log", t->dir);
	t->report = xasprintf("%s/report.json", t->dir);
	unlink(t->stamps);
	unlink(t->report);
	return t;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	if (t->stamp_fd >= 0)
		close(t->stamp_fd);
	free(t->label);
	free(t->backend);
	free(t->dir);
	free(t->stamps);
	free(t->log);
	free(t->report);
	free(t->error);
	free(t);
}

static const char *service_bin(const struct target *t)
{
	return t->flap ? g_flap_bin : g_stamp_bin;
}

/*
 * The fastest restart (no reachable limit), or t->realistic: what a real
 * config sets on every service, an intensity limit of its own (a finite
 * max_restarts is a ring of that many restart times), a stop timeout and
 * one environment line, the rest at its defaults.
 */
static int write_ringvisor_config(struct target *t, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "; ringvisor-bench: %s\n"
		"[supervisor]\nstrategy = one_for_one\n"
		"max_restarts = infinity\nrestart_window = 1s\n"
		"shutdown_timeout = 60s\ncontrol_socket = %s/control.sock\n"
		/* supervision measured, not output capture (4 descriptors
		 * and a pipe read per instance): as the tree before logs */
		"log_buffer = 0\n",
		t->realistic ? "realistic config" :
			       "fastest restart, no reachable limit", t->dir);
	for (long i = 0; i < t->n; i++) {
		fprintf(f, "\n[service:s%05ld]\ncommand = %s\n", i,
			service_bin(t));
		if (t->realistic)
			fprintf(f, "max_restarts = %d\nrestart_window = 10m\n"
				"stop_timeout = 20s\n",
				BENCH_REALISTIC_MAX_RESTARTS);
		else
			fprintf(f, "restart = always\nbackoff = fixed\n"
				"restart_delay = 0\nbackoff_jitter = 0\n"
				"max_restarts = infinity\nstop_timeout = 5s\n");
		fprintf(f, "environment = STAMP_FILE=%s STAMP_ID=%ld\n",
			t->stamps, i);
	}
	return fclose(f) ? -errno : 0;
}

/* Lines of a file as a NULL-terminated array (NULL if no file). */
static char **read_lines(const char *path)
{
	char **v = NULL, *line = NULL;
	size_t n = 0, cap = 0;
	FILE *f = fopen(path, "re");
	ssize_t len;

	if (!f)
		return NULL;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		if (!v)
			die("out of memory");
		v[n++] = xstrdup(line);
		v[n] = NULL;
	}
	free(line);
	fclose(f);
	if (!v)
		v = xcalloc(1, sizeof(*v));
	return v;
}

static void free_lines(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static pid_t spawn_in(const struct target *t, char **argv, char **env_add,
		      const char *log)
{
	sigset_t empty;
	pid_t pid;

	pid = fork();
	if (pid != 0)
		return pid;
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	setsid();
	if (chdir(t->dir))
		_exit(126);
	int null = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (null < 0 || out < 0)
		_exit(126);
	dup2(null, 0);
	dup2(out, 1);
	dup2(out, 2);
	setenv("STAMP_FILE", t->stamps, 1);
	for (size_t i = 0; env_add && env_add[i]; i++)
		putenv(env_add[i]);
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int target_start(struct target *t)
{
	char **argv = NULL, **env = NULL;
	char *conf = NULL, *nstr = NULL, *backend = NULL;
	int ret = 0;

	t->stamp_off = 0;
	t->npartial = 0;
	if (t->stamp_fd >= 0)
		close(t->stamp_fd);
	t->stamp_fd = -1;
	unlink(t->stamps);
	switch (t->kind) {
	case TARGET_RINGVISOR:
		conf = xasprintf("%s/ringvisor.conf", t->dir);
		ret = write_ringvisor_config(t, conf);
		if (ret)
			break;
		backend = xasprintf("--backend=%s", t->backend);
		argv = xcalloc(8, sizeof(*argv));
		argv[0] = xstrdup(g_opt.ringvisor);
		argv[1] = xstrdup("run");
		argv[2] = xstrdup("-c");
		argv[3] = xstrdup(conf);
		argv[4] = xstrdup(backend);
		argv[5] = xstrdup("--report");
		argv[6] = xstrdup(t->report);
		break;
	case TARGET_CLOOP:
	case TARGET_FLOOR: {
		int a = 0;

		nstr = xasprintf("%ld", t->n);
		argv = xcalloc(5, sizeof(*argv));
		argv[a++] = xstrdup(g_cloop_bin);
		if (t->kind == TARGET_FLOOR)
			argv[a++] = xstrdup("--floor");
		argv[a++] = xstrdup(nstr);
		argv[a++] = xstrdup(service_bin(t));
		break;
	}
	case TARGET_PEER: {
		char *p = xasprintf("%s/argv", t->dir), *e;

		argv = read_lines(p);
		free(p);
		if (!argv || !argv[0]) {
			msg("%s: %s/argv is missing or empty", t->label,
			    t->dir);
			ret = -ENOENT;
			break;
		}
		e = xasprintf("%s/env", t->dir);
		env = read_lines(e);
		free(e);
		break;
	}
	}
	if (!ret) {
		t->started_ns = now_ns();
		t->pid = spawn_in(t, argv, env, t->log);
		if (t->pid < 0) {
			ret = -errno;
			t->pid = 0;
		}
	}
	free_lines(argv);
	/* env strings were putenv'd in the child only: free them here */
	free_lines(env);
	free(conf);
	free(nstr);
	free(backend);
	return ret;
}

static bool wait_exit(struct target *t, int64_t timeout_ns)
{
	int64_t end = now_ns() + timeout_ns;

	while (t->pid > 0) {
		int status;
		pid_t r = waitpid(t->pid, &status, WNOHANG);

		if (r == t->pid || (r < 0 && errno == ECHILD)) {
			t->exit_status = r == t->pid ? status : -1;
			t->pid = 0;
			return true;
		}
		if (now_ns() >= end)
			return false;
		sleep_ns(5 * NS_PER_MS);
	}
	return true;
}

static void run_stop_command(struct target *t, char **cmd)
{
	char pidstr[16];
	pid_t pid;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)t->pid);
	pid = fork();
	if (pid == 0) {
		setenv("SUPERVISOR_PID", pidstr, 1);
		if (chdir(t->dir))
			_exit(126);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

void target_stop(struct target *t, int64_t grace_ns)
{
	char **stop = NULL;

	if (t->pid <= 0)
		return;
	if (t->kind == TARGET_PEER) {
		char *p = xasprintf("%s/stop", t->dir);

		stop = read_lines(p);
		free(p);
	}
	if (stop && stop[0] && strncmp(stop[0], "signal:", 7)) {
		run_stop_command(t, stop);
	} else {
		int sig = SIGTERM;

		if (stop && stop[0]) {
			const char *name = stop[0] + 7;

			if (!strncmp(name, "SIG", 3))
				name += 3;
			sig = !strcmp(name, "HUP") ? SIGHUP :
			      !strcmp(name, "INT") ? SIGINT :
			      !strcmp(name, "QUIT") ? SIGQUIT : SIGTERM;
		}
		kill(t->pid, sig);
	}
	free_lines(stop);
	if (!wait_exit(t, grace_ns)) {
		msg("%s: still running %.0f s after the stop request; "
		    "SIGKILL pid %d", t->label, (double)grace_ns / 1e9,
		    (int)t->pid);
		t->sigkilled = true;
		kill(t->pid, SIGKILL);
		wait_exit(t, 10 * NS_PER_S);
	}
}

static void parse_line(const char *l, struct stamp **out, size_t *n,
		       size_t *cap)
{
	long long ns;
	long pid, id = -1;

	if (sscanf(l, "%lld %ld %ld", &ns, &pid, &id) < 2)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*out = realloc(*out, *cap * sizeof(**out));
		if (!*out)
			die("out of memory");
	}
	(*out)[*n].ns = ns;
	(*out)[*n].pid = (pid_t)pid;
	(*out)[*n].id = id;
	(*n)++;
}

size_t target_read_stamps(struct target *t, struct stamp **out, size_t *n,
			  size_t *cap)
{
	char buf[65536];
	size_t before = *n;
	ssize_t r;

	if (t->stamp_fd < 0) {
		t->stamp_fd = open(t->stamps, O_RDONLY | O_CLOEXEC);
		if (t->stamp_fd < 0)
			return 0;
	}
	while ((r = pread(t->stamp_fd, buf, sizeof(buf), t->stamp_off)) > 0) {
		t->stamp_off += r;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (t->npartial < sizeof(t->partial) - 1)
					t->partial[t->npartial++] = buf[i];
				continue;
			}
			t->partial[t->npartial] = '\0';
			parse_line(t->partial, out, n, cap);
			t->npartial = 0;
		}
	}
	return *n - before;
}

int target_wait_stamps(struct target *t, size_t count, int64_t timeout_ns,
		       struct stamp **out, size_t *n, size_t *cap)
{
	int64_t end = now_ns() + timeout_ns;

	for (;;) {
		target_read_stamps(t, out, n, cap);
		if (*n >= count)
			return 0;
		if (t->pid > 0 && waitpid(t->pid, &t->exit_status, WNOHANG) ==
		    t->pid) {
			t->pid = 0;
			return -ESRCH;
		}
		if (now_ns() >= end)
			return -ETIMEDOUT;
		sleep_ns(2 * NS_PER_MS);
	}
}

size_t target_sup_pids(const struct target *t, pid_t **out)
{
	pid_t *d;
	size_t n = proc_descendants(t->pid, service_bin(t), &d);

	/* the root first; d has room for one more */
	memmove(d + 1, d, n * sizeof(*d));
	d[0] = t->pid;
	*out = d;
	return n + 1;
}

char *target_log_tail(const struct target *t, int lines)
{
	char buf[4096];
	ssize_t r;
	off_t size;
	int fd = open(t->log, O_RDONLY | O_CLOEXEC), seen = 0;
	char *p;

	if (fd < 0)
		return xstrdup("(no log)");
	size = lseek(fd, 0, SEEK_END);
	r = pread(fd, buf, sizeof(buf) - 1,
		  size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 :
						  0);
	close(fd);
	if (r <= 0)
		return xstrdup("(empty log)");
	buf[r] = '\0';
	while (r > 0 && buf[r - 1] == '\n')
		buf[--r] = '\0';
	for (p = buf + r; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	for (char *q = p; *q; q++)
		if (*q == '\n')
			*q = '|';
	return xstrdup(p);
}

/* ringvisor on each of --backend, with the realistic config or not */
static size_t ringvisor_targets(struct target **out, size_t max,
				const char *tag, long n, bool flap,
				bool realistic)
{
	char *list = xstrdup(g_opt.backends), *save = NULL, *b;
	const char *sfx = realistic ? ", realistic config" : "";
	size_t k = 0;

	for (b = strtok_r(list, ",", &save); b && k < max;
	     b = strtok_r(NULL, ",", &save)) {
		char *label = xasprintf("ringvisor (%s%s)", b, sfx);
		char *tg = xasprintf("%s-ringvisor-%s%s", tag, b,
				     realistic ? "-realistic" : "");

		out[k] = target_new(TARGET_RINGVISOR, label, tg, b, NULL, n,
				    flap);
		out[k++]->realistic = realistic;
		free(label);
		free(tg);
	}
	free(list);
	return k;
}

size_t targets_make(struct target **out, size_t max, const char *tag, long n,
		    bool flap, bool realistic)
{
	size_t k = 0;

	if (!g_opt.no_ringvisor) {
		k += ringvisor_targets(out, max, tag, n, flap, false);
		if (realistic)
			k += ringvisor_targets(out + k, max - k, tag, n, flap,
					       true);
	}
	if (!g_opt.no_baseline && k < max) {
		char *tg = xasprintf("%s-cloop", tag);

		out[k++] = target_new(TARGET_CLOOP,
				      "C loop (posix_spawn+epoll)", tg, NULL,
				      NULL, n, flap);
		free(tg);
	}
	if (!g_opt.no_baseline && g_opt.with_floor && k < max) {
		char *tg = xasprintf("%s-floor", tag);

		out[k++] = target_new(TARGET_FLOOR,
				      "floor (waitid+vfork+execve)", tg, NULL,
				      NULL, n, flap);
		free(tg);
	}
	for (int i = 0; i < g_opt.n_peers && k < max; i++) {
		struct target *t = target_new(TARGET_PEER, g_opt.peers[i].label,
					      NULL, NULL, g_opt.peers[i].dir,
					      n, flap);

		if (t)
			out[k++] = t;
	}
	return k;
}
