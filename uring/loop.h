/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one thread, one ring (or one epoll set), and nothing in it
 * knows about services.  Everything the supervisor waits for arrives here as
 * a callback: absolute CLOCK_MONOTONIC deadlines, child exits, signals, a
 * cross-thread wake-up, and fd readiness.
 *
 * Conventions (liburing style): commands return 0 or -errno; predicates
 * return bool.  All objects passed in (struct rv_timer, struct rv_child,
 * struct rv_fdwatch) are owned by the caller and must stay valid while they
 * are armed; the loop never allocates for them after registration, so arming
 * a timer or watching a child on the hot path never calls malloc.
 */
#ifndef RV_URING_LOOP_H
#define RV_URING_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>

struct rv_loop;

enum rv_backend {
	RV_BACKEND_AUTO = 0,
	RV_BACKEND_IO_URING,
	RV_BACKEND_EPOLL,
};

/* ---- timers: intrusive 4-ary min-heap, one kernel wait for all ---- */

struct rv_timer;
typedef void rv_timer_cb(struct rv_loop *loop, struct rv_timer *t,
			 int64_t now_ns, void *ctx);

struct rv_timer {
	int64_t deadline_ns;	/* absolute CLOCK_MONOTONIC */
	uint32_t heap_index;	/* RV_TIMER_UNARMED when not in the heap */
	rv_timer_cb *cb;
	void *ctx;
};
#define RV_TIMER_UNARMED UINT32_MAX

/* ---- children: exits reported once, reaped by the loop ---- */

struct rv_child;
/*
 * Called after the loop has reaped the child (the pid is free again and the
 * watch is no longer registered).  info->si_code is CLD_EXITED, CLD_KILLED or
 * CLD_DUMPED and info->si_status the code or signal, as from waitid(2).
 * The pidfd is NOT closed by the loop; the owner closes it.
 * If something else reaped the child first (system(), a stray waitpid():
 * nobody else may reap), the status is lost: si_code is 0 and si_errno
 * ECHILD, and the watch still ends exactly once.
 */
typedef void rv_child_cb(struct rv_loop *loop, struct rv_child *c,
			 const siginfo_t *info, void *ctx);

struct rv_child {
	pid_t pid;
	int pidfd;		/* blocking pidfd (never PIDFD_NONBLOCK) */
	rv_child_cb *cb;
	void *ctx;
	/* loop-private bookkeeping, do not touch */
	uint32_t slot;		/* index in the loop's pid table */
	uint32_t gen;
	bool watched;
};

/* ---- fd readiness (exec pipes, later sockets) ---- */

struct rv_fdwatch;
typedef void rv_fd_cb(struct rv_loop *loop, struct rv_fdwatch *w,
		      uint32_t revents, void *ctx);

struct rv_fdwatch {
	int fd;
	uint32_t events;	/* POLLIN / POLLOUT */
	rv_fd_cb *cb;
	void *ctx;
	uint32_t slot;		/* loop-private */
	uint32_t gen;
	bool armed;
};

/* ---- signals and wake-ups ---- */

/* Signals delivered through the loop's signalfd (SIGCHLD is handled inside). */
typedef void rv_signal_cb(struct rv_loop *loop, int signo,
			  const struct signalfd_siginfo *si, void *ctx);
/* Runs on the loop thread after someone called rv_loop_wake(). */
typedef void rv_wake_cb(struct rv_loop *loop, void *ctx);
/* Orphans (not watched) reaped by the loop, for counting and logging. */
typedef void rv_orphan_cb(struct rv_loop *loop, const siginfo_t *info,
			  void *ctx);

struct rv_loop_config {
	enum rv_backend backend;	/* AUTO tries io_uring then epoll */
	const int *signals;		/* forwarded to signal_cb; 0-terminated */
	rv_signal_cb *signal_cb;
	rv_wake_cb *wake_cb;
	rv_orphan_cb *orphan_cb;
	void *ctx;			/* passed to the three callbacks above */
	/* io_uring only: skip IORING_OP_WAITID even when the kernel has it. */
	bool no_waitid;
	/*
	 * backend is an explicit choice (e.g. a command-line flag) that must
	 * beat $RINGVISOR_BACKEND; by default the environment wins.
	 */
	bool ignore_backend_env;
};

