/* SPDX-License-Identifier: MIT */
/*
 * Child output: pipes read through the loop, whole lines to a sink that
 * never blocks the loop (see output.h for the design).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child/logring.h"
#include "child/output.h"
#include "loop.h"
#include "util/log.h"

/* "NAME | ": names are at most RV_NAME_MAX (128) plus "@instance" */
#define PREFIX_MAX 192

enum sink_mode {
	SINK_WRITE,		/* nonblocking description, regular file */
	SINK_SEND,		/* a socket: send(MSG_DONTWAIT) */
	SINK_POLLED,		/* fallback: poll, then <= PIPE_BUF bytes */
};

struct rv_out_sink {
	struct rv_loop *loop;
	int fd;
	enum sink_mode mode;
	char *path;		/* file sinks: for reopen */
	const char *label;	/* "stdout" or path, for the log */
	char *buf;
	size_t cap, head, len;	/* pending bytes: buf[head .. head+len) */
	struct rv_fdwatch ww;	/* POLLOUT while the fd is full */
	struct rv_out_stream *wait_first, *wait_last;
	unsigned refs;
	int std_fd;		/* 1 or 2: ringvisor's own; 0: a file */
	bool broken;		/* a write error: output is discarded */
	bool serving;		/* in sink_serve(): no nesting */
	uint64_t discarded;
};

struct rv_out_stream {
	struct rv_loop *loop;
	struct rv_out_sink *sink;
	char prefix[PREFIX_MAX];
	size_t prefix_len;
	bool add_nl;
	int rfd, wfd;
	struct rv_fdwatch rw;
	char *line;
	size_t len;
	bool waiting;		/* in the sink's wait list */
	struct rv_out_stream *wait_next;
	/* bytes the exited process left in the pipe; then flush the rest */
	uint64_t exit_left;
	bool exit_pending;
	bool dead;		/* read error: no more watching */
	struct rv_out_stats stats;
	struct rv_logring *ring;	/* `logs`: a copy of each line */
	enum rv_log_stream ring_stream;
};

/* ---- the pure part ---- */

size_t rv_out_format(const char *prefix, size_t prefix_len, bool add_nl,
		     char *line, size_t *len, size_t line_max, bool force,
		     char *out, size_t room, bool *blocked)
{
	size_t used = 0, off = 0;

	*blocked = false;
	while (off < *len) {
		char *nl = memchr(line + off, '\n', *len - off);
		size_t n, need;
		bool piece = false;

		if (nl) {
			n = (size_t)(nl - (line + off)) + 1;
		} else if ((off == 0 && *len == line_max) || force) {
			/* a line filling the whole buffer, or the last one */
			n = *len - off;
			piece = true;
		} else {
			break;
		}
		need = prefix_len + n + (piece && add_nl ? 1 : 0);
		if (need > room - used) {
			*blocked = true;
			break;
		}
		memcpy(out + used, prefix, prefix_len);
		memcpy(out + used + prefix_len, line + off, n);
		used += prefix_len + n;
		if (piece && add_nl)
			out[used++] = '\n';
		off += n;
	}
	if (off) {
		memmove(line, line + off, *len - off);
		*len -= off;
	}
	return used;
}

/* ---- sinks ---- */

static void sink_ready(struct rv_loop *loop, struct rv_fdwatch *w,
		       uint32_t revents, void *ctx);
static void stream_pump(struct rv_out_stream *st);
static void stream_arm(struct rv_out_stream *st);

static struct rv_out_sink *sink_new(struct rv_loop *loop, size_t cap)
{
	struct rv_out_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->buf = malloc(cap);
	if (!s->buf) {
		free(s);
		return NULL;
	}
	s->cap = cap;
	s->label = "stdout";
	s->loop = loop;
	s->fd = -1;
	s->refs = 1;
	s->ww.fd = -1;
	s->ww.events = POLLOUT;
	s->ww.cb = sink_ready;
	s->ww.ctx = s;
	return s;
}

