/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state on the wire (docs/reexec.md, "Format"): a tree
 * snapshot (tree/snapshot.h) as one JSON object, with a magic string, a
 * format version and the writer's version.  A reader refuses a format it
 * does not know (newer, older than it still reads, or none), and any
 * field of the wrong type or range, with one line naming the field:
 * the state comes from another binary, and a hand-over that cannot be
 * read must fail before a single member is touched.
 *
 * Enumerations travel by name ("backoff", "restart"), not by number, so
 * a new binary may reorder its enums without changing the format.
 */
#ifndef RV_HANDOVER_JSON_H
#define RV_HANDOVER_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "tree/snapshot.h"

#define RV_HANDOVER_MAGIC "ringvisor-handover"
/*
 * The newest format this binary writes and reads, and the oldest it still
 * reads and writes.  1: every field of every member.  2: a member's fields
 * that hold their zero value (null, false, 0, an empty array or byte
 * string, counters all 0) are left out, and a reader takes a missing one
 * for that value: most of 1,000 services' fields are zero, and reading
 * them was most of the pause (docs/reexec.md, "Format").  3: binary, the
 * same fields (handover_bin.h).  A binary writes the newest format the
 * next one reads (its `--handover-formats`).
 */
#define RV_HANDOVER_FORMAT 3
#define RV_HANDOVER_FORMAT_MIN 1
/* The newest that is JSON: format 3 is binary (handover_bin.h). */
#define RV_HANDOVER_FORMAT_JSON 2

/* snap as a new JSON object in format (RV_HANDOVER_FORMAT_MIN ..
 * RV_HANDOVER_FORMAT_JSON; the caller json_decref()s it); NULL on
 * ENOMEM. */
json_t *rv_handover_to_json(const struct rv_snapshot *snap, int format);

/*
 * Reads doc into *out (allocated here; rv_snapshot_free()).  0, or
 * -EINVAL with one line in err ("state format 2 is newer than this
 * binary reads (1): written by ringvisor 0.9.0"; "services[3] (web):
 * \"pid\": not an integer"); then *out holds nothing.  -ENOMEM likewise.
 */
int rv_handover_from_json(const json_t *doc, struct rv_snapshot *out,
			  char *err, size_t errlen);

/* The same from the bytes of a state (a memfd's contents): not JSON,
 * or truncated, is -EINVAL with jansson's line and column. */
int rv_handover_parse(const char *buf, size_t len, struct rv_snapshot *out,
		      char *err, size_t errlen);

/*
 * The control plane's section ("control"), apart from the tree's: the
 * supervisor's own descriptors that cross the exec (-1: none), the binary
 * exec'd and when the hand-over began (for the reply's "ms").
 */
enum rv_handover_ctl_fd {
	RV_CTL_PREV_EXE,	/* O_PATH of the image that wrote the state */
	RV_CTL_CONTROL_LISTEN,
	RV_CTL_NOTIFY,
	RV_CTL_HTTP_LISTEN,
	RV_CTL_REQUESTER,	/* the `reexec` request's connection */
	RV_HANDOVER_CTL_NFDS
};

struct rv_handover_ctl {
	char writer[32];	/* read: the writer's version */
	int format;		/* the format written (the next image reads) */
	char *binary;		/* malloc'd on read */
	int64_t t0_ns;
	int fd[RV_HANDOVER_CTL_NFDS];
};

/* The role of a descriptor, as the state names it. */
const char *rv_handover_ctl_role(enum rv_handover_ctl_fd which);
/* Adds the "control" object to doc.  0 or -ENOMEM. */
int rv_handover_ctl_to_json(json_t *doc, const struct rv_handover_ctl *c);
/* Reads it (the header checked first).  0, or -EINVAL/-ENOMEM with one
 * line in err; c->binary is the caller's to free. */
int rv_handover_ctl_from_json(const json_t *doc, struct rv_handover_ctl *c,
			      char *err, size_t errlen);

#endif
