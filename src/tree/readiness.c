/* SPDX-License-Identifier: MIT */
#include "tree/readiness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child/probe.h"
#include "child/spawn.h"
#include "config/parse.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "util/deadline.h"
#include "util/log.h"

/* A failed ready_check is retried this often until ready_timeout. */
#define READY_CHECK_RETRY_NS	(250LL * 1000000)
/* One ready_check run may take this long at most. */
#define READY_CHECK_TIMEOUT_NS	(5LL * 1000000000)

struct rv_ready {
	struct rv_timer timer;		/* ready_timeout, then the watchdog */
	struct rv_timer check_timer;	/* next ready_check / health_check */
	struct rv_probe probe;
	struct rv_fdwatch watch;	/* ready_fd's pipe */
	int pipe_wr;			/* the child's end, until it runs */
	uint32_t health_failures;
	bool ready;
	char status[256];		/* STATUS= */
	pid_t mainpid;			/* MAINPID= */
};

bool rv_ready_needed(const struct rv_service_spec *sp)
{
	const struct rv_ready_spec *r = sp->ready;

	return sp->type == RV_TYPE_NOTIFY || r->ready_fd >= 0 ||
	       r->ready_check || r->health_check || r->watchdog_ns > 0;
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx);
static void on_check_timer(struct rv_loop *loop, struct rv_timer *t,
			   int64_t now, void *ctx);
static void on_probe(void *ctx, enum rv_probe_result res, int code,
		     int64_t now);

int rv_ready_init(struct rv_service *s)
{
	struct rv_loop *loop = s->sv->loop;
	struct rv_ready *rd;
	int ret;

	if (!rv_ready_needed(s->spec))
		return 0;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->watch.fd = -1;
	rd->pipe_wr = -1;
	rv_timer_init(&rd->timer, on_timer, s);
	rv_timer_init(&rd->check_timer, on_check_timer, s);
	ret = rv_probe_init(&rd->probe, loop, s->sv->spawner, on_probe, s);
	if (!ret)
		ret = rv_loop_timer_reserve(loop, 3);	/* 2 + the probe's */
	if (!ret)
		ret = rv_loop_child_reserve(loop, 1);
	if (!ret && s->spec->ready->ready_fd >= 0)
		ret = rv_loop_fd_reserve(loop, 1);
	if (ret) {
		free(rd);
		return ret;
	}
	s->ready = rd;
	return 0;
}

void rv_ready_rebind(struct rv_service *s)
{
	struct rv_ready *rd = s->ready;

	if (!rd)
		return;
	/* nothing is armed: the service has no process (build.c) */
	rd->timer.ctx = s;
	rd->check_timer.ctx = s;
	rd->probe.ctx = s;
	rd->watch.ctx = s;
}

void rv_ready_free(struct rv_service *s)
{
	if (!s->ready)
		return;
	rv_ready_reset(s);
	free(s->ready);
	s->ready = NULL;
}

