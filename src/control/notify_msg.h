/* SPDX-License-Identifier: MIT */
/*
 * One datagram of the systemd notify protocol (sd_notify(3)), parsed.
 * Pure: no I/O, no allocation, no clock; linear in the message length.
 *
 * The message is newline-separated "KEY=VALUE" lines.  What we take from
 * it, with systemd's rules:
 *   - READY=1, STOPPING=1, RELOADING=1, FDSTORE=1, FDSTOREREMOVE=1: exact
 *     lines, anywhere;
 *   - for every other known key only the *first* line with that key counts
 *     (systemd looks keys up with strv_find_startswith()); a malformed
 *     value leaves that field unset and is not fatal;
 *   - unknown keys and lines without '=' are ignored;
 *   - '\r' separates lines like '\n' (systemd's NEWLINE is "\n\r");
 *   - one trailing NUL byte is allowed; a NUL anywhere else makes the whole
 *     message unusable (systemd drops such messages too).
 */
#ifndef RV_NOTIFY_MSG_H
#define RV_NOTIFY_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest datagram we accept, as systemd's NOTIFY_BUFFER_MAX. */
#define RV_NOTIFY_MSG_MAX 4096

struct rv_notify_msg {
	bool ready;		/* READY=1 */
	bool stopping;		/* STOPPING=1 */
	bool reloading;		/* RELOADING=1 */
	bool watchdog;		/* WATCHDOG=1: keep-alive ping */
	bool watchdog_trigger;	/* WATCHDOG=trigger: act as if it lapsed */
	bool fdstore;		/* FDSTORE=1: keep the datagram's fds */
	bool fdstore_remove;	/* FDSTOREREMOVE=1: drop those named FDNAME= */
	/* FDNAME=, NUL-terminated inside the caller's buffer; NULL: none */
	const char *fdname;
	/* the datagram's SCM_RIGHTS fds (notify.c, not the parser): the
	 * callback keeps one by setting it to -1; the rest are closed */
	int *fds;
	size_t n_fds;
	pid_t mainpid;		/* MAINPID=, > 0; 0 when absent or malformed */
	/*
	 * STATUS=, NUL-terminated, inside the caller's buffer; valid UTF-8
	 * (systemd ignores anything else).  "" means "clear the status";
	 * NULL means no (usable) STATUS= line.
	 */
	const char *status;
	/* Numeric fields; each has_* says whether the value below is set. */
	bool has_extend_timeout;
	bool has_watchdog_usec;
	bool has_monotonic;
	bool has_errno;
	uint64_t extend_timeout_us;	/* EXTEND_TIMEOUT_USEC= */
	uint64_t watchdog_usec;		/* WATCHDOG_USEC= (new interval) */
	uint64_t monotonic_us;		/* MONOTONIC_USEC= (with RELOADING=1) */
	int errno_val;			/* ERRNO=, 0..4095 */
	/* Diagnostics: lines seen, and lines that carried nothing we used
	 * (unknown key, malformed value, a later duplicate, no '='). */
	unsigned n_lines;
	unsigned n_ignored;
};

/*
 * Parses the datagram buf[0..len) into *m (always zeroed first).
 *
 * buf is modified in place: line ends are overwritten with NUL so that
 * m->status can point into it; bufsize is the size of buf and must be at
 * least len + 1 (the byte after the message may become a NUL).  m->status
 * stays valid as long as buf does.
 *
 * Returns 0, or -EINVAL when the message is unusable as a whole: bufsize
 * too small, empty, an embedded NUL byte, or not a single KEY=VALUE line.
 * A message with only unknown keys returns 0 (nothing set), as systemd
 * accepts it.
 */
int rv_notify_msg_parse(struct rv_notify_msg *m, char *buf, size_t len,
			size_t bufsize);

/* true if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool rv_utf8_valid(const char *s, size_t len);

#endif