/* Output that cannot be written is said once, counted, and dropped. */
static void sink_break(struct rv_out_sink *s, int err)
{
	char q[300];

	if (s->broken)
		return;
	s->broken = true;
	rv_log_sup(RV_LOG_ERROR, "main", "output_lost",
		   " sink=%s errno=%d error=%s pending_bytes=%zu",
		   rv_log_quote(s->label, q, 200), err,
		   rv_log_quote(strerror(err), q + 200, 100), s->len);
}

/* ringvisor's stdout and stderr: one sink each per loop, shared by every
 * stream writing there (two would interleave lines after a partial write
 * of either). */
static struct rv_out_sink *std_shared[3];

static void sink_free(struct rv_out_sink *s)
{
	for (int fd = 1; fd <= 2; fd++)
		if (s == std_shared[fd])
			std_shared[fd] = NULL;
	if (s->discarded)
		rv_log_sup(RV_LOG_WARN, "main", "output_discarded",
			   " sink=%s bytes=%llu", s->label,
			   (unsigned long long)s->discarded);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->buf);
	free(s);
}

void rv_out_sink_put(struct rv_out_sink *s)
{
	if (!s || --s->refs)
		return;
	/* s->loop is NULL once the loop is gone (stream_close_final) */
	if (s->ww.armed && s->loop)
		rv_loop_unwatch_fd(s->loop, &s->ww);
	sink_free(s);
}

int rv_out_sink_std(struct rv_loop *loop, int fd, struct rv_out_sink **out)
{
	struct rv_out_sink *s;
	struct stat st;

	char self[32];

	if (fd != STDOUT_FILENO && fd != STDERR_FILENO)
		return -EINVAL;
	if (std_shared[fd] && std_shared[fd]->loop == loop) {
		std_shared[fd]->refs++;
		*out = std_shared[fd];
		return 0;
	}
	s = sink_new(loop, RV_OUT_SINK_BUF);
	if (!s)
		return -ENOMEM;
	s->std_fd = fd;
	if (fd == STDERR_FILENO)
		s->label = "stderr";
	if (fstat(fd, &st) < 0) {
		/* no stdout at all: lines go nowhere, said once */
		sink_break(s, errno);
	} else if (S_ISREG(st.st_mode)) {
		s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		s->mode = SINK_WRITE;
	} else if (S_ISSOCK(st.st_mode)) {
		s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		s->mode = SINK_SEND;
	} else {
		/* our own description, so O_NONBLOCK stays ours */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		s->fd = open(self,
			     O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		s->mode = SINK_WRITE;
		if (s->fd < 0) {
			s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			s->mode = SINK_POLLED;
		}
	}
	if (!s->broken && s->fd < 0) {
		int err = errno;

		sink_free(s);
		return -err;
	}
	s->ww.fd = s->fd;
	if (!std_shared[fd])
		std_shared[fd] = s;
	*out = s;
	return 0;
}

static int open_file(const char *path)
{
	/* O_NONBLOCK: a FIFO as file: target must not block us either */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK, 0644);
}

static ssize_t sink_write1(struct rv_out_sink *s, const char *p, size_t n)
{
	/* our own lines of this turn first, if they share the stream */
	rv_log_flush();
	switch (s->mode) {
	case SINK_SEND:
		return send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	case SINK_POLLED: {
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT)) {
			errno = EAGAIN;
			return -1;
		}
		return write(s->fd, p, n > PIPE_BUF ? PIPE_BUF : n);
	}
	case SINK_WRITE:
	default:
		return write(s->fd, p, n);
	}
}

/* One write of what s holds, EINTR retried: > 0 bytes written, else
 * < 0 with errno (or 0). */
static ssize_t sink_write_once(struct rv_out_sink *s)
{
	ssize_t n;

	do
		n = sink_write1(s, s->buf + s->head, s->len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		s->head += (size_t)n;
		s->len -= (size_t)n;
	}
	return n;
}

