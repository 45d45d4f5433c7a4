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
 * Called once the child has exited, while it is still a zombie: the watch
 * is no longer registered, and the loop reaps the zombie right after the
 * callback returns.  Until then its pid (and process group id) cannot be
 * recycled, so kill(-pid) from the callback is safe; do not reap it here.  info->si_code is CLD_EXITED, CLD_KILLED or
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
	uint64_t turn;		/* the turn that watched it; 0: outside one */
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

/* ---- socket I/O: completions (io_uring ops, or readiness + syscall) ---- */

struct rv_io;
/*
 * res: ACCEPT the new fd (SOCK_NONBLOCK|SOCK_CLOEXEC), RECV/SEND the byte
 * count (RECV 0 = EOF; SEND may be partial), or -errno.  After a cancel it
 * is -ECANCELED (or the real result, if the operation won the race).
 */
typedef void rv_io_cb(struct rv_loop *loop, struct rv_io *io, int res,
		      void *ctx);

enum rv_io_op { RV_IO_ACCEPT = 1, RV_IO_RECV, RV_IO_SEND };

struct rv_io {
	int fd;
	void *buf;		/* RECV/SEND: must stay valid until the cb */
	size_t len;
	rv_io_cb *cb;
	void *ctx;
	/* loop-private */
	enum rv_io_op op;
	uint32_t slot;
	uint32_t gen;
	bool armed;
	bool cancelling;
	struct rv_fdwatch w;	/* epoll backend: readiness, then syscall */
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
	/* io_uring only: relative wait timeouts even where the kernel takes
	 * absolute ones (IORING_ENTER_ABS_TIMER, 6.12); for tests. */
	bool no_abs_timer;
	/*
	 * io_uring only: how many requests may complete at once -- one per
	 * watched child above all (a storm of exits) -- which sizes the
	 * completion queue; 0: a default for up to ~7,000.  More than the
	 * queue holds at once still works (the kernel keeps the overflow),
	 * only more slowly.
	 */
	uint32_t completions;
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
/* backend auto found io_uring unusable and chose epoll */
bool rv_loop_fell_back(const struct rv_loop *loop);
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

/* ---- timer precision (precision.c) ---- */

#define RV_TIMER_SPIN_MAX	1000000000LL	/* 1 s */

/*
 * Precision mode ("spin:DURATION"): the kernel wait of a turn ends spin_ns
 * before the earliest deadline, and the loop then spins on
 * clock_gettime(CLOCK_MONOTONIC) until that deadline, so timers fire
 * within about a microsecond of it instead of the ~10 us a kernel wake-up
 * costs.  The price is up to spin_ns of CPU per deadline, and anything that
 * becomes ready during the spin waits for the timers of that turn; a turn
 * may also outlast its max_wait_ns by up to spin_ns.  0 = normal (the
 * default).  0, or -EINVAL for spin_ns < 0 or > RV_TIMER_SPIN_MAX.
 */
int rv_loop_set_timer_spin(struct rv_loop *loop, int64_t spin_ns);
/* The window in force (fixed, or what spin:auto has learnt), ns. */
int64_t rv_loop_timer_spin(const struct rv_loop *loop);

#define RV_TIMER_SPIN_AUTO_MAX	200000LL	/* spin:auto's default cap */

/*
 * Adaptive precision mode ("spin:auto[:MAX]"): the window is learnt from
 * the loop's own deadlines, a running P99.5 of how late the kernel wakes
 * the loop plus a margin (spin_auto.h), never more than max_ns (0: the default
 * RV_TIMER_SPIN_AUTO_MAX), so the CPU spent per deadline is what this
 * machine needs now, not a guess made for another.  It starts at max_ns
 * and follows the machine as it changes (idle, loaded, a VM migrating).
 * 0, or -EINVAL for max_ns < 0 or > RV_TIMER_SPIN_MAX.
 */
int rv_loop_set_timer_spin_auto(struct rv_loop *loop, int64_t max_ns);

/*
 * Puts the calling thread (the loop's) in SCHED_FIFO at prio (1..99), with
 * SCHED_RESET_ON_FORK so that no child ever inherits it; 0 = back to
 * SCHED_OTHER.  0 or -errno (-EPERM without CAP_SYS_NICE or RLIMIT_RTPRIO,
 * -EINVAL for prio outside 0..99).
 */
int rv_loop_set_realtime(int prio);

/*
 * Lateness of every fired timer: the loop's clock when the pass that fired
 * it began, minus its deadline (never negative).  Fixed log2 buckets, no
 * allocation: bucket 0 counts lateness below 1024 ns, bucket i (1..30)
 * [2^(9+i), 2^(10+i)) ns, bucket 31 everything from 2^40 ns up.  spins and
 * spin_ns say what precision mode cost (turns that spun, ns spent);
 * spin_window_ns is the window in force; misses counts the wake-ups of
 * precision mode that came after the deadline (the window was too short).
 */
#define RV_LATENESS_BUCKETS 32

struct rv_timer_lateness {
	uint64_t count;
	uint64_t sum_ns;
	int64_t max_ns;
	uint64_t buckets[RV_LATENESS_BUCKETS];
	uint64_t spins;
	uint64_t spin_ns;
	int64_t spin_window_ns;
	uint64_t misses;
};

/* Copies the histogram; never fails. */
void rv_loop_get_timer_lateness(const struct rv_loop *loop,
				struct rv_timer_lateness *out);
/* Exclusive upper bound of bucket i in ns (INT64_MAX for the last one). */
int64_t rv_timer_lateness_bucket_end(unsigned int i);
/* The bucket a lateness of ns falls in. */
unsigned int rv_timer_lateness_bucket(int64_t ns);

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
/* The watched child whose pid is pid, or NULL.  O(1) (the pid table). */
struct rv_child *rv_loop_find_child(const struct rv_loop *loop, pid_t pid);

/* fd readiness, one-shot: after the callback the watch is disarmed. */
int rv_loop_fd_reserve(struct rv_loop *loop, size_t n);
int rv_loop_watch_fd(struct rv_loop *loop, struct rv_fdwatch *w);
void rv_loop_unwatch_fd(struct rv_loop *loop, struct rv_fdwatch *w);

/*
 * Socket I/O, one operation in flight per rv_io (and per fd on the epoll
 * backend).  On io_uring they are IORING_OP_ACCEPT/RECV/SEND; on epoll the
 * fd's readiness is awaited, then the non-blocking syscall is made.  The
 * callback always comes from the loop, never from inside these calls.
 * rv_loop_io_reserve() makes room for n rv_io (may allocate).  0 or -errno.
 */
int rv_loop_io_reserve(struct rv_loop *loop, size_t n);
int rv_loop_accept(struct rv_loop *loop, struct rv_io *io);
int rv_loop_recv(struct rv_loop *loop, struct rv_io *io);
int rv_loop_send(struct rv_loop *loop, struct rv_io *io);
/*
 * Returns true when io is idle now (nothing in flight, no callback will
 * come: on epoll always, on io_uring when the operation had not reached
 * the kernel yet).  False: a completion is still coming (the kernel may
 * be using io->buf until then); its callback brings -ECANCELED or the
 * result.  The owner may close io->fd once this returns: an operation
 * not yet submitted is dropped, never submitted under a reused number.
 */
bool rv_loop_io_cancel(struct rv_loop *loop, struct rv_io *io);
static inline bool rv_io_is_armed(const struct rv_io *io)
{
	return io->armed;
}

/*
 * Hand-over to a new image (docs/reexec.md).  rv_loop_quiesce() cancels
 * every request the loop has in the kernel, waits (at most timeout_ns)
 * for their completions and dispatches what completed before its cancel,
 * then reports the children that have already exited, so nothing that
 * happened is left unhandled.  Signals stay queued (unread, they cross an
 * execve).  Registrations are kept: while quiesced, watching a child or
 * an fd or starting a socket op only records it, cancelling one is
 * immediate, and rv_loop_run_once() returns -EBUSY.  rv_loop_unquiesce()
 * hands every registration to the kernel again.  Not from a callback
 * (-EDEADLK).  0 or -errno (-ETIMEDOUT), unquiesced again on failure.
 */
int rv_loop_quiesce(struct rv_loop *loop, int64_t timeout_ns);
void rv_loop_unquiesce(struct rv_loop *loop);
bool rv_loop_is_quiesced(const struct rv_loop *loop);

#endif
