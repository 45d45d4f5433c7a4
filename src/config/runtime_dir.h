/* SPDX-License-Identifier: MIT */
/*
 * Where the control socket lives when the config does not say: root's is
 * /run/ringvisor/control.sock; anyone else's is in a directory of their
 * own, so that a `USER app` container or a read-only root filesystem
 * works with the default config:
 *	$XDG_RUNTIME_DIR/ringvisor/control.sock
 *	/tmp/ringvisor-$UID/control.sock	(XDG_RUNTIME_DIR unset or empty)
 * `run` and the clients compute it the same way, from the effective uid.
 */
#ifndef RV_RUNTIME_DIR_H
#define RV_RUNTIME_DIR_H

#include <stdbool.h>
#include <stdio.h>

/* The default control socket for this process; the caller frees it.
 * NULL only when out of memory. */
char *rv_default_control_socket(void);

/*
 * Makes the directory of a control socket at path: 0755 as root, 0700
 * otherwise.  When that directory is the non-root default above (in /tmp
 * anyone could have made it first), it must be a real directory (not a
 * symlink) owned by us, else it is refused with one line on errors.
 * Returns 0 or -errno.
 */
int rv_make_socket_dir(const char *path, FILE *errors);

/*
 * value as the config file config names it: an absolute value as it is, a
 * relative one against the directory of config (made absolute, so that
 * `run` and a client started elsewhere agree).  The caller frees it; NULL
 * only when out of memory.
 */
char *rv_path_from_config(const char *config, const char *value);

#endif