/* Writes what it can; false when the fd is full (POLLOUT armed). */
static bool sink_flush(struct rv_out_sink *s)
{
	while (s->len) {
		ssize_t n;

		if (s->broken) {
			s->discarded += s->len;
			s->head = s->len = 0;
			break;
		}
		n = sink_write_once(s);
		if (n > 0)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* no loop: the final drain polls by itself */
			if (!s->loop || s->ww.armed ||
			    rv_loop_watch_fd(s->loop, &s->ww) == 0)
				return false;
		}
		/* EPIPE, EIO, ENOSPC, or cannot watch: never silently */
		sink_break(s, n < 0 ? errno : EIO);
	}
	s->head = 0;
	return true;
}

/* Room at the end of the buffer, compacting first. */
static size_t sink_room(struct rv_out_sink *s, char **at)
{
	if (s->head && s->len)
		memmove(s->buf, s->buf + s->head, s->len);
	s->head = 0;
	*at = s->buf + s->len;
	return s->cap - s->len;
}

/* Streams that waited for room, first come first served. */
static void sink_serve(struct rv_out_sink *s)
{
	if (s->serving)
		return;
	s->serving = true;
	while (s->wait_first) {
		struct rv_out_stream *st = s->wait_first;

		s->wait_first = st->wait_next;
		if (!s->wait_first)
			s->wait_last = NULL;
		st->waiting = false;
		st->wait_next = NULL;
		stream_pump(st);
		if (st->waiting)
			break;	/* full again */
	}
	s->serving = false;
}

static void sink_ready(struct rv_loop *loop, struct rv_fdwatch *w,
		       uint32_t revents, void *ctx)
{
	struct rv_out_sink *s = ctx;

	if (sink_flush(s))
		sink_serve(s);
}

static void sink_wait(struct rv_out_sink *s, struct rv_out_stream *st)
{
	if (st->waiting)
		return;
	st->waiting = true;
	st->stats.blocked++;
	if (s->wait_last)
		s->wait_last->wait_next = st;
	else
		s->wait_first = st;
	s->wait_last = st;
}

static void sink_unwait(struct rv_out_sink *s, struct rv_out_stream *st)
{
	struct rv_out_stream **pp = &s->wait_first, *prev = NULL;

	if (!st->waiting)
		return;
	for (; *pp; prev = *pp, pp = &(*pp)->wait_next) {
		if (*pp != st)
			continue;
		*pp = st->wait_next;
		if (s->wait_last == st)
			s->wait_last = prev;
		break;
	}
	st->waiting = false;
	st->wait_next = NULL;
}

/* ---- streams ---- */

static int64_t realtime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void stream_ready(struct rv_loop *loop, struct rv_fdwatch *w,
			 uint32_t revents, void *ctx)
{
	stream_pump(ctx);
}

static void stream_arm(struct rv_out_stream *st)
{
	if (st->rw.armed || st->dead || !st->loop)
		return;
	if (rv_loop_watch_fd(st->loop, &st->rw) < 0) {
		rv_log_sup(RV_LOG_ERROR, "main", "output_watch_failed",
			   " stream=\"%.*s\"", (int)st->prefix_len, st->prefix);
		st->dead = true;
	}
}

/* Moves formatted lines into the sink; false when the sink is full. */
static bool stream_emit(struct rv_out_stream *st, bool force)
{
	struct rv_out_sink *s = st->sink;
	bool blocked = false;
	char *at;
	size_t room = sink_room(s, &at), n;

	n = rv_out_format(st->prefix, st->prefix_len, st->add_nl, st->line,
			  &st->len, RV_OUT_LINE_MAX, force, at, room, &blocked);
	s->len += n;
	if (blocked) {
		/* make room by writing, and try once more */
		sink_flush(s);
		room = sink_room(s, &at);
		n = rv_out_format(st->prefix, st->prefix_len, st->add_nl,
				  st->line, &st->len, RV_OUT_LINE_MAX, force,
				  at, room, &blocked);
		s->len += n;
	}
	return !blocked;
}

/*
 * The line buffer comes with the first bytes to read, not at load: a
 * service that never writes (most, when every inherited stream is kept
 * for `logs`) costs its pipe only.  false: no memory, the stream stops.
 */
