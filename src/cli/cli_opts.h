/* SPDX-License-Identifier: MIT */
/*
 * Options of one CLI command as a table: a command declares which
 * options it takes and where each one lands, and rv_cli_parse() does the
 * rest through getopt_long (attached values "-cFILE", "--config=FILE",
 * "-c FILE", "--config FILE"; options and operands in any order; "--"
 * ends the options).  -h/--help and -V/--version are in every table.
 *
 *	struct client_args a = { 0 };
 *	const struct rv_cli_opt opts[] = {
 *		RV_CLI_VALUE('c', "config", &a.config),
 *		RV_CLI_FLAG(0, "json", &a.json),
 *		RV_CLI_END
 *	};
 *	int first, ret = rv_cli_parse(argc, argv, opts, &first);
 *
 *	if (ret >= 0)
 *		return ret;	// --help, --version or a usage error
 *	// argv[first..argc-1] are the operands
 */
#ifndef RV_CLI_OPTS_H
#define RV_CLI_OPTS_H

#include <stdbool.h>

struct rv_cli_opt {
	char short_name;	/* 0: long only */
	const char *long_name;
	const char **value;	/* an option with a value stores it here */
	bool *flag;		/* a flag sets this to true */
};

#define RV_CLI_VALUE(s, l, p) { .short_name = (s), .long_name = (l), \
				.value = (p) }
#define RV_CLI_FLAG(s, l, p) { .short_name = (s), .long_name = (l), \
			       .flag = (p) }
#define RV_CLI_END { 0 }

/*
 * Parses argv[1..argc-1] (argv[0] is the command's name, used in messages)
 * by opts, permuting argv so that the operands come last, from
 * *first_operand on.  Returns -1 to go on; otherwise the exit status to
 * return at once: 0 after printing --help or --version, RV_EXIT_USAGE
 * after printing a usage error (unknown option, missing value).
 */
int rv_cli_parse(int argc, char **argv, const struct rv_cli_opt *opts,
		 int *first_operand);

/* The same, with a command's own text for --help instead of the
 * general usage. */
int rv_cli_parse_usage(int argc, char **argv, const struct rv_cli_opt *opts,
		       int *first_operand, const char *usage);

/* Prints the version line; returns 0. */
int rv_cli_version(void);

#endif
