/* SPDX-License-Identifier: MIT */
/*
 * pid -> slot hash (see pidmap.h).  pids are small dense integers, so they
 * are mixed before masking; otherwise consecutive pids from a burst of
 * spawns would all land in one run and probing would degrade.
 */
#include <errno.h>
#include <stdlib.h>

#include "pidmap.h"

static inline uint32_t hash_pid(pid_t pid)
{
	uint32_t h = (uint32_t)pid;

	/* murmur3 finaliser */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static void put(struct rv_pident *tab, uint32_t mask, pid_t pid,
		uint32_t slot)
{
	uint32_t i = hash_pid(pid) & mask;

	while (tab[i].pid)
		i = (i + 1) & mask;
	tab[i].pid = pid;
	tab[i].slot = slot;
}

int rv_pidmap_reserve(struct rv_pidmap *m, size_t n)
{
	size_t cap = 16, old_cap = m->tab ? (size_t)m->mask + 1 : 0, i;
	struct rv_pident *tab;

	while (cap < 2 * n) {
		if (cap > UINT32_MAX / 4)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap <= old_cap)
		return 0;
	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (i = 0; i < old_cap; i++)
		if (m->tab[i].pid)
			put(tab, (uint32_t)cap - 1, m->tab[i].pid,
			    m->tab[i].slot);
	free(m->tab);
	m->tab = tab;
	m->mask = (uint32_t)cap - 1;
	return 0;
}

void rv_pidmap_free(struct rv_pidmap *m)
{
	free(m->tab);
	*m = (struct rv_pidmap){ 0 };
}

void rv_pidmap_insert(struct rv_pidmap *m, pid_t pid, uint32_t slot)
{
	put(m->tab, m->mask, pid, slot);
	m->n++;
}

static uint32_t find_index(const struct rv_pidmap *m, pid_t pid)
{
	uint32_t i;

	if (!m->tab)
		return RV_PIDMAP_NONE;
	for (i = hash_pid(pid) & m->mask; m->tab[i].pid; i = (i + 1) & m->mask)
		if (m->tab[i].pid == pid)
			return i;
	return RV_PIDMAP_NONE;
}

uint32_t rv_pidmap_find(const struct rv_pidmap *m, pid_t pid)
{
	uint32_t i = find_index(m, pid);

	return i == RV_PIDMAP_NONE ? RV_PIDMAP_NONE : m->tab[i].slot;
}

void rv_pidmap_remove(struct rv_pidmap *m, pid_t pid)
{
	uint32_t hole = find_index(m, pid), i, home;

	if (hole == RV_PIDMAP_NONE)
		return;
	m->n--;
	/*
	 * Backward-shift deletion: pull later members of the probe run into
	 * the hole unless that would move them before their home bucket.
	 */
	for (i = (hole + 1) & m->mask; m->tab[i].pid; i = (i + 1) & m->mask) {
		home = hash_pid(m->tab[i].pid) & m->mask;
		if (((i - home) & m->mask) >= ((i - hole) & m->mask)) {
			m->tab[hole] = m->tab[i];
			hole = i;
		}
	}
	m->tab[hole].pid = 0;
}
