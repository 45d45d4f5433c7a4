/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend.  One ring owned by the loop thread; per turn one
 * io_uring_submit_and_wait_timeout() that submits everything queued and
 * sleeps until a completion or the earliest timer (no per-timer kernel
 * timeouts, and the wait timeout ignores timer slack).
 *
 * Always in flight (each tagged, see loop_internal.h):
 *   SIGNAL  POLL_ADD (multishot) on the signalfd, then read() until EAGAIN
 *   WAKE    POLL_ADD (multishot) on the eventfd
 *   REAPER  one IORING_OP_WAITID(P_ALL, WEXITED|WNOWAIT) (kernel 6.7+),
 *           with SIGCHLD out of the signalfd while it is armed, or
 *   CHILD   one POLL_ADD per watched pidfd without it
 *   FD      one-shot POLL_ADD per fd watch
 */
#include <errno.h>
#include <sys/socket.h>
#include <poll.h>
#include <string.h>

#include "compat.h"
#include "loop_internal.h"

static struct io_uring_sqe *uring_sqe(struct rv_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->u.ring);

	if (!sqe) {
		/* SQ full: hand what is queued to the kernel and retry */
		io_uring_submit(&loop->u.ring);
		sqe = io_uring_get_sqe(&loop->u.ring);
	}
	if (sqe)
		loop->u.inflight++;
	return sqe;
}

/*
 * Best effort: without an SQE the request stays in flight, and its
 * completion will carry a generation that no longer matches.
 */
static void uring_cancel(struct rv_loop *loop, uint64_t tag)
{
	struct io_uring_sqe *sqe = uring_sqe(loop);

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, tag, 0);
	io_uring_sqe_set_data64(sqe, rv_tag(RV_OP_CANCEL, 0, 0));
}