/*
 * Blocks the configured signals plus SIGCHLD in the calling thread (the
 * caller must do this before any other thread exists; see
 * rv_loop_block_signals()), sets up the backend and probes it.
 * On failure returns -errno and writes a one-line human explanation into
 * why (always NUL-terminated); with RV_BACKEND_AUTO, a failed io_uring
 * setup is not a failure: why then says why epoll was chosen.
 * The caller frees *out with rv_loop_free().
 * The environment variable RINGVISOR_BACKEND=io_uring|epoll|auto, when set,
 * overrides cfg->backend unless cfg->ignore_backend_env (CI runs every
 * test on both backends this way); any other value is -EINVAL.
 */
int rv_loop_new(struct rv_loop **out, const struct rv_loop_config *cfg,
		char *why, size_t whylen);
void rv_loop_free(struct rv_loop *loop);

/* Blocks SIGCHLD and the 0-terminated list in this thread; -errno. */
int rv_loop_block_signals(const int *signals);

enum rv_backend rv_loop_backend(const struct rv_loop *loop);
const char *rv_loop_backend_name(const struct rv_loop *loop);
/* e.g. "IORING_OP_WAITID(P_ALL)" or "pidfd poll + waitid(P_PIDFD)" */
const char *rv_loop_child_method(const struct rv_loop *loop);

/* Runs until rv_loop_stop() is called from a callback.  0 or -errno. */
int rv_loop_run(struct rv_loop *loop);
/* One turn: waits at most until the next timer (or max_wait_ns if >= 0,
 * relative), dispatches everything ready.  0 or -errno (-EDEADLK when
 * called from inside a callback). */
int rv_loop_run_once(struct rv_loop *loop, int64_t max_wait_ns);
void rv_loop_stop(struct rv_loop *loop);

/* CLOCK_MONOTONIC in ns, cached at the start of each loop turn. */
int64_t rv_loop_now(const struct rv_loop *loop);
int64_t rv_clock_now(void);

/*
 * Async-signal-safe and thread-safe: makes the loop run wake_cb on its own
 * thread soon.  Returns 0 or -errno (only if the eventfd write fails for a
 * reason other than a full counter, which still wakes the loop).
 */
int rv_loop_wake(struct rv_loop *loop);

/* Timers.  rv_timer_init() only fills the struct. */
void rv_timer_init(struct rv_timer *t, rv_timer_cb *cb, void *ctx);
/*
 * Reserve heap room for n more timers (may allocate; call when objects that
 * own timers are created, never on the hot path).  0 or -ENOMEM.
 */
int rv_loop_timer_reserve(struct rv_loop *loop, size_t n);
/* Arms (or re-arms) at an absolute deadline; never allocates. */
void rv_loop_timer_arm(struct rv_loop *loop, struct rv_timer *t,
		       int64_t deadline_ns);
void rv_loop_timer_cancel(struct rv_loop *loop, struct rv_timer *t);
static inline bool rv_timer_is_armed(const struct rv_timer *t)
{
	return t->heap_index != RV_TIMER_UNARMED;
}

/*
 * Children.  rv_loop_child_reserve() grows the pid table for n more children
 * (may allocate).  rv_loop_watch_child() registers c (pid, pidfd, cb, ctx
 * filled in) and never allocates if room was reserved; -ENOSPC otherwise
 * after a failed growth.  The exit is reported exactly once.
 */
int rv_loop_child_reserve(struct rv_loop *loop, size_t n);
int rv_loop_watch_child(struct rv_loop *loop, struct rv_child *c);
/*
 * Forgets c without reporting it (e.g. its owner is going away).  The
 * process is not touched; when it exits it is reaped as an orphan
 * (orphan_cb).  No-op if c is not watched.
 */
void rv_loop_unwatch_child(struct rv_loop *loop, struct rv_child *c);

/* fd readiness, one-shot: after the callback the watch is disarmed. */
int rv_loop_fd_reserve(struct rv_loop *loop, size_t n);
int rv_loop_watch_fd(struct rv_loop *loop, struct rv_fdwatch *w);
void rv_loop_unwatch_fd(struct rv_loop *loop, struct rv_fdwatch *w);

#endif
