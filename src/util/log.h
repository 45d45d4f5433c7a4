/* SPDX-License-Identifier: MIT */
/*
 * Structured log lines: "ts=... level=... service=... event=... key=value".
 * No allocation, safe on the hot path.  Outside a batch, one write(2) per
 * line; inside one (the supervisor's loop turns), lines collect in a
 * static buffer of PIPE_BUF bytes and go out in one write(2) when it is
 * full or the batch ends, so no log write stands between a child's exit
 * and its replacement's spawn.  Every write holds whole lines only.
 * Event names are listed in docs/log-events.md.
 */
#ifndef RV_LOG_H
#define RV_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum rv_log_level { RV_LOG_DEBUG, RV_LOG_INFO, RV_LOG_WARN, RV_LOG_ERROR };

/* Where lines go (default 2) and the minimum level (default INFO, or
 * RINGVISOR_LOG_LEVEL=debug|info|warn|error). */
void rv_log_set_fd(int fd);
void rv_log_set_level(enum rv_log_level level);
void rv_log_level_from_env(void);
/* NULL: stays as is.  Returns -EINVAL for an unknown name. */
int rv_log_level_parse(const char *name, enum rv_log_level *out);

/*
 * who is "service=NAME" or "supervisor=NAME" (given as the key and value);
 * fmt continues with " key=value" pairs in printf style.  Use
 * rv_log_quote() for values that may contain spaces.
 */
void rv_log(enum rv_log_level level, const char *who_key, const char *who,
	    const char *event, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void rv_vlog(enum rv_log_level level, const char *who_key, const char *who,
	     const char *event, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/*
 * Batching: begin, then end (which flushes).  rv_log_flush() writes what
 * is buffered now: for anyone about to write other lines to the same
 * stream (service output) who wants them in order.
 */
void rv_log_batch_begin(void);
void rv_log_batch_end(void);
void rv_log_flush(void);

/*
 * A line whose place and time are taken now and whose text is written
 * later: rv_log_mark() before the work, rv_log_at() after it.  For the
 * exit -> respawn path, where formatting a line (cold printf code after a
 * long idle: ~20 us) would delay the replacement.  The line lands where
 * the mark was taken, before the lines logged since, with the mark's
 * time; if the batch was written out in between, it is appended.
 */
struct rv_log_mark {
	unsigned long gen;	/* batch generation; 0: not batching */
	unsigned long pos;	/* batch length at the mark */
	unsigned long seq;	/* marks taken before it */
	unsigned long ins;	/* rv_log_at() insertions before it */
	long sec, nsec;		/* CLOCK_REALTIME at the mark */
};
void rv_log_mark(struct rv_log_mark *m);
void rv_log_at(const struct rv_log_mark *m, enum rv_log_level level,
	       const char *who_key, const char *who, const char *event,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Where lines go: stderr (the fd above), or the systemd journal through
 * sd_journal_sendv() with SYSLOG_IDENTIFIER=ringvisor, PRIORITY from the
 * level, EVENT=, SERVICE= or SUPERVISOR=, and the logfmt pairs as MESSAGE
 * (a line the journal refuses goes to the fd instead).  AUTO: the journal
 * when stderr is the journal's stream (JOURNAL_STREAM holds the device
 * and inode of fd 2, as systemd sets it for its services).
 */
enum rv_log_target { RV_LOG_TARGET_AUTO, RV_LOG_TARGET_STDERR,
		     RV_LOG_TARGET_JOURNAL };
/* 0, or -ENOENT when the journal was chosen but libsystemd cannot be
 * loaded (util/journal.h): then lines go to the fd, and why says why. */
int rv_log_set_target(enum rv_log_target t, char *why, size_t len);
/* Is stream ("DEV:INO", JOURNAL_STREAM's value) the file of fd? */
bool rv_log_is_journal_stream(const char *stream, int fd);

/* Quotes s into buf if it needs it ("two words" -> "\"two words\""). */
const char *rv_log_quote(const char *s, char *buf, unsigned long len);

#define rv_log_svc(level, name, event, ...) \
	rv_log(level, "service", name, event, __VA_ARGS__)
#define rv_log_sup(level, name, event, ...) \
	rv_log(level, "supervisor", name, event, __VA_ARGS__)

#endif
