// SPDX-License-Identifier: MIT
/*
 * Config file: INI text -> struct rv_specs, through inih, then cross-checks.
 *
 * inih (Debian's libinih1 r55) is used through ini_parse_stream() with our
 * own reader, because of how that build behaves:
 *  - INI_MAX_LINE is 200 on the stack: a longer line is cut, silently, and
 *    its rest parsed as the next line, which also shifts every later line
 *    number.  Our reader reads whole lines (getline) and hands inih at most
 *    a prefix; when it had to cut, the handler takes the value from our full
 *    copy instead, with the same comment rule (below).
 *  - The handler gets no line number (INI_HANDLER_LINENO is 0): the reader
 *    counts physical lines, and inih calls the handler for a line before it
 *    asks for the next one, so the reader's count is the key's line.
 *  - It returns only the first syntax error: a key line the handler never
 *    saw is one, and the reader reports each of them itself.
 *  - Its section buffer is 50 bytes (longer names are cut) and it knows no
 *    empty sections: the reader parses section headers itself and passes
 *    inih only "key = value" lines.
 *  - INI_ALLOW_MULTILINE is on: an indented line continues the previous
 *    value, which would glue an indented "restart = always" onto the key
 *    above.  The reader left-trims every line, so there are no
 *    continuations: indentation means nothing.
 * What inih does do is the key/value split and the comment rule of the
 * contract, which its defaults implement (INI_ALLOW_INLINE_COMMENTS with
 * prefix ";", INI_START_COMMENT_PREFIXES ";#"): a line starting with ';' or
 * '#' is a comment, and in a value a ';' preceded by whitespace starts one,
 * so `nginx -g "daemon off;"` keeps its semicolon.  tests/unit/test_config.c
 * pins that behaviour, so an inih built differently fails there.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <ini.h>

#include "config/config.h"
#include "config/config_keys.h"
#include "config/expand.h"
#include "config/parse.h"
#include "config/runtime_dir.h"
#include "config/spec.h"

void rv_diag_vprint(struct rv_diag *d, bool error, const char *file,
		    int line, const char *key, const char *fmt, va_list ap)
{
	if (!d)
		return;
	if (error)
		d->errors++;
	else
		d->warnings++;
	if (!d->out)
		return;
	flockfile(d->out);
	if (file && line > 0)
		fprintf(d->out, "%s:%d: ", file, line);
	else if (file)
		fprintf(d->out, "%s: ", file);
	fputs(error ? "error: " : "warning: ", d->out);
	if (key)
		fprintf(d->out, "%s: ", key);
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
	funlockfile(d->out);
}

void rv_diag_error(struct rv_diag *d, const char *file, int line,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_diag_vprint(d, true, file, line, NULL, fmt, ap);
	va_end(ap);
}

void rv_diag_warning(struct rv_diag *d, const char *file, int line,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_diag_vprint(d, false, file, line, NULL, fmt, ap);
	va_end(ap);
}

/* ---- reading ---- */

enum sect_kind { SECT_NONE, SECT_TOP, SECT_GROUP, SECT_SERVICE, SECT_SOCKET,
		 SECT_INCLUDE, SECT_BAD };

/* Files read through [include], all of them: a bound, not a limit anyone
 * should meet (conf.d/ of a large host holds tens). */
#define INCLUDE_MAX 1024

struct cfg {
	const char *file;	/* the file being read, as messages name it;
				 * a string of specs once cfg_load() has one */
	struct rv_specs *specs;
	struct rv_diag *diag;
	int err;		/* sticky -ENOMEM / read -errno */

	/* input: the bytes of the file being read */
	const char *text;
	size_t text_len, text_pos;
	bool eof;
	/* the main file's bytes, read before the specs exist */
	struct rv_config_source main_src;
	/* a hand-over's copy of the config: files are looked up here,
	 * never on disk (rv_config_load_sources) */
	const struct rv_config_source *table;
	size_t n_table;
	size_t sources_cap;

	/* the current physical line */
	char *raw;
	size_t raw_cap;
	char *start;		/* raw, left-trimmed */
	int lineno;
	bool truncated;		/* inih got only a prefix of start */
	bool pending;		/* start went to inih ... */
	bool handled;		/* ... and came back to the handler */

	/* the current section */
	enum sect_kind kind;
	size_t idx;		/* in groups[] or services[] */
	int *seen;		/* line of each key slot, 0: not yet */
	size_t n_seen;
	int top_line;
	size_t groups_cap, services_cap, sockets_cap;

	/* [include]: the files read so far and queued, by their real path,
	 * to refuse a second read (a loop, or a file matched twice) */
	char **real;
	size_t n_real, real_cap, included_cap;
	bool in_include;	/* c->file came through [include] */
};

static void cfg_enomem(struct cfg *c)
{
	if (c->err != -ENOMEM)
		rv_diag_error(c->diag, c->file, 0, "out of memory");
	c->err = -ENOMEM;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	       ch == '\v' || ch == '\f';
}

static char *trim(char *s)
{
	char *end;

	while (is_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_space(end[-1]))
		*--end = '\0';
	return s;
}

/* Next physical line into c->raw, without its newline: 1, 0 at EOF. */
static int cfg_next_line(struct cfg *c)
{
	const char *p = c->text + c->text_pos, *nl;
	size_t len;

	if (c->eof)
		return 0;
	if (c->text_pos >= c->text_len) {
		c->eof = true;
		return 0;
	}
	nl = memchr(p, '\n', c->text_len - c->text_pos);
	len = nl ? (size_t)(nl - p) + 1 : c->text_len - c->text_pos;
	if (len + 1 > c->raw_cap) {
		char *grown = realloc(c->raw, len + 1);

		if (!grown) {
			cfg_enomem(c);
			c->eof = true;
			return 0;
		}
		c->raw = grown;
		c->raw_cap = len + 1;
	}
	memcpy(c->raw, p, len);
	c->raw[len] = '\0';
	c->text_pos += len;
	c->lineno++;
	if (memchr(c->raw, '\0', len)) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "line contains a NUL byte");
		c->raw[0] = '\0';
		return 1;
	}
	if (c->lineno == 1 && !strncmp(c->raw, "\xEF\xBB\xBF", 3))
		memmove(c->raw, c->raw + 3, strlen(c->raw + 3) + 1);
	return 1;
}

