/* SPDX-License-Identifier: MIT */
/*
 * Structured log lines: "ts=... level=... service=... event=... key=value".
 * One write(2) per line from a stack buffer: no allocation, safe on the hot
 * path.  Event names are listed in docs/log-events.md.
 */
#ifndef RV_LOG_H
#define RV_LOG_H

#include <stdarg.h>

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

/* Quotes s into buf if it needs it ("two words" -> "\"two words\""). */
const char *rv_log_quote(const char *s, char *buf, unsigned long len);

#define rv_log_svc(level, name, event, ...) \
	rv_log(level, "service", name, event, __VA_ARGS__)
#define rv_log_sup(level, name, event, ...) \
	rv_log(level, "supervisor", name, event, __VA_ARGS__)

#endif
