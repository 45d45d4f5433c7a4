/* SPDX-License-Identifier: MIT */
#include "child/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* stdio of every probe; opened once, never closed (O_CLOEXEC). */
static int devnull = -1;

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx);
static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx);

int rv_probe_init(struct rv_probe *p, struct rv_loop *loop,
		  struct rv_spawner *sp, rv_probe_cb *cb, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->child.pidfd = -1;
	p->report_fd = -1;
	p->loop = loop;
	p->spawner = sp;
	p->cb = cb;
	p->ctx = ctx;
	p->state = RV_PROBE_IDLE;
	rv_timer_init(&p->timer, on_timer, p);
	if (devnull < 0) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			return -errno;
	}
	return 0;
}

void rv_probe_set_iso(struct rv_probe *p, const struct rv_spawn_iso *iso)
{
	p->iso = iso;
}

bool rv_probe_running(const struct rv_probe *p)
{
	return p->state != RV_PROBE_IDLE;
}

/*
 * SIGKILL to the probe's process group (its pid: setsid in the child), or
 * to the probe alone if it died before setsid.  The pid cannot be recycled
 * while the child is unwatched-and-unreaped, and neither can the group id.
 */
static void kill_probe(struct rv_probe *p)
{
	if (kill(-p->child.pid, SIGKILL) == 0)
		return;
	syscall(SYS_pidfd_send_signal, p->child.pidfd, SIGKILL, NULL, 0);
}

static void forget_child(struct rv_probe *p)
{
	close(p->child.pidfd);
	p->child.pidfd = -1;
	p->child.pid = 0;
	if (p->report_fd >= 0)
		close(p->report_fd);
	p->report_fd = -1;
}

int rv_probe_run(struct rv_probe *p, char *const *argv, char *const *envp,
		 int64_t timeout_ns, int64_t now)
{
	const struct rv_spawn_fd fds[] = {
		{ devnull, STDIN_FILENO },
		{ devnull, STDOUT_FILENO },
		{ devnull, STDERR_FILENO },
	};
	struct rv_spawn_plan plan = {
		.argv = argv,
		.envp = envp,
		.new_session = true,
		.fds = fds,
		.n_fds = sizeof(fds) / sizeof(*fds),
		.iso = p->iso,
	};
	struct rv_spawn_result res;
	int ret;

	if (p->state != RV_PROBE_IDLE)
		return -EBUSY;
	if (!argv || !argv[0] || devnull < 0)
		return -EINVAL;
	p->started_ns = now;
	p->spawn_err = 0;
	p->spawn_step = NULL;
	ret = rv_spawn(p->spawner, &plan, &res);
	if (res.pid <= 0) {
		/* no child (clone failed): report on the next turn */
		p->spawn_err = res.err ? res.err : (ret ? -ret : EAGAIN);
		p->spawn_step = res.step;
		goto report_later;
	}
	p->child.pid = res.pid;
	p->child.pidfd = res.pidfd;
	p->child.cb = on_exit_cb;
	p->child.ctx = p;
	p->report_fd = res.report_fd;
	ret = rv_loop_watch_child(p->loop, &p->child);
	if (ret < 0) {
		/* no room was reserved: never leave an unwatched probe
		 * running; the loop reaps it as an orphan */
		kill_probe(p);
		forget_child(p);
		p->spawn_err = -ret;
		p->spawn_step = "watch";
		goto report_later;
	}
	if (res.err) {
		/* the child exists and is exiting with 126/127: its exit
		 * is the report */
		p->spawn_err = res.err;
		p->spawn_step = res.step;
		p->state = RV_PROBE_EXEC_FAILED;
		return 0;
	}
	p->state = RV_PROBE_RUNNING;
	if (timeout_ns > 0)
		rv_loop_timer_arm(p->loop, &p->timer, now + timeout_ns);
	return 0;

report_later:
	p->state = RV_PROBE_NO_CHILD;
	rv_loop_timer_arm(p->loop, &p->timer, now);
	return 0;
}

void rv_probe_cancel(struct rv_probe *p)
{
	if (p->state == RV_PROBE_IDLE)
		return;
	rv_loop_timer_cancel(p->loop, &p->timer);
	if (p->child.pid > 0) {
		kill_probe(p);
		rv_loop_unwatch_child(p->loop, &p->child);
		forget_child(p);
	}
	p->state = RV_PROBE_IDLE;
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	struct rv_probe *p = ctx;

	switch (p->state) {
	case RV_PROBE_NO_CHILD:
		p->state = RV_PROBE_IDLE;
		p->cb(p->ctx, RV_PROBE_SPAWN_FAILED, p->spawn_err, now);
		break;
	case RV_PROBE_RUNNING:
		/* the report comes with the exit */
		kill_probe(p);
		p->state = RV_PROBE_KILLED;
		break;
	case RV_PROBE_IDLE:
	case RV_PROBE_KILLED:
	case RV_PROBE_EXEC_FAILED:
	default:
		break;
	}
}

static void on_exit_cb(struct rv_loop *loop, struct rv_child *c,
		       const siginfo_t *info, void *ctx)
{
	struct rv_probe *p = ctx;
	enum rv_probe_state was = p->state;
	enum rv_probe_result res;
	int code;
	/* a probe that switched uid tells only now that it never exec'd */
	bool failed = p->report_fd >= 0 &&
		      rv_spawn_report_read(p->report_fd, p->iso, &p->spawn_err,
					   &p->spawn_step);

	rv_loop_timer_cancel(loop, &p->timer);
	forget_child(p);
	p->state = RV_PROBE_IDLE;
	if (was == RV_PROBE_KILLED) {
		res = RV_PROBE_TIMEOUT;
		code = 0;
	} else if (was == RV_PROBE_EXEC_FAILED || failed) {
		res = RV_PROBE_SPAWN_FAILED;
		code = p->spawn_err;
	} else if (info->si_code == CLD_EXITED) {
		code = info->si_status;
		res = code == 0 ? RV_PROBE_OK : RV_PROBE_FAILED;
	} else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED) {
		res = RV_PROBE_FAILED;
		code = 128 + info->si_status;
	} else {
		res = RV_PROBE_FAILED;	/* reaped by someone else */
		code = -1;
	}
	p->cb(p->ctx, res, code, rv_loop_now(loop));
}
