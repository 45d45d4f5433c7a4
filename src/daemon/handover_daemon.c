/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's own part of a hand-over's state (struct rv_snap_daemon,
 * docs/reexec.md "Supervisor"): the counters the loop and the notify
 * socket keep, by name, and our own NOTIFY_SOCKET and watchdog.  The old
 * image fills it before the state is written; the new one reads the
 * counters back, so metrics go on counting instead of starting at zero.
 * NOTIFY_SOCKET and WATCHDOG_USEC themselves come back through the new
 * image's environment (handover_child.c); the state's copy says what the
 * previous image had, for a log line when they differ.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control/notify.h"
#include "control/sd_notify_self.h"
#include "daemon/handover_internal.h"
#include "loop.h"
#include "loop_stats.h"
#include "tree/supervisor.h"
#include "util/log.h"

/* Where each counter of the state lives: the loop's or the notify
 * socket's stats, at an offset. */
#define LOOP(f)		{ false, offsetof(struct rv_loop_stats, f) }
#define NOTIFY(f)	{ true, offsetof(struct rv_notify_stats, f) }
static const struct {
	bool notify;
	size_t off;
} where[RV_SNAP_NCOUNTERS] = {
	[RV_SNAP_LOOP_TURNS] = LOOP(turns),
	[RV_SNAP_LOOP_COMPLETIONS] = LOOP(completions),
	[RV_SNAP_CHILDREN_REAPED] = LOOP(children_reaped),
	[RV_SNAP_ORPHANS_REAPED] = LOOP(orphans_reaped),
	[RV_SNAP_NOTIFY_RECEIVED] = NOTIFY(received),
	[RV_SNAP_NOTIFY_DELIVERED] = NOTIFY(delivered),
	[RV_SNAP_NOTIFY_OVERSIZE] = NOTIFY(dropped_oversize),
	[RV_SNAP_NOTIFY_NO_CREDS] = NOTIFY(dropped_no_creds),
	[RV_SNAP_NOTIFY_CTRUNC] = NOTIFY(dropped_ctrunc),
	[RV_SNAP_NOTIFY_INVALID] = NOTIFY(dropped_invalid),
	[RV_SNAP_NOTIFY_UNKNOWN_SENDER] = NOTIFY(dropped_unknown_sender),
	[RV_SNAP_NOTIFY_FDS_CLOSED] = NOTIFY(fds_closed),
};

static uint64_t *counter(struct rv_loop_stats *l, struct rv_notify_stats *n,
			 int c)
{
	char *base = where[c].notify ? (char *)n : (char *)l;

	return (uint64_t *)(base + where[c].off);
}

int rv_handover_daemon_take(const struct rv_supervisor *sv,
			    struct rv_snap_daemon *d)
{
	const char *ns = rv_sd_notify_self_socket();
	struct rv_notify_stats n = { 0 };
	struct rv_loop_stats l;

	rv_loop_get_stats(sv->loop, &l);
	if (sv->notify)
		rv_notify_get_stats(sv->notify, &n);
	for (int c = 0; c < RV_SNAP_NCOUNTERS; c++)
		d->counters[c] = *counter(&l, &n, c);
	d->watchdog_usec = rv_sd_notify_self_watchdog_usec();
	d->notify_socket = ns ? strdup(ns) : NULL;
	return ns && !d->notify_socket ? -ENOMEM : 0;
}

void rv_handover_daemon_restore(struct rv_supervisor *sv,
				const struct rv_snap_daemon *d)
{
	const char *ns = rv_sd_notify_self_socket();
	struct rv_notify_stats n = { 0 };
	struct rv_loop_stats l = { 0 };

	for (int c = 0; c < RV_SNAP_NCOUNTERS; c++)
		*counter(&l, &n, c) = d->counters[c];
	rv_loop_carry_stats(sv->loop, &l);
	if (sv->notify)
		rv_notify_carry_stats(sv->notify, &n);
	/* the environment gave them back: the same unless it was changed
	 * under us, which systemd never does to a running unit */
	if ((!ns) != (!d->notify_socket) ||
	    (ns && strcmp(ns, d->notify_socket)) ||
	    rv_sd_notify_self_watchdog_usec() != d->watchdog_usec)
		rv_log_sup(RV_LOG_WARN, "main", "reexec_sd_notify_changed",
			   " notify_socket=%s watchdog_usec=%llu",
			   ns ? ns : "none",
			   (unsigned long long)rv_sd_notify_self_watchdog_usec());
}
