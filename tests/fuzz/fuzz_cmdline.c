/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: command-line splitting (rv_split_command) and the %i
 * instance substitution (rv_expand_instance).
 *
 * Properties: a split argv is NULL-terminated at argc, no word is longer
 * than the input, and quoting each word with '...' (a ' as '\'') and
 * splitting the joined result gives the same words back.  An expansion
 * has exactly the length the substitution rules predict.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 'word' with every ' written as '\'' */
static size_t quote(const char *w, char *out)
{
	size_t n = 0;

	out[n++] = '\'';
	for (; *w; w++) {
		if (*w == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *w;
		}
	}
	out[n++] = '\'';
	return n;
}

static void round_trip(char **argv, int argc, size_t in_len)
{
	char *joined = malloc(in_len * 4 + (size_t)argc * 3 + 1);
	char **again = NULL;
	int argc2 = -1;
	size_t n = 0;

	if (!joined)
		return;
	for (int i = 0; i < argc; i++) {
		if (i)
			joined[n++] = ' ';
		n += quote(argv[i], joined + n);
	}
	joined[n] = '\0';
	if (rv_split_command(joined, &again, &argc2, NULL, 0))
		__builtin_trap();
	if (argc2 != argc)
		__builtin_trap();
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], again[i]))
			__builtin_trap();
	rv_argv_free(again);
	free(joined);
}

static void expand(const char *s, unsigned int instance)
{
	char num[16];
	size_t want = 0, numlen;
	char *out = NULL;

	numlen = (size_t)snprintf(num, sizeof(num), "%u", instance);
	for (const char *p = s; *p; ) {
		if (p[0] == '%' && p[1] == 'i') {
			want += numlen;
			p += 2;
		} else if (p[0] == '%' && p[1] == '%') {
			want++;
			p += 2;
		} else {
			want++;
			p++;
		}
	}
	if (rv_expand_instance(s, instance, &out))
		return;		/* -ENOMEM only */
	if (strlen(out) != want)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, **argv = NULL, err[64];
	unsigned int instance = 0;
	int argc = -1, ret;

	if (size >= 2) {	/* the first two bytes pick an instance */
		instance = (unsigned int)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	size = strlen(s);	/* a config value never holds a NUL */
	memset(err, 'x', sizeof(err));
	ret = rv_split_command(s, &argv, &argc, err, sizeof(err));
	if (ret == 0) {
		if (argc < 1 || !argv || argv[argc])
			__builtin_trap();
		for (int i = 0; i < argc; i++)
			if (!argv[i] || strlen(argv[i]) > size)
				__builtin_trap();
		round_trip(argv, argc, size);
		rv_argv_free(argv);
	} else if (ret != -EINVAL || !memchr(err, '\0', sizeof(err))) {
		__builtin_trap();	/* malformed, with a reason */
	}
	expand(s, instance);
	free(s);
	return 0;
}