static const char *sect_label(struct cfg *c, char *buf, size_t len)
{
	switch (c->kind) {
	case SECT_TOP:
		return "[supervisor]";
	case SECT_GROUP:
		snprintf(buf, len, "[supervisor:%s]",
			 c->specs->groups[c->idx].name);
		return buf;
	case SECT_SERVICE:
		snprintf(buf, len, "[service:%s]",
			 c->specs->services[c->idx].name);
		return buf;
	case SECT_INCLUDE:
		return "[include]";
	case SECT_SOCKET:
		snprintf(buf, len, "[socket:%s]",
			 c->specs->sockets[c->idx].name);
		return buf;
	default:
		return "?";
	}
}

/* Grows *array of elem-sized items to hold n + 1. */
static int grow(void **array, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*array, ncap * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = ncap;
	return 0;
}

static void open_section(struct cfg *c, enum sect_kind kind,
			 const char *name)
{
	struct rv_specs *s = c->specs;
	char *copy;

	c->kind = SECT_BAD;
	memset(c->seen, 0, c->n_seen * sizeof(*c->seen));
	if (kind == SECT_INCLUDE) {
		c->kind = kind;
		return;
	}
	if (kind == SECT_TOP) {
		if (c->in_include) {
			rv_diag_error(c->diag, c->file, c->lineno,
				      "[supervisor] belongs in the main config file, not in an included one");
			return;
		}
		if (c->top_line) {
			rv_diag_error(c->diag, c->file, c->lineno,
				      "duplicate section [supervisor] (first at line %d)",
				      c->top_line);
			return;
		}
		c->top_line = c->lineno;
		s->top.line = c->lineno;
		c->kind = SECT_TOP;
		return;
	}
	copy = strdup(name);
	if (!copy)
		goto err_enomem;
	if (kind == SECT_GROUP) {
		struct rv_group_spec *g;

		if (grow((void **)&s->groups, &c->groups_cap, s->n_groups,
			 sizeof(*s->groups)))
			goto err_enomem;
		c->idx = s->n_groups++;
		g = &s->groups[c->idx];
		rv_group_spec_init(g);
		g->name = copy;
		g->file = c->file;
		g->line = c->lineno;
	} else if (kind == SECT_SOCKET) {
		struct rv_socket_spec *k;

		if (grow((void **)&s->sockets, &c->sockets_cap, s->n_sockets,
			 sizeof(*s->sockets)))
			goto err_enomem;
		c->idx = s->n_sockets++;
		k = &s->sockets[c->idx];
		rv_socket_spec_init(k);
		k->name = copy;
		k->file = c->file;
		k->line = c->lineno;
	} else {
		struct rv_service_spec *v;

		if (grow((void **)&s->services, &c->services_cap,
			 s->n_services, sizeof(*s->services)))
			goto err_enomem;
		c->idx = s->n_services++;
		v = &s->services[c->idx];
		rv_service_spec_init(v);
		v->name = copy;
		v->file = c->file;
		v->line = c->lineno;
	}
	c->kind = kind;
	return;

err_enomem:
	free(copy);
	cfg_enomem(c);
}

/* A line starting with '[' (left-trimmed). */
static void parse_section(struct cfg *c, char *line)
{
	char *end = strchr(line, ']'), *inner, *rest, *colon, *type, *name;

	c->kind = SECT_BAD;	/* until proven good: its keys are skipped */
	if (!end) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "unterminated section header (missing ']')");
		return;
	}
	rest = end + 1;
	while (is_space(*rest))
		rest++;
	if (*rest && *rest != ';' && *rest != '#') {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "unexpected text after section header");
		return;
	}
	*end = '\0';
	inner = trim(line + 1);
	colon = strchr(inner, ':');
	if (!colon) {
		if (!strcmp(inner, "supervisor")) {
			open_section(c, SECT_TOP, NULL);
			return;
		}
		if (!strcmp(inner, "include")) {
			open_section(c, SECT_INCLUDE, NULL);
			return;
		}
		if (!strcmp(inner, "service")) {
			rv_diag_error(c->diag, c->file, c->lineno,
				      "section [service] needs a name: [service:NAME]");
			return;
		}
		goto err_unknown;
	}
	*colon = '\0';
	type = trim(inner);
	name = trim(colon + 1);
	if (strcmp(type, "supervisor") && strcmp(type, "service") &&
	    strcmp(type, "socket")) {
		*colon = ':';
		goto err_unknown;
	}
	if (!*name) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "section [%s:] needs a name", type);
		return;
	}
	/* a bad name is reported by rv_specs_validate(); keep its keys */
	open_section(c, !strcmp(type, "service") ? SECT_SERVICE :
		     !strcmp(type, "socket") ? SECT_SOCKET : SECT_GROUP, name);
	return;

err_unknown:
	rv_diag_error(c->diag, c->file, c->lineno,
		      "unknown section [%.60s] (use [supervisor], [supervisor:NAME], [service:NAME], [socket:NAME] or [include])",
		      inner);
}

/* A key line inih did not hand to the handler is a syntax error. */
static void cfg_finish_line(struct cfg *c)
{
	if (c->pending && !c->handled && c->truncated &&
	    strpbrk(c->start, "=:"))
		rv_diag_error(c->diag, c->file, c->lineno, "key name too long");
	else if (c->pending && !c->handled)
		rv_diag_error(c->diag, c->file, c->lineno,
			      "syntax error: expected \"key = value\", \"[section]\" or a comment");
	c->pending = false;
}

