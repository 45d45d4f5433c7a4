// SPDX-License-Identifier: MIT
/*
 * The keys: one table row per key, naming its parser and the field it fills,
 * shared by the config file and `exec`'s long options.  Each setter checks
 * its one value; rv_service_spec_check() checks values against each other.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/un.h>

#include "config/expand.h"
#include "config/runtime_dir.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "config/http_address.h"
#include "config/parse.h"
#include "config/spec.h"

/* Values are quoted in messages, cut to 60 characters ("..."): a 4 KiB
 * command with a stray quote should not flood the terminal. */
#define VAL_FMT "\"%.*s%s\""
#define VAL_ARG(v) (strlen(v) > 60 ? 57 : (int)strlen(v)), (v), \
		   (strlen(v) > 60 ? "..." : "")

/* fs.nr_open can never exceed this, so neither can a usable fd */
#define FD_MAX 1048575
/* PID_MAX_LIMIT: the largest value pids.max takes */
#define PIDS_MAX 4194304

struct key_ctx {
	const char *file;
	int line;
	const char *key;
	struct rv_diag *diag;
};

/* Which struct a service key fills: the spec, or one of its out-of-line
 * parts (the setter gets that struct as base). */
enum key_part { PART_SPEC, PART_ISO, PART_READY };

struct key;
typedef int key_setter(const struct key_ctx *c, const struct key *k,
		       void *base, const char *v);

/* Which values see $VAR: none, a path or other text, or shell-like words
 * whose '...' and \ protect what they quote. */
enum key_expand { EXPAND_NONE, EXPAND_TEXT, EXPAND_WORDS };

struct key {
	const char *name;
	key_setter *set;
	size_t off;		/* the field it fills */
	size_t off2;		/* set_after/set_environment: its count;
				 * set_precision: the spin:auto flag */
	size_t line_off;	/* its int in ->lines; 0: none (lines is
				 * never first in a spec) */
	int64_t min, max;	/* numbers and durations */
	const char *const *choices;	/* enum spellings, NULL-terminated */
	enum key_part part;	/* where off and line_off are */
	enum key_expand expand;	/* $VAR from the environment (expand.h) */
};

#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))

static const char *const strategy_names[] = {
	"one_for_one", "one_for_all", "rest_for_one", NULL };
static const char *const restart_names[] = {
	"always", "on-failure", "on-abnormal", "never", NULL };
static const char *const backoff_names[] = {
	"fixed", "linear", "exponential", "fibonacci", NULL };
static const char *const type_names[] = {
	"simple", "notify", "oneshot", NULL };
static const char *const kill_mode_names[] = {
	"group", "process", "cgroup", NULL };
static const char *const restart_mode_names[] = {
	"restart", "rolling", NULL };
static const char *const backend_names[] = {
	"auto", "io_uring", "epoll", NULL };
/* the order of enum rv_log_target (util/log.h) */
static const char *const log_target_names[] = {
	"auto", "stderr", "journal", NULL };

static const char *enum_name(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n - 1 ? names[v] : "?";
}

#define ENUM_NAME(names, v) \
	enum_name(names, sizeof(names) / sizeof((names)[0]), (int)(v))

const char *rv_strategy_name(enum rv_strategy v)
{
	return ENUM_NAME(strategy_names, v);
}

const char *rv_restart_name(enum rv_restart v)
{
	return ENUM_NAME(restart_names, v);
}

const char *rv_backoff_name(enum rv_backoff_kind v)
{
	return ENUM_NAME(backoff_names, v);
}

const char *rv_service_type_name(enum rv_service_type v)
{
	return ENUM_NAME(type_names, v);
}

const char *rv_kill_mode_name(enum rv_kill_mode v)
{
	return ENUM_NAME(kill_mode_names, v);
}

const char *rv_restart_mode_name(enum rv_restart_mode v)
{
	return ENUM_NAME(restart_mode_names, v);
}

