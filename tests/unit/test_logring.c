/* SPDX-License-Identifier: MIT */
/*
 * The per-instance output ring of `ringvisor logs`: whole lines from
 * arbitrary chunks, the oldest dropped when full (also across the wrap),
 * overlong lines in pieces, the last partial line at the end, the last N,
 * and the listener.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "child/logring.h"

struct seen {
	char text[64][RV_LOGRING_LINE + 1];
	enum rv_log_stream stream[64];
	int64_t ts[64];
	size_t n;
};

static bool collect(const struct rv_logline *l, void *ctx)
{
	struct seen *s = ctx;

	assert_true(s->n < 64);
	memcpy(s->text[s->n], l->text, l->len);
	s->text[s->n][l->len] = '\0';
	s->stream[s->n] = l->stream;
	s->ts[s->n] = l->realtime_ns;
	s->n++;
	return true;
}

static void feed(struct rv_logring *r, enum rv_log_stream st, const char *s,
		 int64_t ts)
{
	rv_logring_feed(r, st, s, strlen(s), ts, false);
}

static void lines_from_chunks(void **state)
{
	struct rv_logring *r = rv_logring_new("web@0", 4096);
	static struct seen s;

	assert_non_null(r);
	assert_string_equal(rv_logring_name(r), "web@0");
	feed(r, RV_LOG_STDOUT, "one\ntw", 1);
	feed(r, RV_LOG_STDERR, "err\n", 2);
	feed(r, RV_LOG_STDOUT, "o\n\nthree", 3);
	assert_int_equal(rv_logring_count(r), 4);
	rv_logring_feed(r, RV_LOG_STDOUT, NULL, 0, 4, true);
	assert_int_equal(rv_logring_count(r), 5);
	s.n = 0;
	rv_logring_each(r, 0, collect, &s);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.text[0], "one");
	assert_string_equal(s.text[1], "err");
	assert_int_equal(s.stream[1], RV_LOG_STDERR);
	assert_string_equal(s.text[2], "two");
	assert_int_equal(s.ts[2], 3);	/* when its end was read */
	assert_string_equal(s.text[3], "");
	assert_string_equal(s.text[4], "three");
	s.n = 0;
	rv_logring_each(r, 2, collect, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "");
	assert_string_equal(s.text[1], "three");
	rv_logring_free(r);
}

/* Many more lines than fit, of varying sizes: always the newest, in
 * order, and never more bytes than the ring holds. */
static void oldest_dropped_across_wraps(void **state)
{
	struct rv_logring *r = rv_logring_new("w", 4096);
	static struct seen s;
	char line[600], xs[500];
	int i;

	memset(xs, 'x', sizeof(xs));
	for (i = 0; i < 500; i++) {
		int len = snprintf(line, sizeof(line), "%d %.*s\n", i,
				   (i * 37) % 500, xs);
		size_t total = 0;

		rv_logring_feed(r, RV_LOG_STDOUT, line, (size_t)len, i,
				false);
		s.n = 0;
		rv_logring_each(r, 0, collect, &s);
		assert_int_equal(s.n, rv_logring_count(r));
		assert_true(s.n >= 1);
		/* the newest is the line just fed; they are consecutive */
		assert_int_equal(s.ts[s.n - 1], i);
		for (size_t k = 0; k < s.n; k++) {
			assert_int_equal(s.ts[k], i - (int)(s.n - 1 - k));
			total += strlen(s.text[k]) + 16;
		}
		assert_true(total <= 4096);
	}
	rv_logring_free(r);
}

static void overlong_line_in_pieces(void **state)
{
	struct rv_logring *r = rv_logring_new("w", 64 * 1024);
	static struct seen s;
	static char big[RV_LOGRING_LINE * 2 + 11];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 2] = '\n';
	rv_logring_feed(r, RV_LOG_STDOUT, big, sizeof(big) - 1, 1, false);
	s.n = 0;
	rv_logring_each(r, 0, collect, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(strlen(s.text[0]), RV_LOGRING_LINE);
	assert_int_equal(strlen(s.text[1]), RV_LOGRING_LINE);
	assert_int_equal(strlen(s.text[2]), 9);
	rv_logring_free(r);
}

static int calls;
static void on_line(const struct rv_logring *r, const struct rv_logline *l,
		    void *ctx)
{
	assert_ptr_equal(ctx, &calls);
	assert_int_equal(l->len, 2);
	calls++;
}

static void listener_sees_each_line(void **state)
{
	struct rv_logring *r = rv_logring_new("w", 4096);

	rv_logring_listen(on_line, &calls);
	feed(r, RV_LOG_STDOUT, "ab\ncd\nef", 1);
	assert_int_equal(calls, 2);
	rv_logring_listen(NULL, NULL);
	feed(r, RV_LOG_STDOUT, "\n", 1);
	assert_int_equal(calls, 2);
	rv_logring_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_from_chunks),
		cmocka_unit_test(oldest_dropped_across_wraps),
		cmocka_unit_test(overlong_line_in_pieces),
		cmocka_unit_test(listener_sees_each_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
