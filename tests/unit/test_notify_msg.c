/* SPDX-License-Identifier: MIT */
/*
 * The notify-message parser: exact field values for good messages,
 * systemd's rules for duplicates and malformed values, and the messages
 * that are refused as a whole.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/notify_msg.h"

/* Parses a copy of s[0..len) in a buffer of exactly len + 1 bytes, so
 * that ASan sees any read or write past it. */
struct parsed {
	struct rv_notify_msg m;
	char *buf;
	int ret;
};

static struct parsed *parse_n(const char *s, size_t len)
{
	struct parsed *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->buf = malloc(len + 1);
	assert_non_null(p->buf);
	memcpy(p->buf, s, len);
	p->buf[len] = 'X';	/* the parser may overwrite it, not read it */
	p->ret = rv_notify_msg_parse(&p->m, p->buf, len, len + 1);
	return p;
}

static struct parsed *parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void done(struct parsed *p)
{
	free(p->buf);
	free(p);
}

static void test_full_message(void **state)
{
	struct parsed *p = parse("READY=1\nSTATUS=Serving 12 clients\n"
				 "WATCHDOG=1\nMAINPID=123\nSTOPPING=1\n"
				 "EXTEND_TIMEOUT_USEC=5000000\nERRNO=2\n"
				 "RELOADING=1\nWATCHDOG_USEC=30000000\n"
				 "MONOTONIC_USEC=18446744073709551615\n"
				 "FDSTORE=1");

	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_true(p->m.stopping);
	assert_true(p->m.reloading);
	assert_true(p->m.watchdog);
	assert_false(p->m.watchdog_trigger);
	assert_true(p->m.fdstore);
	assert_int_equal(p->m.mainpid, 123);
	assert_string_equal(p->m.status, "Serving 12 clients");
	assert_true(p->m.has_extend_timeout);
	assert_true(p->m.extend_timeout_us == 5000000);
	assert_true(p->m.has_errno);
	assert_int_equal(p->m.errno_val, 2);
	assert_true(p->m.has_watchdog_usec);
	assert_true(p->m.watchdog_usec == 30000000);
	assert_true(p->m.has_monotonic);
	assert_true(p->m.monotonic_us == UINT64_MAX);
	assert_int_equal(p->m.n_lines, 11);
	assert_int_equal(p->m.n_ignored, 0);
	/* status points into the buffer and is terminated there */
	assert_true(p->m.status >= p->buf &&
		    p->m.status < p->buf + strlen("READY=1\nSTATUS=") + 1);
	done(p);
}

static void test_single_fields(void **state)
{
	struct parsed *p;

	p = parse("READY=1");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_false(p->m.stopping);
	assert_false(p->m.reloading);
	assert_false(p->m.watchdog);
	assert_int_equal(p->m.mainpid, 0);
	assert_null(p->m.status);
	assert_false(p->m.has_extend_timeout);
	assert_false(p->m.has_errno);
	assert_int_equal(p->m.n_lines, 1);
	done(p);

	p = parse("WATCHDOG=trigger");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.watchdog_trigger);
	assert_false(p->m.watchdog);
	done(p);

	/* the status ends at the buffer's end: terminated in buf[len] */
	p = parse("STATUS=last");
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->m.status, "last");
	assert_int_equal(p->buf[strlen("STATUS=last")], '\0');
	done(p);

	p = parse("EXTEND_TIMEOUT_USEC=0");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.has_extend_timeout);
	assert_true(p->m.extend_timeout_us == 0);
	done(p);

	p = parse("ERRNO=0");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.has_errno);
	assert_int_equal(p->m.errno_val, 0);
	done(p);

	p = parse("MAINPID=2147483647");
	assert_int_equal(p->ret, 0);
	assert_int_equal(p->m.mainpid, INT_MAX);
	done(p);
}

static void test_empty_status_clears(void **state)
{
	struct parsed *p = parse("STATUS=\nREADY=1");

	assert_int_equal(p->ret, 0);
	assert_non_null(p->m.status);
	assert_string_equal(p->m.status, "");
	assert_true(p->m.ready);
	done(p);
}

