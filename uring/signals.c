/* SPDX-License-Identifier: MIT */
/*
 * Signals arrive through a signalfd (cfg->signals + SIGCHLD), read by the
 * loop like any fd.  SIGCHLD stays blocked always, but leaves the
 * signalfd while an IORING_OP_WAITID reaper reports every exit by itself
 * (rv_signals_sigchld): one completion per exit instead of three.
 * That only works if the signals are blocked in every thread, which is
 * why rv_loop_block_signals() must run before any thread exists
 * (URING_NOTES.md §5: a thread created earlier gets SIGTERM's default
 * action and kills the process).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop_internal.h"

static int build_set(const int *signals, sigset_t *set)
{
	sigemptyset(set);
	if (sigaddset(set, SIGCHLD))
		return -errno;
	for (; signals && *signals; signals++)
		if (sigaddset(set, *signals))
			return -errno;
	return 0;
}

int rv_loop_block_signals(const int *signals)
{
	sigset_t set;
	int ret;

	ret = build_set(signals, &set);
	if (ret)
		return ret;
	/* pthread_sigmask returns the error, it does not set errno */
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * SIGCHLD set to SIG_IGN (inherited across exec from a careless parent) or
 * SA_NOCLDWAIT makes the kernel auto-reap children: waitid would then
 * report nothing and every exit would be lost.  Reset it to SIG_DFL; the
 * signal is blocked, so the handler never runs anyway.
 */
static int fix_sigchld_disposition(void)
{
	struct sigaction sa;

	if (sigaction(SIGCHLD, NULL, &sa))
		return -errno;
	if (sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_NOCLDWAIT))
		return 0;
	sa = (struct sigaction){ .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGCHLD, &sa, NULL) ? -errno : 0;
}

int rv_signals_open(struct rv_loop *loop, const int *signals)
{
	int ret;

	ret = build_set(signals, &loop->sigmask);
	if (ret)
		return ret;
	/* idempotent, and harmless if the caller already did it */
	ret = -pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL);
	if (ret)
		return ret;
	ret = fix_sigchld_disposition();
	if (ret)
		return ret;
	loop->sfd = signalfd(-1, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	return loop->sfd < 0 ? -errno : 0;
}

/*
 * SIGCHLD in the signalfd (on) or only blocked (off).  Off is for a reaper
 * that sees every child on its own; on again whenever it cannot, so that
 * the SIGCHLD sweep reaps.
 */
int rv_signals_sigchld(struct rv_loop *loop, bool on)
{
	sigset_t mask = loop->sigmask;

	if (sigismember(&mask, SIGCHLD) == on)
		return 0;
	if (on)
		sigaddset(&mask, SIGCHLD);
	else
		sigdelset(&mask, SIGCHLD);
	if (signalfd(loop->sfd, &mask, 0) < 0)
		return -errno;
	loop->sigmask = mask;
	return 0;
}

/*
 * The signalfd is readable: read until EAGAIN.  SIGCHLD triggers one sweep
 * after the batch (it coalesces, so counting them means nothing); the rest
 * go to signal_cb in arrival order.
 */
int rv_signals_drain(struct rv_loop *loop)
{
	struct signalfd_siginfo si[16];
	bool sigchld = false;
	ssize_t n;
	int ret = 0;
	size_t i;

	for (;;) {
		n = read(loop->sfd, si, sizeof(si));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				ret = -errno;
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			if (si[i].ssi_signo == SIGCHLD)
				sigchld = true;
			else if (loop->signal_cb)
				loop->signal_cb(loop, (int)si[i].ssi_signo,
						&si[i], loop->ctx);
		}
	}
	if (sigchld) {
		int sret = rv_children_sweep(loop);

		loop->ops->sigchld(loop);
		if (!ret)
			ret = sret;
	}
	return ret;
}
