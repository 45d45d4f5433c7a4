/* SPDX-License-Identifier: MIT */
/*
 * epoll backend, for where io_uring is blocked (container seccomp
 * profiles, kernel.io_uring_disabled) or too old.  Same behaviour as the
 * ring, not a degraded mode (URING_NOTES.md §0): signalfd, eventfd, each
 * watched pidfd (EPOLLIN) + waitid(P_PIDFD), one-shot fd watches, and ONE
 * timerfd (CLOCK_MONOTONIC, absolute) for the heap top.  Deadlines never
 * go through the epoll_wait timeout, which is subject to timer slack
 * (measured 1 ms late with 2 ms slack); timerfd is not.
 */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop_internal.h"

#define RV_EPOLL_BATCH	64
#define RV_EPOLL_ROUNDS	64	/* at most 4096 events per turn */

static int ctl(struct rv_loop *loop, int op, int fd, uint32_t events,
	       uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(loop->e.epfd, op, fd, &ev) ? -errno : 0;
}

/*
 * Points the timerfd at deadline (RV_NO_DEADLINE disarms).  Called only
 * when the heap top moved, not once per turn.
 */
static int set_timer(struct rv_loop *loop, int64_t deadline)
{
	struct itimerspec its = { 0 };

	if (deadline != RV_NO_DEADLINE) {
		its.it_value.tv_sec = deadline / RV_NSEC_PER_SEC;
		its.it_value.tv_nsec = deadline % RV_NSEC_PER_SEC;
	}
	loop->stats.timerfd_sets++;
	if (timerfd_settime(loop->e.tfd, TFD_TIMER_ABSTIME, &its, NULL))
		return -errno;
	loop->e.tfd_deadline = deadline;
	loop->e.tfd_fired = false;	/* settime cleared the expiration */
	return 0;
}

/*
 * The timerfd expired.  It is not read here: the timers run first, and
 * the next turn's timerfd_settime() (arm or disarm: one is due anyway,
 * see tfd_fired) clears the expiration, so no read(2) stands between the
 * wake-up and the timer callbacks.  Until then it stays readable, which
 * only matters to a turn that does not wait.
 */
static int timer_event(struct rv_loop *loop)
{
	loop->e.tfd_deadline = RV_NO_DEADLINE;	/* one-shot: disarmed */
	loop->e.tfd_fired = true;
	return 0;
}

static int child_event(struct rv_loop *loop, uint64_t tag)
{
	struct rv_child *c = rv_children_get(loop, tag);

	if (!c) {
		loop->stats.stale++;
		return 0;
	}
	if (rv_children_reap(loop, c) < 0) {
		/*
		 * Cannot waitid on this pidfd: stop the level-triggered
		 * reports and leave the child to the SIGCHLD sweep.
		 */
		ctl(loop, EPOLL_CTL_DEL, c->pidfd, 0, 0);
	}
	return 0;
}

static int fd_event(struct rv_loop *loop, uint64_t tag, uint32_t events)
{
	struct rv_fdwatch *w = rv_fdwatch_get(loop, tag);

	if (!w) {
		loop->stats.stale++;
		return 0;
	}
	/*
	 * EPOLLONESHOT left the fd in the set, disabled; remove it so the
	 * owner may close it or watch it again.  EPOLL* and POLL* bits are
	 * the same numbers.
	 */
	ctl(loop, EPOLL_CTL_DEL, w->fd, 0, 0);
	rv_fdwatch_fire(loop, w, events);
	return 0;
}

static int dispatch(struct rv_loop *loop, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;

	switch (rv_tag_op(tag)) {
	case RV_OP_SIGNAL:
		return rv_signals_drain(loop);
	case RV_OP_WAKE:
		return rv_wake_drain(loop);
	case RV_OP_TIMER:
		return timer_event(loop);
	case RV_OP_CHILD:
		return child_event(loop, tag);
	case RV_OP_FD:
		return fd_event(loop, tag, ev->events);
	default:
		return 0;
	}
}

