/* SPDX-License-Identifier: MIT */
/*
 * The read-only HTTP endpoint of `http_listen`: GET /metrics (Prometheus
 * text 0.0.4), /healthz (the `status --check` verdict as 200/503,
 * ?service=NAME for one member), /status (the status JSON) and /events
 * (Server-Sent Events).  Served by libmicrohttpd in its external epoll
 * mode from the supervisor's own loop: MHD's epoll fd is one fd watch,
 * MHD_get_timeout() one timer, and MHD_run() is called only when one of
 * them fires, so HTTP costs the loop nothing while nobody asks.
 * Nothing on it changes state: only GET and HEAD are served.
 */
#ifndef RV_HTTP_H
#define RV_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rv_supervisor;
struct rv_http;

/*
 * Loads libmicrohttpd, which is not linked (mhd.h says why): 0, or
 * -ENOENT with why naming what is missing.  rv_http_open() does it first;
 * `ringvisor check` calls it to report the missing library as a config
 * error.
 */
int rv_http_load(char *why, size_t len);
/*
 * Listens on addr (an http_listen value: HOST:PORT, [V6]:PORT, unix:/PATH
 * or /PATH; a unix socket is made 0600, or 0660 owned by group) and
 * serves it from sv's loop.  0 or -errno, with the reason on errors.
 */
int rv_http_open(struct rv_http **out, struct rv_supervisor *sv,
		 const char *addr, const char *group, FILE *errors);
/* The same on the listening socket fd of the image before (`reexec`). */
int rv_http_adopt(struct rv_http **out, struct rv_supervisor *sv,
		  const char *addr, const char *group, int fd, FILE *errors);
/* The listening socket (it crosses a hand-over), or -1. */
int rv_http_listen_fd(const struct rv_http *h);
/* Right before a hand-over's exec: /events streams get a last `reexec`
 * event (line, with its newline) and end; the listening socket stays. */
void rv_http_handover(struct rv_http *h, const char *line);
/* Stops serving: ends event streams, closes every connection and the
 * listening socket (a unix socket file is removed).  Idempotent. */
void rv_http_close(struct rv_http *h);
void rv_http_free(struct rv_http *h);
/* True when at least one /events stream is open (cheap; NULL: false). */
bool rv_http_has_followers(const struct rv_http *h);
/* Queues an event line (JSON and '\n') to every /events stream. */
void rv_http_broadcast(struct rv_http *h, const char *line, size_t len);
/* Open connections (NULL: 0). */
size_t rv_http_connections(const struct rv_http *h);

#endif
