/* SPDX-License-Identifier: MIT */
/*
 * The hand-over to a new binary (docs/reexec.md, "The sequence"): the old
 * image's side (probe, quiesce, state, dry run, exec; every failure before
 * the exec a plain error with the tree running on), and the new image's
 * (resume, or exec the previous image with the same state).
 *
 * The new image gets the old one's command line and environment, so `ps`
 * and systemd see the same process, and `$VAR`s in the config expand the
 * same way; only RINGVISOR_HANDOVER_FD (and, on a rollback,
 * RINGVISOR_HANDOVER_ERROR) are added, and taken out again at once.
 */
#include "daemon/handover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/commands.h"
#include "control/control.h"
#include "control/http.h"
#include "control/notify.h"
#include "control/sd_notify_self.h"
#include "control/waiters.h"
#include "daemon/daemon.h"
#include "daemon/handover_json.h"
#include "daemon/handover_memfd.h"
#include "loop.h"
#include "tree/readiness.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "util/fdkeep.h"
#include "util/log.h"

extern char **environ;

#define NS_PER_MS		1000000LL
#define DEFAULT_TIMEOUT_NS	(10LL * 1000 * NS_PER_MS)
#define QUIESCE_TIMEOUT_NS	(2LL * 1000 * NS_PER_MS)
/* turns given to a spawn between clone and its exec report */
#define BUSY_TRIES		100
#define HELPER_OUT_MAX		1024

struct rv_handover {
	int exe_fd;		/* O_PATH of the image running now */
	char *exe_path;		/* resolved at start: the default binary */
	char **argv;		/* our command line, for the next image */
	/* resuming from a previous image's state (until the first turn) */
	bool resuming;
	int state_fd;
	json_t *doc;
	struct rv_snapshot snap;
	struct rv_handover_ctl ctl;
	char *error;		/* we are the image rolled back to: why */
	struct rv_fdkeep fds;	/* every descriptor of the state */
};

/* ---- the process's own identity ---- */

