/* SPDX-License-Identifier: MIT */
/*
 * One service's state machine: a state x event table of small named
 * actions (s6-supervise style), in one place.  docs/state-machine.md
 * draws it; unit/test_service_table checks that every cell is filled.
 *
 * Events are what happens to the service: a job was requested (job.h,
 * through rv_member_request), its process exited, its timer fired, it
 * became ready, its readiness failed, a dependency changed, or the
 * supervisor wants everything killed at once.  What an exit means for the
 * siblings is the node's business (node.c): an exit that wants a restart
 * is handed up with its delay.
 *
 * Hot path (one_for_one): exit callback -> table -> policy -> two O(1)
 * intensity checks -> backoff -> spawn.  No allocation, no scan of other
 * services.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child/cgroup.h"
#include "child/kill.h"
#include "config/parse.h"
#include "tree/backoff.h"
#include "tree/build.h"
#include "tree/fdpass.h"
#include "tree/isolation.h"
#include "tree/readiness.h"
#include "tree/reload.h"
#include "tree/roll.h"
#include "tree/service_exit.h"
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/deadline.h"
#include "util/histogram.h"
#include "util/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3	/* linux/wait.h; glibc 2.36 lacks it */
#endif

/* The soonest retry of a start that failed before it had a child. */
#define RV_SHORTAGE_RETRY_NS (100 * 1000 * 1000LL)

static const char *const svc_state_names[RV_SVC_NSTATES] = {
	[RV_SVC_STOPPED] = "stopped",	[RV_SVC_WAITING] = "waiting",
	[RV_SVC_STARTING] = "starting",	[RV_SVC_RUNNING] = "running",
	[RV_SVC_STOPPING] = "stopping",	[RV_SVC_BACKOFF] = "backoff",
	[RV_SVC_COMPLETED] = "completed", [RV_SVC_FAILED] = "failed",
};

const char *rv_svc_state_name(enum rv_svc_state s)
{
	return s < RV_SVC_NSTATES ? svc_state_names[s] : "unknown";
}

static bool state_is_terminal(enum rv_svc_state s)
{
	return s == RV_SVC_COMPLETED || s == RV_SVC_FAILED;
}

static bool state_has_process(enum rv_svc_state s)
{
	return s == RV_SVC_STARTING || s == RV_SVC_RUNNING ||
	       s == RV_SVC_STOPPING;
}

bool rv_service_is_terminal(const struct rv_service *s)
{
	return state_is_terminal(s->state);
}

bool rv_service_is_down(const struct rv_service *s)
{
	/* down = no process of ours exists (a pending exec failure counts
	 * as a process until it is reaped) */
	return !state_has_process(s->state);
}

bool rv_service_is_up(const struct rv_service *s)
{
	if (s->state == RV_SVC_COMPLETED)
		return true;
	return s->state == RV_SVC_RUNNING && s->spec->type != RV_TYPE_ONESHOT;
}

/* Every state change goes through here, so the counters stay exact. */
void rv_service_set_state(struct rv_service *s, enum rv_svc_state to)
{
	enum rv_svc_state from = s->state;
	struct rv_node *p = s->m.parent;

	if (from == to)
		return;
	s->state = to;
	if (state_is_terminal(from) && !state_is_terminal(to))
		p->n_terminal--;
	if (!state_is_terminal(from) && state_is_terminal(to))
		p->n_terminal++;
	if (rv_service_is_up(s))
		s->m.was_up = true;
	rv_member_update_settled(&s->m);
	rv_log_svc(RV_LOG_DEBUG, s->name, "state", " from=%s to=%s",
		   rv_svc_state_name(from), rv_svc_state_name(to));
	if (s->sv->observer.service_state)
		s->sv->observer.service_state(s->sv->observer.ctx, s, from, to);
	if (s->roll)
		rv_roll_service_state(s, from, to);
}

void rv_service_reset(struct rv_service *s)
{
	rv_window_reset(&s->window);
	s->backoff_n = 0;
}

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx);

