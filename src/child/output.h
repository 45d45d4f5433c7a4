/* SPDX-License-Identifier: MIT */
/*
 * Child output carried by the supervisor: `stdout`/`stderr` = `prefix`
 * (lines to ringvisor's stdout as "NAME | line", foreman style),
 * `file:PATH` (bytes appended to PATH, reopened on SIGUSR1), and
 * `inherit` when `log_buffer` captures it (bytes on to ringvisor's own
 * stdout or stderr as written).  Each stream may copy its lines into the
 * instance's logring (`ringvisor logs`).
 *
 * Each such stream is a pipe created at load and kept for the service's
 * life (every run writes into the same pipe; the child gets the write end
 * through the plan's fd redirections).  The loop watches the read end
 * (rv_loop_watch_fd, one-shot, re-armed); each readiness does one bounded
 * read() into the stream's line buffer, and whole lines move into the
 * sink's buffer:
 *   - the stdout sink is shared by every prefix stream, so lines of
 *     different services never interleave mid-line;
 *   - a file sink belongs to one stream.
 * A sink writes without ever blocking the loop: ringvisor's stdout is
 * reopened through /proc/self/fd/1 with O_NONBLOCK (a new open file
 * description, so services that inherit stdout keep a blocking one),
 * written with send(MSG_DONTWAIT) when it is a socket, and written as is
 * when it is a regular file (which never blocks for long); on EAGAIN the
 * sink waits for POLLOUT through the loop.  When a sink's buffer has no
 * room for a stream's next line, that stream stops reading: its pipe
 * fills and the service blocks in write(2) -- backpressure, nothing is
 * dropped.  Streams waiting for room are served first come, first served.
 *
 * A line longer than RV_OUT_LINE_MAX bytes is split (prefix mode writes
 * each piece as a line of its own).  When the service's process exits,
 * the bytes it left in the pipe are consumed and a last partial line is
 * flushed (with a newline added in prefix mode; a file gets the bytes as
 * written).
 */
#ifndef RV_OUTPUT_H
#define RV_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "child/logring.h"

#define RV_OUT_LINE_MAX 16384		/* per stream; longer ones split */
#define RV_OUT_SINK_BUF (256 * 1024)	/* the shared stdout buffer */
#define RV_OUT_FILE_BUF (64 * 1024)	/* each file sink's buffer */

struct rv_loop;
struct rv_out_sink;
struct rv_out_stream;

/*
 * The pure part, unit-tested on its own: moves lines from line[0..*len)
 * to out (at most room bytes), each as prefix + line + '\n'.  A line
 * without its newline moves only when the buffer is full (*len ==
 * line_max: an overlong line, split) or force is set (the writer exited);
 * add_nl says whether such a piece gets a '\n' (prefix mode) or not
 * (file mode, byte-exact).  Stops before the first line that does not
 * fit, and sets *blocked.  The rest is moved to the front of line.
 * Returns the bytes written to out.
 */
size_t rv_out_format(const char *prefix, size_t prefix_len, bool add_nl,
		     char *line, size_t *len, size_t line_max, bool force,
		     char *out, size_t room, bool *blocked);

/*
 * The sink on ringvisor's stdout (fd 1) or stderr (fd 2), shared by every
 * caller with the same loop.  0 or -errno.  Reference counted: every
 * stream holds one; the caller's is dropped with rv_out_sink_put().
 */
int rv_out_sink_std(struct rv_loop *loop, int fd, struct rv_out_sink **out);
void rv_out_sink_put(struct rv_out_sink *sink);

/*
 * A stream: its pipe, and its sink (stdout_sink, a shared stdout or stderr
 * sink, when not NULL, else a file sink on path).  name is the service
 * name (the prefix "name | "); NULL with a shared sink passes the bytes on
 * as written (`inherit` when the output is captured for `logs`).  Starts watching the pipe at once (no pipe yet with pipe_later).  0 or -errno with why.
 * The caller frees with rv_out_stream_free().
 */
int rv_out_stream_new(struct rv_loop *loop, struct rv_out_sink *stdout_sink,
		      const char *name, const char *path, bool pipe_later,
		      struct rv_out_stream **out, char *why, size_t whylen);
/* The pipe of a stream made with pipe_later (a hand-over's new image:
 * the crossed pipe usually comes instead, rv_out_stream_adopt()), and
 * watched.  0, or -errno with why set. */
