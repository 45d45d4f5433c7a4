/* SPDX-License-Identifier: MIT */
/*
 * Exec probes for ready_check and health_check: run a command as a child
 * of the loop, with a deadline, and report how it ended.  A probe never
 * blocks the loop: its exit arrives like any other child's, its deadline
 * is a loop timer.
 *
 * struct rv_probe is embedded in its owner (a service) and holds everything
 * one run needs, so running a probe never allocates.  Each probe uses one
 * timer and one child slot of the loop: whoever creates probes reserves
 * rv_loop_timer_reserve(loop, 1) and rv_loop_child_reserve(loop, 1) per
 * probe at load time (a service with both ready_check and health_check: 2
 * of each; the two never run at once, but separate probes are simpler).
 *
 * The child: argv[0] searched in PATH, the given environment, its own
 * session (so a timeout or cancel kills the probe's whole process group:
 * `sh -c 'curl ...'` included), stdin, stdout and stderr on /dev/null, no
 * other fd of ours.
 */
#ifndef RV_PROBE_H
#define RV_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "child/spawn.h"
#include "loop.h"

enum rv_probe_result {
	RV_PROBE_OK,		/* exited 0; code 0 */
	RV_PROBE_FAILED,	/* code: exit status 1..255, 128+N if killed
				 * by signal N, -1 if the status was lost */
	RV_PROBE_TIMEOUT,	/* killed at the deadline; code 0 */
	RV_PROBE_SPAWN_FAILED,	/* code: positive errno (ENOENT for a missing
				 * command); see rv_probe.spawn_step */
};

/*
 * Called on the loop thread exactly once per rv_probe_run() that returned
 * 0, unless the run is cancelled.  now is the loop's time.  The probe is
 * idle again when this is called: the callback may run it again, cancel
 * it (a no-op), or leave it.
 */
typedef void rv_probe_cb(void *ctx, enum rv_probe_result res,
			 int code_or_errno, int64_t now);

enum rv_probe_state {
	RV_PROBE_IDLE,
	RV_PROBE_RUNNING,	/* the child is running, deadline armed */
	RV_PROBE_KILLED,	/* deadline passed, SIGKILL sent, exit awaited */
	RV_PROBE_EXEC_FAILED,	/* child exists but its exec failed */
	RV_PROBE_NO_CHILD,	/* no child at all; reported on the next turn */
};

/* Everything below is private to probe.c; read-only for owners. */
struct rv_probe {
	struct rv_child child;
	struct rv_timer timer;
	struct rv_loop *loop;
	struct rv_spawner *spawner;
	rv_probe_cb *cb;
	void *ctx;
	enum rv_probe_state state;
	int spawn_err;		/* errno of a failed spawn */
	const char *spawn_step;	/* "execve", "clone", ... (static string) */
	int report_fd;		/* rv_spawn_result.report_fd, or -1 */
	const struct rv_spawn_iso *iso;	/* NULL: as the supervisor */
	int64_t started_ns;	/* the now given to the last rv_probe_run() */
};

/*
 * Fills p (no allocation; nothing to free).  The first call in a process
 * opens /dev/null (O_CLOEXEC, kept open for the life of the process).
 * Returns 0, or -errno if /dev/null cannot be opened.
 */
int rv_probe_init(struct rv_probe *p, struct rv_loop *loop,
		  struct rv_spawner *sp, rv_probe_cb *cb, void *ctx);

/*
 * Runs the probe's commands with an identity and resources (user, groups,
 * capabilities, cgroup, working directory, ...), normally the ones of the
 * service it checks, as systemd runs ExecStartPost= as the service's user.
 * iso must stay valid while the probe may run.  NULL (the default after
 * rv_probe_init()): as the supervisor itself.
 */
void rv_probe_set_iso(struct rv_probe *p, const struct rv_spawn_iso *iso);

/*
 * Starts argv (NULL-terminated, argv[0] non-NULL) with environment envp.
 * timeout_ns > 0 is a deadline relative to now (the loop's time); 0 or less
 * means none.  argv and envp are only read during this call.
 * Returns 0 when the run has begun: its result will come through the
 * callback exactly once, including RV_PROBE_SPAWN_FAILED (a failed exec
 * when the child exits, a failed clone on the next loop turn: never from
 * inside this call).  -EBUSY if the probe is already running, -EINVAL for
 * an empty argv; then nothing happens and no callback follows.
 */
int rv_probe_run(struct rv_probe *p, char *const *argv, char *const *envp,
		 int64_t timeout_ns, int64_t now);

/*
 * Ends a run without a report: SIGKILL to the probe's process group, the
 * deadline disarmed, the child handed to the loop's orphan reaping
 * (orphan_cb sees it, killed by SIGKILL).  The probe is idle at once:
 * it may be run again, or its owner freed.  No-op when idle.
 */
void rv_probe_cancel(struct rv_probe *p);

/* true from rv_probe_run() until its callback (or rv_probe_cancel()). */
bool rv_probe_running(const struct rv_probe *p);

#endif