static long sys_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int rv_service_signal(struct rv_service *s, int sig, bool group)
{
	const struct rv_cgroup *cg = rv_iso_cgroup(s);
	/* group: whom kill_mode names (`process`: the main process alone,
	 * also for a forced shutdown); else the main process alone */
	struct rv_kill_target t = {
		.pid = s->child.pid,
		.pidfd = s->child.pidfd,
		.cgroup_fd = cg ? cg->dirfd : -1,
		.cgroup = cg ? cg->view : NULL,
		.mode = group ? s->spec->kill_mode : RV_KILL_PROCESS,
	};

	/* unreaped until child.pid is 0: its pid and group id are ours */
	if (s->child.pid <= 0)
		return -ESRCH;
	return rv_kill(&t, sig);
}

int rv_service_watch_adopted(struct rv_service *s)
{
	s->child.cb = on_exit_cb;
	s->child.ctx = s;
	return rv_loop_watch_child(s->sv->loop, &s->child);
}

struct rv_service *rv_service_of_child(struct rv_child *c)
{
	return c && c->cb == on_exit_cb ? c->ctx : NULL;
}

/* ---- events ---- */

enum svc_event {
	EV_JOB,		/* a job was requested or changed: carry it out */
	EV_EXIT,	/* the process was reaped */
	EV_TIMER,	/* the service's timer: backoff due, or stop_timeout */
	EV_READY,	/* readiness reached */
	EV_ABORT,	/* readiness failed for good: end the process */
	EV_DEPS,	/* a dependency came up or failed; a replaced member
			 * is gone */
	EV_KILL,	/* SIGKILL now: second signal, shutdown timeout */
	EV_N
};

struct svc_ev {
	enum svc_event type;
	int64_t now;
	const siginfo_t *info;		/* EV_EXIT */
	enum rv_abort abort;		/* EV_ABORT */
	int sig;			/* EV_ABORT */
	enum rv_kill_reason kill;	/* EV_KILL */
};

typedef void svc_action(struct rv_service *s, const struct svc_ev *ev);

static void dispatch(struct rv_service *s, const struct svc_ev *ev);
static const char *const event_names[];

/* ---- starting ---- */

static void log_spawn_failure(struct rv_service *s, int err, const char *step)
{
	const char *detail = rv_iso_failure_detail(s);
	char q[160], d[512];

	rv_log_svc(RV_LOG_ERROR, s->name, "spawn_failed",
		   " step=%s errno=%d error=%s command=%s%s%s", step, err,
		   rv_log_quote(strerror(err), q, sizeof(q)), s->argv[0],
		   detail ? " detail=" : "",
		   detail ? rv_log_quote(detail, d, sizeof(d)) : "");
}

static void policy(struct rv_service *s, const struct rv_exit_info *e,
		   int64_t now);
static void rv_service_fail_at(struct rv_service *s, enum rv_log_level lvl,
			       const char *reason, const char *detail,
			       int64_t now);

/* The service is up: dependents may start, the supervisor may be alive. */
static void became_up(struct rv_service *s, int64_t now)
{
	rv_ready_on_ready(s, now);
	rv_member_notify_dependents(&s->m, now);
}

