/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's notify socket: where it lives, and what a datagram on
 * it does.  notify.c receives and authenticates, notify_msg.c parses, this
 * file finds the service the sender belongs to (tree/readiness.c) and
 * hands it the message; a stranger's datagram costs a counter (notify.c).
 */
#ifndef RV_NOTIFY_DISPATCH_H
#define RV_NOTIFY_DISPATCH_H

#include <stdio.h>

struct rv_supervisor;

/* sv->notify_path: beside the control socket under `run` (always, so that
 * a reload can add the first notify service); an abstract address under
 * `exec`, only for a notify service.  Before the tree is built (children
 * get it in NOTIFY_SOCKET).  0 or -ENOMEM. */
int rv_notify_dispatch_path(struct rv_supervisor *sv);
/* Opens the socket at sv->notify_path, if any (fd >= 0: the one a
 * previous image handed over).  0 or -errno (said on errors). */
int rv_notify_dispatch_open(struct rv_supervisor *sv, int fd, FILE *errors);
void rv_notify_dispatch_close(struct rv_supervisor *sv);

#endif
