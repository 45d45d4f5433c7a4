// SPDX-License-Identifier: MIT
#include "control/http_sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/mhd.h"
#include "util/log.h"

/* Unsent bytes a stream may hold before it is dropped as too slow. */
#define SSE_BUF		(64 * 1024)

static const char hello[] = ": ringvisor events\n\n";
static const char keepalive[] = ": keepalive\n\n";
static const char dropped[] =
	"event: dropped\ndata: {\"event\":\"dropped\",\"reason\":\"follower "
	"too slow: events were not read in time\"}\n\n";

struct rv_sse {
	struct rv_sse_set *set;
	struct rv_sse *prev, *next;
	struct MHD_Connection *conn;
	char *buf;		/* SSE_BUF + room for the drop notice */
	size_t len, off;
	bool suspended;
	bool ending;		/* send what is left, then end the stream */
};

static void wake(struct rv_sse *s)
{
	if (s->suspended) {
		s->suspended = false;
		rv_mhd.resume_connection(s->conn);
	}
}

/* Appends the n bytes of each part; false when they do not fit. */
static bool put(struct rv_sse *s, const char *const *parts,
		const size_t *n, size_t count)
{
	size_t total = 0;

	for (size_t i = 0; i < count; i++)
		total += n[i];
	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len + total > SSE_BUF)
		return false;
	for (size_t i = 0; i < count; i++) {
		memcpy(s->buf + s->len, parts[i], n[i]);
		s->len += n[i];
	}
	return true;
}

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rv_sse *s = cls;
	size_t n = s->len - s->off;

	if (n) {
		if (n > max)
			n = max;
		memcpy(buf, s->buf + s->off, n);
		s->off += n;
		if (s->off == s->len)
			s->off = s->len = 0;
		return (ssize_t)n;
	}
	if (s->ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* nothing to send: leave MHD's loop until there is */
	s->suspended = true;
	rv_mhd.suspend_connection(s->conn);
	return 0;
}

/* The response is gone, so is the connection: forget the stream. */
static void on_free(void *cls)
{
	struct rv_sse *s = cls;
	struct rv_sse_set *set = s->set;

	if (s->prev)
		s->prev->next = s->next;
	else
		set->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	set->n--;
	free(s->buf);
	free(s);
}

struct MHD_Response *rv_sse_response(struct rv_sse_set *set,
				     struct MHD_Connection *conn)
{
	struct rv_sse *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;

	if (!s || !(s->buf = malloc(SSE_BUF + sizeof(dropped)))) {
		free(s);
		return NULL;
	}
	s->set = set;
	s->conn = conn;
	memcpy(s->buf, hello, sizeof(hello) - 1);
	s->len = sizeof(hello) - 1;
	r = rv_mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
						 on_read, s, on_free);
	if (!r) {
		free(s->buf);
		free(s);
		return NULL;
	}
	s->next = set->head;
	if (s->next)
		s->next->prev = s;
	set->head = s;
	set->n++;
	return r;
}

void rv_sse_broadcast(struct rv_sse_set *set, const char *line, size_t len)
{
	static const char data[] = "data: ";
	const char *parts[] = { data, line, "\n" };
	/* the line's own '\n' ends the data line, one more ends the event */
	const size_t n[] = { sizeof(data) - 1, len, 1 };

	for (struct rv_sse *s = set->head; s; s = s->next) {
		if (s->ending)
			continue;
		if (!put(s, parts, n, 3)) {
			/* the notice has its own room past SSE_BUF */
			memcpy(s->buf + s->len, dropped, sizeof(dropped) - 1);
			s->len += sizeof(dropped) - 1;
			s->ending = true;
			rv_log_sup(RV_LOG_WARN, "main", "follower_dropped",
				   " via=http reason=slow");
		}
		wake(s);
	}
}

void rv_sse_heartbeat(struct rv_sse_set *set)
{
	const char *parts[] = { keepalive };
	const size_t n[] = { sizeof(keepalive) - 1 };

	for (struct rv_sse *s = set->head; s; s = s->next)
		if (!s->ending && put(s, parts, n, 1))
			wake(s);
}

void rv_sse_last(struct rv_sse_set *set, const char *event,
		 const char *line, size_t len)
{
	/* the client reconnects 100 ms later (EventSource's retry:) */
	static const char head[] = "event: ", mid[] = "\nretry: 100\ndata: ";
	const char *parts[] = { head, event, mid, line, "\n" };
	const size_t n[] = { sizeof(head) - 1, strlen(event), sizeof(mid) - 1,
			     len, 1 };

	for (struct rv_sse *s = set->head; s; s = s->next)
		if (!s->ending)
			(void)put(s, parts, n, 5);
	rv_sse_end_all(set);
}

void rv_sse_end_all(struct rv_sse_set *set)
{
	for (struct rv_sse *s = set->head; s; s = s->next) {
		s->ending = true;
		wake(s);
	}
}
