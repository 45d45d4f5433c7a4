// SPDX-License-Identifier: MIT
/*
 * Value parsers: durations, signals, command splitting, numbers, sizes,
 * CPU lists, limits, names.  Tables of exact inputs and outputs; every
 * failing case also checks that the output was left untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNTOUCHED 4242

static void test_duration_table(void **state)
{
	static const struct {
		const char *in;
		int ret;
		int64_t ns;
	} cases[] = {
		{ "0", 0, 0 },
		{ "0s", 0, 0 },
		{ "1ns", 0, 1 },
		{ "1us", 0, 1000 },
		{ "1ms", 0, 1000000 },
		{ "100ms", 0, 100000000 },
		{ "1.5s", 0, 1500000000 },
		{ "10", 0, 10000000000 },
		{ "2m", 0, 120000000000 },
		{ "1h", 0, 3600000000000 },
		{ "0.1h", 0, 360000000000 },
		{ "1.25us", 0, 1250 },
		{ "0.001ms", 0, 1000 },
		{ "1.000000001s", 0, 1000000001 },
		{ "1.50000000000000000000000000s", 0, 1500000000 },
		{ "007s", 0, 7000000000 },
		/* 9223372036 s = 9223372036000000000 ns still fits int64 */
		{ "9223372036s", 0, 9223372036000000000 },
		{ "9223372036.854775807s", 0, INT64_MAX },
		{ "9223372036854775807ns", 0, INT64_MAX },
		{ "2562047h", 0, 2562047LL * 3600 * 1000000000 },
		{ "9223372037s", -ERANGE, 0 },
		{ "9223372036.854775808s", -ERANGE, 0 },
		{ "9223372036854775808ns", -ERANGE, 0 },
		{ "2562048h", -ERANGE, 0 },
		{ "99999999999999999999999999999h", -ERANGE, 0 },
		{ "-1s", -ERANGE, 0 },
		{ "-0", -ERANGE, 0 },
		{ "0.5ns", -EINVAL, 0 },
		{ "1.0000000001s", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "-x", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 },
		{ " 1s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "1.s", -EINVAL, 0 },
		{ ".5s", -EINVAL, 0 },
		{ "1S", -EINVAL, 0 },
		{ "1sec", -EINVAL, 0 },
		{ "+1s", -EINVAL, 0 },
		{ "1m30s", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "10x", -EINVAL, 0 },
		{ "1,5s", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ns = UNTOUCHED;
		int ret = rv_parse_duration(cases[i].in, &ns);

		if (ret != cases[i].ret)
			print_message("duration \"%s\": %d\n", cases[i].in,
				      ret);
		assert_int_equal(ret, cases[i].ret);
		assert_int_equal(ns, cases[i].ret ? UNTOUCHED : cases[i].ns);
	}
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t ns;
		const char *out;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1ns" },
		{ 999, "999ns" },
		{ 1500, "1.5us" },
		{ 100000000, "100ms" },
		{ 250000000, "250ms" },
		{ 1500000000, "1.5s" },
		{ 1000000001, "1.000000001s" },
		{ 90000000000, "90s" },
		{ 60000000000, "1m" },
		{ 5400000000000, "90m" },
		{ 3600000000000, "1h" },
		{ INT64_MAX, "9223372036.854775807s" },
		{ -1500000000, "-1.5s" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t back = -1;

		assert_string_equal(rv_format_duration(cases[i].ns, buf,
						       sizeof(buf)),
				    cases[i].out);
		if (cases[i].ns < 0)
			continue;
		/* what we print, we read back exactly */
		assert_int_equal(rv_parse_duration(buf, &back), 0);
		assert_int_equal(back, cases[i].ns);
	}
	assert_string_equal(rv_format_duration(INT64_MIN, buf, sizeof(buf)),
			    "-9223372036.854775808s");
}

