/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor reexec`: the running tree handed to a new binary
 * (docs/reexec.md).  The old image probes the new binary, quiesces the
 * loop, writes the state into a sealed memfd, has the new binary check
 * it (a dry run), and execs it; the new image resumes from the state, or
 * execs the previous image again with it if it cannot.
 */
#ifndef RV_HANDOVER_H
#define RV_HANDOVER_H

#include <stdbool.h>
#include <stdio.h>

#include "ringvisor.h"

struct rv_supervisor;

/* Test hook: set, the new image of a hand-over fails its resume (and
 * rolls back); "crash": it crashes (SIGSEGV) there instead.  The image
 * that rolled back does not honour it. */
#define RV_HANDOVER_TEST_FAIL_ENV "RINGVISOR_TEST_RESUME_FAIL"
/* Test hook: a file with a pid the old image kills after taking the
 * state (daemon/handover.c). */
#define RV_HANDOVER_TEST_KILL_ENV "RINGVISOR_TEST_HANDOVER_KILL"
/* The new image's error, for the previous image it rolls back to. */
#define RV_HANDOVER_ERROR_ENV "RINGVISOR_HANDOVER_ERROR"

/*
 * At the start of `run`, before anything else is opened: the image now
 * running (/proc/self/exe, O_PATH: it survives the file being replaced),
 * its resolved path (the default --binary) and the command line.  With
 * RINGVISOR_HANDOVER_FD set, also reads the state (a failure rolls back
 * to the previous image and does not return).  0 or -errno.
 */
int rv_handover_init(struct rv_supervisor *sv, FILE *errors);
void rv_handover_free(struct rv_supervisor *sv);

/* This process resumes a tree from a previous image (setup adopts the
 * descriptors below instead of opening its own). */
bool rv_handover_resuming(const struct rv_supervisor *sv);
/* A control-plane descriptor of the state, or -1 (handover_json.h's
 * enum rv_handover_ctl_fd). */
int rv_handover_inherited(const struct rv_supervisor *sv, int which);
/* The state being resumed (its config's bytes, its held sockets), or
 * NULL when this process does not resume one. */
struct rv_snapshot;
const struct rv_snapshot *rv_handover_state(const struct rv_supervisor *sv);

/* The new image's setup failed (what, -errno): roll back, no return. */
__attribute__((noreturn))
void rv_handover_setup_failed(struct rv_supervisor *sv, const char *what,
			      int err);

/*
 * The new image, after setup: applies the state, adopts the descriptors,
 * watches every child and arms the timers before the first loop turn,
 * answers the requester.  On failure it rolls back (does not return).
 */
void rv_handover_resume(struct rv_supervisor *sv);

/* Between two loop turns: if a reexec was asked, do it.  Returns when
 * there was none, or it failed (the tree runs on; the requester is told
 * why); on success this process is the new image. */
void rv_handover_maybe_run(struct rv_supervisor *sv);


#endif