static bool stream_line_alloc(struct rv_out_stream *st)
{
	st->line = malloc(RV_OUT_LINE_MAX);
	if (st->line)
		return true;
	rv_log_sup(RV_LOG_ERROR, "main", "output_read_failed",
		   " errno=%d", ENOMEM);
	st->dead = true;
	return false;
}

/*
 * One bounded step: emit what is buffered, read once, emit again, flush;
 * then watch the pipe again, or wait for the sink if it is full.
 */
static void stream_pump(struct rv_out_stream *st)
{
	struct rv_out_sink *s = st->sink;
	size_t want;
	ssize_t n;

	if (!st->line && !stream_line_alloc(st))
		return;
	if (!stream_emit(st, false))
		goto full;
	want = RV_OUT_LINE_MAX - st->len;
	if (st->exit_pending && st->exit_left < want)
		want = (size_t)st->exit_left;
	n = want ? read(st->rfd, st->line + st->len, want) : 0;
	if (n > 0) {
		if (st->ring)
			rv_logring_feed(st->ring, st->ring_stream,
					st->line + st->len, (size_t)n,
					realtime_now(), false);
		st->len += (size_t)n;
		st->stats.bytes_in += (uint64_t)n;
		if (st->exit_pending)
			st->exit_left -= (uint64_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		rv_log_sup(RV_LOG_ERROR, "main", "output_read_failed",
			   " errno=%d", errno);
		st->dead = true;
	}
	if (st->exit_pending && !st->exit_left) {
		/* everything the exited process wrote is in: last line */
		if (st->ring)
			rv_logring_feed(st->ring, st->ring_stream, NULL, 0,
					realtime_now(), true);
		if (!stream_emit(st, true))
			goto full;
		st->exit_pending = false;
	} else if (!stream_emit(st, false)) {
		goto full;
	}
	/* room again without a POLLOUT (written by us, or broken): the
	 * streams that wait for it must not wait for an event */
	if (sink_flush(s) && s->wait_first)
		sink_serve(s);
	stream_arm(st);
	return;
full:
	sink_flush(s);
	sink_wait(s, st);
}

int rv_out_stream_pipe(struct rv_out_stream *st, char *why, size_t whylen)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		int ret = -errno;

		snprintf(why, whylen, "pipe2: %s", strerror(-ret));
		return ret;
	}
	st->rfd = p[0];
	st->wfd = p[1];
	fcntl(st->rfd, F_SETFL, O_NONBLOCK);
	st->rw.fd = st->rfd;
	stream_arm(st);
	return 0;
}

int rv_out_stream_new(struct rv_loop *loop, struct rv_out_sink *stdout_sink,
		      const char *name, const char *path, bool pipe_later,
		      struct rv_out_stream **out, char *why, size_t whylen)
{
	struct rv_out_stream *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	st->loop = loop;
	st->rfd = st->wfd = -1;
	if (stdout_sink) {
		st->sink = stdout_sink;
		stdout_sink->refs++;
		/* no name: passed on byte for byte (inherit, captured) */
		st->prefix_len = name ? (size_t)snprintf(st->prefix,
							 sizeof(st->prefix),
							 "%s | ", name) : 0;
		if (st->prefix_len >= sizeof(st->prefix))
			st->prefix_len = sizeof(st->prefix) - 1;
		st->add_nl = name != NULL;
	} else {
		st->sink = sink_new(loop, RV_OUT_FILE_BUF);
		if (!st->sink) {
			ret = -ENOMEM;
			goto err;
		}
		st->sink->path = strdup(path);
		st->sink->label = st->sink->path ? st->sink->path : "file";
		st->sink->fd = open_file(path);
		if (!st->sink->path || st->sink->fd < 0) {
			ret = st->sink->path ? -errno : -ENOMEM;
			snprintf(why, whylen, "opening %s: %s", path,
				 strerror(-ret));
			goto err;
		}
		st->sink->ww.fd = st->sink->fd;
	}
	st->rw.events = POLLIN;
	st->rw.cb = stream_ready;
	st->rw.ctx = st;
	if (!pipe_later && (ret = rv_out_stream_pipe(st, why, whylen)))
		goto err;
	*out = st;
	return 0;
err:
	rv_out_stream_free(st, true);	/* never watched yet */
	return ret;
}

