/* SPDX-License-Identifier: MIT */
/*
 * GET /events: the lifecycle event stream as Server-Sent Events, one
 * `data:` line per JSON event.  Each stream has a fixed buffer; a reader
 * that lets it fill is sent an `event: dropped` and its stream ends, as
 * the control socket's followers are dropped.  A stream with nothing to
 * send is suspended (MHD_suspend_connection) and resumed by the next
 * event or heartbeat, so an idle stream costs no loop work.
 */
#ifndef RV_HTTP_SSE_H
#define RV_HTTP_SSE_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct MHD_Response;
struct rv_sse;

struct rv_sse_set {
	struct rv_sse *head;
	size_t n;		/* streams open */
};

/* A response streaming events to conn, or NULL when out of memory. */
struct MHD_Response *rv_sse_response(struct rv_sse_set *set,
				     struct MHD_Connection *conn);
/* Queues the JSON line (with its '\n') to every stream; never blocks. */
void rv_sse_broadcast(struct rv_sse_set *set, const char *line, size_t len);
/* An SSE comment to every stream: proxies keep the stream open, and a
 * peer that went away is noticed (its send fails) within one period. */
void rv_sse_heartbeat(struct rv_sse_set *set);
/* Ends every stream (shutting down): each is resumed and sends what it
 * has, then ends. */
void rv_sse_end_all(struct rv_sse_set *set);
/* A last event of type event (line: its data, with its newline), then
 * every stream ends (a hand-over: the client reconnects). */
void rv_sse_last(struct rv_sse_set *set, const char *event,
		 const char *line, size_t len);

#endif