static int uring_poll(struct rv_loop *loop, int fd, unsigned int events,
		      bool multishot, uint64_t tag)
{
	struct io_uring_sqe *sqe = uring_sqe(loop);

	if (!sqe)
		return -EBUSY;
	if (multishot)
		io_uring_prep_poll_multishot(sqe, fd, events);
	else
		io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

/* ---- SIGNAL and WAKE: persistent polls ---- */

static void arm_sources(struct rv_loop *loop)
{
	struct rv_uring_state *u = &loop->u;

	if (!u->sig_armed &&
	    !uring_poll(loop, loop->sfd, POLLIN, u->poll_multishot,
			rv_tag(RV_OP_SIGNAL, u->sig_gen, 0)))
		u->sig_armed = true;
	if (!u->wake_armed &&
	    !uring_poll(loop, loop->efd, POLLIN, u->poll_multishot,
			rv_tag(RV_OP_WAKE, u->wake_gen, 0)))
		u->wake_armed = true;
}

/*
 * A completion of the signalfd or eventfd poll.  Returns false if it should
 * be ignored.  A multishot CQE without F_MORE means the poll ended (e.g. on
 * CQ overflow): it is re-armed at the start of the next turn.
 */
static bool source_event(struct rv_loop *loop, bool *armed, int res,
			 unsigned int flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		*armed = false;
	if (res == -EINVAL && loop->u.poll_multishot) {
		/* kernel < 5.13: no multishot poll; one-shot from now on */
		loop->u.poll_multishot = false;
		return false;
	}
	return res >= 0;
}

/* ---- REAPER: the one WAITID(P_ALL, WNOWAIT) ---- */

static void reaper_arm(struct rv_loop *loop)
{
	struct rv_uring_state *u = &loop->u;
	struct io_uring_sqe *sqe;

	/* quiesced: unquiesce arms it again */
	if (u->reaper == RV_REAPER_OFF || u->reaper == RV_REAPER_ARMED ||
	    loop->quiesced)
		return;
	sqe = uring_sqe(loop);
	u->reaper_retry = !sqe;
	if (!sqe)
		return;		/* still idle: retried next turn */
	u->reaper_gen = (u->reaper_gen + 1) & RV_GEN_MASK;
	memset(&u->reaper_info, 0, sizeof(u->reaper_info));
	/*
	 * WNOWAIT: only notify.  The zombie keeps its pid until
	 * rv_children_reap_pid() has looked it up and reaped it, so the
	 * lookup can never match a recycled pid, and a stale CQE can never
	 * make us lose an exit status.
	 */
	rv_prep_waitid(sqe, P_ALL, 0, &u->reaper_info, WEXITED | WNOWAIT);
	io_uring_sqe_set_data64(sqe, rv_tag(RV_OP_REAPER, u->reaper_gen, 0));
	u->reaper = RV_REAPER_ARMED;
	loop->stats.reaper_arms++;
	/*
	 * Armed, it sees every child that exits, including children we did
	 * not start (fork() by the embedding program, orphans reparented to
	 * a subreaper): SIGCHLD through the signalfd would only add a
	 * completion, two reads and a sweep to every exit.  It goes back in
	 * when the reaper stops (-ECHILD, errors).  Failing to take it out
	 * only costs that.
	 */
	(void)rv_signals_sigchld(loop, false);
}

static int child_poll(struct rv_loop *loop, struct rv_child *c)
{
	return uring_poll(loop, c->pidfd, POLLIN, false,
			  rv_tag(RV_OP_CHILD, c->gen, c->slot));
}

/*
 * The reaper cannot be trusted to see every exit any more: SIGCHLD back
 * into the signalfd, and a sweep now for what it may have missed.
 */
static int reaper_give_up(struct rv_loop *loop, const char *why)
{
	int ret = rv_signals_sigchld(loop, true);

	rv_loop_warn("IORING_OP_WAITID reaper: %s; reaping on SIGCHLD", why);
	if (ret)
		return ret;
	return rv_children_sweep(loop);
}

/* The kernel refused WAITID after all: per-pidfd polls from now on. */
static void use_pidfd_polls(struct rv_loop *loop)
{
	uint32_t i;

	loop->u.reaper = RV_REAPER_OFF;
	loop->child_mode = RV_CHILD_URING_POLL;
	if (rv_signals_sigchld(loop, true))
		rv_loop_warn("cannot put SIGCHLD back into the signalfd");
	for (i = 0; i < loop->children.used; i++) {
		struct rv_child *c = loop->children.obj[i];

		/* without a poll the SIGCHLD sweep still reaps it */
		if (c && child_poll(loop, c))
			rv_loop_warn("pid %d: no SQE for its pidfd poll",
				     (int)c->pid);
	}
}

static int reaper_event(struct rv_loop *loop, uint64_t tag, int res)
{
	struct rv_uring_state *u = &loop->u;
	siginfo_t si;
	int ret;

	if (u->reaper != RV_REAPER_ARMED || rv_tag_gen(tag) != u->reaper_gen) {
		loop->stats.stale++;
		return 0;
	}
	u->reaper = RV_REAPER_IDLE;
	if (res == -ECANCELED && loop->quiesced)
		return 0;	/* taken out by quiesce; a zombie waits */
	switch (res) {
	case 0:
		/* a copy: a callback's rv_loop_watch_child() re-arms */
		si = u->reaper_info;
		if (si.si_pid <= 0) {
			reaper_arm(loop);	/* woken without a zombie */
			return 0;
		}
		ret = rv_children_reap_pid(loop, &si);
		/*
		 * Re-arm: if more zombies wait it completes at once.  A
		 * zombie we could not reap would make it complete forever:
		 * then reap on SIGCHLD instead, and warn.
		 */
		if (ret < 0)
			return reaper_give_up(loop, strerror(-ret));
		loop->stats.reaper_reaps += ret;
		reaper_arm(loop);
		return 0;
	case -ECHILD:
		/*
		 * No children now.  The next one may come from
		 * rv_loop_watch_child(), which re-arms, or from a fork()
		 * we do not see: SIGCHLD covers that one, and its sweep
		 * re-arms.  (A SIGCHLD already pending is read at once.)
		 */
		return rv_signals_sigchld(loop, true);
	case -EINVAL:
	case -EOPNOTSUPP:
		use_pidfd_polls(loop);
		return rv_children_sweep(loop);
	default:
		return reaper_give_up(loop, strerror(-res));
	}
}

/* ---- completions ---- */

static uint32_t poll_res_to_revents(int res)
{
	if (res >= 0)
		return (uint32_t)res;
	return res == -EBADF ? POLLNVAL : POLLERR;
}

static int child_event(struct rv_loop *loop, uint64_t tag, int res)
{
	struct rv_child *c = rv_children_get(loop, tag);
	int ret;

	if (!c) {
		loop->stats.stale++;
		return 0;
	}
	if (res < 0)
		return 0;	/* -ECANCELED (resync) or bad pidfd: sweep */
	ret = rv_children_reap(loop, c);
	/* quiesced: unquiesce polls it again */
	if (ret == 0 && !loop->quiesced && child_poll(loop, c))
		rv_loop_warn("pid %d: no SQE to re-arm its pidfd poll",
			     (int)c->pid);
	/* a pidfd we cannot waitid on is left to the SIGCHLD sweep */
	return 0;
}

static int fd_event(struct rv_loop *loop, uint64_t tag, int res)
{
	struct rv_fdwatch *w = rv_fdwatch_get(loop, tag);

	if (!w) {
		loop->stats.stale++;
		return 0;
	}
	/* a live tag is only ever cancelled by resync, which re-armed it */
	if (res == -ECANCELED)
		return 0;
	rv_fdwatch_fire(loop, w, poll_res_to_revents(res));
	return 0;
}

static int dispatch(struct rv_loop *loop, uint64_t tag, int res,
		    unsigned int flags)
{
	struct rv_uring_state *u = &loop->u;

	switch (rv_tag_op(tag)) {
	case RV_OP_SIGNAL:
		if (rv_tag_gen(tag) != u->sig_gen)
			break;
		if (!source_event(loop, &u->sig_armed, res, flags))
			return res == -EBADF ? res : 0;
		/* quiesced: signals stay queued (across exec too) */
		return loop->quiesced ? 0 : rv_signals_drain(loop);
	case RV_OP_WAKE:
		if (rv_tag_gen(tag) != u->wake_gen)
			break;
		if (!source_event(loop, &u->wake_armed, res, flags))
			return res == -EBADF ? res : 0;
		return loop->quiesced ? 0 : rv_wake_drain(loop);
	case RV_OP_REAPER:
		return reaper_event(loop, tag, res);
	case RV_OP_CHILD:
		return child_event(loop, tag, res);
	case RV_OP_FD:
		return fd_event(loop, tag, res);
	case RV_OP_IO:
		rv_io_complete(loop, tag, res);
		return 0;
	default:
		/* NOP, CANCEL (res may be 1: a count), or unknown */
		return 0;
	}
	loop->stats.stale++;
	return 0;
}

/*
 * CQEs were dropped (-EBADR: overflow without NODROP, or the kernel could
 * not allocate an overflow entry).  Any in-flight request may have
 * completed unseen, so re-issue all of them, then look at every source
 * directly.  Polls with a slot tag are re-issued under the same tag: if
 * both the old and the new one complete, the second finds the slot
 * released and is dropped.
 */
static int uring_resync(struct rv_loop *loop)
{
	struct rv_uring_state *u = &loop->u;
	uint32_t i;
	int ret, ret2;

	loop->stats.resyncs++;
	uring_cancel(loop, rv_tag(RV_OP_SIGNAL, u->sig_gen, 0));
	u->sig_gen = (u->sig_gen + 1) & RV_GEN_MASK;
	u->sig_armed = false;
	uring_cancel(loop, rv_tag(RV_OP_WAKE, u->wake_gen, 0));
	u->wake_gen = (u->wake_gen + 1) & RV_GEN_MASK;
	u->wake_armed = false;
	arm_sources(loop);
	if (u->reaper == RV_REAPER_ARMED) {
		uring_cancel(loop, rv_tag(RV_OP_REAPER, u->reaper_gen, 0));
		u->reaper = RV_REAPER_IDLE;
	}
	reaper_arm(loop);
	for (i = 0; loop->child_mode == RV_CHILD_URING_POLL &&
		    i < loop->children.used; i++) {
		struct rv_child *c = loop->children.obj[i];

		if (!c)
			continue;
		uring_cancel(loop, rv_tag(RV_OP_CHILD, c->gen, c->slot));
		child_poll(loop, c);
	}
	for (i = 0; i < loop->fds.used; i++) {
		struct rv_fdwatch *w = loop->fds.obj[i];
		uint64_t tag;

		if (!w)
			continue;
		tag = rv_tag(RV_OP_FD, w->gen, w->slot);
		uring_cancel(loop, tag);
		uring_poll(loop, w->fd, w->events, false, tag);
	}
	/*
	 * Lost completions lose no state: queued signals, the eventfd
	 * counter and zombies all wait until we consume them.
	 */
	ret = rv_signals_drain(loop);
	ret2 = rv_wake_drain(loop);
	if (!ret)
		ret = ret2;
	ret2 = rv_children_sweep(loop);
	if (!ret)
		ret = ret2;
	return ret;
}

/*
 * Dispatches what the CQ holds.  Bounded, so that callbacks re-arming
 * always-ready fds (whose polls may complete inline when a full SQ forces
 * a submit) cannot keep us from the timers; the rest waits a turn.
 */
#define RV_URING_DRAIN_MAX 16384

static int uring_drain(struct rv_loop *loop)
{
	struct io_uring_cqe *cqe;
	int ret = 0, err, n;

	/* peek_batch also flushes a kernel-side overflow list when flagged */
	for (n = 0; n < RV_URING_DRAIN_MAX &&
		    io_uring_peek_batch_cqe(&loop->u.ring, &cqe, 1) == 1; n++) {
		uint64_t tag = cqe->user_data;
		unsigned int flags = cqe->flags;
		int res = cqe->res;

		/* consume first: callbacks may submit, and must not see it */
		io_uring_cqe_seen(&loop->u.ring, cqe);
		if (tag == LIBURING_UDATA_TIMEOUT)
			continue;	/* liburing's own, pre-5.11 kernels */
		if (!(flags & IORING_CQE_F_MORE) && loop->u.inflight)
			loop->u.inflight--;
		loop->stats.completions++;
		err = dispatch(loop, tag, res, flags);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

/*
 * The wait of a turn that has a deadline, absolute (IORING_ENTER_ABS_TIMER,
 * compat.h): what is queued is submitted first (no system call when the
 * SQ is empty), then one io_uring_enter() sleeps until a completion or
 * until the deadline itself.  -EINVAL: the kernel predates the flag.
 */
static int wait_until_abs(struct rv_loop *loop, int64_t until)
{
	struct __kernel_timespec ts = {
		.tv_sec = until / RV_NSEC_PER_SEC,
		.tv_nsec = until % RV_NSEC_PER_SEC,
	};
	int ret = io_uring_submit(&loop->u.ring);

	if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR)
		return ret;
	return rv_uring_wait_abs(&loop->u.ring, &ts);
}

static int uring_wait(struct rv_loop *loop, int64_t deadline,
		      int64_t max_wait_ns)
{
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	int64_t wait = -1;
	int ret;

	arm_sources(loop);
	if (loop->u.reaper_retry)
		reaper_arm(loop);
	if (deadline != RV_NO_DEADLINE && loop->u.abs_timer) {
		int64_t until = deadline;

		if (max_wait_ns >= 0) {
			int64_t cap = rv_clock_now() + max_wait_ns;

			if (cap < until)
				until = cap;
		}
		loop->stats.waits++;
		ret = wait_until_abs(loop, until);
		if (ret != -EINVAL)
			goto woken;
		loop->u.abs_timer = false;	/* kernel < 6.12: relative */
	}
	if (deadline != RV_NO_DEADLINE) {
		wait = deadline - rv_clock_now();
		if (wait < 0)
			wait = 0;
	}
	if (max_wait_ns >= 0 && (wait < 0 || max_wait_ns < wait))
		wait = max_wait_ns;
	if (wait >= 0) {
		ts.tv_sec = wait / RV_NSEC_PER_SEC;
		ts.tv_nsec = wait % RV_NSEC_PER_SEC;
		tsp = &ts;
	}
	loop->stats.waits++;
	ret = io_uring_submit_and_wait_timeout(&loop->u.ring, &cqe, 1, tsp,
					       NULL);
woken:
	loop->now = rv_clock_now();
	switch (ret) {
	case -ETIME:	/* the deadline came first */
	case -EINTR:	/* a signal handler ran (e.g. one calling wake) */
	case -EAGAIN:
	case -EBUSY:	/* old kernels: CQ overflow, reap and retry */
		break;
	case -EBADR:
		ret = uring_drain(loop);
		return ret ? ret : uring_resync(loop);
	default:
		if (ret < 0)
			return ret;
	}
	return uring_drain(loop);
}

/* ---- children, fds ---- */

static int uring_child_add(struct rv_loop *loop, struct rv_child *c)
{
	if (loop->child_mode == RV_CHILD_URING_POLL)
		return child_poll(loop, c);
	reaper_arm(loop);
	return 0;
}

static void uring_child_del(struct rv_loop *loop, struct rv_child *c,
			    bool exited)
{
	/* an exited child's poll completes by itself (and is then stale) */
	if (loop->child_mode == RV_CHILD_URING_POLL && !exited)
		uring_cancel(loop, rv_tag(RV_OP_CHILD, c->gen, c->slot));
}

static void uring_sigchld(struct rv_loop *loop)
{
	/* after -ECHILD or an error, the reaper waits for this kick */
	reaper_arm(loop);
}

static int uring_fd_add(struct rv_loop *loop, struct rv_fdwatch *w)
{
	return uring_poll(loop, w->fd, w->events, false,
			  rv_tag(RV_OP_FD, w->gen, w->slot));
}

/*
 * An operation still in the SQ (queued this turn, submitted at its end)
 * looks its descriptor up only when submitted: cancelled and then closed
 * by its owner, it would act on whatever the number names by then (a
 * follower's events sent to the client accepted under its number).  So
 * a cancel looks there first, and an operation that has not reached the
 * kernel never does: its SQE becomes a NOP whose completion is ignored.
 * True if it was there (nothing of it will complete).  The SQ holds what
 * one turn queued: a few entries.
 */
static bool unqueue(struct rv_loop *loop, uint64_t tag)
{
	struct io_uring_sq *sq = &loop->u.ring.sq;

	for (unsigned int i = sq->sqe_head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];

		if (sqe->user_data != tag)
			continue;
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, rv_tag(RV_OP_CANCEL, 0, 0));
		return true;
	}
	return false;
}