void rv_out_stream_capture(struct rv_out_stream *st, struct rv_logring *ring,
			   enum rv_log_stream which)
{
	st->ring = ring;
	st->ring_stream = which;
}

bool rv_out_stream_piped(const struct rv_out_stream *st)
{
	return st->rfd >= 0;
}

int rv_out_stream_child_fd(const struct rv_out_stream *st)
{
	return st->wfd;
}

const char *rv_out_stream_path(const struct rv_out_stream *st)
{
	return st->sink ? st->sink->path : NULL;
}

void rv_out_stream_exited(struct rv_out_stream *st)
{
	int avail = 0;

	if (st->dead)
		return;
	if (ioctl(st->rfd, FIONREAD, &avail) < 0 || avail < 0)
		avail = 0;
	if (!avail && !st->len && !st->waiting) {
		/*
		 * The usual case (this runs before the respawn): everything
		 * was read as it came, no partial line waits.  Only the
		 * logring may hold one.
		 */
		if (st->ring)
			rv_logring_feed(st->ring, st->ring_stream, NULL, 0,
					realtime_now(), true);
		return;
	}
	st->exit_left = (uint64_t)avail;
	st->exit_pending = true;
	if (st->waiting)
		return;	/* the sink pumps it when it has room */
	if (st->rw.armed)
		rv_loop_unwatch_fd(st->loop, &st->rw);
	stream_pump(st);
}

int rv_out_stream_reopen(struct rv_out_stream *st)
{
	struct rv_out_sink *s = st->sink;
	bool rearm;
	int fd;

	if (!s || !s->path)
		return 0;
	fd = open_file(s->path);
	if (fd < 0)
		return -errno;
	/* a watch follows the open file, not the number: re-watch */
	rearm = s->ww.armed;
	if (rearm)
		rv_loop_unwatch_fd(s->loop, &s->ww);
	if (dup3(fd, s->fd, O_CLOEXEC) < 0) {
		int err = errno;

		close(fd);
		if (rearm)
			rv_loop_watch_fd(s->loop, &s->ww);
		return -err;
	}
	close(fd);
	s->broken = false;
	if (rearm && rv_loop_watch_fd(s->loop, &s->ww) < 0)
		s->broken = true;
	if (!rearm && sink_flush(s))
		sink_serve(s);
	return 0;
}

/* Blocking, bounded: the supervisor is going away. */
static void sink_drain_final(struct rv_out_sink *s, int timeout_ms)
{
	s->loop = NULL;		/* never touch the (freed) loop */
	while (s->len && !s->broken && timeout_ms > 0) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

		sink_flush(s);
		if (!s->len)
			break;
		if (poll(&pfd, 1, 100) == 0)
			timeout_ms -= 100;
	}
	if (s->len && !s->broken)
		sink_break(s, ETIMEDOUT);	/* nobody reads our stdout */
	sink_flush(s);
}

/*
 * The loop goes on (a reload dropped this stream): no waiting.  What is
 * still in the pipe moves to the sink while it has room; the rest is
 * counted as discarded and said.
 */
static void stream_close_live(struct rv_out_stream *st)
{
	struct rv_out_sink *s = st->sink;

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(st->rfd, st->line + st->len,
				 RV_OUT_LINE_MAX - st->len);
		int avail = 0;

		if (n > 0)
			st->len += (size_t)n;
		if (!stream_emit(st, n <= 0)) {
			if (ioctl(st->rfd, FIONREAD, &avail) < 0 || avail < 0)
				avail = 0;
			s->discarded += st->len + (size_t)avail;
			rv_log_sup(RV_LOG_WARN, "main", "output_discarded",
				   " stream=\"%.*s\" bytes=%zu",
				   (int)st->prefix_len, st->prefix,
				   st->len + (size_t)avail);
			st->len = 0;
			break;
		}
		if (n <= 0 && !st->len)
			break;
	}
	sink_flush(s);
}