static int epoll_turn(struct rv_loop *loop, int64_t deadline,
		      int64_t max_wait_ns)
{
	struct epoll_event ev[RV_EPOLL_BATCH];
	int timeout = -1, n, i, round, ret = 0, err;

	if (deadline != RV_NO_DEADLINE && deadline <= rv_clock_now()) {
		timeout = 0;	/* already due: no timer needed */
	} else if (deadline != loop->e.tfd_deadline || loop->e.tfd_fired) {
		ret = set_timer(loop, deadline);
		if (ret)
			return ret;
	}
	/* a cap on the wait, not a deadline: ms granularity is fine */
	if (timeout && max_wait_ns >= 0) {
		int64_t ms = (max_wait_ns + 999999) / 1000000;

		timeout = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	for (round = 0; round < RV_EPOLL_ROUNDS; round++) {
		loop->stats.waits++;
		n = epoll_wait(loop->e.epfd, ev, RV_EPOLL_BATCH, timeout);
		if (round == 0)
			loop->now = rv_clock_now();
		if (n < 0) {
			if (errno != EINTR)
				return -errno;
			n = 0;
		}
		for (i = 0; i < n; i++) {
			loop->stats.completions++;
			err = dispatch(loop, &ev[i]);
			if (err && !ret)
				ret = err;
		}
		/* a full batch: more may be ready, fetch it without waiting */
		if (n < RV_EPOLL_BATCH)
			break;
		timeout = 0;
	}
	return ret;
}

static int epoll_child_add(struct rv_loop *loop, struct rv_child *c)
{
	return ctl(loop, EPOLL_CTL_ADD, c->pidfd, EPOLLIN,
		   rv_tag(RV_OP_CHILD, c->gen, c->slot));
}

static void epoll_child_del(struct rv_loop *loop, struct rv_child *c,
			    bool exited)
{
	/*
	 * Always: an exited pidfd stays readable (level-triggered) until the
	 * owner closes it.  Fails harmlessly if it was closed already.
	 */
	ctl(loop, EPOLL_CTL_DEL, c->pidfd, 0, 0);
}

static int epoll_fd_add(struct rv_loop *loop, struct rv_fdwatch *w)
{
	return ctl(loop, EPOLL_CTL_ADD, w->fd, w->events | EPOLLONESHOT,
		   rv_tag(RV_OP_FD, w->gen, w->slot));
}

static void epoll_fd_del(struct rv_loop *loop, struct rv_fdwatch *w)
{
	ctl(loop, EPOLL_CTL_DEL, w->fd, 0, 0);
}

static void epoll_sigchld(struct rv_loop *loop)
{
}

/*
 * Nothing is in flight on epoll; quiesced means out of the set, so no
 * readiness is reported before unquiesce puts every registration back.
 */
static int epoll_quiesce(struct rv_loop *loop, int64_t deadline)
{
	struct rv_fdwatch *w;
	struct rv_child *c;
	uint32_t i;

	rv_slots_each(&loop->children, i, struct rv_child, c)
		ctl(loop, EPOLL_CTL_DEL, c->pidfd, 0, 0);
	rv_slots_each(&loop->fds, i, struct rv_fdwatch, w)
		ctl(loop, EPOLL_CTL_DEL, w->fd, 0, 0);
	return 0;
}

static void epoll_unquiesce(struct rv_loop *loop)
{
	struct rv_fdwatch *w;
	struct rv_child *c;
	uint32_t i;

	rv_slots_each(&loop->children, i, struct rv_child, c)
		if (epoll_child_add(loop, c))
			rv_loop_warn("pid %d: pidfd back into epoll failed",
				     (int)c->pid);
	rv_slots_each(&loop->fds, i, struct rv_fdwatch, w)
		if (epoll_fd_add(loop, w))
			rv_loop_warn("fd %d back into epoll failed", w->fd);
}

static void epoll_destroy(struct rv_loop *loop)
{
	if (loop->e.tfd >= 0)
		close(loop->e.tfd);
	if (loop->e.epfd >= 0)
		close(loop->e.epfd);
	loop->e.tfd = loop->e.epfd = -1;
}

int rv_epoll_init(struct rv_loop *loop)
{
	struct rv_epoll_state *e = &loop->e;
	int ret;

	e->tfd_deadline = RV_NO_DEADLINE;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		return -errno;
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->tfd < 0)
		return -errno;
	ret = ctl(loop, EPOLL_CTL_ADD, loop->sfd, EPOLLIN,
		  rv_tag(RV_OP_SIGNAL, 0, 0));
	if (!ret)
		ret = ctl(loop, EPOLL_CTL_ADD, loop->efd, EPOLLIN,
			  rv_tag(RV_OP_WAKE, 0, 0));
	if (!ret)
		ret = ctl(loop, EPOLL_CTL_ADD, e->tfd, EPOLLIN,
			  rv_tag(RV_OP_TIMER, 0, 0));
	loop->child_mode = RV_CHILD_EPOLL;
	return ret;
}

const struct rv_backend_ops rv_epoll_ops = {
	.name = "epoll",
	.wait = epoll_turn,
	.child_add = epoll_child_add,
	.child_del = epoll_child_del,
	.fd_add = epoll_fd_add,
	.fd_del = epoll_fd_del,
	.sigchld = epoll_sigchld,
	.quiesce = epoll_quiesce,
	.unquiesce = epoll_unquiesce,
	.destroy = epoll_destroy,
};
