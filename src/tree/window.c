/* SPDX-License-Identifier: MIT */
#include "tree/window.h"

#include <errno.h>
#include <stdlib.h>

int rv_window_init(struct rv_window *w, uint32_t max, int64_t window_ns)
{
	w->stamps = NULL;
	w->max = max;
	w->head = w->count = 0;
	w->window_ns = window_ns;
	if (max == UINT32_MAX || max == 0)
		return 0;
	w->stamps = calloc(max, sizeof(*w->stamps));
	return w->stamps ? 0 : -ENOMEM;
}

void rv_window_free(struct rv_window *w)
{
	free(w->stamps);
	w->stamps = NULL;
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
