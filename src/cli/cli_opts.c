/* SPDX-License-Identifier: MIT */
/*
 * rv_cli_parse(): a command's option table (cli_opts.h) turned into what
 * getopt_long wants, and getopt_long's answers turned into stores, help,
 * version or a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "ringvisor.h"

/* getopt_long's val for an option without a short name: above any char */
#define LONG_ONLY_BASE 256
#define HELP_VAL 'h'
#define VERSION_VAL 'V'

int rv_cli_version(void)
{
	printf("ringvisor %s\n", RINGVISOR_VERSION);
	return 0;
}

static int opt_val(const struct rv_cli_opt *o, size_t i)
{
	return o->short_name ? (unsigned char)o->short_name
			     : LONG_ONLY_BASE + (int)i;
}

static const struct rv_cli_opt *find(const struct rv_cli_opt *opts, int val)
{
	for (size_t i = 0; opts[i].long_name; i++)
		if (opt_val(&opts[i], i) == val)
			return &opts[i];
	return NULL;
}

/*
 * The option getopt_long just refused, for the message: an unknown short
 * one may sit inside a cluster ("-jx"), so it is named by optopt; the word
 * just consumed names a long one, or one missing its value.
 */
static const char *refused(int c, char **argv)
{
	static char s[3];

	if (c == '?' && optopt > 0 && optopt < LONG_ONLY_BASE) {
		s[0] = '-';
		s[1] = (char)optopt;
		return s;
	}
	return argv[optind - 1];
}

int rv_cli_parse_usage(int argc, char **argv, const struct rv_cli_opt *opts,
		       int *first_operand, const char *usage)
{
	/* "+"-less: GNU permutes, so "status web --json" works;
	 * ":" first: a missing value comes back as ':', not '?' */
	char shortopts[2 + 3 * 64] = ":hV";
	struct option longopts[64 + 3];
	size_t n = 0, s = strlen(shortopts);
	int c, ret = -1;

	for (; opts[n].long_name; n++) {
		const struct rv_cli_opt *o = &opts[n];

		if (n >= 64)
			abort();	/* a table this long is a bug */
		longopts[n] = (struct option){ o->long_name,
			o->value ? required_argument : no_argument, NULL,
			opt_val(o, n) };
		if (o->short_name) {
			shortopts[s++] = o->short_name;
			if (o->value)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	longopts[n++] = (struct option){ "help", no_argument, NULL, HELP_VAL };
	longopts[n++] = (struct option){ "version", no_argument, NULL,
					 VERSION_VAL };
	longopts[n] = (struct option){ 0 };

	optind = 0;	/* glibc: a full reset, whoever parsed before */
	opterr = 0;	/* the messages are ours, in our format */
	while (ret < 0 &&
	       (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct rv_cli_opt *o = find(opts, c);

		if (c == HELP_VAL && !(o && o->short_name == 'h')) {
			if (usage)
				fputs(usage, stdout);
			else
				rv_cli_help(stdout);
			ret = 0;
		} else if (c == VERSION_VAL && !(o && o->short_name == 'V')) {
			ret = rv_cli_version();
		} else if (c == ':') {
			ret = rv_cli_usage_error("%s: %s needs a value",
						 argv[0], refused(c, argv));
		} else if (c == '?' || !o) {
			ret = rv_cli_usage_error("%s: unknown option %s",
						 argv[0], refused(c, argv));
		} else if (o->value) {
			*o->value = optarg;
		} else {
			*o->flag = true;
		}
	}
	*first_operand = optind;
	return ret;
}

int rv_cli_parse(int argc, char **argv, const struct rv_cli_opt *opts,
		 int *first_operand)
{
	return rv_cli_parse_usage(argc, argv, opts, first_operand, NULL);
}
