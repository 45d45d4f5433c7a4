/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: durations.  rv_parse_duration() of the input as text,
 * and rv_format_duration() of its first 8 bytes as an int64.
 *
 * Properties: a parsed duration is >= 0, and formatting it and parsing
 * that gives the same number of nanoseconds (the formatter's output is
 * always exact and parseable); any int64 formats into 32 bytes, NUL-
 * terminated, and a non-negative one round-trips; a negative one formats
 * with a '-' that the parser refuses as out of range.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_parse(int64_t ns)
{
	char buf[32], small[8];
	int64_t back = -1;
	int ret;

	memset(buf, 'x', sizeof(buf));
	if (rv_format_duration(ns, buf, sizeof(buf)) != buf ||
	    !memchr(buf, '\0', sizeof(buf)))
		__builtin_trap();
	ret = rv_parse_duration(buf, &back);
	if (ns >= 0 && (ret || back != ns))
		__builtin_trap();
	if (ns < 0 && ret != -ERANGE)
		__builtin_trap();
	/* a short buffer truncates, never overflows (ASan watches) */
	rv_format_duration(ns, small, sizeof(small));
	if (!memchr(small, '\0', sizeof(small)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t ns = -1, v;
	char *s;
	int ret;

	if (size >= sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		format_parse(v);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = rv_parse_duration(s, &ns);
	if (ret == 0) {
		if (ns < 0)
			__builtin_trap();
		format_parse(ns);
	} else if (ret != -EINVAL && ret != -ERANGE) {
		__builtin_trap();
	} else if (ns != -1) {
		__builtin_trap();	/* untouched on error */
	}
	free(s);
	return 0;
}
