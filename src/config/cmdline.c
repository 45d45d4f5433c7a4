// SPDX-License-Identifier: MIT
/*
 * Command lines: shell-like word splitting with no expansion of its own ($,
 * *, ~ and # are plain characters here: $VAR was expanded from the
 * supervisor's environment before, by config/expand.c), and the %i
 * instance substitution.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

struct words {
	char **v;
	int n;
	int cap;
};

static int words_push(struct words *w, const char *s, size_t len)
{
	char *copy;

	if (w->n + 2 > w->cap) {
		int cap = w->cap ? w->cap * 2 : 8;
		char **v = realloc(w->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	w->v[w->n++] = copy;
	w->v[w->n] = NULL;
	return 0;
}

/*
 * Gives back the array's spare room: it lives as long as its spec (one per
 * section), and most commands are a word or two in room for eight.  A
 * shrink that fails (it does not, in practice) is an allocation failure
 * like any other: the load's contract is -ENOMEM, never "it depends".
 */
static int words_fit(struct words *w)
{
	char **v = realloc(w->v, (size_t)(w->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	w->v = v;
	w->cap = w->n + 1;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int split_fail(struct words *w, int ret, const char *why, char *err,
		      size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	if (w->v) {
		w->v[w->n] = NULL;
		rv_argv_free(w->v);
	}
	return ret;
}

int rv_split_command(const char *s, char ***out_argv, int *out_argc,
		     char *err, size_t errlen)
{
	struct words w = { 0 };
	char *word;
	size_t len = 0;
	bool in_word = false;
	int ret;

	/* no word is longer than the input: one scratch buffer for all */
	word = malloc(strlen(s) + 1);
	if (!word)
		return split_fail(&w, -ENOMEM, "out of memory", err, errlen);

	for (;;) {
		char c = *s++;

		if (!c || is_blank(c)) {
			if (in_word) {
				ret = words_push(&w, word, len);
				if (ret)
					goto err_free_word;
			}
			in_word = false;
			len = 0;
			if (!c)
				break;
			continue;
		}
		in_word = true;
		if (c == '\\') {
			if (!*s) {
				free(word);
				return split_fail(&w, -EINVAL,
						  "trailing backslash", err,
						  errlen);
			}
			word[len++] = *s++;
		} else if (c == '\'') {
			const char *end = strchr(s, '\'');

			if (!end) {
				free(word);
				return split_fail(&w, -EINVAL,
						  "unterminated single quote",
						  err, errlen);
			}
			memcpy(word + len, s, (size_t)(end - s));
			len += (size_t)(end - s);
			s = end + 1;
		} else if (c == '"') {
			for (;;) {
				c = *s++;
				if (!c) {
					free(word);
					return split_fail(&w, -EINVAL,
						"unterminated double quote",
						err, errlen);
				}
				if (c == '"')
					break;
				/* POSIX: inside "", only these are escaped */
				if (c == '\\' && *s && strchr("\"\\$`", *s))
					c = *s++;
				word[len++] = c;
			}
		} else {
			word[len++] = c;
		}
	}
	free(word);
	if (!w.n)
		return split_fail(&w, -EINVAL, "empty command", err, errlen);
	if (words_fit(&w))
		return split_fail(&w, -ENOMEM, "out of memory", err, errlen);
	*out_argv = w.v;
	if (out_argc)
		*out_argc = w.n;
	return 0;

err_free_word:
	free(word);
	return split_fail(&w, ret, "out of memory", err, errlen);
}

void rv_argv_free(char **argv)
{
	char **p;

	if (!argv)
		return;
	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}

int rv_expand_instance(const char *s, unsigned int instance, char **out)
{
	char num[16];
	size_t n = 0, numlen;
	const char *p;
	char *r, *q;

	numlen = (size_t)snprintf(num, sizeof(num), "%u", instance);
	for (p = s; (p = strchr(p, '%')); p += p[1] ? 2 : 1)
		n += p[1] == 'i';
	r = malloc(strlen(s) + n * numlen + 1);
	if (!r)
		return -ENOMEM;
	for (q = r; *s; ) {
		if (s[0] == '%' && s[1] == 'i') {
			memcpy(q, num, numlen);
			q += numlen;
			s += 2;
		} else if (s[0] == '%' && s[1] == '%') {
			*q++ = '%';
			s += 2;
		} else {
			*q++ = *s++;
		}
	}
	*q = '\0';
	*out = r;
	return 0;
}
