/* SPDX-License-Identifier: MIT */
/*
 * Bytes in the hand-over state (docs/reexec.md, "Format"): jansson
 * strings must be UTF-8, and what crosses as bytes is not (a service's
 * output, a config file in Latin-1).  Two spellings, each for what it
 * carries:
 *   - hex (two lowercase digits a byte): what an output pipe or a sink
 *     holds, a line or a few buffers, readable in a dump of the state;
 *   - base64 (RFC 4648, padded): the bulk, the log rings of `logs` and
 *     the config files, at 4/3 of their size instead of 2.
 */
#ifndef RV_HANDOVER_BYTES_H
#define RV_HANDOVER_BYTES_H

#include <stddef.h>

#include <jansson.h>

/* p[0..n) as a new JSON string; NULL on ENOMEM. */
json_t *rv_json_hex(const char *p, size_t n);
json_t *rv_json_base64(const char *p, size_t n);

/*
 * The bytes of text (len chars) into *out (malloc'd, NUL-terminated past
 * *n; the caller frees).  0, -EINVAL (not hex / not base64: a wrong
 * character, an odd length, bad padding) or -ENOMEM.
 */
int rv_hex_decode(const char *text, size_t len, char **out, size_t *n);
int rv_base64_decode(const char *text, size_t len, char **out, size_t *n);

#endif
