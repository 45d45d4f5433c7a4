/* SPDX-License-Identifier: MIT */
/*
 * The supervisor object behind include/ringvisor.h: the tree, the loop and
 * the life cycle (starting, alive, shutting_down, completed, failed).
 */
#ifndef RV_SUPERVISOR_H
#define RV_SUPERVISOR_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "child/spawn.h"
#include "config/spec.h"
#include "ringvisor.h"
#include "tree/observer.h"
#include "tree/sockets.h"
#include "tree/tree.h"
#include "util/histogram.h"

struct rv_handover;

enum rv_sup_state {
	RV_SUP_STARTING,
	RV_SUP_ALIVE,
	RV_SUP_SHUTTING_DOWN,
	RV_SUP_COMPLETED,
	RV_SUP_FAILED,
};

struct rv_supervisor {
	struct rv_specset *set;		/* the current config */
	struct rv_specs *specs;		/* &set->specs */
	struct rv_loop *loop;
	struct rv_spawner *spawner;
	/* members in config order; nodes[0] is the top level.  Arrays of
	 * pointers: a reload adds and removes members in place */
	struct rv_node **nodes;
	size_t n_nodes;
	struct rv_service **svcs;
	size_t n_svcs;
	struct rv_service *svc_block;	/* the load's services (build.c) */
	struct rv_socket_set sockets;	/* [socket:NAME], held (sockets.c) */
	/* where rv_service_envp() joins an environment: sized by every
	 * build for its largest join, never shrunk */
	char **env_scratch;
	size_t env_scratch_cap;
	struct rv_observer observer;

	enum rv_sup_state state;
	bool failing;			/* shutting down because of a failure */
	bool finished;			/* the loop may return */
	const char *fail_reason;
	int exit_code;
	uint64_t seq;			/* start order */
	uint64_t rng;			/* jitter */
	int64_t started_ns;
	/* members that keep the supervisor `starting` (lifecycle.c) */
	uint32_t n_unsettled;
	bool initial_start_done;
	struct rv_timer shutdown_timer;
	atomic_int cancel;		/* rv_cancel() */

	char *report_path;
	char *config_path;		/* NULL: nothing to reload */
	/* reload.c: jobs of the reload being applied, a queued one */
	uint32_t reload_jobs;
	bool reload_queued;
	struct rv_timer reload_timer;	/* runs a queued reload */
	char backend_why[512];
	rv_backoff_fn *backoff_fn;
	void *backoff_ctx;

	struct rv_control *control;	/* NULL under exec without one */
	struct rv_http *http;		/* NULL: no http_listen */
	struct rv_notify *notify;	/* NULL: no notify service */
	char *notify_path;		/* NOTIFY_SOCKET of notify services */
	struct rv_histogram restart_latency;	/* restart due -> exec'd */
	/*
	 * `reexec` asked (control/commands.c, SIGUSR2): the daemon hands the
	 * tree to a new image between two loop turns (daemon/handover.c),
	 * never from inside a callback.
	 */
	struct {
		bool asked;
		char *binary;		/* NULL: the path resolved at start */
		int64_t timeout_ns;	/* probe and dry run; 0: default */
	} reexec;
	struct rv_handover *handover;	/* daemon/handover.c; NULL: none */
	/* the tree is built from a hand-over's state: its output pipes
	 * come from it (rv_iso_builder.pipes_later) */
	bool pipes_later;

	/* exec (tini mode) */
	bool exec_mode;
	bool exec_escalate;		/* --stop-timeout given: SIGKILL after */
	int exec_stop_signal;		/* the signal that asked us to stop */
	/* the caller's signal mask and ignored signals, passed on to the
	 * child as tini does (recorded before we block anything) */
	sigset_t exec_child_mask;
	sigset_t exec_child_ignored;
};

const char *rv_sup_state_name(enum rv_sup_state s);

/* The complete environment of s's child, valid until the next call (it
 * may live in sv->env_scratch).  Never allocates. */
char *const *rv_service_envp(const struct rv_service *s);

/* Graceful stop of everything; a second request kills what is left. */
void rv_supervisor_shutdown(struct rv_supervisor *sv, int64_t now,
			    const char *reason);
/* Shut down and end `failed` (exit 1). */
void rv_supervisor_fail(struct rv_supervisor *sv, int64_t now,
			const char *reason);
/* The top node finished stopping. */
void rv_supervisor_top_down(struct rv_supervisor *sv, int64_t now);
/* Every service ended on its own: completed (0) or failed (1). */
void rv_supervisor_top_terminal(struct rv_supervisor *sv, bool failed,
				int64_t now);
/* Starting -> alive once every member that must start is up. */
void rv_supervisor_maybe_alive(struct rv_supervisor *sv);
/* The shutdown timer; once, before anything starts. */
void rv_supervisor_lifecycle_init(struct rv_supervisor *sv);
/* End the run: the loop returns, run() exits with code. */
void rv_supervisor_finish(struct rv_supervisor *sv, bool failed, int code);
/* SIGKILL to every process left (shutdown timeout, second signal). */
void rv_supervisor_kill_all(struct rv_supervisor *sv,
			    enum rv_kill_reason why);
/* The exit status `exec` passes on (child's status, 128+N, 126/127). */
int rv_supervisor_exec_status(const struct rv_supervisor *sv);

#endif
