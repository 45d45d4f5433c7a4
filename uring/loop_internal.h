/* SPDX-License-Identifier: MIT */
/*
 * The loop's private state, shared by the common code (loop.c, timers.c,
 * children.c, fdwatch.c, signals.c, wake.c) and the two backends
 * (loop_uring.c, loop_epoll.c).  Nothing outside uring/ includes this.
 */
#ifndef RV_URING_LOOP_INTERNAL_H
#define RV_URING_LOOP_INTERNAL_H

#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "spin_auto.h"
#include "loop_stats.h"
#include "pidmap.h"
#include "slots.h"
#include "timer_heap.h"

#define RV_NSEC_PER_SEC		1000000000LL
#define RV_NO_DEADLINE		INT64_MAX

/*
 * Every CQE user_data and epoll_data is a tag {op:8, gen:24, slot:32}.  op
 * is never 0 and never 0xff, so a tag is never 0 and never UINT64_MAX
 * (liburing 2.3 reserves that for its own pre-5.11 wait timeouts).
 */
enum rv_op {
	RV_OP_NONE = 0,
	RV_OP_NOP,		/* setup probe round trip */
	RV_OP_CANCEL,		/* ASYNC_CANCEL completions, ignored */
	RV_OP_SIGNAL,		/* signalfd readable */
	RV_OP_WAKE,		/* eventfd readable */
	RV_OP_REAPER,		/* the one IORING_OP_WAITID(P_ALL) */
	RV_OP_CHILD,		/* pidfd readable (slot = child slot) */
	RV_OP_FD,		/* fd watch (slot = fd slot) */
	RV_OP_TIMER,		/* epoll: the timerfd */
	RV_OP_IO,		/* io_uring accept/recv/send (slot = io slot) */
};

static inline uint64_t rv_tag(enum rv_op op, uint32_t gen, uint32_t slot)
{
	return (uint64_t)op << 56 | (uint64_t)(gen & RV_GEN_MASK) << 32 | slot;
}

static inline enum rv_op rv_tag_op(uint64_t tag)
{
	return (enum rv_op)(tag >> 56);
}

static inline uint32_t rv_tag_gen(uint64_t tag)
{
	return (uint32_t)(tag >> 32) & RV_GEN_MASK;
}

static inline uint32_t rv_tag_slot(uint64_t tag)
{
	return (uint32_t)tag;
}

enum {
	RV_WARNED_TIMERS = 1,
	RV_WARNED_CHILDREN = 2,
	RV_WARNED_FDS = 4,
};

enum rv_child_mode {
	RV_CHILD_WAITID,	/* io_uring: one WAITID(P_ALL, WNOWAIT) armed */
	RV_CHILD_URING_POLL,	/* io_uring: POLL_ADD per pidfd */
	RV_CHILD_EPOLL,		/* epoll: each pidfd EPOLLIN */
};

enum rv_reaper_state {
	RV_REAPER_OFF,		/* not in WAITID mode */
	RV_REAPER_IDLE,		/* parked: no children, or an error */
	RV_REAPER_ARMED,
};

struct rv_backend_ops {
	const char *name;
	/*
	 * Blocks until something is ready, deadline (absolute, or
	 * RV_NO_DEADLINE) passes or max_wait_ns (relative, < 0 = none)
	 * elapses; then sets loop->now and dispatches what is ready.
	 * 0 or -errno for failures the loop cannot recover from.
	 */
	int (*wait)(struct rv_loop *loop, int64_t deadline,
		    int64_t max_wait_ns);
	/* c already has its slot and pid registered. */
	int (*child_add)(struct rv_loop *loop, struct rv_child *c);
	/* Before c's slot is released; exited: c's pidfd already fired. */
	void (*child_del)(struct rv_loop *loop, struct rv_child *c,
			  bool exited);
	int (*fd_add)(struct rv_loop *loop, struct rv_fdwatch *w);
	void (*fd_del)(struct rv_loop *loop, struct rv_fdwatch *w);
	/* Native socket ops (io_uring); NULL: io.c emulates with fd watches */
	int (*io_add)(struct rv_loop *loop, struct rv_io *io);
	/* true: it never reached the kernel, nothing of it will complete */
	bool (*io_cancel)(struct rv_loop *loop, struct rv_io *io);
	/* After a SIGCHLD sweep: re-arm whatever waits for children. */
	void (*sigchld)(struct rv_loop *loop);
	/*
	 * quiesce.c: take every request out of the kernel (dispatching what
	 * completes meanwhile) by deadline, or -errno; and put every
	 * registration back.  loop->quiesced is set around them.
	 */
	int (*quiesce)(struct rv_loop *loop, int64_t deadline);
	void (*unquiesce)(struct rv_loop *loop);
	void (*destroy)(struct rv_loop *loop);
};

struct rv_uring_state {
	struct io_uring ring;
	bool ring_ok;
	unsigned int setup_flags;
	bool poll_multishot;	/* cleared if the kernel says -EINVAL */
	bool abs_timer;		/* IORING_ENTER_ABS_TIMER (6.12); likewise */
	bool sig_armed;
	bool wake_armed;
	uint32_t sig_gen;
	uint32_t wake_gen;
	enum rv_reaper_state reaper;
	bool reaper_retry;	/* arming failed for want of an SQE */
	uint32_t reaper_gen;
	/* Written by the kernel until the WAITID CQE: must not move. */
	siginfo_t reaper_info;
	/* SQEs taken whose last CQE has not been seen: what quiesce waits
	 * for (a multishot poll counts once, until its CQE without F_MORE) */
	uint32_t inflight;
};

