/* SPDX-License-Identifier: MIT */
/*
 * Log lines: batching within a turn, and lines written after the work they
 * describe but placed where their mark was taken (rv_log_mark/rv_log_at).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

struct sink {
	int rd, wr;
};

static int setup(void **state)
{
	static struct sink s;
	int p[2];

	if (pipe(p))
		return -1;
	s.rd = p[0];
	s.wr = p[1];
	rv_log_set_fd(s.wr);
	rv_log_set_level(RV_LOG_INFO);
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	struct sink *s = *state;

	rv_log_batch_end();
	rv_log_set_fd(2);
	close(s->rd);
	close(s->wr);
	return 0;
}

/* What the pipe holds now (nonblocking read of what is there). */
static size_t drain(struct sink *s, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = { .fd = s->rd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 0) <= 0)
			break;
		r = read(s->rd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* The events of buf's lines, in order, joined with ',' into out. */
static const char *events(const char *buf, char *out, size_t cap)
{
	const char *p = buf;

	out[0] = '\0';
	while ((p = strstr(p, " event="))) {
		size_t len = strcspn(p + 7, " \n");

		if (out[0])
			strncat(out, ",", cap - strlen(out) - 1);
		strncat(out, p + 7, len < cap - strlen(out) - 1 ?
			len : cap - strlen(out) - 1);
		p += 7 + len;
	}
	return out;
}

static void unbatched_lines_go_out_at_once(void **state)
{
	struct sink *s = *state;
	char buf[4096], ev[256];

	rv_log(RV_LOG_INFO, "service", "a", "one", " k=%d", 1);
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "one");
	assert_non_null(strstr(buf, "level=info service=a event=one k=1\n"));
}

static void batched_lines_wait_for_the_end(void **state)
{
	struct sink *s = *state;
	char buf[4096], ev[256];

	rv_log_batch_begin();
	rv_log(RV_LOG_INFO, "service", "a", "one", "%s", "");
	rv_log(RV_LOG_WARN, "service", "a", "two", "%s", "");
	assert_int_equal(drain(s, buf, sizeof(buf)), 0);
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "one,two");
}

static void flush_writes_what_is_there(void **state)
{
	struct sink *s = *state;
	char buf[4096], ev[256];

	rv_log_batch_begin();
	rv_log(RV_LOG_INFO, "service", "a", "one", "%s", "");
	rv_log_flush();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "one");
	rv_log(RV_LOG_INFO, "service", "a", "two", "%s", "");
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "two");
}

/* exit -> restart_scheduled -> start, written start first (service.c) */
static void nested_marks_keep_their_order(void **state)
{
	struct sink *s = *state;
	struct rv_log_mark exit_mark, sched_mark;
	char buf[4096], ev[256];

	rv_log_batch_begin();
	rv_log(RV_LOG_INFO, "service", "z", "before", "%s", "");
	rv_log_mark(&exit_mark);
	rv_log_mark(&sched_mark);
	rv_log(RV_LOG_INFO, "service", "a", "start", " pid=%d", 2);
	rv_log_at(&sched_mark, RV_LOG_INFO, "service", "a",
		  "restart_scheduled", "%s", "");
	rv_log_at(&exit_mark, RV_LOG_WARN, "service", "a", "exit",
		  " pid=%d", 1);
	rv_log(RV_LOG_INFO, "service", "z", "after", "%s", "");
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)),
			    "before,exit,restart_scheduled,start,after");
	/* whole lines only */
	assert_non_null(strstr(buf, "event=exit pid=1\n"));
	assert_non_null(strstr(buf, "event=start pid=2\n"));
}

static void marks_resolved_in_order_too(void **state)
{
	struct sink *s = *state;
	struct rv_log_mark m1, m2;
	char buf[4096], ev[256];

	rv_log_batch_begin();
	rv_log_mark(&m1);
	rv_log(RV_LOG_INFO, "service", "a", "x", "%s", "");
	rv_log_mark(&m2);
	rv_log(RV_LOG_INFO, "service", "a", "y", "%s", "");
	rv_log_at(&m1, RV_LOG_INFO, "service", "a", "m1", "%s", "");
	rv_log_at(&m2, RV_LOG_INFO, "service", "a", "m2", "%s", "");
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "m1,x,m2,y");
}