/* /proc/self/cmdline as a NULL-ended vector (one allocation). */
static char **read_cmdline(void)
{
	char buf[8192], **argv, *p;
	size_t n = 0, argc = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return NULL;
	while (n < sizeof(buf) &&
	       ((r = read(fd, buf + n, sizeof(buf) - n)) > 0 ||
		(r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	close(fd);
	if (!n || n == sizeof(buf))
		return NULL;	/* none, or too long to trust */
	for (size_t i = 0; i < n; i++)
		argc += !buf[i];
	argv = malloc((argc + 1) * sizeof(*argv) + n);
	if (!argv)
		return NULL;
	p = memcpy((char *)(argv + argc + 1), buf, n);
	for (size_t i = 0; i < argc; i++) {
		argv[i] = p;
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;
	return argv;
}

/*
 * Under systemd: what sd_notify_self.c took out of our environment at
 * setup, for the next image (the same pid: the watchdog is still ours).
 * Static: the crash handler's environment points at them.  How many.
 */
static size_t systemd_vars(char *out[3])
{
	static char sock[128], usec[48], pid[32];
	uint64_t us = rv_sd_notify_self_watchdog_usec();
	size_t n = 0;

	if (!rv_sd_notify_self_enabled())
		return 0;	/* never taken, or still in environ */
	snprintf(sock, sizeof(sock), "NOTIFY_SOCKET=%s",
		 rv_sd_notify_self_socket());
	out[n++] = sock;
	if (us) {
		snprintf(usec, sizeof(usec), "WATCHDOG_USEC=%" PRIu64, us);
		snprintf(pid, sizeof(pid), "WATCHDOG_PID=%d", (int)getpid());
		out[n++] = usec;
		out[n++] = pid;
	}
	return n;
}

/*
 * environ without our hand-over variables, plus extra[0..n): for a probe
 * or a dry run; image: for the next image, with systemd's variables too.
 * One allocation; the strings are not copied.
 */
static char **make_env(char *const extra[], size_t n, bool image)
{
	size_t k = 0, len = 0;
	char *sd[3], **env;
	size_t n_sd = image ? systemd_vars(sd) : 0;

	while (environ[len])
		len++;
	env = malloc((len + n + n_sd + 1) * sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (strncmp(environ[i], "RINGVISOR_HANDOVER_", 19))
			env[k++] = environ[i];
	for (size_t i = 0; i < n; i++)
		env[k++] = extra[i];
	for (size_t i = 0; i < n_sd; i++)
		env[k++] = sd[i];
	env[k] = NULL;
	return env;
}

/* ---- the new image: resume, or roll back ---- */

/* Open descriptors, or -1 (only for a log line). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1;		/* the directory's own */

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Back to the image that wrote the state, with it and our error (one
 * line).  Only from the new image of a hand-over; the descriptors of the
 * state are handed on as they came.  Does not return.
 */
__attribute__((noreturn))
static void rollback(struct rv_handover *h, const char *why)
{
	char fdvar[48], errvar[512];
	char *extra[] = { fdvar, errvar };
	int prev = h->ctl.fd[RV_CTL_PREV_EXE];
	char **env;

	rv_log_sup(RV_LOG_ERROR, "main", "reexec_rollback",
		   " error=\"%s\"", why);
	rv_log_flush();
	if (h->error || prev < 0 || !h->argv) {
		/* nothing to go back to: the supervisor is gone, as after
		 * any crash (docs/reexec.md, "What remains") */
		fprintf(stderr, "ringvisor: hand-over failed and cannot be "
			"rolled back: %s\n", why);
		_exit(RV_EXIT_FAILED);
	}
	snprintf(fdvar, sizeof(fdvar), "%s=%d", RV_HANDOVER_ENV, h->state_fd);
	snprintf(errvar, sizeof(errvar), "%s=%s", RV_HANDOVER_ERROR_ENV, why);
	for (char *p = errvar; *p; p++)
		if (*p == '\n')
			*p = ' ';
	env = make_env(extra, 2, true);
	(void)fcntl(h->state_fd, F_SETFD, 0);
	if (env && !rv_fdkeep_clear_cloexec(&h->fds))
		execveat(prev, "", h->argv, env, AT_EMPTY_PATH);
	fprintf(stderr, "ringvisor: hand-over failed (%s), and the previous "
		"image cannot be exec'd again: %s\n", why, strerror(errno));
	_exit(RV_EXIT_FAILED);
}

/*
 * A crash while resuming (steps 7 to 10) is a rollback too: what the
 * handler needs is prepared beforehand, and it does only what is
 * async-signal-safe (fcntl, execveat).
 */
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
				     SIGILL };
static struct {
	int prev, state_fd;
	const struct rv_fdkeep *fds;
	char **argv, **env;
} crash;

static void on_crash(int sig)
{
	for (size_t i = 0; i < crash.fds->n; i++)
		(void)fcntl(crash.fds->v[i].fd, F_SETFD, 0);
	(void)fcntl(crash.state_fd, F_SETFD, 0);
	execveat(crash.prev, "", crash.argv, crash.env, AT_EMPTY_PATH);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void crash_rollback(struct rv_handover *h, bool on)
{
	static char fdvar[48];
	static char *extra[] = {
		fdvar, RV_HANDOVER_ERROR_ENV "=the new image crashed while "
		"resuming"
	};
	struct sigaction sa = { .sa_flags = SA_NODEFER | SA_RESETHAND };

	sa.sa_handler = on ? on_crash : SIG_DFL;
	if (on) {
		/* the image rolled back to has nowhere to go */
		if (h->error || h->ctl.fd[RV_CTL_PREV_EXE] < 0 || !h->argv)
			return;
		snprintf(fdvar, sizeof(fdvar), "%s=%d", RV_HANDOVER_ENV,
			 h->state_fd);
		crash.env = make_env(extra, 2, true);
		if (!crash.env)
			return;
		crash.prev = h->ctl.fd[RV_CTL_PREV_EXE];
		crash.state_fd = h->state_fd;
		crash.fds = &h->fds;
		crash.argv = h->argv;
	} else if (!crash.env) {
		return;
	}
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(*crash_signals);
	     i++)
		(void)sigaction(crash_signals[i], &sa, NULL);
	if (!on) {
		free(crash.env);
		crash.env = NULL;
	}
}

/*
 * Every descriptor of the state, listed for a rollback; the control
 * plane's checked and close-on-exec again (the tree's are, by
 * rv_snapshot_adopt_fds()).  0, or -errno with err set.
 */
static int list_fds(struct rv_handover *h, char *err, size_t errlen)
{
	int ret = rv_snapshot_keep_fds(&h->snap, &h->fds);

	for (int i = 0; !ret && i < RV_HANDOVER_CTL_NFDS; i++)
		if (h->ctl.fd[i] >= 0)
			ret = rv_fdkeep_add(&h->fds, h->ctl.fd[i],
					    rv_handover_ctl_role(i), NULL);
	if (ret) {
		snprintf(err, errlen, "listing the descriptors: %s",
			 strerror(-ret));
		return ret;
	}
	for (int i = 0; !ret && i < RV_HANDOVER_CTL_NFDS; i++)
		if (h->ctl.fd[i] >= 0)
			ret = rv_fd_adopt(h->ctl.fd[i], i == RV_CTL_PREV_EXE ?
					  RV_FD_EXE : RV_FD_SOCKET, 0,
					  rv_handover_ctl_role(i), err, errlen);
	return ret;
}

/*
 * What the old image left open and the state does not name is not ours
 * (every descriptor of ours is close-on-exec): what its caller left it,
 * or a leak.  Closed, and said once.
 */
static void close_leaks(const struct rv_handover *h)
{
	int *keep = malloc((h->fds.n + 1) * sizeof(*keep));
	int before = 0, after = 0, ret;

	if (!keep)
		return;
	for (size_t i = 0; i < h->fds.n; i++)
		keep[i] = h->fds.v[i].fd;
	keep[h->fds.n] = h->state_fd;
	before = count_fds();
	ret = rv_fd_close_unlisted(keep, h->fds.n + 1, 3);
	after = count_fds();
	if (ret || before != after)
		rv_log_sup(RV_LOG_INFO, "main", "reexec_closed_fds",
			   " closed=%d error=\"%s\"", before - after,
			   ret ? strerror(-ret) : "none");
	free(keep);
}

/* Reads the state a previous image left in RINGVISOR_HANDOVER_FD. */
static void read_state(struct rv_handover *h, const char *fdvar)
{
	const char *e = getenv(RV_HANDOVER_ERROR_ENV);
	char err[512];
	int ret;

	h->resuming = true;
	h->state_fd = -1;
	memset(h->ctl.fd, -1, sizeof(h->ctl.fd));
	if (e && !(h->error = strdup(e)))
		rollback(h, "out of memory");
	if (rv_handover_env_fd(fdvar, &h->state_fd, err, sizeof(err)))
		rollback(h, err);
	/* the children must not see them */
	unsetenv(RV_HANDOVER_ENV);
	unsetenv(RV_HANDOVER_ERROR_ENV);
	ret = rv_handover_read_doc(h->state_fd, &h->doc, err, sizeof(err));
	/* the previous image first: a rollback needs it */
	if (!ret)
		ret = rv_handover_ctl_from_json(h->doc, &h->ctl, err,
						sizeof(err));
	if (!ret)
		ret = rv_handover_from_json(h->doc, &h->snap, err,
					    sizeof(err));
	if (!ret)
		ret = list_fds(h, err, sizeof(err));
	if (ret)
		rollback(h, err);
	crash_rollback(h, true);
	close_leaks(h);
}

int rv_handover_init(struct rv_supervisor *sv, FILE *errors)
{
	struct rv_handover *h = calloc(1, sizeof(*h));
	const char *fdvar = getenv(RV_HANDOVER_ENV);
	char path[PATH_MAX];
	ssize_t n;

	if (!h)
		return -ENOMEM;
	sv->handover = h;
	h->state_fd = -1;
	h->argv = read_cmdline();
	if (fdvar)
		read_state(h, fdvar);
	/* the inode running now: it survives dpkg replacing the file */
	h->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		/* replaced on disk since it started: the new file's path */
		if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
			path[n - 10] = '\0';
		h->exe_path = strdup(path);
	}
	if (h->exe_fd < 0 || !h->exe_path || !h->argv)
		rv_log_sup(RV_LOG_WARN, "main", "reexec_unavailable",
			   " reason=\"/proc/self/exe or cmdline unreadable\"");
	return 0;
}

void rv_handover_free(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;

	if (!h)
		return;
	if (h->exe_fd >= 0)
		close(h->exe_fd);
	free(h->exe_path);
	free(h->argv);
	free(h->error);
	free(h->ctl.binary);
	rv_snapshot_free(&h->snap);
	rv_fdkeep_free(&h->fds);
	json_decref(h->doc);
	free(h);
	sv->handover = NULL;
}

bool rv_handover_resuming(const struct rv_supervisor *sv)
{
	return sv->handover && sv->handover->resuming;
}

int rv_handover_inherited(const struct rv_supervisor *sv, int which)
{
	return rv_handover_resuming(sv) ? sv->handover->ctl.fd[which] : -1;
}

void rv_handover_setup_failed(struct rv_supervisor *sv, const char *what,
			      int err)
{
	char why[256];

	snprintf(why, sizeof(why), "%s: %s", what, strerror(-err));
	rollback(sv->handover, why);
}

/* What the new image (or the old one, rolled back) says to the requester. */
static char *resume_reply(const struct rv_handover *h, double ms)
{
	char msg[700];

	if (!h->error)
		return rv_commands_line(json_pack(
			"{s:b, s:s, s:s, s:f}", "ok", 1, "from", h->ctl.writer,
			"to", RINGVISOR_VERSION, "ms", ms));
	snprintf(msg, sizeof(msg), "reexec: %s: %s",
		 h->ctl.binary ? h->ctl.binary : "?", h->error);
	return rv_commands_error(msg);
}

void rv_handover_resume(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;
	const char *fail = getenv(RV_HANDOVER_TEST_FAIL_ENV);
	int req = h->ctl.fd[RV_CTL_REQUESTER];
	char err[512], *reply;
	double ms;

	if (fail && !strcmp(fail, "crash") && !h->error)
		raise(SIGSEGV);
	if (fail && *fail && !h->error)
		rollback(h, "resume failed: " RV_HANDOVER_TEST_FAIL_ENV
			 " is set");
	if (rv_snapshot_adopt_fds(&h->snap, err, sizeof(err)) ||
	    rv_snapshot_apply(sv, &h->snap, err, sizeof(err)))
		rollback(h, err);
	/* every child before the first turn: the orphan sweep would reap
	 * an exited one as a stranger, and its status would be lost */
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *s = sv->svcs[i];
		int ret = s->child.pid > 0 ? rv_service_watch_adopted(s) : 0;

		if (ret) {
			snprintf(err, sizeof(err), "service %s: watching pid "
				 "%d: %s", s->name, (int)s->child.pid,
				 strerror(-ret));
			rollback(h, err);
		}
	}
	rv_snapshot_arm(sv, &h->snap);
	/* point of no return passed for good: the previous image goes */
	crash_rollback(h, false);
	ms = (double)(rv_clock_now() - h->ctl.t0_ns) / NS_PER_MS;
	if (req >= 0) {
		(void)rv_fd_adopt(req, RV_FD_SOCKET, 0, "requester", err,
				  sizeof(err));
		reply = resume_reply(h, ms);
		if (!reply || rv_control_adopt_conn(sv->control, req, reply))
			close(req);
	}
	if (h->error)
		rv_log_sup(RV_LOG_ERROR, "main", "reexec_failed",
			   " binary=%s error=\"%s\" rolled_back=true",
			   h->ctl.binary ? h->ctl.binary : "?", h->error);
	else
		rv_log_sup(RV_LOG_INFO, "main", "reexec_done",
			   " from=%s to=%s ms=%.1f services=%zu",
			   h->ctl.writer, RINGVISOR_VERSION, ms, sv->n_svcs);
	if (h->ctl.fd[RV_CTL_PREV_EXE] >= 0)
		close(h->ctl.fd[RV_CTL_PREV_EXE]);
	close(h->state_fd);
	h->state_fd = -1;
	h->resuming = false;
	rv_snapshot_free(&h->snap);
	rv_fdkeep_free(&h->fds);
	json_decref(h->doc);
	h->doc = NULL;
}

/* ---- the old image ---- */

/*
 * Runs binary with argv and env, its stdout and stderr into out (one
 * line kept), state_fd (if >= 0) open in it; waits at most timeout_ns.
 * Returns its wait status, or -errno (-ETIMEDOUT: killed).  The loop is
 * not turning meanwhile, so nothing else reaps it.
 */
static int run_helper(const char *binary, char *const argv[],
		      char *const env[], int state_fd, char *out,
		      size_t outlen, int64_t timeout_ns)
{
	int64_t end = rv_clock_now() + timeout_ns;
	size_t got = 0;
	int p[2], status = 0, ret = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (state_fd >= 0)
			(void)fcntl(state_fd, F_SETFD, 0);
		if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execve(binary, argv, env);
		dprintf(2, "cannot execute: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int64_t left = end - rv_clock_now();
		ssize_t r;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(left / NS_PER_MS) + 1) < 0 &&
		    errno != EINTR) {
			ret = -errno;
			break;
		}
		if (!pfd.revents)
			continue;
		r = read(p[0], out + got, outlen - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* EOF: it exited (or closed them) */
		got += (size_t)r;
		out[got] = '\0';
		if (got == outlen - 1)
			got = 0;	/* keep the tail: the error is last */
	}
	close(p[0]);
	if (ret)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* one line: the last non-empty one */
	for (size_t n = strlen(out); n && out[n - 1] == '\n'; n--)
		out[n - 1] = '\0';
	if (strrchr(out, '\n'))
		memmove(out, strrchr(out, '\n') + 1,
			strlen(strrchr(out, '\n') + 1) + 1);
	return ret ? ret : status;
}

/* Why a helper failed, in err: its own last line, or how it ended. */
static int helper_failed(int st, const char *step, const char *out,
			 char *err, size_t errlen)
{
	if (st == -ETIMEDOUT)
		snprintf(err, errlen, "%s: no answer in time", step);
	else if (st < 0)
		snprintf(err, errlen, "%s: %s", step, strerror(-st));
	else if (*out)
		snprintf(err, errlen, "%s: %s", step, out);
	else if (WIFEXITED(st))
		snprintf(err, errlen, "%s: exit %d", step, WEXITSTATUS(st));
	else
		snprintf(err, errlen, "%s: killed by signal %d", step,
			 WTERMSIG(st));
	return -EINVAL;
}

/* Step 1: which state formats does binary read?  0 or -errno. */
static int probe(const char *binary, int64_t timeout_ns, char *err,
		 size_t errlen)
{
	char *argv[] = { (char *)binary, "--handover-formats", NULL };
	char out[HELPER_OUT_MAX], **env = make_env(NULL, 0, false);
	int st, lo, hi;

	if (!env)
		return -ENOMEM;
	st = run_helper(binary, argv, env, -1, out, sizeof(out), timeout_ns);
	free(env);
	if (st)
		return helper_failed(st, "--handover-formats", out, err,
				     errlen);
	if (sscanf(out, "%d %d", &lo, &hi) != 2) {
		snprintf(err, errlen, "--handover-formats: not \"MIN MAX\": "
			 "\"%.80s\"", out);
		return -EPROTO;
	}
	if (RV_HANDOVER_FORMAT < lo || RV_HANDOVER_FORMAT > hi) {
		snprintf(err, errlen, "reads hand-over formats %d..%d, this "
			 "binary writes %d", lo, hi, RV_HANDOVER_FORMAT);
		return -EPROTO;
	}
	return 0;
}

/* Step 4: the new binary reads the state, builds and applies it. */
static int dry_run(const struct rv_handover *h, const char *binary,
		   int state_fd, int64_t timeout_ns, char *err, size_t errlen)
{
	size_t argc = 0;
	char fdvar[48], *extra[] = { fdvar }, **argv, **env;
	char out[HELPER_OUT_MAX];
	int copy, st;

	while (h->argv[argc])
		argc++;
	/* a copy: sealed, so the dry run cannot change what we exec with */
	copy = fcntl(state_fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	snprintf(fdvar, sizeof(fdvar), "%s=%d", RV_HANDOVER_ENV, copy);
	argv = calloc(argc + 2, sizeof(*argv));
	env = make_env(extra, 1, false);
	if (!argv || !env) {
		st = -ENOMEM;
	} else {
		/* NEW --handover-check run -c FILE ...: our own options */
		argv[0] = (char *)binary;
		argv[1] = "--handover-check";
		for (size_t i = 1; i < argc; i++)
			argv[i + 1] = h->argv[i];
		st = run_helper(binary, argv, env, copy, out, sizeof(out),
				timeout_ns);
	}
	close(copy);
	free(argv);
	free(env);
	return st ? helper_failed(st, "--handover-check", out, err, errlen)
		  : 0;
}

/* Everything of ours that crosses: the tree's, then the control plane's. */
static int keep_fds(const struct rv_snapshot *snap,
		    const struct rv_handover_ctl *ctl, int state_fd,
		    struct rv_fdkeep *keep)
{
	int ret = rv_snapshot_keep_fds(snap, keep);

	for (int i = 0; !ret && i < RV_HANDOVER_CTL_NFDS; i++)
		if (ctl->fd[i] >= 0)
			ret = rv_fdkeep_add(keep, ctl->fd[i],
					    rv_handover_ctl_role(i), NULL);
	return ret ? ret : rv_fdkeep_add(keep, state_fd, "state", NULL);
}

/* Quiesced, with the tree's state taken (a spawn in progress: a turn
 * for its exec report, and again).  0 or -errno, not quiesced then. */
static int quiesce_and_take(struct rv_supervisor *sv,
			    struct rv_snapshot *snap)
{
	for (int tries = 0;; tries++) {
		int64_t now = rv_clock_now();
		int ret;

		/* a check probe in flight does not cross: it runs again */
		for (size_t i = 0; i < sv->n_svcs; i++)
			rv_ready_quiesce(sv->svcs[i], now);
		ret = rv_loop_quiesce(sv->loop, QUIESCE_TIMEOUT_NS);
		if (ret)
			return ret;
		ret = rv_snapshot_take(sv, snap);
		if (ret != -EBUSY || tries == BUSY_TRIES) {
			if (ret)
				rv_loop_unquiesce(sv->loop);
			return ret;
		}
		rv_loop_unquiesce(sv->loop);
		rv_loop_run_once(sv->loop, 10 * NS_PER_MS);
	}
}

/* The state with the control plane's section, in a sealed memfd. */
static int write_state(struct rv_supervisor *sv, const struct rv_snapshot *snap,
		       struct rv_handover_ctl *ctl, int *state_fd, char *err,
		       size_t errlen)
{
	json_t *doc = rv_handover_to_json(snap);
	int ret = doc ? rv_handover_ctl_to_json(doc, ctl) : -ENOMEM;

	if (!ret)
		ret = rv_handover_write_doc(doc, state_fd, err, errlen);
	else
		snprintf(err, errlen, "hand-over state: out of memory");
	json_decref(doc);
	return ret;
}

/* The control plane's descriptors that cross. */
static void control_fds(struct rv_supervisor *sv, struct rv_handover_ctl *c)
{
	c->fd[RV_CTL_PREV_EXE] = sv->handover->exe_fd;
	c->fd[RV_CTL_CONTROL_LISTEN] = rv_control_fd(sv->control);
	c->fd[RV_CTL_NOTIFY] = sv->notify ? rv_notify_fd(sv->notify) : -1;
	c->fd[RV_CTL_HTTP_LISTEN] = rv_http_listen_fd(sv->http);
	c->fd[RV_CTL_REQUESTER] = rv_control_requester_fd(sv->control);
}

/* Steps 5 and 6: the point of no return.  Returns only on failure. */
static int exec_new(struct rv_supervisor *sv, const char *binary,
		    struct rv_fdkeep *keep, int state_fd, char *err,
		    size_t errlen)
{
	char fdvar[48], *extra[] = { fdvar }, **env;
	char event[160];
	static const char retry[] = "{\"ok\":false,\"retry\":true,\"error\":"
				    "\"supervisor re-executing\"}\n";
	int ret;

	snprintf(fdvar, sizeof(fdvar), "%s=%d", RV_HANDOVER_ENV, state_fd);
	snprintf(event, sizeof(event), "{\"event\":\"reexec\",\"from\":\"%s\"}\n",
		 RINGVISOR_VERSION);
	env = make_env(extra, 1, true);
	if (!env)
		return -ENOMEM;
	ret = rv_fdkeep_clear_cloexec(keep);
	if (!ret) {
		/* followers and waiters told, every other client closed */
		rv_control_handover(sv->control, event, retry);
		rv_http_handover(sv->http, event);
		/* a hand-over is never a missed ping of our own watchdog */
		if (rv_sd_notify_self_watchdog_usec())
			(void)rv_sd_notify_self("WATCHDOG=1");
		rv_log_flush();
		execve(binary, sv->handover->argv, env);
		ret = -errno;
		rv_fdkeep_set_cloexec(keep);
	}
	free(env);
	snprintf(err, errlen, "exec: %s", strerror(-ret));
	return ret;
}

/*
 * Test hook: the pid in the file RINGVISOR_TEST_HANDOVER_KILL names is
 * killed after the state was taken, and is a zombie before the exec: an
 * exit the new image must report, exactly once (test_reexec.py).
 */
static void test_kill_hook(void)
{
	const char *path = getenv(RV_HANDOVER_TEST_KILL_ENV);
	FILE *f = path && *path ? fopen(path, "re") : NULL;
	siginfo_t si;
	int pid = 0;

	if (!f)
		return;
	if (fscanf(f, "%d", &pid) == 1 && pid > 0 && !kill(pid, SIGKILL))
		(void)waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	fclose(f);
}

/* Steps 2 to 6 once the probe passed; quiesced on the way, unquiesced
 * again on failure. */
static int hand_over(struct rv_supervisor *sv, const char *binary,
		     int64_t timeout_ns, char *err, size_t errlen)
{
	/* the hand-over time: from quiesce to the new image's ack */
	struct rv_handover_ctl ctl = { .binary = (char *)binary,
				       .t0_ns = rv_clock_now() };
	struct rv_fdkeep keep = { 0 };
	struct rv_snapshot snap;
	int state_fd = -1, ret;

	ret = quiesce_and_take(sv, &snap);
	if (ret) {
		snprintf(err, errlen, "%s", ret == -EBUSY ?
			 "the tree stays busy (a spawn in progress)" :
			 "the loop did not quiesce");
		return ret;
	}
	test_kill_hook();
	control_fds(sv, &ctl);
	ret = write_state(sv, &snap, &ctl, &state_fd, err, errlen);
	if (!ret && (ret = keep_fds(&snap, &ctl, state_fd, &keep)))
		snprintf(err, errlen, "descriptors: %s", strerror(-ret));
	if (!ret)
		ret = dry_run(sv->handover, binary, state_fd, timeout_ns, err,
			      errlen);
	if (!ret)
		ret = exec_new(sv, binary, &keep, state_fd, err, errlen);
	rv_fdkeep_free(&keep);
	if (state_fd >= 0)
		close(state_fd);
	rv_snapshot_free(&snap);
	rv_loop_unquiesce(sv->loop);
	return ret;
}

void rv_handover_maybe_run(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;
	struct rv_waiters *ws = rv_control_waiters(sv->control);
	char *binary = sv->reexec.binary, err[600], msg[900];
	int64_t timeout = sv->reexec.timeout_ns ? sv->reexec.timeout_ns :
			  DEFAULT_TIMEOUT_NS;
	const char *why;

	if (!sv->reexec.asked)
		return;
	sv->reexec.asked = false;
	sv->reexec.binary = NULL;
	why = ws && ws->reexec ? NULL : rv_commands_reexec_refusal(sv);
	if (!binary && h && h->exe_path)
		binary = strdup(h->exe_path);
	rv_log_sup(RV_LOG_INFO, "main", "reexec_begin", " binary=%s",
		   binary ? binary : "?");
	if (why) {
		snprintf(msg, sizeof(msg), "%s", why);
		goto out;
	}
	if (!binary || !h || h->exe_fd < 0 || !h->argv)
		snprintf(err, sizeof(err), "the running binary is unknown "
			 "(/proc/self/exe)");
	else if (!probe(binary, timeout, err, sizeof(err)))
		/* returns only if it failed: on success we are the new image */
		(void)hand_over(sv, binary, timeout, err, sizeof(err));
	snprintf(msg, sizeof(msg), "reexec: %s: %s", binary ? binary : "?",
		 err);
out:
	rv_log_sup(RV_LOG_ERROR, "main", "reexec_failed",
		   " binary=%s error=\"%s\"", binary ? binary : "?", msg);
	if (ws && ws->reexec)
		rv_waiter_answer(ws->reexec, rv_commands_error(msg));
	free(binary);
}

void rv_handover_print_formats(FILE *out)
{
	fprintf(out, "%d %d\n", RV_HANDOVER_FORMAT_MIN, RV_HANDOVER_FORMAT);
}

/* ---- the dry run, in the new binary ---- */

int rv_handover_check(const char *config_path, const struct rv_options *opts,
		      FILE *errors)
{
	const char *fdvar = getenv(RV_HANDOVER_ENV);
	struct rv_handover_ctl ctl = { 0 };
	struct rv_snapshot snap;
	struct rv_supervisor *sv;
	json_t *doc = NULL;
	char err[512];
	int fd, ret;

	ret = rv_handover_env_fd(fdvar, &fd, err, sizeof(err));
	if (!ret)
		ret = rv_handover_read_doc(fd, &doc, err, sizeof(err));
	if (!ret)
		ret = rv_handover_ctl_from_json(doc, &ctl, err, sizeof(err));
	if (!ret)
		ret = rv_handover_from_json(doc, &snap, err, sizeof(err));
	free(ctl.binary);
	json_decref(doc);
	if (ret) {
		fprintf(errors, "%s\n", err);
		return RV_EXIT_FAILED;
	}
	ret = rv_supervisor_load_check(&sv, config_path, opts, errors);
	if (ret) {
		rv_snapshot_free(&snap);
		fprintf(errors, "config %s: cannot load it\n", config_path);
		return RV_EXIT_FAILED;
	}
	ret = rv_snapshot_apply(sv, &snap, err, sizeof(err));
	if (ret)
		fprintf(errors, "%s\n", err);
	/* the state's pids and descriptors are not ours to close here */
	for (size_t i = 0; i < sv->n_svcs; i++)
		sv->svcs[i]->child.pid = 0;
	rv_snapshot_free(&snap);
	rv_supervisor_free(sv);
	return ret ? RV_EXIT_FAILED : 0;
}
