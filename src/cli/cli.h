/* SPDX-License-Identifier: MIT */
/* Shared by the CLI's files (cli_*.c); not part of the library. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stdio.h>

/* Prints "ringvisor: MESSAGE (see ringvisor --help)"; returns 2. */
int rv_cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void rv_cli_help(FILE *f);

/*
 * The commands, each called with argv[0] its own name; they return the
 * exit status.  A new command is a function here and a row in the table
 * of cli_main.c; its options are a table in the function (cli_opts.h).
 */
int rv_cli_status(int argc, char **argv);
int rv_cli_act(int argc, char **argv);		/* start stop restart */
int rv_cli_kill(int argc, char **argv);
int rv_cli_plain(int argc, char **argv);	/* reload shutdown metrics */
int rv_cli_events(int argc, char **argv);
int rv_cli_top(int argc, char **argv);		/* cli_top.c */
/* -s PATH, else the control_socket of -c FILE or $RINGVISOR_CONFIG, else
 * the default; NULL after printing why (*ret: the exit status). */
char *rv_cli_socket_path(const char *socket, const char *config, int *ret);

#endif