static void mark_time_is_kept(void **state)
{
	struct sink *s = *state;
	struct rv_log_mark m;
	char buf[4096];

	rv_log_batch_begin();
	rv_log_mark(&m);
	m.sec = 0;		/* 1970-01-01T00:00:00 */
	m.nsec = 123456000;
	rv_log_at(&m, RV_LOG_INFO, "service", "a", "old", "%s", "");
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "ts=1970-01-01T00:00:00.123456Z "));
}

/* Written out in between: its place is gone, so it is appended. */
static void mark_after_a_flush_appends(void **state)
{
	struct sink *s = *state;
	struct rv_log_mark m;
	char buf[4096], ev[256];

	rv_log_batch_begin();
	rv_log_mark(&m);
	rv_log(RV_LOG_INFO, "service", "a", "one", "%s", "");
	rv_log_flush();
	rv_log(RV_LOG_INFO, "service", "a", "two", "%s", "");
	rv_log_at(&m, RV_LOG_INFO, "service", "a", "late", "%s", "");
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "one,two,late");
}

/* A full buffer is written out; no line is ever split or lost. */
static void overflow_keeps_whole_lines(void **state)
{
	struct sink *s = *state;
	static char buf[65536];
	char pad[300];
	int n = 0;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	rv_log_batch_begin();
	for (int i = 0; i < 40; i++)
		rv_log(RV_LOG_INFO, "service", "a", "fill", " i=%d pad=%s", i,
		       pad);
	rv_log_batch_end();
	drain(s, buf, sizeof(buf));
	for (const char *p = buf; (p = strstr(p, " event=fill i=")); p++) {
		int i;

		assert_int_equal(sscanf(p, " event=fill i=%d", &i), 1);
		assert_int_equal(i, n);
		n++;
	}
	assert_int_equal(n, 40);
}

static void filtered_levels_are_not_written(void **state)
{
	struct sink *s = *state;
	struct rv_log_mark m;
	char buf[4096], ev[256];

	rv_log_set_level(RV_LOG_WARN);
	rv_log_batch_begin();
	rv_log_mark(&m);
	rv_log(RV_LOG_INFO, "service", "a", "quiet", "%s", "");
	rv_log_at(&m, RV_LOG_INFO, "service", "a", "quiet2", "%s", "");
	rv_log(RV_LOG_WARN, "service", "a", "loud", "%s", "");
	rv_log_batch_end();
	rv_log_set_level(RV_LOG_INFO);
	drain(s, buf, sizeof(buf));
	assert_string_equal(events(buf, ev, sizeof(ev)), "loud");
}

/* log_target = auto: the journal only when JOURNAL_STREAM names fd's file */
static void journal_stream_is_matched_by_dev_and_ino(void **state)
{
	char path[] = "/tmp/rv-test-log-XXXXXX", v[64];
	int fd = mkstemp(path);
	struct stat st;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(rv_log_is_journal_stream(v, fd));
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(rv_log_is_journal_stream(v, fd));
	snprintf(v, sizeof(v), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_false(rv_log_is_journal_stream(v, fd));
	assert_false(rv_log_is_journal_stream(NULL, fd));
	assert_false(rv_log_is_journal_stream("", fd));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unbatched_lines_go_out_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(batched_lines_wait_for_the_end,
						setup, teardown),
		cmocka_unit_test_setup_teardown(flush_writes_what_is_there,
						setup, teardown),
		cmocka_unit_test_setup_teardown(nested_marks_keep_their_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(marks_resolved_in_order_too,
						setup, teardown),
		cmocka_unit_test_setup_teardown(mark_time_is_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(mark_after_a_flush_appends,
						setup, teardown),
		cmocka_unit_test_setup_teardown(overflow_keeps_whole_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(filtered_levels_are_not_written,
						setup, teardown),
		cmocka_unit_test(journal_stream_is_matched_by_dev_and_ino),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
