/* SPDX-License-Identifier: MIT */
#include "tree/window.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

/*
 * Address space, not memory: only the pages restarts write are ever
 * backed, so a chunk may be generous (fewer mappings at a large load).
 */
#define CHUNK_BYTES ((size_t)1024 * 1024)
#define PAGE_BYTES ((size_t)4096)

/* At the start of its own mapping; the rings follow. */
struct rv_ring_chunk {
	size_t refs;		/* rings carved from it, + 1 while current */
	size_t used;		/* bytes, this header included */
	size_t size;		/* of the mapping */
};

static void chunk_put(struct rv_ring_chunk *c)
{
	if (--c->refs == 0)
		munmap(c, c->size);
}

void rv_ring_source_end(struct rv_ring_source *src)
{
	if (src->cur)
		chunk_put(src->cur);
	src->cur = NULL;
}

/* A chunk with room for bytes more, made current; NULL when out of memory. */
static struct rv_ring_chunk *chunk_with_room(struct rv_ring_source *src,
					     size_t bytes)
{
	struct rv_ring_chunk *c = src->cur;
	size_t size;
	void *p;

	if (c && c->size - c->used >= bytes)
		return c;
	size = sizeof(*c) + bytes;
	size = size < CHUNK_BYTES ? CHUNK_BYTES :
				    (size + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	rv_ring_source_end(src);
	c = p;
	c->refs = 1;
	c->used = sizeof(*c);
	c->size = size;
	src->cur = c;
	return c;
}

int rv_window_init(struct rv_window *w, uint32_t max, int64_t window_ns,
		   struct rv_ring_source *src)
{
	size_t bytes = (size_t)max * sizeof(*w->stamps);
	struct rv_ring_chunk *c;

	w->stamps = NULL;
	w->chunk = NULL;
	w->max = max;
	w->head = w->count = 0;
	w->window_ns = window_ns;
	if (max == UINT32_MAX || max == 0)
		return 0;
	if (!src) {
		w->stamps = calloc(max, sizeof(*w->stamps));
		return w->stamps ? 0 : -ENOMEM;
	}
	c = chunk_with_room(src, bytes);
	if (!c)
		return -ENOMEM;
	/* a fresh mapping reads as zeros; stamps are read only below count */
	w->stamps = (int64_t *)((char *)c + c->used);
	c->used += bytes;
	c->refs++;
	w->chunk = c;
	return 0;
}

void rv_window_free(struct rv_window *w)
{
	if (w->chunk)
		chunk_put(w->chunk);
	else
		free(w->stamps);
	w->stamps = NULL;
	w->chunk = NULL;
}

void rv_window_reset(struct rv_window *w)
{
	w->head = w->count = 0;
}

static bool inside(const struct rv_window *w, int64_t stamp, int64_t now)
{
	/* window 0 means "restarts never age out": the limit is absolute */
	return w->window_ns == 0 || stamp > now - w->window_ns;
}

bool rv_window_admit(struct rv_window *w, int64_t now)
{
	if (w->max == UINT32_MAX)
		return true;
	if (w->max == 0)
		return false;
	if (w->count == w->max) {
		/* head is also the oldest slot once the ring is full */
		if (inside(w, w->stamps[w->head], now))
			return false;
	} else {
		w->count++;
	}
	w->stamps[w->head] = now;
	w->head = (w->head + 1) % w->max;
	return true;
}

uint32_t rv_window_count(const struct rv_window *w, int64_t now)
{
	uint32_t n = 0;

	if (w->max == UINT32_MAX || w->max == 0)
		return 0;
	for (uint32_t i = 0; i < w->count; i++) {
		uint32_t slot = (w->head + w->max - 1 - i) % w->max;

		if (inside(w, w->stamps[slot], now))
			n++;
	}
	return n;
}

uint32_t rv_window_stamps(const struct rv_window *w, int64_t *out,
			  uint32_t cap)
{
	if (w->max == UINT32_MAX || w->max == 0)
		return 0;
	for (uint32_t i = 0; i < w->count && i < cap; i++) {
		/* the oldest is count slots behind head */
		uint32_t slot = (w->head + w->max - w->count + i) % w->max;

		out[i] = w->stamps[slot];
	}
	return w->count;
}

void rv_window_restore(struct rv_window *w, const int64_t *stamps,
		       uint32_t n)
{
	rv_window_reset(w);
	if (w->max == UINT32_MAX || w->max == 0)
		return;
	if (n > w->max) {
		stamps += n - w->max;
		n = w->max;
	}
	for (uint32_t i = 0; i < n; i++)
		w->stamps[i] = stamps[i];
	w->count = n;
	w->head = n % w->max;
}
