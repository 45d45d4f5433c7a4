/* SPDX-License-Identifier: MIT */
/*
 * libringvisor: a process supervisor built on one event loop (io_uring, or
 * epoll where io_uring is blocked).  The `ringvisor` command is a thin
 * client of this header.
 *
 * Threads: a supervisor is driven by the thread that calls
 * rv_supervisor_run().  Create it (rv_supervisor_load/_new_exec) before
 * starting any other thread: it blocks the signals it handles, and a thread
 * created earlier would keep them unblocked.  rv_cancel() is the only call
 * that may come from another thread or a signal handler.
 *
 * Signals: the supervisor takes nearly every signal through its loop
 * (all but KILL, STOP, the synchronous ones, and TTIN/TTOU, which it
 * ignores), so a stray one never kills it.  Services start with every
 * signal at SIG_DFL and an empty mask (under exec: the mask and ignored
 * signals its caller had, as tini passes them on).  The
 * supervisor reads which dispositions to reset (SIG_IGN, handlers) once,
 * when it starts its first child; set yours before rv_supervisor_run(),
 * and do not ignore or catch further signals afterwards.
 *
 * Returns: commands return 0 or -errno unless stated otherwise.
 */
#ifndef RINGVISOR_H
#define RINGVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version.  CMakeLists.txt's project(VERSION) is the same
 * (a configure that finds them different stops), so a program can compare
 * what it was compiled against with what pkg-config or CMake found. */
#define RINGVISOR_VERSION_MAJOR 0
#define RINGVISOR_VERSION_MINOR 1
#define RINGVISOR_VERSION_PATCH 0
#define RINGVISOR_VERSION "0.1.0"

/* Exit statuses of `run` (and of `exec` for its own failures). */
enum rv_exit {
	RV_EXIT_COMPLETED = 0,	/* all services done, or requested shutdown */
	RV_EXIT_FAILED = 1,	/* critical failure or intensity exceeded */
	RV_EXIT_USAGE = 2,	/* bad usage, bad config, backend refused */
};

struct rv_supervisor;

struct rv_options {
	const char *backend;	/* "auto" "io_uring" "epoll"; NULL: config */
	const char *report_path; /* JSON exit report; NULL: none */
	int log_fd;		/* log lines go here; 0 means stderr */
	const char *control_socket; /* overrides the config's; under exec
				     * there is a control socket only if set */
};

/*
 * Custom backoff: called instead of the configured formula for the n-th
 * restart (n >= 1) of service; computed is what the formula gives.
 * Returns the delay in ns (negative is taken as 0).  A start that failed
 * before it had a child (clone or a pipe: the supervisor is short of
 * descriptors, processes or memory) still waits at least 100 ms.  Runs on
 * the loop thread, on the restart path: keep it fast and non-blocking.
 */
typedef int64_t rv_backoff_fn(void *ctx, const char *service, uint32_t n,
			      int64_t computed_ns);

/*
 * Loads and validates a config file and prepares (but does not start) its
 * services.  Problems are printed to errors as "FILE:LINE: error: ..."; on
 * failure returns -EINVAL (bad config), -ENOENT/-EACCES (unreadable), or
 * -errno of the backend setup (e.g. -EPERM for an explicit io_uring that is
 * refused).  The caller frees *out with rv_supervisor_free().
 */
int rv_supervisor_load(struct rv_supervisor **out, const char *config_path,
		       const struct rv_options *opts, FILE *errors);

/*
 * Same from config text in memory; name stands for the file in messages.
 */
int rv_supervisor_load_string(struct rv_supervisor **out, const char *text,
			      const char *name, const struct rv_options *opts,
			      FILE *errors);

/*
 * One command with no config file (`ringvisor exec`): argv is the command,
 * keys a NULL-terminated list of "key=value" service keys (as in a
 * [service:NAME] section, e.g. "restart=always").  Behaves like tini when
 * keys is empty: restart=never, inherited descriptors passed on, signals
 * forwarded, and rv_supervisor_run() returns the child's exit status
 * (128+N for death by signal N, 127/126 when the command cannot be run).
 */
int rv_supervisor_new_exec(struct rv_supervisor **out, char *const argv[],
			   const char *const keys[],
			   const struct rv_options *opts, FILE *errors);

/* Replaces the backoff formula for every service; NULL restores it. */
void rv_supervisor_set_backoff(struct rv_supervisor *sv, rv_backoff_fn *fn,
			       void *ctx);

/*
 * Starts the services and runs the loop until the supervisor completes or
 * fails.  Returns the exit status (enum rv_exit, or the child's status
 * under exec).  Writes the report if one was asked for.
 */
int rv_supervisor_run(struct rv_supervisor *sv);

/*
 * Asks for a graceful shutdown (as SIGTERM does under `run`).
 * Async-signal-safe and thread-safe; may be called before or during run.
 */
void rv_cancel(struct rv_supervisor *sv);

/* Name of the backend in use: "io_uring" or "epoll". */
const char *rv_supervisor_backend(const struct rv_supervisor *sv);