static void spawn(struct rv_service *s, int64_t now)
{
	struct rv_supervisor *sv = s->sv;
	/* stdout, stderr (isolation.c), ready_fd, sockets and stored fds */
	struct rv_spawn_fd fds[RV_SPAWN_FDS_MAX];
	size_t n_fds = rv_iso_fds(s, fds);
	struct rv_spawn_plan plan = {
		.argv = s->argv,
		.envp = rv_service_envp(s),
		.new_session = !sv->exec_mode,
		.foreground = sv->exec_mode,
		.keep_fds = sv->exec_mode,
		/* exec: the caller's signal mask and ignores, as tini */
		.child_mask = sv->exec_mode ? &sv->exec_child_mask : NULL,
		.child_ignored = sv->exec_mode ? &sv->exec_child_ignored :
			NULL,
		.fds = fds,
		.iso = rv_iso_plan(s),
	};
	struct rv_spawn_result res;
	struct rv_log_mark start_mark;
	int ret;

	if (s->m.start_seq && !s->manual_start)
		s->restarts++;
	s->manual_start = false;
	s->m.start_seq = ++sv->seq;
	s->spawn_err = 0;
	s->kill_sent = false;
	/* a problem found at load (unknown user, no cgroup controller, ...)
	 * is a failed start without a child, every time */
	s->abort = RV_ABORT_NONE;
	ret = rv_iso_setup_failure(s, &res);
	if (!ret) {
		/* ready_fd: the pipe's write end becomes the child's fd N */
		ret = rv_ready_before_spawn(s, fds, &n_fds);
		if (ret) {
			res.pid = 0;
			res.err = -ret;
			res.step = "ready_fd";
		}
	}
	/* LISTEN_FDS: from fd 3, sockets then the fd store (fdpass.h) */
	rv_fdpass_before_spawn(s, fds, &n_fds, &plan.listen_pid);
	plan.n_fds = n_fds;
	/* the start line's time: when the spawn began (rv_spawn() may yield
	 * to the new process for a while, spawn.c) */
	rv_log_mark(&start_mark);
	if (!ret)
		ret = rv_spawn(sv->spawner, &plan, &res);
	/* this process's own start: a batch of spawns in one loop turn
	 * shares `now`, and each spawn may yield to its child */
	s->started_ns = rv_clock_now();
	if (res.pid > 0) {
		s->child.pid = res.pid;
		s->child.pidfd = res.pidfd;
		s->child.cb = on_exit_cb;
		s->child.ctx = s;
		s->spawn_report_fd = res.report_fd;
		if (rv_loop_watch_child(sv->loop, &s->child) < 0) {
			/* cannot happen with the room reserved at load;
			 * never leave an unwatched child behind */
			sys_pidfd_send_signal(res.pidfd, SIGKILL);
			waitid(P_PIDFD, (id_t)res.pidfd, NULL, WEXITED);
			close(res.pidfd);
			if (res.report_fd >= 0)
				close(res.report_fd);
			s->spawn_report_fd = -1;
			s->child.pid = 0;
			s->child.pidfd = -1;
			res.pid = 0;
			ret = -ENOSPC;
			res.err = ENOSPC;
			res.step = "watch";
		}
	}
	if (ret == 0) {
		if (s->due_ns) {
			rv_histogram_add(&sv->restart_latency,
					 s->started_ns - s->due_ns);
			s->due_ns = 0;
		}
		rv_log_at(&start_mark, RV_LOG_INFO, "service", s->name,
			  "start", " pid=%d restarts=%u", (int)res.pid,
			  s->restarts);
		if (!rv_ready_after_spawn(s, now)) {
			/* notify, ready_fd, ready_check: not up yet */
			rv_service_set_state(s, RV_SVC_STARTING);
			return;
		}
		rv_service_set_state(s, RV_SVC_RUNNING);
		became_up(s, now);
		return;
	}
	log_spawn_failure(s, res.err, res.step);
	if (res.pid > 0) {
		/* the child exists and is exiting: its reaped exit is the
		 * failed start, so every start ends in exactly one exit */
		s->spawn_err = res.err;
		s->spawn_step = res.step;
		rv_service_set_state(s, RV_SVC_STARTING);
		return;
	}
	/* no child at all (clone failed): end the attempt right here */
	struct rv_exit_info e = { .valid = true, .failed_start = true,
				  .no_child = true,
				  .code = rv_spawn_exec_status(res.err) };

	s->spawn_err = 0;
	s->last_exit = e;
	s->ends[RV_END_FAILED_START]++;
	policy(s, &e, now);
}

/* May this service start now?  The one guard every start passes. */
static bool may_start(const struct rv_service *s)
{
	const struct rv_supervisor *sv = s->sv;
	const struct rv_node *p = s->m.parent;

	if (sv->state == RV_SUP_SHUTTING_DOWN || sv->finished)
		return false;
	if (s->m.held || rv_job_goes_down(s->m.job))
		return false;
	/* its supervisor is being stopped (or is not running): it starts
	 * with it, not on its own */
	return p->state == RV_NODE_RUNNING && p->op != RV_OP_STOP &&
	       p->op != RV_OP_FAIL && !rv_job_goes_down(p->m.job);
}

/* Start now if its dependencies are up, else wait for them. */
static void start(struct rv_service *s, int64_t now)
{
	const struct rv_member *bad = NULL;
	int deps;

	rv_loop_timer_cancel(s->sv->loop, &s->timer);
	if (!may_start(s)) {
		if (s->state == RV_SVC_WAITING || s->state == RV_SVC_BACKOFF)
			rv_service_set_state(s, RV_SVC_STOPPED);
		return;
	}
	deps = rv_member_deps_state(&s->m, &bad);
	if (deps < 0) {
		s->fail_reason = "dependency failed";
		rv_log_svc(RV_LOG_ERROR, s->name, "failed",
			   " reason=dependency_failed dependency=%s",
			   bad->name);
		rv_service_set_state(s, RV_SVC_FAILED);
		rv_node_member_terminal(s->m.parent, &s->m, true, now);
		return;
	}
	if (deps == 0) {
		rv_service_set_state(s, RV_SVC_WAITING);
		return;
	}
	spawn(s, now);
}

