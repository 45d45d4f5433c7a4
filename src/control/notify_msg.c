/* SPDX-License-Identifier: MIT */
#include "control/notify_msg.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* systemd's ERRNO_MAX: the largest value parse_errno() accepts. */
#define RV_ERRNO_MAX 4095

bool rv_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp, min;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;	/* continuation byte or 0xf8..0xff */
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Decimal digits only, no sign or spaces, no overflow. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool is_line(const char *line, size_t len, const char *want)
{
	size_t n = strlen(want);

	return len == n && !memcmp(line, want, n);
}

/*
 * The keys whose first occurrence counts.  A bit per key remembers that it
 * has been seen, valid or not.
 */
enum key {
	K_MAINPID,
	K_STATUS,
	K_WATCHDOG,
	K_EXTEND,
	K_WATCHDOG_USEC,
	K_MONOTONIC,
	K_ERRNO,
	K_FDNAME,
	K_NKEYS,
};

static const struct {
	const char *name;
	size_t len;
} keys[K_NKEYS] = {
#define KEY(k, s) [k] = { s, sizeof(s) - 1 }
	KEY(K_MAINPID, "MAINPID"),
	KEY(K_STATUS, "STATUS"),
	KEY(K_WATCHDOG, "WATCHDOG"),
	KEY(K_EXTEND, "EXTEND_TIMEOUT_USEC"),
	KEY(K_WATCHDOG_USEC, "WATCHDOG_USEC"),
	KEY(K_MONOTONIC, "MONOTONIC_USEC"),
	KEY(K_ERRNO, "ERRNO"),
	KEY(K_FDNAME, "FDNAME"),
#undef KEY
};

/*
 * One value of a first-seen key.  Returns true if a field was set.  val is
 * NUL-terminated at val[vlen] (the parser wrote it there).
 */
static bool take_value(struct rv_notify_msg *m, enum key k, const char *val,
		       size_t vlen)
{
	uint64_t v;

	switch (k) {
	case K_MAINPID:
		if (!parse_u64(val, vlen, &v) || v == 0 || v > INT_MAX)
			return false;
		m->mainpid = (pid_t)v;
		return true;
	case K_STATUS:
		if (!rv_utf8_valid(val, vlen))
			return false;
		m->status = val;
		return true;
	case K_WATCHDOG:
		if (vlen == 1 && val[0] == '1')
			m->watchdog = true;
		else if (vlen == 7 && !memcmp(val, "trigger", 7))
			m->watchdog_trigger = true;
		else
			return false;
		return true;
	case K_EXTEND:
		if (!parse_u64(val, vlen, &m->extend_timeout_us))
			return false;
		m->has_extend_timeout = true;
		return true;
	case K_WATCHDOG_USEC:
		if (!parse_u64(val, vlen, &m->watchdog_usec))
			return false;
		m->has_watchdog_usec = true;
		return true;
	case K_MONOTONIC:
		if (!parse_u64(val, vlen, &m->monotonic_us))
			return false;
		m->has_monotonic = true;
		return true;
	case K_ERRNO:
		if (!parse_u64(val, vlen, &v) || v > RV_ERRNO_MAX)
			return false;
		m->errno_val = (int)v;
		m->has_errno = true;
		return true;
	case K_FDNAME:
		/* checked where it is used (tree/fdpass.c) */
		m->fdname = val;
		return true;
	case K_NKEYS:
	default:
		return false;
	}
}

/* One line, NUL-terminated at line[len].  true if it was used. */
static bool take_line(struct rv_notify_msg *m, char *line, size_t len,
		      unsigned *seen)
{
	const char *eq = memchr(line, '=', len);
	size_t klen;

	if (is_line(line, len, "READY=1"))
		return m->ready = true;
	if (is_line(line, len, "STOPPING=1"))
		return m->stopping = true;
	if (is_line(line, len, "RELOADING=1"))
		return m->reloading = true;
	if (is_line(line, len, "FDSTORE=1"))
		return m->fdstore = true;
	if (is_line(line, len, "FDSTOREREMOVE=1"))
		return m->fdstore_remove = true;
	if (!eq)
		return false;
	klen = (size_t)(eq - line);
	for (unsigned k = 0; k < K_NKEYS; k++) {
		if (klen != keys[k].len || memcmp(line, keys[k].name, klen))
			continue;
		if (*seen & (1u << k))
			return false;	/* only the first one counts */
		*seen |= 1u << k;
		return take_value(m, (enum key)k, eq + 1, len - klen - 1);
	}
	return false;
}

int rv_notify_msg_parse(struct rv_notify_msg *m, char *buf, size_t len,
			size_t bufsize)
{
	unsigned seen = 0;
	bool assignment = false;
	size_t start = 0;

	memset(m, 0, sizeof(*m));
	if (!buf || bufsize <= len)
		return -EINVAL;
	/* one trailing NUL is tolerated, as systemd does */
	if (len && buf[len - 1] == '\0')
		len--;
	if (!len || memchr(buf, '\0', len))
		return -EINVAL;
	buf[len] = '\0';
	for (size_t i = 0; i <= len; i++) {
		size_t n;

		if (i < len && buf[i] != '\n' && buf[i] != '\r')
			continue;
		n = i - start;
		buf[i] = '\0';
		if (n) {
			char *line = buf + start;

			m->n_lines++;
			if (memchr(line, '=', n) && line[0] != '=')
				assignment = true;
			if (!take_line(m, line, n, &seen))
				m->n_ignored++;
		}
		start = i + 1;
	}
	if (!assignment) {
		memset(m, 0, sizeof(*m));
		return -EINVAL;
	}
	return 0;
}
