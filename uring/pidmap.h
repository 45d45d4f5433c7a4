/* SPDX-License-Identifier: MIT */
/*
 * pid -> slot map for watched children: open addressing, linear probing,
 * backward-shift deletion (no tombstones, so lookups stay short however
 * many children came and went).  Kept at most half full by sizing it from
 * the child slot table, so inserting never allocates.
 *
 * Private to uring/.
 */
#ifndef RV_URING_PIDMAP_H
#define RV_URING_PIDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RV_PIDMAP_NONE UINT32_MAX

struct rv_pident {
	pid_t pid;		/* 0 = empty */
	uint32_t slot;
};

struct rv_pidmap {
	struct rv_pident *tab;
	uint32_t mask;		/* capacity (a power of two) - 1 */
	uint32_t n;
};

/* Makes room for n entries at load <= 1/2 (rehashes).  0 or -ENOMEM. */
int rv_pidmap_reserve(struct rv_pidmap *m, size_t n);
void rv_pidmap_free(struct rv_pidmap *m);

/* The caller guarantees room and that pid is absent. */
void rv_pidmap_insert(struct rv_pidmap *m, pid_t pid, uint32_t slot);
/* Slot of pid, or RV_PIDMAP_NONE. */
uint32_t rv_pidmap_find(const struct rv_pidmap *m, pid_t pid);
void rv_pidmap_remove(struct rv_pidmap *m, pid_t pid);

#endif
