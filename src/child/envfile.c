/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/envfile.h"
#include "config/parse.h"

/* An environment file larger than this is a mistake, not a config. */
#define ENVFILE_MAX (1 << 20)

struct strvec {
	char **v;
	size_t n, cap;
};

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Adds (takes) s, replacing an entry with the same key in place. */
static int vec_set(struct strvec *sv, char *s)
{
	size_t kl = key_len(s);

	for (size_t i = 0; i < sv->n; i++) {
		if (key_len(sv->v[i]) == kl && !strncmp(sv->v[i], s, kl)) {
			free(sv->v[i]);
			sv->v[i] = s;
			return 0;
		}
	}
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **nv = realloc(sv->v, cap * sizeof(*nv));

		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		sv->v = nv;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static void vec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* A growing byte buffer for one value. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

__attribute__((format(printf, 4, 5)))
static int fail(char *why, size_t whylen, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, whylen, "line %d: %s", line, msg);
	return -EINVAL;
}

int rv_envfile_parse(const char *text, char ***out, size_t *n, char *why,
		     size_t whylen)
{
	struct strvec vars = { 0 };
	struct buf val = { 0 };
	const char *p = text;
	int line = 1, ret = 0;

	while (*p) {
		const char *key, *eol;
		size_t klen;
		int at = line;

		while (is_blank(*p))
			p++;
		if (*p == '\n') {
			p++, line++;
			continue;
		}
		if (*p == '#' || *p == ';') {
			p += strcspn(p, "\n");
			continue;
		}
		if (!strncmp(p, "export", 6) && is_blank(p[6])) {
			p += 6;
			while (is_blank(*p))
				p++;
		}
		key = p;
		while (is_name_char(*p, p == key))
			p++;
		klen = (size_t)(p - key);
		while (is_blank(*p))
			p++;
		if (!klen || *p != '=') {
			int show;

			eol = p + strcspn(p, "\n");
			show = (int)(eol - key > 40 ? 40 : eol - key);
			ret = klen ? fail(why, whylen, at,
					  "expected KEY=VALUE, got \"%.*s\"",
					  show, key) :
				     fail(why, whylen, at,
					  "invalid variable name in \"%.*s\"",
					  show, key);
			goto out;
		}
		p++;
		while (is_blank(*p))
			p++;
		val.len = 0;
		if ((ret = buf_put(&val, key, klen)) ||
		    (ret = buf_put(&val, "=", 1)))
			goto out;
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			for (;;) {
				if (!*p) {
					ret = fail(why, whylen, at,
						   "unterminated %s quote",
						   q == '"' ? "double" :
						   "single");
					goto out;
				}
				if (*p == q) {
					p++;
					break;
				}
				if (*p == '\n')
					line++;
				if (q == '"' && *p == '\\' && p[1]) {
					char e = p[1], c = e == 'n' ? '\n' : e;

					if (strchr("\"\\$`n", e)) {
						ret = buf_put(&val, &c, 1);
						p += 2;
						if (ret)
							goto out;
						continue;
					}
				}
				if ((ret = buf_put(&val, p, 1)))
					goto out;
				p++;
			}
			while (is_blank(*p))
				p++;
			if (*p == '#')
				p += strcspn(p, "\n");
			if (*p && *p != '\n') {
				ret = fail(why, whylen, line,
					   "unexpected text after the closing quote");
				goto out;
			}
		} else {
			size_t len = strcspn(p, "\n");

			while (len && is_blank(p[len - 1]))
				len--;
			if ((ret = buf_put(&val, p, len)))
				goto out;
			p += strcspn(p, "\n");
		}
		ret = vec_set(&vars, val.p);
		val.p = NULL;
		val.cap = val.len = 0;
		if (ret)
			goto out;
	}
	if (!vars.v) {
		vars.v = calloc(1, sizeof(*vars.v));
		if (!vars.v)
			ret = -ENOMEM;
	}
out:
	free(val.p);
	if (ret) {
		vec_free(&vars);
		return ret;
	}
	*out = vars.v;
	*n = vars.n;
	return 0;
}

int rv_envfile_read(const char *path, char ***out, size_t *n, char *why,
		    size_t whylen)
{
	/* O_NONBLOCK: a FIFO put there by whoever owns the file would block
	 * the open, and with it the loop (at load, or a reload); a regular
	 * file reads the same with it */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *text = NULL, inner[200];
	size_t len = 0;
	ssize_t r;
	int ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else if (st.st_size > ENVFILE_MAX)
		ret = -EFBIG;
	else
		ret = 0;
	if (ret) {
		snprintf(why, whylen, "%s: %s", path,
			 ret == -EINVAL ? "not a regular file" :
			 strerror(-ret));
		close(fd);
		return ret;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size &&
	       (r = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			snprintf(why, whylen, "%s: %s", path, strerror(-ret));
			free(text);
			close(fd);
			return ret;
		}
		len += (size_t)r;
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		snprintf(why, whylen, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	ret = rv_envfile_parse(text, out, n, inner, sizeof(inner));
	free(text);
	if (ret == -EINVAL)
		snprintf(why, whylen, "%s: %s", path, inner);
	return ret;
}

int rv_env_compose(char *const *const *layers, size_t n_layers, char ***out)
{
	struct strvec env = { 0 };

	for (size_t l = 0; l < n_layers; l++) {
		for (char *const *v = layers[l]; v && *v; v++) {
			char *s = strdup(*v);

			/* vec_set() frees s when it fails */
			if (!s || vec_set(&env, s)) {
				vec_free(&env);
				return -ENOMEM;
			}
		}
	}
	if (!env.v) {
		env.v = calloc(1, sizeof(*env.v));
		if (!env.v)
			return -ENOMEM;
	}
	*out = env.v;
	return 0;
}