/* A start from completed/failed (admin, reload): fresh counters. */
static void make_fresh(struct rv_service *s)
{
	rv_service_reset(s);
	s->restarts = 0;
	s->fail_reason = NULL;
	rv_service_set_state(s, RV_SVC_STOPPED);
	rv_node_member_unterminal(s->m.parent, &s->m);
}

/* ---- stopping ---- */

static int kill_group(const struct rv_service *s)
{
	return s->spec->kill_mode != RV_KILL_PROCESS && !s->sv->exec_mode;
}

/* The graceful stop: stop_signal now, SIGKILL after stop_timeout. */
static void begin_stop(struct rv_service *s, int64_t now)
{
	const struct rv_service_spec *sp = s->spec;
	struct rv_supervisor *sv = s->sv;
	int sig = sp->stop_signal;

	if (sv->exec_mode && sv->exec_stop_signal)
		sig = sv->exec_stop_signal;
	rv_ready_reset(s);
	rv_service_set_state(s, RV_SVC_STOPPING);
	if (s->spawn_err)
		return;	/* already exiting */
	rv_log_svc(RV_LOG_INFO, s->name, "stop", " signal=%s pid=%d",
		   rv_signal_name(sig), (int)s->child.pid);
	rv_service_signal(s, sig, kill_group(s));
	/* a stopped (SIGSTOP) process must run to handle the signal;
	 * `exec` forwards exactly what it got, as tini does */
	if (sig != SIGKILL && sig != SIGCONT && !sv->exec_mode)
		rv_service_signal(s, SIGCONT, kill_group(s));
	if (!sv->exec_mode || sv->exec_escalate)
		rv_loop_timer_arm(sv->loop, &s->timer,
				  rv_deadline_after(now, sp->stop_timeout_ns));
}

static const char *const kill_reasons[] = {
	[RV_KILL_STOP_TIMEOUT] = "stop_timeout",
	[RV_KILL_SHUTDOWN_TIMEOUT] = "shutdown_timeout",
	[RV_KILL_SECOND_SIGNAL] = "second_signal",
};

static void send_kill(struct rv_service *s, enum rv_kill_reason why)
{
	char d[32];

	if (s->child.pid <= 0 || s->kill_sent)
		return;
	s->kill_sent = true;
	if (why == RV_KILL_STOP_TIMEOUT)
		rv_log_svc(RV_LOG_WARN, s->name, "kill",
			   " signal=SIGKILL pid=%d reason=stop_timeout"
			   " stop_timeout=%s", (int)s->child.pid,
			   rv_format_duration(s->spec->stop_timeout_ns, d,
					      sizeof(d)));
	else
		rv_log_svc(RV_LOG_WARN, s->name, "kill",
			   " signal=SIGKILL pid=%d reason=%s",
			   (int)s->child.pid, kill_reasons[why]);
	rv_service_signal(s, SIGKILL, kill_group(s));
}

/* ---- jobs ---- */

static void forget(struct rv_service *s, int64_t now);

/*
 * s has no process and its job takes it down: the job is done.  A reload's
 * new build is swapped in here, the one moment nothing runs.
 */
static void job_reached_down(struct rv_service *s, int64_t now)
{
	enum rv_job_type job = s->m.job;
	struct rv_node *p = s->m.parent;

	if (s->next_build && job != RV_JOB_REMOVE) {
		struct rv_service *fresh = s->next_build;

		s->next_build = NULL;
		rv_service_swap_build(s, fresh);
		rv_service_destroy(fresh);
		/* new intensity and backoff: a new service, in effect */
		rv_service_reset(s);
		rv_reload_job_done(s->sv, now);
	}
	rv_member_job_done(&s->m);
	switch (job) {
	case RV_JOB_RESTART:
		s->manual_start = true;
		if (state_is_terminal(s->state))
			make_fresh(s);
		start(s, now);
		break;
	case RV_JOB_REMOVE:
		forget(s, now);
		return;		/* s is gone */
	case RV_JOB_STOP:
		/* stopped for good: its fd store goes (fdpass.h) */
		rv_fdstore_release(s);
		break;
	case RV_JOB_STOP_GROUP:
	case RV_JOB_SHUTDOWN:
	default:
		break;
	}
	rv_node_member_down(p, &s->m, now);
}

