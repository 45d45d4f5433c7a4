/* SPDX-License-Identifier: MIT */
/*
 * The loop's public entry points: creation and backend choice, the turn,
 * and the small accessors.  The backends live in loop_uring.c and
 * loop_epoll.c; timers, children, fd watches, signals and the doorbell in
 * their own files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_internal.h"

#define RV_BACKEND_ENV "RINGVISOR_BACKEND"

int64_t rv_clock_now(void)
{
	struct timespec ts;

	/* cannot fail for CLOCK_MONOTONIC with a valid pointer */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * RV_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t rv_loop_now(const struct rv_loop *loop)
{
	return loop->now;
}

void rv_loop_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ringvisor: loop: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void rv_loop_get_stats(const struct rv_loop *loop, struct rv_loop_stats *st)
{
	*st = loop->stats;
}

void rv_loop_carry_stats(struct rv_loop *loop, const struct rv_loop_stats *st)
{
	loop->stats.turns += st->turns;
	loop->stats.completions += st->completions;
	loop->stats.children_reaped += st->children_reaped;
	loop->stats.orphans_reaped += st->orphans_reaped;
}

enum rv_backend rv_loop_backend(const struct rv_loop *loop)
{
	return loop->backend;
}

const char *rv_loop_backend_name(const struct rv_loop *loop)
{
	return loop->ops->name;
}

bool rv_loop_fell_back(const struct rv_loop *loop)
{
	return loop->fell_back;
}

const char *rv_loop_child_method(const struct rv_loop *loop)
{
	switch (loop->child_mode) {
	case RV_CHILD_WAITID:
		return "IORING_OP_WAITID(P_ALL, WNOWAIT) + waitid(P_PIDFD)";
	case RV_CHILD_URING_POLL:
		return "pidfd POLL_ADD + waitid(P_PIDFD)";
	case RV_CHILD_EPOLL:
		return "pidfd epoll + waitid(P_PIDFD)";
	}
	return "?";
}

/* ---- creation ---- */

/*
 * RINGVISOR_BACKEND=io_uring|epoll|auto, when set and non-empty, overrides
 * cfg->backend (unless cfg->ignore_backend_env: an explicit command-line
 * choice beats it).  It is how CI runs the whole test suite once per
 * backend, and how a user in a container that blocks io_uring can skip
 * the probe.  *forced tells the caller the choice came from the
 * environment.
 */
static int backend_from_env(enum rv_backend *backend, bool *forced,
			    char *why, size_t whylen)
{
	const char *v = getenv(RV_BACKEND_ENV);

	*forced = false;
	if (!v || !*v)
		return 0;
	if (!strcmp(v, "io_uring"))
		*backend = RV_BACKEND_IO_URING;
	else if (!strcmp(v, "epoll"))
		*backend = RV_BACKEND_EPOLL;
	else if (!strcmp(v, "auto"))
		*backend = RV_BACKEND_AUTO;
	else {
		snprintf(why, whylen, "%s=%s: expected io_uring, epoll or auto",
			 RV_BACKEND_ENV, v);
		return -EINVAL;
	}
	*forced = true;
	return 0;
}

static const char *child_note(const struct rv_loop *loop,
			      const struct rv_uring_caps *caps, bool no_waitid)
{
	if (loop->child_mode == RV_CHILD_WAITID)
		return "IORING_OP_WAITID";
	if (!caps->waitid)
		return "pidfd polls: no IORING_OP_WAITID (kernel < 6.7)";
	return no_waitid ? "pidfd polls: no_waitid set" : "pidfd polls";
}

/* Tries io_uring; on failure err says which step failed and why. */
static int try_uring(struct rv_loop *loop, const struct rv_loop_config *cfg,
		     const char *source, char *why, size_t whylen,
		     char *err, size_t errlen)
{
	struct rv_uring_caps caps = { 0 };
	int ret;

	ret = rv_uring_setup(&loop->u.ring, &caps, cfg->completions, err,
			     errlen);
	if (ret)
		return ret;
	rv_uring_init(loop, &caps, cfg->no_waitid);
	/* on until the kernel says -EINVAL (uring_wait) */
	loop->u.abs_timer = !cfg->no_abs_timer;
	loop->ops = &rv_uring_ops;
	loop->backend = RV_BACKEND_IO_URING;
	snprintf(why, whylen, "io_uring %s (%s, %s)", source, caps.setup_name,
		 child_note(loop, &caps, cfg->no_waitid));
	return 0;
}

