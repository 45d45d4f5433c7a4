// SPDX-License-Identifier: MIT
/*
 * Durations: text <-> int64 nanoseconds, in integer arithmetic only, so that
 * "100ms" is exactly 100000000 and "0.1h" exactly 360 s (a double would make
 * the first 99999999.99... and truncate it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config/parse.h"

#define NS_PER_US 1000LL
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define NS_PER_M (60 * NS_PER_S)
#define NS_PER_H (3600 * NS_PER_S)

/*
 * A fraction of at most this many significant digits can still be a whole
 * number of nanoseconds: the largest unit, h = 36 * 10^11 ns, absorbs 11
 * decimal places plus the 2 and 3 factors of 36.  Longer fractions (trailing
 * zeros removed) are finer than 1ns for every unit.
 */
#define FRAC_DIGITS_MAX 19

static const struct duration_unit {
	const char *name;
	int64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", NS_PER_US },
	{ "ms", NS_PER_MS },
	{ "s", NS_PER_S },
	{ "m", NS_PER_M },
	{ "h", NS_PER_H },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int64_t unit_ns(const char *s)
{
	size_t i;

	if (!*s)
		return NS_PER_S;	/* a bare number is seconds */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(s, units[i].name))
			return units[i].ns;
	return 0;
}

int rv_parse_duration(const char *s, int64_t *out_ns)
{
	const char *p = s, *frac = NULL;
	size_t frac_len = 0, i;
	unsigned __int128 whole = 0, frac_val = 0, pow10 = 1, ns;
	int64_t unit;
	bool negative = false;

	if (*p == '-') {
		/* still check the rest, so "-x" is junk and "-1s" a range */
		negative = true;
		p++;
	}
	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		/* saturate: too big stays too big, and cannot wrap */
		if (whole > INT64_MAX)
			whole = (unsigned __int128)INT64_MAX + 1;
	}
	if (*p == '.') {
		frac = ++p;
		while (is_digit(*p))
			p++;
		frac_len = (size_t)(p - frac);
		if (!frac_len)
			return -EINVAL;
	}
	unit = unit_ns(p);
	if (!unit)
		return -EINVAL;
	if (negative)
		return -ERANGE;

	while (frac_len && frac[frac_len - 1] == '0')
		frac_len--;
	if (frac_len > FRAC_DIGITS_MAX)
		return -EINVAL;
	for (i = 0; i < frac_len; i++) {
		frac_val = frac_val * 10 + (unsigned)(frac[i] - '0');
		pow10 *= 10;
	}
	frac_val *= (uint64_t)unit;
	if (frac_val % pow10)
		return -EINVAL;		/* finer than a nanosecond */

	ns = whole * (uint64_t)unit + frac_val / pow10;
	if (ns > INT64_MAX)
		return -ERANGE;
	*out_ns = (int64_t)ns;
	return 0;
}

const char *rv_format_duration(int64_t ns, char *buf, size_t len)
{
	static const struct duration_unit small[] = {
		{ "s", NS_PER_S }, { "ms", NS_PER_MS }, { "us", NS_PER_US },
	};
	/* INT64_MIN has no positive int64: do the sign by hand in uint64 */
	uint64_t v = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	uint64_t u = 1, rem;
	const char *name = "ns";
	char frac[16];
	int digits = 0, n;
	size_t i;

	if (!v) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (v % (uint64_t)NS_PER_H == 0) {
		snprintf(buf, len, "%s%" PRIu64 "h", sign, v / (uint64_t)NS_PER_H);
		return buf;
	}
	if (v % (uint64_t)NS_PER_M == 0) {
		snprintf(buf, len, "%s%" PRIu64 "m", sign, v / (uint64_t)NS_PER_M);
		return buf;
	}
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		if (v >= (uint64_t)small[i].ns) {
			u = (uint64_t)small[i].ns;
			name = small[i].name;
			break;
		}
	}
	for (rem = u; rem > 1; rem /= 10)
		digits++;
	rem = v % u;
	if (!rem) {
		snprintf(buf, len, "%s%" PRIu64 "%s", sign, v / u, name);
		return buf;
	}
	n = snprintf(frac, sizeof(frac), "%0*" PRIu64, digits, rem);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(buf, len, "%s%" PRIu64 ".%s%s", sign, v / u, frac, name);
	return buf;
}