/* EV_JOB: carry out the pending job as far as the state allows. */
static void run_job(struct rv_service *s, const struct svc_ev *ev)
{
	enum rv_job_type job = s->m.job;

	if (job == RV_JOB_NONE)
		return;
	if (rv_job_goes_down(job)) {
		if (s->state == RV_SVC_STOPPING)
			return;		/* its exit finishes the job */
		if (state_has_process(s->state)) {
			if (!s->m.queued)
				begin_stop(s, ev->now);
			return;
		}
		rv_loop_timer_cancel(s->sv->loop, &s->timer);
		if (s->state == RV_SVC_WAITING || s->state == RV_SVC_BACKOFF)
			rv_service_set_state(s, RV_SVC_STOPPED);
		job_reached_down(s, ev->now);
		return;
	}
	/* RV_JOB_START */
	switch (s->state) {
	case RV_SVC_STOPPING:
		return;		/* started again once it is down */
	case RV_SVC_COMPLETED:
	case RV_SVC_FAILED:
		rv_member_job_done(&s->m);
		make_fresh(s);
		start(s, ev->now);
		return;
	case RV_SVC_STOPPED:
	case RV_SVC_BACKOFF:
		rv_member_job_done(&s->m);
		start(s, ev->now);
		return;
	case RV_SVC_WAITING:
	case RV_SVC_STARTING:
	case RV_SVC_RUNNING:
	default:
		rv_member_job_done(&s->m);	/* on its way up already */
		return;
	}
}

/* ---- exits ---- */

/* The process is gone (reaped, or never created): decide what next. */
static void policy(struct rv_service *s, const struct rv_exit_info *e,
		   int64_t now)
{
	const struct rv_service_spec *sp = s->spec;
	struct rv_supervisor *sv = s->sv;
	struct rv_node *p = s->m.parent;
	bool success = rv_exit_is_success(sp, e);
	int64_t delay;

	if (!rv_exit_wants_restart(sp, e, success)) {
		if (!success) {
			/* exec: the status says it all, as with tini */
			rv_service_fail_at(s, sv->exec_mode ? RV_LOG_INFO :
					   RV_LOG_ERROR, e->failed_start ?
					   "failed_start" : "exit", NULL, now);
			return;
		}
		rv_log_svc(RV_LOG_INFO, s->name, "completed", "%s", "");
		rv_service_set_state(s, RV_SVC_COMPLETED);
		rv_node_member_terminal(p, &s->m, false, now);
		return;
	}
	if (sp->backoff.reset_after_ns > 0 && !e->failed_start &&
	    now - s->started_ns >= sp->backoff.reset_after_ns)
		s->backoff_n = 0;
	if (!rv_window_admit(&s->window, now)) {
		char detail[96], w[32];

		snprintf(detail, sizeof(detail),
			 " max_restarts=%u restart_window=%s",
			 sp->intensity.max_restarts,
			 rv_format_duration(sp->intensity.window_ns, w,
					    sizeof(w)));
		rv_service_fail(s, "max_restarts", detail, now);
		return;
	}
	s->backoff_n++;
	delay = rv_backoff_delay(&sp->backoff, s->backoff_n, &sv->rng);
	if (sv->backoff_fn) {
		delay = sv->backoff_fn(sv->backoff_ctx, s->name, s->backoff_n,
				       delay);
		if (delay < 0)
			delay = 0;
	}
	/*
	 * No child at all means the supervisor itself is short of something
	 * (descriptors, processes, memory: clone or pipe failed).  Retrying
	 * at once cannot help and, under restart_delay = 0, would be a busy
	 * loop that logs a spawn_failed per service per turn for as long as
	 * the shortage lasts (tens of thousands a second).
	 */
	if (e->no_child && delay < RV_SHORTAGE_RETRY_NS)
		delay = RV_SHORTAGE_RETRY_NS;
	/* down and waiting for its restart, whoever decides its time */
	s->next_start_ns = rv_deadline_after(now, delay);
	rv_service_set_state(s, RV_SVC_BACKOFF);
	rv_node_member_wants_restart(p, &s->m, delay,
				     e->failed_start ? "failed_start" : "exit",
				     now);
}

