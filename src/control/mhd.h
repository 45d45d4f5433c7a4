/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd, loaded only when http_listen is set: the MHD_* functions
 * the HTTP endpoint calls (http.c, http_sse.c), as one table filled by
 * rv_mhd_load().
 *
 * Why not linked: libmicrohttpd.so.12 needs gnutls, and gnutls nettle,
 * hogweed, gmp, p11-kit, idn2, unistring, tasn1 and ffi.  Linked, every
 * supervisor start maps and relocates that chain (and runs the
 * constructors of gnutls and p11-kit) and carries 1.2-1.6 MiB of its PSS
 * (bench/analysis.md, "Memory"), though most configs have no HTTP
 * endpoint and the endpoint never uses TLS.  The headers still come from
 * pkg-config, so each slot has the very type of the function it holds.
 * The ringvisor package Depends on libmicrohttpd12 explicitly
 * (packaging/debian/control): dpkg-shlibdeps cannot see a dlopen.
 */
#ifndef RV_CONTROL_MHD_H
#define RV_CONTROL_MHD_H

#include <stddef.h>
#include <microhttpd.h>

#define RV_MHD_SONAME "libmicrohttpd.so.12"

/* Every MHD_ function ringvisor calls; a new call is a new line here. */
#define RV_MHD_FUNCTIONS(X)						\
	X(start_daemon) X(stop_daemon) X(run) X(get_timeout)		\
	X(get_daemon_info) X(create_response_from_buffer)		\
	X(create_response_from_callback) X(add_response_header)	\
	X(queue_response) X(destroy_response)				\
	X(lookup_connection_value) X(suspend_connection)		\
	X(resume_connection)

struct rv_mhd {
/* f is a member's name here, not an expression: no parentheses */
/* NOLINTNEXTLINE(bugprone-macro-parentheses) */
#define RV_MHD_SLOT(f) __typeof__(&MHD_##f) f;
	RV_MHD_FUNCTIONS(RV_MHD_SLOT)
#undef RV_MHD_SLOT
};

/* The table: rv_mhd.run(d) is MHD_run(d).  Valid once rv_mhd_load() has
 * returned 0. */
extern struct rv_mhd rv_mhd;

/*
 * Loads RV_MHD_SONAME and resolves the table (once; 0 at once after).
 * 0, or -ENOENT with why saying which library or symbol is missing.
 */
int rv_mhd_load(char *why, size_t len);

#endif