char **rv_ready_env(const struct rv_service *s, const char *notify_path)
{
	int64_t watchdog_ns = s->spec->ready->watchdog_ns;
	char **env = calloc(3, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	if (s->spec->type == RV_TYPE_NOTIFY &&
	    asprintf(&env[n++], "NOTIFY_SOCKET=%s", notify_path) < 0)
		goto fail;
	/* no WATCHDOG_PID: the pid is not known yet, and libsystemd's
	 * sd_watchdog_enabled() accepts its absence */
	if (s->spec->type == RV_TYPE_NOTIFY && watchdog_ns > 0 &&
	    asprintf(&env[n++], "WATCHDOG_USEC=%lld",
		     (long long)(watchdog_ns / 1000)) < 0)
		goto fail;
	return env;
fail:
	env[n - 1] = NULL;
	rv_argv_free(env);
	return NULL;
}

void rv_ready_reset(struct rv_service *s)
{
	struct rv_ready *rd = s->ready;
	struct rv_loop *loop = s->sv->loop;

	if (!rd)
		return;
	rv_loop_timer_cancel(loop, &rd->timer);
	rv_loop_timer_cancel(loop, &rd->check_timer);
	rv_probe_cancel(&rd->probe);
	if (rd->watch.fd >= 0) {
		rv_loop_unwatch_fd(loop, &rd->watch);
		close(rd->watch.fd);
		rd->watch.fd = -1;
	}
	if (rd->pipe_wr >= 0) {
		close(rd->pipe_wr);
		rd->pipe_wr = -1;
	}
	rd->ready = false;
	rd->health_failures = 0;
	rd->mainpid = 0;
}

int rv_ready_before_spawn(struct rv_service *s, struct rv_spawn_fd *fds,
			  size_t *n)
{
	struct rv_ready *rd = s->ready;
	int p[2];

	if (!rd || s->spec->ready->ready_fd < 0)
		return 0;
	rv_ready_reset(s);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rd->watch.fd = p[0];
	rd->pipe_wr = p[1];
	fds[(*n)++] = (struct rv_spawn_fd){ .from = p[1],
					    .to = s->spec->ready->ready_fd };
	return 0;
}

static void on_ready_fd(struct rv_loop *loop, struct rv_fdwatch *w,
			uint32_t revents, void *ctx)
{
	struct rv_service *s = ctx;
	struct rv_ready *rd = s->ready;
	char buf[512];
	ssize_t n;

	/* s6: a newline on the notification fd means ready */
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		if (memchr(buf, '\n', (size_t)n)) {
			rv_loop_unwatch_fd(loop, w);
			close(w->fd);
			w->fd = -1;
			rv_service_ready(s, rv_loop_now(loop));
			return;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* closed without a newline: never ready (ready_timeout) */
		close(w->fd);
		w->fd = -1;
		return;
	}
	if (rv_loop_watch_fd(loop, &rd->watch))
		rv_log_svc(RV_LOG_ERROR, s->name, "ready_fd_watch_failed", "%s",
			   "");
}

static void run_probe(struct rv_service *s, char **argv, int64_t timeout,
		      int64_t now)
{
	int ret = rv_probe_run(&s->ready->probe, argv, rv_service_envp(s),
			       timeout, now);

	if (ret)
		rv_log_svc(RV_LOG_ERROR, s->name, "probe_failed",
			   " errno=%d", -ret);
}

bool rv_ready_after_spawn(struct rv_service *s, int64_t now)
{
	struct rv_ready *rd = s->ready;
	const struct rv_service_spec *sp = s->spec;
	const struct rv_ready_spec *r = sp->ready;

	if (!rd)
		return true;
	if (rd->pipe_wr >= 0) {
		/* the child has its copy now */
		close(rd->pipe_wr);
		rd->pipe_wr = -1;
		rd->watch.events = POLLIN;
		rd->watch.cb = on_ready_fd;
		rd->watch.ctx = s;
		if (rv_loop_watch_fd(s->sv->loop, &rd->watch))
			rv_log_svc(RV_LOG_ERROR, s->name,
				   "ready_fd_watch_failed", "%s", "");
	}
	if (sp->type != RV_TYPE_NOTIFY && r->ready_fd < 0 && !r->ready_check)
		return true;
	if (r->ready_timeout_ns > 0)
		rv_loop_timer_arm(s->sv->loop, &rd->timer,
				  rv_deadline_after(now, r->ready_timeout_ns));
	if (r->ready_check)
		run_probe(s, r->ready_check, READY_CHECK_TIMEOUT_NS, now);
	return false;
}

void rv_ready_on_ready(struct rv_service *s, int64_t now)
{
	struct rv_ready *rd = s->ready;
	const struct rv_service_spec *sp = s->spec;
	const struct rv_ready_spec *r = sp->ready;

	if (!rd)
		return;
	rd->ready = true;
	rv_loop_timer_cancel(s->sv->loop, &rd->timer);
	rv_loop_timer_cancel(s->sv->loop, &rd->check_timer);
	if (sp->type == RV_TYPE_NOTIFY && r->watchdog_ns > 0)
		rv_loop_timer_arm(s->sv->loop, &rd->timer,
				  rv_deadline_after(now, r->watchdog_ns));
	if (r->health_check)
		rv_loop_timer_arm(s->sv->loop, &rd->check_timer,
				  rv_deadline_after(now, r->health_interval_ns));
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct rv_service *s = ctx;
	const struct rv_ready_spec *r = s->spec->ready;
	char d[32];

	if (!s->ready->ready) {
		rv_log_svc(RV_LOG_ERROR, s->name, "ready_timeout",
			   " ready_timeout=%s pid=%d",
			   rv_format_duration(r->ready_timeout_ns, d,
					      sizeof(d)), (int)s->child.pid);
		rv_service_abort(s, RV_ABORT_TIMEOUT, s->spec->stop_signal, now);
		return;
	}
	rv_log_svc(RV_LOG_ERROR, s->name, "watchdog",
		   " watchdog=%s pid=%d signal=SIGABRT",
		   rv_format_duration(r->watchdog_ns, d, sizeof(d)),
		   (int)s->child.pid);
	/* as systemd: SIGABRT (a core for the post-mortem), then SIGKILL */
	rv_service_abort(s, RV_ABORT_WATCHDOG, SIGABRT, now);
}

static void on_check_timer(struct rv_loop *loop, struct rv_timer *t,
			   int64_t now, void *ctx)
{
	struct rv_service *s = ctx;
	const struct rv_service_spec *sp = s->spec;
	const struct rv_ready_spec *r = sp->ready;

	if (!s->ready->ready) {
		if (r->ready_check)
			run_probe(s, r->ready_check, READY_CHECK_TIMEOUT_NS,
				  now);
		return;
	}
	if (r->health_check)
		run_probe(s, r->health_check, r->health_interval_ns, now);
}

static void on_probe(void *ctx, enum rv_probe_result res, int code,
		     int64_t now)
{
	static const char *const names[] = { "ok", "failed", "timeout",
					     "spawn_failed" };
	struct rv_service *s = ctx;
	struct rv_ready *rd = s->ready;
	struct rv_loop *loop = s->sv->loop;

	if (s->child.pid <= 0)
		return;	/* the service is gone meanwhile */
	if (!rd->ready) {
		if (res == RV_PROBE_OK) {
			rv_service_ready(s, now);
			return;
		}
		rv_log_svc(RV_LOG_DEBUG, s->name, "ready_check",
			   " result=%s code=%d", names[res], code);
		rv_loop_timer_arm(loop, &rd->check_timer,
				  rv_deadline_after(now, READY_CHECK_RETRY_NS));
		return;
	}
	if (res == RV_PROBE_OK) {
		rd->health_failures = 0;
	} else if (res == RV_PROBE_SPAWN_FAILED &&
		   (code == EAGAIN || code == EMFILE || code == ENFILE ||
		    code == ENOMEM)) {
		/* our own shortage (no process or descriptor for the probe)
		 * says nothing about the service: not a failure of it */
		rv_log_svc(RV_LOG_WARN, s->name, "health_check",
			   " result=%s code=%d failures=%u", names[res], code,
			   rd->health_failures);
	} else {
		rd->health_failures++;
		rv_log_svc(RV_LOG_WARN, s->name, "health_check",
			   " result=%s code=%d failures=%u", names[res], code,
			   rd->health_failures);
		if (rd->health_failures >= s->spec->ready->health_retries) {
			rv_log_svc(RV_LOG_ERROR, s->name, "health_failed",
				   " failures=%u pid=%d", rd->health_failures,
				   (int)s->child.pid);
			rv_service_abort(s, RV_ABORT_HEALTH,
					 s->spec->stop_signal, now);
			return;
		}
	}
	rv_loop_timer_arm(loop, &rd->check_timer,
			  rv_deadline_after(now, s->spec->ready->health_interval_ns));
}

/* ---- the notify protocol's messages (control/notify_dispatch.c) ---- */

/*
 * The notify service whose main process is pid, looked up in the loop's
 * table of watched children: O(1) whatever the number of services (a
 * probe's child is no service's).
 */
static struct rv_service *main_of(struct rv_supervisor *sv, pid_t pid)
{
	struct rv_service *s = rv_service_of_child(
		rv_loop_find_child(sv->loop, pid));

	return s && s->ready && s->spec->type == RV_TYPE_NOTIFY ? s : NULL;
}

struct rv_service *rv_ready_sender(struct rv_supervisor *sv, pid_t pid)
{
	struct rv_service *s = main_of(sv, pid);
	pid_t pg;

	if (s)
		return s;
	/* a group's id is its leader's pid: is the leader a service's? */
	pg = getpgid(pid);
	return pg > 0 && pg != pid ? main_of(sv, pg) : NULL;
}

void rv_ready_report(struct rv_service *s, const struct rv_ready_msg *msg,
		     int64_t now)
{
	struct rv_ready *rd = s->ready;
	struct rv_loop *loop = s->sv->loop;

	if (msg->status) {
		snprintf(rd->status, sizeof(rd->status), "%s", msg->status);
		rv_log_svc(RV_LOG_DEBUG, s->name, "notify_status", " status=%s",
			   rv_log_quote(rd->status, (char[300]){ 0 }, 300));
	}
	if (msg->mainpid > 0) {
		rd->mainpid = msg->mainpid;
		rv_log_svc(RV_LOG_INFO, s->name, "notify_mainpid", " pid=%d",
			   (int)msg->mainpid);
	}
	if (msg->stopping)
		rv_log_svc(RV_LOG_INFO, s->name, "notify_stopping", "%s", "");
	if (msg->ready && !rd->ready && s->state == RV_SVC_STARTING)
		rv_service_ready(s, now);
	if (msg->watchdog_trigger && rd->ready) {
		rv_log_svc(RV_LOG_ERROR, s->name, "watchdog",
			   " reason=trigger pid=%d signal=SIGABRT",
			   (int)s->child.pid);
		rv_service_abort(s, RV_ABORT_WATCHDOG, SIGABRT, now);
		return;
	}
	if (msg->watchdog && rd->ready && s->spec->ready->watchdog_ns > 0)
		rv_loop_timer_arm(loop, &rd->timer,
				  rv_deadline_after(now,
						    s->spec->ready->watchdog_ns));
}

const char *rv_ready_status_text(const struct rv_service *s)
{
	return s->ready && s->ready->status[0] ? s->ready->status : NULL;
}

/* ---- hand-over ---- */

static int64_t deadline_of(const struct rv_timer *t)
{
	return rv_timer_is_armed(t) ? t->deadline_ns : RV_SNAP_NO_DEADLINE;
}

int rv_ready_take(const struct rv_service *s, struct rv_snap_ready **out)
{
	const struct rv_ready *rd = s->ready;
	struct rv_snap_ready *r;

	*out = NULL;
	if (!rd)
		return 0;
	if (rv_probe_running(&rd->probe) || rd->pipe_wr >= 0)
		return -EBUSY;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (rd->status[0] && !(r->status = strdup(rd->status))) {
		free(r);
		return -ENOMEM;
	}
	r->ready = rd->ready;
	r->mainpid = rd->mainpid;
	r->health_failures = rd->health_failures;
	r->timer_ns = deadline_of(&rd->timer);
	r->check_ns = deadline_of(&rd->check_timer);
	r->ready_fd = rd->watch.fd;
	*out = r;
	return 0;
}

void rv_ready_quiesce(struct rv_service *s, int64_t now)
{
	struct rv_ready *rd = s->ready;

	if (!rd || !rv_probe_running(&rd->probe))
		return;
	rv_probe_cancel(&rd->probe);
	rv_loop_timer_arm(s->sv->loop, &rd->check_timer, now);
}

void rv_ready_apply(struct rv_service *s, const struct rv_snap_ready *r)
{
	struct rv_ready *rd = s->ready;

	rd->ready = r->ready;
	snprintf(rd->status, sizeof(rd->status), "%s",
		 r->status ? r->status : "");
	rd->mainpid = r->mainpid;
	rd->health_failures = r->health_failures;
	rd->watch.fd = r->ready_fd;
	rd->watch.events = POLLIN;
	rd->watch.cb = on_ready_fd;
	rd->watch.ctx = s;
}

void rv_ready_arm(struct rv_service *s, const struct rv_snap_ready *r)
{
	struct rv_ready *rd = s->ready;

	if (r->timer_ns != RV_SNAP_NO_DEADLINE)
		rv_loop_timer_arm(s->sv->loop, &rd->timer, r->timer_ns);
	if (r->check_ns != RV_SNAP_NO_DEADLINE)
		rv_loop_timer_arm(s->sv->loop, &rd->check_timer, r->check_ns);
	/* the ready_fd pipe crossed with its newline still to come */
	if (rd->watch.fd >= 0 && !rd->watch.armed &&
	    rv_loop_watch_fd(s->sv->loop, &rd->watch))
		rv_log_svc(RV_LOG_ERROR, s->name, "ready_fd_watch_failed", "%s",
			   "");
}