void rv_service_restart_after(struct rv_service *s, int64_t delay,
			      int64_t now)
{
	if (delay < 0)
		delay = 0;
	s->due_ns = rv_deadline_after(now, delay);
	/*
	 * A failed start is retried on the next turn at the soonest, never
	 * from inside its own failure: when clone() itself fails (EMFILE,
	 * EAGAIN) there is no child, the failure comes back at once, and
	 * with no delay that recursion has no bottom while the shortage
	 * lasts (a stack overflow under restart_delay = 0).
	 */
	if (delay == 0 && !s->last_exit.failed_start) {
		start(s, now);
		return;
	}
	s->next_start_ns = rv_deadline_after(now, delay);
	rv_service_set_state(s, RV_SVC_BACKOFF);
	rv_loop_timer_arm(s->sv->loop, &s->timer, s->next_start_ns);
}

void rv_service_fail(struct rv_service *s, const char *reason,
		     const char *detail, int64_t now)
{
	rv_service_fail_at(s, RV_LOG_ERROR, reason, detail, now);
}

static void rv_service_fail_at(struct rv_service *s, enum rv_log_level lvl,
			       const char *reason, const char *detail,
			       int64_t now)
{
	s->fail_reason = reason;
	rv_log_svc(lvl, s->name, "failed", " reason=%s%s", reason,
		   detail ? detail : "");
	rv_service_set_state(s, RV_SVC_FAILED);
	rv_node_member_terminal(s->m.parent, &s->m, true, now);
}

/* EV_EXIT in a state with a process. */
static void exited(struct rv_service *s, const struct svc_ev *ev)
{
	const siginfo_t *info = ev->info;
	struct rv_exit_info e = { .valid = true };
	int64_t now = ev->now;
	pid_t pid = s->child.pid;
	int pidfd = s->child.pidfd;
	bool group = s->spec->kill_mode == RV_KILL_GROUP && !s->sv->exec_mode;
	/* exec: the child's end is its status, passed on: tini prints
	 * nothing (a 126/127 is explained by its spawn_failed line) */
	bool quiet = s->sv->exec_mode;
	const char *name = s->name;
	int report = s->spawn_report_fd;
	struct rv_log_mark mark;
	bool success, stopped;
	int64_t runtime;

	/* a child that switched uid tells only now that it never exec'd */
	s->spawn_report_fd = -1;
	if (report >= 0 && rv_spawn_report_read(report, rv_iso_plan(s),
						 &s->spawn_err,
						 &s->spawn_step))
		log_spawn_failure(s, s->spawn_err, s->spawn_step);
	if (info->si_code == CLD_EXITED) {
		e.code = info->si_status;
	} else {
		e.signal = info->si_status;
		e.core_dumped = info->si_code == CLD_DUMPED;
	}
	if (s->spawn_err)
		e.failed_start = true;
	e.timeout = s->abort == RV_ABORT_TIMEOUT;
	e.failed_start |= e.timeout;	/* never got ready: a failed start */
	e.watchdog = s->abort == RV_ABORT_WATCHDOG;
	e.health = s->abort == RV_ABORT_HEALTH;
	s->abort = RV_ABORT_NONE;
	s->spawn_err = 0;
	rv_ready_reset(s);
	rv_loop_timer_cancel(s->sv->loop, &s->timer);
	/* its last output line; kill_mode = cgroup: cgroup.kill */
	rv_iso_exited(s);
	s->child.pid = 0;
	s->child.pidfd = -1;
	s->last_exit = e;
	success = rv_exit_is_success(s->spec, &e);
	runtime = rv_clock_now() - s->started_ns;
	rv_log_mark(&mark);
	stopped = rv_job_goes_down(s->m.job);
	if (stopped) {
		/* we asked for this: it is simply down */
		s->ends[RV_END_STOPPED]++;
		/* the line first: the job may forget s (reload remove) */
		rv_service_log_exit(&mark, name, pid, &e, success, quiet,
				    runtime);
		rv_service_set_state(s, RV_SVC_STOPPED);
		job_reached_down(s, now);
	} else {
		/*
		 * The respawn first, the line after, in its place: s stays
		 * (only a job forgets services) but its name is read now.
		 */
		s->ends[rv_exit_reason_of(&e, success)]++;
		if (s->m.job == RV_JOB_START) {
			/* started while it was being aborted: a fresh start */
			rv_member_job_done(&s->m);
			rv_service_set_state(s, RV_SVC_STOPPED);
			s->manual_start = true;
			start(s, now);
		} else {
			policy(s, &e, now);
		}
		rv_service_log_exit(&mark, name, pid, &e, success, quiet,
				    runtime);
	}
	/*
	 * Whatever the leader left in its process group dies with it, so a
	 * restart never overlaps with stragglers of the previous run.  After
	 * the respawn, not before: the replacement leads a new group, and
	 * this usually finds nobody (ESRCH), so it must not delay it.  The
	 * unreaped leader keeps the group id reserved (loop.h).  Closing the
	 * old pidfd is not on the way to the respawn either.
	 */
	if (group)
		kill(-pid, SIGKILL);
	close(pidfd);
	if (report >= 0)
		close(report);
}

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx)
{
	struct svc_ev ev = { .type = EV_EXIT, .now = rv_loop_now(loop),
			     .info = info };

	dispatch(ctx, &ev);
}