/* The supervisor is going away and the loop with it: bounded waiting. */
static void stream_close_final(struct rv_out_stream *st)
{
	struct rv_out_sink *s = st->sink;

	st->loop = NULL;
	s->loop = NULL;
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(st->rfd, st->line + st->len,
				 RV_OUT_LINE_MAX - st->len);

		if (n > 0)
			st->len += (size_t)n;
		if (!stream_emit(st, n <= 0))
			sink_drain_final(s, 1000);
		if (n <= 0 && !st->len)
			break;
	}
	sink_drain_final(s, 1000);
}

void rv_out_stream_free(struct rv_out_stream *st, bool loop_alive)
{
	struct rv_out_sink *s;

	if (!st)
		return;
	s = st->sink;
	if (s)
		sink_unwait(s, st);
	if (loop_alive && st->rw.armed)
		rv_loop_unwatch_fd(st->loop, &st->rw);
	if (s && st->rfd >= 0 && !st->line)
		st->line = malloc(RV_OUT_LINE_MAX);	/* what is left */
	if (s && st->rfd >= 0 && st->line) {
		/* whatever the services left: read it, flush it */
		if (loop_alive)
			stream_close_live(st);
		else
			stream_close_final(st);
	}
	if (st->rfd >= 0)
		close(st->rfd);
	if (st->wfd >= 0)
		close(st->wfd);
	rv_out_sink_put(s);
	free(st->line);
	free(st);
}

void rv_out_stream_stats(const struct rv_out_stream *st,
			 struct rv_out_stats *out)
{
	*out = st->stats;
}

/* ---- the hand-over (output.h) ---- */

static char *copy_bytes(const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c && n)
		memcpy(c, p, n);
	return c;
}

int rv_out_stream_take(const struct rv_out_stream *st,
		       struct rv_out_state *out)
{
	const struct rv_out_sink *s = st->sink;

	memset(out, 0, sizeof(*out));
	out->rfd = st->rfd;
	out->wfd = st->wfd;
	out->exit_left = st->exit_left;
	out->exit_pending = st->exit_pending;
	if (st->line && st->len) {
		out->line = copy_bytes(st->line, st->len);
		if (!out->line)
			return -ENOMEM;
		out->line_len = st->len;
	}
	if (s && !s->std_fd && s->len) {
		out->sink = copy_bytes(s->buf + s->head, s->len);
		if (!out->sink) {
			rv_out_state_free(out);
			return -ENOMEM;
		}
		out->sink_len = s->len;
	}
	return 0;
}

void rv_out_state_free(struct rv_out_state *s)
{
	free(s->line);
	free(s->sink);
	s->line = s->sink = NULL;
	s->line_len = s->sink_len = 0;
}

int rv_out_stream_check(const struct rv_out_stream *st,
			const struct rv_out_state *in, char *why,
			size_t whylen)
{
	const struct rv_out_sink *s = st->sink;

	if (in->line_len > RV_OUT_LINE_MAX) {
		snprintf(why, whylen, "a partial line of %zu bytes (at most "
			 "%d)", in->line_len, RV_OUT_LINE_MAX);
		return -EINVAL;
	}
	if (in->sink_len && (!s || s->std_fd || in->sink_len > s->cap)) {
		snprintf(why, whylen, "%zu bytes for a sink that %s",
			 in->sink_len, !s || s->std_fd ?
			 "is not a file: sink" : "has less room");
		return -EINVAL;
	}
	if (in->rfd < 0 || in->wfd < 0) {
		snprintf(why, whylen, "a pipe without both ends (%d, %d)",
			 in->rfd, in->wfd);
		return -EINVAL;
	}
	return 0;
}

