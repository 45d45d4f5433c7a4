/* SPDX-License-Identifier: MIT */
/*
 * Service environments: a shared base and the service's own part, joined
 * at spawn (env.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "child/env.h"

extern char **environ;

/*
 * Distinct sets of replaced variables a build remembers.  Configs have a
 * handful (all instances of a section share one, and so do generated
 * sections that set the same keys); past this many, a new set still gets
 * its base, only not shared with later services, so a pathological config
 * costs memory, never quadratic load time.
 */
#define RV_ENV_CACHE_MAX 64

struct rv_env_base {
	size_t refs;
	char *v[];		/* environ's strings (borrowed), NULL-ended */
};

struct rv_env_cached {
	uint64_t *mask;		/* bit i: environ[i] is replaced */
	struct rv_env_base *base;
};

void rv_env_builder_init(struct rv_env_builder *b)
{
	memset(b, 0, sizeof(*b));
	b->environ = environ;
	b->n_env = rv_env_len(environ);
	b->words = (b->n_env + 63) / 64;
}

static void base_unref(struct rv_env_base *base)
{
	if (--base->refs == 0)
		free(base);
}

void rv_env_builder_fini(struct rv_env_builder *b)
{
	for (size_t i = 0; i < b->n_cache; i++) {
		free(b->cache[i].mask);
		base_unref(b->cache[i].base);
	}
	free(b->cache);
	free(b->mask);
	b->cache = NULL;
	b->mask = NULL;
	b->n_cache = 0;
}

size_t rv_env_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Same variable: the names up to '=' are equal. */
static bool same_key(const char *a, const char *b)
{
	while (*a && *a != '=' && *a == *b)
		a++, b++;
	return *a == '=' && *b == '=';
}

/* Which of environ's variables own replaces; how many. */
static size_t replaced(const struct rv_env_builder *b, char *const *own,
		       uint64_t *mask)
{
	size_t n = 0;

	memset(mask, 0, b->words * sizeof(*mask));
	for (size_t i = 0; i < b->n_env; i++) {
		for (char *const *o = own; *o; o++) {
			if (same_key(b->environ[i], *o)) {
				mask[i / 64] |= UINT64_C(1) << (i % 64);
				n++;
				break;
			}
		}
	}
	return n;
}

static struct rv_env_base *find_base(const struct rv_env_builder *b,
				     const uint64_t *mask)
{
	for (size_t i = 0; i < b->n_cache; i++)
		if (!memcmp(b->cache[i].mask, mask, b->words * sizeof(*mask)))
			return b->cache[i].base;
	return NULL;
}

/* environ without the masked variables, with one reference. */
static struct rv_env_base *new_base(const struct rv_env_builder *b,
				    const uint64_t *mask, size_t n_replaced)
{
	size_t n = b->n_env - n_replaced, o = 0;
	struct rv_env_base *base = malloc(sizeof(*base) +
					  (n + 1) * sizeof(base->v[0]));

	if (!base)
		return NULL;
	base->refs = 1;
	for (size_t i = 0; i < b->n_env; i++)
		if (!(mask[i / 64] >> (i % 64) & 1))
			base->v[o++] = b->environ[i];
	base->v[o] = NULL;
	return base;
}

/*
 * Remembers base under b->mask for later services (the cache takes a
 * reference).  Past RV_ENV_CACHE_MAX it does not: 0 either way, -ENOMEM
 * when it cannot.
 */
static int cache_base(struct rv_env_builder *b, struct rv_env_base *base)
{
	size_t bytes = (b->words ? b->words : 1) * sizeof(*b->mask);
	struct rv_env_cached *grown;
	uint64_t *mask;

	if (b->n_cache >= RV_ENV_CACHE_MAX)
		return 0;
	mask = malloc(bytes);
	if (!mask)
		return -ENOMEM;
	grown = realloc(b->cache, (b->n_cache + 1) * sizeof(*grown));
	if (!grown) {
		free(mask);
		return -ENOMEM;
	}
	memcpy(mask, b->mask, bytes);
	b->cache = grown;
	base->refs++;
	b->cache[b->n_cache].mask = mask;
	b->cache[b->n_cache].base = base;
	b->n_cache++;
	return 0;
}

int rv_env_base_get(struct rv_env_builder *b, char *const *own,
		    char *const **out, bool *shared)
{
	size_t n_own = rv_env_len(own), n_replaced;
	struct rv_env_base *base;

	*out = b->environ;
	*shared = false;
	if (!n_own)
		return 0;
	if (!b->mask) {
		b->mask = calloc(b->words ? b->words : 1, sizeof(*b->mask));
		if (!b->mask)
			return -ENOMEM;
	}
	n_replaced = replaced(b, own, b->mask);
	if (b->n_env - n_replaced + n_own + 1 > b->max_join)
		b->max_join = b->n_env - n_replaced + n_own + 1;
	/*
	 * Even when own replaces nothing, a copy (shared all the same): the
	 * join must not read environ at spawn time, which could have grown
	 * past the scratch since (and the child gets the environ of the
	 * load, as a per-service copy had it).
	 */
	base = find_base(b, b->mask);
	if (base) {
		base->refs++;
	} else {
		base = new_base(b, b->mask, n_replaced);
		if (!base)
			return -ENOMEM;
		if (cache_base(b, base)) {
			base_unref(base);
			return -ENOMEM;
		}
	}
	*out = base->v;
	*shared = true;
	return 0;
}

void rv_env_base_put(char *const *v)
{
	/* v is the v[] of a struct rv_env_base: step back to its header */
	base_unref((struct rv_env_base *)(void *)((char *)(uintptr_t)v -
		   offsetof(struct rv_env_base, v)));
}

char *const *rv_env_join(char *const *base, char *const *own,
			 char **scratch)
{
	size_t n = 0;

	if (!base)
		return own;	/* a complete array (or none) */
	if (!own || !*own)
		return base;
	if (!*base)
		return own;
	for (; *base; base++)
		scratch[n++] = *base;
	for (; *own; own++)
		scratch[n++] = *own;
	scratch[n] = NULL;
	return scratch;
}