static char *cfg_reader(char *buf, int num, void *stream)
{
	struct cfg *c = stream;
	size_t len;

	cfg_finish_line(c);
	while (!c->err && cfg_next_line(c) > 0) {
		c->start = trim(c->raw);
		if (!*c->start || *c->start == ';' || *c->start == '#')
			continue;
		if (*c->start == '[') {
			parse_section(c, c->start);
			continue;
		}
		len = strlen(c->start);
		c->truncated = len + 1 > (size_t)num;
		if (c->truncated)
			len = (size_t)num - 1;
		memcpy(buf, c->start, len);
		buf[len] = '\0';
		c->pending = true;
		c->handled = false;
		return buf;
	}
	return NULL;
}

/*
 * The value of a line inih only saw the start of, by inih's rules: after
 * the first '=' or ':', up to a ';' that follows whitespace, trimmed.
 */
static const char *long_value(char *line)
{
	char *v = line + strcspn(line, "=:"), *p;
	bool was_space = false;

	if (*v)
		v++;
	for (p = v; *p; p++) {
		if (was_space && *p == ';') {
			*p = '\0';
			break;
		}
		was_space = is_space(*p);
	}
	return trim(v);
}

static void unknown_key(struct cfg *c, enum rv_key_section sect,
			const char *name)
{
	static const char *const owner[] = {
		[RV_KEYS_TOP] = "[supervisor]",
		[RV_KEYS_GROUP] = "[supervisor:NAME]",
		[RV_KEYS_SERVICE] = "[service:NAME]",
		[RV_KEYS_SOCKET] = "[socket:NAME]",
	};
	static const enum rv_key_section others[] = {
		RV_KEYS_GROUP, RV_KEYS_SERVICE, RV_KEYS_TOP, RV_KEYS_SOCKET };
	const char *hint = rv_keys_suggest(sect, name);
	char label[RV_NAME_MAX + 16];
	const char *where = sect_label(c, label, sizeof(label));
	size_t i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (rv_keys_lookup(others[i], name) >= 0) {
			rv_diag_error(c->diag, c->file, c->lineno,
				      "unknown key \"%s\" in %s (it belongs in %s)",
				      name, where, owner[others[i]]);
			return;
		}
	}
	if (hint) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "unknown key \"%s\" in %s (did you mean %s?)",
			      name, where, hint);
		return;
	}
	if (sect == RV_KEYS_SERVICE && !strncmp(name, "limit_", 6)) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "unknown key \"%s\" in %s (limits: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
			      name, where);
		return;
	}
	rv_diag_error(c->diag, c->file, c->lineno,
		      "unknown key \"%.60s\" in %s", name, where);
}

/*
 * Sums an FNV-1a hash of each "key\0value" into the section's
 * fingerprint: the order of keys does not matter, their values do.
 * A service's `instances` is left out: a reload compares instances one
 * by one, so scaling from 3 to 2 stops web@2 and leaves web@0 and web@1
 * running.
 */
static void add_fingerprint(struct cfg *c, const char *name,
			    const char *value)
{
	uint64_t h = 1469598103934665603ULL;
	uint64_t *fp;

	if (c->kind == SECT_SERVICE && !strcmp(name, "instances"))
		return;

	for (const char *p = name; ; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		if (!*p)
			break;
	}
	for (const char *p = value; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	switch (c->kind) {
	case SECT_TOP:
		fp = &c->specs->top.fingerprint;
		break;
	case SECT_GROUP:
		fp = &c->specs->groups[c->idx].fingerprint;
		break;
	case SECT_SERVICE:
		fp = &c->specs->services[c->idx].fingerprint;
		break;
	default:
		return;
	}
	*fp += h;
}

/* ---- [include] ---- */

/*
 * Queues path to be read after the files before it, unless it was read or
 * queued already (by its real path: a loop, or a file two patterns match).
 */
static void queue_include(struct cfg *c, const char *path)
{
	struct rv_specs *s = c->specs;
	/* a hand-over's copy names each file as it was read */
	char *real = c->table ? strdup(path) : realpath(path, NULL), *copy;

	if (!real && c->table) {
		cfg_enomem(c);
		return;
	}
	if (!real) {
		rv_diag_error(c->diag, c->file, c->lineno, "include: %s: %s",
			      path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < c->n_real; i++) {
		if (!strcmp(c->real[i], real)) {
			rv_diag_error(c->diag, c->file, c->lineno,
				      "include: %s is read already (an include loop, or a file matched twice)",
				      path);
			free(real);
			return;
		}
	}
	if (s->n_included >= INCLUDE_MAX) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "include: more than %d included files",
			      INCLUDE_MAX);
		free(real);
		return;
	}
	copy = strdup(path);
	if (!copy ||
	    grow((void **)&c->real, &c->real_cap, c->n_real,
		 sizeof(*c->real)) ||
	    grow((void **)&s->included, &c->included_cap, s->n_included,
		 sizeof(*s->included))) {
		free(copy);
		free(real);
		cfg_enomem(c);
		return;
	}
	c->real[c->n_real++] = real;
	s->included[s->n_included++] = copy;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * glob(3) over a hand-over's copy of the config: the files of the table
 * the pattern matches, as glob found them on disk when the running
 * config was loaded (its matches are what the table holds).
 */
static int table_glob(struct cfg *c, const char *pattern, glob_t *g)
{
	memset(g, 0, sizeof(*g));
	g->gl_pathv = calloc(c->n_table + 1, sizeof(*g->gl_pathv));
	if (!g->gl_pathv)
		return GLOB_NOSPACE;
	for (size_t i = 1; i < c->n_table; i++)
		if (!fnmatch(pattern, c->table[i].path,
			     FNM_PATHNAME | FNM_PERIOD))
			g->gl_pathv[g->gl_pathc++] = c->table[i].path;
	if (g->gl_pathc)
		return 0;
	free(g->gl_pathv);
	return GLOB_NOMATCH;
}

static void free_glob(struct cfg *c, glob_t *g)
{
	if (c->table)
		free(g->gl_pathv);	/* the strings are the table's */
	else
		globfree(g);
}

/*
 * One word of `files =`: a glob relative to the including file's directory
 * as that file is named (so that messages name "conf.d/web.conf" when the
 * config was given as "ringvisor.conf").
 */
static void include_pattern(struct cfg *c, const char *word)
{
	const char *slash = strrchr(c->file, '/');
	char *pattern;
	glob_t g;
	int ret;

	if (word[0] == '/' || !slash)
		pattern = strdup(word);
	else if (asprintf(&pattern, "%.*s/%s", (int)(slash - c->file),
			  c->file, word) < 0)
		pattern = NULL;
	if (!pattern) {
		cfg_enomem(c);
		return;
	}
	ret = c->table ? table_glob(c, pattern, &g) :
			 glob(pattern, GLOB_NOSORT, NULL, &g);
	if (ret == GLOB_NOMATCH) {
		/* an empty conf.d/ is normal; a missing named file is not */
		if (!strpbrk(word, "*?["))
			rv_diag_error(c->diag, c->file, c->lineno,
				      "include: %s: no such file", pattern);
	} else if (ret == GLOB_NOSPACE) {
		cfg_enomem(c);
	} else if (ret) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "include: %s: cannot read its directory",
			      pattern);
	} else {
		/* sorted bytewise, not by the locale: the same order anywhere */
		qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), cmp_str);
		for (size_t i = 0; i < g.gl_pathc && !c->err; i++)
			queue_include(c, g.gl_pathv[i]);
	}
	if (ret != GLOB_NOMATCH && ret != GLOB_NOSPACE && ret != GLOB_ABORTED)
		free_glob(c, &g);
	free(pattern);
}