static void uring_fd_del(struct rv_loop *loop, struct rv_fdwatch *w)
{
	uint64_t tag = rv_tag(RV_OP_FD, w->gen, w->slot);

	if (!unqueue(loop, tag))
		uring_cancel(loop, tag);
}

static int uring_io_add(struct rv_loop *loop, struct rv_io *io)
{
	struct io_uring_sqe *sqe = uring_sqe(loop);

	if (!sqe)
		return -EBUSY;
	switch (io->op) {
	case RV_IO_ACCEPT:
		io_uring_prep_accept(sqe, io->fd, NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case RV_IO_RECV:
		io_uring_prep_recv(sqe, io->fd, io->buf, io->len, 0);
		break;
	case RV_IO_SEND:
		/* a client that went away is an error, not our SIGPIPE */
		io_uring_prep_send(sqe, io->fd, io->buf, io->len,
				   MSG_NOSIGNAL);
		break;
	default:
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, rv_tag(RV_OP_IO, io->gen, io->slot));
	return 0;
}

static bool uring_io_cancel(struct rv_loop *loop, struct rv_io *io)
{
	uint64_t tag = rv_tag(RV_OP_IO, io->gen, io->slot);

	if (unqueue(loop, tag))
		return true;
	uring_cancel(loop, tag);
	return false;
}

/* ---- quiesce (rv_loop_quiesce(), quiesce.c) ---- */

/* Cancels every request we have in the kernel; their CQEs follow. */
static void cancel_all(struct rv_loop *loop)
{
	struct rv_uring_state *u = &loop->u;
	struct rv_fdwatch *w;
	struct rv_child *c;
	struct rv_io *io;
	uint32_t i;

	if (u->sig_armed)
		uring_cancel(loop, rv_tag(RV_OP_SIGNAL, u->sig_gen, 0));
	if (u->wake_armed)
		uring_cancel(loop, rv_tag(RV_OP_WAKE, u->wake_gen, 0));
	if (u->reaper == RV_REAPER_ARMED)
		uring_cancel(loop, rv_tag(RV_OP_REAPER, u->reaper_gen, 0));
	if (loop->child_mode == RV_CHILD_URING_POLL)
		rv_slots_each(&loop->children, i, struct rv_child, c)
			uring_cancel(loop, rv_tag(RV_OP_CHILD, c->gen, c->slot));
	rv_slots_each(&loop->fds, i, struct rv_fdwatch, w)
		uring_cancel(loop, rv_tag(RV_OP_FD, w->gen, w->slot));
	rv_slots_each(&loop->ios, i, struct rv_io, io)
		if (!io->cancelling)	/* else its cancel is on its way */
			uring_cancel(loop, rv_tag(RV_OP_IO, io->gen, io->slot));
}

/*
 * Waits for the CQE of every request, dispatching each: what completed
 * before its cancel (a child exit, an accept, a request) is handled as in
 * a turn.  A poll that was cancelled keeps its registration (fd_event and
 * child_event ignore -ECANCELED, rv_io_complete() keeps a quiesced io).
 */
static int uring_quiesce(struct rv_loop *loop, int64_t deadline)
{
	struct rv_uring_state *u = &loop->u;
	struct io_uring_cqe *cqe;
	int ret;

	cancel_all(loop);
	while (u->inflight) {
		int64_t left = deadline - rv_clock_now();
		struct __kernel_timespec ts;

		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec = left / RV_NSEC_PER_SEC;
		ts.tv_nsec = left % RV_NSEC_PER_SEC;
		ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts,
						       NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR &&
		    ret != -EAGAIN && ret != -EBUSY)
			return ret;	/* -EBADR: the count is lost too */
		loop->now = rv_clock_now();
		uring_drain(loop);
	}
	return 0;
}