/* ---- the other events ---- */

/* EV_TIMER in BACKOFF: the restart is due. */
static void backoff_due(struct rv_service *s, const struct svc_ev *ev)
{
	start(s, ev->now);
}

/* EV_TIMER while stopping: stop_timeout is over. */
static void stop_timeout(struct rv_service *s, const struct svc_ev *ev)
{
	send_kill(s, RV_KILL_STOP_TIMEOUT);
}

/* EV_READY in STARTING. */
static void got_ready(struct rv_service *s, const struct svc_ev *ev)
{
	if (s->spawn_err)
		return;		/* the exec failed: its exit is coming */
	rv_log_svc(RV_LOG_INFO, s->name, "ready", " pid=%d startup_s=%.3f",
		   (int)s->child.pid,
		   (double)(ev->now - s->started_ns) / 1e9);
	rv_service_set_state(s, RV_SVC_RUNNING);
	became_up(s, ev->now);
}

/* EV_ABORT in STARTING or RUNNING: readiness says the process must end;
 * its exit goes through the policy as a failure of that kind. */
static void abort_process(struct rv_service *s, const struct svc_ev *ev)
{
	s->abort = ev->abort;
	rv_ready_reset(s);
	rv_service_set_state(s, RV_SVC_STOPPING);
	rv_service_signal(s, ev->sig, kill_group(s));
	if (ev->sig != SIGKILL)
		rv_loop_timer_arm(s->sv->loop, &s->timer,
				  rv_deadline_after(ev->now,
						    s->spec->stop_timeout_ns));
}

/* EV_DEPS in WAITING: try again. */
static void deps_changed(struct rv_service *s, const struct svc_ev *ev)
{
	start(s, ev->now);
}

/* EV_KILL with a process. */
static void kill_now(struct rv_service *s, const struct svc_ev *ev)
{
	send_kill(s, ev->kill);
}

static void ignore(struct rv_service *s, const struct svc_ev *ev)
{
}

/* A pair that cannot happen: a bug in the table or its callers. */
static void impossible(struct rv_service *s, const struct svc_ev *ev)
{
	rv_log_svc(RV_LOG_ERROR, s->name, "state_machine_bug",
		   " state=%s event=%s", rv_svc_state_name(s->state),
		   event_names[ev->type]);
	assert(!"impossible service state x event");
}

/*
 * The table.  Rows: states; columns: events.  `ignore` is a decision
 * (the event means nothing in that state), `impossible` a claim (no code
 * path produces it; a debug build aborts).  docs/state-machine.md shows
 * the same table; unit/test_jobs checks that the two agree.
 */
struct cell {
	svc_action *fn;
	const char *name;
};

#define C(fn) { fn, #fn }
#define ROW(job, exit, timer, ready, abrt, deps, kill) \
	{ C(job), C(exit), C(timer), C(ready), C(abrt), C(deps), C(kill) }

