/* SPDX-License-Identifier: MIT */
/*
 * Private to config*.c: the key tables of the three kinds of sections.
 * A key is found by name as a "slot" (an index that also tells duplicates
 * apart: every limit_<name> has its own), then applied to the struct of its
 * section: struct rv_specs for [supervisor], struct rv_group_spec for
 * [supervisor:NAME], struct rv_service_spec for [service:NAME],
 * struct rv_socket_spec for [socket:NAME].
 */
#ifndef RV_CONFIG_KEYS_H
#define RV_CONFIG_KEYS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

enum rv_key_section { RV_KEYS_TOP, RV_KEYS_GROUP, RV_KEYS_SERVICE,
		      RV_KEYS_SOCKET };

/* Number of slots of a section, for a per-section "seen at line" array. */
size_t rv_keys_count(enum rv_key_section sect);
/* The slot of key, or -ENOENT. */
int rv_keys_lookup(enum rv_key_section sect, const char *key);
/*
 * Parses value into base (see above) and records the key's line where the
 * spec keeps one.  Errors are reported at file:line, prefixed "KEY: ".
 * Returns 0, -EINVAL or -ENOMEM.
 */
int rv_keys_apply(enum rv_key_section sect, int slot, void *base,
		  const char *key, const char *value, const char *file,
		  int line, struct rv_diag *d);
/* The known key closest to a misspelt one (at most 2 edits), or NULL. */
const char *rv_keys_suggest(enum rv_key_section sect, const char *key);

/* rv_diag_error()/warning() with a va_list and an optional "KEY: ". */
void rv_diag_vprint(struct rv_diag *d, bool error, const char *file,
		    int line, const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

#endif
