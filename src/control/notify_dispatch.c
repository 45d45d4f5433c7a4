/* SPDX-License-Identifier: MIT */
#include "control/notify_dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/notify.h"
#include "control/notify_msg.h"
#include "tree/fdpass.h"
#include "tree/readiness.h"
#include "tree/supervisor.h"

/* Every datagram anyone sends: a stranger's is refused (false) at the
 * cost of a table lookup or two (tree/readiness.c). */
static bool on_notify(void *ctx, pid_t pid, uid_t uid,
		      const struct rv_notify_msg *msg)
{
	struct rv_supervisor *sv = ctx;
	struct rv_service *s = rv_ready_sender(sv, pid);
	struct rv_ready_msg m = {
		.status = msg->status,
		.mainpid = msg->mainpid,
		.ready = msg->ready,
		.stopping = msg->stopping,
		.watchdog = msg->watchdog,
		.watchdog_trigger = msg->watchdog_trigger,
	};

	if (!s)
		return false;	/* counted and logged by notify.c */
	/* FDSTORE=1: the sender is the service's (rv_ready_sender), and
	 * fd_store_max bounds what is kept; notify.c closes the rest */
	if (msg->fdstore && msg->n_fds)
		rv_fdstore_add(s, msg->fds, msg->n_fds, msg->fdname);
	if (msg->fdstore_remove)
		rv_fdstore_remove(s, msg->fdname);
	rv_ready_report(s, &m, rv_loop_now(sv->loop));
	return true;
}

int rv_notify_dispatch_path(struct rv_supervisor *sv)
{
	bool any = false;

	for (size_t i = 0; i < sv->specs->n_services; i++)
		any |= sv->specs->services[i].type == RV_TYPE_NOTIFY;
	if (sv->notify_path)
		return 0;
	if (sv->exec_mode)
		return !any ? 0 : asprintf(&sv->notify_path,
					   "@ringvisor/%d/notify",
					   (int)getpid()) < 0 ? -ENOMEM : 0;
	return asprintf(&sv->notify_path, "%s.notify",
			sv->specs->control_socket) < 0 ? -ENOMEM : 0;
}

/*
 * Opened after the control socket, which is ours alone by then: a notify
 * socket still bound at its path belongs to the supervisor that had it
 * before, and is going away.  A supervisor SIGKILLed while it forked a
 * service that switches uid leaves that child holding a copy of it until
 * the child closes the supervisor's descriptors or dies (milliseconds,
 * spawn.c): wait for it that long, not forever (startup, not the loop).
 */
#define NOTIFY_TAKEOVER_TRIES	50
#define NOTIFY_TAKEOVER_STEP_NS	(20 * 1000 * 1000L)

int rv_notify_dispatch_open(struct rv_supervisor *sv, int fd, FILE *errors)
{
	struct timespec step = { 0, NOTIFY_TAKEOVER_STEP_NS };
	int ret;

	if (!sv->notify_path || sv->notify)
		return 0;
	if (fd >= 0)
		return rv_notify_adopt(&sv->notify, sv->loop, sv->notify_path,
				       fd, on_notify, sv);
	for (int i = 0;; i++) {
		ret = rv_notify_open(&sv->notify, sv->loop, sv->notify_path,
				     on_notify, sv);
		if (ret != -EADDRINUSE || sv->notify_path[0] != '/' ||
		    i == NOTIFY_TAKEOVER_TRIES)
			break;
		nanosleep(&step, NULL);
	}
	if (ret)
		fprintf(errors, "ringvisor: cannot create the notify socket "
			"%s: %s\n", sv->notify_path, strerror(-ret));
	return ret;
}

void rv_notify_dispatch_close(struct rv_supervisor *sv)
{
	rv_notify_close(sv->notify);
	sv->notify = NULL;
}
