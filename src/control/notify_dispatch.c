/* SPDX-License-Identifier: MIT */
#include "control/notify_dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/notify.h"
#include "control/notify_msg.h"
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

int rv_notify_dispatch_open(struct rv_supervisor *sv, FILE *errors)
{
	int ret;

	if (!sv->notify_path || sv->notify)
		return 0;
	ret = rv_notify_open(&sv->notify, sv->loop, sv->notify_path,
			     on_notify, sv);
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
