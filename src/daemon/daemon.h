/* SPDX-License-Identifier: MIT */
/*
 * The composition root: what ties the tree, the control plane and the
 * loop together (supervisor.c sets them up; signals.c dispatches what the
 * loop delivers).  Nothing under src/tree/ includes this.
 */
#ifndef RV_DAEMON_H
#define RV_DAEMON_H

#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>

#include "loop.h"

/*
 * Signals taken through the loop's signalfd (plus SIGCHLD), 0-ended: all
 * but KILL, STOP, the synchronous ones and TTIN/TTOU (signals.c).
 */
const int *rv_daemon_signals(void);

/*
 * The caller's signal mask and the signals it left ignored, for `exec`'s
 * child (tini passes them on: `nohup ringvisor exec -- cmd`).  Call before
 * anything is blocked or ignored here.  0 or -errno.
 */
int rv_daemon_caller_signals(sigset_t *mask, sigset_t *ignored);

/* The supervisor's own dispositions: PIPE, TTIN, TTOU ignored.  0 or
 * -errno. */
int rv_daemon_signals_setup(void);

void rv_daemon_on_signal(struct rv_loop *loop, int signo,
			 const struct signalfd_siginfo *si, void *ctx);
void rv_daemon_on_wake(struct rv_loop *loop, void *ctx);
void rv_daemon_on_orphan(struct rv_loop *loop, const siginfo_t *info,
			 void *ctx);

/* A hand-over's dry run: the tree of the config in snap's bytes (or,
 * with none, of config_path) built, nothing opened, bound or started
 * (supervisor.c).  0 or -errno. */
struct rv_supervisor;
struct rv_options;
struct rv_snapshot;
int rv_supervisor_load_check(struct rv_supervisor **out,
			     const char *config_path,
			     const struct rv_snapshot *snap,
			     const struct rv_options *opts, FILE *errors);
/* Frees a dry run's tree without touching what the state names: its
 * pids, its held sockets. */
void rv_supervisor_free_check(struct rv_supervisor *sv);

#endif
