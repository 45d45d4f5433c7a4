/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum rv_log_level log_min = RV_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void rv_log_set_fd(int fd)
{
	log_fd = fd;
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

void rv_vlog(enum rv_log_level level, const char *who_key, const char *who,
	     const char *event, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t o;
	int n;
	int saved = errno;	/* logging must not disturb the caller's errno */

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	o = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + o, sizeof(line) - o, ".%06ldZ level=%s",
		     ts.tv_nsec / 1000, level_names[level]);
	o += (size_t)n;
	if (who_key && who) {
		char q[256];

		n = snprintf(line + o, sizeof(line) - o, " %s=%s", who_key,
			     rv_log_quote(who, q, sizeof(q)));
		if (n > 0)
			o += (size_t)n;
	}
	n = snprintf(line + o, sizeof(line) - o, " event=%s", event);
	if (n > 0)
		o += (size_t)n;
	if (o < sizeof(line) && fmt && *fmt) {
		n = vsnprintf(line + o, sizeof(line) - o, fmt, ap);
		if (n > 0)
			o += (size_t)n;
	}
	if (o >= sizeof(line) - 1)
		o = sizeof(line) - 2;	/* truncated: still one whole line */
	line[o++] = '\n';
	/* One write per line so lines from several writers never interleave;
	 * a failed log write has nowhere to be reported, so it is dropped. */
	while (write(log_fd, line, o) < 0 && errno == EINTR)
		;
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
