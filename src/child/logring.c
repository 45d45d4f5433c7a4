/* SPDX-License-Identifier: MIT */
/*
 * A byte ring of records { header, text } (see logring.h).  Records are
 * contiguous: one that would run past the end starts again at 0 (the gap
 * is marked by the end offset), so a line is always one memcpy out.
 */
#include "child/logring.h"

#include <stdlib.h>
#include <string.h>

struct rec {
	int64_t realtime_ns;
	uint32_t len;
	uint8_t stream;
} __attribute__((aligned(8)));

#define REC_SIZE(len) ((sizeof(struct rec) + (len) + 7) & ~(size_t)7)

struct piece {
	size_t len;
	char buf[RV_LOGRING_LINE];
};

struct rv_logring {
	char *name;
	size_t cap;		/* bytes of data */
	char *data;		/* NULL until the first line */
	size_t head, tail;	/* oldest record; where the next one goes */
	size_t wrap;		/* wrapped: the first part ends here */
	bool wrapped;
	size_t count;
	struct piece *pieces;	/* per stream, with data */
};

static rv_logring_listener *listener;
static void *listener_ctx;

void rv_logring_listen(rv_logring_listener *fn, void *ctx)
{
	listener = fn;
	listener_ctx = ctx;
}

struct rv_logring *rv_logring_new(const char *name, size_t cap)
{
	struct rv_logring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->name = strdup(name);
	if (!r->name) {
		free(r);
		return NULL;
	}
	/* room for at least one whole piece */
	if (cap < REC_SIZE(RV_LOGRING_LINE))
		cap = REC_SIZE(RV_LOGRING_LINE);
	r->cap = cap & ~(size_t)7;
	return r;
}

void rv_logring_free(struct rv_logring *r)
{
	if (!r)
		return;
	free(r->data);
	free(r->pieces);
	free(r->name);
	free(r);
}

const char *rv_logring_name(const struct rv_logring *r)
{
	return r->name;
}

size_t rv_logring_count(const struct rv_logring *r)
{
	return r->count;
}

static struct rec *rec_at(const struct rv_logring *r, size_t off)
{
	return (struct rec *)(void *)(r->data + off);
}

/* Drops the oldest record. */
static void drop_oldest(struct rv_logring *r)
{
	r->head += REC_SIZE(rec_at(r, r->head)->len);
	if (--r->count == 0) {
		r->head = r->tail = 0;
		r->wrapped = false;
	} else if (r->wrapped && r->head >= r->wrap) {
		r->head = 0;	/* the records left are [0, tail) */
		r->wrapped = false;
	}
}

/*
 * Not wrapped, the records are [head, tail) and the free room [tail, cap);
 * wrapped, they are [head, wrap) + [0, tail) and the room [tail, head).
 */
static void store(struct rv_logring *r, enum rv_log_stream stream,
		  const char *p, size_t n, int64_t ts, bool tell)
{
	size_t need = REC_SIZE(n);
	struct rv_logline l = { ts, stream, NULL, n };
	struct rec *rec;

	for (;;) {
		if (!r->wrapped && r->tail + need <= r->cap)
			break;
		if (!r->wrapped) {
			/* no room at the end: continue at 0 */
			r->wrap = r->tail;
			r->tail = 0;
			r->wrapped = true;
			continue;
		}
		if (r->tail + need <= r->head)
			break;
		drop_oldest(r);
	}
	rec = rec_at(r, r->tail);
	rec->realtime_ns = ts;
	rec->len = (uint32_t)n;
	rec->stream = (uint8_t)stream;
	memcpy(rec + 1, p, n);
	r->tail += need;
	r->count++;
	if (listener && tell) {
		l.text = (const char *)(rec + 1);
		listener(r, &l, listener_ctx);
	}
}

/* The memory comes with the first output, not at load.  false: none. */
static bool ring_alloc(struct rv_logring *r)
{
	if (r->data)
		return true;
	/* zeroed: a record header is read only where one was written,
	 * and the analyser cannot see that count guards it */
	r->data = calloc(1, r->cap);
	r->pieces = calloc(2, sizeof(*r->pieces));
	if (r->data && r->pieces)
		return true;
	free(r->data);
	free(r->pieces);
	r->data = NULL;
	r->pieces = NULL;
	return false;
}

void rv_logring_feed(struct rv_logring *r, enum rv_log_stream stream,
		     const char *p, size_t n, int64_t realtime_ns, bool end)
{
	struct piece *pc;

	if (!r || (!n && (!end || !r->data)))
		return;		/* nothing, or an end with nothing kept */
	if (!ring_alloc(r))
		return;		/* nothing kept: logs are best effort */
	pc = &r->pieces[stream];
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = RV_LOGRING_LINE - pc->len;

		if (take > room)
			take = room;
		if (!pc->len && (nl && take == (size_t)(nl - p))) {
			/* a whole line in place: no copy into the piece */
			store(r, stream, p, take, realtime_ns, true);
		} else {
			memcpy(pc->buf + pc->len, p, take);
			pc->len += take;
			if ((nl && take == (size_t)(nl - p)) ||
			    pc->len == RV_LOGRING_LINE) {
				store(r, stream, pc->buf, pc->len,
				      realtime_ns, true);
				pc->len = 0;
			}
		}
		if (nl && take == (size_t)(nl - p))
			take++;		/* the newline */
		p += take;
		n -= take;
	}
	if (end && pc->len) {
		store(r, stream, pc->buf, pc->len, realtime_ns, true);
		pc->len = 0;
	}
}

void rv_logring_each(const struct rv_logring *r, size_t n,
		     bool (*fn)(const struct rv_logline *l, void *ctx),
		     void *ctx)
{
	size_t skip = n && n < r->count ? r->count - n : 0;
	size_t off = r->head, end = r->wrapped ? r->wrap : r->tail;

	for (size_t i = 0; i < r->count; i++) {
		struct rec *rec;
		struct rv_logline l;

		if (off >= end) {
			off = 0;	/* past the gap at the end */
			end = r->tail;
		}
		rec = rec_at(r, off);
		off += REC_SIZE(rec->len);
		if (i < skip)
			continue;
		l = (struct rv_logline){ rec->realtime_ns,
			(enum rv_log_stream)rec->stream,
			(const char *)(rec + 1), rec->len };
		if (!fn(&l, ctx))
			return;
	}
}

void rv_logring_restore(struct rv_logring *r, const struct rv_logline *l)
{
	size_t n = l->len > RV_LOGRING_LINE ? RV_LOGRING_LINE : l->len;

	if (ring_alloc(r))
		store(r, l->stream, l->text, n, l->realtime_ns, false);
}

size_t rv_logring_piece(const struct rv_logring *r, enum rv_log_stream stream,
			const char **p)
{
	*p = NULL;
	if (!r->pieces)
		return 0;
	*p = r->pieces[stream].buf;
	return r->pieces[stream].len;
}

bool rv_logring_set_piece(struct rv_logring *r, enum rv_log_stream stream,
			  const char *p, size_t n)
{
	if (n > RV_LOGRING_LINE)
		return false;
	if (!n) {
		if (r->pieces)
			r->pieces[stream].len = 0;
		return true;
	}
	if (!ring_alloc(r))
		return false;
	memcpy(r->pieces[stream].buf, p, n);
	r->pieces[stream].len = n;
	return true;
}
