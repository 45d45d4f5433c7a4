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

/*
 * One request (consumed) to the control socket of -s socket, else of the
 * config (-c, $RINGVISOR_CONFIG), else the default; 0 with *doc the
 * {"ok": true} reply (and *keep the open connection, when keep is not
 * NULL), or 1 after saying why on stderr.  cli_client.c.
 */
struct json_t;
struct rv_client;
int rv_cli_request(const char *socket, const char *config, struct json_t *req,
		   struct json_t **doc, struct rv_client **keep);
/* logs NAME... [-n N] [-f] [--json]: cli_logs.c */
int rv_cli_logs(int argc, char **argv);

#endif
