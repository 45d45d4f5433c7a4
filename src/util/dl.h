/* SPDX-License-Identifier: MIT */
/*
 * A library loaded when the feature that needs it is configured, not by
 * the dynamic loader at every start: libmicrohttpd (http_listen,
 * control/mhd.c) and libsystemd (the journal, util/journal.c).  Each
 * brings a chain of its own (libmicrohttpd: gnutls, nettle, hogweed, gmp,
 * p11-kit, idn2, unistring, tasn1, ffi; libsystemd: gcrypt, gpg-error,
 * zstd, lz4, lzma) that a supervisor without that feature would map,
 * relocate and carry in its PSS for nothing.
 *
 * Each user keeps one table of the functions it calls, resolved all at
 * once: a missing library or symbol is one error at load time, never a
 * failure halfway through serving.
 */
#ifndef RV_UTIL_DL_H
#define RV_UTIL_DL_H

#include <stddef.h>

struct rv_dl {
	const char *soname;	/* "libmicrohttpd.so.12" */
	const char *const *names; /* the n symbols to resolve */
	size_t n;
	void *handle;		/* NULL until loaded */
};

/* A struct rv_dl for soname and its array of names. */
#define RV_DL(soname_, names_)						\
	{ .soname = (soname_), .names = (names_),			\
	  .n = sizeof(names_) / sizeof(*(names_)) }

/*
 * Loads lib (once: 0 at once when it is loaded already) and resolves
 * every one of its names into syms[] (n slots, in the same order).  0,
 * or -ENOENT with why naming the library and saying what failed (the
 * loader's message); nothing stays loaded after a failure.
 */
int rv_dl_load(struct rv_dl *lib, void **syms, char *why, size_t len);

#endif