static const struct cell table[RV_SVC_NSTATES][EV_N] = {
	[RV_SVC_STOPPED] = ROW(run_job, impossible, impossible, ignore,
			       ignore, ignore, ignore),
	[RV_SVC_WAITING] = ROW(run_job, impossible, impossible, ignore,
			       ignore, deps_changed, ignore),
	[RV_SVC_STARTING] = ROW(run_job, exited, impossible, got_ready,
				abort_process, ignore, kill_now),
	[RV_SVC_RUNNING] = ROW(run_job, exited, impossible, ignore,
			       abort_process, ignore, kill_now),
	[RV_SVC_STOPPING] = ROW(run_job, exited, stop_timeout, ignore,
				ignore, ignore, kill_now),
	[RV_SVC_BACKOFF] = ROW(run_job, impossible, backoff_due, ignore,
			       ignore, ignore, ignore),
	[RV_SVC_COMPLETED] = ROW(run_job, impossible, impossible, ignore,
				 ignore, ignore, ignore),
	[RV_SVC_FAILED] = ROW(run_job, impossible, impossible, ignore,
			      ignore, ignore, ignore),
};

static const char *const event_names[EV_N] = {
	[EV_JOB] = "job", [EV_EXIT] = "exit", [EV_TIMER] = "timer",
	[EV_READY] = "ready", [EV_ABORT] = "readiness_failed",
	[EV_DEPS] = "deps", [EV_KILL] = "kill",
};

static void dispatch(struct rv_service *s, const struct svc_ev *ev)
{
	table[s->state][ev->type].fn(s, ev);
}

bool rv_service_table_complete(void)
{
	for (int st = 0; st < RV_SVC_NSTATES; st++)
		for (int ev = 0; ev < EV_N; ev++)
			if (!table[st][ev].fn || !table[st][ev].name)
				return false;
	return true;
}

int rv_service_table_events(void)
{
	return EV_N;
}

const char *rv_service_table_event(int ev)
{
	return ev >= 0 && ev < EV_N ? event_names[ev] : NULL;
}

const char *rv_service_table_action(int state, int ev)
{
	if (state < 0 || state >= RV_SVC_NSTATES || ev < 0 || ev >= EV_N)
		return NULL;
	return table[state][ev].name;
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct svc_ev ev = { .type = EV_TIMER, .now = now };

	dispatch(ctx, &ev);
}

void rv_service_init(struct rv_service *s)
{
	rv_timer_init(&s->timer, on_timer, s);
	s->child.pid = 0;
	s->child.pidfd = -1;
	s->spawn_report_fd = -1;
}

/* ---- entry points ---- */

void rv_service_run_job(struct rv_service *s, int64_t now)
{
	struct svc_ev ev = { .type = EV_JOB, .now = now };

	dispatch(s, &ev);
}

void rv_service_ready(struct rv_service *s, int64_t now)
{
	struct svc_ev ev = { .type = EV_READY, .now = now };

	if (s->abort)
		return;		/* too late: it is being ended */
	dispatch(s, &ev);
}

void rv_service_abort(struct rv_service *s, enum rv_abort why, int sig,
		      int64_t now)
{
	struct svc_ev ev = { .type = EV_ABORT, .now = now, .abort = why,
			     .sig = sig };

	dispatch(s, &ev);
}

void rv_service_deps_changed(struct rv_service *s, int64_t now)
{
	struct svc_ev ev = { .type = EV_DEPS, .now = now };

	dispatch(s, &ev);
}

void rv_service_kill_now(struct rv_service *s, enum rv_kill_reason why)
{
	struct svc_ev ev = { .type = EV_KILL, .kill = why };

	dispatch(s, &ev);
}

/* Reload removed s and it is down: out of the tree, and freed. */
static void forget(struct rv_service *s, int64_t now)
{
	struct rv_supervisor *sv = s->sv;
	struct rv_member *succ = rv_member_successor(s->sv, &s->m);
	struct rv_node *p = s->m.parent;

	rv_log_svc(RV_LOG_INFO, s->name, "removed", "%s", "");
	if (s->m.unsettled) {
		s->m.unsettled = false;
		sv->n_unsettled--;
	}
	rv_node_unlink(p, &s->m);
	rv_tree_remove_service(sv, s);
	rv_reload_job_done(sv, now);
	if (succ)
		succ->replaces = NULL;
	rv_service_destroy(s);
	/* the parent may have been waiting for it (stop, removal) */
	rv_node_member_down(p, NULL, now);
	if (succ)
		rv_member_deps_changed(succ, now);
	rv_supervisor_maybe_alive(sv);
}
