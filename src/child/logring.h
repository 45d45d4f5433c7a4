/* SPDX-License-Identifier: MIT */
/*
 * The recent output of one service instance, for `ringvisor logs`: a
 * bounded ring of lines (stdout and stderr, each with its CLOCK_REALTIME
 * time), the oldest dropped when a new one needs room.
 *
 * Cost: nothing until the service writes (the ring's memory is allocated
 * at its first line, never on the exit -> respawn path); then one memcpy
 * per line into the ring, done by the output pipe's reader (output.c),
 * which already holds the bytes.  A listener (`logs -f`) is called per
 * line only while one is set and wants this ring.
 *
 * A line longer than RV_LOGRING_LINE bytes is kept in pieces of that
 * size; a line still open when the process exits is kept as it is.
 */
#ifndef RV_LOGRING_H
#define RV_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_LOGRING_LINE 2048

enum rv_log_stream { RV_LOG_STDOUT, RV_LOG_STDERR };

struct rv_logring;

/* One line as stored; text is not NUL-terminated, without its '\n'. */
struct rv_logline {
	int64_t realtime_ns;
	enum rv_log_stream stream;
	const char *text;
	size_t len;
};

/*
 * A ring of cap bytes (records included) named name (the instance,
 * copied).  NULL when out of memory.  The caller frees with
 * rv_logring_free().
 */
struct rv_logring *rv_logring_new(const char *name, size_t cap);
void rv_logring_free(struct rv_logring *r);
const char *rv_logring_name(const struct rv_logring *r);

/*
 * The bytes p[0..n) a stream just read: whole lines go into the ring; an
 * unfinished one waits in the stream's own piece buffer for the rest.
 * end: the writer is gone, keep what is pending as a line.
 */
void rv_logring_feed(struct rv_logring *r, enum rv_log_stream stream,
		     const char *p, size_t n, int64_t realtime_ns, bool end);

/*
 * The last n lines (all when n is 0), oldest first, through fn; stops
 * when fn returns false.
 */
void rv_logring_each(const struct rv_logring *r, size_t n,
		     bool (*fn)(const struct rv_logline *l, void *ctx),
		     void *ctx);
size_t rv_logring_count(const struct rv_logring *r);

/*
 * The one process-wide listener (the control plane's `logs -f`), called
 * for every line stored while set.  NULL to remove.
 */
typedef void rv_logring_listener(const struct rv_logring *r,
				 const struct rv_logline *l, void *ctx);
void rv_logring_listen(rv_logring_listener *fn, void *ctx);

/*
 * The hand-over to a new binary (docs/reexec.md): the lines cross one
 * by one (rv_logring_each() gives them, oldest first) and are stored
 * again here with their own time, no listener called; each stream's
 * unfinished line crosses as its piece.  rv_logring_cap() tells the
 * ring the lines go into.
 */
void rv_logring_restore(struct rv_logring *r, const struct rv_logline *l);
/* stream's unfinished line (not NUL-terminated): its length, *p set. */
size_t rv_logring_piece(const struct rv_logring *r, enum rv_log_stream stream,
			const char **p);
/* Sets stream's unfinished line; n <= RV_LOGRING_LINE (false if not, or
 * out of memory). */
bool rv_logring_set_piece(struct rv_logring *r, enum rv_log_stream stream,
			  const char *p, size_t n);

#endif
