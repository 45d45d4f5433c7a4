/* SPDX-License-Identifier: MIT */
/*
 * The control plane's subscription to the tree (tree/observer.h): state
 * changes become `ringvisor events` lines for the followers of the
 * control socket, and the supervisor's own READY=1 / STOPPING=1 to a
 * parent systemd.
 */
#ifndef RV_OBSERVE_H
#define RV_OBSERVE_H

struct rv_supervisor;

/* Installs the hook in sv->observer; call before anything starts. */
void rv_control_observe(struct rv_supervisor *sv);

#endif
