/* SPDX-License-Identifier: MIT */
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/journal.h"

static int log_fd = 2;
static enum rv_log_level log_min = RV_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

/*
 * Colour on a terminal: the level by severity, the service or supervisor
 * name in bold cyan/magenta.  Decided at the first line after each
 * rv_log_set_fd() (-1: not yet): only when log_fd is a tty, TERM is set
 * and not "dumb", and NO_COLOR is unset or empty (no-color.org).  Plain
 * SGR sequences: every terminal emulator in use understands them, and a
 * terminal library would be one more dependency for eight escapes.
 */
static int log_color = -1;
static bool to_journal;
static const char *const level_colors[] = { "\033[2m", "\033[32m",
					    "\033[33m", "\033[1;31m" };
#define SGR_RESET "\033[0m"

static bool color_wanted(void)
{
	const char *term = getenv("TERM");
	const char *no = getenv("NO_COLOR");

	if (to_journal || (no && *no) || !term || !*term ||
	    !strcmp(term, "dumb"))
		return false;
	return isatty(log_fd) == 1;
}

/* One thread logs (the loop's); the batch buffer is that thread's. */
#define RV_LOG_INSERTS 16

static struct {
	bool on;
	unsigned long gen;	/* bumped whenever the buffer is written out */
	size_t len;
	char buf[PIPE_BUF];	/* a write to a pipe of this much is atomic */
	/* rv_log_at() insertions into this buffer, oldest first */
	unsigned long marks, n_ins;
	struct {
		size_t pos, len;
		unsigned long seq;	/* of the mark it was for */
	} ins[RV_LOG_INSERTS];
} batch = { .gen = 1 };

/* "ts=2026-11-21T21:40:21" for the second in sec: formatted once */
static struct {
	time_t sec;
	size_t len;
	char text[40];
} stamp = { .sec = -1 };

