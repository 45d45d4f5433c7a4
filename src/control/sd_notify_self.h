/* SPDX-License-Identifier: MIT */
/*
 * When ringvisor itself runs under systemd (Type=notify), it tells its own
 * manager about itself: READY=1 once the initial services are up,
 * STOPPING=1 on shutdown, WATCHDOG=1 if systemd asked for pings.  This is
 * the client side of the protocol that src/control/notify.c serves to our
 * children; libsystemd is not needed for it.
 *
 * Process-wide state, loop thread only.
 */
#ifndef RV_SD_NOTIFY_SELF_H
#define RV_SD_NOTIFY_SELF_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Takes NOTIFY_SOCKET out of our environment and keeps it here, so that no
 * child inherits the address of our manager (children get their own
 * NOTIFY_SOCKET from us, or none).  Likewise WATCHDOG_USEC and
 * WATCHDOG_PID when the watchdog is ours: WATCHDOG_PID is our pid, or
 * unset (as sd_watchdog_enabled(3) reads it); a watchdog meant for another
 * pid is left alone.  Call once at start-up, before any child is spawned
 * and before any thread exists (unsetenv).  Calling it again re-reads the
 * environment (tests).
 * Returns 0 (also when NOTIFY_SOCKET is unset: then nothing is sent), or
 * -errno when NOTIFY_SOCKET is set but unusable (-EINVAL for a relative
 * path or an unsupported scheme such as "vsock:", -ENAMETOOLONG); it is
 * removed from the environment in every case.
 */
int rv_sd_notify_self_init(void);

/* true if rv_sd_notify_self_init() found a usable NOTIFY_SOCKET. */
bool rv_sd_notify_self_enabled(void);

/* The kept NOTIFY_SOCKET ("/path" or "@name"), or NULL. */
const char *rv_sd_notify_self_socket(void);

/*
 * The watchdog interval systemd set for us in microseconds (WATCHDOG_USEC),
 * 0 when none.  Send "WATCHDOG=1" at about half of it.
 */
uint64_t rv_sd_notify_self_watchdog_usec(void);

/*
 * Sends state (e.g. "READY=1\nSTATUS=12 services up") as one datagram.
 * Best effort and never blocks: a full socket buffer is -EAGAIN.  Returns
 * 0 when sent or when there is nowhere to send (not under systemd);
 * -EINVAL for an empty state, -EMSGSIZE above 4 KiB, or the socket's
 * -errno (e.g. -ECONNREFUSED, -ENOENT when the manager is gone).
 */
int rv_sd_notify_self(const char *state);

#endif
