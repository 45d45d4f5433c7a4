/* SPDX-License-Identifier: MIT */
/*
 * Readiness and liveness of a service: the systemd notify protocol
 * (type = notify: READY=1, STATUS=, WATCHDOG=1, STOPPING=1, MAINPID=),
 * s6's ready_fd, a ready_check probe, ready_timeout, the watchdog and
 * health_check.  Only services that use any of them get a struct rv_ready
 * (allocated at load); the others pay one NULL check.
 *
 * service.c calls the hooks below; what they decide comes back through
 * rv_service_ready() and rv_service_abort() (service.c).
 */
#ifndef RV_READINESS_H
#define RV_READINESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "loop.h"

struct rv_supervisor;
struct rv_service;
struct rv_spawn_fd;
struct rv_service_spec;

/* Does this spec need a struct rv_ready? */
bool rv_ready_needed(const struct rv_service_spec *sp);
/* Load time: allocates s->ready and reserves its timers and probe child.
 * 0 or -ENOMEM. */
int rv_ready_init(struct rv_service *s);
void rv_ready_free(struct rv_service *s);
/* s->ready moved to s (a reload's new build): callbacks follow it. */
void rv_ready_rebind(struct rv_service *s);
/* The environment a notify service gets (NOTIFY_SOCKET, WATCHDOG_USEC);
 * NULL-terminated, malloc'd (rv_argv_free()), NULL on ENOMEM. */
char **rv_ready_env(const struct rv_service *s, const char *notify_path);

/* Before the spawn: ready_fd's pipe (a redirection into fds[*n]).
 * 0 or -errno (a failed start). */
int rv_ready_before_spawn(struct rv_service *s, struct rv_spawn_fd *fds,
			  size_t *n);
/* The exec succeeded: true when the service is ready at once (nothing to
 * wait for); false: it is `starting` until rv_service_ready(). */
bool rv_ready_after_spawn(struct rv_service *s, int64_t now);
/* It became ready (`running`): watchdog and health checks begin. */
void rv_ready_on_ready(struct rv_service *s, int64_t now);
/* Its process is being stopped or has ended: everything stops. */
void rv_ready_reset(struct rv_service *s);

/* ---- hand-over (tree/snapshot.h) ---- */

struct rv_snap_ready;
/*
 * s's readiness state into *out (allocated: NULL when s has none).
 * 0, -ENOMEM, or -EBUSY while a check probe runs or the ready_fd pipe's
 * write end is still ours (a spawn in progress): rv_ready_quiesce()
 * first.
 */
int rv_ready_take(const struct rv_service *s, struct rv_snap_ready **out);
/* Cancels a check probe in flight; the next check is due at once. */
void rv_ready_quiesce(struct rv_service *s, int64_t now);
/* Writes r into s->ready (present: the caller checked).  Arms nothing. */
void rv_ready_apply(struct rv_service *s, const struct rv_snap_ready *r);
/* Arms the timers r has deadlines for. */
void rv_ready_arm(struct rv_service *s, const struct rv_snap_ready *r);

/*
 * A notify message, as the control plane parsed it off the notify socket
 * (control/notify_dispatch.c): the tree knows no socket and no wire
 * format.  status points into the datagram: copied if kept.
 */
struct rv_ready_msg {
	const char *status;	/* STATUS=, or NULL */
	pid_t mainpid;		/* MAINPID=, or 0 */
	bool ready;		/* READY=1 */
	bool stopping;		/* STOPPING=1 */
	bool watchdog;		/* WATCHDOG=1 */
	bool watchdog_trigger;	/* WATCHDOG=trigger */
};

/* The notify service a datagram from pid belongs to: its main process,
 * or a process of its group (NotifyAccess=all); NULL for a stranger.
 * Two table lookups and at most one getpgid(), never a scan. */
struct rv_service *rv_ready_sender(struct rv_supervisor *sv, pid_t pid);
/* What s said about itself. */
void rv_ready_report(struct rv_service *s, const struct rv_ready_msg *msg,
		     int64_t now);

#endif
