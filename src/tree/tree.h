/* SPDX-License-Identifier: MIT */
/*
 * The supervision tree.  A node is a supervisor ([supervisor] or
 * [supervisor:NAME]); its members are services and nested nodes, in config
 * order.  Both kinds share struct rv_member, so a node applies its strategy
 * and intensity to a member without caring which kind it is (OTP: a
 * subtree that fails is just a child that failed).
 *
 * Policy code here never reads the clock: now_ns is passed in.
 */
#ifndef RV_TREE_H
#define RV_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/spec.h"
#include "loop.h"
#include "tree/window.h"

struct rv_supervisor;
struct rv_node;
struct rv_iso;

enum rv_member_kind { RV_MEMBER_SERVICE, RV_MEMBER_NODE };

struct rv_member {
	enum rv_member_kind kind;
	uint32_t index;			/* position in parent->members */
	const char *name;
	struct rv_node *parent;		/* NULL for the top node */
	uint64_t start_seq;		/* when last started: stop order */
	struct rv_member **deps;	/* `after`, instances expanded */
	struct rv_member **dependents;	/* reverse edges of deps */
	uint32_t n_deps;
	uint32_t n_dependents;
	bool critical;
};

/* Contract states (status JSON), plus WAITING shown as "starting". */
enum rv_svc_state {
	RV_SVC_STOPPED,
	RV_SVC_WAITING,		/* for `after` dependencies */
	RV_SVC_STARTING,	/* spawned, exec outcome or readiness pending */
	RV_SVC_RUNNING,
	RV_SVC_STOPPING,
	RV_SVC_BACKOFF,
	RV_SVC_COMPLETED,
	RV_SVC_FAILED,
	RV_SVC_NSTATES
};

struct rv_exit_info {
	bool valid;
	int code;		/* when signal == 0 */
	int signal;
	bool core_dumped;
	bool failed_start;	/* never got to exec, or never got ready */
	bool no_child;		/* failed before a child existed (clone, pipe) */
	bool timeout;		/* ready_timeout */
	bool watchdog;		/* watchdog lapse */
	bool health;		/* health_check failed health_retries times */
};

/* Why the supervisor is ending a process that it did not stop. */
enum rv_abort {
	RV_ABORT_NONE,
	RV_ABORT_TIMEOUT,	/* ready_timeout */
	RV_ABORT_WATCHDOG,	/* watchdog lapse */
	RV_ABORT_HEALTH,	/* health_check failed health_retries times */
};

struct rv_ready;

/* Why processes ended, for the metrics. */
enum rv_exit_reason {
	RV_END_SUCCESS,
	RV_END_EXIT_CODE,
	RV_END_SIGNAL,
	RV_END_FAILED_START,
	RV_END_TIMEOUT,
	RV_END_WATCHDOG,
	RV_END_HEALTH,
	RV_END_STOPPED,		/* we stopped it */
	RV_END_NREASONS
};

/* Fields ordered to leave little padding: one per service instance. */
struct rv_service {
	struct rv_member m;
	struct rv_supervisor *sv;
	const struct rv_service_spec *spec;
	char *name;			/* "web" or "web@2" */
	char **argv;			/* %i expanded */
	/* the child's environment: env_base, then env_own (env.h), joined
	 * at spawn by rv_service_envp() */
	char *const *env_base;		/* environ, a shared base, or NULL */
	char **env_own;			/* own variables, or NULL */
	struct rv_iso *iso;		/* isolation.h; NULL: nothing to do */
	struct rv_ready *ready;		/* readiness/health; NULL: none */

	struct rv_child child;		/* pid, pidfd while a process exists */
	struct rv_timer timer;		/* backoff, or stop_timeout */
	struct rv_window window;	/* per-service intensity */
	int64_t started_ns;		/* last exec */
	int64_t next_start_ns;		/* in BACKOFF */
	int64_t due_ns;			/* restart due (latency metric) */
	const char *spawn_step;
	const char *fail_reason;
	struct rv_exit_info last_exit;
	int instance;			/* -1 without instances */
	enum rv_svc_state state;
	enum rv_abort abort;		/* why we are killing it, if we are */
	int spawn_err;			/* errno of a failed exec, pending */
	int spawn_report_fd;		/* rv_spawn_result.report_fd, or -1 */
	uint32_t backoff_n;		/* restarts since the last reset */
	uint32_t restarts;		/* total, for status */
	bool env_base_shared;		/* we hold a reference to env_base */
	bool env_own_alloc;		/* env_own is ours (else the spec's) */
	bool kill_sent;
	bool held;			/* `stop`: stays down until `start` */
	bool start_after_stop;		/* `restart` */
	bool reload_stop;		/* stopped by a reload: replaced */
	bool manual_start;		/* next start is `start`/`restart`: not
					 * counted in `restarts` */
	uint64_t ends[RV_END_NREASONS];
};

enum rv_node_state {
	RV_NODE_STOPPED,
	RV_NODE_RUNNING,
	RV_NODE_COMPLETED,
	RV_NODE_FAILED,
};

