// SPDX-License-Identifier: MIT
/*
 * Scalar value parsers: booleans, numbers, sizes, CPU lists, resource
 * limits, names.  Strict on purpose: no blanks, no sign where none makes
 * sense, no hex, no locale, so a typo is an error and never a silent 0.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/parse.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits only; -ERANGE past UINT64_MAX.  *end is set past the digits. */
static int scan_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	bool overflow = false;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return overflow ? -ERANGE : 0;
}

/* Whole string digits, with "-<digits>" recognized as out of range. */
static int parse_unsigned(const char *s, uint64_t *out)
{
	const char *end;
	int ret;

	if (*s == '-' && is_digit(s[1])) {
		/* digits follow, so scan_u64 sets end (0 or -ERANGE) */
		if (scan_u64(s + 1, out, &end) == -EINVAL)
			return -EINVAL;
		return *end ? -EINVAL : -ERANGE;
	}
	ret = scan_u64(s, out, &end);
	if (ret == -EINVAL || *end)
		return -EINVAL;
	return ret;
}

int rv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int ret = parse_unsigned(s, &v);

	if (ret)
		return ret;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int rv_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int ret = rv_parse_u64(s, min, max, &v);

	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int rv_parse_int(const char *s, int min, int max, int *out)
{
	bool negative = *s == '-';
	const char *end;
	uint64_t v;
	int64_t sv;
	int ret;

	ret = scan_u64(s + negative, &v, &end);
	if (ret == -EINVAL || *end)
		return -EINVAL;
	if (ret || v > (uint64_t)INT64_MAX)
		return -ERANGE;
	sv = negative ? -(int64_t)v : (int64_t)v;
	if (sv < min || sv > max)
		return -ERANGE;
	*out = (int)sv;
	return 0;
}

/*
 * [-]DIGITS[.DIGITS] only, then strtod: that grammar keeps out "nan",
 * "inf", hex floats and exponents.  strtod follows LC_NUMERIC; ringvisor
 * never calls setlocale(), so the decimal point is '.'.
 */
int rv_parse_double(const char *s, double min, double max, double *out)
{
	const char *p = s + (*s == '-');
	char *end;
	double v;

	if (!is_digit(*p))
		return -EINVAL;
	while (is_digit(*p))
		p++;
	if (*p == '.') {
		if (!is_digit(*++p))
			return -EINVAL;
		while (is_digit(*p))
			p++;
	}
	if (*p)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end)
		return -EINVAL;
	if (!isfinite(v) || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int rv_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int rv_parse_octal(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	if (*s == '-' && s[1] >= '0' && s[1] <= '7')
		return -ERANGE;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		if (v <= max)
			v = v * 8 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int rv_parse_bytes(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	unsigned int shift = 0;
	int ret;

	if (*s == '-' && is_digit(s[1]))
		return -ERANGE;
	ret = scan_u64(s, &v, &end);
	if (ret == -EINVAL)
		return ret;
	if (*end) {
		switch (*end) {
		case 'K': case 'k':
			shift = 10;
			break;
		case 'M': case 'm':
			shift = 20;
			break;
		case 'G': case 'g':
			shift = 30;
			break;
		case 'T': case 't':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (ret)
		return ret;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int rv_parse_cpu_list(const char *s, cpu_set_t *set)
{
	bool any = false;

	if (set)
		CPU_ZERO(set);
	for (;;) {
		uint64_t lo, hi, cpu;
		const char *end;
		int ret;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		ret = scan_u64(s, &lo, &end);
		if (ret == -EINVAL)
			return ret;
		hi = lo;
		if (*end == '-') {
			int ret2 = scan_u64(end + 1, &hi, &end);

			if (ret2 == -EINVAL)
				return ret2;
			ret = ret ? ret : ret2;
		}
		if (*end && *end != ',' && *end != ' ' && *end != '\t')
			return -EINVAL;
		if (ret || lo >= CPU_SETSIZE || hi >= CPU_SETSIZE)
			return -ERANGE;
		if (lo > hi)
			return -EINVAL;
		for (cpu = lo; set && cpu <= hi; cpu++)
			CPU_SET((size_t)cpu, set);
		any = true;
		s = end;
	}
	return any ? 0 : -EINVAL;
}

static const struct rlimit_name {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },
	{ "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

int rv_rlimit_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(name, rlimit_names[i].name))
			return rlimit_names[i].resource;
	return -EINVAL;
}

const char *rv_rlimit_name(int resource)
{
	size_t i;

	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return NULL;
}

static int parse_rlim_value(const char *s, size_t len, rlim_t *out)
{
	char buf[32];
	uint64_t v;
	int ret;

	if ((len == 8 && !strncmp(s, "infinity", 8)) ||
	    (len == 9 && !strncmp(s, "unlimited", 9))) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (len >= sizeof(buf))
		return is_digit(*s) ? -ERANGE : -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* RLIM_INFINITY is ~0: a number that large must be spelt infinity */
	ret = rv_parse_u64(buf, 0, RLIM_INFINITY - 1, &v);
	if (!ret)
		*out = (rlim_t)v;
	return ret;
}

int rv_parse_rlimit(const char *s, struct rlimit *out)
{
	const char *colon = strchr(s, ':');
	struct rlimit rl;
	int ret;

	ret = parse_rlim_value(s, colon ? (size_t)(colon - s) : strlen(s),
			       &rl.rlim_cur);
	if (ret)
		return ret;
	if (colon) {
		ret = parse_rlim_value(colon + 1, strlen(colon + 1),
				       &rl.rlim_max);
		if (ret)
			return ret;
	} else {
		rl.rlim_max = rl.rlim_cur;
	}
	if (rl.rlim_cur > rl.rlim_max)
		return -ERANGE;
	*out = rl;
	return 0;
}

bool rv_is_valid_name(const char *s)
{
	const char *p;

	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      is_digit(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

const char *rv_format_fixed3(int64_t ns, int64_t unit, char *buf, size_t len)
{
	int64_t milli = unit / 1000;
	/* thousandths, rounded half up; ns + milli / 2 would overflow near
	 * INT64_MAX (a custom backoff's "never") */
	int64_t v = ns < 0 ? 0 : ns / milli +
				 (ns % milli >= milli - milli / 2);

	snprintf(buf, len, "%lld.%03lld", (long long)(v / 1000),
		 (long long)(v % 1000));
	return buf;
}