static void test_signal_parse(void **state)
{
	const struct {
		const char *in;
		int ret;
		int signo;
	} cases[] = {
		{ "SIGTERM", 0, SIGTERM },
		{ "TERM", 0, SIGTERM },
		{ "term", 0, SIGTERM },
		{ "SigTerm", 0, SIGTERM },
		{ "sigkill", 0, SIGKILL },
		{ "15", 0, 15 },
		{ "1", 0, 1 },
		{ "SIGHUP", 0, SIGHUP },
		{ "SIGUSR1", 0, SIGUSR1 },
		{ "SIGWINCH", 0, SIGWINCH },
		{ "IOT", 0, SIGABRT },
		{ "SIGPOLL", 0, SIGIO },
		{ "SIGCLD", 0, SIGCHLD },
		{ "SIGRTMIN", 0, SIGRTMIN },
		{ "SIGRTMIN+3", 0, SIGRTMIN + 3 },
		{ "rtmin+0", 0, SIGRTMIN },
		{ "RTMAX-1", 0, SIGRTMAX - 1 },
		{ "SIGRTMAX", 0, SIGRTMAX },
		{ "64", 0, 64 },
		{ "0", -ERANGE, 0 },
		{ "65", -ERANGE, 0 },
		{ "-1", -ERANGE, 0 },
		{ "SIGRTMIN+99", -ERANGE, 0 },
		{ "SIGRTMIN-1", -EINVAL, 0 },
		{ "SIGRTMAX+1", -EINVAL, 0 },
		{ "SIGRTMIN+", -EINVAL, 0 },
		{ "SIGFOO", -EINVAL, 0 },
		{ "SIG", -EINVAL, 0 },
		{ "SIG15", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "TERM ", -EINVAL, 0 },
		{ "15x", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int signo = UNTOUCHED;
		int ret = rv_parse_signal(cases[i].in, &signo);

		if (ret != cases[i].ret)
			print_message("signal \"%s\": %d\n", cases[i].in,
				      ret);
		assert_int_equal(ret, cases[i].ret);
		assert_int_equal(signo, ret ? UNTOUCHED : cases[i].signo);
	}
}

static void test_signal_name(void **state)
{
	char want[32];
	int n, back;

	(void)state;
	assert_string_equal(rv_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(rv_signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(rv_signal_name(SIGABRT), "SIGABRT");
	assert_string_equal(rv_signal_name(SIGIO), "SIGIO");
	assert_string_equal(rv_signal_name(SIGCHLD), "SIGCHLD");
	assert_string_equal(rv_signal_name(SIGSTKFLT), "SIGSTKFLT");
	assert_string_equal(rv_signal_name(SIGSYS), "SIGSYS");
	assert_string_equal(rv_signal_name(SIGRTMIN), "SIGRTMIN");
	snprintf(want, sizeof(want), "SIGRTMIN+2");
	assert_string_equal(rv_signal_name(SIGRTMIN + 2), want);
	assert_string_equal(rv_signal_name(SIGRTMAX), "SIGRTMAX");
	assert_string_equal(rv_signal_name(0), "SIG0");
	assert_string_equal(rv_signal_name(100), "SIG100");
	/* glibc keeps 32 and 33 for itself: no name, but a stable one */
	if (SIGRTMIN > 32)
		assert_string_equal(rv_signal_name(32), "SIG32");
	for (n = 1; n <= SIGRTMAX; n++) {
		const char *name = rv_signal_name(n);

		if (!strncmp(name, "SIG3", 4) && n < SIGRTMIN)
			continue;	/* SIG32, SIG33: numbers only */
		assert_int_equal(rv_parse_signal(name, &back), 0);
		assert_int_equal(back, n);
	}
}

static void expect_split(const char *in, const char *const *want)
{
	char **argv = NULL, err[64] = "";
	int argc = -1, i;

	if (rv_split_command(in, &argv, &argc, err, sizeof(err)))
		fail_msg("split <%s>: %s", in, err);
	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	assert_int_equal(argc, i);
	rv_argv_free(argv);
}

static void expect_split_error(const char *in, const char *why)
{
	char **argv = (char **)(uintptr_t)1, err[64] = "";
	int argc = UNTOUCHED;

	if (rv_split_command(in, &argv, &argc, err, sizeof(err)) != -EINVAL)
		fail_msg("split <%s> did not fail", in);
	assert_string_equal(err, why);
	assert_ptr_equal(argv, (char **)(uintptr_t)1);
	assert_int_equal(argc, UNTOUCHED);
}

static void test_split_command(void **state)
{
	(void)state;
	expect_split("a b  c", (const char *const[]){ "a", "b", "c", NULL });
	expect_split("\t a\tb \t", (const char *const[]){ "a", "b", NULL });
	expect_split("/usr/bin/web --port 8080 \"arg with spaces\"",
		     (const char *const[]){ "/usr/bin/web", "--port", "8080",
					    "arg with spaces", NULL });
	expect_split("nginx -g \"daemon off;\"",
		     (const char *const[]){ "nginx", "-g", "daemon off;",
					    NULL });
	expect_split("'single $HOME \\ \"'",
		     (const char *const[]){ "single $HOME \\ \"", NULL });
	/* inside "": only \" \\ \$ \` escape; \n stays two characters */
	expect_split("\"q\\\" b\\\\ d\\$ t\\` n\\n\"",
		     (const char *const[]){ "q\" b\\ d$ t` n\\n", NULL });
	expect_split("a\\ b \\\"c\\'",
		     (const char *const[]){ "a b", "\"c'", NULL });
	expect_split("\"\" ''", (const char *const[]){ "", "", NULL });
	expect_split("a\"b c\"d'e f'",
		     (const char *const[]){ "ab cde f", NULL });
	expect_split("'it'\\''s'", (const char *const[]){ "it's", NULL });
	expect_split("$HOME * ~ #x %i",
		     (const char *const[]){ "$HOME", "*", "~", "#x", "%i",
					    NULL });

	expect_split_error("'open", "unterminated single quote");
	expect_split_error("echo \"open", "unterminated double quote");
	expect_split_error("echo \"open\\\"", "unterminated double quote");
	expect_split_error("trailing\\", "trailing backslash");
	expect_split_error("", "empty command");
	expect_split_error(" \t ", "empty command");
}

static void test_split_long(void **state)
{
	size_t n = 5000, i;
	char *in = malloc(n * 2 + 1), **argv;
	int argc;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++) {
		in[2 * i] = 'x';
		in[2 * i + 1] = ' ';
	}
	in[2 * n] = '\0';
	assert_int_equal(rv_split_command(in, &argv, &argc, NULL, 0), 0);
	assert_int_equal(argc, 5000);
	assert_string_equal(argv[4999], "x");
	assert_null(argv[5000]);
	rv_argv_free(argv);
	free(in);
	rv_argv_free(NULL);
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE",
					   "Yes" };
	static const char *const no[] = { "false", "no", "off", "0", "False" };
	static const char *const bad[] = { "", "2", "truee", " true", "y",
					   "enable" };
	size_t i;
	bool b;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		assert_int_equal(rv_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (i = 0; i < ARRAY_SIZE(no); i++) {
		b = true;
		assert_int_equal(rv_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		b = true;
		assert_int_equal(rv_parse_bool(bad[i], &b), -EINVAL);
		assert_true(b);
	}
}

static void test_numbers(void **state)
{
	uint32_t u = UNTOUCHED;
	uint64_t u64 = UNTOUCHED;
	int i = UNTOUCHED;
	double d = 42;

	(void)state;
	assert_int_equal(rv_parse_u32("0", 0, 10, &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(rv_parse_u32("007", 0, 10, &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(rv_parse_u32("4294967295", 0, UINT32_MAX, &u), 0);
	assert_int_equal(u, UINT32_MAX);
	u = UNTOUCHED;
	assert_int_equal(rv_parse_u32("4294967296", 0, UINT32_MAX, &u),
			 -ERANGE);
	assert_int_equal(rv_parse_u32("11", 0, 10, &u), -ERANGE);
	assert_int_equal(rv_parse_u32("0", 1, 10, &u), -ERANGE);
	assert_int_equal(rv_parse_u32("-1", 0, 10, &u), -ERANGE);
	assert_int_equal(rv_parse_u32("-x", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32("1x", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32("", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32("+1", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32(" 1", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32("0x1", 0, 10, &u), -EINVAL);
	assert_int_equal(rv_parse_u32("99999999999999999999999", 0, 10, &u),
			 -ERANGE);
	assert_int_equal(u, UNTOUCHED);

	assert_int_equal(rv_parse_u64("18446744073709551615", 0, UINT64_MAX,
				      &u64), 0);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(rv_parse_u64("18446744073709551616", 0, UINT64_MAX,
				      &u64), -ERANGE);

	assert_int_equal(rv_parse_int("-20", -20, 19, &i), 0);
	assert_int_equal(i, -20);
	assert_int_equal(rv_parse_int("19", -20, 19, &i), 0);
	assert_int_equal(i, 19);
	i = UNTOUCHED;
	assert_int_equal(rv_parse_int("-21", -20, 19, &i), -ERANGE);
	assert_int_equal(rv_parse_int("20", -20, 19, &i), -ERANGE);
	assert_int_equal(rv_parse_int("99999999999999999999", -20, 19, &i),
			 -ERANGE);
	assert_int_equal(rv_parse_int("-", -20, 19, &i), -EINVAL);
	assert_int_equal(rv_parse_int("--1", -20, 19, &i), -EINVAL);
	assert_int_equal(rv_parse_int("1.0", -20, 19, &i), -EINVAL);
	assert_int_equal(i, UNTOUCHED);

	assert_int_equal(rv_parse_double("2.0", 1, 1000, &d), 0);
	assert_true(d == 2.0);
	assert_int_equal(rv_parse_double("0.1", 0, 1, &d), 0);
	assert_true(d == 0.1);
	assert_int_equal(rv_parse_double("1", 0, 1, &d), 0);
	assert_true(d == 1.0);
	assert_int_equal(rv_parse_double("-0.5", -1, 1, &d), 0);
	assert_true(d == -0.5);
	d = 42;
	assert_int_equal(rv_parse_double("1.01", 0, 1, &d), -ERANGE);
	assert_int_equal(rv_parse_double("-0.1", 0, 1, &d), -ERANGE);
	assert_int_equal(rv_parse_double("0.99", 1, 1000, &d), -ERANGE);
	assert_int_equal(rv_parse_double("nan", 0, 1, &d), -EINVAL);
	assert_int_equal(rv_parse_double("inf", 0, 1, &d), -EINVAL);
	assert_int_equal(rv_parse_double("1e3", 0, 1e9, &d), -EINVAL);
	assert_int_equal(rv_parse_double("1.", 0, 1, &d), -EINVAL);
	assert_int_equal(rv_parse_double(".5", 0, 1, &d), -EINVAL);
	assert_int_equal(rv_parse_double("0x1p1", 0, 10, &d), -EINVAL);
	assert_int_equal(rv_parse_double("", 0, 1, &d), -EINVAL);
	assert_true(d == 42);
}

static void test_octal_bytes(void **state)
{
	uint32_t m = UNTOUCHED;
	uint64_t b = UNTOUCHED;

	(void)state;
	assert_int_equal(rv_parse_octal("0022", 0777, &m), 0);
	assert_int_equal(m, 022);
	assert_int_equal(rv_parse_octal("777", 0777, &m), 0);
	assert_int_equal(m, 0777);
	assert_int_equal(rv_parse_octal("0", 0777, &m), 0);
	assert_int_equal(m, 0);
	m = UNTOUCHED;
	assert_int_equal(rv_parse_octal("1000", 0777, &m), -ERANGE);
	assert_int_equal(rv_parse_octal("77777777777777777777777", 0777, &m),
			 -ERANGE);
	assert_int_equal(rv_parse_octal("-1", 0777, &m), -ERANGE);
	assert_int_equal(rv_parse_octal("8", 0777, &m), -EINVAL);
	assert_int_equal(rv_parse_octal("0o22", 0777, &m), -EINVAL);
	assert_int_equal(rv_parse_octal("", 0777, &m), -EINVAL);
	assert_int_equal(m, UNTOUCHED);

	assert_int_equal(rv_parse_bytes("512M", &b), 0);
	assert_true(b == 536870912);
	assert_int_equal(rv_parse_bytes("1k", &b), 0);
	assert_true(b == 1024);
	assert_int_equal(rv_parse_bytes("3G", &b), 0);
	assert_true(b == 3ULL << 30);
	assert_int_equal(rv_parse_bytes("16T", &b), 0);
	assert_true(b == 16ULL << 40);
	assert_int_equal(rv_parse_bytes("0", &b), 0);
	assert_true(b == 0);
	assert_int_equal(rv_parse_bytes("17179869183G", &b), 0);
	assert_true(b == 17179869183ULL << 30);
	b = UNTOUCHED;
	assert_int_equal(rv_parse_bytes("17179869184G", &b), -ERANGE);
	assert_int_equal(rv_parse_bytes("18446744073709551616", &b), -ERANGE);
	assert_int_equal(rv_parse_bytes("-1", &b), -ERANGE);
	assert_int_equal(rv_parse_bytes("1P", &b), -EINVAL);
	assert_int_equal(rv_parse_bytes("1.5G", &b), -EINVAL);
	assert_int_equal(rv_parse_bytes("1KB", &b), -EINVAL);
	assert_int_equal(rv_parse_bytes("M", &b), -EINVAL);
	assert_int_equal(rv_parse_bytes("", &b), -EINVAL);
	assert_true(b == UNTOUCHED);
}

static void test_cpu_list(void **state)
{
	cpu_set_t set;

	(void)state;
	assert_int_equal(rv_parse_cpu_list("0-3,5 7", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 6);
	assert_true(CPU_ISSET(0, &set) && CPU_ISSET(3, &set));
	assert_true(CPU_ISSET(5, &set) && CPU_ISSET(7, &set));
	assert_false(CPU_ISSET(4, &set) || CPU_ISSET(6, &set));
	assert_int_equal(rv_parse_cpu_list("1,,2, 1023", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 3);
	assert_int_equal(rv_parse_cpu_list("2-2", NULL), 0);
	assert_int_equal(rv_parse_cpu_list("1024", NULL), -ERANGE);
	assert_int_equal(rv_parse_cpu_list("0-1024", NULL), -ERANGE);
	assert_int_equal(rv_parse_cpu_list("3-1", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list("0-", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list("a", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list("1;2", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list("-1", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list("", NULL), -EINVAL);
	assert_int_equal(rv_parse_cpu_list(" , ", NULL), -EINVAL);
}

static void test_rlimits(void **state)
{
	static const char *const names[] = {
		"as", "core", "cpu", "data", "fsize", "locks", "memlock",
		"msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
		"rttime", "sigpending", "stack" };
	struct rlimit rl = { 7, 7 };
	size_t i;

	(void)state;
	assert_int_equal(rv_rlimit_from_name("nofile"), RLIMIT_NOFILE);
	assert_int_equal(rv_rlimit_from_name("core"), RLIMIT_CORE);
	assert_int_equal(rv_rlimit_from_name("NOFILE"), -EINVAL);
	assert_int_equal(rv_rlimit_from_name("files"), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(rv_rlimit_name(rv_rlimit_from_name(
					names[i])), names[i]);
	assert_null(rv_rlimit_name(999));

	assert_int_equal(rv_parse_rlimit("65536", &rl), 0);
	assert_true(rl.rlim_cur == 65536 && rl.rlim_max == 65536);
	assert_int_equal(rv_parse_rlimit("1024:4096", &rl), 0);
	assert_true(rl.rlim_cur == 1024 && rl.rlim_max == 4096);
	assert_int_equal(rv_parse_rlimit("infinity", &rl), 0);
	assert_true(rl.rlim_cur == RLIM_INFINITY &&
		    rl.rlim_max == RLIM_INFINITY);
	assert_int_equal(rv_parse_rlimit("10:unlimited", &rl), 0);
	assert_true(rl.rlim_cur == 10 && rl.rlim_max == RLIM_INFINITY);
	assert_int_equal(rv_parse_rlimit("0:0", &rl), 0);
	assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
	rl.rlim_cur = rl.rlim_max = 7;
	assert_int_equal(rv_parse_rlimit("2:1", &rl), -ERANGE);
	assert_int_equal(rv_parse_rlimit("infinity:1", &rl), -ERANGE);
	assert_int_equal(rv_parse_rlimit("18446744073709551615", &rl),
			 -ERANGE);
	assert_int_equal(rv_parse_rlimit("x", &rl), -EINVAL);
	assert_int_equal(rv_parse_rlimit("1:", &rl), -EINVAL);
	assert_int_equal(rv_parse_rlimit(":1", &rl), -EINVAL);
	assert_int_equal(rv_parse_rlimit("1:2:3", &rl), -EINVAL);
	assert_int_equal(rv_parse_rlimit("-1", &rl), -ERANGE);
	assert_int_equal(rv_parse_rlimit("", &rl), -EINVAL);
	assert_true(rl.rlim_cur == 7 && rl.rlim_max == 7);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(rv_is_valid_name("web"));
	assert_true(rv_is_valid_name("a.b-c_D9"));
	assert_true(rv_is_valid_name("-x"));
	assert_true(rv_is_valid_name("..."));
	assert_false(rv_is_valid_name(""));
	assert_false(rv_is_valid_name("."));
	assert_false(rv_is_valid_name(".."));
	assert_false(rv_is_valid_name("web@0"));
	assert_false(rv_is_valid_name("a b"));
	assert_false(rv_is_valid_name("a/b"));
	assert_false(rv_is_valid_name("a:b"));
	assert_false(rv_is_valid_name("caf\xc3\xa9"));
}

static void test_expand_instance(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(rv_expand_instance("w%i", 3, &out), 0);
	assert_string_equal(out, "w3");
	free(out);
	assert_int_equal(rv_expand_instance("--port=80%i%i", 12, &out), 0);
	assert_string_equal(out, "--port=801212");
	free(out);
	assert_int_equal(rv_expand_instance("100% %d %", 9999, &out), 0);
	assert_string_equal(out, "100% %d %");
	free(out);
	/* "%%" is a '%', so "%%i" is a literal "%i" */
	assert_int_equal(rv_expand_instance("%%i %%%i %%%%", 5, &out), 0);
	assert_string_equal(out, "%i %5 %%");
	free(out);
	assert_int_equal(rv_expand_instance("date +%Y-%m-%d %", 1, &out), 0);
	assert_string_equal(out, "date +%Y-%m-%d %");
	free(out);
	assert_int_equal(rv_expand_instance("", 5, &out), 0);
	assert_string_equal(out, "");
	free(out);
}

/* rv_format_fixed3 prints what "%.3f" of ns / unit prints */
static void test_fixed3_matches_printf(void **state)
{
	static const int64_t ns[] = {
		0, 1, 499999, 500000, 999999, 1000000, 1234567, 1500000000,
		999999999, 1000000000, 86400000000000LL, 3000499999LL,
	};
	char got[32], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(ns) / sizeof(*ns); i++) {
		snprintf(want, sizeof(want), "%.3f", (double)ns[i] / 1e9);
		assert_string_equal(rv_format_fixed3(ns[i], 1000000000, got,
						     sizeof(got)), want);
		snprintf(want, sizeof(want), "%.3f", (double)ns[i] / 1e6);
		assert_string_equal(rv_format_fixed3(ns[i], 1000000, got,
						     sizeof(got)), want);
	}
	assert_string_equal(rv_format_fixed3(-5, 1000000, got, sizeof(got)),
			    "0.000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_table),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_fixed3_matches_printf),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_signal_name),
		cmocka_unit_test(test_split_command),
		cmocka_unit_test(test_split_long),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_octal_bytes),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_expand_instance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
