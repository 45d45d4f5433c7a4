/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state in format 3 (docs/reexec.md, "Format"): the same
 * fields as the JSON of formats 1 and 2 (handover_json.h), in the same
 * order, as bytes read straight into the snapshot's structs.
 *
 * Why by hand: jansson (and msgpack-c, tried) first build a tree of the
 * whole document, then the reader walks it.  For 1,000 services that
 * tree was most of the hand-over's pause (parse 11-54 ms, build and dump
 * 30 ms on this machine, bench/RESULTS.md section 9); this codec does
 * one pass each way with no allocation but the snapshot's own.  The JSON
 * formats stay, for a new binary handing back to one version before it.
 *
 * Layout: the magic "ringvisor-handover\0", u32 format, the writer's
 * version (a string), then the control section, the supervisor, nodes,
 * services, sockets, config files, the daemon's counters.  Integers are
 * little-endian (u8, u32, i64); a bool is one byte, 0 or 1; a string is
 * a u32 length and its bytes (0xffffffff: none), and so are byte blobs;
 * an enumeration is its name as a string; a list is a u32 count and its
 * items; an optional part is a bool and, when true, the part.  Every
 * value is checked for its type and range, every count against the
 * bytes left, and the whole state must be used up: a reader refuses a
 * state it does not understand with one line naming the field.
 */
#ifndef RV_HANDOVER_BIN_H
#define RV_HANDOVER_BIN_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/handover_json.h"
#include "tree/snapshot.h"

/* The first format that is binary. */
#define RV_HANDOVER_FORMAT_BIN 3

/* Whether buf (len bytes) starts with the binary formats' magic. */
bool rv_handover_bin_is(const char *buf, size_t len);

/* snap and ctl in format 3, in a new buffer (*out, *len: the caller
 * frees it).  0 or -ENOMEM. */
int rv_handover_bin_encode(const struct rv_snapshot *snap,
			   const struct rv_handover_ctl *ctl, char **out,
			   size_t *len);

/*
 * Reads buf into *ctl (when not NULL) and *snap.  The control section
 * comes first and is kept even when the rest fails (a rollback needs the
 * previous image's descriptor); ctl->binary is the caller's to free.
 * 0, or -EINVAL/-ENOMEM with one line in err; then *snap holds nothing.
 */
int rv_handover_bin_decode(const char *buf, size_t len,
			   struct rv_handover_ctl *ctl,
			   struct rv_snapshot *snap, char *err, size_t errlen);

#endif