int rv_out_stream_apply(struct rv_out_stream *st,
			const struct rv_out_state *in)
{
	if (in->line_len) {
		if (!st->line && !(st->line = malloc(RV_OUT_LINE_MAX)))
			return -ENOMEM;
		memcpy(st->line, in->line, in->line_len);
	}
	st->len = in->line_len;
	st->exit_left = in->exit_left;
	st->exit_pending = in->exit_pending;
	if (in->sink_len && st->sink)
		return rv_out_sink_restore(st, in->sink, in->sink_len);
	return 0;
}

void rv_out_stream_adopt(struct rv_out_stream *st, int rfd, int wfd)
{
	struct rv_out_sink *s = st->sink;

	/* a watch follows the open file, not the number: watch anew */
	if (st->rw.armed)
		rv_loop_unwatch_fd(st->loop, &st->rw);
	if (rfd != st->rfd) {
		if (st->rfd >= 0)	/* none: made without (pipe_later) */
			close(st->rfd);
		st->rfd = st->rw.fd = rfd;
	}
	if (wfd != st->wfd) {
		if (st->wfd >= 0)
			close(st->wfd);
		st->wfd = wfd;
	}
	fcntl(st->rfd, F_SETFL, O_NONBLOCK);
	st->dead = false;
	if (s->len && sink_flush(s))
		sink_serve(s);
	if (st->len || st->exit_pending)
		stream_pump(st);	/* arms the watch, or waits */
	else
		stream_arm(st);
}

int rv_out_stream_std(const struct rv_out_stream *st)
{
	return st->sink ? st->sink->std_fd : 0;
}

int rv_out_sink_take(const struct rv_out_stream *st, char **bytes,
		     size_t *len)
{
	const struct rv_out_sink *s = st->sink;

	*bytes = NULL;
	*len = 0;
	if (!s || !s->len)
		return 0;
	*bytes = copy_bytes(s->buf + s->head, s->len);
	if (!*bytes)
		return -ENOMEM;
	*len = s->len;
	return 0;
}

size_t rv_out_sink_room(const struct rv_out_stream *st)
{
	return st->sink ? st->sink->cap - st->sink->len : 0;
}

int rv_out_sink_restore(struct rv_out_stream *st, const char *bytes,
			size_t len)
{
	struct rv_out_sink *s = st->sink;
	char *at;

	if (!s || len > s->cap - s->len)
		return -ENOBUFS;
	sink_room(s, &at);		/* compacted: the bytes start at 0 */
	memmove(s->buf + len, s->buf, s->len);
	memcpy(s->buf, bytes, len);
	s->len += len;
	return 0;
}

/* Writes without the loop, polling the fd until deadline_ns. */
static void sink_write_until(struct rv_out_sink *s, int64_t deadline_ns)
{
	while (s->len && !s->broken) {
		ssize_t n = sink_write_once(s);
		int64_t left;

		if (n > 0)
			continue;
		if (n == 0 || errno != EAGAIN) {
			sink_break(s, n < 0 ? errno : EIO);
			break;
		}
		left = deadline_ns - rv_clock_now();
		if (left <= 0)
			break;
		poll(&(struct pollfd){ .fd = s->fd, .events = POLLOUT }, 1,
		     (int)(left / 1000000) + 1);
	}
	if (!s->len)
		s->head = 0;
}

size_t rv_out_stream_flush(struct rv_out_stream *st, int64_t deadline_ns)
{
	struct rv_out_sink *s = st->sink;
	bool blocked = true;

	if (!s)
		return 0;
	while (st->line && st->len && blocked) {
		char *at;
		size_t room = sink_room(s, &at);

		s->len += rv_out_format(st->prefix, st->prefix_len,
					st->add_nl, st->line, &st->len,
					RV_OUT_LINE_MAX, false, at, room,
					&blocked);
		sink_write_until(s, deadline_ns);
		if (blocked && (s->len || rv_clock_now() >= deadline_ns))
			break;
	}
	sink_write_until(s, deadline_ns);
	return s->len + (st->line ? st->len : 0);
}
