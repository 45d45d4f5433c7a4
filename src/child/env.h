/* SPDX-License-Identifier: MIT */
/*
 * A service's environment without a per-service copy of environ.
 *
 * Most services inherit environ and add a few variables of their own
 * (`environment`).  A complete array per service would repeat environ's
 * pointers in every one of them (~40 pointers, 300+ bytes each, for
 * nothing), so a service keeps two parts instead:
 *   base  environ without the variables the service sets itself, shared
 *         by every service that replaces the same ones (one refcounted
 *         copy per distinct set; environ itself when it sets none);
 *   own   its own variables, in config order (the spec's array when no
 *         %i is expanded, so nothing per service at all).
 * rv_env_join() lays the two side by side in a scratch array just before
 * a spawn: base in environ's order, then own -- exactly the array a
 * complete copy would have been.  The scratch is sized at load (the
 * largest join, rv_env_builder.max_join), so spawning never allocates.
 *
 * Services whose environment is composed from more layers (user,
 * environment_file, clear_environment, NOTIFY_SOCKET) keep a complete
 * array of their own as `own` with no base.
 */
#ifndef RV_ENV_H
#define RV_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_env_cached;

/* What one tree build shares: the distinct bases made so far. */
struct rv_env_builder {
	char **environ;			/* environ when the build began */
	size_t n_env;
	size_t words;			/* uint64_t per override mask */
	uint64_t *mask;			/* work: what a service replaces */
	struct rv_env_cached *cache;	/* holds a reference to each base */
	size_t n_cache;
	size_t max_join;		/* entries of the largest join + 1 */
};

void rv_env_builder_init(struct rv_env_builder *b);
/* Drops the builder's references; services keep theirs. */
void rv_env_builder_fini(struct rv_env_builder *b);

/*
 * The base under own (NULL-terminated KEY=VALUE strings): the builder's
 * environ without every variable own sets.  *base is environ itself when
 * own is empty (*shared false: nothing to join), else a shared array that
 * the caller releases with rv_env_base_put() (*shared true).  Also notes
 * the size of the join in b->max_join.  0 or -ENOMEM.
 */
int rv_env_base_get(struct rv_env_builder *b, char *const *own,
		    char *const **base, bool *shared);
/* Releases a reference from rv_env_base_get() (shared bases only). */
void rv_env_base_put(char *const *base);

/* Entries of a NULL-terminated array (0 for NULL). */
size_t rv_env_len(char *const *v);

/*
 * base followed by own: base or own itself when the other part is empty
 * (no copy), else laid out in scratch, which has room for
 * rv_env_len(base) + rv_env_len(own) + 1 entries.  Never allocates.
 */
char *const *rv_env_join(char *const *base, char *const *own,
			 char **scratch);

#endif