/* A key of [include]: files = PATTERN... ($VAR expanded) */
static void include_key(struct cfg *c, const char *name, const char *value)
{
	char why[160], *words, *word, *save = NULL;
	int ret;

	if (strcmp(name, "files")) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "unknown key \"%.60s\" in [include] (use files = PATTERN...)",
			      name);
		return;
	}
	ret = rv_expand_vars(value, false, rv_env_getenv, NULL, &words, why,
			     sizeof(why));
	if (ret == -ENOMEM) {
		cfg_enomem(c);
		return;
	}
	if (ret) {
		rv_diag_error(c->diag, c->file, c->lineno, "files: %s", why);
		return;
	}
	if (!strtok_r(words, " \t", &save))
		rv_diag_error(c->diag, c->file, c->lineno, "files: empty value");
	for (word = words; word && !c->err; word = strtok_r(NULL, " \t", &save))
		include_pattern(c, word);
	free(words);
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct cfg *c = user;
	enum rv_key_section sect;
	void *base;
	int slot, ret;

	(void)section;		/* ours is in c->kind: see the top */
	c->handled = true;
	if (c->truncated)
		value = long_value(c->start);
	if (!*name) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "missing key name before '='");
		return 1;
	}
	switch (c->kind) {
	case SECT_NONE:
		rv_diag_error(c->diag, c->file, c->lineno,
			      "key \"%.60s\" outside of any section (start with [supervisor] or [service:NAME])",
			      name);
		return 1;
	case SECT_BAD:
		return 1;	/* its header was reported */
	case SECT_INCLUDE:
		include_key(c, name, value);
		return 1;
	case SECT_TOP:
		sect = RV_KEYS_TOP;
		base = c->specs;
		break;
	case SECT_GROUP:
		sect = RV_KEYS_GROUP;
		base = &c->specs->groups[c->idx];
		break;
	case SECT_SOCKET:
		sect = RV_KEYS_SOCKET;
		base = &c->specs->sockets[c->idx];
		break;
	case SECT_SERVICE:
	default:
		sect = RV_KEYS_SERVICE;
		base = &c->specs->services[c->idx];
		break;
	}
	slot = rv_keys_lookup(sect, name);
	if (slot < 0) {
		unknown_key(c, sect, name);
		return 1;
	}
	if (c->seen[slot]) {
		rv_diag_error(c->diag, c->file, c->lineno,
			      "%s: duplicate key (first set at line %d)",
			      name, c->seen[slot]);
		return 1;
	}
	c->seen[slot] = c->lineno;
	add_fingerprint(c, name, value);
	ret = rv_keys_apply(sect, slot, base, name, value, c->file,
			    c->lineno, c->diag);
	if (ret == -ENOMEM)
		c->err = -ENOMEM;
	/* always go on: every error of the file is wanted, not the first */
	return 1;
}

/* The file (or string) c reads now, to its end. */
static void cfg_parse(struct cfg *c)
{
	int ret;

	/*
	 * A build with INI_STOP_ON_FIRST_ERROR returns at the first syntax
	 * error; the reader keeps its place, so just go on from there.
	 */
	do {
		ret = ini_parse_stream(cfg_reader, c, cfg_handler, c);
		if (ret == -2)
			cfg_enomem(c);
	} while (ret > 0 && !c->eof && !c->err);
	cfg_finish_line(c);
}

/*
 * The whole of path into *out (its bytes NUL-terminated past len).  0, or
 * -errno said through diag as "cannot open" or "read error".
 */
static int read_source(struct rv_diag *diag, const char *path,
		       struct rv_config_source *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	size_t cap = 4096;

	memset(out, 0, sizeof(*out));
	if (fd < 0) {
		ret = -errno;
		rv_diag_error(diag, path, 0, "cannot open: %s", strerror(-ret));
		return ret;
	}
	out->path = strdup(path);
	out->bytes = malloc(cap);
	while (!ret && out->path && out->bytes) {
		ssize_t n;

		if (out->len + 1 == cap) {
			char *grown = realloc(out->bytes, cap * 2);

			if (!grown)
				break;
			out->bytes = grown;
			cap *= 2;
		}
		n = read(fd, out->bytes + out->len, cap - 1 - out->len);
		if (n == 0)
			break;
		if (n > 0)
			out->len += (size_t)n;
		else if (errno != EINTR)
			ret = -errno;
	}
	close(fd);
	if (!ret && (!out->path || !out->bytes))
		ret = -ENOMEM;
	if (ret) {
		rv_diag_error(diag, path, 0, ret == -ENOMEM ? "out of memory" :
			      "read error: %s", strerror(-ret));
		free(out->path);
		free(out->bytes);
		memset(out, 0, sizeof(*out));
		return ret;
	}
	out->bytes[out->len] = '\0';
	return 0;
}

