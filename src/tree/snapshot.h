/* SPDX-License-Identifier: MIT */
/*
 * The tree's state as plain data, for a hand-over to a new binary
 * (`ringvisor reexec`, docs/reexec.md).  rv_snapshot_take() copies what
 * the running tree must not lose; rv_snapshot_apply() writes it into a
 * tree freshly built from the same config, matching members by name.
 *
 * The tree knows no wire format: the JSON mapping, its format version and
 * the checks on untrusted input are daemon/handover_json.c.  What this
 * file checks is that a state makes sense for this tree (every member
 * known, states and jobs in range, a process exactly where the state says
 * there is one), so a snapshot that passed apply cannot wedge the tables
 * of service.c and node.c.
 *
 * Deadlines are absolute CLOCK_MONOTONIC ns: the clock does not move
 * across execve, so a timer keeps its original deadline.
 */
#ifndef RV_SNAPSHOT_H
#define RV_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "child/output.h"
#include "config/spec.h"
#include "tree/tree.h"
#include "util/histogram.h"

struct rv_supervisor;

/* A deadline that is not armed. */
#define RV_SNAP_NO_DEADLINE INT64_MIN

/* Restart times, oldest first (rv_window_stamps()). */
struct rv_snap_window {
	int64_t *stamps;
	uint32_t n;
};

/* What struct rv_member holds beyond the config. */
struct rv_snap_member {
	char *name;
	uint8_t job;			/* enum rv_job_type */
	bool queued, in_op, held, was_up;
	uint64_t start_seq;
};

/*
 * Readiness and liveness in progress (readiness.c).  A check probe in
 * flight does not cross: the hand-over cancels it first and the next
 * check is due at once (check_ns), so ready_check and health_check
 * simply run again in the new image.
 */
struct rv_snap_ready {
	bool ready;			/* READY=1 (or ready_fd) seen */
	char *status;			/* STATUS=, NULL: none */
	pid_t mainpid;			/* MAINPID=, 0: none */
	uint32_t health_failures;
	int64_t timer_ns;		/* ready_timeout, then the watchdog */
	int64_t check_ns;		/* next ready_check / health_check */
	int ready_fd;			/* ready_fd pipe's read end, or -1 */
};

/* One line of `ringvisor logs` history: its text is the next len bytes
 * of rv_snap_logs.text. */
struct rv_snap_logline {
	int64_t realtime_ns;
	uint8_t stream;			/* enum rv_log_stream */
	uint32_t len;
};

/* A service's log ring (logring.c): every line, oldest first, and each
 * stream's unfinished line. */
struct rv_snap_logs {
	struct rv_snap_logline *lines;
	size_t n;
	char *text;			/* the lines' texts, end to end */
	size_t text_len;
	char *piece[2];			/* [enum rv_log_stream] */
	size_t piece_len[2];
};

/* One fd of a service's fd store (FDSTORE=1), in store order. */
struct rv_snap_stored {
	int fd;
	char *name;			/* FDNAME=, "stored" by default */
};

struct rv_snap_service {
	struct rv_snap_member m;
	struct rv_snap_ready *ready;	/* NULL: no readiness in its spec */
	uint8_t state;			/* enum rv_svc_state */
	uint8_t abort;			/* enum rv_abort */
	bool kill_sent;
	bool manual_start;
	pid_t pid;			/* 0: no process */
	int pidfd;			/* its fd number across exec, or -1 */
	int64_t timer_ns;		/* backoff / stop_timeout deadline */
	int64_t started_ns;
	int64_t next_start_ns;
	int64_t due_ns;
	uint32_t backoff_n;
	uint32_t restarts;
	char *fail_reason;		/* NULL: none */
	struct rv_exit_info last_exit;
	struct rv_snap_window window;
	uint64_t ends[RV_END_NREASONS];
	/* output pipes (output.c), stdout and stderr: NULL when that stream
	 * is not a pipe of ours (inherit, null, journal: the process holds
	 * its own copy of what it was given) */
	struct rv_out_state *out, *err;
	struct rv_snap_logs *logs;	/* NULL: no log_buffer kept */
	struct rv_snap_stored *stored;	/* the fd store */
	uint32_t n_stored;
};

