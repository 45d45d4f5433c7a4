/* SPDX-License-Identifier: MIT */
/*
 * One service's state machine.  Events (start, stop, exit, timer) arrive
 * here; what a restart means for siblings is the node's business
 * (node.c), so an exit that wants a restart is handed up with its delay.
 *
 * Hot path (one_for_one): exit callback -> policy -> two O(1) intensity
 * checks -> backoff -> spawn.  No allocation, no scan of other services.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child/isolation.h"
#include "config/parse.h"
#include "control/events.h"
#include "tree/backoff.h"
#include "tree/readiness.h"
#include "tree/reload.h"
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/histogram.h"
#include "util/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3	/* linux/wait.h; glibc 2.36 lacks it */
#endif

/* The soonest retry of a start that failed before it had a child. */
#define RV_SHORTAGE_RETRY_NS (100 * 1000 * 1000LL)

static const char *const svc_state_names[RV_SVC_NSTATES] = {
	[RV_SVC_STOPPED] = "stopped",	[RV_SVC_WAITING] = "starting",
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

bool rv_service_is_terminal(const struct rv_service *s)
{
	return state_is_terminal(s->state);
}

bool rv_service_is_down(const struct rv_service *s)
{
	/* down = no process of ours exists (a pending exec failure counts
	 * as a process until it is reaped) */
	return s->child.pid <= 0 && s->state != RV_SVC_STOPPING &&
	       s->state != RV_SVC_RUNNING && s->state != RV_SVC_STARTING;
}

/* Every state change goes through here, so the counters stay exact. */
void rv_service_set_state(struct rv_service *s, enum rv_svc_state to)
{
	enum rv_svc_state from = s->state;
	struct rv_node *p = s->m.parent;

	if (from == to)
		return;
	s->state = to;
	if (from == RV_SVC_WAITING)
		s->sv->n_waiting--;
	if (to == RV_SVC_WAITING)
		s->sv->n_waiting++;
	if (state_is_terminal(from) && !state_is_terminal(to))
		p->n_terminal--;
	if (!state_is_terminal(from) && state_is_terminal(to))
		p->n_terminal++;
	rv_log_svc(RV_LOG_DEBUG, s->name, "state", " from=%s to=%s",
		   rv_svc_state_name(from), rv_svc_state_name(to));
	rv_events_service(s->sv, s, from, to);
}

void rv_service_reset(struct rv_service *s)
{
	rv_window_reset(&s->window);
	s->backoff_n = 0;
}

static long sys_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int rv_service_signal(struct rv_service *s, int sig, bool group)
{
	if (s->child.pid <= 0)
		return -ESRCH;
	/*
	 * The group id is the leader's pid (setsid/setpgid in the child).
	 * It cannot be recycled while the leader is unreaped, and we only
	 * reap from the loop, after which child.pid is 0.
	 */
	if (group && s->spec->kill_mode == RV_KILL_CGROUP)
		rv_iso_signal_cgroup(s, sig);	/* escaped the group too */
	if (group && kill(-s->child.pid, sig) == 0)
		return 0;
	if (sys_pidfd_send_signal(s->child.pidfd, sig) < 0)
		return -errno;
	return 0;
}

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx);

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

static void service_ended(struct rv_service *s, const struct rv_exit_info *e,
			  int64_t now);

static void spawn(struct rv_service *s, int64_t now)
{
	struct rv_supervisor *sv = s->sv;
	struct rv_spawn_fd fds[4];	/* stdout, stderr (isolation.c), ... */
	size_t n_fds = rv_iso_fds(s, fds);
	struct rv_spawn_plan plan = {
		.argv = s->argv,
		.envp = rv_service_envp(s),
		.new_session = !sv->exec_mode,
		.foreground = sv->exec_mode,
		.keep_fds = sv->exec_mode,
		.fds = fds,
		.iso = rv_iso_plan(s),
	};
	struct rv_spawn_result res;
	int ret;

	if (s->m.start_seq && !s->manual_start)
		s->restarts++;
	s->manual_start = false;
	s->m.start_seq = ++sv->seq;
	s->spawn_err = 0;
	s->kill_sent = false;
	s->started_ns = now;
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
	plan.n_fds = n_fds;
	/* the start line's time: when the spawn began (rv_spawn() may yield
	 * to the new process for a while, spawn.c) */
	struct rv_log_mark start_mark;

	rv_log_mark(&start_mark);
	if (!ret)
		ret = rv_spawn(sv->spawner, &plan, &res);
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
					 rv_clock_now() - s->due_ns);
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
		rv_ready_on_ready(s, now);
		rv_member_notify_dependents(&s->m, now);
		rv_supervisor_maybe_alive(sv);
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

	s->spawn_err = res.err;
	rv_service_set_state(s, RV_SVC_STARTING);
	service_ended(s, &e, now);
}

