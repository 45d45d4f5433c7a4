/* SPDX-License-Identifier: MIT */
/*
 * The prefix-mode line splitter (rv_out_format): whole lines, prefixes,
 * overlong lines, the last partial line, and a full output buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "child/output.h"

#define P "web | "

struct fmt {
	char line[64];
	size_t len;
	char out[256];
	size_t out_len;
	bool blocked;
};

static size_t run(struct fmt *f, const char *in, size_t line_max, bool force,
		  bool add_nl, size_t room)
{
	size_t n;

	if (in) {
		memcpy(f->line + f->len, in, strlen(in));
		f->len += strlen(in);
	}
	n = rv_out_format(P, strlen(P), add_nl, f->line, &f->len, line_max,
			  force, f->out + f->out_len, room, &f->blocked);
	f->out_len += n;
	f->out[f->out_len] = '\0';
	return n;
}

static void whole_lines_get_the_prefix(void **state)
{
	struct fmt f = { 0 };

	run(&f, "one\ntwo\nthr", 64, false, true, 200);
	assert_string_equal(f.out, P "one\n" P "two\n");
	assert_int_equal(f.len, 3);		/* "thr" waits for its end */
	assert_memory_equal(f.line, "thr", 3);
	assert_false(f.blocked);
	run(&f, "ee\n", 64, false, true, 200);
	assert_string_equal(f.out, P "one\n" P "two\n" P "three\n");
	assert_int_equal(f.len, 0);
}

static void partial_line_is_flushed_when_forced(void **state)
{
	struct fmt f = { 0 };

	run(&f, "no newline", 64, false, true, 200);
	assert_int_equal(f.out_len, 0);
	run(&f, NULL, 64, true, true, 200);
	assert_string_equal(f.out, P "no newline\n");
	assert_int_equal(f.len, 0);

	/* file mode: the bytes as written, no newline added */
	memset(&f, 0, sizeof(f));
	run(&f, "abc", 64, true, false, 200);
	assert_string_equal(f.out, P "abc");
}

static void overlong_line_is_split(void **state)
{
	struct fmt f = { 0 };

	/* a buffer of 8 full without a newline: out it goes as a piece */
	run(&f, "abcdefgh", 8, false, true, 200);
	assert_string_equal(f.out, P "abcdefgh\n");
	assert_int_equal(f.len, 0);
	run(&f, "ij\n", 8, false, true, 200);
	assert_string_equal(f.out, P "abcdefgh\n" P "ij\n");

	/* a full buffer that ends in a partial line is not a split */
	memset(&f, 0, sizeof(f));
	run(&f, "ab\ncdefg", 8, false, true, 200);
	assert_string_equal(f.out, P "ab\n");
	assert_int_equal(f.len, 5);
}

static void full_output_blocks_without_loss(void **state)
{
	struct fmt f = { 0 };
	size_t one = strlen(P "1\n");

	/* room for exactly two lines of three */
	run(&f, "1\n2\n3\n", 64, false, true, 2 * one + 1);
	assert_true(f.blocked);
	assert_string_equal(f.out, P "1\n" P "2\n");
	assert_int_equal(f.len, 2);
	assert_memory_equal(f.line, "3\n", 2);
	/* once there is room, the rest follows in order */
	run(&f, NULL, 64, false, true, 200);
	assert_false(f.blocked);
	assert_string_equal(f.out, P "1\n" P "2\n" P "3\n");

	/* a line is never cut to fit */
	memset(&f, 0, sizeof(f));
	run(&f, "longer line\n", 64, false, true, 10);
	assert_true(f.blocked);
	assert_int_equal(f.out_len, 0);
	assert_int_equal(f.len, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_lines_get_the_prefix),
		cmocka_unit_test(partial_line_is_flushed_when_forced),
		cmocka_unit_test(overlong_line_is_split),
		cmocka_unit_test(full_output_blocks_without_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
