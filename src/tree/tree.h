/* SPDX-License-Identifier: MIT */
/*
 * The supervision tree.  A node is a supervisor ([supervisor] or
 * [supervisor:NAME]); its members are services and nested nodes, in config
 * order.  Both kinds share struct rv_member, so a node applies its strategy
 * and intensity to a member without caring which kind it is (OTP: a
 * subtree that fails is just a child that failed).
 *
 * Every operation on a member is a job (job.h): rv_member_request() merges
 * it with what is pending and hands it to the member's state machine
 * (service.c, node.c), whose state x event table is written out in
 * docs/state-machine.md.  The tree knows no socket, no protocol and no
 * command line: what changes is reported through one observer hook
 * (observer.h).
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
#include "tree/job.h"
#include "tree/window.h"

struct rv_supervisor;
struct rv_node;
struct rv_iso;
struct rv_specset;

enum rv_member_kind { RV_MEMBER_SERVICE, RV_MEMBER_NODE };

/* 64 bytes: one per service instance and supervisor. */
struct rv_member {
	uint8_t kind;			/* enum rv_member_kind */
	uint8_t job;			/* enum rv_job_type: pending (job.h) */
	bool queued:1;			/* job waits for the parent to run it
					 * (serial stops of a group op) */
	bool in_op:1;			/* in the parent's group operation */
	bool held:1;			/* admin stop: stays down until start */
	bool was_up:1;			/* up at least once: no longer holds
					 * the supervisor in `starting` */
	bool unsettled:1;		/* counted in sv->n_unsettled */
	bool critical:1;
	uint32_t index;			/* position in parent->members */
	const char *name;
	struct rv_node *parent;		/* NULL for the top node */
	uint64_t start_seq;		/* when last started: stop order */
	struct rv_member **deps;	/* `after`, instances expanded */
	struct rv_member **dependents;	/* reverse edges of deps */
	uint32_t n_deps;
	uint32_t n_dependents;
	/* a reload moved it between supervisors: the member it replaces
	 * must be gone before it starts (the old one finds its successor
	 * by this edge when it is forgotten: a rare scan) */
	struct rv_member *replaces;
};

/* Contract states (status JSON). */
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

/* Why the supervisor is ending a process that no job asked to stop. */
enum rv_abort {
	RV_ABORT_NONE,
	RV_ABORT_TIMEOUT,	/* ready_timeout */
	RV_ABORT_WATCHDOG,	/* watchdog lapse */
	RV_ABORT_HEALTH,	/* health_check failed health_retries times */
};

/* Why a SIGKILL is sent (the kill line's reason=). */
enum rv_kill_reason {
	RV_KILL_STOP_TIMEOUT,
	RV_KILL_SHUTDOWN_TIMEOUT,
	RV_KILL_SECOND_SIGNAL,
};

struct rv_ready;
struct rv_fdpass;
struct rv_roll;

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
	/* what the config makes of it (build.c): swapped whole for a
	 * reload's new build while the service has no process */
	const struct rv_service_spec *spec;
	struct rv_specset *set;
	char *name;
	char **argv;
	char *const *env_base;
	char **env_own;
	struct rv_iso *iso;
	struct rv_ready *ready;
	struct rv_fdpass *fdpass;	/* NULL: no sockets, no fd store */
	struct rv_window window;
	/* a reload's new build, swapped in when the service is down */
	struct rv_service *next_build;
	/* the rolling restart over its instances (roll.h), or NULL */
	struct rv_roll *roll;

	struct rv_child child;		/* pid, pidfd while a process exists */
	struct rv_timer timer;		/* backoff, or stop_timeout */
	int64_t started_ns;		/* this process's exec */
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
	bool env_base_shared;
	bool env_own_alloc;
	bool kill_sent;
	bool manual_start;		/* next start is `start`/`restart`: not
					 * counted in `restarts` */
	bool in_block;			/* allocated in a build's block */
	uint64_t ends[RV_END_NREASONS];
};

