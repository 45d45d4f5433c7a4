/* SPDX-License-Identifier: MIT */
/* Shared by the CLI's files (cli_*.c); not part of the library. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stdio.h>

#define RV_CLI_DEFAULT_CONFIG "/etc/ringvisor/ringvisor.conf"

/* cli_usage.c: prints "ringvisor: MESSAGE (see ringvisor --help)";
 * returns 2. */
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
/* `top` runs the ringvisor-top program (cli_top_exec.c), whose main
 * (top_main.c) calls rv_cli_top (cli_top.c) */
int rv_cli_top_exec(int argc, char **argv);
int rv_cli_top(int argc, char **argv);
int rv_cli_reexec(int argc, char **argv);
/* -s PATH, else the control_socket of -c FILE or $RINGVISOR_CONFIG, else
 * the default; NULL after printing why (*ret: the exit status). */
char *rv_cli_socket_path(const char *socket, const char *config, int *ret);

/* cli_table.c: the status table of a status document */
struct json_t;
void rv_cli_print_table(struct json_t *st);
/* last_exit as "code 1", "SIGKILL (core)" or "-" */
void rv_cli_fmt_exit(struct json_t *e, char *buf, size_t len);
/* seconds for people: 4.2s 3m07s 1h02m 2d03h, or "-" */
void rv_cli_fmt_secs(struct json_t *v, char *buf, size_t len);

/* cli_reload.c: what a reload did, and its warnings (on stderr) */
void rv_cli_print_reload(struct json_t *reply);

/* cli_wait.c: what start, stop, restart and shutdown print, and --wait */
struct rv_client;
/* Makes req wait, at most timeout (a duration, or NULL: no limit);
 * *client_ms: how long to read its reply (-1: no limit).  0, or 2 after
 * printing a usage error. */
int rv_cli_wait_options(struct json_t *req, const char *timeout,
			int *client_ms);
/* Prints a waited request's outcome; returns the exit status. */
int rv_cli_wait_report(const char *cmd, struct json_t *reply,
		       struct rv_client *c);
/* Without --wait: what was asked ("web: stopping"). */
void rv_cli_print_asked(const char *cmd, struct json_t *reply);

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
