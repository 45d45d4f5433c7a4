/* SPDX-License-Identifier: MIT */
/*
 * What the supervisor does with the signals it receives (through the
 * loop's signalfd), with rv_cancel()'s wake-up, and with orphans it reaps.
 *
 * Every signal is taken through the signalfd, as tini takes every signal
 * with sigtimedwait(), except:
 *   - KILL and STOP, which cannot be;
 *   - the synchronous ones (SEGV BUS FPE ILL TRAP SYS): a fault of ours
 *     must kill us with its default action, not wait in a queue;
 *   - TTIN and TTOU, ignored (rv_daemon_signals_setup): under `exec` the
 *     child holds the terminal, and writing a log line from the
 *     background with `stty tostop` must not stop us.
 * A signal left at its default action would kill us (ALRM, PWR, the
 * real-time ones, ...) and, through PR_SET_PDEATHSIG, every child; or, as
 * PID 1, be dropped by the kernel.  Blocked, each one is queued for us
 * whatever our pid.  ABRT is taken too, so that an ABRT sent by someone
 * else is passed on; our own abort() unblocks it before raising it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/parse.h"
#include "daemon/daemon.h"
#include "tree/isolation.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "util/log.h"

/* Never taken through the signalfd (see above). */
static bool not_taken(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP:
	case SIGSYS:
	case SIGTTIN: case SIGTTOU:
	case SIGCHLD:	/* the loop's own (reaping) */
		return true;
	default:
		return false;
	}
}

const int *rv_daemon_signals(void)
{
	/* SIGRTMIN is a libc call, not a constant: filled on first use */
	static int list[NSIG];
	sigset_t all;
	int n = 0;

	if (list[0])
		return list;
	/* glibc's full set leaves out the signals it keeps for itself */
	sigfillset(&all);
	for (int sig = 1; sig < NSIG && n < NSIG - 1; sig++)
		if (sigismember(&all, sig) == 1 && !not_taken(sig))
			list[n++] = sig;
	list[n] = 0;
	return list;
}

int rv_daemon_caller_signals(sigset_t *mask, sigset_t *ignored)
{
	struct sigaction sa;
	int err;

	/* pthread_sigmask returns the error, it does not set errno */
	err = pthread_sigmask(SIG_SETMASK, NULL, mask);
	if (err)
		return -err;
	sigemptyset(ignored);
	for (int sig = 1; sig < NSIG; sig++) {
		/* EINVAL for KILL, STOP and glibc's own: none is ignored */
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN)
			sigaddset(ignored, sig);
	}
	return 0;
}

int rv_daemon_signals_setup(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	const int sigs[] = {
		/* a write to a closed pipe or socket is an EPIPE error, not
		 * our death (blocked too: rv_daemon_on_signal drops ours) */
		SIGPIPE,
		/* from the background of a terminal (above) */
		SIGTTIN, SIGTTOU,
	};

	sigemptyset(&ign.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		if (sigaction(sigs[i], &ign, NULL) < 0)
			return -errno;
	return 0;
}

/*
 * `run`: what each signal means.  systemd's SIGRTMIN+3 (`docker stop`
 * for systemd-style images) and SIGPWR (`lxc-stop`) ask for a graceful
 * shutdown, as TERM does.
 */
enum action { ACT_IGNORE, ACT_SHUTDOWN, ACT_RELOAD, ACT_REOPEN, ACT_REEXEC };

static enum action run_action(int signo)
{
	switch (signo) {
	case SIGTERM: case SIGINT: case SIGQUIT: case SIGPWR:
		return ACT_SHUTDOWN;
	case SIGHUP:
		return ACT_RELOAD;
	case SIGUSR1:
		return ACT_REOPEN;
	case SIGUSR2:
		/* as nginx, unicorn and gunicorn; systemd sends it to no
		 * service (docs/reexec.md, "Signal: SIGUSR2") */
		return ACT_REEXEC;
	default:
		return signo == SIGRTMIN + 3 ? ACT_SHUTDOWN : ACT_IGNORE;
	}
}

static const char *const action_names[] = {
	[ACT_IGNORE] = "ignored", [ACT_SHUTDOWN] = "shutdown",
	[ACT_RELOAD] = "reload", [ACT_REOPEN] = "reopen_logs",
	[ACT_REEXEC] = "reexec",
};

/*
 * `exec`: every signal goes to the child, as tini does.  The stop
 * signals (TERM INT QUIT, and PWR and SIGRTMIN+3 as for `run`) also mean
 * "do not restart, end with the child's own status".
 */
static void exec_signal(struct rv_supervisor *sv, int signo, int64_t now)
{
	struct rv_service *s = sv->svcs[0];
	bool stop = run_action(signo) == ACT_SHUTDOWN;

	rv_log_sup(RV_LOG_INFO, "main", "signal", " signal=%s action=%s",
		   rv_signal_name(signo), stop ? "stop" : "forward");
	/* already stopping: the child decides, we only forward */
	if (stop && sv->state != RV_SUP_SHUTTING_DOWN) {
		sv->exec_stop_signal = signo;
		rv_supervisor_shutdown(sv, now, "signal");
		return;
	}
	if (rv_service_signal(s, signo, false) == 0)
		rv_log_svc(RV_LOG_DEBUG, s->name, "forward",
			   " signal=%s pid=%d", rv_signal_name(signo),
			   (int)s->child.pid);
}

void rv_daemon_on_signal(struct rv_loop *loop, int signo,
			 const struct signalfd_siginfo *si, void *ctx)
{
	struct rv_supervisor *sv = ctx;
	int64_t now = rv_loop_now(loop);
	enum action act;

	/*
	 * Our own: the kernel's SIGPIPE (or SIGXFSZ) for a write of ours,
	 * sent "by" us.  Never the caller's to pass on or act upon.  (A
	 * sender outside our pid namespace shows as pid 0.)
	 */
	if (si->ssi_pid == (uint32_t)getpid())
		return;
	if (sv->exec_mode) {
		exec_signal(sv, signo, now);
		return;
	}
	act = run_action(signo);
	rv_log_sup(RV_LOG_INFO, "main", "signal", " signal=%s action=%s",
		   rv_signal_name(signo), action_names[act]);
	switch (act) {
	case ACT_SHUTDOWN:
		rv_supervisor_shutdown(sv, now, "signal");
		break;
	case ACT_RELOAD: {
		struct rv_reload_result res;

		rv_reload_request(sv, now, &res);	/* it logs the outcome */
		rv_reload_result_free(&res);
		break;
	}
	case ACT_REOPEN:
		/* logrotate: reopen every file: output */
		rv_iso_reopen_outputs(sv);
		break;
	case ACT_REEXEC:
		/* done between two turns (daemon/handover.c) */
		sv->reexec.asked = true;
		break;
	case ACT_IGNORE:
	default:
		break;
	}
}

void rv_daemon_on_wake(struct rv_loop *loop, void *ctx)
{
	struct rv_supervisor *sv = ctx;

	if (atomic_exchange(&sv->cancel, 0))
		rv_supervisor_shutdown(sv, rv_loop_now(loop), "cancel");
}

void rv_daemon_on_orphan(struct rv_loop *loop, const siginfo_t *info, void *ctx)
{
	if (info->si_code == CLD_EXITED)
		rv_log_sup(RV_LOG_DEBUG, "main", "orphan_reaped",
			   " pid=%d code=%d", (int)info->si_pid,
			   info->si_status);
	else
		rv_log_sup(RV_LOG_DEBUG, "main", "orphan_reaped",
			   " pid=%d signal=%s", (int)info->si_pid,
			   rv_signal_name(info->si_status));
}