enum rv_node_state {
	RV_NODE_STOPPED,
	RV_NODE_WAITING,	/* for `after` dependencies */
	RV_NODE_RUNNING,
	RV_NODE_COMPLETED,
	RV_NODE_FAILED,
	RV_NODE_NSTATES
};

/* What a node is doing to a set of its members, asynchronously. */
enum rv_node_op {
	RV_OP_NONE,
	RV_OP_RESTART,		/* stop the members in_op, then start them */
	RV_OP_STOP,		/* stop all, then carry out the node's job */
	RV_OP_FAIL,		/* stop all, then fail to the parent */
};

struct rv_node {
	struct rv_member m;
	struct rv_supervisor *sv;
	const struct rv_group_spec *spec;
	struct rv_specset *set;		/* holds spec */
	enum rv_node_state state;
	struct rv_member **members;
	size_t n_members;
	size_t cap_members;
	size_t n_terminal;		/* members completed or failed */
	bool any_failed;
	bool advancing;			/* re-entrancy guard of node_advance */
	struct rv_window window;	/* supervisor intensity */
	uint32_t restarts;		/* total restarts it performed */

	enum rv_node_op op;
	int64_t op_deadline_ns;		/* RESTART: start no earlier */
	struct rv_timer timer;
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

/* ---- member.c: requests (jobs) for either kind ---- */

/*
 * Ask something of a member: merged with its pending job (job.h), then
 * carried out as far as its state allows now.  Returns the verdict.
 */
enum rv_job_verdict rv_member_request(struct rv_member *m,
				      enum rv_job_type req, int64_t now);
/* The same, from the parent's group operation: a job that takes the
 * member down waits (queued) until the parent runs it. */
enum rv_job_verdict rv_member_request_queued(struct rv_member *m,
					     enum rv_job_type req,
					     int64_t now);
/* Admin stop holds a member down until an admin start. */
void rv_member_set_held(struct rv_member *m, bool held);
/* The parent runs a queued job (serial stops); true: it is down. */
bool rv_member_run_queued(struct rv_member *m, int64_t now);
bool rv_member_is_down(const struct rv_member *m);
bool rv_member_is_stopping(const struct rv_member *m);
bool rv_member_is_terminal(const struct rv_member *m);
bool rv_member_is_failed(const struct rv_member *m);
/* The member's job is done (it went down, or came up): clear it. */
void rv_member_job_done(struct rv_member *m);
/* The member a reload made to replace m (moved between supervisors), or
 * NULL.  Scans the members: only when m is forgotten. */
struct rv_member *rv_member_successor(struct rv_supervisor *sv,
				      const struct rv_member *m);
/* A dependency of m came up or failed, or the member m replaces is gone. */
void rv_member_deps_changed(struct rv_member *m, int64_t now);
/* Keep sv->n_unsettled exact (lifecycle.c: `alive`). */
void rv_member_update_settled(struct rv_member *m);

/* ---- service.c: one service's state machine ---- */

/* Carry out s's pending job as far as its state allows. */
void rv_service_run_job(struct rv_service *s, int64_t now);
/* Start after a delay (BACKOFF), or at once when delay is 0 (the node's
 * one_for_one strategy). */
void rv_service_restart_after(struct rv_service *s, int64_t delay,
			      int64_t now);
/* `failed` for good, with the log line's reason. */
void rv_service_fail(struct rv_service *s, const char *reason,
		     const char *detail, int64_t now);
/* The table, for the unit test and the docs: every cell set; the
 * events' and the actions' names. */
bool rv_service_table_complete(void);
int rv_service_table_events(void);
const char *rv_service_table_event(int ev);
const char *rv_service_table_action(int state, int ev);
/* A hand-over's new image: watch the process the state says s has
 * (child.pid and pidfd set by rv_snapshot_apply()).  0 or -errno. */
int rv_service_watch_adopted(struct rv_service *s);
/* readiness.c decided: the service is ready (`starting` -> `running`). */
void rv_service_ready(struct rv_service *s, int64_t now);
/* readiness.c decided: end the process (sig, SIGKILL after stop_timeout);
 * its exit counts as a failure of that kind. */
void rv_service_abort(struct rv_service *s, enum rv_abort why, int sig,
		      int64_t now);
/* A dependency came up, failed, or a replaced member is gone. */
void rv_service_deps_changed(struct rv_service *s, int64_t now);
/* SIGKILL to whatever is left (shutdown timeout, second signal). */
void rv_service_kill_now(struct rv_service *s, enum rv_kill_reason why);
/* STATUS= of a notify service, or NULL. */
const char *rv_ready_status_text(const struct rv_service *s);
/* The service whose main process c is (a watched child), or NULL (a
 * probe's, an unknown one). */
struct rv_service *rv_service_of_child(struct rv_child *c);
/* Forward a signal to the service's process (group). 0 or -errno. */
int rv_service_signal(struct rv_service *s, int sig, bool group);
bool rv_service_is_down(const struct rv_service *s);
bool rv_service_is_terminal(const struct rv_service *s);
/* The service counts as up for `after` and for `alive`. */
bool rv_service_is_up(const struct rv_service *s);
/* Fresh start for a restarted subtree: window and backoff cleared. */
void rv_service_reset(struct rv_service *s);
void rv_service_set_state(struct rv_service *s, enum rv_svc_state to);
void rv_service_init(struct rv_service *s);
/*
 * Restarts as status and events tell them: the restart a backoff waits
 * for counts already, as the `restart_scheduled` log line that announced
 * it does (restarts=N+1), so log, table and JSON agree.  The metrics
 * counter stays s->restarts (done restarts: a counter never goes back
 * when a `stop` cancels the scheduled one).
 */
static inline uint32_t rv_service_restarts(const struct rv_service *s)
{
	return s->restarts + (s->state == RV_SVC_BACKOFF && s->m.start_seq &&
			      !s->manual_start);
}

/* ---- node.c: strategies, intensity, escalation ---- */

/* Carry out n's pending job as far as its state allows. */
void rv_node_run_job(struct rv_node *n, int64_t now);
/* A member of n went down because n (or a job) asked it to. */
void rv_node_member_down(struct rv_node *n, struct rv_member *m,
			 int64_t now);
/*
 * A member ended on its own and its policy wants a restart after delay
 * (already checked against the member's own intensity).  The node counts
 * it against its own intensity and applies its strategy.
 */
void rv_node_member_wants_restart(struct rv_node *n, struct rv_member *m,
				  int64_t delay, const char *why, int64_t now);
/* A member reached completed/failed. */
void rv_node_member_terminal(struct rv_node *n, struct rv_member *m,
			     bool failed, int64_t now);
/* A member of a finished node runs again. */
void rv_node_member_unterminal(struct rv_node *n, struct rv_member *m);
/* A dependency of the node came up or failed. */
void rv_node_deps_changed(struct rv_node *n, int64_t now);
bool rv_node_is_down(const struct rv_node *n);
/* Every member up (deps.c's `up` for a subtree). */
bool rv_node_is_up(const struct rv_node *n);
void rv_node_init(struct rv_node *n);
/* A forgotten member leaves its parent's members (reload). */
void rv_node_unlink(struct rv_node *n, struct rv_member *m);
bool rv_node_table_complete(void);
int rv_node_table_events(void);
const char *rv_node_table_event(int ev);
const char *rv_node_table_action(int state, int ev);

/* ---- build.c: the supervisor's member arrays ---- */

/* Drop a forgotten member from sv->svcs / sv->nodes (keeps order). */
void rv_tree_remove_service(struct rv_supervisor *sv, struct rv_service *s);
void rv_tree_remove_node(struct rv_supervisor *sv, struct rv_node *n);

/* ---- deps.c: `after` ordering ---- */

bool rv_member_is_up(const struct rv_member *m);
/* 1 satisfied, 0 waiting, -1 a dependency failed for good */
int rv_member_deps_state(const struct rv_member *m,
			 const struct rv_member **failed);
/* m (or one of its ancestors) came up or ended: wake waiting dependents */
void rv_member_notify_dependents(struct rv_member *m, int64_t now);

#endif