static void test_status_utf8(void **state)
{
	struct parsed *p;

	p = parse("STATUS=caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->m.status,
			    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
	done(p);

	/* invalid UTF-8: ignored, as systemd does; the rest still counts */
	static const char *const bad[] = {
		"STATUS=\xff\nREADY=1",
		"STATUS=\xc3\nREADY=1",		/* truncated sequence */
		"STATUS=\xc0\xaf\nREADY=1",	/* overlong '/' */
		"STATUS=\xed\xa0\x80\nREADY=1",	/* surrogate */
		"STATUS=\xf4\x90\x80\x80\nREADY=1",	/* > U+10FFFF */
		"STATUS=\x80\nREADY=1",		/* lone continuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		p = parse(bad[i]);
		assert_int_equal(p->ret, 0);
		assert_null(p->m.status);
		assert_true(p->m.ready);
		assert_int_equal(p->m.n_ignored, 1);
		done(p);
	}
}

static void test_malformed_values_ignored(void **state)
{
	static const char *const msgs[] = {
		"MAINPID=abc\nREADY=1",
		"MAINPID=0\nREADY=1",
		"MAINPID=-5\nREADY=1",
		"MAINPID=+5\nREADY=1",
		"MAINPID= 5\nREADY=1",
		"MAINPID=5 \nREADY=1",
		"MAINPID=\nREADY=1",
		"MAINPID=2147483648\nREADY=1",
		"MAINPID=99999999999999999999999\nREADY=1",
		"EXTEND_TIMEOUT_USEC=18446744073709551616\nREADY=1",
		"EXTEND_TIMEOUT_USEC=1s\nREADY=1",
		"EXTEND_TIMEOUT_USEC=\nREADY=1",
		"ERRNO=4096\nREADY=1",
		"ERRNO=-1\nREADY=1",
		"ERRNO=ENOENT\nREADY=1",
		"WATCHDOG=2\nREADY=1",
		"WATCHDOG=\nREADY=1",
		"WATCHDOG=1 \nREADY=1",
		"WATCHDOG_USEC=x\nREADY=1",
		"MONOTONIC_USEC=\nREADY=1",
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		struct parsed *p = parse(msgs[i]);

		assert_int_equal(p->ret, 0);
		assert_true(p->m.ready);
		assert_int_equal(p->m.mainpid, 0);
		assert_false(p->m.has_extend_timeout);
		assert_false(p->m.has_errno);
		assert_false(p->m.watchdog);
		assert_false(p->m.watchdog_trigger);
		assert_false(p->m.has_watchdog_usec);
		assert_false(p->m.has_monotonic);
		assert_int_equal(p->m.n_lines, 2);
		assert_int_equal(p->m.n_ignored, 1);
		done(p);
	}
}

/* READY=yes, READY=0, "READY=1 ": not READY=1, exactly as systemd. */
static void test_flags_are_exact_lines(void **state)
{
	static const char *const msgs[] = {
		"READY=0", "READY=yes", "READY=1 ", " READY=1", "ready=1",
		"READY=11", "STOPPING=true", "RELOADING=2",
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		struct parsed *p = parse(msgs[i]);

		assert_int_equal(p->ret, 0);
		assert_false(p->m.ready);
		assert_false(p->m.stopping);
		assert_false(p->m.reloading);
		assert_int_equal(p->m.n_ignored, 1);
		done(p);
	}
}

/* For keyed fields the first line wins, valid or not (strv_find_startswith). */
static void test_first_occurrence_wins(void **state)
{
	struct parsed *p;

	p = parse("MAINPID=10\nMAINPID=20\nSTATUS=one\nSTATUS=two");
	assert_int_equal(p->ret, 0);
	assert_int_equal(p->m.mainpid, 10);
	assert_string_equal(p->m.status, "one");
	assert_int_equal(p->m.n_ignored, 2);
	done(p);

	p = parse("MAINPID=bad\nMAINPID=20");
	assert_int_equal(p->ret, 0);
	assert_int_equal(p->m.mainpid, 0);
	done(p);

	p = parse("WATCHDOG=1\nWATCHDOG=trigger");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.watchdog);
	assert_false(p->m.watchdog_trigger);
	done(p);

	/* the exact-line flags may repeat */
	p = parse("READY=1\nREADY=1");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_int_equal(p->m.n_ignored, 0);
	done(p);
}

static void test_unknown_and_junk_lines(void **state)
{
	struct parsed *p;

	p = parse("FOO=bar\nno equals sign\n=novalue\nREADY=1\nBUSERROR=x");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_int_equal(p->m.n_lines, 5);
	assert_int_equal(p->m.n_ignored, 4);
	done(p);

	/* only unknown keys: a valid message that sets nothing */
	p = parse("X_CUSTOM=1");
	assert_int_equal(p->ret, 0);
	assert_false(p->m.ready);
	assert_int_equal(p->m.n_lines, 1);
	done(p);

	/* a key that is a prefix or extension of a known one */
	p = parse("STATUSX=1\nSTATU=2\nMAINPIDFD=1");
	assert_int_equal(p->ret, 0);
	assert_null(p->m.status);
	assert_int_equal(p->m.mainpid, 0);
	assert_int_equal(p->m.n_ignored, 3);
	done(p);
}

static void test_separators(void **state)
{
	struct parsed *p;

	p = parse("\n\nREADY=1\r\nSTATUS=a b\r\n\n");
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_string_equal(p->m.status, "a b");
	assert_int_equal(p->m.n_lines, 2);
	done(p);

	/* the value keeps everything after the first '=' */
	p = parse("STATUS=a=b=c");
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->m.status, "a=b=c");
	done(p);
}

static void test_nul_bytes(void **state)
{
	struct parsed *p;

	/* one trailing NUL is fine (some clients send C strings) */
	p = parse_n("READY=1\0", 8);
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	done(p);

	p = parse_n("STATUS=x\0", 9);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->m.status, "x");
	done(p);

	/* anywhere else: the whole message is refused, as systemd does */
	p = parse_n("READY=1\0STATUS=x", 16);
	assert_int_equal(p->ret, -EINVAL);
	assert_false(p->m.ready);
	assert_null(p->m.status);
	done(p);

	p = parse_n("READY=1\0\0", 9);
	assert_int_equal(p->ret, -EINVAL);
	done(p);

	p = parse_n("\0", 1);
	assert_int_equal(p->ret, -EINVAL);
	done(p);
}

