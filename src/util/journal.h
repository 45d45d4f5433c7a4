/* SPDX-License-Identifier: MIT */
/*
 * The journal's client, libsystemd, loaded when the journal is used
 * (log_target = journal, or auto under journald; stdout/stderr = journal)
 * rather than linked: libsystemd.so.0 brings gcrypt, gpg-error, zstd, lz4
 * and lzma, 0.5-0.8 MiB of PSS a supervisor that logs to stderr would carry
 * for nothing (util/dl.h; bench/analysis.md, "Memory").  The ringvisor
 * package Depends on libsystemd0 explicitly: dpkg-shlibdeps cannot see a
 * dlopen.
 */
#ifndef RV_UTIL_JOURNAL_H
#define RV_UTIL_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

#define RV_JOURNAL_SONAME "libsystemd.so.0"

/* Loads libsystemd (once; 0 at once after): 0, or -ENOENT with why
 * naming what is missing. */
int rv_journal_load(char *why, size_t len);
/* sd_journal_sendv(3) and sd_journal_stream_fd(3), once loaded. */
int rv_journal_sendv(const struct iovec *iov, int n);
int rv_journal_stream_fd(const char *identifier, int priority,
			 int level_prefix);

#endif