/* What a node is doing to a set of its members, asynchronously. */
enum rv_node_op {
	RV_OP_NONE,
	RV_OP_RESTART,		/* stop members[from..], then start them */
	RV_OP_STOP,		/* stop all, then report down to the parent */
	RV_OP_FAIL,		/* stop all, then fail to the parent */
};

struct rv_node {
	struct rv_member m;
	struct rv_supervisor *sv;
	const struct rv_group_spec *spec;
	enum rv_node_state state;
	struct rv_member **members;
	size_t n_members;
	size_t n_terminal;		/* members completed or failed */
	bool any_failed;
	struct rv_window window;	/* supervisor intensity */
	uint32_t restarts;		/* total restarts it performed */

	enum rv_node_op op;
	uint32_t op_from;
	int64_t op_deadline_ns;		/* RESTART: start no earlier */
	struct rv_timer timer;
	bool advancing;			/* re-entrancy guard of node_advance */
	bool waiting;			/* start deferred for `after` */
	const char *fail_reason;
};

static inline struct rv_service *rv_member_service(struct rv_member *m)
{
	return m->kind == RV_MEMBER_SERVICE ? (struct rv_service *)m : NULL;
}

static inline struct rv_node *rv_member_node(struct rv_member *m)
{
	return m->kind == RV_MEMBER_NODE ? (struct rv_node *)m : NULL;
}

const char *rv_svc_state_name(enum rv_svc_state s);
const char *rv_node_state_name(enum rv_node_state s);

/* ---- service.c: one service's state machine ---- */

/* Start now if its dependencies are up, else wait for them. */
void rv_service_start(struct rv_service *s, int64_t now);
/* Begin a graceful stop; returns true if it is already down. */
bool rv_service_stop(struct rv_service *s, int64_t now);
/* Start after a delay (BACKOFF), or at once when delay is 0. */
void rv_service_restart_after(struct rv_service *s, int64_t delay, int64_t now);
/* SIGKILL to whatever is left (shutdown timeout, second SIGTERM). */
void rv_service_kill_now(struct rv_service *s);
/* readiness.c decided: the service is ready (`starting` -> `running`). */
void rv_service_ready(struct rv_service *s, int64_t now);
/* readiness.c decided: end the process (sig, SIGKILL after stop_timeout);
 * its exit counts as a failure of that kind. */
void rv_service_abort(struct rv_service *s, enum rv_abort why, int sig,
		      int64_t now);
/* STATUS= of a notify service, or NULL. */
const char *rv_ready_status_text(const struct rv_service *s);
/* Control commands: held down / started fresh / stopped then started. */
void rv_service_admin_stop(struct rv_service *s, int64_t now);
void rv_service_admin_start(struct rv_service *s, int64_t now);
void rv_service_admin_restart(struct rv_service *s, int64_t now);
/* Reload: the new tree's ns takes over old's process and history. */
void rv_service_adopt(struct rv_service *ns, struct rv_service *old);
/* Forward a signal to the service's process (exec). 0 or -errno. */
int rv_service_signal(struct rv_service *s, int sig, bool group);
bool rv_service_is_down(const struct rv_service *s);
bool rv_service_is_terminal(const struct rv_service *s);
/* Fresh start for a restarted subtree: windows and backoff cleared. */
void rv_service_reset(struct rv_service *s);
void rv_service_set_state(struct rv_service *s, enum rv_svc_state to);

/* ---- node.c: strategies, intensity, escalation ---- */

void rv_node_start(struct rv_node *n, int64_t now);
/* Begin stopping every member; returns true if already down. */
bool rv_node_stop(struct rv_node *n, int64_t now);
/* A member that was being stopped is down now. */
void rv_node_member_down(struct rv_node *n, struct rv_member *m,
			 int64_t now);
/*
 * A member ended on its own and its policy wants a restart after delay
 * (already checked against the member's own intensity).  The node counts
 * it against its own intensity and applies its strategy.
 */
void rv_node_member_wants_restart(struct rv_node *n, struct rv_member *m,
				  int64_t delay, const char *why, int64_t now);
/* A member reached completed/failed (or left it: delta -1 on restart). */
void rv_node_member_terminal(struct rv_node *n, struct rv_member *m,
			     bool failed, int64_t now);
void rv_node_member_unterminal(struct rv_node *n, struct rv_member *m);
bool rv_node_is_down(const struct rv_node *n);
bool rv_node_in_op_set(const struct rv_node *n, const struct rv_member *m);
/* Reload: run the new tree, starting what does not run yet. */
void rv_node_resume(struct rv_node *n, int64_t now);

/* ---- deps.c: `after` ordering ---- */

bool rv_member_is_up(const struct rv_member *m);
bool rv_member_is_down(const struct rv_member *m);
bool rv_member_is_terminal(const struct rv_member *m);
/* 1 satisfied, 0 waiting, -1 a dependency failed for good */
int rv_member_deps_state(const struct rv_member *m,
			 const struct rv_member **failed);
/* m (or one of its ancestors) came up or ended: wake waiting dependents */
void rv_member_notify_dependents(struct rv_member *m, int64_t now);

#endif
