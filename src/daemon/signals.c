/* SPDX-License-Identifier: MIT */
/*
 * What the supervisor does with the signals it receives (through the
 * loop's signalfd), with rv_cancel()'s wake-up, and with orphans it reaps.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "config/parse.h"
#include "daemon/daemon.h"
#include "tree/isolation.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "util/log.h"

/* Signals the supervisor takes through its signalfd (plus SIGCHLD). */
const int rv_daemon_signals[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, 0
};

void rv_daemon_on_signal(struct rv_loop *loop, int signo,
		      const struct signalfd_siginfo *si, void *ctx)
{
	struct rv_supervisor *sv = ctx;
	int64_t now = rv_loop_now(loop);

	rv_log_sup(RV_LOG_INFO, "main", "signal", " signal=%s",
		   rv_signal_name(signo));
	if (sv->exec_mode) {
		/* tini: pass it on; TERM/INT/QUIT also mean "do not
		 * restart, end with the child's own status" */
		struct rv_service *s = sv->svcs[0];
		bool stop = signo == SIGTERM || signo == SIGINT ||
			    signo == SIGQUIT;

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
		return;
	}
	switch (signo) {
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		rv_supervisor_shutdown(sv, now, "signal");
		break;
	case SIGHUP: {
		struct rv_reload_result res;

		rv_reload_request(sv, now, &res);	/* it logs the outcome */
		rv_reload_result_free(&res);
		break;
	}
	case SIGUSR1:
		/* logrotate: reopen every file: output */
		rv_iso_reopen_outputs(sv);
		break;
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