/* A copy of src (a hand-over's table entry).  0 or -ENOMEM. */
static int copy_source(struct rv_config_source *out,
		       const struct rv_config_source *src)
{
	out->path = strdup(src->path);
	out->bytes = malloc(src->len + 1);
	out->len = src->len;
	if (!out->path || !out->bytes) {
		free(out->path);
		free(out->bytes);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	memcpy(out->bytes, src->bytes, src->len);
	out->bytes[src->len] = '\0';
	return 0;
}

/* The specs keep the bytes read, in order (moved from *src). */
static void keep_source(struct cfg *c, struct rv_config_source *src)
{
	struct rv_specs *s = c->specs;

	if (grow((void **)&s->sources, &c->sources_cap, s->n_sources,
		 sizeof(*s->sources))) {
		free(src->path);
		free(src->bytes);
		cfg_enomem(c);
		return;
	}
	s->sources[s->n_sources++] = *src;
}

/* Included path's bytes: read from disk, or looked up in the table. */
static int include_source(struct cfg *c, const char *path,
			  struct rv_config_source *out)
{
	if (!c->table)
		return read_source(c->diag, path, out);
	for (size_t i = 1; i < c->n_table; i++)
		if (!strcmp(c->table[i].path, path))
			return copy_source(out, &c->table[i]);
	rv_diag_error(c->diag, path, 0, "cannot open: not in the hand-over's "
		      "copy of the config");
	return -ENOENT;
}

/*
 * The files [include] queued, each after the one before, as if appended
 * to the main file (an [include] in them queues more).  A file that cannot
 * be opened is an error naming it.
 */
static void cfg_parse_included(struct cfg *c)
{
	for (size_t i = 0; i < c->specs->n_included && !c->err; i++) {
		const char *path = c->specs->included[i];
		struct rv_config_source src;
		int ret = include_source(c, path, &src);

		if (ret == -ENOMEM)
			cfg_enomem(c);
		if (ret)
			continue;	/* said, and counted as an error */
		keep_source(c, &src);
		if (c->err)
			break;
		src = c->specs->sources[c->specs->n_sources - 1];
		c->text = src.bytes;
		c->text_len = src.len;
		c->text_pos = 0;
		c->file = path;
		c->in_include = true;
		c->eof = false;
		c->lineno = 0;
		c->kind = SECT_NONE;
		cfg_parse(c);
	}
}

static int cfg_load(struct cfg *c, struct rv_specs *out)
{
	size_t n_seen = rv_keys_count(RV_KEYS_SERVICE);
	int before = c->diag->errors, ret;
	char *real;

	if (rv_keys_count(RV_KEYS_GROUP) > n_seen)
		n_seen = rv_keys_count(RV_KEYS_GROUP);
	if (rv_keys_count(RV_KEYS_TOP) > n_seen)
		n_seen = rv_keys_count(RV_KEYS_TOP);
	if (rv_keys_count(RV_KEYS_SOCKET) > n_seen)
		n_seen = rv_keys_count(RV_KEYS_SOCKET);
	memset(out, 0, sizeof(*out));
	rv_specs_init(out);
	c->specs = out;
	c->seen = calloc(n_seen, sizeof(*c->seen));
	c->n_seen = n_seen;
	/* one copy of the file name for every section */
	out->file = strdup(c->file);
	out->top.file = out->file;
	if (!c->seen || !out->file) {
		free(c->main_src.path);
		free(c->main_src.bytes);
		cfg_enomem(c);
		goto out;
	}
	c->file = out->file;
	/* its bytes are the specs' from here on */
	keep_source(c, &c->main_src);
	if (c->err)
		goto out;
	c->text = out->sources[0].bytes;
	c->text_len = out->sources[0].len;
	/* the main file, so that an include of it is refused as a loop */
	real = c->table ? strdup(c->file) : realpath(c->file, NULL);
	if (real && !grow((void **)&c->real, &c->real_cap, 0,
			  sizeof(*c->real)))
		c->real[c->n_real++] = real;
	else
		free(real);
	cfg_parse(c);
	cfg_parse_included(c);
	if (c->err)
		goto out;
	if (!out->control_socket) {
		out->control_socket = rv_default_control_socket();
		if (!out->control_socket) {
			cfg_enomem(c);
			goto out;
		}
	}
	/* a service without a log_buffer of its own takes the top one */
	for (size_t i = 0; i < out->n_services; i++)
		if (out->services[i].log_buffer < 0)
			out->services[i].log_buffer = out->log_buffer;
	ret = rv_specs_validate(out, c->diag);
	if (ret == -ENOMEM)
		c->err = -ENOMEM;
out:
	for (size_t i = 0; i < c->n_real; i++)
		free(c->real[i]);
	free(c->real);
	free(c->seen);
	free(c->raw);
	if (c->err || c->diag->errors > before) {
		rv_specs_free(out);
		return c->err ? c->err : -EINVAL;
	}
	return 0;
}

int rv_config_load_file(const char *path, struct rv_specs *out,
			struct rv_diag *diag)
{
	struct rv_diag quiet = { 0 };
	struct cfg c = { 0 };
	int ret;

	if (!diag)
		diag = &quiet;
	memset(out, 0, sizeof(*out));
	c.file = path;
	c.diag = diag;
	ret = read_source(diag, path, &c.main_src);
	return ret ? ret : cfg_load(&c, out);
}

/* From a copy of src as the main file; includes from table, or from
 * disk when table is NULL. */
static int load_copy(const struct rv_config_source *src,
		     const struct rv_config_source *table, size_t n_table,
		     struct rv_specs *out, struct rv_diag *diag)
{
	struct rv_diag quiet = { 0 };
	struct cfg c = { 0 };

	if (!diag)
		diag = &quiet;
	memset(out, 0, sizeof(*out));
	c.file = src->path;
	c.diag = diag;
	c.table = table;
	c.n_table = n_table;
	if (copy_source(&c.main_src, src)) {
		rv_diag_error(diag, src->path, 0, "out of memory");
		return -ENOMEM;
	}
	return cfg_load(&c, out);
}

int rv_config_load_string(const char *text, const char *name,
			  struct rv_specs *out, struct rv_diag *diag)
{
	struct rv_config_source src = { (char *)name, (char *)text,
					 strlen(text) };

	return load_copy(&src, NULL, 0, out, diag);
}

int rv_config_load_sources(const struct rv_config_source *v, size_t n,
			   struct rv_specs *out, struct rv_diag *diag)
{
	if (!n) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return load_copy(&v[0], v, n, out, diag);
}

static bool has_source(const struct rv_specs *s, const char *path)
{
	for (size_t i = 0; i < s->n_sources; i++)
		if (!strcmp(s->sources[i].path, path))
			return true;
	return false;
}

/* "path changed", "path added", "path no longer included": the first
 * difference between what a was read from and what b was. */
static bool sources_differ(const struct rv_specs *a, const struct rv_specs *b,
			   char *what, size_t whatlen)
{
	size_t i;

	for (i = 0; i < a->n_sources && i < b->n_sources; i++) {
		const struct rv_config_source *x = &a->sources[i];
		const struct rv_config_source *y = &b->sources[i];

		if (strcmp(x->path, y->path))
			break;
		if (x->len != y->len || memcmp(x->bytes, y->bytes, x->len)) {
			snprintf(what, whatlen, "%s changed", x->path);
			return true;
		}
	}
	if (i == a->n_sources && i == b->n_sources)
		return false;
	if (i < b->n_sources && !has_source(a, b->sources[i].path))
		snprintf(what, whatlen, "%s added", b->sources[i].path);
	else if (i < a->n_sources)
		snprintf(what, whatlen, "%s no longer included",
			 a->sources[i].path);
	else
		snprintf(what, whatlen, "the files are read in another order");
	return true;
}

int rv_config_sources_changed(const struct rv_specs *running, char *what,
			      size_t whatlen)
{
	struct rv_specs disk;
	int ret;

	snprintf(what, whatlen, "unchanged");
	if (!running->n_sources)
		return 0;	/* not from files (`exec`) */
	ret = rv_config_load_file(running->sources[0].path, &disk, NULL);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		snprintf(what, whatlen, "%s does not load now (%s)",
			 running->sources[0].path, strerror(-ret));
		return 1;
	}
	ret = sources_differ(running, &disk, what, whatlen);
	rv_specs_free(&disk);
	return ret;
}