struct rv_snap_node {
	struct rv_snap_member m;
	uint8_t state;			/* enum rv_node_state */
	uint8_t op;			/* enum rv_node_op */
	bool any_failed;
	int64_t op_deadline_ns;
	int64_t timer_ns;
	uint32_t restarts;
	uint32_t n_terminal;
	char *fail_reason;
	struct rv_snap_window window;
};

struct rv_snap_supervisor {
	uint8_t state;			/* enum rv_sup_state */
	bool failing;
	bool initial_start_done;
	int exit_code;
	uint64_t seq;
	uint64_t rng;
	int64_t started_ns;
	int64_t shutdown_ns;		/* shutdown_timeout deadline */
	char *fail_reason;
	struct rv_histogram restart_latency;
	bool reload_queued;		/* a reload asked: runs after */
	/* exec (tini mode): the caller's mask and ignored signals are no
	 * longer the process's own once it has blocked its signals */
	bool exec_mode;
	bool exec_escalate;
	int exec_stop_signal;
	sigset_t exec_child_mask;
	sigset_t exec_child_ignored;
	/* what the shared stdout ([1]) and stderr ([2]) sinks hold, not
	 * written yet (NULL: nothing) */
	char *std_pending[3];
	size_t std_pending_len[3];
};

/* A held [socket:NAME] (sockets.c), named by its section and address. */
struct rv_snap_socket {
	char *name;
	char *listen;			/* as written in the config */
	int fd;
	uint64_t dev, ino;		/* a unix socket's file, or 0 */
};

/*
 * What the daemon and control layers own, for the orchestrator
 * (daemon/handover.c) to fill before writing and to read back after:
 * the tree neither fills nor reads it.  Counters by name
 * (rv_snap_counter_name()).
 */
enum rv_snap_counter {
	RV_SNAP_LOOP_TURNS,
	RV_SNAP_LOOP_COMPLETIONS,
	RV_SNAP_CHILDREN_REAPED,
	RV_SNAP_ORPHANS_REAPED,
	RV_SNAP_NOTIFY_RECEIVED,
	RV_SNAP_NOTIFY_DELIVERED,
	RV_SNAP_NOTIFY_OVERSIZE,
	RV_SNAP_NOTIFY_NO_CREDS,
	RV_SNAP_NOTIFY_CTRUNC,
	RV_SNAP_NOTIFY_INVALID,
	RV_SNAP_NOTIFY_UNKNOWN_SENDER,
	RV_SNAP_NOTIFY_FDS_CLOSED,
	RV_SNAP_NCOUNTERS
};
const char *rv_snap_counter_name(enum rv_snap_counter c);

struct rv_snap_daemon {
	char *notify_socket;		/* our own NOTIFY_SOCKET, or NULL */
	uint64_t watchdog_usec;		/* our WatchdogSec=, 0: none */
	uint64_t counters[RV_SNAP_NCOUNTERS];
};

struct rv_snapshot {
	struct rv_snap_supervisor sup;
	struct rv_snap_service *svcs;
	size_t n_svcs;
	struct rv_snap_node *nodes;
	size_t n_nodes;
	struct rv_snap_socket *sockets;	/* held, config order */
	size_t n_sockets;
	/* the config the tree was built from, byte for byte: the main file
	 * first, then each [include] in the order it was read */
	struct rv_config_source *config;
	size_t n_config;
	struct rv_snap_daemon daemon;
};

/*
 * Copies sv's tree into *out (zeroed first).  0, -ENOMEM, or a state no
 * snapshot can hold yet, each with its rv_snapshot_strerror() line:
 *   -EBUSY        a spawn or a check probe is in progress (the hand-over
 *                 quiesces first: rv_ready_quiesce(), a loop turn for
 *                 the exec report);
 *   -EINPROGRESS  "a rolling restart is in progress" (its position is
 *                 not part of format 1: the caller retries later);
 *   -EALREADY     "a reload is being applied" (its jobs still run: the
 *                 tree holds members of two configs).
 * On error *out holds nothing.  sv->daemon is left zero: the
 * orchestrator fills it.
 */
int rv_snapshot_take(const struct rv_supervisor *sv, struct rv_snapshot *out);
/* The line for an error of rv_snapshot_take(). */
const char *rv_snapshot_strerror(int ret);

