/* SPDX-License-Identifier: MIT */
/*
 * The new binary, asked before the point of no return (docs/reexec.md,
 * steps 1 and 4): which state formats it reads (`--handover-formats`),
 * and whether it can read, build and apply this state
 * (`--handover-check`).  Each runs as a child with a deadline while the
 * loop is not turning; its last line of output is the error it gives.
 * Also the environment every exec of the hand-over gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/sd_notify_self.h"
#include "daemon/handover_internal.h"
#include "daemon/handover_memfd.h"
#include "loop.h"

extern char **environ;

#define HELPER_OUT_MAX		1024

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

/* handover_internal.h */
/* rv_supervisor_reexec()'s envp, while it runs */
static char *const *env_base;

void rv_handover_env_base(char *const envp[])
{
	env_base = envp;
}

char **rv_handover_env(char *const extra[], size_t n, bool image)
{
	char *const *base = env_base ? env_base : environ;
	size_t k = 0, len = 0;
	char *sd[3], **env;
	size_t n_sd = image ? systemd_vars(sd) : 0;

	while (base[len])
		len++;
	env = malloc((len + n + n_sd + 1) * sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (strncmp(base[i], "RINGVISOR_HANDOVER_", 19))
			env[k++] = base[i];
	for (size_t i = 0; i < n; i++)
		env[k++] = extra[i];
	for (size_t i = 0; i < n_sd; i++)
		env[k++] = sd[i];
	env[k] = NULL;
	return env;
}

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

/* handover_internal.h */
int rv_handover_probe(const char *binary, int64_t timeout_ns, char *err,
		 size_t errlen)
{
	char *argv[] = { (char *)binary, "--handover-formats", NULL };
	char out[HELPER_OUT_MAX], **env = rv_handover_env(NULL, 0, false);
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
	/* the newest both know: an upgrade writes its own, a downgrade the
	 * older binary's */
	if (hi < RV_HANDOVER_FORMAT_MIN || lo > RV_HANDOVER_FORMAT ||
	    lo > hi) {
		snprintf(err, errlen, "reads hand-over formats %d..%d, this "
			 "binary writes %d..%d", lo, hi,
			 RV_HANDOVER_FORMAT_MIN, RV_HANDOVER_FORMAT);
		return -EPROTO;
	}
	return hi < RV_HANDOVER_FORMAT ? hi : RV_HANDOVER_FORMAT;
}

/* handover_internal.h */
int rv_handover_dry_run(const struct rv_handover *h, const char *binary,
			int state_fd, int64_t timeout_ns, char *err,
			size_t errlen)
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
	env = rv_handover_env(extra, 1, false);
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