void rv_supervisor_free(struct rv_supervisor *sv);

/*
 * Validates a config file without starting anything (`ringvisor check`).
 * Every problem is printed to out.  Returns the number of errors (0 = valid)
 * or -errno when the file cannot be read (also printed).
 */
int rv_config_check(const char *path, FILE *out);
/*
 * The same, and *warnings (when not NULL) gets the number of warnings:
 * what this machine lacks for the config (an unknown user or group, a
 * command not found, a missing working_directory, no cgroup v2...).
 */
int rv_config_check_warnings(const char *path, FILE *out, int *warnings);

/*
 * Control protocol client (`ringvisor status` and friends): one JSON
 * request line, one JSON reply line; after {"cmd":"events"} the server
 * sends one JSON event per line.  See README "Control protocol".
 */
struct rv_client;

/* Connects to the control socket at path.  0 or -errno; the caller frees
 * *out with rv_client_close(). */
int rv_client_open(struct rv_client **out, const char *path);
/*
 * Sends request (one JSON object, no newline) and waits up to timeout_ms
 * (-1: no limit) for the reply line, returned without its newline in
 * *reply (the caller frees).  0, -ETIMEDOUT, -EPIPE (connection closed),
 * or -errno.
 */
int rv_client_request(struct rv_client *c, const char *request, char **reply,
		      int timeout_ms);
/* The next line sent by the server (events).  Same returns; timeout_ms 0
 * takes only what has arrived (a line already buffered, or one that
 * reading the socket without waiting completes). */
int rv_client_next_line(struct rv_client *c, char **line, int timeout_ms);
/* The connection's descriptor, for the caller's own poll() (readable:
 * call rv_client_next_line() with timeout 0 until -ETIMEDOUT). */
int rv_client_fd(const struct rv_client *c);
void rv_client_close(struct rv_client *c);


/*
 * Live upgrade (`ringvisor reexec`, docs/reexec.md): the running tree is
 * handed to a new binary, in the same process (execve keeps the pid, so
 * every service stays a child, with the same pid, descriptors and
 * deadlines).
 *
 * The new binary is asked first whether it can take the state over:
 * its main() must answer, before anything else,
 *   `PROG --handover-formats`: rv_handover_print_formats(stdout), exit 0;
 *   `PROG --handover-check ARGS...` (ARGS: the old image's argv[1..]):
 *     return rv_handover_check(the config ARGS name, &opts, stderr);
 * and then load the same config file with rv_supervisor_load() and call
 * rv_supervisor_run(): when its environment holds a hand-over state
 * (RINGVISOR_HANDOVER_FD, taken out again at once), the load resumes the
 * tree instead of preparing a new one, and run goes on where the old
 * image stopped (no service started again).  If the new image cannot
 * resume, it execs the previous image again with the same state, which
 * resumes it and logs event=reexec_failed with rolled_back=true.
 * Function pointers (rv_supervisor_set_backoff(), the turn hook) do not
 * cross: set them again after the load.
 */

/* Called by rv_supervisor_run() on the loop thread between two loop
 * turns (after every turn: keep it quick and non-blocking). */
typedef void rv_turn_fn(struct rv_supervisor *sv, void *ctx);
/* Sets (NULL: removes) the turn hook of a supervisor made by
 * rv_supervisor_load(). */
void rv_supervisor_set_turn_hook(struct rv_supervisor *sv, rv_turn_fn *fn,
				 void *ctx);

/*
 * Hands the running tree to path (NULL: this program's binary, as
 * resolved when it started: a file replaced since is the new one), with
 * argv and envp (NULL: the command line and the environment this process
 * has).  Call it only from the turn hook.  Returns only on failure:
 * -errno with one line in err (the probe or the dry run refused, execve
 * failed, the tree is busy...), the tree running on as before; on
 * success this process is the new image.  A program whose new image
 * fails to resume gets no return here: see rollback above.
 */
int rv_supervisor_reexec(struct rv_supervisor *sv, const char *path,
			 char *const argv[], char *const envp[], char *err,
			 size_t errlen);

/* 1 when this image took its tree over from a previous image (a
 * hand-over, or a rollback to it), 0 when it started the tree. */
int rv_supervisor_resumed(const struct rv_supervisor *sv);
/*
 * `ringvisor reexec` (docs/reexec.md).  The hand-over state formats this
 * binary reads, as "MIN MAX\n" (`ringvisor --handover-formats`, the old
 * image's probe of the new one).
 */
void rv_handover_print_formats(FILE *out);
/*
 * The dry run of a hand-over (`ringvisor --handover-check run ...`): reads
 * the state in RINGVISOR_HANDOVER_FD, loads config_path, builds the tree
 * and applies the state to it, touching nothing (no socket, no process,
 * no descriptor of the state).  0, or RV_EXIT_FAILED with one line on
 * errors saying why.
 */
int rv_handover_check(const char *config_path, const struct rv_options *opts,
		      FILE *errors);

#ifdef __cplusplus
}
#endif

#endif