__attribute__((format(printf, 2, 3)))
static int key_error(const struct key_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_diag_vprint(c->diag, true, c->file, c->line, c->key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int key_enomem(const struct key_ctx *c)
{
	key_error(c, "out of memory");
	return -ENOMEM;
}

/* Replaces a string field with a copy of v. */
static int store_string(const struct key_ctx *c, char **field, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return key_enomem(c);
	free(*field);
	*field = copy;
	return 0;
}

static int set_string(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	if (!*v)
		return key_error(c, "empty value");
	return store_string(c, FIELD(base, k->off, char *), v);
}

static int set_name_ref(const struct key_ctx *c, const struct key *k,
			void *base, const char *v)
{
	if (!rv_is_valid_name(v))
		return key_error(c,
				 "invalid name " VAL_FMT " (use letters, digits, '_', '.' and '-')",
				 VAL_ARG(v));
	return set_string(c, k, base, v);
}

static int set_enum(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	char list[160] = "";
	size_t i, n, len = 0;

	for (i = 0; k->choices[i]; i++) {
		if (!strcmp(v, k->choices[i])) {
			/* every enum here is int-sized, values 0..n-1 */
			*FIELD(base, k->off, int) = (int)i;
			return 0;
		}
	}
	n = i;
	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i == 0 ? "" : i == n - 1 ? " or " : ", ",
					k->choices[i]);
	return key_error(c, "invalid value " VAL_FMT " (use %s)",
			 VAL_ARG(v), list);
}

static int set_bool(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	if (rv_parse_bool(v, FIELD(base, k->off, bool)))
		return key_error(c,
				 "invalid boolean " VAL_FMT " (use true or false)",
				 VAL_ARG(v));
	return 0;
}

static int number_error(const struct key_ctx *c, const struct key *k,
			const char *v, int ret)
{
	if (ret == -ERANGE)
		return key_error(c,
				 "%s is out of range (%" PRId64 "..%" PRId64 ")",
				 v, k->min, k->max);
	return key_error(c, "invalid number " VAL_FMT, VAL_ARG(v));
}

static int set_u32(const struct key_ctx *c, const struct key *k,
		   void *base, const char *v)
{
	int ret = rv_parse_u32(v, (uint32_t)k->min, (uint32_t)k->max,
			       FIELD(base, k->off, uint32_t));

	return ret ? number_error(c, k, v, ret) : 0;
}

static int set_int(const struct key_ctx *c, const struct key *k,
		   void *base, const char *v)
{
	int ret = rv_parse_int(v, (int)k->min, (int)k->max,
			       FIELD(base, k->off, int));

	return ret ? number_error(c, k, v, ret) : 0;
}

static int set_double(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	/* FIELD() turns a spec's base and offsetof() into the field's own
	 * pointer: the bytes are a double, not chars */
	// cppcheck-suppress invalidPointerCast
	double *field = FIELD(base, k->off, double);
	int ret = rv_parse_double(v, (double)k->min, (double)k->max, field);

	return ret ? number_error(c, k, v, ret) : 0;
}

static int set_duration(const struct key_ctx *c, const struct key *k,
			void *base, const char *v)
{
	char max[32];
	int64_t ns;
	int ret = rv_parse_duration(v, &ns);

	if (ret == -ERANGE && *v == '-')
		return key_error(c,
				 "invalid duration " VAL_FMT " (must not be negative)",
				 VAL_ARG(v));
	if (ret == -EINVAL)
		return key_error(c,
				 "invalid duration " VAL_FMT " (use a number with ns, us, ms, s, m or h)",
				 VAL_ARG(v));
	if (ret || ns > RV_DURATION_MAX) {
		rv_format_duration(RV_DURATION_MAX, max, sizeof(max));
		return key_error(c, "duration " VAL_FMT " is too long (max %s)",
				 VAL_ARG(v), max);
	}
	if (ns < k->min)
		return key_error(c, "must be greater than 0");
	*FIELD(base, k->off, int64_t) = ns;
	return 0;
}

static int set_max_restarts(const struct key_ctx *c, const struct key *k,
			    void *base, const char *v)
{
	int ret;

	if (!strcmp(v, "infinity") || !strcmp(v, "unlimited")) {
		*FIELD(base, k->off, uint32_t) = RV_RESTARTS_INFINITY;
		return 0;
	}
	ret = rv_parse_u32(v, 0, (uint32_t)k->max,
			   FIELD(base, k->off, uint32_t));
	if (ret == -ERANGE && *v != '-')
		return key_error(c,
				 "%s is too large (max %" PRId64 "; use infinity for no limit)",
				 v, k->max);
	if (ret == -ERANGE)
		return key_error(c,
				 "%s is out of range (0..%" PRId64 ", or infinity)",
				 v, k->max);
	if (ret)
		return key_error(c,
				 "invalid number " VAL_FMT " (use a count or infinity)",
				 VAL_ARG(v));
	return 0;
}

static int set_signal(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	int ret = rv_parse_signal(v, FIELD(base, k->off, int));

	if (ret == -ERANGE)
		return key_error(c, "signal %s is out of range (1..%d)",
				 v, SIGRTMAX);
	if (ret)
		return key_error(c,
				 "invalid signal " VAL_FMT " (use a name such as SIGTERM)",
				 VAL_ARG(v));
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits on blanks into a fresh NULL-terminated list (NULL if empty). */
static int split_blanks(const char *v, char ***out, size_t *n_out)
{
	char **list = NULL;
	size_t n = 0;

	for (;;) {
		const char *start;
		char **grown;

		while (is_blank(*v))
			v++;
		if (!*v)
			break;
		start = v;
		while (*v && !is_blank(*v))
			v++;
		grown = realloc(list, (n + 2) * sizeof(*list));
		if (!grown)
			goto err_free;
		list = grown;
		list[n] = strndup(start, (size_t)(v - start));
		if (!list[n])
			goto err_free;
		list[++n] = NULL;
	}
	*out = list;
	*n_out = n;
	return 0;

err_free:
	if (list)
		list[n] = NULL;
	rv_argv_free(list);
	return -ENOMEM;
}

static int set_after(const struct key_ctx *c, const struct key *k,
		     void *base, const char *v)
{
	char **list;
	size_t n, i;
	int ret = 0;

	if (split_blanks(v, &list, &n))
		return key_enomem(c);
	for (i = 0; i < n; i++)
		if (!rv_is_valid_name(list[i]))
			ret = key_error(c,
					"invalid name " VAL_FMT " (names are separated by spaces)",
					VAL_ARG(list[i]));
	if (ret) {
		rv_argv_free(list);
		return ret;
	}
	rv_argv_free(*FIELD(base, k->off, char **));
	*FIELD(base, k->off, char **) = list;
	*FIELD(base, k->off2, size_t) = n;
	return 0;
}

static int split_error(const struct key_ctx *c, const char *v, int ret,
		       const char *why)
{
	if (ret == -ENOMEM)
		return key_enomem(c);
	if (!*v)
		return key_error(c, "%s", why);
	return key_error(c, "%s in " VAL_FMT, why, VAL_ARG(v));
}

static int set_argv(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	char why[64], **argv;
	int ret = rv_split_command(v, &argv, NULL, why, sizeof(why));

	if (ret)
		return split_error(c, v, ret, why);
	rv_argv_free(*FIELD(base, k->off, char **));
	*FIELD(base, k->off, char **) = argv;
	return 0;
}

static int set_command(const struct key_ctx *c, const struct key *k,
		       void *base, const char *v)
{
	struct rv_service_spec *s = base;
	char why[64], **argv;
	int argc, ret;

	(void)k;

	/* even if rejected: it was given, so "missing command" would lie */
	s->command_line = c->line;
	ret = rv_split_command(v, &argv, &argc, why, sizeof(why));
	if (ret)
		return split_error(c, v, ret, why);
	rv_argv_free(s->argv);
	s->argv = argv;
	s->argc = argc;
	return 0;
}

static int set_success(const struct key_ctx *c, const struct key *k,
		       void *base, const char *v)
{
	struct rv_success_spec set;
	char **words;
	size_t n, i;
	int ret = 0;

	memset(&set, 0, sizeof(set));
	if (split_blanks(v, &words, &n))
		return key_enomem(c);
	for (i = 0; i < n; i++) {
		const char *w = words[i];
		uint32_t code;
		int signo, r;

		if ((*w >= '0' && *w <= '9') || *w == '-') {
			r = rv_parse_u32(w, 0, 255, &code);
			if (r == -ERANGE)
				ret = key_error(c,
						"%s is out of range (exit codes are 0..255)",
						w);
			else if (r)
				ret = key_error(c, "invalid exit code " VAL_FMT,
						VAL_ARG(w));
			else
				set.codes[code / 64] |= 1ULL << (code % 64);
			continue;
		}
		r = rv_parse_signal(w, &signo);
		if (r)
			ret = key_error(c,
					VAL_FMT " is neither an exit code (0..255) nor a signal name",
					VAL_ARG(w));
		else if (signo > 63)
			ret = key_error(c,
					"%s cannot be listed (signals up to 63 only)",
					w);
		else
			set.signals |= 1ULL << signo;
	}
	rv_argv_free(words);
	if (!ret)
		*FIELD(base, k->off, struct rv_success_spec) = set;
	return ret;
}

/* user/group names: a number, or portable-ish login name characters. */
static bool is_valid_user(const char *v)
{
	const char *p;

	if (!*v || *v == '-')
		return false;
	for (p = v; *p; p++) {
		char ch = *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		    ch == '-')
			continue;
		/* Samba machine accounts end in '$' */
		if (ch == '$' && !p[1] && p != v)
			continue;
		return false;
	}
	return true;
}

static int set_user(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	const char *what = strstr(k->name, "user") ? "user" : "group";
	uint32_t id;

	if (!*v)
		return key_error(c, "empty value");
	if (*v >= '0' && *v <= '9') {
		/* (uid_t)-1 means "unchanged" to setresuid(): not an id */
		if (rv_parse_u32(v, 0, UINT32_MAX - 1, &id))
			return key_error(c, "invalid %s id " VAL_FMT,
					 what, VAL_ARG(v));
	} else if (!is_valid_user(v)) {
		return key_error(c, "invalid %s name " VAL_FMT,
				 what, VAL_ARG(v));
	}
	return set_string(c, k, base, v);
}

static int set_caps(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	struct rv_iso_spec *s = base;
	uint64_t mask = 0;
	const char *p = v;
	int ret = 0, words = 0;
	bool none = false;

	(void)k;

	for (;;) {
		char name[64];
		cap_value_t cap;
		size_t len;

		while (*p == ',' || is_blank(*p))
			p++;
		if (!*p)
			break;
		len = strcspn(p, ", \t");
		words++;
		if (len >= sizeof(name)) {
			ret = key_error(c, "unknown capability %.*s...", 40, p);
		} else {
			memcpy(name, p, len);
			name[len] = '\0';
			/* cap_from_name() also takes numbers: we want names */
			if (!strcmp(name, "none"))
				none = true;
			else if (strncasecmp(name, "cap_", 4) ||
				 cap_from_name(name, &cap) || cap < 0 ||
				 cap > 63)
				ret = key_error(c,
						"unknown capability " VAL_FMT " (e.g. cap_net_bind_service)",
						VAL_ARG(name));
			else
				mask |= 1ULL << cap;
		}
		p += len;
	}
	if (!words)
		return key_error(c, "empty value (use none to drop all)");
	if (none && words > 1)
		return key_error(c,
				 "none cannot be combined with capabilities");
	if (ret)
		return ret;
	ret = store_string(c, &s->capabilities, v);
	if (!ret)
		s->cap_mask = mask;
	return ret;
}

static int set_abs_path(const struct key_ctx *c, const struct key *k,
			void *base, const char *v)
{
	if (*v != '/')
		return key_error(c, VAL_FMT " is not an absolute path",
				 VAL_ARG(v));
	return set_string(c, k, base, v);
}

/* A relative socket path is relative to the config file's directory. */
static int set_socket_path(const struct key_ctx *c, const struct key *k,
			   void *base, const char *v)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	char *path;
	int ret;

	if (!*v)
		return key_error(c, "empty value");
	path = rv_path_from_config(c->file, v);
	if (!path)
		return key_enomem(c);
	if (strlen(path) > max)
		ret = key_error(c, "path is too long for a unix socket "
				"(max %zu bytes)", max);
	else
		ret = store_string(c, FIELD(base, k->off, char *), path);
	free(path);
	return ret;
}

