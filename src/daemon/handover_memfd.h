/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state in transit (docs/reexec.md, "Format"): its bytes
 * (handover_bin.h, or the JSON of handover_json.h) in a memfd, sealed
 * once written, passed to the new image by its descriptor number in
 * RINGVISOR_HANDOVER_FD.  A memfd needs no file
 * system (a read-only root, no /run) and dies with its last descriptor;
 * the seals tell the reader the writer finished.
 */
#ifndef RV_HANDOVER_MEMFD_H
#define RV_HANDOVER_MEMFD_H

#include <stddef.h>


#include "daemon/handover_json.h"
#include "tree/snapshot.h"

#define RV_HANDOVER_ENV "RINGVISOR_HANDOVER_FD"

/*
 * Writes snap, and the control section ctl when not NULL, in format (the
 * newest the reader knows: binary from 3, JSON before) into a new sealed
 * memfd: *fd, with FD_CLOEXEC set (the fd keep list clears it).  0 or
 * -errno with one line in err.
 */
int rv_handover_write_state(const struct rv_snapshot *snap,
			    const struct rv_handover_ctl *ctl, int format,
			    int *fd, char *err, size_t errlen);
/* The same in RV_HANDOVER_FORMAT without a control section. */
int rv_handover_write(const struct rv_snapshot *snap, int *fd, char *err,
		      size_t errlen);

/*
 * Reads the state from fd (a sealed memfd, adopted: FD_CLOEXEC set), in
 * any format this binary reads, into *ctl (when not NULL; read first and
 * kept when the rest fails: a rollback needs it) and *out
 * (rv_snapshot_free()).  The descriptor stays open: a rollback passes it
 * on to the previous image.  0 or -errno with one line in err.
 */
int rv_handover_read_state(int fd, struct rv_handover_ctl *ctl,
			   struct rv_snapshot *out, char *err, size_t errlen);
int rv_handover_read(int fd, struct rv_snapshot *out, char *err,
		     size_t errlen);
/* The same from the state's bytes. */
int rv_handover_parse_state(const char *buf, size_t len,
			    struct rv_handover_ctl *ctl,
			    struct rv_snapshot *out, char *err, size_t errlen);

/* The descriptor number in the value of RV_HANDOVER_ENV: a decimal
 * integer >= 3, nothing else.  0 or -EINVAL with one line in err. */
int rv_handover_env_fd(const char *value, int *fd, char *err, size_t errlen);

#endif
