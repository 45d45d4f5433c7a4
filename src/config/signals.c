// SPDX-License-Identifier: MIT
/*
 * Signal names <-> numbers, for stop_signal, success_exit_status, `kill` and
 * the status output.  Our own table rather than sigabbrev_np(): it takes
 * "term", "SIGTERM" and the real-time "SIGRTMIN+3" the same way everywhere.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/parse.h"

static const struct signal_name {
	const char *name;
	int signo;
} signal_names[] = {
	{ "SIGHUP", SIGHUP },
	{ "SIGINT", SIGINT },
	{ "SIGQUIT", SIGQUIT },
	{ "SIGILL", SIGILL },
	{ "SIGTRAP", SIGTRAP },
	{ "SIGABRT", SIGABRT },
	{ "SIGBUS", SIGBUS },
	{ "SIGFPE", SIGFPE },
	{ "SIGKILL", SIGKILL },
	{ "SIGUSR1", SIGUSR1 },
	{ "SIGSEGV", SIGSEGV },
	{ "SIGUSR2", SIGUSR2 },
	{ "SIGPIPE", SIGPIPE },
	{ "SIGALRM", SIGALRM },
	{ "SIGTERM", SIGTERM },
	{ "SIGSTKFLT", SIGSTKFLT },
	{ "SIGCHLD", SIGCHLD },
	{ "SIGCONT", SIGCONT },
	{ "SIGSTOP", SIGSTOP },
	{ "SIGTSTP", SIGTSTP },
	{ "SIGTTIN", SIGTTIN },
	{ "SIGTTOU", SIGTTOU },
	{ "SIGURG", SIGURG },
	{ "SIGXCPU", SIGXCPU },
	{ "SIGXFSZ", SIGXFSZ },
	{ "SIGVTALRM", SIGVTALRM },
	{ "SIGPROF", SIGPROF },
	{ "SIGWINCH", SIGWINCH },
	{ "SIGIO", SIGIO },
	{ "SIGPWR", SIGPWR },
	{ "SIGSYS", SIGSYS },
	/* aliases: parsed, never printed (the first name of a number wins) */
	{ "SIGIOT", SIGABRT },
	{ "SIGPOLL", SIGIO },
	{ "SIGCLD", SIGCHLD },
};

#define N_SIGNAL_NAMES (sizeof(signal_names) / sizeof(signal_names[0]))

/* Small decimal, digits only; -1 if not that. */
static int small_number(const char *s)
{
	int v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-2" (SIG already stripped). */
static int parse_rt(const char *s, int *out)
{
	int base, off = 0, sign;

	if (!strncasecmp(s, "RTMIN", 5)) {
		base = SIGRTMIN;
		sign = 1;
	} else if (!strncasecmp(s, "RTMAX", 5)) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -EINVAL;
	}
	s += 5;
	if (*s) {
		if (*s != (sign > 0 ? '+' : '-'))
			return -EINVAL;
		off = small_number(s + 1);
		if (off < 0)
			return -EINVAL;
	}
	if (off > SIGRTMAX - SIGRTMIN)
		return -ERANGE;
	*out = base + sign * off;
	return 0;
}

int rv_parse_signal(const char *s, int *out_signo)
{
	const char *name = s;
	size_t i;
	int n;

	if (*s == '-' && s[1] >= '0' && s[1] <= '9')
		return -ERANGE;
	n = small_number(s);
	if (n >= 0) {
		if (n < 1 || n > SIGRTMAX)
			return -ERANGE;
		*out_signo = n;
		return 0;
	}
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (i = 0; i < N_SIGNAL_NAMES; i++) {
		if (!strcasecmp(name, signal_names[i].name + 3)) {
			*out_signo = signal_names[i].signo;
			return 0;
		}
	}
	return parse_rt(name, out_signo);
}

const char *rv_signal_name(int signo)
{
	static _Thread_local char buf[32];
	size_t i;

	for (i = 0; i < N_SIGNAL_NAMES; i++)
		if (signal_names[i].signo == signo)
			return signal_names[i].name;
	if (signo == SIGRTMIN)
		return "SIGRTMIN";
	if (signo == SIGRTMAX)
		return "SIGRTMAX";
	if (signo > SIGRTMIN && signo < SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", signo - SIGRTMIN);
	else
		snprintf(buf, sizeof(buf), "SIG%d", signo);
	return buf;
}
