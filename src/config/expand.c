// SPDX-License-Identifier: MIT
/* $VAR, ${VAR}, ${VAR:-WORD} and $$ in config values (expand.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/expand.h"

const char *rv_env_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* A growing output string; a failed growth is sticky. */
struct buf {
	char *s;
	size_t len, cap;
	bool enomem;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->enomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (!p) {
			b->enomem = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

__attribute__((format(printf, 4, 5)))
static int fail(struct buf *b, char *why, size_t whylen, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	free(b->s);
	return -EINVAL;
}

/*
 * Length of what is copied as it is from s on, in words mode: a '...'
 * outside "..." (to its closing quote, or the end: the split reports
 * that), or a backslash and the character it escapes.  0: nothing.
 */
static size_t quoted_len(const char *s, bool in_double)
{
	const char *end;

	if (*s == '\\')
		return s[1] ? 2 : 1;
	if (*s != '\'' || in_double)
		return 0;
	end = strchr(s + 1, '\'');
	return end ? (size_t)(end - s) + 1 : strlen(s);
}

int rv_expand_vars(const char *s, bool words, rv_env_lookup *lookup,
		   void *ctx, char **out, char *why, size_t whylen)
{
	struct buf b = { 0 };
	bool in_double = false;
	char name[256];

	put(&b, "", 0);
	while (*s) {
		const char *end, *def = NULL, *val;
		size_t n, deflen = 0;

		if (words && (n = quoted_len(s, in_double))) {
			put(&b, s, n);
			s += n;
			continue;
		}
		if (*s != '$') {
			in_double ^= words && *s == '"';
			put(&b, s++, 1);
			continue;
		}
		s++;
		if (*s == '$') {
			put(&b, "$", 1);
			s++;
			continue;
		}
		if (*s == '{') {
			end = strchr(s, '}');
			if (!end)
				return fail(&b, why, whylen, "%s",
					    "unterminated ${ (missing '}')");
			s++;
			for (n = 0; s + n < end && name_char(s[n]); n++)
				;
			if (s + n + 1 < end && s[n] == ':' && s[n + 1] == '-') {
				def = s + n + 2;
				deflen = (size_t)(end - def);
			} else if (s + n != end) {
				n = 0;	/* junk in the braces */
			}
		} else if (name_start(*s)) {
			for (n = 0; name_char(s[n]); n++)
				;
			end = s + n - 1;	/* its last character */
		} else {
			put(&b, "$", 1);	/* "$1", "$ ": not ours */
			continue;
		}
		if (!n || !name_start(*s) || n >= sizeof(name))
			return fail(&b, why, whylen,
				    "bad variable name in ${%.*s}",
				    (int)(end - s), s);
		memcpy(name, s, n);
		name[n] = '\0';
		val = lookup(name, ctx);
		if (def && (!val || !*val))
			put(&b, def, deflen);
		else if (val)
			put(&b, val, strlen(val));
		else
			return fail(&b, why, whylen,
				    "undefined variable %.*s (set it in "
				    "ringvisor's environment, or write $$ for "
				    "a literal $)", (int)n, name);
		s = end + 1;
	}
	if (b.enomem) {
		free(b.s);
		return -ENOMEM;
	}
	*out = b.s;
	return 0;
}