static void write_all(const char *p, size_t n)
{
	int saved = errno;

	/* a failed log write has nowhere to be reported: it is dropped */
	while (n > 0) {
		ssize_t w = write(log_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	errno = saved;
}

void rv_log_flush(void)
{
	if (batch.len) {
		write_all(batch.buf, batch.len);
		batch.gen++;
	}
	batch.len = 0;
	batch.n_ins = 0;
}

void rv_log_batch_begin(void)
{
	batch.on = true;
}

void rv_log_batch_end(void)
{
	rv_log_flush();
	batch.on = false;
}

void rv_log_set_fd(int fd)
{
	rv_log_flush();
	log_fd = fd;
	log_color = -1;
}

void rv_log_set_level(enum rv_log_level level)
{
	log_min = level;
}

int rv_log_level_parse(const char *name, enum rv_log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(*level_names);
	     i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum rv_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void rv_log_level_from_env(void)
{
	const char *v = getenv("RINGVISOR_LOG_LEVEL");
	enum rv_log_level l;

	if (v && !rv_log_level_parse(v, &l))
		log_min = l;
}

const char *rv_log_quote(const char *s, char *buf, unsigned long len)
{
	unsigned long o = 0;

	if (!s)
		return "-";
	if (*s && !strpbrk(s, " \t\"\\=\n"))
		return s;
	if (len < 3)
		return "\"\"";
	buf[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s == '\n' ? ' ' : *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

bool rv_log_is_journal_stream(const char *stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!stream || sscanf(stream, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    stream[end] || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

int rv_log_set_target(enum rv_log_target t, char *why, size_t len)
{
	rv_log_flush();
	to_journal = t == RV_LOG_TARGET_JOURNAL ||
		     (t == RV_LOG_TARGET_AUTO &&
		      rv_log_is_journal_stream(getenv("JOURNAL_STREAM"),
					       log_fd));
	log_color = -1;
	if (to_journal && rv_journal_load(why, len)) {
		to_journal = false;
		return -ENOENT;
	}
	return 0;
}

/*
 * One entry: MESSAGE is the line's logfmt pairs after ts= and level=
 * (the journal has its own time and priority).  0, or -errno when the
 * journal cannot take it.
 */
static int journal_send(enum rv_log_level level, const char *who_key,
			const char *who, const char *event, const char *line)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING,
				    LOG_ERR };
	char pr[16], ev[96], wh[300], msg[2048];
	const char *pairs = strstr(line, " level=");
	struct iovec iov[5];
	int n = 0;

	pairs = pairs ? strchr(pairs + 1, ' ') : NULL;
	snprintf(msg, sizeof(msg), "MESSAGE=%s", pairs ? pairs + 1 : line);
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(pr, sizeof(pr), "PRIORITY=%d", prio[level]);
	snprintf(ev, sizeof(ev), "EVENT=%s", event);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ pr, strlen(pr) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=ringvisor",
				   sizeof("SYSLOG_IDENTIFIER=ringvisor") - 1 };
	iov[n++] = (struct iovec){ ev, strlen(ev) };
	if (who_key && who) {
		snprintf(wh, sizeof(wh), "%s=%s",
			 strcmp(who_key, "service") ? "SUPERVISOR" : "SERVICE",
			 who);
		iov[n++] = (struct iovec){ wh, strlen(wh) };
	}
	return rv_journal_sendv(iov, n);
}

/*
 * Formats one line (with its newline) for time ts into line; returns its
 * length.
 */
static size_t format_line(char *line, size_t cap, const struct timespec *ts,
			  enum rv_log_level level, const char *who_key,
			  const char *who, const char *event, const char *fmt,
			  va_list ap)
{
	struct tm tm;
	size_t o;
	int n;

	if (ts->tv_sec != stamp.sec) {
		gmtime_r(&ts->tv_sec, &tm);
		stamp.len = strftime(stamp.text, sizeof(stamp.text),
				     "ts=%Y-%m-%dT%H:%M:%S", &tm);
		stamp.sec = ts->tv_sec;
	}
	memcpy(line, stamp.text, stamp.len);
	o = stamp.len;
	if (log_color < 0)
		log_color = color_wanted();
	n = snprintf(line + o, cap - o, ".%06ldZ level=%s%s%s",
		     ts->tv_nsec / 1000, log_color ? level_colors[level] : "",
		     level_names[level], log_color ? SGR_RESET : "");
	o += (size_t)n;
	if (who_key && who) {
		const char *on = !log_color ? "" :
			strcmp(who_key, "service") ? "\033[1;35m" :
			"\033[1;36m";
		char q[256];

		n = snprintf(line + o, cap - o, " %s=%s%s%s", who_key, on,
			     rv_log_quote(who, q, sizeof(q)),
			     *on ? SGR_RESET : "");
		if (n > 0)
			o += (size_t)n;
	}
	n = snprintf(line + o, cap - o, " event=%s", event);
	if (n > 0)
		o += (size_t)n;
	if (o < cap && fmt && *fmt) {
		n = vsnprintf(line + o, cap - o, fmt, ap);
		if (n > 0)
			o += (size_t)n;
	}
	if (o >= cap - 1)
		o = cap - 2;	/* truncated: still one whole line */
	line[o++] = '\n';
	return o;
}

/* whole lines per write, so lines of several writers never mix */
static void emit(const char *line, size_t o)
{
	if (!batch.on) {
		write_all(line, o);
		return;
	}
	if (batch.len + o > sizeof(batch.buf))
		rv_log_flush();
	if (o > sizeof(batch.buf)) {
		write_all(line, o);
		return;
	}
	memcpy(batch.buf + batch.len, line, o);
	batch.len += o;
}

void rv_vlog(enum rv_log_level level, const char *who_key, const char *who,
	     const char *event, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	int saved = errno;	/* logging must not disturb the caller's errno */
	size_t o;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	o = format_line(line, sizeof(line), &ts, level, who_key, who, event,
			fmt, ap);
	if (!to_journal || journal_send(level, who_key, who, event, line))
		emit(line, o);
	errno = saved;
}

void rv_log_mark(struct rv_log_mark *m)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	m->gen = batch.on ? batch.gen : 0;
	m->pos = batch.len;
	m->seq = batch.marks++;
	m->ins = batch.n_ins;
	m->sec = ts.tv_sec;
	m->nsec = ts.tv_nsec;
}

void rv_log_at(const struct rv_log_mark *m, enum rv_log_level level,
	       const char *who_key, const char *who, const char *event,
	       const char *fmt, ...)
{
	struct timespec ts = { .tv_sec = m->sec, .tv_nsec = m->nsec };
	char line[2048];
	int saved = errno;
	va_list ap;
	size_t o;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	o = format_line(line, sizeof(line), &ts, level, who_key, who, event,
			fmt, ap);
	va_end(ap);
	if (to_journal && !journal_send(level, who_key, who, event, line)) {
		errno = saved;
		return;
	}
	if (!batch.on || m->gen != batch.gen ||
	    batch.n_ins >= RV_LOG_INSERTS || batch.len + o > sizeof(batch.buf)) {
		emit(line, o);	/* its place is gone: append */
		errno = saved;
		return;
	}
	/*
	 * Lines inserted since the mark moved its place if they went before
	 * it, or to the same place for an earlier mark (which comes first).
	 */
	size_t pos = m->pos;

	for (unsigned long i = m->ins; i < batch.n_ins; i++)
		if (batch.ins[i].pos < pos ||
		    (batch.ins[i].pos == pos && batch.ins[i].seq < m->seq))
			pos += batch.ins[i].len;
	memmove(batch.buf + pos + o, batch.buf + pos, batch.len - pos);
	memcpy(batch.buf + pos, line, o);
	batch.len += o;
	batch.ins[batch.n_ins].pos = pos;
	batch.ins[batch.n_ins].len = o;
	batch.ins[batch.n_ins].seq = m->seq;
	batch.n_ins++;
	errno = saved;
}

void rv_log(enum rv_log_level level, const char *who_key, const char *who,
	    const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_vlog(level, who_key, who, event, fmt, ap);
	va_end(ap);
}
