/* SPDX-License-Identifier: MIT */
/*
 * The new image's side of a hand-over (docs/reexec.md, steps 7 to 11):
 * the state read from RINGVISOR_HANDOVER_FD, the descriptors it names
 * adopted, the tree built from the config and the state applied to it,
 * every child watched before the first loop turn, the requester answered.
 * A failure (or a crash) on the way execs the previous image again, with
 * the same state and the error, and that image resumes and answers.
 * Every `run` also records here what a later hand-over needs: the image
 * running now and its command line.  And the dry run (`--handover-check`),
 * which goes as far as the apply and touches nothing.
 */
#include "daemon/handover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/commands.h"
#include "config/config.h"
#include "control/control.h"
#include "daemon/daemon.h"
#include "daemon/handover_heap.h"
#include "daemon/handover_internal.h"
#include "daemon/handover_memfd.h"
#include "loop.h"
#include "tree/supervisor.h"
#include "util/log.h"

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

/* ---- the new image: resume, or roll back ---- */

/* Open descriptors, or -1 (only for a log line). */
static int count_fds(void)
{
	struct stat st;
	struct dirent *e;
	int n = -1;		/* the directory's own */
	DIR *d;

	/* Linux 6.2 counts them in the directory's size: no listing of
	 * 5,000 entries in the pause (0 before it) */
	if (!stat("/proc/self/fd", &st) && st.st_size > 0)
		return (int)st.st_size;
	d = opendir("/proc/self/fd");
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
	env = rv_handover_env(extra, 2, true);
	(void)fcntl(h->state_fd, F_SETFD, 0);
	/* each one open passes on; one the state names wrongly (not open:
	 * why we are here, maybe) is the previous image's to refuse */
	for (size_t i = 0; i < h->fds.n; i++)
		(void)fcntl(h->fds.v[i].fd, F_SETFD, 0);
	if (env)
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
		crash.env = rv_handover_env(extra, 2, true);
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
	int before, after = (int)h->fds.n + 1, ret;

	if (!keep)
		return;
	for (size_t i = 0; i < h->fds.n; i++)
		keep[i] = h->fds.v[i].fd;
	keep[h->fds.n] = h->state_fd;
	/* one listing of /proc/self/fd (10,000 pidfds: not twice): what
	 * stays open is the list and stdio */
	before = count_fds();
	ret = rv_fd_close_unlisted(keep, h->fds.n + 1, 3);
	for (int fd = 0; fd < 3; fd++)
		after += fcntl(fd, F_GETFD) >= 0;
	if (ret || (before >= 0 && before != after))
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
	h->took_over = true;
	h->state_fd = -1;
	memset(h->ctl.fd, -1, sizeof(h->ctl.fd));
	if (e && !(h->error = strdup(e)))
		rollback(h, "out of memory");
	if (rv_handover_env_fd(fdvar, &h->state_fd, err, sizeof(err)))
		rollback(h, err);
	/* the children must not see them */
	unsetenv(RV_HANDOVER_ENV);
	unsetenv(RV_HANDOVER_ERROR_ENV);
	unsetenv(RV_HANDOVER_STAMPS_ENV);
	/* the previous image first (the control section): a rollback
	 * needs it */
	ret = rv_handover_read_state(h->state_fd, &h->ctl, &h->snap, err,
				     sizeof(err));
	if (!ret)
		ret = list_fds(h, err, sizeof(err));
	if (ret)
		rollback(h, err);
	crash_rollback(h, true);
	close_leaks(h);
	/* what is open now is the list (and stdio): close-on-exec at once,
	 * not one fcntl per descriptor in rv_snapshot_adopt_fds() */
	rv_fd_cloexec_all();
}

/* The heap the resume will use, faulted in at once: the parsed state and
 * the tree take about 16 times the state's JSON (handover_heap.h). */
static void prefault_heap(const char *fdvar)
{
	struct stat st;
	int fd;
	char err[128];

	if (!rv_handover_env_fd(fdvar, &fd, err, sizeof(err)) &&
	    !fstat(fd, &st))
		rv_handover_heap_hold((size_t)st.st_size * 16);
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
	if (fdvar) {
		h->stamp[RV_ST_MAIN] = rv_clock_now();
		prefault_heap(fdvar);
		rv_handover_stamps_parse(getenv(RV_HANDOVER_STAMPS_ENV),
					 h->stamp);
	}
	h->argv = read_cmdline();
	if (fdvar) {
		read_state(h, fdvar);
		h->stamp[RV_ST_READ] = rv_clock_now();
	}
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
	free(h);
	sv->handover = NULL;
}