struct rv_epoll_state {
	int epfd;
	int tfd;
	int64_t tfd_deadline;	/* what the timerfd is set to */
	bool tfd_fired;		/* expired, not yet re-armed (loop_epoll.c) */
};

struct rv_timers {
	struct rv_heap heap;
	/*
	 * Timers that were due when this turn's pass began, in deadline
	 * order.  They count as armed (heap_index = DUE_BIT | index) so a
	 * callback can still cancel or re-arm them; anything armed during
	 * the pass goes to the heap and fires next turn at the earliest,
	 * so a timer re-arming itself in the past cannot starve the loop.
	 */
	struct rv_timer **due;
	uint32_t ndue;
	uint32_t due_cap;
	size_t reserved;
	int64_t spin_ns;	/* precision mode window; 0 = normal */
	bool spin_auto;		/* spin_ns follows est (spin:auto) */
	bool wait_learns;	/* this turn's wait can teach est */
	int64_t wait_asked;	/* when this turn's wait was asked to end */
	struct rv_spin_est est;
	struct rv_timer_lateness lateness;
};

struct rv_loop {
	const struct rv_backend_ops *ops;
	enum rv_backend backend;
	bool fell_back;		/* auto wanted io_uring and got epoll */
	enum rv_child_mode child_mode;
	int64_t now;
	bool stop;
	bool in_turn;		/* no nested run_once from callbacks */
	/*
	 * rv_loop_quiesce(): nothing is in the kernel; registrations (child
	 * and fd watches, socket ops) are only recorded in their slots, and
	 * rv_loop_unquiesce() hands them all to the backend again.
	 */
	bool quiesced;
	unsigned int warned;	/* RV_WARNED_*: say it once per loop */

	int sfd;		/* signalfd: cfg->signals + SIGCHLD */
	int efd;		/* eventfd doorbell for rv_loop_wake() */
	sigset_t sigmask;
	rv_signal_cb *signal_cb;
	rv_wake_cb *wake_cb;
	rv_orphan_cb *orphan_cb;
	void *ctx;

	struct rv_timers timers;
	struct rv_slots children;
	struct rv_pidmap pids;
	struct rv_slots fds;
	struct rv_slots ios;
	struct rv_loop_stats stats;

	struct rv_uring_state u;
	struct rv_epoll_state e;
};

/* backends */
extern const struct rv_backend_ops rv_uring_ops;
extern const struct rv_backend_ops rv_epoll_ops;

struct rv_uring_caps {
	unsigned int setup_flags;
	const char *setup_name;	/* "SINGLE_ISSUER|DEFER_TASKRUN", ... */
	bool waitid;		/* IORING_OP_WAITID in the probe */
	bool nodrop;		/* IORING_FEAT_NODROP */
};
/*
 * probe.c: ring setup ladder, opcode probe, NOP round trip.  On failure
 * returns -errno, leaves no ring behind and writes "step: error" into err.
 */
int rv_uring_setup(struct io_uring *ring, struct rv_uring_caps *caps,
		   uint32_t completions, char *err, size_t errlen);
/* "kernel.io_uring_disabled=N" or why it could not be read. */
void rv_uring_disabled_str(char *buf, size_t len);

int rv_uring_init(struct rv_loop *loop, const struct rv_uring_caps *caps,
		  bool no_waitid);
int rv_epoll_init(struct rv_loop *loop);

/* timers.c */
int64_t rv_timers_next(const struct rv_loop *loop);
void rv_timers_run(struct rv_loop *loop);
void rv_timers_free(struct rv_loop *loop);

/* precision.c: spin until the earliest deadline if it is within spin_ns. */
void rv_precision_spin(struct rv_loop *loop);
/* spin:auto: the turn's kernel wait is about to start, to end at next. */
void rv_precision_wait_begins(struct rv_loop *loop, int64_t next);
void rv_lateness_add(struct rv_timer_lateness *h, int64_t ns);

static inline void rv_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* quiesce.c: every registered object, for the backends to re-arm */
#define rv_slots_each(s, i, type, var)					\
	for ((i) = 0; (i) < (s)->used; (i)++)				\
		if (((var) = (type *)(s)->obj[i]) != NULL)

/* children.c */
int rv_children_reap_pid(struct rv_loop *loop, const siginfo_t *known);
int rv_children_reap(struct rv_loop *loop, struct rv_child *c);
int rv_children_sweep(struct rv_loop *loop);
struct rv_child *rv_children_get(const struct rv_loop *loop, uint64_t tag);
void rv_children_free(struct rv_loop *loop);

/* io.c: an io_uring socket op completed */
void rv_io_complete(struct rv_loop *loop, uint64_t tag, int res);

/* fdwatch.c */
struct rv_fdwatch *rv_fdwatch_get(const struct rv_loop *loop, uint64_t tag);
void rv_fdwatch_fire(struct rv_loop *loop, struct rv_fdwatch *w,
		     uint32_t revents);

/* signals.c: reads the signalfd until EAGAIN, dispatches, sweeps. */
int rv_signals_open(struct rv_loop *loop, const int *signals);
int rv_signals_drain(struct rv_loop *loop);
int rv_signals_sigchld(struct rv_loop *loop, bool on);

/* wake.c */
int rv_wake_open(struct rv_loop *loop);
int rv_wake_drain(struct rv_loop *loop);

/* loop.c: one-line warnings for programming errors we survive. */
void rv_loop_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, but only the first time for this loop and kind. */
#define rv_loop_warn_once(loop, kind, ...)				\
	do {								\
		if (!((loop)->warned & (kind))) {			\
			(loop)->warned |= (kind);			\
			rv_loop_warn(__VA_ARGS__);			\
		}							\
	} while (0)

#endif