/*
 * Flush before take, from quiesce: every output stream moves its whole
 * lines to its sink and every sink writes, waiting for its fd by poll(2)
 * (never through the loop, which is quiesced) until it is empty or
 * deadline_ns (CLOCK_MONOTONIC; the hand-over gives ~100 ms) passes.
 * What is left (partial lines, what a slow reader did not take) crosses
 * in the state.  Returns the bytes left.
 */
size_t rv_snapshot_flush_outputs(struct rv_supervisor *sv,
				 int64_t deadline_ns);
/* Room for n services and n nodes, zeroed, for a reader to fill.
 * 0 or -ENOMEM. */
int rv_snapshot_alloc(struct rv_snapshot *snap, size_t n_svcs,
		      size_t n_nodes);
void rv_snapshot_free(struct rv_snapshot *snap);

/*
 * Checks snap against sv's tree (built from the same config, nothing
 * started) and writes it in.  Every member must match by name, both
 * ways.  Nothing is written unless all of it checks: on error returns
 * -EINVAL with one line in err saying which member and what was wrong
 * ("service web: state 12 unknown").  Neither timers nor child watches
 * are armed here: rv_snapshot_arm() does the timers; the children are
 * watched by the resuming code once their pidfds are known good.
 */
int rv_snapshot_apply(struct rv_supervisor *sv,
		      const struct rv_snapshot *snap, char *err,
		      size_t errlen);
/*
 * After a successful apply, in the image that resumes (never in a dry
 * run): arms every timer snap has a deadline for, at that deadline (one
 * due already fires on the loop's first turn), and a queued reload at
 * once; writes what the outputs held (partial lines, exits in progress,
 * sink bytes, the log rings' lines) and takes the crossed descriptors
 * into the tree: each output pipe replaces the one the load made (under
 * the crossed numbers) and is read again, the fd stores are filled in
 * store order.  apply touches neither descriptors nor outputs, so a dry
 * run (apply without arm) needs none of the descriptors and writes
 * nothing of the old image's output when it frees its tree.
 */
void rv_snapshot_arm(struct rv_supervisor *sv, const struct rv_snapshot *snap);

/*
 * Descriptors of the tree that cross the exec: each process's pidfd and
 * each ready_fd pipe, added to keep with their service as owner (the
 * snapshot's strings: snap must outlive keep).  0 or -errno of
 * rv_fdkeep_add().
 */
struct rv_fdkeep;
int rv_snapshot_keep_fds(const struct rv_snapshot *snap,
			 struct rv_fdkeep *keep);
/*
 * The new image's side: every descriptor snap names is open and what it
 * should be (a pidfd of the service's pid, a pipe), and close-on-exec
 * again.  0, or -EBADF/-EINVAL with one line in err naming the service.
 * Before rv_snapshot_apply(): a state whose descriptors are wrong is
 * refused before the tree is touched.
 */
int rv_snapshot_adopt_fds(const struct rv_snapshot *snap, char *err,
			  size_t errlen);

/*
 * The held sockets of snap as the `old` set for rv_sockets_open(): the
 * new image loads its specs, adopts snap's fds (rv_snapshot_adopt_fds),
 * then opens its set with this one as old, so every socket is carried
 * over by its address and nothing is bound again:
 *
 *	rv_snapshot_sockets(snap, specs, &old, err, errlen);
 *	rv_sockets_open(specs, &old, &set, &d);
 *	rv_sockets_commit(&old, &set);	(old becomes the set)
 *
 * Each socket must be a section of specs with the same name and listen
 * address, and the reverse.  0, -ENOMEM, or -EINVAL with one line in
 * err (old then holds nothing, and no fd is closed).
 */
struct rv_socket_set;
int rv_snapshot_sockets(const struct rv_snapshot *snap,
			const struct rv_specs *specs,
			struct rv_socket_set *old, char *err, size_t errlen);

/*
 * The fail reasons the tree writes are string literals it compares by
 * pointer nowhere but logs them: a restored one maps back to the
 * literal, or to "unknown" (a newer binary's reason).
 */
const char *rv_snapshot_reason(const char *text);

#endif