bool rv_handover_resuming(const struct rv_supervisor *sv)
{
	return sv->handover && sv->handover->resuming;
}

const struct rv_snapshot *rv_handover_state(const struct rv_supervisor *sv)
{
	return rv_handover_resuming(sv) ? &sv->handover->snap : NULL;
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

/*
 * The tree runs the config it was built from (the state's bytes); the
 * files on disk may say something else by now.  Said, not applied: a
 * `reload` reads the disk and applies it with its usual diff.
 */
void rv_handover_config_changed(struct rv_supervisor *sv)
{
	char what[400], q[420];
	int ret;

	if (!sv->handover || !sv->handover->check_config)
		return;
	sv->handover->check_config = false;
	ret = rv_config_sources_changed(sv->specs, what, sizeof(what));

	if (ret > 0)
		rv_log_sup(RV_LOG_WARN, "main", "config_changed",
			   " what=%s detail=\"run ringvisor reload to apply\"",
			   rv_log_quote(what, q, sizeof(q)));
}

void rv_handover_resume(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;
	const char *fail = getenv(RV_HANDOVER_TEST_FAIL_ENV);
	int req = h->ctl.fd[RV_CTL_REQUESTER];
	char err[512], phases[300], *reply;
	double ms;

	h->stamp[RV_ST_LOADED] = rv_clock_now();
	if (fail && !strcmp(fail, "crash") && !h->error)
		raise(SIGSEGV);
	if (fail && *fail && !h->error)
		rollback(h, "resume failed: " RV_HANDOVER_TEST_FAIL_ENV
			 " is set");
	if (rv_snapshot_adopt_fds(&h->snap, err, sizeof(err)) ||
	    rv_snapshot_apply(sv, &h->snap, err, sizeof(err)))
		rollback(h, err);
	h->stamp[RV_ST_APPLIED] = rv_clock_now();
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
	rv_handover_daemon_restore(sv, &h->snap.daemon);
	/* point of no return passed for good: the previous image goes */
	crash_rollback(h, false);
	h->stamp[RV_ST_ARMED] = rv_clock_now();
	ms = (double)(h->stamp[RV_ST_ARMED] - h->ctl.t0_ns) / NS_PER_MS;
	rv_handover_phases_format(h->stamp, phases, sizeof(phases));
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
			   " from=%s to=%s ms=%.1f services=%zu%s",
			   h->ctl.writer, RINGVISOR_VERSION, ms, sv->n_svcs,
			   phases);
	/* read from disk after the first turn (rv_handover_maybe_run):
	 * not part of the hand-over's time */
	h->check_config = true;
	if (h->ctl.fd[RV_CTL_PREV_EXE] >= 0)
		close(h->ctl.fd[RV_CTL_PREV_EXE]);
	close(h->state_fd);
	h->state_fd = -1;
	h->resuming = false;
	rv_snapshot_free(&h->snap);
	rv_fdkeep_free(&h->fds);
	rv_handover_heap_release();
}

/* ---- the dry run, in the new binary ---- */

int rv_handover_check(const char *config_path, const struct rv_options *opts,
		      FILE *errors)
{
	const char *fdvar = getenv(RV_HANDOVER_ENV);
	struct rv_handover_ctl ctl = { 0 };
	struct rv_snapshot snap;
	struct rv_supervisor *sv;
	char err[512];
	int fd, ret;

	ret = rv_handover_env_fd(fdvar, &fd, err, sizeof(err));
	if (!ret)
		ret = rv_handover_read_state(fd, &ctl, &snap, err,
					     sizeof(err));
	free(ctl.binary);
	if (ret) {
		fprintf(errors, "%s\n", err);
		return RV_EXIT_FAILED;
	}
	/* the config the running tree was built from: the state's bytes */
	ret = rv_supervisor_load_check(&sv, config_path, &snap, opts, errors);
	if (ret) {
		fprintf(errors, "config %s: cannot load it\n",
			snap.n_config ? snap.config[0].path : config_path);
		rv_snapshot_free(&snap);
		return RV_EXIT_FAILED;
	}
	ret = rv_snapshot_apply(sv, &snap, err, sizeof(err));
	if (ret)
		fprintf(errors, "%s\n", err);
	rv_snapshot_free(&snap);
	rv_supervisor_free_check(sv);
	return ret ? RV_EXIT_FAILED : 0;
}