static struct rv_loop *loop_alloc(const struct rv_loop_config *cfg)
{
	struct rv_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->sfd = loop->efd = -1;
	loop->e.epfd = loop->e.tfd = -1;
	loop->signal_cb = cfg->signal_cb;
	loop->wake_cb = cfg->wake_cb;
	loop->orphan_cb = cfg->orphan_cb;
	loop->ctx = cfg->ctx;
	loop->now = rv_clock_now();
	return loop;
}

int rv_loop_new(struct rv_loop **out, const struct rv_loop_config *cfg,
		char *why, size_t whylen)
{
	static const struct rv_loop_config defaults;
	char whybuf[256], err[160], disabled[64];
	enum rv_backend backend;
	struct rv_loop *loop;
	bool forced;
	int ret;

	*out = NULL;
	if (!why || !whylen) {
		why = whybuf;
		whylen = sizeof(whybuf);
	}
	why[0] = '\0';
	if (!cfg)
		cfg = &defaults;
	backend = cfg->backend;
	forced = false;
	if (!cfg->ignore_backend_env) {
		ret = backend_from_env(&backend, &forced, why, whylen);
		if (ret)
			return ret;
	}

	loop = loop_alloc(cfg);
	if (!loop) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	ret = rv_signals_open(loop, cfg->signals);
	if (ret) {
		snprintf(why, whylen, "signalfd: %s", strerror(-ret));
		goto err_free;
	}
	ret = rv_wake_open(loop);
	if (ret) {
		snprintf(why, whylen, "eventfd: %s", strerror(-ret));
		goto err_free;
	}

	if (backend != RV_BACKEND_EPOLL) {
		const char *source = backend == RV_BACKEND_AUTO ? "available" :
				     forced ? "forced by " RV_BACKEND_ENV
					      "=io_uring" : "requested";

		ret = try_uring(loop, cfg, source, why, whylen, err,
				sizeof(err));
		if (!ret)
			goto out;
		rv_uring_disabled_str(disabled, sizeof(disabled));
		if (backend == RV_BACKEND_IO_URING) {
			snprintf(why, whylen, "io_uring unavailable: %s (%s; "
				 "check `sysctl kernel.io_uring_disabled` and "
				 "the container's seccomp profile)",
				 err, disabled);
			goto err_free;
		}
		snprintf(why, whylen, "io_uring unavailable, using epoll: "
			 "%s (%s)", err, disabled);
		loop->fell_back = true;
	} else {
		snprintf(why, whylen, "epoll %s", forced ?
			 "forced by " RV_BACKEND_ENV "=epoll" : "requested");
	}

	loop->ops = &rv_epoll_ops;
	loop->backend = RV_BACKEND_EPOLL;
	ret = rv_epoll_init(loop);
	if (ret) {
		snprintf(why, whylen, "epoll setup: %s", strerror(-ret));
		goto err_free;
	}
out:
	*out = loop;
	return 0;

err_free:
	rv_loop_free(loop);
	return ret;
}

void rv_loop_free(struct rv_loop *loop)
{
	uint32_t i;

	if (!loop)
		return;
	if (loop->ops)
		loop->ops->destroy(loop);
	if (loop->sfd >= 0)
		close(loop->sfd);
	if (loop->efd >= 0)
		close(loop->efd);
	/* leave the owners' structs saying "not armed" */
	for (i = 0; i < loop->timers.heap.n; i++)
		loop->timers.heap.v[i]->heap_index = RV_TIMER_UNARMED;
	for (i = 0; i < loop->fds.used; i++) {
		struct rv_fdwatch *w = loop->fds.obj[i];

		if (w)
			w->armed = false;
	}
	rv_timers_free(loop);
	rv_children_free(loop);
	rv_slots_free_all(&loop->fds);
	rv_slots_free_all(&loop->ios);
	free(loop);
}

/* ---- the turn ---- */

int rv_loop_run_once(struct rv_loop *loop, int64_t max_wait_ns)
{
	int64_t next;
	int ret;

	/* a nested turn would fire this turn's due timers twice */
	if (loop->in_turn)
		return -EDEADLK;
	if (loop->quiesced)
		return -EBUSY;
	loop->in_turn = true;
	loop->stats.turns++;
	next = rv_timers_next(loop);
	if (loop->timers.spin_auto)
		rv_precision_wait_begins(loop, next);
	ret = loop->ops->wait(loop, next, max_wait_ns);
	/* timers still fire: the error was about something else */
	rv_timers_run(loop);
	loop->in_turn = false;
	return ret;
}

int rv_loop_run(struct rv_loop *loop)
{
	int ret;

	loop->stop = false;
	while (!loop->stop) {
		ret = rv_loop_run_once(loop, -1);
		if (ret)
			return ret;
	}
	return 0;
}

void rv_loop_stop(struct rv_loop *loop)
{
	loop->stop = true;
}