static void test_unusable(void **state)
{
	static const char *const msgs[] = {
		"", "\n", "\r\n\n", "hello", "hello\nworld", "=", "=x\n=y",
	};
	struct rv_notify_msg m;
	char buf[16] = "READY=1";

	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		struct parsed *p = parse(msgs[i]);

		assert_int_equal(p->ret, -EINVAL);
		assert_false(p->m.ready);
		assert_int_equal(p->m.n_lines, 0);
		done(p);
	}
	/* no room for the terminating NUL */
	assert_int_equal(rv_notify_msg_parse(&m, buf, 7, 7), -EINVAL);
	assert_int_equal(rv_notify_msg_parse(&m, NULL, 0, 1), -EINVAL);
	assert_int_equal(rv_notify_msg_parse(&m, buf, 7, 8), 0);
	assert_true(m.ready);
}

/* The largest message we take, all of it lines: linear work, exact count. */
static void test_large_message(void **state)
{
	char *s = malloc(RV_NOTIFY_MSG_MAX + 1);
	size_t o = 0;
	struct parsed *p;
	unsigned lines = 0;

	assert_non_null(s);
	while (o + 8 <= RV_NOTIFY_MSG_MAX) {
		memcpy(s + o, "READY=1\n", 8);
		o += 8;
		lines++;
	}
	p = parse_n(s, o);
	assert_int_equal(p->ret, 0);
	assert_true(p->m.ready);
	assert_int_equal(p->m.n_lines, lines);
	done(p);

	/* one long status line */
	memcpy(s, "STATUS=", 7);
	memset(s + 7, 'a', RV_NOTIFY_MSG_MAX - 7);
	p = parse_n(s, RV_NOTIFY_MSG_MAX);
	assert_int_equal(p->ret, 0);
	assert_int_equal(strlen(p->m.status), RV_NOTIFY_MSG_MAX - 7);
	done(p);
	free(s);
}

static void test_utf8_helper(void **state)
{
	assert_true(rv_utf8_valid("", 0));
	assert_true(rv_utf8_valid("plain", 5));
	assert_true(rv_utf8_valid("\xef\xbf\xbf", 3));		/* U+FFFF */
	assert_true(rv_utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	assert_false(rv_utf8_valid("\xe0\x80\x80", 3));		/* overlong */
	assert_false(rv_utf8_valid("\xf0\x80\x80\x80", 4));	/* overlong */
	assert_false(rv_utf8_valid("\xf8\x88\x80\x80\x80", 5));
	assert_false(rv_utf8_valid("\xe2\x9c", 2));		/* truncated */
	/* the length is respected: a valid prefix of an invalid string */
	assert_true(rv_utf8_valid("ab\xff", 2));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_message),
		cmocka_unit_test(test_single_fields),
		cmocka_unit_test(test_empty_status_clears),
		cmocka_unit_test(test_status_utf8),
		cmocka_unit_test(test_malformed_values_ignored),
		cmocka_unit_test(test_flags_are_exact_lines),
		cmocka_unit_test(test_first_occurrence_wins),
		cmocka_unit_test(test_unknown_and_junk_lines),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_large_message),
		cmocka_unit_test(test_utf8_helper),
	};

	return cmocka_run_group_tests_name("notify_msg", tests, NULL, NULL);
}
