/* SPDX-License-Identifier: MIT */
/* Shared by the CLI's files (cli_*.c); not part of the library. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stdio.h>

/* Prints "ringvisor: MESSAGE (see ringvisor --help)"; returns 2. */
int rv_cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void rv_cli_help(FILE *f);
/* status start stop restart kill reload shutdown metrics events */
int rv_cli_client(int argc, char **argv);
/* -s PATH, else the control_socket of -c FILE or $RINGVISOR_CONFIG, else
 * the default (the caller frees; NULL when out of memory). */
char *rv_cli_socket_path(const char *socket, const char *config);
/* `ringvisor top [-s PATH] [-c FILE]` (cli_top.c) */
int rv_cli_top(int argc, char **argv);

#endif