/* http_listen = ADDRESS:PORT | [V6]:PORT | unix:/PATH | /PATH | off */
static int set_listen(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	struct rv_listen_addr addr;
	char why[160];

	if (!strcmp(v, "off")) {
		free(*FIELD(base, k->off, char *));
		*FIELD(base, k->off, char *) = NULL;
		return 0;
	}
	if (rv_listen_parse(v, &addr, why, sizeof(why)))
		return key_error(c, "invalid address " VAL_FMT ": %s",
				 VAL_ARG(v), why);
	return set_string(c, k, base, v);
}

static bool is_env_name(const char *s, size_t len)
{
	size_t i;

	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

static int set_environment(const struct key_ctx *c, const struct key *k,
			   void *base, const char *v)
{
	char why[64], **env = NULL;
	int n = 0, i, j, ret = 0;

	v += strspn(v, " \t");
	if (*v) {
		ret = rv_split_command(v, &env, &n, why, sizeof(why));
		if (ret)
			return split_error(c, v, ret, why);
	}
	for (i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		size_t len = eq ? (size_t)(eq - env[i]) : 0;

		if (!eq) {
			ret = key_error(c, VAL_FMT " is not KEY=VALUE",
					VAL_ARG(env[i]));
			continue;
		}
		if (!is_env_name(env[i], len)) {
			ret = key_error(c, "invalid variable name \"%.*s\"",
					(int)(len > 60 ? 60 : len), env[i]);
			continue;
		}
		for (j = 0; j < i; j++) {
			if (!strncmp(env[j], env[i], len + 1)) {
				ret = key_error(c, "%.*s is set twice",
						(int)len, env[i]);
				break;
			}
		}
	}
	if (ret) {
		rv_argv_free(env);
		return ret;
	}
	rv_argv_free(*FIELD(base, k->off, char **));
	*FIELD(base, k->off, char **) = env;
	*FIELD(base, k->off2, size_t) = (size_t)n;
	return 0;
}

static int set_umask(const struct key_ctx *c, const struct key *k,
		     void *base, const char *v)
{
	uint32_t mask;
	int ret = rv_parse_octal(v, 0777, &mask);

	if (ret == -ERANGE)
		return key_error(c, "%s is out of range (0..0777)", v);
	if (ret)
		return key_error(c,
				 "invalid %s " VAL_FMT " (use octal digits, e.g. 0022)",
				 k->name, VAL_ARG(v));
	*FIELD(base, k->off, int) = (int)mask;
	return 0;
}

static int set_cpus(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	char *x = NULL;
	int ret;

	/* "%i" (instance-relative pinning) is checked as instance 0 */
	if (strchr(v, '%') && rv_expand_instance(v, 0, &x))
		return key_enomem(c);
	ret = rv_parse_cpu_list(x ? x : v, NULL);
	free(x);

	if (ret == -ERANGE)
		return key_error(c, "CPU list " VAL_FMT " names a CPU above %d",
				 VAL_ARG(v), CPU_SETSIZE - 1);
	if (ret)
		return key_error(c,
				 "invalid CPU list " VAL_FMT " (use e.g. 0-3,5 7)",
				 VAL_ARG(v));
	return store_string(c, FIELD(base, k->off, char *), v);
}

static int set_nice(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	struct rv_iso_spec *s = base;
	int ret = set_int(c, k, base, v);

	if (!ret)
		s->nice_set = true;
	return ret;
}

static int set_oom(const struct key_ctx *c, const struct key *k,
		   void *base, const char *v)
{
	struct rv_iso_spec *s = base;
	int ret = set_int(c, k, base, v);

	if (!ret)
		s->oom_score_adjust_set = true;
	return ret;
}

/* cpu_max = 50% (of one CPU; 200% is two) | max | QUOTA PERIOD (us) */
static int set_cpu_max(const struct key_ctx *c, const struct key *k,
		       void *base, const char *v)
{
	struct rv_iso_spec *s = base;
	uint32_t pct, quota = 0, period = 100000;
	size_t len = strlen(v);
	char q[24];
	const char *sp = strchr(v, ' ');

	(void)k;
	if (!strcmp(v, "max")) {
		s->cpu_max_quota_us = -1;
		s->cpu_max_period_us = period;
		return 0;
	}
	if (len > 1 && v[len - 1] == '%' && len < sizeof(q)) {
		memcpy(q, v, len - 1);
		q[len - 1] = '\0';
		if (rv_parse_u32(q, 1, 100000, &pct))
			return key_error(c,
					 "invalid percentage " VAL_FMT " (1%%..100000%%)",
					 VAL_ARG(v));
		s->cpu_max_quota_us = (int64_t)pct * (period / 100);
		s->cpu_max_period_us = period;
		return 0;
	}
	if (sp && (size_t)(sp - v) < sizeof(q)) {
		memcpy(q, v, (size_t)(sp - v));
		q[sp - v] = '\0';
		while (*sp == ' ')
			sp++;
		if (!rv_parse_u32(sp, 1000, 1000000, &period) &&
		    (!strcmp(q, "max") ||
		     !rv_parse_u32(q, 1000, UINT32_MAX - 1, &quota))) {
			s->cpu_max_quota_us = strcmp(q, "max") ? (int64_t)quota : -1;
			s->cpu_max_period_us = period;
			return 0;
		}
	}
	return key_error(c,
			 "invalid cpu_max " VAL_FMT " (use a percentage like 50%%, max, or QUOTA PERIOD in microseconds, period 1000..1000000)",
			 VAL_ARG(v));
}

static int set_memory(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	char buf[24];
	uint64_t bytes;
	int ret;

	if (!strcmp(v, "max"))
		return store_string(c, FIELD(base, k->off, char *), v);
	ret = rv_parse_bytes(v, &bytes);
	if (ret == -ERANGE)
		return key_error(c, "size " VAL_FMT " is too large",
				 VAL_ARG(v));
	if (ret)
		return key_error(c,
				 "invalid size " VAL_FMT " (use bytes with K, M, G or T, or max)",
				 VAL_ARG(v));
	if (!bytes)
		return key_error(c,
				 "must be greater than 0 (use max for no limit)");
	snprintf(buf, sizeof(buf), "%" PRIu64, bytes);
	return store_string(c, FIELD(base, k->off, char *), buf);
}

/* log_buffer = SIZE: bytes (K, M suffixes), 0 turns it off */
static int set_log_buffer(const struct key_ctx *c, const struct key *k,
			  void *base, const char *v)
{
	uint64_t bytes;
	int ret = rv_parse_bytes(v, &bytes);

	if (ret && ret != -ERANGE)
		return key_error(c,
				 "invalid size " VAL_FMT " (use bytes with K or M, or 0 for none)",
				 VAL_ARG(v));
	if (ret || bytes > RV_LOG_BUFFER_MAX)
		return key_error(c, "size " VAL_FMT " is too large (at most 64M)",
				 VAL_ARG(v));
	*FIELD(base, k->off, int64_t) = (int64_t)bytes;
	return 0;
}

static int set_pids(const struct key_ctx *c, const struct key *k,
		    void *base, const char *v)
{
	char buf[24];
	uint64_t n;
	int ret;

	if (!strcmp(v, "max"))
		return store_string(c, FIELD(base, k->off, char *), v);
	ret = rv_parse_u64(v, (uint64_t)k->min, (uint64_t)k->max, &n);
	if (ret == -ERANGE)
		return key_error(c,
				 "%s is out of range (%" PRId64 "..%" PRId64 ", or max)",
				 v, k->min, k->max);
	if (ret)
		return key_error(c,
				 "invalid number " VAL_FMT " (use a number or max)",
				 VAL_ARG(v));
	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return store_string(c, FIELD(base, k->off, char *), buf);
}

static int set_output(const struct key_ctx *c, const struct key *k,
		      void *base, const char *v)
{
	struct rv_iso_spec *s = base;
	bool is_err = !strcmp(k->name, "stderr");
	enum rv_output kind;
	char *path = NULL, *mode;

	if (!strcmp(v, "inherit")) {
		kind = RV_OUTPUT_INHERIT;
	} else if (!strcmp(v, "null")) {
		kind = RV_OUTPUT_NULL;
	} else if (!strcmp(v, "prefix")) {
		kind = RV_OUTPUT_PREFIX;
	} else if (is_err && !strcmp(v, "stdout")) {
		kind = RV_OUTPUT_STDOUT;
	} else if (!strcmp(v, "journal")) {
		kind = RV_OUTPUT_JOURNAL;
	} else if (!strncmp(v, "file:", 5)) {
		kind = RV_OUTPUT_FILE;
		if (v[5] != '/')
			return key_error(c,
					 "file: needs an absolute path, not " VAL_FMT,
					 VAL_ARG(v + 5));
		path = strdup(v + 5);
		if (!path)
			return key_enomem(c);
	} else {
		return key_error(c,
				 "invalid value " VAL_FMT " (use inherit, null, prefix, journal%s or file:PATH)",
				 VAL_ARG(v), is_err ? ", stdout" : "");
	}
	mode = strdup(v);
	if (!mode) {
		free(path);
		return key_enomem(c);
	}
	if (is_err) {
		free(s->stderr_mode);
		free(s->stderr_path);
		s->stderr_mode = mode;
		s->stderr_path = path;
		s->stderr_kind = kind;
	} else {
		free(s->stdout_mode);
		free(s->stdout_path);
		s->stdout_mode = mode;
		s->stdout_path = path;
		s->stdout_kind = kind;
	}
	return 0;
}

/* "nofile" + {65536, 65536} -> "nofile=65536:65536" */
static int format_limit(const char *name, const struct rlimit *rl,
			char **out)
{
	char soft[24] = "infinity", hard[24] = "infinity", buf[80];

	if (rl->rlim_cur != RLIM_INFINITY)
		snprintf(soft, sizeof(soft), "%" PRIu64,
			 (uint64_t)rl->rlim_cur);
	if (rl->rlim_max != RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "%" PRIu64,
			 (uint64_t)rl->rlim_max);
	snprintf(buf, sizeof(buf), "%s=%s:%s", name, soft, hard);
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int set_limit(const struct key_ctx *c, const char *name,
		     struct rv_iso_spec *s, const char *v)
{
	struct rlimit rl, part;
	size_t i, len = strlen(name);
	char *entry, **grown;
	const char *colon;
	int ret = rv_parse_rlimit(v, &rl);

	if (ret == -ERANGE) {
		/* both halves fine alone: it is the order that is wrong */
		colon = strchr(v, ':');
		if (colon && !rv_parse_rlimit(colon + 1, &part)) {
			char *soft = strndup(v, (size_t)(colon - v));

			if (!soft)
				return key_enomem(c);
			ret = rv_parse_rlimit(soft, &part);
			free(soft);
			if (!ret)
				return key_error(c,
						 "soft limit exceeds hard limit in " VAL_FMT,
						 VAL_ARG(v));
		}
		return key_error(c,
				 "number too large in " VAL_FMT " (use infinity for no limit)",
				 VAL_ARG(v));
	}
	if (ret)
		return key_error(c,
				 "invalid limit " VAL_FMT " (use soft[:hard], each a number or infinity)",
				 VAL_ARG(v));
	if (format_limit(name, &rl, &entry))
		return key_enomem(c);
	for (i = 0; i < s->n_limits; i++) {
		if (!strncmp(s->limits[i], name, len) &&
		    s->limits[i][len] == '=') {
			free(s->limits[i]);
			s->limits[i] = entry;
			return 0;
		}
	}
	grown = realloc(s->limits, (s->n_limits + 2) * sizeof(*grown));
	if (!grown) {
		free(entry);
		return key_enomem(c);
	}
	s->limits = grown;
	s->limits[s->n_limits++] = entry;
	s->limits[s->n_limits] = NULL;
	return 0;
}

#define SVC(f) offsetof(struct rv_service_spec, f)
#define SVL(f) offsetof(struct rv_service_spec, lines.f)
#define ISO(f) offsetof(struct rv_iso_spec, f)
#define RDY(f) offsetof(struct rv_ready_spec, f)
#define RDL(f) offsetof(struct rv_ready_spec, lines.f)
#define GRP(f) offsetof(struct rv_group_spec, f)
#define GRL(f) offsetof(struct rv_group_spec, lines.f)
#define TOP(f) offsetof(struct rv_specs, f)
#define SOCK(f) offsetof(struct rv_socket_spec, f)
#define SOCKL(f) offsetof(struct rv_socket_spec, lines.f)
/* fds a service may keep with us: what spawn.c can pass, with room for
 * sockets (RV_SOCKETS_PER_SERVICE_MAX) and stdio */
#define FD_STORE_MAX 128

/* max_restarts: finite values are capped; intensity beyond this is a typo */
#define RESTARTS_MAX 100000

static const struct key service_keys[] = {
	{ "supervisor", set_name_ref, .off = SVC(supervisor),
	  .line_off = SVL(supervisor) },
	{ .name = "command", .set = set_command, .expand = EXPAND_WORDS },
	{ "type", set_enum, .off = SVC(type), .line_off = SVL(type),
	  .choices = type_names },
	{ "instances", set_u32, .off = SVC(instances),
	  .line_off = SVL(instances), .min = 1, .max = 10000 },
	{ "restart", set_enum, .off = SVC(restart), .line_off = SVL(restart),
	  .choices = restart_names },
	{ "success_exit_status", set_success, .off = SVC(success) },
	{ "backoff", set_enum, .off = SVC(backoff.kind),
	  .choices = backoff_names },
	{ "restart_delay", set_duration, .off = SVC(backoff.delay_ns),
	  .line_off = SVL(restart_delay) },
	{ "restart_delay_max", set_duration, .off = SVC(backoff.delay_max_ns),
	  .line_off = SVL(restart_delay_max) },
	{ "backoff_multiplier", set_double, .off = SVC(backoff.multiplier),
	  .line_off = SVL(backoff_multiplier), .min = 1, .max = 1000 },
	{ "backoff_jitter", set_double, .off = SVC(backoff.jitter),
	  .min = 0, .max = 1 },
	{ "backoff_reset_after", set_duration,
	  .off = SVC(backoff.reset_after_ns) },
	{ "max_restarts", set_max_restarts, .off = SVC(intensity.max_restarts),
	  .max = RESTARTS_MAX },
	{ "restart_window", set_duration, .off = SVC(intensity.window_ns),
	  .min = 1 },
	{ "critical", set_bool, .off = SVC(critical) },
	{ "after", set_after, .off = SVC(after), .off2 = SVC(n_after),
	  .line_off = SVL(after) },
	{ "stop_signal", set_signal, .off = SVC(stop_signal) },
	{ "stop_timeout", set_duration, .off = SVC(stop_timeout_ns), .min = 1 },
	{ "kill_mode", set_enum, .off = SVC(kill_mode),
	  .choices = kill_mode_names },
	{ "restart_mode", set_enum, .off = SVC(restart_mode),
	  .choices = restart_mode_names },
	{ "max_unavailable", set_u32, .off = SVC(max_unavailable),
	  .line_off = SVL(max_unavailable), .min = 1, .max = 10000 },
	{ "ready_fd", set_int, .off = RDY(ready_fd), .line_off = RDL(ready_fd),
	  .min = 3, .max = FD_MAX, .part = PART_READY },
	{ "ready_check", set_argv, .off = RDY(ready_check),
	  .line_off = RDL(ready_check), .part = PART_READY,
	  .expand = EXPAND_WORDS },
	{ "ready_timeout", set_duration, .off = RDY(ready_timeout_ns),
	  .line_off = RDL(ready_timeout), .part = PART_READY },
	{ "health_check", set_argv, .off = RDY(health_check),
	  .part = PART_READY, .expand = EXPAND_WORDS },
	{ "health_interval", set_duration, .off = RDY(health_interval_ns),
	  .min = 1, .part = PART_READY },
	{ "health_retries", set_u32, .off = RDY(health_retries), .min = 1,
	  .max = RESTARTS_MAX, .part = PART_READY },
	{ "watchdog", set_duration, .off = RDY(watchdog_ns),
	  .line_off = RDL(watchdog), .part = PART_READY },
	{ "fd_store_max", set_u32, .off = RDY(fd_store_max),
	  .line_off = RDL(fd_store_max), .min = 0, .max = FD_STORE_MAX,
	  .part = PART_READY },
	{ "user", set_user, .off = ISO(user), .part = PART_ISO },
	{ "group", set_user, .off = ISO(group), .part = PART_ISO },
	{ .name = "capabilities", .set = set_caps, .part = PART_ISO },
	{ "no_new_privileges", set_bool, .off = ISO(no_new_privileges),
	  .part = PART_ISO },
	{ "working_directory", set_abs_path, .off = ISO(working_directory),
	  .part = PART_ISO, .expand = EXPAND_TEXT },
	{ "environment", set_environment, .off = SVC(environment),
	  .off2 = SVC(n_environment), .expand = EXPAND_WORDS },
	{ "environment_file", set_abs_path, .off = ISO(environment_file),
	  .part = PART_ISO, .expand = EXPAND_TEXT },
	{ "umask", set_umask, .off = ISO(umask), .part = PART_ISO },
	{ "cpu_affinity", set_cpus, .off = ISO(cpu_affinity),
	  .part = PART_ISO },
	{ "nice", set_nice, .off = ISO(nice), .min = -20, .max = 19,
	  .part = PART_ISO },
	{ "memory_max", set_memory, .off = ISO(memory_max), .part = PART_ISO },
	{ "pids_max", set_pids, .off = ISO(pids_max), .min = 1,
	  .max = PIDS_MAX, .part = PART_ISO },
	{ .name = "cpu_max", .set = set_cpu_max, .part = PART_ISO },
	{ "cpu_weight", set_u32, .off = ISO(cpu_weight), .min = 1,
	  .max = 10000, .part = PART_ISO },
	{ "oom_score_adjust", set_oom, .off = ISO(oom_score_adjust),
	  .min = -1000, .max = 1000, .part = PART_ISO },
	{ "clear_environment", set_bool, .off = ISO(clear_environment),
	  .part = PART_ISO },
	{ .name = "stdout", .set = set_output, .part = PART_ISO,
	  .expand = EXPAND_TEXT },
	{ "log_buffer", set_log_buffer, .off = SVC(log_buffer) },
	{ .name = "stderr", .set = set_output, .part = PART_ISO,
	  .expand = EXPAND_TEXT },
};

static const struct key group_keys[] = {
	{ "supervisor", set_name_ref, .off = GRP(supervisor),
	  .line_off = GRL(supervisor) },
	{ "strategy", set_enum, .off = GRP(strategy),
	  .choices = strategy_names },
	{ "max_restarts", set_max_restarts, .off = GRP(intensity.max_restarts),
	  .max = RESTARTS_MAX },
	{ "restart_window", set_duration, .off = GRP(intensity.window_ns),
	  .min = 1 },
	{ "critical", set_bool, .off = GRP(critical) },
	{ "after", set_after, .off = GRP(after), .off2 = GRP(n_after),
	  .line_off = GRL(after) },
};

/* listen = tcp://ADDR:PORT | tcp6://[ADDR]:PORT | udp://... | unix:PATH */
static int set_socket_listen(const struct key_ctx *c, const struct key *k,
			     void *base, const char *v)
{
	struct rv_socket_spec *sock = base;
	char why[96];

	/* even if rejected: it was given, so "missing listen" would lie */
	sock->lines.listen = c->line;
	if (rv_socket_parse_listen(base, v, why, sizeof(why)))
		return key_error(c, "invalid address " VAL_FMT ": %s",
				 VAL_ARG(v), why);
	return set_string(c, k, base, v);
}

static const struct key socket_keys[] = {
	{ "listen", set_socket_listen, .off = SOCK(listen), .line_off = SOCKL(listen) },
	{ "service", set_after, .off = SOCK(services), .off2 = SOCK(n_services),
	  .line_off = SOCKL(service) },
	{ "backlog", set_u32, .off = SOCK(backlog), .min = 1,
	  .max = 1 << 20 },
	{ "reuse_port", set_bool, .off = SOCK(reuse_port) },
	{ "socket_user", set_user, .off = SOCK(socket_user),
	  .line_off = SOCKL(socket_user) },
	{ "socket_group", set_user, .off = SOCK(socket_group),
	  .line_off = SOCKL(socket_group) },
	{ "socket_mode", set_umask, .off = SOCK(socket_mode),
	  .line_off = SOCKL(socket_mode) },
};

/*
 * timer_precision = normal | spin:DURATION | spin:auto[:MAX] (k->min..k->max
 * ns; off2: the spin:auto flag; MAX defaults to RV_TIMER_SPIN_AUTO_MAX)
 */
static int set_precision(const struct key_ctx *c, const struct key *k,
			 void *base, const char *v)
{
	bool adaptive = !strncmp(v, "spin:auto", 9) &&
			(!v[9] || v[9] == ':');
	int64_t ns = RV_TIMER_SPIN_AUTO_MAX;
	bool bad;

	if (!strcmp(v, "normal")) {
		*FIELD(base, k->off, int64_t) = 0;
		*FIELD(base, k->off2, bool) = false;
		return 0;
	}
	if (adaptive)
		bad = v[9] && rv_parse_duration(v + 10, &ns);
	else
		bad = strncmp(v, "spin:", 5) || rv_parse_duration(v + 5, &ns);
	if (bad || ns < k->min || ns > k->max)
		return key_error(c,
				 "invalid precision " VAL_FMT " (use normal, spin:DURATION, e.g. spin:50us, or spin:auto[:MAX], e.g. spin:auto:200us; at most 1s)",
				 VAL_ARG(v));
	*FIELD(base, k->off, int64_t) = ns;
	*FIELD(base, k->off2, bool) = adaptive;
	return 0;
}

static const struct key top_keys[] = {
	{ "strategy", set_enum, .off = TOP(top.strategy),
	  .choices = strategy_names },
	{ "max_restarts", set_max_restarts,
	  .off = TOP(top.intensity.max_restarts), .max = RESTARTS_MAX },
	{ "restart_window", set_duration, .off = TOP(top.intensity.window_ns),
	  .min = 1 },
	{ "shutdown_timeout", set_duration, .off = TOP(shutdown_timeout_ns),
	  .min = 1 },
	{ "control_socket", set_socket_path, .off = TOP(control_socket),
	  .expand = EXPAND_TEXT },
	{ "control_group", set_user, .off = TOP(control_group) },
	{ "http_listen", set_listen, .off = TOP(http_listen) },
	{ "backend", set_enum, .off = TOP(backend), .choices = backend_names },
	{ "timer_precision", set_precision, .off = TOP(timer_spin_ns),
	  .off2 = TOP(timer_spin_auto), .min = 1, .max = RV_TIMER_SPIN_MAX },
	{ "realtime_priority", set_int, .off = TOP(realtime_priority),
	  .min = 0, .max = 99 },
	{ "log_buffer", set_log_buffer, .off = TOP(log_buffer) },
	{ "log_target", set_enum, .off = TOP(log_target),
	  .choices = log_target_names },
};

#define N_SERVICE_KEYS (sizeof(service_keys) / sizeof(service_keys[0]))
#define N_GROUP_KEYS (sizeof(group_keys) / sizeof(group_keys[0]))
#define N_TOP_KEYS (sizeof(top_keys) / sizeof(top_keys[0]))
#define N_SOCKET_KEYS (sizeof(socket_keys) / sizeof(socket_keys[0]))
#define LIMIT_PREFIX "limit_"

static const struct key *table(enum rv_key_section sect, size_t *n)
{
	switch (sect) {
	case RV_KEYS_TOP:
		*n = N_TOP_KEYS;
		return top_keys;
	case RV_KEYS_GROUP:
		*n = N_GROUP_KEYS;
		return group_keys;
	case RV_KEYS_SOCKET:
		*n = N_SOCKET_KEYS;
		return socket_keys;
	case RV_KEYS_SERVICE:
		break;
	}
	*n = N_SERVICE_KEYS;
	return service_keys;
}

size_t rv_keys_count(enum rv_key_section sect)
{
	size_t n;

	table(sect, &n);
	/* every limit_<name> is a key of its own */
	return sect == RV_KEYS_SERVICE ? n + RLIM_NLIMITS : n;
}

int rv_keys_lookup(enum rv_key_section sect, const char *key)
{
	size_t n, i;
	const struct key *t = table(sect, &n);
	int res;

	for (i = 0; i < n; i++)
		if (!strcmp(key, t[i].name))
			return (int)i;
	if (sect == RV_KEYS_SERVICE &&
	    !strncmp(key, LIMIT_PREFIX, strlen(LIMIT_PREFIX))) {
		res = rv_rlimit_from_name(key + strlen(LIMIT_PREFIX));
		if (res >= 0 && res < RLIM_NLIMITS)
			return (int)n + res;
	}
	return -ENOENT;
}

/* The struct k fills: spec itself or one of its parts (made the spec's
 * own on first use); NULL when out of memory. */
static void *key_base(const struct key *k, void *spec)
{
	switch (k->part) {
	case PART_ISO:
		return rv_service_spec_iso(spec);
	case PART_READY:
		return rv_service_spec_ready(spec);
	case PART_SPEC:
		break;
	}
	return spec;
}

int rv_keys_apply(enum rv_key_section sect, int slot, void *base,
		  const char *key, const char *value, const char *file,
		  int line, struct rv_diag *d)
{
	struct key_ctx c = { file, line, key, d };
	size_t n;
	const struct key *t = table(sect, &n), *k;
	int ret;

	if (slot < 0)
		return -EINVAL;
	if ((size_t)slot >= n) {
		struct rv_iso_spec *iso = rv_service_spec_iso(base);

		return iso ? set_limit(&c, rv_rlimit_name(slot - (int)n), iso,
				       value) : key_enomem(&c);
	}
	k = &t[slot];
	base = key_base(k, base);
	if (!base)
		return key_enomem(&c);
	if (k->expand) {
		char why[160], *expanded;

		ret = rv_expand_vars(value, k->expand == EXPAND_WORDS,
				     rv_env_getenv, NULL, &expanded, why,
				     sizeof(why));
		if (ret == -ENOMEM)
			return key_enomem(&c);
		if (ret)
			return key_error(&c, "%s", why);
		ret = k->set(&c, k, base, expanded);
		free(expanded);
	} else {
		ret = k->set(&c, k, base, value);
	}
	if (!ret && k->line_off)
		*FIELD(base, k->line_off, int) = line;
	return ret;
}

/* Levenshtein distance, capped: anything past 3 is "far". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t prev[40], cur[40];

	if (la >= 40 || lb >= 40)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			cur[j] = cur[j] < ins ? cur[j] : ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

const char *rv_keys_suggest(enum rv_key_section sect, const char *key)
{
	size_t n, i, best_d = 3;
	const struct key *t = table(sect, &n);
	const char *best = NULL;

	for (i = 0; i < n; i++) {
		size_t d = edit_distance(key, t[i].name);

		if (d < best_d && d < strlen(key)) {
			best_d = d;
			best = t[i].name;
		}
	}
	return best;
}

int rv_service_spec_set(struct rv_service_spec *s, const char *key,
			const char *value, const char *file, int line,
			struct rv_diag *diag)
{
	int slot = rv_keys_lookup(RV_KEYS_SERVICE, key);
	const char *hint;

	if (slot < 0) {
		hint = rv_keys_suggest(RV_KEYS_SERVICE, key);
		if (hint)
			rv_diag_error(diag, file, line,
				      "unknown key \"%s\" (did you mean %s?)",
				      key, hint);
		else
			rv_diag_error(diag, file, line, "unknown key \"%s\"",
				      key);
		return -EINVAL;
	}
	return rv_keys_apply(RV_KEYS_SERVICE, slot, s, key, value, file, line,
			     diag);
}

__attribute__((format(printf, 4, 5)))
static void check_error(struct rv_diag *d, const struct rv_service_spec *s,
			int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_diag_vprint(d, true, s->file, line ? line : s->line, NULL, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5)))
static void check_warning(struct rv_diag *d, const struct rv_service_spec *s,
			  int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rv_diag_vprint(d, false, s->file, line ? line : s->line, NULL, fmt,
		       ap);
	va_end(ap);
}

static int later(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Decisions (README):
 * - restart_delay_max < restart_delay: error (the cap would undercut the
 *   first delay).
 * - watchdog > 0 needs type = notify: only notify services send WATCHDOG=1.
 * - type = oneshot with restart = always: a warning, not an error; a
 *   oneshot that succeeds ends `completed` whatever the policy (service.c),
 *   so `always` acts as on-failure there and the user should say so.
 * - One readiness source per service: type = notify (READY=1), ready_fd or
 *   ready_check; a oneshot is ready when it exits, so it takes none.
 * - Other warnings (no effect, but harmless): backoff_multiplier without
 *   backoff = exponential; ready_timeout on a simple service without
 *   ready_fd or ready_check (it is ready as soon as it runs).
 */
int rv_service_spec_check(const struct rv_service_spec *s,
			  struct rv_diag *d)
{
	const struct rv_service_lines *l = &s->lines;
	const struct rv_ready_spec *r = s->ready;
	const struct rv_ready_lines *rl = &r->lines;
	struct rv_diag quiet = { 0 };
	char a[32], b[32];
	int before;

	if (!d)
		d = &quiet;
	before = d->errors;

	if (s->backoff.delay_max_ns < s->backoff.delay_ns) {
		rv_format_duration(s->backoff.delay_max_ns, a, sizeof(a));
		rv_format_duration(s->backoff.delay_ns, b, sizeof(b));
		check_error(d, s, l->restart_delay_max ? l->restart_delay_max :
			    l->restart_delay,
			    "restart_delay_max (%s) is less than restart_delay (%s)",
			    a, b);
	}
	if (s->max_unavailable > s->instances)
		check_error(d, s, l->max_unavailable,
			    "max_unavailable (%u) is more than instances (%u)",
			    s->max_unavailable, s->instances);
	if (r->watchdog_ns && s->type != RV_TYPE_NOTIFY)
		check_error(d, s, rl->watchdog,
			    "watchdog: needs type = notify (the service must send WATCHDOG=1)");
	if (s->type == RV_TYPE_ONESHOT && s->restart == RV_RESTART_ALWAYS)
		check_warning(d, s, l->restart ? l->restart : l->type,
			      "restart = always acts as on-failure for type = oneshot (a success ends it completed)");
	if (s->type == RV_TYPE_NOTIFY && r->ready_fd >= 0)
		check_error(d, s, rl->ready_fd,
			    "ready_fd: conflicts with type = notify (readiness comes from READY=1)");
	if (s->type == RV_TYPE_NOTIFY && r->ready_check)
		check_error(d, s, rl->ready_check,
			    "ready_check: conflicts with type = notify (readiness comes from READY=1)");
	if (s->type == RV_TYPE_ONESHOT && r->ready_fd >= 0)
		check_error(d, s, rl->ready_fd,
			    "ready_fd: a oneshot service is ready when it exits");
	if (s->type == RV_TYPE_ONESHOT && r->ready_check)
		check_error(d, s, rl->ready_check,
			    "ready_check: a oneshot service is ready when it exits");
	if (s->type == RV_TYPE_SIMPLE && r->ready_fd >= 0 && r->ready_check)
		check_error(d, s, later(rl->ready_fd, rl->ready_check),
			    "ready_fd and ready_check conflict (use one readiness method)");

	if (s->backoff.kind != RV_BACKOFF_EXPONENTIAL &&
	    (l->backoff_multiplier || s->backoff.multiplier != 2.0))
		check_warning(d, s, l->backoff_multiplier,
			      "backoff_multiplier: has no effect unless backoff = exponential");
	if (s->type == RV_TYPE_SIMPLE && r->ready_timeout_ns &&
	    r->ready_fd < 0 && !r->ready_check)
		check_warning(d, s, rl->ready_timeout,
			      "ready_timeout: has no effect: a simple service without ready_fd or ready_check is ready once started");
	return d->errors > before ? -EINVAL : 0;
}