int rv_out_stream_pipe(struct rv_out_stream *st, char *why, size_t whylen);
/* Whether st has its pipe yet. */
bool rv_out_stream_piped(const struct rv_out_stream *st);
/* Every line read is also copied into ring (as which), until freed. */
void rv_out_stream_capture(struct rv_out_stream *st, struct rv_logring *ring,
			   enum rv_log_stream which);
/* The pipe's write end, for the child's fd 1 or 2. */
int rv_out_stream_child_fd(const struct rv_out_stream *st);
/* The service's process exited: flush its last partial line once the
 * bytes it wrote are consumed. */
void rv_out_stream_exited(struct rv_out_stream *st);
/* file:PATH: reopen PATH (after logrotate moved it).  0 or -errno. */
int rv_out_stream_reopen(struct rv_out_stream *st);
const char *rv_out_stream_path(const struct rv_out_stream *st);
/*
 * Flush and free.  loop_alive (a reload dropped the stream): unwatch, move
 * what the pipe holds to the sink while it has room, count and log the
 * rest, never wait.  Otherwise the loop is gone (the supervisor is
 * exiting): nothing of the loop is called, and the last lines are
 * written with at most a second of waiting for stdout.
 */
void rv_out_stream_free(struct rv_out_stream *st, bool loop_alive);

/* Counters, for tests and status: bytes read, and times the stream
 * stopped reading because its sink was full. */
struct rv_out_stats {
	uint64_t bytes_in, blocked;
};
void rv_out_stream_stats(const struct rv_out_stream *st,
			 struct rv_out_stats *out);

/* ---- the hand-over to a new binary (docs/reexec.md) ---- */

/*
 * One stream's state as plain data.  Both ends of the pipe cross: the
 * write end is what every run of the service gets, the read end is
 * ours.  line holds what was read but not yet written as a whole line;
 * sink what a file: sink holds but has not written (the shared stdout
 * and stderr sinks' bytes are taken with rv_out_sink_take()).  Bytes
 * still in the pipe stay in the kernel and are read by the new image.
 */
struct rv_out_state {
	int rfd, wfd;
	char *line;
	size_t line_len;
	uint64_t exit_left;	/* an exit's bytes still in the pipe */
	bool exit_pending;
	char *sink;		/* file: only; NULL when empty */
	size_t sink_len;
};

/* Copies st's state into *out (zeroed first).  0 or -ENOMEM. */
int rv_out_stream_take(const struct rv_out_stream *st,
		       struct rv_out_state *out);
void rv_out_state_free(struct rv_out_state *s);
/* Whether in fits st (a line within RV_OUT_LINE_MAX, sink bytes within
 * a file sink's buffer, none for a shared sink): 0, or -EINVAL with why. */
int rv_out_stream_check(const struct rv_out_stream *st,
			const struct rv_out_state *in, char *why,
			size_t whylen);
/* Writes in's data into st (checked first): the partial line, the exit
 * in progress, a file sink's bytes.  No descriptor is touched.  0 or
 * -ENOMEM. */
int rv_out_stream_apply(struct rv_out_stream *st,
			const struct rv_out_state *in);
/*
 * The crossed pipe replaces the one the load made (closed), under the
 * crossed numbers: they stay the same across every hand-over.  The
 * caller updates what names the old write end (the spawn plan).  Then
 * the stream goes on: what it holds is written, the pipe is read.
 */
void rv_out_stream_adopt(struct rv_out_stream *st, int rfd, int wfd);

/* 1 or 2 when st writes to ringvisor's stdout or stderr sink, 0 for a
 * file: sink. */
int rv_out_stream_std(const struct rv_out_stream *st);
/* The bytes st's (shared) sink holds, copied into *bytes (NULL when
 * none).  0 or -ENOMEM. */
int rv_out_sink_take(const struct rv_out_stream *st, char **bytes,
		     size_t *len);
/* The bytes st's sink has room for. */
size_t rv_out_sink_room(const struct rv_out_stream *st);
/* Puts bytes in front of what st's sink holds, to be written first.
 * 0, or -ENOBUFS when they do not fit. */
int rv_out_sink_restore(struct rv_out_stream *st, const char *bytes,
			size_t len);

/*
 * Flush before take: the whole lines st holds move to its sink, and the
 * sink writes, waiting for its fd (poll, never the loop) until it is
 * empty or deadline_ns (CLOCK_MONOTONIC) passes.  Returns the bytes
 * still held (they cross in the state).
 */
size_t rv_out_stream_flush(struct rv_out_stream *st, int64_t deadline_ns);

#endif