void rv_service_start(struct rv_service *s, int64_t now)
{
	const struct rv_member *bad = NULL;
	int deps;

	if (s->sv->state == RV_SUP_SHUTTING_DOWN || s->held)
		return;
	if (s->state == RV_SVC_RUNNING || s->state == RV_SVC_STARTING ||
	    s->state == RV_SVC_STOPPING)
		return;		/* already has a process */
	rv_loop_timer_cancel(s->sv->loop, &s->timer);
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

void rv_service_restart_after(struct rv_service *s, int64_t delay, int64_t now)
{
	if (delay < 0)
		delay = 0;
	s->due_ns = now + delay;
	/*
	 * A failed start is retried on the next turn at the soonest, never
	 * from inside its own failure: when clone() itself fails (EMFILE,
	 * EAGAIN) there is no child, the failure comes back at once, and
	 * with no delay that recursion has no bottom while the shortage
	 * lasts (a stack overflow under restart_delay = 0).
	 */
	if (delay == 0 && !s->last_exit.failed_start) {
		rv_service_start(s, now);
		return;
	}
	s->next_start_ns = now + delay;
	rv_service_set_state(s, RV_SVC_BACKOFF);
	rv_loop_timer_arm(s->sv->loop, &s->timer, s->next_start_ns);
}

bool rv_service_stop(struct rv_service *s, int64_t now)
{
	const struct rv_service_spec *sp = s->spec;
	struct rv_supervisor *sv = s->sv;
	bool group = sp->kill_mode != RV_KILL_PROCESS;
	int sig = sp->stop_signal;

	switch (s->state) {
	case RV_SVC_RUNNING:
	case RV_SVC_STARTING:
		if (sv->exec_mode && sv->exec_stop_signal)
			sig = sv->exec_stop_signal;
		rv_ready_reset(s);
		rv_service_set_state(s, RV_SVC_STOPPING);
		if (s->spawn_err)
			return false;	/* already exiting */
		rv_log_svc(RV_LOG_INFO, s->name, "stop",
			   " signal=%s pid=%d", rv_signal_name(sig),
			   (int)s->child.pid);
		rv_service_signal(s, sig, group && !sv->exec_mode);
		/* a stopped (SIGSTOP) process must run to handle the signal;
		 * `exec` forwards exactly what it got, as tini does */
		if (sig != SIGKILL && sig != SIGCONT && !sv->exec_mode)
			rv_service_signal(s, SIGCONT, group);
		if (!sv->exec_mode || sv->exec_escalate)
			rv_loop_timer_arm(sv->loop, &s->timer,
					  now + sp->stop_timeout_ns);
		return false;
	case RV_SVC_STOPPING:
		return false;
	case RV_SVC_BACKOFF:
	case RV_SVC_WAITING:
		rv_loop_timer_cancel(sv->loop, &s->timer);
		rv_service_set_state(s, RV_SVC_STOPPED);
		return true;
	case RV_SVC_STOPPED:
	case RV_SVC_COMPLETED:
	case RV_SVC_FAILED:
	default:
		return true;
	}
}

void rv_service_kill_now(struct rv_service *s)
{
	if (s->child.pid <= 0 || s->kill_sent)
		return;
	s->kill_sent = true;
	rv_log_svc(RV_LOG_WARN, s->name, "kill",
		   " signal=SIGKILL pid=%d reason=shutdown_timeout",
		   (int)s->child.pid);
	rv_service_signal(s, SIGKILL, !s->sv->exec_mode);
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct rv_service *s = ctx;

	if (s->state == RV_SVC_BACKOFF) {
		rv_service_start(s, now);
	} else if ((s->state == RV_SVC_STOPPING || s->abort) &&
		   s->child.pid > 0) {
		char d[32];

		s->kill_sent = true;
		rv_log_svc(RV_LOG_WARN, s->name, "kill",
			   " signal=SIGKILL pid=%d reason=stop_timeout"
			   " stop_timeout=%s", (int)s->child.pid,
			   rv_format_duration(s->spec->stop_timeout_ns, d,
					      sizeof(d)));
		rv_service_signal(s, SIGKILL,
				  s->spec->kill_mode != RV_KILL_PROCESS &&
				  !s->sv->exec_mode);
	}
}

void rv_service_init_timer(struct rv_service *s);
void rv_service_init_timer(struct rv_service *s)
{
	rv_timer_init(&s->timer, on_timer, s);
	s->child.pid = 0;
	s->child.pidfd = -1;
	s->spawn_report_fd = -1;
}

/* Success per the contract: exit 0, a clean stop signal, or listed. */
static bool exit_is_success(const struct rv_service_spec *sp,
			    const struct rv_exit_info *e)
{
	if (e->failed_start || e->timeout || e->watchdog || e->health)
		return false;
	if (e->signal) {
		if (e->signal < 64 && (sp->success.signals >> e->signal) & 1)
			return true;
		return e->signal == SIGTERM || e->signal == SIGINT ||
		       e->signal == SIGHUP || e->signal == SIGPIPE;
	}
	if (e->code == 0)
		return true;
	return (sp->success.codes[e->code / 64] >> (e->code % 64)) & 1;
}

/* on-abnormal: signals that are not clean stops (timeouts and watchdog
 * lapses come with readiness). */
static bool exit_is_abnormal(const struct rv_service_spec *sp,
			     const struct rv_exit_info *e)
{
	if (e->timeout || e->watchdog || e->health)
		return true;
	return e->signal && !exit_is_success(sp, e);
}

static bool wants_restart(const struct rv_service_spec *sp,
			  const struct rv_exit_info *e, bool success)
{
	if (sp->type == RV_TYPE_ONESHOT && success)
		return false;	/* done: `completed` */
	switch (sp->restart) {
	case RV_RESTART_ALWAYS:
		return true;
	case RV_RESTART_ON_FAILURE:
		return !success;
	case RV_RESTART_ON_ABNORMAL:
		return exit_is_abnormal(sp, e);
	case RV_RESTART_NEVER:
	default:
		return false;
	}
}

/* The `exit` line, in the place and with the time of mark (log.h). */
static void log_exit(const struct rv_log_mark *mark, const char *name,
		     pid_t pid, const struct rv_exit_info *e, bool success,
		     int64_t runtime_ns)
{
	enum rv_log_level lvl = success ? RV_LOG_INFO : RV_LOG_WARN;
	char run[32];

	rv_format_fixed3(runtime_ns, 1000000000, run, sizeof(run));
	if (e->signal)
		rv_log_at(mark, lvl, "service", name, "exit",
			  " pid=%d signal=%s core_dumped=%s runtime_s=%s",
			  (int)pid, rv_signal_name(e->signal),
			  e->core_dumped ? "true" : "false", run);
	else
		rv_log_at(mark, lvl, "service", name, "exit",
			  " pid=%d code=%d runtime_s=%s%s", (int)pid,
			  e->code, run,
			  e->failed_start ? " failed_start=true" : "");
}

static void fail_for_good(struct rv_service *s, const char *reason,
			  const char *detail, int64_t now)
{
	s->fail_reason = reason;
	rv_log_svc(RV_LOG_ERROR, s->name, "failed", " reason=%s%s", reason,
		   detail ? detail : "");
	rv_service_set_state(s, RV_SVC_FAILED);
	rv_node_member_terminal(s->m.parent, &s->m, true, now);
}

static enum rv_exit_reason end_reason(const struct rv_exit_info *e,
				      bool success)
{
	if (e->watchdog)
		return RV_END_WATCHDOG;
	if (e->health)
		return RV_END_HEALTH;
	if (e->timeout)
		return RV_END_TIMEOUT;
	if (e->failed_start)
		return RV_END_FAILED_START;
	if (success)
		return RV_END_SUCCESS;
	return e->signal ? RV_END_SIGNAL : RV_END_EXIT_CODE;
}

/* The process is gone (reaped, or never created): decide what next. */
static void service_ended(struct rv_service *s, const struct rv_exit_info *e,
			  int64_t now)
{
	const struct rv_service_spec *sp = s->spec;
	struct rv_supervisor *sv = s->sv;
	struct rv_node *p = s->m.parent;
	bool success = exit_is_success(sp, e);
	int64_t delay;

	s->last_exit = *e;
	s->spawn_err = 0;
	rv_loop_timer_cancel(sv->loop, &s->timer);
	if (s->state == RV_SVC_STOPPING ||
	    sv->state == RV_SUP_SHUTTING_DOWN ||
	    (p->op != RV_OP_NONE && rv_node_in_op_set(p, &s->m))) {
		/* we asked for this (or are about to): it is simply down */
		s->ends[RV_END_STOPPED]++;
		rv_service_set_state(s, RV_SVC_STOPPED);
		rv_node_member_down(p, &s->m, now);
		if (s->reload_stop) {
			rv_reload_service_down(sv, now);
			return;	/* s may be gone now */
		}
		if (s->start_after_stop) {
			s->start_after_stop = false;
			rv_service_start(s, now);
		}
		return;
	}
	s->ends[end_reason(e, success)]++;
	if (!wants_restart(sp, e, success)) {
		if (!success) {
			fail_for_good(s, e->failed_start ? "failed_start" :
				      "exit", NULL, now);
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
		fail_for_good(s, "max_restarts", detail, now);
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
	s->next_start_ns = now + delay;
	rv_service_set_state(s, RV_SVC_BACKOFF);
	rv_node_member_wants_restart(p, &s->m, delay,
				     e->failed_start ? "failed_start" : "exit",
				     now);
}

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx)
{
	struct rv_service *s = ctx;
	struct rv_exit_info e = { .valid = true };
	int64_t now = rv_loop_now(loop);
	pid_t pid = c->pid;
	int pidfd = c->pidfd;
	int report = s->spawn_report_fd;

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
	rv_ready_reset(s);
	bool kill_group = s->spec->kill_mode == RV_KILL_GROUP &&
			  !s->sv->exec_mode;

	/* its last output line; kill_mode = cgroup: cgroup.kill */
	rv_iso_exited(s);
	c->pid = 0;
	c->pidfd = -1;
	bool success = exit_is_success(s->spec, &e);
	int64_t runtime = now - s->started_ns;
	struct rv_log_mark mark;

	rv_log_mark(&mark);
	if (s->reload_stop) {
		/* service_ended() may free s: the line goes out first */
		log_exit(&mark, s->name, pid, &e, success, runtime);
		service_ended(s, &e, now);
	} else {
		/*
		 * The respawn first, the line after, in its place: s stays
		 * (only a reload frees services) but its name is read now.
		 */
		const char *name = s->name;

		service_ended(s, &e, now);
		log_exit(&mark, name, pid, &e, success, runtime);
	}
	/*
	 * Whatever the leader left in its process group dies with it, so a
	 * restart never overlaps with stragglers of the previous run.  After
	 * the respawn, not before: the replacement leads a new group, and
	 * this usually finds nobody (ESRCH), so it must not delay it.  The
	 * unreaped leader keeps the group id reserved (loop.h).  Closing the
	 * old pidfd is not on the way to the respawn either.
	 */
	if (kill_group)
		kill(-pid, SIGKILL);
	close(pidfd);
	if (report >= 0)
		close(report);
}

void rv_service_admin_stop(struct rv_service *s, int64_t now)
{
	s->held = true;
	s->start_after_stop = false;
	rv_service_stop(s, now);
}

void rv_service_admin_start(struct rv_service *s, int64_t now)
{
	s->held = false;
	s->manual_start = true;
	switch (s->state) {
	case RV_SVC_STOPPING:
		s->start_after_stop = true;
		return;
	case RV_SVC_COMPLETED:
	case RV_SVC_FAILED:
		/* a manual start is a fresh start */
		rv_service_reset(s);
		s->fail_reason = NULL;
		rv_service_set_state(s, RV_SVC_STOPPED);
		rv_node_member_unterminal(s->m.parent, &s->m);
		break;
	default:
		break;
	}
	rv_service_start(s, now);	/* BACKOFF: at once */
}

void rv_service_admin_restart(struct rv_service *s, int64_t now)
{
	s->held = false;
	s->manual_start = true;
	if (s->child.pid > 0) {
		s->start_after_stop = true;
		rv_service_stop(s, now);
		return;
	}
	rv_service_admin_start(s, now);
}

/*
 * Reload: ns (new tree) takes over old's process, timer and history
 * without a restart.  Counters of the new tree are adjusted as a state
 * change would, but no event is emitted: nothing happened to the service.
 */
void rv_service_adopt(struct rv_service *ns, struct rv_service *old)
{
	struct rv_loop *loop = ns->sv->loop;

	/* a running process keeps its output pipes and cgroup */
	rv_iso_adopt(ns, old);
	ns->restarts = old->restarts;
	ns->backoff_n = old->backoff_n;
	ns->started_ns = old->started_ns;
	ns->next_start_ns = old->next_start_ns;
	ns->last_exit = old->last_exit;
	ns->spawn_err = old->spawn_err;
	ns->spawn_step = old->spawn_step;
	ns->fail_reason = old->fail_reason;
	ns->kill_sent = old->kill_sent;
	ns->held = old->held;
	ns->start_after_stop = old->start_after_stop;
	ns->due_ns = old->due_ns;
	ns->m.start_seq = old->m.start_seq;
	memcpy(ns->ends, old->ends, sizeof(ns->ends));
	if (ns->window.max == old->window.max && ns->window.stamps) {
		memcpy(ns->window.stamps, old->window.stamps,
		       sizeof(*ns->window.stamps) * old->window.max);
		ns->window.head = old->window.head;
		ns->window.count = old->window.count;
	}
	ns->state = old->state;
	if (state_is_terminal(ns->state))
		ns->m.parent->n_terminal++;
	if (old->child.pid > 0) {
		rv_loop_unwatch_child(loop, &old->child);
		ns->child.pid = old->child.pid;
		ns->child.pidfd = old->child.pidfd;
		ns->child.cb = on_exit_cb;
		ns->child.ctx = ns;
		ns->spawn_report_fd = old->spawn_report_fd;
		old->child.pid = 0;
		old->child.pidfd = -1;
		old->spawn_report_fd = -1;
		if (rv_loop_watch_child(loop, &ns->child) < 0)
			rv_log_svc(RV_LOG_ERROR, ns->name, "reload_watch_failed",
				   " pid=%d", (int)ns->child.pid);
	}
	if (rv_timer_is_armed(&old->timer)) {
		rv_loop_timer_arm(loop, &ns->timer, old->timer.deadline_ns);
		rv_loop_timer_cancel(loop, &old->timer);
	}
	/* readiness restarts its clocks: watchdog and health from now */
	rv_ready_reset(old);
	if (ns->state == RV_SVC_RUNNING)
		rv_ready_on_ready(ns, rv_loop_now(loop));
}

void rv_service_ready(struct rv_service *s, int64_t now)
{
	if (s->state != RV_SVC_STARTING || s->spawn_err || s->abort)
		return;
	rv_log_svc(RV_LOG_INFO, s->name, "ready", " pid=%d startup_s=%.3f",
		   (int)s->child.pid, (double)(now - s->started_ns) / 1e9);
	rv_service_set_state(s, RV_SVC_RUNNING);
	rv_ready_on_ready(s, now);
	rv_member_notify_dependents(&s->m, now);
	rv_supervisor_maybe_alive(s->sv);
}

void rv_service_abort(struct rv_service *s, enum rv_abort why, int sig,
		      int64_t now)
{
	if (s->child.pid <= 0 || s->abort || s->state == RV_SVC_STOPPING)
		return;
	s->abort = why;
	rv_ready_reset(s);
	rv_service_signal(s, sig, s->spec->kill_mode != RV_KILL_PROCESS &&
			  !s->sv->exec_mode);
	if (sig != SIGKILL)
		rv_loop_timer_arm(s->sv->loop, &s->timer,
				  now + s->spec->stop_timeout_ns);
}