/* Everything registered goes back into the kernel (cf. uring_resync). */
static void uring_unquiesce(struct rv_loop *loop)
{
	struct rv_fdwatch *w;
	struct rv_child *c;
	struct rv_io *io;
	uint32_t i;

	arm_sources(loop);
	reaper_arm(loop);
	if (loop->child_mode == RV_CHILD_URING_POLL)
		rv_slots_each(&loop->children, i, struct rv_child, c)
			if (child_poll(loop, c))
				rv_loop_warn("pid %d: no SQE for its pidfd poll",
					     (int)c->pid);
	rv_slots_each(&loop->fds, i, struct rv_fdwatch, w)
		if (uring_fd_add(loop, w))
			rv_loop_warn("fd %d: no SQE for its poll", w->fd);
	rv_slots_each(&loop->ios, i, struct rv_io, io)
		if (uring_io_add(loop, io))
			rv_loop_warn("fd %d: no SQE for its socket op", io->fd);
}

static void uring_destroy(struct rv_loop *loop)
{
	/*
	 * Cancels whatever is in flight.  The kernel copies WAITID's siginfo
	 * only from our own task_work, so nothing writes into the loop after
	 * this returns.
	 */
	if (loop->u.ring_ok)
		io_uring_queue_exit(&loop->u.ring);
	loop->u.ring_ok = false;
}

int rv_uring_init(struct rv_loop *loop, const struct rv_uring_caps *caps,
		  bool no_waitid)
{
	struct rv_uring_state *u = &loop->u;

	u->ring_ok = true;
	u->setup_flags = caps->setup_flags;
	u->poll_multishot = true;
	if (caps->waitid && !no_waitid) {
		loop->child_mode = RV_CHILD_WAITID;
		u->reaper = RV_REAPER_IDLE;
	} else {
		loop->child_mode = RV_CHILD_URING_POLL;
		u->reaper = RV_REAPER_OFF;
	}
	return 0;
}

const struct rv_backend_ops rv_uring_ops = {
	.name = "io_uring",
	.wait = uring_wait,
	.child_add = uring_child_add,
	.child_del = uring_child_del,
	.fd_add = uring_fd_add,
	.fd_del = uring_fd_del,
	.io_add = uring_io_add,
	.io_cancel = uring_io_cancel,
	.sigchld = uring_sigchld,
	.quiesce = uring_quiesce,
	.unquiesce = uring_unquiesce,
	.destroy = uring_destroy,
};