/* ---- cross-checks ---- */

struct name_ref {
	const char *name;
	bool is_group;
	size_t idx;
	int line;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return (x->line > y->line) - (x->line < y->line);
}

static const struct name_ref *find_name(const struct name_ref *refs,
					size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(refs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp(refs[lo].name, name) ? &refs[lo] : NULL;
}

static void check_name(struct rv_diag *d, const char *file, int line,
		       const char *kind, const char *name)
{
	if (strchr(name, '@'))
		rv_diag_error(d, file, line,
			      "invalid name \"%.60s\" in [%s:%.60s] ('@' is reserved for instances, as in web@0)",
			      name, kind, name);
	else if (!rv_is_valid_name(name))
		rv_diag_error(d, file, line,
			      "invalid name \"%.60s\" in [%s:%.60s] (use letters, digits, '_', '.' and '-')",
			      name, kind, name);
	else if (strlen(name) >= RV_NAME_MAX)
		rv_diag_error(d, file, line,
			      "name too long in [%s:%.60s...] (max %d characters)",
			      kind, name, RV_NAME_MAX - 1);
}

/* Graph nodes: services [0, ns), group starts [ns, ns + ng), group "up"
 * [ns + ng, ns + 2 ng).  An edge u -> v: u cannot start (or be up) before
 * v is up. */
struct edge {
	size_t from, to;
	const char *file;
	int line;
	const char *key;	/* "after" or "supervisor" */
	ssize_t member_of;	/* edges of membership: the supervisor, ... */
	size_t child;		/* ... and the child's node; else -1 */
};

struct graph {
	size_t ns, ng, n_nodes;
	struct edge *edges;
	size_t n_edges, cap;
	size_t *first;		/* u's edges: [first[u], first[u + 1]) */
	struct edge *sorted;
};

#define START(gr, g) ((gr)->ns + (g))
#define UP(gr, g) ((gr)->ns + (gr)->ng + (g))

static int add_edge(struct graph *gr, size_t from, size_t to,
		    const char *file, int line, const char *key,
		    ssize_t member_of, size_t child)
{
	if (grow((void **)&gr->edges, &gr->cap, gr->n_edges,
		 sizeof(*gr->edges)))
		return -ENOMEM;
	gr->edges[gr->n_edges++] = (struct edge){ from, to, file, line, key,
						  member_of, child };
	return 0;
}

static const char *node_name(const struct rv_specs *s,
			     const struct graph *gr, size_t u)
{
	if (u < gr->ns)
		return s->services[u].name;
	if (u < gr->ns + gr->ng)
		return s->groups[u - gr->ns].name;
	return s->groups[u - gr->ns - gr->ng].name;
}

/* Edges from `after` names; unknown names are reported here. */
static int add_after_edges(struct graph *gr, const struct name_ref *refs,
			   size_t n_refs, size_t from, char **after,
			   size_t n_after,
			   const char *file, int line, struct rv_diag *d)
{
	size_t i;

	for (i = 0; i < n_after; i++) {
		const struct name_ref *r = find_name(refs, n_refs, after[i]);
		size_t to;

		if (!r) {
			rv_diag_error(d, file, line,
				      "after: unknown service or supervisor \"%s\"",
				      after[i]);
			continue;
		}
		to = r->is_group ? UP(gr, r->idx) : r->idx;
		if (add_edge(gr, from, to, file, line, "after", -1, 0))
			return -ENOMEM;
	}
	return 0;
}

static int build_csr(struct graph *gr)
{
	size_t i, *pos;

	gr->first = calloc(gr->n_nodes + 1, sizeof(*gr->first));
	gr->sorted = malloc((gr->n_edges + 1) * sizeof(*gr->sorted));
	pos = calloc(gr->n_nodes + 1, sizeof(*pos));
	if (!gr->first || !gr->sorted || !pos) {
		free(pos);
		return -ENOMEM;
	}
	for (i = 0; i < gr->n_edges; i++)
		gr->first[gr->edges[i].from + 1]++;
	for (i = 0; i < gr->n_nodes; i++)
		gr->first[i + 1] += gr->first[i];
	memcpy(pos, gr->first, (gr->n_nodes + 1) * sizeof(*pos));
	/* stable: a node's edges stay in config order, so do the messages */
	for (i = 0; i < gr->n_edges; i++)
		gr->sorted[pos[gr->edges[i].from]++] = gr->edges[i];
	free(pos);
	return 0;
}

struct frame {
	size_t node, next;
	const struct edge *in;	/* the edge that led here */
};

static void report_cycle(const struct rv_specs *s, const struct graph *gr,
			 const struct frame *stack, size_t top,
			 const struct edge *back, struct rv_diag *d)
{
	const struct edge *at = NULL, *member = NULL;
	size_t i, k, m, first, pos = top, len = 0, prev_u = 0, names = 0;
	char path[512];

	while (stack[pos].node != back->to)
		pos--;
	m = top - pos + 1;	/* nodes on the cycle: stack[pos..top] */
	/*
	 * Report at the first `after` key on the cycle, the thing to change
	 * (every cycle has one: membership edges alone form a tree), and
	 * start the path at the node that has that key.
	 */
	for (i = pos + 1; i <= top + 1; i++) {
		const struct edge *e = i <= top ? stack[i].in : back;

		/* back is the edge that closed the cycle, never NULL */
		// NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
		if (!at && !strcmp(e->key, "after"))
			at = e;
		if (!member && e->member_of >= 0)
			member = e;
	}
	if (!at)
		at = back;
	for (first = 0; first < m; first++)
		if (stack[pos + first].node == at->from)
			break;
	path[0] = '\0';
	for (k = 0; k <= m && len < sizeof(path); k++) {
		/* m >= 1: the cycle holds stack[top] at least (pos <= top;
		 * the analyser lets pos run below 0 in the loop above) */
		// NOLINTNEXTLINE(clang-analyzer-core.DivideZero)
		size_t u = stack[pos + (first + k) % m].node;

		/* start and up of one supervisor are one name */
		if (k && u >= gr->ns && prev_u >= gr->ns &&
		    (u - gr->ns) % gr->ng == (prev_u - gr->ns) % gr->ng) {
			prev_u = u;
			continue;
		}
		len += (size_t)snprintf(path + len, sizeof(path) - len, "%s%s",
					k ? " -> " : "", node_name(s, gr, u));
		prev_u = u;
		names++;
	}
	/* [supervisor:g] after = g */
	if (names == 1 && len < sizeof(path))
		snprintf(path + len, sizeof(path) - len, " -> %s",
			 node_name(s, gr, at->from));
	if (member)
		rv_diag_error(d, at->file, at->line,
			      "%s: dependency cycle: %s (%s runs under supervisor %s)",
			      at->key, path, node_name(s, gr, member->child),
			      s->groups[member->member_of].name);
	else
		rv_diag_error(d, at->file, at->line, "%s: dependency cycle: %s",
			      at->key, path);
}

static int find_cycles(const struct rv_specs *s, const struct graph *gr,
		       struct rv_diag *d)
{
	unsigned char *color = calloc(gr->n_nodes, 1);
	struct frame *stack = malloc((gr->n_nodes + 1) * sizeof(*stack));
	size_t root, top;

	if (!color || !stack) {
		free(color);
		free(stack);
		return -ENOMEM;
	}
	/* iterative: a chain of 10000 `after`s must not need 10000 frames */
	for (root = 0; root < gr->n_nodes; root++) {
		if (color[root])
			continue;
		top = 0;
		stack[0] = (struct frame){ root, gr->first[root], NULL };
		color[root] = 1;
		for (;;) {
			struct frame *f = &stack[top];
			const struct edge *e;

			if (f->next == gr->first[f->node + 1]) {
				color[f->node] = 2;
				if (!top)
					break;
				top--;
				continue;
			}
			e = &gr->sorted[f->next++];
			if (color[e->to] == 1) {
				report_cycle(s, gr, stack, top, e, d);
			} else if (!color[e->to]) {
				color[e->to] = 1;
				stack[++top] = (struct frame){
					e->to, gr->first[e->to], e };
			}
		}
	}
	free(color);
	free(stack);
	return 0;
}

/*
 * Parent chains of nested supervisors (parent[]: group index or -1) must
 * end at the top level.  *ok tells whether they do.  0 or -ENOMEM.
 */
static int check_tree(const struct rv_specs *s, const ssize_t *parent,
		      bool *ok, struct rv_diag *d)
{
	size_t *walk = calloc(s->n_groups ? s->n_groups : 1, sizeof(*walk));
	size_t g;

	*ok = true;
	if (!walk)
		return -ENOMEM;
	for (g = 0; g < s->n_groups; g++) {
		ssize_t x = (ssize_t)g;
		char path[512];
		size_t len;

		while (x >= 0 && !walk[x]) {
			walk[x] = g + 1;
			x = parent[x];
		}
		if (x < 0 || walk[x] != g + 1)
			continue;	/* reached the top, or an old walk */
		*ok = false;
		len = (size_t)snprintf(path, sizeof(path), "%s",
				       s->groups[x].name);
		for (ssize_t y = parent[x]; len < sizeof(path); y = parent[y]) {
			len += (size_t)snprintf(path + len, sizeof(path) - len,
						" -> %s", s->groups[y].name);
			if (y == x)
				break;
		}
		rv_diag_error(d, s->groups[x].file,
			      s->groups[x].lines.supervisor,
			      "supervisor: cycle in the supervisor tree: %s",
			      path);
	}
	free(walk);
	return 0;
}

/* Resolves a `supervisor =` to a group index, -1 for none or unknown. */
static ssize_t resolve_parent(const struct name_ref *refs, size_t n,
			      const char *name, const char *file, int line,
			      struct rv_diag *d)
{
	const struct name_ref *r;

	if (!name)
		return -1;
	r = find_name(refs, n, name);
	if (!r) {
		rv_diag_error(d, file, line,
			      "supervisor: no [supervisor:%s] section", name);
		return -1;
	}
	if (!r->is_group) {
		rv_diag_error(d, file, line,
			      "supervisor: \"%s\" is a service, not a [supervisor:NAME]",
			      name);
		return -1;
	}
	return (ssize_t)r->idx;
}

static int digits(uint32_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

int rv_specs_validate(struct rv_specs *s, struct rv_diag *d)
{
	struct rv_diag quiet = { 0 };
	size_t ns = s->n_services, ng = s->n_groups, n_refs = ns + ng, i, first;
	struct graph gr = { .ns = ns, .ng = ng, .n_nodes = ns + 2 * ng };
	struct name_ref *refs;
	ssize_t *svc_parent, *grp_parent;
	int before, ret = 0;
	bool tree_ok;

	if (!d)
		d = &quiet;
	before = d->errors;
	refs = calloc(n_refs + 1, sizeof(*refs));
	svc_parent = calloc(ns + 1, sizeof(*svc_parent));
	grp_parent = calloc(ng + 1, sizeof(*grp_parent));
	if (!refs || !svc_parent || !grp_parent)
		goto err_enomem;

	for (i = 0; i < ng; i++) {
		const struct rv_group_spec *g = &s->groups[i];

		check_name(d, g->file, g->line, "supervisor", g->name);
		/* the log calls the top level supervisor=main */
		if (!strcmp(g->name, "main"))
			rv_diag_error(d, g->file, g->line,
				      "the name \"main\" is reserved for the top-level supervisor");
		refs[i] = (struct name_ref){ g->name, true, i, g->line };
	}
	for (i = 0; i < ns; i++) {
		const struct rv_service_spec *v = &s->services[i];

		check_name(d, v->file, v->line, "service", v->name);
		if (v->instances > 1 && strlen(v->name) < RV_NAME_MAX &&
		    strlen(v->name) + 1 + (size_t)digits(v->instances - 1) >=
		    RV_NAME_MAX)
			rv_diag_error(d, v->file, v->lines.instances,
				      "instances: name too long for %s@%u (max %d characters)",
				      v->name, v->instances - 1,
				      RV_NAME_MAX - 1);
		if (!v->argv && !v->command_line)
			rv_diag_error(d, v->file, v->line,
				      "missing required key \"command\" in [service:%s]",
				      v->name);
		refs[ng + i] = (struct name_ref){ v->name, false, i, v->line };
	}
	qsort(refs, n_refs, sizeof(*refs), name_ref_cmp);
	for (i = 1, first = 0; i < n_refs; i++) {
		const struct name_ref *a, *b = &refs[i];
		const char *file = b->is_group ? s->groups[b->idx].file :
				   s->services[b->idx].file;

		if (strcmp(refs[first].name, b->name)) {
			first = i;
			continue;
		}
		a = &refs[first];	/* point at the first definition */
		rv_diag_error(d, file, b->line,
			      "duplicate name \"%s\" (already used by [%s:%s] at line %d)",
			      b->name, a->is_group ? "supervisor" : "service",
			      a->name, a->line);
	}

	for (i = 0; i < ng; i++) {
		const struct rv_group_spec *g = &s->groups[i];

		grp_parent[i] = resolve_parent(refs, n_refs, g->supervisor,
					       g->file, g->lines.supervisor, d);
	}
	for (i = 0; i < ns; i++) {
		const struct rv_service_spec *v = &s->services[i];

		svc_parent[i] = resolve_parent(refs, n_refs, v->supervisor,
					       v->file, v->lines.supervisor, d);
	}
	if (check_tree(s, grp_parent, &tree_ok, d))
		goto err_enomem;

	for (i = 0; i < ns; i++)
		rv_service_spec_check(&s->services[i], d);

	/* the graph: `after` edges, and (with a sound tree) membership */
	for (i = 0; i < ns; i++) {
		const struct rv_service_spec *v = &s->services[i];
		ssize_t p = svc_parent[i];

		if (add_after_edges(&gr, refs, n_refs, i, v->after,
				    v->n_after, v->file, v->lines.after, d))
			goto err_enomem;
		if (p < 0 || !tree_ok)
			continue;
		/* a child starts after its supervisor, which is up after it */
		if (add_edge(&gr, i, START(&gr, p), v->file,
			     v->lines.supervisor, "supervisor", p, i) ||
		    add_edge(&gr, UP(&gr, p), i, v->file, v->lines.supervisor,
			     "supervisor", p, i))
			goto err_enomem;
	}
	for (i = 0; i < ng; i++) {
		const struct rv_group_spec *g = &s->groups[i];
		ssize_t p = grp_parent[i];

		if (add_after_edges(&gr, refs, n_refs, START(&gr, i),
				    g->after, g->n_after, g->file,
				    g->lines.after, d) ||
		    add_edge(&gr, UP(&gr, i), START(&gr, i), g->file, g->line,
			     "supervisor", -1, 0))
			goto err_enomem;
		if (p < 0 || !tree_ok)
			continue;
		if (add_edge(&gr, START(&gr, i), START(&gr, p), g->file,
			     g->lines.supervisor, "supervisor", p,
			     START(&gr, i)) ||
		    add_edge(&gr, UP(&gr, p), UP(&gr, i), g->file,
			     g->lines.supervisor, "supervisor", p, UP(&gr, i)))
			goto err_enomem;
	}
	if (build_csr(&gr) || find_cycles(s, &gr, d))
		goto err_enomem;
	if (rv_sockets_validate(s, d))
		goto err_enomem;
	goto out;

err_enomem:
	rv_diag_error(d, s->top.file, 0, "out of memory");
	ret = -ENOMEM;
out:
	free(gr.edges);
	free(gr.first);
	free(gr.sorted);
	free(refs);
	free(svc_parent);
	free(grp_parent);
	if (ret)
		return ret;
	return d->errors > before ? -EINVAL : 0;
}
