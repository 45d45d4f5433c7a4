/* SPDX-License-Identifier: MIT */
/*
 * Pure value parsers shared by the config file and `exec`'s long options.
 * Each returns 0 on success or -EINVAL (malformed) / -ERANGE (overflow,
 * negative, out of range); on error *out is untouched.  No allocation except
 * where the declaration says so.
 */
#ifndef RV_PARSE_H
#define RV_PARSE_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

/* "100ms", "1.5s", "2m", "10" (seconds), "0"; suffixes ns us ms s m h;
 * negative, overflowing int64 ns, or junk is rejected.
 * Grammar: DIGITS [ "." DIGITS ] [ UNIT ], nothing else (no sign, no
 * blanks, no exponent, no "1m30s").  Computed in integers, so "100ms" is
 * exactly 100000000; a value finer than 1ns ("0.5ns") is -EINVAL. */
int rv_parse_duration(const char *s, int64_t *out_ns);
/* Formats ns as the shortest exact unit ("250ms", "1.5s"): buf >= 32. */
const char *rv_format_duration(int64_t ns, char *buf, size_t len);
/*
 * ns / unit with three decimals, rounded ("1.234"): what "%.3f" prints,
 * with integer arithmetic only.  Log lines of the restart path use it:
 * printf's floating-point code is large and, cold after a long idle,
 * cost microseconds of every restart.  unit: 1000000000 (s) or 1000000
 * (ms).  ns >= 0.
 */
const char *rv_format_fixed3(int64_t ns, int64_t unit, char *buf, size_t len);
/* "SIGTERM", "TERM", "term", "15" -> 15.  Real-time "SIGRTMIN+3" too. */
int rv_parse_signal(const char *s, int *out_signo);
/* 15 -> "SIGTERM"; unknown -> "SIG<n>" in a static per-thread buffer. */
const char *rv_signal_name(int signo);
int rv_parse_bool(const char *s, bool *out);	/* true/false yes/no on/off 1/0 */
int rv_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int rv_parse_int(const char *s, int min, int max, int *out);
int rv_parse_double(const char *s, double min, double max, double *out);
/*
 * Splits like a POSIX shell without expansion: whitespace separates words,
 * '...' is literal, "..." allows \" \\ \$ \` escapes, a backslash outside
 * quotes escapes the next character.  On success *out_argv is a
 * NULL-terminated array the caller frees with rv_argv_free().  On -EINVAL
 * err (if not NULL) gets a short reason ("unterminated double quote").
 * An empty command is -EINVAL ("empty command").
 */
int rv_split_command(const char *s, char ***out_argv, int *out_argc,
		     char *err, size_t errlen);
/* Frees a NULL-terminated array whose strings and array were each
 * malloc'd (rv_split_command's, and every char ** of a spec).  NULL is ok. */
void rv_argv_free(char **argv);
/* Copies s with every "%i" replaced by the decimal instance number and
 * "%%" by '%'; any other '%' stays.  The caller frees *out.  0 or -ENOMEM. */
int rv_expand_instance(const char *s, unsigned int instance, char **out);

/* Decimal u64: digits only; min..max else -ERANGE (also for "-1"). */
int rv_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Octal digits only ("0022", "22"), value <= max else -ERANGE. */
int rv_parse_octal(const char *s, uint32_t max, uint32_t *out);
/* Bytes: digits with an optional K, M, G or T suffix (powers of 1024,
 * either case): "512M" -> 536870912.  Overflow is -ERANGE. */
int rv_parse_bytes(const char *s, uint64_t *out);
/* CPU list "0-3,5 7": items N or N-M (N <= M) separated by commas and/or
 * blanks; every CPU < CPU_SETSIZE.  set may be NULL (validate only). */
int rv_parse_cpu_list(const char *s, cpu_set_t *set);
/* Resource limits: "nofile" <-> RLIMIT_NOFILE.  -EINVAL if unknown;
 * rv_rlimit_name() returns NULL if unknown. */
int rv_rlimit_from_name(const char *name);
const char *rv_rlimit_name(int resource);
/* "soft[:hard]", each "infinity" (or "unlimited") or a number; a single
 * value sets both; soft > hard is -ERANGE. */
int rv_parse_rlimit(const char *s, struct rlimit *out);
/* A service or supervisor name: [A-Za-z0-9_.-]+, not "." or ".." (they
 * end up in paths).  '@' is not allowed: it separates instances. */
bool rv_is_valid_name(const char *s);

#endif
