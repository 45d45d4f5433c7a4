/* SPDX-License-Identifier: MIT */
/*
 * Restart intensity: "at most N restarts inside any window of length W".
 * A ring of the last N restart times; admitting a restart is O(1) and never
 * allocates (the ring is sized once, when the service or supervisor is
 * created).
 *
 * The rings of one build come from a ring source: anonymous mappings
 * (chunks) that rings are carved from end to end.  A page of a chunk costs
 * memory only once a restart writes a stamp into it, so a service that
 * never restarts costs no ring at all, whatever its max_restarts (a
 * malloc'd ring of max_restarts = 100 costs 800 bytes, written or not).
 * A chunk is unmapped when its last ring is freed.
 */
#ifndef RV_WINDOW_H
#define RV_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_ring_chunk;

/* Where a build's rings come from; zero it to begin. */
struct rv_ring_source {
	struct rv_ring_chunk *cur;	/* rings are carved from it */
};

/* The build is over: the source lets go of its chunk (the rings keep it). */
void rv_ring_source_end(struct rv_ring_source *src);

struct rv_window {
	int64_t *stamps;	/* ring of the last max restart times */
	struct rv_ring_chunk *chunk;	/* holds stamps; NULL: malloc'd */
	uint32_t max;		/* N; UINT32_MAX = unlimited (no ring) */
	uint32_t head;		/* next slot to write */
	uint32_t count;		/* valid stamps, <= max */
	int64_t window_ns;
};

/*
 * 0 or -ENOMEM.  max == UINT32_MAX means unlimited.  The ring comes from
 * src, or from malloc when src is NULL.
 */
int rv_window_init(struct rv_window *w, uint32_t max, int64_t window_ns,
		   struct rv_ring_source *src);
void rv_window_free(struct rv_window *w);
void rv_window_reset(struct rv_window *w);
/*
 * Records a restart at now and returns true if it is allowed; returns false
 * (and records nothing) when it would be restart N+1 inside the window.
 */
bool rv_window_admit(struct rv_window *w, int64_t now);
/* Restarts recorded inside (now - window, now]. */
uint32_t rv_window_count(const struct rv_window *w, int64_t now);
/*
 * The recorded stamps, oldest first, into out[0..cap); returns how many
 * there are (may exceed cap: only cap are written).  For a hand-over
 * (snapshot.c): the ring's layout is not part of the state.
 */
uint32_t rv_window_stamps(const struct rv_window *w, int64_t *out,
			  uint32_t cap);
/*
 * The ring holds stamps[0..n) (oldest first) and nothing else; when n
 * exceeds the ring (max lowered), only the newest max are kept, which is
 * what admitting them one by one would have kept.  Never allocates.
 */
void rv_window_restore(struct rv_window *w, const int64_t *stamps,
		       uint32_t n);

#endif
